//! The server session state machine (RFC 5321 and the extensions, plus the Exchange verbs
//! of \[MS-OXSMTP\]).
//!
//! A [`Server`] is one SMTP session, without any IO: the caller feeds the bytes it read
//! with [`Server::receive`], takes [`Event`]s from [`Server::poll_event`], answers those
//! that need a decision with [`Server::decide`] (or [`Server::accept`] /
//! [`Server::reject`]), and writes what [`Server::poll_transmit`] returns (or what
//! [`Server::transmit_into`] appends to its own write buffer). Time comes in as
//! [`Instant`] arguments ([`Server::new`], [`Server::receive`], [`Server::handle_timeout`]);
//! the machine never reads a clock. The same input and decisions always give the same
//! events and output bytes, however the input is split.
//!
//! While a decision is pending the machine processes no further input, so replies always
//! leave in command order, also when the client pipelines (RFC 2920). Replies are collected
//! and handed out in as few transmits as possible; a reply to a command that must end a
//! pipelining group (EHLO, DATA, VRFY, EXPN, TURN, QUIT, NOOP, and STARTTLS and AUTH
//! challenges) closes a transmit.
//!
//! # The caller's loop
//!
//! 1. `Server::new(config, now)` when a client connects (share one
//!    `Arc<ServerConfig>` between sessions); for implicit TLS (RFC 8314) call
//!    [`Server::tls_established`] before anything else.
//! 2. Drain [`Server::poll_event`], answering every event for which
//!    [`Event::needs_decision`] is true with [`Server::decide`] (or [`Server::decide_at`]
//!    when the decision took time, e.g. a disk commit on [`Event::MessageEnd`]). While a
//!    decision waits, `poll_event` returns `None` and nothing is answered: the machine
//!    never decides for the caller, so a `250` to a message goes out only when the
//!    caller says so, however its loop is arranged. Collect
//!    [`Event::MessageChunk`]s for the message in progress and discard them on
//!    [`Event::MessageAborted`] or [`Event::Reset`]. Do this before the first read: the
//!    first event, [`Event::Connect`], comes without any input, and the client says
//!    nothing until the greeting its decision produces has been written (RFC 5321 3.1).
//! 3. Write every buffer [`Server::poll_transmit`] returns (or
//!    [`Server::transmit_into`]), in order. If [`Server::is_paused_for_output`], go back
//!    to step 2 before reading: the session stopped taking the commands it holds because
//!    the replies waiting to be written reached `limits.max_output_buffer` (a client
//!    pipelining without reading), and those commands are answered only now.
//! 4. When [`Server::is_closed`], the remaining transmits are written (step 3): close the
//!    connection.
//! 5. Read from the client and hand every byte to [`Server::receive`], then go back to
//!    step 2; on EOF drop the session. Wait for input until [`Server::poll_timeout`] at
//!    most, then call [`Server::handle_timeout`] and go back to step 2 (a timeout answers
//!    `421 4.4.2` and closes, RFC 5321 4.5.3.2).
//! 6. STARTTLS: after [`Event::TlsUpgrade`], write what [`Server::poll_transmit`] holds
//!    (the `220`), run the TLS handshake on the transport, then call
//!    [`Server::tls_established_at`] (the wait for EHLO starts then) or
//!    [`Server::tls_established`]; what the client sent in between is discarded.
//! 7. AUTH: with [`AuthConfig::builtin_exchanges`] the machine runs PLAIN, LOGIN, XOAUTH2
//!    and OAUTHBEARER itself and asks for a verdict with [`Event::AuthVerify`]
//!    ([`Decision::AuthSuccess`] or [`Decision::AuthFailure`]), and hands NTLM and GSSAPI
//!    tokens over as [`Event::AuthToken`]; otherwise, and for other mechanisms
//!    (CRAM-MD5, custom ones), the caller drives the exchange from [`Event::AuthStart`]
//!    and [`Event::AuthResponse`] with [`Decision::AuthChallenge`].
//! 8. Going down: [`Server::shutdown`] ends the session with `421 4.3.2` at once if no
//!    message is in progress, or right after it (RFC 5321 3.8); keep running the loop
//!    until [`Server::is_closed`], for as long as the caller's grace period allows.
//!
//! # A message and its envelope
//!
//! [`Event::MessageEnd`] carries only the size. With
//! [`ServerConfig::record_envelope`] the machine keeps the envelope the caller accepted,
//! and [`Server::envelope`] gives it while `MessageEnd` waits for its decision. Without it
//! the machine keeps no copy of the addresses ([`Server::in_transaction`] and
//! [`Server::recipients`] are all it says about the transaction), and a caller that stores
//! or relays the message builds the envelope from the events it decided, as the machine
//! does:
//!
//! * an [`Event::MailFrom`] it accepts starts a new envelope. The event only comes when no
//!   transaction is open (a second `MAIL` is answered `503 5.5.1` by the machine);
//! * each [`Event::RcptTo`] it accepts adds a recipient. Accepted means
//!   [`Decision::Accept`], [`Decision::Default`] (which accepts MAIL and RCPT) or a
//!   [`Decision::Reply`] with a `2xx` code; recipients the machine refuses itself (syntax,
//!   `max_recipients`, LIMITS) never reach the caller;
//! * [`Event::MessageChunk`]s are the content;
//! * the decision on [`Event::MessageEnd`] ends the transaction, whatever it is (a `250`
//!   or a refusal such as `451`): take the envelope and the content there;
//! * [`Event::Reset`] and [`Event::MessageAborted`] end it without a message: drop both.
//!   (After a refused BDAT chunk that is not `LAST` the machine keeps the failed
//!   transaction open until `BDAT ... LAST` or `RSET`, refusing the chunks in between; the
//!   `LAST` chunk brings no event, and the next accepted `MailFrom` starts afresh.) A
//!   session that closes in the middle of a message sends none of these: drop what is
//!   held.
//!
//! ```
//! use ehlo::server::{Decision, Event, Server, ServerConfig};
//! use ehlo::{EnhancedCode, Reply};
//! use std::time::Instant;
//!
//! #[derive(Default)]
//! struct Envelope { from: String, to: Vec<String>, content: Vec<u8> }
//!
//! let now = Instant::now();
//! let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
//! server.receive(now, b"EHLO c.example.test\r\nMAIL FROM:<a@example.test>\r\n\
//!     RCPT TO:<b@example.test>\r\nRCPT TO:<x@elsewhere.test>\r\nDATA\r\nHi\r\n.\r\n");
//! let (mut current, mut stored) = (Envelope::default(), Vec::new());
//! while let Some(event) = server.poll_event() {
//!     let decision = match event {
//!         Event::MailFrom { from, .. } => {
//!             current = Envelope { from: from.to_string(), ..Envelope::default() };
//!             Decision::Accept
//!         }
//!         Event::RcptTo { to, .. } if to.to_string().ends_with("@example.test>") => {
//!             current.to.push(to.to_string());
//!             Decision::Accept
//!         }
//!         Event::RcptTo { .. } => {
//!             Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "Relaying denied"))
//!         }
//!         Event::MessageChunk(bytes) => {
//!             current.content.extend_from_slice(&bytes);
//!             continue;
//!         }
//!         Event::MessageEnd { .. } => {
//!             stored.push(std::mem::take(&mut current)); // a real server commits it here
//!             Decision::Accept
//!         }
//!         Event::Reset | Event::MessageAborted(_) => {
//!             current = Envelope::default();
//!             continue;
//!         }
//!         event if event.needs_decision() => Decision::Default,
//!         _ => continue,
//!     };
//!     server.decide(decision);
//! }
//! assert_eq!(stored.len(), 1);
//! assert_eq!(stored[0].from, "<a@example.test>");
//! assert_eq!(stored[0].to, ["<b@example.test>"]);
//! assert_eq!(stored[0].content, b"Hi\r\n");
//! ```
//!
//! The crate documentation shows a [`Server`] and a [`Client`](crate::client::Client)
//! connected in memory with STARTTLS and AUTH; `examples/smtp-server.rs` (tokio + rustls),
//! `examples/blocking.rs` and `examples/event-loop.rs` are real drivers.
//!
//! # Example
//!
//! ```
//! use ehlo::server::{Decision, Event, Server, ServerConfig};
//! use ehlo::Reply;
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
//! let mut wire = Vec::new(); // what would go to the socket
//! let mut message = Vec::new(); // what would go to storage
//!
//! // The client's bytes as they might come from a socket, in arbitrary pieces.
//! let input: [&[u8]; 3] = [
//!     b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@exa",
//!     b"mple.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\nSubject: hi\r\n\r\nHello\r\n.\r\n",
//!     b"QUIT\r\n",
//! ];
//! let mut pieces = input.iter();
//! loop {
//!     while let Some(event) = server.poll_event() {
//!         let decision = match event {
//!             Event::RcptTo { to, .. } if to.to_string().contains("nobody@") => {
//!                 Decision::Reply(Reply::new(550, Some(ehlo::EnhancedCode::new(5, 1, 1)), "No such user"))
//!             }
//!             Event::MessageChunk(bytes) => {
//!                 message.extend_from_slice(&bytes);
//!                 continue;
//!             }
//!             event if !event.needs_decision() => continue,
//!             _ => Decision::Accept,
//!         };
//!         server.decide(decision);
//!     }
//!     while let Some(bytes) = server.poll_transmit() {
//!         wire.extend_from_slice(&bytes);
//!     }
//!     if server.is_closed() {
//!         break;
//!     }
//!     match pieces.next() {
//!         Some(piece) => server.receive(now, piece),
//!         None => break,
//!     }
//! }
//! assert_eq!(message, b"Subject: hi\r\n\r\nHello\r\n");
//! let wire = String::from_utf8(wire).unwrap();
//! assert!(wire.starts_with("220 mx.example.test ESMTP ready\r\n250-mx.example.test Hello client.example.test\r\n"));
//! assert!(wire.ends_with(
//!     "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n550 5.1.1 No such user\r\n\
//!      354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"
//! ));
//! assert!(server.is_closed());
//! ```

// Each protocol area has its own file, with its own `impl Server` block:
// * `commands.rs`: reading lines and dispatching each command (RFC 5321 4.1.1);
// * `envelope.rs`: MAIL and RCPT and their parameters (RFC 5321 4.1.1.2-3, the ESMTP
//   extensions' parameters);
// * `auth.rs`: the AUTH and X-EXPS exchanges (RFC 4954, [MS-XLOGIN], [MS-SMTPNTLM]);
// * `body.rs`: DATA, BDAT and the XEXCH50 blob (RFC 5321 4.1.1.4, RFC 3030);
// * `decision.rs`: what the caller's decisions become on the wire;
// * `capabilities.rs`: the EHLO reply (RFC 5321 4.1.1.1);
// * `session_limits.rs`: the per-session limits, `output.rs`: queueing replies.
mod auth;
mod body;
mod capabilities;
mod commands;
mod config;
mod decision;
mod envelope;
mod event;
pub mod exchange;
mod output;
pub mod replies;
mod session_limits;

pub use crate::sasl::AuthVerb;
pub use config::{
    AuthConfig, BareLineEnding, ExchangeConfig, Extensions, LongLines, Mechanism, ServerConfig,
    ServerLimits, Timeouts,
};
pub use envelope::{AcceptedEnvelope, AcceptedRecipient};
pub use event::{AuthAbort, Decision, DecisionError, Event, MessageAbort, NotAwaitingTls, TlsVerb};

use body::BdatError;
use decision::Pending;
use session_limits::{command_line_limits, SessionLimits};

use crate::data::{ChunkReader, DataDecoder};
use crate::sasl::ServerExchange;
use crate::syntax::reply::Reply;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// How the client greeted us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Greeted {
    No,
    Helo,
    Ehlo,
}

/// What the next input bytes mean.
enum Phase {
    /// The greeting decision has not been asked yet.
    Connect,
    /// Command lines.
    Command,
    /// A SASL continuation line after a `334`, with the built-in exchange if one runs.
    Sasl(AuthVerb, Option<Box<ServerExchange>>),
    /// DATA content after `354`.
    Data { decoder: DataDecoder, emitted: u64 },
    /// A BDAT chunk. `error` is the reply to send after the chunk was skipped instead of
    /// delivered.
    Bdat {
        reader: ChunkReader,
        size: u64,
        last: bool,
        error: Option<BdatError>,
    },
    /// The XEXCH50 blob after `354`.
    XExch50(ChunkReader),
    /// After `220` to STARTTLS/X-ANONYMOUSTLS: input is discarded until the handshake.
    TlsHandshake,
    /// Nothing more is processed.
    Closed,
}

/// The current mail transaction (RFC 5321 3.3).
#[derive(Debug, Clone, Copy, Default)]
struct Transaction {
    recipients: usize,
    /// Distinct recipient domains accepted (the first entries of `Server::rcpt_domains`),
    /// counted only under an advertised RCPTDOMAINMAX.
    domains: usize,
    smtputf8: bool,
    binarymime: bool,
    bdat: bool,
    bdat_size: u64,
    /// A chunk of this BDAT transaction was refused (too large, or no valid recipients):
    /// the transaction has failed (RFC 3030 section 2), and the pipelined chunks that
    /// follow, up to LAST, are consumed and answered with the same reply (the sender stops
    /// after a failed chunk, but chunks it already pipelined must not be read as commands
    /// nor counted as errors). RCPT and DATA are refused as after any BDAT.
    bdat_failed: Option<BdatError>,
    xexch50: bool,
}

/// The result of one processing step (returned at once, never stored).
#[allow(clippy::large_enum_variant)]
enum Step {
    Event(Event),
    Progress,
    Idle,
}

/// One server-side SMTP session. See the [module documentation](self) for the loop and a
/// pipelined session.
///
/// ```
/// use ehlo::server::{Server, ServerConfig};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
/// server.receive(now, b"EHLO client.example.test\r\nQUIT\r\n");
/// while let Some(event) = server.poll_event() {
///     if event.needs_decision() {
///         server.accept();
///     }
/// }
/// let mut wire = Vec::new();
/// server.transmit_into(&mut wire);
/// assert!(wire.starts_with(b"220 mx.example.test ESMTP ready\r\n250-mx.example.test"));
/// assert!(wire.ends_with(b"221 2.0.0 Bye\r\n"));
/// assert!(server.is_closed());
/// ```
pub struct Server {
    config: Arc<ServerConfig>,
    input: BytesMut,
    /// Input frozen for a body reader (DATA, BDAT, XEXCH50), consumed before `input`.
    body_in: Bytes,
    out: BytesMut,
    /// Where a transmit must end, as offsets in the output counted from the octets
    /// already handed out (`out_taken`), so handing out a transmit moves no other mark:
    /// moving them all made handing out many transmits quadratic in their number.
    flush_marks: VecDeque<usize>,
    /// Octets handed out of `out` since `flush_marks` was last cleared.
    out_taken: usize,
    queued: VecDeque<Event>,
    /// The accepted envelope, under [`ServerConfig::record_envelope`]: set by an accepted
    /// MAIL, extended by each accepted RCPT, dropped with the `MessageEnd` decision; only
    /// read while `txn` is open (see [`Server::envelope`]).
    envelope: Option<Box<AcceptedEnvelope>>,
    phase: Phase,
    pending: Option<Pending>,
    skipping: bool,
    greeted: Greeted,
    client_name: Option<String>,
    /// The client's IP address, for the `<host> Hello [<ip>]` EHLO line (see
    /// [`Server::set_client_address`]).
    client_address: Option<std::net::IpAddr>,
    refused: bool,
    tls: bool,
    auth_identity: Option<String>,
    exps_identity: Option<String>,
    txn: Option<Transaction>,
    /// The last command was a `BDAT` without a transaction, refused and not `LAST`. The
    /// `BDAT`s that directly follow it up to `LAST` are chunks the client had already
    /// pipelined (say, behind a refused MAIL): RFC 3030 section 2 has the server "accept
    /// and discard additional BDAT chunks already in the pipeline after the failed BDAT",
    /// so they are refused the same way without counting as protocol errors again (a long
    /// message must not use up `limits.max_errors`). Any other command ends the run.
    bdat_run: bool,
    /// The last command was a MAIL the session refused, or a RCPT answered `503` behind
    /// one, and PIPELINING was advertised: the RCPTs and the DATA or BDAT that directly
    /// follow are taken as the rest of the client's pipelined group (RFC 2920 section 3.1)
    /// and their `503 5.5.1` does not count toward `limits.max_errors`. Otherwise a sender
    /// refused with many recipients would be cut off with `421` for errors it could not
    /// avoid (Exim treats them the same way). Any other command ends the run, and so does
    /// a RCPT beyond the session's recipient limit (`mail_refused_rcpts`): a group holds no
    /// more recipients than a transaction takes, so `max_errors` still stops a client that
    /// sends RCPTs without end.
    mail_refused_run: bool,
    /// RCPTs answered in the current run behind a refused MAIL.
    mail_refused_rcpts: usize,
    errors: u32,
    auth_failures: u32,
    /// The SASL exchange under way uses NTLM: a failure decided without a reply of the
    /// caller's is `535 5.7.3` (\[MS-SMTPNTLM\] 2.2.1.4 and 3.2.5.2.3), not RFC 4954's
    /// `535 5.7.8`.
    sasl_ntlm: bool,
    commands: u64,
    transactions: u32,
    /// [`Server::shutdown`] was called: the session ends with `421 4.3.2` as soon as no
    /// mail transaction is open.
    shutting_down: bool,
    last_activity: Instant,
    /// When the unprocessed command input began to arrive: the first octet of a command
    /// or SASL line still incomplete (or being skipped as too long), or of pipelined lines
    /// not yet read. The wait for a command counts from here while such input is held, so
    /// a client that trickles a line a byte at a time gets one command timeout for the
    /// whole line (RFC 5321 4.5.3.2.7 times the wait for the next command, not each
    /// read). [`Server::decide_at`] moves it to its `now`: the wait for what the client
    /// pipelined behind the decided command starts at the reply.
    line_since: Instant,
    /// Whether any input arrived, and whether any output was handed out: implicit TLS
    /// must be established before either.
    heard: bool,
    spoke: bool,
    /// When the decision waited for was asked (its timeout counts from then).
    pending_since: Instant,
    /// The longest command line of each verb this session takes
    /// ([`command_line_limits`]).
    line_limits: crate::limits::CommandLineLimits,
    /// The limits this session enforces ([`SessionLimits`]).
    limits: SessionLimits,
    /// The distinct recipient domains of the transaction, lower-cased (its first
    /// `Transaction::domains` entries; the strings are reused from one transaction to
    /// the next, so tracking them allocates only for a slot's first use or growth).
    /// Used only under an advertised `LIMITS RCPTDOMAINMAX`.
    rcpt_domains: Vec<String>,
    /// Commands wait in the input because the replies not yet handed out reached
    /// `limits.max_output_buffer` (see [`Server::is_paused_for_output`]).
    output_paused: bool,
}

/// Initial capacity of the input and output buffers of a session.
const INITIAL_BUFFER: usize = 1024;

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Phase::Connect => "Connect",
            Phase::Command => "Command",
            Phase::Sasl(..) => "Sasl",
            Phase::Data { .. } => "Data",
            Phase::Bdat { .. } => "Bdat",
            Phase::XExch50(_) => "XExch50",
            Phase::TlsHandshake => "TlsHandshake",
            Phase::Closed => "Closed",
        }
    }
}

/// The session's state, never the bytes it holds: unread input and unsent output may carry
/// an AUTH line (a password in BASE64) or message content, so `Debug` shows their lengths.
impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("hostname", &self.config.hostname)
            .field("phase", &self.phase.name())
            .field("awaiting_decision", &self.pending.is_some())
            .field("greeted", &self.greeted)
            .field("client_name", &self.client_name)
            .field("tls", &self.tls)
            .field("authenticated", &self.auth_identity)
            .field("exps_authenticated", &self.exps_identity)
            .field("transaction", &self.txn)
            .field("commands", &self.commands)
            .field("transactions", &self.transactions)
            .field("errors", &self.errors)
            .field("shutting_down", &self.shutting_down)
            .field("input_len", &(self.input.len() + self.body_in.len()))
            .field("output_len", &self.out.len())
            .field("paused_for_output", &self.is_paused_for_output())
            .field("queued_events", &self.queued.len())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A new session for a client that just connected at `now`. The first event is
    /// [`Event::Connect`]. `config` may be a `ServerConfig` or an `Arc` shared by many
    /// sessions.
    pub fn new(config: impl Into<Arc<ServerConfig>>, now: Instant) -> Server {
        let config = config.into();
        let line_limits = command_line_limits(&config);
        let limits = SessionLimits::new(&config);
        Server {
            config,
            // Room for a session's commands and replies up front, so that they do not
            // regrow the buffers line by line.
            input: BytesMut::with_capacity(INITIAL_BUFFER),
            body_in: Bytes::new(),
            out: BytesMut::with_capacity(INITIAL_BUFFER),
            flush_marks: VecDeque::new(),
            out_taken: 0,
            queued: VecDeque::new(),
            envelope: None,
            phase: Phase::Connect,
            pending: None,
            skipping: false,
            greeted: Greeted::No,
            client_name: None,
            client_address: None,
            refused: false,
            tls: false,
            auth_identity: None,
            exps_identity: None,
            txn: None,
            bdat_run: false,
            mail_refused_run: false,
            mail_refused_rcpts: 0,
            errors: 0,
            auth_failures: 0,
            sasl_ntlm: false,
            commands: 0,
            transactions: 0,
            shutting_down: false,
            last_activity: now,
            line_since: now,
            heard: false,
            spoke: false,
            pending_since: now,
            line_limits,
            limits,
            rcpt_domains: Vec::new(),
            output_paused: false,
        }
    }

    /// The configuration of this session.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Feeds bytes read from the client at `now`.
    ///
    /// Input is only buffered here; [`Server::poll_event`] processes it. Input after the
    /// session closed, and input between an accepted STARTTLS and
    /// [`Server::tls_established`], is discarded. If the unprocessed input would exceed
    /// `limits.max_input_buffer` (256 KiB by default), the session answers `421 4.7.0`
    /// and closes: that is a client flooding while a decision waits. So feed it in pieces
    /// no larger than [`Server::input_room`] and drain the events in between (with the
    /// default cap a socket read of 64 KiB or less always fits after a drain), and a whole
    /// message held in memory goes through in such pieces.
    ///
    /// Input restarts the timer of RFC 5321 4.5.3.2 (the client's last activity), except
    /// a part of a command line, which leaves the wait counting from the line's first
    /// octet (see [`Timeouts`]), and input that is discarded: bytes fed during the TLS
    /// handshake are not SMTP activity
    /// (RFC 3207 4.2), so a peer that trickles plaintext instead of completing the
    /// handshake still times out. An empty `data` (a read that produced nothing, such as a
    /// TLS record without application data) is no input and restarts nothing. A `now`
    /// earlier than the last activity seen counts as no time passed: it never moves the
    /// deadline earlier.
    pub fn receive(&mut self, now: Instant, data: &[u8]) {
        if data.is_empty() || matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            return;
        }
        self.last_activity = self.last_activity.max(now);
        self.heard = true;
        if self.input.is_empty() && !self.skipping {
            self.line_since = self.last_activity;
        }
        let total = self.buffered_len().saturating_add(data.len());
        if total > self.config.limits.input_buffer() {
            self.pending = None;
            self.send(&replies::INPUT_OVERFLOW);
            self.close();
            return;
        }
        self.input.extend_from_slice(data);
    }

    /// Octets of input held and not yet processed (bounded by
    /// `limits.max_input_buffer`).
    pub fn buffered_len(&self) -> usize {
        self.input.len() + self.body_in.len()
    }

    /// How many more octets [`Server::receive`] takes before the input cap
    /// (`limits.max_input_buffer`) closes the session.
    ///
    /// ```
    /// use ehlo::server::{Decision, Event, Server, ServerConfig};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
    /// // A 1 MiB message held in memory, four times the default input cap.
    /// let mut input = b"EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n".to_vec();
    /// input.extend(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n".repeat(16_384));
    /// input.extend(b".\r\nQUIT\r\n");
    /// let mut rest = &input[..];
    /// let mut stored = 0;
    /// while !server.is_closed() {
    ///     let (piece, tail) = rest.split_at(rest.len().min(server.input_room()));
    ///     server.receive(now, piece);
    ///     rest = tail;
    ///     while let Some(event) = server.poll_event() {
    ///         if let Event::MessageChunk(bytes) = &event {
    ///             stored += bytes.len();
    ///         }
    ///         if event.needs_decision() {
    ///             server.decide(Decision::Default);
    ///         }
    ///     }
    /// }
    /// assert_eq!(stored, 1 << 20);
    /// let mut out = Vec::new();
    /// server.transmit_into(&mut out);
    /// assert!(out.ends_with(b"250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"));
    /// ```
    pub fn input_room(&self) -> usize {
        self.config
            .limits
            .input_buffer()
            .saturating_sub(self.buffered_len())
    }

    /// Octets of output waiting for [`Server::poll_transmit`]. Commands are taken only
    /// while this stays below `limits.max_output_buffer` (see
    /// [`Server::is_paused_for_output`]).
    pub fn pending_output_len(&self) -> usize {
        self.out.len()
    }

    /// The next event, processing buffered input as far as needed.
    ///
    /// Returns `None` when all buffered input is processed (feed more with
    /// [`Server::receive`]), when the session is closed, and while the last event waits
    /// for a decision ([`Event::needs_decision`]): nothing more is processed, and nothing
    /// is answered, until the caller decides ([`Server::decide`];
    /// [`Decision::Default`] applies the event's documented default). Polling never
    /// answers for the caller, so a message or a recipient is never accepted while its
    /// decision is still being made (storage under way, a lookup in flight). A decision
    /// that never comes ends in the timeout's `421 4.4.2` ([`Server::handle_timeout`],
    /// RFC 5321 4.5.3.2), never in acceptance.
    #[must_use = "an event not handled is lost: drain the events until None"]
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queued.pop_front() {
                return Some(event);
            }
            if self.pending.is_some() {
                return None;
            }
            match self.step() {
                Step::Event(event) => return Some(event),
                Step::Progress => continue,
                Step::Idle => return None,
            }
        }
    }

    /// Whether [`Server::poll_event`] stopped with commands still buffered because the
    /// replies waiting to be handed out reached `limits.max_output_buffer`
    /// ([`ServerLimits::max_output_buffer`]). Hand them out
    /// ([`Server::poll_transmit`] or [`Server::transmit_into`]), then poll events again
    /// before waiting for more input: a client that pipelined its commands may wait for
    /// their replies and send nothing more.
    ///
    /// ```
    /// use ehlo::server::{Decision, Server, ServerConfig};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
    /// // A client pipelining 9,000 NOOPs without reading a reply.
    /// server.receive(now, &b"NOOP\r\n".repeat(9_000));
    /// let (mut wire, mut most) = (Vec::new(), 0);
    /// loop {
    ///     while let Some(event) = server.poll_event() {
    ///         if event.needs_decision() {
    ///             server.decide(Decision::Default);
    ///         }
    ///     }
    ///     most = most.max(server.pending_output_len());
    ///     server.transmit_into(&mut wire);
    ///     if !server.is_paused_for_output() {
    ///         break;
    ///     }
    /// }
    /// // The replies waited for the caller 64 KiB at a time, not all 9,000 at once.
    /// assert!(most < 66_000);
    /// assert_eq!(wire.len(), 33 + 9_000 * b"250 2.0.0 OK\r\n".len());
    /// ```
    pub fn is_paused_for_output(&self) -> bool {
        self.output_paused && !matches!(self.phase, Phase::Closed)
    }

    /// Whether the machine waits for a decision on the last event.
    pub fn is_decision_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Accepts the pending event with its standard reply ([`Decision::Accept`]).
    pub fn accept(&mut self) {
        self.decide(Decision::Accept)
    }

    /// Answers the pending event with `reply` ([`Decision::Reply`]): a 4xx/5xx code
    /// refuses, a 2xx/3xx code accepts with the caller's text.
    pub fn reject(&mut self, reply: Reply) {
        self.decide(Decision::Reply(reply))
    }

    /// Answers the pending event at `now`: [`Server::decide`], and the wait for the
    /// client's next move (RFC 5321 4.5.3.2: the command timer after a `250` to the end
    /// of data, the data block timer after a `354`) starts from `now` rather than from
    /// the client's last input. Use it when a decision takes time (a disk commit, a
    /// back end): with [`Server::decide`], the time the caller took counts against the
    /// client.
    ///
    /// ```
    /// use ehlo::server::{Decision, Event, Server, ServerConfig};
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now();
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), t0);
    /// server.receive(t0, b"EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\nhi\r\n.\r\n");
    /// while let Some(event) = server.poll_event() {
    ///     if matches!(event, Event::MessageEnd { .. }) {
    ///         // Six minutes to store it; the client gets its five from the 250 on.
    ///         let later = t0 + Duration::from_secs(360);
    ///         server.decide_at(later, Decision::Accept);
    ///         assert_eq!(server.poll_timeout(), Some(later + Duration::from_secs(300)));
    ///     } else if event.needs_decision() {
    ///         server.decide(Decision::Accept);
    ///     }
    /// }
    /// ```
    pub fn decide_at(&mut self, now: Instant, decision: Decision) {
        if self.pending.is_some() {
            self.last_activity = self.last_activity.max(now);
            // A command the client pipelined behind the decided one and that is still
            // incomplete waits from the reply too, not from its first octet (see
            // `Server::line_since`): the client's next move starts at `now`.
            self.line_since = self.last_activity;
        }
        self.decide(decision);
    }

    /// Answers the pending event. Does nothing when no decision is pending (a second
    /// decision for the same event, a decision after an informational event or after the
    /// session closed): a decision always answers the one event that waits, never a later
    /// one. A SASL decision ([`Decision::AuthSuccess`], [`Decision::AuthChallenge`], ...)
    /// to an event other than AUTH does not fit it and is not applied either: the event
    /// keeps waiting for a decision that fits. [`Server::try_decide`] says whether the
    /// decision was applied, and why not. The client's timer keeps counting from its last input; see
    /// [`Server::decide_at`] for decisions that take time.
    pub fn decide(&mut self, decision: Decision) {
        let _ = self.try_decide(decision);
    }

    /// [`Server::decide`], reporting a decision that found no event waiting for one as
    /// [`DecisionError::NotPending`] (it is dropped: nothing is sent, and it does not
    /// answer the next event), and a SASL decision given to an event other than AUTH as
    /// [`DecisionError::Mismatch`] (nothing is sent, and the event still waits). A caller
    /// that keeps its own record of which event it answers learns here that the record
    /// and the machine disagree.
    ///
    /// ```
    /// use ehlo::server::{Decision, DecisionError, Server, ServerConfig};
    /// use std::time::Instant;
    ///
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), Instant::now());
    /// assert!(server.poll_event().is_some()); // Event::Connect
    /// assert_eq!(server.try_decide(Decision::Accept), Ok(()));
    /// assert_eq!(server.try_decide(Decision::Accept), Err(DecisionError::NotPending));
    /// ```
    pub fn try_decide(&mut self, decision: Decision) -> Result<(), DecisionError> {
        let Some(pending) = self.pending.take() else {
            return Err(DecisionError::NotPending);
        };
        if !decision::fits(&pending, &decision) {
            self.pending = Some(pending);
            return Err(DecisionError::Mismatch);
        }
        self.apply_decision(pending, decision);
        Ok(())
    }

    /// Appends everything queued for the client to `out` (every pending transmit, in
    /// order) and returns how many octets that was.
    ///
    /// The same bytes as calling [`Server::poll_transmit`] until it returns `None`, for a
    /// caller that gathers them into its own write buffer anyway: the machine's buffer is
    /// kept and reused instead of being handed out as [`Bytes`] per transmit.
    ///
    /// ```
    /// use ehlo::server::{Decision, Server, ServerConfig};
    /// use std::time::Instant;
    ///
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), Instant::now());
    /// assert!(server.poll_event().is_some()); // Event::Connect
    /// server.decide(Decision::Default); // accept the connection: the greeting
    /// let mut out = Vec::new();
    /// assert_eq!(server.transmit_into(&mut out), 33);
    /// assert_eq!(out, b"220 mx.example.test ESMTP ready\r\n");
    /// assert_eq!(server.transmit_into(&mut out), 0);
    /// ```
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.out.len();
        self.spoke |= n > 0;
        out.extend_from_slice(&self.out);
        self.out.clear();
        self.flush_marks.clear();
        self.out_taken = 0;
        n
    }

    /// The next transmit: bytes to write to the client, in order. A transmit ends where
    /// the client must see a reply before it may go on (see the module docs).
    #[must_use = "the bytes handed out must be written to the client"]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.out.is_empty() {
            self.flush_marks.clear();
            self.out_taken = 0;
            return None;
        }
        self.spoke = true;
        let end = self
            .flush_marks
            .pop_front()
            .and_then(|mark| mark.checked_sub(self.out_taken));
        match end {
            Some(end) if end > 0 && end < self.out.len() => {
                self.out_taken += end;
                Some(self.out.split_to(end).freeze())
            }
            _ => {
                self.flush_marks.clear();
                self.out_taken = 0;
                Some(self.out.split().freeze())
            }
        }
    }

    /// When [`Server::handle_timeout`] must be called next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = &self.config.timeouts;
        let wait = match (&self.pending, &self.phase) {
            (_, Phase::Closed) => return None,
            (Some(Pending::DataStart), _) => t.data_initiation,
            (Some(Pending::MessageEnd), _) => t.data_termination,
            (Some(_), _) => t.command,
            (None, Phase::Data { .. } | Phase::Bdat { .. } | Phase::XExch50(_)) => t.data_block,
            (None, _) => t.command,
        };
        // A decision's wait counts from when it was asked: input the client sends
        // meanwhile (pipelined commands, or a byte now and then) does not stretch it. The
        // wait for a command counts from the first octet of the line still incomplete, if
        // any (`line_since`): a part of a line is no command.
        let command_input = matches!(self.phase, Phase::Command | Phase::Sasl(..))
            && (self.skipping || !self.input.is_empty());
        let since = if self.pending.is_some() {
            self.pending_since
        } else if command_input {
            self.line_since
        } else {
            self.last_activity
        };
        since.checked_add(wait)
    }

    /// Tells the machine the time is `now`. If a timeout expired, the session answers
    /// `421 4.4.2` and closes (RFC 5321 4.5.3.2). Calling it early is harmless: before
    /// [`Server::poll_timeout`] it changes nothing, so a loop may call it on every wake-up.
    ///
    /// ```
    /// use ehlo::server::{Decision, Server, ServerConfig};
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now(); // a fake clock: any Instant plus offsets
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), t0);
    /// server.poll_event(); // Event::Connect
    /// server.decide(Decision::Accept); // the greeting
    /// let mut wire = Vec::new();
    /// server.transmit_into(&mut wire);
    /// // The client says nothing: five minutes for a command (RFC 5321 4.5.3.2.7).
    /// let deadline = server.poll_timeout().unwrap();
    /// assert_eq!(deadline, t0 + Duration::from_secs(300));
    /// server.handle_timeout(deadline - Duration::from_secs(1));
    /// assert!(!server.is_closed());
    /// server.handle_timeout(deadline);
    /// wire.clear();
    /// server.transmit_into(&mut wire);
    /// assert_eq!(wire, b"421 4.4.2 Timeout exceeded, closing connection\r\n");
    /// assert!(server.is_closed() && server.poll_timeout().is_none());
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.poll_timeout() {
            if now >= deadline {
                self.pending = None;
                self.queued.clear();
                // In the middle of a TLS handshake a plaintext 421 would land in the TLS
                // stream: the session just ends.
                if !matches!(self.phase, Phase::TlsHandshake) {
                    self.send(&replies::TIMEOUT);
                }
                self.close();
            }
        }
    }

    /// The TLS handshake completed: after [`Event::TlsUpgrade`] (STARTTLS or
    /// X-ANONYMOUSTLS), or, for implicit TLS (RFC 8314), before the first byte of input
    /// and before any output was handed out (the greeting goes out inside TLS).
    /// The session is back at its start (RFC 3207 section 4.2): EHLO is required, the EHLO
    /// name, any transaction and any authentication are forgotten, and the EHLO reply
    /// advertises what applies under TLS.
    ///
    /// At any other time it is refused with [`NotAwaitingTls`] and changes nothing: a
    /// session that never upgraded must not start to advertise what is offered only under
    /// TLS (plaintext AUTH mechanisms), nor forget its state.
    ///
    /// The wait for the client's next command still counts from its last activity (the
    /// STARTTLS command, or the connection): the handshake took part of it. To give the
    /// client the full command timeout from the end of the handshake, use
    /// [`Server::tls_established_at`].
    ///
    /// ```
    /// use ehlo::server::{NotAwaitingTls, Server, ServerConfig};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// // Implicit TLS: the handshake comes first.
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
    /// assert_eq!(server.tls_established(), Ok(()));
    /// assert!(server.is_tls());
    /// // Plaintext input came first, and no STARTTLS was accepted: refused.
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
    /// server.receive(now, b"EHLO client.example.test\r\n");
    /// assert_eq!(server.tls_established(), Err(NotAwaitingTls));
    /// assert!(!server.is_tls());
    /// ```
    pub fn tls_established(&mut self) -> Result<(), NotAwaitingTls> {
        if matches!(self.phase, Phase::TlsHandshake) {
            self.tls = true;
            self.phase = Phase::Command;
            self.input.clear();
            self.body_in.clear();
            self.skipping = false;
            self.greeted = Greeted::No;
            self.client_name = None;
            self.txn = None;
            self.auth_identity = None;
            self.exps_identity = None;
            Ok(())
        } else if !self.tls && !self.heard && !self.spoke && !matches!(self.phase, Phase::Closed) {
            self.tls = true;
            Ok(())
        } else {
            Err(NotAwaitingTls)
        }
    }

    /// [`Server::tls_established`] at `now`, when the handshake ended: the session starts
    /// over, and so does the wait for its first command (RFC 5321 4.5.3.2.7 times the
    /// server's wait from the client's latest activity, and completing the handshake is
    /// the latest; RFC 3207 section 4.2 starts the SMTP session over). A `now` earlier
    /// than the last activity seen never moves the deadline earlier.
    ///
    /// ```
    /// use ehlo::server::{Server, ServerConfig};
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now();
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), t0);
    /// // Implicit TLS (RFC 8314): the handshake ran before the greeting and took 20 s.
    /// server.tls_established_at(t0 + Duration::from_secs(20)).unwrap();
    /// assert_eq!(server.poll_timeout(), Some(t0 + Duration::from_secs(20 + 300)));
    /// ```
    pub fn tls_established_at(&mut self, now: Instant) -> Result<(), NotAwaitingTls> {
        self.tls_established()?;
        self.last_activity = self.last_activity.max(now);
        Ok(())
    }

    /// Ends the session gracefully, for a server that is going down: at once if no mail
    /// transaction is open, otherwise as soon as the one in progress ends (its message
    /// is answered, or it is reset or refused), so that no message the client has started
    /// is cut off. The client then gets `421 4.3.2 Service shutting down, closing
    /// transmission channel` instead of the reply to its next command, and the session
    /// closes (RFC 5321 3.8: a server that must shut down sends `421`; RFC 3463 X.3.2,
    /// system not accepting network messages). A connection still waiting for its
    /// greeting gets the `421` as its greeting, with no [`Event::Connect`] (RFC 5321
    /// 3.1), and an AUTH exchange or TLS handshake in progress ends first.
    ///
    /// A transaction ends as it would without the shutdown: a refused `BDAT` chunk (RFC
    /// 3030 section 2) leaves it open until the client's `RSET`, and a pending decision
    /// taken after the call (an accepted `MAIL`) opens one that may run its course. The
    /// session's timeouts (RFC 5321 4.5.3.2) still bound every wait, so a client that
    /// stalls gets `421 4.4.2` at worst.
    ///
    /// Then go on as usual: drain [`Server::poll_event`] (deciding what waits for a
    /// decision) and write what [`Server::poll_transmit`]
    /// returns; [`Server::is_closed`] says when the session has ended. A caller that
    /// cannot wait for an open transaction closes the connection itself after a grace
    /// period.
    ///
    /// ```
    /// use ehlo::server::{Server, ServerConfig};
    /// use std::time::Instant;
    ///
    /// let now = Instant::now();
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), now);
    /// while let Some(_event) = server.poll_event() {
    ///     server.accept(); // the greeting
    /// }
    /// server.receive(now, b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\n");
    /// while let Some(_event) = server.poll_event() {
    ///     server.accept();
    /// }
    /// server.shutdown(); // a transaction is open: it may go on
    /// server.receive(now, b"RCPT TO:<b@example.test>\r\nRSET\r\nNOOP\r\n");
    /// while let Some(_event) = server.poll_event() {
    ///     server.accept();
    /// }
    /// let mut out = Vec::new();
    /// server.transmit_into(&mut out);
    /// let out = String::from_utf8(out).unwrap();
    /// assert!(out.ends_with(
    ///     "250 2.1.5 Recipient OK\r\n\
    ///      250 2.0.0 OK\r\n\
    ///      421 4.3.2 Service shutting down, closing transmission channel\r\n"
    /// ));
    /// assert!(server.is_closed());
    /// ```
    pub fn shutdown(&mut self) {
        self.shutting_down = true;
        if self.pending.is_none() && self.queued.is_empty() {
            self.shut_down_if_idle();
        }
    }

    /// Whether [`Server::shutdown`] was called (the session may still be finishing a
    /// transaction; [`Server::is_closed`] says when it has ended).
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// Sends the `421 4.3.2` of [`Server::shutdown`] and closes, if the session waits for
    /// a command (or its greeting) outside a mail transaction. Returns whether it did.
    fn shut_down_if_idle(&mut self) -> bool {
        let idle = match self.phase {
            Phase::Connect => true,
            Phase::Command => self.txn.is_none(),
            _ => false,
        };
        if idle {
            self.send(&replies::SHUTTING_DOWN);
            self.close();
        }
        idle
    }

    /// Whether the session ended (QUIT, `421`, timeout, limits). Send the remaining
    /// transmits, then close the connection.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The name the client gave in its accepted EHLO or HELO (`None` after a bare `EHLO`,
    /// accepted under [`ExchangeConfig::ehlo_without_argument`] or when NTLM is offered).
    pub fn client_name(&self) -> Option<&str> {
        self.client_name.as_deref()
    }

    /// Whether the client greeted with EHLO (extensions advertised).
    pub fn is_esmtp(&self) -> bool {
        self.greeted == Greeted::Ehlo
    }

    /// The identity of a successful AUTH exchange.
    pub fn authenticated(&self) -> Option<&str> {
        self.auth_identity.as_deref()
    }

    /// The identity of a successful X-EXPS exchange (kept apart from AUTH; at most one of
    /// the two is ever set, since a success under either verb refuses the other with
    /// `503 5.5.1`).
    pub fn exps_authenticated(&self) -> Option<&str> {
        self.exps_identity.as_deref()
    }

    /// Whether a mail transaction is open (MAIL accepted, not yet ended or reset).
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// Recipients accepted in the current transaction.
    pub fn recipients(&self) -> usize {
        self.txn.map_or(0, |t| t.recipients)
    }

    /// The envelope of the open transaction as accepted so far, under
    /// [`ServerConfig::record_envelope`]: the reverse-path and parameters of the accepted
    /// `MAIL`, then each accepted `RCPT` in order, with its parameters. Recipients the
    /// caller refused, or the machine refused itself (syntax, `max_recipients`, LIMITS),
    /// are not in it, and a `RCPT` whose decision is still pending is not in it yet.
    ///
    /// While [`Event::MessageEnd`] waits for its decision this is the message's envelope;
    /// the decision ends the transaction (whatever it is), and with it the envelope. `None`
    /// without a transaction (none opened yet, or it ended with the `MessageEnd`
    /// decision, `RSET`, a new `EHLO`/`HELO`, STARTTLS, or a message aborted after
    /// `DATA`), and always `None` without `record_envelope`.
    ///
    /// ```
    /// use ehlo::server::{Decision, Event, Server, ServerConfig};
    /// use ehlo::{EnhancedCode, Reply};
    /// use std::time::Instant;
    ///
    /// let mut config = ServerConfig::new("mx.example.test");
    /// config.record_envelope = true;
    /// let now = Instant::now();
    /// let mut server = Server::new(config, now);
    /// server.receive(now, b"EHLO c.example.test\r\nMAIL FROM:<a@example.test>\r\n\
    ///     RCPT TO:<b@example.test> NOTIFY=NEVER\r\nRCPT TO:<x@elsewhere.test>\r\n\
    ///     DATA\r\nHi\r\n.\r\n");
    /// while let Some(event) = server.poll_event() {
    ///     match event {
    ///         Event::RcptTo { to, .. } if to.to_string().contains("elsewhere") => {
    ///             server.decide(Decision::Reply(Reply::new(
    ///                 550,
    ///                 Some(EnhancedCode::new(5, 7, 1)),
    ///                 "Relaying denied",
    ///             )));
    ///         }
    ///         Event::MessageEnd { .. } => {
    ///             let envelope = server.envelope().unwrap();
    ///             assert_eq!(envelope.from.to_string(), "<a@example.test>");
    ///             assert_eq!(envelope.recipients.len(), 1);
    ///             assert_eq!(envelope.recipients[0].to.to_string(), "<b@example.test>");
    ///             assert!(envelope.recipients[0].params.notify.is_some_and(|n| n.never));
    ///             server.decide(Decision::Accept); // stored: the transaction is over
    ///             assert!(server.envelope().is_none());
    ///         }
    ///         event if event.needs_decision() => server.decide(Decision::Default),
    ///         _ => {}
    ///     }
    /// }
    /// ```
    pub fn envelope(&self) -> Option<&AcceptedEnvelope> {
        self.txn.and(self.envelope.as_deref())
    }

    /// Mail transactions started in this session.
    pub fn transactions(&self) -> u32 {
        self.transactions
    }

    // Kept out of `poll_event`: inlined there, its frame (the command dispatch, an
    // `Event` in flight) made every `poll_event` call pay for it, also the ones that only
    // pop a queued event or find a decision pending (about 1 % of a session's
    // instructions).
    #[inline(never)]
    fn step(&mut self) -> Step {
        if self.shutting_down && self.shut_down_if_idle() {
            return Step::Idle;
        }
        match self.phase {
            Phase::Closed | Phase::TlsHandshake => Step::Idle,
            Phase::Connect => {
                self.phase = Phase::Command;
                self.wait_for(Pending::Connect);
                Step::Event(Event::Connect)
            }
            Phase::Command | Phase::Sasl(..) => {
                // Replies the caller has not taken yet bound how many more commands are
                // answered: a client that pipelines without reading must not grow them
                // without end (`limits.max_output_buffer`).
                self.output_paused = self.out.len() >= self.config.limits.output_buffer()
                    && (self.skipping || !self.input.is_empty());
                if self.output_paused {
                    return Step::Idle;
                }
                self.step_line()
            }
            Phase::Data { .. } => self.step_data(),
            Phase::Bdat { .. } | Phase::XExch50(_) => self.step_chunk(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Server {
        Server::new(ServerConfig::new("mx.example.test"), Instant::now())
    }

    #[test]
    fn transmits_end_at_flush_marks() {
        let mut s = session();
        s.out.extend_from_slice(b"aaa");
        s.flush();
        s.flush();
        s.out.extend_from_slice(b"bb");
        s.out.extend_from_slice(b"c");
        s.flush();
        s.out.extend_from_slice(b"dd");
        assert_eq!(s.poll_transmit().as_deref(), Some(&b"aaa"[..]));
        assert_eq!(s.poll_transmit().as_deref(), Some(&b"bbc"[..]));
        assert_eq!(s.poll_transmit().as_deref(), Some(&b"dd"[..]));
        assert_eq!(s.poll_transmit(), None);
    }

    #[test]
    fn transmit_into_gathers_every_transmit() {
        let mut s = session();
        s.out.extend_from_slice(b"aaa");
        s.flush();
        s.out.extend_from_slice(b"bb");
        s.flush();
        s.out.extend_from_slice(b"c");
        let mut out = b"x".to_vec();
        assert_eq!(s.transmit_into(&mut out), 6);
        assert_eq!(out, b"xaaabbc");
        assert_eq!(s.poll_transmit(), None);
        // The buffer is reused, and flush marks start afresh.
        s.out.extend_from_slice(b"dd");
        s.flush();
        s.out.extend_from_slice(b"e");
        assert_eq!(s.poll_transmit().as_deref(), Some(&b"dd"[..]));
        assert_eq!(s.transmit_into(&mut out), 1);
        assert_eq!(out, b"xaaabbce");
    }

    /// Flush marks count from `out_taken`: whatever the mix of output, flushes,
    /// `poll_transmit` and `transmit_into`, each transmit is one flushed run of output
    /// (the unflushed rest alone last), as when every hand-out moved the later marks.
    #[test]
    fn mixed_hand_outs_end_at_the_flush_marks() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let mut s = session();
            let (mut flushed, mut tail) = (VecDeque::<Vec<u8>>::new(), Vec::new());
            let mut octet = 0u8;
            for _ in 0..next() % 40 {
                match next() % 6 {
                    0 | 1 => {
                        for _ in 0..next() % 4 {
                            octet = octet.wrapping_add(1);
                            s.out.extend_from_slice(&[octet]);
                            tail.push(octet);
                        }
                    }
                    2 => {
                        s.flush();
                        if !tail.is_empty() {
                            flushed.push_back(std::mem::take(&mut tail));
                        }
                    }
                    3 | 4 => {
                        let want = flushed
                            .pop_front()
                            .or_else(|| Some(std::mem::take(&mut tail)).filter(|t| !t.is_empty()));
                        assert_eq!(s.poll_transmit().map(|b| b.to_vec()), want);
                    }
                    _ => {
                        let mut all = Vec::new();
                        s.transmit_into(&mut all);
                        let mut want: Vec<u8> = flushed.drain(..).flatten().collect();
                        want.append(&mut tail);
                        assert_eq!(all, want);
                    }
                }
            }
        }
    }

    /// A BDAT chunk takes only its own octets: where the reads end (the chunk's last
    /// octet at the end of one, the next command in the same read or the next) changes
    /// nothing the client sees, DATA refused in a BDAT transaction included.
    #[test]
    fn bdat_chunks_at_read_ends() {
        fn run(reads: &[&[u8]]) -> (Vec<u8>, usize) {
            let now = Instant::now();
            let mut s = Server::new(ServerConfig::new("mx.example.test"), now);
            let (mut out, mut content) = (Vec::new(), 0);
            for read in std::iter::once(&b""[..]).chain(reads.iter().copied()) {
                s.receive(now, read);
                while let Some(e) = s.poll_event() {
                    if let Event::MessageChunk(b) = &e {
                        content += b.len();
                    }
                    if e.needs_decision() {
                        s.decide(Decision::Default);
                    }
                }
                s.transmit_into(&mut out);
            }
            (out, content)
        }
        let head: &[u8] = b"EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n";
        let rest: &[u8] = b"DATA\r\nx\r\n.\r\nBDAT 1 LAST\r\nzMAIL FROM:<a@b.test>\r\n\
            RCPT TO:<c@d.test>\r\nDATA\r\ny\r\n.\r\nQUIT\r\n";
        let whole = [head, b"BDAT 3\r\nabc", rest].concat();
        let one = run(&[&whole]);
        let text = String::from_utf8_lossy(&one.0);
        assert!(
            text.contains("250 2.0.0 3 octets received\r\n503 5.5.1 "),
            "{text}"
        );
        assert_eq!(text.matches("Message accepted").count(), 2, "{text}");
        assert_eq!(one.1, 3 + 1 + 3);
        for at in 0..whole.len() {
            let (a, b) = whole.split_at(at);
            assert_eq!(run(&[a, b]), one, "split at {at}");
        }
    }

    #[test]
    fn decide_without_pending_is_ignored() {
        let mut s = session();
        s.decide(Decision::Accept);
        assert_eq!(s.poll_transmit(), None);
        assert_eq!(s.poll_event(), Some(Event::Connect));
        assert!(s.is_decision_pending());
        // Polling again answers nothing: the event keeps waiting for the caller.
        assert_eq!(s.poll_event(), None);
        assert!(s.is_decision_pending());
        assert_eq!(s.poll_transmit(), None);
        // A SASL decision does not fit the greeting: refused, and the event still waits.
        assert_eq!(
            s.try_decide(Decision::AuthFailure),
            Err(DecisionError::Mismatch)
        );
        assert!(s.is_decision_pending());
        assert_eq!(s.poll_transmit(), None);
        s.decide(Decision::Default);
        assert_eq!(
            s.poll_transmit().as_deref(),
            Some(&b"220 mx.example.test ESMTP ready\r\n"[..])
        );
    }

    #[test]
    fn server_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Server>();
        check::<Event>();
        check::<Decision>();
    }

    #[test]
    fn default_mechanism_properties() {
        assert!(Mechanism::new("plain").plaintext);
        assert!(Mechanism::new("LOGIN").plaintext);
        assert!(Mechanism::new("XOAUTH2").plaintext);
        assert!(!Mechanism::new("NTLM").plaintext);
        assert!(!Mechanism::new("GSSAPI").plaintext);
        assert!(!Mechanism::new("CRAM-MD5").plaintext);
        assert_eq!(Mechanism::new("ntlm").name, "NTLM");
    }
}
