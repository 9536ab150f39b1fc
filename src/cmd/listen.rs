//! `sockcat listen`: accept TCP or Unix-domain stream connections and relay them to stdin/stdout.

use std::net::IpAddr;

use anyhow::{Context, Result};
use socket2::Socket;

use crate::cli::ListenArgs;
use crate::exit;
use crate::net::addr::{Family, check_host, parse_port, resolve_local, split_host_port};
use crate::net::relay::{Input, Output, RelayConfig, relay};
use crate::net::socket::{self, ListenOpts, UnixPathGuard, describe_sockaddr};

pub fn run(args: &ListenArgs) -> Result<()> {
    let family = Family::from(args.family);
    let opts = ListenOpts {
        reuseaddr: !args.no_reuseaddr,
        reuseport: args.reuseport,
        backlog: args.backlog,
    };
    let cfg = RelayConfig::from(&args.relay);
    // Open the output first: a bad -o path is invalid input, found before anyone connects.
    let output = match &args.output {
        Some(path) => Output::create(path)?,
        None => Output::stdout()?,
    };

    let (listener, _guard, shown): (Socket, Option<UnixPathGuard>, String) = match &args.unix {
        Some(path) => {
            let (sock, guard) = socket::unix_listener(path, &opts)?;
            (sock, Some(guard), path.display().to_string())
        }
        None => {
            let (addr, port) = parse_listen_endpoint(&args.endpoint, family)?;
            let (sock, local) = socket::tcp_listener(addr, port, family, &opts)?;
            (sock, None, crate::net::addr::display(&local))
        }
    };
    if args.verbose > 0 {
        eprintln!("listening on {shown}");
    }

    let (conn, peer) = match socket::accept(&listener, args.timeout)
        .with_context(|| format!("accept on {shown}"))?
    {
        Some(pair) => pair,
        None => {
            let waited = humantime::format_duration(args.timeout.unwrap_or_default());
            return Err(exit::timeout(format!(
                "no client connected to {shown} within {waited}"
            )));
        }
    };
    if args.verbose > 0 {
        eprintln!("connection from {}", describe_sockaddr(&peer));
    }
    turn_away_others(listener, args.verbose > 0);

    let input = if cfg.recv_only { None } else { Input::stdin() };
    relay(conn, input, output, &cfg)
}

/// One client at a time: while the session runs, any further client is closed at once.
fn turn_away_others(listener: Socket, verbose: bool) {
    std::thread::spawn(move || {
        while let Ok(Some((extra, peer))) = socket::accept(&listener, None) {
            if verbose {
                eprintln!(
                    "refused {}: busy with another client",
                    describe_sockaddr(&peer)
                );
            }
            drop(extra);
        }
    });
}

/// `[ADDR] PORT`: the address to bind (None: every address) and the port.
fn parse_listen_endpoint(endpoint: &[String], family: Family) -> Result<(Option<IpAddr>, u16)> {
    match endpoint {
        [one] if one.contains(':') => {
            let (host, port) = split_host_port(one)?;
            let port = parse_port(&port)?;
            Ok((Some(resolve_local(&host, port, family)?.ip()), port))
        }
        [port] => Ok((None, parse_port(port)?)),
        [addr, port] => {
            let port = parse_port(port)?;
            let host = check_host(addr)?;
            Ok((Some(resolve_local(&host, port, family)?.ip()), port))
        }
        _ => Err(exit::usage("give [ADDR] PORT or --unix PATH")),
    }
}
