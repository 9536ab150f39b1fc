//! How forwarded pairs end when a peer misbehaves (an adversarial review of the loop's pairs and the
//! thread-per-client relay): a client that resets mid-transfer must not leave its pair, its target
//! connection and its `--max-conns` place held for ever. Loopback only.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::channel;
use std::time::Duration;

use crate::common::{In, LIMIT, Proc, connect, tcp_listener};

/// Resets `s` (SO_LINGER 0, then close: an RST, not a FIN).
fn reset(s: TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

/// A client of `listen --forward HOST:PORT --max-conns 1` resets after its first bytes reached the
/// target. The target hears the end (its read ends) and the one place is free again for a second
/// client. `hold`: the target keeps its socket open after the end (the pair must end without it).
fn client_reset_ends_the_pair(host: &str, hold: bool) {
    let (listener, port) = tcp_listener();
    let (got_tx, got_rx) = channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            s.set_read_timeout(Some(LIMIT)).unwrap();
            let mut n = 0usize;
            let mut buf = vec![0u8; 64 * 1024];
            let mut first = true;
            let end = loop {
                match s.read(&mut buf) {
                    Ok(0) => break "eof",
                    Ok(k) => {
                        n += k;
                        if first {
                            first = false;
                            let _ = got_tx.send((n, "started"));
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break "timed out",
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break "timed out",
                    Err(_) => break "reset",
                }
            };
            let _ = got_tx.send((n, end));
            if hold {
                held.push(s);
            }
        }
    });
    let target = format!("{host}:{port}");
    let mut fwd = Proc::spawn(
        &[
            "listen",
            "-v",
            "127.0.0.1",
            "0",
            "--max-conns",
            "1",
            "--forward",
            &target,
        ],
        In::Null,
    );
    let addr = fwd.listening();
    let mut c = connect(addr);
    c.write_all(&[b'x'; 100_000]).unwrap();
    assert_eq!(got_rx.recv_timeout(LIMIT).unwrap().1, "started");
    reset(c);
    let (_, end) = got_rx.recv_timeout(LIMIT).unwrap();
    assert_ne!(
        end, "timed out",
        "the target never heard that its client reset"
    );
    fwd.wait_line_containing("client: connection reset by peer");
    // The place is free: a second client gets through.
    let mut c = connect(addr);
    c.write_all(b"pong").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(got_rx.recv_timeout(LIMIT).unwrap(), (4, "started"));
    assert_eq!(got_rx.recv_timeout(LIMIT).unwrap(), (4, "eof"));
}

#[test]
fn a_client_reset_ends_its_pair_on_the_loop_even_if_the_target_holds_on() {
    client_reset_ends_the_pair("127.0.0.1", true);
}

#[test]
fn a_client_reset_reaches_the_target_of_a_threaded_pair() {
    // A name to resolve: the pair gets a thread and the blocking relay.
    client_reset_ends_the_pair("localhost", false);
}

/// A listener whose accept queue is full (backlog 0, one connection never accepted): the kernel drops
/// further SYNs, so a connect to it stays under way.
fn unanswering_target() -> (socket2::Socket, TcpStream, u16) {
    use socket2::{Domain, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    l.listen(0).unwrap();
    let port = l.local_addr().unwrap().as_socket().unwrap().port();
    let filler = connect(([127, 0, 0, 1], port).into());
    (l, filler, port)
}

#[test]
fn a_client_that_resets_while_its_target_is_connecting_frees_its_place_at_once() {
    let (_listener, _filler, port) = unanswering_target();
    let target = format!("127.0.0.1:{port}");
    let mut fwd = Proc::spawn(
        &[
            "listen",
            "-v",
            "127.0.0.1",
            "0",
            "--max-conns",
            "1",
            "--forward",
            &target,
        ],
        In::Null,
    );
    let addr = fwd.listening();
    let c = connect(addr);
    let me = c.local_addr().unwrap();
    // Its pair is started: the target's connect is under way (and stays so).
    fwd.wait_line_containing(&format!("forwarding {me} to"));
    reset(c);
    // Without -w, the kernel gives up on the connect only after minutes of SYN retries.
    fwd.wait_line_containing(&format!("{me}: client: connection reset by peer"));
    let c = connect(addr);
    let me = c.local_addr().unwrap();
    let line = fwd.wait_line_containing(&me.to_string());
    assert!(line.starts_with("connection from"), "{line}");
    fwd.wait_line_containing(&format!("forwarding {me} to"));
}

/// The `close` event of a pair counts every byte relayed to the client, also those still on their
/// way when the pair ended: a client with a small receive window reads only after the event.
#[test]
fn the_close_event_counts_bytes_still_on_their_way_to_the_client() {
    const N: usize = 256 * 1024;
    let (listener, port) = tcp_listener();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&crate::common::pattern(N, 3)).unwrap();
        // Closed after the client's FIN: nothing unread, a FIN and not a reset.
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let _ = s.read(&mut [0u8; 1]);
    });
    let target = format!("127.0.0.1:{port}");
    let mut fwd = Proc::spawn(
        &[
            "listen",
            "-v",
            "--events",
            "-",
            // Room for everything in the server's send queue while the client reads nothing.
            "--sockopt",
            "SO_SNDBUF=1048576",
            "127.0.0.1",
            "0",
            "--forward",
            &target,
        ],
        In::Null,
    );
    let addr = fwd.listening();
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    let c = TcpStream::from(sock);
    c.shutdown(Shutdown::Write).unwrap();
    let line = fwd.wait_line_containing(r#""event":"close""#);
    let close: serde_json::Value = serde_json::from_str(&line).unwrap();
    c.set_read_timeout(Some(LIMIT)).unwrap();
    assert_eq!(crate::common::read_all(&c).len(), N);
    assert_eq!(close["bytes_out"].as_u64(), Some(N as u64), "{close}");
    assert_eq!(close["bytes_in"].as_u64(), Some(0), "{close}");
}

/// A peer that takes connections and never says a word (a SOCKS proxy or a TLS server that never
/// replies): the listener and the connections it holds, and its port.
fn silent_peer() -> (u16, std::sync::mpsc::Sender<()>) {
    let (listener, port) = tcp_listener();
    let (stop_tx, stop_rx) = channel::<()>();
    std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let mut held = Vec::new();
        loop {
            if let Ok((s, _)) = listener.accept() {
                held.push(s);
            }
            match stop_rx.recv_timeout(Duration::from_millis(20)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        }
    });
    (port, stop_tx)
}

/// A client of `listen --forward TARGET --max-conns 1 -w 120` (TARGET served on a client's thread)
/// resets while its target is still connecting (or, for a proxy or TLS, still in its handshake):
/// its thread gives up at once, the `close` event says `reset`, and the one place is free for a
/// second client long before `-w`.
fn a_reset_while_connecting_frees_the_place(target: &str, extra: &[&str]) {
    let mut args = vec![
        "listen",
        "-v",
        "--events",
        "-",
        "-w",
        "120",
        "127.0.0.1",
        "0",
        "--max-conns",
        "1",
        "--forward",
        target,
    ];
    args.extend_from_slice(extra);
    let mut fwd = Proc::spawn(&args, In::Null);
    let addr = fwd.listening();
    let c = connect(addr);
    let me = c.local_addr().unwrap();
    // Admitted, and its target named: the connect (or handshake) is under way and stays so.
    let line = fwd.wait_line_containing(r#""event":"accept""#);
    assert!(line.contains(&me.to_string()), "{line}");
    let started = std::time::Instant::now();
    reset(c);
    let line = fwd.wait_line_containing(r#""event":"close""#);
    assert!(line.contains(r#""reason":"reset""#), "{line}");
    let c = connect(addr);
    let me = c.local_addr().unwrap();
    let line = fwd.wait_line_containing(&me.to_string());
    assert!(line.starts_with("connection from"), "{line}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_reset_while_a_named_target_connects_frees_the_place_at_once() {
    let (_listener, _filler, port) = unanswering_target();
    a_reset_while_connecting_frees_the_place(&format!("localhost:{port}"), &["-4"]);
}

#[test]
fn a_reset_while_a_unix_target_connects_frees_the_place_at_once() {
    use socket2::{Domain, SockAddr, Socket, Type};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.sock");
    // Backlog 0 and one connection never accepted: a further connect waits for room.
    let l = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    l.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    l.listen(0).unwrap();
    let filler = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    filler.connect(&SockAddr::unix(&path).unwrap()).unwrap();
    a_reset_while_connecting_frees_the_place(&format!("unix:{}", path.display()), &[]);
    drop((l, filler));
}

#[test]
fn a_reset_while_a_tls_target_handshakes_frees_the_place_at_once() {
    let (port, _stop) = silent_peer();
    a_reset_while_connecting_frees_the_place(
        &format!("tls://127.0.0.1:{port}"),
        &["--forward-insecure"],
    );
}

#[test]
fn a_reset_while_a_proxy_answers_nothing_frees_the_place_at_once() {
    let (port, _stop) = silent_peer();
    let proxy = format!("socks5://127.0.0.1:{port}");
    a_reset_while_connecting_frees_the_place("127.0.0.1:9", &["--proxy", &proxy]);
}
