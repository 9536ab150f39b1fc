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

use super::config::{self, ClientOpts};
use super::handshake::{Summary, explain, handshake};
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
        let name = server_name(self.sni.as_deref(), host)?;
        let expected = match &name {
            ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
            other => other.to_str().into_owned(),
        };
        let conn =
            ClientConnection::new(self.config.clone(), name).map_err(|e| anyhow!("TLS: {e}"))?;
        let result = handshake(sock, conn.into(), timeout, watch);
        let (stream, summary) = result.map_err(|e| {
            let leaf = self.verifier.leaf();
            explain(e, leaf.as_ref(), &expected)
        })?;
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
        Ok((stream, summary))
    }
}
