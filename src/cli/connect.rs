//! `sockcat connect`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::*;
use crate::net::parse::{parse_duration_arg, parse_port_arg};

const CONNECT_EXAMPLES: &str = "\
End of stream:
  stdin ends            send FIN, keep receiving until the server closes, exit 0
  the server closes     write out what arrived, close stdout (its reader sees EOF);
                        exit 0 when stdin is a terminal, otherwise keep sending stdin
                        until it ends, then exit 0
  reset / early close   exit 1 (connection reset by peer / peer closed before all input was sent)
  --close-on-eof        at stdin EOF close both ways and exit 0 at once
  --no-shutdown         at stdin EOF send no FIN (for peers that take it for a full close)
  -e, -c                the program runs on the connection; status 0 when it succeeded

Examples:
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | sockcat connect localhost 80
  sockcat connect localhost:5432 -z              is the port open? (exit 0 if so)
  sockcat connect -z 127.0.0.1 22,80,8000-8100   probe a list of ports
  sockcat connect --wait-for 60s db 5432 -z      CI: wait until the database is up
  sockcat connect [::1]:9000 < file.bin          send a file over IPv6
  sockcat connect --proxy socks5h://127.0.0.1:1080 db 5432      through a SOCKS5 proxy (it resolves db)

Exit status: 0 success, 1 runtime failure, 2 usage error or invalid input, 3 a timeout expired.";

#[derive(Debug, Args)]
#[command(
    after_long_help = CONNECT_EXAMPLES,
    override_usage = "sockcat connect [OPTIONS] HOST PORT\n       sockcat connect [OPTIONS] HOST:PORT\n       \
                      sockcat connect [OPTIONS] --unix PATH\n       sockcat connect -z [OPTIONS] HOST PORT[,PORT|LO-HI...]...\n       \
                      sockcat connect -z [OPTIONS] HOST:PORT..."
)]
pub struct ConnectArgs {
    /// HOST PORT, HOST:PORT, tcp://HOST:PORT, unix:PATH or unix:@NAME
    ///
    /// An IPv6 address with a port is [IPV6]:PORT; a link-local one takes its zone: [fe80::1%eth0]:22. unix:PATH is the same as --unix PATH;
    /// unix:@NAME is a Linux abstract socket. With -z, PORT may be a list with ranges (22,80,8000-8100), several ports may follow the HOST
    /// (nc's `-z HOST 22 80`), or the targets may be several HOST:PORT.
    #[arg(value_name = "TARGET", required_unless_present = "unix")]
    pub target: Vec<String>,
    /// Connect to a Unix socket at PATH (@NAME: abstract) instead
    #[arg(long, value_name = "PATH", conflicts_with_all = ["target", "proxy"])]
    pub unix: Option<PathBuf>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Connect timeout, the name lookup included (status 3 when it expires)
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Retry until connected, for up to DUR (status 3)
    ///
    /// Refused, unreachable and timed-out attempts are retried, and so is a --unix path that is
    /// missing or stale (nobody listens): the CI "wait until the service is up" one-liner. With -v,
    /// the first failed attempt is reported (`not up yet, retrying: ...`).
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub wait_for: Option<Duration>,
    /// Probe: connect and close, send nothing
    ///
    /// Prints `HOST:PORT open` per open port; status 0 only when every probed port is open.
    #[arg(short = 'z', long)]
    pub scan: bool,
    /// Machine-readable output (JSON lines) for -z
    #[arg(long, requires = "scan")]
    pub json: bool,
    /// Run PROG ARGS on the connection
    ///
    /// The connection is the program's stdin and stdout, as with listen -e; PROG ARGS is split on
    /// whitespace, with no shell; SOCKCAT_REMOTE_ADDR/PORT and SOCKCAT_LOCAL_ADDR/PORT are in its
    /// environment. The status is 0 when the program succeeded, 1 otherwise. With --crlf (applied to
    /// what the program writes), --hexdump, --progress or -i, sockcat relays the program's pipes to
    /// the connection instead; --close-on-eof and --no-shutdown do not apply. With --tls the
    /// program runs on the TLS session the same way (pipes relayed through TLS), with
    /// SOCKCAT_TLS_VERSION, SOCKCAT_TLS_CIPHER and SOCKCAT_TLS_ALPN in its environment too.
    #[arg(short = 'e', long, value_name = "PROG ARGS", hide_short_help = true,
          conflicts_with_all = ["sh_exec", "scan", "close_on_eof", "no_shutdown"])]
    pub exec: Option<String>,
    /// Run CMD with /bin/sh -c on the connection
    ///
    /// As --exec, through the shell.
    #[arg(short = 'c', long, value_name = "CMD", hide_short_help = true,
          conflicts_with_all = ["scan", "close_on_eof", "no_shutdown"])]
    pub sh_exec: Option<String>,
    /// Send the -e/-c program's stderr to the connection too (as 2>&1)
    ///
    /// Without it the program's stderr is sockcat's stderr.
    #[arg(long, hide_short_help = true)]
    pub stderr: bool,
    /// Run the program of -e/-c on a pseudo-terminal
    ///
    /// The program gets a terminal (its stdin, stdout, stderr and controlling terminal) that is
    /// relayed to the connection: an interactive shell on the other end gets job control, `stty` and
    /// `tty`. The connection's end of stream types ^D; the session ends when the program (and all it
    /// started) closed the terminal.
    #[arg(long, hide_short_help = true)]
    pub pty: bool,
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
    pub proxy: ProxyOpts,
    #[command(flatten)]
    pub relay: RelayOpts,
    #[command(flatten)]
    pub sockopts: SessionSockopts,
    /// Multipath TCP (IPPROTO_MPTCP)
    ///
    /// Where the kernel refuses it (net.mptcp.enabled=0), plain TCP, said with -v.
    #[arg(long, hide_short_help = true)]
    pub mptcp: bool,
    /// Say more on stderr; with -z also list closed ports
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub tls: TlsClientOpts,
}
