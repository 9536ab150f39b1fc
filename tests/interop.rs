//! Interoperability with the real peers: OpenBSD nc, ncat and socat, as listeners for `sockcat connect`
//! and as clients of `sockcat listen`, data in both directions at once, byte-exact.
//! Under CI=true a missing peer fails the test (see `common::have`).

use std::path::Path;

use crate::common::{In, Proc, free_port, have, pattern};

struct Files {
    _dir: tempfile::TempDir,
    ours: std::path::PathBuf,
    theirs: std::path::PathBuf,
    ours_data: Vec<u8>,
    theirs_data: Vec<u8>,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.bin");
    let theirs = dir.path().join("theirs.bin");
    let ours_data = pattern(1 << 20, 21);
    let theirs_data = pattern(700_000, 22);
    std::fs::write(&ours, &ours_data).unwrap();
    std::fs::write(&theirs, &theirs_data).unwrap();
    Files {
        _dir: dir,
        ours,
        theirs,
        ours_data,
        theirs_data,
    }
}

/// Starts a peer listener on `port` fed from `stdin`, waiting for its "listening" line.
fn peer_listener(peer: &str, port: u16, stdin: &Path) -> Proc {
    let port = port.to_string();
    let (program, args, ready): (&str, Vec<String>, &str) = match peer {
        // OpenBSD nc: -N sends FIN at stdin EOF; -v says "Listening on ...".
        "nc" => (
            "nc",
            vec![
                "-v".into(),
                "-N".into(),
                "-l".into(),
                "127.0.0.1".into(),
                port,
            ],
            "Listening on",
        ),
        "ncat" => (
            "ncat",
            vec!["-v".into(), "-l".into(), "127.0.0.1".into(), port],
            "Ncat: Listening on",
        ),
        // socat: -t 10 waits for the other direction after one ends (its default 0.5 s is a race).
        _ => (
            "socat",
            vec![
                "-d".into(),
                "-d".into(),
                "-t".into(),
                "10".into(),
                format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr"),
                "STDIO".into(),
            ],
            "listening on",
        ),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = Proc::spawn_program(program, &args, In::File(stdin.to_path_buf()));
    p.wait_line_containing(ready);
    p
}

fn connect_to_peer(peer: &str) {
    if !have(peer) {
        return;
    }
    let f = files();
    let port = free_port();
    let listener = peer_listener(peer, port, &f.theirs);
    let done = Proc::spawn(
        &["connect", "127.0.0.1", &port.to_string()],
        In::File(f.ours.clone()),
    )
    .finish()
    .ok();
    let theirs = listener.finish().ok();
    assert!(
        done.stdout == f.theirs_data,
        "sockcat got {} bytes from {peer}",
        done.stdout.len()
    );
    assert!(
        theirs.stdout == f.ours_data,
        "{peer} got {} bytes from sockcat",
        theirs.stdout.len()
    );
}

fn peer_connects_to_listen(peer: &str) {
    if !have(peer) {
        return;
    }
    let f = files();
    let mut listen = Proc::spawn(
        &["listen", "-v", "127.0.0.1", "0"],
        In::File(f.ours.clone()),
    );
    let port = listen.port().to_string();
    let target = format!("TCP:127.0.0.1:{port}");
    let args: Vec<&str> = match peer {
        "nc" => vec!["-N", "127.0.0.1", &port],
        "ncat" => vec!["127.0.0.1", &port],
        _ => vec!["-t", "10", &target, "STDIO"],
    };
    let client = Proc::spawn_program(peer, &args, In::File(f.theirs.clone()))
        .finish()
        .ok();
    let done = listen.finish().ok();
    assert!(
        client.stdout == f.ours_data,
        "{peer} got {} bytes from sockcat listen",
        client.stdout.len()
    );
    assert!(
        done.stdout == f.theirs_data,
        "sockcat listen got {} bytes from {peer}",
        done.stdout.len()
    );
}

#[test]
fn connect_to_nc() {
    connect_to_peer("nc");
}

#[test]
fn connect_to_ncat() {
    connect_to_peer("ncat");
}

#[test]
fn connect_to_socat() {
    connect_to_peer("socat");
}

#[test]
fn nc_to_listen() {
    peer_connects_to_listen("nc");
}

#[test]
fn ncat_to_listen() {
    peer_connects_to_listen("ncat");
}

#[test]
fn socat_to_listen() {
    peer_connects_to_listen("socat");
}

#[test]
fn socat_receiver_unidirectional() {
    if !have("socat") {
        return;
    }
    let f = files();
    let port = free_port();
    let mut rx = Proc::spawn_program(
        "socat",
        &[
            "-d",
            "-d",
            "-u",
            &format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr"),
            "STDOUT",
        ],
        In::Null,
    );
    rx.wait_line_containing("listening on");
    Proc::spawn(
        &["connect", "127.0.0.1", &port.to_string()],
        In::File(f.ours.clone()),
    )
    .finish()
    .ok();
    assert!(rx.finish().ok().stdout == f.ours_data);
}
