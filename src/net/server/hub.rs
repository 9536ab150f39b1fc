//! The two blocking ends of a `-k` / `--broker` server, each on a thread of its own: stdin (a file, a
//! pipe or a terminal, which no readiness loop can wait on portably) and the output (stdout or `-o`).
//! They hand chunks to and from the server loop through a small mailbox and wake it with its waker;
//! both are bounded, so a slow output or a stalled loop holds back their source instead of growing.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use anyhow::Result;
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
pub(super) struct SinkState {
    queue: VecDeque<Vec<u8>>,
    bytes: usize,
    /// The loop stopped reading clients because the queue was full: wake it when there is room.
    waiting: bool,
    failed: Option<anyhow::Error>,
}

/// The output (stdout or `-o FILE`), a whole chunk at a time, so one client's chunk is never split
/// by another's. A regular file or a device that is not a terminal (`/dev/null`) never keeps a
/// writer waiting, so the loop writes it itself; a pipe, a socket or a terminal can block for as long
/// as its reader likes, so it gets a thread of its own and a bounded queue.
pub(super) enum OutputSink {
    Inline(Output),
    Thread(Arc<(Mutex<SinkState>, Condvar)>),
}

/// Never blocks the writer for long: a regular file, or a character device that is not a terminal.
fn writes_at_once(file: &std::fs::File) -> bool {
    use std::io::IsTerminal;
    use std::os::unix::fs::FileTypeExt;
    file.metadata().is_ok_and(|m| {
        let t = m.file_type();
        t.is_file() || (t.is_char_device() && !file.is_terminal())
    })
}

impl OutputSink {
    pub(super) fn start(output: Output, waker: Arc<Waker>) -> OutputSink {
        if writes_at_once(&output.file) {
            return OutputSink::Inline(output);
        }
        let shared = Arc::new((Mutex::new(SinkState::default()), Condvar::new()));
        let theirs = shared.clone();
        std::thread::spawn(move || {
            let (state, cond) = &*theirs;
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
        OutputSink::Thread(shared)
    }

    /// Writes or queues a chunk. Ok(false) when the output is full: stop reading clients until woken.
    /// Err: the output failed (closed by its reader, disk full...); the server ends with it.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Result<bool> {
        match self {
            OutputSink::Inline(out) => out
                .file
                .write_all(chunk)
                .map(|()| true)
                .map_err(|e| exit::output_error(e, &out.name)),
            OutputSink::Thread(shared) => {
                let (state, cond) = &**shared;
                let mut s = lock(state);
                s.bytes += chunk.len();
                s.queue.push_back(chunk.to_vec());
                cond.notify_one();
                Ok(room(&mut s))
            }
        }
    }

    /// Is there room for more? (false also arranges a wake-up once there is.)
    pub(super) fn has_room(&self) -> bool {
        match self {
            OutputSink::Inline(_) => true,
            OutputSink::Thread(shared) => room(&mut lock(&shared.0)),
        }
    }

    /// The output failed on its thread: the server ends with this.
    pub(super) fn failed(&self) -> Option<anyhow::Error> {
        match self {
            OutputSink::Inline(_) => None,
            OutputSink::Thread(shared) => lock(&shared.0).failed.take(),
        }
    }
}

fn room(s: &mut SinkState) -> bool {
    if s.bytes >= OUT_HIGH {
        s.waiting = true;
        return false;
    }
    true
}
