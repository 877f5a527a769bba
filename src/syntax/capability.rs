//! EHLO capabilities (RFC 5321 4.1.1.1, RFC 1869 and the extension RFCs; Exchange keywords
//! from the public record: \[MS-OXSMTP\], Microsoft KB 812455 and the Exchange 2007 "SMTP
//! Protocol Extensions" page).
//!
//! A [`Capabilities`] value keeps the advertised keywords in order (so a server profile
//! reproduces Exchange's exact EHLO reply) and answers typed questions about them.
//!
//! # Decisions
//!
//! * Keywords are case-insensitive (RFC 5321 2.4: Exchange 2003 sends `8bitmime`);
//!   [`Capability::to_line`] writes the canonical upper-case spelling Exchange uses.
//!   Parameters (AUTH mechanisms, the FUTURERELEASE text, ...) are kept as written.
//! * A line gets a typed variant only when it is well-formed for its keyword: `SIZE` with
//!   nothing or one decimal number (one beyond `u64` reads as `u64::MAX`: RFC 1870
//!   section 3 bounds no digit count), a keyword without parameters with
//!   none at all, `LIMITS` with `name=value` pairs only, `MT-PRIORITY` with at most one
//!   profile, and every parameter an `ehlo-param` (RFC 5321 4.1.1.1: printable ASCII, so
//!   no HT, control or non-ASCII octet). Anything else (`SIZE abc`, `PIPELINING now`,
//!   `AUTH LOGIN<HT>PLAIN`, `PIPE_CONNECT`, `PRDR`) is kept verbatim as
//!   [`Capability::Other`], so a client never acts on a keyword it did not understand and
//!   a proxy can relay it. Surrounding whitespace is ignored and runs of spaces between
//!   parameters collapse to one on output.
//! * `SIZE` without a number is `Size(None)`; `SIZE 0` stays `Size(Some(0))` as written.
//!   Both mean "no fixed maximum" (RFC 1870 section 3), and [`Capabilities::size`] reports
//!   both as `Some(None)`.
//! * The legacy `AUTH=LOGIN` line (needed by old Outlook versions) and Exchange's
//!   `X-EXPS=LOGIN` are their own variants; [`Capabilities::auth_mechanisms`] merges them.
//!
//! ```
//! use ehlo::syntax::capability::{Capabilities, Capability};
//! use ehlo::syntax::reply::Reply;
//!
//! let reply = Reply::new(250, None, "mail.example.test Hello\nSIZE 37748736\n8bitmime\nAUTH NTLM LOGIN\nAUTH=LOGIN");
//! let caps = Capabilities::from_reply(&reply);
//! assert_eq!(caps.list, [
//!     Capability::Size(Some(37748736)),
//!     Capability::EightBitMime,
//!     Capability::Auth(vec!["NTLM".into(), "LOGIN".into()]),
//!     Capability::AuthLegacy(vec!["LOGIN".into()]),
//! ]);
//! assert_eq!(caps.size(), Some(Some(37748736)));
//! assert_eq!(caps.auth_mechanisms(), ["NTLM", "LOGIN"]);
//! assert_eq!(caps.to_reply().to_bytes(),
//!     b"250-mail.example.test Hello\r\n250-SIZE 37748736\r\n250-8BITMIME\r\n250-AUTH NTLM LOGIN\r\n250 AUTH=LOGIN\r\n");
//! ```

use super::reply::Reply;
use std::fmt;

/// One EHLO keyword line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `PIPELINING` (RFC 2920).
    Pipelining,
    /// `SIZE [n]` (RFC 1870); `None` for `SIZE` without a number. `SIZE 0` is kept as
    /// `Some(0)`; both mean no fixed limit (see [`Capabilities::size`]).
    Size(Option<u64>),
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BINARYMIME` (RFC 3030).
    BinaryMime,
    /// `CHUNKING` (RFC 3030).
    Chunking,
    /// `DSN` (RFC 3461).
    Dsn,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    EnhancedStatusCodes,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mech...` (RFC 4954), mechanism names as advertised.
    Auth(Vec<String>),
    /// The legacy `AUTH=mech...` line old Outlook versions need (Exchange sends `AUTH=LOGIN`).
    AuthLegacy(Vec<String>),
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `REQUIRETLS` (RFC 8689).
    RequireTls,
    /// `LIMITS name[=value]...` (RFC 9422 section 4: `limit-name ["=" limit-value]`),
    /// pairs in order; an empty value stands for a limit given without one (a limit
    /// with `=` and nothing after it is not valid and makes the line [`Capability::Other`]).
    Limits(Vec<(String, String)>),
    /// `DELIVERBY [min-by-time]` (RFC 2852).
    DeliverBy(Option<u64>),
    /// `ETRN` (RFC 1985).
    Etrn,
    /// `ATRN` (RFC 2645).
    Atrn,
    /// `TURN` (RFC 821).
    Turn,
    /// `VRFY`.
    Vrfy,
    /// `EXPN`.
    Expn,
    /// `HELP`.
    Help,
    /// `MT-PRIORITY [profile]` (RFC 6710).
    MtPriority(Option<String>),
    /// `FUTURERELEASE max-future-release-interval max-future-release-date-time` (RFC 4865),
    /// kept as the parameter text, runs of spaces collapsed to one.
    FutureRelease(String),
    /// `X-EXPS mech...`: Exchange server-to-server authentication mechanisms.
    XExps(Vec<String>),
    /// The legacy `X-EXPS=mech...` line.
    XExpsLegacy(Vec<String>),
    /// `X-ANONYMOUSTLS`.
    XAnonymousTls,
    /// `X-LINK2STATE`.
    XLink2State,
    /// `XEXCH50`.
    XExch50,
    /// `XRDST`.
    XRdst,
    /// `XSHADOW`.
    XShadow,
    /// `XSHADOWREQUEST`.
    XShadowRequest,
    /// `XPROXY`.
    XProxy,
    /// `XPROXYFROM`.
    XProxyFrom,
    /// `XPROXYTO`.
    XProxyTo,
    /// `XSESSIONPARAMS`.
    XSessionParams,
    /// `XQDISCARD`.
    XQDiscard,
    /// Any other keyword (or a known keyword with malformed parameters), verbatim, with its
    /// parameter text (possibly empty).
    Other {
        /// The keyword as written.
        keyword: String,
        /// The rest of the line after the keyword and one space.
        params: String,
    },
}

/// The capabilities of an EHLO reply, in advertised order, plus the greeting line.
///
/// A client gets them in [`client::Event::Capabilities`](crate::client::Event::Capabilities)
/// and from [`Client::capabilities`](crate::client::Client::capabilities):
///
/// ```
/// use ehlo::{Capabilities, Reply};
///
/// let reply = Reply::new(250, None, "mx.example.test Hello\nPIPELINING\nSIZE 1000000\nAUTH PLAIN LOGIN\nCHUNKING");
/// let caps = Capabilities::from_reply(&reply);
/// assert_eq!(caps.greeting, "mx.example.test Hello");
/// assert!(caps.pipelining() && caps.chunking() && !caps.starttls());
/// assert_eq!(caps.size(), Some(Some(1_000_000)));
/// assert!(caps.supports_auth("plain"));
/// assert!(caps.has_keyword("chunking"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Capabilities {
    /// The first line of the EHLO reply: the server's domain and optional greeting text.
    pub greeting: String,
    /// The keyword lines, in order.
    pub list: Vec<Capability>,
}

/// The limits of a `LIMITS` line (RFC 9422 section 3): the ones this crate knows, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Limits {
    /// `RCPTMAX`: recipients per transaction.
    pub rcpt_max: Option<u64>,
    /// `MAILMAX`: transactions per session.
    pub mail_max: Option<u64>,
    /// `RCPTDOMAINMAX`: distinct recipient domains per transaction.
    pub rcpt_domain_max: Option<u64>,
}

impl Limits {
    /// The known limits of the pairs of a `LIMITS` line: names case-insensitive, the
    /// first occurrence of a name wins, a value that is not a decimal number is ignored.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Limits {
        let mut l = Limits::default();
        for (name, value) in pairs {
            let slot = if name.eq_ignore_ascii_case("RCPTMAX") {
                &mut l.rcpt_max
            } else if name.eq_ignore_ascii_case("MAILMAX") {
                &mut l.mail_max
            } else if name.eq_ignore_ascii_case("RCPTDOMAINMAX") {
                &mut l.rcpt_domain_max
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = parse_number(value);
            }
        }
        l
    }
}

/// Longest text of one EHLO reply line [`Capabilities::to_reply`] writes: 512 octets minus
/// `250-` and CRLF (RFC 5321 4.5.3.1.5).
const MAX_LINE_TEXT: usize = crate::limits::MAX_REPLY_LINE - 6;

impl Capabilities {
    /// A capability set with the given greeting line and keyword lines.
    pub fn new(greeting: impl Into<String>, list: Vec<Capability>) -> Self {
        Capabilities {
            greeting: greeting.into(),
            list,
        }
    }

    /// Reads the capabilities from a `250` EHLO reply (first line: greeting).
    ///
    /// The reply code is the caller's business (a `5yz` to EHLO means "try HELO"); a
    /// single-line reply (or a HELO reply) gives an empty list.
    pub fn from_reply(reply: &Reply) -> Capabilities {
        let mut lines = reply.lines();
        let greeting = lines.next().unwrap_or_default().to_string();
        Capabilities {
            greeting,
            list: lines.map(Capability::parse).collect(),
        }
    }

    /// Builds the `250` EHLO reply.
    ///
    /// CR and LF inside the greeting or a keyword line become spaces (no line can be
    /// injected), and a line whose text is longer than 506 octets is cut at a character
    /// boundary so that the reply's lines are exactly the greeting and the keywords.
    pub fn to_reply(&self) -> Reply {
        let mut text = String::new();
        push_line(&mut text, &self.greeting);
        for cap in &self.list {
            text.push('\n');
            push_line(&mut text, &cap.to_line());
        }
        Reply::new(250, None, text)
    }

    /// Writes the octets of [`Capabilities::to_reply`] as [`Reply::encode`] writes them,
    /// without building the reply: each line goes straight to `out` (the server's EHLO
    /// reply, once per session; the keyword lines share one scratch string).
    pub(crate) fn encode_reply(&self, out: &mut impl bytes::BufMut) {
        let last = self.list.len();
        encode_reply_line(out, &self.greeting, last == 0);
        let mut scratch = String::new();
        for (i, cap) in self.list.iter().enumerate() {
            scratch.clear();
            cap.write_line(&mut scratch);
            encode_reply_line(out, &scratch, i + 1 == last);
        }
    }

    /// Whether a keyword of this kind is present (e.g. `caps.has(&Capability::Pipelining)`;
    /// for keywords with arguments compares the kind only; for [`Capability::Other`]
    /// compares the keyword, case-insensitively).
    pub fn has(&self, cap: &Capability) -> bool {
        self.list.iter().any(|c| match (c, cap) {
            (Capability::Other { keyword: a, .. }, Capability::Other { keyword: b, .. }) => {
                a.eq_ignore_ascii_case(b)
            }
            _ => std::mem::discriminant(c) == std::mem::discriminant(cap),
        })
    }

    /// Whether a line with this keyword is present, case-insensitively, typed or not
    /// (`AUTH=LOGIN` counts as `AUTH`, `X-EXPS=LOGIN` as `X-EXPS`).
    pub fn has_keyword(&self, keyword: &str) -> bool {
        self.list
            .iter()
            .any(|c| c.keyword().eq_ignore_ascii_case(keyword))
    }

    /// The `SIZE` capability: `None` if absent, `Some(None)` without a limit.
    ///
    /// `SIZE 0` also gives `Some(None)`: RFC 1870 section 3 says 0 means no fixed maximum.
    /// With several `SIZE` lines the first wins.
    pub fn size(&self) -> Option<Option<u64>> {
        self.list.iter().find_map(|c| match c {
            Capability::Size(n) => Some(n.filter(|&n| n > 0)),
            _ => None,
        })
    }

    /// The AUTH mechanisms (from `AUTH` and `AUTH=` lines, deduplicated, upper-case).
    pub fn auth_mechanisms(&self) -> Vec<String> {
        mechanisms(self.list.iter().filter_map(|c| match c {
            Capability::Auth(m) | Capability::AuthLegacy(m) => Some(m),
            _ => None,
        }))
    }

    /// Whether `mechanism` is among [`Capabilities::auth_mechanisms`] (case-insensitive).
    pub fn supports_auth(&self, mechanism: &str) -> bool {
        self.list.iter().any(|c| match c {
            Capability::Auth(m) | Capability::AuthLegacy(m) => {
                m.iter().any(|x| x.eq_ignore_ascii_case(mechanism))
            }
            _ => false,
        })
    }

    /// The X-EXPS mechanisms (from `X-EXPS` and `X-EXPS=` lines, deduplicated, upper-case).
    pub fn xexps_mechanisms(&self) -> Vec<String> {
        mechanisms(self.list.iter().filter_map(|c| match c {
            Capability::XExps(m) | Capability::XExpsLegacy(m) => Some(m),
            _ => None,
        }))
    }

    /// The known limits of the first `LIMITS` line (RFC 9422), `None` without one. Names
    /// are case-insensitive; a value that is not a decimal number is ignored.
    pub fn limits(&self) -> Option<Limits> {
        self.list.iter().find_map(|c| match c {
            Capability::Limits(pairs) => Some(Limits::from_pairs(pairs)),
            _ => None,
        })
    }

    /// The `DELIVERBY` capability (RFC 2852): `None` if absent, `Some(min_by_time)`.
    pub fn deliver_by(&self) -> Option<Option<u64>> {
        self.list.iter().find_map(|c| match c {
            Capability::DeliverBy(n) => Some(*n),
            _ => None,
        })
    }

    /// `PIPELINING` (RFC 2920).
    pub fn pipelining(&self) -> bool {
        self.has(&Capability::Pipelining)
    }

    /// `STARTTLS` (RFC 3207).
    pub fn starttls(&self) -> bool {
        self.has(&Capability::StartTls)
    }

    /// `CHUNKING` (RFC 3030).
    pub fn chunking(&self) -> bool {
        self.has(&Capability::Chunking)
    }

    /// `BINARYMIME` (RFC 3030).
    pub fn binary_mime(&self) -> bool {
        self.has(&Capability::BinaryMime)
    }

    /// `8BITMIME` (RFC 6152).
    pub fn eight_bit_mime(&self) -> bool {
        self.has(&Capability::EightBitMime)
    }

    /// `DSN` (RFC 3461).
    pub fn dsn(&self) -> bool {
        self.has(&Capability::Dsn)
    }

    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    pub fn enhanced_status_codes(&self) -> bool {
        self.has(&Capability::EnhancedStatusCodes)
    }

    /// `SMTPUTF8` (RFC 6531).
    pub fn smtputf8(&self) -> bool {
        self.has(&Capability::SmtpUtf8)
    }

    /// `REQUIRETLS` (RFC 8689).
    pub fn requiretls(&self) -> bool {
        self.has(&Capability::RequireTls)
    }

    /// `X-ANONYMOUSTLS` (Exchange).
    pub fn x_anonymous_tls(&self) -> bool {
        self.has(&Capability::XAnonymousTls)
    }

    /// `X-LINK2STATE` (Exchange).
    pub fn x_link2state(&self) -> bool {
        self.has(&Capability::XLink2State)
    }

    /// `XEXCH50` (Exchange, Microsoft KB 812455).
    pub fn xexch50(&self) -> bool {
        self.has(&Capability::XExch50)
    }
}

/// The typed keywords of a [`Capabilities`] as a bit set, for a caller that asks
/// [`Capabilities::has`] over and over (the client, several times per message): the same
/// answers for every keyword but [`Capability::Other`], which has no bit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Kinds(u64);

impl Kinds {
    pub(crate) fn of(caps: &Capabilities) -> Kinds {
        Kinds(
            caps.list
                .iter()
                .filter_map(Capability::kind_bit)
                .fold(0, |a, b| a | b),
        )
    }

    /// [`Capabilities::has`] of the set this was made of; `None` for
    /// [`Capability::Other`].
    pub(crate) fn has(self, cap: &Capability) -> Option<bool> {
        cap.kind_bit().map(|b| self.0 & b != 0)
    }
}

/// One line of [`Capabilities::encode_reply`]: `250-` (`250 ` on the `last` line, `250`
/// alone for an empty last line), `line` cut as [`push_line`] cuts it with its control
/// characters but HT turned into spaces (what [`push_line`] and the reply encoder's
/// sanitizing do together; the cut line fits in one reply line, so it is never split),
/// and CRLF.
fn encode_reply_line(out: &mut impl bytes::BufMut, line: &str, last: bool) {
    let mut end = line.len().min(MAX_LINE_TEXT);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let line = line.as_bytes().get(..end).unwrap_or_default();
    out.put_slice(match (last, line.is_empty()) {
        (false, _) => b"250-",
        (true, false) => b"250 ",
        (true, true) => b"250",
    });
    let unsafe_octet = |b: u8| (b < 0x20 && b != b'\t') || b == 0x7f;
    if line.iter().any(|&b| unsafe_octet(b)) {
        for &b in line {
            out.put_u8(if unsafe_octet(b) { b' ' } else { b });
        }
    } else {
        out.put_slice(line);
    }
    out.put_slice(b"\r\n");
}

/// Appends `line` with CR/LF turned into spaces, cut to [`MAX_LINE_TEXT`] octets.
fn push_line(text: &mut String, line: &str) {
    let mut end = line.len().min(MAX_LINE_TEXT);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let line = line.get(..end).unwrap_or_default();
    if line.contains(['\r', '\n']) {
        text.extend(
            line.chars()
                .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
        );
    } else {
        text.push_str(line);
    }
}

/// Upper-cased, deduplicated mechanisms in first-seen order.
///
/// In time `n log n` in the names: an EHLO reply a client reads may hold hundreds of
/// thousands of them, and a search of the list for every name would take minutes. (A
/// `BTreeSet`, not a `HashSet`: std's hasher draws a random seed, and the crate draws no
/// randomness.)
fn mechanisms<'a>(lists: impl Iterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in lists.flatten() {
        let m = m.to_ascii_uppercase();
        if !seen.contains(&m) {
            seen.insert(m.clone());
            out.push(m);
        }
    }
    out
}

/// A non-empty run of ASCII digits that fits in a `u64`.
fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `s` without a case-insensitive ASCII `prefix`.
fn strip_prefix_ci<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Writes `keyword` followed by the words, separated by single spaces.
fn push_words(s: &mut String, sep: &str, words: &[String]) {
    s.reserve(words.iter().map(|w| w.len() + 1).sum::<usize>());
    for (i, w) in words.iter().enumerate() {
        s.push_str(if i == 0 { sep } else { " " });
        s.push_str(w);
    }
}

/// Appends `n` in decimal.
fn push_decimal(s: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        s.push(char::from(d));
    }
}

impl Capability {
    /// Parses one keyword line (without the `250-` prefix).
    ///
    /// Never fails: a line that is not a well-formed known keyword line is
    /// [`Capability::Other`] (see the module documentation).
    #[must_use]
    pub fn parse(line: &str) -> Capability {
        let line = line.trim_ascii();
        let (keyword, rest) = match line.split_once(' ') {
            Some((k, r)) => (k, r),
            None => (line, ""),
        };
        let params: Vec<&str> = rest.split(' ').filter(|t| !t.is_empty()).collect();
        let owned = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<String>>();
        let other = || Capability::Other {
            keyword: keyword.to_string(),
            params: rest.to_string(),
        };
        // RFC 5321 4.1.1.1: `ehlo-line = ehlo-keyword *( SP ehlo-param )` with
        // `ehlo-param = 1*(%d33-126)`: an HT, another control or a non-ASCII octet makes the
        // line malformed, whatever its keyword.
        if !line.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            return other();
        }
        if let Some(first) = strip_prefix_ci(keyword, "AUTH=") {
            return Capability::AuthLegacy(
                std::iter::once(first)
                    .chain(params.iter().copied())
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect(),
            );
        }
        if let Some(first) = strip_prefix_ci(keyword, "X-EXPS=") {
            return Capability::XExpsLegacy(
                std::iter::once(first)
                    .chain(params.iter().copied())
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect(),
            );
        }
        let mut upper = [0u8; 24];
        let Some(slot) = upper.get_mut(..keyword.len()) else {
            return other();
        };
        slot.copy_from_slice(keyword.as_bytes());
        slot.make_ascii_uppercase();
        let bare = |cap: Capability| if params.is_empty() { cap } else { other() };
        let number = |make: fn(Option<u64>) -> Capability| match params.as_slice() {
            [] => make(None),
            [n] => parse_number(n).map_or_else(other, |n| make(Some(n))),
            _ => other(),
        };
        // RFC 1870 3: `size-param ::= [1*DIGIT]`, any number of digits; one beyond u64 is
        // no practical limit and reads as u64::MAX.
        let size = || match params.as_slice() {
            [n] if n.len() > 19 && n.bytes().all(|b| b.is_ascii_digit()) => {
                Capability::Size(Some(parse_number(n).unwrap_or(u64::MAX)))
            }
            _ => number(Capability::Size),
        };
        match &*slot {
            b"PIPELINING" => bare(Capability::Pipelining),
            b"SIZE" => size(),
            b"8BITMIME" => bare(Capability::EightBitMime),
            b"BINARYMIME" => bare(Capability::BinaryMime),
            b"CHUNKING" => bare(Capability::Chunking),
            b"DSN" => bare(Capability::Dsn),
            b"ENHANCEDSTATUSCODES" => bare(Capability::EnhancedStatusCodes),
            b"STARTTLS" => bare(Capability::StartTls),
            b"AUTH" => Capability::Auth(owned(&params)),
            b"SMTPUTF8" => bare(Capability::SmtpUtf8),
            b"REQUIRETLS" => bare(Capability::RequireTls),
            b"LIMITS" => {
                let mut pairs = Vec::with_capacity(params.len());
                for p in &params {
                    match p.split_once('=') {
                        Some((name, value)) if !name.is_empty() && !value.is_empty() => {
                            pairs.push((name.to_string(), value.to_string()))
                        }
                        None if !p.is_empty() => pairs.push((p.to_string(), String::new())),
                        _ => return other(),
                    }
                }
                Capability::Limits(pairs)
            }
            b"DELIVERBY" => number(Capability::DeliverBy),
            b"ETRN" => bare(Capability::Etrn),
            b"ATRN" => bare(Capability::Atrn),
            b"TURN" => bare(Capability::Turn),
            b"VRFY" => bare(Capability::Vrfy),
            b"EXPN" => bare(Capability::Expn),
            b"HELP" => bare(Capability::Help),
            b"MT-PRIORITY" => match params.as_slice() {
                [] => Capability::MtPriority(None),
                [p] => Capability::MtPriority(Some(p.to_string())),
                _ => other(),
            },
            // The parameters joined by single spaces: `to_line` writes the text as it is, and
            // RFC 5321 4.1.1.1 puts one SP between parameters.
            b"FUTURERELEASE" => Capability::FutureRelease(params.join(" ")),
            b"X-EXPS" => Capability::XExps(owned(&params)),
            b"X-ANONYMOUSTLS" => bare(Capability::XAnonymousTls),
            b"X-LINK2STATE" => bare(Capability::XLink2State),
            b"XEXCH50" => bare(Capability::XExch50),
            b"XRDST" => bare(Capability::XRdst),
            b"XSHADOW" => bare(Capability::XShadow),
            b"XSHADOWREQUEST" => bare(Capability::XShadowRequest),
            b"XPROXY" => bare(Capability::XProxy),
            b"XPROXYFROM" => bare(Capability::XProxyFrom),
            b"XPROXYTO" => bare(Capability::XProxyTo),
            b"XSESSIONPARAMS" => bare(Capability::XSessionParams),
            b"XQDISCARD" => bare(Capability::XQDiscard),
            _ => other(),
        }
    }

    /// The canonical upper-case keyword (`AUTH` for both AUTH forms, `X-EXPS` for both
    /// X-EXPS forms), or the keyword of [`Capability::Other`] as written.
    pub fn keyword(&self) -> &str {
        match self {
            Capability::Pipelining => "PIPELINING",
            Capability::Size(_) => "SIZE",
            Capability::EightBitMime => "8BITMIME",
            Capability::BinaryMime => "BINARYMIME",
            Capability::Chunking => "CHUNKING",
            Capability::Dsn => "DSN",
            Capability::EnhancedStatusCodes => "ENHANCEDSTATUSCODES",
            Capability::StartTls => "STARTTLS",
            Capability::Auth(_) | Capability::AuthLegacy(_) => "AUTH",
            Capability::SmtpUtf8 => "SMTPUTF8",
            Capability::RequireTls => "REQUIRETLS",
            Capability::Limits(_) => "LIMITS",
            Capability::DeliverBy(_) => "DELIVERBY",
            Capability::Etrn => "ETRN",
            Capability::Atrn => "ATRN",
            Capability::Turn => "TURN",
            Capability::Vrfy => "VRFY",
            Capability::Expn => "EXPN",
            Capability::Help => "HELP",
            Capability::MtPriority(_) => "MT-PRIORITY",
            Capability::FutureRelease(_) => "FUTURERELEASE",
            Capability::XExps(_) | Capability::XExpsLegacy(_) => "X-EXPS",
            Capability::XAnonymousTls => "X-ANONYMOUSTLS",
            Capability::XLink2State => "X-LINK2STATE",
            Capability::XExch50 => "XEXCH50",
            Capability::XRdst => "XRDST",
            Capability::XShadow => "XSHADOW",
            Capability::XShadowRequest => "XSHADOWREQUEST",
            Capability::XProxy => "XPROXY",
            Capability::XProxyFrom => "XPROXYFROM",
            Capability::XProxyTo => "XPROXYTO",
            Capability::XSessionParams => "XSESSIONPARAMS",
            Capability::XQDiscard => "XQDISCARD",
            Capability::Other { keyword, .. } => keyword,
        }
    }

    /// The bit of this kind of keyword in [`Kinds`]; `None` for [`Capability::Other`].
    fn kind_bit(&self) -> Option<u64> {
        let n = match self {
            Capability::Pipelining => 0,
            Capability::Size(_) => 1,
            Capability::EightBitMime => 2,
            Capability::BinaryMime => 3,
            Capability::Chunking => 4,
            Capability::Dsn => 5,
            Capability::EnhancedStatusCodes => 6,
            Capability::StartTls => 7,
            Capability::Auth(_) => 8,
            Capability::AuthLegacy(_) => 9,
            Capability::SmtpUtf8 => 10,
            Capability::RequireTls => 11,
            Capability::Limits(_) => 12,
            Capability::DeliverBy(_) => 13,
            Capability::Etrn => 14,
            Capability::Atrn => 15,
            Capability::Turn => 16,
            Capability::Vrfy => 17,
            Capability::Expn => 18,
            Capability::Help => 19,
            Capability::MtPriority(_) => 20,
            Capability::FutureRelease(_) => 21,
            Capability::XExps(_) => 22,
            Capability::XExpsLegacy(_) => 23,
            Capability::XAnonymousTls => 24,
            Capability::XLink2State => 25,
            Capability::XExch50 => 26,
            Capability::XRdst => 27,
            Capability::XShadow => 28,
            Capability::XShadowRequest => 29,
            Capability::XProxy => 30,
            Capability::XProxyFrom => 31,
            Capability::XProxyTo => 32,
            Capability::XSessionParams => 33,
            Capability::XQDiscard => 34,
            Capability::Other { .. } => return None,
        };
        Some(1 << n)
    }

    /// The keyword line as advertised (without the `250-` prefix), keyword in canonical
    /// upper case, parameters separated by single spaces.
    pub fn to_line(&self) -> String {
        let mut s = String::new();
        self.write_line(&mut s);
        s
    }

    /// Appends [`Capability::to_line`] to `s`.
    fn write_line(&self, s: &mut String) {
        let kw = self.keyword();
        s.push_str(kw);
        match self {
            Capability::Size(Some(n)) | Capability::DeliverBy(Some(n)) => {
                s.push(' ');
                push_decimal(s, *n);
            }
            Capability::Auth(m) | Capability::XExps(m) => push_words(s, " ", m),
            Capability::AuthLegacy(m) | Capability::XExpsLegacy(m) => {
                s.push('=');
                push_words(s, "", m);
            }
            Capability::Limits(pairs) => {
                for (name, value) in pairs {
                    s.push(' ');
                    s.push_str(name);
                    if !value.is_empty() {
                        s.push('=');
                        s.push_str(value);
                    }
                }
            }
            Capability::MtPriority(Some(p)) => {
                s.push(' ');
                s.push_str(p);
            }
            Capability::FutureRelease(p) | Capability::Other { params: p, .. } if !p.is_empty() => {
                s.push(' ');
                s.push_str(p);
            }
            _ => {}
        }
    }
}

impl fmt::Display for Capability {
    /// The keyword line, as [`Capability::to_line`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability as C;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn keywords_case_insensitive() {
        assert_eq!(C::parse("8bitmime"), C::EightBitMime);
        assert_eq!(C::parse("  Pipelining \t"), C::Pipelining);
        assert_eq!(C::parse("x-anonymoustls"), C::XAnonymousTls);
        assert_eq!(C::parse("starttls").to_line(), "STARTTLS");
    }

    #[test]
    fn size_forms() {
        assert_eq!(C::parse("SIZE"), C::Size(None));
        assert_eq!(C::parse("SIZE 37748736"), C::Size(Some(37748736)));
        assert_eq!(C::parse("SIZE   0"), C::Size(Some(0)));
        assert_eq!(C::parse("SIZE 007").to_line(), "SIZE 7");
        assert_eq!(
            C::parse("SIZE 99999999999999999999999"),
            C::Size(Some(u64::MAX))
        );
        for bad in ["SIZE abc", "SIZE +5", "SIZE 1 2"] {
            assert!(matches!(C::parse(bad), C::Other { .. }), "{bad}");
            assert_eq!(C::parse(bad).to_line(), bad);
        }
        let caps = |c| Capabilities::new("x", vec![c]);
        assert_eq!(caps(C::Size(Some(0))).size(), Some(None));
        assert_eq!(caps(C::Size(None)).size(), Some(None));
        assert_eq!(caps(C::Size(Some(10))).size(), Some(Some(10)));
        assert_eq!(caps(C::Pipelining).size(), None);
    }

    #[test]
    fn parameters_outside_ehlo_param_are_not_typed() {
        // RFC 5321 4.1.1.1: ehlo-param = 1*(%d33-126); HT is not a separator and a
        // control or non-ASCII octet is in no parameter.
        for bad in [
            "AUTH LOGIN\tPLAIN",
            "AUTH caf\u{e9}",
            "AUTH PLAIN\u{0}",
            "AUTH=LOGIN\u{7f}",
            "X-EXPS GSSAPI\tNTLM",
            "MT-PRIORITY MIX\u{e9}R",
            "LIMITS RCPTMAX=1\u{1}",
        ] {
            assert!(matches!(C::parse(bad), C::Other { .. }), "{bad:?}");
        }
        // Blanks around the line are still ignored (module documentation).
        assert_eq!(C::parse("\tAUTH PLAIN\t"), C::Auth(s(&["PLAIN"])));
    }

    #[test]
    fn auth_forms() {
        assert_eq!(
            C::parse("AUTH GSSAPI  NTLM LOGIN"),
            C::Auth(s(&["GSSAPI", "NTLM", "LOGIN"]))
        );
        assert_eq!(C::parse("AUTH"), C::Auth(vec![]));
        assert_eq!(C::parse("auth=login"), C::AuthLegacy(s(&["login"])));
        assert_eq!(C::parse("AUTH=LOGIN PLAIN").to_line(), "AUTH=LOGIN PLAIN");
        assert_eq!(C::parse("AUTH=").to_line(), "AUTH=");
        assert_eq!(C::parse("X-EXPS=LOGIN"), C::XExpsLegacy(s(&["LOGIN"])));
        assert_eq!(
            C::parse("X-EXPS GSSAPI NTLM").to_line(),
            "X-EXPS GSSAPI NTLM"
        );
        let caps = Capabilities::new(
            "x",
            vec![
                C::Auth(s(&["gssapi", "NTLM"])),
                C::AuthLegacy(s(&["LOGIN", "ntlm"])),
            ],
        );
        assert_eq!(caps.auth_mechanisms(), s(&["GSSAPI", "NTLM", "LOGIN"]));
        assert!(caps.supports_auth("login") && !caps.supports_auth("PLAIN"));
        assert!(caps.has_keyword("auth"));
    }

    #[test]
    fn limits_and_others() {
        let c = C::parse("LIMITS RCPTMAX=50 mailmax=1000 FOO=bar");
        assert_eq!(
            c,
            C::Limits(vec![
                ("RCPTMAX".into(), "50".into()),
                ("mailmax".into(), "1000".into()),
                ("FOO".into(), "bar".into())
            ])
        );
        let caps = Capabilities::new("x", vec![c]);
        assert_eq!(
            caps.limits(),
            Some(Limits {
                rcpt_max: Some(50),
                mail_max: Some(1000),
                rcpt_domain_max: None
            })
        );
        // RFC 9422 4: a limit may come without a value; `NAME=` is not valid.
        let c = C::parse("LIMITS RCPTMAX=10 MAILMAX=5 FUTURELIMIT");
        assert_eq!(c.to_line(), "LIMITS RCPTMAX=10 MAILMAX=5 FUTURELIMIT");
        let caps = Capabilities::new("x", vec![c]);
        assert_eq!(caps.limits().unwrap().rcpt_max, Some(10));
        assert_eq!(caps.limits().unwrap().mail_max, Some(5));
        assert!(matches!(C::parse("LIMITS RCPTMAX="), C::Other { .. }));
        assert_eq!(C::parse("DELIVERBY 240"), C::DeliverBy(Some(240)));
        assert_eq!(
            C::parse("MT-PRIORITY MIXER"),
            C::MtPriority(Some("MIXER".into()))
        );
        assert_eq!(
            C::parse("FUTURERELEASE 604800 2026-12-01T00:00:00Z"),
            C::FutureRelease("604800 2026-12-01T00:00:00Z".into())
        );
        // Runs of spaces collapse (module documentation; RFC 5321 4.1.1.1 writes one SP
        // between parameters), so `to_line` never writes two.
        let c = C::parse("FUTURERELEASE 604800  2026-12-01T00:00:00Z");
        assert_eq!(c, C::FutureRelease("604800 2026-12-01T00:00:00Z".into()));
        assert_eq!(c.to_line(), "FUTURERELEASE 604800 2026-12-01T00:00:00Z");
        assert_eq!(
            C::parse("PIPE_CONNECT"),
            C::Other {
                keyword: "PIPE_CONNECT".into(),
                params: String::new()
            }
        );
        assert_eq!(
            C::parse("PIPELINING now"),
            C::Other {
                keyword: "PIPELINING".into(),
                params: "now".into()
            }
        );
        assert_eq!(C::parse("X-Foo  a b").to_line(), "X-Foo  a b");
        assert_eq!(
            C::parse(""),
            C::Other {
                keyword: String::new(),
                params: String::new()
            }
        );
        let caps = Capabilities::new("x", vec![C::parse("prdr")]);
        assert!(caps.has(&C::Other {
            keyword: "PRDR".into(),
            params: String::new()
        }));
        assert!(caps.has_keyword("PRDR"));
    }

    #[test]
    fn reply_round_trip() {
        let caps = Capabilities::new(
            "mail.example.test Hello [192.0.2.10]",
            vec![
                C::Size(Some(37748736)),
                C::Pipelining,
                C::Auth(s(&["NTLM"])),
                C::XRdst,
            ],
        );
        let r = caps.to_reply();
        assert_eq!(
            r.to_bytes(),
            b"250-mail.example.test Hello [192.0.2.10]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n250-AUTH NTLM\r\n250 XRDST\r\n"
        );
        assert_eq!(Capabilities::from_reply(&r), caps);
        let helo = Capabilities::from_reply(&Reply::new(250, None, "mail.example.test"));
        assert_eq!(helo, Capabilities::new("mail.example.test", vec![]));
    }

    #[test]
    fn kinds_answer_as_has() {
        let all = [
            C::Pipelining,
            C::Size(None),
            C::EightBitMime,
            C::BinaryMime,
            C::Chunking,
            C::Dsn,
            C::EnhancedStatusCodes,
            C::StartTls,
            C::Auth(vec![]),
            C::AuthLegacy(vec![]),
            C::SmtpUtf8,
            C::RequireTls,
            C::Limits(vec![]),
            C::DeliverBy(None),
            C::Etrn,
            C::Atrn,
            C::Turn,
            C::Vrfy,
            C::Expn,
            C::Help,
            C::MtPriority(None),
            C::FutureRelease(String::new()),
            C::XExps(vec![]),
            C::XExpsLegacy(vec![]),
            C::XAnonymousTls,
            C::XLink2State,
            C::XExch50,
            C::XRdst,
            C::XShadow,
            C::XShadowRequest,
            C::XProxy,
            C::XProxyFrom,
            C::XProxyTo,
            C::XSessionParams,
            C::XQDiscard,
        ];
        let bits: std::collections::BTreeSet<u64> =
            all.iter().map(|c| c.kind_bit().unwrap()).collect();
        assert_eq!(bits.len(), all.len(), "one bit per kind");
        let other = C::Other {
            keyword: "PIPELINING".into(),
            params: String::new(),
        };
        assert_eq!(Kinds::default().has(&other), None);
        for i in 0..all.len() {
            let caps = Capabilities::new(
                "h",
                all.iter()
                    .enumerate()
                    .filter(|(j, _)| (i + j) % 3 == 0)
                    .map(|(_, c)| c.clone())
                    .chain([other.clone(), C::Size(Some(5))])
                    .collect(),
            );
            let kinds = Kinds::of(&caps);
            for c in &all {
                assert_eq!(kinds.has(c), Some(caps.has(c)), "{c:?} in {caps:?}");
            }
        }
    }

    #[test]
    fn encode_reply_writes_the_octets_of_to_reply() {
        let odd = [
            "",
            "a\tb",
            "x\x7fy\x01z",
            "caf\u{e9}\r\n",
            "\r",
            "\n",
            "\r\n250 fake",
        ];
        let mut lists: Vec<Vec<Capability>> = vec![
            vec![],
            vec![C::Pipelining],
            vec![
                C::Size(Some(0)),
                C::Size(Some(u64::MAX)),
                C::Size(None),
                C::DeliverBy(Some(1234)),
                C::DeliverBy(None),
                C::Auth(vec![]),
                C::Auth(vec!["PLAIN".into(), "LOGIN".into()]),
                C::AuthLegacy(vec![]),
                C::AuthLegacy(vec!["LOGIN".into()]),
                C::XExps(vec!["GSSAPI".into(), "NTLM".into()]),
                C::XExpsLegacy(vec!["LOGIN".into(), "X".into()]),
                C::Limits(vec![]),
                C::Limits(vec![
                    ("RCPTMAX".into(), "10".into()),
                    ("X".into(), "".into()),
                ]),
                C::MtPriority(None),
                C::MtPriority(Some("".into())),
                C::MtPriority(Some("MIXER".into())),
                C::FutureRelease("".into()),
                C::FutureRelease("604800 2012-10-23T10:00:00Z".into()),
                C::Other {
                    keyword: "".into(),
                    params: "".into(),
                },
                C::Chunking,
            ],
            vec![C::Auth(vec!["M".repeat(700)]), C::Pipelining],
            vec![C::Other {
                keyword: "\u{e9}".repeat(300),
                params: "".into(),
            }],
        ];
        for o in odd {
            lists.push(vec![C::Other {
                keyword: "X".into(),
                params: o.into(),
            }]);
            lists.push(vec![
                C::Other {
                    keyword: o.into(),
                    params: "".into(),
                },
                C::Pipelining,
            ]);
        }
        let lines: Vec<String> = lists[2].iter().map(Capability::to_line).collect();
        assert_eq!(
            lines,
            [
                "SIZE 0",
                "SIZE 18446744073709551615",
                "SIZE",
                "DELIVERBY 1234",
                "DELIVERBY",
                "AUTH",
                "AUTH PLAIN LOGIN",
                "AUTH=",
                "AUTH=LOGIN",
                "X-EXPS GSSAPI NTLM",
                "X-EXPS=LOGIN X",
                "LIMITS",
                "LIMITS RCPTMAX=10 X",
                "MT-PRIORITY",
                "MT-PRIORITY ",
                "MT-PRIORITY MIXER",
                "FUTURERELEASE",
                "FUTURERELEASE 604800 2012-10-23T10:00:00Z",
                "",
                "CHUNKING",
            ]
        );
        let greetings = ["mx.example.test Hello [192.0.2.1]", "", "h\r\nx\ty\x00"];
        let long = [
            "h".repeat(600),
            "\u{e9}".repeat(300),
            "a".repeat(505) + "\u{e9}",
        ];
        for g in greetings.iter().map(|g| g.to_string()).chain(long) {
            for list in &lists {
                let caps = Capabilities::new(g.clone(), list.clone());
                let mut out = Vec::new();
                caps.encode_reply(&mut out);
                assert_eq!(out, caps.to_reply().to_bytes(), "{caps:?}");
            }
        }
    }

    #[test]
    fn to_reply_cannot_inject_lines() {
        let caps = Capabilities::new(
            "evil\r\n250 fake",
            vec![
                C::Other {
                    keyword: "X".into(),
                    params: "a\nSTARTTLS".into(),
                },
                C::Pipelining,
            ],
        );
        let bytes = caps.to_reply().to_bytes();
        assert_eq!(
            bytes,
            b"250-evil  250 fake\r\n250-X a STARTTLS\r\n250 PIPELINING\r\n"
        );
        let long = Capabilities::new("h".repeat(600), vec![C::Auth(vec!["M".repeat(700)])]);
        let r = long.to_reply();
        for l in r.to_bytes().split_inclusive(|&b| b == b'\n') {
            assert!(l.len() <= 512);
        }
        assert_eq!(r.lines().count(), 2);
    }
}
