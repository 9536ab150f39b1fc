//! The server loop: one thread waits on epoll (through mio) for the listener, every client socket,
//! every `-e`/`-c` child (a pidfd), and a waker for the two blocking ends (stdin and the output, see
//! [`crate::net::server::hub`]). Sockets are non-blocking, each client's unsent bytes are a bounded
//! queue of shared chunks, so a client that does not read stalls only itself and is dropped once it is
//! [`QUEUE_CAP`] behind. The single-client relay (no `-k`) is the one blocking job: it runs the
//! stream relay on a thread while the loop goes on turning later clients away.
//!
//! Every connection passes through exactly three places: [`Loop::admit`] (accepted), [`Loop::refuse`]
//! (turned away, with a reason) and [`Loop::close`] (ended, with a reason and its byte counts); the
//! `-v` lines, and server events, are written there.
//!
//! Here: the loop's state and its turn. `accept.rs`: accepting, refusing, admitting; `slots.rs`: a
//! client of this loop taking and leaving a slot; `blocking.rs`: a client served on a thread of its
//! own; `handshakes.rs`: `-k --tls` clients' handshakes on the loop; `bridged.rs`: a `--tls` client of
//! `-k`/`--broker`/`--echo` bridged in; `streams.rs`: moving a client's
//! bytes; `children.rs`: `-e`/`-c` children; `time.rs`: timers.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::Socket;

use crate::exit;
use crate::net::server::conn::Conn;
use crate::net::server::hub::{Fed, OutputSink, StdinFeed};
use crate::net::server::{Mode, ServeConfig};
use crate::net::stream::hexdump::Hexdump;
use crate::stdio::{Input, Output};

mod accept;
mod blocking;
mod bridged;
mod children;
mod handshakes;
mod paired;
mod slots;
mod streams;
mod time;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// The first token of the pairs relayed on this loop ([`crate::net::server::pairs`]): their sockets
/// are in this loop's epoll set, above every token of its own.
const PAIRS_BASE: usize = usize::MAX / 2;
/// Tokens from here on: slot * 2 for a client's socket, slot * 2 + 1 for its child's pidfd.
const BASE: usize = 2;

fn sock_token(slot: usize) -> Token {
    Token(BASE + slot * 2)
}
fn child_token(slot: usize) -> Token {
    Token(BASE + slot * 2 + 1)
}

/// Bytes per read from a client: one buffer per loop, reused by every client (an idle client has
/// none).
const READ_CHUNK: usize = 256 * 1024;
/// Reads from one client per turn, so a fast client cannot starve the others.
const READS_PER_TURN: usize = 8;
/// How often a child without a pidfd is polled, and a lingering or ending child checked.
const CHILD_TICK: Duration = Duration::from_millis(50);
/// `-k --echo`: clients the accepting loop serves itself before it spreads new ones over workers
/// (so a few clients, or a stream of short ones, never pay for a hand-off between threads).
const SPREAD_AT: usize = 16;
/// Out of descriptors: try accepting again after this.
const ACCEPT_RETRY: Duration = Duration::from_millis(20);

pub(super) struct Loop {
    poll: Poll,
    waker: Arc<Waker>,
    /// None in a worker loop (it gets its clients from the accepting loop).
    listener: Option<Socket>,
    mode: Mode,
    cfg: ServeConfig,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Clients of this loop.
    active: usize,
    /// Clients of every loop (what `--max-conns` counts).
    in_use: Arc<AtomicUsize>,
    /// `-k --echo`: the loops that serve the clients this one accepts beyond [`SPREAD_AT`], started
    /// when first needed, and the next one's number.
    workers: Vec<Worker>,
    next_worker: usize,
    /// In a worker: where its clients come from.
    inbox: Option<Receiver<Handoff>>,
    next_id: u64,
    accepted_any: bool,
    first_deadline: Option<Instant>,
    accept_retry: Option<Instant>,
    /// The single-client relay's stdin and output, until its client comes; then its result.
    single: Option<(Option<Input>, Output)>,
    single_result: Arc<Mutex<Option<Result<()>>>>,
    /// stdin for `-k` / `--broker` clients, and a chunk of it read while no client could take it.
    feed: Option<StdinFeed>,
    /// `--forward`: the pairs relayed on this loop, once there is one.
    pairs: Option<crate::net::server::pairs::Pairs>,
    held: Option<Fed>,
    stdin_over: bool,
    sink: Option<OutputSink>,
    out_full: bool,
    dump: Option<Hexdump>,
    scratch: Vec<u8>,
    /// Slots whose socket has unread bytes (or an EOF) that the loop has not taken yet.
    ready: Vec<usize>,
    next_tick: Option<Instant>,
    done: Option<Result<()>>,
    /// `-k`, `--broker` and `--echo` with `--tls`: the loop's record of each bridged client by id
    /// ([`bridged`]).
    bridges: std::collections::HashMap<u64, bridged::Bridge>,
}

/// A client handed from the accepting loop to a worker: its socket, name and number.
type Handoff = (Socket, String, u64);

/// A loop serving `-k --echo` clients beside the accepting one.
struct Worker {
    tx: Sender<Handoff>,
    waker: Arc<Waker>,
}

/// How many more loops serve `-k --echo` clients once the accepting loop has [`SPREAD_AT`]: echo is
/// the one mode whose clients need nothing from each other, and its copying is the server's heaviest
/// work, so it is spread over loops, four per CPU (4 to 16): on a machine shared with other busy
/// processes a loop's share of the CPUs is a thread's share (200 echo clients of 1 MiB, 2 CPUs at
/// load 25: 864 MiB/s with a thread per client, ~250 with two loops, ~1100-1370 with eight).
fn echo_workers() -> usize {
    std::thread::available_parallelism().map_or(8, |n| (n.get() * 4).clamp(4, 16))
}

fn epoll(e: io::Error) -> anyhow::Error {
    anyhow!(e).context("epoll")
}

/// Serves clients on `listener` until the server's end (see [`crate::net::server::serve`]).
pub(super) fn run(listener: Socket, mode: Mode, cfg: ServeConfig, output: Output) -> Result<()> {
    listener
        .set_nonblocking(true)
        .map_err(|e| anyhow!(e).context("set the listener non-blocking"))?;
    let poll = Poll::new().map_err(epoll)?;
    poll.registry()
        .register(
            &mut SourceFd(&listener.as_raw_fd()),
            LISTENER,
            Interest::READABLE,
        )
        .map_err(epoll)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(epoll)?);
    let in_use = Arc::new(AtomicUsize::new(0));
    let single_relay = matches!(mode, Mode::Relay) && !cfg.keep_open;
    let hub = matches!(mode, Mode::Relay | Mode::Broker) && !single_relay;
    let mut single = None;
    let mut sink = None;
    let mut feed = None;
    if single_relay {
        let input = if cfg.relay.recv_only {
            None
        } else {
            Input::stdin()
        };
        single = Some((input, output));
    } else if hub {
        if !cfg.relay.send_only {
            sink = Some(OutputSink::start(output, waker.clone()));
        }
        if !cfg.relay.recv_only {
            let input = Input::stdin();
            feed = Some(StdinFeed::start(input, cfg.relay.crlf, waker.clone()));
        }
    }
    let mut lp = Loop::new(poll, waker, Some(listener), mode, cfg);
    lp.single = single;
    lp.feed = feed;
    lp.sink = sink;
    lp.in_use = in_use;
    lp.run()
}

fn until(deadline: Option<Instant>, now: Instant) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(now))
}

impl Loop {
    /// Starts the loops that share `-k --echo` clients with this one.
    fn start_workers(&mut self) -> Result<()> {
        for _ in 0..echo_workers() {
            let poll = Poll::new().map_err(epoll)?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(epoll)?);
            let (tx, rx) = channel();
            let (w, mode, cfg, in_use) = (
                waker.clone(),
                self.mode.clone(),
                self.cfg.clone(),
                self.in_use.clone(),
            );
            std::thread::Builder::new()
                .spawn(move || {
                    let mut lp = Loop::new(poll, w, None, mode, cfg);
                    lp.in_use = in_use;
                    lp.inbox = Some(rx);
                    lp.first_deadline = None;
                    if let Err(e) = lp.run() {
                        crate::diag!("sockcat: error: {}", exit::render(&e));
                    }
                })
                .map_err(|e| anyhow!(e).context("start a server thread"))?;
            self.workers.push(Worker { tx, waker });
        }
        Ok(())
    }

    fn new(
        poll: Poll,
        waker: Arc<Waker>,
        listener: Option<Socket>,
        mode: Mode,
        cfg: ServeConfig,
    ) -> Loop {
        let single_relay = matches!(mode, Mode::Relay) && !cfg.keep_open;
        Loop {
            first_deadline: cfg.first_timeout.map(|t| Instant::now() + t),
            dump: (cfg.relay.hexdump && !single_relay)
                .then(|| Hexdump::to(cfg.relay.hexdump_file.as_ref())),
            poll,
            waker,
            listener,
            mode,
            cfg,
            conns: Vec::new(),
            free: Vec::new(),
            active: 0,
            in_use: Arc::new(AtomicUsize::new(0)),
            workers: Vec::new(),
            next_worker: 0,
            inbox: None,
            next_id: 0,
            accepted_any: false,
            accept_retry: None,
            single: None,
            single_result: Arc::new(Mutex::new(None)),
            feed: None,
            pairs: None,
            held: None,
            stdin_over: false,
            sink: None,
            out_full: false,
            scratch: vec![0u8; READ_CHUNK],
            ready: Vec::new(),
            next_tick: None,
            done: None,
            bridges: std::collections::HashMap::new(),
        }
    }

    fn run(&mut self) -> Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            let busy = self.ready.iter().any(|&s| !self.paused(s));
            let timeout = if busy {
                Some(Duration::ZERO)
            } else {
                [
                    until(self.first_deadline, now),
                    until(self.accept_retry, now),
                    until(self.next_tick, now),
                    until(self.pairs.as_ref().and_then(|p| p.deadline()), now),
                ]
                .into_iter()
                .flatten()
                .min()
            };
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(anyhow!(e).context("epoll"));
            }
            for ev in events.iter() {
                if let Some(p) = &mut self.pairs
                    && p.owns(ev.token())
                {
                    p.event(ev);
                    continue;
                }
                match ev.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {
                        if let Some(p) = &mut self.pairs {
                            p.woken();
                        }
                        self.woken()
                    }
                    Token(t) => {
                        let slot = (t - BASE) / 2;
                        if (t - BASE) % 2 == 1 {
                            self.child_event(slot);
                        } else {
                            let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                            let writable = ev.is_writable() || ev.is_error();
                            self.sock_event(slot, readable, writable);
                        }
                    }
                }
            }
            self.settle_pairs();
            self.take_handshaken();
            self.serve_ready();
            self.timers();
            self.update_feed();
            if let Some(result) = self.done.take() {
                return result;
            }
        }
    }

    fn conn(&mut self, slot: usize) -> Option<&mut Conn> {
        self.conns.get_mut(slot).and_then(Option::as_mut)
    }

    fn log(&self, msg: impl FnOnce() -> String) {
        if self.cfg.verbose {
            crate::diag!("{}", msg());
        }
    }

    /// Ends the server (for one client: the end of its session).
    fn finish(&mut self, result: Result<()>) {
        if self.done.is_none() {
            self.done = Some(result);
        }
    }
}
