//! Socket pairs relayed on the server's own epoll loop: `--forward` and `--proxy-server` tunnels
//! without a thread per pair. Each direction moves client -> private pipe -> target (and back) with
//! non-blocking splice(2), so the bytes never enter user space, and a pair whose reader is slow
//! stalls only itself (its pipe fills, its source is no longer read).
//!
//! The pairs' sockets are registered in the server loop's own epoll set, under tokens from a base of
//! their own ([`Pairs::owns`]): the loop hands each of their events to [`Pairs::event`], then calls
//! [`Pairs::settle`] (pairs with work left, timers) once per turn, and at [`Pairs::deadline`]. One
//! epoll_wait per wakeup, where an epoll set of their own inside the loop's took two. Work handed over
//! from another thread (a pair whose handshake ran there) comes through a [`Handle`], which wakes the
//! loop with its waker; the loop then calls [`Pairs::woken`].
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
//!
//! A `--tls` client of any mode may come alone too, for its TLS handshake only ([`Pairs::accept_tls`]):
//! the loop runs it without a thread, and gives the client back once it is done
//! ([`Pairs::handshaken`]).
//!
//! Either side of a pair may be a TLS session ([`Pair::tls`]): a `--forward` or `--proxy-server`
//! client's, whose handshake ran on the loop ([`Job::tls`], [`Pairs::greet`]: its front reads and
//! answers plaintext), and a `--forward tls://` target's, whose handshake ran on the thread that
//! opened it ([`Target::Secured`]). The pair then copies both ways through rustls (decrypting what
//! a TLS side sends, encrypting what goes to it), with the same end-of-stream rules: a TLS side's
//! close_notify is a FIN to the other side, and a FIN to a TLS side is close_notify, then a FIN.
//!
//! Here: the types a caller hands over and the records of the loop; `engine.rs` the loop itself
//! (adding a pair, a turn, timers, ending a pair), `greeting.rs` a client still in its [`Front`]'s
//! handshake, `tls.rs` a client in its TLS handshake, `pair.rs` a pair's two directions and the
//! end-of-stream rules.

mod engine;
mod greeting;
mod pair;
mod tls;

pub(crate) use tls::{Handshaken, Who};

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use mio::{Registry, Token, Waker};
use socket2::Socket;

use crate::net::stream::tls::Looped;

/// The private pipe's size asked for (what one splice may move).
const PIPE_SIZE: usize = crate::net::stream::zerocopy::PIPE_SIZE;
/// Emptied pipes kept for the next pairs (a short pair then costs no pipe(2) or fcntl(2)).
const SPARE_PIPES: usize = 64;
/// The most a greeting client's bytes are kept (its front refuses more: a bounded handshake).
const MAX_GREETING: usize = 64 * 1024;
/// The buffer of a direction's reads until one fills it (then it is spliced).
const COPY_BUF: usize = 16 * 1024;
/// The most one splice takes from a socket into its pipe while the loop relays few pairs. The pipe
/// holds up to [`PIPE_SIZE`], but a splice that takes that much at once holds the socket while its
/// sender keeps delivering into it, and that delivery then costs the sender more: 1 GiB from
/// `sendfile` through `--forward` on loopback, 6 alternating runs, took 0.55-0.60 s (the sender
/// 0.50-0.57 kernel CPU-s) with no cap, 0.38-0.54 s (0.34-0.42) with this one; 16 and 64 KiB did no
/// better.
const SPLICE_IN: usize = 32 * 1024;
/// [`SPLICE_IN`] once the loop relays more than [`FEW_PAIRS`] at once: then every pair's sender is
/// slower than the loop, bytes wait in each socket, and a larger splice moves them in fewer calls.
/// 8 and 100 concurrent `sendfile` pairs through `--forward` (`cargo bench`, "100 concurrent
/// pairs"), aggregate MiB/s: 1435-1532 and 1327-1389 with 32 KiB, 1841-2124 and 2005-2123 with
/// this, 1846-1977 (8 pairs) with the whole pipe, 1402-1455 (100) with 64 KiB.
const SPLICE_IN_CROWD: usize = 256 * 1024;
/// See [`SPLICE_IN_CROWD`].
const FEW_PAIRS: usize = 2;

/// The most one splice takes from a socket when `live` clients are on the loop.
fn splice_in(live: usize) -> usize {
    if live > FEW_PAIRS {
        SPLICE_IN_CROWD
    } else {
        SPLICE_IN
    }
}

/// The most one read takes from a side of a TLS pair, and so about the most its queue for the other
/// side holds: 16 records at once (rustls itself reads 4 KiB a call). 1 GiB from `connect --tls`
/// through `-k --tls --forward`, 9 runs each, alternating: the forwarder spent 0.33-0.47 CPU-s with
/// this (a thread per session: 0.32-0.55), 0.50-0.55 with 64 KiB reads; the sender sets the rate
/// (1.4-1.7 GiB/s either way).
const TLS_READ: usize = 256 * 1024;
/// A TLS pair's queue: a read's worth, encrypted (22 bytes more per record of 16 KiB).
const QUEUE_CAP: usize = TLS_READ + TLS_READ / 512;
/// Emptied TLS queues kept for the next reads.
const SPARE_QUEUES: usize = 4;

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
    /// Opening the destination blocks (a name to resolve, a TLS handshake): done on a thread.
    Open(Box<dyn FnOnce() -> Result<Target> + Send>),
}

/// A pair as [`Pairs::add`] started it: its slot and the slot's generation then (a stale id names
/// no pair).
pub(crate) type PairId = (usize, u64);

/// How a pair ended, told to its owner with the client socket (still open: TCP_INFO can count it).
pub(crate) type Done = Box<dyn FnOnce(Result<()>, &Socket) + Send>;

/// The outgoing side of a pair.
pub(crate) enum Target {
    Connected(Socket),
    /// Connected, with a TLS session over it (a `--forward tls://` target, its handshake done on the
    /// thread that opened it).
    Secured(Socket, Box<Looped>),
    /// A non-blocking connect under way on `sock`.
    Connecting {
        sock: Socket,
        connect: Connecting,
    },
}

impl Target {
    /// The outgoing socket, whatever state it is in.
    fn sock(&self) -> &Socket {
        match self {
            Target::Connected(sock)
            | Target::Secured(sock, _)
            | Target::Connecting { sock, .. } => sock,
        }
    }
}

/// One pair to relay.
pub(crate) struct Job {
    pub client: Socket,
    /// The client's TLS session, established on this loop (`-k --tls --forward`): its bytes are
    /// decrypted and encrypted here, copied rather than spliced.
    pub tls: Option<Box<Looped>>,
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

/// A pair's client: its socket, and its TLS session if the loop runs one on it.
pub(super) struct Side {
    pub sock: Socket,
    pub tls: Option<Box<Looped>>,
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
    /// Each side's TLS session: the client's (see [`Job::tls`]), the target's ([`Target::Secured`]).
    tls: [Option<Box<Looped>>; 2],
    labels: [Arc<str>; 2],
    readable: [bool; 2],
    writable: [bool; 2],
    /// An event of that side said its peer closed (or an error): a short read is then no sign that
    /// the socket is drained (see [`Pair::step`]).
    closed: [bool; 2],
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
    /// The client's TLS session (`--proxy-server --tls`): `input` and `out` are its plaintext.
    tls: Option<Box<Looped>>,
    /// Under TLS, the records of `out` not yet sent.
    cipher: Vec<u8>,
    input: Vec<u8>,
    eof: bool,
    out: Vec<u8>,
    /// How much of `out` was sent (under TLS: encrypted into `cipher`).
    sent: usize,
    front: Option<Box<dyn Front>>,
    done: Option<Done>,
    idle: Option<Duration>,
    deadline: Instant,
    /// A thread is opening the destination.
    opening: bool,
    /// The client's last read found nothing more waiting (and no event came since): its pair starts
    /// with the client known drained, so nothing reads it before its next event.
    drained: bool,
    /// An event said the client closed (or an error): a short read is then no sign it is drained.
    closed: bool,
}

enum Entry {
    Pair(Box<Pair>),
    Greeting(Greeting),
    Tls(Box<tls::Handshaking>),
}

/// A destination opened on a thread, for the greeting in `slot` (of `epoch`).
struct Opened {
    slot: usize,
    epoch: u64,
    result: Result<Target>,
}

/// A connect under way to `addr`; `what` names it in the error (`forward to X`).
pub(crate) struct Connecting {
    pub addr: SocketAddr,
    pub deadline: Option<Instant>,
    pub timeout: Option<Duration>,
    pub what: String,
    /// TCP_NODELAY and SO_KEEPALIVE once connected.
    pub nodelay: bool,
    pub keepalive: bool,
}

/// What a pair's step decided.
enum Outcome {
    Go,
    End(Result<()>),
}

pub(crate) struct Pairs {
    /// The server loop's epoll set.
    registry: Registry,
    /// The first token of the pairs' sockets (the loop's own are below it).
    base: usize,
    /// The server loop's waker, for a [`Handle`].
    waker: Arc<Waker>,
    tx: Sender<Job>,
    rx: Receiver<Job>,
    opened_tx: Sender<Opened>,
    opened_rx: Receiver<Opened>,
    pairs: Vec<Option<Entry>>,
    /// Generation of each slot, so a stale timer of a freed slot is ignored.
    generation: Vec<u64>,
    free: Vec<usize>,
    spares: Spares,
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    /// Pairs that stopped at [`MOVES_PER_TURN`] with work left.
    again: Vec<usize>,
    /// TLS clients whose handshake on the loop ended, for the server loop ([`Pairs::handshaken`]).
    tls_ended: Vec<Handshaken>,
}

/// What the pairs share and reuse: emptied pipes, TLS pairs' emptied queues, and the buffer a TLS
/// pair's reads land in.
#[derive(Default)]
struct Spares {
    pipes: Vec<(OwnedFd, OwnedFd, usize)>,
    /// Queues of [`QUEUE_CAP`] bytes that a TLS pair emptied: a busy pair takes one back at its next
    /// read instead of allocating (256 KiB from malloc is a fresh mapping, faulted in page by page),
    /// and an idle one holds none.
    queues: Vec<Vec<u8>>,
    /// [`TLS_READ`] bytes (made at the first TLS read, see [`Spares::scratch`]): ciphertext before
    /// rustls decrypts it, plaintext before rustls encrypts it.
    scratch: Vec<u8>,
}

impl Spares {
    /// Where a TLS read lands: [`TLS_READ`] bytes, made on first use (a loop without TLS clients
    /// has none, and one whose pairs all ended gives it back).
    fn scratch(&mut self) -> &mut [u8] {
        if self.scratch.is_empty() {
            self.scratch = vec![0; TLS_READ];
        }
        &mut self.scratch
    }

    /// An empty queue for a TLS pair's side, room for a read's worth of bytes (with records'
    /// overhead).
    fn queue(&mut self) -> Vec<u8> {
        self.queues
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(QUEUE_CAP))
    }

    /// Keeps an emptied queue for the next pair's read, a few of them at most.
    fn give_back(&mut self, mut queue: Vec<u8>) {
        if self.queues.len() < SPARE_QUEUES && queue.capacity() >= QUEUE_CAP {
            queue.clear();
            self.queues.push(queue);
        }
    }
}

fn token(base: usize, slot: usize, side: usize) -> Token {
    Token(base + slot * 2 + side)
}
