//! The UDP core of `udp-send` and `udp-recv`: sockets (source bind, broadcast, TTL, multicast joins,
//! dual-stack receivers, a large receive buffer), batched sends with pacing, batched receives, replies
//! and the counters behind `--stats`.
//!
//! Datagrams move in batches (sendmmsg/recvmmsg through [`crate::sys::mmsg`]): one system call and one
//! wake-up per batch rather than per datagram. A sender is connected to its target unless it sends to a
//! broadcast or multicast address, so an ICMP port-unreachable comes back as "connection refused".

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::exit::{self, usage};
use crate::net::addr::{Family, HostPort, check_host, display, resolve};
use crate::net::socket::ListenOpts;
use crate::net::sockopt::SockSettings;
use crate::sys::mmsg::{self, Datagram, Dest, RecvBatch};
use crate::sys::poll;

pub(crate) mod reply;
pub(crate) mod sessions;
pub(crate) mod unix;

/// The largest UDP payload over IPv4 (65535 - 20 - 8) and over IPv6 (65535 - 8).
pub(crate) const MAX_PAYLOAD_V4: usize = 65507;
pub(crate) const MAX_PAYLOAD_V6: usize = 65527;

/// The receive buffer udp-recv asks for unless told otherwise: bursts of small datagrams fit in it
/// while the reader is busy writing (the kernel caps it at net.core.rmem_max).
pub(crate) const DEFAULT_RECV_BUFFER: usize = 32 * 1024 * 1024;

/// udp-send's pace unless told otherwise (datagrams per second): three times the rate a receiver must
/// sustain, yet one a receiver on a busy two-CPU machine keeps up with where an unpaced GSO sender
/// (4-5 M/s on loopback) overruns it. `--rate 0` lifts it.
pub(crate) const DEFAULT_RATE: u64 = 1_000_000;

/// The largest payload one datagram to `addr` can carry.
pub(crate) fn max_payload(addr: &SocketAddr) -> usize {
    if addr.is_ipv4() || addr.ip().to_canonical().is_ipv4() {
        MAX_PAYLOAD_V4
    } else {
        MAX_PAYLOAD_V6
    }
}

/// Splits `udp-send`'s positional arguments into the target and the messages: `HOST PORT MSG...`,
/// `HOST:PORT MSG...` or `[IPV6]:PORT MSG...`. A bare IPv6 address (`::1`) is a HOST.
pub(crate) fn parse_send_target<'a>(
    host: &str,
    rest: &'a [String],
) -> Result<(HostPort, &'a [String])> {
    let one_arg = if host.starts_with('[') {
        host.contains("]:")
    } else {
        host.matches(':').count() == 1
    };
    if one_arg {
        let (h, p) = crate::net::addr::split_host_port(host)?;
        return Ok((
            HostPort {
                host: check_host(&h)?,
                port: crate::net::addr::destination_port(&p, "udp", None)?,
            },
            rest,
        ));
    }
    let Some((port, messages)) = rest.split_first() else {
        return Err(usage(format!(
            "missing port: give HOST PORT or HOST:PORT (got {host:?})"
        )));
    };
    let port = crate::net::addr::destination_port(port, "udp", Some(host))?;
    Ok((
        HostPort {
            host: check_host(host)?,
            port,
        },
        messages,
    ))
}

/// `udp-recv`'s `[ADDR] PORT` (or `ADDR:PORT`): the address to bind (None: every address) and the port.
pub(crate) fn parse_bind_endpoint(
    endpoint: &[String],
    family: Family,
) -> Result<(Option<SocketAddr>, u16)> {
    crate::net::addr::parse_bind_endpoint(endpoint, family, "udp")
}

/// How many datagrams and bytes went by, and over what time: `--stats`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counter {
    pub datagrams: u64,
    pub bytes: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Counter {
    /// Marks the start of the measured time (otherwise the first datagram starts it).
    pub(crate) fn start(&mut self) {
        self.first.get_or_insert_with(Instant::now);
    }

    pub(crate) fn add(&mut self, datagrams: usize, bytes: usize) {
        let now = Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.datagrams += datagrams as u64;
        self.bytes += bytes as u64;
    }

    pub(crate) fn seconds(&self) -> f64 {
        match (self.first, self.last) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        }
    }

    /// `sent 1000 datagrams, 64000 bytes in 0.004 s (250000 datagrams/s, 15.3 MiB/s)`.
    pub(crate) fn summary(&self, verb: &str) -> String {
        let secs = self.seconds();
        let mut line = format!(
            "{verb} {} datagram{}, {} bytes in {secs:.3} s",
            self.datagrams,
            if self.datagrams == 1 { "" } else { "s" },
            self.bytes
        );
        if secs > 0.0 {
            line.push_str(&format!(
                " ({:.0} datagrams/s, {:.1} MiB/s)",
                self.datagrams as f64 / secs,
                self.bytes as f64 / secs / (1u64 << 20) as f64
            ));
        }
        line
    }
}

/// How `udp-send` sets up its socket.
#[derive(Debug, Clone, Default)]
pub(crate) struct SendOpts {
    pub family: Family,
    /// `-s`: the local address (its port is not used; an IPv6 zone is kept).
    pub source: Option<SocketAddr>,
    pub source_port: Option<u16>,
    pub broadcast: bool,
    pub ttl: Option<u32>,
    /// Time between datagrams (`--interval`, or 1/`--rate`).
    pub gap: Option<Duration>,
    /// Receive replies (`--wait-reply`).
    pub replies: bool,
    /// `--sockopt`: set before bind and connect.
    pub sockopts: SockSettings,
}

/// Receives the payload of each reply.
pub(crate) type OnReply<'a> = dyn FnMut(&[u8]) -> Result<()> + 'a;

/// A UDP socket aimed at one target, sending batches at a paced rate.
pub(crate) struct UdpSender {
    sock: Socket,
    /// The target's address when the socket is not connected (broadcast, multicast).
    dest: Option<SockAddr>,
    /// The largest payload one datagram to the target carries.
    pub limit: usize,
    /// The local end, as shown by -v.
    pub from: String,
    shown: String,
    pacer: Pacer,
    replies: Option<RecvBatch>,
    /// Send runs of equal-sized datagrams as UDP GSO; off once the kernel or route refuses it.
    gso: bool,
    pub sent: Counter,
    pub received: Counter,
}

impl UdpSender {
    /// Resolves `target`, opens, binds and (unless broadcast/multicast) connects the socket.
    pub(crate) fn open(target: &HostPort, opts: &SendOpts) -> Result<UdpSender> {
        let addrs = resolve(&target.host, target.port, opts.family)?;
        let peer = match opts.source {
            Some(src) => *addrs
                .iter()
                .find(|a| a.is_ipv6() == src.is_ipv6())
                .ok_or_else(|| {
                    usage(format!(
                        "source {} and target {target} have no address family in common",
                        src.ip()
                    ))
                })?,
            None => addrs[0],
        };
        let shown = display(&peer);
        let sock = Socket::new(Domain::for_address(peer), Type::DGRAM, Some(Protocol::UDP))
            .with_context(|| format!("socket for {shown}"))?;
        if opts.source_port.is_some() {
            // As for TCP: a fixed local port can be taken again at once (and shared with another
            // socket that sets SO_REUSEADDR too).
            sock.set_reuse_address(true)
                .with_context(|| format!("set SO_REUSEADDR for {shown}"))?;
        }
        opts.sockopts.apply(&sock)?;
        if opts.source.is_some() || opts.source_port.is_some() {
            let local = crate::net::addr::local_end(opts.source, opts.source_port, &peer);
            sock.bind(&local.into())
                .with_context(|| format!("bind {}", display(&local)))?;
        }
        let multicast = peer.ip().is_multicast();
        if opts.broadcast {
            sock.set_broadcast(true)
                .with_context(|| format!("set SO_BROADCAST for {shown}"))?;
        }
        if let Some(ttl) = opts.ttl {
            let r = match peer {
                SocketAddr::V4(_) if multicast => sock.set_multicast_ttl_v4(ttl),
                SocketAddr::V4(_) => sock.set_ttl_v4(ttl),
                SocketAddr::V6(_) if multicast => sock.set_multicast_hops_v6(ttl),
                SocketAddr::V6(_) => sock.set_unicast_hops_v6(ttl),
            };
            r.with_context(|| format!("set TTL {ttl} for {shown}"))?;
        }
        if let (true, Some(SocketAddr::V4(src))) = (multicast, opts.source) {
            // -s picks the interface multicast leaves by.
            sock.set_multicast_if_v4(src.ip())
                .with_context(|| format!("set IP_MULTICAST_IF {src}"))?;
        }
        let dest = if opts.broadcast || multicast {
            Some(SockAddr::from(peer))
        } else {
            sock.connect(&peer.into())
                .map_err(|e| send_error(e, &shown, opts.broadcast))?;
            None
        };
        let local = sock.local_addr().ok().and_then(|a| a.as_socket());
        Ok(UdpSender {
            sock,
            dest,
            limit: max_payload(&peer),
            from: local.map(|a| display(&a)).unwrap_or_default(),
            shown,
            pacer: Pacer::new(opts.gap),
            replies: opts.replies.then(|| RecvBatch::new(64, 65536)),
            gso: true,
            sent: Counter::default(),
            received: Counter::default(),
        })
    }

    /// A sender on a Unix datagram socket connected to `path` (`@NAME`: abstract), with an abstract
    /// name of its own so the receiver can answer.
    pub(crate) fn open_unix(path: &std::path::Path, opts: &SendOpts) -> Result<UdpSender> {
        let (sock, from) = unix::connected(path, opts.sockopts)?;
        Ok(UdpSender {
            sock,
            dest: None,
            limit: unix::MAX_DATAGRAM,
            from,
            shown: path.display().to_string(),
            pacer: Pacer::new(opts.gap),
            replies: opts.replies.then(|| RecvBatch::new(64, 65536)),
            gso: false,
            sent: Counter::default(),
            received: Counter::default(),
        })
    }

    /// How the target is named in messages.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// Sends each of `datagrams` as one datagram, paced, collecting replies on the way when asked.
    pub(crate) fn send(&mut self, datagrams: &[&[u8]], on_reply: &mut OnReply<'_>) -> Result<()> {
        self.sent.start();
        let mut i = 0;
        while i < datagrams.len() {
            let allowed = self.pace(datagrams.len() - i, on_reply)?;
            let batch = &datagrams[i..i + allowed];
            let dest = match &self.dest {
                Some(addr) => Dest::All(addr),
                None => Dest::Connected,
            };
            match mmsg::send_batch(&self.sock, batch, dest, self.gso) {
                Ok(n) => {
                    let bytes = batch[..n].iter().map(|d| d.len()).sum();
                    self.sent.add(n, bytes);
                    self.pacer.sent += n as u64;
                    i += n;
                }
                Err(e) if self.gso && gso_refused(&e) => self.gso = false,
                Err(e) if is_congestion(&e) => {
                    // The send queue is full for now: wait until there is room.
                    let _ = poll::poll(
                        &[(self.sock.as_fd(), poll::WRITABLE)],
                        Some(Duration::from_millis(1)),
                    );
                }
                Err(e) => return Err(send_error(e, &self.shown, self.dest.is_some())),
            }
            if self.replies.is_some() {
                self.take_replies(None, on_reply)?;
            }
        }
        Ok(())
    }

    /// After the last datagram: an error the kernel has queued on the socket (an ICMP port-unreachable
    /// for an earlier datagram, on a connected socket) fails the send as it would have failed the next
    /// one, so the status does not depend on how many datagrams there were. One that arrives later
    /// (a distant host) is only seen by [`UdpSender::wait_replies`].
    pub(crate) fn check_refused(&self) -> Result<()> {
        match self.sock.take_error() {
            Ok(Some(e)) => Err(send_error(e, &self.shown, self.dest.is_some())),
            _ => Ok(()),
        }
    }

    /// Waits for replies, passing each to `on_reply`, until `quiet` passes without one. Returns how
    /// many came in all (also those taken while sending). An ICMP port-unreachable (connected socket)
    /// is "connection refused".
    pub(crate) fn wait_replies(
        &mut self,
        quiet: Duration,
        on_reply: &mut OnReply<'_>,
    ) -> Result<u64> {
        while self.take_replies(Some(quiet), on_reply)? > 0 {}
        Ok(self.received.datagrams)
    }

    /// Waits until `input` is readable (or at its end); with replies asked for, prints those that
    /// come meanwhile. Without, returns at once (the read that follows blocks).
    pub(crate) fn wait_for_input(
        &mut self,
        input: std::os::fd::BorrowedFd<'_>,
        on_reply: &mut OnReply<'_>,
    ) -> Result<()> {
        if self.replies.is_none() {
            return Ok(());
        }
        loop {
            let ready = poll::poll(
                &[(input, poll::READABLE), (self.sock.as_fd(), poll::READABLE)],
                None,
            )
            .context("poll")?;
            if ready[1] != 0 {
                self.take_replies(None, on_reply)?;
            }
            if ready[0] != 0 {
                return Ok(());
            }
        }
    }

    /// Takes the replies that are queued, first waiting up to `wait` for one (None: no waiting).
    fn take_replies(
        &mut self,
        wait: Option<Duration>,
        on_reply: &mut OnReply<'_>,
    ) -> Result<usize> {
        let Some(batch) = self.replies.as_mut() else {
            return Ok(0);
        };
        if let Some(wait) = wait {
            let ready =
                poll::poll(&[(self.sock.as_fd(), poll::READABLE)], Some(wait)).context("poll")?;
            if ready[0] == 0 {
                return Ok(0);
            }
        }
        let mut total = 0;
        loop {
            match batch.recv(&self.sock, usize::MAX, false) {
                Ok(n) => {
                    for i in 0..n {
                        let d = batch.get(i);
                        self.received.add(1, d.data.len());
                        on_reply(d.data)?;
                    }
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(anyhow!(e).context(format!("wait for a reply from {}", self.shown)));
                }
            }
        }
    }

    /// Waits until the pacer lets datagrams go (taking replies meanwhile); returns how many may go now.
    fn pace(&mut self, want: usize, on_reply: &mut OnReply<'_>) -> Result<usize> {
        let want = want.min(mmsg::MAX_BATCH);
        loop {
            match self.pacer.due(want) {
                Ok(n) => return Ok(n),
                Err(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if self.replies.is_some() {
                        self.take_replies(Some(left), on_reply)?;
                    } else {
                        std::thread::sleep(left);
                    }
                }
            }
        }
    }
}

/// The most datagrams a paced sender sends at once to catch up after falling behind.
const BURST: u64 = mmsg::MAX_BATCH as u64;

/// Schedules datagram k at start + k * gap (like ping -i): no drift, no bursts beyond what is due.
#[derive(Debug)]
struct Pacer {
    gap: Option<Duration>,
    start: Option<Instant>,
    sent: u64,
}

impl Pacer {
    fn new(gap: Option<Duration>) -> Pacer {
        Pacer {
            gap: gap.filter(|g| !g.is_zero()),
            start: None,
            sent: 0,
        }
    }

    /// Ok(how many of `want` may go now), or Err(when the next one is due).
    fn due(&mut self, want: usize) -> Result<usize, Instant> {
        let Some(gap) = self.gap else {
            return Ok(want);
        };
        let mut start = *self.start.get_or_insert_with(Instant::now);
        let mut due_total = (start.elapsed().as_secs_f64() / gap.as_secs_f64()).floor() as u64 + 1;
        if due_total > self.sent + BURST {
            // Far behind (slow input, a stall): catch up by one burst at most, then keep the pace.
            start += gap.mul_f64((due_total - self.sent - BURST) as f64);
            self.start = Some(start);
            due_total = self.sent + BURST;
        }
        if due_total > self.sent {
            Ok(((due_total - self.sent) as usize).min(want))
        } else {
            Err(start + gap.mul_f64(self.sent as f64))
        }
    }
}

/// UDP GSO is not available here (old kernel, a route without checksum offload, segments above the MTU).
fn gso_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL) | Some(libc::EIO) | Some(libc::ENOPROTOOPT) | Some(libc::EOPNOTSUPP)
    )
}

fn is_congestion(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS)
}

fn send_error(e: io::Error, shown: &str, broadcast: bool) -> anyhow::Error {
    if e.kind() == io::ErrorKind::PermissionDenied && !broadcast {
        return anyhow!(
            "send to {shown}: {} (a broadcast address needs --broadcast)",
            exit::describe_io(&e)
        );
    }
    anyhow!(e).context(format!("send to {shown}"))
}

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
    fn answerable(&self, from: &SocketAddr) -> bool {
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
        for i in 0..n {
            let d = self.batch.get(i);
            if let Some(from) = d.from
                && self.answerable(&from)
            {
                payloads.push(d.data);
                dests.push(SockAddr::from(from));
            }
        }
        let mut done = 0;
        while done < payloads.len() {
            match mmsg::send_batch(
                &self.sock,
                &payloads[done..],
                Dest::Each(&dests[done..]),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{USAGE, status_of};

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn targets() {
        let rest = strings(&["9000", "hi"]);
        let (t, m) = parse_send_target("localhost", &rest).unwrap();
        assert_eq!((t.host.as_str(), t.port, m.len()), ("localhost", 9000, 1));
        let rest = strings(&["hi", "there"]);
        let (t, m) = parse_send_target("127.0.0.1:53", &rest).unwrap();
        assert_eq!((t.host.as_str(), t.port, m.len()), ("127.0.0.1", 53, 2));
        let (t, m) = parse_send_target("[::1]:7", &[]).unwrap();
        assert_eq!((t.host.as_str(), t.port, m.len()), ("::1", 7, 0));
        let rest = strings(&["7"]);
        let (t, _) = parse_send_target("::1", &rest).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 7));
        let (t, _) = parse_send_target("[::1]", &rest).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 7));
        for (host, rest) in [
            ("localhost", &[][..]),
            ("h", &["99999".to_string()][..]),
            ("h:70000", &[]),
            ("[x]:1", &[]),
        ] {
            assert_eq!(
                status_of(&parse_send_target(host, rest).unwrap_err()),
                USAGE,
                "{host}"
            );
        }
    }

    #[test]
    fn pacer_spaces_datagrams() {
        let mut p = Pacer::new(Some(Duration::from_millis(50)));
        assert_eq!(p.due(10), Ok(1));
        p.sent = 1;
        let next = p.due(10).unwrap_err();
        assert!(next > Instant::now());
        let mut free = Pacer::new(None);
        assert_eq!(free.due(10), Ok(10));
        // After a long stall only one burst is let through.
        let mut late = Pacer::new(Some(Duration::from_micros(1)));
        late.start = Some(Instant::now() - Duration::from_secs(1));
        assert_eq!(late.due(usize::MAX), Ok(BURST as usize));
        late.sent = BURST;
        assert!(!matches!(late.due(usize::MAX), Ok(n) if n >= 100));
    }

    #[test]
    fn summaries() {
        let mut c = Counter::default();
        assert_eq!(c.summary("sent"), "sent 0 datagrams, 0 bytes in 0.000 s");
        c.add(1, 5);
        assert!(
            c.summary("received")
                .starts_with("received 1 datagram, 5 bytes in ")
        );
    }
}
