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
