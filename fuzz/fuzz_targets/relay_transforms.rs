//! The byte transforms of a relay: `--crlf` gives the same bytes however the stream is cut into reads,
//! leaves no bare LF and only ever inserts CRs; `--hexdump` lines carry every byte back exactly, one
//! line per 16 bytes, and a dump cut at 16-byte boundaries is the dump of the whole.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sockcat::fuzz::{Direction, format_lines};
use sockcat::fuzz::Crlf;

fn crlf(cuts: &[usize], data: &[u8]) {
    let expected = Crlf::default().apply(data).to_vec();
    let mut chunked = Crlf::default();
    let mut got = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        got.extend_from_slice(chunked.apply(&data[start..cut]));
        start = cut;
    }
    assert_eq!(got, expected, "cuts {cuts:?}");
    // No bare LF, and dropping each CR that precedes an LF the input had bare gives the input back.
    let mut back = Vec::with_capacity(data.len());
    let mut i = 0;
    for (j, &b) in data.iter().enumerate() {
        if b == b'\n' && (j == 0 || data[j - 1] != b'\r') {
            assert_eq!(got.get(i), Some(&b'\r'), "no CR before bare LF at {j}");
            i += 1;
        }
        assert_eq!(got.get(i), Some(&b));
        back.push(got[i]);
        i += 1;
    }
    assert_eq!(i, got.len(), "extra bytes");
    assert_eq!(back, data);
}

/// Reads the bytes and the offsets back out of dump lines.
fn undump(dir: Direction, text: &str) -> (Vec<u64>, Vec<u8>) {
    let mark = if dir == Direction::Sent { "> " } else { "< " };
    let mut offsets = Vec::new();
    let mut bytes = Vec::new();
    for line in text.split_terminator('\n') {
        let rest = line.strip_prefix(mark).expect("direction mark");
        let (offset, rest) = rest.split_once("  ").expect("offset column");
        offsets.push(u64::from_str_radix(offset, 16).expect("hex offset"));
        let (hexes, shown) = rest.split_at(16 * 3 + 1);
        let line_bytes: Vec<u8> = hexes
            .split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).expect("hex byte"))
            .collect();
        assert!(!line_bytes.is_empty() && line_bytes.len() <= 16);
        let shown = shown.strip_prefix(" |").and_then(|s| s.strip_suffix('|')).expect("text column");
        assert_eq!(shown.chars().count(), line_bytes.len());
        for (c, b) in shown.chars().zip(&line_bytes) {
            let printable = b.is_ascii_graphic() || *b == b' ';
            assert_eq!(c, if printable { *b as char } else { '.' });
        }
        bytes.extend(line_bytes);
    }
    (offsets, bytes)
}

fn hexdump(offset: u64, cut: usize, data: &[u8]) {
    for dir in [Direction::Sent, Direction::Received] {
        let whole = format_lines(dir, offset, data);
        let (offsets, bytes) = undump(dir, &whole);
        assert_eq!(bytes, data);
        assert_eq!(offsets.len(), data.len().div_ceil(16));
        for (i, o) in offsets.iter().enumerate() {
            assert_eq!(*o, offset + 16 * i as u64);
        }
        let cut = (cut / 16 * 16).min(data.len());
        let mut parts = format_lines(dir, offset, &data[..cut]);
        parts.push_str(&format_lines(dir, offset + cut as u64, &data[cut..]));
        assert_eq!(parts, whole);
    }
}

fuzz_target!(|input: &[u8]| {
    // Header: four cut points (one byte each, scaled) and an offset; the rest is the stream.
    if input.len() < 8 {
        return;
    }
    let (head, data) = input.split_at(8);
    let mut cuts: Vec<usize> = head[..4]
        .iter()
        .map(|&c| (c as usize * data.len() / 255).min(data.len()))
        .collect();
    cuts.sort_unstable();
    crlf(&cuts, data);
    // Offsets are counts of bytes that went through one connection: far below 2^48.
    let offset = u64::from(u32::from_le_bytes(head[4..8].try_into().unwrap())) << 8;
    hexdump(offset, cuts[1], data);
});
