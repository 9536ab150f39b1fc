//! `listen`'s server: the accept loop (access control, a cap on concurrent clients, one client or
//! keep-open) and the per-connection handlers (relay, echo, exec, broker).
//!
//! Concurrency model: one thread per connection doing blocking I/O with large buffers (threads are
//! reused from a small pool, see [`crate::net::server::pool`]), plus one thread reading stdin. A connection's end of stream is then a plain `read() == 0` in its own thread, a slow
//! client stalls only its own thread, and no event loop needs to re-implement half-close bookkeeping.
//! Hundreds of concurrent clients cost hundreds of mostly-idle threads, which Linux handles well; the
//! listen backlog (SOMAXCONN) absorbs bursts while threads start.

pub(crate) mod acl;
pub(crate) mod exec;
pub(crate) mod pool;

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow};
use socket2::Socket;

use crate::exit;
use crate::net::server::acl::Acl;
use crate::net::server::exec::ExecSpec;
use crate::net::server::pool::Pool;
use crate::net::socket::{accept, describe_sockaddr};
use crate::net::stream::hexdump::{Direction, Hexdump};
use crate::net::stream::relay::{RelayConfig, relay};
use crate::stdio::{Input, Output};

/// Buffer per connection in server modes (many connections at once). Below glibc's mmap threshold
/// (128 KiB), so a connection's buffer comes from the heap instead of an mmap/munmap pair, whose TLB
/// shootdowns across CPUs cost more than the larger reads save (measured: 200 echo clients).
const CONN_CHUNK: usize = 64 * 1024;

/// What the server does with each connection.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// stdin to the client(s), what they send to stdout.
    Relay,
    /// Every client's bytes back to it.
    Echo,
    /// A program per connection.
    Exec(ExecSpec),
    /// Every client's bytes to every other client (and to stdout); stdin to all.
    Broker,
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    pub keep_open: bool,
    pub max_conns: Option<usize>,
    pub acl: Acl,
    /// `-w`: give up when no client came in time.
    pub first_timeout: Option<Duration>,
    pub relay: RelayConfig,
    pub verbose: bool,
    /// The listening address, for messages.
    pub shown: String,
}

/// One accepted connection; dropping the last reference closes it and frees its slot.
struct Conn {
    sock: Socket,
    id: u64,
    server: Arc<Server>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.server.active.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Server {
    mode: Mode,
    cfg: ServeConfig,
    active: AtomicUsize,
    next_id: AtomicU64,
    /// Connections that get stdin (and broker traffic).
    clients: Mutex<Vec<Arc<Conn>>>,
    stdin_over: AtomicBool,
    /// Where client bytes go in relay and broker modes; one chunk is written whole under the lock.
    out: Option<Mutex<Output>>,
    dump: Option<Hexdump>,
    /// Threads for connections.
    pool: Pool,
    /// How the server ends: the single session's result, a fatal accept error, stdout closed...
    done: Mutex<Sender<Result<()>>>,
}

impl Server {
    fn finish(&self, result: Result<()>) {
        let _ = self
            .done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(result);
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Conn>>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remove(&self, id: u64) {
        self.clients().retain(|c| c.id != id);
    }

    fn log(&self, msg: impl FnOnce() -> String) {
        if self.cfg.verbose {
            crate::diag!("{}", msg());
        }
    }

    /// Writes a chunk from a client to the output; a closed or full output ends the server.
    fn output(&self, data: &[u8]) -> bool {
        let Some(out) = &self.out else { return true };
        let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
        let name = out.name.clone();
        match out.file.write_all(data) {
            Ok(()) => true,
            Err(e) => {
                self.finish(Err(exit::output_error(e, &name)));
                false
            }
        }
    }

    /// Sends `data` to every registered client except `skip`; clients that fail are dropped.
    fn broadcast(&self, data: &[u8], skip: Option<u64>) {
        let mut clients = self.clients();
        clients.retain(|c| {
            if Some(c.id) == skip {
                return true;
            }
            match (&c.sock).write_all(data) {
                Ok(()) => true,
                Err(_) => {
                    let _ = c.sock.shutdown(Shutdown::Both);
                    false
                }
            }
        });
    }
}

/// Serves clients on `listener` until the server's end: for one client, the end of its session; for
/// `keep_open`, a fatal error, a closed stdout, or a signal.
pub(crate) fn serve(listener: Socket, mode: Mode, cfg: ServeConfig, output: Output) -> Result<()> {
    let (tx, rx) = channel();
    let single_relay = matches!(mode, Mode::Relay) && !cfg.keep_open;
    let hub = matches!(mode, Mode::Relay | Mode::Broker) && !single_relay;
    // The single-client relay owns stdin and the output itself; the other modes share them.
    let (single, out) = if single_relay {
        let input = if cfg.relay.recv_only {
            None
        } else {
            Input::stdin()
        };
        (Some((input, output)), None)
    } else if hub && !cfg.relay.send_only {
        (None, Some(Mutex::new(output)))
    } else {
        (None, None)
    };
    let server = Arc::new(Server {
        out,
        dump: cfg.relay.hexdump.then(Hexdump::new),
        mode,
        cfg,
        active: AtomicUsize::new(0),
        next_id: AtomicU64::new(0),
        clients: Mutex::new(Vec::new()),
        stdin_over: AtomicBool::new(false),
        pool: Pool::default(),
        done: Mutex::new(tx),
    });
    if hub && !server.cfg.relay.recv_only {
        let server = server.clone();
        std::thread::spawn(move || stdin_to_clients(&server));
    }
    let acceptor = server.clone();
    std::thread::spawn(move || accept_loop(&acceptor, &listener, single));
    drop(server);
    rx.recv().unwrap_or(Ok(()))
}

fn accept_loop(
    server: &Arc<Server>,
    listener: &Socket,
    mut single: Option<(Option<Input>, Output)>,
) {
    let cfg = &server.cfg;
    let mut first = true;
    loop {
        let timeout = if first { cfg.first_timeout } else { None };
        let (sock, peer) = match accept(listener, timeout) {
            Ok(Some(pair)) => pair,
            Ok(None) => {
                let waited = humantime::format_duration(timeout.unwrap_or_default());
                server.finish(Err(exit::timeout(format!(
                    "no client connected to {} within {waited}",
                    cfg.shown
                ))));
                return;
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                ) =>
            {
                // Out of descriptors: the client waits in the backlog until one frees up.
                server.log(|| format!("accept on {}: {}", cfg.shown, exit::describe_io(&e)));
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => {
                server.finish(Err(anyhow!(e).context(format!("accept on {}", cfg.shown))));
                return;
            }
        };
        let who = describe_sockaddr(&peer);
        let ip: Option<IpAddr> = peer.as_socket().map(|a| a.ip());
        if !cfg.acl.admits(ip) {
            server.log(|| format!("refused {who}: not allowed"));
            continue;
        }
        if !cfg.keep_open && !first {
            server.log(|| format!("refused {who}: busy with another client"));
            continue;
        }
        if let Some(limit) = cfg.max_conns
            && server.active.load(Ordering::SeqCst) >= limit
        {
            server.log(|| format!("refused {who}: {limit} connections already"));
            continue;
        }
        first = false;
        server.active.fetch_add(1, Ordering::SeqCst);
        let conn = Arc::new(Conn {
            sock,
            id: server.next_id.fetch_add(1, Ordering::Relaxed),
            server: server.clone(),
        });
        if single.is_none() {
            register(server, &conn);
        }
        server.log(|| format!("connection from {who}"));
        let taken = single.take();
        let srv = server.clone();
        let spawned = server.pool.run(move || handle(&srv, conn, taken, who));
        if let Err(e) = spawned {
            server.log(|| format!("cannot start a thread for a client: {e}"));
        }
    }
}

fn handle(
    server: &Arc<Server>,
    conn: Arc<Conn>,
    single: Option<(Option<Input>, Output)>,
    who: String,
) {
    let cfg = &server.cfg;
    if let Some((input, output)) = single {
        let Ok(sock) = conn.sock.try_clone() else {
            server.finish(Err(anyhow!("dup socket")));
            return;
        };
        server.finish(relay(sock, input, output, &cfg.relay));
        return;
    }
    if let Some(idle) = cfg.relay.idle_timeout {
        let _ = conn.sock.set_read_timeout(Some(idle));
    }
    let result = match &server.mode {
        Mode::Relay | Mode::Broker => hub_client(server, &conn),
        Mode::Echo => echo(server, &conn),
        Mode::Exec(spec) => exec::run(spec, &conn.sock, cfg.relay.send_only, cfg.relay.recv_only),
    };
    if let Err(e) = &result {
        server.log(|| format!("{who}: {}", exit::render(e)));
    }
    if !cfg.keep_open {
        server.finish(result);
    }
}

fn is_idle(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn read_error(e: io::Error) -> anyhow::Error {
    if is_idle(&e) {
        return anyhow!("idle timeout: closed");
    }
    crate::net::stream::recv_error(e)
}

/// Adds a relay (-k) or broker client to the clients that get stdin and broker traffic, before anything
/// else can happen to it (so nothing sent after its `connection from` line passes it by).
fn register(server: &Server, conn: &Arc<Conn>) {
    if !matches!(server.mode, Mode::Relay | Mode::Broker) || server.cfg.relay.recv_only {
        return;
    }
    let mut clients = server.clients();
    if server.stdin_over.load(Ordering::SeqCst) && matches!(server.mode, Mode::Relay) {
        // stdin is over: FIN at once (unless --no-shutdown); it needs no place in the list.
        if !server.cfg.relay.no_shutdown {
            let _ = conn.sock.shutdown(Shutdown::Write);
        }
        return;
    }
    clients.push(conn.clone());
}

/// A client in relay (-k) or broker mode: it gets stdin (and, as a broker, the other clients' bytes);
/// what it sends goes to the output (and, as a broker, to the other clients).
fn hub_client(server: &Arc<Server>, conn: &Arc<Conn>) -> Result<()> {
    let cfg = &server.cfg;
    let sending = !cfg.relay.recv_only;
    let mut buf = vec![0u8; CONN_CHUNK];
    let result = loop {
        let n = match (&conn.sock).read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(read_error(e)),
        };
        let data = &buf[..n];
        if let Some(dump) = &server.dump {
            dump.dump(Direction::Received, data);
        }
        if matches!(server.mode, Mode::Broker) && sending {
            server.broadcast(data, Some(conn.id));
        }
        if !cfg.relay.send_only && !server.output(data) {
            break Ok(());
        }
    };
    // The client is done sending. It keeps getting stdin until stdin ends, unless it went away.
    let keep = result.is_ok()
        && sending
        && matches!(server.mode, Mode::Relay)
        && !server.stdin_over.load(Ordering::SeqCst);
    if !keep {
        server.remove(conn.id);
        let _ = conn.sock.shutdown(Shutdown::Both);
    }
    result
}

/// Reads stdin and sends every chunk to every registered client; at EOF, FIN to all of them.
fn stdin_to_clients(server: &Arc<Server>) {
    let cfg = &server.cfg.relay;
    let Some(Input {
        file: mut stdin, ..
    }) = Input::stdin()
    else {
        end_of_stdin(server);
        return;
    };
    let mut buf = vec![0u8; CONN_CHUNK];
    let mut crlf = cfg.crlf.then(crate::net::stream::relay::Crlf::default);
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = &buf[..n];
        let data = match &mut crlf {
            Some(c) => c.apply(data),
            None => data,
        };
        if let Some(dump) = &server.dump {
            dump.dump(Direction::Sent, data);
        }
        server.broadcast(data, None);
    }
    end_of_stdin(server);
}

fn end_of_stdin(server: &Arc<Server>) {
    let mut clients = server.clients();
    server.stdin_over.store(true, Ordering::SeqCst);
    if matches!(server.mode, Mode::Relay) && !server.cfg.relay.no_shutdown {
        for c in clients.iter() {
            let _ = c.sock.shutdown(Shutdown::Write);
        }
    }
    // In relay mode the list only served stdin: let it go (clients still sending hold their own
    // reference; those that had finished sending are closed now).
    if matches!(server.mode, Mode::Relay) {
        clients.clear();
    }
}

/// `--echo`: a client's bytes back to it; FIN when it sends FIN. (A splice through a pipe measured
/// slower than this read/write loop for many concurrent clients, so echo stays buffered.)
fn echo(server: &Arc<Server>, conn: &Arc<Conn>) -> Result<()> {
    let mut buf = vec![0u8; CONN_CHUNK];
    loop {
        let n = match (&conn.sock).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        if let Some(dump) = &server.dump {
            dump.dump(Direction::Received, &buf[..n]);
            dump.dump(Direction::Sent, &buf[..n]);
        }
        (&conn.sock)
            .write_all(&buf[..n])
            .map_err(|e| anyhow!(e).context("send"))?;
    }
    let _ = conn.sock.shutdown(Shutdown::Write);
    Ok(())
}
