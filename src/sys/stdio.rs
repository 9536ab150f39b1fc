//! Our own standard descriptors.

use std::io;
use std::os::fd::AsRawFd;

/// Lets go of stdout for good: /dev/null takes descriptor 1's place, so the file or pipe that was
/// there is no longer held by us (a pipe's reader sees EOF once every other copy is closed too) and a
/// stray late write goes nowhere instead of failing.
pub(crate) fn release_stdout() -> io::Result<()> {
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    // SAFETY: dup2 takes two descriptor numbers and touches no memory of ours; `null` is open for the
    // duration of the call, and replacing descriptor 1 is what this function is for (nothing in the
    // process holds a Rust object that owns descriptor 1).
    if unsafe { libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
