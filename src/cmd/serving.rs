//! `listen --forward` and `listen --proxy-server`: their options turned into the server's modes, and
//! the proxy server's safe default (loopback, and no open proxy on another address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::cli::{ListenArgs, ProxyOpts, ServeOpts};
use crate::exit;
use crate::net::addr::Family;
use crate::net::connect::ConnectOpts;
use crate::net::proxy_protocol::Version;
use crate::net::server::Mode;
use crate::net::server::forward::{Admission, Forward, Target, parse_target};
use crate::net::server::proxy_server::{
    DestPolicy, HANDSHAKE_TIMEOUT, ProxyServer, parse_dest_rule, read_users,
};
use crate::net::stream::tls;

/// The mode for `--forward` or `--proxy-server`; None for the other modes (which take none of their
/// options).
pub(crate) fn mode(args: &ListenArgs, family: Family) -> Result<Option<Mode>> {
    let o = &args.serve;
    if o.forward.is_none() && !o.proxy_server {
        if o.accept_proxy_protocol {
            return Err(exit::usage(
                "--accept-proxy-protocol works with --forward and --proxy-server",
            ));
        }
        return Ok(None);
    }
    let admission = Admission {
        accept_proxy_protocol: o.accept_proxy_protocol,
        acl: super::acl(args)?,
        verbose: args.verbose > 0,
    };
    let relay = super::relay_config(&args.relay)?;
    if let Some(endpoint) = &o.forward {
        let connect = ConnectOpts {
            family,
            timeout: args.timeout,
            proxies: super::proxy_chain(&ProxyOpts {
                proxy: o.proxy.clone(),
                proxy_auth_file: o.proxy_auth_file.clone(),
            })?,
            ..ConnectOpts::default()
        };
        let proxy_protocol = o.proxy_protocol.as_deref().map(|v| match v {
            "v1" => Version::V1,
            _ => Version::V2,
        });
        let target = parse_target(endpoint)?;
        let origin = origin_tls(o, &target)?;
        return Ok(Some(Mode::Forward(Arc::new(Forward {
            target,
            connect,
            proxy_protocol,
            relay,
            admission,
            origin,
        }))));
    }
    // A bad rule is status 2 naming its option: `--dest-allow :99999: port 99999 is out of range`.
    let rules = |option: &str, list: &[String]| {
        list.iter()
            .map(|r| {
                parse_dest_rule(r)
                    .map_err(|e| exit::usage(format!("{option} {r}: {}", exit::render(&e))))
            })
            .collect::<Result<Vec<_>>>()
    };
    let policy = DestPolicy {
        allow: rules("--dest-allow", &o.dest_allow)?,
        deny: rules("--dest-deny", &o.dest_deny)?,
    };
    let users = o.auth_file.as_deref().map(read_users).transpose()?;
    Ok(Some(Mode::ProxyServer(Arc::new(ProxyServer {
        users,
        policy,
        handshake_timeout: args.timeout.unwrap_or(HANDSHAKE_TIMEOUT),
        family,
        relay,
        admission,
    }))))
}

/// The TLS client of a `tls://` forward target, from `--forward-ca`, `--forward-pin` and
/// `--forward-insecure` (built now: a bad PEM file is status 2 before any client). Those options
/// without a `tls://` target are a usage error, not silently ignored.
fn origin_tls(o: &ServeOpts, target: &Target) -> Result<Option<tls::Client>> {
    if !matches!(target, Target::Tls(_)) {
        for (given, flag) in [
            (o.forward_ca.is_some(), "--forward-ca"),
            (!o.forward_pin.is_empty(), "--forward-pin"),
            (o.forward_insecure, "--forward-insecure"),
        ] {
            if given {
                return Err(exit::usage(format!(
                    "{flag} needs a tls://HOST:PORT --forward endpoint"
                )));
            }
        }
        return Ok(None);
    }
    let opts = tls::ClientOpts {
        ca: o.forward_ca.clone(),
        pins: o.forward_pin.clone(),
        insecure: o.forward_insecure,
        ..tls::ClientOpts::default()
    };
    Ok(Some(
        tls::Client::new(&opts)?.insecure_flag("--forward-insecure"),
    ))
}

/// Where `--proxy-server` binds: loopback when no ADDR was given; a non-loopback ADDR only with
/// `--auth-file` or `--allow` (status 2 otherwise: that would be an open proxy).
pub(crate) fn bind_addr(
    args: &ListenArgs,
    addr: Option<SocketAddr>,
    port: u16,
    family: Family,
) -> Result<Option<SocketAddr>> {
    if !args.serve.proxy_server {
        return Ok(addr);
    }
    let Some(addr) = addr else {
        let lo: IpAddr = match family {
            Family::V6 => Ipv6Addr::LOCALHOST.into(),
            _ => Ipv4Addr::LOCALHOST.into(),
        };
        return Ok(Some(SocketAddr::new(lo, port)));
    };
    not_open(args, addr.ip())?;
    Ok(Some(addr))
}

/// `--proxy-server` on a socket it did not bind (`--systemd`): the same rule as [`bind_addr`] for
/// the address the socket is bound to (a Unix socket serves local clients only).
pub(crate) fn check_activated(args: &ListenArgs, sock: &socket2::Socket) -> Result<()> {
    if !args.serve.proxy_server {
        return Ok(());
    }
    match sock.local_addr().ok().and_then(|a| a.as_socket()) {
        Some(addr) => not_open(args, addr.ip()),
        None => Ok(()),
    }
}

/// A non-loopback `ip` for the proxy server only with `--auth-file` or `--allow`.
fn not_open(args: &ListenArgs, ip: IpAddr) -> Result<()> {
    let guarded =
        args.serve.auth_file.is_some() || !args.allow.is_empty() || !args.allow_file.is_empty();
    if !ip.to_canonical().is_loopback() && !guarded {
        return Err(exit::usage(format!(
            "--proxy-server on {ip}: without --auth-file or --allow that would be an open proxy \
             for anyone who can reach it"
        )));
    }
    Ok(())
}

/// `-w` means the connect or handshake timeout in these modes, not a wait for the first client.
pub(crate) fn first_client_timeout(args: &ListenArgs) -> Option<Duration> {
    if args.serve.forward.is_some() || args.serve.proxy_server {
        None
    } else {
        args.timeout
    }
}
