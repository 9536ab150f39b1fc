//! The PROXY protocol decoder (`listen --accept-proxy-protocol`) fed anything: it never panics, a
//! header it accepts is within the spec's bounds, reading it from a stream consumes exactly its bytes,
//! and the addresses it found survive being encoded again (as `--proxy-protocol` would send them).

#![no_main]

use std::io::Cursor;
use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use sockcat::fuzz::{
    Decoded, ProxyVersion, decode_proxy_header, encode_proxy_header, read_proxy_header,
};

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

fuzz_target!(|data: &[u8]| {
    match decode_proxy_header(data) {
        Ok(Decoded::Complete(header, len)) => {
            assert!(len <= data.len());
            match header.version {
                ProxyVersion::V1 => assert!(len <= 107 && data[..len].ends_with(b"\r\n")),
                ProxyVersion::V2 => assert!((16..=16 + 65535).contains(&len)),
            }
            let mut stream = Cursor::new(data);
            let read = read_proxy_header(&mut stream).expect("a decoded header reads");
            assert_eq!(read, header);
            assert_eq!(stream.position() as usize, len, "read past the header");
            let again = encode_proxy_header(header.version, header.addrs);
            match decode_proxy_header(&again) {
                Ok(Decoded::Complete(h2, n2)) => {
                    assert_eq!(n2, again.len());
                    let canon = |x: Option<(SocketAddr, SocketAddr)>| {
                        x.map(|(s, d)| (canonical(s), canonical(d)))
                    };
                    assert_eq!(canon(h2.addrs), canon(header.addrs));
                }
                other => panic!("re-encoded header does not decode: {other:?}"),
            }
        }
        Ok(Decoded::Incomplete(want)) => {
            assert!(want > data.len() && want <= 16 + 65535);
            let mut stream = Cursor::new(data);
            assert!(read_proxy_header(&mut stream).is_err());
        }
        Err(_) => {
            let mut stream = Cursor::new(data);
            assert!(read_proxy_header(&mut stream).is_err());
        }
    }
});
