//! Batched datagram calls: sendmmsg(2) and recvmmsg(2), many datagrams per system call.
//!
//! One syscall per datagram tops out near 300 k datagrams/s on a small machine; a batch of a few hundred
//! costs one kernel entry and one wake-up. Where the calls do not exist (not Linux), the same API loops
//! over send/recv one datagram at a time.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{SockAddr, Socket};

/// The most datagrams one sendmmsg/recvmmsg call takes (UIO_MAXIOV on Linux).
pub(crate) const MAX_BATCH: usize = 1024;

/// Where a batch goes: the connected peer, one address for all, or one address per datagram.
#[derive(Clone, Copy)]
pub(crate) enum Dest<'a> {
    Connected,
    All(&'a SockAddr),
    Each(&'a [SockAddr]),
}

impl<'a> Dest<'a> {
    fn get(&self, i: usize) -> Option<&'a SockAddr> {
        match *self {
            Dest::Connected => None,
            Dest::All(a) => Some(a),
            Dest::Each(list) => list.get(i),
        }
    }
}

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

/// The source of each datagram of a batch: the system's choice, one for all, or one per datagram.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    Default,
    All(Local),
    Each(&'a [Option<Local>]),
}

impl Source<'_> {
    fn get(&self, i: usize) -> Option<Local> {
        match *self {
            Source::Default => None,
            Source::All(l) => Some(l),
            Source::Each(list) => list.get(i).copied().flatten(),
        }
    }
}

/// Room for the control messages of one datagram, sent or received: UDP_SEGMENT or UDP_GRO (24
/// bytes on 64-bit Linux), IP_PKTINFO (32) and IPV6_PKTINFO (40), 8-aligned.
type Control = [u64; 16];

/// Appends a control message (`level`, `ty`, `data`) to `buf` at `*used` bytes (a multiple of the
/// alignment), and moves `*used` past it; false (nothing written) when it does not fit.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn put_cmsg(buf: &mut Control, used: &mut usize, level: i32, ty: i32, data: &[u8]) -> bool {
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
fn put_source(buf: &mut Control, used: &mut usize, local: Local) -> bool {
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

/// The most segments one UDP GSO send carries (UDP_MAX_SEGMENTS is 64 on older kernels, 128 on newer).
pub(crate) const GSO_MAX_SEGMENTS: usize = 64;
/// The most payload bytes one UDP GSO send carries (under the 65507 of one IPv4 datagram).
pub(crate) const GSO_MAX_BYTES: usize = 65000;

/// How [`send_batch`] groups datagrams into messages: (first datagram, how many). With `gso`, runs
/// of equal-sized datagrams become one message (one skb through the stack, cut by the kernel).
fn plan(datagrams: &[&[u8]], gso: bool) -> Vec<(usize, usize)> {
    let mut plan = Vec::new();
    let mut i = 0;
    while i < datagrams.len() && plan.len() < MAX_BATCH {
        let len = datagrams[i].len();
        let mut j = i + 1;
        if gso && len > 0 {
            while j < datagrams.len()
                && datagrams[j].len() == len
                && j - i < GSO_MAX_SEGMENTS
                && (j - i + 1) * len <= GSO_MAX_BYTES
            {
                j += 1;
            }
        }
        plan.push((i, j - i));
        i = j;
    }
    plan
}

/// Sends each of `datagrams` as one datagram, and returns how many went out: at least one unless
/// `datagrams` is empty; an error only when none did (like sendmmsg). With `gso`, runs of equal-sized
/// datagrams go as UDP GSO sends (UDP_SEGMENT): the caller turns `gso` off when the kernel or the route
/// refuses it (EINVAL, EIO) and tries again.
pub(crate) fn send_batch(
    sock: &Socket,
    datagrams: &[&[u8]],
    dest: Dest<'_>,
    gso: bool,
) -> io::Result<usize> {
    send_batch_from(sock, datagrams, dest, Source::Default, gso)
}

/// [`send_batch`], each datagram from the local address `src` gives (IP_PKTINFO / IPV6_PKTINFO).
/// With [`Source::Each`] no GSO (a run would need one source).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn send_batch_from(
    sock: &Socket,
    datagrams: &[&[u8]],
    dest: Dest<'_>,
    src: Source<'_>,
    gso: bool,
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let gso = gso && !matches!(src, Source::Each(_));
    let plan = plan(datagrams, gso);
    if plan.is_empty() {
        return Ok(0);
    }
    let used = plan.last().map(|(i, n)| i + n).unwrap_or(0);
    let mut iovs: Vec<libc::iovec> = datagrams[..used]
        .iter()
        .map(|d| libc::iovec {
            iov_base: d.as_ptr() as *mut libc::c_void,
            iov_len: d.len(),
        })
        .collect();
    // Each message's control data: its GSO segment size, its source; and how many bytes of it.
    let mut controls: Vec<(Control, usize)> = plan
        .iter()
        .map(|&(i, n)| {
            let mut c = [0u64; 16];
            let mut len = 0;
            if n > 1 {
                let size = (datagrams[i].len() as u16).to_ne_bytes();
                put_cmsg(&mut c, &mut len, libc::SOL_UDP, libc::UDP_SEGMENT, &size);
            }
            if let Some(local) = src.get(i) {
                put_source(&mut c, &mut len, local);
            }
            (c, len)
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = Vec::with_capacity(plan.len());
    for (k, &(i, n)) in plan.iter().enumerate() {
        // SAFETY: mmsghdr is a plain C struct of integers and pointers, for which all-zero is a valid
        // (empty) value; the fields that matter are set below.
        let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
        m.msg_hdr.msg_iov = &mut iovs[i];
        m.msg_hdr.msg_iovlen = n as _;
        let (control, len) = &mut controls[k];
        if *len > 0 {
            m.msg_hdr.msg_control = control.as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = *len as _;
        }
        if let Some(addr) = dest.get(i) {
            m.msg_hdr.msg_name = addr.as_ptr() as *mut libc::c_void;
            m.msg_hdr.msg_namelen = addr.len();
        }
        msgs.push(m);
    }
    loop {
        // SAFETY: msgs holds initialised headers whose iovecs point into `iovs` (which point into
        // `datagrams`), whose control data point into `controls` (each `len` bytes of whole
        // control messages) and whose names point into `dest`, all alive and unmoved for the whole
        // call; the kernel only reads them (and writes msg_len inside msgs, which we own).
        let sent = unsafe {
            libc::sendmmsg(
                sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                msgs.len() as libc::c_uint,
                libc::MSG_NOSIGNAL,
            )
        };
        if sent >= 0 {
            return Ok(plan[..sent as usize].iter().map(|(_, n)| n).sum());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Portable fallback: one send per datagram, from the system's choice of address.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn send_batch_from(
    sock: &Socket,
    datagrams: &[&[u8]],
    dest: Dest<'_>,
    _src: Source<'_>,
    _gso: bool,
) -> io::Result<usize> {
    let mut sent = 0;
    for (i, d) in datagrams.iter().take(MAX_BATCH).enumerate() {
        let r = match dest.get(i) {
            Some(addr) => sock.send_to(d, addr),
            None => sock.send(d),
        };
        match r {
            Ok(_) => sent += 1,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent)
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

/// One received datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Datagram<'a> {
    pub data: &'a [u8],
    /// The sender (None when the kernel gave no address).
    pub from: Option<SocketAddr>,
    /// The datagram was larger than the slot and was cut.
    pub truncated: bool,
    /// Where a reply should leave from (with [`enable_pktinfo`]; None without).
    pub local: Option<Local>,
}

/// Where one received datagram lies in the batch buffer.
#[derive(Debug, Clone, Copy)]
struct Item {
    start: usize,
    len: usize,
    from: Option<SocketAddr>,
    truncated: bool,
    local: Option<Local>,
}

/// Buffers for receiving up to `slots` buffers of up to `slot` bytes each in one call; with UDP GRO
/// one buffer may hold many datagrams.
pub(crate) struct RecvBatch {
    buf: Vec<u8>,
    slot: usize,
    slots: usize,
    items: Vec<Item>,
}

impl RecvBatch {
    /// Room for `slots` buffers of `slot` bytes. The memory is zero-filled lazily by the system, so
    /// only the pages datagrams really use are touched.
    pub(crate) fn new(slots: usize, slot: usize) -> RecvBatch {
        let slots = slots.clamp(1, MAX_BATCH);
        RecvBatch {
            buf: vec![0u8; slots * slot],
            slot,
            slots,
            items: Vec::with_capacity(slots),
        }
    }

    /// How many datagrams the last [`RecvBatch::recv`] got.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Forgets all but the first `n` datagrams of the last batch.
    pub(crate) fn keep(&mut self, n: usize) {
        self.items.truncate(n);
    }

    /// The `i`th datagram of the last batch.
    pub(crate) fn get(&self, i: usize) -> Datagram<'_> {
        let it = self.items[i];
        Datagram {
            data: &self.buf[it.start..it.start + it.len],
            from: it.from,
            truncated: it.truncated,
            local: it.local,
        }
    }

    /// Receives into up to `max` buffers (at most the number of slots) and returns how many datagrams
    /// arrived (more than `max` when GRO coalesced them). With `wait`, blocks for the first (as long as
    /// the socket's receive timeout allows: then `WouldBlock`) and takes whatever else is already
    /// queued; without, never blocks (`WouldBlock` when nothing is queued). A signal makes it fail
    /// with `Interrupted`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn recv(&mut self, sock: &Socket, max: usize, wait: bool) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        self.items.clear();
        let n = max.clamp(1, self.slots);
        let mut names: Vec<libc::sockaddr_storage> = Vec::with_capacity(n);
        let mut iovs: Vec<libc::iovec> = Vec::with_capacity(n);
        // Room for the control messages of each buffer (the GRO segment size, the local address).
        let mut controls: Vec<Control> = vec![[0; 16]; n];
        for i in 0..n {
            // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
            names.push(unsafe { std::mem::zeroed() });
            iovs.push(libc::iovec {
                // SAFETY: i < slots, so the slot i*slot..(i+1)*slot lies inside buf.
                iov_base: unsafe { self.buf.as_mut_ptr().add(i * self.slot) } as *mut libc::c_void,
                iov_len: self.slot,
            });
        }
        let mut msgs: Vec<libc::mmsghdr> = Vec::with_capacity(n);
        for i in 0..n {
            // SAFETY: as in send_batch, all-zero is a valid mmsghdr.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_name = &mut names[i] as *mut libc::sockaddr_storage as *mut libc::c_void;
            m.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_control = controls[i].as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = std::mem::size_of::<Control>() as _;
            msgs.push(m);
        }
        let flags = if wait {
            libc::MSG_WAITFORONE
        } else {
            libc::MSG_DONTWAIT
        };
        let got = {
            // SAFETY: msgs holds n headers pointing at n distinct slots of buf, n sockaddr_storage
            // entries and n control buffers, all owned by this frame or self and alive for the call;
            // the lengths passed are the real sizes, so the kernel writes only inside them.
            let r = unsafe {
                libc::recvmmsg(
                    sock.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    n as libc::c_uint,
                    flags,
                    std::ptr::null_mut(),
                )
            };
            if r >= 0 {
                r as usize
            } else {
                // EINTR too goes back to the caller: a stop signal may be behind it.
                return Err(io::Error::last_os_error());
            }
        };
        for (i, m) in msgs.iter().enumerate().take(got) {
            let len = (m.msg_len as usize).min(self.slot);
            let truncated = m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            let from = to_socket_addr(&names[i], m.msg_hdr.msg_namelen);
            let local = local_end(&m.msg_hdr);
            let start = i * self.slot;
            let segment = gro_segment(&m.msg_hdr)
                .filter(|&s| s > 0)
                .unwrap_or(len.max(1));
            let mut off = 0;
            loop {
                let part = segment.min(len - off);
                self.items.push(Item {
                    start: start + off,
                    len: part,
                    from,
                    truncated: truncated && off + part == len,
                    local,
                });
                off += part;
                if off >= len {
                    break;
                }
            }
        }
        Ok(self.items.len())
    }

    /// Portable fallback: one recv per datagram.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn recv(&mut self, sock: &Socket, max: usize, wait: bool) -> io::Result<usize> {
        use std::mem::MaybeUninit;
        self.items.clear();
        let n = max.clamp(1, self.slots);
        while self.items.len() < n {
            let start = self.items.len() * self.slot;
            let slot = &mut self.buf[start..start + self.slot];
            // SAFETY: u8 and MaybeUninit<u8> have the same layout, and the bytes are initialised already.
            let slot: &mut [MaybeUninit<u8>] =
                unsafe { std::slice::from_raw_parts_mut(slot.as_mut_ptr().cast(), slot.len()) };
            let flags = if wait && self.items.is_empty() {
                0
            } else {
                libc::MSG_DONTWAIT
            };
            match sock.recv_from_with_flags(slot, flags) {
                Ok((len, addr)) => self.items.push(Item {
                    start,
                    len: len.min(self.slot),
                    from: addr.as_socket(),
                    truncated: len > self.slot,
                    local: None,
                }),
                Err(e) if self.items.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        Ok(self.items.len())
    }
}

/// The UDP_GRO segment size in a received message's control data, if the kernel coalesced it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn gro_segment(hdr: &libc::msghdr) -> Option<usize> {
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
fn local_end(hdr: &libc::msghdr) -> Option<Local> {
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

/// Reads an IPv4 or IPv6 address the kernel wrote into a sockaddr_storage.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn to_socket_addr(name: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    use std::net::{SocketAddrV4, SocketAddrV6};
    let len = len as usize;
    match name.ss_family as libc::c_int {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, the kernel wrote at least that
            // many bytes, and sockaddr_storage is aligned for every sockaddr type.
            let sin =
                unsafe { &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for a sockaddr_in6.
            let sin6 =
                unsafe { &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Sets SO_RCVBUFFORCE: a receive buffer above net.core.rmem_max, allowed with CAP_NET_ADMIN only.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn force_recv_buffer(sock: &Socket, bytes: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: value is a live c_int and its exact size is passed; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere there is no forcing: the plain option.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn force_recv_buffer(sock: &Socket, bytes: usize) -> io::Result<()> {
    sock.set_recv_buffer_size(bytes)
}
