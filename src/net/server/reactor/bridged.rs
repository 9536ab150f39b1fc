//! `listen -k --tls` relaying stdin, `--broker --tls` and `-k --echo --tls`: each TLS client is
//! bridged into the loop.
//!
//! The loop serves these modes over plain non-blocking sockets (stdin to every client, broker
//! traffic, the echo, each client's bounded queue). So a TLS client, once its handshake on the loop
//! is done (`handshakes.rs`), is bridged: a pair of the loop's own
//! [`Pairs`](crate::net::server::pairs) relays between its TLS session and one end of a socket
//! pair, and the loop serves the other end as it would serve a plaintext client. No thread, and
//! nothing else of the loop changes: its rules still hold (a client that does not read fills its own
//! pair and its own queue and is dropped once [`QUEUE_CAP`] behind, never holding back the others),
//! and the byte counts of `--events` are the application's (the pair's) bytes.
//!
//! [`QUEUE_CAP`]: crate::net::server::conn::QUEUE_CAP

use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use socket2::Socket;

use crate::exit;
use crate::net::server::conn::Close;
use crate::net::server::pairs::{Job, PairId, Target};
use crate::net::stream::tls::Accepting;

use super::Loop;

/// A bridged client as the loop holds it: its bridge (the pair, ended when the loop drops the
/// client) and how the bridge ended, if it ended with an error.
pub(super) struct Bridge {
    pair: Option<PairId>,
    failed: Arc<Mutex<Option<anyhow::Error>>>,
}

impl Loop {
    /// Bridges a client whose handshake this loop ran (`accepted`) without a thread: the bridge is a
    /// pair of this loop's [`Pairs`](crate::net::server::pairs) between the TLS session and our end
    /// of the socket pair, and the loop serves the other end at once. The bridge ends as the
    /// threaded one did: its error kept for [`Loop::unbridge`], the pair ended (the client's
    /// connection closed) when the loop drops the client.
    pub(super) fn bridge_on_loop(
        &mut self,
        sock: Socket,
        who: String,
        id: u64,
        accepted: Accepting,
    ) {
        let (session, summary) = accepted.into_looped(self.cfg.verbose);
        if self.cfg.verbose {
            crate::diag!("{who}: {}", summary.line());
        }
        if let Some(ev) = &self.cfg.events {
            ev.set_session_tls(id, summary.json());
        }
        let (ours, theirs) = match UnixStream::pair() {
            Ok((ours, theirs)) => (
                Socket::from(std::os::fd::OwnedFd::from(ours)),
                Socket::from(std::os::fd::OwnedFd::from(theirs)),
            ),
            Err(e) => {
                self.in_use.fetch_sub(1, Ordering::SeqCst);
                return self.log(|| format!("{who}: socket pair: {e}"));
            }
        };
        let failed = Arc::new(Mutex::new(None));
        let kept = failed.clone();
        let job = Job {
            client: sock,
            tls: Some(Box::new(session)),
            target: Target::Connected(ours),
            labels: ["client".into(), "bridge".into()],
            first: Vec::new(),
            // As the threaded bridge: once the loop has closed its end, a client that neither reads
            // what is left for it nor closes does not hold the pair for ever.
            idle: self.cfg.relay.idle_timeout,
            // The loop's end hears the pair's end (EOF or reset) and counts the client's place.
            done: Box::new(move |result, _| {
                if let Err(e) = result {
                    *kept.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
            }),
        };
        let Some(pairs) = self.pairs_ready() else {
            self.in_use.fetch_sub(1, Ordering::SeqCst);
            return;
        };
        // A bridge that could not start has said why (`failed`), and the loop's end sees EOF.
        let pair = pairs.add(job);
        self.serve_bridged(theirs, who, id, Bridge { pair, failed });
    }

    /// Ends a bridge the loop no longer serves.
    fn stop_bridge(&mut self, bridge: Bridge) {
        if let (Some(pairs), Some(pair)) = (&mut self.pairs, bridge.pair) {
            pairs.stop(pair);
        }
    }

    /// Serves a bridged client's end of its pair as a plaintext client.
    fn serve_bridged(&mut self, sock: Socket, who: String, id: u64, bridge: Bridge) {
        self.bridges.insert(id, bridge);
        self.start(sock, who, id);
        if self.bridges.contains_key(&id) && !self.serving(id) {
            // Not taken (no slot, a failed registration): end its bridge.
            if let Some(b) = self.bridges.remove(&id) {
                self.stop_bridge(b);
            }
        }
    }

    fn serving(&self, id: u64) -> bool {
        self.conns.iter().flatten().any(|c| c.id == id)
    }

    /// A bridged client is being closed for `why`: the reason its bridge gave, if the pair only
    /// carried the news (an end or a reset of the pair); and a client the loop drops (too far behind,
    /// idle) has its TLS connection ended too.
    pub(super) fn unbridge(&mut self, id: u64, why: Close) -> Close {
        let Some(bridge) = self.bridges.remove(&id) else {
            return why;
        };
        let failed = bridge
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match (why, failed) {
            (Close::Eof | Close::Reset, Some(e)) => {
                let text = exit::render(&e);
                if text.contains("connection reset") {
                    Close::Reset
                } else if e.chain().any(|c| c.is::<exit::Timeout>()) {
                    Close::Idle
                } else {
                    Close::Error(e)
                }
            }
            (why @ (Close::Eof | Close::Reset), None) => why,
            (why, _) => {
                self.stop_bridge(bridge);
                why
            }
        }
    }
}
