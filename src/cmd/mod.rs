//! One thin module per subcommand, and the one dispatch match.

mod connect;
mod listen;
mod sendfile;

use crate::cli::Command;

/// Runs a subcommand.
pub fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Listen(args) => listen::run(&args),
        Command::Connect(args) => connect::run(&args),
        Command::Sendfile(args) => sendfile::run(&args),
    }
}
