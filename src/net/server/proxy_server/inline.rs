//! The proxy handshake run on the server's loop ([`crate::net::server::pairs`]): a [`Front`] that
//! parses everything the client sent so far with the same code as the thread ([`handshake`]), over
//! a replay of those bytes that says "more" where they end. The parse is a pure function of the bytes
//! (answers included), so running it again as more arrive gives the same answers, of which the loop
//! sends only the new ones. An address-literal destination is connected on the loop; a name is
//! resolved and connected on a thread of its own ([`ProxyServer::open`]).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, anyhow};
use socket2::Socket;

use super::{ProxyServer, Refusal, Request, Wire, bound, handshake, reply};
use crate::exit;
use crate::net::addr::{Family, HostPort, display};
use crate::net::connect::{ConnectOpts, start_attempt};
use crate::net::events::Note;
use crate::net::server::pairs::{Connected, Connecting, Front, Greet, Target};

/// The bytes received so far, then "would block" (or EOF once the client closed); what is written
/// is collected.
struct Replay<'a> {
    input: &'a [u8],
    pos: usize,
    eof: bool,
    starved: bool,
    out: &'a mut Vec<u8>,
}

impl Read for Replay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.input[self.pos..];
        if rest.is_empty() {
            if self.eof {
                return Ok(0);
            }
            self.starved = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Replay<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer for the reply alone.
struct Collect(Vec<u8>);

impl Read for Collect {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

impl Write for Collect {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reply to `req` as bytes.
fn reply_bytes(
    req: &Request,
    outcome: std::result::Result<Option<SocketAddr>, Refusal>,
) -> Vec<u8> {
    let mut w = Wire::new(Collect(Vec::new()));
    let _ = reply(&mut w, req, outcome);
    w.inner.0
}

/// A refusal carried through an error (from the thread that opened the destination).
#[derive(Debug)]
struct Refused(Refusal);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refused {}

/// One client's handshake on the loop.
pub(crate) struct Inline {
    srv: Arc<ProxyServer>,
    who: String,
    deadline: Instant,
    on_dest: Box<dyn Fn(&str) + Send>,
    /// The request, its destination's name, and the bytes for the destination first.
    req: Option<(Request, String, Vec<u8>)>,
}

impl Inline {
    pub(crate) fn new(
        srv: Arc<ProxyServer>,
        who: String,
        deadline: Instant,
        on_dest: Box<dyn Fn(&str) + Send>,
    ) -> Inline {
        Inline {
            srv,
            who,
            deadline,
            on_dest,
            req: None,
        }
    }

    /// The destination's connection, started here for an address literal the policy admits.
    fn connect(&self, req: &Request, ip: IpAddr) -> std::result::Result<Target, Refusal> {
        let family_ok = match self.srv.family {
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
            _ => true,
        };
        if !family_ok || !self.srv.policy.admits(None, ip, req.port) {
            return Err(Refusal::NotAllowed);
        }
        let addr = SocketAddr::new(ip, req.port);
        let timeout = self.deadline.saturating_duration_since(Instant::now());
        let opts = ConnectOpts {
            family: self.srv.family,
            timeout: Some(timeout),
            ..ConnectOpts::default()
        };
        match start_attempt(&addr, &opts) {
            Ok(Ok((sock, _))) => Ok(Target::Connecting {
                sock,
                connect: Connecting {
                    addr,
                    deadline: Some(self.deadline),
                    timeout: Some(timeout),
                    what: display(&addr),
                    nodelay: false,
                    keepalive: false,
                },
            }),
            Ok(Err(e)) => Err(Refusal::of(&anyhow!(e))),
            Err(e) => Err(Refusal::of(&e)),
        }
    }
}

impl Front for Inline {
    fn input(&mut self, input: &[u8], eof: bool, out: &mut Vec<u8>) -> Greet {
        // An authentication refusal is noted for the events file (taken when the pair ends).
        Note::start();
        let mut wire = Wire::new(Replay {
            input,
            pos: 0,
            eof,
            starved: false,
            out,
        });
        let parsed = handshake(&mut wire, self.srv.users.as_ref());
        let starved = wire.inner.starved;
        let req = match parsed {
            Err(_) if starved => {
                Note::take();
                return Greet::More;
            }
            Err(e) => return Greet::Fail(anyhow!("{}", exit::render(&e))),
            Ok(req) => req,
        };
        Note::take();
        let mut first = req.head.clone();
        first.extend_from_slice(wire.leftover());
        let out = wire.inner.out;
        let dest = HostPort {
            host: req.host.clone(),
            port: req.port,
        }
        .to_string();
        (self.on_dest)(&dest);
        let greet = match req.host.parse::<IpAddr>() {
            Ok(ip) => match self.connect(&req, ip) {
                Ok(target) => Greet::Connect(target),
                Err(refusal) => {
                    out.extend_from_slice(&reply_bytes(&req, Err(refusal)));
                    Greet::Fail(anyhow!("{dest}: {refusal}"))
                }
            },
            Err(_) => {
                let (srv, deadline, r) = (self.srv.clone(), self.deadline, req.clone());
                Greet::Open(Box::new(move || {
                    srv.open(&r, deadline)
                        .map(Target::Connected)
                        .map_err(|refusal| anyhow::Error::new(Refused(refusal)))
                }))
            }
        };
        self.req = Some((req, dest, first));
        greet
    }

    fn connected(&mut self, result: Result<&Socket>) -> Connected {
        let Some((req, dest, first)) = self.req.take() else {
            return (Vec::new(), Err(anyhow!("no request")));
        };
        match result {
            Ok(sock) => {
                if self.srv.admission.verbose {
                    let to = sock
                        .peer_addr()
                        .ok()
                        .and_then(|a| a.as_socket())
                        .map_or_else(String::new, |a| format!(" ({})", display(&a)));
                    crate::diag!("{}: {} tunnel to {dest}{to}", self.who, req.protocol.name());
                }
                (
                    reply_bytes(&req, Ok(bound(&req, sock))),
                    Ok((first, dest.into())),
                )
            }
            Err(e) => {
                let refusal = e
                    .downcast_ref::<Refused>()
                    .map_or_else(|| Refusal::of(&e), |r| r.0);
                (
                    reply_bytes(&req, Err(refusal)),
                    Err(anyhow!("{dest}: {refusal}")),
                )
            }
        }
    }

    fn timed_out(&self) -> anyhow::Error {
        anyhow!("the client did not finish its handshake in time")
    }
}
