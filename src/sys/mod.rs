//! The one module that calls the C library directly. Everything else in sockcat is safe Rust over std and
//! socket2; what they do not offer (the services database, poll, zero-copy calls) is wrapped here, each
//! `unsafe` block with a `// SAFETY:` comment saying why it holds.
#![allow(unsafe_code)]

pub mod fs;
pub mod inet;
pub mod math;
pub mod mmsg;
pub mod netdb;
pub mod poll;
pub mod process;
pub mod resolver;
pub mod signal;
pub mod sockopt;
pub mod zerocopy;
