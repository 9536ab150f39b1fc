//! Streams: the ends that can be joined, and the one relay that joins two of them.
//!
//! An [`Endpoint`] is one end of a byte stream, in two halves that move to different threads:
//! a [`Source`] (the bytes that arrive from this end) and a [`Sink`] (the bytes that go to this end;
//! [`Sink::finish`] ends that direction: FIN for a socket, closing stdout or a child's stdin).
//! [`relay::join`]`(a, b, cfg)` relays `a`'s source to `b`'s sink and `b`'s source to `a`'s sink with
//! the end-of-stream rules of the contract, written once in [`relay`]; `a` is the local end (stdin and
//! stdout, a client), `b` the remote one (the connection).
//!
//! The kinds so far:
//!
//! | kind | where | source / sink | `finish()` |
//! | --- | --- | --- | --- |
//! | stdio (stdin, stdout or `-o FILE`) | [`crate::stdio`] | [`Input`](crate::stdio::Input) / [`Output`](crate::stdio::Output) | release stdout (its reader sees EOF) |
//! | TCP or Unix stream socket | [`socket`] | both halves share the socket | shutdown(Write) |
//! | a program on pipes (`-e`/`-c` with `--crlf`, `--hexdump`) | [`child`] | its stdout / its stdin | close its stdin |
//! | a program on a pseudo-terminal (`--pty`) | [`pty`] | both halves share the master | type ^D (VEOF) |
//! | TLS over a socket | [`tls`] | both halves share the TLS session | close_notify, then shutdown(Write) |
//!
//! A half that is a plain descriptor says so ([`Source::fd`], [`Sink::fd`]); when both halves of a
//! direction do, and nothing needs to see the bytes (no `--crlf`, no `--hexdump`), [`zerocopy`] picks a
//! kernel path from the kinds of the two descriptors (sendfile, splice, MSG_TRUNC, a private pipe);
//! otherwise the bytes go through [`Source::read`] and [`Sink::write_all`].
//!
//! **A new kind is a new module here** implementing the two traits and a constructor returning an
//! [`Endpoint`]; the relay does not change:
//! - TLS (`tls.rs`): the halves share the TLS session; `fd()` is None (the bytes on the socket are not
//!   the stream's bytes), so every direction with a TLS end takes the buffered path; `finish()` sends
//!   close_notify, then shuts down the socket's sending side.
//! - A proxied connection (`proxy/`): the handshake happens before the endpoint is made; what is left
//!   is a socket endpoint ([`Endpoint::socket`]), zero-copy included.
//! - `listen --forward`: `join(Endpoint::socket(client), Endpoint::socket(target), cfg)` per client;
//!   half-close is carried both ways by `finish()`, and [`Endpoint::stop`] ends whatever is left when
//!   the pair is over (a reset on one side, the idle timeout).

pub(crate) mod child;
pub(crate) mod hexdump;
pub(crate) mod proxy;
pub(crate) mod pty;
pub(crate) mod pump;
pub(crate) mod relay;
pub(crate) mod socket;
pub(crate) mod tls;
pub(crate) mod zerocopy;

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::Arc;

use anyhow::anyhow;

/// The bytes arriving from one end.
pub(crate) trait Source: Send {
    /// Reads what is there (waiting for something); Ok(0) is the end of this direction.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// The descriptor to read the same bytes from directly, for the zero-copy paths; None when the
    /// bytes on the descriptor are not the stream's (TLS) or there is none.
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// Can this source drop its bytes cheaper than it copies them ([`Source::skip`])? (TLS: they
    /// must still be decrypted, to be authenticated and to find the end.)
    fn skips(&self) -> bool {
        false
    }

    /// As [`Source::read`] into a buffer of `max` bytes that nobody reads (the relay's output is
    /// /dev/null): the count, Ok(0) at the end. Only called when [`Source::skips`].
    fn skip(&mut self, max: usize) -> io::Result<usize> {
        let _ = max;
        Err(io::ErrorKind::Unsupported.into())
    }

    /// A terminal on this end: when the other end closes first, the session is over at once.
    fn is_terminal(&self) -> bool {
        false
    }

    /// Can all of it go out at once, without waiting for the other end to read (/dev/null, a small
    /// file)? Such a session runs on the calling thread, one direction after the other.
    fn short(&self) -> bool {
        false
    }

    /// A read failure in the user's words (`read stdin: ...`, `connection reset by peer`).
    fn read_error(&self, err: io::Error) -> anyhow::Error;
}

/// The bytes going to one end.
pub(crate) trait Sink: Send {
    /// Writes all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;

    /// The descriptor to write the same bytes to directly, for the zero-copy paths (see [`Source::fd`]).
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// The end of this direction: nothing more will be written (FIN, close_notify, EOF on a pipe).
    fn finish(&mut self) -> io::Result<()>;

    /// A write failure in the user's words (`peer closed before all input was sent`,
    /// `write to stdout: ...`; a closed stdout is the quiet [`crate::exit::StdoutClosed`]).
    fn write_error(&self, err: io::Error) -> anyhow::Error;
}

/// Ends both directions of an end at once, waking whatever waits on it (shutdown(Both) for a socket).
pub(crate) type Stop = Arc<dyn Fn() + Send + Sync>;

/// One end of a stream, before it is split between the relay's two directions.
pub(crate) struct Endpoint {
    pub source: Box<dyn Source>,
    pub sink: Box<dyn Sink>,
    /// Closes both ways (`--close-on-eof`, or a join that ends while a direction still waits); None
    /// when nothing can be woken (stdin: the process ends instead).
    pub stop: Option<Stop>,
}

impl Endpoint {
    pub(crate) fn new(source: Box<dyn Source>, sink: Box<dyn Sink>, stop: Option<Stop>) -> Self {
        Endpoint { source, sink, stop }
    }
}

/// A source that has ended already (a closed stdin).
pub(crate) struct Empty;

impl Source for Empty {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
    fn short(&self) -> bool {
        true
    }
    fn read_error(&self, err: io::Error) -> anyhow::Error {
        anyhow!(err)
    }
}

/// A sink that drops everything (the receiving side of `--send-only`).
pub(crate) struct Discard;

impl Sink for Discard {
    fn write_all(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn write_error(&self, err: io::Error) -> anyhow::Error {
        anyhow!(err)
    }
}

/// A peer that went away, in the contract's words: the one place that names a reset or a peer that
/// stopped reading while we were sending (BrokenPipe: our send after its close).
fn peer_went_away(err: &io::Error) -> Option<&'static str> {
    match err.kind() {
        io::ErrorKind::BrokenPipe => Some("peer closed before all input was sent"),
        io::ErrorKind::ConnectionReset => Some("connection reset by peer"),
        _ => None,
    }
}

/// Did the peer go away (a reset, or a closed connection)?
pub(crate) fn peer_gone(err: &io::Error) -> bool {
    peer_went_away(err).is_some()
}

/// A failed send to a peer.
pub(crate) fn send_error(err: io::Error) -> anyhow::Error {
    match peer_went_away(&err) {
        Some(why) => anyhow!(why),
        None => anyhow!(err).context("send"),
    }
}

/// A failed receive from a peer (`what` names what was being received, as `receive the header`).
pub(crate) fn recv_error_in(err: io::Error, what: &str) -> anyhow::Error {
    match peer_went_away(&err) {
        Some(why) => anyhow!(why),
        None => anyhow!(err).context(what.to_string()),
    }
}

/// A failed receive that interrupted something: `connection reset by peer before {before}`, or
/// `what: why`.
pub(crate) fn recv_error_before(err: io::Error, what: &str, before: &str) -> anyhow::Error {
    match peer_went_away(&err) {
        Some(why) => anyhow!("{why} before {before}"),
        None => anyhow!(err).context(what.to_string()),
    }
}

/// A failed receive from a peer.
pub(crate) fn recv_error(err: io::Error) -> anyhow::Error {
    recv_error_in(err, "receive")
}

#[cfg(test)]
mod tests;
