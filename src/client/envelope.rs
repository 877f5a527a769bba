//! Envelopes (RFC 5321 3.3) and message bodies as the client sends them.

use crate::syntax::param::{ExchangeMailParams, ExchangeRcptParams, Notify, Orcpt, Ret};
use crate::syntax::path::{ForwardPath, Mailbox, ReversePath};
use crate::syntax::reply::{EnhancedCode, Reply};
use crate::syntax::{ParseOptions, PathError};
use bytes::Bytes;

use super::session::RecipientStatus;

/// A refusal for too many recipients (RFC 5321 4.5.3.1.10): `452`, with `4.5.3` or no
/// enhanced code, or `552 5.5.3`.
fn too_many_recipients(reply: &Reply) -> bool {
    match reply.code.0 {
        452 => matches!(
            reply.enhanced,
            None | Some(EnhancedCode {
                class: 4,
                subject: 5,
                detail: 3
            })
        ),
        552 => reply.enhanced == Some(EnhancedCode::new(5, 5, 3)),
        _ => false,
    }
}

/// One recipient: a forward-path and its DSN parameters (RFC 3461 4.1, 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recipient {
    /// The forward-path.
    pub path: ForwardPath<'static>,
    /// `NOTIFY=`, sent only when the server advertises DSN: `NEVER` alone or a non-empty
    /// list of the others (RFC 3461 4.1); any other value fails the send with
    /// [`MessageError::InvalidEnvelope`](super::MessageError::InvalidEnvelope).
    pub notify: Option<Notify>,
    /// `ORCPT=`, sent only when the server advertises DSN; its `addr_type` must be an atom
    /// (RFC 3461 4.2) and its address ASCII xtext of printable US-ASCII (no control
    /// character once decoded, section 4.2), except that an address of the `utf-8` type
    /// may hold non-ASCII text, and UTF-8 as itself in an SMTPUTF8 transaction (RFC 6533
    /// section 3; set [`Envelope::smtputf8`] for it); otherwise the send fails with
    /// [`MessageError::InvalidEnvelope`](super::MessageError::InvalidEnvelope).
    pub orcpt: Option<Orcpt<'static>>,
    /// Exchange RCPT parameters (`XRDST=`, `XORAR=`), sent only when the server
    /// advertises `XRDST` (see the client's Exchange module).
    pub exchange: ExchangeRcptParams<'static>,
}

/// An Exchange XEXCH50 blob (Microsoft KB 812455): MAPI message and recipient properties,
/// sent after the recipients when the server advertises `XEXCH50`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Xexch50 {
    /// The blob, at most [`MAX_XEXCH50_BLOB`](crate::limits::MAX_XEXCH50_BLOB) octets.
    pub blob: Bytes,
    /// The mode argument (Exchange sends `2`).
    pub mode: u32,
}

/// The envelope of one message: reverse-path, recipients and the MAIL parameters the
/// caller asks for. Parameters are sent only when the server advertises their extension;
/// when the message *needs* an extension (SMTPUTF8 for UTF-8 addresses, REQUIRETLS), the
/// client refuses the message before sending anything instead.
///
/// ```
/// use ehlo::client::Envelope;
/// let env = Envelope::new("alice@example.test")?
///     .recipient("bob@example.test")?
///     .recipient("carol@example.test")?;
/// assert_eq!(env.recipients.len(), 2);
/// assert!(!env.needs_smtputf8());
/// # Ok::<(), ehlo::syntax::PathError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Envelope {
    /// The reverse-path (`<>` for bounces).
    pub from: ReversePath<'static>,
    /// The recipients, in order.
    pub recipients: Vec<Recipient>,
    /// The message carries UTF-8 headers (RFC 6531): send `SMTPUTF8` even if every address
    /// is ASCII. Addresses with non-ASCII text set this need implicitly.
    pub smtputf8: bool,
    /// Ask for `REQUIRETLS` (RFC 8689): refused unless TLS is active and advertised.
    pub requiretls: bool,
    /// `RET=` (RFC 3461), sent only when DSN is advertised.
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461), raw (the client xtext-encodes it), sent only with DSN: one to
    /// 100 characters of printable US-ASCII (graphic, SP, HTAB; section 4.4; an empty one
    /// would be `ENVID=` without the value RFC 5321 4.1.2 requires), else the send fails
    /// with [`MessageError::InvalidEnvelope`](super::MessageError::InvalidEnvelope).
    pub envid: Option<String>,
    /// An Exchange XEXCH50 blob, sent only when the server advertises `XEXCH50`.
    pub xexch50: Option<Xexch50>,
    /// Exchange MAIL parameters (`XSHADOW=`, `XOORG=`, ...), each sent only when the
    /// server advertises it (see the client's Exchange module).
    pub exchange: ExchangeMailParams<'static>,
}

fn parse_mailbox(s: &str) -> Result<Mailbox<'static>, PathError> {
    let opts = ParseOptions {
        utf8: true,
        ..ParseOptions::default()
    };
    let s = s
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s);
    Ok(Mailbox::parse(s, &opts)?.into_owned())
}

impl Envelope {
    /// An envelope from `from` (`""` or `"<>"` for the null reverse-path) without
    /// recipients yet.
    pub fn new(from: &str) -> Result<Envelope, PathError> {
        let from = if from.is_empty() || from == "<>" {
            ReversePath::Null
        } else {
            ReversePath::Mailbox(parse_mailbox(from)?)
        };
        Ok(Envelope {
            from,
            recipients: Vec::new(),
            smtputf8: false,
            requiretls: false,
            ret: None,
            envid: None,
            xexch50: None,
            exchange: ExchangeMailParams::default(),
        })
    }

    /// Adds a recipient (`local@domain`, or `Postmaster`).
    pub fn recipient(mut self, to: &str) -> Result<Envelope, PathError> {
        self.add_recipient(to)?;
        Ok(self)
    }

    /// Adds a recipient in place.
    pub fn add_recipient(&mut self, to: &str) -> Result<(), PathError> {
        let path =
            if to.eq_ignore_ascii_case("postmaster") || to.eq_ignore_ascii_case("<postmaster>") {
                ForwardPath::Postmaster
            } else {
                ForwardPath::Mailbox(parse_mailbox(to)?)
            };
        self.recipients.push(Recipient {
            path,
            notify: None,
            orcpt: None,
            exchange: ExchangeRcptParams::default(),
        });
        Ok(())
    }

    /// The recipients to send the same message to again, in a new transaction, after a
    /// server refused them for having too many recipients: `452` (with `4.5.3` or no
    /// enhanced code), or the `552 5.5.3` that RFC 821 servers send and that clients
    /// should treat as temporary (RFC 5321 sections 4.5.3.1.10 and 4.5.3.1.8; RFC 3463
    /// X.5.3). The recipients the client held back under the server's `LIMITS RCPTMAX` or
    /// `RCPTDOMAINMAX` (RFC 9422 sections 4.2, 4.3) carry the client's own `452 4.5.3`
    /// (see [`RecipientStatus`]) and come back here the same way.
    ///
    /// `statuses` are the per-recipient outcomes of a message
    /// ([`Event::MessageResult`](super::Event::MessageResult)) that was delivered, or that
    /// failed with [`MessageError::NoValidRecipients`](super::MessageError::NoValidRecipients)
    /// (the server refused every recipient sent, while others were held back or refused as
    /// too many: they were not tried yet). After another failure the whole message failed;
    /// what to do with it is the caller's call.
    ///
    /// Returns the envelope (same sender, parameters and XEXCH50 blob, only those
    /// recipients, in order) and, for each of its recipients, its index in `self`. `None`
    /// when there is nothing to retry, or when no recipient got another answer (accepted,
    /// or refused for another reason) in this transaction: retrying then would make no
    /// progress. Otherwise the new envelope is smaller than the one of `statuses`, so a
    /// caller that retries until `None` ends.
    ///
    /// ```
    /// use ehlo::client::{Envelope, RecipientStatus};
    /// use ehlo::{EnhancedCode, Reply};
    ///
    /// let env = Envelope::new("a@example.test")?
    ///     .recipient("b@example.test")?
    ///     .recipient("c@example.test")?;
    /// let statuses = [
    ///     RecipientStatus { index: 0, reply: Some(Reply::new(250, None, "OK")) },
    ///     RecipientStatus {
    ///         index: 1,
    ///         reply: Some(Reply::new(452, Some(EnhancedCode::new(4, 5, 3)), "Too many recipients")),
    ///     },
    /// ];
    /// let (again, indices) = env.deferred(&statuses).unwrap();
    /// assert_eq!(again.recipients, env.recipients[1..]);
    /// assert_eq!(indices, [1]);
    /// # Ok::<(), ehlo::syntax::PathError>(())
    /// ```
    #[must_use]
    pub fn deferred(&self, statuses: &[RecipientStatus]) -> Option<(Envelope, Vec<usize>)> {
        // Progress: some recipient was answered for good (accepted or refused otherwise).
        if !statuses
            .iter()
            .any(|s| s.reply.as_ref().is_some_and(|r| !too_many_recipients(r)))
        {
            return None;
        }
        let indices: Vec<usize> = statuses
            .iter()
            .filter(|s| s.reply.as_ref().is_some_and(too_many_recipients))
            .map(|s| s.index)
            .filter(|&i| i < self.recipients.len())
            .collect();
        if indices.is_empty() {
            return None;
        }
        let envelope = Envelope {
            recipients: indices
                .iter()
                .map(|&i| self.recipients[i].clone())
                .collect(),
            from: self.from.clone(),
            smtputf8: self.smtputf8,
            requiretls: self.requiretls,
            ret: self.ret,
            envid: self.envid.clone(),
            xexch50: self.xexch50.clone(),
            exchange: self.exchange.clone(),
        };
        Some((envelope, indices))
    }

    /// Whether the message needs SMTPUTF8: the flag, or a non-ASCII address.
    pub fn needs_smtputf8(&self) -> bool {
        if self.smtputf8 {
            return true;
        }
        let from = match &self.from {
            ReversePath::Null => false,
            ReversePath::Mailbox(m) => !mailbox_is_ascii(m),
        };
        from || self.recipients.iter().any(|r| match &r.path {
            ForwardPath::Postmaster => false,
            ForwardPath::Mailbox(m) => !mailbox_is_ascii(m),
        })
    }
}

fn mailbox_is_ascii(m: &Mailbox<'_>) -> bool {
    use crate::syntax::path::{AddressLiteral, Host, LocalPart};
    let local = match &m.local_part {
        LocalPart::DotString(s) | LocalPart::Quoted(s) => s.is_ascii(),
    };
    let host = match &m.host {
        Host::Domain(d) => d.0.is_ascii(),
        Host::Literal(AddressLiteral::General { tag, content }) => {
            tag.is_ascii() && content.is_ascii()
        }
        Host::Literal(_) => true,
    };
    local && host
}

/// What a body needs from the transport, from most to least portable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BodyType {
    /// CRLF-terminated lines of at most 998 octets, every octet 1..=127: goes anywhere.
    SevenBit,
    /// Like `SevenBit` but with octets above 127: needs 8BITMIME (RFC 6152) or
    /// BINARYMIME.
    EightBit,
    /// NUL octets, a bare CR or LF, or lines over 998 octets: only BDAT with BINARYMIME
    /// (RFC 3030) carries it unchanged. DATA would corrupt it (Exchange refuses bare line
    /// feeds with `550 5.6.11` for the same reason).
    Binary,
}

impl BodyType {
    /// Classifies a whole body.
    ///
    /// ```
    /// use ehlo::client::BodyType;
    /// assert_eq!(BodyType::of(b"Subject: hi\r\n\r\nhello\r\n"), BodyType::SevenBit);
    /// assert_eq!(BodyType::of("caf\u{e9}\r\n".as_bytes()), BodyType::EightBit);
    /// assert_eq!(BodyType::of(b"bare\nline feed"), BodyType::Binary);
    /// ```
    pub fn of(body: &[u8]) -> BodyType {
        let mut s = BodyScanner::default();
        s.scan(body);
        s.body_type()
    }
}

/// Incremental body classification across chunks (bare CR at a chunk end, line lengths).
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyScanner {
    seen: Option<BodyType>,
    /// Octets on the current line so far (without CR/LF).
    line: usize,
    /// The previous chunk ended in a CR.
    pending_cr: bool,
}

/// Longest line content allowed on a text line (RFC 5321 4.5.3.1.6: 1000 with CRLF).
const MAX_LINE_CONTENT: usize = crate::limits::MAX_TEXT_LINE - 2;

/// The line state after `rest`, text whose line ends are paired (every CR followed by LF,
/// every LF after a CR; a last CR waits for the next chunk), when no line content goes
/// beyond [`MAX_LINE_CONTENT`], counting the `line` octets already on the current line:
/// the octets then on the current line and whether `rest` ends in a CR, the state the
/// exact walk of [`BodyScanner::scan`] reaches. `None` for a line too long (the walk then
/// decides). Whole runs of lines go by at once: in a window of one line's room, only the
/// last CR matters.
fn plain_text_lines(rest: &[u8], line: usize) -> Option<(usize, bool)> {
    let n = rest.len();
    let (mut start, mut carried) = (0, line);
    loop {
        let room = MAX_LINE_CONTENT.checked_sub(carried)?;
        let end = n.min(start + room + 1);
        match memchr::memrchr(b'\r', rest.get(start..end)?) {
            Some(off) => {
                let cr = start + off;
                if cr + 1 == n {
                    return Some((0, true));
                }
                // Paired: an LF follows.
                start = cr + 2;
                carried = 0;
                if start == n {
                    return Some((0, false));
                }
            }
            None if end == n => {
                let line = carried + (n - start);
                return (line <= MAX_LINE_CONTENT).then_some((line, false));
            }
            None => return None,
        }
    }
}

impl BodyScanner {
    pub(crate) fn scan(&mut self, chunk: &[u8]) {
        self.scan_with(chunk, true);
    }

    /// [`BodyScanner::scan`]; `fast`: runs of plain text lines go by at once
    /// ([`plain_text_lines`]), else the exact walk alone (the reference of the tests).
    fn scan_with(&mut self, chunk: &[u8], fast: bool) {
        if self.seen == Some(BodyType::Binary) {
            return;
        }
        let mut ty = self.seen.unwrap_or(BodyType::SevenBit);
        let mut pos = 0;
        if self.pending_cr {
            self.pending_cr = false;
            match chunk.first() {
                Some(b'\n') => pos = 1,
                Some(_) => ty = BodyType::Binary,
                None => {
                    self.pending_cr = true;
                }
            }
        }
        let rest = chunk.get(pos..).unwrap_or_default();
        if ty != BodyType::Binary {
            if memchr::memchr(0, rest).is_some() {
                ty = BodyType::Binary;
            } else if ty == BodyType::SevenBit && !rest.is_ascii() {
                ty = BodyType::EightBit;
            }
        }
        // Text whose line ends are all paired: only its line lengths need a look.
        if fast
            && ty != BodyType::Binary
            && rest.first().is_some_and(|&b| b != b'\n')
            && crate::data::scan::crlf_paired(rest)
        {
            if let Some((line, pending_cr)) = plain_text_lines(rest, self.line) {
                self.line = line;
                self.pending_cr = pending_cr;
                self.seen = Some(ty);
                return;
            }
        }
        if ty != BodyType::Binary {
            let mut p = 0;
            loop {
                let window = rest.get(p..).unwrap_or_default();
                let Some(off) = memchr::memchr2(b'\r', b'\n', window) else {
                    self.line = self.line.saturating_add(window.len());
                    if self.line > MAX_LINE_CONTENT {
                        ty = BodyType::Binary;
                    }
                    break;
                };
                self.line = self.line.saturating_add(off);
                if self.line > MAX_LINE_CONTENT {
                    ty = BodyType::Binary;
                    break;
                }
                let i = p + off;
                if rest.get(i) == Some(&b'\n') {
                    // A LF without its CR: bare LF.
                    ty = BodyType::Binary;
                    break;
                }
                // A CR: the next octet must be LF.
                match rest.get(i + 1) {
                    Some(b'\n') => {
                        self.line = 0;
                        p = i + 2;
                    }
                    Some(_) => {
                        ty = BodyType::Binary;
                        break;
                    }
                    None => {
                        self.line = 0;
                        self.pending_cr = true;
                        break;
                    }
                }
            }
        }
        self.seen = Some(ty);
    }

    pub(crate) fn seen_so_far(&self) -> BodyType {
        self.seen.unwrap_or(BodyType::SevenBit)
    }

    pub(crate) fn body_type(&self) -> BodyType {
        match self.seen {
            Some(BodyType::Binary) => BodyType::Binary,
            // A CR at the very end with nothing after it is a bare CR.
            _ if self.pending_cr => BodyType::Binary,
            Some(t) => t,
            None => BodyType::SevenBit,
        }
    }
}

/// A message body: whole in memory, or streamed by the caller chunk by chunk.
///
/// [`Client::send`](super::Client::send) takes anything that converts into one: [`Bytes`],
/// `Vec<u8>` and `String` are taken over without a copy; a borrowed `&str`, `&[u8]` or
/// `&[u8; N]` is copied, so a body borrowed from a local `String` works; and
/// [`Body::from_static`] / [`Body::from_static_str`] borrow static data without a copy.
///
/// A streamed body, pushed piece by piece as the client asks for it:
///
/// ```
/// use ehlo::bytes::Bytes;
/// use ehlo::client::{Body, BodyType, Client, ClientConfig, Envelope, Event, TlsPolicy};
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut config = ClientConfig::new("client.example.test");
/// config.tls = TlsPolicy::Never;
/// let mut client = Client::new(config, now);
/// let envelope = Envelope::new("a@example.test")?.recipient("b@example.test")?;
/// let body = Body::Stream { body_type: BodyType::SevenBit, size: None };
/// let id = client.send(envelope, body).unwrap();
/// client.receive(b"220 mx.example.test ESMTP\r\n");
/// while client.poll_transmit(now).is_some() {} // EHLO
/// client.receive(b"250-mx.example.test\r\n250 PIPELINING\r\n");
/// while client.poll_transmit(now).is_some() {} // MAIL, RCPT, DATA
/// client.receive(b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 Go ahead\r\n");
///
/// // Read from a file or a socket in a real program.
/// let mut pieces = [&b"Subject: hi\r\n\r\n"[..], b".a leading dot\r\n"].into_iter();
/// let mut wire = Vec::new();
/// loop {
///     let mut progress = false;
///     while let Some(event) = client.poll_event() {
///         if event == Event::BodyNeeded(id) {
///             match pieces.next() {
///                 Some(piece) => client.push_body(id, Bytes::from_static(piece)).unwrap(),
///                 None => client.finish_body(id).unwrap(),
///             }
///             progress = true;
///         }
///     }
///     while let Some(bytes) = client.poll_transmit(now) {
///         wire.extend_from_slice(&bytes);
///         progress = true;
///     }
///     if !progress {
///         break;
///     }
/// }
/// // Dot-stuffed across pieces, and ended.
/// assert_eq!(wire, b"Subject: hi\r\n\r\n..a leading dot\r\n.\r\n");
/// # Ok::<(), ehlo::syntax::PathError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body {
    /// The whole body. The client classifies it and cuts BDAT chunks from it without
    /// copying.
    Bytes(Bytes),
    /// The caller supplies the body on [`Event::BodyNeeded`](super::Event::BodyNeeded)
    /// with [`Client::push_body`](super::Client::push_body) and
    /// [`Client::finish_body`](super::Client::finish_body), so a large message never sits in
    /// memory whole. The declared type and size decide the MAIL parameters; a chunk that
    /// breaks the declaration aborts the message (never corrupts it).
    Stream {
        /// What the body needs (see [`BodyType`]).
        body_type: BodyType,
        /// Its size in octets if known (for the `SIZE=` parameter, RFC 1870): the size as
        /// sent, which over DATA counts the CRLFs the encoder adds
        /// ([`DataEncoder::content_size`](crate::data::DataEncoder::content_size) gives it
        /// for a body at hand; over BDAT, used when the server offers CHUNKING, the octets
        /// are sent as pushed). The client refuses a message whose declared size passes the
        /// server's limit; the server enforces its limit on what arrives. `None` sends no
        /// `SIZE=` (the parameter is optional, RFC 1870 section 6) and skips the check: the
        /// client does not count the pieces against the server's limit.
        size: Option<u64>,
    },
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::Bytes(b)
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Body::Bytes(Bytes::from(b))
    }
}

impl From<String> for Body {
    fn from(b: String) -> Self {
        Body::Bytes(Bytes::from(b))
    }
}

impl Body {
    /// A body that borrows static octets without copying them (`Body::from(&[u8])` copies,
    /// so that any borrowed slice converts).
    ///
    /// ```
    /// use ehlo::client::Body;
    /// const HELLO: Body = Body::from_static(b"Subject: hi\r\n\r\nHello\r\n");
    /// assert_eq!(HELLO, Body::from("Subject: hi\r\n\r\nHello\r\n"));
    /// ```
    pub const fn from_static(body: &'static [u8]) -> Body {
        Body::Bytes(Bytes::from_static(body))
    }

    /// [`Body::from_static`] for a string literal: no copy (`Body::from(&str)` copies).
    pub const fn from_static_str(body: &'static str) -> Body {
        Body::from_static(body.as_bytes())
    }
}

impl From<&[u8]> for Body {
    /// Copies the octets, so the body outlives the borrow (use [`Body::from_static`] to
    /// avoid the copy for static data, or pass [`Bytes`] to share a buffer).
    fn from(b: &[u8]) -> Self {
        Body::Bytes(Bytes::copy_from_slice(b))
    }
}

impl<const N: usize> From<&[u8; N]> for Body {
    /// A byte string, copied: `client.send(envelope, b"Subject: hi\r\n\r\nHello\r\n")`.
    fn from(b: &[u8; N]) -> Self {
        Body::from(&b[..])
    }
}

impl From<&str> for Body {
    /// Copies the text, so a borrowed `String` converts:
    /// `client.send(envelope, text.as_str())`. [`Body::from_static_str`] avoids the copy
    /// for a literal.
    fn from(b: &str) -> Self {
        Body::from(b.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(index: usize, code: u16, enhanced: Option<(u8, u16, u16)>) -> RecipientStatus {
        RecipientStatus {
            index,
            reply: Some(Reply::new(
                code,
                enhanced.map(|(c, s, d)| EnhancedCode::new(c, s, d)),
                "text",
            )),
        }
    }

    #[test]
    fn body_from_byte_string_literal() {
        assert_eq!(
            Body::from(b"hi\r\n"),
            Body::Bytes(Bytes::from_static(b"hi\r\n"))
        );
        assert_eq!(Body::from(b"hi\r\n"), Body::from("hi\r\n"));
    }

    #[test]
    fn body_from_borrowed_text_copies_it() {
        let text = String::from("Subject: hi\r\n\r\nHello\r\n");
        let body = Body::from(text.as_str());
        let bytes = text.clone().into_bytes();
        let from_slice = Body::from(bytes.as_slice());
        drop(text);
        assert_eq!(body, Body::from(b"Subject: hi\r\n\r\nHello\r\n"));
        assert_eq!(from_slice, body);
    }

    #[test]
    fn body_from_static_borrows_without_copying() {
        static TEXT: &str = "Subject: hi\r\n\r\nHello\r\n";
        let Body::Bytes(b) = Body::from_static_str(TEXT) else {
            panic!("not Bytes")
        };
        assert_eq!(b.as_ptr(), TEXT.as_ptr());
        let Body::Bytes(b) = Body::from_static(TEXT.as_bytes()) else {
            panic!("not Bytes")
        };
        assert_eq!(b.as_ptr(), TEXT.as_ptr());
        // A conversion from a borrow copies, even from static data.
        let Body::Bytes(b) = Body::from(TEXT) else {
            panic!("not Bytes")
        };
        assert_ne!(b.as_ptr(), TEXT.as_ptr());
        assert_eq!(b, TEXT.as_bytes());
    }

    #[test]
    fn deferred_picks_the_too_many_recipients_refusals() {
        let mut env = Envelope::new("a@example.test").unwrap();
        env.requiretls = true;
        env.envid = Some("id-1".into());
        for i in 0..8 {
            env.add_recipient(&format!("r{i}@example.test")).unwrap();
        }
        env.recipients[4].notify = Some(Notify {
            never: true,
            ..Notify::default()
        });
        let statuses = [
            status(0, 250, Some((2, 1, 5))),
            status(1, 452, Some((4, 5, 3))), // too many recipients
            status(2, 452, None),            // the same without enhanced codes
            status(3, 550, Some((5, 1, 1))), // a real refusal
            status(4, 552, Some((5, 5, 3))), // RFC 821's code for the same
            status(5, 452, Some((4, 3, 1))), // out of storage: not this case
            status(6, 552, Some((5, 3, 4))), // message too big: not this case
            RecipientStatus {
                index: 7,
                reply: None,
            },
        ];
        let (again, indices) = env.deferred(&statuses).unwrap();
        assert_eq!(indices, [1, 2, 4]);
        assert_eq!(
            again.recipients,
            [
                env.recipients[1].clone(),
                env.recipients[2].clone(),
                env.recipients[4].clone()
            ]
        );
        assert_eq!(again.from, env.from);
        assert!(again.requiretls);
        assert_eq!(again.envid.as_deref(), Some("id-1"));
    }

    #[test]
    fn deferred_needs_progress_and_something_to_retry() {
        let env = Envelope::new("a@example.test")
            .unwrap()
            .recipient("b@example.test")
            .unwrap()
            .recipient("c@example.test")
            .unwrap();
        // Nothing accepted: retrying would loop.
        assert!(env
            .deferred(&[status(0, 452, Some((4, 5, 3))), status(1, 452, None)])
            .is_none());
        // Nothing deferred.
        assert!(env
            .deferred(&[status(0, 250, None), status(1, 550, None)])
            .is_none());
        // An index outside the envelope is ignored.
        assert!(env
            .deferred(&[status(0, 250, None), status(9, 452, None)])
            .is_none());
        // Unanswered recipients are no progress either.
        assert!(env
            .deferred(&[
                RecipientStatus {
                    index: 0,
                    reply: None
                },
                status(1, 452, None)
            ])
            .is_none());
    }

    #[test]
    fn deferred_after_every_recipient_sent_was_refused() {
        // RCPTMAX=1: the first recipient was refused for good, the second held back by
        // the client; the message failed (no valid recipients), but the second is still to
        // be tried.
        let env = Envelope::new("a@example.test")
            .unwrap()
            .recipient("b@example.test")
            .unwrap()
            .recipient("c@example.test")
            .unwrap();
        let held = RecipientStatus {
            index: 1,
            reply: Some(Reply::new(
                452,
                Some(EnhancedCode::new(4, 5, 3)),
                RecipientStatus::HELD_BACK_TEXT,
            )),
        };
        assert!(held.held_back());
        assert!(!status(1, 452, Some((4, 5, 3))).held_back());
        let (again, indices) = env
            .deferred(&[status(0, 550, Some((5, 1, 1))), held])
            .unwrap();
        assert_eq!(indices, [1]);
        assert_eq!(again.recipients, env.recipients[1..]);
    }

    fn chunks(parts: &[&[u8]]) -> BodyType {
        let mut s = BodyScanner::default();
        for p in parts {
            s.scan(p);
        }
        s.body_type()
    }

    #[test]
    fn classification() {
        assert_eq!(BodyType::of(b""), BodyType::SevenBit);
        assert_eq!(BodyType::of(b"a\r\nb"), BodyType::SevenBit);
        assert_eq!(BodyType::of(b"a\rb"), BodyType::Binary);
        assert_eq!(BodyType::of(b"a\r"), BodyType::Binary);
        assert_eq!(BodyType::of(b"a\x00b\r\n"), BodyType::Binary);
        assert_eq!(BodyType::of(b"\xff\r\n"), BodyType::EightBit);
        let mut long = vec![b'a'; 998];
        long.extend_from_slice(b"\r\n");
        assert_eq!(BodyType::of(&long), BodyType::SevenBit);
        long.insert(0, b'a');
        assert_eq!(BodyType::of(&long), BodyType::Binary);
    }

    #[test]
    fn fast_scan_matches_the_exact_walk() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces: [&[u8]; 9] = [
            b"a",
            b"\r\n",
            b"\r",
            b"\n",
            b"\0",
            b"\xc3\xa9",
            b" ",
            b".",
            b"xyz",
        ];
        for round in 0..3000 {
            let mut body = Vec::new();
            let lines = next() % 12;
            for _ in 0..lines {
                // Line lengths around the limit, and short ones.
                let len = match next() % 4 {
                    0 => 990 + (next() % 20) as usize,
                    1 => (next() % 2100) as usize,
                    _ => (next() % 80) as usize,
                };
                body.resize(body.len() + len, b'a');
                if next() % 8 == 0 {
                    body.extend_from_slice(pieces[(next() % 9) as usize]);
                }
                body.extend_from_slice(b"\r\n");
            }
            if round % 2 == 0 {
                body.extend_from_slice(pieces[(next() % 9) as usize]);
            }
            let (mut fast, mut exact) = (BodyScanner::default(), BodyScanner::default());
            let mut at = 0;
            while at < body.len() || at == 0 {
                let take = match next() % 3 {
                    0 => body.len() - at,
                    1 => (next() % 3) as usize,
                    _ => (next() % 1500) as usize,
                }
                .min(body.len() - at);
                let chunk = &body[at..at + take];
                fast.scan_with(chunk, true);
                exact.scan_with(chunk, false);
                assert_eq!(
                    (fast.seen, fast.line, fast.pending_cr),
                    (exact.seen, exact.line, exact.pending_cr),
                    "round {round}, chunk at {at}"
                );
                at += take;
                if body.is_empty() {
                    break;
                }
            }
            assert_eq!(fast.body_type(), BodyType::of(&body));
        }
    }

    /// Lines at and around the 998-octet limit, cut at every octet near a line end or
    /// the limit: the fast scan and the exact walk agree after every piece.
    #[test]
    fn fast_scan_at_the_line_limit_across_cuts() {
        for first in 996..=999usize {
            for second in [0usize, 1, 998, 999] {
                for tail in [&b""[..], b"\r", b"\r\n", b"x", b"\n"] {
                    let mut body = b"\r\n".to_vec();
                    body.resize(body.len() + first, b'a');
                    body.extend_from_slice(b"\r\n");
                    body.resize(body.len() + second, b'b');
                    body.extend_from_slice(tail);
                    let n = body.len();
                    let near = |i: usize| i < 4 || i + 4 > n || (first..first + 6).contains(&i);
                    let cuts: Vec<usize> = (0..=n).filter(|&i| near(i)).collect();
                    for &c1 in &cuts {
                        for &c2 in cuts.iter().filter(|&&c| c >= c1) {
                            let (mut fast, mut exact) =
                                (BodyScanner::default(), BodyScanner::default());
                            for piece in [&body[..c1], &body[c1..c2], &body[c2..]] {
                                fast.scan_with(piece, true);
                                exact.scan_with(piece, false);
                                assert_eq!(
                                    (fast.seen, fast.line, fast.pending_cr),
                                    (exact.seen, exact.line, exact.pending_cr),
                                    "{first} {second} {tail:?}, cut at {c1} and {c2}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn across_chunks() {
        assert_eq!(chunks(&[b"a\r", b"\nb"]), BodyType::SevenBit);
        assert_eq!(chunks(&[b"a\r", b"b"]), BodyType::Binary);
        assert_eq!(chunks(&[b"a\r", b"", b"\n"]), BodyType::SevenBit);
        assert_eq!(chunks(&[&[b'a'; 500], &[b'a'; 499]]), BodyType::Binary);
        assert_eq!(
            chunks(&[&[b'a'; 500], &[b'a'; 498], b"\r\n"]),
            BodyType::SevenBit
        );
        assert_eq!(chunks(&[b"x\r\n", b"\xc3\xa9"]), BodyType::EightBit);
    }
}
