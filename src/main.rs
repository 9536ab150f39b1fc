//! The sockcat binary: parse, run, print the error once, exit with its status. It starts without the
//! Rust runtime's own start-up (src/startup.rs: its C `main` calls [`sockcat_main`]).

#![cfg_attr(all(not(test), not(sockcat_no_startup_shims)), no_main)]

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};
use sockcat::{cli::Cli, exit};

// The binary's own start-up shim (a C `pow` that keeps libm.so.6 out); see the file.
#[allow(unsafe_code)]
mod startup;

/// With the start-up shims left out (`SOCKCAT_STARTUP_SHIMS=0`), the Rust runtime's own `main`.
#[cfg(sockcat_no_startup_shims)]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(sockcat_main())
}

/// Parses, runs, and gives the exit status.
#[cfg_attr(test, allow(dead_code))]
fn sockcat_main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let result = sockcat::run(cli);
    // A signal being handled ends the process by that signal, not with this result.
    exit::await_signal_end();
    match result {
        Ok(()) => exit::OK,
        Err(err) => exit::report(&err),
    }
}

/// Help and version go to stdout with status 0; a usage error is one line on stderr with status 2.
fn usage_error(err: clap::Error) -> u8 {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                exit::USAGE
            } else {
                exit::OK
            }
        }
        _ => {
            exit::diag_line(format_args!("sockcat: error: {}", usage_line(&err)));
            exit::USAGE
        }
    }
}

/// The one line a usage error prints: clap's message, its tips (`a similar subcommand exists:
/// 'listen'`), the sockcat form of a netcat habit, and the help to read (the subcommand's own).
fn usage_line(err: &clap::Error) -> String {
    // clap's first paragraph is the message (sometimes over several lines: the missing arguments);
    // its tips follow as `tip: ...` lines; the usage after them is for --help.
    let text = err.render().to_string();
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let message = one_line(text.split("\n\n").next().unwrap_or("invalid usage"));
    let mut line = message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_string();
    let subcommand = subcommand_in_args();
    let hint = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) if err.kind() == ErrorKind::UnknownArgument => {
            netcat_hint(arg, subcommand.as_deref())
        }
        _ => None,
    };
    match hint {
        Some(hint) => line.push_str(&format!("; {hint}")),
        None => {
            for tip in text.lines().filter_map(|l| l.trim().strip_prefix("tip: ")) {
                line.push_str(&format!("; {}", one_line(tip)));
            }
        }
    }
    match subcommand {
        Some(sub) => line.push_str(&format!(" (see 'sockcat {sub} --help')")),
        None => line.push_str(" (see 'sockcat --help')"),
    }
    line
}

/// The subcommand named on the command line, if the first argument is one.
fn subcommand_in_args() -> Option<String> {
    let first = std::env::args().nth(1)?;
    let cmd = Cli::command();
    cmd.get_subcommands()
        .find(|s| s.get_name() == first)
        .map(|s| s.get_name().to_string())
}

/// What a netcat user typing an nc flag should type instead.
fn netcat_hint(arg: &str, subcommand: Option<&str>) -> Option<String> {
    let connecting = matches!(subcommand, Some("connect") | Some("sendfile"));
    Some(match arg {
        "-l" | "--listen" if subcommand == Some("listen") => {
            "not needed: listen already listens (sockcat listen [ADDR] PORT)".to_string()
        }
        "-l" | "--listen" => {
            "netcat's -l is a subcommand here: sockcat listen [ADDR] PORT".to_string()
        }
        "-p" | "--port" if connecting => {
            "the port is an argument after the host (sockcat connect HOST PORT); \
             netcat's -p (the local port) is --source-port"
                .to_string()
        }
        "-p" | "--port" => {
            "the port is an argument, not an option: sockcat listen [ADDR] PORT".to_string()
        }
        "-u" | "--udp" => {
            "UDP has its own subcommands: sockcat udp-send HOST PORT, sockcat udp-recv [ADDR] PORT"
                .to_string()
        }
        "-N" | "-q" => "not needed: sockcat half-closes (sends FIN) when stdin ends, and \
                        --close-on-eof closes both ways at once"
            .to_string(),
        "-n" => "not needed: an address literal is never looked up in DNS".to_string(),
        "-U" => "a Unix-domain socket is --unix PATH".to_string(),
        _ => return None,
    })
}
