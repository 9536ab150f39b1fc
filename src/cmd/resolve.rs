//! `sockcat resolve`: names to addresses, addresses to names, services, protocols and this host's
//! name, as the C library answers them. Text output is one answer per line; `--json` is JSON lines,
//! one object per thing looked up. Several arguments are answered in order; the first that is not
//! found stops the command with status 1 after the answers before it were printed.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use crate::cli::ResolveArgs;
use crate::exit;
use crate::net::addr::Family;
use crate::net::resolve::{
    family_name, hostname, ip_text, lookup, port, protocol, reverse, service, socktype_name,
    unique_addresses,
};

pub(crate) fn run(args: &ResolveArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let result = answer(args, &mut |line: String| {
        writeln!(out, "{line}").map_err(|e| exit::output_error(e, "stdout"))
    });
    out.flush().map_err(|e| exit::output_error(e, "stdout"))?;
    result
}

fn answer(args: &ResolveArgs, emit: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    let json = args.json;
    if args.names.is_empty()
        && !args.hostname
        && args.service.is_empty()
        && args.port.is_empty()
        && args.protocol.is_empty()
    {
        return Err(exit::usage(
            "nothing to look up: give NAME..., -x ADDR..., --service, --port, --protocol or --hostname",
        ));
    }
    if args.hostname {
        let name = hostname()?;
        return emit(if json {
            json!({ "hostname": name }).to_string()
        } else {
            name
        });
    }
    for spec in &args.service {
        let s = service(spec)?;
        emit(if json {
            json!({"query": spec, "service": s.name, "port": s.port, "protocol": s.proto, "aliases": s.aliases})
                .to_string()
        } else {
            s.port.to_string()
        })?;
    }
    for spec in &args.port {
        let s = port(spec)?;
        emit(if json {
            json!({"query": spec, "service": s.name, "port": s.port, "protocol": s.proto, "aliases": s.aliases})
                .to_string()
        } else {
            s.name
        })?;
    }
    for spec in &args.protocol {
        let p = protocol(spec)?;
        let numeric = spec.trim().bytes().all(|b| b.is_ascii_digit());
        emit(if json {
            json!({"query": spec, "protocol": p.name, "number": p.number, "aliases": p.aliases})
                .to_string()
        } else if numeric {
            p.name
        } else {
            p.number.to_string()
        })?;
    }
    if args.reverse {
        for addr in &args.names {
            let name = reverse(addr)?;
            emit(if json {
                json!({"address": addr, "name": name}).to_string()
            } else {
                name
            })?;
        }
        return Ok(());
    }
    let family = Family::from(args.family);
    for name in &args.names {
        let found = lookup(name, family, args.canonical)?;
        let canonical = found.iter().find_map(|ai| ai.canonname.clone());
        if json {
            let addresses: Vec<String> =
                unique_addresses(&found).into_iter().map(ip_text).collect();
            let mut doc = json!({"name": name, "addresses": addresses});
            if args.canonical {
                doc["canonical"] = json!(canonical);
            }
            if args.all {
                doc["results"] = found
                    .iter()
                    .map(|ai| {
                        json!({
                            "family": family_name(ai.family),
                            "socktype": socktype_name(ai.socktype),
                            "protocol": ai.protocol,
                            "address": ip_text(ai.addr.ip()),
                        })
                    })
                    .collect();
            }
            emit(doc.to_string())?;
        } else if args.canonical && !args.all {
            emit(canonical.unwrap_or_else(|| name.clone()))?;
        } else if args.all {
            if args.canonical {
                emit(canonical.clone().unwrap_or_else(|| name.clone()))?;
            }
            for ai in &found {
                emit(format!(
                    "{:<8} {:<11} {:<3} {}",
                    family_name(ai.family),
                    socktype_name(ai.socktype),
                    ai.protocol,
                    ip_text(ai.addr.ip())
                ))?;
            }
        } else {
            for ip in unique_addresses(&found) {
                emit(ip_text(ip))?;
            }
        }
    }
    Ok(())
}
