//! The clients whose work blocks (`--forward`, `--proxy-server`, relayed programs, every `--tls`
//! client): each is served on a thread of its own, outside the loop, and counted until it ends.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use socket2::Socket;

use crate::exit;
use crate::net::events::{self, CloseReason, Note};
use crate::net::server::Mode;
use crate::net::server::relayed;
use crate::net::stream::tls;

use super::Loop;
use super::paired::done_for;
use crate::net::server::pairs::{Job, Target};

/// Bytes received and bytes sent on a TCP socket (TCP_INFO, and SIOCOUTQ for what was written but
/// not yet acknowledged: a pair that ends as its last bytes are still on their way counts them),
/// (0, 0) for other sockets. The kernel counts a FIN as one byte each way; the state says whether
/// one is in the counts.
pub(super) fn tcp_bytes(sock: &Socket) -> (u64, u64) {
    use std::os::fd::AsFd;
    let Ok(i) = crate::sys::sockopt::tcp_info(sock.as_fd()) else {
        return (0, 0);
    };
    let unacked = crate::sys::zerocopy::unsent(sock.as_fd()).unwrap_or(0) as u64;
    // CLOSE_WAIT, LAST_ACK, CLOSING, TIME_WAIT, CLOSE: the peer's FIN came; FIN_WAIT1, FIN_WAIT2,
    // TIME_WAIT, CLOSE, LAST_ACK, CLOSING: ours was queued (acked, or in the unacked count).
    // (CLOSE after a reset may count one byte too few.)
    let fin_in = matches!(i.tcpi_state, 8 | 9 | 11 | 6 | 7);
    let fin_out = matches!(i.tcpi_state, 4..=7 | 9 | 11);
    (
        i.tcpi_bytes_received.saturating_sub(u64::from(fin_in)),
        (i.tcpi_bytes_acked + unacked).saturating_sub(u64::from(fin_out)),
    )
}

/// The end of a client served on a thread of its own, in the events file: a `refuse` when the
/// mode's code turned it away (a TLS handshake, PROXY protocol header or proxy authentication that
/// failed), else its `close` with what TLS agreed and the application bytes (a TLS session's
/// plaintext; otherwise the socket's counts).
pub(super) fn report(
    ev: &events::Events,
    id: u64,
    sock: Option<&Socket>,
    result: &anyhow::Result<()>,
) {
    let note = Note::take();
    if let (Some(reason), Err(_)) = (note.refused, result) {
        return ev.refuse_session(id, reason);
    }
    if let Some(tls) = note.tls {
        ev.set_session_tls(id, tls);
    }
    let (i, o) = match &note.bytes {
        Some(counts) => counts(),
        None => sock.map_or((0, 0), tcp_bytes),
    };
    ev.close_session(id, i, o, CloseReason::of(result).as_str());
}

impl Loop {
    /// `--forward`, `--proxy-server` and relayed programs: the client's handshake, the outgoing connect and
    /// the relay block, so each client is served on a thread of its own; its slot frees when the
    /// thread ends. Without `-k` (a relayed program) its result ends the server.
    pub(super) fn start_blocking(
        &mut self,
        sock: Socket,
        who: String,
        peer: Option<SocketAddr>,
        id: u64,
        tls: Option<tls::Server>,
    ) {
        let mode = self.mode.clone();
        let in_use = self.in_use.clone();
        let verbose = self.cfg.verbose;
        let (relay, single) = (self.cfg.relay.clone(), !self.cfg.keep_open);
        let (single_result, waker) = (self.single_result.clone(), self.waker.clone());
        let events = self.cfg.events.clone();
        let dup = events.as_ref().and_then(|_| sock.try_clone().ok());
        let began = std::time::Instant::now();
        // A plain proxy tunnel or forwarded client, once set up, is relayed on the loop (no threads
        // for its relay).
        let pairs = match &mode {
            Mode::ProxyServer(_) | Mode::Forward(_) => self.pairs_handle(),
            _ => None,
        };
        // Under --accept-proxy-protocol the client's accept line waits for its header: its address is
        // the header's source, and one turned away before that is only a `refuse`.
        let deferred = events.is_some() && self.deferred_accept();
        let spawned = std::thread::Builder::new().spawn(move || {
            match &events {
                Some(ev) if deferred => {
                    let ev = ev.clone();
                    Note::start_admitting(Box::new(move |peer| ev.open_session(id, peer)));
                }
                _ => Note::start(),
            }
            crate::net::stream::hexdump::serving(id, began);
            let dest = |d: &str| {
                if let Some(ev) = &events {
                    ev.set_session_dest(id, d);
                }
            };
            let mut handed = false;
            // A forwarded client's end is said (`done after`), a proxy tunnel's is not.
            let say_done = matches!(mode, Mode::Forward(_));
            let mut hand_over = |client: Socket, target: Target, to: String, shown: String| {
                handed = true;
                if let Some(pairs) = &pairs {
                    pairs.send(Job {
                        client,
                        tls: None,
                        target,
                        labels: ["client".into(), to.into()],
                        first: Vec::new(),
                        idle: relay.idle_timeout,
                        done: done_for(
                            in_use.clone(),
                            verbose,
                            events.clone(),
                            shown,
                            id,
                            say_done,
                        ),
                    });
                }
            };
            let hand_over: Option<&mut dyn FnMut(Socket, Target, String, String)> =
                pairs.is_some().then_some(&mut hand_over);
            let result = match &mode {
                Mode::Forward(fwd) => fwd.serve(sock, peer, &dest, tls.as_ref(), hand_over),
                Mode::ProxyServer(srv) => srv.serve(sock, peer, &dest, tls.as_ref(), hand_over),
                Mode::Echo => match &tls {
                    Some(server) => server.echo(sock, relay.idle_timeout, verbose),
                    None => Ok(()),
                },
                Mode::Exec(spec) => match &tls {
                    Some(server) => relayed::serve_tls(spec, sock, &relay, server, verbose),
                    None => relayed::serve(spec, sock, &relay),
                },
                _ => Ok(()),
            };
            if handed {
                // The loop relays it now, and reports its end.
                return;
            }
            // The place is free before the end is said: a client that reads the `-v` line or the
            // close event and comes back is not refused for it.
            in_use.fetch_sub(1, Ordering::SeqCst);
            // A one-client server's failure is its error line at exit: not said twice.
            if let Err(e) = &result
                && verbose
                && !single
            {
                crate::diag!("{who}: {}", exit::render(e));
            }
            match &events {
                Some(ev) if deferred && !ev.is_open(id) => {
                    // Never admitted: a refuse line, as the PROXY source if it said one.
                    let note = Note::take();
                    if let Some(reason) = note.refused {
                        ev.refuse(note.source.as_deref().unwrap_or(&who), reason);
                    }
                }
                Some(ev) => report(ev, id, dup.as_ref(), &result),
                None => {}
            }
            if single {
                *single_result.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                let _ = waker.wake();
            }
        });
        if let Err(e) = spawned {
            self.in_use.fetch_sub(1, Ordering::SeqCst);
            self.log(|| format!("cannot start a thread for a client: {e}"));
        }
    }
}
