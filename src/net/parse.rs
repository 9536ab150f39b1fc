//! The pure parsers of user input: ports, port lists, durations, byte sizes and CIDRs. No socket is
//! touched here (a service name is looked up in the services database); every malformed or
//! out-of-range value is a usage error (status 2), never wrapped or guessed. Each has a `*_arg` twin
//! that clap uses as a value parser. Fuzzed (fuzz/fuzz_targets/addr.rs, cidr.rs).

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Result;
use ipnet::{IpNet, Ipv4Net};

use crate::exit::usage;
use crate::sys;

/// Parses a port: a number 0-65535 or a service name from the services database (`http`, `ssh`).
pub fn parse_port(text: &str) -> Result<u16> {
    parse_port_proto(text, "tcp")
}

/// Like [`parse_port`], looking service names up for `proto` (`tcp` or `udp`).
pub(crate) fn parse_port_proto(text: &str, proto: &str) -> Result<u16> {
    let text = text.trim();
    if text.is_empty() {
        return Err(usage("empty port"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(n) if n <= 65535 => Ok(n as u16),
            _ => Err(usage(format!("port {text} is out of range (0-65535)"))),
        };
    }
    if text.starts_with('-') || text.starts_with('+') {
        return Err(usage(format!("port {text} is out of range (0-65535)")));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(usage(format!(
            "invalid port {text:?}: not a number or a service name"
        )));
    }
    sys::netdb::service_port(text, proto).ok_or_else(|| {
        usage(format!(
            "unknown service {text:?} (not a port number nor in the services database)"
        ))
    })
}

/// clap value parser for a PORT option.
pub(crate) fn parse_port_arg(text: &str) -> Result<u16, String> {
    parse_port(text).map_err(|e| e.to_string())
}

/// The longest duration accepted, in seconds (about 31 years), whatever the spelling: a deadline
/// `Instant::now() + d` must not overflow (`18446744073709551615s` used to panic there).
pub const MAX_DURATION_SECS: u64 = 1_000_000_000;

/// Parses a duration: `5`, `2.5` (seconds), `5s`, `250ms`, `1m`, `1h30m`, at most
/// [`MAX_DURATION_SECS`].
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let out_of_range = || usage(format!("invalid duration {text:?}: out of range"));
    if let Some(exact) = decimal_seconds(text) {
        return exact
            .filter(|d| *d <= Duration::from_secs(MAX_DURATION_SECS))
            .ok_or_else(out_of_range);
    }
    if let Ok(secs) = text.parse::<f64>() {
        if !secs.is_finite() || !(0.0..=MAX_DURATION_SECS as f64).contains(&secs) {
            return Err(out_of_range());
        }
        return Ok(Duration::from_secs_f64(secs));
    }
    let d = humantime::parse_duration(text).map_err(|e| {
        usage(format!(
            "invalid duration {text:?}: {e} (try 5, 2.5, 5s, 250ms, 1m)"
        ))
    })?;
    if d > Duration::from_secs(MAX_DURATION_SECS) {
        return Err(out_of_range());
    }
    Ok(d)
}

/// Seconds written as a plain decimal (`5`, `2.5`, `.25`, `+1`), read exactly to the nanosecond
/// rather than through a float (`9551615.12502` is not 9551615.125019999 s). None: not this form;
/// Some(None): too large.
fn decimal_seconds(text: &str) -> Option<Option<Duration>> {
    let t = text.strip_prefix('+').unwrap_or(text);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs = match int {
        "" => 0,
        _ => match int.parse::<u64>() {
            Ok(n) => n,
            Err(_) => return Some(None),
        },
    };
    let nanos = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    Some(Some(Duration::new(secs, nanos)))
}

/// clap value parser for a DUR option.
pub(crate) fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// Parses a port list for probes: `22,80,8000-8100` (numbers, service names, inclusive ranges).
/// The order of the list is kept; repeated ports are probed once.
pub fn parse_port_list(text: &str) -> Result<Vec<u16>> {
    let mut ports = Vec::new();
    let mut seen = vec![false; 65536];
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(usage(format!("invalid port list {text:?}: empty item")));
        }
        let (lo, hi) = match item.split_once('-') {
            Some((lo, hi)) if !lo.is_empty() => {
                let lo = parse_port(lo)?;
                let hi = parse_port(hi)?;
                if lo > hi {
                    return Err(usage(format!(
                        "invalid port range {item}: {lo} is above {hi}"
                    )));
                }
                (lo, hi)
            }
            _ => {
                let port = parse_port(item)?;
                (port, port)
            }
        };
        for port in lo..=hi {
            if !std::mem::replace(&mut seen[port as usize], true) {
                ports.push(port);
            }
        }
    }
    Ok(ports)
}

/// Parses a byte count: `4194304`, `512k`, `4M`, `1G` (K, M, G are powers of 1024; `KiB` also taken).
pub(crate) fn parse_size(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        usage(format!(
            "invalid size {text:?}: expected BYTES like 4194304, 512k or 4M"
        ))
    };
    let num: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    num.checked_mul(mult)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n <= i32::MAX as usize)
        .ok_or_else(|| usage(format!("invalid size {text:?}: too large")))
}

/// clap value parser for a BYTES option.
pub(crate) fn parse_size_arg(text: &str) -> Result<usize, String> {
    parse_size(text).map_err(|e| e.to_string())
}

/// Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address.
///
/// A network inside the IPv4-mapped range (`::ffff:10.0.0.0/104`, `::ffff:127.0.0.1`) is the IPv4
/// network it spells (`10.0.0.0/8`, `127.0.0.1/32`), since clients are judged as IPv4 addresses: kept
/// as IPv6 it would never match anyone. Shorter IPv6 prefixes (`::/0`) match IPv6 clients only.
pub fn parse_cidr(text: &str) -> Result<IpNet> {
    let text = text.trim();
    let net = match text.parse::<IpAddr>() {
        Ok(ip) => IpNet::from(ip),
        Err(_) => text.parse::<IpNet>().map_err(|_| {
            usage(format!(
                "invalid CIDR {text:?}: expected ADDR or ADDR/PREFIX (10.0.0.0/8, ::1/128)"
            ))
        })?,
    };
    Ok(match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(
                Ipv4Net::new(v4, v6.prefix_len() - 96).expect("a prefix of 96-128 less 96 fits"),
            ),
            None => net,
        },
        _ => net,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{USAGE, status_of};

    #[test]
    fn ports() {
        assert_eq!(parse_port("0").unwrap(), 0);
        assert_eq!(parse_port("65535").unwrap(), 65535);
        assert_eq!(parse_port("http").unwrap(), 80);
        for bad in [
            "65536",
            "99999",
            "-1",
            "",
            "1.5",
            "99999999999999999999",
            "no such service",
        ] {
            let err = parse_port(bad).unwrap_err();
            assert_eq!(status_of(&err), USAGE, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        for bad in ["-1", "abc", "", "NaN", "inf", "5 parsecs"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_lists() {
        assert_eq!(
            parse_port_list("22,80,8000-8002").unwrap(),
            vec![22, 80, 8000, 8001, 8002]
        );
        assert_eq!(parse_port_list("80,80,79-80").unwrap(), vec![80, 79]);
        assert_eq!(parse_port_list("0-2").unwrap(), vec![0, 1, 2]);
        for bad in ["", "1,", "10-5", "1-99999", "70000", "a-b", "-5"] {
            assert_eq!(
                status_of(&parse_port_list(bad).unwrap_err()),
                USAGE,
                "{bad}"
            );
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("512k").unwrap(), 512 * 1024);
        assert_eq!(parse_size("4M").unwrap(), 4 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        for bad in ["", "x", "-1", "4T", "1.5M", "99999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            parse_cidr("::ffff:10.0.0.0/104").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_cidr("::ffff:127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(parse_cidr("::/0").unwrap().to_string(), "::/0");
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host",
            "1.2.3.4/",
            "/8",
        ] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }
}
