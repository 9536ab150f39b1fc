//! `listen --proxy-server`: SOCKS4/4a, SOCKS5 (CONNECT) and HTTP (CONNECT and absolute-form requests
//! such as `GET http://host/path`) on one port, told apart by the first byte (4, 5, or a letter).
//!
//! A proxy faces the network, so every handshake is bounded: at most [`MAX_HANDSHAKE`] bytes and the
//! handshake deadline (`-w`, default [`HANDSHAKE_TIMEOUT`]) for everything before the tunnel starts.
//! `--auth-file` (`USER:PASS` lines) makes SOCKS5 ask for username/password (RFC 1929) and HTTP for
//! Basic (407 without); SOCKS4 has no password and is then refused. `--dest-allow`/`--dest-deny`
//! (CIDR, host name or `:PORT`; deny wins) are checked against the requested name and against every
//! address it resolves to, so a name cannot smuggle a denied address. Then the one relay joins client
//! and destination, zero-copy, half-close carried both ways.

mod http;
pub(crate) mod inline;
mod policy;
mod request;
mod socks;
#[cfg(test)]
mod tests;
mod wire;

pub(crate) use policy::read_users;
pub use policy::{DestPolicy, Users, parse_dest_rule};
pub use request::{Protocol, Refusal, Request};
pub use wire::{MAX_HANDSHAKE, Wire};

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use socket2::Socket;

use crate::exit;
use crate::net::addr::{Family, HostPort, display, resolve};
use crate::net::connect::{ConnectOpts, happy_eyeballs};
use crate::net::server::forward::Admission;
use crate::net::server::pairs::Target as PairTarget;
use crate::net::socket::Deadlined;
use crate::net::stream::relay::{RelayConfig, join};
use crate::net::stream::{Endpoint, tls};
use http::{http, http_error};
use request::{bad, io_err};
use socks::{socks4, socks5, socks5_reply};

/// The handshake deadline when `-w` is not given.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a client's handshake up to its destination (answering the SOCKS method and authentication
/// steps on the way): the protocol is told apart by the first byte. Errors have already been
/// answered in the client's protocol where it has a way to say so.
pub fn handshake<S: Read + Write>(w: &mut Wire<S>, users: Option<&Users>) -> Result<Request> {
    match w.peek().map_err(io_err)? {
        4 => socks4(w, users),
        5 => socks5(w, users),
        b'A'..=b'Z' => http(w, users),
        b => Err(bad(format!(
            "first byte 0x{b:02x} is neither SOCKS4, SOCKS5 nor HTTP"
        ))),
    }
}

/// Answers the request: Ok with the destination socket's local address, or the refusal.
pub fn reply<S: Read + Write>(
    w: &mut Wire<S>,
    req: &Request,
    outcome: std::result::Result<Option<SocketAddr>, Refusal>,
) -> io::Result<()> {
    match (req.protocol, outcome) {
        (Protocol::Socks4, Ok(_)) => w.write_all(&[0, 0x5a, 0, 0, 0, 0, 0, 0]),
        (Protocol::Socks4, Err(_)) => w.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]),
        (Protocol::Socks5, Ok(bound)) => w.write_all(&socks5_reply(0, bound)),
        (Protocol::Socks5, Err(r)) => w.write_all(&socks5_reply(r.socks5_code(), None)),
        (Protocol::HttpConnect, Ok(_)) => {
            w.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        }
        (Protocol::HttpForward, Ok(_)) => Ok(()),
        (Protocol::HttpConnect | Protocol::HttpForward, Err(r)) => {
            w.write_all(&http_error(r.http(), ""))
        }
    }
}

/// The address a success reply names: for SOCKS5, the destination socket's own (BND.ADDR and
/// BND.PORT); the other replies name none, so it is not asked for.
pub(crate) fn bound(req: &Request, target: &Socket) -> Option<SocketAddr> {
    if req.protocol != Protocol::Socks5 {
        return None;
    }
    target.local_addr().ok().and_then(|a| a.as_socket())
}

/// The proxy server's settings.
#[derive(Debug, Clone)]
pub(crate) struct ProxyServer {
    pub users: Option<Users>,
    pub policy: DestPolicy,
    /// `-w`: the whole handshake, and the connect to the destination within it.
    pub handshake_timeout: Duration,
    pub family: Family,
    pub relay: RelayConfig,
    pub admission: Admission,
}

impl ProxyServer {
    /// Resolves and checks the destination, then connects (Happy Eyeballs over the admitted addresses).
    pub(crate) fn open(
        &self,
        req: &Request,
        deadline: Instant,
    ) -> std::result::Result<Socket, Refusal> {
        let literal = req.host.parse::<IpAddr>().is_ok();
        let name = (!literal).then_some(req.host.as_str());
        if name.is_some_and(|n| self.policy.denies_name(n, req.port)) {
            return Err(Refusal::NotAllowed);
        }
        let addrs = resolve(&req.host, req.port, self.family).map_err(|e| {
            if exit::status_of(&e) == exit::USAGE {
                Refusal::NotAllowed
            } else {
                Refusal::HostUnreachable
            }
        })?;
        let admitted: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| self.policy.admits(name, a.ip(), a.port()))
            .collect();
        if admitted.is_empty() {
            return Err(Refusal::NotAllowed);
        }
        let opts = ConnectOpts {
            family: self.family,
            timeout: Some(deadline.saturating_duration_since(Instant::now())),
            ..ConnectOpts::default()
        };
        let shown = HostPort {
            host: req.host.clone(),
            port: req.port,
        }
        .to_string();
        happy_eyeballs(&shown, &admitted, &opts)
            .map(|(sock, _)| sock)
            .map_err(|e| Refusal::of(&e))
    }

    /// Serves one client: admission, the TLS handshake under `listen --tls` (within the same
    /// deadline), the proxy handshake, destination, reply, then the relay. `on_dest` hears the
    /// requested destination (for `--events`).
    ///
    /// `pairs`, when given, takes a plain (non-TLS) tunnel once it is set up, to relay it on the
    /// server's loop instead of this thread ([`crate::net::server::pairs`]): client, destination,
    /// the destination's name.
    pub(crate) fn serve(
        &self,
        client: Socket,
        peer: Option<SocketAddr>,
        on_dest: &dyn Fn(&str),
        tls: Option<&tls::Server>,
        pairs: Option<&mut dyn FnMut(Socket, PairTarget, String, String)>,
    ) -> Result<()> {
        client.set_nonblocking(false)?;
        client.set_read_timeout(None)?;
        let addrs = self.admission.admit(&client, peer)?;
        let who = addrs.shown();
        // One deadline for everything before the tunnel, from the TLS handshake's start when the
        // server's loop ran it already.
        let began = tls.and_then(tls::Server::began);
        let deadline = began.unwrap_or_else(Instant::now) + self.handshake_timeout;
        let Some(server) = tls else {
            let mut wire = Wire::new(Deadlined {
                sock: &client,
                deadline,
                watch: None,
            });
            let (dest, target) = self.tunnel(&mut wire, deadline, &who, on_dest)?;
            client.set_read_timeout(None)?;
            client.set_write_timeout(None)?;
            if let Some(hand_over) = pairs {
                hand_over(client, PairTarget::Connected(target), dest, who);
                return Ok(());
            }
            // Each end's errors name it: a client that went away is not the destination's fault.
            return join(
                Endpoint::socket_named(client, "client"),
                Endpoint::socket_named(target, &dest),
                &self.relay,
            );
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let (stream, summary) = server.handshake(client, Some(left))?;
        let verbose = self.admission.verbose;
        if verbose {
            crate::diag!("{who}: {}", summary.line());
        }
        let (mut reader, mut writer) = stream.split();
        let mut wire = Wire::new(tls::served::Deadlined {
            reader: &mut reader,
            writer: &mut writer,
            deadline,
        });
        let (dest, target) = self.tunnel(&mut wire, deadline, &who, on_dest)?;
        reader.clear_timeouts()?;
        join(
            Endpoint::tls_halves(reader, writer, verbose),
            Endpoint::socket_named(target, &dest),
            &self.relay,
        )
    }

    /// The proxy handshake on `wire`, then the destination's connection and the reply: the
    /// destination's name and its socket, which has had whatever the client sent past its handshake.
    fn tunnel<S: Read + Write>(
        &self,
        wire: &mut Wire<S>,
        deadline: Instant,
        who: &str,
        on_dest: &dyn Fn(&str),
    ) -> Result<(String, Socket)> {
        let req =
            handshake(wire, self.users.as_ref()).map_err(|e| anyhow!("{}", exit::render(&e)))?;
        let dest = HostPort {
            host: req.host.clone(),
            port: req.port,
        }
        .to_string();
        on_dest(&dest);
        let target = match self.open(&req, deadline) {
            Ok(sock) => sock,
            Err(refusal) => {
                let _ = reply(wire, &req, Err(refusal));
                bail!("{dest}: {refusal}");
            }
        };
        reply(wire, &req, Ok(bound(&req, &target))).map_err(|e| anyhow!("reply: {e}"))?;
        let mut first = req.head.clone();
        first.extend_from_slice(wire.leftover());
        if !first.is_empty() {
            (&target)
                .write_all(&first)
                .map_err(|e| anyhow!("{dest}: {}", exit::describe_io(&e)))?;
        }
        if self.admission.verbose {
            let to = target
                .peer_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .map_or_else(String::new, |a| format!(" ({})", display(&a)));
            crate::diag!("{who}: {} tunnel to {dest}{to}", req.protocol.name());
        }
        Ok((dest, target))
    }
}
