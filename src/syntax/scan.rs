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

/// Whether every octet of `s` is in the classes `mask`.
#[inline]
pub(crate) fn all(s: &[u8], mask: u8) -> bool {
    s.iter().all(|&b| is(b, mask))
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
    }
}
