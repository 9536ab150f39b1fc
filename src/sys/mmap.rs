//! Read-only memory maps of files, so bytes already in the page cache can be hashed where they lie
//! instead of being copied out first: the `--verify` receiver's unnamed O_TMPFILE file
//! ([`Mapping::of`]), and windows of the file a `--verify` sender sends ([`Window`]), which another
//! process may shrink meanwhile: [`Window::populate`] refuses a part past the end, and a read that a
//! truncation races into ends the process with a clear error instead of a bare SIGBUS
//! ([`guard_sigbus`]).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

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
        Mapping::at(file, 0, len)
    }

    /// Maps `len` bytes of `file` from `offset` (a multiple of [`page_size`]).
    fn at(file: &File, offset: libc::off_t, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping chosen by the kernel (null hint), of a descriptor live for the
        // call; the result is checked against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                offset,
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

/// `len` bytes of a file from a page-aligned offset, mapped PROT_READ, MAP_SHARED, which the file may
/// no longer fill (see [`Window::populate`]); unmapped on drop.
pub(crate) struct Window {
    map: Mapping,
}

/// The page size (what a mapped file offset must be a multiple of).
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf reads a constant and touches no memory of ours.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// MADV_POPULATE_READ (Linux 5.14; not in the libc crate yet).
const MADV_POPULATE_READ: libc::c_int = 22;

impl Window {
    /// Maps `len` (> 0) bytes of `file` from `offset`, a multiple of [`page_size`].
    pub(crate) fn of(file: &File, offset: u64, len: usize) -> io::Result<Window> {
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        Ok(Window {
            map: Mapping::at(file, offset, len)?,
        })
    }

    /// Maps every page of the window in one call, reading what is not in the page cache yet. Err
    /// (EFAULT) when the file no longer reaches the window's end; Ok(false) when the kernel does
    /// not know MADV_POPULATE_READ (before 5.14: the pages then fault in as they are read).
    pub(crate) fn populate(&self) -> io::Result<bool> {
        // SAFETY: the range is exactly the mapping self owns; MADV_POPULATE_READ only maps pages
        // (it reports, never raises, a SIGBUS) and changes no memory of ours.
        let rc = unsafe { libc::madvise(self.map.ptr, self.map.len, MADV_POPULATE_READ) };
        if rc == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL) => Ok(false),
            _ => Err(e),
        }
    }

    /// The window's bytes, guarded by [`guard_sigbus`] while the closure reads them: the file
    /// may be shrunk by another process meanwhile, and a read past its new end ends the process
    /// with status 1 and `message` on stderr (a page it still has reads as it is).
    pub(crate) fn read<R>(&self, message: &'static str, f: impl FnOnce(&[u8]) -> R) -> R {
        guard_sigbus();
        GUARD_MESSAGE.store(message.as_ptr() as usize, Ordering::SeqCst);
        GUARD_MESSAGE_LEN.store(message.len(), Ordering::SeqCst);
        GUARD_START.store(self.map.ptr as usize, Ordering::SeqCst);
        GUARD_END.store(self.map.ptr as usize + self.map.len, Ordering::SeqCst);
        // SAFETY: ptr..ptr+len is mapped for as long as self lives. A page past the file's end
        // raises SIGBUS, which the guard turns into an exit before the slice is read any further;
        // bytes another process rewrites meanwhile are only a different (detected) digest.
        let bytes = unsafe { std::slice::from_raw_parts(self.map.ptr as *const u8, self.map.len) };
        let r = f(bytes);
        GUARD_START.store(0, Ordering::SeqCst);
        GUARD_END.store(0, Ordering::SeqCst);
        r
    }
}

static GUARD_START: AtomicUsize = AtomicUsize::new(0);
static GUARD_END: AtomicUsize = AtomicUsize::new(0);
static GUARD_MESSAGE: AtomicUsize = AtomicUsize::new(0);
static GUARD_MESSAGE_LEN: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_sigbus(_signal: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for a SA_SIGINFO handler; si_addr is the
    // faulting address for SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    let (start, end) = (
        GUARD_START.load(Ordering::SeqCst),
        GUARD_END.load(Ordering::SeqCst),
    );
    if start <= addr && addr < end {
        let (msg, len) = (
            GUARD_MESSAGE.load(Ordering::SeqCst),
            GUARD_MESSAGE_LEN.load(Ordering::SeqCst),
        );
        // SAFETY: msg/len describe a &'static str stored by Window::read; write(2) and _exit(2)
        // are async-signal-safe.
        unsafe {
            libc::write(2, msg as *const libc::c_void, len);
            libc::_exit(1);
        }
    }
    // Not ours: the default action, which the fault's repetition on return then takes.
    // SAFETY: signal(2) is async-signal-safe and takes no memory of ours.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

/// Installs (once) the SIGBUS handler [`Window::read`] relies on.
fn guard_sigbus() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sigaction is plain C data, valid when zeroed; the handler is an extern "C" fn of
        // the SA_SIGINFO shape that only reads atomics and calls async-signal-safe functions.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus
                as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    });
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
