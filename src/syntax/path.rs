//! Paths and mailboxes (RFC 5321 4.1.2, 4.1.3; RFC 6531 for UTF-8).
//!
//! Size limits of RFC 5321 4.5.3.1 are enforced while parsing: local part 64 octets,
//! domain 255 octets, path 256 octets (including the angle brackets), each with a typed
//! [`PathError`](super::PathError).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A domain name as written (dot-separated labels; U-labels only under SMTPUTF8).
///
/// Compared case-insensitively by [`Domain::eq_ignore_case`]; `PartialEq` is exact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Domain<'a>(pub Cow<'a, str>);

/// An address literal in square brackets (RFC 5321 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressLiteral<'a> {
    /// `[192.0.2.1]`
    Ipv4(Ipv4Addr),
    /// `[IPv6:2001:db8::1]`
    Ipv6(Ipv6Addr),
    /// `[tag:content]`, a General-address-literal.
    General {
        /// The Standardized-tag (e.g. a registered tag other than `IPv6`).
        tag: Cow<'a, str>,
        /// The dcontent after the colon.
        content: Cow<'a, str>,
    },
}

/// The part of a mailbox after the `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A domain name.
    Domain(Domain<'a>),
    /// An address literal.
    Literal(AddressLiteral<'a>),
}

/// The part of a mailbox before the `@` (RFC 5321 4.1.2 Local-part).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LocalPart<'a> {
    /// A Dot-string, e.g. `john.smith`.
    DotString(Cow<'a, str>),
    /// A Quoted-string: the raw text between the quotes, with its backslash escapes as
    /// written (so parsing borrows). [`LocalPart::value`] gives the unescaped value.
    Quoted(Cow<'a, str>),
}

/// A mailbox: `local-part@host` (RFC 5321 4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox<'a> {
    /// Before the `@`.
    pub local_part: LocalPart<'a>,
    /// After the `@`.
    pub host: Host<'a>,
}

/// The argument of `MAIL FROM:` (RFC 5321 4.1.2 Reverse-path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath<'a> {
    /// The null path `<>` (bounces, DSNs).
    Null,
    /// A mailbox. A source route, if one was given, was parsed and dropped (4.1.2 allows it).
    Mailbox(Mailbox<'a>),
}

/// The argument of `RCPT TO:` (RFC 5321 4.1.2 Forward-path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath<'a> {
    /// `<Postmaster>` without a domain (case-insensitive; RFC 5321 4.1.1.3).
    Postmaster,
    /// A mailbox. A source route, if one was given, was parsed and dropped.
    Mailbox(Mailbox<'a>),
}

impl<'a> Mailbox<'a> {
    /// Parses `local@host` (no angle brackets), enforcing the 4.5.3.1 limits.
    pub fn parse(s: &'a str, opts: &super::ParseOptions) -> Result<Mailbox<'a>, super::PathError> {
        let _ = (s, opts);
        todo!("syntax helper")
    }

    /// Detaches the mailbox from the input it borrows.
    pub fn into_owned(self) -> Mailbox<'static> {
        todo!("syntax helper")
    }
}

impl std::fmt::Display for Mailbox<'_> {
    /// `local@host` in canonical form (quoted local parts keep their quotes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!("syntax helper")
    }
}
