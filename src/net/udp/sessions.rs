//! UDP has no connections, so `udp-recv --events` makes sessions of its own: the first datagram from a
//! source address is its `accept`, and the session `close`s once that source has been quiet for the
//! idle time (`--session-idle`, default 60 s), with the bytes it sent (`bytes_in`) and got back
//! (`bytes_out`, with `--echo`). At most `--max-sessions` sources are tracked at once; a new source
//! beyond that closes the one quiet longest first (reason `idle`), so a flood of spoofed sources
//! costs bounded memory. When udp-recv ends, every open session closes with the reason of the end
//! (`eof` for -c / -w, `signal` for Ctrl-C).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::net::events::{CloseReason, Events, Session};

/// The default `--session-idle`.
pub(crate) const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// The default `--max-sessions`.
pub(crate) const DEFAULT_MAX: usize = 10_000;

struct Entry {
    session: Session,
    last: Instant,
}

/// The open sessions of a receiver, keyed by the source as shown (`ADDR:PORT`, a Unix path).
pub(crate) struct Tracker {
    events: Arc<Events>,
    idle: Duration,
    max: usize,
    open: HashMap<String, Entry>,
}

impl Tracker {
    pub(crate) fn new(events: Arc<Events>, idle: Duration, max: usize) -> Tracker {
        Tracker {
            events,
            idle,
            max: max.max(1),
            open: HashMap::new(),
        }
    }

    /// A datagram of `bytes` came from `peer`; `echoed` bytes went back to it.
    pub(crate) fn datagram(&mut self, peer: &str, bytes: usize, echoed: usize, now: Instant) {
        if !self.open.contains_key(peer) {
            if self.open.len() >= self.max {
                self.close_quietest();
            }
            let session = self.events.accept(None, peer);
            self.open
                .insert(peer.to_string(), Entry { session, last: now });
        }
        if let Some(e) = self.open.get_mut(peer) {
            e.session.add_in(bytes as u64);
            e.session.add_out(echoed as u64);
            e.last = now;
        }
    }

    fn close_quietest(&mut self) {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, e)| e.last)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest
            && let Some(e) = self.open.remove(&k)
        {
            e.session.close(CloseReason::Idle);
        }
    }

    /// Closes the sessions quiet for the idle time; returns when the next one falls due.
    pub(crate) fn expire(&mut self, now: Instant) -> Option<Instant> {
        let idle = self.idle;
        let mut due: Vec<(Instant, String)> = self
            .open
            .iter()
            .filter(|(_, e)| now.duration_since(e.last) >= idle)
            .map(|(k, e)| (e.last, k.clone()))
            .collect();
        due.sort();
        for (_, k) in due {
            if let Some(e) = self.open.remove(&k) {
                e.session.close(CloseReason::Idle);
            }
        }
        self.open.values().map(|e| e.last + idle).min()
    }

    /// Closes every open session (oldest first) with `reason`.
    pub(crate) fn close_all(&mut self, reason: CloseReason) {
        let mut all: Vec<(Instant, u64, Entry)> = self
            .open
            .drain()
            .map(|(_, e)| (e.last, e.session.id(), e))
            .collect();
        all.sort_by_key(|(_, id, _)| *id);
        for (_, _, e) in all {
            e.session.close(reason.clone());
        }
    }
}
