//! TCP scenarios on 127.0.0.1: bulk throughput (regular file or pipe on the sender's stdin, receiver
//! writing /dev/null, or a pipe to `cat`), peak RSS during a bulk transfer, and client connection
//! lifecycles per second. The transfer here also serves the file-transfer scenarios (benches/
//! sendfile.rs), whose receivers may write a regular file ([`Sink::File`]).
//! Each tool sends to and receives from its own kind (nc to nc, socat to socat ...).

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::harness::{
    Contender, Outcome, Proc, Scenario, Unit, cpu, extra, free_port, quiet, wait_listening,
};

/// The longest one transfer may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(120);

/// A receiver's arguments given the port and the path to write what arrives to.
pub type ReceiverArgs = Box<dyn Fn(u16, &Path) -> Vec<String>>;

/// How one tool receives and sends: argument lists given the port (and byte count, for iperf3).
pub struct Tool {
    pub name: &'static str,
    pub program: String,
    /// The receiver's arguments given the port and the path to write what arrives to (see
    /// `writes_stdout`).
    pub receiver: ReceiverArgs,
    pub sender: Box<dyn Fn(u16, u64) -> Vec<String>>,
    /// The sender reads its data from stdin (false: it makes its own, like iperf3).
    pub reads_stdin: bool,
    /// The receiver writes what arrives to its stdout, which the harness points at the path (false:
    /// it opens the path its arguments name; its stdout is /dev/null).
    pub writes_stdout: bool,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// sockcat and the peers that read stdin, as sender/receiver pairs.
pub fn relays(sockcat: &Path) -> Vec<Tool> {
    vec![
        Tool {
            name: "sockcat",
            program: sockcat.display().to_string(),
            receiver: Box::new(|p, _| {
                args(&["listen", "--recv-only", "127.0.0.1", &p.to_string()])
            }),
            sender: Box::new(|p, _| args(&["connect", "127.0.0.1", &p.to_string()])),
            reads_stdin: true,
            writes_stdout: true,
        },
        Tool {
            name: "nc (OpenBSD)",
            program: "nc".into(),
            receiver: Box::new(|p, _| args(&["-d", "-l", "127.0.0.1", &p.to_string()])),
            sender: Box::new(|p, _| args(&["-N", "127.0.0.1", &p.to_string()])),
            reads_stdin: true,
            writes_stdout: true,
        },
        Tool {
            name: "ncat",
            program: "ncat".into(),
            receiver: Box::new(|p, _| args(&["-l", "--recv-only", "127.0.0.1", &p.to_string()])),
            sender: Box::new(|p, _| args(&["--send-only", "127.0.0.1", &p.to_string()])),
            reads_stdin: true,
            writes_stdout: true,
        },
        Tool {
            name: "socat",
            program: "socat".into(),
            receiver: Box::new(|p, out| {
                args(&[
                    "-u",
                    &format!("TCP-LISTEN:{p},bind=127.0.0.1,reuseaddr"),
                    &format!("OPEN:{}", out.display()),
                ])
            }),
            sender: Box::new(|p, _| args(&["-u", "STDIN", &format!("TCP:127.0.0.1:{p}")])),
            reads_stdin: true,
            writes_stdout: false,
        },
    ]
}

/// iperf3 as a reference ceiling: `extra` is `["-l", "1M"]` or `["-Z"]`. Its receiver throws the
/// data away, whatever the [`Sink`].
pub fn iperf3(name: &'static str, extra: &'static [&'static str]) -> Tool {
    Tool {
        name,
        program: "iperf3".into(),
        receiver: Box::new(|p, _| args(&["-s", "-1", "-B", "127.0.0.1", "-p", &p.to_string()])),
        sender: Box::new(move |p, bytes| {
            let mut a = args(&["-c", "127.0.0.1", "-p", &p.to_string(), "-n"]);
            a.push(bytes.to_string());
            a.extend(args(extra));
            a
        }),
        reads_stdin: false,
        writes_stdout: false,
    }
}

/// Where the sender's stdin comes from.
#[derive(Clone)]
pub enum Source {
    /// A regular file of the transfer's size.
    File(Rc<PathBuf>),
    /// `head -c BYTES /dev/zero |`.
    Pipe,
}

/// What to measure about a transfer.
#[derive(Clone, Copy)]
pub enum Measure {
    Throughput,
    /// Peak resident set of the sender (true) or receiver (false), by `/usr/bin/time -f %M`.
    PeakRss {
        sender: bool,
    },
}

/// Where the receiver writes what arrives: the path its arguments get, or its stdout when it
/// writes there ([`Tool::writes_stdout`]).
#[derive(Clone)]
pub enum Sink {
    /// /dev/null.
    Null,
    /// A pipe read by `cat > /dev/null` (a receiver that opens a path gets /dev/stdout, the pipe).
    Pipe,
    /// A new regular file in a fresh directory made under this one for the transfer; afterwards its
    /// size must be the transfer's (a failed transfer cannot look fast), and it is removed with its
    /// directory, so a file system in memory holds one at a time.
    File(Rc<PathBuf>),
}

/// One transfer of `bytes` from `source` through `tool` into `sink`; returns GiB/s or MiB.
pub fn transfer(
    tool: &Tool,
    source: &Source,
    sink: &Sink,
    bytes: u64,
    measure: Measure,
) -> Outcome {
    let port = free_port();
    // Removed (with the file in it) when this returns, however it returns.
    let out_dir = match sink {
        Sink::File(base) => Some(
            tempfile::Builder::new()
                .prefix("sockcat-bench-out-")
                .tempdir_in(base.as_path())
                .map_err(|e| format!("make a directory in {}: {e}", base.display()))?,
        ),
        _ => None,
    };
    let out: PathBuf = match (sink, &out_dir) {
        (Sink::File(_), Some(dir)) => dir.path().join("received"),
        (Sink::Pipe, _) => "/dev/stdout".into(),
        _ => "/dev/null".into(),
    };
    let cpu_before = children_cpu();
    let rss_file = tempfile_path("rss");
    let wrap = |program: &str, args: Vec<String>, measured: bool| -> Command {
        if measured {
            let mut cmd = Command::new("/usr/bin/time");
            cmd.args(["-f", "%M", "-o"])
                .arg(&rss_file)
                .arg(program)
                .args(args);
            cmd
        } else {
            let mut cmd = Command::new(program);
            cmd.args(args);
            cmd
        }
    };
    let (rss_sender, rss_receiver) = match measure {
        Measure::Throughput => (false, false),
        Measure::PeakRss { sender } => (sender, !sender),
    };

    let mut recv_cmd = wrap(&tool.program, (tool.receiver)(port, &out), rss_receiver);
    recv_cmd.stdin(Stdio::null()).stderr(Stdio::null());
    let mut reader = None;
    match sink {
        Sink::Pipe => {
            let mut cat = Command::new("cat");
            cat.stdin(Stdio::piped()).stdout(Stdio::null());
            let mut child = cat.spawn().map_err(|e| format!("spawn cat: {e}"))?;
            recv_cmd.stdout(child.stdin.take().expect("cat stdin"));
            reader = Some(Proc::from_child("cat", child));
        }
        Sink::File(_) if tool.writes_stdout => {
            let file = std::fs::File::create(&out)
                .map_err(|e| format!("create {}: {e}", out.display()))?;
            recv_cmd.stdout(file);
        }
        Sink::Null | Sink::File(_) => {
            recv_cmd.stdout(Stdio::null());
        }
    }
    let mut receiver = Proc::spawn(&format!("{} receiver", tool.name), &mut recv_cmd)?;
    // Our copy of cat's stdin goes with the command: cat ends when the receiver has.
    drop(recv_cmd);
    wait_listening(port, &mut receiver, Duration::from_secs(10))?;

    let mut send_cmd = wrap(&tool.program, (tool.sender)(port, bytes), rss_sender);
    send_cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut head = None;
    if tool.reads_stdin {
        match source {
            Source::File(path) => {
                let file = std::fs::File::open(path.as_path())
                    .map_err(|e| format!("open {}: {e}", path.display()))?;
                send_cmd.stdin(file);
            }
            Source::Pipe => {
                let mut h = Command::new("head");
                h.args(["-c", &bytes.to_string(), "/dev/zero"])
                    .stdout(Stdio::piped());
                let mut child = h.spawn().map_err(|e| format!("spawn head: {e}"))?;
                send_cmd.stdin(child.stdout.take().expect("head stdout"));
                head = Some(Proc::from_child("head", child));
            }
        }
    } else {
        send_cmd.stdin(Stdio::null());
    }
    let mut sender = Proc::spawn(&format!("{} sender", tool.name), &mut send_cmd)?;
    let mut stderr = sender.take_stderr();
    // Let go of our handle on head's pipe: if the sender dies, head should see EPIPE, not wait.
    drop(send_cmd);
    let sent = sender.wait(LIMIT);
    receiver.wait_ok(LIMIT)?;
    let elapsed = start.elapsed();
    if let Some(head) = head {
        head.wait_ok(LIMIT)?;
    }
    if let Some(reader) = reader {
        reader.wait_ok(LIMIT)?;
    }
    match sent {
        Ok(status) if status.success() => {}
        Ok(status) => {
            let mut text = String::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_string(&mut text);
            }
            return Err(format!(
                "{} sender exited with {status}: {}",
                tool.name,
                text.trim()
            ));
        }
        Err(e) => return Err(e),
    }
    if out_dir.is_some() {
        let got = std::fs::metadata(&out)
            .map_err(|e| format!("{} receiver's output {}: {e}", tool.name, out.display()))?
            .len();
        if got != bytes {
            return Err(format!(
                "{} receiver wrote {got} of {bytes} bytes to {}",
                tool.name,
                out.display()
            ));
        }
        std::fs::remove_file(&out).map_err(|e| format!("remove {}: {e}", out.display()))?;
    }
    match measure {
        Measure::Throughput => {
            let gib = bytes as f64 / (1u64 << 30) as f64;
            if let (Some(before), Some(after)) = (cpu_before, children_cpu()) {
                extra("CPU s per GiB, all its processes", (after - before) / gib);
            }
            Ok(gib / elapsed.as_secs_f64())
        }
        Measure::PeakRss { .. } => {
            let text = std::fs::read_to_string(&rss_file).map_err(|e| format!("rss: {e}"))?;
            let _ = std::fs::remove_file(&rss_file);
            let kib: f64 = text
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .ok_or_else(|| format!("rss: cannot parse {text:?}"))?;
            Ok(kib / 1024.0)
        }
    }
}

/// CPU seconds (user + system) of this process's children reaped so far (/proc/self/stat cutime and
/// cstime). A transfer's difference is what its sender, receiver (and `head`, `cat`) used: a loaded
/// machine divides CPU time between programs, so a contender's rate there follows its CPU cost more
/// than its design.
fn children_cpu() -> Option<f64> {
    cpu("self").map(|c| c.reaped_children)
}

fn tempfile_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sockcat-bench-{}-{tag}", std::process::id()))
}

/// A regular file of `bytes` zero bytes (real blocks, not a hole), removed when the last handle drops.
pub struct DataFile(pub PathBuf);

impl DataFile {
    pub fn create(bytes: u64) -> std::io::Result<DataFile> {
        use std::io::Write;
        let path = tempfile_path(&format!("data-{bytes}"));
        let mut f = std::fs::File::create(&path)?;
        let block = vec![0u8; 1 << 20];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            f.write_all(&block[..n])?;
            left -= n as u64;
        }
        Ok(DataFile(path))
    }
}

impl Drop for DataFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn gib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

/// One contender per tool, each measuring `measure` of a transfer of `bytes` from `source` into
/// `sink`; `needs` names the programs, besides the tool's own, that must be installed.
pub fn contenders(
    tools: Vec<Tool>,
    source: &Source,
    sink: &Sink,
    bytes: u64,
    measure: Measure,
    needs: &[&str],
) -> Vec<Contender> {
    tools
        .into_iter()
        .map(|tool| {
            let (source, sink) = (source.clone(), sink.clone());
            let mut programs = vec![tool.program.clone()];
            programs.extend(needs.iter().map(|p| p.to_string()));
            let programs: Vec<&str> = programs.iter().map(String::as_str).collect();
            Contender::new(tool.name, &programs, move || {
                transfer(&tool, &source, &sink, bytes, measure)
            })
        })
        .collect()
}

/// Bulk throughput, a regular file on the sender's stdin, plus the iperf3 ceilings.
pub fn bulk_file(sockcat: &Path, file: Rc<PathBuf>, bytes: u64) -> Scenario {
    let source = Source::File(file);
    let mut tools = relays(sockcat);
    tools.push(iperf3("iperf3 -l 1M", &["-l", "1M"]));
    tools.push(iperf3("iperf3 -Z (sendfile)", &["-Z"]));
    Scenario {
        name: format!(
            "TCP bulk {}: regular file on stdin -> /dev/null",
            gib(bytes)
        ),
        unit: Unit::GibPerSec,
        contenders: contenders(tools, &source, &Sink::Null, bytes, Measure::Throughput, &[]),
    }
}

/// Bulk throughput, `head -c BYTES /dev/zero |` on the sender's stdin.
pub fn bulk_pipe(sockcat: &Path, bytes: u64) -> Scenario {
    Scenario {
        name: format!("TCP bulk {}: pipe on stdin -> /dev/null", gib(bytes)),
        unit: Unit::GibPerSec,
        contenders: contenders(
            relays(sockcat),
            &Source::Pipe,
            &Sink::Null,
            bytes,
            Measure::Throughput,
            &["head"],
        ),
    }
}

/// Bulk throughput pipe to pipe: `head -c BYTES /dev/zero |` on the sender's stdin, the receiver's
/// stdout a pipe read by `cat > /dev/null` (the socket-to-pipe path that must also hand bytes to an
/// interactive reader at once). socat writes its STDOUT here, not /dev/null.
pub fn bulk_pipe_to_pipe(sockcat: &Path, bytes: u64) -> Scenario {
    let mut tools = relays(sockcat);
    for tool in &mut tools {
        if tool.name == "socat" {
            tool.receiver = Box::new(|p, _| {
                args(&[
                    "-u",
                    &format!("TCP-LISTEN:{p},bind=127.0.0.1,reuseaddr"),
                    "STDOUT",
                ])
            });
            tool.writes_stdout = true;
        }
    }
    Scenario {
        name: format!("TCP bulk {}: pipe on stdin -> pipe on stdout", gib(bytes)),
        unit: Unit::GibPerSec,
        contenders: contenders(
            tools,
            &Source::Pipe,
            &Sink::Pipe,
            bytes,
            Measure::Throughput,
            &["head", "cat"],
        ),
    }
}

/// Peak RSS of one side during a bulk transfer from a regular file.
pub fn peak_rss(sockcat: &Path, file: Rc<PathBuf>, bytes: u64, sender: bool) -> Scenario {
    let source = Source::File(file);
    let side = if sender { "sender" } else { "receiver" };
    Scenario {
        name: format!(
            "peak RSS of the {side} during a {} bulk transfer",
            gib(bytes)
        ),
        unit: Unit::MiB,
        contenders: contenders(
            relays(sockcat),
            &source,
            &Sink::Null,
            bytes,
            Measure::PeakRss { sender },
            &["/usr/bin/time"],
        ),
    }
}

/// Sequential client lifecycles (start, connect, empty stdin, half-close, server closes, exit) per
/// second against an in-process accept loop that reads each client to EOF and closes.
pub fn lifecycles(sockcat: &Path, count: usize) -> Scenario {
    let clients: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "sockcat connect",
            sockcat.display().to_string(),
            vec!["connect"],
        ),
        ("nc -N", "nc".into(), vec!["-N"]),
        ("ncat", "ncat".into(), vec![]),
        ("socat", "socat".into(), vec!["-"]),
    ];
    Scenario {
        name: format!("TCP client lifecycles, {count} sequential connections"),
        unit: Unit::PerSec,
        contenders: clients
            .into_iter()
            .map(|(name, program, pre)| {
                let check = program.clone();
                Contender::new(name, &[&check], move || {
                    lifecycle_run(&program, &pre, name == "socat", count)
                })
            })
            .collect(),
    }
}

fn lifecycle_run(program: &str, pre: &[&str], socat: bool, count: usize) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let server = std::thread::spawn(move || {
        for _ in 0..count {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let mut sink = [0u8; 4096];
            while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    let target: Vec<String> = if socat {
        vec![format!("TCP:127.0.0.1:{port}")]
    } else {
        vec!["127.0.0.1".into(), port.to_string()]
    };
    let start = Instant::now();
    for _ in 0..count {
        let mut cmd = quiet(program, pre);
        cmd.args(&target);
        Proc::spawn(program, &mut cmd)?.wait_ok(Duration::from_secs(10))?;
    }
    let elapsed = start.elapsed();
    let _ = server.join();
    Ok(count as f64 / elapsed.as_secs_f64())
}
