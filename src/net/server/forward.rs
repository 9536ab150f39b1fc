//! `listen --forward ENDPOINT`: each client gets its own new connection to ENDPOINT, and the two are
//! joined by the one relay ([`join`]) until both directions have ended; a half-close on one side
//! becomes a half-close on the other, and plain socket legs go zero-copy. A target that cannot be
//! reached costs only that client (closed at once, logged with `-v`).
//!
//! A `tls://HOST:PORT` target originates TLS on the outgoing leg, verified as `connect --tls` would
//! (`--forward-ca`, `--forward-pin`, `--forward-insecure`); a target that fails the handshake or the
//! verification is one more unreachable target: its client is closed, the reason logged.
//!
//! Also here, because forwarding and the proxy server share them: `--accept-proxy-protocol` (the
//! client's PROXY protocol header read within [`HEADER_TIMEOUT`], its source then counting as the
//! client's address for `--allow`/`--deny` and the logs) and `--proxy-protocol v1|v2` (a header with
//! the client's address sent to the target first).

use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use socket2::Socket;

use crate::exit;
use crate::net::addr::{HostPort, display, parse_endpoint};
use crate::net::connect::{ConnectOpts, connect, start_attempt};
use crate::net::events::{Note, RefuseReason};
use crate::net::proxy_protocol::{self, Version};
use crate::net::server::acl::Acl;
use crate::net::server::pairs::{
    Connected, Connecting, Done, Front, Greet, Job, Target as PairTarget,
};
use crate::net::socket::unix_connect;
use crate::net::stream::relay::{RelayConfig, join};
use crate::net::stream::{Endpoint, recv_error, tls};
use crate::sys::poll;

/// How long a client has to send its PROXY protocol header.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Where `--forward` connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Tcp(HostPort),
    /// `tls://HOST:PORT`: TCP, then a TLS handshake naming HOST.
    Tls(HostPort),
    Unix(PathBuf),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp(hp) => write!(f, "{hp}"),
            Target::Tls(hp) => write!(f, "tls://{hp}"),
            Target::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Parses a `--forward` ENDPOINT: `HOST:PORT`, `[IPV6]:PORT`, `tcp://HOST:PORT`, `tls://HOST:PORT`,
/// `unix:PATH`, `unix:@NAME`.
pub(crate) fn parse_target(text: &str) -> Result<Target> {
    if let Some(path) = text.strip_prefix("unix:") {
        if path.is_empty() {
            return Err(exit::usage(format!(
                "--forward {text}: empty Unix socket path"
            )));
        }
        return Ok(Target::Unix(PathBuf::from(path)));
    }
    let (rest, tls) = match text.strip_prefix("tls://") {
        Some(rest) => (rest, true),
        None => (text.strip_prefix("tcp://").unwrap_or(text), false),
    };
    if rest.contains("://") {
        return Err(exit::usage(format!(
            "--forward {text}: expected HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or unix:PATH"
        )));
    }
    let hp = parse_endpoint(&[rest.to_string()])
        .map_err(|e| exit::usage(format!("--forward {text}: {}", exit::render(&e))))?;
    if hp.port == 0 {
        return Err(exit::usage(format!(
            "--forward {text}: port 0 is not a destination"
        )));
    }
    Ok(if tls {
        Target::Tls(hp)
    } else {
        Target::Tcp(hp)
    })
}

/// A client's addresses as the server sees them: the peer (as accept(2) gave it, or the PROXY
/// protocol header's source) and the address it connected to (the header's destination; else the
/// socket's own, asked for only where it is used: [`ClientAddrs::header`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddrs {
    pub peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
}

impl ClientAddrs {
    /// The source and destination a PROXY protocol header sent on names: the client's address and
    /// the one it connected to.
    pub(crate) fn header(&self, client: &Socket) -> Option<(SocketAddr, SocketAddr)> {
        let local = self
            .local
            .or_else(|| client.local_addr().ok().and_then(|a| a.as_socket()));
        self.peer.zip(local)
    }

    pub(crate) fn shown(&self) -> String {
        self.peer
            .map_or_else(|| "a local client".into(), |a| display(&a))
    }
}

/// What every accepted client goes through before its mode's work: the PROXY protocol header when
/// asked for, then the access list on the address that counts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Admission {
    pub accept_proxy_protocol: bool,
    pub acl: Acl,
    pub verbose: bool,
}

impl Admission {
    /// Reads the client's PROXY protocol header (if asked) and checks the access list: Ok with the
    /// addresses that count, or Err (the caller closes the client) saying why. `peer` is the
    /// client's address as accept(2) gave it (None for a Unix client).
    pub(crate) fn admit(&self, sock: &Socket, peer: Option<SocketAddr>) -> Result<ClientAddrs> {
        let mut addrs = ClientAddrs { peer, local: None };
        if self.accept_proxy_protocol {
            let real = addrs.shown();
            sock.set_read_timeout(Some(HEADER_TIMEOUT))?;
            let mut reader = sock;
            let header = proxy_protocol::read_header(&mut reader).map_err(|e| {
                Note::refused(RefuseReason::ProxyProtocol);
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) {
                    anyhow!(
                        "{real}: no PROXY protocol header within {}",
                        humantime::format_duration(HEADER_TIMEOUT)
                    )
                } else {
                    anyhow!("{real}: {}", exit::describe_io(&e))
                }
            })?;
            sock.set_read_timeout(None)?;
            if let Some((src, dst)) = header.addrs {
                Note::source(&display(&src));
                if self.verbose {
                    crate::diag!(
                        "{real}: PROXY protocol says the client is {}",
                        display(&src)
                    );
                }
                addrs = ClientAddrs {
                    peer: Some(src),
                    local: Some(dst),
                };
            }
        }
        if !self.acl.admits(addrs.peer.map(|a| a.ip())) {
            Note::refused(RefuseReason::Deny);
            return Err(anyhow!("refused {}: not allowed", addrs.shown()));
        }
        Note::admitted(&addrs.shown());
        Ok(addrs)
    }
}

/// How to forward each client.
#[derive(Debug)]
pub(crate) struct Forward {
    pub target: Target,
    /// Family, `-w` as the connect timeout, `--proxy` for the outgoing leg.
    pub connect: ConnectOpts,
    pub proxy_protocol: Option<Version>,
    pub relay: RelayConfig,
    pub admission: Admission,
    /// The TLS client of a `tls://` target (its verification from `--forward-ca/-pin/-insecure`).
    pub origin: Option<tls::Client>,
}

impl Forward {
    /// Opens the outgoing leg: connected (through `--proxy` if given), and for a `tls://` target
    /// with the TLS handshake done (bounded by `-w`, else [`tls::HANDSHAKE_TIMEOUT`]) after the
    /// PROXY protocol header, which goes to the target in the clear, as haproxy's `send-proxy` with
    /// `ssl` sends it.
    ///
    /// `watch` is the client: its reset abandons the connect, a proxy's handshake or the TLS
    /// handshake at once (see [`ConnectOpts::watch`]; a name is still resolved in full).
    fn open(
        &self,
        header: Option<&[u8]>,
        who: &str,
        watch: Option<Arc<Socket>>,
    ) -> Result<Endpoint> {
        let opts = ConnectOpts {
            watch,
            ..self.connect.clone()
        };
        let sock = self.connect_target(header, &opts)?;
        let name = format!("to {}", self.target);
        match (&self.target, &self.origin) {
            (Target::Tls(hp), Some(client)) => {
                let timeout = self.connect.timeout.unwrap_or(tls::HANDSHAKE_TIMEOUT);
                let (stream, summary) =
                    client.handshake_watched(sock, &hp.host, Some(timeout), opts.watched())?;
                if self.admission.verbose {
                    crate::diag!("{who}: {name}: {}", summary.line());
                }
                Ok(Endpoint::tls(stream, self.admission.verbose))
            }
            (Target::Tls(_), None) => Err(anyhow!("no TLS client for a tls:// target")),
            _ => Ok(Endpoint::socket_named(sock, &name)),
        }
    }

    /// The target's connection (through `--proxy` if given), with the PROXY header sent.
    fn connect_target(&self, header: Option<&[u8]>, opts: &ConnectOpts) -> Result<Socket> {
        let sock = match &self.target {
            Target::Tcp(hp) | Target::Tls(hp) => connect(hp, opts, None)?.0,
            Target::Unix(path) => unix_connect(path, opts.timeout, opts.watched())?,
        };
        if let Some(header) = header {
            (&sock)
                .write_all(header)
                .context("send the PROXY protocol header")?;
        }
        Ok(sock)
    }

    /// The target's address when a client can be forwarded on the server's loop, with no step that
    /// blocks: no TLS to originate, no PROXY header to read, no proxy, the plain relay, and a target
    /// that is a literal IP address of an allowed family (no name to resolve). A `--tls` client's
    /// session is the caller's to check (the loop must have run its handshake).
    pub(crate) fn inline_addr(&self) -> Option<SocketAddr> {
        let plain = crate::net::server::pairs::suits(&self.relay);
        if self.admission.accept_proxy_protocol || !self.connect.proxies.is_empty() || !plain {
            return None;
        }
        let Target::Tcp(hp) = &self.target else {
            return None;
        };
        let ip: std::net::IpAddr = hp.host.parse().ok()?;
        let fits = match self.connect.family {
            crate::net::addr::Family::V4 => ip.is_ipv4(),
            crate::net::addr::Family::V6 => ip.is_ipv6(),
            _ => true,
        };
        let source_fits = self
            .connect
            .source
            .is_none_or(|s| s.is_ipv6() == ip.is_ipv6());
        (fits && source_fits).then(|| SocketAddr::new(ip, hp.port))
    }

    /// Starts forwarding `client` to `addr` (from [`Forward::inline_addr`]) on the server's loop:
    /// admission, then a non-blocking connect; the PROXY header goes first once it is connected.
    pub(crate) fn job(
        &self,
        client: Socket,
        peer: Option<SocketAddr>,
        addr: SocketAddr,
        done: Done,
    ) -> Result<Job, (Done, Socket, anyhow::Error)> {
        let addrs = match self.admission.admit(&client, peer) {
            Ok(a) => a,
            Err(e) => return Err((done, client, e)),
        };
        let what = format!("forward to {}", self.target);
        let sock = match start_attempt(&addr, &self.connect) {
            Ok(Ok((sock, _))) => sock,
            Ok(Err(e)) => {
                let e = anyhow::Error::new(e)
                    .context(format!("connect {}", display(&addr)))
                    .context(what);
                return Err((done, client, e));
            }
            Err(e) => return Err((done, client, e.context(what))),
        };
        let first = match self.proxy_protocol {
            Some(version) => proxy_protocol::encode(version, addrs.header(&client)),
            None => Vec::new(),
        };
        if self.admission.verbose {
            crate::diag!("forwarding {} to {}", addrs.shown(), self.target);
        }
        Ok(Job {
            client,
            tls: None,
            target: PairTarget::Connecting {
                sock,
                connect: Connecting {
                    addr,
                    deadline: self.connect.timeout.map(|t| Instant::now() + t),
                    timeout: self.connect.timeout,
                    what,
                    nodelay: self.connect.nodelay,
                    keepalive: self.connect.keepalive,
                },
            },
            labels: ["client".into(), format!("to {}", self.target).into()],
            first,
            idle: self.relay.idle_timeout,
            done,
        })
    }

    /// Serves one client: admission, the TLS handshake under `listen --tls` (TLS termination; bounded
    /// by `-i`, else [`tls::HANDSHAKE_TIMEOUT`]), the target's connection, the PROXY header, then
    /// the relay. `dest` hears the target's name once the client is admitted (for `--events`).
    ///
    /// `pairs`, when given, takes a plain client (no TLS either side) once its target is connected,
    /// to relay the two on the server's loop instead of this thread ([`crate::net::server::pairs`]):
    /// client, target, the target's label, the client's name as admitted. This thread then only
    /// opened the target (a name to resolve, a proxy, a PROXY header to read first).
    pub(crate) fn serve(
        &self,
        client: Socket,
        peer: Option<SocketAddr>,
        dest: &dyn Fn(&str),
        tls: Option<&tls::Server>,
        pairs: Option<&mut dyn FnMut(Socket, PairTarget, String, String)>,
    ) -> Result<()> {
        let started = Instant::now();
        // The server may have set a read timeout for `-i`; the relay keeps its own idle clock.
        client.set_nonblocking(false)?;
        client.set_read_timeout(None)?;
        let addrs = self.admission.admit(&client, peer)?;
        // Named before the connect, so a target that cannot be reached has its name in the event.
        dest(&self.target.to_string());
        let header = self
            .proxy_protocol
            .map(|version| proxy_protocol::encode(version, addrs.header(&client)));
        // The client, watched while its target is opened: a reset frees its place at once.
        let watch = client.try_clone().ok().map(Arc::new);
        if let Some(hand_over) = pairs
            && tls.is_none()
            && self.opens_then_pairs()
        {
            let opts = ConnectOpts {
                watch: watch.clone(),
                ..self.connect.clone()
            };
            let target = match self.open_for_loop(header.as_deref(), &opts, &addrs.shown()) {
                Ok(target) => target,
                Err(e) => return Err(self.open_failed(e, watch.as_deref())),
            };
            // The loop holds the client's one descriptor from here.
            drop((opts, watch));
            if self.admission.verbose {
                crate::diag!("forwarding {} to {}", addrs.shown(), self.target);
            }
            hand_over(client, target, format!("to {}", self.target), addrs.shown());
            return Ok(());
        }
        let client = match tls {
            Some(server) => {
                let timeout = self.relay.idle_timeout.unwrap_or(tls::HANDSHAKE_TIMEOUT);
                let (stream, summary) = server
                    .handshake(client, Some(timeout))
                    .with_context(|| format!("client {}", addrs.shown()))?;
                if self.admission.verbose {
                    crate::diag!("{}: {}", addrs.shown(), summary.line());
                }
                Endpoint::tls(stream, self.admission.verbose)
            }
            None => Endpoint::socket_named(client, "client"),
        };
        let target = match self.open(header.as_deref(), &addrs.shown(), watch.clone()) {
            Ok(target) => target,
            Err(e) => return Err(self.open_failed(e, watch.as_deref())),
        };
        // Its copy of the client's descriptor is not held through the relay: one descriptor per
        // client, not two, and the client's end is the relay's alone to close.
        drop(watch);
        if self.admission.verbose {
            crate::diag!("forwarding {} to {}", addrs.shown(), self.target);
        }
        // Each end's errors name it: a client that went away is not the target's fault.
        let result = join(client, target, &self.relay);
        if self.admission.verbose && result.is_ok() {
            crate::diag!(
                "{} done after {:.3} s",
                addrs.shown(),
                started.elapsed().as_secs_f64()
            );
        }
        result
    }

    /// Whether a client's target can be opened on a thread of its own and the pair then relayed on the
    /// loop (`--forward` to a name, through `--proxy`): the plain relay, and no TLS to originate.
    pub(crate) fn opens_then_pairs(&self) -> bool {
        crate::net::server::pairs::suits(&self.relay)
            && (self.origin.is_some() || !matches!(self.target, Target::Tls(_)))
    }

    /// Opens the target for a pair on the server's loop (blocking: on a thread of its own): the
    /// connection with the PROXY header sent, and for a `tls://` target the TLS handshake done
    /// (bounded by `-w`, else [`tls::HANDSHAKE_TIMEOUT`]), its session handed to the loop.
    /// `shown`: the client, for the `-v` line of the target's handshake.
    pub(crate) fn open_for_loop(
        &self,
        header: Option<&[u8]>,
        opts: &ConnectOpts,
        shown: &str,
    ) -> Result<PairTarget> {
        let sock = self.connect_target(header, opts)?;
        let (Target::Tls(hp), Some(client)) = (&self.target, &self.origin) else {
            return Ok(PairTarget::Connected(sock));
        };
        let timeout = self.connect.timeout.unwrap_or(tls::HANDSHAKE_TIMEOUT);
        let verbose = self.admission.verbose;
        let (sock, session, summary) =
            client.handshake_looped(sock, &hp.host, Some(timeout), opts.watched(), verbose)?;
        if verbose {
            crate::diag!("{shown}: to {}: {}", self.target, summary.line());
        }
        Ok(PairTarget::Secured(sock, Box::new(session)))
    }

    /// Why a client ends when its target could not be opened (`e`): the client itself, if it went
    /// away meanwhile (`watch`), else the target's failure.
    fn open_failed(&self, e: anyhow::Error, watch: Option<&Socket>) -> anyhow::Error {
        if watch.is_some_and(|w| poll::hung_up(w.as_fd())) {
            let why = watch
                .and_then(|w| w.take_error().ok().flatten())
                .unwrap_or_else(|| std::io::ErrorKind::ConnectionReset.into());
            return recv_error(why).context("client");
        }
        e.context(format!("forward to {}", self.target))
    }
}

/// The front of a `--tls` client forwarded on the loop to a target that takes a blocking open (a
/// name to look up, `--proxy`): the loop's pairs run it as a proxy client's handshake that asks for
/// nothing, opening the target on a thread at once ([`Greet::Open`]); what the client sent meanwhile
/// goes to the target first.
pub(crate) struct Opening {
    fwd: Arc<Forward>,
    /// The PROXY protocol header for the target, if asked for.
    header: Option<Vec<u8>>,
    /// The client's name as admitted (the `-v` line).
    shown: String,
    /// What the client sent before the open began.
    first: Vec<u8>,
    started: bool,
}

impl Opening {
    /// `header`: the PROXY protocol header for the target; `shown`: the client as admitted.
    pub(crate) fn new(fwd: Arc<Forward>, header: Option<Vec<u8>>, shown: String) -> Opening {
        Opening {
            fwd,
            header,
            shown,
            first: Vec::new(),
            started: false,
        }
    }

    /// How long the client's record may wait for the open: `-w` bounds the open itself (and a
    /// second more for its answer to reach the loop); without `-w`, a day.
    pub(crate) fn within(&self) -> Duration {
        match self.fwd.connect.timeout {
            Some(t) => t + Duration::from_secs(1),
            None => Duration::from_secs(24 * 3600),
        }
    }
}

impl Front for Opening {
    fn input(&mut self, input: &[u8], _eof: bool, _out: &mut Vec<u8>) -> Greet {
        if self.started {
            return Greet::More;
        }
        self.started = true;
        self.first = input.to_vec();
        let (fwd, header, shown) = (self.fwd.clone(), self.header.take(), self.shown.clone());
        Greet::Open(Box::new(move || {
            fwd.open_for_loop(header.as_deref(), &fwd.connect, &shown)
                .map_err(|e| e.context(format!("forward to {}", fwd.target)))
        }))
    }

    fn connected(&mut self, result: Result<&Socket>) -> Connected {
        match result {
            Ok(_) => {
                if self.fwd.admission.verbose {
                    crate::diag!("forwarding {} to {}", self.shown, self.fwd.target);
                }
                let label = format!("to {}", self.fwd.target).into();
                (Vec::new(), Ok((std::mem::take(&mut self.first), label)))
            }
            Err(e) => (Vec::new(), Err(e)),
        }
    }

    fn timed_out(&self) -> anyhow::Error {
        exit::timeout(format!(
            "forward to {}: not open within {}",
            self.fwd.target,
            humantime::format_duration(self.within())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{USAGE, status_of};

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("127.0.0.1:80").unwrap(),
            Target::Tcp(HostPort {
                host: "127.0.0.1".into(),
                port: 80
            })
        );
        assert_eq!(
            parse_target("tcp://[::1]:8080").unwrap().to_string(),
            "[::1]:8080"
        );
        assert_eq!(
            parse_target("unix:/run/x.sock").unwrap(),
            Target::Unix("/run/x.sock".into())
        );
        assert_eq!(
            parse_target("tls://localhost:443").unwrap().to_string(),
            "tls://localhost:443"
        );
        for bad in [
            "",
            "host",
            "unix:",
            "udp://h:1",
            "h:0",
            "h:99999",
            "tls://h",
            "tls://unix:/x",
            "tls://tcp://h:1",
        ] {
            assert_eq!(status_of(&parse_target(bad).unwrap_err()), USAGE, "{bad}");
        }
    }
}
