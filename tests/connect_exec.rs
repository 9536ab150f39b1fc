//! `connect -e` / `-c`: the program runs on the outgoing connection (its stdin and stdout), and the
//! status says whether it succeeded; `--pty` (connect and listen) runs it on a pseudo-terminal.

use std::io::{Read, Write};
use std::net::Shutdown;

use crate::common::{LIMIT, run, tcp_listener};

/// A server that sends `greeting`, half-closes, and returns what it read until EOF (and its port).
fn greeter(greeting: &'static [u8]) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let (listener, port) = tcp_listener();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        conn.write_all(greeting).unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let _ = conn.read_to_end(&mut got);
        got
    });
    (port, handle)
}

#[test]
fn sh_exec_talks_to_the_server_and_succeeds() {
    let (port, server) = greeter(b"ping\n");
    let done = run(
        &[
            "connect",
            "-c",
            "read line; echo \"got $line from $SOCKCAT_REMOTE_PORT\"",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .ok();
    assert!(done.stdout.is_empty(), "{}", done.show());
    assert_eq!(
        String::from_utf8_lossy(&server.join().unwrap()),
        format!("got ping from {port}\n")
    );
}

#[test]
fn exec_runs_without_a_shell() {
    let (port, server) = greeter(b"echoed back");
    run(
        &["connect", "-e", "cat", "127.0.0.1", &port.to_string()],
        b"",
    )
    .ok();
    assert_eq!(server.join().unwrap(), b"echoed back");
}

#[test]
fn a_failing_program_is_status_1() {
    let (port, server) = greeter(b"");
    run(
        &["connect", "-c", "exit 3", "127.0.0.1", &port.to_string()],
        b"",
    )
    .code(1)
    .one_error_line("exited with");
    server.join().unwrap();
}

#[test]
fn a_missing_program_or_a_byte_option_is_status_2_before_connecting() {
    let (listener, port) = tcp_listener();
    listener.set_nonblocking(true).unwrap();
    let port = port.to_string();
    run(
        &["connect", "-e", "no-such-program-here", "127.0.0.1", &port],
        b"",
    )
    .code(2);
    run(
        &["connect", "-c", "cat", "--close-on-eof", "127.0.0.1", &port],
        b"",
    )
    .code(2);
    assert!(listener.accept().is_err(), "connected anyway");
}

/// SIGTERM ends the program with sockcat (it runs in a process group of its own, which a terminal's
/// Ctrl-C would not reach): the server sees the connection close at once, not when `sleep` ends.
#[test]
fn sigterm_ends_the_program_too() {
    let (listener, port) = tcp_listener();
    let p = crate::common::Proc::spawn(
        &[
            "connect",
            "-c",
            "echo up; sleep 60",
            "127.0.0.1",
            &port.to_string(),
        ],
        crate::common::In::Null,
    );
    let (mut conn, _) = listener.accept().expect("accept");
    conn.set_read_timeout(Some(LIMIT)).unwrap();
    // The program has started (and its shell forked `sleep`, which holds the connection too).
    let mut up = [0u8; 3];
    conn.read_exact(&mut up).unwrap();
    assert_eq!(&up, b"up\n");
    p.signal("TERM");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let ended = conn.read_to_end(&mut rest);
    assert!(
        ended.is_ok() && started.elapsed() < std::time::Duration::from_secs(10),
        "the connection stayed open after SIGTERM: {ended:?} after {:?}",
        started.elapsed()
    );
    let done = p.finish();
    assert_ne!(done.code, Some(0), "{}", done.show());
}

/// A server that sends `script` and returns everything it read until EOF (and its port).
fn scripted(script: &'static [u8]) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let (listener, port) = tcp_listener();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        conn.write_all(script).unwrap();
        let mut got = Vec::new();
        let _ = conn.read_to_end(&mut got);
        got
    });
    (port, handle)
}

/// `--pty`: the program's stdout is a terminal (issue 17: `-c 'tty'` prints a /dev/pts path).
#[test]
fn pty_gives_the_program_a_terminal() {
    let (port, server) = scripted(b"");
    run(
        &[
            "connect",
            "--pty",
            "-c",
            "tty",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .ok();
    let got = String::from_utf8_lossy(&server.join().unwrap()).into_owned();
    assert!(
        got.starts_with("/dev/pts/") && got.ends_with("\r\n"),
        "{got:?}"
    );
}

/// An interactive shell on the terminal answers what the other end types, and its exit ends the
/// session with its status.
#[test]
fn pty_runs_an_interactive_shell() {
    let (port, server) = scripted(b"echo hi-$((1+2)); tty\nexit 4\n");
    run(
        &[
            "connect",
            "--pty",
            "-c",
            "sh -i",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .code(1)
    .one_error_line("exited with");
    let got = String::from_utf8_lossy(&server.join().unwrap()).into_owned();
    assert!(got.contains("hi-3\r\n/dev/pts/"), "{got:?}");
}

#[test]
fn pty_without_a_program_is_status_2() {
    let (_listener, port) = tcp_listener();
    run(&["connect", "--pty", "127.0.0.1", &port.to_string()], b"").code(2);
}

/// `listen --pty`: each client's program gets a terminal of its own; without -k the server's status is
/// the program's.
#[test]
fn listen_pty_gives_each_client_a_terminal() {
    let mut p = crate::common::Proc::spawn(
        &["listen", "-v", "-k", "--pty", "-c", "tty", "127.0.0.1", "0"],
        crate::common::In::Null,
    );
    let addr = p.listening();
    for _ in 0..2 {
        let mut conn = crate::common::connect(addr);
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        let got = String::from_utf8_lossy(&got).into_owned();
        assert!(
            got.starts_with("/dev/pts/") && got.ends_with("\r\n"),
            "{got:?}"
        );
    }
    drop(p);
    let mut p = crate::common::Proc::spawn(
        &["listen", "-v", "--pty", "-c", "sh -i", "127.0.0.1", "0"],
        crate::common::In::Null,
    );
    let addr = p.listening();
    let mut conn = crate::common::connect(addr);
    conn.write_all(b"echo hi-$((1+2))\nexit 5\n").unwrap();
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    let got = String::from_utf8_lossy(&got).into_owned();
    assert!(got.contains("hi-3\r\n"), "{got:?}");
    p.finish().code(1).last_error_line("exited with");
}

/// `--crlf` with `-c` applies to what the program writes (issue 21 item 4: it was accepted and
/// ignored by listen), on both sides; the bytes then pass through sockcat's relay.
#[test]
fn crlf_applies_to_the_programs_output() {
    let (port, server) = scripted(b"");
    run(
        &[
            "connect",
            "--crlf",
            "-c",
            "printf 'a\\nb\\r\\n'",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .ok();
    assert_eq!(server.join().unwrap(), b"a\r\nb\r\n");

    let mut p = crate::common::Proc::spawn(
        &[
            "listen",
            "-v",
            "--crlf",
            "-c",
            "printf 'a\\nb\\n'",
            "127.0.0.1",
            "0",
        ],
        crate::common::In::Null,
    );
    let mut conn = crate::common::connect(p.listening());
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"a\r\nb\r\n");
    p.finish().ok();
}

/// `--hexdump` with `-c` shows both directions of the program's traffic.
#[test]
fn hexdump_shows_the_programs_traffic() {
    let (port, server) = scripted(b"hi\n");
    let done = run(
        &[
            "connect",
            "--hexdump",
            "-c",
            "read l; echo \"$l!\"",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .ok();
    assert_eq!(server.join().unwrap(), b"hi!\n");
    assert!(
        done.stderr.contains("< 00000000  68 69 0a"),
        "{}",
        done.show()
    );
    assert!(
        done.stderr.contains("> 00000000  68 69 21 0a"),
        "{}",
        done.show()
    );
}

/// connect `-i` with `-c`: a program that neither writes nor gets anything is idle; status 3 and the
/// program is ended.
#[test]
fn idle_timeout_ends_a_silent_program() {
    let (listener, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        let mut got = Vec::new();
        let _ = conn.read_to_end(&mut got);
    });
    let started = std::time::Instant::now();
    run(
        &[
            "connect",
            "-i",
            "500ms",
            "-c",
            "sleep 30",
            "127.0.0.1",
            &port.to_string(),
        ],
        b"",
    )
    .code(3)
    .one_error_line("idle timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    server.join().unwrap();
}
