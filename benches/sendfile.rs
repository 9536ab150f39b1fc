//! File transfer: `sockcat sendfile --verify` (BLAKE3, the default) first, against sockcat's own
//! unverified sendfile, `--verify=sha256`, and `nc -N < FILE` (no peer verifies), with iperf3 -Z
//! (sendfile into a splice receiver) as the ceiling; every receiver writes /dev/null.
//! `SOCKCAT_BENCH_BASELINE=PATH` adds an older sockcat's `--verify` and `--verify=sha256` (what "no
//! slower than before" is judged against).

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::harness::{Scenario, Unit};
use crate::tcp::{Measure, Source, Tool, contenders, iperf3, relays};

/// `verify`: the sender's `--verify` flag (the receiver gets plain `--verify`), or None.
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
        receiver: Box::new(move |p| {
            let mut a: Vec<String> = vec!["sendfile".into(), "--receive".into()];
            a.extend(recv_extra.iter().cloned());
            a.extend([
                "-o".into(),
                "/dev/null".into(),
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
    }
}

/// Sending a regular file of `bytes` bytes.
pub fn scenario(sockcat: &Path, file: Rc<PathBuf>, bytes: u64) -> Scenario {
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
        iperf3("iperf3 -Z (sendfile)", &["-Z"]),
    ];
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
    let source = Source::File(file);
    Scenario {
        name: format!(
            "file transfer {} MiB: FILE -> receiver -> /dev/null",
            bytes >> 20
        ),
        unit: Unit::GibPerSec,
        contenders: contenders(tools, &source, bytes, Measure::Throughput, &[]),
    }
}
