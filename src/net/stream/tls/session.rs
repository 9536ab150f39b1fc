//! An established session: its shared state and the two halves the relay's threads take.

use std::io::{self, BufRead, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::Connection;
use socket2::Socket;

use super::{BUF, verify};
use crate::net::stream::{Endpoint, Sink, Source, recv_error, send_error};

/// An established session.
pub(crate) struct TlsStream {
    pub(super) shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) conn: Mutex<Connection>,
    pub(super) sock: Socket,
    /// Held while ciphertext goes to the socket, so records leave in order.
    pub(super) order: Mutex<()>,
    /// The peer closed TCP without close_notify.
    pub(super) unclean_eof: AtomicBool,
    /// We ended the session (its endpoint's stop): an EOF without close_notify is then ours.
    pub(super) stopped: AtomicBool,
    /// Plaintext bytes received and sent (`--events` counts these).
    pub(super) plain_in: AtomicU64,
    pub(super) plain_out: AtomicU64,
}

impl Shared {
    /// Ends both directions at once (the endpoint's stop): what waits on the socket wakes up.
    pub(super) fn stop(&self) {
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
    pub(super) shared: Arc<Shared>,
    /// Ciphertext read from the socket, `pos..end` not yet given to rustls.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Say (on stderr) when the peer closes without close_notify.
    pub(super) verbose: bool,
}

/// An I/O error carrying a rustls error's reason.
pub(super) fn tls_io_error(e: &rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, verify::reason(e, None, ""))
}

impl TlsReader {
    /// Did the peer close TCP without close_notify?
    pub(crate) fn unclean_eof(&self) -> bool {
        self.shared.unclean_eof.load(Ordering::Relaxed)
    }
}

/// Where [`TlsReader::fill`] puts the plaintext it takes.
enum Plain<'a> {
    /// Copied into this buffer.
    Copy(&'a mut [u8]),
    /// Dropped, up to this many bytes (the relay's output is /dev/null): decrypted and
    /// authenticated, never copied out.
    Skip(usize),
}

impl Plain<'_> {
    fn len(&self) -> usize {
        match self {
            Plain::Copy(out) => out.len(),
            Plain::Skip(max) => *max,
        }
    }
}

impl TlsReader {
    /// Fills `out` with what is already decrypted or decryptable, waiting on the socket only when
    /// there is nothing at all. Ok(0): the peer's close_notify, or a TCP close without it.
    fn fill(&mut self, mut out: Plain<'_>) -> io::Result<usize> {
        let want = out.len();
        if want == 0 {
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
                while filled < want {
                    let mut reader = conn.reader();
                    let n = match reader.fill_buf() {
                        // close_notify, and everything before it taken.
                        Ok([]) => return Ok(filled),
                        Ok(chunk) => {
                            let n = chunk.len().min(want - filled);
                            if let Plain::Copy(out) = &mut out {
                                out[filled..filled + n].copy_from_slice(&chunk[..n]);
                            }
                            n
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            self.shared.unclean_eof.store(true, Ordering::Relaxed);
                            return Ok(filled);
                        }
                        Err(e) => return Err(e),
                    };
                    reader.consume(n);
                    filled += n;
                }
                if filled == want {
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
    pub(super) shared: Arc<Shared>,
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
    pub(super) fn send(&mut self, mut buf: &[u8]) -> io::Result<()> {
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
        self.fill(Plain::Copy(buf))
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

impl TlsReader {
    /// [`Source::read`] and [`Source::skip`]: counted, and an unclean end said under `-v`.
    fn take(&mut self, out: Plain<'_>) -> io::Result<usize> {
        let n = self.fill(out)?;
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
}

impl Source for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.take(Plain::Copy(buf))
    }
    fn skips(&self) -> bool {
        true
    }
    fn skip(&mut self, max: usize) -> io::Result<usize> {
        self.take(Plain::Skip(max))
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
        let (reader, writer) = stream.split();
        Endpoint::tls_halves(reader, writer, verbose)
    }
}
