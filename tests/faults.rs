//! Faults and load: full disks, slow readers, randomized transfers, connection storms. sockcat must never
//! lose a byte silently, never hang when it should end, and never crash.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{In, LIMIT, Proc, connect, pattern, read_all, run, tcp_listener};

#[test]
fn stdout_on_a_full_disk_is_status_1() {
    let (l, port) = tcp_listener();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let _ = s.write_all(b"no room for this");
    });
    let script = format!(
        "{} connect 127.0.0.1 {port} </dev/null >/dev/full",
        crate::common::bin().display()
    );
    Proc::spawn_program("sh", &["-c", &script], In::Null)
        .finish()
        .code(1)
        .one_error_line("write to stdout: no space left on device");
}

#[test]
fn a_slow_reader_gets_every_byte() {
    let (l, port) = tcp_listener();
    let data = pattern(4 << 20, 31);
    let expected = data.clone();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(&data).unwrap();
    });
    // The reader starts late and reads in small sips: sockcat blocks, it does not drop.
    let script = format!(
        "{} connect 127.0.0.1 {port} </dev/null | (sleep 0.5; dd bs=4096 status=none)",
        crate::common::bin().display()
    );
    let done = Proc::spawn_program("bash", &["-o", "pipefail", "-c", &script], In::Null)
        .finish()
        .ok();
    assert!(done.stdout == expected, "got {} bytes", done.stdout.len());
}

/// xorshift, for reproducible random sizes.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn randomized_sockcat_to_sockcat_transfers_are_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x5eed_u64;
    // Run a few at a time; sizes from 0 to 4 MiB, mostly small, both directions at once.
    let rounds = 160;
    let parallel = 4;
    for batch in 0..rounds / parallel {
        let mut running = Vec::new();
        for k in 0..parallel {
            let i = batch * parallel + k;
            let size = |x: &mut u64| -> usize {
                let r = next(x);
                match r % 4 {
                    0 => (r >> 8) as usize % 64,
                    1 => (r >> 8) as usize % 65_536,
                    2 => (r >> 8) as usize % (1 << 20),
                    _ => (r >> 8) as usize % (4 << 20),
                }
            };
            let up = pattern(size(&mut seed), i as u64 * 2 + 1);
            let down = pattern(size(&mut seed), i as u64 * 2 + 2);
            let up_file = dir.path().join(format!("up{i}"));
            let down_file = dir.path().join(format!("down{i}"));
            std::fs::write(&up_file, &up).unwrap();
            std::fs::write(&down_file, &down).unwrap();
            let mut listener =
                Proc::spawn(&["listen", "-v", "127.0.0.1", "0"], In::File(down_file));
            let port = listener.port().to_string();
            let client = Proc::spawn(&["connect", "127.0.0.1", &port], In::File(up_file));
            running.push((i, listener, client, up, down));
        }
        for (i, listener, client, up, down) in running {
            let c = client.finish().ok();
            let l = listener.finish().ok();
            assert!(
                c.stdout == down,
                "round {i}: client got {} of {} bytes",
                c.stdout.len(),
                down.len()
            );
            assert!(
                l.stdout == up,
                "round {i}: listener got {} of {} bytes",
                l.stdout.len(),
                up.len()
            );
        }
    }
}

#[test]
fn five_hundred_sequential_connections_all_succeed() {
    let (l, port) = tcp_listener();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let got = read_all(&mut s);
            let _ = s.write_all(&got);
        }
    });
    let port = port.to_string();
    for i in 0..500 {
        let msg = format!("{i}\n");
        let done = run(&["connect", "127.0.0.1", &port], msg.as_bytes()).ok();
        assert_eq!(done.stdout, msg.as_bytes());
    }
}

#[test]
fn ten_thousand_connects_to_a_one_slot_server() {
    let mut p = Proc::spawn(
        &[
            "listen",
            "-v",
            "-k",
            "--echo",
            "--max-conns",
            "1",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let addr = p.listening();
    let pid = p.pid();
    // Hold the one slot, then storm the server with connects that are turned away.
    let mut holder = connect(addr);
    holder.write_all(b"h").unwrap();
    let mut one = [0u8; 1];
    holder.read_exact(&mut one).unwrap();
    let started = Instant::now();
    for _ in 0..10_000 {
        // Refused with a reset, which may arrive before connect returns.
        match TcpStream::connect_timeout(&addr, LIMIT) {
            Ok(s) => drop(s),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connect during the storm: {e}"),
        }
    }
    assert!(started.elapsed() < LIMIT * 3);
    // Still alive, memory bounded, and the slot holder is still served.
    assert!(p.exited().is_none(), "the server died");
    holder.write_all(b"i").unwrap();
    holder.read_exact(&mut one).unwrap();
    assert_eq!(&one, b"i");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(rss_kib < 64 * 1024, "peak RSS {rss_kib} KiB");
    holder.shutdown(Shutdown::Write).unwrap();
    read_all(&mut holder);
}

#[test]
fn sigterm_and_sigint_end_connect_promptly() {
    for (sig, number) in [("TERM", libc::SIGTERM), ("INT", libc::SIGINT)] {
        let (l, port) = tcp_listener();
        let server = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(LIMIT)).unwrap();
            let _ = read_all(&s);
        });
        let mut p = Proc::spawn(&["connect", "-v", "127.0.0.1", &port.to_string()], In::Pipe);
        p.wait_line("connected to ");
        let started = Instant::now();
        p.signal(sig);
        let done = p.finish_within(Duration::from_secs(5));
        // Killed by the signal, as nc is: never 0, never a panic.
        assert!(!done.stderr.contains("panicked"), "{}", done.show());
        done.killed_by(number);
        assert!(started.elapsed() < Duration::from_secs(5));
        server.join().unwrap();
    }
}

/// The readiness idiom `sockcat listen -k -v ... 2>&1 | grep -m1 'listening on'` closes sockcat's
/// stderr once the line is seen. Diagnostics to a closed stderr are dropped; the server goes on.
#[test]
fn a_closed_stderr_does_not_end_a_server() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(crate::common::bin())
        .args(["listen", "-k", "-v", "--echo", "127.0.0.1", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone now (as grep -m1 exits): every later stderr line meets EPIPE.
    let port: u16 = first.trim().rsplit(':').next().unwrap().parse().unwrap();
    for round in 0..3 {
        let mut c = connect(format!("127.0.0.1:{port}").parse().unwrap());
        c.write_all(b"still here").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_all(&mut c), b"still here", "round {round}");
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server ended once its stderr was closed"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A caller that closed stderr (`2>&-`): descriptor 2 is opened on /dev/null before anything else,
/// so the connection never takes its number and a `-v` line never goes into the data. (The Rust
/// runtime did this before `main`; the binary now starts without it, src/startup.rs.)
#[test]
fn a_closed_stderr_at_start_never_carries_the_connection() {
    let (listener, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (c, _) = listener.accept().unwrap();
        c.set_read_timeout(Some(LIMIT)).unwrap();
        read_all(c)
    });
    let bin = crate::common::bin().display().to_string();
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            "exec \"$0\" connect -v 127.0.0.1 \"$1\" < /dev/null 2>&-",
            &bin,
            &port.to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let got = server.join().unwrap();
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
}
