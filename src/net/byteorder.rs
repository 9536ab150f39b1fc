//! Byte-order and address conversions for `byteorder`: htons/ntohs/htonl/ntohl on numbers given in
//! decimal or `0x` hex, and the C library's inet_aton / inet_pton / inet_ntop on address text.
//!
//! Malformed numbers and hex are usage errors (status 2); an address the C library rejects is the data
//! being judged, a runtime failure (status 1), so `byteorder inet-pton -6 X` works as a validity check.

use anyhow::{Result, anyhow};

use crate::exit::usage;
use crate::sys::inet;

/// This host's byte order.
pub(crate) fn host_order() -> &'static str {
    if cfg!(target_endian = "big") {
        "big"
    } else {
        "little"
    }
}

/// Parses a number `0..=max` in decimal or `0x` hex; anything else is a usage error naming `op`.
pub fn parse_number(op: &str, text: &str, max: u64) -> Result<u64> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u128::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t.parse::<u128>().ok(),
        None => None,
    };
    match parsed {
        Some(n) if n <= u128::from(max) => Ok(n as u64),
        Some(_) | None if looks_numeric(t) => {
            Err(usage(format!("{op}: {text} is out of range (0-{max})")))
        }
        _ => Err(usage(format!(
            "{op}: invalid number {text:?} (decimal or 0x hex)"
        ))),
    }
}

fn looks_numeric(t: &str) -> bool {
    let body = t.strip_prefix('-').unwrap_or(t);
    let hex = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X"));
    match hex {
        Some(h) => !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// htons(3): host to network order, 16 bits.
pub(crate) fn htons(n: u16) -> u16 {
    n.to_be()
}

/// ntohs(3).
pub(crate) fn ntohs(n: u16) -> u16 {
    u16::from_be(n)
}

/// htonl(3).
pub(crate) fn htonl(n: u32) -> u32 {
    n.to_be()
}

/// ntohl(3).
pub(crate) fn ntohl(n: u32) -> u32 {
    u32::from_be(n)
}

/// Decodes hex bytes (an optional `0x` prefix allowed); bad hex is a usage error.
pub fn parse_hex(op: &str, text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    hex::decode(t).map_err(|e| usage(format!("{op}: invalid hex {text:?}: {e}")))
}

/// inet_aton: the packed address, or status 1 when the C library rejects it.
pub fn inet_aton(text: &str) -> Result<[u8; 4]> {
    inet::aton(text)
        .ok_or_else(|| anyhow!("inet-aton: {text:?} is not an address inet_aton accepts"))
}

/// inet_ntoa: 4 packed bytes given as hex, as a dotted quad (bad hex or not 4 bytes: status 2).
pub fn inet_ntoa(text: &str) -> Result<String> {
    let bytes = parse_hex("inet-ntoa", text)?;
    if bytes.len() != 4 {
        return Err(usage(format!(
            "inet-ntoa: {text:?} is {} bytes, expected 4 (8 hex digits)",
            bytes.len()
        )));
    }
    inet::ntop(&bytes).ok_or_else(|| anyhow!("inet-ntoa: the C library cannot format {text:?}"))
}

/// inet_pton: `v6` None takes the family from the text (a `:` means IPv6). Rejected: status 1.
pub fn inet_pton(v6: Option<bool>, text: &str) -> Result<Vec<u8>> {
    let v6 = v6.unwrap_or_else(|| text.contains(':'));
    let name = if v6 { "IPv6" } else { "IPv4" };
    inet::pton(v6, text).ok_or_else(|| anyhow!("inet-pton: {text:?} is not a valid {name} address"))
}

/// inet_ntop: 4 or 16 packed bytes given as hex, as the C library's canonical text. `v6` None takes
/// the family from the length; Some fixes it (`-4`: 4 bytes, `-6`: 16). Bad hex or another length:
/// status 2.
pub fn inet_ntop(v6: Option<bool>, text: &str) -> Result<String> {
    let bytes = parse_hex("inet-ntop", text)?;
    match (v6, bytes.len()) {
        (None, 4 | 16) | (Some(false), 4) | (Some(true), 16) => {}
        (None, n) => {
            return Err(usage(format!(
                "inet-ntop: {text:?} is {n} bytes, expected 4 or 16 (8 or 32 hex digits)"
            )));
        }
        (Some(false), _) => {
            return Err(usage(format!(
                "inet-ntop: {text:?} is not 4 bytes (8 hex digits), as -4 asks"
            )));
        }
        (Some(true), _) => {
            return Err(usage(format!(
                "inet-ntop: {text:?} is not 16 bytes (32 hex digits), as -6 asks"
            )));
        }
    }
    inet::ntop(&bytes).ok_or_else(|| anyhow!("inet-ntop: the C library cannot format {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{FAILURE, USAGE, status_of};

    #[test]
    fn numbers() {
        assert_eq!(parse_number("htons", "0x10", 65535).unwrap(), 16);
        assert_eq!(parse_number("htons", "65535", 65535).unwrap(), 65535);
        for bad in [
            "65536",
            "-1",
            "0x10000",
            "abc",
            "",
            "1.5",
            "99999999999999999999999999999999999999999",
        ] {
            assert_eq!(
                status_of(&parse_number("htons", bad, 65535).unwrap_err()),
                USAGE,
                "{bad}"
            );
        }
        assert_eq!(htons(0x1234).to_ne_bytes(), [0x12, 0x34]);
        assert_eq!(ntohl(htonl(0xdeadbeef)), 0xdeadbeef);
    }

    #[test]
    fn addresses() {
        assert_eq!(inet_aton("0x7f.1").unwrap(), [127, 0, 0, 1]);
        assert_eq!(status_of(&inet_aton("1.2.3.4.5").unwrap_err()), FAILURE);
        assert_eq!(status_of(&inet_pton(None, "12:10").unwrap_err()), FAILURE);
        assert_eq!(status_of(&inet_ntoa("010203").unwrap_err()), USAGE);
        assert_eq!(status_of(&parse_hex("x", "zz").unwrap_err()), USAGE);
        assert_eq!(
            inet_ntop(None, "20010db8000000000000000000000001").unwrap(),
            "2001:db8::1"
        );
    }
}
