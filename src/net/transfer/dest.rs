//! Where a `sendfile --receive` puts the bytes, decided once at start-up ([`destination`]) and
//! applied when they come ([`Dest::open`]): stdout, a file the user named, or (with `--verify`) a name
//! the sender chose inside a directory.
//!
//! The directory is opened once, before listening, and every later step is relative to that
//! descriptor ([`Dir`]): the check of the name (never following a symlink), the unnamed file the bytes
//! go into, and the link or rename that names it. A name the sender chose that is anything but a
//! regular file or free (a symlink, a FIFO, a device, a directory) is refused, so a local user who can
//! write the directory cannot steer the bytes elsewhere. A special file the user named (`-o /dev/null`,
//! `-o FIFO`) is written into, as the user asked.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow};

use socket2::Socket;

use crate::net::transfer::wire::Wire;

use crate::exit;
use crate::net::transfer;
use crate::net::transfer::staged::{self, Staged};
use crate::net::transfer::verify::{DIGEST_LEN, Digest, Header, safe_name};
use crate::net::transfer::watchdog::Watchdog;
use crate::sys::fs::{Dir, Kind};

/// Where received bytes go.
pub(crate) enum Dest {
    Stdout,
    /// The file `name` in `dir`, as the user named it (`shown`).
    File {
        dir: Dir,
        name: OsString,
        shown: PathBuf,
    },
    /// Inside this directory, under the sender's name (`--verify` only).
    Dir {
        dir: Dir,
        shown: PathBuf,
    },
}

/// The receiver's `-o` decided before listening: a bad path is status 2 before any sender connects.
pub(crate) fn destination(output: Option<&Path>, verify: bool, force: bool) -> Result<Dest> {
    let Some(path) = output else {
        return Ok(Dest::Stdout);
    };
    let no_dir = |dir: &Path, e: &io::Error| {
        exit::usage(format!(
            "-o {}: {}: {}",
            path.display(),
            dir.display(),
            match e.kind() {
                io::ErrorKind::NotFound => "no such directory".to_string(),
                _ => exit::describe_io(e),
            }
        ))
    };
    if path.is_dir() {
        if !verify {
            return Err(exit::usage(format!(
                "-o {}: a directory needs --verify (the file name comes with it)",
                path.display()
            )));
        }
        let dir = Dir::open(path).map_err(|e| no_dir(path, &e))?;
        return Ok(Dest::Dir {
            dir,
            shown: path.to_path_buf(),
        });
    }
    staged::check_target(path, force)?;
    let Some(name) = path.file_name() else {
        return Err(exit::usage(format!(
            "-o {}: not a file name",
            path.display()
        )));
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = Dir::open(parent).map_err(|e| no_dir(parent, &e))?;
    Ok(Dest::File {
        dir,
        name: name.to_owned(),
        shown: path.to_path_buf(),
    })
}

/// The receiver's own sink: stdout, or a staged file put in place by [`Sink::commit`].
pub(crate) enum Sink {
    Stdout(File),
    Staged(Staged),
}

impl Sink {
    pub(crate) fn file(&self) -> &File {
        match self {
            Sink::Stdout(f) => f,
            Sink::Staged(s) => s.file(),
        }
    }

    /// Puts the file in place (nothing to do for stdout).
    pub(crate) fn commit(self) -> Result<()> {
        match self {
            Sink::Stdout(_) => Ok(()),
            Sink::Staged(staged) => staged.commit(),
        }
    }
}

impl transfer::Out for Sink {
    fn own_file(&self) -> Option<&File> {
        match self {
            Sink::Stdout(_) => None,
            Sink::Staged(s) => s.unnamed_file(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Refuses a size that the file system holding `dir` cannot take.
fn check_space(dir: &Dir, shown: &str, size: u64) -> Result<()> {
    if let Ok(free) = dir.available_space()
        && size > free
    {
        return Err(anyhow!(
            "the file ({size} bytes) does not fit in {shown} ({free} bytes free)"
        ));
    }
    Ok(())
}

fn refuse_existing(shown: &str) -> anyhow::Error {
    anyhow!("{shown} already exists (use --force to replace it)")
}

impl Dest {
    /// How the destination is named in messages.
    pub(crate) fn shown(&self) -> String {
        match self {
            Dest::Stdout => "stdout".to_string(),
            Dest::File { shown, .. } | Dest::Dir { shown, .. } => shown.display().to_string(),
        }
    }

    /// The file a `--verify` transfer with `header` went to, as a checksum tool names it (`-` for
    /// stdout).
    pub(crate) fn target_shown(&self, header: &Header) -> String {
        match self {
            Dest::Stdout => "-".to_string(),
            Dest::File { shown, .. } => shown.display().to_string(),
            Dest::Dir { shown, .. } => match safe_name(&header.name) {
                Ok(name) => shown.join(name).display().to_string(),
                Err(_) => shown.display().to_string(),
            },
        }
    }

    /// Opens the sink for a transfer (with `--verify`, once its header came: `header`).
    pub(crate) fn open(&self, header: Option<&Header>, force: bool) -> Result<Sink> {
        match self {
            Dest::Stdout => Ok(Sink::Stdout(crate::stdio::Output::stdout()?.file)),
            Dest::File { dir, name, shown } => {
                let shown = shown.display().to_string();
                if dir.kind_followed(name).ok() == Some(Kind::Special) {
                    let file = dir
                        .open_existing(name)
                        .map_err(|e| anyhow!(e).context(format!("open {shown}")))?;
                    // Still special once opened (not swapped for a regular file meanwhile)?
                    if file.metadata().is_ok_and(|m| !m.is_file()) {
                        return Ok(Sink::Staged(Staged::direct(file, &shown)));
                    }
                }
                staged_in(dir, name, &shown, true, header, force)
            }
            Dest::Dir { dir, shown } => {
                let Some(header) = header else {
                    return Err(exit::usage(format!(
                        "-o {}: a directory needs --verify",
                        shown.display()
                    )));
                };
                let name = safe_name(&header.name)?;
                let shown = shown.join(&name).display().to_string();
                staged_in(dir, &name, &shown, false, Some(header), force)
            }
        }
    }

    /// Receives a plain transfer (until the sender closes). Returns the byte count.
    pub(crate) fn receive_plain(
        &self,
        wire: &mut Wire,
        force: bool,
        idle: Option<Duration>,
        moved: &dyn Fn(u64),
        watched: bool,
    ) -> Result<u64> {
        let dog = watchdog(wire.socket(), idle)?;
        let moved = |n: u64| {
            dog.touch();
            moved(n);
        };
        let watched = watched || idle.is_some();
        let sink = self.open(None, force)?;
        let received = transfer::receive_plain(wire, sink.file(), &self.shown(), &moved, watched);
        let bytes = dog.check(received)?;
        sink.commit()?;
        Ok(bytes)
    }

    /// Receives a `--verify` transfer, puts the file in place when it checks out and answers the
    /// sender. `on_header` hears of the header first (a progress bar's total).
    pub(crate) fn receive_verified(
        &self,
        wire: &mut Wire,
        force: bool,
        idle: Option<Duration>,
        accept: Option<Digest>,
        on_header: &dyn Fn(&Header),
        moved: &dyn Fn(u64),
    ) -> Result<(Header, [u8; DIGEST_LEN])> {
        let dog = watchdog(wire.socket(), idle)?;
        let moved = |n: u64| {
            dog.touch();
            moved(n);
        };
        let open = |header: &Header| {
            on_header(header);
            self.open(Some(header), force)
        };
        let received = transfer::receive_verified(wire, open, &self.shown(), accept, &moved);
        let (header, sink, value) = dog.check(received)?;
        let committed = sink.commit();
        transfer::answer(wire, &committed);
        committed?;
        Ok((header, value))
    }
}

/// The receiver's idle timer (`-i`), if it has one.
fn watchdog(sock: &Socket, idle: Option<Duration>) -> Result<Watchdog> {
    match idle {
        Some(limit) => Watchdog::start(sock, Some(limit)),
        None => Ok(Watchdog::off()),
    }
}

/// A staged file for `name` in `dir`, after the checks: never into anything but a regular file (a
/// symlink the user named is replaced, one the sender named is refused), never over an existing file
/// without `force`, never bigger than the free space.
fn staged_in(
    dir: &Dir,
    name: &OsStr,
    shown: &str,
    user_named: bool,
    header: Option<&Header>,
    force: bool,
) -> Result<Sink> {
    match staged::kind(dir, name, shown)? {
        Kind::Missing => {}
        Kind::Symlink if user_named && force => {}
        Kind::Regular if force => {}
        Kind::Regular => return Err(refuse_existing(shown)),
        Kind::Symlink if user_named => return Err(refuse_existing(shown)),
        Kind::Symlink | Kind::Special | Kind::Directory => {
            return Err(anyhow!(
                "refusing to write into {shown}: not a regular file"
            ));
        }
    }
    if let Some(header) = header {
        check_space(dir, shown, header.size)?;
    }
    Ok(Sink::Staged(Staged::create(
        dir.try_clone()
            .map_err(|e| anyhow!(e).context("duplicate a descriptor"))?,
        name,
        shown,
        force,
    )?))
}
