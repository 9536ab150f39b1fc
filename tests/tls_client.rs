//! TLS on the client side beyond a plain `connect --tls` (issues 16, 18): TLS end to end through
//! `--proxy` chains, `connect -e/-c --tls` and `sockopt --connect --tls` (TLS origination by
//! `listen --forward tls://` is in tls_forward.rs, `sendfile --tls` in tls_sendfile.rs). The peers
//! are real (openssl s_server, microsocks, tinyproxy, ncat), on loopback; the certificates are made
//! by `tls::pki` in a tempdir.

use crate::common::{In, LIMIT, Proc, have, run};
use crate::proxy::{free_port, microsocks, tinyproxy, wait_port};
use crate::tls::{Pki, pki};

/// `openssl s_server` on 127.0.0.1 that picks its certificate by SNI: `leaf` (localhost, 127.0.0.1)
/// for a client that sends `localhost`, `other` (other.example) for any other client, and so for one
/// that sends no SNI. A client that verifies against localhost succeeds only if its SNI was
/// `localhost`. Its stdin is a pipe: what the test writes goes to the client.
pub(crate) fn s_server_by_sni(pki: &Pki) -> (Proc, u16) {
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

/// The pin of the certificate `openssl s_server` shows to a client that sends SNI localhost.
pub(crate) fn pin_of_localhost(pki: &Pki, port: &str) -> String {
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
fn connect_tls_runs_the_program_on_the_tls_session() {
    if !have("openssl") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (mut server, port) = s_server_by_sni(&pki);
    let port = port.to_string();
    // -c: the program reads what s_server sends and answers through TLS; its environment names the
    // session. Status 0: the program succeeded.
    let script = r#"echo "$SOCKCAT_TLS_VERSION $SOCKCAT_TLS_CIPHER alpn=[$SOCKCAT_TLS_ALPN] $SOCKCAT_REMOTE_PORT"; read l; echo "got $l""#;
    let client = Proc::spawn(
        &[
            "connect",
            "--tls",
            "--ca",
            &ca,
            "-c",
            script,
            "localhost",
            &port,
        ],
        In::Null,
    );
    let hello = format!("TLSv1.3 TLS13_AES_128_GCM_SHA256 alpn=[] {port}\n");
    assert!(
        server.stdout_has_within(hello.as_bytes(), LIMIT),
        "s_server did not get {hello:?}"
    );
    server.write(b"over tls\n");
    assert!(server.stdout_has_within(b"got over tls\n", LIMIT));
    let done = client.finish().ok();
    // Nothing of the session reaches sockcat's own stdout: the program has the connection.
    assert!(done.stdout.is_empty(), "{}", done.show());

    // -e (no shell), and a program that fails: status 1.
    let done = run(
        &[
            "connect",
            "--tls",
            "--ca",
            &ca,
            "-e",
            "printenv SOCKCAT_TLS_CIPHER",
            "localhost",
            &port,
        ],
        b"",
    )
    .ok();
    assert!(done.stdout.is_empty(), "{}", done.show());
    assert!(server.stdout_has_within(b"\nTLS13_AES_128_GCM_SHA256\n", LIMIT));
    run(
        &[
            "connect",
            "--tls",
            "--ca",
            &ca,
            "-c",
            "exit 3",
            "localhost",
            &port,
        ],
        b"",
    )
    .code(1);
    // A verification failure stops it before the program starts.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    run(
        &[
            "connect",
            "--tls",
            "--ca",
            &ca,
            "-c",
            &touch,
            "127.0.0.1",
            &port,
        ],
        b"",
    )
    .code(1)
    .one_error_line("certificate is for other.example");
    assert!(
        !marker.exists(),
        "the program ran on an unverified connection"
    );
}

#[test]
fn sockopt_connect_tls_shows_the_tls_connections_options_and_session() {
    if !have("openssl") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (_server, port) = s_server_by_sni(&pki);
    let port = port.to_string();
    let pin = pin_of_localhost(&pki, &port);
    let done = run(
        &[
            "sockopt",
            "--connect",
            "localhost",
            &port,
            "--tls",
            "--ca",
            &ca,
            "--set",
            "TCP_NODELAY=1",
        ],
        b"",
    )
    .ok();
    let table = done.stdout_str();
    let row = |level: &str, name: &str| {
        table
            .lines()
            .find(|l| {
                let mut f = l.split_whitespace();
                f.next() == Some(level) && f.next() == Some(name)
            })
            .map(|l| l.split_whitespace().nth(2).unwrap_or("").to_string())
    };
    assert_eq!(
        row("IPPROTO_TCP", "TCP_NODELAY").as_deref(),
        Some("1"),
        "{table}"
    );
    assert!(row("TCP_INFO", "rtt").is_some(), "{table}");
    assert_eq!(row("TLS", "version").as_deref(), Some("TLSv1.3"), "{table}");
    assert_eq!(
        row("TLS", "cipher").as_deref(),
        Some("TLS13_AES_128_GCM_SHA256"),
        "{table}"
    );
    assert_eq!(row("TLS", "pin").as_deref(), Some(pin.as_str()), "{table}");

    // tls:// and --json; one --get stays a bare value.
    let url = format!("tls://localhost:{port}");
    let done = run(&["sockopt", "--connect", &url, "--ca", &ca, "--json"], b"").ok();
    let doc: serde_json::Value = serde_json::from_str(done.stdout_str().trim()).unwrap();
    assert_eq!(doc["tls"]["version"], "TLSv1.3", "{doc}");
    assert_eq!(doc["tls"]["pin"], pin.as_str(), "{doc}");
    let done = run(
        &[
            "sockopt",
            "--connect",
            &url,
            "--ca",
            &ca,
            "--get",
            "TCP_NODELAY",
        ],
        b"",
    )
    .ok();
    assert_eq!(done.stdout_str(), "0\n", "{}", done.show());
    // Verified as connect --tls: the wrong name is status 1 with the reason, and no table.
    let done = run(
        &[
            "sockopt",
            "--connect",
            "127.0.0.1",
            &port,
            "--tls",
            "--ca",
            &ca,
        ],
        b"",
    )
    .code(1)
    .one_error_line("certificate is for other.example");
    assert!(done.stdout.is_empty());
    run(&["sockopt", "--tls"], b"")
        .code(2)
        .one_error_line("--tls needs --connect");
}

#[test]
fn a_program_that_stopped_reading_still_has_its_output_sent() {
    if !have("openssl") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (mut server, port) = s_server_by_sni(&pki);
    let port = port.to_string();
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("go");
    // The program closes its stdin at once and answers only when the test says so: by then the
    // peer's line has been read (the hex dump shows it) and written into the closed pipe.
    let script = format!(
        "exec 0<&-; while [ ! -e {} ]; do sleep 0.01; done; echo answer",
        mark.display()
    );
    let mut client = Proc::spawn(
        &[
            "connect",
            "-v",
            "--hexdump",
            "--tls",
            "--ca",
            &ca,
            "-c",
            &script,
            "localhost",
            &port,
        ],
        In::Null,
    );
    client.wait_line("tls TLSv1.3");
    server.write(b"ping\n");
    client.wait_line_containing("ping");
    std::fs::write(&mark, b"").unwrap();
    assert!(
        server.stdout_has_within(b"answer\n", LIMIT),
        "the answer was lost"
    );
    client.finish().ok();
}
