//! TLS as one more kind of stream: a rustls session over a connected TCP or Unix socket, in blocking
//! mode, split in two halves that move to the relay's two threads.
//!
//! Both directions run at once. The rustls connection sits behind a mutex that is held only to
//! encrypt or decrypt, never across a socket call: the reading half reads ciphertext from the socket
//! without the lock and decrypts it under the lock; the writing half encrypts into a buffer under the
//! lock and writes that buffer out without it. A second lock, `order`, is held by whoever writes
//! ciphertext to the socket, so records leave in the order rustls numbered them (the reading half
//! only writes when rustls has something to answer, and never waits for that lock).
//!
//! End of stream: [`TlsWriter::finish`] sends close_notify, then shuts down the socket's sending
//! side; [`TlsReader::read`] returns 0 at the peer's close_notify. A peer that closes TCP without
//! close_notify also ends the stream (everything before it was delivered), and
//! [`TlsReader::unclean_eof`] says so, for `-v` (README: status 0, as ncat and socat).
//!
//! `handshake.rs` runs a handshake and says what it agreed on, `client.rs` and `server.rs` are the
//! two sides' configurations, `session.rs` is the established session and its two halves, and
//! `looped.rs` a session that a server's epoll loop drives instead (no thread, no lock).

pub(crate) mod cert;
mod client;
pub(crate) mod config;
mod handshake;
mod looped;
pub(crate) mod served;
mod server;
mod session;
pub(crate) mod verify;

use std::time::Duration;

pub(crate) use client::Client;
pub(crate) use config::{ClientOpts, Identity, ServerOpts};
pub(crate) use handshake::Summary;
pub(crate) use looped::{Looped, Received};
pub(crate) use server::{Accepting, Server};
pub(crate) use session::{TlsReader, TlsStream, TlsWriter};

/// How long a server's client has for its handshake when `-i` does not say (`listen -k --tls`, where
/// a silent client must not hold its thread for ever).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Ciphertext read from the socket per call, and the plaintext rustls may hold to be sent.
const BUF: usize = 256 * 1024;
