//! File-system calls std does not offer: [`Dir`], a directory opened once that every later name is
//! resolved in (openat, fstatat, linkat, renameat, unlinkat, fstatvfs, O_TMPFILE), and a TCP socket's
//! queues: bytes still waiting to be acknowledged (SIOCOUTQ) or read (SIOCINQ).

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// What a name in a [`Dir`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Missing,
    Regular,
    Directory,
    Symlink,
    /// A FIFO, device or socket.
    Special,
}

fn kind_of(mode: libc::mode_t) -> Kind {
    match mode & libc::S_IFMT {
        libc::S_IFREG => Kind::Regular,
        libc::S_IFDIR => Kind::Directory,
        libc::S_IFLNK => Kind::Symlink,
        _ => Kind::Special,
    }
}

/// A directory opened once (O_PATH): the names given to its methods are single components looked up
/// in it, so renaming the directory or swapping its path for a symlink afterwards changes nothing.
pub(crate) struct Dir {
    fd: OwnedFd,
}

impl Dir {
    /// Opens the directory `path` (symlinks in `path` followed, once, now).
    pub(crate) fn open(path: &Path) -> io::Result<Dir> {
        let path = c_path(path)?;
        // SAFETY: path is a valid NUL-terminated string; open returns a new descriptor or -1.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by open and is owned by nobody else.
        Ok(Dir {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Another handle on the same directory.
    pub(crate) fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone()?,
        })
    }

    fn stat(&self, name: &OsStr, flags: libc::c_int) -> io::Result<Kind> {
        let name = c_name(name)?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: the descriptor is open for the borrow of self, name is NUL-terminated, and st is
        // writable memory the size of a stat, filled in when the call returns 0.
        let rc =
            unsafe { libc::fstatat(self.fd.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), flags) };
        match check(rc) {
            // SAFETY: fstatat returned 0, so st is initialised.
            Ok(()) => Ok(kind_of(unsafe { st.assume_init() }.st_mode)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Kind::Missing),
            Err(e) => Err(e),
        }
    }

    /// What `name` is itself (a symlink is a symlink).
    pub(crate) fn kind(&self, name: &OsStr) -> io::Result<Kind> {
        self.stat(name, libc::AT_SYMLINK_NOFOLLOW)
    }

    /// What `name` leads to (symlinks followed).
    pub(crate) fn kind_followed(&self, name: &OsStr) -> io::Result<Kind> {
        self.stat(name, 0)
    }

    fn open_at(&self, name: &OsStr, flags: libc::c_int) -> io::Result<File> {
        let name = c_name(name)?;
        // SAFETY: the descriptor is open for the borrow of self, name is NUL-terminated; the mode
        // argument is read only with O_CREAT or O_TMPFILE.
        let fd = unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                name.as_ptr(),
                flags | libc::O_CLOEXEC,
                0o666 as libc::c_uint,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by openat and is owned by nobody else.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// An unnamed file in this directory (O_TMPFILE), to be named by [`Dir::link_unnamed`].
    pub(crate) fn tmpfile(&self) -> io::Result<File> {
        self.open_at(OsStr::new("."), libc::O_TMPFILE | libc::O_RDWR)
    }

    /// Creates `name`, which must not exist (not even as a symlink).
    pub(crate) fn create_new(&self, name: &OsStr) -> io::Result<File> {
        self.open_at(
            name,
            libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_RDWR,
        )
    }

    /// Opens the existing `name` for writing, following a symlink (a name the user gave).
    pub(crate) fn open_existing(&self, name: &OsStr) -> io::Result<File> {
        self.open_at(name, libc::O_WRONLY | libc::O_NOCTTY)
    }

    /// Gives the unnamed file `file` (from [`Dir::tmpfile`]) the name `name` here; EEXIST if taken.
    pub(crate) fn link_unnamed(&self, file: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
        let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let to = c_name(name)?;
        // SAFETY: both strings are NUL-terminated and live through the call; `file` stays open (it is
        // borrowed), so /proc/self/fd/N names it; the directory descriptor is open for the borrow.
        check(unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                self.fd.as_raw_fd(),
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        })
    }

    /// A second name `to` for `from` (never following a symlink); EEXIST if `to` is taken.
    pub(crate) fn link(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (from, to) = (c_name(from)?, c_name(to)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: both names are NUL-terminated and live through the call; fd is open for the borrow.
        check(unsafe { libc::linkat(fd, from.as_ptr(), fd, to.as_ptr(), 0) })
    }

    /// Renames `from` to `to`, replacing whatever `to` is (a symlink itself, never its target).
    pub(crate) fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (from, to) = (c_name(from)?, c_name(to)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: both names are NUL-terminated and live through the call; fd is open for the borrow.
        check(unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) })
    }

    /// Removes the name `name` (a file or symlink).
    pub(crate) fn unlink(&self, name: &OsStr) -> io::Result<()> {
        let name = c_name(name)?;
        // SAFETY: name is NUL-terminated; the descriptor is open for the borrow of self.
        check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), name.as_ptr(), 0) })
    }

    /// Bytes an unprivileged user may still write on the file system holding this directory.
    pub(crate) fn available_space(&self) -> io::Result<u64> {
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: the descriptor is open for the borrow; st points to writable memory the size of a
        // statvfs, which the call fills in completely when it returns 0.
        check(unsafe { libc::fstatvfs(self.fd.as_raw_fd(), st.as_mut_ptr()) })?;
        // SAFETY: fstatvfs returned 0, so st is initialised.
        let st = unsafe { st.assume_init() };
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Bytes sent on a TCP socket that its peer has not acknowledged yet (a FIN counts as one).
pub(crate) fn unacknowledged(sock: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int through the pointer, which points to `n`; the socket
    // is live for the borrow.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n.max(0) as usize)
}

/// Takes an exclusive advisory lock (flock) on `file`, waiting for it; released when the file closes.
pub(crate) fn lock_exclusive(file: &std::fs::File) -> io::Result<()> {
    loop {
        // SAFETY: flock takes a descriptor, which `file` keeps open for the call, and a flag.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Bytes received on a socket that nobody has read yet (SIOCINQ).
pub(crate) fn unread(sock: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD (SIOCINQ) writes one int through the pointer, which points to `n`; the socket
    // is live for the borrow.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::FIONREAD, &mut n) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n.max(0) as usize)
}
