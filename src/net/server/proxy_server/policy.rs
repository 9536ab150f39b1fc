//! Who may use the proxy (`--auth-file` users) and where to (`--dest-allow`/`--dest-deny`).

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use anyhow::Result;
use ipnet::IpNet;

use crate::exit;
use crate::net::parse::{parse_cidr, parse_port};
use crate::net::stream::proxy::Credentials;

/// The `--auth-file` users.
#[derive(Clone, Default)]
pub struct Users(Vec<Credentials>);

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Users({} entries)", self.0.len())
    }
}

impl Users {
    pub fn new(list: Vec<Credentials>) -> Users {
        Users(list)
    }

    /// Compares every entry without stopping at the first difference (no timing hint which part was
    /// wrong).
    pub fn check(&self, user: &[u8], pass: &[u8]) -> bool {
        fn same(a: &[u8], b: &[u8]) -> bool {
            let mut diff = a.len() ^ b.len();
            for (i, &x) in a.iter().enumerate() {
                diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
            }
            diff == 0
        }
        let mut ok = false;
        for c in &self.0 {
            ok |= same(c.user.as_bytes(), user) & same(c.pass.as_bytes(), pass);
        }
        ok
    }
}

/// Reads `--auth-file`: `USER:PASS` lines (empty lines and `#` comments skipped); status 2 when the file
/// is missing, malformed or lists nobody.
pub(crate) fn read_users(path: &Path) -> Result<Users> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| exit::usage(format!("--auth-file {shown}: {}", exit::describe_io(&e))))?;
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((user, pass)) if !user.is_empty() && user.len() <= 255 && pass.len() <= 255 => {
                users.push(Credentials {
                    user: user.into(),
                    pass: pass.into(),
                })
            }
            _ => {
                return Err(exit::usage(format!(
                    "--auth-file {shown}: line {} is not USER:PASS",
                    n + 1
                )));
            }
        }
    }
    if users.is_empty() {
        return Err(exit::usage(format!(
            "--auth-file {shown}: no USER:PASS line"
        )));
    }
    Ok(Users(users))
}

/// One `--dest-allow`/`--dest-deny` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestRule {
    Net(IpNet),
    /// A host name (lower case); `.example.com` also matches every name under it.
    Name(String),
    Port(u16),
}

/// Parses a rule: `:PORT`, a CIDR or address, or a host name. Anything else is status 2.
pub fn parse_dest_rule(text: &str) -> Result<DestRule> {
    if let Some(port) = text.strip_prefix(':') {
        return Ok(DestRule::Port(parse_port(port)?));
    }
    if text.contains('/') || text.parse::<IpAddr>().is_ok() {
        return Ok(DestRule::Net(parse_cidr(text)?));
    }
    let name = text.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let body = name.strip_prefix('.').unwrap_or(&name);
    if body.is_empty() || name.len() > 253 || !body.split('.').all(label_ok) {
        return Err(exit::usage(format!(
            "invalid destination rule {text:?}: expected a CIDR, a host name or :PORT"
        )));
    }
    Ok(DestRule::Name(name))
}

/// `--dest-allow` and `--dest-deny`.
#[derive(Debug, Clone, Default)]
pub struct DestPolicy {
    pub allow: Vec<DestRule>,
    pub deny: Vec<DestRule>,
}

impl DestRule {
    fn matches(&self, name: Option<&str>, ip: Option<IpAddr>, port: u16) -> bool {
        match self {
            DestRule::Port(p) => *p == port,
            DestRule::Net(net) => ip.is_some_and(|ip| net.contains(&ip.to_canonical())),
            DestRule::Name(rule) => name.is_some_and(|n| {
                let n = n.trim_end_matches('.').to_ascii_lowercase();
                match rule.strip_prefix('.') {
                    Some(domain) => n == domain || n.ends_with(rule.as_str()),
                    None => n == *rule,
                }
            }),
        }
    }
}

impl DestPolicy {
    /// May the client reach `ip` (resolved from `name`, if it was a name) on `port`? Deny wins; with
    /// allow rules, one must match.
    pub fn admits(&self, name: Option<&str>, ip: IpAddr, port: u16) -> bool {
        let hit = |r: &DestRule| r.matches(name, Some(ip), port);
        !self.deny.iter().any(hit) && (self.allow.is_empty() || self.allow.iter().any(hit))
    }

    /// A quick verdict on the name alone, before resolving it: denied by a name or port rule.
    pub(super) fn denies_name(&self, name: &str, port: u16) -> bool {
        self.deny
            .iter()
            .any(|r| !matches!(r, DestRule::Net(_)) && r.matches(Some(name), None, port))
    }
}
