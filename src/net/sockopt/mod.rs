//! The one table of socket options sockcat knows: name, level, kind of value, whether it can be set,
//! and the socket kinds it applies to. `sockopt` shows and sets options through it, and any other
//! subcommand sets options by name on its sockets with [`SockSettings`] (`--sockopt SO_RCVBUF=65536`).
//!
//! Here: the table and finding an option by name. `value.rs`: parsing, reading and writing a value;
//! `settings.rs`: `--sockopt` on a session's sockets, and reading them all; `tcp_info.rs`: TCP_INFO.
//!
//! Values are what the kernel says: integers as getsockopt returns them (booleans as 0/1), a struct
//! linger as `off` or `on,SECONDS`, a struct timeval as seconds, TCP_CONGESTION as its name.

use std::fmt;

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, Socket, Type};

use crate::exit::usage;

mod settings;
mod tcp_info;
mod value;

pub(crate) use settings::{SockSettings, check_applies, read_all};
pub(crate) use tcp_info::{tcp_info, tcp_info_display};
pub use value::{Value, parse_assignment, parse_value};
pub(crate) use value::{get, set};

/// The protocol level an option lives at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Socket,
    Tcp,
    Ip,
    Ipv6,
}

impl Level {
    /// The C name of the level, as printed.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Socket => "SOL_SOCKET",
            Level::Tcp => "IPPROTO_TCP",
            Level::Ip => "IPPROTO_IP",
            Level::Ipv6 => "IPPROTO_IPV6",
        }
    }

    fn raw(self) -> i32 {
        match self {
            Level::Socket => libc::SOL_SOCKET,
            Level::Tcp => libc::IPPROTO_TCP,
            Level::Ip => libc::IPPROTO_IP,
            Level::Ipv6 => libc::IPPROTO_IPV6,
        }
    }
}

/// What the option's bytes hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An int.
    Int,
    /// An int used as a flag: set with 0/1, on/off, true/false, yes/no; shown as the kernel's int.
    Bool,
    /// SO_TYPE: an int shown as SOCK_STREAM, SOCK_DGRAM...
    SockType,
    /// SO_DOMAIN: an int shown as AF_INET, AF_INET6, AF_UNIX.
    Domain,
    /// struct linger.
    Linger,
    /// struct timeval.
    Timeval,
    /// A NUL-padded name (TCP_CONGESTION).
    Text,
}

/// One known socket option.
#[derive(Debug)]
pub struct SockOpt {
    pub name: &'static str,
    pub level: Level,
    pub optname: i32,
    pub kind: Kind,
    pub settable: bool,
}

const fn opt(name: &'static str, level: Level, optname: i32, kind: Kind) -> SockOpt {
    SockOpt {
        name,
        level,
        optname,
        kind,
        settable: true,
    }
}

const fn read_only(name: &'static str, level: Level, optname: i32, kind: Kind) -> SockOpt {
    SockOpt {
        name,
        level,
        optname,
        kind,
        settable: false,
    }
}

use Kind::*;
use Level::{Ip, Ipv6, Socket as Sol, Tcp};

/// Every option sockcat can show or set, in display order.
pub(crate) static OPTIONS: &[SockOpt] = &[
    read_only("SO_TYPE", Sol, libc::SO_TYPE, SockType),
    read_only("SO_DOMAIN", Sol, libc::SO_DOMAIN, Domain),
    read_only("SO_PROTOCOL", Sol, libc::SO_PROTOCOL, Int),
    read_only("SO_ACCEPTCONN", Sol, libc::SO_ACCEPTCONN, Bool),
    read_only("SO_ERROR", Sol, libc::SO_ERROR, Int),
    opt("SO_RCVBUF", Sol, libc::SO_RCVBUF, Int),
    opt("SO_SNDBUF", Sol, libc::SO_SNDBUF, Int),
    opt("SO_RCVLOWAT", Sol, libc::SO_RCVLOWAT, Int),
    opt("SO_SNDLOWAT", Sol, libc::SO_SNDLOWAT, Int),
    opt("SO_RCVTIMEO", Sol, libc::SO_RCVTIMEO, Timeval),
    opt("SO_SNDTIMEO", Sol, libc::SO_SNDTIMEO, Timeval),
    opt("SO_REUSEADDR", Sol, libc::SO_REUSEADDR, Bool),
    opt("SO_REUSEPORT", Sol, libc::SO_REUSEPORT, Bool),
    opt("SO_KEEPALIVE", Sol, libc::SO_KEEPALIVE, Bool),
    opt("SO_BROADCAST", Sol, libc::SO_BROADCAST, Bool),
    opt("SO_DONTROUTE", Sol, libc::SO_DONTROUTE, Bool),
    opt("SO_OOBINLINE", Sol, libc::SO_OOBINLINE, Bool),
    opt("SO_LINGER", Sol, libc::SO_LINGER, Linger),
    opt("SO_PRIORITY", Sol, libc::SO_PRIORITY, Int),
    opt("SO_MARK", Sol, libc::SO_MARK, Int),
    opt("TCP_NODELAY", Tcp, libc::TCP_NODELAY, Bool),
    opt("TCP_MAXSEG", Tcp, libc::TCP_MAXSEG, Int),
    opt("TCP_CORK", Tcp, libc::TCP_CORK, Bool),
    opt("TCP_KEEPIDLE", Tcp, libc::TCP_KEEPIDLE, Int),
    opt("TCP_KEEPINTVL", Tcp, libc::TCP_KEEPINTVL, Int),
    opt("TCP_KEEPCNT", Tcp, libc::TCP_KEEPCNT, Int),
    opt("TCP_SYNCNT", Tcp, libc::TCP_SYNCNT, Int),
    opt("TCP_LINGER2", Tcp, libc::TCP_LINGER2, Int),
    opt("TCP_DEFER_ACCEPT", Tcp, libc::TCP_DEFER_ACCEPT, Int),
    opt("TCP_WINDOW_CLAMP", Tcp, libc::TCP_WINDOW_CLAMP, Int),
    opt("TCP_QUICKACK", Tcp, libc::TCP_QUICKACK, Bool),
    opt("TCP_USER_TIMEOUT", Tcp, libc::TCP_USER_TIMEOUT, Int),
    opt("TCP_NOTSENT_LOWAT", Tcp, libc::TCP_NOTSENT_LOWAT, Int),
    opt("TCP_CONGESTION", Tcp, libc::TCP_CONGESTION, Text),
    opt("IP_TTL", Ip, libc::IP_TTL, Int),
    opt("IP_TOS", Ip, libc::IP_TOS, Int),
    opt("IP_MTU_DISCOVER", Ip, libc::IP_MTU_DISCOVER, Int),
    opt("IP_RECVERR", Ip, libc::IP_RECVERR, Bool),
    opt("IP_FREEBIND", Ip, libc::IP_FREEBIND, Bool),
    opt(
        "IP_BIND_ADDRESS_NO_PORT",
        Ip,
        libc::IP_BIND_ADDRESS_NO_PORT,
        Bool,
    ),
    opt("IP_MULTICAST_TTL", Ip, libc::IP_MULTICAST_TTL, Int),
    opt("IP_MULTICAST_LOOP", Ip, libc::IP_MULTICAST_LOOP, Bool),
    opt("IPV6_V6ONLY", Ipv6, libc::IPV6_V6ONLY, Bool),
    opt("IPV6_UNICAST_HOPS", Ipv6, libc::IPV6_UNICAST_HOPS, Int),
    opt("IPV6_TCLASS", Ipv6, libc::IPV6_TCLASS, Int),
    opt("IPV6_MTU_DISCOVER", Ipv6, libc::IPV6_MTU_DISCOVER, Int),
    opt("IPV6_RECVERR", Ipv6, libc::IPV6_RECVERR, Bool),
    opt("IPV6_MULTICAST_HOPS", Ipv6, libc::IPV6_MULTICAST_HOPS, Int),
    opt("IPV6_MULTICAST_LOOP", Ipv6, libc::IPV6_MULTICAST_LOOP, Bool),
];

/// The kind of socket an option is read from: its family and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SocketKind {
    pub domain: Domain,
    pub ty: Type,
}

impl SocketKind {
    fn is_inet(self) -> bool {
        self.domain == Domain::IPV4 || self.domain == Domain::IPV6
    }

    /// AF_INET / AF_INET6 / AF_UNIX.
    pub(crate) fn domain_name(self) -> &'static str {
        domain_name(i32::from(self.domain)).unwrap_or("AF_?")
    }

    /// SOCK_STREAM / SOCK_DGRAM.
    pub(crate) fn type_name(self) -> &'static str {
        type_name(i32::from(self.ty)).unwrap_or("SOCK_?")
    }
}

impl fmt::Display for SocketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} socket", self.domain_name(), self.type_name())
    }
}

fn domain_name(n: i32) -> Option<&'static str> {
    match n {
        libc::AF_INET => Some("AF_INET"),
        libc::AF_INET6 => Some("AF_INET6"),
        libc::AF_UNIX => Some("AF_UNIX"),
        _ => None,
    }
}

fn type_name(n: i32) -> Option<&'static str> {
    match n {
        libc::SOCK_STREAM => Some("SOCK_STREAM"),
        libc::SOCK_DGRAM => Some("SOCK_DGRAM"),
        libc::SOCK_RAW => Some("SOCK_RAW"),
        libc::SOCK_SEQPACKET => Some("SOCK_SEQPACKET"),
        _ => None,
    }
}

/// A fresh, unconnected socket of `kind` (TCP or UDP for inet families).
pub(crate) fn fresh_socket(kind: SocketKind) -> Result<Socket> {
    let protocol = if !kind.is_inet() {
        None
    } else if kind.ty == Type::STREAM {
        Some(Protocol::TCP)
    } else {
        Some(Protocol::UDP)
    };
    Socket::new(kind.domain, kind.ty, protocol).with_context(|| format!("create an {kind}"))
}

impl SockOpt {
    /// Does the option belong to this kind of socket? (TCP options to TCP sockets, IP to AF_INET, IPv6
    /// to AF_INET6; socket-level options to every socket.)
    pub(crate) fn applies(&self, kind: SocketKind) -> bool {
        match self.level {
            Level::Socket => true,
            Level::Tcp => kind.is_inet() && kind.ty == Type::STREAM,
            Level::Ip => kind.domain == Domain::IPV4,
            Level::Ipv6 => kind.domain == Domain::IPV6,
        }
    }

    fn buffer_len(&self) -> usize {
        match self.kind {
            Linger => size_of::<libc::linger>(),
            Timeval => size_of::<libc::timeval>(),
            Text => 64,
            _ => size_of::<libc::c_int>(),
        }
    }
}

/// Finds an option by name (case-insensitive). Unknown names are a usage error listing the known ones.
pub fn lookup(name: &str) -> Result<&'static SockOpt> {
    OPTIONS
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            usage(format!(
                "unknown socket option {name:?} (closest known: {}; `sockcat sockopt` shows all {})",
                closest(name).join(", "),
                OPTIONS.len()
            ))
        })
}

/// Every option name, for completions.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().map(|o| o.name)
}

/// The (at most 3) known names nearest to `name` by edit distance, ignoring case and the level
/// prefix (`rcvbuf` is nearest to SO_RCVBUF).
fn closest(name: &str) -> Vec<&'static str> {
    let wanted = name.trim().to_ascii_uppercase();
    let mut scored: Vec<(usize, &'static str)> = OPTIONS
        .iter()
        .map(|o| {
            let bare = o.name.split_once('_').map_or(o.name, |(_, rest)| rest);
            let d = edit_distance(&wanted, o.name).min(edit_distance(&wanted, bare) + 1);
            (d, o.name)
        })
        .collect();
    scored.sort_by_key(|&(d, _)| d);
    let best = scored.first().map_or(0, |&(d, _)| d);
    scored
        .into_iter()
        .take_while(|&(d, _)| d <= best + 1)
        .take(3)
        .map(|(_, n)| n)
        .collect()
}

/// Levenshtein distance over bytes (option names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let swap = prev[j] + usize::from(ca != cb);
            cur[j + 1] = swap.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::settings::apply;
    use super::*;
    use crate::exit::{USAGE, status_of};

    #[test]
    fn names_are_unique_and_found() {
        for (i, o) in OPTIONS.iter().enumerate() {
            assert!(
                OPTIONS[i + 1..].iter().all(|p| p.name != o.name),
                "{}",
                o.name
            );
            assert_eq!(lookup(&o.name.to_lowercase()).unwrap().name, o.name);
        }
        let err = lookup("SO_NOPE").unwrap_err();
        assert_eq!(status_of(&err), USAGE);
        assert!(err.to_string().contains("closest known: SO_TYPE;"), "{err}");
        let err = lookup("SO_RCVBUFF").unwrap_err().to_string();
        assert!(err.contains("closest known: SO_RCVBUF"), "{err}");
        assert!(!err.contains("TCP_CONGESTION"), "all names listed: {err}");
    }

    #[test]
    fn round_trips_through_the_kernel() {
        let kind = SocketKind {
            domain: Domain::IPV4,
            ty: Type::STREAM,
        };
        let sock = fresh_socket(kind).unwrap();
        for setting in [
            "TCP_NODELAY=on",
            "SO_LINGER=5",
            "SO_RCVTIMEO=2.5",
            "IP_TTL=9",
        ] {
            apply(sock.as_fd(), kind, setting).unwrap();
        }
        let got = |name| {
            let o = lookup(name).unwrap();
            get(sock.as_fd(), o).unwrap().display(o.kind)
        };
        assert_eq!(got("TCP_NODELAY"), "1");
        assert_eq!(got("SO_LINGER"), "on,5");
        assert_eq!(got("SO_RCVTIMEO"), "2.5");
        assert_eq!(got("IP_TTL"), "9");
        assert_eq!(got("SO_TYPE"), "SOCK_STREAM");
        assert_eq!(
            status_of(&apply(sock.as_fd(), kind, "SO_TYPE=1").unwrap_err()),
            USAGE
        );
        assert_eq!(
            status_of(&apply(sock.as_fd(), kind, "IPV6_V6ONLY=1").unwrap_err()),
            USAGE
        );
    }
}
