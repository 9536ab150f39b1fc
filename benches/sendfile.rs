//! File transfer: `sockcat sendfile --verify` (BLAKE3, the default) first, against sockcat's own
//! unverified sendfile, `--verify=sha256`, and `nc -N < FILE` into `nc -d -l` (no peer verifies), in
//! two scenarios:
//!
//! - every receiver writes /dev/null, with iperf3 -Z (sendfile into a splice receiver) as the
//!   ceiling. An unverified sockcat receiver there touches no byte (it drops them with MSG_TRUNC), so
//!   `--verify` against it weighs hashing against nothing;
//! - every receiver writes a regular file, sendfile's real job: a new one per round in a fresh
//!   directory on tmpfs (/dev/shm when it is one, else the temporary directory; the scenario's name
//!   says which), its size checked against the source's and removed after the round. iperf3 is left
//!   out of it: its receiver's `-F FILE` drops the end of the transfer (262,799,360 of 268,435,456
//!   bytes here, iperf3 3.12; its man page: "The length, attributes, and in some cases contents of
//!   the received file may not match"), so it would fail the size check.
//!
//! `SOCKCAT_BENCH_BASELINE=PATH` adds an older sockcat's `--verify` and `--verify=sha256` to both (what
//! "no slower than before" is judged against).

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::harness::{Scenario, Unit};
use crate::tcp::{Measure, Sink, Source, Tool, contenders, iperf3, relays};

/// `verify`: the sender's `--verify` flag (the receiver gets plain `--verify`), or None. The receiver
/// writes the path the transfer gives it with `-o`.
fn sendfile_tool(
    name: &'static str,
    sockcat: &Path,
    file: Rc<PathBuf>,
    verify: Option<&str>,
) -> Tool {
    let recv_extra: Vec<String> = verify.iter().map(|_| "--verify".to_string()).collect();
    let send_extra: Vec<String> = verify.iter().map(|v| v.to_string()).collect();
    Tool {
        name,
        program: sockcat.display().to_string(),
        receiver: Box::new(move |p, out| {
            let mut a: Vec<String> = vec!["sendfile".into(), "--receive".into()];
            a.extend(recv_extra.iter().cloned());
            a.extend([
                "-o".into(),
                out.display().to_string(),
                "127.0.0.1".into(),
                p.to_string(),
            ]);
            a
        }),
        sender: Box::new(move |p, _| {
            let mut a: Vec<String> = vec!["sendfile".into()];
            a.extend(send_extra.iter().cloned());
            a.extend([
                file.display().to_string(),
                "127.0.0.1".into(),
                p.to_string(),
            ]);
            a
        }),
        reads_stdin: false,
        writes_stdout: false,
    }
}

/// The contenders of both scenarios, iperf3 -Z only with `iperf3_ceiling`.
fn tools(sockcat: &Path, file: &Rc<PathBuf>, iperf3_ceiling: bool) -> Vec<Tool> {
    let nc = relays(sockcat)
        .into_iter()
        .find(|t| t.name.starts_with("nc"))
        .expect("nc tool");
    let mut tools = vec![
        sendfile_tool(
            "sockcat sendfile --verify",
            sockcat,
            file.clone(),
            Some("--verify"),
        ),
        sendfile_tool("sockcat sendfile", sockcat, file.clone(), None),
        sendfile_tool(
            "sockcat sendfile --verify=sha256",
            sockcat,
            file.clone(),
            Some("--verify=sha256"),
        ),
        nc,
    ];
    if iperf3_ceiling {
        tools.push(iperf3("iperf3 -Z (sendfile)", &["-Z"]));
    }
    if let Some(old) = std::env::var_os("SOCKCAT_BENCH_BASELINE") {
        tools.push(sendfile_tool(
            "baseline sockcat --verify",
            Path::new(&old),
            file.clone(),
            Some("--verify"),
        ));
        tools.push(sendfile_tool(
            "baseline sockcat --verify=sha256",
            Path::new(&old),
            file.clone(),
            Some("--verify=sha256"),
        ));
    }
    tools
}

/// Sending a regular file of `bytes` bytes to receivers that write /dev/null.
pub fn scenario(sockcat: &Path, file: Rc<PathBuf>, bytes: u64) -> Scenario {
    let tools = tools(sockcat, &file, true);
    Scenario {
        name: format!(
            "file transfer {} MiB: FILE -> receiver -> /dev/null",
            bytes >> 20
        ),
        unit: Unit::GibPerSec,
        contenders: contenders(
            tools,
            &Source::File(file),
            &Sink::Null,
            bytes,
            Measure::Throughput,
            &[],
        ),
    }
}

/// Sending a regular file of `bytes` bytes to receivers that write a regular file on tmpfs.
pub fn to_file(sockcat: &Path, file: Rc<PathBuf>, bytes: u64) -> Scenario {
    let (base, place) = output_base();
    let tools = tools(sockcat, &file, false);
    Scenario {
        name: format!(
            "file transfer {} MiB: FILE -> receiver -> FILE {place}",
            bytes >> 20
        ),
        unit: Unit::GibPerSec,
        contenders: contenders(
            tools,
            &Source::File(file),
            &Sink::File(Rc::new(base)),
            bytes,
            Measure::Throughput,
            &[],
        ),
    }
}

/// Where the received files go: /dev/shm if it is a tmpfs, else the temporary directory; and how the
/// scenario's name says so ("on tmpfs (/dev/shm)", "in /tmp (ext4, not tmpfs)").
fn output_base() -> (PathBuf, String) {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && fs_type(shm).as_deref() == Some("tmpfs") {
        return (shm.to_path_buf(), "on tmpfs (/dev/shm)".into());
    }
    let tmp = std::env::temp_dir();
    let tmp = tmp.canonicalize().unwrap_or(tmp);
    let place = match fs_type(&tmp) {
        Some(t) if t == "tmpfs" => format!("on tmpfs ({})", tmp.display()),
        t => format!(
            "in {} ({}, not tmpfs)",
            tmp.display(),
            t.as_deref().unwrap_or("file system unknown")
        ),
    };
    (tmp, place)
}

/// The type of the file system `path` is on, by /proc/mounts: the deepest mount point above it (of
/// equal ones the last, which is mounted over the others).
fn fs_type(path: &Path) -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_device, at, kind) = (fields.next()?, fields.next()?, fields.next()?);
            Some((Path::new(at), kind))
        })
        .filter(|(at, _)| path.starts_with(at))
        .max_by_key(|(at, _)| at.as_os_str().len())
        .map(|(_, kind)| kind.to_string())
}
