//! `udp-recv --forward HOST:PORT`: a UDP relay with a session (a socket of its own) per client
//! address, on loopback only. The target is an echo peer in this process (it records the source
//! address of each datagram, so a test can tell sessions apart) or socat.

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{In, LIMIT, Proc, have, run};
use crate::events::{read_events, wait_events};

/// An echo target on 127.0.0.1: sends each datagram back as it came and records its source.
struct Echo {
    port: u16,
    sources: Arc<Mutex<Vec<SocketAddr>>>,
}

fn echo_target() -> Echo {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind echo target");
    echo_on(s)
}

fn echo_on(s: UdpSocket) -> Echo {
    let port = s.local_addr().unwrap().port();
    let sources = Arc::new(Mutex::new(Vec::new()));
    let seen = sources.clone();
    s.set_read_timeout(Some(LIMIT * 3)).unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            seen.lock().unwrap().push(from);
            let _ = s.send_to(&buf[..n], from);
        }
    });
    Echo { port, sources }
}

impl Echo {
    fn distinct_sources(&self) -> HashSet<SocketAddr> {
        self.sources.lock().unwrap().iter().copied().collect()
    }
}

/// A client socket on 127.0.0.1 whose reads give up after `LIMIT`.
fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind client");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s
}

/// Sends `data` to `to` and returns the reply and where it came from.
fn ask(s: &UdpSocket, to: SocketAddr, data: &[u8]) -> (Vec<u8>, SocketAddr) {
    s.send_to(data, to).unwrap();
    let mut buf = vec![0u8; 65536];
    let (n, from) = s.recv_from(&mut buf).expect("a reply within LIMIT");
    buf.truncate(n);
    (buf, from)
}

/// Nothing arrives on `s` for a while (a dropped datagram gets no reply).
fn no_reply(s: &UdpSocket) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    let quiet = s.recv_from(&mut buf).is_err();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    quiet
}

/// A forwarder to 127.0.0.1:`target` with -v and `extra` options, once it listens.
fn forwarder(target: u16, extra: &[&str]) -> (Proc, SocketAddr) {
    let fwd = format!("127.0.0.1:{target}");
    let mut args = vec!["udp-recv", "-v", "127.0.0.1", "0", "--forward", &fwd];
    args.extend_from_slice(extra);
    let mut p = Proc::spawn(&args, In::Null);
    let addr = p.listening();
    (p, addr)
}

/// Binary payload number `k` of client `c`: sizes from 1 to ~1400 bytes, every byte value.
fn payload(c: usize, k: usize) -> Vec<u8> {
    let len = 1 + (c * 131 + k * 57) % 1400;
    (0..len)
        .map(|i| (i as u64 * 2654435761 + (c * 1000 + k) as u64) as u8)
        .collect()
}

/// 20 clients at once, each with its own address: every reply reaches the client whose datagram it
/// answers, byte-exact, from the port the client sent to; the target sees 20 distinct sources (a
/// session socket per client), and the events pair each session's accept with its close.
#[test]
fn twenty_clients_each_get_their_own_replies() {
    let echo = echo_target();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("events");
    let ev_arg = ev.to_str().unwrap().to_string();
    let (p, addr) = forwarder(echo.port, &["--events", &ev_arg]);
    const CLIENTS: usize = 20;
    const ROUNDS: usize = 30;
    let start = Arc::new(std::sync::Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let start = start.clone();
            std::thread::spawn(move || {
                let s = client();
                start.wait();
                for k in 0..ROUNDS {
                    let sent = payload(c, k);
                    let (got, from) = ask(&s, addr, &sent);
                    assert_eq!(from, addr, "client {c}: the reply came from elsewhere");
                    assert!(got == sent, "client {c} round {k}: not its own reply");
                }
                s.local_addr().unwrap()
            })
        })
        .collect();
    let clients: Vec<SocketAddr> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let sources = echo.distinct_sources();
    assert_eq!(sources.len(), CLIENTS, "one session socket per client");
    assert!(
        !sources.iter().any(|s| clients.contains(s)),
        "the target saw a client's own address"
    );
    p.signal("INT");
    let done = p.finish().killed_by(2);
    assert!(done.stdout.is_empty(), "{}", done.show());
    let lines = read_events(&ev);
    let accepts: Vec<&Value> = lines.iter().filter(|l| l["event"] == "accept").collect();
    let closes: Vec<&Value> = lines.iter().filter(|l| l["event"] == "close").collect();
    assert_eq!(accepts.len(), CLIENTS, "{lines:?}");
    assert_eq!(closes.len(), CLIENTS, "{lines:?}");
    for close in closes {
        assert_eq!(close["reason"], "signal");
        assert_eq!(close["dest"], format!("127.0.0.1:{}", echo.port));
        assert_eq!(close["bytes_in"], close["bytes_out"], "{close}");
        let peer: SocketAddr = close["peer"].as_str().unwrap().parse().unwrap();
        let c = clients.iter().position(|a| *a == peer).expect("a client");
        let want: usize = (0..ROUNDS).map(|k| payload(c, k).len()).sum();
        assert_eq!(close["bytes_in"], want, "{close}");
    }
}

/// A session quiet for --session-idle is closed (reason idle); the client's next datagram opens a
/// new one, which the target sees from a new source port.
#[test]
fn idle_sessions_expire_and_come_back_new() {
    let echo = echo_target();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("events");
    let ev_arg = ev.to_str().unwrap().to_string();
    let (mut p, addr) = forwarder(echo.port, &["--session-idle", "300ms", "--events", &ev_arg]);
    let s = client();
    let me = s.local_addr().unwrap().to_string();
    // One exchange only before the expiry: two could be further apart than the idle time on a
    // loaded machine.
    assert_eq!(ask(&s, addr, b"one").0, b"one");
    assert_eq!(echo.distinct_sources().len(), 1);
    p.wait_line(&format!("session {me} closed (idle)"));
    let lines = wait_events(&ev, "close", 1);
    let close = lines.iter().find(|l| l["event"] == "close").unwrap();
    assert_eq!(close["reason"], "idle", "{close}");
    assert_eq!(close["bytes_in"], 3, "{close}");
    assert_eq!(close["bytes_out"], 3, "{close}");
    assert!(close["duration_ms"].as_u64().unwrap() >= 300, "{close}");
    assert_eq!(ask(&s, addr, b"three").0, b"three");
    assert_eq!(echo.distinct_sources().len(), 2, "a new session socket");
    wait_events(&ev, "accept", 2);
}

/// --max-sessions 2: a third client's datagrams are dropped (said once with -v, a refuse event with
/// reason max-sessions, counted by --stats); 100 more sources cost no more sockets than the cap.
#[test]
fn max_sessions_drops_new_sources_in_bounded_memory() {
    let echo = echo_target();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("events");
    let ev_arg = ev.to_str().unwrap().to_string();
    let (mut p, addr) = forwarder(
        echo.port,
        &["--max-sessions", "2", "--stats", "--events", &ev_arg],
    );
    let pid = p.pid();
    let fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    let (a, b, c) = (client(), client(), client());
    assert_eq!(ask(&a, addr, b"a").0, b"a");
    assert_eq!(ask(&b, addr, b"b").0, b"b");
    let with_two = fds();
    c.send_to(b"c", addr).unwrap();
    let cname = c.local_addr().unwrap().to_string();
    p.wait_line(&format!(
        "dropped datagrams from {cname}: --max-sessions 2 reached"
    ));
    assert!(no_reply(&c), "a source beyond the cap got a reply");
    // A flood of new sources: each is refused once, and no socket is opened for any.
    let flood: Vec<UdpSocket> = (0..100).map(|_| client()).collect();
    for s in &flood {
        s.send_to(b"flood", addr).unwrap();
        s.send_to(b"flood", addr).unwrap();
    }
    wait_events(&ev, "refuse", 101);
    assert_eq!(fds(), with_two, "sockets beyond the cap");
    // The sessions there are still work.
    assert_eq!(ask(&a, addr, b"a again").0, b"a again");
    assert_eq!(
        echo.sources.lock().unwrap().len(),
        3,
        "a dropped datagram reached the target"
    );
    p.signal("INT");
    let done = p.finish().ok();
    assert!(
        done.stderr
            .contains("2 sessions, 201 datagrams dropped at --max-sessions"),
        "{}",
        done.show()
    );
    let lines = read_events(&ev);
    let refuses: Vec<&Value> = lines.iter().filter(|l| l["event"] == "refuse").collect();
    assert_eq!(refuses.len(), 101, "one refuse per source: {lines:?}");
    assert!(refuses.iter().all(|l| l["reason"] == "max-sessions"));
}

/// A session that ends (idle) makes room under --max-sessions: the source refused before gets in.
/// (The idle time is long enough that a's session is still there when b's datagram comes, even on a
/// loaded machine: the two are sent back to back.)
#[test]
fn an_ended_session_makes_room() {
    let echo = echo_target();
    let (mut p, addr) = forwarder(echo.port, &["--max-sessions", "1", "--session-idle", "2s"]);
    let (a, b) = (client(), client());
    assert_eq!(ask(&a, addr, b"a").0, b"a");
    b.send_to(b"b", addr).unwrap();
    let bname = b.local_addr().unwrap().to_string();
    p.wait_line(&format!("dropped datagrams from {bname}"));
    p.wait_line(&format!(
        "session {} closed (idle)",
        a.local_addr().unwrap()
    ));
    assert_eq!(ask(&b, addr, b"b again").0, b"b again");
    assert_eq!(echo.distinct_sources().len(), 2);
}

/// A target that is not there: the ICMP port-unreachable costs the datagram, never the relay; once
/// the target comes up (late, on purpose) the same session reaches it.
#[test]
fn a_dead_target_does_not_end_the_relay() {
    let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    drop(holder);
    let (mut p, addr) = forwarder(port, &["--stats"]);
    let s = client();
    let me = s.local_addr().unwrap().to_string();
    s.send_to(b"anyone?", addr).unwrap();
    p.wait_line(&format!(
        "session {me}: 127.0.0.1:{port}: connection refused"
    ));
    // Twice: the refusal queued on the session socket must not break the next send either.
    s.send_to(b"anyone??", addr).unwrap();
    assert!(no_reply(&s));
    assert!(p.exited().is_none(), "the relay ended");
    // The target comes up now.
    let echo = echo_on(UdpSocket::bind(("127.0.0.1", port)).expect("rebind the target port"));
    let deadline = Instant::now() + LIMIT;
    // The first datagram after the refusal may be the one the kernel reports the refusal on and
    // drops; a client retries as any UDP client does, bounded.
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 64];
    let got = loop {
        s.send_to(b"now", addr).unwrap();
        if let Ok((n, from)) = s.recv_from(&mut buf) {
            assert_eq!(from, addr);
            break buf[..n].to_vec();
        }
        assert!(Instant::now() < deadline, "the target never answered");
    };
    assert_eq!(got, b"now");
    assert_eq!(echo.distinct_sources().len(), 1);
    p.signal("TERM");
    let done = p.finish().ok();
    assert!(done.stderr.contains("1 session,"), "{}", done.show());
}

/// socat as the target (`UDP4-RECVFROM,fork PIPE`, a child per datagram): sockcat udp-send clients
/// get their replies through the relay. A client whose datagram or reply was lost tries again, as any
/// UDP client does (bounded): a landing run under load had two of the five answered by nobody within
/// their 3 s, while socat forked a child for each of the others.
#[test]
fn socat_echo_target_and_sockcat_clients() {
    if !have("socat") {
        return;
    }
    let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    drop(holder);
    let _socat = Proc::spawn_program(
        "socat",
        &[&format!("UDP4-RECVFROM:{port},bind=127.0.0.1,fork"), "PIPE"],
        In::Null,
    );
    wait_udp_bound(port);
    let (_p, addr) = forwarder(port, &[]);
    let target = addr.to_string();
    let clients: Vec<_> = (0..5)
        .map(|c| {
            let target = target.clone();
            std::thread::spawn(move || {
                let msg = format!("client-{c}");
                let deadline = Instant::now() + LIMIT;
                loop {
                    let done = run(&["udp-send", "--wait-reply", "3s", &target, &msg], b"");
                    if done.code != Some(3) || Instant::now() >= deadline {
                        return done.ok().stdout == msg.as_bytes();
                    }
                }
            })
        })
        .collect();
    for c in clients {
        assert!(c.join().unwrap(), "a client did not get its own reply");
    }
}

/// Waits (bounded) until a socket is bound to UDP `port` on 127.0.0.1.
fn wait_udp_bound(port: u16) {
    let needle = format!("0100007F:{port:04X}");
    let deadline = Instant::now() + LIMIT;
    while !std::fs::read_to_string("/proc/net/udp")
        .unwrap_or_default()
        .contains(&needle)
    {
        assert!(Instant::now() < deadline, "UDP port {port} never bound");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn bad_forward_targets_are_usage_errors() {
    for bad in ["127.0.0.1", "127.0.0.1:0", "unix:/tmp/x", "127.0.0.1:99999"] {
        run(&["udp-recv", "127.0.0.1", "0", "--forward", bad], b"")
            .code(2)
            .one_error_line("--forward");
    }
    run(
        &[
            "udp-recv",
            "--echo",
            "127.0.0.1",
            "0",
            "--forward",
            "127.0.0.1:9",
        ],
        b"",
    )
    .code(2);
}

/// A bulk of equal-sized datagrams (udp-send sends them as UDP GSO, the relay receives them
/// coalesced by UDP GRO, more than one batch's worth per call) all arrive, in order, byte-exact,
/// at a sockcat receiver behind the relay.
#[test]
fn a_bulk_of_coalesced_datagrams_goes_through_whole() {
    const N: usize = 2000;
    let mut recv = Proc::spawn(
        &[
            "udp-recv",
            "-v",
            "--format",
            "line",
            "-c",
            &N.to_string(),
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let target = recv.listening();
    let (_fwd, addr) = forwarder(target.port(), &[]);
    let input: String = (0..N).map(|i| format!("{i:08}\n")).collect();
    run(
        &["udp-send", "--lines", &addr.to_string()],
        input.as_bytes(),
    )
    .ok();
    let done = recv.finish().ok();
    assert!(
        done.stdout == input.as_bytes(),
        "{} of {N} lines came",
        done.stdout.iter().filter(|&&b| b == b'\n').count()
    );
}

/// A socket per session: the relay raises its soft open-file limit (as listen does), so a low soft
/// limit (64 here) does not cap it at a few dozen sessions.
#[test]
fn sessions_are_not_capped_by_a_low_soft_descriptor_limit() {
    let echo = echo_target();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("events");
    let script = format!(
        "ulimit -Sn 64 && exec {} udp-recv -v 127.0.0.1 0 --forward 127.0.0.1:{} --events {}",
        crate::common::bin().display(),
        echo.port,
        ev.display()
    );
    let mut p = Proc::spawn_program("sh", &["-c", &script], In::Null);
    let addr = p.listening();
    let clients: Vec<UdpSocket> = (0..100).map(|_| client()).collect();
    for c in &clients {
        assert_eq!(ask(c, addr, b"hi").0, b"hi");
    }
    assert_eq!(echo.distinct_sources().len(), 100);
    wait_events(&ev, "accept", 100);
}
