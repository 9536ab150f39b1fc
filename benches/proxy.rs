//! Forwarding and proxy tunnels (issues 17 and 18): the same fast ends for every middle box, in the
//! same run. The sender is `sockcat sendfile FILE` (with `--proxy URL` for the tunnels), the receiver
//! `sockcat listen --recv-only > /dev/null`; a run is timed from the sender's start until the receiver
//! has everything and exits. The direct transfer (no middle box) is the ceiling.
//!
//! The sender's kernel work caps the bulk rates (the same sockcat sendfile sender for every middle
//! box), so the bulk scenarios also give the middle box's own CPU seconds per GiB moved: user +
//! system of the middle process, all its threads (haproxy's too), and of its children once reaped,
//! from /proc/PID/stat (utime, stime, cutime, cstime) between the sender's start and the receiver's
//! exit, read before the middle box is stopped.
//!
//! - forwarding: `sockcat listen --forward`, haproxy (`option splice-request`/`splice-response`),
//!   socat `TCP-LISTEN,fork`;
//! - TLS termination: the sender `sendfile --tls`, the middle box decrypting and forwarding in the
//!   clear: `sockcat listen -k --tls --forward` (the session on the server's loop), haproxy (`bind …
//!   ssl crt`), socat `OPENSSL-LISTEN,fork` (the direct TLS transfer is `tls.rs`'s bulk scenario);
//! - the forwarder's cost under 100 concurrent bulk pairs: its peak RSS and threads, sockcat against
//!   haproxy;
//! - SOCKS5 tunnel: `sockcat listen --proxy-server` against microsocks;
//! - HTTP CONNECT tunnel: `sockcat listen --proxy-server` against tinyproxy.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::harness::{
    Contender, Outcome, Proc, Scenario, Unit, clock_ticks, cpu, extra, free_port, note, quiet,
    wait_childless, wait_listening,
};
use crate::harness::{open_fds, status_field};

const LIMIT: Duration = Duration::from_secs(120);

/// A middle box's arguments given its port, the receiver's port and a scratch directory.
type MiddleArgs = Box<dyn Fn(u16, u16, &Path) -> Vec<String>>;

/// How a middle box is started on a port, sending on to `target`: its program and arguments, and a
/// config file to write first (name, contents) where it needs one.
struct Middle {
    name: &'static str,
    program: String,
    args: MiddleArgs,
    /// The proxy URL the sender uses (`{P}` is the middle box's port); None: connect to it directly.
    proxy_url: Option<&'static str>,
    /// The sender speaks TLS (`sendfile --tls --insecure`) to the middle box, which terminates it
    /// with the certificate and key of [`tls_files`] in its scratch directory.
    tls: bool,
}

fn s(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// One transfer through `middle` (None: direct). Returns MiB/s; records the middle box's CPU seconds
/// per GiB as the second figure.
fn transfer(
    sockcat: &Path,
    middle: Option<&Middle>,
    file: &Path,
    bytes: u64,
    dir: &Path,
) -> Outcome {
    let sc = sockcat.display().to_string();
    let rport = free_port();
    let mut receiver = Proc::spawn(
        "receiver",
        &mut quiet(
            &sc,
            &["listen", "--recv-only", "127.0.0.1", &rport.to_string()],
        ),
    )?;
    wait_listening(rport, &mut receiver, Duration::from_secs(10))?;
    let mut mid = None;
    let mut target_port = rport;
    let mut proxy = None;
    if let Some(m) = middle {
        let mport = free_port();
        let args = (m.args)(mport, rport, dir);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut p = Proc::spawn(m.name, &mut quiet(&m.program, &argv))?;
        wait_listening(mport, &mut p, Duration::from_secs(10))?;
        mid = Some(p);
        match m.proxy_url {
            Some(url) => proxy = Some(url.replace("{P}", &mport.to_string())),
            None => target_port = mport,
        }
    }
    let mut args = vec!["sendfile".to_string(), "--no-progress".into()];
    if middle.is_some_and(|m| m.tls) {
        args.extend(["--tls".into(), "--insecure".into()]);
    }
    if let Some(url) = &proxy {
        args.extend(["--proxy".into(), url.clone()]);
    }
    args.extend([
        file.display().to_string(),
        "127.0.0.1".into(),
        target_port.to_string(),
    ]);
    let pid = mid.as_ref().map(Proc::id);
    // Its start-up (haproxy reading its configuration) is not part of the transfer.
    let cpu_before = match pid {
        Some(pid) => Some(middle_cpu(pid)?),
        None => None,
    };
    let started = Instant::now();
    let sender = Command::new(&sc)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn sender: {e}"))?;
    let sender = Proc::from_child("sender", sender);
    sender.wait_ok(LIMIT)?;
    receiver.wait_ok(LIMIT)?;
    let secs = started.elapsed().as_secs_f64();
    if let (Some(pid), Some(before)) = (pid, cpu_before) {
        // socat's fork mode serves the connection in a child: its CPU reaches the parent's cutime and
        // cstime only once the parent has reaped it, which it does on SIGCHLD after the child has
        // seen both ends close. So wait until the parent has no child left (zombies count: a zombie
        // is listed until reaped), then read; reading the child's own stat while it lives would miss
        // what it spends after the read. The other middle boxes have no children.
        wait_childless(pid, Duration::from_secs(10))?;
        let used = middle_cpu(pid)? - before;
        let gib = bytes as f64 / (1u64 << 30) as f64;
        extra("CPU s per GiB, the middle box", used / gib);
        note(
            format!(
                "CPU s per GiB counts /proc clock ticks of 1/{} s: one tick is {:.3} here",
                clock_ticks(),
                1.0 / clock_ticks() / gib
            ),
            "",
        );
    }
    // `mid` is stopped here, after the reading.
    drop(mid);
    Ok(bytes as f64 / (1 << 20) as f64 / secs)
}

/// CPU seconds the process `pid` has used: its own (all threads) and its reaped children's.
fn middle_cpu(pid: u32) -> Result<f64, String> {
    let c = cpu(&pid.to_string()).ok_or_else(|| format!("no /proc/{pid}/stat"))?;
    Ok(c.own + c.reaped_children)
}

fn contender(
    sockcat: &Path,
    middle: Option<Middle>,
    file: Rc<PathBuf>,
    bytes: u64,
    name: &str,
) -> Contender {
    let sockcat = sockcat.to_path_buf();
    let programs: Vec<String> = middle.iter().map(|m| m.program.clone()).collect();
    let progs: Vec<&str> = programs.iter().map(String::as_str).collect();
    Contender::new(name, &progs, move || {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        transfer(&sockcat, middle.as_ref(), &file, bytes, dir.path())
    })
}

fn sockcat_forward(sockcat: &Path) -> Middle {
    Middle {
        name: "sockcat --forward",
        program: sockcat.display().to_string(),
        args: Box::new(|m, r, _| {
            s(&[
                "listen",
                "127.0.0.1",
                &m.to_string(),
                "--forward",
                &format!("127.0.0.1:{r}"),
            ])
        }),
        proxy_url: None,
        tls: false,
    }
}

fn sockcat_proxy(sockcat: &Path, name: &'static str, url: &'static str) -> Middle {
    Middle {
        name,
        program: sockcat.display().to_string(),
        args: Box::new(|m, _, _| s(&["listen", "--proxy-server", &m.to_string()])),
        proxy_url: Some(url),
        tls: false,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a config file");
    path.display().to_string()
}

/// haproxy forwarding with splice, at most `maxconn` clients at once.
fn haproxy_splice(maxconn: usize) -> Middle {
    Middle {
        name: "haproxy (splice)",
        program: "haproxy".into(),
        args: Box::new(move |m, r, dir| {
            let conf = format!(
                "global\n  maxconn {maxconn}\ndefaults\n  mode tcp\n  timeout connect 5s\n  \
                 timeout client 60s\n  timeout server 60s\n  option splice-request\n  \
                 option splice-response\nfrontend fe\n  bind 127.0.0.1:{m}\n  default_backend be\n\
                 backend be\n  server s1 127.0.0.1:{r}\n"
            );
            s(&["-db", "-f", &write(dir, "haproxy.cfg", &conf)])
        }),
        proxy_url: None,
        tls: false,
    }
}

/// Forwarding throughput: sockcat, haproxy (splice), socat, and the direct ceiling.
pub fn forwarding(sockcat: &Path, file: Rc<PathBuf>, bytes: u64) -> Scenario {
    let haproxy = haproxy_splice(100);
    let socat = Middle {
        name: "socat TCP-LISTEN,fork",
        program: "socat".into(),
        args: Box::new(|m, r, _| {
            s(&[
                &format!("TCP-LISTEN:{m},bind=127.0.0.1,fork,reuseaddr"),
                &format!("TCP:127.0.0.1:{r}"),
            ])
        }),
        proxy_url: None,
        tls: false,
    };
    Scenario {
        name: format!(
            "TCP forwarding {} MiB: sendfile -> forwarder -> listen --recv-only",
            bytes >> 20
        ),
        unit: Unit::MiBPerSec,
        contenders: vec![
            contender(
                sockcat,
                Some(sockcat_forward(sockcat)),
                file.clone(),
                bytes,
                "sockcat listen --forward",
            ),
            contender(
                sockcat,
                Some(haproxy),
                file.clone(),
                bytes,
                "haproxy (splice)",
            ),
            contender(
                sockcat,
                Some(socat),
                file.clone(),
                bytes,
                "socat TCP-LISTEN,fork",
            ),
            contender(sockcat, None, file, bytes, "direct (no forwarder)"),
        ],
    }
}

/// A self-signed certificate for localhost in `dir`: (cert.pem, key.pem, both.pem: the two in one
/// file, as haproxy's `crt` wants them).
pub fn tls_files(dir: &Path) -> (String, String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("make a certificate");
    let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
    (
        write(dir, "cert.pem", &cert),
        write(dir, "key.pem", &key),
        write(dir, "both.pem", &format!("{cert}{key}")),
    )
}

/// `sockcat listen -k --tls --forward` on `port`, to a target on `target`: its arguments.
pub fn tls_terminator(cert: &str, key: &str, port: u16, target: u16) -> Vec<String> {
    s(&[
        "listen",
        "-k",
        "--tls",
        "--cert",
        cert,
        "--key",
        key,
        "--forward",
        &format!("127.0.0.1:{target}"),
        "127.0.0.1",
        &port.to_string(),
    ])
}

/// TLS termination throughput: `sendfile --tls` into a middle box that decrypts and forwards in the
/// clear: sockcat (`-k`: the session on the server's loop), haproxy and socat. The sender's TLS is
/// the same for all, and caps the rate (see the TLS bulk scenario); each middle box's CPU per GiB
/// is its cost.
pub fn tls_termination(sockcat: &Path, file: Rc<PathBuf>, bytes: u64) -> Scenario {
    let sockcat_mid = Middle {
        name: "sockcat -k --tls --forward",
        program: sockcat.display().to_string(),
        args: Box::new(|m, r, dir| {
            let (cert, key, _) = tls_files(dir);
            tls_terminator(&cert, &key, m, r)
        }),
        proxy_url: None,
        tls: true,
    };
    let haproxy = Middle {
        name: "haproxy (ssl)",
        program: "haproxy".into(),
        args: Box::new(|m, r, dir| {
            let (_, _, both) = tls_files(dir);
            let conf = format!(
                "global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 5s\n  \
                 timeout client 60s\n  timeout server 60s\nfrontend fe\n  \
                 bind 127.0.0.1:{m} ssl crt {both}\n  default_backend be\n\
                 backend be\n  server s1 127.0.0.1:{r}\n"
            );
            s(&["-db", "-f", &write(dir, "haproxy.cfg", &conf)])
        }),
        proxy_url: None,
        tls: true,
    };
    let socat = Middle {
        name: "socat OPENSSL-LISTEN,fork",
        program: "socat".into(),
        args: Box::new(|m, r, dir| {
            let (cert, key, _) = tls_files(dir);
            s(&[
                &format!(
                    "OPENSSL-LISTEN:{m},bind=127.0.0.1,cert={cert},key={key},verify=0,fork,reuseaddr"
                ),
                &format!("TCP:127.0.0.1:{r}"),
            ])
        }),
        proxy_url: None,
        tls: true,
    };
    let contenders = [sockcat_mid, haproxy, socat]
        .into_iter()
        .map(|m| {
            let name = m.name;
            contender(sockcat, Some(m), file.clone(), bytes, name)
        })
        .collect();
    Scenario {
        name: format!(
            "TLS termination {} MiB: sendfile --tls -> terminator -> listen --recv-only",
            bytes >> 20
        ),
        unit: Unit::MiBPerSec,
        contenders,
    }
}

/// One run of `pairs` senders at once through `middle` into one `listen -k --recv-only`: the
/// middle box's peak RSS (VmHWM, MiB), its peak thread count (the second figure) and, in notes, the
/// peak of its descriptors (about 4 per pair: 400 says all 100 were open at once) and the aggregate
/// throughput. Threads and descriptors are sampled every 2 ms.
fn pairs_run(
    sockcat: &Path,
    middle: &Middle,
    file: &Path,
    bytes_each: u64,
    pairs: usize,
) -> Outcome {
    let sc = sockcat.display().to_string();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let rport = free_port();
    let mut receiver = Proc::spawn(
        "receiver",
        &mut quiet(
            &sc,
            &[
                "listen",
                "-k",
                "--recv-only",
                "127.0.0.1",
                &rport.to_string(),
            ],
        ),
    )?;
    wait_listening(rport, &mut receiver, Duration::from_secs(10))?;
    let mport = free_port();
    let args = (middle.args)(mport, rport, dir.path());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut mid = Proc::spawn(middle.name, &mut quiet(&middle.program, &argv))?;
    wait_listening(mport, &mut mid, Duration::from_secs(10))?;
    let pid = mid.id();
    let base_fds = open_fds(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let (mut threads, mut fds) = (0u64, 0usize);
            while !stop.load(Ordering::Relaxed) {
                threads = threads.max(status_field(pid, "Threads:").unwrap_or(0));
                fds = fds.max(open_fds(pid));
                std::thread::sleep(Duration::from_millis(2));
            }
            (threads, fds)
        }
    });
    let started = Instant::now();
    let mut senders = Vec::with_capacity(pairs);
    let file = file.display().to_string();
    let port = mport.to_string();
    for i in 0..pairs {
        let argv = ["sendfile", "--no-progress", &file, "127.0.0.1", &port];
        match Proc::spawn(&format!("sender #{i}"), &mut quiet(&sc, &argv)) {
            Ok(p) => senders.push(p),
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    }
    let mut failed = None;
    for p in senders {
        if let Err(e) = p.wait_ok(LIMIT) {
            failed.get_or_insert(e);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (threads, fds) = sampler.join().map_err(|_| "the sampler panicked")?;
    if let Some(e) = failed {
        return Err(e);
    }
    let hwm_kib = status_field(pid, "VmHWM:").ok_or("no VmHWM")?;
    extra("peak threads", threads as f64);
    note(
        format!(
            "{}: peak descriptors beyond idle (a concurrent pair: 2 sockets and a splice pipe's 2)",
            middle.name
        ),
        fds.saturating_sub(base_fds).to_string(),
    );
    note(
        format!("{}: aggregate MiB/s", middle.name),
        format!(
            "{:.0}",
            (bytes_each * pairs as u64) as f64 / (1 << 20) as f64 / secs
        ),
    );
    Ok(hwm_kib as f64 / 1024.0)
}

/// The forwarder's cost under `pairs` concurrent bulk pairs (issue 17: "the forwarder's peak RSS
/// under 100 concurrent bulk pairs"): `pairs` `sockcat sendfile` clients of `bytes_each` at once
/// through the forwarder into one `sockcat listen -k --recv-only`; sockcat `listen --forward`
/// against haproxy with splice, in the same run.
pub fn forwarding_pairs(
    sockcat: &Path,
    file: Rc<PathBuf>,
    bytes_each: u64,
    pairs: usize,
) -> Scenario {
    let contender = |middle: Middle, file: Rc<PathBuf>| {
        let sockcat = sockcat.to_path_buf();
        let program = middle.program.clone();
        Contender::new(middle.name, &[&program], move || {
            pairs_run(&sockcat, &middle, &file, bytes_each, pairs)
        })
    };
    Scenario {
        name: format!(
            "forwarder peak RSS, {pairs} concurrent pairs of {} MiB: sendfile x{pairs} -> forwarder -> listen -k --recv-only",
            bytes_each >> 20
        ),
        unit: Unit::MiB,
        contenders: vec![
            contender(sockcat_forward(sockcat), file.clone()),
            contender(haproxy_splice(4 * pairs), file),
        ],
    }
}

/// SOCKS5 and HTTP CONNECT tunnel throughput: sockcat --proxy-server against microsocks and tinyproxy.
pub fn tunnels(sockcat: &Path, file: Rc<PathBuf>, bytes: u64) -> Vec<Scenario> {
    let microsocks = Middle {
        name: "microsocks",
        program: "microsocks".into(),
        args: Box::new(|m, _, _| s(&["-i", "127.0.0.1", "-p", &m.to_string()])),
        proxy_url: Some("socks5://127.0.0.1:{P}"),
        tls: false,
    };
    let tinyproxy = Middle {
        name: "tinyproxy",
        program: "tinyproxy".into(),
        args: Box::new(|m, _, dir| {
            let conf = format!(
                "Port {m}\nListen 127.0.0.1\nTimeout 60\nMaxClients 50\nLogLevel Critical\n"
            );
            s(&["-d", "-c", &write(dir, "tinyproxy.conf", &conf)])
        }),
        proxy_url: Some("http://127.0.0.1:{P}"),
        tls: false,
    };
    vec![
        Scenario {
            name: format!(
                "SOCKS5 tunnel {} MiB: sendfile --proxy -> proxy -> listen",
                bytes >> 20
            ),
            unit: Unit::MiBPerSec,
            contenders: vec![
                contender(
                    sockcat,
                    Some(sockcat_proxy(
                        sockcat,
                        "sockcat --proxy-server (SOCKS5)",
                        "socks5://127.0.0.1:{P}",
                    )),
                    file.clone(),
                    bytes,
                    "sockcat --proxy-server",
                ),
                contender(sockcat, Some(microsocks), file.clone(), bytes, "microsocks"),
            ],
        },
        Scenario {
            name: format!(
                "HTTP CONNECT tunnel {} MiB: sendfile --proxy -> proxy -> listen",
                bytes >> 20
            ),
            unit: Unit::MiBPerSec,
            contenders: vec![
                contender(
                    sockcat,
                    Some(sockcat_proxy(
                        sockcat,
                        "sockcat --proxy-server (HTTP)",
                        "http://127.0.0.1:{P}",
                    )),
                    file.clone(),
                    bytes,
                    "sockcat --proxy-server",
                ),
                contender(sockcat, Some(tinyproxy), file, bytes, "tinyproxy"),
            ],
        },
    ]
}

const HELLO: &[u8] = b"hello, server!\n";

/// One lifecycle through a forwarder (or, with `socks`, a SOCKS5 proxy asked for `echo`): connect,
/// send 15 bytes, half-close, read the echo to EOF.
fn lifecycle(addr: std::net::SocketAddr, socks: Option<u16>) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    if let Some(port) = socks {
        c.write_all(&[5, 1, 0]).map_err(|e| e.to_string())?;
        let mut method = [0u8; 2];
        c.read_exact(&mut method)
            .map_err(|e| format!("socks method: {e}"))?;
        let mut req = vec![5, 1, 0, 1, 127, 0, 0, 1];
        req.extend_from_slice(&port.to_be_bytes());
        c.write_all(&req).map_err(|e| e.to_string())?;
        let mut reply = [0u8; 10];
        c.read_exact(&mut reply)
            .map_err(|e| format!("socks reply: {e}"))?;
        if reply[1] != 0 {
            return Err(format!("socks refused: {}", reply[1]));
        }
    }
    c.write_all(HELLO).map_err(|e| format!("send: {e}"))?;
    let mut got = Vec::new();
    if socks.is_some() {
        // microsocks ends a tunnel at the first EOF of either side: read the echo, then close.
        got.resize(HELLO.len(), 0);
        c.read_exact(&mut got)
            .map_err(|e| format!("receive: {e}"))?;
    } else {
        c.shutdown(std::net::Shutdown::Write)
            .map_err(|e| format!("send: {e}"))?;
        c.read_to_end(&mut got)
            .map_err(|e| format!("receive: {e}"))?;
    }
    if got != HELLO {
        return Err(format!("echo of {} bytes", got.len()));
    }
    Ok(())
}

/// Lifecycles per second through `middle` in front of a `sockcat listen -k --echo` backend.
fn lifecycles(sockcat: &Path, middle: &Middle, budget: Duration, clients: usize) -> Outcome {
    let sc = sockcat.display().to_string();
    let eport = free_port();
    let mut echo = Proc::spawn(
        "echo backend",
        &mut quiet(
            &sc,
            &["listen", "-k", "--echo", "127.0.0.1", &eport.to_string()],
        ),
    )?;
    wait_listening(eport, &mut echo, Duration::from_secs(10))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mport = free_port();
    let args = (middle.args)(mport, eport, dir.path());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut mid = Proc::spawn(middle.name, &mut quiet(&middle.program, &argv))?;
    wait_listening(mport, &mut mid, Duration::from_secs(10))?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], mport));
    let socks = middle.proxy_url.map(|_| eport);
    let start = Instant::now();
    // `clients` threads, each one lifecycle after another, for the budget.
    let counts: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(move || {
                    let mut done = 0usize;
                    while done < 10 || start.elapsed() < budget {
                        lifecycle(addr, socks).map_err(|e| format!("#{done}: {e}"))?;
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a client panicked".into())))
            .collect()
    });
    let mut done = 0;
    for c in counts {
        done += c?;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

fn lifecycle_contender(
    sockcat: &Path,
    middle: Middle,
    budget: Duration,
    clients: usize,
) -> Contender {
    let sockcat = sockcat.to_path_buf();
    let program = middle.program.clone();
    let name = middle.name;
    Contender::new(name, &[&program], move || {
        lifecycles(&sockcat, &middle, budget, clients)
    })
}

/// Connections per second through forwarders, and SOCKS5 tunnels per second through proxies.
pub fn setups(sockcat: &Path, budget: Duration) -> Vec<Scenario> {
    let haproxy = Middle {
        name: "haproxy",
        program: "haproxy".into(),
        args: Box::new(|m, r, dir| {
            let conf = format!(
                "global\n  maxconn 1000\ndefaults\n  mode tcp\n  timeout connect 5s\n  \
                 timeout client 60s\n  timeout server 60s\nfrontend fe\n  bind 127.0.0.1:{m}\n  \
                 default_backend be\nbackend be\n  server s1 127.0.0.1:{r}\n"
            );
            s(&["-db", "-f", &write(dir, "haproxy.cfg", &conf)])
        }),
        proxy_url: None,
        tls: false,
    };
    let socat = Middle {
        name: "socat TCP-LISTEN,fork",
        program: "socat".into(),
        args: Box::new(|m, r, _| {
            s(&[
                &format!("TCP-LISTEN:{m},bind=127.0.0.1,fork,reuseaddr"),
                &format!("TCP:127.0.0.1:{r}"),
            ])
        }),
        proxy_url: None,
        tls: false,
    };
    let microsocks = || Middle {
        name: "microsocks",
        program: "microsocks".into(),
        args: Box::new(|m, _, _| s(&["-i", "127.0.0.1", "-p", &m.to_string()])),
        proxy_url: Some("socks5"),
        tls: false,
    };
    vec![
        Scenario {
            name: format!(
                "forwarder lifecycles: connect, send 15 B, half-close, read the echo to EOF ({budget:?} per run)"
            ),
            unit: Unit::PerSec,
            contenders: vec![
                lifecycle_contender(sockcat, sockcat_forward(sockcat), budget, 1),
                lifecycle_contender(sockcat, haproxy, budget, 1),
                lifecycle_contender(sockcat, socat, budget, 1),
            ],
        },
        // One client's round trips, then a server's capacity: the same lifecycles from
        // CONCURRENT_CLIENTS client threads at once.
        socks_tunnels(sockcat, microsocks(), budget, 1),
        socks_tunnels(sockcat, microsocks(), budget, CONCURRENT_CLIENTS),
    ]
}

/// SOCKS5 tunnels per second through sockcat and `microsocks`, from `clients` client threads.
fn socks_tunnels(sockcat: &Path, microsocks: Middle, budget: Duration, clients: usize) -> Scenario {
    let who = match clients {
        1 => String::new(),
        n => format!(", {n} clients at once"),
    };
    Scenario {
        name: format!(
            "SOCKS5 tunnels per second{who}: connect, handshake, 15 B echoed, close ({budget:?} per run)"
        ),
        unit: Unit::PerSec,
        contenders: vec![
            lifecycle_contender(
                sockcat,
                sockcat_proxy(sockcat, "sockcat --proxy-server", "socks5"),
                budget,
                clients,
            ),
            lifecycle_contender(sockcat, microsocks, budget, clients),
        ],
    }
}

/// Client threads of the concurrent tunnels-per-second scenario.
const CONCURRENT_CLIENTS: usize = 8;
