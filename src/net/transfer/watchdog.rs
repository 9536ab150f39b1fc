//! `sendfile -i`: an idle timer that no blocking call can outwait.
//!
//! The transfer itself blocks in the kernel (a sendfile of up to 4 MiB into a full socket, a splice
//! or a read waiting for the sender, the wait for the `--verify` answer), so a thread of its own keeps
//! the time. Any byte moved resets it: the counts the transfer reports ([`Watchdog::touch`]) and, every
//! [`SLICE`] at most, the socket's queues as the kernel sees them (bytes not yet acknowledged by the
//! peer, bytes not yet read), so a sendfile call still in progress into a slow reader counts as
//! progress. When the limit passes, the watchdog shuts the socket down both ways, which ends every
//! wait on it at once; the transfer then returns, and [`Watchdog::check`] turns whatever it returned
//! into the timeout (status 3). Should the transfer still be stuck elsewhere a second later (writing
//! to a stdout nobody reads), the watchdog reports and exits with status 3 itself.

use std::net::Shutdown;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use socket2::Socket;

use crate::exit;
use crate::sys::fs as sysfs;

/// How often the socket's queues are looked at, at most.
const SLICE: Duration = Duration::from_millis(50);
/// How long the transfer gets to notice the shut-down socket before the watchdog exits for it.
const GRACE: Duration = Duration::from_secs(1);

struct Shared {
    start: Instant,
    /// Milliseconds since `start` of the last sign of progress.
    last_ms: AtomicU64,
    /// The limit and how it is worded, or None while no limit applies.
    limit: Mutex<Option<(Duration, String)>>,
    fired: AtomicBool,
    /// Set once the transfer has noticed (or no longer cares): the watchdog then never exits for it.
    settled: AtomicBool,
}

impl Shared {
    fn touch(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
    fn message(&self) -> String {
        match &*self.limit.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((_, why)) => why.clone(),
            None => "idle timeout".to_string(),
        }
    }
}

/// The idle timer of one transfer on one socket.
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// `idle timeout: no data for 5s`.
pub(crate) fn idle_message(limit: Duration) -> String {
    format!(
        "idle timeout: no data for {}",
        humantime::format_duration(limit)
    )
}

impl Watchdog {
    /// A watchdog that never fires (no thread): for a transfer with nothing to bound.
    pub(crate) fn off() -> Watchdog {
        Watchdog {
            shared: Arc::new(Shared {
                start: Instant::now(),
                last_ms: AtomicU64::new(0),
                limit: Mutex::new(None),
                fired: AtomicBool::new(false),
                settled: AtomicBool::new(true),
            }),
            stop: None,
            thread: None,
        }
    }

    /// Watches `sock` with `limit` (None: no limit until [`Watchdog::set_limit`] gives one).
    pub(crate) fn start(sock: &Socket, limit: Option<Duration>) -> Result<Watchdog> {
        let shared = Arc::new(Shared {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            limit: Mutex::new(limit.map(|l| (l, idle_message(l)))),
            fired: AtomicBool::new(false),
            settled: AtomicBool::new(false),
        });
        let sock = sock
            .try_clone()
            .map_err(|e| anyhow::anyhow!(e).context("duplicate the socket"))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let watched = shared.clone();
        let thread = std::thread::Builder::new()
            .name("idle".into())
            .spawn(move || watch(&sock, &watched, &stopped))
            .map_err(|e| anyhow::anyhow!(e).context("start the idle timer"))?;
        Ok(Watchdog {
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Bytes moved: the timer starts again.
    pub(crate) fn touch(&self) {
        self.shared.touch();
    }

    /// A new limit from now on, worded `why` when it expires.
    pub(crate) fn set_limit(&self, limit: Duration, why: String) {
        self.shared.touch();
        *self.shared.limit.lock().unwrap_or_else(|e| e.into_inner()) = Some((limit, why));
    }

    /// The transfer's result, unless the timer fired: then the timeout (status 3) instead.
    pub(crate) fn check<T>(&self, result: Result<T>) -> Result<T> {
        self.shared.settled.store(true, Ordering::SeqCst);
        if self.shared.fired.load(Ordering::SeqCst) {
            return Err(exit::timeout(self.shared.message()));
        }
        result
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.settled.store(true, Ordering::SeqCst);
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(sock: &Socket, shared: &Shared, stopped: &mpsc::Receiver<()>) {
    let queues = || {
        (
            sysfs::unacknowledged(sock.as_fd()).ok(),
            sysfs::unread(sock.as_fd()).ok(),
        )
    };
    let mut seen = queues();
    loop {
        let limit = shared
            .limit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(l, _)| *l);
        let slice = limit.map_or(SLICE, |l| (l / 4).clamp(Duration::from_millis(1), SLICE));
        match stopped.recv_timeout(slice) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let now = queues();
        if now != seen {
            seen = now;
            shared.touch();
        }
        let Some(limit) = limit else { continue };
        if shared.idle_for() < limit {
            continue;
        }
        shared.fired.store(true, Ordering::SeqCst);
        let _ = sock.shutdown(Shutdown::Both);
        // The transfer normally notices at once; if it is stuck elsewhere, end it here.
        if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(GRACE)
            && !shared.settled.load(Ordering::SeqCst)
        {
            crate::diag!("sockcat: error: {}", shared.message());
            std::process::exit(i32::from(exit::TIMEOUT));
        }
        return;
    }
}
