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
        for bad in ["<ARGS>", "[PORT]...", "<[ADDR]", "ADDR] [PORT]..."] {
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
