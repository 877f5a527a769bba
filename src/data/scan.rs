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

/// Whether any pair `(w[i], w[i + 1])` of the block is special. Written as a branch-free
/// reduction so that the compiler turns it into SIMD compares.
#[inline]
fn block_special(w: &[u8; BLOCK + 1], check_bare: bool) -> bool {
    let mut hit = false;
    for i in 0..BLOCK {
        hit |= special_pair(w[i], w[i + 1], check_bare);
    }
    hit
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
    let mut i = pos;
    while i + BLOCK <= end {
        match buf
            .get(i..i + BLOCK + 1)
            .and_then(|w| <&[u8; BLOCK + 1]>::try_from(w).ok())
        {
            Some(w) if !block_special(w, check_bare) => i += BLOCK,
            _ => break,
        }
    }
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
