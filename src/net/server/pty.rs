//! `-e`/`-c` with `--pty` (listen and connect): the program on a new pseudo-terminal, whose master is
//! relayed to the connection by the one relay ([`join`] of a pty [`Endpoint`] and a socket one).

use anyhow::{Result, anyhow};
use socket2::Socket;

use crate::net::server::exec::{self, ExecSpec};
use crate::net::stream::Endpoint;
use crate::net::stream::relay::{RelayConfig, join};

/// Runs `spec` on a pseudo-terminal relayed to `sock` until the program and all it started closed the
/// terminal; everything it wrote is sent, then the connection is closed. Ok when it succeeded.
/// `send_only`: what the connection sends is dropped; `recv_only`: what the program writes is.
pub(crate) fn serve(spec: &ExecSpec, sock: Socket, send_only: bool, recv_only: bool) -> Result<()> {
    let (mut running, master) = exec::spawn_on_pty(spec, &sock)?;
    let cfg = RelayConfig {
        // The program's end is the session's end.
        close_on_eof: true,
        // As for -e: `--send-only` gives the program no input, `--recv-only` drops its output.
        send_only,
        recv_only,
        ..RelayConfig::default()
    };
    let relayed = join(Endpoint::pty(master), Endpoint::socket(sock), &cfg);
    running
        .child
        .wait()
        .map_err(|e| anyhow!(e).context(format!("wait for {}", spec.program)))?;
    relayed.and(running.exited(spec).unwrap_or(Ok(())))
}
