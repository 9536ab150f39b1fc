//! The relay's zero-copy paths, byte for byte: sendfile from a regular-file stdin, splice from a pipe
//! stdin, splice to a stdout pipe, to a regular file, to /dev/null; the fallback to the buffered copy
//! (/dev/full refuses splice; --crlf and --hexdump need the bytes); and the end-of-stream errors on
//! these paths (peer reset, stdout closed, disk full).

use std::io::{Read, Write};
use std::net::Shutdown;
use std::path::Path;

use crate::common::{In, Proc, connect, pattern, sink_server, tcp_listener, write_file};

/// Enough to take many rounds through every path (pipes are 64 KiB - 1 MiB, sendfile chunks 4 MiB).
const BIG: usize = 12 << 20;

fn bin_str() -> String {
    crate::common::bin().display().to_string()
}

/// sockcat with its stdout redirected to `target` by a shell (`exec` keeps sockcat's own status).
fn spawn_redirected(args: &[&str], stdin: In, target: &Path) -> Proc {
    let script = format!("exec \"$0\" \"$@\" > '{}'", target.display());
    let mut all = vec!["-c", script.as_str()];
    let bin = bin_str();
    all.push(&bin);
    all.extend_from_slice(args);
    Proc::spawn_program("sh", &all, stdin)
}

/// Accepts one connection in a thread, sends `data`, half-closes, and reads to EOF.
fn source_server(data: Vec<u8>) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let (listener, port) = tcp_listener();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(crate::common::LIMIT)).unwrap();
        conn.set_write_timeout(Some(crate::common::LIMIT)).unwrap();
        let mut reader = conn.try_clone().unwrap();
        let got = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = reader.read_to_end(&mut buf);
            buf
        });
        conn.write_all(&data).expect("send to sockcat");
        conn.shutdown(Shutdown::Write).unwrap();
        got.join().unwrap()
    });
    (port, handle)
}

/// Accepts one connection, reads 1 KiB of it and closes with more unread: the close sends a reset.
fn resetting_server() -> (u16, std::thread::JoinHandle<()>) {
    let (listener, port) = tcp_listener();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut first = [0u8; 1024];
        conn.read_exact(&mut first).unwrap();
        drop(conn);
    });
    (port, handle)
}

#[test]
fn file_stdin_goes_out_by_sendfile_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(BIG + 12345, 1);
    let file = write_file(dir.path(), "in.bin", &data);
    let (port, server) = sink_server();
    let done = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::File(file)).finish();
    let done = done.ok();
    assert!(done.stdout.is_empty(), "{}", done.show());
    assert!(
        server.join().unwrap() == data,
        "bytes differ\n{}",
        done.show()
    );
}

#[test]
fn file_stdin_partly_read_sends_only_the_rest() {
    // sendfile starts at stdin's current offset, like read(2) would.
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(3 << 20, 2);
    let file = write_file(dir.path(), "in.bin", &data);
    let (port, server) = sink_server();
    let script = format!(
        "{{ head -c 1000 >/dev/null; exec \"$0\" connect 127.0.0.1 {port}; }} < '{}'",
        file.display()
    );
    let done = Proc::spawn_program("sh", &["-c", &script, &bin_str()], In::Null)
        .finish()
        .ok();
    let got = server.join().unwrap();
    assert!(
        got == data[1000..],
        "got {} bytes\n{}",
        got.len(),
        done.show()
    );
}

#[test]
fn pipe_stdin_goes_out_by_splice_byte_exact() {
    let data = pattern(BIG + 777, 3);
    let (port, server) = sink_server();
    let mut p = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Pipe);
    let mut stdin = p.stdin.take().unwrap();
    let feed = data.clone();
    let writer = std::thread::spawn(move || {
        // Uneven writes, so the pipe holds odd amounts when sockcat splices.
        for chunk in feed.chunks(100_003) {
            stdin.write_all(chunk).unwrap();
        }
    });
    writer.join().unwrap();
    let done = p.finish().ok();
    assert!(
        server.join().unwrap() == data,
        "bytes differ\n{}",
        done.show()
    );
}

/// A pipe producer in the middle of a bulk stream gets a moment to refill its pipe before sockcat takes
/// the next round; a short write after the burst must still go out at once, not wait for more.
#[test]
fn a_short_write_after_a_bulk_burst_is_not_held_back() {
    use std::sync::mpsc::channel;
    use std::time::{Duration, Instant};
    let burst = pattern(4 << 20, 14);
    let (listener, port) = tcp_listener();
    let (got_burst, burst_seen) = channel();
    let expected = burst.clone();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(crate::common::LIMIT)).unwrap();
        let mut buf = vec![0u8; expected.len()];
        conn.read_exact(&mut buf).unwrap();
        assert!(buf == expected, "burst differs");
        got_burst.send(()).unwrap();
        let mut tail = [0u8; 5];
        conn.read_exact(&mut tail).unwrap();
        tail
    });
    let mut p = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Pipe);
    let mut stdin = p.stdin.take().unwrap();
    stdin.write_all(&burst).unwrap();
    burst_seen.recv_timeout(crate::common::LIMIT).unwrap();
    let started = Instant::now();
    stdin.write_all(b"hello").unwrap();
    let tail = server.join().unwrap();
    let took = started.elapsed();
    drop(stdin);
    p.finish().ok();
    assert_eq!(&tail, b"hello");
    assert!(
        took < Duration::from_secs(1),
        "5 bytes took {took:?} to arrive"
    );
}

#[test]
fn socket_to_stdout_pipe_by_splice_byte_exact() {
    let data = pattern(BIG + 5, 4);
    let (port, server) = source_server(data.clone());
    let done = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Null)
        .finish()
        .ok();
    assert!(done.stdout == data, "stdout differs\n{}", done.show());
    let back = server.join().unwrap();
    assert!(
        back.is_empty(),
        "server got {} bytes: {:?}",
        back.len(),
        String::from_utf8_lossy(&back)
    );
}

#[test]
fn socket_to_regular_file_stdout_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let data = pattern(BIG + 99, 5);
    let (port, server) = source_server(data.clone());
    let done = spawn_redirected(&["connect", "127.0.0.1", &port.to_string()], In::Null, &out)
        .finish()
        .ok();
    let got = std::fs::read(&out).unwrap();
    assert!(
        got == data,
        "file differs ({} bytes)\n{}",
        got.len(),
        done.show()
    );
    server.join().unwrap();
}

#[test]
fn socket_to_dev_null_completes() {
    use std::os::unix::fs::FileTypeExt;
    let null = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(
        null.file_type().is_char_device(),
        "/dev/null is not a character device on this machine: the environment is broken"
    );
    // Not a multiple of the 256 KiB low-water mark: the last, short batch must end the session too.
    let data = pattern(BIG + 1000, 6);
    let (port, server) = source_server(data);
    spawn_redirected(
        &["connect", "127.0.0.1", &port.to_string()],
        In::Null,
        Path::new("/dev/null"),
    )
    .finish()
    .ok();
    server.join().unwrap();
}

/// With `-i`, bytes thrown into /dev/null still count as traffic as they arrive: the discarding
/// receiver must not batch them (no low-water mark), or a slow trickle looks idle.
#[test]
fn dev_null_output_still_feeds_the_idle_timer() {
    let (listener, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        // 1.8 s of one byte every 150 ms, far under the 1 s limit between bytes; then close.
        for _ in 0..12 {
            conn.write_all(b".").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
    });
    let started = std::time::Instant::now();
    spawn_redirected(
        &["connect", "-i", "1s", "127.0.0.1", &port.to_string()],
        In::Null,
        Path::new("/dev/null"),
    )
    .finish()
    .ok();
    server.join().unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
}

#[test]
fn peer_closing_while_a_pipe_feeds_is_status_1() {
    let (port, server) = resetting_server();
    let mut p = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Pipe);
    let mut stdin = p.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = pattern(1 << 20, 13);
        // Stops when sockcat is gone (EPIPE), or after 256 MiB at the most.
        for _ in 0..256 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let done = p.finish().code(1);
    server.join().unwrap();
    writer.join().unwrap();
    let line = done.stderr.trim();
    assert!(
        line == "sockcat: error: connection reset by peer"
            || line == "sockcat: error: peer closed before all input was sent"
            || line == "sockcat: error: broken pipe",
        "{}",
        done.show()
    );
}

#[test]
fn listen_output_file_and_file_stdin_both_ways_at_once() {
    // listen -o FILE receives by splice through a private pipe while sendfile sends its stdin.
    let dir = tempfile::tempdir().unwrap();
    let up = pattern(BIG + 1, 7);
    let down = pattern(BIG / 2 + 3, 8);
    let file = write_file(dir.path(), "up.bin", &up);
    let out = dir.path().join("down.bin");
    let mut p = Proc::spawn(
        &[
            "listen",
            "-v",
            "127.0.0.1",
            "0",
            "-o",
            out.to_str().unwrap(),
        ],
        In::File(file),
    );
    let addr = p.listening();
    let mut conn = connect(addr);
    let mut reader = conn.try_clone().unwrap();
    let got = std::thread::spawn(move || {
        let mut buf = Vec::new();
        reader.read_to_end(&mut buf).unwrap();
        buf
    });
    conn.write_all(&down).unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    assert!(got.join().unwrap() == up, "client got other bytes");
    let done = p.finish().ok();
    let written = std::fs::read(&out).unwrap();
    assert!(written == down, "file differs\n{}", done.show());
}

#[test]
fn listen_stdout_pipe_from_client() {
    let data = pattern(BIG + 31, 9);
    let mut p = Proc::spawn(&["listen", "-v", "127.0.0.1", "0"], In::Null);
    let addr = p.listening();
    let mut conn = connect(addr);
    conn.write_all(&data).unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    let done = p.finish().ok();
    assert!(done.stdout == data, "stdout differs\n{}", done.show());
}

#[test]
fn crlf_still_converts_a_file_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = Vec::new();
    for i in 0..200_000 {
        text.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    text.extend_from_slice(b"kept\r\nlast");
    let file = write_file(dir.path(), "text", &text);
    let (port, server) = sink_server();
    let done = Proc::spawn(
        &["connect", "--crlf", "127.0.0.1", &port.to_string()],
        In::File(file),
    )
    .finish()
    .ok();
    let got = server.join().unwrap();
    let mut want = Vec::new();
    for i in 0..200_000 {
        want.extend_from_slice(format!("line {i}\r\n").as_bytes());
    }
    want.extend_from_slice(b"kept\r\nlast");
    assert!(got == want, "crlf output differs\n{}", done.show());
}

#[test]
fn hexdump_still_sees_a_file_stdin_and_received_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "in", b"hello\n");
    let (port, server) = source_server(b"world\n".to_vec());
    let done = Proc::spawn(
        &["connect", "--hexdump", "127.0.0.1", &port.to_string()],
        In::File(file),
    )
    .finish()
    .ok();
    assert_eq!(done.stdout, b"world\n", "{}", done.show());
    assert!(
        done.stderr.contains("> 00000000  68 65 6c 6c 6f 0a"),
        "{}",
        done.show()
    );
    assert!(
        done.stderr.contains("< 00000000  77 6f 72 6c 64 0a"),
        "{}",
        done.show()
    );
    assert_eq!(server.join().unwrap(), b"hello\n");
}

#[test]
fn peer_closing_during_sendfile_is_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "in.bin", &pattern(64 << 20, 10));
    let (port, server) = resetting_server();
    let done = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::File(file))
        .finish()
        .code(1);
    server.join().unwrap();
    let line = done.stderr.trim();
    assert!(
        line == "sockcat: error: connection reset by peer"
            || line == "sockcat: error: peer closed before all input was sent",
        "{}",
        done.show()
    );
}

#[test]
fn closed_stdout_pipe_is_quiet_status_0() {
    let data = pattern(BIG, 11);
    let (port, server) = source_server(data);
    let script = "\"$0\" connect 127.0.0.1 \"$1\" | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}";
    let done = Proc::spawn_program(
        "bash",
        &["-c", script, &bin_str(), &port.to_string()],
        In::Null,
    )
    .finish();
    let done = done.ok();
    assert!(done.stderr.is_empty(), "{}", done.show());
    let _ = server.join();
}

#[test]
fn full_disk_on_stdout_is_status_1() {
    // /dev/full takes no splice: the fallback writes, and ENOSPC is a plain failure.
    let (port, server) = source_server(pattern(1 << 20, 12));
    spawn_redirected(
        &["connect", "127.0.0.1", &port.to_string()],
        In::Null,
        Path::new("/dev/full"),
    )
    .finish()
    .code(1)
    .one_error_line("no space left on device");
    let _ = server.join();
}

// A short regular file (or /dev/null) on stdin, or --recv-only, without -i: the session runs on the
// calling thread, one direction after the other, under the same end-of-stream rules.

#[test]
fn short_file_stdin_then_the_reply_after_eof() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "req", b"GET /\n");
    let (listener, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(crate::common::LIMIT)).unwrap();
        let mut req = Vec::new();
        conn.read_to_end(&mut req).unwrap();
        conn.write_all(b"reply to ").unwrap();
        conn.write_all(&req).unwrap();
    });
    let done = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::File(file))
        .finish()
        .ok();
    assert_eq!(done.stdout, b"reply to GET /\n", "{}", done.show());
    server.join().unwrap();
}

#[test]
fn short_file_stdin_with_send_only_and_close_on_eof() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "msg", b"hello");
    for flag in ["--send-only", "--close-on-eof"] {
        // The server never closes: sockcat must not wait for it.
        let (listener, port) = tcp_listener();
        let (tx, rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(crate::common::LIMIT)).unwrap();
            let mut got = vec![0u8; 5];
            conn.read_exact(&mut got).unwrap();
            let _ = rx.recv();
            got
        });
        let done = Proc::spawn(
            &["connect", flag, "127.0.0.1", &port.to_string()],
            In::File(file.clone()),
        )
        .finish()
        .ok();
        tx.send(()).unwrap();
        assert_eq!(server.join().unwrap(), b"hello", "{}", done.show());
    }
}

#[test]
fn recv_only_and_dev_null_stdin() {
    let data = pattern(3 << 20, 13);
    for (args, stdin) in [
        (vec!["connect", "--recv-only"], In::Pipe),
        (vec!["connect"], In::File("/dev/null".into())),
    ] {
        let (port, server) = source_server(data.clone());
        let port = port.to_string();
        let mut all = args.clone();
        all.extend_from_slice(&["127.0.0.1", &port]);
        let mut p = Proc::spawn(&all, stdin);
        // --recv-only never reads stdin: an open, silent pipe must not keep it waiting.
        let keep_open = p.stdin.take();
        let done = p.finish().ok();
        drop(keep_open);
        assert!(done.stdout == data, "stdout differs\n{}", done.show());
        assert!(server.join().unwrap().is_empty());
    }
}

#[test]
fn reset_with_a_short_file_stdin_is_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "msg", b"hello");
    let (listener, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        socket2::SockRef::from(&conn)
            .set_linger(Some(std::time::Duration::ZERO))
            .unwrap();
        drop(conn);
    });
    let done = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::File(file))
        .finish()
        .code(1);
    server.join().unwrap();
    assert!(
        done.stderr.contains("connection reset by peer")
            || done
                .stderr
                .contains("peer closed before all input was sent"),
        "{}",
        done.show()
    );
}
