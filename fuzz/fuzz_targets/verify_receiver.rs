//! The `sendfile --verify` receiver fed a hostile byte stream.
//!
//! The parsers: the header parser never panics nor allocates past its bounds, accepts only framing
//! version 2 with a digest it knows (1 SHA-256, 2 BLAKE3: any other digest byte, or none, is
//! refused, naming the byte), and a header it accepts re-encodes to exactly the bytes it consumed;
//! any name `safe_name` accepts is a plain file name (never a path); the trailer and reply parsers
//! take whatever follows; both digests hash a stream in any split to the value of the whole.
//!
//! The receiver itself (`fuzz::receive_verified`, on a socket pair): the first input byte is the
//! receiver's policy and how the stream is made, the rest is what the sender sends:
//! - bits 0-1: the digest the receiver accepts (1 `--verify=sha256`, 2 `--verify=blake3`, else
//!   plain `--verify`: either);
//! - bit 2: the trailer is fixed up to the right digest of the body (so matching transfers are
//!   explored too), bit 3 with it: to the digest of the body under the *other* algorithm (a peer
//!   that hashes differently).
//!
//! Properties: the receiver accepts a transfer only if the header is well formed, its digest is one
//! the policy accepts, and the trailer is that digest of exactly the announced bytes (never a false
//! match); it accepts every such transfer; a refused one is answered with one `ERR <reason>` line,
//! an accepted one not at all (the command answers once the file is in place).

#![no_main]

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;

use libfuzzer_sys::fuzz_target;
use sockcat::fuzz::{
    Digest, Header, NAME_MAX, read_digest, read_reply, receive_verified, safe_name,
};

fuzz_target!(|input: &[u8]| {
    let Some((&control, data)) = input.split_first() else {
        return;
    };
    parsers(data);
    receiver(control, data);
});

fn hash(digest: Digest, bytes: &[u8]) -> [u8; 32] {
    let mut h = digest.hasher();
    h.update(bytes);
    h.finalize()
}

fn other(digest: Digest) -> Digest {
    match digest {
        Digest::Sha256 => Digest::Blake3,
        Digest::Blake3 => Digest::Sha256,
    }
}

fn parsers(data: &[u8]) {
    let mut rest = data;
    match Header::read_from(&mut rest) {
        Ok(header) => {
            assert!(data.starts_with(b"sockcat\x02"));
            assert_eq!(Digest::from_id(data[8]), Some(header.digest));
            assert!(matches!(data[8], 1 | 2));
            assert!(!header.name.is_empty() && header.name.len() <= NAME_MAX);
            assert!(header.size <= i64::MAX as u64);
            let used = data.len() - rest.len();
            assert_eq!(header.encode(), &data[..used]);
            if let Ok(name) = safe_name(&header.name) {
                let name = name.as_bytes();
                assert!(!name.is_empty() && name != b"." && name != b"..");
                assert!(!name.contains(&b'/'));
                assert!(!name.iter().any(|&b| b < 0x20 || b == 0x7f));
            }
            // The body as the receiver hashes it, in two pieces, against the whole at once.
            let body = &rest[..rest.len().min(header.size as usize)];
            let cut = body.len() / 3;
            let mut split = header.digest.hasher();
            split.update(&body[..cut]);
            split.update(&body[cut..]);
            assert_eq!(split.finalize(), hash(header.digest, body));
            let _ = read_digest(&mut rest);
        }
        Err(e) => {
            let why = e.to_string();
            if data.starts_with(b"sockcat\x02") {
                match data.get(8) {
                    // No digest byte: the stream ended in the header.
                    None => assert!(why.contains("closed the connection in the header"), "{why}"),
                    Some(&id) if Digest::from_id(id).is_none() => {
                        assert!(why.contains(&format!("digest {id} ")), "{why}");
                        assert!(why.contains("sha256, blake3"), "{why}");
                    }
                    Some(_) => {}
                }
            }
            // Refused: never for a well-formed version-2 header with a known digest and sane fields.
            if data.len() >= 11 && data.starts_with(b"sockcat\x02") {
                let known = Digest::from_id(data[8]).is_some();
                let len = u16::from_be_bytes([data[9], data[10]]) as usize;
                let complete = data.len() >= 11 + len + 8;
                if known && (1..=NAME_MAX).contains(&len) && complete {
                    let size = &data[11 + len..11 + len + 8];
                    let size = u64::from_be_bytes(size.try_into().unwrap());
                    assert!(size > i64::MAX as u64, "a good header was refused");
                }
            }
        }
    }
    let _ = read_reply(&mut &data[..]);
}

fn receiver(control: u8, data: &[u8]) {
    let accept = match control & 3 {
        1 => Some(Digest::Sha256),
        2 => Some(Digest::Blake3),
        _ => None,
    };
    // The stream, and whether the receiver must accept it (None: the properties decide).
    let mut stream = data.to_vec();
    let mut must_accept = None;
    if control & 4 != 0 {
        let mut rest = data;
        if let Ok(header) = Header::read_from(&mut rest)
            && rest.len() as u64 >= header.size
        {
            let body = &rest[..header.size as usize];
            let (digest, right) = match control & 8 {
                0 => (header.digest, true),
                _ => (other(header.digest), false),
            };
            stream = header.encode();
            stream.extend_from_slice(body);
            stream.extend_from_slice(&hash(digest, body));
            stream.extend_from_slice(&rest[body.len()..]);
            must_accept = Some(right && accept.is_none_or(|a| a == header.digest));
        }
    }
    // All of it written before the receiver starts (a socket pair's buffer holds it): a sender
    // still writing when the receiver hangs up would get SIGPIPE, which libFuzzer does not ignore.
    if stream.len() > 64 << 10 {
        return;
    }
    let (mut sender, theirs) = UnixStream::pair().expect("socketpair");
    sender.write_all(&stream).expect("write the stream");
    sender.shutdown(Shutdown::Write).expect("shutdown");

    let got = receive_verified(theirs, accept);
    // Its answer, then EOF; or a reset once it is read, where the receiver hung up on bytes it did
    // not read (as TCP resets; a real sender reads only up to the answer's newline).
    let mut reply = Vec::new();
    if let Err(e) = sender.read_to_end(&mut reply) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset,
            "read the reply: {e}"
        );
    }

    match got {
        Ok((header, bytes, value)) => {
            assert_ne!(must_accept, Some(false), "a bad transfer was accepted");
            let mut rest = &stream[..];
            let parsed = Header::read_from(&mut rest).expect("accepted an unparsable header");
            assert_eq!(parsed, header);
            assert!(
                accept.is_none_or(|a| a == header.digest),
                "accepted a digest not allowed"
            );
            assert_eq!(bytes.len() as u64, header.size);
            assert_eq!(&rest[..bytes.len()], &bytes[..]);
            assert_eq!(value, hash(header.digest, &bytes));
            assert_eq!(
                &rest[bytes.len()..bytes.len() + 32],
                &value[..],
                "a false match"
            );
            assert!(reply.is_empty(), "answered before the file was in place");
        }
        Err(e) => {
            let why = e.to_string();
            assert_ne!(
                must_accept,
                Some(true),
                "a good transfer was refused: {why}"
            );
            assert!(
                reply.starts_with(b"ERR ") && reply.ends_with(b"\n"),
                "{reply:?}"
            );
            assert_eq!(
                reply.iter().filter(|&&b| b == b'\n').count(),
                1,
                "{reply:?}"
            );
            if control & 12 == 12 && must_accept.is_some() {
                let mut rest = &stream[..];
                let header = Header::read_from(&mut rest).unwrap();
                if accept.is_none_or(|a| a == header.digest) {
                    assert!(why.contains("mismatch"), "{why}");
                }
            }
            let mut rest = &stream[..];
            if let (Ok(header), Some(wanted)) = (Header::read_from(&mut rest), accept)
                && header.digest != wanted
            {
                assert!(why.contains(header.digest.name()), "{why}");
                assert!(
                    why.contains(&format!("--verify={}", wanted.name())),
                    "{why}"
                );
            }
        }
    }
}
