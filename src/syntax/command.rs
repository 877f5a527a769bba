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
        /// The SASL mechanism name, upper-cased on output.
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
        /// The SASL mechanism name.
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

/// Parses one command line (with or without its CRLF terminator).
///
/// Incomplete input is the caller's business: feed whole lines found with
/// [`super::line::find_line`].
pub fn parse_command<'a>(
    line: &'a [u8],
    opts: &super::ParseOptions,
) -> Result<Command<'a>, super::CommandError> {
    let _ = (line, opts);
    todo!("syntax helper")
}

/// Parses a SASL continuation line (with or without CRLF): base64 text or `*`.
pub fn parse_sasl_response(line: &[u8]) -> Result<SaslResponse<'_>, super::CommandError> {
    let _ = line;
    todo!("syntax helper")
}

impl<'a> Command<'a> {
    /// Writes the canonical form, CRLF included.
    pub fn encode(&self, out: &mut impl bytes::BufMut) {
        let _ = out;
        todo!("syntax helper")
    }

    /// The canonical form as a vector, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Detaches the command from the input it borrows.
    pub fn into_owned(self) -> Command<'static> {
        todo!("syntax helper")
    }

    /// The canonical upper-case verb (`MAIL`, `X-EXPS`, or the verb of `Other` as written).
    pub fn verb(&self) -> &str {
        todo!("syntax helper")
    }
}

impl SaslResponse<'_> {
    /// Writes the line, CRLF included.
    pub fn encode(&self, out: &mut impl bytes::BufMut) {
        let _ = out;
        todo!("syntax helper")
    }
}
