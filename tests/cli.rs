//! The one integration-test crate: every test runs the real sockcat binary against real sockets on
//! loopback. Each subcommand has its own module; `common` holds the harness.

mod common;

mod basics;
mod relay;
mod sendfile;
