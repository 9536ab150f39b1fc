//! The relay between stdin/stdout (or a file) and a connected stream socket, with the end-of-stream
//! rules of the contract:
//!
//! | event | what the relay does |
//! | --- | --- |
//! | stdin ends | shut down the sending side (FIN); keep receiving until the peer closes, then Ok |
//! | the peer closes its sending side | write out everything received; if stdin is a terminal, Ok now; otherwise keep sending stdin until it ends, then Ok |
//! | the peer resets, or stops reading before stdin was all sent | an error saying so (status 1) |
//! | stdout is closed by its reader | [`StdoutClosed`] (quiet status 0) |
//! | `close_on_eof` | at stdin EOF close both ways and Ok at once |
//! | `no_shutdown` | at stdin EOF send no FIN |
//! | `recv_only` / `send_only` | one direction only; the session ends when that direction ends |
//! | `idle_timeout` | any byte in either direction resets the timer; expiry is a [`Timeout`] (status 3) |
//!
//! Each direction is one thread doing large blocking reads and sendall writes (no poll round per chunk);
//! the calling thread only decides when the session is over. A direction is a [`Pump`]: when nothing
//! needs the bytes in user space (no `--crlf`, no `--hexdump`) it first tries the zero-copy paths of
//! [`zerocopy`] (sendfile, splice) and falls back to the buffered copy where the kernel offers none.
//! A short session whose sending side cannot block (stdin /dev/null or a small file, or `recv_only`)
//! without an idle timer runs on the calling thread, one direction after the other
//! ([`one_way_then_other`]): starting threads costs more than such a session.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use socket2::Socket;

use crate::exit::{self, StdoutClosed};
use crate::net::stream::hexdump::{Direction, Hexdump};
use crate::net::stream::zerocopy::{self, Flow};
use crate::stdio::{Discard, Input, Output};

/// Bytes per read: large calls, few wake-ups.
pub(crate) const CHUNK: usize = 256 * 1024;

/// The relay's settings, taken from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct RelayConfig {
    pub recv_only: bool,
    pub send_only: bool,
    pub close_on_eof: bool,
    pub no_shutdown: bool,
    pub crlf: bool,
    pub hexdump: bool,
    pub idle_timeout: Option<Duration>,
    pub progress: bool,
}

/// What the direction threads report.
enum Event {
    /// stdin ended and its bytes were all sent.
    UpDone,
    UpFailed(anyhow::Error),
    /// The peer closed its sending side and every byte it sent was written out.
    DownDone,
    DownFailed(anyhow::Error),
}

/// Shared by both directions: the time of the last byte, for the idle timeout, and the bytes moved
/// each way, for `--progress`.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    /// Bytes sent and received, indexed by [`Direction`].
    moved: [AtomicU64; 2],
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            moved: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }
    /// `n` bytes went `dir`.
    fn moved(&self, dir: Direction, n: u64) {
        self.moved[dir as usize].fetch_add(n, Ordering::Relaxed);
        self.touch();
    }
    fn total(&self, dir: Direction) -> u64 {
        self.moved[dir as usize].load(Ordering::Relaxed)
    }
    fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Moves bytes one way. The buffered copy is the general case; a zero-copy pump can stand in for it.
struct Pump {
    dir: Direction,
    buf: Vec<u8>,
    crlf: Option<Crlf>,
    hexdump: Option<(Arc<Hexdump>, Direction)>,
    activity: Arc<Activity>,
    /// An idle timer or a progress bar reads `activity` as bytes move.
    watched: bool,
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

impl Pump {
    /// Like [`Pump::run`], by the zero-copy path when nothing needs to see the bytes: whatever that path
    /// cannot do (or the kernel refuses) is left to the buffered copy.
    fn run_fd(
        &mut self,
        src: impl Read + AsFd,
        dst: impl Write + AsFd,
        on_read_err: impl Fn(io::Error) -> anyhow::Error,
        on_write_err: impl Fn(io::Error) -> anyhow::Error,
    ) -> Result<()> {
        if self.crlf.is_none() && self.hexdump.is_none() {
            let (activity, dir) = (&self.activity, self.dir);
            let errors = zerocopy::Errors {
                read: &on_read_err,
                write: &on_write_err,
            };
            let flow = zerocopy::copy(
                src.as_fd(),
                dst.as_fd(),
                &|n| activity.moved(dir, n),
                &errors,
                self.watched,
            )?;
            if flow == Flow::Done {
                return Ok(());
            }
        }
        self.run(src, dst, on_read_err, on_write_err)
    }

    /// Reads `src` until EOF, writing every byte to `dst`. Read errors and write errors are told apart
    /// by the callers' `on_read_err` / `on_write_err`.
    fn run(
        &mut self,
        mut src: impl Read,
        mut dst: impl Write,
        on_read_err: impl Fn(io::Error) -> anyhow::Error,
        on_write_err: impl Fn(io::Error) -> anyhow::Error,
    ) -> Result<()> {
        if self.buf.is_empty() {
            self.buf = vec![0; CHUNK];
        }
        loop {
            let n = match src.read(&mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(on_read_err(e)),
            };
            self.activity.touch();
            let data = &self.buf[..n];
            let data = match &mut self.crlf {
                Some(crlf) => crlf.apply(data),
                None => data,
            };
            if let Some((dump, dir)) = &self.hexdump {
                dump.dump(*dir, data);
            }
            dst.write_all(data).map_err(&on_write_err)?;
            self.activity.moved(self.dir, data.len() as u64);
        }
    }
}

/// `--progress`: a line on stderr, redrawn a few times a second, with the bytes sent and received and
/// the rate; only when stderr is a terminal. It goes away with the session.
struct Progress {
    bar: indicatif::ProgressBar,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    fn start(activity: Arc<Activity>) -> Progress {
        let bar = crate::progress::transfer();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if !bar.is_hidden() {
            let (bar, stop) = (bar.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (sent, received) = (
                        activity.total(Direction::Sent),
                        activity.total(Direction::Received),
                    );
                    bar.set_position(sent + received);
                    bar.set_message(format!(
                        "sent {}, received {}",
                        indicatif::BinaryBytes(sent),
                        indicatif::BinaryBytes(received)
                    ));
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        Progress { bar, stop }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.bar.finish_and_clear();
    }
}

fn send_error(err: io::Error) -> anyhow::Error {
    match err.kind() {
        io::ErrorKind::BrokenPipe => anyhow!("peer closed before all input was sent"),
        io::ErrorKind::ConnectionReset => anyhow!("connection reset by peer"),
        _ => anyhow!(err).context("send"),
    }
}

fn recv_error(err: io::Error) -> anyhow::Error {
    match err.kind() {
        io::ErrorKind::ConnectionReset => anyhow!("connection reset by peer"),
        _ => anyhow!(err).context("receive"),
    }
}

/// The most stdin may hold for [`one_way_then_other`]: it fits a fresh TCP socket's send buffer
/// (net.ipv4.tcp_wmem's default), so sending it never waits for the peer to read.
const AT_ONCE: u64 = 16 * 1024;

/// Is `input` short and unable to block: /dev/null, or a regular file with at most [`AT_ONCE`] bytes
/// left?
fn sent_at_once(input: &Input) -> bool {
    use crate::sys::zerocopy::{FdKind, kind};
    use std::io::Seek;
    match kind(input.file.as_fd()) {
        Ok(FdKind::DevNull) => true,
        Ok(FdKind::RegularFile) => {
            let len = input.file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
            let pos = (&input.file).stream_position().unwrap_or(0);
            len.saturating_sub(pos) <= AT_ONCE
        }
        _ => false,
    }
}

/// The session on the calling thread, one direction after the other, when nothing can block the
/// sending side (stdin is [`sent_at_once`], or `recv_only`) and no idle timer runs: no thread to start
/// and no hand-off to wait for, so a short session costs what nc's does. Same rules as [`relay`].
fn one_way_then_other(
    sock: &Socket,
    input: Option<Input>,
    output: Output,
    cfg: &RelayConfig,
    pump: impl Fn(Direction, bool) -> Pump,
) -> Result<()> {
    let mut up_error = None;
    if !cfg.recv_only {
        let sent = match input {
            Some(input) => pump(Direction::Sent, cfg.crlf).run_fd(
                &input.file,
                sock,
                |e| anyhow!(e).context("read stdin"),
                send_error,
            ),
            None => Ok(()),
        };
        match sent {
            Ok(()) if cfg.close_on_eof => {
                let _ = sock.shutdown(Shutdown::Both);
                return Ok(());
            }
            Ok(()) => {
                if !cfg.no_shutdown {
                    let _ = sock.shutdown(Shutdown::Write);
                }
            }
            // Deliver whatever the peer sent before it went away, then report.
            Err(e) => up_error = Some(e),
        }
    }
    let Output { file, name } = output;
    let mut down = pump(Direction::Received, false);
    let received = if cfg.send_only {
        if up_error.is_none() {
            return Ok(());
        }
        down.hexdump = None;
        down.run(sock, Discard, recv_error, |e| anyhow!(e))
    } else {
        down.run_fd(sock, &file, recv_error, |e| exit::output_error(e, &name))
    };
    match (received, up_error) {
        (Err(e), _) if e.chain().any(|c| c.is::<StdoutClosed>()) => Err(e),
        (Err(e), up) => Err(up.unwrap_or(e)),
        (Ok(()), Some(up)) => Err(up),
        (Ok(()), None) => Ok(()),
    }
}

/// Relays between `input`/`output` and `sock` until the session ends by the rules above.
/// `input` None means "never send" (a closed stdin counts as an empty one unless `recv_only`).
pub(crate) fn relay(
    sock: Socket,
    input: Option<Input>,
    output: Output,
    cfg: &RelayConfig,
) -> Result<()> {
    let sock = Arc::new(sock);
    let activity = Arc::new(Activity::new());
    let _progress = cfg.progress.then(|| Progress::start(activity.clone()));
    let dump = cfg.hexdump.then(|| Arc::new(Hexdump::new()));
    let pump = |dir: Direction, crlf: bool| Pump {
        dir,
        buf: Vec::new(),
        crlf: crlf.then(Crlf::default),
        hexdump: dump.clone().map(|d| (d, dir)),
        activity: activity.clone(),
        watched: cfg.idle_timeout.is_some() || cfg.progress,
    };
    if cfg.idle_timeout.is_none() && (cfg.recv_only || input.as_ref().is_none_or(sent_at_once)) {
        return one_way_then_other(&sock, input, output, cfg, pump);
    }
    let (tx, rx) = mpsc::channel::<Event>();

    let stdin_is_terminal = input.as_ref().is_some_and(|i| i.is_terminal);
    let sending = !cfg.recv_only;
    if sending {
        let sock = sock.clone();
        let tx = tx.clone();
        let mut pump = pump(Direction::Sent, cfg.crlf);
        std::thread::spawn(move || {
            let result = match input {
                Some(input) => pump.run_fd(
                    &input.file,
                    &*sock,
                    |e| anyhow!(e).context("read stdin"),
                    send_error,
                ),
                None => Ok(()),
            };
            let _ = tx.send(match result {
                Ok(()) => Event::UpDone,
                Err(e) => Event::UpFailed(e),
            });
        });
    }
    {
        let sock = sock.clone();
        let tx = tx.clone();
        let mut pump = pump(Direction::Received, false);
        let send_only = cfg.send_only;
        std::thread::spawn(move || {
            let Output { file, name } = output;
            let result = if send_only {
                pump.hexdump = None;
                pump.run(&*sock, Discard, recv_error, |e| anyhow!(e))
            } else {
                pump.run_fd(&*sock, &file, recv_error, |e| exit::output_error(e, &name))
            };
            let _ = tx.send(match result {
                Ok(()) => Event::DownDone,
                Err(e) => Event::DownFailed(e),
            });
        });
    }
    drop(tx);

    let mut up_done = !sending;
    let mut down_done = false;
    let mut up_error: Option<anyhow::Error> = None;
    loop {
        let event = match cfg.idle_timeout {
            None => rx.recv().ok(),
            Some(limit) => {
                let idle = activity.idle_for();
                if idle >= limit {
                    return Err(exit::timeout(format!(
                        "idle timeout: no data for {}",
                        humantime::format_duration(limit)
                    )));
                }
                match rx.recv_timeout(limit - idle) {
                    Ok(ev) => Some(ev),
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => None,
                }
            }
        };
        let Some(event) = event else {
            // Both threads are gone; whatever they said has been handled.
            return match up_error {
                Some(e) => Err(e),
                None => Ok(()),
            };
        };
        match event {
            Event::UpDone => {
                up_done = true;
                if cfg.close_on_eof {
                    let _ = sock.shutdown(Shutdown::Both);
                    return Ok(());
                }
                if !cfg.no_shutdown {
                    let _ = sock.shutdown(Shutdown::Write);
                }
                if cfg.send_only || down_done {
                    return Ok(());
                }
            }
            Event::UpFailed(e) => {
                // Deliver whatever the peer sent before it went away, then report.
                up_done = true;
                if down_done {
                    return Err(e);
                }
                up_error = Some(e);
            }
            Event::DownDone => {
                down_done = true;
                if let Some(e) = up_error.take() {
                    return Err(e);
                }
                if up_done || cfg.recv_only || stdin_is_terminal {
                    return Ok(());
                }
            }
            Event::DownFailed(e) => {
                if e.chain().any(|c| c.is::<StdoutClosed>()) {
                    return Err(e);
                }
                return Err(up_error.take().unwrap_or(e));
            }
        }
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
