//! One accepted client's record, from its `accept` line to its `close` line.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value as Json;

use super::{CloseReason, Events, lock};

/// What a session carries between its accept and its close.
#[derive(Debug)]
pub(super) struct State {
    pub(super) id: u64,
    pub(super) peer: String,
    pub(super) start: Instant,
    pub(super) bytes_in: AtomicU64,
    pub(super) bytes_out: AtomicU64,
    pub(super) dest: Mutex<Option<String>>,
    pub(super) tls: Mutex<Option<Json>>,
    pub(super) closed: AtomicBool,
}

/// One accepted client, from its `accept` line to its `close` line.
pub(crate) struct Session {
    pub(super) events: Arc<Events>,
    pub(super) state: Arc<State>,
}

impl Session {
    pub(crate) fn id(&self) -> u64 {
        self.state.id
    }

    /// Counts bytes received from the peer.
    pub(crate) fn add_in(&self, n: u64) {
        self.state.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts bytes sent to the peer.
    pub(crate) fn add_out(&self, n: u64) {
        self.state.bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the totals (for a relay that counts by itself).
    #[allow(dead_code)] // listen's server calls it (with its new server loop), and --forward.
    pub(crate) fn set_bytes(&self, bytes_in: u64, bytes_out: u64) {
        self.state.bytes_in.store(bytes_in, Ordering::Relaxed);
        self.state.bytes_out.store(bytes_out, Ordering::Relaxed);
    }

    /// The destination, once known (it goes on the `close` line).
    #[allow(dead_code)] // listen's server calls it (with its new server loop), and --forward.
    pub(crate) fn set_dest(&self, dest: &str) {
        *lock(&self.state.dest) = Some(dest.to_string());
    }

    /// What TLS negotiated (`{"version":..., "cipher":...}`), for the `close` line.
    #[allow(dead_code)] // listen's server calls it (with its new server loop), and --forward.
    pub(crate) fn set_tls(&self, tls: Json) {
        *lock(&self.state.tls) = Some(tls);
    }

    /// The `close` line (only the first close of a session writes one).
    pub(crate) fn close(self, reason: CloseReason) {
        self.events.close_state(&self.state, &reason);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.events.close_state(&self.state, &CloseReason::Eof);
    }
}
