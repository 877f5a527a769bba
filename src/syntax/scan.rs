//! Byte-scanning helpers shared by the command, path and parameter parsers: a character
//! class table (one lookup per octet instead of range tests) and verb/keyword packing (one
//! integer `match` instead of a chain of case-insensitive string comparisons).

/// `atext` (RFC 5322 3.2.3): letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
pub(crate) const ATEXT: u8 = 1;
/// `xchar` (RFC 3461 4): `!`..`~` except `+` and `=`.
pub(crate) const XCHAR: u8 = 2;
/// esmtp-value characters (RFC 5321 4.1.2): `!`..`~` except `=`.
pub(crate) const VALUE: u8 = 4;
/// Letters, digits and `-` (esmtp-keyword, Ldh-str).
pub(crate) const LDH: u8 = 8;
/// Letters, digits, `-` and `_` (command verbs, SASL mechanism names).
pub(crate) const VERB: u8 = 16;
/// The base64 alphabet with padding (RFC 4648 4).
pub(crate) const B64: u8 = 32;
/// Letters and digits.
pub(crate) const ALNUM: u8 = 64;
/// `atext` except `=`: the octets of an atom that are also esmtp-value octets in strict
/// parsing (RFC 5321 4.1.2), such as an ORCPT addr-type.
pub(crate) const ATOM_VALUE: u8 = 128;

const fn build() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut c = 0;
        if alnum {
            c |= ATEXT | LDH | VERB | B64 | ALNUM;
        }
        if matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        ) {
            c |= ATEXT;
        }
        if (c & ATEXT != 0 || alnum) && b != b'=' {
            c |= ATOM_VALUE;
        }
        if b >= 33 && b <= 126 && b != b'+' && b != b'=' {
            c |= XCHAR;
        }
        if b >= 33 && b <= 126 && b != b'=' {
            c |= VALUE;
        }
        if b == b'-' {
            c |= LDH | VERB;
        }
        if b == b'_' {
            c |= VERB;
        }
        if b == b'+' || b == b'/' || b == b'=' {
            c |= B64;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = build();

/// Whether octet `b` is in any of the classes `mask`.
#[inline(always)]
pub(crate) fn is(b: u8, mask: u8) -> bool {
    CLASS[usize::from(b)] & mask != 0
}

/// Value classes (for [`skip_v`]), one bit per parsing mode: esmtp-value octets `!`..`~`
/// except `=` (RFC 5321 4.1.2), plus `=` when lenient, plus octets 0x80 and above under
/// SMTPUTF8 (RFC 6531 3.3).
pub(crate) const V_STRICT: u8 = 1;
/// Strict, with UTF-8.
pub(crate) const V_STRICT_UTF8: u8 = 2;
/// Lenient (`=` accepted inside values, as Postfix splits at the first `=`).
pub(crate) const V_LENIENT: u8 = 4;
/// Lenient, with UTF-8.
pub(crate) const V_LENIENT_UTF8: u8 = 8;
const _: () = assert!(
    V_STRICT_UTF8 == V_STRICT << 1 && V_LENIENT == V_STRICT << 2 && V_LENIENT_UTF8 == V_STRICT << 3
);

const fn build_v() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b >= 33 && b <= 126 && b != b'=' {
            V_STRICT | V_STRICT_UTF8 | V_LENIENT | V_LENIENT_UTF8
        } else if b == b'=' {
            V_LENIENT | V_LENIENT_UTF8
        } else if b >= 0x80 {
            V_STRICT_UTF8 | V_LENIENT_UTF8
        } else {
            0
        };
        i += 1;
    }
    t
}

static VCLASS: [u8; 256] = build_v();

/// The first index at or after `i` whose octet is not in the one-bit class `bit` of `table`
/// (or `b.len()`): four octets per step while they last, then one at a time.
#[inline(always)]
fn skip_in(table: &[u8; 256], b: &[u8], mut i: usize, bit: u8) -> usize {
    while let Some(&[c0, c1, c2, c3]) = b.get(i..i.wrapping_add(4)) {
        let t = |c: u8| table[usize::from(c)];
        if t(c0) & t(c1) & t(c2) & t(c3) & bit == 0 {
            break;
        }
        i += 4;
    }
    while let Some(&c) = b.get(i) {
        if table[usize::from(c)] & bit == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// The first index at or after `i` whose octet is not in the class `class` (one of the
/// one-bit classes above: [`ATEXT`], [`LDH`], ...), or `b.len()`.
#[inline(always)]
pub(crate) fn skip(b: &[u8], i: usize, class: u8) -> usize {
    skip_in(&CLASS, b, i, class)
}

/// [`skip`] over esmtp-value octets of the mode `bit` (`V_*`).
#[inline(always)]
pub(crate) fn skip_v(b: &[u8], i: usize, bit: u8) -> usize {
    skip_in(&VCLASS, b, i, bit)
}

/// Whether every octet of `s` is in the classes `mask`.
#[inline]
pub(crate) fn all(s: &[u8], mask: u8) -> bool {
    s.iter().all(|&b| is(b, mask))
}

/// The run of 1 to 19 decimal digits that starts at octet `i` of `b`, as its value (below
/// 10^19, so no overflow is possible) and the index after it; `None` for no digit or more
/// than 19 (which the general parsers, with their overflow checks, decide).
#[inline(always)]
pub(crate) fn decimal19(b: &[u8], i: usize) -> Option<(u64, usize)> {
    let mut j = i;
    let mut n = 0u64;
    while let Some(d) = b.get(j).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        j += 1;
    }
    (j > i && j - i <= 19).then_some((n, j))
}

/// Packs up to 16 octets into an integer (little-endian).
pub(crate) const fn pack(s: &[u8]) -> u128 {
    let mut v = 0u128;
    let mut i = 0;
    while i < s.len() {
        v |= (s[i] as u128) << (8 * i);
        i += 1;
    }
    v
}

/// Packs up to 16 octets upper-cased; `None` when longer (no known word is).
#[inline]
pub(crate) fn pack_upper(s: &[u8]) -> Option<u128> {
    if s.len() > 16 {
        return None;
    }
    let mut v = 0u128;
    for (i, b) in s.iter().enumerate() {
        v |= u128::from(b.to_ascii_uppercase()) << (8 * i);
    }
    Some(v)
}

/// Whether `b` holds a CR, LF or NUL: eight octets at a time (SWAR), no per-octet branch
/// and no copy of a partial word. A first test looks for any octet below 0x0e (one
/// subtraction per word); only a line holding one (an HTAB, say) gets the exact test.
#[inline]
pub(crate) fn has_ctl(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Some octet of `v` is below `n` (exact for n <= 128).
    #[inline(always)]
    fn below(v: u64, n: u64) -> u64 {
        v.wrapping_sub(LO * n) & !v & HI
    }
    #[inline(always)]
    fn exact(v: u64) -> bool {
        // Exact "some octet is zero" test, for NUL, CR (0x0d) and LF (0x0a).
        (below(v, 1) | below(v ^ (LO * 0x0d), 1) | below(v ^ (LO * 0x0a), 1)) != 0
    }
    #[inline(always)]
    fn load(c: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    }
    let n = b.len();
    if n < 8 {
        // Pad with a harmless octet.
        let mut v = u64::from_le_bytes([b'a'; 8]);
        for (i, &c) in b.iter().enumerate() {
            v = (v & !(0xff << (8 * i))) | (u64::from(c) << (8 * i));
        }
        return below(v, 0x0e) != 0 && exact(v);
    }
    let mut low = 0;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        low |= below(load(c), 0x0e);
    }
    // The last eight octets, overlapping the chunks before (an "any" test).
    let last = b.get(n - 8..).map(load).unwrap_or(0);
    if !chunks.remainder().is_empty() {
        low |= below(last, 0x0e);
    }
    if low == 0 {
        return false;
    }
    b.chunks_exact(8).any(|c| exact(load(c))) || exact(last)
}

/// Packs up to 16 octets of a keyword or value with bit 5 cleared in each (upper-case for
/// letters; digits and `-` map to distinct non-letter values), for matching against
/// [`fold`] constants. Exact for octets in `!`..`~` compared with letters, digits and `-`.
/// `None` when longer than 16 octets (no known word is).
#[inline]
pub(crate) fn fold_at(b: &[u8], start: usize, len: usize) -> Option<u128> {
    const CASE: u128 = 0x2020_2020_2020_2020_2020_2020_2020_2020;
    if len == 0 || len > 16 {
        return None;
    }
    let end = start.checked_add(len)?;
    let v = if len <= 8 {
        u128::from(load8(b, start, end)?)
    } else {
        let mid = start + 8;
        u128::from(load8(b, start, mid)?) | (u128::from(load8(b, mid, end)?) << 64)
    };
    Some(v & !CASE)
}

/// Octets `start..end` (1 to 8 of them) as a little-endian integer: one 8-octet load from
/// `start` or ending at `end` when the buffer allows, else octet by octet.
#[inline(always)]
fn load8(b: &[u8], start: usize, end: usize) -> Option<u64> {
    let len = end.checked_sub(start)?;
    let word = |w: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        u64::from_le_bytes(a)
    };
    if let Some(w) = b.get(start..start.wrapping_add(8)) {
        let v = word(w);
        Some(if len >= 8 {
            v
        } else {
            v & ((1u64 << (8 * len)) - 1)
        })
    } else if let Some(w) = end.checked_sub(8).and_then(|s| b.get(s..end)) {
        Some(word(w) >> (8 * (8 - len.min(8))))
    } else {
        let mut v = 0u64;
        for (i, &c) in b.get(start..end)?.iter().enumerate() {
            v |= u64::from(c) << (8 * i);
        }
        Some(v)
    }
}

/// A lower-case word of up to eight octets (letters, digits, `-`, `=`, ...) prepared for
/// [`word_at`]: its little-endian value and the case bit of each of its letters.
#[derive(Clone, Copy)]
pub(crate) struct Word {
    value: u64,
    case: u64,
    len: usize,
}

impl Word {
    /// Prepares `w` (lower case; at most eight octets).
    pub(crate) const fn new(w: &[u8]) -> Word {
        assert!(!w.is_empty() && w.len() <= 8);
        let (mut value, mut case, mut i) = (0u64, 0u64, 0);
        while i < w.len() {
            assert!(!w[i].is_ascii_uppercase());
            value |= (w[i] as u64) << (8 * i);
            if w[i].is_ascii_lowercase() {
                case |= 0x20 << (8 * i);
            }
            i += 1;
        }
        Word {
            value,
            case,
            len: w.len(),
        }
    }

    /// Its length in octets.
    #[inline(always)]
    pub(crate) const fn len(self) -> usize {
        self.len
    }
}

/// Whether octets `i..i + w.len()` of `b` are the word `w`, letters in either case and
/// every other octet exact (setting the case bit maps only `A`..`Z` onto `a`..`z`): one
/// load and one compare.
#[inline(always)]
pub(crate) fn word_at(b: &[u8], i: usize, w: Word) -> bool {
    match load8(b, i, i.wrapping_add(w.len)) {
        Some(v) => v | w.case == w.value,
        None => false,
    }
}

/// The [`fold_at`] value of a constant word.
pub(crate) const fn fold(s: &[u8]) -> u128 {
    let mut v = 0u128;
    let mut i = 0;
    while i < s.len() {
        v |= ((s[i] & !0x20) as u128) << (8 * i);
        i += 1;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is(b'a', ATEXT) && is(b'~', ATEXT) && !is(b'.', ATEXT) && !is(b'@', ATEXT));
        assert!(is(b'!', XCHAR) && !is(b'+', XCHAR) && !is(b'=', XCHAR) && !is(b' ', XCHAR));
        assert!(is(b'<', VALUE) && !is(b'=', VALUE) && !is(0x7f, VALUE) && !is(0x80, VALUE));
        assert!(is(b'-', LDH) && !is(b'_', LDH) && is(b'_', VERB));
        assert!(is(b'=', B64) && is(b'/', B64) && !is(b'-', B64));
        assert_eq!(pack_upper(b"mail"), Some(pack(b"MAIL")));
        assert_eq!(pack_upper(&[b'a'; 17]), None);
        for s in [
            &b"a\rb"[..],
            b"\n",
            b"\0",
            b"0123456789abcde\r",
            b"0123456789abcdef\n",
            b"abc\tdefgh\x0bij\r",
            b"\tbcdefgh\x00",
            b"a\tcdefg\nijklmnopq",
        ] {
            assert!(has_ctl(s), "{s:?}");
        }
        for s in [
            &b""[..],
            b"\x8d\x8a\x80\xff",
            b"0123456789abcdefgh \t",
            b"\x0e\x0b\x01\x1d",
            b"abc\tdefgh\x0bijk\x0c",
            b"\t\t\t\t\t\t\t\t\x01",
        ] {
            assert!(!has_ctl(s), "{s:?}");
        }
        let line = b"SIZE=1 BODY=8bitmime x";
        assert_eq!(fold_at(line, 0, 4), Some(fold(b"SIZE")));
        assert_eq!(fold_at(line, 12, 8), Some(fold(b"8BITMIME")));
        assert_eq!(fold_at(line, 21, 1), Some(fold(b"X")));
        assert_eq!(fold_at(b"ab", 0, 2), Some(fold(b"AB")));
        assert_eq!(fold_at(line, 0, 17), None);
        assert_eq!(fold_at(line, 20, 5), None);
    }
}
