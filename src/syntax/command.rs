//! SMTP commands (RFC 5321 4.1.1 and the extensions), parsed and serialized.
//!
//! Verbs are case-insensitive on input; serialization is canonical (upper-case verb, single
//! spaces, CRLF). Parsing borrows from the input line.

use super::param::{MailParams, RcptParams};
use super::path::{ForwardPath, ReversePath};
use std::borrow::Cow;

/// The initial response of `AUTH <mechanism> [initial-response]` (RFC 4954 section 4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InitialResponse<'a> {
    /// `=`: an empty initial response.
    Empty,
    /// Base64 text as written (not yet decoded; the machine decodes and answers `501 5.5.2`
    /// on invalid base64).
    Base64(Cow<'a, str>),
}

/// A SASL continuation line sent by the client after a `334` (RFC 4954 section 4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SaslResponse<'a> {
    /// `*`: the client cancels the exchange (`501 5.0.0`).
    Cancel,
    /// Base64 text as written (possibly empty).
    Base64(Cow<'a, str>),
}

/// The Exchange verbs whose arguments the public record does not specify; their arguments
/// are kept as opaque, preserved bytes (Microsoft KB 812455, the Exchange 2007 "SMTP
/// Protocol Extensions" page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExchangeVerb {
    /// `X-LINK2STATE`: routing topology exchange (lines up to 1,024 octets).
    XLink2State,
    /// `XSHADOW`: shadow redundancy.
    XShadow,
    /// `XSHADOWREQUEST`: shadow redundancy request.
    XShadowRequest,
    /// `XQDISCARD`: discard shadow queue entries.
    XQDiscard,
    /// `XPROXY`: front-end proxy session.
    XProxy,
    /// `XPROXYFROM`: proxied client information.
    XProxyFrom,
    /// `XPROXYTO`: proxy to a back end.
    XProxyTo,
    /// `XSESSIONPARAMS`: session parameters between Exchange servers.
    XSessionParams,
    /// `XRSETPROXYTO`: reset a proxy target.
    XRsetProxyTo,
    /// `XRDST`: redirect destination.
    XRdst,
}

/// One SMTP command.
///
/// ```
/// use ehlo::syntax::command::{parse_command, Command};
/// use ehlo::syntax::ParseOptions;
///
/// let cmd = parse_command(b"mail FROM:<a@example.test> SIZE=1000\r\n", &ParseOptions::default()).unwrap();
/// let Command::Mail { params, .. } = &cmd else { panic!() };
/// assert_eq!(params.size, Some(1000));
/// assert_eq!(cmd.to_bytes(), b"MAIL FROM:<a@example.test> SIZE=1000\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `HELO domain` (RFC 5321 4.1.1.1).
    Helo {
        /// The client's name as given.
        domain: Cow<'a, str>,
    },
    /// `EHLO domain-or-address-literal` (RFC 5321 4.1.1.1).
    Ehlo {
        /// The client's name as given.
        domain: Cow<'a, str>,
    },
    /// `MAIL FROM:<reverse-path> [params]` (RFC 5321 4.1.1.2).
    Mail {
        /// The reverse-path.
        from: ReversePath<'a>,
        /// The parameters.
        params: MailParams<'a>,
    },
    /// `RCPT TO:<forward-path> [params]` (RFC 5321 4.1.1.3).
    Rcpt {
        /// The forward-path.
        to: ForwardPath<'a>,
        /// The parameters.
        params: RcptParams<'a>,
    },
    /// `DATA` (RFC 5321 4.1.1.4).
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        /// Octets of chunk data that follow the command line.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET` (RFC 5321 4.1.1.5).
    Rset,
    /// `VRFY string` (RFC 5321 4.1.1.6).
    Vrfy {
        /// The argument as given.
        arg: Cow<'a, str>,
    },
    /// `EXPN string` (RFC 5321 4.1.1.7).
    Expn {
        /// The argument as given.
        arg: Cow<'a, str>,
    },
    /// `HELP [string]` (RFC 5321 4.1.1.8).
    Help {
        /// The optional argument.
        arg: Option<Cow<'a, str>>,
    },
    /// `NOOP [string]` (RFC 5321 4.1.1.9).
    Noop {
        /// The optional argument (ignored by servers).
        arg: Option<Cow<'a, str>>,
    },
    /// `QUIT` (RFC 5321 4.1.1.10).
    Quit,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    Auth {
        /// The SASL mechanism name, upper case (the parser upper-cases a name written in
        /// lower case, allocating only then; the encoder upper-cases too).
        mechanism: Cow<'a, str>,
        /// The initial response, if any.
        initial_response: Option<InitialResponse<'a>>,
    },
    /// `ETRN node` (RFC 1985): `@domain`, `#queue` or a domain.
    Etrn {
        /// The node argument as given.
        node: Cow<'a, str>,
    },
    /// `ATRN [domain,...]` (RFC 2645).
    Atrn {
        /// The optional comma-separated domain list as given.
        domains: Option<Cow<'a, str>>,
    },
    /// `TURN` (RFC 821; obsolete, answered `502` by servers).
    Turn,
    /// `X-EXPS mechanism [initial-response]`: Exchange server-to-server authentication,
    /// the AUTH exchange under another verb.
    XExps {
        /// The SASL mechanism name, upper case (as for [`Command::Auth`]).
        mechanism: Cow<'a, str>,
        /// The initial response, if any.
        initial_response: Option<InitialResponse<'a>>,
    },
    /// `X-ANONYMOUSTLS`: a TLS upgrade like STARTTLS between Exchange servers.
    XAnonymousTls,
    /// `XEXCH50 size mode` (Microsoft KB 812455): a binary blob of `size` octets follows the
    /// `354` reply.
    XExch50 {
        /// Blob size in octets (at most 1 GB).
        size: u64,
        /// The mode argument.
        mode: u32,
    },
    /// An Exchange verb with opaque arguments.
    Exchange {
        /// Which verb.
        verb: ExchangeVerb,
        /// The argument bytes after the verb and one space, preserved (may be empty).
        args: Cow<'a, [u8]>,
    },
    /// Any other verb, kept so a server can answer `500`/`502` and a proxy can relay it.
    Other {
        /// The verb as written.
        verb: Cow<'a, str>,
        /// The argument bytes after the verb and one space, preserved (may be empty).
        args: Cow<'a, [u8]>,
    },
}

use super::{CommandError, EncodeError, Leniency, ParseOptions};
use crate::limits::{MAX_LINK2STATE_LINE, MAX_SASL_LINE, MAX_XEXCH50_BLOB, MAX_XEXCH50_COMMAND};
use bytes::BufMut;

/// The verbs the parser recognises (internal dispatch).
#[derive(Clone, Copy)]
enum Verb {
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Vrfy,
    Expn,
    Help,
    Noop,
    Quit,
    StartTls,
    Auth,
    Etrn,
    Atrn,
    Turn,
    XExps,
    XAnonymousTls,
    XExch50,
    Exchange(ExchangeVerb),
    Other,
}

/// Verb characters: letters, digits, `-` and `_` (covers every registered and Exchange verb).
#[inline]
fn is_verb_char(b: u8) -> bool {
    super::scan::is(b, super::scan::VERB)
}

/// Verb lookup: one integer match on the packed upper-case verb.
fn lookup(verb: &[u8]) -> Verb {
    use super::scan::pack;
    let Some(v) = super::scan::pack_upper(verb) else {
        return Verb::Other;
    };
    const HELO: u128 = pack(b"HELO");
    const EHLO: u128 = pack(b"EHLO");
    const MAIL: u128 = pack(b"MAIL");
    const RCPT: u128 = pack(b"RCPT");
    const DATA: u128 = pack(b"DATA");
    const BDAT: u128 = pack(b"BDAT");
    const RSET: u128 = pack(b"RSET");
    const VRFY: u128 = pack(b"VRFY");
    const EXPN: u128 = pack(b"EXPN");
    const HELP: u128 = pack(b"HELP");
    const NOOP: u128 = pack(b"NOOP");
    const QUIT: u128 = pack(b"QUIT");
    const STARTTLS: u128 = pack(b"STARTTLS");
    const AUTH: u128 = pack(b"AUTH");
    const ETRN: u128 = pack(b"ETRN");
    const ATRN: u128 = pack(b"ATRN");
    const TURN: u128 = pack(b"TURN");
    const X_EXPS: u128 = pack(b"X-EXPS");
    const X_ANONYMOUSTLS: u128 = pack(b"X-ANONYMOUSTLS");
    const XEXCH50: u128 = pack(b"XEXCH50");
    const X_LINK2STATE: u128 = pack(b"X-LINK2STATE");
    const XSHADOW: u128 = pack(b"XSHADOW");
    const XSHADOWREQUEST: u128 = pack(b"XSHADOWREQUEST");
    const XQDISCARD: u128 = pack(b"XQDISCARD");
    const XPROXY: u128 = pack(b"XPROXY");
    const XPROXYFROM: u128 = pack(b"XPROXYFROM");
    const XPROXYTO: u128 = pack(b"XPROXYTO");
    const XSESSIONPARAMS: u128 = pack(b"XSESSIONPARAMS");
    const XRSETPROXYTO: u128 = pack(b"XRSETPROXYTO");
    const XRDST: u128 = pack(b"XRDST");
    match v {
        HELO => Verb::Helo,
        EHLO => Verb::Ehlo,
        MAIL => Verb::Mail,
        RCPT => Verb::Rcpt,
        DATA => Verb::Data,
        BDAT => Verb::Bdat,
        RSET => Verb::Rset,
        VRFY => Verb::Vrfy,
        EXPN => Verb::Expn,
        HELP => Verb::Help,
        NOOP => Verb::Noop,
        QUIT => Verb::Quit,
        STARTTLS => Verb::StartTls,
        AUTH => Verb::Auth,
        ETRN => Verb::Etrn,
        ATRN => Verb::Atrn,
        TURN => Verb::Turn,
        X_EXPS => Verb::XExps,
        X_ANONYMOUSTLS => Verb::XAnonymousTls,
        XEXCH50 => Verb::XExch50,
        X_LINK2STATE => Verb::Exchange(ExchangeVerb::XLink2State),
        XSHADOW => Verb::Exchange(ExchangeVerb::XShadow),
        XSHADOWREQUEST => Verb::Exchange(ExchangeVerb::XShadowRequest),
        XQDISCARD => Verb::Exchange(ExchangeVerb::XQDiscard),
        XPROXY => Verb::Exchange(ExchangeVerb::XProxy),
        XPROXYFROM => Verb::Exchange(ExchangeVerb::XProxyFrom),
        XPROXYTO => Verb::Exchange(ExchangeVerb::XProxyTo),
        XSESSIONPARAMS => Verb::Exchange(ExchangeVerb::XSessionParams),
        XRSETPROXYTO => Verb::Exchange(ExchangeVerb::XRsetProxyTo),
        XRDST => Verb::Exchange(ExchangeVerb::XRdst),
        _ => Verb::Other,
    }
}

/// Fast verb lookup: a 4-letter verb followed by the end or a non-verb octet, matched as one
/// `u32` with the case bit set (`b | 0x20` equals a lower-case letter only for that letter
/// in either case, so a match implies four letters). `None`: use [`lookup`].
#[inline]
fn verb4(content: &[u8]) -> Option<Verb> {
    let [a, b, c, d, rest @ ..] = content else {
        return None;
    };
    if rest.first().is_some_and(|&x| is_verb_char(x)) {
        // The one common longer verb: STARTTLS (same folding, as a u64).
        let head = content.get(..8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(head);
        let after = content.get(8).copied();
        return (u64::from_le_bytes(a) | 0x2020_2020_2020_2020 == u64::from_le_bytes(*b"starttls")
            && !after.is_some_and(is_verb_char))
        .then_some(Verb::StartTls);
    }
    let w = u32::from_le_bytes([*a, *b, *c, *d]) | 0x2020_2020;
    let (key, verb) = VERB4[verb4_slot(w)];
    (key == w).then_some(verb)
}

/// Multiplier of the perfect hash of the sixteen four-letter verbs (found by search: the top
/// four bits of `w * VERB4_K` differ for every verb, so one table probe and one compare
/// replace a chain of compares).
const VERB4_K: u32 = 0x943c_e6c7;

#[inline(always)]
const fn verb4_slot(w: u32) -> usize {
    (w.wrapping_mul(VERB4_K) >> 28) as usize
}

/// The four-letter verbs, lower case, by hash slot (an empty slot holds key 0, which no
/// folded verb equals).
static VERB4: [(u32, Verb); 16] = {
    const VERBS: [(&[u8; 4], Verb); 16] = [
        (b"helo", Verb::Helo),
        (b"ehlo", Verb::Ehlo),
        (b"mail", Verb::Mail),
        (b"rcpt", Verb::Rcpt),
        (b"data", Verb::Data),
        (b"bdat", Verb::Bdat),
        (b"rset", Verb::Rset),
        (b"vrfy", Verb::Vrfy),
        (b"expn", Verb::Expn),
        (b"help", Verb::Help),
        (b"noop", Verb::Noop),
        (b"quit", Verb::Quit),
        (b"auth", Verb::Auth),
        (b"etrn", Verb::Etrn),
        (b"atrn", Verb::Atrn),
        (b"turn", Verb::Turn),
    ];
    let mut t = [(0u32, Verb::Other); 16];
    let mut i = 0;
    while i < VERBS.len() {
        let w = u32::from_le_bytes(*VERBS[i].0);
        let slot = verb4_slot(w);
        assert!(t[slot].0 == 0, "verb hash collision");
        t[slot] = (w, VERBS[i].1);
        i += 1;
    }
    t
};

impl ExchangeVerb {
    /// The canonical verb.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeVerb::XLink2State => "X-LINK2STATE",
            ExchangeVerb::XShadow => "XSHADOW",
            ExchangeVerb::XShadowRequest => "XSHADOWREQUEST",
            ExchangeVerb::XQDiscard => "XQDISCARD",
            ExchangeVerb::XProxy => "XPROXY",
            ExchangeVerb::XProxyFrom => "XPROXYFROM",
            ExchangeVerb::XProxyTo => "XPROXYTO",
            ExchangeVerb::XSessionParams => "XSESSIONPARAMS",
            ExchangeVerb::XRsetProxyTo => "XRSETPROXYTO",
            ExchangeVerb::XRdst => "XRDST",
        }
    }
}

#[inline]
fn is_ws(b: u8, lenient: bool) -> bool {
    b == b' ' || (lenient && b == b'\t')
}

/// The range of `s` left after trimming leading and trailing SP / HTAB (lenient parsing).
#[inline]
fn trim_range(s: &[u8]) -> (usize, usize) {
    let mut a = 0;
    let mut b = s.len();
    if !matches!(s.first(), Some(b' ' | b'\t')) && !matches!(s.last(), Some(b' ' | b'\t')) {
        return (a, b); // the usual line: nothing to trim
    }
    while a < b && matches!(s[a], b' ' | b'\t') {
        a += 1;
    }
    while b > a && matches!(s[b - 1], b' ' | b'\t') {
        b -= 1;
    }
    (a, b)
}

/// Octets `start..end` of `content` as text, or `None` if they are not UTF-8.
/// `content[..start]` must be ASCII (the verb and separators).
///
/// The standard library's UTF-8 check runs fastest from an 8-aligned address, so it starts up
/// to seven octets early, inside the ASCII prefix, and the result is sliced: the same answer,
/// about half the work on a short line.
#[inline]
fn args_str(content: &[u8], start: usize, end: usize) -> Option<&str> {
    // Misalignment of `content[start]`: `align_offset` is the distance to the next aligned
    // address (at most 7 for octets).
    let back = (8 - content.as_ptr().align_offset(8) % 8 + start) % 8;
    let from = start.checked_sub(back).unwrap_or(start);
    let s = std::str::from_utf8(content.get(from..end)?).ok()?;
    s.get(start - from..)
}

/// Splits off the first token: `(token, rest after the separator)`. Strict: the separator
/// is exactly one SP; lenient: a run of SP / HTAB.
fn next_token(s: &str, lenient: bool) -> (&str, &str) {
    match s.bytes().position(|b| is_ws(b, lenient)) {
        None => (s, ""),
        Some(i) => {
            let tok = &s[..i];
            let mut rest = &s[i + 1..];
            if lenient {
                rest = rest.trim_start_matches([' ', '\t']);
            }
            (tok, rest)
        }
    }
}

/// Parses `1*DIGIT` into a u64 (no sign, no overflow).
fn parse_num(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u64, |a, b| {
        a.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// `sasl-mech = 1*20(UPPER-ALPHA / DIGIT / "-" / "_")` (RFC 4422 3.1; lower case accepted).
fn is_mechanism(s: &str) -> bool {
    (1..=20).contains(&s.len()) && super::scan::all(s.as_bytes(), super::scan::VERB)
}

/// The base64 alphabet of RFC 4648 section 4, with padding.
fn is_base64(s: &str) -> bool {
    super::scan::all(s.as_bytes(), super::scan::B64)
}

fn parse_auth<'a>(
    args: &'a str,
    lenient: bool,
    verb: &'static str,
) -> Result<(Cow<'a, str>, Option<InitialResponse<'a>>), CommandError> {
    // Fast path, one pass: `MECHANISM` alone or followed by one SP and a base64 token.
    let b = args.as_bytes();
    let mut i = 0;
    let mut lower = false;
    while i < b.len() && super::scan::is(b[i], super::scan::VERB) {
        lower |= b[i].is_ascii_lowercase();
        i += 1;
    }
    if (1..=20).contains(&i) && !lower {
        let mech = args.get(..i).unwrap_or_default();
        match b.get(i) {
            None => return Ok((Cow::Borrowed(mech), None)),
            Some(b' ') => {
                let ir = args.get(i + 1..).unwrap_or_default();
                let irb = ir.as_bytes();
                if !ir.is_empty() && super::scan::skip(irb, 0, super::scan::B64) == irb.len() {
                    let ir = if ir == "=" {
                        InitialResponse::Empty
                    } else {
                        InitialResponse::Base64(Cow::Borrowed(ir))
                    };
                    return Ok((Cow::Borrowed(mech), Some(ir)));
                }
            }
            Some(_) => {}
        }
    }
    let bad = CommandError::Arguments { verb };
    let (mech, rest) = next_token(args, lenient);
    if !is_mechanism(mech) {
        return Err(bad);
    }
    let ir = if rest.is_empty() {
        if args.len() > mech.len() && !lenient {
            return Err(bad); // "AUTH PLAIN " in strict mode
        }
        None
    } else if rest.bytes().all(|c| super::scan::is(c, super::scan::B64)) {
        // The common case in one pass: one base64 token up to the end (no separator).
        if rest == "=" {
            Some(InitialResponse::Empty)
        } else {
            Some(InitialResponse::Base64(Cow::Borrowed(rest)))
        }
    } else {
        let (tok, more) = next_token(rest, lenient);
        if !more.is_empty() || tok.is_empty() {
            return Err(bad);
        }
        if tok == "=" {
            Some(InitialResponse::Empty)
        } else if is_base64(tok) {
            Some(InitialResponse::Base64(Cow::Borrowed(tok)))
        } else {
            return Err(CommandError::InvalidBase64);
        }
    };
    // Mechanism names are upper case (RFC 4422 3.1); normalizing keeps parse(encode(x)) == x.
    let mech = if mech.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(mech.to_ascii_uppercase())
    } else {
        Cow::Borrowed(mech)
    };
    Ok((mech, ir))
}

/// Splits `FROM:<path> params` / `TO:<path> params` into the path text and the parameter
/// text (RFC 5321 4.1.1.2, 4.1.1.3). Lenient: spaces after the colon and a path without
/// angle brackets are accepted (as Postfix does).
fn split_path<'a>(
    args: &'a str,
    keyword: &str,
    lenient: bool,
    verb: &'static str,
) -> Result<(&'a str, &'a str), CommandError> {
    let bad = CommandError::Arguments { verb };
    let b = args.as_bytes();
    let head = b.get(..keyword.len()).ok_or(bad.clone())?;
    if !head.eq_ignore_ascii_case(keyword.as_bytes()) {
        return Err(bad);
    }
    let mut start = keyword.len();
    if lenient {
        while matches!(b.get(start), Some(b' ' | b'\t')) {
            start += 1;
        }
    }
    let rest = args.get(start..).ok_or(bad.clone())?;
    let b = rest.as_bytes();
    let end = match b.first() {
        Some(b'<') => super::path::closing_bracket(b).ok_or(bad.clone())? + 1,
        Some(_) if lenient => b.iter().position(|&c| is_ws(c, true)).unwrap_or(b.len()),
        _ => return Err(bad),
    };
    let (path, after) = rest.split_at(end);
    let params = params_after(after, lenient).ok_or(bad)?;
    Ok((path, params))
}

/// The parameter text after a path: nothing, or a separator then the parameters (strict: one
/// SP followed by something; lenient: SP / HTAB runs). `None`: not a valid separator.
#[inline]
fn params_after(after: &str, lenient: bool) -> Option<&str> {
    let b = after.as_bytes();
    match b.first() {
        None => Some(""),
        Some(&c) if is_ws(c, lenient) => {
            if lenient {
                let mut i = 1;
                while i < b.len() && matches!(b[i], b' ' | b'\t') {
                    i += 1;
                }
                after.get(i..)
            } else if b.len() == 1 {
                None // trailing space in strict mode
            } else {
                after.get(1..)
            }
        }
        Some(_) => None,
    }
}

/// Parses one command line (with or without its CRLF terminator).
///
/// Incomplete input is the caller's business: feed whole lines found with
/// [`super::line::find_line`], or let [`CommandDecoder`](super::decoder::CommandDecoder)
/// find, frame and parse them from a byte stream (it also skips over-long lines and hands
/// over to SASL lines, DATA content and BDAT chunks). A CR, LF or NUL inside the line is a
/// [`CommandError::Syntax`] (no command smuggling through bare line ends). The length limit
/// is `opts.max_line` (CRLF included), raised to 12,288 for `AUTH` / `X-EXPS` (RFC 4954
/// section 4) and to 1,024 for `X-LINK2STATE`, lowered to 50 for `XEXCH50` (Microsoft KB
/// 812455).
///
/// Which limit to frame a line with before parsing it: 512 octets for a command line (RFC
/// 5321 4.5.3.1.4), more for MAIL and RCPT lines with the parameters of the offered
/// extensions, a SASL line's 12,288 for AUTH and X-EXPS, 1,024 for X-LINK2STATE where
/// offered: [`CommandLineLimits::for_line`](crate::limits::CommandLineLimits::for_line) is
/// that rule, the one the server uses. A line found within it is then parsed with
/// `max_line` at least its own length, so the parser does not judge it again (as the
/// server and the decoder do); `opts.max_line` = 512 alone refuses a valid MAIL line with
/// long parameters.
///
/// Under [`Leniency::Lenient`] (the default) the parser also accepts: SP or HTAB runs
/// between verb and arguments and between arguments, trailing SP / HTAB, a bare LF
/// terminator, spaces after `MAIL FROM:` / `RCPT TO:`, a path without angle brackets, and
/// any non-empty HELO/EHLO argument, `=` inside a parameter value, HT inside a VRFY,
/// EXPN, HELP, NOOP, ETRN or ATRN argument. Under [`Leniency::Strict`] only the RFC 5321
/// grammar is accepted (VRFY, EXPN, HELP and NOOP strings may hold inner spaces: RFC 5321
/// 3.5.1). Arguments of Exchange verbs with no public grammar and of unknown verbs are
/// kept byte for byte in both modes.
///
/// ```
/// use ehlo::syntax::command::{parse_command, Command};
/// use ehlo::syntax::ParseOptions;
///
/// let opts = ParseOptions::default();
/// // A proxy lowers the SIZE a client declared and relays the command.
/// let mut cmd = parse_command(b"MAIL FROM:<a@example.test> SIZE=5000\r\n", &opts)?.into_owned();
/// if let Command::Mail { params, .. } = &mut cmd {
///     params.size = Some(4000);
/// }
/// assert_eq!(cmd.to_bytes(), b"MAIL FROM:<a@example.test> SIZE=4000\r\n");
/// // Unknown verbs come back byte for byte.
/// assert!(matches!(parse_command(b"XFOO bar\r\n", &opts)?, Command::Other { .. }));
/// // Errors carry the reply a server sends (to a bad sender address: 5.1.7, RFC 3463).
/// let line = b"MAIL FROM:<a@@b>\r\n";
/// let err = parse_command(line, &opts).unwrap_err();
/// assert_eq!(err.reply_to_line(line).to_bytes(), b"553 5.1.7 Bad address syntax\r\n");
/// # Ok::<(), ehlo::syntax::CommandError>(())
/// ```
pub fn parse_command<'a>(line: &'a [u8], opts: &ParseOptions) -> Result<Command<'a>, CommandError> {
    // The argument-less verbs of every transaction, answered in a few instructions (the same
    // answers as below, where the general path gives them).
    if let [a, b, c, d, b'\r', b'\n'] = line {
        if opts.max_line >= 6 {
            let w = u32::from_le_bytes([*a, *b, *c, *d]) | 0x2020_2020;
            match VERB4[verb4_slot(w)] {
                (key, Verb::Data) if key == w => return Ok(Command::Data),
                (key, Verb::Rset) if key == w => return Ok(Command::Rset),
                (key, Verb::Quit) if key == w => return Ok(Command::Quit),
                (key, Verb::Noop) if key == w => return Ok(Command::Noop { arg: None }),
                _ => {}
            }
        }
    }
    // STARTTLS alone, the same way.
    if line.len() == 10
        && opts.max_line >= 10
        && matches!(verb4(line), Some(Verb::StartTls))
        && line.ends_with(b"\r\n")
    {
        return Ok(Command::StartTls);
    }
    // EHLO (HELO), AUTH and BDAT in their usual shape: each reader returns the parts, and the
    // command is built here, in the value returned.
    if let [a, b, c, d, b' ', ..] = line {
        const EHLO: u32 = u32::from_le_bytes(*b"ehlo");
        const HELO: u32 = u32::from_le_bytes(*b"helo");
        const AUTH: u32 = u32::from_le_bytes(*b"auth");
        const BDAT: u32 = u32::from_le_bytes(*b"bdat");
        match u32::from_le_bytes([*a, *b, *c, *d]) | 0x2020_2020 {
            EHLO => {
                if let Some(domain) = ehlo_direct(line, opts) {
                    return Ok(Command::Ehlo {
                        domain: Cow::Borrowed(domain),
                    });
                }
            }
            HELO => {
                if let Some(domain) = ehlo_direct(line, opts) {
                    return Ok(Command::Helo {
                        domain: Cow::Borrowed(domain),
                    });
                }
            }
            AUTH => {
                if let Some((mechanism, ir)) = auth_direct(line, opts) {
                    return Ok(Command::Auth {
                        mechanism: Cow::Borrowed(mechanism),
                        initial_response: ir.map(|ir| {
                            if ir == "=" {
                                InitialResponse::Empty
                            } else {
                                InitialResponse::Base64(Cow::Borrowed(ir))
                            }
                        }),
                    });
                }
            }
            BDAT => {
                if let Some((size, last)) = bdat_direct(line, opts) {
                    return Ok(Command::Bdat { size, last });
                }
            }
            _ => {}
        }
    }
    if let Some((path, text)) = mail_rcpt_direct(line, opts) {
        // The parameters are read first and the command is built in the returned value
        // (no moves of the large parts); an error is left to the general path.
        match path {
            FastPath::From(from) => {
                let mut params = MailParams::default();
                if params.fill(text, opts) {
                    return Ok(Command::Mail {
                        from: from.reverse_path(),
                        params,
                    });
                }
            }
            FastPath::To(local, domain) => {
                let mut params = RcptParams::default();
                if params.fill(text, opts) {
                    return Ok(Command::Rcpt {
                        to: ForwardPath::Mailbox(super::path::dot_mailbox(local, domain)),
                        params,
                    });
                }
            }
        }
    }
    parse_general(line, opts)
}

/// `EHLO domain` (or `HELO domain`) in its usual shape under [`Leniency::Lenient`] (which
/// accepts any non-empty argument): the verb, one SP, an argument with no SP / HTAB at
/// either end and no NUL, CR or LF, CRLF, within the line limit. Returns the argument;
/// `None` leaves the line to the general path (strict parsing, which checks the domain,
/// goes there too).
#[inline]
fn ehlo_direct<'a>(line: &'a [u8], opts: &ParseOptions) -> Option<&'a str> {
    if opts.leniency != Leniency::Lenient || line.len() > opts.max_line {
        return None;
    }
    let content = line.strip_suffix(b"\r\n")?;
    let args = content.get(5..)?;
    let (first, last) = (*args.first()?, *args.last()?);
    if matches!(first, b' ' | b'\t') || matches!(last, b' ' | b'\t') || super::scan::has_ctl(args) {
        return None;
    }
    args_str(content, 5, content.len())
}

/// `AUTH mechanism [initial-response]` in its usual shape: `AUTH`, one SP, an upper-case
/// mechanism name of 1 to 20 octets, then the end or one SP and a base64 token (or `=`)
/// up to CRLF, within the SASL line limit (RFC 4954 section 4). Every octet is a
/// mechanism or base64 octet, so there is no CTL and nothing to trim. Returns the
/// mechanism and the initial response as written; `None` leaves the line to the general
/// path.
#[inline]
fn auth_direct<'a>(line: &'a [u8], opts: &ParseOptions) -> Option<(&'a str, Option<&'a str>)> {
    use super::scan::{skip, B64, VERB};
    if line.len() > opts.max_line.max(MAX_SASL_LINE) {
        return None;
    }
    let content = line.strip_suffix(b"\r\n")?;
    let end = skip(content, 5, VERB);
    let mech = content.get(5..end)?;
    if !(1..=20).contains(&mech.len()) || mech.iter().any(u8::is_ascii_lowercase) {
        return None;
    }
    let args = args_str(content, 5, content.len())?;
    match content.get(end) {
        None => Some((args, None)),
        Some(b' ') if end + 1 < content.len() && skip(content, end + 1, B64) == content.len() => {
            let (mech, ir) = (args.get(..end - 5)?, args.get(end - 4..)?);
            Some((mech, Some(ir)))
        }
        Some(_) => None,
    }
}

/// `BDAT chunk-size [LAST]` in its usual shape (RFC 3030 2): `BDAT`, one SP, 1 to 19
/// digits (no overflow), then the end or one SP and `LAST` in any case, CRLF, within the
/// line limit. `None` leaves the line to the general path.
#[inline]
fn bdat_direct(line: &[u8], opts: &ParseOptions) -> Option<(u64, bool)> {
    if line.len() > opts.max_line {
        return None;
    }
    let content = line.strip_suffix(b"\r\n")?;
    let (size, i) = super::scan::decimal19(content, 5)?;
    match content.get(i..)? {
        [] => Some((size, false)),
        [b' ', l, a, s, t]
            if u32::from_le_bytes([*l, *a, *s, *t]) | 0x2020_2020
                == u32::from_le_bytes(*b"last") =>
        {
            Some((size, true))
        }
        _ => None,
    }
}

/// The transaction's two busiest commands in their usual shape, `MAIL FROM:<...>` and
/// `RCPT TO:<...>` (verb in any case, one SP, CRLF, within the line limit), parsed without
/// the general path's verb dispatch and line checks. Every octet of the arguments is
/// crossed by a class table that admits no CTL (mailbox, parameter keywords and values) or
/// is a separator, so the general path's NUL / CR / LF check has nothing left to find.
///
/// Returns the path and the parameter text for [`mail_rcpt`]. `None` (not that shape), or
/// an error from [`mail_rcpt`]: the general path parses the line again and decides, so
/// every answer is the one it gives.
#[inline(always)]
fn mail_rcpt_direct<'a>(line: &'a [u8], opts: &ParseOptions) -> Option<(FastPath<'a>, &'a str)> {
    let [a, b, c, d, e, f, g, h, i, rest @ ..] = line else {
        return None;
    };
    let w = u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]);
    // Letters fold to lower case; the SP and `:` must be exact.
    let verb = if w | 0x2020_2000_2020_2020 == u64::from_le_bytes(*b"mail fro")
        && *i | 0x20 == b'm'
        && rest.starts_with(b":<")
    {
        Verb::Mail
    } else if w | 0x0020_2000_2020_2020 == u64::from_le_bytes(*b"rcpt to:") && *i == b'<' {
        Verb::Rcpt
    } else {
        return None;
    };
    let content = line.strip_suffix(b"\r\n")?;
    if line.len() > opts.max_line
        || (opts.leniency == Leniency::Lenient && matches!(content.last(), Some(b' ' | b'\t')))
    {
        return None;
    }
    let args = args_str(content, 5, content.len())?;
    let (path, params) = fast_mail_rcpt(verb, args)?;
    let params = params_after(params, opts.leniency == Leniency::Lenient)?;
    Some((path, params))
}

/// `MAIL` / `RCPT` from the path found by [`fast_mail_rcpt`] and the parameter text.
#[inline(always)]
fn mail_rcpt<'a>(
    path: FastPath<'a>,
    params_text: &'a str,
    opts: &ParseOptions,
) -> Result<Command<'a>, CommandError> {
    Ok(match path {
        FastPath::From(from) => {
            let mut params = MailParams::default();
            if !params_text.is_empty() {
                params.parse_into(params_text, opts)?;
            }
            Command::Mail {
                from: from.reverse_path(),
                params,
            }
        }
        FastPath::To(local, domain) => {
            let mut params = RcptParams::default();
            if !params_text.is_empty() {
                params.parse_into(params_text, opts)?;
            }
            Command::Rcpt {
                to: ForwardPath::Mailbox(super::path::dot_mailbox(local, domain)),
                params,
            }
        }
    })
}

/// [`parse_command`] for every other line.
#[inline(never)]
fn parse_general<'a>(line: &'a [u8], opts: &ParseOptions) -> Result<Command<'a>, CommandError> {
    let lenient = opts.leniency == Leniency::Lenient;
    let content = match line.strip_suffix(b"\r\n") {
        Some(c) => c,
        None if lenient => line.strip_suffix(b"\n").unwrap_or(line),
        None => line,
    };
    let wire_len = content.len().saturating_add(2);
    let (verb, verb_len) = match verb4(content) {
        Some(Verb::StartTls) => (Verb::StartTls, 8),
        Some(v) => (v, 4),
        None => {
            let n = content
                .iter()
                .position(|&b| !is_verb_char(b))
                .unwrap_or(content.len());
            (lookup(&content[..n]), n)
        }
    };
    if verb_len == 0 {
        return Err(CommandError::Syntax);
    }
    let (verb_bytes, after) = content.split_at(verb_len);
    if super::scan::has_ctl(after) {
        return Err(CommandError::Syntax);
    }
    let raw_args: &'a [u8] = match after.first() {
        None => {
            if wire_len <= opts.max_line {
                // Argument-less verbs: answered before any further work.
                match verb {
                    Verb::Data => return Ok(Command::Data),
                    Verb::Rset => return Ok(Command::Rset),
                    Verb::Quit => return Ok(Command::Quit),
                    Verb::Noop => return Ok(Command::Noop { arg: None }),
                    Verb::StartTls => return Ok(Command::StartTls),
                    _ => {}
                }
            }
            after
        }
        Some(&c) if is_ws(c, lenient) => &after[1..],
        Some(_) => return Err(CommandError::Syntax),
    };

    let max = match verb {
        Verb::Auth | Verb::XExps => opts.max_line.max(MAX_SASL_LINE),
        Verb::Exchange(ExchangeVerb::XLink2State) => opts.max_line.max(MAX_LINK2STATE_LINE),
        Verb::XExch50 => opts.max_line.min(MAX_XEXCH50_COMMAND),
        _ => opts.max_line,
    };
    if wire_len > max {
        return Err(match verb {
            Verb::Auth | Verb::XExps => CommandError::AuthLineTooLong,
            _ => CommandError::LineTooLong,
        });
    }

    // Opaque arguments: preserved exactly.
    match verb {
        Verb::Exchange(v) => {
            return Ok(Command::Exchange {
                verb: v,
                args: Cow::Borrowed(raw_args),
            })
        }
        Verb::Other => {
            // Verb characters are ASCII, so this cannot fail.
            let v = std::str::from_utf8(verb_bytes).map_err(|_| CommandError::Syntax)?;
            return Ok(Command::Other {
                verb: Cow::Borrowed(v),
                args: Cow::Borrowed(raw_args),
            });
        }
        _ => {}
    }

    let name = verb_name(verb);
    let bad = || CommandError::Arguments { verb: name };
    let (a0, a1) = if lenient {
        trim_range(raw_args)
    } else {
        if !after.is_empty() && raw_args.is_empty() {
            return Err(bad()); // "DATA " in strict mode
        }
        (0, raw_args.len())
    };
    let args_bytes = raw_args.get(a0..a1).unwrap_or_default();
    // Commands without arguments: answered before any further work.
    if matches!(
        verb,
        Verb::Data | Verb::Rset | Verb::Quit | Verb::StartTls | Verb::Turn | Verb::XAnonymousTls
    ) {
        if !args_bytes.is_empty() {
            return Err(bad());
        }
        return Ok(match verb {
            Verb::Data => Command::Data,
            Verb::Rset => Command::Rset,
            Verb::Quit => Command::Quit,
            Verb::StartTls => Command::StartTls,
            Verb::Turn => Command::Turn,
            _ => Command::XAnonymousTls,
        });
    }
    if let Verb::Bdat = verb {
        let (size, last) = parse_bdat(args_bytes, lenient).ok_or_else(bad)?;
        return Ok(Command::Bdat { size, last });
    }
    // `raw_args` is the tail of `content`; `args_bytes` its octets `a0..a1`.
    let start = content.len() - raw_args.len() + a0;
    let args = args_str(content, start, start + args_bytes.len()).ok_or_else(bad)?;
    if let Some((path, params)) = fast_mail_rcpt(verb, args) {
        let params_text = params_after(params, lenient).ok_or_else(bad)?;
        return mail_rcpt(path, params_text, opts);
    }
    // Strict: a text argument (VRFY, EXPN, HELP, NOOP: `String = Atom / Quoted-string`,
    // RFC 5321 4.1.2; ETRN, ATRN: domains) holds no HT and no SP at either end. Inner
    // spaces stay allowed in VRFY / EXPN / HELP / NOOP: RFC 5321 3.5.1 says their strings
    // "cannot be further restricted", and `VRFY John Smith` is common.
    if !lenient
        && matches!(
            verb,
            Verb::Vrfy | Verb::Expn | Verb::Help | Verb::Noop | Verb::Etrn | Verb::Atrn
        )
        && (args.contains('\t') || args.starts_with(' ') || args.ends_with(' '))
    {
        return Err(bad());
    }
    let required = || {
        if args.is_empty() {
            Err(bad())
        } else {
            Ok(Cow::Borrowed(args))
        }
    };
    let optional = || {
        if args.is_empty() {
            None
        } else {
            Some(Cow::Borrowed(args))
        }
    };
    let one_token = || {
        if args.is_empty() || (!lenient && args.contains(' ')) {
            Err(bad())
        } else {
            Ok(Cow::Borrowed(args))
        }
    };

    match verb {
        Verb::Helo | Verb::Ehlo => {
            if args.is_empty() {
                return Err(bad());
            }
            if !lenient {
                let ok = if matches!(verb, Verb::Helo) {
                    super::path::Domain::parse(args, opts).is_ok()
                } else {
                    super::path::Host::parse(args, opts).is_ok()
                };
                if !ok {
                    return Err(bad());
                }
            }
            let domain = Cow::Borrowed(args);
            Ok(if matches!(verb, Verb::Helo) {
                Command::Helo { domain }
            } else {
                Command::Ehlo { domain }
            })
        }
        Verb::Mail => {
            let (path, params) = split_path(args, "FROM:", lenient, name)?;
            let from = ReversePath::parse(path, opts)?;
            let params = MailParams::parse(params, opts)?;
            Ok(Command::Mail { from, params })
        }
        Verb::Rcpt => {
            let (path, params) = split_path(args, "TO:", lenient, name)?;
            let to = ForwardPath::parse(path, opts)?;
            let params = RcptParams::parse(params, opts)?;
            Ok(Command::Rcpt { to, params })
        }
        Verb::XExch50 => {
            let (size, mode) = next_token(args, lenient);
            let size = parse_num(size)
                .filter(|&n| n <= MAX_XEXCH50_BLOB)
                .ok_or_else(bad)?;
            let mode = parse_num(mode)
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(bad)?;
            Ok(Command::XExch50 { size, mode })
        }
        Verb::Vrfy => Ok(Command::Vrfy { arg: required()? }),
        Verb::Expn => Ok(Command::Expn { arg: required()? }),
        Verb::Help => Ok(Command::Help { arg: optional() }),
        Verb::Noop => Ok(Command::Noop { arg: optional() }),
        Verb::Etrn => Ok(Command::Etrn { node: one_token()? }),
        Verb::Atrn => {
            if !lenient && args.contains(' ') {
                return Err(bad());
            }
            Ok(Command::Atrn {
                domains: optional(),
            })
        }
        Verb::Auth => {
            let (mechanism, initial_response) = parse_auth(args, lenient, name)?;
            Ok(Command::Auth {
                mechanism,
                initial_response,
            })
        }
        Verb::XExps => {
            let (mechanism, initial_response) = parse_auth(args, lenient, name)?;
            Ok(Command::XExps {
                mechanism,
                initial_response,
            })
        }
        Verb::Data
        | Verb::Bdat
        | Verb::Rset
        | Verb::Quit
        | Verb::StartTls
        | Verb::Turn
        | Verb::XAnonymousTls
        | Verb::Exchange(_)
        | Verb::Other => Err(CommandError::Syntax),
    }
}

/// The fast paths of MAIL and RCPT on octets: `FROM:<` / `TO:<` then `<>` (MAIL) or a plain
/// mailbox (see [`super::path::fast_mailbox`]). Returns the command with empty parameters
/// and the text after the path; `None`: not that shape, use the general parser (which
/// decides every error).
/// The path found by [`fast_mail_rcpt`], as the text of its parts: a plain Dot-string
/// mailbox (local part, domain) or, for MAIL, the null path.
#[derive(Clone, Copy)]
enum FastPath<'a> {
    From(Option<(&'a str, &'a str)>),
    To(&'a str, &'a str),
}

/// The reverse-path of [`FastPath::From`].
trait ReverseParts<'a> {
    fn reverse_path(self) -> ReversePath<'a>;
}

impl<'a> ReverseParts<'a> for Option<(&'a str, &'a str)> {
    #[inline(always)]
    fn reverse_path(self) -> ReversePath<'a> {
        match self {
            None => ReversePath::Null,
            Some((local, domain)) => ReversePath::Mailbox(super::path::dot_mailbox(local, domain)),
        }
    }
}

#[inline(always)]
fn fast_mail_rcpt(verb: Verb, args: &str) -> Option<(FastPath<'_>, &str)> {
    match (verb, args.as_bytes()) {
        (Verb::Mail, [f, r, o, m, b':', b'<', rest @ ..])
            if u32::from_le_bytes([*f, *r, *o, *m]) | 0x2020_2020
                == u32::from_le_bytes(*b"from") =>
        {
            let path = args.get(5..)?;
            let (from, end) = if rest.first() == Some(&b'>') {
                (None, 1)
            } else {
                let (local, domain, end) = super::path::fast_mailbox(path)?;
                (Some((local, domain)), end)
            };
            Some((FastPath::From(from), path.get(end + 1..)?))
        }
        (Verb::Rcpt, [t, o, b':', b'<', ..])
            if u16::from_le_bytes([*t, *o]) | 0x2020 == u16::from_le_bytes(*b"to") =>
        {
            let path = args.get(3..)?;
            let (local, domain, end) = super::path::fast_mailbox(path)?;
            Some((FastPath::To(local, domain), path.get(end + 1..)?))
        }
        _ => None,
    }
}

/// `BDAT chunk-size [SP end-marker]` (RFC 3030 2): `1*DIGIT` then nothing or `LAST`.
/// Strict: one SP and no trailing space; lenient: SP / HTAB runs (the line is trimmed).
#[inline]
fn parse_bdat(args: &[u8], lenient: bool) -> Option<(u64, bool)> {
    let n = args
        .iter()
        .position(|&b| is_ws(b, lenient))
        .unwrap_or(args.len());
    let digits = args.get(..n)?;
    if digits.is_empty() {
        return None;
    }
    let mut size = 0u64;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        size = size.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    let Some(rest) = args.get(n + 1..) else {
        return Some((size, false));
    };
    let rest = if lenient {
        let k = rest.iter().take_while(|&&c| is_ws(c, true)).count();
        rest.get(k..)?
    } else {
        rest
    };
    rest.eq_ignore_ascii_case(b"LAST").then_some((size, true))
}

fn verb_name(v: Verb) -> &'static str {
    match v {
        Verb::Helo => "HELO",
        Verb::Ehlo => "EHLO",
        Verb::Mail => "MAIL",
        Verb::Rcpt => "RCPT",
        Verb::Data => "DATA",
        Verb::Bdat => "BDAT",
        Verb::Rset => "RSET",
        Verb::Vrfy => "VRFY",
        Verb::Expn => "EXPN",
        Verb::Help => "HELP",
        Verb::Noop => "NOOP",
        Verb::Quit => "QUIT",
        Verb::StartTls => "STARTTLS",
        Verb::Auth => "AUTH",
        Verb::Etrn => "ETRN",
        Verb::Atrn => "ATRN",
        Verb::Turn => "TURN",
        Verb::XExps => "X-EXPS",
        Verb::XAnonymousTls => "X-ANONYMOUSTLS",
        Verb::XExch50 => "XEXCH50",
        Verb::Exchange(v) => v.as_str(),
        Verb::Other => "",
    }
}

/// Parses a SASL continuation line (with or without CRLF): base64 text or `*`
/// (RFC 4954 section 4). Trailing SP / HTAB are ignored. A line longer than 12,288 octets
/// is [`CommandError::AuthLineTooLong`]; characters outside the base64 alphabet are
/// [`CommandError::InvalidBase64`].
///
/// ```
/// use ehlo::syntax::command::{parse_sasl_response, SaslResponse};
/// assert_eq!(parse_sasl_response(b"*\r\n").unwrap(), SaslResponse::Cancel);
/// assert_eq!(parse_sasl_response(b"dGVzdA==\r\n").unwrap(), SaslResponse::Base64("dGVzdA==".into()));
/// ```
pub fn parse_sasl_response(line: &[u8]) -> Result<SaslResponse<'_>, CommandError> {
    let content = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line);
    if content.len().saturating_add(2) > MAX_SASL_LINE {
        return Err(CommandError::AuthLineTooLong);
    }
    let mut content = content;
    while let [rest @ .., b' ' | b'\t'] = content {
        content = rest;
    }
    if content == b"*" {
        return Ok(SaslResponse::Cancel);
    }
    let s = std::str::from_utf8(content).map_err(|_| CommandError::InvalidBase64)?;
    if !is_base64(s) {
        return Err(CommandError::InvalidBase64);
    }
    Ok(SaslResponse::Base64(Cow::Borrowed(s)))
}

/// A SASL continuation line, parsed by RFC 4954's rules ([`parse_sasl_response`]: trailing
/// blanks trimmed, `*` cancels, otherwise BASE64 characters only), except that the line may
/// be longer than RFC 4954's 12,288 octets: the caller has already bounded it by its own
/// limit (the server's `limits.max_sasl_line`, or `exchange.max_exps_line` for X-EXPS,
/// whose chunks have no size limit in the public record; the decoder's
/// `max_sasl_line`), and a configured limit above 12,288 must not turn a long line into
/// "invalid BASE64". Both the server and the command decoder read continuation lines
/// with it.
pub(crate) fn parse_sasl_line(line: &[u8]) -> Result<SaslResponse<'_>, CommandError> {
    let content = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line);
    if content.len().saturating_add(2) <= crate::limits::MAX_SASL_LINE {
        return parse_sasl_response(line);
    }
    let mut content = content;
    while let [rest @ .., b' ' | b'\t'] = content {
        content = rest;
    }
    if content == b"*" {
        return Ok(SaslResponse::Cancel);
    }
    let base64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    if !content.iter().all(base64) {
        return Err(CommandError::InvalidBase64);
    }
    let text = std::str::from_utf8(content).map_err(|_| CommandError::InvalidBase64)?;
    Ok(SaslResponse::Base64(Cow::Borrowed(text)))
}

#[inline]
fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

#[inline]
fn own_bytes(c: Cow<'_, [u8]>) -> Cow<'static, [u8]> {
    Cow::Owned(c.into_owned())
}

fn own_ir(ir: Option<InitialResponse<'_>>) -> Option<InitialResponse<'static>> {
    ir.map(|ir| match ir {
        InitialResponse::Empty => InitialResponse::Empty,
        InitialResponse::Base64(s) => InitialResponse::Base64(own(s)),
    })
}

fn put_upper(out: &mut impl BufMut, s: &str) {
    for b in s.bytes() {
        out.put_u8(b.to_ascii_uppercase());
    }
}

/// Writes `MAIL FROM:<path> params` CRLF, as [`Command::encode`] does for
/// [`Command::Mail`], from borrowed parts (the client encodes its envelope without
/// building a command that would own copies of them).
pub(crate) fn put_mail_line(
    out: &mut impl BufMut,
    from: &ReversePath<'_>,
    params: &MailParams<'_>,
) {
    out.put_slice(b"MAIL FROM:");
    super::path::put_reverse_path(out, from);
    params.encode(out);
    out.put_slice(b"\r\n");
}

/// Writes `RCPT TO:<path> params` CRLF, as [`Command::encode`] does for [`Command::Rcpt`].
pub(crate) fn put_rcpt_line(out: &mut impl BufMut, to: &ForwardPath<'_>, params: &RcptParams<'_>) {
    out.put_slice(b"RCPT TO:");
    super::path::put_forward_path(out, to);
    params.encode(out);
    out.put_slice(b"\r\n");
}

fn put_opt(out: &mut impl BufMut, arg: &Option<Cow<'_, str>>) {
    if let Some(a) = arg {
        out.put_u8(b' ');
        out.put_slice(a.as_bytes());
    }
}

fn put_auth(out: &mut impl BufMut, mech: &str, ir: &Option<InitialResponse<'_>>) {
    out.put_u8(b' ');
    put_upper(out, mech);
    match ir {
        None => {}
        Some(InitialResponse::Empty) => out.put_slice(b" ="),
        Some(InitialResponse::Base64(s)) => {
            out.put_u8(b' ');
            out.put_slice(s.as_bytes());
        }
    }
}

impl<'a> Command<'a> {
    /// [`Command::encode`], for commands built from values the caller does not control (a
    /// proxy rewriting a parameter, a tool building commands from its input): writes the
    /// line only if it is one line, i.e. no value holds a CR, LF or NUL
    /// ([`EncodeError::LineBreak`] otherwise), and if the line reads back as this same
    /// command ([`EncodeError::NotReadBack`] otherwise: say, a hand-built local part
    /// `a> NOTIFY=NEVER <b` that would end the path early and add a parameter, or an xtext
    /// value with a space). On an error `out` is left as it was, so a value such as
    /// `"x\r\nRSET"` can never become a second command, nor text a parameter.
    ///
    /// Reading back uses lenient parsing with UTF-8 allowed and no length limit: the
    /// check is about what the line says, not about whether a server takes its length or
    /// its UTF-8 (every command the parser returns passes it).
    ///
    /// ```
    /// use ehlo::syntax::command::Command;
    /// use ehlo::syntax::EncodeError;
    ///
    /// let mut out = Vec::new();
    /// let ok = Command::Ehlo { domain: "client.example.test".into() };
    /// assert_eq!(ok.encode_checked(&mut out), Ok(()));
    /// assert_eq!(out, b"EHLO client.example.test\r\n");
    ///
    /// let forged = Command::Ehlo { domain: "x\r\nRSET".into() };
    /// assert_eq!(forged.encode_checked(&mut out), Err(EncodeError::LineBreak));
    /// assert_eq!(out, b"EHLO client.example.test\r\n"); // untouched
    /// ```
    pub fn encode_checked(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        self.encode(out);
        // Everything but the final CRLF.
        let line = out
            .get(start..out.len().saturating_sub(2))
            .unwrap_or_default();
        if memchr::memchr3(b'\r', b'\n', 0, line).is_some() {
            out.truncate(start);
            return Err(EncodeError::LineBreak);
        }
        let opts = ParseOptions {
            utf8: true,
            max_line: usize::MAX,
            ..ParseOptions::default()
        };
        let read_back = out
            .get(start..)
            .is_some_and(|l| parse_command(l, &opts).is_ok_and(|c| c == *self));
        if !read_back {
            out.truncate(start);
            return Err(EncodeError::NotReadBack);
        }
        Ok(())
    }

    /// Writes the canonical form, CRLF included: upper-case verb, single spaces, paths in
    /// angle brackets, parameters in canonical order with upper-case keywords (unknown
    /// parameters as written). Values built by hand are written as given: a value that
    /// would not parse (e.g. a CR in `Other` arguments) is the builder's responsibility.
    pub fn encode(&self, out: &mut impl BufMut) {
        match self {
            Command::Mail { from, params } => return put_mail_line(out, from, params),
            Command::Rcpt { to, params } => return put_rcpt_line(out, to, params),
            _ => {}
        }
        out.put_slice(self.verb().as_bytes());
        match self {
            Command::Helo { domain } | Command::Ehlo { domain } => {
                out.put_u8(b' ');
                out.put_slice(domain.as_bytes());
            }
            Command::Mail { .. } | Command::Rcpt { .. } => {}
            Command::Bdat { size, last } => {
                out.put_u8(b' ');
                super::param::put_u64(out, *size);
                if *last {
                    out.put_slice(b" LAST");
                }
            }
            Command::Vrfy { arg } | Command::Expn { arg } => {
                out.put_u8(b' ');
                out.put_slice(arg.as_bytes());
            }
            Command::Help { arg } | Command::Noop { arg } => put_opt(out, arg),
            Command::Auth {
                mechanism,
                initial_response,
            }
            | Command::XExps {
                mechanism,
                initial_response,
            } => put_auth(out, mechanism, initial_response),
            Command::Etrn { node } => {
                out.put_u8(b' ');
                out.put_slice(node.as_bytes());
            }
            Command::Atrn { domains } => put_opt(out, domains),
            Command::XExch50 { size, mode } => {
                out.put_u8(b' ');
                super::param::put_u64(out, *size);
                out.put_u8(b' ');
                super::param::put_u64(out, u64::from(*mode));
            }
            Command::Exchange { args, .. } | Command::Other { args, .. } => {
                if !args.is_empty() {
                    out.put_u8(b' ');
                    out.put_slice(args);
                }
            }
            Command::Data
            | Command::Rset
            | Command::Quit
            | Command::StartTls
            | Command::Turn
            | Command::XAnonymousTls => {}
        }
        out.put_slice(b"\r\n");
    }

    /// The canonical form as a vector, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Detaches the command from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> Command<'static> {
        match self {
            Command::Helo { domain } => Command::Helo {
                domain: own(domain),
            },
            Command::Ehlo { domain } => Command::Ehlo {
                domain: own(domain),
            },
            Command::Mail { from, params } => Command::Mail {
                from: from.into_owned(),
                params: params.into_owned(),
            },
            Command::Rcpt { to, params } => Command::Rcpt {
                to: to.into_owned(),
                params: params.into_owned(),
            },
            Command::Data => Command::Data,
            Command::Bdat { size, last } => Command::Bdat { size, last },
            Command::Rset => Command::Rset,
            Command::Vrfy { arg } => Command::Vrfy { arg: own(arg) },
            Command::Expn { arg } => Command::Expn { arg: own(arg) },
            Command::Help { arg } => Command::Help { arg: arg.map(own) },
            Command::Noop { arg } => Command::Noop { arg: arg.map(own) },
            Command::Quit => Command::Quit,
            Command::StartTls => Command::StartTls,
            Command::Auth {
                mechanism,
                initial_response,
            } => Command::Auth {
                mechanism: own(mechanism),
                initial_response: own_ir(initial_response),
            },
            Command::Etrn { node } => Command::Etrn { node: own(node) },
            Command::Atrn { domains } => Command::Atrn {
                domains: domains.map(own),
            },
            Command::Turn => Command::Turn,
            Command::XExps {
                mechanism,
                initial_response,
            } => Command::XExps {
                mechanism: own(mechanism),
                initial_response: own_ir(initial_response),
            },
            Command::XAnonymousTls => Command::XAnonymousTls,
            Command::XExch50 { size, mode } => Command::XExch50 { size, mode },
            Command::Exchange { verb, args } => Command::Exchange {
                verb,
                args: own_bytes(args),
            },
            Command::Other { verb, args } => Command::Other {
                verb: own(verb),
                args: own_bytes(args),
            },
        }
    }

    /// The canonical upper-case verb (`MAIL`, `X-EXPS`, or the verb of `Other` as written).
    pub fn verb(&self) -> &str {
        match self {
            Command::Helo { .. } => "HELO",
            Command::Ehlo { .. } => "EHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Vrfy { .. } => "VRFY",
            Command::Expn { .. } => "EXPN",
            Command::Help { .. } => "HELP",
            Command::Noop { .. } => "NOOP",
            Command::Quit => "QUIT",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
            Command::Etrn { .. } => "ETRN",
            Command::Atrn { .. } => "ATRN",
            Command::Turn => "TURN",
            Command::XExps { .. } => "X-EXPS",
            Command::XAnonymousTls => "X-ANONYMOUSTLS",
            Command::XExch50 { .. } => "XEXCH50",
            Command::Exchange { verb, .. } => verb.as_str(),
            Command::Other { verb, .. } => verb,
        }
    }
}

impl SaslResponse<'_> {
    /// Writes the line, CRLF included.
    pub fn encode(&self, out: &mut impl BufMut) {
        match self {
            SaslResponse::Cancel => out.put_u8(b'*'),
            SaslResponse::Base64(s) => out.put_slice(s.as_bytes()),
        }
        out.put_slice(b"\r\n");
    }

    /// Detaches the response from the input it borrows.
    #[must_use]
    pub fn into_owned(self) -> SaslResponse<'static> {
        match self {
            SaslResponse::Cancel => SaslResponse::Cancel,
            SaslResponse::Base64(s) => SaslResponse::Base64(own(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::param::{Body, Notify};
    use super::super::path::{Domain, Host, LocalPart, Mailbox};
    use super::super::{ParamError, PathError};
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
    fn p(s: &str) -> Result<Command<'_>, CommandError> {
        parse_command(s.as_bytes(), &lenient())
    }
    fn ps(s: &str) -> Result<Command<'_>, CommandError> {
        parse_command(s.as_bytes(), &strict())
    }
    fn canon(s: &str) -> String {
        String::from_utf8(p(s).unwrap().to_bytes()).unwrap()
    }

    #[test]
    fn encode_checked_refuses_a_value_that_breaks_the_line() {
        use crate::syntax::path::{Host, LocalPart, Mailbox};
        let mailbox = |local: &'static str| Mailbox {
            local_part: LocalPart::DotString(local.into()),
            host: Host::Domain(
                crate::syntax::path::Domain::parse("example.test", &lenient()).unwrap(),
            ),
        };
        let bad = [
            Command::Helo {
                domain: "x\r\nRSET".into(),
            },
            Command::Ehlo {
                domain: "x\nRSET".into(),
            },
            Command::Vrfy { arg: "a\rb".into() },
            Command::Noop {
                arg: Some("a\0b".into()),
            },
            Command::Mail {
                from: ReversePath::Mailbox(mailbox("a\r\nDATA")),
                params: MailParams::default(),
            },
            Command::Rcpt {
                to: ForwardPath::Mailbox(mailbox("b\n")),
                params: RcptParams::default(),
            },
            Command::Other {
                verb: "XFOO".into(),
                args: Cow::Borrowed(&b"a\r\nQUIT"[..]),
            },
        ];
        for cmd in bad {
            let mut out = b"kept".to_vec();
            assert_eq!(
                cmd.encode_checked(&mut out),
                Err(EncodeError::LineBreak),
                "{cmd:?}"
            );
            assert_eq!(out, b"kept", "{cmd:?}");
        }
        // One line, but not the command it was written from: the rest of a local part
        // or a value would become parameters (or a path would not close).
        let xtext = |v: &'static str| Some(crate::syntax::xtext::XText(v.into()));
        let with_space = MailParams {
            envid: xtext("a SIZE=1"),
            ..MailParams::default()
        };
        let mut empty = RcptParams::default();
        empty.exchange.xrdst = xtext("");
        let not_read_back = [
            Command::Mail {
                from: ReversePath::Mailbox(mailbox("a> SIZE=1 <b")),
                params: MailParams::default(),
            },
            Command::Rcpt {
                to: ForwardPath::Mailbox(mailbox("a> NOTIFY=NEVER <b")),
                params: RcptParams::default(),
            },
            Command::Rcpt {
                to: ForwardPath::Mailbox(mailbox("a b")),
                params: RcptParams::default(),
            },
            Command::Mail {
                from: ReversePath::Null,
                params: with_space,
            },
            Command::Rcpt {
                to: ForwardPath::Postmaster,
                params: empty,
            },
        ];
        for cmd in not_read_back {
            let mut out = b"kept".to_vec();
            assert_eq!(
                cmd.encode_checked(&mut out),
                Err(EncodeError::NotReadBack),
                "{cmd:?}"
            );
            assert_eq!(out, b"kept", "{cmd:?}");
        }
        // Every parsed command is one line, and the checked form writes the same bytes.
        for line in [
            "EHLO client.example.test\r\n",
            "MAIL FROM:<a@example.test> SIZE=10 BODY=8BITMIME\r\n",
            "RCPT TO:<\"x y\"@example.test> NOTIFY=NEVER\r\n",
            "BDAT 10 LAST\r\n",
            "XFOO a b\r\n",
        ] {
            let cmd = p(line).unwrap();
            let mut out = Vec::new();
            assert_eq!(cmd.encode_checked(&mut out), Ok(()), "{line}");
            assert_eq!(out, cmd.to_bytes(), "{line}");
        }
    }

    #[test]
    fn args_text_at_every_alignment() {
        // The aligned UTF-8 check must give the same answer wherever the line sits.
        for pad in 0..16 {
            for (line, want) in [
                (
                    &b"EHLO client.example.test"[..],
                    Some("client.example.test"),
                ),
                (b"HELO a", Some("a")),
                (b"VRFY J\xc3\xa9r\xc3\xb4me", Some("J\u{e9}r\u{f4}me")),
                (b"VRFY a\xff", None),
            ] {
                let mut buf = vec![b'#'; pad];
                buf.extend_from_slice(line);
                let content = &buf[pad..];
                assert_eq!(args_str(content, 5, content.len()), want, "{pad}");
            }
        }
    }

    #[test]
    fn simple_verbs() {
        assert_eq!(p("DATA\r\n"), Ok(Command::Data));
        assert_eq!(p("data"), Ok(Command::Data));
        assert_eq!(p("rSeT\r\n"), Ok(Command::Rset));
        assert_eq!(p("QUIT\r\n"), Ok(Command::Quit));
        assert_eq!(p("STARTTLS\r\n"), Ok(Command::StartTls));
        assert_eq!(p("TURN\r\n"), Ok(Command::Turn));
        assert_eq!(p("x-anonymoustls\r\n"), Ok(Command::XAnonymousTls));
        assert_eq!(
            p("DATA x\r\n"),
            Err(CommandError::Arguments { verb: "DATA" })
        );
        assert_eq!(
            p("STARTTLS now\r\n"),
            Err(CommandError::Arguments { verb: "STARTTLS" })
        );
        assert_eq!(p("DATA \r\n"), Ok(Command::Data));
        assert_eq!(
            ps("DATA \r\n"),
            Err(CommandError::Arguments { verb: "DATA" })
        );
        assert_eq!(canon("quit"), "QUIT\r\n");
    }

    #[test]
    fn helo_ehlo() {
        assert_eq!(
            p("EHLO client.example.test\r\n"),
            Ok(Command::Ehlo {
                domain: "client.example.test".into()
            })
        );
        assert_eq!(
            p("helo [192.0.2.1]\r\n"),
            Ok(Command::Helo {
                domain: "[192.0.2.1]".into()
            })
        );
        assert_eq!(p("EHLO\r\n"), Err(CommandError::Arguments { verb: "EHLO" }));
        assert_eq!(
            p("EHLO my host\r\n"),
            Ok(Command::Ehlo {
                domain: "my host".into()
            })
        );
        assert!(ps("EHLO [192.0.2.1]\r\n").is_ok());
        assert_eq!(
            ps("HELO [192.0.2.1]\r\n"),
            Err(CommandError::Arguments { verb: "HELO" })
        );
        assert_eq!(
            ps("EHLO my host\r\n"),
            Err(CommandError::Arguments { verb: "EHLO" })
        );
        assert_eq!(canon("ehlo x.test  "), "EHLO x.test\r\n");
    }

    #[test]
    fn mail_and_rcpt() {
        let c = p("MAIL FROM:<a@example.test> SIZE=1000 BODY=8BITMIME\r\n").unwrap();
        let Command::Mail { from, params } = &c else {
            panic!()
        };
        assert_eq!(
            from,
            &ReversePath::Mailbox(Mailbox {
                local_part: LocalPart::DotString("a".into()),
                host: Host::Domain(Domain("example.test".into())),
            })
        );
        assert_eq!(params.size, Some(1000));
        assert_eq!(params.body, Some(Body::EightBitMime));
        assert!(matches!(
            from,
            ReversePath::Mailbox(Mailbox {
                local_part: LocalPart::DotString(Cow::Borrowed(_)),
                ..
            })
        ));

        assert_eq!(
            p("MAIL FROM:<>\r\n"),
            Ok(Command::Mail {
                from: ReversePath::Null,
                params: Default::default()
            })
        );
        let c = p("RCPT TO:<Postmaster> NOTIFY=FAILURE\r\n").unwrap();
        assert_eq!(
            c,
            Command::Rcpt {
                to: ForwardPath::Postmaster,
                params: super::super::param::RcptParams {
                    notify: Some(Notify {
                        failure: true,
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
        );
        assert_eq!(canon("rcpt to:<postmaster>"), "RCPT TO:<Postmaster>\r\n");
    }

    #[test]
    fn mail_leniency() {
        for s in [
            "MAIL FROM: <a@b.test>\r\n",
            "MAIL FROM:a@b.test\r\n",
            "MAIL FROM:<a@b.test>  \r\n",
            "mail from:\t<a@b.test>\r\n",
            "MAIL  FROM:<a@b.test>\r\n",
        ] {
            assert_eq!(canon(s), "MAIL FROM:<a@b.test>\r\n", "{s:?}");
            assert!(ps(s).is_err(), "{s:?}");
        }
        assert_eq!(
            canon("MAIL FROM:a@b.test  SIZE=5"),
            "MAIL FROM:<a@b.test> SIZE=5\r\n"
        );
        assert_eq!(canon("RCPT TO: postmaster"), "RCPT TO:<Postmaster>\r\n");
        assert!(ps("MAIL FROM:<a@b.test> SIZE=5\r\n").is_ok());
        assert!(ps("MAIL FROM:<a@b.test>\r\n").is_ok());
        assert!(ps("RCPT TO:<a@b.test>\r\n").is_ok());
    }

    #[test]
    fn mail_errors() {
        assert_eq!(p("MAIL\r\n"), Err(CommandError::Arguments { verb: "MAIL" }));
        assert_eq!(
            p("MAIL TO:<a@b>\r\n"),
            Err(CommandError::Arguments { verb: "MAIL" })
        );
        assert_eq!(
            p("MAIL FROM:\r\n"),
            Err(CommandError::Arguments { verb: "MAIL" })
        );
        assert_eq!(
            p("MAIL FROM:<a@b\r\n"),
            Err(CommandError::Arguments { verb: "MAIL" })
        );
        assert_eq!(
            p("MAIL FROM:<a@b>SIZE=1\r\n"),
            Err(CommandError::Arguments { verb: "MAIL" })
        );
        assert_eq!(
            p("MAIL FROM:<a b@c>\r\n"),
            Err(CommandError::Path(PathError::Syntax))
        );
        assert_eq!(
            p("RCPT TO:<>\r\n"),
            Err(CommandError::Path(PathError::Syntax))
        );
        assert_eq!(
            p("MAIL FROM:<a@b> SIZE=1 SIZE=2\r\n"),
            Err(CommandError::Param(ParamError::Duplicate("SIZE".into())))
        );
        assert_eq!(
            p("RCPT TO:<jörg@b.test>\r\n"),
            Err(CommandError::Path(PathError::NonAscii))
        );
        let utf8 = ParseOptions {
            utf8: true,
            ..lenient()
        };
        assert!(parse_command("RCPT TO:<jörg@b.test>\r\n".as_bytes(), &utf8).is_ok());
        assert_eq!(
            parse_command(b"MAIL FROM:<\xff@b>\r\n", &lenient()),
            Err(CommandError::Arguments { verb: "MAIL" })
        );
    }

    #[test]
    fn bdat_and_xexch50() {
        assert_eq!(
            p("BDAT 1000\r\n"),
            Ok(Command::Bdat {
                size: 1000,
                last: false
            })
        );
        assert_eq!(
            p("bdat 0 last\r\n"),
            Ok(Command::Bdat {
                size: 0,
                last: true
            })
        );
        assert_eq!(canon("bdat 0 last"), "BDAT 0 LAST\r\n");
        for bad in [
            "BDAT",
            "BDAT x",
            "BDAT -1",
            "BDAT 1 FIRST",
            "BDAT 1 LAST x",
            "BDAT 99999999999999999999",
        ] {
            assert_eq!(
                p(bad),
                Err(CommandError::Arguments { verb: "BDAT" }),
                "{bad}"
            );
        }
        assert_eq!(
            ps("BDAT 1 \r\n"),
            Err(CommandError::Arguments { verb: "BDAT" })
        );
        assert_eq!(
            p("XEXCH50 2020 2\r\n"),
            Ok(Command::XExch50 {
                size: 2020,
                mode: 2
            })
        );
        assert_eq!(canon("xexch50 2020 2"), "XEXCH50 2020 2\r\n");
        assert_eq!(
            p("XEXCH50 2000000000 2\r\n"),
            Err(CommandError::Arguments { verb: "XEXCH50" })
        );
        assert_eq!(
            p("XEXCH50 1\r\n"),
            Err(CommandError::Arguments { verb: "XEXCH50" })
        );
        let long = format!("XEXCH50 1 {}\r\n", "0".repeat(40));
        assert_eq!(p(&long), Err(CommandError::LineTooLong));
    }

    #[test]
    fn auth() {
        assert_eq!(
            p("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n"),
            Ok(Command::Auth {
                mechanism: "PLAIN".into(),
                initial_response: Some(InitialResponse::Base64("dGVzdAB0ZXN0AHRlc3Q=".into()))
            })
        );
        assert_eq!(
            p("auth login =\r\n"),
            Ok(Command::Auth {
                mechanism: "LOGIN".into(),
                initial_response: Some(InitialResponse::Empty)
            })
        );
        assert_eq!(canon("auth login ="), "AUTH LOGIN =\r\n");
        assert_eq!(
            p("X-EXPS GSSAPI\r\n"),
            Ok(Command::XExps {
                mechanism: "GSSAPI".into(),
                initial_response: None
            })
        );
        assert_eq!(p("AUTH\r\n"), Err(CommandError::Arguments { verb: "AUTH" }));
        assert_eq!(
            p("AUTH PLAIN a b\r\n"),
            Err(CommandError::Arguments { verb: "AUTH" })
        );
        assert_eq!(p("AUTH PLAIN a!b\r\n"), Err(CommandError::InvalidBase64));
        assert_eq!(
            p("AUTH ABCDEFGHIJKLMNOPQRSTU\r\n"),
            Err(CommandError::Arguments { verb: "AUTH" })
        );
        // AUTH lines may be up to 12,288 octets (RFC 4954 section 4).
        let ok = format!("AUTH PLAIN {}\r\n", "A".repeat(12288 - 13));
        assert!(p(&ok).is_ok());
        let long = format!("AUTH PLAIN {}\r\n", "A".repeat(12288 - 12));
        assert_eq!(p(&long), Err(CommandError::AuthLineTooLong));
    }

    #[test]
    fn sasl_responses() {
        assert_eq!(parse_sasl_response(b"*\r\n"), Ok(SaslResponse::Cancel));
        assert_eq!(
            parse_sasl_response(b"\r\n"),
            Ok(SaslResponse::Base64("".into()))
        );
        assert_eq!(
            parse_sasl_response(b"abc=\r\n"),
            Ok(SaslResponse::Base64("abc=".into()))
        );
        assert_eq!(
            parse_sasl_response(b"a b\r\n"),
            Err(CommandError::InvalidBase64)
        );
        assert_eq!(
            parse_sasl_response(b"\xff\r\n"),
            Err(CommandError::InvalidBase64)
        );
        let mut v = Vec::new();
        SaslResponse::Cancel.encode(&mut v);
        SaslResponse::Base64("YQ==".into()).encode(&mut v);
        assert_eq!(v, b"*\r\nYQ==\r\n");
        let long = vec![b'A'; 12287];
        assert_eq!(
            parse_sasl_response(&long),
            Err(CommandError::AuthLineTooLong)
        );
    }

    #[test]
    fn text_arguments() {
        assert_eq!(
            p("VRFY Smith\r\n"),
            Ok(Command::Vrfy {
                arg: "Smith".into()
            })
        );
        assert_eq!(
            p("EXPN list one\r\n"),
            Ok(Command::Expn {
                arg: "list one".into()
            })
        );
        assert_eq!(p("VRFY\r\n"), Err(CommandError::Arguments { verb: "VRFY" }));
        assert_eq!(p("HELP\r\n"), Ok(Command::Help { arg: None }));
        assert_eq!(
            p("HELP MAIL\r\n"),
            Ok(Command::Help {
                arg: Some("MAIL".into())
            })
        );
        assert_eq!(
            p("NOOP hello there\r\n"),
            Ok(Command::Noop {
                arg: Some("hello there".into())
            })
        );
        assert_eq!(
            p("ETRN @example.test\r\n"),
            Ok(Command::Etrn {
                node: "@example.test".into()
            })
        );
        assert_eq!(p("ETRN\r\n"), Err(CommandError::Arguments { verb: "ETRN" }));
        assert_eq!(
            ps("ETRN a b\r\n"),
            Err(CommandError::Arguments { verb: "ETRN" })
        );
        assert_eq!(p("ATRN\r\n"), Ok(Command::Atrn { domains: None }));
        assert_eq!(
            p("ATRN a.test,b.test\r\n"),
            Ok(Command::Atrn {
                domains: Some("a.test,b.test".into())
            })
        );
        assert_eq!(canon("noop   x  "), "NOOP x\r\n");
        // Strict: no HT in a text argument and no SP at either end (String = Atom /
        // Quoted-string, RFC 5321 4.1.2, holds neither; ETRN and ATRN take domains), so
        // strict accepts nothing lenient parsing refuses or reads otherwise.
        for line in [
            "VRFY \t\r\n",
            "VRFY a\tb\r\n",
            "EXPN  list\r\n",
            "HELP MAIL \r\n",
            "NOOP \t\r\n",
            "ETRN \t\r\n",
            "ETRN a\tb\r\n",
            "ATRN \ta.test\r\n",
        ] {
            let verb = std::str::from_utf8(&line.as_bytes()[..4]).unwrap();
            assert_eq!(ps(line), Err(CommandError::Arguments { verb }), "{line:?}");
        }
        assert_eq!(
            ps("EXPN list one\r\n"),
            Ok(Command::Expn {
                arg: "list one".into()
            })
        );
    }

    #[test]
    fn exchange_and_other_verbs() {
        assert_eq!(
            p("x-link2state FIRST CHUNK=abc\r\n"),
            Ok(Command::Exchange {
                verb: ExchangeVerb::XLink2State,
                args: Cow::Borrowed(b"FIRST CHUNK=abc")
            })
        );
        assert_eq!(canon("xshadowrequest"), "XSHADOWREQUEST\r\n");
        assert_eq!(canon("XPROXYTO  a  "), "XPROXYTO  a  \r\n");
        assert_eq!(
            p("FOO bar\r\n"),
            Ok(Command::Other {
                verb: "FOO".into(),
                args: Cow::Borrowed(b"bar")
            })
        );
        assert_eq!(canon("foo \x01\x7f"), "foo \x01\x7f\r\n");
        assert_eq!(p("FOO bar\r\n").unwrap().verb(), "FOO");
        assert_eq!(p("XRDST x").unwrap().verb(), "XRDST");
        let long = format!("X-LINK2STATE {}\r\n", "a".repeat(1000));
        assert!(p(&long).is_ok());
        let long = format!("X-LINK2STATE {}\r\n", "a".repeat(1010));
        assert_eq!(p(&long), Err(CommandError::LineTooLong));
        let long = format!("NOOP {}\r\n", "a".repeat(506));
        assert_eq!(p(&long), Err(CommandError::LineTooLong));
    }

    #[test]
    fn garbage() {
        assert_eq!(p(""), Err(CommandError::Syntax));
        assert_eq!(p("\r\n"), Err(CommandError::Syntax));
        assert_eq!(p(" DATA\r\n"), Err(CommandError::Syntax));
        assert_eq!(p("DATA\rQUIT\r\n"), Err(CommandError::Syntax));
        assert_eq!(p("DATA\nQUIT\r\n"), Err(CommandError::Syntax));
        assert_eq!(p("NOOP \0\r\n"), Err(CommandError::Syntax));
        assert_eq!(p("MAIL:x\r\n"), Err(CommandError::Syntax));
        assert_eq!(
            parse_command(b"\x16\x03\x01\x02", &lenient()),
            Err(CommandError::Syntax)
        );
        assert_eq!(ps("DATA\tx\r\n"), Err(CommandError::Syntax));
        assert_eq!(ps("DATA\n"), Err(CommandError::Syntax));
        assert_eq!(p("DATA\n"), Ok(Command::Data));
    }

    #[test]
    fn into_owned_keeps_value() {
        let line = b"MAIL FROM:<a@b.test> SIZE=1 X-Y=z\r\n".to_vec();
        let c = parse_command(&line, &lenient()).unwrap();
        let owned = c.clone().into_owned();
        drop(line);
        assert_eq!(owned.to_bytes(), b"MAIL FROM:<a@b.test> SIZE=1 X-Y=z\r\n");
    }

    #[test]
    fn replies() {
        use super::super::reply::EnhancedCode;
        let r = CommandError::Syntax.reply();
        assert_eq!(
            (r.code.0, r.enhanced),
            (500, Some(EnhancedCode::new(5, 5, 2)))
        );
        let r = CommandError::Arguments { verb: "MAIL" }.reply();
        assert_eq!(
            (r.code.0, r.enhanced),
            (501, Some(EnhancedCode::new(5, 5, 4)))
        );
        let r = CommandError::Param(ParamError::Unrecognized("X".into())).reply();
        assert_eq!(
            (r.code.0, r.enhanced),
            (555, Some(EnhancedCode::new(5, 5, 4)))
        );
        let r = CommandError::Path(PathError::PathTooLong).reply();
        assert_eq!(
            (r.code.0, r.enhanced),
            (501, Some(EnhancedCode::new(5, 1, 3)))
        );
        // RFC 3463 3.2: the sender's address is X.1.7, the recipient's X.1.3; the verb
        // in any case; other errors and a non-ASCII address keep their codes.
        let path = CommandError::Path(PathError::PathTooLong);
        for (line, e) in [
            (&b"mail FROM:<x>"[..], (501, 5, 1, 7)),
            (b"RCPT TO:<x>\r\n", (501, 5, 1, 3)),
            (b"", (501, 5, 1, 3)),
        ] {
            let r = path.reply_to_line(line);
            assert_eq!(
                (r.code.0, r.enhanced),
                (e.0, Some(EnhancedCode::new(e.1, e.2, e.3)))
            );
        }
        let r = CommandError::Path(PathError::Syntax).reply_to_line(b"MAIL FROM:<@>");
        assert_eq!(
            (r.code.0, r.enhanced),
            (553, Some(EnhancedCode::new(5, 1, 7)))
        );
        for e in [
            CommandError::Path(PathError::NonAscii),
            CommandError::Arguments { verb: "MAIL" },
            CommandError::Param(ParamError::Syntax),
        ] {
            assert_eq!(e.reply_to_line(b"MAIL FROM:<x>"), e.reply());
        }
        let r = CommandError::AuthLineTooLong.reply();
        assert_eq!(
            (r.code.0, r.enhanced),
            (500, Some(EnhancedCode::new(5, 5, 6)))
        );
        let r = CommandError::InvalidBase64.reply();
        assert_eq!(
            (r.code.0, r.enhanced),
            (501, Some(EnhancedCode::new(5, 5, 2)))
        );
    }
}

/// The direct paths of [`parse_command`] must give exactly the general path's answer.
#[cfg(test)]
mod direct_path_props {
    use super::*;
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(&b"MAIL FROM:<"[..]),
            Just(&b"mail from:<"[..]),
            Just(&b"MaIl FrOm:<"[..]),
            Just(&b"MAIL FROM: <"[..]),
            Just(&b"MAIL\tFROM:<"[..]),
            Just(&b"MAIL\0FROM:<"[..]),
            Just(&b"MAIL FROM;<"[..]),
            Just(&b"RCPT TO:<"[..]),
            Just(&b"rcpt to:<"[..]),
            Just(&b"RCPT TO:"[..]),
            Just(&b"RCPT\0TO:<"[..]),
            Just(&b"RCPT TO;<"[..]),
            Just(&b"DATA"[..]),
            Just(&b"alice"[..]),
            Just(&b"a.b-c+d"[..]),
            Just(&b"@"[..]),
            Just(&b"example.test"[..]),
            Just(&b"-x-"[..]),
            Just(&b">"[..]),
            Just(&b"<>"[..]),
            Just(&b"."[..]),
            Just(&b" "[..]),
            Just(&b"\t"[..]),
            Just(&b"SIZE=100"[..]),
            Just(&b"BODY=8BITMIME"[..]),
            Just(&b"NOTIFY=SUCCESS,FAILURE"[..]),
            Just(&b"ORCPT=rfc822;a+40b"[..]),
            Just(&b"XSHADOW=h"[..]),
            Just(&b"SMTPUTF8"[..]),
            Just(&b"FOO=bar"[..]),
            Just(&b"="[..]),
            Just(&b"\r\n"[..]),
            Just(&b"\n"[..]),
            Just(&b"\r"[..]),
            Just(&b"\0"[..]),
            Just("\u{e9}".as_bytes()),
            Just(&b"\xff"[..]),
            Just(&b"PLAIN"[..]),
            Just(&b"plain"[..]),
            Just(&b"AGFsaWNl"[..]),
            Just(&b"/+9"[..]),
            Just(&b"_"[..]),
            Just(&b"2048"[..]),
            Just(&b"99999999999999999999"[..]),
            Just(&b"LAST"[..]),
            Just(&b"last"[..]),
        ]
        .prop_map(<[u8]>::to_vec)
    }

    fn line() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![
                4 => Just(&b"MAIL FROM:<"[..]),
                4 => Just(&b"rcpt to:<"[..]),
                1 => Just(&b"EHLO "[..]),
                1 => Just(&b"ehlo "[..]),
                1 => Just(&b"HELO "[..]),
                1 => Just(&b"AUTH "[..]),
                1 => Just(&b"Auth PLAIN "[..]),
                1 => Just(&b"BDAT "[..]),
                1 => Just(&b"bdat 1"[..]),
                1 => Just(&b"STARTTLS"[..]),
                1 => Just(&b"StartTLS"[..]),
            ],
            proptest::collection::vec(piece(), 0..12),
            prop_oneof![
                Just(&b"\r\n"[..]),
                Just(&b"\n"[..]),
                Just(&b""[..]),
                Just(&b" \r\n"[..])
            ],
        )
            .prop_map(|(head, body, end)| {
                let mut v = head.to_vec();
                body.iter().for_each(|p| v.extend_from_slice(p));
                v.extend_from_slice(end);
                v
            })
    }

    fn options() -> impl Strategy<Value = ParseOptions> {
        (
            any::<bool>(),
            any::<bool>(),
            prop_oneof![Just(512usize), 8usize..80],
        )
            .prop_map(|(strict, utf8, max_line)| ParseOptions {
                leniency: if strict {
                    Leniency::Strict
                } else {
                    Leniency::Lenient
                },
                utf8,
                max_line,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn same_answer_as_the_general_path(line in line(), opts in options()) {
            prop_assert_eq!(parse_command(&line, &opts), parse_general(&line, &opts));
        }

        #[test]
        fn same_answer_on_chunk_sizes(
            digits in "[0-9]{0,22}",
            tail in prop_oneof![Just(""), Just(" LAST"), Just(" last"), Just("  LAST"), Just(" LASTX"), Just(" ")],
            opts in options(),
        ) {
            let line = format!("BDAT {digits}{tail}\r\n");
            prop_assert_eq!(parse_command(line.as_bytes(), &opts), parse_general(line.as_bytes(), &opts));
        }

        #[test]
        fn same_answer_on_arbitrary_tails(
            head in prop_oneof![
                Just(&b"MAIL FROM:<"[..]),
                Just(&b"RCPT TO:<"[..]),
                Just(&b"DATA"[..]),
                Just(&b"EHLO "[..]),
                Just(&b"helo "[..]),
                Just(&b"AUTH PLAIN"[..]),
                Just(&b"BDAT 1"[..]),
                Just(&b"STARTTLS"[..]),
            ],
            tail in proptest::collection::vec(any::<u8>(), 0..40),
            crlf in any::<bool>(),
            opts in options(),
        ) {
            let mut line = head.to_vec();
            line.extend_from_slice(&tail);
            // Half of the lines end as the direct paths want.
            if crlf {
                line.extend_from_slice(b"\r\n");
            }
            prop_assert_eq!(parse_command(&line, &opts), parse_general(&line, &opts));
        }
    }
}
