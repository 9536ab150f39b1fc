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

/// `ss` output for sockets matching `filter` (e.g. `-tlnm`, `sport = :PORT`).
fn ss(flags: &str, filter: &str) -> String {
    let out = std::process::Command::new("ss")
        .args([flags, filter])
        .output()
        .expect("run ss");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sockopt_reuseport_lets_a_second_listener_share_the_port() {
    let mut first = Proc::spawn(
        &[
            "listen",
            "-v",
            "--sockopt",
            "SO_REUSEPORT=1",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let port = first.port().to_string();
    // Without the option the port is taken.
    run(&["listen", "127.0.0.1", &port], b"").code(1);
    let mut second = Proc::spawn(
        &[
            "listen",
            "-v",
            "--sockopt",
            "so_reuseport=on",
            "127.0.0.1",
            &port,
        ],
        In::Null,
    );
    assert_eq!(second.port().to_string(), port);
    drop(first);
    drop(second);
}

#[test]
fn sockopt_values_are_on_the_sockets() {
    if !crate::common::have("ss") {
        return;
    }
    // Linux doubles SO_RCVBUF: 50000 reads back as rb100000 in ss -m.
    let mut l = Proc::spawn(
        &[
            "listen",
            "-v",
            "--sockopt",
            "SO_RCVBUF=50000",
            "127.0.0.1",
            "0",
        ],
        In::Pipe,
    );
    let port = l.port();
    let listening = ss("-tlnm", &format!("sport = :{port}"));
    assert!(listening.contains("rb100000"), "{listening}");
    // connect: the client socket, while the session is open.
    let mut c = Proc::spawn(
        &[
            "connect",
            "--sockopt",
            "SO_RCVBUF=60000",
            "127.0.0.1",
            &port.to_string(),
        ],
        In::Pipe,
    );
    c.write(b"x");
    assert!(l.stdout_has_within(b"x", LIMIT));
    let est = ss("-tnm", &format!("dport = :{port}"));
    assert!(est.contains("rb120000"), "{est}");
    // The accepted socket inherits the listener's.
    let acc = ss("-tnm", &format!("sport = :{port}"));
    assert!(acc.contains("rb100000"), "{acc}");
    drop(c);
    drop(l);
    // udp-recv: the --sockopt value stands (not its own 32 MiB default).
    let mut u = Proc::spawn(
        &[
            "udp-recv",
            "-v",
            "--sockopt",
            "SO_RCVBUF=70000",
            "127.0.0.1",
            "0",
        ],
        In::Null,
    );
    let uport = u.port();
    let udp = ss("-ulnm", &format!("sport = :{uport}"));
    assert!(udp.contains("rb140000"), "{udp}");
}

#[test]
fn sockopt_that_does_not_apply_or_does_not_exist_is_usage() {
    run(
        &["udp-recv", "--sockopt", "TCP_NODELAY=1", "127.0.0.1", "0"],
        b"",
    )
    .code(2)
    .one_error_line("TCP_NODELAY");
    run(
        &[
            "udp-send",
            "--sockopt",
            "IPV6_V6ONLY=1",
            "127.0.0.1",
            "9",
            "x",
        ],
        b"",
    )
    .code(2)
    .one_error_line("IPV6_V6ONLY");
    run(
        &["connect", "--sockopt", "SO_NOPE=1", "127.0.0.1", "9"],
        b"",
    )
    .code(2)
    .one_error_line("SO_NOPE");
    run(
        &["listen", "--sockopt", "SO_LINGER=soon", "127.0.0.1", "0"],
        b"",
    )
    .code(2)
    .one_error_line("SO_LINGER");
    run(
        &[
            "connect",
            "--unix",
            "/nonexistent/x",
            "--sockopt",
            "TCP_NODELAY=1",
        ],
        b"",
    )
    .code(2)
    .one_error_line("TCP_NODELAY");
}

#[test]
fn mptcp_end_to_end() {
    let enabled =
        std::fs::read_to_string("/proc/sys/net/mptcp/enabled").is_ok_and(|s| s.trim() == "1");
    if !enabled || !crate::common::have("ss") {
        return;
    }
    let mut l = Proc::spawn(&["listen", "-v", "--mptcp", "127.0.0.1", "0"], In::Pipe);
    let port = l.port();
    // ss -M lists MPTCP sockets only.
    let listening = ss("-Mln", &format!("sport = :{port}"));
    assert!(listening.contains(&format!(":{port}")), "{listening}");
    let mut c = Proc::spawn(
        &["connect", "--mptcp", "127.0.0.1", &port.to_string()],
        In::Pipe,
    );
    c.write(b"over mptcp");
    assert!(l.stdout_has_within(b"over mptcp", LIMIT));
    let est = ss("-Mn", &format!("dport = :{port}"));
    assert!(est.contains("ESTAB"), "{est}");
    c.close_stdin();
    l.close_stdin();
    assert_eq!(l.finish().ok().stdout, b"over mptcp");
    c.finish().ok();
    // Without --mptcp it is plain TCP: not in ss -M.
    let mut plain = Proc::spawn(&["listen", "-v", "127.0.0.1", "0"], In::Null);
    let p2 = plain.port();
    assert!(!ss("-Mln", &format!("sport = :{p2}")).contains(&format!(":{p2}")));
}

/// A launcher doing what systemd does: bind (and for TCP listen) a socket on loopback, put it at fd 3,
/// set LISTEN_PID (its own pid, kept across exec), LISTEN_FDS and LISTEN_FDNAMES, exec sockcat.
const LAUNCHER: &str = "import os,socket,sys\n\
kind=sys.argv[1]\n\
if kind=='unix':\n    s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(sys.argv[2]); args=sys.argv[3:]\n\
else:\n    s=socket.socket(socket.AF_INET,socket.SOCK_STREAM if kind=='tcp' else socket.SOCK_DGRAM)\n    s.bind(('127.0.0.1',0)); args=sys.argv[2:]\n\
if kind=='tcp': s.listen(16)\n\
os.dup2(s.fileno(),3); os.set_inheritable(3,True)\n\
os.environ.update(LISTEN_PID=str(os.getpid()),LISTEN_FDS='1',LISTEN_FDNAMES='sockcat.socket')\n\
os.execv(args[0],args)\n";

/// `kind` is tcp, udp, or unix with its path as the first of `args`, then sockcat's arguments.
fn activated(kind: &str, args: &[&str]) -> Proc {
    let bin = crate::common::bin();
    let mut all = vec!["-c", LAUNCHER, kind];
    let (path, args) = if kind == "unix" {
        args.split_at(1)
    } else {
        (&[][..], args)
    };
    all.extend_from_slice(path);
    all.push(bin.to_str().unwrap());
    all.extend_from_slice(args);
    Proc::spawn_program("python3", &all, In::Pipe)
}

#[test]
fn systemd_activation_listen_and_udp_recv() {
    if !crate::common::have("python3") {
        return;
    }
    // listen: the passed socket serves; -c children do not see LISTEN_* (nor the descriptor).
    let mut l = activated(
        "tcp",
        &["listen", "--systemd", "-v", "-c", "env; ls /proc/self/fd"],
    );
    let addr = l.listening();
    let got = crate::common::read_all(crate::common::connect(addr));
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("SOCKCAT_REMOTE_ADDR=127.0.0.1"), "{text}");
    assert!(!text.contains("LISTEN_"), "{text}");
    drop(l);
    // udp-recv over UDP.
    let mut u = activated("udp", &["udp-recv", "--systemd", "-v", "-c", "1"]);
    let addr = u.listening();
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(b"activated", addr)
        .unwrap();
    assert_eq!(u.finish().ok().stdout, b"activated");
    // udp-recv over a Unix datagram socket, answered with --echo.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("act.sock");
    let mut x = activated(
        "unix",
        &[
            path.to_str().unwrap(),
            "udp-recv",
            "--systemd",
            "-v",
            "--echo",
            "-c",
            "1",
        ],
    );
    x.wait_line("listening on ");
    let sent = run(
        &[
            "udp-send",
            "--unix",
            path.to_str().unwrap(),
            "--wait-reply",
            "1s",
            "hey",
        ],
        b"",
    )
    .ok();
    assert_eq!(sent.stdout, b"hey");
    assert_eq!(x.finish().ok().stdout, b"hey");
}

#[test]
fn systemd_without_activation_or_with_the_wrong_socket_is_usage() {
    run(&["listen", "--systemd"], b"")
        .code(2)
        .one_error_line("LISTEN_PID");
    if crate::common::have("python3") {
        // A datagram socket passed to listen.
        let done = activated("udp", &["listen", "--systemd"]).finish();
        assert_eq!(done.code, Some(2), "{}", done.show());
        assert!(done.stderr.contains("no stream socket"), "{}", done.show());
    }
}

#[test]
fn systemd_socket_activate_runs_listen() {
    if !crate::common::have("systemd-socket-activate") {
        return;
    }
    // Find a free port, then let systemd-socket-activate bind it and start sockcat on the first client.
    let port = crate::common::free_port().to_string();
    let bin = crate::common::bin();
    let mut p = Proc::spawn_program(
        "systemd-socket-activate",
        &[
            "-l",
            &format!("127.0.0.1:{port}"),
            bin.to_str().unwrap(),
            "listen",
            "--systemd",
            "--echo",
        ],
        In::Null,
    );
    p.wait_line_containing("Listening on");
    let mut c = crate::common::connect(format!("127.0.0.1:{port}").parse().unwrap());
    use std::io::Write;
    c.write_all(b"echo me").unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(crate::common::read_all(c), b"echo me");
}
