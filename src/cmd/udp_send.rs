//! `sockcat udp-send`: send MESSAGE arguments, or stdin cut into datagrams (by size or by line), paced,
//! repeated, and print the replies.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use anyhow::{Result, anyhow};

use crate::cli::UdpSendArgs;
use crate::exit;
use crate::net::addr::Family;
use crate::net::stream::relay::CHUNK;
use crate::net::udp::{DEFAULT_RATE, SendOpts, UdpSender, parse_send_target};
use crate::stdio::{Input, Output};

/// How stdin becomes datagrams.
#[derive(Debug, Clone, Copy)]
struct Framing {
    lines: bool,
    hex: bool,
    max: usize,
}

pub(crate) fn run(args: &UdpSendArgs) -> Result<()> {
    let (target, messages) = match (&args.unix, &args.host) {
        (Some(_), _) => (None, args.host.iter().chain(&args.rest).cloned().collect()),
        (None, Some(host)) => {
            let (target, messages) = parse_send_target(host, &args.rest)?;
            (Some(target), messages.to_vec())
        }
        (None, None) => return Err(exit::usage("give HOST PORT, or --unix PATH")),
    };
    if args.lines && !messages.is_empty() {
        return Err(exit::usage(
            "--lines cuts stdin into datagrams; give no MESSAGE with it",
        ));
    }
    let payloads = messages
        .iter()
        .enumerate()
        .map(|(i, m)| match args.hex {
            true => decode_hex(m.as_bytes(), || format!("message {}", i + 1)),
            false => Ok(m.as_bytes().to_vec()),
        })
        .collect::<Result<Vec<_>>>()?;
    let source = match &args.source {
        Some(s) => Some(crate::net::addr::resolve_local(
            s,
            0,
            Family::from(args.family),
        )?),
        None => None,
    };
    let opts = SendOpts {
        family: Family::from(args.family),
        source,
        source_port: args.source_port,
        broadcast: args.broadcast,
        ttl: args.ttl,
        gap: match (args.interval, args.rate.unwrap_or(DEFAULT_RATE)) {
            (Some(interval), _) => Some(interval),
            (None, 0) => None,
            (None, rate) => Some(Duration::from_secs_f64(1.0 / rate as f64)),
        },
        replies: args.wait_reply.is_some(),
        sockopts: crate::net::sockopt::SockSettings::parse(&args.sockopts.list)?,
    };
    let framing = Framing {
        lines: args.lines,
        hex: args.hex,
        max: args.max_size as usize,
    };
    let open = || open_sender(target.as_ref(), args, &opts);
    if let Some(total) = args.wait_for {
        let mut sender = None;
        let result = send_until_up(&mut sender, open, args, &payloads, framing, total);
        if let Some(sender) = &sender {
            stats(args, sender, &result);
        }
        return result;
    }
    let mut sender = open()?;
    let result = send_and_wait(&mut sender, args, &payloads, framing);
    stats(args, &sender, &result);
    result
}

/// Opens the sender (UDP to `target`, or `--unix`), checks --max-size against what it can carry, and
/// says where it sends with -v.
fn open_sender(
    target: Option<&crate::net::addr::HostPort>,
    args: &UdpSendArgs,
    opts: &SendOpts,
) -> Result<UdpSender> {
    let sender = match (target, &args.unix) {
        (Some(target), _) => UdpSender::open(target, opts)?,
        (None, Some(path)) => UdpSender::open_unix(path, opts)?,
        (None, None) => return Err(exit::usage("give HOST PORT, or --unix PATH")),
    };
    let limit = sender.limit;
    if args.max_size as usize > limit {
        return Err(exit::usage(format!(
            "--max-size {} is more than a UDP datagram to {} can carry ({limit})",
            args.max_size,
            sender.shown()
        )));
    }
    if args.verbose > 0 {
        crate::diag!("sending to {} from {}", sender.shown(), sender.from);
    }
    Ok(sender)
}

/// `--stats` at the end (not after a quiet end such as a closed stdout).
fn stats(args: &UdpSendArgs, sender: &UdpSender, result: &Result<()>) {
    if args.stats && !result.as_ref().is_err_and(exit::is_quiet) {
        crate::diag!("{}", sender.sent.summary("sent"));
        if args.wait_reply.is_some() {
            crate::diag!("{}", sender.received.summary("received"));
        }
    }
}

fn send_and_wait(
    sender: &mut UdpSender,
    args: &UdpSendArgs,
    payloads: &[Vec<u8>],
    framing: Framing,
) -> Result<()> {
    let mut out = Output::stdout()?;
    let mut on_reply = |data: &[u8]| -> Result<()> {
        out.file
            .write_all(data)
            .map_err(|e| exit::output_error(e, "stdout"))
    };
    if !payloads.is_empty() {
        for (i, p) in payloads.iter().enumerate() {
            check_size(p.len(), framing.max, || format!("message {}", i + 1))?;
        }
        let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_slice()).collect();
        for _ in 0..args.count {
            sender.send(&refs, &mut on_reply)?;
        }
    } else {
        let stdin = Input::stdin()
            .map(|i| i.file)
            .ok_or_else(|| anyhow!("stdin is closed"))?;
        if args.count > 1 || framing.hex && !framing.lines {
            // Repeating needs all of stdin; so does hex that may wrap anywhere.
            let (data, plain) = whole_stdin(&stdin, framing)?;
            for _ in 0..args.count {
                let mut line_no = 0;
                let (frames, _) = frames(&data, plain, true, &mut line_no)?;
                sender.send(&refs(&frames), &mut on_reply)?;
            }
        } else {
            stream(sender, stdin, framing, &mut on_reply)?;
        }
    }
    sender.check_refused()?;
    if let Some(quiet) = args.wait_reply
        && sender.wait_replies(quiet, &mut on_reply)? == 0
    {
        return Err(exit::timeout(format!(
            "no reply from {} within {}",
            sender.shown(),
            humantime::format_duration(quiet)
        )));
    }
    Ok(())
}

/// How long `--wait-for` without `--wait-reply` waits after a try for an ICMP refusal to come back.
const SETTLE: Duration = Duration::from_millis(250);

/// `--wait-for`: opens the sender (a name not yet resolvable, a Unix socket not yet there: tried
/// again) and sends everything (MESSAGE arguments, or all of stdin framed) again and again until the
/// target is up: a reply came (`--wait-reply`), or no refusal within [`SETTLE`]. Then, with
/// `--wait-reply`, prints the rest of the replies as usual. `slot` keeps the sender once opened.
fn send_until_up(
    slot: &mut Option<UdpSender>,
    mut open: impl FnMut() -> Result<UdpSender>,
    args: &UdpSendArgs,
    payloads: &[Vec<u8>],
    framing: Framing,
    total: Duration,
) -> Result<()> {
    let datagrams = all_datagrams(payloads, framing)?;
    let refs: Vec<&[u8]> = datagrams.iter().map(Vec::as_slice).collect();
    let mut out = Output::stdout()?;
    let mut on_reply = |data: &[u8]| -> Result<()> {
        out.file
            .write_all(data)
            .map_err(|e| exit::output_error(e, "stdout"))
    };
    let name = match (&args.unix, &args.host) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(host)) => {
            let (target, _) = parse_send_target(host, &args.rest)?;
            target.to_string()
        }
        (None, None) => String::new(),
    };
    let mut told = false;
    let on_retry = |err: &anyhow::Error| {
        if args.verbose > 0 && !told {
            told = true;
            crate::diag!("not up yet, retrying: {}", exit::render(err));
        }
    };
    crate::net::connect::retry(&name, None, Some(total), on_retry, |left| {
        let left = left.unwrap_or_default();
        if slot.is_none() {
            *slot = Some(open()?);
        }
        let Some(sender) = slot.as_mut() else {
            return Ok(());
        };
        for _ in 0..args.count {
            sender.send(&refs, &mut on_reply)?;
        }
        sender.check_refused()?;
        match args.wait_reply {
            Some(quiet) => {
                let first = quiet.min(left).max(Duration::from_millis(1));
                if sender.wait_replies(first, &mut on_reply)? == 0 {
                    return Err(exit::timeout(format!(
                        "no reply from {} within {}",
                        sender.shown(),
                        humantime::format_duration(first)
                    )));
                }
                Ok(())
            }
            None => sender.settle(SETTLE.min(left)),
        }
    })?;
    if let (Some(quiet), Some(sender)) = (args.wait_reply, slot.as_mut()) {
        sender.wait_replies(quiet, &mut on_reply)?;
    }
    Ok(())
}

/// Every datagram to send, for `--wait-for` (which sends them all again on each try): the MESSAGE
/// arguments, or all of stdin cut as without it.
fn all_datagrams(payloads: &[Vec<u8>], framing: Framing) -> Result<Vec<Vec<u8>>> {
    if !payloads.is_empty() {
        for (i, p) in payloads.iter().enumerate() {
            check_size(p.len(), framing.max, || format!("message {}", i + 1))?;
        }
        return Ok(payloads.to_vec());
    }
    let stdin = Input::stdin()
        .map(|i| i.file)
        .ok_or_else(|| anyhow!("stdin is closed"))?;
    let (data, plain) = whole_stdin(&stdin, framing)?;
    let mut line_no = 0;
    let (frames, _) = frames(&data, plain, true, &mut line_no)?;
    Ok(refs(&frames).into_iter().map(<[u8]>::to_vec).collect())
}

/// All of stdin, hex-decoded first when `--hex` may wrap anywhere (without `--lines`), and the framing
/// that cuts the result into datagrams (hex left only to lines, decoded one by one).
fn whole_stdin(stdin: &std::fs::File, framing: Framing) -> Result<(Vec<u8>, Framing)> {
    let mut all = Vec::new();
    (&*stdin)
        .read_to_end(&mut all)
        .map_err(|e| anyhow!(e).context("read stdin"))?;
    let data = if framing.hex && !framing.lines {
        decode_hex(&all, || "stdin".to_string())?
    } else {
        all
    };
    let plain = Framing {
        hex: framing.hex && framing.lines,
        ..framing
    };
    Ok((data, plain))
}

/// Reads stdin as it comes and sends what is complete: whole lines, or full --max-size chunks (the
/// rest at EOF), so datagram boundaries never depend on how the reads happen to fall.
fn stream(
    sender: &mut UdpSender,
    mut stdin: File,
    framing: Framing,
    on_reply: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    // A terminal gives a line per read: each goes at once as one datagram, newline included (as
    // `nc -u` sends it), not held until a --max-size chunk is full.
    let typed = stdin.is_terminal() && !framing.lines;
    let mut buf: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    let mut line_no = 0;
    loop {
        // --wait-reply: replies are printed while stdin has nothing (an interactive UDP session).
        sender.wait_for_input(stdin.as_fd(), on_reply)?;
        let have = buf.len();
        buf.resize(have + CHUNK, 0);
        let n = loop {
            match stdin.read(&mut buf[have..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(anyhow!(e).context("read stdin")),
            }
        };
        buf.truncate(have + n);
        let eof = n == 0;
        let (frames, used) = frames(&buf, framing, eof || typed, &mut line_no)?;
        sender.send(&refs(&frames), on_reply)?;
        drop(frames);
        if eof {
            return Ok(());
        }
        buf.drain(..used);
        check_partial_line(&buf, framing, line_no + 1)?;
    }
}

/// The start of a line whose newline has not come yet: if it can never fit in --max-size, say so now
/// rather than reading without end. Its size is in payload bytes: with --hex, the hex digits / 2
/// (whitespace between them is not payload).
fn check_partial_line(partial: &[u8], framing: Framing, line_no: usize) -> Result<()> {
    if !framing.lines {
        return Ok(());
    }
    let bytes = if framing.hex {
        partial.iter().filter(|b| !b.is_ascii_whitespace()).count() / 2
    } else {
        partial.len()
    };
    check_size(bytes, framing.max, || format!("line {line_no}"))
}

/// A datagram's payload: borrowed from the input, or decoded from hex.
enum Frame<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

fn refs<'a>(frames: &'a [Frame<'_>]) -> Vec<&'a [u8]> {
    frames
        .iter()
        .map(|f| match f {
            Frame::Borrowed(b) => *b,
            Frame::Owned(v) => v.as_slice(),
        })
        .collect()
}

/// Cuts `data` into datagrams; returns them and how many bytes of `data` they used. Before EOF only
/// complete lines and full chunks are cut.
fn frames<'a>(
    data: &'a [u8],
    framing: Framing,
    eof: bool,
    line_no: &mut usize,
) -> Result<(Vec<Frame<'a>>, usize)> {
    let mut out = Vec::new();
    let mut used = 0;
    if !framing.lines {
        for chunk in data.chunks(framing.max) {
            if chunk.len() < framing.max && !eof {
                break;
            }
            out.push(Frame::Borrowed(chunk));
            used += chunk.len();
        }
        return Ok((out, used));
    }
    while used < data.len() {
        let rest = &data[used..];
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], used + i + 1),
            None if eof => (rest, data.len()),
            None => break,
        };
        *line_no += 1;
        let frame = if framing.hex {
            Frame::Owned(decode_hex(line, || format!("line {line_no}"))?)
        } else {
            Frame::Borrowed(line)
        };
        let len = match &frame {
            Frame::Borrowed(b) => b.len(),
            Frame::Owned(v) => v.len(),
        };
        check_size(len, framing.max, || format!("line {line_no}"))?;
        out.push(frame);
        used = next;
    }
    Ok((out, used))
}

fn check_size(len: usize, max: usize, what: impl Fn() -> String) -> Result<()> {
    if len > max {
        return Err(exit::usage(format!(
            "{} is {len} bytes, more than --max-size {max}",
            what()
        )));
    }
    Ok(())
}

/// Hex to bytes (whitespace ignored, so `de ad be ef` works); bad hex is invalid input (status 2).
fn decode_hex(text: &[u8], what: impl Fn() -> String) -> Result<Vec<u8>> {
    let clean: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    hex::decode(&clean).map_err(|e| exit::usage(format!("invalid hex in {}: {e}", what())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(data: &[u8], lines: bool, max: usize, eof: bool) -> (Vec<Vec<u8>>, usize) {
        let mut n = 0;
        let f = Framing {
            lines,
            hex: false,
            max,
        };
        let (frames, used) = frames(data, f, eof, &mut n).unwrap();
        (refs(&frames).iter().map(|b| b.to_vec()).collect(), used)
    }

    #[test]
    fn chunks_join_to_the_input() {
        assert_eq!(
            cut(b"abcdefg", false, 3, true),
            (vec![b"abc".to_vec(), b"def".to_vec(), b"g".to_vec()], 7)
        );
        assert_eq!(
            cut(b"abcdefg", false, 3, false),
            (vec![b"abc".to_vec(), b"def".to_vec()], 6)
        );
    }

    #[test]
    fn lines_lose_only_their_newline() {
        assert_eq!(
            cut(b"a\n\nb\r\nc", true, 10, false),
            (vec![b"a".to_vec(), b"".to_vec(), b"b\r".to_vec()], 6)
        );
        assert_eq!(
            cut(b"a\nc", true, 10, true),
            (vec![b"a".to_vec(), b"c".to_vec()], 3)
        );
        assert_eq!(cut(b"a\n", true, 10, true).0.len(), 1);
    }

    #[test]
    fn a_partial_line_is_measured_in_payload_bytes() {
        let f = |hex| Framing {
            lines: true,
            hex,
            max: 10,
        };
        // 8 bytes written as spaced hex (24 characters), the rest still to come: fine.
        assert!(check_partial_line(b"00 01 02 03 04 05 06 07 ", f(true), 1).is_ok());
        assert!(check_partial_line(b"00 01 02 03 04 05 06 07 08 09 0a", f(true), 1).is_err());
        assert!(check_partial_line(b"0123456789", f(false), 1).is_ok());
        assert!(check_partial_line(b"0123456789a", f(false), 1).is_err());
    }

    #[test]
    fn hex() {
        assert_eq!(
            decode_hex(b"de ad\tBE ef\r", String::new).unwrap(),
            vec![0xde, 0xad, 0xbe, 0xef]
        );
        assert!(decode_hex(b"abc", String::new).is_err());
        assert!(decode_hex(b"zz", String::new).is_err());
    }
}
