//! Batched datagram calls: sendmmsg(2) and recvmmsg(2), many datagrams per system call.
//!
//! One syscall per datagram tops out near 300 k datagrams/s on a small machine; a batch of a few hundred
//! costs one kernel entry and one wake-up. Where the calls do not exist (not Linux), the same API loops
//! over send/recv one datagram at a time.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{SockAddr, Socket};

#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::sys::cmsg::{Control, gro_segment, local_end, put_cmsg, put_source};
pub(crate) use crate::sys::cmsg::{Local, enable_gro, enable_pktinfo};

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
