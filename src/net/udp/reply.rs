//! `udp-recv --reply`: stdin goes to the most recent sender, as `nc -u -l` does, so two terminals can
//! talk over UDP. A thread reads stdin (a line per read from a terminal) and sends each read as one
//! datagram from the receiving socket (so the sender sees the reply come from the port it sent to).
//! What is read before anyone has sent waits for the first sender.

use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};

use socket2::{SockAddr, Socket};

use crate::sys::mmsg::{self, Dest, Local, Source};

/// The most recent sender and the local address it sent to, shared by the receiving loop and the
/// stdin thread.
#[derive(Default)]
pub(crate) struct LastSender {
    addr: Mutex<Option<(SockAddr, Option<Local>)>>,
    known: Condvar,
}

impl LastSender {
    pub(crate) fn set(&self, addr: SockAddr, local: Option<Local>) {
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = Some((addr, local));
        self.known.notify_all();
    }

    fn wait(&self) -> (SockAddr, Option<Local>) {
        let mut guard = self.addr.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(a) = guard.as_ref() {
                return a.clone();
            }
            guard = self.known.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Starts the thread that sends stdin, `max` bytes per datagram at most, to the most recent sender.
/// UDP is lossy both ways: a datagram that cannot be sent is dropped. It ends at stdin's end.
pub(crate) fn spawn_stdin_sender(sock: Socket, last: Arc<LastSender>, max: usize) {
    std::thread::spawn(move || {
        let Some(input) = crate::stdio::Input::stdin() else {
            return;
        };
        let mut stdin = input.file;
        let mut buf = vec![0u8; max.max(1)];
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let (to, local) = last.wait();
            let src = local.map_or(Source::Default, Source::All);
            let _ = mmsg::send_batch_from(&sock, &[&buf[..n]], Dest::All(&to), src, false);
        }
    });
}
