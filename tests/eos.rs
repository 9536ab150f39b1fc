//! The end-of-stream table of CLI.md, row by row, against a Rust peer on loopback.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use crate::common::{In, LIMIT, Proc, pattern, read_all, tcp_listener};

fn accept(l: &TcpListener) -> TcpStream {
    let (s, _) = l.accept().expect("accept");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// Row "stdin ends": sockcat sends FIN, keeps receiving until the peer closes, exits 0.
/// The server answers only after it saw EOF, and only after a delay: nothing may be lost.
#[test]
fn stdin_eof_sends_fin_and_waits_for_the_reply() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        let got = read_all(&mut s);
        std::thread::sleep(Duration::from_millis(300)); // a slow server, as in PEERS.md
        s.write_all(b"late reply\n").unwrap();
        got
    });
    let done = crate::common::run(&["connect", "127.0.0.1", &port.to_string()], b"question\n").ok();
    assert_eq!(done.stdout, b"late reply\n", "{}", done.show());
    assert_eq!(server.join().unwrap(), b"question\n");
}

/// Row "the peer closes its sending side" with stdin a pipe: keep sending stdin until it ends, exit 0.
#[test]
fn peer_half_close_then_stdin_still_delivered() {
    let (l, port) = tcp_listener();
    let (closed_tx, closed_rx) = channel();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        s.write_all(b"bye").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        closed_tx.send(()).unwrap();
        read_all(&mut s)
    });
    let mut p = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Pipe);
    closed_rx.recv_timeout(LIMIT).expect("server half-closed");
    let data = pattern(3 << 20, 7);
    p.write(&data);
    let done = p.finish().ok();
    assert_eq!(done.stdout, b"bye");
    assert!(
        server.join().unwrap() == data,
        "server did not get all of stdin"
    );
}

/// Row "the peer closes its sending side" with stdin a terminal: exit 0 at once.
#[test]
fn peer_close_with_terminal_stdin_exits_at_once() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        s.write_all(b"bye\n").unwrap();
    });
    // script(1) gives sockcat a pseudo-terminal as stdin that never reaches EOF by itself.
    let cmd = format!(
        "{} connect 127.0.0.1 {port}",
        crate::common::bin().display()
    );
    let p = Proc::spawn_program("script", &["-qec", &cmd, "/dev/null"], In::Pipe);
    let done = p.finish().ok();
    assert!(done.stdout_str().contains("bye"), "{}", done.show());
    server.join().unwrap();
}

/// Row "the peer resets": exit 1 saying so.
#[test]
fn peer_reset_is_status_1() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let s = accept(&l);
        let s = socket2::Socket::from(s);
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s); // RST
    });
    let p = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Pipe);
    // stdin stays open: only the reset may end the session.
    server.join().unwrap();
    let done = p
        .finish_with_stdin_open()
        .code(1)
        .one_error_line("connection reset by peer");
    assert!(done.stdout.is_empty());
}

/// Row "the peer stops reading before stdin was all sent": exit 1, and the reply it sent is not lost.
#[test]
fn peer_stops_reading_is_status_1_and_keeps_the_reply() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        s.write_all(b"go away\n").unwrap();
        // Close without reading: the kernel answers further data with a reset.
    });
    let data = pattern(16 << 20, 3);
    let p = {
        let mut p = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Pipe);
        let mut stdin = p.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        p
    };
    server.join().unwrap();
    let done = p.finish().code(1);
    assert_eq!(done.stdout, b"go away\n", "{}", done.show());
    let line = done.stderr.trim();
    assert!(
        line == "sockcat: error: peer closed before all input was sent"
            || line == "sockcat: error: connection reset by peer",
        "{}",
        done.show()
    );
}

/// Row "stdout is closed by its reader": stop quietly, exit 0.
#[test]
fn closed_stdout_is_a_quiet_zero() {
    let (l, port) = tcp_listener();
    std::thread::spawn(move || {
        let mut s = accept(&l);
        let chunk = vec![b'z'; 1 << 16];
        for _ in 0..1024 {
            if s.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let script = format!(
        "{} connect 127.0.0.1 {port} </dev/null | head -c1 >/dev/null; echo ${{PIPESTATUS[0]}}",
        crate::common::bin().display()
    );
    let done = Proc::spawn_program("bash", &["-c", &script], In::Null)
        .finish()
        .ok();
    assert_eq!(done.stdout_str().trim(), "0", "{}", done.show());
    assert_eq!(done.stderr, "", "{}", done.show());
}

/// `--close-on-eof`: at stdin EOF close both ways and exit 0 without waiting for the peer.
#[test]
fn close_on_eof_does_not_wait() {
    let (l, port) = tcp_listener();
    let (tx, rx) = channel();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        let got = read_all(&mut s);
        rx.recv_timeout(LIMIT).expect("test finished"); // hold the connection open until sockcat exited
        got
    });
    let done = crate::common::run(
        &["connect", "--close-on-eof", "127.0.0.1", &port.to_string()],
        b"ping",
    )
    .ok();
    tx.send(()).unwrap();
    assert!(done.stdout.is_empty());
    assert_eq!(server.join().unwrap(), b"ping");
}

/// `--no-shutdown`: at stdin EOF no FIN is sent; the session ends when the peer closes.
#[test]
fn no_shutdown_sends_no_fin() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"data");
        // A FIN would make this read return 0 at once; without one it times out.
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let err = s.read(&mut buf).expect_err("no FIN expected");
        assert!(matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ));
        s.write_all(b"done").unwrap();
    });
    let done = crate::common::run(
        &["connect", "--no-shutdown", "127.0.0.1", &port.to_string()],
        b"data",
    )
    .ok();
    assert_eq!(done.stdout, b"done");
    server.join().unwrap();
}

/// `--recv-only`: stdin is never read or sent; the session ends when the peer closes.
#[test]
fn recv_only_sends_nothing() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        s.write_all(b"news").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 16];
        if let Ok(n) = s.read(&mut buf) {
            assert_eq!(n, 0, "recv-only sent data");
        }
    });
    let mut p = Proc::spawn(
        &["connect", "--recv-only", "127.0.0.1", &port.to_string()],
        In::Pipe,
    );
    // The session may be over (news, then the peer's FIN) before this is written: that is fine too.
    if let Some(stdin) = p.stdin.as_mut() {
        let _ = stdin.write_all(b"must not be sent");
    }
    let done = p.finish().ok();
    assert_eq!(done.stdout, b"news");
    server.join().unwrap();
}

/// `--send-only`: what arrives is discarded; the session ends when stdin is sent.
#[test]
fn send_only_discards_what_arrives() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        s.write_all(b"noise").unwrap();
        read_all(&mut s)
    });
    let done = crate::common::run(
        &["connect", "--send-only", "127.0.0.1", &port.to_string()],
        b"payload",
    )
    .ok();
    assert!(done.stdout.is_empty(), "{}", done.show());
    assert_eq!(server.join().unwrap(), b"payload");
}

/// `-i DUR`: expiry is status 3, and traffic resets the timer.
#[test]
fn idle_timeout_is_status_3() {
    let (l, port) = tcp_listener();
    let (tx, rx) = channel::<()>();
    std::thread::spawn(move || {
        let mut s = accept(&l);
        // Keep talking for a while (every 100 ms, well under the 1 s limit), then fall silent.
        for _ in 0..6 {
            s.write_all(b".").unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = rx.recv_timeout(LIMIT);
    });
    let started = Instant::now();
    let mut p = Proc::spawn(
        &["connect", "-i", "1s", "127.0.0.1", &port.to_string()],
        In::Pipe,
    );
    p.write(b"");
    let done = p.finish().code(3).one_error_line("idle");
    tx.send(()).ok();
    assert_eq!(done.stdout, b"......");
    assert!(
        started.elapsed() >= Duration::from_millis(1300),
        "timer was not reset by traffic"
    );
}

/// Several MiB both ways at once, byte-exact.
#[test]
fn bidirectional_binary_transfer_is_byte_exact() {
    let (l, port) = tcp_listener();
    let up = pattern(6 << 20, 11);
    let down = pattern(5 << 20, 12);
    let down2 = down.clone();
    let server = std::thread::spawn(move || {
        let s = accept(&l);
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            w.write_all(&down2).unwrap();
            w.shutdown(Shutdown::Write).unwrap();
        });
        let got = read_all(&s);
        writer.join().unwrap();
        got
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("up.bin");
    std::fs::write(&input, &up).unwrap();
    let done = Proc::spawn(
        &["connect", "127.0.0.1", &port.to_string()],
        In::File(input),
    )
    .finish()
    .ok();
    assert!(
        done.stdout == down,
        "download differs ({} bytes)",
        done.stdout.len()
    );
    assert!(server.join().unwrap() == up, "upload differs");
}

/// `--crlf` turns LF into CRLF on the way out only; `--hexdump` shows both directions on stderr.
#[test]
fn crlf_and_hexdump() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        let got = read_all(&mut s);
        s.write_all(b"ok\n").unwrap();
        got
    });
    let done = crate::common::run(
        &[
            "connect",
            "--crlf",
            "--hexdump",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"a\nb\r\n",
    )
    .ok();
    assert_eq!(server.join().unwrap(), b"a\r\nb\r\n");
    assert_eq!(done.stdout, b"ok\n", "received bytes are never touched");
    assert!(
        done.stderr.contains("> 00000000  61 0d 0a 62 0d 0a"),
        "{}",
        done.show()
    );
    assert!(
        done.stderr.contains("< 00000000  6f 6b 0a"),
        "{}",
        done.show()
    );
}

/// Spawns sockcat with stdin a pipe held open by the test and stdout a pipe read by a thread that
/// reports what it read once it sees EOF. Returns the child, its stdin, its stderr lines and the report.
fn spawn_with_eof_watch(
    args: &[&str],
) -> (
    std::process::Child,
    std::process::ChildStdin,
    std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
    std::sync::mpsc::Receiver<Vec<u8>>,
) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(crate::common::bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sockcat");
    let stdin = child.stdin.take().unwrap();
    let mut out = child.stdout.take().unwrap();
    let err = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let _ = out.read_to_end(&mut got);
        let _ = tx.send(got);
    });
    (child, stdin, err, rx)
}

/// Row "the peer closes its sending side" (issue 21): stdout's reader sees EOF at the peer's FIN while
/// sockcat goes on sending stdin (`sockcat connect ... | wc -c` ends without waiting for stdin).
#[test]
fn connect_closes_stdout_at_the_peers_fin_while_stdin_is_open() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let mut s = accept(&l);
        s.write_all(b"all of it").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        read_all(&mut s)
    });
    let (mut child, mut stdin, _err, eof) =
        spawn_with_eof_watch(&["connect", "127.0.0.1", &port.to_string()]);
    let got = eof.recv_timeout(LIMIT);
    let running = child.try_wait().unwrap().is_none();
    // Then stdin goes on and ends; the peer gets it all.
    let sent = stdin.write_all(b"still sending");
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(
        got.as_deref(),
        Ok(&b"all of it"[..]),
        "stdout saw no EOF at the peer's FIN while stdin was open"
    );
    assert!(running, "sockcat ended instead of waiting for stdin");
    sent.unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(server.join().unwrap(), b"still sending");
}

/// The same for the one-client `listen` (`sockcat listen 9000 | tar x`).
#[test]
fn listen_closes_stdout_at_the_clients_fin_while_stdin_is_open() {
    let (mut child, mut stdin, mut err, eof) =
        spawn_with_eof_watch(&["listen", "-v", "127.0.0.1", "0"]);
    let line = err.next().expect("a stderr line").unwrap();
    let addr: std::net::SocketAddr = line
        .trim_start_matches("listening on ")
        .parse()
        .unwrap_or_else(|e| panic!("{line:?}: {e}"));
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(LIMIT)).unwrap();
    client.write_all(b"upload").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let got = eof.recv_timeout(LIMIT);
    let running = child.try_wait().unwrap().is_none();
    stdin.write_all(b"reply").unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(
        got.as_deref(),
        Ok(&b"upload"[..]),
        "stdout saw no EOF at the client's FIN while stdin was open"
    );
    assert!(running, "sockcat ended instead of waiting for stdin");
    assert!(status.success(), "{status:?}");
    assert_eq!(read_all(&mut client), b"reply");
}
