//! The client session state machine.
//!
//! [`Client`] speaks SMTP (RFC 5321) with ESMTP extensions to one server over one
//! connection, without IO and without a clock: the caller feeds received bytes to
//! [`Client::receive`], writes what [`Client::poll_transmit`] returns, acts on
//! [`Client::poll_event`], and calls [`Client::handle_timeout`] when
//! [`Client::poll_timeout`] says so. Time comes in as [`std::time::Instant`] arguments.
//!
//! What the client does on its own:
//! * greeting (`220`; `554`, or another `4yz`/`5yz`, ends with `QUIT`, `421` closes),
//!   EHLO with HELO fallback on `500`/`502`, capability parsing;
//! * STARTTLS per [`TlsPolicy`] (or Exchange's X-ANONYMOUSTLS when configured), with the
//!   response-injection guard of RFC 3207 / CVE-2011-0411, and EHLO again after TLS;
//! * AUTH with the strongest mechanism the credentials and the server share, or the first
//!   of those the caller lists in [`ClientConfig::auth_mechanisms`], never a plaintext
//!   mechanism without TLS unless allowed; on request ([`ClientConfig::auth_fallback`]),
//!   the next mechanism after the server refuses one (`535`, `504`), or a stronger one
//!   after `534` (RFC 4954 sections 4 and 6), reported as [`Event::AuthFallback`]; caller-driven mechanisms (NTLM, GSSAPI) through
//!   [`Event::AuthChallenge`]; X-EXPS when configured;
//! * transactions: PIPELINING (RFC 2920) flights, BDAT (RFC 3030) when CHUNKING is
//!   offered, BODY/SMTPUTF8/REQUIRETLS/DSN/SIZE parameters only when advertised, and a
//!   clear [`MessageError`] *before anything is sent* when a message needs what the server
//!   lacks; per-recipient results, each with the [`Outcome`] a mail queue acts on
//!   (delivered, deferred, failed: [`RecipientStatus::outcome`]); RSET after a failed
//!   transaction; XEXCH50 blobs for
//!   Exchange; recipients refused as too many (`452`, RFC 5321 4.5.3.1.10) are the
//!   caller's to send again in a new transaction, with [`Envelope::deferred`] building
//!   that envelope (the `smtp-send` example does it) from the one every
//!   [`Event::MessageResult`] gives back (moved, not copied: the caller keeps no copy of
//!   its own);
//! * the server's LIMITS (RFC 9422), as the current EHLO reply advertises them (the one
//!   after STARTTLS replaces the one before; `0` or a value that is not a number is no
//!   limit): at most `RCPTMAX` `RCPT` commands per transaction (section 4.2), for
//!   recipients in at most `RCPTDOMAINMAX` distinct domains (section 4.3, compared without
//!   case). The recipients beyond are not sent: their [`RecipientStatus`] carries a
//!   `452 4.5.3` the client writes itself ([`RecipientStatus::held_back`]), so the caller
//!   handles them exactly like a server's "too many recipients", with
//!   [`Envelope::deferred`]. No more than `MAILMAX` transactions per session (section
//!   4.1, every `MAIL` counts): a message beyond fails with
//!   [`MessageError::TransactionLimit`] before anything is sent, for the caller to send on
//!   a new connection. The client does not split a message into transactions itself: a
//!   streamed body ([`Body::Stream`]) cannot be sent twice without asking the caller for it
//!   again, and [`Event::MessageResult`] reports one transaction;
//! * the reply timeouts of RFC 5321 4.5.3.2, one per reply, also in a pipelined flight;
//! * between transactions, the commands whose reply is the caller's: NOOP (to keep an
//!   idle connection alive), VRFY, EXPN, HELP and ETRN with [`Client::send_query`], and
//!   Exchange's verbs with [`Client::send_exchange`].
//!
//! # The caller's loop
//!
//! 1. `Client::new(config, now)` when the connection is open; queue messages with
//!    [`Client::send`] at any time (they wait for the session to be ready).
//! 2. Write every buffer [`Client::poll_transmit`] returns, in order.
//! 3. Hand every byte read to [`Client::receive_at`] with the time it arrived (or
//!    [`Client::receive`]); on EOF call [`Client::peer_closed`].
//! 4. Drain [`Client::poll_event`]: upgrade the transport on [`Event::StartTls`] and call
//!    [`Client::tls_established`]; answer [`Event::AuthChallenge`] with
//!    [`Client::auth_respond`]; feed streamed bodies on [`Event::BodyNeeded`] with
//!    [`Client::push_body`] / [`Client::finish_body`]; read [`Event::RecipientResult`] and
//!    [`Event::MessageResult`]; stop on [`Event::Closed`].
//! 5. Sleep until [`Client::poll_timeout`] at most, then call [`Client::handle_timeout`].
//!    Each reply's timer starts when that reply becomes the one awaited (RFC 5321
//!    4.5.3.2; with PIPELINING, after the reply before it): at the time given to
//!    [`Client::receive_at`]; after [`Client::receive`], which takes no time, the next
//!    `now` given to [`Client::poll_transmit`] or [`Client::handle_timeout`] stands for
//!    the arrival of a reply.
//!
//! # Example
//!
//! A complete session against scripted server bytes (a real caller reads them from a
//! socket):
//!
//! ```
//! use ehlo::client::{Client, ClientConfig, Envelope, Event, TlsPolicy};
//! use std::time::Instant;
//!
//! let mut config = ClientConfig::new("client.example.test");
//! config.tls = TlsPolicy::Never; // a test without TLS
//! let now = Instant::now();
//! let mut client = Client::new(config, now);
//!
//! let envelope = Envelope::new("alice@example.test")?
//!     .recipient("bob@example.test")?
//!     .recipient("carol@example.test")?;
//! let id = client.send(envelope, "Subject: hi\r\n\r\n.Hello\r\n").unwrap();
//! client.quit();
//!
//! // Collects what the client sends in answer to each server flight.
//! fn transmit(client: &mut Client, now: Instant) -> Vec<u8> {
//!     let mut out = Vec::new();
//!     while let Some(bytes) = client.poll_transmit(now) {
//!         out.extend_from_slice(&bytes);
//!     }
//!     out
//! }
//!
//! client.receive(b"220 mx.example.test ESMTP\r\n");
//! assert_eq!(transmit(&mut client, now), b"EHLO client.example.test\r\n");
//! client.receive(b"250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n");
//! // PIPELINING: MAIL, every RCPT and DATA in one flight.
//! assert_eq!(
//!     transmit(&mut client, now),
//!     &b"MAIL FROM:<alice@example.test> SIZE=23\r\n\
//!        RCPT TO:<bob@example.test>\r\n\
//!        RCPT TO:<carol@example.test>\r\n\
//!        DATA\r\n"[..]
//! );
//! client.receive(b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n550 5.1.1 No such user\r\n354 Go ahead\r\n");
//! // The body, dot-stuffed, and the end of data.
//! assert_eq!(transmit(&mut client, now), b"Subject: hi\r\n\r\n..Hello\r\n.\r\n");
//! client.receive(b"250 2.0.0 Queued\r\n");
//! assert_eq!(transmit(&mut client, now), b"QUIT\r\n");
//! client.receive(b"221 2.0.0 Bye\r\n");
//!
//! let mut delivered_to = Vec::new();
//! let mut refused = Vec::new();
//! let mut closed = false;
//! while let Some(event) = client.poll_event() {
//!     match event {
//!         Event::RecipientResult { index, accepted: true, .. } => delivered_to.push(index),
//!         Event::MessageResult { message, result, recipients, envelope, .. } => {
//!             assert_eq!(message, id);
//!             assert_eq!(result.unwrap().code.0, 250);
//!             // The envelope given to `send` comes back: the statuses index into it.
//!             for status in recipients.iter().filter(|s| !s.accepted()) {
//!                 refused.push(envelope.recipients[status.index].path.to_string());
//!             }
//!         }
//!         Event::Closed(_) => closed = true,
//!         _ => {}
//!     }
//! }
//! assert_eq!(delivered_to, [0]);
//! assert_eq!(refused, ["<carol@example.test>"]);
//! assert!(closed && client.is_closed());
//! # Ok::<(), ehlo::syntax::PathError>(())
//! ```
pub(crate) mod auth;
mod config;
mod envelope;
mod error;
mod exchange;
mod query;
mod session;

pub use crate::sasl::AuthVerb;
pub use config::{ClientConfig, Credentials, Timeouts, TlsPolicy};
pub use envelope::{Body, BodyType, Envelope, Recipient, Xexch50};
pub use error::{
    CloseReason, Extension, MessageError, ProtocolError, SendError, TimeoutKind, Unsent, UsageError,
};
pub use exchange::{ExchangeCommandError, ExchangeError};
pub use query::{Query, QueryCommandError, QueryError};
pub use session::{
    AuthChallenge, AuthResponse, Client, Event, MessageId, Outcome, RecipientStatus,
};
