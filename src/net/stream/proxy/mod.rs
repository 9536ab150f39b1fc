//! Proxied connections, the client side: one more way to open a stream. The first proxy is reached with
//! the ordinary Happy Eyeballs connect; then each hop of the chain is asked, in its own protocol, to
//! connect to the next hop (or, from the last, to the target). The result is a connected socket, so the
//! relay and everything after it are unchanged.
//!
//! | scheme | handshake | destination sent as |
//! | --- | --- | --- |
//! | `socks5://` | RFC 1928, user/pass of RFC 1929 | an address resolved here |
//! | `socks5h://` | the same | the name, resolved by the proxy |
//! | `socks4://` | SOCKS4 | an IPv4 address resolved here |
//! | `socks4a://` | SOCKS4a | the name |
//! | `http://` | `CONNECT host:port HTTP/1.1`, Basic auth | the name |
//!
//! Every handshake reads exactly its reply and not a byte more (what follows belongs to the stream), is
//! bounded in size ([`http::MAX_HTTP_HEADER`]) and in time (`-w`, else [`HANDSHAKE_TIMEOUT`]), and a refusal is
//! reported in the proxy's words (`socks5: connection refused by destination`,
//! `http proxy: 407 Proxy Authentication Required`).
//!
//! The parts: [`url`] (the `--proxy` URLs, credentials, `--proxy-auth-file`), [`socks`] (SOCKS5,
//! SOCKS4, SOCKS4a handshakes), [`http`] (HTTP CONNECT); this file names the destination each hop is
//! asked for and walks the chain.

mod http;
mod socks;
#[cfg(test)]
mod tests;
mod url;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use socket2::Socket;

use crate::exit;
use crate::net::addr::{Family, HostPort, display, resolve};
use crate::net::connect::{ConnectOpts, happy_eyeballs};
use crate::net::socket::{Deadlined, Peek};

pub use http::{base64_decode, base64_encode, http_connect_handshake};
pub use socks::{socks4_handshake, socks5_handshake};
pub(crate) use url::parse_chain;
pub use url::{Credentials, Proxy, Scheme, parse_proxy_url};

/// How long a proxy handshake (each hop's reply) may take when `-w` is not given.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The destination a hop is asked to reach: a name (sent to the proxy) or an address (resolved here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Name(String, u16),
    Addr(SocketAddr),
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Name(host, port) => write!(
                f,
                "{}",
                HostPort {
                    host: host.clone(),
                    port: *port
                }
            ),
            Dest::Addr(addr) => f.write_str(&display(addr)),
        }
    }
}

/// How `scheme` names `target`: resolved here for socks5:// and socks4:// (the first address of the
/// admitted family; SOCKS4 carries IPv4 only), an address literal as an address, a name otherwise.
fn destination(scheme: Scheme, target: &HostPort, family: Family) -> Result<Dest> {
    let literal = target.host.parse::<IpAddr>().ok();
    match scheme {
        Scheme::Socks5 => Ok(Dest::Addr(resolve(&target.host, target.port, family)?[0])),
        Scheme::Socks4 => {
            if family == Family::V6 || literal.is_some_and(|ip| ip.is_ipv6()) {
                return Err(exit::usage(format!(
                    "socks4 carries IPv4 destinations only, not {target}: use socks5:// or socks5h://"
                )));
            }
            Ok(Dest::Addr(
                resolve(&target.host, target.port, Family::V4)?[0],
            ))
        }
        Scheme::Socks5h | Scheme::Socks4a | Scheme::Http => Ok(match literal {
            Some(ip) if family.admits(&ip) => Dest::Addr(SocketAddr::new(ip, target.port)),
            Some(_) => {
                return Err(exit::usage(format!(
                    "{} is not an address of the family asked for",
                    target.host
                )));
            }
            None => Dest::Name(target.host.clone(), target.port),
        }),
    }
}

/// A handshake error: runtime failure (status 1) unless it is a timeout.
fn io_failure(e: io::Error, who: &str) -> anyhow::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            exit::timeout(format!("{who}: no answer in time"))
        }
        io::ErrorKind::UnexpectedEof => {
            anyhow!("{who}: the proxy closed the connection during the handshake")
        }
        _ => anyhow::Error::new(e).context(who.to_string()),
    }
}

fn read_exact(s: &mut impl Read, buf: &mut [u8], who: &str) -> Result<()> {
    s.read_exact(buf).map_err(|e| io_failure(e, who))
}

fn write_all(s: &mut impl Write, buf: &[u8], who: &str) -> Result<()> {
    s.write_all(buf).map_err(|e| io_failure(e, who))?;
    s.flush().map_err(|e| io_failure(e, who))
}

/// Runs one hop's handshake on `s`, asking for `next`.
fn handshake<S: Peek + Write>(
    s: &mut S,
    hop: &Proxy,
    next: &HostPort,
    family: Family,
) -> Result<()> {
    let dest = destination(hop.scheme, next, family)?;
    match hop.scheme {
        Scheme::Socks5 | Scheme::Socks5h => socks5_handshake(s, &dest, hop.auth.as_ref()),
        Scheme::Socks4 | Scheme::Socks4a => {
            let user = hop.auth.as_ref().map_or("", |a| a.user.as_str());
            socks4_handshake(s, &dest, user)
        }
        Scheme::Http => http_connect_handshake(s, &dest, hop.auth.as_ref()),
    }
}

/// Connects to `target` through `chain` (first hop first): the first proxy the Happy Eyeballs way, then
/// one handshake per hop. `opts.timeout` bounds the whole (else each handshake has
/// [`HANDSHAKE_TIMEOUT`]). Returns the socket, connected to the first proxy, and that proxy's address.
pub(crate) fn connect_through(
    chain: &[Proxy],
    target: &HostPort,
    opts: &ConnectOpts,
) -> Result<(Socket, SocketAddr)> {
    let Some(first) = chain.first() else {
        bail!("no proxy to connect through");
    };
    let started = Instant::now();
    let addrs = resolve(&first.addr.host, first.addr.port, opts.family)
        .with_context(|| format!("proxy {first}"))?;
    let (sock, addr) = happy_eyeballs(&first.addr.to_string(), &addrs, opts)
        .with_context(|| format!("proxy {first}"))?;
    for (i, hop) in chain.iter().enumerate() {
        let next = chain.get(i + 1).map_or(target, |h| &h.addr);
        let deadline = match opts.timeout {
            Some(t) => started + t,
            None => Instant::now() + HANDSHAKE_TIMEOUT,
        };
        let mut s = Deadlined {
            sock: &sock,
            deadline,
            watch: opts.watched(),
        };
        handshake(&mut s, hop, next, opts.family)
            .with_context(|| format!("connect {next} through {hop}"))?;
    }
    sock.set_read_timeout(None)?;
    sock.set_write_timeout(None)?;
    Ok((sock, addr))
}
