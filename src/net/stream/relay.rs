//! The one relay: [`join`] two [`Endpoint`]s, `a` (the local end: stdin and stdout, a client) and `b`
//! (the remote end: the connection), with the end-of-stream rules of the contract, implemented once in
//! [`EndOfStream`]:
//!
//! | event | what the relay does |
//! | --- | --- |
//! | `a`'s source ends (stdin EOF) | finish `b`'s sink (FIN); keep relaying `b` until it ends, then Ok |
//! | `b`'s source ends (the peer's FIN) | everything received is written out; finish `a`'s sink (close stdout); if `a` is a terminal, Ok now; otherwise keep sending until `a` ends, then Ok |
//! | the peer resets, or stops reading before `a` was all sent | an error saying so (status 1), once what the peer sent is written out |
//! | `a`'s source fails (a forwarded client reset) | finish `b`'s sink (FIN) too, then as above |
//! | `a`'s sink is closed by its reader | [`StdoutClosed`] (quiet status 0) |
//! | `close_on_eof` | when `a` ends, stop `b` (both ways) and Ok at once |
//! | `no_shutdown` | when `a` ends, leave `b`'s sink open (no FIN) |
//! | `recv_only` / `send_only` | one direction only; the session ends when that direction ends |
//! | `idle_timeout` | any byte in either direction resets the timer; expiry is a [`Timeout`](crate::exit::Timeout) (status 3) |
//!
//! Each direction is a [`Pump`] on a thread of its own, doing large blocking calls (no poll round per
//! chunk); the calling thread feeds what they report to [`EndOfStream`], which decides. A short session
//! whose sending side cannot block (`a` is [`Source::short`]: /dev/null, a small file; or `recv_only`)
//! without an idle timer runs both directions on the calling thread, one after the other, through the
//! same [`EndOfStream`]: starting threads costs more than such a session.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use socket2::Socket;

use crate::exit::{self, StdoutClosed};
use crate::net::stream::hexdump::{Direction, DumpFile, Hexdump};
use crate::net::stream::pump::{Activity, Progress, Pump};
pub(crate) use crate::net::stream::pump::{CHUNK, Crlf};
use crate::net::stream::{Discard, Endpoint, Sink, Stop};
use crate::stdio::{Input, Output};

/// The relay's settings, taken from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct RelayConfig {
    pub recv_only: bool,
    pub send_only: bool,
    pub close_on_eof: bool,
    pub no_shutdown: bool,
    pub crlf: bool,
    pub hexdump: bool,
    /// `--hexdump=FILE`: where the dump goes instead of stderr.
    pub hexdump_file: Option<Arc<DumpFile>>,
    pub idle_timeout: Option<Duration>,
    pub progress: bool,
}

/// What the relay does next.
enum Step {
    Go,
    End(Result<()>),
}

/// The end-of-stream rules (the table above), fed with how each direction ended. `up` is `a` to `b`
/// (sent), `down` is `b` to `a` (received).
struct EndOfStream<'c> {
    cfg: &'c RelayConfig,
    /// `a` is a terminal: when `b` ends, so does the session.
    terminal: bool,
    up_done: bool,
    down_done: bool,
    /// The up direction failed; reported once what `b` sent is written out.
    up_error: Option<anyhow::Error>,
}

impl<'c> EndOfStream<'c> {
    fn new(cfg: &'c RelayConfig, terminal: bool) -> Self {
        EndOfStream {
            cfg,
            terminal,
            up_done: cfg.recv_only,
            down_done: false,
            up_error: None,
        }
    }

    /// `a` to `b` is over: `b_sink` took every byte (Ok) or not.
    fn up(&mut self, result: Result<()>, b_sink: &mut dyn Sink, b_stop: Option<&Stop>) -> Step {
        self.up_done = true;
        match result {
            Ok(()) if self.cfg.close_on_eof => {
                match b_stop {
                    Some(stop) => stop(),
                    None => {
                        let _ = b_sink.finish();
                    }
                }
                Step::End(Ok(()))
            }
            Ok(()) => {
                if !self.cfg.no_shutdown {
                    let _ = b_sink.finish();
                }
                if self.cfg.send_only || self.down_done {
                    Step::End(Ok(()))
                } else {
                    Step::Go
                }
            }
            // Deliver whatever the peer sent before it went away, then report.
            Err(e) if self.down_done => Step::End(Err(e)),
            // `b` hears that nothing more comes (a FIN): a forwarded client that reset would
            // otherwise leave a target that waits for its request waiting for ever.
            Err(e) => {
                if !self.cfg.no_shutdown {
                    let _ = b_sink.finish();
                }
                self.up_error = Some(e);
                Step::Go
            }
        }
    }

    /// `b` to `a` is over: every byte of `b` was written to `a_sink` (Ok) or not.
    fn down(&mut self, result: Result<()>, a_sink: &mut dyn Sink) -> Step {
        self.down_done = true;
        match result {
            Ok(()) => {
                // Its reader sees EOF now, even while we go on sending.
                let _ = a_sink.finish();
                if let Some(e) = self.up_error.take() {
                    Step::End(Err(e))
                } else if self.up_done || self.terminal {
                    Step::End(Ok(()))
                } else {
                    Step::Go
                }
            }
            Err(e) if e.chain().any(|c| c.is::<StdoutClosed>()) => Step::End(Err(e)),
            Err(e) => Step::End(Err(self.up_error.take().unwrap_or(e))),
        }
    }

    /// Both directions reported and neither ended the session (cannot happen by the rules above).
    fn result(&mut self) -> Result<()> {
        self.up_error.take().map_or(Ok(()), Err)
    }
}

/// Relays between stdin/stdout (`input` None: never send; a closed stdin counts as an empty one unless
/// `recv_only`) and a connected socket: `connect` and the one-client `listen`.
pub(crate) fn relay(
    sock: Socket,
    input: Option<Input>,
    output: Output,
    cfg: &RelayConfig,
) -> Result<()> {
    join(Endpoint::stdio(input, output), Endpoint::socket(sock), cfg)
}

/// What a direction thread reports: how it ended, and the sink it wrote to, for [`EndOfStream`] to
/// finish.
struct Event {
    dir: Direction,
    result: Result<()>,
    sink: Box<dyn Sink>,
}

/// Relays `a` and `b` both ways until the session ends by the rules above.
pub(crate) fn join(a: Endpoint, b: Endpoint, cfg: &RelayConfig) -> Result<()> {
    let activity = Arc::new(Activity::new());
    let _progress = cfg.progress.then(|| Progress::start(activity.clone()));
    let dump = cfg
        .hexdump
        .then(|| Arc::new(Hexdump::to(cfg.hexdump_file.as_ref())));
    let watched = cfg.idle_timeout.is_some() || cfg.progress;
    let mut up = Pump::new(Direction::Sent, activity.clone(), watched);
    up.crlf = cfg.crlf.then(Crlf::default);
    up.hexdump = dump.clone();
    let mut down = Pump::new(Direction::Received, activity.clone(), watched);

    let Endpoint {
        source: mut a_source,
        sink: a_sink,
        stop: a_stop,
    } = a;
    let Endpoint {
        source: mut b_source,
        sink: mut b_sink,
        stop: b_stop,
    } = b;
    // `--send-only`: what arrives is read and dropped, and not dumped.
    let mut a_sink: Box<dyn Sink> = if cfg.send_only {
        Box::new(Discard)
    } else {
        down.hexdump = dump;
        a_sink
    };
    let mut eos = EndOfStream::new(cfg, a_source.is_terminal());

    if cfg.idle_timeout.is_none() && (cfg.recv_only || a_source.short()) {
        if !cfg.recv_only {
            let sent = up.run(&mut *a_source, &mut *b_sink);
            if let Step::End(result) = eos.up(sent, &mut *b_sink, b_stop.as_ref()) {
                return result;
            }
        }
        let received = down.run(&mut *b_source, &mut *a_sink);
        return match eos.down(received, &mut *a_sink) {
            Step::End(result) => result,
            Step::Go => eos.result(),
        };
    }

    let mut queues = cfg
        .idle_timeout
        .map(|_| SendQueues::of(&[&*a_sink, &*b_sink]));
    let (tx, rx) = mpsc::channel::<Event>();
    let mut running = 0;
    // A thread that cannot start (a storm of clients, a process limit) fails this session only.
    let cannot = |e: std::io::Error| anyhow!(e).context("start a relay thread");
    if !cfg.recv_only {
        let tx = tx.clone();
        std::thread::Builder::new()
            .spawn(move || {
                let result = up.run(&mut *a_source, &mut *b_sink);
                let _ = tx.send(Event {
                    dir: Direction::Sent,
                    result,
                    sink: b_sink,
                });
            })
            .map_err(cannot)?;
        running += 1;
    }
    let spawned = std::thread::Builder::new().spawn({
        let tx = tx.clone();
        move || {
            let result = down.run(&mut *b_source, &mut *a_sink);
            let _ = tx.send(Event {
                dir: Direction::Received,
                result,
                sink: a_sink,
            });
        }
    });
    if let Err(e) = spawned {
        for stop in [&a_stop, &b_stop].into_iter().flatten() {
            stop();
        }
        return Err(cannot(e));
    }
    running += 1;
    drop(tx);

    let result = loop {
        let event = match cfg.idle_timeout {
            None => rx.recv().ok(),
            Some(limit) => {
                if queues.as_mut().is_some_and(SendQueues::drained) {
                    activity.touch();
                }
                let idle = activity.idle_for();
                if idle >= limit {
                    break Err(exit::timeout(format!(
                        "idle timeout: no data for {}",
                        humantime::format_duration(limit)
                    )));
                }
                // Wake often enough to see a send queue drain within the limit.
                match rx.recv_timeout((limit - idle).min(limit / 4)) {
                    Ok(ev) => Some(ev),
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => None,
                }
            }
        };
        // Both threads are gone; whatever they said has been handled, unless one of them died
        // without a word (a panic in a debug build): that direction failed, never a quiet success.
        let Some(Event {
            dir,
            result,
            mut sink,
        }) = event
        else {
            if running > 0 {
                break Err(anyhow!(
                    "a relay thread ended without finishing its direction"
                ));
            }
            break eos.result();
        };
        running -= 1;
        let step = match dir {
            Direction::Sent => eos.up(result, &mut *sink, b_stop.as_ref()),
            Direction::Received => eos.down(result, &mut *sink),
        };
        if let Step::End(result) = step {
            break result;
        }
    };
    // A direction still waiting (on a terminal, a silent peer) ends with its ends stopped.
    if running > 0 {
        for stop in [&a_stop, &b_stop].into_iter().flatten() {
            stop();
        }
    }
    result
}

/// The sockets among the sinks, watched for the idle timer: bytes that left our hands but still sit in
/// a socket's send queue reach the peer later, and that is traffic too (a slow reader of a large send
/// buffer, after the last write).
struct SendQueues {
    socks: Vec<(std::os::fd::OwnedFd, usize)>,
}

impl SendQueues {
    /// Copies of the socket descriptors of `sinks` (the others are left alone: a copy of stdout would
    /// keep its reader from seeing EOF when the relay finishes it).
    fn of(sinks: &[&dyn Sink]) -> SendQueues {
        use crate::sys::zerocopy::{FdKind, kind, unsent};
        let socks = sinks
            .iter()
            .filter_map(|sink| sink.fd())
            .filter(|fd| kind(*fd).is_ok_and(|k| k == FdKind::Socket))
            .filter_map(|fd| {
                let queued = unsent(fd).ok()?;
                Some((fd.try_clone_to_owned().ok()?, queued))
            })
            .collect();
        SendQueues { socks }
    }

    /// Did any send queue change since the last look?
    fn drained(&mut self) -> bool {
        use std::os::fd::AsFd;
        let mut changed = false;
        for (fd, last) in &mut self.socks {
            if let Ok(now) = crate::sys::zerocopy::unsent(fd.as_fd())
                && now != *last
            {
                *last = now;
                changed = true;
            }
        }
        changed
    }
}
