//! Host names in --allow/--deny and --allow-file/--deny-file (issue 21 item 7). Only `localhost`
//! is named: it resolves from /etc/hosts, without DNS.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use crate::common::{In, LIMIT, Proc, run, write_file};

/// Starts `listen -k --echo -v ARGS 127.0.0.1 0`; returns it and its address.
fn echo_server(extra: &[&str]) -> (Proc, std::net::SocketAddr) {
    let mut args = vec!["listen", "-k", "--echo", "-v"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    let mut p = Proc::spawn(&args, In::Null);
    let addr = p.listening();
    (p, addr)
}

fn echoed(addr: std::net::SocketAddr) -> bool {
    let Ok(mut c) = TcpStream::connect_timeout(&addr, LIMIT) else {
        return false;
    };
    c.set_read_timeout(Some(LIMIT)).unwrap();
    if c.write_all(b"hi").is_err() || c.shutdown(Shutdown::Write).is_err() {
        return false;
    }
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    got == b"hi"
}

#[test]
fn host_names_are_rules() {
    let (_p, addr) = echo_server(&["--allow", "localhost"]);
    assert!(echoed(addr), "localhost (127.0.0.1) is allowed");
    let (mut p, addr) = echo_server(&["--deny", "localhost"]);
    assert!(!echoed(addr), "localhost (127.0.0.1) is denied");
    p.wait_line("refused 127.0.0.1:");
}

#[test]
fn rule_files_with_comments() {
    let dir = tempfile::tempdir().unwrap();
    let allow = write_file(
        dir.path(),
        "allow.txt",
        b"# who may connect\n\n10.0.0.0/8   # the lab\n  localhost\n",
    );
    let (_p, addr) = echo_server(&["--allow-file", allow.to_str().unwrap()]);
    assert!(echoed(addr));
    let only_lab = write_file(dir.path(), "lab.txt", b"10.0.0.0/8\n");
    let (_p, addr) = echo_server(&["--allow-file", only_lab.to_str().unwrap()]);
    assert!(!echoed(addr), "127.0.0.1 is not in 10.0.0.0/8");
    let deny = write_file(dir.path(), "deny.txt", b"localhost # not even me\n");
    let (_p, addr) = echo_server(&["--deny-file", deny.to_str().unwrap()]);
    assert!(!echoed(addr));
}

#[test]
fn bad_rules_are_status_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(dir.path(), "bad.txt", b"127.0.0.1\n10.0.0.0/33\n");
    run(&["listen", "--allow-file", bad.to_str().unwrap(), "0"], b"")
        .code(2)
        .one_error_line("bad.txt:2:");
    let missing = dir.path().join("missing.txt");
    run(
        &["listen", "--deny-file", missing.to_str().unwrap(), "0"],
        b"",
    )
    .code(2)
    .one_error_line("missing.txt");
}
