//! Endpoints in one argument (CLI.md): `tcp://HOST:PORT`, `unix:PATH`, `unix:@NAME`, and `--unix
//! @NAME`, the Linux abstract namespace, which creates and removes no file.

use std::io::{Read, Write};
use std::process::Command;

use crate::common::{In, Proc, bin, read_all, run, tcp_listener};

/// sockcat with its working directory in `dir`: a file named `@NAME` would land there.
fn spawn_in(dir: &std::path::Path, args: &[&str], stdin: In) -> Proc {
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir);
    Proc::spawn_cmd(cmd, "sockcat", args, stdin)
}

#[test]
fn abstract_unix_sockets_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("@sockcat-test-{}-abstract", std::process::id());
    let scheme = format!("unix:{name}");
    for (round, connect_args) in [
        ["connect", "--unix", name.as_str()].as_slice(),
        ["connect", scheme.as_str()].as_slice(),
    ]
    .into_iter()
    .enumerate()
    {
        let mut l = spawn_in(dir.path(), &["listen", "-v", "--unix", &name], In::Null);
        assert_eq!(l.wait_line("listening on "), format!("listening on {name}"));
        let input = crate::common::write_file(dir.path(), "in", b"abstract hello");
        let c = spawn_in(dir.path(), connect_args, In::File(input.clone()));
        c.finish().ok();
        std::fs::remove_file(&input).unwrap();
        assert_eq!(l.finish().ok().stdout, b"abstract hello", "round {round}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(
            left.is_empty(),
            "round {round}: files left behind: {left:?}"
        );
    }
}

#[test]
fn unix_scheme_targets_a_socket_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let path_s = path.to_str().unwrap().to_string();
    for target in [format!("unix:{path_s}"), format!("unix://{path_s}")] {
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = l.accept().unwrap();
            let got = read_all(&conn);
            conn.write_all(b"pong").unwrap();
            got
        });
        let done = run(&["connect", &target], b"ping").ok();
        assert_eq!(done.stdout, b"pong", "{target}");
        assert_eq!(server.join().unwrap(), b"ping", "{target}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn tcp_scheme_is_host_port() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = l.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        got
    });
    run(
        &["connect", &format!("tcp://127.0.0.1:{port}")],
        b"over tcp",
    )
    .ok();
    assert_eq!(server.join().unwrap(), b"over tcp");
}

#[test]
fn an_unknown_scheme_is_bad_input() {
    run(&["connect", "ftp://127.0.0.1:21"], b"")
        .code(2)
        .one_error_line("unknown scheme ftp://");
    run(&["connect", "unix:"], b"")
        .code(2)
        .one_error_line("no path after unix:");
}

/// sendfile takes the same one-argument endpoints: a Unix socket with unix:PATH.
#[test]
fn sendfile_to_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recv.sock");
    let data = crate::common::pattern(300_000, 7);
    let file = crate::common::write_file(dir.path(), "data.bin", &data);
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (conn, _) = l.accept().unwrap();
        read_all(&conn)
    });
    run(
        &[
            "sendfile",
            file.to_str().unwrap(),
            &format!("unix:{}", path.display()),
        ],
        b"",
    )
    .ok();
    assert!(server.join().unwrap() == data, "bytes differ");
}
