//! Endpoints, ports, port lists, durations and name resolution: every piece of user input that names a
//! place on the network is parsed here, strictly. Out-of-range ports and malformed endpoints are usage
//! errors (status 2), never wrapped or guessed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::exit::usage;
use crate::net::parse::parse_port_proto;
use crate::sys;

/// A host (name or address literal) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Splits one `HOST:PORT` or `[IPV6]:PORT` argument into host text and port text.
pub fn split_host_port(text: &str) -> Result<(String, String)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| usage(format!("invalid endpoint {text:?}: missing ']'")))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| usage(format!("invalid endpoint {text:?}: expected [IPV6]:PORT")))?;
        if host.is_empty() {
            return Err(usage(format!("invalid endpoint {text:?}: empty address")));
        }
        if unscoped(host).parse::<Ipv6Addr>().is_err() {
            return Err(usage(format!(
                "invalid endpoint {text:?}: {host:?} is not an IPv6 address"
            )));
        }
        return Ok((host.to_string(), port.to_string()));
    }
    match text.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => Err(usage(format!(
            "invalid endpoint {text:?}: write an IPv6 address with a port as [ADDR]:PORT, or give HOST and PORT as two arguments"
        ))),
        Some((host, port)) if !host.is_empty() => Ok((host.to_string(), port.to_string())),
        _ => Err(usage(format!(
            "invalid endpoint {text:?}: expected HOST:PORT or HOST PORT"
        ))),
    }
}

/// Checks a host argument: not empty, no stray brackets or spaces; a bracketed IPv6 is unwrapped.
pub(crate) fn check_host(text: &str) -> Result<String> {
    let host = text
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(text);
    if host.is_empty()
        || host.contains(['[', ']', '/'])
        || host.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(usage(format!("invalid host {text:?}")));
    }
    // A colon only belongs in an IPv6 address (which may carry a zone: fe80::1%eth0).
    if host.contains(':') && scoped_ipv6(host)?.is_none() && host.parse::<Ipv6Addr>().is_err() {
        return Err(usage(format!("invalid host {text:?}: not an IPv6 address")));
    }
    Ok(host.to_string())
}

/// The address part of a zoned IPv6 literal (`fe80::1` of `fe80::1%eth0`); other text unchanged.
fn unscoped(host: &str) -> &str {
    host.split_once('%').map_or(host, |(addr, _)| addr)
}

/// An IPv6 literal with a zone, as link-local addresses need one (`fe80::1%eth0`, or `fe80::1%2` by
/// interface index): the address and its scope id. Ok(None) when `text` has no `%`; an unknown
/// interface or a malformed literal is bad input (status 2).
pub(crate) fn scoped_ipv6(text: &str) -> Result<Option<(Ipv6Addr, u32)>> {
    let Some((addr, zone)) = text.split_once('%') else {
        return Ok(None);
    };
    let ip: Ipv6Addr = addr.parse().map_err(|_| {
        usage(format!(
            "invalid host {text:?}: {addr:?} is not an IPv6 address (only IPv6 takes a %zone)"
        ))
    })?;
    if zone.is_empty() {
        return Err(usage(format!(
            "invalid host {text:?}: no interface after '%'"
        )));
    }
    let scope = match zone.parse::<u32>() {
        Ok(index) => index,
        Err(_) => sys::netdb::interface_index(zone)
            .ok_or_else(|| usage(format!("invalid host {text:?}: no interface {zone:?}")))?,
    };
    Ok(Some((ip, scope)))
}

/// Parses an endpoint given as `HOST PORT` (two arguments) or `HOST:PORT` / `[IPV6]:PORT` (one).
pub fn parse_endpoint(args: &[String]) -> Result<HostPort> {
    match args {
        [one] => {
            let (host, port) = split_host_port(one)?;
            Ok(HostPort {
                host: check_host(&host)?,
                port: destination_port(&port, "tcp", None)?,
            })
        }
        [host, port] => {
            let port = destination_port(port, "tcp", Some(host))?;
            Ok(HostPort {
                host: check_host(host)?,
                port,
            })
        }
        [] => Err(usage("missing endpoint: give HOST PORT or HOST:PORT")),
        _ => Err(usage(format!(
            "too many arguments: {}: give HOST PORT or HOST:PORT",
            args.join(" ")
        ))),
    }
}

/// Where a command connects to, as one argument (or `HOST PORT`) names it. The scheme picks the kind:
/// none or `tcp://` is TCP, `unix:` a Unix-domain stream socket. A new scheme (`tls://`) is one
/// more arm in [`parse_target`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `HOST PORT`, `HOST:PORT`, `[IPV6]:PORT`, `tcp://HOST:PORT`
    Tcp(HostPort),
    /// `unix:PATH`, `unix:@NAME` (Linux abstract namespace), `unix:///PATH`
    Unix(std::path::PathBuf),
}

/// Splits `SCHEME://REST` or `unix:REST` into the scheme and the rest; None without a scheme.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    if let Some((scheme, rest)) = text.split_once("://")
        && !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-')
    {
        return Some((scheme, rest));
    }
    text.strip_prefix("unix:").map(|rest| ("unix", rest))
}

/// `tls://HOST:PORT` (one argument): the same arguments with `HOST:PORT`, and true (TLS was asked
/// for, as with `--tls`). Anything else is returned as it is, with false.
pub(crate) fn take_tls_scheme(args: &[String]) -> (Vec<String>, bool) {
    if let [one] = args
        && let Some((scheme, rest)) = one.split_once("://")
        && scheme.eq_ignore_ascii_case("tls")
    {
        return (vec![rest.to_string()], true);
    }
    (args.to_vec(), false)
}

/// Parses where to connect: `HOST PORT`, `HOST:PORT`, `[IPV6]:PORT`, `tcp://HOST:PORT`, `unix:PATH`
/// or `unix:@NAME`. An unknown scheme is invalid input.
pub fn parse_target(args: &[String]) -> Result<Target> {
    let [one] = args else {
        return Ok(Target::Tcp(parse_endpoint(args)?));
    };
    let Some((scheme, rest)) = split_scheme(one) else {
        return Ok(Target::Tcp(parse_endpoint(args)?));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Target::Tcp(parse_endpoint(&[rest.to_string()])?)),
        "unix" if rest.is_empty() || rest == "@" => Err(usage(format!(
            "invalid endpoint {one:?}: no path after unix:"
        ))),
        "unix" => Ok(Target::Unix(rest.into())),
        _ => Err(usage(format!(
            "invalid endpoint {one:?}: unknown scheme {scheme}:// (tcp://HOST:PORT, unix:PATH, unix:@NAME)"
        ))),
    }
}

/// The port to send or connect to (service names looked up for `proto`): port 0 is bad input, as
/// it is for nc (only a listener asks for port 0, to be given a free one). `host`, the argument
/// before it, when given as two arguments: a port number there and a host here were swapped.
pub(crate) fn destination_port(text: &str, proto: &str, host: Option<&str>) -> Result<u16> {
    let port = match parse_port_proto(text, proto) {
        Ok(port) => port,
        Err(err) => {
            if let Some(host) = host
                && parse_port_proto(host, proto).is_ok()
                && (text.parse::<IpAddr>().is_ok() || text.contains(['.', ':']))
            {
                return Err(usage(format!(
                    "{text:?} is not a port: the host comes first, then the port ({text} {host})"
                )));
            }
            return Err(err);
        }
    };
    if port == 0 {
        return Err(usage(
            "port 0 is not a destination (only a listener asks for port 0, to get a free one)",
        ));
    }
    Ok(port)
}

/// `[ADDR] PORT` or `ADDR:PORT` of a command that binds (`listen`, `udp-recv`, `sendfile --receive`):
/// the address to bind (None: every address) and the port, service names looked up for `proto`.
pub(crate) fn parse_bind_endpoint(
    endpoint: &[String],
    family: Family,
    proto: &str,
) -> Result<(Option<SocketAddr>, u16)> {
    let (host, port) = match endpoint {
        [one] if one.contains(':') => {
            let (host, port) = split_host_port(one)?;
            (Some(host), port)
        }
        [port] => (None, port.clone()),
        [addr, port] => (Some(check_host(addr)?), port.clone()),
        _ => return Err(usage("give [ADDR] PORT")),
    };
    let port = parse_port_proto(&port, proto)?;
    let ip = match host {
        Some(host) => Some(resolve_local(&host, port, family)?),
        None => None,
    };
    Ok((ip, port))
}

/// Which address families a command may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    /// The family that `-4` / `-6` ask for (`-4` wins; clap keeps them apart anyway).
    pub(crate) fn from_flags(ipv4: bool, ipv6: bool) -> Family {
        match (ipv4, ipv6) {
            (true, _) => Family::V4,
            (_, true) => Family::V6,
            _ => Family::Any,
        }
    }

    pub(crate) fn admits(self, ip: &IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::Any => "any",
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// Resolves `host` to every address (resolver order, duplicates removed) of the admitted family.
/// Not found is a runtime failure (status 1) naming the host.
/// `host` and `port` as an address when `host` is an address literal (with an IPv6 zone too).
fn literal(host: &str, port: u16) -> Result<Option<SocketAddr>> {
    Ok(match scoped_ipv6(host)? {
        Some((ip, scope)) => Some(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope))),
        None => host
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, port)),
    })
}

pub(crate) fn resolve(host: &str, port: u16, family: Family) -> Result<Vec<SocketAddr>> {
    if let Some(addr) = literal(host, port)? {
        if !family.admits(&addr.ip()) {
            return Err(usage(format!("{host} is not an {} address", family.name())));
        }
        return Ok(vec![addr]);
    }
    let found = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("resolve {host}"))?;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for addr in found {
        if family.admits(&addr.ip()) && !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        anyhow::bail!("resolve {host}: no {} address", family.name());
    }
    Ok(addrs)
}

/// [`resolve`] within `timeout` (the connect's `-w`: a [`crate::exit::Timeout`] after it, status 3),
/// given up at once when `watch` resets (the client a forwarder resolves for, see
/// [`crate::net::connect::ConnectOpts::watch`]). getaddrinfo(3) cannot be interrupted, so a name is
/// looked up on a thread of its own, left to finish alone when it is given up; an address literal,
/// or a wait with neither bound, needs no thread.
pub(crate) fn resolve_within(
    host: &str,
    port: u16,
    family: Family,
    timeout: Option<Duration>,
    watch: Option<BorrowedFd<'_>>,
) -> Result<Vec<SocketAddr>> {
    if literal(host, port)?.is_some() || (timeout.is_none() && watch.is_none()) {
        return resolve(host, port, family);
    }
    // The lookup's end closes `theirs`: `mine` is then readable.
    let (mine, theirs) = UnixStream::pair().context("socketpair")?;
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .spawn(move || {
            let _ = tx.send(resolve(&name, port, family));
            drop(theirs);
        })
        .context("start a thread")?;
    let ready = sys::poll::poll_watched(&[(mine.as_fd(), sys::poll::READABLE)], watch, timeout)
        .with_context(|| format!("resolve {host}"))?;
    if ready[0] == 0 {
        return Err(crate::exit::timeout(format!(
            "resolve {host}: no answer within {}",
            humantime::format_duration(timeout.unwrap_or_default())
        )));
    }
    rx.recv().unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "resolve {host}: the lookup ended without an answer"
        ))
    })
}

/// Resolves a local address to bind (`-s ADDR`, `listen ADDR`): the first admitted address.
pub(crate) fn resolve_local(host: &str, port: u16, family: Family) -> Result<SocketAddr> {
    let host = check_host(host)?;
    Ok(resolve(&host, port, family)?[0])
}

/// The local end to bind before connecting to `peer`: the `-s` address (with its IPv6 zone) or the
/// unspecified address of the peer's family, on `port` (None: any).
pub(crate) fn local_end(
    source: Option<SocketAddr>,
    port: Option<u16>,
    peer: &SocketAddr,
) -> SocketAddr {
    let mut local = source.unwrap_or(if peer.is_ipv6() {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    });
    local.set_port(port.unwrap_or(0));
    local
}

/// Formats an address the way the contract prints it: `ADDR:PORT`, `[V6]:PORT`, IPv4-mapped shown as IPv4,
/// a link-local address with its zone (`[fe80::1%2]:PORT`, by interface index).
pub(crate) fn display(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => v6.to_string(),
        _ => SocketAddr::new(addr.ip().to_canonical(), addr.port()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{USAGE, status_of};

    #[test]
    fn endpoints() {
        let ep =
            |args: &[&str]| parse_endpoint(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            ep(&["localhost", "80"]).unwrap(),
            HostPort {
                host: "localhost".into(),
                port: 80
            }
        );
        assert_eq!(
            ep(&["127.0.0.1:22"]).unwrap(),
            HostPort {
                host: "127.0.0.1".into(),
                port: 22
            }
        );
        assert_eq!(
            ep(&["[::1]:8080"]).unwrap(),
            HostPort {
                host: "::1".into(),
                port: 8080
            }
        );
        assert_eq!(
            ep(&["::1", "8080"]).unwrap(),
            HostPort {
                host: "::1".into(),
                port: 8080
            }
        );
        assert_eq!(
            ep(&["[::1]", "8080"]).unwrap(),
            HostPort {
                host: "::1".into(),
                port: 8080
            }
        );
        for bad in [
            &["::1:80"][..],
            &["[::1]"],
            &["[::1"],
            &["host"],
            &[":80"],
            &["h", "99999"],
            &["a", "b", "c"],
            &["[x]:1"],
        ] {
            assert_eq!(status_of(&ep(bad).unwrap_err()), USAGE, "{bad:?}");
        }
    }

    #[test]
    fn zoned_ipv6_literals() {
        let lo = sys::netdb::interface_index("lo").expect("Linux has lo");
        let fe80 = "fe80::1".parse::<Ipv6Addr>().unwrap();
        assert_eq!(scoped_ipv6("fe80::1%lo").unwrap(), Some((fe80, lo)));
        assert_eq!(scoped_ipv6("fe80::1%7").unwrap(), Some((fe80, 7)));
        assert_eq!(scoped_ipv6("fe80::1").unwrap(), None);
        for bad in ["fe80::1%", "fe80::1%no-such-if0", "127.0.0.1%lo", "x%lo"] {
            let err = scoped_ipv6(bad).unwrap_err();
            assert_eq!(status_of(&err), USAGE, "{bad}");
        }
        // In both endpoint forms, and resolved with the scope id.
        let ep =
            |args: &[&str]| parse_endpoint(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        for args in [&["[fe80::1%lo]:80"][..], &["fe80::1%lo", "80"]] {
            let hp = ep(args).unwrap();
            assert_eq!(hp.host, "fe80::1%lo");
            let addrs = resolve(&hp.host, hp.port, Family::Any).unwrap();
            assert_eq!(
                addrs,
                vec![SocketAddr::V6(SocketAddrV6::new(fe80, 80, 0, lo))]
            );
            assert_eq!(display(&addrs[0]), format!("[fe80::1%{lo}]:80"));
        }
        assert_eq!(status_of(&ep(&["[fe80::1%nope0]:80"]).unwrap_err()), USAGE);
        assert_eq!(
            status_of(&resolve("fe80::1%lo", 80, Family::V4).unwrap_err()),
            USAGE
        );
    }
}
