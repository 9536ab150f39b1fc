//! The receiving side: until the sender closes (zero-copy where the kernel allows), or with
//! `--verify` exactly the announced bytes, hashed as they land (in place in a fresh file, or through
//! a second thread), and the answer to the sender.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::sync::mpsc;

use anyhow::{Result, anyhow, bail};
use socket2::Socket;

use super::BUF;
use crate::exit;
use crate::net::stream::recv_error;
use crate::net::stream::zerocopy::{self, Flow};
use crate::net::transfer::verify::{self, DIGEST_LEN, Digest, Header};
use crate::net::transfer::wire::Wire;
use crate::sys::mmap::Mapping;
use crate::sys::zerocopy as sys;

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

/// Bytes kept in memory (the fuzz target's receiver).
impl Out for Vec<u8> {}

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

/// Bytes per read (and per buffer handed to the hashing thread) on the `--verify` path through user
/// space: a few large reads cost the receiver less than many small ones (1 GiB to /dev/null: about
/// 0.55 s of CPU with 2-4 MiB reads, 0.7-0.9 s with 256 KiB ones), and each still fits the L2
/// cache the hashing thread reads it from.
const HASHED_BUF: usize = 2 << 20;

/// Receives exactly `size` bytes into `out`, hashing them. The socket is read on this thread while a
/// second one hashes and writes, [`DEPTH`] buffers of [`HASHED_BUF`] apart, so hashing and
/// receiving overlap.
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
        let _ = empty_tx.send(vec![0u8; HASHED_BUF]);
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
                let want = left.min(HASHED_BUF as u64) as usize;
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
