//! `sockcat listen`: accept TCP or Unix-domain stream connections; one client relayed to
//! stdin/stdout, or a server (`-k`, `--echo`, `--exec`, `--sh-exec`, `--broker`).

use std::path::PathBuf;

use std::sync::Arc;

use anyhow::Result;
use socket2::Socket;

use crate::cli::ListenArgs;
use crate::net::addr::{Family, display, parse_bind_endpoint};
use crate::net::events::{CloseReason, Events};
use crate::net::server::acl::Acl;
use crate::net::server::exec::{self, ExecSpec};
use crate::net::server::{Mode, ServeConfig, serve};
use crate::net::socket::{self, ListenOpts, UnixPathGuard};
use crate::net::stream::tls;
use crate::stdio::Output;
use crate::sys::process;

pub(crate) fn run(args: &ListenArgs) -> Result<()> {
    let family = Family::from(args.family);
    let opts = ListenOpts {
        reuseaddr: !args.no_reuseaddr,
        reuseport: args.reuseport,
        backlog: args.backlog,
        sockopts: crate::net::sockopt::SockSettings::parse(&args.sockopts.list)?,
        mptcp: args.mptcp,
    };
    let special = super::serving::mode(args, family)?;
    let serving = special.is_some();
    let mode = if let Some(mode) = special {
        mode
    } else if let Some(line) = &args.exec {
        Mode::Exec(ExecSpec {
            pty: args.pty,
            stderr: args.stderr,
            ..ExecSpec::direct(line)?
        })
    } else if let Some(cmd) = &args.sh_exec {
        Mode::Exec(ExecSpec {
            pty: args.pty,
            stderr: args.stderr,
            ..ExecSpec::shell(cmd)
        })
    } else if args.pty {
        return Err(crate::exit::usage(
            "--pty runs the program of -e or -c: give one",
        ));
    } else if args.echo {
        Mode::Echo
    } else if args.broker {
        Mode::Broker
    } else {
        Mode::Relay
    };
    let keep_open = args.keep_open || args.broker || serving;
    // --forward and --proxy-server check the access list themselves (after a PROXY header).
    let acl = if serving {
        Acl::default()
    } else {
        super::acl(args)?
    };
    // Open the output first: a bad -o path is invalid input, found before anyone connects.
    // A bad --events FILE, like a bad -o, is found before anyone connects.
    let events = crate::net::events::open_opt(args.events.as_deref())?;
    let output = match &args.output {
        Some(path) => Output::create(path)?,
        None => Output::stdout()?,
    };
    if keep_open {
        // Many clients, many descriptors: a failure here only lowers the ceiling.
        let _ = process::raise_nofile_limit();
    }

    let (listener, guard, shown): (Socket, Option<UnixPathGuard>, String) = match &args.unix {
        None if args.systemd => {
            let (sock, shown) = crate::net::activation::socket(socket2::Type::STREAM)?;
            super::serving::check_activated(args, &sock)?;
            opts.sockopts.apply(&sock)?;
            (sock, None, shown)
        }
        Some(path) => {
            let (sock, guard) = socket::unix_listener(path, &opts)?;
            (sock, guard, path.display().to_string())
        }
        None => {
            let (addr, port) = parse_bind_endpoint(
                &crate::cli::bind_words(&args.addr, &args.port),
                family,
                "tcp",
            )?;
            let addr = super::serving::bind_addr(args, addr, port, family)?;
            let (sock, local) = socket::tcp_listener(addr, port, family, &opts)?;
            (sock, None, display(&local))
        }
    };
    // The TLS configuration (and the self-signed certificate) only with --tls.
    let tls = match super::server_tls(&args.tls) {
        Some(o) => {
            let names: Vec<String> = listener
                .local_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .map(|a| vec![a.ip().to_string()])
                .unwrap_or_default();
            Some(tls::Server::new(&o, &self_signed_names(names))?)
        }
        None => None,
    };
    end_on_signals(
        args.unix.clone().filter(|p| !socket::is_abstract(p)),
        events.clone(),
    );
    if args.verbose > 0 {
        super::mptcp_note(args.mptcp);
        crate::diag!("listening on {shown}");
        if let Some(tls) = &tls {
            crate::diag!("tls pin {}", tls.pin);
        }
    }
    let cfg = ServeConfig {
        keep_open,
        max_conns: args.max_conns.map(|n| n as usize),
        acl,
        first_timeout: super::serving::first_client_timeout(args),
        relay: super::relay_config(&args.relay)?,
        verbose: args.verbose > 0,
        shown,
        events: events.clone(),
        tls,
    };
    let result = serve(listener, mode, cfg, output);
    drop(guard);
    result
}

/// The names of `listen --tls`'s self-signed certificate: localhost, the listen address (the
/// loopback addresses for a wildcard one) and this host's name.
pub(crate) fn self_signed_names(listen: Vec<String>) -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    for addr in listen {
        if addr == "0.0.0.0" || addr == "::" {
            names.extend(["127.0.0.1".to_string(), "::1".to_string()]);
        } else {
            names.push(addr);
        }
    }
    if let Ok(host) = crate::net::resolve::hostname() {
        names.push(host);
    }
    names
}

/// SIGINT and SIGTERM end the server promptly: children are told to end, a Unix socket file is
/// removed, and then sockcat dies by that same signal (its default action), so the shell sees a
/// death by signal (`$?` 130 or 143) and a `while` loop around sockcat ends at one Ctrl-C.
fn end_on_signals(unix_path: Option<PathBuf>, events: Option<Arc<Events>>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            crate::exit::ending_by_signal();
            exec::terminate_children();
            if let Some(ev) = &events {
                ev.close_all(CloseReason::Signal);
            }
            if let Some(path) = &unix_path {
                let _ = std::fs::remove_file(path);
            }
            die_by(sig);
        }
    });
}

/// SIGINT and SIGTERM end the children of `connect -e` with us.
pub(crate) fn end_children_on_signals() {
    end_on_signals(None, None);
}

/// Dies by `sig` with its default action; if that somehow returns, exits with 128 + `sig`.
pub(crate) fn die_by(sig: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    std::process::exit(128 + sig)
}
