//! TLS as one more kind of stream: a rustls session over a connected TCP or Unix socket, in blocking
//! mode, split in two halves that move to the relay's two threads.
//!
//! Both directions run at once. The rustls connection sits behind a mutex that is held only to
//! encrypt or decrypt, never across a socket call: the reading half reads ciphertext from the socket
//! without the lock and decrypts it under the lock; the writing half encrypts into a buffer under the
//! lock and writes that buffer out without it. A second lock, `order`, is held by whoever writes
//! ciphertext to the socket, so records leave in the order rustls numbered them (the reading half
//! only writes when rustls has something to answer, and never waits for that lock).
//!
//! End of stream: [`TlsWriter::finish`] sends close_notify, then shuts down the socket's sending
//! side; [`TlsReader::read`] returns 0 at the peer's close_notify. A peer that closes TCP without
//! close_notify also ends the stream (everything before it was delivered), and
//! [`TlsReader::unclean_eof`] says so, for `-v` (README: status 0, as ncat and socat).

pub(crate) mod cert;
pub(crate) mod config;
pub(crate) mod served;
pub(crate) mod verify;

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Result, anyhow};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use socket2::Socket;

pub(crate) use config::{ClientOpts, Identity, ServerOpts};
use verify::ServerVerifier;

use crate::exit;
use crate::net::events::{Note, RefuseReason};
use crate::net::stream::{Endpoint, Sink, Source, recv_error, send_error};

/// How long a server's client has for its handshake when `-i` does not say (`listen -k --tls`, where
/// a silent client must not hold its thread for ever).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Ciphertext read from the socket per call, and the plaintext rustls may hold to be sent.
const BUF: usize = 256 * 1024;

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
    fn of(conn: &Connection) -> Summary {
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

/// A client ready to run handshakes (the configuration is built once, also for many probes and for
/// every client of a `--forward tls://` server).
#[derive(Debug)]
pub(crate) struct Client {
    config: Arc<ClientConfig>,
    verifier: Arc<ServerVerifier>,
    sni: Option<String>,
    insecure: bool,
    /// How the warning names the option that turned verification off.
    insecure_flag: &'static str,
    /// `--insecure` has been said (once per process, not per connection).
    warned: AtomicBool,
}

/// The name a client sends and checks: `--sni`, else the host (an IP literal: its IP SAN, no SNI).
fn server_name(sni: Option<&str>, host: &str) -> Result<ServerName<'static>> {
    let name = sni.unwrap_or(host);
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    let bare = bare.split('%').next().unwrap_or(bare);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_string())
        .map_err(|_| exit::usage(format!("invalid TLS server name '{name}'")))
}

impl Client {
    pub(crate) fn new(opts: &ClientOpts) -> Result<Client> {
        let (config, verifier) = config::client_config(opts)?;
        Ok(Client {
            config,
            verifier,
            sni: opts.sni.clone(),
            insecure: opts.insecure,
            insecure_flag: "--insecure",
            warned: AtomicBool::new(false),
        })
    }

    /// Names the option that turned verification off in the warning (`--forward-insecure`).
    pub(crate) fn insecure_flag(mut self, flag: &'static str) -> Client {
        self.insecure_flag = flag;
        self
    }

    /// The handshake on a connected socket, checking the server as configured against `host` (the
    /// name or address the user gave). `timeout` bounds the whole handshake (status 3).
    pub(crate) fn handshake(
        &self,
        sock: Socket,
        host: &str,
        timeout: Option<Duration>,
    ) -> Result<(TlsStream, Summary)> {
        let name = server_name(self.sni.as_deref(), host)?;
        let expected = match &name {
            ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
            other => other.to_str().into_owned(),
        };
        let conn =
            ClientConnection::new(self.config.clone(), name).map_err(|e| anyhow!("TLS: {e}"))?;
        let result = handshake(sock, conn.into(), timeout);
        let (stream, summary) = result.map_err(|e| {
            let leaf = self.verifier.leaf();
            explain(e, leaf.as_ref(), &expected)
        })?;
        if self.insecure && !self.warned.swap(true, Ordering::Relaxed) {
            let pin = summary
                .leaf()
                .map(|i| i.pin)
                .unwrap_or_else(|| "unknown".into());
            crate::diag!(
                "sockcat: warning: {}: the server's certificate was not verified (its pin: {pin})",
                self.insecure_flag
            );
        }
        Ok((stream, summary))
    }
}

/// A server's configuration, shared by every connection.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    config: Arc<ServerConfig>,
    /// The pin of our certificate (`tls pin sha256:...` with `-v`).
    pub pin: String,
}

impl Server {
    /// `names`: the self-signed certificate's names when `opts` has no identity.
    pub(crate) fn new(opts: &ServerOpts, names: &[String]) -> Result<Server> {
        let (config, pin) = config::server_config(opts, names)?;
        Ok(Server { config, pin })
    }

    /// The one client of `listen --tls`: the handshake (bounded by the idle timeout, if any), the
    /// `-v` line, then the relay with stdin/stdout.
    pub(crate) fn serve_one(
        &self,
        sock: Socket,
        input: Option<crate::stdio::Input>,
        output: crate::stdio::Output,
        cfg: &crate::net::stream::relay::RelayConfig,
        verbose: bool,
        who: &str,
    ) -> Result<()> {
        let (stream, summary) = self
            .handshake(sock, cfg.idle_timeout)
            .map_err(|e| e.context(format!("client {who}")))?;
        if verbose {
            crate::diag!("{}", summary.line());
        }
        let local = Endpoint::stdio(input, output);
        crate::net::stream::relay::join(local, Endpoint::tls(stream, verbose), cfg)
    }

    /// `listen --tls --echo`: the handshake (bounded by `idle`, else [`HANDSHAKE_TIMEOUT`]), then
    /// every byte the client sends back to it, until its close_notify (answered with ours). `idle`
    /// (`-i`): a client that neither sends nor reads for that long ends with a timeout.
    pub(crate) fn echo(&self, sock: Socket, idle: Option<Duration>, verbose: bool) -> Result<()> {
        let (stream, summary) = self.handshake(sock, Some(idle.unwrap_or(HANDSHAKE_TIMEOUT)))?;
        if verbose {
            crate::diag!("{}", summary.line());
        }
        let _ = stream.shared.sock.set_read_timeout(idle);
        let _ = stream.shared.sock.set_write_timeout(idle);
        let timed_out = |e: &io::Error| {
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            )
        };
        let idle_error = || {
            exit::timeout(format!(
                "idle timeout: no data for {}",
                humantime::format_duration(idle.unwrap_or_default())
            ))
        };
        let (mut reader, mut writer) = stream.split();
        reader.verbose = verbose;
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = match Source::read(&mut reader, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if timed_out(&e) => return Err(idle_error()),
                Err(e) => return Err(recv_error(e)),
            };
            match writer.send(&buf[..n]) {
                Ok(()) => {}
                Err(e) if timed_out(&e) => return Err(idle_error()),
                Err(e) => return Err(send_error(e)),
            }
        }
        writer.finish().map_err(send_error)
    }

    /// The handshake with a client that has just connected.
    pub(crate) fn handshake(
        &self,
        sock: Socket,
        timeout: Option<Duration>,
    ) -> Result<(TlsStream, Summary)> {
        let conn = ServerConnection::new(self.config.clone()).map_err(|e| anyhow!("TLS: {e}"))?;
        // For --events: a failed handshake is a `refuse` (reason tls); a session's close line gets
        // what was agreed and its application bytes.
        match handshake(sock, conn.into(), timeout) {
            Ok((stream, summary)) => {
                Note::tls(summary.json(), served::counts(&stream.shared));
                Ok((stream, summary))
            }
            Err(e) => {
                Note::refused(RefuseReason::Tls);
                Err(explain(e, None, ""))
            }
        }
    }
}

/// A handshake failure, before it is explained.
enum Failed {
    Tls(rustls::Error),
    Io(io::Error),
    TimedOut(Duration),
}

fn explain(failed: Failed, leaf: Option<&CertificateDer<'_>>, expected: &str) -> anyhow::Error {
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

fn handshake(
    sock: Socket,
    mut conn: Connection,
    timeout: Option<Duration>,
) -> std::result::Result<(TlsStream, Summary), Failed> {
    // A zero timeout (`-w 0`, `-i 0`, a deadline already reached) is not a socket timeout at all
    // (the call fails and the socket would wait for ever): the least one instead.
    let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
    let _ = sock.set_read_timeout(timeout);
    let _ = sock.set_write_timeout(timeout);
    let mut io = &sock;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut io) {
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
        conn.write_tls(&mut io).map_err(Failed::Io)?;
    }
    let _ = sock.set_read_timeout(None);
    let _ = sock.set_write_timeout(None);
    conn.set_buffer_limit(Some(BUF));
    let summary = Summary::of(&conn);
    Ok((
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
        },
        summary,
    ))
}

/// An established session.
pub(crate) struct TlsStream {
    shared: Arc<Shared>,
}

struct Shared {
    conn: Mutex<Connection>,
    sock: Socket,
    /// Held while ciphertext goes to the socket, so records leave in order.
    order: Mutex<()>,
    /// The peer closed TCP without close_notify.
    unclean_eof: AtomicBool,
    /// We ended the session (its endpoint's stop): an EOF without close_notify is then ours.
    stopped: AtomicBool,
    /// Plaintext bytes received and sent (`--events` counts these).
    plain_in: AtomicU64,
    plain_out: AtomicU64,
}

impl Shared {
    /// Ends both directions at once (the endpoint's stop): what waits on the socket wakes up.
    fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        let _ = self.sock.shutdown(Shutdown::Both);
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Encrypted bytes rustls has queued, taken under the connection lock.
    fn take_tls(&self, out: &mut Vec<u8>) -> io::Result<()> {
        let mut conn = self.conn();
        while conn.wants_write() {
            conn.write_tls(out)?;
        }
        Ok(())
    }

    /// Writes out whatever rustls has queued; the caller holds `order`.
    fn flush_locked(&self, out: &mut Vec<u8>) -> io::Result<()> {
        loop {
            out.clear();
            self.take_tls(out)?;
            if out.is_empty() {
                return Ok(());
            }
            (&self.sock).write_all(out)?;
        }
    }

    /// Writes out whatever rustls has queued, waiting for a writer in progress.
    fn flush(&self, out: &mut Vec<u8>) -> io::Result<()> {
        let _order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        self.flush_locked(out)
    }

    /// Writes out what rustls queued while reading (an alert, a key update), unless a writer is busy:
    /// it looks again once it lets go of `order`.
    fn flush_if_free(&self) -> io::Result<()> {
        if let Ok(_order) = self.order.try_lock() {
            self.flush_locked(&mut Vec::new())?;
        }
        Ok(())
    }
}

impl TlsStream {
    /// The two halves, and a way to end both directions at once (shutdown of the socket).
    pub(crate) fn split(self) -> (TlsReader, TlsWriter) {
        (
            TlsReader {
                shared: self.shared.clone(),
                buf: Vec::new(),
                pos: 0,
                end: 0,
                verbose: false,
            },
            TlsWriter {
                shared: self.shared,
                out: Vec::new(),
            },
        )
    }
}

/// The plaintext arriving from the peer.
pub(crate) struct TlsReader {
    shared: Arc<Shared>,
    /// Ciphertext read from the socket, `pos..end` not yet given to rustls.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Say (on stderr) when the peer closes without close_notify.
    verbose: bool,
}

/// An I/O error carrying a rustls error's reason.
fn tls_io_error(e: &rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, verify::reason(e, None, ""))
}

impl TlsReader {
    /// Did the peer close TCP without close_notify?
    pub(crate) fn unclean_eof(&self) -> bool {
        self.shared.unclean_eof.load(Ordering::Relaxed)
    }
}

impl TlsReader {
    /// Fills `out` with what is already decrypted or decryptable, waiting on the socket only when
    /// there is nothing at all. Ok(0): the peer's close_notify, or a TCP close without it.
    fn fill(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.buf.is_empty() {
            self.buf = vec![0; BUF];
        }
        let mut filled = 0;
        loop {
            let mut answer = false;
            let mut fed = false;
            {
                let mut conn = self.shared.conn();
                while filled < out.len() {
                    match conn.reader().read(&mut out[filled..]) {
                        Ok(0) => return Ok(filled),
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            self.shared.unclean_eof.store(true, Ordering::Relaxed);
                            return Ok(filled);
                        }
                        Err(e) => return Err(e),
                    }
                }
                if filled == out.len() {
                    return Ok(filled);
                }
                if self.pos < self.end {
                    let mut rest = &self.buf[self.pos..self.end];
                    let n = conn.read_tls(&mut rest)?;
                    self.pos += n;
                    fed = true;
                    let processed = conn.process_new_packets();
                    answer = conn.wants_write();
                    if let Err(e) = processed {
                        drop(conn);
                        // Send our alert, then report.
                        let _ = self.shared.flush_if_free();
                        return Err(tls_io_error(&e));
                    }
                }
            }
            if answer {
                self.shared.flush_if_free()?;
            }
            if fed {
                // Take what that decrypted (and feed the rest).
                continue;
            }
            if filled > 0 {
                return Ok(filled);
            }
            let n = loop {
                match (&self.shared.sock).read(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                // TCP EOF: rustls decides between close_notify seen (Ok(0)) and not (UnexpectedEof).
                let mut conn = self.shared.conn();
                conn.read_tls(&mut &[][..])?;
                if let Err(e) = conn.process_new_packets() {
                    return Err(tls_io_error(&e));
                }
                continue;
            }
            self.pos = 0;
            self.end = n;
        }
    }
}

/// The plaintext going to the peer.
pub(crate) struct TlsWriter {
    shared: Arc<Shared>,
    /// Ciphertext on its way to the socket.
    out: Vec<u8>,
}

impl TlsWriter {
    /// The end of this direction: close_notify, then FIN.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        {
            let _order = self.shared.order.lock().unwrap_or_else(|p| p.into_inner());
            self.shared.conn().send_close_notify();
            self.shared.flush_locked(&mut self.out)?;
        }
        self.shared.sock.shutdown(Shutdown::Write)
    }
}

impl TlsWriter {
    /// Encrypts all of `buf` (under the lock) and writes it out (without it).
    fn send(&mut self, mut buf: &[u8]) -> io::Result<()> {
        let len = buf.len() as u64;
        while !buf.is_empty() {
            let _order = self.shared.order.lock().unwrap_or_else(|p| p.into_inner());
            self.out.clear();
            {
                let mut conn = self.shared.conn();
                let n = conn.writer().write(buf)?;
                buf = &buf[n..];
                while conn.wants_write() {
                    conn.write_tls(&mut self.out)?;
                }
            }
            (&self.shared.sock).write_all(&self.out)?;
        }
        self.shared.plain_out.fetch_add(len, Ordering::Relaxed);
        // What the reading half queued while we held `order`.
        if self.shared.conn().wants_write() {
            self.shared.flush(&mut self.out)?;
        }
        Ok(())
    }
}

/// The plaintext as a blocking reader (`sendfile --tls`).
impl Read for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.fill(buf)
    }
}

/// The plaintext as a blocking writer (`sendfile --tls`): every call encrypts and sends all of `buf`.
impl Write for TlsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsWriter {
    /// The socket the session runs on.
    pub(crate) fn socket(&self) -> &Socket {
        &self.shared.sock
    }
}

impl Source for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fill(buf)?;
        self.shared.plain_in.fetch_add(n as u64, Ordering::Relaxed);
        if n == 0
            && self.verbose
            && self.unclean_eof()
            && !self.shared.stopped.load(Ordering::Relaxed)
        {
            crate::diag!("tls: the peer closed the connection without close_notify");
        }
        Ok(n)
    }
    fn read_error(&self, err: io::Error) -> anyhow::Error {
        recv_error(err)
    }
}

impl Sink for TlsWriter {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.send(buf)
    }
    fn finish(&mut self) -> io::Result<()> {
        TlsWriter::finish(self)
    }
    fn write_error(&self, err: io::Error) -> anyhow::Error {
        send_error(err)
    }
}

impl Endpoint {
    /// An established TLS session (`verbose`: say when the peer closes without close_notify).
    pub(crate) fn tls(stream: TlsStream, verbose: bool) -> Endpoint {
        let stop = stream.shared.clone();
        let (mut reader, writer) = stream.split();
        reader.verbose = verbose;
        Endpoint::new(
            Box::new(reader),
            Box::new(writer),
            Some(Arc::new(move || {
                stop.stop();
            })),
        )
    }
}
