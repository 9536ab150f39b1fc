//! Bytes reach stdout as they arrive: every test here reads sockcat's stdout (a pipe, a regular file, a
//! pseudo-terminal) while the session is still open, and fails when the bytes wait for the session to
//! end. (A splice from a socket into a pipe used to hold the pipe's lock while it waited for more
//! data, so `sockcat connect ... | grep` saw nothing until the peer closed.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{In, LIMIT, Proc, connect, tcp_listener};

/// How long a byte may take from the socket to sockcat's stdout, counted from the start of the
/// programs in the connect cases (python3 for a pty, a shell and dd): generous for a loaded machine,
/// and still a bound that only a bug reaches, since the sessions below stay open until the test has
/// seen the bytes (the bug held them until the session ended).
const PROMPT: Duration = Duration::from_secs(15);

/// What the peers below send: a line long enough that a reader taking one byte per read needs many.
const LINE: &[u8] = b"hello, this line is read while the session is still open\n";

/// A server that sends [`LINE`] at once and keeps the connection open until the returned sender
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
        conn.write_all(LINE).unwrap();
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
    assert_prompt(
        &p,
        LINE.strip_suffix(b"\n").unwrap(),
        "connect, stdout a terminal",
    );
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

// ---- The whole matrix of issue 21 item 1: stdout a pipe (read by the test, and read a byte at a
// time by dd), a regular file and a terminal, in connect, listen, --recv-only, -k and --broker; a
// client of an --exec server; and the programs of -e/-c themselves. ----

/// What sockcat's stdout is.
#[derive(Clone, Copy, Debug)]
enum Out {
    Pipe,
    File,
    /// A pseudo-terminal (stdout only: stdin and stderr stay the test's pipes).
    Pty,
    /// A pipe read one byte per read(2), by `dd bs=1`: each read takes the pipe's lock, which a
    /// splice waiting on the socket for more would hold (the test's own reader, which takes all
    /// there is in one read, often slips in before that splice starts).
    BytePipe,
}

/// Runs its arguments as a program whose stdout is a new pseudo-terminal, copying what the terminal
/// shows to its own stdout until the program has closed it; exits with the program's status.
const ON_A_PTY: &str = "import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdout=s)
os.close(s)
while True:
    try:
        d = os.read(m, 65536)
    except OSError:
        break
    if not d:
        break
    os.write(1, d)
sys.exit(p.wait())";

/// A sockcat whose stdout is `out`, its stderr the test's (for `listening on`).
struct Watched {
    p: Proc,
    /// The file stdout goes to (`Out::File`), in a directory removed with it.
    file: Option<(tempfile::TempDir, std::path::PathBuf)>,
    out: Out,
}

impl Watched {
    /// `sockcat args`, or None when the peer program it needs (python3 for a pty) is missing.
    fn spawn(args: &[&str], out: Out) -> Option<Watched> {
        let bin = crate::common::bin().display().to_string();
        let mut file = None;
        let p = match out {
            Out::Pipe => Proc::spawn(args, In::Pipe),
            Out::File => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("out");
                let mut all = vec![
                    "-c",
                    "f=$1; shift; exec \"$@\" > \"$f\"",
                    "sh",
                    path.to_str().unwrap(),
                    &bin,
                ];
                all.extend_from_slice(args);
                let p = Proc::spawn_program("sh", &all, In::Pipe);
                file = Some((dir, path));
                p
            }
            Out::BytePipe => {
                let mut all = vec!["-c", "\"$@\" | dd bs=1 status=none", "sh", &bin];
                all.extend_from_slice(args);
                Proc::spawn_program("sh", &all, In::Pipe)
            }
            Out::Pty => {
                if !crate::common::have("python3") {
                    return None;
                }
                let mut all = vec!["-c", ON_A_PTY, &bin];
                all.extend_from_slice(args);
                Proc::spawn_program("python3", &all, In::Pipe)
            }
        };
        Some(Watched { p, file, out })
    }

    /// `sockcat listen -v ARGS 127.0.0.1 0` with stdout `out`, and its address.
    fn listener(args: &[&str], out: Out) -> Option<(Watched, SocketAddr)> {
        let mut full = vec!["listen", "-v"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["127.0.0.1", "0"]);
        let mut w = Watched::spawn(&full, out)?;
        let addr = w.p.listening();
        Some((w, addr))
    }

    /// Fails the test unless `needle` reaches stdout within [`PROMPT`], the session still open.
    fn assert_prompt(&self, needle: &[u8], what: &str) {
        // A terminal shows a newline as CR LF.
        let needle = match self.out {
            Out::Pty => needle.strip_suffix(b"\n").unwrap_or(needle),
            _ => needle,
        };
        let came = match &self.file {
            None => self.p.stdout_has_within(needle, PROMPT),
            Some((_, path)) => {
                // A regular file has no readiness to wait on: look at it until the bytes are there or
                // the bound has passed.
                let deadline = Instant::now() + PROMPT;
                loop {
                    let now = std::fs::read(path).unwrap_or_default();
                    if now.windows(needle.len()).any(|w| w == needle) {
                        break true;
                    }
                    if Instant::now() >= deadline {
                        break false;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        };
        assert!(
            came,
            "{what}, stdout {:?}: {:?} did not reach stdout while the session was open\ncommand: {}\n\
             stderr so far: {}",
            self.out,
            String::from_utf8_lossy(needle),
            self.p.cmd,
            self.p.output_so_far().1
        );
    }
}

const OUTS: [Out; 4] = [Out::BytePipe, Out::Pipe, Out::File, Out::Pty];

#[test]
fn listen_stdout_of_every_kind_gets_bytes_at_once() {
    for out in OUTS {
        let Some((w, addr)) = Watched::listener(&[], out) else {
            continue;
        };
        let _c = client_says(addr, LINE);
        w.assert_prompt(LINE, "listen");
    }
}

#[test]
fn listen_recv_only_stdout_of_every_kind_gets_bytes_at_once() {
    for out in OUTS {
        let Some((w, addr)) = Watched::listener(&["--recv-only"], out) else {
            continue;
        };
        let _c = client_says(addr, LINE);
        w.assert_prompt(LINE, "listen --recv-only");
    }
}

#[test]
fn keep_open_stdout_of_every_kind_gets_bytes_at_once() {
    for out in OUTS {
        let Some((w, addr)) = Watched::listener(&["-k"], out) else {
            continue;
        };
        let _c = client_says(addr, LINE);
        w.assert_prompt(LINE, "listen -k");
        let _d = client_says(addr, b"from a second client\n");
        w.assert_prompt(b"from a second client\n", "listen -k, a second client");
    }
}

#[test]
fn broker_stdout_of_every_kind_gets_bytes_at_once() {
    for out in OUTS {
        let Some((w, addr)) = Watched::listener(&["--broker"], out) else {
            continue;
        };
        let _c = client_says(addr, LINE);
        w.assert_prompt(LINE, "listen --broker");
    }
}

#[test]
fn connect_and_recv_only_stdout_of_every_kind_gets_bytes_at_once() {
    // The pty here is stdout's only (the test above gives script(1)'s to all three).
    for recv_only in [false, true] {
        for out in OUTS {
            let (port, done, server) = talker();
            let port = port.to_string();
            let mut args = vec!["connect", "127.0.0.1", &port];
            if recv_only {
                args.insert(1, "--recv-only");
            }
            let Some(w) = Watched::spawn(&args, out) else {
                continue;
            };
            w.assert_prompt(LINE, &args.join(" "));
            drop(done);
            server.join().unwrap();
        }
    }
}

/// A client of an `-e cat` server, its stdout a pipe, a file or a terminal: each line comes back
/// while the session is open.
#[test]
fn exec_server_answers_reach_a_client_stdout_of_every_kind_at_once() {
    let (_server, addr) = listener(&["-k", "-e", "cat"]);
    for out in OUTS {
        let Some(mut w) = Watched::spawn(&["connect", "127.0.0.1", &addr.port().to_string()], out)
        else {
            continue;
        };
        w.p.write(b"one\n");
        w.assert_prompt(b"one", "client of listen -e cat");
        w.p.write(b"two\n");
        w.assert_prompt(b"two", "client of listen -e cat, second line");
    }
}

/// Answers each line with `got LINE` (something a terminal's echo cannot show). The shell's `read`
/// takes one byte per read(2) from a pipe, so a writer that held the pipe's lock while waiting for
/// the socket (a blocking splice into the program's stdin) would starve it.
const ANSWERER: &str = "while read -r l; do echo \"got $l\"; done";

/// Sends two lines on `c` and waits (bounded) for the program's answer to each.
fn answered_at_once(c: &mut TcpStream, what: &str) {
    c.set_read_timeout(Some(PROMPT)).unwrap();
    let mut got = Vec::new();
    for word in ["ping", "pong"] {
        c.write_all(format!("{word}\n").as_bytes()).unwrap();
        let want = format!("got {word}");
        let mut buf = [0u8; 256];
        while !got.windows(want.len()).any(|w| w == want.as_bytes()) {
            match c.read(&mut buf) {
                Ok(0) => panic!("{what}: closed before {want:?} came"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!(
                    "{what}: {want:?} did not come while the session was open ({e}); got {:?}",
                    String::from_utf8_lossy(&got)
                ),
            }
        }
    }
}

/// A program run by `-c` gets what the peer sends while the session is open, and its answers reach
/// the peer at once, however the program is attached: the socket itself (plain `-c`), pipes through
/// the relay (`--progress`, connect's `-i`), a pseudo-terminal (`--pty`). Both listen and connect.
#[test]
fn exec_programs_get_and_give_bytes_at_once() {
    let cases: [&[&str]; 3] = [&[], &["--progress"], &["--pty"]];
    for extra in cases {
        let mut args = vec!["-k"];
        args.extend_from_slice(extra);
        args.extend(["-c", ANSWERER]);
        let (_server, addr) = listener(&args);
        answered_at_once(&mut connect(addr), &format!("listen {extra:?} -c"));
    }
    let connect_cases: [&[&str]; 3] = [&[], &["-i", "20s"], &["--pty"]];
    for extra in connect_cases {
        let (l, port) = tcp_listener();
        let port = port.to_string();
        let mut args = vec!["connect"];
        args.extend_from_slice(extra);
        args.extend(["-c", ANSWERER, "127.0.0.1", &port]);
        let _p = Proc::spawn(&args, In::Null);
        let (mut c, _) = l.accept().unwrap();
        answered_at_once(&mut c, &format!("connect {extra:?} -c"));
    }
}
