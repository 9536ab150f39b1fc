//! `sendfile --tls` on both sides (issue 16): sockcat to sockcat with and without `--verify`, a
//! self-signed receiver trusted by its pin, mutual TLS, and real peers (socat OPENSSL and
//! `ncat --ssl` as senders, `openssl s_server` as a receiver). Loopback only; certificates from
//! `tls::pki`.

use std::net::SocketAddr;
use std::path::Path;

use crate::common::{In, LIMIT, Proc, have, pattern, run, write_file};
use crate::proxy::free_port;
use crate::tls::{Pki, pki};

/// `sockcat sendfile --receive -v --tls ARGS... 127.0.0.1 0`: the receiver, its address and the pin
/// of its certificate.
fn tls_receiver(args: &[&str]) -> (Proc, SocketAddr, String) {
    let mut all = vec!["sendfile", "--receive", "-v", "--tls"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["127.0.0.1", "0"]);
    let mut p = Proc::spawn(&all, In::Null);
    let addr = p.listening();
    let pin = p.wait_line("tls pin ")["tls pin ".len()..].to_string();
    (p, addr, pin)
}

fn cert_args(pki: &Pki, name: &str) -> [String; 4] {
    [
        "--cert".into(),
        pki.path(&format!("{name}.pem")),
        "--key".into(),
        pki.path(&format!("{name}.key")),
    ]
}

fn file(dir: &Path, name: &str, len: usize, seed: u64) -> (String, Vec<u8>) {
    let data = pattern(len, seed);
    let path = write_file(dir, name, &data);
    (path.display().to_string(), data)
}

/// The `HEX  NAME` digest line of a `--verify -v` side.
fn digest_line(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| {
            l.len() > 66
                && l.as_bytes()[64] == b' '
                && l[..64].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .unwrap_or_else(|| panic!("no digest line in {stderr}"))[..64]
        .to_string()
}

#[test]
fn sockcat_to_sockcat_verified_by_pin_and_by_ca_with_and_without_verify() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let (src, data) = file(dir.path(), "payload.bin", 3 << 20, 41);
    let rx = dir.path().join("rx");
    std::fs::create_dir(&rx).unwrap();
    let rx_s = rx.display().to_string();

    // --verify into a directory; the receiver's certificate is self-signed, trusted by its pin.
    let (receiver, addr, pin) = tls_receiver(&["--verify", "-o", &rx_s]);
    let port = addr.port().to_string();
    let sent = run(
        &[
            "sendfile",
            "-v",
            "--tls",
            "--pin",
            &pin,
            "--verify",
            &src,
            "127.0.0.1",
            &port,
        ],
        b"",
    )
    .ok();
    let got = receiver.finish().ok();
    assert!(got.stderr.contains("tls TLSv1.3"), "{}", got.show());
    assert!(sent.stderr.contains("tls TLSv1.3"), "{}", sent.show());
    assert_eq!(digest_line(&sent.stderr), digest_line(&got.stderr));
    assert!(std::fs::read(rx.join("payload.bin")).unwrap() == data);

    // Plain, the receiver's certificate from the test CA, tls://HOST:PORT on the sender: -o FILE.
    let out = dir.path().join("plain.out");
    let out_s = out.display().to_string();
    let mut args: Vec<String> = cert_args(&pki, "leaf").into();
    args.extend(["-o".into(), out_s]);
    let (receiver, addr, _) = tls_receiver(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let url = format!("tls://localhost:{}", addr.port());
    let ca = pki.path("ca.pem");
    run(&["sendfile", "--ca", &ca, &src, &url], b"").ok();
    let got = receiver.finish().ok();
    assert!(!got.stderr.contains("warning"), "{}", got.show());
    assert!(std::fs::read(&out).unwrap() == data);
}

#[test]
fn a_failed_verification_is_status_1_on_both_sides_and_leaves_no_file() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let (src, _) = file(dir.path(), "x.bin", 100_000, 42);
    let out = dir.path().join("never.out");
    let out_s = out.display().to_string();
    let (receiver, addr, _) = tls_receiver(&["-o", &out_s]);
    let port = addr.port().to_string();
    // The self-signed receiver is not signed by the test CA.
    let ca = pki.path("ca.pem");
    run(
        &["sendfile", "--tls", "--ca", &ca, &src, "127.0.0.1", &port],
        b"",
    )
    .code(1)
    .one_error_line("TLS handshake");
    receiver.finish().code(1).last_error_line("TLS handshake");
    assert!(!out.exists(), "a file was left");
}

#[test]
fn mutual_tls_with_client_ca() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let (src, data) = file(dir.path(), "m.bin", 200_000, 43);
    let ca = pki.path("ca.pem");
    let out = dir.path().join("m.out");
    let out_s = out.display().to_string();
    let mut args: Vec<String> = cert_args(&pki, "leaf").into();
    args.extend(["--client-ca".into(), ca.clone(), "-o".into(), out_s.clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // Without a client certificate: refused.
    let (receiver, addr, _) = tls_receiver(&args);
    let port = addr.port().to_string();
    let refused = run(
        &["sendfile", "--tls", "--ca", &ca, &src, "localhost", &port],
        b"",
    );
    assert_eq!(refused.code, Some(1), "{}", refused.show());
    receiver.finish().code(1);
    assert!(!out.exists());

    // With one that chains to --client-ca: received.
    let (receiver, addr, _) = tls_receiver(&args);
    let port = addr.port().to_string();
    let client = cert_args(&pki, "client");
    let mut send = vec!["sendfile", "--tls", "--ca", &ca];
    send.extend(client.iter().map(String::as_str));
    send.extend_from_slice(&[&src, "localhost", &port]);
    run(&send, b"").ok();
    receiver.finish().ok();
    assert!(std::fs::read(&out).unwrap() == data);
}

#[test]
fn socat_and_ncat_senders_and_an_openssl_s_server_receiver() {
    if !have("socat") || !have("ncat") || !have("openssl") {
        return;
    }
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let (src, data) = file(dir.path(), "peer.bin", 1 << 20, 44);
    let served = cert_args(&pki, "leaf");
    let served: Vec<&str> = served.iter().map(String::as_str).collect();

    // socat ends with close_notify: received quietly.
    let out = dir.path().join("socat.out");
    let out_s = out.display().to_string();
    let mut args = served.clone();
    args.extend_from_slice(&["-o", &out_s]);
    let (receiver, addr, _) = tls_receiver(&args);
    let to = format!("OPENSSL:127.0.0.1:{},verify=0", addr.port());
    let from = format!("FILE:{src}");
    let socat = Proc::spawn_program("socat", &["-u", &from, &to], In::Null);
    socat.finish().ok();
    let got = receiver.finish().ok();
    assert!(!got.stderr.contains("warning"), "{}", got.show());
    assert!(std::fs::read(&out).unwrap() == data);

    // ncat --ssl closes TCP without close_notify: every byte is kept, with a warning (status 0).
    let out = dir.path().join("ncat.out");
    let out_s = out.display().to_string();
    let mut args = served.clone();
    args.extend_from_slice(&["-o", &out_s]);
    let (receiver, addr, _) = tls_receiver(&args);
    let port = addr.port().to_string();
    let ncat = Proc::spawn_program(
        "ncat",
        &["--ssl", "--send-only", "127.0.0.1", &port],
        In::File(src.clone().into()),
    );
    ncat.finish().ok();
    let got = receiver.finish().ok();
    assert!(
        got.stderr.contains("without TLS close_notify"),
        "{}",
        got.show()
    );
    assert!(std::fs::read(&out).unwrap() == data);

    // sendfile --tls into openssl s_server: verified, byte-exact on its stdout.
    let port = free_port();
    let accept = format!("127.0.0.1:{port}");
    let (leaf, key) = (pki.path("leaf.pem"), pki.path("leaf.key"));
    let server = Proc::spawn_program(
        "openssl",
        &[
            "s_server", "-quiet", "-accept", &accept, "-cert", &leaf, "-key", &key,
        ],
        In::Pipe,
    );
    crate::proxy::wait_port(port);
    let ca = pki.path("ca.pem");
    let port = port.to_string();
    run(
        &["sendfile", "--tls", "--ca", &ca, &src, "localhost", &port],
        b"",
    )
    .ok();
    assert!(
        server.stdout_has_within(&data, LIMIT),
        "s_server did not get the file"
    );
}

#[test]
fn tls_options_on_the_wrong_side_are_usage_errors() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    run(
        &[
            "sendfile",
            "--receive",
            "--tls",
            "--pin",
            "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "0",
        ],
        b"",
    )
    .code(2)
    .one_error_line("--pin is for the sending side");
    run(
        &[
            "sendfile",
            "--tls",
            "--client-ca",
            &ca,
            &ca,
            "127.0.0.1",
            "9",
        ],
        b"",
    )
    .code(2);
    run(&["sendfile", "--receive", "--client-ca", &ca, "0"], b"")
        .code(2)
        .one_error_line("--client-ca needs --tls");
}

#[test]
fn sendfile_tls_through_proxies_is_verified_end_to_end() {
    if !have("microsocks") {
        return;
    }
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let (src, data) = file(dir.path(), "proxied.bin", 1 << 20, 45);
    let ca = pki.path("ca.pem");
    let served = cert_args(&pki, "leaf");
    let served: Vec<&str> = served.iter().map(String::as_str).collect();

    // Plain, through microsocks (socks5:// with -4: localhost is resolved here to 127.0.0.1, and is
    // still the name the receiver's certificate is checked against inside the tunnel).
    let out = dir.path().join("plain.out");
    let out_s = out.display().to_string();
    let mut args = served.clone();
    args.extend_from_slice(&["-o", &out_s]);
    let (receiver, addr, _) = tls_receiver(&args);
    let (_ms, ms_port) = crate::proxy::microsocks(&[]);
    let url = format!("socks5://127.0.0.1:{ms_port}");
    let port = addr.port().to_string();
    let sent = run(
        &[
            "sendfile",
            "-v",
            "-4",
            "--tls",
            "--ca",
            &ca,
            "--proxy",
            &url,
            &src,
            "localhost",
            &port,
        ],
        b"",
    )
    .ok();
    assert!(sent.stderr.contains("through socks5://"), "{}", sent.show());
    receiver.finish().ok();
    assert!(std::fs::read(&out).unwrap() == data);

    // --verify needs the receiver's answer after the sender's half-close: through sockcat's own
    // proxy server, which carries a half-close (microsocks and ncat end a tunnel at the first FIN).
    let rx = dir.path().join("rx");
    std::fs::create_dir(&rx).unwrap();
    let rx_s = rx.display().to_string();
    let mut args = served.clone();
    args.extend_from_slice(&["--verify", "-o", &rx_s]);
    let (receiver, addr, _) = tls_receiver(&args);
    let mut proxy = Proc::spawn(
        &["listen", "-v", "--proxy-server", "127.0.0.1", "0"],
        In::Null,
    );
    let url = format!("socks5h://{}", proxy.listening());
    let port = addr.port().to_string();
    run(
        &[
            "sendfile",
            "--tls",
            "--ca",
            &ca,
            "--proxy",
            &url,
            "--verify",
            &src,
            "localhost",
            &port,
        ],
        b"",
    )
    .ok();
    receiver.finish().ok();
    assert!(std::fs::read(rx.join("proxied.bin")).unwrap() == data);
}
