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

use crate::net::socket::Deadlined;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use ipnet::IpNet;
use socket2::Socket;

use crate::exit;
use crate::net::addr::{Family, HostPort, display, resolve};
use crate::net::connect::{ConnectOpts, happy_eyeballs};
use crate::net::parse::{parse_cidr, parse_port};
use crate::net::server::forward::Admission;
use crate::net::stream::Endpoint;
use crate::net::stream::proxy::{Credentials, base64_decode};
use crate::net::stream::relay::{RelayConfig, join};

/// The most a client may send before its tunnel starts (request line and headers included).
pub const MAX_HANDSHAKE: usize = 64 * 1024;

/// The handshake deadline when `-w` is not given.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A bounded, buffered reader over the client for the handshake: reads at most [`MAX_HANDSHAKE`]
/// bytes in all; what it read beyond the handshake ([`Wire::leftover`]) goes to the destination.
pub struct Wire<S> {
    inner: S,
    buf: Vec<u8>,
    pos: usize,
}

fn too_long() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("handshake longer than {} KiB", MAX_HANDSHAKE / 1024),
    )
}

impl<S: Read + Write> Wire<S> {
    pub fn new(inner: S) -> Self {
        Wire {
            inner,
            buf: Vec::with_capacity(512),
            pos: 0,
        }
    }

    /// Reads more from the client; Err at EOF or past the bound.
    fn fill(&mut self) -> io::Result<()> {
        if self.buf.len() >= MAX_HANDSHAKE {
            return Err(too_long());
        }
        let at = self.buf.len();
        // Grows as the handshake does: a stalled client costs 1 KiB, not the bound.
        let room = (MAX_HANDSHAKE - at).min(at.max(1024));
        self.buf.resize(at + room, 0);
        let got = loop {
            match self.inner.read(&mut self.buf[at..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match got {
            Ok(0) => {
                self.buf.truncate(at);
                Err(io::ErrorKind::UnexpectedEof.into())
            }
            Ok(n) => {
                self.buf.truncate(at + n);
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(at);
                Err(e)
            }
        }
    }

    /// The next byte, not consumed.
    pub fn peek(&mut self) -> io::Result<u8> {
        while self.pos >= self.buf.len() {
            self.fill()?;
        }
        Ok(self.buf[self.pos])
    }

    /// Exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.buf.len() - self.pos < n {
            self.fill()?;
        }
        let at = self.pos;
        self.pos += n;
        Ok(&self.buf[at..at + n])
    }

    /// Bytes through the first `delim` (included), at most `max` of them.
    pub fn until(&mut self, delim: &[u8], max: usize) -> io::Result<&[u8]> {
        let mut searched: usize = 0;
        loop {
            let avail = &self.buf[self.pos..];
            let from = searched.saturating_sub(delim.len() - 1);
            if let Some(i) = avail[from..].windows(delim.len()).position(|w| w == delim) {
                let end = from + i + delim.len();
                if end > max {
                    return Err(too_long());
                }
                let at = self.pos;
                self.pos += end;
                return Ok(&self.buf[at..at + end]);
            }
            if avail.len() >= max {
                return Err(too_long());
            }
            searched = avail.len();
            self.fill()?;
        }
    }

    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.inner.write_all(data)?;
        self.inner.flush()
    }

    /// What the client sent beyond its handshake (the start of the tunnel's bytes).
    pub fn leftover(&self) -> &[u8] {
        &self.buf[self.pos..]
    }
}

/// Which protocol a client spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Socks4,
    Socks5,
    HttpConnect,
    /// An absolute-form request (`GET http://host/path`): `head` is the request to send on.
    HttpForward,
}

impl Protocol {
    /// The protocol's name in log lines.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Socks4 => "SOCKS4",
            Protocol::Socks5 => "SOCKS5",
            Protocol::HttpConnect => "HTTP CONNECT",
            Protocol::HttpForward => "HTTP forward",
        }
    }
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub protocol: Protocol,
    /// A host name or an address literal.
    pub host: String,
    pub port: u16,
    /// For [`Protocol::HttpForward`]: the rewritten request head (origin-form, proxy headers removed,
    /// `Connection: close`).
    pub head: Vec<u8>,
}

/// Why a request was not served, for the reply in the client's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAllowed,
    Refused,
    NetUnreachable,
    HostUnreachable,
    TimedOut,
    Failure,
}

impl Refusal {
    fn socks5_code(self) -> u8 {
        match self {
            Refusal::Failure => 1,
            Refusal::NotAllowed => 2,
            Refusal::NetUnreachable => 3,
            Refusal::HostUnreachable | Refusal::TimedOut => 4,
            Refusal::Refused => 5,
        }
    }

    fn http(self) -> &'static str {
        match self {
            Refusal::NotAllowed => "403 Forbidden",
            Refusal::TimedOut => "504 Gateway Timeout",
            _ => "502 Bad Gateway",
        }
    }

    /// The refusal a failed connect deserves.
    fn of(err: &anyhow::Error) -> Refusal {
        if err.chain().any(|c| c.is::<exit::Timeout>()) {
            return Refusal::TimedOut;
        }
        let io = err.chain().find_map(|c| c.downcast_ref::<io::Error>());
        match io.map(|e| e.kind()) {
            Some(io::ErrorKind::ConnectionRefused) => Refusal::Refused,
            Some(io::ErrorKind::NetworkUnreachable) => Refusal::NetUnreachable,
            Some(io::ErrorKind::HostUnreachable) => Refusal::HostUnreachable,
            Some(io::ErrorKind::TimedOut) => Refusal::TimedOut,
            _ => Refusal::Failure,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::NotAllowed => "destination not allowed",
            Refusal::Refused => "connection refused",
            Refusal::NetUnreachable => "network unreachable",
            Refusal::HostUnreachable => "host unreachable",
            Refusal::TimedOut => "timed out",
            Refusal::Failure => "failed",
        })
    }
}

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
    fn denies_name(&self, name: &str, port: u16) -> bool {
        self.deny
            .iter()
            .any(|r| !matches!(r, DestRule::Net(_)) && r.matches(Some(name), None, port))
    }
}

fn bad(why: impl Into<String>) -> anyhow::Error {
    anyhow!(io::Error::new(io::ErrorKind::InvalidData, why.into()))
}

fn io_err(e: io::Error) -> anyhow::Error {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => anyhow!("the client closed the connection mid-handshake"),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            anyhow!("the client did not finish its handshake in time")
        }
        _ => anyhow!(e),
    }
}

fn cstr<S: Read + Write>(w: &mut Wire<S>, what: &str) -> Result<String> {
    let raw = w.until(b"\0", 256).map_err(|e| {
        if e.kind() == io::ErrorKind::InvalidData {
            bad(format!("SOCKS4 {what} longer than 255 bytes"))
        } else {
            io_err(e)
        }
    })?;
    Ok(String::from_utf8_lossy(&raw[..raw.len() - 1]).into_owned())
}

fn socks4<S: Read + Write>(w: &mut Wire<S>, users: Option<&Users>) -> Result<Request> {
    let head = w.take(8).map_err(io_err)?.to_vec();
    let port = u16::from_be_bytes([head[2], head[3]]);
    let _user = cstr(w, "user id")?;
    let host = if head[4..7] == [0, 0, 0] && head[7] != 0 {
        cstr(w, "host name")?
    } else {
        format!("{}.{}.{}.{}", head[4], head[5], head[6], head[7])
    };
    if head[1] != 1 {
        let _ = w.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]);
        bail!("SOCKS4 command {} is not supported (only CONNECT)", head[1]);
    }
    if users.is_some() {
        let _ = w.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]);
        bail!("SOCKS4 has no password and this proxy requires one (use SOCKS5 or HTTP)");
    }
    if host.is_empty() {
        let _ = w.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]);
        return Err(bad("SOCKS4a: empty host name"));
    }
    Ok(Request {
        protocol: Protocol::Socks4,
        host,
        port,
        head: Vec::new(),
    })
}

fn socks5<S: Read + Write>(w: &mut Wire<S>, users: Option<&Users>) -> Result<Request> {
    let n = usize::from(w.take(2).map_err(io_err)?[1]);
    let methods = w.take(n).map_err(io_err)?.to_vec();
    let wanted = if users.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        let _ = w.write_all(&[5, 0xff]);
        bail!(
            "SOCKS5 client offers no acceptable method{}",
            if users.is_some() {
                " (user name and password required)"
            } else {
                ""
            }
        );
    }
    w.write_all(&[5, wanted]).map_err(io_err)?;
    if let Some(users) = users {
        let ver = w.take(2).map_err(io_err)?.to_vec();
        if ver[0] != 1 {
            return Err(bad(format!("SOCKS5 auth version {}", ver[0])));
        }
        let user = w.take(usize::from(ver[1])).map_err(io_err)?.to_vec();
        let plen = usize::from(w.take(1).map_err(io_err)?[0]);
        let pass = w.take(plen).map_err(io_err)?.to_vec();
        if !users.check(&user, &pass) {
            let _ = w.write_all(&[1, 1]);
            bail!(
                "SOCKS5 authentication failed for user {:?}",
                String::from_utf8_lossy(&user)
            );
        }
        w.write_all(&[1, 0]).map_err(io_err)?;
    }
    let req = w.take(4).map_err(io_err)?.to_vec();
    if req[0] != 5 {
        return Err(bad(format!("SOCKS5 request version {}", req[0])));
    }
    let host = match req[3] {
        1 => {
            let a = w.take(4).map_err(io_err)?;
            IpAddr::from([a[0], a[1], a[2], a[3]]).to_string()
        }
        4 => {
            let a = w.take(16).map_err(io_err)?;
            let mut o = [0u8; 16];
            o.copy_from_slice(a);
            IpAddr::from(o).to_string()
        }
        3 => {
            let len = usize::from(w.take(1).map_err(io_err)?[0]);
            let name = w.take(len).map_err(io_err)?;
            String::from_utf8_lossy(name).into_owned()
        }
        t => {
            let _ = w.write_all(&socks5_reply(8, None));
            return Err(bad(format!("SOCKS5 address type {t}")));
        }
    };
    let p = w.take(2).map_err(io_err)?;
    let port = u16::from_be_bytes([p[0], p[1]]);
    if req[1] != 1 {
        let _ = w.write_all(&socks5_reply(7, None));
        bail!("SOCKS5 command {} is not supported (only CONNECT)", req[1]);
    }
    if host.is_empty() || host.contains(['\0', '/', ' ']) {
        let _ = w.write_all(&socks5_reply(1, None));
        return Err(bad(format!("SOCKS5: bad host name {host:?}")));
    }
    Ok(Request {
        protocol: Protocol::Socks5,
        host,
        port,
        head: Vec::new(),
    })
}

/// A SOCKS5 reply with `code` and the bound address (0.0.0.0:0 when unknown).
fn socks5_reply(code: u8, bound: Option<SocketAddr>) -> Vec<u8> {
    let mut out = vec![5, code, 0];
    match bound.map(|a| (a.ip().to_canonical(), a.port())) {
        Some((IpAddr::V6(ip), port)) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
            out.extend_from_slice(&port.to_be_bytes());
        }
        Some((IpAddr::V4(ip), port)) => {
            out.push(1);
            out.extend_from_slice(&ip.octets());
            out.extend_from_slice(&port.to_be_bytes());
        }
        None => out.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0]),
    }
    out
}

fn http_error(status: &str, extra: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

/// Splits `host[:port]` (or `[v6][:port]`) with a default port.
fn authority(text: &str, default_port: Option<u16>) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        h.parse::<std::net::Ipv6Addr>().ok()?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':')?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            None => (text, None),
            Some(_) => return None,
        }
    };
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
        None => default_port?,
    };
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
    (ok && port != 0).then(|| (host.to_string(), port))
}

fn http<S: Read + Write>(w: &mut Wire<S>, users: Option<&Users>) -> Result<Request> {
    let head = match w.until(b"\r\n\r\n", MAX_HANDSHAKE) {
        Ok(h) => h.to_vec(),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            let _ = w.write_all(&http_error("431 Request Header Fields Too Large", ""));
            return Err(bad("HTTP request header longer than 64 KiB"));
        }
        Err(e) => return Err(io_err(e)),
    };
    let reject = |w: &mut Wire<S>, why: String| -> anyhow::Error {
        let _ = w.write_all(&http_error("400 Bad Request", ""));
        bad(why)
    };
    let Ok(text) = std::str::from_utf8(&head) else {
        return Err(reject(w, "HTTP request is not UTF-8".into()));
    };
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let parts: Vec<&str> = first.split(' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(reject(w, format!("bad request line {first:?}")));
    };
    if !matches!(*version, "HTTP/1.0" | "HTTP/1.1")
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
    {
        return Err(reject(w, format!("bad request line {first:?}")));
    }
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(reject(w, format!("bad header line {line:?}")));
        };
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(reject(w, format!("bad header line {line:?}")));
        }
        headers.push((name, value.trim()));
    }
    if let Some(users) = users {
        let token = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("proxy-authorization"))
            .and_then(|(_, v)| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("basic").then(|| token.trim())
            });
        let creds = token.and_then(base64_decode);
        let ok = creds.as_deref().and_then(|c| {
            let i = c.iter().position(|&b| b == b':')?;
            Some(users.check(&c[..i], &c[i + 1..]))
        });
        if ok != Some(true) {
            let _ = w.write_all(&http_error(
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Basic realm=\"sockcat\"\r\n",
            ));
            bail!(
                "HTTP proxy authentication {}",
                if token.is_some() { "failed" } else { "missing" }
            );
        }
    }
    if *method == "CONNECT" {
        let Some((host, port)) = authority(target, None) else {
            return Err(reject(w, format!("bad CONNECT target {target:?}")));
        };
        return Ok(Request {
            protocol: Protocol::HttpConnect,
            host,
            port,
            head: Vec::new(),
        });
    }
    let Some(rest) = target.strip_prefix("http://") else {
        return Err(reject(
            w,
            format!("{method} {target}: only CONNECT and absolute http:// requests are proxied"),
        ));
    };
    let (auth, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let Some((host, port)) = authority(auth, Some(80)) else {
        return Err(reject(w, format!("bad request target {target:?}")));
    };
    let mut out = format!("{method} {path} {version}\r\n");
    for (name, value) in &headers {
        let drop = [
            "proxy-authorization",
            "proxy-connection",
            "connection",
            "keep-alive",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h));
        if !drop {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    Ok(Request {
        protocol: Protocol::HttpForward,
        host,
        port,
        head: out.into_bytes(),
    })
}

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
    fn open(&self, req: &Request, deadline: Instant) -> std::result::Result<Socket, Refusal> {
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

    /// Serves one client: admission, handshake, destination, reply, then the relay.
    /// `on_dest` hears the requested destination (for `--events`).
    pub(crate) fn serve(&self, client: Socket, on_dest: &dyn Fn(&str)) -> Result<()> {
        client.set_nonblocking(false)?;
        client.set_read_timeout(None)?;
        let addrs = self.admission.admit(&client)?;
        let who = addrs.shown();
        let deadline = Instant::now() + self.handshake_timeout;
        let mut wire = Wire::new(Deadlined {
            sock: &client,
            deadline,
        });
        let req = handshake(&mut wire, self.users.as_ref())
            .map_err(|e| anyhow!("{}", exit::render(&e)))?;
        let dest = HostPort {
            host: req.host.clone(),
            port: req.port,
        };
        on_dest(&dest.to_string());
        let target = match self.open(&req, deadline) {
            Ok(sock) => sock,
            Err(refusal) => {
                let _ = reply(&mut wire, &req, Err(refusal));
                bail!("{dest}: {refusal}");
            }
        };
        let bound = target.local_addr().ok().and_then(|a| a.as_socket());
        reply(&mut wire, &req, Ok(bound)).map_err(|e| anyhow!("reply: {e}"))?;
        let mut first = req.head.clone();
        first.extend_from_slice(wire.leftover());
        drop(wire);
        if !first.is_empty() {
            (&target)
                .write_all(&first)
                .map_err(|e| anyhow!("{dest}: {}", exit::describe_io(&e)))?;
        }
        client.set_read_timeout(None)?;
        client.set_write_timeout(None)?;
        if self.admission.verbose {
            let to = target
                .peer_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .map_or_else(String::new, |a| format!(" ({})", display(&a)));
            crate::diag!("{who}: {} tunnel to {dest}{to}", req.protocol.name());
        }
        // Each end's errors name it: a client that went away is not the destination's fault.
        join(
            Endpoint::socket_named(client, "client"),
            Endpoint::socket_named(target, &dest.to_string()),
            &self.relay,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script {
        input: io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }
    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    fn wire(input: &[u8]) -> Wire<Script> {
        Wire::new(Script {
            input: io::Cursor::new(input.to_vec()),
            written: Vec::new(),
        })
    }
    fn users() -> Users {
        Users::new(vec![Credentials {
            user: "alice".into(),
            pass: "s3cret".into(),
        }])
    }

    #[test]
    fn socks5_with_and_without_auth() {
        let mut w = wire(&[5, 1, 0, 5, 1, 0, 3, 4, b'h', b'.', b't', b'x', 0, 80, b'D']);
        let req = handshake(&mut w, None).unwrap();
        assert_eq!(
            (req.protocol, req.host.as_str(), req.port),
            (Protocol::Socks5, "h.tx", 80)
        );
        assert_eq!(w.inner.written, [5, 0]);
        assert_eq!(w.leftover(), b"D");

        let mut input = vec![5, 2, 0, 2, 1, 5];
        input.extend_from_slice(b"alice");
        input.push(6);
        input.extend_from_slice(b"s3cret");
        input.extend_from_slice(&[5, 1, 0, 1, 127, 0, 0, 2, 0, 22]);
        let mut w = wire(&input);
        let req = handshake(&mut w, Some(&users())).unwrap();
        assert_eq!((req.host.as_str(), req.port), ("127.0.0.2", 22));
        assert_eq!(w.inner.written, [5, 2, 1, 0]);

        let mut bad = input.clone();
        bad[16] = b'X';
        let mut w = wire(&bad);
        assert!(handshake(&mut w, Some(&users())).is_err());
        assert_eq!(w.inner.written, [5, 2, 1, 1]);
        // No acceptable method: 0xff.
        let mut w = wire(&[5, 1, 0]);
        assert!(handshake(&mut w, Some(&users())).is_err());
        assert_eq!(w.inner.written, [5, 0xff]);
        // BIND is refused with "command not supported".
        let mut w = wire(&[5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80]);
        assert!(handshake(&mut w, None).is_err());
        assert_eq!(w.inner.written[2..4], [5, 7]);
    }

    #[test]
    fn socks4_and_4a() {
        let mut w = wire(b"\x04\x01\x00\x50\x7f\x00\x00\x02bob\0");
        let req = handshake(&mut w, None).unwrap();
        assert_eq!(
            (req.protocol, req.host.as_str(), req.port),
            (Protocol::Socks4, "127.0.0.2", 80)
        );
        let mut w = wire(b"\x04\x01\x01\xbb\x00\x00\x00\x01\0h.test\0");
        assert_eq!(handshake(&mut w, None).unwrap().host, "h.test");
        let mut w = wire(b"\x04\x01\x01\xbb\x00\x00\x00\x01\0h.test\0");
        assert!(
            handshake(&mut w, Some(&users())).is_err(),
            "SOCKS4 cannot authenticate"
        );
        let mut long = b"\x04\x01\x00\x50\x7f\x00\x00\x02".to_vec();
        long.extend(std::iter::repeat_n(b'u', 300));
        assert!(handshake(&mut wire(&long), None).is_err());
    }

    #[test]
    fn http_connect_and_absolute_form() {
        let mut w = wire(b"CONNECT h.test:443 HTTP/1.1\r\nHost: h.test:443\r\n\r\nTLS");
        let req = handshake(&mut w, None).unwrap();
        assert_eq!(
            (req.protocol, req.host.as_str(), req.port),
            (Protocol::HttpConnect, "h.test", 443)
        );
        assert_eq!(w.leftover(), b"TLS");
        let mut w = wire(
            b"GET http://[::1]:8080/a?b HTTP/1.1\r\nHost: [::1]:8080\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n",
        );
        let req = handshake(&mut w, None).unwrap();
        assert_eq!(
            (req.protocol, req.host.as_str(), req.port),
            (Protocol::HttpForward, "::1", 8080)
        );
        assert_eq!(
            String::from_utf8(req.head).unwrap(),
            "GET /a?b HTTP/1.1\r\nHost: [::1]:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let req = handshake(&mut wire(b"GET http://h.test HTTP/1.0\r\n\r\n"), None).unwrap();
        assert_eq!((req.port, &req.head[..14]), (80, &b"GET / HTTP/1.0"[..]));
        // Authentication: 407 without, through with the right Basic token.
        let mut w = wire(b"CONNECT h:1 HTTP/1.1\r\n\r\n");
        assert!(handshake(&mut w, Some(&users())).is_err());
        assert!(
            w.inner
                .written
                .starts_with(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
        );
        let ok = b"CONNECT h:1 HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n";
        assert!(handshake(&mut wire(ok), Some(&users())).is_ok());
        for bad in [
            &b"GET /local HTTP/1.1\r\n\r\n"[..],
            b"CONNECT h.test HTTP/1.1\r\n\r\n",
            b"CONNECT h:0 HTTP/1.1\r\n\r\n",
            b"GET https://h/ HTTP/1.1\r\n\r\n",
            b"CONNECT h:1 HTTP/2\r\n\r\n",
            b"\x16\x03\x01",
        ] {
            assert!(handshake(&mut wire(bad), None).is_err(), "{bad:?}");
        }
        let mut huge = b"GET http://h/ HTTP/1.1\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HANDSHAKE));
        let mut w = wire(&huge);
        assert!(handshake(&mut w, None).is_err());
        assert!(w.inner.written.starts_with(b"HTTP/1.1 431"));
    }

    #[test]
    fn destination_rules() {
        let rule = |s: &str| parse_dest_rule(s).unwrap();
        let policy = DestPolicy {
            allow: vec![rule("127.0.0.0/8"), rule(".example.com")],
            deny: vec![rule(":25"), rule("127.0.0.9"), rule("bad.example.com")],
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(policy.admits(None, ip("127.0.0.2"), 80));
        assert!(!policy.admits(None, ip("127.0.0.2"), 25), "port denied");
        assert!(
            !policy.admits(Some("localhost"), ip("127.0.0.9"), 80),
            "address denied"
        );
        assert!(!policy.admits(None, ip("10.0.0.1"), 80), "not allowed");
        assert!(policy.admits(Some("www.Example.com"), ip("10.0.0.1"), 80));
        assert!(
            !policy.admits(Some("bad.example.com"), ip("127.0.0.2"), 80),
            "deny wins"
        );
        assert!(policy.admits(Some("::ffff:127.0.0.1"), ip("::ffff:127.0.0.1"), 80));
        for bad in ["", ":", ":99999", "a b", "1.2.3.4/40", "-x..y"] {
            assert!(parse_dest_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn users_check() {
        let u = users();
        assert!(u.check(b"alice", b"s3cret"));
        assert!(!u.check(b"alice", b"s3cre"));
        assert!(!u.check(b"alic", b"s3cret"));
        assert!(!u.check(b"", b""));
    }
}
