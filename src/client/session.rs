//! The client state machine.

use super::auth::{self, Driver};
use super::config::{AuthVerb, ClientConfig, TlsPolicy};
use super::envelope::{Body, BodyScanner, BodyType, Envelope};
use super::error::{
    CloseReason, Extension, MessageError, ProtocolError, SendError, TimeoutKind, UsageError,
};
use crate::data::{DataEncoder, EncoderConfig};
use crate::syntax::capability::{Capabilities, Capability};
use crate::syntax::command::{
    put_mail_line, put_rcpt_line, Command, ExchangeVerb, InitialResponse, SaslResponse,
};
use crate::syntax::param::{self, MailParams, RcptParams};
use crate::syntax::path::AddressLiteral;
use crate::syntax::reply::{Reply, ReplyParser};
use crate::syntax::xtext::XText;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Below this many queued octets the client produces more body (bounded memory).
const LOW_WATER: usize = 64 * 1024;
/// Size of the pieces a whole body is cut into for the DATA encoder.
const DATA_PIECE: usize = 64 * 1024;
/// While this many replies are awaited the client sends no more BDAT chunks (and asks for
/// no more of a streamed body): each pipelined chunk awaits its own reply (RFC 3030 section
/// 2), so a server that reads but does not answer would otherwise make the client keep one
/// pending reply per chunk for as long as the body lasts.
const MAX_AWAITED: usize = 1024;
/// A buffer of MAIL and RCPT lines up to this size is kept for the next transaction.
const MAX_SPARE_LINES: usize = 4096;
/// The output buffer grows by at least this much at a time (see `reserve_out`).
const OUT_BLOCK: usize = 1024;

/// Identifies a message queued with [`Client::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

/// A step of an authentication exchange the caller drives
/// ([`Credentials::External`](super::Credentials::External)). Answer with [`Client::auth_respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthChallenge {
    /// The mechanism, upper-case (e.g. `NTLM`, `GSSAPI`).
    pub mechanism: String,
    /// The verb carrying the exchange (`AUTH` or `X-EXPS`).
    pub verb: AuthVerb,
    /// `true` when the client asks for the initial response before sending the command
    /// (answer [`AuthResponse::Data`] or [`AuthResponse::NoInitialResponse`]).
    pub initial: bool,
    /// The server challenge, base64-decoded; `None` for the initial step and when the
    /// `334` text is not base64 (\[MS-SMTPNTLM\] servers send human-readable text to an
    /// `AUTH NTLM` without initial response).
    pub data: Option<Vec<u8>>,
    /// The `334` reply itself (`None` for the initial step).
    pub reply: Option<Reply>,
}

/// The caller's answer to an [`AuthChallenge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResponse {
    /// These octets (the client base64-encodes them).
    Data(Vec<u8>),
    /// For the initial step: send the command without an initial response. For a later
    /// step: an empty response.
    NoInitialResponse,
    /// Cancel the exchange (`*`, RFC 4954 section 4).
    Cancel,
}

/// The outcome for one recipient.
///
/// # Recipients held back under the server's LIMITS
///
/// When the server's EHLO reply advertises `LIMITS RCPTMAX` or `RCPTDOMAINMAX`
/// (RFC 9422 sections 4.2 and 4.3), the client sends at most `RCPTMAX` `RCPT` commands in
/// a transaction, for recipients in at most `RCPTDOMAINMAX` distinct domains. A recipient
/// beyond them is not sent in this transaction; its `reply` is a `452 4.5.3` that **the
/// client writes itself**, not the server (see [`RecipientStatus::HELD_BACK_TEXT`]): the
/// answer RFC 5321 4.5.3.1.10 and RFC 9422 4.2 give to a recipient over the limit, so the
/// caller handles it exactly as a server's "too many recipients":
/// [`Envelope::deferred`] puts it in the envelope for the next transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// Index in [`Envelope::recipients`].
    pub index: usize,
    /// The server's reply to `RCPT`, `None` if the command was never answered (the
    /// transaction failed before, or the session closed); or the client's own
    /// `452 4.5.3` for a recipient held back under the server's LIMITS (see above).
    pub reply: Option<Reply>,
}

impl RecipientStatus {
    /// The text of the `452 4.5.3` reply the client writes for a recipient it held back
    /// because the transaction already has as many recipients (`RCPTMAX`) or recipient
    /// domains (`RCPTDOMAINMAX`) as the server's LIMITS allow (RFC 9422 sections 4.2 and
    /// 4.3). No server sent it (a server sending this very text would be taken for the
    /// client's own reply by [`RecipientStatus::held_back`], which changes nothing else).
    pub const HELD_BACK_TEXT: &'static str =
        "Not sent: over the server's LIMITS for one transaction (RFC 9422), send it in another";

    /// Whether the server accepted the recipient (`2xx`).
    pub fn accepted(&self) -> bool {
        self.reply.as_ref().is_some_and(is_positive)
    }

    /// Whether the client held this recipient back under the server's LIMITS (its reply is
    /// the client's own `452 4.5.3`, see [`RecipientStatus::HELD_BACK_TEXT`]): no `RCPT`
    /// was sent for it.
    pub fn held_back(&self) -> bool {
        self.reply.as_ref().is_some_and(is_held_back)
    }

    /// What became of the message for this recipient, given the message's `result` (both
    /// from the same [`Event::MessageResult`]): what a mail queue does next.
    ///
    /// A refused `MAIL` ([`MessageError::SenderRejected`]) decides for every recipient,
    /// by its class: the `RCPT`s pipelined behind it are answered out of sequence
    /// (`503`, RFC 2920 3.1), not about the recipient, so a greylisted sender (`451`) is
    /// never a failed recipient. Otherwise the recipient's own refusal decides first: a
    /// `5xx` to its `RCPT` is [`Outcome::Failed`], except `552`, which RFC 5321
    /// 4.5.3.1.10 says to treat as a temporary "too many recipients", and a `4xx` (the
    /// client's own held-back `452` included) [`Outcome::Deferred`] (RFC 5321 4.2.1).
    /// For an accepted recipient, or one never
    /// answered, the message decides: a final `2xx` is [`Outcome::Delivered`] (RFC 5321
    /// 6.1: the server has taken responsibility), a `5xx` refusal of the sender or the
    /// content [`Outcome::Failed`], a `4xx` [`Outcome::Deferred`]; a session that ended
    /// first ([`MessageError::SessionClosed`]) or ran out of transactions
    /// ([`MessageError::TransactionLimit`]) is [`Outcome::Deferred`]; a message this
    /// server can never take as it is ([`MessageError::Unsupported`],
    /// [`MessageError::TooLarge`] (RFC 1870's `552`), an invalid envelope or body) is
    /// [`Outcome::Failed`].
    ///
    /// ```
    /// use ehlo::client::{Outcome, RecipientStatus};
    /// use ehlo::Reply;
    ///
    /// let accepted = RecipientStatus { index: 0, reply: Some(Reply::new(250, None, "OK")) };
    /// let refused = RecipientStatus { index: 1, reply: Some(Reply::new(550, None, "No such user")) };
    /// let busy = RecipientStatus { index: 2, reply: Some(Reply::new(451, None, "Try later")) };
    /// let result = Ok(Reply::new(250, None, "Queued"));
    /// assert_eq!(accepted.outcome(&result), Outcome::Delivered);
    /// assert_eq!(refused.outcome(&result), Outcome::Failed);
    /// assert_eq!(busy.outcome(&result), Outcome::Deferred);
    /// ```
    pub fn outcome(&self, result: &Result<Reply, MessageError>) -> Outcome {
        // A refused MAIL opened no transaction: the RCPTs pipelined behind it were out of
        // sequence and their replies (`503 5.5.1`, RFC 5321 4.1.4, RFC 2920 3.1) say
        // nothing about the recipients.
        if let Err(MessageError::SenderRejected(r)) = result {
            return if r.code.0 >= 500 {
                Outcome::Failed
            } else {
                Outcome::Deferred
            };
        }
        match &self.reply {
            // RFC 5321 4.5.3.1.10: `552` to RCPT is RFC 821's "too many recipients",
            // which clients SHOULD treat as temporary.
            Some(r) if r.code.0 == 552 => return Outcome::Deferred,
            Some(r) if r.code.0 >= 500 => return Outcome::Failed,
            Some(r) if r.code.0 >= 300 => return Outcome::Deferred,
            _ => {}
        }
        match result {
            Ok(r) if is_positive(r) && self.reply.is_some() => Outcome::Delivered,
            // A recipient never answered is not known to be delivered.
            Ok(_) => Outcome::Deferred,
            Err(MessageError::SenderRejected(r) | MessageError::Rejected(r)) => {
                if r.code.0 >= 500 {
                    Outcome::Failed
                } else {
                    Outcome::Deferred
                }
            }
            Err(
                MessageError::SessionClosed(_)
                | MessageError::TransactionLimit { .. }
                | MessageError::NoValidRecipients,
            ) => Outcome::Deferred,
            Err(
                MessageError::Unsupported(_)
                | MessageError::TooLarge { .. }
                | MessageError::NoRecipients
                | MessageError::InvalidEnvelope
                | MessageError::Xexch50TooLarge
                | MessageError::BodyTypeViolation,
            ) => Outcome::Failed,
        }
    }
}

/// What became of a message for one recipient ([`RecipientStatus::outcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The server took responsibility for the message (RFC 5321 6.1): done.
    Delivered,
    /// A transient failure: send it again later, in a new transaction or on a new
    /// connection (RFC 5321 4.2.1, 4.5.4.1).
    Deferred,
    /// A permanent failure with this server: do not send it there again as it is; a
    /// non-delivery report is due to the sender (RFC 5321 4.2.1, 6.1).
    Failed,
}

/// The `452 4.5.3` the client writes for a recipient held back under the server's LIMITS.
fn held_back_reply() -> Reply {
    Reply::new(
        452,
        Some(crate::syntax::reply::EnhancedCode::new(4, 5, 3)),
        RecipientStatus::HELD_BACK_TEXT,
    )
}

fn is_held_back(r: &Reply) -> bool {
    r.code.0 == 452
        && r.enhanced == Some(crate::syntax::reply::EnhancedCode::new(4, 5, 3))
        && r.text == RecipientStatus::HELD_BACK_TEXT
}

/// What the client reports. Poll with [`Client::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's `220` greeting (or the `554` refusal, followed by `Closed`).
    Greeting(Reply),
    /// The capabilities of an EHLO reply (empty after a HELO fallback). Sent again after
    /// TLS, when the client re-issues EHLO (RFC 3207 section 4.2).
    Capabilities(Capabilities),
    /// The server accepted STARTTLS (or X-ANONYMOUSTLS, see `anonymous`): drain
    /// [`Client::poll_transmit`] (nothing more comes), run the TLS handshake on the
    /// transport, then call [`Client::tls_established`]. Every byte handed to
    /// [`Client::receive`] before that is treated as response injection. The machine
    /// runs no timer during the handshake ([`Client::poll_timeout`] is `None` until
    /// [`Client::tls_established`]): bounding it is the caller's, as it owns the
    /// transport (`examples/smtp-send.rs` bounds it with its `--timeout`).
    StartTls {
        /// `true` for Exchange's X-ANONYMOUSTLS.
        anonymous: bool,
    },
    /// The caller-driven mechanism needs an answer ([`Client::auth_respond`]).
    AuthChallenge(AuthChallenge),
    /// Authentication succeeded.
    Authenticated {
        /// The mechanism used.
        mechanism: String,
        /// The server's `235` reply.
        reply: Reply,
    },
    /// The session is ready for mail (after greeting, EHLO, TLS and AUTH as configured).
    /// Messages queued earlier start now.
    Ready,
    /// The client wants the next piece of a streamed body: call [`Client::push_body`] once
    /// or [`Client::finish_body`].
    BodyNeeded(MessageId),
    /// The reply to one `RCPT`; or, for a recipient the client holds back under the
    /// server's LIMITS (RFC 9422), the client's own `452 4.5.3` (see [`RecipientStatus`]),
    /// reported when the transaction starts.
    RecipientResult {
        /// The message.
        message: MessageId,
        /// Index in [`Envelope::recipients`].
        index: usize,
        /// `true` for a `2xx` reply.
        accepted: bool,
        /// The full reply.
        reply: Reply,
    },
    /// A message is done: delivered (the final reply) or not (why).
    MessageResult {
        /// The message.
        message: MessageId,
        /// The final `250` reply, or the error.
        result: Result<Reply, MessageError>,
        /// Per-recipient outcomes.
        recipients: Vec<RecipientStatus>,
    },
    /// The session is over; drop the transport.
    Closed(CloseReason),
    /// The answer to an Exchange verb queued with
    /// [`Client::send_exchange`](super::Client::send_exchange): the server's reply, or
    /// why the verb was not sent or not answered.
    ExchangeReply {
        /// The verb.
        verb: ExchangeVerb,
        /// The server's reply (any code), or the reason there is none.
        result: Result<Reply, super::exchange::ExchangeError>,
    },
    /// [`Client::send_query`]: the server's reply (any code), or why the command was not
    /// sent or not answered.
    QueryReply {
        /// The query.
        query: super::query::Query,
        /// The server's reply, or the reason there is none.
        result: Result<Reply, super::query::QueryError>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Hello,
    Tls,
    AwaitTls,
    Auth,
    Ready,
    Quitting,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    Greeting,
    Ehlo,
    Helo,
    Tls {
        anonymous: bool,
    },
    Auth,
    Mail,
    Rcpt(usize),
    Xexch50,
    Xexch50Data,
    Data,
    DataEnd,
    Bdat {
        last: bool,
    },
    Rset,
    Quit,
    Exchange(ExchangeVerb),
    /// A [`super::Query`], by verb.
    Query(&'static str),
}

#[derive(Debug, Clone)]
struct Pending {
    expect: Expect,
    timeout: Duration,
    kind: TimeoutKind,
    /// When the command was handed to the transport (`None`: not yet). A reply to a
    /// command not yet sent is unsolicited.
    sent_at: Option<Instant>,
    /// Where the command, with what it carries (a BDAT chunk, the end of the message
    /// content), ends in the client's output: it counts as handed out, and its reply
    /// timer may start, once the transport has taken that many octets.
    end: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxStep {
    Mail,
    Rcpt(usize),
    Xexch50,
    Data,
    Bdat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyPhase {
    Pending,
    Active,
    Done,
}

#[derive(Debug)]
enum Source {
    Whole {
        data: Bytes,
        offset: usize,
    },
    Stream {
        declared: BodyType,
        scanner: BodyScanner,
        requested: bool,
        held: Option<Bytes>,
    },
}

#[derive(Debug)]
struct Queued {
    id: MessageId,
    envelope: Envelope,
    body: Body,
}

#[derive(Debug)]
struct Txn {
    id: MessageId,
    envelope: Envelope,
    source: Source,
    use_bdat: bool,
    /// The XEXCH50 blob goes out after the recipients.
    xexch50: bool,
    /// The MAIL line, then the RCPT line of every recipient sent, in order: encoded and
    /// checked when the transaction was planned, in one buffer.
    lines: Vec<u8>,
    /// Where the next line to send starts in `lines`.
    line_pos: usize,
    /// The next step to take (`None`: nothing more to send but the body). Recipients are
    /// sent in order, those whose slot in `rcpt` is empty when planned (the others are held
    /// back), so the steps need no list of their own.
    next: Option<TxStep>,
    /// One status per recipient of the envelope: the server's reply, or the client's
    /// `452 4.5.3` for a recipient held back under the server's LIMITS. It becomes the
    /// recipients of the [`Event::MessageResult`] as it is.
    rcpt: Vec<RecipientStatus>,
    /// How many recipients this transaction sends (the others are held back).
    sent: usize,
    answered: usize,
    accepted: usize,
    failed: Option<MessageError>,
    delivered: Option<Reply>,
    barrier: bool,
    phase: BodyPhase,
    encoder: Option<DataEncoder>,
}

#[derive(Debug)]
enum AuthWait {
    /// Waiting for the server.
    Server,
    /// Waiting for the caller's initial response.
    CallerInitial,
    /// Waiting for the caller's answer to a challenge.
    CallerChallenge,
}

#[derive(Debug)]
struct AuthState {
    verb: AuthVerb,
    mechanism: String,
    driver: Driver,
    wait: AuthWait,
    /// An initial response that did not fit on the command line: sent on the first `334`.
    deferred: Option<Vec<u8>>,
    /// The client sent `*`: the only answer left is the server's `501` (RFC 4954
    /// section 4).
    cancelled: bool,
}

/// The sans-IO SMTP client session. See the [module documentation](super) for the loop and
/// a whole session.
///
/// ```
/// use ehlo::client::{Client, ClientConfig, Envelope, Event, TlsPolicy};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut config = ClientConfig::new("client.example.test");
/// config.tls = TlsPolicy::Never;
/// let mut client = Client::new(config, now);
/// client.send(Envelope::new("a@example.test")?.recipient("b@example.test")?, b"Hi\r\n").unwrap();
/// client.receive(b"220 mx.example.test ESMTP\r\n");
/// assert_eq!(client.poll_event(), Some(Event::Greeting(ehlo::Reply::new(220, None, "mx.example.test ESMTP"))));
/// assert_eq!(client.poll_transmit(now).as_deref(), Some(&b"EHLO client.example.test\r\n"[..]));
/// # Ok::<(), ehlo::syntax::PathError>(())
/// ```
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    state: State,
    input: BytesMut,
    parser: ReplyParser,
    out: BytesMut,
    transmit: VecDeque<Bytes>,
    transmit_len: usize,
    /// Octets handed to the transport so far.
    handed_out: u64,
    pub(super) events: VecDeque<Event>,
    /// Exchange verbs and queries queued with `send_exchange` and `send_query` (see
    /// `client/exchange.rs`, `client/query.rs`), in order.
    pub(super) side_queue: VecDeque<super::query::Side>,
    /// The query sent and not yet answered (one at a time).
    pub(super) query_in_flight: Option<super::query::Query>,
    expects: VecDeque<Pending>,
    caps: Option<Capabilities>,
    esmtp: bool,
    tls_active: bool,
    tls_declined: bool,
    auth: Option<AuthState>,
    authenticated: bool,
    /// The authentication used X-EXPS (an Exchange peer).
    pub(super) exps_authenticated: bool,
    ready_sent: bool,
    queue: VecDeque<Queued>,
    txn: Option<Txn>,
    /// The buffer of MAIL and RCPT lines of the last transaction, for the next one.
    spare_lines: Vec<u8>,
    /// `MAIL` commands sent in this session (RFC 9422 section 4.1 counts every one,
    /// accepted or not).
    transactions: u64,
    next_id: u64,
    quit_requested: bool,
    close_reason: Option<CloseReason>,
    /// Where the data-block timer (RFC 5321 4.5.3.2.5) starts: when the transport last
    /// took output that left more waiting, or, for output queued after the queue ran
    /// empty, the first time the client was given since. `None` while nothing has waited
    /// since the queue ran empty.
    last_send: Option<Instant>,
    /// The latest time the client was given.
    now_seen: Instant,
    /// When the reply at the front of `expects` became the one awaited, as far as the
    /// replies before it go: the arrival of the previous reply. `None` right after a reply
    /// arrived, until the client is next given the time (see [`Client::poll_timeout`]).
    awaited_since: Option<Instant>,
}

fn is_positive(r: &Reply) -> bool {
    (200..300).contains(&r.code.0)
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

impl Client {
    /// A client for a connection that was just opened at `now` (the greeting timer of
    /// RFC 5321 4.5.3.2.1 starts here).
    pub fn new(config: ClientConfig, now: Instant) -> Client {
        let parser = ReplyParser::new(config.max_reply_line, config.max_reply_lines);
        let tls_active = config.implicit_tls;
        let timeout = config.timeouts.greeting;
        let mut expects = VecDeque::new();
        expects.push_back(Pending {
            expect: Expect::Greeting,
            timeout,
            kind: TimeoutKind::Greeting,
            sent_at: Some(now),
            end: 0,
        });
        Client {
            config,
            state: State::Greeting,
            input: BytesMut::new(),
            parser,
            out: BytesMut::new(),
            transmit: VecDeque::new(),
            transmit_len: 0,
            handed_out: 0,
            events: VecDeque::new(),
            side_queue: VecDeque::new(),
            query_in_flight: None,
            expects,
            caps: None,
            esmtp: false,
            tls_active,
            tls_declined: false,
            auth: None,
            authenticated: false,
            exps_authenticated: false,
            ready_sent: false,
            queue: VecDeque::new(),
            txn: None,
            spare_lines: Vec::new(),
            transactions: 0,
            next_id: 0,
            quit_requested: false,
            close_reason: None,
            last_send: None,
            now_seen: now,
            awaited_since: Some(now),
        }
    }

    /// Whether new commands may still be queued (not closed, not quitting).
    pub(super) fn open_for_commands(&self) -> bool {
        !matches!(self.state, State::Closed | State::Quitting) && !self.quit_requested
    }

    /// Whether the last hello was EHLO.
    pub(super) fn is_esmtp(&self) -> bool {
        self.esmtp
    }

    /// The expected replies still outstanding.
    pub(super) fn outstanding(&self) -> impl Iterator<Item = Expect> + '_ {
        self.expects.iter().map(|p| p.expect)
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The capabilities of the last EHLO reply, if any.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.caps.as_ref()
    }

    /// Whether TLS is active (after [`Client::tls_established`], or implicit TLS).
    pub fn is_tls(&self) -> bool {
        self.tls_active
    }

    /// Whether the session is over ([`Event::Closed`] was queued).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Queues a message. It goes out as soon as the session is ready and the messages
    /// before it are done; its outcome arrives as [`Event::MessageResult`].
    ///
    /// Whether the server can take the message is checked once its capabilities are
    /// known, before any byte of the transaction is sent.
    pub fn send(
        &mut self,
        envelope: Envelope,
        body: impl Into<Body>,
    ) -> Result<MessageId, SendError> {
        if self.state == State::Closed || self.state == State::Quitting || self.quit_requested {
            return Err(SendError::Closed);
        }
        let id = MessageId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        self.queue.push_back(Queued {
            id,
            envelope,
            body: body.into(),
        });
        self.advance();
        Ok(id)
    }

    /// Ends the session politely: once every queued message is done, sends `QUIT`.
    pub fn quit(&mut self) {
        self.quit_requested = true;
        self.advance();
    }

    /// Feeds bytes read from the transport.
    ///
    /// Each complete reply is acted on before the next one is read (the machine advances
    /// after every reply), so the outcome does not depend on how the transport split the
    /// server's bytes: feeding `a` then `b` is the same as feeding `a ++ b`. In particular
    /// a transaction is over as soon as its final reply is read (RFC 5321 4.1.1.4: after
    /// the `250` to the end of data the server is responsible for the message), whatever
    /// follows in the same read (a `421`, a malformed or unsolicited reply).
    pub fn receive(&mut self, data: &[u8]) {
        if self.state == State::Closed {
            return;
        }
        if self.state == State::AwaitTls {
            if !data.is_empty() {
                // As for injected bytes in the same read (below): a StartTls event the
                // caller has not taken yet is withdrawn, so the outcome does not depend on
                // how the bytes were split.
                self.events.retain(|e| !matches!(e, Event::StartTls { .. }));
                self.close(CloseReason::Protocol(ProtocolError::ResponseInjection));
            }
            return;
        }
        self.input.extend_from_slice(data);
        loop {
            if self.state == State::Closed {
                break;
            }
            if self.state == State::AwaitTls {
                if !self.input.is_empty() {
                    // The go-ahead and injected bytes came in one read: withdraw the
                    // StartTls event so the caller never starts the handshake.
                    self.events.retain(|e| !matches!(e, Event::StartTls { .. }));
                    self.close(CloseReason::Protocol(ProtocolError::ResponseInjection));
                }
                break;
            }
            match self.parser.decode(&mut self.input) {
                Ok(Some(reply)) => {
                    // The next reply is awaited from now on; `receive` is not given the
                    // time, the next call that is starts its timer.
                    self.awaited_since = None;
                    self.on_reply(reply);
                    // As if this reply had come alone: finish the transaction it ended
                    // and queue what follows before the next reply is read.
                    self.advance();
                }
                Ok(None) => break,
                Err(e) => {
                    self.close(CloseReason::Protocol(ProtocolError::Malformed(e)));
                    break;
                }
            }
        }
        self.advance();
    }

    /// The transport was closed by the peer (or failed).
    pub fn peer_closed(&mut self) {
        if self.state == State::Closed {
            return;
        }
        // A session the client ended itself keeps its reason (see `close`).
        let reason = if self.state == State::Quitting {
            CloseReason::Quit(None)
        } else {
            CloseReason::PeerClosed
        };
        self.close(reason);
    }

    /// The TLS handshake after [`Event::StartTls`] completed: the client forgets what it
    /// knew about the server and sends EHLO again (RFC 3207 section 4.2).
    pub fn tls_established(&mut self) -> Result<(), UsageError> {
        if self.state != State::AwaitTls {
            return Err(UsageError::NotAwaitingTls);
        }
        self.tls_active = true;
        self.input.clear();
        self.parser = ReplyParser::new(self.config.max_reply_line, self.config.max_reply_lines);
        self.caps = None;
        self.esmtp = false;
        self.send_hello(true);
        self.advance();
        Ok(())
    }

    /// Answers an [`Event::AuthChallenge`].
    pub fn auth_respond(&mut self, response: AuthResponse) -> Result<(), UsageError> {
        let Some(auth) = self.auth.as_mut() else {
            return Err(UsageError::NoChallenge);
        };
        match auth.wait {
            AuthWait::Server => return Err(UsageError::NoChallenge),
            AuthWait::CallerInitial => {
                auth.wait = AuthWait::Server;
                let (verb, mech) = (auth.verb, auth.mechanism.clone());
                match response {
                    AuthResponse::Cancel => {
                        self.auth = None;
                        self.fail_session(CloseReason::AuthFailed(None));
                    }
                    AuthResponse::NoInitialResponse => self.send_auth_command(verb, &mech, None),
                    AuthResponse::Data(d) => self.send_auth_command(verb, &mech, Some(d)),
                }
            }
            AuthWait::CallerChallenge => {
                auth.wait = AuthWait::Server;
                match response {
                    AuthResponse::Cancel => self.send_sasl_line(None),
                    AuthResponse::NoInitialResponse => self.send_sasl_line(Some(&[])),
                    AuthResponse::Data(d) => self.send_sasl_line(Some(&d)),
                }
            }
        }
        self.advance();
        Ok(())
    }

    /// Supplies the next piece of a streamed body, in answer to an [`Event::BodyNeeded`]
    /// (one piece per event; [`UsageError::BodyNotExpected`] otherwise: for another message,
    /// before the event, a second piece for one event, after [`Client::finish_body`], or
    /// once the message failed or the session closed, which can make an event not yet
    /// answered stale). An empty piece sends nothing and asks for the next one.
    ///
    /// The client asks for the next piece only while less than 64 KiB of output waits for
    /// the transport (and, with BDAT, fewer than 1024 replies are awaited), so it never
    /// holds more than that and the pieces in hand. With BDAT
    /// (RFC 3030) each piece becomes one chunk without copying; the piece is held until the
    /// next call so that the last one goes out as `BDAT <n> LAST`. With DATA it runs
    /// through the dot-stuffing encoder (RFC 5321 4.5.2), across pieces.
    ///
    /// A piece that breaks the declared [`BodyType`] is not sent and aborts the message
    /// (this returns [`UsageError::BodyTypeViolation`] and the message fails with
    /// [`MessageError::BodyTypeViolation`]): with BDAT the client sends `RSET` once the
    /// chunks already sent are answered; in the middle of DATA nothing can end the content
    /// without delivering it, so the session closes with [`CloseReason::Aborted`] (drop
    /// the connection).
    pub fn push_body(&mut self, id: MessageId, chunk: Bytes) -> Result<(), UsageError> {
        self.check_body(id)?;
        let Some(txn) = self.txn.as_mut() else {
            return Err(UsageError::BodyNotExpected);
        };
        let Source::Stream {
            declared,
            scanner,
            requested,
            held,
        } = &mut txn.source
        else {
            return Err(UsageError::BodyNotExpected);
        };
        if !std::mem::replace(requested, false) {
            return Err(UsageError::BodyNotExpected);
        }
        scanner.scan(&chunk);
        if scanner.seen_type() > *declared {
            self.abort_body();
            self.advance();
            return Err(UsageError::BodyTypeViolation);
        }
        if chunk.is_empty() {
            self.advance();
            return Ok(());
        }
        if txn.use_bdat {
            if let Some(prev) = held.replace(chunk) {
                self.send_bdat(prev, false);
            }
        } else if let Some(enc) = txn.encoder.as_mut() {
            reserve_out(&mut self.out, chunk.len().saturating_add(8));
            enc.encode(&chunk, &mut self.out);
        }
        self.advance();
        Ok(())
    }

    /// Ends a streamed body, in answer to an [`Event::BodyNeeded`]
    /// ([`UsageError::BodyNotExpected`] otherwise, as for [`Client::push_body`]).
    ///
    /// With BDAT the piece held back goes out as `BDAT <n> LAST` (`BDAT 0 LAST` for an
    /// empty body, RFC 3030 section 2); with DATA the client ends the content with a CRLF
    /// if it does not end with one, then `.` CRLF (RFC 5321 4.1.1.4). A body that ends in
    /// a CR (a bare CR, so [`BodyType::Binary`]) breaks a narrower declared type: the
    /// message is aborted as by [`Client::push_body`], with
    /// [`UsageError::BodyTypeViolation`].
    pub fn finish_body(&mut self, id: MessageId) -> Result<(), UsageError> {
        self.check_body(id)?;
        let Some(txn) = self.txn.as_mut() else {
            return Err(UsageError::BodyNotExpected);
        };
        let Source::Stream {
            declared,
            scanner,
            requested,
            held,
        } = &mut txn.source
        else {
            return Err(UsageError::BodyNotExpected);
        };
        if !std::mem::replace(requested, false) {
            return Err(UsageError::BodyNotExpected);
        }
        if scanner.body_type() > *declared {
            self.abort_body();
            self.advance();
            return Err(UsageError::BodyTypeViolation);
        }
        let held = held.take();
        txn.phase = BodyPhase::Done;
        if txn.use_bdat {
            self.send_bdat(held.unwrap_or_default(), true);
        } else {
            if let Some(enc) = txn.encoder.as_mut() {
                reserve_out(&mut self.out, 5);
                enc.finish(&mut self.out);
            }
            self.expect(Expect::DataEnd);
        }
        self.advance();
        Ok(())
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next bytes to write to the transport, if any. `now` starts the reply timers of
    /// the commands handed out; it also tells the client the time (see
    /// [`Client::poll_timeout`]), so call it after every [`Client::receive`], even when
    /// nothing is to be written.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        if self.state == State::Closed {
            return None;
        }
        let now = self.observe(now);
        self.flush_out();
        if self.transmit.is_empty() {
            self.refill();
            self.flush_out();
        }
        let Some(seg) = self.transmit.pop_front() else {
            self.last_send = None;
            return None;
        };
        self.transmit_len = self.transmit_len.saturating_sub(seg.len());
        self.handed_out = self.handed_out.saturating_add(seg.len() as u64);
        // RFC 5321 4.5.3.2.5 times the transport taking what waits, not the time the
        // server or the caller takes to make more wait (the 354, the next streamed chunk).
        self.last_send = (self.queued_len() > 0).then_some(now);
        // Only commands whose last octet is in what the transport has taken: a BDAT
        // reply's timer (RFC 5321 4.5.3.2.6) starts once its chunk is out, not its line.
        for p in self.expects.iter_mut() {
            if p.sent_at.is_none() && p.end <= self.handed_out {
                p.sent_at = Some(now);
            }
        }
        Some(seg)
    }

    /// When [`Client::handle_timeout`] must be called next, if a timer runs.
    ///
    /// Each reply has its own timer (RFC 5321 4.5.3.2), which starts when that reply
    /// becomes the one awaited: at the later of the moment its command was handed out
    /// ([`Client::poll_transmit`]) and the arrival of the reply before it. With PIPELINING
    /// (RFC 2920) a flight of commands goes out at once, but the server answers them in
    /// order, so the 354 to DATA is timed from the last RCPT reply, not from when DATA
    /// was written. [`Client::receive`] takes no time argument (the machine stays
    /// deterministic and its API unchanged): a reply is taken to have arrived at the next
    /// time the client is given, by [`Client::poll_transmit`] or
    /// [`Client::handle_timeout`]. Until then, this returns the last time the client was
    /// given, which has passed: a caller that sleeps until this instant calls
    /// [`Client::handle_timeout`] at once, which starts the timer and fires nothing.
    ///
    /// While message content waits for the transport, the data-block timer of RFC 5321
    /// 4.5.3.2.5 runs too: it starts when content is queued while nothing was waiting (the
    /// body after the `354`, a streamed chunk from [`Client::push_body`], taken to happen
    /// at the next time the client is given, as a reply's arrival is) and again each time
    /// [`Client::poll_transmit`] hands out part of it. No timer runs while the client waits
    /// for the caller's next chunk after [`Event::BodyNeeded`]: how long producing the
    /// body may take is the caller's to bound.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline().map(|(t, _)| t)
    }

    /// Tells the client the time; a reply timeout that has expired closes the session
    /// with [`CloseReason::Timeout`] (RFC 5321 4.5.3.2). After a reply arrived, the first
    /// time given (here or to [`Client::poll_transmit`]) starts the next reply's timer.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.observe(now);
        if let Some((deadline, kind)) = self.deadline() {
            if now >= deadline {
                self.close(CloseReason::Timeout(kind));
            }
        }
    }

    fn deadline(&self) -> Option<(Instant, TimeoutKind)> {
        if self.state == State::Closed {
            return None;
        }
        let mut best: Option<(Instant, TimeoutKind)> = None;
        if let Some(p) = self.expects.front() {
            if let Some(sent) = p.sent_at {
                best = match self.awaited_since {
                    // RFC 5321 4.5.3.2 with RFC 2920: the timer starts when this reply
                    // is the one awaited (see `poll_timeout`).
                    Some(since) => sent.max(since).checked_add(p.timeout).map(|t| (t, p.kind)),
                    // The previous reply just arrived: ask for the time now.
                    None => Some((self.now_seen, p.kind)),
                };
            }
        }
        // 4.5.3.2.5: message bytes waiting to be taken by the transport for too long.
        let sending = self
            .txn
            .as_ref()
            .is_some_and(|t| t.phase != BodyPhase::Pending);
        if sending && self.queued_len() > 0 {
            let block = self.config.timeouts.data_block;
            let t = match self.last_send {
                Some(at) => at.checked_add(block),
                // Output queued since the queue ran empty: ask for the time now.
                None => Some(self.now_seen),
            };
            if let Some(t) = t {
                if best.map_or(true, |(b, _)| t < b) {
                    best = Some((t, TimeoutKind::DataBlock));
                }
            }
        }
        best
    }

    /// The client is given the time: the latest seen, the start of the awaited reply's
    /// timer if a reply arrived since the last time, and the start of the data-block timer
    /// if output was queued since the queue ran empty. Returns the time to use: a `now`
    /// earlier than one already given is no time passed (the timers of RFC 5321 4.5.3.2
    /// start no earlier than the latest time the client knows of, so a stale `Instant`
    /// never shortens a wait).
    fn observe(&mut self, now: Instant) -> Instant {
        self.now_seen = self.now_seen.max(now);
        let now = self.now_seen;
        if self.awaited_since.is_none() {
            self.awaited_since = Some(now);
        }
        if self.last_send.is_none() && self.queued_len() > 0 {
            // Output queued since the queue ran empty waits from now on (4.5.3.2.5).
            self.last_send = Some(now);
        }
        now
    }

    // ----- output helpers -----

    fn flush_out(&mut self) {
        if !self.out.is_empty() {
            let seg = self.out.split().freeze();
            self.transmit_len = self.transmit_len.saturating_add(seg.len());
            self.transmit.push_back(seg);
        }
    }

    fn push_segment(&mut self, seg: Bytes) {
        self.flush_out();
        if !seg.is_empty() {
            self.transmit_len = self.transmit_len.saturating_add(seg.len());
            self.transmit.push_back(seg);
        }
    }

    fn queued_len(&self) -> usize {
        self.transmit_len.saturating_add(self.out.len())
    }

    /// Where the output queued so far ends, counted from the start of the session.
    fn queued_end(&self) -> u64 {
        self.handed_out.saturating_add(self.queued_len() as u64)
    }

    fn expect(&mut self, expect: Expect) {
        let t = &self.config.timeouts;
        let (timeout, kind) = match expect {
            Expect::Greeting => (t.greeting, TimeoutKind::Greeting),
            Expect::Mail => (t.mail, TimeoutKind::Mail),
            Expect::Rcpt(_) => (t.rcpt, TimeoutKind::Rcpt),
            Expect::Data => (t.data_initiation, TimeoutKind::DataInitiation),
            Expect::DataEnd | Expect::Bdat { .. } => {
                (t.data_termination, TimeoutKind::DataTermination)
            }
            _ => (t.other, TimeoutKind::Command),
        };
        self.expects.push_back(Pending {
            expect,
            timeout,
            kind,
            sent_at: None,
            end: self.queued_end(),
        });
    }

    pub(super) fn command(&mut self, cmd: &Command<'_>, expect: Expect) {
        // Most commands fit in this much; a longer one grows the buffer as it is written.
        reserve_out(&mut self.out, 64);
        cmd.encode(&mut self.out);
        self.expect(expect);
    }

    fn send_hello(&mut self, ehlo: bool) {
        let domain = Cow::Owned(self.config.hostname.clone());
        let (cmd, expect) = if ehlo {
            (Command::Ehlo { domain }, Expect::Ehlo)
        } else {
            (Command::Helo { domain }, Expect::Helo)
        };
        let mut line = BytesMut::new();
        cmd.encode(&mut line);
        // RFC 5321 4.1.1.1: a Domain or an address-literal, in ASCII: the hello comes
        // before the server could offer SMTPUTF8 (RFC 6531 3.7.1 wants A-labels here).
        // Domains are not held to the letter (Windows host names with `_` are common and
        // servers take them); a literal must be one. Either is at most 255 octets (RFC 5321
        // 4.5.3.1.2), which keeps the line within the 512 octets of 4.5.3.1.4.
        let name = self.config.hostname.as_str();
        let valid = !name.is_empty()
            && name.len() <= crate::limits::MAX_DOMAIN
            && name.is_ascii()
            && !name.contains(' ')
            && (!name.starts_with('[') || AddressLiteral::parse(name).is_ok());
        if !clean_line(&line) || !valid {
            self.close(CloseReason::InvalidHostname);
            return;
        }
        self.out.extend_from_slice(&line);
        self.expect(expect);
        self.state = State::Hello;
    }

    fn send_quit(&mut self) {
        self.command(&Command::Quit, Expect::Quit);
        self.state = State::Quitting;
    }

    // ----- closing -----

    /// Ends the session now (no QUIT): fails every message, queues `Closed`.
    ///
    /// After the client ended the session itself ([`Client::fail_session`]: greeting or
    /// hello refused, TLS or AUTH unavailable, AUTH failed) and sent `QUIT`, the reason it
    /// quit for stands, whatever ends the wait for the QUIT reply (RFC 5321 4.1.1.10: the
    /// reply, a `421`, the peer closing, the timeout of 4.5.3.2, a malformed reply): the
    /// messages already failed with it, and a caller must not take a refusal by policy for a
    /// transient failure.
    fn close(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        let reason = self.close_reason.take().unwrap_or(reason);
        self.state = State::Closed;
        self.fail_exchange_expects();
        self.fail_all(&reason);
        self.expects.clear();
        self.transmit.clear();
        self.transmit_len = 0;
        self.out.clear();
        self.input.clear();
        self.auth = None;
        self.events.push_back(Event::Closed(reason));
    }

    /// Ends the session with QUIT; `Closed(reason)` follows the QUIT reply.
    fn fail_session(&mut self, reason: CloseReason) {
        if matches!(self.state, State::Closed | State::Quitting) {
            return;
        }
        self.fail_all(&reason);
        self.close_reason = Some(reason);
        self.auth = None;
        self.send_quit();
    }

    fn fail_all(&mut self, reason: &CloseReason) {
        self.fail_side_queue();
        if let Some(txn) = self.txn.take() {
            // RFC 5321 4.1.1.4 / 6.1: a message whose final reply was a success is the
            // server's responsibility, whatever happens to the session afterwards;
            // reporting it failed would make the caller send it again.
            let result = match (txn.delivered, txn.failed) {
                (Some(reply), None) => Ok(reply),
                (_, Some(err)) => Err(err),
                (None, None) => Err(MessageError::SessionClosed(reason.clone())),
            };
            self.events.push_back(Event::MessageResult {
                message: txn.id,
                result,
                recipients: txn.rcpt,
            });
        }
        while let Some(q) = self.queue.pop_front() {
            self.events.push_back(Event::MessageResult {
                message: q.id,
                result: Err(MessageError::SessionClosed(reason.clone())),
                recipients: (0..q.envelope.recipients.len())
                    .map(|index| RecipientStatus { index, reply: None })
                    .collect(),
            });
        }
    }

    // ----- replies -----

    fn on_reply(&mut self, reply: Reply) {
        if reply.code.0 == 421 {
            // RFC 5321 3.8: the server is closing the channel, whatever was asked.
            if self.expects.front().map(|p| p.expect) == Some(Expect::Greeting) {
                self.events.push_back(Event::Greeting(reply.clone()));
            }
            // After the client ended the session itself, a 421 to its QUIT does not change
            // why (see `close`).
            self.close(CloseReason::ServiceUnavailable(reply));
            return;
        }
        // A reply to a command that was never handed to the transport cannot be genuine
        // (a server answering ahead, or injected bytes): treat it as unsolicited.
        let pending = match self.expects.pop_front() {
            Some(p) if p.sent_at.is_some() => p,
            waiting => {
                // A refusal in the middle of DATA content, before the end of data was
                // handed out, breaks RFC 5321 4.1.1.4 (the reply comes after the `.`), so
                // the session ends; but the message was refused, and its result says so
                // (a 5xx is permanent): a caller must not retry it as if the connection
                // had merely dropped.
                let in_data = waiting.map_or(true, |p| p.expect == Expect::DataEnd);
                if in_data && reply.code.0 >= 400 {
                    if let Some(txn) = self.txn.as_mut().filter(|t| !t.use_bdat) {
                        if txn.phase != BodyPhase::Pending {
                            set_failed(txn, MessageError::Rejected(reply.clone()));
                        }
                    }
                }
                self.close(CloseReason::Protocol(ProtocolError::Unsolicited(reply)));
                return;
            }
        };
        if (300..400).contains(&reply.code.0) && !takes_intermediate(pending.expect, &reply) {
            // The server believes it is in a state the client never asked for (a 354 to
            // MAIL: it now reads message content). Any further command would be taken as
            // data or answered out of step: close without sending anything.
            self.close(CloseReason::Protocol(ProtocolError::UnexpectedReply {
                command: command_name(pending.expect),
                reply,
            }));
            return;
        }
        match pending.expect {
            Expect::Greeting => self.on_greeting(reply),
            Expect::Ehlo => self.on_ehlo(reply),
            Expect::Helo => self.on_helo(reply),
            Expect::Tls { anonymous } => self.on_tls(reply, anonymous),
            Expect::Auth => self.on_auth(reply),
            // A session the client ended itself keeps its reason (see `close`).
            Expect::Quit => self.close(CloseReason::Quit(Some(reply))),
            Expect::Rset => {}
            Expect::Exchange(verb) => self.events.push_back(Event::ExchangeReply {
                verb,
                result: Ok(reply),
            }),
            Expect::Query(_) => self.on_query_reply(reply),
            Expect::Mail
            | Expect::Rcpt(_)
            | Expect::Xexch50
            | Expect::Xexch50Data
            | Expect::Data
            | Expect::DataEnd
            | Expect::Bdat { .. } => self.on_txn_reply(pending.expect, reply),
        }
    }

    fn on_greeting(&mut self, reply: Reply) {
        self.events.push_back(Event::Greeting(reply.clone()));
        match reply.code.0 {
            220 => self.send_hello(true),
            // RFC 5321 3.1: a 554 greeting means no service; the client SHOULD send QUIT.
            c if (500..600).contains(&c) => self.fail_session(CloseReason::GreetingRefused(reply)),
            _ => self.close(CloseReason::Protocol(ProtocolError::UnexpectedReply {
                command: "greeting",
                reply,
            })),
        }
    }

    fn on_ehlo(&mut self, reply: Reply) {
        match reply.code.0 {
            250 => {
                let caps = Capabilities::from_reply(&reply);
                self.esmtp = true;
                self.events.push_back(Event::Capabilities(caps.clone()));
                self.caps = Some(caps);
                self.after_hello();
            }
            // RFC 5321 4.1.4 / 3.2: a server without EHLO answers 500 or 502; fall back.
            500 | 502 => self.send_hello(false),
            _ => self.fail_session(CloseReason::HelloRefused(reply)),
        }
    }

    fn on_helo(&mut self, reply: Reply) {
        if reply.code.0 == 250 {
            let caps = Capabilities {
                greeting: reply.lines().next().unwrap_or_default().to_string(),
                list: Vec::new(),
            };
            self.esmtp = false;
            self.events.push_back(Event::Capabilities(caps.clone()));
            self.caps = Some(caps);
            self.after_hello();
        } else {
            self.fail_session(CloseReason::HelloRefused(reply));
        }
    }

    fn has(&self, cap: &Capability) -> bool {
        self.caps.as_ref().is_some_and(|c| c.has(cap))
    }

    fn after_hello(&mut self) {
        if !self.tls_active && !self.tls_declined && self.config.tls != TlsPolicy::Never {
            if self.config.anonymous_tls && self.has(&Capability::XAnonymousTls) {
                self.command(&Command::XAnonymousTls, Expect::Tls { anonymous: true });
                self.state = State::Tls;
                return;
            }
            if self.has(&Capability::StartTls) {
                self.command(&Command::StartTls, Expect::Tls { anonymous: false });
                self.state = State::Tls;
                return;
            }
            if self.config.tls == TlsPolicy::Required {
                self.fail_session(CloseReason::TlsUnavailable(None));
                return;
            }
        }
        if self.config.tls == TlsPolicy::Required && !self.tls_active {
            self.fail_session(CloseReason::TlsUnavailable(None));
            return;
        }
        if self.config.credentials.is_some() && !self.authenticated {
            self.start_auth();
            return;
        }
        self.become_ready();
    }

    fn become_ready(&mut self) {
        self.state = State::Ready;
        if !self.ready_sent {
            self.ready_sent = true;
            self.events.push_back(Event::Ready);
        }
    }

    fn on_tls(&mut self, reply: Reply, anonymous: bool) {
        if reply.code.0 == 220 {
            // RFC 3207 4.2 and the 2011 injection record: nothing read in plaintext after
            // this reply may be used; `receive` enforces it.
            self.state = State::AwaitTls;
            self.events.push_back(Event::StartTls { anonymous });
        } else if anonymous && self.has(&Capability::StartTls) {
            // X-ANONYMOUSTLS refused (Exchange 2016 answers `500 5.3.3` when it is off, or
            // `454` when TLS is unavailable for it) but the server also offers STARTTLS
            // (RFC 3207): try that before giving up on TLS or going on in plaintext. No
            // command was accepted in between, so the session state is unchanged.
            self.command(&Command::StartTls, Expect::Tls { anonymous: false });
            self.state = State::Tls;
        } else if self.config.tls == TlsPolicy::Required {
            self.fail_session(CloseReason::TlsUnavailable(Some(reply)));
        } else {
            self.tls_declined = true;
            self.after_hello();
        }
    }

    // ----- AUTH -----

    fn start_auth(&mut self) {
        let Some(creds) = self.config.credentials.clone() else {
            self.become_ready();
            return;
        };
        let secure = self.tls_active;
        let allow = self.config.allow_plaintext_auth;
        let mut chosen = None;
        if self.config.auth_verb == AuthVerb::XExps {
            let offered = self.xexps_mechanisms();
            if let Some((m, d)) = auth::choose(&creds, &offered, secure, allow) {
                chosen = Some((AuthVerb::XExps, m, d));
            }
        }
        if chosen.is_none() {
            let offered = self
                .caps
                .as_ref()
                .map(|c| c.auth_mechanisms())
                .unwrap_or_default();
            if let Some((m, d)) = auth::choose(&creds, &offered, secure, allow) {
                chosen = Some((AuthVerb::Auth, m, d));
            }
        }
        let Some((verb, mechanism, driver)) = chosen else {
            self.fail_session(CloseReason::AuthUnavailable);
            return;
        };
        self.state = State::Auth;
        let mut driver = driver;
        let initial = match &mut driver {
            Driver::External => {
                self.events.push_back(Event::AuthChallenge(AuthChallenge {
                    mechanism: mechanism.clone(),
                    verb,
                    initial: true,
                    data: None,
                    reply: None,
                }));
                self.auth = Some(AuthState {
                    verb,
                    mechanism,
                    driver,
                    wait: AuthWait::CallerInitial,
                    deferred: None,
                    cancelled: false,
                });
                return;
            }
            Driver::Builtin(ex) => match auth::start(ex, self.config.sasl_initial_response) {
                Ok(ir) => ir,
                Err(()) => {
                    self.fail_session(CloseReason::AuthUnavailable);
                    return;
                }
            },
        };
        self.auth = Some(AuthState {
            verb,
            mechanism: mechanism.clone(),
            driver,
            wait: AuthWait::Server,
            deferred: None,
            cancelled: false,
        });
        let ir = initial.map(|text| {
            if text == "=" || text.is_empty() {
                InitialResponse::Empty
            } else {
                InitialResponse::Base64(Cow::Owned(text))
            }
        });
        self.send_auth_line(verb, &mechanism, ir);
    }

    fn xexps_mechanisms(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(caps) = &self.caps {
            for c in &caps.list {
                if let Capability::XExps(m) | Capability::XExpsLegacy(m) = c {
                    for name in m {
                        let up = name.to_ascii_uppercase();
                        if !out.contains(&up) {
                            out.push(up);
                        }
                    }
                }
            }
        }
        out
    }

    /// Sends `AUTH mech [ir]` for a caller-driven mechanism; an initial response that
    /// would push the line over 512 octets (RFC 4954 section 4) or that the configuration
    /// forbids waits for the first `334`.
    fn send_auth_command(&mut self, verb: AuthVerb, mechanism: &str, initial: Option<Vec<u8>>) {
        let mut ir = None;
        if let Some(data) = initial {
            let text = b64(&data);
            let verb_len = match verb {
                AuthVerb::Auth => 4,
                AuthVerb::XExps => 6,
            };
            let line_len = verb_len + 1 + mechanism.len() + 1 + text.len().max(1) + 2;
            if self.config.sasl_initial_response && line_len <= crate::limits::MAX_COMMAND_LINE {
                ir = Some(if text.is_empty() {
                    InitialResponse::Empty
                } else {
                    InitialResponse::Base64(Cow::Owned(text))
                });
            } else if let Some(a) = self.auth.as_mut() {
                a.deferred = Some(data);
            }
        }
        self.send_auth_line(verb, mechanism, ir);
    }

    fn send_auth_line(
        &mut self,
        verb: AuthVerb,
        mechanism: &str,
        ir: Option<InitialResponse<'static>>,
    ) {
        let mechanism = Cow::Owned(mechanism.to_string());
        let cmd = match verb {
            AuthVerb::Auth => Command::Auth {
                mechanism,
                initial_response: ir,
            },
            AuthVerb::XExps => Command::XExps {
                mechanism,
                initial_response: ir,
            },
        };
        self.command(&cmd, Expect::Auth);
    }

    fn send_sasl_line(&mut self, data: Option<&[u8]>) {
        if data.is_none() {
            if let Some(a) = self.auth.as_mut() {
                a.cancelled = true;
            }
        }
        let line = match data {
            None => SaslResponse::Cancel,
            Some(d) => SaslResponse::Base64(Cow::Owned(b64(d))),
        };
        line.encode(&mut self.out);
        self.expect(Expect::Auth);
    }

    fn on_auth(&mut self, reply: Reply) {
        let Some(mut auth) = self.auth.take() else {
            self.close(CloseReason::Protocol(ProtocolError::Unsolicited(reply)));
            return;
        };
        // RFC 4954 section 4: a server that receives `*` "MUST reject the AUTH command by
        // sending a 501 reply". A success or a further challenge after the client's
        // cancel (which may be its refusal of the server's mutual-authentication step)
        // never authenticates the client: the server's idea of the session differs.
        if auth.cancelled && !(400..600).contains(&reply.code.0) {
            self.close(CloseReason::Protocol(ProtocolError::UnexpectedReply {
                command: "AUTH",
                reply,
            }));
            return;
        }
        match reply.code.0 {
            c if (200..300).contains(&c) => {
                self.authenticated = true;
                self.exps_authenticated = auth.verb == AuthVerb::XExps;
                self.events.push_back(Event::Authenticated {
                    mechanism: auth.mechanism,
                    reply,
                });
                self.become_ready();
            }
            334 => {
                let text: String = reply.lines().next().unwrap_or_default().trim().to_string();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .ok();
                if let Some(d) = auth.deferred.take() {
                    self.auth = Some(auth);
                    self.send_sasl_line(Some(&d));
                    return;
                }
                let step = match &mut auth.driver {
                    Driver::External => {
                        self.events.push_back(Event::AuthChallenge(AuthChallenge {
                            mechanism: auth.mechanism.clone(),
                            verb: auth.verb,
                            initial: false,
                            data: decoded,
                            reply: Some(reply),
                        }));
                        auth.wait = AuthWait::CallerChallenge;
                        self.auth = Some(auth);
                        return;
                    }
                    Driver::Builtin(ex) => auth::step(ex, &text),
                };
                let line = match step {
                    auth::Step::Line(l) => SaslResponse::Base64(Cow::Owned(l)),
                    auth::Step::Cancel => {
                        auth.cancelled = true;
                        SaslResponse::Cancel
                    }
                };
                self.auth = Some(auth);
                line.encode(&mut self.out);
                self.expect(Expect::Auth);
            }
            _ => self.fail_session(CloseReason::AuthFailed(Some(reply))),
        }
    }

    // ----- transactions -----

    pub(super) fn advance(&mut self) {
        loop {
            if self.state != State::Ready {
                break;
            }
            let pipelining = self.pipelining();
            if self.txn.is_none() {
                if !(pipelining || self.expects.is_empty()) {
                    break;
                }
                // An Exchange verb or a query in flight: nothing goes out before its
                // reply (an Exchange verb's argument is opaque and may change the session;
                // VRFY, EXPN, NOOP may only end a pipelined group, RFC 2920 3.1).
                if self
                    .expects
                    .iter()
                    .any(|p| matches!(p.expect, Expect::Exchange(_) | Expect::Query(_)))
                {
                    break;
                }
                if !self.side_queue.is_empty() {
                    // One at a time, never pipelined with anything.
                    if self.expects.is_empty() && !self.dispatch_side() {
                        continue;
                    }
                    break;
                }
                if let Some(q) = self.queue.pop_front() {
                    self.start_txn(q);
                    continue;
                }
                if self.quit_requested {
                    self.send_quit();
                }
                break;
            }
            self.pump();
            if !self.maybe_finalize() {
                break;
            }
        }
        self.refill();
    }

    fn pipelining(&self) -> bool {
        self.config.pipelining && self.esmtp && self.has(&Capability::Pipelining)
    }

    /// The limits the current EHLO reply advertises (RFC 9422); none after HELO. After
    /// STARTTLS only the new EHLO reply counts (RFC 3207 section 4.2).
    fn limits(&self) -> TxnLimits {
        let advertised = self
            .caps
            .as_ref()
            .filter(|_| self.esmtp)
            .and_then(Capabilities::limits)
            .unwrap_or_default();
        TxnLimits::new(advertised)
    }

    /// Checks the message against the server and builds the transaction, or reports the
    /// refusal before anything is sent.
    fn start_txn(&mut self, q: Queued) {
        let (id, n) = (q.id, q.envelope.recipients.len());
        let lines = std::mem::take(&mut self.spare_lines);
        let planned = self
            .plan(q, lines)
            .and_then(|txn| match self.limits().mail_max {
                // RFC 9422 section 4.1: no more transactions than MAILMAX in the session.
                Some(limit) if self.transactions >= limit => {
                    Err(MessageError::TransactionLimit { limit })
                }
                _ => Ok(txn),
            });
        match planned {
            Ok(txn) => {
                // Recipients held back under RCPTMAX / RCPTDOMAINMAX: reported now, as a
                // server's `452` to them would be.
                for status in &txn.rcpt {
                    if let Some(reply) = &status.reply {
                        self.events.push_back(Event::RecipientResult {
                            message: txn.id,
                            index: status.index,
                            accepted: false,
                            reply: reply.clone(),
                        });
                    }
                }
                self.txn = Some(txn);
            }
            Err(err) => {
                self.events.push_back(Event::MessageResult {
                    message: id,
                    result: Err(err),
                    recipients: (0..n)
                        .map(|index| RecipientStatus { index, reply: None })
                        .collect(),
                });
            }
        }
    }

    fn plan(&self, q: Queued, mut lines: Vec<u8>) -> Result<Txn, MessageError> {
        let env = &q.envelope;
        if env.recipients.is_empty() {
            return Err(MessageError::NoRecipients);
        }
        let chunking = self.config.chunking && self.esmtp && self.has(&Capability::Chunking);
        let binarymime = chunking && self.has(&Capability::BinaryMime);
        let eightbit = self.esmtp && self.has(&Capability::EightBitMime);
        let (body_type, size) = match &q.body {
            // RFC 1870 3: the size as sent. BDAT sends the octets as they are. DATA only
            // carries text bodies (a bare CR or LF makes a body `Binary`, which needs BDAT
            // and is refused below otherwise), whose line ends are all CRLF already: the
            // encoder adds at most a final CRLF, so no second scan of the body is needed.
            Body::Bytes(b) => {
                let ends_line = b.is_empty() || b.ends_with(b"\r\n");
                let added = if chunking || ends_line { 0 } else { 2 };
                (BodyType::of(b), Some(b.len() as u64 + added))
            }
            Body::Stream { body_type, size } => (*body_type, *size),
        };
        let mut params = MailParams::default();
        match body_type {
            BodyType::SevenBit => {}
            BodyType::EightBit => {
                if eightbit {
                    params.body = Some(param::Body::EightBitMime);
                } else if binarymime {
                    params.body = Some(param::Body::BinaryMime);
                } else {
                    return Err(MessageError::Unsupported(Extension::EightBitMime));
                }
            }
            BodyType::Binary => {
                if binarymime {
                    params.body = Some(param::Body::BinaryMime);
                } else {
                    return Err(MessageError::Unsupported(Extension::BinaryMime));
                }
            }
        }
        if env.needs_smtputf8() {
            if !(self.esmtp && self.has(&Capability::SmtpUtf8)) {
                return Err(MessageError::Unsupported(Extension::SmtpUtf8));
            }
            params.smtputf8 = true;
        }
        if env.requiretls {
            if !(self.tls_active && self.has(&Capability::RequireTls)) {
                return Err(MessageError::Unsupported(Extension::RequireTls));
            }
            params.requiretls = true;
        }
        if let Some(Some(limit)) = self
            .caps
            .as_ref()
            .and_then(|c| c.size())
            .filter(|_| self.esmtp)
        {
            if let Some(size) = size {
                if limit > 0 && size > limit {
                    return Err(MessageError::TooLarge { size, limit });
                }
            }
        }
        if self.esmtp && self.has(&Capability::Size(None)) {
            params.size = size;
        }
        let dsn = self.esmtp && self.has(&Capability::Dsn);
        if dsn {
            // RFC 3461 4.4: an ENVID of at most 100 characters (before xtext encoding).
            if env
                .envid
                .as_ref()
                .is_some_and(|e| e.len() > crate::limits::MAX_ENVID)
            {
                return Err(MessageError::InvalidEnvelope);
            }
            params.ret = env.ret;
            params.envid = env.envid.as_ref().map(|e| XText::encode(e.as_bytes()));
        }
        let xexch50 = match &env.xexch50 {
            // An empty blob carries nothing: XEXCH50 is not sent (the server's 354 and final
            // reply would arrive back to back for a zero-octet chunk).
            Some(x) if x.blob.is_empty() => false,
            Some(x) if self.esmtp && self.has(&Capability::XExch50) => {
                if x.blob.len() as u64 > crate::limits::MAX_XEXCH50_BLOB {
                    return Err(MessageError::Xexch50TooLarge);
                }
                true
            }
            _ => false,
        };
        // Encode MAIL and every RCPT now: a CR, LF or NUL inside a line (from a hand-built
        // ORCPT, say) would inject commands, so such an envelope is refused here.
        params.exchange = self.exchange_mail_params(&env.exchange).into();
        let smtputf8 = params.smtputf8;
        // One slot per recipient: empty for those this transaction sends, the client's
        // `452 4.5.3` for those held back under the server's LIMITS.
        let mut rcpt: Vec<RecipientStatus> = (0..env.recipients.len())
            .map(|index| RecipientStatus {
                index,
                reply: Some(held_back_reply()),
            })
            .collect();
        let sent = self.limits().batch_with(&env.recipients, |i| {
            if let Some(slot) = rcpt.get_mut(i) {
                slot.reply = None;
            }
        });
        // Every line goes into one buffer (the paths are written from the envelope, not
        // copied into commands).
        lines.clear();
        lines.reserve(64 + 48 * sent);
        put_mail_line(&mut lines, &env.from, &params);
        if !clean_line(&lines) {
            return Err(MessageError::InvalidEnvelope);
        }
        for (r, slot) in env.recipients.iter().zip(&rcpt) {
            // RFC 3461 4.2: an ORCPT address of at most 500 characters (before xtext), and
            // an addr-type that is an atom (a space or `;` there would smuggle text, or
            // another parameter, onto the RCPT line). RFC 3461 4.1: NOTIFY is NEVER alone,
            // or a non-empty list of SUCCESS, FAILURE and DELAY.
            let orcpt_len = |o: &param::Orcpt<'_>| o.addr.decode().map_or(usize::MAX, |a| a.len());
            // RFC 6533 section 3: UTF-8 as itself only in the `utf-8` address type, in an
            // SMTPUTF8 transaction; elsewhere the address is ASCII xtext (RFC 3461 4).
            let orcpt_ok = |o: &param::Orcpt<'_>| {
                !o.addr_type.is_empty()
                    && o.addr_type.bytes().all(crate::syntax::path::is_atext)
                    && orcpt_len(o) <= crate::limits::MAX_ORCPT
                    && (o.addr.as_str().is_ascii()
                        || (smtputf8 && o.addr_type.eq_ignore_ascii_case("utf-8")))
            };
            let notify_ok = |n: &param::Notify| {
                let others = n.success || n.failure || n.delay;
                if n.never {
                    !others
                } else {
                    others
                }
            };
            if dsn
                && (r.orcpt.as_ref().is_some_and(|o| !orcpt_ok(o))
                    || r.notify.as_ref().is_some_and(|n| !notify_ok(n)))
            {
                return Err(MessageError::InvalidEnvelope);
            }
            let mut params = if dsn {
                RcptParams {
                    notify: r.notify,
                    orcpt: r.orcpt.as_ref().map(|o| param::Orcpt {
                        addr_type: Cow::Borrowed(&*o.addr_type),
                        addr: XText(Cow::Borrowed(&*o.addr.0)),
                    }),
                    ..RcptParams::default()
                }
            } else {
                RcptParams::default()
            };
            params.exchange = self.exchange_rcpt_params(&r.exchange);
            let start = lines.len();
            put_rcpt_line(&mut lines, &r.path, &params);
            if !lines.get(start..).is_some_and(clean_line) {
                return Err(MessageError::InvalidEnvelope);
            }
            if slot.reply.is_some() {
                // Held back: checked like the others, sent in another transaction.
                lines.truncate(start);
            }
        }
        let use_bdat = chunking;
        let source = match q.body {
            Body::Bytes(data) => Source::Whole { data, offset: 0 },
            Body::Stream { body_type, .. } => Source::Stream {
                declared: body_type,
                scanner: BodyScanner::default(),
                requested: false,
                held: None,
            },
        };
        Ok(Txn {
            id: q.id,
            envelope: q.envelope,
            source,
            use_bdat,
            xexch50,
            lines,
            line_pos: 0,
            next: Some(TxStep::Mail),
            rcpt,
            sent,
            answered: 0,
            accepted: 0,
            failed: None,
            delivered: None,
            barrier: false,
            phase: BodyPhase::Pending,
            encoder: None,
        })
    }

    /// Sends what the transaction may send now: everything up to the next sync point
    /// with PIPELINING (RFC 2920 3.1), one command at a time without.
    fn pump(&mut self) {
        let pipelining = self.pipelining();
        loop {
            let expects_empty = self.expects.is_empty();
            let Some(txn) = self.txn.as_mut() else { return };
            if txn.failed.is_some() {
                txn.next = None;
                return;
            }
            if txn.barrier || !(pipelining || expects_empty) {
                return;
            }
            let Some(step) = txn.next else {
                return;
            };
            let all_answered = txn.answered == txn.sent;
            if matches!(step, TxStep::Xexch50 | TxStep::Data | TxStep::Bdat)
                && all_answered
                && txn.accepted == 0
            {
                set_failed(txn, MessageError::NoValidRecipients);
                txn.next = None;
                return;
            }
            txn.next = step_after(txn, step);
            match step {
                TxStep::Mail | TxStep::Rcpt(_) => {
                    // The next line in `lines` (MAIL, then the RCPTs sent, in order).
                    let rest = txn.lines.get(txn.line_pos..).unwrap_or_default();
                    let len = memchr::memchr(b'\n', rest).map_or(rest.len(), |p| p + 1);
                    let line = rest.get(..len).unwrap_or_default();
                    reserve_out(&mut self.out, line.len());
                    self.out.extend_from_slice(line);
                    txn.line_pos = txn.line_pos.saturating_add(len);
                    if let TxStep::Rcpt(i) = step {
                        self.expect(Expect::Rcpt(i));
                    } else {
                        self.transactions = self.transactions.saturating_add(1);
                        self.expect(Expect::Mail);
                    }
                }
                TxStep::Xexch50 => {
                    let (size, mode) = txn
                        .envelope
                        .xexch50
                        .as_ref()
                        .map(|x| (x.blob.len() as u64, x.mode))
                        .unwrap_or((0, 2));
                    txn.barrier = true;
                    self.command(&Command::XExch50 { size, mode }, Expect::Xexch50);
                }
                TxStep::Data => {
                    txn.barrier = true;
                    self.command(&Command::Data, Expect::Data);
                }
                TxStep::Bdat => {
                    txn.phase = BodyPhase::Active;
                }
            }
        }
    }

    fn on_txn_reply(&mut self, expect: Expect, reply: Reply) {
        let Some(txn) = self.txn.as_mut() else {
            // A transaction reply with no transaction: only after an abort; ignore.
            return;
        };
        let ok = is_positive(&reply);
        match expect {
            Expect::Mail if !ok => set_failed(txn, MessageError::SenderRejected(reply)),
            Expect::Mail => {}
            Expect::Rcpt(i) => {
                if let Some(slot) = txn.rcpt.get_mut(i) {
                    slot.reply = Some(reply.clone());
                }
                txn.answered = txn.answered.saturating_add(1);
                if ok {
                    txn.accepted = txn.accepted.saturating_add(1);
                }
                let id = txn.id;
                if txn.answered == txn.sent && txn.accepted == 0 {
                    set_failed(txn, MessageError::NoValidRecipients);
                }
                self.events.push_back(Event::RecipientResult {
                    message: id,
                    index: i,
                    accepted: ok,
                    reply,
                });
            }
            Expect::Xexch50 => {
                if reply.code.0 == 354 {
                    let blob = txn
                        .envelope
                        .xexch50
                        .as_ref()
                        .map(|x| x.blob.clone())
                        .unwrap_or_default();
                    self.push_segment(blob);
                    self.expect(Expect::Xexch50Data);
                } else {
                    // Exchange goes on without the properties when XEXCH50 is refused.
                    txn.barrier = false;
                }
            }
            Expect::Xexch50Data => {
                txn.barrier = false;
            }
            Expect::Data => {
                if reply.code.0 == 354 {
                    if txn.failed.is_some() || txn.accepted == 0 {
                        // RFC 2920 3.1: DATA was accepted although nothing else was; end
                        // the (empty) content so the server answers and the session
                        // stays in sync. The server refuses it for lack of recipients.
                        set_failed(txn, MessageError::NoValidRecipients);
                        reserve_out(&mut self.out, 3);
                        self.out.extend_from_slice(b".\r\n");
                        self.expect(Expect::DataEnd);
                    } else {
                        txn.phase = BodyPhase::Active;
                        txn.encoder = Some(DataEncoder::new(EncoderConfig::default()));
                    }
                } else {
                    txn.barrier = false;
                    set_failed(txn, MessageError::Rejected(reply));
                }
            }
            Expect::DataEnd => {
                if ok && txn.failed.is_none() {
                    txn.delivered = Some(reply);
                } else {
                    set_failed(txn, MessageError::Rejected(reply));
                }
            }
            Expect::Bdat { last } => {
                if !ok {
                    set_failed(txn, MessageError::Rejected(reply));
                } else if last && txn.failed.is_none() {
                    txn.delivered = Some(reply);
                }
            }
            _ => {}
        }
    }

    /// Emits the result once the transaction is over; returns whether it was.
    fn maybe_finalize(&mut self) -> bool {
        let Some(txn) = self.txn.as_ref() else {
            return false;
        };
        let over = txn.delivered.is_some()
            || (txn.failed.is_some() && self.expects.is_empty() && txn.phase != BodyPhase::Active);
        if !over {
            return false;
        }
        let Some(txn) = self.txn.take() else {
            return false;
        };
        if txn.lines.capacity() <= MAX_SPARE_LINES {
            self.spare_lines = txn.lines;
        }
        let recipients = txn.rcpt;
        match (txn.delivered, txn.failed) {
            (Some(reply), None) => self.events.push_back(Event::MessageResult {
                message: txn.id,
                result: Ok(reply),
                recipients,
            }),
            (_, failed) => {
                let err = failed.unwrap_or(MessageError::NoValidRecipients);
                self.events.push_back(Event::MessageResult {
                    message: txn.id,
                    result: Err(err),
                    recipients,
                });
                // RFC 5321 4.1.1.5: reset before the next transaction.
                self.command(&Command::Rset, Expect::Rset);
            }
        }
        true
    }

    /// Produces body bytes while the transmit queue is short.
    fn refill(&mut self) {
        let pipelining = self.pipelining();
        let chunk_size = self.config.bdat_chunk_size.max(1);
        loop {
            if self.state != State::Ready || self.queued_len() >= LOW_WATER {
                return;
            }
            let expects_empty = self.expects.is_empty();
            let Some(txn) = self.txn.as_mut() else { return };
            if txn.phase != BodyPhase::Active {
                return;
            }
            if txn.use_bdat && !(pipelining || expects_empty) {
                return;
            }
            if txn.use_bdat && self.expects.len() >= MAX_AWAITED {
                return;
            }
            match &mut txn.source {
                Source::Whole { data, offset } => {
                    let total = data.len();
                    let start = (*offset).min(total);
                    if txn.use_bdat {
                        let end = start.saturating_add(chunk_size).min(total);
                        let piece = data.slice(start..end);
                        *offset = end;
                        let last = end == total;
                        if last {
                            txn.phase = BodyPhase::Done;
                        }
                        self.send_bdat(piece, last);
                    } else {
                        let end = start.saturating_add(DATA_PIECE).min(total);
                        *offset = end;
                        let last = end == total;
                        if let Some(enc) = txn.encoder.as_mut() {
                            if let Some(piece) = data.get(start..end) {
                                reserve_out(&mut self.out, piece.len().saturating_add(8));
                                enc.encode(piece, &mut self.out);
                            }
                            if last {
                                reserve_out(&mut self.out, 5);
                                enc.finish(&mut self.out);
                            }
                        }
                        if last {
                            txn.phase = BodyPhase::Done;
                            self.expect(Expect::DataEnd);
                        }
                    }
                }
                Source::Stream { requested, .. } => {
                    if !*requested {
                        *requested = true;
                        let id = txn.id;
                        self.events.push_back(Event::BodyNeeded(id));
                    }
                    return;
                }
            }
        }
    }

    fn send_bdat(&mut self, chunk: Bytes, last: bool) {
        let size = chunk.len() as u64;
        self.command(&Command::Bdat { size, last }, Expect::Bdat { last });
        self.push_segment(chunk);
        // The reply comes once the chunk is through.
        let end = self.queued_end();
        if let Some(p) = self.expects.back_mut() {
            p.end = end;
        }
    }

    fn check_body(&self, id: MessageId) -> Result<(), UsageError> {
        match self.txn.as_ref() {
            Some(t) if t.id == id && t.phase == BodyPhase::Active && self.state == State::Ready => {
                Ok(())
            }
            _ => Err(UsageError::BodyNotExpected),
        }
    }

    /// A streamed chunk broke the declared body type.
    fn abort_body(&mut self) {
        let Some(txn) = self.txn.as_mut() else { return };
        if txn.use_bdat {
            // Chunks already sent are discarded by the RSET that follows the failure.
            set_failed(txn, MessageError::BodyTypeViolation);
            txn.phase = BodyPhase::Done;
        } else {
            // No way to end DATA without delivering what was sent: drop the connection.
            set_failed(txn, MessageError::BodyTypeViolation);
            self.close(CloseReason::Aborted);
        }
    }
}

/// Whether `reply`, a `3xx` (positive intermediate, RFC 5321 4.2.1), is a valid answer to
/// the command awaiting it. RFC 5321 4.3.2 allows one only to DATA (`354`); RFC 4954 4 a
/// `334` to AUTH (and X-EXPS, Exchange's AUTH); Exchange's XEXCH50 answers `354` before
/// the blob. MAIL, RCPT, RSET, QUIT, EHLO, HELO (4.3.2), STARTTLS (RFC 3207 4: `220`,
/// `454`, `501`), BDAT (RFC 3030 2: `250` or an error) and the end of data never get one.
/// The greeting checks its own codes, and Exchange verbs with opaque arguments report any
/// reply to the caller.
fn takes_intermediate(expect: Expect, reply: &Reply) -> bool {
    match expect {
        Expect::Greeting | Expect::Exchange(_) => true,
        Expect::Auth => reply.code.0 == 334,
        Expect::Data | Expect::Xexch50 => reply.code.0 == 354,
        Expect::Ehlo
        | Expect::Helo
        | Expect::Tls { .. }
        | Expect::Mail
        | Expect::Rcpt(_)
        | Expect::Xexch50Data
        | Expect::DataEnd
        | Expect::Bdat { .. }
        | Expect::Rset
        | Expect::Quit
        | Expect::Query(_) => false,
    }
}

/// The command a reply answers, for [`ProtocolError::UnexpectedReply`].
fn command_name(expect: Expect) -> &'static str {
    match expect {
        Expect::Greeting => "greeting",
        Expect::Ehlo => "EHLO",
        Expect::Helo => "HELO",
        Expect::Tls { anonymous: false } => "STARTTLS",
        Expect::Tls { anonymous: true } => "X-ANONYMOUSTLS",
        Expect::Auth => "AUTH",
        Expect::Mail => "MAIL",
        Expect::Rcpt(_) => "RCPT",
        Expect::Xexch50 => "XEXCH50",
        Expect::Xexch50Data => "XEXCH50 blob",
        Expect::Data => "DATA",
        Expect::DataEnd => "end of data",
        Expect::Bdat { .. } => "BDAT",
        Expect::Rset => "RSET",
        Expect::Quit => "QUIT",
        Expect::Exchange(verb) => verb.as_str(),
        Expect::Query(verb) => verb,
    }
}

/// The step of a transaction after `step`: MAIL, the RCPT of each recipient whose slot
/// was empty when the transaction was planned (the others are held back; a recipient's
/// slot fills only once its RCPT was sent, so the slots after the current one are as
/// planned), XEXCH50 if the blob goes out, then DATA or BDAT.
fn step_after(txn: &Txn, step: TxStep) -> Option<TxStep> {
    let from = match step {
        TxStep::Mail => 0,
        TxStep::Rcpt(i) => i.saturating_add(1),
        TxStep::Xexch50 => usize::MAX,
        TxStep::Data | TxStep::Bdat => return None,
    };
    if let Some(off) = txn
        .rcpt
        .get(from..)
        .and_then(|slots| slots.iter().position(|s| s.reply.is_none()))
    {
        return Some(TxStep::Rcpt(from + off));
    }
    Some(if txn.xexch50 && step != TxStep::Xexch50 {
        TxStep::Xexch50
    } else if txn.use_bdat {
        TxStep::Bdat
    } else {
        TxStep::Data
    })
}

/// Makes room for `n` more octets in the output buffer, a block at a time: once
/// [`Client::poll_transmit`] has split off what was written, the rest of the block takes
/// the next commands without allocating (a buffer grown by exactly each command would
/// allocate for each one, and again to share it when split off).
fn reserve_out(out: &mut BytesMut, n: usize) {
    if out.capacity() - out.len() < n {
        out.reserve(n.max(OUT_BLOCK));
    }
}

/// Whether `line` is one command line: CRLF at the end and no CR, LF or NUL before.
fn clean_line(line: &[u8]) -> bool {
    match line.strip_suffix(b"\r\n") {
        Some(body) => memchr::memchr3(b'\r', b'\n', 0, body).is_none(),
        None => false,
    }
}

fn set_failed(txn: &mut Txn, err: MessageError) {
    if txn.failed.is_none() {
        txn.failed = Some(err);
    }
    if txn.use_bdat && txn.phase == BodyPhase::Active {
        txn.phase = BodyPhase::Done;
        if let Source::Stream {
            held, requested, ..
        } = &mut txn.source
        {
            *held = None;
            *requested = false;
        }
    }
}

/// The server's LIMITS (RFC 9422) as the client applies them. `None`: no limit, for a limit
/// not advertised, advertised as `0`, or whose value is not a number (RFC 9422 section 3:
/// a client ignores a limit it cannot understand).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TxnLimits {
    /// `MAILMAX`: transactions per session (section 4.1).
    mail_max: Option<u64>,
    /// `RCPTMAX`: `RCPT` commands per transaction (section 4.2).
    rcpt_max: Option<u64>,
    /// `RCPTDOMAINMAX`: distinct recipient domains per transaction (section 4.3).
    rcpt_domain_max: Option<u64>,
}

impl TxnLimits {
    fn new(l: crate::syntax::capability::Limits) -> TxnLimits {
        let nonzero = |v: Option<u64>| v.filter(|&n| n > 0);
        TxnLimits {
            mail_max: nonzero(l.mail_max),
            rcpt_max: nonzero(l.rcpt_max),
            rcpt_domain_max: nonzero(l.rcpt_domain_max),
        }
    }

    /// Calls `take` with the index of each recipient one transaction sends, in order, and
    /// returns how many there are: each recipient
    /// while fewer than `RCPTMAX` are taken and its domain is one already taken or fewer
    /// than `RCPTDOMAINMAX` domains are (domains compare case-insensitively, a trailing dot
    /// aside; an address literal counts as a domain; `<Postmaster>` has none, RFC 5321
    /// 4.1.1.3). The first recipient is always taken, so every transaction makes progress.
    fn batch_with(
        &self,
        recipients: &[super::envelope::Recipient],
        mut take: impl FnMut(usize),
    ) -> usize {
        let rcpt_max = self
            .rcpt_max
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let domain_max = self
            .rcpt_domain_max
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut taken = 0;
        // Only under RCPTDOMAINMAX: the domains taken so far.
        let mut domains: Vec<String> = Vec::new();
        for (i, r) in recipients.iter().enumerate() {
            if taken >= rcpt_max {
                break;
            }
            let domain = if domain_max == usize::MAX {
                None
            } else {
                recipient_domain(&r.path)
            };
            if let Some(domain) = domain {
                if !domains.contains(&domain) {
                    if domains.len() >= domain_max {
                        continue;
                    }
                    domains.push(domain);
                }
            }
            take(i);
            taken += 1;
        }
        taken
    }
}

/// The domain of a recipient for RCPTDOMAINMAX (RFC 9422 section 4.3), compared as the
/// server does: lower-cased (ASCII), without a trailing dot; an address literal as
/// written. `None` for `<Postmaster>`.
fn recipient_domain(path: &crate::syntax::path::ForwardPath<'_>) -> Option<String> {
    use crate::syntax::path::{ForwardPath, Host};
    let ForwardPath::Mailbox(m) = path else {
        return None;
    };
    let mut d = match &m.host {
        Host::Domain(d) => d.0.to_string(),
        Host::Literal(l) => l.to_string(),
    };
    d.make_ascii_lowercase();
    if d.ends_with('.') {
        d.pop();
    }
    Some(d)
}

impl BodyScanner {
    /// The type seen so far, not counting a CR at the very end (it may be followed by LF
    /// in the next chunk).
    pub(crate) fn seen_type(&self) -> BodyType {
        self.seen_so_far()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::capability::Limits;

    fn recipients(addrs: &[&str]) -> Vec<super::super::envelope::Recipient> {
        let mut env = Envelope::new("a@example.test").unwrap();
        for a in addrs {
            env.add_recipient(a).unwrap();
        }
        env.recipients
    }

    impl TxnLimits {
        /// The indices `batch_with` takes.
        fn batch(&self, recipients: &[super::super::envelope::Recipient]) -> Vec<usize> {
            let mut taken = Vec::new();
            let n = self.batch_with(recipients, |i| taken.push(i));
            assert_eq!(n, taken.len());
            taken
        }
    }

    fn limits(rcpt: Option<u64>, domains: Option<u64>, mail: Option<u64>) -> TxnLimits {
        TxnLimits::new(Limits {
            rcpt_max: rcpt,
            mail_max: mail,
            rcpt_domain_max: domains,
        })
    }

    #[test]
    fn zero_or_absent_is_no_limit() {
        assert_eq!(limits(Some(0), Some(0), Some(0)), TxnLimits::default());
        assert_eq!(limits(None, None, None), TxnLimits::default());
        let r = recipients(&["a@x.test", "b@y.test", "c@z.test"]);
        assert_eq!(TxnLimits::default().batch(&r), [0, 1, 2]);
    }

    #[test]
    fn rcptmax_takes_the_first_ones() {
        let r = recipients(&["a@x.test", "b@x.test", "c@x.test", "d@x.test"]);
        assert_eq!(limits(Some(3), None, None).batch(&r), [0, 1, 2]);
        assert_eq!(limits(Some(1), None, None).batch(&r), [0]);
        assert_eq!(limits(Some(u64::MAX), None, None).batch(&r), [0, 1, 2, 3]);
    }

    #[test]
    fn rcptdomainmax_skips_new_domains_only() {
        let r = recipients(&[
            "a@x.test",
            "b@Y.test",
            "c@z.test",
            "d@X.TEST",
            "e@y.test",
            "postmaster",
            "f@[192.0.2.1]",
        ]);
        // Two domains: x.test and y.test (in any case); z.test and the
        // literal wait; Postmaster has no domain.
        assert_eq!(limits(None, Some(2), None).batch(&r), [0, 1, 3, 4, 5]);
        assert_eq!(limits(None, Some(1), None).batch(&r), [0, 3, 5]);
        // Both limits: RCPTMAX counts the recipients taken.
        assert_eq!(limits(Some(2), Some(2), None).batch(&r), [0, 1]);
        assert_eq!(limits(Some(3), Some(1), None).batch(&r), [0, 3, 5]);
        // A first recipient is always taken.
        let p = recipients(&["postmaster", "a@x.test"]);
        assert_eq!(limits(Some(1), Some(1), None).batch(&p), [0]);
    }

    #[test]
    fn the_held_back_reply_is_recognised() {
        let r = held_back_reply();
        assert_eq!(r.code.0, 452);
        assert!(is_held_back(&r));
        assert!(!is_held_back(&Reply::new(
            452,
            Some(crate::syntax::reply::EnhancedCode::new(4, 5, 3)),
            "Too many recipients"
        )));
    }
}
