//! `--hexdump`: the traffic on stderr, one line per 16 bytes: direction (`>` sent, `<` received),
//! the offset in that direction, the bytes in hex and as text.
//!
//! ```text
//! > 00000000  68 65 6c 6c 6f 0a                                 |hello.|
//! ```
//!
//! `--hexdump=FILE` writes the same lines to FILE (appended to; `-` is stderr), each stamped with the
//! connection's id and the seconds since that connection began, so the sessions of a `-k` server
//! can be told apart and timed; offsets then count per connection:
//!
//! ```text
//! #3 +0.000154 > 00000000  68 65 6c 6c 6f 0a                                 |hello.|
//! ```
//!
//! The id is the server's connection number, the one `--events` gives (0, 1, ... in accept order;
//! 0 for connect and a one-client listen). Each chunk is written whole with one write under a lock,
//! so lines of different connections never interleave.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Result;

/// Which way the bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// The file of `--hexdump=FILE`, shared by every connection of a server.
#[derive(Debug)]
pub(crate) struct DumpFile {
    /// None: stderr (`--hexdump=-`).
    file: Option<Mutex<File>>,
    failed: AtomicBool,
}

impl DumpFile {
    /// Opens `path` for appending (created if missing); `-` is stderr. A path that cannot be opened
    /// is invalid input (status 2), found before anything starts.
    pub(crate) fn open(path: &Path) -> Result<Arc<DumpFile>> {
        let file = if path == Path::new("-") {
            None
        } else {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    crate::exit::usage(format!(
                        "--hexdump={}: {}",
                        path.display(),
                        crate::exit::describe_io(&e)
                    ))
                })?;
            Some(Mutex::new(f))
        };
        Ok(Arc::new(DumpFile {
            file,
            failed: AtomicBool::new(false),
        }))
    }

    /// Writes `text` whole; the first failure is said once on stderr, and the session goes on.
    fn write(&self, text: &[u8]) {
        let result = match &self.file {
            None => std::io::stderr().lock().write_all(text),
            Some(f) => f.lock().unwrap_or_else(|p| p.into_inner()).write_all(text),
        };
        if let Err(e) = result
            && !self.failed.swap(true, Ordering::SeqCst)
        {
            crate::diag!(
                "sockcat: warning: --hexdump: {}; no more is written",
                crate::exit::describe_io(&e)
            );
        }
    }
}

thread_local! {
    /// The connection this thread serves (its id and when it began), for a relay that dumps to a file.
    static CONNECTION: Cell<Option<(u64, Instant)>> = const { Cell::new(None) };
}

/// Says which connection this thread serves from now on (a server's thread per client).
pub(crate) fn serving(id: u64, started: Instant) {
    CONNECTION.with(|c| c.set(Some((id, started))));
}

/// Where the dump goes.
#[derive(Debug)]
enum To {
    /// stderr, unstamped, one offset per direction.
    Stderr,
    /// A file: stamped lines, offsets per connection.
    File(Arc<DumpFile>),
}

/// Formats dumps for both directions, keeping each direction's offset (per connection with a file).
#[derive(Debug)]
pub(crate) struct Hexdump {
    to: To,
    /// Offsets by connection id (stderr: all under id 0) and the connection's start.
    offsets: Mutex<HashMap<u64, ([u64; 2], Instant)>>,
    /// The connection a relay's dump is for: the one [`serving`] named on the thread that made it
    /// (both directions' threads then stamp the same id), else id 0 begun when it was made.
    conn: (u64, Instant),
}

impl Default for Hexdump {
    fn default() -> Self {
        Hexdump::new()
    }
}

impl Hexdump {
    /// The dump on stderr.
    pub(crate) fn new() -> Self {
        Hexdump {
            to: To::Stderr,
            offsets: Mutex::new(HashMap::new()),
            conn: CONNECTION
                .with(|c| c.get())
                .unwrap_or_else(|| (0, Instant::now())),
        }
    }

    /// The dump to `file` (None: stderr).
    pub(crate) fn to(file: Option<&Arc<DumpFile>>) -> Self {
        match file {
            Some(f) => Hexdump {
                to: To::File(f.clone()),
                ..Hexdump::new()
            },
            None => Hexdump::new(),
        }
    }

    /// Writes the dump of `data` as one block, so directions never interleave within a chunk: for a
    /// relay serving one connection (see `conn`).
    pub(crate) fn dump(&self, dir: Direction, data: &[u8]) {
        let (id, started) = self.conn;
        self.dump_conn(id, started, dir, data);
    }

    /// Writes the dump of `data` that went `dir` on connection `id` (begun at `started`).
    pub(crate) fn dump_conn(&self, id: u64, started: Instant, dir: Direction, data: &[u8]) {
        let mut offsets = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        let key = match self.to {
            To::Stderr => 0,
            To::File(_) => id,
        };
        let (slots, began) = offsets.entry(key).or_insert(([0, 0], started));
        let slot = &mut slots[dir as usize];
        let mut text = format_lines(dir, *slot, data);
        *slot += data.len() as u64;
        match &self.to {
            To::Stderr => {
                drop(offsets);
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
            To::File(f) => {
                let secs = began.elapsed().as_secs_f64();
                text = stamp(&text, id, secs);
                // Written under the offsets' lock: a connection's chunks stay in order.
                f.write(text.as_bytes());
            }
        }
    }

    /// Connection `id` has ended: its offsets are forgotten (a long-running server's memory stays
    /// bounded).
    pub(crate) fn forget(&self, id: u64) {
        if let To::File(_) = self.to {
            self.offsets
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
    }

    /// Does the dump go to a file (stamped, per connection)?
    pub(crate) fn per_connection(&self) -> bool {
        matches!(self.to, To::File(_))
    }
}

/// `lines` with `#ID +SECONDS ` before each line (seconds with microseconds).
pub fn stamp(lines: &str, id: u64, secs: f64) -> String {
    let prefix = format!("#{id} +{secs:.6} ");
    let mut out = String::with_capacity(lines.len() + lines.lines().count() * prefix.len());
    for line in lines.split_inclusive('\n') {
        out.push_str(&prefix);
        out.push_str(line);
    }
    out
}

/// The dump lines of `data`, starting at `offset`.
pub fn format_lines(dir: Direction, offset: u64, data: &[u8]) -> String {
    let mark = match dir {
        Direction::Sent => '>',
        Direction::Received => '<',
    };
    let mut out = String::with_capacity(data.len() * 5);
    for (i, line) in data.chunks(16).enumerate() {
        let _ = write!(out, "{mark} {:08x}  ", offset + (i as u64) * 16);
        for j in 0..16 {
            match line.get(j) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push_str(" |");
        out.extend(line.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line() {
        assert_eq!(
            format_lines(Direction::Sent, 0, b"hello\n"),
            "> 00000000  68 65 6c 6c 6f 0a                                 |hello.|\n"
        );
        let two = format_lines(Direction::Received, 32, &[b'a'; 17]);
        assert!(two.starts_with("< 00000020  61 61 61 61 61 61 61 61  61"));
        assert!(
            two.ends_with("< 00000030  61                                                |a|\n")
        );
    }

    #[test]
    fn stamped() {
        let lines = format_lines(Direction::Received, 0, &[b'a'; 17]);
        let s = stamp(&lines, 7, 1.5);
        let v: Vec<&str> = s.lines().collect();
        assert_eq!(v.len(), 2);
        assert!(v[0].starts_with("#7 +1.500000 < 00000000  61 61"), "{s}");
        assert!(v[1].starts_with("#7 +1.500000 < 00000010  61 "), "{s}");
    }
}
