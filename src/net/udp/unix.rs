//! Unix datagram sockets for `udp-send --unix` and `udp-recv --unix`: the same sender and receiver as
//! UDP, on an AF_UNIX SOCK_DGRAM socket.
//!
//! - `@NAME` is the Linux abstract namespace: no file is created or removed.
//! - The sender binds an abstract name of its own (`@sockcat.PID.N`), so a receiver can answer it
//!   (`--echo`, a syslog daemon ignores it): an unnamed sender cannot be answered, which is where
//!   ncat's Unix datagram mode breaks (nmap issue 46).
//! - The receiver replaces a stale socket file (one nobody receives on) and removes its file when it
//!   ends; a live one is "address in use".
//! - Datagram boundaries are kept; GSO is never used (a Unix socket would ignore the segment size and
//!   deliver one large datagram).

use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr as StdAddr, UnixDatagram};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::net::sockopt::SockSettings;

/// The largest Unix datagram udp-send sends by default and udp-recv takes whole (the kernel's limit
/// is the socket buffer, about 208 KiB by default).
pub(crate) const MAX_DATAGRAM: usize = 65507;

/// The receive buffer of one Unix datagram: a datagram larger than this is cut (and said with -vv).
const RECV_SLOT: usize = 256 * 1024;

/// The address of `path`: `@NAME` is abstract, anything else a file path.
pub(crate) fn unix_addr(path: &Path) -> Result<SockAddr> {
    let bytes = path.as_os_str().as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => {
            let mut raw = vec![0u8];
            raw.extend_from_slice(name);
            SockAddr::unix(std::ffi::OsStr::from_bytes(&raw))
        }
        None => SockAddr::unix(path),
    };
    addr.with_context(|| format!("unix socket path {}", path.display()))
        .map_err(|e| crate::exit::usage(crate::exit::render(&e)))
}

/// How a Unix address is shown: its path, `@NAME` for an abstract name, `(unnamed)` otherwise.
pub(crate) fn show(addr: &SockAddr) -> String {
    if let Some(path) = addr.as_pathname() {
        return path.display().to_string();
    }
    if let Some(name) = addr.as_abstract_namespace() {
        return format!("@{}", String::from_utf8_lossy(name));
    }
    "(unnamed)".to_string()
}

fn is_abstract(path: &Path) -> bool {
    path.as_os_str().as_bytes().starts_with(b"@")
}

/// A fresh abstract name of this process, for a sender's replies.
fn own_name() -> Result<SockAddr> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "@sockcat.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    unix_addr(Path::new(&name))
}

/// A Unix datagram socket connected to `path`, bound to an abstract name of its own. Returns it and its
/// own name as shown.
pub(crate) fn connected(path: &Path, sockopts: SockSettings) -> Result<(Socket, String)> {
    let shown = path.display().to_string();
    let target = unix_addr(path)?;
    let sock = Socket::new(Domain::UNIX, Type::DGRAM, None)
        .with_context(|| format!("socket for {shown}"))?;
    sockopts.apply(&sock)?;
    let own = own_name()?;
    sock.bind(&own)
        .with_context(|| format!("bind {}", show(&own)))?;
    sock.connect(&target)
        .with_context(|| format!("connect {shown}"))?;
    Ok((sock, show(&own)))
}

/// A Unix datagram socket bound to `path`. A stale socket file is replaced; the file (not an abstract
/// name) is removed when the guard drops.
pub(crate) fn bound(path: &Path, sockopts: SockSettings) -> Result<(Socket, Option<FileGuard>)> {
    let shown = path.display().to_string();
    let addr = unix_addr(path)?;
    let sock = Socket::new(Domain::UNIX, Type::DGRAM, None)
        .with_context(|| format!("socket for {shown}"))?;
    sockopts.apply(&sock)?;
    if let Err(err) = sock.bind(&addr) {
        if err.kind() != io::ErrorKind::AddrInUse || is_abstract(path) || !is_stale(path, &addr) {
            return Err(err).with_context(|| format!("bind {shown}"));
        }
        std::fs::remove_file(path).with_context(|| format!("remove stale socket {shown}"))?;
        sock.bind(&addr).with_context(|| format!("bind {shown}"))?;
    }
    let guard = (!is_abstract(path)).then(|| FileGuard(path.to_path_buf()));
    Ok((sock, guard))
}

/// Removes the receiver's socket file when dropped.
pub(crate) struct FileGuard(std::path::PathBuf);

impl Drop for FileGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A socket file nobody receives on: a datagram connect to it is refused.
fn is_stale(path: &Path, addr: &SockAddr) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_socket())
        .unwrap_or(false);
    if !is_socket {
        return false;
    }
    let Ok(probe) = Socket::new(Domain::UNIX, Type::DGRAM, None) else {
        return false;
    };
    matches!(probe.connect(addr), Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
}

/// One received Unix datagram.
pub(crate) struct Item {
    pub data: Vec<u8>,
    pub from: StdAddr,
    pub truncated: bool,
}

/// Receives up to `max` datagrams into `items` (reused between calls; `buf` is the receive buffer):
/// waits for the first (within the socket's receive timeout: `WouldBlock`), then takes what is
/// already queued.
pub(crate) fn recv_batch(
    sock: &UnixDatagram,
    max: usize,
    buf: &mut Vec<u8>,
    items: &mut Vec<Item>,
) -> io::Result<usize> {
    // One byte more than a slot: a datagram that fills it was cut.
    buf.resize(RECV_SLOT + 1, 0);
    let mut n = 0;
    let max = max.clamp(1, 64);
    while n < max {
        if n > 0 {
            let ready = crate::sys::poll::poll(
                &[(sock.as_fd(), crate::sys::poll::READABLE)],
                Some(Duration::ZERO),
            )?;
            if ready[0] == 0 {
                break;
            }
        }
        let (len, from) = match sock.recv_from(buf) {
            Ok(got) => got,
            Err(_) if n > 0 => break,
            Err(e) => return Err(e),
        };
        let data = &buf[..len.min(RECV_SLOT)];
        let truncated = len > RECV_SLOT;
        if items.len() <= n {
            items.push(Item {
                data: data.to_vec(),
                from,
                truncated,
            });
        } else {
            let item = &mut items[n];
            item.data.clear();
            item.data.extend_from_slice(data);
            item.from = from;
            item.truncated = truncated;
        }
        n += 1;
    }
    Ok(n)
}

/// How a sender's address is shown (see [`show`]).
pub(crate) fn show_std(addr: &StdAddr) -> String {
    use std::os::linux::net::SocketAddrExt;
    if let Some(path) = addr.as_pathname() {
        return path.display().to_string();
    }
    if let Some(name) = addr.as_abstract_name() {
        return format!("@{}", String::from_utf8_lossy(name));
    }
    "(unnamed)".to_string()
}
