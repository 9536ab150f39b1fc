//! Unit tests of the proxy client: URLs, each handshake against a scripted peer, destinations.

use super::http::MAX_HTTP_HEADER;
use super::*;
use crate::exit::{USAGE, status_of};

/// A scripted peer: reads come from `input`, arriving `chunk` bytes at a time (each a new segment that
/// comes when everything before it has been read); writes are kept.
struct Script {
    input: io::Cursor<Vec<u8>>,
    written: Vec<u8>,
    chunk: usize,
    /// Where the input that has arrived ends.
    arrived: usize,
    /// The calls made on it, each a system call on a socket.
    peeks: usize,
    reads: usize,
}

impl Script {
    fn new(input: &[u8]) -> Script {
        Script::in_chunks(input, usize::MAX)
    }
    fn in_chunks(input: &[u8], chunk: usize) -> Script {
        Script {
            input: io::Cursor::new(input.to_vec()),
            written: Vec::new(),
            chunk,
            arrived: 0,
            peeks: 0,
            reads: 0,
        }
    }
    fn unread(&self) -> usize {
        self.input.get_ref().len() - self.input.position() as usize
    }
    /// What has arrived and not been read; the next segment when that is nothing.
    fn pending(&mut self) -> &[u8] {
        let at = self.input.position() as usize;
        let len = self.input.get_ref().len();
        if self.arrived <= at {
            self.arrived = at.saturating_add(self.chunk).min(len);
        }
        &self.input.get_ref()[at..self.arrived]
    }
}
impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        let n = self.pending().len().min(buf.len());
        self.input.read(&mut buf[..n])
    }
}
impl Peek for Script {
    fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.peeks += 1;
        let pending = self.pending();
        let n = pending.len().min(buf.len());
        buf[..n].copy_from_slice(&pending[..n]);
        Ok(n)
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

/// However the reply is cut into segments, the header is read to its end and not a byte further, with
/// one peek per segment (a peek never spins on data it has seen); a reply that came whole costs one
/// peek and one read, not a read per byte.
#[test]
fn http_connect_reply_in_segments() {
    let dest = Dest::Name("h.test".into(), 443);
    for header in [
        &b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\n"[..],
        b"HTTP/1.0 200 OK\n\n",
        b"HTTP/1.0 200 OK\r\nX: a\n\nZ: not the header\r\n\r\n",
    ] {
        let end = header
            .windows(2)
            .position(|w| w == b"\n\n")
            .map_or(header.len(), |i| i + 2)
            .min(header.len());
        let reply = [header, b"SSH-2.0-tunnel\r\n"].concat();
        for chunk in 1..=reply.len() {
            let mut s = Script::in_chunks(&reply, chunk);
            http_connect_handshake(&mut s, &dest, None).unwrap();
            assert_eq!(s.unread(), reply.len() - end, "chunk {chunk}");
            assert!(
                s.peeks <= end.div_ceil(chunk),
                "chunk {chunk}: {} peeks",
                s.peeks
            );
        }
        let mut s = Script::new(&reply);
        http_connect_handshake(&mut s, &dest, None).unwrap();
        assert_eq!((s.peeks, s.reads), (1, 1));
        assert_eq!(s.unread(), reply.len() - end);
    }
    let mut s = Script::in_chunks(b"HTTP/1.1 200 OK\r\n\r", 3);
    let err = http_connect_handshake(&mut s, &dest, None).unwrap_err();
    assert!(
        err.to_string().contains("in the middle of its reply"),
        "{err}"
    );
    let mut s = Script::in_chunks(b"", 3);
    let err = http_connect_handshake(&mut s, &dest, None).unwrap_err();
    assert!(err.to_string().contains("without a reply"), "{err}");
    // The bound holds across segments too, and nothing past it is read.
    let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'a', MAX_HTTP_HEADER + 10));
    let mut s = Script::in_chunks(&big, 1000);
    let err = http_connect_handshake(&mut s, &dest, None).unwrap_err();
    assert!(err.to_string().contains("longer than 64 KiB"), "{err}");
    assert_eq!(s.unread(), big.len() - MAX_HTTP_HEADER);
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
