//! The `listen --proxy-server` handshake fed a hostile client: SOCKS4/4a, SOCKS5 (with and without
//! required authentication) and HTTP requests. It never panics, never reads past its 64 KiB bound,
//! accepts only a destination with a host and a non-empty request, and hands on exactly the bytes
//! after the handshake.

#![no_main]

use std::io::{self, Cursor, Read, Write};

use libfuzzer_sys::fuzz_target;
use sockcat::fuzz::{
    Credentials, MAX_HANDSHAKE, ProxyRequestProtocol, Users, Wire, proxy_server_handshake,
};

struct Client<'a>(Cursor<&'a [u8]>);

impl Read for Client<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Client<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, input)) = data.split_first() else {
        return;
    };
    let users = Users::new(vec![Credentials {
        user: "u".into(),
        pass: "p".into(),
    }]);
    let users = (flags & 1 != 0).then_some(&users);
    let mut wire = Wire::new(Client(Cursor::new(input)));
    if let Ok(req) = proxy_server_handshake(&mut wire, users) {
        assert!(!req.host.is_empty());
        if req.protocol == ProxyRequestProtocol::HttpForward {
            assert!(req.head.ends_with(b"Connection: close\r\n\r\n"));
        }
        let rest = wire.leftover().to_vec();
        assert!(input.ends_with(&rest), "leftover is not the input's tail");
        assert!(input.len() - rest.len() <= MAX_HANDSHAKE);
    }
});
