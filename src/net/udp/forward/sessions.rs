//! A session opened for a new client address, expired when idle, closed at the end.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mio::unix::SourceFd;
use mio::{Interest, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::exit;
use crate::net::addr::display;
use crate::net::events::{CloseReason, RefuseReason};

use super::{BASE, Forwarder, Full, NoSession, NoSocket, REFUSED_MEMORY, Session};

impl<'a> Forwarder<'a> {
    /// The session of `client`, opened if it is new and there is room; an error: its datagrams are
    /// dropped.
    pub(super) fn session_for(
        &mut self,
        client: SocketAddr,
        now: Instant,
    ) -> Result<usize, NoSession> {
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
            local: None,
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

    /// Ends the sessions quiet for `--session-idle`; sets when to look next.
    pub(super) fn expire(&mut self, now: Instant) {
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

    pub(super) fn close_all(&mut self, reason: CloseReason) {
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
