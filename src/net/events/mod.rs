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
//!
//! `reason.rs` holds why a client was refused or closed, `writer.rs` the events file and its lines,
//! `session.rs` one client's record from accept to close, `note.rs` what a client's thread notes.

mod note;
mod reason;
mod session;
mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Result;

pub(crate) use note::Note;
pub(crate) use reason::{CloseReason, RefuseReason};
pub(crate) use session::Session;
pub(crate) use writer::Events;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens `--events FILE` when it was given.
pub(crate) fn open_opt(path: Option<&Path>) -> Result<Option<Arc<Events>>> {
    path.map(Events::open).transpose()
}

#[cfg(test)]
mod tests;
