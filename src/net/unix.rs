//! Unix-domain sockets: listeners at a path or an abstract `@NAME`, a stale socket file replaced
//! atomically (a live one left alone), the file removed when the listener ends, and connects that wait
//! for room in a full listener's queue. Re-exported by [`crate::net::socket`], beside the TCP sockets.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::exit;
use crate::net::socket::{ListenOpts, backlog};
use crate::sys::{self, poll};

/// Removes a Unix socket file when dropped.
#[derive(Debug)]
pub(crate) struct UnixPathGuard(PathBuf);

impl Drop for UnixPathGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A Unix-domain stream listener at `path`. A stale socket file (no socket is bound to it) is
/// replaced; a live one is "address in use"; anything else at `path` is "not a socket". The file is
/// removed when the guard drops. `@NAME` is the Linux abstract namespace: no file, no guard.
pub(crate) fn unix_listener(
    path: &Path,
    opts: &ListenOpts,
) -> Result<(Socket, Option<UnixPathGuard>)> {
    let backlog = backlog(opts);
    opts.sockopts.check(Domain::UNIX, Type::STREAM)?;
    if is_abstract(path) {
        let shown = path.display().to_string();
        let sock = Socket::new(Domain::UNIX, Type::STREAM, None)
            .with_context(|| format!("socket for {shown}"))?;
        opts.sockopts.apply(&sock)?;
        sock.bind(&unix_sockaddr(path)?)
            .with_context(|| format!("bind {shown}"))?;
        sock.listen(backlog)
            .with_context(|| format!("listen on {shown}"))?;
        return Ok((sock, None));
    }
    let sock = bind_unix(path, Type::STREAM, |sock| {
        opts.sockopts.apply(sock).map_err(io::Error::other)?;
        sock.listen(backlog)
    })?;
    Ok((sock, Some(UnixPathGuard(path.to_path_buf()))))
}

/// Is `path` an abstract socket name (`@NAME`, Linux)?
pub(crate) fn is_abstract(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().starts_with(b"@")
}

/// The address of a Unix socket: `@NAME` is the Linux abstract namespace (no file), anything else a
/// path. Too long a path or name is invalid input (status 2).
pub(crate) fn unix_sockaddr(path: &Path) -> Result<SockAddr> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let bytes = path.as_os_str().as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => {
            let raw = [&[0u8][..], name].concat();
            SockAddr::unix(std::ffi::OsString::from_vec(raw))
        }
        None => SockAddr::unix(path),
    };
    addr.map_err(|e| exit::usage(format!("unix socket path {}: {e}", path.display())))
}

/// A Unix socket of type `ty` bound to `path` and made ready by `ready` (listen) before any client
/// can find it there. A stale socket file at `path` is replaced atomically: a socket bound to a
/// temporary name in the same directory is renamed over it, so a client never finds the path
/// missing. Whether the file is stale is asked of the kernel (which socket is bound to that
/// inode), not found out by connecting: a live one-shot listener would take a probe connection
/// as its one client. sockcats replacing the same stale file take turns (a lock on the
/// directory), so only one of them wins.
pub(crate) fn bind_unix(
    path: &Path,
    ty: Type,
    ready: impl Fn(&Socket) -> io::Result<()>,
) -> Result<Socket> {
    let shown = path.display().to_string();
    let addr = SockAddr::unix(path).with_context(|| format!("unix socket path {shown}"))?;
    let new_socket = || -> Result<Socket> {
        Socket::new(Domain::UNIX, ty, None).with_context(|| format!("socket for {shown}"))
    };
    let sock = new_socket()?;
    match sock.bind(&addr) {
        Ok(()) => {
            if let Err(e) = ready(&sock) {
                let _ = std::fs::remove_file(path);
                return Err(e).with_context(|| format!("listen on {shown}"));
            }
            return Ok(sock);
        }
        Err(err) if err.kind() == io::ErrorKind::AddrInUse => {}
        Err(err) => return Err(err).with_context(|| format!("bind {shown}")),
    }
    let in_use = || anyhow::Error::new(io::Error::from_raw_os_error(libc::EADDRINUSE));
    if !is_socket_file(path) {
        return Err(anyhow::anyhow!("{shown} exists and is not a socket"))
            .with_context(|| format!("bind {shown}"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Concurrent replacers take turns; without the lock (an unreadable directory) the check below
    // still holds against live sockets.
    let lock = std::fs::File::open(dir).ok();
    if let Some(dir) = &lock {
        let _ = sys::fs::lock_exclusive(dir);
    }
    let stale = stale_socket_file(path, &addr).with_context(|| format!("bind {shown}"))?;
    let Some(stale) = stale else {
        return Err(in_use()).with_context(|| format!("bind {shown}"));
    };
    let temp = dir.join(format!(".sockcat-{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let temp_addr = SockAddr::unix(&temp).with_context(|| format!("unix socket path {shown}"))?;
    let sock = new_socket()?;
    sock.bind(&temp_addr)
        .with_context(|| format!("bind {}", temp.display()))?;
    let placed = ready(&sock)
        .with_context(|| format!("listen on {shown}"))
        .and_then(|()| {
            // The file must still be the stale one we looked at (not someone's new socket).
            if file_id(path) != Some(stale) {
                return Err(in_use()).with_context(|| format!("bind {shown}"));
            }
            std::fs::rename(&temp, path).with_context(|| format!("replace stale socket {shown}"))
        });
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(sock)
}

fn is_socket_file(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// The device and inode of the file at `path` (not following a symbolic link).
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Some(its device and inode) when the socket file at `path` is stale (no socket is bound to it),
/// None when it is live. Where the kernel cannot say (no sock_diag), a connection is tried
/// instead: refused means stale.
fn stale_socket_file(path: &Path, addr: &SockAddr) -> Result<Option<(u64, u64)>> {
    let Some((dev, ino)) = file_id(path) else {
        return Ok(None);
    };
    let live = match sys::unix_diag::socket_file_in_use(dev, ino) {
        Ok(live) => live,
        Err(_) => {
            let probe = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            !matches!(probe.connect(addr), Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
        }
    };
    Ok(if live { None } else { Some((dev, ino)) })
}

/// Connects a Unix-domain stream socket, within `timeout` when given. A listener whose queue is full
/// makes the connect wait for room (tried again every few milliseconds: a Unix socket cannot be
/// polled for it), as long as `watch` (the client it is for, see [`ConnectOpts::watch`]) is there.
///
/// [`ConnectOpts::watch`]: crate::net::connect::ConnectOpts::watch
pub(crate) fn unix_connect(
    path: &Path,
    timeout: Option<Duration>,
    watch: Option<BorrowedFd<'_>>,
) -> Result<Socket> {
    let shown = path.display().to_string();
    let addr = unix_sockaddr(path)?;
    let sock = Socket::new(Domain::UNIX, Type::STREAM, None)
        .with_context(|| format!("socket for {shown}"))?;
    sock.set_nonblocking(true)
        .with_context(|| format!("socket for {shown}"))?;
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut pause = Duration::from_millis(1);
    loop {
        match sock.connect(&addr) {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // EAGAIN: the listener's queue is full.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if left.is_some_and(|l| l.is_zero()) {
                    return Err(exit::timeout(format!("connect {shown}: timed out")));
                }
                let wait = left.map_or(pause, |l| l.min(pause));
                poll::poll_watched(&[], watch, Some(wait))
                    .with_context(|| format!("connect {shown}"))?;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e).with_context(|| format!("connect {shown}")),
        }
    }
    sock.set_nonblocking(false)
        .with_context(|| format!("connect {shown}"))?;
    Ok(sock)
}
