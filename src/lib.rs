//! sockcat: the BSD socket API on the command line.
//!
//! `main.rs` parses the command line and calls [`run`]; each subcommand is a thin module in [`cmd`] over
//! the shared socket core in [`net`].

// Every stderr line goes through `diag!`: eprintln! panics on a closed stderr.
#![deny(clippy::print_stderr)]

/// `eprintln!` that survives a closed stderr: see [`exit::diag_line`].
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::exit::diag_line(format_args!($($arg)*))
    };
}
pub(crate) use diag;

pub mod cli;
pub(crate) mod cmd;
pub mod exit;
#[doc(hidden)]
pub mod fuzz;
pub mod generate;
pub(crate) mod net;
pub(crate) mod progress;
pub(crate) mod stdio;
pub(crate) mod sys;

/// Runs one parsed command line.
/// What the Rust runtime would do before `main`, for a binary that starts without it (see
/// [`sys::process::start`]).
pub fn start_process() {
    sys::process::start();
}

pub fn run(cli: cli::Cli) -> anyhow::Result<()> {
    cmd::dispatch(cli.command)
}
