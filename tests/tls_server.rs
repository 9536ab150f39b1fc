//! `listen --tls` in the server modes that share clients (issue 16): `-k` relaying stdin to every
//! client, `--broker`, and `--proxy-server` (TLS to the proxy's clients), against openssl s_client,
//! ncat --ssl, socat OPENSSL, curl and python's ssl module; a client that never reads or never
//! finishes its handshake costs only itself; `--events` counts a TLS session's application bytes and
//! says what TLS agreed. Certificates come from the private CA of `tls.rs`, made in a tempdir.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{In, LIMIT, Proc, have, pattern, run};
use crate::events::{read_events, wait_events};
use crate::tls::{Pki, pki, served, strs, tls_listen};

/// `listen -v --tls` with the leaf certificate and `extra`, an events file, stdin a pipe.
fn hub(pki: &Pki, extra: &[&str], events: &std::path::Path) -> (Proc, String) {
    let mut args = served(pki, "leaf");
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--events".into(), events.display().to_string()]);
    let (p, port, _) = tls_listen(&strs(&args), In::Pipe);
    (p, port.to_string())
}

/// A `connect --tls` client verifying the leaf against the CA, stdin a pipe.
fn client(pki: &Pki, port: &str) -> Proc {
    let ca = pki.path("ca.pem");
    Proc::spawn(
        &["connect", "--tls", "--ca", &ca, "localhost", port],
        In::Pipe,
    )
}

/// The real TLS clients installed here, each verifying the leaf against the CA; stdin a pipe (kept
/// open: ncat and socat end their session at their stdin's EOF).
fn peers(pki: &Pki, port: &str) -> Vec<(&'static str, Proc)> {
    let ca = pki.path("ca.pem");
    let mut all = Vec::new();
    if have("openssl") {
        // s_client checks the chain, not the name (as in tls.rs).
        let to = format!("127.0.0.1:{port}");
        let args = [
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-CAfile",
            &ca,
            "-connect",
            &to,
        ];
        all.push(("openssl", Proc::spawn_program("openssl", &args, In::Pipe)));
    }
    if have("ncat") {
        let args = [
            "--ssl",
            "--ssl-verify",
            "--ssl-trustfile",
            &ca,
            "localhost",
            port,
        ];
        all.push(("ncat", Proc::spawn_program("ncat", &args, In::Pipe)));
    }
    if have("socat") {
        let to = format!("OPENSSL:localhost:{port},cafile={ca}");
        all.push(("socat", Proc::spawn_program("socat", &["-", &to], In::Pipe)));
    }
    all
}

/// `listen -k --tls`: stdin goes to every client and what each client sends comes out on stdout,
/// with sockcat, openssl s_client, ncat --ssl and socat OPENSSL as clients at once.
#[test]
fn keep_open_tls_relays_stdin_to_every_client() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let (mut srv, port) = hub(&pki, &["-k"], &dir.path().join("ev"));
    let mut clients = vec![("sockcat", client(&pki, &port))];
    clients.extend(peers(&pki, &port));
    for (name, c) in &mut clients {
        // Once its line is out, the client is one of the server's: the next stdin reaches it.
        let line = format!("from {name}\n");
        c.write(line.as_bytes());
        assert!(
            srv.stdout_has_within(line.as_bytes(), LIMIT),
            "{name}'s line did not come out"
        );
    }
    srv.write(b"to every client\n");
    for (name, c) in &clients {
        assert!(
            c.stdout_has_within(b"to every client\n", LIMIT),
            "{name} did not get stdin"
        );
    }
}

/// `--broker --tls`: each client's bytes go to the others (and to stdout), through TLS both ways.
#[test]
fn broker_tls_relays_between_clients() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let (srv, port) = hub(&pki, &["--broker"], &dir.path().join("ev"));
    let mut a = client(&pki, &port);
    a.write(b"a joined\n");
    assert!(srv.stdout_has_within(b"a joined\n", LIMIT));
    let mut others = vec![("sockcat", client(&pki, &port))];
    others.extend(peers(&pki, &port));
    for (name, b) in &mut others {
        let line = format!("{name} joined\n");
        b.write(line.as_bytes());
        assert!(srv.stdout_has_within(line.as_bytes(), LIMIT), "{name}");
        assert!(a.stdout_has_within(line.as_bytes(), LIMIT), "{name} -> a");
    }
    a.write(b"hello from a\n");
    for (name, b) in &others {
        assert!(b.stdout_has_within(b"hello from a\n", LIMIT), "a -> {name}");
    }
}

/// A TLS client that never reads stalls only itself: the other client gets all 32 MiB of stdin
/// byte-exact, step by step, while the stalled one is dropped once it is too far behind.
#[test]
fn a_tls_client_that_does_not_read_stalls_only_itself() {
    if !have("python3") {
        return;
    }
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    let (mut srv, port) = hub(&pki, &["-k"], &ev);
    // Handshake, one line, then never a read (until its stdin ends with the test).
    let script = "import socket, ssl, sys\n\
        ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')\n\
        s.sendall(b'stalled here\\n')\n\
        sys.stdin.read()\n";
    let ca = pki.path("ca.pem");
    let _stalled = Proc::spawn_program("python3", &["-c", script, &port, &ca], In::Pipe);
    assert!(srv.stdout_has_within(b"stalled here\n", LIMIT));
    let mut fast = client(&pki, &port);
    fast.write(b"fast here\n");
    assert!(srv.stdout_has_within(b"fast here\n", LIMIT));
    // stdin in 1 MiB steps, each taken by the fast client before the next: it is never behind (on a
    // loaded machine its TLS may be slower than the kernel buffers that the stalled client's bytes
    // first fill, and a client 4 MiB behind the fastest is dropped, fast or not), while the stalled
    // client's bytes pile up until it is dropped.
    const STEP: usize = 1 << 20;
    let data = pattern(32 * STEP, 5);
    for (i, block) in data.chunks(STEP).enumerate() {
        srv.write(block);
        assert!(
            fast.stdout_len_within((i + 1) * STEP, LIMIT),
            "the fast client is stuck after {i} MiB"
        );
    }
    srv.wait_line_containing("too far behind");
    srv.close_stdin();
    fast.close_stdin();
    let done = fast.finish().ok();
    assert!(
        done.stdout == data,
        "{} bytes of {}",
        done.stdout.len(),
        data.len()
    );
    let lines = wait_events(&ev, "close", 2);
    let behind: Vec<&Value> = lines.iter().filter(|l| l["reason"] == "behind").collect();
    assert_eq!(behind.len(), 1, "{lines:?}");
    assert_eq!(behind[0]["bytes_in"], "stalled here\n".len());
    // Dropping it was the server's doing, not a peer that left without close_notify.
    srv.signal("TERM");
    let done = srv.finish();
    assert!(
        !done.stderr.contains("without close_notify"),
        "{}",
        done.show()
    );
}

/// `-k --tls`: a client that connects and never completes its handshake is closed after the handshake
/// timeout (here `-i 2`), logged as a `refuse` with reason tls, and holds no other client back: one
/// that connects after it is served (its line out, stdin in) while the silent one still waits. The
/// served client's close line counts the application bytes and says what TLS agreed.
#[test]
fn a_silent_tls_client_is_closed_after_the_handshake_timeout_and_blocks_nobody() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    let (mut srv, port) = hub(&pki, &["-k", "-i", "2"], &ev);
    let mut silent = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    let since = Instant::now();
    silent.set_read_timeout(Some(LIMIT)).unwrap();
    // The start of a ClientHello record, and nothing more: a handshake begun, never completed.
    silent.write_all(&[0x16, 0x03, 0x01]).unwrap();
    wait_events(&ev, "accept", 1);
    let mut other = client(&pki, &port);
    other.write(b"served meanwhile\n");
    assert!(srv.stdout_has_within(b"served meanwhile\n", LIMIT));
    srv.write(b"stdin too\n");
    assert!(other.stdout_has_within(b"stdin too\n", LIMIT));
    other.close_stdin();
    let done = other.finish().ok();
    assert_eq!(done.stdout, b"stdin too\n");
    // The silent client: closed by the server (EOF or a reset), not before its 2 s.
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest);
    let waited = since.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < LIMIT,
        "closed after {waited:?}"
    );
    srv.wait_line_containing("TLS handshake: no answer within 2s");
    let lines = wait_events(&ev, "refuse", 1);
    let refuse = lines.iter().find(|l| l["event"] == "refuse").unwrap();
    assert_eq!(refuse["reason"], "tls", "{refuse}");
    assert!(
        refuse["id"].is_u64(),
        "a refuse after an accept has its id: {refuse}"
    );
    let close = lines.iter().find(|l| l["event"] == "close").unwrap();
    assert_eq!(
        (close["bytes_in"].as_u64(), close["bytes_out"].as_u64()),
        (Some(17), Some(10)),
        "application bytes, not TLS records: {close}"
    );
    assert_eq!(close["tls"]["version"], "TLSv1.3", "{close}");
    assert!(
        close["tls"]["cipher"]
            .as_str()
            .unwrap()
            .starts_with("TLS13_")
    );
}

/// `--events` in a mode served on a thread per client (`--echo`): the close line has "tls" and the
/// application bytes (1000 each way; TLS records would be more), and a client that is not TLS at all
/// is a `refuse` with reason tls.
#[test]
fn tls_events_count_application_bytes_and_refuse_a_failed_handshake() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    let (srv, port) = hub(&pki, &["-k", "--echo"], &ev);
    let ca = pki.path("ca.pem");
    let data = pattern(1000, 3);
    let done = run(
        &["connect", "--tls", "--ca", &ca, "localhost", &port],
        &data,
    )
    .ok();
    assert!(done.stdout == data);
    let mut plain = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let lines = wait_events(&ev, "refuse", 1);
    let lines = if lines.iter().any(|l| l["event"] == "close") {
        lines
    } else {
        wait_events(&ev, "close", 1)
    };
    let close = lines.iter().find(|l| l["event"] == "close").unwrap();
    assert_eq!(
        (close["bytes_in"].as_u64(), close["bytes_out"].as_u64()),
        (Some(1000), Some(1000)),
        "{close}"
    );
    assert_eq!(close["tls"]["version"], "TLSv1.3", "{close}");
    assert!(close["tls"].get("alpn").is_some(), "{close}");
    let refuse = lines.iter().find(|l| l["event"] == "refuse").unwrap();
    assert_eq!(refuse["reason"], "tls", "{refuse}");
    drop(srv);
    assert!(
        read_events(&ev)
            .iter()
            .all(|l| l["event"] != "close" || l["tls"].is_object())
    );
}

/// A plain HTTP target: answers every request with `hello over https proxy\n`.
fn web() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            std::thread::spawn(move || {
                conn.set_read_timeout(Some(LIMIT)).unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let body = "hello over https proxy\n";
                let _ = write!(
                    conn,
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// `--proxy-server --tls`: curl through an HTTPS proxy (verified with --proxy-cacert), both an
/// absolute-form GET and a CONNECT tunnel (-p); the events carry the destination and "tls".
#[test]
fn proxy_server_over_tls_serves_curl_as_an_https_proxy() {
    if !have("curl") {
        return;
    }
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    let mut args = served(&pki, "leaf");
    args.extend([
        "--proxy-server".into(),
        "--events".into(),
        ev.display().to_string(),
    ]);
    let (mut srv, port, _) = tls_listen(&strs(&args), In::Null);
    let target = web();
    let url = format!("http://127.0.0.1:{target}/x");
    let proxy = format!("https://localhost:{port}");
    let ca = pki.path("ca.pem");
    for tunnel in [false, true] {
        let mut a = vec![
            "-sS",
            "--max-time",
            "15",
            "--proxy-cacert",
            &ca,
            "-x",
            &proxy,
        ];
        if tunnel {
            a.push("-p");
        }
        a.push(&url);
        let done = Proc::spawn_program("curl", &a, In::Null).finish();
        assert_eq!(
            done.stdout_str(),
            "hello over https proxy\n",
            "{}",
            done.show()
        );
    }
    srv.wait_line_containing("HTTP forward tunnel");
    srv.wait_line_containing("HTTP CONNECT tunnel");
    let lines = wait_events(&ev, "close", 2);
    for l in lines.iter().filter(|l| l["event"] == "close") {
        assert_eq!(l["dest"], format!("127.0.0.1:{target}"), "{l}");
        assert_eq!(l["tls"]["version"], "TLSv1.3", "{l}");
    }
}

/// `--proxy-server --tls -w 0`: a zero handshake deadline closes a silent client at once, as it
/// does without --tls, instead of leaving its TLS handshake with no deadline at all (a zero socket
/// timeout is none).
#[test]
fn a_zero_handshake_deadline_is_not_an_endless_one() {
    let pki = pki();
    let mut args = served(&pki, "leaf");
    args.extend(["--proxy-server", "-w", "0"].map(String::from));
    let (mut srv, port, _) = tls_listen(&strs(&args), In::Null);
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    silent.set_read_timeout(Some(LIMIT)).unwrap();
    let since = Instant::now();
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest);
    assert!(
        since.elapsed() < Duration::from_secs(5),
        "held for {:?}",
        since.elapsed()
    );
    srv.wait_line_containing("TLS handshake: no answer within");
}

/// `-k --tls`: a client that resets its connection mid-session is closed with reason `reset` (its
/// bridge's error carried to the loop), not as a normal end.
#[test]
fn a_bridged_client_reset_is_a_reset() {
    if !have("python3") {
        return;
    }
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    let (mut srv, port) = hub(&pki, &["-k"], &ev);
    let script = "import socket, ssl, struct, sys\n\
        ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')\n\
        s.sendall(b'then a reset\\n')\n\
        sys.stdin.readline()\n\
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n\
        s.close()\n";
    let ca = pki.path("ca.pem");
    let mut peer = Proc::spawn_program("python3", &["-c", script, &port, &ca], In::Pipe);
    assert!(srv.stdout_has_within(b"then a reset\n", LIMIT));
    peer.write(b"go\n");
    let _ = peer.finish();
    let lines = wait_events(&ev, "close", 1);
    let close = lines.iter().find(|l| l["event"] == "close").unwrap();
    assert_eq!(close["reason"], "reset", "{close}");
    srv.wait_line_containing("connection reset by peer");
}

/// `-k --tls` in every mode: a client that stalls mid-handshake waits on the server's loop, not on
/// a thread of its own. 200 of them add no thread, a real client is served meanwhile (its session
/// takes its thread as before), and each mode serves them all (the stalled ones connected first, so
/// all were accepted and had begun their handshake before the real one was served). The proxy
/// server's client asks for a CONNECT tunnel to the same echo target as `--forward`'s.
#[test]
fn stalled_handshakes_cost_no_thread_in_any_mode() {
    use crate::common::runner::status_field;
    let pki = pki();
    let to = format!("127.0.0.1:{}", crate::common::echo_server_thread());
    let modes: [&[&str]; 6] = [
        &["-k", "--echo"],
        &["-k"],
        &["--broker"],
        &["-k", "-c", "cat"],
        &["-k", "--forward", &to],
        &["--proxy-server"],
    ];
    for mode in modes {
        let mut args = served(&pki, "leaf");
        args.extend(mode.iter().map(|s| s.to_string()));
        let (srv, port, _) = tls_listen(&strs(&args), In::Pipe);
        let threads = || status_field(srv.pid(), "Threads:").expect("the server runs");
        let base = threads();
        let stalled: Vec<std::net::TcpStream> = (0..200)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                // The start of a ClientHello record, and nothing more.
                s.write_all(&[0x16, 0x03, 0x01]).unwrap();
                s
            })
            .collect();
        let mut c = client(&pki, &port.to_string());
        if mode == ["--proxy-server"] {
            c.write(format!("CONNECT {to} HTTP/1.1\r\n\r\n").as_bytes());
        }
        c.write(b"served meanwhile\n");
        // `-k` and `--broker` send it to stdout; the others back to the client.
        let served = if mode == ["-k"] || mode == ["--broker"] {
            srv.stdout_has_within(b"served meanwhile\n", LIMIT)
        } else {
            c.stdout_has_within(b"served meanwhile\n", LIMIT)
        };
        assert!(served, "{mode:?}: the real client was not served");
        let during = threads();
        assert!(
            during < base + 10,
            "{mode:?}: {during} threads with 200 stalled handshakes ({base} before)"
        );
        drop(stalled);
    }
}

/// Careless clients of the loop's handshakes: 20 that reset mid-handshake (a ClientHello begun,
/// then SO_LINGER 0) and 20 that close mid-handshake each give their `--max-conns 2` place back,
/// so a real client is still served after them.
#[test]
fn clients_that_leave_mid_handshake_free_their_place() {
    let pki = pki();
    let mut args = served(&pki, "leaf");
    args.extend(["-k", "--echo", "--max-conns", "2"].map(String::from));
    let (srv, port, _) = tls_listen(&strs(&args), In::Null);
    for reset in [true, false] {
        for _ in 0..20 {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(&[0x16, 0x03, 0x01]).unwrap();
            if reset {
                socket2::SockRef::from(&s)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            }
            drop(s);
        }
    }
    // Each left before the next came, but the server may not have seen it yet: the real client
    // retries a refusal (a reset) until its places are free, within the limit.
    let since = Instant::now();
    loop {
        let mut c = client(&pki, &port.to_string());
        c.write(b"after them\n");
        c.close_stdin();
        let done = c.finish();
        if done.stdout == b"after them\n" {
            break;
        }
        assert!(since.elapsed() < LIMIT, "never served: {}", done.show());
    }
    drop(srv);
}

/// A TCP target that reads each connection to its end, then sends it all back and closes: a
/// forwarder must carry the client's half-close to it before anything comes back.
fn echo_after_eof() -> u16 {
    let (listener, port) = crate::common::tcp_listener();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                conn.set_read_timeout(Some(LIMIT)).unwrap();
                let mut all = Vec::new();
                if conn.read_to_end(&mut all).is_ok() {
                    let _ = conn.write_all(&all);
                }
            });
        }
    });
    port
}

/// TLS termination under `-k` (`--tls --forward`), where the loop that ran the handshakes relays the
/// sessions too: 4 clients at once, 4 MiB each way byte-exact through a target that answers only
/// after the client's half-close (the client's close_notify becomes a FIN to the target; the target's
/// FIN becomes close_notify, so each client ends with status 0). The `-v` lines and the events'
/// close lines are those of a session on a thread: what TLS agreed, the plaintext bytes. Both to an
/// address (connected on the loop) and to a name (opened on a thread, then relayed on the loop).
#[test]
fn tls_termination_under_keep_open_is_byte_exact_and_carries_half_closes() {
    let port = echo_after_eof();
    for to in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        tls_termination_round(&to);
    }
}

fn tls_termination_round(to: &str) {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    let (mut srv, port) = hub(&pki, &["-k", "--forward", to], &ev);
    let clients: Vec<_> = (0..4u64)
        .map(|i| {
            let (ca, port) = (ca.clone(), port.clone());
            std::thread::spawn(move || {
                let data = pattern(4 << 20, 40 + i);
                let done = run(
                    &["connect", "--tls", "--ca", &ca, "localhost", &port],
                    &data,
                );
                assert!(
                    done.stdout == data,
                    "client {i}: {} of {} bytes back",
                    done.stdout.len(),
                    data.len()
                );
                done.ok();
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    srv.wait_line_containing(": tls TLSv1.3 TLS13_");
    srv.wait_line_containing(&format!("to {to}"));
    let lines = wait_events(&ev, "close", 4);
    for close in lines.iter().filter(|l| l["event"] == "close") {
        assert_eq!(
            (close["bytes_in"].as_u64(), close["bytes_out"].as_u64()),
            (Some(4 << 20), Some(4 << 20)),
            "{close}"
        );
        assert_eq!(close["tls"]["version"], "TLSv1.3", "{close}");
        assert_eq!(close["dest"], to, "{close}");
    }
}

/// Established TLS sessions cost no thread each in the modes the loop serves them in (`--echo`, `-k`
/// relaying stdin, `--broker`, `--forward` to an address or a name): 30 sockcat clients and the real
/// TLS clients (openssl s_client, ncat --ssl, socat OPENSSL) hold their sessions open at once, each
/// served (echoed, or its line out on stdout), with the server's threads as before they came.
#[test]
fn established_tls_sessions_cost_no_thread() {
    use crate::common::runner::status_field;
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let echo = crate::common::echo_server_thread();
    let (to, to_name) = (format!("127.0.0.1:{echo}"), format!("localhost:{echo}"));
    let modes: [&[&str]; 5] = [
        &["-k", "--echo"],
        &["-k"],
        &["--broker"],
        &["-k", "--forward", &to],
        &["-k", "--forward", &to_name],
    ];
    for (m, mode) in modes.iter().enumerate() {
        let (mut srv, port) = hub(&pki, mode, &dir.path().join(format!("ev{m}")));
        let threads = || status_field(srv.pid(), "Threads:").expect("the server runs");
        let base = threads();
        let mut clients: Vec<(&str, Proc)> =
            (0..30).map(|_| ("sockcat", client(&pki, &port))).collect();
        clients.extend(peers(&pki, &port));
        // `-k` and `--broker` send each line to stdout; the others back to the client.
        let to_stdout = *mode == ["-k"] || *mode == ["--broker"];
        for (i, (name, c)) in clients.iter_mut().enumerate() {
            let line = format!("{name} {i} served\n");
            c.write(line.as_bytes());
            let served = if to_stdout {
                srv.stdout_has_within(line.as_bytes(), LIMIT)
            } else {
                c.stdout_has_within(line.as_bytes(), LIMIT)
            };
            assert!(served, "{mode:?}: {name} {i} not served");
        }
        let during = threads();
        assert!(
            during < base + 5,
            "{mode:?}: {during} threads with {} sessions open ({base} before)",
            clients.len()
        );
        srv.close_stdin();
    }
}

/// Careless TLS clients of `-k --tls --forward`'s sessions on the loop: one whose record fails to
/// decrypt ends its session alone (the error is said with `-v` and is its close reason), and one
/// that half-closes TCP without close_notify has its bytes and its end carried to the target as a
/// FIN (said with `-v`; its close reason `eof`), then gets the target's end; a client after them is
/// served.
#[test]
fn careless_tls_clients_of_a_forwarder_end_only_their_own_session() {
    if !have("python3") {
        return;
    }
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev");
    let (target, tport) = crate::common::tcp_listener();
    let (mut srv, port) = hub(
        &pki,
        &["-k", "--forward", &format!("127.0.0.1:{tport}")],
        &ev,
    );
    let script = "import os, socket, ssl, sys\n\
        ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')\n\
        s.sendall(b'before ' + sys.argv[3].encode() + b'\\n')\n\
        sys.stdin.readline()\n\
        if sys.argv[3] == 'corrupt':\n\
        \x20   os.write(s.fileno(), b'\\x17\\x03\\x03\\x00\\x20' + bytes(32))\n\
        \x20   try:\n\
        \x20       print('ended', s.recv(100))\n\
        \x20   except (ssl.SSLError, OSError) as e:\n\
        \x20       print('ended', e)\n\
        else:\n\
        \x20   socket.socket.shutdown(s, socket.SHUT_WR)\n\
        \x20   while socket.socket.recv(s, 4096):\n\
        \x20       pass\n\
        \x20   print('ended')\n";
    let ca = pki.path("ca.pem");
    target.set_nonblocking(false).unwrap();
    for how in ["corrupt", "unclean"] {
        let mut peer = Proc::spawn_program("python3", &["-c", script, &port, &ca, how], In::Pipe);
        let (mut conn, _) = target.accept().unwrap();
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        let want = format!("before {how}\n");
        let mut got = vec![0u8; want.len()];
        conn.read_exact(&mut got).unwrap();
        assert_eq!(got, want.as_bytes());
        peer.write(b"go\n");
        // Either way the target hears the end: a FIN (unclean) or the pair's close (corrupt).
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest);
        assert!(rest.is_empty(), "{how}: {rest:?}");
        drop(conn);
        let done = peer.finish();
        assert_eq!(done.code, Some(0), "{how}: {}", done.show());
        assert!(done.stdout_str().starts_with("ended"), "{}", done.show());
        if how == "corrupt" {
            srv.wait_line_containing("decrypt");
        } else {
            srv.wait_line_containing("without close_notify");
        }
    }
    let lines = wait_events(&ev, "close", 2);
    let reasons: Vec<_> = lines
        .iter()
        .filter(|l| l["event"] == "close")
        .map(|l| l["reason"].as_str().unwrap_or("?").to_string())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("decrypt")) && reasons.contains(&"eof".to_string()),
        "{reasons:?}"
    );
    // A client after them is served.
    let mut c = client(&pki, &port);
    c.write(b"after them\n");
    let (mut conn, _) = target.accept().unwrap();
    conn.set_read_timeout(Some(LIMIT)).unwrap();
    let mut got = [0u8; 11];
    conn.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"after them\n");
}

/// `--proxy-server --tls` on the loop: tunnels whose TLS handshake, proxy handshake and relay all
/// run on the server's loop. 20 HTTP CONNECT (half of them to `localhost`, a name opened on a
/// short-lived thread) and 20 SOCKS5 tunnels to an echo target, each echoed through and held open at
/// once, cost no thread each; a client that completes its TLS handshake but
/// never asks for a tunnel is closed at `-w` (counted from its TLS handshake's start).
#[test]
fn tls_proxy_tunnels_on_the_loop_cost_no_thread() {
    use crate::common::runner::status_field;
    if !have("python3") {
        return;
    }
    let pki = pki();
    let echo = crate::common::echo_server_thread();
    let mut args = served(&pki, "leaf");
    args.extend(["--proxy-server", "-w", "1"].map(String::from));
    let (srv, port, _) = tls_listen(&strs(&args), In::Null);
    let threads = || status_field(srv.pid(), "Threads:").expect("the server runs");
    let base = threads();
    let script = "import socket, ssl, struct, sys, time\n\
        port, ca, echo = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])\n\
        ctx = ssl.create_default_context(cafile=ca)\n\
        def tls():\n\
        \x20   return ctx.wrap_socket(socket.create_connection(('127.0.0.1', port)), server_hostname='localhost')\n\
        def exact(s, n):\n\
        \x20   b = b''\n\
        \x20   while len(b) < n:\n\
        \x20       got = s.recv(n - len(b))\n\
        \x20       assert got, 'closed'\n\
        \x20       b += got\n\
        \x20   return b\n\
        held = []\n\
        for i in range(40):\n\
        \x20   s = tls()\n\
        \x20   if i % 2:\n\
        \x20       host = b'localhost' if i % 4 == 1 else b'127.0.0.1'\n\
        \x20       s.sendall(b'CONNECT %s:%d HTTP/1.1\\r\\n\\r\\n' % (host, echo))\n\
        \x20       head = b''\n\
        \x20       while not head.endswith(b'\\r\\n\\r\\n'):\n\
        \x20           head += exact(s, 1)\n\
        \x20       assert b' 200' in head.split(b'\\r\\n')[0], head\n\
        \x20   else:\n\
        \x20       s.sendall(b'\\x05\\x01\\x00')\n\
        \x20       assert exact(s, 2) == b'\\x05\\x00'\n\
        \x20       s.sendall(b'\\x05\\x01\\x00\\x01\\x7f\\x00\\x00\\x01' + struct.pack('>H', echo))\n\
        \x20       assert exact(s, 10)[1] == 0\n\
        \x20   line = b'tunnel %d\\n' % i\n\
        \x20   s.sendall(line)\n\
        \x20   assert exact(s, len(line)) == line\n\
        \x20   held.append(s)\n\
        print('ready', flush=True)\n\
        sys.stdin.readline()\n\
        silent = tls()\n\
        t = time.time()\n\
        try:\n\
        \x20   silent.recv(100)\n\
        except OSError:\n\
        \x20   pass\n\
        print('silent closed after %.1f' % (time.time() - t), flush=True)\n";
    let ca = pki.path("ca.pem");
    let (port, echo) = (port.to_string(), echo.to_string());
    let mut py = Proc::spawn_program("python3", &["-c", script, &port, &ca, &echo], In::Pipe);
    assert!(py.stdout_has_within(b"ready\n", LIMIT), "tunnels not up");
    let during = threads();
    assert!(
        during < base + 5,
        "{during} threads with 40 tunnels open ({base} before)"
    );
    py.write(b"go\n");
    let done = py.finish();
    let out = done.stdout_str();
    let secs: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("silent closed after "))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{}", done.show()));
    assert!(
        secs < 5.0,
        "a silent client held on for {secs} s under -w 1"
    );
}

/// A client's first bytes that come in the same segment as the end of its TLS handshake (curl sends
/// its request right after its Finished) are served at once in every mode whose session the loop
/// runs: the handshake's reads took them from the socket, so no event will come for them. The client
/// here holds its Finished back and sends it with its first record in one write.
#[test]
fn first_bytes_with_the_handshakes_end_are_served() {
    if !have("python3") {
        return;
    }
    let pki = pki();
    let to = format!("127.0.0.1:{}", crate::common::echo_server_thread());
    let script = "import socket, ssl, sys\n\
        port, ca, first, want = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]\n\
        first = first.encode().decode('unicode_escape').encode()\n\
        ctx = ssl.create_default_context(cafile=ca)\n\
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()\n\
        obj = ctx.wrap_bio(inc, out, server_hostname='localhost')\n\
        s = socket.create_connection(('127.0.0.1', port))\n\
        s.settimeout(10)\n\
        while True:\n\
        \x20   try:\n\
        \x20       obj.do_handshake()\n\
        \x20       break\n\
        \x20   except ssl.SSLWantReadError:\n\
        \x20       data = out.read()\n\
        \x20       if data:\n\
        \x20           s.sendall(data)\n\
        \x20       got = s.recv(65536)\n\
        \x20       if not got:\n\
        \x20           sys.exit('closed in the handshake')\n\
        \x20       inc.write(got)\n\
        obj.write(first)\n\
        s.sendall(out.read())\n\
        buf = b''\n\
        try:\n\
        \x20   while want.encode() not in buf:\n\
        \x20       try:\n\
        \x20           buf += obj.read(65536)\n\
        \x20       except ssl.SSLWantReadError:\n\
        \x20           got = s.recv(65536)\n\
        \x20           if not got:\n\
        \x20               break\n\
        \x20           inc.write(got)\n\
        except socket.timeout:\n\
        \x20   pass\n\
        print('served' if want.encode() in buf else 'not served: %r' % buf, flush=True)\n";
    let ca = pki.path("ca.pem");
    let connect = format!("CONNECT {to} HTTP/1.1\\r\\n\\r\\n");
    let cases: [(&[&str], &str, &str); 3] = [
        (&["-k", "--echo"], "first bytes\\n", "first bytes"),
        (&["-k", "--forward", &to], "first bytes\\n", "first bytes"),
        (&["--proxy-server"], &connect, " 200 "),
    ];
    for (mode, first, want) in cases {
        let mut args = served(&pki, "leaf");
        args.extend(mode.iter().map(|s| s.to_string()));
        let (_srv, port, _) = tls_listen(&strs(&args), In::Null);
        let port = port.to_string();
        let done = Proc::spawn_program(
            "python3",
            &["-c", script, &port, &ca, first, want],
            In::Null,
        )
        .finish();
        assert_eq!(done.stdout_str(), "served\n", "{mode:?}: {}", done.show());
    }
}

/// A TLS client of `-k --tls --forward` that never reads stalls only itself: the loop stops
/// reading its target once one read's worth waits for it, so the target can send only what the
/// socket buffers take (not all of its 64 MiB), the server's memory stays bounded, and another
/// client is served its 4 MiB meanwhile.
#[test]
fn a_tls_forward_client_that_does_not_read_stalls_only_itself() {
    use crate::common::runner::status_field;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    if !have("python3") {
        return;
    }
    let pki = pki();
    // A target that sends each client up to 64 MiB once it has a line, counting what it sent.
    let (target, tport) = crate::common::tcp_listener();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..2).map(|_| AtomicU64::new(0)).collect());
    let counts = sent.clone();
    std::thread::spawn(move || {
        for (i, conn) in target.incoming().take(2).enumerate() {
            let Ok(mut conn) = conn else { return };
            let counts = counts.clone();
            std::thread::spawn(move || {
                let mut line = [0u8; 1];
                let _ = conn.read(&mut line);
                let block = vec![b'x'; 64 * 1024];
                while counts[i].load(Ordering::Relaxed) < 64 << 20 {
                    if conn.write_all(&block).is_err() {
                        return;
                    }
                    counts[i].fetch_add(block.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    let to = format!("127.0.0.1:{tport}");
    let mut args = served(&pki, "leaf");
    args.extend(["-k", "--forward", &to].map(String::from));
    let (srv, port, _) = tls_listen(&strs(&args), In::Null);
    let port = port.to_string();
    let script = "import socket, ssl, sys\n\
        ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')\n\
        s.sendall(b'x')\n\
        print('in', flush=True)\n\
        sys.stdin.read()\n";
    let ca = pki.path("ca.pem");
    let stalled = Proc::spawn_program("python3", &["-c", script, &port, &ca], In::Pipe);
    assert!(stalled.stdout_has_within(b"in\n", LIMIT));
    // The second client reads its 4 MiB; its target's bytes cross while the first one's are stuck.
    let mut fast = client(&pki, &port);
    fast.write(b"x");
    assert!(
        fast.stdout_len_within(4 << 20, LIMIT),
        "the reading client is stuck"
    );
    // The stalled client's target is blocked once what it sent stops growing: by then it must have
    // sent only what the socket buffers and one queue hold.
    let (mut last, mut since) = (u64::MAX, Instant::now());
    loop {
        let now = sent[0].load(Ordering::Relaxed);
        assert!(
            now < 32 << 20,
            "the stalled client's target could send {} MiB",
            now >> 20
        );
        if now != last {
            (last, since) = (now, Instant::now());
        } else if now > 0 && since.elapsed() > Duration::from_millis(500) {
            break;
        }
        assert!(since.elapsed() < LIMIT, "the target never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let rss = status_field(srv.pid(), "VmRSS:").expect("the server runs");
    assert!(rss < 40 * 1024, "server RSS {rss} KiB");
    drop(stalled);
}
