//! `sendfile --verify` where its fast paths could go wrong: the sender hashes its file through
//! memory maps of 32 MiB windows (so sizes and offsets around a window or a page boundary), a file
//! that shrinks under a sender must fail (status 1, one error line, no crash by SIGBUS, nothing left
//! at the receiver), and the receiver's sizes that fill no whole buffer or none at all.

use std::path::Path;

use crate::common::{In, Proc, pattern, write_file};

const WINDOW: usize = 32 << 20;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A `sendfile --receive -v` on a free loopback port, with its port.
fn receiver(extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["sendfile", "--receive", "-v"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["127.0.0.1", "0"]);
    let mut p = Proc::spawn(&args, In::Null);
    let addr = p.listening();
    (p, addr.port())
}

fn send(file: &Path, port: u16, extra: &[&str]) -> crate::common::Done {
    let port = port.to_string();
    let mut args = vec!["sendfile"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[file.to_str().unwrap(), "127.0.0.1", &port]);
    Proc::spawn(&args, In::Null).finish()
}

#[test]
fn verified_ranges_across_window_and_page_boundaries() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let data = pattern(2 * WINDOW + 3 * 4096 + 17, 31);
    let file = write_file(src.path(), "w.bin", &data);
    let out = dst.path().join("out");
    let out_s = out.to_str().unwrap();
    // (offset, count, digest): a whole window exactly, a range starting mid-page and crossing two
    // window edges, one ending a byte short of a page, one byte, and nothing.
    for (offset, count, flag) in [
        (0, WINDOW, "--verify"),
        (4097, 2 * WINDOW + 5, "--verify"),
        (WINDOW - 1, 4095, "--verify=sha256"),
        (data.len() - 1, 1, "--verify"),
        (data.len(), 0, "--verify"),
    ] {
        let (rx, port) = receiver(&["--verify", "--force", "-o", out_s]);
        let (o, c) = (offset.to_string(), count.to_string());
        send(&file, port, &[flag, "--offset", &o, "--count", &c]).ok();
        rx.finish().ok();
        assert!(
            std::fs::read(&out).unwrap() == data[offset..offset + count],
            "offset {offset} count {count} differs"
        );
    }
    // The same into /dev/null (the receiver hashes through its buffers), sizes that fill no buffer.
    for count in [0, 1, 256 * 1024 + 1, WINDOW + 1] {
        let (rx, port) = receiver(&["--verify", "-o", "/dev/null"]);
        let c = count.to_string();
        send(&file, port, &["--verify", "--count", &c]).ok();
        rx.finish().ok();
    }
}

#[test]
fn a_file_that_shrinks_under_the_sender_fails_without_a_crash() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    for cut in [WINDOW + 5, 5000] {
        let data = pattern(2 * WINDOW, 32);
        let file = write_file(src.path(), "s.bin", &data);
        let port = crate::common::free_port().to_string();
        // The sender opens the file (and takes its size) before it connects: it is cut while the
        // sender waits for the receiver, so it must read past the new end whatever the timing.
        let mut sender = Proc::spawn(
            &[
                "sendfile",
                "-v",
                "--verify",
                "--wait-for",
                "20s",
                file.to_str().unwrap(),
                "127.0.0.1",
                &port,
            ],
            In::Null,
        );
        sender.wait_line("not up yet, retrying: ");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(cut as u64)
            .unwrap();
        let rx = Proc::spawn(
            &[
                "sendfile",
                "--receive",
                "--verify",
                "-o",
                dst.path().to_str().unwrap(),
                "127.0.0.1",
                &port,
            ],
            In::Null,
        );
        sender.finish().code(1).last_error_line("shr");
        rx.finish().code(1);
        assert!(entries(dst.path()).is_empty(), "{:?}", entries(dst.path()));
    }
}
