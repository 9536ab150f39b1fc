//! One thin module per subcommand, and the one dispatch match.

mod byteorder;
mod connect;
mod generate;
mod listen;
mod resolve;
mod sockopt;

use crate::cli::Command;

/// Runs a subcommand.
pub fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Listen(args) => listen::run(&args),
        Command::Connect(args) => connect::run(&args),
        Command::Resolve(args) => resolve::run(&args),
        Command::Sockopt(args) => sockopt::run(&args),
        Command::Byteorder(args) => byteorder::run(&args),
        Command::Generate(args) => generate::run(&args),
    }
}
