//! Unix datagram sockets (`udp-send --unix`, `udp-recv --unix`, `@NAME` abstract names), checked
//! against std's UnixDatagram peers and sockcat itself.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram};
use std::path::Path;

use crate::common::{In, LIMIT, Proc, pattern, run};

/// A udp-recv on a Unix socket, once it says it is ready.
fn receiver(path: &str, extra: &[&str]) -> Proc {
    let mut args = vec!["udp-recv", "-v", "--unix", path];
    args.extend_from_slice(extra);
    let mut p = Proc::spawn(&args, In::Null);
    p.wait_line("listening on ");
    p
}

fn unique(tag: &str) -> String {
    format!("@sockcat-test-{tag}-{}", std::process::id())
}

#[test]
fn bytes_exact_both_ways_with_replies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dg.sock");
    let path_s = path.to_str().unwrap();
    let rx = receiver(path_s, &["--echo", "-c", "5"]);
    let data = pattern(5 * 1000, 11);
    let sent = run(
        &[
            "udp-send",
            "--unix",
            path_s,
            "--max-size",
            "1000",
            "--wait-reply",
            "1s",
        ],
        &data,
    )
    .ok();
    assert_eq!(sent.stdout, data, "echoed bytes\n{}", sent.show());
    let got = rx.finish().ok();
    assert_eq!(got.stdout, data);
    assert!(!path.exists(), "the socket file is removed at the end");
}

#[test]
fn datagram_boundaries_kept_and_abstract_names_leave_no_file() {
    let name = unique("abs");
    let rx = receiver(&name, &["--format", "json", "-c", "3"]);
    run(&["udp-send", "--unix", &name, "one", "", "three"], b"").ok();
    let got = rx.finish().ok();
    let lines: Vec<serde_json::Value> = got
        .stdout_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> = lines.iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["one", "", "three"], "{}", got.show());
    // udp-send's own abstract name is the sender.
    let from = lines[0]["from"].as_str().unwrap();
    assert!(from.starts_with("@sockcat."), "{from}");
}

#[test]
fn a_stale_socket_file_is_replaced_and_a_live_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.sock");
    drop(UnixDatagram::bind(&path).unwrap());
    assert!(path.exists());
    let path_s = path.to_str().unwrap();
    let rx = receiver(path_s, &["-c", "1"]);
    // A second receiver on the live socket is refused and leaves it alone.
    run(&["udp-recv", "--unix", path_s], b"")
        .code(1)
        .one_error_line("address");
    run(&["udp-send", "--unix", path_s, "hi"], b"").ok();
    assert_eq!(rx.finish().ok().stdout, b"hi");
    // A regular file is not replaced.
    std::fs::write(&path, b"x").unwrap();
    run(&["udp-recv", "--unix", path_s], b"").code(1);
    assert_eq!(std::fs::read(&path).unwrap(), b"x");
}

#[test]
fn echo_answers_an_abstract_sender_and_survives_an_unnamed_one() {
    let name = unique("echo");
    let rx = receiver(&name, &["--echo", "-vv", "-c", "2"]);
    let target = UnixAddr::from_abstract_name(&name.as_bytes()[1..]).unwrap();
    // Unnamed: nothing can answer it, but the datagram is taken.
    let unnamed = UnixDatagram::unbound().unwrap();
    unnamed.send_to_addr(b"from nobody", &target).unwrap();
    // Abstract: answered.
    let me = format!("sockcat-test-peer-{}", std::process::id());
    let named =
        UnixDatagram::bind_addr(&UnixAddr::from_abstract_name(me.as_bytes()).unwrap()).unwrap();
    named.set_read_timeout(Some(LIMIT)).unwrap();
    named.send_to_addr(b"from me", &target).unwrap();
    let mut buf = [0u8; 64];
    let n = named.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"from me");
    let done = rx.finish().ok();
    assert_eq!(done.stdout, b"from nobodyfrom me");
    assert!(
        done.stderr.contains("datagram from (unnamed), 11 bytes"),
        "{}",
        done.show()
    );
    assert!(
        done.stderr
            .contains(&format!("datagram from @{me}, 7 bytes")),
        "{}",
        done.show()
    );
}

#[test]
fn ctrl_c_removes_the_socket_file_and_dies_by_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("int.sock");
    let rx = receiver(path.to_str().unwrap(), &[]);
    assert!(path.exists());
    rx.signal("INT");
    let done = rx.finish_within(LIMIT);
    assert_eq!(done.code, None, "killed by SIGINT\n{}", done.show());
    assert!(!Path::new(&path).exists());
}

#[test]
fn wait_reply_from_a_unix_receiver_that_never_answers_is_a_timeout() {
    let name = unique("quiet");
    let _rx = receiver(&name, &[]);
    run(
        &["udp-send", "--unix", &name, "--wait-reply", "200ms", "x"],
        b"",
    )
    .code(3);
    // A missing path is a service not up: status 1.
    run(&["udp-send", "--unix", "/nonexistent-dir/x.sock", "x"], b"").code(1);
}
