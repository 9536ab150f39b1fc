//! What every subcommand reads and writes: stdin ([`Input`]), stdout or an `-o` file ([`Output`]),
//! and, for the relay, the stdio [`Endpoint`] made of the two.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{Result, anyhow};

use crate::exit;
use crate::net::stream::{Empty, Endpoint, Sink, Source};

/// Where the relay's input comes from.
pub(crate) struct Input {
    pub file: File,
    /// A terminal on stdin changes the rule when the peer closes first: exit at once.
    pub is_terminal: bool,
}

impl Input {
    /// Our stdin, or None when it is closed.
    pub(crate) fn stdin() -> Option<Input> {
        use std::io::IsTerminal;
        let stdin = io::stdin();
        let is_terminal = stdin.is_terminal();
        let file = stdin.as_fd().try_clone_to_owned().ok()?;
        Some(Input {
            file: File::from(file),
            is_terminal,
        })
    }
}

/// Where received bytes go, and how to name it in errors.
pub(crate) struct Output {
    pub file: File,
    pub name: String,
    /// A copy of our stdout: finishing it as a relay's sink releases descriptor 1 too.
    is_stdout: bool,
}

impl Output {
    /// Our stdout.
    pub(crate) fn stdout() -> Result<Output> {
        let fd = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| anyhow!(e).context("stdout"))?;
        Ok(Output {
            file: File::from(fd),
            name: "stdout".into(),
            is_stdout: true,
        })
    }

    /// A file, created or truncated.
    pub(crate) fn create(path: &std::path::Path) -> Result<Output> {
        let file = File::create(path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::IsADirectory {
                exit::usage(format!("{}: {}", path.display(), exit::describe_io(&e)))
            } else {
                anyhow!(e).context(format!("open {}", path.display()))
            }
        })?;
        Ok(Output {
            file,
            name: path.display().to_string(),
            is_stdout: false,
        })
    }
}

/// The most stdin may hold to count as [`Source::short`]: it fits a fresh TCP socket's send buffer
/// (net.ipv4.tcp_wmem's default), so sending it never waits for the peer to read.
const AT_ONCE: u64 = 16 * 1024;

impl Source for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.file.as_fd())
    }
    fn is_terminal(&self) -> bool {
        self.is_terminal
    }
    /// /dev/null, or a regular file with at most [`AT_ONCE`] bytes left.
    fn short(&self) -> bool {
        use crate::sys::zerocopy::{FdKind, kind};
        use std::io::Seek;
        match kind(self.file.as_fd()) {
            Ok(FdKind::DevNull) => true,
            Ok(FdKind::RegularFile) => {
                let len = self.file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
                let pos = (&self.file).stream_position().unwrap_or(0);
                len.saturating_sub(pos) <= AT_ONCE
            }
            _ => false,
        }
    }
    fn read_error(&self, err: io::Error) -> anyhow::Error {
        anyhow!(err).context("read stdin")
    }
}

/// [`Output`] as a relay's sink; None once finished.
struct OutputSink {
    file: Option<File>,
    name: String,
    is_stdout: bool,
}

impl Sink for OutputSink {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.write_all(buf),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.file.as_ref().map(|f| f.as_fd())
    }
    /// Closes the output; for stdout, descriptor 1 itself is let go (our copy alone would keep the
    /// reader of a pipe waiting).
    fn finish(&mut self) -> io::Result<()> {
        if self.file.take().is_some() && self.is_stdout {
            crate::sys::stdio::release_stdout()?;
        }
        Ok(())
    }
    fn write_error(&self, err: io::Error) -> anyhow::Error {
        exit::output_error(err, &self.name)
    }
}

impl Endpoint {
    /// stdin (None: closed, an empty source) and stdout or an `-o` file. Nothing to stop: a session
    /// with this end ends with the process.
    pub(crate) fn stdio(input: Option<Input>, output: Output) -> Endpoint {
        let source: Box<dyn Source> = match input {
            Some(input) => Box::new(input),
            None => Box::new(Empty),
        };
        let Output {
            file,
            name,
            is_stdout,
        } = output;
        let sink = OutputSink {
            file: Some(file),
            name,
            is_stdout,
        };
        Endpoint::new(source, Box::new(sink), None)
    }
}
