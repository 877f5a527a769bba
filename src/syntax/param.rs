//! MAIL and RCPT parameters (RFC 5321 4.1.2 esmtp-param) and the extensions that define them.
//!
//! Known keywords are typed; any other `keyword[=value]` is kept verbatim in `other` so a
//! server can answer `555 5.5.4` and a proxy can relay it. A duplicate or malformed
//! parameter is a typed [`ParamError`]. Parsing a typical MAIL or RCPT
//! command allocates nothing: values borrow from the input and `other` stays empty. The
//! Exchange MAIL parameters live in a box of their own ([`BoxedExchangeMailParams`]), so
//! a MAIL that carries them allocates once and every other MAIL stays small.

use super::xtext::XText;
use std::borrow::Cow;

/// `BODY=` (RFC 6152 8BITMIME, RFC 3030 BINARYMIME).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `BODY=7BIT`
    SevenBit,
    /// `BODY=8BITMIME`
    EightBitMime,
    /// `BODY=BINARYMIME`
    BinaryMime,
}

/// `RET=` (RFC 3461 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `RET=FULL`
    Full,
    /// `RET=HDRS`
    Headers,
}

/// `NOTIFY=` (RFC 3461 4.1): `NEVER`, or any non-empty combination of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// `NEVER` (exclusive with the others).
    pub never: bool,
    /// `SUCCESS`
    pub success: bool,
    /// `FAILURE`
    pub failure: bool,
    /// `DELAY`
    pub delay: bool,
}

/// `ORCPT=addr-type;xtext` (RFC 3461 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt<'a> {
    /// The address type, e.g. `rfc822` or `utf-8`.
    pub addr_type: Cow<'a, str>,
    /// The original recipient address, xtext-encoded as on the wire: at most 500
    /// characters of printable US-ASCII once decoded (RFC 3461 4.2; the parser refuses a
    /// control character, or non-ASCII text in a type other than `utf-8`). UTF-8 as itself
    /// only in the `utf-8` address type under SMTPUTF8 (RFC 6533 section 3).
    pub addr: XText<'a>,
}

/// `BY=time;mode[T]` (RFC 2852 DELIVERBY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliverBy {
    /// Seconds. RFC 2852 section 4 allows zero or a negative time only with mode `N`;
    /// the parser takes any sign, a server offering DELIVERBY refuses the others.
    pub time: i64,
    /// `N` (notify) or `R` (return).
    pub mode: DeliverByMode,
    /// The `T` trace flag.
    pub trace: bool,
}

/// The by-mode of `BY=` (RFC 2852 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliverByMode {
    /// `N`: notify if not delivered in time.
    Notify,
    /// `R`: return if not delivered in time.
    Return,
}

/// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865 FUTURERELEASE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Hold<'a> {
    /// `HOLDFOR=seconds`
    For(u64),
    /// `HOLDUNTIL=date-time` (RFC 3339 text kept as written; the parser checks it is a
    /// valid date-time).
    Until(Cow<'a, str>),
}

/// A parameter kept verbatim: `keyword[=value]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param<'a> {
    /// The esmtp-keyword as written.
    pub keyword: Cow<'a, str>,
    /// The esmtp-value, if any.
    pub value: Option<Cow<'a, str>>,
}

/// The MAIL parameters Exchange Server sends to peers that advertised the matching
/// (unpublished) EHLO keywords. Each value is xtext, kept encoded as on the wire.
///
/// Source: the public record of Exchange's SMTP send path (the `MailSmtpCommand.FormatCommand`
/// routine of `Microsoft.Exchange.Transport`, as found in public decompiled copies), which
/// appends, in this order, `XSHADOW=`, `XOORG=`, `XMESSAGECONTEXT=`, `XATTRDIRECT=`,
/// `XATTRORGID=`, `XSYSPROBEID=`, `XMSGID=` (at most 500 characters) and `XORIGFROM=`
/// (xtext, UTF-8 allowed under SMTPUTF8). Their meaning is not published; they are typed
/// here so a server or proxy can find and relay them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExchangeMailParams<'a> {
    /// `XSHADOW=`: the shadow-redundancy server (shadow redundancy, Exchange 2010+).
    pub xshadow: Option<XText<'a>>,
    /// `XOORG=`: the originating organization.
    pub xoorg: Option<XText<'a>>,
    /// `XMESSAGECONTEXT=`: comma-separated message-context blob versions.
    pub xmessagecontext: Option<XText<'a>>,
    /// `XATTRDIRECT=`: the attribution direction (`Incoming`/`Originating`).
    pub xattrdirect: Option<XText<'a>>,
    /// `XATTRORGID=`: the attributed organization (`xorgid:<guid>`).
    pub xattrorgid: Option<XText<'a>>,
    /// `XSYSPROBEID=`: a system probe identifier (a GUID).
    pub xsysprobeid: Option<XText<'a>>,
    /// `XMSGID=`: the Internet Message-ID.
    pub xmsgid: Option<XText<'a>>,
    /// `XORIGFROM=`: the original sender address.
    pub xorigfrom: Option<XText<'a>>,
}

/// [`ExchangeMailParams`] kept out of line, so a MAIL command without them (every MAIL
/// from outside an Exchange organization) carries eight words less and allocates nothing,
/// while one that has them pays one allocation.
///
/// It dereferences to [`ExchangeMailParams`] (all `None` while nothing is set); writing
/// through it allocates on first use. Equality, hashing and `Debug` look through the box,
/// so an empty box equals no box.
///
/// ```
/// use ehlo::syntax::param::MailParams;
/// use ehlo::syntax::xtext::XText;
/// let mut p = MailParams::default();
/// assert!(p.exchange.xshadow.is_none() && p.exchange.is_empty());
/// p.exchange.xshadow = Some(XText("mbx01.contoso.test".into()));
/// assert_eq!(p.exchange.xshadow.as_ref().unwrap().0, "mbx01.contoso.test");
/// ```
#[derive(Clone, Default)]
pub struct BoxedExchangeMailParams<'a>(Option<Box<ExchangeMailParams<'a>>>);

/// What an absent [`BoxedExchangeMailParams`] reads as.
static NO_EXCHANGE_MAIL_PARAMS: ExchangeMailParams<'static> = ExchangeMailParams {
    xshadow: None,
    xoorg: None,
    xmessagecontext: None,
    xattrdirect: None,
    xattrorgid: None,
    xsysprobeid: None,
    xmsgid: None,
    xorigfrom: None,
};

impl ExchangeMailParams<'_> {
    /// True when no parameter is set.
    pub(crate) fn is_empty(&self) -> bool {
        *self == NO_EXCHANGE_MAIL_PARAMS
    }
}

impl ExchangeRcptParams<'_> {
    /// True when no parameter is set.
    pub(crate) fn is_empty(&self) -> bool {
        let ExchangeRcptParams { xorar, xrdst } = self;
        xorar.is_none() && xrdst.is_none()
    }
}

impl<'a> BoxedExchangeMailParams<'a> {
    /// True when no Exchange parameter is set.
    pub fn is_empty(&self) -> bool {
        **self == NO_EXCHANGE_MAIL_PARAMS
    }

    /// The parameters, moved out of the box.
    #[must_use]
    pub fn into_inner(self) -> ExchangeMailParams<'a> {
        self.0.map(|b| *b).unwrap_or_default()
    }
}

impl<'a> From<ExchangeMailParams<'a>> for BoxedExchangeMailParams<'a> {
    /// Boxes `p`, or keeps nothing when it is empty.
    fn from(p: ExchangeMailParams<'a>) -> Self {
        if p == NO_EXCHANGE_MAIL_PARAMS {
            BoxedExchangeMailParams(None)
        } else {
            BoxedExchangeMailParams(Some(Box::new(p)))
        }
    }
}

impl<'a> std::ops::Deref for BoxedExchangeMailParams<'a> {
    type Target = ExchangeMailParams<'a>;
    fn deref(&self) -> &ExchangeMailParams<'a> {
        match &self.0 {
            Some(b) => b,
            None => &NO_EXCHANGE_MAIL_PARAMS,
        }
    }
}

impl std::ops::DerefMut for BoxedExchangeMailParams<'_> {
    /// Allocates the box on first use.
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.get_or_insert_with(Default::default)
    }
}

impl PartialEq for BoxedExchangeMailParams<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for BoxedExchangeMailParams<'_> {}

impl std::hash::Hash for BoxedExchangeMailParams<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl std::fmt::Debug for BoxedExchangeMailParams<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// The RCPT parameters Exchange Server sends (same public record as
/// [`ExchangeMailParams`], routine `RcptSmtpCommand.FormatCommand`): `XORAR=` and `XRDST=`,
/// both xtext.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExchangeRcptParams<'a> {
    /// `XORAR=`: the original recipient address for redirection (an address).
    pub xorar: Option<XText<'a>>,
    /// `XRDST=`: a routing override destination (advertised as the `XRDST` EHLO keyword).
    pub xrdst: Option<XText<'a>>,
}

/// The parameters of a MAIL command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MailParams<'a> {
    /// `SIZE=` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 4.4), xtext: at most 100 characters of printable US-ASCII
    /// once decoded (the parser refuses others).
    pub envid: Option<XText<'a>>,
    /// `AUTH=` (RFC 4954 section 5): the xtext mailbox, or `<>` as written.
    pub auth: Option<XText<'a>>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// `BY=` (RFC 2852).
    pub by: Option<DeliverBy>,
    /// `MT-PRIORITY=` (RFC 6710), -9..=9.
    pub mt_priority: Option<i8>,
    /// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865).
    pub hold: Option<Hold<'a>>,
    /// The Exchange MAIL parameters (all xtext), kept out of line: read them as
    /// `params.exchange.xshadow`, set them the same way.
    pub exchange: BoxedExchangeMailParams<'a>,
    /// Everything else (including Exchange parameters not typed above), in order.
    pub other: Vec<Param<'a>>,
}

/// The parameters of a RCPT command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RcptParams<'a> {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461).
    pub orcpt: Option<Orcpt<'a>>,
    /// The Exchange RCPT parameters (all xtext).
    pub exchange: ExchangeRcptParams<'a>,
    /// Everything else, in order.
    pub other: Vec<Param<'a>>,
}

use super::{scan, Leniency, ParamError, ParseOptions};
use bytes::BufMut;

#[inline]
fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

#[inline]
fn own_x(x: Option<XText<'_>>) -> Option<XText<'static>> {
    x.map(XText::into_owned)
}

/// One `keyword[=value]` item (RFC 5321 4.1.2 esmtp-param) as octet offsets into the
/// parameter text, with its keyword folded for matching (see [`scan::fold_at`]; 0 when
/// longer than 16 octets).
#[derive(Clone, Copy)]
struct Item {
    ks: usize,
    ke: usize,
    /// `(start, end)` of the value, if there is one (after the `=`).
    value: Option<(usize, usize)>,
    code: u128,
}

/// Iterates over `keyword[=value]` items (RFC 5321 4.1.2 esmtp-param), checking
/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")` and
/// `esmtp-value = 1*(%d33-60 / %d62-126)` (plus UTF-8 under SMTPUTF8, RFC 6531 3.3; lenient
/// parsing also accepts `=` inside a value, as Postfix splits at the first `=`).
/// Strict: exactly one SP between items. Lenient: any run of SP / HTAB.
///
/// The item boundaries sit on ASCII octets, so slicing keywords and values out of the text
/// cannot fail.
struct Items<'a> {
    b: &'a [u8],
    pos: usize,
    lenient: bool,
    /// [`scan::skip_v`] class of the value octets accepted.
    vmask: u8,
}

impl<'a> Items<'a> {
    #[inline]
    fn new(s: &'a str, opts: &ParseOptions) -> Self {
        let b = s.as_bytes();
        let lenient = opts.leniency == Leniency::Lenient;
        // V_STRICT, V_STRICT_UTF8, V_LENIENT, V_LENIENT_UTF8 are 1, 2, 4, 8.
        let vmask = scan::V_STRICT << (2 * u8::from(lenient) + u8::from(opts.utf8));
        Items {
            b,
            pos: 0,
            lenient,
            vmask,
        }
    }
}

impl Iterator for Items<'_> {
    type Item = Result<Item, ParamError>;

    /// One pass over the item: keyword octets, then value octets, each checked with a
    /// class table as they are crossed.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        let n = b.len();
        let lenient = self.lenient;
        let mut i = self.pos;
        if lenient {
            while i < n && matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
        }
        if i >= n {
            self.pos = i;
            return None;
        }
        let ks = i;
        while i < n && scan::is(b[i], scan::LDH) {
            i += 1;
        }
        let ke = i;
        let mut ok = ke > ks && scan::is(b[ks], scan::ALNUM);
        let mut value = None;
        if i < n && b[i] == b'=' {
            i += 1;
            let vs = i;
            i = scan::skip_v(b, i, self.vmask);
            ok &= i > vs;
            value = Some((vs, i));
        }
        // The item ends at a separator or at the end; in strict mode a separator must be
        // followed by another item.
        if i < n {
            let c = b[i];
            ok &= c == b' ' || (lenient && c == b'\t');
            ok &= lenient || i + 1 < n;
        }
        self.pos = i + 1;
        if !ok {
            self.pos = n;
            return Some(Err(ParamError::Syntax));
        }
        let code = scan::fold_at(b, ks, ke - ks).unwrap_or(0);
        Some(Ok(Item {
            ks,
            ke,
            value,
            code,
        }))
    }
}

/// Octets `s..e` of the parameter text (boundaries on ASCII octets, so this cannot fail).
#[inline]
fn text(t: &str, (s, e): (usize, usize)) -> Result<&str, ParamError> {
    t.get(s..e).ok_or(ParamError::Syntax)
}

/// The keyword of `it`, upper-cased (for error values).
fn upper(b: &[u8], it: &Item) -> String {
    b.get(it.ks..it.ke)
        .unwrap_or_default()
        .iter()
        .map(|&c| char::from(c.to_ascii_uppercase()))
        .collect()
}

/// Parses `1*max_digits DIGIT` into a u64 without overflow.
#[inline]
fn parse_u64(v: &[u8], max_digits: usize) -> Option<u64> {
    if v.is_empty() || v.len() > max_digits {
        return None;
    }
    if v.len() <= 19 {
        // At most 19 digits: below 10^19, no overflow possible.
        let mut n = 0u64;
        for &b in v {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = n * 10 + u64::from(d);
        }
        return Some(n);
    }
    let mut n = 0u64;
    for &b in v {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// `size-value ::= 1*20DIGIT` (RFC 1870 section 3). Twenty digits can exceed `u64`; such a
/// value is read as `u64::MAX`, which is larger than any limit, so the server answers it
/// with the `552 5.3.4` of any other SIZE over its maximum (section 6.1) rather than
/// calling valid syntax malformed.
fn parse_size(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(parse_u64(v, 20).unwrap_or(u64::MAX))
}

fn invalid(b: &[u8], it: &Item) -> ParamError {
    ParamError::InvalidValue(upper(b, it))
}

/// The value range of `it`, or [`ParamError::InvalidValue`] when there is none.
#[inline]
fn need_value(b: &[u8], it: &Item) -> Result<(usize, usize), ParamError> {
    it.value.ok_or_else(|| invalid(b, it))
}

/// The value octets of `it`, or [`ParamError::InvalidValue`] when there is none.
#[inline]
fn value_bytes<'a>(b: &'a [u8], it: &Item) -> Result<&'a [u8], ParamError> {
    let (s, e) = need_value(b, it)?;
    b.get(s..e).ok_or(ParamError::Syntax)
}

/// The value of `it` folded for matching against [`scan::fold`] constants of letters,
/// digits and `-`: exact for esmtp-value octets (the only octets folding onto a letter, a
/// digit or `-` are that letter in either case, that digit, `-` and control octets, which no
/// value holds). 0 (matching none) when longer than 16 octets.
#[inline]
fn value_word(b: &[u8], it: &Item) -> Result<u128, ParamError> {
    let (s, e) = need_value(b, it)?;
    Ok(scan::fold_at(b, s, e - s).unwrap_or(0))
}

fn xtext<'a>(t: &'a str, it: &Item, utf8: bool) -> Result<XText<'a>, ParamError> {
    let b = t.as_bytes();
    let r = need_value(b, it)?;
    let v = b.get(r.0..r.1).ok_or(ParamError::Syntax)?;
    if !super::xtext::is_valid_bytes(v, utf8) {
        return Err(invalid(b, it));
    }
    Ok(XText(Cow::Borrowed(text(t, r)?)))
}

/// The length of valid xtext once decoded: each `+XX` is one octet.
fn xtext_decoded_len(x: &str) -> usize {
    x.len() - 2 * memchr::memchr_iter(b'+', x.as_bytes()).count()
}

/// Sets a typed slot, reporting a duplicate.
#[inline]
fn set<T>(slot: &mut Option<T>, b: &[u8], it: &Item, v: T) -> Result<(), ParamError> {
    if slot.is_some() {
        return Err(ParamError::Duplicate(upper(b, it)));
    }
    *slot = Some(v);
    Ok(())
}

fn set_flag(slot: &mut bool, b: &[u8], it: &Item) -> Result<(), ParamError> {
    if it.value.is_some() {
        return Err(invalid(b, it));
    }
    if *slot {
        return Err(ParamError::Duplicate(upper(b, it)));
    }
    *slot = true;
    Ok(())
}

fn push_other<'a>(other: &mut Vec<Param<'a>>, t: &'a str, it: &Item) -> Result<(), ParamError> {
    let b = t.as_bytes();
    let k = text(t, (it.ks, it.ke))?;
    let v = match it.value {
        Some(r) => Some(text(t, r)?),
        None => None,
    };
    // Bounds the quadratic duplicate check below (see `limits::MAX_OTHER_PARAMS`).
    if other.len() >= crate::limits::MAX_OTHER_PARAMS {
        return Err(ParamError::Syntax);
    }
    if other.iter().any(|p| p.keyword.eq_ignore_ascii_case(k)) {
        return Err(ParamError::Duplicate(upper(b, it)));
    }
    other.push(Param {
        keyword: Cow::Borrowed(k),
        value: v.map(Cow::Borrowed),
    });
    Ok(())
}

/// `BY=` value: `by-time ";" by-mode [by-trace]`, by-time `["-" / "+"] 1*9DIGIT`
/// (RFC 2852 section 4).
fn parse_by(v: &[u8]) -> Option<DeliverBy> {
    let semi = memchr::memchr(b';', v)?;
    let (t, m) = (v.get(..semi)?, v.get(semi + 1..)?);
    let (neg, digits) = match t {
        [b'-', d @ ..] => (true, d),
        [b'+', d @ ..] => (false, d),
        _ => (false, t),
    };
    let n = i64::try_from(parse_u64(digits, 9)?).ok()?;
    let time = if neg { -n } else { n };
    let (mode, trace) = match m {
        [c] => (*c, false),
        [c, b't' | b'T'] => (*c, true),
        _ => return None,
    };
    let mode = match mode {
        b'N' | b'n' => DeliverByMode::Notify,
        b'R' | b'r' => DeliverByMode::Return,
        _ => return None,
    };
    Some(DeliverBy { time, mode, trace })
}

/// `MT-PRIORITY=` value: `["-" / "+"] DIGIT`, -9..=9 (RFC 6710 section 3).
fn parse_priority(v: &[u8]) -> Option<i8> {
    let (neg, d) = match v {
        [b'-', d] => (true, *d),
        [b'+', d] => (false, *d),
        [d] => (false, *d),
        _ => return None,
    };
    if !d.is_ascii_digit() {
        return None;
    }
    let n = (d - b'0') as i8;
    Some(if neg { -n } else { n })
}

/// What follows a usual-shape parameter item that ends at octet `i` of `b`: the text ends
/// (`Some(None)`), or exactly one SP and the next item's start (`Some(Some(next))`);
/// `None` for any other separator, which the general parser decides.
#[inline(always)]
fn after_usual_item(b: &[u8], i: usize) -> Option<Option<usize>> {
    match b.get(i) {
        None => Some(None),
        Some(b' ') => Some(Some(i + 1)),
        Some(_) => None,
    }
}

/// `NOTIFY=` value (RFC 3461 4.1): `NEVER` or a comma list of SUCCESS, FAILURE, DELAY
/// (each at most once, in either case), octets `vs..ve` of `line`.
fn parse_notify(line: &[u8], (vs, ve): (usize, usize)) -> Option<Notify> {
    notify_list(line.get(..ve)?, vs)
        .filter(|&(_, end)| end == ve)
        .map(|(n, _)| n)
}

/// The `NOTIFY=` list that starts at octet `at` of `b`: the words read and the end of the
/// list (the octet after its last word); `None` for a word that is not one of the four, a
/// word twice, or `NEVER` with another.
#[inline]
fn notify_list(b: &[u8], mut at: usize) -> Option<(Notify, usize)> {
    use scan::{word_at, Word};
    const SUCCESS: Word = Word::new(b"success");
    const FAILURE: Word = Word::new(b"failure");
    const DELAY: Word = Word::new(b"delay");
    const NEVER: Word = Word::new(b"never");
    let mut n = Notify::default();
    loop {
        let (slot, len) = if word_at(b, at, SUCCESS) {
            (&mut n.success, SUCCESS.len())
        } else if word_at(b, at, FAILURE) {
            (&mut n.failure, FAILURE.len())
        } else if word_at(b, at, DELAY) {
            (&mut n.delay, DELAY.len())
        } else if word_at(b, at, NEVER) {
            (&mut n.never, NEVER.len())
        } else {
            return None;
        };
        if *slot {
            return None;
        }
        *slot = true;
        at += len;
        if b.get(at) != Some(&b',') {
            break;
        }
        at += 1;
    }
    if n.never && (n.success || n.failure || n.delay) {
        return None;
    }
    Some((n, at))
}

/// `HOLDUNTIL=` value: an RFC 3339 date-time (RFC 4865 section 3).
fn is_date_time(v: &[u8]) -> bool {
    date_time_utc(v).is_some()
}

/// An RFC 3339 section 5.6 `date-time` as a UTC instant: seconds since 1970-01-01T00:00:00Z
/// and the fraction of the second in nanoseconds (digits past the ninth are ignored).
/// `None` if `v` is not one: the grammar and the ranges of section 5.7 (month 01-12, day
/// within the month of that year, hour 00-23, minute 00-59, second 00-60, offset hour
/// 00-23 and minute 00-59); `T` and `Z` in either case. A leap second (`:60`) counts as
/// the first second of the next minute. No date crate: the civil-date arithmetic is
/// [`days_from_civil`].
pub(crate) fn date_time_utc(v: &[u8]) -> Option<(i64, u32)> {
    fn num(v: &[u8], at: usize, len: usize) -> Option<u32> {
        let d = v.get(at..at + len)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(d.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0')))
    }
    let sep = |at: usize, c: u8| v.get(at).is_some_and(|b| b.eq_ignore_ascii_case(&c));
    // full-date "T" partial-time: YYYY-MM-DDTHH:MM:SS
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(v, 0, 4)?, num(v, 5, 2)?, num(v, 8, 2)?);
    let (hour, minute, second) = (num(v, 11, 2)?, num(v, 14, 2)?, num(v, 17, 2)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // time-secfrac = "." 1*DIGIT
    let mut at = 19;
    let mut nanos = 0u32;
    if v.get(at) == Some(&b'.') {
        let digits = v[at + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        for i in 0..9 {
            let d = if i < digits { v[at + 1 + i] - b'0' } else { 0 };
            nanos = nanos * 10 + u32::from(d);
        }
        at += 1 + digits;
    }
    // time-offset = "Z" / ("+" / "-") HH ":" MM
    let offset = match v.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(v, at + 1, 2)?, num(v, at + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    // Local time is UTC plus the offset.
    Some((local - offset * 60, nanos))
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl<'a> MailParams<'a> {
    /// Parses the parameters of `MAIL FROM:<path> [params]` (the text after the path and
    /// its separating space). Keywords are case-insensitive.
    pub fn parse(s: &'a str, opts: &ParseOptions) -> Result<MailParams<'a>, ParamError> {
        let mut p = MailParams::default();
        p.parse_into(s, opts)?;
        Ok(p)
    }

    /// Parses parameter text into `self` (which holds no parameters yet); building in place
    /// spares moving the large struct around.
    #[inline]
    pub(crate) fn parse_into(&mut self, t: &'a str, opts: &ParseOptions) -> Result<(), ParamError> {
        if self.parse_usual(t.as_bytes()).is_some() {
            return Ok(());
        }
        // Not the usual shape: start again on the general path, which decides every answer.
        *self = MailParams::default();
        self.parse_general(t, opts)
    }

    /// The general parameter parser: every keyword, every error.
    fn parse_general(&mut self, t: &'a str, opts: &ParseOptions) -> Result<(), ParamError> {
        for it in Items::new(t, opts) {
            self.add(t, &it?, opts)?;
        }
        Ok(())
    }

    /// Parses parameter text into `self` (which holds no parameters yet); `false` on any
    /// error, which the caller leaves to a parser that reports it.
    #[inline(always)]
    pub(crate) fn fill(&mut self, t: &'a str, opts: &ParseOptions) -> bool {
        if t.is_empty() || self.parse_usual(t.as_bytes()).is_some() {
            return true;
        }
        *self = MailParams::default();
        self.parse_general(t, opts).is_ok()
    }

    /// The usual parameters of a MAIL command, `SIZE=` and `BODY=` (keywords and values in
    /// either case), separated by single spaces, read without the general item scan.
    /// `None` for anything else (another keyword, a duplicate, an odd separator, a value
    /// the general path would read differently): the caller then parses again on the
    /// general path. Every value accepted here is one the general path accepts with the
    /// same meaning, so the fast path never changes an answer.
    #[inline]
    fn parse_usual(&mut self, b: &[u8]) -> Option<()> {
        use scan::{word_at, Word};
        const SIZE: Word = Word::new(b"size=");
        const BODY: Word = Word::new(b"body=");
        const EIGHT: Word = Word::new(b"8bitmime");
        const SEVEN: Word = Word::new(b"7bit");
        const BINARY: Word = Word::new(b"binarymi");
        const BINARY_TAIL: Word = Word::new(b"mime");
        let mut i = 0;
        loop {
            i = if word_at(b, i, SIZE) && self.size.is_none() {
                // The general path also takes 20 digits, with an overflow check.
                let (n, end) = scan::decimal19(b, i + SIZE.len())?;
                self.size = Some(n);
                end
            } else if word_at(b, i, BODY) && self.body.is_none() {
                let vs = i + BODY.len();
                let (body, len) = if word_at(b, vs, EIGHT) {
                    (Body::EightBitMime, 8)
                } else if word_at(b, vs, SEVEN) {
                    (Body::SevenBit, 4)
                } else if word_at(b, vs, BINARY) && word_at(b, vs + 6, BINARY_TAIL) {
                    (Body::BinaryMime, 10)
                } else {
                    return None;
                };
                self.body = Some(body);
                vs + len
            } else {
                return None;
            };
            match after_usual_item(b, i)? {
                None => return Some(()),
                Some(next) => i = next,
            }
        }
    }

    #[inline]
    fn add(&mut self, t: &'a str, it: &Item, opts: &ParseOptions) -> Result<(), ParamError> {
        let b = t.as_bytes();
        const SIZE: u128 = scan::fold(b"SIZE");
        const BODY: u128 = scan::fold(b"BODY");
        const SMTPUTF8: u128 = scan::fold(b"SMTPUTF8");
        const RET: u128 = scan::fold(b"RET");
        const ENVID: u128 = scan::fold(b"ENVID");
        const AUTH: u128 = scan::fold(b"AUTH");
        const REQUIRETLS: u128 = scan::fold(b"REQUIRETLS");
        const BY: u128 = scan::fold(b"BY");
        const MT_PRIORITY: u128 = scan::fold(b"MT-PRIORITY");
        const HOLDFOR: u128 = scan::fold(b"HOLDFOR");
        const HOLDUNTIL: u128 = scan::fold(b"HOLDUNTIL");
        const XSHADOW: u128 = scan::fold(b"XSHADOW");
        const XOORG: u128 = scan::fold(b"XOORG");
        const XMESSAGECONTEXT: u128 = scan::fold(b"XMESSAGECONTEXT");
        const XATTRDIRECT: u128 = scan::fold(b"XATTRDIRECT");
        const XATTRORGID: u128 = scan::fold(b"XATTRORGID");
        const XSYSPROBEID: u128 = scan::fold(b"XSYSPROBEID");
        const XMSGID: u128 = scan::fold(b"XMSGID");
        const XORIGFROM: u128 = scan::fold(b"XORIGFROM");
        let slot = match it.code {
            SIZE => {
                let n = parse_size(value_bytes(b, it)?).ok_or_else(|| invalid(b, it))?;
                return set(&mut self.size, b, it, n);
            }
            BODY => {
                const EIGHT: u128 = scan::fold(b"8BITMIME");
                const SEVEN: u128 = scan::fold(b"7BIT");
                const BINARY: u128 = scan::fold(b"BINARYMIME");
                let v = match value_word(b, it)? {
                    EIGHT => Body::EightBitMime,
                    SEVEN => Body::SevenBit,
                    BINARY => Body::BinaryMime,
                    _ => return Err(invalid(b, it)),
                };
                return set(&mut self.body, b, it, v);
            }
            SMTPUTF8 => return set_flag(&mut self.smtputf8, b, it),
            RET => {
                const FULL: u128 = scan::fold(b"FULL");
                const HDRS: u128 = scan::fold(b"HDRS");
                let r = match value_word(b, it)? {
                    FULL => Ret::Full,
                    HDRS => Ret::Headers,
                    _ => return Err(invalid(b, it)),
                };
                return set(&mut self.ret, b, it, r);
            }
            ENVID => {
                // RFC 3461 4.4: at most 100 characters of printable US-ASCII, before xtext
                // encoding.
                let v = xtext(t, it, false)?;
                if xtext_decoded_len(v.as_str()) > crate::limits::MAX_ENVID
                    || !super::xtext::decodes_to_printable(v.as_str().as_bytes(), false)
                {
                    return Err(invalid(b, it));
                }
                return set(&mut self.envid, b, it, v);
            }
            AUTH => {
                let v = xtext(t, it, opts.utf8)?;
                return set(&mut self.auth, b, it, v);
            }
            REQUIRETLS => return set_flag(&mut self.requiretls, b, it),
            BY => {
                let by = parse_by(value_bytes(b, it)?).ok_or_else(|| invalid(b, it))?;
                return set(&mut self.by, b, it, by);
            }
            MT_PRIORITY => {
                let n = parse_priority(value_bytes(b, it)?).ok_or_else(|| invalid(b, it))?;
                return set(&mut self.mt_priority, b, it, n);
            }
            HOLDFOR => {
                let n = parse_u64(value_bytes(b, it)?, 9).ok_or_else(|| invalid(b, it))?;
                return set(&mut self.hold, b, it, Hold::For(n));
            }
            HOLDUNTIL => {
                let r = need_value(b, it)?;
                if !is_date_time(value_bytes(b, it)?) {
                    return Err(invalid(b, it));
                }
                let v = Hold::Until(Cow::Borrowed(text(t, r)?));
                return set(&mut self.hold, b, it, v);
            }
            XSHADOW => &mut self.exchange.xshadow,
            XOORG => &mut self.exchange.xoorg,
            XMESSAGECONTEXT => &mut self.exchange.xmessagecontext,
            XATTRDIRECT => &mut self.exchange.xattrdirect,
            XATTRORGID => &mut self.exchange.xattrorgid,
            XSYSPROBEID => &mut self.exchange.xsysprobeid,
            XMSGID => &mut self.exchange.xmsgid,
            XORIGFROM => &mut self.exchange.xorigfrom,
            _ => return push_other(&mut self.other, t, it),
        };
        let v = xtext(t, it, opts.utf8)?;
        set(slot, b, it, v)
    }

    /// Parameters holding only `keyword` (upper-cased, as in a [`ParamError`]), with a
    /// placeholder value: what a server checks against its advertised extensions when the
    /// parameter's own value did not parse, so that an extension it did not advertise gets
    /// `555 5.5.4` whatever the value (RFC 5321 4.1.1.11). `BODY` stands for 8BITMIME
    /// (RFC 6152); the server judges it itself, since BINARYMIME (RFC 3030) offers it too.
    /// An unknown keyword lands in `other`.
    pub(crate) fn placeholder(keyword: &str) -> MailParams<'static> {
        let mut p = MailParams::default();
        let x = || Some(XText(Cow::Borrowed("")));
        match keyword {
            "SIZE" => p.size = Some(0),
            "BODY" => p.body = Some(Body::EightBitMime),
            "SMTPUTF8" => p.smtputf8 = true,
            "RET" => p.ret = Some(Ret::Full),
            "ENVID" => p.envid = x(),
            "AUTH" => p.auth = x(),
            "REQUIRETLS" => p.requiretls = true,
            "BY" => {
                p.by = Some(DeliverBy {
                    time: 1,
                    mode: DeliverByMode::Notify,
                    trace: false,
                })
            }
            "MT-PRIORITY" => p.mt_priority = Some(0),
            "HOLDFOR" | "HOLDUNTIL" => p.hold = Some(Hold::For(0)),
            "XSHADOW" => p.exchange.xshadow = x(),
            "XOORG" => p.exchange.xoorg = x(),
            "XMESSAGECONTEXT" => p.exchange.xmessagecontext = x(),
            "XATTRDIRECT" => p.exchange.xattrdirect = x(),
            "XATTRORGID" => p.exchange.xattrorgid = x(),
            "XSYSPROBEID" => p.exchange.xsysprobeid = x(),
            "XMSGID" => p.exchange.xmsgid = x(),
            "XORIGFROM" => p.exchange.xorigfrom = x(),
            k => p.other.push(Param {
                keyword: Cow::Owned(k.to_string()),
                value: None,
            }),
        }
        p
    }

    /// Writes the parameters in canonical order, each preceded by one space.
    pub fn encode(&self, out: &mut impl BufMut) {
        if let Some(n) = self.size {
            out.put_slice(b" SIZE=");
            put_u64(out, n);
        }
        if let Some(b) = self.body {
            out.put_slice(match b {
                Body::SevenBit => b" BODY=7BIT",
                Body::EightBitMime => b" BODY=8BITMIME",
                Body::BinaryMime => b" BODY=BINARYMIME",
            });
        }
        if let Some(r) = self.ret {
            out.put_slice(match r {
                Ret::Full => b" RET=FULL",
                Ret::Headers => b" RET=HDRS",
            });
        }
        put_x(out, b" ENVID=", &self.envid);
        put_x(out, b" AUTH=", &self.auth);
        if self.smtputf8 {
            out.put_slice(b" SMTPUTF8");
        }
        if self.requiretls {
            out.put_slice(b" REQUIRETLS");
        }
        if let Some(by) = &self.by {
            out.put_slice(b" BY=");
            put_i64(out, by.time);
            out.put_slice(match (by.mode, by.trace) {
                (DeliverByMode::Notify, false) => b";N",
                (DeliverByMode::Notify, true) => b";NT",
                (DeliverByMode::Return, false) => b";R",
                (DeliverByMode::Return, true) => b";RT",
            });
        }
        if let Some(p) = self.mt_priority {
            out.put_slice(b" MT-PRIORITY=");
            put_i64(out, i64::from(p));
        }
        match &self.hold {
            Some(Hold::For(n)) => {
                out.put_slice(b" HOLDFOR=");
                put_u64(out, *n);
            }
            Some(Hold::Until(t)) => {
                out.put_slice(b" HOLDUNTIL=");
                out.put_slice(t.as_bytes());
            }
            None => {}
        }
        let x = &self.exchange;
        put_x(out, b" XSHADOW=", &x.xshadow);
        put_x(out, b" XOORG=", &x.xoorg);
        put_x(out, b" XMESSAGECONTEXT=", &x.xmessagecontext);
        put_x(out, b" XATTRDIRECT=", &x.xattrdirect);
        put_x(out, b" XATTRORGID=", &x.xattrorgid);
        put_x(out, b" XSYSPROBEID=", &x.xsysprobeid);
        put_x(out, b" XMSGID=", &x.xmsgid);
        put_x(out, b" XORIGFROM=", &x.xorigfrom);
        put_other(out, &self.other);
    }

    /// Detaches the parameters from the input they borrow.
    #[must_use]
    pub fn into_owned(self) -> MailParams<'static> {
        let x = self.exchange.into_inner();
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: own_x(self.envid),
            auth: own_x(self.auth),
            requiretls: self.requiretls,
            by: self.by,
            mt_priority: self.mt_priority,
            hold: self.hold.map(|h| match h {
                Hold::For(n) => Hold::For(n),
                Hold::Until(t) => Hold::Until(own(t)),
            }),
            exchange: ExchangeMailParams {
                xshadow: own_x(x.xshadow),
                xoorg: own_x(x.xoorg),
                xmessagecontext: own_x(x.xmessagecontext),
                xattrdirect: own_x(x.xattrdirect),
                xattrorgid: own_x(x.xattrorgid),
                xsysprobeid: own_x(x.xsysprobeid),
                xmsgid: own_x(x.xmsgid),
                xorigfrom: own_x(x.xorigfrom),
            }
            .into(),
            other: self.other.into_iter().map(Param::into_owned).collect(),
        }
    }
}

impl<'a> RcptParams<'a> {
    /// Parses the parameters of `RCPT TO:<path> [params]`. Keywords are case-insensitive.
    pub fn parse(s: &'a str, opts: &ParseOptions) -> Result<RcptParams<'a>, ParamError> {
        let mut p = RcptParams::default();
        p.parse_into(s, opts)?;
        Ok(p)
    }

    /// Parses parameter text into `self` (which holds no parameters yet).
    #[inline]
    pub(crate) fn parse_into(&mut self, t: &'a str, opts: &ParseOptions) -> Result<(), ParamError> {
        if self.parse_usual(t, opts.utf8).is_some() {
            return Ok(());
        }
        // Not the usual shape: start again on the general path, which decides every answer.
        *self = RcptParams::default();
        self.parse_general(t, opts)
    }

    /// Parses parameter text into `self` (which holds no parameters yet); `false` on any
    /// error, which the caller leaves to a parser that reports it.
    #[inline(always)]
    pub(crate) fn fill(&mut self, t: &'a str, opts: &ParseOptions) -> bool {
        if t.is_empty() || self.parse_usual(t, opts.utf8).is_some() {
            return true;
        }
        *self = RcptParams::default();
        self.parse_general(t, opts).is_ok()
    }

    /// The usual parameters of a RCPT command, `NOTIFY=` and `ORCPT=` (RFC 3461), separated
    /// by single spaces, read without the general item scan. `None` for anything else;
    /// see [`MailParams::parse_usual`].
    #[inline]
    fn parse_usual(&mut self, t: &'a str, utf8: bool) -> Option<()> {
        use scan::{word_at, Word};
        const NOTIFY: Word = Word::new(b"notify=");
        const ORCPT: Word = Word::new(b"orcpt=");
        let b = t.as_bytes();
        let mut i = 0;
        loop {
            i = if word_at(b, i, NOTIFY) && self.notify.is_none() {
                let (n, end) = notify_list(b, i + NOTIFY.len())?;
                self.notify = Some(n);
                end
            } else if word_at(b, i, ORCPT) && self.orcpt.is_none() {
                // addr-type: atom octets that are also value octets (no `=`), then `;`.
                let vs = i + ORCPT.len();
                let semi = scan::skip(b, vs, scan::ATOM_VALUE);
                if semi == vs || b.get(semi) != Some(&b';') {
                    return None;
                }
                // xtext up to the separator (UTF-8 only in the `utf-8` type, see
                // `orcpt_utf8`), of printable text (see `orcpt_text_ok`).
                let addr_type = t.get(vs..semi)?;
                let end = super::xtext::end(b, semi + 1, orcpt_utf8(addr_type, utf8));
                if !orcpt_text_ok(addr_type, t.get(semi + 1..end)?) {
                    return None;
                }
                self.orcpt = Some(Orcpt {
                    addr_type: Cow::Borrowed(addr_type),
                    addr: XText(Cow::Borrowed(t.get(semi + 1..end)?)),
                });
                end
            } else {
                return None;
            };
            match after_usual_item(b, i)? {
                None => return Some(()),
                Some(next) => i = next,
            }
        }
    }

    /// The general parameter parser: every keyword, every error.
    fn parse_general(&mut self, t: &'a str, opts: &ParseOptions) -> Result<(), ParamError> {
        let b = t.as_bytes();
        const NOTIFY: u128 = scan::fold(b"NOTIFY");
        const ORCPT: u128 = scan::fold(b"ORCPT");
        const XORAR: u128 = scan::fold(b"XORAR");
        const XRDST: u128 = scan::fold(b"XRDST");
        for it in Items::new(t, opts) {
            let it = &it?;
            match it.code {
                NOTIFY => {
                    let n = parse_notify(b, need_value(b, it)?).ok_or_else(|| invalid(b, it))?;
                    set(&mut self.notify, b, it, n)?;
                }
                ORCPT => {
                    let o =
                        parse_orcpt(t, need_value(b, it)?, opts).ok_or_else(|| invalid(b, it))?;
                    set(&mut self.orcpt, b, it, o)?;
                }
                XORAR => {
                    let x = xtext(t, it, opts.utf8)?;
                    set(&mut self.exchange.xorar, b, it, x)?;
                }
                XRDST => {
                    let x = xtext(t, it, opts.utf8)?;
                    set(&mut self.exchange.xrdst, b, it, x)?;
                }
                _ => push_other(&mut self.other, t, it)?,
            }
        }
        Ok(())
    }

    /// RCPT parameters holding only `keyword`, with a placeholder value; see
    /// [`MailParams::placeholder`].
    pub(crate) fn placeholder(keyword: &str) -> RcptParams<'static> {
        let mut p = RcptParams::default();
        let x = || Some(XText(Cow::Borrowed("")));
        match keyword {
            "NOTIFY" => p.notify = Some(Notify::default()),
            "ORCPT" => {
                p.orcpt = Some(Orcpt {
                    addr_type: Cow::Borrowed("rfc822"),
                    addr: XText(Cow::Borrowed("")),
                })
            }
            "XORAR" => p.exchange.xorar = x(),
            "XRDST" => p.exchange.xrdst = x(),
            k => p.other.push(Param {
                keyword: Cow::Owned(k.to_string()),
                value: None,
            }),
        }
        p
    }

    /// Writes the parameters in canonical order, each preceded by one space.
    pub fn encode(&self, out: &mut impl BufMut) {
        if let Some(n) = &self.notify {
            out.put_slice(b" NOTIFY=");
            n.encode(out);
        }
        if let Some(o) = &self.orcpt {
            out.put_slice(b" ORCPT=");
            out.put_slice(o.addr_type.as_bytes());
            out.put_u8(b';');
            out.put_slice(o.addr.0.as_bytes());
        }
        put_x(out, b" XORAR=", &self.exchange.xorar);
        put_x(out, b" XRDST=", &self.exchange.xrdst);
        put_other(out, &self.other);
    }

    /// Detaches the parameters from the input they borrow.
    #[must_use]
    pub fn into_owned(self) -> RcptParams<'static> {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt.map(|o| Orcpt {
                addr_type: own(o.addr_type),
                addr: o.addr.into_owned(),
            }),
            exchange: ExchangeRcptParams {
                xorar: own_x(self.exchange.xorar),
                xrdst: own_x(self.exchange.xrdst),
            },
            other: self.other.into_iter().map(Param::into_owned).collect(),
        }
    }
}

/// Whether an `ORCPT=` address of type `addr_type` may hold UTF-8 as itself: only in the
/// `utf-8` address type (RFC 6533 section 3, `utf-8-addr-unitext`) and only under SMTPUTF8
/// (`utf8`). Any other type (`rfc822`, ...) keeps the xtext of RFC 3461 section 4, whose
/// xchar and `+XX` escapes are ASCII.
fn orcpt_utf8(addr_type: &str, utf8: bool) -> bool {
    utf8 && addr_type.eq_ignore_ascii_case("utf-8")
}

/// Whether the valid xtext `addr` of an `ORCPT=` of type `addr_type` is an address RFC
/// 3461 section 4.2 allows (and the type at most
/// [`MAX_ORCPT_TYPE`](crate::limits::MAX_ORCPT_TYPE) characters): at most 500 characters, and "prior to encoding as xtext" of
/// printable US-ASCII only (no control character an escape could smuggle into the DSN's
/// `Original-Recipient` field). The `utf-8` type (RFC 6533 section 3) also holds non-ASCII
/// characters.
fn orcpt_text_ok(addr_type: &str, addr: &str) -> bool {
    addr_type.len() <= crate::limits::MAX_ORCPT_TYPE
        && xtext_decoded_len(addr) <= crate::limits::MAX_ORCPT
        && super::xtext::decodes_to_printable(
            addr.as_bytes(),
            addr_type.eq_ignore_ascii_case("utf-8"),
        )
}

/// `ORCPT=` value: `addr-type ";" xtext` (RFC 3461 4.2), octets `vs..ve` of `s`; addr-type
/// is an atom. Under SMTPUTF8 an address of the `utf-8` type may hold UTF-8 (RFC 6533
/// `utf-8-addr-unitext`), see [`orcpt_utf8`].
fn parse_orcpt<'a>(s: &'a str, (vs, ve): (usize, usize), opts: &ParseOptions) -> Option<Orcpt<'a>> {
    let v = s.get(vs..ve)?;
    // addr-type: an atom, ended by the `;` (one pass for both).
    let semi = scan::skip(v.as_bytes(), 0, scan::ATEXT);
    if semi == 0 || semi > crate::limits::MAX_ORCPT_TYPE || v.as_bytes().get(semi) != Some(&b';') {
        return None;
    }
    let (t, a) = (v.get(..semi)?, v.get(semi + 1..)?);
    if !super::xtext::is_valid_bytes(a.as_bytes(), orcpt_utf8(t, opts.utf8)) || !orcpt_text_ok(t, a)
    {
        return None;
    }
    Some(Orcpt {
        addr_type: Cow::Borrowed(t),
        addr: XText(Cow::Borrowed(a)),
    })
}

impl Notify {
    /// Writes `NEVER` or the comma list `SUCCESS,FAILURE,DELAY` (those set).
    pub fn encode(&self, out: &mut impl BufMut) {
        let mut first = true;
        for (on, name) in [
            (self.never, &b"NEVER"[..]),
            (self.success, b"SUCCESS"),
            (self.failure, b"FAILURE"),
            (self.delay, b"DELAY"),
        ] {
            if on {
                if !first {
                    out.put_u8(b',');
                }
                out.put_slice(name);
                first = false;
            }
        }
    }
}

impl<'a> Param<'a> {
    /// Detaches the parameter from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> Param<'static> {
        Param {
            keyword: own(self.keyword),
            value: self.value.map(own),
        }
    }
}

fn put_x(out: &mut impl BufMut, prefix: &[u8], x: &Option<XText<'_>>) {
    if let Some(x) = x {
        out.put_slice(prefix);
        out.put_slice(x.0.as_bytes());
    }
}

fn put_other(out: &mut impl BufMut, other: &[Param<'_>]) {
    for p in other {
        out.put_u8(b' ');
        out.put_slice(p.keyword.as_bytes());
        if let Some(v) = &p.value {
            out.put_u8(b'=');
            out.put_slice(v.as_bytes());
        }
    }
}

/// Writes a decimal number without allocating.
pub(crate) fn put_u64(out: &mut impl BufMut, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&buf[i..]);
}

/// Writes a signed decimal number without allocating.
pub(crate) fn put_i64(out: &mut impl BufMut, n: i64) {
    if n < 0 {
        out.put_u8(b'-');
    }
    put_u64(out, n.unsigned_abs());
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_times_are_checked_and_compared_in_utc() {
        let t = |s: &str| super::date_time_utc(s.as_bytes());
        assert_eq!(t("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(t("2000-03-01T00:00:00Z"), Some((951_868_800, 0)));
        assert_eq!(t("2030-01-01T00:00:00Z"), Some((1_893_456_000, 0)));
        // The same instant in other zones, lower-case t and z.
        assert_eq!(t("2029-12-31T19:00:00-05:00"), Some((1_893_456_000, 0)));
        assert_eq!(t("2030-01-01t05:30:00+05:30"), Some((1_893_456_000, 0)));
        assert_eq!(
            t("2030-01-01T00:00:00.25z"),
            Some((1_893_456_000, 250_000_000))
        );
        assert_eq!(t("1969-12-31T23:59:59Z"), Some((-1, 0)));
        assert_eq!(t("2024-02-29T00:00:00Z"), Some((1_709_164_800, 0)));
        assert_eq!(t("2016-12-31T23:59:60Z"), Some((1_483_228_800, 0)));
        for bad in [
            "2026-99-99T99:99:99Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:61Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+0100",
            "2026-01-01 00:00:00Z",
            "2026-1-01T00:00:00Z",
            "2026-01-01T00:00:00ZZ",
            "+026-01-01T00:00:00Z",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    use super::*;

    fn opts() -> ParseOptions {
        ParseOptions::default()
    }
    fn strict() -> ParseOptions {
        ParseOptions {
            leniency: Leniency::Strict,
            ..ParseOptions::default()
        }
    }
    fn enc_mail(p: &MailParams<'_>) -> String {
        let mut v = Vec::new();
        p.encode(&mut v);
        String::from_utf8(v).unwrap()
    }
    fn enc_rcpt(p: &RcptParams<'_>) -> String {
        let mut v = Vec::new();
        p.encode(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn mail_params_typed() {
        let p = MailParams::parse(
            "size=1000 BODY=8bitmime SMTPUTF8 RET=hdrs ENVID=QQ+2B1 AUTH=<> REQUIRETLS BY=-60;rt MT-PRIORITY=-3 HOLDFOR=30",
            &opts(),
        )
        .unwrap();
        assert_eq!(p.size, Some(1000));
        assert_eq!(p.body, Some(Body::EightBitMime));
        assert!(p.smtputf8 && p.requiretls);
        assert_eq!(p.ret, Some(Ret::Headers));
        assert_eq!(
            p.envid.as_ref().unwrap().decode().unwrap().as_ref(),
            b"QQ+1"
        );
        assert_eq!(p.auth, Some(XText("<>".into())));
        assert_eq!(
            p.by,
            Some(DeliverBy {
                time: -60,
                mode: DeliverByMode::Return,
                trace: true
            })
        );
        assert_eq!(p.mt_priority, Some(-3));
        assert_eq!(p.hold, Some(Hold::For(30)));
        assert!(p.other.is_empty());
        assert_eq!(
            enc_mail(&p),
            " SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 AUTH=<> SMTPUTF8 REQUIRETLS BY=-60;RT MT-PRIORITY=-3 HOLDFOR=30"
        );
    }

    #[test]
    fn unknown_kept_verbatim() {
        let p = MailParams::parse("X-Foo=Bar TRANSID ALT-ADDRESS=a:b", &opts()).unwrap();
        assert_eq!(p.other.len(), 3);
        assert_eq!(p.other[0].keyword, "X-Foo");
        assert_eq!(p.other[1].value, None);
        assert_eq!(enc_mail(&p), " X-Foo=Bar TRANSID ALT-ADDRESS=a:b");
    }

    #[test]
    fn exchange_params() {
        let p = MailParams::parse(
            "SIZE=5 XSHADOW=srv.example.test XATTRDIRECT=Incoming XATTRORGID=xorgid:0000 XMESSAGECONTEXT=1.0,2.0 XMSGID=<id+40x> XORIGFROM=a@b XSYSPROBEID=1 XOORG=example.test",
            &opts(),
        )
        .unwrap();
        assert_eq!(p.exchange.xattrorgid, Some(XText("xorgid:0000".into())));
        assert!(p.other.is_empty());
        let r = RcptParams::parse("XORAR=a@b XRDST=hub.example.test", &opts()).unwrap();
        assert_eq!(r.exchange.xrdst, Some(XText("hub.example.test".into())));
        assert_eq!(enc_rcpt(&r), " XORAR=a@b XRDST=hub.example.test");
    }

    #[test]
    fn rcpt_params() {
        let p = RcptParams::parse("NOTIFY=success,Delay ORCPT=rfc822;a+2Bb@x", &opts()).unwrap();
        assert_eq!(
            p.notify,
            Some(Notify {
                success: true,
                delay: true,
                ..Notify::default()
            })
        );
        assert_eq!(p.orcpt.as_ref().unwrap().addr_type, "rfc822");
        assert_eq!(enc_rcpt(&p), " NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@x");
        let p = RcptParams::parse("NOTIFY=delay,FAILURE,Success", &opts()).unwrap();
        assert_eq!(
            p.notify,
            Some(Notify {
                never: false,
                success: true,
                failure: true,
                delay: true
            })
        );
        let p = RcptParams::parse("NOTIFY=NEVER", &opts()).unwrap();
        assert_eq!(enc_rcpt(&p), " NOTIFY=NEVER");
    }

    #[test]
    fn a_twenty_digit_size_is_valid_and_larger_than_any_limit() {
        // RFC 1870 section 3: size-value ::= 1*20DIGIT.
        for (v, n) in [
            ("18446744073709551615", u64::MAX),
            ("18446744073709551616", u64::MAX),
            ("99999999999999999999", u64::MAX),
            ("00000000000000000001", 1),
        ] {
            let line = format!("SIZE={v}");
            let p = MailParams::parse(&line, &opts()).unwrap();
            assert_eq!(p.size, Some(n), "{v}");
        }
    }

    /// RFC 6533 section 3: UTF-8 as itself (`utf-8-addr-unitext`) belongs to the `utf-8`
    /// address type, under SMTPUTF8; any other address type keeps RFC 3461's xtext, which
    /// is ASCII (section 4: xchar is `!`..`~`). Both parsers agree.
    #[test]
    fn orcpt_utf8_text_only_in_the_utf8_address_type() {
        let utf8 = ParseOptions {
            utf8: true,
            ..ParseOptions::default()
        };
        for prefix in ["", "X-OTHER=1 "] {
            let ok = format!("{prefix}ORCPT=utf-8;j\u{f6}rg@example.test");
            let o = RcptParams::parse(&ok, &utf8).unwrap().orcpt.unwrap();
            assert_eq!(o.addr.as_str(), "j\u{f6}rg@example.test");
            assert!(RcptParams::parse(&ok, &opts()).is_err());
            for t in ["rfc822", "RFC822", "x-other"] {
                let bad = format!("{prefix}ORCPT={t};j\u{f6}rg@example.test");
                assert_eq!(
                    RcptParams::parse(&bad, &utf8),
                    Err(ParamError::InvalidValue("ORCPT".into())),
                    "{bad}"
                );
            }
        }
    }

    #[test]
    fn envid_and_orcpt_lengths_are_bounded_before_encoding() {
        // RFC 3461 4.4: ENVID at most 100 characters; 4.2: the ORCPT address at most 500.
        // Both count the value before xtext encoding.
        let ok = format!("ENVID={}", "+41".repeat(100));
        assert!(MailParams::parse(&ok, &opts()).is_ok());
        let long = format!("ENVID={}", "e".repeat(101));
        assert_eq!(
            MailParams::parse(&long, &opts()),
            Err(ParamError::InvalidValue("ENVID".into()))
        );
        // The address type is bounded too (`MAX_ORCPT_TYPE`): it goes into every DSN's
        // `Original-Recipient` field unfolded.
        for (ty, good) in [("x".repeat(64), true), ("x".repeat(65), false)] {
            let line = format!("ORCPT={ty};a@example.test");
            assert_eq!(
                RcptParams::parse(&line, &opts()).is_ok(),
                good,
                "{}",
                ty.len()
            );
            let line = format!("X-OTHER=1 ORCPT={ty};a@example.test");
            assert_eq!(
                RcptParams::parse(&line, &opts()).is_ok(),
                good,
                "{}",
                ty.len()
            );
        }
        for (addr, good) in [
            ("a".repeat(500), true),
            ("+41".repeat(500), true),
            ("a".repeat(501), false),
        ] {
            let line = format!("ORCPT=rfc822;{addr}");
            assert_eq!(
                RcptParams::parse(&line, &opts()).is_ok(),
                good,
                "{}",
                addr.len()
            );
            // The general parser (after an unusual parameter) agrees with the fast one.
            let line = format!("X-OTHER=1 ORCPT=rfc822;{addr}");
            assert_eq!(
                RcptParams::parse(&line, &opts()).is_ok(),
                good,
                "{}",
                addr.len()
            );
        }
    }

    /// RFC 3461 4.4 and 4.2: the ENVID value and the ORCPT address, "prior to encoding as
    /// xtext MUST consist entirely of printable (graphic and white space) characters from
    /// the US-ASCII repertoire" (they go into the DSN's header-like fields). A `+0D+0A`
    /// would end such a field and start another. In the `utf-8` address type (RFC 6533
    /// section 3) non-ASCII text is allowed, control characters are not.
    #[test]
    fn envid_and_orcpt_decode_to_printable_ascii() {
        let utf8 = ParseOptions {
            utf8: true,
            ..ParseOptions::default()
        };
        for (envid, good) in [
            ("id+20x+09y", true),
            ("QQ+2B1", true),
            ("a+0D+0AX-Injected:+201", false),
            ("a+00", false),
            ("a+7F", false),
            ("j+C3+B6rg", false),
        ] {
            for prefix in ["", "SIZE=1 ", "X-OTHER=1 "] {
                let line = format!("{prefix}ENVID={envid}");
                let want = if good {
                    Ok(())
                } else {
                    Err(ParamError::InvalidValue("ENVID".into()))
                };
                assert_eq!(MailParams::parse(&line, &utf8).map(|_| ()), want, "{line}");
            }
        }
        for (orcpt, good) in [
            ("rfc822;a+20b@example.test", true),
            ("rfc822;b@example.test+0D+0ARCPT", false),
            ("rfc822;b+00@example.test", false),
            ("rfc822;j+C3+B6rg@example.test", false),
            ("x400;a+1Fb", false),
            ("utf-8;j+C3+B6rg@example.test", true),
            ("utf-8;j\u{f6}rg@example.test", true),
            ("utf-8;j\u{f6}rg+0A@example.test", false),
            // C1 controls (RFC 5198 section 2) and octets that are not UTF-8.
            ("utf-8;a+C2+85b@example.test", false),
            ("utf-8;a\u{85}b@example.test", false),
            ("utf-8;a+FFb@example.test", false),
        ] {
            for prefix in ["", "NOTIFY=NEVER ", "X-OTHER=1 "] {
                let line = format!("{prefix}ORCPT={orcpt}");
                let want = if good {
                    Ok(())
                } else {
                    Err(ParamError::InvalidValue("ORCPT".into()))
                };
                assert_eq!(RcptParams::parse(&line, &utf8).map(|_| ()), want, "{line}");
            }
        }
    }

    #[test]
    fn errors() {
        use ParamError::*;
        let cases: &[(&str, ParamError)] = &[
            ("SIZE=1 SIZE=2", Duplicate("SIZE".into())),
            ("size=1 SIZE=1", Duplicate("SIZE".into())),
            ("SIZE=x", InvalidValue("SIZE".into())),
            ("SIZE", InvalidValue("SIZE".into())),
            ("SIZE=123456789012345678901", InvalidValue("SIZE".into())),
            ("BODY=9BIT", InvalidValue("BODY".into())),
            ("SMTPUTF8=yes", InvalidValue("SMTPUTF8".into())),
            ("ENVID=a+zz", InvalidValue("ENVID".into())),
            ("MT-PRIORITY=10", InvalidValue("MT-PRIORITY".into())),
            ("BY=10", InvalidValue("BY".into())),
            ("BY=10;X", InvalidValue("BY".into())),
            (
                "HOLDFOR=1 HOLDUNTIL=2030-01-01T00:00:00Z",
                Duplicate("HOLDUNTIL".into()),
            ),
            ("X=1 x=2", Duplicate("X".into())),
            ("=1", Syntax),
            ("-A=1", Syntax),
            ("A=", Syntax),
            ("A=\u{7f}", Syntax),
            ("A=é", Syntax),
        ];
        for (s, e) in cases {
            assert_eq!(MailParams::parse(s, &opts()).as_ref(), Err(e), "{s}");
        }
        assert_eq!(MailParams::parse("A=1  B=2", &strict()), Err(Syntax));
        assert!(MailParams::parse("A=1  B=2", &opts()).is_ok());
        assert_eq!(MailParams::parse("", &strict()), Ok(MailParams::default()));
        assert_eq!(RcptParams::parse("", &strict()), Ok(RcptParams::default()));
        assert_eq!(MailParams::parse(" ", &strict()), Err(Syntax));
        assert_eq!(MailParams::parse("A=b=c", &strict()), Err(Syntax));
        for bad in [
            "NEVER,SUCCESS",
            "",
            "SUCCESS,SUCCESS",
            "SOMETIMES",
            "SUCCESS,",
            ",SUCCESS",
            "SUCCESSX",
            "NEVERS",
            "SUCCESS,,FAILURE",
            "SUCCES",
        ] {
            assert!(
                RcptParams::parse(&format!("NOTIFY={bad}"), &opts()).is_err(),
                "{bad}"
            );
        }
        for bad in ["rfc822", ";a", "rfc 822;a", "rfc822;a=b"] {
            assert!(
                RcptParams::parse(&format!("ORCPT={bad}"), &strict()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn numbers() {
        let mut v = Vec::new();
        put_u64(&mut v, 0);
        put_u64(&mut v, u64::MAX);
        put_i64(&mut v, i64::MIN);
        assert_eq!(v, b"018446744073709551615-9223372036854775808");
    }

    /// The usual-shape readers of MAIL and RCPT parameters never change an answer: on
    /// text built from the pieces they look for (and the ones that must send them back to
    /// the general path), every mode gives what the general parser alone gives.
    mod usual_shape_props {
        use super::*;
        use proptest::prelude::*;

        const PIECES: &[&str] = &[
            "SIZE=",
            "size=",
            "SiZe=",
            "SIZE",
            "BODY=",
            "body=",
            "8BITMIME",
            "8bitmime",
            "7BIT",
            "7bit",
            "BINARYMIME",
            "binarymime",
            "BINARYMIM",
            "8BITMIMEX",
            "NOTIFY=",
            "notify=",
            "SUCCESS",
            "success",
            "FAILURE",
            "DELAY",
            "NEVER",
            "SUCCES",
            ",",
            "ORCPT=",
            "orcpt=",
            "rfc822",
            "rfc=822",
            ";",
            "bob@example.test",
            "+2B",
            "+2b",
            "+4",
            "+",
            "=",
            " ",
            "\t",
            "  ",
            "0",
            "123",
            "9999999999999999999",
            "99999999999999999999",
            "x",
            "\u{e9}",
            "\u{1}",
            "\r",
            "SMTPUTF8",
            "RET=FULL",
            "ENVID=abc",
            "XORAR=x",
            "AUTH=<>",
            "foo=bar",
            "-",
            "<",
            ">",
        ];

        const KEYS: &[&str] = &[
            "SIZE=", "size=", "BODY=", "Body=", "NOTIFY=", "ORCPT=", "orcpt=", "SMTPUTF8", "RET=",
            "ENVID=", "XORAR=", "foo=", "SIZE", "NOTIFY",
        ];
        const SEPARATORS: &[&str] = &[" ", " ", " ", " ", "  ", "\t", "", ","];

        /// Loose pieces, or items (a keyword and up to three pieces) joined by separators.
        fn text() -> impl Strategy<Value = String> {
            let piece = || proptest::sample::select(PIECES);
            let item = (
                proptest::sample::select(KEYS),
                proptest::collection::vec(piece(), 0..4),
                proptest::sample::select(SEPARATORS),
            )
                .prop_map(|(k, v, sep)| format!("{k}{}{sep}", v.concat()));
            prop_oneof![
                proptest::collection::vec(piece(), 0..10).prop_map(|v| v.concat()),
                proptest::collection::vec(item, 0..5).prop_map(|v| {
                    let t = v.concat();
                    // Mostly without the last separator.
                    if t.len() % 4 == 0 {
                        t
                    } else {
                        t.trim_end_matches([' ', '\t', ',']).to_string()
                    }
                }),
            ]
        }

        fn modes() -> Vec<ParseOptions> {
            let mut v = Vec::new();
            for leniency in [Leniency::Lenient, Leniency::Strict] {
                for utf8 in [false, true] {
                    v.push(ParseOptions {
                        leniency,
                        utf8,
                        ..ParseOptions::default()
                    });
                }
            }
            v
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]

            #[test]
            fn same_answer_as_the_general_path(t in text()) {
                for o in modes() {
                    let mut mail = MailParams::default();
                    let mail = mail.parse_general(&t, &o).map(|()| mail);
                    prop_assert_eq!(MailParams::parse(&t, &o), mail, "MAIL {:?} {:?}", t, o);
                    let mut rcpt = RcptParams::default();
                    let rcpt = rcpt.parse_general(&t, &o).map(|()| rcpt);
                    prop_assert_eq!(RcptParams::parse(&t, &o), rcpt, "RCPT {:?} {:?}", t, o);
                }
            }
        }

        #[test]
        fn the_usual_shapes_take_the_fast_path() {
            let mut m = MailParams::default();
            assert!(m.parse_usual(b"SIZE=123456 BODY=8BITMIME").is_some());
            assert_eq!((m.size, m.body), (Some(123_456), Some(Body::EightBitMime)));
            let mut m = MailParams::default();
            assert!(m.parse_usual(b"body=binarymime size=0").is_some());
            assert_eq!((m.size, m.body), (Some(0), Some(Body::BinaryMime)));
            let mut r = RcptParams::default();
            let t = "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40x@example.test";
            assert!(r.parse_usual(t, false).is_some());
            assert_eq!(
                r.orcpt.as_ref().map(|o| &*o.addr.0),
                Some("bob+40x@example.test")
            );
            assert!(r.notify.is_some_and(|n| n.success && n.failure && !n.delay));
            // Shapes left to the general path.
            for t in [
                "SIZE=1 SIZE=2",
                "SIZE=1  BODY=7BIT",
                "SIZE=1 ",
                "SIZE=1\tBODY=7BIT",
                "RET=FULL",
            ] {
                assert!(
                    MailParams::default().parse_usual(t.as_bytes()).is_none(),
                    "{t}"
                );
            }
            for t in [
                "ORCPT=rfc=822;x",
                "NOTIFY=NEVER,DELAY",
                "NOTIFY=SUCCESS,",
                "XRDST=x",
            ] {
                assert!(RcptParams::default().parse_usual(t, true).is_none(), "{t}");
            }
        }
    }
}
