//! Build script: link GCC's unwinder statically (libgcc_eh.a) instead of loading libgcc_s.so.1, in the
//! sockcat binary only (tests, benches and the library's other users link as usual).
//!
//! Rust's standard library on `*-linux-gnu` asks for `-lgcc_s` (for `_Unwind_*`, used here only by
//! backtraces: panics abort). Loading that library costs every run of sockcat a shared object to map
//! and relocate, and its constructor executes CPUID several times, which is a VM exit on virtual
//! machines. Without it a `--version` run took 11% less time here (2 vCPU Firecracker VM; the benchmark
//! `process start-up` measures it against nc).
//!
//! How: a one-line linker script named `libgcc_s.so` in OUT_DIR that stands for libgcc_eh.a, put on
//! the binaries' library search path only (`rustc-link-arg-bins=-L`: the linker applies every -L to
//! every -l, wherever it stands). When the C compiler has no libgcc_eh.a (or the target is not glibc,
//! is already static, or is not the host: a cross build), nothing is done and the binary links
//! libgcc_s as usual. Nothing is written outside OUT_DIR. `tests/startup.rs` checks the result.
//!
//! `SOCKCAT_STARTUP_SHIMS=0` leaves out this and the binary's `pow` (src/startup.rs), for measuring
//! them (the bench's process start-up) or for a packager who wants the system's libraries.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=src/build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=SOCKCAT_STARTUP_SHIMS");
    println!("cargo::rustc-check-cfg=cfg(sockcat_no_startup_shims)");
    if env::var("SOCKCAT_STARTUP_SHIMS").is_ok_and(|v| v == "0") {
        println!("cargo:rustc-cfg=sockcat_no_startup_shims");
        return;
    }
    let target = env::var("TARGET").unwrap_or_default();
    let host = env::var("HOST").unwrap_or_default();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    // A cross build links with another toolchain than the `cc` asked here: leave it alone.
    if target != host
        || !target.ends_with("-linux-gnu")
        || features.split(',').any(|f| f == "crt-static")
    {
        return;
    }
    let Some(unwinder) = static_unwinder() else {
        return;
    };
    let Some(out_dir) = env::var_os("OUT_DIR") else {
        return;
    };
    let dir = PathBuf::from(out_dir).join("static-unwinder");
    let script = format!("INPUT ( {} )\n", unwinder.display());
    if fs::create_dir_all(&dir).is_ok() && fs::write(dir.join("libgcc_s.so"), script).is_ok() {
        println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
    }
}

/// The path of libgcc_eh.a as the C compiler that links us knows it (`cc -print-file-name`), if any.
fn static_unwinder() -> Option<PathBuf> {
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    // Without the file, the compiler prints the bare name back.
    (out.status.success() && path.is_absolute() && Path::new(&path).is_file()).then_some(path)
}
