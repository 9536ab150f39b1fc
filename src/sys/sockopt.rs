//! Raw getsockopt(2) and setsockopt(2) on a byte buffer. What the bytes mean (an int, a struct
//! linger, a struct timeval, a name) is decided by the option table in `net::sockopt`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// getsockopt(fd, level, name) into `buf`; returns how many bytes the kernel wrote.
pub(crate) fn get(fd: BorrowedFd<'_>, level: i32, name: i32, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = libc::socklen_t::try_from(buf.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: fd is an open descriptor borrowed for the call; buf is writable for len bytes and len is a
    // valid in/out length the kernel never raises above what was passed.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((len as usize).min(buf.len()))
}

/// setsockopt(fd, level, name, value).
pub(crate) fn set(fd: BorrowedFd<'_>, level: i32, name: i32, value: &[u8]) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: fd is an open descriptor borrowed for the call; value is readable for len bytes.
    let rc = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, value.as_ptr().cast(), len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// TCP_INFO of a TCP socket (Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn tcp_info(fd: BorrowedFd<'_>) -> io::Result<libc::tcp_info> {
    // SAFETY: tcp_info is a plain C struct of integers; all-zero is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: fd is open; info is writable for len bytes, which is passed; older kernels may fill in
    // less, leaving the rest zero.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}

/// Sets or clears O_NONBLOCK with one ioctl(FIONBIO), where fcntl takes two (F_GETFL, F_SETFL).
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let mut arg = libc::c_int::from(on);
    // SAFETY: FIONBIO reads one int through the pointer, which is valid for the call; fd is live.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONBIO, &mut arg) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
