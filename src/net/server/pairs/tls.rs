//! A `--tls` client in its handshake, on the loop: rustls driven over the non-blocking socket at each
//! of its events, so a client that stalls mid-handshake costs a registered descriptor and a record
//! until its deadline, not a thread. Once the handshake is done (or failed, or timed out) the client
//! leaves the loop's epoll set, blocking again, and waits in [`Pairs::handshaken`] for the server
//! loop, which serves it by its mode (a thread from then on: rustls on a blocking socket).

use std::cmp::Reverse;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use mio::unix::SourceFd;
use socket2::Socket;

use crate::net::stream::tls::Accepting;

use super::{Entry, Pairs};

/// A client in its TLS handshake.
pub(super) struct Handshaking {
    client: Socket,
    accepting: Accepting,
    deadline: Instant,
    timeout: Duration,
    who: Who,
}

/// Who a client is, for the server loop that serves it next: its name, address and number.
pub(crate) struct Who {
    pub name: String,
    pub peer: Option<SocketAddr>,
    pub id: u64,
}

/// A client whose handshake ended: done (its session, to serve), or failed (its reason).
pub(crate) struct Handshaken {
    pub client: Socket,
    pub who: Who,
    pub result: Result<Accepting>,
}

impl Pairs {
    /// Runs `client`'s handshake (`accepting`) on the loop, within `timeout`; its end comes out of
    /// [`Pairs::handshaken`].
    pub(crate) fn accept_tls(
        &mut self,
        client: Socket,
        accepting: Accepting,
        timeout: Duration,
        who: Who,
    ) {
        let slot = match self.admit(&client) {
            Ok(slot) => slot,
            Err(e) => {
                return self.tls_ended.push(Handshaken {
                    client,
                    who,
                    result: Err(e),
                });
            }
        };
        let deadline = accepting.began + timeout;
        self.pairs[slot] = Some(Entry::Tls(Box::new(Handshaking {
            client,
            accepting,
            deadline,
            timeout,
            who,
        })));
        let epoch = self.generation[slot];
        self.timers.push(Reverse((deadline, slot, epoch)));
        self.tls_step(slot);
    }

    /// The clients whose handshake ended since the last call.
    pub(crate) fn handshaken(&mut self) -> Vec<Handshaken> {
        std::mem::take(&mut self.tls_ended)
    }

    /// Moves `slot`'s handshake on (an event of its socket).
    pub(super) fn tls_step(&mut self, slot: usize) {
        let Some(Some(Entry::Tls(h))) = self.pairs.get_mut(slot) else {
            return;
        };
        match h.accepting.advance(&h.client) {
            Ok(false) => {}
            Ok(true) => self.end(slot, Ok(())),
            Err(e) => self.end(slot, Err(e)),
        }
    }

    /// `slot`'s handshake timer: its deadline passed.
    pub(super) fn tls_timer(&mut self, slot: usize, now: Instant) {
        let Some(Some(Entry::Tls(h))) = self.pairs.get_mut(slot) else {
            return;
        };
        if h.deadline <= now {
            let e = Accepting::timed_out(h.timeout);
            self.end(slot, Err(e));
        }
    }

    /// A handshake left the loop (its slot is free already): out of the epoll set, blocking again.
    pub(super) fn tls_end(&mut self, h: Handshaking, result: Result<()>) {
        let Handshaking {
            client,
            accepting,
            who,
            ..
        } = h;
        let _ = self.registry.deregister(&mut SourceFd(&client.as_raw_fd()));
        let result = result.and_then(|()| {
            crate::sys::sockopt::set_nonblocking(client.as_fd(), false)
                .map_err(|e| anyhow!(e).context("clear O_NONBLOCK"))
        });
        self.tls_ended.push(Handshaken {
            client,
            who,
            result: result.map(|()| accepting),
        });
    }
}
