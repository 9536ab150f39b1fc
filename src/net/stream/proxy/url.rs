//! `--proxy` URLs (`SCHEME://[USER[:PASS]@]HOST:PORT`), their credentials and `--proxy-auth-file`:
//! parsed into a chain of [`Proxy`] hops, every mistake a usage error (status 2) that never echoes a
//! password.

use std::fmt;
use std::path::Path;

use anyhow::Result;

use crate::exit;
use crate::net::addr::{HostPort, check_host, split_host_port};
use crate::net::parse::parse_port;

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
