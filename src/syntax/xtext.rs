//! xtext (RFC 3461 section 4): `+XX` hex escapes for octets outside `!`..`~`, `+` and `=`.
//!
//! Used by ENVID, ORCPT and the `AUTH=` MAIL parameter (RFC 4954 section 5), and by the
//! Exchange MAIL/RCPT parameters (`XSHADOW=`, `XORIGFROM=`, `XRDST=`, ...).
//!
//! ```
//! use ehlo::syntax::xtext::XText;
//! let x = XText::encode(b"a+b=c d");
//! assert_eq!(x.as_str(), "a+2Bb+3Dc+20d");
//! assert_eq!(x.decode().unwrap().as_ref(), b"a+b=c d");
//! ```

use std::borrow::Cow;

/// An xtext value as it appears on the wire (still encoded). Parsing borrows; call
/// [`XText::decode`] for the decoded octets and [`XText::encode`] to build one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XText<'a>(pub Cow<'a, str>);

/// `xchar` of RFC 3461 section 4: `!`..`~` except `+` and `=`.
#[inline]
pub(crate) fn is_xchar(b: u8) -> bool {
    super::scan::is(b, super::scan::XCHAR)
}

#[inline]
fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        // RFC 3461 requires upper-case hex; lower case is accepted on input.
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Whether `s` is valid xtext. With `utf8`, non-ASCII characters are also accepted as
/// themselves (RFC 6533 `utf-8-addr-unitext`, RFC 6531 esmtp-value).
pub(crate) fn is_valid(s: &str, utf8: bool) -> bool {
    is_valid_bytes(s.as_bytes(), utf8)
}

/// [`is_valid`] on octets (non-ASCII octets are accepted as themselves with `utf8`; the
/// caller checks that they form UTF-8).
#[inline]
pub(crate) fn is_valid_bytes(b: &[u8], utf8: bool) -> bool {
    end(b, 0, utf8) == b.len()
}

/// The end of the xtext that starts at octet `i` of `b`: the first octet that is neither
/// an xchar, nor the start of a `+XX` escape, nor (with `utf8`) a non-ASCII octet.
#[inline]
pub(crate) fn end(b: &[u8], mut i: usize, utf8: bool) -> usize {
    loop {
        // Runs of plain xchar at table speed, then the octet that ended the run.
        i = super::scan::skip(b, i, super::scan::XCHAR);
        match b.get(i) {
            Some(b'+')
                if b.get(i + 1).is_some_and(|&h| hex_val(h).is_some())
                    && b.get(i + 2).is_some_and(|&l| hex_val(l).is_some()) =>
            {
                i += 3
            }
            Some(&c) if utf8 && c >= 0x80 => i += 1,
            _ => return i,
        }
    }
}

/// Whether valid xtext `b` decodes to printable text: US-ASCII graphic characters, SP and
/// HTAB, as RFC 3461 requires of the ENVID value (section 4.4) and the ORCPT address
/// (section 4.2): "prior to encoding as xtext MUST consist entirely of printable (graphic
/// and white space) characters from the US-ASCII repertoire", since both go into the
/// header-like fields of a DSN, where an encoded CR LF would end the field. With
/// `unicode` (the `utf-8` address type of ORCPT, RFC 6533 section 3) non-ASCII characters
/// are allowed too, as themselves or `+XX`-escaped, but the octets must then decode to
/// UTF-8 (RFC 6533's `utf-8-addr-unitext` is UTF-8 characters, and a DSN carries it as
/// UTF-8 in an RFC 6532 header field), and control characters never are: neither C0 nor
/// the C1 controls U+0080 to U+009F, which "MUST NOT appear" in text on the network
/// (RFC 5198 section 2; NEL, U+0085, is a line end to some readers).
///
/// Only `+XX` escapes can decode to an ASCII control character: an xchar is graphic, and a
/// non-ASCII octet as itself is only valid xtext where the caller allowed it (see
/// [`is_valid`]).
pub(crate) fn decodes_to_printable(b: &[u8], unicode: bool) -> bool {
    let mut non_ascii = !b.is_ascii();
    let escapes_ok = memchr::memchr_iter(b'+', b).all(|i| {
        let octet = match (
            b.get(i + 1).copied().and_then(hex_val),
            b.get(i + 2).copied().and_then(hex_val),
        ) {
            (Some(h), Some(l)) => h << 4 | l,
            _ => return false,
        };
        non_ascii |= octet >= 0x80;
        octet == b'\t' || (0x20..=0x7e).contains(&octet) || (unicode && octet >= 0x80)
    });
    // Non-ASCII (only possible with `unicode`): the characters themselves are checked,
    // once the escapes are undone. Rare, so the copy is no cost on the usual path.
    escapes_ok && (!non_ascii || decodes_to_text(b))
}

/// Whether valid xtext `b` decodes to UTF-8 text without control characters (HTAB aside).
fn decodes_to_text(b: &[u8]) -> bool {
    let mut raw = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match (
            c,
            b.get(i + 1).copied().and_then(hex_val),
            b.get(i + 2).copied().and_then(hex_val),
        ) {
            (b'+', Some(h), Some(l)) => {
                raw.push(h << 4 | l);
                i += 3;
            }
            _ => {
                raw.push(c);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&raw).is_ok_and(|s| s.chars().all(|c| c == '\t' || !c.is_control()))
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

impl<'a> XText<'a> {
    /// Encodes octets as xtext (upper-case hex escapes, RFC 3461 section 4).
    pub fn encode(raw: &[u8]) -> XText<'static> {
        let mut s = String::with_capacity(raw.len());
        for &b in raw {
            if is_xchar(b) {
                s.push(b as char);
            } else {
                s.push('+');
                s.push(HEX[(b >> 4) as usize] as char);
                s.push(HEX[(b & 15) as usize] as char);
            }
        }
        XText(Cow::Owned(s))
    }

    /// Decodes the xtext; `None` if it is not valid xtext. Borrows when there is no escape.
    /// Non-ASCII characters (allowed under SMTPUTF8) decode to their UTF-8 octets.
    pub fn decode(&self) -> Option<Cow<'a, [u8]>> {
        if !is_valid(&self.0, true) {
            return None;
        }
        if !self.0.as_bytes().contains(&b'+') {
            return Some(match &self.0 {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.as_bytes().to_vec()),
            });
        }
        let b = self.0.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'+' {
                let h = hex_val(*b.get(i + 1)?)?;
                let l = hex_val(*b.get(i + 2)?)?;
                out.push(h << 4 | l);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        Some(Cow::Owned(out))
    }

    /// The encoded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the value from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> XText<'static> {
        XText(Cow::Owned(self.0.into_owned()))
    }
}

impl std::fmt::Display for XText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_unicode_is_utf8_text_without_controls() {
        // ASCII: graphic, SP and HTAB only, escaped or not.
        assert!(decodes_to_printable(b"a+20b+09c", false));
        assert!(!decodes_to_printable(b"a+0D+0Ab", false));
        assert!(!decodes_to_printable(b"a+7Fb", false));
        assert!(!decodes_to_printable(b"a+C3+A9b", false));
        // utf-8 addresses (RFC 6533): UTF-8 characters, as themselves or escaped.
        for ok in [
            "a+C3+A9b",
            "a\u{e9}b",
            "\u{4f8b}+E5+AD+90",
            "a+09b",
            "a+20b",
        ] {
            assert!(decodes_to_printable(ok.as_bytes(), true), "{ok:?}");
        }
        // Never a control character (C1 included: RFC 5198 section 2), never octets that
        // are not UTF-8.
        for bad in [
            "a+C2+85b",
            "a\u{85}b",
            "a\u{9b}b",
            "a+0Ab",
            "a+FFb",
            "+C3",
            "a+C3b",
            "\u{e9}+A9",
        ] {
            assert!(!decodes_to_printable(bad.as_bytes(), true), "{bad:?}");
        }
    }

    #[test]
    fn encode_escapes_specials() {
        assert_eq!(XText::encode(b"abc").as_str(), "abc");
        assert_eq!(XText::encode(b"a b").as_str(), "a+20b");
        assert_eq!(XText::encode(b"+=").as_str(), "+2B+3D");
        assert_eq!(XText::encode(&[0, 0x7f, 0xff]).as_str(), "+00+7F+FF");
        assert_eq!(XText::encode(b"").as_str(), "");
    }

    #[test]
    fn decode_borrows_without_escapes() {
        let x = XText(Cow::Borrowed("user@example.test"));
        assert!(matches!(
            x.decode(),
            Some(Cow::Borrowed(b"user@example.test"))
        ));
        let x = XText(Cow::Borrowed("rfc822;a+2Bb"));
        assert_eq!(x.decode().unwrap().as_ref(), b"rfc822;a+b");
        let x = XText(Cow::Borrowed("+2b"));
        assert_eq!(x.decode().unwrap().as_ref(), b"+");
    }

    #[test]
    fn decode_rejects_invalid() {
        for bad in ["+", "+2", "+G0", "a=b", "a b", "\x7f"] {
            assert_eq!(XText(Cow::Borrowed(bad)).decode(), None, "{bad:?}");
        }
        assert!(!is_valid("é", false));
        assert!(is_valid("é", true));
    }

    #[test]
    fn roundtrip_all_octets() {
        let raw: Vec<u8> = (0..=255u8).collect();
        let x = XText::encode(&raw);
        assert!(is_valid(x.as_str(), false));
        assert_eq!(x.decode().unwrap().as_ref(), &raw[..]);
    }
}
