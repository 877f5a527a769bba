//! Errors of the syntax layer. Each parse error maps to the reply a server must send
//! ([`CommandError::reply`]).
//!
//! | error | reply | source |
//! |---|---|---|
//! | [`CommandError::LineTooLong`] | `500 5.5.2 Line too long` | RFC 5321 4.5.3.1.9 |
//! | [`CommandError::AuthLineTooLong`] | `500 5.5.6 Authentication exchange line is too long` | RFC 4954 section 4 |
//! | [`CommandError::Syntax`] | `500 5.5.2 Syntax error, command unrecognized` | RFC 5321 4.2.4 |
//! | [`CommandError::Arguments`] | `501 5.5.4 Syntax error in parameters or arguments` (`XEXCH50`: `501 5.5.4 Invalid XEXCH50 arguments`, 37 octets: KB 812455 keeps every XEXCH50 reply within 40) | RFC 5321 4.2.4, RFC 3463 |
//! | [`CommandError::InvalidBase64`] | `501 5.5.2 Cannot Base64-decode client response` | RFC 4954 section 4 |
//! | [`PathError::Syntax`] | `553 5.1.3 Bad address syntax` (`5.1.7` in MAIL, see below) | RFC 5321 4.2.4, RFC 3463 X.1.3 / X.1.7 |
//! | [`PathError::LocalPartTooLong`], [`PathError::DomainTooLong`], [`PathError::PathTooLong`] | `501 5.1.3 Path too long` (text names the part; `5.1.7` in MAIL) | RFC 5321 4.5.3.1.9 |
//! | [`PathError::NonAscii`] | `553 5.6.7 Non-ASCII address requires SMTPUTF8` | RFC 6531 3.5, RFC 6533 |
//! | [`ParamError::Duplicate`], [`ParamError::InvalidValue`], [`ParamError::Syntax`] | `501 5.5.4 ...` | RFC 5321 4.1.2, RFC 1869 |
//! | [`ParamError::Unrecognized`] (built by a server, never by the parser) | `555 5.5.4 Unsupported parameter` | RFC 5321 4.1.1.11 |
//!
//! RFC 3463 3.2 tells the two addresses apart: X.1.3 is a bad *destination* address
//! (RCPT), X.1.7 a bad *sender* address (MAIL). A [`CommandError`] does not know which
//! command it came from: [`CommandError::reply`] gives the recipient's code,
//! [`CommandError::reply_to_line`] (and [`DecodeError::reply`], which has the line) the
//! one for the command the error came from.
//!
//! Unknown MAIL/RCPT parameters are not parse errors: they land in `other` and the server
//! decides (usually `555 5.5.4` through [`ParamError::Unrecognized`]). Unknown verbs parse
//! to [`Command::Other`](super::command::Command::Other); the server answers
//! `500 5.5.1` or `502 5.5.1`.

/// The text of the `501 5.5.2` reply to a client response that is not valid BASE64 (RFC 4954
/// section 4), whether it comes as an AUTH initial response or as a continuation line: the
/// one text the parser, the SASL helpers and the server use.
pub const INVALID_BASE64_TEXT: &str = "Cannot Base64-decode client response";
use super::reply::{EnhancedCode, Reply};

/// A path or mailbox could not be parsed (RFC 5321 4.1.2, 4.5.3.1). Servers answer
/// `553 5.1.3` for bad syntax and `501 5.1.3` / `552`-class codes as documented per variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path does not follow the grammar.
    #[error("malformed address")]
    Syntax,
    /// The local part is longer than 64 octets (RFC 5321 4.5.3.1.1).
    #[error("local part longer than 64 octets")]
    LocalPartTooLong,
    /// The domain is longer than 255 octets (RFC 5321 4.5.3.1.2).
    #[error("domain longer than 255 octets")]
    DomainTooLong,
    /// The path is longer than 256 octets (RFC 5321 4.5.3.1.3).
    #[error("path longer than 256 octets")]
    PathTooLong,
    /// Non-ASCII text without SMTPUTF8 (RFC 6531 3.4).
    #[error("non-ASCII address without SMTPUTF8")]
    NonAscii,
}

/// A MAIL or RCPT parameter is malformed or not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The same keyword twice (`501 5.5.4`).
    #[error("duplicate parameter {0}")]
    Duplicate(String),
    /// A known keyword with a bad value (`501 5.5.4`).
    #[error("invalid value for parameter {0}")]
    InvalidValue(String),
    /// Not an esmtp-param at all (`501 5.5.4`).
    #[error("malformed parameter")]
    Syntax,
    /// A well-formed parameter the server does not implement (`555 5.5.4`, RFC 5321
    /// 4.1.1.11). Never produced by the parser (unknown parameters go to `other`); a server
    /// builds it to answer with [`CommandError::reply`].
    #[error("unrecognized parameter {0}")]
    Unrecognized(String),
}

/// A command line could not be parsed. [`CommandError::reply`] is what a server sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The line exceeds the limit (`500 5.5.2`, RFC 5321 4.5.3.1.4).
    #[error("line too long")]
    LineTooLong,
    /// An AUTH / X-EXPS command or a SASL continuation line exceeds 12,288 octets
    /// (`500 5.5.6`, RFC 4954 section 4).
    #[error("authentication line too long")]
    AuthLineTooLong,
    /// An AUTH initial response or SASL continuation line holds characters outside the
    /// base64 alphabet (`501 5.5.2`, RFC 4954 section 4).
    #[error("invalid base64 in SASL response")]
    InvalidBase64,
    /// Not a command at all: empty line, bad verb characters (`500 5.5.2`).
    #[error("syntax error")]
    Syntax,
    /// A known verb with bad arguments (`501 5.5.4`).
    #[error("syntax error in arguments of {verb}")]
    Arguments {
        /// The verb, upper-cased.
        verb: &'static str,
    },
    /// A bad path in MAIL or RCPT (`553 5.1.3` or `501 5.1.3`, see [`PathError`]).
    #[error(transparent)]
    Path(#[from] PathError),
    /// A bad parameter (`501 5.5.4`).
    #[error(transparent)]
    Param(#[from] ParamError),
}

impl CommandError {
    /// The reply a server sends for this error. A path error gets the enhanced code of a
    /// bad recipient address (`5.1.3`); for the error of a known command line use
    /// [`CommandError::reply_to_line`], which gives a MAIL path error the sender's
    /// `5.1.7` (RFC 3463 3.2).
    ///
    /// ```
    /// use ehlo::syntax::{CommandError, PathError};
    /// use ehlo::syntax::reply::EnhancedCode;
    /// let r = CommandError::Path(PathError::Syntax).reply();
    /// assert_eq!((r.code.0, r.enhanced), (553, Some(EnhancedCode::new(5, 1, 3))));
    /// ```
    pub fn reply(&self) -> Reply {
        let (code, e, text): (u16, EnhancedCode, &'static str) = match self {
            CommandError::LineTooLong => (500, EnhancedCode::new(5, 5, 2), "Line too long"),
            CommandError::AuthLineTooLong => (
                500,
                EnhancedCode::new(5, 5, 6),
                "Authentication exchange line is too long",
            ),
            CommandError::Syntax => (
                500,
                EnhancedCode::new(5, 5, 2),
                "Syntax error, command unrecognized",
            ),
            // Microsoft KB 812455: no reply to XEXCH50 is longer than 40 octets (the
            // generic text below makes 51 with its code and CRLF).
            CommandError::Arguments { verb: "XEXCH50" } => {
                (501, EnhancedCode::new(5, 5, 4), "Invalid XEXCH50 arguments")
            }
            CommandError::Arguments { .. } => (
                501,
                EnhancedCode::new(5, 5, 4),
                "Syntax error in parameters or arguments",
            ),
            CommandError::InvalidBase64 => (501, EnhancedCode::new(5, 5, 2), INVALID_BASE64_TEXT),
            CommandError::Path(p) => match p {
                PathError::Syntax => (553, EnhancedCode::new(5, 1, 3), "Bad address syntax"),
                PathError::LocalPartTooLong => (
                    501,
                    EnhancedCode::new(5, 1, 3),
                    "Path too long: local part exceeds 64 octets",
                ),
                PathError::DomainTooLong => (
                    501,
                    EnhancedCode::new(5, 1, 3),
                    "Path too long: domain exceeds 255 octets",
                ),
                PathError::PathTooLong => (501, EnhancedCode::new(5, 1, 3), "Path too long"),
                PathError::NonAscii => (
                    553,
                    EnhancedCode::new(5, 6, 7),
                    "Non-ASCII address requires SMTPUTF8",
                ),
            },
            CommandError::Param(p) => match p {
                ParamError::Duplicate(_) => {
                    (501, EnhancedCode::new(5, 5, 4), "Duplicate parameter")
                }
                ParamError::InvalidValue(_) => {
                    (501, EnhancedCode::new(5, 5, 4), "Invalid parameter value")
                }
                ParamError::Syntax => (501, EnhancedCode::new(5, 5, 4), "Malformed parameter"),
                ParamError::Unrecognized(_) => {
                    (555, EnhancedCode::new(5, 5, 4), "Unsupported parameter")
                }
            },
        };
        Reply::new(code, Some(e), text)
    }

    /// The reply a server sends for this error of the command `line` (as received, with
    /// or without its line end): [`CommandError::reply`], except that a path error of a
    /// `MAIL` command concerns the sender's address and carries `5.1.7` ("Bad sender's
    /// mailbox address syntax", RFC 3463 3.2) instead of the recipient's `5.1.3`. The
    /// reply code and text stay the same (`553` bad syntax, `501` path too long); a
    /// non-ASCII address keeps `5.6.7` (RFC 6531 3.5).
    ///
    /// ```
    /// use ehlo::syntax::command::parse_command;
    /// use ehlo::syntax::ParseOptions;
    /// let line = b"MAIL FROM:<a@@b>\r\n";
    /// let err = parse_command(line, &ParseOptions::default()).unwrap_err();
    /// assert_eq!(err.reply_to_line(line).to_bytes(), b"553 5.1.7 Bad address syntax\r\n");
    /// let line = b"RCPT TO:<a@@b>\r\n";
    /// let err = parse_command(line, &ParseOptions::default()).unwrap_err();
    /// assert_eq!(err.reply_to_line(line).to_bytes(), b"553 5.1.3 Bad address syntax\r\n");
    /// ```
    pub fn reply_to_line(&self, line: &[u8]) -> Reply {
        let mut reply = self.reply();
        let sender = line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"MAIL");
        if sender && matches!(self, CommandError::Path(p) if *p != PathError::NonAscii) {
            reply.enhanced = Some(EnhancedCode::new(5, 1, 7));
        }
        reply
    }
}

/// A reply could not be parsed (client side).
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line does not start with three digits followed by space, `-` or the line end.
    #[error("malformed reply line")]
    Syntax,
    /// A reply line exceeds the configured limit.
    #[error("reply line too long")]
    LineTooLong,
    /// A multi-line reply changed its code between lines (RFC 5321 4.2.1).
    #[error("reply code changed inside a multi-line reply")]
    InconsistentCode,
    /// A multi-line reply has more lines than the configured limit.
    #[error("too many reply lines")]
    TooManyLines,
}

/// An error of the [`CommandDecoder`](super::decoder::CommandDecoder). Neither ends the
/// decoding: the offending line is consumed (or, if over-long, skipped) and the next call
/// goes on with the line after it. [`DecodeError::reply`] is what a server answers.
///
/// ```
/// use ehlo::bytes::BytesMut;
/// use ehlo::syntax::decoder::CommandDecoder;
/// use ehlo::syntax::{CommandError, DecodeError};
///
/// let mut dec = CommandDecoder::default();
/// let mut buf = BytesMut::from(&b"MAIL FROM:<a@@b>\r\nQUIT\r\n"[..]);
/// let Err(DecodeError::Invalid { error, line }) = dec.decode(&mut buf) else { panic!() };
/// assert_eq!(&line[..], b"MAIL FROM:<a@@b>");
/// assert_eq!(error.reply_to_line(&line).to_bytes(), b"553 5.1.7 Bad address syntax\r\n");
/// assert!(dec.decode(&mut buf)?.is_some()); // QUIT
/// # Ok::<(), DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A line passed its limit before its line end (RFC 5321 4.5.3.1.4; RFC 4954 section 4
    /// for SASL lines). Reported once, as soon as the limit is passed, without waiting for
    /// the line end; the rest of the line is skipped without being stored and decoding
    /// resumes at the next line.
    #[error("line longer than {limit} octets")]
    LineTooLong {
        /// The limit the line passed, in octets including the CRLF.
        limit: usize,
        /// Whether the line is an `AUTH` or `X-EXPS` command or a SASL continuation line,
        /// answered `500 5.5.6` (RFC 4954 section 4), rather than another command line,
        /// answered `500 5.5.2` (RFC 5321 4.2.4).
        sasl: bool,
    },
    /// A complete line that does not parse. It was consumed.
    #[error("{error}")]
    Invalid {
        /// Why it does not parse; [`CommandError::reply`] is the server's answer.
        error: CommandError,
        /// The line as it came, without its line end (a slice of the input, no copy).
        line: bytes::Bytes,
    },
}

impl DecodeError {
    /// The reply a server sends for this error: `500 5.5.2` or `500 5.5.6` for a line too
    /// long ([`CommandError::LineTooLong`], [`CommandError::AuthLineTooLong`]), else the
    /// reply of the [`CommandError`] to its line ([`CommandError::reply_to_line`]: a bad
    /// MAIL path is `5.1.7`, a bad RCPT path `5.1.3`).
    ///
    /// ```
    /// use ehlo::syntax::DecodeError;
    /// let e = DecodeError::LineTooLong { limit: 12288, sasl: true };
    /// assert_eq!(e.reply().to_bytes(), b"500 5.5.6 Authentication exchange line is too long\r\n");
    /// ```
    pub fn reply(&self) -> Reply {
        match self {
            DecodeError::LineTooLong { sasl: true, .. } => CommandError::AuthLineTooLong.reply(),
            DecodeError::LineTooLong { sasl: false, .. } => CommandError::LineTooLong.reply(),
            DecodeError::Invalid { error, line } => error.reply_to_line(line),
        }
    }
}

/// A command built by hand cannot be written as the one line it stands for
/// ([`Command::encode_checked`](super::command::Command::encode_checked)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A value holds a CR, LF or NUL. CR and LF would end the line early and turn the
    /// rest into a command of its own (RFC 5321 2.3.8: they occur in commands only as
    /// the CRLF that ends them); NUL is in no command's grammar (RFC 5321 4.1.2).
    #[error("a value holds CR, LF or NUL and would break the command line")]
    LineBreak,
    /// The line does not read back as the command it was written from: a value holds
    /// text its place in the grammar cannot (RFC 5321 4.1.2), e.g. a `>` and a space in a
    /// local part, which would end the path and turn the rest into parameters, or a
    /// space in a parameter value.
    #[error("the command line would not read back as the command it was written from")]
    NotReadBack,
}
