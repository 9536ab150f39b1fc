//! Batched sends (sendmmsg, UDP GSO) that lose datagrams, never the relay.

use std::io;

use socket2::{SockAddr, Socket};

use crate::sys::mmsg::{self, Dest, Local, Source};

/// Sends `payloads` on the connected `sock`: (datagrams sent, their bytes, datagrams lost). UDP is
/// lossy: a refusal (an ICMP error queued for an earlier datagram, reported on one send and then
/// cleared, so the datagram is tried again once) or a full queue loses datagrams, never the relay.
pub(super) fn send_all(sock: &Socket, payloads: &[&[u8]], gso: &mut bool) -> (usize, usize, usize) {
    send_batch(sock, payloads, Dest::Connected, Source::Default, gso)
}

/// Sends `payloads` from the listening socket to one client, from `local` (the address it sent to).
pub(super) fn send_to_client(
    sock: &Socket,
    payloads: &[&[u8]],
    to: &SockAddr,
    local: Option<Local>,
    gso: &mut bool,
) -> (usize, usize, usize) {
    let src = local.map_or(Source::Default, Source::All);
    send_batch(sock, payloads, Dest::All(to), src, gso)
}

fn send_batch(
    sock: &Socket,
    payloads: &[&[u8]],
    dest: Dest<'_>,
    src: Source<'_>,
    gso: &mut bool,
) -> (usize, usize, usize) {
    let (mut done, mut bytes, mut dropped, mut refused) = (0, 0, 0, 0);
    let mut retried = false;
    while done < payloads.len() {
        match mmsg::send_batch_from(sock, &payloads[done..], dest, src, *gso) {
            Ok(k) => {
                bytes += payloads[done..done + k]
                    .iter()
                    .map(|p| p.len())
                    .sum::<usize>();
                done += k;
                retried = false;
            }
            Err(e) if *gso && super::send::gso_refused(&e) => *gso = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && !retried => {
                // The refusal of an earlier datagram, reported now and cleared: try this one again.
                refused += 1;
                retried = true;
            }
            Err(_) => {
                // This one cannot go (refused again, a full queue): drop it and go on.
                dropped += 1;
                done += 1;
                retried = false;
            }
        }
    }
    (done - dropped, bytes, dropped + refused)
}
