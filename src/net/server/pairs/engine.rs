//! The loop: pairs added and handed over, each turn, the timers, a pair's end.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use mio::event::Event;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token, Waker};
use socket2::Socket;

use crate::exit;
use crate::net::addr::display;
use crate::sys::zerocopy as sys;

use super::{
    Dir, Done, Entry, Front, Handle, Job, Outcome, Pair, PairId, Pairs, SPARE_PIPES, Side, Spares,
    Target, token,
};

/// A slot table larger than this is dropped once its last pair has ended (see
/// [`Pairs::forget_if_empty`]).
const SLOTS_KEPT: usize = 64;

impl Pairs {
    /// The pairs of a server loop: their sockets go into its epoll set (`registry`) under tokens from
    /// `base` up, and a [`Handle`] wakes the loop with its `waker`.
    pub(crate) fn new(registry: &Registry, base: usize, waker: Arc<Waker>) -> io::Result<Pairs> {
        let (tx, rx) = channel();
        let (opened_tx, opened_rx) = channel();
        Ok(Pairs {
            registry: registry.try_clone()?,
            base,
            waker,
            tx,
            rx,
            opened_tx,
            opened_rx,
            pairs: Vec::new(),
            generation: Vec::new(),
            free: Vec::new(),
            spares: Spares::default(),
            timers: BinaryHeap::new(),
            again: Vec::new(),
            tls_ended: Vec::new(),
        })
    }

    /// Is this event's token one of the pairs'?
    pub(crate) fn owns(&self, token: Token) -> bool {
        token.0 >= self.base
    }

    pub(crate) fn handle(&self) -> Handle {
        Handle {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
        }
    }

    /// When [`Pairs::settle`] is next due without an event: now when a pair has work left, else the
    /// earliest timer (possibly one that no longer matters).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if !self.again.is_empty() {
            return Some(Instant::now());
        }
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// A free slot.
    pub(super) fn slot(&mut self) -> usize {
        match self.free.pop() {
            Some(s) => s,
            None => {
                self.pairs.push(None);
                // A slot of a table forgotten before has its generation still.
                if self.generation.len() < self.pairs.len() {
                    self.generation.push(0);
                }
                self.pairs.len() - 1
            }
        }
    }

    /// Takes a client into the loop: non-blocking, registered under a slot of its own (its side 0),
    /// which is returned; on failure nothing is held.
    pub(super) fn admit(&mut self, client: &Socket) -> Result<usize> {
        crate::sys::sockopt::set_nonblocking(client.as_fd(), true)
            .map_err(|e| anyhow!(e).context("set O_NONBLOCK"))?;
        let slot = self.slot();
        if let Err(e) = self.registry.register(
            &mut SourceFd(&client.as_raw_fd()),
            token(self.base, slot, 0),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.free.push(slot);
            return Err(anyhow!(e).context("epoll"));
        }
        Ok(slot)
    }

    /// Starts relaying a pair: its id for [`Pairs::stop`], or None when it could not start (its
    /// `done` heard why).
    pub(crate) fn add(&mut self, job: Job) -> Option<PairId> {
        let Job {
            client,
            tls,
            target,
            labels,
            first,
            idle,
            done,
        } = job;
        let slot = match self.admit(&client) {
            Ok(slot) => slot,
            Err(e) => {
                done(Err(e), &client);
                return None;
            }
        };
        let id = (slot, self.generation[slot]);
        self.start_pair(
            slot,
            Side { sock: client, tls },
            target,
            labels,
            [Vec::new(), first],
            None,
            idle,
            done,
            true,
        );
        Some(id)
    }

    /// Starts relaying `client` (registered in `slot` already) with `target`. `client_ready`: the
    /// client may have bytes waiting (false when a read just found it drained: its next bytes then
    /// come with an event).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_pair(
        &mut self,
        slot: usize,
        client: Side,
        target: Target,
        labels: [Arc<str>; 2],
        first: [Vec<u8>; 2],
        hook: Option<Box<dyn Front>>,
        idle: Option<Duration>,
        done: Done,
        client_ready: bool,
    ) {
        let (target, mut target_tls, connecting) = match target {
            Target::Connected(sock) => (sock, None, None),
            Target::Secured(sock, tls) => (sock, Some(tls), None),
            Target::Connecting { sock, connect } => (sock, None, Some(connect)),
        };
        let mut first = first;
        // What the client sent before its target was open goes inside the target's session (a
        // PROXY header was sent in the clear before the handshake).
        let encrypted = match &mut target_tls {
            Some(tls) if !first[1].is_empty() => {
                let mut records = Vec::new();
                let sent = tls.send(&first[1], &mut records);
                first[1] = records;
                sent.map_err(|e| anyhow!(e).context("TLS"))
            }
            _ => Ok(()),
        };
        // A connecting target is non-blocking already.
        let registered = encrypted
            .and_then(|()| {
                if connecting.is_some() {
                    Ok(())
                } else {
                    crate::sys::sockopt::set_nonblocking(target.as_fd(), true)
                        .map_err(|e| anyhow!(e).context("set O_NONBLOCK"))
                }
            })
            .and_then(|()| {
                self.registry
                    .register(
                        &mut SourceFd(&target.as_raw_fd()),
                        token(self.base, slot, 1),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .map_err(|e| anyhow!(e).context("epoll"))
            });
        let Side { sock: client, tls } = client;
        if let Err(e) = registered {
            let _ = self.registry.deregister(&mut SourceFd(&client.as_raw_fd()));
            self.generation[slot] += 1;
            self.free.push(slot);
            return done(Err(e), &client);
        }
        let now = Instant::now();
        let connect_deadline = connecting.as_ref().and_then(|c| c.deadline);
        let pair = Pair {
            socks: [client, target],
            tls: [tls, target_tls],
            labels,
            // Edge-triggered: assume ready until a call says otherwise. A connecting target is
            // assumed writable too: on loopback the connect is over already, and the first step
            // finds so without waiting a turn for its event (else it says "not yet": ENOTCONN).
            readable: [client_ready, connecting.is_none()],
            writable: [true, true],
            closed: [false, false],
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

    /// Ends the pair `id` now (its owner drops it), if it has not ended already: its sockets close,
    /// its `done` hears that the server stopped it.
    pub(crate) fn stop(&mut self, (slot, epoch): PairId) {
        if self.generation.get(slot) == Some(&epoch) {
            self.end(slot, Err(anyhow!("stopped by the server")));
        }
    }

    /// Takes what other threads handed over: pairs, and destinations opened for greeting clients.
    pub(crate) fn woken(&mut self) {
        while let Ok(job) = self.rx.try_recv() {
            self.add(job);
        }
        while let Ok(opened) = self.opened_rx.try_recv() {
            if self.generation.get(opened.slot) == Some(&opened.epoch) {
                let target = opened.result;
                self.greeted(opened.slot, target);
            }
        }
    }

    /// Handles one event of a pair's (or a greeting client's) socket.
    pub(crate) fn event(&mut self, ev: &Event) {
        let t = ev.token().0 - self.base;
        let (slot, side) = (t / 2, t % 2);
        let err = ev.is_error();
        let r = ev.is_readable() || ev.is_read_closed() || err;
        let w = ev.is_writable() || ev.is_write_closed() || err;
        let closed = ev.is_read_closed() || err;
        match self.pairs.get_mut(slot).and_then(Option::as_mut) {
            Some(Entry::Pair(p)) => {
                p.readable[side] |= r;
                p.writable[side] |= w;
                p.closed[side] |= closed;
                self.step(slot);
            }
            Some(Entry::Greeting(g)) => {
                g.closed |= closed;
                // Whatever it said, the client is worth reading again.
                g.drained = false;
                self.greeting(slot)
            }
            Some(Entry::Tls(_)) => self.tls_step(slot),
            None => {}
        }
    }

    /// After a turn's events: the pairs that stopped with work left move on, due timers fire.
    pub(crate) fn settle(&mut self) {
        for slot in std::mem::take(&mut self.again) {
            self.step(slot);
        }
        self.timers();
        self.forget_if_empty();
    }

    /// With no pair or greeting left: drops a slot table grown by a crowd (its capacity would stay
    /// for ever) and the timers (every one of them stale now), and gives the freed heap back. The
    /// generations stay, so a late connect result or timer of an old pair never matches a new one.
    fn forget_if_empty(&mut self) {
        if self.free.len() < self.pairs.len() {
            return;
        }
        // TLS pairs' buffers (a quarter MiB each) are made again by the next TLS pair.
        self.spares.queues = Vec::new();
        self.spares.scratch = Vec::new();
        if self.pairs.len() <= SLOTS_KEPT {
            return;
        }
        self.pairs = Vec::new();
        self.free = Vec::new();
        self.again = Vec::new();
        self.timers = BinaryHeap::new();
        crate::sys::heap::give_back();
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
                Some(Entry::Tls(_)) => {
                    self.tls_timer(slot, now);
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
        let live = self.pairs.len() - self.free.len();
        let outcome = {
            let Some(Some(Entry::Pair(p))) = self.pairs.get_mut(slot) else {
                return;
            };
            let mut more = false;
            let outcome = p.step(&mut self.spares, &mut more, super::splice_in(live));
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
    pub(super) fn end(&mut self, slot: usize, result: Result<()>) {
        let Some(entry) = self.pairs.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.generation[slot] += 1;
        self.free.push(slot);
        let mut p = match entry {
            Entry::Pair(p) => p,
            Entry::Greeting(mut g) => {
                let _ = self
                    .registry
                    .deregister(&mut SourceFd(&g.client.as_raw_fd()));
                if let Some(done) = g.done.take() {
                    done(result, &g.client);
                }
                return;
            }
            Entry::Tls(h) => return self.tls_end(*h, result),
        };
        // Out of the epoll set now: a copy of a descriptor elsewhere (a client's thread that handed the
        // pair over) would keep it there past its close.
        for s in &p.socks {
            let _ = self.registry.deregister(&mut SourceFd(&s.as_raw_fd()));
        }
        if let Some(done) = p.done.take() {
            done(result, &p.socks[0]);
        }
        for d in &mut p.dirs {
            if d.in_pipe == 0
                && let Some(pipe) = d.pipe.take()
                && self.spares.pipes.len() < SPARE_PIPES
            {
                self.spares.pipes.push(pipe);
            }
        }
    }
}
