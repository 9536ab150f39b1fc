//! The one table of socket options sockcat knows: name, level, kind of value, whether it can be set,
//! and the socket kinds it applies to. `sockopt` shows and sets options through it, and any other
//! subcommand can set an option by name with [`apply`] (`--sockopt SO_RCVBUF=65536` style flags).
//!
//! Values are what the kernel says: integers as getsockopt returns them (booleans as 0/1), a struct
//! linger as `off` or `on,SECONDS`, a struct timeval as seconds, TCP_CONGESTION as its name.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value as Json, json};
use socket2::{Domain, Protocol, Socket, Type};

use crate::exit::usage;
use crate::net::parse::parse_duration;
use crate::sys::sockopt as raw;

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

/// An option's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i32),
    Linger { onoff: i32, seconds: i32 },
    Timeval { sec: i64, usec: i64 },
    Text(String),
}

impl Value {
    /// The text shown in the table and by `--get`.
    pub fn display(&self, kind: Kind) -> String {
        match (self, kind) {
            (Value::Int(n), SockType) => type_name(*n).map_or(n.to_string(), str::to_string),
            (Value::Int(n), Domain) => domain_name(*n).map_or(n.to_string(), str::to_string),
            (Value::Int(n), _) => n.to_string(),
            (Value::Linger { onoff: 0, .. }, _) => "off".to_string(),
            (Value::Linger { seconds, .. }, _) => format!("on,{seconds}"),
            (Value::Timeval { sec, usec }, _) => {
                if *usec == 0 {
                    sec.to_string()
                } else {
                    let frac = format!("{usec:06}");
                    format!("{sec}.{}", frac.trim_end_matches('0'))
                }
            }
            (Value::Text(s), _) => s.clone(),
        }
    }

    /// The value in `--json` output: numbers as the kernel gave them.
    pub(crate) fn json(&self) -> Json {
        match self {
            Value::Int(n) => json!(n),
            Value::Linger { onoff, seconds } => json!({"onoff": onoff, "linger": seconds}),
            Value::Timeval { sec, usec } => json!(*sec as f64 + *usec as f64 / 1e6),
            Value::Text(s) => json!(s),
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

fn parse_int(opt: &SockOpt, text: &str) -> Result<i32> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse::<i64>().ok(),
    };
    parsed.and_then(|n| i32::try_from(n).ok()).ok_or_else(|| {
        usage(format!(
            "{}: invalid value {text:?}: expected an integer",
            opt.name
        ))
    })
}

fn parse_bool(opt: &SockOpt, text: &str) -> Result<i32> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(1),
        "0" | "off" | "false" | "no" => Ok(0),
        _ => Err(usage(format!(
            "{}: invalid value {text:?}: expected 0/1, on/off, true/false or yes/no",
            opt.name
        ))),
    }
}

/// Parses the text of a value for `opt` (`--set NAME=VALUE`). Invalid text is a usage error.
pub fn parse_value(opt: &SockOpt, text: &str) -> Result<Value> {
    if !opt.settable {
        return Err(usage(format!("{} is read-only", opt.name)));
    }
    match opt.kind {
        Int | SockType | Domain => Ok(Value::Int(parse_int(opt, text)?)),
        Bool => Ok(Value::Int(parse_bool(opt, text)?)),
        Linger => {
            let t = text.trim().to_ascii_lowercase();
            if t == "off" {
                return Ok(Value::Linger {
                    onoff: 0,
                    seconds: 0,
                });
            }
            let secs = t.strip_prefix("on,").unwrap_or(&t);
            let seconds = secs
                .parse::<i32>()
                .ok()
                .filter(|s| *s >= 0)
                .ok_or_else(|| {
                    usage(format!(
                        "{}: invalid value {text:?}: expected off, SECONDS or on,SECONDS",
                        opt.name
                    ))
                })?;
            Ok(Value::Linger { onoff: 1, seconds })
        }
        Timeval => {
            let d: Duration = parse_duration(text).with_context(|| opt.name.to_string())?;
            // Whole microseconds, rounded up: a timeout below 1 us must not become 0, which the
            // kernel takes for "no timeout".
            let micros = d.as_nanos().div_ceil(1000);
            Ok(Value::Timeval {
                sec: i64::try_from(micros / 1_000_000).unwrap_or(i64::MAX),
                usec: (micros % 1_000_000) as i64,
            })
        }
        Text => {
            let t = text.trim();
            if t.is_empty() || t.len() > 15 || t.contains('\0') {
                return Err(usage(format!("{}: invalid value {text:?}", opt.name)));
            }
            Ok(Value::Text(t.to_string()))
        }
    }
}

/// Parses `NAME=VALUE`.
pub fn parse_assignment(text: &str) -> Result<(&'static SockOpt, Value)> {
    let (name, value) = text.split_once('=').ok_or_else(|| {
        usage(format!(
            "invalid option setting {text:?}: expected NAME=VALUE"
        ))
    })?;
    let opt = lookup(name)?;
    Ok((opt, parse_value(opt, value)?))
}

fn int_bytes(n: i32) -> Vec<u8> {
    n.to_ne_bytes().to_vec()
}

/// Reads `opt` from a socket.
// time_t and suseconds_t are i64 here but i32 on some targets, so the i64::from calls stay.
#[allow(clippy::useless_conversion)]
pub(crate) fn get(fd: BorrowedFd<'_>, opt: &SockOpt) -> io::Result<Value> {
    let mut buf = vec![0u8; opt.buffer_len()];
    let n = raw::get(fd, opt.level.raw(), opt.optname, &mut buf)?;
    let int_at = |at: usize| -> i32 {
        let mut b = [0u8; 4];
        if n >= at + 4 {
            b.copy_from_slice(&buf[at..at + 4]);
        } else if n > at {
            // A kernel may answer with a single byte (IP_MULTICAST_TTL on short buffers).
            b[0] = buf[at];
        }
        i32::from_ne_bytes(b)
    };
    Ok(match opt.kind {
        Int | Bool | SockType | Domain => Value::Int(int_at(0)),
        Linger => Value::Linger {
            onoff: int_at(0),
            seconds: int_at(4),
        },
        Timeval => {
            let half = size_of::<libc::time_t>();
            let sec = libc::time_t::from_ne_bytes(buf[..half].try_into().unwrap_or_default());
            let usec = libc::suseconds_t::from_ne_bytes(
                buf[half..half + size_of::<libc::suseconds_t>()]
                    .try_into()
                    .unwrap_or_default(),
            );
            Value::Timeval {
                sec: i64::from(sec),
                usec: i64::from(usec),
            }
        }
        Text => {
            let end = buf[..n].iter().position(|&b| b == 0).unwrap_or(n);
            Value::Text(String::from_utf8_lossy(&buf[..end]).into_owned())
        }
    })
}

/// Writes `value` to `opt` on a socket.
pub(crate) fn set(fd: BorrowedFd<'_>, opt: &SockOpt, value: &Value) -> io::Result<()> {
    let bytes = match value {
        Value::Int(n) => int_bytes(*n),
        Value::Linger { onoff, seconds } => {
            let mut b = int_bytes(*onoff);
            b.extend(int_bytes(*seconds));
            b
        }
        Value::Timeval { sec, usec } => {
            let sec = libc::time_t::try_from(*sec).unwrap_or(libc::time_t::MAX);
            let usec = libc::suseconds_t::try_from(*usec).unwrap_or_default();
            let mut b = sec.to_ne_bytes().to_vec();
            b.extend(usec.to_ne_bytes());
            b.resize(size_of::<libc::timeval>(), 0);
            b
        }
        Value::Text(s) => s.as_bytes().to_vec(),
    };
    raw::set(fd, opt.level.raw(), opt.optname, &bytes)
}

/// `--sockopt NAME=VALUE` settings of a session: parsed once from the command line (an unknown name or
/// a bad value is status 2 before any socket exists), then set on every socket the session opens,
/// before it connects or binds. A setting that does not apply to that socket (a TCP option on UDP,
/// an IPv4 option on an IPv6 socket) is status 2 naming it.
///
/// `Copy`, so the option structs that carry it stay `Copy`: the list is parsed once per run and kept
/// for the life of the process.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SockSettings(&'static [String]);

impl SockSettings {
    pub(crate) fn parse(list: &[String]) -> Result<SockSettings> {
        if list.is_empty() {
            return Ok(SockSettings::default());
        }
        for assignment in list {
            parse_assignment(assignment).with_context(|| format!("--sockopt {assignment}"))?;
        }
        Ok(SockSettings(Box::leak(list.to_vec().into_boxed_slice())))
    }

    /// Does a setting name option `name`? (A caller's own default for it then stands back.)
    pub(crate) fn sets(&self, name: &str) -> bool {
        self.0.iter().any(|a| {
            a.split_once('=')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
    }

    /// A usage error when a setting does not apply to a socket of this domain and type.
    pub(crate) fn check(&self, domain: Domain, ty: Type) -> Result<()> {
        for assignment in self.0 {
            let (opt, _) = parse_assignment(assignment)?;
            check_applies(opt, SocketKind { domain, ty })?;
        }
        Ok(())
    }

    /// Sets every setting on `sock`, in the order given.
    pub(crate) fn apply(&self, sock: &Socket) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let kind = SocketKind {
            domain: sock.domain().context("getsockopt SO_DOMAIN")?,
            ty: sock.r#type().context("getsockopt SO_TYPE")?,
        };
        for assignment in self.0 {
            apply(sock.as_fd(), kind, assignment)?;
        }
        Ok(())
    }
}

/// Sets `NAME=VALUE` on a socket of `kind`: what a subcommand's `--sockopt` flag calls. Errors name the
/// option and value (`setsockopt SO_MARK=1: operation not permitted`).
pub(crate) fn apply(fd: BorrowedFd<'_>, kind: SocketKind, assignment: &str) -> Result<()> {
    let (opt, value) = parse_assignment(assignment)?;
    check_applies(opt, kind)?;
    set(fd, opt, &value).with_context(|| format!("setsockopt {}", assignment.trim()))
}

/// A usage error when `opt` does not belong to this kind of socket.
pub(crate) fn check_applies(opt: &SockOpt, kind: SocketKind) -> Result<()> {
    if opt.applies(kind) {
        Ok(())
    } else {
        Err(usage(format!(
            "{} ({}) does not apply to an {kind}",
            opt.name,
            opt.level.name()
        )))
    }
}

/// Does this getsockopt failure mean "the kernel has no such option for this socket"?
pub(crate) fn not_supported(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOPROTOOPT) | Some(libc::EOPNOTSUPP)
    )
}

/// Every option of the table that applies to `kind` and that the kernel answers, with its value.
pub(crate) fn read_all(
    fd: BorrowedFd<'_>,
    kind: SocketKind,
) -> Result<Vec<(&'static SockOpt, Value)>> {
    let mut out = Vec::new();
    for opt in OPTIONS.iter().filter(|o| o.applies(kind)) {
        match get(fd, opt) {
            Ok(v) => out.push((opt, v)),
            Err(e) if not_supported(&e) => {}
            Err(e) => return Err(anyhow::Error::new(e).context(format!("getsockopt {}", opt.name))),
        }
    }
    Ok(out)
}

/// TCP connection states, as named by the kernel.
fn tcp_state_name(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// TCP_INFO of a TCP socket as (field, value) pairs, in the kernel's struct order. Times are in
/// microseconds (rto, ato, rtt, rttvar, rcv_rtt) or milliseconds (last_*), as the kernel reports them.
pub(crate) fn tcp_info(fd: BorrowedFd<'_>) -> Result<Vec<(&'static str, u32)>> {
    let i = raw::tcp_info(fd).context("getsockopt TCP_INFO")?;
    Ok(vec![
        ("state", u32::from(i.tcpi_state)),
        ("ca_state", u32::from(i.tcpi_ca_state)),
        ("retransmits", u32::from(i.tcpi_retransmits)),
        ("probes", u32::from(i.tcpi_probes)),
        ("backoff", u32::from(i.tcpi_backoff)),
        ("options", u32::from(i.tcpi_options)),
        ("snd_wscale", u32::from(i.tcpi_snd_rcv_wscale & 0x0f)),
        ("rcv_wscale", u32::from(i.tcpi_snd_rcv_wscale >> 4)),
        ("rto", i.tcpi_rto),
        ("ato", i.tcpi_ato),
        ("snd_mss", i.tcpi_snd_mss),
        ("rcv_mss", i.tcpi_rcv_mss),
        ("unacked", i.tcpi_unacked),
        ("sacked", i.tcpi_sacked),
        ("lost", i.tcpi_lost),
        ("retrans", i.tcpi_retrans),
        ("fackets", i.tcpi_fackets),
        ("last_data_sent", i.tcpi_last_data_sent),
        ("last_ack_sent", i.tcpi_last_ack_sent),
        ("last_data_recv", i.tcpi_last_data_recv),
        ("last_ack_recv", i.tcpi_last_ack_recv),
        ("pmtu", i.tcpi_pmtu),
        ("rcv_ssthresh", i.tcpi_rcv_ssthresh),
        ("rtt", i.tcpi_rtt),
        ("rttvar", i.tcpi_rttvar),
        ("snd_ssthresh", i.tcpi_snd_ssthresh),
        ("snd_cwnd", i.tcpi_snd_cwnd),
        ("advmss", i.tcpi_advmss),
        ("reordering", i.tcpi_reordering),
        ("rcv_rtt", i.tcpi_rcv_rtt),
        ("rcv_space", i.tcpi_rcv_space),
        ("total_retrans", i.tcpi_total_retrans),
    ])
}

/// How a TCP_INFO field is shown in the table (the state by name, the rest as numbers).
pub(crate) fn tcp_info_display(field: &str, value: u32) -> String {
    if field == "state" {
        tcp_state_name(u8::try_from(value).unwrap_or(0)).to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
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
