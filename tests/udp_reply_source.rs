//! Replies of a UDP receiver bound to a wildcard address leave from the address each client sent to
//! (IP_PKTINFO / IPV6_PKTINFO), under `--echo`, `--reply` and `--forward`: a client with a connected
//! socket (the kernel drops datagrams from any other source) that sent to 127.0.0.2 gets its reply
//! from 127.0.0.2, not from the first local address. Loopback only.

use std::net::{SocketAddr, UdpSocket};

use crate::common::{In, LIMIT, Proc, have_ipv6};

/// A UDP socket on 127.0.0.1 connected to 127.0.0.2:`port`: it receives only what comes from there.
fn client_of_second_address(port: u16) -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.connect(("127.0.0.2", port)).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s
}

/// Sends `data` and returns the reply (a reply from another source never arrives).
fn ask(s: &UdpSocket, data: &[u8]) -> Vec<u8> {
    s.send(data).unwrap();
    let mut buf = vec![0u8; 65536];
    let n = s
        .recv(&mut buf)
        .expect("no reply from 127.0.0.2 (a reply from another address is dropped)");
    buf.truncate(n);
    buf
}

fn echo_from_the_address_sent_to(bind: &[&str]) {
    let mut args = vec!["udp-recv", "-v", "--echo"];
    args.extend_from_slice(bind);
    let mut p = Proc::spawn(&args, In::Null);
    let port = p.port();
    let c = client_of_second_address(port);
    assert_eq!(ask(&c, b"ping"), b"ping");
    // And the first address still gets its replies from itself.
    let c1 = UdpSocket::bind("127.0.0.1:0").unwrap();
    c1.connect(("127.0.0.1", port)).unwrap();
    c1.set_read_timeout(Some(LIMIT)).unwrap();
    assert_eq!(ask(&c1, b"pong"), b"pong");
}

#[test]
fn echo_on_0_0_0_0_answers_from_the_address_sent_to() {
    echo_from_the_address_sent_to(&["0.0.0.0", "0"]);
}

#[test]
fn echo_on_the_dual_stack_wildcard_answers_from_the_address_sent_to() {
    if !have_ipv6() {
        return;
    }
    // No address: [::], dual-stack (an IPv4 client's datagrams arrive as IPv4-mapped).
    echo_from_the_address_sent_to(&["0"]);
}

#[test]
fn reply_on_0_0_0_0_answers_from_the_address_sent_to() {
    let mut p = Proc::spawn(&["udp-recv", "-v", "--reply", "0.0.0.0", "0"], In::Pipe);
    let port = p.port();
    let c = client_of_second_address(port);
    c.send(b"hello\n").unwrap();
    assert!(p.stdout_has_within(b"hello\n", LIMIT), "nothing received");
    p.write(b"answer\n");
    let mut buf = vec![0u8; 64];
    let n = c
        .recv(&mut buf)
        .expect("no reply from 127.0.0.2 (a reply from another address is dropped)");
    assert_eq!(&buf[..n], b"answer\n");
}

#[test]
fn forward_on_0_0_0_0_answers_from_the_address_sent_to() {
    let target = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target_addr: SocketAddr = target.local_addr().unwrap();
    target.set_read_timeout(Some(LIMIT * 2)).unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = target.recv_from(&mut buf) {
            let _ = target.send_to(&buf[..n], from);
        }
    });
    let fwd = target_addr.to_string();
    let mut p = Proc::spawn(
        &["udp-recv", "-v", "0.0.0.0", "0", "--forward", &fwd],
        In::Null,
    );
    let port = p.port();
    let c = client_of_second_address(port);
    assert_eq!(ask(&c, b"through"), b"through");
    // The next reply of the same session, too.
    assert_eq!(ask(&c, b"again"), b"again");
}
