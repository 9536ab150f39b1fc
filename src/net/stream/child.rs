//! A child process on pipes as an [`Endpoint`]: what it writes to its stdout is the source, its stdin
//! the sink; finishing the sink closes its stdin (it reads EOF). The child's exit status is its
//! owner's business (see the caller that spawned it).
//!
//! A program that stops reading (it closed its stdin, or exited: `printf 'HTTP/1.0 200 OK...'` as a
//! responder) does not end the session: what the peer sends from then on is read and dropped, as it
//! would lie unread in the socket of a program given the socket itself, and the program's output is
//! still relayed. Otherwise the peer's request, arriving after such a program exited, ended the
//! session before its answer went out (curl: `Empty reply from server`).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{ChildStdin, ChildStdout};

use anyhow::anyhow;

use crate::net::stream::{Endpoint, Sink, Source};

/// The child's stdout.
pub(crate) struct ChildSource {
    out: ChildStdout,
    name: String,
}

/// The child's stdin; None once finished, or once the child closed it.
pub(crate) struct ChildSink {
    input: Option<ChildStdin>,
    /// The child closed its stdin (a write met EPIPE): what comes is dropped.
    gone: bool,
    name: String,
}

impl Endpoint {
    /// The pipes of a child spawned with piped stdin and stdout; `name` names it in errors.
    pub(crate) fn child(input: ChildStdin, out: ChildStdout, name: &str) -> Endpoint {
        Endpoint::new(
            Box::new(ChildSource {
                out,
                name: name.to_string(),
            }),
            Box::new(ChildSink {
                input: Some(input),
                gone: false,
                name: name.to_string(),
            }),
            None,
        )
    }
}

impl Source for ChildSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.out.read(buf)
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.out.as_fd())
    }
    fn read_error(&self, err: io::Error) -> anyhow::Error {
        anyhow!(err).context(format!("read from {}", self.name))
    }
}

impl Sink for ChildSink {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.input {
            Some(input) => match input.write_all(buf) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    self.input = None;
                    self.gone = true;
                    Ok(())
                }
                other => other,
            },
            None if self.gone => Ok(()),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    /// None: a splice into a pipe the child closed would fail the session (see the module header),
    /// so this direction is buffered, where [`Sink::write_all`] can drop what the child no longer
    /// reads.
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
    fn finish(&mut self) -> io::Result<()> {
        self.input = None;
        Ok(())
    }
    fn write_error(&self, err: io::Error) -> anyhow::Error {
        anyhow!(err).context(format!("write to {}", self.name))
    }
}
