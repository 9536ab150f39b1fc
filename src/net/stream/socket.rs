//! A connected TCP or Unix stream socket as an [`Endpoint`]: both halves share the socket; finishing
//! the sink is a half-close (FIN), and stopping it shuts down both ways.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use socket2::Socket;

use crate::net::stream::{Endpoint, Sink, Source, recv_error, send_error};

/// Bytes from the peer; errors named by the label, if any.
pub(crate) struct SocketSource(Arc<Socket>, Option<Arc<str>>);

/// Bytes to the peer; errors named by the label, if any.
pub(crate) struct SocketSink(Arc<Socket>, Option<Arc<str>>);

/// `err` named by `label` (which end of a server's pair failed).
fn named(err: anyhow::Error, label: &Option<Arc<str>>) -> anyhow::Error {
    match label {
        Some(label) => err.context(label.to_string()),
        None => err,
    }
}

impl Endpoint {
    /// A connected stream socket (TCP or Unix).
    pub(crate) fn socket(sock: Socket) -> Endpoint {
        Self::socket_labelled(sock, None)
    }

    /// A connected stream socket whose errors start with `label` (`client`, `to HOST:PORT`): a
    /// server joining two sockets says which one went away.
    pub(crate) fn socket_named(sock: Socket, label: &str) -> Endpoint {
        Self::socket_labelled(sock, Some(label.into()))
    }

    fn socket_labelled(sock: Socket, label: Option<Arc<str>>) -> Endpoint {
        let sock = Arc::new(sock);
        let stop = sock.clone();
        Endpoint::new(
            Box::new(SocketSource(sock.clone(), label.clone())),
            Box::new(SocketSink(sock, label)),
            Some(Arc::new(move || {
                let _ = stop.shutdown(Shutdown::Both);
            })),
        )
    }
}

impl Source for SocketSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.0.as_fd())
    }
    fn read_error(&self, err: io::Error) -> anyhow::Error {
        named(recv_error(err), &self.1)
    }
}

impl Sink for SocketSink {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self.0).write_all(buf)
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.0.as_fd())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Write)
    }
    fn write_error(&self, err: io::Error) -> anyhow::Error {
        named(send_error(err), &self.1)
    }
}
