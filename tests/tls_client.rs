//! TLS on the client side beyond a plain `connect --tls` (issues 16, 17, 18): TLS end to end through
//! `--proxy` chains, TLS origination by `listen --forward tls://`, `connect -e/-c --tls`,
//! `sendfile --tls` and `sockopt --connect --tls`. The peers are real (openssl s_server/s_client,
//! microsocks, tinyproxy, ncat), on loopback; the certificates are made by `tls::pki` in a tempdir.

use crate::common::{In, LIMIT, Proc, have, run};
use crate::proxy::{free_port, microsocks, tinyproxy, wait_port};
use crate::tls::{Pki, pki};

/// `openssl s_server` on 127.0.0.1 that picks its certificate by SNI: `leaf` (localhost, 127.0.0.1)
/// for a client that sends `localhost`, `other` (other.example) for any other client, and so for one
/// that sends no SNI. A client that verifies against localhost succeeds only if its SNI was
/// `localhost`. Its stdin is a pipe: what the test writes goes to the client.
fn s_server_by_sni(pki: &Pki) -> (Proc, u16) {
    let port = free_port();
    let accept = format!("127.0.0.1:{port}");
    let (leaf, key) = (pki.path("leaf.pem"), pki.path("leaf.key"));
    let (other, other_key) = (pki.path("other.pem"), pki.path("other.key"));
    let server = Proc::spawn_program(
        "openssl",
        &[
            "s_server",
            "-quiet",
            "-accept",
            &accept,
            "-cert",
            &other,
            "-key",
            &other_key,
            "-servername",
            "localhost",
            "-cert2",
            &leaf,
            "-key2",
            &key,
        ],
        In::Pipe,
    );
    wait_port(port);
    (server, port)
}

/// A session of `connect args` with `server` (an s_server): the handshake's `-v` line, then a line
/// each way. Returns the client's stderr so far is not needed: the checks are here.
fn talk(server: &mut Proc, args: &[&str]) {
    let mut client = Proc::spawn(args, In::Pipe);
    client.wait_line("tls TLSv1.3");
    client.write(b"to openssl\n");
    assert!(
        server.stdout_has_within(b"to openssl\n", LIMIT),
        "s_server got nothing from {}",
        client.cmd
    );
    server.write(b"to sockcat\n");
    assert!(
        client.stdout_has_within(b"to sockcat\n", LIMIT),
        "nothing came back through {}",
        client.cmd
    );
}

#[test]
fn tls_through_socks5_sends_the_targets_name_as_sni_not_the_proxys() {
    if !have("openssl") || !have("microsocks") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (mut server, port) = s_server_by_sni(&pki);
    let port = port.to_string();
    let (_ms, ms_port) = microsocks(&[]);
    let url = format!("socks5://127.0.0.1:{ms_port}");
    // socks5:// with -4: localhost is resolved here to 127.0.0.1 (so the proxy resolves nothing), and
    // the TLS session inside the tunnel names localhost: the server shows the localhost certificate.
    let args = [
        "connect",
        "-v",
        "-4",
        "--tls",
        "--ca",
        &ca,
        "--proxy",
        &url,
        "localhost",
        &port,
    ];
    talk(&mut server, &args);

    // The probe: open, with what the handshake found.
    let done = run(
        &[
            "connect",
            "-z",
            "--json",
            "-4",
            "--tls",
            "--ca",
            &ca,
            "--proxy",
            &url,
            "localhost",
            &port,
        ],
        b"",
    )
    .ok();
    let line = done.stdout_str();
    assert!(
        line.contains(r#""status":"open""#) && line.contains(r#""version":"TLSv1.3""#),
        "{}",
        done.show()
    );
    // The server does choose by SNI: a client that sends none (an IP literal) gets other.example's
    // certificate, and says so. The proxy's own address is an IP literal too, so a client that took
    // the proxy's name for the server's would fail the same way above.
    run(
        &[
            "connect",
            "-z",
            "--tls",
            "--ca",
            &ca,
            "--proxy",
            &url,
            "127.0.0.1",
            &port,
        ],
        b"",
    )
    .code(1)
    .one_error_line("certificate is for other.example, not 127.0.0.1");
}

#[test]
fn tls_through_http_connect_tinyproxy_and_ncat_and_a_chain() {
    if !have("openssl") || !have("tinyproxy") || !have("ncat") || !have("microsocks") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (mut server, port) = s_server_by_sni(&pki);
    let port = port.to_string();
    let dir = tempfile::tempdir().unwrap();
    let (_tp, tp_port) = tinyproxy(dir.path(), None);
    let tiny = format!("http://127.0.0.1:{tp_port}");
    // The proxies get an address (whatever localhost resolves to on their side does not matter);
    // --sni names the server inside the tunnel.
    let args = [
        "connect",
        "-v",
        "--tls",
        "--ca",
        &ca,
        "--sni",
        "localhost",
        "--proxy",
        &tiny,
        "127.0.0.1",
        &port,
    ];
    talk(&mut server, &args);

    let nc_port = free_port();
    let p = nc_port.to_string();
    let _ncat = Proc::spawn_program(
        "ncat",
        &[
            "-l",
            "--proxy-type",
            "http",
            "--allow",
            "127.0.0.1",
            "127.0.0.1",
            &p,
        ],
        In::Null,
    );
    wait_port(nc_port);
    let ncat = format!("http://127.0.0.1:{nc_port}");
    let probe = |proxies: &[&str]| {
        let mut args = vec!["connect", "-z", "--json", "--tls", "--ca", &ca];
        args.extend_from_slice(&["--sni", "localhost"]);
        for p in proxies {
            args.extend_from_slice(&["--proxy", p]);
        }
        args.extend_from_slice(&["127.0.0.1", &port]);
        let done = run(&args, b"").ok();
        assert!(
            done.stdout_str().contains(r#""status":"open""#),
            "{}",
            done.show()
        );
    };
    probe(&[&ncat]);
    // A chain: microsocks, then tinyproxy, then the TLS server; TLS runs end to end.
    let (_ms, ms_port) = microsocks(&[]);
    let socks = format!("socks5://127.0.0.1:{ms_port}");
    probe(&[&socks, &tiny]);
    // Without --sni the name checked is the target's (127.0.0.1), whatever the proxies are called.
    run(
        &[
            "connect",
            "-z",
            "--tls",
            "--ca",
            &ca,
            "--proxy",
            &tiny,
            "127.0.0.1",
            &port,
        ],
        b"",
    )
    .code(1)
    .one_error_line("certificate is for other.example, not 127.0.0.1");
}

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

/// The pin of the certificate `openssl s_server` shows to a client that sends SNI localhost.
fn pin_of_localhost(pki: &Pki, port: &str) -> String {
    let ca = pki.path("ca.pem");
    let done = run(
        &[
            "connect",
            "-z",
            "--json",
            "--tls",
            "--ca",
            &ca,
            "127.0.0.1",
            port,
            "--sni",
            "localhost",
        ],
        b"",
    )
    .ok();
    let doc: serde_json::Value = serde_json::from_str(done.stdout_str().trim()).unwrap();
    doc["tls"]["pin"].as_str().unwrap().to_string()
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
    assert!(warning.contains(&pin), "{warning}");
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
