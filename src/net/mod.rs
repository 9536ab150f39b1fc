//! The shared socket core: every subcommand's network calls live here, never in `cmd/`, and nothing here
//! knows the command line (`cmd/` converts its options into the types below).
//!
//! - [`parse`], [`addr`]: user input that names things (ports, durations, sizes, CIDRs; endpoints,
//!   families, resolution).
//! - [`socket`]: socket2 builders (listeners, reuse options, accept with a deadline, Unix paths).
//! - [`connect`], [`probe`]: opening a stream (Happy Eyeballs, wait-for, `-z`).
//! - [`stream`]: the endpoint kinds and the one relay that joins two of them.
//! - [`server`]: `listen`'s accept loop and its uses of the relay (exec, echo, broker, ACL).
//! - [`udp`], [`transfer`]: datagrams; `sendfile` and its `--verify` framing.
//! - [`events`]: `--events FILE`, a server's sessions as JSON lines.
//! - [`sockopt`], [`resolve`], [`byteorder`]: the option table, the resolver, conversions.

pub(crate) mod activation;
pub(crate) mod addr;
pub(crate) mod byteorder;
pub(crate) mod connect;
pub(crate) mod events;
pub(crate) mod parse;
pub(crate) mod probe;
pub(crate) mod proxy_protocol;
pub(crate) mod resolve;
pub(crate) mod server;
pub(crate) mod socket;
pub(crate) mod sockopt;
pub(crate) mod stream;
pub(crate) mod transfer;
pub(crate) mod udp;
pub(crate) mod unix;
