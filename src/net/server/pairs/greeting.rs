//! A client whose [`Front`] is still talking to it, until its destination is open.

use std::cmp::Reverse;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use socket2::Socket;

use crate::net::stream::{recv_error, send_error};

use super::pair::SendFirst;
use super::{Done, Entry, Front, Greet, Greeting, MAX_GREETING, Opened, Pairs, Side, Target};
use crate::net::stream::tls::{Looped, Received};

/// What one read of a greeting client asks for.
const READ_CHUNK: usize = 4096;

impl Pairs {
    /// Starts `client`'s handshake with `front`, within `deadline`; then its pair is relayed. `tls`:
    /// the client's TLS session, established on this loop (the handshake runs inside it).
    pub(crate) fn greet(
        &mut self,
        client: Socket,
        tls: Option<Box<Looped>>,
        front: Box<dyn Front>,
        deadline: Instant,
        idle: Option<Duration>,
        done: Done,
    ) {
        let slot = match self.admit(&client) {
            Ok(slot) => slot,
            Err(e) => return done(Err(e), &client),
        };
        self.pairs[slot] = Some(Entry::Greeting(Greeting {
            client,
            tls,
            cipher: Vec::new(),
            input: Vec::new(),
            eof: false,
            out: Vec::new(),
            sent: 0,
            front: Some(front),
            done: Some(done),
            idle,
            deadline,
            opening: false,
            drained: false,
            closed: false,
        }));
        let epoch = self.generation[slot];
        self.timers.push(Reverse((deadline, slot, epoch)));
        self.greeting(slot);
    }

    /// Reads what a greeting client sent and lets its front answer.
    pub(super) fn greeting(&mut self, slot: usize) {
        let Some(Some(Entry::Greeting(g))) = self.pairs.get_mut(slot) else {
            return;
        };
        if g.opening {
            return;
        }
        let before = (g.input.len(), g.eof);
        let mut failed = None;
        while let Some(tls) = &mut g.tls
            && !g.eof
            && !g.drained
            && g.input.len() <= MAX_GREETING
        {
            let scratch = self.spares.scratch();
            match tls.receive(&g.client, scratch, &mut g.input, &mut g.cipher) {
                Ok(Received::Data { drained, .. }) => g.drained = drained && !g.closed,
                Ok(Received::End) => g.eof = true,
                Ok(Received::Blocked) => g.drained = true,
                Err(e) => {
                    // rustls's alert, if the socket takes it.
                    let _ = (&g.client).send_first(&g.cipher);
                    failed = Some(recv_error(e).context("client"));
                    break;
                }
            }
        }
        while g.tls.is_none() && !g.eof && !g.drained && g.input.len() <= MAX_GREETING {
            let at = g.input.len();
            g.input.resize(at + READ_CHUNK, 0);
            match (&g.client).read(&mut g.input[at..]) {
                Ok(0) => {
                    g.input.truncate(at);
                    g.eof = true;
                }
                Ok(n) => {
                    g.input.truncate(at + n);
                    // A short read emptied the socket (see `Pair::step`'s reads).
                    g.drained = n < READ_CHUNK && !g.closed;
                }
                Err(e) => {
                    g.input.truncate(at);
                    match e.kind() {
                        io::ErrorKind::WouldBlock => {
                            g.drained = true;
                            break;
                        }
                        io::ErrorKind::Interrupted => {}
                        _ => {
                            failed = Some(recv_error(e).context("client"));
                            break;
                        }
                    }
                }
            }
        }
        if let Some(e) = failed {
            return self.end(slot, Err(e));
        }
        let greet = if (g.input.len(), g.eof) != before || (before.0 == 0 && g.sent == 0) {
            g.out.clear();
            match &mut g.front {
                Some(front) => front.input(&g.input, g.eof, &mut g.out),
                None => Greet::More,
            }
        } else {
            Greet::More
        };
        if let Err(e) = g.flush() {
            return self.end(slot, Err(e));
        }
        match greet {
            Greet::More if g.eof => {
                let e = anyhow!("the client closed the connection mid-handshake");
                self.end(slot, Err(e))
            }
            Greet::More => {}
            Greet::Fail(e) => self.end(slot, Err(e)),
            Greet::Connect(target) => self.greeted(slot, Ok(target)),
            Greet::Open(open) => {
                g.opening = true;
                let (tx, waker) = (self.opened_tx.clone(), self.waker.clone());
                let epoch = self.generation[slot];
                let spawned = std::thread::Builder::new().spawn(move || {
                    let result = open();
                    let _ = tx.send(Opened {
                        slot,
                        epoch,
                        result,
                    });
                    let _ = waker.wake();
                });
                if let Err(e) = spawned {
                    self.greeted(slot, Err(anyhow!(e).context("start a thread")));
                }
            }
        }
    }

    /// The destination of a greeting client is connected (or connecting), or could not be opened.
    pub(super) fn greeted(&mut self, slot: usize, target: Result<Target>) {
        let Some(Some(Entry::Greeting(g))) = self.pairs.get_mut(slot) else {
            return;
        };
        let (Some(mut front), Some(done)) = (g.front.take(), g.done.take()) else {
            return;
        };
        let idle = g.idle;
        let client_ready = !g.drained || g.eof;
        let target = match target {
            Ok(t) => t,
            Err(e) => {
                let (reply, result) = front.connected(Err(e));
                g.out.extend_from_slice(&reply);
                let _ = g.flush();
                g.done = Some(done);
                let e = result.err().unwrap_or_else(|| anyhow!("no destination"));
                return self.end(slot, Err(e));
            }
        };
        let Some(Entry::Greeting(g)) = self.pairs[slot].take() else {
            return;
        };
        let (target, reply, first, labels, hook) = match target {
            target @ (Target::Connected(_) | Target::Secured(..)) => {
                // Opened on a thread: the front answers now.
                let (reply, result) = front.connected(Ok(target.sock()));
                match result {
                    Ok((first, label)) => {
                        let labels = ["client".into(), label];
                        (target, reply, first, labels, None)
                    }
                    Err(e) => {
                        let mut g = g;
                        g.out.extend_from_slice(&reply);
                        let _ = g.flush();
                        g.done = Some(done);
                        self.pairs[slot] = Some(Entry::Greeting(g));
                        return self.end(slot, Err(e));
                    }
                }
            }
            // The front answers once connected (`Pair::step`).
            connecting => {
                let labels: [Arc<str>; 2] = ["client".into(), "destination".into()];
                (connecting, Vec::new(), Vec::new(), labels, Some(front))
            }
        };
        let (client, to_client) = match g.into_side(&reply) {
            Ok(side) => side,
            Err((mut g, e)) => {
                g.done = Some(done);
                self.pairs[slot] = Some(Entry::Greeting(g));
                return self.end(slot, Err(e));
            }
        };
        self.start_pair(
            slot,
            client,
            target,
            labels,
            [to_client, first],
            hook,
            idle,
            done,
            client_ready,
        );
    }
}

impl Greeting {
    /// The client as a pair's side, and the bytes it is still owed, `reply` last: under TLS the
    /// records not sent yet, then `reply` encrypted; else `reply`.
    #[allow(clippy::result_large_err)]
    fn into_side(
        mut self,
        reply: &[u8],
    ) -> std::result::Result<(Side, Vec<u8>), (Greeting, anyhow::Error)> {
        let mut owed = std::mem::take(&mut self.cipher);
        match &mut self.tls {
            Some(tls) => {
                if let Err(e) = tls.send(reply, &mut owed) {
                    return Err((self, send_error(e).context("client")));
                }
            }
            None => owed.extend_from_slice(reply),
        }
        let side = Side {
            sock: self.client,
            tls: self.tls,
        };
        Ok((side, owed))
    }

    /// Sends the client what its front wrote and it has not had yet.
    fn flush(&mut self) -> Result<()> {
        if let Some(tls) = &mut self.tls {
            if self.sent < self.out.len() {
                tls.send(&self.out[self.sent..], &mut self.cipher)
                    .map_err(|e| send_error(e).context("client"))?;
                self.sent = self.out.len();
            }
            while !self.cipher.is_empty() {
                match (&self.client).send_first(&self.cipher) {
                    Ok(n) => drop(self.cipher.drain(..n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) => return Err(send_error(e).context("client")),
                }
            }
            return Ok(());
        }
        while self.sent < self.out.len() {
            match (&self.client).send_first(&self.out[self.sent..]) {
                Ok(n) => self.sent += n,
                // The rest goes at the next turn (a client that does not read its answers).
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(send_error(e).context("client")),
            }
        }
        Ok(())
    }
}
