//! One direction of a relay: a [`Pump`] moves bytes from a [`Source`] to a [`Sink`] until the source
//! ends, by a zero-copy path of [`zerocopy`] when both halves are descriptors and nothing needs to see
//! the bytes, by a buffered copy otherwise (or for whatever the kernel refused). Also here: what the
//! two directions share ([`Activity`], for the idle timer and `--progress`) and `--crlf`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::net::stream::hexdump::{Direction, Hexdump};
use crate::net::stream::zerocopy::{self, Flow};
use crate::net::stream::{Sink, Source};
use crate::sys::zerocopy::FdKind;

/// Bytes per read: large calls, few wake-ups.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Shared by both directions: the time of the last byte, for the idle timeout, and the bytes moved
/// each way, for `--progress`.
pub(crate) struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    /// Bytes sent and received, indexed by [`Direction`].
    moved: [AtomicU64; 2],
}

impl Activity {
    pub(crate) fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            moved: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }
    /// `n` bytes went `dir`.
    pub(crate) fn moved(&self, dir: Direction, n: u64) {
        self.moved[dir as usize].fetch_add(n, Ordering::Relaxed);
        self.touch();
    }
    pub(crate) fn total(&self, dir: Direction) -> u64 {
        self.moved[dir as usize].load(Ordering::Relaxed)
    }
    pub(crate) fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    pub(crate) fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// `--crlf`: LF becomes CRLF unless a CR is already before it (across chunk boundaries too).
#[derive(Default)]
pub struct Crlf {
    last_was_cr: bool,
    out: Vec<u8>,
}

impl Crlf {
    pub fn apply<'a>(&'a mut self, data: &'a [u8]) -> &'a [u8] {
        if !data.contains(&b'\n') {
            self.last_was_cr = data.last() == Some(&b'\r') || (data.is_empty() && self.last_was_cr);
            return data;
        }
        self.out.clear();
        for &b in data {
            if b == b'\n' && !self.last_was_cr {
                self.out.push(b'\r');
            }
            self.out.push(b);
            self.last_was_cr = b == b'\r';
        }
        &self.out
    }
}

/// Moves bytes one way. The buffered copy is the general case; a zero-copy path stands in for it where
/// it can.
pub(crate) struct Pump {
    pub dir: Direction,
    buf: Vec<u8>,
    pub crlf: Option<Crlf>,
    pub hexdump: Option<Arc<Hexdump>>,
    activity: Arc<Activity>,
    /// An idle timer or a progress bar reads `activity` as bytes move.
    watched: bool,
}

impl Pump {
    pub(crate) fn new(dir: Direction, activity: Arc<Activity>, watched: bool) -> Pump {
        Pump {
            dir,
            buf: Vec::new(),
            crlf: None,
            hexdump: None,
            activity,
            watched,
        }
    }

    /// Reads `src` until it ends, writing every byte to `dst`; errors are named by the half they
    /// belong to ([`Source::read_error`], [`Sink::write_error`]).
    pub(crate) fn run(&mut self, src: &mut dyn Source, dst: &mut dyn Sink) -> Result<()> {
        if self.crlf.is_none()
            && self.hexdump.is_none()
            && let (Some(from), Some(to)) = (src.fd(), dst.fd())
        {
            let (activity, dir) = (&self.activity, self.dir);
            let read = |e| src.read_error(e);
            let write = |e| dst.write_error(e);
            let errors = zerocopy::Errors {
                read: &read,
                write: &write,
            };
            let moved = |n| activity.moved(dir, n);
            if zerocopy::copy(from, to, &moved, &errors, self.watched)? == Flow::Done {
                return Ok(());
            }
        }
        self.buffered(src, dst)
    }

    /// The buffered copy. Watched, it writes to a descriptor no more than it takes at once (see
    /// [`zerocopy::writable`]), so a slow reader shows as progress rather than as a silent wait.
    fn buffered(&mut self, src: &mut dyn Source, dst: &mut dyn Sink) -> Result<()> {
        if self.crlf.is_none()
            && self.hexdump.is_none()
            && src.skips()
            && let Some(fd) = dst.fd()
            && crate::sys::zerocopy::kind(fd).is_ok_and(|k| k == FdKind::DevNull)
        {
            return self.skip(src);
        }
        if self.buf.is_empty() {
            self.buf = vec![0; CHUNK];
        }
        let paced = match dst.fd() {
            Some(fd) if self.watched => crate::sys::zerocopy::kind(fd).ok(),
            _ => None,
        };
        loop {
            let n = match src.read(&mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(src.read_error(e)),
            };
            self.activity.touch();
            let data = &self.buf[..n];
            let data = match &mut self.crlf {
                Some(crlf) => crlf.apply(data),
                None => data,
            };
            if let Some(dump) = &self.hexdump {
                dump.dump(self.dir, data);
            }
            let Some(kind) = paced else {
                dst.write_all(data).map_err(|e| dst.write_error(e))?;
                self.activity.moved(self.dir, data.len() as u64);
                continue;
            };
            let mut rest = data;
            while !rest.is_empty() {
                let n = match dst.fd() {
                    Some(fd) => zerocopy::writable(fd, kind, rest.len()),
                    None => Ok(rest.len()),
                }
                .map_err(|e| dst.write_error(e))?;
                dst.write_all(&rest[..n]).map_err(|e| dst.write_error(e))?;
                self.activity.moved(self.dir, n as u64);
                rest = &rest[n..];
            }
        }
    }
}

impl Pump {
    /// The buffered copy when the sink is /dev/null and the source can drop what it reads without
    /// copying it out (TLS, decrypted in rustls's buffers).
    fn skip(&mut self, src: &mut dyn Source) -> Result<()> {
        loop {
            match src.skip(CHUNK) {
                Ok(0) => return Ok(()),
                Ok(n) => self.activity.moved(self.dir, n as u64),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(src.read_error(e)),
            }
        }
    }
}

/// `--progress`: a line on stderr, redrawn a few times a second, with the bytes sent and received and
/// the rate; only when stderr is a terminal and stdin is not (a redrawn line would wipe a half-typed
/// one). When stdin is a regular file, its size is the total: a bar with an ETA for what is sent.
/// When the session ends, the bar gives way to one summary line, which stays.
pub(crate) struct Progress {
    bar: indicatif::ProgressBar,
    stop: Arc<AtomicBool>,
    activity: Arc<Activity>,
    started: std::time::Instant,
}

impl Progress {
    pub(crate) fn start(activity: Arc<Activity>) -> Progress {
        use std::io::IsTerminal;
        let bar = if std::io::stdin().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            crate::progress::transfer()
        };
        let total = stdin_file_size();
        if total.is_some() {
            crate::progress::set_sending_total(&bar, total);
        }
        let stop = Arc::new(AtomicBool::new(false));
        if !bar.is_hidden() {
            bar.tick(); // drawn once now, however short the session
            let (bar, stop, activity) = (bar.clone(), stop.clone(), activity.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (sent, received) = (
                        activity.total(Direction::Sent),
                        activity.total(Direction::Received),
                    );
                    if total.is_some() {
                        bar.set_position(sent);
                        bar.set_message(format!("received {}", indicatif::BinaryBytes(received)));
                    } else {
                        bar.set_position(sent + received);
                        bar.set_message(format!(
                            "sent {}, received {}",
                            indicatif::BinaryBytes(sent),
                            indicatif::BinaryBytes(received)
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        Progress {
            bar,
            stop,
            activity,
            started: std::time::Instant::now(),
        }
    }
}

/// The bytes left in stdin when it is a regular file (`< file`), else None.
fn stdin_file_size() -> Option<u64> {
    use std::io::Seek;
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let mut file = std::fs::File::from(fd);
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let at = file.stream_position().unwrap_or(0);
    Some(meta.len().saturating_sub(at))
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.bar.is_hidden() {
            return;
        }
        self.bar.finish_and_clear();
        let (sent, received) = (
            self.activity.total(Direction::Sent),
            self.activity.total(Direction::Received),
        );
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            (sent + received) as f64 / secs / (1u64 << 20) as f64
        } else {
            0.0
        };
        crate::diag!(
            "sent {}, received {} in {secs:.1} s ({rate:.1} MiB/s)",
            indicatif::BinaryBytes(sent),
            indicatif::BinaryBytes(received)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::Crlf;

    #[test]
    fn crlf_keeps_existing_pairs_across_chunks() {
        let mut c = Crlf::default();
        let mut out = Vec::new();
        for chunk in [&b"a\nb\r"[..], b"\nc\n", b"\r", b"", b"\n"] {
            out.extend_from_slice(c.apply(chunk));
        }
        assert_eq!(out, b"a\r\nb\r\nc\r\n\r\n");
    }
}
