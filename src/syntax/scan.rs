//! Byte scans over a whole file, for the checks that run before and beside the
//! parser (nesting depth, unclosed `"""`, comments). They look for a few ASCII bytes
//! in megabytes of text, so they read eight bytes at a time.

/// The first position at or after `from` that holds one of `needles`, or
/// `bytes.len()` if there is none (also when `from` is past the end).
///
/// The needles are ASCII, so a match is always a char boundary in UTF-8 text.
#[inline]
pub fn position_of_any<const N: usize>(bytes: &[u8], from: usize, needles: [u8; N]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut index = from;
    while index + 8 <= bytes.len() {
        let word = u64::from_le_bytes(bytes[index..index + 8].try_into().expect("eight bytes"));
        let mut found = 0u64;
        for needle in needles {
            // A byte equal to the needle becomes zero; the classic test marks the
            // lowest zero byte exactly (bits above it may be spurious, which is why
            // only the lowest mark is used).
            let difference = word ^ (ONES * u64::from(needle));
            found |= difference.wrapping_sub(ONES) & !difference & HIGHS;
        }
        if found != 0 {
            return index + (found.trailing_zeros() / 8) as usize;
        }
        index += 8;
    }
    while index < bytes.len() {
        if needles.contains(&bytes[index]) {
            return index;
        }
        index += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(bytes: &[u8], from: usize, needles: &[u8]) -> usize {
        (from..bytes.len()).find(|index| needles.contains(&bytes[*index])).unwrap_or(bytes.len())
    }

    #[test]
    fn agrees_with_a_plain_search() {
        // Every needle position and every start, across the eight-byte steps, with
        // bytes on either side of the needles (0x00, 0x7f, 0x80, 0xff, UTF-8).
        let text = "ab\"c/d\n//é→x\u{7f}\u{80}{[(]})\"\"\" \\ end/".as_bytes().to_vec();
        let mut texts = vec![text.clone(), Vec::new(), b"////////////////".to_vec(), vec![0u8, 0xff, b'/', 0x2f, 0xaf]];
        for cut in 0..text.len() {
            texts.push(text[cut..].to_vec());
        }
        for bytes in &texts {
            for from in 0..=bytes.len() + 1 {
                assert_eq!(position_of_any(bytes, from, [b'/', b'"']), naive(bytes, from, b"/\""), "{bytes:?} from {from}");
                assert_eq!(position_of_any(bytes, from, [b'\n', b'"', b'\\']), naive(bytes, from, b"\n\"\\"));
                assert_eq!(
                    position_of_any(bytes, from, [b'{', b'[', b'(', b'}', b']', b')']),
                    naive(bytes, from, b"{[(}])")
                );
            }
        }
    }
}
