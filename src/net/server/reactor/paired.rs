//! `--forward` clients relayed on this loop ([`Pairs`]): no thread per pair when nothing about the
//! client blocks (see [`crate::net::server::forward::Forward::inline_addr`]); the others still get a
//! thread ([`Loop::start_blocking`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use socket2::Socket;

use super::blocking::report;
use super::{Loop, PAIRS_BASE};
use crate::exit;
use crate::net::events::Events;
use crate::net::events::Note;
use crate::net::server::Mode;
use crate::net::server::forward::Forward;
use crate::net::server::pairs::{Done, Handle, Pairs, suits};
use crate::net::server::proxy_server::ProxyServer;
use crate::net::server::proxy_server::inline::Inline;
use crate::net::stream::tls::{Accepting, Looped};

impl Loop {
    /// Serves the client on this loop's pairs when its mode allows; gives it back otherwise.
    pub(super) fn start_paired(
        &mut self,
        sock: Socket,
        who: String,
        peer: Option<SocketAddr>,
        id: u64,
    ) -> Option<(Socket, String)> {
        let fwd = match &self.mode {
            Mode::Forward(fwd) => fwd,
            Mode::ProxyServer(srv) => {
                let srv = srv.clone();
                return self.start_greeting(sock, who, peer, id, srv);
            }
            _ => return Some((sock, who)),
        };
        let fwd = fwd.clone();
        // A --tls client's session is relayed here only once the loop ran its handshake
        // ([`Loop::forward_tls`]).
        let Some(addr) = fwd.inline_addr().filter(|_| self.cfg.tls.is_none()) else {
            return Some((sock, who));
        };
        if !self.cfg.keep_open || self.pairs_ready().is_none() {
            return Some((sock, who));
        }
        let done = self.pair_done(who, id, true);
        self.forward_on_loop(&fwd, sock, None, peer, id, addr, done);
        None
    }

    /// A `-k --tls --forward` client whose handshake the loop ran: its session stays on the loop, in
    /// a pair with its target, when its forwarding can ([`Forward::inline_addr`]); given back
    /// otherwise (with its session, for a thread).
    pub(super) fn forward_tls(
        &mut self,
        sock: Socket,
        name: String,
        peer: Option<SocketAddr>,
        id: u64,
        accepted: Accepting,
    ) -> Option<(Socket, String, Accepting)> {
        let Mode::Forward(fwd) = &self.mode else {
            return Some((sock, name, accepted));
        };
        let fwd = fwd.clone();
        let Some(addr) = fwd.inline_addr() else {
            return Some((sock, name, accepted));
        };
        let (session, summary) = accepted.into_looped(self.cfg.verbose);
        if self.cfg.verbose {
            crate::diag!("{name}: {}", summary.line());
        }
        let mut done = self.pair_done(name, id, true);
        if self.cfg.events.is_some() {
            // The close line has what TLS agreed and the plaintext counts, as on a client's thread.
            let (tls, counts) = (summary.json(), session.counts());
            let reported = done;
            done = Box::new(move |result, client| {
                Note::go_on();
                Note::tls(tls, Box::new(move || counts.get()));
                reported(result, client)
            });
        }
        self.forward_on_loop(&fwd, sock, Some(session), peer, id, addr, done);
        None
    }

    /// Forwards a client on this loop's pairs: admission, the connect started, the pair added.
    #[allow(clippy::too_many_arguments)]
    fn forward_on_loop(
        &mut self,
        fwd: &Forward,
        sock: Socket,
        tls: Option<Looped>,
        peer: Option<SocketAddr>,
        id: u64,
        addr: SocketAddr,
        done: Done,
    ) {
        if let Some(ev) = &self.cfg.events {
            ev.set_session_dest(id, &fwd.target.to_string());
        }
        // What the admission notes (a refusal) goes into the events file, as on a client's thread.
        Note::start();
        match fwd.job(sock, peer, addr, done) {
            Ok(mut job) => {
                Note::take();
                job.tls = tls.map(Box::new);
                if let Some(pairs) = &mut self.pairs {
                    pairs.add(job);
                }
            }
            Err((done, sock, e)) => done(Err(e), &sock),
        }
    }

    /// A `--proxy-server` client whose handshake the loop can run (no TLS, no PROXY header to read,
    /// the plain relay): admitted, then greeted by the pairs ([`Inline`]).
    fn start_greeting(
        &mut self,
        sock: Socket,
        who: String,
        peer: Option<SocketAddr>,
        id: u64,
        srv: Arc<ProxyServer>,
    ) -> Option<(Socket, String)> {
        let inline = self.cfg.keep_open
            && self.cfg.tls.is_none()
            && !srv.admission.accept_proxy_protocol
            && suits(&srv.relay);
        if !inline || self.pairs_ready().is_none() {
            return Some((sock, who));
        }
        let done = self.pair_done(who, id, false);
        // What the admission notes (a refusal) goes into the events file, as on a client's thread.
        Note::start();
        let addrs = match srv.admission.admit(&sock, peer) {
            Ok(a) => a,
            Err(e) => {
                done(Err(e), &sock);
                return None;
            }
        };
        Note::take();
        let events = self.cfg.events.clone();
        let on_dest = Box::new(move |d: &str| {
            if let Some(ev) = &events {
                ev.set_session_dest(id, d);
            }
        });
        let deadline = Instant::now() + srv.handshake_timeout;
        let idle = srv.relay.idle_timeout;
        let front = Inline::new(srv, addrs.shown(), deadline, on_dest);
        if let Some(pairs) = &mut self.pairs {
            pairs.greet(sock, Box::new(front), deadline, idle, done);
        }
        None
    }

    /// This loop's pairs, started on first use (their sockets go into this loop's epoll set).
    pub(super) fn pairs_ready(&mut self) -> Option<&mut Pairs> {
        if self.pairs.is_none() {
            match Pairs::new(self.poll.registry(), PAIRS_BASE, self.waker.clone()) {
                Ok(p) => self.pairs = Some(p),
                Err(e) => {
                    self.log(|| format!("epoll: {e}"));
                    return None;
                }
            }
        }
        self.pairs.as_mut()
    }

    /// What happens when a pair ends: its `-v` line, its `close` event, its `--max-conns` place.
    pub(super) fn pair_done(&self, who: String, id: u64, say_done: bool) -> Done {
        done_for(
            self.in_use.clone(),
            self.cfg.verbose,
            self.cfg.events.clone(),
            who,
            id,
            say_done,
        )
    }

    /// A [`Handle`] to this loop's pairs for a client's thread (a proxy tunnel whose handshake ran
    /// there), when its tunnel can be relayed here.
    pub(super) fn pairs_handle(&mut self) -> Option<Handle> {
        if !self.cfg.keep_open || self.cfg.tls.is_some() || !suits(&self.cfg.relay) {
            return None;
        }
        self.pairs_ready().map(|p| p.handle())
    }

    /// After a turn's events: the pairs with work left move on, and their due timers fire.
    pub(super) fn settle_pairs(&mut self) {
        if let Some(p) = &mut self.pairs {
            p.settle();
        }
    }
}

/// What happens when a pair ends: its `-v` line (`done after` for a forwarded client when
/// `say_done`), its `close` event, its `--max-conns` place.
pub(super) fn done_for(
    in_use: Arc<AtomicUsize>,
    verbose: bool,
    events: Option<Arc<Events>>,
    who: String,
    id: u64,
    say_done: bool,
) -> Done {
    let started = Instant::now();
    Box::new(move |result, client| {
        // Free before said, as on a client's thread.
        in_use.fetch_sub(1, Ordering::SeqCst);
        if verbose {
            match &result {
                Err(e) => crate::diag!("{who}: {}", exit::render(e)),
                Ok(()) if say_done => {
                    crate::diag!("{who} done after {:.3} s", started.elapsed().as_secs_f64())
                }
                Ok(()) => {}
            }
        }
        if let Some(ev) = &events {
            report(ev, id, Some(client), &result);
        }
    })
}
