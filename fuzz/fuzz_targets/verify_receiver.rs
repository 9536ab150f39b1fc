//! The `sendfile --verify` receiver fed a hostile byte stream: the header parser never panics nor
//! allocates past its bounds, a header it accepts re-encodes to exactly the bytes it consumed, any
//! name `safe_name` accepts is a plain file name (never a path), and the trailer and reply parsers
//! take whatever follows.

#![no_main]

use std::os::unix::ffi::OsStrExt;

use libfuzzer_sys::fuzz_target;
use sockcat::fuzz::{Header, NAME_MAX, read_digest, read_reply, safe_name};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    if let Ok(header) = Header::read_from(&mut rest) {
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
        let _ = read_digest(&mut rest);
    }
    let _ = read_reply(&mut &data[..]);
});
