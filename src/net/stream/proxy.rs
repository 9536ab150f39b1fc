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
//! bounded in size ([`MAX_HTTP_HEADER`]) and in time (`-w`, else [`HANDSHAKE_TIMEOUT`]), and a refusal is
//! reported in the proxy's words (`socks5: connection refused by destination`,
//! `http proxy: 407 Proxy Authentication Required`).

use crate::net::socket::Deadlined;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use socket2::Socket;

use crate::exit;
use crate::net::addr::{Family, HostPort, check_host, display, resolve, split_host_port};
use crate::net::connect::{ConnectOpts, happy_eyeballs};
use crate::net::parse::parse_port;

/// How long a proxy handshake (each hop's reply) may take when `-w` is not given.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest HTTP reply header (status line and fields) a proxy may send.
pub(crate) const MAX_HTTP_HEADER: usize = 64 * 1024;

/// The proxy protocols a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Socks5,
    Socks5h,
    Socks4,
    Socks4a,
    Http,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Socks5 => "socks5",
            Scheme::Socks5h => "socks5h",
            Scheme::Socks4 => "socks4",
            Scheme::Socks4a => "socks4a",
            Scheme::Http => "http",
        }
    }
}

/// A user name and password (SOCKS5 RFC 1929, HTTP Basic; SOCKS4 sends the user name only).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub pass: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({:?}, <password>)", self.user)
    }
}

/// One hop of a proxy chain: `--proxy SCHEME://[USER[:PASS]@]HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub scheme: Scheme,
    pub addr: HostPort,
    pub auth: Option<Credentials>,
}

/// Shown without the password: `socks5://alice@127.0.0.1:1080`.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.name())?;
        if let Some(auth) = &self.auth {
            write!(f, "{}@", auth.user)?;
        }
        write!(f, "{}", self.addr)
    }
}

/// Decodes `%XX` escapes (a password may hold `@` or `:` that way, as in curl's proxy URLs).
fn percent_decode(text: &str, url: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| exit::usage(format!("invalid proxy URL {url:?}: bad %-escape")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| exit::usage(format!("invalid proxy URL {url:?}: credentials not UTF-8")))
}

/// Parses a `--proxy` URL. Anything malformed is a usage error (status 2) that does not echo a password.
pub fn parse_proxy_url(url: &str) -> Result<Proxy> {
    let bad = |why: &str| exit::usage(format!("invalid proxy URL {:?}: {why}", redact(url)));
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        bad("expected SCHEME://HOST:PORT with socks5, socks5h, socks4, socks4a or http")
    })?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "socks5" => Scheme::Socks5,
        "socks5h" => Scheme::Socks5h,
        "socks4" => Scheme::Socks4,
        "socks4a" => Scheme::Socks4a,
        "http" => Scheme::Http,
        "https" => return Err(bad("https:// proxies are not supported; use http://")),
        _ => {
            return Err(bad(
                "unknown scheme; use socks5, socks5h, socks4, socks4a or http",
            ));
        }
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    if hostport.contains(['/', '?', '#']) {
        return Err(bad("a proxy URL has no path"));
    }
    let auth = match userinfo {
        None => None,
        Some(info) => {
            let (user, pass) = info.split_once(':').unwrap_or((info, ""));
            let user = percent_decode(user, &redact(url))?;
            let pass = percent_decode(pass, &redact(url))?;
            if user.is_empty() {
                return Err(bad("empty user name"));
            }
            Some(Credentials { user, pass })
        }
    };
    let (host, port) = split_host_port(hostport).map_err(|_| bad("expected HOST:PORT"))?;
    let addr = HostPort {
        host: check_host(&host).map_err(|_| bad("bad host"))?,
        port: parse_port(&port).map_err(|_| bad("bad port"))?,
    };
    if let Some(auth) = &auth {
        check_credentials(scheme, auth).map_err(|e| bad(&e))?;
    }
    Ok(Proxy { scheme, addr, auth })
}

/// The URL with any password replaced by `***`, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((info, host)) => {
            let user = info.split_once(':').map_or(info, |(u, _)| u);
            if info.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_string(),
    }
}

/// What each protocol can carry: SOCKS5 lengths are one byte; SOCKS4 and HTTP end fields at NUL / CRLF.
fn check_credentials(scheme: Scheme, auth: &Credentials) -> std::result::Result<(), String> {
    match scheme {
        Scheme::Socks5 | Scheme::Socks5h => {
            if auth.user.len() > 255 || auth.pass.len() > 255 {
                return Err("SOCKS5 user names and passwords are at most 255 bytes".into());
            }
        }
        Scheme::Socks4 | Scheme::Socks4a => {
            if auth.user.contains('\0') {
                return Err("a SOCKS4 user id cannot hold a NUL byte".into());
            }
        }
        Scheme::Http => {
            if auth.user.contains(':') {
                return Err("an HTTP Basic user name cannot hold ':'".into());
            }
        }
    }
    if (auth.user.chars().chain(auth.pass.chars())).any(|c| c == '\r' || c == '\n') {
        return Err("credentials cannot hold line breaks".into());
    }
    Ok(())
}

/// Reads `--proxy-auth-file`: its first line is `USER:PASS`. A missing or malformed file is status 2.
pub(crate) fn read_auth_file(path: &Path) -> Result<Credentials> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        exit::usage(format!(
            "--proxy-auth-file {}: {}",
            path.display(),
            exit::describe_io(&e)
        ))
    })?;
    let line = text.lines().next().unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    match line.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Ok(Credentials {
            user: user.to_string(),
            pass: pass.to_string(),
        }),
        _ => Err(exit::usage(format!(
            "--proxy-auth-file {}: the first line must be USER:PASS",
            path.display()
        ))),
    }
}

/// Builds the chain from `--proxy` URLs (first hop first); `--proxy-auth-file` supplies the credentials
/// of every hop whose URL has none.
pub(crate) fn parse_chain(urls: &[String], auth_file: Option<&Path>) -> Result<Vec<Proxy>> {
    let mut chain = urls
        .iter()
        .map(|u| parse_proxy_url(u))
        .collect::<Result<Vec<_>>>()?;
    if let Some(path) = auth_file {
        if chain.is_empty() {
            return Err(exit::usage("--proxy-auth-file needs --proxy"));
        }
        let creds = read_auth_file(path)?;
        for hop in chain.iter_mut().filter(|h| h.auth.is_none()) {
            check_credentials(hop.scheme, &creds).map_err(|why| {
                exit::usage(format!("--proxy-auth-file {}: {why}", path.display()))
            })?;
            hop.auth = Some(creds.clone());
        }
    }
    Ok(chain)
}

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

/// SOCKS5 reply codes (RFC 1928 section 6) in words.
pub(crate) fn socks5_reply_text(code: u8) -> String {
    match code {
        1 => "general SOCKS server failure".into(),
        2 => "connection not allowed by ruleset".into(),
        3 => "network unreachable".into(),
        4 => "host unreachable".into(),
        5 => "connection refused by destination".into(),
        6 => "TTL expired".into(),
        7 => "command not supported".into(),
        8 => "address type not supported".into(),
        n => format!("unknown reply code {n}"),
    }
}

/// The SOCKS5 client handshake (RFC 1928, with RFC 1929 username/password when `auth` is given):
/// on Ok the stream is connected to `dest` through the proxy. Reads exactly the proxy's replies.
pub fn socks5_handshake<S: Read + Write>(
    s: &mut S,
    dest: &Dest,
    auth: Option<&Credentials>,
) -> Result<()> {
    const WHO: &str = "socks5";
    let greeting: &[u8] = if auth.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    };
    write_all(s, greeting, WHO)?;
    let mut choice = [0u8; 2];
    read_exact(s, &mut choice, WHO)?;
    if choice[0] != 5 {
        bail!("socks5: not a SOCKS5 proxy (reply version {})", choice[0]);
    }
    match (choice[1], auth) {
        (0, _) => {}
        (2, Some(auth)) => {
            let (user, pass) = (auth.user.as_bytes(), auth.pass.as_bytes());
            let (Ok(ulen), Ok(plen)) = (u8::try_from(user.len()), u8::try_from(pass.len())) else {
                return Err(exit::usage(
                    "socks5: user names and passwords are at most 255 bytes",
                ));
            };
            let mut msg = Vec::with_capacity(3 + user.len() + pass.len());
            msg.push(1);
            msg.push(ulen);
            msg.extend_from_slice(user);
            msg.push(plen);
            msg.extend_from_slice(pass);
            write_all(s, &msg, WHO)?;
            let mut status = [0u8; 2];
            read_exact(s, &mut status, WHO)?;
            if status[1] != 0 {
                bail!("socks5: authentication failed (user {:?})", auth.user);
            }
        }
        (0xff, None) => bail!(
            "socks5: the proxy accepts none of our authentication methods (it may want a user name and password)"
        ),
        (0xff, Some(_)) => {
            bail!("socks5: the proxy accepts none of our authentication methods")
        }
        (m, _) => bail!("socks5: the proxy chose a method we did not offer ({m})"),
    }
    let mut req = vec![5, 1, 0];
    match dest {
        Dest::Addr(SocketAddr::V4(a)) => {
            req.push(1);
            req.extend_from_slice(&a.ip().octets());
        }
        Dest::Addr(SocketAddr::V6(a)) => {
            req.push(4);
            req.extend_from_slice(&a.ip().octets());
        }
        Dest::Name(host, _) => {
            let Ok(len) = u8::try_from(host.len()) else {
                return Err(exit::usage(format!(
                    "socks5: host name longer than 255 bytes: {host}"
                )));
            };
            req.push(3);
            req.push(len);
            req.extend_from_slice(host.as_bytes());
        }
    }
    let port = match dest {
        Dest::Addr(a) => a.port(),
        Dest::Name(_, p) => *p,
    };
    req.extend_from_slice(&port.to_be_bytes());
    write_all(s, &req, WHO)?;
    let mut head = [0u8; 4];
    read_exact(s, &mut head, WHO)?;
    if head[0] != 5 {
        bail!("socks5: malformed reply (version {})", head[0]);
    }
    if head[1] != 0 {
        bail!("socks5: {}", socks5_reply_text(head[1]));
    }
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8; 1];
            read_exact(s, &mut len, WHO)?;
            usize::from(len[0]) + 2
        }
        t => bail!("socks5: malformed reply (address type {t})"),
    };
    let mut bound = [0u8; 257];
    read_exact(s, &mut bound[..rest], WHO)?;
    Ok(())
}

/// SOCKS4 reply codes in words.
fn socks4_reply_text(code: u8) -> String {
    match code {
        0x5b => "request rejected or failed".into(),
        0x5c => "request rejected: the proxy cannot reach our identd".into(),
        0x5d => "request rejected: identd reports a different user id".into(),
        n => format!("unknown reply code 0x{n:02x}"),
    }
}

/// The SOCKS4 (an IPv4 `dest`) or SOCKS4a (a name `dest`) client handshake; `user` is the user id.
pub fn socks4_handshake<S: Read + Write>(s: &mut S, dest: &Dest, user: &str) -> Result<()> {
    let who = if matches!(dest, Dest::Name(..)) {
        "socks4a"
    } else {
        "socks4"
    };
    let mut req = vec![4, 1];
    match dest {
        Dest::Addr(SocketAddr::V4(a)) => {
            req.extend_from_slice(&a.port().to_be_bytes());
            req.extend_from_slice(&a.ip().octets());
            req.extend_from_slice(user.as_bytes());
            req.push(0);
        }
        Dest::Addr(SocketAddr::V6(a)) => {
            return Err(exit::usage(format!(
                "{who} carries IPv4 destinations only, not {}: use socks5:// or socks5h://",
                a.ip()
            )));
        }
        Dest::Name(host, port) => {
            if host.contains('\0') {
                return Err(exit::usage(format!("{who}: bad host name {host:?}")));
            }
            req.extend_from_slice(&port.to_be_bytes());
            req.extend_from_slice(&[0, 0, 0, 1]);
            req.extend_from_slice(user.as_bytes());
            req.push(0);
            req.extend_from_slice(host.as_bytes());
            req.push(0);
        }
    }
    write_all(s, &req, who)?;
    let mut reply = [0u8; 8];
    read_exact(s, &mut reply, who)?;
    // The reply's version byte is 0; some servers echo 4.
    if reply[0] != 0 && reply[0] != 4 {
        bail!("{who}: malformed reply (version {})", reply[0]);
    }
    if reply[1] != 0x5a {
        bail!("{who}: {}", socks4_reply_text(reply[1]));
    }
    Ok(())
}

/// Base64 (RFC 4648, with padding), for HTTP Basic credentials.
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes padded base64; None when it is not valid base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let quads = bytes.len() / 4;
    for (i, quad) in bytes.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let got = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&got[..3 - pad]);
    }
    Some(out)
}

/// Reads an HTTP header block (through the empty line) one byte at a time, so that nothing after it is
/// consumed; at most [`MAX_HTTP_HEADER`] bytes.
fn read_http_header(s: &mut impl Read, who: &str) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    loop {
        match s.read(&mut byte) {
            Ok(0) if head.is_empty() => {
                bail!("{who}: the proxy closed the connection without a reply")
            }
            Ok(0) => bail!("{who}: the proxy closed the connection in the middle of its reply"),
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_failure(e, who)),
        }
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
            return Ok(head);
        }
        if head.len() >= MAX_HTTP_HEADER {
            bail!(
                "{who}: reply header longer than {} KiB",
                MAX_HTTP_HEADER / 1024
            );
        }
    }
}

/// Printable text of a reason phrase, at most 100 characters.
fn clean(text: &[u8]) -> String {
    text.iter()
        .take(100)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The HTTP CONNECT client handshake: on a 2xx status the stream is the tunnel.
pub fn http_connect_handshake<S: Read + Write>(
    s: &mut S,
    dest: &Dest,
    auth: Option<&Credentials>,
) -> Result<()> {
    const WHO: &str = "http proxy";
    let target = dest.to_string();
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = auth {
        let token = base64_encode(format!("{}:{}", auth.user, auth.pass).as_bytes());
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    write_all(s, req.as_bytes(), WHO)?;
    let head = read_http_header(s, WHO)?;
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = head[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&head[..line_end]);
    let mut parts = line.splitn(3, |&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    let reason = parts.next().unwrap_or_default();
    let version_ok =
        version.len() == 8 && version.starts_with(b"HTTP/1.") && version[7].is_ascii_digit();
    if !version_ok || code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        bail!("http proxy: malformed reply {:?}", clean(line));
    }
    if code[0] != b'2' {
        let code = clean(code);
        let reason = clean(reason);
        if reason.is_empty() {
            bail!("http proxy: {code}");
        }
        bail!("http proxy: {code} {reason}");
    }
    Ok(())
}

/// Runs one hop's handshake on `s`, asking for `next`.
fn handshake<S: Read + Write>(
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
        };
        handshake(&mut s, hop, next, opts.family)
            .with_context(|| format!("connect {next} through {hop}"))?;
    }
    sock.set_read_timeout(None)?;
    sock.set_write_timeout(None)?;
    Ok((sock, addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{USAGE, status_of};

    /// A scripted peer: reads come from `input`, writes are kept.
    struct Script {
        input: io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Script {
        fn new(input: &[u8]) -> Script {
            Script {
                input: io::Cursor::new(input.to_vec()),
                written: Vec::new(),
            }
        }
        fn unread(&self) -> usize {
            self.input.get_ref().len() - self.input.position() as usize
        }
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

    fn creds(user: &str, pass: &str) -> Credentials {
        Credentials {
            user: user.into(),
            pass: pass.into(),
        }
    }

    #[test]
    fn urls() {
        let p = parse_proxy_url("socks5h://al%40ce:p%3Ass@127.0.0.1:1080").unwrap();
        assert_eq!(p.scheme, Scheme::Socks5h);
        assert_eq!(p.addr.to_string(), "127.0.0.1:1080");
        assert_eq!(p.auth, Some(creds("al@ce", "p:ss")));
        assert_eq!(p.to_string(), "socks5h://al@ce@127.0.0.1:1080");
        let p = parse_proxy_url("HTTP://[::1]:3128/").unwrap();
        assert_eq!(
            (p.scheme, p.addr.to_string()),
            (Scheme::Http, "[::1]:3128".into())
        );
        assert_eq!(p.auth, None);
        assert_eq!(
            parse_proxy_url("socks4a://u@h:1").unwrap().auth,
            Some(creds("u", ""))
        );
        for bad in [
            "127.0.0.1:1080",
            "ftp://h:1",
            "https://h:1",
            "socks5://h",
            "socks5://h:99999",
            "socks5://:1",
            "socks5://h:1/path",
            "socks5://@h:1",
            "socks5://u:%zz@h:1",
        ] {
            let err = parse_proxy_url(bad).unwrap_err();
            assert_eq!(status_of(&err), USAGE, "{bad}");
        }
        let long = format!("socks5://{}:x@h:1", "u".repeat(256));
        assert_eq!(status_of(&parse_proxy_url(&long).unwrap_err()), USAGE);
        // The password never appears in the error.
        let err = parse_proxy_url("socks5://u:secret@h").unwrap_err();
        assert!(
            !exit::render(&err).contains("secret"),
            "{}",
            exit::render(&err)
        );
    }

    #[test]
    fn socks5_without_auth_by_name() {
        let mut s = Script::new(&[5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0, 80, b'x']);
        socks5_handshake(&mut s, &Dest::Name("example".into(), 80), None).unwrap();
        let mut want = vec![5, 1, 0, 5, 1, 0, 3, 7];
        want.extend_from_slice(b"example");
        want.extend_from_slice(&[0, 80]);
        assert_eq!(s.written, want);
        assert_eq!(s.unread(), 1, "read past the reply");
    }

    #[test]
    fn socks5_with_auth_to_ipv6() {
        let reply = [5, 2, 1, 0, 5, 0, 0, 3, 1, b'h', 0x1f, 0x90];
        let mut s = Script::new(&reply);
        let dest = Dest::Addr("[::1]:8080".parse().unwrap());
        socks5_handshake(&mut s, &dest, Some(&creds("u", "pw"))).unwrap();
        let mut want = vec![5, 2, 0, 2, 1, 1, b'u', 2, b'p', b'w', 5, 1, 0, 4];
        want.extend_from_slice(&"::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        want.extend_from_slice(&[0x1f, 0x90]);
        assert_eq!(s.written, want);
        assert_eq!(s.unread(), 0);
    }

    #[test]
    fn socks5_refusals_in_words() {
        let dest = Dest::Addr("127.0.0.2:9".parse().unwrap());
        let mut s = Script::new(&[5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
        let err = socks5_handshake(&mut s, &dest, None).unwrap_err();
        assert_eq!(err.to_string(), "socks5: connection refused by destination");
        let mut s = Script::new(&[5, 0xff]);
        let err = socks5_handshake(&mut s, &dest, None).unwrap_err();
        assert!(err.to_string().contains("user name and password"), "{err}");
        let mut s = Script::new(&[5, 2, 1, 1]);
        let err = socks5_handshake(&mut s, &dest, Some(&creds("u", "bad"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "socks5: authentication failed (user \"u\")"
        );
        let mut s = Script::new(&[5, 0, 5]);
        let err = socks5_handshake(&mut s, &dest, None).unwrap_err();
        assert!(err.to_string().contains("closed the connection"), "{err}");
    }

    #[test]
    fn socks4_and_4a() {
        let mut s = Script::new(&[0, 0x5a, 0, 0, 0, 0, 0, 0, b'z']);
        let dest = Dest::Addr("127.0.0.2:80".parse().unwrap());
        socks4_handshake(&mut s, &dest, "bob").unwrap();
        assert_eq!(s.written, [4, 1, 0, 80, 127, 0, 0, 2, b'b', b'o', b'b', 0]);
        assert_eq!(s.unread(), 1);
        let mut s = Script::new(&[0, 0x5a, 0, 0, 0, 0, 0, 0]);
        socks4_handshake(&mut s, &Dest::Name("h.test".into(), 443), "").unwrap();
        let mut want = vec![4, 1, 1, 187, 0, 0, 0, 1, 0];
        want.extend_from_slice(b"h.test\0");
        assert_eq!(s.written, want);
        let mut s = Script::new(&[0, 0x5b, 0, 0, 0, 0, 0, 0]);
        let err = socks4_handshake(&mut s, &dest, "").unwrap_err();
        assert_eq!(err.to_string(), "socks4: request rejected or failed");
    }

    #[test]
    fn http_connect() {
        let reply = b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\nDATA";
        let mut s = Script::new(reply);
        let dest = Dest::Name("h.test".into(), 443);
        http_connect_handshake(&mut s, &dest, Some(&creds("Aladdin", "open sesame"))).unwrap();
        assert_eq!(
            String::from_utf8(s.written.clone()).unwrap(),
            "CONNECT h.test:443 HTTP/1.1\r\nHost: h.test:443\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        assert_eq!(s.unread(), 4, "read past the header");

        let mut s = Script::new(b"HTTP/1.0 407 Proxy Authentication Required\r\n\r\n");
        let err = http_connect_handshake(&mut s, &dest, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "http proxy: 407 Proxy Authentication Required"
        );
        let mut s = Script::new(b"SSH-2.0-x\r\n\r\n");
        assert!(http_connect_handshake(&mut s, &dest, None).is_err());
        let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HTTP_HEADER));
        let mut s = Script::new(&big);
        let err = http_connect_handshake(&mut s, &dest, None).unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
        let ipv6 = Dest::Addr("[::1]:80".parse().unwrap());
        let mut s = Script::new(b"HTTP/1.1 200 OK\n\n");
        http_connect_handshake(&mut s, &ipv6, None).unwrap();
        assert!(s.written.starts_with(b"CONNECT [::1]:80 HTTP/1.1\r\n"));
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\x00\xfe"] {
            assert_eq!(base64_decode(&base64_encode(data)).as_deref(), Some(data));
        }
        for bad in ["Zg=", "Z===", "Zg==Zg==", "Zm9*"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn destinations_by_scheme() {
        let t = |h: &str| HostPort {
            host: h.into(),
            port: 80,
        };
        assert_eq!(
            destination(Scheme::Socks5h, &t("h.test"), Family::Any).unwrap(),
            Dest::Name("h.test".into(), 80)
        );
        assert_eq!(
            destination(Scheme::Socks4a, &t("127.0.0.3"), Family::Any).unwrap(),
            Dest::Addr("127.0.0.3:80".parse().unwrap())
        );
        assert_eq!(
            destination(Scheme::Socks5, &t("localhost"), Family::V4).unwrap(),
            Dest::Addr("127.0.0.1:80".parse().unwrap())
        );
        let err = destination(Scheme::Socks4, &t("::1"), Family::Any).unwrap_err();
        assert_eq!(status_of(&err), USAGE);
    }
}
