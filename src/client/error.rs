//! Errors and outcomes the client reports.

use crate::syntax::reply::Reply;
use crate::syntax::ReplyError;

/// An extension a message needs and the server did not advertise (or the client was
/// configured not to use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Extension {
    /// 8BITMIME (RFC 6152) for a body with octets above 127.
    EightBitMime,
    /// BINARYMIME with CHUNKING (RFC 3030) for a binary body (NUL, bare CR/LF, long lines).
    BinaryMime,
    /// SMTPUTF8 (RFC 6531) for UTF-8 addresses or headers.
    SmtpUtf8,
    /// REQUIRETLS (RFC 8689), which also needs an active TLS session.
    RequireTls,
}

impl std::fmt::Display for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Extension::EightBitMime => "8BITMIME",
            Extension::BinaryMime => "BINARYMIME and CHUNKING",
            Extension::SmtpUtf8 => "SMTPUTF8",
            Extension::RequireTls => "REQUIRETLS over TLS",
        })
    }
}

/// Why a message was not delivered. Every variant says whether anything was sent: the
/// `Unsupported`, `TooLarge`, `NoRecipients` and `TransactionLimit` refusals happen before
/// any byte of the transaction leaves the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The message needs an extension the server lacks; nothing was sent.
    #[error("the message needs {0}, which the server does not offer")]
    Unsupported(Extension),
    /// The message is larger than the server's `SIZE` limit (RFC 1870); nothing was sent.
    #[error("message of {size} octets exceeds the server limit of {limit}")]
    TooLarge {
        /// The message size.
        size: u64,
        /// The advertised limit.
        limit: u64,
    },
    /// The envelope has no recipients; nothing was sent.
    #[error("the envelope has no recipients")]
    NoRecipients,
    /// A MAIL or RCPT line built from the envelope would hold a CR, LF or NUL (a
    /// hand-built ORCPT or ENVID value, say): command injection; or, when the server
    /// offers DSN, an ENVID longer than 100 characters or an ORCPT address longer than 500
    /// (RFC 3461 4.4, 4.2), an ORCPT addr-type that is not an atom (RFC 3461 4.2), or a
    /// NOTIFY that is empty or combines NEVER with other values (RFC 3461 4.1), which the
    /// server would refuse. Nothing was sent.
    #[error("the envelope would produce a malformed command line")]
    InvalidEnvelope,
    /// The session has used every transaction the server allows: its EHLO reply
    /// advertised `LIMITS MAILMAX=<limit>` (RFC 9422 section 4.1) and the client has
    /// sent `limit` `MAIL` commands on this connection (successful or not, as the server
    /// counts them). Nothing was sent; send the message on a new connection.
    #[error("the server allows {limit} transactions per session (LIMITS MAILMAX); send on a new connection")]
    TransactionLimit {
        /// The advertised `MAILMAX`.
        limit: u64,
    },
    /// The XEXCH50 blob is larger than 1 GB; nothing was sent.
    #[error("XEXCH50 blob larger than 1 GB")]
    Xexch50TooLarge,
    /// The server refused `MAIL FROM`.
    #[error("sender refused: {}", .0.code.0)]
    SenderRejected(Reply),
    /// Every recipient was refused (their replies are in the per-recipient results).
    #[error("every recipient was refused")]
    NoValidRecipients,
    /// The server refused `DATA`/`BDAT` or the content: the reply after the end of data,
    /// or a `4xx`/`5xx` it sent in the middle of the content (the session then closes with
    /// [`ProtocolError::Unsolicited`], since RFC 5321 4.1.1.4 has the reply come after the
    /// end of data).
    #[error("message refused: {}", .0.code.0)]
    Rejected(Reply),
    /// A streamed chunk broke the declared [`BodyType`](super::BodyType); the message was
    /// aborted (RSET after BDAT, connection closed in the middle of DATA) so nothing
    /// corrupted or truncated is delivered.
    #[error("body chunk does not match the declared body type")]
    BodyTypeViolation,
    /// The session ended before the message completed (see the [`CloseReason`]).
    #[error("session closed before the message completed: {0}")]
    SessionClosed(CloseReason),
}

/// A server that broke the protocol. The client closes without `QUIT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A reply could not be parsed.
    #[error("malformed reply: {0}")]
    Malformed(#[from] ReplyError),
    /// A reply arrived while no command was outstanding.
    #[error("unsolicited reply {}", .0.code.0)]
    Unsolicited(Reply),
    /// A reply code that makes no sense for the command (e.g. `354` to `MAIL`): a
    /// greeting other than `220`, `554` or `421`, or a `3xx` to anything but DATA
    /// (`354`), AUTH (`334`) or XEXCH50 (`354`), RFC 5321 4.2.1 / 4.3.2. The server's idea
    /// of the session differs from the client's, so nothing more is sent (not even
    /// `RSET` or `QUIT`, which a server reading message content would take as data).
    #[error("unexpected reply {} to {command}", .reply.code.0)]
    UnexpectedReply {
        /// The command the reply answered.
        command: &'static str,
        /// The reply.
        reply: Reply,
    },
    /// Bytes arrived after the `220` to STARTTLS / X-ANONYMOUSTLS and before the TLS
    /// handshake: response injection (CVE-2011-0411 class); never read as replies.
    #[error("plaintext bytes after the TLS go-ahead (response injection)")]
    ResponseInjection,
    /// An AUTH challenge that is not valid base64 for a mechanism the client drives.
    #[error("malformed SASL challenge")]
    BadChallenge,
}

/// Which timer of RFC 5321 4.5.3.2 expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutKind {
    /// The greeting (4.5.3.2.1).
    Greeting,
    /// The reply to MAIL (4.5.3.2.2).
    Mail,
    /// The reply to RCPT (4.5.3.2.3).
    Rcpt,
    /// The `354` to DATA (4.5.3.2.4).
    DataInitiation,
    /// No progress handing out a data block (4.5.3.2.5).
    DataBlock,
    /// The reply after the end of data or a BDAT chunk (4.5.3.2.6).
    DataTermination,
    /// Any other command.
    Command,
}

/// Why the session ended ([`Event::Closed`](super::Event::Closed)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    /// A normal end after `QUIT` (the server's reply, if it sent one).
    #[error("quit")]
    Quit(Option<Reply>),
    /// The server sent `421` (service not available, closing), at any point.
    #[error("server closing: {}", .0.code.0)]
    ServiceUnavailable(Reply),
    /// The greeting was `554` (RFC 5321 3.1) or another refusal.
    #[error("greeting refused: {}", .0.code.0)]
    GreetingRefused(Reply),
    /// Both EHLO and HELO were refused, or EHLO failed without fallback.
    #[error("EHLO/HELO refused: {}", .0.code.0)]
    HelloRefused(Reply),
    /// TLS was required and the server does not offer it or refused it.
    #[error("TLS required but unavailable")]
    TlsUnavailable(Option<Reply>),
    /// Credentials were configured but no advertised mechanism can use them here (e.g. only
    /// plaintext mechanisms without TLS).
    #[error("no usable authentication mechanism")]
    AuthUnavailable,
    /// The server refused the credentials (`535` and friends) or the caller cancelled.
    #[error("authentication failed")]
    AuthFailed(Option<Reply>),
    /// The server broke the protocol.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A reply timeout of RFC 5321 4.5.3.2 expired.
    #[error("timeout: {0:?}")]
    Timeout(TimeoutKind),
    /// The caller reported the transport closed ([`Client::peer_closed`](super::Client::peer_closed)).
    #[error("connection closed by the peer")]
    PeerClosed,
    /// [`ClientConfig::hostname`](super::ClientConfig::hostname) is neither a domain nor
    /// an address literal in ASCII (RFC 5321 4.1.1.1): empty, longer than 255 octets
    /// (4.5.3.1.2), with a space, CR, LF, NUL or a non-ASCII character, ...; nothing was
    /// sent.
    #[error("invalid EHLO host name in the configuration")]
    InvalidHostname,
    /// A streamed body broke its declared type in the middle of DATA; the connection is
    /// dropped so the server discards the partial message.
    #[error("aborted in the middle of DATA")]
    Aborted,
}

/// Why [`Client::send`](super::Client::send) refused a message outright.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is closed or closing (after `quit()`).
    #[error("the session is closed or closing")]
    Closed,
}

/// Misuse of the body or AUTH calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// No body is being requested for this message right now (wait for
    /// [`Event::BodyNeeded`](super::Event::BodyNeeded)); the message may also have
    /// failed already.
    #[error("no body is expected for this message now")]
    BodyNotExpected,
    /// The chunk breaks the declared body type; the message is aborted.
    #[error("chunk does not match the declared body type; message aborted")]
    BodyTypeViolation,
    /// [`Client::tls_established`](super::Client::tls_established) was called while no
    /// TLS upgrade was pending.
    #[error("no TLS upgrade is pending")]
    NotAwaitingTls,
    /// No AUTH challenge is waiting for an answer.
    #[error("no authentication challenge is pending")]
    NoChallenge,
}
