//! A netcat user's first hour (issue 15): errors that teach, nc's habits pointed to the sockcat
//! form, the forms nc accepts.

use crate::common::{run, tcp_listener};

#[test]
fn clap_suggestions_are_kept() {
    run(&["lsten", "9000"], b"")
        .code(2)
        .one_error_line("a similar subcommand exists: 'listen'");
    run(&["connect", "--tiemout", "5", "127.0.0.1", "9"], b"")
        .code(2)
        .one_error_line("a similar argument exists: '--timeout'");
}

#[test]
fn a_usage_error_points_at_the_subcommands_help() {
    run(&["connect", "--tiemout", "5", "127.0.0.1", "9"], b"")
        .code(2)
        .one_error_line("(see 'sockcat connect --help')");
    run(&["udp-recv"], b"")
        .code(2)
        .one_error_line("(see 'sockcat udp-recv --help')");
    run(&["lsten"], b"")
        .code(2)
        .one_error_line("(see 'sockcat --help')");
}

#[test]
fn netcat_habits_are_pointed_to_the_sockcat_form() {
    let cases: [(&[&str], &str); 8] = [
        (&["-l", "9000"], "sockcat listen [ADDR] PORT"),
        (&["listen", "-l", "9000"], "listen already listens"),
        (&["listen", "-p", "9000"], "the port is an argument"),
        (
            &["connect", "-p", "5000", "127.0.0.1", "9"],
            "--source-port",
        ),
        (&["connect", "-u", "127.0.0.1", "9"], "udp-send"),
        (&["connect", "-N", "127.0.0.1", "9"], "half-closes"),
        (&["connect", "-q", "0", "127.0.0.1", "9"], "half-closes"),
        (&["connect", "-n", "127.0.0.1", "9"], "never looked up"),
    ];
    for (args, needle) in cases {
        run(args, b"").code(2).one_error_line(needle);
    }
}

#[test]
fn swapped_host_and_port_say_which_is_the_port() {
    run(&["connect", "9000", "127.0.0.1"], b"")
        .code(2)
        .one_error_line(
            "\"127.0.0.1\" is not a port: the host comes first, then the port (127.0.0.1 9000)",
        );
    run(&["udp-send", "9000", "127.0.0.1", "x"], b"")
        .code(2)
        .one_error_line("the host comes first");
}

#[test]
fn destination_port_0_is_bad_input() {
    for args in [
        &["connect", "127.0.0.1", "0"][..],
        &["connect", "127.0.0.1:0"],
        &["udp-send", "127.0.0.1", "0", "x"],
        &["udp-send", "127.0.0.1:0", "x"],
    ] {
        run(args, b"")
            .code(2)
            .one_error_line("port 0 is not a destination");
    }
}

/// nc's probe form: one host, then several ports.
#[test]
fn probe_one_host_several_ports() {
    let (_a, pa) = tcp_listener();
    let (_b, pb) = tcp_listener();
    let done = run(
        &[
            "connect",
            "-z",
            "127.0.0.1",
            &pa.to_string(),
            &pb.to_string(),
        ],
        b"",
    )
    .ok();
    assert_eq!(
        done.stdout_str(),
        format!("127.0.0.1:{pa} open\n127.0.0.1:{pb} open\n")
    );
}

/// Rates are MiB/s everywhere (udp-send --stats said MB/s, sendfile MiB/s).
#[test]
fn udp_stats_rate_is_mib_per_second() {
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = peer.local_addr().unwrap().port().to_string();
    let done = run(
        &["udp-send", "--stats", "127.0.0.1", &port, "a", "b", "c"],
        b"",
    )
    .ok();
    assert!(done.stderr.contains("MiB/s"), "{}", done.show());
    assert!(!done.stderr.contains(" MB/s"), "{}", done.show());
}

/// Positionals read clearly (issue 15 item 8): no `<ARGS>...`, `[PORT]...` or `<[ADDR] PORT>` in any
/// --help; every man page lists its ARGUMENTS before its OPTIONS; sendfile's prose is prose in its
/// man page (no sentence made a sub-heading); the udp-send hex example fits one line.
#[test]
fn positionals_read_clearly_in_help_and_man_pages() {
    for sub in [
        "listen",
        "connect",
        "udp-send",
        "udp-recv",
        "resolve",
        "sendfile",
        "sockopt",
        "byteorder",
    ] {
        let help = run(&[sub, "--help"], b"").ok().stdout_str();
        for bad in ["<ARGS>", "[PORT]...", "<[ADDR]", "[ADDR] [PORT]"] {
            assert!(
                !help.contains(bad),
                "sockcat {sub} --help shows {bad:?}\n{help}"
            );
        }
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("man/sockcat-{sub}.1")),
        )
        .unwrap();
        if let Some(args) = page.find(".SH ARGUMENTS") {
            let options = page.find(".SH OPTIONS").unwrap_or(usize::MAX);
            assert!(args < options, "man sockcat-{sub}: ARGUMENTS after OPTIONS");
        }
    }
    // `[ADDR] PORT`: the address is optional, the port is not, in --help as in the usage line.
    for sub in ["listen", "udp-recv"] {
        let help = run(&[sub, "--help"], b"").ok().stdout_str();
        assert!(
            help.contains("\n  [ADDR]\n") && help.contains("\n  <PORT>\n"),
            "sockcat {sub} --help: [ADDR] and <PORT>\n{help}"
        );
    }
    // The man pages' ARGUMENTS say which value is optional as the usage line does (clap alone
    // would write `ADDR PORT`, or `[ADDR] [PORT]` in --help).
    for (sub, heading) in [
        ("listen", "[ADDR]"),
        ("listen", "PORT"),
        ("udp-recv", "[ADDR]"),
        ("udp-recv", "PORT"),
        ("udp-send", "PORT [MESSAGE]..."),
        ("sendfile", "FILE HOST PORT"),
    ] {
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("man/sockcat-{sub}.1")),
        )
        .unwrap();
        assert!(
            page.contains(&format!(".TP\n\\fB{heading}\\fR\n")),
            "man sockcat-{sub}: no argument {heading:?}\n{page}"
        );
    }
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/sockcat-sendfile.1"),
    )
    .unwrap();
    assert!(page.contains(".SH ARGUMENTS"), "{page}");
    assert!(
        !page.contains(".SS \"Sending"),
        "a sentence as a heading\n{page}"
    );
    let help = run(&["udp-send", "--help"], b"").ok().stdout_str();
    let hex = help
        .lines()
        .find(|l| l.contains("--hex --wait-reply"))
        .unwrap_or("");
    assert!(hex.contains("| xxd") && hex.len() <= 100, "{hex:?}");
}

/// Runs `sh_cmd` with stdin, stdout and stderr on a pseudo-terminal (util-linux `script`); returns
/// what the terminal showed.
fn on_a_terminal(sh_cmd: &str) -> Option<String> {
    if !crate::common::have("script") {
        return None;
    }
    let done = crate::common::Proc::spawn_program(
        "script",
        &["-qefc", sh_cmd, "/dev/null"],
        crate::common::In::Null,
    )
    .finish()
    .ok();
    Some(done.stdout_str())
}

/// `--progress` with a regular file on stdin: a bar with the file's size as its total, and a summary
/// line left at the end (issue 15 item 12).
#[test]
fn progress_has_a_total_and_leaves_a_summary() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        crate::common::read_all(c).len()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::write_file(dir.path(), "in.bin", &crate::common::pattern(2 << 20, 3));
    let cmd = format!(
        "{} connect --progress 127.0.0.1 {port} < {}",
        crate::common::bin().display(),
        file.display()
    );
    let Some(shown) = on_a_terminal(&cmd) else {
        return;
    };
    assert_eq!(server.join().unwrap(), 2 << 20);
    assert!(shown.contains("/ 2.00 MiB"), "no total\n{shown:?}");
    let last = shown.trim_end().rsplit(['\r', '\n']).next().unwrap_or("");
    assert!(
        last.contains("sent 2.00 MiB, received 0 B in") && last.contains("MiB/s"),
        "no summary line at the end\n{shown:?}"
    );
}

/// `--progress` while stdin is a terminal draws nothing: a redrawn line would wipe what is typed.
#[test]
fn progress_stays_off_while_stdin_is_a_terminal() {
    let (l, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        use std::io::Write;
        let (mut c, _) = l.accept().unwrap();
        c.write_all(b"hello from server\n").unwrap();
    });
    let cmd = format!(
        "{} connect --progress 127.0.0.1 {port}",
        crate::common::bin().display()
    );
    let Some(shown) = on_a_terminal(&cmd) else {
        return;
    };
    server.join().unwrap();
    assert!(shown.contains("hello from server"), "{shown:?}");
    assert!(!shown.contains("received"), "a bar or summary\n{shown:?}");
}

/// `-e`/`-c` children's stderr is sockcat's stderr; `--stderr` sends it to the connection too (issue
/// 15 item 13).
#[test]
fn exec_stderr_goes_to_the_connection_only_with_stderr() {
    for (flag, want_client, want_server) in [
        (None, "out\n", true),
        (Some("--stderr"), "out\nerr\n", false),
    ] {
        let mut args = vec!["listen", "-v", "-c", "echo out; echo err >&2"];
        args.extend(flag);
        args.extend(["127.0.0.1", "0"]);
        let mut p = crate::common::Proc::spawn(&args, crate::common::In::Null);
        let addr = p.listening();
        let mut c = crate::common::connect(addr);
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let got = crate::common::read_all(&mut c);
        assert_eq!(String::from_utf8_lossy(&got), want_client, "{flag:?}");
        let done = p.finish().ok();
        assert_eq!(
            done.stderr.lines().any(|l| l == "err"),
            want_server,
            "{flag:?}\n{}",
            done.show()
        );
    }
}

/// A one-client server whose child fails says so once, in its error line (with -v too).
#[test]
fn a_failing_child_is_reported_once() {
    let mut p = crate::common::Proc::spawn(
        &["listen", "-v", "-c", "exit 3", "127.0.0.1", "0"],
        crate::common::In::Null,
    );
    let addr = p.listening();
    let mut c = crate::common::connect(addr);
    let _ = crate::common::read_all(&mut c);
    let done = p.finish().code(1);
    let said = done
        .stderr
        .lines()
        .filter(|l| l.contains("exited with"))
        .count();
    assert_eq!(said, 1, "{}", done.show());
}
