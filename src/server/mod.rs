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
//!    when the decision took time, e.g. a disk commit on [`Event::MessageEnd`]). Collect
//!    [`Event::MessageChunk`]s for the message in progress and discard them on
//!    [`Event::MessageAborted`] or [`Event::Reset`]. Do this before the first read: the
//!    first event, [`Event::Connect`], comes without any input, and the client says
//!    nothing until the greeting its decision produces has been written (RFC 5321 3.1).
//! 3. Write every buffer [`Server::poll_transmit`] returns (or
//!    [`Server::transmit_into`]), in order.
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

mod config;
mod event;
pub mod exchange;
pub mod replies;

pub use config::{
    AuthConfig, BareLineEnding, ExchangeConfig, Extensions, LongLines, Mechanism, ServerConfig,
    ServerLimits, Timeouts,
};
pub use event::{AuthAbort, AuthVerb, Decision, DecisionError, Event, MessageAbort, TlsVerb};

use crate::data::{ChunkReader, DataDecoder, DataError, DataEvent, DecoderConfig};
use crate::sasl::{SaslError, ServerExchange, ServerStep};
use crate::syntax::capability::{Capabilities, Capability, Limits};
use crate::syntax::command::{parse_command, Command, ExchangeVerb, InitialResponse, SaslResponse};
use crate::syntax::line::{find_line, skip_line, LineStatus};
use crate::syntax::param::{Body, MailParams, RcptParams};
use crate::syntax::reply::{EnhancedCode, Reply};
use crate::syntax::{Leniency, ParseOptions};
use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
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
#[derive(Debug)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BdatError {
    NotImplemented,
    /// No transaction. `counted`: the refusal counts as a protocol error; not for a chunk
    /// pipelined behind one refused the same way (see `Server::bdat_run`).
    NeedMail {
        counted: bool,
    },
    NoRecipients,
    TooLarge,
}

/// The decision the machine waits for.
#[derive(Debug)]
enum Pending {
    Connect,
    Ehlo(String),
    Helo(String),
    Mail {
        smtputf8: bool,
        binarymime: bool,
    },
    /// `new_domain`: the recipient's domain is not yet among the transaction's
    /// (RCPTDOMAINMAX) and was put in the next free slot of `Server::rcpt_domains`.
    Rcpt {
        new_domain: bool,
    },
    DataStart,
    MessageEnd,
    Auth(AuthVerb, Option<Box<ServerExchange>>),
    StartTls,
    Vrfy,
    Expn,
    Etrn,
    Unknown,
    Exchange(ExchangeVerb),
    XExch50Start(u64),
    XExch50End,
}

/// Whether `code` is a positive reply `pending`'s command can take (RFC 5321 4.3.2, RFC 3207
/// 4, RFC 3030 2, RFC 1985, KB 812455). Replies to AUTH and to unknown or Exchange verbs
/// are not judged here.
fn positive_fits(pending: &Pending, code: u16) -> bool {
    match pending {
        Pending::Connect | Pending::StartTls => code == 220,
        Pending::Ehlo(_) | Pending::Helo(_) | Pending::Mail { .. } | Pending::MessageEnd => {
            code == 250
        }
        // RCPT: 250 and 251 (4.3.2; 252 is VRFY's "cannot verify", not a RCPT reply).
        Pending::Rcpt { .. } => matches!(code, 250 | 251),
        Pending::Vrfy => matches!(code, 250..=252),
        Pending::Expn => matches!(code, 250 | 252),
        Pending::Etrn => matches!(code, 250..=253),
        Pending::DataStart | Pending::XExch50Start(_) => code == 354,
        Pending::XExch50End => code == 250,
        Pending::Auth(..) | Pending::Unknown | Pending::Exchange(_) => true,
    }
}

/// What the machine does with a decision: a positive reply of a code the command cannot
/// take (a `250` to DATA, a `250` to STARTTLS, a `354` to RCPT) would tell the client one
/// thing while the machine does another (swallow its next commands as message content,
/// wait for a handshake it never starts), so the caller's acceptance is kept and its text
/// dropped: the default positive reply goes out. A SASL decision to an event other than
/// AUTH counts as [`Decision::Default`], as `Decision` documents. A [`Decision::Close`]
/// whose code is not `4xx` / `5xx` becomes `421 4.3.0` ([`replies::CLOSING`]): a positive
/// reply followed by a closed connection (a `354` to DATA, a `250` to the end of a
/// message) would tell the client to go on (RFC 5321 3.8).
///
/// Before the rest, the code of a caller's reply is made one RFC 5321 4.2 allows
/// ([`grammatical_code`]), so what is judged is what goes out.
fn normalize_decision(pending: &Pending, decision: Decision) -> Decision {
    let decision = match decision {
        Decision::Close(r) if !(400..600).contains(&r.code.0) => Decision::Close(replies::CLOSING),
        Decision::Close(mut r) => {
            r.code.0 = grammatical_code(r.code.0);
            Decision::Close(r)
        }
        Decision::Reply(mut r) => {
            r.code.0 = grammatical_code(r.code.0);
            Decision::Reply(r)
        }
        d => d,
    };
    match decision {
        Decision::Reply(r)
            if (200..400).contains(&r.code.0) && !positive_fits(pending, r.code.0) =>
        {
            Decision::Accept
        }
        Decision::AuthChallenge(_)
        | Decision::AuthChallengeText(_)
        | Decision::AuthSuccess { .. }
        | Decision::AuthFailure
        | Decision::AuthTemporaryFailure
            if !matches!(pending, Pending::Auth(..)) =>
        {
            Decision::Default
        }
        d => d,
    }
}

/// The code a caller's reply goes out with. RFC 5321 4.2: `Reply-code = %x32-35 %x30-35
/// %x30-39`. A code outside 200..=599 is `554`, as [`Reply::encode`] writes it (4.2.1: a
/// client treats such a code as a permanent failure), so that it also gets the `5.0.0` of
/// its class under ENHANCEDSTATUSCODES (RFC 2034 section 3) instead of none. A second
/// digit of 6 to 9 becomes 5 ("mail system", 4.2.1's generic category): the class, and
/// with it acceptance or refusal, and the third digit are kept (`470` is `450`, `599` is
/// `559`).
fn grammatical_code(code: u16) -> u16 {
    match code {
        200..=599 if code / 10 % 10 > 5 => code / 100 * 100 + 50 + code % 10,
        200..=599 => code,
        _ => 554,
    }
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

/// How the caller's decision resolves.
enum Outcome {
    Accept(Option<Reply>),
    Reject(Reply),
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
#[derive(Debug)]
pub struct Server {
    config: Arc<ServerConfig>,
    input: BytesMut,
    /// Input frozen for a body reader (DATA, BDAT, XEXCH50), consumed before `input`.
    body_in: Bytes,
    out: BytesMut,
    /// Offsets in `out` where a transmit must end.
    flush_marks: VecDeque<usize>,
    queued: VecDeque<Event>,
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
    /// The longest MAIL and RCPT lines this session takes ([`param_line_limits`]).
    mail_line_max: usize,
    rcpt_line_max: usize,
    /// The limits this session enforces ([`SessionLimits`]).
    limits: SessionLimits,
    /// The distinct recipient domains of the transaction, lower-cased (its first
    /// `Transaction::domains` entries; the strings are reused from one transaction to
    /// the next, so tracking them allocates only for a slot's first use or growth).
    /// Used only under an advertised `LIMITS RCPTDOMAINMAX`.
    rcpt_domains: Vec<String>,
}

/// The recipient and transaction limits a session enforces: those of
/// [`ServerLimits`], except where a `LIMITS` line in `extensions.extra` (RFC 9422) states
/// its own (a stated `0` is none: clients read it as no limit). An advertised limit replaces the configured one (it is neither min'ed nor
/// max'ed with it): the client is told `RCPTMAX=200` and can rely on 200 recipients, and
/// none beyond. [`ServerConfig::advertise_limits`] advertises the configured ones.
#[derive(Debug, Clone, Copy)]
struct SessionLimits {
    /// `RCPTMAX` (RFC 9422 section 4.2) or `limits.max_recipients`.
    recipients: usize,
    /// `MAILMAX` (RFC 9422 section 4.1) or `limits.max_transactions`.
    transactions: u32,
    /// `RCPTDOMAINMAX` (RFC 9422 section 4.3); no limit unless advertised.
    recipient_domains: Option<usize>,
    /// The min-by-time of an advertised `DELIVERBY <n>` (RFC 2852 section 4).
    deliver_by_min: Option<u64>,
    /// The max-future-release-interval of an advertised `FUTURERELEASE` (RFC 4865
    /// section 3), if it is a number (no limit otherwise).
    hold_for_max: Option<u64>,
    /// Its max-future-release-date-time as a UTC instant, if it is a valid date-time (no
    /// limit otherwise).
    hold_until_max: Option<(i64, u32)>,
}

impl SessionLimits {
    fn new(config: &ServerConfig) -> SessionLimits {
        let x = &config.extensions;
        let advertised = x.extra.iter().find_map(|c| match c {
            Capability::Limits(pairs) => Some(Limits::from_pairs(pairs)),
            _ => None,
        });
        // `FUTURERELEASE <max-future-release-interval> <max-future-release-date-time>`
        let release = x.extra.iter().find_map(|c| match c {
            Capability::FutureRelease(p) => p.trim().split_once(' '),
            _ => None,
        });
        let release = release.map(|(interval, date)| (interval, date.trim()));
        let advertised = advertised.unwrap_or_default();
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        // An advertised `0` is no limit of its own, as the client reads it (RFC 9422
        // section 4: a limit is what the client can use; zero transactions or recipients
        // is nothing to conform to): the configured limit applies.
        let nonzero = |v: Option<u64>| v.filter(|&n| n > 0);
        SessionLimits {
            recipients: nonzero(advertised.rcpt_max).map_or(config.limits.max_recipients, size),
            transactions: nonzero(advertised.mail_max)
                .map_or(config.limits.max_transactions, |n| {
                    u32::try_from(n).unwrap_or(u32::MAX)
                }),
            recipient_domains: nonzero(advertised.rcpt_domain_max).map(size),
            deliver_by_min: x.extra.iter().find_map(|c| match c {
                Capability::DeliverBy(n) => *n,
                _ => None,
            }),
            hold_for_max: release.and_then(|(interval, _)| interval.parse().ok()),
            hold_until_max: release
                .and_then(|(_, date)| crate::syntax::param::date_time_utc(date.as_bytes())),
        }
    }
}

/// The longest MAIL and RCPT command lines a session with `config` takes: the command
/// line limit plus the room the parameters of each offered extension need (RFC 5321
/// 4.5.3.1.4: "SMTP extensions may be used to increase this limit"; the amounts are in
/// [`crate::limits::param_allowance`]). A MAIL with `SIZE=`, `AUTH=` and a 250-octet
/// address is longer than 512 octets and valid.
fn param_line_limits(config: &ServerConfig) -> (usize, usize) {
    use crate::limits::param_allowance as a;
    let x = &config.extensions;
    let e = &config.exchange;
    let extra = |kw: &str| x.extra.iter().any(|c| c.keyword().eq_ignore_ascii_case(kw));
    let add = |on: bool, n: usize| if on { n } else { 0 };
    let exchange_mail = e.xshadow
        || e.xshadowrequest
        || !e.exps_mechanisms.is_empty()
        || [
            "XOORG",
            "XMESSAGECONTEXT",
            "XATTRDIRECT",
            "XATTRORGID",
            "XSYSPROBEID",
            "XMSGID",
            "XORIGFROM",
        ]
        .iter()
        .any(|kw| extra(kw));
    let mail = add(x.size || extra("SIZE"), a::SIZE)
        + add(x.eight_bit_mime || x.smtputf8 || x.binary_mime, a::BODY)
        + add(!config.auth.mechanisms.is_empty(), a::AUTH)
        + add(x.smtputf8, a::SMTPUTF8)
        + add(x.dsn, a::DSN_MAIL)
        + add(x.requiretls, a::REQUIRETLS)
        + add(extra("MT-PRIORITY"), a::MT_PRIORITY)
        + add(extra("DELIVERBY"), a::BY)
        + add(extra("FUTURERELEASE"), a::HOLD)
        + add(exchange_mail, a::EXCHANGE);
    let rcpt = add(x.dsn, a::DSN_RCPT) + add(e.xrdst, a::EXCHANGE);
    let base = config.limits.max_command_line;
    (base.saturating_add(mail), base.saturating_add(rcpt))
}

/// Initial capacity of the input and output buffers of a session.
const INITIAL_BUFFER: usize = 1024;

/// `<host> Hello [<ip>]`, the first line of the EHLO reply (and the HELO reply) as
/// Exchange writes it. An IPv4 address is written digit by digit: this runs once per
/// connection and the general formatter costs more than the rest of the reply.
fn hello_line(hostname: &str, ip: std::net::IpAddr) -> String {
    let mut s = String::with_capacity(hostname.len() + 56);
    s.push_str(hostname);
    s.push_str(" Hello [");
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                if octet >= 100 {
                    s.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    s.push(char::from(b'0' + octet / 10 % 10));
                }
                s.push(char::from(b'0' + octet % 10));
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            let _ = write!(s, "{v6}");
        }
    }
    s.push(']');
    s
}

/// `EHLO` without an argument (trailing spaces or tabs allowed), any case.
fn is_bare_ehlo(line: &[u8]) -> bool {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
        end -= 1;
    }
    line[..end].eq_ignore_ascii_case(b"EHLO")
}

fn starts_with_ci(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn resolve(decision: Decision, default: Option<Reply>) -> Outcome {
    match decision {
        Decision::Accept => Outcome::Accept(None),
        Decision::Reply(r) | Decision::Close(r) if (200..400).contains(&r.code.0) => {
            Outcome::Accept(Some(r))
        }
        Decision::Reply(r) | Decision::Close(r) => Outcome::Reject(r),
        _ => match default {
            None => Outcome::Accept(None),
            Some(r) => Outcome::Reject(r),
        },
    }
}

/// RFC 2034 section 3: once ENHANCEDSTATUSCODES is advertised, every `2xx`, `4xx` and
/// `5xx` reply (other than the greeting and the EHLO/HELO reply, which the caller of this
/// leaves out) carries an enhanced status code of the same class. A caller's reply without
/// one, or with one of another class, gets the class's generic code (`2.0.0`, `4.0.0`,
/// `5.0.0`, RFC 3463 X.0.0 "Other undefined Status"). `3xx` replies carry none.
fn default_enhanced_code(r: &mut Reply) {
    let class = match r.code.0 / 100 {
        c @ (2 | 4 | 5) => c as u8,
        _ => return,
    };
    if !r.enhanced.is_some_and(|e| e.matches(r.code)) {
        r.enhanced = Some(EnhancedCode::new(class, 0, 0));
    }
}

fn data_error_reply(e: &DataError) -> Reply {
    match e {
        DataError::TooLarge { .. } => replies::TOO_LARGE,
        DataError::LineTooLong { .. } => Reply {
            code: crate::syntax::reply::ReplyCode(500),
            enhanced: Some(EnhancedCode::new(5, 5, 2)),
            text: "Line too long in message content".into(),
        },
        DataError::BareLineEnding { .. } => Reply {
            code: crate::syntax::reply::ReplyCode(550),
            enhanced: Some(EnhancedCode::new(5, 5, 2)),
            text: "Bare CR or LF in message content not allowed".into(),
        },
    }
}

impl Server {
    /// A new session for a client that just connected at `now`. The first event is
    /// [`Event::Connect`]. `config` may be a `ServerConfig` or an `Arc` shared by many
    /// sessions.
    pub fn new(config: impl Into<Arc<ServerConfig>>, now: Instant) -> Server {
        let config = config.into();
        let (mail_line_max, rcpt_line_max) = param_line_limits(&config);
        let limits = SessionLimits::new(&config);
        Server {
            config,
            // Room for a session's commands and replies up front, so that they do not
            // regrow the buffers line by line.
            input: BytesMut::with_capacity(INITIAL_BUFFER),
            body_in: Bytes::new(),
            out: BytesMut::with_capacity(INITIAL_BUFFER),
            flush_marks: VecDeque::new(),
            queued: VecDeque::new(),
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
            errors: 0,
            auth_failures: 0,
            sasl_ntlm: false,
            commands: 0,
            transactions: 0,
            shutting_down: false,
            last_activity: now,
            mail_line_max,
            rcpt_line_max,
            limits,
            rcpt_domains: Vec::new(),
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
    /// `limits.max_input_buffer`, the session answers `421 4.7.0` and closes.
    ///
    /// Input restarts the timer of RFC 5321 4.5.3.2 (the client's last activity), except
    /// input that is discarded: bytes fed during the TLS handshake are not SMTP activity
    /// (RFC 3207 4.2), so a peer that trickles plaintext instead of completing the
    /// handshake still times out. A `now` earlier than the last activity seen counts as
    /// no time passed: it never moves the deadline earlier.
    pub fn receive(&mut self, now: Instant, data: &[u8]) {
        if matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            return;
        }
        self.last_activity = self.last_activity.max(now);
        let total = self.buffered_len().saturating_add(data.len());
        if total > self.config.limits.max_input_buffer {
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

    /// Octets of output waiting for [`Server::poll_transmit`].
    pub fn pending_output_len(&self) -> usize {
        self.out.len()
    }

    /// The next event, processing buffered input as far as needed.
    ///
    /// If the previous event needed a decision and none was given, its default is applied
    /// first. Returns `None` when all buffered input is processed (feed more with
    /// [`Server::receive`]) or the session is closed.
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.pending.is_some() {
            self.decide(Decision::Default);
        }
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
        }
        self.decide(decision);
    }

    /// Answers the pending event. Does nothing when no decision is pending (a second
    /// decision for the same event, a decision after polling again applied the default,
    /// after an informational event or after the session closed): a decision always
    /// answers the one event that waits, never a later one. [`Server::try_decide`] says
    /// whether it was applied. The client's timer keeps counting from its last input; see
    /// [`Server::decide_at`] for decisions that take time.
    pub fn decide(&mut self, decision: Decision) {
        let _ = self.try_decide(decision);
    }

    /// [`Server::decide`], reporting a decision that found no event waiting for one as
    /// [`DecisionError::NotPending`] (it is dropped: nothing is sent, and it does not
    /// answer the next event). A caller that keeps its own record of which event it
    /// answers learns here that the record and the machine disagree.
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
        self.apply_decision(pending, decision);
        Ok(())
    }

    fn apply_decision(&mut self, pending: Pending, decision: Decision) {
        // RFC 2034 section 3: a caller's reply gets an enhanced code of its class, except
        // the greeting and the EHLO/HELO reply (which carry none), and the replies to the
        // Exchange verbs, whose text is the verb's data (X-LINK2STATE state chunks, KB
        // 812455) and stays exactly as the caller wrote it.
        let mut decision = normalize_decision(&pending, decision);
        let carries_code = !matches!(
            pending,
            Pending::Connect | Pending::Ehlo(_) | Pending::Helo(_) | Pending::Exchange(_)
        );
        if self.enhanced() && carries_code {
            if let Decision::Reply(r) | Decision::Close(r) = &mut decision {
                default_enhanced_code(r);
            }
        }
        if let Decision::Close(reply) = &decision {
            let reply = reply.clone();
            self.send(&reply);
            self.close();
            return;
        }
        match pending {
            Pending::Connect => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    let r = r.unwrap_or_else(|| {
                        Reply::new(
                            220,
                            None,
                            format!("{} {}", self.config.hostname, self.config.greeting),
                        )
                    });
                    self.send_flush(&r);
                }
                Outcome::Reject(r) => {
                    self.refused = true;
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::Ehlo(domain) => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.greeted = Greeted::Ehlo;
                    self.reset_for_hello();
                    let first = match &r {
                        Some(r) => r.lines().next().unwrap_or_default().to_string(),
                        None => match self.client_address {
                            Some(ip) => hello_line(&self.config.hostname, ip),
                            // A bare EHLO (`ExchangeConfig::ehlo_without_argument`): the
                            // client's name is unknown.
                            None if domain.is_empty() => {
                                format!("{} Hello", self.config.hostname)
                            }
                            None => format!("{} Hello {}", self.config.hostname, domain),
                        },
                    };
                    self.client_name = (!domain.is_empty()).then_some(domain);
                    let caps = self.capabilities(first);
                    let reply = caps.to_reply();
                    reply.encode_with(&mut self.out, false);
                    self.flush();
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::Helo(domain) => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.greeted = Greeted::Helo;
                    self.reset_for_hello();
                    self.client_name = Some(domain);
                    let r = r.unwrap_or_else(|| match self.client_address {
                        Some(ip) => Reply::new(250, None, hello_line(&self.config.hostname, ip)),
                        None => Reply::new(250, None, self.config.hostname.clone()),
                    });
                    r.encode_with(&mut self.out, false);
                    self.flush();
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::Mail {
                smtputf8,
                binarymime,
            } => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.transactions = self.transactions.saturating_add(1);
                    self.txn = Some(Transaction {
                        smtputf8,
                        binarymime,
                        ..Transaction::default()
                    });
                    self.send(r.as_ref().unwrap_or(&replies::SENDER_OK));
                }
                Outcome::Reject(r) => self.send_reject(&r),
            },
            Pending::Rcpt { new_domain } => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    if let Some(t) = self.txn.as_mut() {
                        t.recipients += 1;
                        if new_domain {
                            t.domains += 1;
                        }
                    }
                    self.send(r.as_ref().unwrap_or(&replies::RECIPIENT_OK));
                }
                Outcome::Reject(r) => self.send_reject(&r),
            },
            Pending::DataStart => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.send_flush(r.as_ref().unwrap_or(&replies::START_INPUT));
                    let limits = &self.config.limits;
                    self.phase = Phase::Data {
                        decoder: DataDecoder::new(DecoderConfig {
                            max_size: limits.message_size_limit(),
                            max_line_length: limits.max_text_line,
                            long_lines: self.config.long_lines,
                            bare_line_endings: self.config.bare_line_endings,
                        }),
                        emitted: 0,
                    };
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::MessageEnd => {
                self.txn = None;
                match resolve(decision, None) {
                    Outcome::Accept(r) => {
                        self.send(r.as_ref().unwrap_or(&replies::MESSAGE_ACCEPTED))
                    }
                    Outcome::Reject(r) => self.send_reject(&r),
                }
            }
            Pending::Auth(verb, exchange) => self.decide_auth(verb, exchange, decision),
            Pending::StartTls => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.send_flush(r.as_ref().unwrap_or(&replies::READY_FOR_TLS));
                    // RFC 3207 section 4.2 / CVE-2011-0411: nothing pipelined behind
                    // STARTTLS is ever processed.
                    self.input.clear();
                    self.body_in.clear();
                    self.skipping = false;
                    self.phase = Phase::TlsHandshake;
                    // RFC 3207 4.2: the server forgets what the client said before the
                    // handshake, a transaction in progress (say, after a BDAT chunk)
                    // included: the caller hears of it as a reset.
                    if self.txn.take().is_some() {
                        self.queued.push_back(Event::Reset);
                    }
                    self.queued.push_back(Event::TlsUpgrade);
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::Vrfy | Pending::Expn => {
                let (default, accepted) = if matches!(pending, Pending::Vrfy) {
                    (replies::CANNOT_VRFY, replies::CANNOT_VRFY)
                } else {
                    (replies::EXPN_DISABLED, replies::CANNOT_EXPN)
                };
                match resolve(decision, Some(default)) {
                    Outcome::Accept(r) => self.send(r.as_ref().unwrap_or(&accepted)),
                    Outcome::Reject(r) => self.send_reject(&r),
                }
                self.flush();
            }
            Pending::Etrn => match resolve(decision, Some(replies::ETRN_UNABLE)) {
                Outcome::Accept(r) => {
                    let ok = Reply::new(250, Some(EnhancedCode::new(2, 0, 0)), "Queuing started");
                    self.send(r.as_ref().unwrap_or(&ok))
                }
                Outcome::Reject(r) => self.send_reject(&r),
            },
            Pending::Unknown => {
                let default = matches!(decision, Decision::Default);
                match resolve(decision, Some(replies::UNRECOGNIZED)) {
                    Outcome::Accept(r) => self.send(r.as_ref().unwrap_or(&replies::OK)),
                    Outcome::Reject(r) if default => self.error(&r),
                    Outcome::Reject(r) => self.send_reject(&r),
                }
            }
            Pending::Exchange(verb) => {
                let default = matches!(decision, Decision::Default);
                // KB 812455: an X-LINK2STATE command or response may be up to 1,024
                // octets; the caller's reply is wrapped at that length, not at 512.
                let max_line = match verb {
                    ExchangeVerb::XLink2State => crate::limits::MAX_LINK2STATE_LINE,
                    _ => crate::limits::MAX_REPLY_LINE,
                };
                match resolve(decision, Some(replies::UNRECOGNIZED)) {
                    Outcome::Accept(r) => {
                        self.send_lines(r.as_ref().unwrap_or(&replies::OK), max_line)
                    }
                    Outcome::Reject(r) if default => self.error(&r),
                    Outcome::Reject(r) => {
                        self.send_lines(&r, max_line);
                        if r.code.0 == 421 {
                            self.close();
                        }
                    }
                }
            }
            Pending::XExch50Start(size) => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    if let Some(t) = self.txn.as_mut() {
                        t.xexch50 = true;
                    }
                    self.send_flush(r.as_ref().unwrap_or(&replies::SEND_BLOB));
                    self.phase = Phase::XExch50(ChunkReader::new(size));
                }
                Outcome::Reject(r) => self.send_reject(&r),
            },
            Pending::XExch50End => match resolve(decision, None) {
                Outcome::Accept(r) => self.send(r.as_ref().unwrap_or(&replies::BLOB_OK)),
                Outcome::Reject(r) => self.send_reject(&r),
            },
        }
    }

    /// An accepted EHLO or HELO ends any open transaction: RFC 5321 4.1.4, the server
    /// "MUST clear all buffers and reset the state exactly as if a RSET command had been
    /// issued". The caller hears of it as [`Event::Reset`], as for RSET, so the chunks it
    /// holds of a BDAT message in progress are discarded and never become part of the
    /// next message.
    fn reset_for_hello(&mut self) {
        if self.txn.take().is_some() {
            self.queued.push_back(Event::Reset);
        }
    }

    /// Sends `334 <text>` as one line (never wrapped: a long NTLM or GSSAPI token must stay
    /// on one line, RFC 4954 section 4) and waits for the client's answer.
    fn challenge(&mut self, verb: AuthVerb, text: &str, exchange: Option<Box<ServerExchange>>) {
        // continue-req = "334" SP [base64] CRLF; a challenge carries no CR or LF (they are
        // dropped), and other control characters become spaces, as in every reply
        // (RFC 5321 4.2 textstring; HT is kept).
        self.out.extend_from_slice(b"334 ");
        for b in text.bytes() {
            match b {
                b'\r' | b'\n' => {}
                b'\t' => self.out.extend_from_slice(b"\t"),
                0..=0x1f | 0x7f => self.out.extend_from_slice(b" "),
                b => self.out.extend_from_slice(&[b]),
            }
        }
        self.out.extend_from_slice(b"\r\n");
        self.flush();
        self.phase = Phase::Sasl(verb, exchange);
    }

    fn decide_auth(
        &mut self,
        verb: AuthVerb,
        exchange: Option<Box<ServerExchange>>,
        decision: Decision,
    ) {
        match decision {
            Decision::AuthChallenge(bytes) => match exchange {
                Some(mut ex) => match ex.send_token(&bytes) {
                    Ok(ServerStep::Challenge(text)) => self.challenge(verb, &text, Some(ex)),
                    _ => self.auth_failure(&replies::AUTH_TEMP_FAILURE),
                },
                None => {
                    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
                    self.challenge(verb, &text, None);
                }
            },
            Decision::AuthChallengeText(text) => self.challenge(verb, &text, None),
            Decision::AuthSuccess { identity } => self.auth_success(verb, identity, None),
            Decision::AuthTemporaryFailure => self.auth_failure(&replies::AUTH_TEMP_FAILURE),
            // RFC 4954 section 4: `334` is the one intermediate reply of the exchange; any
            // other `3xx` would tell the client to go on while the exchange ended (its
            // next line read as a command), so it is the `334` challenge too.
            Decision::Reply(r) if (300..400).contains(&r.code.0) => {
                let text = r.first_line().to_string();
                self.challenge(verb, &text, None);
            }
            Decision::Reply(r) if (200..300).contains(&r.code.0) => {
                self.auth_success(verb, String::new(), Some(r))
            }
            Decision::Reply(r) | Decision::Close(r) => self.auth_failure(&r),
            Decision::AuthFailure | Decision::Default | Decision::Accept => {
                let reply = if self.sasl_ntlm {
                    replies::NTLM_AUTH_FAILED
                } else {
                    replies::AUTH_FAILED
                };
                self.auth_failure(&reply)
            }
        }
    }

    fn auth_success(&mut self, verb: AuthVerb, identity: String, reply: Option<Reply>) {
        self.phase = Phase::Command;
        match verb {
            AuthVerb::Auth => self.auth_identity = Some(identity),
            AuthVerb::XExps => self.exps_identity = Some(identity),
        }
        self.send_flush(reply.as_ref().unwrap_or(&replies::AUTH_SUCCESS));
    }

    fn auth_failure(&mut self, reply: &Reply) {
        self.phase = Phase::Command;
        self.send_reject(reply);
        if reply.code.0 >= 500 && !self.is_closed() {
            self.auth_failures = self.auth_failures.saturating_add(1);
            if self.auth_failures >= self.config.limits.max_auth_failures {
                self.send(&replies::TOO_MANY_AUTH_FAILURES);
                self.close();
            }
        }
        self.flush();
    }

    /// Appends everything queued for the client to `out` (every pending transmit, in
    /// order) and returns how many octets that was.
    ///
    /// The same bytes as calling [`Server::poll_transmit`] until it returns `None`, for a
    /// caller that gathers them into its own write buffer anyway: the machine's buffer is
    /// kept and reused instead of being handed out as [`Bytes`] per transmit.
    ///
    /// ```
    /// use ehlo::server::{Server, ServerConfig};
    /// use std::time::Instant;
    ///
    /// let mut server = Server::new(ServerConfig::new("mx.example.test"), Instant::now());
    /// while server.poll_event().is_some() {} // defaults: accept the connection
    /// let mut out = Vec::new();
    /// assert_eq!(server.transmit_into(&mut out), 33);
    /// assert_eq!(out, b"220 mx.example.test ESMTP ready\r\n");
    /// assert_eq!(server.transmit_into(&mut out), 0);
    /// ```
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.out.len();
        out.extend_from_slice(&self.out);
        self.out.clear();
        self.flush_marks.clear();
        n
    }

    /// The next transmit: bytes to write to the client, in order. A transmit ends where
    /// the client must see a reply before it may go on (see the module docs).
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.out.is_empty() {
            self.flush_marks.clear();
            return None;
        }
        match self.flush_marks.pop_front() {
            Some(mark) if mark > 0 && mark < self.out.len() => {
                for m in self.flush_marks.iter_mut() {
                    *m = m.saturating_sub(mark);
                }
                Some(self.out.split_to(mark).freeze())
            }
            _ => {
                self.flush_marks.clear();
                Some(self.out.split().freeze())
            }
        }
    }

    /// When [`Server::handle_timeout`] must be called next, if ever.
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
        self.last_activity.checked_add(wait)
    }

    /// Tells the machine the time is `now`. If a timeout expired, the session answers
    /// `421 4.4.2` and closes (RFC 5321 4.5.3.2).
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

    /// The TLS handshake completed (after [`Event::TlsUpgrade`], or at once for implicit
    /// TLS). The session is back at its start (RFC 3207 section 4.2): EHLO is required,
    /// the EHLO name, any transaction and any authentication are forgotten, and the EHLO
    /// reply advertises what applies under TLS.
    ///
    /// The wait for the client's next command still counts from its last activity (the
    /// STARTTLS command, or the connection): the handshake took part of it. To give the
    /// client the full command timeout from the end of the handshake, use
    /// [`Server::tls_established_at`].
    pub fn tls_established(&mut self) {
        self.tls = true;
        if matches!(self.phase, Phase::TlsHandshake) {
            self.phase = Phase::Command;
            self.input.clear();
            self.body_in.clear();
            self.skipping = false;
            self.greeted = Greeted::No;
            self.client_name = None;
            self.txn = None;
            self.auth_identity = None;
            self.exps_identity = None;
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
    /// server.tls_established_at(t0 + Duration::from_secs(20));
    /// assert_eq!(server.poll_timeout(), Some(t0 + Duration::from_secs(20 + 300)));
    /// ```
    pub fn tls_established_at(&mut self, now: Instant) {
        self.tls_established();
        self.last_activity = self.last_activity.max(now);
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
    /// Then go on as usual: drain [`Server::poll_event`] (which applies a pending
    /// decision's default, so decide first) and write what [`Server::poll_transmit`]
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

    /// The argument of a VRFY or EXPN, and whether it ends with the `SMTPUTF8` parameter
    /// (RFC 6531 3.7.4.2: `"VRFY" SP String [ SP "SMTPUTF8" ]`), which only a session
    /// that offers SMTPUTF8 takes as one: elsewhere it is part of the string, as the
    /// client could not have meant the extension.
    fn utf8_query_arg(&self, arg: &str) -> (String, bool) {
        const PARAM: &[u8] = b" SMTPUTF8";
        let offered = self.is_esmtp() && self.config.extensions.smtputf8;
        let bytes = arg.as_bytes();
        if offered && bytes.len() > PARAM.len() {
            let (head, tail) = bytes.split_at(bytes.len() - PARAM.len());
            if tail.eq_ignore_ascii_case(PARAM) {
                let head = String::from_utf8_lossy(head).trim_end().to_string();
                if !head.is_empty() {
                    return (head, true);
                }
            }
        }
        (arg.to_string(), false)
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

    /// The name the client gave in its accepted EHLO or HELO (`None` after a bare `EHLO`
    /// accepted under [`ExchangeConfig::ehlo_without_argument`]).
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

    /// Mail transactions started in this session.
    pub fn transactions(&self) -> u32 {
        self.transactions
    }

    /// The capabilities the EHLO reply would advertise now (after TLS: no STARTTLS,
    /// mechanisms that need TLS).
    pub fn capabilities(&self, greeting: String) -> Capabilities {
        let c = &*self.config;
        let x = &c.extensions;
        let e = &c.exchange;
        let mut list = Vec::with_capacity(16);
        if x.size {
            list.push(Capability::Size(Some(c.limits.max_message_size)));
        }
        if x.pipelining {
            list.push(Capability::Pipelining);
        }
        if x.dsn {
            list.push(Capability::Dsn);
        }
        if x.enhanced_status_codes {
            list.push(Capability::EnhancedStatusCodes);
        }
        if x.starttls && !self.tls {
            list.push(Capability::StartTls);
        }
        if e.anonymous_tls && !self.tls {
            list.push(Capability::XAnonymousTls);
        }
        let auth: Vec<String> = self
            .offered(AuthVerb::Auth)
            .map(|m| m.name.clone())
            .collect();
        if !auth.is_empty() {
            let login = auth.iter().any(|m| m == "LOGIN");
            list.push(Capability::Auth(auth));
            if c.auth.legacy_auth_line && login {
                list.push(Capability::AuthLegacy(vec!["LOGIN".to_string()]));
            }
        }
        let exps: Vec<String> = self
            .offered(AuthVerb::XExps)
            .map(|m| m.name.clone())
            .collect();
        if !exps.is_empty() {
            let login = exps.iter().any(|m| m == "LOGIN");
            list.push(Capability::XExps(exps));
            if e.exps_legacy_line && login {
                list.push(Capability::XExpsLegacy(vec!["LOGIN".to_string()]));
            }
        }
        if x.eight_bit_mime || x.smtputf8 {
            list.push(Capability::EightBitMime);
        }
        if x.chunking && x.binary_mime {
            list.push(Capability::BinaryMime);
        }
        if x.chunking {
            list.push(Capability::Chunking);
        }
        if x.smtputf8 {
            list.push(Capability::SmtpUtf8);
        }
        if x.requiretls && self.tls {
            list.push(Capability::RequireTls);
        }
        if x.etrn {
            list.push(Capability::Etrn);
        }
        if x.vrfy_keyword {
            list.push(Capability::Vrfy);
        }
        if x.help_keyword {
            list.push(Capability::Help);
        }
        let flags = [
            (e.xexch50, Capability::XExch50),
            (e.link2state, Capability::XLink2State),
            (e.xrdst, Capability::XRdst),
            (e.xshadow, Capability::XShadow),
            (e.xshadowrequest, Capability::XShadowRequest),
            (e.xqdiscard, Capability::XQDiscard),
            (e.xproxy, Capability::XProxy),
            (e.xproxy, Capability::XProxyFrom),
            (e.xproxy, Capability::XProxyTo),
            (e.xsessionparams, Capability::XSessionParams),
        ];
        for (on, cap) in flags {
            if on {
                list.push(cap);
            }
        }
        list.extend(x.extra.iter().cloned());
        if !e.ehlo_order.is_empty() {
            exchange::arrange(&e.ehlo_order, &mut list);
        }
        Capabilities { greeting, list }
    }

    /// The mechanisms offered for `verb` in the current TLS state.
    fn offered(&self, verb: AuthVerb) -> impl Iterator<Item = &Mechanism> {
        let auth = &self.config.auth;
        let (list, blocked) = match verb {
            AuthVerb::Auth => (&auth.mechanisms, auth.require_tls && !self.tls),
            AuthVerb::XExps => (&self.config.exchange.exps_mechanisms, false),
        };
        let plain_ok = self.tls || auth.allow_plaintext_without_tls;
        list.iter()
            .filter(move |m| !blocked && (plain_ok || !m.plaintext))
    }

    // ---- output helpers ----

    fn enhanced(&self) -> bool {
        self.config.extensions.enhanced_status_codes
    }

    fn send(&mut self, reply: &Reply) {
        let enhanced = self.enhanced();
        reply.encode_with(&mut self.out, enhanced);
    }

    /// [`Server::send`] with lines of up to `max_line` octets (for the X-LINK2STATE reply).
    fn send_lines(&mut self, reply: &Reply, max_line: usize) {
        let enhanced = self.enhanced();
        reply.encode_lines(&mut self.out, enhanced, max_line);
    }

    fn send_flush(&mut self, reply: &Reply) {
        self.send(reply);
        self.flush();
    }

    /// Sends a refusal; a `421` also closes the session.
    fn send_reject(&mut self, reply: &Reply) {
        self.send(reply);
        if reply.code.0 == 421 {
            self.close();
        }
    }

    /// Sends a protocol error and counts it; the last allowed one is followed by
    /// `421 4.7.0` and the session closes.
    fn error(&mut self, reply: &Reply) {
        self.send_reject(reply);
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.limits.max_errors && !self.is_closed() {
            self.send(&replies::TOO_MANY_ERRORS);
            self.close();
        }
    }

    fn flush(&mut self) {
        let len = self.out.len();
        if len > 0 && self.flush_marks.back() != Some(&len) {
            self.flush_marks.push_back(len);
        }
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.pending = None;
        self.input = BytesMut::new();
        self.body_in = Bytes::new();
        self.txn = None;
        self.flush();
    }

    // ---- input processing ----

    fn bare_lf(&self) -> bool {
        self.config.leniency == Leniency::Lenient
    }

    /// The longest command line that starts with `line` (as much of it as has arrived):
    /// 512 octets (`limits.max_command_line`), except that AUTH and X-EXPS lines may be as
    /// long as SASL lines (RFC 4954 section 4), X-LINK2STATE lines 1,024 octets, and MAIL
    /// and RCPT lines as long as the parameters of the offered extensions need
    /// ([`param_line_limits`]). A line whose verb has not arrived yet is shorter than
    /// any of these verbs, hence than any limit.
    fn line_limit(&self, line: &[u8]) -> usize {
        let l = &self.config.limits;
        let base = l.max_command_line;
        let longer = if starts_with_ci(line, b"MAIL ") {
            self.mail_line_max
        } else if starts_with_ci(line, b"RCPT ") {
            self.rcpt_line_max
        } else if starts_with_ci(line, b"AUTH ") && !self.config.auth.mechanisms.is_empty() {
            l.max_sasl_line
        } else if starts_with_ci(line, b"X-EXPS ")
            && !self.config.exchange.exps_mechanisms.is_empty()
        {
            self.exps_line_limit()
        } else if starts_with_ci(line, b"X-LINK2STATE") && self.config.exchange.link2state {
            crate::limits::MAX_LINK2STATE_LINE
        } else {
            base
        };
        longer.max(base)
    }

    /// Whether `line` (as much of it as has arrived) is an `AUTH` or `X-EXPS` command
    /// that starts an exchange this server offers: its line limit is the SASL one.
    fn starts_sasl_command(&self, line: &[u8]) -> bool {
        (starts_with_ci(line, b"AUTH ") && !self.config.auth.mechanisms.is_empty())
            || (starts_with_ci(line, b"X-EXPS ")
                && !self.config.exchange.exps_mechanisms.is_empty())
    }

    fn step(&mut self) -> Step {
        if self.shutting_down && self.shut_down_if_idle() {
            return Step::Idle;
        }
        match self.phase {
            Phase::Closed | Phase::TlsHandshake => Step::Idle,
            Phase::Connect => {
                self.phase = Phase::Command;
                self.pending = Some(Pending::Connect);
                Step::Event(Event::Connect)
            }
            Phase::Command | Phase::Sasl(..) => self.step_line(),
            Phase::Data { .. } => self.step_data(),
            Phase::Bdat { .. } | Phase::XExch50(_) => self.step_chunk(),
        }
    }

    fn step_line(&mut self) -> Step {
        let bare_lf = self.bare_lf();
        if self.skipping {
            let (n, found) = skip_line(&self.input, bare_lf);
            self.input.advance(n);
            if !found {
                return Step::Idle;
            }
            self.skipping = false;
        }
        let sasl = match self.phase {
            Phase::Sasl(verb, _) => Some(verb),
            _ => None,
        };
        let max = match sasl {
            Some(AuthVerb::XExps) => self.exps_line_limit(),
            Some(_) => self.config.limits.max_sasl_line,
            None => self.line_limit(&self.input),
        };
        match find_line(&self.input, max, bare_lf) {
            LineStatus::Incomplete => Step::Idle,
            LineStatus::TooLong => {
                self.skipping = true;
                match sasl {
                    Some(verb) => {
                        self.phase = Phase::Command;
                        self.send_flush(&replies::SASL_LINE_TOO_LONG);
                        Step::Event(Event::AuthAborted {
                            verb,
                            reason: AuthAbort::LineTooLong,
                        })
                    }
                    // RFC 4954 sections 4 and 6: an AUTH (or X-EXPS) line whose initial
                    // response overflows the authentication buffer fails the command
                    // with `500 5.5.6`, like an over-long continuation line.
                    None if self.starts_sasl_command(&self.input) => {
                        self.error(&replies::SASL_LINE_TOO_LONG);
                        Step::Progress
                    }
                    None => {
                        self.error(&replies::LINE_TOO_LONG);
                        Step::Progress
                    }
                }
            }
            LineStatus::Complete { content, total } => {
                let input = std::mem::take(&mut self.input);
                let line = input.get(..content).unwrap_or_default();
                let step = self.count_command().unwrap_or_else(|| match sasl {
                    Some(verb) => {
                        let exchange = match &mut self.phase {
                            Phase::Sasl(_, ex) => ex.take(),
                            _ => None,
                        };
                        self.handle_sasl(verb, exchange, line)
                    }
                    None => self.handle_command(line, total),
                });
                self.input = input;
                if matches!(self.phase, Phase::Closed) {
                    self.input = BytesMut::new();
                } else {
                    self.input.advance(total.min(self.input.len()));
                }
                step
            }
        }
    }

    /// Counts a command line; `Some` when the session limit closed the session.
    fn count_command(&mut self) -> Option<Step> {
        self.commands = self.commands.saturating_add(1);
        if self.commands > self.config.limits.max_commands {
            self.send(&replies::TOO_MANY_COMMANDS);
            self.close();
            return Some(Step::Progress);
        }
        None
    }

    fn handle_sasl(
        &mut self,
        verb: AuthVerb,
        exchange: Option<Box<ServerExchange>>,
        line: &[u8],
    ) -> Step {
        self.phase = Phase::Command;
        if let Some(mut ex) = exchange {
            // The same line parser as the caller-driven mode below, so both modes answer
            // the same bytes alike: trailing blanks are trimmed (`* ` cancels with
            // `501 5.0.0`, RFC 4954 section 4), the rest must be strict BASE64.
            let step = match exchange::parse_sasl_line(line) {
                Ok(response) => ex.step_parsed(&response),
                Err(_) => Err(SaslError::InvalidBase64),
            };
            return match step {
                Ok(step) => self.drive(verb, ex, step),
                Err(e) => self.sasl_refused(verb, &e),
            };
        }
        let (reply, reason) = match exchange::parse_sasl_line(line) {
            Ok(SaslResponse::Cancel) => (replies::AUTH_CANCELLED, AuthAbort::Cancelled),
            Ok(SaslResponse::Base64(text)) => {
                match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
                    Ok(data) => {
                        self.pending = Some(Pending::Auth(verb, None));
                        return Step::Event(Event::AuthResponse { verb, data });
                    }
                    Err(_) => (replies::INVALID_BASE64, AuthAbort::InvalidBase64),
                }
            }
            Err(_) => (replies::INVALID_BASE64, AuthAbort::InvalidBase64),
        };
        self.send_flush(&reply);
        Step::Event(Event::AuthAborted { verb, reason })
    }

    /// The parser's options for a command line of `content` octets without its line end.
    /// The line's length was already judged against its limit ([`Server::line_limit`])
    /// where it was found; the parser, which counts every line as ending in CRLF (RFC 5321
    /// 4.5.3.1.4), gets that much room, so a line ended by a bare LF (taken under
    /// [`Leniency::Lenient`]) is not one octet too long for it.
    fn parse_options(&self, utf8: bool, content: usize) -> ParseOptions {
        ParseOptions {
            leniency: self.config.leniency,
            utf8,
            max_line: content
                .saturating_add(2)
                .max(self.config.limits.max_command_line),
        }
    }

    fn ask(&mut self, pending: Pending, event: Event) -> Step {
        self.pending = Some(pending);
        Step::Event(event)
    }

    fn handle_command(&mut self, line: &[u8], total: usize) -> Step {
        let in_bdat_run = std::mem::take(&mut self.bdat_run);
        if total > self.config.limits.max_command_line && total > self.line_limit(line) {
            self.error(&replies::LINE_TOO_LONG);
            return Step::Progress;
        }
        let utf8 = match self.txn {
            Some(t) => t.smtputf8,
            None => self.config.extensions.smtputf8 && self.is_esmtp(),
        };
        let opts = self.parse_options(utf8, line.len());
        if self.config.exchange.ehlo_without_argument && !self.refused && is_bare_ehlo(line) {
            // [MS-SMTPNTLM] 2.2.1.9: the server answers EHLO with or without an argument.
            return self.ask(
                Pending::Ehlo(String::new()),
                Event::Ehlo {
                    domain: String::new(),
                },
            );
        }
        let cmd = match parse_command(line, &opts) {
            Ok(cmd) => cmd,
            Err(e) => {
                if self.refused {
                    self.error(&replies::ONLY_QUIT);
                } else if self.param_not_offered(line, &e) {
                    self.error(&replies::PARAM_NOT_RECOGNIZED);
                } else {
                    self.error(&e.reply());
                }
                return Step::Progress;
            }
        };
        if self.refused && !matches!(cmd, Command::Quit) {
            self.error(&replies::ONLY_QUIT);
            return Step::Progress;
        }
        let esmtp = self.is_esmtp();
        let x = &self.config.extensions;
        let ex = &self.config.exchange;
        match cmd {
            Command::Quit => {
                self.send(&replies::BYE);
                self.close();
                Step::Event(Event::Quit)
            }
            Command::Ehlo { domain } => {
                let domain = domain.into_owned();
                self.ask(Pending::Ehlo(domain.clone()), Event::Ehlo { domain })
            }
            Command::Helo { domain } => {
                let domain = domain.into_owned();
                self.ask(Pending::Helo(domain.clone()), Event::Helo { domain })
            }
            Command::Noop { .. } => {
                self.send_flush(&replies::OK);
                Step::Progress
            }
            Command::Help { .. } => {
                // RFC 5321 4.1.1.8: what the server serves now; BDAT only where CHUNKING
                // is advertised (RFC 3030), so not before EHLO or after HELO.
                let help = if x.chunking && esmtp {
                    replies::HELP
                } else {
                    replies::HELP_WITHOUT_BDAT
                };
                self.send(&help);
                Step::Progress
            }
            Command::Rset => {
                self.txn = None;
                self.send(&replies::OK);
                Step::Event(Event::Reset)
            }
            Command::Vrfy { arg } => {
                let (arg, smtputf8) = self.utf8_query_arg(&arg);
                self.ask(Pending::Vrfy, Event::Vrfy { arg, smtputf8 })
            }
            Command::Expn { arg } => {
                let (arg, smtputf8) = self.utf8_query_arg(&arg);
                self.ask(Pending::Expn, Event::Expn { arg, smtputf8 })
            }
            Command::Turn | Command::Atrn { .. } => {
                self.error(&replies::NOT_IMPLEMENTED);
                self.flush();
                Step::Progress
            }
            Command::Etrn { node } => {
                if !x.etrn {
                    self.error(&replies::NOT_IMPLEMENTED);
                } else if !esmtp {
                    self.error(&replies::SEND_EHLO_FIRST);
                } else {
                    return self.ask(
                        Pending::Etrn,
                        Event::Etrn {
                            node: node.into_owned(),
                        },
                    );
                }
                Step::Progress
            }
            Command::Mail { from, params } => self.handle_mail(line, from, params),
            Command::Rcpt { to, params } => self.handle_rcpt(to, params),
            Command::Data => {
                let reply = match self.txn {
                    None => Some(replies::NEED_MAIL),
                    Some(t) if t.bdat || t.binarymime => Some(replies::DATA_AFTER_BDAT),
                    Some(t) if t.recipients == 0 => {
                        self.send_flush(&replies::NO_VALID_RECIPIENTS);
                        return Step::Progress;
                    }
                    Some(_) => None,
                };
                match reply {
                    Some(r) => {
                        self.error(&r);
                        self.flush();
                        Step::Progress
                    }
                    None => self.ask(Pending::DataStart, Event::DataStart),
                }
            }
            Command::Bdat { size, last } => self.handle_bdat(size, last, in_bdat_run),
            Command::StartTls | Command::XAnonymousTls => {
                let (verb, on) = if matches!(cmd, Command::StartTls) {
                    (TlsVerb::StartTls, x.starttls)
                } else {
                    (TlsVerb::XAnonymousTls, ex.anonymous_tls)
                };
                // A verb the configuration never offers is unknown here, under TLS too
                // (RFC 5321 4.2.4: 502); `503` is for a second upgrade of an offered one.
                let reply = if !on {
                    replies::NOT_IMPLEMENTED
                } else if self.tls {
                    replies::TLS_ALREADY_ACTIVE
                } else if !esmtp {
                    replies::SEND_EHLO_FIRST
                } else {
                    return self.ask(Pending::StartTls, Event::StartTls { verb });
                };
                self.error(&reply);
                self.flush();
                Step::Progress
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => self.handle_auth(AuthVerb::Auth, &mechanism, initial_response),
            Command::XExps {
                mechanism,
                initial_response,
            } => self.handle_auth(AuthVerb::XExps, &mechanism, initial_response),
            Command::XExch50 { size, mode } => {
                let authenticated = self.auth_identity.is_some() || self.exps_identity.is_some();
                let reply = if !ex.xexch50 {
                    replies::NOT_IMPLEMENTED
                } else if !esmtp {
                    // Advertised only in an EHLO reply (KB 812455), like the other
                    // Exchange verbs, X-EXPS, AUTH, STARTTLS and ETRN.
                    replies::SEND_EHLO_FIRST
                } else if ex.xexch50_requires_auth && !authenticated {
                    // KB 843106: no MAPI properties from an unauthenticated peer.
                    replies::XEXCH50_NEEDS_AUTH
                } else {
                    match self.txn {
                        None => replies::NEED_MAIL,
                        Some(t) if t.recipients == 0 => replies::NEED_RCPT,
                        Some(t) if t.xexch50 => replies::XEXCH50_TWICE,
                        // The blob comes between RCPT and the message (KB 812455).
                        Some(t) if t.bdat => replies::XEXCH50_AFTER_BDAT,
                        Some(_) if size > crate::limits::MAX_XEXCH50_BLOB => replies::TOO_LARGE,
                        Some(_) => {
                            return self
                                .ask(Pending::XExch50Start(size), Event::XExch50 { size, mode })
                        }
                    }
                };
                self.error(&reply);
                Step::Progress
            }
            Command::Exchange { verb, args } => {
                let on = match verb {
                    ExchangeVerb::XLink2State => ex.link2state,
                    ExchangeVerb::XShadow => ex.xshadow,
                    ExchangeVerb::XShadowRequest => ex.xshadowrequest,
                    ExchangeVerb::XQDiscard => ex.xqdiscard,
                    ExchangeVerb::XProxy
                    | ExchangeVerb::XProxyFrom
                    | ExchangeVerb::XProxyTo
                    | ExchangeVerb::XRsetProxyTo => ex.xproxy,
                    ExchangeVerb::XSessionParams => ex.xsessionparams,
                    ExchangeVerb::XRdst => ex.xrdst,
                };
                if on && !esmtp {
                    // Advertised only in an EHLO reply (like X-EXPS and XEXCH50).
                    self.error(&replies::SEND_EHLO_FIRST);
                    Step::Progress
                } else if on {
                    self.ask(
                        Pending::Exchange(verb),
                        Event::Exchange {
                            verb,
                            args: Bytes::copy_from_slice(&args),
                        },
                    )
                } else {
                    self.error(&replies::NOT_IMPLEMENTED);
                    Step::Progress
                }
            }
            Command::Other { verb, args } => self.ask(
                Pending::Unknown,
                Event::Unknown {
                    verb: verb.into_owned(),
                    args: Bytes::copy_from_slice(&args),
                },
            ),
        }
    }

    /// Whether an extra (caller-listed) capability of this kind is advertised.
    fn extra_has(&self, cap: &Capability) -> bool {
        self.is_esmtp()
            && self
                .config
                .extensions
                .extra
                .iter()
                .any(|c| std::mem::discriminant(c) == std::mem::discriminant(cap))
    }

    /// Parameters of extensions that were not advertised in this session, and unknown
    /// parameters, get `555 5.5.4` (RFC 5321 4.1.1.11 / 4.1.1.2).
    fn mail_params_ok(&self, p: &MailParams<'_>) -> bool {
        let esmtp = self.is_esmtp();
        let x = &self.config.extensions;
        if !p.other.is_empty() || !self.exchange_mail_params_ok(&p.exchange) {
            return false;
        }
        if p.size.is_some() && !(esmtp && x.size) && !self.extra_has(&Capability::Size(None)) {
            return false;
        }
        match p.body {
            None => {}
            Some(Body::BinaryMime) if !(esmtp && x.chunking && x.binary_mime) => return false,
            Some(Body::SevenBit | Body::EightBitMime)
                if !(esmtp && (x.eight_bit_mime || x.smtputf8)) =>
            {
                return false
            }
            Some(_) => {}
        }
        if p.smtputf8 && !(esmtp && x.smtputf8) {
            return false;
        }
        if (p.ret.is_some() || p.envid.is_some()) && !(esmtp && x.dsn) {
            return false;
        }
        if p.auth.is_some() && !(esmtp && self.offered(AuthVerb::Auth).next().is_some()) {
            return false;
        }
        if p.requiretls && !(esmtp && x.requiretls && self.tls) {
            return false;
        }
        if p.by.is_some() && !self.extra_has(&Capability::DeliverBy(None)) {
            return false;
        }
        if p.mt_priority.is_some() && !self.extra_has(&Capability::MtPriority(None)) {
            return false;
        }
        if p.hold.is_some() && !self.extra_has(&Capability::FutureRelease(String::new())) {
            return false;
        }
        true
    }

    /// Parameters of DSN not advertised in this session, of the Exchange RCPT extensions
    /// not offered, and unknown parameters, get `555 5.5.4` (RFC 5321 4.1.1.11).
    fn rcpt_params_ok(&self, p: &RcptParams<'_>) -> bool {
        let dsn = self.is_esmtp() && self.config.extensions.dsn;
        p.other.is_empty()
            && self.exchange_rcpt_params_ok(&p.exchange)
            && (dsn || (p.notify.is_none() && p.orcpt.is_none()))
    }

    /// Whether `e`, the parse error of a MAIL or RCPT `line`, is a bad value (or a
    /// duplicate) of a parameter this session does not offer: that parameter is `555
    /// 5.5.4` whatever its value (RFC 5321 4.1.1.11, RFC 1869 section 6), the value being
    /// judged (`501 5.5.4`) only for an advertised extension. A malformed esmtp-param
    /// (RFC 5321 4.1.2) stays a syntax error.
    fn param_not_offered(&self, line: &[u8], e: &crate::syntax::CommandError) -> bool {
        use crate::syntax::{CommandError, ParamError};
        let (CommandError::Param(ParamError::InvalidValue(k))
        | CommandError::Param(ParamError::Duplicate(k))) = e
        else {
            return false;
        };
        if starts_with_ci(line, b"MAIL") && k == "BODY" {
            // BODY= belongs to 8BITMIME (RFC 6152) and to BINARYMIME (RFC 3030 section
            // 3), which a session may offer without 8BITMIME: the parameter is offered
            // when either is.
            let x = &self.config.extensions;
            !(self.is_esmtp() && (x.eight_bit_mime || x.smtputf8 || (x.chunking && x.binary_mime)))
        } else if starts_with_ci(line, b"MAIL") {
            !self.mail_params_ok(&MailParams::placeholder(k))
        } else if starts_with_ci(line, b"RCPT") {
            !self.rcpt_params_ok(&RcptParams::placeholder(k))
        } else {
            false
        }
    }

    /// The values of the DELIVERBY and FUTURERELEASE parameters within what the EHLO reply
    /// advertised (the parameters are only accepted when it did, see
    /// [`Server::mail_params_ok`]); out of range: `501 5.5.4`.
    ///
    /// - RFC 2852 section 4: in R mode the by-time must be positive (zero and negative
    ///   times are for N mode only) and not below the advertised min-by-time, which the
    ///   server could not honour; N mode takes any by-time.
    /// - RFC 4865 sections 3 and 4: `HOLDFOR` above the max-future-release-interval and
    ///   `HOLDUNTIL` after the max-future-release-date-time (compared as UTC instants)
    ///   are refused. A `HOLDUNTIL` that is not a valid date-time never gets here: the
    ///   parser refuses it (`501 5.5.4`).
    fn mail_param_values_ok(&self, p: &MailParams<'_>) -> bool {
        use crate::syntax::param::{DeliverByMode, Hold};
        let l = &self.limits;
        if let Some(by) = p.by {
            let min = l
                .deliver_by_min
                .map_or(1, |m| i64::try_from(m).unwrap_or(i64::MAX));
            if by.mode == DeliverByMode::Return && by.time < min.max(1) {
                return false;
            }
        }
        match &p.hold {
            Some(Hold::For(n)) => l.hold_for_max.map_or(true, |max| *n <= max),
            Some(Hold::Until(t)) => {
                match (
                    crate::syntax::param::date_time_utc(t.as_bytes()),
                    l.hold_until_max,
                ) {
                    (Some(until), Some(max)) => until <= max,
                    (None, _) => false,
                    (Some(_), None) => true,
                }
            }
            None => true,
        }
    }

    fn handle_mail(
        &mut self,
        line: &[u8],
        from: crate::syntax::path::ReversePath<'_>,
        params: MailParams<'_>,
    ) -> Step {
        let reply = if self.greeted == Greeted::No {
            replies::SEND_HELO_FIRST
        } else if self.txn.is_some() {
            replies::NESTED_MAIL
        } else if self.config.auth.require_auth && self.auth_identity.is_none() {
            replies::AUTH_REQUIRED
        } else if self.transactions >= self.limits.transactions {
            self.send(&replies::TOO_MANY_TRANSACTIONS);
            self.close();
            return Step::Progress;
        } else if !self.mail_params_ok(&params) {
            replies::PARAM_NOT_RECOGNIZED
        } else if !self.mail_param_values_ok(&params) {
            replies::INVALID_PARAM_VALUE
        } else if params
            .size
            .is_some_and(|s| s > self.config.limits.message_size_limit())
        {
            self.send(&replies::TOO_LARGE);
            return Step::Progress;
        } else if !params.smtputf8 && !line.is_ascii() {
            replies::NEED_SMTPUTF8
        } else {
            let pending = Pending::Mail {
                smtputf8: params.smtputf8,
                binarymime: params.body == Some(Body::BinaryMime),
            };
            let mut params = params;
            // RFC 4954 section 5: "if the client is not authenticated, then the server MUST
            // behave as if the AUTH=<> parameter was supplied": an unauthenticated client
            // cannot name the submitter the caller would relay.
            let authenticated = self.auth_identity.is_some() || self.exps_identity.is_some();
            if params.auth.is_some() && !authenticated {
                params.auth = Some(crate::syntax::xtext::XText(std::borrow::Cow::Borrowed(
                    "<>",
                )));
            }
            let Command::Mail { from, params } = (Command::Mail { from, params }).into_owned()
            else {
                return Step::Progress;
            };
            return self.ask(pending, Event::MailFrom { from, params });
        };
        self.error(&reply);
        Step::Progress
    }

    fn handle_rcpt(
        &mut self,
        to: crate::syntax::path::ForwardPath<'_>,
        params: RcptParams<'_>,
    ) -> Step {
        let reply = match self.txn {
            None => replies::NEED_MAIL,
            Some(t) if t.bdat => replies::RCPT_AFTER_BDAT,
            Some(_) if !self.rcpt_params_ok(&params) => replies::PARAM_NOT_RECOGNIZED,
            Some(t) if t.recipients >= self.limits.recipients => {
                self.send(&replies::TOO_MANY_RECIPIENTS);
                return Step::Progress;
            }
            Some(t) => {
                let new_domain = match self.limits.recipient_domains {
                    None => false,
                    Some(max) => match self.note_domain(&to, t.domains) {
                        Some(true) if t.domains >= max => {
                            // RFC 9422 section 4.3: like RCPTMAX, a `452 4.5.3`.
                            self.send(&replies::TOO_MANY_RECIPIENT_DOMAINS);
                            return Step::Progress;
                        }
                        found => found.unwrap_or(false),
                    },
                };
                let Command::Rcpt { to, params } = (Command::Rcpt { to, params }).into_owned()
                else {
                    return Step::Progress;
                };
                return self.ask(Pending::Rcpt { new_domain }, Event::RcptTo { to, params });
            }
        };
        self.error(&reply);
        Step::Progress
    }

    /// Whether the domain of `to` is new to the transaction's first `known` recipient
    /// domains (RCPTDOMAINMAX, RFC 9422 section 4.3): `Some(true)` after writing it,
    /// lower-cased, to slot `known` of `rcpt_domains` (counted when the RCPT is
    /// accepted), `Some(false)` if known, `None` for `<Postmaster>` (no domain). Domains
    /// compare case-insensitively; a slot's string is reused, so this allocates only for
    /// a slot's first use or growth.
    fn note_domain(
        &mut self,
        to: &crate::syntax::path::ForwardPath<'_>,
        known: usize,
    ) -> Option<bool> {
        use crate::syntax::path::{ForwardPath, Host};
        use std::fmt::Write as _;
        let ForwardPath::Mailbox(mailbox) = to else {
            return None;
        };
        if self.rcpt_domains.len() <= known {
            self.rcpt_domains.resize_with(known + 1, String::new);
        }
        let (seen, slot) = self.rcpt_domains.split_at_mut(known);
        let slot = &mut slot[0];
        slot.clear();
        match &mailbox.host {
            Host::Domain(d) => slot.push_str(&d.0),
            Host::Literal(l) => {
                let _ = write!(slot, "{l}");
            }
        }
        slot.make_ascii_lowercase();
        // A trailing dot names the same domain.
        if slot.ends_with('.') {
            slot.pop();
        }
        Some(!seen.iter().any(|d| d == slot))
    }

    /// `BDAT <size> [LAST]`; `in_bdat_run`: the previous command was a refused BDAT
    /// without a transaction (see `Server::bdat_run`).
    fn handle_bdat(&mut self, size: u64, last: bool, in_bdat_run: bool) -> Step {
        let max = self.config.limits.message_size_limit();
        let error = if !(self.config.extensions.chunking && self.is_esmtp()) {
            Some(BdatError::NotImplemented)
        } else {
            match self.txn.as_mut() {
                None => {
                    self.bdat_run = !last;
                    Some(BdatError::NeedMail {
                        counted: !in_bdat_run,
                    })
                }
                Some(t) => {
                    t.bdat = true;
                    if let Some(failed) = t.bdat_failed {
                        Some(failed)
                    } else if t.recipients == 0 {
                        // RFC 3030 section 2: a refused chunk fails the transaction; a
                        // RCPT pipelined after it must not make the next chunk the whole
                        // message.
                        t.bdat_failed = Some(BdatError::NoRecipients);
                        Some(BdatError::NoRecipients)
                    } else if t.bdat_size.saturating_add(size) > max {
                        Some(BdatError::TooLarge)
                    } else {
                        None
                    }
                }
            }
        };
        // The chunk is consumed in every case so its octets are never read as commands.
        self.phase = Phase::Bdat {
            reader: ChunkReader::new(size),
            size,
            last,
            error,
        };
        match error {
            None => Step::Event(Event::Bdat { size, last }),
            Some(_) => Step::Progress,
        }
    }

    fn handle_auth(
        &mut self,
        verb: AuthVerb,
        mechanism: &str,
        initial: Option<InitialResponse<'_>>,
    ) -> Step {
        let configured = match verb {
            AuthVerb::Auth => &self.config.auth.mechanisms,
            AuthVerb::XExps => &self.config.exchange.exps_mechanisms,
        };
        // RFC 4954 section 4: after a successful AUTH a further one gets 503. X-EXPS is
        // Exchange's AUTH under another verb ("similar to AUTH ... see the AUTH RFC",
        // KB 812455), and no public source (KB 812455, [MS-OXSMTP], the Exchange 2007
        // "SMTP Protocol Extensions" page) lets one session hold two identities, so a
        // success under either verb refuses both. The identities stay apart
        // (`authenticated` / `exps_authenticated`): X-EXPS does not satisfy `require_auth`.
        let identity = self.auth_identity.as_ref().or(self.exps_identity.as_ref());
        let known = configured
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(mechanism))
            .map(|m| m.name.clone());
        let offered = self
            .offered(verb)
            .any(|m| m.name.eq_ignore_ascii_case(mechanism));
        let reply = if configured.is_empty() {
            replies::NOT_IMPLEMENTED
        } else if !self.is_esmtp() {
            replies::SEND_EHLO_FIRST
        } else if identity.is_some() {
            replies::ALREADY_AUTHENTICATED
        } else if self.txn.is_some() {
            replies::AUTH_IN_TRANSACTION
        } else if verb == AuthVerb::Auth && self.config.auth.require_tls && !self.tls {
            replies::ENCRYPTION_REQUIRED
        } else if known.is_none() {
            replies::UNKNOWN_MECHANISM
        } else if !offered {
            replies::ENCRYPTION_REQUIRED
        } else {
            self.sasl_ntlm = known
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("NTLM"));
            // RFC 4954 section 4: "If the client uses an initial-response argument to the
            // AUTH command with a SASL mechanism in which the client does not begin the
            // authentication exchange, the server MUST reject the AUTH command with a 501
            // reply" (5.7.0). Checked here, in both modes, for the mechanisms known to be
            // server-first (CRAM-MD5), so no caller decision can accept one. An argument
            // that is not BASE64 at all keeps its own `501 5.5.2`.
            if let Some(ir) = &initial {
                if let Ok(mech) = crate::sasl::Mechanism::parse(mechanism) {
                    if mech.is_server_first() {
                        let e = match crate::sasl::b64::decode_initial(ir) {
                            Err(e) => e,
                            Ok(_) => SaslError::UnexpectedInitialResponse(mech.static_name()),
                        };
                        return self.sasl_refused(verb, &e);
                    }
                }
            }
            if self.config.auth.builtin_exchanges {
                if let Ok(mech) = crate::sasl::Mechanism::parse(mechanism) {
                    let started = ServerExchange::start_parsed(&mech, initial.as_ref());
                    match started {
                        Ok((ex, step)) => {
                            let step = match step {
                                // [MS-OXSMTP] 3.2.5.1: no initial response and an empty
                                // first server string: SASL_Mechanism_Supported (2.2.1).
                                ServerStep::Challenge(text)
                                    if text.is_empty()
                                        && initial.is_none()
                                        && self.config.exchange.sasl_mechanism_supported =>
                                {
                                    ServerStep::Challenge(mech.supported_text())
                                }
                                step => step,
                            };
                            return self.drive(verb, Box::new(ex), step);
                        }
                        Err(SaslError::UnsupportedMechanism) => {}
                        Err(e) => return self.sasl_refused(verb, &e),
                    }
                }
            }
            let initial_response = match initial {
                None => None,
                Some(InitialResponse::Empty) => Some(Vec::new()),
                Some(InitialResponse::Base64(text)) => {
                    match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
                        Ok(v) => Some(v),
                        // The same answer and event as in the built-in mode.
                        Err(_) => return self.sasl_refused(verb, &SaslError::InvalidBase64),
                    }
                }
            };
            return self.ask(
                Pending::Auth(verb, None),
                Event::AuthStart {
                    verb,
                    mechanism: known.unwrap_or_default(),
                    initial_response,
                },
            );
        };
        self.error(&reply);
        self.flush();
        Step::Progress
    }

    /// Acts on a step of a built-in SASL exchange.
    fn drive(&mut self, verb: AuthVerb, ex: Box<ServerExchange>, step: ServerStep) -> Step {
        match step {
            ServerStep::Challenge(text) => {
                self.challenge(verb, &text, Some(ex));
                Step::Progress
            }
            ServerStep::Verify(credentials) => self.ask(
                Pending::Auth(verb, Some(ex)),
                Event::AuthVerify { verb, credentials },
            ),
            ServerStep::Token {
                mechanism, data, ..
            } => self.ask(
                Pending::Auth(verb, Some(ex)),
                Event::AuthToken {
                    verb,
                    mechanism: mechanism.as_str().to_string(),
                    data,
                },
            ),
        }
    }

    /// A built-in exchange refused the client's message: send the mechanism's reply.
    ///
    /// After an OAuth error challenge the exchange fails with `535 5.7.8` whatever the
    /// client answers (RFC 7628 section 3.2.3): that is a failed authentication like the
    /// caller's `535`, and counts towards `limits.max_auth_failures`. A cancel or a syntax
    /// error in the exchange (`501`) does not; `limits.max_commands` bounds those.
    fn sasl_refused(&mut self, verb: AuthVerb, e: &SaslError) -> Step {
        if *e == SaslError::AuthenticationFailed {
            self.auth_failure(&e.reply().to_reply());
            return Step::Event(Event::AuthAborted {
                verb,
                reason: AuthAbort::Refused,
            });
        }
        self.phase = Phase::Command;
        let reason = match e {
            SaslError::Cancelled => AuthAbort::Cancelled,
            SaslError::InvalidBase64 => AuthAbort::InvalidBase64,
            _ => AuthAbort::Refused,
        };
        // One text per reply whichever mode runs the exchange.
        let reply = match e {
            SaslError::InvalidBase64 => replies::INVALID_BASE64,
            SaslError::Cancelled => replies::AUTH_CANCELLED,
            _ => e.reply().to_reply(),
        };
        self.send_flush(&reply);
        Step::Event(Event::AuthAborted { verb, reason })
    }

    /// Moves unconsumed frozen body input back in front of `input`.
    fn restore_body_input(&mut self) {
        let rest = std::mem::take(&mut self.body_in);
        if rest.is_empty() {
            return;
        }
        if self.input.is_empty() {
            self.input.extend_from_slice(&rest);
        } else {
            let mut merged = BytesMut::with_capacity(rest.len() + self.input.len());
            merged.extend_from_slice(&rest);
            merged.extend_from_slice(&self.input);
            self.input = merged;
        }
    }

    fn fill_body_input(&mut self) -> bool {
        if self.body_in.is_empty() && !self.input.is_empty() {
            self.body_in = self.input.split().freeze();
        }
        !self.body_in.is_empty()
    }

    fn step_data(&mut self) -> Step {
        if !self.fill_body_input() {
            return Step::Idle;
        }
        let max = self.config.limits.message_size_limit();
        let Phase::Data { decoder, emitted } = &mut self.phase else {
            return Step::Idle;
        };
        let before = self.body_in.len();
        match decoder.decode(&mut self.body_in) {
            None => {
                if self.body_in.len() == before {
                    // No progress possible with this input; wait for more.
                    return Step::Idle;
                }
                Step::Progress
            }
            Some(DataEvent::Content(chunk)) => {
                *emitted = emitted.saturating_add(chunk.len() as u64);
                if *emitted > max || chunk.is_empty() {
                    // Over the limit: the rest is counted by the decoder, not kept.
                    Step::Progress
                } else {
                    Step::Event(Event::MessageChunk(chunk))
                }
            }
            Some(DataEvent::End(summary)) => {
                self.phase = Phase::Command;
                self.restore_body_input();
                match summary.outcome {
                    Ok(()) => self.ask(
                        Pending::MessageEnd,
                        Event::MessageEnd { size: summary.size },
                    ),
                    Err(e) => {
                        self.txn = None;
                        self.send(&data_error_reply(&e));
                        Step::Event(Event::MessageAborted(MessageAbort::Data(e)))
                    }
                }
            }
        }
    }

    fn step_chunk(&mut self) -> Step {
        let done = match &self.phase {
            Phase::Bdat { reader, .. } | Phase::XExch50(reader) => reader.is_done(),
            _ => return Step::Idle,
        };
        if !done {
            if !self.fill_body_input() {
                return Step::Idle;
            }
            let (reader, deliver_bdat) = match &mut self.phase {
                Phase::Bdat { reader, error, .. } => (reader, Some(error.is_none())),
                Phase::XExch50(reader) => (reader, None),
                _ => return Step::Idle,
            };
            return match reader.read(&mut self.body_in) {
                None => Step::Idle,
                Some(chunk) if chunk.is_empty() => Step::Progress,
                Some(chunk) => match deliver_bdat {
                    Some(true) => Step::Event(Event::MessageChunk(chunk)),
                    Some(false) => Step::Progress,
                    None => Step::Event(Event::XExch50Chunk(chunk)),
                },
            };
        }
        let phase = std::mem::replace(&mut self.phase, Phase::Command);
        self.restore_body_input();
        match phase {
            Phase::XExch50(_) => self.ask(Pending::XExch50End, Event::XExch50End),
            Phase::Bdat {
                size, last, error, ..
            } => match error {
                None => {
                    let total = match self.txn.as_mut() {
                        Some(t) => {
                            t.bdat_size = t.bdat_size.saturating_add(size);
                            t.bdat_size
                        }
                        None => size,
                    };
                    if last {
                        self.ask(Pending::MessageEnd, Event::MessageEnd { size: total })
                    } else {
                        let r = Reply::new(
                            250,
                            Some(EnhancedCode::new(2, 0, 0)),
                            format!("{size} octets received"),
                        );
                        self.send(&r);
                        Step::Progress
                    }
                }
                Some(BdatError::TooLarge) => {
                    let first = match self.txn.as_mut() {
                        Some(t) => t.bdat_failed.replace(BdatError::TooLarge).is_none(),
                        None => true,
                    };
                    if last {
                        self.txn = None;
                    }
                    self.send(&replies::TOO_LARGE);
                    if first {
                        Step::Event(Event::MessageAborted(MessageAbort::TooLarge))
                    } else {
                        Step::Progress
                    }
                }
                Some(BdatError::NoRecipients) => {
                    if last {
                        self.txn = None;
                    }
                    self.send(&replies::NO_VALID_RECIPIENTS);
                    Step::Progress
                }
                Some(BdatError::NeedMail { counted }) => {
                    if counted {
                        self.error(&replies::NEED_MAIL);
                    } else {
                        self.send(&replies::NEED_MAIL);
                    }
                    Step::Progress
                }
                Some(BdatError::NotImplemented) => {
                    self.error(&replies::NOT_IMPLEMENTED);
                    Step::Progress
                }
            },
            _ => Step::Progress,
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
    fn hello_lines_match_the_formatter() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.9.99.100",
            "255.255.255.255",
            "::1",
            "2001:db8::8:800:200c:417a",
            "::ffff:192.0.2.1",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(hello_line("mx", ip), format!("mx Hello [{ip}]"));
        }
    }

    #[test]
    fn resolve_classifies_decisions() {
        let r = |code| Reply::new(code, None, "x");
        assert!(matches!(
            resolve(Decision::Accept, None),
            Outcome::Accept(None)
        ));
        assert!(matches!(
            resolve(Decision::Default, None),
            Outcome::Accept(None)
        ));
        assert!(matches!(
            resolve(Decision::Default, Some(r(500))),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(250)), None),
            Outcome::Accept(Some(_))
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(354)), None),
            Outcome::Accept(Some(_))
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(450)), None),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(150)), None),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(700)), None),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            resolve(Decision::AuthFailure, None),
            Outcome::Accept(None)
        ));
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

    #[test]
    fn decide_without_pending_is_ignored() {
        let mut s = session();
        s.decide(Decision::Accept);
        assert_eq!(s.poll_transmit(), None);
        assert_eq!(s.poll_event(), Some(Event::Connect));
        assert!(s.is_decision_pending());
        // Polling again applies the default (accept): the greeting goes out.
        assert_eq!(s.poll_event(), None);
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
