//! `sockcat udp-recv`: receive datagrams from any number of senders and print them (raw, line, hex or
//! JSON lines), optionally echoing them back.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::cli::{UdpFormat, UdpRecvArgs};
use crate::exit;
use crate::net::addr::Family;
use crate::net::events::CloseReason;
use crate::net::udp::forward::{self, ForwardOpts};
use crate::net::udp::reply::{self, LastSender};
use crate::net::udp::sessions::{self, Tracker};
use crate::net::udp::unix;
use crate::net::udp::{Received, RecvOpts, UdpReceiver, idle_expired, parse_bind_endpoint};
use crate::stdio::Output;
use crate::sys::mmsg::Datagram;

pub(crate) fn run(args: &UdpRecvArgs) -> Result<()> {
    let family = Family::from(args.family);
    let endpoint = match &args.unix {
        _ if args.systemd => None,
        Some(_) => None,
        None => Some(parse_bind_endpoint(
            &crate::cli::bind_words(&args.addr, &args.port),
            family,
        )?),
    };
    let group =
        match &args.group {
            Some(text) => Some(text.trim().parse::<IpAddr>().map_err(|_| {
                exit::usage(format!("invalid --group {text:?}: not an IP address"))
            })?),
            None => None,
        };
    let opts = RecvOpts {
        reuseaddr: args.reuseaddr,
        reuseport: args.reuseport,
        recv_buffer: args.recv_buffer,
        group,
        timeout: args.timeout,
        sockopts: crate::net::sockopt::SockSettings::parse(&args.sockopts.list)?,
    };
    let forward = match &args.forward {
        Some(text) => Some(ForwardOpts {
            target: forward::parse_target(text)?,
            family,
            idle: args.session_idle.unwrap_or(sessions::DEFAULT_IDLE),
            max_sessions: args
                .max_sessions
                .map_or(sessions::DEFAULT_MAX, |n| n as usize),
            timeout: args.timeout,
            verbose: args.verbose,
        }),
        None => None,
    };
    let events = crate::net::events::open_opt(args.events.as_deref())?;
    if let Some(fwd) = &forward {
        return run_forward(args, fwd, family, opts, events);
    }
    let mut tracker = events.map(|ev| {
        Tracker::new(
            ev,
            args.session_idle.unwrap_or(sessions::DEFAULT_IDLE),
            args.max_sessions
                .map_or(sessions::DEFAULT_MAX, |n| n as usize),
        )
    });
    // With sessions to expire or a socket file to remove at a signal, the wait is cut into ticks
    // here (and -w timed here) rather than left to one blocking receive.
    let ticking = tracker.is_some() || args.unix.is_some();
    let opts = RecvOpts {
        timeout: if ticking { None } else { opts.timeout },
        ..opts
    };
    let mut out = Output::stdout()?;
    let mut rx = match (&args.unix, endpoint) {
        _ if args.systemd => {
            let (sock, shown) = crate::net::activation::socket(socket2::Type::DGRAM)?;
            UdpReceiver::from_socket(sock, shown, &opts)?
        }
        (Some(path), _) => UdpReceiver::open_unix(path, &opts)?,
        (None, Some((addr, port))) => UdpReceiver::open(addr, port, family, &opts)?,
        (None, None) => return Err(exit::usage("give [ADDR] PORT, or --unix PATH")),
    };
    let shown = rx.shown.clone();
    if args.echo || args.reply {
        rx.answer_from_arrival();
    }
    let last_sender = if args.reply {
        let last = Arc::new(LastSender::default());
        reply::spawn_stdin_sender(rx.reply_socket()?, last.clone(), unix::MAX_DATAGRAM);
        Some(last)
    } else {
        None
    };
    // Ctrl-C ends the receive with the summary printed, as ping does; with --events, the open
    // sessions are closed first, and without --stats sockcat then dies by the signal.
    let signal = Arc::new(AtomicUsize::new(0));
    if args.stats {
        crate::sys::signal::catch_stop_signals().context("catch SIGINT and SIGTERM")?;
    } else if ticking {
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register_usize(sig, signal.clone(), sig as usize)
                .context("catch SIGINT and SIGTERM")?;
        }
    }
    if args.verbose > 0 {
        crate::diag!("listening on {shown}");
    }
    for note in &rx.notes {
        crate::diag!("sockcat: {note}");
    }
    let result = receive(
        &mut rx,
        last_sender.as_deref(),
        args,
        &mut out,
        &shown,
        tracker.as_mut(),
        &signal,
    );
    let sig = signal.load(Ordering::SeqCst);
    if let Some(t) = tracker.as_mut() {
        let stopped = sig != 0 || crate::sys::signal::stop_requested();
        t.close_all(if stopped {
            CloseReason::Signal
        } else {
            CloseReason::of(&result)
        });
    }
    if args.stats && !result.as_ref().is_err_and(exit::is_quiet) {
        crate::diag!("{}", rx.received.summary("received"));
    }
    if sig != 0 {
        // The socket file goes first, then sockcat dies by the signal.
        drop(rx);
        let _ = signal_hook::low_level::emulate_default_handler(sig as i32);
    }
    result
}

/// `udp-recv --forward`: the relay, its `--stats`, and Ctrl-C (sessions closed, then death by the
/// signal, or with --stats the summary and status 0).
fn run_forward(
    args: &UdpRecvArgs,
    fwd: &ForwardOpts,
    family: Family,
    opts: RecvOpts,
    events: Option<Arc<crate::net::events::Events>>,
) -> Result<()> {
    // A socket per session: room for --max-sessions of them (as listen makes room for its clients).
    let _ = crate::sys::process::raise_nofile_limit();
    // The relay times -w itself.
    let opts = RecvOpts {
        timeout: None,
        ..opts
    };
    let mut rx = if args.systemd {
        let (sock, shown) = crate::net::activation::socket(socket2::Type::DGRAM)?;
        if sock.domain().ok() == Some(socket2::Domain::UNIX) {
            return Err(exit::usage(
                "--forward relays UDP: the socket from systemd is a Unix one",
            ));
        }
        UdpReceiver::from_socket(sock, shown, &opts)?
    } else {
        let (addr, port) =
            parse_bind_endpoint(&crate::cli::bind_words(&args.addr, &args.port), family)?;
        UdpReceiver::open(addr, port, family, &opts)?
    };
    // Before the `listening on` line: a datagram that comes right after it knows where it arrived.
    rx.answer_from_arrival();
    let signal = Arc::new(AtomicUsize::new(0));
    if args.stats {
        crate::sys::signal::catch_stop_signals().context("catch SIGINT and SIGTERM")?;
    } else {
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register_usize(sig, signal.clone(), sig as usize)
                .context("catch SIGINT and SIGTERM")?;
        }
    }
    if args.verbose > 0 {
        crate::diag!("listening on {}", rx.shown);
    }
    for note in &rx.notes {
        crate::diag!("sockcat: {note}");
    }
    let (result, stats) = forward::run(&mut rx, fwd, events, &signal);
    if args.stats && !result.as_ref().is_err_and(exit::is_quiet) {
        crate::diag!("{}", rx.received.summary("received"));
        for line in stats.summary() {
            crate::diag!("{line}");
        }
    }
    let sig = signal.load(Ordering::SeqCst);
    if sig != 0 {
        drop(rx);
        let _ = signal_hook::low_level::emulate_default_handler(sig as i32);
    }
    result
}

/// How often a receiver with sessions looks at the clock and at signals while no datagram comes.
const TICK: Duration = Duration::from_millis(100);

fn receive(
    rx: &mut UdpReceiver,
    last_sender: Option<&LastSender>,
    args: &UdpRecvArgs,
    out: &mut Output,
    shown: &str,
    mut tracker: Option<&mut Tracker>,
    signal: &AtomicUsize,
) -> Result<()> {
    // As decided in run(): waits are cut into ticks with sessions or a socket file.
    let ticking = tracker.is_some() || args.unix.is_some();
    let mut text: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut last = Instant::now();
    let mut next_expiry: Option<Instant> = None;
    loop {
        let max = match args.count {
            Some(count) => match count.saturating_sub(rx.received.datagrams) {
                0 => return Ok(()),
                left => usize::try_from(left).unwrap_or(usize::MAX),
            },
            None => usize::MAX,
        };
        if ticking {
            // Wait in ticks: sessions fall due, -w runs out, a signal asks to stop.
            loop {
                if signal.load(Ordering::SeqCst) != 0 || crate::sys::signal::stop_requested() {
                    return Ok(());
                }
                let now = Instant::now();
                if let Some(t) = tracker.as_deref_mut()
                    && next_expiry.is_some_and(|at| at <= now)
                {
                    next_expiry = t.expire(now);
                }
                if let Some(w) = args.timeout
                    && now.duration_since(last) >= w
                {
                    return idle_expired(rx.received.datagrams, w, shown);
                }
                if rx.readable(TICK)? {
                    break;
                }
            }
        }
        let n = match rx.recv(max)? {
            Received::Datagrams(n) => n,
            Received::TimedOut => {
                let waited = args.timeout.unwrap_or_default();
                return idle_expired(rx.received.datagrams, waited, shown);
            }
            Received::Stopped => return Ok(()),
        };
        if args.echo {
            rx.echo();
        }
        if let Some(last) = last_sender
            && let Some((addr, local)) = (0..n)
                .rev()
                .find_map(|i| rx.reply_addr(i).map(|a| (a, rx.reply_from(i))))
        {
            last.set(addr, local);
        }
        text.clear();
        let now = Instant::now();
        last = now;
        let named = tracker.is_some() || args.verbose > 1 || args.format == UdpFormat::Json;
        for i in 0..n {
            let d = rx.datagram(i);
            let from = if named { rx.sender(i) } else { String::new() };
            if let Some(t) = tracker.as_deref_mut() {
                let echoed = if args.echo { d.data.len() } else { 0 };
                t.datagram(&from, d.data.len(), echoed, now);
                next_expiry
                    .get_or_insert(now + args.session_idle.unwrap_or(sessions::DEFAULT_IDLE));
            }
            if args.verbose > 1 {
                let cut = if d.truncated { " (truncated)" } else { "" };
                crate::diag!("datagram from {from}, {} bytes{cut}", d.data.len());
            }
            format(&mut text, &d, &from, args.format);
        }
        out.file
            .write_all(&text)
            .map_err(|e| exit::output_error(e, &out.name))?;
    }
}

#[derive(Serialize)]
struct JsonDatagram<'a> {
    from: &'a str,
    len: usize,
    hex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

/// Appends one datagram in `format` to `text`.
fn format(text: &mut Vec<u8>, d: &Datagram<'_>, from: &str, format: UdpFormat) {
    match format {
        UdpFormat::Raw => text.extend_from_slice(d.data),
        UdpFormat::Line => {
            text.extend_from_slice(d.data);
            text.push(b'\n');
        }
        UdpFormat::Hex => {
            text.extend_from_slice(hex::encode(d.data).as_bytes());
            text.push(b'\n');
        }
        UdpFormat::Json => {
            let doc = JsonDatagram {
                from,
                len: d.data.len(),
                hex: hex::encode(d.data),
                text: std::str::from_utf8(d.data).ok(),
            };
            // Serialising plain strings and numbers into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *text, &doc);
            text.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let from = Some("[::ffff:127.0.0.1]:9".parse().unwrap());
        let d = Datagram {
            data: b"hi\"",
            from,
            truncated: false,
            local: None,
        };
        let show = |f| {
            let mut t = Vec::new();
            format(&mut t, &d, "127.0.0.1:9", f);
            String::from_utf8(t).unwrap()
        };
        assert_eq!(show(UdpFormat::Raw), "hi\"");
        assert_eq!(show(UdpFormat::Line), "hi\"\n");
        assert_eq!(show(UdpFormat::Hex), "686922\n");
        assert_eq!(
            show(UdpFormat::Json),
            "{\"from\":\"127.0.0.1:9\",\"len\":3,\"hex\":\"686922\",\"text\":\"hi\\\"\"}\n"
        );
        let bin = Datagram {
            data: &[0xff],
            from,
            truncated: false,
            local: None,
        };
        let mut t = Vec::new();
        format(&mut t, &bin, "127.0.0.1:9", UdpFormat::Json);
        assert_eq!(t, b"{\"from\":\"127.0.0.1:9\",\"len\":1,\"hex\":\"ff\"}\n");
    }
}
