//! The server side of an HTTP proxy: CONNECT, and absolute-form requests (`GET http://host/path`)
//! rewritten to origin form; Basic authentication (407 without).

use std::io::{self, Read, Write};

use anyhow::{Result, bail};

use super::policy::Users;
use super::request::{Protocol, Request, bad, io_err};
use super::wire::{MAX_HANDSHAKE, Wire};
use crate::net::events::{Note, RefuseReason};
use crate::net::stream::proxy::base64_decode;

pub(super) fn http_error(status: &str, extra: &str) -> Vec<u8> {
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

pub(super) fn http<S: Read + Write>(w: &mut Wire<S>, users: Option<&Users>) -> Result<Request> {
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
            Note::refused(RefuseReason::Auth);
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
