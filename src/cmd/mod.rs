//! One thin module per subcommand, and the one dispatch match.

mod byteorder;
mod connect;
mod generate;
mod listen;
mod resolve;
mod sendfile;
mod sockopt;
mod udp_recv;
mod udp_send;

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
        Command::UdpSend(args) => udp_send::run(&args),
        Command::UdpRecv(args) => udp_recv::run(&args),
        Command::Sendfile(args) => sendfile::run(&args),
    }
}
