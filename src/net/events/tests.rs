use std::io;

use super::*;

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn accept_refuse_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ev.jsonl");
    let ev = Events::open(&path).unwrap();
    let s = ev.accept(None, "127.0.0.1:5");
    s.add_in(3);
    s.add_out(4);
    ev.refuse("10.0.0.1:1", RefuseReason::MaxConns);
    let t = ev.accept_to(Some(9), "127.0.0.1:6", Some("127.0.0.1:80"));
    s.close(CloseReason::Reset);
    drop(t);
    let l = lines(&path);
    assert_eq!(l.len(), 5);
    assert_eq!(l[0]["event"], "accept");
    assert_eq!(l[0]["id"], 0);
    assert_eq!(l[0]["peer"], "127.0.0.1:5");
    assert_eq!(l[1]["reason"], "max-conns");
    assert!(l[1].get("id").is_none());
    assert_eq!(l[2]["dest"], "127.0.0.1:80");
    assert_eq!(l[3]["event"], "close");
    assert_eq!(
        (l[3]["bytes_in"].as_u64(), l[3]["bytes_out"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(l[3]["reason"], "reset");
    assert_eq!(
        (l[4]["id"].as_u64(), l[4]["reason"].as_str()),
        (Some(9), Some("eof"))
    );
    assert_eq!(l[4]["dest"], "127.0.0.1:80");
    // "2026-11-28T07:01:02.345Z"
    let ts = l[0]["ts"].as_str().unwrap();
    assert_eq!(
        (ts.len(), &ts[10..11], &ts[19..20], &ts[23..]),
        (24, "T", ".", "Z"),
        "{ts}"
    );
}

#[test]
fn close_all_closes_each_open_session_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ev.jsonl");
    let ev = Events::open(&path).unwrap();
    let a = ev.accept(None, "a");
    let b = ev.accept(None, "b");
    a.close(CloseReason::Eof);
    ev.close_all(CloseReason::Signal);
    drop(b);
    let l = lines(&path);
    assert_eq!(l.len(), 4);
    assert_eq!(
        (l[3]["peer"].as_str(), l[3]["reason"].as_str()),
        (Some("b"), Some("signal"))
    );
}

#[test]
fn reasons_from_results() {
    let reset = anyhow::Error::new(io::Error::from(io::ErrorKind::ConnectionReset));
    assert_eq!(CloseReason::of(&Err(reset)), CloseReason::Reset);
    assert_eq!(CloseReason::of(&Ok(())), CloseReason::Eof);
    assert_eq!(
        CloseReason::of(&Err(anyhow::anyhow!("idle timeout: closed"))),
        CloseReason::Idle
    );
    assert_eq!(
        CloseReason::of(&Err(anyhow::anyhow!("boom"))).as_str(),
        "boom"
    );
}

#[test]
fn a_bad_path_is_usage() {
    let err = Events::open(Path::new("/nonexistent-dir/x")).err().unwrap();
    assert_eq!(crate::exit::status_of(&err), crate::exit::USAGE);
}
