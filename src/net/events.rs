//! `--events FILE`: a server's sessions as JSON lines, one per event, written as it happens so a log
//! shipper or `jq` can follow a server live.
//!
//! ```text
//! {"ts":"2026-11-28T07:01:02.345Z","event":"accept","id":7,"peer":"127.0.0.1:50114"}
//! {"ts":"2026-11-28T07:01:02.351Z","event":"refuse","peer":"10.1.2.3:4444","reason":"deny"}
//! {"ts":"2026-11-28T07:01:03.012Z","event":"close","id":7,"peer":"127.0.0.1:50114","bytes_in":5,"bytes_out":5,"duration_ms":667,"reason":"eof"}
//! ```
//!
//! How it is used: [`Events::open`] once (`-` is stderr), then per client [`Events::accept`], which gives
//! a [`Session`] (its id, start time, byte counters), and [`Session::close`] (or dropping the session,
//! which closes it with the reason `eof`); [`Events::refuse`] for a client turned away. A server that
//! ends on a signal calls [`Events::close_all`] with [`CloseReason::Signal`] so no accept is left
//! without its close.
//!
//! Each line is formatted whole and written with one `write` under a lock (a file is opened with
//! O_APPEND), so lines from many threads never interleave. A failing events file (disk full, a closed
//! pipe) never ends the server: the first failure is said once on stderr and later lines are dropped.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use anyhow::Result;
use serde::Serialize;
use serde_json::Value as Json;

/// Why a client was turned away (`"reason"` of a `refuse` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // listen's server calls it (with its new server loop), and --forward.
pub(crate) enum RefuseReason {
    /// `--allow` / `--deny`.
    Deny,
    /// `--max-conns`, or a one-client server already busy.
    MaxConns,
    /// `udp-recv --forward --max-sessions`: a new source while the session table is full.
    MaxSessions,
    /// The TLS handshake failed.
    Tls,
    /// No valid PROXY protocol header.
    ProxyProtocol,
    /// Proxy authentication failed.
    Auth,
}

impl RefuseReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RefuseReason::Deny => "deny",
            RefuseReason::MaxConns => "max-conns",
            RefuseReason::MaxSessions => "max-sessions",
            RefuseReason::Tls => "tls",
            RefuseReason::ProxyProtocol => "proxy-protocol",
            RefuseReason::Auth => "auth",
        }
    }
}

/// Why a session ended (`"reason"` of a `close` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// Both sides ended normally.
    Eof,
    /// The peer reset the connection.
    Reset,
    /// `-i` (or a UDP session's `--session-idle`) expired.
    Idle,
    /// SIGINT / SIGTERM ended the server.
    Signal,
    /// Any other error, as its one-line text.
    Error(String),
}

impl CloseReason {
    /// The reason for a session that ended with `result`: `eof` for Ok, `reset` / `idle` when the error
    /// says so, else the error's text.
    pub(crate) fn of(result: &Result<()>) -> CloseReason {
        let Err(err) = result else {
            return CloseReason::Eof;
        };
        let io_kind = err
            .chain()
            .filter_map(|c| c.downcast_ref::<io::Error>())
            .map(|e| e.kind())
            .next();
        let text = crate::exit::render(err);
        match io_kind {
            Some(io::ErrorKind::ConnectionReset) => CloseReason::Reset,
            Some(io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => CloseReason::Idle,
            _ if text.contains("connection reset") => CloseReason::Reset,
            _ if text.contains("idle") => CloseReason::Idle,
            _ => CloseReason::Error(text),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            CloseReason::Eof => "eof",
            CloseReason::Reset => "reset",
            CloseReason::Idle => "idle",
            CloseReason::Signal => "signal",
            CloseReason::Error(text) => text,
        }
    }
}

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

/// What a session carries between its accept and its close.
#[derive(Debug)]
struct State {
    id: u64,
    peer: String,
    start: Instant,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    dest: Mutex<Option<String>>,
    tls: Mutex<Option<Json>>,
    closed: AtomicBool,
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

    fn close_state(&self, state: &State, reason: &CloseReason) {
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

/// One accepted client, from its `accept` line to its `close` line.
pub(crate) struct Session {
    events: Arc<Events>,
    state: Arc<State>,
}

impl Session {
    pub(crate) fn id(&self) -> u64 {
        self.state.id
    }

    /// Counts bytes received from the peer.
    pub(crate) fn add_in(&self, n: u64) {
        self.state.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts bytes sent to the peer.
    pub(crate) fn add_out(&self, n: u64) {
        self.state.bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the totals (for a relay that counts by itself).
    #[allow(dead_code)] // listen's server calls it (with its new server loop), and --forward.
    pub(crate) fn set_bytes(&self, bytes_in: u64, bytes_out: u64) {
        self.state.bytes_in.store(bytes_in, Ordering::Relaxed);
        self.state.bytes_out.store(bytes_out, Ordering::Relaxed);
    }

    /// The destination, once known (it goes on the `close` line).
    #[allow(dead_code)] // listen's server calls it (with its new server loop), and --forward.
    pub(crate) fn set_dest(&self, dest: &str) {
        *lock(&self.state.dest) = Some(dest.to_string());
    }

    /// What TLS negotiated (`{"version":..., "cipher":...}`), for the `close` line.
    #[allow(dead_code)] // listen's server calls it (with its new server loop), and --forward.
    pub(crate) fn set_tls(&self, tls: Json) {
        *lock(&self.state.tls) = Some(tls);
    }

    /// The `close` line (only the first close of a session writes one).
    pub(crate) fn close(self, reason: CloseReason) {
        self.events.close_state(&self.state, &reason);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.events.close_state(&self.state, &CloseReason::Eof);
    }
}

/// What a server thread learns about its client while a mode's code serves it, for the events
/// file: the mode's code (the TLS handshake, the proxy server's admission and authentication) notes
/// it here without knowing about events, and the thread that started the client writes it into the
/// client's `close` (or `refuse`) line. Kept per thread, and only while a thread has [`Note::start`]ed
/// one: elsewhere (a client-side handshake) noting costs nothing and goes nowhere.
#[derive(Default)]
pub(crate) struct Note {
    /// The client was turned away (the first reason noted counts).
    pub refused: Option<RefuseReason>,
    /// What TLS negotiated (`{"version", "cipher", "alpn"}`, `"client_subject"` with a client
    /// certificate).
    pub tls: Option<Json>,
    /// The application bytes (in, out) so far, for a session whose socket carries other bytes (TLS).
    pub bytes: Option<Box<dyn Fn() -> (u64, u64) + Send>>,
    /// `--accept-proxy-protocol`: the client's address as its PROXY header gives it.
    pub source: Option<String>,
    on_admit: Option<OnAdmit>,
}

/// What hears a client's admission (see [`Note::start_admitting`]).
pub(crate) type OnAdmit = Box<dyn FnMut(&str)>;

thread_local! {
    static NOTE: std::cell::RefCell<Option<Note>> = const { std::cell::RefCell::new(None) };
}

impl Note {
    /// Starts noting on this thread (what an earlier client left is dropped).
    pub(crate) fn start() {
        NOTE.with(|n| *n.borrow_mut() = Some(Note::default()));
    }

    /// [`Note::start`] for a client whose accept line waits for its admission (under
    /// `--accept-proxy-protocol` the client's address is its PROXY header's source): `on_admit` hears
    /// that address when the client is admitted.
    pub(crate) fn start_admitting(on_admit: OnAdmit) {
        let note = Note {
            on_admit: Some(on_admit),
            ..Note::default()
        };
        NOTE.with(|n| *n.borrow_mut() = Some(note));
    }

    /// The client's address is `peer`, as its PROXY header says.
    pub(crate) fn source(peer: &str) {
        Note::with(|n| n.source = Some(peer.to_string()));
    }

    /// The client is admitted as `peer` (after its PROXY header and the access list).
    pub(crate) fn admitted(peer: &str) {
        let on_admit = NOTE.with(|n| n.borrow_mut().as_mut()?.on_admit.take());
        if let Some(mut f) = on_admit {
            f(peer);
        }
    }

    /// What was noted since [`Note::start`]; noting stops.
    pub(crate) fn take() -> Note {
        NOTE.with(|n| n.borrow_mut().take()).unwrap_or_default()
    }

    fn with(f: impl FnOnce(&mut Note)) {
        NOTE.with(|n| {
            if let Some(note) = n.borrow_mut().as_mut() {
                f(note);
            }
        });
    }

    /// The client is being turned away for `reason`.
    pub(crate) fn refused(reason: RefuseReason) {
        Note::with(|n| {
            n.refused.get_or_insert(reason);
        });
    }

    /// The client's TLS session.
    pub(crate) fn tls(tls: Json, bytes: Box<dyn Fn() -> (u64, u64) + Send>) {
        Note::with(|n| {
            n.tls = Some(tls);
            n.bytes = Some(bytes);
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens `--events FILE` when it was given.
pub(crate) fn open_opt(path: Option<&Path>) -> Result<Option<Arc<Events>>> {
    path.map(Events::open).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn accept_refuse_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ev.jsonl");
        let ev = Events::open(&path).unwrap();
        let s = ev.accept(None, "127.0.0.1:5");
        s.add_in(3);
        s.add_out(4);
        ev.refuse("10.0.0.1:1", RefuseReason::MaxConns);
        let t = ev.accept_to(Some(9), "127.0.0.1:6", Some("127.0.0.1:80"));
        s.close(CloseReason::Reset);
        drop(t);
        let l = lines(&path);
        assert_eq!(l.len(), 5);
        assert_eq!(l[0]["event"], "accept");
        assert_eq!(l[0]["id"], 0);
        assert_eq!(l[0]["peer"], "127.0.0.1:5");
        assert_eq!(l[1]["reason"], "max-conns");
        assert!(l[1].get("id").is_none());
        assert_eq!(l[2]["dest"], "127.0.0.1:80");
        assert_eq!(l[3]["event"], "close");
        assert_eq!(
            (l[3]["bytes_in"].as_u64(), l[3]["bytes_out"].as_u64()),
            (Some(3), Some(4))
        );
        assert_eq!(l[3]["reason"], "reset");
        assert_eq!(
            (l[4]["id"].as_u64(), l[4]["reason"].as_str()),
            (Some(9), Some("eof"))
        );
        assert_eq!(l[4]["dest"], "127.0.0.1:80");
        // "2026-11-28T07:01:02.345Z"
        let ts = l[0]["ts"].as_str().unwrap();
        assert_eq!(
            (ts.len(), &ts[10..11], &ts[19..20], &ts[23..]),
            (24, "T", ".", "Z"),
            "{ts}"
        );
    }

    #[test]
    fn close_all_closes_each_open_session_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ev.jsonl");
        let ev = Events::open(&path).unwrap();
        let a = ev.accept(None, "a");
        let b = ev.accept(None, "b");
        a.close(CloseReason::Eof);
        ev.close_all(CloseReason::Signal);
        drop(b);
        let l = lines(&path);
        assert_eq!(l.len(), 4);
        assert_eq!(
            (l[3]["peer"].as_str(), l[3]["reason"].as_str()),
            (Some("b"), Some("signal"))
        );
    }

    #[test]
    fn reasons_from_results() {
        let reset = anyhow::Error::new(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(CloseReason::of(&Err(reset)), CloseReason::Reset);
        assert_eq!(CloseReason::of(&Ok(())), CloseReason::Eof);
        assert_eq!(
            CloseReason::of(&Err(anyhow::anyhow!("idle timeout: closed"))),
            CloseReason::Idle
        );
        assert_eq!(
            CloseReason::of(&Err(anyhow::anyhow!("boom"))).as_str(),
            "boom"
        );
    }

    #[test]
    fn a_bad_path_is_usage() {
        let err = Events::open(Path::new("/nonexistent-dir/x")).err().unwrap();
        assert_eq!(crate::exit::status_of(&err), crate::exit::USAGE);
    }
}
