//! sockcat: the BSD socket API on the command line.
//!
//! `main.rs` parses the command line and calls [`run`]; each subcommand is a thin module in [`cmd`] over
//! the shared socket core in [`net`].

pub mod cli;
pub mod cmd;
pub mod exit;
pub mod generate;
pub mod net;
pub mod progress;
pub mod stdio;
pub mod sys;

/// Runs one parsed command line.
pub fn run(cli: cli::Cli) -> anyhow::Result<()> {
    cmd::dispatch(cli.command)
}
