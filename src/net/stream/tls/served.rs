//! The server's side of a session beyond the relay: what `--events` learns of it (the `tls` field and
//! the application bytes), and a blocking `Read`/`Write` view with a deadline for a protocol that
//! runs inside TLS before the relay starts (the proxy server's SOCKS or HTTP handshake).

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Value as Json, json};

use super::session::Shared;
use super::{Summary, TlsReader, TlsWriter};
use crate::net::stream::{Endpoint, Source};

impl Summary {
    /// The `tls` field of a server's `close` event: `{"version", "cipher", "alpn"}` (alpn null when
    /// none was agreed), and `"client_subject"` when the client sent a certificate.
    pub(crate) fn json(&self) -> Json {
        let mut v = json!({
            "version": self.version,
            "cipher": self.cipher,
            "alpn": self.alpn,
        });
        if let Some(leaf) = self.leaf() {
            v["client_subject"] = Json::from(leaf.subject);
        }
        v
    }
}

/// The plaintext bytes (in, out) a session has carried so far.
pub(super) fn counts(shared: &Arc<Shared>) -> Box<dyn Fn() -> (u64, u64) + Send> {
    let shared = shared.clone();
    Box::new(move || {
        (
            shared.plain_in.load(Ordering::Relaxed),
            shared.plain_out.load(Ordering::Relaxed),
        )
    })
}

/// Both halves of a session as one blocking `Read + Write`, every call bounded by `deadline`
/// (`TimedOut` after it), for a handshake that runs inside TLS. The halves are borrowed, so what the
/// reader has buffered stays with it for the relay ([`Endpoint::tls_halves`]).
pub(crate) struct Deadlined<'a> {
    pub reader: &'a mut TlsReader,
    pub writer: &'a mut TlsWriter,
    pub deadline: Instant,
}

impl Deadlined<'_> {
    fn left(&self) -> io::Result<std::time::Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(left.max(std::time::Duration::from_millis(1)))
    }
}

impl Read for Deadlined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.reader.shared.sock.set_read_timeout(Some(left))?;
        self.reader.shared.sock.set_write_timeout(Some(left))?;
        Source::read(self.reader, buf)
    }
}

impl Write for Deadlined<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.writer.shared.sock.set_write_timeout(Some(left))?;
        self.writer.send(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsReader {
    /// Clears the socket timeouts a [`Deadlined`] handshake left.
    pub(crate) fn clear_timeouts(&self) -> io::Result<()> {
        self.shared.sock.set_read_timeout(None)?;
        self.shared.sock.set_write_timeout(None)
    }
}

impl Endpoint {
    /// A session already split (and perhaps read from, see [`Deadlined`]).
    pub(crate) fn tls_halves(mut reader: TlsReader, writer: TlsWriter, verbose: bool) -> Endpoint {
        let stop = reader.shared.clone();
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
