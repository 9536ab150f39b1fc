//! `sockcat sendfile`: byte-exact sends (empty, small, tens of MiB, offset/count) to in-process
//! receivers, to OpenBSD nc and to `sendfile --receive`; `--verify` end to end; a cut transfer, a
//! hostile header or a bad hash leaving nothing behind; no overwrite without --force; input errors;
//! the progress bar only on a terminal.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{
    In, LIMIT, Proc, connect, have, pattern, sink_server, tcp_listener, write_file,
};

fn send(file: &Path, port: u16, extra: &[&str]) -> crate::common::Done {
    let port = port.to_string();
    let mut args = vec!["sendfile"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[file.to_str().unwrap(), "127.0.0.1", &port]);
    Proc::spawn(&args, In::Null).finish()
}

/// A `sendfile --receive -v` on a free loopback port, with its port.
fn receiver(extra: &[&str]) -> (Proc, SocketAddr) {
    let mut args = vec!["sendfile", "--receive", "-v"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    let mut p = Proc::spawn(&args, In::Null);
    let addr = p.listening();
    (p, addr)
}

/// Like `Done::one_error_line`, after the receiver's `-v` lines (`listening on`, `connection from`).
fn rx_error(done: crate::common::Done, needle: &str) -> crate::common::Done {
    let rest: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| !l.starts_with("listening on ") && !l.starts_with("connection from "))
        .collect();
    assert!(
        rest.len() == 1 && rest[0].starts_with("sockcat: error: ") && rest[0].contains(needle),
        "expected one error line with {needle:?}\n{}",
        done.show()
    );
    done
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The `--verify` header (framing version 2, SHA-256), built by hand so tests can lie in it.
fn header(name: &[u8], size: u64) -> Vec<u8> {
    header_with(SHA256, name, size)
}

/// The digest bytes of the header.
const SHA256: u8 = 1;
const BLAKE3: u8 = 2;

fn header_with(digest: u8, name: &[u8], size: u64) -> Vec<u8> {
    let mut out = b"sockcat\x02".to_vec();
    out.push(digest);
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&size.to_be_bytes());
    out
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

fn blake3(data: &[u8]) -> Vec<u8> {
    blake3::hash(data).as_bytes().to_vec()
}

/// Connects, sends `bytes`, half-closes and returns what the receiver answered.
fn fake_sender(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut conn = connect(addr);
    let _ = conn.write_all(bytes);
    let _ = conn.shutdown(Shutdown::Write);
    let mut reply = Vec::new();
    let _ = conn.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn plain_sends_are_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    for (name, len) in [("empty", 0), ("small", 1000), ("big", 24 << 20)] {
        let data = pattern(len, len as u64 + 1);
        let file = write_file(dir.path(), name, &data);
        let (port, server) = sink_server();
        let done = send(&file, port, &[]).ok();
        assert!(done.stderr.is_empty(), "{}", done.show());
        let got = server.join().unwrap();
        assert!(got == data, "{name}: got {} of {len} bytes", got.len());
    }
}

#[test]
fn offset_and_count_send_a_part() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(5 << 20, 3);
    let file = write_file(dir.path(), "f", &data);
    for (offset, count) in [
        (0usize, 10usize),
        (4097, 1 << 20),
        (123, 5242880 - 123),
        (5 << 20, 0),
    ] {
        let (port, server) = sink_server();
        let mut extra = vec!["--offset".to_string(), offset.to_string()];
        if offset != 123 {
            extra.extend(["--count".to_string(), count.to_string()]);
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        send(&file, port, &extra).ok();
        let got = server.join().unwrap();
        assert!(
            got == data[offset..offset + count],
            "offset {offset} count {count}: got {} bytes",
            got.len()
        );
    }
}

#[test]
fn bad_input_is_status_2_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.bin");
    let port = crate::common::closed_port();
    send(&missing, port, &[])
        .code(2)
        .one_error_line("missing.bin: no such file or directory");
    send(dir.path(), port, &[])
        .code(2)
        .one_error_line("is a directory");
    let file = write_file(dir.path(), "ten", b"0123456789");
    send(&file, port, &["--offset", "11"])
        .code(2)
        .one_error_line("past the end");
    send(&file, port, &["--offset", "5", "--count", "6"])
        .code(2)
        .one_error_line("only 5 bytes");
    // Unreadable: only meaningful when not running as root.
    let locked = write_file(dir.path(), "locked", b"x");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_err() {
        send(&locked, port, &[])
            .code(2)
            .one_error_line("locked: permission denied");
    }
}

#[test]
fn openbsd_nc_receives_byte_exact() {
    if !have("nc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(8 << 20, 4);
    let file = write_file(dir.path(), "f", &data);
    let port = crate::common::free_port();
    let mut nc = Proc::spawn_program("nc", &["-l", "127.0.0.1", &port.to_string()], In::Null);
    crate::common::runner::wait_listening(port, &mut nc, LIMIT).unwrap();
    send(&file, port, &[]).ok();
    let got = nc.finish().stdout;
    assert!(got == data, "nc got {} of {} bytes", got.len(), data.len());
}

#[test]
fn receive_plain_to_stdout_and_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(6 << 20, 5);
    let file = write_file(dir.path(), "f", &data);

    let (rx, addr) = receiver(&[]);
    send(&file, addr.port(), &[]).ok();
    let done = rx.finish().ok();
    assert!(done.stdout == data, "stdout differs\n{}", done.show());
    assert!(
        done.stderr.contains("connection from 127.0.0.1:"),
        "{}",
        done.show()
    );
    assert!(
        done.stderr.contains("received 6291456 bytes in "),
        "{}",
        done.show()
    );

    let out = dir.path().join("out.bin");
    let (rx, addr) = receiver(&["-o", out.to_str().unwrap()]);
    send(&file, addr.port(), &[]).ok();
    rx.finish().ok();
    assert!(std::fs::read(&out).unwrap() == data);
}

#[test]
fn verify_round_trip_into_a_directory() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    for (name, len) in [("empty.bin", 0), ("data.bin", 20 << 20)] {
        let data = pattern(len, 6);
        let file = write_file(src.path(), name, &data);
        let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap()]);
        let sent = send(&file, addr.port(), &["--verify", "-v"]).ok();
        assert!(sent.stderr.contains("sent "), "{}", sent.show());
        rx.finish().ok();
        assert!(
            std::fs::read(dst.path().join(name)).unwrap() == data,
            "{name} differs"
        );
    }
    assert_eq!(entries(dst.path()), ["data.bin", "empty.bin"]);
}

#[test]
fn verify_with_offset_and_count_and_an_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(3 << 20, 7);
    let file = write_file(dir.path(), "whole", &data);
    let out = dir.path().join("part");
    let (rx, addr) = receiver(&["--verify", "-o", out.to_str().unwrap()]);
    send(
        &file,
        addr.port(),
        &["--verify", "--offset", "1000", "--count", "2000000"],
    )
    .ok();
    rx.finish().ok();
    assert!(std::fs::read(&out).unwrap() == data[1000..2_001_000]);
}

#[test]
fn a_cut_transfer_leaves_nothing() {
    let dst = tempfile::tempdir().unwrap();
    let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap()]);
    let mut bytes = header(b"cut.bin", 10 << 20);
    bytes.extend_from_slice(&pattern(1 << 20, 8));
    // The sender dies after 1 of 10 MiB: its socket closes.
    let reply = fake_sender(addr, &bytes);
    let done = rx_error(rx.finish().code(1), "stopped after 1048576 of 10485760");
    assert!(
        reply.starts_with("ERR "),
        "reply {reply:?}\n{}",
        done.show()
    );
    assert!(entries(dst.path()).is_empty(), "{:?}", entries(dst.path()));
}

#[test]
fn a_killed_sender_process_leaves_nothing() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let file = write_file(src.path(), "big.bin", &pattern(64 << 20, 9));
    // A receiver that never reads: the sender blocks once the socket buffers are full.
    let (listener, port) = tcp_listener();
    let sender = Proc::spawn(
        &[
            "sendfile",
            "--verify",
            file.to_str().unwrap(),
            "127.0.0.1",
            &port.to_string(),
        ],
        In::Null,
    );
    let (conn, _) = listener.accept().unwrap();
    // Relay what the sender managed to send into a real receiver, then kill the sender mid-way.
    let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap()]);
    let mut upstream = conn;
    upstream.set_read_timeout(Some(LIMIT)).unwrap();
    let mut downstream = connect(addr);
    let mut buf = vec![0u8; 1 << 20];
    let n = upstream.read(&mut buf).unwrap();
    downstream.write_all(&buf[..n]).unwrap();
    sender.signal("KILL");
    let _ = sender.finish_within(LIMIT);
    while let Ok(n) = upstream.read(&mut buf) {
        if n == 0 {
            break;
        }
        downstream.write_all(&buf[..n]).unwrap();
    }
    drop(downstream);
    rx.finish().code(1);
    assert!(entries(dst.path()).is_empty(), "{:?}", entries(dst.path()));
}

#[test]
fn bad_hash_leaves_nothing() {
    let dst = tempfile::tempdir().unwrap();
    let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap()]);
    let data = pattern(100_000, 10);
    let mut bytes = header(b"x.bin", data.len() as u64);
    bytes.extend_from_slice(&data);
    bytes.extend_from_slice(&sha256(b"something else"));
    let reply = fake_sender(addr, &bytes);
    rx_error(rx.finish().code(1), "SHA-256 mismatch");
    assert!(
        reply.starts_with("ERR ") && reply.contains("mismatch"),
        "{reply:?}"
    );
    assert!(entries(dst.path()).is_empty());
}

#[test]
fn hostile_names_stay_inside_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let dst = root.path().join("inbox");
    std::fs::create_dir(&dst).unwrap();
    for (name, kept) in [
        (&b"../escape.txt"[..], "escape.txt"),
        (b"/etc/evil.conf", "evil.conf"),
        (b"a/b/../../up.bin", "up.bin"),
    ] {
        let (rx, addr) = receiver(&["--verify", "-o", dst.to_str().unwrap()]);
        let mut bytes = header(name, 3);
        bytes.extend_from_slice(b"abc");
        bytes.extend_from_slice(&sha256(b"abc"));
        assert_eq!(fake_sender(addr, &bytes), "OK\n");
        rx.finish().ok();
        assert_eq!(std::fs::read(dst.join(kept)).unwrap(), b"abc");
    }
    assert_eq!(entries(root.path()), ["inbox"]);
    for name in [&b".."[..], b"/", b"x\0y", b"new\nline"] {
        let (rx, addr) = receiver(&["--verify", "-o", dst.to_str().unwrap()]);
        let mut bytes = header(name, 3);
        bytes.extend_from_slice(b"abc");
        bytes.extend_from_slice(&sha256(b"abc"));
        let reply = fake_sender(addr, &bytes);
        rx_error(rx.finish().code(1), "refusing file name");
        assert!(reply.starts_with("ERR refusing"), "{reply:?}");
    }
    assert_eq!(entries(&dst), ["escape.txt", "evil.conf", "up.bin"]);
}

#[test]
fn a_sender_named_special_file_is_never_written_into() {
    let dst = tempfile::tempdir().unwrap();
    let fifo = dst.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    for force in [false, true] {
        let mut extra = vec!["--verify", "-o", dst.path().to_str().unwrap()];
        if force {
            extra.push("--force");
        }
        let (rx, addr) = receiver(&extra);
        let mut bytes = header(b"fifo", 3);
        bytes.extend_from_slice(b"abc");
        bytes.extend_from_slice(&sha256(b"abc"));
        let reply = fake_sender(addr, &bytes);
        rx_error(rx.finish().code(1), "not a regular file");
        assert!(reply.starts_with("ERR "), "{reply:?}");
    }
    assert_eq!(entries(dst.path()), ["fifo"]);
}

#[test]
fn output_in_a_missing_directory_is_status_2() {
    Proc::spawn(
        &[
            "sendfile",
            "--receive",
            "-o",
            "/nonexistent-dir/x",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    )
    .finish()
    .code(2)
    .one_error_line("no such directory");
}

#[test]
fn hostile_sizes_and_lengths_are_refused_before_anything_is_created() {
    let dst = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (header(b"huge.bin", 1 << 62), "does not fit"),
        (header(b"huger.bin", u64::MAX), "too large"),
        (
            {
                let mut h = b"sockcat\x02\x01".to_vec();
                h.extend_from_slice(&60000u16.to_be_bytes());
                h
            },
            "file name of 60000 bytes",
        ),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "bad header"),
    ];
    for (bytes, why) in cases {
        let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap()]);
        let reply = fake_sender(addr, &bytes);
        rx_error(rx.finish().code(1), why);
        assert!(reply.starts_with("ERR "), "{reply:?}");
    }
    assert!(entries(dst.path()).is_empty());
}

#[test]
fn no_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = write_file(dir.path(), "out.bin", b"precious");
    // An existing -o FILE is refused before listening.
    Proc::spawn(
        &[
            "sendfile",
            "--receive",
            "-o",
            out.to_str().unwrap(),
            "127.0.0.1",
            "0",
        ],
        In::Null,
    )
    .finish()
    .code(2)
    .one_error_line("already exists");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");

    let file = write_file(dir.path(), "new.bin", b"fresh bytes");
    let (rx, addr) = receiver(&["--force", "-o", out.to_str().unwrap()]);
    send(&file, addr.port(), &[]).ok();
    rx.finish().ok();
    assert_eq!(std::fs::read(&out).unwrap(), b"fresh bytes");

    // In a directory, the sender's name is taken: status 1, the sender is told.
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    write_file(&inbox, "new.bin", b"older");
    let (rx, addr) = receiver(&["--verify", "-o", inbox.to_str().unwrap()]);
    send(&file, addr.port(), &["--verify"])
        .code(1)
        .one_error_line("already exists");
    rx.finish().code(1);
    assert_eq!(std::fs::read(inbox.join("new.bin")).unwrap(), b"older");
    assert_eq!(entries(&inbox), ["new.bin"]);
}

#[test]
fn verify_against_a_plain_receiver_is_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "f", b"hello");
    let (port, server) = sink_server();
    send(&file, port, &["--verify"])
        .code(1)
        .one_error_line("without confirming");
    server.join().unwrap();
}

#[test]
fn receive_timeout_is_status_3() {
    Proc::spawn(
        &["sendfile", "--receive", "-w", "200ms", "127.0.0.1", "0"],
        In::Null,
    )
    .finish()
    .code(3)
    .one_error_line("no sender connected");
}

/// Runs `sockcat ARGS` inside a pseudo-terminal (`script`), so stderr is a terminal.
fn in_pty(args: &[&str]) -> crate::common::Done {
    let mut cmd = crate::common::bin().display().to_string();
    for a in args {
        cmd.push_str(&format!(" '{a}'"));
    }
    Proc::spawn_program("script", &["-qec", &cmd, "/dev/null"], In::Null).finish()
}

#[test]
fn progress_bar_only_on_a_terminal() {
    if !have("script") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "f", &pattern(32 << 20, 11));
    let shown = |done: &crate::common::Done| {
        let out = done.stdout_str();
        out.contains("ETA") && out.contains("MiB")
    };

    // A receiver that reads slowly enough for the bar to be drawn a few times.
    let slow_sink = || {
        let (listener, port) = tcp_listener();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(LIMIT)).unwrap();
            let mut buf = vec![0u8; 256 * 1024];
            let start = Instant::now();
            let mut total = 0;
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
                // Pace the reads: 32 MiB over about half a second.
                let due = Duration::from_millis((total as u64 * 500) >> 25);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            total
        });
        (port, server)
    };

    let (port, server) = slow_sink();
    let path = file.to_str().unwrap().to_string();
    let done = in_pty(&["sendfile", &path, "127.0.0.1", &port.to_string()]).ok();
    assert_eq!(server.join().unwrap(), 32 << 20);
    assert!(
        shown(&done),
        "no progress bar on a terminal\n{}",
        done.show()
    );

    let (port, server) = slow_sink();
    let done = in_pty(&[
        "sendfile",
        "--no-progress",
        &path,
        "127.0.0.1",
        &port.to_string(),
    ])
    .ok();
    server.join().unwrap();
    assert!(!shown(&done), "--no-progress drew a bar\n{}", done.show());

    let (port, server) = slow_sink();
    let done = send(&file, port, &[]).ok();
    server.join().unwrap();
    assert!(
        done.stderr.is_empty(),
        "stderr not a terminal, yet\n{}",
        done.show()
    );
}

#[test]
fn a_directory_swapped_for_a_symlink_is_not_followed() {
    // The receiver opened DIR when it started; a local user who can write DIR's parent then swaps
    // DIR for a symlink to somewhere else. The file must land in the directory the receiver opened.
    let root = tempfile::tempdir().unwrap();
    let inbox = root.path().join("inbox");
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::create_dir(&elsewhere).unwrap();
    let (rx, addr) = receiver(&["--verify", "-o", inbox.to_str().unwrap()]);
    let moved = root.path().join("inbox.orig");
    std::fs::rename(&inbox, &moved).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &inbox).unwrap();
    let mut bytes = header(b"x.bin", 3);
    bytes.extend_from_slice(b"abc");
    bytes.extend_from_slice(&sha256(b"abc"));
    let reply = fake_sender(addr, &bytes);
    let done = rx.finish();
    assert!(
        entries(&elsewhere).is_empty(),
        "written through the swapped-in symlink: {:?}\n{}",
        entries(&elsewhere),
        done.show()
    );
    let done = done.ok();
    assert_eq!(reply, "OK\n", "{}", done.show());
    assert_eq!(std::fs::read(moved.join("x.bin")).unwrap(), b"abc");
}

/// Opens a FIFO for reading without blocking, so that a writer's open succeeds at once (as it would
/// for an attacker who keeps the FIFO open).
fn open_fifo_reader(fifo: &Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
        .unwrap()
}

/// Whatever the FIFO holds now (a bounded read: it never waits).
fn read_available(f: &mut std::fs::File, into: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
}

#[test]
fn a_symlink_to_a_fifo_flipped_in_never_gets_the_bytes() {
    let root = tempfile::tempdir().unwrap();
    let inbox = root.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let fifo = root.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let mut reader = open_fifo_reader(&fifo);
    let mut got = Vec::new();
    for force in [false, true] {
        let mut extra = vec!["--verify", "-o", inbox.to_str().unwrap()];
        if force {
            extra.push("--force");
        }
        let (rx, addr) = receiver(&extra);
        // The name is free when the receiver starts, and a symlink to the FIFO once the sender comes.
        let link = inbox.join("loot.bin");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let mut bytes = header(b"loot.bin", 6);
        bytes.extend_from_slice(b"secret");
        bytes.extend_from_slice(&sha256(b"secret"));
        let reply = fake_sender(addr, &bytes);
        let done = rx.finish();
        read_available(&mut reader, &mut got);
        assert!(got.is_empty(), "the FIFO received {got:?}\n{}", done.show());
        rx_error(done.code(1), "not a regular file");
        assert!(reply.starts_with("ERR "), "{reply:?}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the symlink was replaced"
        );
    }
    assert_eq!(entries(&inbox), ["loot.bin"]);
}

/// A TCP peer that accepts and then neither reads nor writes until the test ends; returns the port
/// and a handle that keeps the connection open.
fn stuck_peer() -> (
    u16,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (listener, port) = tcp_listener();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let _ = rx.recv_timeout(LIMIT);
        drop(conn);
    });
    (port, tx, peer)
}

#[test]
fn idle_sender_to_a_receiver_that_never_reads_is_status_3() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "big", &pattern(64 << 20, 12));
    for verify in [false, true] {
        let (port, release, peer) = stuck_peer();
        let mut extra = vec!["-i", "300ms"];
        if verify {
            extra.push("--verify");
        }
        let started = Instant::now();
        send(&file, port, &extra)
            .code(3)
            .one_error_line("idle timeout: no data for 300ms");
        assert!(started.elapsed() < Duration::from_secs(5));
        let _ = release.send(());
        peer.join().unwrap();
    }
}

#[test]
fn idle_verify_sender_waits_for_the_answer_only_so_long() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "f", b"hello");
    // A receiver that reads everything, then never answers nor closes.
    let (listener, port) = tcp_listener();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        let got = crate::common::read_all(&mut conn);
        let _ = rx.recv_timeout(LIMIT);
        got
    });
    send(&file, port, &["--verify", "-i", "300ms"])
        .code(3)
        .one_error_line("idle timeout");
    let _ = tx.send(());
    let got = peer.join().unwrap();
    assert!(got.ends_with(&blake3(b"hello")), "{got:?}");
}

#[test]
fn idle_receiver_with_a_silent_or_stalled_sender_is_status_3() {
    let dst = tempfile::tempdir().unwrap();
    let stalled = {
        let mut b = header(b"half.bin", 1 << 20);
        b.extend_from_slice(&pattern(1000, 13));
        b
    };
    for (extra, bytes) in [
        (&["-o", "/dev/null"][..], &b""[..]),
        (
            &["--verify", "-o", dst.path().to_str().unwrap()][..],
            &b""[..],
        ),
        (
            &["--verify", "-o", dst.path().to_str().unwrap()][..],
            &stalled[..],
        ),
    ] {
        let mut args = vec!["-i", "300ms"];
        args.extend_from_slice(extra);
        let (rx, addr) = receiver(&args);
        let mut conn = connect(addr);
        conn.write_all(bytes).unwrap();
        let done = rx.finish();
        drop(conn);
        rx_error(done.code(3), "idle timeout: no data for 300ms");
    }
    assert!(entries(dst.path()).is_empty());
}

#[test]
fn idle_timer_counts_bytes_a_slow_reader_takes() {
    // 8 MiB to a reader that takes 256 KiB every 50 ms: no 300 ms pass without progress, although one
    // sendfile call (or the wait for the last acknowledgement) lasts longer than that.
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(8 << 20, 14);
    let file = write_file(dir.path(), "f", &data);
    let (listener, port) = tcp_listener();
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let mut filled = 0;
            while filled < buf.len() {
                match conn.read(&mut buf[filled..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => filled += n,
                }
            }
            got.extend_from_slice(&buf[..filled]);
            if filled < buf.len() {
                return got;
            }
        }
    });
    send(&file, port, &["-i", "300ms"]).ok();
    assert!(reader.join().unwrap() == data);
}

#[test]
fn wait_for_retries_until_the_receiver_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(100_000, 15);
    let file = write_file(dir.path(), "f", &data);
    let port = crate::common::free_port().to_string();
    let args = [
        "sendfile",
        "-v",
        "--wait-for",
        "10s",
        file.to_str().unwrap(),
        "127.0.0.1",
        &port,
    ];
    let mut sender = Proc::spawn(&args, In::Null);
    sender.wait_line("not up yet, retrying: ");
    // The receiver starts only now, on the port the sender keeps trying.
    let rx = Proc::spawn(&["sendfile", "--receive", "127.0.0.1", &port], In::Null);
    sender.finish().ok();
    assert!(rx.finish().ok().stdout == data);

    let closed = crate::common::closed_port().to_string();
    let mut args = args;
    args[3] = "300ms";
    args[6] = &closed;
    Proc::spawn(&args, In::Null)
        .finish()
        .code(3)
        .last_error_line("connection refused");
}

#[test]
fn verify_digests_default_to_blake3_and_print_as_checksum_tools_do() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let data = pattern(3 << 20, 16);
    let file = write_file(src.path(), "d.bin", &data);
    let path = file.to_str().unwrap();
    for (flag, want) in [
        ("--verify", hex::encode(blake3(&data))),
        ("--verify=blake3", hex::encode(blake3(&data))),
        ("--verify=sha256", hex::encode(sha256(&data))),
    ] {
        let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap(), "--force"]);
        let sent = send(&file, addr.port(), &[flag, "-v"]).ok();
        let line = format!("{want}  {path}");
        assert!(
            sent.stderr.lines().any(|l| l == line),
            "{flag}: no line {line:?}\n{}",
            sent.show()
        );
        let got = rx.finish().ok();
        let target = dst.path().join("d.bin");
        let line = format!("{want}  {}", target.display());
        assert!(
            got.stderr.lines().any(|l| l == line),
            "{flag}: receiver printed no {line:?}\n{}",
            got.show()
        );
        assert!(std::fs::read(&target).unwrap() == data);
    }
    // The line is the one sha256sum prints for the same file.
    if have("sha256sum") {
        let (rx, addr) = receiver(&["--verify", "-o", "/dev/null"]);
        let sent = send(&file, addr.port(), &["--verify=sha256", "-v"]).ok();
        rx.finish().ok();
        let tool = Proc::spawn_program("sha256sum", &[path], In::Null)
            .finish()
            .ok();
        let line = tool.stdout_str();
        assert!(
            sent.stderr.lines().any(|l| l == line.trim_end()),
            "sha256sum says {line:?}\n{}",
            sent.show()
        );
    }
}

#[test]
fn a_blake3_mismatch_leaves_nothing() {
    let dst = tempfile::tempdir().unwrap();
    let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap()]);
    let data = pattern(100_000, 17);
    let mut bytes = header_with(BLAKE3, b"x.bin", data.len() as u64);
    bytes.extend_from_slice(&data);
    // The right digest of the wrong kind: SHA-256 where BLAKE3 was announced.
    bytes.extend_from_slice(&sha256(&data));
    let reply = fake_sender(addr, &bytes);
    rx_error(rx.finish().code(1), "BLAKE3 mismatch");
    assert!(
        reply.starts_with("ERR ") && reply.contains("mismatch"),
        "{reply:?}"
    );
    assert!(entries(dst.path()).is_empty());
}

#[test]
fn peers_that_disagree_on_the_digest_fail_with_a_reason() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let file = write_file(src.path(), "f.bin", b"payload");
    // A receiver that insists on SHA-256, a sender on the default (BLAKE3).
    let (rx, addr) = receiver(&["--verify=sha256", "-o", dst.path().to_str().unwrap()]);
    send(&file, addr.port(), &["--verify"])
        .code(1)
        .one_error_line("the sender checks with blake3, this receiver accepts only sha256");
    rx_error(rx.finish().code(1), "accepts only sha256");
    // An older sockcat (framing version 1: no digest byte, SHA-256).
    let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap()]);
    let mut old = b"sockcat\x01".to_vec();
    old.extend_from_slice(&5u16.to_be_bytes());
    old.extend_from_slice(b"f.bin");
    old.extend_from_slice(&7u64.to_be_bytes());
    old.extend_from_slice(b"payload");
    old.extend_from_slice(&sha256(b"payload"));
    let reply = fake_sender(addr, &old);
    rx_error(rx.finish().code(1), "framing version 1");
    assert!(reply.starts_with("ERR "), "{reply:?}");
    // A digest this sockcat does not know.
    let (rx, addr) = receiver(&["--verify", "-o", dst.path().to_str().unwrap()]);
    let mut bytes = header_with(7, b"f.bin", 7);
    bytes.extend_from_slice(b"payload");
    let reply = fake_sender(addr, &bytes);
    rx_error(rx.finish().code(1), "digest 7");
    assert!(reply.starts_with("ERR "), "{reply:?}");
    assert!(entries(dst.path()).is_empty());
}
