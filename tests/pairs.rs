//! `listen --forward` pairs relayed on the server's own loop (no thread per pair): a pair whose
//! client stops reading stalls only itself, `-i` ends an idle pair, `--max-conns` frees a place when
//! a pair ends. Loopback only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::mpsc::channel;
use std::time::Duration;

use crate::common::{In, LIMIT, Proc, connect, pattern, read_all, tcp_listener};

fn forwarder(args: &[&str]) -> (Proc, SocketAddr) {
    let mut all = vec!["listen", "-v", "127.0.0.1", "0"];
    all.extend_from_slice(args);
    let mut p = Proc::spawn(&all, In::Null);
    let addr = p.listening();
    (p, addr)
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

#[test]
fn a_client_that_does_not_read_stalls_only_its_own_pair() {
    let (listener, port) = tcp_listener();
    let (stalled_tx, stalled_rx) = channel();
    std::thread::spawn(move || {
        // The first connection gets more than everything between it and its client can hold; the
        // flood ends (FIN) once a write has waited half a second: everything on the way is full.
        let (mut s, _) = listener.accept().unwrap();
        std::thread::spawn(move || {
            // Read what the client sent: closing with unread bytes would be a reset, not a FIN.
            s.read_exact(&mut [0u8; 1]).unwrap();
            let chunk = pattern(1 << 20, 7);
            s.set_write_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut sent = 0usize;
            loop {
                let at = sent % chunk.len();
                match s.write(&chunk[at..]) {
                    Ok(n) => sent += n,
                    Err(_) => break,
                }
            }
            stalled_tx.send(sent).unwrap();
        });
        // The others are echoed.
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut r = s.try_clone().unwrap();
                let _ = std::io::copy(&mut r, &mut s);
                let _ = s.shutdown(Shutdown::Write);
            });
        }
    });
    let target = format!("127.0.0.1:{port}");
    let (_fwd, addr) = forwarder(&["--forward", &target]);
    let mut slow = connect(addr);
    slow.write_all(b"x").unwrap();
    let sent = stalled_rx.recv_timeout(LIMIT).expect("the flood stalled");
    // Another pair goes on meanwhile, both ways.
    let data = pattern(1 << 20, 3);
    assert!(exchange(addr, &data) == data, "the other pair's echo");
    // The stalled client then gets every byte, in order, and the end.
    slow.set_read_timeout(Some(LIMIT)).unwrap();
    let mut got = Vec::new();
    slow.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), sent);
    let chunk = pattern(1 << 20, 7);
    assert!(
        got.chunks(chunk.len()).all(|c| c == &chunk[..c.len()]),
        "the flood arrived intact"
    );
}

#[test]
fn an_idle_pair_is_closed_after_i_and_frees_its_max_conns_place() {
    let (listener, port) = tcp_listener();
    let (eof_tx, eof_rx) = channel();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { return };
            let eof_tx = eof_tx.clone();
            std::thread::spawn(move || {
                s.set_read_timeout(Some(LIMIT)).unwrap();
                let got = read_all(&s);
                let _ = eof_tx.send(got);
            });
        }
    });
    let target = format!("127.0.0.1:{port}");
    let (mut fwd, addr) = forwarder(&["-i", "1s", "--max-conns", "1", "--forward", &target]);
    let mut c = connect(addr);
    c.write_all(b"ping").unwrap();
    c.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(c.read(&mut buf).unwrap_or(0), 0, "closed, nothing sent");
    fwd.wait_line_containing("idle timeout");
    // The target saw what was sent, then the end.
    assert_eq!(eof_rx.recv_timeout(LIMIT).unwrap(), b"ping");
    // The one place is free again: a second client gets through.
    let mut c = connect(addr);
    c.write_all(b"pong").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(eof_rx.recv_timeout(LIMIT).unwrap(), b"pong");
}

/// A SOCKS5 CONNECT to 127.0.0.1:`port` through the proxy at `proxy`.
fn socks5(proxy: SocketAddr, port: u16) -> std::net::TcpStream {
    let mut c = connect(proxy);
    c.set_read_timeout(Some(LIMIT)).unwrap();
    c.write_all(&[5, 1, 0]).unwrap();
    let mut method = [0u8; 2];
    c.read_exact(&mut method).unwrap();
    assert_eq!(method, [5, 0]);
    let mut req = vec![5, 1, 0, 1, 127, 0, 0, 1];
    req.extend_from_slice(&port.to_be_bytes());
    c.write_all(&req).unwrap();
    let mut reply = [0u8; 10];
    c.read_exact(&mut reply).unwrap();
    assert_eq!(reply[1], 0, "socks5 reply");
    c
}

#[test]
fn a_proxy_tunnel_carries_half_close_both_ways_and_idles_out() {
    let (listener, port) = tcp_listener();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                s.set_read_timeout(Some(LIMIT)).unwrap();
                let mut first = [0u8; 1];
                if s.read_exact(&mut first).is_err() {
                    return;
                }
                match first[0] {
                    // Read to EOF, then answer.
                    b'A' => {
                        let rest = read_all(&s);
                        let _ = s.write_all(format!("got {} bytes", rest.len() + 1).as_bytes());
                    }
                    // Answer and half-close first, then read what still comes.
                    b'B' => {
                        s.write_all(b"early words").unwrap();
                        s.shutdown(Shutdown::Write).unwrap();
                        let _ = tx.send(read_all(&s));
                    }
                    // Say nothing: the proxy's -i ends the tunnel.
                    _ => {
                        let _ = tx.send(read_all(&s));
                    }
                }
            });
        }
    });
    let (mut proxy, addr) = forwarder(&["-k", "-i", "1s", "--proxy-server"]);

    let mut a = socks5(addr, port);
    a.write_all(b"Ahello").unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_all(&a), b"got 6 bytes");

    let mut b = socks5(addr, port);
    b.write_all(b"B").unwrap();
    let mut early = [0u8; 11];
    b.read_exact(&mut early).unwrap();
    assert_eq!(&early, b"early words");
    assert!(
        read_all(&b).is_empty(),
        "EOF after the destination's half-close"
    );
    b.write_all(b" and late ones").unwrap();
    b.shutdown(Shutdown::Write).unwrap();
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), b" and late ones");

    let mut c = socks5(addr, port);
    c.write_all(b"C").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(c.read(&mut buf).unwrap_or(0), 0, "closed, nothing sent");
    proxy.wait_line_containing("idle timeout");
    assert_eq!(rx.recv_timeout(LIMIT).unwrap(), b"");
}

#[test]
fn proxy_handshakes_on_the_loop_refusals_pipelined_bytes_and_a_split_greeting() {
    use crate::common::closed_port;
    let (listener, port) = tcp_listener();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut r = s.try_clone().unwrap();
                let _ = std::io::copy(&mut r, &mut s);
                let _ = s.shutdown(Shutdown::Write);
            });
        }
    });
    let (_proxy, addr) = forwarder(&["-k", "--proxy-server"]);

    // SOCKS5 to a closed port: the reply says "connection refused" (5).
    let mut c = connect(addr);
    c.set_read_timeout(Some(LIMIT)).unwrap();
    let mut req = vec![5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1];
    req.extend_from_slice(&closed_port().to_be_bytes());
    c.write_all(&req).unwrap();
    let mut got = [0u8; 12];
    c.read_exact(&mut got).unwrap();
    assert_eq!(got[..2], [5, 0], "method reply");
    assert_eq!(got[2..4], [5, 5], "refused: {got:?}");

    // HTTP CONNECT to a closed port: 502.
    let mut c = connect(addr);
    c.set_read_timeout(Some(LIMIT)).unwrap();
    let closed = closed_port();
    write!(c, "CONNECT 127.0.0.1:{closed} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let text = String::from_utf8_lossy(&read_all(&c)).into_owned();
    assert!(text.starts_with("HTTP/1.1 502"), "{text}");

    // Greeting, request and payload in one write: the payload reaches the destination after the
    // handshake, and comes back.
    let mut c = connect(addr);
    c.set_read_timeout(Some(LIMIT)).unwrap();
    let mut all = vec![5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1];
    all.extend_from_slice(&port.to_be_bytes());
    all.extend_from_slice(b"pipelined");
    c.write_all(&all).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let got = read_all(&c);
    assert_eq!(got[..2], [5, 0]);
    assert_eq!(got[2..4], [5, 0], "succeeded");
    assert_eq!(&got[12..], b"pipelined");

    // An HTTP CONNECT request arriving a byte at a time.
    let mut c = connect(addr);
    c.set_nodelay(true).unwrap();
    c.set_read_timeout(Some(LIMIT)).unwrap();
    let request = format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n");
    for b in request.as_bytes() {
        c.write_all(&[*b]).unwrap();
    }
    let mut head = [0u8; 39];
    c.read_exact(&mut head).unwrap();
    assert_eq!(&head[..], b"HTTP/1.1 200 Connection established\r\n\r\n");
    c.write_all(b"after").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_all(&c), b"after");
}
