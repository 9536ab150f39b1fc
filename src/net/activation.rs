//! `listen --systemd` and `udp-recv --systemd`: the socket comes from systemd's socket activation
//! (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES; see sd_listen_fds(3)) instead of being bound here.
//!
//! The first passed socket of the kind the subcommand serves (a listening stream socket for listen, a
//! datagram socket for udp-recv) is used; other passed descriptors are closed. Without activation,
//! or without such a socket, it is a usage error (status 2). The variables are removed from the
//! environment, so `-e`/`-c` children do not see them.

use anyhow::Result;
use socket2::{Domain, Socket, Type};

use crate::exit::usage;
use crate::net::socket::describe_sockaddr;

/// The activated socket of type `ty`, and how it is shown (`ADDR:PORT`, a path, or its name).
pub(crate) fn socket(ty: Type) -> Result<(Socket, String)> {
    let passed = crate::sys::activation::take().map_err(|why| {
        usage(format!(
            "--systemd: no socket passed by socket activation: {why}"
        ))
    })?;
    let mut kinds = Vec::new();
    for p in passed {
        let sock = Socket::from(p.fd);
        let (Ok(domain), Ok(kind)) = (sock.domain(), sock.r#type()) else {
            kinds.push(format!("{} (not a socket)", p.name));
            continue;
        };
        if kind != ty {
            kinds.push(format!("{} ({kind:?})", p.name));
            continue;
        }
        if ty == Type::STREAM && !sock.is_listener().unwrap_or(false) {
            // A stream socket that is not listening yet (systemd's Accept=no always passes one
            // listening): listen on it.
            sock.listen(crate::net::socket::somaxconn())
                .map_err(|e| usage(format!("--systemd: listen on {}: {e}", p.name)))?;
        }
        let shown = match sock.local_addr() {
            Ok(addr) if domain == Domain::UNIX && addr.is_unnamed() => p.name,
            Ok(addr) => describe_sockaddr(&addr),
            Err(_) => p.name,
        };
        return Ok((sock, shown));
    }
    Err(usage(format!(
        "--systemd: no {} socket among the passed ones: {}",
        if ty == Type::STREAM {
            "stream"
        } else {
            "datagram"
        },
        kinds.join(", ")
    )))
}
