//! The client session state machine.
//!
//! [`Client`] speaks SMTP (RFC 5321) with ESMTP extensions to one server over one
//! connection, without IO and without a clock: the caller feeds received bytes to
//! [`Client::receive`], writes what [`Client::poll_transmit`] returns, acts on
//! [`Client::poll_event`], and calls [`Client::handle_timeout`] when
//! [`Client::poll_timeout`] says so. Time comes in as [`std::time::Instant`] arguments.
//!
//! What the client does on its own:
//! * greeting (`220`; `554` ends with `QUIT`, `421` closes), EHLO with HELO fallback on
//!   `500`/`502`, capability parsing;
//! * STARTTLS per [`TlsPolicy`] (or Exchange's X-ANONYMOUSTLS when configured), with the
//!   response-injection guard of RFC 3207 / CVE-2011-0411, and EHLO again after TLS;
//! * AUTH with the strongest mechanism the credentials and the server share, never a
//!   plaintext mechanism without TLS unless allowed; caller-driven mechanisms (NTLM,
//!   GSSAPI) through [`Event::AuthChallenge`]; X-EXPS when configured;
//! * transactions: PIPELINING (RFC 2920) flights, BDAT (RFC 3030) when CHUNKING is
//!   offered, BODY/SMTPUTF8/REQUIRETLS/DSN/SIZE parameters only when advertised, and a
//!   clear [`MessageError`] *before anything is sent* when a message needs what the server
//!   lacks; per-recipient results; RSET after a failed transaction; XEXCH50 blobs for
//!   Exchange;
//! * the reply timeouts of RFC 5321 4.5.3.2.
pub(crate) mod auth;
mod config;
mod envelope;
mod error;
mod session;

pub use config::{AuthVerb, ClientConfig, Credentials, Timeouts, TlsPolicy};
pub use envelope::{Body, BodyType, Envelope, Recipient, Xexch50};
pub use error::{
    CloseReason, Extension, MessageError, ProtocolError, SendError, TimeoutKind, UsageError,
};
pub use session::{AuthChallenge, AuthResponse, Client, Event, MessageId, RecipientStatus};
