//! The HTTP CONNECT client handshake (Basic authentication), with the base64 it needs; the reply
//! header is read as far as its end and no further (it is peeked at first), so nothing of the tunnel is
//! consumed, and bounded ([`MAX_HTTP_HEADER`]).

use std::io::{self, Write};

use anyhow::{Result, bail};

use super::{Credentials, Dest, io_failure, read_exact, write_all};
use crate::net::socket::Peek;

/// The longest HTTP reply header (status line and fields) a proxy may send.
pub(crate) const MAX_HTTP_HEADER: usize = 64 * 1024;

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

/// The length of `head` through the first end of a header block (an empty line, `\r\n\r\n` or `\n\n`)
/// that ends after `from` bytes; None when there is none yet.
fn header_end(head: &[u8], from: usize) -> Option<usize> {
    (from + 1..=head.len())
        .find(|&end| head[..end].ends_with(b"\r\n\r\n") || head[..end].ends_with(b"\n\n"))
}

/// Reads an HTTP header block, through the empty line, and nothing after it (that is the tunnel's): it
/// peeks at what has arrived and reads exactly as far as the header's end if that is in it, else reads
/// all of it and peeks again (which waits for more); at most [`MAX_HTTP_HEADER`] bytes.
fn read_http_header(s: &mut impl Peek, who: &str) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    let mut seen = [0u8; 4096];
    loop {
        let room = (MAX_HTTP_HEADER - head.len()).min(seen.len());
        let n = match s.peek(&mut seen[..room]) {
            Ok(0) if head.is_empty() => {
                bail!("{who}: the proxy closed the connection without a reply")
            }
            Ok(0) => bail!("{who}: the proxy closed the connection in the middle of its reply"),
            Ok(n) => n.min(room),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_failure(e, who)),
        };
        let start = head.len();
        head.extend_from_slice(&seen[..n]);
        let take = header_end(&head, start).unwrap_or(head.len()) - start;
        head.truncate(start + take);
        read_exact(s, &mut head[start..], who)?;
        if let Some(end) = header_end(&head, start) {
            head.truncate(end);
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
pub fn http_connect_handshake<S: Peek + Write>(
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
