//! Replies (RFC 5321 4.2), enhanced status codes (RFC 2034, RFC 3463), and the
//! incremental reply parser a client uses.
//!
//! A [`Reply`] holds its text as one `Cow<'static, str>` whose lines are separated by `\n`,
//! so the replies a server sends most often are built without allocating. The serializer
//! writes `code-text` continuation lines and a final `code text` line, puts the enhanced
//! code on every line (RFC 2034 section 4), and never emits a line longer than 512 octets
//! (RFC 5321 4.5.3.1.5): longer text is wrapped into more lines.
//!
//! # Decisions
//!
//! * **Sanitizing.** `\n` separates lines of [`Reply::text`]; the serializer turns `\r\n`
//!   into a line break and every other control character (a lone CR, NUL, DEL, ...; HT is
//!   kept, RFC 5321 4.2 `textstring`) into a space, so text a server copies from a client
//!   can never inject a reply line.
//! * **Wrapping.** A text line that does not fit in 512 octets (code, separator, enhanced
//!   code and CRLF included) is split at the last space that fits (the space stays at the
//!   end of the earlier piece, so joining the pieces gives back the line exactly), or hard
//!   split at a UTF-8 character boundary when there is no space. [`Reply::normalized`] is
//!   the reply exactly as a peer reads the wrapped output back.
//! * **Enhanced codes when parsing.** An enhanced code is recognized when the text of the
//!   first line starts with `class.subject.detail` (RFC 3463 section 2: class 2, 4 or 5,
//!   subject and detail of 1 to 3 digits) followed by a space or the line end, and its class
//!   equals the first digit of the reply code (RFC 3463 section 3). It is then stripped,
//!   with one following space, from every line that starts with the same code. A serializer
//!   writes an enhanced code only where a parser recognizes it: one whose class does not
//!   match the reply code (and any on a 3yz reply) is left out.
//! * **Line ends when parsing.** By default the parser accepts a bare LF as a line end, as
//!   Postfix's and Python's SMTP clients do (a reply is read by a client, not relayed, so
//!   this opens no smuggling hole); [`ReplyParser::accept_bare_lf`] turns that off, and a CR
//!   or LF inside a line is then a [`ReplyError::Syntax`]. In the default mode a lone CR,
//!   NUL or other control character inside a line stays in [`Reply::text`] as received
//!   (the reply grammar forbids them, RFC 5321 4.2); encoding the reply again, or showing
//!   it with `Display`, turns them into spaces (see below), so they never reach the wire
//!   or a log as control characters.
//! * **Text encoding.** Reply text is UTF-8 under SMTPUTF8 (RFC 6531) and ASCII otherwise;
//!   octets that are not UTF-8 (Latin-1 greetings exist) are replaced by U+FFFD rather than
//!   rejected.
//! * **Out-of-range codes.** The parser accepts codes whose first digit is 2 to 5 (any
//!   second and third digit). [`ReplyCode::class`] maps any other value to
//!   [`ReplyClass::PermanentNegative`] (RFC 5321 4.2.1: a client treats out-of-range codes
//!   as fatal) and the serializer writes such a code as `554`.

use super::line::{find_line, skip_line, LineStatus};
use super::ReplyError;
use bytes::{Buf, BytesMut};
use std::borrow::Cow;
use std::fmt;

/// Default limit on the number of lines of one reply accepted by [`ReplyParser::default`].
pub const DEFAULT_MAX_REPLY_LINES: usize = 128;

/// Longest reply line the serializer writes, CRLF included (RFC 5321 4.5.3.1.5).
const MAX_LINE: usize = crate::limits::MAX_REPLY_LINE;

/// A three-digit reply code, 200..=599 for replies a server may send (RFC 5321 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(pub u16);

/// The class of a reply (first digit, RFC 5321 4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyClass {
    /// 2yz: positive completion.
    PositiveCompletion,
    /// 3yz: positive intermediate (354, 334).
    PositiveIntermediate,
    /// 4yz: transient negative completion.
    TransientNegative,
    /// 5yz: permanent negative completion.
    PermanentNegative,
}

/// An enhanced mail system status code `class.subject.detail` (RFC 3463).
///
/// ```
/// use ehlo::syntax::reply::EnhancedCode;
/// let e = EnhancedCode::parse("5.7.1").unwrap();
/// assert_eq!(e, EnhancedCode::new(5, 7, 1));
/// assert_eq!(e.to_string(), "5.7.1");
/// assert!(EnhancedCode::parse("3.0.0").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2, 4 or 5.
    pub class: u8,
    /// 0..=999.
    pub subject: u16,
    /// 0..=999.
    pub detail: u16,
}

/// A complete (possibly multi-line) reply.
///
/// ```
/// use ehlo::syntax::reply::{Reply, EnhancedCode};
/// let r = Reply::new(250, Some(EnhancedCode::new(2, 1, 0)), "Sender OK");
/// assert_eq!(r.to_bytes(), b"250 2.1.0 Sender OK\r\n");
///
/// let r = Reply::new(250, None, "mail.example.test\nPIPELINING\nSIZE 1000");
/// assert_eq!(r.to_bytes(), b"250-mail.example.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
///
/// // Text from callers can never inject a line.
/// let r = Reply::new(550, Some(EnhancedCode::new(5, 1, 1)), "<a\r\n250 OK>");
/// assert_eq!(r.to_bytes(), b"550-5.1.1 <a\r\n550 5.1.1 250 OK>\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    /// The reply code.
    pub code: ReplyCode,
    /// The enhanced status code, if any (on every line when serialized).
    pub enhanced: Option<EnhancedCode>,
    /// The text; lines separated by `\n`, without codes or CRLF.
    pub text: Cow<'static, str>,
}

impl EnhancedCode {
    /// Builds `class.subject.detail`.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    /// Whether the code is well-formed (RFC 3463 section 2): class 2, 4 or 5, subject and
    /// detail at most 999.
    pub const fn is_valid(self) -> bool {
        matches!(self.class, 2 | 4 | 5) && self.subject <= 999 && self.detail <= 999
    }

    /// Whether the code is valid and may accompany `code`: its class equals the reply
    /// code's first digit (RFC 3463 section 3, RFC 2034 section 4).
    pub fn matches(self, code: ReplyCode) -> bool {
        self.is_valid() && code.is_valid() && u16::from(self.class) == code.0 / 100
    }

    /// Parses exactly `class.subject.detail` (1 to 3 digits for subject and detail).
    #[must_use]
    pub fn parse(s: &str) -> Option<EnhancedCode> {
        match parse_enhanced_prefix(s.as_bytes()) {
            Some((e, n)) if n == s.len() => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Parses an enhanced code at the start of `b`; returns it and its length in octets.
fn parse_enhanced_prefix(b: &[u8]) -> Option<(EnhancedCode, usize)> {
    let class = match b.first()? {
        c @ (b'2' | b'4' | b'5') => c - b'0',
        _ => return None,
    };
    if b.get(1) != Some(&b'.') {
        return None;
    }
    let (subject, i) = digits(b, 2)?;
    if b.get(i) != Some(&b'.') {
        return None;
    }
    let (detail, j) = digits(b, i + 1)?;
    Some((EnhancedCode::new(class, subject, detail), j))
}

/// One to three digits starting at `from`; returns the value and the index after them.
fn digits(b: &[u8], from: usize) -> Option<(u16, usize)> {
    let mut value = 0u16;
    let mut i = from;
    while i < from + 3 {
        match b.get(i) {
            Some(d @ b'0'..=b'9') => value = value * 10 + u16::from(d - b'0'),
            _ => break,
        }
        i += 1;
    }
    (i > from).then_some((value, i))
}

/// If `text` starts with an enhanced code for which `accept` holds, followed by a space or
/// the end, returns the code and the text after it (and after the space).
fn strip_enhanced(
    text: &[u8],
    accept: impl Fn(EnhancedCode) -> bool,
) -> Option<(EnhancedCode, &[u8])> {
    let (e, n) = parse_enhanced_prefix(text)?;
    if !accept(e) {
        return None;
    }
    match text.get(n) {
        None => Some((e, &[])),
        Some(b' ') => Some((e, text.get(n + 1..).unwrap_or_default())),
        Some(_) => None,
    }
}

impl ReplyCode {
    /// The class of the code (first digit). Codes outside 200..=599 are
    /// [`ReplyClass::PermanentNegative`]: RFC 5321 4.2.1 tells clients to treat
    /// out-of-range codes as fatal errors.
    pub fn class(self) -> ReplyClass {
        match self.0 {
            200..=299 => ReplyClass::PositiveCompletion,
            300..=399 => ReplyClass::PositiveIntermediate,
            400..=499 => ReplyClass::TransientNegative,
            _ => ReplyClass::PermanentNegative,
        }
    }

    /// Whether the code is in 200..=599 (the codes a server may send, RFC 5321 4.2.1).
    pub const fn is_valid(self) -> bool {
        self.0 >= 200 && self.0 <= 599
    }

    /// 2yz: positive completion.
    pub fn is_positive(self) -> bool {
        self.class() == ReplyClass::PositiveCompletion
    }

    /// 3yz: positive intermediate (`354` after DATA, `334` during AUTH).
    pub fn is_intermediate(self) -> bool {
        self.class() == ReplyClass::PositiveIntermediate
    }

    /// 4yz: transient negative completion (try again later).
    pub fn is_transient(self) -> bool {
        self.class() == ReplyClass::TransientNegative
    }

    /// 5yz (or out of range): permanent negative completion.
    pub fn is_permanent(self) -> bool {
        self.class() == ReplyClass::PermanentNegative
    }

    /// 4yz or 5yz: the command failed.
    pub fn is_negative(self) -> bool {
        self.is_transient() || self.is_permanent()
    }

    /// The code the serializer writes: the code itself, or `554` when out of range.
    fn wire(self) -> u16 {
        if self.is_valid() {
            self.0
        } else {
            554
        }
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl Reply {
    /// Builds a reply. `text` lines are separated by `\n`.
    pub fn new(
        code: u16,
        enhanced: Option<EnhancedCode>,
        text: impl Into<Cow<'static, str>>,
    ) -> Self {
        Reply {
            code: ReplyCode(code),
            enhanced,
            text: text.into(),
        }
    }

    /// Builds a reply from static text in a `const` context.
    ///
    /// ```
    /// use ehlo::syntax::reply::{Reply, EnhancedCode};
    /// const OK: Reply = Reply::from_static(250, Some(EnhancedCode::new(2, 0, 0)), "OK");
    /// assert_eq!(OK.to_bytes(), b"250 2.0.0 OK\r\n");
    /// ```
    pub const fn from_static(
        code: u16,
        enhanced: Option<EnhancedCode>,
        text: &'static str,
    ) -> Self {
        Reply {
            code: ReplyCode(code),
            enhanced,
            text: Cow::Borrowed(text),
        }
    }

    /// Writes the reply (with its enhanced code on every line), wrapping lines over 512 octets.
    pub fn encode(&self, out: &mut impl bytes::BufMut) {
        self.encode_with(out, true)
    }

    /// Writes the reply; `enhanced` false omits the enhanced code (when the session did not
    /// advertise ENHANCEDSTATUSCODES).
    ///
    /// Every line is at most 512 octets, CRLF included (RFC 5321 4.5.3.1.5), carries no CR
    /// or LF but its terminator, and carries the enhanced code when one is written. See the
    /// module documentation for sanitizing and wrapping.
    ///
    /// A final line with no text is the bare code (`250\r\n`, RFC 5321 4.2), except for
    /// `334`, which always keeps its space (`334 \r\n`): RFC 4954 section 4 requires it in
    /// `continue-req = "334" SP [base64] CRLF`.
    ///
    /// ```
    /// use ehlo::syntax::reply::Reply;
    /// assert_eq!(Reply::new(250, None, "").to_bytes(), b"250\r\n");
    /// assert_eq!(Reply::new(334, None, "").to_bytes(), b"334 \r\n");
    /// ```
    pub fn encode_with(&self, out: &mut impl bytes::BufMut, enhanced: bool) {
        self.encode_lines(out, enhanced, MAX_LINE)
    }

    /// [`Reply::encode_with`] with lines of up to `max_line` octets, CRLF included, instead
    /// of 512 (at least 512 is used). For the replies an extension allows to be longer:
    /// X-LINK2STATE replies of up to [`crate::limits::MAX_LINK2STATE_LINE`] octets
    /// (KB 812455).
    pub(crate) fn encode_lines(
        &self,
        out: &mut impl bytes::BufMut,
        enhanced: bool,
        max_line: usize,
    ) {
        let max_line = max_line.max(MAX_LINE);
        let code = self.code.wire();
        let enh = if enhanced {
            self.enhanced.filter(|e| e.matches(ReplyCode(code)))
        } else {
            None
        };
        let mut enh_buf = [0u8; 12];
        let enh_bytes = match enh {
            Some(e) => format_enhanced(e, &mut enh_buf),
            None => &[][..],
        };
        let digits = [
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ];
        // `334` keeps its space before empty text: RFC 4954 section 4,
        // `continue-req = "334" SP [base64] CRLF`. Other codes end an empty final line
        // right after the code (RFC 5321 4.2, `Reply-code [ SP textstring ] CRLF`).
        let space_when_empty = code == 334;
        // The common case, one short line of plain text, is written directly: no
        // sanitizing copy, no line splitting.
        if self.text.len() <= room_in(max_line, enh_bytes.len())
            && !self.text.bytes().any(|b| b < 0x20 || b == 0x7f)
        {
            out.put_slice(&digits);
            if enh_bytes.is_empty() {
                if !self.text.is_empty() || space_when_empty {
                    out.put_u8(b' ');
                }
            } else {
                out.put_u8(b' ');
                out.put_slice(enh_bytes);
                if !self.text.is_empty() {
                    out.put_u8(b' ');
                }
            }
            out.put_slice(self.text.as_bytes());
            out.put_slice(b"\r\n");
            return;
        }
        let text = sanitize(&self.text);
        for_each_piece(&text, room_in(max_line, enh_bytes.len()), |piece, last| {
            out.put_slice(&digits);
            if enh_bytes.is_empty() {
                if !(last && piece.is_empty()) || space_when_empty {
                    out.put_u8(if last { b' ' } else { b'-' });
                }
                out.put_slice(piece.as_bytes());
            } else {
                out.put_u8(if last { b' ' } else { b'-' });
                out.put_slice(enh_bytes);
                if !piece.is_empty() {
                    out.put_u8(b' ');
                    out.put_slice(piece.as_bytes());
                }
            }
            out.put_slice(b"\r\n");
        });
    }

    /// The serialized reply as a vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// The text lines.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n')
    }

    /// The first text line (for an EHLO reply: the greeting).
    pub fn first_line(&self) -> &str {
        self.text.split('\n').next().unwrap_or_default()
    }

    /// 2yz: positive completion.
    pub fn is_positive(&self) -> bool {
        self.code.is_positive()
    }

    /// 3yz: positive intermediate.
    pub fn is_intermediate(&self) -> bool {
        self.code.is_intermediate()
    }

    /// 4yz: transient failure.
    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }

    /// 5yz (or out of range): permanent failure.
    pub fn is_permanent(&self) -> bool {
        self.code.is_permanent()
    }

    /// The reply exactly as a peer parses it back from [`Reply::encode`]: the code as
    /// written (out-of-range codes become `554`), the enhanced code only if it matches the
    /// code, the text sanitized and wrapped into lines of at most 512 octets.
    ///
    /// This is the equality the round trip `parse(encode(r)) == r.normalized()` holds for
    /// (except for a reply without an enhanced code whose first line, once sanitized,
    /// starts with one: a parser cannot tell the two apart). For text that needs neither sanitizing nor
    /// wrapping, `r.normalized() == r`.
    ///
    /// ```
    /// use ehlo::syntax::reply::Reply;
    /// let long = "word ".repeat(200);
    /// let n = Reply::new(250, None, long.clone()).normalized();
    /// assert!(n.lines().count() > 1);
    /// assert_eq!(n.text.replace('\n', ""), long);
    /// ```
    #[must_use]
    pub fn normalized(&self) -> Reply {
        let code = ReplyCode(self.code.wire());
        let enhanced = self.enhanced.filter(|e| e.matches(code));
        let enh_len = match enhanced {
            Some(e) => format_enhanced(e, &mut [0u8; 12]).len(),
            None => 0,
        };
        let sanitized = sanitize(&self.text);
        let mut text = String::with_capacity(sanitized.len());
        let mut pieces = 0usize;
        let mut logical = 0usize;
        for_each_piece(&sanitized, room(enh_len), |piece, _| {
            if pieces > 0 {
                text.push('\n');
            }
            text.push_str(piece);
            pieces += 1;
        });
        for_each_logical(&sanitized, |_| logical += 1);
        let text = if matches!(sanitized, Cow::Borrowed(_)) && pieces == logical {
            self.text.clone()
        } else {
            Cow::Owned(text)
        };
        Reply {
            code,
            enhanced,
            text,
        }
    }
}

impl Reply {
    /// The first line of the reply as [`Display`](fmt::Display) shows it, for one-line
    /// error messages: code, enhanced code (when it matches the code) and the first text
    /// line once sanitized (at most one wire line: a first text line too long for 512 octets
    /// shows its first piece).
    pub(crate) fn summary(&self) -> impl fmt::Display + '_ {
        struct Summary<'a>(&'a Reply);
        impl fmt::Display for Summary<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let r = self.0;
                let text = sanitize(&r.text);
                let line = text.split('\n').next().unwrap_or_default();
                let first = Reply::new(r.code.0, r.enhanced, line.to_owned());
                let wire = first.to_bytes();
                let text = String::from_utf8_lossy(&wire);
                f.write_str(&log_safe(text.split("\r\n").next().unwrap_or_default()))
            }
        }
        Summary(self)
    }
}

impl fmt::Display for Reply {
    /// The reply for logs: the lines [`Reply::encode`] writes (codes, enhanced code on
    /// every line, text sanitized and wrapped), separated by `\n`, without any CR and
    /// without a line end after the last line; C1 controls and the Unicode line,
    /// paragraph and bidirectional controls show as spaces. A multi-line reply is several
    /// log lines, each starting with the code: the client's errors show only the first.
    /// [`Reply::encode`] and [`Reply::to_bytes`] give the wire form.
    ///
    /// ```
    /// use ehlo::syntax::reply::{EnhancedCode, Reply};
    /// let r = Reply::new(250, None, "mail.example.test\nPIPELINING");
    /// assert_eq!(r.to_string(), "250-mail.example.test\n250 PIPELINING");
    /// let r = Reply::new(550, Some(EnhancedCode::new(5, 1, 1)), "No such user");
    /// assert_eq!(format!("refused: {r}"), "refused: 550 5.1.1 No such user");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wire = self.to_bytes();
        let text = String::from_utf8_lossy(&wire);
        let text = text.strip_suffix("\r\n").unwrap_or(&text);
        for (i, line) in text.split("\r\n").enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&log_safe(line))?;
        }
        Ok(())
    }
}

/// `line` with what could pass for a line break or reorder what a log shows turned into
/// spaces: C1 controls (NEL, CSI, ...), the Unicode line and paragraph separators
/// (U+2028, U+2029) and the bidirectional embedding, override and isolate controls
/// (U+202A-U+202E, U+2066-U+2069). A hostile server's text then stays on its own log line
/// and reads as it is stored. (C0 controls and DEL are already gone: [`sanitize`].)
fn log_safe(line: &str) -> Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }
    if line.is_ascii() && !line.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Cow::Borrowed(line);
    }
    if !line.chars().any(unsafe_char) {
        return Cow::Borrowed(line);
    }
    Cow::Owned(
        line.chars()
            .map(|c| if unsafe_char(c) { ' ' } else { c })
            .collect(),
    )
}

/// Writes `e` (assumed valid) into `buf` and returns the written part.
fn format_enhanced(e: EnhancedCode, buf: &mut [u8; 12]) -> &[u8] {
    let mut n = 0;
    let mut put = |b: u8| {
        if let Some(slot) = buf.get_mut(n) {
            *slot = b;
            n += 1;
        }
    };
    put(b'0' + e.class % 10);
    for v in [e.subject, e.detail] {
        put(b'.');
        let v = v.min(999);
        if v >= 100 {
            put(b'0' + (v / 100) as u8);
        }
        if v >= 10 {
            put(b'0' + (v / 10 % 10) as u8);
        }
        put(b'0' + (v % 10) as u8);
    }
    buf.get(..n).unwrap_or_default()
}

/// Room for text on one line when the enhanced code takes `enh_len` octets.
fn room(enh_len: usize) -> usize {
    room_in(MAX_LINE, enh_len)
}

/// [`room`] for lines of up to `max_line` octets.
fn room_in(max_line: usize, enh_len: usize) -> usize {
    // code (3) + separator (1) + CRLF (2), and the enhanced code plus its space.
    let fixed = 6 + if enh_len > 0 { enh_len + 1 } else { 0 };
    max_line - fixed
}

/// [`String::from_utf8_lossy`], with the validation of `str::from_utf8` (word at a time
/// over ASCII) for the usual valid text instead of its own octet by octet walk.
fn lossy_utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Whether `b` must be rewritten by [`sanitize`].
fn is_unsafe(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f
}

/// Turns `\r\n` into `\n` and other control characters (except HT and LF) into spaces.
fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            c if c.is_ascii() && is_unsafe(c as u8) => out.push(' '),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Calls `f` with each logical (`\n`-separated) line.
fn for_each_logical<'t>(text: &'t str, mut f: impl FnMut(&'t str)) {
    for l in text.split('\n') {
        f(l)
    }
}

/// Calls `f(piece, is_last)` for every physical line: each logical line split into pieces
/// of at most `room` octets (at the last space that fits, else at a character boundary).
fn for_each_piece<'t>(text: &'t str, room: usize, mut f: impl FnMut(&'t str, bool)) {
    let room = room.max(4);
    let mut pending: Option<&'t str> = None;
    let mut emit = |piece: &'t str| {
        if let Some(p) = pending.replace(piece) {
            f(p, false);
        }
    };
    for_each_logical(text, |line| {
        let mut rest = line;
        while rest.len() > room {
            let bytes = rest.as_bytes();
            let cut = match memchr::memrchr(b' ', bytes.get(..room).unwrap_or_default()) {
                Some(i) if i > 0 => i + 1,
                _ => {
                    let mut k = room;
                    while !rest.is_char_boundary(k) {
                        k -= 1;
                    }
                    k
                }
            };
            let (piece, tail) = rest.split_at(cut);
            emit(piece);
            rest = tail;
        }
        emit(rest);
    });
    if let Some(p) = pending {
        f(p, true);
    }
}

/// A multi-line reply being reassembled.
#[derive(Debug, Clone)]
struct Partial {
    code: u16,
    enhanced: Option<EnhancedCode>,
    text: String,
    lines: usize,
}

/// Incremental reply parser: reassembles (multi-line) replies from arbitrary input splits.
///
/// Memory is bounded: a line longer than `max_line` is reported as soon as the limit is
/// passed and skipped without buffering, and a reply is at most `max_lines` lines. After an
/// error the reply in progress and the offending line are dropped; when that line announced
/// a continuation (`-` as its fourth octet, where it follows the code; the octets before it
/// are not checked), the rest of that reply up to its final line (the next line without
/// that `-`) is skipped too, so the next reply returned is the next whole one. A client normally closes
/// the connection after any error (the server is not speaking SMTP).
///
/// ```
/// use ehlo::bytes::BytesMut;
/// use ehlo::syntax::reply::{ReplyParser, EnhancedCode};
///
/// let mut p = ReplyParser::default();
/// let mut buf = BytesMut::from(&b"250-mail.example.test\r\n250-PIPE"[..]);
/// assert_eq!(p.decode(&mut buf).unwrap(), None);
/// buf.extend_from_slice(b"LINING\r\n250 CHUNKING\r\n550 5.1.1 No such user\r\n");
/// let r = p.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(r.text, "mail.example.test\nPIPELINING\nCHUNKING");
/// let r = p.decode(&mut buf).unwrap().unwrap();
/// assert_eq!((r.code.0, r.enhanced, &*r.text), (550, Some(EnhancedCode::new(5, 1, 1)), "No such user"));
/// assert!(buf.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct ReplyParser {
    max_line: usize,
    max_lines: usize,
    bare_lf: bool,
    partial: Option<Partial>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    /// Skipping lines up to the final line of a reply after an error.
    discarding: bool,
    /// Whether the over-long line being skipped announced a continuation.
    skipped_continues: bool,
}

impl Default for ReplyParser {
    /// 512-octet lines (RFC 5321 4.5.3.1.5), [`DEFAULT_MAX_REPLY_LINES`] lines, bare LF
    /// accepted.
    fn default() -> Self {
        ReplyParser::new(MAX_LINE, DEFAULT_MAX_REPLY_LINES)
    }
}

impl ReplyParser {
    /// A parser with the given per-line limit (octets, CRLF included) and line-count limit.
    ///
    /// `max_line` is raised to at least 5 (`250\r\n`) and `max_lines` to at least 1. Use
    /// [`crate::limits::MAX_LINK2STATE_LINE`] for a session that speaks X-LINK2STATE.
    pub fn new(max_line: usize, max_lines: usize) -> Self {
        ReplyParser {
            max_line: max_line.max(5),
            max_lines: max_lines.max(1),
            bare_lf: true,
            partial: None,
            skipping: false,
            discarding: false,
            skipped_continues: false,
        }
    }

    /// Whether a bare LF ends a reply line (default `true`). With `false` only CRLF ends a
    /// line, and a CR or LF inside a line is a [`ReplyError::Syntax`].
    #[must_use]
    pub fn accept_bare_lf(mut self, accept: bool) -> Self {
        self.bare_lf = accept;
        self
    }

    /// Whether the parser holds part of a reply (lines of a multi-line reply, or it is
    /// skipping an over-long line). A client checks this, with its input buffer, after the
    /// `220` to STARTTLS: nothing may be pending (RFC 3207 section 6, CVE-2011-0411).
    pub fn in_progress(&self) -> bool {
        self.partial.is_some() || self.skipping || self.discarding
    }

    /// Forgets any partial reply (e.g. after the TLS handshake).
    pub fn reset(&mut self) {
        self.partial = None;
        self.skipping = false;
        self.discarding = false;
        self.skipped_continues = false;
    }

    /// Consumes complete lines from the front of `buf`; returns a reply once its last line
    /// has arrived, `Ok(None)` when more bytes are needed.
    ///
    /// On `Ok(None)` every complete line has been consumed and fewer than `max_line` octets
    /// remain in `buf`. Call again after `Ok(Some(_))`: more replies may be buffered
    /// (pipelining), and after `Err(_)` to go on (see the type's documentation).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, ReplyError> {
        loop {
            if self.skipping {
                let (n, found) = skip_line(buf, self.bare_lf);
                buf.advance(n);
                if !found {
                    return Ok(None);
                }
                self.skipping = false;
                self.discarding = self.skipped_continues;
            }
            match find_line(buf, self.max_line, self.bare_lf) {
                LineStatus::Incomplete => return Ok(None),
                LineStatus::TooLong => {
                    self.partial = None;
                    self.discarding = false;
                    self.skipped_continues = buf.get(3) == Some(&b'-');
                    self.skipping = true;
                    let (n, found) = skip_line(buf, self.bare_lf);
                    buf.advance(n);
                    if found {
                        self.skipping = false;
                        self.discarding = self.skipped_continues;
                    }
                    return Err(ReplyError::LineTooLong);
                }
                LineStatus::Complete { content, total } => {
                    let result = self.on_line(buf.get(..content).unwrap_or_default());
                    buf.advance(total);
                    match result {
                        Ok(None) => continue,
                        other => return other,
                    }
                }
            }
        }
    }

    /// Handles one complete line (without its terminator).
    fn on_line(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let continues = line.get(3) == Some(&b'-');
        if self.discarding {
            self.discarding = continues;
            return Ok(None);
        }
        let result = self.on_reply_line(line);
        if result.is_err() {
            self.partial = None;
            self.discarding = continues;
        }
        result
    }

    fn on_reply_line(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        if !self.bare_lf && memchr::memchr2(b'\r', b'\n', line).is_some() {
            return Err(ReplyError::Syntax);
        }
        let (code, last, text) = split_line(line)?;
        match self.partial.as_mut() {
            None => {
                let (enhanced, text) = match strip_enhanced(text, |e| e.matches(ReplyCode(code))) {
                    Some((e, rest)) => (Some(e), rest),
                    None => (None, text),
                };
                let text = lossy_utf8(text).into_owned();
                if last {
                    return Ok(Some(Reply {
                        code: ReplyCode(code),
                        enhanced,
                        text: Cow::Owned(text),
                    }));
                }
                if self.max_lines < 2 {
                    return Err(ReplyError::TooManyLines);
                }
                self.partial = Some(Partial {
                    code,
                    enhanced,
                    text,
                    lines: 1,
                });
                Ok(None)
            }
            Some(p) => {
                if code != p.code {
                    return Err(ReplyError::InconsistentCode);
                }
                if p.lines >= self.max_lines {
                    return Err(ReplyError::TooManyLines);
                }
                p.lines += 1;
                let text = match p.enhanced {
                    Some(pe) => strip_enhanced(text, |e| e == pe).map_or(text, |(_, rest)| rest),
                    None => text,
                };
                p.text.push('\n');
                p.text.push_str(&lossy_utf8(text));
                if !last {
                    return Ok(None);
                }
                let Some(p) = self.partial.take() else {
                    return Ok(None);
                };
                Ok(Some(Reply {
                    code: ReplyCode(p.code),
                    enhanced: p.enhanced,
                    text: Cow::Owned(p.text),
                }))
            }
        }
    }
}

/// Splits a reply line into code, whether it is the last line, and text.
fn split_line(line: &[u8]) -> Result<(u16, bool, &[u8]), ReplyError> {
    let (d0, d1, d2) = match line {
        [a @ b'2'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9', ..] => (*a, *b, *c),
        _ => return Err(ReplyError::Syntax),
    };
    let code = u16::from(d0 - b'0') * 100 + u16::from(d1 - b'0') * 10 + u16::from(d2 - b'0');
    match line.get(3) {
        None => Ok((code, true, &[])),
        Some(b' ') => Ok((code, true, line.get(4..).unwrap_or_default())),
        Some(b'-') => Ok((code, false, line.get(4..).unwrap_or_default())),
        Some(_) => Err(ReplyError::Syntax),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn display_keeps_hostile_text_on_its_lines() {
        let r = Reply::new(
            535,
            None,
            "bad\u{2028}2026-12-05 INFO auth ok\u{85}\u{9b}2J\u{202e}x\u{2066}\nsecond",
        );
        assert_eq!(
            r.to_string(),
            "535-bad 2026-12-05 INFO auth ok  2J x \n535 second"
        );
        // Ordinary UTF-8 text (SMTPUTF8 servers) is kept as it is.
        let r = Reply::new(250, None, "Grüße, 世界");
        assert_eq!(r.to_string(), "250 Grüße, 世界");
    }

    use super::*;

    fn decode_all(input: &[u8]) -> Vec<Result<Reply, ReplyError>> {
        let mut p = ReplyParser::default();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match p.decode(&mut buf) {
                Ok(Some(r)) => out.push(Ok(r)),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
        }
        out
    }

    fn one(input: &[u8]) -> Reply {
        let mut v = decode_all(input);
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0).unwrap()
    }

    #[test]
    fn one_line_replies_at_the_edges() {
        let enc = |r: &Reply, enhanced: bool| {
            let mut v = Vec::new();
            r.encode_with(&mut v, enhanced);
            String::from_utf8(v).unwrap()
        };
        let e = Some(EnhancedCode::new(2, 1, 0));
        assert_eq!(enc(&Reply::new(250, e, ""), true), "250 2.1.0\r\n");
        assert_eq!(enc(&Reply::new(250, e, ""), false), "250\r\n");
        assert_eq!(enc(&Reply::new(250, None, "Ok"), true), "250 Ok\r\n");
        assert_eq!(enc(&Reply::new(250, e, "Ok"), true), "250 2.1.0 Ok\r\n");
        // An enhanced code of another class is not written (RFC 3463: it must match).
        assert_eq!(enc(&Reply::new(550, e, "No"), true), "550 No\r\n");
        // Exactly as long as a line may be: one line of 512 octets; one more: two lines.
        for (enhanced, fixed) in [(false, 6), (true, 6 + 6)] {
            let fits = "x".repeat(MAX_LINE - fixed);
            let line = enc(&Reply::new(250, e, fits.clone()), enhanced);
            assert_eq!(line.len(), MAX_LINE, "{enhanced}");
            assert!(!line.contains('-'), "{enhanced}");
            let over = format!("{fits}x");
            let two = enc(&Reply::new(250, e, over), enhanced);
            assert_eq!(two.matches("\r\n").count(), 2, "{enhanced}");
            assert!(two.lines().all(|l| l.len() + 2 <= MAX_LINE), "{enhanced}");
        }
        // Control characters and line breaks take the general path, as before.
        assert_eq!(enc(&Reply::new(250, None, "a\tb"), false), "250 a\tb\r\n");
        assert_eq!(
            enc(&Reply::new(250, None, "a\nb"), false),
            "250-a\r\n250 b\r\n"
        );
        assert_eq!(enc(&Reply::new(250, None, "a\rb"), false), "250 a b\r\n");
    }

    #[test]
    fn display_is_the_wire_lines_without_crlf() {
        let e = Some(EnhancedCode::new(5, 1, 1));
        assert_eq!(
            Reply::new(550, e, "No such user").to_string(),
            "550 5.1.1 No such user"
        );
        assert_eq!(Reply::new(250, None, "").to_string(), "250");
        assert_eq!(Reply::new(334, None, "").to_string(), "334 ");
        assert_eq!(
            Reply::new(550, e, "No such\nuser here").to_string(),
            "550-5.1.1 No such\n550 5.1.1 user here"
        );
        // Sanitized as on the wire: no CR anywhere, injected line breaks are new lines.
        let r = Reply::new(550, None, "a\rb\r\n250 OK");
        assert_eq!(r.to_string(), "550-a b\n550 250 OK");
        assert!(!r.to_string().contains('\r'));
        // Wrapped as on the wire.
        let long = Reply::new(250, None, "x".repeat(600));
        assert_eq!(long.to_string().lines().count(), 2);
        // Two CRLFs on the wire, one LF shown.
        assert_eq!(long.to_string().len() + 3, long.to_bytes().len());
    }

    #[test]
    fn summary_is_the_first_line() {
        let e = Some(EnhancedCode::new(5, 1, 0));
        let r = Reply::new(550, e, "No such sender\nsee the manual");
        assert_eq!(r.summary().to_string(), "550 5.1.0 No such sender");
        assert_eq!(Reply::new(421, None, "").summary().to_string(), "421");
        // An enhanced code of another class is not shown, as it is not written.
        assert_eq!(Reply::new(250, e, "OK").summary().to_string(), "250 OK");
        assert_eq!(
            Reply::new(550, None, "a\rb").summary().to_string(),
            "550 a b"
        );
        let long = Reply::new(550, None, format!("{} tail", "x".repeat(600)));
        assert!(long.summary().to_string().len() <= 510);
    }

    #[test]
    fn classes() {
        assert_eq!(ReplyCode(250).class(), ReplyClass::PositiveCompletion);
        assert_eq!(ReplyCode(354).class(), ReplyClass::PositiveIntermediate);
        assert_eq!(ReplyCode(421).class(), ReplyClass::TransientNegative);
        assert_eq!(ReplyCode(554).class(), ReplyClass::PermanentNegative);
        assert_eq!(ReplyCode(199).class(), ReplyClass::PermanentNegative);
        assert_eq!(ReplyCode(600).class(), ReplyClass::PermanentNegative);
        assert!(ReplyCode(451).is_transient() && ReplyCode(451).is_negative());
        assert!(ReplyCode(334).is_intermediate() && !ReplyCode(334).is_negative());
        assert_eq!(ReplyCode(42).to_string(), "042");
    }

    #[test]
    fn enhanced_parse() {
        assert_eq!(
            EnhancedCode::parse("2.0.0"),
            Some(EnhancedCode::new(2, 0, 0))
        );
        assert_eq!(
            EnhancedCode::parse("5.999.999"),
            Some(EnhancedCode::new(5, 999, 999))
        );
        assert_eq!(
            EnhancedCode::parse("4.07.1"),
            Some(EnhancedCode::new(4, 7, 1))
        );
        for bad in [
            "3.0.0", "2.0", "2.0.", "2..0", "2.1000.0", "2.0.0 ", "22.0.0", "", "2.0.0.0",
        ] {
            assert_eq!(EnhancedCode::parse(bad), None, "{bad}");
        }
        assert!(EnhancedCode::new(2, 1, 0).matches(ReplyCode(250)));
        assert!(!EnhancedCode::new(2, 1, 0).matches(ReplyCode(550)));
        assert!(!EnhancedCode::new(3, 0, 0).matches(ReplyCode(354)));
        assert!(!EnhancedCode::new(2, 1000, 0).matches(ReplyCode(250)));
    }

    #[test]
    fn encode_single_and_multi() {
        assert_eq!(Reply::new(250, None, "OK").to_bytes(), b"250 OK\r\n");
        assert_eq!(Reply::new(250, None, "").to_bytes(), b"250\r\n");
        assert_eq!(Reply::new(250, None, "\n").to_bytes(), b"250-\r\n250\r\n");
        // RFC 4954 section 4: continue-req = "334" SP [base64] CRLF, on both paths.
        assert_eq!(Reply::new(334, None, "").to_bytes(), b"334 \r\n");
        assert_eq!(Reply::new(334, None, "\n").to_bytes(), b"334-\r\n334 \r\n");
        assert_eq!(Reply::new(334, None, "\x01").to_bytes(), b"334  \r\n");
        assert_eq!(
            Reply::new(334, None, "VXNlcm5hbWU6").to_bytes(),
            b"334 VXNlcm5hbWU6\r\n"
        );
        let mut v = Vec::new();
        Reply::new(334, Some(EnhancedCode::new(2, 0, 0)), "").encode_with(&mut v, true);
        assert_eq!(v, b"334 \r\n");
        for r in [Reply::new(334, None, ""), Reply::new(334, None, "\n")] {
            assert_eq!(one(&r.to_bytes()), r);
        }
        let e = Some(EnhancedCode::new(2, 0, 0));
        assert_eq!(Reply::new(250, e, "").to_bytes(), b"250 2.0.0\r\n");
        assert_eq!(
            Reply::new(250, e, "a\n\nb").to_bytes(),
            b"250-2.0.0 a\r\n250-2.0.0\r\n250 2.0.0 b\r\n"
        );
        let mut v = Vec::new();
        Reply::new(250, e, "a\nb").encode_with(&mut v, false);
        assert_eq!(v, b"250-a\r\n250 b\r\n");
        // A mismatched enhanced code is not written; out-of-range codes become 554.
        assert_eq!(
            Reply::new(354, Some(EnhancedCode::new(2, 0, 0)), "go").to_bytes(),
            b"354 go\r\n"
        );
        assert_eq!(Reply::new(999, None, "x").to_bytes(), b"554 x\r\n");
        assert_eq!(
            Reply::new(550, Some(EnhancedCode::new(5, 123, 45)), "x").to_bytes(),
            b"550 5.123.45 x\r\n"
        );
    }

    #[test]
    fn encode_sanitizes() {
        let r = Reply::new(250, None, "a\r\nb\rc\0d\x7fe\tf\n");
        assert_eq!(r.to_bytes(), b"250-a\r\n250-b c d e\tf\r\n250\r\n");
        let r = Reply::new(
            501,
            Some(EnhancedCode::new(5, 5, 4)),
            "bad <x\r\n250 2.0.0 OK>",
        );
        assert_eq!(
            r.to_bytes(),
            b"501-5.5.4 bad <x\r\n501 5.5.4 250 2.0.0 OK>\r\n"
        );
    }

    #[test]
    fn encode_wraps_at_spaces() {
        let text = format!("{} {}", "a".repeat(400), "b".repeat(300));
        let bytes = Reply::new(250, Some(EnhancedCode::new(2, 0, 0)), text.clone()).to_bytes();
        let expected = format!(
            "250-2.0.0 {} \r\n250 2.0.0 {}\r\n",
            "a".repeat(400),
            "b".repeat(300)
        );
        assert_eq!(bytes, expected.as_bytes());
        // Hard split without spaces: exactly 512 octets per full line.
        let bytes = Reply::new(250, None, "x".repeat(1200)).to_bytes();
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), 512);
        assert_eq!(lines[1].len(), 512);
        assert_eq!(
            lines[2],
            format!("250 {}\r\n", "x".repeat(1200 - 2 * 506)).as_bytes()
        );
        // UTF-8 is split at character boundaries only.
        let bytes = Reply::new(250, None, "é".repeat(600)).to_bytes();
        for l in bytes.split_inclusive(|&b| b == b'\n') {
            assert!(l.len() <= 512);
            assert!(std::str::from_utf8(l).is_ok());
        }
    }

    #[test]
    fn normalized_matches_parse() {
        let long = format!(
            "{} {}\nshort\n{}",
            "a".repeat(500),
            "b".repeat(30),
            "c".repeat(1100)
        );
        for enh in [None, Some(EnhancedCode::new(4, 7, 0))] {
            let r = Reply::new(451, enh, long.clone());
            let n = r.normalized();
            assert_eq!(one(&r.to_bytes()), n);
            assert_eq!(n.normalized(), n);
            assert_eq!(n.to_bytes(), r.to_bytes());
            assert_eq!(n.text.replace('\n', ""), long.replace('\n', ""));
        }
        let r = Reply::new(250, None, "fits");
        assert_eq!(r.normalized(), r);
    }

    #[test]
    fn parse_single_and_multi() {
        assert_eq!(
            one(b"220 mail.example.test ESMTP\r\n"),
            Reply::new(220, None, "mail.example.test ESMTP")
        );
        assert_eq!(one(b"250\r\n"), Reply::new(250, None, ""));
        assert_eq!(one(b"250 \r\n"), Reply::new(250, None, ""));
        assert_eq!(
            one(b"250-a\r\n250-\r\n250 b\r\n"),
            Reply::new(250, None, "a\n\nb")
        );
        assert_eq!(one(b"250-a\n250 b\n"), Reply::new(250, None, "a\nb"));
    }

    #[test]
    fn parse_enhanced() {
        let e = Some(EnhancedCode::new(5, 7, 1));
        assert_eq!(
            one(b"550 5.7.1 Relaying denied\r\n"),
            Reply::new(550, e, "Relaying denied")
        );
        assert_eq!(one(b"550 5.7.1\r\n"), Reply::new(550, e, ""));
        assert_eq!(
            one(b"550-5.7.1 first\r\n550-second\r\n550-5.7.1\r\n550 5.7.1  third\r\n"),
            Reply::new(550, e, "first\nsecond\n\n third")
        );
        // A different code on a later line stays in the text.
        assert_eq!(
            one(b"550-5.7.1 a\r\n550 5.1.1 b\r\n"),
            Reply::new(550, e, "a\n5.1.1 b")
        );
        // Class mismatch, no space, leading zeros.
        assert_eq!(one(b"250 5.7.1 x\r\n"), Reply::new(250, None, "5.7.1 x"));
        assert_eq!(one(b"250 2.0.0:x\r\n"), Reply::new(250, None, "2.0.0:x"));
        assert_eq!(
            one(b"250 2.0.0000 x\r\n"),
            Reply::new(250, None, "2.0.0000 x")
        );
        assert_eq!(
            one(b"250 2.01.0 x\r\n"),
            Reply::new(250, Some(EnhancedCode::new(2, 1, 0)), "x")
        );
        assert_eq!(one(b"354 2.0.0 go\r\n"), Reply::new(354, None, "2.0.0 go"));
    }

    #[test]
    fn reply_grammar_edges() {
        // Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 4.2); the parser takes any second
        // and third digit (module documentation), nothing outside 2yz..5yz.
        for bad in [
            &b"099 x\r\n"[..],
            b"199 x\r\n",
            b"600 x\r\n",
            b"2500 x\r\n",
            b"250\tx\r\n",
        ] {
            assert_eq!(decode_all(bad), vec![Err(ReplyError::Syntax)], "{bad:?}");
        }
        assert_eq!(one(b"260 x\r\n"), Reply::new(260, None, "x"));
        // Text after the one separating SP is kept as sent, trailing SP and HT included.
        assert_eq!(one(b"250   \r\n"), Reply::new(250, None, "  "));
        assert_eq!(one(b"250 a\tb\r\n"), Reply::new(250, None, "a\tb"));
        // `250-` then the end of input: the reply is still in progress.
        let mut p = ReplyParser::default();
        let mut buf = BytesMut::from(&b"250-\r\n"[..]);
        assert_eq!(p.decode(&mut buf), Ok(None));
        assert!(p.in_progress() && buf.is_empty());
        // A line of exactly 512 octets, CRLF included, is read; one more is too long.
        let line = |n: usize| [&b"250 "[..], &vec![b'x'; n], b"\r\n"].concat();
        assert_eq!(one(&line(506)).text.len(), 506);
        assert_eq!(decode_all(&line(507)), vec![Err(ReplyError::LineTooLong)]);
    }

    #[test]
    fn parse_errors_and_resync() {
        let v = decode_all(b"25 x\r\n250 ok\r\n");
        assert_eq!(
            v,
            vec![Err(ReplyError::Syntax), Ok(Reply::new(250, None, "ok"))]
        );
        let v = decode_all(b"650 x\r\n250x\r\n\r\n250 ok\r\n");
        assert_eq!(
            v[..3],
            [
                Err(ReplyError::Syntax),
                Err(ReplyError::Syntax),
                Err(ReplyError::Syntax)
            ]
        );
        let v = decode_all(b"250-a\r\n251-b\r\n250 c\r\n220 d\r\n");
        assert_eq!(
            v,
            vec![
                Err(ReplyError::InconsistentCode),
                Ok(Reply::new(220, None, "d"))
            ]
        );
        let v = decode_all(b"250-a\r\n251 b\r\n220 d\r\n");
        assert_eq!(
            v,
            vec![
                Err(ReplyError::InconsistentCode),
                Ok(Reply::new(220, None, "d"))
            ]
        );
    }

    #[test]
    fn line_too_long_is_skipped_without_buffering() {
        let mut p = ReplyParser::default();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"250-");
        buf.extend_from_slice(&[b'x'; 600]);
        assert_eq!(p.decode(&mut buf), Err(ReplyError::LineTooLong));
        assert!(buf.is_empty());
        assert!(p.in_progress());
        buf.extend_from_slice(&[b'x'; 5000]);
        assert_eq!(p.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
        buf.extend_from_slice(b"x\r\n250-more\r\n250 end\r\n221 bye\r\n");
        assert_eq!(p.decode(&mut buf), Ok(Some(Reply::new(221, None, "bye"))));
        assert!(!p.in_progress());
        // A line of exactly the limit is fine.
        let mut line = b"250 ".to_vec();
        line.extend_from_slice(&[b'y'; 506]);
        line.extend_from_slice(b"\r\n");
        assert_eq!(line.len(), 512);
        assert_eq!(decode_all(&line).len(), 1);
        assert!(decode_all(&line)[0].is_ok());
    }

    #[test]
    fn too_many_lines_bounded() {
        let mut p = ReplyParser::new(512, 3);
        let mut buf = BytesMut::from(&b"250-a\r\n250-b\r\n250 c\r\n"[..]);
        assert_eq!(
            p.decode(&mut buf).unwrap(),
            Some(Reply::new(250, None, "a\nb\nc"))
        );
        let mut errors = 0;
        for _ in 0..10_000 {
            buf.extend_from_slice(b"250-endless\r\n");
            match p.decode(&mut buf) {
                Ok(None) => {}
                Err(ReplyError::TooManyLines) => errors += 1,
                other => panic!("{other:?}"),
            }
            assert!(buf.is_empty());
        }
        assert_eq!(errors, 1);
        buf.extend_from_slice(b"250 end\r\n250 next\r\n");
        assert_eq!(
            p.decode(&mut buf).unwrap(),
            Some(Reply::new(250, None, "next"))
        );
        // max_lines 1 rejects any multi-line reply.
        let mut p = ReplyParser::new(512, 1);
        let mut buf = BytesMut::from(&b"250-a\r\n250 b\r\n250 c\r\n"[..]);
        assert_eq!(p.decode(&mut buf), Err(ReplyError::TooManyLines));
        assert_eq!(
            p.decode(&mut buf).unwrap(),
            Some(Reply::new(250, None, "c"))
        );
    }

    #[test]
    fn strict_line_ends() {
        let mut p = ReplyParser::default().accept_bare_lf(false);
        let mut buf = BytesMut::from(&b"250 a\nb\r\n250 ok\r\n"[..]);
        assert_eq!(p.decode(&mut buf), Err(ReplyError::Syntax));
        assert_eq!(
            p.decode(&mut buf).unwrap(),
            Some(Reply::new(250, None, "ok"))
        );
        let mut buf = BytesMut::from(&b"250 a\rb\r\n"[..]);
        assert_eq!(p.decode(&mut buf), Err(ReplyError::Syntax));
    }

    #[test]
    fn non_utf8_is_replaced() {
        assert_eq!(one(b"220 caf\xe9\r\n").text, "caf\u{fffd}");
    }

    #[test]
    fn tiny_limits_do_not_misbehave() {
        let mut p = ReplyParser::new(0, 0);
        let mut buf = BytesMut::new();
        assert_eq!(p.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"250\r\n");
        assert_eq!(p.decode(&mut buf).unwrap(), Some(Reply::new(250, None, "")));
    }
}
