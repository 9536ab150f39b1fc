//! The command line, as clap types only: no logic lives here.
//!
//! Option groups shared by several subcommands are flattened structs, so a flag is spelled the same
//! wherever it applies.

use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand};

mod connect;
mod listen;
mod options;
mod sendfile;
mod tools;
mod udp;

pub use connect::ConnectArgs;
pub use listen::ListenArgs;
pub use options::{
    FamilyOpts, ProxyOpts, RelayOpts, ServeOpts, SessionSockopts, TlsClientOpts, TlsServerOpts,
};
pub use sendfile::{SendfileArgs, VerifyDigest};
pub use tools::{ByteOp, ByteorderArgs, ResolveArgs, SockoptArgs};
pub use udp::{UdpFormat, UdpRecvArgs, UdpSendArgs};

const AFTER_HELP: &str = "\
Exit status: 0 success, 1 runtime failure (refused, reset, not found, I/O error),
2 usage error or invalid input, 3 a timeout expired.";

/// The BSD socket API on the command line.
#[derive(Debug, Parser)]
#[command(name = "sockcat", version, about, long_about = None, after_help = AFTER_HELP)]
#[command(after_long_help = SOCKCAT_EXAMPLES)]
#[command(propagate_version = true, disable_help_subcommand = false)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Accept TCP (or Unix) connections and relay them to stdin/stdout
    Listen(Deferred<ListenArgs>),
    /// Open a TCP (or Unix) connection and relay it to stdin/stdout; probe ports; wait for a service
    Connect(Deferred<ConnectArgs>),
    /// Look up names, addresses, services and protocols with the C library's resolver
    Resolve(Deferred<ResolveArgs>),
    /// Show and set socket options on a fresh socket or a live connection
    Sockopt(Deferred<SockoptArgs>),
    /// Byte-order and address conversions (htons, inet_aton, inet_pton...)
    Byteorder(Deferred<ByteorderArgs>),
    /// Write shell completions or man pages (for packagers)
    #[command(hide = true)]
    Generate(Deferred<GenerateArgs>),
    /// Send datagrams: MESSAGE arguments, or stdin cut by size or by line; print the replies
    UdpSend(Deferred<UdpSendArgs>),
    /// Receive datagrams from any number of senders and print them (raw, line, hex, JSON lines)
    UdpRecv(Deferred<UdpRecvArgs>),
    /// Send a file over TCP with sendfile(2), or receive one (--receive)
    Sendfile(Deferred<SendfileArgs>),
}

/// A subcommand's arguments, added to its clap command only when they are needed: when that
/// subcommand is the one parsed, or help, completions or man pages ask for the whole tree. A run then
/// builds one subcommand's arguments, not all nine (start-up time; see README, Benchmarks).
#[derive(Debug)]
pub struct Deferred<T>(pub T);

impl<T: Args> Args for Deferred<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(|cmd| keep_about(cmd, T::augment_args))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(|cmd| keep_about(cmd, T::augment_args_for_update))
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

/// Adds arguments late without letting the args struct's own doc comment (which clap also reads as an
/// about) replace the subcommand's, set earlier by the enum variant. (The struct carries the long
/// examples and usage, so that they too are built only for the subcommand run.)
fn keep_about(cmd: clap::Command, augment: fn(clap::Command) -> clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = augment(cmd);
    let cmd = match about {
        Some(about) => cmd.about(about),
        None => cmd.about(None::<&str>),
    };
    match long_about {
        Some(long_about) => cmd.long_about(long_about),
        None => cmd.long_about(None::<&str>),
    }
}

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Deferred)
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T> std::ops::Deref for Deferred<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// `sockcat generate`: the files in completions/ and man/, from this command line.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: GenerateWhat,
}

#[derive(Debug, Subcommand)]
pub enum GenerateWhat {
    /// Print the completion script for SHELL on stdout
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write one man page per command and subcommand into DIR
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

const SOCKCAT_EXAMPLES: &str = "\
Examples:
  sockcat listen -v 9000 > upload.bin              receive one upload on port 9000
  sockcat connect 127.0.0.1 9000 < file.bin        send it; exit 0 once the peer has everything
  sockcat connect -z 127.0.0.1 22,80,8000-8100     which of these ports are open?
  sockcat connect --wait-for 60s -z db 5432        CI: wait until the database is up
  sockcat help listen                              the options and examples of one subcommand
  sockcat generate completions bash > FILE         completions (also zsh, fish, powershell, elvish)
  sockcat generate man DIR                         the man pages (both for packagers)

Exit status: 0 success, 1 runtime failure (refused, reset, not found, I/O error),
2 usage error or invalid input, 3 a timeout expired.";

/// `[ADDR] PORT` as the words given (one when ADDR is left out), for the parser of bind endpoints.
pub(crate) fn bind_words(addr: &Option<String>, port: &Option<String>) -> Vec<String> {
    addr.iter().chain(port).cloned().collect()
}
