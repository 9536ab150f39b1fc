//! `-e`/`-c` programs that sockcat relays instead of handing them the socket (listen and connect):
//! on a pseudo-terminal (`--pty`), or on pipes when the bytes must be seen on the way (`--crlf`
//! applies to what the program writes, `--hexdump` shows both ways, `--progress` counts them, and
//! connect's `-i` times them). Either way the program's end is
//! a new [`Endpoint`] joined to the connection by the one relay. Under `--tls` every program runs
//! this way, joined to the TLS session: the client's for `listen --tls` ([`serve_tls`]), the
//! server's for `connect --tls` ([`serve_on_tls`]).

use anyhow::{Result, anyhow};
use socket2::Socket;

use crate::net::server::exec::{self, ExecSpec, Running};
use crate::net::stream::relay::{RelayConfig, join};
use crate::net::stream::{Endpoint, tls};

/// Must `spec` run relayed under `cfg`?
pub(crate) fn wanted(spec: &ExecSpec, cfg: &RelayConfig) -> bool {
    spec.pty || cfg.crlf || cfg.hexdump || cfg.progress
}

/// Runs `spec` relayed to `sock` until the program and all it started closed their end (the
/// terminal, or its stdout); everything it wrote is sent, then the connection is closed. Ok when it
/// succeeded. `cfg`'s `send_only` gives the program no input and `recv_only` drops its output, as
/// for `-e`; `crlf`, `hexdump`, `idle_timeout` and `progress` apply as in any relay, the program
/// being the local end.
pub(crate) fn serve(spec: &ExecSpec, sock: Socket, cfg: &RelayConfig) -> Result<()> {
    let (running, end) = spawn(spec, &sock, &[])?;
    run(spec, running, end, Endpoint::socket(sock), cfg)
}

/// `listen --tls -e/-c`: the client's handshake (bounded by `-i`, else [`tls::HANDSHAKE_TIMEOUT`]),
/// then the program on pipes (or `--pty`) joined to the TLS session. The program's environment also
/// has `SOCKCAT_TLS_VERSION`, `SOCKCAT_TLS_CIPHER`, `SOCKCAT_TLS_ALPN` (empty when none was agreed)
/// and, when the client sent a certificate (`--client-ca`), `SOCKCAT_TLS_CLIENT_SUBJECT`.
pub(crate) fn serve_tls(
    spec: &ExecSpec,
    sock: Socket,
    cfg: &RelayConfig,
    server: &tls::Server,
    verbose: bool,
) -> Result<()> {
    // The addresses for SOCKCAT_REMOTE_*/LOCAL_* (the session takes the socket).
    let addrs = sock.try_clone()?;
    let timeout = cfg.idle_timeout.unwrap_or(tls::HANDSHAKE_TIMEOUT);
    let (stream, summary) = server.handshake(sock, Some(timeout))?;
    if verbose {
        crate::diag!("{}", summary.line());
    }
    let mut env = tls_env(&summary);
    if let Some(leaf) = summary.leaf() {
        env.push(("SOCKCAT_TLS_CLIENT_SUBJECT", exec::env_safe(&leaf.subject)));
    }
    let (running, end) = spawn(spec, &addrs, &env)?;
    drop(addrs);
    run(spec, running, end, Endpoint::tls(stream, verbose), cfg)
}

/// `connect --tls -e/-c`: the program on pipes (or `--pty`) joined to the TLS session `stream`,
/// which runs on the connection of `addrs` (a duplicate of its socket, for `SOCKCAT_REMOTE_*` and
/// `SOCKCAT_LOCAL_*`; closed once the program has started). The program's environment also has
/// `SOCKCAT_TLS_VERSION`, `SOCKCAT_TLS_CIPHER` and `SOCKCAT_TLS_ALPN`. Ok when it succeeded.
pub(crate) fn serve_on_tls(
    spec: &ExecSpec,
    addrs: Socket,
    stream: tls::TlsStream,
    summary: &tls::Summary,
    cfg: &RelayConfig,
    verbose: bool,
) -> Result<()> {
    let (running, end) = spawn(spec, &addrs, &tls_env(summary))?;
    drop(addrs);
    run(spec, running, end, Endpoint::tls(stream, verbose), cfg)
}

/// What a program on a TLS session learns of it (`SOCKCAT_TLS_ALPN` empty when none was agreed).
fn tls_env(summary: &tls::Summary) -> Vec<(&'static str, String)> {
    vec![
        ("SOCKCAT_TLS_VERSION", summary.version.clone()),
        ("SOCKCAT_TLS_CIPHER", summary.cipher.clone()),
        (
            "SOCKCAT_TLS_ALPN",
            exec::env_safe(summary.alpn.as_deref().unwrap_or("")),
        ),
    ]
}

/// Starts the program on a pseudo-terminal or on pipes: its running child and its end of the relay.
fn spawn(spec: &ExecSpec, sock: &Socket, env: &[(&str, String)]) -> Result<(Running, Endpoint)> {
    Ok(if spec.pty {
        let (running, master) = exec::spawn_on_pty(spec, sock, env)?;
        (running, Endpoint::pty(master))
    } else {
        let mut running = exec::spawn_on_pipes(spec, sock, env)?;
        let (input, output) = (running.child.stdin.take(), running.child.stdout.take());
        let (Some(input), Some(output)) = (input, output) else {
            return Err(anyhow!("{}: no pipes", spec.program));
        };
        (running, Endpoint::child(input, output, &spec.program))
    })
}

/// Joins the program's end to the connection's until both are done, then waits for the program.
fn run(
    spec: &ExecSpec,
    mut running: Running,
    end: Endpoint,
    conn: Endpoint,
    cfg: &RelayConfig,
) -> Result<()> {
    let cfg = RelayConfig {
        // The program's end is the session's end.
        close_on_eof: true,
        no_shutdown: false,
        ..cfg.clone()
    };
    let relayed = join(end, conn, &cfg);
    if relayed.is_err() {
        // The session is over (a reset, the idle timeout) while the program may go on: end its
        // group, and kill it if it has not ended after the grace time.
        running.terminate();
        let until = std::time::Instant::now() + exec::GRACE;
        while running.child.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() >= until {
                running.kill();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    running
        .child
        .wait()
        .map_err(|e| anyhow!(e).context(format!("wait for {}", spec.program)))?;
    relayed.and(running.exited(spec).unwrap_or(Ok(())))
}
