//! The client state machine: the [`Client`] session and its public API, the [`Event`]s it
//! reports, the dispatch of each reply to the command it answers (RFC 5321 4.2.1, 4.3.2),
//! the reply and data-block timers (RFC 5321 4.5.3.2), the output queue, and the end of the
//! session (RFC 5321 3.8, 4.1.1.10).
//!
//! Each protocol area has its own file, with its own `impl Client` block:
//! * `hello.rs`: the greeting, EHLO with the HELO fallback, STARTTLS and X-ANONYMOUSTLS
//!   (RFC 5321, RFC 3207);
//! * `auth.rs`: the AUTH and X-EXPS exchanges (RFC 4954), with the mechanisms
//!   `client/auth.rs` chooses and drives;
//! * `transaction.rs`: planning and sending MAIL, RCPT, XEXCH50, DATA and BDAT, in
//!   PIPELINING flights (RFC 2920), and their replies;
//! * `body.rs`: the message content, as BDAT chunks (RFC 3030 CHUNKING) or dot-stuffed
//!   DATA, whole or streamed;
//! * `limits.rs`: the server's LIMITS (RFC 9422);
//! * `outcome.rs`: the result for each recipient and what becomes of the message for it.

mod auth;
mod body;
mod hello;
mod limits;
mod outcome;
mod transaction;

pub use auth::{AuthChallenge, AuthResponse};
pub use outcome::{Outcome, RecipientStatus};

use self::auth::{AuthState, AuthWait};
use self::body::{BodyPhase, Source};
use self::transaction::{set_failed, Queued, Txn};
use super::config::ClientConfig;
use super::envelope::{Body, Envelope};
use super::error::{
    CloseReason, MessageError, ProtocolError, SendError, TimeoutKind, Unsent, UsageError,
};
use crate::syntax::capability::{Capabilities, Capability, Kinds};
use crate::syntax::command::{Command, ExchangeVerb};
use crate::syntax::reply::{Reply, ReplyParser};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The output buffer grows by at least this much at a time (see `reserve_out`).
const OUT_BLOCK: usize = 1024;

/// Identifies a message queued with [`Client::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

/// What the client reports. Poll with [`Client::poll_event`]; the
/// [module documentation](super#example) matches on them in a whole session. New kinds
/// may be added (`#[non_exhaustive]`), so a match needs a catch-all arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
// `MessageResult` carries the caller's envelope back as it is: boxing it would cost an
// allocation per message (`tests/client_alloc.rs` counts them), while the larger size
// of every event only costs the moves through the event queue.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// The server's `220` greeting (or its refusal, `554` or another `4yz`/`5yz`, its
    /// `421`, or a reply of another code, each followed by `Closed`: see
    /// [`CloseReason::GreetingRefused`], [`CloseReason::ServiceUnavailable`] and
    /// [`ProtocolError::UnexpectedReply`]). A greeting that cannot be parsed gives no
    /// `Greeting`, only `Closed` with [`ProtocolError::Malformed`].
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
    /// The server refused authentication with one mechanism and the client tries the next
    /// one, as [`ClientConfig::auth_fallback`] allows (RFC 4954 section 4). The exchange
    /// of `next` follows (an [`Event::AuthChallenge`] first for a caller-driven
    /// mechanism).
    AuthFallback {
        /// The mechanism the server refused.
        mechanism: String,
        /// The server's refusal (`535`, `504`, or `534` when `next` is stronger).
        reply: Reply,
        /// The mechanism the client tries now.
        next: String,
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
    /// A message is done: delivered (the final reply) or not (why). Every message queued
    /// with [`Client::send`] gets exactly one, also when it was never sent (refused before
    /// anything was sent, or the session ended first).
    MessageResult {
        /// The message.
        message: MessageId,
        /// The final `2xx` reply (to the end of data, RFC 5321 4.1.1.4, or to the last
        /// `BDAT` chunk, RFC 3030 2), or the error.
        result: Result<Reply, MessageError>,
        /// Per-recipient outcomes, one per recipient of `envelope`, in order.
        recipients: Vec<RecipientStatus>,
        /// The envelope given to [`Client::send`], back unchanged (moved, not copied): the
        /// addresses the statuses' indexes refer to, for reports, and the envelope
        /// [`Envelope::deferred`] builds the next transaction from, so the caller keeps
        /// no copy of its own.
        envelope: Envelope,
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
    /// Where a BDAT command starts in the client's output (`None` for other commands):
    /// until the transport has taken that many octets, the chunk can be withdrawn
    /// (`withdraw_unsent_bdat`).
    start: Option<u64>,
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
    /// The typed keywords of `caps` (empty without), which `Client::has` reads: it is
    /// asked several times per message.
    cap_kinds: Kinds,
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

/// The session's state, never the bytes it holds: output not yet handed out may carry an
/// AUTH line (a password or token in BASE64) and the queue holds message bodies, so
/// `Debug` shows counts and lengths. (The configuration's credentials hide their secrets
/// in their own `Debug`.)
impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("hostname", &self.config.hostname)
            .field("state", &self.state)
            .field("esmtp", &self.esmtp)
            .field("tls_active", &self.tls_active)
            .field("authenticated", &self.authenticated)
            .field("awaited_replies", &self.expects.len())
            .field("queued_messages", &self.queue.len())
            .field("in_transaction", &self.txn.is_some())
            .field("transactions", &self.transactions)
            .field("input_len", &self.input.len())
            .field("output_len", &(self.out.len() + self.transmit_len))
            .field("queued_events", &self.events.len())
            .field("close_reason", &self.close_reason)
            .finish_non_exhaustive()
    }
}

fn is_positive(r: &Reply) -> bool {
    (200..300).contains(&r.code.0)
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
            start: None,
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
            cap_kinds: Kinds::default(),
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

    fn has(&self, cap: &Capability) -> bool {
        match self.cap_kinds.has(cap) {
            Some(has) => has,
            None => self.caps.as_ref().is_some_and(|c| c.has(cap)),
        }
    }

    /// Sets (or forgets) what the server advertised.
    pub(super) fn set_caps(&mut self, caps: Option<Capabilities>) {
        self.cap_kinds = caps.as_ref().map(Kinds::of).unwrap_or_default();
        self.caps = caps;
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// What the server advertised in its last EHLO reply. After a HELO fallback: the
    /// HELO reply's first line as [`Capabilities::greeting`] and no extensions. `None`
    /// before the hello reply, and again from [`Client::tls_established`] until the
    /// reply to the EHLO after TLS (RFC 3207 section 4.2: what was learnt before TLS is
    /// discarded).
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
            return Err(SendError::Closed(Box::new(Unsent {
                envelope,
                body: body.into(),
            })));
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

    /// [`Client::receive`] at `now`, when the bytes arrived: a reply among them starts
    /// the timer of the reply awaited next at `now` (RFC 5321 4.5.3.2), so
    /// [`Client::poll_timeout`] gives a real deadline at once, as the server's
    /// [`receive`](crate::server::Server::receive) does. A `now` earlier than a time the
    /// client was already given counts as no time passed.
    ///
    /// ```
    /// use ehlo::client::{Client, ClientConfig, TlsPolicy};
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now();
    /// let mut config = ClientConfig::new("client.example.test");
    /// config.tls = TlsPolicy::Never;
    /// let mut client = Client::new(config, t0);
    /// let t1 = t0 + Duration::from_secs(1);
    /// client.receive_at(t1, b"220 mx.example.test ESMTP\r\n");
    /// assert!(client.poll_transmit(t1).is_some()); // EHLO
    /// // Five minutes for the EHLO reply (RFC 5321 4.5.3.2), from when it was sent.
    /// assert_eq!(client.poll_timeout(), Some(t1 + Duration::from_secs(300)));
    /// let t2 = t1 + Duration::from_secs(2);
    /// client.receive_at(t2, b"250 mx.example.test\r\n");
    /// // Ready and idle: no reply awaited, no timer.
    /// assert_eq!(client.poll_timeout(), None);
    /// ```
    pub fn receive_at(&mut self, now: Instant, data: &[u8]) {
        self.receive(data);
        if self.state != State::Closed {
            self.observe(now);
        }
    }

    /// The transport was closed by the peer (or failed). The session ends at once:
    /// [`Event::Closed`] with [`CloseReason::PeerClosed`], and every message not done
    /// gets its [`Event::MessageResult`] with [`MessageError::SessionClosed`]; once the
    /// client has queued `QUIT`, the reason is [`CloseReason::Quit`] (`None`: no reply),
    /// or the reason the client quit for (see [`CloseReason::GreetingRefused`] and the
    /// others it sends `QUIT` after). Nothing is sent. Does nothing once closed.
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
        self.set_caps(None);
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
    ///
    /// [`BodyType`]: super::BodyType
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
    ///
    /// [`BodyType::Binary`]: super::BodyType::Binary
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
    #[must_use = "an event not handled is lost: drain the events until None"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next bytes to write to the transport, if any. `now` starts the reply timers of
    /// the commands handed out; it also tells the client the time (see
    /// [`Client::poll_timeout`]), so call it after every [`Client::receive`], even when
    /// nothing is to be written.
    #[must_use = "the bytes handed out must be written to the server"]
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
    /// was written. [`Client::receive_at`] tells the client when a reply arrived.
    /// [`Client::receive`] takes no time: its reply is taken to have arrived at the next
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
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline().map(|(t, _)| t)
    }

    /// Tells the client the time; a reply timeout that has expired closes the session
    /// with [`CloseReason::Timeout`] (RFC 5321 4.5.3.2). After a reply arrived, the first
    /// time given (here or to [`Client::poll_transmit`]) starts the next reply's timer.
    /// Calling it before [`Client::poll_timeout`] expires nothing.
    ///
    /// On a timeout the client sends nothing more (no `QUIT`): drop the transport. Every
    /// message not done gets its [`Event::MessageResult`] with
    /// [`MessageError::SessionClosed`], which [`RecipientStatus::outcome`] reads as
    /// [`Outcome::Deferred`].
    ///
    /// ```
    /// use ehlo::client::{
    ///     Client, ClientConfig, CloseReason, Envelope, Event, Outcome, TimeoutKind, TlsPolicy,
    /// };
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now(); // a fake clock: any Instant plus offsets
    /// let mut config = ClientConfig::new("client.example.test");
    /// config.tls = TlsPolicy::Never;
    /// config.timeouts.rcpt = Duration::from_secs(30);
    /// let mut client = Client::new(config, t0);
    /// client.send(Envelope::new("a@example.test")?.recipient("b@example.test")?, "Hi\r\n").unwrap();
    /// client.receive_at(t0, b"220 mx.example.test ESMTP\r\n");
    /// while client.poll_transmit(t0).is_some() {} // EHLO
    /// client.receive_at(t0, b"250 mx.example.test\r\n");
    /// while client.poll_transmit(t0).is_some() {} // MAIL (no PIPELINING: one at a time)
    /// let t1 = t0 + Duration::from_secs(1);
    /// client.receive_at(t1, b"250 2.1.0 OK\r\n");
    /// while client.poll_transmit(t1).is_some() {} // RCPT, which the server never answers
    /// assert_eq!(client.poll_timeout(), Some(t1 + Duration::from_secs(30)));
    /// client.handle_timeout(t1 + Duration::from_secs(30));
    /// assert!(client.is_closed());
    /// let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
    /// let outcome = events.iter().find_map(|e| match e {
    ///     Event::MessageResult { result, recipients, .. } => Some(recipients[0].outcome(result)),
    ///     _ => None,
    /// });
    /// assert_eq!(outcome, Some(Outcome::Deferred));
    /// assert_eq!(events.last(), Some(&Event::Closed(CloseReason::Timeout(TimeoutKind::Rcpt))));
    /// # Ok::<(), ehlo::syntax::PathError>(())
    /// ```
    ///
    /// [`MessageError::SessionClosed`]: super::MessageError::SessionClosed
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

    /// Drops the output queued from offset `at` (counted from the start of the session)
    /// on; what the transport has taken stays sent.
    fn truncate_output(&mut self, at: u64) {
        let Some(mut left) = at
            .checked_sub(self.handed_out)
            .and_then(|n| usize::try_from(n).ok())
        else {
            return;
        };
        let mut kept = 0;
        for seg in self.transmit.iter_mut() {
            if left == 0 {
                break;
            }
            seg.truncate(left);
            left -= seg.len();
            kept += 1;
        }
        self.transmit.truncate(kept);
        self.out.truncate(left);
        self.transmit_len = self.transmit.iter().map(Bytes::len).sum();
        if self.queued_len() == 0 {
            // The queue ran empty (see `last_send`).
            self.last_send = None;
        }
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
            start: None,
        });
    }

    pub(super) fn command(&mut self, cmd: &Command<'_>, expect: Expect) {
        // Most commands fit in this much; a longer one grows the buffer as it is written.
        reserve_out(&mut self.out, 64);
        cmd.encode(&mut self.out);
        self.expect(expect);
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
                envelope: txn.envelope,
            });
        }
        while let Some(q) = self.queue.pop_front() {
            let recipients = (0..q.envelope.recipients.len())
                .map(|index| RecipientStatus { index, reply: None })
                .collect();
            self.events.push_back(Event::MessageResult {
                message: q.id,
                result: Err(MessageError::SessionClosed(reason.clone())),
                recipients,
                envelope: q.envelope,
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
        let out_of_step = if (300..400).contains(&reply.code.0) {
            !takes_intermediate(pending.expect, &reply)
        } else {
            // DATA succeeds only with its 354 (RFC 5321 4.3.2): a 2yz is a reply out of
            // step (an extra one, RFC 2920 3.1), not a refusal, and the server may be
            // reading content.
            pending.expect == Expect::Data && is_positive(&reply)
        };
        if out_of_step {
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

    // ----- what goes out next -----

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
