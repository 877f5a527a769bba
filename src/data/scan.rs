//! The block-wise fast scan shared by the DATA decoder and encoder: skips runs of plain
//! text made of complete CRLF lines that do not start with `.`.

/// Bytes per block of the fast scan.
const BLOCK: usize = 64;

/// Whether the pair `(a, b)` of adjacent bytes needs the exact scan: an LF followed by `.`
/// (a possible line-start dot), or, with `check_bare`, a CR not followed by LF or an LF not
/// preceded by CR.
#[inline(always)]
fn special_pair(a: u8, b: u8, check_bare: bool) -> bool {
    ((a == b'\n') & (b == b'.')) | (check_bare & ((a == b'\r') != (b == b'\n')))
}

/// Whether any pair `(a[i], b[i])` is special, `b` being `a` shifted by one byte. Written as
/// a branch-free reduction over two plain loads so that the compiler turns it into SIMD
/// compares.
#[inline]
fn block_special<const CHECK_BARE: bool>(a: &[u8; BLOCK], b: &[u8; BLOCK]) -> bool {
    let mut hit = 0u8;
    for i in 0..BLOCK {
        hit |= u8::from(special_pair(a[i], b[i], CHECK_BARE));
    }
    hit != 0
}

/// The block of `buf` at `i` and the same shifted by one byte (`None` past the end): the
/// two plain loads the block checks compare.
#[inline(always)]
fn pair_blocks(buf: &[u8], i: usize) -> Option<(&[u8; BLOCK], &[u8; BLOCK])> {
    let a = buf.get(i..i + BLOCK)?.try_into().ok()?;
    let b = buf.get(i + 1..i + 1 + BLOCK)?.try_into().ok()?;
    Some((a, b))
}

/// Skips whole blocks with no special pair, starting at `i`; returns the first block start
/// that has one (or whose block would reach past `end`).
fn skip_blocks<const CHECK_BARE: bool>(buf: &[u8], mut i: usize, end: usize) -> usize {
    while i + BLOCK <= end {
        match pair_blocks(buf, i) {
            Some((a, b)) if !block_special::<CHECK_BARE>(a, b) => i += BLOCK,
            _ => break,
        }
    }
    i
}

/// Fast scan over line content, used by the decoder (when line lengths need no tracking)
/// and the encoder. Starting at `pos` (not at a line start, not between a CR and its LF),
/// returns a position `p >= pos` such that `buf[pos..p]` is plain content: no line in it
/// starts with `.` and, with `check_bare`, every CR and LF in it belongs to a CRLF. `p` is
/// never between a CR and its LF and stays at least two bytes before the end of `buf`, so the
/// exact scan sees any trailing CR or CRLF. The work is proportional to `p - pos`.
pub(crate) fn skip_plain(buf: &[u8], pos: usize, check_bare: bool) -> usize {
    let end = buf.len().saturating_sub(2);
    if pos >= end || (check_bare && buf.get(pos) == Some(&b'\n')) {
        return pos;
    }
    // Pairs (i, i + 1) for i in pos..end; the LF at `pos` was checked above.
    let i = if check_bare {
        skip_blocks::<true>(buf, pos, end)
    } else {
        skip_blocks::<false>(buf, pos, end)
    };
    let stop = (i..end)
        .find(|&k| match (buf.get(k), buf.get(k + 1)) {
            (Some(&a), Some(&b)) => special_pair(a, b, check_bare),
            _ => true,
        })
        .unwrap_or(end);
    // Never stop between a CR and its LF: the exact scan must see the whole CRLF (and so
    // check the byte after it for a line-start dot).
    if stop > pos && buf.get(stop - 1) == Some(&b'\r') && buf.get(stop) == Some(&b'\n') {
        stop - 1
    } else {
        stop
    }
}

/// Whether every CR in `buf` is followed by LF and every LF preceded by CR, looking only
/// inside `buf` (a CR as the last octet or an LF as the first passes: their partners may
/// be in the chunks around). Block-wise like [`skip_plain`], so it vectorizes.
pub(crate) fn crlf_paired(buf: &[u8]) -> bool {
    let end = buf.len().saturating_sub(1);
    // Pairs (i, i + 1) for i in 0..end.
    let mut i = 0;
    while i + BLOCK <= end {
        let Some((a, b)) = pair_blocks(buf, i) else {
            break;
        };
        let mut bare = 0u8;
        for k in 0..BLOCK {
            bare |= u8::from((a[k] == b'\r') != (b[k] == b'\n'));
        }
        if bare != 0 {
            return false;
        }
        i += BLOCK;
    }
    buf.get(i..)
        .unwrap_or_default()
        .windows(2)
        .all(|w| (w[0] == b'\r') == (w[1] == b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_pairing() {
        for (buf, paired) in [
            (&b""[..], true),
            (b"\r", true),
            (b"\n", true),
            (b"\n\r", true),
            (b"a\r\nb", true),
            (b"a\rb", false),
            (b"a\nb", false),
            (b"\r\r\n", false),
            (b"\r\n\n", false),
        ] {
            assert_eq!(crlf_paired(buf), paired, "{buf:?}");
            // The same octets in every position of a long buffer.
            for at in 0..200 {
                let mut long = b"x".repeat(at);
                long.extend_from_slice(buf);
                long.extend_from_slice(&b"y".repeat(200 - at));
                // A leading LF or trailing CR passes only at the buffer's edge.
                let inside_edge =
                    (buf.starts_with(b"\n") && at > 0) || (buf.ends_with(b"\r") && at < 200);
                let inner = buf.len() < 2 || paired;
                assert_eq!(crlf_paired(&long), inner && !inside_edge, "{buf:?} at {at}");
            }
        }
    }
}
