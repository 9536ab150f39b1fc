//! A tunnel through `listen --proxy-server` or `--forward` asks the kernel for no address it already
//! has: the client's came with accept(2); the address it connected to is asked for only by what names
//! it (a SOCKS5 reply's BND, a PROXY protocol header), and a destination found connected is not asked
//! for its error as well. Counted with strace (getpeername, getsockname, getsockopt); a machine where
//! strace may not trace skips. The bounds leave room for connects that are not done at once (each
//! asks one getpeername and one getsockopt more).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::runner::wait_listening;
use crate::common::{In, LIMIT, Proc, bin, free_port, have, tcp_listener};

/// How many tunnels each server is counted over.
const N: usize = 20;

/// Is strace installed (required under CI) and allowed to trace here?
fn can_trace() -> bool {
    if !have("strace") {
        return false;
    }
    let ok = Command::new("strace")
        .args(["-f", "-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping: strace cannot trace here");
    }
    ok
}

/// `sockcat ARGS` (a server listening on `port`) under strace, the calls written to `log`.
fn traced(args: &[&str], port: u16, log: &Path) -> Proc {
    let sockcat = bin();
    let mut argv = vec![
        "-f",
        "-qq",
        "-e",
        "trace=getpeername,getsockname,getsockopt",
        "-o",
        log.to_str().unwrap(),
        sockcat.to_str().unwrap(),
    ];
    argv.extend_from_slice(args);
    let mut p = Proc::spawn_program("strace", &argv, In::Null);
    wait_listening(port, &mut p, LIMIT).unwrap();
    p
}

/// Ends the traced server (strace blocks signals, so its child is sent SIGTERM) and counts its calls
/// by name.
fn calls(p: Proc, log: &Path) -> [(&'static str, usize); 3] {
    let pid = p.pid();
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    for child in children.split_whitespace() {
        let _ = Command::new("kill").args(["-TERM", child]).status();
    }
    p.finish();
    let text = std::fs::read_to_string(log).unwrap();
    ["getpeername", "getsockname", "getsockopt"].map(|name| {
        let call = format!(" {name}(");
        (name, text.lines().filter(|l| l.contains(&call)).count())
    })
}

/// A target that greets each client and closes.
fn target() -> u16 {
    let (listener, port) = tcp_listener();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let _ = conn.write_all(b"hi\n");
        }
    });
    port
}

fn client(port: u16) -> TcpStream {
    let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(LIMIT)).unwrap();
    c
}

/// Through the proxy server: CONNECT (or SOCKS5) to the target, its greeting, the end.
fn tunnel(port: u16, target: u16, socks: bool) {
    let mut c = client(port);
    let want: &[u8] = if socks {
        c.write_all(&[5, 1, 0]).unwrap();
        let mut req = vec![5, 1, 0, 1, 127, 0, 0, 1];
        req.extend_from_slice(&target.to_be_bytes());
        c.write_all(&req).unwrap();
        b"\x05\x00"
    } else {
        c.write_all(format!("CONNECT 127.0.0.1:{target} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        b"HTTP/1.1 200 "
    };
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert!(got.starts_with(want), "{got:?}");
    assert!(got.ends_with(b"hi\n"), "{got:?}");
}

#[test]
fn proxy_server_tunnels_ask_only_what_a_reply_names() {
    if !can_trace() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let t = target();
    // Not -v: its lines name each destination's address, which is asked for them.
    let port = free_port();
    let p = traced(&["listen", "--proxy-server", &port.to_string()], port, &log);
    for _ in 0..N {
        tunnel(port, t, false);
        tunnel(port, t, true);
    }
    let [(_, peer), (_, local), (_, error)] = calls(p, &log);
    let shown = format!(
        "{N} HTTP CONNECT and {N} SOCKS5 tunnels: {peer} getpeername, {local} getsockname, {error} getsockopt"
    );
    // One getsockname per SOCKS5 reply and one for the listening line; none per HTTP tunnel nor per
    // accepted client.
    assert!(local <= N + 1, "{shown}");
    // One getpeername per destination (is it connected?), none per accepted client.
    assert!(peer < 3 * N, "{shown}");
    assert!(error < N, "{shown}");
}

#[test]
fn forwarded_clients_ask_only_whether_the_target_is_connected() {
    if !can_trace() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let t = format!("127.0.0.1:{}", target());
    let port = free_port();
    let p = traced(
        &[
            "listen",
            "-v",
            "127.0.0.1",
            &port.to_string(),
            "--forward",
            &t,
        ],
        port,
        &log,
    );
    for _ in 0..N {
        let mut c = client(port);
        c.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hi\n");
    }
    let [(_, peer), (_, local), (_, error)] = calls(p, &log);
    let shown = format!("{N} clients: {peer} getpeername, {local} getsockname, {error} getsockopt");
    assert!(local < N, "{shown}");
    assert!(peer < 2 * N, "{shown}");
    assert!(error < N, "{shown}");
}
