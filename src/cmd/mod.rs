//! One thin module per subcommand, and the one dispatch match.

mod byteorder;
mod connect;
mod generate;
mod listen;
mod resolve;
mod sendfile;
mod serving;
mod sockopt;
mod udp_recv;
mod udp_send;

use crate::cli::{Command, FamilyOpts, ProxyOpts, RelayOpts, TlsClientOpts, TlsServerOpts};
use crate::net::addr::{Family, HostPort, display};
use crate::net::stream::proxy::{Proxy, parse_chain};
use crate::net::stream::relay::RelayConfig;
use crate::net::stream::tls;

/// Runs a subcommand.
pub(crate) fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Listen(args) => listen::run(&args),
        Command::Connect(args) => connect::run(&args),
        Command::Resolve(args) => resolve::run(&args),
        Command::Sockopt(args) => sockopt::run(&args),
        Command::Byteorder(args) => byteorder::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::UdpSend(args) => udp_send::run(&args),
        Command::UdpRecv(args) => udp_recv::run(&args),
        Command::Sendfile(args) => sendfile::run(&args),
    }
}

// The command line's option groups become the core's option types here, at the edge: nothing under
// `net/` knows the command line.

impl From<FamilyOpts> for Family {
    fn from(opts: FamilyOpts) -> Self {
        Family::from_flags(opts.ipv4, opts.ipv6)
    }
}

/// The relay's settings from the command line; `--hexdump=FILE` is opened here (status 2 when it
/// cannot be).
pub(crate) fn relay_config(o: &RelayOpts) -> anyhow::Result<RelayConfig> {
    let hexdump_file = match &o.hexdump {
        Some(Some(path)) => Some(crate::net::stream::hexdump::DumpFile::open(path)?),
        _ => None,
    };
    Ok(RelayConfig {
        recv_only: o.recv_only,
        send_only: o.send_only,
        close_on_eof: o.close_on_eof,
        no_shutdown: o.no_shutdown,
        crlf: o.crlf,
        hexdump: o.hexdump.is_some(),
        hexdump_file,
        idle_timeout: o.idle_timeout,
        progress: o.progress,
    })
}

/// `--proxy` URLs and `--proxy-auth-file` as a chain (first hop first; empty: connect directly).
pub(crate) fn proxy_chain(o: &ProxyOpts) -> anyhow::Result<Vec<Proxy>> {
    parse_chain(&o.proxy, o.proxy_auth_file.as_deref())
}

/// The `-v` line after connecting: `connected to ADDR`, or through proxies
/// `connected to HOST:PORT through socks5://127.0.0.1:1080 (127.0.0.1:1080)`.
pub(crate) fn connected_line(
    target: &HostPort,
    addr: &std::net::SocketAddr,
    proxies: &[Proxy],
) -> String {
    if proxies.is_empty() {
        return format!("connected to {}", display(addr));
    }
    let chain: Vec<String> = proxies.iter().map(|p| p.to_string()).collect();
    format!(
        "connected to {target} through {} ({})",
        chain.join(" -> "),
        display(addr)
    )
}

/// With -v: `--mptcp` fell back to plain TCP because the kernel refused it.
pub(crate) fn mptcp_note(asked: bool) {
    if asked && crate::net::socket::mptcp_refused() {
        crate::diag!("mptcp: refused by the kernel (net.mptcp.enabled=0?); using plain TCP");
    }
}

/// The access list of a listener: `--allow`, `--deny` and their files, host names resolved now.
pub(crate) fn acl(args: &crate::cli::ListenArgs) -> anyhow::Result<crate::net::server::acl::Acl> {
    crate::net::server::acl::Acl::from_rules(
        &args.allow,
        &args.allow_file,
        &args.deny,
        &args.deny_file,
    )
}

/// The client's TLS settings, or None without `--tls` (`forced`: a `tls://` endpoint). A TLS option
/// without TLS is a usage error rather than silently ignored.
pub(crate) fn client_tls(
    o: &TlsClientOpts,
    forced: bool,
) -> anyhow::Result<Option<tls::ClientOpts>> {
    if !(o.tls || forced) {
        let stray = [
            (o.sni.is_some(), "--sni"),
            (o.ca.is_some(), "--ca"),
            (!o.pin.is_empty(), "--pin"),
            (o.insecure, "--insecure"),
            (o.cert.is_some(), "--cert"),
            (!o.alpn.is_empty(), "--alpn"),
            (o.tls_min.is_some(), "--tls-min"),
            (o.show_cert, "--show-cert"),
            (o.min_days.is_some(), "--min-days"),
        ];
        if let Some((_, flag)) = stray.iter().find(|(set, _)| *set) {
            return Err(crate::exit::usage(format!(
                "{flag} needs --tls (or a tls://HOST:PORT endpoint)"
            )));
        }
        return Ok(None);
    }
    Ok(Some(tls::ClientOpts {
        sni: o.sni.clone(),
        ca: o.ca.clone(),
        pins: o.pin.clone(),
        insecure: o.insecure,
        identity: identity(&o.cert, &o.key),
        alpn: o.alpn.clone(),
        tls13_only: o.tls_min.as_deref() == Some("1.3"),
    }))
}

/// The receiving side's TLS settings (`sendfile --receive --tls`), from the client's option group
/// (`--cert`/`--key` are then the server's identity) and `--client-ca`; None without `--tls`. The
/// options that only a client has are a usage error there.
pub(crate) fn receiver_tls(
    o: &TlsClientOpts,
    client_ca: Option<&std::path::Path>,
) -> anyhow::Result<Option<tls::ServerOpts>> {
    if !o.tls {
        if client_ca.is_some() {
            return Err(crate::exit::usage("--client-ca needs --tls"));
        }
        // Everything else is refused as a client would refuse it.
        return client_tls(o, false).map(|_| None);
    }
    let client_only = [
        (o.sni.is_some(), "--sni"),
        (
            o.ca.is_some(),
            "--ca (the receiver checks senders with --client-ca)",
        ),
        (!o.pin.is_empty(), "--pin"),
        (o.insecure, "--insecure"),
        (o.show_cert, "--show-cert"),
        (o.min_days.is_some(), "--min-days"),
    ];
    if let Some((_, flag)) = client_only.iter().find(|(set, _)| *set) {
        return Err(crate::exit::usage(format!(
            "{flag} is for the sending side, not --receive"
        )));
    }
    Ok(Some(tls::ServerOpts {
        identity: identity(&o.cert, &o.key),
        client_ca: client_ca.map(|p| p.to_path_buf()),
        alpn: o.alpn.clone(),
        tls13_only: o.tls_min.as_deref() == Some("1.3"),
        no_tickets: true,
    }))
}

/// The server's TLS settings, or None without `--tls`.
pub(crate) fn server_tls(o: &TlsServerOpts) -> Option<tls::ServerOpts> {
    o.tls.then(|| tls::ServerOpts {
        identity: identity(&o.cert, &o.key),
        client_ca: o.client_ca.clone(),
        alpn: o.alpn.clone(),
        tls13_only: o.tls_min.as_deref() == Some("1.3"),
        no_tickets: false,
    })
}

fn identity(
    cert: &Option<std::path::PathBuf>,
    key: &Option<std::path::PathBuf>,
) -> Option<tls::Identity> {
    match (cert, key) {
        (Some(cert), Some(key)) => Some(tls::Identity {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    }
}
