//! A read-only memory map of a file this process alone writes (the `--verify` receiver's unnamed
//! O_TMPFILE file), so the bytes already in the page cache can be hashed where they lie instead of
//! being copied out first.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// `len` bytes of a file mapped PROT_READ, MAP_SHARED; unmapped on drop.
pub(crate) struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only memory owned by this value; sharing or moving it between threads
// is as safe as sharing a &[u8].
unsafe impl Send for Mapping {}
// SAFETY: as above: only shared reads happen through it.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `file` (which may still be shorter: only the part written so
    /// far may be read, see [`Mapping::bytes`]). `len` must not be 0.
    pub(crate) fn of(file: &File, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping chosen by the kernel (null hint), of a descriptor live for the
        // call; the result is checked against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr, len })
    }

    /// The bytes `start..end`, which the caller has written to the file (and not truncated) first.
    pub(crate) fn bytes(&self, start: usize, end: usize) -> &[u8] {
        assert!(start <= end && end <= self.len, "outside the mapping");
        // SAFETY: ptr..ptr+len is mapped for as long as self lives; the range is inside it (checked
        // above) and, as the caller promises, inside the file's written part, so reading it cannot
        // fault. The file is our own unnamed O_TMPFILE: no other process writes or truncates it
        // (only one with our privileges could reach it, through /proc), so the bytes do not change
        // while borrowed.
        unsafe { std::slice::from_raw_parts((self.ptr as *const u8).add(start), end - start) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr and len are exactly what mmap returned and took; no borrow of the bytes
        // outlives self.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}
