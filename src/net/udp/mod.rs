//! The UDP core of `udp-send` and `udp-recv`: sockets (source bind, broadcast, TTL, multicast joins,
//! dual-stack receivers, a large receive buffer), batched sends with pacing, batched receives, replies
//! and the counters behind `--stats`.
//!
//! Datagrams move in batches (sendmmsg/recvmmsg through [`crate::sys::mmsg`]): one system call and one
//! wake-up per batch rather than per datagram. A sender is connected to its target unless it sends to a
//! broadcast or multicast address, so an ICMP port-unreachable comes back as "connection refused".

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Result;

use crate::exit::usage;
use crate::net::addr::{Family, HostPort, check_host};

pub(crate) mod forward;
pub(crate) mod recv;
pub(crate) mod reply;
pub(crate) mod send;
pub(crate) mod sessions;
pub(crate) mod unix;

pub(crate) use recv::*;
pub(crate) use send::*;

/// The largest UDP payload over IPv4 (65535 - 20 - 8) and over IPv6 (65535 - 8).
pub(crate) const MAX_PAYLOAD_V4: usize = 65507;
pub(crate) const MAX_PAYLOAD_V6: usize = 65527;

/// The receive buffer udp-recv asks for unless told otherwise: bursts of small datagrams fit in it
/// while the reader is busy writing (the kernel caps it at net.core.rmem_max).
pub(crate) const DEFAULT_RECV_BUFFER: usize = 32 * 1024 * 1024;

/// udp-send's pace unless told otherwise (datagrams per second): three times the rate a receiver must
/// sustain, yet one a receiver on a busy two-CPU machine keeps up with where an unpaced GSO sender
/// (4-5 M/s on loopback) overruns it. `--rate 0` lifts it.
pub(crate) const DEFAULT_RATE: u64 = 1_000_000;

/// The largest payload one datagram to `addr` can carry.
pub(crate) fn max_payload(addr: &SocketAddr) -> usize {
    if addr.is_ipv4() || addr.ip().to_canonical().is_ipv4() {
        MAX_PAYLOAD_V4
    } else {
        MAX_PAYLOAD_V6
    }
}

/// Splits `udp-send`'s positional arguments into the target and the messages: `HOST PORT MSG...`,
/// `HOST:PORT MSG...` or `[IPV6]:PORT MSG...`. A bare IPv6 address (`::1`) is a HOST.
pub(crate) fn parse_send_target<'a>(
    host: &str,
    rest: &'a [String],
) -> Result<(HostPort, &'a [String])> {
    let one_arg = if host.starts_with('[') {
        host.contains("]:")
    } else {
        host.matches(':').count() == 1
    };
    if one_arg {
        let (h, p) = crate::net::addr::split_host_port(host)?;
        return Ok((
            HostPort {
                host: check_host(&h)?,
                port: crate::net::addr::destination_port(&p, "udp", None)?,
            },
            rest,
        ));
    }
    let Some((port, messages)) = rest.split_first() else {
        return Err(usage(format!(
            "missing port: give HOST PORT or HOST:PORT (got {host:?})"
        )));
    };
    let port = crate::net::addr::destination_port(port, "udp", Some(host))?;
    Ok((
        HostPort {
            host: check_host(host)?,
            port,
        },
        messages,
    ))
}

/// `udp-recv`'s `[ADDR] PORT` (or `ADDR:PORT`): the address to bind (None: every address) and the port.
pub(crate) fn parse_bind_endpoint(
    endpoint: &[String],
    family: Family,
) -> Result<(Option<SocketAddr>, u16)> {
    crate::net::addr::parse_bind_endpoint(endpoint, family, "udp")
}

/// How many datagrams and bytes went by, and over what time: `--stats`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counter {
    pub datagrams: u64,
    pub bytes: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Counter {
    /// Marks the start of the measured time (otherwise the first datagram starts it).
    pub(crate) fn start(&mut self) {
        self.first.get_or_insert_with(Instant::now);
    }

    pub(crate) fn add(&mut self, datagrams: usize, bytes: usize) {
        let now = Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.datagrams += datagrams as u64;
        self.bytes += bytes as u64;
    }

    pub(crate) fn seconds(&self) -> f64 {
        match (self.first, self.last) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// `sent 1000 datagrams, 64000 bytes in 0.004 s (250000 datagrams/s, 15.3 MiB/s)`.
    pub(crate) fn summary(&self, verb: &str) -> String {
        let secs = self.seconds();
        let mut line = format!(
            "{verb} {} datagram{}, {} bytes in {secs:.3} s",
            self.datagrams,
            if self.datagrams == 1 { "" } else { "s" },
            self.bytes
        );
        if secs > 0.0 {
            line.push_str(&format!(
                " ({:.0} datagrams/s, {:.1} MiB/s)",
                self.datagrams as f64 / secs,
                self.bytes as f64 / secs / (1u64 << 20) as f64
            ));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{USAGE, status_of};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn targets() {
        let rest = strings(&["9000", "hi"]);
        let (t, m) = parse_send_target("localhost", &rest).unwrap();
        assert_eq!((t.host.as_str(), t.port, m.len()), ("localhost", 9000, 1));
        let rest = strings(&["hi", "there"]);
        let (t, m) = parse_send_target("127.0.0.1:53", &rest).unwrap();
        assert_eq!((t.host.as_str(), t.port, m.len()), ("127.0.0.1", 53, 2));
        let (t, m) = parse_send_target("[::1]:7", &[]).unwrap();
        assert_eq!((t.host.as_str(), t.port, m.len()), ("::1", 7, 0));
        let rest = strings(&["7"]);
        let (t, _) = parse_send_target("::1", &rest).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 7));
        let (t, _) = parse_send_target("[::1]", &rest).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 7));
        for (host, rest) in [
            ("localhost", &[][..]),
            ("h", &["99999".to_string()][..]),
            ("h:70000", &[]),
            ("[x]:1", &[]),
        ] {
            assert_eq!(
                status_of(&parse_send_target(host, rest).unwrap_err()),
                USAGE,
                "{host}"
            );
        }
    }

    #[test]
    fn summaries() {
        let mut c = Counter::default();
        assert_eq!(c.summary("sent"), "sent 0 datagrams, 0 bytes in 0.000 s");
        c.add(1, 5);
        assert!(
            c.summary("received")
                .starts_with("received 1 datagram, 5 bytes in ")
        );
    }
}
