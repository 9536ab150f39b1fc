//! Running a program to completion with a hard time limit, and finding the programs the tests need.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a shell or linter may take.
const LIMIT: Duration = Duration::from_secs(30);

/// What a finished process left behind.
pub struct Done {
    pub cmd: String,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Done {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn show(&self) -> String {
        format!(
            "command: {}\nstatus: {:?}\nstdout: {}\nstderr: {}",
            self.cmd,
            self.code,
            self.stdout_str(),
            self.stderr
        )
    }
}

/// Runs `cmd` with stdin empty, at most `LIMIT`; a hung program fails the test with what it printed.
pub fn run(mut cmd: Command) -> Done {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {shown}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "timed out after {LIMIT:?}: {shown}\nstderr: {}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Done {
        cmd: shown,
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Runs the sockcat binary under test.
pub fn run_sockcat(args: &[&str]) -> Done {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sockcat"));
    cmd.args(args);
    run(cmd)
}

/// Is `program` installed? Under CI=true a missing program fails the test instead of skipping it.
pub fn have(program: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
    });
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{program} is not installed, and CI=true requires it (see .ci/run)");
        }
        eprintln!("skipping: {program} is not installed");
    }
    found
}

fn is_executable(path: &PathBuf) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
