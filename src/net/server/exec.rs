//! `--exec` / `--sh-exec`: a program per connection with the socket as its stdin and stdout, inetd style.
//!
//! The child gets duplicates of the connection only (every other descriptor sockcat holds is
//! close-on-exec), the `SOCKCAT_*` address variables, and our stderr. Each child leads a process group
//! of its own, so that SIGINT/SIGTERM end it with everything it started (`-c 'cat | sleep 30'`), and no
//! grandchild keeps a client's socket once sockcat is gone. The server loop waits for a child through
//! a pidfd (no thread per child) and then lingers on the socket itself (see [`LINGER`]).

use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use socket2::{SockAddr, Socket};

use crate::exit::usage;
use crate::sys::process;

/// The program to run per connection.
#[derive(Debug, Clone)]
pub(crate) struct ExecSpec {
    pub program: String,
    pub args: Vec<String>,
    /// `--pty`: on a pseudo-terminal relayed to the connection (see [`crate::net::server::pty`]).
    pub pty: bool,
    /// `--stderr`: the program's stderr is the connection too (as `2>&1`), not sockcat's stderr.
    pub stderr: bool,
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
            pty: false,
            stderr: false,
        })
    }

    /// `-c "CMD"`: through `/bin/sh -c`.
    pub(crate) fn shell(cmd: &str) -> ExecSpec {
        ExecSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), cmd.into()],
            pty: false,
            stderr: false,
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

/// Running children (each the leader of its own process group), for the signal handler.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long SIGTERM has to end a child's group before SIGKILL.
pub(crate) const GRACE: Duration = Duration::from_secs(2);

/// Ends every running child with its whole process group (on SIGINT/SIGTERM): SIGTERM to each group,
/// up to [`GRACE`] for them to go, then SIGKILL to what is left. Returns when every group is gone (or
/// the SIGKILL has been sent).
pub(crate) fn terminate_children() {
    let groups: Vec<u32> = children().clone();
    for pgid in &groups {
        process::kill_group(*pgid, libc::SIGTERM);
        // A stopped child would not act on SIGTERM until continued.
        process::kill_group(*pgid, libc::SIGCONT);
    }
    let until = Instant::now() + GRACE;
    let mut left = groups;
    while !left.is_empty() && Instant::now() < until {
        // Reap the leaders (our children) so that a dead one does not keep its group "alive".
        left.retain(|pgid| {
            process::reap(*pgid);
            process::group_alive(*pgid)
        });
        if !left.is_empty() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    for pgid in &left {
        process::kill_group(*pgid, libc::SIGKILL);
    }
}

/// A value from a peer made safe for a child's environment: control characters (a newline in a Unix
/// client's bound path could forge another `NAME=value` line in a child's `env` output) become `\xNN`,
/// and so does a backslash, so the escaping is unambiguous.
pub(crate) fn env_safe(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        if ch.is_control() || ch == '\\' {
            for b in ch.to_string().bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

fn addr_vars(addr: Option<SockAddr>) -> (String, String) {
    match addr.as_ref().and_then(SockAddr::as_socket) {
        Some(sa) => (sa.ip().to_canonical().to_string(), sa.port().to_string()),
        None => (
            addr.as_ref()
                .and_then(|a| a.as_pathname().map(|p| env_safe(&p.display().to_string())))
                .unwrap_or_default(),
            String::new(),
        ),
    }
}

/// How long, after the child is done, we wait for the client to close before closing ourselves: closing
/// with unread input would reset the connection and could cost the client the child's last output.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// A child serving one connection.
pub(crate) struct Running {
    pub child: Child,
    /// Readable once the child has exited (None where the kernel has no pidfd: then the server polls).
    pub pidfd: Option<OwnedFd>,
    /// When the idle timeout told the child's group to end (SIGKILL follows after [`GRACE`]).
    pub term_sent: Option<Instant>,
}

impl Running {
    /// Has the child exited? Its status as a result: Ok when it succeeded.
    pub(crate) fn exited(&mut self, spec: &ExecSpec) -> Option<Result<()>> {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return None,
            Err(e) => {
                return Some(Err(
                    anyhow::anyhow!(e).context(format!("wait for {}", spec.program))
                ));
            }
        };
        children().retain(|p| *p != self.child.id());
        Some(if status.success() {
            Ok(())
        } else {
            Err(anyhow::anyhow!("{} exited with {status}", spec.program))
        })
    }

    /// Ends the child's whole group now (idle timeout): SIGTERM, and SIGKILL after [`GRACE`] is the
    /// caller's to send through [`Running::kill`].
    pub(crate) fn terminate(&self) {
        process::kill_group(self.child.id(), libc::SIGTERM);
        process::kill_group(self.child.id(), libc::SIGCONT);
    }

    pub(crate) fn kill(&self) {
        process::kill_group(self.child.id(), libc::SIGKILL);
    }
}

/// Starts `spec` for one connection, in a process group of its own. `send_only`: the child's stdin is
/// empty; `recv_only`: its stdout is discarded. The connection must be in blocking mode (the child
/// shares its file status flags).
pub(crate) fn spawn(
    spec: &ExecSpec,
    conn: &Socket,
    send_only: bool,
    recv_only: bool,
) -> Result<Running> {
    let dup = || -> Result<Stdio> {
        Ok(Stdio::from(OwnedFd::from(
            conn.try_clone().context("dup socket")?,
        )))
    };
    let stdin = if send_only { Stdio::null() } else { dup()? };
    let stdout = if recv_only { Stdio::null() } else { dup()? };
    let mut cmd = command(spec, conn);
    cmd.stdin(stdin).stdout(stdout).process_group(0);
    start(spec, cmd)
}

/// Starts `spec` for one connection on a new pseudo-terminal (`--pty`): the slave is its stdin,
/// stdout and stderr and its controlling terminal (it leads a session, so a process group too).
/// Returns the pty's master, which the caller relays to the connection.
/// `env`: more variables for the child (the `SOCKCAT_TLS_*` of a TLS session).
pub(crate) fn spawn_on_pty(
    spec: &ExecSpec,
    conn: &Socket,
    env: &[(&str, String)],
) -> Result<(Running, OwnedFd)> {
    let (master, slave) = crate::sys::pty::open().context("open a pseudo-terminal")?;
    let dup = || slave.try_clone().context("dup the pseudo-terminal");
    let mut cmd = command(spec, conn);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.stdin(dup()?).stdout(dup()?).stderr(slave);
    crate::sys::pty::controlling_terminal(&mut cmd);
    Ok((start(spec, cmd)?, master))
}

/// Starts `spec` for one connection on pipes (its stdin and stdout, taken from the returned child),
/// in a process group of its own: for a program whose bytes sockcat relays. `env`: more variables.
pub(crate) fn spawn_on_pipes(
    spec: &ExecSpec,
    conn: &Socket,
    env: &[(&str, String)],
) -> Result<Running> {
    let mut cmd = command(spec, conn);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .process_group(0);
    start(spec, cmd)
}

/// The program with its arguments and the `SOCKCAT_*` variables of `conn`.
fn command(spec: &ExecSpec, conn: &Socket) -> Command {
    let (remote_addr, remote_port) = addr_vars(conn.peer_addr().ok());
    let (local_addr, local_port) = addr_vars(conn.local_addr().ok());
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env("SOCKCAT_REMOTE_ADDR", remote_addr)
        .env("SOCKCAT_REMOTE_PORT", remote_port)
        .env("SOCKCAT_LOCAL_ADDR", local_addr)
        .env("SOCKCAT_LOCAL_PORT", local_port);
    // --stderr: straight onto the connection (a --pty child's stderr is its terminal anyway).
    if spec.stderr
        && let Ok(sock) = conn.try_clone()
    {
        cmd.stderr(Stdio::from(OwnedFd::from(sock)));
    }
    cmd
}

/// Spawns `cmd` and registers the child, under the lock, so a signal's terminate_children sees
/// every child it must end.
fn start(spec: &ExecSpec, mut cmd: Command) -> Result<Running> {
    let mut list = children();
    let child = cmd
        .spawn()
        .with_context(|| format!("exec {}", spec.program))?;
    list.push(child.id());
    drop(list);
    let pidfd = process::pidfd_open(child.id()).ok();
    Ok(Running {
        child,
        pidfd,
        term_sent: None,
    })
}

#[cfg(test)]
mod tests {
    use super::env_safe;

    #[test]
    fn peer_text_cannot_forge_environment_lines() {
        assert_eq!(env_safe("/tmp/a b"), "/tmp/a b");
        assert_eq!(
            env_safe("/tmp/x\nSOCKCAT_REMOTE_PORT=1"),
            "/tmp/x\\x0aSOCKCAT_REMOTE_PORT=1"
        );
        assert_eq!(env_safe("a\\b\u{7f}"), "a\\x5cb\\x7f");
    }
}
