//! `sockcat connect`: open a TCP or Unix-domain stream connection and relay it to stdin/stdout, or
//! probe ports with `-z`.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;

use super::{connected_line, proxy_chain};
use crate::cli::ConnectArgs;
use crate::exit;
use crate::net::addr::{
    Family, HostPort, Target, check_host, parse_target, resolve_local, split_host_port,
    take_tls_scheme,
};
use crate::net::connect::{ConnectOpts, connect_with, retry};
use crate::net::parse::parse_port_list;
use crate::net::probe::{Outcome, probe_all_then};
use crate::net::server::exec::{self, ExecSpec};
use crate::net::server::relayed;
use crate::net::socket;
use crate::net::sockopt::SockSettings;
use crate::net::stream::Endpoint;
use crate::net::stream::relay::{RelayConfig, join, relay};
use crate::net::stream::tls;
use crate::stdio::{Input, Output};
use socket2::{Domain, Type};

/// The probe timeout when `-w` is not given: a filtered port must not hang a CI job for minutes.
pub(crate) const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn run(args: &ConnectArgs) -> Result<()> {
    // `tls://HOST:PORT` is `--tls HOST:PORT`.
    let (target_args, forced_tls) = take_tls_scheme(&args.target);
    // Built before connecting: a bad PEM file is status 2 before any traffic.
    let tls = match super::client_tls(&args.tls, forced_tls)? {
        Some(opts) => Some(tls::Client::new(&opts)?),
        None => None,
    };
    let family = Family::from(args.family);
    let source = match &args.source {
        Some(s) => Some(resolve_local(s, 0, family)?),
        None => None,
    };
    let mut opts = ConnectOpts {
        family,
        timeout: args.timeout,
        source,
        source_port: args.source_port,
        nodelay: args.nodelay,
        keepalive: args.keepalive,
        proxies: proxy_chain(&args.proxy)?,
        sockopts: SockSettings::parse(&args.sockopts.list)?,
        mptcp: args.mptcp,
        watch: None,
    };
    if args.unix.is_some() {
        opts.sockopts.check(Domain::UNIX, Type::STREAM)?;
    }
    if args.scan {
        if opts.timeout.is_none() {
            opts.timeout = Some(DEFAULT_PROBE_TIMEOUT);
        }
        return scan(args, &target_args, &opts, tls.as_ref());
    }
    let cfg = super::relay_config(&args.relay)?;
    // -e / -c: the program must exist before anything is connected.
    let exec = match (&args.exec, &args.sh_exec) {
        (Some(line), _) => Some(ExecSpec {
            pty: args.pty,
            stderr: args.stderr,
            ..ExecSpec::direct(line)?
        }),
        (None, Some(cmd)) => Some(ExecSpec {
            pty: args.pty,
            stderr: args.stderr,
            ..ExecSpec::shell(cmd)
        }),
        (None, None) if args.pty => {
            return Err(exit::usage("--pty runs the program of -e or -c: give one"));
        }
        (None, None) => None,
    };
    // With -v, the first failure that --wait-for retries is said once: the wait has begun.
    let mut told = false;
    let on_retry = |err: &anyhow::Error| {
        if args.verbose > 0 && !told {
            told = true;
            crate::diag!("not up yet, retrying: {}", exit::render(err));
        }
    };
    let target = match &args.unix {
        Some(path) => Target::Unix(path.clone()),
        None => parse_target(&target_args)?,
    };
    let sock = match &target {
        Target::Unix(path) => {
            if !opts.proxies.is_empty() {
                return Err(exit::usage("--proxy does not apply to a Unix socket"));
            }
            retry(
                &path.display().to_string(),
                args.timeout,
                args.wait_for,
                on_retry,
                |timeout| socket::unix_connect(path, timeout, None),
            )
            .and_then(|sock| opts.sockopts.apply(&sock).map(|()| sock))?
        }
        Target::Tcp(target) => {
            let (sock, addr) = connect_with(target, &opts, args.wait_for, on_retry)?;
            if args.verbose > 0 {
                super::mptcp_note(opts.mptcp);
                crate::diag!("{}", connected_line(target, &addr, &opts.proxies));
            }
            sock
        }
    };
    if let Some(client) = &tls {
        let host = match &target {
            Target::Tcp(t) => t.host.clone(),
            Target::Unix(_) => "localhost".to_string(),
        };
        // -e/-c: the program's SOCKCAT_REMOTE_*/LOCAL_* come from the socket the session takes.
        let addrs = match &exec {
            Some(_) => Some(sock.try_clone()?),
            None => None,
        };
        let (stream, summary) = client.handshake(sock, &host, args.timeout)?;
        if args.verbose > 0 {
            crate::diag!("{}", summary.line());
        }
        if args.tls.show_cert {
            for line in summary.cert_lines() {
                crate::diag!("{line}");
            }
        }
        if let (Some(spec), Some(addrs)) = (&exec, addrs) {
            super::listen::end_children_on_signals();
            let verbose = args.verbose > 0;
            return relayed::serve_on_tls(spec, addrs, stream, &summary, &cfg, verbose);
        }
        let input = if cfg.recv_only { None } else { Input::stdin() };
        let local = Endpoint::stdio(input, Output::stdout()?);
        return join(local, Endpoint::tls(stream, args.verbose > 0), &cfg);
    }
    if let Some(spec) = exec {
        // -i is sockcat's to enforce: the bytes must pass through it.
        if relayed::wanted(&spec, &cfg) || cfg.idle_timeout.is_some() {
            super::listen::end_children_on_signals();
            return relayed::serve(&spec, sock, &cfg);
        }
        return run_program(&spec, &sock, &cfg);
    }
    let input = if cfg.recv_only { None } else { Input::stdin() };
    relay(sock, input, Output::stdout()?, &cfg)
}

/// `-e` / `-c`: the program is the local end, with the connection as its stdin and stdout (as
/// `listen -e` runs it, in a process group of its own that SIGINT/SIGTERM end with us). Once it exits,
/// FIN after its output, and a bounded wait for the peer's close, so its last bytes are not lost to a
/// reset. Ok when it succeeded.
fn run_program(spec: &ExecSpec, sock: &socket2::Socket, cfg: &RelayConfig) -> Result<()> {
    use std::io::Read;
    super::listen::end_children_on_signals();
    let mut running = exec::spawn(spec, sock, cfg.send_only, cfg.recv_only)?;
    running
        .child
        .wait()
        .map_err(|e| anyhow::anyhow!(e).context(format!("wait for {}", spec.program)))?;
    let result = running.exited(spec).unwrap_or(Ok(()));
    let _ = sock.shutdown(std::net::Shutdown::Write);
    let until = std::time::Instant::now() + exec::LINGER;
    let mut sink = [0u8; 16 * 1024];
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match (&*sock).read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    result
}

/// The probe targets: `HOST PORTLIST...` (nc's `-z HOST 22 80`), or one or more `HOST:PORTLIST`.
fn scan_targets(args: &[String]) -> Result<Vec<HostPort>> {
    let groups: Vec<(String, Vec<u16>)> = match args {
        [host, lists @ ..] if !lists.is_empty() && lists.iter().all(|p| !p.contains(':')) => {
            let host = check_host(host)?;
            let mut ports = Vec::new();
            for list in lists {
                ports.extend(parse_port_list(list)?);
            }
            vec![(host, ports)]
        }
        _ => args
            .iter()
            .map(|arg| {
                let (host, ports) = split_host_port(arg)?;
                Ok((check_host(&host)?, parse_port_list(&ports)?))
            })
            .collect::<Result<_>>()?,
    };
    Ok(groups
        .into_iter()
        .flat_map(|(host, ports)| {
            ports.into_iter().map(move |port| HostPort {
                host: host.clone(),
                port,
            })
        })
        .collect())
}

/// `connect -z --tls`: the handshake and the verification must succeed, and with `--min-days N` the
/// certificate must last N more days. What the handshake found, for `--json`.
fn tls_probe(
    client: &tls::Client,
    args: &ConnectArgs,
    timeout: Option<Duration>,
    sock: socket2::Socket,
    target: &HostPort,
) -> Result<serde_json::Value> {
    let (_stream, summary) = client.handshake(sock, &target.host, timeout)?;
    let leaf = summary.leaf();
    if args.tls.show_cert {
        for line in summary.cert_lines() {
            crate::diag!("{target}: {line}");
        }
    }
    let days_left = leaf.as_ref().map(|l| tls::cert::days_left(l.not_after));
    if let (Some(min), Some(days), Some(leaf)) = (args.tls.min_days, days_left, &leaf)
        && days < i64::from(min)
    {
        return Err(anyhow::anyhow!(
            "certificate expires in {days} days (on {}), fewer than --min-days {min}",
            tls::cert::show_time(leaf.not_after)
        ));
    }
    Ok(serde_json::json!({
        "version": summary.version,
        "cipher": summary.cipher,
        "alpn": summary.alpn,
        "not_after": leaf.as_ref().map(|l| tls::cert::show_time(l.not_after)),
        "days_left": days_left,
        "pin": leaf.map(|l| l.pin),
    }))
}

fn scan(
    args: &ConnectArgs,
    target: &[String],
    opts: &ConnectOpts,
    tls: Option<&tls::Client>,
) -> Result<()> {
    if args.unix.is_some() {
        return Err(exit::usage("-z probes TCP ports; it does not take --unix"));
    }
    let targets = scan_targets(target)?;
    let outcomes = probe_all_then(&targets, opts, args.wait_for, |sock, target| {
        Ok(match tls {
            Some(client) => Some(tls_probe(client, args, opts.timeout, sock, target)?),
            None => None,
        })
    });
    let mut out = std::io::stdout().lock();
    let (mut closed, mut timed_out) = (0, 0);
    // The first failure's reason, for the error line (stdout's format has no room for it).
    let mut first_failure: Option<String> = None;
    for (target, outcome) in targets.iter().zip(&outcomes) {
        let (state, reason) = match outcome {
            Outcome::Open(_) => ("open", None),
            Outcome::Closed(why) => {
                closed += 1;
                ("closed", Some(why))
            }
            Outcome::TimedOut(why) => {
                timed_out += 1;
                ("timeout", Some(why))
            }
        };
        if let (None, Some(why)) = (&first_failure, reason) {
            first_failure = Some(format!("{target}: {why}"));
        }
        let line = if args.json {
            let mut doc =
                serde_json::json!({"host": target.host, "port": target.port, "status": state});
            if let Some(why) = reason {
                doc["error"] = why.clone().into();
            }
            if let Outcome::Open(Some(found)) = outcome {
                doc["tls"] = found.clone();
            }
            Some(doc.to_string())
        } else if reason.is_none() || args.verbose > 0 {
            Some(format!("{target} {state}"))
        } else {
            None
        };
        if let Some(line) = line {
            writeln!(out, "{line}").map_err(|e| exit::output_error(e, "stdout"))?;
        }
        if args.verbose > 1
            && let Some(why) = reason
        {
            crate::diag!("{target}: {why}");
        }
    }
    out.flush().map_err(|e| exit::output_error(e, "stdout"))?;
    let total = targets.len();
    let why = match (closed + timed_out, first_failure) {
        (1, Some(why)) => format!(" ({why})"),
        (_, Some(why)) => format!(" (the first: {why})"),
        _ => String::new(),
    };
    match (closed, timed_out) {
        (0, 0) => Ok(()),
        (0, t) => Err(exit::timeout(format!(
            "{t} of {total} probed ports timed out{why}"
        ))),
        (c, t) => Err(anyhow::anyhow!(
            "{} of {total} probed ports not open{why}",
            c + t
        )),
    }
}
