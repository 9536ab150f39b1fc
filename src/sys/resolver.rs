//! The C library's resolver: getaddrinfo(3), getnameinfo(3) and gethostname(2), so `resolve` answers
//! exactly what every other program on the host would (NSS, /etc/hosts, DNS, nscd).

use std::ffi::{CStr, CString, c_char, c_int};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// One getaddrinfo result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddrInfo {
    /// AF_INET or AF_INET6.
    pub family: c_int,
    /// SOCK_STREAM, SOCK_DGRAM, SOCK_RAW...
    pub socktype: c_int,
    /// The protocol number (6 tcp, 17 udp, 0 for raw).
    pub protocol: c_int,
    pub addr: SocketAddr,
    /// ai_canonname (only the first result carries it, and only with AI_CANONNAME).
    pub canonname: Option<String>,
}

/// A resolver failure: the EAI_ code and the C library's text for it (gai_strerror).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GaiError {
    pub code: c_int,
    pub message: String,
}

impl std::fmt::Display for GaiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut chars = self.message.chars();
        match chars.next() {
            Some(first) => write!(f, "{}{}", first.to_lowercase(), chars.as_str()),
            None => write!(f, "resolver error {}", self.code),
        }
    }
}

impl std::error::Error for GaiError {}

fn gai_error(code: c_int) -> GaiError {
    if code == libc::EAI_SYSTEM {
        return GaiError {
            code,
            message: std::io::Error::last_os_error().to_string(),
        };
    }
    // SAFETY: gai_strerror returns a pointer to a static NUL-terminated message for any code.
    let text = unsafe { CStr::from_ptr(libc::gai_strerror(code)) };
    GaiError {
        code,
        message: text.to_string_lossy().into_owned(),
    }
}

/// Reads a sockaddr of family AF_INET or AF_INET6; None for other families.
///
/// # Safety
/// `sa` must be null or point to a valid socket address of `len` bytes.
unsafe fn to_socket_addr(sa: *const libc::sockaddr, len: libc::socklen_t) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees sa points to a socket address; sa_family is its first field.
    let family = c_int::from(unsafe { (*sa).sa_family });
    match family {
        libc::AF_INET if len as usize >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family is AF_INET and the length covers a sockaddr_in; read_unaligned
            // avoids assuming the C library aligned it.
            let sin = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in>()) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 if len as usize >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for AF_INET6 and a sockaddr_in6.
            let sin6 = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>()) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// getaddrinfo(name, NULL, hints) with `family` (AF_UNSPEC, AF_INET, AF_INET6) and `flags` (AI_*):
/// every result in the resolver's order.
pub(crate) fn getaddrinfo(
    name: &str,
    family: c_int,
    flags: c_int,
) -> Result<Vec<AddrInfo>, GaiError> {
    let name = CString::new(name).map_err(|_| GaiError {
        code: libc::EAI_NONAME,
        message: "name contains a NUL byte".into(),
    })?;
    // SAFETY: addrinfo is a plain C struct for which all-zero is the documented "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_flags = flags;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: name is NUL-terminated, service may be null, hints is initialised and list is a valid
    // out-pointer; on success the list is ours until freeaddrinfo below.
    let rc = unsafe { libc::getaddrinfo(name.as_ptr(), std::ptr::null(), &hints, &mut list) };
    if rc != 0 {
        return Err(gai_error(rc));
    }
    let mut out = Vec::new();
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: cur is a non-null node of the list getaddrinfo returned, not yet freed.
        let ai = unsafe { &*cur };
        // SAFETY: ai_addr points to ai_addrlen bytes of socket address (or is null).
        if let Some(addr) = unsafe { to_socket_addr(ai.ai_addr, ai.ai_addrlen) } {
            let canonname = (!ai.ai_canonname.is_null()).then(|| {
                // SAFETY: a non-null ai_canonname is a NUL-terminated string owned by the list.
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned()
            });
            out.push(AddrInfo {
                family: ai.ai_family,
                socktype: ai.ai_socktype,
                protocol: ai.ai_protocol,
                addr,
                canonname,
            });
        }
        cur = ai.ai_next;
    }
    // SAFETY: list came from a successful getaddrinfo and is freed exactly once, after the last use.
    unsafe { libc::freeaddrinfo(list) };
    Ok(out)
}

/// getnameinfo(addr, NI_NAMEREQD): the host name of an address; an error when it has none.
pub(crate) fn getnameinfo(ip: IpAddr) -> Result<String, GaiError> {
    let mut host = [0 as c_char; libc::NI_MAXHOST as usize];
    let rc = match ip {
        IpAddr::V4(v4) => {
            // SAFETY: all-zero is a valid sockaddr_in; the fields that matter are set below.
            let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from(v4).to_be();
            // SAFETY: sin is a complete sockaddr_in whose size is passed; host is writable for the
            // length passed; no service buffer is asked for.
            unsafe {
                libc::getnameinfo(
                    (&raw const sin).cast(),
                    size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
        IpAddr::V6(v6) => {
            // SAFETY: all-zero is a valid sockaddr_in6; the fields that matter are set below.
            let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = v6.octets();
            // SAFETY: as above, for a sockaddr_in6.
            unsafe {
                libc::getnameinfo(
                    (&raw const sin6).cast(),
                    size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if rc != 0 {
        return Err(gai_error(rc));
    }
    // SAFETY: on success getnameinfo wrote a NUL-terminated name into host.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}

/// gethostname(2): this host's name.
pub(crate) fn hostname() -> std::io::Result<String> {
    let mut buf = [0 as c_char; 256];
    // SAFETY: buf is writable for its whole length, which is passed; the last byte is kept for a NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr(), buf.len() - 1) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: buf is zeroed and its last byte is never written, so it holds a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}
