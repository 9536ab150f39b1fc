//! The exit-status table of the command-line contract, and how an error becomes one line and one status.
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | success (also: the reader of stdout went away) |
//! | 1 | runtime failure: refused, reset, unreachable, not found, I/O error |
//! | 2 | usage error or invalid input: bad port, bad address, bad hex, missing file |
//! | 3 | a timeout expired |
//!
//! Errors are plain `anyhow` chains. Two marker types ride in a chain to pick the status ([`Usage`] and
//! [`Timeout`]); [`StdoutClosed`] marks the one failure that is not a failure at all.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Success.
pub const OK: u8 = 0;
/// A runtime failure: refused, reset, unreachable, not found, I/O error.
pub const FAILURE: u8 = 1;
/// A usage error or invalid input.
pub const USAGE: u8 = 2;
/// A timeout expired.
pub const TIMEOUT: u8 = 3;

/// Invalid input (status 2). Its message is the whole explanation.
#[derive(Debug)]
pub struct Usage(pub String);

/// A timeout expired (status 3).
#[derive(Debug)]
pub struct Timeout(pub String);

/// The reader of our stdout went away: stop quietly with status 0.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stdout closed")
    }
}
impl std::error::Error for Usage {}
impl std::error::Error for Timeout {}
impl std::error::Error for StdoutClosed {}

/// An invalid-input error (status 2).
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(msg.into()))
}

/// A timeout error (status 3).
pub fn timeout(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Timeout(msg.into()))
}

/// Is this I/O error a write to a pipe whose reader is gone?
pub fn is_broken_pipe(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::BrokenPipe
}

/// Wraps an error from writing our output (stdout or `-o FILE`): a broken pipe becomes [`StdoutClosed`].
pub fn output_error(err: io::Error, what: &str) -> anyhow::Error {
    if is_broken_pipe(&err) {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(err).context(format!("write to {what}"))
    }
}

/// The exit status an error maps to.
pub fn status_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<StdoutClosed>() {
            return OK;
        }
        if cause.is::<Usage>() {
            return USAGE;
        }
        if cause.is::<Timeout>() {
            return TIMEOUT;
        }
    }
    FAILURE
}

/// Does this error mean "stop quietly"?
pub fn is_quiet(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.is::<StdoutClosed>())
}

/// An I/O error in the words a network engineer expects, without Rust's "(os error N)" suffix.
pub fn describe_io(err: &io::Error) -> String {
    use io::ErrorKind as K;
    let fixed = match err.kind() {
        K::ConnectionRefused => Some("connection refused"),
        K::ConnectionReset => Some("connection reset by peer"),
        K::ConnectionAborted => Some("connection aborted"),
        K::AddrInUse => Some("address in use"),
        K::AddrNotAvailable => Some("address not available"),
        K::TimedOut => Some("timed out"),
        K::BrokenPipe => Some("broken pipe"),
        K::NotFound => Some("no such file or directory"),
        K::PermissionDenied => Some("permission denied"),
        K::StorageFull => Some("no space left on device"),
        K::HostUnreachable => Some("host unreachable"),
        K::NetworkUnreachable => Some("network unreachable"),
        _ => None,
    };
    if let Some(text) = fixed {
        return text.to_string();
    }
    let text = err.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// The one-line rendering of an error chain: `what failed: why: why`.
pub fn render(err: &anyhow::Error) -> String {
    let parts: Vec<String> = err
        .chain()
        .map(|cause| match cause.downcast_ref::<io::Error>() {
            Some(io) => describe_io(io),
            None => cause.to_string(),
        })
        .collect();
    parts.join(": ").replace('\n', " ")
}

/// Writes one diagnostic line to stderr. A closed stderr (`sockcat -v ... 2>&1 | grep -m1 ...`) loses
/// the line and nothing else: `eprintln!` would panic on EPIPE, and the release profile aborts on a
/// panic. Every stderr line of sockcat goes through here (the `diag!` macro of lib.rs).
pub fn diag_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// Set by the thread SIGINT/SIGTERM wake before it cleans up and dies by that signal (CLI.md). The
/// cleanup ends the children, and with them the session they served: the command's own end, which
/// may follow at once, must not exit first with a status and an error line of its own.
static ENDING_BY_SIGNAL: AtomicBool = AtomicBool::new(false);

/// A signal is ending the process: see [`await_signal_end`].
pub fn ending_by_signal() {
    ENDING_BY_SIGNAL.store(true, Ordering::SeqCst);
}

/// If a signal is ending the process, leaves the end to it: waits, bounded (its cleanup gives the
/// children 2 s before SIGKILL), and returns only if that end did not come.
pub fn await_signal_end() {
    if !ENDING_BY_SIGNAL.load(Ordering::SeqCst) {
        return;
    }
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Prints the error once (unless it is a quiet one) and gives the exit status.
pub fn report(err: &anyhow::Error) -> u8 {
    if !is_quiet(err) {
        diag_line(format_args!("sockcat: error: {}", render(err)));
    }
    status_of(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status_of(&usage("bad port")), USAGE);
        assert_eq!(status_of(&timeout("x").context("connect")), TIMEOUT);
        assert_eq!(status_of(&anyhow::anyhow!("refused")), FAILURE);
        let closed = output_error(io::Error::from(io::ErrorKind::BrokenPipe), "stdout");
        assert_eq!(status_of(&closed), OK);
        assert!(is_quiet(&closed));
    }

    #[test]
    fn renders_io_errors_plainly() {
        let err = anyhow::Error::new(io::Error::from_raw_os_error(libc::ECONNREFUSED))
            .context("connect 127.0.0.1:1");
        assert_eq!(render(&err), "connect 127.0.0.1:1: connection refused");
        let err = anyhow::Error::new(io::Error::from_raw_os_error(libc::ENOSPC))
            .context("write to stdout");
        assert_eq!(render(&err), "write to stdout: no space left on device");
    }
}
