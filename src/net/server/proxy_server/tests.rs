//! The handshakes, the destination rules and the users, fed from a script.

use super::*;
use crate::net::stream::proxy::Credentials;

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
