//! `byteorder` against Python's socket module (htons, inet_aton, inet_pton, inet_ntop...), which calls
//! the same C library.

use crate::common::run;
use crate::oracle::python;

fn out(args: &[&str]) -> Vec<String> {
    run(args, b"")
        .ok()
        .stdout_str()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn host_order() {
    let want = python("import sys\nprint(sys.byteorder)");
    assert_eq!(out(&["byteorder"]), vec![want.trim()]);
    let json = out(&["byteorder", "--json"]).remove(0);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["byteorder"], want.trim());
}

#[test]
fn swaps_match_the_c_library() {
    let shorts = ["0", "1", "1234", "0x1234", "65535", "0xff00"];
    let longs = ["0", "1", "1234", "0xdeadbeef", "4294967295", "16909060"];
    for (op, values) in [
        ("htons", &shorts),
        ("ntohs", &shorts),
        ("htonl", &longs),
        ("ntohl", &longs),
    ] {
        let code =
            format!("import socket\nfor v in {values:?}:\n    print(socket.{op}(int(v, 0)))");
        let want: Vec<String> = python(&code).lines().map(str::to_string).collect();
        let mut args = vec!["byteorder", op];
        args.extend(values.iter());
        assert_eq!(out(&args), want, "{op}");
    }
    assert_eq!(
        out(&["byteorder", "htons", "1234"]),
        vec![python("import socket\nprint(socket.htons(1234))").trim()]
    );
    let want = python("import socket\nprint('0x%08x' % socket.htonl(1))");
    assert_eq!(
        out(&["byteorder", "--hex", "htonl", "1"]),
        vec![want.trim()]
    );
    let want = python("import socket\nprint('0x%04x' % socket.htons(0x1234))");
    assert_eq!(
        out(&["byteorder", "htons", "0x1234", "--hex"]),
        vec![want.trim()]
    );
}

#[test]
fn out_of_range_is_status_2() {
    run(&["byteorder", "htons", "65536"], b"")
        .code(2)
        .one_error_line("65536");
    run(&["byteorder", "ntohs", "0x10000"], b"")
        .code(2)
        .one_error_line("0x10000");
    run(&["byteorder", "htonl", "4294967296"], b"")
        .code(2)
        .one_error_line("4294967296");
    run(&["byteorder", "htonl", "-1"], b"").code(2);
    run(&["byteorder", "htons", "twelve"], b"")
        .code(2)
        .one_error_line("twelve");
    run(&["byteorder", "htons"], b"")
        .code(2)
        .one_error_line("htons");
    run(&["byteorder", "swap", "1"], b"")
        .code(2)
        .one_error_line("swap");
}

const ATON_OK: &[&str] = &[
    "127.0.0.1",
    "127.1",
    "0x7f.1",
    "1",
    "0377.0.0.1",
    "10.0x10.1",
    "255.255.255.255",
    "4294967295",
    "1.2.3",
];
const ATON_BAD: &[&str] = &["1.2.3.4.5", "256.1.1.1", "abc", "4294967296", "1..2", ""];

#[test]
fn inet_aton_accepts_what_the_c_library_accepts() {
    let code =
        format!("import socket\nfor a in {ATON_OK:?}:\n    print(socket.inet_aton(a).hex())");
    let want: Vec<String> = python(&code).lines().map(str::to_string).collect();
    let mut args = vec!["byteorder", "inet-aton"];
    args.extend(ATON_OK);
    assert_eq!(out(&args), want);
    for bad in ATON_BAD {
        let code = format!(
            "import socket\ntry:\n    socket.inet_aton({bad:?}); print('ok')\nexcept OSError: print('rejected')"
        );
        assert_eq!(python(&code).trim(), "rejected", "{bad}");
        run(&["byteorder", "inet-aton", bad], b"")
            .code(1)
            .one_error_line("inet-aton");
    }
}

#[test]
fn inet_ntoa() {
    let want = python("import socket\nprint(socket.inet_ntoa(bytes.fromhex('7f000001')))");
    assert_eq!(
        out(&["byteorder", "inet-ntoa", "7f000001"]),
        vec![want.trim()]
    );
    for bad in ["zz", "7f00", "7f0000010", "7f00000102"] {
        run(&["byteorder", "inet-ntoa", bad], b"")
            .code(2)
            .one_error_line(bad);
    }
}

const PTON_OK: &[&str] = &[
    "1.2.3.4",
    "::1",
    "::",
    "::ffff:1.2.3.4",
    "2001:db8::1",
    "2001:DB8:0:0:1:0:0:1",
    "fe80::1:2",
    "1:2:3:4:5:6:7:8",
];
const PTON_BAD_V6: &[&str] = &[
    "1:2:3:4:5:6:7:8:9:10",
    "12:10",
    ":::",
    "1::2::3",
    "g::1",
    "1.2.3.4",
];

#[test]
fn inet_pton_matches_and_rejects_like_the_c_library() {
    let code = format!(
        "import socket\nfor a in {PTON_OK:?}:\n    f = socket.AF_INET6 if ':' in a else socket.AF_INET\n    print(socket.inet_pton(f, a).hex())"
    );
    let want: Vec<String> = python(&code).lines().map(str::to_string).collect();
    let mut args = vec!["byteorder", "inet-pton"];
    args.extend(PTON_OK);
    assert_eq!(out(&args), want);
    for bad in PTON_BAD_V6 {
        let code = format!(
            "import socket\ntry:\n    socket.inet_pton(socket.AF_INET6, {bad:?}); print('ok')\nexcept OSError: print('rejected')"
        );
        assert_eq!(python(&code).trim(), "rejected", "{bad}");
        run(&["byteorder", "inet-pton", "-6", bad], b"")
            .code(1)
            .one_error_line("not a valid IPv6 address");
    }
    // inet_pton is stricter than inet_aton.
    run(&["byteorder", "inet-pton", "-4", "127.1"], b"")
        .code(1)
        .one_error_line("127.1");
    run(&["byteorder", "inet-pton", "-4", "::1"], b"").code(1);
}

#[test]
fn inet_ntop_is_canonical_text() {
    let hexes = [
        "20010db8000000000000000000000001",
        "00000000000000000000000000000001",
        "00000000000000000000ffff01020304",
        "00000000000000000000000001020304",
        "20010db8000000000001000000000001",
        "20010db8000100000000000000000000",
        "7f000001",
    ];
    let code = format!(
        "import socket\nfor h in {hexes:?}:\n    b = bytes.fromhex(h)\n    print(socket.inet_ntop(socket.AF_INET6 if len(b) == 16 else socket.AF_INET, b))"
    );
    let want: Vec<String> = python(&code).lines().map(str::to_string).collect();
    let mut args = vec!["byteorder", "inet-ntop"];
    args.extend(hexes);
    assert_eq!(out(&args), want);
    assert_eq!(
        out(&["byteorder", "inet-ntop", "20010db8000000000000000000000001"]),
        vec!["2001:db8::1"]
    );
    for bad in ["0102", "zz", "20010db800000000000000000000000102"] {
        run(&["byteorder", "inet-ntop", bad], b"")
            .code(2)
            .one_error_line(bad);
    }
    // -4 / -6 fix the length; the other one is bad input, not silently the other family.
    assert_eq!(
        out(&["byteorder", "inet-ntop", "-4", "7f000001"]),
        vec!["127.0.0.1"]
    );
    assert_eq!(
        out(&[
            "byteorder",
            "inet-ntop",
            "-6",
            "00000000000000000000000000000001"
        ]),
        vec!["::1"]
    );
    run(
        &[
            "byteorder",
            "inet-ntop",
            "-4",
            "20010db8000000000000000000000001",
        ],
        b"",
    )
    .code(2)
    .one_error_line("is not 4 bytes");
    run(&["byteorder", "inet-ntop", "-6", "7f000001"], b"")
        .code(2)
        .one_error_line("is not 16 bytes");
}

#[test]
fn json_lines() {
    let lines = out(&["byteorder", "--json", "htons", "1234", "1"]);
    assert_eq!(lines.len(), 2);
    let doc: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let want = python("import socket\nprint(socket.htons(1234))");
    assert_eq!(doc["output"].to_string(), want.trim());
    let doc: serde_json::Value =
        serde_json::from_str(&out(&["byteorder", "--json", "inet-pton", "::1"])[0]).unwrap();
    assert_eq!(doc["hex"], "00000000000000000000000000000001");
    assert_eq!(doc["family"], "inet6");
    let doc: serde_json::Value =
        serde_json::from_str(&out(&["byteorder", "--json", "inet-ntop", "7f000001"])[0]).unwrap();
    assert_eq!(doc["address"], "127.0.0.1");
}
