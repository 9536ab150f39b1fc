//! TLS bulk transfer on 127.0.0.1 (issue 16): a regular file on the sender's stdin, the receiver
//! writing /dev/null, each tool to its own kind: sockcat `listen --tls` / `connect --tls`, `ncat --ssl`,
//! socat `OPENSSL-LISTEN` / `OPENSSL`; and sockcat's peak RSS on each side. One ECDSA P-256
//! certificate, made here, serves every tool. `SOCKCAT_BENCH_BASELINE=PATH` adds an older sockcat
//! build in the same run.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::harness::{Scenario, Unit};
use crate::tcp::{Measure, Sink, Source, Tool, contenders, gib};

/// A self-signed certificate and key for localhost, in a temporary directory that is removed once
/// the last tool holding it (each receiver holds it) is dropped.
fn cert() -> (Rc<tempfile::TempDir>, String, String) {
    let dir = tempfile::Builder::new()
        .prefix("sockcat-bench-tls-")
        .tempdir()
        .expect("create the certificate directory");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("make a certificate");
    let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&c, made.cert.pem()).expect("write cert.pem");
    std::fs::write(&k, made.signing_key.serialize_pem()).expect("write key.pem");
    let s = |p: PathBuf| p.display().to_string();
    (Rc::new(dir), s(c), s(k))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// sockcat to sockcat over TLS (`name`: how the table calls this build).
fn sockcat_tool(
    name: &'static str,
    sockcat: &Path,
    (dir, cert, key): (&Rc<tempfile::TempDir>, &str, &str),
) -> Tool {
    let (c, k, dir) = (cert.to_string(), key.to_string(), dir.clone());
    Tool {
        name,
        program: sockcat.display().to_string(),
        receiver: Box::new(move |p, _| {
            let _ = &dir;
            args(&[
                "listen",
                "--recv-only",
                "--tls",
                "--cert",
                &c,
                "--key",
                &k,
                "127.0.0.1",
                &p.to_string(),
            ])
        }),
        // --insecure: the certificate is self-signed; verification costs nothing per byte.
        sender: Box::new(|p, _| {
            args(&[
                "connect",
                "--tls",
                "--insecure",
                "127.0.0.1",
                &p.to_string(),
            ])
        }),
        reads_stdin: true,
        writes_stdout: true,
    }
}

/// sockcat (and `SOCKCAT_BENCH_BASELINE`, an older build, when set), then the peers.
fn tools(sockcat: &Path, with_peers: bool) -> Vec<Tool> {
    let (dir, c, k) = cert();
    let mut tools = vec![sockcat_tool("sockcat --tls", sockcat, (&dir, &c, &k))];
    if let Some(old) = std::env::var_os("SOCKCAT_BENCH_BASELINE") {
        tools.push(sockcat_tool(
            "baseline sockcat --tls",
            Path::new(&old),
            (&dir, &c, &k),
        ));
    }
    let (c2, k2, dir2) = (c.clone(), k.clone(), dir.clone());
    if with_peers {
        let (c3, k3, dir3) = (c2.clone(), k2.clone(), dir);
        // Run through sh, ncat is not the program the harness looks for: left out when missing.
        let have_ncat = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("ncat").is_file()));
        tools.extend(have_ncat.then(|| Tool {
            name: "ncat --ssl",
            // ncat's client (--send-only) ends its session without close_notify, and ncat's server,
            // with OpenSSL 3, then exits 1 ("unexpected eof") after writing every byte: status 1 is
            // taken as success here (the bytes arrive: checked by hand with `| wc -c`). Both sides
            // run through sh (one program per tool); the sender execs ncat.
            program: "sh".into(),
            receiver: Box::new(move |p, _| {
                let _ = &dir2;
                args(&[
                    "-c",
                    "ncat \"$@\"; [ $? -le 1 ]",
                    "ncat",
                    "-l",
                    "--recv-only",
                    "--ssl",
                    "--ssl-cert",
                    &c2,
                    "--ssl-key",
                    &k2,
                    "127.0.0.1",
                    &p.to_string(),
                ])
            }),
            sender: Box::new(|p, _| {
                let port = p.to_string();
                args(&[
                    "-c",
                    "exec ncat \"$@\"",
                    "ncat",
                    "--send-only",
                    "--ssl",
                    "127.0.0.1",
                    &port,
                ])
            }),
            reads_stdin: true,
            writes_stdout: true,
        }));
        tools.push(Tool {
            name: "socat OPENSSL",
            program: "socat".into(),
            receiver: Box::new(move |p, out| {
                let _ = &dir3;
                args(&[
                    "-u",
                    &format!(
                        "OPENSSL-LISTEN:{p},bind=127.0.0.1,reuseaddr,cert={c3},key={k3},verify=0"
                    ),
                    &format!("OPEN:{}", out.display()),
                ])
            }),
            sender: Box::new(|p, _| {
                args(&["-u", "STDIN", &format!("OPENSSL:127.0.0.1:{p},verify=0")])
            }),
            reads_stdin: true,
            writes_stdout: false,
        });
    }
    tools
}

/// TLS throughput, a regular file on stdin -> /dev/null.
pub fn bulk(sockcat: &Path, file: Rc<PathBuf>, bytes: u64) -> Scenario {
    Scenario {
        name: format!(
            "TLS bulk {}: regular file on stdin -> /dev/null",
            gib(bytes)
        ),
        unit: Unit::GibPerSec,
        contenders: contenders(
            tools(sockcat, true),
            &Source::File(file),
            &Sink::Null,
            bytes,
            Measure::Throughput,
            &[],
        ),
    }
}

/// Peak RSS of each side of a TLS bulk transfer (target: at most 8 MiB).
pub fn peak_rss(sockcat: &Path, file: Rc<PathBuf>, bytes: u64, sender: bool) -> Scenario {
    let side = if sender { "sender" } else { "receiver" };
    Scenario {
        name: format!(
            "peak RSS of the TLS {side} during a {} bulk transfer",
            gib(bytes)
        ),
        unit: Unit::MiB,
        contenders: contenders(
            tools(sockcat, true),
            &Source::File(file),
            &Sink::Null,
            bytes,
            Measure::PeakRss { sender },
            &["/usr/bin/time"],
        ),
    }
}
