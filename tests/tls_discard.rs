//! TLS received into /dev/null: the plaintext is decrypted and dropped inside rustls's buffers, never
//! copied out. Dropped bytes are still authenticated and the end of the stream is still found.

use crate::common::{In, Proc, bin, have, pattern};
use crate::tls::{pki, python_sender_without_close_notify, tls_listen};

/// `sockcat ARGS > /dev/null`, run through sh.
fn into_dev_null(args: &[&str], stdin: In) -> Proc {
    let bin = bin().display().to_string();
    let mut sh = vec!["-c", "exec \"$0\" \"$@\" > /dev/null", &bin];
    sh.extend_from_slice(args);
    Proc::spawn_program("sh", &sh, stdin)
}

#[test]
fn into_dev_null_ends_at_close_notify_and_says_when_there_was_none() {
    // With close_notify: the whole file, status 0, no complaint.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    std::fs::write(&file, pattern(3 << 20, 7)).unwrap();
    let (listen, port, pin) = tls_listen(&[], In::File(file));
    let port = port.to_string();
    let client = into_dev_null(
        &["connect", "-v", "--tls", "--pin", &pin, "127.0.0.1", &port],
        In::Null,
    );
    let done = client.finish().ok();
    assert!(!done.stderr.contains("close_notify"), "{}", done.show());
    listen.finish().ok();

    // Without close_notify (Python's ssl on close()): status 0 and -v says so.
    if !have("python3") {
        return;
    }
    let pki = pki();
    let ca = pki.path("ca.pem");
    let (_server, port) = python_sender_without_close_notify(&pki, "b'x' * 1000000");
    // stdin stays open until the session has ended (a close_notify of ours, sent at once, would be
    // unread data at Python's close: a reset, not what is tested here).
    let mut client = into_dev_null(
        &[
            "connect",
            "-v",
            "--tls",
            "--ca",
            &ca,
            "localhost",
            port.trim(),
        ],
        In::Pipe,
    );
    client.wait_line_containing("tls: the peer closed the connection without close_notify");
    client.close_stdin();
    client.finish().ok();
}

#[test]
fn a_record_altered_on_the_way_is_an_error_even_into_dev_null() {
    if !have("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    std::fs::write(&file, pattern(2 << 20, 9)).unwrap();
    let (listen, port, pin) = tls_listen(&[], In::File(file));
    // A man in the middle that flips one bit of the server's stream, far past the handshake.
    let script = "import socket, sys, threading
srv = socket.create_server(('127.0.0.1', 0))
print('port', srv.getsockname()[1], file=sys.stderr, flush=True)
c, _ = srv.accept()
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
def pump(a, b, at):
    n = 0
    while True:
        try:
            d = a.recv(65536)
        except OSError:
            d = b''
        if not d:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        if at is not None and n <= at < n + len(d):
            d = bytearray(d)
            d[at - n] ^= 1
            d = bytes(d)
        n += len(d)
        try:
            b.sendall(d)
        except OSError:
            return
t = threading.Thread(target=pump, args=(c, s, None), daemon=True)
t.start()
pump(s, c, 1000000)
";
    let mut mitm = Proc::spawn_program("python3", &["-c", script, &port.to_string()], In::Null);
    let mitm_port = mitm
        .wait_line("port ")
        .trim_start_matches("port ")
        .to_string();
    // stdin stays open: a close_notify of ours before the altered record would make rustls's debug
    // build trip on its own assertion (a fatal alert after close_notify).
    let client = into_dev_null(
        &[
            "connect",
            "--tls",
            "--pin",
            &pin,
            "127.0.0.1",
            mitm_port.trim(),
        ],
        In::Pipe,
    );
    let done = client.finish_with_stdin_open().code(1);
    assert!(
        done.stderr.contains("cannot decrypt peer's message"),
        "{}",
        done.show()
    );
    drop(mitm);
    drop(listen);
}
