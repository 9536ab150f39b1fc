//! `byteorder`: numbers, hex and the C library's address conversions. Whatever inet_aton or inet_pton
//! accepts round-trips through inet_ntoa / inet_ntop and back to the same bytes; inet_pton's IPv4 form
//! is a subset of inet_aton's and agrees with Rust's parser; rejected addresses are status 1, bad numbers
//! and bad hex status 2.

#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use sockcat::exit::{FAILURE, USAGE, status_of};
use sockcat::fuzz::{
    inet_aton, inet_ntoa, inet_ntop, inet_pton, parse_hex, parse_number,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn aton(text: &str) {
    match inet_aton(text) {
        Ok(packed) => {
            let dotted = inet_ntoa(&hex(&packed)).unwrap();
            assert_eq!(inet_aton(&dotted).unwrap(), packed, "{text:?} -> {dotted}");
            assert_eq!(inet_pton(Some(false), &dotted).unwrap(), packed, "{dotted}");
            assert_eq!(dotted, Ipv4Addr::from(packed).to_string());
        }
        Err(e) => assert_eq!(status_of(&e), FAILURE, "{text:?}: {e:#}"),
    }
}

fn pton(text: &str) {
    for v6 in [None, Some(false), Some(true)] {
        match inet_pton(v6, text) {
            Ok(packed) => {
                let want_v6 = v6.unwrap_or_else(|| text.contains(':'));
                assert_eq!(packed.len(), if want_v6 { 16 } else { 4 }, "{text:?}");
                let shown = inet_ntop(None, &hex(&packed)).unwrap();
                assert_eq!(inet_pton(v6, &shown).unwrap(), packed, "{text:?} -> {shown}");
                assert_eq!(inet_pton(None, &shown).unwrap(), packed, "{text:?} -> {shown}");
                if !want_v6 {
                    // The strict dotted quad is one of inet_aton's forms, with the same meaning.
                    assert_eq!(inet_aton(text).unwrap().to_vec(), packed, "{text:?}");
                }
            }
            Err(e) => assert_eq!(status_of(&e), FAILURE, "{text:?}: {e:#}"),
        }
    }
    // glibc's inet_pton(AF_INET) and Rust's Ipv4Addr parser accept the same dotted quads.
    let c = inet_pton(Some(false), text).ok();
    let rust = text.parse::<Ipv4Addr>().ok().map(|a| a.octets().to_vec());
    assert_eq!(c, rust, "{text:?}: inet_pton and Ipv4Addr disagree");
}

fn hex_forms(text: &str) {
    match parse_hex("x", text) {
        Ok(bytes) => {
            assert_eq!(parse_hex("x", &hex(&bytes)).unwrap(), bytes);
            let ntoa = inet_ntoa(text);
            let ntop = inet_ntop(None, text);
            match bytes.len() {
                4 => {
                    let dotted = ntoa.unwrap();
                    assert_eq!(inet_aton(&dotted).unwrap().to_vec(), bytes, "{text:?}");
                    assert_eq!(ntop.unwrap(), dotted, "{text:?}");
                }
                16 => {
                    assert_eq!(status_of(&ntoa.unwrap_err()), USAGE);
                    let shown = ntop.unwrap();
                    assert_eq!(inet_pton(Some(true), &shown).unwrap(), bytes, "{text:?}");
                }
                _ => {
                    assert_eq!(status_of(&ntoa.unwrap_err()), USAGE);
                    assert_eq!(status_of(&ntop.unwrap_err()), USAGE);
                }
            }
        }
        Err(e) => {
            assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}");
            assert_eq!(status_of(&inet_ntoa(text).unwrap_err()), USAGE);
            assert_eq!(status_of(&inet_ntop(None, text).unwrap_err()), USAGE);
        }
    }
}

fn numbers(text: &str) {
    for max in [u64::from(u16::MAX), u64::from(u32::MAX)] {
        match parse_number("htons", text, max) {
            Ok(n) => {
                assert!(n <= max, "{text:?}");
                assert_eq!(parse_number("htons", &n.to_string(), max).unwrap(), n);
                assert_eq!(parse_number("htons", &format!("0x{n:x}"), max).unwrap(), n);
            }
            Err(e) => assert_eq!(status_of(&e), USAGE, "{text:?}: {e:#}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    aton(text);
    pton(text);
    hex_forms(text);
    numbers(text);
});
