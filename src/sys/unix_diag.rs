//! Is a Unix socket file in use? Asked of the kernel (sock_diag netlink, UNIX_DIAG with the bound
//! file's inode) rather than by connecting to it: a probe connection would be accepted by a live
//! one-shot listener as its one client. Linux only; elsewhere, or when the kernel has no unix_diag,
//! the answer is "cannot tell".

use std::io::{self, Read};

use socket2::{Domain, Protocol, Socket, Type};

const NETLINK_SOCK_DIAG: i32 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const UDIAG_SHOW_VFS: u32 = 0x2;
const UNIX_DIAG_VFS: u16 = 1;
/// The header of every netlink message (struct nlmsghdr).
const NLMSG_HDR: usize = 16;
/// struct unix_diag_msg, before the attributes.
const UNIX_DIAG_MSG: usize = 16;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The kernel's dev_t (MKDEV: major << 20 | minor) of a file system as userspace's (st_dev) major
/// and minor.
fn user_dev(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

/// Is some Unix socket (of any type, listening or only bound) bound to the file with device `dev` and
/// inode `ino` (as `stat` gives them)? Err when the kernel cannot be asked.
pub(crate) fn socket_file_in_use(dev: u64, ino: u64) -> io::Result<bool> {
    let mut sock = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM,
        Some(Protocol::from(NETLINK_SOCK_DIAG)),
    )?;
    let mut req = Vec::with_capacity(NLMSG_HDR + 24);
    req.extend_from_slice(&((NLMSG_HDR + 24) as u32).to_ne_bytes());
    req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    req.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    req.push(libc::AF_UNIX as u8);
    req.push(0); // protocol
    req.extend_from_slice(&0u16.to_ne_bytes());
    req.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    req.extend_from_slice(&0u32.to_ne_bytes()); // every socket inode
    req.extend_from_slice(&UDIAG_SHOW_VFS.to_ne_bytes());
    req.extend_from_slice(&[0xff; 8]); // no cookie
    sock.send(&req)?;
    let (want_major, want_minor) = user_dev(dev);
    let mut buf = vec![0u8; 64 * 1024];
    let mut found = false;
    loop {
        let n = sock.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        let data = &buf[..n];
        let mut off = 0;
        while off + NLMSG_HDR <= n {
            let (Some(len), Some(kind)) = (u32_at(data, off), u16_at(data, off + 4)) else {
                break;
            };
            let len = len as usize;
            if len < NLMSG_HDR || off + len > n {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad netlink reply",
                ));
            }
            match kind {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR => {
                    let errno = u32_at(data, off + NLMSG_HDR).unwrap_or(0) as i32;
                    return Err(io::Error::from_raw_os_error(
                        errno.checked_neg().unwrap_or(0),
                    ));
                }
                _ => {}
            }
            // The attributes after struct unix_diag_msg: UNIX_DIAG_VFS holds the bound file's
            // inode and its file system's device.
            let mut at = off + NLMSG_HDR + UNIX_DIAG_MSG;
            while at + 4 <= off + len {
                let (Some(alen), Some(atype)) = (u16_at(data, at), u16_at(data, at + 2)) else {
                    break;
                };
                let alen = alen as usize;
                if alen < 4 {
                    break;
                }
                if atype == UNIX_DIAG_VFS
                    && let (Some(vino), Some(vdev)) = (u32_at(data, at + 4), u32_at(data, at + 8))
                {
                    let vdev = u64::from(vdev);
                    if u64::from(vino) == ino
                        && (vdev >> 20, vdev & 0xfffff) == (want_major, want_minor)
                    {
                        found = true;
                    }
                }
                at += (alen + 3) & !3;
            }
            off += (len + 3) & !3;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_bound_socket_is_in_use_and_a_stale_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let Ok(live) = socket_file_in_use(meta.dev(), meta.ino()) else {
            return; // no unix_diag in this kernel: nothing to check
        };
        assert!(live);
        drop(l);
        assert!(!socket_file_in_use(meta.dev(), meta.ino()).unwrap());
    }
}
