//! `listen --forward`: concurrent clients byte-exact, half-close carried both ways, a dead target, a
//! Unix target, PROXY protocol headers (exact bytes, and against haproxy both ways),
//! `--accept-proxy-protocol` with the access list. Loopback only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use crate::common::{
    In, LIMIT, Proc, closed_port, connect, free_port, have, pattern, read_all, tcp_listener,
};

/// Starts `sockcat listen -v 127.0.0.1 0 ARGS...` and returns it with its address.
fn sockcat_server(args: &[&str]) -> (Proc, SocketAddr) {
    let mut all = vec!["listen", "-v", "127.0.0.1", "0"];
    all.extend_from_slice(args);
    let mut p = Proc::spawn(&all, In::Null);
    let addr = p.listening();
    (p, addr)
}

/// A sockcat echo server (`listen -k --echo`).
fn echo_server() -> (Proc, SocketAddr) {
    sockcat_server(&["-k", "--echo"])
}

/// Sends `data`, half-closes, reads the answer to EOF.
fn exchange(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let s = connect(addr);
    let mut w = s.try_clone().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || {
        w.write_all(&data).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let got = read_all(&s);
    writer.join().unwrap();
    got
}

/// Sends `data` to a server that is expected to close the connection: what came back before the
/// close (a reset counts as a close: the server did not read everything).
fn refused(addr: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    let _ = s.write_all(data);
    let _ = s.shutdown(Shutdown::Write);
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    got
}

#[test]
fn fifty_concurrent_clients_one_mib_each_byte_exact() {
    let (_echo, target) = echo_server();
    let t = target.to_string();
    let (_fwd, addr) = sockcat_server(&["--forward", &t]);
    let clients: Vec<_> = (0..50u64)
        .map(|i| {
            std::thread::spawn(move || {
                let data = pattern(1 << 20, 100 + i);
                let got = exchange(addr, &data);
                assert!(got == data, "client {i}: {} bytes back, differ", got.len());
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

#[test]
fn half_close_is_carried_both_ways() {
    // Client -> target: the client's FIN reaches the target, whose answer still comes back.
    let (listener, port) = tcp_listener();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(LIMIT)).unwrap();
            let mut first = [0u8; 1];
            s.read_exact(&mut first).unwrap();
            if first[0] == b'A' {
                // Read to EOF, then answer.
                let rest = read_all(&s);
                s.write_all(format!("got {} bytes", rest.len() + 1).as_bytes())
                    .unwrap();
            } else {
                // Send and half-close first, then keep reading what the client still sends.
                s.write_all(b"early words").unwrap();
                s.shutdown(Shutdown::Write).unwrap();
                let rest = read_all(&s);
                tx.send(rest).unwrap();
            }
        }
    });
    let target = format!("127.0.0.1:{port}");
    let (_fwd, addr) = sockcat_server(&["--forward", &target]);
    assert_eq!(exchange(addr, b"Ahello"), b"got 6 bytes");

    // Target -> client: the target's FIN reaches the client, whose later bytes still get through.
    let mut s = connect(addr);
    s.write_all(b"B").unwrap();
    let mut early = [0u8; 11];
    s.read_exact(&mut early).unwrap();
    assert_eq!(&early, b"early words");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "EOF after the target's half-close");
    s.write_all(b" and late ones").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), b" and late ones");
}

#[test]
fn a_dead_target_closes_the_client_and_the_server_goes_on() {
    let dead = format!("127.0.0.1:{}", closed_port());
    let (mut fwd, addr) = sockcat_server(&["--forward", &dead]);
    for _ in 0..2 {
        let started = Instant::now();
        let s = connect(addr);
        let mut buf = [0u8; 16];
        let n = (&s).read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "nothing from a dead target");
        assert!(started.elapsed() < Duration::from_secs(5));
        fwd.wait_line_containing("connection refused");
    }
    assert!(fwd.exited().is_none(), "the server went on");
}

#[test]
fn a_unix_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let p = path.to_str().unwrap();
    let mut echo = Proc::spawn(&["listen", "-v", "-k", "--echo", "--unix", p], In::Null);
    echo.wait_line("listening on");
    let target = format!("unix:{p}");
    let (_fwd, addr) = sockcat_server(&["--forward", &target]);
    let data = pattern(300_000, 9);
    assert!(exchange(addr, &data) == data);
}

/// Reads what the target got first: the PROXY header of `len` bytes (and nothing else yet).
fn target_sees(version: &str, len: Option<usize>) -> (Vec<u8>, u16, SocketAddr) {
    let (listener, port) = tcp_listener();
    let target = format!("127.0.0.1:{port}");
    let (_fwd, addr) = sockcat_server(&["--forward", &target, "--proxy-protocol", version]);
    let client = connect(addr);
    let client_port = client.local_addr().unwrap().port();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut got = Vec::new();
    match len {
        Some(n) => {
            got.resize(n, 0);
            s.read_exact(&mut got).unwrap();
        }
        None => {
            let mut b = [0u8; 1];
            while !got.ends_with(b"\r\n") {
                s.read_exact(&mut b).unwrap();
                got.push(b[0]);
            }
        }
    }
    drop(client);
    (got, client_port, addr)
}

#[test]
fn proxy_protocol_headers_exact_bytes() {
    let (v1, cport, fwd) = target_sees("v1", None);
    assert_eq!(
        String::from_utf8(v1).unwrap(),
        format!("PROXY TCP4 127.0.0.1 127.0.0.1 {cport} {}\r\n", fwd.port())
    );
    let (v2, cport, fwd) = target_sees("v2", Some(28));
    let mut want = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\x7f\x00\x00\x01\x7f\x00\x00\x01".to_vec();
    want.extend_from_slice(&cport.to_be_bytes());
    want.extend_from_slice(&fwd.port().to_be_bytes());
    assert_eq!(v2, want);
}

#[test]
fn accept_proxy_protocol_uses_the_header_source_for_the_acl() {
    let (_echo, target) = echo_server();
    let t = target.to_string();
    // The real peer is 127.0.0.1, which --allow does not admit; the header's 127.0.0.5 is admitted.
    let (mut fwd, addr) = sockcat_server(&[
        "--forward",
        &t,
        "--accept-proxy-protocol",
        "--allow",
        "127.0.0.5",
    ]);
    let header = b"PROXY TCP4 127.0.0.5 127.0.0.1 4000 80\r\n";
    let got = exchange(addr, &[&header[..], b"payload"].concat());
    assert_eq!(got, b"payload", "the header is not forwarded, the data is");
    fwd.wait_line_containing("the client is 127.0.0.5:4000");

    // A header naming another source is refused, and so is a client without a header.
    let got = refused(addr, b"PROXY TCP4 127.0.0.6 127.0.0.1 4000 80\r\npayload");
    assert!(got.is_empty());
    fwd.wait_line_containing("refused 127.0.0.6:4000: not allowed");
    let got = refused(addr, b"GET / HTTP/1.0\r\n\r\n");
    assert!(got.is_empty());
    fwd.wait_line_containing("invalid PROXY protocol header");
}

#[test]
fn a_client_without_its_header_is_closed_after_five_seconds() {
    let (_echo, target) = echo_server();
    let t = target.to_string();
    let (mut fwd, addr) = sockcat_server(&["--forward", &t, "--accept-proxy-protocol"]);
    let started = Instant::now();
    let s = connect(addr);
    assert!(read_all(&s).is_empty());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(15),
        "{took:?}"
    );
    fwd.wait_line_containing("no PROXY protocol header within 5s");
}

fn haproxy(dir: &std::path::Path, body: &str) -> Proc {
    let conf = format!(
        "global\n  log stderr format raw local0 info\n\
         defaults\n  mode tcp\n  log global\n  option tcplog\n  timeout connect 5s\n  \
         timeout client 30s\n  timeout server 30s\n{body}"
    );
    let path = dir.join(format!("haproxy-{}.cfg", body.len()));
    std::fs::write(&path, conf).unwrap();
    Proc::spawn_program("haproxy", &["-db", "-f", path.to_str().unwrap()], In::Null)
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + LIMIT;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn haproxy_send_proxy_v2_into_accept_proxy_protocol() {
    if !have("haproxy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_echo, target) = echo_server();
    let t = target.to_string();
    let (mut fwd, addr) = sockcat_server(&["--forward", &t, "--accept-proxy-protocol"]);
    let front = free_port();
    let _ha = haproxy(
        dir.path(),
        &format!(
            "frontend fe\n  bind 127.0.0.1:{front}\n  default_backend be\n\
             backend be\n  server s1 {addr} send-proxy-v2\n"
        ),
    );
    wait_port(front);
    let client = connect(([127, 0, 0, 1], front).into());
    let cport = client.local_addr().unwrap().port();
    let mut w = client.try_clone().unwrap();
    w.write_all(b"through haproxy").unwrap();
    w.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_all(&client), b"through haproxy");
    // sockcat saw the real client's port, not haproxy's outgoing one.
    fwd.wait_line_containing(&format!("the client is 127.0.0.1:{cport}"));
}

#[test]
fn proxy_protocol_v2_into_an_haproxy_accept_proxy_frontend() {
    if !have("haproxy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_echo, target) = echo_server();
    let front = free_port();
    let mut ha = haproxy(
        dir.path(),
        &format!(
            "frontend fe\n  bind 127.0.0.1:{front} accept-proxy\n  default_backend be\n\
             backend be\n  server s1 {target}\n"
        ),
    );
    wait_port(front);
    let f = format!("127.0.0.1:{front}");
    let (_fwd, addr) = sockcat_server(&["--forward", &f, "--proxy-protocol", "v2"]);
    let client = connect(addr);
    let cport = client.local_addr().unwrap().port();
    let mut w = client.try_clone().unwrap();
    w.write_all(b"into haproxy").unwrap();
    w.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_all(&client), b"into haproxy");
    // haproxy's log names the client from our header.
    ha.wait_line_containing(&format!("127.0.0.1:{cport}"));
}

#[test]
fn the_outgoing_leg_through_a_proxy() {
    let (_echo, target) = echo_server();
    let (mut proxy, paddr) = sockcat_server(&["--proxy-server"]);
    let url = format!("socks5://{paddr}");
    let t = target.to_string();
    let (_fwd, addr) = sockcat_server(&["--forward", &t, "--proxy", &url]);
    let data = pattern(200_000, 5);
    assert!(exchange(addr, &data) == data);
    proxy.wait_line_containing(&format!("SOCKS5 tunnel to {t}"));
}

#[test]
fn events_name_the_destination() {
    let (_echo, target) = echo_server();
    let t = target.to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let f = file.to_str().unwrap();
    let (_fwd, addr) = sockcat_server(&["--forward", &t, "--events", f]);
    assert_eq!(exchange(addr, b"12345"), b"12345");
    let deadline = Instant::now() + LIMIT;
    let close = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("\"close\"")) {
            break line.to_string();
        }
        assert!(Instant::now() < deadline, "no close event: {text}");
        std::thread::sleep(Duration::from_millis(10));
    };
    let doc: serde_json::Value = serde_json::from_str(&close).unwrap();
    assert_eq!(doc["dest"], t.as_str(), "{close}");
    assert_eq!(doc["bytes_in"], 5, "{close}");
    assert_eq!(doc["bytes_out"], 5, "{close}");
    assert_eq!(doc["reason"], "eof", "{close}");
}
