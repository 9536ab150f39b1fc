//! The cost of idle clients (issue 13, "Cost per connection"): N idle clients held open against
//! `sockcat listen -k --echo`, and the same N held by haproxy in front of a sockcat echo server, in
//! the same run. haproxy holds each idle client in its content-inspection wait (one socket each, as
//! sockcat does) and forwards a client once it sends: forwarding every idle client would take 2N
//! descriptors, more than a 20,000 hard limit allows haproxy for N = 10,000. Per contender: the server's RSS with every client connected (the
//! table), its thread count before, with N/2 and with N (a note: it must not grow with idle clients;
//! sockcat starts its fixed set of echo loops once, past 16 clients), and the
//! median time a well-behaved client needs for a connect and a 32-byte echo while they are connected
//! (the second column; target: 10 ms or less).
//!
//! Also the cost of established TLS sessions (issues 16 and 17, TLS termination): N clients each
//! complete a TLS handshake with the terminator, have one line echoed through it (a sockcat echo
//! server behind it) and stay open; the terminator's RSS and threads then. sockcat `listen -k --tls
//! --forward` (the sessions on the server's loop) against haproxy (`bind ... ssl crt`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{
    Contender, Outcome, Proc, Scenario, Unit, extra, free_port, median, note, open_fds, quiet,
    status_field, wait_listening,
};

fn sockcat_echo(sockcat: &Path, port: u16) -> Result<Proc, String> {
    let s = sockcat.display().to_string();
    let port = port.to_string();
    let mut p = Proc::spawn(
        "sockcat -k --echo",
        &mut quiet(&s, &["listen", "-k", "--echo", "127.0.0.1", &port]),
    )?;
    wait_listening(port.parse().unwrap_or(0), &mut p, Duration::from_secs(10))?;
    Ok(p)
}

/// One connect, 32 bytes there and back, close: how long it took.
fn probe(addr: SocketAddr) -> Result<Duration, String> {
    let started = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("probe connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let msg = [b'p'; 32];
    s.write_all(&msg).map_err(|e| format!("probe send: {e}"))?;
    let mut back = [0u8; 32];
    s.read_exact(&mut back)
        .map_err(|e| format!("probe echo: {e}"))?;
    Ok(started.elapsed())
}

/// Connects `n` idle clients to `addr` and waits until `holder` (the process that accepts them)
/// has a descriptor for each. Returns the clients (they stay open while held).
fn connect_idle(addr: SocketAddr, n: usize, holder: u32) -> Result<Vec<TcpStream>, String> {
    let before = open_fds(holder);
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let c = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .map_err(|e| format!("idle client #{i}: {e}"))?;
        clients.push(c);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_fds(holder) < before + n {
        if Instant::now() > deadline {
            return Err(format!(
                "{} of {n} idle clients accepted after 60 s",
                open_fds(holder).saturating_sub(before)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(clients)
}

/// haproxy in front of a server on `back`, for up to `n` clients (and a margin): a TCP frontend bound
/// with `bind_extra` (` ssl crt FILE`) and `frontend_extra` lines. Returns it, its pid, its address.
fn haproxy_front(
    dir: &Path,
    n: usize,
    bind_extra: &str,
    frontend_extra: &str,
    back: u16,
) -> Result<(Proc, u32, SocketAddr), String> {
    let front = free_port();
    let cfg = dir.join("haproxy.cfg");
    let max = n + 1000;
    std::fs::write(
        &cfg,
        format!(
            "global\n  maxconn {max}\n  no strict-limits\n\ndefaults\n  mode tcp\n  maxconn {max}\n  \
             timeout connect 5s\n  timeout client 1h\n  timeout server 1h\n\nfrontend f\n  \
             bind 127.0.0.1:{front}{bind_extra}{frontend_extra}\n  default_backend b\n\nbackend b\n  \
             server s 127.0.0.1:{back}\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let cfg = cfg.display().to_string();
    let mut proxy = Proc::spawn("haproxy", &mut quiet("haproxy", &["-db", "-f", &cfg]))?;
    wait_listening(front, &mut proxy, Duration::from_secs(10))?;
    let pid = proxy.id();
    Ok((proxy, pid, SocketAddr::from(([127, 0, 0, 1], front))))
}

/// Holds `n` idle clients against `addr` served by `server` (the process measured), then measures.
fn hold(name: &str, server: u32, addr: SocketAddr, n: usize, probes: usize) -> Outcome {
    let threads_before = status_field(server, "Threads:").unwrap_or(0);
    let mut clients = connect_idle(addr, n / 2, server)?;
    let threads_half = status_field(server, "Threads:").unwrap_or(0);
    clients.extend(connect_idle(addr, n - n / 2, server)?);
    let mut times = Vec::with_capacity(probes);
    for _ in 0..probes {
        times.push(probe(addr)?.as_secs_f64() * 1000.0);
    }
    let rss_kib = status_field(server, "VmRSS:").ok_or("no VmRSS")?;
    let threads = status_field(server, "Threads:").unwrap_or(0);
    drop(clients);
    note(
        format!(
            "{name}: threads before -> with {} -> with {n} idle clients",
            n / 2
        ),
        format!("{threads_before} -> {threads_half} -> {threads}"),
    );
    extra("median ms", median(&times));
    Ok(rss_kib as f64 / 1024.0)
}

pub fn idle_clients(sockcat: &Path, n: usize, probes: usize) -> Scenario {
    // Every client here is a descriptor of this process too.
    if let Err(e) = sockcat::fuzz::raise_nofile_limit() {
        note("raising RLIMIT_NOFILE", e.to_string());
    }
    let s1 = sockcat.to_path_buf();
    let direct = Contender::new("sockcat -k --echo", &[&sockcat.display().to_string()], {
        move || {
            let port = free_port();
            let server = sockcat_echo(&s1, port)?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            hold("sockcat -k --echo", server.id(), addr, n, probes)
        }
    });
    let s2 = sockcat.to_path_buf();
    let haproxy = Contender::new("haproxy -> sockcat -k --echo", &["haproxy"], move || {
        let back = free_port();
        let _backend = sockcat_echo(&s2, back)?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let bind =
            "\n  tcp-request inspect-delay 1h\n  tcp-request content accept if { req.len gt 0 }";
        let (_proxy, pid, addr) = haproxy_front(dir.path(), n, "", bind, back)?;
        hold("haproxy", pid, addr, n, probes)
    });
    Scenario {
        name: format!(
            "{n} idle clients held: the server's RSS (second column: median ms of a well-behaved client's connect + 32 B echo meanwhile)"
        ),
        unit: Unit::MiB,
        contenders: vec![direct, haproxy],
    }
}

/// A TLS client of the bench that trusts `cert` (PEM) for `localhost`.
fn tls_client_config(cert: &str) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    let pem = std::fs::read(cert).map_err(|e| format!("read {cert}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
        let c: rustls_pki_types::CertificateDer = c.map_err(|e| format!("{cert}: {e}"))?;
        roots.add(c).map_err(|e| format!("{cert}: {e}"))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

type TlsClient = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// One TLS session through the terminator at `addr`: the handshake, one line echoed.
fn tls_session(
    config: &std::sync::Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    i: usize,
) -> Result<TlsClient, String> {
    let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("TLS client #{i}: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let name = rustls_pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(config.clone(), name).map_err(|e| e.to_string())?;
    let mut s = rustls::StreamOwned::new(conn, sock);
    let line = format!("session {i}\n");
    s.write_all(line.as_bytes())
        .map_err(|e| format!("TLS client #{i}: send: {e}"))?;
    let mut back = vec![0u8; line.len()];
    s.read_exact(&mut back)
        .map_err(|e| format!("TLS client #{i}: echo: {e}"))?;
    if back != line.as_bytes() {
        return Err(format!("TLS client #{i}: a wrong echo"));
    }
    Ok(s)
}

/// Holds `n` established TLS sessions through `server` at `addr`, then measures its RSS (MiB) and
/// threads.
fn hold_tls(name: &str, server: u32, addr: SocketAddr, cert: &str, n: usize) -> Outcome {
    let config = tls_client_config(cert)?;
    let threads_before = status_field(server, "Threads:").unwrap_or(0);
    let sessions = (0..n)
        .map(|i| tls_session(&config, addr, i))
        .collect::<Result<Vec<_>, _>>()?;
    let rss_kib = status_field(server, "VmRSS:").ok_or("no VmRSS")?;
    let threads = status_field(server, "Threads:").unwrap_or(0);
    drop(sessions);
    note(
        format!("{name}: threads before -> with {n} sessions"),
        format!("{threads_before} -> {threads}"),
    );
    extra("threads", threads as f64);
    Ok(rss_kib as f64 / 1024.0)
}

pub fn tls_sessions(sockcat: &Path, n: usize) -> Scenario {
    if let Err(e) = sockcat::fuzz::raise_nofile_limit() {
        note("raising RLIMIT_NOFILE", e.to_string());
    }
    let s1 = sockcat.to_path_buf();
    let ours = Contender::new(
        "sockcat -k --tls --forward",
        &[&sockcat.display().to_string()],
        move || {
            let back = free_port();
            let _backend = sockcat_echo(&s1, back)?;
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let (cert, key, _) = crate::proxy::tls_files(dir.path());
            let front = free_port();
            let sc = s1.display().to_string();
            let args = crate::proxy::tls_terminator(&cert, &key, front, back);
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut p = Proc::spawn("sockcat -k --tls --forward", &mut quiet(&sc, &argv))?;
            wait_listening(front, &mut p, Duration::from_secs(10))?;
            let addr = SocketAddr::from(([127, 0, 0, 1], front));
            hold_tls("sockcat -k --tls --forward", p.id(), addr, &cert, n)
        },
    );
    let s2 = sockcat.to_path_buf();
    let haproxy = Contender::new("haproxy (ssl)", &["haproxy"], move || {
        let back = free_port();
        let _backend = sockcat_echo(&s2, back)?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (cert, _, both) = crate::proxy::tls_files(dir.path());
        let ssl = format!(" ssl crt {both}");
        let (_proxy, pid, addr) = haproxy_front(dir.path(), n, &ssl, "", back)?;
        hold_tls("haproxy (ssl)", pid, addr, &cert, n)
    });
    Scenario {
        name: format!(
            "{n} TLS sessions held through a TLS terminator (one line echoed each): its RSS (second column: its threads)"
        ),
        unit: Unit::MiB,
        contenders: vec![ours, haproxy],
    }
}
