//! A small end-to-end benchmark harness: a [`Scenario`] is a set of named [`Contender`]s (sockcat and its
//! peers), each a closure that runs the real programs once and returns one measurement. Contenders run
//! interleaved (A B C A B C ...) so that background noise hits them alike; the first round is a warm-up.
//! The report gives, per contender, the median, min-max and the ratio sockcat/peer of the medians.
//!
//! New scenario families (UDP, sendfile, servers) are new modules that build `Scenario`s from the helpers
//! here: [`Proc`] (a child with a hard time limit), [`wait_listening`] and [`free_port`].
#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a measurement counts, and which way is better.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    GibPerSec,
    PerSec,
    Millis,
    MiB,
}

impl Unit {
    pub fn label(self) -> &'static str {
        match self {
            Unit::GibPerSec => "GiB/s",
            Unit::PerSec => "per second",
            Unit::Millis => "ms",
            Unit::MiB => "MiB",
        }
    }
    pub fn higher_is_better(self) -> bool {
        matches!(self, Unit::GibPerSec | Unit::PerSec)
    }
}

/// One measurement, or why there is none.
pub type Outcome = Result<f64, String>;

/// One program (or pair of programs) in a scenario.
pub struct Contender {
    pub name: String,
    /// Why it cannot run here (a program is not installed), or None.
    pub missing: Option<String>,
    pub run: Box<dyn FnMut() -> Outcome>,
}

impl Contender {
    /// A contender that needs `programs` on PATH (absolute paths are checked as files).
    pub fn new(name: &str, programs: &[&str], run: impl FnMut() -> Outcome + 'static) -> Self {
        let missing: Vec<&str> = programs.iter().copied().filter(|p| !installed(p)).collect();
        Contender {
            name: name.to_string(),
            missing: (!missing.is_empty()).then(|| format!("missing: {}", missing.join(", "))),
            run: Box::new(run),
        }
    }
}

/// A named comparison; the first contender is the one the ratios are about (sockcat).
pub struct Scenario {
    pub name: String,
    pub unit: Unit,
    pub contenders: Vec<Contender>,
}

/// How many rounds to run.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    pub warmup: usize,
    pub runs: usize,
}

/// The results of one scenario, per contender.
pub struct Report {
    pub name: String,
    pub unit: Unit,
    pub rows: Vec<(String, Result<Vec<f64>, String>)>,
}

impl Scenario {
    /// Runs every contender `rounds` times, interleaved, and collects the measurements.
    pub fn run(mut self, rounds: Rounds) -> Report {
        let mut samples: Vec<Result<Vec<f64>, String>> = self
            .contenders
            .iter()
            .map(|c| match &c.missing {
                Some(why) => Err(why.clone()),
                None => Ok(Vec::new()),
            })
            .collect();
        for round in 0..rounds.warmup + rounds.runs {
            for (contender, slot) in self.contenders.iter_mut().zip(samples.iter_mut()) {
                if slot.is_err() {
                    continue;
                }
                match ((contender.run)(), slot) {
                    (Ok(v), Ok(list)) if round >= rounds.warmup => list.push(v),
                    (Ok(_), _) => {}
                    (Err(e), slot) => *slot = Err(format!("failed: {e}")),
                }
            }
        }
        Report {
            name: self.name,
            unit: self.unit,
            rows: self
                .contenders
                .into_iter()
                .map(|c| c.name)
                .zip(samples)
                .collect(),
        }
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let mid = v.len() / 2;
    if v.len() % 2 == 0 {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

fn fmt_value(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Report {
    /// The report as a plain-text table (also valid inside a Markdown code block).
    pub fn render(&self) -> String {
        let better = if self.unit.higher_is_better() {
            "higher is better"
        } else {
            "lower is better"
        };
        let mut out = format!("## {}  [{}, {better}]\n", self.name, self.unit.label());
        let _ = writeln!(
            out,
            "  {:<26} {:>10} {:>21} {:>14}",
            "contender", "median", "min-max", "sockcat/this"
        );
        let first = self.rows.first().and_then(|(_, r)| r.as_ref().ok());
        let reference = first.filter(|v| !v.is_empty()).map(|v| median(v));
        for (i, (name, result)) in self.rows.iter().enumerate() {
            match result {
                Ok(values) if !values.is_empty() => {
                    let med = median(values);
                    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let ratio = match reference {
                        Some(r) if i > 0 && med > 0.0 => format!("{:.2}x", r / med),
                        _ => "-".to_string(),
                    };
                    let _ = writeln!(
                        out,
                        "  {name:<26} {:>10} {:>21} {ratio:>14}",
                        fmt_value(med),
                        format!("{}-{}", fmt_value(min), fmt_value(max)),
                    );
                }
                Ok(_) => {
                    let _ = writeln!(out, "  {name:<26} no runs");
                }
                Err(why) => {
                    let _ = writeln!(out, "  {name:<26} {why}");
                }
            }
        }
        out
    }
}

/// Is `program` runnable (on PATH, or an existing file when given as a path)?
pub fn installed(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p: PathBuf = dir.join(program);
            p.is_file()
        })
    })
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Waits until some socket LISTENs on TCP `port` (IPv4 or IPv6), by polling /proc/net/tcp{,6}.
///
/// Not by connecting: a single-client receiver (`nc -l`, `sockcat listen`) would take the probe for its
/// one client and end.
pub fn wait_listening(port: u16, child: &mut Proc, limit: Duration) -> Result<(), String> {
    let needle = format!(":{port:04X} ");
    let deadline = Instant::now() + limit;
    loop {
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = std::fs::read_to_string(table).unwrap_or_default();
            // local_address is the 2nd column, st (0A = LISTEN) the 4th.
            if text.lines().skip(1).any(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                cols.len() > 3 && format!("{} ", cols[1]).ends_with(&needle) && cols[3] == "0A"
            }) {
                return Ok(());
            }
        }
        if let Some(status) = child.try_wait() {
            return Err(format!("{} exited ({status}) before listening", child.name));
        }
        if Instant::now() >= deadline {
            return Err(format!("{} not listening within {limit:?}", child.name));
        }
        std::thread::yield_now();
    }
}

/// A child process that is killed if it outlives its welcome.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
}

impl Proc {
    /// Spawns `cmd` (whose stdio the caller has set), naming it `name` in errors.
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Proc, String> {
        let child = cmd.spawn().map_err(|e| format!("spawn {name}: {e}"))?;
        Ok(Proc {
            name: name.to_string(),
            child: Some(child),
        })
    }

    /// Adopts a child spawned elsewhere.
    pub fn from_child(name: &str, child: Child) -> Proc {
        Proc {
            name: name.to_string(),
            child: Some(child),
        }
    }

    /// The child's stderr pipe, when it was spawned with one.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.as_mut().and_then(|c| c.stderr.take())
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits at most `limit` (precisely: a blocking wait in a helper thread), killing the child after.
    pub fn wait(mut self, limit: Duration) -> Result<ExitStatus, String> {
        let mut child = self.child.take().expect("child");
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(limit) {
            Ok(Ok(status)) => {
                let _ = waiter.join();
                Ok(status)
            }
            Ok(Err(e)) => Err(format!("wait for {}: {e}", self.name)),
            Err(_) => {
                // Still unreaped, so the pid is still this child's.
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                let _ = waiter.join();
                Err(format!("{} still running after {limit:?}", self.name))
            }
        }
    }

    /// Waits and requires exit status 0.
    pub fn wait_ok(self, limit: Duration) -> Result<(), String> {
        let name = self.name.clone();
        let status = self.wait(limit)?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{name} exited with {status}"))
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `Command` with all three stdio streams set to /dev/null.
pub fn quiet(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// The system's load average (1, 5, 15 minutes), to tell a quiet machine from a busy one.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
