//! Setting options by name on the sockets a session opens (`--sockopt NAME=VALUE` on listen, connect,
//! udp-send, udp-recv, sendfile), and reading every option of the table from one socket (`sockopt`).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{Context, Result};
use socket2::{Domain, Socket, Type};

use crate::exit::usage;

use super::{OPTIONS, SockOpt, SocketKind, Value, get, parse_assignment, set};

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
