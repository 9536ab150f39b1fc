//! The C library's services database (getservbyname and friends), through NSS like every other program.
//!
//! glibc's non-reentrant lookups share one static buffer, so every call here holds [`NETDB`] while it
//! reads the result.

use std::ffi::{CStr, CString};
use std::sync::Mutex;

/// Serialises the C library's non-reentrant netdb calls.
pub static NETDB: Mutex<()> = Mutex::new(());

/// The port of service `name` for `proto` (`tcp`, `udp`), or None when the database has no such entry.
pub fn service_port(name: &str, proto: &str) -> Option<u16> {
    let name = CString::new(name).ok()?;
    let proto = CString::new(proto).ok()?;
    let _guard = NETDB
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: both arguments are valid NUL-terminated strings that outlive the call; the returned pointer
    // is either null or points into libc's static storage, which we read while holding NETDB.
    let entry = unsafe { libc::getservbyname(name.as_ptr(), proto.as_ptr()) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: entry is non-null and points to a servent filled in by the call above.
    let port = unsafe { (*entry).s_port };
    Some(u16::from_be(port as u16))
}

/// The service name of `port` for `proto`, or None.
pub fn service_name(port: u16, proto: &str) -> Option<String> {
    let proto = CString::new(proto).ok()?;
    let _guard = NETDB
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: proto is a valid C string; the port is passed in network byte order as the API requires;
    // the result is null or points into libc's static storage, read under NETDB.
    let entry = unsafe { libc::getservbyport(i32::from(port.to_be()), proto.as_ptr()) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: s_name of a returned servent is a valid NUL-terminated string.
    let name = unsafe { CStr::from_ptr((*entry).s_name) };
    Some(name.to_string_lossy().into_owned())
}
