//! `udp-recv`'s receiver: batches (recvmmsg, UDP GRO), the receive buffer, Unix datagram sockets.

use crate::exit::{self, usage};
use crate::net::addr::{Family, display};
use crate::net::socket::ListenOpts;
use crate::net::sockopt::SockSettings;
use crate::sys::mmsg::{self, Datagram, Dest, Local, RecvBatch, Source};
use crate::sys::poll;
use anyhow::{Context, Result, anyhow};
use socket2::{Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use super::*;

/// How `udp-recv` sets up its socket.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecvOpts {
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// SO_RCVBUF asked for on the command line (None: [`DEFAULT_RECV_BUFFER`], quietly capped).
    pub recv_buffer: Option<usize>,
    pub group: Option<IpAddr>,
    /// `-w`: a receive that waits longer than this ends with "timed out".
    pub timeout: Option<Duration>,
    /// `--sockopt`: set before bind.
    pub sockopts: SockSettings,
}

/// What one [`UdpReceiver::recv`] brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    /// This many datagrams, now in the batch.
    Datagrams(usize),
    /// The socket's timeout (`-w`) passed without a datagram.
    TimedOut,
    /// SIGINT or SIGTERM (caught with `--stats`) asked to stop.
    Stopped,
}

/// A bound UDP socket receiving batches from any number of senders.
pub(crate) struct UdpReceiver {
    sock: Socket,
    batch: RecvBatch,
    /// The bound address (a Unix receiver: unspecified).
    local: SocketAddr,
    /// The bound address or path, as shown.
    pub shown: String,
    /// A Unix datagram receiver (`--unix`): its own batch.
    unix: Option<UnixRecv>,
    pub received: Counter,
    /// Things worth a warning on stderr (a receive buffer smaller than asked).
    pub notes: Vec<String>,
}

impl UdpReceiver {
    /// Binds `addr:port` (None: every address, IPv6 dual-stack where available, else 0.0.0.0),
    /// joins `opts.group`, sizes the receive buffer.
    pub(crate) fn open(
        addr: Option<SocketAddr>,
        port: u16,
        family: Family,
        opts: &RecvOpts,
    ) -> Result<UdpReceiver> {
        if let Some(group) = opts.group {
            if !group.is_multicast() {
                return Err(usage(format!("--group {group} is not a multicast address")));
            }
            if !family.admits(&group) || addr.is_some_and(|a| a.is_ipv6() != group.is_ipv6()) {
                return Err(usage(format!(
                    "--group {group} is not of the address family being bound"
                )));
            }
        }
        // A group decides the family: the socket must be of the group's.
        let family = match opts.group {
            Some(IpAddr::V4(_)) => Family::V4,
            Some(IpAddr::V6(_)) => Family::V6,
            None => family,
        };
        let (sock, local) =
            crate::net::socket::bind_any(addr, port, family, |wanted, dual_stack| {
                bind_udp(wanted, dual_stack, opts)
            })?;
        let mut notes = Vec::new();
        if !opts.sockopts.sets("SO_RCVBUF") {
            size_recv_buffer(&sock, opts.recv_buffer, &mut notes)?;
        }
        // Coalesced arrivals (from GSO senders) are cut apart again by RecvBatch.
        mmsg::enable_gro(&sock);
        match opts.group {
            Some(IpAddr::V4(g)) => sock
                .join_multicast_v4(&g, &Ipv4Addr::UNSPECIFIED)
                .with_context(|| format!("join multicast group {g}"))?,
            Some(IpAddr::V6(g)) => sock
                .join_multicast_v6(&g, 0)
                .with_context(|| format!("join multicast group {g}"))?,
            None => {}
        }
        set_timeout(&sock, opts)?;
        Ok(UdpReceiver {
            sock,
            batch: RecvBatch::new(64, 65536),
            local,
            shown: display(&local),
            unix: None,
            received: Counter::default(),
            notes,
        })
    }

    /// A receiver on the Unix datagram socket `path` (`@NAME`: abstract). A stale socket file is
    /// replaced; the file is removed when the receiver is dropped.
    pub(crate) fn open_unix(path: &std::path::Path, opts: &RecvOpts) -> Result<UdpReceiver> {
        let (sock, guard) = unix::bound(path, opts.sockopts)?;
        Self::unix_receiver(sock, guard, path.display().to_string(), opts)
    }

    /// A receiver on a datagram socket bound elsewhere (systemd socket activation): UDP or Unix.
    pub(crate) fn from_socket(sock: Socket, shown: String, opts: &RecvOpts) -> Result<UdpReceiver> {
        opts.sockopts.apply(&sock)?;
        if sock.domain().ok() == Some(socket2::Domain::UNIX) {
            return Self::unix_receiver(sock, None, shown, opts);
        }
        let local = sock
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0));
        let mut notes = Vec::new();
        if !opts.sockopts.sets("SO_RCVBUF") {
            size_recv_buffer(&sock, opts.recv_buffer, &mut notes)?;
        }
        mmsg::enable_gro(&sock);
        set_timeout(&sock, opts)?;
        Ok(UdpReceiver {
            sock,
            batch: RecvBatch::new(64, 65536),
            local,
            shown,
            unix: None,
            received: Counter::default(),
            notes,
        })
    }

    fn unix_receiver(
        sock: Socket,
        guard: Option<unix::FileGuard>,
        shown: String,
        opts: &RecvOpts,
    ) -> Result<UdpReceiver> {
        let mut notes = Vec::new();
        if !opts.sockopts.sets("SO_RCVBUF") {
            size_recv_buffer(&sock, opts.recv_buffer, &mut notes)?;
        }
        set_timeout(&sock, opts)?;
        let std_sock = std::os::unix::net::UnixDatagram::from(
            sock.try_clone().context("dup the receiving socket")?,
        );
        Ok(UdpReceiver {
            sock,
            batch: RecvBatch::new(1, 1),
            local: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
            shown,
            unix: Some(UnixRecv {
                sock: std_sock,
                buf: Vec::new(),
                items: Vec::new(),
                len: 0,
                _guard: guard,
            }),
            received: Counter::default(),
            notes,
        })
    }

    /// Receives a batch of up to `max` datagrams, waiting for the first. (Coalesced datagrams beyond
    /// `max` are dropped.)
    pub(crate) fn recv(&mut self, max: usize) -> Result<Received> {
        loop {
            // A signal that came while we were busy elsewhere interrupts no call: look first.
            if crate::sys::signal::stop_requested() {
                return Ok(Received::Stopped);
            }
            let got = match &mut self.unix {
                Some(u) => unix::recv_batch(&u.sock, max, &mut u.buf, &mut u.items).inspect(|&n| {
                    u.len = n;
                }),
                None => self.batch.recv(&self.sock, max, true),
            };
            return match got {
                Ok(n) => {
                    let n = n.min(max);
                    self.batch.keep(n);
                    let bytes = (0..n).map(|i| self.datagram(i).data.len()).sum();
                    self.received.add(n, bytes);
                    Ok(Received::Datagrams(n))
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Received::TimedOut),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if crate::sys::signal::stop_requested() {
                        Ok(Received::Stopped)
                    } else {
                        continue;
                    }
                }
                Err(e) => Err(anyhow!(e).context(format!("receive on {}", self.shown))),
            };
        }
    }

    /// Waits up to `wait` for a datagram to be queued: true when one is.
    pub(crate) fn readable(&self, wait: Duration) -> Result<bool> {
        let ready = poll::poll(&[(self.sock.as_fd(), poll::READABLE)], Some(wait))
            .with_context(|| format!("poll {}", self.shown))?;
        Ok(ready[0] != 0)
    }

    /// The `i`th datagram of the last batch.
    pub(crate) fn datagram(&self, i: usize) -> Datagram<'_> {
        match &self.unix {
            Some(u) => Datagram {
                data: &u.items[i].data,
                from: None,
                truncated: u.items[i].truncated,
                local: None,
            },
            None => self.batch.get(i),
        }
    }

    /// How many datagrams the last batch holds.
    fn batch_len(&self) -> usize {
        match &self.unix {
            Some(u) => u.len,
            None => self.batch.len(),
        }
    }

    /// The sender of the `i`th datagram of the last batch, as shown (`ADDR:PORT`, a Unix path,
    /// `@NAME`, or `(unnamed)`).
    pub(crate) fn sender(&self, i: usize) -> String {
        match &self.unix {
            Some(u) => unix::show_std(&u.items[i].from),
            None => self
                .batch
                .get(i)
                .from
                .map(|a| display(&a))
                .unwrap_or_default(),
        }
    }

    /// Replies leave from the address each datagram arrived at ([`UdpReceiver::reply_from`]): on a
    /// wildcard address, the one the client sent to, not the route's first (which a client with a
    /// connected socket drops). Asked for by the modes that answer: `--echo`, `--reply`, `--forward`.
    pub(crate) fn answer_from_arrival(&self) {
        if self.unix.is_none() && self.local.ip().is_unspecified() {
            mmsg::enable_pktinfo(&self.sock);
        }
    }

    /// Where a reply to the `i`th datagram of the last batch leaves from (None: the system's choice;
    /// always, without [`UdpReceiver::answer_from_arrival`]).
    pub(crate) fn reply_from(&self, i: usize) -> Option<Local> {
        self.datagram(i).local
    }

    /// The receiving socket (the forwarder polls it and replies from it).
    pub(crate) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// A second handle on the receiving socket (replies go out from the port senders sent to).
    pub(crate) fn reply_socket(&self) -> Result<Socket> {
        self.sock.try_clone().context("dup the receiving socket")
    }

    /// Where a reply to the `i`th datagram of the last batch goes: None for a sender that cannot be
    /// answered (port 0, this receiver itself, an unnamed Unix socket).
    pub(crate) fn reply_addr(&self, i: usize) -> Option<SockAddr> {
        match &self.unix {
            Some(u) => {
                let shown = unix::show_std(&u.items[i].from);
                (shown != "(unnamed)")
                    .then(|| unix::unix_addr(std::path::Path::new(&shown)).ok())
                    .flatten()
            }
            None => self
                .batch
                .get(i)
                .from
                .filter(|a| self.answerable(a))
                .map(SockAddr::from),
        }
    }

    /// May a reply go to `from`? Never to port 0, nor to this receiver's own address (a spoofed
    /// datagram "from" the receiver itself would echo forever).
    pub(crate) fn answerable(&self, from: &SocketAddr) -> bool {
        let canon = |ip: IpAddr| ip.to_canonical();
        let own_ip = canon(self.local.ip());
        from.port() != 0
            && !(from.port() == self.local.port()
                && (canon(from.ip()) == own_ip
                    || own_ip.is_unspecified() && canon(from.ip()).is_loopback()))
    }

    /// Sends every datagram of the last batch back to its sender. UDP is lossy both ways: a datagram
    /// that cannot be echoed is dropped, not an error; returns how many were not echoed.
    pub(crate) fn echo(&self) -> usize {
        let n = self.batch_len();
        if let Some(u) = &self.unix {
            return n - u.echo();
        }
        let mut payloads = Vec::with_capacity(n);
        let mut dests = Vec::with_capacity(n);
        let mut sources = Vec::with_capacity(n);
        for i in 0..n {
            let d = self.batch.get(i);
            if let Some(from) = d.from
                && self.answerable(&from)
            {
                payloads.push(d.data);
                dests.push(SockAddr::from(from));
                sources.push(d.local);
            }
        }
        let mut done = 0;
        while done < payloads.len() {
            match mmsg::send_batch_from(
                &self.sock,
                &payloads[done..],
                Dest::Each(&dests[done..]),
                Source::Each(&sources[done..]),
                false,
            ) {
                Ok(k) => done += k,
                // Skip the one that failed.
                Err(_) => done += 1,
            }
        }
        n - payloads.len()
    }
}

/// The Unix side of a receiver: the socket as std's UnixDatagram (whose addresses keep Unix names),
/// the last batch, and the socket file's guard.
struct UnixRecv {
    sock: std::os::unix::net::UnixDatagram,
    buf: Vec<u8>,
    items: Vec<unix::Item>,
    len: usize,
    _guard: Option<unix::FileGuard>,
}

impl UnixRecv {
    /// Sends each datagram of the last batch back to a named sender other than this socket; returns
    /// how many went.
    fn echo(&self) -> usize {
        let own = self.sock.local_addr().ok().map(|a| unix::show_std(&a));
        let mut sent = 0;
        for item in &self.items[..self.len] {
            let named = item.from.as_pathname().is_some() || {
                use std::os::linux::net::SocketAddrExt;
                item.from.as_abstract_name().is_some()
            };
            if named
                && own.as_deref() != Some(&unix::show_std(&item.from))
                && self.sock.send_to_addr(&item.data, &item.from).is_ok()
            {
                sent += 1;
            }
        }
        sent
    }
}

/// `-w` as SO_RCVTIMEO (a zero one means "forever", so the shortest real wait stands in for 0).
fn set_timeout(sock: &Socket, opts: &RecvOpts) -> Result<()> {
    if let Some(t) = opts.timeout {
        sock.set_read_timeout(Some(t.max(Duration::from_micros(1))))
            .context("set SO_RCVTIMEO")?;
    }
    Ok(())
}

fn bind_udp(addr: SocketAddr, dual_stack: bool, opts: &RecvOpts) -> Result<(Socket, SocketAddr)> {
    // A multicast group is shared: other receivers may bind its port too.
    let reuse = ListenOpts {
        reuseaddr: opts.reuseaddr || opts.group.is_some(),
        reuseport: opts.reuseport,
        backlog: None,
        sockopts: opts.sockopts,
        mptcp: false,
    };
    crate::net::socket::bound(addr, Type::DGRAM, Protocol::UDP, dual_stack, &reuse)
}

/// SO_RCVBUF: what was asked (forced past rmem_max when we may), or a large default, quietly capped.
fn size_recv_buffer(sock: &Socket, asked: Option<usize>, notes: &mut Vec<String>) -> Result<()> {
    let want = asked.unwrap_or(DEFAULT_RECV_BUFFER);
    sock.set_recv_buffer_size(want)
        .with_context(|| format!("set SO_RCVBUF to {want}"))?;
    // Linux reports twice the size set (the kernel's bookkeeping share); compare halves.
    let got = |s: &Socket| s.recv_buffer_size().map(|n| n / 2).unwrap_or(0);
    if got(sock) < want {
        let _ = mmsg::force_recv_buffer(sock, want);
    }
    if asked.is_some() && got(sock) < want {
        notes.push(format!(
            "warning: SO_RCVBUF is {} bytes, less than the {want} asked (the system limit is net.core.rmem_max)",
            got(sock)
        ));
    }
    Ok(())
}

/// Exit with "timed out" (status 3) or not: `-w` expired after `received` datagrams.
pub(crate) fn idle_expired(received: u64, waited: Duration, shown: &str) -> Result<()> {
    if received == 0 {
        Err(exit::timeout(format!(
            "no datagram arrived on {shown} within {}",
            humantime::format_duration(waited)
        )))
    } else {
        Ok(())
    }
}
