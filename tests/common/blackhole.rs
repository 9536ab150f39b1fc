//! A listener whose accept queue is full, so further SYNs are dropped and connects hang: the only way
//! to see a connect timeout on loopback. One definition for the integration tests (`tests/common`)
//! and the library's unit tests (`src/net/connect.rs` includes this file with `#[path]`).

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// Binds `addr` (port 0 for a free one) with a backlog of 0 and fills the queue. Returns the
/// listener, the connections filling it (keep both alive) and the address a connect now hangs on.
pub fn blackhole(addr: SocketAddr) -> (Socket, Vec<Socket>, SocketAddr) {
    let l = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    l.bind(&addr.into()).unwrap();
    l.listen(0).unwrap();
    let local = l.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..2 {
        let s = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&local.into());
        fillers.push(s);
    }
    // Let the handshakes of the fillers complete before the test's connect.
    std::thread::sleep(Duration::from_millis(50));
    (l, fillers, local)
}
