//! An option's value: parsed from the text of `--set NAME=VALUE` / `--sockopt`, read from and
//! written to a socket as the bytes its [`Kind`](super::Kind) says, and shown as text or JSON.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value as Json, json};

use crate::exit::usage;
use crate::net::parse::parse_duration;
use crate::sys::sockopt as raw;

use super::Kind::*;
use super::{Kind, SockOpt, domain_name, lookup, type_name};

/// An option's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i32),
    Linger { onoff: i32, seconds: i32 },
    Timeval { sec: i64, usec: i64 },
    Text(String),
}

impl Value {
    /// The text shown in the table and by `--get`.
    pub fn display(&self, kind: Kind) -> String {
        match (self, kind) {
            (Value::Int(n), SockType) => type_name(*n).map_or(n.to_string(), str::to_string),
            (Value::Int(n), Domain) => domain_name(*n).map_or(n.to_string(), str::to_string),
            (Value::Int(n), _) => n.to_string(),
            (Value::Linger { onoff: 0, .. }, _) => "off".to_string(),
            (Value::Linger { seconds, .. }, _) => format!("on,{seconds}"),
            (Value::Timeval { sec, usec }, _) => {
                if *usec == 0 {
                    sec.to_string()
                } else {
                    let frac = format!("{usec:06}");
                    format!("{sec}.{}", frac.trim_end_matches('0'))
                }
            }
            (Value::Text(s), _) => s.clone(),
        }
    }

    /// The value in `--json` output: numbers as the kernel gave them.
    pub(crate) fn json(&self) -> Json {
        match self {
            Value::Int(n) => json!(n),
            Value::Linger { onoff, seconds } => json!({"onoff": onoff, "linger": seconds}),
            Value::Timeval { sec, usec } => json!(*sec as f64 + *usec as f64 / 1e6),
            Value::Text(s) => json!(s),
        }
    }
}

fn parse_int(opt: &SockOpt, text: &str) -> Result<i32> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => t.parse::<i64>().ok(),
    };
    parsed.and_then(|n| i32::try_from(n).ok()).ok_or_else(|| {
        usage(format!(
            "{}: invalid value {text:?}: expected an integer",
            opt.name
        ))
    })
}

fn parse_bool(opt: &SockOpt, text: &str) -> Result<i32> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(1),
        "0" | "off" | "false" | "no" => Ok(0),
        _ => Err(usage(format!(
            "{}: invalid value {text:?}: expected 0/1, on/off, true/false or yes/no",
            opt.name
        ))),
    }
}

/// Parses the text of a value for `opt` (`--set NAME=VALUE`). Invalid text is a usage error.
pub fn parse_value(opt: &SockOpt, text: &str) -> Result<Value> {
    if !opt.settable {
        return Err(usage(format!("{} is read-only", opt.name)));
    }
    match opt.kind {
        Int | SockType | Domain => Ok(Value::Int(parse_int(opt, text)?)),
        Bool => Ok(Value::Int(parse_bool(opt, text)?)),
        Linger => {
            let t = text.trim().to_ascii_lowercase();
            if t == "off" {
                return Ok(Value::Linger {
                    onoff: 0,
                    seconds: 0,
                });
            }
            let secs = t.strip_prefix("on,").unwrap_or(&t);
            let seconds = secs
                .parse::<i32>()
                .ok()
                .filter(|s| *s >= 0)
                .ok_or_else(|| {
                    usage(format!(
                        "{}: invalid value {text:?}: expected off, SECONDS or on,SECONDS",
                        opt.name
                    ))
                })?;
            Ok(Value::Linger { onoff: 1, seconds })
        }
        Timeval => {
            let d: Duration = parse_duration(text).with_context(|| opt.name.to_string())?;
            // Whole microseconds, rounded up: a timeout below 1 us must not become 0, which the
            // kernel takes for "no timeout".
            let micros = d.as_nanos().div_ceil(1000);
            Ok(Value::Timeval {
                sec: i64::try_from(micros / 1_000_000).unwrap_or(i64::MAX),
                usec: (micros % 1_000_000) as i64,
            })
        }
        Text => {
            let t = text.trim();
            if t.is_empty() || t.len() > 15 || t.contains('\0') {
                return Err(usage(format!("{}: invalid value {text:?}", opt.name)));
            }
            Ok(Value::Text(t.to_string()))
        }
    }
}

/// Parses `NAME=VALUE`.
pub fn parse_assignment(text: &str) -> Result<(&'static SockOpt, Value)> {
    let (name, value) = text.split_once('=').ok_or_else(|| {
        usage(format!(
            "invalid option setting {text:?}: expected NAME=VALUE"
        ))
    })?;
    let opt = lookup(name)?;
    Ok((opt, parse_value(opt, value)?))
}

fn int_bytes(n: i32) -> Vec<u8> {
    n.to_ne_bytes().to_vec()
}

/// Reads `opt` from a socket.
// time_t and suseconds_t are i64 here but i32 on some targets, so the i64::from calls stay.
#[allow(clippy::useless_conversion)]
pub(crate) fn get(fd: BorrowedFd<'_>, opt: &SockOpt) -> io::Result<Value> {
    let mut buf = vec![0u8; opt.buffer_len()];
    let n = raw::get(fd, opt.level.raw(), opt.optname, &mut buf)?;
    let int_at = |at: usize| -> i32 {
        let mut b = [0u8; 4];
        if n >= at + 4 {
            b.copy_from_slice(&buf[at..at + 4]);
        } else if n > at {
            // A kernel may answer with a single byte (IP_MULTICAST_TTL on short buffers).
            b[0] = buf[at];
        }
        i32::from_ne_bytes(b)
    };
    Ok(match opt.kind {
        Int | Bool | SockType | Domain => Value::Int(int_at(0)),
        Linger => Value::Linger {
            onoff: int_at(0),
            seconds: int_at(4),
        },
        Timeval => {
            let half = size_of::<libc::time_t>();
            let sec = libc::time_t::from_ne_bytes(buf[..half].try_into().unwrap_or_default());
            let usec = libc::suseconds_t::from_ne_bytes(
                buf[half..half + size_of::<libc::suseconds_t>()]
                    .try_into()
                    .unwrap_or_default(),
            );
            Value::Timeval {
                sec: i64::from(sec),
                usec: i64::from(usec),
            }
        }
        Text => {
            let end = buf[..n].iter().position(|&b| b == 0).unwrap_or(n);
            Value::Text(String::from_utf8_lossy(&buf[..end]).into_owned())
        }
    })
}

/// Writes `value` to `opt` on a socket.
pub(crate) fn set(fd: BorrowedFd<'_>, opt: &SockOpt, value: &Value) -> io::Result<()> {
    let bytes = match value {
        Value::Int(n) => int_bytes(*n),
        Value::Linger { onoff, seconds } => {
            let mut b = int_bytes(*onoff);
            b.extend(int_bytes(*seconds));
            b
        }
        Value::Timeval { sec, usec } => {
            let sec = libc::time_t::try_from(*sec).unwrap_or(libc::time_t::MAX);
            let usec = libc::suseconds_t::try_from(*usec).unwrap_or_default();
            let mut b = sec.to_ne_bytes().to_vec();
            b.extend(usec.to_ne_bytes());
            b.resize(size_of::<libc::timeval>(), 0);
            b
        }
        Value::Text(s) => s.as_bytes().to_vec(),
    };
    raw::set(fd, opt.level.raw(), opt.optname, &bytes)
}
