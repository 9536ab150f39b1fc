//! `sendfile`'s network side: send a byte range of a file with sendfile(2) (read/write where the kernel
//! has none), half-close and wait until the peer has acknowledged every byte; receive into a file by
//! splice; and the `--verify` exchange of [`crate::net::transfer::verify`] on both sides. Under
//! `--tls` the same steps run on the TLS session ([`wire::Wire`]), through a buffer.

pub(crate) mod dest;
pub(crate) mod staged;
pub(crate) mod verify;
pub(crate) mod watchdog;
pub(crate) mod wire;

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use socket2::Socket;

use crate::exit;
use crate::net::stream::zerocopy::{self, Flow};
use crate::net::stream::{self, recv_error};
use crate::net::transfer::verify::{DIGEST_LEN, Digest, Header};
use crate::net::transfer::watchdog::{Watchdog, idle_message};
use crate::net::transfer::wire::Wire;
use crate::sys::mmap::Mapping;
use crate::sys::{fs as sysfs, poll, zerocopy as sys};

/// Without `-i`, how long a `--verify` sender waits for the receiver's answer once nothing moves
/// any more (every byte acknowledged, or the receiver no longer reading).
pub(crate) const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// Bytes per sendfile call and per buffer on the read/write paths.
const CHUNK: usize = 4 << 20;
const BUF: usize = 256 * 1024;

/// A part of a file: `count` bytes from `offset`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub offset: u64,
    pub count: u64,
}

fn send_error(err: io::Error, sent: u64, total: u64) -> anyhow::Error {
    if stream::peer_gone(&err) {
        anyhow!(
            "the receiver closed the connection after {sent} of {total} bytes: {}",
            exit::describe_io(&err)
        )
    } else {
        anyhow!(err).context(format!("send (after {sent} of {total} bytes)"))
    }
}

/// Sends `range` of `file` on `wire` (sendfile on a plain socket), calling `moved` as bytes go out.
pub(crate) fn send_range(
    wire: &mut Wire,
    file: &File,
    range: Range,
    moved: &dyn Fn(u64),
) -> Result<()> {
    let Some(sock) = wire.plain() else {
        return copy_range(wire, file, range.offset, range, moved);
    };
    let mut offset = range.offset as i64;
    let end = range.offset + range.count;
    let sent = |offset: i64| offset as u64 - range.offset;
    while (offset as u64) < end {
        let want = (end - offset as u64).min(CHUNK as u64) as usize;
        match sys::sendfile_at(sock.as_fd(), file.as_fd(), &mut offset, want) {
            Ok(0) => bail!(
                "the file ended after {} of {} bytes (did it shrink?)",
                sent(offset),
                range.count
            ),
            Ok(n) => moved(n as u64),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
                ) =>
            {
                return copy_range(&mut &*sock, file, offset as u64, range, moved);
            }
            Err(e) => return Err(send_error(e, sent(offset), range.count)),
        }
    }
    Ok(())
}

/// The read/write stand-in for sendfile (and the way under TLS): `range` from `offset` on.
fn copy_range(
    sock: &mut impl Write,
    file: &File,
    mut offset: u64,
    range: Range,
    moved: &dyn Fn(u64),
) -> Result<()> {
    let end = range.offset + range.count;
    let mut buf = vec![0u8; BUF];
    while offset < end {
        let want = (end - offset).min(BUF as u64) as usize;
        let n = match file.read_at(&mut buf[..want], offset) {
            Ok(0) => bail!(
                "the file ended after {} of {} bytes (did it shrink?)",
                offset - range.offset,
                range.count
            ),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(anyhow!(e).context("read the file")),
        };
        sock.write_all(&buf[..n])
            .map_err(|e| send_error(e, offset - range.offset, range.count))?;
        offset += n as u64;
        moved(n as u64);
    }
    Ok(())
}

/// Half-closes `wire` (close_notify first under TLS) and waits until the peer's TCP has acknowledged
/// every byte (or the peer closed after reading them). Bytes the peer sends meanwhile are dropped.
pub(crate) fn finish_sending(wire: &mut Wire) -> Result<()> {
    wire.finish()
        .map_err(|e| anyhow!(e).context("shut down the sending side"))?;
    if wire.plain().is_none() {
        return finish_tls(wire);
    }
    let sock = wire.socket();
    let mut pause = Duration::from_millis(1);
    let mut sink = [0u8; 4096];
    loop {
        match sysfs::unacknowledged(sock.as_fd()) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            // Not TCP (a Unix socket): the peer holds the bytes once they are written.
            Err(_) => return Ok(()),
        }
        let ready = poll::poll(&[(sock.as_fd(), poll::READABLE)], Some(pause))
            .map_err(|e| anyhow!(e).context("poll"))?;
        if ready[0] != 0 {
            match (&*sock).read(&mut sink) {
                Ok(0) => {
                    // The peer closed after our FIN; its TCP acknowledged everything before that.
                    return Ok(());
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(stream::recv_error_before(
                        e,
                        "receive",
                        "it acknowledged every byte",
                    ));
                }
            }
        }
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// [`finish_sending`] under TLS: the receiver's answer to our close_notify (its own, or a FIN) is
/// read through the session, so that an alert it sent instead (a client certificate it refused) is
/// the failure it is, not bytes dropped. A receiver that keeps its side open is done once its TCP
/// has acknowledged every byte and [`ANSWER_WAIT`] has passed.
fn finish_tls(wire: &mut Wire) -> Result<()> {
    let sock = wire
        .socket()
        .try_clone()
        .map_err(|e| anyhow!(e).context("duplicate the socket"))?;
    let _ = sock.set_read_timeout(Some(ANSWER_WAIT));
    let mut sink = [0u8; 4096];
    loop {
        match wire.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return match sysfs::unacknowledged(sock.as_fd()) {
                    Ok(0) | Err(_) => Ok(()),
                    Ok(n) => Err(exit::timeout(format!(
                        "{n} bytes still unacknowledged by the receiver after {}",
                        humantime::format_duration(ANSWER_WAIT)
                    ))),
                };
            }
            Err(e) => {
                return Err(stream::recv_error_before(
                    e,
                    "receive",
                    "it closed its side",
                ));
            }
        }
    }
}

/// The digest of `range` of `file`, read independently of what sendfile sends.
fn hash_range(file: &File, range: Range, digest: Digest) -> Result<[u8; DIGEST_LEN]> {
    let mut hasher = digest.hasher();
    let mut buf = vec![0u8; 1 << 20];
    let mut offset = range.offset;
    let end = range.offset + range.count;
    while offset < end {
        let want = (end - offset).min(buf.len() as u64) as usize;
        match file.read_at(&mut buf[..want], offset) {
            Ok(0) => bail!("the file shrank while it was being sent"),
            Ok(n) => {
                hasher.update(&buf[..n]);
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(anyhow!(e).context("read the file to hash it")),
        }
    }
    Ok(hasher.finalize())
}

/// The whole sending side: `range` of `file`, then the wait until the receiver's TCP acknowledged
/// every byte (plain) or for the receiver's answer (`verify`: the name to announce and the digest,
/// whose value is returned). `idle` (`-i`) bounds every wait: any byte moved resets it; expiry is
/// status 3.
pub(crate) fn send(
    wire: &mut Wire,
    file: &File,
    range: Range,
    verify: Option<(&[u8], Digest)>,
    idle: Option<Duration>,
    moved: &dyn Fn(u64),
) -> Result<Option<[u8; DIGEST_LEN]>> {
    let dog = match (idle, verify) {
        (None, None) => Watchdog::off(),
        _ => Watchdog::start(wire.socket(), idle)?,
    };
    let moved = |n: u64| {
        dog.touch();
        moved(n);
    };
    let result = match verify {
        Some(verify) => send_verified(wire, file, range, verify, &moved, &dog, idle).map(Some),
        None => send_range(wire, file, range, &moved)
            .and_then(|()| finish_sending(wire))
            .map(|()| None),
    };
    dog.check(result)
}

/// `--verify` sending: header, the bytes (sendfile, hashed alongside by a second reader), the digest,
/// a half-close, then the receiver's answer, waited for until nothing moved for `idle` (or
/// [`ANSWER_WAIT`]).
fn send_verified(
    wire: &mut Wire,
    file: &File,
    range: Range,
    (name, digest): (&[u8], Digest),
    moved: &dyn Fn(u64),
    dog: &Watchdog,
    idle: Option<Duration>,
) -> Result<[u8; DIGEST_LEN]> {
    let header = Header {
        digest,
        name: name.to_vec(),
        size: range.count,
    };
    let sent = (|| -> Result<[u8; DIGEST_LEN]> {
        wire.write_all(&header.encode())
            .map_err(|e| send_error(e, 0, range.count))?;
        let value = std::thread::scope(|s| -> Result<[u8; DIGEST_LEN]> {
            let hasher = s.spawn(|| hash_range(file, range, digest));
            let sent = send_range(wire, file, range, moved);
            let digest = hasher
                .join()
                .unwrap_or_else(|_| Err(anyhow!("the hashing thread failed")));
            sent?;
            digest
        })?;
        wire.write_all(&value)
            .map_err(|e| send_error(e, range.count, range.count))?;
        Ok(value)
    })();
    let value = match sent {
        Ok(value) => value,
        Err(e) => {
            // A receiver that refused the file said why before it closed: prefer its reason.
            let _ = wire.socket().set_read_timeout(Some(Duration::from_secs(1)));
            return match verify::read_reply(wire) {
                Err(why) if why.to_string().starts_with("the receiver refused") => Err(why),
                _ => Err(e),
            };
        }
    };
    let _ = wire.finish();
    let (limit, why) = match idle {
        Some(limit) => (limit, idle_message(limit)),
        None => (
            ANSWER_WAIT,
            format!(
                "the receiver did not answer within {} after the last byte moved",
                humantime::format_duration(ANSWER_WAIT)
            ),
        ),
    };
    dog.set_limit(limit, why);
    verify::read_reply(wire)?;
    Ok(value)
}

/// Receives until the peer closes, into `out` (zero-copy where the kernel allows). Returns the count.
/// `watched`: a progress bar shows the counts `moved` hears of (see [`zerocopy::copy`]). Under TLS
/// a sender that closes TCP without close_notify (`ncat --ssl` does) gets its bytes written all the
/// same, with a warning on stderr: nothing shows that the end was the sender's.
pub(crate) fn receive_plain(
    wire: &mut Wire,
    out: &File,
    name: &str,
    moved: &dyn Fn(u64),
    watched: bool,
) -> Result<u64> {
    let total = std::cell::Cell::new(0u64);
    let count = |n: u64| {
        total.set(total.get() + n);
        moved(n);
    };
    let read_err = |e: io::Error| recv_error(e);
    let write_err = |e: io::Error| exit::output_error(e, name);
    let errors = zerocopy::Errors {
        read: &read_err,
        write: &write_err,
    };
    let fallback = match wire.plain() {
        Some(sock) => {
            zerocopy::copy(sock.as_fd(), out.as_fd(), &count, &errors, watched)? == Flow::Fallback
        }
        None => true,
    };
    if fallback {
        let mut buf = vec![0u8; BUF];
        loop {
            let n = match wire.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(recv_error(e)),
            };
            (&*out).write_all(&buf[..n]).map_err(write_err)?;
            count(n as u64);
        }
    }
    if wire.unclean_eof() {
        // As ncat and socat take it (and `ncat --ssl` senders do this): the bytes stand, but say that
        // nothing vouches for their end.
        crate::diag!(
            "sockcat: warning: the sender closed the connection without TLS close_notify after {} bytes: \
             nothing shows the file is complete (--verify would)",
            total.get()
        );
    }
    if wire.plain().is_none() {
        // Our close_notify answers the sender's.
        let _ = wire.finish();
    }
    Ok(total.get())
}

/// `--verify` receiving, up to the check: reads the header, refuses a digest other than `accept`
/// (None: any this sockcat knows), lets `open` decide where the bytes go (it sees the header first,
/// to refuse a bad name or a size that does not fit), receives exactly `size` bytes while hashing
/// them, and compares the digests. On any failure the sender is told why. The caller puts the file in
/// place and then answers with [`answer`].
pub(crate) fn receive_verified<W: Out>(
    wire: &mut Wire,
    open: impl FnOnce(&Header) -> Result<W>,
    name: &str,
    accept: Option<Digest>,
    moved: &dyn Fn(u64),
) -> Result<(Header, W, [u8; DIGEST_LEN])> {
    let result = (|| {
        let header = Header::read_from(wire)?;
        if let Some(wanted) = accept
            && header.digest != wanted
        {
            bail!(
                "the sender checks with {}, this receiver accepts only {} (--verify={}; plain --verify accepts either)",
                header.digest.name(),
                wanted.name(),
                wanted.name()
            );
        }
        let out = open(&header)?;
        let (ours, out) = match (out.own_file(), wire.plain()) {
            (Some(file), Some(sock)) => {
                let ours = receive_in_place(sock, file, header.size, header.digest, name, moved)?;
                (ours, out)
            }
            _ => receive_hashed(wire, header.size, header.digest, out, name, moved)?,
        };
        let theirs = verify::read_digest(wire)?;
        if theirs != ours {
            bail!(
                "{} mismatch: received {}, sender says {}",
                header.digest.label(),
                hex::encode(ours),
                hex::encode(theirs)
            );
        }
        Ok((header, out, ours))
    })();
    if let Err(e) = &result {
        answer(wire, &Err(anyhow!("{}", exit::render(e))));
    }
    result
}

/// Where a `--verify` receiver writes: any writer, which may have a fresh file of its own.
pub(crate) trait Out: Write + Send {
    /// A regular file that only this process holds, empty so far: the bytes are then spliced into
    /// it and hashed in place ([`receive_in_place`]).
    fn own_file(&self) -> Option<&File> {
        None
    }
}

/// Receives exactly `size` bytes into `file` (fresh, ours alone) without copying them through user
/// space: splice(2) moves them from the socket through a private pipe into the page cache, and a
/// second thread hashes each part where it lies, through a read-only mapping of the file, as soon as
/// it is written. One copy of the bytes in all (the kernel's, into the page cache) instead of three
/// (into a buffer, into the page cache, and the hash's read).
fn receive_in_place(
    sock: &Socket,
    file: &File,
    size: u64,
    digest: Digest,
    name: &str,
    moved: &dyn Fn(u64),
) -> Result<[u8; DIGEST_LEN]> {
    let stopped = |got: usize| anyhow!("the sender stopped after {got} of {size} bytes");
    let Ok(len) = usize::try_from(size) else {
        bail!("the file ({size} bytes) is too large to map");
    };
    if len == 0 {
        return Ok(digest.hasher().finalize());
    }
    let map = Mapping::of(file, len).map_err(|e| anyhow!(e).context("map the received file"))?;
    let (r, w) = sys::pipe().map_err(|e| anyhow!(e).context("pipe"))?;
    let chunk = sys::set_pipe_size(w.as_fd(), zerocopy::PIPE_SIZE).unwrap_or(64 * 1024);
    // How far the file is written: the hasher follows these marks.
    let (marks, written_to) = mpsc::sync_channel::<usize>(64);
    std::thread::scope(|s| {
        let map = &map;
        let hasher = s.spawn(move || {
            let mut hasher = digest.hasher();
            let mut done = 0;
            for upto in written_to {
                hasher.update(map.bytes(done, upto));
                done = upto;
            }
            hasher.finalize()
        });
        let mut written = 0usize;
        let received = (|| -> Result<()> {
            while written < len {
                let want = (len - written).min(chunk);
                let n = match sys::splice(sock.as_fd(), w.as_fd(), want) {
                    Ok(0) => return Err(stopped(written)),
                    Ok(n) => n,
                    Err(e) => return Err(recv_error(e)),
                };
                let mut left = n;
                while left > 0 {
                    match sys::splice(r.as_fd(), file.as_fd(), left) {
                        Ok(0) => {
                            let e = io::Error::from(io::ErrorKind::WriteZero);
                            return Err(exit::output_error(e, name));
                        }
                        Ok(m) => left -= m,
                        Err(e) => return Err(exit::output_error(e, name)),
                    }
                }
                written += n;
                moved(n as u64);
                if marks.send(written).is_err() {
                    bail!("the hashing thread failed");
                }
            }
            Ok(())
        })();
        drop(marks);
        let value = hasher
            .join()
            .map_err(|_| anyhow!("the hashing thread failed"))?;
        received?;
        Ok(value)
    })
}

/// Receives exactly `size` bytes into `out`, hashing them. The socket is read on this thread while a
/// second one hashes and writes, [`DEPTH`] buffers apart, so hashing and receiving overlap.
fn receive_hashed<W: Write + Send>(
    wire: &mut Wire,
    size: u64,
    digest: Digest,
    mut out: W,
    name: &str,
    moved: &dyn Fn(u64),
) -> Result<([u8; DIGEST_LEN], W)> {
    const DEPTH: usize = 4;
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(DEPTH);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..DEPTH {
        let _ = empty_tx.send(vec![0u8; BUF]);
    }
    std::thread::scope(|s| {
        let worker = s.spawn(move || -> Result<([u8; DIGEST_LEN], W)> {
            let mut hasher = digest.hasher();
            for (buf, n) in full_rx {
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])
                    .map_err(|e| exit::output_error(e, name))?;
                let _ = empty_tx.send(buf);
            }
            out.flush().map_err(|e| exit::output_error(e, name))?;
            Ok((hasher.finalize(), out))
        });
        let mut left = size;
        let read = (|| -> Result<()> {
            while left > 0 {
                // The worker hung up: it failed, and says why when joined.
                let Ok(mut buf) = empty_rx.recv() else {
                    return Ok(());
                };
                let want = left.min(BUF as u64) as usize;
                let n = loop {
                    match wire.read(&mut buf[..want]) {
                        Ok(0) => {
                            bail!("the sender stopped after {} of {} bytes", size - left, size)
                        }
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(recv_error(e)),
                    }
                };
                left -= n as u64;
                moved(n as u64);
                if full_tx.send((buf, n)).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        })();
        drop(full_tx);
        let written = worker
            .join()
            .unwrap_or_else(|_| Err(anyhow!("the hashing thread failed")));
        read?;
        written
    })
}

/// Tells a `--verify` sender how it went, then closes our side.
pub(crate) fn answer(wire: &mut Wire, outcome: &Result<()>) {
    let _ = verify::write_reply(wire, outcome);
    let _ = wire.finish();
}
