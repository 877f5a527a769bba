//! SASL mechanisms (RFC 4422, RFC 4954) as pure helpers.
//!
//! Everything here is a pure function of its inputs: no IO, no clock, no randomness. The
//! crate never verifies a password and never runs NTLM or Kerberos cryptography; it gets
//! the bytes of the exchange exactly right and hands the caller what it needs to decide.
//!
//! * [`Mechanism`]: names, properties ([plaintext?](Mechanism::sends_plaintext_credentials),
//!   [SASL-IR?](Mechanism::supports_initial_response), [strength](Mechanism::strength)),
//!   and [`select_mechanism`] for a client.
//! * Per mechanism, message builders and parsers: [`plain`] (RFC 4616), [`login`]
//!   (\[MS-XLOGIN\]), [`cram_md5`] (RFC 2195, HMAC-MD5 from the RustCrypto `md-5` and `hmac` crates via [`md5`]),
//!   [`xoauth2`], [`oauthbearer`] (RFC 7628) and their shared [`oauth`] error JSON,
//!   [`ntlm`] (\[MS-SMTPNTLM\] framing, NTLMSSP type recognition), [`gssapi`] (RFC 4752
//!   framing).
//! * [`b64`]: the BASE64 rules of RFC 4954 section 4 (strict; `=`, `*` and empty lines).
//! * Step drivers: [`ServerExchange`] turns client lines into `334` challenges,
//!   [`Credentials`] to verify, or NTLM/GSSAPI tokens for the caller; [`ClientExchange`]
//!   turns credentials and challenges into the `AUTH` arguments and answer lines.
//! * [`SaslError`] and [`AuthReply`]: every failure maps to the reply a server sends
//!   (invalid BASE64 `501 5.5.2`, client cancel `501 5.0.0`, bad credentials `535 5.7.8`).
//!
//! The same exchange runs under Exchange's `X-EXPS` verb (server-to-server, mechanisms
//! GSSAPI, NTLM and LOGIN); only the verb differs ([`AuthStart::command_line`]).
//!
//! # Client: PLAIN with an initial response
//!
//! ```
//! use ehlo::sasl::{ClientCredentials, ClientExchange, Mechanism};
//! let mut ex = ClientExchange::new(
//!     Mechanism::Plain,
//!     ClientCredentials::Password {
//!         authzid: None,
//!         username: "tim".into(),
//!         password: "tanstaafl".into(),
//!     },
//! )
//! .unwrap();
//! let start = ex.start(true).unwrap();
//! assert_eq!(start.command_line("AUTH"), "AUTH PLAIN AHRpbQB0YW5zdGFhZmw=\r\n");
//! // The server answers 235 (or 535); nothing more to send.
//! ```
//!
//! # Server: a LOGIN exchange
//!
//! ```
//! use ehlo::sasl::{AuthReply, Credentials, Mechanism, SaslError, ServerExchange, ServerStep};
//! // C: AUTH LOGIN
//! let (mut ex, step) = ServerExchange::start(&Mechanism::Login, None).unwrap();
//! assert_eq!(step, ServerStep::Challenge("VXNlcm5hbWU6".into())); // S: 334 VXNlcm5hbWU6
//! let step = ex.step(b"dGlt").unwrap(); // C: dGlt
//! assert_eq!(step, ServerStep::Challenge("UGFzc3dvcmQ6".into())); // S: 334 UGFzc3dvcmQ6
//! match ex.step(b"dGFuc3RhYWZs").unwrap() { // C: dGFuc3RhYWZs
//!     ServerStep::Verify(creds @ Credentials::Login { .. }) => {
//!         // The caller's back-end; verify_password compares in constant time.
//!         let ok = creds.verify_password("tim", "tanstaafl");
//!         let reply = if ok { AuthReply::SUCCEEDED } else { AuthReply::INVALID_CREDENTIALS };
//!         assert_eq!(reply.line(), "235 2.7.0 Authentication successful\r\n");
//!     }
//!     _ => unreachable!(),
//! }
//! // A client that cancels, or sends bad BASE64, ends the exchange with the error's reply.
//! let (mut ex, _) = ServerExchange::start(&Mechanism::Login, None).unwrap();
//! let err = ex.step(b"*").unwrap_err();
//! assert_eq!(err, SaslError::Cancelled);
//! assert_eq!(err.reply().line(), "501 5.0.0 Authentication cancelled\r\n");
//! ```

pub mod b64;
mod client;
pub mod cram_md5;
mod error;
pub mod gssapi;
pub mod login;
pub mod md5;
mod mechanism;
pub mod ntlm;
pub mod oauth;
pub mod oauthbearer;
pub mod plain;
mod server;
pub mod xoauth2;

pub use client::{AuthStart, ClientCredentials, ClientExchange, ClientStep};
pub use error::{AuthReply, SaslError};
pub use mechanism::{select_mechanism, Mechanism, MAX_MECHANISM_NAME};
pub use server::{Credentials, ServerExchange, ServerStep};

/// `Debug` for octets a peer or the caller sent as a secret (a PLAIN message, a password,
/// a bearer token, an NTLM or Kerberos token): `<N octets>`, never the octets.
pub(crate) struct Redacted<'a>(pub(crate) &'a [u8]);

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} octets>", self.0.len())
    }
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only: every
/// octet pair is compared, and the compiler is kept from stopping at the first difference.
/// For a verifier that checks a password or a digest itself (after SASLprep, say);
/// [`Credentials::verify_password`] and [`cram_md5::verify`] use it.
///
/// ```
/// use ehlo::sasl::constant_time_eq;
///
/// assert!(constant_time_eq(b"secret", b"secret"));
/// assert!(!constant_time_eq(b"secret", b"secreT"));
/// assert!(!constant_time_eq(b"secret", b"secrets"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= std::hint::black_box(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// The verb that carries a SASL exchange: `AUTH` (RFC 4954), or Exchange's `X-EXPS`
/// (server-to-server authentication, Microsoft KB 812455), which runs the same exchange.
/// The client uses it to say which verb to authenticate with (it falls back to `AUTH`
/// when the server advertises no `X-EXPS` mechanism the credentials can drive); the
/// server reports it with each AUTH event and keeps the identities each verb
/// established apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthVerb {
    /// `AUTH` (RFC 4954).
    #[default]
    Auth,
    /// `X-EXPS` (Exchange server-to-server authentication, Microsoft KB 812455).
    XExps,
}
