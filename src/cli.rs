//! The command line, as clap types only: no logic lives here.
//!
//! Option groups shared by several subcommands are flattened structs, so a flag is spelled the same
//! wherever it applies.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::net::addr::{parse_duration_arg, parse_port_arg};
use crate::net::udp::parse_size_arg;

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
    /// Send datagrams: MESSAGE arguments, or stdin cut by size or by line; print the replies
    #[command(after_long_help = UDP_SEND_EXAMPLES)]
    UdpSend(UdpSendArgs),
    /// Receive datagrams from any number of senders and print them (raw, line, hex, JSON lines)
    #[command(after_long_help = UDP_RECV_EXAMPLES)]
    UdpRecv(UdpRecvArgs),
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

const UDP_SEND_EXAMPLES: &str = "\
Datagrams:
  MESSAGE...            one datagram each ('' is an empty datagram); stdin is not read
  no MESSAGE            stdin to EOF, cut into datagrams of --max-size bytes (their payloads joined
                        are exactly stdin; an empty stdin sends nothing)
  --lines               one datagram per stdin line, without its newline, sent as each line arrives
  --count N             send it all N times; --interval / --rate space the datagrams out
  --wait-reply DUR      print replies (raw) until DUR passes without one; status 3 if none came,
                        1 if the port is closed (ICMP port unreachable: connection refused)

Examples:
  sockcat udp-send 127.0.0.1 9000 hello                 one datagram
  sockcat udp-send localhost:53 --hex 12340100000100000000000003777777076578616d706c6503636f6d0000010001 --wait-reply 1s | xxd
  seq 1000000 | sockcat udp-send --lines --stats 127.0.0.1 9000
  sockcat udp-send --count 5 --interval 1s [::1]:9000 ping
  sockcat udp-send --broadcast --hex 192.168.1.255 9 ffffffffffff

Exit status: 0 success, 1 runtime failure, 2 usage error or invalid input, 3 a timeout expired.";

const UDP_RECV_EXAMPLES: &str = "\
Without ADDR it binds every address (IPv6 dual-stack where available, else 0.0.0.0); PORT 0 picks a
free port (-v says which). Any number of senders; it runs until -c or -w ends it.

Examples:
  sockcat udp-recv -v 9000                              print payloads as they come
  sockcat udp-recv --format json -c 1 127.0.0.1 9000    one JSON line for the next datagram
  sockcat udp-recv --echo 9000                          a UDP echo server
  sockcat udp-recv -w 2s --format line --stats 9000 | wc -l
  sockcat udp-recv --group 239.1.2.3 5000               join a multicast group

Exit status: 0 success, 1 runtime failure, 2 usage error or invalid input, 3 -w expired before any
datagram came.";

#[derive(Debug, Args)]
pub struct UdpSendArgs {
    /// HOST, or HOST:PORT / [IPV6]:PORT
    #[arg(value_name = "HOST")]
    pub host: String,
    /// PORT (unless given with HOST), then the messages: one datagram each
    #[arg(value_name = "PORT] [MESSAGE")]
    pub rest: Vec<String>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Largest datagram: stdin is cut into pieces of this size; longer lines or messages are an error
    #[arg(long, value_name = "BYTES", default_value_t = 65507,
          value_parser = clap::value_parser!(u32).range(1..=65527))]
    pub max_size: u32,
    /// One datagram per stdin line, without its newline
    #[arg(long)]
    pub lines: bool,
    /// Messages (or stdin, or each line) are hex; whitespace is ignored
    #[arg(long)]
    pub hex: bool,
    /// Send everything N times
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// Time between datagrams
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg, conflicts_with = "rate")]
    pub interval: Option<std::time::Duration>,
    /// Datagrams per second (default: 1000000, so a receiver keeps up; 0: as fast as possible)
    #[arg(long, value_name = "N")]
    pub rate: Option<u64>,
    /// Allow sending to a broadcast address (SO_BROADCAST)
    #[arg(long)]
    pub broadcast: bool,
    /// IP TTL / IPv6 hop limit (multicast TTL for a multicast target)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=255))]
    pub ttl: Option<u32>,
    /// After sending, print each reply until DUR passes without one (status 3 if none came)
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub wait_reply: Option<Duration>,
    /// Print datagrams, bytes and rate on stderr at the end
    #[arg(long)]
    pub stats: bool,
    /// Bind the local end to ADDR (for a multicast target: the interface to send from)
    #[arg(short = 's', long, value_name = "ADDR")]
    pub source: Option<String>,
    /// Bind the local end to PORT
    #[arg(long, value_name = "PORT", value_parser = parse_port_arg)]
    pub source_port: Option<u16>,
    /// Say more on stderr (`sending to ADDR:PORT from ADDR:PORT`)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// How udp-recv prints a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UdpFormat {
    /// The payload, byte-exact
    Raw,
    /// The payload and a newline
    Line,
    /// One hex line per datagram
    Hex,
    /// JSON lines: {"from":"ADDR:PORT","len":N,"hex":"...","text":"..."} (text when UTF-8)
    Json,
}

#[derive(Debug, Args)]
pub struct UdpRecvArgs {
    /// [ADDR] PORT: the address to bind (default: every address) and the port (0 picks one)
    #[arg(value_name = "ADDR] [PORT", num_args = 1..=2, required = true)]
    pub endpoint: Vec<String>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// How to print each datagram
    #[arg(long, value_enum, default_value_t = UdpFormat::Raw)]
    pub format: UdpFormat,
    /// Exit 0 after N datagrams
    #[arg(short = 'c', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Exit when no datagram came for DUR (status 3 if none came at all)
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Send each datagram back to its sender
    #[arg(long)]
    pub echo: bool,
    /// Join this multicast group (SO_REUSEADDR is then on)
    #[arg(long, value_name = "ADDR")]
    pub group: Option<String>,
    /// Set SO_REUSEADDR
    #[arg(long)]
    pub reuseaddr: bool,
    /// Set SO_REUSEPORT
    #[arg(long)]
    pub reuseport: bool,
    /// SO_RCVBUF (default: 32M, forced past net.core.rmem_max when allowed); 512k, 4M accepted
    #[arg(long, value_name = "BYTES", value_parser = parse_size_arg)]
    pub recv_buffer: Option<usize>,
    /// Print datagrams, bytes and rate on stderr at the end (Ctrl-C / SIGTERM then end it with status 0)
    #[arg(long)]
    pub stats: bool,
    /// Say more on stderr (`listening on ADDR:PORT`; -vv: one line per datagram)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}
