//! Clients a proxy server or forwarder turns away (issue 18): failed proxy authentication (a
//! `refuse` line with reason `auth` and the id of its `accept`, not a `close`); under
//! `--accept-proxy-protocol`, a missing or bad PROXY header (`proxy-protocol`) or a source the access
//! list denies (`deny`), refused before they are accepted, while an admitted client's lines carry its
//! header's source; and a bad `--dest-allow`/`--dest-deny` rule is a usage error naming its option.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use serde_json::Value;

use crate::common::{In, LIMIT, Proc, have, run};
use crate::events::wait_events;

/// A target that answers `hi\n` and closes.
fn target() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let _ = conn.write_all(b"hi\n");
        }
    });
    port
}

fn spawn(args: &[&str]) -> (Proc, String) {
    let mut p = Proc::spawn(args, In::Null);
    let port = p.port().to_string();
    (p, port)
}

/// The refuse lines, each checked to carry an id that an accept line had.
fn refusals(lines: &[Value]) -> Vec<&Value> {
    let refused: Vec<&Value> = lines.iter().filter(|l| l["event"] == "refuse").collect();
    for r in &refused {
        let id = &r["id"];
        assert!(id.is_u64(), "{r}");
        assert!(
            lines
                .iter()
                .any(|l| l["event"] == "accept" && l["id"] == *id && l["peer"] == r["peer"]),
            "no accept for {r}"
        );
        assert!(
            !lines
                .iter()
                .any(|l| l["event"] == "close" && l["id"] == *id),
            "refused and closed: {r}"
        );
    }
    refused
}

fn reasons(lines: &[Value]) -> Vec<String> {
    let mut r: Vec<String> = refusals(lines)
        .iter()
        .map(|l| l["reason"].as_str().unwrap().to_string())
        .collect();
    r.sort();
    r
}

#[test]
fn proxy_authentication_failures_are_refusals_with_reason_auth() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "alice:s3cret\n").unwrap();
    let ev = dir.path().join("ev");
    let (_srv, port) = spawn(&[
        "listen",
        "-v",
        "--proxy-server",
        "--auth-file",
        users.to_str().unwrap(),
        "--events",
        ev.to_str().unwrap(),
        "0",
    ]);
    let t = target().to_string();
    // Right: a tunnel and its close.
    let good = format!("socks5://alice:s3cret@127.0.0.1:{port}");
    let done = run(&["connect", "--proxy", &good, "127.0.0.1", &t], b"").ok();
    assert_eq!(done.stdout, b"hi\n");
    // Wrong password (SOCKS5), no credentials (HTTP 407), SOCKS4 (no password at all).
    let wrong = format!("socks5://alice:nope@127.0.0.1:{port}");
    run(&["connect", "--proxy", &wrong, "127.0.0.1", &t], b"").code(1);
    let none = format!("http://127.0.0.1:{port}");
    run(&["connect", "--proxy", &none, "127.0.0.1", &t], b"").code(1);
    let socks4 = format!("socks4a://alice@127.0.0.1:{port}");
    run(&["connect", "--proxy", &socks4, "127.0.0.1", &t], b"").code(1);
    let mut want = 3;
    if have("curl") {
        let done = Proc::spawn_program(
            "curl",
            &[
                "-sS",
                "--max-time",
                "10",
                "--socks5-hostname",
                &format!("127.0.0.1:{port}"),
                "--proxy-user",
                "alice:wrong",
                &format!("http://127.0.0.1:{t}/"),
            ],
            In::Null,
        )
        .finish();
        assert!(!done.success(), "{}", done.show());
        want += 1;
    }
    wait_events(&ev, "refuse", want);
    let lines = wait_events(&ev, "close", 1);
    assert_eq!(reasons(&lines), vec!["auth"; want], "{lines:?}");
    let closes: Vec<&Value> = lines.iter().filter(|l| l["event"] == "close").collect();
    assert_eq!(closes.len(), 1, "{lines:?}");
    assert_eq!(closes[0]["dest"], format!("127.0.0.1:{t}"));
}

/// Sends `data` and reads until the server closes.
fn send_and_wait_close(port: &str, data: &[u8]) {
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(data).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

fn check_proxy_protocol(proxy: bool, ev: &Path, port: &str, t: &str) {
    // No header at all (curl speaks plain HTTP), a malformed one, and a good one naming a source that
    // --allow does not admit: refused before they are admitted, so no accept, no id; the denied one
    // as the address its header gave.
    if have("curl") {
        let done = Proc::spawn_program(
            "curl",
            &[
                "-sS",
                "--max-time",
                "10",
                "-x",
                &format!("http://127.0.0.1:{port}"),
                &format!("http://127.0.0.1:{t}/"),
            ],
            In::Null,
        )
        .finish();
        assert!(!done.success(), "{}", done.show());
    } else {
        send_and_wait_close(port, b"GET http://127.0.0.1/ HTTP/1.0\r\n\r\n");
    }
    send_and_wait_close(port, b"PROXY TCP4 127.0.0.1 nonsense\r\n");
    send_and_wait_close(port, b"PROXY TCP4 10.9.9.9 127.0.0.1 4000 80\r\n");
    // A good header from an allowed source: the session is that source's, accept to close.
    let mut good = b"PROXY TCP4 127.0.0.5 127.0.0.1 4000 80\r\n".to_vec();
    if proxy {
        good.extend_from_slice(format!("CONNECT 127.0.0.1:{t} HTTP/1.1\r\n\r\n").as_bytes());
    }
    send_and_wait_close(port, &good);
    wait_events(ev, "refuse", 3);
    let lines = wait_events(ev, "close", 1);
    let mut refused: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l["event"] == "refuse")
        .map(|l| {
            assert!(l.get("id").is_none(), "refused before its accept: {l}");
            let peer = l["peer"].as_str().unwrap();
            let peer = if peer.starts_with("127.0.0.1:") {
                "client"
            } else {
                peer
            };
            (l["reason"].as_str().unwrap().into(), peer.into())
        })
        .collect();
    refused.sort();
    let want = [
        ("deny", "10.9.9.9:4000"),
        ("proxy-protocol", "client"),
        ("proxy-protocol", "client"),
    ]
    .map(|(r, p)| (r.to_string(), p.to_string()));
    assert_eq!(refused, want, "proxy {proxy}: {lines:?}");
    let accepts: Vec<&Value> = lines.iter().filter(|l| l["event"] == "accept").collect();
    assert_eq!(accepts.len(), 1, "{lines:?}");
    assert_eq!(accepts[0]["peer"], "127.0.0.5:4000", "{lines:?}");
    let close = lines.iter().find(|l| l["event"] == "close").unwrap();
    assert_eq!(
        (&close["peer"], &close["id"]),
        (&accepts[0]["peer"], &accepts[0]["id"]),
        "{close}"
    );
}

#[test]
fn proxy_protocol_refusals_and_sources_in_the_events() {
    let t = target().to_string();
    let dir = tempfile::tempdir().unwrap();
    for (i, mode) in [
        vec!["--proxy-server".to_string()],
        vec!["--forward".to_string(), format!("127.0.0.1:{t}")],
    ]
    .into_iter()
    .enumerate()
    {
        let ev = dir.path().join(format!("ev{i}"));
        let mut args = vec!["listen", "-v", "--accept-proxy-protocol"];
        args.extend(mode.iter().map(String::as_str));
        args.extend(["--allow", "127.0.0.0/8", "--events", ev.to_str().unwrap()]);
        args.extend(["127.0.0.1", "0"]);
        let (_srv, port) = spawn(&args);
        check_proxy_protocol(i == 0, &ev, &port, &t);
    }
}

#[test]
fn a_bad_destination_rule_is_a_usage_error_naming_its_option() {
    run(
        &["listen", "--proxy-server", "--dest-allow", ":99999", "0"],
        b"",
    )
    .code(2)
    .one_error_line("--dest-allow :99999: port 99999 is out of range");
    run(
        &["listen", "--proxy-server", "--dest-deny", "a b", "0"],
        b"",
    )
    .code(2)
    .one_error_line("--dest-deny a b:");
}
