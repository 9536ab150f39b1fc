//! Socket pairs relayed on the server's own epoll loop: `--forward` and `--proxy-server` tunnels
//! without a thread per pair. Each direction moves client -> private pipe -> target (and back) with
//! non-blocking splice(2), so the bytes never enter user space, and a pair whose reader is slow
//! stalls only itself (its pipe fills, its source is no longer read).
//!
//! The loop is an epoll set of its own ([`Pairs::fd`]), registered in the server's loop, which calls
//! [`Pairs::turn`] when it is ready or a deadline ([`Pairs::deadline`]) passed. Work handed over from
//! another thread (a pair whose handshake ran there) comes through a [`Handle`].
//!
//! The end-of-stream rules are those of [`crate::net::stream::relay`] for two sockets: a source's EOF
//! is a FIN to the other side once its pipe is empty; the pair ends when both directions did, or at
//! the first error (a failed client-to-target direction waits for what the target still sends); `-i`
//! counts a byte moved either way, or a send queue that drained, as traffic.
//!
//! The target may still be connecting when the pair arrives ([`Target::Connecting`]): it is then
//! watched for writability and checked with SO_ERROR, within its connect deadline.
//!
//! A client may also come alone, with a [`Front`] (the proxy server's handshake): all it sent so far
//! is handed to the front at each arrival, which answers (bytes for the client) and finally names the
//! destination, connected here non-blocking ([`Greet::Connect`]) or opened on a thread of its own
//! ([`Greet::Open`]: a name to resolve); the front then writes the reply, and the pair is relayed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::Socket;

use crate::exit;
use crate::net::addr::display;
use crate::net::stream::{recv_error, send_error};
use crate::sys::zerocopy as sys;

const WAKER: Token = Token(0);
const BASE: usize = 1;

/// The private pipe's size asked for (what one splice may move).
const PIPE_SIZE: usize = crate::net::stream::zerocopy::PIPE_SIZE;
/// Emptied pipes kept for the next pairs (a short pair then costs no pipe(2) or fcntl(2)).
const SPARE_PIPES: usize = 64;
/// The most a greeting client's bytes are kept (its front refuses more: a bounded handshake).
const MAX_GREETING: usize = 64 * 1024;
/// The buffer of a direction's reads until one fills it (then it is spliced).
const COPY_BUF: usize = 16 * 1024;
/// Splices per direction per turn: a fast pair cannot starve the others.
const MOVES_PER_TURN: usize = 16;

/// Can a session with these settings be relayed here (the plain relay: both ways, FIN for FIN, no
/// bytes to look at)?
pub(crate) fn suits(r: &crate::net::stream::relay::RelayConfig) -> bool {
    !(r.recv_only
        || r.send_only
        || r.close_on_eof
        || r.no_shutdown
        || r.crlf
        || r.hexdump
        || r.progress)
}

/// What a [`Front`] says once the destination's connect ended: the bytes for the client (the reply),
/// and either the bytes for the destination first and its label, or the error that ends the pair.
pub(crate) type Connected = (Vec<u8>, Result<(Vec<u8>, Arc<str>)>);

/// A handshake in front of a pair (see the module's header).
pub(crate) trait Front: Send {
    /// Everything the client sent so far (`eof`: and then it closed). `out` receives everything to
    /// send the client from the start of the handshake (the engine sends what it has not yet sent),
    /// so the front may parse it all again each time.
    fn input(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Greet;
    /// How the connection to the destination went: the bytes for the client (the reply), and either
    /// the bytes for the destination first and its label, or the error that ends the pair.
    fn connected(&mut self, result: Result<&Socket>) -> Connected;
    /// The error when the handshake's deadline passed.
    fn timed_out(&self) -> anyhow::Error;
}

/// What a [`Front`] decided.
pub(crate) enum Greet {
    /// It needs more bytes.
    More,
    /// The handshake failed (its answer, if any, is in `out`).
    Fail(anyhow::Error),
    /// A connect to the destination was started.
    Connect(Target),
    /// Opening the destination blocks (a name to resolve): done on a thread.
    Open(Box<dyn FnOnce() -> Result<Socket> + Send>),
}

/// How a pair ended, told to its owner with the client socket (still open: TCP_INFO can count it).
pub(crate) type Done = Box<dyn FnOnce(Result<()>, &Socket) + Send>;

/// The outgoing side of a pair.
pub(crate) enum Target {
    Connected(Socket),
    /// A non-blocking connect under way to `addr`; `what` names it in the error (`forward to X`).
    Connecting {
        sock: Socket,
        addr: SocketAddr,
        deadline: Option<Instant>,
        timeout: Option<Duration>,
        what: String,
        /// TCP_NODELAY and SO_KEEPALIVE once connected.
        nodelay: bool,
        keepalive: bool,
    },
}

/// One pair to relay.
pub(crate) struct Job {
    pub client: Socket,
    pub target: Target,
    /// How each side's errors are named (`client`, `to HOST:PORT`).
    pub labels: [Arc<str>; 2],
    /// Bytes for the target before anything of the client's (a PROXY protocol header, bytes that came
    /// with a proxy request).
    pub first: Vec<u8>,
    /// `-i`.
    pub idle: Option<Duration>,
    pub done: Done,
}

/// Hands jobs to a [`Pairs`] from other threads.
#[derive(Clone)]
pub(crate) struct Handle {
    tx: Sender<Job>,
    waker: Arc<Waker>,
}

impl Handle {
    /// Queues `job`; if the loop is gone, its `done` hears so at once.
    pub(crate) fn send(&self, job: Job) {
        match self.tx.send(job) {
            Ok(()) => {
                let _ = self.waker.wake();
            }
            Err(e) => {
                let job = e.0;
                (job.done)(Err(anyhow!("the server is ending")), &job.client);
            }
        }
    }
}

/// One direction: `src` side's bytes through the pipe to the other side.
#[derive(Default)]
struct Dir {
    /// A read filled [`COPY_BUF`]: a bulk stream, spliced from then on (small messages are copied:
    /// cheaper than splice's page per message, and no pipe for a short pair).
    bulk: bool,
    /// (read end, write end, capacity).
    pipe: Option<(OwnedFd, OwnedFd, usize)>,
    in_pipe: usize,
    eof: bool,
    done: bool,
}

struct Pair {
    /// 0: the client, 1: the target.
    socks: [Socket; 2],
    labels: [Arc<str>; 2],
    readable: [bool; 2],
    writable: [bool; 2],
    /// 0: client to target (up), 1: target to client (down).
    dirs: [Dir; 2],
    connecting: Option<Connecting>,
    /// Bytes for each side before anything relayed (a proxy's reply, a PROXY header).
    first: [Vec<u8>; 2],
    /// The front that set the pair up, told how its connect went.
    hook: Option<Box<dyn Front>>,
    up_error: Option<anyhow::Error>,
    /// Receiving from the client failed (it reset): nothing the target sends can reach it now.
    client_gone: bool,
    idle: Option<Duration>,
    last: Instant,
    /// The send queues' sizes when last looked at, for `-i`.
    unsent: [usize; 2],
    done: Option<Done>,
}

/// A client whose [`Front`] is still talking to it.
struct Greeting {
    client: Socket,
    input: Vec<u8>,
    eof: bool,
    out: Vec<u8>,
    sent: usize,
    front: Option<Box<dyn Front>>,
    done: Option<Done>,
    idle: Option<Duration>,
    deadline: Instant,
    /// A thread is opening the destination.
    opening: bool,
}

enum Entry {
    Pair(Box<Pair>),
    Greeting(Greeting),
}

/// A destination opened on a thread, for the greeting in `slot` (of `epoch`).
struct Opened {
    slot: usize,
    epoch: u64,
    result: Result<Socket>,
}

struct Connecting {
    addr: SocketAddr,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    what: String,
    nodelay: bool,
    keepalive: bool,
}

/// What a pair's step decided.
enum Outcome {
    Go,
    End(Result<()>),
}

pub(crate) struct Pairs {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    tx: Sender<Job>,
    rx: Receiver<Job>,
    opened_tx: Sender<Opened>,
    opened_rx: Receiver<Opened>,
    pairs: Vec<Option<Entry>>,
    /// Generation of each slot, so a stale timer of a freed slot is ignored.
    generation: Vec<u64>,
    free: Vec<usize>,
    spare: Vec<(OwnedFd, OwnedFd, usize)>,
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    /// Pairs that stopped at [`MOVES_PER_TURN`] with work left.
    again: Vec<usize>,
}

fn token(slot: usize, side: usize) -> Token {
    Token(BASE + slot * 2 + side)
}

impl Pairs {
    pub(crate) fn new() -> io::Result<Pairs> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = channel();
        let (opened_tx, opened_rx) = channel();
        Ok(Pairs {
            poll,
            events: Events::with_capacity(256),
            waker,
            tx,
            rx,
            opened_tx,
            opened_rx,
            pairs: Vec::new(),
            generation: Vec::new(),
            free: Vec::new(),
            spare: Vec::new(),
            timers: BinaryHeap::new(),
            again: Vec::new(),
        })
    }

    /// The epoll descriptor to watch for readability.
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.poll.as_raw_fd()
    }

    pub(crate) fn handle(&self) -> Handle {
        Handle {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
        }
    }

    /// When [`Pairs::turn`] is next due without an event: now when a pair has work left, else the
    /// earliest timer (possibly one that no longer matters).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if !self.again.is_empty() {
            return Some(Instant::now());
        }
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// A free slot.
    fn slot(&mut self) -> usize {
        match self.free.pop() {
            Some(s) => s,
            None => {
                self.pairs.push(None);
                self.generation.push(0);
                self.pairs.len() - 1
            }
        }
    }

    /// Starts relaying a pair.
    pub(crate) fn add(&mut self, job: Job) {
        let Job {
            client,
            target,
            labels,
            first,
            idle,
            done,
        } = job;
        if let Err(e) = client.set_nonblocking(true) {
            return done(Err(anyhow!(e).context("set O_NONBLOCK")), &client);
        }
        let slot = self.slot();
        if let Err(e) = self.poll.registry().register(
            &mut SourceFd(&client.as_raw_fd()),
            token(slot, 0),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.free.push(slot);
            return done(Err(anyhow!(e).context("epoll")), &client);
        }
        self.start_pair(
            slot,
            client,
            target,
            labels,
            [Vec::new(), first],
            None,
            idle,
            done,
        );
    }

    /// Starts relaying `client` (registered in `slot` already) with `target`.
    #[allow(clippy::too_many_arguments)]
    fn start_pair(
        &mut self,
        slot: usize,
        client: Socket,
        target: Target,
        labels: [Arc<str>; 2],
        first: [Vec<u8>; 2],
        hook: Option<Box<dyn Front>>,
        idle: Option<Duration>,
        done: Done,
    ) {
        let (target, connecting) = match target {
            Target::Connected(sock) => (sock, None),
            Target::Connecting {
                sock,
                addr,
                deadline,
                timeout,
                what,
                nodelay,
                keepalive,
            } => (
                sock,
                Some(Connecting {
                    addr,
                    deadline,
                    timeout,
                    what,
                    nodelay,
                    keepalive,
                }),
            ),
        };
        // A connecting target is non-blocking already.
        let registered = (if connecting.is_some() {
            Ok(())
        } else {
            target.set_nonblocking(true)
        })
        .map_err(|e| anyhow!(e).context("set O_NONBLOCK"))
        .and_then(|()| {
            self.poll
                .registry()
                .register(
                    &mut SourceFd(&target.as_raw_fd()),
                    token(slot, 1),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|e| anyhow!(e).context("epoll"))
        });
        if let Err(e) = registered {
            let _ = self
                .poll
                .registry()
                .deregister(&mut SourceFd(&client.as_raw_fd()));
            self.generation[slot] += 1;
            self.free.push(slot);
            return done(Err(e), &client);
        }
        let now = Instant::now();
        let connect_deadline = connecting.as_ref().and_then(|c| c.deadline);
        let pair = Pair {
            socks: [client, target],
            labels,
            // Edge-triggered: assume ready until a call says otherwise.
            readable: [true, connecting.is_none()],
            writable: [true, connecting.is_none()],
            dirs: [Dir::default(), Dir::default()],
            connecting,
            first,
            hook,
            up_error: None,
            client_gone: false,
            idle,
            last: now,
            unsent: [0, 0],
            done: Some(done),
        };
        self.pairs[slot] = Some(Entry::Pair(Box::new(pair)));
        let epoch = self.generation[slot];
        if let Some(t) = connect_deadline {
            self.timers.push(Reverse((t, slot, epoch)));
        }
        if let Some(idle) = idle {
            self.timers.push(Reverse((now + idle, slot, epoch)));
        }
        self.step(slot);
    }

    /// Starts `client`'s handshake with `front`, within `deadline`; then its pair is relayed.
    pub(crate) fn greet(
        &mut self,
        client: Socket,
        front: Box<dyn Front>,
        deadline: Instant,
        idle: Option<Duration>,
        done: Done,
    ) {
        if let Err(e) = client.set_nonblocking(true) {
            return done(Err(anyhow!(e).context("set O_NONBLOCK")), &client);
        }
        let slot = self.slot();
        if let Err(e) = self.poll.registry().register(
            &mut SourceFd(&client.as_raw_fd()),
            token(slot, 0),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.free.push(slot);
            return done(Err(anyhow!(e).context("epoll")), &client);
        }
        self.pairs[slot] = Some(Entry::Greeting(Greeting {
            client,
            input: Vec::new(),
            eof: false,
            out: Vec::new(),
            sent: 0,
            front: Some(front),
            done: Some(done),
            idle,
            deadline,
            opening: false,
        }));
        let epoch = self.generation[slot];
        self.timers.push(Reverse((deadline, slot, epoch)));
        self.greeting(slot);
    }

    /// Reads what a greeting client sent and lets its front answer.
    fn greeting(&mut self, slot: usize) {
        let Some(Some(Entry::Greeting(g))) = self.pairs.get_mut(slot) else {
            return;
        };
        if g.opening {
            return;
        }
        let before = (g.input.len(), g.eof);
        let mut failed = None;
        while !g.eof && g.input.len() <= MAX_GREETING {
            let at = g.input.len();
            g.input.resize(at + 4096, 0);
            match (&g.client).read(&mut g.input[at..]) {
                Ok(0) => {
                    g.input.truncate(at);
                    g.eof = true;
                }
                Ok(n) => g.input.truncate(at + n),
                Err(e) => {
                    g.input.truncate(at);
                    match e.kind() {
                        io::ErrorKind::WouldBlock => break,
                        io::ErrorKind::Interrupted => {}
                        _ => {
                            failed = Some(recv_error(e).context("client"));
                            break;
                        }
                    }
                }
            }
        }
        if let Some(e) = failed {
            return self.end(slot, Err(e));
        }
        let greet = if (g.input.len(), g.eof) != before || (before.0 == 0 && g.sent == 0) {
            g.out.clear();
            match &mut g.front {
                Some(front) => front.input(&g.input, g.eof, &mut g.out),
                None => Greet::More,
            }
        } else {
            Greet::More
        };
        if let Err(e) = g.flush() {
            return self.end(slot, Err(e));
        }
        match greet {
            Greet::More if g.eof => {
                let e = anyhow!("the client closed the connection mid-handshake");
                self.end(slot, Err(e))
            }
            Greet::More => {}
            Greet::Fail(e) => self.end(slot, Err(e)),
            Greet::Connect(target) => self.greeted(slot, Ok(target)),
            Greet::Open(open) => {
                g.opening = true;
                let (tx, waker) = (self.opened_tx.clone(), self.waker.clone());
                let epoch = self.generation[slot];
                let spawned = std::thread::Builder::new().spawn(move || {
                    let result = open();
                    let _ = tx.send(Opened {
                        slot,
                        epoch,
                        result,
                    });
                    let _ = waker.wake();
                });
                if let Err(e) = spawned {
                    self.greeted(slot, Err(anyhow!(e).context("start a thread")));
                }
            }
        }
    }

    /// The destination of a greeting client is connected (or connecting), or could not be opened.
    fn greeted(&mut self, slot: usize, target: Result<Target>) {
        let Some(Some(Entry::Greeting(g))) = self.pairs.get_mut(slot) else {
            return;
        };
        let (Some(mut front), Some(done)) = (g.front.take(), g.done.take()) else {
            return;
        };
        let idle = g.idle;
        let target = match target {
            Ok(t) => t,
            Err(e) => {
                let (reply, result) = front.connected(Err(e));
                g.out.extend_from_slice(&reply);
                let _ = g.flush();
                g.done = Some(done);
                let e = result.err().unwrap_or_else(|| anyhow!("no destination"));
                return self.end(slot, Err(e));
            }
        };
        let Some(Entry::Greeting(g)) = self.pairs[slot].take() else {
            return;
        };
        let labels: [Arc<str>; 2] = ["client".into(), "destination".into()];
        match target {
            Target::Connected(sock) => {
                // Opened on a thread: the front answers now.
                let (reply, result) = front.connected(Ok(&sock));
                match result {
                    Ok((first, label)) => self.start_pair(
                        slot,
                        g.client,
                        Target::Connected(sock),
                        ["client".into(), label],
                        [reply, first],
                        None,
                        idle,
                        done,
                    ),
                    Err(e) => {
                        let mut g = g;
                        g.out.extend_from_slice(&reply);
                        let _ = g.flush();
                        g.done = Some(done);
                        self.pairs[slot] = Some(Entry::Greeting(g));
                        self.end(slot, Err(e));
                    }
                }
            }
            connecting => self.start_pair(
                slot,
                g.client,
                connecting,
                labels,
                [Vec::new(), Vec::new()],
                Some(front),
                idle,
                done,
            ),
        }
    }

    /// Handles what is ready: handed-over jobs, socket events, pairs with work left, due timers.
    pub(crate) fn turn(&mut self) {
        loop {
            if let Err(e) = self.poll.poll(&mut self.events, Some(Duration::ZERO))
                && e.kind() != io::ErrorKind::Interrupted
            {
                return;
            }
            let mut n = 0;
            let mut woken = false;
            let ready: Vec<(usize, usize, bool, bool)> = self
                .events
                .iter()
                .filter_map(|ev| {
                    n += 1;
                    if ev.token() == WAKER {
                        woken = true;
                        return None;
                    }
                    let t = ev.token().0 - BASE;
                    let err = ev.is_error();
                    Some((
                        t / 2,
                        t % 2,
                        ev.is_readable() || ev.is_read_closed() || err,
                        ev.is_writable() || ev.is_write_closed() || err,
                    ))
                })
                .collect();
            if woken {
                while let Ok(job) = self.rx.try_recv() {
                    self.add(job);
                }
                while let Ok(opened) = self.opened_rx.try_recv() {
                    if self.generation.get(opened.slot) == Some(&opened.epoch) {
                        let target = opened.result.map(Target::Connected);
                        self.greeted(opened.slot, target);
                    }
                }
            }
            for (slot, side, r, w) in ready {
                match self.pairs.get_mut(slot).and_then(Option::as_mut) {
                    Some(Entry::Pair(p)) => {
                        p.readable[side] |= r;
                        p.writable[side] |= w;
                        self.step(slot);
                    }
                    Some(Entry::Greeting(_)) => self.greeting(slot),
                    None => {}
                }
            }
            if n < self.events.capacity() {
                break;
            }
        }
        for slot in std::mem::take(&mut self.again) {
            self.step(slot);
        }
        self.timers();
    }

    fn timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((t, slot, epoch))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            if self.generation.get(slot) != Some(&epoch) {
                continue;
            }
            let p = match self.pairs.get_mut(slot).and_then(Option::as_mut) {
                Some(Entry::Pair(p)) => p,
                Some(Entry::Greeting(g)) => {
                    if g.deadline <= now
                        && let Some(front) = &g.front
                    {
                        let e = front.timed_out();
                        self.end(slot, Err(e));
                    }
                    continue;
                }
                None => continue,
            };
            if let Some(c) = &p.connecting {
                if c.deadline.is_some_and(|d| d <= now) {
                    let err = exit::timeout(format!(
                        "connect {}: timed out after {}",
                        display(&c.addr),
                        humantime::format_duration(c.timeout.unwrap_or_default())
                    ));
                    let end = p.connect_failed(err.context(c.what.clone()));
                    self.end(slot, end);
                }
                continue;
            }
            let Some(limit) = p.idle else { continue };
            // Bytes that left a send queue reached the peer: that is traffic too.
            for side in 0..2 {
                let q = sys::unsent(p.socks[side].as_fd()).unwrap_or(0);
                if q != p.unsent[side] {
                    p.unsent[side] = q;
                    p.last = now;
                }
            }
            let due = p.last + limit;
            if due <= now {
                let err = exit::timeout(format!(
                    "idle timeout: no data for {}",
                    humantime::format_duration(limit)
                ));
                self.end(slot, Err(err));
            } else {
                // Look again soon enough to see a send queue drain within the limit.
                let next = due.min(now + limit / 4);
                self.timers.push(Reverse((next, slot, epoch)));
            }
        }
    }

    /// Moves what can move in `slot`'s pair and applies the end-of-stream rules.
    fn step(&mut self, slot: usize) {
        let outcome = {
            let Some(Some(Entry::Pair(p))) = self.pairs.get_mut(slot) else {
                return;
            };
            let mut more = false;
            let outcome = p.step(&mut self.spare, &mut more);
            if more && matches!(outcome, Outcome::Go) {
                self.again.push(slot);
            }
            outcome
        };
        if let Outcome::End(result) = outcome {
            self.end(slot, result);
        }
    }

    /// Ends a pair: deregistered, its owner told, its sockets closed, its pipes kept if clean.
    fn end(&mut self, slot: usize, result: Result<()>) {
        let Some(entry) = self.pairs.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.generation[slot] += 1;
        self.free.push(slot);
        let mut p = match entry {
            Entry::Pair(p) => p,
            Entry::Greeting(mut g) => {
                let _ = self
                    .poll
                    .registry()
                    .deregister(&mut SourceFd(&g.client.as_raw_fd()));
                if let Some(done) = g.done.take() {
                    done(result, &g.client);
                }
                return;
            }
        };
        // Out of the epoll set now: a copy of a descriptor elsewhere (a client's thread that handed the
        // pair over) would keep it there past its close.
        for s in &p.socks {
            let _ = self
                .poll
                .registry()
                .deregister(&mut SourceFd(&s.as_raw_fd()));
        }
        if let Some(done) = p.done.take() {
            done(result, &p.socks[0]);
        }
        for d in &mut p.dirs {
            if d.in_pipe == 0
                && let Some(pipe) = d.pipe.take()
                && self.spare.len() < SPARE_PIPES
            {
                self.spare.push(pipe);
            }
        }
    }
}

impl Pair {
    fn step(&mut self, spare: &mut Vec<(OwnedFd, OwnedFd, usize)>, more: &mut bool) -> Outcome {
        if let Some(c) = &self.connecting {
            // A client that reset while its target is still connecting: nothing to wait for (a
            // target that drops SYNs would hold the pair and its --max-conns place for minutes).
            // A FIN is no reason: what it sent before goes to the target once connected.
            if self.readable[0] {
                match self.socks[0].take_error() {
                    Ok(None) => {}
                    Ok(Some(e)) | Err(e) => {
                        let label = self.labels[0].to_string();
                        return Outcome::End(Err(recv_error(e).context(label)));
                    }
                }
            }
            if !self.writable[1] {
                return Outcome::Go;
            }
            let sock = &self.socks[1];
            let failed = match sock.take_error() {
                Ok(Some(e)) | Err(e) => Some(e),
                Ok(None) => match sock.peer_addr() {
                    Ok(_) => None,
                    // Not connected yet (a spurious wakeup): wait for the next.
                    Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                        self.writable[1] = false;
                        return Outcome::Go;
                    }
                    Err(e) => Some(e),
                },
            };
            if let Some(e) = failed {
                let e = anyhow::Error::new(e)
                    .context(format!("connect {}", display(&c.addr)))
                    .context(c.what.clone());
                return Outcome::End(self.connect_failed(e));
            }
            if c.nodelay {
                let _ = sock.set_tcp_nodelay(true);
            }
            if c.keepalive {
                let _ = sock.set_keepalive(true);
            }
            self.connecting = None;
            self.readable[1] = true;
            if let Some(mut front) = self.hook.take() {
                let (reply, result) = front.connected(Ok(&self.socks[1]));
                match result {
                    Ok((first, label)) => {
                        self.first = [reply, first];
                        self.labels[1] = label;
                    }
                    Err(e) => {
                        let _ = (&self.socks[0]).send_first(&reply);
                        return Outcome::End(Err(e));
                    }
                }
            }
        }
        for d in 0..2 {
            if self.dirs[d].done {
                continue;
            }
            match self.move_dir(d, spare, more) {
                Ok(false) => {}
                Ok(true) => {
                    self.dirs[d].done = true;
                    if let Some(end) = self.ended(d, Ok(())) {
                        return Outcome::End(end);
                    }
                }
                Err(e) => {
                    self.dirs[d].done = true;
                    if let Some(end) = self.ended(d, Err(e)) {
                        return Outcome::End(end);
                    }
                }
            }
        }
        Outcome::Go
    }

    /// The target could not be connected: the error that ends the pair (the front's, which answers
    /// the client first, if there is one).
    fn connect_failed(&mut self, e: anyhow::Error) -> Result<()> {
        match self.hook.take() {
            Some(mut front) => {
                let (reply, result) = front.connected(Err(e));
                let _ = (&self.socks[0]).send_first(&reply);
                Err(result.err().unwrap_or_else(|| anyhow!("no destination")))
            }
            None => Err(e),
        }
    }

    /// The end-of-stream rules, told that direction `d` ended with `result`.
    fn ended(&mut self, d: usize, result: Result<()>) -> Option<Result<()>> {
        let other_done = self.dirs[1 - d].done;
        match (d, result) {
            (_, Ok(())) => {
                // A FIN to the destination side: its reader sees EOF while the other way goes on.
                let _ = self.socks[1 - d].shutdown(Shutdown::Write);
                if d == 1
                    && let Some(e) = self.up_error.take()
                {
                    return Some(Err(e));
                }
                other_done.then_some(Ok(()))
            }
            // Deliver whatever the target sends before reporting the client side's failure, unless
            // the client itself is gone (a reset): then the target would wait for ever.
            (0, Err(e)) if !other_done && !self.client_gone => {
                self.up_error = Some(e);
                None
            }
            (_, Err(e)) => Some(Err(self.up_error.take().unwrap_or(e))),
        }
    }

    /// Moves direction `d` as far as it goes now: Ok(true) when it is over (EOF and the pipe empty).
    fn move_dir(
        &mut self,
        d: usize,
        spare: &mut Vec<(OwnedFd, OwnedFd, usize)>,
        more: &mut bool,
    ) -> Result<bool> {
        let (src, dst) = (d, 1 - d);
        if dst == 1 && self.connecting.is_some() {
            return Ok(false);
        }
        for _ in 0..MOVES_PER_TURN {
            let mut moved = false;
            // The bytes that go first to that side.
            if !self.first[dst].is_empty() {
                if !self.writable[dst] {
                    return Ok(false);
                }
                match (&self.socks[dst]).send_first(&self.first[dst]) {
                    Ok(n) => {
                        self.first[dst].drain(..n);
                        self.last = Instant::now();
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable[dst] = false;
                        return Ok(false);
                    }
                    Err(e) => return Err(self.write_error(dst, e)),
                }
                continue;
            }
            let dir = &mut self.dirs[d];
            if !dir.eof && !dir.bulk && self.readable[src] {
                let mut buf = [0u8; COPY_BUF];
                match (&self.socks[src]).read(&mut buf) {
                    Ok(0) => dir.eof = true,
                    Ok(n) => {
                        // Sent as the side's first bytes, at the top of the next round.
                        self.first[dst].extend_from_slice(&buf[..n]);
                        dir.bulk = n == COPY_BUF;
                        moved = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.readable[src] = false;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => moved = true,
                    Err(e) => {
                        let label = self.labels[src].to_string();
                        return Err(recv_error(e).context(label));
                    }
                }
            } else if !dir.eof && self.readable[src] {
                let (_, w, cap) = match &mut dir.pipe {
                    Some(p) => p,
                    pipe => pipe.insert(match spare.pop() {
                        Some(p) => p,
                        None => new_pipe()?,
                    }),
                };
                if dir.in_pipe < *cap {
                    match sys::splice_nonblock(
                        self.socks[src].as_fd(),
                        w.as_fd(),
                        *cap - dir.in_pipe,
                    ) {
                        Ok(0) => dir.eof = true,
                        Ok(n) => {
                            dir.in_pipe += n;
                            moved = true;
                        }
                        // An empty socket, or (with bytes in it) a pipe whose slots are all taken.
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            if dir.in_pipe == 0 {
                                self.readable[src] = false;
                            }
                        }
                        Err(e) => {
                            self.client_gone |= src == 0;
                            let label = self.labels[src].to_string();
                            return Err(recv_error(e).context(label));
                        }
                    }
                }
            }
            let dir = &mut self.dirs[d];
            if dir.in_pipe > 0
                && self.writable[dst]
                && let Some((r, _, _)) = &dir.pipe
            {
                match sys::splice_nonblock(r.as_fd(), self.socks[dst].as_fd(), dir.in_pipe) {
                    Ok(n) => {
                        dir.in_pipe -= n;
                        moved |= n > 0;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable[dst] = false;
                    }
                    Err(e) => return Err(self.write_error(dst, e)),
                }
            }
            let dir = &self.dirs[d];
            if dir.eof && dir.in_pipe == 0 && self.first[dst].is_empty() {
                return Ok(true);
            }
            if !moved {
                return Ok(false);
            }
            self.last = Instant::now();
        }
        *more = true;
        Ok(false)
    }

    fn write_error(&self, side: usize, e: io::Error) -> anyhow::Error {
        send_error(e).context(self.labels[side].to_string())
    }
}

impl Greeting {
    /// Sends the client what its front wrote and it has not had yet.
    fn flush(&mut self) -> Result<()> {
        while self.sent < self.out.len() {
            match (&self.client).send_first(&self.out[self.sent..]) {
                Ok(n) => self.sent += n,
                // The rest goes at the next turn (a client that does not read its answers).
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(send_error(e).context("client")),
            }
        }
        Ok(())
    }
}

/// A private pipe as large as allowed: (read end, write end, capacity).
fn new_pipe() -> Result<(OwnedFd, OwnedFd, usize)> {
    let (r, w) = sys::pipe().map_err(|e| anyhow!(e).context("pipe"))?;
    let cap = sys::set_pipe_size(w.as_fd(), PIPE_SIZE)
        .or_else(|_| sys::pipe_size(w.as_fd()))
        .unwrap_or(64 * 1024);
    Ok((r, w, cap))
}

/// A non-blocking send of the first bytes (never SIGPIPE).
trait SendFirst {
    fn send_first(self, buf: &[u8]) -> io::Result<usize>;
}

impl SendFirst for &Socket {
    fn send_first(self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.send_with_flags(buf, libc::MSG_NOSIGNAL) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}
