//! The streaming DATA decoder (server side): end-of-data recognition, dot-unstuffing,
//! bare CR / bare LF policy, size cap and line-length policy.

use bytes::{Buf, Bytes};
use memchr::memchr2;

use super::scan::skip_plain;

use crate::limits::MAX_TEXT_LINE;

/// What the decoder does with a bare CR (a CR not followed by LF) or a bare LF (an LF not
/// preceded by CR) inside message content.
///
/// Whatever the policy, a bare CR or bare LF never forms or completes the end of data: only
/// `CRLF . CRLF` ends DATA (RFC 5321 4.1.1.4 and 4.5.2; see the SMTP smuggling record,
/// CVE-2023-51764/51765/51766). The policy only decides what happens to the content.
///
/// Only a real CRLF starts a new line for dot-unstuffing, under every policy: a `.` that
/// follows a bare LF or bare CR is content and is kept.
///
/// The default is [`BareLineEnding::Normalize`], modelled on Postfix 3.9's
/// `smtpd_forbid_bare_newline = normalize`: it keeps mail from old or sloppy senders flowing
/// (they mostly send bare LF line endings) while storing only well-formed CRLF content, so
/// nothing downstream can be confused by a bare line ending, and the end-of-data rule stays
/// strict. It differs from Postfix in two ways: a bare CR is rewritten too (Postfix keeps
/// it), and a bare line ending does not start a line for dot-unstuffing (Postfix takes a
/// bare LF as a line end, so it removes a dot that follows one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BareLineEnding {
    /// Refuse the whole message after the real end of data with
    /// [`DataError::BareLineEnding`] (`550 5.5.2`, as Postfix's reject mode answers).
    /// Content is still emitted unchanged until the end so that the caller can read on; the
    /// caller must discard it.
    Reject,
    /// Rewrite every bare CR and every bare LF to CRLF in the decoded content.
    #[default]
    Normalize,
    /// Keep the bytes as they came.
    PassThrough,
}

/// What the decoder does with a text line longer than
/// [`DecoderConfig::max_line_length`].
///
/// The decoder never buffers a line, so a long line costs no memory under either policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LongLines {
    /// Accept long lines. This is the default: real-world mail (HTML newsletters, machine
    /// generated reports) regularly breaks the 1000-octet rule of RFC 5321 4.5.3.1.6, and
    /// Postfix, Exchange and Exim accept it; since the decoder keeps no line in memory,
    /// accepting costs nothing.
    #[default]
    Accept,
    /// Refuse the message after the real end of data with [`DataError::LineTooLong`].
    Reject,
}

/// Decoder limits and policies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecoderConfig {
    /// Maximum size of the decoded content, in octets: CRLFs count, stuffing dots and the
    /// terminator do not, as in the message size of RFC 1870 section 5 that `SIZE`
    /// advertises; a bare CR or LF rewritten by [`BareLineEnding::Normalize`] counts as the
    /// two octets of its CRLF. `size == max_size` passes. Once exceeded, the decoder stops
    /// emitting content (exactly `max_size` octets are emitted in total), reads on to the end
    /// of data and reports [`DataError::TooLarge`]. Default: 36 MiB, the receive-connector
    /// default `MaxMessageSize` of current Exchange Server releases.
    pub max_size: u64,
    /// Maximum length of a decoded text line, in octets including the CRLF (RFC 5321
    /// 4.5.3.1.6). The stuffing dot is not counted. Default:
    /// [`MAX_TEXT_LINE`] (1000).
    pub max_line_length: usize,
    /// What to do with lines longer than `max_line_length`. Default: [`LongLines::Accept`].
    pub long_lines: LongLines,
    /// What to do with bare CR and bare LF. Default: [`BareLineEnding::Normalize`].
    pub bare_line_endings: BareLineEnding,
}

/// Default for [`DecoderConfig::max_size`]: 36 MiB.
pub const DEFAULT_MAX_SIZE: u64 = 36 * 1024 * 1024;

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_size: DEFAULT_MAX_SIZE,
            max_line_length: MAX_TEXT_LINE,
            long_lines: LongLines::Accept,
            bare_line_endings: BareLineEnding::Normalize,
        }
    }
}

/// Why a message must be refused after its end of data. Each variant documents the reply the
/// server sends (see also [`DataError::code`] and [`DataError::enhanced_code`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The decoded content exceeded the configured maximum size.
    /// Reply: `552 5.3.4` (RFC 5321 4.5.3.1.9 "552 Too much mail data", RFC 1870 section 6,
    /// RFC 3463 X.3.4 "message too big for system").
    #[error("message too large: {size} octets, limit {limit}")]
    TooLarge {
        /// Decoded size of the whole message, counted to the end even past the limit.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A text line was longer than the configured limit and the policy is
    /// [`LongLines::Reject`].
    /// Reply: `500 5.5.2` (RFC 5321 4.5.3.1.9 "500 Line too long", RFC 3463 X.5.2).
    #[error("text line too long: limit {limit} octets")]
    LineTooLong {
        /// The configured limit, in octets including the CRLF.
        limit: usize,
        /// Offset of the first long line in the decoded content.
        offset: u64,
    },
    /// The content held a bare CR or bare LF and the policy is [`BareLineEnding::Reject`].
    /// Reply: `550 5.5.2` (Postfix's `smtpd_forbid_bare_newline = reject`; see
    /// `SECURITY.md`).
    #[error("bare CR or LF in message content at offset {offset}")]
    BareLineEnding {
        /// Offset of the first bare CR or bare LF in the decoded content.
        offset: u64,
    },
}

impl DataError {
    /// The SMTP reply code the server answers the end of data with.
    pub fn code(&self) -> u16 {
        match self {
            DataError::TooLarge { .. } => 552,
            DataError::LineTooLong { .. } => 500,
            DataError::BareLineEnding { .. } => 550,
        }
    }

    /// The enhanced status code (RFC 3463) of the reply.
    pub fn enhanced_code(&self) -> &'static str {
        match self {
            DataError::TooLarge { .. } => "5.3.4",
            DataError::LineTooLong { .. } | DataError::BareLineEnding { .. } => "5.5.2",
        }
    }

    /// A short reply text to go with [`DataError::code`].
    pub fn reply_text(&self) -> &'static str {
        match self {
            DataError::TooLarge { .. } => "Message size exceeds fixed maximum message size",
            DataError::LineTooLong { .. } => "Line too long",
            DataError::BareLineEnding { .. } => "Bare CR or LF in message content not allowed",
        }
    }
}

/// What the decoder reports at the end of data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataSummary {
    /// Octets of decoded content seen, counted even past the size cap.
    pub size: u64,
    /// `Ok` when the message may be accepted; otherwise the reason to refuse it. When several
    /// apply, [`DataError::TooLarge`] wins over [`DataError::BareLineEnding`], which wins over
    /// [`DataError::LineTooLong`].
    pub outcome: Result<(), DataError>,
}

/// An event of the [`DataDecoder`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataEvent {
    /// The next piece of decoded content; never empty. Wherever no unstuffing or rewriting
    /// is needed, this is a slice of the input (no copy).
    Content(Bytes),
    /// The end of data (`CRLF . CRLF`) was reached.
    End(DataSummary),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line (after a CRLF, or at the start of the data, whose preceding
    /// CRLF ended the DATA command).
    LineStart,
    /// Saw `.` at the start of a line (held, not emitted).
    Dot,
    /// Saw `.` CR at the start of a line (held).
    DotCr,
    /// Inside a line.
    Text,
    /// Inside a line, a CR was consumed from an earlier input and is held.
    HeldCr,
    /// The end of data was reached.
    Done,
}

static CRLF: Bytes = Bytes::from_static(b"\r\n");
static CR: Bytes = Bytes::from_static(b"\r");

/// Streaming DATA decoder (RFC 5321 4.5.2), fed arbitrary splits of the bytes that follow the
/// `354` reply.
///
/// * Only `CRLF . CRLF` ends the data; the CRLF that ended the `DATA` command counts as the
///   first CRLF, so `.` CRLF right away is an empty message. Bare CR and bare LF never form
///   or complete an end-of-data sequence (SMTP smuggling, see `SECURITY.md`;
///   the look-alikes are in `tests/fixtures/smuggling.rs`).
/// * A line that starts with `.` loses that `.` (dot-unstuffing).
/// * Bare CR / bare LF follow [`DecoderConfig::bare_line_endings`]; long lines follow
///   [`DecoderConfig::long_lines`]; the size cap [`DecoderConfig::max_size`] bounds what is
///   emitted. Nothing is ever buffered beyond two held bytes, so memory is bounded.
///
/// # Example
/// ```
/// use ehlo::bytes::Bytes;
/// use ehlo::data::{DataDecoder, DataEvent, DecoderConfig};
///
/// let mut dec = DataDecoder::new(DecoderConfig::default());
/// let mut input = Bytes::from_static(b"Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n");
/// let mut content = Vec::new();
/// let summary = loop {
///     match dec.decode(&mut input) {
///         Some(DataEvent::Content(c)) => content.extend_from_slice(&c),
///         Some(DataEvent::End(s)) => break s,
///         None => panic!("need more input"),
///     }
/// };
/// assert_eq!(content, b"Subject: hi\r\n\r\n.dot\r\n");
/// assert_eq!(summary.outcome, Ok(()));
/// assert_eq!(&input[..], b"QUIT\r\n"); // pipelined command, untouched
/// ```
#[derive(Debug, Clone)]
pub struct DataDecoder {
    config: DecoderConfig,
    state: State,
    /// Decoded octets seen so far (also past the cap).
    size: u64,
    /// Decoded octets of the current line so far, excluding its line ending.
    line_len: u64,
    bare_offset: Option<u64>,
    long_line_offset: Option<u64>,
}

impl DataDecoder {
    /// A decoder at the start of the data (right after the `354` reply).
    pub fn new(config: DecoderConfig) -> Self {
        DataDecoder {
            config,
            state: State::LineStart,
            size: 0,
            line_len: 0,
            bare_offset: None,
            long_line_offset: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// `true` once the end of data was reported.
    pub fn is_finished(&self) -> bool {
        self.state == State::Done
    }

    /// Decoded octets seen so far, counted even past the size cap.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Consumes from the front of `input` (advancing it). Returns `None` when all of `input`
    /// was consumed without reaching the end of data (partial terminator bytes are held
    /// internally, so the caller never re-feeds anything). After [`DataEvent::End`], `input`
    /// holds exactly the bytes after the terminator, untouched, and later calls return `None`
    /// without touching `input`. Content is emitted only while under
    /// [`DecoderConfig::max_size`]; emitted content is never empty.
    pub fn decode(&mut self, input: &mut Bytes) -> Option<DataEvent> {
        loop {
            if self.state == State::Done {
                return None;
            }
            let first = *input.first()?;
            match self.state {
                State::Done => return None,
                State::LineStart => {
                    if first == b'.' {
                        input.advance(1);
                        self.state = State::Dot;
                    } else {
                        self.state = State::Text;
                    }
                }
                State::Dot => {
                    if first == b'\r' {
                        input.advance(1);
                        self.state = State::DotCr;
                    } else {
                        // A stuffed line: the dot is dropped, the rest is text.
                        self.state = State::Text;
                    }
                }
                State::DotCr => {
                    if first == b'\n' {
                        input.advance(1);
                        self.state = State::Done;
                        return Some(DataEvent::End(self.summary()));
                    }
                    // A stuffed line starting with a CR that is not part of a CRLF: drop
                    // the dot, keep the CR.
                    self.state = State::HeldCr;
                }
                State::HeldCr => {
                    if first == b'\n' {
                        input.advance(1);
                        self.end_line();
                        self.state = State::LineStart;
                        if let Some(ev) = self.emit(CRLF.clone()) {
                            return Some(ev);
                        }
                    } else {
                        self.state = State::Text;
                        if let Some(ev) = self.bare(CR.clone()) {
                            return Some(ev);
                        }
                    }
                }
                State::Text => {
                    if let Some(ev) = self.scan_text(input) {
                        return Some(ev);
                    }
                }
            }
        }
    }

    fn summary(&self) -> DataSummary {
        let outcome = if self.size > self.config.max_size {
            Err(DataError::TooLarge {
                size: self.size,
                limit: self.config.max_size,
            })
        } else if let Some(offset) = self.bare_offset {
            Err(DataError::BareLineEnding { offset })
        } else if let Some(offset) = self.long_line_offset {
            Err(DataError::LineTooLong {
                limit: self.config.max_line_length,
                offset,
            })
        } else {
            Ok(())
        };
        DataSummary {
            size: self.size,
            outcome,
        }
    }

    /// Counts `piece` and returns it as an event if any of it is under the cap.
    fn emit(&mut self, piece: Bytes) -> Option<DataEvent> {
        let before = self.size;
        let len = piece.len() as u64;
        self.size = self.size.saturating_add(len);
        let max = self.config.max_size;
        if before >= max || piece.is_empty() {
            return None;
        }
        let room = max - before;
        if len <= room {
            Some(DataEvent::Content(piece))
        } else {
            // room < len <= usize::MAX, so the cast is lossless.
            Some(DataEvent::Content(piece.slice(..room as usize)))
        }
    }

    /// A line ending (CRLF, or a normalized bare CR/LF) ends the current line: check its
    /// length. `self.size` must not yet include the line ending.
    fn end_line(&mut self) {
        let total = self.line_len.saturating_add(2);
        if self.config.long_lines == LongLines::Reject
            && total > self.config.max_line_length as u64
            && self.long_line_offset.is_none()
        {
            self.long_line_offset = Some(self.size.saturating_sub(self.line_len));
        }
        self.line_len = 0;
    }

    /// Handles one bare CR or bare LF (`orig`) at decoded offset `self.size`, which has been
    /// consumed from the input already.
    fn bare(&mut self, orig: Bytes) -> Option<DataEvent> {
        match self.config.bare_line_endings {
            BareLineEnding::Normalize => {
                self.end_line();
                self.emit(CRLF.clone())
            }
            BareLineEnding::Reject | BareLineEnding::PassThrough => {
                if self.config.bare_line_endings == BareLineEnding::Reject
                    && self.bare_offset.is_none()
                {
                    self.bare_offset = Some(self.size);
                }
                self.line_len = self.line_len.saturating_add(1);
                self.emit(orig)
            }
        }
    }

    /// Scans text inside a line. Emits the longest run of unchanged input as one slice;
    /// returns `None` when nothing was emitted (input exhausted, or only state changed).
    fn scan_text(&mut self, input: &mut Bytes) -> Option<DataEvent> {
        let normalize = self.config.bare_line_endings == BareLineEnding::Normalize;
        let len = input.len();
        let mut pos = 0usize;
        // Decoded offset of input[0] is self.size (everything before `pos` is emitted as-is).
        let base = self.size;
        // Line lengths are only tracked when long lines are rejected; otherwise whole blocks
        // of plain text are skipped at once.
        let fast = self.config.long_lines == LongLines::Accept;
        let check_bare = self.config.bare_line_endings != BareLineEnding::PassThrough;
        loop {
            if fast {
                pos = skip_plain(input, pos, check_bare);
            }
            let Some(off) = memchr2(b'\r', b'\n', &input[pos..]) else {
                self.line_len = self.line_len.saturating_add((len - pos) as u64);
                let piece = input.split_to(len);
                return self.emit(piece);
            };
            let j = pos + off;
            self.line_len = self.line_len.saturating_add(off as u64);
            let is_cr = input[j] == b'\r';
            if is_cr {
                match input.get(j + 1) {
                    None => {
                        // A CR at the end of the input: hold it.
                        let piece = input.split_to(j);
                        input.advance(1);
                        self.state = State::HeldCr;
                        return self.emit(piece);
                    }
                    Some(b'\n') => {
                        // CRLF: the line ends.
                        let line_start =
                            base.saturating_add(j as u64).saturating_sub(self.line_len);
                        let total = self.line_len.saturating_add(2);
                        if self.config.long_lines == LongLines::Reject
                            && total > self.config.max_line_length as u64
                            && self.long_line_offset.is_none()
                        {
                            self.long_line_offset = Some(line_start);
                        }
                        self.line_len = 0;
                        pos = j + 2;
                        if pos == len || input[pos] == b'.' {
                            self.state = State::LineStart;
                            let piece = input.split_to(pos);
                            return self.emit(piece);
                        }
                        continue;
                    }
                    Some(_) => {}
                }
            }
            // A bare CR (not followed by LF) or a bare LF (never preceded by a CR here,
            // since every CR stops the scan).
            if normalize {
                if j > 0 {
                    let piece = input.split_to(j);
                    return self.emit(piece);
                }
                input.advance(1);
                return self.bare(CRLF.clone());
            }
            if self.config.bare_line_endings == BareLineEnding::Reject && self.bare_offset.is_none()
            {
                self.bare_offset = Some(base.saturating_add(j as u64));
            }
            self.line_len = self.line_len.saturating_add(1);
            pos = j + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cfg: DecoderConfig, input: &[u8]) -> (Vec<u8>, Option<DataSummary>, Vec<u8>) {
        let mut dec = DataDecoder::new(cfg);
        let mut b = Bytes::copy_from_slice(input);
        let mut out = Vec::new();
        while let Some(ev) = dec.decode(&mut b) {
            match ev {
                DataEvent::Content(c) => {
                    assert!(!c.is_empty());
                    out.extend_from_slice(&c)
                }
                DataEvent::End(s) => return (out, Some(s), b.to_vec()),
            }
        }
        (out, None, b.to_vec())
    }

    #[test]
    fn empty_message() {
        let (c, s, rest) = run(DecoderConfig::default(), b".\r\nQUIT\r\n");
        assert_eq!(c, b"");
        assert_eq!(s.unwrap().size, 0);
        assert_eq!(rest, b"QUIT\r\n");
    }

    #[test]
    fn simple_and_stuffed() {
        let (c, s, rest) = run(DecoderConfig::default(), b"a\r\n..b\r\n.\r\n");
        assert_eq!(c, b"a\r\n.b\r\n");
        assert_eq!(
            s.unwrap(),
            DataSummary {
                size: 7,
                outcome: Ok(())
            }
        );
        assert_eq!(rest, b"");
    }

    #[test]
    fn zero_copy_slice() {
        let mut dec = DataDecoder::new(DecoderConfig::default());
        let mut b = Bytes::from_static(b"hello world\r\nline two\r\n.\r\n");
        let ptr = b.as_ptr();
        match dec.decode(&mut b) {
            Some(DataEvent::Content(c)) => {
                assert_eq!(c.as_ptr(), ptr);
                assert_eq!(&c[..], b"hello world\r\nline two\r\n");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(dec.decode(&mut b), Some(DataEvent::End(_))));
        assert!(dec.is_finished());
        assert_eq!(dec.decode(&mut b), None);
    }

    #[test]
    fn bare_lf_policies() {
        let input = b"a\nb\r\n.\r\n";
        let (c, s, _) = run(DecoderConfig::default(), input);
        assert_eq!(c, b"a\r\nb\r\n");
        assert_eq!(s.unwrap().outcome, Ok(()));
        let cfg = DecoderConfig {
            bare_line_endings: BareLineEnding::PassThrough,
            ..Default::default()
        };
        let (c, s, _) = run(cfg, input);
        assert_eq!(c, b"a\nb\r\n");
        assert_eq!(s.unwrap().outcome, Ok(()));
        let cfg = DecoderConfig {
            bare_line_endings: BareLineEnding::Reject,
            ..Default::default()
        };
        let (c, s, _) = run(cfg, input);
        assert_eq!(c, b"a\nb\r\n");
        let e = s.unwrap().outcome.unwrap_err();
        assert_eq!(e, DataError::BareLineEnding { offset: 1 });
        assert_eq!((e.code(), e.enhanced_code()), (550, "5.5.2"));
    }

    #[test]
    fn too_large() {
        let cfg = DecoderConfig {
            max_size: 4,
            ..Default::default()
        };
        let (c, s, rest) = run(cfg, b"abc\r\ndef\r\n.\r\nX");
        assert_eq!(c, b"abc\r");
        let s = s.unwrap();
        assert_eq!(s.size, 10);
        let e = s.outcome.unwrap_err();
        assert_eq!(e, DataError::TooLarge { size: 10, limit: 4 });
        assert_eq!((e.code(), e.enhanced_code()), (552, "5.3.4"));
        assert_eq!(rest, b"X");
    }

    #[test]
    fn long_lines() {
        let cfg = DecoderConfig {
            max_line_length: 5,
            long_lines: LongLines::Reject,
            ..Default::default()
        };
        let (_, s, _) = run(cfg.clone(), b"abc\r\n.\r\n");
        assert_eq!(s.unwrap().outcome, Ok(()));
        let (_, s, _) = run(cfg.clone(), b"abc\r\nabcd\r\n.\r\n");
        assert_eq!(
            s.unwrap().outcome,
            Err(DataError::LineTooLong {
                limit: 5,
                offset: 5
            })
        );
        // The stuffing dot does not count.
        let (_, s, _) = run(cfg, b"..bc\r\n.\r\n");
        assert_eq!(s.unwrap().outcome, Ok(()));
    }

    #[test]
    fn unfinished() {
        let (c, s, rest) = run(DecoderConfig::default(), b"abc\r\n.\r");
        assert_eq!(c, b"abc\r\n");
        assert!(s.is_none());
        assert!(rest.is_empty());
    }
}
