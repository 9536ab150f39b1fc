//! The master side of a pseudo-terminal as an [`Endpoint`] (`-e`/`-c` with `--pty`): what the program
//! on the terminal writes is the source, what it reads the sink. Both halves share the master.
//!
//! A terminal has no half-close: finishing the sink types the end-of-file character (^D, VEOF), which
//! a program reading the terminal in canonical mode takes as the end of its input. The source ends
//! when the program and everything it started have closed the terminal (the master then reads EIO,
//! after every byte they wrote). The bytes are the terminal's: with its default settings a program's
//! `\n` arrives as `\r\n`, and what is sent to it is echoed back.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::sync::Arc;

use anyhow::anyhow;

use crate::net::stream::{Endpoint, Sink, Source};

/// The end-of-file character of a terminal's default settings (^D).
const VEOF: u8 = 4;

struct PtySource(Arc<File>);
struct PtySink(Arc<File>);

impl Endpoint {
    /// The master of a pseudo-terminal whose slave a program holds.
    pub(crate) fn pty(master: OwnedFd) -> Endpoint {
        let master = Arc::new(File::from(master));
        Endpoint::new(
            Box::new(PtySource(master.clone())),
            Box::new(PtySink(master)),
            None,
        )
    }
}

impl Source for PtySource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (&*self.0).read(buf) {
            // Every slave descriptor is closed: the program is gone.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(0),
            other => other,
        }
    }
    fn read_error(&self, err: io::Error) -> anyhow::Error {
        anyhow!(err).context("read from the pseudo-terminal")
    }
}

impl Sink for PtySink {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self.0).write_all(buf)
    }
    fn finish(&mut self) -> io::Result<()> {
        (&*self.0).write_all(&[VEOF])
    }
    fn write_error(&self, err: io::Error) -> anyhow::Error {
        anyhow!(err).context("write to the pseudo-terminal")
    }
}
