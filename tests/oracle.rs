//! Python's socket module as the oracle: it calls the same C library and kernel, so sockcat's answers
//! must match what it prints.

use crate::common::{In, Proc};

/// Runs `python3 -c CODE` (bounded by the harness) and returns its stdout; fails the test on error.
pub fn python(code: &str) -> String {
    let done = Proc::spawn_program("python3", &["-c", code], In::Null).finish();
    assert_eq!(done.code, Some(0), "python oracle failed\n{}", done.show());
    done.stdout_str()
}

/// Python's answer as JSON (the code must print one JSON document).
pub fn python_json(code: &str) -> serde_json::Value {
    let out = python(code);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bad oracle JSON {out:?}: {e}"))
}

/// The names in /etc/hosts, which getaddrinfo answers from the file without asking DNS.
pub fn hosts_names() -> Vec<String> {
    let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for name in line.split_whitespace().skip(1) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// Are all the DNS servers on loopback (or none configured, so the C library uses 127.0.0.1)? Only then
/// may a test make a lookup that could reach DNS without leaving the machine.
pub fn dns_is_local() -> bool {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .all(|ns| {
            ns.trim()
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
        })
}
