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
//! * [`limits`]: the configurable limits and their safe defaults.
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
