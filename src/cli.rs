//! The command line, as clap types only: no logic lives here.
//!
//! Option groups shared by several subcommands are flattened structs, so a flag is spelled the same
//! wherever it applies.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use crate::net::parse::{parse_duration_arg, parse_port_arg, parse_size_arg};
use crate::net::stream::tls::cert::parse_pin as parse_pin_arg;

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

const SENDFILE_EXAMPLES: &str = "\
Sending: sendfile(2) from FILE (read/write where there is none), then a half-close; exit 0 once the
receiver's TCP has acknowledged every byte. Any receiver works: `nc -l 9000 > out` too.

Receiving (--receive): accept one connection and write what arrives to -o FILE (stdout by default),
by way of a hidden temporary file that is renamed into place at the end. An existing FILE is kept
unless --force.

--verify (both sides): the sender frames the transfer (file name and size first, SHA-256 last) and the
receiver answers; the file appears only when size and hash match, otherwise both exit 1 and nothing is
left. With -o DIR the file keeps the sender's name (reduced to a plain file name) inside DIR.

--tls (both sides, or FILE tls://HOST:PORT): the transfer runs inside TLS, through a buffer instead of
sendfile(2). The sender verifies the receiver as connect --tls does (--ca, --pin, --insecure, --sni;
--cert/--key for a client certificate); the receiver serves --cert/--key, or a self-signed certificate
whose pin -v prints (tls pin sha256:...), and --client-ca requires a client certificate. A TLS sender
that closes without close_notify (ncat --ssl does) is received with a warning: only --verify proves the
file complete.

Examples:
  sockcat sendfile --receive -v --verify -o downloads/ 9000    receive into downloads/NAME
  sockcat sendfile --verify backup.tar host 9000                send it, checked end to end
  sockcat sendfile --offset 1048576 --count 4096 disk.img host 9000
  sockcat sendfile --receive 9000 > copy.bin                    plain bytes, like nc -l
  sockcat sendfile --receive -v --tls --verify -o downloads/ 9443   prints its pin
  sockcat sendfile --tls --pin sha256:BASE64 --verify backup.tar host 9443

Exit status: 0 success, 1 runtime failure (refused, reset, hash mismatch), 2 usage error or invalid
input (missing FILE, bad port), 3 a timeout expired.";

/// `--sockopt NAME=VALUE` on a session's socket.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionSockopts {
    /// Set a socket option, NAME=VALUE (repeatable)
    ///
    /// Set before connect or bind.
    /// Names and values as for `sockcat sockopt --set` (SO_RCVBUF=65536, TCP_NODELAY=1, SO_LINGER=on,5,
    /// IP_TOS=0x10). A listener's options are inherited by every accepted socket. An unknown name, a bad
    /// value, or an option that does not apply to the socket (a TCP option on UDP, an IP_ option on an
    /// IPv6 socket) is status 2 naming it.
    #[arg(long = "sockopt", value_name = "NAME=VALUE")]
    pub list: Vec<String>,
}

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

/// `--proxy` (repeatable: a chain) and `--proxy-auth-file`.
#[derive(Debug, Clone, Default, Args)]
pub struct ProxyOpts {
    /// Connect through proxy URL (repeat: a chain)
    ///
    /// URL is socks5://, socks5h://, socks4://, socks4a:// or http://: SCHEME://[USER[:PASS]@]HOST:PORT. socks5:// and socks4:// resolve the destination here,
    /// socks5h:// and socks4a:// send its name to the proxy, http:// uses CONNECT (Basic
    /// authentication with USER:PASS). Repeat for a chain, first hop first. A refusal is status 1
    /// naming the proxy's reply; a malformed URL is status 2. -w bounds the connect and every
    /// handshake together (without -w each proxy has 30 s to answer). With --tls, TLS runs end to end
    /// inside the tunnel: SNI and the name checked are the target's (or --sni), not a proxy's.
    #[arg(long, value_name = "URL")]
    pub proxy: Vec<String>,
    /// Proxy USER:PASS from FILE's first line
    ///
    /// It keeps a password out of `ps`, and applies to every --proxy whose URL carries no
    /// credentials.
    #[arg(long, value_name = "FILE", requires = "proxy", hide_short_help = true)]
    pub proxy_auth_file: Option<PathBuf>,
}

/// `listen --forward` and `listen --proxy-server`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeOpts {
    /// Forward each client to ENDPOINT (implies -k)
    ///
    /// ENDPOINT is HOST:PORT, [IPV6]:PORT, tcp://HOST:PORT, tls://HOST:PORT or unix:PATH. Each client gets its own new connection to ENDPOINT (Happy Eyeballs, -w as its connect
    /// timeout), relayed both ways until both directions have ended; a half-close is carried across.
    /// A client whose target cannot be reached is closed at once (logged with -v) and the server
    /// goes on. --proxy applies to the outgoing leg. tls://HOST:PORT speaks TLS to the target,
    /// verified as connect --tls would (--forward-ca, --forward-pin, --forward-insecure); a target
    /// that fails the handshake or the check is one that cannot be reached (-w, else 10 s, bounds
    /// the handshake). With --tls too, sockcat re-encrypts: TLS in, TLS out.
    #[arg(
        long,
        value_name = "ENDPOINT",
        conflicts_with_all = ["exec", "sh_exec", "broker", "echo", "output", "proxy_server"]
    )]
    pub forward: Option<String>,
    /// Send a PROXY protocol header to the target
    ///
    /// v1 (text) or v2 (binary), HAProxy's specification, with the client's address and the address
    /// it connected to, before any of the client's bytes.
    #[arg(
        long,
        value_name = "VERSION",
        value_parser = ["v1", "v2"],
        requires = "forward",
        hide_short_help = true
    )]
    pub proxy_protocol: Option<String>,
    /// Require a PROXY protocol header from clients
    ///
    /// v1 or v2, within 5 s. A client without a valid header is closed (logged with -v). Its source address then counts as
    /// the client's for --allow/--deny and -v. With --forward and --proxy-server.
    #[arg(long, hide_short_help = true)]
    pub accept_proxy_protocol: bool,
    /// Serve as a SOCKS and HTTP proxy (implies -k)
    ///
    /// Loopback unless ADDR is given. SOCKS4/4a, SOCKS5 CONNECT and HTTP (CONNECT and absolute-form requests such as
    /// GET http://host/path) on one port, told apart by the first byte. A non-loopback ADDR needs
    /// --auth-file or --allow: anything else would be an open proxy (status 2). Each handshake may
    /// take -w (default 10 s) and 64 KiB.
    #[arg(long, conflicts_with_all = ["exec", "sh_exec", "broker", "echo", "output"])]
    pub proxy_server: bool,
    /// Proxy users from FILE (USER:PASS lines)
    ///
    /// With --proxy-server. SOCKS5 asks for username/password, HTTP for Basic authentication (407 without); SOCKS4,
    /// which has no password, is refused.
    #[arg(
        long,
        value_name = "FILE",
        requires = "proxy_server",
        hide_short_help = true
    )]
    pub auth_file: Option<PathBuf>,
    /// Proxy only to destinations matching RULE
    ///
    /// With --proxy-server; repeatable. RULE is a CIDR or address, a host name (.example.com: every name under it) or :PORT.
    /// A name is checked, and so is every address it resolves to. A malformed RULE (:99999) is status
    /// 2 naming the option.
    #[arg(
        long,
        value_name = "RULE",
        requires = "proxy_server",
        hide_short_help = true
    )]
    pub dest_allow: Vec<String>,
    /// Never proxy to destinations matching RULE
    ///
    /// With --proxy-server; repeatable; wins over --dest-allow. RULE as for --dest-allow.
    #[arg(
        long,
        value_name = "RULE",
        requires = "proxy_server",
        hide_short_help = true
    )]
    pub dest_deny: Vec<String>,
    /// With --forward: connect to ENDPOINT through proxy URL (repeat: a chain)
    ///
    /// The URLs of connect --proxy: socks5://, socks5h://, socks4://, socks4a:// or http://, with
    /// USER:PASS@ or --proxy-auth-file.
    #[arg(long, value_name = "URL", requires = "forward", hide_short_help = true)]
    pub proxy: Vec<String>,
    /// With --forward: proxy USER:PASS from FILE's first line
    #[arg(long, value_name = "FILE", requires = "proxy", hide_short_help = true)]
    pub proxy_auth_file: Option<PathBuf>,
    /// With --forward tls://: trust the CAs of FILE (PEM), not the system's
    ///
    /// The outgoing TLS leg of --forward tls://HOST:PORT is verified as connect --tls verifies:
    /// against the system trust store and HOST. FILE (a PEM bundle) replaces the system roots.
    #[arg(
        long,
        value_name = "FILE",
        requires = "forward",
        hide_short_help = true
    )]
    pub forward_ca: Option<PathBuf>,
    /// With --forward tls://: accept the target's key with this SPKI SHA-256
    ///
    /// Repeatable; as connect --pin (sha256:BASE64), CA-signed or not.
    #[arg(long, value_name = "sha256:BASE64", value_parser = parse_pin_arg, requires = "forward", hide_short_help = true)]
    pub forward_pin: Vec<[u8; 32]>,
    /// With --forward tls://: do not verify the target (warns once, with its pin)
    #[arg(long, requires = "forward", conflicts_with_all = ["forward_ca", "forward_pin"], hide_short_help = true)]
    pub forward_insecure: bool,
}

/// How the relay between stdin/stdout and the socket behaves.
#[derive(Debug, Clone, Default, Args)]
pub struct RelayOpts {
    /// Only receive: never read stdin, never send
    #[arg(long, conflicts_with = "send_only")]
    pub recv_only: bool,
    /// Only send: discard what arrives
    ///
    /// Read stdin, discard what arrives; the session ends when stdin is sent.
    #[arg(long)]
    pub send_only: bool,
    /// At stdin EOF close both ways and exit 0 at once
    ///
    /// Does not wait for the peer's bytes.
    #[arg(long, conflicts_with = "no_shutdown")]
    pub close_on_eof: bool,
    /// At stdin EOF send no FIN
    ///
    /// For peers that take a half-close for a full close.
    #[arg(long)]
    pub no_shutdown: bool,
    /// Send LF as CRLF
    ///
    /// An existing CRLF is kept; received bytes are never touched.
    #[arg(long)]
    pub crlf: bool,
    /// Hex dump of the traffic on stderr (or =FILE)
    ///
    /// Offset, `>` for sent or `<` for received bytes, hex, text. `--hexdump=FILE` (the `=` is
    /// needed) appends the same lines to FILE instead (`-`: stderr), each begun with `#ID +SECONDS`:
    /// the connection's id (the `--events` id: 0, 1, ... in accept order; 0 for connect) and the time
    /// since that connection began, with offsets counted per connection.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub hexdump: Option<Option<PathBuf>>,
    /// Close after DUR without traffic (status 3)
    ///
    /// Any byte in either direction resets the timer.
    #[arg(short = 'i', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub idle_timeout: Option<Duration>,
    /// Show bytes each way and the rate on stderr
    ///
    /// Only when stderr is a terminal (a pipe or a file never gets control sequences) and stdin is
    /// not (a redrawn line would wipe a half-typed one). With stdin a regular file (`< file`), a bar
    /// with its size as the total and an ETA. At the end one summary line stays: sent, received,
    /// seconds, MiB/s.
    #[arg(long)]
    pub progress: bool,
}

/// TLS on the client side (connect): `--tls` or a `tls://HOST:PORT` endpoint turns it on.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsClientOpts {
    /// TLS, verified against system roots and HOST
    ///
    /// TLS 1.2 or 1.3 over the TCP or Unix connection. The server's chain is checked against the system trust store and against HOST (SNI is sent
    /// unless HOST is an IP literal, whose IP SAN is checked instead). `tls://HOST:PORT` is the same.
    /// sendfile --receive --tls is the server: --cert/--key, else a self-signed certificate whose
    /// pin -v prints.
    #[arg(long)]
    pub tls: bool,
    /// Send and check NAME instead of HOST
    ///
    /// The name sent as SNI and checked against the certificate, instead of HOST.
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub sni: Option<String>,
    /// Trust the CAs of FILE (PEM), not the system's
    ///
    /// The CA certificates of FILE (a PEM bundle) replace the system's trust store.
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub ca: Option<PathBuf>,
    /// Accept the server key with this SPKI SHA-256
    ///
    /// Repeatable. As curl --pinnedpubkey writes it (sha256//BASE64 is accepted too); CA-signed or not. The pin of a
    /// `listen --tls` is on its `-v` line `tls pin sha256:...`.
    #[arg(long, value_name = "sha256:BASE64", value_parser = parse_pin_arg, hide_short_help = true)]
    pub pin: Vec<[u8; 32]>,
    /// Do not verify the server (warns, with its pin)
    ///
    /// Says so once on stderr, with the server's pin (what --pin would take).
    #[arg(long, conflicts_with_all = ["ca", "pin"], hide_short_help = true)]
    pub insecure: bool,
    /// Certificate chain (PEM): the client's, for mutual TLS
    ///
    /// Sent when the server asks for one; --key gives its private key. With sendfile --receive
    /// --tls, the receiver's own certificate.
    #[arg(long, value_name = "FILE", requires = "key", hide_short_help = true)]
    pub cert: Option<PathBuf>,
    /// The private key of --cert
    ///
    /// PEM: PKCS#8, PKCS#1 or SEC1. A key that does not match the certificate is status 2.
    #[arg(long, value_name = "FILE", requires = "cert", hide_short_help = true)]
    pub key: Option<PathBuf>,
    /// Offer these ALPN protocols (comma-separated)
    ///
    /// In order of preference, as h2,http/1.1; the one agreed is on the -v line (alpn=...).
    #[arg(
        long,
        value_name = "P1,P2",
        value_delimiter = ',',
        hide_short_help = true
    )]
    pub alpn: Vec<String>,
    /// The oldest TLS version accepted: 1.2 (default) or 1.3
    ///
    /// 1.3 refuses a peer that offers only TLS 1.2.
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"], hide_short_help = true)]
    pub tls_min: Option<String>,
    /// Print the server's certificate chain on stderr
    ///
    /// Subject, names, issuer, validity and pin of each certificate.
    #[arg(long, hide_short_help = true)]
    pub show_cert: bool,
    /// With -z: fail a certificate expiring within N days
    ///
    /// A port whose certificate expires in fewer than N days is not open: a CI expiry check.
    #[arg(long, value_name = "N", hide_short_help = true)]
    pub min_days: Option<u32>,
}

/// TLS on the server side (listen).
#[derive(Debug, Clone, Default, Args)]
pub struct TlsServerOpts {
    /// Serve TLS (self-signed unless --cert)
    ///
    /// TLS 1.2 or 1.3. Without --cert the certificate is made at start (for localhost, the listen address and the
    /// host name), and `-v` prints its pin as `tls pin sha256:BASE64`, what a client gives to --pin.
    /// Served in every mode: the one client of a plain listen, -k (stdin to every client), --broker,
    /// --echo, -e/-c (the program also gets SOCKCAT_TLS_VERSION, SOCKCAT_TLS_CIPHER, SOCKCAT_TLS_ALPN
    /// and, with a client certificate, SOCKCAT_TLS_CLIENT_SUBJECT), --forward (TLS termination) and
    /// --proxy-server (TLS to the proxy's clients: curl --proxy https://...). Each client's handshake
    /// has -i, else 10 s (--proxy-server: its -w handshake deadline); a client that never finishes
    /// it holds no other client back. With --events a failed handshake is a `refuse` (reason tls), and
    /// a `close` line has "tls" and counts the application (plaintext) bytes.
    #[arg(long)]
    pub tls: bool,
    /// The server's certificate chain (PEM)
    ///
    /// Leaf first; --key gives its private key.
    #[arg(long, value_name = "FILE", requires_all = ["tls", "key"], hide_short_help = true)]
    pub cert: Option<PathBuf>,
    /// The private key of --cert
    ///
    /// PEM: PKCS#8, PKCS#1 or SEC1. A key that does not match the certificate is status 2.
    #[arg(long, value_name = "FILE", requires = "cert", hide_short_help = true)]
    pub key: Option<PathBuf>,
    /// Require a client certificate that chains to the CAs of FILE (PEM)
    ///
    /// A client without one fails its handshake (logged with -v).
    #[arg(long, value_name = "FILE", requires = "tls", hide_short_help = true)]
    pub client_ca: Option<PathBuf>,
    /// Accept these ALPN protocols (comma-separated)
    ///
    /// In our order of preference; a client offering none of them fails its handshake.
    #[arg(
        long,
        value_name = "P1,P2",
        value_delimiter = ',',
        requires = "tls",
        hide_short_help = true
    )]
    pub alpn: Vec<String>,
    /// The oldest TLS version accepted: 1.2 (default) or 1.3
    ///
    /// 1.3 refuses a peer that offers only TLS 1.2.
    #[arg(long, value_name = "VERSION", value_parser = ["1.2", "1.3"], requires = "tls", hide_short_help = true)]
    pub tls_min: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = LISTEN_EXAMPLES,
    override_usage = "sockcat listen [OPTIONS] [ADDR] PORT\n       sockcat listen [OPTIONS] --unix PATH"
)]
pub struct ListenArgs {
    /// Address (default: every address) and port (0 picks one)
    ///
    /// [ADDR] PORT: the address to listen on (default: every address) and the port (0 picks one).
    #[arg(value_names = ["ADDR", "PORT"], num_args = 0..=2, action = clap::ArgAction::Set, required_unless_present_any = ["unix", "systemd"])]
    pub endpoint: Vec<String>,
    /// Listen on a Unix socket at PATH instead (or @NAME)
    ///
    /// A stream socket. @NAME is the Linux abstract namespace: no file is created or removed. A stale socket file at PATH (no socket is bound to it: the kernel is asked,
    /// nothing connects to it) is replaced; a live one is left alone ("address in use", status 1), and
    /// so is anything that is not a socket.
    #[arg(long, value_name = "PATH", conflicts_with = "endpoint")]
    pub unix: Option<PathBuf>,
    /// Take the socket from systemd socket activation
    ///
    /// No ADDR PORT then.
    /// The first stream socket passed by LISTEN_PID/LISTEN_FDS (fd 3 on), as with systemd's
    /// Accept=no or systemd-socket-activate; the variables are not passed on to -e/-c children.
    #[arg(long, conflicts_with_all = ["endpoint", "unix"])]
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
    /// JSON lines of accepts, refusals, closes to FILE (-: stderr)
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
    /// Connect timeout (status 3 when it expires)
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
/// `sendfile --verify=DIGEST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyDigest {
    /// BLAKE3 (the default; b3sum prints the same)
    Blake3,
    /// SHA-256 (sha256sum prints the same)
    Sha256,
}

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
    override_usage = "sockcat udp-recv [OPTIONS] [ADDR] PORT\n       sockcat udp-recv [OPTIONS] --unix PATH"
)]
pub struct UdpRecvArgs {
    /// The address to bind (default: every address) and the port (0 picks one)
    #[arg(value_names = ["ADDR", "PORT"], num_args = 1..=2, action = clap::ArgAction::Set, required_unless_present_any = ["unix", "systemd"])]
    pub endpoint: Vec<String>,
    /// Receive on the Unix datagram socket PATH instead (`@NAME`: abstract, no file)
    ///
    /// A stale socket file at PATH is replaced, a live one is "address in use"; the file is removed
    /// when udp-recv ends (also at Ctrl-C). --echo answers senders that have a name (udp-send binds one).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["endpoint", "group", "reuseaddr", "reuseport"])]
    pub unix: Option<PathBuf>,
    /// Take the socket from systemd socket activation
    ///
    /// No ADDR PORT then.
    /// The first datagram socket (UDP or Unix) passed by LISTEN_PID/LISTEN_FDS (fd 3 on).
    #[arg(long, conflicts_with_all = ["endpoint", "unix", "group", "reuseaddr", "reuseport"])]
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
    /// Each read of stdin (a line from a terminal) is one datagram, sent from the receiving port to
    /// whoever sent the last datagram; what is typed before anyone sent waits for the first sender.
    #[arg(long, conflicts_with = "echo")]
    pub reply: bool,
    /// Send each datagram back to its sender
    ///
    /// Never to source port 0 or to this receiver's own address (a spoofed datagram from itself would
    /// loop), nor to an unnamed Unix sender.
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
    /// the port the client sent to. Nothing is printed on stdout. A session ends after --session-idle
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

#[derive(Debug, Args)]
#[command(
    after_long_help = SENDFILE_EXAMPLES,
    override_usage = "sockcat sendfile [OPTIONS] FILE HOST PORT\n       \
                      sockcat sendfile [OPTIONS] FILE HOST:PORT\n       \
                      sockcat sendfile --receive [OPTIONS] [ADDR] PORT"
)]
pub struct SendfileArgs {
    /// Receive: accept one connection on [ADDR] PORT and write what arrives to -o FILE (default stdout)
    #[arg(long)]
    pub receive: bool,
    /// FILE HOST PORT (or FILE HOST:PORT, tcp://HOST:PORT, unix:PATH) to send; [ADDR] PORT with --receive
    #[arg(value_names = ["FILE", "HOST", "PORT"], required = true, num_args = 1..=3, action = clap::ArgAction::Set)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub family: FamilyOpts,
    /// Start at byte N of FILE
    #[arg(long, value_name = "N", conflicts_with = "receive")]
    pub offset: Option<u64>,
    /// Send only N bytes
    #[arg(long, value_name = "N", conflicts_with = "receive")]
    pub count: Option<u64>,
    /// Frame the transfer (name, size, digest) and have the receiver check it; both sides need it
    ///
    /// The sender picks the digest: BLAKE3 by default, `--verify=sha256` for SHA-256 (what sha256sum
    /// computes). A receiver with plain --verify accepts either; `--verify=DIGEST` on the receiver
    /// accepts only that one. With -v both sides print the digest as `HEX  NAME`, the line b3sum or
    /// sha256sum prints for the same bytes.
    #[arg(
        long,
        value_name = "DIGEST",
        num_args = 0..=1,
        require_equals = true,
        value_enum
    )]
    pub verify: Option<Option<VerifyDigest>>,
    /// With --receive: write to FILE (or into DIR, keeping the sender's name; needs --verify)
    #[arg(short = 'o', long, value_name = "FILE|DIR", requires = "receive")]
    pub output: Option<PathBuf>,
    /// With --receive: replace an existing output file
    #[arg(long, requires = "receive")]
    pub force: bool,
    /// Connect timeout, or with --receive the longest wait for the sender (status 3)
    #[arg(short = 'w', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Give up (status 3) once no byte has moved for DUR, on either side
    ///
    /// Any byte moved resets the timer, including bytes the receiver's TCP acknowledges while one
    /// sendfile call is still under way. A --verify sender also waits for the receiver's answer at
    /// most DUR (without -i: 60s) after the last byte moved.
    #[arg(short = 'i', long, value_name = "DUR", value_parser = parse_duration_arg)]
    pub idle_timeout: Option<Duration>,
    /// Sender: keep retrying the connection until it succeeds or DUR has passed (status 3)
    ///
    /// Refused, unreachable and timed-out attempts are retried, as with `connect --wait-for`.
    #[arg(long, value_name = "DUR", value_parser = parse_duration_arg, conflicts_with = "receive")]
    pub wait_for: Option<Duration>,
    /// No progress bar (it is shown only when stderr is a terminal anyway)
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub proxy: ProxyOpts,
    #[command(flatten)]
    pub tls: TlsClientOpts,
    /// With --receive --tls: require a client certificate that chains to FILE (PEM)
    ///
    /// The sender gives it with --cert and --key; one without fails its handshake (status 1).
    #[arg(
        long,
        value_name = "FILE",
        requires = "receive",
        hide_short_help = true
    )]
    pub client_ca: Option<PathBuf>,
    #[command(flatten)]
    pub sockopts: SessionSockopts,
    /// Multipath TCP (IPPROTO_MPTCP)
    ///
    /// Where the kernel refuses it (net.mptcp.enabled=0), plain TCP, said with -v.
    #[arg(long, hide_short_help = true)]
    pub mptcp: bool,
    /// Say more on stderr: `listening on`, `connection from`, and a summary (bytes, seconds, MiB/s)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}
