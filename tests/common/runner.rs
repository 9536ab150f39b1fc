//! Running other programs with a hard time limit, without panicking (errors are `String`s): the one
//! process runner of the benches (`benches/harness.rs` includes this file with `#[path]`) and of the
//! integration tests (`tests/common`), which also use it to find peers ([`installed`]) and to wait
//! for a listener without connecting to it ([`wait_listening`]).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
pub fn wait_listening(port: u16, child: &mut impl Watched, limit: Duration) -> Result<(), String> {
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
        if let Some(status) = child.exit_status() {
            return Err(format!(
                "{} exited ({status}) before listening",
                child.label()
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!("{} not listening within {limit:?}", child.label()));
        }
        std::thread::yield_now();
    }
}

/// A running child as [`wait_listening`] watches it (this runner's [`Proc`], the tests' own).
pub trait Watched {
    /// How errors name it.
    fn label(&self) -> String;
    /// Its exit status, if it has exited (without blocking).
    fn exit_status(&mut self) -> Option<ExitStatus>;
}

impl Watched for Proc {
    fn label(&self) -> String {
        self.name.clone()
    }
    fn exit_status(&mut self) -> Option<ExitStatus> {
        self.try_wait()
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

/// A number from /proc/PID/status (`VmRSS:`, `VmHWM:`, `Threads:`...), in the unit the kernel gives
/// (kB for sizes); None when the process or the field is gone.
pub fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The resident memory of `pid`, in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:").unwrap_or(0)
}

/// The descriptors `pid` has open (0 once it is gone).
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}
