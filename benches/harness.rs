//! A small end-to-end benchmark harness: a [`Scenario`] is a set of named [`Contender`]s (sockcat and its
//! peers), each a closure that runs the real programs once and returns one measurement. Contenders run
//! interleaved (A B C A B C ...) so that background noise hits them alike; the first round is a warm-up.
//! The report gives, per contender, the median, min-max and the ratio sockcat/peer of the medians.
//!
//! New scenario families (UDP, sendfile, servers) are new modules that build `Scenario`s from the helpers
//! here and from the process runner the integration tests share (`tests/common/runner.rs`): [`Proc`] (a
//! child with a hard time limit), [`quiet`], [`installed`], [`wait_listening`] and [`free_port`].
#![allow(dead_code)]

use std::cell::RefCell;
use std::fmt::Write as _;

#[path = "../tests/common/runner.rs"]
mod runner;
pub use runner::{
    Proc, free_port, installed, open_fds, quiet, rss_kib, status_field, wait_listening,
};

/// What a measurement counts, and which way is better.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    GibPerSec,
    MiBPerSec,
    PerSec,
    Millis,
    MiB,
}

impl Unit {
    pub fn label(self) -> &'static str {
        match self {
            Unit::GibPerSec => "GiB/s",
            Unit::MiBPerSec => "MiB/s",
            Unit::PerSec => "per second",
            Unit::Millis => "ms",
            Unit::MiB => "MiB",
        }
    }
    pub fn higher_is_better(self) -> bool {
        matches!(self, Unit::GibPerSec | Unit::MiBPerSec | Unit::PerSec)
    }
}

/// One measurement, or why there is none.
pub type Outcome = Result<f64, String>;

thread_local! {
    /// A second figure for the run in progress (label, value), e.g. the loss of a UDP run.
    static EXTRA: RefCell<Option<(&'static str, f64)>> = const { RefCell::new(None) };
    /// Remarks made during the scenario in progress (a topic and the values seen), shown under its table.
    static NOTES: RefCell<Vec<(String, Vec<String>)>> = const { RefCell::new(Vec::new()) };
}

/// Records a second figure for the current run (shown as its own column: median and min-max).
pub fn extra(label: &'static str, value: f64) {
    EXTRA.with(|e| *e.borrow_mut() = Some((label, value)));
}

/// Records a remark about the current scenario, shown under its table as `topic: value, value ...`
/// (one line per topic, the values of every run that made it; an empty value adds nothing).
pub fn note(topic: impl Into<String>, value: impl Into<String>) {
    let (topic, value) = (topic.into(), value.into());
    NOTES.with(|n| {
        let mut notes = n.borrow_mut();
        let at = match notes.iter().position(|(t, _)| *t == topic) {
            Some(at) => at,
            None => {
                notes.push((topic, Vec::new()));
                notes.len() - 1
            }
        };
        if !value.is_empty() {
            notes[at].1.push(value);
        }
    });
}

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
    /// The label of the second figure, if the runs recorded one ([`extra`]), and its values per row.
    pub extra: Option<(&'static str, Vec<Vec<f64>>)>,
    pub notes: Vec<(String, Vec<String>)>,
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
        let mut extras: Vec<Vec<f64>> = vec![Vec::new(); self.contenders.len()];
        let mut extra_label = None;
        NOTES.with(|n| n.borrow_mut().clear());
        for round in 0..rounds.warmup + rounds.runs {
            for (i, (contender, slot)) in self
                .contenders
                .iter_mut()
                .zip(samples.iter_mut())
                .enumerate()
            {
                if slot.is_err() {
                    continue;
                }
                EXTRA.with(|e| e.borrow_mut().take());
                let outcome = (contender.run)();
                let extra = EXTRA.with(|e| e.borrow_mut().take());
                match (outcome, slot) {
                    (Ok(v), Ok(list)) if round >= rounds.warmup => {
                        list.push(v);
                        if let Some((label, x)) = extra {
                            extra_label = Some(label);
                            extras[i].push(x);
                        }
                    }
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
            extra: extra_label.map(|label| (label, extras)),
            notes: NOTES.with(|n| std::mem::take(&mut *n.borrow_mut())),
        }
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

fn fmt_value(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v >= 1000.0 {
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
        // The names' column: 28 wide, or wider for a longer name.
        let w = self
            .rows
            .iter()
            .map(|(name, _)| name.chars().count())
            .fold(28, usize::max);
        let _ = write!(
            out,
            "  {:<w$} {:>10} {:>21} {:>14}",
            "contender", "median", "min-max", "sockcat/this"
        );
        match &self.extra {
            Some((label, _)) => {
                let _ = writeln!(out, "   {label}: median (min-max)");
            }
            None => out.push('\n'),
        }
        let first = self.rows.first().and_then(|(_, r)| r.as_ref().ok());
        let reference = first.filter(|v| !v.is_empty()).map(|v| median(v));
        for (i, (name, result)) in self.rows.iter().enumerate() {
            match result {
                Ok(values) if !values.is_empty() => {
                    let med = median(values);
                    let (min, max) = min_max(values);
                    let ratio = match reference {
                        Some(r) if i > 0 && med > 0.0 => format!("{:.2}x", r / med),
                        _ => "-".to_string(),
                    };
                    let _ = write!(
                        out,
                        "  {name:<w$} {:>10} {:>21} {ratio:>14}",
                        fmt_value(med),
                        format!("{}-{}", fmt_value(min), fmt_value(max)),
                    );
                    match self.extra.as_ref().map(|(_, e)| &e[i]) {
                        Some(x) if !x.is_empty() => {
                            let (lo, hi) = min_max(x);
                            let _ = writeln!(
                                out,
                                "   {} ({}-{})",
                                fmt_value(median(x)),
                                fmt_value(lo),
                                fmt_value(hi)
                            );
                        }
                        _ => out.push('\n'),
                    }
                }
                Ok(_) => {
                    let _ = writeln!(out, "  {name:<w$} no runs");
                }
                Err(why) => {
                    let _ = writeln!(out, "  {name:<w$} {why}");
                }
            }
        }
        for (topic, values) in &self.notes {
            match values.is_empty() {
                true => writeln!(out, "  note: {topic}"),
                false => writeln!(out, "  note: {topic}: {}", values.join(", ")),
            }
            .expect("write to a String");
        }
        out
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

/// The system's load average (1, 5, 15 minutes), to tell a quiet machine from a busy one.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Clock ticks per second, the unit of the CPU times in /proc/PID/stat (`getconf CLK_TCK`, read once;
/// 100, Linux's USER_HZ, if that fails). Not sysconf(3) through libc: the crate denies `unsafe`
/// outside src/sys.
pub fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// CPU seconds (user + system) from /proc/PID/stat.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    /// The process itself, all its threads (those that have ended too): utime + stime.
    pub own: f64,
    /// Its children that have exited and been reaped (with what they had reaped): cutime + cstime.
    pub reaped_children: f64,
}

/// The CPU times of process `pid` (a number, or "self"), or None if it is gone.
pub fn cpu(pid: &str) -> Option<Cpu> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After "pid (comm)": state is field 3; utime 14, stime 15, cutime 16, cstime 17.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let secs = |field: usize| Some(fields.get(field - 3)?.parse::<f64>().ok()? / clock_ticks());
    Some(Cpu {
        own: secs(14)? + secs(15)?,
        reaped_children: secs(16)? + secs(17)?,
    })
}

/// The children of process `pid` that have not been reaped yet (zombies included), from
/// /proc/PID/task/*/children (any thread may be a child's parent).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Waits (at most `limit`, polling every 5 ms) until process `pid` has reaped every child, so that
/// their CPU time is in its cutime and cstime.
pub fn wait_childless(pid: u32, limit: std::time::Duration) -> Result<(), String> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = children(pid);
        if left.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "process {pid} still has children {left:?} after {limit:?}"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
