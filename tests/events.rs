//! `--events FILE`: JSON lines that every parse, ids that pair each accept with its close, byte counts
//! equal to what was sent, and the reason each session ended.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{In, LIMIT, Proc};

/// The events file's lines, each parsed (a line that does not parse fails the test).
pub fn read_events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a torn last line: {text:?}"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// Waits (bounded) until the events file holds `n` lines of kind `event`; returns all lines.
pub fn wait_events(path: &Path, event: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + LIMIT;
    loop {
        let lines = read_events(path);
        if lines.iter().filter(|l| l["event"] == event).count() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "no {n} {event:?} events within {LIMIT:?}: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every line has a timestamp like 2026-11-28T07:01:02.345Z; every close has an accept with its id
/// and peer before it; returns the closes by id.
pub fn check_pairs(lines: &[Value]) -> HashMap<u64, Value> {
    let mut accepted: HashMap<u64, String> = HashMap::new();
    let mut closed = HashMap::new();
    for l in lines {
        let ts = l["ts"].as_str().expect("ts");
        assert!(
            ts.len() == 24 && &ts[10..11] == "T" && &ts[19..20] == "." && ts.ends_with('Z'),
            "{ts}"
        );
        match l["event"].as_str() {
            Some("accept") => {
                let id = l["id"].as_u64().expect("id");
                let peer = l["peer"].as_str().expect("peer").to_string();
                assert!(
                    accepted.insert(id, peer).is_none(),
                    "id {id} accepted twice"
                );
            }
            Some("close") => {
                let id = l["id"].as_u64().expect("id");
                assert_eq!(
                    accepted.get(&id).map(String::as_str),
                    l["peer"].as_str(),
                    "close without its accept: {l}"
                );
                for k in ["bytes_in", "bytes_out", "duration_ms"] {
                    assert!(l[k].is_u64(), "{k} in {l}");
                }
                assert!(l["reason"].is_string(), "{l}");
                assert!(
                    closed.insert(id, l.clone()).is_none(),
                    "id {id} closed twice"
                );
            }
            Some("refuse") => assert!(l["reason"].is_string() && l["peer"].is_string(), "{l}"),
            other => panic!("unknown event {other:?}"),
        }
    }
    closed
}

#[test]
fn udp_recv_sessions_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.jsonl");
    let mut p = Proc::spawn(
        &[
            "udp-recv",
            "-v",
            "--echo",
            "--events",
            ev.to_str().unwrap(),
            "--session-idle",
            "300ms",
            "--format",
            "line",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(LIMIT)).unwrap();
    }
    let mut buf = [0u8; 100];
    for (s, msg) in [(&a, &b"one"[..]), (&b, b"second"), (&a, b"three")] {
        s.send_to(msg, addr).unwrap();
        // The echo says the datagram was taken.
        assert_eq!(s.recv(&mut buf).unwrap(), msg.len());
    }
    // Both go quiet: both sessions close as idle, with what each sent.
    let lines = wait_events(&ev, "close", 2);
    let closes = check_pairs(&lines);
    let by_peer: HashMap<String, &Value> = closes
        .values()
        .map(|c| (c["peer"].as_str().unwrap().to_string(), c))
        .collect();
    let a_close = by_peer[&a.local_addr().unwrap().to_string()];
    assert_eq!(
        (a_close["bytes_in"].as_u64(), a_close["bytes_out"].as_u64()),
        (Some(8), Some(8))
    );
    assert_eq!(a_close["reason"], "idle");
    let b_close = by_peer[&b.local_addr().unwrap().to_string()];
    assert_eq!(b_close["bytes_in"].as_u64(), Some(6));
    // A source back after its session ended starts a new one; Ctrl-C closes it as "signal" and
    // udp-recv dies by the signal.
    a.send_to(b"again", addr).unwrap();
    assert_eq!(a.recv(&mut buf).unwrap(), 5);
    wait_events(&ev, "accept", 3);
    p.signal("INT");
    let done = p.finish();
    assert_eq!(done.code, None, "killed by SIGINT\n{}", done.show());
    let lines = read_events(&ev);
    let closes = check_pairs(&lines);
    assert_eq!(closes.len(), 3, "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(
        (last["reason"].as_str(), last["bytes_in"].as_u64()),
        (Some("signal"), Some(5))
    );
}

#[test]
fn udp_recv_events_to_stderr_and_count_end() {
    let mut p = Proc::spawn(
        &[
            "udp-recv",
            "-v",
            "--events",
            "-",
            "-c",
            "2",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(b"ab", addr).unwrap();
    s.send_to(b"cde", addr).unwrap();
    let done = p.finish().ok();
    assert_eq!(done.stdout, b"abcde");
    let lines: Vec<Value> = done
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let closes = check_pairs(&lines);
    assert_eq!(closes.len(), 1, "{}", done.show());
    let c = closes.values().next().unwrap();
    assert_eq!(
        (c["bytes_in"].as_u64(), c["reason"].as_str()),
        (Some(5), Some("eof"))
    );
}

#[test]
fn events_file_that_cannot_be_opened_is_usage() {
    crate::common::run(
        &[
            "udp-recv",
            "--events",
            "/nonexistent-dir/ev",
            "127.0.0.1",
            "0",
        ],
        b"",
    )
    .code(2)
    .one_error_line("--events /nonexistent-dir/ev");
}

/// Connects from `src` (127.0.0.x) to `addr`.
fn connect_from(src: &str, addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    sock.bind(
        &format!("{src}:0")
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )?;
    sock.connect_timeout(&addr.into(), LIMIT)?;
    let s: std::net::TcpStream = sock.into();
    s.set_read_timeout(Some(LIMIT))?;
    Ok(s)
}

#[test]
fn listen_events_under_200_concurrent_clients() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.jsonl");
    let mut p = Proc::spawn(
        &[
            "listen",
            "-k",
            "--echo",
            "-v",
            "--events",
            ev.to_str().unwrap(),
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    // 200 clients at once, each with its own size; each sends, half-closes, reads its echo.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(200));
    let clients: Vec<_> = (0..200)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut s = crate::common::connect(addr);
                let me = s.local_addr().unwrap().to_string();
                barrier.wait();
                let data = crate::common::pattern(1000 + i * 37, i as u64);
                s.write_all(&data).unwrap();
                s.shutdown(std::net::Shutdown::Write).unwrap();
                let mut back = Vec::new();
                s.read_to_end(&mut back).unwrap();
                assert_eq!(back, data);
                (me, data.len() as u64)
            })
        })
        .collect();
    let sent: HashMap<String, u64> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let lines = wait_events(&ev, "close", 200);
    let closes = check_pairs(&lines);
    assert_eq!(closes.len(), 200);
    for c in closes.values() {
        let peer = c["peer"].as_str().unwrap();
        let n = sent[peer];
        assert_eq!(
            (c["bytes_in"].as_u64(), c["bytes_out"].as_u64()),
            (Some(n), Some(n)),
            "{c}"
        );
        assert_eq!(c["reason"], "eof", "{c}");
    }
    // SIGTERM with a client still connected: its close says "signal".
    let _idle = crate::common::connect(addr);
    wait_events(&ev, "accept", 201);
    p.signal("TERM");
    p.finish();
    let lines = read_events(&ev);
    let closes = check_pairs(&lines);
    assert_eq!(closes.len(), 201);
    assert_eq!(lines.last().unwrap()["reason"], "signal");
}

#[test]
fn listen_events_refusals_carry_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.jsonl");
    let mut p = Proc::spawn(
        &[
            "listen",
            "-k",
            "--echo",
            "--max-conns",
            "1",
            "--deny",
            "127.0.0.2",
            "-v",
            "--events",
            ev.to_str().unwrap(),
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    let _first = crate::common::connect(addr);
    wait_events(&ev, "accept", 1);
    // Over --max-conns, then denied (from 127.0.0.2, a loopback address of its own).
    // (The reset can beat connect()'s return: either way is fine.)
    let _second = std::net::TcpStream::connect_timeout(&addr, LIMIT);
    wait_events(&ev, "refuse", 1);
    let _third = connect_from("127.0.0.2", addr);
    let lines = wait_events(&ev, "refuse", 2);
    let reasons: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "refuse")
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["max-conns", "deny"]);
    let denied = lines.iter().rfind(|l| l["event"] == "refuse").unwrap();
    assert!(
        denied["peer"].as_str().unwrap().starts_with("127.0.0.2:"),
        "{denied}"
    );
    check_pairs(&lines);
}

#[test]
fn listen_events_one_client_and_exec() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    // The one client of a plain listen (stdin empty): 5 bytes in, none out.
    let ev = dir.path().join("one.jsonl");
    let mut p = Proc::spawn(
        &[
            "listen",
            "-v",
            "--events",
            ev.to_str().unwrap(),
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    let mut c = crate::common::connect(addr);
    c.write_all(b"hello").unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = crate::common::read_all(c);
    assert_eq!(p.finish().ok().stdout, b"hello");
    let closes = check_pairs(&read_events(&ev));
    let close = closes.values().next().expect("a close line");
    assert_eq!(
        (close["bytes_in"].as_u64(), close["bytes_out"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(close["reason"], "eof");
    // -c cat: the child moves the bytes; the counts still add up.
    let ev = dir.path().join("exec.jsonl");
    let mut p = Proc::spawn(
        &[
            "listen",
            "-k",
            "-v",
            "-c",
            "cat",
            "--events",
            ev.to_str().unwrap(),
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    let mut c = crate::common::connect(addr);
    let data = crate::common::pattern(100_000, 5);
    c.write_all(&data).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = Vec::new();
    c.read_to_end(&mut back).unwrap();
    assert_eq!(back.len(), data.len());
    drop(c);
    let lines = wait_events(&ev, "close", 1);
    let close = check_pairs(&lines).into_values().next().unwrap();
    assert_eq!(
        (close["bytes_in"].as_u64(), close["bytes_out"].as_u64()),
        (Some(100_000), Some(100_000)),
        "{close}"
    );
    drop(p);
}
