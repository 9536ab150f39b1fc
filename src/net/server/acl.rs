//! `--allow CIDR` / `--deny CIDR`: which clients a listener admits. A bare address is a /32 or /128;
//! IPv4 clients of a dual-stack listener (IPv4-mapped IPv6) are judged as the IPv4 address they are.

use std::net::IpAddr;

use ipnet::IpNet;

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::parse::parse_cidr;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
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
