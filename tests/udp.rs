//! udp-send and udp-recv: against a Rust UdpSocket peer, sockcat to sockcat, and socat, on loopback only.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::common::{In, LIMIT, Proc, have, have_ipv6, pattern, run};

/// A Rust UDP peer on 127.0.0.1 (or ::1) with a bounded read timeout.
fn peer(addr: &str) -> (UdpSocket, String) {
    let s = UdpSocket::bind(addr).expect("bind peer");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let port = s.local_addr().unwrap().port().to_string();
    (s, port)
}

fn recv(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65536];
    let (n, from) = s.recv_from(&mut buf).expect("datagram within LIMIT");
    buf.truncate(n);
    (buf, from)
}

fn recv_n(s: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|_| recv(s).0).collect()
}

/// Nothing more arrives within a short while.
fn assert_quiet(s: &UdpSocket) {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(s.recv_from(&mut buf).is_err(), "an extra datagram arrived");
    s.set_read_timeout(Some(LIMIT)).unwrap();
}

/// A udp-recv with -v, once it says where it listens.
fn receiver(args: &[&str]) -> (Proc, SocketAddr) {
    let mut all = vec!["udp-recv", "-v"];
    all.extend_from_slice(args);
    let mut p = Proc::spawn(&all, In::Null);
    let addr = p.listening();
    (p, addr)
}

fn loopback(addr: SocketAddr) -> String {
    let ip = if addr.is_ipv6() && !addr.ip().is_unspecified() {
        "::1"
    } else {
        "127.0.0.1"
    };
    format!("{ip}:{}", addr.port())
}

#[test]
fn messages_are_one_datagram_each() {
    let (s, port) = peer("127.0.0.1:0");
    run(&["udp-send", "127.0.0.1", &port, "hello", "", "world"], b"").ok();
    assert_eq!(recv_n(&s, 3), [&b"hello"[..], b"", b"world"]);
    run(&["udp-send", &format!("127.0.0.1:{port}"), "one"], b"").ok();
    assert_eq!(recv(&s).0, b"one");
    assert_quiet(&s);
}

#[test]
fn stdin_is_cut_at_max_size_and_joins_exactly() {
    let (s, port) = peer("127.0.0.1:0");
    let data = pattern(10_000, 7);
    run(
        &["udp-send", "--max-size", "1000", "127.0.0.1", &port],
        &data,
    )
    .ok();
    let got = recv_n(&s, 10);
    assert!(got.iter().all(|d| d.len() == 1000));
    assert_eq!(got.concat(), data);
    // An odd size leaves a short last datagram.
    run(
        &["udp-send", "--max-size", "3", "127.0.0.1", &port],
        b"abcdefg",
    )
    .ok();
    assert_eq!(recv_n(&s, 3), [&b"abc"[..], b"def", b"g"]);
    // An empty stdin sends nothing.
    run(&["udp-send", "127.0.0.1", &port], b"").ok();
    assert_quiet(&s);
}

#[test]
fn large_stdin_to_sockcat_joins_exactly() {
    let (p, addr) = receiver(&["--format", "json", "-w", "1s", "127.0.0.1", "0"]);
    let data = pattern(300_000, 3);
    run(&["udp-send", &loopback(addr)], &data).ok();
    let done = p.finish().ok();
    let mut joined = Vec::new();
    let mut sizes = Vec::new();
    for line in done.stdout_str().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        sizes.push(v["len"].as_u64().unwrap());
        joined.extend(hex::decode(v["hex"].as_str().unwrap()).unwrap());
    }
    assert_eq!(
        sizes,
        [65507, 65507, 65507, 65507, 37972],
        "{}",
        done.show()
    );
    assert_eq!(joined, data);
}

#[test]
fn lines_are_datagrams_without_their_newline() {
    let (s, port) = peer("127.0.0.1:0");
    run(
        &["udp-send", "--lines", "127.0.0.1", &port],
        b"a\n\nb\r\nlast",
    )
    .ok();
    assert_eq!(recv_n(&s, 4), [&b"a"[..], b"", b"b\r", b"last"]);
    assert_quiet(&s);
    run(&["udp-send", "--lines", "127.0.0.1", &port, "msg"], b"")
        .code(2)
        .one_error_line("--lines");
    run(
        &["udp-send", "--lines", "--max-size", "4", "127.0.0.1", &port],
        b"ok\ntoo long\n",
    )
    .code(2)
    .one_error_line("line 2 is 8 bytes");
}

#[test]
fn hex_messages_and_lines() {
    let (s, port) = peer("127.0.0.1:0");
    run(
        &["udp-send", "--hex", "127.0.0.1", &port, "de ad", "00FF"],
        b"",
    )
    .ok();
    assert_eq!(recv_n(&s, 2), [&[0xde, 0xad][..], &[0x00, 0xff]]);
    run(
        &["udp-send", "--hex", "--lines", "127.0.0.1", &port],
        b"0102\r\n\n03\n",
    )
    .ok();
    assert_eq!(recv_n(&s, 3), [&[1, 2][..], &[], &[3]]);
    run(&["udp-send", "--hex", "127.0.0.1", &port], b"68 69\n0a\n").ok();
    assert_eq!(recv(&s).0, b"hi\n");
    run(&["udp-send", "--hex", "127.0.0.1", &port, "00", "xyz"], b"")
        .code(2)
        .one_error_line("invalid hex in message 2");
    run(
        &["udp-send", "--hex", "--lines", "127.0.0.1", &port],
        b"00\nabc\n",
    )
    .code(2)
    .one_error_line("invalid hex in line 2");
    // Nothing of a message list with bad hex went out.
    assert_quiet(&s);
}

#[test]
fn count_interval_and_rate_space_datagrams() {
    let (s, port) = peer("127.0.0.1:0");
    let start = Instant::now();
    run(
        &[
            "udp-send",
            "--count",
            "3",
            "--interval",
            "100ms",
            "127.0.0.1",
            &port,
            "x",
            "y",
        ],
        b"",
    )
    .ok();
    assert!(start.elapsed() >= Duration::from_millis(500));
    assert_eq!(recv_n(&s, 6), [&b"x"[..], b"y", b"x", b"y", b"x", b"y"]);
    let start = Instant::now();
    run(
        &[
            "udp-send",
            "--rate",
            "20",
            "--count",
            "5",
            "127.0.0.1",
            &port,
            "r",
        ],
        b"",
    )
    .ok();
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(recv_n(&s, 5).len(), 5);
    // --count repeats stdin too.
    run(
        &["udp-send", "--lines", "--count", "2", "127.0.0.1", &port],
        b"a\nb\n",
    )
    .ok();
    assert_eq!(recv_n(&s, 4), [&b"a"[..], b"b", b"a", b"b"]);
    assert_quiet(&s);
    run(&["udp-send", "--count", "0", "127.0.0.1", &port, "x"], b"").code(2);
    run(
        &[
            "udp-send",
            "--interval",
            "1",
            "--rate",
            "5",
            "127.0.0.1",
            &port,
            "x",
        ],
        b"",
    )
    .code(2);
}

#[test]
fn wait_reply_prints_replies() {
    let (s, port) = peer("127.0.0.1:0");
    let server = std::thread::spawn(move || {
        let (data, from) = recv(&s);
        s.send_to(&[b"re:", &data[..]].concat(), from).unwrap();
        s.send_to(b"|second", from).unwrap();
    });
    let done = run(
        &[
            "udp-send",
            "--wait-reply",
            "1s",
            "--stats",
            "127.0.0.1",
            &port,
            "ping",
        ],
        b"",
    )
    .ok();
    server.join().unwrap();
    assert_eq!(done.stdout, b"re:ping|second");
    assert!(
        done.stderr.contains("sent 1 datagram, 4 bytes"),
        "{}",
        done.show()
    );
    assert!(
        done.stderr.contains("received 2 datagrams, 14 bytes"),
        "{}",
        done.show()
    );
}

#[test]
fn wait_reply_to_a_closed_port_is_refused() {
    let (s, port) = peer("127.0.0.1:0");
    drop(s);
    run(
        &[
            "udp-send",
            "--wait-reply",
            "2s",
            "127.0.0.1",
            &port,
            "hello?",
        ],
        b"",
    )
    .code(1)
    .one_error_line("connection refused");
}

/// An ICMP refusal that the kernel reports while sockcat sends fails the run with status 1 whether there
/// was one datagram or several (the refusal of the first used to surface only on the second send).
#[test]
fn sending_to_a_closed_port_is_refused_whatever_the_count() {
    let (s, port) = peer("127.0.0.1:0");
    drop(s);
    for messages in [&["one"][..], &["one", "two"][..]] {
        let mut args = vec!["udp-send", "127.0.0.1", &port];
        args.extend_from_slice(messages);
        run(&args, b"").code(1).one_error_line("connection refused");
    }
    run(&["udp-send", "--lines", "127.0.0.1", &port], b"a\n")
        .code(1)
        .one_error_line("connection refused");
}

#[test]
fn wait_reply_without_a_reply_is_a_timeout() {
    let (s, port) = peer("127.0.0.1:0");
    run(
        &[
            "udp-send",
            "--wait-reply",
            "200ms",
            "127.0.0.1",
            &port,
            "hi",
        ],
        b"",
    )
    .code(3)
    .one_error_line("no reply");
    assert_eq!(recv(&s).0, b"hi");
}

#[test]
fn every_format() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let me = s.local_addr().unwrap().to_string();
    let json = format!(
        "{{\"from\":\"{me}\",\"len\":3,\"hex\":\"686901\",\"text\":\"hi\\u0001\"}}\n{{\"from\":\"{me}\",\"len\":1,\"hex\":\"ff\"}}\n"
    );
    for (format, want) in [
        ("raw", &b"hi\x01\xff"[..]),
        ("line", b"hi\x01\n\xff\n"),
        ("hex", b"686901\nff\n"),
        ("json", json.as_bytes()),
    ] {
        let (p, addr) = receiver(&["--format", format, "-c", "2", "127.0.0.1", "0"]);
        s.send_to(b"hi\x01", addr).unwrap();
        s.send_to(&[0xff], addr).unwrap();
        let done = p.finish().ok();
        assert_eq!(done.stdout, want, "{format}\n{}", done.show());
    }
}

#[test]
fn count_stops_after_n() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (p, addr) = receiver(&["--format", "line", "-c", "2", "--stats", "127.0.0.1", "0"]);
    for m in ["1", "2", "3"] {
        s.send_to(m.as_bytes(), addr).unwrap();
    }
    let done = p.finish().ok();
    assert_eq!(done.stdout, b"1\n2\n");
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert!(
        lines[0].starts_with("listening on 127.0.0.1:"),
        "{}",
        done.show()
    );
    assert!(
        lines[1].starts_with("received 2 datagrams, 2 bytes"),
        "{}",
        done.show()
    );
}

#[test]
fn timeout_is_3_when_nothing_came_and_0_otherwise() {
    let (p, _) = receiver(&["-w", "200ms", "127.0.0.1", "0"]);
    let done = p.finish().code(3);
    assert!(
        done.stderr.contains("no datagram arrived"),
        "{}",
        done.show()
    );
    let (p, addr) = receiver(&["-w", "300ms", "127.0.0.1", "0"]);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(b"one", addr).unwrap();
    let done = p.finish().ok();
    assert_eq!(done.stdout, b"one");
}

#[test]
fn echo_sends_datagrams_back() {
    let (p, addr) = receiver(&["--echo", "-c", "2", "127.0.0.1", "0"]);
    let (s, _) = peer("127.0.0.1:0");
    s.send_to(b"ping", addr).unwrap();
    assert_eq!(recv(&s), (b"ping".to_vec(), addr));
    // udp-send's --wait-reply against the echo server.
    let done = run(
        &["udp-send", "--wait-reply", "1s", &loopback(addr), "pong"],
        b"",
    )
    .ok();
    assert_eq!(done.stdout, b"pong");
    assert_eq!(p.finish().ok().stdout, b"pingpong");
}

#[test]
fn sockcat_to_sockcat_lines_in_bulk() {
    let (p, addr) = receiver(&["--format", "line", "-c", "20000", "127.0.0.1", "0"]);
    let mut input = Vec::new();
    for i in 0..20000 {
        input.extend(format!("{i:063}\n").into_bytes());
    }
    run(&["udp-send", "--lines", &loopback(addr)], &input).ok();
    let done = p.finish().ok();
    assert_eq!(done.stdout.len(), input.len());
    assert!(done.stdout == input, "lines differ");
}

#[test]
fn ipv6_and_dual_stack() {
    if !have_ipv6() {
        eprintln!("skipping: no IPv6 loopback");
        return;
    }
    let (p, addr) = receiver(&["--format", "json", "-c", "2", "::1", "0"]);
    assert_eq!(addr.ip().to_string(), "::1");
    let port = addr.port().to_string();
    run(&["udp-send", "::1", &port, "a"], b"").ok();
    run(&["udp-send", &format!("[::1]:{port}"), "b"], b"").ok();
    let out = p.finish().ok().stdout_str();
    assert!(out.contains("\"from\":\"[::1]:"), "{out}");
    assert_eq!(out.lines().count(), 2);
    // Without ADDR: dual-stack; IPv4 senders show as IPv4.
    let (p, addr) = receiver(&["--format", "json", "-c", "2", "0"]);
    assert_eq!(addr.ip().to_string(), "::");
    let port = addr.port().to_string();
    run(&["udp-send", "127.0.0.1", &port, "v4"], b"").ok();
    run(&["udp-send", "-6", "::1", &port, "v6"], b"").ok();
    let out = p.finish().ok().stdout_str();
    assert!(out.contains("\"from\":\"127.0.0.1:"), "{out}");
    assert!(out.contains("\"from\":\"[::1]:"), "{out}");
    // -4 binds IPv4 only.
    let (p, addr) = receiver(&["-4", "-w", "100ms", "0"]);
    assert_eq!(addr.ip().to_string(), "0.0.0.0");
    p.finish().code(3);
}

#[test]
fn bad_ports_and_addresses_are_usage_errors() {
    for args in [
        &["udp-send", "127.0.0.1", "99999", "x"][..],
        &["udp-send", "127.0.0.1:65536", "x"],
        &["udp-send", "::1:80", "x"],
        &["udp-send", "127.0.0.1"],
        &["udp-send", "bad host", "80", "x"],
        &["udp-send", "-4", "::1", "80", "x"],
        &["udp-send", "--max-size", "70000", "127.0.0.1", "9", "x"],
        &["udp-send", "--max-size", "2", "127.0.0.1", "9", "xyz"],
        &["udp-send", "--ttl", "0", "127.0.0.1", "9", "x"],
        &["udp-send", "--wait-reply", "soon", "127.0.0.1", "9", "x"],
        &["udp-recv", "70000"],
        &["udp-recv", "-1"],
        &["udp-recv", "[::1", "0"],
        &["udp-recv", "--group", "127.0.0.1", "0"],
        &["udp-recv", "--group", "nonsense", "0"],
        &["udp-recv", "-4", "--group", "ff01::1", "0"],
        &["udp-recv", "--recv-buffer", "lots", "0"],
        &["udp-recv", "--format", "xml", "0"],
        &["udp-recv", "-c", "0", "0"],
    ] {
        let done = run(args, b"").code(2);
        assert_eq!(done.stderr.lines().count(), 1, "{}", done.show());
    }
}

#[test]
fn port_in_use_and_reuseport() {
    let (p, addr) = receiver(&["--reuseport", "-w", "200ms", "127.0.0.1", "0"]);
    let port = addr.port().to_string();
    run(&["udp-recv", "127.0.0.1", &port], b"")
        .code(1)
        .one_error_line("address in use");
    let (q, _) = receiver(&["--reuseport", "-w", "200ms", "127.0.0.1", &port]);
    p.finish().code(3);
    q.finish().code(3);
}

#[test]
fn socket_options_stay_on_loopback() {
    // Multicast joins that send no membership report off the machine: the IPv4 all-hosts group and
    // an IPv6 interface-local group.
    let (p, _) = receiver(&["--group", "224.0.0.1", "-w", "100ms", "0"]);
    p.finish().code(3);
    if have_ipv6() {
        let (p, addr) = receiver(&["--group", "ff01::4242", "-w", "100ms", "0"]);
        assert!(addr.is_ipv6());
        p.finish().code(3);
    }
    let (p, _) = receiver(&["--recv-buffer", "1M", "-w", "100ms", "127.0.0.1", "0"]);
    p.finish().code(3);
    // Loopback's broadcast address needs SO_BROADCAST, and reaches a wildcard listener.
    let (p, addr) = receiver(&["-4", "-c", "1", "0"]);
    let port = addr.port().to_string();
    run(&["udp-send", "127.255.255.255", &port, "b"], b"")
        .code(1)
        .one_error_line("--broadcast");
    run(
        &[
            "udp-send",
            "--broadcast",
            "--ttl",
            "1",
            "127.255.255.255",
            &port,
            "b",
        ],
        b"",
    )
    .ok();
    assert_eq!(p.finish().ok().stdout, b"b");
}

#[test]
fn socat_as_sender_and_echo_server() {
    if !have("socat") {
        return;
    }
    // socat sends, sockcat receives.
    let (p, addr) = receiver(&["--format", "line", "-c", "1", "127.0.0.1", "0"]);
    let mut socat = Proc::spawn_program(
        "socat",
        &["-u", "-", &format!("UDP4-SENDTO:127.0.0.1:{}", addr.port())],
        In::Pipe,
    );
    socat.write(b"from socat");
    socat.finish().ok();
    assert_eq!(p.finish().ok().stdout, b"from socat\n");

    // socat echoes, sockcat sends and waits for the replies.
    let (s, port) = peer("127.0.0.1:0");
    drop(s);
    let _echo = Proc::spawn_program(
        "socat",
        &[&format!("UDP4-LISTEN:{port},bind=127.0.0.1"), "PIPE"],
        In::Null,
    );
    // socat's UDP-LISTEN talks to the first sender only: every udp-send uses the same source port.
    let (s, src) = peer("127.0.0.1:0");
    drop(s);
    // Until socat is bound the port is closed (status 1); retry, bounded.
    let deadline = Instant::now() + LIMIT;
    loop {
        let done = run(
            &[
                "udp-send",
                "--source-port",
                &src,
                "--wait-reply",
                "1s",
                "127.0.0.1",
                &port,
                "ping",
            ],
            b"",
        );
        if done.code == Some(0) {
            assert_eq!(done.stdout, b"ping");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "socat echo never answered\n{}",
            done.show()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Equal-sized lines (one GSO send) arrive at socat as separate datagrams.
    let done = run(
        &[
            "udp-send",
            "--lines",
            "--source-port",
            &src,
            "--wait-reply",
            "1s",
            "127.0.0.1",
            &port,
        ],
        b"aaa\nbbb\nccc\n",
    )
    .ok();
    assert_eq!(done.stdout, b"aaabbbccc");
}

#[test]
fn stats_on_sigint() {
    let (mut p, addr) = receiver(&["-v", "--stats", "--format", "line", "127.0.0.1", "0"]);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(b"a", addr).unwrap();
    s.send_to(b"bc", addr).unwrap();
    // -vv logs each datagram: wait until both were handled.
    p.wait_line("datagram from");
    p.wait_line("datagram from");
    p.signal("INT");
    let done = p.finish().ok();
    assert!(
        done.stderr.contains("received 2 datagrams, 3 bytes"),
        "{}",
        done.show()
    );
    assert_eq!(done.stdout, b"a\nbc\n");
}

/// Sends one UDP datagram to 127.0.0.1:`port` that claims to come from 127.0.0.1:`from` (a raw
/// socket, so root only). False when it could not (not root, no python3).
fn spoof(port: u16, from: u16, payload: &str) -> bool {
    if !have("python3") {
        return false;
    }
    let script = "import socket,struct,sys\n\
        port,src,data=int(sys.argv[1]),int(sys.argv[2]),sys.argv[3].encode()\n\
        try:\n    s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_UDP)\n\
        except PermissionError:\n    sys.exit(5)\n\
        s.sendto(struct.pack('!HHHH',src,port,8+len(data),0)+data,('127.0.0.1',0))\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script, &port.to_string(), &from.to_string(), payload])
        .output()
        .expect("run python3");
    out.status.success()
}

#[test]
fn echo_never_answers_its_own_address_or_port_0() {
    // -c 3: self, zero and real (before the fix: three echoes of "self" to itself). Not -w: a slow
    // python3 start under load must not end the receiver between two datagrams.
    let (p, addr) = receiver(&["--echo", "--format", "line", "-c", "3", "127.0.0.1", "0"]);
    // A datagram "from" the receiver itself: echoing it would loop forever.
    if !spoof(addr.port(), addr.port(), "self") {
        return;
    }
    assert!(spoof(addr.port(), 0, "zero"));
    // A real client is still answered (and tells that the two before were taken).
    let (s, _) = peer("127.0.0.1:0");
    s.send_to(b"real", addr).unwrap();
    assert_eq!(recv(&s).0, b"real");
    let done = p.finish().ok();
    assert_eq!(done.stdout_str(), "self\nzero\nreal\n", "{}", done.show());
}

#[test]
fn source_port_sets_reuseaddr_as_for_tcp() {
    // Another socket holds the port with SO_REUSEADDR: udp-send --source-port shares it, as
    // connect --source-port does for TCP.
    let holder = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    holder.set_reuse_address(true).unwrap();
    holder
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let port = holder
        .local_addr()
        .unwrap()
        .as_socket()
        .unwrap()
        .port()
        .to_string();
    let (s, target) = peer("127.0.0.1:0");
    run(
        &[
            "udp-send",
            "--source-port",
            &port,
            "-s",
            "127.0.0.1",
            "127.0.0.1",
            &target,
            "hi",
        ],
        b"",
    )
    .ok();
    let (data, from) = recv(&s);
    assert_eq!(
        (data.as_slice(), from.port().to_string()),
        (&b"hi"[..], port)
    );
}

#[test]
fn typed_lines_go_at_once_and_replies_print_while_stdin_is_open() {
    // A terminal on stdin (script(1) gives sockcat one): each typed line is one datagram at once,
    // newline included, as nc -u sends it; --wait-reply prints replies while stdin stays open.
    if !have("script") {
        return;
    }
    let (s, port) = peer("127.0.0.1:0");
    let cmd = format!(
        "{} udp-send --wait-reply 5s 127.0.0.1 {port}",
        crate::common::bin().display()
    );
    let mut p = Proc::spawn_program("script", &["-qfec", &cmd, "/dev/null"], In::Pipe);
    p.write(b"hello\n");
    let (data, from) = recv(&s);
    assert_eq!(data, b"hello\n");
    s.send_to(b"PONG-1", from).unwrap();
    assert!(
        p.stdout_has_within(b"PONG-1", LIMIT),
        "reply printed while stdin is open"
    );
    p.write(b"again\n");
    assert_eq!(recv(&s).0, b"again\n");
    s.send_to(b"PONG-2", from).unwrap();
    assert!(p.stdout_has_within(b"PONG-2", LIMIT));
}

#[test]
fn reply_sends_stdin_to_the_most_recent_sender() {
    let mut p = Proc::spawn(&["udp-recv", "-v", "--reply", "127.0.0.1", "0"], In::Pipe);
    let addr = p.listening();
    // Typed before anyone sent: it waits for the first sender.
    p.write(b"early\n");
    let (a, _) = peer("127.0.0.1:0");
    a.send_to(b"from a", addr).unwrap();
    let (data, from) = recv(&a);
    assert_eq!(
        (data.as_slice(), from),
        (&b"early\n"[..], addr),
        "from the receiving port"
    );
    // B sends last: stdin now goes to B only.
    let (b, _) = peer("127.0.0.1:0");
    b.send_to(b"from b", addr).unwrap();
    assert!(p.stdout_has_within(b"from afrom b", LIMIT));
    p.write(b"to b\n");
    assert_eq!(recv(&b).0, b"to b\n");
    assert_quiet(&a);
}

/// A free UDP port on 127.0.0.1 (bound, then released): nothing answers there until a test binds it.
fn closed_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

/// --wait-for with --wait-reply: the target comes up late on purpose (after sockcat said it retries);
/// sockcat keeps sending until it answers, prints the reply, and exits 0.
#[test]
fn wait_for_sends_until_the_target_answers() {
    let port = closed_udp_port().to_string();
    let mut p = Proc::spawn(
        &[
            "udp-send",
            "-v",
            "--wait-for",
            "20s",
            "--wait-reply",
            "300ms",
            "127.0.0.1",
            &port,
            "ping",
        ],
        In::Null,
    );
    p.wait_line("not up yet, retrying: ");
    let (s, _) = peer(&format!("127.0.0.1:{port}"));
    let (data, from) = recv(&s);
    assert_eq!(data, b"ping");
    s.send_to(b"pong", from).unwrap();
    let done = p.finish().ok();
    assert_eq!(done.stdout, b"pong", "{}", done.show());
}

/// --wait-for without --wait-reply: up means no ICMP refusal; stdin (read whole) goes once the
/// receiver that starts late is there, and only whole tries of it reach the receiver.
#[test]
fn wait_for_without_replies_waits_for_no_refusal() {
    let port = closed_udp_port().to_string();
    let mut p = Proc::spawn(
        &["udp-send", "-v", "--wait-for", "20s", "127.0.0.1", &port],
        In::Pipe,
    );
    p.write(b"hello");
    p.close_stdin();
    p.wait_line("not up yet, retrying: ");
    let (s, _) = peer(&format!("127.0.0.1:{port}"));
    p.finish().ok();
    assert_eq!(recv(&s).0, b"hello");
}

/// Nobody comes: status 3 naming the target and the last reason; a target that is bound but never
/// answers is sent to again on every try.
#[test]
fn wait_for_expires_with_status_3() {
    let port = closed_udp_port().to_string();
    run(
        &["udp-send", "--wait-for", "300ms", "127.0.0.1", &port, "x"],
        b"",
    )
    .code(3)
    .one_error_line(&format!(
        "127.0.0.1:{port} not up after 300ms: send to 127.0.0.1:{port}: connection refused"
    ));
    let (s, port) = peer("127.0.0.1:0");
    run(
        &[
            "udp-send",
            "--wait-for",
            "1s",
            "--wait-reply",
            "100ms",
            "127.0.0.1",
            &port,
            "silent?",
        ],
        b"",
    )
    .code(3)
    .one_error_line("not up after 1s: no reply");
    assert_eq!(recv_n(&s, 2), [b"silent?", b"silent?"], "tried again");
}

/// --wait-for also waits for what is not there yet at all: a Unix datagram socket that a receiver
/// (started late, on purpose) creates, which then echoes.
#[test]
fn wait_for_waits_for_a_unix_socket_to_appear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.sock");
    let path = path.to_str().unwrap();
    let mut p = Proc::spawn(
        &[
            "udp-send",
            "-v",
            "--wait-for",
            "20s",
            "--wait-reply",
            "300ms",
            "--unix",
            path,
            "hi",
        ],
        In::Null,
    );
    p.wait_line("not up yet, retrying: connect ");
    let receiver = Proc::spawn(&["udp-recv", "--echo", "-c", "1", "--unix", path], In::Null);
    let done = p.finish().ok();
    assert_eq!(done.stdout, b"hi", "{}", done.show());
    assert_eq!(receiver.finish().ok().stdout, b"hi");
}
