//! The sockcat binary: parse, run, print the error once, exit with its status.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use sockcat::{cli::Cli, exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    match sockcat::run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => exit::report(&err),
    }
}

/// Help and version go to stdout with status 0; a usage error is one line on stderr with status 2.
fn usage_error(err: clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::from(exit::OK)
            }
        }
        _ => {
            // clap's first paragraph is the message (sometimes over several lines: the missing
            // arguments); the usage and tips after it are for --help.
            let text = err.render().to_string();
            let message = text.split("\n\n").next().unwrap_or("invalid usage");
            let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
            let first = message.strip_prefix("error: ").unwrap_or(&message);
            exit::diag_line(format_args!(
                "sockcat: error: {first} (see 'sockcat --help')"
            ));
            ExitCode::from(exit::USAGE)
        }
    }
}
