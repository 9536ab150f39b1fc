//! The C library's allocator: tuned for a TLS session, and told to give freed memory back once a
//! server's crowd has left.

/// Keeps up to 4 MiB of freed memory at the top of each malloc heap instead of giving it back to the
/// kernel at once. rustls allocates every 16 KiB record it encrypts and frees it once written out; by
/// default glibc hands a freed top of a heap over 128 KiB back (madvise(MADV_DONTNEED) in a
/// thread's arena, brk in the main one), so the next 256 KiB of records faulted it in again, zeroed,
/// page by page: 131,000 page faults and 4,100 madvise calls per GiB sent, a quarter of the sender's
/// CPU time (measured: 1.05 -> 0.80 CPU-seconds per GiB). Called when a TLS session starts, so runs
/// without `--tls` keep the defaults. The pages kept were resident already: peak RSS does not grow.
pub(crate) fn keep_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets an allocator parameter (a plain integer, in range); it is
            // thread-safe (glibc takes the arena locks) and touches no memory of ours.
            unsafe {
                libc::mallopt(libc::M_TRIM_THRESHOLD, 4 << 20);
            }
        });
    }
}

/// Returns the allocator's free pages to the kernel now (glibc `malloc_trim`: the top of each arena
/// and whole free pages inside it, whatever the trim threshold): a server whose many clients have all
/// left returns to the memory it had before them (issue 14). Elsewhere (another C library) nothing
/// happens.
pub(crate) fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and releases the allocator's own free memory; it takes no
    // pointer and is thread-safe (it locks each arena).
    unsafe {
        libc::malloc_trim(0);
    }
}
