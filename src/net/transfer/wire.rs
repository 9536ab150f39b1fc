//! What a transfer runs on: the connected socket itself, whose bytes are the file's (so sendfile(2),
//! splice and the in-place hashing apply), or a TLS session over it (`sendfile --tls`), whose bytes
//! on the socket are ciphertext: those go through a buffer. Either way the socket is there for what
//! only the kernel knows (bytes not yet acknowledged, the `-i` watchdog, read timeouts).

use std::io::{self, Read, Write};
use std::net::Shutdown;

use socket2::Socket;

use crate::net::stream::tls::{TlsReader, TlsStream, TlsWriter};

/// A transfer's connection.
pub(crate) enum Wire {
    Plain(Socket),
    Tls {
        reader: TlsReader,
        writer: TlsWriter,
    },
}

impl Wire {
    /// A TLS session, in its two halves.
    pub(crate) fn tls(stream: TlsStream) -> Wire {
        let (reader, writer) = stream.split();
        Wire::Tls { reader, writer }
    }

    /// The socket under the stream.
    pub(crate) fn socket(&self) -> &Socket {
        match self {
            Wire::Plain(sock) => sock,
            Wire::Tls { writer, .. } => writer.socket(),
        }
    }

    /// The socket when its bytes are the transfer's own (the zero-copy paths); None under TLS.
    pub(crate) fn plain(&self) -> Option<&Socket> {
        match self {
            Wire::Plain(sock) => Some(sock),
            Wire::Tls { .. } => None,
        }
    }

    /// The end of what we send: FIN (after close_notify under TLS).
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        match self {
            Wire::Plain(sock) => sock.shutdown(Shutdown::Write),
            Wire::Tls { writer, .. } => writer.finish(),
        }
    }

    /// Under TLS, did the peer close TCP without close_notify (a truncation nobody vouched for)?
    pub(crate) fn unclean_eof(&self) -> bool {
        match self {
            Wire::Plain(_) => false,
            Wire::Tls { reader, .. } => reader.unclean_eof(),
        }
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(sock) => (&*sock).read(buf),
            Wire::Tls { reader, .. } => Read::read(reader, buf),
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(sock) => (&*sock).write(buf),
            Wire::Tls { writer, .. } => Write::write(writer, buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
