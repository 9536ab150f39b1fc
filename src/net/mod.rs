//! The shared socket core: every subcommand's network calls live here, never in `cmd/`.

pub mod acl;
pub mod addr;
pub mod byteorder;
pub mod connect;
pub mod exec;
pub mod hexdump;
pub mod pool;
pub mod probe;
pub mod relay;
pub mod resolve;
pub mod server;
pub mod socket;
pub mod sockopt;
pub mod transfer;
pub mod udp;
pub mod verify;
pub mod zerocopy;
