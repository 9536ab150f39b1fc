//! The start-up shims of the sockcat binary only (src/main.rs includes this file; the library does
//! not, so tests, benches, fuzz targets and other users of the crate keep the C library's `pow` and
//! the Rust runtime's start-up): its C `main`, in place of the Rust runtime's (below), and `pow`,
//! from the `libm` crate (a Rust port of musl's), exported under the C name so that sockcat does not
//! load the C math library at all. Its twin, the static unwinder, is src/build.rs; `tests/startup.rs`
//! checks the binary's dynamic dependencies, so a regression fails the tests.
//!
//! The only C math function sockcat calls is `pow` (indicatif's rate estimator, `f64::powf`). Linking it
//! from glibc makes every start load and relocate libm.so.6: about 0.2 ms, a sixth of sockcat's start-up
//! on a small VM, for a function used only while a progress bar is drawn. With this definition the
//! linker (`--as-needed`) leaves libm.so.6 out. `SOCKCAT_STARTUP_SHIMS=0` at build time leaves both
//! shims out (to measure them, or for a packager who prefers the system's libraries).

/// The process's C `main`, in place of the Rust runtime's (src/main.rs is `#![no_main]`): what that
/// runtime does first, sockcat needs only part of, done in [`sockcat::start_process`] (descriptors 0-2
/// open, SIGPIPE ignored); the rest it skips: reading /proc/self/maps to place the main thread's stack
/// guard, and an alternate signal stack with SIGSEGV and SIGBUS handlers to name a stack overflow (one
/// is then a plain SIGSEGV). About 65 us of every start on a small VM (a `println!` program, 500
/// spawns: 972 us with the runtime's start-up, 902 without). The program's arguments still reach
/// `std::env::args` (the standard library takes them from the C library at load time, before
/// `main`). What `println!` buffered is flushed before returning, as the runtime's exit would.
// SAFETY: an unmangled `main` is sound here because it has exactly the C signature the C library's
// start-up code calls, and the binary defines no other (`no_main` removes the Rust runtime's).
#[cfg(all(not(test), not(sockcat_no_startup_shims)))]
#[unsafe(no_mangle)]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    sockcat::start_process();
    let status = crate::sockcat_main();
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::ffi::c_int::from(status)
}

/// C99 `pow(x, y)`.
// SAFETY: exporting an unmangled `pow` is sound here because it has exactly the C signature and meaning
// of the C library's `pow` (the libm crate implements C99 pow, within 1 ulp), so any caller that binds to
// it, in sockcat or in a library loaded later, gets the same answer; and no other definition of `pow`
// is linked into the executable (glibc's lives in libm.so.6, which is then not loaded).
#[cfg(not(sockcat_no_startup_shims))]
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

#[cfg(all(test, not(sockcat_no_startup_shims)))]
mod tests {
    #[test]
    fn powf_is_pow() {
        let x = std::hint::black_box(0.1_f64);
        assert!((x.powf(std::hint::black_box(2.0)) - 0.01).abs() < 1e-15);
        assert_eq!(super::pow(2.0, 10.0), 1024.0);
        assert!(super::pow(-1.0, 0.5).is_nan());
    }
}
