//! `--allow CIDR` / `--deny CIDR`: which clients a listener admits. A bare address is a /32 or /128;
//! IPv4 clients of a dual-stack listener (IPv4-mapped IPv6) are judged as the IPv4 address they are.

use std::net::IpAddr;

use anyhow::Result;
use ipnet::{IpNet, Ipv4Net};

use crate::exit::usage;

/// Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address.
///
/// A network inside the IPv4-mapped range (`::ffff:10.0.0.0/104`, `::ffff:127.0.0.1`) is the IPv4
/// network it spells (`10.0.0.0/8`, `127.0.0.1/32`), since clients are judged as IPv4 addresses: kept
/// as IPv6 it would never match anyone. Shorter IPv6 prefixes (`::/0`) match IPv6 clients only.
pub fn parse_cidr(text: &str) -> Result<IpNet> {
    let text = text.trim();
    let net = match text.parse::<IpAddr>() {
        Ok(ip) => IpNet::from(ip),
        Err(_) => text.parse::<IpNet>().map_err(|_| {
            usage(format!(
                "invalid CIDR {text:?}: expected ADDR or ADDR/PREFIX (10.0.0.0/8, ::1/128)"
            ))
        })?,
    };
    Ok(match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(
                Ipv4Net::new(v4, v6.prefix_len() - 96).expect("a prefix of 96-128 less 96 fits"),
            ),
            None => net,
        },
        _ => net,
    })
}

/// clap value parser for a CIDR option.
pub fn parse_cidr_arg(text: &str) -> Result<IpNet, String> {
    parse_cidr(text).map_err(|e| e.to_string())
}

/// The access rules of a listener.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    pub allow: Vec<IpNet>,
    pub deny: Vec<IpNet>,
}

impl Acl {
    /// Is a client from `ip` admitted? Denied if any `--deny` matches; otherwise admitted if there is no
    /// `--allow` or one matches. Clients without an IP address (Unix sockets) are always admitted.
    pub fn admits(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip.map(|ip| ip.to_canonical()) else {
            return true;
        };
        if self.deny.iter().any(|net| net.contains(&ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn parse() {
        assert_eq!(parse_cidr("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            parse_cidr("::ffff:10.0.0.0/104").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_cidr("::ffff:127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(parse_cidr("::/0").unwrap().to_string(), "::/0");
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host",
            "1.2.3.4/",
            "/8",
        ] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules() {
        let acl = Acl {
            allow: vec![parse_cidr("127.0.0.0/8").unwrap()],
            deny: vec![parse_cidr("127.0.0.2").unwrap()],
        };
        assert!(acl.admits(ip("127.0.0.1")));
        assert!(
            acl.admits(ip("::ffff:127.0.0.1")),
            "IPv4-mapped is judged as IPv4"
        );
        assert!(!acl.admits(ip("127.0.0.2")));
        assert!(!acl.admits(ip("::1")));
        assert!(acl.admits(None));
        assert!(Acl::default().admits(ip("::1")));
    }
}
