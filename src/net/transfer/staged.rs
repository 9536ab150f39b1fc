//! An output file that appears only when it is complete: bytes go to an unnamed O_TMPFILE file in the
//! target's directory (so even a receiver killed by SIGKILL leaves nothing), which gets its name at
//! [`Staged::commit`]. Where O_TMPFILE or /proc is missing, a hidden `.NAME.sockcat-PID-N.part` file
//! stands in and is removed on drop. An existing target is replaced only with `force`; a target that is
//! not a regular file (/dev/null, a FIFO, a terminal) is written directly, never renamed over.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, anyhow};

use crate::exit;
use crate::sys::fs as sysfs;

enum How {
    /// O_TMPFILE: no name until commit.
    Unnamed,
    /// A hidden temporary name, removed unless committed.
    Named(PathBuf),
    /// Straight into an existing special file.
    Direct,
}

/// A file being written that becomes `target` only at commit.
pub(crate) struct Staged {
    file: File,
    target: PathBuf,
    how: How,
    force: bool,
    done: bool,
}

/// Is `target` a special file (a device, FIFO or socket, symlinks followed)? Those are written into,
/// never renamed over; regular files and directories are not special.
pub(crate) fn is_special(target: &Path) -> bool {
    std::fs::metadata(target).is_ok_and(|m| {
        let t = m.file_type();
        !t.is_file() && !t.is_dir()
    })
}

/// Refuses an existing regular `target` unless `force` (status 2: the user named it).
pub(crate) fn check_target(target: &Path, force: bool) -> Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => Err(exit::usage(format!("{}: is a directory", target.display()))),
        Ok(_) if force || is_special(target) => Ok(()),
        Ok(_) => Err(exit::usage(format!(
            "{}: already exists (use --force to replace it)",
            target.display()
        ))),
        Err(_) => Ok(()),
    }
}

fn dir_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn hidden_name(target: &Path) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir_of(target).join(format!(
        ".{base}.sockcat-{}-{}.part",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

impl Staged {
    /// Starts writing what will become `target`.
    pub(crate) fn create(target: &Path, force: bool) -> Result<Staged> {
        if is_special(target) {
            let file = OpenOptions::new()
                .write(true)
                .open(target)
                .with_context(|| format!("open {}", target.display()))?;
            return Ok(Staged {
                file,
                target: target.into(),
                how: How::Direct,
                force,
                done: false,
            });
        }
        let dir = dir_of(target);
        let unnamed = OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o666)
            .custom_flags(libc::O_TMPFILE)
            .open(&dir);
        let (file, how) = match unnamed {
            Ok(file) if Path::new("/proc/self/fd").is_dir() => (file, How::Unnamed),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(exit::usage(format!("{}: no such directory", dir.display())));
            }
            _ => {
                let temp = hidden_name(target);
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o666)
                    .open(&temp)
                    .with_context(|| format!("create {}", temp.display()))?;
                (file, How::Named(temp))
            }
        };
        Ok(Staged {
            file,
            target: target.into(),
            how,
            force,
            done: false,
        })
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Puts the file in place under its name.
    pub(crate) fn commit(mut self) -> Result<()> {
        let target = self.target.clone();
        let shown = target.display().to_string();
        let exists = |e: &io::Error| e.kind() == io::ErrorKind::AlreadyExists;
        let taken = || anyhow!("{shown} appeared meanwhile; not replaced (use --force)");
        match &self.how {
            How::Direct => {}
            How::Unnamed => match sysfs::link_unnamed(self.file.as_fd(), &target) {
                Ok(()) => {}
                Err(e) if exists(&e) && self.force => {
                    let temp = hidden_name(&target);
                    sysfs::link_unnamed(self.file.as_fd(), &temp)
                        .with_context(|| format!("name {}", temp.display()))?;
                    if let Err(e) = std::fs::rename(&temp, &target) {
                        let _ = std::fs::remove_file(&temp);
                        return Err(anyhow!(e).context(format!("rename to {shown}")));
                    }
                }
                Err(e) if exists(&e) => return Err(taken()),
                Err(e) => return Err(anyhow!(e).context(format!("name {shown}"))),
            },
            How::Named(temp) => {
                if self.force {
                    std::fs::rename(temp, &target).with_context(|| format!("rename to {shown}"))?;
                } else {
                    match std::fs::hard_link(temp, &target) {
                        Ok(()) => {
                            let _ = std::fs::remove_file(temp);
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
        if let (false, How::Named(temp)) = (self.done, &self.how) {
            let _ = std::fs::remove_file(temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn appears_only_at_commit_and_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let staged = Staged::create(&target, false).unwrap();
        staged.file().write_all(b"abc").unwrap();
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"abc");

        assert!(check_target(&target, false).is_err());
        let staged = Staged::create(&target, false).unwrap();
        assert!(staged.commit().is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"abc");

        let staged = Staged::create(&target, true).unwrap();
        staged.file().write_all(b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let dropped = Staged::create(&dir.path().join("gone"), false).unwrap();
        drop(dropped);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn special_files_are_written_not_replaced() {
        assert!(is_special(Path::new("/dev/null")));
        check_target(Path::new("/dev/null"), false).unwrap();
        let staged = Staged::create(Path::new("/dev/null"), false).unwrap();
        staged.file().write_all(b"x").unwrap();
        staged.commit().unwrap();
        assert!(is_special(Path::new("/dev/null")));
    }
}
