//! File transfer: `sockcat sendfile` (plain and `--verify`) against `nc -N < FILE`, with iperf3 -Z
//! (sendfile into a splice receiver) as the ceiling; every receiver writes /dev/null.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::harness::{Scenario, Unit};
use crate::tcp::{Measure, Source, Tool, contenders, iperf3, relays};

fn sendfile_tool(name: &'static str, sockcat: &Path, file: Rc<PathBuf>, verify: bool) -> Tool {
    let flag = |v: &mut Vec<String>| {
        if verify {
            v.push("--verify".into());
        }
    };
    let mut recv_extra = Vec::new();
    flag(&mut recv_extra);
    let mut send_extra = Vec::new();
    flag(&mut send_extra);
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
    let tools = vec![
        sendfile_tool("sockcat sendfile", sockcat, file.clone(), false),
        sendfile_tool("sockcat sendfile --verify", sockcat, file.clone(), true),
        nc,
        iperf3("iperf3 -Z (sendfile)", &["-Z"]),
    ];
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
