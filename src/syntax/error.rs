//! Errors of the syntax layer. Each parse error maps to the reply a server must send
//! ([`CommandError::reply`]).

use super::reply::Reply;

/// A path or mailbox could not be parsed (RFC 5321 4.1.2, 4.5.3.1). Servers answer
/// `553 5.1.3` for bad syntax and `501 5.1.3` / `552`-class codes as documented per variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
}

/// A command line could not be parsed. [`CommandError::reply`] is what a server sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The line exceeds the limit (`500 5.5.2`, RFC 5321 4.5.3.1.4).
    #[error("line too long")]
    LineTooLong,
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
    /// The reply a server sends for this error.
    pub fn reply(&self) -> Reply {
        todo!("syntax helper")
    }
}

/// A reply could not be parsed (client side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
