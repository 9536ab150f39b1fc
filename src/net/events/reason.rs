//! Why a client was turned away, and why a session ended: the `reason` of a line.

use std::io;

use anyhow::Result;

/// Why a client was turned away (`"reason"` of a `refuse` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // listen's server calls it (with its new server loop), and --forward.
pub(crate) enum RefuseReason {
    /// `--allow` / `--deny`.
    Deny,
    /// `--max-conns`, or a one-client server already busy.
    MaxConns,
    /// `udp-recv --forward --max-sessions`: a new source while the session table is full.
    MaxSessions,
    /// The TLS handshake failed.
    Tls,
    /// No valid PROXY protocol header.
    ProxyProtocol,
    /// Proxy authentication failed.
    Auth,
}

impl RefuseReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RefuseReason::Deny => "deny",
            RefuseReason::MaxConns => "max-conns",
            RefuseReason::MaxSessions => "max-sessions",
            RefuseReason::Tls => "tls",
            RefuseReason::ProxyProtocol => "proxy-protocol",
            RefuseReason::Auth => "auth",
        }
    }
}

/// Why a session ended (`"reason"` of a `close` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// Both sides ended normally.
    Eof,
    /// The peer reset the connection.
    Reset,
    /// `-i` (or a UDP session's `--session-idle`) expired.
    Idle,
    /// SIGINT / SIGTERM ended the server.
    Signal,
    /// Any other error, as its one-line text.
    Error(String),
}

impl CloseReason {
    /// The reason for a session that ended with `result`: `eof` for Ok, `reset` / `idle` when the error
    /// says so, else the error's text.
    pub(crate) fn of(result: &Result<()>) -> CloseReason {
        let Err(err) = result else {
            return CloseReason::Eof;
        };
        let io_kind = err
            .chain()
            .filter_map(|c| c.downcast_ref::<io::Error>())
            .map(|e| e.kind())
            .next();
        let text = crate::exit::render(err);
        match io_kind {
            Some(io::ErrorKind::ConnectionReset) => CloseReason::Reset,
            Some(io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => CloseReason::Idle,
            _ if text.contains("connection reset") => CloseReason::Reset,
            _ if text.contains("idle") => CloseReason::Idle,
            _ => CloseReason::Error(text),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            CloseReason::Eof => "eof",
            CloseReason::Reset => "reset",
            CloseReason::Idle => "idle",
            CloseReason::Signal => "signal",
            CloseReason::Error(text) => text,
        }
    }
}
