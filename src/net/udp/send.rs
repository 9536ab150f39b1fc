//! `udp-send`'s sender: batches (sendmmsg, UDP GSO), pacing, replies.

use crate::exit::{self, usage};
use crate::net::addr::{Family, HostPort, display, resolve};
use crate::net::sockopt::SockSettings;
use crate::sys::mmsg::{self, Dest, RecvBatch};
use crate::sys::poll;
use anyhow::{Context, Result, anyhow};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use super::*;

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

    /// Waits up to `wait` for an error queued on the socket (an ICMP port-unreachable for a datagram
    /// already sent: "connection refused"), then fails with it as [`UdpSender::check_refused`] does.
    pub(crate) fn settle(&self, wait: Duration) -> Result<()> {
        // No events asked: poll still reports POLLERR, and replies (POLLIN) do not end the wait.
        poll::poll(&[(self.sock.as_fd(), 0)], Some(wait)).context("poll")?;
        self.check_refused()
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
pub(super) fn gso_refused(e: &io::Error) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
}
