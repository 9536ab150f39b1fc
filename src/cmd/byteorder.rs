//! `sockcat byteorder`: the host's byte order, htons/ntohs/htonl/ntohl, and the C library's address
//! conversions. One answer per VALUE, one line each; `--json` gives JSON lines.

use std::io::Write;

use anyhow::Result;
use serde_json::{Value, json};

use crate::cli::{ByteOp, ByteorderArgs};
use crate::exit;
use crate::net::byteorder as conv;

fn op_name(op: ByteOp) -> &'static str {
    match op {
        ByteOp::Htons => "htons",
        ByteOp::Ntohs => "ntohs",
        ByteOp::Htonl => "htonl",
        ByteOp::Ntohl => "ntohl",
        ByteOp::InetAton => "inet-aton",
        ByteOp::InetNtoa => "inet-ntoa",
        ByteOp::InetPton => "inet-pton",
        ByteOp::InetNtop => "inet-ntop",
    }
}

pub(crate) fn run(args: &ByteorderArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let result = convert(args, &mut |line: String| {
        writeln!(out, "{line}").map_err(|e| exit::output_error(e, "stdout"))
    });
    out.flush().map_err(|e| exit::output_error(e, "stdout"))?;
    result
}

fn convert(args: &ByteorderArgs, emit: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    let Some(op) = args.op else {
        let order = conv::host_order();
        return emit(if args.json {
            json!({ "byteorder": order }).to_string()
        } else {
            order.to_string()
        });
    };
    let name = op_name(op);
    if args.values.is_empty() {
        return Err(exit::usage(format!("{name}: missing VALUE")));
    }
    for value in &args.values {
        let (text, doc) = one(args, op, name, value)?;
        emit(if args.json { doc.to_string() } else { text })?;
    }
    Ok(())
}

/// One conversion: the text line and the JSON object.
fn one(args: &ByteorderArgs, op: ByteOp, name: &str, value: &str) -> Result<(String, Value)> {
    let number = |n: u64, width: usize| -> (String, Value) {
        let hex = format!("0x{n:0width$x}");
        let text = if args.hex { hex.clone() } else { n.to_string() };
        (
            text,
            json!({"op": name, "input": value, "output": n, "hex": hex}),
        )
    };
    // -4 / -6: the address family inet-pton parses and the length inet-ntop takes (None: either).
    let v6 = match (args.family.ipv4, args.family.ipv6) {
        (true, _) => Some(false),
        (_, true) => Some(true),
        _ => None,
    };
    Ok(match op {
        ByteOp::Htons | ByteOp::Ntohs => {
            let n = conv::parse_number(name, value, u64::from(u16::MAX))? as u16;
            let r = if op == ByteOp::Htons {
                conv::htons(n)
            } else {
                conv::ntohs(n)
            };
            number(u64::from(r), 4)
        }
        ByteOp::Htonl | ByteOp::Ntohl => {
            let n = conv::parse_number(name, value, u64::from(u32::MAX))? as u32;
            let r = if op == ByteOp::Htonl {
                conv::htonl(n)
            } else {
                conv::ntohl(n)
            };
            number(u64::from(r), 8)
        }
        ByteOp::InetAton => {
            let packed = hex::encode(conv::inet_aton(value)?);
            (
                packed.clone(),
                json!({"op": name, "input": value, "hex": packed}),
            )
        }
        ByteOp::InetPton => {
            let bytes = conv::inet_pton(v6, value)?;
            let family = if bytes.len() == 16 { "inet6" } else { "inet" };
            let packed = hex::encode(bytes);
            (
                packed.clone(),
                json!({"op": name, "input": value, "family": family, "hex": packed}),
            )
        }
        ByteOp::InetNtoa | ByteOp::InetNtop => {
            let text = if op == ByteOp::InetNtoa {
                conv::inet_ntoa(value)?
            } else {
                conv::inet_ntop(v6, value)?
            };
            (
                text.clone(),
                json!({"op": name, "input": value, "address": text}),
            )
        }
    })
}
