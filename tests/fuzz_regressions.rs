//! Inputs the cargo-fuzz targets in `fuzz/` found, kept as plain tests so `cargo test` guards them
//! without cargo-fuzz. Each case is the crashing input byte for byte, with the property it broke.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use sockcat::exit::{USAGE, status_of};
use sockcat::fuzz::Acl;
use sockcat::fuzz::parse_cidr;
use sockcat::fuzz::{MAX_DURATION_SECS, parse_duration};
use sockcat::fuzz::{Value, parse_assignment, parse_value};

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

/// fuzz target `addr`: humantime accepted u64::MAX seconds, and `Instant::now() + d` (the deadline of
/// `connect -w`) panicked on overflow. Every spelling is now capped like the plain number.
#[test]
fn addr_huge_duration_is_status_2() {
    for input in [
        &b"18446744073709551615s"[..],
        b"1000000001s",
        b"31710y",
        b"1000000000.5",
    ] {
        let err = parse_duration(text(input)).unwrap_err();
        assert_eq!(status_of(&err), USAGE, "{:?}", text(input));
    }
    let max = parse_duration("1000000000s").unwrap();
    assert_eq!(max, Duration::from_secs(MAX_DURATION_SECS));
    let _ = Instant::now() + max;
}

/// fuzz target `sockopt_set`: a timeval shown as `9551615.12502` read back as 9551615.125019 s,
/// because plain decimals went through an f64 and were truncated. They are now read exactly.
#[test]
fn sockopt_set_timeval_round_trips() {
    let input = b"SO_SNDTIMEO=09551615s\n20us125ms";
    let (opt, value) = parse_assignment(text(input)).unwrap();
    assert_eq!(
        value,
        Value::Timeval {
            sec: 9551615,
            usec: 125020
        }
    );
    let shown = value.display(opt.kind);
    assert_eq!(shown, "9551615.12502");
    assert_eq!(parse_value(opt, &shown).unwrap(), value);
    assert_eq!(
        parse_duration("0.000001").unwrap(),
        Duration::from_micros(1)
    );
    assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
}

/// Found next to the above: a timeout under a microsecond was truncated to 0, which the kernel reads
/// as "no timeout at all". It is rounded up to 1 us.
#[test]
fn sockopt_set_sub_microsecond_timeout_is_not_zero() {
    for input in ["SO_RCVTIMEO=0.0000005", "SO_RCVTIMEO=1ns"] {
        let (_, value) = parse_assignment(input).unwrap();
        assert_eq!(value, Value::Timeval { sec: 0, usec: 1 }, "{input}");
    }
    let (_, zero) = parse_assignment("SO_RCVTIMEO=0").unwrap();
    assert_eq!(zero, Value::Timeval { sec: 0, usec: 0 });
}

/// fuzz target `cidr`: `--allow ::ffff:10.0.0.0/104` matched nobody, since clients are judged as
/// IPv4 addresses; a rule inside the IPv4-mapped range is now the IPv4 rule it spells.
#[test]
fn cidr_ipv4_mapped_rule_matches_ipv4_clients() {
    let net = parse_cidr(text(b"::ffff:10.0.0.0/104")).unwrap();
    assert_eq!(net.to_string(), "10.0.0.0/8");
    let allow = Acl {
        allow: vec![net],
        deny: vec![],
    };
    let deny = Acl {
        allow: vec![],
        deny: vec![net],
    };
    for client in ["10.0.0.0", "10.1.2.3", "::ffff:10.1.2.3"] {
        let ip: IpAddr = client.parse().unwrap();
        assert!(allow.admits(Some(ip)), "{client}");
        assert!(!deny.admits(Some(ip)), "{client}");
    }
    assert_eq!(
        parse_cidr(text(b"::ffff:1:ffff")).unwrap().to_string(),
        "0.1.255.255/32"
    );
    // A shorter IPv6 prefix stays IPv6 and matches IPv6 clients only.
    let v6 = Acl {
        allow: vec![parse_cidr("::/0").unwrap()],
        deny: vec![],
    };
    assert!(v6.admits(Some("::1".parse().unwrap())));
    assert!(!v6.admits(Some("::ffff:10.1.2.3".parse().unwrap())));
}

/// fuzz target `proxy_client_replies`: an HTTP proxy's status line `HTTP/1.1( 200 ...` was taken for a
/// 200 because only the `HTTP/1.` prefix of the version was checked. The version must be `HTTP/1.D`.
#[test]
fn proxy_client_http_version_is_exact() {
    use sockcat::fuzz::{Dest, Peek, http_connect_handshake};
    struct Proxy(std::io::Cursor<Vec<u8>>);
    impl std::io::Read for Proxy {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Peek for Proxy {
        fn peek(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let rest = &self.0.get_ref()[self.0.position() as usize..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            Ok(n)
        }
    }
    impl std::io::Write for Proxy {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dest = Dest::Name("h.test".into(), 443);
    let input = b"HTTP/1.1( 200 Connection estlished\r\n\r\n";
    let mut proxy = Proxy(std::io::Cursor::new(input.to_vec()));
    assert!(http_connect_handshake(&mut proxy, &dest, None).is_err());
    let mut proxy = Proxy(std::io::Cursor::new(b"HTTP/1.1 200 OK\r\n\r\n".to_vec()));
    assert!(http_connect_handshake(&mut proxy, &dest, None).is_ok());
}
