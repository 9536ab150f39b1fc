//! `udp-recv [ADDR] PORT --forward HOST:PORT`: a UDP relay with a session per client address.
//!
//! The first datagram from a client address opens its session: a UDP socket of its own, connected to
//! the target, so the target sees one source port per client and its replies come back on that
//! socket alone. Replies go back to that client from the listening port (the address the client sent
//! to). A session ends after `--session-idle` without traffic either way; `--max-sessions` caps how
//! many are open (datagrams from a new source beyond the cap are dropped and counted).
//!
//! One mio (epoll) loop serves the listening socket and every session socket; datagrams move in
//! batches both ways (recvmmsg in, sendmmsg with UDP GSO out). A target that is not there (an ICMP
//! port-unreachable, "connection refused" on the session's connected socket) costs the datagrams
//! sent to it, never the relay: the session stays, and a target that comes up later gets the next
//! datagrams.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use mio::unix::SourceFd;
use mio::{Interest, Poll, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::exit;
use crate::net::addr::{Family, HostPort, display, resolve};
use crate::net::events::{CloseReason, Events, RefuseReason, Session as EventSession};
use crate::sys::mmsg::{self, Dest, RecvBatch};

use super::{Counter, Received, UdpReceiver, idle_expired};

/// How a forwarder runs (from udp-recv's options).
#[derive(Debug, Clone)]
pub(crate) struct ForwardOpts {
    /// `--forward HOST:PORT`.
    pub target: HostPort,
    pub family: Family,
    /// `--session-idle`.
    pub idle: Duration,
    /// `--max-sessions`.
    pub max_sessions: usize,
    /// `-w`: end when no datagram came from any client for this long.
    pub timeout: Option<Duration>,
    pub verbose: u8,
}

/// What the forwarder moved, for `--stats`.
#[derive(Debug, Default)]
pub(crate) struct ForwardStats {
    /// Datagrams sent on to the target.
    pub forwarded: Counter,
    /// Replies sent back to clients.
    pub replied: Counter,
    /// Datagrams from new sources dropped at `--max-sessions`.
    pub dropped: u64,
    /// Datagrams from new sources dropped because no session socket could be made (descriptors).
    pub no_socket: u64,
    /// Datagrams the target refused (ICMP port-unreachable) or the system could not send.
    pub lost: u64,
    /// Sessions opened in all.
    pub sessions: u64,
}

impl ForwardStats {
    /// `forwarded 10 datagrams, ... ; replied ...; 2 sessions, 0 dropped at --max-sessions, 0 lost`.
    pub(crate) fn summary(&self) -> Vec<String> {
        let no_socket = match self.no_socket {
            0 => String::new(),
            n => format!(", {n} for want of a socket"),
        };
        vec![
            self.forwarded.summary("forwarded"),
            self.replied.summary("replied"),
            format!(
                "{} session{}, {} datagram{} dropped at --max-sessions{no_socket}, {} lost to the target",
                self.sessions,
                if self.sessions == 1 { "" } else { "s" },
                self.dropped,
                if self.dropped == 1 { "" } else { "s" },
                self.lost
            ),
        ]
    }
}

/// Parses `--forward HOST:PORT` (or `[IPV6]:PORT`): a UDP target, port 0 refused (status 2).
pub(crate) fn parse_target(text: &str) -> Result<HostPort> {
    let bad = |why: String| exit::usage(format!("--forward {text}: {why}"));
    if text.contains("://") || text.starts_with("unix:") {
        return Err(bad("a UDP target is HOST:PORT or [IPV6]:PORT".into()));
    }
    let (host, port) =
        crate::net::addr::split_host_port(text).map_err(|e| bad(exit::render(&e)))?;
    let port = crate::net::addr::destination_port(&port, "udp", None)
        .map_err(|e| bad(exit::render(&e)))?;
    if port == 0 {
        return Err(bad("port 0 is not a destination".into()));
    }
    Ok(HostPort {
        host: crate::net::addr::check_host(&host).map_err(|e| bad(exit::render(&e)))?,
        port,
    })
}

/// The listening socket's token; sessions use `BASE + slot`.
const LISTENER: Token = Token(0);
const BASE: usize = 1;
/// The longest the loop sleeps without looking at signals and the clock.
const TICK: Duration = Duration::from_millis(250);
/// How many refused sources are remembered (so a flood says so once per source, in bounded memory).
const REFUSED_MEMORY: usize = 4096;
/// Datagrams per batch, each way.
const BATCH: usize = 64;
/// Batches taken from one socket per turn of the loop: a flood on one socket (faster than the relay)
/// never keeps the others, the clock and the signals waiting; what is left is taken next turn.
const TURNS: usize = 16;

/// Why a new source got no session.
enum NoSession {
    /// `--max-sessions` are open.
    Full,
    /// No socket could be made or watched (out of descriptors).
    NoSocket,
}
use NoSession::{Full, NoSocket};

/// One client's session.
struct Session {
    client: SocketAddr,
    client_to: SockAddr,
    shown: String,
    /// Connected to the target.
    sock: Socket,
    last: Instant,
    event: Option<EventSession>,
    /// The target refused (ICMP) since the last reply: said once with -v.
    refused_said: bool,
}

/// The relay's state.
struct Forwarder<'a> {
    rx: &'a mut UdpReceiver,
    opts: &'a ForwardOpts,
    target: SocketAddr,
    target_shown: String,
    events: Option<Arc<Events>>,
    poll: Poll,
    slots: Vec<Option<Session>>,
    free: Vec<usize>,
    by_client: HashMap<SocketAddr, usize>,
    refused: HashSet<SocketAddr>,
    replies: RecvBatch,
    /// UDP GSO on sends (off once the kernel refuses it).
    gso: bool,
    stats: ForwardStats,
    next_expiry: Option<Instant>,
    /// Sockets left with datagrams at the end of their turn (edge-triggered readiness will not say
    /// so again): the listening socket, and session slots.
    clients_pending: bool,
    replies_pending: Vec<usize>,
}

/// Runs the relay on `rx` until `-w` passes without a datagram, a signal (`stop`, or the caught
/// `--stats` signals), or an error. Every open session is closed at the end (events: `eof`, `idle`
/// or `signal`).
pub(crate) fn run(
    rx: &mut UdpReceiver,
    opts: &ForwardOpts,
    events: Option<Arc<Events>>,
    stop: &AtomicUsize,
) -> (Result<()>, ForwardStats) {
    let mut fwd = match Forwarder::new(rx, opts, events) {
        Ok(f) => f,
        Err(e) => return (Err(e), ForwardStats::default()),
    };
    let result = fwd.serve(stop);
    let stopped = stop.load(Ordering::SeqCst) != 0 || crate::sys::signal::stop_requested();
    let reason = if stopped {
        CloseReason::Signal
    } else {
        CloseReason::of(&result)
    };
    fwd.close_all(reason);
    (result, std::mem::take(&mut fwd.stats))
}

impl<'a> Forwarder<'a> {
    fn new(
        rx: &'a mut UdpReceiver,
        opts: &'a ForwardOpts,
        events: Option<Arc<Events>>,
    ) -> Result<Forwarder<'a>> {
        let target = resolve(&opts.target.host, opts.target.port, opts.family)?[0];
        let poll = Poll::new().context("epoll_create")?;
        rx.socket()
            .set_nonblocking(true)
            .context("set the listening socket non-blocking")?;
        poll.registry()
            .register(
                &mut SourceFd(&rx.socket().as_raw_fd()),
                LISTENER,
                Interest::READABLE,
            )
            .context("epoll_ctl")?;
        Ok(Forwarder {
            rx,
            opts,
            target,
            target_shown: display(&target),
            events,
            poll,
            slots: Vec::new(),
            free: Vec::new(),
            by_client: HashMap::new(),
            refused: HashSet::new(),
            replies: RecvBatch::new(BATCH, 65536),
            gso: true,
            stats: ForwardStats::default(),
            next_expiry: None,
            clients_pending: false,
            replies_pending: Vec::new(),
        })
    }

    fn serve(&mut self, stop: &AtomicUsize) -> Result<()> {
        let mut ready = mio::Events::with_capacity(256);
        let mut last_in = Instant::now();
        self.rx.received.start();
        loop {
            if stop.load(Ordering::SeqCst) != 0 || crate::sys::signal::stop_requested() {
                return Ok(());
            }
            let now = Instant::now();
            if self.next_expiry.is_some_and(|at| at <= now) {
                self.expire(now);
            }
            if let Some(w) = self.opts.timeout
                && now.duration_since(last_in) >= w
            {
                return idle_expired(self.rx.received.datagrams, w, &self.rx.shown);
            }
            let mut wait = TICK;
            if let Some(at) = self.next_expiry {
                wait = wait.min(at.saturating_duration_since(now));
            }
            if let Some(w) = self.opts.timeout {
                wait = wait.min((last_in + w).saturating_duration_since(now));
            }
            if self.clients_pending || !self.replies_pending.is_empty() {
                wait = Duration::ZERO;
            }
            match self.poll.poll(&mut ready, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(anyhow!(e).context("epoll_wait")),
            }
            let mut clients = std::mem::take(&mut self.clients_pending);
            let mut sessions = std::mem::take(&mut self.replies_pending);
            for ev in ready.iter() {
                match ev.token() {
                    LISTENER => clients = true,
                    Token(t) => sessions.push(t - BASE),
                }
            }
            if clients {
                let (any, more) = self.relay_clients()?;
                if any {
                    last_in = Instant::now();
                }
                self.clients_pending = more;
            }
            sessions.sort_unstable();
            sessions.dedup();
            for slot in sessions {
                if self.relay_replies(slot) {
                    self.replies_pending.push(slot);
                }
            }
        }
    }

    /// Takes the queued client datagrams (up to [`TURNS`] batches) and sends each on through its
    /// session: (any came, more may be queued).
    fn relay_clients(&mut self) -> Result<(bool, bool)> {
        let mut any = false;
        for _ in 0..TURNS {
            // No cap on the count: a batch of BATCH buffers may carry many more datagrams (UDP GRO),
            // and a cap would drop those beyond it.
            let n = match self.rx.recv(usize::MAX)? {
                Received::Datagrams(n) => n,
                Received::TimedOut | Received::Stopped => return Ok((any, false)),
            };
            any = true;
            let now = Instant::now();
            // Runs of datagrams from one client go to its session in one batch.
            let mut i = 0;
            while i < n {
                let from = self.rx.datagram(i).from;
                let mut j = i + 1;
                while j < n && self.rx.datagram(j).from == from {
                    j += 1;
                }
                let Some(client) = from.filter(|a| self.rx.answerable(a)) else {
                    i = j;
                    continue;
                };
                let slot = match self.session_for(client, now) {
                    Ok(slot) => slot,
                    Err(Full) => {
                        self.stats.dropped += (j - i) as u64;
                        i = j;
                        continue;
                    }
                    Err(NoSocket) => {
                        self.stats.no_socket += (j - i) as u64;
                        i = j;
                        continue;
                    }
                };
                {
                    let payloads: Vec<&[u8]> = (i..j).map(|k| self.rx.datagram(k).data).collect();
                    let Some(s) = self.slots[slot].as_mut() else {
                        i = j;
                        continue;
                    };
                    s.last = now;
                    let (sent, bytes, lost) = send_all(&s.sock, &payloads, &mut self.gso);
                    if let Some(ev) = &s.event {
                        ev.add_in(bytes as u64);
                    }
                    self.stats.forwarded.add(sent, bytes);
                    self.stats.lost += lost as u64;
                    if lost > 0 && !s.refused_said && self.opts.verbose > 0 {
                        s.refused_said = true;
                        crate::diag!(
                            "session {}: {} cannot be reached (datagrams dropped)",
                            s.shown,
                            self.target_shown
                        );
                    }
                }
                i = j;
            }
        }
        Ok((any, true))
    }

    /// The session of `client`, opened if it is new and there is room; an error: its datagrams are
    /// dropped.
    fn session_for(&mut self, client: SocketAddr, now: Instant) -> Result<usize, NoSession> {
        if let Some(&slot) = self.by_client.get(&client) {
            return Ok(slot);
        }
        let shown = display(&client);
        if self.by_client.len() >= self.opts.max_sessions {
            if self.refused.len() >= REFUSED_MEMORY {
                self.refused.clear();
            }
            if self.refused.insert(client) {
                if self.opts.verbose > 0 {
                    crate::diag!(
                        "dropped datagrams from {shown}: --max-sessions {} reached",
                        self.opts.max_sessions
                    );
                }
                if let Some(ev) = &self.events {
                    ev.refuse(&shown, RefuseReason::MaxSessions);
                }
            }
            return Err(Full);
        }
        let sock = match self.open_session_socket() {
            Ok(s) => s,
            Err(e) => {
                // Said once per source, as a refusal is (out of descriptors, a flood would say it
                // for every datagram).
                if self.refused.len() >= REFUSED_MEMORY {
                    self.refused.clear();
                }
                if self.refused.insert(client) && self.opts.verbose > 0 {
                    crate::diag!("session from {shown}: {}", exit::render(&e));
                }
                return Err(NoSocket);
            }
        };
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        if let Err(e) = self.poll.registry().register(
            &mut SourceFd(&sock.as_raw_fd()),
            Token(BASE + slot),
            Interest::READABLE,
        ) {
            self.free.push(slot);
            if self.opts.verbose > 0 {
                crate::diag!("session from {shown}: epoll_ctl: {}", exit::describe_io(&e));
            }
            return Err(NoSocket);
        }
        if self.opts.verbose > 0 {
            crate::diag!("session from {shown} to {}", self.target_shown);
        }
        let event = self
            .events
            .as_ref()
            .map(|ev| ev.accept_to(None, &shown, Some(&self.target_shown)));
        self.slots[slot] = Some(Session {
            client,
            client_to: SockAddr::from(client),
            shown,
            sock,
            last: now,
            event,
            refused_said: false,
        });
        self.by_client.insert(client, slot);
        self.stats.sessions += 1;
        self.next_expiry.get_or_insert(now + self.opts.idle);
        Ok(slot)
    }

    /// A non-blocking UDP socket connected to the target.
    fn open_session_socket(&self) -> Result<Socket> {
        let sock = Socket::new(
            Domain::for_address(self.target),
            Type::DGRAM,
            Some(Protocol::UDP),
        )
        .context("socket")?;
        sock.set_nonblocking(true).context("set non-blocking")?;
        sock.connect(&self.target.into())
            .with_context(|| format!("connect {}", self.target_shown))?;
        Ok(sock)
    }

    /// Takes the replies queued on session `slot`'s socket (up to [`TURNS`] batches) and sends them
    /// back to its client; true when more may be queued.
    fn relay_replies(&mut self, slot: usize) -> bool {
        let Some(Some(s)) = self.slots.get_mut(slot) else {
            return false;
        };
        for _ in 0..TURNS {
            let n = match self.replies.recv(&s.sock, BATCH, false) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) => {
                    // An ICMP error for an earlier datagram (the target's port is closed): the relay
                    // and the session go on.
                    self.stats.lost += 1;
                    if !s.refused_said && self.opts.verbose > 0 {
                        s.refused_said = true;
                        crate::diag!(
                            "session {}: {}: {}",
                            s.shown,
                            self.target_shown,
                            exit::describe_io(&e)
                        );
                    }
                    continue;
                }
            };
            s.last = Instant::now();
            s.refused_said = false;
            let payloads: Vec<&[u8]> = (0..n).map(|i| self.replies.get(i).data).collect();
            let (sent, bytes, _) =
                send_to_client(self.rx.socket(), &payloads, &s.client_to, &mut self.gso);
            if let Some(ev) = &s.event {
                ev.add_out(bytes as u64);
            }
            self.stats.replied.add(sent, bytes);
        }
        true
    }

    /// Ends the sessions quiet for `--session-idle`; sets when to look next.
    fn expire(&mut self, now: Instant) {
        let idle = self.opts.idle;
        let due: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|s| now.duration_since(s.last) >= idle)
                    .map(|_| i)
            })
            .collect();
        for slot in due {
            self.close(slot, CloseReason::Idle);
        }
        // The next look: when the quietest session falls due, yet not sooner than a slice of the
        // idle time (so a busy table is not scanned over and over).
        let grain = (idle / 8).min(Duration::from_millis(100));
        self.next_expiry = self
            .slots
            .iter()
            .flatten()
            .map(|s| s.last + idle)
            .min()
            .map(|at| at.max(now + grain));
    }

    fn close(&mut self, slot: usize, reason: CloseReason) {
        let Some(s) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self
            .poll
            .registry()
            .deregister(&mut SourceFd(&s.sock.as_raw_fd()));
        self.by_client.remove(&s.client);
        self.free.push(slot);
        // Room again: a refused source may now get a session, and says so again if not.
        self.refused.clear();
        if self.opts.verbose > 0 {
            crate::diag!("session {} closed ({})", s.shown, reason.as_str());
        }
        if let Some(ev) = s.event {
            ev.close(reason);
        }
    }

    fn close_all(&mut self, reason: CloseReason) {
        let mut open: Vec<(u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .map(|s| (s.event.as_ref().map_or(i as u64, |e| e.id()), i))
            })
            .collect();
        open.sort();
        for (_, slot) in open {
            self.close(slot, reason.clone());
        }
    }
}

/// Sends `payloads` on the connected `sock`: (datagrams sent, their bytes, datagrams lost). UDP is
/// lossy: a refusal (an ICMP error queued for an earlier datagram, reported on one send and then
/// cleared, so the datagram is tried again once) or a full queue loses datagrams, never the relay.
fn send_all(sock: &Socket, payloads: &[&[u8]], gso: &mut bool) -> (usize, usize, usize) {
    send_batch(sock, payloads, Dest::Connected, gso)
}

/// Sends `payloads` from the listening socket to one client.
fn send_to_client(
    sock: &Socket,
    payloads: &[&[u8]],
    to: &SockAddr,
    gso: &mut bool,
) -> (usize, usize, usize) {
    send_batch(sock, payloads, Dest::All(to), gso)
}

fn send_batch(
    sock: &Socket,
    payloads: &[&[u8]],
    dest: Dest<'_>,
    gso: &mut bool,
) -> (usize, usize, usize) {
    let (mut done, mut bytes, mut dropped, mut refused) = (0, 0, 0, 0);
    let mut retried = false;
    while done < payloads.len() {
        match mmsg::send_batch(sock, &payloads[done..], dest, *gso) {
            Ok(k) => {
                bytes += payloads[done..done + k]
                    .iter()
                    .map(|p| p.len())
                    .sum::<usize>();
                done += k;
                retried = false;
            }
            Err(e) if *gso && super::send::gso_refused(&e) => *gso = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && !retried => {
                // The refusal of an earlier datagram, reported now and cleared: try this one again.
                refused += 1;
                retried = true;
            }
            Err(_) => {
                // This one cannot go (refused again, a full queue): drop it and go on.
                dropped += 1;
                done += 1;
                retried = false;
            }
        }
    }
    (done - dropped, bytes, dropped + refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{USAGE, status_of};

    #[test]
    fn targets() {
        let t = parse_target("127.0.0.1:53").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 53));
        let t = parse_target("[::1]:7").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 7));
        let t = parse_target("localhost:domain").unwrap();
        assert_eq!(t.port, 53);
        for bad in [
            "127.0.0.1",
            "127.0.0.1:0",
            "h:70000",
            "unix:/x",
            "tcp://h:1",
            "",
        ] {
            assert_eq!(status_of(&parse_target(bad).unwrap_err()), USAGE, "{bad}");
        }
    }
}
