//! The `--proxy` client handshakes fed a hostile proxy: whatever the SOCKS5, SOCKS4(a) or HTTP CONNECT
//! reply bytes are, the client never panics, never reads more than it was sent, and succeeds only on
//! a reply that says so.

#![no_main]

use std::io::{self, Cursor, Read, Write};

use libfuzzer_sys::fuzz_target;
use sockcat::fuzz::{
    Credentials, Dest, Peek, http_connect_handshake, socks4_handshake, socks5_handshake,
};

/// The proxy: its replies come from the fuzz input; what the client writes is dropped.
struct Proxy<'a>(Cursor<&'a [u8]>);

impl Read for Proxy<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Peek for Proxy<'_> {
    fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.0.get_ref()[self.0.position() as usize..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

impl Write for Proxy<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, replies)) = data.split_first() else {
        return;
    };
    let dest = match selector & 3 {
        0 => Dest::Name("h.test".into(), 443),
        1 => Dest::Addr("127.0.0.2:80".parse().unwrap()),
        _ => Dest::Addr("[::1]:80".parse().unwrap()),
    };
    let auth = Credentials {
        user: "u".into(),
        pass: "p".into(),
    };
    let auth = (selector & 4 != 0).then_some(&auth);
    let mut proxy = Proxy(Cursor::new(replies));
    let ok = match (selector >> 3) % 3 {
        0 => socks5_handshake(&mut proxy, &dest, auth).is_ok(),
        1 => socks4_handshake(&mut proxy, &dest, "u").is_ok(),
        _ => http_connect_handshake(&mut proxy, &dest, auth).is_ok(),
    };
    let used = proxy.0.position() as usize;
    assert!(used <= replies.len());
    if ok {
        match (selector >> 3) % 3 {
            0 => assert!(used >= 2 + 4 + 1 + 2 && replies[0] == 5),
            1 => assert!(used == 8 && replies[1] == 0x5a),
            _ => assert!(replies.starts_with(b"HTTP/1.") && replies[9] == b'2'),
        }
    }
});
