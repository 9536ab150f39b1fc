//! Building sockets with socket2: listeners (SO_REUSEADDR on by default, SO_REUSEPORT, a SOMAXCONN
//! backlog, dual-stack by default), Unix-domain stream sockets, and bound client sockets.
//! socket2 creates every descriptor close-on-exec, so children started later inherit none of them.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::net::addr::{Family, display};
use crate::net::sockopt::SockSettings;
use crate::sys::{poll, recv};

pub(crate) use crate::net::unix::{UnixPathGuard, is_abstract, unix_connect, unix_listener};

/// How to set up a listening socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListenOpts {
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// None: the system maximum.
    pub backlog: Option<u32>,
    /// `--sockopt`: set before bind (accepted sockets inherit them).
    pub sockopts: SockSettings,
    /// `--mptcp`: a TCP socket is Multipath TCP where the kernel allows it.
    pub mptcp: bool,
}

impl Default for ListenOpts {
    fn default() -> Self {
        ListenOpts {
            reuseaddr: true,
            reuseport: false,
            backlog: None,
            sockopts: SockSettings::default(),
            mptcp: false,
        }
    }
}

/// The system's largest listen backlog (net.core.somaxconn), so bursts of clients are not dropped.
pub(crate) fn somaxconn() -> i32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(libc::SOMAXCONN)
}

pub(crate) fn backlog(opts: &ListenOpts) -> i32 {
    match opts.backlog {
        Some(n) => i32::try_from(n).unwrap_or(i32::MAX),
        None => somaxconn(),
    }
}

/// A TCP socket of the right domain for `addr`; with `mptcp`, Multipath TCP where the kernel allows it
/// (see [`mptcp_refused`]).
pub(crate) fn tcp_socket(addr: &SocketAddr, mptcp: bool) -> io::Result<Socket> {
    new_socket(
        Domain::for_address(*addr),
        Type::STREAM,
        Protocol::TCP,
        mptcp,
    )
}

static MPTCP_REFUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Did the kernel refuse an MPTCP socket (disabled, or too old), so plain TCP was used?
pub(crate) fn mptcp_refused() -> bool {
    MPTCP_REFUSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A socket; a TCP one with `mptcp` is IPPROTO_MPTCP, or plain TCP where the kernel refuses that.
fn new_socket(domain: Domain, ty: Type, protocol: Protocol, mptcp: bool) -> io::Result<Socket> {
    if mptcp && protocol == Protocol::TCP {
        match Socket::new(domain, ty, Some(Protocol::MPTCP)) {
            Ok(sock) => return Ok(sock),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EPROTONOSUPPORT | libc::EINVAL | libc::ENOPROTOOPT)
                ) =>
            {
                MPTCP_REFUSED.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
    }
    Socket::new(domain, ty, Some(protocol))
}

/// Binds with `bind` on `addr:port`, or on every address when `addr` is None: IPv6 dual-stack where
/// the system has IPv6, else 0.0.0.0 (`-4`: 0.0.0.0 only, `-6`: `[::]` IPv6 only). `bind` gets the
/// address and whether the socket should be dual-stack.
pub(crate) fn bind_any<T>(
    addr: Option<SocketAddr>,
    port: u16,
    family: Family,
    bind: impl Fn(SocketAddr, bool) -> Result<T>,
) -> Result<T> {
    let wanted = match (addr, family) {
        (Some(mut local), _) => {
            // The address as resolved, with its IPv6 zone.
            local.set_port(port);
            local
        }
        (None, Family::V4) => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
        (None, _) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port),
    };
    let dual_stack = addr.is_none() && family == Family::Any;
    match bind(wanted, dual_stack) {
        Err(err) if dual_stack && no_ipv6(&err) => {
            bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port), false)
        }
        other => other,
    }
}

/// A TCP listener on `addr`, or on every address when `addr` is None (see [`bind_any`]). Returns the
/// socket and the address it really listens on.
pub(crate) fn tcp_listener(
    addr: Option<SocketAddr>,
    port: u16,
    family: Family,
    opts: &ListenOpts,
) -> Result<(Socket, SocketAddr)> {
    bind_any(addr, port, family, |wanted, dual_stack| {
        bind_listener(wanted, dual_stack, opts)
    })
}

fn no_ipv6(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|e| {
            matches!(
                e.raw_os_error(),
                Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL)
            )
        })
}

fn bind_listener(
    addr: SocketAddr,
    dual_stack: bool,
    opts: &ListenOpts,
) -> Result<(Socket, SocketAddr)> {
    let (sock, local) = bound(addr, Type::STREAM, Protocol::TCP, dual_stack, opts)?;
    sock.listen(backlog(opts))
        .with_context(|| format!("listen on {}", display(&addr)))?;
    Ok((sock, local))
}

/// A socket of type `ty` bound to `addr`: IPv6 only unless `dual_stack`, with the reuse options of
/// `opts` (its backlog is not used here). Returns it and the address it really has (the port, when 0
/// was asked).
pub(crate) fn bound(
    addr: SocketAddr,
    ty: Type,
    protocol: Protocol,
    dual_stack: bool,
    opts: &ListenOpts,
) -> Result<(Socket, SocketAddr)> {
    let shown = display(&addr);
    let sock = new_socket(Domain::for_address(addr), ty, protocol, opts.mptcp)
        .with_context(|| format!("socket for {shown}"))?;
    if addr.is_ipv6() {
        sock.set_only_v6(!dual_stack)
            .with_context(|| format!("set IPV6_V6ONLY on {shown}"))?;
    }
    sock.set_reuse_address(opts.reuseaddr)
        .with_context(|| format!("set SO_REUSEADDR on {shown}"))?;
    if opts.reuseport {
        sock.set_reuse_port(true)
            .with_context(|| format!("set SO_REUSEPORT on {shown}"))?;
    }
    opts.sockopts.apply(&sock)?;
    sock.bind(&addr.into())
        .with_context(|| format!("bind {shown}"))?;
    let local = sock
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(addr);
    Ok((sock, local))
}

/// Accepts one connection, waiting at most `timeout` (None: forever). Ok(None) when the time ran out.
pub(crate) fn accept(
    listener: &Socket,
    timeout: Option<Duration>,
) -> io::Result<Option<(Socket, SockAddr)>> {
    accept_with(listener, timeout, Socket::accept)
}

fn accept_with(
    listener: &Socket,
    timeout: Option<Duration>,
    mut take: impl FnMut(&Socket) -> io::Result<(Socket, SockAddr)>,
) -> io::Result<Option<(Socket, SockAddr)>> {
    let retry = |e: &io::Error| {
        matches!(
            e.kind(),
            // Interrupted; the client left between the wake-up and accept (or another acceptor of the
            // same socket took it): wait for the next one.
            io::ErrorKind::Interrupted
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::WouldBlock
        )
    };
    let Some(timeout) = timeout else {
        loop {
            match take(listener) {
                Ok(pair) => return Ok(Some(pair)),
                Err(e) if retry(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    };
    // With a deadline every wait is a poll with the time left, and accept itself never blocks.
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ready = poll::poll(&[(listener.as_fd(), poll::READABLE)], Some(left))?;
        if ready[0] == 0 {
            return Ok(None);
        }
        listener.set_nonblocking(true)?;
        let got = take(listener);
        let _ = listener.set_nonblocking(false);
        match got {
            Ok((sock, addr)) => {
                sock.set_nonblocking(false)?;
                return Ok(Some((sock, addr)));
            }
            Err(e) if retry(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Formats a peer or local address of any domain: `ADDR:PORT`, `[V6]:PORT`, a Unix path or `unix`.
pub(crate) fn describe_sockaddr(addr: &SockAddr) -> String {
    if let Some(sa) = addr.as_socket() {
        return display(&sa);
    }
    if let Some(path) = addr.as_pathname() {
        return path.display().to_string();
    }
    match addr.as_abstract_namespace() {
        Some(name) => format!("@{}", String::from_utf8_lossy(name)),
        None => "unix socket".to_string(),
    }
}

/// A stream that can show what has arrived without consuming it: what lets a handshake read a reply of
/// unknown length in a few calls and still leave every byte after it in the stream.
pub trait Peek: Read {
    /// Copies into `buf` what can be read now, without consuming it; like `read`, it waits when nothing
    /// has arrived, returns 0 at the end of the stream, and may return less than has arrived.
    fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// A socket whose reads and writes give up at `deadline` (SO_RCVTIMEO / SO_SNDTIMEO set to what is
/// left before each call): the bound on a proxy handshake, client side and server side. With `watch`
/// (the client a forwarder's handshake is for), each call first waits in poll(2) for the socket or
/// that client's reset, which ends it at once.
pub(crate) struct Deadlined<'a> {
    pub(crate) sock: &'a Socket,
    pub(crate) deadline: Instant,
    pub(crate) watch: Option<BorrowedFd<'a>>,
}

impl Deadlined<'_> {
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(left.max(Duration::from_millis(1)))
    }

    /// Waits for `events` on the socket, or the watched client's reset (an error), within `left`.
    fn ready(&self, events: i16, left: Duration) -> io::Result<()> {
        if self.watch.is_none() {
            return Ok(());
        }
        let ready = poll::poll_watched(&[(self.sock.as_fd(), events)], self.watch, Some(left))?;
        if ready[0] == 0 {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(())
    }
}

impl Read for Deadlined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.ready(poll::READABLE, left)?;
        self.sock.set_read_timeout(Some(left))?;
        (&*self.sock).read(buf)
    }
}

impl Peek for Deadlined<'_> {
    fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.ready(poll::READABLE, left)?;
        self.sock.set_read_timeout(Some(left))?;
        recv::peek(self.sock.as_fd(), buf)
    }
}

impl Write for Deadlined<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.ready(poll::WRITABLE, left)?;
        self.sock.set_write_timeout(Some(left))?;
        (&*self.sock).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `-w` holds when the connection that woke accept is gone before it is taken (ECONNABORTED:
    /// the client left, or another acceptor of the same socket took it): accept goes back to waiting
    /// with the time left, never into a blocking accept.
    #[test]
    fn accept_keeps_its_deadline_after_econnaborted() {
        let (listener, local) = tcp_listener(
            Some("127.0.0.1:0".parse().unwrap()),
            0,
            Family::V4,
            &ListenOpts::default(),
        )
        .unwrap();
        let _client = std::net::TcpStream::connect(local).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = true;
            // The first accept takes the connection but reports it aborted, as the kernel does for a
            // connection that died in the queue.
            let got = accept_with(&listener, Some(Duration::from_millis(300)), |l| {
                let taken = l.accept();
                if std::mem::take(&mut first) {
                    drop(taken);
                    return Err(io::Error::from_raw_os_error(libc::ECONNABORTED));
                }
                taken
            });
            let _ = tx.send(got.map(|p| p.is_some()));
        });
        let got = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("accept overran its 300 ms deadline");
        assert!(!got.unwrap(), "nothing was there to accept");
    }
}
