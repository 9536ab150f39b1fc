//! The zero-copy calls std does not offer: sendfile(2), splice(2), pipes made to measure
//! (pipe2 + F_SETPIPE_SZ), and what kind of file a descriptor is (fstat), so the relay can pick a path.
//!
//! Every call here retries on EINTR; any other error is returned as it came, for the caller to map.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// What a descriptor refers to, as far as choosing a copy path goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FdKind {
    RegularFile,
    Pipe,
    Socket,
    /// /dev/null (character device 1:3): bytes written there need not exist at all.
    DevNull,
    CharDevice,
    Other,
}

/// The kind of file `fd` is.
pub(crate) fn kind(fd: BorrowedFd<'_>) -> io::Result<FdKind> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fd is a live descriptor for the duration of the borrow; st points to writable memory the
    // size of a stat, which fstat fills in completely when it returns 0.
    let rc = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat returned 0, so it initialised the whole struct.
    let st = unsafe { st.assume_init() };
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => FdKind::RegularFile,
        libc::S_IFIFO => FdKind::Pipe,
        libc::S_IFSOCK => FdKind::Socket,
        libc::S_IFCHR if st.st_rdev == libc::makedev(1, 3) => FdKind::DevNull,
        libc::S_IFCHR => FdKind::CharDevice,
        _ => FdKind::Other,
    })
}

/// Runs a syscall returning ssize_t until it is not interrupted.
fn retry(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// sendfile(2) from `input`'s current offset (which it advances) to `output`, at most `count` bytes.
/// Ok(0) is the end of the input.
pub(crate) fn sendfile(
    output: BorrowedFd<'_>,
    input: BorrowedFd<'_>,
    count: usize,
) -> io::Result<usize> {
    retry(|| {
        // SAFETY: both descriptors are live for the borrow; a null offset pointer tells the kernel to use
        // and update the file offset of `input`, so no memory of ours is read or written.
        unsafe {
            libc::sendfile(
                output.as_raw_fd(),
                input.as_raw_fd(),
                std::ptr::null_mut(),
                count,
            )
        }
    })
}

/// sendfile(2) from `input` at `*offset` (which it advances; the file offset is left alone) to
/// `output`, at most `count` bytes. Ok(0) is the end of the input.
pub(crate) fn sendfile_at(
    output: BorrowedFd<'_>,
    input: BorrowedFd<'_>,
    offset: &mut i64,
    count: usize,
) -> io::Result<usize> {
    retry(|| {
        // SAFETY: both descriptors are live for the borrow; `offset` is a valid, exclusive i64 (off_t on
        // 64-bit Linux, where sendfile is sendfile64) for the duration of the call.
        unsafe {
            libc::sendfile(
                output.as_raw_fd(),
                input.as_raw_fd(),
                offset as *mut i64 as *mut libc::off_t,
                count,
            )
        }
    })
}

/// splice(2) at most `len` bytes from `input` to `output` (one of them a pipe), at their current
/// offsets. Ok(0) is the end of the input.
pub(crate) fn splice(
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    len: usize,
) -> io::Result<usize> {
    splice_with(input, output, len, libc::SPLICE_F_MOVE)
}

/// Like [`splice`], but a full output pipe is EAGAIN instead of a wait (SPLICE_F_NONBLOCK). A socket
/// input still waits for data when it has none: call this only once poll(2) said it is readable.
pub(crate) fn splice_nonblock(
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    len: usize,
) -> io::Result<usize> {
    splice_with(
        input,
        output,
        len,
        libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
    )
}

fn splice_with(
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    len: usize,
    flags: libc::c_uint,
) -> io::Result<usize> {
    retry(|| {
        // SAFETY: both descriptors are live for the borrow; null offset pointers mean "use the file
        // offsets", so the kernel touches no memory of ours.
        unsafe {
            libc::splice(
                input.as_raw_fd(),
                std::ptr::null_mut(),
                output.as_raw_fd(),
                std::ptr::null_mut(),
                len,
                flags,
            )
        }
    })
}

/// Receives and throws away at most `buf.len()` bytes of a stream socket without copying them where
/// the protocol allows (TCP with MSG_TRUNC discards in the kernel; elsewhere `buf` is written).
/// Ok(0) is the end of the stream.
pub(crate) fn recv_discard(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    retry(|| {
        // SAFETY: buf is valid for writes of buf.len() bytes for the whole call, so whatever the kernel
        // does with MSG_TRUNC on this socket type, it stays inside memory we own; sock is live.
        unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
            )
        }
    })
}

/// Sets SO_RCVLOWAT: a blocking receive waits for this many bytes (or end of stream, an error, a
/// signal) before it returns.
pub(crate) fn set_recv_lowat(sock: BorrowedFd<'_>, bytes: usize) -> io::Result<()> {
    let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    super::sockopt::set(
        sock,
        libc::SOL_SOCKET,
        libc::SO_RCVLOWAT,
        &bytes.to_ne_bytes(),
    )
}

/// Bytes waiting in a pipe or socket (FIONREAD).
pub(crate) fn pending(fd: BorrowedFd<'_>) -> io::Result<usize> {
    count_ioctl(fd, libc::FIONREAD)
}

/// Bytes a socket holds that its peer has not taken yet (SIOCOUTQ: for TCP, sent but not acknowledged
/// plus not yet sent; for a Unix socket, what its queues hold against our send buffer).
pub(crate) fn unsent(sock: BorrowedFd<'_>) -> io::Result<usize> {
    count_ioctl(sock, libc::TIOCOUTQ)
}

/// An ioctl that reports a byte count as one int (FIONREAD, SIOCOUTQ).
fn count_ioctl(fd: BorrowedFd<'_>, request: libc::Ioctl) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: the requests passed here write one int through the pointer, which points at n; fd is
    // live for the borrow.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, &mut n) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n.max(0) as usize)
    }
}

/// A socket's send buffer size (SO_SNDBUF, as the kernel accounts it).
pub(crate) fn send_buffer(sock: BorrowedFd<'_>) -> io::Result<usize> {
    let mut buf = [0u8; 4];
    super::sockopt::get(sock, libc::SOL_SOCKET, libc::SO_SNDBUF, &mut buf)?;
    Ok(libc::c_int::from_ne_bytes(buf).max(0) as usize)
}

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds is a writable array of two ints, as pipe2 requires.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both are fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Asks for a pipe buffer of `size` bytes (F_SETPIPE_SZ); returns the size the kernel granted.
pub(crate) fn set_pipe_size(fd: BorrowedFd<'_>, size: usize) -> io::Result<usize> {
    let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    // SAFETY: F_SETPIPE_SZ takes an int argument and touches no memory of ours; fd is live.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// The pipe buffer size of `fd` (F_GETPIPE_SZ).
pub(crate) fn pipe_size(fd: BorrowedFd<'_>) -> io::Result<usize> {
    // SAFETY: F_GETPIPE_SZ takes no argument and touches no memory of ours; fd is live.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn kinds_and_pipes() {
        let (r, w) = pipe().unwrap();
        assert_eq!(kind(r.as_fd()).unwrap(), FdKind::Pipe);
        let granted = set_pipe_size(w.as_fd(), 1 << 20).unwrap_or(0);
        if granted > 0 {
            assert_eq!(pipe_size(r.as_fd()).unwrap(), granted);
        }
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        assert_eq!(kind(null.as_fd()).unwrap(), FdKind::DevNull);
        let file = tempfile::tempfile().unwrap();
        assert_eq!(kind(file.as_fd()).unwrap(), FdKind::RegularFile);

        // file -> pipe by splice, then read back.
        let mut file = file;
        file.write_all(b"hello splice").unwrap();
        use std::io::Seek;
        file.rewind().unwrap();
        assert_eq!(splice(file.as_fd(), w.as_fd(), 64).unwrap(), 12);
        drop(w);
        let mut out = String::new();
        std::fs::File::from(r).read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello splice");
    }
}
