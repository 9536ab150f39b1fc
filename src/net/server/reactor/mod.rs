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

use crate::net::events::{CloseReason, RefuseReason};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::{SockAddr, Socket};

use crate::exit;
use crate::net::server::conn::{Close, Conn, Kind};
use crate::net::server::exec;
use crate::net::server::hub::{Fed, OutputSink, StdinFeed};
use crate::net::server::relayed;
use crate::net::server::{Mode, ServeConfig};
use crate::net::socket::describe_sockaddr;
use crate::net::stream::hexdump::Hexdump;
use crate::net::stream::relay::relay;
use crate::stdio::{Input, Output};

mod children;
mod streams;
mod time;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
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

/// Why a client was turned away.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refuse {
    Deny,
    Busy,
    MaxConns(usize),
}

/// Bytes received and bytes acknowledged on a TCP socket (TCP_INFO), (0, 0) for other sockets. The
/// kernel counts a FIN as one byte each way; the state says whether one is in the counts.
fn tcp_bytes(sock: &Socket) -> (u64, u64) {
    use std::os::fd::AsFd;
    let Ok(i) = crate::sys::sockopt::tcp_info(sock.as_fd()) else {
        return (0, 0);
    };
    // CLOSE_WAIT, LAST_ACK, CLOSING, TIME_WAIT, CLOSE: the peer's FIN came; FIN_WAIT2, TIME_WAIT,
    // CLOSE: ours was acked. (CLOSE after a reset may count one byte too few.)
    let fin_in = matches!(i.tcpi_state, 8 | 9 | 11 | 6 | 7);
    let fin_out = matches!(i.tcpi_state, 5..=7);
    (
        i.tcpi_bytes_received.saturating_sub(u64::from(fin_in)),
        i.tcpi_bytes_acked.saturating_sub(u64::from(fin_out)),
    )
}

impl Refuse {
    /// The `refuse` event's reason (a one-client listen that is busy counts as max-conns: 1).
    fn event(self) -> RefuseReason {
        match self {
            Refuse::Deny => RefuseReason::Deny,
            Refuse::Busy | Refuse::MaxConns(_) => RefuseReason::MaxConns,
        }
    }

    /// The event reason: `deny`, `busy`, `max-conns`.
    #[allow(dead_code)] // the --events writer's
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Refuse::Deny => "deny",
            Refuse::Busy => "busy",
            Refuse::MaxConns(_) => "max-conns",
        }
    }
}

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
            dump: (cfg.relay.hexdump && !single_relay).then(Hexdump::new),
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
            held: None,
            stdin_over: false,
            sink: None,
            out_full: false,
            scratch: vec![0u8; READ_CHUNK],
            ready: Vec::new(),
            next_tick: None,
            done: None,
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
                match ev.token() {
                    LISTENER => self.accept_all(),
                    WAKER => self.woken(),
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

    // ---- accepting ----

    fn accept_all(&mut self) {
        self.accept_retry = None;
        while self.done.is_none() {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((sock, peer)) => self.accepted(sock, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // A client that left before we took it, or a signal: the next one.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                    ) =>
                {
                    // Out of descriptors: the client waits in the backlog until one frees up.
                    let shown = &self.cfg.shown;
                    self.log(|| format!("accept on {shown}: {}", exit::describe_io(&e)));
                    self.accept_retry = Some(Instant::now() + ACCEPT_RETRY);
                    return;
                }
                Err(e) => {
                    let what = format!("accept on {}", self.cfg.shown);
                    self.finish(Err(anyhow!(e).context(what)));
                    return;
                }
            }
        }
    }

    fn accepted(&mut self, sock: Socket, peer: SockAddr) {
        let who = describe_sockaddr(&peer);
        if !self.cfg.acl.admits(peer.as_socket().map(|a| a.ip())) {
            return self.refuse(sock, &who, Refuse::Deny);
        }
        if !self.cfg.keep_open && self.accepted_any {
            return self.refuse(sock, &who, Refuse::Busy);
        }
        if let Some(limit) = self.cfg.max_conns
            && self.in_use.load(Ordering::SeqCst) >= limit
        {
            return self.refuse(sock, &who, Refuse::MaxConns(limit));
        }
        self.admit(sock, who);
    }

    /// Turns a client away with a reset (SO_LINGER 0), so it fails at once whatever it does next.
    fn refuse(&mut self, sock: Socket, who: &str, why: Refuse) {
        let _ = sock.set_linger(Some(Duration::ZERO));
        drop(sock);
        if let Some(ev) = &self.cfg.events {
            ev.refuse(who, why.event());
        }
        self.log(|| match why {
            Refuse::Deny => format!("refused {who}: not allowed"),
            Refuse::Busy => format!("refused {who}: busy with another client"),
            Refuse::MaxConns(limit) => format!("refused {who}: {limit} connections already"),
        });
    }

    /// A client is in: give it a slot and start serving it by the mode.
    fn admit(&mut self, sock: Socket, who: String) {
        self.accepted_any = true;
        self.first_deadline = None;
        let id = self.next_id;
        self.next_id += 1;
        self.log(|| format!("connection from {who}"));
        if let Some(ev) = &self.cfg.events {
            ev.open_session(id, &who);
        }
        if let Some((input, output)) = self.single.take() {
            // The one client of a plain `listen`: the stream relay, on a thread (stdin and stdout block).
            let cfg = self.cfg.relay.clone();
            let result = self.single_result.clone();
            let waker = self.waker.clone();
            let events = self
                .cfg
                .events
                .clone()
                .map(|ev| (ev, sock.try_clone().ok()));
            let tls = self.cfg.tls.clone().map(|t| (t, self.cfg.verbose, who));
            std::thread::spawn(move || {
                let r = match tls {
                    Some((tls, verbose, who)) => {
                        tls.serve_one(sock, input, output, &cfg, verbose, &who)
                    }
                    None => relay(sock, input, output, &cfg),
                };
                if let Some((ev, dup)) = events {
                    let (i, o) = dup.as_ref().map_or((0, 0), tcp_bytes);
                    ev.close_session(id, i, o, CloseReason::of(&r).as_str());
                }
                *result.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                let _ = waker.wake();
            });
            return;
        }
        self.in_use.fetch_add(1, Ordering::SeqCst);
        let blocking = match &self.mode {
            Mode::Forward(_) | Mode::ProxyServer(_) => true,
            // A TLS session blocks (its handshake, then rustls over the socket).
            _ if self.cfg.tls.is_some() => true,
            Mode::Exec(spec) => relayed::wanted(spec, &self.cfg.relay),
            _ => false,
        };
        if blocking {
            return self.start_blocking(sock, who, id);
        }
        if matches!(self.mode, Mode::Echo)
            && self.cfg.keep_open
            && self.inbox.is_none()
            && self.active >= SPREAD_AT
            && self.workers.is_empty()
            && let Err(e) = self.start_workers()
        {
            self.log(|| format!("{e:#}"));
        }
        if !self.workers.is_empty() && self.active >= SPREAD_AT {
            let worker = &self.workers[self.next_worker % self.workers.len()];
            self.next_worker = self.next_worker.wrapping_add(1);
            if worker.tx.send((sock, who, id)).is_ok() {
                let _ = worker.waker.wake();
            } else {
                self.in_use.fetch_sub(1, Ordering::SeqCst);
            }
            return;
        }
        self.start(sock, who, id);
    }

    /// `--forward`, `--proxy-server` and relayed programs: the client's handshake, the outgoing connect and
    /// the relay block, so each client is served on a thread of its own; its slot frees when the
    /// thread ends. Without `-k` (a relayed program) its result ends the server.
    fn start_blocking(&mut self, sock: Socket, who: String, id: u64) {
        let mode = self.mode.clone();
        let in_use = self.in_use.clone();
        let verbose = self.cfg.verbose;
        let (relay, single) = (self.cfg.relay.clone(), !self.cfg.keep_open);
        let (single_result, waker) = (self.single_result.clone(), self.waker.clone());
        let events = self.cfg.events.clone();
        let dup = events.as_ref().and_then(|_| sock.try_clone().ok());
        let tls = self.cfg.tls.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            let dest = |d: &str| {
                if let Some(ev) = &events {
                    ev.set_session_dest(id, d);
                }
            };
            let result = match &mode {
                Mode::Forward(fwd) => fwd.serve(sock, &dest, tls.as_ref()),
                Mode::ProxyServer(srv) => srv.serve(sock, &dest),
                Mode::Echo => match &tls {
                    Some(server) => server.echo(sock, relay.idle_timeout, verbose),
                    None => Ok(()),
                },
                Mode::Exec(spec) => match &tls {
                    Some(server) => relayed::serve_tls(spec, sock, &relay, server, verbose),
                    None => relayed::serve(spec, sock, &relay),
                },
                _ => Ok(()),
            };
            // A one-client server's failure is its error line at exit: not said twice.
            if let Err(e) = &result
                && verbose
                && !single
            {
                crate::diag!("{who}: {}", exit::render(e));
            }
            if let (Some(ev), Some(dup)) = (&events, &dup) {
                let (i, o) = tcp_bytes(dup);
                ev.close_session(id, i, o, CloseReason::of(&result).as_str());
            }
            in_use.fetch_sub(1, Ordering::SeqCst);
            if single {
                *single_result.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                let _ = waker.wake();
            }
        });
        if let Err(e) = spawned {
            self.in_use.fetch_sub(1, Ordering::SeqCst);
            self.log(|| format!("cannot start a thread for a client: {e}"));
        }
    }

    /// Serves an admitted client in this loop: registers it (and its child) for readiness.
    fn start(&mut self, sock: Socket, who: String, id: u64) {
        let kind = match &self.mode {
            Mode::Exec(spec) => {
                match exec::spawn(
                    spec,
                    &sock,
                    self.cfg.relay.send_only,
                    self.cfg.relay.recv_only,
                ) {
                    Ok(running) => Kind::Exec(running),
                    Err(e) => {
                        self.log(|| format!("{who}: {}", exit::render(&e)));
                        self.in_use.fetch_sub(1, Ordering::SeqCst);
                        if !self.cfg.keep_open {
                            self.finish(Err(e));
                        }
                        return;
                    }
                }
            }
            _ => {
                if let Err(e) = sock.set_nonblocking(true) {
                    self.log(|| format!("{who}: {e}"));
                    self.in_use.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
                Kind::Stream
            }
        };
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        let fd = sock.as_raw_fd();
        let mut conn = Conn::new(id, sock, who, kind);
        let registered = match &conn.kind {
            Kind::Exec(running) => match &running.pidfd {
                Some(pidfd) => self.poll.registry().register(
                    &mut SourceFd(&pidfd.as_raw_fd()),
                    child_token(slot),
                    Interest::READABLE,
                ),
                None => Ok(()),
            },
            _ => self.poll.registry().register(
                &mut SourceFd(&fd),
                sock_token(slot),
                Interest::READABLE | Interest::WRITABLE,
            ),
        };
        if let Err(e) = registered {
            let who = conn.who.clone();
            self.log(|| format!("{who}: epoll: {e}"));
            if let Kind::Exec(r) = &conn.kind {
                r.kill();
            }
            self.free.push(slot);
            self.in_use.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        if matches!(self.mode, Mode::Relay) && self.stdin_over && self.recipients_wanted() {
            // stdin is over: FIN at once (unless --no-shutdown).
            if !self.cfg.relay.no_shutdown {
                let _ = conn.sock.shutdown(std::net::Shutdown::Write);
                conn.fin_sent = true;
            }
        }
        conn.readable = false;
        self.conns[slot] = Some(conn);
        self.active += 1;
        self.arm_tick();
        if let Mode::Exec(_) = self.mode {
            // The child may have exited before its pidfd was registered: look now.
            self.child_event(slot);
        }
    }

    // ---- closing ----

    /// Ends a connection: deregisters and closes it, frees its slot, says why.
    fn close(&mut self, slot: usize, why: Close) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self
            .poll
            .registry()
            .deregister(&mut SourceFd(&conn.sock.as_raw_fd()));
        if let Kind::Exec(r) = &conn.kind
            && let Some(pidfd) = &r.pidfd
        {
            let _ = self
                .poll
                .registry()
                .deregister(&mut SourceFd(&pidfd.as_raw_fd()));
        }
        self.free.push(slot);
        self.active -= 1;
        self.in_use.fetch_sub(1, Ordering::SeqCst);
        // A one-client server's failure is its error line at exit: not said twice.
        let final_error =
            !self.cfg.keep_open && matches!(why, Close::Error(_) | Close::Reset | Close::Idle);
        if let Some(msg) = why.message()
            && !final_error
        {
            let who = &conn.who;
            self.log(|| format!("{who}: {msg}"));
        }
        if let Some(ev) = &self.cfg.events {
            // A child reads and writes the socket itself: its counts come from TCP_INFO.
            let (i, o) = match conn.kind {
                Kind::Stream => (conn.bytes_in, conn.bytes_out),
                _ => tcp_bytes(&conn.sock),
            };
            ev.close_session(conn.id, i, o, &why.reason());
        }
        drop(conn);
        if !self.cfg.keep_open {
            self.finish(match why {
                Close::Eof => Ok(()),
                Close::Reset => Err(anyhow!("connection reset by peer")),
                Close::Idle => Err(exit::timeout("idle timeout: closed")),
                Close::Behind(_) => Ok(()),
                Close::Error(e) => Err(e),
            });
        }
    }
}
