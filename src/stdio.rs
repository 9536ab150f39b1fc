//! What every subcommand reads and writes: stdin ([`Input`]), stdout or an `-o` file ([`Output`]),
//! and [`Discard`] for bytes nobody wants (`--send-only`).

use std::fs::File;
use std::io::{self, Write};

use anyhow::{Result, anyhow};

use crate::exit;

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
        use std::os::fd::AsFd;
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
}

impl Output {
    /// Our stdout.
    pub(crate) fn stdout() -> Result<Output> {
        use std::os::fd::AsFd;
        let fd = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| anyhow!(e).context("stdout"))?;
        Ok(Output {
            file: File::from(fd),
            name: "stdout".into(),
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
        })
    }
}

/// A write end that discards (the receiving side of `--send-only`).
pub(crate) struct Discard;
impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
