//! The loop's `-e`/`-c` connections: a child per client, waited for through its pidfd; then the
//! linger that lets the client take the child's last output; `-i` from the kernel's counters.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use mio::Interest;
use mio::unix::SourceFd;
use socket2::Socket;

use crate::net::server::Mode;
use crate::net::server::conn::{Close, Kind};
use crate::net::server::exec::{ExecSpec, LINGER};

use super::{Loop, sock_token};

impl Loop {
    // ---- children ----

    pub(super) fn child_event(&mut self, slot: usize) {
        let spec: ExecSpec = match &self.mode {
            Mode::Exec(spec) => spec.clone(),
            _ => return,
        };
        let Some(conn) = self.conn(slot) else { return };
        let Kind::Exec(running) = &mut conn.kind else {
            return;
        };
        let Some(result) = running.exited(&spec) else {
            return;
        };
        if let Some(pidfd) = running.pidfd.take() {
            let _ = self
                .poll
                .registry()
                .deregister(&mut SourceFd(&pidfd.as_raw_fd()));
        }
        let Some(conn) = self.conn(slot) else { return };
        let idle_ended = matches!(&conn.kind, Kind::Exec(r) if r.term_sent.is_some());
        conn.outcome = result.err();
        if idle_ended {
            return self.close(slot, Close::Idle);
        }
        // The child's output is in the socket's send queue: FIN after it, then let the client finish
        // (closing with its bytes unread would reset the connection and could cost it that output).
        let _ = conn.sock.shutdown(std::net::Shutdown::Write);
        conn.kind = Kind::Linger {
            until: Instant::now() + LINGER,
        };
        let fd: RawFd = conn.sock.as_raw_fd();
        if self
            .poll
            .registry()
            .register(&mut SourceFd(&fd), sock_token(slot), Interest::READABLE)
            .is_err()
        {
            return self.close_exec(slot);
        }
        self.arm_tick();
        self.drain_linger(slot);
    }

    /// Reads and drops what the client still sends after its child is done, until it closes.
    pub(super) fn drain_linger(&mut self, slot: usize) {
        let mut sink = [std::mem::MaybeUninit::<u8>::uninit(); 16 * 1024];
        let over = loop {
            let Some(conn) = self.conn(slot) else {
                break false;
            };
            // MSG_DONTWAIT: the socket itself stays blocking, since a grandchild may still share it.
            match conn.sock.recv_with_flags(&mut sink, libc::MSG_DONTWAIT) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break true,
            }
        };
        if over {
            self.close_exec(slot);
        }
    }

    /// Closes an exec connection with its child's outcome.
    pub(super) fn close_exec(&mut self, slot: usize) {
        let Some(conn) = self.conn(slot) else { return };
        let why = match conn.outcome.take() {
            Some(e) => Close::Error(e),
            None => Close::Eof,
        };
        self.close(slot, why);
    }
}

/// How long no byte has moved on an `-e`/`-c` connection, from the kernel's own counters (TCP_INFO:
/// the last data sent and received), since the child, not sockcat, reads and writes it. A Unix
/// socket has no such counters: it is never taken for idle.
pub(super) fn exec_idle_for(sock: &Socket, started: Instant, now: Instant) -> Duration {
    use std::os::fd::AsFd;
    let since_start = now.duration_since(started);
    match crate::sys::sockopt::tcp_info(sock.as_fd()) {
        Ok(info) => {
            let ms = u64::from(info.tcpi_last_data_recv.min(info.tcpi_last_data_sent));
            since_start.min(Duration::from_millis(ms))
        }
        Err(_) => Duration::ZERO,
    }
}
