//! TCP server scenarios on 127.0.0.1 (issue 3): the servers are the real programs, the clients are Rust
//! loops in this process, so the client side costs the same for every contender.
//!
//! - lifecycles per second against a keep-open server: connect, send a few bytes, half-close, read to
//!   EOF (the server answers the FIN with its own), close; with an echo (checked) and without;
//! - a burst of connects fired at once, to show what a small listen backlog does;
//! - many concurrent clients each echoing a block through the server (aggregate throughput).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use sockcat::fuzz::{READABLE, WRITABLE, poll};
use socket2::{Domain, Socket, Type};

use crate::harness::{
    Contender, Outcome, Proc, Scenario, Unit, free_port, note, quiet, wait_listening,
};

/// A server command line given its port.
type Args = Box<dyn Fn(u16) -> Vec<String>>;

/// One keep-open server: how to start it on a port.
struct Server {
    name: &'static str,
    program: String,
    args: Args,
}

impl Server {
    fn new(name: &'static str, program: &str, args: impl Fn(u16) -> Vec<String> + 'static) -> Self {
        Server {
            name,
            program: program.to_string(),
            args: Box::new(args),
        }
    }

    /// Starts the server on a free port (stdin, stdout and stderr /dev/null) and waits until it listens.
    fn start(&self) -> Result<(Proc, SocketAddr), String> {
        let port = free_port();
        let args = (self.args)(port);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = Proc::spawn(self.name, &mut quiet(&self.program, &argv))?;
        wait_listening(port, &mut child, Duration::from_secs(10))?;
        Ok((child, SocketAddr::from(([127, 0, 0, 1], port))))
    }

    /// A contender that starts a fresh server per run and measures it with `client`.
    fn contender(self, client: impl Fn(&Server, SocketAddr) -> Outcome + 'static) -> Contender {
        let program = self.program.clone();
        Contender::new(self.name, &[&program], move || {
            let (proc, addr) = self.start()?;
            let result = client(&self, addr);
            drop(proc);
            result
        })
    }
}

fn args(list: &[&str], port: u16) -> Vec<String> {
    list.iter()
        .map(|a| a.replace("{P}", &port.to_string()))
        .collect()
}

/// The servers that echo what a client sends: sockcat's built-in echo, and a `cat` per connection
/// (sockcat, ncat and socat all fork and exec it).
fn echo_servers(sockcat: &Path, max_conns: usize) -> Vec<Server> {
    let s = sockcat.display().to_string();
    let m = max_conns.to_string();
    vec![
        Server::new("sockcat -k --echo", &s, |p| {
            args(&["listen", "-k", "--echo", "127.0.0.1", "{P}"], p)
        }),
        Server::new("sockcat -k -e /bin/cat", &s, |p| {
            args(&["listen", "-k", "-e", "/bin/cat", "127.0.0.1", "{P}"], p)
        }),
        Server::new("ncat -k -e /bin/cat", "ncat", move |p| {
            // ncat caps concurrent clients at 100 by default; lift it so only the echo is measured.
            args(
                &[
                    "-k",
                    "-l",
                    "--max-conns",
                    &m,
                    "-e",
                    "/bin/cat",
                    "127.0.0.1",
                    "{P}",
                ],
                p,
            )
        }),
        Server::new("socat fork EXEC:cat", "socat", |p| {
            args(
                &[
                    "TCP-LISTEN:{P},bind=127.0.0.1,fork,reuseaddr",
                    "EXEC:/bin/cat",
                ],
                p,
            )
        }),
    ]
}

/// Keep-open servers that read each client to EOF, discard what it sent (to their /dev/null stdout)
/// and close.
fn plain_servers(sockcat: &Path, max_conns: usize) -> Vec<Server> {
    let s = sockcat.display().to_string();
    let m = max_conns.to_string();
    vec![
        Server::new("sockcat listen -k", &s, |p| {
            args(&["listen", "-k", "127.0.0.1", "{P}"], p)
        }),
        // OpenBSD nc -k serves one client at a time; with stdin at EOF it closes after the client's FIN.
        Server::new("nc -k -l", "nc", |p| {
            args(&["-k", "-l", "127.0.0.1", "{P}"], p)
        }),
        Server::new("ncat -k -l", "ncat", move |p| {
            args(&["-k", "-l", "--max-conns", &m, "127.0.0.1", "{P}"], p)
        }),
        Server::new("socat fork", "socat", |p| {
            args(
                &[
                    "-u",
                    "TCP-LISTEN:{P},bind=127.0.0.1,fork,reuseaddr",
                    "STDOUT",
                ],
                p,
            )
        }),
    ]
}

/// What a lifecycle client sends.
const HELLO: &[u8] = b"hello, sockcat\n";

/// Sequential lifecycles for `budget` (at least 10): connect, send HELLO, half-close, read to EOF,
/// close. With `echo`, the reply must be HELLO; lifecycles that got less are counted and noted.
fn lifecycles_for(server: &Server, addr: SocketAddr, budget: Duration, echo: bool) -> Outcome {
    let start = Instant::now();
    let (mut done, mut short, mut resets) = (0usize, 0usize, 0usize);
    let mut reply = Vec::with_capacity(64);
    while done < 10 || start.elapsed() < budget {
        let mut conn =
            TcpStream::connect(addr).map_err(|e| format!("connect {addr} (#{done}): {e}"))?;
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        conn.write_all(HELLO)
            .and_then(|_| conn.shutdown(Shutdown::Write))
            .map_err(|e| format!("send (#{done}): {e}"))?;
        reply.clear();
        match conn.read_to_end(&mut reply) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => resets += 1,
            Err(e) => return Err(format!("receive (#{done}): {e}")),
        }
        if echo && reply != HELLO {
            short += 1;
        }
        done += 1;
    }
    let rate = done as f64 / start.elapsed().as_secs_f64();
    if short > 0 {
        note(
            format!(
                "{}: lifecycles whose echo came back incomplete",
                server.name
            ),
            format!("{short} of {done}"),
        );
    }
    if resets > 0 {
        note(
            format!("{}: lifecycles that ended in a reset", server.name),
            format!("{resets} of {done}"),
        );
    }
    Ok(rate)
}

/// Lifecycles per second against echo servers (the reply is checked).
pub fn echo_lifecycles(sockcat: &Path, budget: Duration) -> Scenario {
    Scenario {
        name: format!(
            "TCP server lifecycles with echo: connect, send {} B, half-close, read the echo to EOF ({budget:?} per run)",
            HELLO.len()
        ),
        unit: Unit::PerSec,
        contenders: echo_servers(sockcat, 1000)
            .into_iter()
            .map(|s| s.contender(move |s, addr| lifecycles_for(s, addr, budget, true)))
            .collect(),
    }
}

/// Lifecycles per second against servers that discard what they get.
pub fn plain_lifecycles(sockcat: &Path, budget: Duration) -> Scenario {
    Scenario {
        name: format!(
            "TCP server lifecycles, no echo: connect, send {} B, half-close, read to EOF ({budget:?} per run)",
            HELLO.len()
        ),
        unit: Unit::PerSec,
        contenders: plain_servers(sockcat, 1000)
            .into_iter()
            .map(|s| s.contender(move |s, addr| lifecycles_for(s, addr, budget, false)))
            .collect(),
    }
}

/// A client socket in the burst or echo loops.
struct Client {
    sock: Socket,
    connected: bool,
    sent: usize,
    received: usize,
    shut: bool,
    finished: bool,
}

/// Starts a non-blocking connect to `addr`.
fn start_connect(addr: SocketAddr) -> Result<Client, String> {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| e.to_string())?;
    sock.set_nonblocking(true).map_err(|e| e.to_string())?;
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(format!("connect {addr}: {e}")),
    }
    Ok(Client {
        sock,
        connected: false,
        sent: 0,
        received: 0,
        shut: false,
        finished: false,
    })
}

/// Reads what is there; Ok(true) at EOF.
fn drain(client: &mut Client, buf: &mut [u8]) -> io::Result<bool> {
    loop {
        match (&client.sock).read(buf) {
            Ok(0) => return Ok(true),
            Ok(n) => client.received += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `count` connects fired at once; each client half-closes as soon as it is connected and is done when
/// the server closes it (so the server really accepted it). Returns (done, seconds until the last was
/// done, or `limit` if not all were).
fn burst(addr: SocketAddr, count: usize, limit: Duration) -> Result<(usize, f64, usize), String> {
    let start = Instant::now();
    let deadline = start + limit;
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        clients.push(start_connect(addr)?);
    }
    let (mut done, mut failed) = (0usize, 0usize);
    let mut last = start;
    let mut buf = [0u8; 512];
    while done + failed < count {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let open: Vec<usize> = (0..count).filter(|&i| !clients[i].finished).collect();
        let fds: Vec<_> = open
            .iter()
            .map(|&i| {
                let c = &clients[i];
                (
                    c.sock.as_fd(),
                    if c.connected { READABLE } else { WRITABLE },
                )
            })
            .collect();
        let ready = poll(&fds, Some((deadline - now).min(Duration::from_millis(200))))
            .map_err(|e| format!("poll: {e}"))?;
        drop(fds);
        for (&i, &revents) in open.iter().zip(&ready) {
            if revents == 0 {
                continue;
            }
            let c = &mut clients[i];
            if !c.connected {
                match c.sock.take_error() {
                    Ok(None) => {
                        c.connected = true;
                        // A plain connect: nothing to send, half-close at once.
                        let _ = c.sock.shutdown(Shutdown::Write);
                    }
                    _ => {
                        c.finished = true;
                        failed += 1;
                    }
                }
                continue;
            }
            match drain(c, &mut buf) {
                Ok(false) => {}
                Ok(true) | Err(_) => {
                    c.finished = true;
                    done += 1;
                    last = Instant::now();
                }
            }
        }
    }
    let secs = if done + failed == count {
        last.duration_since(start).as_secs_f64()
    } else {
        limit.as_secs_f64()
    };
    Ok((done, secs, failed))
}

/// A burst of `count` connects against keep-open servers: connections served per second, until all
/// are served or `limit` passes.
pub fn connect_burst(sockcat: &Path, count: usize, limit: Duration) -> Scenario {
    Scenario {
        name: format!(
            "TCP connect burst: {count} connects fired at once, each half-closed and served to EOF (at most {limit:?})"
        ),
        unit: Unit::PerSec,
        contenders: plain_servers(sockcat, count + 100)
            .into_iter()
            .map(|s| {
                s.contender(move |s, addr| {
                    let (done, secs, failed) = burst(addr, count, limit)?;
                    if done + failed < count {
                        note(
                            format!("{}: clients served in {limit:?}, of {count}", s.name),
                            done.to_string(),
                        );
                        note(
                            "a dropped SYN is sent again after 1 s, then 3 s, 7 s ... in all",
                            "",
                        );
                    }
                    if failed > 0 {
                        note(
                            format!("{}: connects that failed, of {count}", s.name),
                            failed.to_string(),
                        );
                    }
                    Ok(done as f64 / secs)
                })
            })
            .collect(),
    }
}

/// `clients` concurrent clients (connected, and one byte echoed, before the clock starts) each send `bytes` and read them all
/// back, then half-close and wait for EOF. Returns MiB/s echoed (bytes of all clients one way / time).
fn echo_many(addr: SocketAddr, clients: usize, bytes: usize, limit: Duration) -> Outcome {
    let mut conns = Vec::with_capacity(clients);
    for i in 0..clients {
        // One byte there and back before the next connect: the server has really taken this client
        // (accepted, program started), so a small backlog does not leak into an echo measurement.
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .map_err(|e| format!("connect #{i}: {e}"))?;
        let mut probe = [0u8; 1];
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .and_then(|_| stream.write_all(b"."))
            .and_then(|_| stream.read_exact(&mut probe))
            .map_err(|e| format!("first byte echoed on client #{i}: {e}"))?;
        stream.set_nonblocking(true).map_err(|e| e.to_string())?;
        conns.push(Client {
            sock: Socket::from(stream),
            connected: true,
            sent: 0,
            received: 0,
            shut: false,
            finished: false,
        });
    }
    let block = vec![0x5au8; 64 << 10];
    let mut buf = vec![0u8; 64 << 10];
    let start = Instant::now();
    let deadline = start + limit;
    let mut left = clients;
    while left > 0 {
        let now = Instant::now();
        if now >= deadline {
            let got: usize = conns.iter().map(|c| c.received).sum();
            return Err(format!(
                "{left} of {clients} clients unfinished after {limit:?} ({} of {} MiB back)",
                got >> 20,
                (clients * bytes) >> 20
            ));
        }
        let open: Vec<usize> = (0..clients).filter(|&i| !conns[i].finished).collect();
        let fds: Vec<_> = open
            .iter()
            .map(|&i| {
                let c = &conns[i];
                let want = if c.sent < bytes {
                    READABLE | WRITABLE
                } else {
                    READABLE
                };
                (c.sock.as_fd(), want)
            })
            .collect();
        let ready = poll(&fds, Some((deadline - now).min(Duration::from_millis(200))))
            .map_err(|e| format!("poll: {e}"))?;
        drop(fds);
        for (&i, &revents) in open.iter().zip(&ready) {
            if revents == 0 {
                continue;
            }
            let c = &mut conns[i];
            while c.sent < bytes {
                let n = (bytes - c.sent).min(block.len());
                match (&c.sock).write(&block[..n]) {
                    Ok(n) => c.sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("send on client #{i}: {e}")),
                }
            }
            let eof = drain(c, &mut buf).map_err(|e| format!("receive on client #{i}: {e}"))?;
            if eof {
                if c.received < bytes {
                    return Err(format!(
                        "client #{i}: EOF after {} of {bytes} bytes echoed",
                        c.received
                    ));
                }
                c.finished = true;
                left -= 1;
            } else if c.received >= bytes && !c.shut {
                c.shut = true;
                let _ = c.sock.shutdown(Shutdown::Write);
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    Ok((clients * bytes) as f64 / secs / (1u64 << 20) as f64)
}

/// `clients` concurrent clients each echoing `bytes` through the server.
pub fn concurrent_echo(sockcat: &Path, clients: usize, bytes: usize) -> Scenario {
    let size = if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    };
    Scenario {
        name: format!(
            "TCP echo server: {clients} concurrent clients each echo {size} (aggregate MiB/s one way)"
        ),
        unit: Unit::MiBPerSec,
        contenders: echo_servers(sockcat, clients + 100)
            .into_iter()
            .map(|s| {
                s.contender(move |_, addr| echo_many(addr, clients, bytes, Duration::from_secs(10)))
            })
            .collect(),
    }
}
