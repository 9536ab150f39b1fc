//! The `sendfile --verify` receiver fed a hostile byte stream: the header parser never panics nor
//! allocates past its bounds, accepts only framing version 2 with a digest it knows, and a header it
//! accepts re-encodes to exactly the bytes it consumed; any name `safe_name` accepts is a plain file
//! name (never a path); the trailer and reply parsers take whatever follows; and both digests hash
//! whatever the stream holds, in any split, to the value of the whole.

#![no_main]

use std::os::unix::ffi::OsStrExt;

use libfuzzer_sys::fuzz_target;
use sockcat::fuzz::{Digest, Header, NAME_MAX, read_digest, read_reply, safe_name};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    match Header::read_from(&mut rest) {
        Ok(header) => {
            assert!(data.starts_with(b"sockcat\x02"));
            assert_eq!(Digest::from_id(data[8]), Some(header.digest));
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
            let mut whole = header.digest.hasher();
            whole.update(body);
            assert_eq!(split.finalize(), whole.finalize());
            let _ = read_digest(&mut rest);
        }
        Err(_) => {
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
});
