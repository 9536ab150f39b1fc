//! A client served by the loop itself: [`Loop::start`] gives it a slot and registers its socket (or
//! its child's pidfd) for readiness; [`Loop::close`] deregisters it, frees the slot and says why it
//! ended (the `-v` line and the `close` event).

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

use anyhow::anyhow;
use mio::Interest;
use mio::unix::SourceFd;
use socket2::Socket;

use crate::exit;
use crate::net::server::Mode;
use crate::net::server::conn::{Close, Conn, Kind};
use crate::net::server::exec;

use super::blocking::tcp_bytes;
use super::{Loop, child_token, sock_token};

/// A slot table larger than this is dropped once its last client has left (and the heap given back):
/// after a crowd, the server returns to the memory it had before it.
const SLOTS_KEPT: usize = 64;

impl Loop {
    /// Serves an admitted client in this loop: registers it (and its child) for readiness.
    pub(super) fn start(&mut self, sock: Socket, who: String, id: u64) {
        let kind = match &self.mode {
            Mode::Exec(spec) => {
                match exec::spawn(
                    spec,
                    &sock,
                    self.cfg.relay.send_only,
                    self.cfg.relay.recv_only,
                ) {
                    Ok(running) => Kind::Exec(running),
                    Err(e) => {
                        self.log(|| format!("{who}: {}", exit::render(&e)));
                        self.in_use.fetch_sub(1, Ordering::SeqCst);
                        if !self.cfg.keep_open {
                            self.finish(Err(e));
                        }
                        return;
                    }
                }
            }
            _ => {
                if let Err(e) = sock.set_nonblocking(true) {
                    self.log(|| format!("{who}: {e}"));
                    self.in_use.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
                Kind::Stream
            }
        };
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        let fd = sock.as_raw_fd();
        let mut conn = Conn::new(id, sock, who, kind);
        let registered = match &conn.kind {
            Kind::Exec(running) => match &running.pidfd {
                Some(pidfd) => self.poll.registry().register(
                    &mut SourceFd(&pidfd.as_raw_fd()),
                    child_token(slot),
                    Interest::READABLE,
                ),
                None => Ok(()),
            },
            _ => self.poll.registry().register(
                &mut SourceFd(&fd),
                sock_token(slot),
                Interest::READABLE | Interest::WRITABLE,
            ),
        };
        if let Err(e) = registered {
            let who = conn.who.clone();
            self.log(|| format!("{who}: epoll: {e}"));
            if let Kind::Exec(r) = &conn.kind {
                r.kill();
            }
            self.free.push(slot);
            self.in_use.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        if matches!(self.mode, Mode::Relay) && self.stdin_over && self.recipients_wanted() {
            // stdin is over: FIN at once (unless --no-shutdown).
            if !self.cfg.relay.no_shutdown {
                let _ = conn.sock.shutdown(std::net::Shutdown::Write);
                conn.fin_sent = true;
            }
        }
        conn.readable = false;
        self.conns[slot] = Some(conn);
        self.active += 1;
        self.arm_tick();
        if let Mode::Exec(_) = self.mode {
            // The child may have exited before its pidfd was registered: look now.
            self.child_event(slot);
        }
    }

    /// Ends a connection: deregisters and closes it, frees its slot, says why.
    pub(super) fn close(&mut self, slot: usize, why: Close) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self
            .poll
            .registry()
            .deregister(&mut SourceFd(&conn.sock.as_raw_fd()));
        if let Kind::Exec(r) = &conn.kind
            && let Some(pidfd) = &r.pidfd
        {
            let _ = self
                .poll
                .registry()
                .deregister(&mut SourceFd(&pidfd.as_raw_fd()));
        }
        self.free.push(slot);
        self.active -= 1;
        self.in_use.fetch_sub(1, Ordering::SeqCst);
        if let Some(dump) = &self.dump {
            dump.forget(conn.id);
        }
        let why = self.unbridge(conn.id, why);
        // A one-client server's failure is its error line at exit: not said twice.
        let final_error =
            !self.cfg.keep_open && matches!(why, Close::Error(_) | Close::Reset | Close::Idle);
        if let Some(msg) = why.message()
            && !final_error
        {
            let who = &conn.who;
            self.log(|| format!("{who}: {msg}"));
        }
        if let Some(ev) = &self.cfg.events {
            // A child reads and writes the socket itself: its counts come from TCP_INFO.
            let (i, o) = match conn.kind {
                Kind::Stream => (conn.bytes_in, conn.bytes_out),
                _ => tcp_bytes(&conn.sock),
            };
            ev.close_session(conn.id, i, o, &why.reason());
        }
        drop(conn);
        if self.active == 0 {
            self.forget_slots();
        }
        if !self.cfg.keep_open {
            self.finish(match why {
                Close::Eof => Ok(()),
                Close::Reset => Err(anyhow!("connection reset by peer")),
                Close::Idle => Err(exit::timeout("idle timeout: closed")),
                Close::Behind(_) => Ok(()),
                Close::Error(e) => Err(e),
            });
        }
    }

    /// With no client left: forgets a slot table grown by a crowd (its capacity would stay for
    /// ever) and gives the freed heap back.
    fn forget_slots(&mut self) {
        if self.conns.len() <= SLOTS_KEPT {
            return;
        }
        self.conns = Vec::new();
        self.free = Vec::new();
        self.ready = Vec::new();
        crate::sys::heap::give_back();
    }
}
