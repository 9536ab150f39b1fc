//! `sockcat udp-send` and `sockcat udp-recv`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::*;
use crate::net::parse::{parse_duration_arg, parse_port_arg, parse_size_arg};

const UDP_SEND_EXAMPLES: &str = "\
Datagrams:
  MESSAGE...            one datagram each ('' is an empty datagram); stdin is not read
  no MESSAGE            stdin to EOF, cut into datagrams of --max-size bytes (their payloads joined
                        are exactly stdin; an empty stdin sends nothing)
  --lines               one datagram per stdin line, without its newline, sent as each line arrives
  --count N             send it all N times; --interval / --rate space the datagrams out
  --wait-reply DUR      print replies (raw) until DUR passes without one; status 3 if none came,
                        1 if the port is closed (ICMP port unreachable: connection refused)
  closed port           status 1 (connection refused) also without --wait-reply when the ICMP port
                        unreachable is back before the last datagram has gone (always on loopback)

Examples:
  sockcat udp-send 127.0.0.1 9000 hello                 one datagram
  sockcat udp-send --hex --wait-reply 1s 127.0.0.1:53 12340100000100000000000000020001 | xxd
  seq 1000000 | sockcat udp-send --lines --stats 127.0.0.1 9000
  sockcat udp-send --count 5 --interval 1s [::1]:9000 ping
  sockcat udp-send --broadcast --hex 192.168.1.255 9 ffffffffffff
  sockcat udp-send --wait-for 30s --wait-reply 1s 127.0.0.1 9000 ping   wait until it answers

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
  sockcat udp-recv 127.0.0.1 5300 --forward 127.0.0.1:53 --session-idle 30s
                                                        a UDP relay, a session per client

Exit status: 0 success, 1 runtime failure, 2 usage error or invalid input, 3 -w expired before any
datagram came.";

#[derive(Debug, Args)]
#[command(
    after_long_help = UDP_SEND_EXAMPLES,
    override_usage = "sockcat udp-send [OPTIONS] HOST PORT [MESSAGE]...\n       \
                      sockcat udp-send [OPTIONS] HOST:PORT [MESSAGE]...\n       \
                      sockcat udp-send [OPTIONS] --unix PATH [MESSAGE]..."
)]
pub struct UdpSendArgs {
    /// HOST, or HOST:PORT / [IPV6]:PORT
    #[arg(value_name = "HOST", required_unless_present = "unix")]
    pub host: Option<String>,
    /// PORT (unless given with HOST), then the messages: one datagram each
    #[arg(value_names = ["PORT", "MESSAGE"])]
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
    /// Send again and again until the target is up or DUR has passed (status 3)
    ///
    /// Up means: with --wait-reply, a reply came within its DUR; without, no ICMP port-unreachable
    /// ("connection refused") came back within 250ms of the last datagram. Each try sends everything
    /// again from the first datagram (stdin is read whole first), so a target that was up but silent
    /// may see the datagrams more than once. A name not resolvable yet, a --unix socket not there
    /// yet, are waited for too. With -v the first failed try is said once.
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub wait_for: Option<Duration>,
    /// Print datagrams, bytes and rate on stderr at the end
    #[arg(long)]
    pub stats: bool,
    /// Bind the local end to ADDR (for a multicast target: the interface to send from)
    #[arg(short = 's', long, value_name = "ADDR")]
    pub source: Option<String>,
    /// Bind the local end to PORT
    #[arg(long, value_name = "PORT", value_parser = parse_port_arg)]
    pub source_port: Option<u16>,
    /// Send to the Unix datagram socket PATH instead (`@NAME`: abstract); every argument is a MESSAGE
    ///
    /// `--unix /dev/log` talks to syslog. sockcat binds an abstract name of its own (@sockcat.PID.N),
    /// so --wait-reply gets the receiver's answers.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["source", "source_port", "broadcast", "ttl"])]
    pub unix: Option<PathBuf>,
    #[command(flatten)]
    pub sockopts: SessionSockopts,
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
    /// JSON lines with "from", "len", "hex", and "text" when the payload is UTF-8
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = UDP_RECV_EXAMPLES,
    override_usage = "sockcat udp-recv [OPTIONS] [ADDR] PORT\n       sockcat udp-recv [OPTIONS] --unix PATH",
    allow_missing_positional = true
)]
pub struct UdpRecvArgs {
    /// The address to bind (default: every address)
    #[arg(value_name = "ADDR")]
    pub addr: Option<String>,
    /// The port to bind (0 picks one)
    ///
    /// ADDR:PORT in one argument also works ([IPV6]:PORT for an IPv6 address).
    #[arg(value_name = "PORT", required = true)]
    pub port: Option<String>,
    /// Receive on the Unix datagram socket PATH instead (`@NAME`: abstract, no file)
    ///
    /// A stale socket file at PATH is replaced, a live one is "address in use"; the file is removed
    /// when udp-recv ends (also at Ctrl-C). --echo answers senders that have a name (udp-send binds one).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["addr", "port", "group", "reuseaddr", "reuseport"])]
    pub unix: Option<PathBuf>,
    /// Take the socket from systemd socket activation
    ///
    /// No ADDR PORT then.
    /// The first datagram socket (UDP or Unix) passed by LISTEN_PID/LISTEN_FDS (fd 3 on).
    #[arg(long, conflicts_with_all = ["addr", "port", "unix", "group", "reuseaddr", "reuseport"])]
    pub systemd: bool,
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
    /// Send stdin to the most recent sender (as nc -u -l)
    ///
    /// Each read of stdin (a line from a terminal) is one datagram, sent from the receiving port (and,
    /// on a wildcard address, the local address that sender sent to) to whoever sent the last
    /// datagram; what is typed before anyone sent waits for the first sender.
    #[arg(long, conflicts_with = "echo")]
    pub reply: bool,
    /// Send each datagram back to its sender
    ///
    /// Sent from the address the datagram arrived at (on a wildcard address too). Never to source
    /// port 0 or to this receiver's own address (a spoofed datagram from itself would loop), nor to an
    /// unnamed Unix sender.
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
    /// Write each sender's session as JSON lines to FILE (`-`: stderr)
    ///
    /// A session is a source address: `accept` at its first datagram, `close` (bytes_in, bytes_out,
    /// duration_ms, reason) once it has been quiet for --session-idle, or when udp-recv ends (`eof`,
    /// or `signal` on Ctrl-C). FILE is appended to; each line is written as it happens.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Relay datagrams to HOST:PORT, each client address with a session (a socket) of its own
    ///
    /// The first datagram from a client opens its session: a UDP socket connected to HOST:PORT, so
    /// the target sees one source port per client and its replies go back to that client alone, from
    /// the port and address the client sent to. Nothing is printed on stdout. A session ends after --session-idle
    /// without traffic either way; beyond --max-sessions, datagrams from new sources are dropped
    /// (said once per source with -v, as a `refuse` event with reason `max-sessions`, counted by
    /// --stats). A target that is down (ICMP port-unreachable) loses those datagrams, not the relay.
    /// -w ends the relay when no client sent for DUR. --events: accept/close per session with "dest".
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["unix", "echo", "reply", "count", "format"])]
    pub forward: Option<String>,
    /// A source quiet this long ends its session (default 60s; with --forward, replies count as traffic)
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub session_idle: Option<Duration>,
    /// At most N sessions at once (default 10000)
    ///
    /// With --forward, datagrams from a new source are dropped while N sessions are open; with only
    /// --events, the quietest session is closed to make room.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: Option<u32>,
    #[command(flatten)]
    pub sockopts: SessionSockopts,
    /// Say more on stderr (`listening on ADDR:PORT`; -vv: one line per datagram)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}
