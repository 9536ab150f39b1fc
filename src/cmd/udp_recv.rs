//! `sockcat udp-recv`: receive datagrams from any number of senders and print them (raw, line, hex or
//! JSON lines), optionally echoing them back.

use std::io::Write;
use std::net::IpAddr;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::{UdpFormat, UdpRecvArgs};
use crate::exit;
use crate::net::addr::{Family, display};
use crate::net::udp::{Received, RecvOpts, UdpReceiver, idle_expired, parse_bind_endpoint};
use crate::stdio::Output;
use crate::sys::mmsg::Datagram;

pub(crate) fn run(args: &UdpRecvArgs) -> Result<()> {
    let family = Family::from(args.family);
    let (addr, port) = parse_bind_endpoint(&args.endpoint, family)?;
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
    };
    let mut out = Output::stdout()?;
    let mut rx = UdpReceiver::open(addr, port, family, &opts)?;
    let shown = display(&rx.local);
    if args.stats {
        // Ctrl-C ends the receive with the summary printed, as ping does.
        crate::sys::signal::catch_stop_signals().context("catch SIGINT and SIGTERM")?;
    }
    if args.verbose > 0 {
        crate::diag!("listening on {shown}");
    }
    for note in &rx.notes {
        crate::diag!("sockcat: {note}");
    }
    let result = receive(&mut rx, args, &mut out, &shown);
    if args.stats && !result.as_ref().is_err_and(exit::is_quiet) {
        crate::diag!("{}", rx.received.summary("received"));
    }
    result
}

fn receive(rx: &mut UdpReceiver, args: &UdpRecvArgs, out: &mut Output, shown: &str) -> Result<()> {
    let mut text: Vec<u8> = Vec::with_capacity(1 << 20);
    loop {
        let max = match args.count {
            Some(count) => match count.saturating_sub(rx.received.datagrams) {
                0 => return Ok(()),
                left => usize::try_from(left).unwrap_or(usize::MAX),
            },
            None => usize::MAX,
        };
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
        text.clear();
        for i in 0..n {
            let d = rx.datagram(i);
            if args.verbose > 1 {
                let from = d.from.map(|a| display(&a)).unwrap_or_default();
                let cut = if d.truncated { " (truncated)" } else { "" };
                crate::diag!("datagram from {from}, {} bytes{cut}", d.data.len());
            }
            format(&mut text, &d, args.format);
        }
        out.file
            .write_all(&text)
            .map_err(|e| exit::output_error(e, &out.name))?;
    }
}

#[derive(Serialize)]
struct JsonDatagram<'a> {
    from: String,
    len: usize,
    hex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

/// Appends one datagram in `format` to `text`.
fn format(text: &mut Vec<u8>, d: &Datagram<'_>, format: UdpFormat) {
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
                from: d.from.map(|a| display(&a)).unwrap_or_default(),
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
        };
        let show = |f| {
            let mut t = Vec::new();
            format(&mut t, &d, f);
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
        };
        let mut t = Vec::new();
        format(&mut t, &bin, UdpFormat::Json);
        assert_eq!(t, b"{\"from\":\"127.0.0.1:9\",\"len\":1,\"hex\":\"ff\"}\n");
    }
}
