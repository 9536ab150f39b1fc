//! The C library's services database (getservbyname and friends), through NSS like every other program.
//!
//! glibc's non-reentrant lookups share one static buffer, so every call here holds [`NETDB`] while it
//! reads the result.

use std::ffi::{CStr, CString};
use std::sync::Mutex;

/// Serialises the C library's non-reentrant netdb calls.
pub(crate) static NETDB: Mutex<()> = Mutex::new(());

/// The index of network interface `name` (if_nametoindex), or None when there is no such interface.
pub(crate) fn interface_index(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: name is a valid NUL-terminated string that outlives the call, which only reads it.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// The port of service `name` for `proto` (`tcp`, `udp`), or None when the database has no such entry.
pub(crate) fn service_port(name: &str, proto: &str) -> Option<u16> {
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

/// One entry of the services database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Service {
    pub name: String,
    pub port: u16,
    pub proto: String,
    pub aliases: Vec<String>,
}

/// One entry of the protocols database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Protocol {
    pub name: String,
    pub number: i32,
    pub aliases: Vec<String>,
}

/// Collects a NULL-terminated array of C strings.
///
/// # Safety
/// `list` must be null or a NULL-terminated array of valid NUL-terminated strings.
unsafe fn strings(list: *mut *mut libc::c_char) -> Vec<String> {
    let mut out = Vec::new();
    if list.is_null() {
        return out;
    }
    let mut i = 0;
    loop {
        // SAFETY: the caller guarantees the array is NULL-terminated, so i never passes its end.
        let item = unsafe { *list.add(i) };
        if item.is_null() {
            return out;
        }
        // SAFETY: every non-null item is a NUL-terminated string.
        out.push(
            unsafe { CStr::from_ptr(item) }
                .to_string_lossy()
                .into_owned(),
        );
        i += 1;
    }
}

/// Copies a servent out of libc's static storage.
///
/// # Safety
/// `entry` must be a non-null servent returned by the C library, read while holding [`NETDB`].
unsafe fn service(entry: *const libc::servent) -> Service {
    // SAFETY: per the caller, entry and the strings it points to are valid.
    unsafe {
        Service {
            name: CStr::from_ptr((*entry).s_name)
                .to_string_lossy()
                .into_owned(),
            port: u16::from_be((*entry).s_port as u16),
            proto: CStr::from_ptr((*entry).s_proto)
                .to_string_lossy()
                .into_owned(),
            aliases: strings((*entry).s_aliases),
        }
    }
}

/// getservbyname(name, proto): proto None takes the first entry of any protocol.
pub(crate) fn service_by_name(name: &str, proto: Option<&str>) -> Option<Service> {
    let name = CString::new(name).ok()?;
    let proto = proto.map(CString::new).transpose().ok()?;
    let _guard = NETDB
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let proto_ptr = proto.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
    // SAFETY: name is NUL-terminated, proto is NUL-terminated or null (any protocol); the result is null
    // or points into libc's static storage, read under NETDB.
    let entry = unsafe { libc::getservbyname(name.as_ptr(), proto_ptr) };
    // SAFETY: a non-null entry was just returned and NETDB is held.
    (!entry.is_null()).then(|| unsafe { service(entry) })
}

/// getservbyport(port, proto): proto None takes the first entry of any protocol.
pub(crate) fn service_by_port(port: u16, proto: Option<&str>) -> Option<Service> {
    let proto = proto.map(CString::new).transpose().ok()?;
    let _guard = NETDB
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let proto_ptr = proto.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
    // SAFETY: the port is in network byte order as the API requires; proto is a C string or null; the
    // result is null or points into libc's static storage, read under NETDB.
    let entry = unsafe { libc::getservbyport(i32::from(port.to_be()), proto_ptr) };
    // SAFETY: a non-null entry was just returned and NETDB is held.
    (!entry.is_null()).then(|| unsafe { service(entry) })
}

/// Copies a protoent out of libc's static storage.
///
/// # Safety
/// `entry` must be a non-null protoent returned by the C library, read while holding [`NETDB`].
unsafe fn protocol(entry: *const libc::protoent) -> Protocol {
    // SAFETY: per the caller, entry and the strings it points to are valid.
    unsafe {
        Protocol {
            name: CStr::from_ptr((*entry).p_name)
                .to_string_lossy()
                .into_owned(),
            number: (*entry).p_proto,
            aliases: strings((*entry).p_aliases),
        }
    }
}

/// getprotobyname(name).
pub(crate) fn protocol_by_name(name: &str) -> Option<Protocol> {
    let name = CString::new(name).ok()?;
    let _guard = NETDB
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: name is NUL-terminated; the result is null or static storage, read under NETDB.
    let entry = unsafe { libc::getprotobyname(name.as_ptr()) };
    // SAFETY: a non-null entry was just returned and NETDB is held.
    (!entry.is_null()).then(|| unsafe { protocol(entry) })
}

/// getprotobynumber(number).
pub(crate) fn protocol_by_number(number: i32) -> Option<Protocol> {
    let _guard = NETDB
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: any int is a valid argument; the result is null or static storage, read under NETDB.
    let entry = unsafe { libc::getprotobynumber(number) };
    // SAFETY: a non-null entry was just returned and NETDB is held.
    (!entry.is_null()).then(|| unsafe { protocol(entry) })
}
