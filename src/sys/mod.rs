//! The one module that calls the C library directly. Everything else in sockcat is safe Rust over std and
//! socket2; what they do not offer (the services database, poll, zero-copy calls) is wrapped here, each
//! `unsafe` block with a `// SAFETY:` comment saying why it holds.
#![allow(unsafe_code)]

pub(crate) mod activation;
pub(crate) mod cmsg;
pub(crate) mod fs;
pub(crate) mod heap;
pub(crate) mod inet;
pub(crate) mod mmap;
pub(crate) mod mmsg;
pub(crate) mod netdb;
pub(crate) mod poll;
pub(crate) mod process;
pub(crate) mod pty;
pub(crate) mod recv;
pub(crate) mod resolver;
pub(crate) mod signal;
pub(crate) mod sockopt;
pub(crate) mod stdio;
pub(crate) mod unix_diag;
pub(crate) mod zerocopy;
