//! Replies (RFC 5321 4.2), enhanced status codes (RFC 2034, RFC 3463), and the
//! incremental reply parser a client uses.
//!
//! A [`Reply`] holds its text as one `Cow<'static, str>` whose lines are separated by `\n`,
//! so the replies a server sends most often are built without allocating. The serializer
//! writes `code-text` continuation lines and a final `code text` line, puts the enhanced
//! code on every line (RFC 2034 section 4), and never emits a line longer than 512 octets
//! (RFC 5321 4.5.3.1.5): longer text is wrapped into more lines.

use std::borrow::Cow;

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
}

impl ReplyCode {
    /// The class of the code (first digit).
    pub fn class(self) -> ReplyClass {
        todo!("syntax helper")
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

    /// Writes the reply (with its enhanced code on every line), wrapping lines over 512 octets.
    pub fn encode(&self, out: &mut impl bytes::BufMut) {
        self.encode_with(out, true)
    }

    /// Writes the reply; `enhanced` false omits the enhanced code (when the session did not
    /// advertise ENHANCEDSTATUSCODES).
    pub fn encode_with(&self, out: &mut impl bytes::BufMut, enhanced: bool) {
        let _ = (out, enhanced);
        todo!("syntax helper")
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
}

/// Incremental reply parser: reassembles (multi-line) replies from arbitrary input splits.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    _private: (),
}

impl ReplyParser {
    /// A parser with the given per-line limit (octets, CRLF included) and line-count limit.
    pub fn new(max_line: usize, max_lines: usize) -> Self {
        let _ = (max_line, max_lines);
        todo!("syntax helper")
    }

    /// Consumes complete lines from the front of `buf`; returns a reply once its last line
    /// has arrived, `Ok(None)` when more bytes are needed.
    pub fn decode(
        &mut self,
        buf: &mut bytes::BytesMut,
    ) -> Result<Option<Reply>, super::ReplyError> {
        let _ = buf;
        todo!("syntax helper")
    }
}
