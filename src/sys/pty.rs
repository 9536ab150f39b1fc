//! Pseudo-terminals for `-e`/`-c` with `--pty`: a master/slave pair, and a child made the session
//! leader with the slave as its controlling terminal (job control, `tty`, `stty` work in it).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// A new pseudo-terminal: (master, slave), both close-on-exec (the child gets the slave as its
/// stdio, which Command duplicates without the flag).
pub(crate) fn open() -> io::Result<(OwnedFd, OwnedFd)> {
    // SAFETY: posix_openpt takes flags only and returns a new descriptor or -1.
    let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if master < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: master is a fresh descriptor that nothing else owns.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    // SAFETY: grantpt and unlockpt take a descriptor and touch no memory of ours.
    if unsafe { libc::grantpt(master.as_raw_fd()) } != 0
        || unsafe { libc::unlockpt(master.as_raw_fd()) } != 0
    {
        return Err(io::Error::last_os_error());
    }
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: name is writable for its whole length, which is passed with it; ptsname_r
    // NUL-terminates what it writes on success.
    if unsafe { libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: ptsname_r succeeded, so name holds a NUL-terminated string.
    let path = unsafe { CStr::from_ptr(name.as_ptr()) };
    // SAFETY: path is a valid C string for the call; open returns a new descriptor or -1.
    let slave = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: slave is a fresh descriptor that nothing else owns.
    Ok((master, unsafe { OwnedFd::from_raw_fd(slave) }))
}

/// Makes the child of `cmd` a session leader (so also a process group leader, as `-e` children are)
/// whose controlling terminal is its stdin, which must be the pty's slave.
pub(crate) fn controlling_terminal(cmd: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec and calls only setsid and ioctl,
    // which are async-signal-safe; it allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
