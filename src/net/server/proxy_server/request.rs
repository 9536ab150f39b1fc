//! What a proxy client asked for ([`Request`], in which [`Protocol`]) and why it was not served
//! ([`Refusal`]), with the errors a handshake ends in.

use std::fmt;
use std::io;

use anyhow::anyhow;

use crate::exit;

/// Which protocol a client spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Socks4,
    Socks5,
    HttpConnect,
    /// An absolute-form request (`GET http://host/path`): `head` is the request to send on.
    HttpForward,
}

impl Protocol {
    /// The protocol's name in log lines.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Socks4 => "SOCKS4",
            Protocol::Socks5 => "SOCKS5",
            Protocol::HttpConnect => "HTTP CONNECT",
            Protocol::HttpForward => "HTTP forward",
        }
    }
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub protocol: Protocol,
    /// A host name or an address literal.
    pub host: String,
    pub port: u16,
    /// For [`Protocol::HttpForward`]: the rewritten request head (origin-form, proxy headers removed,
    /// `Connection: close`).
    pub head: Vec<u8>,
}

/// Why a request was not served, for the reply in the client's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAllowed,
    Refused,
    NetUnreachable,
    HostUnreachable,
    TimedOut,
    Failure,
}

impl Refusal {
    pub(super) fn socks5_code(self) -> u8 {
        match self {
            Refusal::Failure => 1,
            Refusal::NotAllowed => 2,
            Refusal::NetUnreachable => 3,
            Refusal::HostUnreachable | Refusal::TimedOut => 4,
            Refusal::Refused => 5,
        }
    }

    pub(super) fn http(self) -> &'static str {
        match self {
            Refusal::NotAllowed => "403 Forbidden",
            Refusal::TimedOut => "504 Gateway Timeout",
            _ => "502 Bad Gateway",
        }
    }

    /// The refusal a failed connect deserves.
    pub(super) fn of(err: &anyhow::Error) -> Refusal {
        if err.chain().any(|c| c.is::<exit::Timeout>()) {
            return Refusal::TimedOut;
        }
        let io = err.chain().find_map(|c| c.downcast_ref::<io::Error>());
        match io.map(|e| e.kind()) {
            Some(io::ErrorKind::ConnectionRefused) => Refusal::Refused,
            Some(io::ErrorKind::NetworkUnreachable) => Refusal::NetUnreachable,
            Some(io::ErrorKind::HostUnreachable) => Refusal::HostUnreachable,
            Some(io::ErrorKind::TimedOut) => Refusal::TimedOut,
            _ => Refusal::Failure,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::NotAllowed => "destination not allowed",
            Refusal::Refused => "connection refused",
            Refusal::NetUnreachable => "network unreachable",
            Refusal::HostUnreachable => "host unreachable",
            Refusal::TimedOut => "timed out",
            Refusal::Failure => "failed",
        })
    }
}

pub(super) fn bad(why: impl Into<String>) -> anyhow::Error {
    anyhow!(io::Error::new(io::ErrorKind::InvalidData, why.into()))
}

pub(super) fn io_err(e: io::Error) -> anyhow::Error {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => anyhow!("the client closed the connection mid-handshake"),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            anyhow!("the client did not finish its handshake in time")
        }
        _ => anyhow!(e),
    }
}
