//! The C library's address text conversions: inet_aton(3), inet_pton(3), inet_ntop(3).
//!
//! `byteorder` reports exactly what the C library accepts and prints (`127.1`, `0x7f.1` and `1` are all
//! valid for inet_aton; `::1.2.3.4` keeps its dotted tail in inet_ntop), so these are called, not
//! reimplemented. The libc crate does not declare them, so they are declared here; they are in every
//! POSIX C library.

use std::ffi::{CStr, CString, c_char, c_int, c_void};

unsafe extern "C" {
    fn inet_aton(cp: *const c_char, inp: *mut libc::in_addr) -> c_int;
    fn inet_pton(af: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
    fn inet_ntop(
        af: c_int,
        src: *const c_void,
        dst: *mut c_char,
        size: libc::socklen_t,
    ) -> *const c_char;
}

/// Room for the longest text inet_ntop writes (INET6_ADDRSTRLEN is 46).
const TEXT_LEN: usize = 64;

/// inet_aton: the four bytes in network order, or None when the C library rejects the text.
pub(crate) fn aton(text: &str) -> Option<[u8; 4]> {
    let text = CString::new(text).ok()?;
    let mut addr = libc::in_addr { s_addr: 0 };
    // SAFETY: text is a valid NUL-terminated string and addr a valid in_addr to write to; both outlive
    // the call.
    let ok = unsafe { inet_aton(text.as_ptr(), &mut addr) };
    (ok != 0).then(|| addr.s_addr.to_ne_bytes())
}

/// inet_pton for AF_INET (4 bytes) or AF_INET6 (16 bytes), or None when the text is rejected.
pub(crate) fn pton(v6: bool, text: &str) -> Option<Vec<u8>> {
    let text = CString::new(text).ok()?;
    let mut buf = [0u8; 16];
    let af = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: text is NUL-terminated; buf has 16 bytes, enough for an in6_addr (and an in_addr), and
    // inet_pton writes at most that many.
    let ok = unsafe { inet_pton(af, text.as_ptr(), buf.as_mut_ptr().cast()) };
    (ok == 1).then(|| buf[..if v6 { 16 } else { 4 }].to_vec())
}

/// inet_ntop: the C library's text for 4 (AF_INET) or 16 (AF_INET6) packed bytes; None for any other
/// length.
pub(crate) fn ntop(bytes: &[u8]) -> Option<String> {
    let af = match bytes.len() {
        4 => libc::AF_INET,
        16 => libc::AF_INET6,
        _ => return None,
    };
    let mut out = [0 as c_char; TEXT_LEN];
    // SAFETY: bytes holds exactly the 4 or 16 bytes the family needs; out is writable for TEXT_LEN
    // bytes and that size is passed, so inet_ntop cannot overrun it.
    let ptr = unsafe {
        inet_ntop(
            af,
            bytes.as_ptr().cast(),
            out.as_mut_ptr(),
            TEXT_LEN as libc::socklen_t,
        )
    };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: on success inet_ntop wrote a NUL-terminated string into out.
    let text = unsafe { CStr::from_ptr(out.as_ptr()) };
    Some(text.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_library_forms() {
        assert_eq!(aton("127.1"), Some([127, 0, 0, 1]));
        assert_eq!(aton("0x7f.1"), Some([127, 0, 0, 1]));
        assert_eq!(aton("1"), Some([0, 0, 0, 1]));
        assert_eq!(aton("256.1.1.1"), None);
        assert_eq!(pton(false, "127.1"), None);
        assert_eq!(pton(true, "::1").unwrap()[15], 1);
        assert_eq!(pton(true, "12:10"), None);
        assert_eq!(
            ntop(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]).unwrap(),
            "::ffff:1.2.3.4"
        );
        assert_eq!(ntop(&[1, 2, 3]), None);
    }
}
