//! `listen` as a server: keep-open, echo, exec, broker, limits, access control, signals.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{In, LIMIT, Proc, connect, have, have_ipv6, pattern, read_all, run};

fn server(args: &[&str], stdin: In) -> (Proc, SocketAddr) {
    let mut full = vec!["listen", "-v"];
    full.extend_from_slice(args);
    let mut p = Proc::spawn(&full, stdin);
    let addr = p.listening();
    let v4: SocketAddr = format!("127.0.0.1:{}", addr.port()).parse().unwrap();
    (p, v4)
}

/// Sends `data`, half-closes, and reads the answer to EOF.
fn exchange(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut c = connect(addr);
    let mut w = c.try_clone().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || {
        w.write_all(&data).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let got = read_all(&mut c);
    writer.join().unwrap();
    got
}

fn count(pid: u32, what: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/{what}"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits (bounded) until `f` holds.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn echo_200_concurrent_clients_of_1_mib() {
    let (_p, addr) = server(&["-k", "--echo", "127.0.0.1", "0"], In::Null);
    let clients: Vec<_> = (0..200)
        .map(|i| {
            std::thread::spawn(move || {
                let data = pattern(1 << 20, i + 1);
                let got = exchange(addr, &data);
                assert!(got == data, "client {i}: {} bytes back", got.len());
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

#[test]
fn sequential_clients_leave_nothing_behind() {
    let (p, addr) = server(&["-k", "--echo", "127.0.0.1", "0"], In::Null);
    let pid = p.pid();
    assert_eq!(exchange(addr, b"warm-up"), b"warm-up");
    eventually("settled after warm-up", || count(pid, "task") <= 4);
    let (fds, tasks) = (count(pid, "fd"), count(pid, "task"));
    for i in 0..300u32 {
        let msg = i.to_string();
        assert_eq!(exchange(addr, msg.as_bytes()), msg.as_bytes());
    }
    eventually("descriptors back to the baseline", || {
        count(pid, "fd") <= fds
    });
    eventually("threads back to the baseline", || {
        count(pid, "task") <= tasks
    });
}

#[test]
fn keep_open_relay_whole_chunks_and_stdin_to_all() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out");
    let out_s = out_path.to_str().unwrap().to_string();
    let (mut p, addr) = server(&["-k", "-o", &out_s, "127.0.0.1", "0"], In::Pipe);
    let mut a = connect(addr);
    let mut b = connect(addr);
    p.wait_line("connection from ");
    p.wait_line("connection from ");
    p.write(b"to everyone\n");
    let mut buf = [0u8; 12];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"to everyone\n");
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"to everyone\n");
    let chunk_a = vec![b'a'; 1000];
    let chunk_b = vec![b'b'; 1000];
    a.write_all(&chunk_a).unwrap();
    b.write_all(&chunk_b).unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    b.shutdown(Shutdown::Write).unwrap();
    p.close_stdin(); // FIN to every client
    assert_eq!(read_all(&mut a), b"");
    assert_eq!(read_all(&mut b), b"");
    // Still serving after both left.
    let mut c = connect(addr);
    c.write_all(b"third").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        read_all(&mut c),
        b"",
        "stdin is over: the new client gets FIN at once"
    );
    drop((a, b, c));
    // Everything the clients sent reaches the output, then the server is ended.
    eventually("all client bytes written", || {
        std::fs::metadata(&out_path).map(|m| m.len()).unwrap_or(0) >= 2005
    });
    p.signal("TERM");
    p.finish().killed_by(libc::SIGTERM);
    let out = String::from_utf8(std::fs::read(&out_path).unwrap()).unwrap();
    assert!(
        out.contains(&"a".repeat(1000)) && out.contains(&"b".repeat(1000)),
        "{out}"
    );
    // Order across clients is not defined; each client's chunk arrives whole.
    assert!(out.contains("third") && out.len() == 2005, "{out}");
}

#[test]
fn exec_gets_the_addresses_and_no_other_descriptors() {
    let (_p, addr) = server(
        &[
            "-k",
            "-c",
            "echo $SOCKCAT_REMOTE_ADDR $SOCKCAT_REMOTE_PORT $SOCKCAT_LOCAL_ADDR $SOCKCAT_LOCAL_PORT",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let mut c = connect(addr);
    let (local, peer) = (c.local_addr().unwrap(), c.peer_addr().unwrap());
    let got = String::from_utf8(read_all(&mut c)).unwrap();
    assert_eq!(
        got.trim(),
        format!(
            "{} {} {} {}",
            local.ip(),
            local.port(),
            peer.ip(),
            peer.port()
        )
    );

    // With another client connected, a child sees only its own socket (as stdin and stdout).
    let (_q, addr) = server(
        &["-k", "-e", "ls -l /proc/self/fd", "127.0.0.1", "0"],
        In::Null,
    );
    let _other = connect(addr);
    let mut c = connect(addr);
    let listing = String::from_utf8(read_all(&mut c)).unwrap();
    let sockets = listing.lines().filter(|l| l.contains("socket:")).count();
    assert_eq!(
        sockets, 2,
        "the child holds only its connection on fd 0 and 1:\n{listing}"
    );
}

#[test]
fn exec_output_is_delivered_even_when_the_child_exits_at_once() {
    let (_p, addr) = server(&["-k", "-c", "printf hello", "127.0.0.1", "0"], In::Null);
    for _ in 0..20 {
        let mut c = connect(addr);
        // A request the child never reads: closing on unread data must not cost us the reply.
        c.write_all(&[b'x'; 50_000]).unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        assert_eq!(got, b"hello");
    }
}

#[test]
fn exec_single_client_exit_status() {
    let (p, addr) = server(&["-e", "true", "127.0.0.1", "0"], In::Null);
    drop(connect(addr));
    p.finish().ok();
    let (p, addr) = server(&["-e", "false", "127.0.0.1", "0"], In::Null);
    drop(connect(addr));
    p.finish().code(1).last_error_line("exited with");
    run(&["listen", "-e", "/no/such/program", "0"], b"")
        .code(2)
        .one_error_line("no such program");
}

#[test]
fn curl_against_an_http_responder() {
    if !have("curl") {
        return;
    }
    let (_p, addr) = server(
        &[
            "-k",
            "-c",
            "printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello from sockcat\\n'",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    for _ in 0..3 {
        let url = format!("http://{addr}/");
        let done = Proc::spawn_program("curl", &["-sS", "--max-time", "10", &url], In::Null)
            .finish()
            .ok();
        assert_eq!(done.stdout_str(), "hello from sockcat\n");
    }
}

#[test]
fn nc_and_ncat_against_the_echo_server() {
    let (_p, addr) = server(&["-k", "--echo", "127.0.0.1", "0"], In::Null);
    let port = addr.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    let data = pattern(300_000, 9);
    std::fs::write(&file, &data).unwrap();
    for (peer, args) in [
        ("nc", vec!["-N", "127.0.0.1", &port]),
        ("ncat", vec!["127.0.0.1", &port]),
    ] {
        if !have(peer) {
            continue;
        }
        let done = Proc::spawn_program(peer, &args, In::File(file.clone()))
            .finish()
            .ok();
        assert!(
            done.stdout == data,
            "{peer} got {} bytes back",
            done.stdout.len()
        );
    }
}

#[test]
fn broker_relays_to_the_others_only() {
    let (mut p, addr) = server(&["--broker", "0"], In::Null);
    let mut a = connect(addr);
    let mut b = connect(addr);
    let six = if have_ipv6() {
        format!("[::1]:{}", addr.port()).parse().unwrap()
    } else {
        addr
    };
    let mut c = connect(six);
    for _ in 0..3 {
        p.wait_line("connection from ");
    }
    a.write_all(b"from a").unwrap();
    let mut buf = [0u8; 6];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"from a");
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"from a");
    // A departing client disturbs no one.
    drop(b);
    c.write_all(b"from c").unwrap();
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"from c");
    // The sender never hears itself.
    a.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(a.read(&mut buf).is_err(), "a heard something it should not");
}

#[test]
fn max_conns_refuses_the_next_and_frees_a_slot() {
    let (mut p, addr) = server(
        &["-k", "--echo", "--max-conns", "1", "127.0.0.1", "0"],
        In::Null,
    );
    let mut first = connect(addr);
    first.write_all(b"1").unwrap();
    let mut one = [0u8; 1];
    first.read_exact(&mut one).unwrap(); // the first is being served
    // The refusal is a reset, which may come before connect() has looked at the socket's error
    // (then connect itself fails with ECONNRESET): either way the second is closed at once.
    match TcpStream::connect_timeout(&addr, LIMIT) {
        Ok(mut second) => {
            second.set_read_timeout(Some(LIMIT)).unwrap();
            assert_eq!(
                second.read(&mut [0u8; 4]).unwrap_or(0),
                0,
                "the second is closed at once"
            );
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    p.wait_line("refused ");
    first.shutdown(Shutdown::Write).unwrap();
    read_all(&mut first);
    drop(first);
    // The slot frees once the first has gone.
    eventually("a slot frees", || {
        exchange_opt(addr, b"third") == Some(b"third".to_vec())
    });
}

fn exchange_opt(addr: SocketAddr, data: &[u8]) -> Option<Vec<u8>> {
    let mut c = TcpStream::connect(addr).ok()?;
    c.set_read_timeout(Some(LIMIT)).ok()?;
    c.write_all(data).ok()?;
    c.shutdown(Shutdown::Write).ok()?;
    let mut got = Vec::new();
    c.read_to_end(&mut got).ok()?;
    Some(got)
}

#[test]
fn allow_and_deny() {
    let (mut p, addr) = server(
        &[
            "-k",
            "--echo",
            "--allow",
            "127.0.0.0/8",
            "--deny",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    // 127.0.0.1 is denied: reset at once (the reset may even beat connect's own return).
    if let Ok(mut c) = TcpStream::connect_timeout(&addr, LIMIT) {
        c.set_read_timeout(Some(LIMIT)).unwrap();
        let got = c.read(&mut [0u8; 4]);
        assert!(
            matches!(&got, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "{got:?}"
        );
    }
    p.wait_line("refused 127.0.0.1:");
    // 127.0.0.2 is allowed.
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&"127.0.0.2:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    s.connect(&addr.into()).unwrap();
    let mut s: TcpStream = s.into();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(b"ok").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_all(&mut s), b"ok");
    // ("non sense" cannot be a host name either: a bare word would now be looked up as one.)
    for bad in ["10.0.0.0/33", "non sense", "1.2.3/8"] {
        run(&["listen", "--allow", bad, "0"], b"")
            .code(2)
            .one_error_line(bad);
    }
}

#[test]
fn idle_clients_are_closed() {
    let (_p, addr) = server(&["-k", "--echo", "-i", "300ms", "127.0.0.1", "0"], In::Null);
    let mut c = connect(addr);
    let started = Instant::now();
    assert_eq!(c.read(&mut [0u8; 4]).unwrap_or(0), 0);
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[test]
fn sigterm_ends_the_server_and_its_children() {
    let (p, addr) = server(
        &["-k", "-c", "echo started; exec sleep 30", "127.0.0.1", "0"],
        In::Null,
    );
    let mut c = connect(addr);
    let mut buf = [0u8; 8];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"started\n");
    let started = Instant::now();
    p.signal("TERM");
    p.finish().killed_by(libc::SIGTERM);
    // The child is gone too: the connection closes.
    assert_eq!(read_all(&mut c), b"");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn sigint_ends_a_single_client_listener() {
    let (p, _addr) = server(&["127.0.0.1", "0"], In::Pipe);
    p.signal("INT");
    p.finish().killed_by(libc::SIGINT);
}

/// SIGTERM on a Unix-socket server: the socket file is removed, then sockcat dies by the signal.
#[test]
fn sigterm_removes_the_unix_socket_then_dies_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let mut p = Proc::spawn(
        &["listen", "-k", "-v", "--unix", path.to_str().unwrap()],
        In::Null,
    );
    p.wait_line("listening on ");
    assert!(path.exists());
    p.signal("TERM");
    p.finish().killed_by(libc::SIGTERM);
    assert!(!path.exists(), "the socket file is left behind");
}
