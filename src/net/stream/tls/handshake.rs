//! The handshake on a connected socket, for either side, and what it agreed on.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use rustls::Connection;
use rustls::pki_types::CertificateDer;
use socket2::Socket;

use super::session::{Shared, TlsStream};
use super::{BUF, cert, verify};
use crate::exit;
use crate::net::socket::Deadlined;

/// What the handshake agreed on.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub version: String,
    pub cipher: String,
    pub alpn: Option<String>,
    /// The peer's chain, leaf first (empty when the peer sent none).
    pub peer_certs: Vec<CertificateDer<'static>>,
}

impl Summary {
    pub(super) fn of(conn: &Connection) -> Summary {
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(v) => format!("{v:?}"),
            None => "?".to_string(),
        };
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_else(|| "?".into());
        Summary {
            version,
            cipher,
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            peer_certs: conn
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
        }
    }

    /// The `-v` line: `tls TLSv1.3 TLS13_AES_128_GCM_SHA256 alpn=h2` (no `alpn=` when none was agreed).
    pub(crate) fn line(&self) -> String {
        match &self.alpn {
            Some(p) => format!("tls {} {} alpn={p}", self.version, self.cipher),
            None => format!("tls {} {}", self.version, self.cipher),
        }
    }

    /// The leaf's description, when there is one.
    pub(crate) fn leaf(&self) -> Option<cert::CertInfo> {
        self.peer_certs.first().and_then(|c| cert::info(c))
    }

    /// The `--show-cert` lines: every certificate of the peer's chain.
    pub(crate) fn cert_lines(&self) -> Vec<String> {
        self.peer_certs
            .iter()
            .enumerate()
            .flat_map(|(i, c)| match cert::info(c) {
                Some(info) => info.lines(i),
                None => vec![format!("cert {i}: (not parsable)")],
            })
            .collect()
    }
}

/// A handshake failure, before it is explained.
pub(super) enum Failed {
    Tls(rustls::Error),
    Io(io::Error),
    TimedOut(Duration),
}

pub(super) fn explain(
    failed: Failed,
    leaf: Option<&CertificateDer<'_>>,
    expected: &str,
) -> anyhow::Error {
    match failed {
        Failed::Tls(e) => anyhow!("TLS handshake: {}", verify::reason(&e, leaf, expected)),
        Failed::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            anyhow!("TLS handshake: the peer closed the connection")
        }
        Failed::Io(e) => anyhow::Error::new(e).context("TLS handshake"),
        Failed::TimedOut(d) => exit::timeout(format!(
            "TLS handshake: no answer within {}",
            humantime::format_duration(d)
        )),
    }
}

/// The rustls error inside an I/O error from `complete_io`, if that is what it is.
fn tls_error(e: &io::Error) -> Option<rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned()
}

/// Drives `conn`'s handshake over `io` until it is done or fails.
fn drive(
    conn: &mut Connection,
    io: &mut (impl io::Read + io::Write),
    timeout: Option<Duration>,
) -> std::result::Result<(), Failed> {
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(io) {
            return Err(match tls_error(&e) {
                Some(t) => Failed::Tls(t),
                None if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
                {
                    Failed::TimedOut(timeout.unwrap_or_default())
                }
                None => Failed::Io(e),
            });
        }
    }
    while conn.wants_write() {
        conn.write_tls(io).map_err(Failed::Io)?;
    }
    Ok(())
}

/// Moves a handshake on as far as the non-blocking `sock` allows, never waiting: `Ok(true)` once it
/// is done and everything rustls had to send (its session tickets too) is sent, `Ok(false)` when it
/// waits for the socket (either way: edge-triggered callers read until the socket is drained, which
/// this does before it says `false`).
pub(super) fn advance(conn: &mut Connection, sock: &Socket) -> std::result::Result<bool, Failed> {
    loop {
        while conn.wants_write() {
            match conn.write_tls(&mut &*sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Failed::Io(e)),
            }
        }
        if !conn.is_handshaking() {
            return Ok(true);
        }
        match conn.read_tls(&mut &*sock) {
            Ok(0) => return Err(Failed::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(_) => {
                if let Err(e) = conn.process_new_packets() {
                    // Its alert, if the socket takes it (as `complete_io` sends it).
                    let _ = conn.write_tls(&mut &*sock);
                    return Err(Failed::Tls(e));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failed::Io(e)),
        }
    }
}

/// The handshake on `sock`, each wait bounded by `timeout`; with `watch` (the client a forwarder's
/// TLS origination is for, see [`crate::net::connect::ConnectOpts::watch`]) bounded by `timeout` in
/// all, and ended at once by that client's reset.
pub(super) fn handshake(
    sock: Socket,
    conn: Connection,
    timeout: Option<Duration>,
    watch: Option<BorrowedFd<'_>>,
) -> std::result::Result<(TlsStream, Summary), Failed> {
    let done = established(sock, conn, timeout, watch)?;
    let summary = Summary::of(&done.conn);
    Ok((done.stream(), summary))
}

/// A finished handshake: the connection and its socket (blocking, its timeouts cleared), for a
/// blocking session ([`Established::stream`]) or one the server's loop drives
/// ([`super::Looped`]).
pub(crate) struct Established {
    pub(super) sock: Socket,
    pub(super) conn: Connection,
}

impl Established {
    /// The blocking session.
    pub(super) fn stream(self) -> TlsStream {
        let Established { sock, mut conn } = self;
        conn.set_buffer_limit(Some(BUF));
        TlsStream {
            shared: Arc::new(Shared {
                conn: Mutex::new(conn),
                sock,
                order: Mutex::new(()),
                unclean_eof: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                plain_in: AtomicU64::new(0),
                plain_out: AtomicU64::new(0),
            }),
        }
    }
}

/// [`handshake`], up to the session.
pub(super) fn established(
    sock: Socket,
    mut conn: Connection,
    timeout: Option<Duration>,
    watch: Option<BorrowedFd<'_>>,
) -> std::result::Result<Established, Failed> {
    // A zero timeout (`-w 0`, `-i 0`, a deadline already reached) is not a socket timeout at all
    // (the call fails and the socket would wait for ever): the least one instead.
    let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
    let _ = sock.set_read_timeout(timeout);
    let _ = sock.set_write_timeout(timeout);
    match watch {
        Some(watch) => {
            let far = Duration::from_secs(365 * 24 * 3600);
            let mut io = Deadlined {
                sock: &sock,
                deadline: Instant::now() + timeout.unwrap_or(far),
                watch: Some(watch),
            };
            drive(&mut conn, &mut io, timeout)?;
        }
        None => drive(&mut conn, &mut &sock, timeout)?,
    }
    let _ = sock.set_read_timeout(None);
    let _ = sock.set_write_timeout(None);
    crate::sys::heap::keep_freed_heap();
    Ok(Established { sock, conn })
}
