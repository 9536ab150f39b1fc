//! Building sockets with socket2: listeners (SO_REUSEADDR on by default, SO_REUSEPORT, a SOMAXCONN
//! backlog, dual-stack by default), Unix-domain stream sockets, and bound client sockets.
//! socket2 creates every descriptor close-on-exec, so children started later inherit none of them.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::exit;
use crate::net::addr::{Family, display};
use crate::sys::poll;

/// How to set up a listening socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListenOpts {
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// None: the system maximum.
    pub backlog: Option<u32>,
}

impl Default for ListenOpts {
    fn default() -> Self {
        ListenOpts {
            reuseaddr: true,
            reuseport: false,
            backlog: None,
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

fn backlog(opts: &ListenOpts) -> i32 {
    match opts.backlog {
        Some(n) => i32::try_from(n).unwrap_or(i32::MAX),
        None => somaxconn(),
    }
}

/// A TCP socket of the right domain for `addr`.
pub(crate) fn tcp_socket(addr: &SocketAddr) -> io::Result<Socket> {
    Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
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
    let sock = Socket::new(Domain::for_address(addr), ty, Some(protocol))
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
    sock.bind(&addr.into())
        .with_context(|| format!("bind {shown}"))?;
    let local = sock
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(addr);
    Ok((sock, local))
}

/// Removes a Unix socket file when dropped.
#[derive(Debug)]
pub(crate) struct UnixPathGuard(PathBuf);

impl Drop for UnixPathGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A Unix-domain stream listener at `path`. A stale socket file (nobody accepts on it) is replaced;
/// a live one is "address in use". The file is removed when the guard drops.
pub(crate) fn unix_listener(path: &Path, opts: &ListenOpts) -> Result<(Socket, UnixPathGuard)> {
    let shown = path.display().to_string();
    let addr = SockAddr::unix(path).with_context(|| format!("unix socket path {shown}"))?;
    let sock = Socket::new(Domain::UNIX, Type::STREAM, None)
        .with_context(|| format!("socket for {shown}"))?;
    if let Err(err) = sock.bind(&addr) {
        if err.kind() != io::ErrorKind::AddrInUse || !is_stale_unix_socket(path, &addr) {
            return Err(err).with_context(|| format!("bind {shown}"));
        }
        std::fs::remove_file(path).with_context(|| format!("remove stale socket {shown}"))?;
        sock.bind(&addr).with_context(|| format!("bind {shown}"))?;
    }
    let guard = UnixPathGuard(path.to_path_buf());
    sock.listen(backlog(opts))
        .with_context(|| format!("listen on {shown}"))?;
    Ok((sock, guard))
}

fn is_stale_unix_socket(path: &Path, addr: &SockAddr) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_socket())
        .unwrap_or(false);
    if !is_socket {
        return false;
    }
    let probe = match Socket::new(Domain::UNIX, Type::STREAM, None) {
        Ok(s) => s,
        Err(_) => return false,
    };
    matches!(probe.connect(addr), Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
}

/// Connects a Unix-domain stream socket, within `timeout` when given.
pub(crate) fn unix_connect(path: &Path, timeout: Option<Duration>) -> Result<Socket> {
    let shown = path.display().to_string();
    let addr = SockAddr::unix(path).with_context(|| format!("unix socket path {shown}"))?;
    let sock = Socket::new(Domain::UNIX, Type::STREAM, None)
        .with_context(|| format!("socket for {shown}"))?;
    let result = match timeout {
        Some(t) => sock.connect_timeout(&addr, t),
        None => sock.connect(&addr),
    };
    match result {
        Ok(()) => Ok(sock),
        Err(e) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock => {
            Err(exit::timeout(format!("connect {shown}: timed out")))
        }
        Err(e) => Err(e).with_context(|| format!("connect {shown}")),
    }
}

/// Accepts one connection, waiting at most `timeout` (None: forever). Ok(None) when the time ran out.
pub(crate) fn accept(
    listener: &Socket,
    timeout: Option<Duration>,
) -> io::Result<Option<(Socket, SockAddr)>> {
    use std::os::fd::AsFd;
    if timeout.is_some() {
        let ready = poll::poll(&[(listener.as_fd(), poll::READABLE)], timeout)?;
        if ready[0] == 0 {
            return Ok(None);
        }
    }
    loop {
        match listener.accept() {
            Ok(pair) => return Ok(Some(pair)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The client left between the wake-up and accept: wait for the next one.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Formats a peer or local address of any domain: `ADDR:PORT`, `[V6]:PORT`, a Unix path or `unix`.
pub(crate) fn describe_sockaddr(addr: &SockAddr) -> String {
    if let Some(sa) = addr.as_socket() {
        return display(&sa);
    }
    match addr.as_pathname() {
        Some(path) => path.display().to_string(),
        None => "unix socket".to_string(),
    }
}
