//! The loop's clock: `-w` (no client in time), retrying accept when out of descriptors, and a
//! periodic check, armed only while something needs it, for `-i` and for children.

use std::time::{Duration, Instant};

use crate::exit;
use crate::net::server::Mode;
use crate::net::server::conn::{Close, Kind};
use crate::net::server::exec::GRACE;

use super::{CHILD_TICK, Loop, children};

impl Loop {
    /// Schedules the periodic checks (idle clients, children) if anything needs them.
    pub(super) fn arm_tick(&mut self) {
        if self.next_tick.is_some() {
            return;
        }
        let every = self.tick_every();
        self.next_tick = every.map(|d| Instant::now() + d);
    }

    pub(super) fn tick_every(&self) -> Option<Duration> {
        if self.active == 0 {
            return None;
        }
        let idle = self
            .cfg
            .relay
            .idle_timeout
            .map(|i| (i / 8).clamp(Duration::from_millis(5), Duration::from_millis(250)));
        let children = matches!(self.mode, Mode::Exec(_)).then_some(CHILD_TICK);
        [idle, children].into_iter().flatten().min()
    }

    pub(super) fn timers(&mut self) {
        let now = Instant::now();
        if let Some(deadline) = self.first_deadline
            && now >= deadline
        {
            let waited = humantime::format_duration(self.cfg.first_timeout.unwrap_or_default());
            let shown = self.cfg.shown.clone();
            self.finish(Err(exit::timeout(format!(
                "no client connected to {shown} within {waited}"
            ))));
        }
        if let Some(retry) = self.accept_retry
            && now >= retry
        {
            self.accept_all();
        }
        let Some(tick) = self.next_tick else { return };
        if now < tick {
            return;
        }
        self.next_tick = None;
        let idle = self.cfg.relay.idle_timeout;
        let mut expired = Vec::new();
        let mut children = Vec::new();
        for (slot, conn) in self.conns.iter_mut().enumerate() {
            let Some(conn) = conn else { continue };
            match &mut conn.kind {
                Kind::Stream => {
                    if let Some(limit) = idle
                        && now.duration_since(conn.last) >= limit
                    {
                        expired.push(slot);
                    }
                }
                Kind::Linger { until } => {
                    if now >= *until {
                        children.push(slot);
                    }
                }
                Kind::Exec(running) => {
                    if let Some(sent) = running.term_sent {
                        if now.duration_since(sent) >= GRACE {
                            running.kill();
                        }
                    } else if let Some(limit) = idle
                        && children::exec_idle_for(&conn.sock, conn.started, now) >= limit
                    {
                        // Enforced here, never through socket options the child would share: the
                        // connection is shut down (the child's reads end, its writes fail) and its
                        // process group told to end.
                        let _ = conn.sock.shutdown(std::net::Shutdown::Both);
                        running.terminate();
                        running.term_sent = Some(now);
                    }
                    // A child with a pidfd reports its exit as an event: look only at the others.
                    if running.pidfd.is_none() {
                        children.push(slot);
                    }
                }
            }
        }
        for slot in expired {
            self.close(slot, Close::Idle);
        }
        for slot in children {
            match self
                .conn(slot)
                .map(|c| matches!(c.kind, Kind::Linger { .. }))
            {
                Some(true) => self.close_exec(slot),
                Some(false) => self.child_event(slot),
                None => {}
            }
        }
        self.arm_tick();
    }
}
