//! Errors and outcomes the client reports.

use crate::syntax::reply::Reply;
use crate::syntax::ReplyError;

/// An extension a message needs and the server did not advertise (or the client was
/// configured not to use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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

/// `": <code> <enhanced code> <first text line>"` for an error that may carry the server's
/// reply, nothing without one.
fn said(reply: &Option<Reply>) -> impl std::fmt::Display + '_ {
    struct Said<'a>(&'a Option<Reply>);
    impl std::fmt::Display for Said<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self.0 {
                Some(r) => write!(f, ": {}", r.summary()),
                None => Ok(()),
            }
        }
    }
    Said(reply)
}

/// Why a message was not delivered. Every variant says whether anything was sent: the
/// `Unsupported`, `TooLarge`, `NoRecipients`, `InvalidEnvelope`, `TransactionLimit` and
/// `Xexch50TooLarge` refusals happen before any byte of the transaction leaves the client.
///
/// A variant that carries the server's [`Reply`] displays its code, enhanced code and first
/// text line, so a log line says why:
///
/// ```
/// use ehlo::client::MessageError;
/// use ehlo::{EnhancedCode, Reply};
/// let e = MessageError::SenderRejected(Reply::new(550, Some(EnhancedCode::new(5, 1, 0)), "No such sender"));
/// assert_eq!(e.to_string(), "sender refused: 550 5.1.0 No such sender");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
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
    /// hand-built ORCPT or ENVID value, say): command injection; a hand-built path that
    /// does not read back as itself (text that would end it early and add parameters), or
    /// an Exchange parameter value that is empty or not xtext; or, when the server
    /// offers DSN, an empty ENVID (RFC 5321 4.1.2: a parameter value has at least one
    /// character), an ENVID longer than 100 characters or an ORCPT address longer than 500
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
    #[error("sender refused: {}", .0.summary())]
    SenderRejected(Reply),
    /// Every recipient was refused (their replies are in the per-recipient results).
    #[error("every recipient was refused")]
    NoValidRecipients,
    /// The server refused `DATA`/`BDAT` or the content: the reply after the end of data,
    /// or a `4xx`/`5xx` it sent in the middle of the content (the session then closes with
    /// [`ProtocolError::Unsolicited`], since RFC 5321 4.1.1.4 has the reply come after the
    /// end of data).
    #[error("message refused: {}", .0.summary())]
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
///
/// A variant that carries the offending [`Reply`] displays its code, enhanced code and
/// first text line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reply could not be parsed.
    #[error("malformed reply: {0}")]
    Malformed(#[from] ReplyError),
    /// A reply arrived while no command was outstanding, or before the command it would
    /// answer was handed out by [`Client::poll_transmit`](super::Client::poll_transmit)
    /// (a server answering ahead, or injected bytes), or in the middle of DATA content
    /// (see [`MessageError::Rejected`]).
    #[error("unsolicited reply: {}", .0.summary())]
    Unsolicited(Reply),
    /// A reply code that makes no sense for the command (e.g. `354` to `MAIL`): a
    /// greeting that is neither `220` nor a `4yz`/`5yz` refusal
    /// ([`CloseReason::GreetingRefused`], [`CloseReason::ServiceUnavailable`]), a `3xx` to
    /// anything but DATA (`354`), AUTH (`334`) or XEXCH50 (`354`) (an Exchange verb of
    /// [`Client::send_exchange`](super::Client::send_exchange) reports any reply to the
    /// caller), a `2xx` to DATA (which answers `354` or a refusal; the message is accepted
    /// only by the reply after its content), RFC 5321 4.2.1 / 4.3.2, or anything but a
    /// `4yz`/`5yz` to an AUTH exchange the client cancelled with `*` (RFC 4954 section 4:
    /// the server must answer `501`). The server's idea
    /// of the session differs from the client's, so nothing more is sent (not even
    /// `RSET` or `QUIT`, which a server reading message content would take as data).
    #[error("unexpected reply to {command}: {}", .reply.summary())]
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
}

/// Which timer of RFC 5321 4.5.3.2 expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutKind::Greeting => "greeting",
            TimeoutKind::Mail => "reply to MAIL",
            TimeoutKind::Rcpt => "reply to RCPT",
            TimeoutKind::DataInitiation => "DATA initiation",
            TimeoutKind::DataBlock => "data block",
            TimeoutKind::DataTermination => "DATA termination",
            TimeoutKind::Command => "reply to a command",
        })
    }
}

/// Why the session ended ([`Event::Closed`](super::Event::Closed)).
///
/// A variant that carries the server's [`Reply`] displays its code, enhanced code and first
/// text line (`server closing: 421 4.3.2 Shutting down`, `authentication failed: 535 5.7.8
/// Bad credentials`); `Quit` displays as `quit` whatever the server answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// A normal end after `QUIT` (the server's reply, if it sent one).
    #[error("quit")]
    Quit(Option<Reply>),
    /// The server sent `421` (service not available, closing), at any point.
    #[error("server closing: {}", .0.summary())]
    ServiceUnavailable(Reply),
    /// The greeting was `554` (RFC 5321 3.1) or another refusal: any `4yz` but `421`
    /// ([`CloseReason::ServiceUnavailable`]) or `5yz` (4.2.1). The client sent `QUIT`.
    #[error("greeting refused: {}", .0.summary())]
    GreetingRefused(Reply),
    /// Both EHLO and HELO were refused, or EHLO failed without fallback.
    #[error("EHLO/HELO refused: {}", .0.summary())]
    HelloRefused(Reply),
    /// TLS was required and the server does not offer it or refused it.
    #[error("TLS required but unavailable{}", said(.0))]
    TlsUnavailable(Option<Reply>),
    /// Credentials were configured but no advertised mechanism can use them here (e.g. only
    /// plaintext mechanisms without TLS).
    #[error("no usable authentication mechanism")]
    AuthUnavailable,
    /// The server refused the credentials (`535` and friends) or the caller cancelled.
    /// A challenge the client's own mechanism cannot use (not base64, or not what the
    /// mechanism expects) is answered with `*` (RFC 4954 section 4), and the session ends
    /// here too, with the server's reply to the cancellation.
    #[error("authentication failed{}", said(.0))]
    AuthFailed(Option<Reply>),
    /// The server broke the protocol.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A reply timeout of RFC 5321 4.5.3.2 expired.
    #[error("timeout: {0}")]
    Timeout(TimeoutKind),
    /// The caller reported the transport closed ([`Client::peer_closed`](super::Client::peer_closed)).
    #[error("connection closed by the peer")]
    PeerClosed,
    /// [`ClientConfig::hostname`](super::ClientConfig::hostname) is neither a domain nor
    /// an address literal in ASCII (RFC 5321 4.1.1.1): empty, longer than 255 octets
    /// (4.5.3.1.2), with a space, a control character (HT, CR, LF, NUL, ...), DEL, a
    /// non-ASCII character, a malformed literal, a colon outside brackets, ...; nothing
    /// was sent. (A bare IP address is sent as its address literal.)
    #[error("invalid EHLO host name in the configuration")]
    InvalidHostname,
    /// A streamed body broke its declared type in the middle of DATA; the connection is
    /// dropped so the server discards the partial message.
    #[error("aborted in the middle of DATA")]
    Aborted,
}

/// Why [`Client::send`](super::Client::send) refused a message outright. The message
/// comes back with the error, as it does with every
/// [`Event::MessageResult`](super::Event::MessageResult), so the caller can send it on
/// another connection without having kept a copy.
///
/// ```
/// use ehlo::client::{Client, ClientConfig, Envelope, SendError};
/// use std::time::Instant;
///
/// let mut client = Client::new(ClientConfig::new("client.example.test"), Instant::now());
/// client.quit();
/// let envelope = Envelope::new("a@example.test")?.recipient("b@example.test")?;
/// let Err(SendError::Closed(unsent)) = client.send(envelope.clone(), "Subject: x\r\n\r\nx\r\n") else {
///     panic!("a quitting client takes no message");
/// };
/// assert_eq!(unsent.envelope, envelope);
/// # Ok::<(), ehlo::syntax::PathError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SendError {
    /// The session is closed or closing (after `quit()`); the message is given back.
    #[error("the session is closed or closing")]
    Closed(Box<Unsent>),
}

/// A message [`Client::send`](super::Client::send) did not take, given back whole.
/// `Debug` shows the envelope and the body's size, not its content (an `unwrap` on a
/// `SendError` must not print a whole message into a log).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Unsent {
    /// The envelope, as given.
    pub envelope: super::Envelope,
    /// The content, as given.
    pub body: super::Body,
}

impl std::fmt::Debug for Unsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Unsent");
        d.field("envelope", &self.envelope);
        match &self.body {
            super::Body::Bytes(b) => d.field("body_len", &b.len()),
            stream => d.field("body", stream),
        };
        d.finish()
    }
}

/// Misuse of the body or AUTH calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
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

#[cfg(test)]
mod tests {

    #[test]
    fn unsent_debug_shows_no_content() {
        let unsent = Unsent {
            envelope: super::super::Envelope::new("a@example.test").unwrap(),
            body: super::super::Body::from("Subject: secret plans\r\n\r\nx\r\n"),
        };
        let shown = format!("{:?}", SendError::Closed(Box::new(unsent)));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("body_len: 28"), "{shown}");
    }

    use super::*;
    use crate::syntax::reply::EnhancedCode;

    fn reply(code: u16, enhanced: Option<(u8, u16, u16)>, text: &'static str) -> Reply {
        Reply::new(
            code,
            enhanced.map(|(c, s, d)| EnhancedCode::new(c, s, d)),
            text,
        )
    }

    #[test]
    fn errors_show_the_server_reply() {
        let no_sender = reply(550, Some((5, 1, 0)), "No such sender\nsecond line");
        let cases: Vec<(String, &str)> = vec![
            (
                MessageError::SenderRejected(no_sender.clone()).to_string(),
                "sender refused: 550 5.1.0 No such sender",
            ),
            (
                MessageError::Rejected(reply(554, Some((5, 7, 1)), "Spam")).to_string(),
                "message refused: 554 5.7.1 Spam",
            ),
            (
                ProtocolError::Unsolicited(reply(250, None, "OK")).to_string(),
                "unsolicited reply: 250 OK",
            ),
            (
                ProtocolError::UnexpectedReply {
                    command: "MAIL",
                    reply: reply(354, None, "go ahead"),
                }
                .to_string(),
                "unexpected reply to MAIL: 354 go ahead",
            ),
            (
                CloseReason::ServiceUnavailable(reply(421, Some((4, 3, 2)), "Shutting down"))
                    .to_string(),
                "server closing: 421 4.3.2 Shutting down",
            ),
            (
                CloseReason::GreetingRefused(reply(554, None, "No SMTP service here")).to_string(),
                "greeting refused: 554 No SMTP service here",
            ),
            (
                CloseReason::HelloRefused(reply(550, None, "")).to_string(),
                "EHLO/HELO refused: 550",
            ),
            (
                CloseReason::TlsUnavailable(Some(reply(454, Some((4, 7, 0)), "TLS not available")))
                    .to_string(),
                "TLS required but unavailable: 454 4.7.0 TLS not available",
            ),
            (
                CloseReason::TlsUnavailable(None).to_string(),
                "TLS required but unavailable",
            ),
            (
                CloseReason::AuthFailed(Some(reply(535, Some((5, 7, 8)), "Bad credentials")))
                    .to_string(),
                "authentication failed: 535 5.7.8 Bad credentials",
            ),
            (
                CloseReason::AuthFailed(None).to_string(),
                "authentication failed",
            ),
            (
                CloseReason::Quit(Some(reply(221, None, "Bye"))).to_string(),
                "quit",
            ),
            (
                MessageError::SessionClosed(CloseReason::ServiceUnavailable(reply(
                    421, None, "Bye",
                )))
                .to_string(),
                "session closed before the message completed: server closing: 421 Bye",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_timeout_names_its_timer_in_words() {
        assert_eq!(
            CloseReason::Timeout(TimeoutKind::DataInitiation).to_string(),
            "timeout: DATA initiation"
        );
        assert_eq!(
            CloseReason::Timeout(TimeoutKind::Mail).to_string(),
            "timeout: reply to MAIL"
        );
    }

    #[test]
    fn a_reply_in_an_error_cannot_break_the_log_line() {
        let e = MessageError::Rejected(reply(550, None, "a\r\n250 OK\x1b[31m"));
        assert_eq!(e.to_string(), "message refused: 550 a");
        let e = MessageError::Rejected(reply(550, None, "bad\rthing\x07"));
        assert_eq!(e.to_string(), "message refused: 550 bad thing ");
        // On the first line: ESC, C1 controls (NEL, CSI), Unicode line separators and a
        // right-to-left override all show as spaces.
        let e = MessageError::Rejected(reply(
            550,
            None,
            "bad\x1b[2J\u{2028}INFO ok\u{85}x\u{9b}2J\u{202e}gol.exe\u{2029}",
        ));
        assert_eq!(
            e.to_string(),
            "message refused: 550 bad [2J INFO ok x 2J gol.exe "
        );
    }
}
