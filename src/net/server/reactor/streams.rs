//! The loop's clients in echo, `-k` relay and broker modes: non-blocking reads and writes, each
//! client's bounded queue, the broadcast of stdin and broker traffic, and the output.

use std::rc::Rc;

use crate::net::server::Mode;
use crate::net::server::conn::{Close, Conn, Kind, QUEUE_CAP, QUEUE_HIGH};
use crate::net::server::hub::Fed;
use crate::net::stream::hexdump::Direction;

use super::{Loop, READS_PER_TURN};

impl Loop {
    // ---- reading and writing ----

    pub(super) fn sock_event(&mut self, slot: usize, readable: bool, writable: bool) {
        let Some(conn) = self.conn(slot) else { return };
        match conn.kind {
            Kind::Linger { .. } => return self.drain_linger(slot),
            Kind::Exec(_) => return,
            Kind::Stream => {}
        }
        if readable && !conn.read_done && !conn.readable {
            conn.readable = true;
            self.ready.push(slot);
        }
        if writable {
            self.flushed(slot);
        }
    }

    /// Sends what is queued for `slot`, then whatever follows an empty queue (FIN, close).
    pub(super) fn flushed(&mut self, slot: usize) {
        let Some(conn) = self.conn(slot) else { return };
        if let Err(e) = conn.flush() {
            return self.close(slot, Close::from_io(e));
        }
        if conn.queued > 0 {
            return;
        }
        if conn.close_after_flush {
            return self.close(slot, Close::Eof);
        }
        if conn.fin_after_flush && !conn.fin_sent {
            let _ = conn.sock.shutdown(std::net::Shutdown::Write);
            conn.fin_sent = true;
            if conn.read_done {
                self.close(slot, Close::Eof);
            }
        }
    }

    /// Is reading `slot` held back (its bytes have nowhere to go yet)?
    pub(super) fn paused(&self, slot: usize) -> bool {
        let Some(conn) = self.conns.get(slot).and_then(Option::as_ref) else {
            return false;
        };
        match self.mode {
            Mode::Echo => conn.queued > 0,
            Mode::Relay => self.out_full,
            Mode::Broker => {
                self.out_full || (!self.cfg.relay.send_only && !self.room_beside(Some(slot)))
            }
            // Never registered with the loop (a thread per client).
            Mode::Exec(_) | Mode::Forward(_) | Mode::ProxyServer(_) => false,
        }
    }

    /// Does stdin (or, in a broker, a client's bytes) have a taker: a client other than `skip` that
    /// wants them and has room? With no such client at all there is room (the bytes go nowhere).
    pub(super) fn room_beside(&self, skip: Option<usize>) -> bool {
        let mut any = false;
        for (slot, conn) in self.recipients() {
            if Some(slot) == skip {
                continue;
            }
            any = true;
            if conn.queued < QUEUE_HIGH {
                return true;
            }
        }
        !any
    }

    /// Does this mode send stdin / broker traffic to clients?
    pub(super) fn recipients_wanted(&self) -> bool {
        matches!(self.mode, Mode::Relay | Mode::Broker) && !self.cfg.relay.recv_only
    }

    /// The clients that get stdin and broker traffic.
    pub(super) fn recipients(&self) -> impl Iterator<Item = (usize, &Conn)> {
        let wanted = self.recipients_wanted();
        self.conns
            .iter()
            .enumerate()
            .filter(move |_| wanted)
            .filter_map(|(slot, c)| c.as_ref().map(|c| (slot, c)))
            .filter(|(_, c)| {
                matches!(c.kind, Kind::Stream)
                    && !c.close_after_flush
                    && !c.fin_after_flush
                    && !c.fin_sent
            })
    }

    pub(super) fn serve_ready(&mut self) {
        let ready = std::mem::take(&mut self.ready);
        let mut keep = Vec::new();
        for slot in ready {
            if self.paused(slot) {
                keep.push(slot);
                continue;
            }
            self.read_turn(slot);
            if let Some(conn) = self.conn(slot)
                && conn.readable
                && !conn.read_done
            {
                keep.push(slot);
            } else if let Some(conn) = self.conn(slot) {
                conn.readable = false;
            }
        }
        // Slots added while serving (none today) stay too.
        keep.append(&mut self.ready);
        self.ready = keep;
    }

    pub(super) fn read_turn(&mut self, slot: usize) {
        let mut buf = std::mem::take(&mut self.scratch);
        for _ in 0..READS_PER_TURN {
            if self.paused(slot) {
                break;
            }
            let Some(conn) = self.conn(slot) else { break };
            match conn.read(&mut buf) {
                Ok(None) => break,
                Ok(Some(0)) => {
                    self.ended_sending(slot);
                    break;
                }
                Ok(Some(n)) => self.received(slot, &buf[..n]),
                Err(e) => {
                    self.close(slot, Close::from_io(e));
                    break;
                }
            }
        }
        self.scratch = buf;
    }

    /// `--hexdump` of bytes that went `dir` on the client in `slot`.
    fn dump_for(&self, slot: usize, dir: Direction, data: &[u8]) {
        if let Some(dump) = &self.dump
            && let Some(Some(c)) = self.conns.get(slot)
        {
            dump.dump_conn(c.id, c.started, dir, data);
        }
    }

    /// A client's bytes, by the mode.
    pub(super) fn received(&mut self, slot: usize, data: &[u8]) {
        self.dump_for(slot, Direction::Received, data);
        match self.mode {
            Mode::Echo => {
                self.dump_for(slot, Direction::Sent, data);
                let Some(conn) = self.conn(slot) else { return };
                match conn.send_now(data) {
                    Ok(n) if n == data.len() => {}
                    Ok(n) => conn.enqueue(Rc::from(&data[n..]), 0),
                    Err(e) => self.close(slot, Close::from_io(e)),
                }
            }
            Mode::Relay | Mode::Broker => {
                if self.cfg.relay.send_only {
                    return; // --send-only: what arrives is read and dropped
                }
                if matches!(self.mode, Mode::Broker) {
                    self.broadcast(Rc::from(data), Some(slot));
                }
                if let Some(sink) = &mut self.sink {
                    match sink.push(data) {
                        Ok(room) => self.out_full = !room,
                        Err(e) => self.finish(Err(e)),
                    }
                }
            }
            Mode::Exec(_) | Mode::Forward(_) | Mode::ProxyServer(_) => {}
        }
    }

    /// Sends a chunk to every recipient but `skip`; one that falls [`QUEUE_CAP`] behind is dropped.
    pub(super) fn broadcast(&mut self, chunk: Rc<[u8]>, skip: Option<usize>) {
        let targets: Vec<usize> = self
            .recipients()
            .map(|(slot, _)| slot)
            .filter(|s| Some(*s) != skip)
            .collect();
        for slot in targets {
            let Some(conn) = self.conn(slot) else {
                continue;
            };
            let sent = match conn.send_now(&chunk) {
                Ok(n) => n,
                Err(e) => {
                    self.close(slot, Close::from_io(e));
                    continue;
                }
            };
            if sent < chunk.len() {
                conn.enqueue(chunk.clone(), sent);
                if conn.queued > QUEUE_CAP {
                    let behind = conn.queued;
                    self.close(slot, Close::Behind(behind));
                }
            }
        }
    }

    /// The client ended its sending side.
    pub(super) fn ended_sending(&mut self, slot: usize) {
        let Some(conn) = self.conn(slot) else { return };
        conn.read_done = true;
        conn.readable = false;
        // Echo: FIN once its echo is out. -k relay and broker: as ncat -k does, a client that ends
        // its side is done: what was queued for it goes out, then it is closed (and frees its slot).
        // If stdin already ended and its FIN went out, both directions are over.
        conn.close_after_flush = true;
        self.flushed(slot);
    }

    // ---- stdin, output, the single relay ----

    pub(super) fn woken(&mut self) {
        let handed: Vec<_> = self
            .inbox
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default();
        for (sock, who, id) in handed {
            self.start(sock, who, id);
        }
        let single = self
            .single_result
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(r) = single {
            self.finish(r);
        }
        if let Some(sink) = &self.sink {
            let failed = sink.failed();
            if self.out_full {
                self.out_full = !sink.has_room();
            }
            if let Some(e) = failed {
                self.finish(Err(e));
            }
        }
        if self.held.is_none()
            && let Some(feed) = &self.feed
        {
            self.held = feed.take();
        }
    }

    /// Hands a chunk of stdin to the clients, and asks for the next one while someone has room.
    pub(super) fn update_feed(&mut self) {
        if self.feed.is_none() && self.held.is_none() {
            return;
        }
        if self.held.is_some() && self.recipients().next().is_some() {
            match self.held.take() {
                Some(Fed::Data(data)) => {
                    if let Some(dump) = &self.dump {
                        if dump.per_connection() {
                            // Stamped per connection: each recipient's copy in its own lines.
                            for (_, c) in self.recipients() {
                                dump.dump_conn(c.id, c.started, Direction::Sent, &data);
                            }
                        } else {
                            dump.dump(Direction::Sent, &data);
                        }
                    }
                    self.broadcast(Rc::from(data), None);
                }
                Some(Fed::End) => self.stdin_ended(),
                None => {}
            }
        }
        let Some(feed) = &self.feed else { return };
        let wanted = !self.stdin_over
            && self.held.is_none()
            && self.recipients().next().is_some()
            && self.room_beside(None);
        feed.want(wanted);
    }

    pub(super) fn stdin_ended(&mut self) {
        self.stdin_over = true;
        self.feed = None;
        if !matches!(self.mode, Mode::Relay) || self.cfg.relay.no_shutdown {
            return;
        }
        let slots: Vec<usize> = self.recipients().map(|(s, _)| s).collect();
        for slot in slots {
            if let Some(conn) = self.conn(slot) {
                conn.fin_after_flush = true;
            }
            self.flushed(slot);
        }
    }
}
