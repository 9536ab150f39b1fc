//! `sockcat sockopt`: show (and first set) the options of a fresh socket or of a live TCP connection,
//! through the option table in `net::sockopt`. Output: a `LEVEL NAME VALUE` table, the bare value for
//! one `--get`, `NAME VALUE` lines for several, or one JSON document with `--json`.

use std::io::Write;
use std::os::fd::AsFd;

use anyhow::{Context, Result};
use serde_json::{Map, json};
use socket2::{Domain, Type};

use crate::cli::SockoptArgs;
use crate::exit;
use crate::net::addr::{Family, display, parse_endpoint, take_tls_scheme};
use crate::net::connect::{ConnectOpts, connect};
use crate::net::sockopt::{
    SocketKind, Value, check_applies, fresh_socket, get, lookup, parse_assignment, read_all, set,
    tcp_info, tcp_info_display,
};
use crate::net::stream::tls;

pub(crate) fn run(args: &SockoptArgs) -> Result<()> {
    let family = Family::from(args.family);
    if args.unix && family != Family::Any {
        return Err(exit::usage("-4 and -6 do not apply to --unix"));
    }
    // Every name and value is checked before a socket is opened.
    let gets = args
        .get
        .iter()
        .map(|n| lookup(n))
        .collect::<Result<Vec<_>>>()?;
    let sets = args
        .set
        .iter()
        .map(|s| parse_assignment(s).map(|(o, v)| (o, v, s.trim())))
        .collect::<Result<Vec<_>>>()?;

    // `tls://HOST:PORT` is `--tls HOST:PORT`; the TLS client is built before connecting.
    let (connect_args, forced_tls) = take_tls_scheme(&args.connect);
    let client = match super::client_tls(&args.tls, forced_tls)? {
        Some(_) if args.connect.is_empty() => {
            return Err(exit::usage("--tls needs --connect HOST PORT"));
        }
        Some(opts) => Some(tls::Client::new(&opts)?),
        None => None,
    };
    let mut about = Map::new();
    let mut session = None;
    let (sock, kind, live) = if args.connect.is_empty() {
        let domain = if args.unix {
            Domain::UNIX
        } else if family == Family::V6 {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let ty = if args.udp { Type::DGRAM } else { Type::STREAM };
        let kind = SocketKind { domain, ty };
        (fresh_socket(kind)?, kind, false)
    } else {
        let target = parse_endpoint(&connect_args)?;
        let opts = ConnectOpts {
            family,
            timeout: args.timeout,
            ..ConnectOpts::default()
        };
        let (sock, peer) = connect(&target, &opts, None)?;
        about.insert("peer".into(), json!(display(&peer)));
        if let Some(local) = sock.local_addr().ok().and_then(|a| a.as_socket()) {
            about.insert("local".into(), json!(display(&local)));
        }
        let kind = SocketKind {
            domain: Domain::for_address(peer),
            ty: Type::STREAM,
        };
        let sock = match &client {
            // The session keeps the socket; a duplicate shows its options.
            Some(client) => {
                let dup = sock.try_clone()?;
                let (stream, summary) = client.handshake(sock, &target.host, args.timeout)?;
                if args.tls.show_cert {
                    for line in summary.cert_lines() {
                        crate::diag!("{line}");
                    }
                }
                session = Some((stream, summary));
                dup
            }
            None => sock,
        };
        (sock, kind, true)
    };
    about.insert("family".into(), json!(kind.domain_name()));
    about.insert("type".into(), json!(kind.type_name()));
    let fd = sock.as_fd();

    for opt in &gets {
        check_applies(opt, kind)?;
    }
    for (opt, value, text) in &sets {
        check_applies(opt, kind)?;
        set(fd, opt, value).with_context(|| format!("setsockopt {text}"))?;
    }

    let options = if gets.is_empty() {
        read_all(fd, kind)?
    } else {
        gets.iter()
            .map(|opt| {
                get(fd, opt)
                    .map(|v| (*opt, v))
                    .with_context(|| format!("getsockopt {}", opt.name))
            })
            .collect::<Result<Vec<_>>>()?
    };
    let info = if live && gets.is_empty() {
        Some(tcp_info(fd)?)
    } else {
        None
    };

    // What the handshake agreed on, after TCP_INFO (only for the whole table or --json).
    let tls_rows: Vec<(&str, String)> = match &session {
        Some((_, summary)) if gets.is_empty() => vec![
            ("version", summary.version.clone()),
            ("cipher", summary.cipher.clone()),
            ("alpn", summary.alpn.clone().unwrap_or_else(|| "-".into())),
            (
                "pin",
                summary.leaf().map_or_else(|| "-".into(), |leaf| leaf.pin),
            ),
        ],
        _ => Vec::new(),
    };

    let mut lines = Vec::new();
    if args.json {
        let opts: Vec<_> = options
            .iter()
            .map(|(o, v)| json!({"level": o.level.name(), "name": o.name, "value": v.json()}))
            .collect();
        let mut doc = json!({"socket": about, "options": opts});
        if let Some(info) = &info {
            let mut m = Map::new();
            for (field, value) in info {
                m.insert((*field).into(), json!(value));
            }
            doc["tcp_info"] = json!(m);
        }
        if let Some((_, summary)) = &session {
            doc["tls"] = json!({
                "version": summary.version,
                "cipher": summary.cipher,
                "alpn": summary.alpn,
                "pin": summary.leaf().map(|leaf| leaf.pin),
            });
        }
        lines.push(doc.to_string());
    } else if gets.len() == 1 {
        let (opt, value) = &options[0];
        lines.push(value.display(opt.kind));
    } else if !gets.is_empty() {
        for (opt, value) in &options {
            lines.push(format!("{} {}", opt.name, value.display(opt.kind)));
        }
    } else {
        let mut rows: Vec<(&str, &str, String)> = vec![("LEVEL", "NAME", "VALUE".to_string())];
        rows.extend(
            options
                .iter()
                .map(|(o, v): &(_, Value)| (o.level.name(), o.name, v.display(o.kind))),
        );
        if let Some(info) = &info {
            rows.extend(
                info.iter()
                    .map(|(f, v)| ("TCP_INFO", *f, tcp_info_display(f, *v))),
            );
        }
        rows.extend(
            tls_rows
                .iter()
                .map(|(name, value)| ("TLS", *name, value.clone())),
        );
        let w1 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let w2 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        for (level, name, value) in rows {
            lines.push(format!("{level:<w1$}  {name:<w2$}  {value}"));
        }
    }
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}").map_err(|e| exit::output_error(e, "stdout"))?;
    }
    out.flush().map_err(|e| exit::output_error(e, "stdout"))?;
    if let Some((stream, _)) = session {
        // A clean end for the server: close_notify, then FIN.
        let _ = stream.split().1.finish();
    }
    Ok(())
}
