//! `udp-recv [ADDR] PORT --forward HOST:PORT`: a UDP relay with a session per client address.
//!
//! The first datagram from a client address opens its session: a UDP socket of its own, connected to
//! the target, so the target sees one source port per client and its replies come back on that
//! socket alone. Replies go back to that client from the listening port and the address the client
//! sent to (IP_PKTINFO / IPV6_PKTINFO on a wildcard listener). A session ends after `--session-idle` without traffic either way; `--max-sessions` caps how
//! many are open (datagrams from a new source beyond the cap are dropped and counted).
//!
//! One mio (epoll) loop serves the listening socket and every session socket; datagrams move in
//! batches both ways (recvmmsg in, sendmmsg with UDP GSO out). A target that is not there (an ICMP
//! port-unreachable, "connection refused" on the session's connected socket) costs the datagrams
//! sent to it, never the relay: the session stays, and a target that comes up later gets the next
//! datagrams.
//!
//! Here: the options, the stats, the relay's state and [`run`]; `relay.rs` the loop and both
//! directions, `sessions.rs` opening, expiring and closing sessions, `batch.rs` batched sends.

mod batch;
mod relay;
mod sessions;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use mio::{Poll, Token};
use socket2::{SockAddr, Socket};

use crate::exit;
use crate::net::addr::{Family, HostPort};
use crate::net::events::{CloseReason, Events, Session as EventSession};
use crate::sys::mmsg::{Local, RecvBatch};

use super::{Counter, UdpReceiver};
// `batch.rs` calls `super::send::gso_refused` (the module `udp::send`).
use super::send;

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
    /// The local address the client's latest datagram arrived at: where its replies leave from.
    local: Option<Local>,
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

#[cfg(test)]
mod tests;
