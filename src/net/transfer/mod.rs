//! `sendfile`'s network side: send a byte range of a file with sendfile(2) (read/write where the kernel
//! has none), half-close and wait until the peer has acknowledged every byte; receive into a file by
//! splice; and the `--verify` exchange of [`crate::net::transfer::verify`] on both sides. Under
//! `--tls` the same steps run on the TLS session ([`wire::Wire`]), through a buffer.
//!
//! `send.rs` is the sending side, `receive.rs` the receiving one; [`wire`] is what both run on.

pub(crate) mod dest;
mod receive;
mod send;
pub(crate) mod staged;
pub(crate) mod verify;
pub(crate) mod watchdog;
pub(crate) mod wire;

use std::time::Duration;

pub(crate) use receive::{Out, answer, receive_plain, receive_verified};
pub(crate) use send::send;

/// Without `-i`, how long a `--verify` sender waits for the receiver's answer once nothing moves
/// any more (every byte acknowledged, or the receiver no longer reading).
pub(crate) const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// Bytes per sendfile call and per buffer on the read/write paths.
const CHUNK: usize = 4 << 20;
const BUF: usize = 256 * 1024;

/// A part of a file: `count` bytes from `offset`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub offset: u64,
    pub count: u64,
}
