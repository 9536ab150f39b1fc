//! `-e`/`-c` programs that sockcat relays instead of handing them the socket (listen and connect):
//! on a pseudo-terminal (`--pty`), or on pipes when the bytes must be seen on the way (`--crlf`
//! applies to what the program writes, `--hexdump` shows both ways, `--progress` counts them, and
//! connect's `-i` times them). Either way the program's end is
//! a new [`Endpoint`] joined to the connection by the one relay.

use anyhow::{Result, anyhow};
use socket2::Socket;

use crate::net::server::exec::{self, ExecSpec};
use crate::net::stream::Endpoint;
use crate::net::stream::relay::{RelayConfig, join};

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
    let (mut running, end) = if spec.pty {
        let (running, master) = exec::spawn_on_pty(spec, &sock)?;
        (running, Endpoint::pty(master))
    } else {
        let mut running = exec::spawn_on_pipes(spec, &sock)?;
        let (input, output) = (running.child.stdin.take(), running.child.stdout.take());
        let (Some(input), Some(output)) = (input, output) else {
            return Err(anyhow!("{}: no pipes", spec.program));
        };
        (running, Endpoint::child(input, output, &spec.program))
    };
    let cfg = RelayConfig {
        // The program's end is the session's end.
        close_on_eof: true,
        no_shutdown: false,
        ..cfg.clone()
    };
    let relayed = join(end, Endpoint::socket(sock), &cfg);
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
