//! `sockcat sendfile`: send a file (or part of one) with sendfile(2), or receive one with `--receive`;
//! `--verify` checks name, size and a digest (BLAKE3, or SHA-256) end to end; `--tls` runs either
//! inside TLS.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::cli::{SendfileArgs, VerifyDigest};
use crate::exit;
use crate::net::addr::{
    Family, Target, display, parse_bind_endpoint, parse_target, take_tls_scheme,
};
use crate::net::connect::{ConnectOpts, connect_with, retry};
use crate::net::socket::{self, ListenOpts, describe_sockaddr};
use crate::net::sockopt::SockSettings;
use crate::net::stream::tls;
use crate::net::transfer::verify::{Digest, Header};
use crate::net::transfer::wire::Wire;
use crate::net::transfer::{self, Range, dest};
use crate::progress;

pub(crate) fn run(args: &SendfileArgs) -> Result<()> {
    if args.receive {
        if !args.proxy.proxy.is_empty() {
            return Err(exit::usage(
                "--proxy is for sending; --receive does not take it",
            ));
        }
        receive(args)
    } else {
        send(args)
    }
}

/// `N bytes in S s (R MiB/s)`.
fn summary(verb: &str, bytes: u64, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        bytes as f64 / secs / (1u64 << 20) as f64
    } else {
        0.0
    };
    format!("{verb} {bytes} bytes in {secs:.3} s ({rate:.1} MiB/s)")
}

/// Opens FILE for sending: missing, a directory, unreadable or not a regular file is status 2.
fn open_source(path: &Path) -> Result<(File, u64)> {
    let bad = |why: String| exit::usage(format!("{}: {why}", path.display()));
    let file = File::open(path).map_err(|e| bad(exit::describe_io(&e)))?;
    let meta = file.metadata().map_err(|e| bad(exit::describe_io(&e)))?;
    if meta.is_dir() {
        return Err(bad("is a directory".into()));
    }
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    Ok((file, meta.len()))
}

fn send(args: &SendfileArgs) -> Result<()> {
    let (path, endpoint) = match args.args.split_first() {
        Some((path, rest)) if !rest.is_empty() => (PathBuf::from(path), rest),
        _ => {
            return Err(exit::usage(
                "give FILE HOST PORT (or --receive [ADDR] PORT)",
            ));
        }
    };
    if args.client_ca.is_some() {
        return Err(exit::usage("--client-ca is for --receive"));
    }
    // `tls://HOST:PORT` is `--tls HOST:PORT`.
    let (endpoint, forced_tls) = take_tls_scheme(endpoint);
    let target = parse_target(&endpoint)?;
    // Built before connecting: a bad PEM file is status 2 before any traffic.
    let tls = match super::client_tls(&args.tls, forced_tls)? {
        Some(opts) => Some(tls::Client::new(&opts)?),
        None => None,
    };
    let (file, size) = open_source(&path)?;
    let offset = args.offset.unwrap_or(0);
    if offset > size {
        return Err(exit::usage(format!(
            "--offset {offset} is past the end of {} ({size} bytes)",
            path.display()
        )));
    }
    let count = args.count.unwrap_or(size - offset);
    if count > size - offset {
        return Err(exit::usage(format!(
            "--count {count}: {} has only {} bytes after offset {offset}",
            path.display(),
            size - offset
        )));
    }
    let range = Range { offset, count };

    let opts = ConnectOpts {
        family: Family::from(args.family),
        timeout: args.timeout,
        proxies: super::proxy_chain(&args.proxy)?,
        sockopts: SockSettings::parse(&args.sockopts.list)?,
        mptcp: args.mptcp,
        ..ConnectOpts::default()
    };
    let mut told = false;
    let on_retry = |err: &anyhow::Error| {
        if args.verbose > 0 && !told {
            told = true;
            crate::diag!("not up yet, retrying: {}", exit::render(err));
        }
    };
    let sock = match &target {
        Target::Tcp(target) => {
            let (sock, addr) = connect_with(target, &opts, args.wait_for, on_retry)?;
            if args.verbose > 0 {
                super::mptcp_note(args.mptcp);
                crate::diag!("{}", super::connected_line(target, &addr, &opts.proxies));
            }
            sock
        }
        Target::Unix(path) => {
            if !opts.proxies.is_empty() {
                return Err(exit::usage("--proxy does not apply to a Unix socket"));
            }
            let name = path.display().to_string();
            retry(&name, args.timeout, args.wait_for, on_retry, |timeout| {
                socket::unix_connect(path, timeout, None)
            })
            .and_then(|sock| opts.sockopts.apply(&sock).map(|()| sock))?
        }
    };
    let mut wire = match &tls {
        Some(client) => {
            let host = match &target {
                Target::Tcp(t) => t.host.as_str(),
                Target::Unix(_) => "localhost",
            };
            let (stream, summary) = client.handshake(sock, host, args.timeout)?;
            if args.verbose > 0 {
                crate::diag!("{}", summary.line());
            }
            if args.tls.show_cert {
                for line in summary.cert_lines() {
                    crate::diag!("{line}");
                }
            }
            Wire::tls(stream)
        }
        None => Wire::Plain(sock),
    };
    let started = Instant::now();
    let bar = progress::bytes(Some(count), !args.no_progress);
    let moved = |n: u64| bar.inc(n);
    let name = path.file_name().map(|n| n.as_bytes()).unwrap_or(b"file");
    let verify = args
        .verify
        .map(|digest| (name, digest.map(digest_of).unwrap_or_default()));
    let result = transfer::send(&mut wire, &file, range, verify, args.idle_timeout, &moved);
    bar.finish_and_clear();
    let value = result?;
    if args.verbose > 0 {
        if let Some(value) = value {
            crate::diag!("{}  {}", hex::encode(value), path.display());
        }
        crate::diag!("{}", summary("sent", count, started));
    }
    Ok(())
}

fn digest_of(arg: VerifyDigest) -> Digest {
    match arg {
        VerifyDigest::Blake3 => Digest::Blake3,
        VerifyDigest::Sha256 => Digest::Sha256,
    }
}

fn receive(args: &SendfileArgs) -> Result<()> {
    let family = Family::from(args.family);
    let (addr, port) = parse_bind_endpoint(&args.args, family, "tcp")?;
    let dest = dest::destination(args.output.as_deref(), args.verify.is_some(), args.force)?;
    let tls_opts = super::receiver_tls(&args.tls, args.client_ca.as_deref())?;
    let opts = ListenOpts {
        sockopts: SockSettings::parse(&args.sockopts.list)?,
        mptcp: args.mptcp,
        ..ListenOpts::default()
    };
    let (listener, local) = socket::tcp_listener(addr, port, family, &opts)?;
    let shown = display(&local);
    // The TLS configuration (and the self-signed certificate, for localhost and this address).
    let tls = match &tls_opts {
        Some(o) => {
            let names = super::listen::self_signed_names(vec![local.ip().to_string()]);
            Some(tls::Server::new(o, &names)?)
        }
        None => None,
    };
    if args.verbose > 0 {
        super::mptcp_note(args.mptcp);
        crate::diag!("listening on {shown}");
        if let Some(tls) = &tls {
            crate::diag!("tls pin {}", tls.pin);
        }
    }
    let (sock, peer) = match socket::accept(&listener, args.timeout)
        .with_context(|| format!("accept on {shown}"))?
    {
        Some(pair) => pair,
        None => {
            let waited = humantime::format_duration(args.timeout.unwrap_or_default());
            return Err(exit::timeout(format!(
                "no sender connected to {shown} within {waited}"
            )));
        }
    };
    drop(listener);
    if args.verbose > 0 {
        crate::diag!("connection from {}", describe_sockaddr(&peer));
    }
    let mut wire = match &tls {
        Some(server) => {
            // The handshake has -i, else the server's 10 s: a silent sender does not hold us.
            let timeout = args.idle_timeout.unwrap_or(tls::HANDSHAKE_TIMEOUT);
            let (stream, summary) = server
                .handshake(sock, Some(timeout))
                .with_context(|| format!("sender {}", describe_sockaddr(&peer)))?;
            if args.verbose > 0 {
                crate::diag!("{}", summary.line());
            }
            Wire::tls(stream)
        }
        None => Wire::Plain(sock),
    };

    let started = Instant::now();
    let bar = progress::bytes(None, !args.no_progress);
    let moved = |n: u64| bar.inc(n);
    let on_header = |header: &Header| progress::set_total(&bar, Some(header.size));
    let result = if let Some(accept) = args.verify {
        let accept = accept.map(digest_of);
        let received = dest.receive_verified(
            &mut wire,
            args.force,
            args.idle_timeout,
            accept,
            &on_header,
            &moved,
        );
        received.map(|(header, value)| {
            if args.verbose > 0 {
                let target = dest.target_shown(&header);
                crate::diag!("{}  {target}", hex::encode(value));
            }
            header.size
        })
    } else {
        dest.receive_plain(
            &mut wire,
            args.force,
            args.idle_timeout,
            &moved,
            !bar.is_hidden(),
        )
    };
    bar.finish_and_clear();
    let bytes = result?;
    if args.verbose > 0 {
        crate::diag!("{}", summary("received", bytes, started));
    }
    Ok(())
}
