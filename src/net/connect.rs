//! Opening TCP connections: a timeout, Happy Eyeballs across every resolved address (RFC 8305: families
//! interleaved, a new attempt every 250 ms while earlier ones are pending, the first to succeed wins),
//! a source address and port, and `--wait-for` retries until the service is up.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use socket2::Socket;

use crate::exit::{self, Timeout};
use crate::net::addr::{Family, HostPort, display, local_end, resolve_within};
use crate::net::socket::tcp_socket;
use crate::net::sockopt::SockSettings;
use crate::net::stream::proxy::{Proxy, connect_through};
use crate::sys::poll;

/// The delay before the next Happy Eyeballs attempt starts while earlier ones are pending (RFC 8305).
pub(crate) const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// How to open a connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectOpts {
    pub family: Family,
    pub timeout: Option<Duration>,
    /// `-s`: the local address (its port is not used; an IPv6 zone is kept).
    pub source: Option<SocketAddr>,
    pub source_port: Option<u16>,
    pub nodelay: bool,
    pub keepalive: bool,
    /// `--proxy`: connect through these proxies, first hop first (empty: directly).
    pub proxies: Vec<Proxy>,
    /// `--sockopt`: set on each socket before it connects.
    pub sockopts: SockSettings,
    /// `--mptcp`: Multipath TCP where the kernel allows it.
    pub mptcp: bool,
    /// The client this connection is for (`listen --forward` on a client's thread): its reset
    /// abandons the connect, a proxy's handshake and the TLS handshake at once
    /// ([`poll::poll_watched`]) instead of at `-w`.
    pub watch: Option<Arc<Socket>>,
}

impl ConnectOpts {
    /// The descriptor to watch while waiting, if any ([`ConnectOpts::watch`]).
    pub(crate) fn watched(&self) -> Option<BorrowedFd<'_>> {
        self.watch.as_deref().map(AsFd::as_fd)
    }
}

/// Orders addresses for Happy Eyeballs: families alternate, starting with the resolver's first choice.
pub(crate) fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (mut a, mut b): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addrs.iter().partition(|x| x.is_ipv6() == first.is_ipv6());
    a.reverse();
    b.reverse();
    let mut out = Vec::with_capacity(addrs.len());
    while !a.is_empty() || !b.is_empty() {
        out.extend(a.pop());
        out.extend(b.pop());
    }
    out
}

/// Opens a socket and starts connecting it to `addr`: Ok(true) connected at once, Ok(false) in
/// progress. The outer error is a failure to bind the source address (`-s`, `--source-port`), which
/// every other address of that family would meet too; the inner one is this address's own.
pub(crate) fn start_attempt(
    addr: &SocketAddr,
    opts: &ConnectOpts,
) -> Result<io::Result<(Socket, bool)>> {
    let sock = match tcp_socket(addr, opts.mptcp) {
        Ok(sock) => sock,
        Err(e) => return Ok(Err(e)),
    };
    opts.sockopts.apply(&sock)?;
    if opts.source.is_some() || opts.source_port.is_some() {
        let local = local_end(opts.source, opts.source_port, addr);
        if opts.source_port.is_some() {
            sock.set_reuse_address(true)
                .with_context(|| format!("set SO_REUSEADDR for {}", display(&local)))?;
        }
        sock.bind(&local.into())
            .with_context(|| format!("bind {}", display(&local)))?;
    }
    if let Err(e) = crate::sys::sockopt::set_nonblocking(sock.as_fd(), true) {
        return Ok(Err(e));
    }
    Ok(match sock.connect(&(*addr).into()) {
        Ok(()) => Ok((sock, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok((sock, false)),
        Err(e) => Err(e),
    })
}

fn finish(sock: Socket, opts: &ConnectOpts) -> io::Result<Socket> {
    sock.set_nonblocking(false)?;
    if opts.nodelay {
        sock.set_tcp_nodelay(true)?;
    }
    if opts.keepalive {
        sock.set_keepalive(true)?;
    }
    Ok(sock)
}

/// Connects to the first of `addrs` that answers, the Happy Eyeballs way. `name` is how the target is
/// named in errors (`localhost:80`).
pub(crate) fn happy_eyeballs(
    name: &str,
    addrs: &[SocketAddr],
    opts: &ConnectOpts,
) -> Result<(Socket, SocketAddr)> {
    let candidates: Vec<SocketAddr> = interleave(addrs)
        .into_iter()
        .filter(|a| opts.source.is_none_or(|s| s.is_ipv6() == a.is_ipv6()))
        .collect();
    if candidates.is_empty() {
        return Err(exit::usage(format!(
            "connect {name}: no address of the source address's family"
        )));
    }
    let started = Instant::now();
    let deadline = opts.timeout.map(|t| started + t);
    let mut pending: Vec<(Socket, SocketAddr)> = Vec::new();
    let mut next = 0;
    let mut next_start = started;
    let mut last_err: Option<(SocketAddr, io::Error)> = None;
    loop {
        let now = Instant::now();
        if next < candidates.len() && (pending.is_empty() || now >= next_start) {
            let addr = candidates[next];
            next += 1;
            next_start = now + ATTEMPT_DELAY;
            match start_attempt(&addr, opts)? {
                Ok((sock, true)) => {
                    return Ok((
                        finish(sock, opts)
                            .with_context(|| format!("connect {}", display(&addr)))?,
                        addr,
                    ));
                }
                Ok((sock, false)) => pending.push((sock, addr)),
                Err(e) => last_err = Some((addr, e)),
            }
            continue;
        }
        if pending.is_empty() {
            let (addr, err) =
                last_err.unwrap_or_else(|| (candidates[0], io::Error::other("no address to try")));
            let what = if candidates.len() > 1 {
                format!("connect {name} (last tried {})", display(&addr))
            } else {
                format!("connect {}", display(&addr))
            };
            return Err(anyhow::Error::new(err).context(what));
        }
        if let Some(deadline) = deadline
            && now >= deadline
        {
            let t = opts.timeout.unwrap_or_default();
            return Err(exit::timeout(format!(
                "connect {name}: timed out after {}",
                humantime::format_duration(t)
            )));
        }
        let mut wait = if next < candidates.len() {
            Some(next_start.saturating_duration_since(now))
        } else {
            None
        };
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(now);
            wait = Some(wait.map_or(left, |w| w.min(left)));
        }
        let fds: Vec<_> = pending
            .iter()
            .map(|(s, _)| (s.as_fd(), poll::WRITABLE))
            .collect();
        let ready = poll::poll_watched(&fds, opts.watched(), wait).context("poll")?;
        drop(fds);
        let mut i = 0;
        let mut idx = 0;
        while i < pending.len() {
            let revents = ready[idx];
            idx += 1;
            if revents == 0 {
                i += 1;
                continue;
            }
            let (sock, addr) = pending.remove(i);
            match sock.take_error() {
                Ok(None) => match sock.peer_addr() {
                    Ok(_) => {
                        return Ok((
                            finish(sock, opts)
                                .with_context(|| format!("connect {}", display(&addr)))?,
                            addr,
                        ));
                    }
                    // Connected, then reset before this look (a server that accepts and resets at
                    // once): the socket's error says so, where ENOTCONN would not.
                    Err(e) => {
                        let reset = match e.raw_os_error() {
                            Some(libc::ENOTCONN) => sock.take_error().ok().flatten(),
                            _ => None,
                        };
                        last_err = Some((addr, reset.unwrap_or(e)));
                    }
                },
                Ok(Some(e)) | Err(e) => last_err = Some((addr, e)),
            }
        }
    }
}

/// Is this failure worth another try under `--wait-for`? Everything but invalid input: the service
/// may be down (refused), starting (reset), unreachable or not yet in DNS.
fn retriable(err: &anyhow::Error) -> bool {
    !err.chain().any(|c| c.is::<exit::Usage>())
}

/// Resolves and connects to `target` (through `opts.proxies` when there are any: the address returned
/// is then the first proxy's); with `wait_for`, keeps retrying (resolution failures too) until
/// connected or the time is up (a [`Timeout`], status 3).
pub(crate) fn connect(
    target: &HostPort,
    opts: &ConnectOpts,
    wait_for: Option<Duration>,
) -> Result<(Socket, SocketAddr)> {
    connect_with(target, opts, wait_for, |_| {})
}

/// [`connect`], telling `on_retry` of each failure that `wait_for` will retry.
pub(crate) fn connect_with(
    target: &HostPort,
    opts: &ConnectOpts,
    wait_for: Option<Duration>,
    on_retry: impl FnMut(&anyhow::Error),
) -> Result<(Socket, SocketAddr)> {
    let name = target.to_string();
    retry(&name, opts.timeout, wait_for, on_retry, |timeout| {
        let this = ConnectOpts {
            timeout,
            ..opts.clone()
        };
        if !this.proxies.is_empty() {
            return connect_through(&this.proxies, target, &this);
        }
        // One `-w` for the lookup and the connect.
        let started = Instant::now();
        let addrs = resolve_within(
            &target.host,
            target.port,
            this.family,
            this.timeout,
            this.watched(),
        )?;
        let this = ConnectOpts {
            timeout: this.timeout.map(|t| {
                t.saturating_sub(started.elapsed())
                    .max(Duration::from_millis(1))
            }),
            ..this
        };
        happy_eyeballs(&name, &addrs, &this)
    })
}

/// Runs `attempt` (given its connect timeout) once, or with `wait_for` again and again until it
/// succeeds, fails with invalid input, or the time is up (a [`Timeout`], status 3, naming `name`
/// and the last reason). `on_retry` hears of each failure that will be retried.
pub(crate) fn retry<T>(
    name: &str,
    timeout: Option<Duration>,
    wait_for: Option<Duration>,
    mut on_retry: impl FnMut(&anyhow::Error),
    mut attempt: impl FnMut(Option<Duration>) -> Result<T>,
) -> Result<T> {
    let Some(total) = wait_for else {
        return attempt(timeout);
    };
    let deadline = Instant::now() + total;
    let mut pause = Duration::from_millis(50);
    let mut last: Option<anyhow::Error> = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // The last attempt gets only what is left: its timing out then says nothing about the service.
        let cut_short = timeout.is_none_or(|t| left < t);
        let err = match attempt(Some(timeout.map_or(left, |t| t.min(left)))) {
            Ok(done) => return Ok(done),
            Err(err) if retriable(&err) => err,
            Err(err) => return Err(err),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let timed_out = err.chain().any(|c| c.is::<Timeout>());
            let err = match last {
                Some(earlier) if cut_short && timed_out => earlier,
                _ => err,
            };
            let why = exit::render(&err);
            return Err(anyhow!(Timeout(format!(
                "{name} not up after {}: {why}",
                humantime::format_duration(total)
            ))));
        }
        on_retry(&err);
        last = Some(err);
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

// The one blackhole helper, shared with the integration tests.
#[cfg(test)]
#[path = "../../tests/common/blackhole.rs"]
mod blackhole;

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn blackhole() -> (Socket, Vec<Socket>, SocketAddr) {
        super::blackhole::blackhole("127.0.0.1:0".parse().unwrap())
    }

    #[test]
    fn interleaves_families_starting_with_the_first() {
        let a: SocketAddr = "[::1]:1".parse().unwrap();
        let b: SocketAddr = "[::2]:1".parse().unwrap();
        let c: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let d: SocketAddr = "127.0.0.2:1".parse().unwrap();
        assert_eq!(interleave(&[a, b, c, d]), vec![a, c, b, d]);
        assert_eq!(interleave(&[c, a, b]), vec![c, a, b]);
    }

    #[test]
    fn a_hanging_first_address_does_not_stall_the_next() {
        let (_l, _fill, dead) = blackhole();
        let live = TcpListener::bind("127.0.0.1:0").unwrap();
        let live_addr = live.local_addr().unwrap();
        let opts = ConnectOpts {
            timeout: Some(Duration::from_secs(10)),
            ..Default::default()
        };
        let started = Instant::now();
        let (_sock, won) = happy_eyeballs("test", &[dead, live_addr], &opts).unwrap();
        let took = started.elapsed();
        assert_eq!(won, live_addr);
        assert!(
            took >= ATTEMPT_DELAY - Duration::from_millis(20),
            "second attempt started early: {took:?}"
        );
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }

    #[test]
    fn a_refused_first_address_moves_on_at_once() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let live = TcpListener::bind("127.0.0.1:0").unwrap();
        let live_addr = live.local_addr().unwrap();
        let opts = ConnectOpts {
            timeout: Some(Duration::from_secs(10)),
            ..Default::default()
        };
        let started = Instant::now();
        let (_sock, won) = happy_eyeballs("test", &[closed_addr, live_addr], &opts).unwrap();
        assert_eq!(won, live_addr);
        assert!(
            started.elapsed() < ATTEMPT_DELAY,
            "waited for the stagger after a refusal"
        );
    }

    #[test]
    fn all_hanging_is_a_timeout() {
        let (_l, _fill, dead) = blackhole();
        let opts = ConnectOpts {
            timeout: Some(Duration::from_millis(200)),
            ..Default::default()
        };
        let err = happy_eyeballs("dead", &[dead], &opts).unwrap_err();
        assert_eq!(exit::status_of(&err), exit::TIMEOUT);
    }
}
