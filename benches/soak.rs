//! The soak of issue 14 ("How it is judged"), full size: N idle, N non-reading and N slow clients at
//! once against `listen -k`, `--echo`, `--broker` and `-e cat`. The table gives the slowest of the
//! well-behaved client's rounds (for 5 s) while they are all connected (target: under 1 s; timed
//! once every client is in: accepting 3N clients of `-e cat` is 3N fork/execs); the notes give the
//! server's descriptors and RSS before, during and after (they must come back to the baseline).
//! tests/hostile.rs runs the same shape with 100 of each.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{
    Contender, Outcome, Proc, Scenario, Unit, free_port, note, open_fds, rss_kib, wait_listening,
};

/// What a well-behaved client does against each server; Err when it was not served.
fn served(mode: &str, addr: SocketAddr) -> Result<(), String> {
    let limit = Some(Duration::from_secs(10));
    let mut c =
        TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    c.set_read_timeout(limit).map_err(|e| e.to_string())?;
    match mode {
        "--broker" => {
            // Another client hears it.
            let mut b = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                .map_err(|e| e.to_string())?;
            b.set_read_timeout(limit).map_err(|e| e.to_string())?;
            // b is registered once it hears something sent after it connected.
            let tag = format!(
                "tag {}\n",
                b.local_addr().map_err(|e| e.to_string())?.port()
            );
            let mut seen = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(10);
            while !seen.windows(tag.len()).any(|w| w == tag.as_bytes()) {
                if Instant::now() > deadline {
                    return Err("the broker passed nothing on".into());
                }
                c.write_all(tag.as_bytes()).map_err(|e| e.to_string())?;
                let mut chunk = [0u8; 65536];
                let k = b.read(&mut chunk).map_err(|e| e.to_string())?;
                seen.extend_from_slice(&chunk[..k]);
            }
            Ok(())
        }
        "-k" => {
            // Its bytes go to the server's stdout (/dev/null): served once a write and a close go
            // through and the server answers the close with its own.
            c.write_all(b"hello\n").map_err(|e| e.to_string())?;
            c.shutdown(std::net::Shutdown::Write)
                .map_err(|e| e.to_string())?;
            let mut rest = Vec::new();
            c.read_to_end(&mut rest).map_err(|e| e.to_string())?;
            Ok(())
        }
        _ => {
            c.write_all(&[b'e'; 32]).map_err(|e| e.to_string())?;
            let mut back = [0u8; 32];
            c.read_exact(&mut back).map_err(|e| e.to_string())
        }
    }
}

fn soak_one(sockcat: &Path, mode: &'static str, n: usize) -> Outcome {
    let port = free_port();
    let p = port.to_string();
    let mut args = vec!["listen", "-k"];
    match mode {
        "-k" => {}
        "-e cat" => args.extend(["-e", "cat"]),
        other => args.push(other),
    }
    args.extend(["127.0.0.1", &p]);
    let mut cmd = std::process::Command::new(sockcat);
    // stdin stays open (a pipe nobody writes) so -k and --broker keep serving.
    cmd.args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = Proc::spawn(mode, &mut cmd)?;
    wait_listening(port, &mut server, Duration::from_secs(10))?;
    let pid = server.id();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    served(mode, addr)?;
    let (fds0, rss0) = (open_fds(pid), rss_kib(pid));
    let connect = || TcpStream::connect_timeout(&addr, Duration::from_secs(10));
    let mut all = Vec::with_capacity(3 * n);
    for i in 0..3 * n {
        let mut c = connect().map_err(|e| format!("client #{i}: {e}"))?;
        c.set_nonblocking(true).map_err(|e| e.to_string())?;
        if i % 3 == 1 {
            // Non-reading: sends something to answer, never reads. (In a broker every byte goes
            // to every client: a line, not 16 KiB times N times 3N.)
            let deaf = if mode == "--broker" { 16 } else { 16 * 1024 };
            let _ = c.write(&vec![b'd'; deaf]);
        }
        all.push(c);
    }
    // Measured once every client is in (for -e cat, 3N programs started) and what their arrival set
    // off is done (in a broker, every non-reader's line sent to everyone): one untimed round first.
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_fds(pid) < fds0 + 3 * n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    served(mode, addr)?;
    let mut worst = Duration::ZERO;
    let started = Instant::now();
    let mut one = [0u8; 1];
    while started.elapsed() < Duration::from_secs(5) {
        // The slow ones: a byte each way now and then (in a broker only read: each byte they sent
        // would go to all 3N clients).
        for c in all.iter_mut().skip(2).step_by(3) {
            if mode != "--broker" {
                let _ = c.write(b"s");
            }
            let _ = c.read(&mut one);
        }
        let t = Instant::now();
        served(mode, addr)?;
        worst = worst.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (fds1, rss1) = (open_fds(pid), rss_kib(pid));
    drop(all);
    let deadline = Instant::now() + Duration::from_secs(30);
    while open_fds(pid) > fds0 + 8 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (fds2, rss2) = (open_fds(pid), rss_kib(pid));
    note(
        format!(
            "{mode}: descriptors before -> with {} clients -> after",
            3 * n
        ),
        format!("{fds0} -> {fds1} -> {fds2}"),
    );
    note(
        format!("{mode}: RSS KiB before -> during -> after"),
        format!("{rss0} -> {rss1} -> {rss2}"),
    );
    drop(server);
    Ok(worst.as_secs_f64() * 1000.0)
}

pub fn scenario(sockcat: &Path, n: usize) -> Scenario {
    if let Err(e) = sockcat::fuzz::raise_nofile_limit() {
        note("raising RLIMIT_NOFILE", e.to_string());
    }
    let s = sockcat.display().to_string();
    let contenders = ["-k", "--echo", "--broker", "-e cat"]
        .into_iter()
        .map(|mode| {
            let bin = sockcat.to_path_buf();
            let name = match mode {
                "-k" => "sockcat listen -k".to_string(),
                other => format!("sockcat listen -k {other}"),
            };
            Contender::new(&name, &[s.as_str()], move || soak_one(&bin, mode, n))
        })
        .collect();
    Scenario {
        name: format!(
            "soak: {n} idle + {n} non-reading + {n} slow clients; the slowest well-behaved client meanwhile"
        ),
        unit: Unit::Millis,
        contenders,
    }
}
