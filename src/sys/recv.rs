//! recv(2) with MSG_PEEK into an ordinary byte buffer (socket2's peek wants uninitialised memory).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Copies into `buf` what has arrived on the stream socket `fd` without consuming it, waiting (as a
/// read would, within SO_RCVTIMEO) when nothing has; 0 at the end of the stream.
pub(crate) fn peek(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: fd is an open descriptor borrowed for the call; buf is writable for buf.len() bytes, the
    // most recv writes.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_PEEK,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((n as usize).min(buf.len()))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn peek_leaves_the_bytes_to_read() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"hello").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(super::peek(b.as_fd(), &mut buf[..3]).unwrap(), 3);
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(super::peek(b.as_fd(), &mut buf).unwrap(), 5);
        let mut got = [0u8; 5];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
        drop(a);
        assert_eq!(super::peek(b.as_fd(), &mut buf).unwrap(), 0);
    }
}
