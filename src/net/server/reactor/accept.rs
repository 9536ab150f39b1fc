//! Accepting: every client passes [`Loop::accepted`], which turns it away ([`Loop::refuse`], with a
//! reason) or lets it in ([`Loop::admit`]): the single-client relay on a thread, a blocking mode on a
//! thread of its own, a `-k --echo` client to a worker loop, anything else to a slot of this loop.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use socket2::{SockAddr, Socket};

use crate::exit;
use crate::net::events::{Note, RefuseReason};
use crate::net::server::Mode;
use crate::net::server::relayed;
use crate::net::socket::describe_sockaddr;
use crate::net::stream::relay::relay;

use super::blocking::report;
use super::{ACCEPT_RETRY, Loop, SPREAD_AT};

/// Why a client was turned away.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refuse {
    Deny,
    Busy,
    MaxConns(usize),
}

impl Refuse {
    /// The `refuse` event's reason (a one-client listen that is busy counts as max-conns: 1).
    fn event(self) -> RefuseReason {
        match self {
            Refuse::Deny => RefuseReason::Deny,
            Refuse::Busy | Refuse::MaxConns(_) => RefuseReason::MaxConns,
        }
    }

    /// The event reason: `deny`, `busy`, `max-conns`.
    #[allow(dead_code)] // the --events writer's
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Refuse::Deny => "deny",
            Refuse::Busy => "busy",
            Refuse::MaxConns(_) => "max-conns",
        }
    }
}

impl Loop {
    pub(super) fn accept_all(&mut self) {
        self.accept_retry = None;
        while self.done.is_none() {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((sock, peer)) => self.accepted(sock, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // A client that left before we took it, or a signal: the next one.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                    ) =>
                {
                    // Out of descriptors: the client waits in the backlog until one frees up.
                    let shown = &self.cfg.shown;
                    self.log(|| format!("accept on {shown}: {}", exit::describe_io(&e)));
                    self.accept_retry = Some(Instant::now() + ACCEPT_RETRY);
                    return;
                }
                Err(e) => {
                    let what = format!("accept on {}", self.cfg.shown);
                    self.finish(Err(anyhow!(e).context(what)));
                    return;
                }
            }
        }
    }

    fn accepted(&mut self, sock: Socket, peer: SockAddr) {
        let who = describe_sockaddr(&peer);
        if !self.cfg.acl.admits(peer.as_socket().map(|a| a.ip())) {
            return self.refuse(sock, &who, Refuse::Deny);
        }
        if !self.cfg.keep_open && self.accepted_any {
            return self.refuse(sock, &who, Refuse::Busy);
        }
        if let Some(limit) = self.cfg.max_conns
            && self.in_use.load(Ordering::SeqCst) >= limit
        {
            return self.refuse(sock, &who, Refuse::MaxConns(limit));
        }
        self.admit(sock, who, peer.as_socket());
    }

    /// Turns a client away with a reset (SO_LINGER 0), so it fails at once whatever it does next.
    fn refuse(&mut self, sock: Socket, who: &str, why: Refuse) {
        let _ = sock.set_linger(Some(Duration::ZERO));
        drop(sock);
        if let Some(ev) = &self.cfg.events {
            ev.refuse(who, why.event());
        }
        self.log(|| match why {
            Refuse::Deny => format!("refused {who}: not allowed"),
            Refuse::Busy => format!("refused {who}: busy with another client"),
            Refuse::MaxConns(limit) => format!("refused {who}: {limit} connections already"),
        });
    }

    /// Does a client's accept line wait for its admission? Under `--accept-proxy-protocol` its
    /// address is its PROXY header's source (for `--events` too), known only once the header is read
    /// on its thread.
    pub(super) fn deferred_accept(&self) -> bool {
        match &self.mode {
            Mode::Forward(fwd) => fwd.admission.accept_proxy_protocol,
            Mode::ProxyServer(srv) => srv.admission.accept_proxy_protocol,
            _ => false,
        }
    }

    /// A client is in: give it a slot and start serving it by the mode. `peer` is its address as
    /// accept(2) gave it (None for a Unix client), for the modes that admit it again themselves.
    fn admit(&mut self, sock: Socket, who: String, peer: Option<SocketAddr>) {
        self.accepted_any = true;
        self.first_deadline = None;
        let id = self.next_id;
        self.next_id += 1;
        self.log(|| format!("connection from {who}"));
        if let Some(ev) = &self.cfg.events
            && !self.deferred_accept()
        {
            ev.open_session(id, &who);
        }
        if let Some((input, output)) = self.single.take() {
            // The one client of a plain `listen`: the stream relay, on a thread (stdin and stdout block).
            let cfg = self.cfg.relay.clone();
            let result = self.single_result.clone();
            let waker = self.waker.clone();
            let events = self
                .cfg
                .events
                .clone()
                .map(|ev| (ev, sock.try_clone().ok()));
            let tls = self.cfg.tls.clone().map(|t| (t, self.cfg.verbose, who));
            let began = std::time::Instant::now();
            std::thread::spawn(move || {
                Note::start();
                crate::net::stream::hexdump::serving(id, began);
                let r = match tls {
                    Some((tls, verbose, who)) => {
                        tls.serve_one(sock, input, output, &cfg, verbose, &who)
                    }
                    None => relay(sock, input, output, &cfg),
                };
                if let Some((ev, dup)) = events {
                    report(&ev, id, dup.as_ref(), &r);
                }
                *result.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                let _ = waker.wake();
            });
            return;
        }
        self.in_use.fetch_add(1, Ordering::SeqCst);
        // Every --tls client of `-k` and `--broker` (the one client of a plain `listen` is above).
        if self.handshakes_on_loop() {
            return self.start_handshake(sock, who, peer, id);
        }
        let blocking = match &self.mode {
            Mode::Forward(_) | Mode::ProxyServer(_) => true,
            // A TLS session blocks (its handshake, then rustls over the socket).
            _ if self.cfg.tls.is_some() => true,
            Mode::Exec(spec) => relayed::wanted(spec, &self.cfg.relay),
            _ => false,
        };
        if blocking {
            let Some((sock, who)) = self.start_paired(sock, who, peer, id) else {
                return;
            };
            let tls = self.cfg.tls.clone();
            return self.start_blocking(sock, who, peer, id, tls);
        }
        if matches!(self.mode, Mode::Echo)
            && self.cfg.keep_open
            && self.inbox.is_none()
            && self.active >= SPREAD_AT
            && self.workers.is_empty()
            && let Err(e) = self.start_workers()
        {
            self.log(|| format!("{e:#}"));
        }
        if !self.workers.is_empty() && self.active >= SPREAD_AT {
            let worker = &self.workers[self.next_worker % self.workers.len()];
            self.next_worker = self.next_worker.wrapping_add(1);
            if worker.tx.send((sock, who, id)).is_ok() {
                let _ = worker.waker.wake();
            } else {
                self.in_use.fetch_sub(1, Ordering::SeqCst);
            }
            return;
        }
        self.start(sock, who, id);
    }
}
