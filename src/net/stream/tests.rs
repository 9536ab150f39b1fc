//! The relay between two sockets (what `listen --forward` is), through [`join`] and nothing else.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use crate::net::stream::Endpoint;
use crate::net::stream::relay::{RelayConfig, join};

/// A connected loopback pair: (the end we keep, the end given to the relay).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (theirs, _) = listener.accept().unwrap();
    ours.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    (ours, theirs)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn send_then_fin(mut sock: TcpStream, data: Vec<u8>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        sock.write_all(&data).unwrap();
        sock.shutdown(Shutdown::Write).unwrap();
    })
}

#[test]
fn two_sockets_joined_carry_bytes_and_half_close_both_ways() {
    let (client, client_leg) = pair();
    let (target, target_leg) = pair();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let cfg = RelayConfig::default();
        let a = Endpoint::socket(client_leg.into());
        let b = Endpoint::socket(target_leg.into());
        let _ = done_tx.send(join(a, b, &cfg));
    });

    // client -> target, then the client's FIN reaches the target while the other way stays open.
    let up = pattern(3 << 20, 7);
    let writer = send_then_fin(client.try_clone().unwrap(), up.clone());
    let mut got = Vec::new();
    let mut target_r = target.try_clone().unwrap();
    target_r
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    target_r.read_to_end(&mut got).unwrap();
    writer.join().unwrap();
    assert!(
        got == up,
        "client -> target: {} of {} bytes",
        got.len(),
        up.len()
    );
    assert!(
        done_rx.try_recv().is_err(),
        "the relay ended after one direction"
    );

    // target -> client after the half-close, then the target's FIN ends the relay.
    let down = pattern(2 << 20, 99);
    let writer = send_then_fin(target, down.clone());
    let mut got = Vec::new();
    let mut client = client;
    client.read_to_end(&mut got).unwrap();
    writer.join().unwrap();
    assert!(
        got == down,
        "target -> client: {} of {} bytes",
        got.len(),
        down.len()
    );
    let result = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the relay ends once both directions ended");
    assert!(result.is_ok(), "{result:?}");
}

/// A join that ends while both directions still wait (here the idle timeout) stops both ends, so
/// neither its threads nor the two connections outlive it (a forwarding server runs many joins).
#[test]
fn a_join_that_times_out_closes_both_sockets() {
    let (mut client, client_leg) = pair();
    let (mut target, target_leg) = pair();
    target
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let cfg = RelayConfig {
        idle_timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let result = join(
        Endpoint::socket(client_leg.into()),
        Endpoint::socket(target_leg.into()),
        &cfg,
    );
    let err = result.expect_err("idle timeout");
    assert!(
        crate::exit::status_of(&err) == crate::exit::TIMEOUT,
        "{err:#}"
    );
    let mut buf = [0u8; 8];
    assert_eq!(client.read(&mut buf).unwrap(), 0, "client leg still open");
    assert_eq!(target.read(&mut buf).unwrap(), 0, "target leg still open");
}

/// A source that dies in its read, as a library's internal check can in a debug build.
struct Panics;

impl crate::net::stream::Source for Panics {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        panic!("a direction that dies without a report (expected by this test)");
    }

    fn read_error(&self, err: std::io::Error) -> anyhow::Error {
        err.into()
    }
}

/// A direction thread that dies without reporting how it ended fails the join: the session is not
/// taken for a clean end (status 0) because the other direction ended well.
#[test]
fn a_direction_that_dies_fails_the_join() {
    let (peer, leg) = pair();
    peer.shutdown(Shutdown::Both).unwrap();
    let a = Endpoint::new(
        Box::new(Panics),
        Box::new(crate::net::stream::Discard),
        None,
    );
    let result = join(a, Endpoint::socket(leg.into()), &RelayConfig::default());
    let err = result.expect_err("a dead direction is a failure");
    assert!(format!("{err:#}").contains("relay thread"), "{err:#}");
}
