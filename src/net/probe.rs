//! Port probes (`connect -z`): connect and close, send nothing, many targets at once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use socket2::Socket;

use crate::exit::{self, Timeout};
use crate::net::addr::HostPort;
use crate::net::connect::{ConnectOpts, connect};

/// How many probes run at the same time.
pub(crate) const PARALLEL: usize = 64;

/// What one probe found.
#[derive(Debug)]
pub(crate) enum Outcome<T = ()> {
    /// Open, with what `then` found on the connection (see [`probe_all_then`]).
    Open(T),
    /// Refused, unreachable, not resolved...: the one-line reason.
    Closed(String),
    /// The connect timeout (or `--wait-for`) expired.
    TimedOut(String),
}

/// Probes every target, `PARALLEL` at a time; results come back in the order of `targets`. `then`
/// checks each connection further (a TLS handshake; `Ok(())` for none): a port is open only when it
/// succeeds too, and its error is the reason it is not.
pub(crate) fn probe_all_then<T: Send>(
    targets: &[HostPort],
    opts: &ConnectOpts,
    wait_for: Option<Duration>,
    then: impl Fn(Socket, &HostPort) -> anyhow::Result<T> + Sync,
) -> Vec<Outcome<T>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome<T>>>> =
        Mutex::new((0..targets.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL.min(targets.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(i) else { break };
                    let outcome = match connect(target, opts, wait_for)
                        .and_then(|(sock, _)| then(sock, target))
                    {
                        Ok(found) => Outcome::Open(found),
                        Err(e) if e.chain().any(|c| c.is::<Timeout>()) => {
                            Outcome::TimedOut(exit::render(&e))
                        }
                        Err(e) => Outcome::Closed(exit::render(&e)),
                    };
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Closed("not probed".into())))
        .collect()
}
