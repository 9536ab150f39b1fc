//! The two blocking ends of a `-k` / `--broker` server, each on a thread of its own: stdin (a file, a
//! pipe or a terminal, which no readiness loop can wait on portably) and the output (stdout or `-o`).
//! They hand chunks to and from the server loop through a small mailbox and wake it with its waker;
//! both are bounded, so a slow output or a stalled loop holds back their source instead of growing.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use mio::Waker;

use crate::exit;
use crate::net::stream::relay::Crlf;
use crate::stdio::{Input, Output};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Bytes per stdin read.
const STDIN_CHUNK: usize = 64 * 1024;

/// What stdin produced.
pub(super) enum Fed {
    Data(Vec<u8>),
    End,
}

#[derive(Default)]
struct FeedState {
    /// The loop wants another chunk (someone is there to take it, and has room).
    wanted: bool,
    /// The chunk read and not yet taken by the loop.
    inbox: Option<Fed>,
}

/// stdin, read on its own thread only while the loop asks for more: not before the first client has
/// connected, not while every client is full, never more than one chunk ahead.
pub(super) struct StdinFeed {
    shared: Arc<(Mutex<FeedState>, Condvar)>,
}

impl StdinFeed {
    pub(super) fn start(input: Option<Input>, crlf: bool, waker: Arc<Waker>) -> StdinFeed {
        let shared = Arc::new((Mutex::new(FeedState::default()), Condvar::new()));
        let feed = StdinFeed {
            shared: shared.clone(),
        };
        std::thread::spawn(move || {
            let (state, cond) = &*shared;
            let mut crlf = crlf.then(Crlf::default);
            let mut file = input.map(|i| i.file);
            loop {
                {
                    let mut s = lock(state);
                    while !(s.wanted && s.inbox.is_none()) {
                        s = cond.wait(s).unwrap_or_else(|p| p.into_inner());
                    }
                }
                let fed = match &mut file {
                    None => Fed::End,
                    Some(f) => {
                        let mut buf = vec![0u8; STDIN_CHUNK];
                        match read_some(f, &mut buf) {
                            0 => Fed::End,
                            n => {
                                buf.truncate(n);
                                match &mut crlf {
                                    Some(c) => Fed::Data(c.apply(&buf).to_vec()),
                                    None => Fed::Data(buf),
                                }
                            }
                        }
                    }
                };
                let end = matches!(fed, Fed::End);
                lock(state).inbox = Some(fed);
                let _ = waker.wake();
                if end {
                    return;
                }
            }
        });
        feed
    }

    /// Says whether the loop can take a chunk now.
    pub(super) fn want(&self, wanted: bool) {
        let (state, cond) = &*self.shared;
        let mut s = lock(state);
        if s.wanted != wanted {
            s.wanted = wanted;
            cond.notify_one();
        }
    }

    /// The chunk read, if any.
    pub(super) fn take(&self) -> Option<Fed> {
        let (state, cond) = &*self.shared;
        let fed = lock(state).inbox.take();
        if fed.is_some() {
            cond.notify_one();
        }
        fed
    }
}

/// Reads what is there; 0 at the end or on an error (a stdin that fails is a stdin that ended).
fn read_some(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
    loop {
        match f.read(buf) {
            Ok(n) => return n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return 0,
        }
    }
}

/// Output bytes queued beyond this hold back the clients that produce them.
pub(super) const OUT_HIGH: usize = 1 << 20;

#[derive(Default)]
struct SinkState {
    queue: VecDeque<Vec<u8>>,
    bytes: usize,
    /// The loop stopped reading clients because the queue was full: wake it when there is room.
    waiting: bool,
    failed: Option<anyhow::Error>,
}

/// The output (stdout or `-o FILE`), written on its own thread, a whole chunk at a time, so one
/// client's chunk is never split by another's.
pub(super) struct OutputSink {
    shared: Arc<(Mutex<SinkState>, Condvar)>,
}

impl OutputSink {
    pub(super) fn start(output: Output, waker: Arc<Waker>) -> OutputSink {
        let shared = Arc::new((Mutex::new(SinkState::default()), Condvar::new()));
        let sink = OutputSink {
            shared: shared.clone(),
        };
        std::thread::spawn(move || {
            let (state, cond) = &*shared;
            let Output { mut file, name, .. } = output;
            loop {
                let chunk = {
                    let mut s = lock(state);
                    loop {
                        if let Some(c) = s.queue.pop_front() {
                            break c;
                        }
                        s = cond.wait(s).unwrap_or_else(|p| p.into_inner());
                    }
                };
                let written = file.write_all(&chunk);
                let mut s = lock(state);
                s.bytes -= chunk.len();
                if let Err(e) = written {
                    s.failed = Some(exit::output_error(e, &name));
                    drop(s);
                    let _ = waker.wake();
                    return;
                }
                if s.waiting && s.bytes < OUT_HIGH / 2 {
                    s.waiting = false;
                    drop(s);
                    let _ = waker.wake();
                }
            }
        });
        sink
    }

    /// Queues a chunk. Returns false when the output is full: stop reading clients until woken.
    pub(super) fn push(&self, chunk: Vec<u8>) -> bool {
        let (state, cond) = &*self.shared;
        let mut s = lock(state);
        s.bytes += chunk.len();
        s.queue.push_back(chunk);
        cond.notify_one();
        self.room(&mut s)
    }

    fn room(&self, s: &mut SinkState) -> bool {
        if s.bytes >= OUT_HIGH {
            s.waiting = true;
            return false;
        }
        true
    }

    /// Is there room for more? (false also arranges a wake-up once there is.)
    pub(super) fn has_room(&self) -> bool {
        let mut s = lock(&self.shared.0);
        self.room(&mut s)
    }

    /// The output failed (closed by its reader, disk full...): the server ends with this.
    pub(super) fn failed(&self) -> Option<anyhow::Error> {
        lock(&self.shared.0).failed.take()
    }
}
