//! One client of the server loop: a small record beside its registered descriptor. An idle client
//! costs this record and its socket, nothing else: no thread, no buffer (bytes waiting to be sent to
//! it are shared chunks, queued only while its socket is full).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Instant;

use socket2::Socket;

use crate::net::server::exec::Running;

/// Bytes queued for one client beyond which it is "too far behind" and dropped.
pub(super) const QUEUE_CAP: usize = 4 << 20;
/// A source (stdin, a broker client) is read only while some client it feeds has less queued than this.
pub(super) const QUEUE_HIGH: usize = 256 * 1024;

/// Why a connection ended: what `-v` says and what a `close` event will carry.
#[derive(Debug)]
pub(crate) enum Close {
    /// Both directions ended normally.
    Eof,
    Reset,
    /// `-i`: no byte moved either way for that long.
    Idle,
    /// More than [`QUEUE_CAP`] bytes were waiting for a client that did not read them.
    Behind(usize),
    /// Every other failure (a child that failed, an unexpected socket error).
    Error(anyhow::Error),
}

impl Close {
    /// The short reason (`eof`, `reset`, `idle`, `behind`, or the error), for a `close` event.
    pub(crate) fn reason(&self) -> String {
        match self {
            Close::Eof => "eof".into(),
            Close::Reset => "reset".into(),
            Close::Idle => "idle".into(),
            Close::Behind(_) => "behind".into(),
            Close::Error(e) => crate::exit::render(e),
        }
    }

    /// The `-v` line after the client's name, or None for a normal end.
    pub(crate) fn message(&self) -> Option<String> {
        match self {
            Close::Eof => None,
            Close::Reset => Some("connection reset by peer".into()),
            Close::Idle => Some("idle timeout: closed".into()),
            Close::Behind(n) => Some(format!("too far behind ({n} bytes not read): closed")),
            Close::Error(e) => Some(crate::exit::render(e)),
        }
    }

    pub(crate) fn from_io(e: io::Error) -> Close {
        if crate::net::stream::peer_gone(&e) {
            Close::Reset
        } else {
            Close::Error(anyhow::anyhow!(e))
        }
    }
}

/// What a connection is doing.
pub(super) enum Kind {
    /// Served by the loop: echo, `-k` relay, broker.
    Stream,
    /// A child runs with the socket; the loop only waits for it.
    Exec(Running),
    /// The child is done; waiting (bounded) for the client to close, reading and dropping its bytes.
    Linger { until: Instant },
}

pub(super) struct Conn {
    /// The connection's number, for events (0, 1, ... in accept order).
    pub id: u64,
    pub sock: Socket,
    pub who: String,
    pub started: Instant,
    /// The last time a byte moved either way (`-i`).
    pub last: Instant,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub kind: Kind,
    /// Bytes to send: shared chunks and the offset already sent of the first.
    queue: VecDeque<(Rc<[u8]>, usize)>,
    pub queued: usize,
    /// The socket may have bytes (or an EOF) to read: edge-triggered readiness not yet consumed.
    pub readable: bool,
    /// Reading has ended (EOF seen, or nothing is wanted from it).
    pub read_done: bool,
    /// Once the queue is sent: FIN (stdin ended) ...
    pub fin_after_flush: bool,
    pub fin_sent: bool,
    /// ... or close the connection (the client ended its side).
    pub close_after_flush: bool,
    /// The result to report for an exec connection when it closes.
    pub outcome: Option<anyhow::Error>,
}

impl Conn {
    pub(super) fn new(id: u64, sock: Socket, who: String, kind: Kind) -> Conn {
        let now = Instant::now();
        Conn {
            id,
            sock,
            who,
            started: now,
            last: now,
            bytes_in: 0,
            bytes_out: 0,
            kind,
            queue: VecDeque::new(),
            queued: 0,
            readable: false,
            read_done: false,
            fin_after_flush: false,
            fin_sent: false,
            close_after_flush: false,
            outcome: None,
        }
    }

    /// Queues `chunk[from..]` for sending.
    pub(super) fn enqueue(&mut self, chunk: Rc<[u8]>, from: usize) {
        self.queued += chunk.len() - from;
        self.queue.push_back((chunk, from));
    }

    /// Sends what is queued until the socket is full. Err: the client is gone.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        while let Some((chunk, off)) = self.queue.front_mut() {
            match (&self.sock).write(&chunk[*off..]) {
                Ok(n) => {
                    *off += n;
                    self.queued -= n;
                    self.bytes_out += n as u64;
                    self.last = Instant::now();
                    if *off == chunk.len() {
                        self.queue.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends `data` now as far as the socket takes it; returns how much it took.
    pub(super) fn send_now(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.queued > 0 {
            return Ok(0);
        }
        loop {
            match (&self.sock).write(data) {
                Ok(n) => {
                    self.bytes_out += n as u64;
                    self.last = Instant::now();
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// One read. Ok(None): nothing there now.
    pub(super) fn read(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match (&self.sock).read(buf) {
                Ok(n) => {
                    if n > 0 {
                        self.bytes_in += n as u64;
                        self.last = Instant::now();
                    }
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(None);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}
