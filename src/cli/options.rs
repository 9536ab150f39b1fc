//! Option groups that several subcommands flatten in, so a flag is spelled the same wherever it applies.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::net::parse::parse_duration_arg;
use crate::net::stream::tls::cert::parse_pin as parse_pin_arg;

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
