//! The command line, as clap types only: no logic lives here.
//!
//! Option groups shared by several subcommands are flattened structs, so a flag is spelled the same
//! wherever it applies.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::net::addr::{parse_duration_arg, parse_port_arg};

const AFTER_HELP: &str = "\
Exit status: 0 success, 1 runtime failure (refused, reset, not found, I/O error),
2 usage error or invalid input, 3 a timeout expired.";

/// The BSD socket API on the command line.
#[derive(Debug, Parser)]
#[command(name = "sockcat", version, about, long_about = None, after_help = AFTER_HELP)]
#[command(propagate_version = true, disable_help_subcommand = false)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Accept TCP (or Unix) connections and relay them to stdin/stdout
    #[command(after_long_help = LISTEN_EXAMPLES)]
    Listen(ListenArgs),
    /// Open a TCP (or Unix) connection and relay it to stdin/stdout; probe ports; wait for a service
    #[command(after_long_help = CONNECT_EXAMPLES)]
    Connect(ConnectArgs),
    /// Send a file over TCP with sendfile(2), or receive one (--receive)
    #[command(after_long_help = SENDFILE_EXAMPLES)]
    Sendfile(SendfileArgs),
}

const LISTEN_EXAMPLES: &str = "\
End of stream:
  stdin ends            send FIN, keep receiving until the client closes, exit 0
  the client closes     write out what arrived; exit 0 when stdin is a terminal,
                        otherwise keep sending stdin until it ends, then exit 0
  reset / early close   exit 1 (connection reset by peer / peer closed before all input was sent)

Examples:
  sockcat listen -v 9000 > received.bin        receive one upload on port 9000
  sockcat listen 127.0.0.1 0 -v                 any free port; stderr says which
  sockcat listen --unix /tmp/app.sock           a Unix-domain stream socket
  sockcat listen -w 30s 8080 < reply.txt        give up with status 3 if nobody came in 30 s

Exit status: 0 success, 1 runtime failure, 2 usage error or invalid input, 3 a timeout expired.";

const CONNECT_EXAMPLES: &str = "\
End of stream:
  stdin ends            send FIN, keep receiving until the server closes, exit 0
  the server closes     write out what arrived; exit 0 when stdin is a terminal,
                        otherwise keep sending stdin until it ends, then exit 0
  reset / early close   exit 1 (connection reset by peer / peer closed before all input was sent)
  --close-on-eof        at stdin EOF close both ways and exit 0 at once
  --no-shutdown         at stdin EOF send no FIN (for peers that take it for a full close)

Examples:
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | sockcat connect localhost 80
  sockcat connect localhost:5432 -z              is the port open? (exit 0 if so)
  sockcat connect -z 127.0.0.1 22,80,8000-8100  probe a list of ports
  sockcat connect --wait-for 60s db 5432 -z      CI: wait until the database is up
  sockcat connect [::1]:9000 < file.bin          send a file over IPv6

Exit status: 0 success, 1 runtime failure, 2 usage error or invalid input, 3 a timeout expired.";

const SENDFILE_EXAMPLES: &str = "\
Sending: sendfile(2) from FILE (read/write where there is none), then a half-close; exit 0 once the
receiver's TCP has acknowledged every byte. Any receiver works: `nc -l 9000 > out` too.

Receiving (--receive): accept one connection and write what arrives to -o FILE (stdout by default),
by way of a hidden temporary file that is renamed into place at the end. An existing FILE is kept
unless --force.

--verify (both sides): the sender frames the transfer (file name and size first, SHA-256 last) and the
receiver answers; the file appears only when size and hash match, otherwise both exit 1 and nothing is
left. With -o DIR the file keeps the sender's name (reduced to a plain file name) inside DIR.

Examples:
  sockcat sendfile --receive -v --verify -o downloads/ 9000    receive into downloads/NAME
  sockcat sendfile --verify backup.tar host 9000                send it, checked end to end
  sockcat sendfile --offset 1048576 --count 4096 disk.img host 9000
  sockcat sendfile --receive 9000 > copy.bin                    plain bytes, like nc -l

Exit status: 0 success, 1 runtime failure (refused, reset, hash mismatch), 2 usage error or invalid
input (missing FILE, bad port), 3 a timeout expired.";

/// `-4` / `-6`.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct FamilyOpts {
    /// Use IPv4 only
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 only
    #[arg(short = '6')]
    pub ipv6: bool,
}

/// How the relay between stdin/stdout and the socket behaves.
#[derive(Debug, Clone, Default, Args)]
pub struct RelayOpts {
    /// Only receive: never read stdin, never send
    #[arg(long, conflicts_with = "send_only")]
    pub recv_only: bool,
    /// Only send: read stdin, discard what arrives; the session ends when stdin is sent
    #[arg(long)]
    pub send_only: bool,
    /// At stdin EOF close both ways and exit 0 without waiting for the peer
    #[arg(long, conflicts_with = "no_shutdown")]
    pub close_on_eof: bool,
    /// At stdin EOF send no FIN (for peers that take a half-close for a full close)
    #[arg(long)]
    pub no_shutdown: bool,
    /// Send LF as CRLF (existing CRLF kept; received bytes untouched)
    #[arg(long)]
    pub crlf: bool,
    /// Hex dump of the traffic on stderr (`>` sent, `<` received)
    #[arg(long)]
    pub hexdump: bool,
    /// Close the connection after DUR without a byte in either direction (status 3)
    #[arg(short = 'i', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub idle_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// [ADDR] PORT: the address to listen on (default: every address) and the port (0 picks one)
    #[arg(value_name = "ADDR] [PORT", num_args = 0..=2, required_unless_present = "unix")]
    pub endpoint: Vec<String>,
    /// Listen on a Unix-domain stream socket at PATH instead
    #[arg(long, value_name = "PATH", conflicts_with = "endpoint")]
    pub unix: Option<PathBuf>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Listen backlog (default: the system maximum, SOMAXCONN)
    #[arg(long, value_name = "N")]
    pub backlog: Option<u32>,
    /// Do not set SO_REUSEADDR (it is on by default)
    #[arg(long)]
    pub no_reuseaddr: bool,
    /// Set SO_REUSEPORT
    #[arg(long)]
    pub reuseport: bool,
    /// Give up with status 3 when no client connected within DUR
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Write what arrives to FILE instead of stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub relay: RelayOpts,
    /// Say more on stderr (`listening on ADDR:PORT`, `connection from ADDR:PORT`)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// HOST PORT, HOST:PORT or [IPV6]:PORT; with -z, PORT may be a list (22,80,8000-8100) or several HOST:PORT
    #[arg(value_name = "TARGET", required_unless_present = "unix")]
    pub target: Vec<String>,
    /// Connect to a Unix-domain stream socket at PATH instead
    #[arg(long, value_name = "PATH", conflicts_with = "target")]
    pub unix: Option<PathBuf>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Connect timeout (status 3 when it expires)
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Keep retrying (refused, unreachable, timed out) until connected or DUR has passed (status 3)
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub wait_for: Option<Duration>,
    /// Probe: connect and close, send nothing; print `HOST:PORT open` per open port
    #[arg(short = 'z', long)]
    pub scan: bool,
    /// Machine-readable output (JSON lines) for -z
    #[arg(long)]
    pub json: bool,
    /// Bind the local end to ADDR
    #[arg(short = 's', long, value_name = "ADDR")]
    pub source: Option<String>,
    /// Bind the local end to PORT
    #[arg(long, value_name = "PORT", value_parser = parse_port_arg)]
    pub source_port: Option<u16>,
    /// Set TCP_NODELAY
    #[arg(long)]
    pub nodelay: bool,
    /// Set SO_KEEPALIVE
    #[arg(long)]
    pub keepalive: bool,
    #[command(flatten)]
    pub relay: RelayOpts,
    /// Say more on stderr; with -z also list closed ports
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Args)]
pub struct SendfileArgs {
    /// Receive: accept one connection on [ADDR] PORT and write what arrives to -o FILE (default stdout)
    #[arg(long)]
    pub receive: bool,
    /// FILE HOST PORT (or FILE HOST:PORT) to send; [ADDR] PORT with --receive
    #[arg(value_name = "ARGS", required = true, num_args = 1..=3)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Start at byte N of FILE
    #[arg(long, value_name = "N", conflicts_with = "receive")]
    pub offset: Option<u64>,
    /// Send only N bytes
    #[arg(long, value_name = "N", conflicts_with = "receive")]
    pub count: Option<u64>,
    /// Frame the transfer (name, size, SHA-256) and have the receiver check it; both sides need it
    #[arg(long)]
    pub verify: bool,
    /// With --receive: write to FILE (or into DIR, keeping the sender's name; needs --verify)
    #[arg(short = 'o', long, value_name = "FILE|DIR", requires = "receive")]
    pub output: Option<PathBuf>,
    /// With --receive: replace an existing output file
    #[arg(long, requires = "receive")]
    pub force: bool,
    /// Connect timeout, or with --receive the longest wait for the sender (status 3)
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// No progress bar (it is shown only when stderr is a terminal anyway)
    #[arg(long)]
    pub no_progress: bool,
    /// Say more on stderr: `listening on`, `connection from`, and a summary (bytes, seconds, MiB/s)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}
