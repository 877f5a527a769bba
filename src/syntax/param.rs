//! MAIL and RCPT parameters (RFC 5321 4.1.2 esmtp-param) and the extensions that define them.
//!
//! Known keywords are typed; any other `keyword[=value]` is kept verbatim in `other` so a
//! server can answer `555 5.5.4` and a proxy can relay it. A duplicate or malformed
//! parameter is a typed [`ParamError`](super::ParamError). Parsing a typical MAIL or RCPT
//! command allocates nothing: values borrow from the input and `other` stays empty.

use super::xtext::XText;
use std::borrow::Cow;

/// `BODY=` (RFC 6152 8BITMIME, RFC 3030 BINARYMIME).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `BODY=7BIT`
    SevenBit,
    /// `BODY=8BITMIME`
    EightBitMime,
    /// `BODY=BINARYMIME`
    BinaryMime,
}

/// `RET=` (RFC 3461 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `RET=FULL`
    Full,
    /// `RET=HDRS`
    Headers,
}

/// `NOTIFY=` (RFC 3461 4.1): `NEVER`, or any non-empty combination of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// `NEVER` (exclusive with the others).
    pub never: bool,
    /// `SUCCESS`
    pub success: bool,
    /// `FAILURE`
    pub failure: bool,
    /// `DELAY`
    pub delay: bool,
}

/// `ORCPT=addr-type;xtext` (RFC 3461 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt<'a> {
    /// The address type, e.g. `rfc822` or `utf-8`.
    pub addr_type: Cow<'a, str>,
    /// The original recipient address, xtext-encoded as on the wire.
    pub addr: XText<'a>,
}

/// `BY=time;mode[T]` (RFC 2852 DELIVERBY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliverBy {
    /// Seconds (may be negative with mode `R`).
    pub time: i64,
    /// `N` (notify) or `R` (return).
    pub mode: DeliverByMode,
    /// The `T` trace flag.
    pub trace: bool,
}

/// The by-mode of `BY=` (RFC 2852 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliverByMode {
    /// `N`: notify if not delivered in time.
    Notify,
    /// `R`: return if not delivered in time.
    Return,
}

/// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865 FUTURERELEASE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Hold<'a> {
    /// `HOLDFOR=seconds`
    For(u64),
    /// `HOLDUNTIL=date-time` (RFC 3339 text kept as written).
    Until(Cow<'a, str>),
}

/// A parameter kept verbatim: `keyword[=value]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param<'a> {
    /// The esmtp-keyword as written.
    pub keyword: Cow<'a, str>,
    /// The esmtp-value, if any.
    pub value: Option<Cow<'a, str>>,
}

/// The parameters of a MAIL command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MailParams<'a> {
    /// `SIZE=` (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461), xtext.
    pub envid: Option<XText<'a>>,
    /// `AUTH=` (RFC 4954 section 5): the xtext mailbox, or `<>` as written.
    pub auth: Option<XText<'a>>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// `BY=` (RFC 2852).
    pub by: Option<DeliverBy>,
    /// `MT-PRIORITY=` (RFC 6710), -9..=9.
    pub mt_priority: Option<i8>,
    /// `HOLDFOR=` / `HOLDUNTIL=` (RFC 4865).
    pub hold: Option<Hold<'a>>,
    /// Everything else (including Exchange parameters not typed above), in order.
    pub other: Vec<Param<'a>>,
}

/// The parameters of a RCPT command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RcptParams<'a> {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461).
    pub orcpt: Option<Orcpt<'a>>,
    /// Everything else, in order.
    pub other: Vec<Param<'a>>,
}
