//! Control messages (ancillary data) of datagram sockets: the options that ask for them (UDP_GRO,
//! IP_PKTINFO / IPV6_RECVPKTINFO), writing a datagram's source address into a send's control data and
//! reading the GRO segment size and the local end out of a receive's. Used by the batched calls in
//! [`crate::sys::mmsg`].

use std::net::{Ipv4Addr, Ipv6Addr};

use socket2::Socket;

/// Where a reply leaves from: the local end the datagram it answers arrived at (IP_PKTINFO /
/// IPV6_PKTINFO), so a receiver bound to a wildcard address answers from the address the client sent
/// to, not from the route's first address (a client with a connected socket drops that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Local {
    /// IPv4: the local address (IP_PKTINFO's ipi_spec_dst: for a broadcast, the interface's).
    V4(Ipv4Addr),
    /// IPv6 (perhaps IPv4-mapped on a dual-stack socket): the source address (unspecified for a
    /// datagram sent to a multicast group) and the interface (0 unless the address needs one).
    V6(Ipv6Addr, u32),
}

/// Room for the control messages of one datagram, sent or received: UDP_SEGMENT or UDP_GRO (24
/// bytes on 64-bit Linux), IP_PKTINFO (32) and IPV6_PKTINFO (40), 8-aligned.
pub(super) type Control = [u64; 16];

/// Appends a control message (`level`, `ty`, `data`) to `buf` at `*used` bytes (a multiple of the
/// alignment), and moves `*used` past it; false (nothing written) when it does not fit.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn put_cmsg(
    buf: &mut Control,
    used: &mut usize,
    level: i32,
    ty: i32,
    data: &[u8],
) -> bool {
    // SAFETY: CMSG_LEN and CMSG_SPACE only compute sizes.
    let (len, space) = unsafe {
        (
            libc::CMSG_LEN(data.len() as u32) as usize,
            libc::CMSG_SPACE(data.len() as u32) as usize,
        )
    };
    if *used + space > std::mem::size_of::<Control>() {
        return false;
    }
    // SAFETY: cmsghdr is plain C data; all-zero is valid and the fields are set next.
    let mut hdr: libc::cmsghdr = unsafe { std::mem::zeroed() };
    hdr.cmsg_len = len as _;
    hdr.cmsg_level = level;
    hdr.cmsg_type = ty;
    let header = len - data.len();
    // SAFETY: `*used + space` bytes fit in `buf` (checked above) and `header + data.len()` is `len`,
    // at most `space`; the writes are unaligned-safe and stay inside the buffer.
    unsafe {
        let at = buf.as_mut_ptr().cast::<u8>().add(*used);
        std::ptr::write_unaligned(at.cast::<libc::cmsghdr>(), hdr);
        std::ptr::copy_nonoverlapping(data.as_ptr(), at.add(header), data.len());
    }
    *used += space;
    true
}

/// Appends `local` as the control message that sets a datagram's source address.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn put_source(buf: &mut Control, used: &mut usize, local: Local) -> bool {
    match local {
        Local::V4(addr) => {
            let info = libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: libc::in_addr {
                    s_addr: u32::from(addr).to_be(),
                },
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            // SAFETY: in_pktinfo is plain C data of this size; viewed as bytes only to be copied.
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    (&info as *const libc::in_pktinfo).cast::<u8>(),
                    std::mem::size_of::<libc::in_pktinfo>(),
                )
            };
            put_cmsg(buf, used, libc::IPPROTO_IP, libc::IP_PKTINFO, bytes)
        }
        Local::V6(addr, ifindex) => {
            let info = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr {
                    s6_addr: addr.octets(),
                },
                ipi6_ifindex: ifindex,
            };
            // SAFETY: as above, for in6_pktinfo.
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    (&info as *const libc::in6_pktinfo).cast::<u8>(),
                    std::mem::size_of::<libc::in6_pktinfo>(),
                )
            };
            put_cmsg(buf, used, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, bytes)
        }
    }
}

/// Asks the kernel to coalesce arriving datagrams (UDP_GRO): one buffer holds many equal-sized
/// datagrams, and [`RecvBatch`] cuts them apart again. False where there is no such option.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn enable_gro(sock: &Socket) -> bool {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: `on` is a live c_int and its exact size is passed; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_GRO,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn enable_gro(_sock: &Socket) -> bool {
    false
}

/// Sets a boolean socket option; true when the kernel took it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_flag(sock: &Socket, level: libc::c_int, name: libc::c_int) -> bool {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: `on` is a live c_int and its exact size is passed; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

/// Asks for each datagram's local end ([`Datagram::local`]): IP_PKTINFO on an IPv4 socket;
/// IPV6_RECVPKTINFO on an IPv6 one, and IP_PKTINFO too for the IPv4 datagrams of a dual-stack one
/// (its local address rather than the header's destination, a broadcast perhaps). False where the
/// kernel gives none.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn enable_pktinfo(sock: &Socket) -> bool {
    let v4 = set_flag(sock, libc::IPPROTO_IP, libc::IP_PKTINFO);
    match sock.domain() {
        Ok(d) if d == socket2::Domain::IPV6 => {
            set_flag(sock, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO) || v4
        }
        _ => v4,
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn enable_pktinfo(_sock: &Socket) -> bool {
    false
}

/// The UDP_GRO segment size in a received message's control data, if the kernel coalesced it.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn gro_segment(hdr: &libc::msghdr) -> Option<usize> {
    // SAFETY: hdr is a msghdr just filled in by recvmmsg, whose msg_control points at a live buffer of
    // msg_controllen bytes; the CMSG_* walkers stay inside it, and the value is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(hdr);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == libc::UDP_GRO {
                let v = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                return usize::try_from(v).ok();
            }
            c = libc::CMSG_NXTHDR(hdr, c);
        }
    }
    None
}

/// Where a reply to a received message should leave from, from its IP_PKTINFO (preferred: the local
/// address even for a broadcast) or IPV6_PKTINFO control data.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn local_end(hdr: &libc::msghdr) -> Option<Local> {
    let mut v6 = None;
    // SAFETY: hdr is a msghdr just filled in by recvmmsg, whose msg_control points at a live buffer of
    // msg_controllen bytes; the CMSG_* walkers stay inside it, and each value is read unaligned after
    // its level and type say what it is (the kernel writes the whole structure).
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(hdr);
        while !c.is_null() {
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let info =
                        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::in_pktinfo>());
                    let addr = Ipv4Addr::from(u32::from_be(info.ipi_spec_dst.s_addr));
                    return (!addr.is_unspecified()).then_some(Local::V4(addr));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info =
                        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::in6_pktinfo>());
                    v6 = Some((Ipv6Addr::from(info.ipi6_addr.s6_addr), info.ipi6_ifindex));
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(hdr, c);
        }
    }
    let (addr, ifindex) = v6?;
    if let Some(v4) = addr.to_ipv4_mapped() {
        // The header's destination: no source when it was a broadcast or group.
        let plain = !(v4.is_broadcast() || v4.is_multicast() || v4.is_unspecified());
        return plain.then_some(Local::V6(addr, 0));
    }
    Some(if addr.is_multicast() {
        // A reply never comes from a group: the interface only.
        Local::V6(Ipv6Addr::UNSPECIFIED, ifindex)
    } else if addr.is_unicast_link_local() {
        Local::V6(addr, ifindex)
    } else {
        Local::V6(addr, 0)
    })
}
