//! `sockcat listen` (one client): the -v lines, port 0, IPv6, Unix sockets, -w, -o, a second client.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::unix::net::UnixStream;

use crate::common::{In, LIMIT, Proc, connect, have_ipv6, pattern, read_all, run};

#[test]
fn verbose_lines_and_a_round_trip() {
    let mut p = Proc::spawn(&["listen", "-v", "127.0.0.1", "0"], In::Pipe);
    let addr = p.listening();
    assert_ne!(addr.port(), 0, "the real port is printed");
    let mut c = connect(addr);
    let line = p.wait_line("connection from ");
    assert_eq!(line, format!("connection from {}", c.local_addr().unwrap()));
    p.write(b"from server");
    p.close_stdin();
    c.write_all(b"from client").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        read_all(&mut c),
        b"from server",
        "server sent FIN after its stdin ended"
    );
    drop(c);
    let done = p.finish().ok();
    assert_eq!(done.stdout, b"from client");
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!("listening on {addr}"),
        "the first stderr line"
    );
}

#[test]
fn every_address_by_default_dual_stack() {
    let mut p = Proc::spawn(&["listen", "-v", "0"], In::Null);
    let addr = p.listening();
    let v4: SocketAddr = format!("127.0.0.1:{}", addr.port()).parse().unwrap();
    let mut c = connect(v4);
    let line = p.wait_line("connection from ");
    assert_eq!(
        line,
        format!("connection from {}", c.local_addr().unwrap()),
        "IPv4-mapped shown as IPv4"
    );
    c.write_all(b"hi").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_all(&mut c), b"");
    drop(c);
    assert_eq!(p.finish().ok().stdout, b"hi");
    if have_ipv6() {
        assert_eq!(addr.to_string(), format!("[::]:{}", addr.port()));
    }
}

#[test]
fn ipv6_listen() {
    if !have_ipv6() {
        return;
    }
    let mut p = Proc::spawn(&["listen", "-v", "-6", "::1", "0"], In::Null);
    let addr = p.listening();
    assert_eq!(addr.to_string(), format!("[::1]:{}", addr.port()));
    let mut c = connect(addr);
    c.write_all(b"v6").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    read_all(&mut c);
    drop(c);
    assert_eq!(p.finish().ok().stdout, b"v6");
}

#[test]
fn big_upload_to_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.bin");
    let mut p = Proc::spawn(
        &[
            "listen",
            "-v",
            "-o",
            out.to_str().unwrap(),
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    let data = pattern(8 << 20, 5);
    let mut c = connect(addr);
    c.write_all(&data).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    read_all(&mut c);
    drop(c);
    let done = p.finish().ok();
    assert!(done.stdout.is_empty());
    assert!(std::fs::read(&out).unwrap() == data, "file differs");
}

#[test]
fn a_second_client_is_closed_at_once() {
    let mut p = Proc::spawn(&["listen", "-v", "127.0.0.1", "0"], In::Pipe);
    let addr = p.listening();
    let mut first = connect(addr);
    p.wait_line("connection from ");
    // The second is reset at once (the reset may even beat connect's own return).
    if let Ok(mut second) = std::net::TcpStream::connect_timeout(&addr, crate::common::LIMIT) {
        second.set_read_timeout(Some(crate::common::LIMIT)).unwrap();
        let mut buf = [0u8; 8];
        let got = second.read(&mut buf);
        assert!(
            matches!(&got, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "the second client is reset: {got:?}"
        );
    }
    first.write_all(b"1").unwrap();
    first.shutdown(Shutdown::Write).unwrap();
    p.close_stdin();
    read_all(&mut first);
    drop(first);
    assert_eq!(p.finish().ok().stdout, b"1");
}

#[test]
fn no_client_in_time_is_status_3() {
    run(&["listen", "-w", "200ms", "127.0.0.1", "0"], b"")
        .code(3)
        .one_error_line("no client");
}

#[test]
fn address_in_use_is_status_1() {
    let mut p = Proc::spawn(&["listen", "-v", "127.0.0.1", "0"], In::Null);
    let port = p.port().to_string();
    run(&["listen", "127.0.0.1", &port], b"")
        .code(1)
        .one_error_line("address in use");
    drop(p);
}

#[test]
fn options_backlog_reuse() {
    let mut p = Proc::spawn(
        &[
            "listen",
            "-v",
            "--backlog",
            "5",
            "--reuseport",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let port = p.port();
    // SO_REUSEPORT lets a second listener share the port.
    let mut q = Proc::spawn(
        &[
            "listen",
            "-v",
            "--reuseport",
            "127.0.0.1",
            &port.to_string(),
        ],
        In::Null,
    );
    assert_eq!(q.port(), port);
    drop((p, q));
    let mut p = Proc::spawn(
        &["listen", "-v", "--no-reuseaddr", "127.0.0.1", "0"],
        In::Null,
    );
    p.port();
}

#[test]
fn unix_socket_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let path_s = path.to_str().unwrap().to_string();
    let mut p = Proc::spawn(&["listen", "-v", "--unix", &path_s], In::Pipe);
    assert_eq!(
        p.wait_line("listening on "),
        format!("listening on {path_s}")
    );
    let mut c = UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(LIMIT)).unwrap();
    p.write(b"server says");
    p.close_stdin();
    c.write_all(b"client says").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"server says");
    drop(c);
    assert_eq!(p.finish().ok().stdout, b"client says");
    assert!(!path.exists(), "the socket file is removed at exit");

    // sockcat to sockcat over a Unix socket.
    let mut l = Proc::spawn(&["listen", "-v", "--unix", &path_s], In::Null);
    l.wait_line("listening on ");
    run(&["connect", "--unix", &path_s], b"unix to unix").ok();
    assert_eq!(l.finish().ok().stdout, b"unix to unix");
}

#[test]
fn stale_unix_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // leaves the file behind
    assert!(path.exists());
    let mut p = Proc::spawn(
        &["listen", "-v", "--unix", path.to_str().unwrap()],
        In::Null,
    );
    p.wait_line("listening on ");
    let c = UnixStream::connect(&path).unwrap();
    drop(c);
    p.finish().ok();
}

/// A second `listen --unix` on a live socket says `address in use` (status 1) and leaves the first
/// alone: its liveness check is not taken by the one-shot listener as its client.
#[test]
fn second_unix_listener_leaves_the_live_one_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.sock");
    let path_s = path.to_str().unwrap();
    let mut first = Proc::spawn(&["listen", "-v", "--unix", path_s], In::Null);
    first.wait_line("listening on ");
    run(&["listen", "--unix", path_s], b"")
        .code(1)
        .one_error_line("address in use");
    assert!(first.exited().is_none(), "the first listener ended");
    let mut c = UnixStream::connect(&path).expect("the first listener's file is still there");
    c.write_all(b"for the first").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    read_all(&c);
    let done = first.finish().ok();
    assert_eq!(done.stdout, b"for the first", "{}", done.show());
}

/// Several listeners started at once on a stale path: exactly one wins (the others say `address in
/// use`), and the path leads to the winner.
#[test]
fn concurrent_listeners_on_a_stale_path_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.sock");
    let path_s = path.to_str().unwrap();
    for round in 0..5 {
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // a stale file
        let mut ps: Vec<Proc> = (0..4)
            .map(|_| Proc::spawn(&["listen", "-v", "--unix", path_s], In::Null))
            .collect();
        // The losers end at once; wait (bounded) until all but one have.
        let deadline = std::time::Instant::now() + LIMIT;
        let winner = loop {
            let running: Vec<usize> = (0..ps.len())
                .filter(|&i| ps[i].exited().is_none())
                .collect();
            if running.len() == 1 {
                break running[0];
            }
            assert!(
                !running.is_empty() && std::time::Instant::now() < deadline,
                "round {round}: {} listeners still running",
                running.len()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let mut w = ps.swap_remove(winner);
        for p in ps {
            p.finish().code(1).one_error_line("address in use");
        }
        w.wait_line("listening on ");
        let mut c = UnixStream::connect(&path).expect("the path leads to the winner");
        c.write_all(b"won").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        read_all(&c);
        assert_eq!(w.finish().ok().stdout, b"won", "round {round}");
        assert!(!path.exists(), "round {round}: the winner removes its file");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
}

/// `listen --unix` on a regular file says it is not a socket and leaves the file as it was.
#[test]
fn unix_listen_on_a_regular_file_says_it_is_not_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::write_file(dir.path(), "notes.txt", b"keep me");
    run(&["listen", "--unix", path.to_str().unwrap()], b"")
        .code(1)
        .one_error_line("not a socket");
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
}

#[test]
fn bad_input_is_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad_out = dir.path().join("no/such/dir/out");
    let cases: Vec<Vec<String>> = vec![
        vec!["listen".into(), "65536".into()],
        vec!["listen".into(), "127.0.0.1".into(), "x y".into()],
        vec!["listen".into(), "-w".into(), "forever".into(), "0".into()],
        vec![
            "listen".into(),
            "-o".into(),
            bad_out.to_str().unwrap().into(),
            "0".into(),
        ],
        vec!["listen".into(), "-4".into(), "::1".into(), "0".into()],
        vec!["listen".into(), "1".into(), "2".into(), "3".into()],
        vec!["listen".into()],
    ];
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let done = run(&args, b"");
        assert_eq!(done.code, Some(2), "{args:?}\n{}", done.show());
        done.one_error_line("");
    }
}

#[test]
fn full_disk_output_is_status_1() {
    let mut p = Proc::spawn(
        &["listen", "-v", "-o", "/dev/full", "127.0.0.1", "0"],
        In::Null,
    );
    let addr = p.listening();
    let mut c = connect(addr);
    c.write_all(b"does not fit").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let _ = c.read_to_end(&mut Vec::new());
    p.finish()
        .code(1)
        .last_error_line("write to /dev/full: no space left on device");
}

#[test]
fn client_half_closes_first_and_still_gets_all_of_stdin() {
    let mut p = Proc::spawn(&["listen", "-v", "127.0.0.1", "0"], In::Pipe);
    let addr = p.listening();
    let mut c = connect(addr);
    p.wait_line("connection from ");
    c.write_all(b"done talking").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    // Only now does the listener's stdin get its data.
    let data = pattern(2 << 20, 41);
    let mut stdin = p.stdin.take().unwrap();
    let sent = data.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&sent).unwrap());
    let got = read_all(&mut c);
    writer.join().unwrap();
    drop(c);
    assert!(
        got == data,
        "client got {} of {} bytes",
        got.len(),
        data.len()
    );
    assert_eq!(p.finish().ok().stdout, b"done talking");
}

#[test]
fn client_reset_is_status_1() {
    let mut p = Proc::spawn(&["listen", "-v", "127.0.0.1", "0"], In::Pipe);
    let addr = p.listening();
    let c = socket2::Socket::from(connect(addr));
    p.wait_line("connection from ");
    c.set_linger(Some(std::time::Duration::ZERO)).unwrap();
    drop(c);
    p.finish()
        .code(1)
        .last_error_line("connection reset by peer");
}
