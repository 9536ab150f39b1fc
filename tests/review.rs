//! Defects found by using the new server modes and TLS as a careless or hostile user would: each test
//! failed before its fix. Loopback only.

use crate::common::{In, Proc, connect, have, run};
use std::io::{Read, Write};
use std::net::TcpListener;

/// Binds a TCP socket on every address (`0.0.0.0`), listens, passes it as systemd socket activation
/// does (fd 3, LISTEN_PID, LISTEN_FDS) and execs sockcat with `args`.
const WILDCARD_LAUNCHER: &str = "import os,socket,sys\n\
s=socket.socket(); s.bind(('0.0.0.0',0)); s.listen(16)\n\
os.dup2(s.fileno(),3); os.set_inheritable(3,True)\n\
os.environ.update(LISTEN_PID=str(os.getpid()),LISTEN_FDS='1',LISTEN_FDNAMES='x.socket')\n\
os.execv(sys.argv[1],sys.argv[1:])\n";

fn activated_on_every_address(args: &[&str]) -> Proc {
    let bin = crate::common::bin();
    let mut all = vec!["-c", WILDCARD_LAUNCHER, bin.to_str().unwrap()];
    all.extend_from_slice(args);
    Proc::spawn_program("python3", &all, In::Null)
}

#[test]
fn systemd_proxy_server_on_every_address_is_not_an_open_proxy() {
    if !have("python3") {
        return;
    }
    // The socket it did not bind is held to the rule of the one it binds: status 2, nothing served.
    let done = activated_on_every_address(&["listen", "--systemd", "--proxy-server"]).finish();
    assert_eq!(done.code, Some(2), "{}", done.show());
    assert!(done.stderr.contains("open proxy"), "{}", done.show());
    // With --allow it is the user's choice, and it serves.
    let mut p = activated_on_every_address(&[
        "listen",
        "--systemd",
        "--proxy-server",
        "-v",
        "--allow",
        "127.0.0.1",
    ]);
    p.wait_line("listening on ");
    assert!(p.exited().is_none(), "it should serve with --allow");
}

/// A target that sends without end to every client.
fn endless_target() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let chunk = vec![b'x'; 64 * 1024];
                while s.write_all(&chunk).is_ok() {}
            });
        }
    });
    port
}

/// The close event's reason (and the -v line) blame the end that went away.
fn close_reason(p: &mut Proc) -> String {
    let line = p.wait_line_containing("\"event\":\"close\"");
    let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
    doc["reason"].as_str().unwrap_or_default().to_string()
}

/// A client that has sent all it had (FIN), reads a little and leaves (a reset: it leaves unread
/// bytes), so the server's next send to it fails.
fn leave_mid_transfer(addr: std::net::SocketAddr) {
    let mut c = connect(addr);
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = [0u8; 10_000];
    c.read_exact(&mut got).unwrap();
    drop(c);
}

#[test]
fn a_client_that_leaves_mid_transfer_is_not_blamed_on_the_target() {
    let port = endless_target();
    let target = format!("127.0.0.1:{port}");
    let mut fwd = Proc::spawn(
        &[
            "listen",
            "-v",
            "--events",
            "-",
            "127.0.0.1",
            "0",
            "--forward",
            &target,
        ],
        In::Null,
    );
    let addr = fwd.listening();
    leave_mid_transfer(addr);
    let reason = close_reason(&mut fwd);
    assert!(
        !reason.contains(&target) && (reason == "reset" || reason.starts_with("client")),
        "the client left, yet the reason is {reason:?}"
    );

    // The proxy server, the same way.
    let mut proxy = Proc::spawn(
        &["listen", "-v", "--events", "-", "--proxy-server", "0"],
        In::Null,
    );
    let paddr = proxy.listening();
    let mut c = connect(paddr);
    // SOCKS5, no authentication, CONNECT 127.0.0.1:port.
    c.write_all(&[5, 1, 0]).unwrap();
    let mut hello = [0u8; 2];
    c.read_exact(&mut hello).unwrap();
    let mut req = vec![5, 1, 0, 1, 127, 0, 0, 1];
    req.extend_from_slice(&port.to_be_bytes());
    c.write_all(&req).unwrap();
    let mut reply = [0u8; 10];
    c.read_exact(&mut reply).unwrap();
    assert_eq!(reply[1], 0, "SOCKS5 reply {reply:?}");
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = [0u8; 10_000];
    c.read_exact(&mut got).unwrap();
    drop(c);
    let reason = close_reason(&mut proxy);
    assert!(
        !reason.contains(&target) && (reason == "reset" || reason.starts_with("client")),
        "the client left, yet the reason is {reason:?}"
    );
}

#[test]
fn a_ca_certificate_served_as_a_leaf_is_refused_in_words() {
    if !have("openssl") {
        return;
    }
    // What `openssl req -x509` makes by default: a self-signed certificate with CA:TRUE.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj"])
        .args(["/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let mut server = Proc::spawn(
        &[
            "listen",
            "-v",
            "--tls",
            "--cert",
            c,
            "--key",
            k,
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let port = server.port().to_string();
    let done = run(&["connect", "--tls", "--ca", c, "localhost", &port], b"")
        .code(1)
        .one_error_line("certificate");
    // No Rust Debug dump (`Other(OtherError(CaUsedAsEndEntity))`) in the user's error line.
    assert!(
        !done.stderr.contains('(') && done.stderr.contains("ca used as end entity"),
        "{}",
        done.show()
    );
}

#[test]
fn a_target_that_cannot_be_reached_is_named_in_the_close_event() {
    let target = format!("127.0.0.1:{}", crate::common::closed_port());
    let mut fwd = Proc::spawn(
        &[
            "listen",
            "-v",
            "--events",
            "-",
            "127.0.0.1",
            "0",
            "--forward",
            &target,
        ],
        In::Null,
    );
    let addr = fwd.listening();
    let _ = crate::common::read_all(connect(addr));
    let line = fwd.wait_line_containing("\"event\":\"close\"");
    let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(doc["dest"], target.as_str(), "{line}");
}
