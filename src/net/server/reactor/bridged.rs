//! `listen -k --tls` relaying stdin, and `--broker --tls`: each TLS client is bridged into the loop.
//!
//! The loop serves these modes over plain non-blocking sockets (stdin to every client, broker
//! traffic, each client's bounded queue), and rustls wants a blocking socket, so a TLS client, once
//! its handshake on the loop is done (`handshakes.rs`), gets a thread that relays between the TLS
//! session and one end of a socket pair; the loop serves the other end as it would serve a plaintext
//! client. Nothing else of the loop changes, and its rules still hold: a client that does not read
//! fills its own pair and its own queue and is dropped once [`QUEUE_CAP`] behind, never holding back
//! the others; a client that never finishes its handshake costs no thread, only its record on the
//! loop until its deadline; the byte counts of `--events` are the application's (the pair's) bytes.
//!
//! [`QUEUE_CAP`]: crate::net::server::conn::QUEUE_CAP

use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};

use socket2::Socket;

use crate::exit;
use crate::net::events::RefuseReason;
use crate::net::server::conn::Close;
use crate::net::stream::relay::{RelayConfig, join};
use crate::net::stream::{Endpoint, Stop, tls};

use super::Loop;

/// A bridged client as the loop holds it: its TLS session's stop (to end its bridge when the loop
/// drops the client) and how the bridge ended, if it ended with an error.
pub(super) struct Bridge {
    stop: Stop,
    failed: Arc<Mutex<Option<anyhow::Error>>>,
}

/// A client whose handshake is done, handed to the loop: its end of the pair, name, number, bridge.
pub(super) type Bridged = (Socket, String, u64, Bridge);

/// The handshake and the pair.
fn open(
    server: &tls::Server,
    sock: Socket,
    timeout: std::time::Duration,
) -> anyhow::Result<(tls::TlsStream, tls::Summary, (UnixStream, UnixStream))> {
    let (stream, summary) = server.handshake(sock, Some(timeout))?;
    Ok((stream, summary, UnixStream::pair()?))
}

impl Loop {
    /// Starts the thread that bridges a TLS client into this loop (see the module header), with
    /// `server` (its handshake may be done: [`tls::Server::handshaken`]).
    pub(super) fn start_bridge(&mut self, sock: Socket, who: String, id: u64, server: tls::Server) {
        let tx = match &self.bridged {
            Some((tx, _)) => tx.clone(),
            None => {
                let (tx, rx) = channel();
                self.bridged = Some((tx.clone(), rx));
                tx
            }
        };
        let (waker, in_use, events) = (
            self.waker.clone(),
            self.in_use.clone(),
            self.cfg.events.clone(),
        );
        let (verbose, idle) = (self.cfg.verbose, self.cfg.relay.idle_timeout);
        let spawned = std::thread::Builder::new().spawn(move || {
            let timeout = idle.unwrap_or(tls::HANDSHAKE_TIMEOUT);
            let (stream, summary, (ours, theirs)) = match open(&server, sock, timeout) {
                Ok(opened) => opened,
                Err(err) => {
                    // Free before said (see start_blocking).
                    in_use.fetch_sub(1, Ordering::SeqCst);
                    if verbose {
                        crate::diag!("{who}: {}", exit::render(&err));
                    }
                    if let Some(ev) = &events {
                        ev.refuse_session(id, RefuseReason::Tls);
                    }
                    return;
                }
            };
            if verbose {
                crate::diag!("{who}: {}", summary.line());
            }
            if let Some(ev) = &events {
                ev.set_session_tls(id, summary.json());
            }
            let failed = Arc::new(Mutex::new(None));
            let session = Endpoint::tls(stream, verbose);
            let Some(stop) = session.stop.clone() else {
                in_use.fetch_sub(1, Ordering::SeqCst);
                return;
            };
            let bridge = Bridge {
                stop,
                failed: failed.clone(),
            };
            let ours = Socket::from(std::os::fd::OwnedFd::from(ours));
            let theirs = Socket::from(std::os::fd::OwnedFd::from(theirs));
            let Ok(end) = ours.try_clone() else {
                in_use.fetch_sub(1, Ordering::SeqCst);
                return;
            };
            if tx.send((theirs, who, id, bridge)).is_err() {
                return;
            }
            let _ = waker.wake();
            // The pair's end is not stopped by the relay: its error is kept first, then the loop is
            // told by the end of the pair (so it closes the client with this reason).
            let mut local = Endpoint::socket(ours);
            local.stop = None;
            // `-i` here too: once the loop has closed its end normally, a client that neither
            // reads what is left for it nor closes must not hold this thread for ever.
            let cfg = RelayConfig {
                idle_timeout: idle,
                ..RelayConfig::default()
            };
            let result = join(local, session, &cfg);
            if let Err(e) = result {
                *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            }
            let _ = end.shutdown(std::net::Shutdown::Both);
        });
        if let Err(e) = spawned {
            self.in_use.fetch_sub(1, Ordering::SeqCst);
            self.log(|| format!("cannot start a thread for a client: {e}"));
        }
    }

    /// Clients whose handshake is done: served by the loop from now on.
    pub(super) fn take_bridged(&mut self) {
        let handed: Vec<Bridged> = self
            .bridged
            .as_ref()
            .map(|(_, rx)| rx.try_iter().collect())
            .unwrap_or_default();
        for (sock, who, id, bridge) in handed {
            self.bridges.insert(id, bridge);
            self.start(sock, who, id);
            if self.bridges.contains_key(&id) && !self.serving(id) {
                // Not taken (no slot, a failed registration): end its bridge.
                if let Some(b) = self.bridges.remove(&id) {
                    (b.stop)();
                }
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
                (bridge.stop)();
                why
            }
        }
    }
}
