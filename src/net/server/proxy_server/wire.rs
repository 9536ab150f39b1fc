//! The bounded reader every proxy handshake reads through: at most [`MAX_HANDSHAKE`] bytes, growing
//! as the handshake does.

use std::io::{self, Read, Write};

/// The most a client may send before its tunnel starts (request line and headers included).
pub const MAX_HANDSHAKE: usize = 64 * 1024;

/// A bounded, buffered reader over the client for the handshake: reads at most [`MAX_HANDSHAKE`]
/// bytes in all; what it read beyond the handshake ([`Wire::leftover`]) goes to the destination.
pub struct Wire<S> {
    pub(super) inner: S,
    buf: Vec<u8>,
    pos: usize,
}

fn too_long() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("handshake longer than {} KiB", MAX_HANDSHAKE / 1024),
    )
}

impl<S: Read + Write> Wire<S> {
    pub fn new(inner: S) -> Self {
        Wire {
            inner,
            buf: Vec::with_capacity(512),
            pos: 0,
        }
    }

    /// Reads more from the client; Err at EOF or past the bound.
    fn fill(&mut self) -> io::Result<()> {
        if self.buf.len() >= MAX_HANDSHAKE {
            return Err(too_long());
        }
        let at = self.buf.len();
        // Grows as the handshake does: a stalled client costs 1 KiB, not the bound.
        let room = (MAX_HANDSHAKE - at).min(at.max(1024));
        self.buf.resize(at + room, 0);
        let got = loop {
            match self.inner.read(&mut self.buf[at..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match got {
            Ok(0) => {
                self.buf.truncate(at);
                Err(io::ErrorKind::UnexpectedEof.into())
            }
            Ok(n) => {
                self.buf.truncate(at + n);
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(at);
                Err(e)
            }
        }
    }

    /// The next byte, not consumed.
    pub fn peek(&mut self) -> io::Result<u8> {
        while self.pos >= self.buf.len() {
            self.fill()?;
        }
        Ok(self.buf[self.pos])
    }

    /// Exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.buf.len() - self.pos < n {
            self.fill()?;
        }
        let at = self.pos;
        self.pos += n;
        Ok(&self.buf[at..at + n])
    }

    /// Bytes through the first `delim` (included), at most `max` of them.
    pub fn until(&mut self, delim: &[u8], max: usize) -> io::Result<&[u8]> {
        let mut searched: usize = 0;
        loop {
            let avail = &self.buf[self.pos..];
            let from = searched.saturating_sub(delim.len() - 1);
            if let Some(i) = avail[from..].windows(delim.len()).position(|w| w == delim) {
                let end = from + i + delim.len();
                if end > max {
                    return Err(too_long());
                }
                let at = self.pos;
                self.pos += end;
                return Ok(&self.buf[at..at + end]);
            }
            if avail.len() >= max {
                return Err(too_long());
            }
            searched = avail.len();
            self.fill()?;
        }
    }

    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.inner.write_all(data)?;
        self.inner.flush()
    }

    /// What the client sent beyond its handshake (the start of the tunnel's bytes).
    pub fn leftover(&self) -> &[u8] {
        &self.buf[self.pos..]
    }
}
