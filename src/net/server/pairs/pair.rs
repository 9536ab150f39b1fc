//! A pair's two directions: splice or copy through a private pipe, and the end-of-stream rules.

use std::io::{self, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use anyhow::{Result, anyhow};
use socket2::Socket;

use crate::net::addr::display;
use crate::net::stream::tls::Received;
use crate::net::stream::{recv_error, send_error};
use crate::sys::zerocopy as sys;

use super::{COPY_BUF, MOVES_PER_TURN, Outcome, PIPE_SIZE, Pair, Spares};

impl Pair {
    /// `splice_in`: the most one splice takes from a socket ([`super::splice_in`]).
    pub(super) fn step(
        &mut self,
        spares: &mut Spares,
        more: &mut bool,
        splice_in: usize,
    ) -> Outcome {
        if let Some(c) = &self.connecting {
            // Connected (getpeername succeeds) is the usual answer, on loopback at once: then
            // there is nothing more to ask, of either socket.
            let peer = self.writable[1].then(|| self.socks[1].peer_addr());
            let connected = matches!(peer, Some(Ok(_)));
            // A client that reset while its target is still connecting: nothing to wait for (a
            // target that drops SYNs would hold the pair and its --max-conns place for minutes).
            // A FIN is no reason: what it sent before goes to the target once connected.
            if self.readable[0] && !connected {
                match self.socks[0].take_error() {
                    Ok(None) => {}
                    Ok(Some(e)) | Err(e) => {
                        let label = self.labels[0].to_string();
                        return Outcome::End(Err(recv_error(e).context(label)));
                    }
                }
            }
            let failed = match peer {
                None => return Outcome::Go,
                Some(Ok(_)) => None,
                // Not connected: failed (its error) or not yet (a spurious wakeup: wait for the
                // next).
                Some(Err(e)) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                    match self.socks[1].take_error() {
                        Ok(Some(e)) | Err(e) => Some(e),
                        Ok(None) => {
                            self.writable[1] = false;
                            return Outcome::Go;
                        }
                    }
                }
                Some(Err(e)) => Some(e),
            };
            if let Some(e) = failed {
                let e = anyhow::Error::new(e)
                    .context(format!("connect {}", display(&c.addr)))
                    .context(c.what.clone());
                return Outcome::End(self.connect_failed(e));
            }
            let sock = &self.socks[1];
            if c.nodelay {
                let _ = sock.set_tcp_nodelay(true);
            }
            if c.keepalive {
                let _ = sock.set_keepalive(true);
            }
            self.connecting = None;
            // Not assumed readable: it was registered before it could receive anything, so
            // whatever it receives comes with an event.
            if let Some(mut front) = self.hook.take() {
                let (reply, result) = front.connected(Ok(&self.socks[1]));
                let owed = self.owe_client(&reply);
                match (result, owed) {
                    (Ok((first, label)), Ok(())) => {
                        self.first[1] = first;
                        self.labels[1] = label;
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        let _ = (&self.socks[0]).send_first(&self.first[0]);
                        return Outcome::End(Err(e));
                    }
                }
            }
        }
        for d in 0..2 {
            if self.dirs[d].done {
                continue;
            }
            match self.move_dir(d, spares, more, splice_in) {
                Ok(false) => {}
                Ok(true) => {
                    self.dirs[d].done = true;
                    if let Some(end) = self.ended(d, Ok(())) {
                        return Outcome::End(end);
                    }
                }
                Err(e) => {
                    self.dirs[d].done = true;
                    if let Some(end) = self.ended(d, Err(e)) {
                        return Outcome::End(end);
                    }
                }
            }
        }
        Outcome::Go
    }

    /// The target could not be connected: the error that ends the pair (the front's, which answers
    /// the client first, if there is one).
    pub(super) fn connect_failed(&mut self, e: anyhow::Error) -> Result<()> {
        match self.hook.take() {
            Some(mut front) => {
                let (reply, result) = front.connected(Err(e));
                if self.owe_client(&reply).is_ok() {
                    let _ = (&self.socks[0]).send_first(&self.first[0]);
                }
                Err(result.err().unwrap_or_else(|| anyhow!("no destination")))
            }
            None => Err(e),
        }
    }

    /// Queues `bytes` (a front's reply) for the client after what it is owed already, encrypted
    /// when it has a TLS session.
    fn owe_client(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.tls[0] {
            Some(tls) => tls
                .send(bytes, &mut self.first[0])
                .map_err(|e| self.write_error(0, e)),
            None => {
                self.first[0].extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// The end-of-stream rules, told that direction `d` ended with `result`.
    fn ended(&mut self, d: usize, result: Result<()>) -> Option<Result<()>> {
        let other_done = self.dirs[1 - d].done;
        match (d, result) {
            (_, Ok(())) => {
                // A FIN to the destination side: its reader sees EOF while the other way goes on.
                let _ = self.socks[1 - d].shutdown(Shutdown::Write);
                if d == 1
                    && let Some(e) = self.up_error.take()
                {
                    return Some(Err(e));
                }
                other_done.then_some(Ok(()))
            }
            // Deliver whatever the target sends before reporting the client side's failure, unless
            // the client itself is gone (a reset): then the target would wait for ever.
            (0, Err(e)) if !other_done && !self.client_gone => {
                self.up_error = Some(e);
                None
            }
            (_, Err(e)) => Some(Err(self.up_error.take().unwrap_or(e))),
        }
    }

    /// Moves direction `d` as far as it goes now: Ok(true) when it is over (EOF and the pipe empty).
    fn move_dir(
        &mut self,
        d: usize,
        spares: &mut Spares,
        more: &mut bool,
        splice_in: usize,
    ) -> Result<bool> {
        let (src, dst) = (d, 1 - d);
        if dst == 1 && self.connecting.is_some() {
            return Ok(false);
        }
        for _ in 0..MOVES_PER_TURN {
            let mut moved = false;
            // The bytes that go first to that side.
            if !self.first[dst].is_empty() {
                if !self.writable[dst] {
                    return Ok(false);
                }
                match (&self.socks[dst]).send_first(&self.first[dst]) {
                    Ok(n) => {
                        self.first[dst].drain(..n);
                        // A TLS pair's queue holds a read's worth: an idle pair keeps none.
                        if self.first[dst].is_empty() && self.tls.iter().any(Option::is_some) {
                            spares.give_back(std::mem::take(&mut self.first[dst]));
                        }
                        self.last = Instant::now();
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable[dst] = false;
                        return Ok(false);
                    }
                    Err(e) => return Err(self.write_error(dst, e)),
                }
                continue;
            }
            let dir = &mut self.dirs[d];
            let any_tls = self.tls.iter().any(Option::is_some);
            let [tls0, tls1] = &mut self.tls;
            let (src_tls, dst_tls) = if src == 0 { (tls0, tls1) } else { (tls1, tls0) };
            let [q0, q1] = &mut self.first;
            let (to_src, to_dst) = if src == 0 { (q0, q1) } else { (q1, q0) };
            // From a TLS side: decrypted into the other side's queue (encrypted again when that
            // side is TLS too).
            if let Some(tls) = src_tls
                && !dir.eof
                && self.readable[src]
            {
                if to_dst.capacity() == 0 {
                    *to_dst = spares.queue();
                }
                let received = match dst_tls {
                    None => tls.receive(&self.socks[src], spares.scratch(), to_dst, to_src),
                    Some(out) => {
                        let mut plain = spares.queue();
                        let received =
                            tls.receive(&self.socks[src], spares.scratch(), &mut plain, to_src);
                        let sent = match (&received, plain.is_empty()) {
                            (Ok(_), false) => out.send(&plain, to_dst),
                            _ => Ok(()),
                        };
                        spares.give_back(plain);
                        sent.map_err(|e| send_error(e).context(self.labels[dst].to_string()))?;
                        received
                    }
                };
                match received {
                    Ok(Received::Data { n, drained }) => {
                        // As a short read below: the socket is empty.
                        if drained && !self.closed[src] {
                            self.readable[src] = false;
                        }
                        moved = n > 0 || !drained;
                    }
                    Ok(Received::End) => dir.eof = true,
                    Ok(Received::Blocked) => self.readable[src] = false,
                    Err(e) => {
                        // rustls's alert, if the socket takes it; the session is over either way.
                        let _ = (&self.socks[src]).send_first(to_src);
                        self.client_gone |= src == 0;
                        let label = self.labels[src].to_string();
                        return Err(recv_error(e).context(label));
                    }
                }
            } else if !dir.eof && (!dir.bulk || any_tls) && self.readable[src] {
                let mut stack = [0u8; COPY_BUF];
                // Into a TLS side: encrypted into its queue, from reads as large as the
                // decrypting side's.
                let (buf, tls) = match dst_tls {
                    Some(tls) => {
                        if to_dst.capacity() == 0 {
                            *to_dst = spares.queue();
                        }
                        (spares.scratch(), Some(tls))
                    }
                    None => (&mut stack[..], None),
                };
                match (&self.socks[src]).read(buf) {
                    Ok(0) => {
                        dir.eof = true;
                        if let Some(tls) = tls {
                            // close_notify: sent at the top of the next round, then the FIN.
                            tls.close(to_dst)
                                .map_err(|e| send_error(e).context(self.labels[dst].to_string()))?;
                            moved = true;
                        }
                    }
                    Ok(n) => {
                        // Sent as the side's first bytes, at the top of the next round.
                        match tls {
                            Some(tls) => tls
                                .send(&buf[..n], to_dst)
                                .map_err(|e| send_error(e).context(self.labels[dst].to_string()))?,
                            None => {
                                to_dst.extend_from_slice(&buf[..n]);
                                dir.bulk = n == COPY_BUF && !any_tls;
                            }
                        }
                        // A short read emptied the socket: what comes next comes with an event
                        // (edge-triggered), so no read that would say EAGAIN. Unless an event said
                        // its peer closed: the end of stream is then read now, as it has no event
                        // of its own left to come.
                        if n < buf.len() && !self.closed[src] {
                            self.readable[src] = false;
                        }
                        moved = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.readable[src] = false;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => moved = true,
                    Err(e) => {
                        let label = self.labels[src].to_string();
                        return Err(recv_error(e).context(label));
                    }
                }
            } else if !dir.eof && self.readable[src] {
                let (_, w, cap) = match &mut dir.pipe {
                    Some(p) => p,
                    pipe => pipe.insert(match spares.pipes.pop() {
                        Some(p) => p,
                        None => new_pipe()?,
                    }),
                };
                if dir.in_pipe < *cap {
                    match sys::splice_nonblock(
                        self.socks[src].as_fd(),
                        w.as_fd(),
                        (*cap - dir.in_pipe).min(splice_in),
                    ) {
                        Ok(0) => dir.eof = true,
                        Ok(n) => {
                            dir.in_pipe += n;
                            moved = true;
                        }
                        // An empty socket, or (with bytes in it) a pipe whose slots are all taken.
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            if dir.in_pipe == 0 {
                                self.readable[src] = false;
                            }
                        }
                        Err(e) => {
                            self.client_gone |= src == 0;
                            let label = self.labels[src].to_string();
                            return Err(recv_error(e).context(label));
                        }
                    }
                }
            }
            let dir = &mut self.dirs[d];
            if dir.in_pipe > 0
                && self.writable[dst]
                && let Some((r, _, _)) = &dir.pipe
            {
                match sys::splice_nonblock(r.as_fd(), self.socks[dst].as_fd(), dir.in_pipe) {
                    Ok(n) => {
                        dir.in_pipe -= n;
                        moved |= n > 0;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable[dst] = false;
                    }
                    Err(e) => return Err(self.write_error(dst, e)),
                }
            }
            let dir = &self.dirs[d];
            if dir.eof && dir.in_pipe == 0 && self.first[dst].is_empty() {
                return Ok(true);
            }
            if !moved {
                return Ok(false);
            }
            self.last = Instant::now();
        }
        *more = true;
        Ok(false)
    }

    fn write_error(&self, side: usize, e: io::Error) -> anyhow::Error {
        send_error(e).context(self.labels[side].to_string())
    }
}

/// A private pipe as large as allowed: (read end, write end, capacity).
pub(super) fn new_pipe() -> Result<(OwnedFd, OwnedFd, usize)> {
    let (r, w) = sys::pipe().map_err(|e| anyhow!(e).context("pipe"))?;
    let cap = sys::set_pipe_size(w.as_fd(), PIPE_SIZE)
        .or_else(|_| sys::pipe_size(w.as_fd()))
        .unwrap_or(64 * 1024);
    Ok((r, w, cap))
}

/// A non-blocking send of the first bytes (never SIGPIPE).
pub(super) trait SendFirst {
    fn send_first(self, buf: &[u8]) -> io::Result<usize>;
}

impl SendFirst for &Socket {
    fn send_first(self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.send_with_flags(buf, libc::MSG_NOSIGNAL) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}
