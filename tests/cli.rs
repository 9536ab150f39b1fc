//! The one integration-test crate: every test runs the real sockcat binary against real sockets on
//! loopback. Each subcommand has its own module; `common` holds the harness.

mod common;
mod oracle;

mod acl_names;
mod bad_input;
mod basics;
mod byteorder;
mod connect;
mod connect_exec;
mod endpoints;
mod eos;
mod events;
mod faults;
mod first_hour;
mod flow;
mod forward;
mod fuzz_regressions;
mod hexdump_file;
mod hostile;
mod interop;
mod listen;
mod local;
mod pair_endings;
mod pairs;
mod props;
mod proxy;
mod proxy_http_reply;
mod proxy_refusals;
mod relay;
mod resolve;
mod review;
mod sendfile;
mod sendfile_verify;
mod server;
mod sockopt;
mod startup;
mod tls;
mod tls_client;
mod tls_discard;
mod tls_forward;
mod tls_sendfile;
mod tls_server;
mod udp;
mod udp_forward;
mod udp_reply_source;
