//! `listen --forward tls://HOST:PORT` (issue 17): TLS origination on the outgoing leg, verified by
//! `--forward-ca`, `--forward-pin` or not at all (`--forward-insecure`), against `openssl s_server`
//! on loopback; a target that fails verification costs only its client.

use crate::common::{In, LIMIT, Proc, have, run};
use crate::tls::pki;
use crate::tls_client::{pin_of_localhost, s_server_by_sni};

/// `sockcat listen -v -k 127.0.0.1 0 --forward ENDPOINT ARGS... --events -`: the server and its
/// address.
fn forwarder(endpoint: &str, args: &[&str]) -> (Proc, std::net::SocketAddr) {
    let mut all = vec!["listen", "-v", "--events", "-", "127.0.0.1", "0"];
    all.extend_from_slice(&["--forward", endpoint]);
    all.extend_from_slice(args);
    let mut p = Proc::spawn(&all, In::Null);
    let addr = p.listening();
    (p, addr)
}

/// A plain TCP client of the forwarder: sends a line, then reads until `want` came (or EOF).
fn through(addr: std::net::SocketAddr, line: &[u8], server: &mut Proc, want: &[u8]) {
    use std::io::{Read, Write};
    let mut c = crate::common::connect(addr);
    c.set_read_timeout(Some(LIMIT)).unwrap();
    c.write_all(line).unwrap();
    assert!(
        server.stdout_has_within(line, LIMIT),
        "the target never got {line:?}"
    );
    server.write(want);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(want.len()).any(|w| w == want) {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => panic!("the client got {got:?}, not {want:?}"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn forward_tls_originates_verified_tls_to_openssl_s_server() {
    if !have("openssl") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (mut server, port) = s_server_by_sni(&pki);
    // tls://localhost: verified against --forward-ca and the name localhost, which is also the SNI
    // (without it s_server would show other.example's certificate and the check would fail).
    let endpoint = format!("tls://localhost:{port}");
    let (mut fwd, addr) = forwarder(&endpoint, &["--forward-ca", &ca]);
    through(addr, b"plain in\n", &mut server, b"tls out\n");
    fwd.wait_line_containing(&format!("to {endpoint}: tls TLSv1.3"));
    let close = fwd.wait_line_containing(r#""event":"close""#);
    assert!(
        close.contains(&format!(r#""dest":"{endpoint}""#)),
        "{close}"
    );

    // --forward-pin: the key decides, no CA needed.
    let pin = pin_of_localhost(&pki, &port.to_string());
    let (_fwd, addr) = forwarder(&endpoint, &["--forward-pin", &pin]);
    through(addr, b"pinned in\n", &mut server, b"pinned out\n");

    // --forward-insecure: no check, said once on stderr with the pin, not once per client.
    let (mut fwd, addr) = forwarder(&endpoint, &["--forward-insecure"]);
    through(addr, b"insecure 1\n", &mut server, b"insecure out 1\n");
    through(addr, b"insecure 2\n", &mut server, b"insecure out 2\n");
    let warning = fwd.wait_line_containing("not verified");
    assert!(
        warning.contains(&pin) && warning.contains("--forward-insecure"),
        "{warning}"
    );
    fwd.wait_line_containing(r#""event":"close""#);
    fwd.wait_line_containing(r#""event":"close""#);
    fwd.signal("TERM");
    let done = fwd.finish();
    assert_eq!(
        done.stderr.matches("not verified").count(),
        1,
        "{}",
        done.show()
    );
}

/// A CA of its own, unrelated to the test PKI's: PEM in `dir/wrong-ca.pem`.
fn wrong_ca(dir: &std::path::Path) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = ca.self_signed(&key).unwrap();
    let path = dir.join("wrong-ca.pem");
    std::fs::write(&path, cert.pem()).unwrap();
    path.display().to_string()
}

#[test]
fn forward_tls_with_the_wrong_ca_closes_the_client_says_why_and_keeps_serving() {
    use std::io::{Read, Write};
    if !have("openssl") {
        return;
    }
    let pki = pki();
    let (server, port) = s_server_by_sni(&pki);
    let dir = tempfile::tempdir().unwrap();
    let wrong = wrong_ca(dir.path());
    let endpoint = format!("tls://localhost:{port}");
    let (mut fwd, addr) = forwarder(&endpoint, &["--forward-ca", &wrong]);
    for i in 0..2 {
        let mut c = crate::common::connect(addr);
        c.set_read_timeout(Some(LIMIT)).unwrap();
        let _ = c.write_all(b"never delivered\n");
        let mut got = Vec::new();
        // Closed: EOF (or a reset, as the client's bytes were never read).
        let _ = c.read_to_end(&mut got);
        assert!(got.is_empty(), "client {i} got {got:?}");
        let why = fwd.wait_line_containing("TLS handshake");
        assert!(
            why.contains(&format!(
                "forward to {endpoint}: TLS handshake: unknown issuer"
            )),
            "{why}"
        );
        let close = fwd.wait_line_containing(r#""event":"close""#);
        assert!(close.contains("unknown issuer"), "{close}");
        assert!(
            close.contains(&format!(r#""dest":"{endpoint}""#)),
            "{close}"
        );
    }
    // The server goes on: still running after both, and nothing reached the target.
    assert!(fwd.exited().is_none(), "the forwarder ended");
    assert!(!server.stdout_has_within(b"never delivered", std::time::Duration::ZERO));
}

#[test]
fn forward_tls_options_need_a_tls_target() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    for (flag, value) in [
        ("--forward-ca", ca.as_str()),
        (
            "--forward-pin",
            "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ),
    ] {
        run(
            &[
                "listen",
                "127.0.0.1",
                "0",
                "--forward",
                "127.0.0.1:9",
                flag,
                value,
            ],
            b"",
        )
        .code(2)
        .one_error_line(&format!(
            "{flag} needs a tls://HOST:PORT --forward endpoint"
        ));
    }
    run(
        &[
            "listen",
            "127.0.0.1",
            "0",
            "--forward",
            "tls://localhost:9",
            "--forward-ca",
            "/nonexistent/ca.pem",
        ],
        b"",
    )
    .code(2)
    .one_error_line("/nonexistent/ca.pem");
}

#[test]
fn tls_in_tls_out_and_the_outgoing_leg_through_a_proxy() {
    if !have("openssl") || !have("microsocks") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (mut server, port) = s_server_by_sni(&pki);
    let endpoint = format!("tls://localhost:{port}");

    // --tls with a tls:// target: the client's session is terminated, a new one originated; the
    // client trusts the forwarder's self-signed certificate by its pin.
    let mut fwd = Proc::spawn(
        &[
            "listen",
            "-v",
            "--tls",
            "127.0.0.1",
            "0",
            "--forward",
            &endpoint,
            "--forward-ca",
            &ca,
        ],
        In::Null,
    );
    let addr = fwd.listening();
    let pin = fwd.wait_line("tls pin ")["tls pin ".len()..].to_string();
    let port_in = addr.port().to_string();
    let mut client = Proc::spawn(
        &[
            "connect",
            "-v",
            "--tls",
            "--pin",
            &pin,
            "127.0.0.1",
            &port_in,
        ],
        In::Pipe,
    );
    client.wait_line("tls TLSv1.3");
    client.write(b"re-encrypted\n");
    assert!(server.stdout_has_within(b"re-encrypted\n", LIMIT));
    server.write(b"and back\n");
    assert!(client.stdout_has_within(b"and back\n", LIMIT));
    fwd.wait_line_containing(&format!("to {endpoint}: tls TLSv1.3"));
    drop(client);

    // --proxy: the outgoing leg goes through microsocks, and TLS runs inside the tunnel to the
    // target (SNI localhost, else s_server would show other.example and the check would fail).
    let (_ms, ms_port) = crate::proxy::microsocks(&[]);
    let url = format!("socks5://127.0.0.1:{ms_port}");
    let (mut fwd, addr) = forwarder(&endpoint, &["--forward-ca", &ca, "--proxy", &url, "-4"]);
    through(addr, b"via socks\n", &mut server, b"via socks back\n");
    fwd.wait_line_containing(&format!("to {endpoint}: tls TLSv1.3"));
}

/// `-k --forward tls://` relays on the server's loop once each target is open (the connect and the
/// TLS handshake run on a short-lived thread): 30 plain clients and 10 TLS clients (`--tls` in,
/// `tls://` out: two sessions per pair) held open at once through a sockcat TLS echo target add no
/// thread each; then 4 plain clients at once send 4 MiB each and get it back byte-exact, ending with
/// status 0 (the client's FIN becomes close_notify and a FIN to the target, whose close_notify
/// comes back as a FIN).
#[test]
fn tls_origination_on_the_loop_costs_no_thread_and_is_byte_exact() {
    use crate::common::runner::status_field;
    use crate::tls::{served, strs, tls_listen};
    use std::io::{Read, Write};
    let pki = pki();
    let ca = pki.path("ca.pem");
    let mut args = served(&pki, "leaf");
    args.extend(["-k", "--echo"].map(String::from));
    let (_target, tport, _) = tls_listen(&strs(&args), In::Null);
    let endpoint = format!("tls://localhost:{tport}");
    for tls_in in [false, true] {
        let mut extra = vec!["-k", "--forward-ca", &ca];
        if tls_in {
            extra.push("--tls");
        }
        let (fwd, addr) = forwarder(&endpoint, &extra);
        let threads = || status_field(fwd.pid(), "Threads:").expect("the forwarder runs");
        let base = threads();
        let mut held = Vec::new();
        if tls_in {
            for i in 0..10 {
                let port = addr.port().to_string();
                let mut c = Proc::spawn(
                    &["connect", "--tls", "--insecure", "127.0.0.1", &port],
                    In::Pipe,
                );
                let line = format!("tls client {i}\n");
                c.write(line.as_bytes());
                assert!(
                    c.stdout_has_within(line.as_bytes(), LIMIT),
                    "tls client {i}"
                );
                held.push(c);
            }
        } else {
            let mut plain = Vec::new();
            for i in 0..30 {
                let mut c = crate::common::connect(addr);
                c.set_read_timeout(Some(LIMIT)).unwrap();
                let line = format!("plain client {i}\n");
                c.write_all(line.as_bytes()).unwrap();
                let mut got = vec![0u8; line.len()];
                c.read_exact(&mut got).unwrap();
                assert_eq!(got, line.as_bytes());
                plain.push(c);
            }
            let during = threads();
            assert!(
                during < base + 5,
                "{during} threads with 30 clients ({base} before)"
            );
            drop(plain);
            let port = addr.port().to_string();
            let clients: Vec<_> = (0..4u64)
                .map(|i| {
                    let port = port.clone();
                    std::thread::spawn(move || {
                        let data = crate::common::pattern(4 << 20, 60 + i);
                        let done = run(&["connect", "127.0.0.1", &port], &data).ok();
                        assert!(
                            done.stdout == data,
                            "client {i}: {} of {} bytes back",
                            done.stdout.len(),
                            data.len()
                        );
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            continue;
        }
        let during = threads();
        assert!(
            during < base + 5,
            "{during} threads with 10 TLS clients ({base} before)"
        );
    }
}
