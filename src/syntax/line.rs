//! Finding lines in a byte stream.
//!
//! Commands and replies are lines ending in CRLF (RFC 5321 2.3.8). Incomplete input is never
//! an error: it means "need more bytes". A line longer than the limit is reported as soon as
//! the limit is passed, without waiting for (or buffering up to) its end, so a peer that
//! never sends a line end cannot make the caller buffer without bound.

/// The result of looking for a line at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
pub fn find_line(buf: &[u8], max: usize, bare_lf: bool) -> LineStatus {
    // Only the first `max` octets can hold a line end of an acceptable line.
    let window = &buf[..buf.len().min(max)];
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

/// The first LF: a plain scan for short input (most command lines: `DATA`, `QUIT`, `RSET`),
/// where `memchr`'s set-up costs more than the scan. On x86-64 the SSE2 searcher (always
/// present there) is called directly, sparing the run-time dispatch to AVX2 that only pays
/// on long input.
#[inline]
fn find_lf(b: &[u8]) -> Option<usize> {
    if b.len() <= 16 {
        return b.iter().position(|&c| c == b'\n');
    }
    #[cfg(target_arch = "x86_64")]
    if b.len() <= 1024 {
        if let Some(one) = memchr::arch::x86_64::sse2::memchr::One::new(b'\n') {
            return one.find(b);
        }
    }
    memchr::memchr(b'\n', b)
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
        // Short, SSE2-sized and memchr-sized inputs all agree with a plain scan.
        for len in [1, 7, 15, 16, 17, 31, 32, 33, 64, 65, 100, 1024, 1025, 2000] {
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
    fn skipping() {
        assert_eq!(skip_line(b"xxxx\r\nNOOP\r\n", false), (6, true));
        assert_eq!(skip_line(b"xxxx", false), (4, false));
        assert_eq!(skip_line(b"xxxx\r", false), (4, false));
        assert_eq!(skip_line(b"xx\nxx", false), (5, false));
        assert_eq!(skip_line(b"xx\nxx", true), (3, true));
    }
}
