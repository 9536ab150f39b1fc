//! File-system calls std does not offer: free space (statvfs), giving an O_TMPFILE file a name
//! (linkat through /proc/self/fd), and how many bytes a TCP socket still waits to have acknowledged
//! (SIOCOUTQ).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Bytes an unprivileged user may still write on the file system holding `path`.
pub(crate) fn available_space(path: &Path) -> io::Result<u64> {
    let path = c_path(path)?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: path is a valid NUL-terminated string; st points to writable memory the size of a
    // statvfs, which the call fills in completely when it returns 0.
    if unsafe { libc::statvfs(path.as_ptr(), st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so st is initialised.
    let st = unsafe { st.assume_init() };
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Gives the unnamed file `fd` (opened with O_TMPFILE) the name `target`; EEXIST if that name is taken.
pub(crate) fn link_unnamed(fd: BorrowedFd<'_>, target: &Path) -> io::Result<()> {
    let from = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let to = c_path(target)?;
    // SAFETY: both are valid NUL-terminated strings for the duration of the call; fd stays open (it
    // is borrowed), so /proc/self/fd/N names it.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Bytes sent on a TCP socket that its peer has not acknowledged yet (a FIN counts as one).
pub(crate) fn unacknowledged(sock: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int through the pointer, which points to `n`; the socket
    // is live for the borrow.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n.max(0) as usize)
}

/// Takes an exclusive advisory lock (flock) on `file`, waiting for it; released when the file closes.
pub(crate) fn lock_exclusive(file: &std::fs::File) -> io::Result<()> {
    loop {
        // SAFETY: flock takes a descriptor, which `file` keeps open for the call, and a flag.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
