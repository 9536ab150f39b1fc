//! The `sendfile --verify` framing, and how a receiver keeps a hostile sender's header harmless.
//!
//! ```text
//! sender:   "sockcat\x02"  digest (u8: 1 SHA-256, 2 BLAKE3)  name length (u16 BE, 1-255)  name
//!           size (u64 BE)  <size bytes>  digest (32)
//! receiver: "OK\n" | "ERR <reason>\n"   (after the file is in place, or not)
//! ```
//!
//! The sender names the digest; a receiver refuses one it does not know or was told not to accept
//! (`--verify=sha256`), and a sender of another framing version (version 1 was SHA-256 without the
//! digest byte), so two sides that do not agree fail with a reason instead of comparing unlike hashes.
//!
//! Every header field is bounded before anything is allocated or created: the name is at most
//! [`NAME_MAX`] bytes and is reduced to a plain file name (no `/`, no `..`, no NUL, no control
//! characters) or refused; the size must fit an `off_t`; the caller checks it against free space.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStringExt;

use anyhow::{Result, anyhow, bail};

/// The first bytes of a verified transfer (the last byte is the framing version).
pub(crate) const MAGIC: &[u8; 8] = b"sockcat\x02";
/// The magic's bytes before the version.
const MAGIC_STEM: &[u8; 7] = b"sockcat";
/// The longest file name accepted (Linux NAME_MAX).
pub const NAME_MAX: usize = 255;
/// The trailer's length (both digests are 32 bytes).
pub(crate) const DIGEST_LEN: usize = 32;
/// The longest reply line a sender reads.
const REPLY_MAX: usize = 512;

/// The digest a transfer is checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Digest {
    Sha256,
    /// The default: several times faster than SHA-256 on one core.
    #[default]
    Blake3,
}

impl Digest {
    /// Its byte in the header.
    pub fn id(self) -> u8 {
        match self {
            Digest::Sha256 => 1,
            Digest::Blake3 => 2,
        }
    }
    pub fn from_id(id: u8) -> Option<Digest> {
        match id {
            1 => Some(Digest::Sha256),
            2 => Some(Digest::Blake3),
            _ => None,
        }
    }
    /// As the user names it (`--verify=sha256`), and as its checksum tool is called without `sum`.
    pub fn name(self) -> &'static str {
        match self {
            Digest::Sha256 => "sha256",
            Digest::Blake3 => "blake3",
        }
    }
    /// As its specification writes it.
    pub fn label(self) -> &'static str {
        match self {
            Digest::Sha256 => "SHA-256",
            Digest::Blake3 => "BLAKE3",
        }
    }
    /// A hasher for it.
    pub fn hasher(self) -> Hasher {
        match self {
            Digest::Sha256 => Hasher::Sha256(<sha2::Sha256 as sha2::Digest>::new()),
            Digest::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }
}

/// A running digest of either kind.
pub enum Hasher {
    Sha256(sha2::Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => sha2::Digest::update(h, data),
            Hasher::Blake3(h) => {
                h.update(data);
            }
        }
    }
    pub fn finalize(self) -> [u8; DIGEST_LEN] {
        match self {
            Hasher::Sha256(h) => sha2::Digest::finalize(h).into(),
            Hasher::Blake3(h) => *h.finalize().as_bytes(),
        }
    }
}

/// What the sender announces before the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub digest: Digest,
    /// The file's name as the sender sent it (not yet safe to use as a path).
    pub name: Vec<u8>,
    pub size: u64,
}

impl Header {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 1 + 2 + self.name.len() + 8);
        out.extend_from_slice(MAGIC);
        out.push(self.digest.id());
        out.extend_from_slice(&(self.name.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&self.size.to_be_bytes());
        out
    }

    /// Reads and checks a header; every length is bounded before it is used.
    pub fn read_from(r: &mut impl Read) -> Result<Header> {
        let mut magic = [0u8; 8];
        read_exact(r, &mut magic, "header")?;
        if magic[..7] != MAGIC_STEM[..] {
            bail!("bad header: the sender is not `sockcat sendfile --verify`");
        }
        if magic[7] != MAGIC[7] {
            bail!(
                "the sender speaks --verify framing version {} (this sockcat speaks {}): update the older sockcat",
                magic[7],
                MAGIC[7]
            );
        }
        let mut id = [0u8; 1];
        read_exact(r, &mut id, "header")?;
        let Some(digest) = Digest::from_id(id[0]) else {
            bail!(
                "the sender asks for digest {} which this sockcat does not know (it knows sha256, blake3)",
                id[0]
            );
        };
        let mut len = [0u8; 2];
        read_exact(r, &mut len, "header")?;
        let len = u16::from_be_bytes(len) as usize;
        if len == 0 || len > NAME_MAX {
            bail!("bad header: file name of {len} bytes (1-{NAME_MAX} allowed)");
        }
        let mut name = vec![0u8; len];
        read_exact(r, &mut name, "header")?;
        let mut size = [0u8; 8];
        read_exact(r, &mut size, "header")?;
        let size = u64::from_be_bytes(size);
        if size > i64::MAX as u64 {
            bail!("bad header: size {size} is too large");
        }
        Ok(Header { digest, name, size })
    }
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => anyhow!("the sender closed the connection in the {what}"),
        _ => crate::net::stream::recv_error_in(e, &format!("receive the {what}")),
    })
}

/// The sender's name reduced to a plain file name: the last `/`-separated part, which must not be
/// empty, `.` or `..`, nor hold NUL or control characters.
pub fn safe_name(raw: &[u8]) -> Result<OsString> {
    let shown = String::from_utf8_lossy(raw).escape_debug().to_string();
    if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
        bail!("refusing file name \"{shown}\" from the sender: it holds control characters");
    }
    let last = raw
        .split(|&b| b == b'/')
        .rfind(|part| !part.is_empty())
        .unwrap_or(&[]);
    if last.is_empty() || last == b"." || last == b".." {
        bail!("refusing file name \"{shown}\" from the sender: not a file name");
    }
    Ok(OsString::from_vec(last.to_vec()))
}

/// The trailer's bytes.
pub fn read_digest(r: &mut impl Read) -> Result<[u8; DIGEST_LEN]> {
    let mut digest = [0u8; DIGEST_LEN];
    read_exact(r, &mut digest, "digest trailer")?;
    Ok(digest)
}

/// The receiver's answer.
pub(crate) fn write_reply(w: &mut impl Write, outcome: &Result<()>) -> io::Result<()> {
    let line = match outcome {
        Ok(()) => "OK\n".to_string(),
        Err(e) => format!("ERR {}\n", crate::exit::render(e)),
    };
    w.write_all(line.as_bytes())
}

/// Reads the receiver's answer: Ok for `OK`, an error carrying the receiver's reason otherwise.
pub fn read_reply(r: &mut impl Read) -> Result<()> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < REPLY_MAX {
        match r.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(crate::net::stream::recv_error_before(
                    e,
                    "receive the receiver's answer",
                    "the receiver confirmed the file",
                ));
            }
        }
    }
    let text = String::from_utf8_lossy(&line);
    match text.strip_prefix("ERR ") {
        _ if text == "OK" => Ok(()),
        Some(reason) => bail!("the receiver refused the file: {reason}"),
        None if line.is_empty() => bail!(
            "the receiver closed without confirming the file (is it `sockcat sendfile --receive --verify`?)"
        ),
        None => bail!("the receiver answered {text:?}, not OK"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_bounds() {
        for digest in [Digest::Sha256, Digest::Blake3] {
            let h = Header {
                digest,
                name: b"data.bin".to_vec(),
                size: 42,
            };
            let bytes = h.encode();
            assert_eq!(Header::read_from(&mut &bytes[..]).unwrap(), h);
        }
        let mut unknown = Header {
            digest: Digest::Blake3,
            name: b"x".to_vec(),
            size: 1,
        }
        .encode();
        unknown[8] = 9;
        let err = Header::read_from(&mut &unknown[..])
            .unwrap_err()
            .to_string();
        assert!(err.contains("digest 9"), "{err}");
        let err = Header::read_from(&mut &b"sockcat\x01\x00\x01x"[..])
            .unwrap_err()
            .to_string();
        assert!(err.contains("version 1"), "{err}");

        let mut long = MAGIC.to_vec();
        long.push(Digest::Sha256.id());
        long.extend_from_slice(&1000u16.to_be_bytes());
        assert!(Header::read_from(&mut &long[..]).is_err());

        let mut huge = Header {
            digest: Digest::Blake3,
            name: b"x".to_vec(),
            size: 0,
        }
        .encode();
        let n = huge.len();
        huge[n - 8..].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(Header::read_from(&mut &huge[..]).is_err());

        assert!(Header::read_from(&mut &b"GET / HTTP/1.0\r\n"[..]).is_err());
    }

    #[test]
    fn names_are_reduced_or_refused() {
        assert_eq!(safe_name(b"report.pdf").unwrap(), "report.pdf");
        assert_eq!(safe_name(b"../../etc/passwd").unwrap(), "passwd");
        assert_eq!(safe_name(b"/etc/shadow").unwrap(), "shadow");
        assert_eq!(safe_name(b"dir/").unwrap(), "dir");
        for bad in [&b".."[..], b".", b"/", b"a/..", b"", b"x\0y", b"new\nline"] {
            assert!(safe_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn known_answers() {
        let hex_of = |d: Digest| {
            let mut h = d.hasher();
            h.update(b"a");
            h.update(b"bc");
            hex::encode(h.finalize())
        };
        assert_eq!(
            hex_of(Digest::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex_of(Digest::Blake3),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn replies() {
        let mut out = Vec::new();
        write_reply(&mut out, &Ok(())).unwrap();
        assert!(read_reply(&mut &out[..]).is_ok());
        let mut out = Vec::new();
        write_reply(&mut out, &Err(anyhow!("SHA-256 mismatch"))).unwrap();
        let err = read_reply(&mut &out[..]).unwrap_err().to_string();
        assert!(err.contains("SHA-256 mismatch"), "{err}");
        assert!(read_reply(&mut &b""[..]).is_err());
    }
}
