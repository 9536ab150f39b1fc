//! A child process on pipes as an [`Endpoint`]: what it writes to its stdout is the source, its stdin
//! the sink; finishing the sink closes its stdin (it reads EOF). The child's exit status is its
//! owner's business (see the caller that spawned it).

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

/// The child's stdin; None once finished.
pub(crate) struct ChildSink {
    input: Option<ChildStdin>,
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
            Some(input) => input.write_all(buf),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.input.as_ref().map(|i| i.as_fd())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.input = None;
        Ok(())
    }
    fn write_error(&self, err: io::Error) -> anyhow::Error {
        anyhow!(err).context(format!("write to {}", self.name))
    }
}
