//! Finding lines in a byte stream.
//!
//! Commands and replies are lines ending in CRLF (RFC 5321 2.3.8). Incomplete input is never
//! an error: it means "need more bytes". A line longer than the limit is reported as soon as
//! the limit is passed, without waiting for (or buffering up to) its end, so a peer that
//! never sends a line end cannot make the caller buffer without bound.

/// The result of looking for a line at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineStatus {
    /// A whole line is present.
    Complete {
        /// Length of the line without its terminator.
        content: usize,
        /// Length of the line including its terminator (what to consume).
        total: usize,
    },
    /// No line end yet and the limit is not passed: wait for more bytes.
    Incomplete,
    /// The limit was passed before any line end. The caller answers (e.g. `500 5.5.2`)
    /// and skips input up to and including the next line end ([`skip_line`]).
    TooLong,
}

/// Looks for a line at the start of `buf`.
///
/// `max` is the longest acceptable line including its CRLF. With `bare_lf` set, a lone LF
/// also ends a line (Postfix accepts this for commands; the CR before the LF, if any, is
/// not part of the content). Without it only CRLF ends a line and a bare LF is content.
///
/// ```
/// use ehlo::syntax::line::{find_line, LineStatus};
/// assert_eq!(find_line(b"NOOP\r\nQUIT", 512, false), LineStatus::Complete { content: 4, total: 6 });
/// assert_eq!(find_line(b"NOO", 512, false), LineStatus::Incomplete);
/// assert_eq!(find_line(&[b'A'; 600], 512, false), LineStatus::TooLong);
/// ```
#[inline]
pub fn find_line(buf: &[u8], max: usize, bare_lf: bool) -> LineStatus {
    // Only the first `max` octets can hold a line end of an acceptable line.
    let window = buf.get(..max).unwrap_or(buf);
    // The usual case, answered inline: a CRLF within the first octets.
    if let Some(lf) = find_lf_near(window) {
        if lf > 0 && window.get(lf - 1) == Some(&b'\r') {
            return LineStatus::Complete {
                content: lf - 1,
                total: lf + 1,
            };
        }
    }
    find_line_general(buf, max, bare_lf)
}

/// [`find_line`] for every other case: bare LFs, long windows, no line end.
#[inline(never)]
fn find_line_general(buf: &[u8], max: usize, bare_lf: bool) -> LineStatus {
    let window = buf.get(..max).unwrap_or(buf);
    let mut from = 0;
    while let Some(i) = find_lf(&window[from..]) {
        let lf = from + i;
        if lf > 0 && window[lf - 1] == b'\r' {
            return LineStatus::Complete {
                content: lf - 1,
                total: lf + 1,
            };
        }
        if bare_lf {
            return LineStatus::Complete {
                content: lf,
                total: lf + 1,
            };
        }
        from = lf + 1;
    }
    if buf.len() >= max {
        LineStatus::TooLong
    } else {
        LineStatus::Incomplete
    }
}

/// The LF octets of `w` as a mask (bit 7 of each LF octet set). Exact for the lowest LF,
/// which is all [`find_lf`] reads: the borrow that can mark an octet above a zero octet
/// never reaches below it.
#[inline(always)]
fn lf_mask(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let x = w ^ (LO * u64::from(b'\n'));
    x.wrapping_sub(LO) & !x & HI
}

/// Octets `i..i + 8` of `b` as a little-endian word (`b` must hold them).
#[inline(always)]
fn word(b: &[u8], i: usize) -> Option<u64> {
    let c: [u8; 8] = b.get(i..i.wrapping_add(8))?.try_into().ok()?;
    Some(u64::from_le_bytes(c))
}

/// How far [`find_lf_near`] looks: past the usual command line, where `memchr`'s set-up
/// starts to pay.
const NEAR: usize = 128;

/// The first LF within the first [`NEAR`] octets, read eight octets at a time as integers
/// (no call, no set-up; a line under eight octets, such as `DATA`, is read octet by octet).
#[inline(always)]
fn find_lf_near(b: &[u8]) -> Option<usize> {
    let n = b.len();
    if n < 8 {
        return b.iter().position(|&c| c == b'\n');
    }
    let span = n.min(NEAR);
    let mut i = 0;
    // Two words per step, one test for both.
    while i + 16 <= span {
        let (m0, m1) = (lf_mask(word(b, i)?), lf_mask(word(b, i + 8)?));
        if m0 | m1 != 0 {
            let m = if m0 != 0 { m0 } else { m1 };
            let at = if m0 != 0 { i } else { i + 8 };
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
        i += 16;
    }
    if i + 8 <= span {
        let m = lf_mask(word(b, i)?);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i < span {
        // The last octets of the span, in one word ending there (the octets it shares with
        // the words above hold no LF).
        let at = span - 8;
        let m = lf_mask(word(b, at)?);
        if m != 0 {
            return Some(at + (m.trailing_zeros() / 8) as usize);
        }
    }
    None
}

/// The first LF anywhere in `b`.
#[inline]
fn find_lf(b: &[u8]) -> Option<usize> {
    if let Some(i) = find_lf_near(b) {
        return Some(i);
    }
    let from = b.len().min(NEAR);
    memchr::memchr(b'\n', b.get(from..)?).map(|k| from + k)
}

/// Skips the rest of an over-long line: returns how many octets of `buf` to discard.
///
/// Returns `(n, true)` when the line end was found (discard `n` octets, including the line
/// end, then parse normally), or `(buf.len(), false)` when it was not (discard everything,
/// keep skipping; a CR at the very end is kept so a CRLF split across inputs is still seen).
pub fn skip_line(buf: &[u8], bare_lf: bool) -> (usize, bool) {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', &buf[from..]) {
        let lf = from + i;
        if bare_lf || (lf > 0 && buf[lf - 1] == b'\r') {
            return (lf + 1, true);
        }
        from = lf + 1;
    }
    if buf.last() == Some(&b'\r') {
        (buf.len() - 1, false)
    } else {
        (buf.len(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_lines() {
        assert_eq!(
            find_line(b"EHLO x\r\n", 512, false),
            LineStatus::Complete {
                content: 6,
                total: 8
            }
        );
        assert_eq!(find_line(b"EHLO x\r", 512, false), LineStatus::Incomplete);
        assert_eq!(find_line(b"", 512, false), LineStatus::Incomplete);
    }

    #[test]
    fn bare_lf_policy() {
        assert_eq!(
            find_line(b"A\nB\r\n", 512, false),
            LineStatus::Complete {
                content: 3,
                total: 5
            }
        );
        assert_eq!(
            find_line(b"A\nB\r\n", 512, true),
            LineStatus::Complete {
                content: 1,
                total: 2
            }
        );
    }

    #[test]
    fn limit_counts_the_crlf() {
        let mut line = vec![b'a'; 510];
        line.extend_from_slice(b"\r\n");
        assert!(matches!(
            find_line(&line, 512, false),
            LineStatus::Complete { total: 512, .. }
        ));
        let mut line = vec![b'a'; 511];
        line.extend_from_slice(b"\r\n");
        assert_eq!(find_line(&line, 512, false), LineStatus::TooLong);
        assert_eq!(find_line(&line[..511], 512, false), LineStatus::Incomplete);
        assert_eq!(find_line(&line[..512], 512, false), LineStatus::TooLong);
    }

    #[test]
    fn lf_found_at_every_position_and_length() {
        // Octet-scanned, word-scanned and memchr-sized inputs all agree with a plain scan.
        for len in [
            1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 100, 127, 128, 129, 136, 1024, 1025, 2000,
        ] {
            for at in (0..len).step_by(1 + len / 40) {
                let mut b = vec![b'a'; len];
                b[at] = b'\n';
                if at + 1 < len {
                    b[len - 1] = b'\n';
                }
                assert_eq!(find_lf(&b), Some(at), "{len} {at}");
            }
            assert_eq!(find_lf(&vec![b'a'; len]), None, "{len}");
        }
    }

    #[test]
    fn lf_agrees_with_a_plain_scan_on_mixed_octets() {
        // Octets next to LF in value (0x09, 0x0b, 0x8a, 0x0a ^ 0x80, 0x01) and runs of LFs
        // exercise the word scan's borrow; every length up to past the word span.
        let alphabet = [b'\n', 0x0b, 0x09, 0x8a, 0x01, 0x00, 0xff, b'a', b'\r'];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..300 {
            for _ in 0..20 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly non-LF octets, so the first LF sits anywhere.
                        if seed % 97 == 0 {
                            b'\n'
                        } else {
                            alphabet[1 + (seed >> 8) as usize % (alphabet.len() - 1)]
                        }
                    })
                    .collect();
                assert_eq!(find_lf(&b), b.iter().position(|&c| c == b'\n'), "{b:?}");
            }
        }
    }

    #[test]
    fn skipping() {
        assert_eq!(skip_line(b"xxxx\r\nNOOP\r\n", false), (6, true));
        assert_eq!(skip_line(b"xxxx", false), (4, false));
        assert_eq!(skip_line(b"xxxx\r", false), (4, false));
        assert_eq!(skip_line(b"xx\nxx", false), (5, false));
        assert_eq!(skip_line(b"xx\nxx", true), (3, true));
    }
}
