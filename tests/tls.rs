//! TLS (issue 16): `connect --tls`, `listen --tls`, `connect -z --tls`, against each other and against
//! openssl, ncat and socat. Every certificate is made here, in a tempdir, by a private CA (rcgen): a
//! leaf for localhost/127.0.0.1, an expired leaf, a leaf for another name, a client certificate.
//! Nothing reaches a public CA or the network.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};

use crate::common::{In, Proc, have, pattern, run};

fn this_year() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    1970 + (secs / 31_556_952) as i32
}

/// A private PKI in a tempdir.
pub(crate) struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// ca.pem; leaf (localhost, 127.0.0.1), expired (localhost, 127.0.0.1, ended in 2020), other
/// (other.example), client (a client certificate): each NAME.pem with NAME.key.
pub(crate) fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "sockcat test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    write(dir.path(), "ca.pem", &ca_cert.pem());
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |name: &str, sans: &[&str], expired: bool, client: bool| {
        let key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            p.not_before = rcgen::date_time_ymd(2019, 1, 1);
            p.not_after = rcgen::date_time_ymd(2020, 1, 1);
        } else {
            // Valid from last year until January 1 in two years: 1 to 2 years left.
            p.not_before = rcgen::date_time_ymd(this_year() - 1, 1, 1);
            p.not_after = rcgen::date_time_ymd(this_year() + 2, 1, 1);
        }
        let cert = p.signed_by(&key, &issuer).unwrap();
        write(dir.path(), &format!("{name}.pem"), &cert.pem());
        write(dir.path(), &format!("{name}.key"), &key.serialize_pem());
    };
    leaf("leaf", &["localhost", "127.0.0.1"], false, false);
    leaf("expired", &["localhost", "127.0.0.1"], true, false);
    leaf("other", &["other.example"], false, false);
    leaf("client", &["client.example"], false, true);
    Pki { dir }
}

/// `sockcat listen -v --tls` with `extra` options on 127.0.0.1, port 0, stdin from `stdin`.
pub(crate) fn tls_listen(extra: &[&str], stdin: In) -> (Proc, u16, String) {
    let mut args = vec!["listen", "-v", "--tls"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    let mut p = Proc::spawn(&args, stdin);
    let port = p.port();
    let pin = p
        .wait_line("tls pin ")
        .trim_start_matches("tls pin ")
        .to_string();
    (p, port, pin)
}

pub(crate) fn served(pki: &Pki, name: &str) -> Vec<String> {
    vec![
        "--cert".into(),
        pki.path(&format!("{name}.pem")),
        "--key".into(),
        pki.path(&format!("{name}.key")),
    ]
}

pub(crate) fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A client to a `listen --tls` serving `name`'s certificate, with client options `client`.
fn client_against(pki: &Pki, name: &str, host: &str, client: &[&str]) -> crate::common::Done {
    let cert = served(pki, name);
    let (listen, port, _) = tls_listen(&strs(&cert), In::Null);
    let port = port.to_string();
    let mut args = vec!["connect", "--tls"];
    args.extend_from_slice(client);
    args.extend_from_slice(&[host, &port]);
    let done = run(&args, b"");
    drop(listen);
    done
}

#[test]
fn verified_by_ca_and_name_both_ways_with_v_line() {
    let pki = pki();
    let cert = served(&pki, "leaf");
    let (mut listen, port, _) = tls_listen(&strs(&cert), In::Pipe);
    listen.write(b"from server\n");
    listen.close_stdin();
    let ca = pki.path("ca.pem");
    let port = port.to_string();
    let done = run(
        &["connect", "-v", "--tls", "--ca", &ca, "localhost", &port],
        b"from client\n",
    )
    .ok();
    assert_eq!(done.stdout, b"from server\n", "{}", done.show());
    assert!(
        done.stderr
            .lines()
            .any(|l| l.starts_with("tls TLSv1.3 TLS13_") && l.split(' ').count() == 3),
        "{}",
        done.show()
    );
    let server = listen.finish().ok();
    assert_eq!(server.stdout, b"from client\n", "{}", server.show());
    assert!(server.stderr.contains("tls TLSv1.3 "), "{}", server.show());
}

#[test]
fn an_ip_literal_is_checked_against_the_ip_san_and_tls_url_works() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let cert = served(&pki, "leaf");
    let (listen, port, _) = tls_listen(&strs(&cert), In::Null);
    run(
        &["connect", "--ca", &ca, &format!("tls://127.0.0.1:{port}")],
        b"",
    )
    .ok();
    drop(listen);
}

#[test]
fn expired_wrong_name_and_unknown_issuer_are_status_1_with_the_reason() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    client_against(&pki, "expired", "localhost", &["--ca", &ca])
        .code(1)
        .one_error_line("certificate expired");
    client_against(&pki, "other", "localhost", &["--ca", &ca])
        .code(1)
        .one_error_line("certificate is for other.example, not localhost");
    client_against(
        &pki,
        "leaf",
        "localhost",
        &["--ca", &ca, "--sni", "other.example"],
    )
    .code(1)
    .one_error_line("certificate is for localhost, 127.0.0.1, not other.example");
    // No --ca: the system's roots do not know our private CA.
    client_against(&pki, "leaf", "localhost", &[])
        .code(1)
        .one_error_line("unknown issuer");
}

#[test]
fn self_signed_server_pin_and_insecure() {
    let (listen, port, pin) = tls_listen(&[], In::Null);
    assert!(pin.starts_with("sha256:") && pin.len() == 51, "{pin}");
    let port = port.to_string();
    run(
        &["connect", "--tls", "--pin", &pin, "127.0.0.1", &port],
        b"",
    )
    .ok();
    drop(listen);

    let (listen, port, pin) = tls_listen(&[], In::Null);
    let port = port.to_string();
    let wrong = format!("sha256:{}", "A".repeat(43) + "=");
    run(
        &["connect", "--tls", "--pin", &wrong, "127.0.0.1", &port],
        b"",
    )
    .code(1)
    .one_error_line(&format!("certificate pin {pin} matches no --pin"));
    drop(listen);

    let (listen, port, pin) = tls_listen(&[], In::Null);
    let port = port.to_string();
    let done = run(&["connect", "--tls", "--insecure", "localhost", &port], b"").ok();
    let lines: Vec<&str> = done.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", done.show());
    assert!(
        lines[0].contains("--insecure") && lines[0].contains(&pin),
        "{}",
        done.show()
    );
    drop(listen);
}

#[test]
fn pem_problems_are_status_2_naming_the_file() {
    let pki = pki();
    let missing = pki.path("missing.pem");
    run(
        &["connect", "--tls", "--ca", &missing, "127.0.0.1", "1"],
        b"",
    )
    .code(2)
    .one_error_line(&missing);
    let junk = write(pki.dir.path(), "junk.pem", "not a certificate\n");
    let junk = junk.display().to_string();
    run(&["connect", "--tls", "--ca", &junk, "127.0.0.1", "1"], b"")
        .code(2)
        .one_error_line(&junk);
    let (leaf, other_key) = (pki.path("leaf.pem"), pki.path("other.key"));
    run(
        &[
            "listen",
            "--tls",
            "--cert",
            &leaf,
            "--key",
            &other_key,
            "127.0.0.1",
            "0",
        ],
        b"",
    )
    .code(2)
    .one_error_line(&other_key);
    run(
        &[
            "listen",
            "--tls",
            "--cert",
            &leaf,
            "--key",
            &junk,
            "127.0.0.1",
            "0",
        ],
        b"",
    )
    .code(2)
    .one_error_line(&junk);
    run(
        &["connect", "--tls", "--pin", "sha256:nope", "127.0.0.1", "1"],
        b"",
    )
    .code(2);
    run(&["connect", "--ca", &leaf, "127.0.0.1", "1"], b"")
        .code(2)
        .one_error_line("--ca needs --tls");
}

#[test]
fn mutual_tls_requires_a_client_certificate() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let mut server = served(&pki, "leaf");
    server.extend(["--client-ca".to_string(), ca.clone()]);
    let (listen, port, _) = tls_listen(&strs(&server), In::Null);
    let port = port.to_string();
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    run(
        &[
            "connect",
            "--tls",
            "--ca",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
            "localhost",
            &port,
        ],
        b"hi",
    )
    .ok();
    let done = listen.finish().ok();
    assert_eq!(done.stdout, b"hi");

    let (listen, port, _) = tls_listen(&strs(&server), In::Null);
    let port = port.to_string();
    run(&["connect", "--tls", "--ca", &ca, "localhost", &port], b"")
        .code(1)
        .one_error_line("client certificate");
    listen
        .finish()
        .code(1)
        .last_error_line("the client sent no certificate");
}

#[test]
fn probe_reports_tls_in_json_and_fails_on_expiry() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let cert = served(&pki, "leaf");
    let (listen, port, pin) = tls_listen(&strs(&cert), In::Null);
    let target = format!("localhost:{port}");
    let done = run(
        &["connect", "-z", "--json", "--tls", "--ca", &ca, &target],
        b"",
    )
    .ok();
    let doc: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(doc["status"], "open", "{}", done.show());
    assert_eq!(doc["tls"]["version"], "TLSv1.3");
    assert_eq!(doc["tls"]["pin"], pin.as_str());
    assert!(
        doc["tls"]["days_left"].as_i64().unwrap() > 300,
        "{}",
        done.show()
    );
    drop(listen);

    let (listen, port, _) = tls_listen(&strs(&cert), In::Null);
    let target = format!("localhost:{port}");
    run(
        &[
            "connect",
            "-z",
            "--tls",
            "--ca",
            &ca,
            "--min-days",
            "5000",
            &target,
        ],
        b"",
    )
    .code(1)
    .one_error_line("fewer than --min-days 5000");
    drop(listen);

    let expired = served(&pki, "expired");
    let (listen, port, _) = tls_listen(&strs(&expired), In::Null);
    let target = format!("localhost:{port}");
    let done = run(&["connect", "-z", "--tls", "--ca", &ca, &target], b"")
        .code(1)
        .one_error_line("certificate expired");
    assert!(done.stdout.is_empty(), "{}", done.show());
    drop(listen);
}

#[test]
fn sockcat_to_sockcat_32_mib_each_way_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (pattern(32 << 20, 1), pattern(32 << 20, 2));
    let (fa, fb) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&fa, &a).unwrap();
    std::fs::write(&fb, &b).unwrap();
    let (listen, port, pin) = tls_listen(&[], In::File(fa));
    let done = Proc::spawn(
        &[
            "connect",
            "--tls",
            "--pin",
            &pin,
            "127.0.0.1",
            &port.to_string(),
        ],
        In::File(fb),
    )
    .finish()
    .ok();
    let server = listen.finish().ok();
    assert!(done.stdout == a, "client got {} bytes", done.stdout.len());
    assert!(
        server.stdout == b,
        "server got {} bytes",
        server.stdout.len()
    );
}

#[test]
fn connect_to_openssl_s_server_and_s_client_to_listen() {
    if !have("openssl") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (leaf, key) = (pki.path("leaf.pem"), pki.path("leaf.key"));
    // s_server: answers what it reads on its stdin pipe; -quiet prints only the data.
    let port = crate::common::free_port().to_string();
    let accept = format!("127.0.0.1:{port}");
    let mut server = Proc::spawn_program(
        "openssl",
        &[
            "s_server", "-quiet", "-naccept", "1", "-accept", &accept, "-cert", &leaf, "-key", &key,
        ],
        In::Pipe,
    );
    let done = Proc::spawn(
        &[
            "connect",
            "-v",
            "--tls",
            "--ca",
            &ca,
            "--wait-for",
            "10s",
            "localhost",
            &port,
        ],
        In::Pipe,
    );
    let mut client = done;
    client.wait_line("tls TLSv1.3");
    client.write(b"to openssl\n");
    assert!(server.stdout_has_within(b"to openssl\n", crate::common::LIMIT));
    server.write(b"to sockcat\n");
    assert!(client.stdout_has_within(b"to sockcat\n", crate::common::LIMIT));
    drop(server);
    drop(client);

    // s_client to listen --tls: verified against our CA, data both ways.
    let cert = served(&pki, "leaf");
    let (mut listen, port, _) = tls_listen(&strs(&cert), In::Pipe);
    let connect = format!("127.0.0.1:{port}");
    let mut client = Proc::spawn_program(
        "openssl",
        &[
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-CAfile",
            &ca,
            "-connect",
            &connect,
        ],
        In::Pipe,
    );
    listen.write(b"to s_client\n");
    assert!(client.stdout_has_within(b"to s_client\n", crate::common::LIMIT));
    client.write(b"to listen\n");
    assert!(listen.stdout_has_within(b"to listen\n", crate::common::LIMIT));
}

#[test]
fn ncat_ssl_and_socat_openssl_both_ways() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (leaf, key) = (pki.path("leaf.pem"), pki.path("leaf.key"));
    let (ours, theirs) = (pattern(1 << 20, 5), pattern(700_000, 6));
    for peer in ["ncat", "socat"] {
        if !have(peer) {
            continue;
        }
        // The peer listens with our leaf; sockcat connects, verified.
        let port = crate::common::free_port().to_string();
        let listen_arg = format!(
            "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,cert={leaf},key={key},verify=0"
        );
        let (args, ready): (Vec<&str>, &str) = match peer {
            "ncat" => (
                vec![
                    "-v",
                    "--ssl",
                    "--ssl-cert",
                    &leaf,
                    "--ssl-key",
                    &key,
                    "-l",
                    "127.0.0.1",
                    &port,
                ],
                "Ncat: Listening on",
            ),
            _ => (
                vec!["-d", "-d", "-t", "10", &listen_arg, "STDIO"],
                "listening on",
            ),
        };
        let mut server = Proc::spawn_program(peer, &args, In::Pipe);
        server.wait_line_containing(ready);
        let mut client = Proc::spawn(
            &["connect", "--tls", "--ca", &ca, "localhost", &port],
            In::Pipe,
        );
        both_ways((&mut client, &ours), (&mut server, &theirs));
        let done = client.finish().ok();
        let server = server.finish().ok();
        assert!(
            done.stdout == theirs,
            "sockcat got {} bytes from {peer}",
            done.stdout.len()
        );
        assert!(
            server.stdout == ours,
            "{peer} got {} bytes",
            server.stdout.len()
        );

        // The peer connects to listen --tls, verifying our leaf against the CA.
        let cert = served(&pki, "leaf");
        let (mut listen, port, _) = tls_listen(&strs(&cert), In::Pipe);
        let port = port.to_string();
        let connect_arg = format!("OPENSSL:localhost:{port},cafile={ca},verify=1");
        let args: Vec<&str> = match peer {
            "ncat" => vec![
                "--ssl",
                "--ssl-verify",
                "--ssl-trustfile",
                &ca,
                "localhost",
                &port,
            ],
            _ => vec!["-t", "10", &connect_arg, "STDIO"],
        };
        let mut client = Proc::spawn_program(peer, &args, In::Pipe);
        both_ways((&mut listen, &ours), (&mut client, &theirs));
        let client = client.finish().ok();
        let done = listen.finish().ok();
        assert!(
            client.stdout == ours,
            "{peer} got {} bytes from listen",
            client.stdout.len()
        );
        assert!(
            done.stdout == theirs,
            "listen got {} bytes from {peer}",
            done.stdout.len()
        );
    }
}

/// Sends each side's bytes through its stdin; ends sockcat's input only once sockcat has received
/// all of the peer's bytes, then the peer's. ncat ends a session at its peer's EOF whatever it still
/// has to send, so an earlier end would cut the other direction short; and ncat as a TLS client
/// writes the last part of a record out only at the next read from the socket (it waits on the socket,
/// not on what OpenSSL already decrypted), so its output is checked once the session is over.
fn both_ways((ours, our_bytes): (&mut Proc, &[u8]), (peer, peer_bytes): (&mut Proc, &[u8])) {
    ours.write(our_bytes);
    peer.write(peer_bytes);
    assert!(
        ours.stdout_has_within(peer_bytes, crate::common::LIMIT),
        "sockcat did not get all {} bytes of {}: {:?}",
        peer_bytes.len(),
        peer.cmd,
        ours.output_so_far()
    );
    ours.close_stdin();
    peer.close_stdin();
}

/// A TLS server in Python's ssl (with the PKI's leaf for localhost) that sends `payload` (a Python
/// bytes expression) to its one client and closes without close_notify (close() without unwrap());
/// and its port. Needs python3.
pub(crate) fn python_sender_without_close_notify(pki: &Pki, payload: &str) -> (Proc, String) {
    let script = format!(
        "import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.create_server(('127.0.0.1', 0))
print('port', srv.getsockname()[1], file=sys.stderr, flush=True)
conn, _ = srv.accept()
tls = ctx.wrap_socket(conn, server_side=True)
tls.sendall({payload})
tls.close()
"
    );
    let (leaf, key) = (pki.path("leaf.pem"), pki.path("leaf.key"));
    let mut server = Proc::spawn_program("python3", &["-c", &script, &leaf, &key], In::Null);
    let port = server
        .wait_line("port ")
        .trim_start_matches("port ")
        .trim()
        .to_string();
    (server, port)
}

/// A peer that closes TCP without close_notify (Python's ssl: close() without unwrap()): everything it
/// sent is written out, the status is 0, and `-v` says so.
#[test]
fn a_close_without_close_notify_delivers_everything_status_0_and_v_says_so() {
    if !have("python3") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (_server, port) = python_sender_without_close_notify(&pki, "b'x' * 100000 + b'end'");
    let client = Proc::spawn(
        &[
            "connect",
            "-v",
            "--tls",
            "--ca",
            &ca,
            "localhost",
            port.trim(),
        ],
        In::Pipe,
    );
    assert!(client.stdout_has_within(b"end", crate::common::LIMIT));
    let done = client.finish().ok();
    assert_eq!(done.stdout.len(), 100_003, "{}", done.show());
    assert!(done.stdout.ends_with(b"end"));
    assert!(
        done.stderr
            .contains("tls: the peer closed the connection without close_notify"),
        "{}",
        done.show()
    );
}

/// `listen -k --tls -c`: an HTTPS responder that curl verifies against our CA, twice (a thread per
/// client); and a child that prints its `SOCKCAT_TLS_*` variables, with a client certificate and ALPN.
#[test]
fn keep_open_tls_exec_serves_curl_and_gives_the_child_tls_variables() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let mut args = served(&pki, "leaf");
    args.extend(["-k".into(), "-c".into()]);
    args.push(r#"printf 'HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n'"#.into());
    let (listen, port, _) = tls_listen(&strs(&args), In::Null);
    if have("curl") {
        let url = format!("https://localhost:{port}/");
        for _ in 0..2 {
            let out = std::process::Command::new("curl")
                .args(["-sS", "--max-time", "10", "--cacert", &ca, &url])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "curl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, b"hello\n");
        }
    }
    let port = port.to_string();
    run(&["connect", "--tls", "--ca", &ca, "localhost", &port], b"")
        .ok()
        .stdout
        .starts_with(b"HTTP/1.0 200 OK\r\n")
        .then_some(())
        .expect("the responder's answer");
    drop(listen);

    let mut args = served(&pki, "leaf");
    args.extend([
        "--client-ca".into(),
        ca.clone(),
        "--alpn".into(),
        "x-test".into(),
        "-k".into(),
        "-c".into(),
        "echo \"$SOCKCAT_TLS_VERSION $SOCKCAT_TLS_CIPHER alpn=$SOCKCAT_TLS_ALPN subject=$SOCKCAT_TLS_CLIENT_SUBJECT from=$SOCKCAT_REMOTE_ADDR\"".into(),
    ]);
    let (listen, port, _) = tls_listen(&strs(&args), In::Null);
    let port = port.to_string();
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let done = run(
        &[
            "connect",
            "--tls",
            "--ca",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
            "--alpn",
            "x-test",
            "localhost",
            &port,
        ],
        b"",
    )
    .ok();
    let line = done.stdout_str();
    assert!(line.starts_with("TLSv1.3 TLS13_"), "{line}");
    assert!(line.contains(" alpn=x-test "), "{line}");
    assert!(
        line.contains("subject=") && line.contains("CN=client"),
        "{line}"
    );
    assert!(line.trim_end().ends_with(" from=127.0.0.1"), "{line}");
    drop(listen);
}

/// `listen --tls --forward`: TLS termination to a plain target that answers only after the client's
/// half-close, so the half-close must cross the forwarder; 1 MiB back byte-exact.
#[test]
fn tls_forward_terminates_tls_and_carries_the_half_close() {
    use std::io::{Read, Write};
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (target, tport) = crate::common::tcp_listener();
    let echo = std::thread::spawn(move || {
        let (mut conn, _) = target.accept().unwrap();
        conn.set_read_timeout(Some(crate::common::LIMIT)).unwrap();
        let mut all = Vec::new();
        conn.read_to_end(&mut all).unwrap();
        conn.write_all(&all).unwrap();
    });
    let mut args = served(&pki, "leaf");
    let forward = format!("127.0.0.1:{tport}");
    args.extend(["--forward".into(), forward]);
    let (listen, port, _) = tls_listen(&strs(&args), In::Null);
    let port = port.to_string();
    let data = pattern(1 << 20, 9);
    let done = run(
        &["connect", "--tls", "--ca", &ca, "localhost", &port],
        &data,
    )
    .ok();
    assert!(done.stdout == data, "{} bytes back", done.stdout.len());
    echo.join().unwrap();
    drop(listen);
}

/// `listen -k --tls --echo`: two clients at once, each 512 KiB back byte-exact, then a clean end
/// (the client's close_notify answered with ours: status 0).
#[test]
fn keep_open_tls_echo_serves_clients_at_once() {
    let pki = pki();
    let ca = pki.path("ca.pem");
    let mut args = served(&pki, "leaf");
    args.extend(["-k".into(), "--echo".into()]);
    let (listen, port, _) = tls_listen(&strs(&args), In::Null);
    let clients: Vec<_> = (0..2u64)
        .map(|i| {
            let (ca, port) = (ca.clone(), port.to_string());
            std::thread::spawn(move || {
                let data = pattern(512 * 1024, 20 + i);
                let done = run(
                    &["connect", "--tls", "--ca", &ca, "localhost", &port],
                    &data,
                )
                .ok();
                assert!(done.stdout == data, "{} bytes back", done.stdout.len());
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    drop(listen);
}
