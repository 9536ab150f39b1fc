//! An output file that appears only when it is complete: bytes go to an unnamed O_TMPFILE file in the
//! target's directory (so even a receiver killed by SIGKILL leaves nothing), which gets its name at
//! [`Staged::commit`]. Where O_TMPFILE or /proc is missing, a hidden `.NAME.sockcat-PID-N.part` file
//! stands in and is removed on drop. An existing target is replaced only with `force`.
//!
//! Everything happens relative to a [`Dir`] opened once: the file is created in that directory and
//! named there (linkat, renameat), so swapping the directory's path or the name for a symlink while
//! the bytes arrive can never send them anywhere else. (A special file the user named, such as
//! /dev/null, is written directly: see [`Staged::direct`].)

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, anyhow};

use crate::exit;
use crate::sys::fs::{Dir, Kind};

enum How {
    /// O_TMPFILE: no name until commit.
    Unnamed,
    /// A hidden temporary name, removed unless committed.
    Named(OsString),
    /// Straight into an existing special file.
    Direct,
}

/// A file being written that becomes `dir/name` only at commit.
pub(crate) struct Staged {
    file: File,
    /// Where it will be named (None for [`How::Direct`]).
    dir: Option<Dir>,
    name: OsString,
    /// The target as the user knows it, for messages.
    shown: String,
    how: How,
    force: bool,
    done: bool,
}

/// Refuses an existing regular `target` unless `force` (status 2: the user named it).
pub(crate) fn check_target(target: &Path, force: bool) -> Result<()> {
    let special = std::fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir());
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => Err(exit::usage(format!("{}: is a directory", target.display()))),
        Ok(_) if force || special => Ok(()),
        Ok(_) => Err(exit::usage(format!(
            "{}: already exists (use --force to replace it)",
            target.display()
        ))),
        Err(_) => Ok(()),
    }
}

fn hidden_name(name: &OsStr) -> OsString {
    static N: AtomicU32 = AtomicU32::new(0);
    OsString::from(format!(
        ".{}.sockcat-{}-{}.part",
        name.to_string_lossy(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

impl Staged {
    /// Starts writing what will become `name` in `dir` (`shown` names it in messages).
    pub(crate) fn create(dir: Dir, name: &OsStr, shown: &str, force: bool) -> Result<Staged> {
        let unnamed = dir.tmpfile();
        let (file, how) = match unnamed {
            Ok(file) if Path::new("/proc/self/fd").is_dir() => (file, How::Unnamed),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(exit::usage(format!("{shown}: its directory is gone")));
            }
            _ => {
                let temp = hidden_name(name);
                let file = dir
                    .create_new(&temp)
                    .with_context(|| format!("create a temporary file beside {shown}"))?;
                (file, How::Named(temp))
            }
        };
        Ok(Staged {
            file,
            dir: Some(dir),
            name: name.to_owned(),
            shown: shown.to_string(),
            how,
            force,
            done: false,
        })
    }

    /// Writes straight into `file`, an existing special file (a FIFO, a device) the user named.
    pub(crate) fn direct(file: File, shown: &str) -> Staged {
        Staged {
            file,
            dir: None,
            name: OsString::new(),
            shown: shown.to_string(),
            how: How::Direct,
            force: false,
            done: false,
        }
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The file, when it is an unnamed O_TMPFILE file that only this process holds (what the
    /// `--verify` receiver may map and hash in place).
    pub(crate) fn unnamed_file(&self) -> Option<&File> {
        matches!(self.how, How::Unnamed).then_some(&self.file)
    }

    /// Puts the file in place under its name.
    pub(crate) fn commit(mut self) -> Result<()> {
        let shown = self.shown.clone();
        let exists = |e: &io::Error| e.kind() == io::ErrorKind::AlreadyExists;
        let taken = || anyhow!("{shown} appeared meanwhile; not replaced (use --force)");
        let (Some(dir), name) = (&self.dir, &self.name) else {
            self.done = true;
            return Ok(());
        };
        match &self.how {
            How::Direct => {}
            How::Unnamed => match dir.link_unnamed(self.file.as_fd(), name) {
                Ok(()) => {}
                Err(e) if exists(&e) && self.force => {
                    let temp = hidden_name(name);
                    dir.link_unnamed(self.file.as_fd(), &temp)
                        .with_context(|| format!("name a temporary file beside {shown}"))?;
                    if let Err(e) = dir.rename(&temp, name) {
                        let _ = dir.unlink(&temp);
                        return Err(anyhow!(e).context(format!("rename to {shown}")));
                    }
                }
                Err(e) if exists(&e) => return Err(taken()),
                Err(e) => return Err(anyhow!(e).context(format!("name {shown}"))),
            },
            How::Named(temp) => {
                if self.force {
                    dir.rename(temp, name)
                        .with_context(|| format!("rename to {shown}"))?;
                } else {
                    match dir.link(temp, name) {
                        Ok(()) => {
                            let _ = dir.unlink(temp);
                        }
                        Err(e) if exists(&e) => return Err(taken()),
                        Err(e) => return Err(anyhow!(e).context(format!("name {shown}"))),
                    }
                }
            }
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let (false, Some(dir), How::Named(temp)) = (self.done, &self.dir, &self.how) {
            let _ = dir.unlink(temp);
        }
    }
}

/// What `name` in `dir` is, as an error the receiver can report.
pub(crate) fn kind(dir: &Dir, name: &OsStr, shown: &str) -> Result<Kind> {
    dir.kind(name)
        .map_err(|e| anyhow!("{shown}: {}", exit::describe_io(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn stage(dir: &Path, name: &str, force: bool) -> Result<Staged> {
        Staged::create(Dir::open(dir).unwrap(), OsStr::new(name), name, force)
    }

    #[test]
    fn appears_only_at_commit_and_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let staged = stage(dir.path(), "out.bin", false).unwrap();
        staged.file().write_all(b"abc").unwrap();
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"abc");

        assert!(check_target(&target, false).is_err());
        let staged = stage(dir.path(), "out.bin", false).unwrap();
        assert!(staged.commit().is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"abc");

        let staged = stage(dir.path(), "out.bin", true).unwrap();
        staged.file().write_all(b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let dropped = stage(dir.path(), "gone", false).unwrap();
        drop(dropped);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_at_the_name_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"keep").unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        std::os::unix::fs::symlink(&outside, inbox.join("x")).unwrap();
        let staged = stage(&inbox, "x", false).unwrap();
        staged.file().write_all(b"new").unwrap();
        assert!(staged.commit().is_err());
        let staged = stage(&inbox, "x", true).unwrap();
        staged.file().write_all(b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
        assert_eq!(std::fs::read(inbox.join("x")).unwrap(), b"new");
        assert!(
            !std::fs::symlink_metadata(inbox.join("x"))
                .unwrap()
                .is_symlink()
        );
    }

    #[test]
    fn special_files_are_written_not_replaced() {
        check_target(Path::new("/dev/null"), false).unwrap();
        let dev = Dir::open(Path::new("/dev")).unwrap();
        assert_eq!(
            dev.kind_followed(OsStr::new("null")).unwrap(),
            Kind::Special
        );
        let file = dev.open_existing(OsStr::new("null")).unwrap();
        let staged = Staged::direct(file, "/dev/null");
        staged.file().write_all(b"x").unwrap();
        staged.commit().unwrap();
        assert_eq!(dev.kind(OsStr::new("null")).unwrap(), Kind::Special);
    }
}
