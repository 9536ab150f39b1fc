//! The loop: readiness, then client datagrams to their sessions and replies back to clients.

use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use mio::unix::SourceFd;
use mio::{Interest, Poll, Token};

use crate::exit;
use crate::net::addr::{display, resolve};
use crate::net::events::Events;
use crate::net::udp::{Received, UdpReceiver, idle_expired};
use crate::sys::mmsg::RecvBatch;

use super::batch::{send_all, send_to_client};
use super::{
    BASE, BATCH, ForwardOpts, ForwardStats, Forwarder, Full, LISTENER, NoSocket, TICK, TURNS,
};

impl<'a> Forwarder<'a> {
    pub(super) fn new(
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

    pub(super) fn serve(&mut self, stop: &AtomicUsize) -> Result<()> {
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
                    s.local = self.rx.reply_from(j - 1);
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
            let (sent, bytes, _) = send_to_client(
                self.rx.socket(),
                &payloads,
                &s.client_to,
                s.local,
                &mut self.gso,
            );
            if let Some(ev) = &s.event {
                ev.add_out(bytes as u64);
            }
            self.stats.replied.add(sent, bytes);
        }
        true
    }
}
