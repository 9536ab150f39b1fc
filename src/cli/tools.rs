//! `sockcat resolve`, `sockcat sockopt` and `sockcat byteorder`.

use std::time::Duration;

use clap::Args;

use super::*;
use crate::net::parse::parse_duration_arg;

const RESOLVE_EXAMPLES: &str = "\
Output:
  NAME...        one address per line, unique, in the resolver's order
  --all          one line per getaddrinfo result: FAMILY SOCKTYPE PROTOCOL ADDRESS
  --canonical    one canonical name per NAME (before the --all lines when both are given)
  --json         JSON lines: one object per NAME, ADDR, service, port or protocol looked up

Examples:
  sockcat resolve localhost                     127.0.0.1 (and ::1 where /etc/hosts says so)
  sockcat resolve -6 --all example.com          every IPv6 result with socket type and protocol
  sockcat resolve -x 127.0.0.1                  localhost
  sockcat resolve --service http                80
  sockcat resolve --port 53/udp                 domain
  sockcat resolve --protocol tcp                6
  sockcat resolve --hostname --json             {\"hostname\":\"...\"}

Exit status: 0 success, 1 not found (or another runtime failure), 2 usage error or invalid input.";

const SOCKOPT_EXAMPLES: &str = "\
Output: a table LEVEL NAME VALUE (booleans as the kernel's 0/1, SO_LINGER as off or on,SECONDS,
timeouts in seconds); with --connect also TCP_INFO rows (rtt, rttvar, rto in microseconds), and
with --tls TLS rows (version, cipher, alpn, pin) once the handshake is done.
--json prints one document: {\"socket\":{...},\"options\":[{\"level\",\"name\",\"value\"}...],\"tcp_info\":{...}}
(and \"tls\":{\"version\",\"cipher\",\"alpn\",\"pin\"} with --tls).

Examples:
  sockcat sockopt                               every option of a fresh TCP/IPv4 socket
  sockcat sockopt --udp -6 --get IPV6_V6ONLY    one value, alone on its line
  sockcat sockopt --set SO_RCVBUF=4096 --get SO_RCVBUF     8192: the kernel doubles it
  sockcat sockopt --connect 127.0.0.1 8080 --set TCP_NODELAY=1
  sockcat sockopt --connect localhost:22 --json
  sockcat sockopt --connect tls://localhost:8443 --ca ca.pem   the TLS connection's options and session

Exit status: 0 success, 1 runtime failure, 2 usage error (unknown option name), 3 a timeout expired.";

const BYTEORDER_EXAMPLES: &str = "\
Operations:
  (none)              this host's byte order: little or big
  htons N, ntohs N    16-bit swap to/from network order (0-65535; decimal or 0x hex in)
  htonl N, ntohl N    32-bit swap (0-4294967295)
  inet-aton ADDR      packed hex of what inet_aton(3) accepts (127.1, 0x7f.1, 1)
  inet-ntoa HEX       dotted quad of 4 packed bytes
  inet-pton ADDR      packed hex (family from the address, or -4 / -6)
  inet-ntop HEX       the C library's text for 4 or 16 packed bytes

Examples:
  sockcat byteorder htons 1234                  53764 on a little-endian host
  sockcat byteorder htonl --hex 1               0x01000000
  sockcat byteorder inet-aton 127.1             7f000001
  sockcat byteorder inet-ntop 20010db8000000000000000000000001     2001:db8::1
  sockcat byteorder inet-pton -6 \"$addr\" >/dev/null && echo valid IPv6

Exit status: 0 success, 1 the address was rejected, 2 usage error or invalid input (range, hex).";

#[derive(Debug, Args)]
#[command(after_long_help = RESOLVE_EXAMPLES)]
pub struct ResolveArgs {
    /// Names to resolve (with -x: addresses to look up)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Every getaddrinfo result: family, socket type, protocol and address
    #[arg(long, conflicts_with = "reverse")]
    pub all: bool,
    /// The canonical name of each NAME (AI_CANONNAME); with --all, printed before the results
    #[arg(long, conflicts_with = "reverse")]
    pub canonical: bool,
    /// Reverse lookup: the host name of each ADDR (getnameinfo, a name required)
    #[arg(short = 'x', long, requires = "names")]
    pub reverse: bool,
    /// The port of each service NAME[/PROTO] (getservbyname)
    #[arg(long, value_name = "NAME[/PROTO]", num_args = 1.., conflicts_with_all = ["names", "port", "protocol", "hostname"])]
    pub service: Vec<String>,
    /// The service name of each port NUMBER[/PROTO] (getservbyport)
    #[arg(long, value_name = "NUMBER[/PROTO]", num_args = 1.., conflicts_with_all = ["names", "protocol", "hostname"])]
    pub port: Vec<String>,
    /// The number of a protocol NAME, or the name of a protocol NUMBER
    #[arg(long, value_name = "NAME|NUMBER", num_args = 1.., conflicts_with_all = ["names", "hostname"])]
    pub protocol: Vec<String>,
    /// This host's name (gethostname)
    #[arg(long, conflicts_with = "names")]
    pub hostname: bool,
    /// Machine-readable output (JSON lines)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_long_help = SOCKOPT_EXAMPLES)]
pub struct SockoptArgs {
    /// A TCP socket (the default)
    #[arg(long, conflicts_with_all = ["udp", "unix"])]
    pub tcp: bool,
    /// A UDP socket
    #[arg(long, conflicts_with_all = ["unix", "connect"])]
    pub udp: bool,
    /// A Unix-domain stream socket
    #[arg(long, conflicts_with = "connect")]
    pub unix: bool,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Set option NAME to VALUE before reading (repeatable)
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Print only option NAME (repeatable); one NAME prints the value alone
    #[arg(long, value_name = "NAME")]
    pub get: Vec<String>,
    /// Use a live TCP connection to HOST PORT (or HOST:PORT) instead; adds TCP_INFO
    ///
    /// With --tls (or tls://HOST:PORT) the options are read once the TLS handshake is done, and TLS
    /// rows (version, cipher, alpn, the server's pin) follow TCP_INFO; --json adds "tls".
    #[arg(long, value_names = ["HOST", "PORT"], num_args = 1..=2)]
    pub connect: Vec<String>,
    /// Connect timeout for --connect (status 3 when it expires)
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg, requires = "connect")]
    pub timeout: Option<Duration>,
    /// Machine-readable output (one JSON document)
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub tls: TlsClientOpts,
}

/// A `byteorder` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ByteOp {
    Htons,
    Ntohs,
    Htonl,
    Ntohl,
    InetAton,
    InetNtoa,
    InetPton,
    InetNtop,
}

#[derive(Debug, Args)]
#[command(after_long_help = BYTEORDER_EXAMPLES)]
pub struct ByteorderArgs {
    /// The operation (htons, ntohs, htonl, ntohl, inet-aton, inet-ntoa, inet-pton, inet-ntop); none prints this host's byte order
    #[arg(value_enum, value_name = "OP", hide_possible_values = true)]
    pub op: Option<ByteOp>,
    /// The values to convert
    #[arg(value_name = "VALUE", requires = "op")]
    pub values: Vec<String>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Hex output for htons, ntohs, htonl, ntohl (0x1234)
    #[arg(long)]
    pub hex: bool,
    /// Machine-readable output (JSON lines)
    #[arg(long)]
    pub json: bool,
}
