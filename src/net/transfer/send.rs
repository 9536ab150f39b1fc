//! The sending side: a byte range of a file with sendfile(2) (read/write where the kernel has none, and
//! under TLS), then the half-close and the wait until the receiver has everything; with `--verify`
//! the header, the digest (hashed by a second reader alongside) and the receiver's answer.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::{ANSWER_WAIT, BUF, CHUNK, Range};
use crate::exit;
use crate::net::stream;
use crate::net::transfer::verify::{self, DIGEST_LEN, Digest, Hasher, Header};
use crate::net::transfer::watchdog::{Watchdog, idle_message};
use crate::net::transfer::wire::Wire;
use crate::sys::mmap::{self, Window};
use crate::sys::{fs as sysfs, poll, zerocopy as sys};

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

/// What a sender whose file shrank under it says (also from the SIGBUS guard, hence a whole line).
const SHRANK: &str = "sockcat: error: the file shrank while it was being sent\n";

/// Bytes of the file mapped and hashed at a time.
const WINDOW: usize = 32 << 20;

/// The digest of `range` of `file`, read independently of what sendfile sends: where it lies in the
/// page cache, through read-only mappings of [`WINDOW`] bytes (no copy into a buffer), or by
/// pread where the file cannot be mapped.
fn hash_range(file: &File, range: Range, digest: Digest) -> Result<[u8; DIGEST_LEN]> {
    let mut hasher = digest.hasher();
    let end = range.offset + range.count;
    let page = mmap::page_size() as u64;
    let mut offset = range.offset;
    // SHA-256 (one block after another) stalls on every page of a mapping it reads from memory
    // (1 GiB: 1.0-1.3 s of CPU against 0.6 s reading copies in L2), BLAKE3 (16 chunks at once)
    // does not: only BLAKE3 hashes in place.
    let in_place = digest == Digest::Blake3;
    while in_place && offset < end {
        let start = offset - offset % page;
        let len = (end - start).min(WINDOW as u64) as usize;
        let Ok(window) = Window::of(file, start, len) else {
            break;
        };
        loop {
            match window.populate() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::EFAULT) => {
                    bail!("the file shrank while it was being sent")
                }
                Err(e) => return Err(anyhow!(e).context("read the file to hash it")),
            }
        }
        let skip = (offset - start) as usize;
        window.read(SHRANK, |bytes| hasher.update(&bytes[skip..]));
        offset = start + len as u64;
    }
    read_hash(file, offset, end, hasher)
}

/// The rest of [`hash_range`] (from `offset` to `end`) through a buffer.
fn read_hash(
    file: &File,
    mut offset: u64,
    end: u64,
    mut hasher: Hasher,
) -> Result<[u8; DIGEST_LEN]> {
    let mut buf = vec![0u8; (end - offset).min(1 << 20) as usize];
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
