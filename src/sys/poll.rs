//! poll(2) over a few descriptors, with a timeout that survives EINTR and is not cut short by poll's
//! own limit (INT_MAX milliseconds, 24.8 days).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

pub const READABLE: i16 = libc::POLLIN;
pub const WRITABLE: i16 = libc::POLLOUT;

/// Waits until one of `fds` is ready for its `events` or `timeout` passes (None: forever).
/// Returns the ready events of each descriptor, in order (all zero on timeout).
pub fn poll(fds: &[(BorrowedFd<'_>, i16)], timeout: Option<Duration>) -> io::Result<Vec<i16>> {
    poll_in_steps(fds, timeout, libc::c_int::MAX)
}

/// [`poll`], also watching `watch` (a peer whose hang-up makes the wait pointless, such as the client
/// a forwarder is connecting for): Err(ConnectionReset) as soon as it reports POLLHUP or POLLERR
/// (a reset; a FIN alone is neither).
pub fn poll_watched(
    fds: &[(BorrowedFd<'_>, i16)],
    watch: Option<BorrowedFd<'_>>,
    timeout: Option<Duration>,
) -> io::Result<Vec<i16>> {
    let Some(watch) = watch else {
        return poll(fds, timeout);
    };
    let mut all = fds.to_vec();
    all.push((watch, 0));
    let mut ready = poll(&all, timeout)?;
    if ready.pop().unwrap_or(0) & (libc::POLLHUP | libc::POLLERR) != 0 {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "the peer watched went away",
        ));
    }
    Ok(ready)
}

/// Has `fd`'s peer gone (POLLHUP or POLLERR now: a TCP reset)?
pub fn hung_up(fd: BorrowedFd<'_>) -> bool {
    poll(&[(fd, 0)], Some(Duration::ZERO))
        .is_ok_and(|r| r[0] & (libc::POLLHUP | libc::POLLERR) != 0)
}

/// [`poll`], each poll(2) call waiting at most `step_ms`: a call that comes back empty before the
/// deadline is followed by another, until the deadline.
fn poll_in_steps(
    fds: &[(BorrowedFd<'_>, i16)],
    timeout: Option<Duration>,
    step_ms: libc::c_int,
) -> io::Result<Vec<i16>> {
    let mut pollfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, events)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: *events,
            revents: 0,
        })
        .collect();
    // A deadline beyond what Instant can hold is no deadline.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let ms: libc::c_int = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                // Round up so a wait of 0.4 ms does not spin as a 0 ms poll.
                left.as_micros().div_ceil(1000).min(step_ms.max(0) as u128) as libc::c_int
            }
        };
        // SAFETY: pollfds is a valid, initialised array of pollfd whose length is passed with it; the
        // descriptors are borrowed for the duration of the call, so they stay open.
        let n = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, ms) };
        if n > 0 || (n == 0 && deadline.is_none_or(|d| Instant::now() >= d)) {
            return Ok(pollfds.iter().map(|p| p.revents).collect());
        }
        if n == 0 {
            // One step of a longer wait is over.
            continue;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// Issue 14 item 12: a timeout longer than one poll(2) call can wait (24.8 days) is waited in
    /// full; here with 10 ms steps standing in for poll's limit.
    #[test]
    fn a_timeout_longer_than_one_call_is_waited_in_full() {
        let (r, _w) = crate::sys::zerocopy::pipe().unwrap();
        let start = Instant::now();
        let ready = poll_in_steps(
            &[(r.as_fd(), READABLE)],
            Some(Duration::from_millis(80)),
            10,
        )
        .unwrap();
        assert_eq!(ready, vec![0]);
        assert!(
            start.elapsed() >= Duration::from_millis(80),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_huge_timeout_does_not_overflow() {
        let (r, w) = crate::sys::zerocopy::pipe().unwrap();
        let mut w = std::fs::File::from(w);
        w.write_all(b"x").unwrap();
        let ready = poll(&[(r.as_fd(), READABLE)], Some(Duration::MAX)).unwrap();
        assert_eq!(ready, vec![READABLE]);
    }

    use std::io::Write;

    #[test]
    fn a_watched_peer_that_resets_ends_the_wait() {
        use socket2::{Domain, Socket, Type};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        c.connect(&l.local_addr().unwrap().into()).unwrap();
        let (s, _) = l.accept().unwrap();
        let (r, _w) = crate::sys::zerocopy::pipe().unwrap();
        // A FIN is not a hang-up.
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let ready = poll_watched(
            &[(r.as_fd(), READABLE)],
            Some(s.as_fd()),
            Some(Duration::from_millis(20)),
        )
        .unwrap();
        assert_eq!(ready, vec![0]);
        assert!(!hung_up(s.as_fd()));
        c.set_linger(Some(Duration::ZERO)).unwrap();
        drop(c);
        let e = poll_watched(&[(r.as_fd(), READABLE)], Some(s.as_fd()), None).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert!(hung_up(s.as_fd()));
    }
}
