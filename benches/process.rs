//! Process start-up: the time to spawn, print the version and exit, averaged over many spawns.
//! `SOCKCAT_BENCH_BASELINE=PATH` adds another sockcat build in the same run (for example one built with
//! `SOCKCAT_STARTUP_SHIMS=0`, to weigh the start-up shims).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{Contender, Outcome, Proc, Scenario, Unit, quiet};

/// Milliseconds per `PROGRAM VERSION-FLAG` run, over `count` sequential runs.
pub fn startup(sockcat: &Path, count: usize) -> Scenario {
    let mut tools: Vec<(&str, String, &str)> = vec![
        (
            "sockcat --version",
            sockcat.display().to_string(),
            "--version",
        ),
        ("nc -h", "nc".into(), "-h"),
        ("ncat --version", "ncat".into(), "--version"),
        ("socat -V", "socat".into(), "-V"),
        ("iperf3 --version", "iperf3".into(), "--version"),
    ];
    if let Some(old) = std::env::var_os("SOCKCAT_BENCH_BASELINE") {
        let old = Path::new(&old).display().to_string();
        tools.push(("baseline sockcat --version", old, "--version"));
    }
    Scenario {
        name: format!("process start-up, {count} sequential runs"),
        unit: Unit::Millis,
        contenders: tools
            .into_iter()
            .map(|(name, program, flag)| {
                let check = program.clone();
                Contender::new(name, &[&check], move || run(&program, flag, count))
            })
            .collect(),
    }
}

fn run(program: &str, flag: &str, count: usize) -> Outcome {
    let start = Instant::now();
    for _ in 0..count {
        // Exit statuses vary (nc -h is 1); only the time counts.
        Proc::spawn(program, &mut quiet(program, &[flag]))?.wait(Duration::from_secs(10))?;
    }
    Ok(start.elapsed().as_secs_f64() * 1000.0 / count as f64)
}
