//! End-to-end benchmarks: sockcat against the installed peers (OpenBSD nc, ncat, socat, iperf3) on
//! 127.0.0.1, interleaved, a warm-up round then several measured rounds. `cargo bench` runs everything;
//! the environment tunes it:
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `SOCKCAT_BENCH_BYTES` | 1073741824 | bytes per bulk transfer |
//! | `SOCKCAT_BENCH_RUNS` | 5 | measured rounds per scenario (after one warm-up) |
//! | `SOCKCAT_BENCH_CONNS` | 100 | sequential connections per lifecycle measurement |
//! | `SOCKCAT_BENCH_FILTER` | (all) | run only scenarios whose name contains this text |
//! | `SOCKCAT_BENCH_BIN` | the bench build's sockcat | the sockcat binary to measure |

mod harness;
mod process;
mod sendfile;
mod tcp;

use std::path::PathBuf;
use std::rc::Rc;

use harness::{Rounds, Scenario, load_average};

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn main() {
    let sockcat = std::env::var_os("SOCKCAT_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sockcat")));
    let bytes = env_num("SOCKCAT_BENCH_BYTES", 1 << 30);
    let rounds = Rounds {
        warmup: 1,
        runs: env_num("SOCKCAT_BENCH_RUNS", 5).max(1) as usize,
    };
    let conns = env_num("SOCKCAT_BENCH_CONNS", 100).max(1) as usize;
    let filter = std::env::var("SOCKCAT_BENCH_FILTER").unwrap_or_default();

    println!(
        "sockcat bench: {} | {} CPUs | kernel {} | load {} | {} measured rounds after {} warm-up",
        sockcat.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        load_average(),
        rounds.runs,
        rounds.warmup,
    );

    let rss_bytes = bytes.min(256 << 20);
    let data = Rc::new(tcp::DataFile::create(bytes).expect("create the bulk data file"));
    let small = Rc::new(tcp::DataFile::create(rss_bytes).expect("create the RSS data file"));
    let path = |d: &Rc<tcp::DataFile>| Rc::new(d.0.clone());

    let scenarios: Vec<Box<dyn FnOnce() -> Scenario>> = vec![
        Box::new({
            let (s, p) = (sockcat.clone(), path(&data));
            move || tcp::bulk_file(&s, p, bytes)
        }),
        Box::new({
            let s = sockcat.clone();
            move || tcp::bulk_pipe(&s, bytes)
        }),
        Box::new({
            let (s, p) = (sockcat.clone(), path(&data));
            move || sendfile::scenario(&s, p, bytes)
        }),
        Box::new({
            let s = sockcat.clone();
            move || tcp::lifecycles(&s, conns)
        }),
        Box::new({
            let s = sockcat.clone();
            move || process::startup(&s, 200)
        }),
        Box::new({
            let (s, p) = (sockcat.clone(), path(&small));
            move || tcp::peak_rss(&s, p, rss_bytes, true)
        }),
        Box::new({
            let (s, p) = (sockcat.clone(), path(&small));
            move || tcp::peak_rss(&s, p, rss_bytes, false)
        }),
    ];
    for make in scenarios {
        let scenario = make();
        if !scenario.name.contains(&filter) {
            continue;
        }
        let report = scenario.run(rounds);
        println!("\n{}", report.render());
    }
    println!("load at the end: {}", load_average());
    drop(data);
    drop(small);
}
