//! The syntax layer: pure parsers and serializers for everything that crosses the wire
//! outside message content. No session state lives here.
//!
//! * [`mod@line`]: finding command and reply lines in a byte stream, with length limits.
//! * [`command`]: every SMTP command (RFC 5321 4.1.1 and the extensions, Exchange verbs).
//! * [`decoder`]: the incremental command decoder a server, proxy or test tool reads a
//!   client's byte stream with (the counterpart of [`reply::ReplyParser`]).
//! * [`path`]: reverse-paths, forward-paths, mailboxes, domains, address literals.
//! * [`param`]: MAIL and RCPT parameters (esmtp-param).
//! * [`xtext`]: the xtext encoding of RFC 3461 section 4.
//! * [`reply`]: replies, reply codes, enhanced status codes, the incremental reply parser.
//! * [`capability`]: the EHLO capability set.
//!
//! Parsers borrow from their input (`Cow::Borrowed`); `into_owned()` detaches a value.
//! Serializers write canonical bytes into any [`bytes::BufMut`].

pub mod capability;
pub mod command;
pub mod decoder;
pub mod error;
pub mod line;
pub mod param;
pub mod path;
pub mod reply;
mod scan;
pub mod xtext;

pub use error::{CommandError, DecodeError, EncodeError, ParamError, PathError, ReplyError};

/// How forgiving the command parser is.
///
/// The default, [`Leniency::Lenient`], accepts what Postfix accepts by default because
/// servers facing the Internet meet such clients every day. It is a superset of
/// [`Leniency::Strict`], which accepts only the grammar of RFC 5321 section 4.1 (and of the
/// extensions' commands); exactly these deviations are added:
///
/// * SP / HT runs where the grammar has one SP (after the verb, between parameters) and
///   SP / HT at the end of the line;
/// * a bare LF ending a command line;
/// * SP / HT after `MAIL FROM:` / `RCPT TO:`;
/// * a path without its angle brackets (a plain mailbox, or RCPT's `Postmaster`; no source
///   route);
/// * any non-empty HELO / EHLO argument (not only a domain or address literal);
/// * `=` inside an esmtp-value (split at the first `=`);
/// * in a VRFY, EXPN, HELP, NOOP, ETRN or ATRN argument: HT, SP at either end (trimmed),
///   and for ETRN and ATRN inner SP.
///
/// Paths, mailboxes, domains and address literals follow the same grammar in both modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Leniency {
    /// Exactly the RFC 5321 grammar.
    Strict,
    /// The RFC grammar plus the common deviations Postfix accepts by default.
    #[default]
    Lenient,
}

/// Options for the command parser. Cheap to copy; a server keeps one per session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParseOptions {
    /// Strict RFC grammar or Postfix-like leniency.
    pub leniency: Leniency,
    /// Accept UTF-8 (U-labels, non-ASCII local parts) in paths, as RFC 6531 allows once
    /// SMTPUTF8 was advertised. The machine checks that the MAIL command carried the
    /// `SMTPUTF8` parameter.
    pub utf8: bool,
    /// Maximum command line length including CRLF (default 512, RFC 5321 4.5.3.1.4).
    pub max_line: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            leniency: Leniency::Lenient,
            utf8: false,
            max_line: crate::limits::MAX_COMMAND_LINE,
        }
    }
}
