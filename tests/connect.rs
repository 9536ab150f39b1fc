//! `sockcat connect`: endpoints, IPv6, timeouts, wait-for, probes, source addresses, bad input.

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::blackhole::blackhole;
use crate::common::{In, Proc, closed_port, free_port, have_ipv6, read_all, run, tcp_listener};

#[test]
fn host_port_forms() {
    for form in ["two", "colon"] {
        let (l, port) = tcp_listener();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let got = read_all(&mut s);
            s.write_all(&got).unwrap();
        });
        let hp = format!("127.0.0.1:{port}");
        let p = port.to_string();
        let args: Vec<&str> = if form == "two" {
            vec!["connect", "127.0.0.1", &p]
        } else {
            vec!["connect", &hp]
        };
        let done = run(&args, b"echo me").ok();
        assert_eq!(done.stdout, b"echo me");
        server.join().unwrap();
    }
}

#[test]
fn ipv6_bracketed() {
    if !have_ipv6() {
        return;
    }
    let l = TcpListener::bind("[::1]:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        read_all(&mut s)
    });
    run(&["connect", "-v", &format!("[::1]:{port}")], b"six").ok();
    assert_eq!(server.join().unwrap(), b"six");
}

#[test]
fn connect_timeout_is_status_3() {
    let (_l, _fill, addr) = blackhole("127.0.0.1:0".parse().unwrap());
    let started = Instant::now();
    run(
        &[
            "connect",
            "-w",
            "300ms",
            "127.0.0.1",
            &addr.port().to_string(),
        ],
        b"",
    )
    .code(3)
    .one_error_line("timed out");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn wait_for_succeeds_once_the_service_is_up() {
    let port = free_port();
    let mut p = Proc::spawn(
        &[
            "connect",
            "-z",
            "-v",
            "--wait-for",
            "15s",
            "127.0.0.1",
            &port.to_string(),
        ],
        crate::common::In::Null,
    );
    // The service comes up a little later; sockcat keeps retrying meanwhile.
    std::thread::sleep(Duration::from_millis(300));
    let l = TcpListener::bind(("127.0.0.1", port)).expect("rebind the port");
    assert!(
        p.exited().is_none(),
        "sockcat gave up before the service came up"
    );
    let done = p.finish().ok();
    assert_eq!(done.stdout_str(), format!("127.0.0.1:{port} open\n"));
    drop(l);
}

/// A Unix socket path that does not exist yet is a service not up: status 1 at once, and `--wait-for`
/// waits for it to appear. The listener binds only after sockcat has failed once (its -v line).
#[test]
fn wait_for_a_unix_socket_to_appear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sock");
    let path_s = path.to_str().unwrap();
    run(&["connect", "--unix", path_s], b"hi\n")
        .code(1)
        .one_error_line("no such file");
    let input = crate::common::write_file(dir.path(), "in", b"hi\n");
    let mut p = Proc::spawn(
        &["connect", "-v", "--wait-for", "15s", "--unix", path_s],
        crate::common::In::File(input),
    );
    let line = p.wait_line("not up yet");
    assert!(line.contains("no such file"), "{line}");
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let (conn, _) = l.accept().unwrap();
    assert_eq!(read_all(&conn), b"hi\n");
    drop(conn);
    p.finish().ok();
}

/// A stale socket file (nobody listens: connection refused) is waited for too, until a listener
/// takes the path over.
#[test]
fn wait_for_a_stale_unix_socket_to_come_alive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sock");
    let path_s = path.to_str().unwrap();
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // leaves the file behind
    let input = crate::common::write_file(dir.path(), "in", b"hi\n");
    let mut p = Proc::spawn(
        &["connect", "-v", "--wait-for", "15s", "--unix", path_s],
        crate::common::In::File(input),
    );
    let line = p.wait_line("not up yet");
    assert!(line.contains("refused"), "{line}");
    std::fs::remove_file(&path).unwrap();
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let (conn, _) = l.accept().unwrap();
    assert_eq!(read_all(&conn), b"hi\n");
    drop(conn);
    p.finish().ok();
}

#[test]
fn wait_for_expiry_is_status_3() {
    let port = closed_port();
    run(
        &[
            "connect",
            "--wait-for",
            "400ms",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .code(3)
    .one_error_line("not up after 400ms")
    // Why it is not up: the refusals, not the last attempt that the deadline cut to nothing.
    .one_error_line("connection refused");
}

#[test]
fn probes_lists_ranges_and_endpoints() {
    let (a, pa) = tcp_listener();
    let (b, pb) = tcp_listener();
    let pc = closed_port();
    let list = format!("{pa},{pc},{pb}");
    let done = run(&["connect", "-z", "127.0.0.1", &list], b"")
        .code(1)
        // stdout has no room for why a port is not open; the error line says it.
        .one_error_line(&format!(
            "1 of 3 probed ports not open (127.0.0.1:{pc}: connect 127.0.0.1:{pc}: connection refused)"
        ));
    assert_eq!(
        done.stdout_str(),
        format!("127.0.0.1:{pa} open\n127.0.0.1:{pb} open\n")
    );
    let done = run(&["connect", "-zv", "127.0.0.1", &list], b"").code(1);
    assert_eq!(
        done.stdout_str(),
        format!("127.0.0.1:{pa} open\n127.0.0.1:{pc} closed\n127.0.0.1:{pb} open\n")
    );
    // Several HOST:PORT targets, all open: status 0.
    let done = run(
        &[
            "connect",
            "-z",
            &format!("127.0.0.1:{pa}"),
            &format!("localhost:{pb}"),
        ],
        b"",
    )
    .ok();
    assert_eq!(
        done.stdout_str(),
        format!("127.0.0.1:{pa} open\nlocalhost:{pb} open\n")
    );
    // JSON lines.
    let done = run(
        &[
            "connect",
            "-z",
            "--json",
            "127.0.0.1",
            &format!("{pa},{pc}"),
        ],
        b"",
    )
    .code(1);
    let lines: Vec<serde_json::Value> = done
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "open");
    assert_eq!(lines[0]["port"], pa);
    assert_eq!(lines[1]["status"], "closed");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
    // A small range.
    let lo = pa.min(pb);
    let done = run(&["connect", "-z", "127.0.0.1", &format!("{lo}-{lo}")], b"").ok();
    assert_eq!(done.stdout_str(), format!("127.0.0.1:{lo} open\n"));
    drop((a, b));
}

#[test]
fn probe_bad_ports_are_status_2() {
    for bad in ["10-5", "1-70000", "99999", "0x50", "22,,80", "http-"] {
        run(&["connect", "-z", "127.0.0.1", bad], b"")
            .code(2)
            .one_error_line("");
    }
}

#[test]
fn source_address_and_port() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (s, peer) = l.accept().unwrap();
        drop(s);
        peer
    });
    let sport = free_port();
    run(
        &[
            "connect",
            "-s",
            "127.0.0.2",
            "--source-port",
            &sport.to_string(),
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .ok();
    let peer = server.join().unwrap();
    assert_eq!(peer.ip().to_string(), "127.0.0.2");
    assert_eq!(peer.port(), sport);
}

/// IPv6 literals may carry a zone (`fe80::1%eth0`, needed for link-local peers): by name or index, in
/// both endpoint forms; an unknown interface is bad input.
#[test]
fn zoned_ipv6_literals() {
    run(&["connect", "fe80::1%no-such-if0", "80"], b"")
        .code(2)
        .one_error_line("no interface \"no-such-if0\"");
    if !have_ipv6() {
        return;
    }
    for form in ["[::1%lo]:{port}", "::1%lo {port}", "::1%1 {port}"] {
        let l = TcpListener::bind("[::1]:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || read_all(&l.accept().unwrap().0));
        let text = form.replace("{port}", &port.to_string());
        let mut args = vec!["connect"];
        args.extend(text.split(' '));
        run(&args, b"hi\n").ok();
        assert_eq!(server.join().unwrap(), b"hi\n", "{form}");
    }
}

/// A real link-local peer, in a network namespace the test makes (`unshare -n`, which needs root):
/// fe80::1 on that namespace's own lo, reached by its zone from listen, connect -s, udp-recv and
/// udp-send. Skipped, with a note, where namespaces cannot be made.
#[test]
fn link_local_peers_in_a_private_network_namespace() {
    if !unshares(&["-n", "true"]) {
        eprintln!("skipped: no network namespaces here (unshare -n needs root)");
        return;
    }
    if !crate::common::have("ip") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The namespace is the test's own: fixed ports cannot clash with anything.
    let script = r#"
set -e
ip link set lo up
ip -6 addr add fe80::1/64 dev lo nodad
"$0" listen -v 'fe80::1%lo' 9000 > "$1/tcp.out" 2> "$1/listen.err" &
echo linklocal | "$0" connect --wait-for 5s -s 'fe80::1%lo' '[fe80::1%lo]:9000'
wait $!
"$0" udp-recv -c 1 'fe80::1%lo' 9001 > "$1/udp.out" &
# Until the receiver is bound a datagram is refused (status 1): send again.
i=0
until "$0" udp-send -s 'fe80::1%lo' '[fe80::1%lo]:9001' dgram 2>/dev/null; do
  i=$((i + 1)); [ "$i" -lt 200 ] || exit 9
done
wait $!
"#;
    let bin = crate::common::bin().display().to_string();
    let dirs = dir.path().display().to_string();
    Proc::spawn_program(
        "unshare",
        &["-n", "sh", "-c", script, &bin, &dirs],
        In::Null,
    )
    .finish()
    .ok();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(read("tcp.out"), "linklocal\n");
    assert!(read("listen.err").starts_with("listening on [fe80::1%1]:9000\n"));
    assert_eq!(read("udp.out"), "dgram");
}

/// A source that cannot be bound is named as the bind that failed, not blamed on the connect.
#[test]
fn a_source_port_in_use_is_a_bind_error() {
    let (_taken, taken_port) = tcp_listener();
    let (_target, port) = tcp_listener();
    run(
        &[
            "connect",
            "-s",
            "127.0.0.1",
            "--source-port",
            &taken_port.to_string(),
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .code(1)
    .one_error_line(&format!("bind 127.0.0.1:{taken_port}: address in use"));
}

#[test]
fn nodelay_and_keepalive_are_accepted() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        read_all(&mut s)
    });
    run(
        &[
            "connect",
            "--nodelay",
            "--keepalive",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"x",
    )
    .ok();
    assert_eq!(server.join().unwrap(), b"x");
}

#[test]
fn bad_input_is_status_2_with_one_line() {
    let cases: &[&[&str]] = &[
        &["connect", "127.0.0.1", "99999"],
        &["connect", "127.0.0.1", "-1"],
        &["connect", "127.0.0.1", "nosuchservice"],
        &["connect", "127.0.0.1"],
        &["connect", "::1:80"],
        &["connect", "[::1"],
        &["connect", "a", "b", "c"],
        &["connect", "-w", "-3", "127.0.0.1", "1"],
        &["connect", "-w", "1x", "127.0.0.1", "1"],
        &["connect", "--source-port", "70000", "127.0.0.1", "1"],
        &["connect", "-4", "::1", "80"],
        &["connect", "--json", "127.0.0.1", "1"],
        &["connect", "--send-only", "--recv-only", "127.0.0.1", "1"],
        &["connect", "--nonsense", "127.0.0.1", "1"],
    ];
    for args in cases {
        let done = run(args, b"");
        assert_eq!(done.code, Some(2), "{:?}\n{}", args, done.show());
        done.one_error_line("");
    }
}

#[test]
fn unknown_host_is_status_1_naming_it() {
    run(&["connect", "no-such-host.invalid", "80"], b"")
        .code(1)
        .one_error_line("no-such-host.invalid");
}

#[test]
fn unix_socket_missing_is_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.sock");
    run(&["connect", "--unix", path.to_str().unwrap()], b"")
        .code(1)
        .one_error_line("none.sock");
}

#[test]
fn progress_only_on_a_terminal() {
    if !crate::common::have("script") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::write_file(dir.path(), "up", &crate::common::pattern(8 << 20, 3));
    // A receiver slow enough (about half a second) for the counter to be drawn a few times.
    let slow_sink = || {
        let (l, port) = tcp_listener();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(crate::common::LIMIT)).unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0usize;
            loop {
                match std::io::Read::read(&mut s, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
                std::thread::sleep(Duration::from_millis(4));
            }
            total
        });
        (port, server)
    };

    let (port, server) = slow_sink();
    let cmd = format!(
        "{} connect --progress 127.0.0.1 {port} < {}",
        crate::common::bin().display(),
        file.display()
    );
    let done = Proc::spawn_program(
        "script",
        &["-qec", &cmd, "/dev/null"],
        crate::common::In::Null,
    )
    .finish()
    .ok();
    assert_eq!(server.join().unwrap(), 8 << 20);
    let screen = done.stdout_str();
    assert!(
        screen.contains("sent") && screen.contains("MiB"),
        "no progress on a terminal:\n{screen}"
    );

    // Without a terminal, nothing at all on stderr.
    let (port, server) = slow_sink();
    let done = Proc::spawn(
        &["connect", "--progress", "127.0.0.1", &port.to_string()],
        crate::common::In::File(file),
    )
    .finish()
    .ok();
    assert_eq!(server.join().unwrap(), 8 << 20);
    assert_eq!(done.stderr, "", "{}", done.show());
}

/// `-w` bounds the name lookup too: in a network and mount namespace of the test's own, whose
/// resolv.conf names a DNS server on 127.0.0.1 that never answers (glibc would wait its 20 s), a
/// connect with `-w 1` is a timeout (status 3) after about 1 s, and so is a `--forward` target's
/// lookup for a client (closed after its `-w`, not the resolver's 20 s). Skipped where namespaces
/// cannot be made (root only).
#[test]
fn the_connect_timeout_bounds_a_name_lookup() {
    if !unshares(&["-n", "-m", "true"])
        || !crate::common::have("ip")
        || !crate::common::have("python3")
    {
        eprintln!("skipped: no network and mount namespaces here (unshare needs root)");
        return;
    }
    // Only the files and dns sources (and myhostname) keep the lookup inside the namespace: an NSS
    // module that asks a daemon of the host (systemd-resolved, mDNS) would take it outside.
    let nss = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
    let hosts = nss
        .lines()
        .find_map(|l| l.trim().strip_prefix("hosts:"))
        .unwrap_or("files dns");
    if hosts
        .split_whitespace()
        .any(|s| !matches!(s, "files" | "dns" | "myhostname"))
    {
        eprintln!("skipped: NSS hosts sources beyond files and dns: {hosts}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("resolv.conf"),
        "nameserver 127.0.0.1\noptions timeout:20 attempts:1\n",
    )
    .unwrap();
    // /etc/resolv.conf must be there to be covered (not a dangling link to a resolver's stub).
    let resolv = dir.path().join("resolv.conf");
    let resolv = resolv.display().to_string();
    if !unshares(&["-n", "-m", "mount", "--bind", &resolv, "/etc/resolv.conf"]) {
        eprintln!("skipped: /etc/resolv.conf cannot be covered in a mount namespace here");
        return;
    }
    // The namespace is the test's own: its fixed ports clash with nothing, and the only DNS server
    // it can reach is the silent one on its own loopback.
    let script = r#"
set -e
ip link set lo up
mount --bind "$1/resolv.conf" /etc/resolv.conf
mkfifo "$1/ready"
python3 -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 53))
t = socket.socket()
t.bind(("127.0.0.1", 53))
t.listen(16)
open(sys.argv[1], "w").write("up\n")
time.sleep(60)
' "$1/ready" &
dns=$!
read up < "$1/ready"
set +e
"$0" connect -w 1 unanswered.test 80 < /dev/null 2> "$1/connect.err"
echo $? > "$1/connect.status"
"$0" listen -k -w 1 --forward unanswered.test:80 127.0.0.1 9000 2> "$1/forward.err" &
fwd=$!
python3 -c '
import socket, time
for _ in range(500):
    try:
        c = socket.create_connection(("127.0.0.1", 9000))
        break
    except ConnectionRefusedError:
        time.sleep(0.01)
c.settimeout(30)
start = time.monotonic()
while c.recv(100):
    pass
print(round(time.monotonic() - start, 1))
' > "$1/forward.waited"
kill $fwd $dns
"#;
    let bin = crate::common::bin().display().to_string();
    let dirs = dir.path().display().to_string();
    let since = Instant::now();
    let ran = Proc::spawn_program(
        "unshare",
        &["-n", "-m", "sh", "-c", script, &bin, &dirs],
        In::Null,
    )
    .finish();
    let took = since.elapsed();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert_eq!(read("connect.status").trim(), "3", "{}", ran.show());
    assert_eq!(
        read("connect.err"),
        "sockcat: error: resolve unanswered.test: no answer within 1s\n"
    );
    let waited: f64 = read("forward.waited").trim().parse().unwrap_or(99.0);
    assert!(waited < 5.0, "a forwarded client waited {waited} s");
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

/// Does `unshare ARGS` succeed here (namespaces need root)?
fn unshares(args: &[&str]) -> bool {
    std::process::Command::new("unshare")
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
