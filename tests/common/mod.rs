//! The binary under test, spawned with piped stdio; loopback peers; hard timeouts; readable failures.
//!
//! Tests synchronise on events (the `listening on` line, a connect that succeeds), never on sleeps, and
//! every wait is bounded: a hung sockcat fails its test with the command and what it printed.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub mod blackhole;
pub mod runner;

/// The longest any single wait in a test may take.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The sockcat binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sockcat"))
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Done {
    pub cmd: String,
    pub code: Option<i32>,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Done {
    /// Panics, showing everything, unless the exit status is `code`.
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "wrong exit status\n{}", self.show());
        self
    }
    /// Panics, showing everything, unless the process died by signal `sig` (as a shell sees it:
    /// `$?` 128 + `sig`, and a `while` loop around it ends), not merely exited with 128 + `sig`.
    pub fn killed_by(self, sig: i32) -> Self {
        assert_eq!(
            self.signal,
            Some(sig),
            "not killed by signal {sig}\n{}",
            self.show()
        );
        self
    }
    /// Did it exit with status 0? (For assertions that add their own condition or message.)
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
    pub fn ok(self) -> Self {
        self.code(0)
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// The failure report: command, status, stdout (abridged) and stderr.
    pub fn show(&self) -> String {
        let out = String::from_utf8_lossy(&self.stdout[..self.stdout.len().min(2000)]).into_owned();
        format!(
            "command: {}\nstatus: {:?} (signal {:?})\nstdout ({} bytes): {}\nstderr: {}",
            self.cmd,
            self.code,
            self.signal,
            self.stdout.len(),
            out,
            self.stderr
        )
    }
    /// Asserts the stderr is exactly one `sockcat: error: ...` line containing `needle`.
    pub fn one_error_line(self, needle: &str) -> Self {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one stderr line\n{}", self.show());
        assert!(
            lines[0].starts_with("sockcat: error: "),
            "bad error line\n{}",
            self.show()
        );
        assert!(
            lines[0].contains(needle),
            "error line lacks {needle:?}\n{}",
            self.show()
        );
        self
    }

    /// Like [`Done::one_error_line`] for a run with `-v`: the error is the last line and the only one.
    pub fn last_error_line(self, needle: &str) -> Self {
        let errors = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("sockcat: error: "))
            .count();
        assert_eq!(errors, 1, "expected one error line\n{}", self.show());
        let last = self.stderr.lines().last().unwrap_or("");
        assert!(
            last.starts_with("sockcat: error: ") && last.contains(needle),
            "{}",
            self.show()
        );
        self
    }
}

/// A running process with its stdio piped; killed if dropped unfinished.
pub struct Proc {
    pub cmd: String,
    child: Child,
    pub stdin: Option<ChildStdin>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    /// What has come out on stdout so far, for tests that read it while the session goes on.
    stdout_seen: Arc<(Mutex<Vec<u8>>, std::sync::Condvar)>,
    stderr_lines: Receiver<String>,
    stderr_all: Arc<Mutex<String>>,
    /// The process leads a group of its own ([`Proc::spawn_program`]).
    group: bool,
}

/// Where the child's stdin comes from.
pub enum In {
    /// A pipe the test writes to (`Proc::stdin`).
    Pipe,
    /// /dev/null: an empty stdin.
    Null,
    /// A file.
    File(PathBuf),
}

impl Proc {
    /// Spawns `program args`, stdout collected, stderr readable line by line.
    /// Spawns a peer program in a process group of its own, killed whole when the `Proc` is dropped:
    /// a peer's children (socat's `fork`, a shell's commands) must not outlive the test, holding its
    /// pipes or whatever descriptors the test run inherited.
    pub fn spawn_program(program: &str, args: &[&str], stdin: In) -> Proc {
        let mut command = Command::new(program);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut p = Self::spawn_cmd(command, program, args, stdin);
        p.group = true;
        p
    }

    /// Spawns sockcat with `args`.
    pub fn spawn(args: &[&str], stdin: In) -> Proc {
        Self::spawn_cmd(Command::new(bin()), "sockcat", args, stdin)
    }

    /// Spawns a prepared command (extra env, current dir...) with `args`.
    pub fn spawn_cmd(mut command: Command, name: &str, args: &[&str], stdin: In) -> Proc {
        let stdin = match stdin {
            In::Pipe => Stdio::piped(),
            In::Null => Stdio::null(),
            In::File(path) => Stdio::from(std::fs::File::open(path).expect("open stdin file")),
        };
        let mut child = command
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let mut out = child.stdout.take().expect("stdout");
        let seen = Arc::new((Mutex::new(Vec::new()), std::sync::Condvar::new()));
        let seen2 = seen.clone();
        let stdout = std::thread::spawn(move || {
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                match out.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        seen2.0.lock().unwrap().extend_from_slice(&chunk[..n]);
                        seen2.1.notify_all();
                    }
                }
            }
            seen2.0.lock().unwrap().clone()
        });
        let err = child.stderr.take().expect("stderr");
        let (tx, rx) = channel();
        let all = Arc::new(Mutex::new(String::new()));
        let all2 = all.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                all2.lock().unwrap().push_str(&format!("{line}\n"));
                if tx.send(line).is_err() {
                    // Nobody listens for lines any more; keep collecting.
                }
            }
        });
        Proc {
            cmd: format!("{name} {}", args.join(" ")),
            stdin: child.stdin.take(),
            child,
            stdout: Some(stdout),
            stdout_seen: seen,
            stderr_lines: rx,
            stderr_all: all,
            group: false,
        }
    }

    /// Waits for a stderr line starting with `prefix` and returns it.
    pub fn wait_line(&mut self, prefix: &str) -> String {
        self.wait_line_where(prefix, |line| line.starts_with(prefix))
    }

    /// Waits for a stderr line containing `needle` and returns it.
    pub fn wait_line_containing(&mut self, needle: &str) -> String {
        self.wait_line_where(needle, |line| line.contains(needle))
    }

    fn wait_line_where(&mut self, prefix: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) if matches(&line) => return line,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no stderr line {prefix:?} within {LIMIT:?}\ncommand: {}\nstderr: {}",
                    self.cmd,
                    self.stderr_all.lock().unwrap()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "process ended ({status:?}) before printing {prefix:?}\ncommand: {}\nstderr: {}",
                        self.cmd,
                        self.stderr_all.lock().unwrap()
                    )
                }
            }
        }
    }

    /// Waits for `listening on ADDR:PORT` (sockcat -v) and returns the address.
    pub fn listening(&mut self) -> SocketAddr {
        let line = self.wait_line("listening on ");
        let addr = line.trim_start_matches("listening on ").trim();
        addr.parse()
            .unwrap_or_else(|e| panic!("bad listening line {line:?}: {e}"))
    }

    /// The port of `listening on ...`.
    pub fn port(&mut self) -> u16 {
        self.listening().port()
    }

    /// Waits until stdout has carried `needle` (while the process may still run), at most `limit`.
    /// Returns whether it came.
    pub fn stdout_has_within(&self, needle: &[u8], limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let (lock, cond) = &*self.stdout_seen;
        let mut seen = lock.lock().unwrap();
        // Only what came since the last look is searched (with the needle's length less one before
        // it): a large stream is scanned once, not once per chunk.
        let mut from = 0;
        loop {
            if seen[from..].windows(needle.len()).any(|w| w == needle) {
                return true;
            }
            from = seen.len().saturating_sub(needle.len().saturating_sub(1));
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            seen = cond.wait_timeout(seen, left).unwrap().0;
        }
    }

    /// Waits until stdout has carried at least `n` bytes (while the process may still run), at most
    /// `limit`. Returns whether they came.
    pub fn stdout_len_within(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let (lock, cond) = &*self.stdout_seen;
        let mut seen = lock.lock().unwrap();
        while seen.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            seen = cond.wait_timeout(seen, left).unwrap().0;
        }
        true
    }

    /// How many bytes have come out on stdout so far, and stderr so far: for a failure's message.
    pub fn output_so_far(&self) -> (usize, String) {
        let seen = self.stdout_seen.0.lock().unwrap().len();
        (seen, self.stderr_all.lock().unwrap().clone())
    }

    /// Writes to the child's stdin.
    pub fn write(&mut self, data: &[u8]) {
        self.stdin
            .as_mut()
            .expect("stdin is a pipe")
            .write_all(data)
            .expect("write to child stdin");
    }

    /// Closes the child's stdin (EOF).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Has the process exited? (non-blocking)
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
    }

    /// Waits (at most `LIMIT`) for the process to end and collects its output.
    pub fn finish(self) -> Done {
        self.finish_within(LIMIT)
    }

    /// Like [`Proc::finish`], but stdin stays open (held, never written) until the process has
    /// ended: it must end for another reason than the end of its input.
    pub fn finish_with_stdin_open(mut self) -> Done {
        let held = self.stdin.take();
        let done = self.finish();
        drop(held);
        done
    }

    pub fn finish_within(mut self, limit: Duration) -> Done {
        self.stdin = None;
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stdout = self
                    .stdout
                    .take()
                    .map(|h| h.join().unwrap_or_default())
                    .unwrap_or_default();
                panic!(
                    "timed out after {limit:?}\ncommand: {}\nstdout: {} bytes\nstderr: {}",
                    self.cmd,
                    stdout.len(),
                    self.stderr_all.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let stdout = self
            .stdout
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        // The stderr thread ends with the pipe, which a child forked meanwhile by another test may
        // hold for a moment (until its exec closes it): wait as long as for the process itself.
        let stderr = {
            let deadline = Instant::now() + LIMIT;
            while Arc::strong_count(&self.stderr_all) > 1 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            self.stderr_all.lock().unwrap().clone()
        };
        Done {
            cmd: self.cmd.clone(),
            code: status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&status),
            stdout,
            stderr,
        }
    }
}

impl runner::Watched for Proc {
    fn label(&self) -> String {
        self.cmd.clone()
    }
    fn exit_status(&mut self) -> Option<ExitStatus> {
        self.exited()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.group {
            // The whole group, the leader too if it still runs (its group id is its pid).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs sockcat to completion with `stdin` bytes, bounded by `LIMIT`.
pub fn run(args: &[&str], stdin: &[u8]) -> Done {
    let mut p = Proc::spawn(args, In::Pipe);
    let data = stdin.to_vec();
    let mut pipe = p.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let done = p.finish();
    let _ = writer.join();
    done
}

/// A loopback TCP listener on a free port (IPv4).
pub fn tcp_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// Writes `data` to `dir/name` and returns the path.
pub fn write_file(dir: &std::path::Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// Accepts one connection in a thread and reads it to EOF.
pub fn sink_server() -> (u16, JoinHandle<Vec<u8>>) {
    let (listener, port) = tcp_listener();
    let handle = std::thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        read_all(conn)
    });
    (port, handle)
}

/// An echo server on 127.0.0.1 in the test process, a thread per connection (each echoes until EOF),
/// for as long as the tests run: its port.
pub fn echo_server_thread() -> u16 {
    let (listener, port) = tcp_listener();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            let Ok(mut c) = c else { return };
            std::thread::spawn(move || {
                let mut b = [0u8; 256];
                while let Ok(n @ 1..) = c.read(&mut b) {
                    if c.write_all(&b[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A port on 127.0.0.1 on which nothing listens, for as long as the tests run: a connect to it is
/// refused. It stays bound (not listening, no SO_REUSEADDR), so no other test's listener, which the
/// suite runs beside this one, can take it meanwhile (a port merely freed was, under load: a sender
/// meant to be refused reached another test's receiver). A test that starts its own server on the
/// port later wants [`free_port`].
pub fn closed_port() -> u16 {
    static HELD: Mutex<Vec<socket2::Socket>> = Mutex::new(Vec::new());
    let s =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind 127.0.0.1:0");
    let port = s.local_addr().unwrap().as_socket().unwrap().port();
    HELD.lock().unwrap_or_else(|p| p.into_inner()).push(s);
    port
}

/// A port on 127.0.0.1 free a moment ago (bound, then closed), for a test that starts a server on
/// it late on purpose: until then a connect to it is refused, unless another test took it.
pub fn free_port() -> u16 {
    let (l, port) = tcp_listener();
    drop(l);
    port
}

/// Connects to 127.0.0.1:port with a bounded timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s =
        TcpStream::connect_timeout(&addr, LIMIT).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// Reads a stream to EOF (bounded by its read timeout).
pub fn read_all(mut s: impl Read) -> Vec<u8> {
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read to EOF");
    buf
}

/// Deterministic pseudo-random bytes (xorshift), for byte-exact transfer checks.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Is a real peer program installed? Under CI=true a missing peer fails the test instead of skipping.
pub fn have(program: &str) -> bool {
    let found = runner::installed(program);
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{program} is not installed, and CI=true requires every peer (see .ci/run)");
        }
        eprintln!("skipping: {program} is not installed");
    }
    found
}

/// Is IPv6 loopback usable here?
pub fn have_ipv6() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}
