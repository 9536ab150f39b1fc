//! End-to-end benchmarks: sockcat against the installed peers (OpenBSD nc, ncat, socat, iperf3) on
//! 127.0.0.1, interleaved, a warm-up round then several measured rounds. `cargo bench` runs everything;
//! the environment tunes it:
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `SOCKCAT_BENCH_BYTES` | 1073741824 | bytes per bulk transfer |
//! | `SOCKCAT_BENCH_RUNS` | 3 | measured rounds per scenario (after one warm-up) |
//! | `SOCKCAT_BENCH_CONNS` | 100 | sequential connections per lifecycle measurement |
//! | `SOCKCAT_BENCH_SERVER_SECS` | 0.5 | seconds of sequential lifecycles per server lifecycle run |
//! | `SOCKCAT_BENCH_BURST` | 2000 | connects fired at once in the burst scenario |
//! | `SOCKCAT_BENCH_BURST_SECS` | 5 | the most one burst may take (a collapse shows as "N of M served") |
//! | `SOCKCAT_BENCH_ECHO_CLIENTS` | 200 | concurrent clients of the echo server |
//! | `SOCKCAT_BENCH_ECHO_BYTES` | 1048576 | bytes each echo client sends and reads back |
//! | `SOCKCAT_BENCH_UDP_LINES` | 1000000 | 64-byte datagrams per UDP run |
//! | `SOCKCAT_BENCH_UDP_SLOW_LINES` | 100000 | datagrams per run for the slow senders (socat, iperf3) |
//! | `SOCKCAT_BENCH_HEAVY_RUNS` | 3 | measured rounds of the server and UDP scenarios (after one warm-up) |
//! | `SOCKCAT_BENCH_BURST_RUNS` | 2 | measured rounds of the burst scenario (no warm-up) |
//! | `SOCKCAT_BENCH_IDLE_CLIENTS` | 10000 | idle clients held in the scale scenario (sockcat, then haproxy) |
//! | `SOCKCAT_BENCH_SOAK` | 1000 | idle, non-reading and slow clients (each) in the soak scenario |
//! | `SOCKCAT_BENCH_PAIRS` | 100 | concurrent bulk pairs through the forwarder (its peak RSS, against haproxy) |
//! | `SOCKCAT_BENCH_PAIR_BYTES` | 67108864 | bytes each of those pairs carries |
//!
//! The defaults keep a whole run near 4 minutes on a busy 2-CPU machine.
//! | `SOCKCAT_BENCH_FILTER` | (all) | run only scenarios whose name contains this text |
//! | `SOCKCAT_BENCH_BIN` | the bench build's sockcat | the sockcat binary to measure |

mod harness;
mod process;
mod proxy;
mod scale;
mod sendfile;
mod server;
mod soak;
mod tcp;
mod tls;
mod udp;

use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

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
        runs: env_num("SOCKCAT_BENCH_RUNS", 3).max(1) as usize,
    };
    let conns = env_num("SOCKCAT_BENCH_CONNS", 100).max(1) as usize;
    let filter = std::env::var("SOCKCAT_BENCH_FILTER").unwrap_or_default();
    let server_secs: f64 = std::env::var("SOCKCAT_BENCH_SERVER_SECS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.5);
    let server_budget = Duration::from_secs_f64(server_secs);
    let burst = env_num("SOCKCAT_BENCH_BURST", 2000).max(1) as usize;
    let burst_limit = Duration::from_secs(env_num("SOCKCAT_BENCH_BURST_SECS", 5).max(1));
    let echo_clients = env_num("SOCKCAT_BENCH_ECHO_CLIENTS", 200).max(1) as usize;
    let idle_clients = env_num("SOCKCAT_BENCH_IDLE_CLIENTS", 10_000).max(1) as usize;
    let soak_clients = env_num("SOCKCAT_BENCH_SOAK", 1000).max(1) as usize;
    let pairs = env_num("SOCKCAT_BENCH_PAIRS", 100).max(1) as usize;
    let pair_bytes = env_num("SOCKCAT_BENCH_PAIR_BYTES", 64 << 20).max(1);
    let echo_bytes = env_num("SOCKCAT_BENCH_ECHO_BYTES", 1 << 20).max(1) as usize;
    let udp_lines = env_num("SOCKCAT_BENCH_UDP_LINES", 1_000_000).max(1);
    let udp_slow = env_num("SOCKCAT_BENCH_UDP_SLOW_LINES", 100_000)
        .max(1)
        .min(udp_lines);
    // The server and UDP scenarios take seconds per run: fewer rounds (a burst needs no warm-up).
    let heavy = Rounds {
        warmup: 1,
        runs: env_num("SOCKCAT_BENCH_HEAVY_RUNS", 3).max(1) as usize,
    };
    let burst_rounds = Rounds { warmup: 0, ..heavy };

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
    let pair_file =
        Rc::new(tcp::DataFile::create(pair_bytes).expect("create the forwarded pairs' file"));
    let path = |d: &Rc<tcp::DataFile>| Rc::new(d.0.clone());

    let scenarios: Vec<(Rounds, Box<dyn FnOnce() -> Scenario>)> = vec![
        (
            rounds,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&data));
                move || tcp::bulk_file(&s, p, bytes)
            }),
        ),
        (
            rounds,
            Box::new({
                let s = sockcat.clone();
                move || tcp::bulk_pipe(&s, bytes)
            }),
        ),
        (
            rounds,
            Box::new({
                let s = sockcat.clone();
                move || tcp::bulk_pipe_to_pipe(&s, bytes)
            }),
        ),
        (
            rounds,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&data));
                move || sendfile::scenario(&s, p, bytes)
            }),
        ),
        (
            rounds,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&data));
                move || sendfile::to_file(&s, p, bytes)
            }),
        ),
        (
            rounds,
            Box::new({
                let s = sockcat.clone();
                move || tcp::lifecycles(&s, conns)
            }),
        ),
        (
            rounds,
            Box::new({
                let s = sockcat.clone();
                move || process::startup(&s, 200)
            }),
        ),
        (
            rounds,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&small));
                move || tcp::peak_rss(&s, p, rss_bytes, true)
            }),
        ),
        (
            rounds,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&small));
                move || tcp::peak_rss(&s, p, rss_bytes, false)
            }),
        ),
        (
            heavy,
            Box::new({
                let s = sockcat.clone();
                move || server::echo_lifecycles(&s, server_budget)
            }),
        ),
        (
            heavy,
            Box::new({
                let s = sockcat.clone();
                move || server::plain_lifecycles(&s, server_budget)
            }),
        ),
        (
            burst_rounds,
            Box::new({
                let s = sockcat.clone();
                move || server::connect_burst(&s, burst, burst_limit)
            }),
        ),
        (
            heavy,
            Box::new({
                let s = sockcat.clone();
                move || server::concurrent_echo(&s, echo_clients, echo_bytes)
            }),
        ),
        (
            burst_rounds,
            Box::new({
                let s = sockcat.clone();
                move || scale::idle_clients(&s, idle_clients, 200)
            }),
        ),
        (
            burst_rounds,
            Box::new({
                let s = sockcat.clone();
                move || scale::tls_sessions(&s, 1000)
            }),
        ),
        (
            Rounds { warmup: 0, runs: 1 },
            Box::new({
                let s = sockcat.clone();
                move || soak::scenario(&s, soak_clients)
            }),
        ),
        (
            heavy,
            Box::new({
                let s = sockcat.clone();
                move || {
                    let make =
                        |n| Rc::new(udp::LineFile::create(n).expect("create a UDP line file"));
                    udp::datagrams(&s, make(udp_lines), make(udp_slow))
                }
            }),
        ),
        (
            heavy,
            Box::new({
                let s = sockcat.clone();
                move || {
                    let file = udp::LineFile::create(udp_lines).expect("create a UDP line file");
                    udp::forward(&s, Rc::new(file))
                }
            }),
        ),
        (
            heavy,
            Box::new({
                // The whole bulk size: at 2 GiB/s, 256 MiB took 0.13 s, and start-up and scheduling
                // noise swamped differences of 20%.
                let (s, p) = (sockcat.clone(), path(&data));
                move || proxy::forwarding(&s, p, bytes)
            }),
        ),
        (
            heavy,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&data));
                move || proxy::tls_termination(&s, p, bytes)
            }),
        ),
        (
            heavy,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&pair_file));
                move || proxy::forwarding_pairs(&s, p, pair_bytes, pairs)
            }),
        ),
        (
            heavy,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&data));
                move || proxy::tunnels(&s, p, bytes).swap_remove(0)
            }),
        ),
        (
            heavy,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&data));
                move || proxy::tunnels(&s, p, bytes).swap_remove(1)
            }),
        ),
        (
            rounds,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&data));
                move || tls::bulk(&s, p, bytes)
            }),
        ),
        (
            rounds,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&small));
                move || tls::peak_rss(&s, p, rss_bytes, true)
            }),
        ),
        (
            rounds,
            Box::new({
                let (s, p) = (sockcat.clone(), path(&small));
                move || tls::peak_rss(&s, p, rss_bytes, false)
            }),
        ),
        (
            heavy,
            Box::new({
                let s = sockcat.clone();
                move || proxy::setups(&s, server_budget).swap_remove(0)
            }),
        ),
        (
            heavy,
            Box::new({
                let s = sockcat.clone();
                move || proxy::setups(&s, server_budget).swap_remove(1)
            }),
        ),
        (
            heavy,
            Box::new({
                let s = sockcat.clone();
                move || proxy::setups(&s, server_budget).swap_remove(2)
            }),
        ),
    ];
    for (rounds, make) in scenarios {
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
    drop(pair_file);
}
