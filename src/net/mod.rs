//! The shared socket core: every subcommand's network calls live here, never in `cmd/`.

pub mod addr;
pub mod connect;
pub mod hexdump;
pub mod probe;
pub mod relay;
pub mod socket;
pub mod transfer;
pub mod verify;
pub mod zerocopy;
