//! `--proxy http://`: the CONNECT reply header is read through its blank line and not a byte further,
//! however the proxy's bytes arrive: with the tunnel's first bytes in the same write, in small pieces
//! cut inside the `\r\n\r\n`, or too long (the same error as ever). The proxy is written here: it
//! answers what the test says and never connects anywhere.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::common::{LIMIT, run, tcp_listener};

/// The tunnel's first bytes, as a server that speaks first (SSH) would send them.
const BANNER: &[u8] = b"SSH-2.0-OpenSSH_9.6 banner\r\n";

/// Bytes sockcat has not read yet on its socket from `local` (its port) to `remote` (the proxy's), from
/// /proc/net/tcp (rx_queue); None when the socket is not there.
fn unread(local: u16, remote: u16) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port = |col: &str| {
        col.rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    text.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 || port(cols[1]) != Some(local) || port(cols[2]) != Some(remote) {
            return None;
        }
        u64::from_str_radix(cols[4].split(':').nth(1)?, 16).ok()
    })
}

/// Waits until sockcat has read everything sent to it so far, so that the next piece arrives on its
/// own (an event, not a pause: it fails only if sockcat never reads what came).
fn wait_read(conn: &TcpStream, proxy_port: u16) {
    let local = conn.peer_addr().unwrap().port();
    let deadline = Instant::now() + LIMIT;
    while unread(local, proxy_port).is_some_and(|n| n > 0) {
        assert!(Instant::now() < deadline, "sockcat left the piece unread");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A proxy for one client: it reads the CONNECT request, sends `pieces` one write each (after the
/// client has read the one before), half-closes and reads until the client closes. Returns its port
/// and the request it got.
fn proxy(pieces: Vec<Vec<u8>>) -> (u16, Receiver<String>) {
    let (listener, port) = tcp_listener();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        conn.set_nodelay(true).unwrap();
        let mut request = Vec::new();
        let mut b = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") && conn.read_exact(&mut b).is_ok() {
            request.push(b[0]);
        }
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                wait_read(&conn, port);
            }
            if conn.write_all(piece).is_err() {
                break;
            }
        }
        let _ = conn.shutdown(Shutdown::Write);
        let mut rest = Vec::new();
        let _ = conn.read_to_end(&mut rest);
        let _ = tx.send(String::from_utf8_lossy(&request).into_owned());
    });
    (port, rx)
}

fn connect_through(port: u16) -> crate::common::Done {
    let url = format!("http://127.0.0.1:{port}");
    run(&["connect", "--proxy", &url, "127.0.0.1", "9"], b"")
}

fn request_of(rx: &Receiver<String>) -> String {
    rx.recv_timeout(LIMIT).expect("the proxy saw no client")
}

#[test]
fn the_tunnels_first_bytes_in_the_replys_write_reach_stdout() {
    let (port, rx) = proxy(vec![
        [b"HTTP/1.1 200 Connection established\r\n\r\n", BANNER].concat(),
    ]);
    let done = connect_through(port).ok();
    assert_eq!(done.stdout, BANNER, "{}", done.show());
    assert_eq!(
        request_of(&rx),
        "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n"
    );
}

#[test]
fn a_reply_in_pieces_cut_inside_its_blank_line() {
    let status = b"HTTP/1.1 200 Connection established\r\n\r\n";
    let mut cuts: Vec<Vec<Vec<u8>>> = vec![
        // Cut inside \r\n\r\n, and the last piece carries the tunnel's first bytes.
        vec![
            b"HTTP/1.1 200 Connection established\r".to_vec(),
            b"\n\r".to_vec(),
            [b"\n", BANNER].concat(),
        ],
        vec![
            b"HTTP/1.1 200 OK\r\nProxy-agent: test\r\n\r".to_vec(),
            [b"\n", BANNER].concat(),
        ],
        // A bare \n\n end, cut between the two.
        vec![
            b"H".to_vec(),
            b"TTP/1.0 200 OK\n".to_vec(),
            [b"\n", BANNER].concat(),
        ],
    ];
    // And the blank line one byte at a time (each piece waits for sockcat to read the one before, and
    // that wait reads /proc/net/tcp, which is long while the rest of the suite holds thousands of
    // sockets: a piece per byte of the whole reply took over 20 s there).
    let (line, blank) = status.split_at(status.len() - 4);
    let mut bytes: Vec<Vec<u8>> = vec![line.to_vec()];
    bytes.extend(blank.iter().map(|&b| vec![b]));
    bytes.push(BANNER.to_vec());
    cuts.push(bytes);
    for pieces in cuts {
        let shown = format!("{pieces:?}");
        let (port, rx) = proxy(pieces);
        let done = connect_through(port).ok();
        assert_eq!(done.stdout, BANNER, "{shown}\n{}", done.show());
        assert!(request_of(&rx).starts_with("CONNECT 127.0.0.1:9 HTTP/1.1\r\n"));
    }
}

#[test]
fn an_over_long_or_cut_reply_is_the_same_error_as_ever() {
    // 64 KiB and more without a blank line, in two pieces.
    let mut first = b"HTTP/1.1 200 OK\r\n".to_vec();
    first.extend(std::iter::repeat_n(b'a', 40_000));
    let (port, _rx) = proxy(vec![first, vec![b'a'; 30_000]]);
    let done = connect_through(port)
        .code(1)
        .one_error_line("http proxy: reply header longer than 64 KiB");
    assert!(done.stdout.is_empty(), "{}", done.show());

    let (port, _rx) = proxy(vec![b"HTTP/1.1 200 OK\r\n\r".to_vec()]);
    connect_through(port)
        .code(1)
        .one_error_line("http proxy: the proxy closed the connection in the middle of its reply");
    let (port, _rx) = proxy(vec![]);
    connect_through(port)
        .code(1)
        .one_error_line("http proxy: the proxy closed the connection without a reply");
}
