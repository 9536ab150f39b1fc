//! The server side of SOCKS4/4a and SOCKS5 (CONNECT, with RFC 1929 username/password).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};

use anyhow::{Result, bail};

use super::policy::Users;
use super::request::{Protocol, Request, bad, io_err};
use super::wire::Wire;
use crate::net::events::{Note, RefuseReason};

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

pub(super) fn socks4<S: Read + Write>(w: &mut Wire<S>, users: Option<&Users>) -> Result<Request> {
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
        Note::refused(RefuseReason::Auth);
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

pub(super) fn socks5<S: Read + Write>(w: &mut Wire<S>, users: Option<&Users>) -> Result<Request> {
    let n = usize::from(w.take(2).map_err(io_err)?[1]);
    let methods = w.take(n).map_err(io_err)?.to_vec();
    let wanted = if users.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        let _ = w.write_all(&[5, 0xff]);
        if users.is_some() {
            Note::refused(RefuseReason::Auth);
        }
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
            Note::refused(RefuseReason::Auth);
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
pub(super) fn socks5_reply(code: u8, bound: Option<SocketAddr>) -> Vec<u8> {
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
