//! The start-up shims (src/build.rs: GCC's unwinder linked statically; src/startup.rs: the binary's
//! own C `pow`) are in the sockcat binary and only there: its dynamic dependencies are checked here,
//! so a dependency that brings back libm.so.6 or libgcc_s.so.1 fails the tests, and so does a shim
//! leaking into the other binaries that link the library (this test binary is one).

use std::path::Path;
use std::process::Command;

use crate::common::{bin, have};

/// The NEEDED entries of an ELF file (`readelf -d`).
fn needed(file: &Path) -> Vec<String> {
    let out = Command::new("readelf")
        .args(["-d", "-W"])
        .arg(file)
        .output()
        .expect("run readelf");
    assert!(out.status.success(), "readelf -d {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.trim_end_matches(']').to_string()))
        .collect()
}

/// Does `file` define the symbol `name` itself (`readelf -s`: a defined FUNC)?
fn defines(file: &Path, name: &str) -> bool {
    let out = Command::new("readelf")
        .args(["-s", "-W"])
        .arg(file)
        .output()
        .expect("run readelf");
    String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // Num: Value Size Type Bind Vis Ndx Name
        f.len() >= 8 && f[3] == "FUNC" && f[6] != "UND" && f[7] == name
    })
}

/// Did the build find a static unwinder (the condition under which src/build.rs acts)?
fn toolchain_has_libgcc_eh() -> bool {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|p| Path::new(p.trim()).is_absolute() && Path::new(p.trim()).is_file())
}

fn glibc_host() -> bool {
    cfg!(all(target_os = "linux", target_env = "gnu"))
}

#[test]
fn the_binary_loads_neither_libm_nor_libgcc_s() {
    if !glibc_host() || !have("readelf") || option_env!("SOCKCAT_STARTUP_SHIMS") == Some("0") {
        return;
    }
    let deps = needed(&bin());
    assert!(
        !deps.iter().any(|d| d.starts_with("libm.so")),
        "sockcat loads the C math library again (a new libm call? see src/startup.rs): {deps:?}"
    );
    assert!(defines(&bin(), "pow"), "sockcat lost its own pow");
    if toolchain_has_libgcc_eh() {
        assert!(
            !deps.iter().any(|d| d.starts_with("libgcc_s")),
            "sockcat loads libgcc_s again (see src/build.rs): {deps:?}"
        );
    }
}

#[test]
fn the_shims_stay_out_of_other_binaries() {
    if !glibc_host() || !have("readelf") {
        return;
    }
    let me = std::env::current_exe().unwrap();
    assert!(
        !defines(&me, "pow"),
        "the library exports its pow into every binary that links it"
    );
    // Test binaries unwind on panic: they load the system's unwinder, not the binary's linker script.
    let deps = needed(&me);
    assert!(
        deps.iter().any(|d| d.starts_with("libgcc_s")),
        "the linker script reached a test binary: {deps:?}"
    );
}
