//! `--exec` / `--sh-exec`: a program per connection with the socket as its stdin and stdout, inetd style.
//!
//! The child gets duplicates of the connection only (every other descriptor sockcat holds is
//! close-on-exec), the `SOCKCAT_*` address variables, and our stderr. Children are registered so that
//! SIGINT/SIGTERM can end them with the server.

use std::io::Read;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use socket2::{SockAddr, Socket};

use crate::exit::usage;
use crate::sys::process;

/// The program to run per connection.
#[derive(Debug, Clone)]
pub(crate) struct ExecSpec {
    pub program: String,
    pub args: Vec<String>,
}

impl ExecSpec {
    /// `-e "PROG ARGS"`: split on whitespace, no shell. The program must exist now, not at the first client.
    pub(crate) fn direct(line: &str) -> Result<ExecSpec> {
        let mut words = line.split_whitespace().map(str::to_string);
        let program = words
            .next()
            .ok_or_else(|| usage("--exec needs a program"))?;
        if find_program(&program).is_none() {
            return Err(usage(format!("--exec: {program}: no such program")));
        }
        Ok(ExecSpec {
            program,
            args: words.collect(),
        })
    }

    /// `-c "CMD"`: through `/bin/sh -c`.
    pub(crate) fn shell(cmd: &str) -> ExecSpec {
        ExecSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), cmd.into()],
        }
    }
}

/// Finds a program as execvp would: a path with a slash as is, else the first hit on PATH.
fn find_program(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = Path::new(program);
        return executable(p).then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// Running children, for the signal handler.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Ends every running child (on SIGINT/SIGTERM).
pub(crate) fn terminate_children() {
    for pid in children().iter() {
        process::kill(*pid, libc::SIGTERM);
    }
}

fn addr_vars(addr: Option<SockAddr>) -> (String, String) {
    match addr.as_ref().and_then(SockAddr::as_socket) {
        Some(sa) => (sa.ip().to_canonical().to_string(), sa.port().to_string()),
        None => (
            addr.as_ref()
                .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                .unwrap_or_default(),
            String::new(),
        ),
    }
}

/// How long, after the child is done, we wait for the client to close before closing ourselves: closing
/// with unread input would reset the connection and could cost the client the child's last output.
const LINGER: Duration = Duration::from_secs(2);

/// Runs `spec` for one connection and waits for it. `send_only`: the child's stdin is empty;
/// `recv_only`: its stdout is discarded.
pub(crate) fn run(spec: &ExecSpec, conn: &Socket, send_only: bool, recv_only: bool) -> Result<()> {
    let (remote_addr, remote_port) = addr_vars(conn.peer_addr().ok());
    let (local_addr, local_port) = addr_vars(conn.local_addr().ok());
    let dup = || -> Result<Stdio> {
        Ok(Stdio::from(OwnedFd::from(
            conn.try_clone().context("dup socket")?,
        )))
    };
    let stdin = if send_only { Stdio::null() } else { dup()? };
    let stdout = if recv_only { Stdio::null() } else { dup()? };
    let mut child = Command::new(&spec.program)
        .args(&spec.args)
        .env("SOCKCAT_REMOTE_ADDR", remote_addr)
        .env("SOCKCAT_REMOTE_PORT", remote_port)
        .env("SOCKCAT_LOCAL_ADDR", local_addr)
        .env("SOCKCAT_LOCAL_PORT", local_port)
        .stdin(stdin)
        .stdout(stdout)
        .spawn()
        .with_context(|| format!("exec {}", spec.program))?;
    let pid = child.id();
    children().push(pid);
    let status = child.wait();
    children().retain(|p| *p != pid);
    let status = status.with_context(|| format!("wait for {}", spec.program))?;

    // The child's output is in the socket's send queue: FIN after it, then let the client finish.
    let _ = conn.shutdown(Shutdown::Write);
    let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
    let until = Instant::now() + LINGER;
    let mut sink = [0u8; 16 * 1024];
    while Instant::now() < until {
        match (&*conn).read(&mut sink) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                continue;
            }
            Err(_) => break,
        }
    }
    if status.success() {
        Ok(())
    } else {
        Err(anyhow!("{} exited with {status}", spec.program))
    }
}
