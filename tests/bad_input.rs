//! Malformed invocations of every subcommand: each is status 2 with exactly one line on stderr,
//! `sockcat: error: ...`, naming what was wrong. Nothing here touches the network.

use crate::common::run;

/// (arguments, a word the error line must contain)
const CASES: &[(&[&str], &str)] = &[
    // ports and endpoints
    (&["connect", "127.0.0.1", "65536"], "65536"),
    (&["connect", "127.0.0.1", "-1"], ""),
    (&["connect", "127.0.0.1:99999"], "99999"),
    (
        &["connect", "127.0.0.1", "no-such-service-x"],
        "no-such-service-x",
    ),
    (&["connect", "1:2:3::4:80"], "[ADDR]:PORT"),
    (&["connect", "[::1]80"], "[::1]80"),
    (&["connect", "[nothex]:80"], "nothex"),
    (&["listen", "0x10"], "0x10"),
    (
        &["listen", "127.0.0.1", "1", "2"],
        "unexpected argument '2'",
    ),
    (&["udp-send", "127.0.0.1", "99999", "x"], "99999"),
    (&["udp-recv", "70000"], "70000"),
    (
        &["connect", "--source-port", "65536", "127.0.0.1", "1"],
        "65536",
    ),
    // port lists and ranges
    (&["connect", "-z", "127.0.0.1", "100-10"], "100-10"),
    (&["connect", "-z", "127.0.0.1", "1-65536"], "65536"),
    (&["connect", "-z", "127.0.0.1", "1,,2"], "empty"),
    (&["connect", "-z", "127.0.0.1:5-"], ""),
    // durations
    (&["connect", "-w", "soon", "127.0.0.1", "1"], "soon"),
    (&["connect", "-w", "-1", "127.0.0.1", "1"], ""),
    (
        &["connect", "--wait-for", "1fortnight", "127.0.0.1", "1"],
        "1fortnight",
    ),
    (&["listen", "-i", "NaN", "0"], "NaN"),
    (&["udp-recv", "-w", "5 parsecs", "0"], "parsecs"),
    (&["udp-send", "--interval", "x", "127.0.0.1", "9", "m"], "x"),
    // CIDRs
    (&["listen", "--allow", "10.0.0.0/33", "0"], "10.0.0.0/33"),
    (&["listen", "--deny", "::/129", "0"], "::/129"),
    // (A host name is a rule now, issue 21 item 7; a word with a space can be neither.)
    (&["listen", "--allow", "local host", "0"], "local host"),
    // hex
    (&["udp-send", "--hex", "127.0.0.1", "9", "zz"], "hex"),
    (&["udp-send", "--hex", "127.0.0.1", "9", "abc"], "hex"),
    (&["byteorder", "inet-ntoa", "7f00"], "4"),
    (&["byteorder", "inet-ntoa", "xyz1"], "hex"),
    (&["byteorder", "inet-ntop", "0102030405"], "5 bytes"),
    // numbers
    (&["byteorder", "htons", "65536"], "65536"),
    (&["byteorder", "htonl", "4294967296"], "4294967296"),
    (&["byteorder", "htonl", "-1"], "-1"),
    (&["byteorder", "ntohs", "0xfffff"], "0xfffff"),
    (&["listen", "--max-conns", "0", "0"], "0"),
    (&["udp-recv", "-c", "0", "0"], "0"),
    // option names and values
    (&["sockopt", "--get", "SO_BOGUS"], "SO_BOGUS"),
    (&["sockopt", "--set", "SO_RCVBUF=abc"], "abc"),
    (&["sockopt", "--set", "SO_RCVBUF"], "NAME=VALUE"),
    (&["udp-recv", "--format", "xml", "0"], "xml"),
    (&["listen", "--frobnicate", "0"], "--frobnicate"),
    // files and programs
    (
        &["listen", "-o", "/no/such/dir/out", "0"],
        "/no/such/dir/out",
    ),
    (
        &["listen", "-e", "/no/such/program", "0"],
        "/no/such/program",
    ),
    // conflicting or missing arguments
    (
        &["connect", "--recv-only", "--send-only", "127.0.0.1", "1"],
        "--send-only",
    ),
    (&["listen", "--echo", "--broker", "0"], "--broker"),
    (&["connect"], "TARGET"),
    (&["udp-send"], ""),
    (&["nosuchcommand"], "nosuchcommand"),
];

#[test]
fn every_malformed_invocation_is_status_2_with_one_line() {
    let mut failures = Vec::new();
    for (args, needle) in CASES {
        let done = run(args, b"");
        let lines: Vec<&str> = done.stderr.lines().collect();
        let ok = done.code == Some(2)
            && lines.len() == 1
            && lines[0].starts_with("sockcat: error: ")
            && lines[0].contains(needle)
            && done.stdout.is_empty();
        if !ok {
            failures.push(done.show());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}
