//! Paths and mailboxes (RFC 5321 4.1.2, 4.1.3; RFC 6531 for UTF-8).
//!
//! Size limits of RFC 5321 4.5.3.1 are enforced while parsing: local part 64 octets,
//! domain 255 octets, path 256 octets (including the angle brackets), each with a typed
//! [`PathError`].

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A domain name as written (dot-separated labels; U-labels only under SMTPUTF8).
///
/// Compared case-insensitively by [`Domain::eq_ignore_case`]; `PartialEq` is exact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Domain<'a>(pub Cow<'a, str>);

/// An address literal in square brackets (RFC 5321 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressLiteral<'a> {
    /// `[192.0.2.1]`
    Ipv4(Ipv4Addr),
    /// `[IPv6:2001:db8::1]`
    Ipv6(Ipv6Addr),
    /// `[tag:content]`, a General-address-literal.
    General {
        /// The Standardized-tag (e.g. a registered tag other than `IPv6`).
        tag: Cow<'a, str>,
        /// The dcontent after the colon.
        content: Cow<'a, str>,
    },
}

/// The part of a mailbox after the `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A domain name.
    Domain(Domain<'a>),
    /// An address literal.
    Literal(AddressLiteral<'a>),
}

/// The part of a mailbox before the `@` (RFC 5321 4.1.2 Local-part).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LocalPart<'a> {
    /// A Dot-string, e.g. `john.smith`.
    DotString(Cow<'a, str>),
    /// A Quoted-string: the raw text between the quotes, with its backslash escapes as
    /// written (so parsing borrows). [`LocalPart::value`] gives the unescaped value.
    Quoted(Cow<'a, str>),
}

/// A mailbox: `local-part@host` (RFC 5321 4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox<'a> {
    /// Before the `@`.
    pub local_part: LocalPart<'a>,
    /// After the `@`.
    pub host: Host<'a>,
}

/// The argument of `MAIL FROM:` (RFC 5321 4.1.2 Reverse-path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath<'a> {
    /// The null path `<>` (bounces, DSNs).
    Null,
    /// A mailbox. A source route, if one was given, was parsed and dropped (4.1.2 allows it).
    Mailbox(Mailbox<'a>),
}

/// The argument of `RCPT TO:` (RFC 5321 4.1.2 Forward-path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath<'a> {
    /// `<Postmaster>` without a domain (case-insensitive; RFC 5321 4.1.1.3).
    Postmaster,
    /// A mailbox. A source route, if one was given, was parsed and dropped.
    Mailbox(Mailbox<'a>),
}

use super::{Leniency, ParseOptions, PathError};
use crate::limits::{MAX_DOMAIN, MAX_LOCAL_PART, MAX_PATH};

/// `atext` of RFC 5322 3.2.3 as used by RFC 5321 4.1.2 (`Atom`).
#[inline]
pub(crate) fn is_atext(b: u8) -> bool {
    super::scan::is(b, super::scan::ATEXT)
}

#[inline]
fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

/// Whether the octet at `b[i]`, in valid UTF-8, starts a C1 control character (U+0080 to
/// U+009F, encoded `C2 80` to `C2 9F`). RFC 6531 lets `UTF8-non-ascii` into addresses, and
/// RFC 5198 section 2 says the C1 controls "MUST NOT appear" in text on the network: NEL
/// (U+0085) is a line end to some readers, CSI (U+009B) a terminal escape. An address goes
/// into header fields (`Return-Path`, `Received`, a DSN's recipient fields), so they are
/// refused like the ASCII controls.
#[inline]
fn is_c1_at(b: &[u8], i: usize) -> bool {
    b[i] == 0xC2 && b.get(i + 1).is_some_and(|&c| c < 0xA0)
}

/// `Dot-string = Atom *("." Atom)`; with `utf8`, non-ASCII characters other than the C1
/// controls ([`is_c1_at`]) count as atext (RFC 6531 3.3).
fn is_dot_string(s: &str, utf8: bool) -> bool {
    let mut prev_dot = true; // no leading dot
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.' {
            if prev_dot {
                return false;
            }
            prev_dot = true;
        } else if is_atext(b) || (utf8 && b >= 0x80 && !is_c1_at(bytes, i)) {
            prev_dot = false;
        } else {
            return false;
        }
    }
    !prev_dot
}

/// The content of a `Quoted-string` between the quotes: `qtextSMTP` (32-33, 35-91, 93-126)
/// and `quoted-pairSMTP` (backslash followed by 32-126); non-ASCII with `utf8`, C1
/// controls aside ([`is_c1_at`]).
fn is_quoted_content(s: &str, utf8: bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => match b.get(i + 1) {
                Some(&c) if (32..=126).contains(&c) => i += 2,
                _ => return false,
            },
            b'"' => return false,
            32..=126 => i += 1,
            c if utf8 && c >= 0x80 && !is_c1_at(b, i) => i += 1,
            _ => return false,
        }
    }
    true
}

/// Index of the closing quote of a quoted string starting at `b[0] == b'"'`.
fn closing_quote(b: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Checks `Domain = sub-domain *("." sub-domain)` (RFC 5321 4.1.2), labels of 1 to 63
/// octets (RFC 1035 2.3.4), total at most 255 octets (4.5.3.1.2). With `utf8`, non-ASCII
/// characters are allowed in labels (U-labels, RFC 6531 3.3).
fn check_domain(s: &str, utf8: bool) -> Result<(), PathError> {
    if utf8 && !s.is_ascii() {
        return check_idn_domain(s);
    }
    if s.len() > MAX_DOMAIN {
        return Err(PathError::DomainTooLong);
    }
    let mut label_len = 0usize;
    let mut prev = b'.';
    for &c in s.as_bytes() {
        if c == b'.' {
            if label_len == 0 || prev == b'-' {
                return Err(PathError::Syntax);
            }
            label_len = 0;
        } else {
            let ok = super::scan::is(c, super::scan::ALNUM)
                || (c == b'-' && label_len > 0)
                || (utf8 && c >= 0x80);
            if !ok || label_len == 63 {
                return Err(PathError::Syntax);
            }
            label_len += 1;
        }
        prev = c;
    }
    if label_len == 0 || prev == b'-' {
        return Err(PathError::Syntax);
    }
    Ok(())
}

/// A domain with U-labels (RFC 6531 3.3). The label and domain length limits apply to the
/// A-label form the domain has in DNS (RFC 5890 2.3.2.1, 4.2): a U-label of 22 CJK
/// characters is 66 octets of UTF-8 but `xn--` and 24 octets of Punycode, which is fine.
/// ASCII characters in a U-label follow the LDH rule. (Whether a U-label is a valid IDNA
/// label, NFC and all, is for a resolver to say.)
fn check_idn_domain(s: &str) -> Result<(), PathError> {
    let mut total = 0usize;
    for (i, label) in s.split('.').enumerate() {
        let b = label.as_bytes();
        if b.is_empty() || b[0] == b'-' || b[b.len() - 1] == b'-' {
            return Err(PathError::Syntax);
        }
        // Non-ASCII: any character but a C1 control (see `is_c1_at`; IDNA2008 disallows
        // every control, RFC 5892 2.2).
        let ldh = |(i, c): (usize, &u8)| {
            c.is_ascii_alphanumeric() || *c == b'-' || (*c >= 0x80 && !is_c1_at(b, i))
        };
        if !b.iter().enumerate().all(ldh) {
            return Err(PathError::Syntax);
        }
        let len = if label.is_ascii() {
            label.len()
        } else {
            4 + punycode_len(label).ok_or(PathError::Syntax)?
        };
        if len > 63 {
            return Err(PathError::Syntax);
        }
        total += len + usize::from(i > 0);
    }
    if total > MAX_DOMAIN {
        return Err(PathError::DomainTooLong);
    }
    Ok(())
}

/// The length of the Punycode encoding (RFC 3492 6.3) of `label`, without computing it;
/// `None` on overflow (a label far too long anyway).
fn punycode_len(label: &str) -> Option<usize> {
    const BASE: u64 = 36;
    const TMIN: u64 = 1;
    const TMAX: u64 = 26;
    const SKEW: u64 = 38;
    const DAMP: u64 = 700;
    let adapt = |delta: u64, points: u64, first: bool| {
        let mut delta = if first { delta / DAMP } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - TMIN) * TMAX) / 2 {
            delta /= BASE - TMIN;
            k += BASE;
        }
        k + (BASE - TMIN + 1) * delta / (delta + SKEW)
    };
    let total = label.chars().count() as u64;
    let basic = label.chars().filter(char::is_ascii).count() as u64;
    let mut out = basic + u64::from(basic > 0);
    let (mut n, mut delta, mut bias, mut h) = (128u64, 0u64, 72u64, basic);
    while h < total {
        let m = label.chars().map(u64::from).filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(h + 1)?)?;
        n = m;
        for c in label.chars().map(u64::from) {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        TMIN
                    } else if k >= bias + TMAX {
                        TMAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out += 1;
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out += 1;
                bias = adapt(delta, h + 1, h == basic);
                delta = 0;
                h += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n += 1;
    }
    usize::try_from(out).ok()
}

/// `Snum` (1 to 3 digits, 0..=255) x 4 separated by dots (RFC 5321 4.1.3).
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for o in octets.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u16 = p.bytes().fold(0u16, |a, b| a * 10 + u16::from(b - b'0'));
        *o = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// `IPv6-addr` of RFC 5321 4.1.3 (not every form `Ipv6Addr`'s parser takes):
///
/// * `IPv6-full`: eight groups of 1 to 4 hex digits;
/// * `IPv6-comp`: `::` standing for *at least two* zero groups, with at most six others;
/// * `IPv6v4-full`: six groups, then an IPv4 address (`Snum`, leading zeros allowed);
/// * `IPv6v4-comp`: `::` with at most four other groups, then an IPv4 address.
fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    // An IPv4 tail: after the last colon, with dots.
    let (groups, v4) = match s.rfind(':') {
        Some(i) if s[i + 1..].contains('.') => {
            let v4 = parse_ipv4(&s[i + 1..])?;
            // Keep a `::` right before the IPv4 part whole; drop a single separator.
            let head = if s[..=i].ends_with("::") {
                &s[..=i]
            } else {
                &s[..i]
            };
            (head, Some(v4))
        }
        _ => (s, None),
    };
    let wanted = if v4.is_some() { 6 } else { 8 };
    // Up to eight groups on each side of a `::` (no allocation: this runs per address).
    fn hex_groups(part: &str, out: &mut [u16; 8]) -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let mut n = 0;
        for g in part.split(':') {
            if g.is_empty() || g.len() > 4 || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            *out.get_mut(n)? = u16::from_str_radix(g, 16).ok()?;
            n += 1;
        }
        Some(n)
    }
    let (mut left, mut right) = ([0u16; 8], [0u16; 8]);
    let (nl, nr) = match groups.split_once("::") {
        Some((l, r)) => {
            if r.contains("::") {
                return None;
            }
            let (nl, nr) = (hex_groups(l, &mut left)?, hex_groups(r, &mut right)?);
            // `::` stands for two groups or more.
            if nl + nr > wanted - 2 {
                return None;
            }
            (nl, nr)
        }
        None => {
            let n = hex_groups(groups, &mut left)?;
            if n != wanted {
                return None;
            }
            (n, 0)
        }
    };
    let mut words = [0u16; 8];
    words[..nl].copy_from_slice(&left[..nl]);
    words[wanted - nr..wanted].copy_from_slice(&right[..nr]);
    if let Some(v4) = v4 {
        let o = v4.octets();
        words[6] = u16::from_be_bytes([o[0], o[1]]);
        words[7] = u16::from_be_bytes([o[2], o[3]]);
    }
    Some(Ipv6Addr::from(words))
}

/// `Standardized-tag = Ldh-str` with `Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig` (RFC 5321
/// 4.1.2, 4.1.3): letters, digits and hyphens, ending in a letter or digit. Unlike a
/// `sub-domain` (`Let-dig [Ldh-str]`) it may start with a hyphen.
fn is_ldh_tag(s: &str) -> bool {
    let b = s.as_bytes();
    b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

impl<'a> Domain<'a> {
    /// Parses and checks a domain name (RFC 5321 4.1.2; U-labels only with `opts.utf8`).
    pub fn parse(s: &'a str, opts: &ParseOptions) -> Result<Domain<'a>, PathError> {
        if !opts.utf8 && !s.is_ascii() {
            return Err(PathError::NonAscii);
        }
        check_domain(s, opts.utf8)?;
        Ok(Domain(Cow::Borrowed(s)))
    }

    /// Case-insensitive (ASCII) comparison, as domain names compare (RFC 5321 2.4).
    pub fn eq_ignore_case(&self, other: &Domain<'_>) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// The domain as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Detaches the domain from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> Domain<'static> {
        Domain(own(self.0))
    }
}

impl<'a> AddressLiteral<'a> {
    /// Parses an address literal including its square brackets (RFC 5321 4.1.3):
    /// `[192.0.2.1]`, `[IPv6:2001:db8::1]` or `[tag:content]`.
    pub fn parse(s: &'a str) -> Result<AddressLiteral<'a>, PathError> {
        let inner = s
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .ok_or(PathError::Syntax)?;
        if let Some((tag, content)) = inner.split_once(':') {
            if tag.eq_ignore_ascii_case("IPv6") {
                return parse_ipv6(content)
                    .map(AddressLiteral::Ipv6)
                    .ok_or(PathError::Syntax);
            }
            // dcontent = %d33-90 / %d94-126
            let ok_content = !content.is_empty()
                && content
                    .bytes()
                    .all(|b| (33..=90).contains(&b) || (94..=126).contains(&b));
            if is_ldh_tag(tag) && ok_content {
                return Ok(AddressLiteral::General {
                    tag: Cow::Borrowed(tag),
                    content: Cow::Borrowed(content),
                });
            }
            return Err(PathError::Syntax);
        }
        parse_ipv4(inner)
            .map(AddressLiteral::Ipv4)
            .ok_or(PathError::Syntax)
    }

    /// Detaches the literal from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> AddressLiteral<'static> {
        match self {
            AddressLiteral::Ipv4(a) => AddressLiteral::Ipv4(a),
            AddressLiteral::Ipv6(a) => AddressLiteral::Ipv6(a),
            AddressLiteral::General { tag, content } => AddressLiteral::General {
                tag: own(tag),
                content: own(content),
            },
        }
    }
}

impl std::fmt::Display for Domain<'_> {
    /// The domain as written (as [`Domain::as_str`]).
    ///
    /// ```
    /// use ehlo::syntax::path::Domain;
    /// use ehlo::syntax::ParseOptions;
    /// let d = Domain::parse("Example.TEST", &ParseOptions::default()).unwrap();
    /// assert_eq!(d.to_string(), "Example.TEST");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for AddressLiteral<'_> {
    /// `[192.0.2.1]`, `[IPv6:2001:db8::1]`, `[tag:content]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddressLiteral::Ipv4(a) => write!(f, "[{a}]"),
            AddressLiteral::Ipv6(a) => write!(f, "[IPv6:{a}]"),
            AddressLiteral::General { tag, content } => write!(f, "[{tag}:{content}]"),
        }
    }
}

impl<'a> Host<'a> {
    /// Parses a domain or an address literal (RFC 5321 4.1.2 `Domain / address-literal`).
    pub fn parse(s: &'a str, opts: &ParseOptions) -> Result<Host<'a>, PathError> {
        if s.starts_with('[') {
            AddressLiteral::parse(s).map(Host::Literal)
        } else {
            Domain::parse(s, opts).map(Host::Domain)
        }
    }

    /// Detaches the host from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> Host<'static> {
        match self {
            Host::Domain(d) => Host::Domain(d.into_owned()),
            Host::Literal(l) => Host::Literal(l.into_owned()),
        }
    }
}

impl std::fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(&d.0),
            Host::Literal(l) => l.fmt(f),
        }
    }
}

impl<'a> LocalPart<'a> {
    /// The unescaped value: a Dot-string as is, a Quoted-string without its quotes and
    /// with its backslash escapes resolved (allocates only when there is an escape).
    pub fn value(&self) -> Cow<'_, str> {
        match self {
            LocalPart::DotString(s) => Cow::Borrowed(s),
            LocalPart::Quoted(s) => {
                if !s.contains('\\') {
                    return Cow::Borrowed(s);
                }
                let mut out = String::with_capacity(s.len());
                let mut esc = false;
                for c in s.chars() {
                    if !esc && c == '\\' {
                        esc = true;
                    } else {
                        out.push(c);
                        esc = false;
                    }
                }
                Cow::Owned(out)
            }
        }
    }

    /// Detaches the local part from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> LocalPart<'static> {
        match self {
            LocalPart::DotString(s) => LocalPart::DotString(own(s)),
            LocalPart::Quoted(s) => LocalPart::Quoted(own(s)),
        }
    }
}

impl std::fmt::Display for LocalPart<'_> {
    /// The wire form: a Dot-string as is, a Quoted-string with its quotes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalPart::DotString(s) => f.write_str(s),
            LocalPart::Quoted(s) => write!(f, "\"{s}\""),
        }
    }
}

impl<'a> Mailbox<'a> {
    /// Parses `local@host` (no angle brackets), enforcing the 4.5.3.1 limits.
    ///
    /// ```
    /// use ehlo::syntax::path::{Mailbox, LocalPart};
    /// use ehlo::syntax::ParseOptions;
    /// let m = Mailbox::parse("\"john smith\"@[192.0.2.1]", &ParseOptions::default()).unwrap();
    /// assert_eq!(m.local_part, LocalPart::Quoted("john smith".into()));
    /// assert_eq!(m.to_string(), "\"john smith\"@[192.0.2.1]");
    /// ```
    pub fn parse(s: &'a str, opts: &ParseOptions) -> Result<Mailbox<'a>, PathError> {
        if !opts.utf8 && !s.is_ascii() {
            return Err(PathError::NonAscii);
        }
        let b = s.as_bytes();
        let (local, host) = if b.first() == Some(&b'"') {
            let end = closing_quote(b).ok_or(PathError::Syntax)?;
            if b.get(end + 1) != Some(&b'@') {
                return Err(PathError::Syntax);
            }
            (&s[..=end], &s[end + 2..])
        } else {
            let at = memchr::memchr(b'@', b).ok_or(PathError::Syntax)?;
            (&s[..at], &s[at + 1..])
        };
        if local.len() > MAX_LOCAL_PART {
            return Err(PathError::LocalPartTooLong);
        }
        let local_part = if let Some(q) = local.strip_prefix('"') {
            let q = &q[..q.len() - 1];
            if !is_quoted_content(q, opts.utf8) {
                return Err(PathError::Syntax);
            }
            LocalPart::Quoted(Cow::Borrowed(q))
        } else {
            if !is_dot_string(local, opts.utf8) {
                return Err(PathError::Syntax);
            }
            LocalPart::DotString(Cow::Borrowed(local))
        };
        let host = Host::parse(host, opts)?;
        Ok(Mailbox { local_part, host })
    }

    /// The domain after the `@`, or `None` when it is an address literal.
    pub fn domain(&self) -> Option<&Domain<'a>> {
        match &self.host {
            Host::Domain(d) => Some(d),
            Host::Literal(_) => None,
        }
    }

    /// Detaches the mailbox from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            local_part: self.local_part.into_owned(),
            host: self.host.into_owned(),
        }
    }
}

impl std::fmt::Display for Mailbox<'_> {
    /// `local@host` in canonical form (quoted local parts keep their quotes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Piece by piece rather than `write!`: paths are formatted per recipient.
        self.local_part.fmt(f)?;
        f.write_str("@")?;
        self.host.fmt(f)
    }
}

/// Fast path for the common `<local@domain>` shape at the start of `s` (`s[0] == b'<'`):
/// a Dot-string local part and a domain name, ASCII only, no quotes, literal or source
/// route, all limits of 4.5.3.1 met. One pass with a class table. Returns the mailbox and the
/// index of the closing `>`, or `None` for anything else (the general parser then decides,
/// so every error keeps its exact kind).
#[inline]
pub(crate) fn fast_mailbox(s: &str) -> Option<(&str, &str, usize)> {
    use super::scan::{is, ATEXT, LDH};
    let b = s.as_bytes();
    if b.first() != Some(&b'<') {
        return None;
    }
    let n = b.len();
    // Local part: Atom *("." Atom), one tight class-table scan per atom.
    let mut i = 1;
    loop {
        let start = i;
        while i < n && is(b[i], ATEXT) {
            i += 1;
        }
        if i == start || i >= n {
            return None; // empty atom (leading, trailing or doubled dot), or the end
        }
        match b[i] {
            b'.' => i += 1,
            b'@' => break,
            _ => return None,
        }
    }
    let at = i;
    if at - 1 > MAX_LOCAL_PART {
        return None;
    }
    // Domain: labels of 1 to 63 letters, digits and inner hyphens.
    i += 1;
    loop {
        let start = i;
        while i < n && is(b[i], LDH) {
            i += 1;
        }
        if i == start || i - start > 63 || i >= n || b[start] == b'-' || b[i - 1] == b'-' {
            return None;
        }
        match b[i] {
            b'.' => i += 1,
            b'>' => break,
            _ => return None,
        }
    }
    let end = i;
    if end - at - 1 > MAX_DOMAIN || end + 1 > MAX_PATH {
        return None;
    }
    Some((s.get(1..at)?, s.get(at + 1..end)?, end))
}

/// The mailbox of a Dot-string local part and a domain name, as [`fast_mailbox`] finds
/// them.
#[inline(always)]
pub(crate) fn dot_mailbox<'a>(local: &'a str, domain: &'a str) -> Mailbox<'a> {
    Mailbox {
        local_part: LocalPart::DotString(Cow::Borrowed(local)),
        host: Host::Domain(Domain(Cow::Borrowed(domain))),
    }
}

/// Splits `<path>` into its inner text, checking the 256-octet path limit. Without
/// brackets (accepted under [`Leniency::Lenient`] only) the limit counts the brackets
/// that should have been there.
///
/// Only a plain mailbox may lose its brackets ([`Leniency`]: "a path without its angle
/// brackets (a plain mailbox, no source route)"): a source route exists only inside
/// `Path = "<" [ A-d-l ":" ] Mailbox ">"` (RFC 5321 4.1.2), so text starting with the `@` of
/// an `A-d-l` is refused here.
fn unbracket<'a>(s: &'a str, opts: &ParseOptions) -> Result<&'a str, PathError> {
    let inner = match s.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
        Some(inner) => inner,
        None if opts.leniency == Leniency::Lenient
            && !s.is_empty()
            && !s.starts_with('<')
            && !s.starts_with('@')
            && !s.ends_with('>') =>
        {
            s
        }
        None => return Err(PathError::Syntax),
    };
    if inner.len() + 2 > MAX_PATH {
        return Err(PathError::PathTooLong);
    }
    Ok(inner)
}

/// Skips an `A-d-l` source route (`@a,@b:`) at the start of a path, checking its domains
/// (RFC 5321 4.1.2; the route is then ignored as 4.1.2 and appendix C allow).
fn skip_source_route<'a>(inner: &'a str, opts: &ParseOptions) -> Result<&'a str, PathError> {
    if !inner.starts_with('@') {
        return Ok(inner);
    }
    let (route, rest) = inner.split_once(':').ok_or(PathError::Syntax)?;
    for at_domain in route.split(',') {
        let d = at_domain.strip_prefix('@').ok_or(PathError::Syntax)?;
        Domain::parse(d, opts)?;
    }
    Ok(rest)
}

impl<'a> ReversePath<'a> {
    /// Parses a reverse-path with its angle brackets: `<>`, `<a@b>`, `<@route:a@b>`.
    /// Under [`Leniency::Lenient`] the brackets around a plain address may be missing.
    pub fn parse(s: &'a str, opts: &ParseOptions) -> Result<ReversePath<'a>, PathError> {
        let inner = unbracket(s, opts)?;
        if inner.is_empty() {
            return Ok(ReversePath::Null);
        }
        let inner = skip_source_route(inner, opts)?;
        Mailbox::parse(inner, opts).map(ReversePath::Mailbox)
    }

    /// The mailbox, or `None` for the null path `<>`.
    ///
    /// ```
    /// use ehlo::syntax::path::ReversePath;
    /// use ehlo::syntax::ParseOptions;
    /// let opts = ParseOptions::default();
    /// let from = ReversePath::parse("<alice@example.test>", &opts).unwrap();
    /// let domain = from.mailbox().and_then(|m| m.domain()).map(|d| d.as_str());
    /// assert_eq!(domain, Some("example.test"));
    /// assert_eq!(ReversePath::parse("<>", &opts).unwrap().mailbox(), None);
    /// ```
    pub fn mailbox(&self) -> Option<&Mailbox<'a>> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }

    /// Detaches the path from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> ReversePath<'static> {
        match self {
            ReversePath::Null => ReversePath::Null,
            ReversePath::Mailbox(m) => ReversePath::Mailbox(m.into_owned()),
        }
    }
}

impl std::fmt::Display for ReversePath<'_> {
    /// `<>` or `<local@host>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => {
                f.write_str("<")?;
                m.fmt(f)?;
                f.write_str(">")
            }
        }
    }
}

impl<'a> ForwardPath<'a> {
    /// Parses a forward-path with its angle brackets: `<a@b>`, `<Postmaster>`,
    /// `<@route:a@b>`. Under [`Leniency::Lenient`] the brackets around a plain address may be
    /// missing.
    pub fn parse(s: &'a str, opts: &ParseOptions) -> Result<ForwardPath<'a>, PathError> {
        let inner = unbracket(s, opts)?;
        if inner.eq_ignore_ascii_case("postmaster") {
            return Ok(ForwardPath::Postmaster);
        }
        let inner = skip_source_route(inner, opts)?;
        Mailbox::parse(inner, opts).map(ForwardPath::Mailbox)
    }

    /// The mailbox, or `None` for `<Postmaster>` without a domain.
    ///
    /// ```
    /// use ehlo::syntax::path::ForwardPath;
    /// use ehlo::syntax::ParseOptions;
    /// let to = ForwardPath::parse("<bob@[192.0.2.1]>", &ParseOptions::default()).unwrap();
    /// let mailbox = to.mailbox().unwrap();
    /// assert_eq!(mailbox.domain(), None); // an address literal, not a domain
    /// assert_eq!(mailbox.host.to_string(), "[192.0.2.1]");
    /// ```
    pub fn mailbox(&self) -> Option<&Mailbox<'a>> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(m) => Some(m),
        }
    }

    /// Detaches the path from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> ForwardPath<'static> {
        match self {
            ForwardPath::Postmaster => ForwardPath::Postmaster,
            ForwardPath::Mailbox(m) => ForwardPath::Mailbox(m.into_owned()),
        }
    }
}

impl std::fmt::Display for ForwardPath<'_> {
    /// `<Postmaster>` or `<local@host>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => {
                f.write_str("<")?;
                m.fmt(f)?;
                f.write_str(">")
            }
        }
    }
}

/// Writes a mailbox in wire form without allocating.
pub(crate) fn put_mailbox(out: &mut impl bytes::BufMut, m: &Mailbox<'_>) {
    match &m.local_part {
        LocalPart::DotString(s) => out.put_slice(s.as_bytes()),
        LocalPart::Quoted(s) => {
            out.put_u8(b'"');
            out.put_slice(s.as_bytes());
            out.put_u8(b'"');
        }
    }
    out.put_u8(b'@');
    match &m.host {
        Host::Domain(d) => out.put_slice(d.0.as_bytes()),
        Host::Literal(l) => {
            use std::io::Write as _;
            // An address literal is at most ~50 octets: format it on the stack.
            let mut buf = [0u8; 64];
            let mut cur = std::io::Cursor::new(&mut buf[..]);
            if let AddressLiteral::General { tag, content } = l {
                out.put_u8(b'[');
                out.put_slice(tag.as_bytes());
                out.put_u8(b':');
                out.put_slice(content.as_bytes());
                out.put_u8(b']');
            } else if write!(cur, "{l}").is_ok() {
                let n = usize::try_from(cur.position()).unwrap_or(0);
                out.put_slice(&buf[..n]);
            }
        }
    }
}

/// Writes `<>`/`<Postmaster>`/`<mailbox>`.
pub(crate) fn put_reverse_path(out: &mut impl bytes::BufMut, p: &ReversePath<'_>) {
    match p {
        ReversePath::Null => out.put_slice(b"<>"),
        ReversePath::Mailbox(m) => {
            out.put_u8(b'<');
            put_mailbox(out, m);
            out.put_u8(b'>');
        }
    }
}

/// Writes `<Postmaster>`/`<mailbox>`.
pub(crate) fn put_forward_path(out: &mut impl bytes::BufMut, p: &ForwardPath<'_>) {
    match p {
        ForwardPath::Postmaster => out.put_slice(b"<Postmaster>"),
        ForwardPath::Mailbox(m) => {
            out.put_u8(b'<');
            put_mailbox(out, m);
            out.put_u8(b'>');
        }
    }
}

/// Finds the end of a bracketed path at the start of `b` (`b[0] == b'<'`): the index of
/// the `>` that closes it. A `>` can also appear inside a quoted local part and inside a
/// General-address-literal (`dcontent` includes it, RFC 5321 4.1.3), so the scan follows the
/// path's structure: optional source route, local part (quoted or not), then the host.
pub(crate) fn closing_bracket(b: &[u8]) -> Option<usize> {
    // Fast path: no quote, no literal and no route before the first '>'.
    if let Some(j) = memchr::memchr(b'>', b) {
        let head = b.get(1..j)?;
        if head.first() != Some(&b'@') && memchr::memchr2(b'"', b'[', head).is_none() {
            return Some(j);
        }
    }
    let mut i = 1;
    // A-d-l source route up to its ':' (domains hold neither ':' nor '>').
    if b.get(i) == Some(&b'@') {
        loop {
            match *b.get(i)? {
                b'>' => return Some(i),
                b':' => break,
                _ => i += 1,
            }
        }
        i += 1;
    }
    // Quoted-string local part.
    if b.get(i) == Some(&b'"') {
        i += 1;
        loop {
            match *b.get(i)? {
                b'\\' => i += 2,
                b'"' => break,
                _ => i += 1,
            }
        }
        i += 1;
    }
    while i < b.len() {
        match b[i] {
            b'>' => return Some(i),
            b'@' if b.get(i + 1) == Some(&b'[') => {
                i += 2;
                while *b.get(i)? != b']' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenient() -> ParseOptions {
        ParseOptions::default()
    }
    fn strict() -> ParseOptions {
        ParseOptions {
            leniency: Leniency::Strict,
            ..ParseOptions::default()
        }
    }
    fn utf8() -> ParseOptions {
        ParseOptions {
            utf8: true,
            ..ParseOptions::default()
        }
    }

    #[test]
    fn ipv6_literals_follow_rfc_5321_grammar() {
        for (lit, want) in [
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("::", "::"),
            ("1::", "1::"),
            ("::1", "::1"),
            ("2001:DB8::1", "2001:db8::1"),
            ("1:2:3:4:5:6::", "1:2:3:4:5:6::"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("::ffff:001.002.003.004", "::ffff:1.2.3.4"),
            ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
            ("1:2:3:4::1.2.3.4", "1:2:3:4::102:304"),
            ("::1.2.3.4", "::102:304"),
            ("1::2:3.4.5.6", "1::2:304:506"),
            ("1:2::3:4:1.2.3.4", "1:2::3:4:102:304"),
        ] {
            let parsed = parse_ipv6(lit).unwrap_or_else(|| panic!("{lit} refused"));
            assert_eq!(parsed.to_string(), want, "{lit}");
            // What the serializer writes parses back to the same address.
            assert_eq!(parse_ipv6(&parsed.to_string()), Some(parsed), "{lit}");
        }
        for lit in [
            "",
            ":",
            ":::",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            // `::` must stand for two groups or more.
            "1:2:3:4:5:6:7::",
            "::1:2:3:4:5:6:7",
            "1:2:3::4:5:6:7",
            "1::2::3",
            ":1::2",
            "12345::",
            "g::",
            // At most four groups besides `::` before an IPv4 address, six without it.
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:1.2.3.4",
            "::1.2.3",
            "::1.2.3.256",
            ":::1.2.3.4",
        ] {
            assert_eq!(parse_ipv6(lit), None, "{lit} accepted");
        }
    }

    #[test]
    fn punycode_lengths() {
        // RFC 3492 7.1 and the usual examples.
        assert_eq!(punycode_len("bücher"), Some("bcher-kva".len()));
        assert_eq!(punycode_len("münchen"), Some("mnchen-3ya".len()));
        assert_eq!(
            punycode_len(&"中".repeat(22)),
            Some("fiqaaaaaaaaaaaaaaaaaaaaa".len())
        );
        // (A) Arabic (Egyptian), RFC 3492 7.1.
        let arabic = "\u{644}\u{64A}\u{647}\u{645}\u{627}\u{628}\u{62A}\u{643}\u{644}\u{645}\u{648}\u{634}\u{639}\u{631}\u{628}\u{64A}\u{61F}";
        assert_eq!(punycode_len(arabic), Some("egbpdaj6bu4bxfgehfvwxn".len()));
    }

    #[test]
    fn u_label_limits_count_the_a_label() {
        // 66 octets of UTF-8, `xn--` + 24 in DNS: valid (RFC 5890 2.3.2.1).
        let d = format!("{}.example", "中".repeat(22));
        assert!(Domain::parse(&d, &utf8()).is_ok());
        // An A-label over 63 octets is not.
        let d = format!("{}.example", "中".repeat(60));
        assert_eq!(Domain::parse(&d, &utf8()), Err(PathError::Syntax));
        for bad in ["-ü.example", "ü-.example", "ü_x.example", "ü..example"] {
            assert!(Domain::parse(bad, &utf8()).is_err(), "{bad}");
        }
        assert!(Domain::parse("bücher.example", &utf8()).is_ok());
        // The whole domain, in A-labels, is at most 255 octets.
        let label = "ü".repeat(20);
        let d = [label.as_str(); 12].join(".");
        assert_eq!(Domain::parse(&d, &utf8()), Err(PathError::DomainTooLong));
    }

    #[test]
    fn dot_string_mailboxes() {
        let m = Mailbox::parse("john.smith@example.test", &strict()).unwrap();
        assert_eq!(m.local_part, LocalPart::DotString("john.smith".into()));
        assert_eq!(m.host, Host::Domain(Domain("example.test".into())));
        assert_eq!(m.to_string(), "john.smith@example.test");
        for bad in [
            "a..b@x.test",
            ".a@x.test",
            "a.@x.test",
            "@x.test",
            "a@",
            "a",
            "a b@x.test",
            "a@-x.test",
            "a@x-.test",
            "a@x..test",
            "a@x.test.",
            "a@x_y.test",
        ] {
            assert_eq!(
                Mailbox::parse(bad, &strict()),
                Err(PathError::Syntax),
                "{bad}"
            );
        }
        assert!(Mailbox::parse("!#$%&'*+-/=?^_`{|}~@x", &strict()).is_ok());
    }

    #[test]
    fn quoted_local_parts() {
        let m = Mailbox::parse(r#""a \"b\"@c"@x.test"#, &strict()).unwrap();
        assert_eq!(m.local_part, LocalPart::Quoted(r#"a \"b\"@c"#.into()));
        assert_eq!(m.local_part.value(), r#"a "b"@c"#);
        assert_eq!(m.to_string(), r#""a \"b\"@c"@x.test"#);
        assert!(Mailbox::parse(r#"""@x.test"#, &strict()).is_ok());
        assert_eq!(
            Mailbox::parse(r#""a@x.test"#, &strict()),
            Err(PathError::Syntax)
        );
        assert_eq!(
            Mailbox::parse("\"a\tb\"@x.test", &strict()),
            Err(PathError::Syntax)
        );
        assert_eq!(
            Mailbox::parse("\"a\"b@x.test", &strict()),
            Err(PathError::Syntax)
        );
    }

    #[test]
    fn address_literals() {
        let m = Mailbox::parse("a@[192.0.2.1]", &strict()).unwrap();
        assert_eq!(
            m.host,
            Host::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        let m = Mailbox::parse("a@[ipv6:2001:db8::1]", &strict()).unwrap();
        assert_eq!(m.to_string(), "a@[IPv6:2001:db8::1]");
        let m = Mailbox::parse("a@[x-tag:some.thing]", &strict()).unwrap();
        assert_eq!(m.to_string(), "a@[x-tag:some.thing]");
        // Standardized-tag = Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig (RFC 5321 4.1.2,
        // 4.1.3): it may start with a hyphen and be one letter or digit, not end in one.
        for ok in ["a@[-x:y]", "a@[--9:y]", "a@[7:y]", "a@[X:a:b]"] {
            let m = Mailbox::parse(ok, &strict()).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
            assert_eq!(m.to_string(), ok);
        }
        for bad in [
            "a@[256.0.0.1]",
            "a@[1.2.3]",
            "a@[1.2.3.4.5]",
            "a@[IPv6:1.2.3.4]",
            "a@[IPv6:zz::]",
            "a@[tag:]",
            "a@[tag-:x]",
            "a@[-:x]",
            "a@[:x]",
            "a@[t_g:x]",
            "a@[tag:a]b]",
            "a@[1.2.3.4",
            "a@[]",
        ] {
            assert_eq!(
                Mailbox::parse(bad, &strict()),
                Err(PathError::Syntax),
                "{bad}"
            );
        }
        assert_eq!(
            AddressLiteral::parse("[001.002.003.004]").unwrap(),
            AddressLiteral::Ipv4(Ipv4Addr::new(1, 2, 3, 4))
        );
    }

    #[test]
    fn limits() {
        let local = "a".repeat(64);
        assert!(Mailbox::parse(&format!("{local}@x.test"), &strict()).is_ok());
        let local = "a".repeat(65);
        assert_eq!(
            Mailbox::parse(&format!("{local}@x.test"), &strict()),
            Err(PathError::LocalPartTooLong)
        );
        let label = "a".repeat(63);
        let domain = format!("{label}.{label}.{label}.{}", "b".repeat(63)); // 255
        assert_eq!(domain.len(), 255);
        assert!(Domain::parse(&domain, &strict()).is_ok());
        assert_eq!(
            Domain::parse(&format!("a{domain}"), &strict()),
            Err(PathError::DomainTooLong)
        );
        assert_eq!(
            Domain::parse(&"a".repeat(64), &strict()),
            Err(PathError::Syntax)
        );
        // path: 1 + 64 + 1 + 189 + 1 = 256 octets with the brackets
        let ok = format!(
            "<{}@{}.{}.{}>",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(ok.len(), 256);
        assert!(ReversePath::parse(&ok, &strict()).is_ok());
        let long = format!(
            "<{}@{}.{}.{}>",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62)
        );
        assert_eq!(
            ReversePath::parse(&long, &strict()),
            Err(PathError::PathTooLong)
        );
    }

    #[test]
    fn paths() {
        assert_eq!(ReversePath::parse("<>", &strict()), Ok(ReversePath::Null));
        assert_eq!(
            ForwardPath::parse("<postMaster>", &strict()),
            Ok(ForwardPath::Postmaster)
        );
        assert_eq!(ForwardPath::parse("<>", &strict()), Err(PathError::Syntax));
        let p = ForwardPath::parse("<@a.test,@b.test:u@c.test>", &strict()).unwrap();
        assert_eq!(p.to_string(), "<u@c.test>");
        assert_eq!(
            ForwardPath::parse("<@a.test,b.test:u@c.test>", &strict()),
            Err(PathError::Syntax)
        );
        assert_eq!(
            ForwardPath::parse("u@c.test", &strict()),
            Err(PathError::Syntax)
        );
        assert!(ForwardPath::parse("u@c.test", &lenient()).is_ok());
        assert_eq!(
            ForwardPath::parse("<u@c.test", &lenient()),
            Err(PathError::Syntax)
        );
        assert_eq!(
            ReversePath::parse("<postmaster>", &lenient()),
            Err(PathError::Syntax)
        );
    }

    #[test]
    fn a_path_without_brackets_has_no_source_route() {
        // Lenient mode lets the brackets of a plain mailbox go missing, no more: a source
        // route needs its `Path = "<" [ A-d-l ":" ] Mailbox ">"` (RFC 5321 4.1.2).
        for s in ["@a.test:u@c.test", "@a.test,@b.test:u@c.test"] {
            assert_eq!(
                ReversePath::parse(s, &lenient()),
                Err(PathError::Syntax),
                "{s}"
            );
            assert_eq!(
                ForwardPath::parse(s, &lenient()),
                Err(PathError::Syntax),
                "{s}"
            );
        }
        assert!(ForwardPath::parse("<@a.test:u@c.test>", &lenient()).is_ok());
    }

    #[test]
    fn utf8_addresses() {
        assert_eq!(
            Mailbox::parse("jörg@bücher.test", &lenient()),
            Err(PathError::NonAscii)
        );
        let m = Mailbox::parse("jörg@bücher.test", &utf8()).unwrap();
        assert_eq!(m.to_string(), "jörg@bücher.test");
        assert!(Mailbox::parse("\"j ö\"@x.test", &utf8()).is_ok());
        // RFC 6531 3.3 extends qtextSMTP, not quoted-pairSMTP: no backslash before UTF-8.
        assert_eq!(
            Mailbox::parse("\"a\\ö\"@x.test", &utf8()),
            Err(PathError::Syntax)
        );
        // C1 controls (RFC 5198 section 2) are not UTF8-non-ascii an address may carry;
        // U+00A0 and up are.
        for bad in [
            "a\u{85}b@x.test",
            "\"a\u{85}b\"@x.test",
            "a@b\u{9b}c.test",
            "\u{80}@x.test",
            "a@x.t\u{9f}",
        ] {
            assert_eq!(
                Mailbox::parse(bad, &utf8()),
                Err(PathError::Syntax),
                "{bad:?}"
            );
        }
        for good in [
            "a\u{a0}b@x.test",
            "\"\u{a0}\"@b\u{e9}.test",
            "\u{c2}@x.test",
        ] {
            assert!(Mailbox::parse(good, &utf8()).is_ok(), "{good:?}");
        }
        let m = Mailbox::parse("\"ö\\\"b\"@bücher.test", &utf8()).unwrap();
        assert_eq!(m.local_part.value(), "ö\"b");
        assert_eq!(Mailbox::parse(&m.to_string(), &utf8()), Ok(m));
    }

    #[test]
    fn encode_without_display() {
        let m = Mailbox::parse("a@[IPv6:2001:db8::1]", &strict()).unwrap();
        let mut v = Vec::new();
        put_reverse_path(&mut v, &ReversePath::Mailbox(m));
        assert_eq!(v, b"<a@[IPv6:2001:db8::1]>");
        assert_eq!(closing_bracket(br#"<"a>b"@c> X"#), Some(8));
        assert_eq!(closing_bracket(br#"<"a\">b"@c> X"#), Some(10));
        assert_eq!(closing_bracket(b"<abc"), None);
        assert_eq!(closing_bracket(br#"<a@[x:">"]>"#), Some(10));
        assert_eq!(closing_bracket(br#"<@r.test:"a>"@b> "#), Some(15));
        assert_eq!(closing_bracket(br#"<@r.test>"#), Some(8));
        assert_eq!(closing_bracket(br#"<"a"#), None);
        assert_eq!(closing_bracket(br#"<a@[x"#), None);
    }
}
