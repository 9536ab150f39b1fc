//! Names, addresses, services and protocols as the C library answers them: getaddrinfo, getnameinfo,
//! getservbyname/getservbyport, getprotobyname/getprotobynumber, gethostname. Nothing here reads /etc
//! files itself, so NSS, nscd and DNS give the same answers they give every other program.
//!
//! Not found is a runtime failure (status 1) naming what was looked up; malformed input (a port out of
//! range, an address that is not one) is a usage error (status 2).

use std::net::IpAddr;

use anyhow::{Context, Result, anyhow};

use crate::exit::usage;
use crate::net::addr::Family;
use crate::sys::inet;
use crate::sys::netdb::{self, Protocol, Service};
use crate::sys::resolver::{self, AddrInfo};

/// getaddrinfo for `name`: every result in resolver order (with AI_CANONNAME when `canonical`).
pub fn lookup(name: &str, family: Family, canonical: bool) -> Result<Vec<AddrInfo>> {
    let af = match family {
        Family::Any => libc::AF_UNSPEC,
        Family::V4 => libc::AF_INET,
        Family::V6 => libc::AF_INET6,
    };
    let flags = if canonical { libc::AI_CANONNAME } else { 0 };
    let found =
        resolver::getaddrinfo(name, af, flags).with_context(|| format!("resolve {name}"))?;
    if found.is_empty() {
        return Err(anyhow!("resolve {name}: no address"));
    }
    Ok(found)
}

/// The distinct addresses of a getaddrinfo answer, in its order.
pub(crate) fn unique_addresses(found: &[AddrInfo]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for ai in found {
        let ip = ai.addr.ip();
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// An address as the C library writes it (inet_ntop), e.g. `::1.2.3.4` where Rust would write `::102:304`.
pub(crate) fn ip_text(ip: IpAddr) -> String {
    let text = match ip {
        IpAddr::V4(v4) => inet::ntop(&v4.octets()),
        IpAddr::V6(v6) => inet::ntop(&v6.octets()),
    };
    text.unwrap_or_else(|| ip.to_string())
}

/// AF_INET, AF_INET6 (or the number).
pub(crate) fn family_name(af: i32) -> String {
    match af {
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        other => other.to_string(),
    }
}

/// SOCK_STREAM, SOCK_DGRAM, SOCK_RAW (or the number).
pub(crate) fn socktype_name(ty: i32) -> String {
    match ty {
        libc::SOCK_STREAM => "SOCK_STREAM".into(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".into(),
        libc::SOCK_RAW => "SOCK_RAW".into(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".into(),
        other => other.to_string(),
    }
}

/// The host name of an address (getnameinfo with NI_NAMEREQD). Not an address: status 2; no name:
/// status 1.
pub(crate) fn reverse(text: &str) -> Result<String> {
    let ip: IpAddr = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text.trim())
        .parse()
        .map_err(|_| usage(format!("invalid address {text:?}")))?;
    resolver::getnameinfo(ip).with_context(|| format!("reverse lookup of {text}"))
}

/// Splits `NAME[/PROTO]`.
fn split_proto(spec: &str) -> Result<(&str, Option<&str>)> {
    match spec.split_once('/') {
        Some((name, proto)) if !name.is_empty() && !proto.is_empty() => Ok((name, Some(proto))),
        Some(_) => Err(usage(format!("invalid {spec:?}: expected NAME[/PROTO]"))),
        None if spec.is_empty() => Err(usage("empty service name")),
        None => Ok((spec, None)),
    }
}

/// getservbyname for `NAME[/PROTO]` (any protocol when none is given).
pub(crate) fn service(spec: &str) -> Result<Service> {
    let (name, proto) = split_proto(spec)?;
    netdb::service_by_name(name, proto)
        .ok_or_else(|| anyhow!("service {spec:?}: not found in the services database"))
}

/// getservbyport for `NUMBER[/PROTO]`. A number outside 0-65535 is status 2.
pub(crate) fn port(spec: &str) -> Result<Service> {
    let (number, proto) = split_proto(spec)?;
    let port = match number.parse::<u32>() {
        Ok(n) if n <= 65535 && number.bytes().all(|b| b.is_ascii_digit()) => n as u16,
        _ => {
            return Err(usage(format!(
                "invalid port {number:?}: expected a number 0-65535"
            )));
        }
    };
    netdb::service_by_port(port, proto)
        .ok_or_else(|| anyhow!("port {spec}: no service in the services database"))
}

/// getprotobynumber for a number, getprotobyname for a name.
pub(crate) fn protocol(text: &str) -> Result<Protocol> {
    let text = text.trim();
    if text.is_empty() {
        return Err(usage("empty protocol"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let n = text
            .parse::<i32>()
            .map_err(|_| usage(format!("invalid protocol number {text}")))?;
        return netdb::protocol_by_number(n)
            .ok_or_else(|| anyhow!("protocol {n}: not found in the protocols database"));
    }
    netdb::protocol_by_name(text)
        .ok_or_else(|| anyhow!("protocol {text:?}: not found in the protocols database"))
}

/// This host's name (gethostname).
pub(crate) fn hostname() -> Result<String> {
    resolver::hostname().context("gethostname")
}
