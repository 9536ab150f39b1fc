//! Streams: what can be joined (stdio, TCP and Unix sockets, child processes) and the one relay that
//! joins two of them with the end-of-stream rules of the contract. A new kind of stream (TLS, a
//! proxied connection) is a new module here.

pub(crate) mod hexdump;
pub(crate) mod relay;
pub(crate) mod zerocopy;
