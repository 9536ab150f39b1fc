//! `resolve` against Python's socket module: getaddrinfo, getnameinfo, getservbyname/getservbyport,
//! getprotobyname and gethostname. Only names in /etc/hosts and loopback literals are looked up, so no
//! test sends a DNS query.

use crate::common::run;
use crate::oracle::{dns_is_local, hosts_names, python, python_json};

fn lines(args: &[&str]) -> Vec<String> {
    run(args, b"")
        .ok()
        .stdout_str()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Python's unique addresses for `name` (`family` 0, 4 or 6), in resolver order.
fn oracle_addresses(name: &str, family: u8) -> Vec<String> {
    let af = match family {
        4 => "socket.AF_INET",
        6 => "socket.AF_INET6",
        _ => "0",
    };
    let doc = python_json(&format!(
        "import socket, json\n\
         seen = []\n\
         for ai in socket.getaddrinfo({name:?}, None, {af}):\n\
         \x20   a = ai[4][0]\n\
         \x20   if a not in seen: seen.append(a)\n\
         print(json.dumps(seen))"
    ));
    serde_json::from_value(doc).unwrap()
}

fn names_to_check() -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    for n in hosts_names().into_iter().take(12) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

#[test]
fn addresses_are_getaddrinfos() {
    for name in names_to_check() {
        assert_eq!(
            lines(&["resolve", &name]),
            oracle_addresses(&name, 0),
            "{name}"
        );
    }
    assert_eq!(
        lines(&["resolve", "-4", "127.0.0.1"]),
        oracle_addresses("127.0.0.1", 4)
    );
    assert_eq!(lines(&["resolve", "-6", "::1"]), oracle_addresses("::1", 6));
    // Several names: their answers in order.
    let mut both = oracle_addresses("127.0.0.1", 0);
    both.extend(oracle_addresses("localhost", 0));
    assert_eq!(lines(&["resolve", "127.0.0.1", "localhost"]), both);
}

#[test]
fn all_lists_every_result() {
    for name in ["localhost", "127.0.0.1", "::1"] {
        let got: Vec<String> = lines(&["resolve", "--all", name])
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let want = python(&format!(
            "import socket\n\
             for f, t, p, c, sa in socket.getaddrinfo({name:?}, None):\n\
             \x20   print(f.name, t.name, p, sa[0])"
        ));
        assert_eq!(got, want.lines().collect::<Vec<_>>(), "{name}");
    }
}

#[test]
fn canonical_name_is_ai_canonname() {
    let want = python(
        "import socket\nprint(socket.getaddrinfo('localhost', None, 0, 0, 0, socket.AI_CANONNAME)[0][3])",
    );
    assert_eq!(
        lines(&["resolve", "--canonical", "localhost"]),
        vec![want.trim()]
    );
}

#[test]
fn json_lines_per_name() {
    let out = run(
        &[
            "resolve",
            "--json",
            "--all",
            "--canonical",
            "localhost",
            "127.0.0.1",
        ],
        b"",
    )
    .ok()
    .stdout_str();
    let docs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{out}");
    assert_eq!(docs[0]["name"], "localhost");
    assert_eq!(
        docs[0]["addresses"],
        serde_json::json!(oracle_addresses("localhost", 0))
    );
    assert_eq!(docs[1]["results"][0]["family"], "AF_INET");
    assert_eq!(docs[1]["results"][0]["address"], "127.0.0.1");
    assert!(docs[0]["canonical"].is_string(), "{out}");
}

#[test]
fn reverse_is_getnameinfo() {
    let want =
        python("import socket\nprint(socket.getnameinfo(('127.0.0.1', 0), socket.NI_NAMEREQD)[0])");
    assert_eq!(lines(&["resolve", "-x", "127.0.0.1"]), vec![want.trim()]);
    let out = run(&["resolve", "--reverse", "--json", "127.0.0.1"], b"")
        .ok()
        .stdout_str();
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["name"], want.trim());
    run(&["resolve", "-x", "not-an-address"], b"")
        .code(2)
        .one_error_line("not-an-address");
}

#[test]
fn reverse_without_a_name_is_status_1() {
    // A PTR miss is answered by DNS: only ask when DNS is on this machine.
    if !dns_is_local() {
        eprintln!("skipping: the DNS server is not on loopback");
        return;
    }
    let found = python(
        "import socket\ntry:\n    socket.getnameinfo(('127.0.0.254', 0), socket.NI_NAMEREQD); print('found')\nexcept OSError: print('none')",
    );
    if found.trim() == "none" {
        run(&["resolve", "-x", "127.0.0.254"], b"")
            .code(1)
            .one_error_line("127.0.0.254");
    }
}

#[test]
fn services_ports_protocols() {
    let want = python(
        "import socket\n\
         print(socket.getservbyname('http'))\n\
         print(socket.getservbyname('ssh', 'tcp'))\n\
         print(socket.getservbyname('domain', 'udp'))\n\
         print(socket.getservbyport(21))\n\
         print(socket.getservbyport(53, 'udp'))\n\
         print(socket.getprotobyname('tcp'))\n\
         print(socket.getprotobyname('udp'))\n\
         print(socket.getprotobyname('icmp'))",
    );
    let want: Vec<&str> = want.lines().collect();
    assert_eq!(
        lines(&["resolve", "--service", "http", "ssh/tcp", "domain/udp"]),
        want[0..3]
    );
    assert_eq!(lines(&["resolve", "--port", "21", "53/udp"]), want[3..5]);
    assert_eq!(
        lines(&["resolve", "--protocol", "tcp", "udp", "icmp"]),
        want[5..8]
    );
    // A number gives the name, and the name gives the number back.
    let name = lines(&["resolve", "--protocol", "17"]).remove(0);
    let number = python(&format!(
        "import socket\nprint(socket.getprotobyname({name:?}))"
    ));
    assert_eq!(number.trim(), "17");
    let out = run(&["resolve", "--json", "--service", "http"], b"")
        .ok()
        .stdout_str();
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["port"].to_string(), want[0]);
}

#[test]
fn hostname_is_gethostname() {
    let want = python("import socket\nprint(socket.gethostname())");
    assert_eq!(lines(&["resolve", "--hostname"]), vec![want.trim()]);
    let out = run(&["resolve", "--hostname", "--json"], b"")
        .ok()
        .stdout_str();
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["hostname"], want.trim());
}

#[test]
fn not_found_is_status_1_naming_what() {
    // Not a valid host name: the C library refuses it without asking DNS (Python agrees).
    let py = python(
        "import socket\ntry:\n    socket.getaddrinfo('no!such!host', None); print('found')\nexcept socket.gaierror: print('none')",
    );
    assert_eq!(py.trim(), "none");
    run(&["resolve", "no!such!host"], b"")
        .code(1)
        .one_error_line("resolve no!such!host: ");
    // A literal of the other family.
    run(&["resolve", "-4", "::1"], b"")
        .code(1)
        .one_error_line("::1");
    run(&["resolve", "--service", "no-such-service"], b"")
        .code(1)
        .one_error_line("no-such-service");
    run(&["resolve", "--protocol", "no-such-protocol"], b"")
        .code(1)
        .one_error_line("no-such-protocol");
    let py = python(
        "import socket\ntry:\n    socket.getservbyport(64999); print('found')\nexcept OSError: print('none')",
    );
    if py.trim() == "none" {
        run(&["resolve", "--port", "64999"], b"")
            .code(1)
            .one_error_line("64999");
    }
}

#[test]
fn usage_errors_are_status_2() {
    run(&["resolve"], b"").code(2).one_error_line("NAME");
    run(&["resolve", "--port", "70000"], b"")
        .code(2)
        .one_error_line("70000");
    run(&["resolve", "--port", "-1"], b"").code(2);
    run(&["resolve", "--service", "http/"], b"")
        .code(2)
        .one_error_line("http/");
    run(&["resolve", "localhost", "--service", "http"], b"").code(2);
}
