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
use crate::net::proxy_protocol;
use crate::net::server::Mode;
use crate::net::server::forward::{Admission, ClientAddrs, Forward, Opening};
use crate::net::server::pairs::{Done, Handle, Pairs, suits};
use crate::net::server::proxy_server::ProxyServer;
use crate::net::server::proxy_server::inline::Inline;
use crate::net::stream::tls::{Accepting, Looped, Summary};

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
        // ([`Loop::serve_tls_on_loop`]).
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

    /// A `-k --tls` client whose handshake the loop ran: under `--forward` and `--proxy-server` its
    /// session stays on the loop (a pair with its target, after the proxy handshake for a proxy
    /// client) when the mode's work allows ([`Forward::inline_addr`], the plain relay); given back
    /// otherwise (with its session, for a thread).
    pub(super) fn serve_tls_on_loop(
        &mut self,
        sock: Socket,
        name: String,
        peer: Option<SocketAddr>,
        id: u64,
        accepted: Accepting,
    ) -> Option<(Socket, String, Accepting)> {
        match &self.mode {
            Mode::Forward(fwd) => {
                let fwd = fwd.clone();
                let addr = fwd.inline_addr();
                if addr.is_none() && !fwd.opens_then_pairs() {
                    return Some((sock, name, accepted));
                }
                let (session, summary) = accepted.into_looped(self.cfg.verbose);
                if self.cfg.verbose {
                    crate::diag!("{name}: {}", summary.line());
                }
                let done = self.pair_done(name, id, true);
                let done = self.tls_done(done, &session, &summary);
                match addr {
                    Some(addr) => {
                        self.forward_on_loop(&fwd, sock, Some(session), peer, id, addr, done)
                    }
                    None => self.forward_opening(fwd, sock, session, peer, id, done),
                }
            }
            Mode::ProxyServer(srv) if suits(&srv.relay) => {
                let srv = srv.clone();
                let began = accepted.began;
                let (session, summary) = accepted.into_looped(self.cfg.verbose);
                let tls = Some((session, summary));
                self.greet_on_loop(sock, name, peer, id, srv, tls, began);
            }
            _ => return Some((sock, name, accepted)),
        }
        None
    }

    /// A `--tls` client forwarded to a target that takes a blocking open: admitted, then greeted by
    /// the pairs with an [`Opening`] front, which opens the target on a thread; then its pair is
    /// relayed here with its session.
    fn forward_opening(
        &mut self,
        fwd: Arc<Forward>,
        sock: Socket,
        session: Looped,
        peer: Option<SocketAddr>,
        id: u64,
        done: Done,
    ) {
        if let Some(ev) = &self.cfg.events {
            ev.set_session_dest(id, &fwd.target.to_string());
        }
        let addrs = match admit_noted(&fwd.admission, &sock, peer) {
            Ok(a) => a,
            Err(e) => return done(Err(e), &sock),
        };
        let header = fwd
            .proxy_protocol
            .map(|version| proxy_protocol::encode(version, addrs.header(&sock)));
        let idle = fwd.relay.idle_timeout;
        let front = Opening::new(fwd, header, addrs.shown());
        let deadline = Instant::now() + front.within();
        match self.pairs_ready() {
            Some(pairs) => pairs.greet(
                sock,
                Some(Box::new(session)),
                Box::new(front),
                deadline,
                idle,
                done,
            ),
            None => done(
                Err(anyhow::anyhow!("the server cannot watch more clients")),
                &sock,
            ),
        }
    }

    /// `done` for a TLS session on the loop: its close line has what TLS agreed and the plaintext
    /// counts, as on a client's thread.
    fn tls_done(&self, done: Done, session: &Looped, summary: &Summary) -> Done {
        if self.cfg.events.is_none() {
            return done;
        }
        let (tls, counts) = (summary.json(), session.counts());
        Box::new(move |result, client| {
            Note::go_on();
            Note::tls(tls, Box::new(move || counts.get()));
            done(result, client)
        })
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
        self.greet_on_loop(sock, who, peer, id, srv, None, Instant::now());
        None
    }

    /// A proxy client admitted, then greeted by the pairs ([`Inline`]); with its TLS session (the
    /// loop ran its handshake, which `began`: the proxy handshake's deadline counts from there).
    #[allow(clippy::too_many_arguments)]
    fn greet_on_loop(
        &mut self,
        sock: Socket,
        who: String,
        peer: Option<SocketAddr>,
        id: u64,
        srv: Arc<ProxyServer>,
        tls: Option<(Looped, Summary)>,
        began: Instant,
    ) {
        let mut done = self.pair_done(who, id, false);
        if let Some((session, summary)) = &tls {
            done = self.tls_done(done, session, summary);
        }
        let addrs = match admit_noted(&srv.admission, &sock, peer) {
            Ok(a) => a,
            Err(e) => return done(Err(e), &sock),
        };
        let session = tls.map(|(session, summary)| {
            if self.cfg.verbose {
                crate::diag!("{}: {}", addrs.shown(), summary.line());
            }
            Box::new(session)
        });
        let events = self.cfg.events.clone();
        let on_dest = Box::new(move |d: &str| {
            if let Some(ev) = &events {
                ev.set_session_dest(id, d);
            }
        });
        let deadline = began + srv.handshake_timeout;
        let idle = srv.relay.idle_timeout;
        let front = Inline::new(srv, addrs.shown(), deadline, on_dest);
        if let Some(pairs) = &mut self.pairs {
            pairs.greet(sock, session, Box::new(front), deadline, idle, done);
        }
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

/// A client's admission on the loop's thread: what it notes (a refusal) is kept for the events
/// file, reported by the client's `done` as on a client's thread; an admitted client's note goes.
fn admit_noted(
    admission: &Admission,
    sock: &Socket,
    peer: Option<SocketAddr>,
) -> anyhow::Result<ClientAddrs> {
    Note::start();
    let admitted = admission.admit(sock, peer);
    if admitted.is_ok() {
        Note::take();
    }
    admitted
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
