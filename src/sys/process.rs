//! Process-level calls: the open-file limit and signalling children.

use std::io;

/// Raises the soft open-file limit to the hard limit, so a server can hold many clients.
/// Returns the new soft limit.
pub fn raise_nofile_limit() -> io::Result<libc::rlim_t> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: raised is a valid rlimit; raising the soft limit up to the hard one is always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
        return Ok(raised.rlim_cur);
    }
    Ok(lim.rlim_cur)
}

/// What the Rust runtime does before `main`, for the sockcat binary, which starts without it
/// (src/startup.rs): descriptors 0, 1 and 2 open, on /dev/null where the caller closed one, so that
/// no socket or file of ours ever takes their numbers (a diagnostic would then go into the data);
/// and SIGPIPE ignored, so that a write to a closed pipe or socket is an EPIPE error, which sockcat
/// reports, or takes as its reader gone, instead of a death by signal.
pub fn start() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: fds is a valid array of 3 pollfd structures for poll to fill in; a zero timeout
    // never blocks.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    for pfd in fds {
        let closed = if polled >= 0 {
            pfd.revents & libc::POLLNVAL != 0
        } else {
            // SAFETY: F_GETFD only reads the descriptor's flags; a closed one is EBADF.
            let flags = unsafe { libc::fcntl(pfd.fd, libc::F_GETFD) };
            flags == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
        };
        if closed {
            // Descriptors below this one are open: open(2) returns the lowest free number, this one.
            // SAFETY: a NUL-terminated path and plain flags; the descriptor is kept for the process's
            // life, as the one the caller closed would have been.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
    // SAFETY: setting SIGPIPE's disposition to SIG_IGN installs no handler and touches no memory.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Sends `signal` to every process of the process group `pgid` (best effort).
pub(crate) fn kill_group(pgid: u32, signal: i32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill has no memory-safety preconditions; -pgid names a process group we created.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Does any process of group `pgid` still exist? (A zombie that nobody reaped counts.)
pub(crate) fn group_alive(pgid: u32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: signal 0 only checks that the group exists; no memory is involved.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Reaps child `pid` if it has exited (waitpid WNOHANG). Returns whether it was reaped or is gone.
pub(crate) fn reap(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    let mut status = 0;
    // SAFETY: status is a valid, writable int; WNOHANG makes the call return at once.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    rc == pid || (rc < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD))
}

/// A descriptor that becomes readable when process `pid` (our child) exits: pidfd_open(2), Linux 5.3+.
pub(crate) fn pidfd_open(pid: u32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a fresh descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as libc::c_int) })
}
