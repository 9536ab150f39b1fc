//! `sockcat listen`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::*;
use crate::net::parse::parse_duration_arg;

const LISTEN_EXAMPLES: &str = "\
End of stream:
  stdin ends            send FIN, keep receiving until the client closes, exit 0
  the client closes     write out what arrived, close stdout (its reader sees EOF);
                        exit 0 when stdin is a terminal, otherwise keep sending stdin
                        until it ends, then exit 0
  reset / early close   exit 1 (connection reset by peer / peer closed before all input was sent)

Server modes (one epoll loop: an idle client costs a descriptor, not a thread):
  -k                    clients served concurrently; a chunk from one client is never split by
                        another's on stdout; stdin goes to every client, FIN to all when it ends;
                        a client that half-closes is closed once what was queued for it is out
  --echo, -e, -c        per connection: echo, or a program with the socket as stdin/stdout and
                        SOCKCAT_REMOTE_ADDR/PORT, SOCKCAT_LOCAL_ADDR/PORT in its environment
  --broker              each client's bytes go to every other client (and stdout)
  SIGINT/SIGTERM end the server and its children, then sockcat dies by the signal (130/143).

Examples:
  sockcat listen -v 9000 > received.bin         receive one upload on port 9000
  sockcat listen 127.0.0.1 0 -v                 any free port; stderr says which
  sockcat listen --unix /tmp/app.sock           a Unix-domain stream socket
  sockcat listen -w 30s 8080 < reply.txt        give up with status 3 if nobody came in 30 s
  sockcat listen -k --echo 7000                 an echo server
  sockcat listen -k -c 'printf \"HTTP/1.0 200 OK\\r\\n\\r\\nhi\\n\"' 8080   an inetd-style responder
  sockcat listen -k --broker 6000               a chat room: every client hears the others
  sockcat listen 8080 --forward 127.0.0.1:80    a port forwarder (each client its own connection)
  sockcat listen --proxy-server 1080            SOCKS4a, SOCKS5 and HTTP proxy on 127.0.0.1:1080
  sockcat listen -k --recv-only --allow 127.0.0.0/8 514 >> log   collect from local clients

Exit status: 0 success, 1 runtime failure, 2 usage error or invalid input, 3 a timeout expired.";

#[derive(Debug, Args)]
#[command(
    after_long_help = LISTEN_EXAMPLES,
    override_usage = "sockcat listen [OPTIONS] [ADDR] PORT\n       sockcat listen [OPTIONS] --unix PATH",
    allow_missing_positional = true
)]
pub struct ListenArgs {
    /// The address to listen on (default: every address)
    #[arg(value_name = "ADDR")]
    pub addr: Option<String>,
    /// The port to listen on (0 picks one)
    ///
    /// ADDR:PORT in one argument also works ([IPV6]:PORT for an IPv6 address).
    #[arg(value_name = "PORT", required = true)]
    pub port: Option<String>,
    /// Listen on a Unix socket at PATH instead (or @NAME)
    ///
    /// A stream socket. @NAME is the Linux abstract namespace: no file is created or removed. A stale socket file at PATH (no socket is bound to it: the kernel is asked,
    /// nothing connects to it) is replaced; a live one is left alone ("address in use", status 1), and
    /// so is anything that is not a socket.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["addr", "port"])]
    pub unix: Option<PathBuf>,
    /// Take the socket from systemd socket activation
    ///
    /// No ADDR PORT then.
    /// The first stream socket passed by LISTEN_PID/LISTEN_FDS (fd 3 on), as with systemd's
    /// Accept=no or systemd-socket-activate; the variables are not passed on to -e/-c children.
    #[arg(long, conflicts_with_all = ["addr", "port", "unix"])]
    pub systemd: bool,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Listen backlog (default: SOMAXCONN)
    ///
    /// The default is the system maximum, SOMAXCONN, so bursts of clients are not dropped.
    #[arg(long, value_name = "N")]
    pub backlog: Option<u32>,
    /// Do not set SO_REUSEADDR (it is on by default)
    #[arg(long)]
    pub no_reuseaddr: bool,
    /// Set SO_REUSEPORT
    #[arg(long)]
    pub reuseport: bool,
    /// Status 3 when no client connected within DUR
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Write what arrives to FILE instead of stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep listening: serve clients concurrently
    ///
    /// stdin goes to every client, what they send goes to stdout. stdin is read only while a client
    /// is connected; a client that does not read is dropped once 4 MiB wait for it; a client that
    /// ends its sending side is closed once what was queued for it is sent (as with ncat -k).
    #[arg(short = 'k', long)]
    pub keep_open: bool,
    /// At most N clients at a time (more are reset)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: Option<u32>,
    /// Echo server: send every client's bytes back to it
    #[arg(long, conflicts_with_all = ["exec", "sh_exec", "broker", "recv_only", "send_only", "output"])]
    pub echo: bool,
    /// Run PROG ARGS per connection on the socket
    ///
    /// The socket is the program's stdin and stdout; PROG ARGS is split on whitespace, with no shell.
    /// SOCKCAT_REMOTE_ADDR, SOCKCAT_REMOTE_PORT, SOCKCAT_LOCAL_ADDR and SOCKCAT_LOCAL_PORT are in its
    /// environment.
    #[arg(short = 'e', long, value_name = "PROG ARGS", conflicts_with_all = ["sh_exec", "broker", "output"])]
    pub exec: Option<String>,
    /// Run CMD with /bin/sh -c per connection on the socket
    ///
    /// The socket is the shell's stdin and stdout, with the environment of --exec.
    #[arg(short = 'c', long, value_name = "CMD", conflicts_with_all = ["broker", "output"])]
    pub sh_exec: Option<String>,
    /// Send the -e/-c program's stderr to the connection too (as 2>&1)
    ///
    /// Without it the program's stderr is sockcat's stderr (the server's terminal or log), never the
    /// client's. For `-e 'sh -i'`, so the client sees the prompt and the errors.
    #[arg(long, hide_short_help = true)]
    pub stderr: bool,
    /// Run the program of -e/-c on a pseudo-terminal
    ///
    /// Each client's program gets a terminal (its stdin, stdout, stderr and controlling terminal)
    /// relayed to the connection: an interactive shell gets job control, `stty` and `tty`. The
    /// client's end of stream types ^D; the session ends when the program (and all it started)
    /// closed the terminal.
    #[arg(long, hide_short_help = true)]
    pub pty: bool,
    /// Relay each client's bytes to all others (implies -k)
    #[arg(long)]
    pub broker: bool,
    /// Admit only clients in RULE (CIDR or host)
    ///
    /// Repeatable. A bare address is a /32 or /128; a host name is resolved once, at start, to every address it
    /// has. A refused client is reset at once (and logged with -v).
    #[arg(long, value_name = "RULE")]
    pub allow: Vec<String>,
    /// Refuse clients in RULE (CIDR or host)
    ///
    /// Repeatable; --deny wins over --allow.
    #[arg(long, value_name = "RULE")]
    pub deny: Vec<String>,
    /// --allow each RULE of FILE: one CIDR or host name per line, `#` comments (repeatable)
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub allow_file: Vec<PathBuf>,
    /// --deny each RULE of FILE: one CIDR or host name per line, `#` comments (repeatable)
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub deny_file: Vec<PathBuf>,
    #[command(flatten)]
    pub serve: Box<ServeOpts>,
    #[command(flatten)]
    pub relay: RelayOpts,
    #[command(flatten)]
    pub sockopts: SessionSockopts,
    /// Multipath TCP (IPPROTO_MPTCP)
    ///
    /// Where the kernel refuses it (net.mptcp.enabled=0), plain TCP, said with -v.
    #[arg(long, hide_short_help = true)]
    pub mptcp: bool,
    /// Server events as JSON lines to FILE (-: stderr)
    ///
    /// {"ts","event":"accept","id","peer"} (under --accept-proxy-protocol: once the header is read,
    /// as its source); "refuse" with "reason" (deny, max-conns, proxy-protocol for a missing or bad
    /// PROXY header; and, with the accept's "id" in place of a close: tls for a failed handshake, auth
    /// for failed proxy authentication); "close" with "bytes_in", "bytes_out"
    /// (under --tls: application bytes), "duration_ms", "reason" (eof, reset, idle, signal, or the
    /// error), "dest" when forwarding or proxying and "tls" under --tls. FILE is appended to; each
    /// line is written whole as it happens.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Say more on stderr
    ///
    /// The first line is `listening on ADDR:PORT`, then `connection from ADDR:PORT` per client, and
    /// refused clients.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    pub tls: TlsServerOpts,
}
