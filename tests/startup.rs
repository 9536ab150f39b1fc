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

/// Is aws-lc built by this repository's `.cargo/config.toml`? (A build from the published crate
/// does not read it, and gets aws-lc's defaults: the two aws-lc tests below then have nothing to check.)
fn repo_aws_lc_config() -> bool {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".cargo/config.toml")
        .is_file()
}

/// The values the start-up code calls from `.init_array`: the section's words, or (in a PIE, where
/// the words are 0 until loaded) the addends of the relocations that fill them.
fn init_array_targets(file: &Path) -> Vec<u64> {
    let run = |args: &[&str]| {
        let out = Command::new("readelf")
            .args(args)
            .arg(file)
            .output()
            .expect("run readelf");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    // [Nr] Name Type Address Off Size ...
    let Some((start, size)) = run(&["-S", "-W"]).lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let at = f.iter().position(|w| *w == ".init_array")?;
        Some((hex(f.get(at + 2)?)?, hex(f.get(at + 4)?)?))
    }) else {
        return Vec::new();
    };
    let mut targets: Vec<u64> = run(&["-r", "-W"])
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let offset = hex(f.first()?)?;
            (offset >= start && offset < start + size).then(|| hex(f.last()?))?
        })
        .collect();
    // `readelf -x`: "  0xADDR WORD WORD WORD WORD  ascii", little-endian 32-bit groups.
    let bytes: Vec<u8> = run(&["-x", ".init_array"])
        .lines()
        .filter(|l| l.trim_start().starts_with("0x"))
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(4)
                .filter(|w| w.len() == 8)
                .flat_map(|w| {
                    (0..4).filter_map(|i| u8::from_str_radix(&w[i * 2..i * 2 + 2], 16).ok())
                })
                .collect::<Vec<u8>>()
        })
        .collect();
    targets.extend(
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .filter(|&v| v != 0),
    );
    targets
}

/// The address of a function the file defines (`readelf -s`), if it does.
fn address_of(file: &Path, name: &str) -> Option<u64> {
    symbol(file, name, true)
}

/// aws-lc is built without its static initialiser (.cargo/config.toml): a run without `--tls` must
/// not execute its CPUID probe nor fault in its pages. Its constructor, `do_library_init`, is then
/// only called by `aws_lc_rs::init()` (from the TLS module), never from `.init_array`.
#[test]
fn aws_lc_runs_nothing_at_start_up() {
    if !glibc_host() || !have("readelf") || !repo_aws_lc_config() {
        return;
    }
    let Some(init) = address_of(&bin(), "do_library_init") else {
        return;
    };
    let targets = init_array_targets(&bin());
    assert!(
        !targets.is_empty(),
        "no .init_array found: the test cannot see"
    );
    assert!(
        !targets.contains(&init),
        "aws-lc's static initialiser is back in sockcat's .init_array (AWS_LC_SYS_CFLAGS in \
         .cargo/config.toml lost?): {targets:x?} contains {init:x}"
    );
}

/// aws-lc is built without its CPU jitter entropy source (.cargo/config.toml): seeding from timing
/// jitter took ~60 ms of every TLS run's start. Its functions (`jent_*`) must not be in the binary.
#[test]
fn aws_lc_has_no_jitter_entropy() {
    if !glibc_host() || !have("readelf") || !repo_aws_lc_config() {
        return;
    }
    let out = Command::new("readelf")
        .args(["-s", "-W"])
        .arg(bin())
        .output()
        .expect("run readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    let jent: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(7))
        .filter(|name| name.contains("jent_"))
        .take(3)
        .collect();
    assert!(
        jent.is_empty(),
        "aws-lc's jitter entropy is back in sockcat (AWS_LC_SYS_NO_JITTER_ENTROPY in \
         .cargo/config.toml lost?): {jent:?}"
    );
}

/// The value of a symbol of any type the file defines (`readelf -s`), if it does.
fn symbol_value(file: &Path, name: &str) -> Option<u64> {
    symbol(file, name, false)
}

/// The value of the symbol `name` the file defines (`readelf -s`; only a function with `func`).
fn symbol(file: &Path, name: &str, func: bool) -> Option<u64> {
    let out = Command::new("readelf")
        .args(["-s", "-W"])
        .arg(file)
        .output()
        .expect("run readelf");
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() >= 8 && (!func || f[3] == "FUNC") && f[6] != "UND" && f[7] == name)
            .then(|| u64::from_str_radix(f[1], 16).ok())?
    })
}

/// The functions a plain run executes are linked first in the text, together (src/hot-text.ld,
/// given to the linker by src/build.rs): spread out, they made the kernel map 2.0-2.5 MiB of the
/// binary's code into every plain transfer (its peak RSS: `cargo bench`). The script's two markers
/// must enclose a non-empty range holding `main`. Whether the list is still complete is for
/// `benches/hot-text.py --check` on a release build (README, Contributing).
#[test]
fn the_plain_path_code_is_gathered() {
    if !glibc_host() || !have("readelf") || option_env!("SOCKCAT_HOT_TEXT") == Some("0") {
        return;
    }
    let start = symbol_value(&bin(), "__sockcat_hot_start");
    let end = symbol_value(&bin(), "__sockcat_hot_end");
    let (Some(start), Some(end)) = (start, end) else {
        panic!("sockcat was linked without src/hot-text.ld (src/build.rs: layout)");
    };
    let main = address_of(&bin(), "main").expect("sockcat defines main");
    assert!(
        start < end && (start..end).contains(&main),
        "src/hot-text.ld gathered nothing, or not main: {start:x}..{end:x}, main at {main:x}"
    );
}
