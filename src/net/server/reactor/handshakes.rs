//! `-k --tls` (every mode): each client's TLS handshake runs on this loop's pairs
//! ([`Pairs::accept_tls`]), no thread until it is done; a client that stalls in it costs a registered
//! descriptor until its deadline (`-i`, else [`tls::HANDSHAKE_TIMEOUT`]; a proxy server's `-w`). Once
//! done, the client is served by its mode with the session the loop made, still without a thread
//! where the mode allows: bridged into this loop (`-k` relaying stdin, `--broker`, `--echo`;
//! `bridged.rs`), or in a pair with its target (`--forward`, `--proxy-server`; `paired.rs`); else
//! (`-e`/`-c`, a forward or proxy whose work blocks) on a thread of its own.
//!
//! A one-client server keeps the handshake on its one client's thread, and under
//! `--accept-proxy-protocol` the PROXY header comes before the handshake, read on that thread.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use socket2::Socket;

use super::Loop;
use crate::exit;
use crate::net::events::RefuseReason;
use crate::net::server::Mode;
use crate::net::server::pairs::{Handshaken, Who};
use crate::net::stream::tls;

impl Loop {
    /// Does this server run its clients' TLS handshakes on the loop?
    pub(super) fn handshakes_on_loop(&self) -> bool {
        self.cfg.tls.is_some() && self.cfg.keep_open && !self.deferred_accept()
    }

    /// How long a client has for its handshake.
    fn handshake_timeout(&self) -> Duration {
        let idle = match &self.mode {
            Mode::ProxyServer(srv) => return srv.handshake_timeout,
            Mode::Forward(fwd) => fwd.relay.idle_timeout,
            _ => self.cfg.relay.idle_timeout,
        };
        idle.unwrap_or(tls::HANDSHAKE_TIMEOUT)
    }

    /// Starts a counted (`in_use`) client's handshake on the loop.
    pub(super) fn start_handshake(
        &mut self,
        sock: Socket,
        who: String,
        peer: Option<SocketAddr>,
        id: u64,
    ) {
        let Some(server) = &self.cfg.tls else {
            return;
        };
        let timeout = self.handshake_timeout();
        let who = Who {
            name: who,
            peer,
            id,
        };
        let accepting = match server.accepting() {
            Ok(a) => a,
            Err(e) => return self.handshake_failed(&who, &e),
        };
        match self.pairs_ready() {
            Some(pairs) => pairs.accept_tls(sock, accepting, timeout, who),
            None => {
                let e = anyhow::anyhow!("the server cannot watch more clients");
                self.handshake_failed(&who, &e);
            }
        }
    }

    /// Serves the clients whose handshake ended this turn.
    pub(super) fn take_handshaken(&mut self) {
        // Handshakes run on the loop only under --tls.
        let (Some(pairs), Some(server)) = (&mut self.pairs, self.cfg.tls.clone()) else {
            return;
        };
        for Handshaken {
            client,
            who: Who { name, peer, id },
            result,
        } in pairs.handshaken()
        {
            let accepted = match result {
                Ok(accepted) => accepted,
                Err(e) => {
                    self.handshake_failed(&Who { name, peer, id }, &e);
                    continue;
                }
            };
            let Some((client, name, accepted)) =
                self.serve_tls_on_loop(client, name, peer, id, accepted)
            else {
                continue;
            };
            if matches!(self.mode, Mode::Relay | Mode::Broker | Mode::Echo) {
                self.bridge_on_loop(client, name, id, accepted);
            } else {
                let server = server.handshaken(accepted);
                self.start_blocking(client, name, peer, id, Some(server));
            }
        }
    }

    /// A client whose handshake failed: its place freed, then its `-v` line and `refuse` event (as
    /// a failed handshake on a client's thread).
    fn handshake_failed(&mut self, who: &Who, e: &anyhow::Error) {
        self.in_use.fetch_sub(1, Ordering::SeqCst);
        self.log(|| format!("{}: {}", who.name, exit::render(e)));
        if let Some(ev) = &self.cfg.events {
            ev.refuse_session(who.id, RefuseReason::Tls);
        }
    }
}
