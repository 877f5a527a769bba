//! # ehlo — sans-IO SMTP, ESMTP and the Microsoft Exchange extensions
//!
//! `ehlo` speaks SMTP (RFC 5321) with the ESMTP extensions mail actually uses and the
//! Exchange extensions of \[MS-OXSMTP\], \[MS-SMTPNTLM\] and \[MS-XLOGIN\], without ever
//! touching a socket. The caller owns sockets, TLS, clocks, storage and authentication
//! back-ends; the crate turns bytes into events and decisions into bytes.
//!
//! The layers, in the direction data flows:
//!
//! * [`syntax`]: pure parsers and serializers (commands, parameters, paths, replies,
//!   EHLO capabilities). No state.
//! * [`data`]: the message-content codecs (DATA dot-stuffing, BDAT and XEXCH50 framing),
//!   stateful but IO-free, smuggling-proof.
//! * [`sasl`]: the SASL mechanisms (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, NTLM and
//!   GSSAPI framing) as pure helpers.
//! * [`server`] and [`client`]: the deterministic session state machines.
//! * [`limits`]: the protocol's size limits (RFC 5321 4.5.3.1) and the command line rule;
//!   the configurable limits and their safe defaults are [`server::ServerLimits`] and
//!   [`client::ClientConfig`].
//!
//! # A client and a server in memory
//!
//! Both machines are driven the same way: feed the bytes read, drain the events, write
//! the bytes they hand out. Connecting a [`client::Client`] to a [`server::Server`] is
//! therefore a loop that shuttles bytes, which is how a test, a benchmark or a test tool
//! runs a whole session without a socket. TLS is the caller's: at the handshake point
//! (the server's [`server::Event::TlsUpgrade`], the client's [`client::Event::StartTls`])
//! a real caller runs the handshake on the transport and then calls `tls_established`
//! on the machine; in memory, calling `tls_established` on both sides and going on in
//! plaintext simulates it.
//!
//! ```
//! use ehlo::client::{self, Client, ClientConfig, Credentials, Envelope, TlsPolicy};
//! use ehlo::server::{self, Decision, Mechanism, Server, ServerConfig};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut config = ServerConfig::new("mx.example.test");
//! config.extensions.starttls = true;
//! config.auth.mechanisms = vec![Mechanism::new("PLAIN")]; // offered under TLS only
//! config.auth.builtin_exchanges = true; // the machine runs PLAIN, the caller verifies
//! let mut server = Server::new(config, now);
//!
//! let mut config = ClientConfig::new("client.example.test");
//! config.tls = TlsPolicy::Required;
//! config.credentials = Some(Credentials::Password {
//!     authzid: None,
//!     username: "alice".into(),
//!     password: "secret".into(),
//! });
//! let mut client = Client::new(config, now);
//! let envelope = Envelope::new("alice@example.test")?.recipient("bob@example.test")?;
//! client.send(envelope, "Subject: hi\r\n\r\nHello\r\n").unwrap();
//! client.quit();
//!
//! let (mut stored, mut delivered) = (Vec::new(), false);
//! for _round in 0..100 {
//!     if client.is_closed() && server.is_closed() {
//!         break;
//!     }
//!     // The server: events, decisions, then its bytes to the client.
//!     let mut upgrade = false;
//!     while let Some(event) = server.poll_event() {
//!         match event {
//!             server::Event::MessageChunk(bytes) => stored.extend_from_slice(&bytes),
//!             server::Event::TlsUpgrade => upgrade = true,
//!             server::Event::AuthVerify { credentials, .. } => {
//!                 // A real server checks the password against its user base here.
//!                 let identity = credentials.username().unwrap_or_default().to_string();
//!                 server.decide(Decision::AuthSuccess { identity });
//!             }
//!             event if event.needs_decision() => server.decide(Decision::Accept),
//!             _ => {}
//!         }
//!     }
//!     while let Some(bytes) = server.poll_transmit() {
//!         client.receive(&bytes);
//!     }
//!     if upgrade {
//!         // The 220 to STARTTLS is out: the handshake would run here.
//!         server.tls_established().unwrap();
//!     }
//!     // The client: events, then its bytes to the server.
//!     while let Some(event) = client.poll_event() {
//!         match event {
//!             client::Event::StartTls { .. } => client.tls_established().unwrap(),
//!             client::Event::MessageResult { result, .. } => delivered = result.is_ok(),
//!             _ => {}
//!         }
//!     }
//!     while let Some(bytes) = client.poll_transmit(now) {
//!         server.receive(now, &bytes);
//!     }
//! }
//! assert!(client.is_closed() && server.is_closed());
//! assert!(delivered && client.is_tls() && server.is_tls());
//! assert_eq!(server.authenticated(), Some("alice"));
//! assert_eq!(stored, b"Subject: hi\r\n\r\nHello\r\n");
//! # Ok::<(), ehlo::syntax::PathError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod data;
pub mod limits;
pub mod sasl;
pub mod server;
pub mod syntax;

/// The `bytes` crate this API is written in ([`bytes::Bytes`] from
/// [`client::Client::poll_transmit`] and in [`server::Event::MessageChunk`],
/// [`bytes::BytesMut`] for [`syntax::reply::ReplyParser::decode`], [`bytes::BufMut`] for
/// the `encode` methods), re-exported so callers need no version-matched dependency of
/// their own.
pub use bytes;

pub use syntax::capability::{Capabilities, Capability};
pub use syntax::command::Command;
pub use syntax::reply::{EnhancedCode, Reply, ReplyCode};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
