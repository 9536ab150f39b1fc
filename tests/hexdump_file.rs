//! `--hexdump=FILE`: the hex dump goes to FILE instead of stderr, each line stamped with the
//! connection's id and the time since that connection began, so a `-k` server's sessions can be told
//! apart: the bytes of each id, read back from the dump, are exactly that client's.

use std::collections::HashMap;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::path::Path;

use crate::common::{In, Proc, connect, pattern, read_all, run};
use crate::events::read_events;

/// One parsed line: `#ID +SECONDS DIR OFFSET  HEX... |TEXT|`.
#[derive(Debug)]
struct Line {
    id: u64,
    secs: f64,
    dir: char,
    offset: u64,
    bytes: Vec<u8>,
}

fn bad<T>(line: &str) -> T {
    panic!("not a stamped dump line: {line:?}")
}

fn parse(line: &str) -> Line {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() < 5 {
        bad::<()>(line);
    }
    let id: u64 = tokens[0]
        .strip_prefix('#')
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| bad(line));
    let secs_text = tokens[1].strip_prefix('+').unwrap_or_else(|| bad(line));
    // Seconds with exactly six decimals.
    if secs_text.split('.').nth(1).map(str::len) != Some(6) {
        bad::<()>(line);
    }
    let secs: f64 = secs_text.parse().unwrap_or_else(|_| bad(line));
    let dir = match tokens[2] {
        ">" => '>',
        "<" => '<',
        _ => bad(line),
    };
    let offset = u64::from_str_radix(tokens[3], 16).unwrap_or_else(|_| bad(line));
    let bytes: Vec<u8> = tokens[4..]
        .iter()
        .take_while(|t| t.len() == 2 && t.chars().all(|c| c.is_ascii_hexdigit()))
        .map(|t| u8::from_str_radix(t, 16).unwrap())
        .collect();
    assert!(line.ends_with('|'), "{line:?}");
    Line {
        id,
        secs,
        dir,
        offset,
        bytes,
    }
}

/// The dump in `path`, per connection id and direction: the bytes joined. Every line must parse, a
/// connection's offsets must follow on, and its times never go back.
fn read_dump(path: &Path) -> HashMap<(u64, char), Vec<u8>> {
    let text = std::fs::read_to_string(path).expect("the dump file");
    assert!(text.ends_with('\n'), "a torn last line: {text:?}");
    let mut out: HashMap<(u64, char), Vec<u8>> = HashMap::new();
    let mut last_time: HashMap<u64, f64> = HashMap::new();
    for line in text.lines() {
        let l = parse(line);
        let joined = out.entry((l.id, l.dir)).or_default();
        assert_eq!(l.offset, joined.len() as u64, "offset of {line:?}");
        joined.extend_from_slice(&l.bytes);
        let t = last_time.entry(l.id).or_insert(0.0);
        assert!(l.secs >= *t, "time went back at {line:?}");
        assert!(l.secs < 20.0, "{line:?}");
        *t = l.secs;
    }
    out
}

/// A `-k --echo` server with three clients: each id's received and sent bytes are exactly one
/// client's, the ids are the `--events` ids of those clients, and nothing is dumped on stderr.
#[test]
fn a_keep_open_servers_clients_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    let ev = dir.path().join("events");
    let dump_arg = format!("--hexdump={}", dump.display());
    let mut p = Proc::spawn(
        &[
            "listen",
            "-v",
            "-k",
            "--echo",
            &dump_arg,
            "--events",
            ev.to_str().unwrap(),
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    let payloads: Vec<Vec<u8>> = (0..3).map(|i| pattern(100 + i * 37, i as u64)).collect();
    // All three connected at once, then each sends and reads its echo to EOF.
    let conns: Vec<_> = payloads.iter().map(|_| connect(addr)).collect();
    let mut clients: Vec<SocketAddr> = Vec::new();
    for (mut c, data) in conns.into_iter().zip(&payloads) {
        clients.push(c.local_addr().unwrap());
        c.write_all(data).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        assert_eq!(&read_all(c), data);
    }
    let got = read_dump(&dump);
    p.signal("TERM");
    let done = p.finish();
    assert!(
        !done.stderr.contains("00000000"),
        "a dump on stderr\n{}",
        done.show()
    );
    let events = read_events(&ev);
    let id_of = |peer: &SocketAddr| -> u64 {
        events
            .iter()
            .find(|l| l["event"] == "accept" && l["peer"] == peer.to_string())
            .and_then(|l| l["id"].as_u64())
            .expect("an accept event")
    };
    let mut ids: Vec<u64> = Vec::new();
    for (peer, data) in clients.iter().zip(&payloads) {
        let id = id_of(peer);
        ids.push(id);
        assert_eq!(got.get(&(id, '<')), Some(data), "received by #{id}");
        assert_eq!(got.get(&(id, '>')), Some(data), "sent to #{id}");
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(got.len(), 6, "only these connections: {:?}", got.keys());
}

/// `listen --forward` serves each client on a thread of its own: its dump is stamped with its id too,
/// and the two directions (dumped from two threads) carry the same id.
#[test]
fn forwarded_clients_have_their_own_ids() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_addr = target.local_addr().unwrap();
    // The target answers each connection with "re:" and what it read.
    std::thread::spawn(move || {
        for conn in target.incoming() {
            let Ok(mut conn) = conn else { break };
            std::thread::spawn(move || {
                let data = read_all(&conn);
                let _ = conn.write_all(&[b"re:", &data[..]].concat());
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    let dump_arg = format!("--hexdump={}", dump.display());
    let mut p = Proc::spawn(
        &[
            "listen",
            "-v",
            &dump_arg,
            "127.0.0.1",
            "0",
            "--forward",
            &target_addr.to_string(),
        ],
        In::Null,
    );
    let addr = p.listening();
    for msg in [&b"first"[..], b"second"] {
        let mut c = connect(addr);
        c.write_all(msg).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_all(c), [b"re:", msg].concat());
    }
    let got = read_dump(&dump);
    let mut seen: Vec<(Vec<u8>, Vec<u8>)> = (0..2)
        .map(|id| {
            (
                got.get(&(id, '>')).cloned().unwrap_or_default(),
                got.get(&(id, '<')).cloned().unwrap_or_default(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (b"first".to_vec(), b"re:first".to_vec()),
            (b"second".to_vec(), b"re:second".to_vec()),
        ],
        "ids 0 and 1: {got:?}"
    );
}

/// connect: the dump goes to the file (id 0), stdout keeps the data, stderr stays empty; a file
/// that cannot be opened is status 2 naming it, before any connection.
#[test]
fn connect_dumps_to_a_file_and_a_bad_file_is_usage() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    std::thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        let data = read_all(&conn);
        conn.write_all(&data).unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    let dump_arg = format!("--hexdump={}", dump.display());
    let done = run(&["connect", &dump_arg, "127.0.0.1", &port], b"ping\n").ok();
    assert_eq!(done.stdout, b"ping\n");
    assert_eq!(done.stderr, "", "{}", done.show());
    let got = read_dump(&dump);
    assert_eq!(got.get(&(0, '>')).map(Vec::as_slice), Some(&b"ping\n"[..]));
    assert_eq!(got.get(&(0, '<')).map(Vec::as_slice), Some(&b"ping\n"[..]));
    run(
        &[
            "connect",
            "--hexdump=/nonexistent-dir/dump",
            "127.0.0.1",
            &port,
        ],
        b"",
    )
    .code(2)
    .one_error_line("--hexdump=/nonexistent-dir/dump");
}
