//! Servers against careless or hostile clients (issue 14): a client that never reads, one that left,
//! one that is slow, must stall or hold nothing but itself. Each client here is written to misbehave.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use crate::common::runner::rss_kib;
use crate::common::{In, LIMIT, Proc, connect};

fn server(args: &[&str], stdin: In) -> (Proc, SocketAddr) {
    let mut full = vec!["listen", "-v"];
    full.extend_from_slice(args);
    let mut p = Proc::spawn(&full, stdin);
    let addr = p.listening();
    (p, addr)
}

/// Far more than a stuck client's socket buffers can absorb (loopback: a few MiB each way).
const FLOOD: usize = 48 << 20;

/// Reads exactly `n` bytes within `LIMIT`, or says how many came.
fn read_n(c: &mut TcpStream, n: usize) -> Result<(), String> {
    c.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    let started = Instant::now();
    while got < n {
        let want = buf.len().min(n - got);
        match c.read(&mut buf[..want]) {
            Ok(0) => return Err(format!("EOF after {got} of {n} bytes")),
            Ok(k) => got += k,
            Err(e) => {
                return Err(format!(
                    "{e} after {got} of {n} bytes ({:?})",
                    started.elapsed()
                ));
            }
        }
    }
    Ok(())
}

fn writer(mut s: TcpStream, total: usize) -> std::thread::JoinHandle<TcpStream> {
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            if s.write_all(&chunk[..n]).is_err() {
                break;
            }
            sent += n;
        }
        s
    })
}

#[test]
fn broker_one_client_that_never_reads_stalls_only_itself() {
    let (mut p, addr) = server(&["--broker", "-o", "/dev/null", "127.0.0.1", "0"], In::Null);
    let _stuck = connect(addr); // never reads
    p.wait_line("connection from ");
    let mut reader = connect(addr);
    p.wait_line("connection from ");
    let sender = connect(addr);
    p.wait_line("connection from ");
    let sending = writer(sender, FLOOD);
    read_n(&mut reader, FLOOD).unwrap_or_else(|e| panic!("the reading client starved: {e}"));
    let mut sender = sending.join().unwrap();
    // The stuck one was dropped and said so; a new client is still admitted and served.
    p.wait_line_containing("too far behind");
    let mut late = connect(addr);
    p.wait_line("connection from ");
    sender.write_all(b"hello late").unwrap();
    read_n(&mut late, 10).unwrap_or_else(|e| panic!("the late client got nothing: {e}"));
}

#[test]
fn keep_open_one_client_that_never_reads_stalls_only_itself() {
    let (mut p, addr) = server(&["-k", "-o", "/dev/null", "127.0.0.1", "0"], In::Pipe);
    let _stuck = connect(addr); // never reads
    p.wait_line("connection from ");
    let mut reader = connect(addr);
    p.wait_line("connection from ");
    let mut stdin = p.stdin.take().unwrap();
    let (go_on, later) = channel::<()>();
    let feeding = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..FLOOD / chunk.len() {
            if stdin.write_all(&chunk).is_err() {
                return;
            }
        }
        if later.recv_timeout(LIMIT).is_ok() {
            let _ = stdin.write_all(b"later");
        }
    });
    read_n(&mut reader, FLOOD).unwrap_or_else(|e| panic!("the reading client starved: {e}"));
    p.wait_line_containing("too far behind");
    let mut late = connect(addr);
    p.wait_line("connection from ");
    go_on.send(()).unwrap();
    read_n(&mut late, 5).unwrap_or_else(|e| panic!("the late client got nothing: {e}"));
    read_n(&mut reader, 5).unwrap();
    feeding.join().unwrap();
}

#[test]
fn keep_open_non_reader_with_idle_timeout_is_closed() {
    // -i: a client that stopped reading moves no bytes, so it is idle even while data waits for it.
    let (mut p, addr) = server(&["-k", "-i", "1s", "127.0.0.1", "0"], In::Pipe);
    let _stuck = connect(addr);
    p.wait_line("connection from ");
    let mut stdin = p.stdin.take().unwrap();
    let feeding = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..(16 << 20) / chunk.len() {
            if stdin.write_all(&chunk).is_err() {
                return;
            }
        }
        // Keep stdin open until the test ends.
        std::thread::sleep(LIMIT);
    });
    let started = Instant::now();
    p.wait_line_containing("idle");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(feeding);
}

fn count(pid: u32, what: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/{what}"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// How many sockets `pid` holds (the listener and its clients; not its own epoll and eventfd).
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
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
fn keep_open_departed_clients_free_their_slot_while_stdin_is_idle() {
    let (mut p, addr) = server(&["-k", "--max-conns", "1", "127.0.0.1", "0"], In::Pipe);
    let pid = p.pid();
    let mut fds = None;
    for _ in 0..30 {
        // Each client is admitted (the one before it left), though stdin never says a word.
        let mut c = connect(addr);
        c.write_all(b"x").unwrap();
        let line = p.wait_line_containing(&format!(":{}", c.local_addr().unwrap().port()));
        assert!(line.starts_with("connection from "), "{line}");
        let with_one = *fds.get_or_insert_with(|| count(pid, "fd"));
        drop(c);
        eventually("its descriptor is closed", || count(pid, "fd") < with_one);
    }
}

#[test]
fn idle_clients_cost_no_thread() {
    let (p, addr) = server(&["-k", "--echo", "127.0.0.1", "0"], In::Null);
    let pid = p.pid();
    // All of a batch are accepted once the one connected after them is served.
    let batch = |n: usize| -> Vec<TcpStream> {
        let mut held: Vec<TcpStream> = (0..n).map(|_| connect(addr)).collect();
        let mut last = connect(addr);
        last.write_all(b"l").unwrap();
        read_n(&mut last, 1).unwrap();
        held.push(last);
        held
    };
    // The first clients may start the server's fixed set of loops; more clients add no thread.
    let first = batch(200);
    let threads = count(pid, "task");
    assert!(threads < 40, "{threads} threads with 200 idle clients");
    let second = batch(300);
    assert_eq!(
        count(pid, "task"),
        threads,
        "threads grew from {threads} with 300 more idle clients"
    );
    drop((first, second));
}

/// Item 8: clients served on a thread of their own (a program relayed with `--crlf`) leave no thread
/// behind: 100 at once, then gone, and the server is back to the threads it had before them (the
/// pool this replaced kept idle workers for minutes). A client forwarded to a name has a thread
/// only while its target is opened (the lookup and the connect), then its pair is relayed on the
/// server's loop: 100 of them held open add no thread (each had 2 before).
#[test]
fn thread_per_client_modes_leave_no_thread_behind() {
    let to = format!("localhost:{}", crate::common::echo_server_thread());
    for args in [
        &["-k", "--forward", &to, "127.0.0.1", "0"][..],
        &["-k", "--crlf", "-c", "cat", "127.0.0.1", "0"][..],
    ] {
        let per_client = args[1] != "--forward";
        let (p, addr) = server(args, In::Null);
        let pid = p.pid();
        let exchange = |c: &mut TcpStream| {
            c.write_all(b"x").unwrap();
            read_n(c, 1).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        };
        let base = count(pid, "task");
        exchange(&mut connect(addr));
        eventually(&format!("{args:?}: settled after one client"), || {
            count(pid, "task") <= base
        });
        // Each is served (its thread runs) once its byte came back.
        let held: Vec<TcpStream> = (0..100)
            .map(|_| {
                let mut c = connect(addr);
                exchange(&mut c);
                c
            })
            .collect();
        let busy = count(pid, "task");
        if per_client {
            assert!(
                busy >= base + 100,
                "{args:?}: {busy} threads: not a thread per client"
            );
        } else {
            assert!(
                busy < base + 5,
                "{args:?}: {busy} threads with 100 clients ({base} before)"
            );
        }
        drop(held);
        eventually(&format!("{args:?}: threads back to {base}"), || {
            count(pid, "task") <= base
        });
    }
}

/// A client forwarded to a name (its target opened on a thread, then relayed on the loop) costs the
/// server two sockets while it is relayed, its own and its target's: the copy of it watched while the
/// target was opened (a reset then frees its place at once) is not kept through the relay, which
/// halved how many such clients fit under the descriptor limit.
#[test]
fn a_forwarded_client_to_a_name_holds_two_sockets() {
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let to = format!("localhost:{}", target.local_addr().unwrap().port());
    let (p, addr) = server(&["-k", "--forward", &to, "127.0.0.1", "0"], In::Null);
    let pid = p.pid();
    let base = sockets(pid);
    let mut c = connect(addr);
    let (mut t, _) = target.accept().unwrap();
    // Both ways once: the relay runs.
    c.write_all(b"x").unwrap();
    let mut one = [0u8; 1];
    t.set_read_timeout(Some(LIMIT)).unwrap();
    t.read_exact(&mut one).unwrap();
    t.write_all(b"y").unwrap();
    read_n(&mut c, 1).unwrap();
    assert_eq!(
        sockets(pid),
        base + 2,
        "the client, its target and nothing else"
    );
    drop((c, t));
    eventually("the pair closed", || sockets(pid) <= base);
}

#[test]
fn echo_client_that_stops_reading_is_closed_by_idle_timeout() {
    let (mut p, addr) = server(&["-k", "--echo", "-i", "1s", "127.0.0.1", "0"], In::Null);
    let c = connect(addr);
    p.wait_line("connection from ");
    // Sends for ever, reads nothing: the echo backs up and nothing moves.
    let started = Instant::now();
    let flooding = writer(c, usize::MAX);
    p.wait_line_containing("idle timeout");
    drop(flooding.join().unwrap());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn exec_client_that_left_frees_its_slot_with_idle_timeout() {
    let (mut p, addr) = server(
        &[
            "-k",
            "-c",
            "echo started; exec sleep 30",
            "-i",
            "1s",
            "--max-conns",
            "1",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let mut c = connect(addr);
    read_n(&mut c, 8).unwrap();
    drop(c); // gone, while its child sleeps on
    p.wait_line_containing("idle timeout");
    let mut d = connect(addr);
    let line = p.wait_line_containing(&format!("{}", d.local_addr().unwrap().port()));
    assert!(line.starts_with("connection from "), "{line}");
    read_n(&mut d, 8).unwrap();
}

#[test]
fn exec_idle_timeout_is_not_a_socket_option_the_child_sees() {
    // The child's output moves bytes every 200 ms while its `cat` waits to read for longer than -i:
    // the connection is not idle (CLI.md: any byte either way), and cat's read must not time out.
    let (p, addr) = server(
        &[
            "-k",
            "-c",
            "(while :; do echo tick; sleep 0.2; done) & cat",
            "-i",
            "1s",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let mut c = connect(addr);
    let until = Instant::now() + Duration::from_millis(2500);
    let mut buf = [0u8; 5];
    while Instant::now() < until {
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"tick\n");
    }
    c.write_all(b"ping\n").unwrap();
    let mut seen = Vec::new();
    while !seen.windows(5).any(|w| w == b"ping\n") {
        let mut chunk = [0u8; 64];
        let n = c.read(&mut chunk).unwrap();
        assert!(
            n > 0,
            "the child is gone: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&chunk[..n]);
    }
    drop(c);
    p.signal("TERM");
    let done = p.finish();
    assert!(
        !done.stderr.contains("temporarily unavailable"),
        "{}",
        done.show()
    );
}

#[test]
fn signals_end_each_childs_whole_process_group() {
    for cmd in [
        "echo started; cat | sleep 30",
        "trap '' TERM; echo started; sleep 30",
    ] {
        let (p, addr) = server(&["-k", "-c", cmd, "127.0.0.1", "0"], In::Null);
        let mut c = connect(addr);
        read_n(&mut c, 8).unwrap();
        let started = Instant::now();
        p.signal("TERM");
        let done = p.finish();
        assert!(
            done.code.is_none() || done.code == Some(143),
            "{}",
            done.show()
        );
        // No grandchild holds the connection: the client sees its end.
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{cmd}: the connection stayed open {:?}",
            started.elapsed()
        );
    }
}

/// CLI.md: SIGINT and SIGTERM clean up, then sockcat dies by that same signal. Ending the children
/// also ends the session they served, and that end must not win with a status of its own: a one-client
/// `--pty` server said `error: wait for /bin/sh: no child processes` and exited 1 (the cleanup had
/// reaped the child its relay was waiting for), and a `--crlf` one `error: /bin/sh exited with
/// signal: 15`, each 5 times in 5.
#[test]
fn a_signal_ends_a_one_client_program_server_by_that_signal() {
    for (args, sig, number) in [
        (
            &["--pty", "-c", "echo started; cat | sleep 30"][..],
            "TERM",
            15,
        ),
        (
            &["--pty", "-c", "echo started; sleep 30; echo"][..],
            "INT",
            2,
        ),
        (
            &["--crlf", "-c", "echo started; cat | sleep 30"][..],
            "TERM",
            15,
        ),
        (&["-c", "echo started; cat | sleep 30"][..], "TERM", 15),
    ] {
        let mut full = args.to_vec();
        full.extend(["127.0.0.1", "0"]);
        let (p, addr) = server(&full, In::Null);
        let mut c = connect(addr);
        read_n(&mut c, 8).unwrap();
        p.signal(sig);
        let done = p.finish();
        assert!(!done.stderr.contains("error"), "{args:?}: {}", done.show());
        done.killed_by(number);
    }
}

#[test]
fn a_unix_clients_path_cannot_forge_child_environment() {
    use socket2::{Domain, SockAddr, Socket, Type};
    let dir = tempfile::tempdir().unwrap();
    let server_path = dir.path().join("s");
    let mut p = Proc::spawn(
        &[
            "listen",
            "-v",
            "-k",
            "-e",
            "env",
            "--unix",
            server_path.to_str().unwrap(),
        ],
        In::Null,
    );
    p.wait_line("listening on ");
    let forged = dir.path().join("c\nSOCKCAT_REMOTE_PORT=666");
    let s = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    s.bind(&SockAddr::unix(&forged).unwrap()).unwrap();
    s.connect(&SockAddr::unix(&server_path).unwrap()).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut env = Vec::new();
    let _ = (&s).read_to_end(&mut env);
    let env = String::from_utf8_lossy(&env);
    assert!(env.contains("SOCKCAT_REMOTE_ADDR="), "{env}");
    assert!(
        !env.lines().any(|l| l == "SOCKCAT_REMOTE_PORT=666"),
        "a forged line:\n{env}"
    );
}

/// `sockcat connect` with something to send, against `addr`: its status.
fn client_status(addr: SocketAddr) -> Option<i32> {
    let dir = tempfile::tempdir().unwrap();
    let input = crate::common::write_file(dir.path(), "in", b"hello\n");
    Proc::spawn(
        &["connect", "127.0.0.1", &addr.port().to_string()],
        In::File(input),
    )
    .finish()
    .code
}

#[test]
fn refused_clients_fail_every_time() {
    let (_deny, denied) = server(&["-k", "--deny", "127.0.0.1", "127.0.0.1", "0"], In::Null);
    let (mut full, limited) = server(&["-k", "--max-conns", "1", "127.0.0.1", "0"], In::Pipe);
    let _holder = connect(limited);
    full.wait_line("connection from ");
    let (mut one, single) = server(&["127.0.0.1", "0"], In::Pipe);
    let _first = connect(single);
    one.wait_line("connection from ");
    for (what, addr) in [
        ("--deny", denied),
        ("--max-conns", limited),
        ("busy", single),
    ] {
        for _ in 0..5 {
            assert_eq!(client_status(addr), Some(1), "a client refused by {what}");
        }
    }
}

#[test]
fn keep_open_does_not_read_stdin_before_the_first_client() {
    let dir = tempfile::tempdir().unwrap();
    let input = crate::common::write_file(dir.path(), "in", b"for the first client\n");
    let (_p, addr) = server(&["-k", "127.0.0.1", "0"], In::File(input));
    // Late on purpose: a server that read stdin at start has thrown it away by now.
    std::thread::sleep(Duration::from_millis(300));
    let mut c = connect(addr);
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"for the first client\n");
}

#[test]
fn broker_send_only_passes_nothing_on() {
    let (mut p, addr) = server(&["--broker", "--send-only", "127.0.0.1", "0"], In::Pipe);
    let mut a = connect(addr);
    let mut b = connect(addr);
    p.wait_line("connection from ");
    p.wait_line("connection from ");
    a.write_all(b"from a").unwrap();
    // stdin still reaches both: once b has it, a's bytes (sent before) would have come first.
    p.write(b"stdin\n");
    let mut buf = [0u8; 6];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"stdin\n", "b got a's bytes");
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"stdin\n");
}

/// `n` clients connect at once (the server holds them all: `per_client` sockets each), then leave
/// (`leave` runs once they are dropped) and the server has closed them all: its RSS then.
fn crowd(pid: u32, addr: SocketAddr, n: usize, per_client: usize, leave: &dyn Fn()) -> u64 {
    let before = sockets(pid);
    let held: Vec<TcpStream> = (0..n).map(|_| connect(addr)).collect();
    eventually(&format!("the server holds {n} clients"), || {
        sockets(pid) >= before + per_client * n
    });
    drop(held);
    leave();
    eventually("every client closed", || sockets(pid) <= before);
    rss_kib(pid)
}

/// The server's RSS once it is at most `limit` KiB, or (never, within [`LIMIT`]) the last reading: the
/// loop gives the heap back in the turn that closed the last client, after the close itself, so the
/// descriptors can be seen gone a moment before the memory is.
fn rss_settles(pid: u32, limit: u64) -> u64 {
    let deadline = Instant::now() + LIMIT;
    loop {
        let rss = rss_kib(pid);
        if rss <= limit || Instant::now() >= deadline {
            return rss;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Once a crowd has left, the server's memory returns to what it was before it (How it is judged:
/// "RSS ... return to their baseline"): the loop's slot table, grown for 1,500 clients, is not kept
/// (before: 300-400 KiB more after them than after a crowd of 200, for good). The baseline is taken
/// after a smaller crowd, so the code paths a crowd runs are already paged in.
#[test]
fn a_crowd_that_left_leaves_no_memory_behind() {
    let _ = sockcat::fuzz::raise_nofile_limit();
    let (p, addr) = server(&["-k", "127.0.0.1", "0"], In::Pipe);
    let pid = p.pid();
    let baseline = crowd(pid, addr, 200, 1, &|| ());
    crowd(pid, addr, 1500, 1, &|| ());
    let after = rss_settles(pid, baseline + 128);
    assert!(
        after <= baseline + 128,
        "RSS {baseline} KiB after 200 clients left, {after} KiB after 1,500 left"
    );
}

/// The same for pairs forwarded on the loop (`--forward` to an address): their table, grown for
/// 1,500 pairs, is not kept (before: about 950 KiB more after them than after 200, for good).
#[test]
fn a_crowd_of_forwarded_pairs_that_left_leaves_no_memory_behind() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let _ = sockcat::fuzz::raise_nofile_limit();
    // The target holds what it accepts until told to let go; from then on it lets each go at once.
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let to = target.local_addr().unwrap().to_string();
    let held = Arc::new(Mutex::new(Vec::new()));
    let letting_go = Arc::new(AtomicBool::new(false));
    let (h, l) = (held.clone(), letting_go.clone());
    std::thread::spawn(move || {
        for c in target.incoming() {
            let Ok(c) = c else { return };
            let mut held = h.lock().unwrap();
            if l.load(Ordering::SeqCst) {
                held.clear();
            } else {
                held.push(c);
            }
        }
    });
    let leave = || {
        letting_go.store(true, Ordering::SeqCst);
        held.lock().unwrap().clear();
    };
    let (p, addr) = server(&["-k", "--forward", &to, "127.0.0.1", "0"], In::Null);
    let pid = p.pid();
    let baseline = crowd(pid, addr, 200, 2, &leave);
    letting_go.store(false, Ordering::SeqCst);
    crowd(pid, addr, 1500, 2, &leave);
    let after = rss_settles(pid, baseline + 128);
    assert!(
        after <= baseline + 128,
        "RSS {baseline} KiB after 200 pairs ended, {after} KiB after 1,500 ended"
    );
}

/// The soak of issue 14, small: `n` idle, `n` non-reading and `n` slow clients at once against a
/// server; a well-behaved client (`served`, which says how long it took) is served within 1 s while
/// the server holds them all (as benches/soak.rs times it); descriptors go back to the baseline once
/// they have left. Each non-reading client first sends `deaf_sends` bytes (for an echo, what comes
/// back piles up unread; in a broker or `-k` relay what it never reads is the others' traffic and
/// stdin).
fn soak(
    args: &[&str],
    n: usize,
    deaf_sends: usize,
    served: impl Fn(&mut Proc, SocketAddr) -> Duration,
) {
    let (mut p, addr) = server(args, In::Pipe);
    let pid = p.pid();
    served(&mut p, addr);
    let fds = sockets(pid);
    let idle: Vec<TcpStream> = (0..n).map(|_| connect(addr)).collect();
    let deaf: Vec<TcpStream> = (0..n)
        .map(|_| {
            let mut c = connect(addr);
            c.set_nonblocking(true).unwrap();
            let _ = c.write(&vec![b'd'; deaf_sends]);
            c
        })
        .collect();
    let slow: Vec<TcpStream> = (0..n).map(|_| connect(addr)).collect();
    // Timed once the server holds them all (the listener and 3n clients): with -c, taking each in
    // is a fork and exec, and a client arriving behind 3n of them waits for them in the backlog.
    eventually("the server holds every client", || sockets(pid) > 3 * n);
    let (stop, stopped) = channel::<()>();
    let trickle = std::thread::spawn(move || {
        let mut slow = slow;
        let mut one = [0u8; 1];
        while stopped.try_recv().is_err() {
            for c in &mut slow {
                let _ = c.write_all(b"s");
                c.set_nonblocking(true).unwrap();
                let _ = c.read(&mut one);
                c.set_nonblocking(false).unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        slow
    });
    for round in 0..5 {
        let took = served(&mut p, addr);
        assert!(
            took < Duration::from_secs(1),
            "{args:?}: round {round}: the well-behaved client waited {took:?}"
        );
    }
    stop.send(()).unwrap();
    let slow = trickle.join().unwrap();
    drop((idle, deaf, slow));
    eventually("client sockets all closed", || sockets(pid) <= fds);
    assert!(p.exited().is_none(), "{args:?}: the server died");
}

/// A client of an echo server (or of `-c cat`): connect, 32 bytes there and back.
fn echoed(_: &mut Proc, addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let mut c = connect(addr);
    c.write_all(&[b'e'; 32]).unwrap();
    read_n(&mut c, 32).unwrap();
    started.elapsed()
}

#[test]
fn soak_echo() {
    soak(&["-k", "--echo", "127.0.0.1", "0"], 100, 32 * 1024, echoed);
}

#[test]
fn soak_exec_cat() {
    soak(
        &["-k", "-c", "cat", "127.0.0.1", "0"],
        30,
        32 * 1024,
        echoed,
    );
}

#[test]
fn soak_keep_open_relay() {
    // Well-behaved: its bytes reach stdout, and stdin reaches it.
    soak(&["-k", "127.0.0.1", "0"], 100, 64, |p, addr| {
        let started = Instant::now();
        let mut c = connect(addr);
        let tag = format!("ping {}\n", c.local_addr().unwrap().port());
        c.write_all(tag.as_bytes()).unwrap();
        assert!(
            p.stdout_has_within(tag.as_bytes(), LIMIT),
            "{tag} never came out"
        );
        p.write(b"pong\n");
        read_n(&mut c, 5).unwrap();
        started.elapsed()
    });
}

#[test]
fn soak_broker() {
    soak(&["--broker", "127.0.0.1", "0"], 100, 64, |p, addr| {
        let started = Instant::now();
        let a = connect(addr);
        let mut b = connect(addr);
        let tag = format!("hi {}\n", b.local_addr().unwrap().port());
        p.wait_line_containing(&format!(":{}", b.local_addr().unwrap().port()));
        (&a).write_all(tag.as_bytes()).unwrap();
        let mut seen = Vec::new();
        while !seen.windows(tag.len()).any(|w| w == tag.as_bytes()) {
            let mut chunk = [0u8; 4096];
            let k = b.read(&mut chunk).unwrap();
            assert!(k > 0, "b was closed");
            seen.extend_from_slice(&chunk[..k]);
        }
        started.elapsed()
    });
}
