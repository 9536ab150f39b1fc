//! The PROXY protocol (HAProxy's specification, doc/proxy-protocol.txt): a header a proxy puts in
//! front of a connection's bytes to tell the server the original client's address. Version 1 is one
//! text line (`PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n`, at most 107 bytes); version 2 is binary
//! (a 12-byte signature, version/command, family/protocol, a length, the addresses, then TLVs).
//!
//! [`encode_v1`] and [`encode_v2`] write a header (`listen --forward --proxy-protocol`); [`decode`] reads
//! one strictly from a buffer (anything that does not match exactly is an error, as the spec asks),
//! and [`read_header`] from a stream, byte-exact so that nothing after the header is consumed
//! (`listen --accept-proxy-protocol`).

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The version 2 signature.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The longest version 1 line, CRLF included.
pub const V1_MAX: usize = 107;

/// Which header version to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// A decoded header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: Version,
    /// The original client and the address it connected to; None for `UNKNOWN` (v1), `LOCAL` or an
    /// unspecified or Unix family (v2): the real connection's addresses stand.
    pub addrs: Option<(SocketAddr, SocketAddr)>,
}

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid PROXY protocol header: {}", self.0)
    }
}

impl std::error::Error for Invalid {}

fn invalid<T>(why: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(why.into()))
}

/// Both addresses in one family: an IPv4-mapped IPv6 address counts as IPv4 when the other is IPv4 (or
/// also mapped); otherwise an IPv4 address is written IPv4-mapped next to an IPv6 one.
fn same_family(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    let canon = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
    let (s, d) = (canon(src), canon(dst));
    let v6 = |a: SocketAddr| match a.ip() {
        IpAddr::V4(ip) => SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    if s.is_ipv4() == d.is_ipv4() {
        (s, d)
    } else {
        (v6(s), v6(d))
    }
}

/// A version 1 line for a client `src` that connected to `dst` (`PROXY UNKNOWN\r\n` when None).
pub fn encode_v1(addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    let Some((src, dst)) = addrs else {
        return b"PROXY UNKNOWN\r\n".to_vec();
    };
    let (src, dst) = same_family(src, dst);
    let proto = if src.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {proto} {} {} {} {}\r\n",
        src.ip(),
        dst.ip(),
        src.port(),
        dst.port()
    )
    .into_bytes()
}

/// A version 2 header (command PROXY, TCP over IPv4 or IPv6; family UNSPEC when None), no TLVs.
pub fn encode_v2(addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.push(0x21);
    let Some((src, dst)) = addrs else {
        out.extend_from_slice(&[0x00, 0, 0]);
        return out;
    };
    let (src, dst) = same_family(src, dst);
    let mut block = Vec::with_capacity(36);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.push(0x11);
            block.extend_from_slice(&s.octets());
            block.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            out.push(0x21);
            block.extend_from_slice(&s.octets());
            block.extend_from_slice(&d.octets());
        }
        _ => unreachable!("same_family returns one family"),
    }
    block.extend_from_slice(&src.port().to_be_bytes());
    block.extend_from_slice(&dst.port().to_be_bytes());
    out.extend_from_slice(&(block.len() as u16).to_be_bytes());
    out.extend_from_slice(&block);
    out
}

/// Encodes a header of `version`.
pub fn encode(version: Version, addrs: Option<(SocketAddr, SocketAddr)>) -> Vec<u8> {
    match version {
        Version::V1 => encode_v1(addrs),
        Version::V2 => encode_v2(addrs),
    }
}

/// What [`decode`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A whole header of this many bytes.
    Complete(Header, usize),
    /// The bytes so far are a valid beginning; at least this many bytes in all are needed.
    Incomplete(usize),
}

/// A decimal port with no heading zero, 0..=65535.
fn v1_port(text: &str) -> Result<u16, Invalid> {
    let ok = !text.is_empty()
        && text.len() <= 5
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    match text.parse::<u32>() {
        Ok(n) if ok && n <= 65535 => Ok(n as u16),
        _ => invalid(format!("bad port {text:?}")),
    }
}

fn decode_v1(buf: &[u8]) -> Result<Decoded, Invalid> {
    let Some(end) = buf.windows(2).take(V1_MAX - 1).position(|w| w == b"\r\n") else {
        if buf.len() >= V1_MAX {
            return invalid("no CRLF in the first 107 bytes");
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            // A lone LF (a CR before it would have made a CRLF).
            let _ = i;
            return invalid("a line must end with CRLF");
        }
        return Ok(Decoded::Incomplete(buf.len() + 1));
    };
    let line = std::str::from_utf8(&buf[..end])
        .map_err(|_| Invalid("a version 1 line must be ASCII".into()))?;
    if !line.is_ascii() || line.contains('\r') {
        return invalid("a version 1 line must be ASCII");
    }
    let len = end + 2;
    let fields: Vec<&str> = line.split(' ').collect();
    let header = |addrs| {
        Decoded::Complete(
            Header {
                version: Version::V1,
                addrs,
            },
            len,
        )
    };
    match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(header(None)),
        ["PROXY", proto @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let ip = |text: &str| -> Result<IpAddr, Invalid> {
                let parsed = if *proto == "TCP4" {
                    text.parse::<Ipv4Addr>().map(IpAddr::V4).ok()
                } else {
                    text.parse::<Ipv6Addr>().map(IpAddr::V6).ok()
                };
                parsed.ok_or_else(|| Invalid(format!("bad {proto} address {text:?}")))
            };
            let src = SocketAddr::new(ip(src)?, v1_port(sport)?);
            let dst = SocketAddr::new(ip(dst)?, v1_port(dport)?);
            Ok(header(Some((src, dst))))
        }
        ["PROXY", proto, ..] if !matches!(*proto, "TCP4" | "TCP6") => {
            invalid(format!("unknown protocol {proto:?}"))
        }
        ["PROXY", ..] => invalid("expected PROXY TCP4|TCP6 SRC DST SPORT DPORT"),
        _ => invalid("expected PROXY"),
    }
}

/// Checks the TLVs after the addresses: each is type, a 2-byte length and that many bytes, exactly
/// filling the block (their contents are not used).
fn check_tlvs(mut tlvs: &[u8]) -> Result<(), Invalid> {
    while !tlvs.is_empty() {
        if tlvs.len() < 3 {
            return invalid("truncated TLV");
        }
        let len = usize::from(u16::from_be_bytes([tlvs[1], tlvs[2]]));
        if tlvs.len() < 3 + len {
            return invalid("a TLV runs past the header");
        }
        tlvs = &tlvs[3 + len..];
    }
    Ok(())
}

fn decode_v2(buf: &[u8]) -> Result<Decoded, Invalid> {
    if buf.len() < 16 {
        return Ok(Decoded::Incomplete(16));
    }
    let ver_cmd = buf[12];
    if ver_cmd >> 4 != 2 {
        return invalid(format!(
            "version {} (only 2 has this signature)",
            ver_cmd >> 4
        ));
    }
    let command = ver_cmd & 0x0f;
    if command > 1 {
        return invalid(format!("unknown command {command}"));
    }
    let fam = buf[13];
    let need = match fam {
        0x00 => 0,
        0x11 | 0x12 => 12,
        0x21 | 0x22 => 36,
        0x31 | 0x32 => 216,
        _ => return invalid(format!("unknown family/protocol 0x{fam:02x}")),
    };
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let total = 16 + len;
    if buf.len() < total {
        return Ok(Decoded::Incomplete(total));
    }
    let body = &buf[16..total];
    let header = |addrs| {
        Decoded::Complete(
            Header {
                version: Version::V2,
                addrs,
            },
            total,
        )
    };
    if command == 0 {
        // LOCAL: the real endpoints stand, whatever the block holds.
        return Ok(header(None));
    }
    if len < need {
        return invalid(format!(
            "address block of {len} bytes, family 0x{fam:02x} needs {need}"
        ));
    }
    check_tlvs(&body[need..])?;
    let port = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
    let addrs = match fam {
        0x11 => {
            let ip = |i: usize| {
                IpAddr::V4(Ipv4Addr::new(
                    body[i],
                    body[i + 1],
                    body[i + 2],
                    body[i + 3],
                ))
            };
            Some((
                SocketAddr::new(ip(0), port(8)),
                SocketAddr::new(ip(4), port(10)),
            ))
        }
        0x21 => {
            let ip = |i: usize| {
                let mut o = [0u8; 16];
                o.copy_from_slice(&body[i..i + 16]);
                IpAddr::V6(Ipv6Addr::from(o))
            };
            Some((
                SocketAddr::new(ip(0), port(32)),
                SocketAddr::new(ip(16), port(34)),
            ))
        }
        // UNSPEC, UDP, Unix: the real connection's addresses stand.
        _ => None,
    };
    Ok(header(addrs))
}

/// Decodes a header at the start of `buf` strictly: Complete with its length, Incomplete while `buf` is
/// a valid beginning, or Invalid. Never needs more than 107 bytes (v1) or 16 + 65535 (v2).
pub fn decode(buf: &[u8]) -> Result<Decoded, Invalid> {
    let n = buf.len().min(12);
    if buf[..n] == V2_SIGNATURE[..n] {
        return if n < 12 {
            Ok(Decoded::Incomplete(16))
        } else {
            decode_v2(buf)
        };
    }
    let n = buf.len().min(6);
    if buf[..n] == b"PROXY "[..n] {
        return if n < 6 {
            Ok(Decoded::Incomplete(6))
        } else {
            decode_v1(buf)
        };
    }
    invalid("the connection does not start with a PROXY protocol header")
}

/// Reads one header from `stream`, consuming exactly its bytes (the connection's data follows).
/// A timeout on the stream surfaces as the I/O error (WouldBlock or TimedOut).
pub fn read_header(stream: &mut impl Read) -> io::Result<Header> {
    let mut buf = Vec::with_capacity(232);
    loop {
        let want = match decode(&buf) {
            Ok(Decoded::Complete(header, _)) => return Ok(header),
            Ok(Decoded::Incomplete(want)) => want,
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        };
        // The first byte tells the versions apart. Version 1 ends at a CRLF whose place is unknown:
        // one byte at a time. Version 2 says its length.
        let step = if buf.first().is_none_or(|&b| b == b'P') {
            1
        } else {
            want - buf.len()
        };
        let at = buf.len();
        buf.resize(at + step, 0);
        stream.read_exact(&mut buf[at..]).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    Invalid("the connection ended inside the header".into()),
                )
            } else {
                e
            }
        })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn complete(buf: &[u8]) -> (Header, usize) {
        match decode(buf).unwrap() {
            Decoded::Complete(h, n) => (h, n),
            other => panic!("{other:?} for {buf:?}"),
        }
    }

    #[test]
    fn v1_exact_bytes() {
        let addrs = Some((sa("192.0.2.1:56324"), sa("192.0.2.2:443")));
        assert_eq!(
            encode_v1(addrs),
            b"PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n"
        );
        let v6 = Some((sa("[2001:db8::1]:1"), sa("[::1]:65535")));
        assert_eq!(encode_v1(v6), b"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
        // An IPv4 client on a dual-stack listener is written as IPv4.
        let mapped = Some((sa("[::ffff:127.0.0.1]:5"), sa("[::ffff:127.0.0.2]:6")));
        assert_eq!(encode_v1(mapped), b"PROXY TCP4 127.0.0.1 127.0.0.2 5 6\r\n");
        assert_eq!(encode_v1(None), b"PROXY UNKNOWN\r\n");
        let longest = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert_eq!(complete(longest).1, 104);
    }

    #[test]
    fn v2_exact_bytes() {
        let addrs = Some((sa("192.0.2.1:56324"), sa("192.0.2.2:443")));
        let mut want = V2_SIGNATURE.to_vec();
        want.extend_from_slice(&[
            0x21, 0x11, 0, 12, 192, 0, 2, 1, 192, 0, 2, 2, 0xdc, 0x04, 0x01, 0xbb,
        ]);
        assert_eq!(encode_v2(addrs), want);
        let v6 = encode_v2(Some((sa("[::1]:1"), sa("[::2]:2"))));
        assert_eq!(&v6[12..16], &[0x21, 0x21, 0, 36]);
        assert_eq!(v6.len(), 52);
        assert_eq!(&v6[16 + 15..16 + 16], &[1]);
        assert_eq!(&v6[48..52], &[0, 1, 0, 2]);
        let mut unspec = V2_SIGNATURE.to_vec();
        unspec.extend_from_slice(&[0x21, 0x00, 0, 0]);
        assert_eq!(encode_v2(None), unspec);
    }

    #[test]
    fn round_trips() {
        for addrs in [
            None,
            Some((sa("127.0.0.1:1"), sa("127.0.0.2:65535"))),
            Some((sa("[::1]:0"), sa("[fe80::1]:80"))),
        ] {
            for version in [Version::V1, Version::V2] {
                let mut bytes = encode(version, addrs);
                let len = bytes.len();
                bytes.extend_from_slice(b"payload");
                let (h, n) = complete(&bytes);
                assert_eq!((h.version, h.addrs, n), (version, addrs, len));
                let mut cursor = io::Cursor::new(bytes);
                assert_eq!(read_header(&mut cursor).unwrap(), h);
                assert_eq!(cursor.position() as usize, len, "read past the header");
            }
        }
    }

    #[test]
    fn incomplete_prefixes_ask_for_more() {
        for bytes in [
            encode_v1(Some((sa("127.0.0.1:1"), sa("127.0.0.2:2")))),
            encode_v2(Some((sa("[::1]:1"), sa("[::2]:2")))),
        ] {
            for cut in 0..bytes.len() {
                match decode(&bytes[..cut]) {
                    Ok(Decoded::Incomplete(want)) => assert!(want > cut && want <= bytes.len()),
                    other => panic!("{other:?} at {cut}"),
                }
            }
        }
    }

    #[test]
    fn v1_is_strict() {
        for bad in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
            b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
            b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
            b"PROXY TCP4 ::1 ::2 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            b"PROXY\r\n",
            b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 \xc3\xa9\r\n",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let mut long = b"PROXY UNKNOWN ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 100));
        assert!(decode(&long).is_err(), "no CRLF within 107 bytes");
        // UNKNOWN ignores the rest of its line.
        let (h, n) = complete(b"PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\nDATA");
        assert_eq!((h.addrs, n), (None, 43));
    }

    #[test]
    fn v2_is_strict() {
        let good = encode_v2(Some((sa("127.0.0.1:1"), sa("127.0.0.2:2"))));
        let with = |i: usize, b: u8| {
            let mut x = good.clone();
            x[i] = b;
            x
        };
        assert!(decode(&with(12, 0x11)).is_err(), "version 1 byte");
        assert!(decode(&with(12, 0x22)).is_err(), "command 2");
        assert!(decode(&with(13, 0x41)).is_err(), "family 4");
        assert!(decode(&with(13, 0x13)).is_err(), "protocol 3");
        assert!(decode(&with(15, 4)).is_err(), "address block too short");
        // LOCAL: addresses ignored whatever they are.
        assert_eq!(complete(&with(12, 0x20)).0.addrs, None);
        // TLVs are skipped when well formed, refused when not.
        let mut tlv = good.clone();
        tlv[15] = 12 + 5;
        tlv.extend_from_slice(&[0x04, 0, 2, 0, 0]);
        assert_eq!(complete(&tlv).1, 16 + 17);
        let mut bad_tlv = good.clone();
        bad_tlv[15] = 12 + 4;
        bad_tlv.extend_from_slice(&[0x04, 0, 2, 0]);
        assert!(decode(&bad_tlv).is_err());
        // A Unix family is accepted with no address.
        let mut unix = V2_SIGNATURE.to_vec();
        unix.extend_from_slice(&[0x21, 0x31, 0, 216]);
        unix.extend(std::iter::repeat_n(0, 216));
        assert_eq!(complete(&unix).0.addrs, None);
    }

    #[test]
    fn read_header_reports_a_cut_and_garbage() {
        let mut cut = io::Cursor::new(b"PROXY TCP4 1.2".to_vec());
        assert_eq!(
            read_header(&mut cut).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut junk = io::Cursor::new(b"SSH-2.0-OpenSSH\r\n".to_vec());
        let err = read_header(&mut junk).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            junk.position(),
            1,
            "read on after a mismatch at the first byte"
        );
    }
}
