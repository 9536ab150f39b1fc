//! The SOCKS client handshakes: SOCKS5 (RFC 1928, username/password of RFC 1929), SOCKS4 and
//! SOCKS4a. Each reads exactly the proxy's replies, so what follows belongs to the stream.

use std::io::{Read, Write};
use std::net::SocketAddr;

use anyhow::{Result, bail};

use super::{Credentials, Dest, read_exact, write_all};
use crate::exit;

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
