//! `--proxy`: connect (also `-z` and `--wait-for`) and sendfile through SOCKS5, SOCKS4(a) and HTTP
//! CONNECT proxies, against real ones (microsocks, tinyproxy, `ncat --proxy-type http`), a SOCKS4a
//! server written here, and a chain of two. Everything stays on loopback: destinations are 127.0.0.x.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(crate) use crate::common::free_port;
use crate::common::runner::status_field;
use crate::common::{In, LIMIT, Proc, closed_port, have, pattern, run, tcp_listener};

const GREETING: &[u8] = b"hello from the target\n";

/// A target that greets each client and then echoes what it receives until EOF (it answers without
/// waiting for a half-close: microsocks and ncat end a tunnel at the first EOF of either side).
fn greeter() -> u16 {
    let (listener, port) = tcp_listener();
    serve_greeter(listener);
    port
}

fn serve_greeter(listener: TcpListener) {
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            std::thread::spawn(move || {
                conn.set_read_timeout(Some(LIMIT)).unwrap();
                let _ = conn.write_all(GREETING);
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 || conn.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

/// Waits until something accepts on 127.0.0.1:port (a peer that prints nothing when ready).
pub(crate) fn wait_port(port: u16) {
    let deadline = Instant::now() + LIMIT;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn microsocks(extra: &[&str]) -> (Proc, u16) {
    let port = free_port();
    let p = port.to_string();
    let mut args = vec!["-i", "127.0.0.1", "-p", &p];
    args.extend_from_slice(extra);
    let proc = Proc::spawn_program("microsocks", &args, In::Null);
    wait_port(port);
    (proc, port)
}

pub(crate) fn tinyproxy(dir: &std::path::Path, basic_auth: Option<&str>) -> (Proc, u16) {
    let port = free_port();
    let mut conf =
        format!("Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nLogLevel Warning\n");
    if let Some(auth) = basic_auth {
        conf.push_str(&format!("BasicAuth {auth}\n"));
    }
    let path = dir.join(format!("tinyproxy-{port}.conf"));
    std::fs::write(&path, conf).unwrap();
    let proc = Proc::spawn_program("tinyproxy", &["-d", "-c", path.to_str().unwrap()], In::Null);
    wait_port(port);
    (proc, port)
}

/// Sends a line through sockcat `args` (which must end with the target) and checks the target's
/// greeting and the echo come back; stdin stays open until they have (the proxies close a tunnel at
/// the first EOF).
fn round_trip(args: &[&str]) -> crate::common::Done {
    let mut p = Proc::spawn(args, In::Pipe);
    p.write(b"ping through the proxy\n");
    let want = [GREETING, b"ping through the proxy\n"].concat();
    let came = p.stdout_has_within(&want, LIMIT);
    p.close_stdin();
    let done = p.finish();
    assert!(came, "no greeting and echo\n{}", done.show());
    // Nothing of the proxy's reply leaks into the stream.
    assert_eq!(done.stdout, want, "{}", done.show());
    done
}

#[test]
fn socks5_through_microsocks_resolved_here_and_by_the_proxy() {
    if !have("microsocks") {
        return;
    }
    let target = greeter().to_string();
    let (_ms, port) = microsocks(&[]);
    let url = format!("socks5://127.0.0.1:{port}");
    let done = round_trip(&["connect", "-v", "--proxy", &url, "127.0.0.1", &target]).ok();
    assert!(
        done.stderr
            .contains(&format!("connected to 127.0.0.1:{target} through {url}")),
        "{}",
        done.show()
    );
    // socks5h: the name goes to the proxy, which resolves it.
    let url = format!("socks5h://127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &url, "localhost", &target]).ok();
}

#[test]
fn socks5_refusal_names_the_proxys_reply() {
    if !have("microsocks") {
        return;
    }
    let (_ms, port) = microsocks(&[]);
    let url = format!("socks5://127.0.0.1:{port}");
    let dead = closed_port().to_string();
    run(&["connect", "--proxy", &url, "127.0.0.1", &dead], b"")
        .code(1)
        .one_error_line("socks5: connection refused by destination");
    // A proxy that is not there is an ordinary refused connect, naming the proxy.
    let nobody = format!("socks5://127.0.0.1:{}", closed_port());
    run(&["connect", "--proxy", &nobody, "127.0.0.1", &dead], b"")
        .code(1)
        .one_error_line("connection refused");
}

#[test]
fn socks5_user_and_password_with_microsocks() {
    if !have("microsocks") {
        return;
    }
    let target = greeter().to_string();
    let (_ms, port) = microsocks(&["-u", "alice", "-P", "s3cret"]);
    let good = format!("socks5://alice:s3cret@127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &good, "127.0.0.1", &target]).ok();

    // The same credentials from a file, which keeps them out of the process list.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth");
    std::fs::write(&file, "alice:s3cret\n").unwrap();
    let bare = format!("socks5://127.0.0.1:{port}");
    round_trip(&[
        "connect",
        "--proxy",
        &bare,
        "--proxy-auth-file",
        file.to_str().unwrap(),
        "127.0.0.1",
        &target,
    ])
    .ok();

    let wrong = format!("socks5://alice:wrong@127.0.0.1:{port}");
    let done = run(&["connect", "--proxy", &wrong, "127.0.0.1", &target], b"")
        .code(1)
        .one_error_line("socks5: authentication failed");
    assert!(
        !done.stderr.contains("wrong"),
        "password shown\n{}",
        done.show()
    );
    run(&["connect", "--proxy", &bare, "127.0.0.1", &target], b"")
        .code(1)
        .one_error_line("user name and password");
}

#[test]
fn http_connect_through_tinyproxy_with_basic_auth() {
    if !have("tinyproxy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = greeter().to_string();
    let (_tp, port) = tinyproxy(dir.path(), None);
    let url = format!("http://127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &url, "127.0.0.1", &target]).ok();

    let (_tp, port) = tinyproxy(dir.path(), Some("alice s3cret"));
    let bare = format!("http://127.0.0.1:{port}");
    run(&["connect", "--proxy", &bare, "127.0.0.1", &target], b"")
        .code(1)
        .one_error_line("http proxy: 407 Proxy Authentication Required");
    let good = format!("http://alice:s3cret@127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &good, "127.0.0.1", &target]).ok();
}

#[test]
fn http_connect_through_ncat() {
    if !have("ncat") {
        return;
    }
    let target = greeter().to_string();
    let port = free_port();
    let p = port.to_string();
    // ncat's proxy mode binds every address whatever it is told; --allow keeps it to loopback clients.
    let _ncat = Proc::spawn_program(
        "ncat",
        &[
            "-l",
            "--proxy-type",
            "http",
            "--allow",
            "127.0.0.1",
            "127.0.0.1",
            &p,
        ],
        In::Null,
    );
    wait_port(port);
    let url = format!("http://127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &url, "127.0.0.1", &target]).ok();
    // Its refusal is a 504 with a reason phrase, named as the proxy said it.
    let dead = closed_port().to_string();
    run(&["connect", "--proxy", &url, "127.0.0.1", &dead], b"")
        .code(1)
        .one_error_line("http proxy: 504");
}

/// What the test's own SOCKS4(a) server saw: the requested host (name or address) and port, user id.
#[derive(Debug, Clone, PartialEq)]
struct Socks4Request {
    host: String,
    port: u16,
    user: String,
}

fn read_cstr(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while s.read_exact(&mut b).is_ok() && b[0] != 0 && out.len() < 1024 {
        out.push(b[0]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A SOCKS4/4a server: it reports each request, connects to 127.0.0.1 at the requested port (the
/// name is only reported, never looked up) and relays, or answers 0x5b when that fails.
fn socks4a_server() -> (u16, Receiver<Socks4Request>) {
    let (listener, port) = tcp_listener();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let tx = tx.clone();
            std::thread::spawn(move || {
                conn.set_read_timeout(Some(LIMIT)).unwrap();
                let mut head = [0u8; 8];
                if conn.read_exact(&mut head).is_err() || head[0] != 4 || head[1] != 1 {
                    return;
                }
                let port = u16::from_be_bytes([head[2], head[3]]);
                let user = read_cstr(&mut conn);
                let host = if head[4..7] == [0, 0, 0] && head[7] != 0 {
                    read_cstr(&mut conn)
                } else {
                    format!("{}.{}.{}.{}", head[4], head[5], head[6], head[7])
                };
                let _ = tx.send(Socks4Request { host, port, user });
                let Ok(up) = TcpStream::connect(("127.0.0.1", port)) else {
                    let _ = conn.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]);
                    return;
                };
                let _ = conn.write_all(&[0, 0x5a, 0, 0, 0, 0, 0, 0]);
                let (mut a, mut b) = (conn.try_clone().unwrap(), up.try_clone().unwrap());
                let mut up2 = up;
                let t = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut up2);
                    let _ = up2.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut b, &mut conn);
                let _ = conn.shutdown(std::net::Shutdown::Write);
                let _ = t.join();
            });
        }
    });
    (port, rx)
}

#[test]
fn socks4_and_socks4a_against_a_server_written_here() {
    let target = greeter();
    let (port, seen) = socks4a_server();
    let t = target.to_string();
    let url = format!("socks4a://bob@127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &url, "localhost", &t]).ok();
    let req = seen.recv_timeout(LIMIT).unwrap();
    assert_eq!(
        req,
        Socks4Request {
            host: "localhost".into(),
            port: target,
            user: "bob".into()
        }
    );
    // socks4://: the name is resolved here and an IPv4 address is sent.
    let url = format!("socks4://127.0.0.1:{port}");
    round_trip(&["connect", "-4", "--proxy", &url, "localhost", &t]).ok();
    let req = seen.recv_timeout(LIMIT).unwrap();
    assert_eq!(req.host, "127.0.0.1");
    // A rejection in the proxy's words.
    let dead = closed_port().to_string();
    run(&["connect", "--proxy", &url, "127.0.0.1", &dead], b"")
        .code(1)
        .one_error_line("socks4: request rejected or failed");
    // SOCKS4 has no room for IPv6.
    run(&["connect", "--proxy", &url, "::1", &t], b"")
        .code(2)
        .one_error_line("IPv4 destinations only");
}

#[test]
fn a_chain_of_two_proxies_first_hop_first() {
    if !have("microsocks") {
        return;
    }
    let target = greeter();
    let (second, seen) = socks4a_server();
    let (_ms, first) = microsocks(&[]);
    let hop1 = format!("socks5h://127.0.0.1:{first}");
    let hop2 = format!("socks4a://127.0.0.1:{second}");
    let t = target.to_string();
    let done = round_trip(&[
        "connect",
        "-v",
        "--proxy",
        &hop1,
        "--proxy",
        &hop2,
        "127.0.0.3",
        &t,
    ])
    .ok();
    // The second hop was reached through the first (it got the request), and asked for the target.
    let req = seen.recv_timeout(LIMIT).unwrap();
    assert_eq!((req.host.as_str(), req.port), ("127.0.0.3", target));
    assert!(
        done.stderr.contains(&format!("through {hop1} -> {hop2}")),
        "{}",
        done.show()
    );
}

#[test]
fn scan_and_wait_for_through_a_proxy() {
    let (port, seen) = socks4a_server();
    let url = format!("socks4a://127.0.0.1:{port}");
    let open = greeter().to_string();
    let dead = closed_port().to_string();
    let done = run(
        &[
            "connect",
            "-z",
            "--proxy",
            &url,
            "127.0.0.1",
            &format!("{open},{dead}"),
        ],
        b"",
    )
    .code(1);
    assert_eq!(
        done.stdout_str(),
        format!("127.0.0.1:{open} open\n"),
        "{}",
        done.show()
    );

    // --wait-for: the target comes up only after the proxy has refused a first attempt.
    let late = free_port();
    let l = late.to_string();
    let mut p = Proc::spawn(
        &[
            "connect",
            "--wait-for",
            "15s",
            "--proxy",
            &url,
            "127.0.0.1",
            &l,
        ],
        In::Pipe,
    );
    while seen.recv_timeout(LIMIT).unwrap().port != late {}
    serve_greeter(TcpListener::bind(("127.0.0.1", late)).unwrap());
    assert!(p.stdout_has_within(GREETING, LIMIT), "never connected");
    p.close_stdin();
    p.finish().ok();
}

#[test]
fn sendfile_through_a_proxy_is_byte_exact() {
    if !have("microsocks") {
        return;
    }
    let (_ms, port) = microsocks(&[]);
    let (listener, target) = tcp_listener();
    let sink: JoinHandle<Vec<u8>> = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        got
    });
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(3 << 20, 7);
    let file = crate::common::write_file(dir.path(), "f.bin", &data);
    let url = format!("socks5://127.0.0.1:{port}");
    run(
        &[
            "sendfile",
            "--proxy",
            &url,
            file.to_str().unwrap(),
            "127.0.0.1",
            &target.to_string(),
        ],
        b"",
    )
    .ok();
    assert!(sink.join().unwrap() == data, "bytes differ");
}

#[test]
fn a_silent_proxy_is_a_timeout_and_bad_urls_are_usage_errors() {
    // Accepts and never answers.
    let (listener, port) = tcp_listener();
    let url = format!("socks5://127.0.0.1:{port}");
    let started = Instant::now();
    run(
        &["connect", "-w", "1", "--proxy", &url, "127.0.0.1", "9"],
        b"",
    )
    .code(3)
    .one_error_line("no answer in time");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(listener);

    for bad in [
        "127.0.0.1:1080",
        "gopher://127.0.0.1:70",
        "socks5://127.0.0.1",
        "http://127.0.0.1:99999",
    ] {
        run(&["connect", "--proxy", bad, "127.0.0.1", "9"], b"")
            .code(2)
            .one_error_line("invalid proxy URL");
    }
    run(
        &[
            "connect",
            "--proxy",
            "socks5://127.0.0.1:1",
            "--proxy-auth-file",
            "/nonexistent/auth",
            "127.0.0.1",
            "9",
        ],
        b"",
    )
    .code(2)
    .one_error_line("--proxy-auth-file /nonexistent/auth");
}

// ---- listen --proxy-server ----

/// Starts `sockcat listen -v --proxy-server 0 ARGS...` (loopback by default) and returns its port.
fn proxy_server(args: &[&str]) -> (Proc, u16) {
    let mut all = vec!["listen", "-v", "--proxy-server", "0"];
    all.extend_from_slice(args);
    let mut p = Proc::spawn(&all, In::Null);
    let addr = p.listening();
    assert!(addr.ip().is_loopback(), "{addr}: not loopback by default");
    (p, addr.port())
}

/// `python3 -m http.server` on 127.0.0.1, serving a directory with one known file.
fn web_server(dir: &std::path::Path) -> (Proc, u16) {
    std::fs::write(dir.join("hello.txt"), "hello over http\n").unwrap();
    let port = free_port();
    let p = Proc::spawn_program(
        "python3",
        &[
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
            dir.to_str().unwrap(),
        ],
        In::Null,
    );
    wait_port(port);
    (p, port)
}

fn curl(args: &[&str]) -> crate::common::Done {
    let mut all = vec!["-sS", "--max-time", "15"];
    all.extend_from_slice(args);
    Proc::spawn_program("curl", &all, In::Null).finish()
}

#[test]
fn proxy_server_with_curl_socks5h_socks4a_http_get_and_connect() {
    if !have("curl") || !have("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_web, web) = web_server(dir.path());
    let (mut srv, port) = proxy_server(&[]);
    let proxy = format!("127.0.0.1:{port}");
    let url = format!("http://localhost:{web}/hello.txt");
    let url_ip = format!("http://127.0.0.1:{web}/hello.txt");
    for args in [
        vec!["--socks5-hostname", proxy.as_str(), url.as_str()],
        vec!["--socks4a", proxy.as_str(), url.as_str()],
        vec!["-x", &format!("http://{proxy}"), url_ip.as_str()],
        vec!["-p", "-x", &format!("http://{proxy}"), url_ip.as_str()],
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        let done = curl(&args).ok();
        assert_eq!(done.stdout_str(), "hello over http\n", "{}", done.show());
    }
    srv.wait_line_containing("HTTP forward tunnel");
    srv.wait_line_containing("HTTP CONNECT tunnel");
}

#[test]
fn proxy_server_with_openbsd_nc_and_ncat_clients() {
    let target = greeter().to_string();
    let (_srv, port) = proxy_server(&[]);
    let proxy = format!("127.0.0.1:{port}");
    let mut clients: Vec<(&str, Vec<&str>)> = Vec::new();
    if have("nc") {
        clients.push(("nc", vec!["-X", "5", "-x", &proxy, "127.0.0.1", &target]));
        clients.push((
            "nc",
            vec!["-X", "connect", "-x", &proxy, "127.0.0.1", &target],
        ));
    }
    if have("ncat") {
        clients.push((
            "ncat",
            vec![
                "--proxy",
                &proxy,
                "--proxy-type",
                "socks5",
                "127.0.0.1",
                &target,
            ],
        ));
    }
    for (program, args) in clients {
        let mut p = Proc::spawn_program(program, &args, In::Pipe);
        p.write(b"ping\n");
        let came = p.stdout_has_within(&[GREETING, b"ping\n"].concat(), LIMIT);
        p.close_stdin();
        drop(p);
        assert!(came, "{program} {args:?}: no greeting and echo");
    }
}

#[test]
fn proxy_server_authentication_right_and_wrong() {
    let target = greeter().to_string();
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, "# who may use the proxy\nalice:s3cret\nbob:other\n").unwrap();
    let (_srv, port) = proxy_server(&["--auth-file", users.to_str().unwrap()]);
    let good = format!("socks5://alice:s3cret@127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &good, "127.0.0.1", &target]).ok();
    let good_http = format!("http://bob:other@127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &good_http, "127.0.0.1", &target]).ok();
    let wrong = format!("socks5://alice:nope@127.0.0.1:{port}");
    run(&["connect", "--proxy", &wrong, "127.0.0.1", &target], b"")
        .code(1)
        .one_error_line("socks5: authentication failed");
    let none = format!("http://127.0.0.1:{port}");
    run(&["connect", "--proxy", &none, "127.0.0.1", &target], b"")
        .code(1)
        .one_error_line("http proxy: 407 Proxy Authentication Required");
    let socks4 = format!("socks4a://alice@127.0.0.1:{port}");
    run(&["connect", "--proxy", &socks4, "127.0.0.1", &target], b"")
        .code(1)
        .one_error_line("request rejected or failed");
    if have("curl") {
        let done = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-x",
            &none,
            &format!("http://127.0.0.1:{target}/"),
        ]);
        assert_eq!(done.stdout_str(), "407", "{}", done.show());
    }
}

#[test]
fn proxy_server_destination_rules() {
    let target = greeter();
    let t = target.to_string();
    let (_srv, port) = proxy_server(&["--dest-deny", "127.0.0.2", "--dest-deny", ":25"]);
    let url = format!("socks5h://127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &url, "127.0.0.1", &t]).ok();
    run(&["connect", "--proxy", &url, "127.0.0.2", &t], b"")
        .code(1)
        .one_error_line("socks5: connection not allowed by ruleset");
    run(&["connect", "--proxy", &url, "127.0.0.1", "25"], b"")
        .code(1)
        .one_error_line("socks5: connection not allowed by ruleset");
    // A name that resolves to a denied address is denied too.
    let (_srv2, port2) = proxy_server(&["--dest-deny", "127.0.0.0/8"]);
    let url2 = format!("socks5h://127.0.0.1:{port2}");
    run(&["connect", "--proxy", &url2, "localhost", &t], b"")
        .code(1)
        .one_error_line("not allowed");
    // --dest-allow: only what it names.
    let (_srv3, port3) = proxy_server(&["--dest-allow", &format!(":{target}")]);
    let url3 = format!("http://127.0.0.1:{port3}");
    round_trip(&["connect", "--proxy", &url3, "127.0.0.1", &t]).ok();
    let other = closed_port().to_string();
    run(&["connect", "--proxy", &url3, "127.0.0.1", &other], b"")
        .code(1)
        .one_error_line("http proxy: 403 Forbidden");
}

#[test]
fn proxy_server_refuses_to_be_an_open_proxy() {
    for args in [
        &["listen", "--proxy-server", "0.0.0.0", "0"][..],
        &["listen", "--proxy-server", "::", "0"],
    ] {
        run(args, b"").code(2).one_error_line("open proxy");
    }
}

#[test]
fn proxy_server_bounds_a_stalled_handshake() {
    let target = greeter().to_string();
    let (mut srv, port) = proxy_server(&["-w", "1"]);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    // A SOCKS5 greeting cut short, and an HTTP request line that never ends.
    let mut stalled: Vec<TcpStream> = Vec::new();
    for start in [&b"\x05\x02"[..], b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nX: "] {
        let mut s = crate::common::connect(addr);
        s.write_all(start).unwrap();
        stalled.push(s);
    }
    // Others are served meanwhile.
    let url = format!("socks5://127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &url, "127.0.0.1", &target]).ok();
    let started = Instant::now();
    for s in &mut stalled {
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stalled clients kept"
    );
    srv.wait_line_containing("did not finish its handshake in time");
}

#[test]
fn a_thousand_stalled_handshakes_cost_bounded_memory_and_block_nobody() {
    let target = greeter().to_string();
    let (srv, port) = proxy_server(&["-w", "3"]);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let before = status_field(srv.pid(), "VmRSS:").expect("VmRSS");
    let mut stalled: Vec<TcpStream> = (0..1000)
        .map(|i| {
            let mut s = crate::common::connect(addr);
            let start: &[u8] = match i % 3 {
                0 => b"\x05",
                1 => b"\x04\x01\x00\x50\x7f\x00\x00\x01user",
                _ => b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: x",
            };
            s.write_all(start).unwrap();
            s
        })
        .collect();
    // Served meanwhile.
    let url = format!("socks5://127.0.0.1:{port}");
    round_trip(&["connect", "--proxy", &url, "127.0.0.1", &target]).ok();
    let during = status_field(srv.pid(), "VmRSS:").expect("VmRSS");
    assert!(
        during < before + 64 * 1024,
        "RSS grew from {before} KiB to {during} KiB with 1000 stalled clients"
    );
    // Every stalled client is closed once -w is up.
    let started = Instant::now();
    for s in &mut stalled {
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    println!("proxy server RSS: {before} KiB idle, {during} KiB with 1000 stalled handshakes");
}
