//! sockcat: the BSD socket API on the command line.
//!
//! `main.rs` parses the command line and calls [`run`]; each subcommand is a thin module in [`cmd`] over
//! the shared socket core in [`net`].

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
pub fn run(cli: cli::Cli) -> anyhow::Result<()> {
    cmd::dispatch(cli.command)
}
