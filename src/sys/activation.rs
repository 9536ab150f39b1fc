//! systemd socket activation (sd_listen_fds(3)): the descriptors a service manager passed from fd 3 on,
//! announced by LISTEN_PID (this process), LISTEN_FDS (how many) and LISTEN_FDNAMES (their names).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The first descriptor passed (SD_LISTEN_FDS_START).
const FIRST: RawFd = 3;

/// One passed descriptor and its name (`unknown` when LISTEN_FDNAMES gives none).
#[derive(Debug)]
pub(crate) struct Passed {
    pub fd: OwnedFd,
    pub name: String,
}

/// Takes the passed descriptors (close-on-exec from now on) and removes LISTEN_PID, LISTEN_FDS and
/// LISTEN_FDNAMES from the environment, so programs sockcat starts do not take them for their own.
/// Call it once, before any thread starts. An Err says why there is nothing to take.
pub(crate) fn take() -> Result<Vec<Passed>, String> {
    let pid = std::env::var("LISTEN_PID").map_err(|_| "LISTEN_PID is not set".to_string())?;
    let count = std::env::var("LISTEN_FDS").map_err(|_| "LISTEN_FDS is not set".to_string())?;
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Err(format!(
            "LISTEN_PID is {pid}, not this process ({})",
            std::process::id()
        ));
    }
    let count: RawFd = count
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .ok_or_else(|| format!("LISTEN_FDS {count:?} is not a count of descriptors"))?;
    let names: Vec<&str> = names.split(':').collect();
    let mut passed = Vec::new();
    for fd in FIRST..FIRST + count {
        // SAFETY: fcntl(F_GETFD) only reads the descriptor's flags; it fails with EBADF for a
        // descriptor that is not open.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(format!(
                "descriptor {fd} announced by LISTEN_FDS is not open: {}",
                io::Error::last_os_error()
            ));
        }
        // SAFETY: as above; sets FD_CLOEXEC so children do not inherit the socket.
        unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
        // SAFETY: the descriptor is open (checked above) and was handed to this process by its
        // service manager; nothing else in sockcat knows of descriptors from 3 on at start-up, and
        // take() is called once, so the OwnedFd is its only owner.
        let fd_owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let name = names
            .get((fd - FIRST) as usize)
            .filter(|n| !n.is_empty())
            .unwrap_or(&"unknown")
            .to_string();
        passed.push(Passed { fd: fd_owned, name });
    }
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        // SAFETY: called before sockcat starts any thread (see above), so no other thread reads
        // the environment meanwhile.
        unsafe { std::env::remove_var(var) };
    }
    Ok(passed)
}
