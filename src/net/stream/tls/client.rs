//! A TLS client: its configuration, the name it sends and checks, its handshake.

use std::net::IpAddr;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, anyhow};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use socket2::Socket;

use super::Looped;
use super::config::{self, ClientOpts};
use super::handshake::{Established, Summary, established, explain};
use super::session::TlsStream;
use super::verify::ServerVerifier;
use crate::exit;

/// A client ready to run handshakes (the configuration is built once, also for many probes and for
/// every client of a `--forward tls://` server).
#[derive(Debug)]
pub(crate) struct Client {
    config: Arc<ClientConfig>,
    verifier: Arc<ServerVerifier>,
    sni: Option<String>,
    insecure: bool,
    /// How the warning names the option that turned verification off.
    insecure_flag: &'static str,
    /// `--insecure` has been said (once per process, not per connection).
    warned: AtomicBool,
}

/// The name a client sends and checks: `--sni`, else the host (an IP literal: its IP SAN, no SNI).
fn server_name(sni: Option<&str>, host: &str) -> Result<ServerName<'static>> {
    let name = sni.unwrap_or(host);
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    let bare = bare.split('%').next().unwrap_or(bare);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_string())
        .map_err(|_| exit::usage(format!("invalid TLS server name '{name}'")))
}

impl Client {
    pub(crate) fn new(opts: &ClientOpts) -> Result<Client> {
        let (config, verifier) = config::client_config(opts)?;
        Ok(Client {
            config,
            verifier,
            sni: opts.sni.clone(),
            insecure: opts.insecure,
            insecure_flag: "--insecure",
            warned: AtomicBool::new(false),
        })
    }

    /// Names the option that turned verification off in the warning (`--forward-insecure`).
    pub(crate) fn insecure_flag(mut self, flag: &'static str) -> Client {
        self.insecure_flag = flag;
        self
    }

    /// The handshake on a connected socket, checking the server as configured against `host` (the
    /// name or address the user gave). `timeout` bounds the whole handshake (status 3).
    pub(crate) fn handshake(
        &self,
        sock: Socket,
        host: &str,
        timeout: Option<Duration>,
    ) -> Result<(TlsStream, Summary)> {
        self.handshake_watched(sock, host, timeout, None)
    }

    /// [`Client::handshake`], ended at once by `watch`'s reset (the client a forwarder's TLS
    /// origination is for), `timeout` then bounding the handshake in all.
    pub(crate) fn handshake_watched(
        &self,
        sock: Socket,
        host: &str,
        timeout: Option<Duration>,
        watch: Option<BorrowedFd<'_>>,
    ) -> Result<(TlsStream, Summary)> {
        let (done, summary) = self.established(sock, host, timeout, watch)?;
        Ok((done.stream(), summary))
    }

    /// [`Client::handshake_watched`] for a session that a server's loop then drives: the socket and
    /// the session, what it agreed. `verbose`: the session says when the peer closes without
    /// close_notify.
    pub(crate) fn handshake_looped(
        &self,
        sock: Socket,
        host: &str,
        timeout: Option<Duration>,
        watch: Option<BorrowedFd<'_>>,
        verbose: bool,
    ) -> Result<(Socket, Looped, Summary)> {
        let (done, summary) = self.established(sock, host, timeout, watch)?;
        let (sock, looped) = Looped::of(done, verbose);
        Ok((sock, looped, summary))
    }

    /// The handshake up to the session, explained on failure; `--insecure` said once.
    fn established(
        &self,
        sock: Socket,
        host: &str,
        timeout: Option<Duration>,
        watch: Option<BorrowedFd<'_>>,
    ) -> Result<(Established, Summary)> {
        let name = server_name(self.sni.as_deref(), host)?;
        let expected = match &name {
            ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
            other => other.to_str().into_owned(),
        };
        let conn =
            ClientConnection::new(self.config.clone(), name).map_err(|e| anyhow!("TLS: {e}"))?;
        let result = established(sock, conn.into(), timeout, watch);
        let done = result.map_err(|e| {
            let leaf = self.verifier.leaf();
            explain(e, leaf.as_ref(), &expected)
        })?;
        let summary = Summary::of(&done.conn);
        if self.insecure && !self.warned.swap(true, Ordering::Relaxed) {
            let pin = summary
                .leaf()
                .map(|i| i.pin)
                .unwrap_or_else(|| "unknown".into());
            crate::diag!(
                "sockcat: warning: {}: the server's certificate was not verified (its pin: {pin})",
                self.insecure_flag
            );
        }
        Ok((done, summary))
    }
}
