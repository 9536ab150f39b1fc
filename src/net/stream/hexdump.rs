//! `--hexdump`: the traffic on stderr, one line per 16 bytes: direction (`>` sent, `<` received),
//! the offset in that direction, the bytes in hex and as text.
//!
//! ```text
//! > 00000000  68 65 6c 6c 6f 0a                                 |hello.|
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;

/// Which way the bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// Formats dumps for both directions, keeping each direction's offset.
#[derive(Debug, Default)]
pub(crate) struct Hexdump {
    offsets: Mutex<[u64; 2]>,
}

impl Hexdump {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Writes the dump of `data` to stderr as one block, so directions never interleave within a chunk.
    pub(crate) fn dump(&self, dir: Direction, data: &[u8]) {
        let mut offsets = self.offsets.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut offsets[dir as usize];
        let text = format_lines(dir, *slot, data);
        *slot += data.len() as u64;
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

/// The dump lines of `data`, starting at `offset`.
pub fn format_lines(dir: Direction, offset: u64, data: &[u8]) -> String {
    let mark = match dir {
        Direction::Sent => '>',
        Direction::Received => '<',
    };
    let mut out = String::with_capacity(data.len() * 5);
    for (i, line) in data.chunks(16).enumerate() {
        let _ = write!(out, "{mark} {:08x}  ", offset + (i as u64) * 16);
        for j in 0..16 {
            match line.get(j) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push_str(" |");
        out.extend(line.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line() {
        assert_eq!(
            format_lines(Direction::Sent, 0, b"hello\n"),
            "> 00000000  68 65 6c 6c 6f 0a                                 |hello.|\n"
        );
        let two = format_lines(Direction::Received, 32, &[b'a'; 17]);
        assert!(two.starts_with("< 00000020  61 61 61 61 61 61 61 61  61"));
        assert!(
            two.ends_with("< 00000030  61                                                |a|\n")
        );
    }
}
