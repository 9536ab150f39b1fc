//! `--allow RULE` / `--deny RULE`: which clients a listener admits. A rule is a CIDR (a bare address
//! is a /32 or /128) or a host name, resolved once at start to every address it has;
//! `--allow-file` / `--deny-file` hold one rule per line (`#` starts a comment). IPv4 clients of a
//! dual-stack listener (IPv4-mapped IPv6) are judged as the IPv4 address they are.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Result;
use ipnet::IpNet;

use crate::exit::{render, usage};
use crate::net::addr::{Family, check_host, resolve};
use crate::net::parse::parse_cidr;

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

    /// The rules of `--allow` and `--allow-file`, `--deny` and `--deny-file`, host names resolved
    /// now. A rule that is neither a CIDR nor a name that resolves, or a file that cannot be read,
    /// is invalid input (status 2).
    pub(crate) fn from_rules(
        allow: &[String],
        allow_files: &[PathBuf],
        deny: &[String],
        deny_files: &[PathBuf],
    ) -> Result<Acl> {
        Ok(Acl {
            allow: rules(allow, allow_files)?,
            deny: rules(deny, deny_files)?,
        })
    }
}

fn rules(args: &[String], files: &[PathBuf]) -> Result<Vec<IpNet>> {
    let mut nets = Vec::new();
    for text in args {
        nets.extend(rule(text)?);
    }
    for path in files {
        let shown = path.display();
        let content = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("{shown}: {}", render(&anyhow::Error::new(e)))))?;
        for (n, line) in content.lines().enumerate() {
            let text = line.split('#').next().unwrap_or("").trim();
            if text.is_empty() {
                continue;
            }
            let found =
                rule(text).map_err(|e| usage(format!("{shown}:{}: {}", n + 1, render(&e))))?;
            nets.extend(found);
        }
    }
    Ok(nets)
}

/// One rule: a CIDR, or a host name and every address it resolves to.
fn rule(text: &str) -> Result<Vec<IpNet>> {
    let text = text.trim();
    if text.contains('/') || text.parse::<IpAddr>().is_ok() || check_host(text).is_err() {
        return Ok(vec![parse_cidr(text)?]);
    }
    let addrs = resolve(text, 0, Family::Any).map_err(|e| {
        usage(format!(
            "invalid rule {text:?}: not a CIDR, and as a host name: {}",
            render(&e)
        ))
    })?;
    Ok(addrs
        .into_iter()
        .map(|a| IpNet::from(a.ip().to_canonical()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn host_names_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("allow.txt");
        std::fs::write(&file, "# local only\n\n  10.0.0.0/8  # inline\nlocalhost\n").unwrap();
        let acl = Acl::from_rules(&[], &[file], &[], &[]).unwrap();
        assert!(acl.admits(ip("127.0.0.1")), "{acl:?}");
        assert!(acl.admits(ip("10.1.2.3")));
        assert!(!acl.admits(ip("192.0.2.1")));
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "127.0.0.1\n10.0.0.0/33\n").unwrap();
        let err = Acl::from_rules(&[], &[bad], &[], &[]).unwrap_err();
        assert!(render(&err).contains("bad.txt:2:"), "{}", render(&err));
    }
}
