//! What the server tells the caller ([`Event`]) and what the caller answers ([`Decision`]).

use crate::data::DataError;
use crate::sasl::AuthVerb;
use crate::syntax::command::ExchangeVerb;
use crate::syntax::param::{MailParams, RcptParams};
use crate::syntax::path::{ForwardPath, ReversePath};
use crate::syntax::reply::Reply;
use bytes::Bytes;
use std::borrow::Cow;
use std::fmt;

/// Which verb asked for the TLS upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsVerb {
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `X-ANONYMOUSTLS` (Exchange).
    XAnonymousTls,
}

/// Why a SASL exchange ended without a decision of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthAbort {
    /// The client sent `*` (answered `501 5.0.0`).
    Cancelled,
    /// The client's line was not valid base64 (answered `501 5.5.2`).
    InvalidBase64,
    /// The client's line was longer than the SASL line limit (answered `500 5.5.6`).
    LineTooLong,
    /// A built-in exchange refused the client's message (malformed for the mechanism,
    /// unexpected, or an initial response where none is allowed); the reply of
    /// [`crate::sasl::SaslError::reply`] was sent.
    Refused,
}

/// Why a message was dropped by the machine (the caller must discard what it stored).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageAbort {
    /// The DATA decoder refused the content (too large, bad line endings, long lines).
    Data(DataError),
    /// A BDAT chunk made the message larger than the limit (`552 5.3.4`).
    TooLarge,
}

/// Something the caller must know or decide. Returned by
/// [`Server::poll_event`](super::Server::poll_event).
///
/// Events marked *decision* leave the machine waiting: it processes no further input
/// until [`Server::decide`](super::Server::decide) (or `accept`/`reject`) is called, so
/// replies always leave in command order. Until then `poll_event` returns `None`: it never
/// answers for the caller, and [`Decision::Default`] applies the documented default when
/// that is what the caller wants. The other events are informational. New kinds of events
/// may be added, so matches need a catch-all arm (answer it with [`Decision::Default`]).
///
/// A policy is a function from the events that need a decision to [`Decision`]s:
///
/// ```
/// use ehlo::server::{Decision, Event};
/// use ehlo::syntax::path::{ForwardPath, Host};
/// use ehlo::{EnhancedCode, Reply};
///
/// fn policy(event: &Event) -> Decision {
///     match event {
///         // Only recipients in our domain (an MX that is no open relay).
///         Event::RcptTo { to: ForwardPath::Mailbox(m), .. } => match &m.host {
///             Host::Domain(d) if d.as_str().eq_ignore_ascii_case("example.test") => {
///                 Decision::Accept
///             }
///             _ => Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "Relaying denied")),
///         },
///         // The message is stored by now (from the MessageChunk events); a storage
///         // error would be a 451 instead.
///         Event::MessageEnd { .. } => Decision::Accept,
///         _ => Decision::Default,
///     }
/// }
/// ```
///
/// `Debug` never prints what the client sent in an AUTH exchange
/// ([`Event::AuthStart`]'s initial response, [`Event::AuthResponse`]'s and
/// [`Event::AuthToken`]'s data: a PLAIN message, a LOGIN password, an NTLM or Kerberos
/// token), only its length; [`Event::AuthVerify`]'s credentials hide theirs too.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// *Decision*: a client connected. Accept: `220 <host> <greeting>`. Reject with a
    /// `554` reply (RFC 5321 3.1; any other `4xx` / `5xx` but `421` is taken the same
    /// way): only QUIT is served afterwards, other commands get `503 5.5.1`. A `421` reply
    /// (or [`Decision::Close`]) closes at once. Default: accept.
    Connect,
    /// *Decision*: `EHLO`. Accept: the capability reply for the current TLS state.
    /// Default: accept. A [`Decision::Reply`] with `250` is an acceptance too: the
    /// capability lines stay, and the first line of its text replaces the first line of
    /// the reply (`<host> Hello <domain>`); its other lines and its enhanced code are
    /// dropped (the EHLO reply carries none, RFC 2034 section 3). Once accepted, an open transaction is over and [`Event::Reset`]
    /// follows (RFC 5321 4.1.4: as if RSET had been issued); a refused EHLO changes
    /// nothing.
    Ehlo {
        /// The client's name as given; empty for a bare `EHLO`, which reaches the caller
        /// only under
        /// [`ExchangeConfig::ehlo_without_argument`](super::ExchangeConfig::ehlo_without_argument)
        /// or when NTLM is offered (otherwise it is refused with `501`).
        domain: String,
    },
    /// *Decision*: `HELO`. Accept: `250 <host>`. Default: accept. Once accepted, an open
    /// transaction is over and [`Event::Reset`] follows, as for `EHLO`.
    Helo {
        /// The client's name as given.
        domain: String,
    },
    /// *Decision*: `MAIL FROM`. Accept: `250 2.1.0`. Default: accept.
    MailFrom {
        /// The reverse-path.
        from: ReversePath<'static>,
        /// The parameters (only those of advertised extensions get here; `AUTH=` is in
        /// `params.auth`). The `AUTH=` of a client that has not authenticated (with
        /// `AUTH` or `X-EXPS`) reads `<>`: RFC 4954 section 5, the server "MUST behave as
        /// if the AUTH=<> parameter was supplied".
        params: MailParams<'static>,
    },
    /// *Decision*: `RCPT TO`. Accept: `250 2.1.5`. Default: accept.
    RcptTo {
        /// The forward-path.
        to: ForwardPath<'static>,
        /// The parameters.
        params: RcptParams<'static>,
    },
    /// *Decision*: `DATA` with a valid transaction. Accept: `354`, then the content
    /// arrives as [`Event::MessageChunk`] events. Default: accept.
    DataStart,
    /// Informational: `BDAT <size> [LAST]` was accepted; its chunk follows as
    /// [`Event::MessageChunk`] events and is acknowledged by the machine.
    Bdat {
        /// Chunk size in octets.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// Informational: a piece of message content (DATA content with dot-stuffing removed
    /// and line endings per policy, or raw BDAT octets).
    MessageChunk(Bytes),
    /// *Decision*: the message is complete (end of DATA, or BDAT LAST). Accept:
    /// `250 2.0.0`. Default: accept. Whatever the decision (a `250`, a `451` after a
    /// storage error, a `554`), the transaction is over once it is given; the envelope is
    /// not repeated here (see the [module documentation](super#a-message-and-its-envelope)
    /// for building it from [`Event::MailFrom`] and [`Event::RcptTo`]).
    MessageEnd {
        /// Content size in octets.
        size: u64,
    },
    /// Informational: the machine refused the message in transit (the reply was sent);
    /// discard the chunks received, no `MessageEnd` follows for this message. After DATA
    /// the transaction is over. After a BDAT chunk that is not `LAST` it stays open but
    /// failed: the chunks the client has already pipelined are consumed and refused
    /// (RFC 3030 section 2) until `BDAT ... LAST` or `RSET` ends it (`RSET` with
    /// [`Event::Reset`]; the `LAST` chunk with no event: [`Server::in_transaction`] turns
    /// false, and the next [`Event::MailFrom`] starts a new transaction).
    ///
    /// [`Server::in_transaction`]: super::Server::in_transaction
    MessageAborted(MessageAbort),
    /// Informational: `RSET`, or an accepted EHLO / HELO (RFC 5321 4.1.4) or STARTTLS /
    /// X-ANONYMOUSTLS (RFC 3207 4.2) while a transaction was open; the transaction (if
    /// any) is over. A session that closes
    /// (timeout, input cap, `421`) in the middle of a message sends no `MessageEnd`:
    /// whatever the caller holds of that message is to be discarded.
    Reset,
    /// *Decision*: `AUTH`/`X-EXPS` with an advertised mechanism. Answer with
    /// [`Decision::AuthChallenge`], [`Decision::AuthChallengeText`],
    /// [`Decision::AuthSuccess`], [`Decision::AuthFailure`] or
    /// [`Decision::AuthTemporaryFailure`]. Default: failure (`535 5.7.8`).
    AuthStart {
        /// AUTH or X-EXPS.
        verb: AuthVerb,
        /// The mechanism, upper case.
        mechanism: String,
        /// The decoded initial response: `None` without one, `Some(empty)` for `=`.
        /// Always `None` for CRAM-MD5: the machine refuses an initial response for a
        /// server-first mechanism itself (`501 5.7.0`, RFC 4954 section 4).
        initial_response: Option<Vec<u8>>,
    },
    /// *Decision*: the client's answer to a `334` challenge, decoded. Same answers and
    /// default as [`Event::AuthStart`].
    AuthResponse {
        /// AUTH or X-EXPS.
        verb: AuthVerb,
        /// The decoded response.
        data: Vec<u8>,
    },
    /// *Decision* (with [`AuthConfig::builtin_exchanges`](super::AuthConfig)): a built-in
    /// exchange is complete on the wire; verify these credentials and answer
    /// [`Decision::AuthSuccess`] or [`Decision::AuthFailure`]. For XOAUTH2 / OAUTHBEARER
    /// a rejected token may instead be answered with [`Decision::AuthChallenge`] carrying
    /// the error JSON (RFC 7628 section 3.2.2): the client's dummy answer then gets
    /// `535 5.7.8`. Default: failure.
    AuthVerify {
        /// AUTH or X-EXPS.
        verb: AuthVerb,
        /// What the client sent, decoded.
        credentials: crate::sasl::Credentials,
    },
    /// *Decision* (with [`AuthConfig::builtin_exchanges`](super::AuthConfig)): an NTLM or
    /// GSSAPI token for the caller's security package. Answer with
    /// [`Decision::AuthChallenge`] carrying the package's answer token (for NTLM the
    /// CHALLENGE_MESSAGE, checked), or [`Decision::AuthSuccess`] /
    /// [`Decision::AuthFailure`]. Default: failure.
    AuthToken {
        /// AUTH or X-EXPS.
        verb: AuthVerb,
        /// `NTLM` or `GSSAPI`.
        mechanism: String,
        /// The decoded token.
        data: Vec<u8>,
    },
    /// Informational: the SASL exchange ended on the client's side (the reply was sent).
    AuthAborted {
        /// AUTH or X-EXPS.
        verb: AuthVerb,
        /// Why.
        reason: AuthAbort,
    },
    /// *Decision*: `STARTTLS` / `X-ANONYMOUSTLS`. Accept: `220 2.0.0`, then
    /// [`Event::TlsUpgrade`]. Reject e.g. with `454 4.7.0`. Default: accept.
    StartTls {
        /// Which verb.
        verb: TlsVerb,
    },
    /// Informational: send what [`Server::poll_transmit`](super::Server::poll_transmit)
    /// holds, then run the TLS handshake on the transport and call
    /// [`Server::tls_established`](super::Server::tls_established). Input received until
    /// then is discarded (CVE-2011-0411).
    TlsUpgrade,
    /// *Decision*: `VRFY`. Default, and [`Decision::Accept`]: `252 2.5.0` (cannot verify,
    /// but will accept and attempt delivery; RFC 5321 3.5.3); an answer that names the
    /// user is the caller's [`Decision::Reply`].
    Vrfy {
        /// The argument (without the `SMTPUTF8` parameter, see `smtputf8`).
        arg: String,
        /// The client gave the `SMTPUTF8` parameter (`VRFY <string> SMTPUTF8`, RFC 6531
        /// 3.7.4.2) in a session that offers SMTPUTF8: the reply may hold UTF-8 mailbox
        /// names. Without it, it must not.
        smtputf8: bool,
    },
    /// *Decision*: `EXPN`. Default: `502 5.5.1`. [`Decision::Accept`]: `252 2.5.0`
    /// (cannot expand the list); the members are the caller's [`Decision::Reply`].
    Expn {
        /// The argument (without the `SMTPUTF8` parameter, see `smtputf8`).
        arg: String,
        /// The client gave the `SMTPUTF8` parameter (RFC 6531 3.7.4.2), as for
        /// [`Event::Vrfy`].
        smtputf8: bool,
    },
    /// *Decision*: `ETRN` (when advertised). Default: `458 4.5.0`. [`Decision::Accept`]:
    /// `250 2.0.0 Queuing started` (RFC 1985).
    Etrn {
        /// The node argument.
        node: String,
    },
    /// Informational: `QUIT` was answered with `221`; the session is closed.
    Quit,
    /// *Decision*: an unknown verb. Default: `500 5.5.1`, counted as a protocol error
    /// (`limits.max_errors`); a refusal of the caller's is sent as given and not counted.
    /// [`Decision::Accept`]: `250 2.0.0 OK`.
    Unknown {
        /// The verb as written.
        verb: String,
        /// The arguments, opaque.
        args: Bytes,
    },
    /// *Decision*: an advertised Exchange verb with opaque arguments (X-LINK2STATE,
    /// XRDST, XSHADOW, XSHADOWREQUEST, XQDISCARD, XPROXY*, XSESSIONPARAMS).
    /// Default: `500 5.5.1`, counted as a protocol error as for [`Event::Unknown`].
    /// [`Decision::Accept`]: `250 2.0.0 OK`.
    Exchange {
        /// Which verb.
        verb: ExchangeVerb,
        /// The arguments after the verb, opaque.
        args: Bytes,
    },
    /// *Decision*: `XEXCH50 <size> <mode>` inside a transaction with recipients.
    /// Accept: `354`, then exactly `size` octets arrive as [`Event::XExch50Chunk`].
    /// Default: accept. A reply of the caller's should stay within 40 octets with its
    /// code and CRLF, the longest XEXCH50 reply Exchange reads (Microsoft KB 812455); the
    /// machine's own replies to XEXCH50 do.
    XExch50 {
        /// Blob size in octets.
        size: u64,
        /// The mode argument.
        mode: u32,
    },
    /// Informational: a piece of the XEXCH50 blob.
    XExch50Chunk(Bytes),
    /// *Decision*: the XEXCH50 blob is complete. Accept: `250 2.0.0 OK`. Default: accept.
    /// KB 812455 bounds the reply here at 20 octets for success and 40 for an error, code
    /// and CRLF included; a reply of the caller's should keep within them.
    XExch50End,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::sasl::Redacted;
        match self {
            Event::Connect => f.write_str("Connect"),
            Event::Ehlo { domain } => f.debug_struct("Ehlo").field("domain", domain).finish(),
            Event::Helo { domain } => f.debug_struct("Helo").field("domain", domain).finish(),
            Event::MailFrom { from, params } => f
                .debug_struct("MailFrom")
                .field("from", from)
                .field("params", params)
                .finish(),
            Event::RcptTo { to, params } => f
                .debug_struct("RcptTo")
                .field("to", to)
                .field("params", params)
                .finish(),
            Event::DataStart => f.write_str("DataStart"),
            Event::Bdat { size, last } => f
                .debug_struct("Bdat")
                .field("size", size)
                .field("last", last)
                .finish(),
            Event::MessageChunk(b) => f.debug_tuple("MessageChunk").field(b).finish(),
            Event::MessageEnd { size } => f.debug_struct("MessageEnd").field("size", size).finish(),
            Event::MessageAborted(a) => f.debug_tuple("MessageAborted").field(a).finish(),
            Event::Reset => f.write_str("Reset"),
            Event::AuthStart {
                verb,
                mechanism,
                initial_response,
            } => f
                .debug_struct("AuthStart")
                .field("verb", verb)
                .field("mechanism", mechanism)
                .field(
                    "initial_response",
                    &initial_response.as_deref().map(Redacted),
                )
                .finish(),
            Event::AuthResponse { verb, data } => f
                .debug_struct("AuthResponse")
                .field("verb", verb)
                .field("data", &Redacted(data))
                .finish(),
            Event::AuthVerify { verb, credentials } => f
                .debug_struct("AuthVerify")
                .field("verb", verb)
                .field("credentials", credentials)
                .finish(),
            Event::AuthToken {
                verb,
                mechanism,
                data,
            } => f
                .debug_struct("AuthToken")
                .field("verb", verb)
                .field("mechanism", mechanism)
                .field("data", &Redacted(data))
                .finish(),
            Event::AuthAborted { verb, reason } => f
                .debug_struct("AuthAborted")
                .field("verb", verb)
                .field("reason", reason)
                .finish(),
            Event::StartTls { verb } => f.debug_struct("StartTls").field("verb", verb).finish(),
            Event::TlsUpgrade => f.write_str("TlsUpgrade"),
            Event::Vrfy { arg, smtputf8 } => f
                .debug_struct("Vrfy")
                .field("arg", arg)
                .field("smtputf8", smtputf8)
                .finish(),
            Event::Expn { arg, smtputf8 } => f
                .debug_struct("Expn")
                .field("arg", arg)
                .field("smtputf8", smtputf8)
                .finish(),
            Event::Etrn { node } => f.debug_struct("Etrn").field("node", node).finish(),
            Event::Quit => f.write_str("Quit"),
            Event::Unknown { verb, args } => f
                .debug_struct("Unknown")
                .field("verb", verb)
                .field("args", args)
                .finish(),
            Event::Exchange { verb, args } => f
                .debug_struct("Exchange")
                .field("verb", verb)
                .field("args", args)
                .finish(),
            Event::XExch50 { size, mode } => f
                .debug_struct("XExch50")
                .field("size", size)
                .field("mode", mode)
                .finish(),
            Event::XExch50Chunk(b) => f.debug_tuple("XExch50Chunk").field(b).finish(),
            Event::XExch50End => f.write_str("XExch50End"),
        }
    }
}

impl Event {
    /// Whether this is a step of an AUTH or X-EXPS exchange ([`Event::AuthStart`],
    /// [`Event::AuthResponse`], [`Event::AuthVerify`], [`Event::AuthToken`]): the only
    /// events the SASL decisions ([`Decision::AuthSuccess`], [`Decision::AuthFailure`],
    /// [`Decision::AuthChallenge`], ...) fit.
    pub fn is_auth_step(&self) -> bool {
        matches!(
            self,
            Event::AuthStart { .. }
                | Event::AuthResponse { .. }
                | Event::AuthVerify { .. }
                | Event::AuthToken { .. }
        )
    }

    /// Whether the machine waits for a decision on this event.
    pub fn needs_decision(&self) -> bool {
        !matches!(
            self,
            Event::Bdat { .. }
                | Event::MessageChunk(_)
                | Event::MessageAborted(_)
                | Event::Reset
                | Event::AuthAborted { .. }
                | Event::TlsUpgrade
                | Event::Quit
                | Event::XExch50Chunk(_)
        )
    }
}

/// Why [`Server::try_decide`](super::Server::try_decide) applied no decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecisionError {
    /// No event waits for a decision: the last event was informational, its decision was
    /// already given, or the session closed. The decision was dropped: it never lands on
    /// a later event, and nothing was sent.
    NotPending,
    /// The decision cannot answer the event waiting: a SASL decision
    /// ([`Decision::AuthSuccess`], [`Decision::AuthFailure`], [`Decision::AuthChallenge`],
    /// ...) to an event other than [`Event::AuthStart`], [`Event::AuthResponse`],
    /// [`Event::AuthVerify`] and [`Event::AuthToken`]. Nothing was sent and the event
    /// still waits for a decision that fits.
    Mismatch,
}

impl std::fmt::Display for DecisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecisionError::NotPending => f.write_str("no event is waiting for a decision"),
            DecisionError::Mismatch => f.write_str(
                "the decision does not fit the event waiting (a SASL decision to a non-AUTH event)",
            ),
        }
    }
}

impl std::error::Error for DecisionError {}

/// [`Server::tls_established`](super::Server::tls_established) was called when no TLS
/// handshake was expected: neither after an accepted STARTTLS / X-ANONYMOUSTLS nor, for
/// implicit TLS, before the first input. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NotAwaitingTls;

impl std::fmt::Display for NotAwaitingTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no TLS handshake was expected at this point of the session")
    }
}

impl std::error::Error for NotAwaitingTls {}

/// The caller's answer to an event that needs a decision.
///
/// A [`Decision::Reply`] with a 2xx or 3xx code counts as acceptance (with the caller's
/// text), any other code as refusal; a `421` reply also closes the session (RFC 5321
/// 3.8). A positive code the command cannot take (a `250` to DATA, a `354` to RCPT, a
/// `200` to VRFY; RFC 5321 4.3.2, RFC 3207 section 4) counts as [`Decision::Accept`]: the
/// standard reply goes out and the caller's text is dropped, so the client is never told
/// something the machine does not do. Replies to unknown verbs and to the Exchange verbs
/// are sent as given (a `354` there starts no data phase), and so are refusals of AUTH.
/// Any `3xx` to AUTH is the `334` challenge with the reply's first line (RFC 4954
/// section 4: `334` is the exchange's one intermediate reply, and the exchange goes on),
/// and a `2xx` other than `235` is success with the standard `235 2.7.0` (section 6: `235`
/// is the success reply, and clients such as Python's smtplib take nothing else). A SASL decision given to an event other than AUTH is not applied: the event
/// keeps waiting ([`DecisionError::Mismatch`] from
/// [`Server::try_decide`](super::Server::try_decide)).
///
/// What goes on the wire is always well-formed, whatever the caller gives:
///
/// * the code: one outside 2xx-5xx goes out as `554` (a permanent failure, RFC 5321
///   4.2.1), and one whose second digit is 6 to 9 with a 5 there instead (`470` is `450`;
///   4.2's `Reply-code` grammar), before any of the rules above are applied;
/// * the enhanced code (with ENHANCEDSTATUSCODES): one whose class is not the reply
///   code's first digit (RFC 3463 section 3), or none, is the class's `X.0.0` (RFC 2034
///   section 3), except on the greeting, the EHLO/HELO reply and the Exchange verbs'
///   replies; a `3xx` carries none;
/// * the text: `\n` separates lines of a multi-line reply, CR LF is a line break too, any
///   other control character is a space, and a line longer than 512 octets (RFC 5321
///   4.5.3.1.5; 1,024 for X-LINK2STATE) is wrapped, so no text ever makes a second reply
///   (see [`crate::syntax::reply`]). A `334` challenge is one line, never wrapped.
///
/// ```
/// use ehlo::server::{Decision, Server, ServerConfig};
/// use ehlo::{EnhancedCode, Reply};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
/// server.receive(now, b"EHLO c.example.test\r\nMAIL FROM:<a@example.test>\r\n\
///                       RCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n");
/// let decisions = [
///     Decision::Default, // Connect: the 220 greeting
///     Decision::Accept,  // EHLO
///     Decision::Reply(Reply::new(250, None, "Go ahead")), // MAIL: accepted, with this text
///     Decision::Reply(Reply::new(450, Some(EnhancedCode::new(4, 2, 1)), "Mailbox busy")),
///     Decision::Close(Reply::new(421, Some(EnhancedCode::new(4, 3, 2)), "Going down")),
/// ];
/// for decision in decisions {
///     assert!(server.poll_event().is_some_and(|e| e.needs_decision()));
///     server.decide(decision);
/// }
/// let mut wire = Vec::new();
/// server.transmit_into(&mut wire);
/// assert!(wire.ends_with(
///     b"250 2.0.0 Go ahead\r\n450 4.2.1 Mailbox busy\r\n421 4.3.2 Going down\r\n"
/// ));
/// assert!(server.is_closed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The event's documented default.
    Default,
    /// Accept with the standard reply. (For AUTH events this is the default, a failure:
    /// success needs [`Decision::AuthSuccess`].)
    Accept,
    /// Answer with this reply.
    Reply(Reply),
    /// Close the session: send this reply (usually `421 4.x.x`, RFC 5321 3.8) and close.
    /// The reply must be a negative one: a code other than `4xx` / `5xx` (a `354` to
    /// DATA, a `250` to MAIL or to the end of a message, a `334` or `235` to AUTH, a `220`
    /// greeting) would tell the client to go on while the connection closes, so it is
    /// replaced by `421 4.3.0 Service not available, closing transmission channel` and the
    /// caller's text is dropped.
    Close(Reply),
    /// SASL: send `334 <base64 of these octets>` and wait for the client's answer.
    AuthChallenge(Vec<u8>),
    /// SASL: send `334 <text>` as is (e.g. MS-SMTPNTLM's `334 ntlm supported` when no
    /// initial response was given).
    AuthChallengeText(Cow<'static, str>),
    /// SASL: the client is authenticated as `identity` (`235 2.7.0`).
    AuthSuccess {
        /// The authenticated identity, kept in the session state.
        identity: String,
    },
    /// SASL: bad credentials (`535 5.7.8`; for NTLM `535 5.7.3`, the reply \[MS-SMTPNTLM\]
    /// 2.2.1.4 and 3.2.5.2.3 require).
    AuthFailure,
    /// SASL: temporary failure of the back end (`454 4.7.0`).
    AuthTemporaryFailure,
}
