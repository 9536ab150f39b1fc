//! A TLS server: its configuration, the one client of `listen --tls`, `--echo`, its handshake.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use rustls::{Connection, ServerConfig, ServerConnection};
use socket2::Socket;

use super::config::{self, ServerOpts};
use super::handshake::{Failed, Summary, advance, explain, handshake};
use super::session::TlsStream;
use super::{HANDSHAKE_TIMEOUT, served};
use crate::exit;
use crate::net::events::{Note, RefuseReason};
use crate::net::stream::{Endpoint, Source, recv_error, send_error};

/// A server's configuration, shared by every connection.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    config: Arc<ServerConfig>,
    /// The pin of our certificate (`tls pin sha256:...` with `-v`).
    pub pin: String,
    /// One client's handshake, run already by the server's loop ([`Server::handshaken`]): its
    /// [`Server::handshake`] takes it instead of running one.
    done: Option<Arc<Mutex<Option<Accepting>>>>,
}

/// A client's handshake run by the server's loop, without a thread: [`Accepting::advance`] at each
/// event of its non-blocking socket until it is done; then [`Server::handshaken`] hands it to the
/// code that serves the client.
#[derive(Debug)]
pub(crate) struct Accepting {
    pub(super) conn: Connection,
    /// When the handshake began (a deadline that covers more than the handshake counts from here).
    pub began: Instant,
}

impl Accepting {
    /// Moves the handshake on as far as `sock` (non-blocking) allows: `Ok(true)` once it is done,
    /// `Ok(false)` while it waits for the socket; else the handshake's failure, explained.
    pub(crate) fn advance(&mut self, sock: &Socket) -> Result<bool> {
        advance(&mut self.conn, sock).map_err(|e| explain(e, None, ""))
    }

    /// The failure of a handshake not done within `timeout`.
    pub(crate) fn timed_out(timeout: Duration) -> anyhow::Error {
        explain(Failed::TimedOut(timeout), None, "")
    }
}

impl Server {
    /// `names`: the self-signed certificate's names when `opts` has no identity.
    pub(crate) fn new(opts: &ServerOpts, names: &[String]) -> Result<Server> {
        let (config, pin) = config::server_config(opts, names)?;
        Ok(Server {
            config,
            pin,
            done: None,
        })
    }

    /// A handshake for the server's loop to run ([`Accepting`]).
    pub(crate) fn accepting(&self) -> Result<Accepting> {
        let conn = ServerConnection::new(self.config.clone()).map_err(|e| anyhow!("TLS: {e}"))?;
        Ok(Accepting {
            conn: conn.into(),
            began: Instant::now(),
        })
    }

    /// This server for the one client whose handshake the loop ran (`accepted`, done): its
    /// [`Server::handshake`] takes that session.
    pub(crate) fn handshaken(&self, accepted: Accepting) -> Server {
        Server {
            config: self.config.clone(),
            pin: self.pin.clone(),
            done: Some(Arc::new(Mutex::new(Some(accepted)))),
        }
    }

    /// When the handshake of [`Server::handshaken`]'s client began.
    pub(crate) fn began(&self) -> Option<Instant> {
        let done = self.done.as_ref()?;
        let accepted = done.lock().unwrap_or_else(|p| p.into_inner());
        accepted.as_ref().map(|a| a.began)
    }

    /// The one client of `listen --tls`: the handshake (bounded by the idle timeout, if any), the
    /// `-v` line, then the relay with stdin/stdout.
    pub(crate) fn serve_one(
        &self,
        sock: Socket,
        input: Option<crate::stdio::Input>,
        output: crate::stdio::Output,
        cfg: &crate::net::stream::relay::RelayConfig,
        verbose: bool,
        who: &str,
    ) -> Result<()> {
        let (stream, summary) = self
            .handshake(sock, cfg.idle_timeout)
            .map_err(|e| e.context(format!("client {who}")))?;
        if verbose {
            crate::diag!("{}", summary.line());
        }
        let local = Endpoint::stdio(input, output);
        crate::net::stream::relay::join(local, Endpoint::tls(stream, verbose), cfg)
    }

    /// `listen --tls --echo`: the handshake (bounded by `idle`, else [`HANDSHAKE_TIMEOUT`]), then
    /// every byte the client sends back to it, until its close_notify (answered with ours). `idle`
    /// (`-i`): a client that neither sends nor reads for that long ends with a timeout.
    pub(crate) fn echo(&self, sock: Socket, idle: Option<Duration>, verbose: bool) -> Result<()> {
        let (stream, summary) = self.handshake(sock, Some(idle.unwrap_or(HANDSHAKE_TIMEOUT)))?;
        if verbose {
            crate::diag!("{}", summary.line());
        }
        let _ = stream.shared.sock.set_read_timeout(idle);
        let _ = stream.shared.sock.set_write_timeout(idle);
        let timed_out = |e: &io::Error| {
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            )
        };
        let idle_error = || {
            exit::timeout(format!(
                "idle timeout: no data for {}",
                humantime::format_duration(idle.unwrap_or_default())
            ))
        };
        let (mut reader, mut writer) = stream.split();
        reader.verbose = verbose;
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = match Source::read(&mut reader, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if timed_out(&e) => return Err(idle_error()),
                Err(e) => return Err(recv_error(e)),
            };
            match writer.send(&buf[..n]) {
                Ok(()) => {}
                Err(e) if timed_out(&e) => return Err(idle_error()),
                Err(e) => return Err(send_error(e)),
            }
        }
        writer.finish().map_err(send_error)
    }

    /// The handshake with a client that has just connected (on a blocking `sock`), or the one the
    /// server's loop ran already ([`Server::handshaken`]).
    pub(crate) fn handshake(
        &self,
        sock: Socket,
        timeout: Option<Duration>,
    ) -> Result<(TlsStream, Summary)> {
        let ran = self
            .done
            .as_ref()
            .and_then(|d| d.lock().unwrap_or_else(|p| p.into_inner()).take());
        let conn = match ran {
            Some(accepted) => accepted,
            None => self.accepting()?,
        }
        .conn;
        // For --events: a failed handshake is a `refuse` (reason tls); a session's close line gets
        // what was agreed and its application bytes.
        match handshake(sock, conn, timeout, None) {
            Ok((stream, summary)) => {
                Note::tls(summary.json(), served::counts(&stream.shared));
                Ok((stream, summary))
            }
            Err(e) => {
                Note::refused(RefuseReason::Tls);
                Err(explain(e, None, ""))
            }
        }
    }
}
