//! `listen`'s server: the accept loop (access control, a cap on concurrent clients, one client or
//! keep-open) and the per-connection work (relay, echo, exec, broker).
//!
//! Concurrency model: one readiness loop ([`reactor`]) holds the listener and every client. An idle
//! client costs a registered descriptor and a small record ([`conn`]), not a thread, so ten thousand
//! of them fit in a few MiB; a client that stops reading stalls only itself. Threads are used only
//! where the work blocks by nature: stdin and the output of `-k`/`--broker` ([`hub`]), and the
//! single-client relay of a plain `listen`, which is the stream relay itself, and a thread per client
//! for `--forward` and `--proxy-server` clients that need a blocking step (a name to resolve, a PROXY
//! header to read, a proxy), relayed programs and every `--tls` client (the handshake and rustls
//! over a blocking socket). Plain forwarded pairs and proxy clients (handshake and tunnel) are
//! served on the loop ([`pairs`]).

pub(crate) mod acl;
mod conn;
pub(crate) mod exec;
pub(crate) mod forward;
mod hub;
pub(crate) mod pairs;
pub(crate) mod proxy_server;
mod reactor;
pub(crate) mod relayed;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use socket2::Socket;

use crate::net::server::acl::Acl;
use crate::net::server::exec::ExecSpec;
use crate::net::stream::relay::RelayConfig;
use crate::stdio::Output;

/// What the server does with each connection.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// stdin to the client(s), what they send to stdout.
    Relay,
    /// Every client's bytes back to it.
    Echo,
    /// A program per connection.
    Exec(ExecSpec),
    /// Every client's bytes to every other client (and to stdout); stdin to all.
    Broker,
    /// `--forward`: each client joined to its own connection to the target (on the loop, or a thread).
    Forward(Arc<forward::Forward>),
    /// `--proxy-server`: SOCKS4a, SOCKS5 and HTTP proxy, served on the loop (names resolved on a thread).
    ProxyServer(Arc<proxy_server::ProxyServer>),
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    pub keep_open: bool,
    pub max_conns: Option<usize>,
    pub acl: Acl,
    /// `-w`: give up when no client came in time.
    pub first_timeout: Option<Duration>,
    pub relay: RelayConfig,
    pub verbose: bool,
    /// The listening address, for messages.
    pub shown: String,
    /// `--events FILE`: accept, refuse and close lines.
    pub events: Option<std::sync::Arc<crate::net::events::Events>>,
    /// `--tls`: every connection starts with a handshake.
    pub tls: Option<crate::net::stream::tls::Server>,
}

/// Serves clients on `listener` until the server's end: for one client, the end of its session; for
/// `keep_open`, a fatal error, a closed output, or a signal.
pub(crate) fn serve(listener: Socket, mode: Mode, cfg: ServeConfig, output: Output) -> Result<()> {
    reactor::run(listener, mode, cfg, output)
}
