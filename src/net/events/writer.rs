//! The events file: one server's lines, each written whole, and the sessions still open.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use anyhow::Result;
use serde::Serialize;
use serde_json::Value as Json;

use super::lock;
use super::session::{Session, State};
use super::{CloseReason, RefuseReason};

/// One line of the events file.
#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    peer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<&'a Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_out: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> Line<'a> {
    fn new(event: &'a str, peer: &'a str) -> Line<'a> {
        Line {
            ts: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            event,
            id: None,
            peer,
            dest: None,
            tls: None,
            bytes_in: None,
            bytes_out: None,
            duration_ms: None,
            reason: None,
        }
    }
}

/// Where the lines go.
enum Sink {
    Stderr,
    File(File),
}

/// The events file of one server; shared by its threads (`Arc<Events>`).
pub(crate) struct Events {
    sink: Mutex<Sink>,
    /// Sessions accepted and not yet closed, for [`Events::close_all`].
    open: Mutex<HashMap<u64, Arc<State>>>,
    next_id: AtomicU64,
    failed: AtomicBool,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

impl Events {
    /// Opens `path` for appending (created if missing); `-` is stderr. A path that cannot be opened is
    /// invalid input (status 2), found before the server starts.
    pub(crate) fn open(path: &Path) -> Result<Arc<Events>> {
        let sink = if path == Path::new("-") {
            Sink::Stderr
        } else {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    crate::exit::usage(format!(
                        "--events {}: {}",
                        path.display(),
                        crate::exit::describe_io(&e)
                    ))
                })?;
            Sink::File(file)
        };
        Ok(Arc::new(Events {
            sink: Mutex::new(sink),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            failed: AtomicBool::new(false),
        }))
    }

    /// A fresh session id, for a server that numbers its own connections through the events file.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// An `accept` line for a client at `peer` (ids come from [`Events::next_id`] when `id` is None).
    /// The session it returns is closed by [`Session::close`] or, with reason `eof`, when dropped.
    pub(crate) fn accept(self: &Arc<Self>, id: Option<u64>, peer: &str) -> Session {
        self.accept_to(id, peer, None)
    }

    /// [`Events::accept`] for a session relayed to `dest` (forwarding, proxying): both lines carry it.
    pub(crate) fn accept_to(
        self: &Arc<Self>,
        id: Option<u64>,
        peer: &str,
        dest: Option<&str>,
    ) -> Session {
        Session {
            events: self.clone(),
            state: self.open_state(id, peer, dest),
        }
    }

    /// Registers an open session and writes its `accept` line.
    fn open_state(&self, id: Option<u64>, peer: &str, dest: Option<&str>) -> Arc<State> {
        let id = id.unwrap_or_else(|| self.next_id());
        let state = Arc::new(State {
            id,
            peer: peer.to_string(),
            start: Instant::now(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            dest: Mutex::new(dest.map(str::to_string)),
            tls: Mutex::new(None),
            closed: AtomicBool::new(false),
        });
        lock(&self.open).insert(id, state.clone());
        let mut line = Line::new("accept", peer);
        line.id = Some(id);
        line.dest = dest;
        self.write(&line);
        state
    }

    /// An `accept` line for connection `id` of a server that keeps its own records: the session is
    /// held here until [`Events::close_session`] (or [`Events::close_all`]).
    pub(crate) fn open_session(self: &Arc<Self>, id: u64, peer: &str) {
        self.open_state(Some(id), peer, None);
    }

    /// The `close` line of connection `id` opened with [`Events::open_session`]: its byte counts and
    /// why it ended (`eof`, `reset`, `idle`, or the error's text).
    pub(crate) fn close_session(&self, id: u64, bytes_in: u64, bytes_out: u64, reason: &str) {
        let Some(state) = lock(&self.open).get(&id).cloned() else {
            return;
        };
        state.bytes_in.store(bytes_in, Ordering::Relaxed);
        state.bytes_out.store(bytes_out, Ordering::Relaxed);
        let reason = match reason {
            "eof" => CloseReason::Eof,
            "reset" => CloseReason::Reset,
            "idle" => CloseReason::Idle,
            "signal" => CloseReason::Signal,
            other => CloseReason::Error(other.to_string()),
        };
        self.close_state(&state, &reason);
    }

    /// The destination of connection `id` opened with [`Events::open_session`] (forwarding, proxying),
    /// for its `close` line.
    pub(crate) fn set_session_dest(&self, id: u64, dest: &str) {
        if let Some(state) = lock(&self.open).get(&id).cloned() {
            *lock(&state.dest) = Some(dest.to_string());
        }
    }

    /// What TLS negotiated for connection `id` opened with [`Events::open_session`], for its `close`
    /// line.
    pub(crate) fn set_session_tls(&self, id: u64, tls: Json) {
        if let Some(state) = lock(&self.open).get(&id).cloned() {
            *lock(&state.tls) = Some(tls);
        }
    }

    /// Is connection `id` open (its accept line written, its close not yet)?
    pub(crate) fn is_open(&self, id: u64) -> bool {
        lock(&self.open).contains_key(&id)
    }

    /// Ends connection `id` opened with [`Events::open_session`] with a `refuse` line instead of a
    /// `close`: it was accepted, then turned away before its session began (a failed TLS handshake, a
    /// bad PROXY protocol header, failed proxy authentication). The line carries its id (and its
    /// destination, when one was asked for) so it pairs with the `accept`.
    pub(crate) fn refuse_session(&self, id: u64, reason: RefuseReason) {
        let Some(state) = lock(&self.open).remove(&id) else {
            return;
        };
        if state.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let dest = lock(&state.dest).clone();
        let mut line = Line::new("refuse", &state.peer);
        line.id = Some(id);
        line.dest = dest.as_deref();
        line.reason = Some(reason.as_str());
        self.write(&line);
    }

    /// A `refuse` line: the client at `peer` was turned away for `reason`.
    pub(crate) fn refuse(&self, peer: &str, reason: RefuseReason) {
        let mut line = Line::new("refuse", peer);
        line.reason = Some(reason.as_str());
        self.write(&line);
    }

    /// Closes every open session with `reason` (the server is ending: a signal, stdout closed).
    pub(crate) fn close_all(&self, reason: CloseReason) {
        let open: Vec<Arc<State>> = lock(&self.open).drain().map(|(_, s)| s).collect();
        let mut open = open;
        open.sort_by_key(|s| s.id);
        for state in open {
            self.close_state(&state, &reason);
        }
    }

    pub(super) fn close_state(&self, state: &State, reason: &CloseReason) {
        if state.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        lock(&self.open).remove(&state.id);
        let dest = lock(&state.dest).clone();
        let tls = lock(&state.tls).clone();
        let mut line = Line::new("close", &state.peer);
        line.id = Some(state.id);
        line.dest = dest.as_deref();
        line.tls = tls.as_ref();
        line.bytes_in = Some(state.bytes_in.load(Ordering::Relaxed));
        line.bytes_out = Some(state.bytes_out.load(Ordering::Relaxed));
        line.duration_ms =
            Some(u64::try_from(state.start.elapsed().as_millis()).unwrap_or(u64::MAX));
        line.reason = Some(reason.as_str());
        self.write(&line);
    }

    /// Writes one line whole; the first failure is said once on stderr, and the server goes on.
    fn write(&self, line: &Line<'_>) {
        let Ok(mut text) = serde_json::to_vec(line) else {
            return;
        };
        text.push(b'\n');
        let mut sink = lock(&self.sink);
        let result = match &mut *sink {
            Sink::Stderr => io::stderr().lock().write_all(&text),
            Sink::File(f) => f.write_all(&text),
        };
        drop(sink);
        if let Err(e) = result
            && !self.failed.swap(true, Ordering::SeqCst)
        {
            crate::diag!(
                "sockcat: warning: --events: {}; no more events are written",
                crate::exit::describe_io(&e)
            );
        }
    }
}
