//! An established session driven by a server's epoll loop over its non-blocking socket, with no
//! thread of its own (`listen -k --tls --forward`: [`crate::net::server::pairs`]). The loop owns the
//! rustls connection outright, so there is no lock: it decrypts what the socket holds at each event,
//! and encrypts into the queue it sends the client from.
//!
//! Ciphertext is read in large reads into the loop's one scratch buffer and handed to rustls from
//! memory (rustls itself reads 4 KiB a call), and every byte it decrypts is taken out at once, so no
//! ciphertext waits in the session between events: an idle session holds only rustls's state.

use std::io::{self, BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::Connection;
use socket2::Socket;

use super::handshake::{Established, Summary};
use super::server::Accepting;
use super::session::tls_io_error;

/// What [`Looped::receive`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// This many plaintext bytes were added; `drained`: the read that brought them was short, so the
    /// socket is empty (unless its peer has closed: then the end is still to read).
    Data { n: usize, drained: bool },
    /// The peer's close_notify, or a TCP close without it (said under `-v`), after every byte
    /// before it was given out.
    End,
    /// Nothing to read now.
    Blocked,
}

/// The plaintext bytes (in, out) a session has carried, shared with what reports its end.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    plain_in: AtomicU64,
    plain_out: AtomicU64,
}

impl Counts {
    pub(crate) fn get(&self) -> (u64, u64) {
        (
            self.plain_in.load(Ordering::Relaxed),
            self.plain_out.load(Ordering::Relaxed),
        )
    }
}

/// An established session whose socket the loop drives (see the module's header).
pub(crate) struct Looped {
    conn: Connection,
    counts: Arc<Counts>,
    /// The peer's close_notify came (what came before it was given out already).
    closed: bool,
    /// The peer closed TCP without close_notify.
    unclean_eof: bool,
    /// Say (on stderr) when the peer closes without close_notify, as the threaded session does.
    verbose: bool,
    /// What the handshake's last reads brought past its end was taken (see [`Looped::receive`]).
    primed: bool,
}

impl Accepting {
    /// The session of a handshake the loop ran to its end ([`Accepting::advance`] said done), for
    /// the loop to go on driving, and what it agreed on.
    pub(crate) fn into_looped(self, verbose: bool) -> (Looped, Summary) {
        let summary = Summary::of(&self.conn);
        crate::sys::heap::keep_freed_heap();
        (Looped::new(self.conn, verbose), summary)
    }
}

impl Looped {
    /// The session of a handshake done on a thread (a `--forward tls://` target's), for the loop to
    /// drive from now on: what rustls read past the handshake is taken at the first receive.
    pub(crate) fn of(done: Established, verbose: bool) -> (Socket, Looped) {
        (done.sock, Looped::new(done.conn, verbose))
    }

    fn new(conn: Connection, verbose: bool) -> Looped {
        Looped {
            conn,
            counts: Arc::default(),
            closed: false,
            unclean_eof: false,
            verbose,
            primed: false,
        }
    }

    /// The session's plaintext counts, for whoever reports its end.
    pub(crate) fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }

    /// Reads what `sock` holds (into `scratch`), decrypts it and appends the plaintext to `plain`;
    /// whatever rustls answers (a key update, an alert) is appended to `to_peer`, ciphertext for the
    /// same socket. The caller reads again only once `plain` went out (its queue is the bound).
    pub(crate) fn receive(
        &mut self,
        sock: &Socket,
        scratch: &mut [u8],
        plain: &mut Vec<u8>,
        to_peer: &mut Vec<u8>,
    ) -> io::Result<Received> {
        if self.closed {
            return Ok(Received::End);
        }
        let before = plain.len();
        if !self.primed {
            // A client may send its first bytes with the end of its handshake (curl's request
            // follows its Finished at once): the handshake's reads took them from the socket, and
            // they wait in rustls, with no event to come for them.
            self.primed = true;
            self.process(to_peer)?;
            self.take_plain(plain)?;
            let got = plain.len() - before;
            if got > 0 || self.closed {
                self.counts
                    .plain_in
                    .fetch_add(got as u64, Ordering::Relaxed);
                return Ok(Received::Data {
                    n: got,
                    drained: false,
                });
            }
        }
        let n = loop {
            match (&*sock).read(scratch) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Received::Blocked),
                other => break other?,
            }
        };
        if n == 0 {
            // TCP EOF: rustls tells close_notify seen (Ok(0)) from not (UnexpectedEof). Anything
            // still decrypted is the caller's to send before the end.
            self.conn.read_tls(&mut &[][..])?;
            self.process(to_peer)?;
            self.take_plain(plain)?;
            self.closed = true;
        } else {
            let mut rest = &scratch[..n];
            while !rest.is_empty() {
                self.conn.read_tls(&mut rest)?;
                self.process(to_peer)?;
                self.take_plain(plain)?;
            }
        }
        let got = plain.len() - before;
        self.counts
            .plain_in
            .fetch_add(got as u64, Ordering::Relaxed);
        if self.closed && (got == 0 || n == 0) {
            if self.unclean_eof && self.verbose {
                crate::diag!("tls: the peer closed the connection without close_notify");
            }
            return Ok(Received::End);
        }
        Ok(Received::Data {
            n: got,
            drained: n < scratch.len(),
        })
    }

    /// Decrypts what rustls was given; its answer, and its alert on a failure, go to `to_peer`.
    fn process(&mut self, to_peer: &mut Vec<u8>) -> io::Result<()> {
        let processed = self.conn.process_new_packets();
        while self.conn.wants_write() {
            self.conn.write_tls(to_peer)?;
        }
        processed.map(|_| ()).map_err(|e| tls_io_error(&e))
    }

    /// Moves every decrypted byte into `plain`; notes the peer's close_notify (or its TCP close
    /// without one).
    fn take_plain(&mut self, plain: &mut Vec<u8>) -> io::Result<()> {
        let mut reader = self.conn.reader();
        loop {
            match reader.fill_buf() {
                Ok([]) => {
                    self.closed = true;
                    return Ok(());
                }
                Ok(chunk) => {
                    let n = chunk.len();
                    plain.extend_from_slice(chunk);
                    reader.consume(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.unclean_eof = true;
                    self.closed = true;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Encrypts all of `buf`, appending the records to `to_peer`.
    pub(crate) fn send(&mut self, mut buf: &[u8], to_peer: &mut Vec<u8>) -> io::Result<()> {
        let len = buf.len() as u64;
        while !buf.is_empty() {
            let n = io::Write::write(&mut self.conn.writer(), buf)?;
            buf = &buf[n..];
            while self.conn.wants_write() {
                self.conn.write_tls(to_peer)?;
            }
        }
        self.counts.plain_out.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// The end of what we send: close_notify, appended to `to_peer` (the caller then half-closes).
    pub(crate) fn close(&mut self, to_peer: &mut Vec<u8>) -> io::Result<()> {
        self.conn.send_close_notify();
        while self.conn.wants_write() {
            self.conn.write_tls(to_peer)?;
        }
        Ok(())
    }
}
