//! Bytes reach stdout as they arrive: every test here reads sockcat's stdout (a pipe, a regular file, a
//! pseudo-terminal) while the session is still open, and fails when the bytes wait for the session to
//! end. (A splice from a socket into a pipe used to hold the pipe's lock while it waited for more
//! data, so `sockcat connect ... | grep` saw nothing until the peer closed.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{In, LIMIT, Proc, connect, tcp_listener};

/// How long a byte may take from the socket to sockcat's stdout: generous for a loaded machine, far
/// below "never" (the sessions below stay open until the test ends them).
const PROMPT: Duration = Duration::from_secs(5);

/// A server that sends `hello` at once and keeps the connection open until the returned sender
/// is dropped.
fn talker() -> (
    u16,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (listener, port) = tcp_listener();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.write_all(b"hello").unwrap();
        // Held open until the test is done with it.
        let _ = rx.recv_timeout(LIMIT);
    });
    (port, tx, handle)
}

fn assert_prompt(p: &Proc, needle: &[u8], what: &str) {
    assert!(
        p.stdout_has_within(needle, PROMPT),
        "{what}: {:?} did not reach stdout while the session was open\ncommand: {}",
        String::from_utf8_lossy(needle),
        p.cmd
    );
}

#[test]
fn connect_stdout_pipe_gets_bytes_at_once() {
    let (port, done, server) = talker();
    let p = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Pipe);
    assert_prompt(&p, b"hello", "connect, stdout a pipe");
    drop(done);
    server.join().unwrap();
    p.finish().ok();
}

#[test]
fn connect_stdout_pipe_gets_each_reply_of_a_conversation() {
    // Several exchanges on one connection: each answer must come out before the next question.
    let (listener, port) = tcp_listener();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        let mut buf = [0u8; 64];
        for i in 0..3 {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0, "client went away at round {i}");
            conn.write_all(format!("answer{i}\n").as_bytes()).unwrap();
        }
    });
    let mut p = Proc::spawn(&["connect", "127.0.0.1", &port.to_string()], In::Pipe);
    for i in 0..3 {
        p.write(format!("question{i}\n").as_bytes());
        assert_prompt(&p, format!("answer{i}\n").as_bytes(), "conversation");
    }
    server.join().unwrap();
    p.finish().ok();
}

#[test]
fn connect_stdout_regular_file_gets_bytes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (port, done, server) = talker();
    let script = format!("exec \"$0\" connect 127.0.0.1 {port} > '{}'", out.display());
    let bin = crate::common::bin().display().to_string();
    let p = Proc::spawn_program("sh", &["-c", &script, &bin], In::Pipe);
    let deadline = Instant::now() + PROMPT;
    while std::fs::read(&out).unwrap_or_default() != b"hello" {
        assert!(
            Instant::now() < deadline,
            "the file did not get the bytes while the session was open"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(done);
    server.join().unwrap();
    p.finish().ok();
}

#[test]
fn connect_stdout_terminal_gets_bytes_at_once() {
    // script(1) gives sockcat a pseudo-terminal as stdout (and stdin) and copies it to our pipe.
    if !crate::common::have("script") {
        return;
    }
    let (port, done, server) = talker();
    let cmd = format!(
        "{} connect 127.0.0.1 {port}",
        crate::common::bin().display()
    );
    let p = Proc::spawn_program("script", &["-qfec", &cmd, "/dev/null"], In::Pipe);
    assert_prompt(&p, b"hello", "connect, stdout a terminal");
    drop(done);
    server.join().unwrap();
    drop(p);
}

/// Starts `sockcat listen -v ARGS 127.0.0.1 0` and returns it with its address.
fn listener(args: &[&str]) -> (Proc, SocketAddr) {
    let mut full = vec!["listen", "-v"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["127.0.0.1", "0"]);
    let mut p = Proc::spawn(&full, In::Pipe);
    let addr = p.listening();
    (p, addr)
}

/// A client that sends `data` and stays connected (returned, so the test decides when it leaves).
fn client_says(addr: SocketAddr, data: &[u8]) -> TcpStream {
    let mut c = connect(addr);
    c.write_all(data).unwrap();
    c
}

#[test]
fn listen_stdout_pipe_gets_bytes_at_once() {
    let (p, addr) = listener(&[]);
    let _c = client_says(addr, b"hello");
    assert_prompt(&p, b"hello", "listen");
}

#[test]
fn listen_recv_only_stdout_pipe_gets_bytes_at_once() {
    let (p, addr) = listener(&["--recv-only"]);
    let _c = client_says(addr, b"hello");
    assert_prompt(&p, b"hello", "listen --recv-only");
}

#[test]
fn keep_open_stdout_pipe_gets_bytes_at_once() {
    let (p, addr) = listener(&["-k"]);
    let _c = client_says(addr, b"hello");
    assert_prompt(&p, b"hello", "listen -k");
    let _d = client_says(addr, b"world");
    assert_prompt(&p, b"world", "listen -k, second client");
}

#[test]
fn broker_stdout_pipe_gets_bytes_at_once() {
    let (p, addr) = listener(&["--broker"]);
    let _c = client_says(addr, b"hello");
    assert_prompt(&p, b"hello", "listen --broker");
}

#[test]
fn exec_server_answers_reach_a_client_pipe_at_once() {
    // sockcat connect (stdout a pipe) talking to `listen -k -e cat`: each line comes back while the
    // session is open.
    let (_server, addr) = listener(&["-k", "-e", "cat"]);
    let mut p = Proc::spawn(
        &["connect", "127.0.0.1", &addr.port().to_string()],
        In::Pipe,
    );
    p.write(b"one\n");
    assert_prompt(&p, b"one\n", "client of listen -e cat");
    p.write(b"two\n");
    assert_prompt(&p, b"one\ntwo\n", "client of listen -e cat, second line");
    p.finish().ok();
}

/// A Unix-socket server that reads 16 KiB every 40 ms (about 400 KiB/s) until EOF and returns the
/// count: a slow reader, with Unix sockets' fixed buffers so sockcat's sending really waits on it.
fn slow_unix_reader(path: &std::path::Path) -> std::thread::JoinHandle<usize> {
    let listener = std::os::unix::net::UnixListener::bind(path).expect("bind");
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0;
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    })
}

/// Issue 14 item 4: `-i` never fires while bytes are moving, however slowly, whatever the path
/// (sendfile from a file, splice from a pipe): 1 MiB to a 400 KiB/s reader with `-i 1s`.
#[test]
fn idle_timeout_never_fires_while_a_slow_reader_reads() {
    let dir = tempfile::tempdir().unwrap();
    let data = crate::common::pattern(1 << 20, 5);
    let file = crate::common::write_file(dir.path(), "one-mib", &data);
    for pipe in [false, true] {
        let path = dir.path().join(format!("slow-{pipe}.sock"));
        let server = slow_unix_reader(&path);
        let args = ["connect", "-i", "1s", "--unix", path.to_str().unwrap()];
        let mut p = if pipe {
            Proc::spawn(&args, In::Pipe)
        } else {
            Proc::spawn(&args, In::File(file.clone()))
        };
        if pipe {
            let mut stdin = p.stdin.take().unwrap();
            let data = data.clone();
            std::thread::spawn(move || stdin.write_all(&data));
        }
        let done = p.finish();
        let what = if pipe { "stdin a pipe" } else { "stdin a file" };
        assert_eq!(done.code, Some(0), "{what}: {}", done.show());
        assert_eq!(server.join().unwrap(), data.len(), "{what}");
    }
}

/// The same over TCP, where the kernel may take the whole input into its send buffer at once and the
/// bytes then drain to the slow reader after sockcat has nothing left to write: that drain is bytes
/// moving too.
#[test]
fn idle_timeout_never_fires_while_the_send_queue_drains() {
    let dir = tempfile::tempdir().unwrap();
    let data = crate::common::pattern(1 << 20, 6);
    let file = crate::common::write_file(dir.path(), "one-mib", &data);
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(16 * 1024).unwrap();
    sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    sock.listen(1).unwrap();
    let port = sock.local_addr().unwrap().as_socket().unwrap().port();
    let server = std::thread::spawn(move || {
        let (conn, _) = sock.accept().expect("accept");
        let mut conn = TcpStream::from(conn);
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0;
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    });
    let done = Proc::spawn(
        &["connect", "-i", "1s", "127.0.0.1", &port.to_string()],
        In::File(file),
    )
    .finish();
    assert_eq!(done.code, Some(0), "{}", done.show());
    assert_eq!(server.join().unwrap(), data.len());
}
