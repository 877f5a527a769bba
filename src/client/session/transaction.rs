//! Mail transactions: checking a queued message against what the server offers and
//! planning it before anything is sent (SIZE, RFC 1870; DSN, RFC 3461; SMTPUTF8;
//! REQUIRETLS), then sending MAIL, RCPT, XEXCH50 and DATA or BDAT, in PIPELINING flights up
//! to each sync point (RFC 2920 3.1) or one at a time, acting on their replies, and
//! reporting the result, with RSET after a failed transaction (RFC 5321 4.1.1.5).

use super::body::{BodyPhase, Source};
use super::outcome::held_back_reply;
use super::{
    clean_line, is_positive, reserve_out, Client, Event, Expect, MessageId, RecipientStatus,
};
use crate::client::envelope::{Body, BodyScanner, BodyType, Envelope};
use crate::client::error::{Extension, MessageError};
use crate::data::{DataEncoder, EncoderConfig};
use crate::syntax::capability::Capability;
use crate::syntax::command::{put_mail_line, put_rcpt_line, Command};
use crate::syntax::param::{self, MailParams, RcptParams};
use crate::syntax::reply::Reply;
use crate::syntax::xtext::XText;
use crate::syntax::ParseOptions;
use std::borrow::Cow;

/// Whether `line`, a MAIL or RCPT line just written from the envelope, reads back as the
/// command it was written from (`same`). A line written from [`Envelope::new`] and
/// [`Envelope::recipient`] paths and the client's own parameters always does; paths and
/// values built by hand from the public types may not: a local part with a `>` and a space
/// would end the path early, and a space in an Exchange parameter's `XText` would end the
/// value, each putting the caller's text on the line as parameters; an empty value is a
/// malformed parameter (RFC 5321 4.1.2: `esmtp-value = 1*(...)`) the server would refuse
/// with the whole command; and UTF-8 outside an SMTPUTF8 transaction (`smtputf8`) is what
/// the server refuses (RFC 6531 3.3). Read back leniently and with no length limit, as
/// [`Command::encode_checked`] does; parsing borrows, so a usual line allocates nothing.
fn reads_back(line: &[u8], smtputf8: bool, same: impl FnOnce(&Command<'_>) -> bool) -> bool {
    let opts = ParseOptions {
        utf8: smtputf8,
        max_line: usize::MAX,
        ..ParseOptions::default()
    };
    crate::syntax::command::parse_command(line, &opts).is_ok_and(|c| same(&c))
}

/// A buffer of MAIL and RCPT lines up to this size is kept for the next transaction.
const MAX_SPARE_LINES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxStep {
    Mail,
    Rcpt(usize),
    Xexch50,
    Data,
    Bdat,
}

#[derive(Debug)]
pub(super) struct Queued {
    pub(super) id: MessageId,
    pub(super) envelope: Envelope,
    pub(super) body: Body,
}

#[derive(Debug)]
pub(super) struct Txn {
    pub(super) id: MessageId,
    /// The caller's envelope, read to plan and send the transaction, and given back
    /// unchanged with the [`Event::MessageResult`].
    pub(super) envelope: Envelope,
    pub(super) source: Source,
    pub(super) use_bdat: bool,
    /// The XEXCH50 blob goes out after the recipients.
    xexch50: bool,
    /// The MAIL line, then the RCPT line of every recipient sent, in order: encoded and
    /// checked when the transaction was planned, in one buffer.
    lines: Vec<u8>,
    /// Where the next line to send starts in `lines`.
    line_pos: usize,
    /// The next step to take (`None`: nothing more to send but the body). Recipients are
    /// sent in order, those whose slot in `rcpt` is empty when planned (the others are held
    /// back), so the steps need no list of their own.
    next: Option<TxStep>,
    /// One status per recipient of the envelope: the server's reply, or the client's
    /// `452 4.5.3` for a recipient held back under the server's LIMITS. It becomes the
    /// recipients of the [`Event::MessageResult`] as it is.
    pub(super) rcpt: Vec<RecipientStatus>,
    /// How many recipients this transaction sends (the others are held back).
    sent: usize,
    answered: usize,
    accepted: usize,
    pub(super) failed: Option<MessageError>,
    pub(super) delivered: Option<Reply>,
    barrier: bool,
    pub(super) phase: BodyPhase,
    pub(super) encoder: Option<DataEncoder>,
}

/// What checking a message against the server decided ([`Client::plan`]).
#[derive(Debug)]
struct Plan {
    use_bdat: bool,
    xexch50: bool,
    rcpt: Vec<RecipientStatus>,
    sent: usize,
}

impl Txn {
    /// The transaction of a message `plan` accepted, with its MAIL and RCPT `lines`.
    fn new(q: Queued, lines: Vec<u8>, plan: Plan) -> Txn {
        let source = match q.body {
            Body::Bytes(data) => Source::Whole { data, offset: 0 },
            Body::Stream { body_type, .. } => Source::Stream {
                declared: body_type,
                scanner: BodyScanner::default(),
                requested: false,
                held: None,
            },
        };
        Txn {
            id: q.id,
            envelope: q.envelope,
            source,
            use_bdat: plan.use_bdat,
            xexch50: plan.xexch50,
            lines,
            line_pos: 0,
            next: Some(TxStep::Mail),
            rcpt: plan.rcpt,
            sent: plan.sent,
            answered: 0,
            accepted: 0,
            failed: None,
            delivered: None,
            barrier: false,
            phase: BodyPhase::Pending,
            encoder: None,
        }
    }
}

impl Client {
    pub(super) fn pipelining(&self) -> bool {
        self.config.pipelining && self.esmtp && self.has(&Capability::Pipelining)
    }

    /// Checks the message against the server and builds the transaction, or reports the
    /// refusal before anything is sent (with the envelope, as every result).
    pub(super) fn start_txn(&mut self, q: Queued) {
        let mut lines = std::mem::take(&mut self.spare_lines);
        let planned = self
            .plan(&q, &mut lines)
            .and_then(|plan| match self.limits().mail_max {
                // RFC 9422 section 4.1: no more transactions than MAILMAX in the session.
                Some(limit) if self.transactions >= limit => {
                    Err(MessageError::TransactionLimit { limit })
                }
                _ => Ok(plan),
            });
        match planned {
            Ok(plan) => {
                let txn = Txn::new(q, lines, plan);
                // Recipients held back under RCPTMAX / RCPTDOMAINMAX: reported now, as a
                // server's `452` to them would be.
                for status in &txn.rcpt {
                    if let Some(reply) = &status.reply {
                        self.events.push_back(Event::RecipientResult {
                            message: txn.id,
                            index: status.index,
                            accepted: false,
                            reply: reply.clone(),
                        });
                    }
                }
                self.txn = Some(txn);
            }
            Err(err) => {
                if lines.capacity() <= MAX_SPARE_LINES {
                    self.spare_lines = lines;
                }
                let recipients = (0..q.envelope.recipients.len())
                    .map(|index| RecipientStatus { index, reply: None })
                    .collect();
                self.events.push_back(Event::MessageResult {
                    message: q.id,
                    result: Err(err),
                    recipients,
                    envelope: q.envelope,
                });
            }
        }
    }

    /// Checks the message against the server and what it needs from it, and writes its
    /// MAIL and RCPT lines into `lines`; nothing is taken from `q`, so a refused message
    /// keeps its envelope for its result.
    fn plan(&self, q: &Queued, lines: &mut Vec<u8>) -> Result<Plan, MessageError> {
        let env = &q.envelope;
        if env.recipients.is_empty() {
            return Err(MessageError::NoRecipients);
        }
        let chunking = self.config.chunking && self.esmtp && self.has(&Capability::Chunking);
        let binarymime = chunking && self.has(&Capability::BinaryMime);
        let eightbit = self.esmtp && self.has(&Capability::EightBitMime);
        let (body_type, size) = match &q.body {
            // RFC 1870 5: the size as sent. BDAT sends the octets as they are. DATA only
            // carries text bodies (a bare CR or LF makes a body `Binary`, which needs BDAT
            // and is refused below otherwise), whose line ends are all CRLF already: the
            // encoder adds at most a final CRLF, so no second scan of the body is needed.
            Body::Bytes(b) => {
                let ends_line = b.is_empty() || b.ends_with(b"\r\n");
                let added = if chunking || ends_line { 0 } else { 2 };
                (BodyType::of(b), Some(b.len() as u64 + added))
            }
            Body::Stream { body_type, size } => (*body_type, *size),
        };
        let mut params = MailParams::default();
        match body_type {
            BodyType::SevenBit => {}
            BodyType::EightBit => {
                if eightbit {
                    params.body = Some(param::Body::EightBitMime);
                } else if binarymime {
                    params.body = Some(param::Body::BinaryMime);
                } else {
                    return Err(MessageError::Unsupported(Extension::EightBitMime));
                }
            }
            BodyType::Binary => {
                if binarymime {
                    params.body = Some(param::Body::BinaryMime);
                } else {
                    return Err(MessageError::Unsupported(Extension::BinaryMime));
                }
            }
        }
        if env.needs_smtputf8() {
            if !(self.esmtp && self.has(&Capability::SmtpUtf8)) {
                return Err(MessageError::Unsupported(Extension::SmtpUtf8));
            }
            params.smtputf8 = true;
        }
        if env.requiretls {
            if !(self.tls_active && self.has(&Capability::RequireTls)) {
                return Err(MessageError::Unsupported(Extension::RequireTls));
            }
            params.requiretls = true;
        }
        if let Some(Some(limit)) = self
            .caps
            .as_ref()
            .and_then(|c| c.size())
            .filter(|_| self.esmtp)
        {
            if let Some(size) = size {
                if limit > 0 && size > limit {
                    return Err(MessageError::TooLarge { size, limit });
                }
            }
        }
        if self.esmtp && self.has(&Capability::Size(None)) {
            params.size = size;
        }
        let dsn = self.esmtp && self.has(&Capability::Dsn);
        if dsn {
            // RFC 3461 4.4: an ENVID of at most 100 characters (before xtext encoding),
            // "printable (graphic and white space) characters from the US-ASCII
            // repertoire"; and not empty: RFC 5321 4.1.2 has `esmtp-value =
            // 1*(%d33-60 / %d62-126)`, so `ENVID=` without a value is a malformed
            // parameter the server refuses with the whole MAIL.
            let printable = |e: &str| e.bytes().all(|b| b == b'\t' || (0x20..=0x7e).contains(&b));
            if env.envid.as_ref().is_some_and(|e| {
                e.is_empty() || e.len() > crate::limits::MAX_ENVID || !printable(e)
            }) {
                return Err(MessageError::InvalidEnvelope);
            }
            params.ret = env.ret;
            params.envid = env.envid.as_ref().map(|e| XText::encode(e.as_bytes()));
        }
        let xexch50 = match &env.xexch50 {
            // An empty blob carries nothing: XEXCH50 is not sent (the server's 354 and final
            // reply would arrive back to back for a zero-octet chunk).
            Some(x) if x.blob.is_empty() => false,
            Some(x) if self.esmtp && self.has(&Capability::XExch50) => {
                if x.blob.len() as u64 > crate::limits::MAX_XEXCH50_BLOB {
                    return Err(MessageError::Xexch50TooLarge);
                }
                true
            }
            _ => false,
        };
        // Encode MAIL and every RCPT now: a CR, LF or NUL inside a line (from a hand-built
        // ORCPT, say) would inject commands, so such an envelope is refused here.
        params.exchange = self.exchange_mail_params(&env.exchange).into();
        let smtputf8 = params.smtputf8;
        // One slot per recipient: empty for those this transaction sends, the client's
        // `452 4.5.3` for those held back under the server's LIMITS.
        let mut rcpt: Vec<RecipientStatus> = (0..env.recipients.len())
            .map(|index| RecipientStatus {
                index,
                reply: Some(held_back_reply()),
            })
            .collect();
        let sent = self.limits().batch_with(&env.recipients, |i| {
            if let Some(slot) = rcpt.get_mut(i) {
                slot.reply = None;
            }
        });
        // Every line goes into one buffer (the paths are written from the envelope, not
        // copied into commands).
        lines.clear();
        lines.reserve(64 + 48 * sent);
        put_mail_line(lines, &env.from, &params);
        let mail_ok = |c: &Command<'_>| matches!(c, Command::Mail { from, params: p } if *from == env.from && *p == params);
        if !clean_line(lines) || !reads_back(lines, smtputf8, mail_ok) {
            return Err(MessageError::InvalidEnvelope);
        }
        for (r, slot) in env.recipients.iter().zip(&rcpt) {
            // RFC 3461 4.2: an ORCPT address of at most 500 characters of printable
            // US-ASCII (before xtext), and an addr-type that is an atom (a space or `;`
            // there would smuggle text, or another parameter, onto the RCPT line). RFC 3461
            // 4.1: NOTIFY is NEVER alone, or a non-empty list of SUCCESS, FAILURE and DELAY.
            let orcpt_len = |o: &param::Orcpt<'_>| o.addr.decode().map_or(usize::MAX, |a| a.len());
            // RFC 6533 section 3: UTF-8 as itself only in the `utf-8` address type, in an
            // SMTPUTF8 transaction; elsewhere the address is ASCII xtext (RFC 3461 4). The
            // `utf-8` type holds non-ASCII text, never a control character.
            let orcpt_ok = |o: &param::Orcpt<'_>| {
                let utf8_type = o.addr_type.eq_ignore_ascii_case("utf-8");
                !o.addr_type.is_empty()
                    && o.addr_type.bytes().all(crate::syntax::path::is_atext)
                    && orcpt_len(o) <= crate::limits::MAX_ORCPT
                    && (o.addr.as_str().is_ascii() || (smtputf8 && utf8_type))
                    && crate::syntax::xtext::decodes_to_printable(
                        o.addr.as_str().as_bytes(),
                        utf8_type,
                    )
            };
            let notify_ok = |n: &param::Notify| {
                let others = n.success || n.failure || n.delay;
                if n.never {
                    !others
                } else {
                    others
                }
            };
            if dsn
                && (r.orcpt.as_ref().is_some_and(|o| !orcpt_ok(o))
                    || r.notify.as_ref().is_some_and(|n| !notify_ok(n)))
            {
                return Err(MessageError::InvalidEnvelope);
            }
            let mut params = if dsn {
                RcptParams {
                    notify: r.notify,
                    orcpt: r.orcpt.as_ref().map(|o| param::Orcpt {
                        addr_type: Cow::Borrowed(&*o.addr_type),
                        addr: XText(Cow::Borrowed(&*o.addr.0)),
                    }),
                    ..RcptParams::default()
                }
            } else {
                RcptParams::default()
            };
            params.exchange = self.exchange_rcpt_params(&r.exchange);
            let start = lines.len();
            put_rcpt_line(lines, &r.path, &params);
            let rcpt_ok = |c: &Command<'_>| matches!(c, Command::Rcpt { to, params: p } if *to == r.path && *p == params);
            if !lines
                .get(start..)
                .is_some_and(|l| clean_line(l) && reads_back(l, smtputf8, rcpt_ok))
            {
                return Err(MessageError::InvalidEnvelope);
            }
            if slot.reply.is_some() {
                // Held back: checked like the others, sent in another transaction.
                lines.truncate(start);
            }
        }
        Ok(Plan {
            use_bdat: chunking,
            xexch50,
            rcpt,
            sent,
        })
    }

    /// Sends what the transaction may send now: everything up to the next sync point
    /// with PIPELINING (RFC 2920 3.1), one command at a time without.
    pub(super) fn pump(&mut self) {
        let pipelining = self.pipelining();
        loop {
            let expects_empty = self.expects.is_empty();
            let Some(txn) = self.txn.as_mut() else { return };
            if txn.failed.is_some() {
                txn.next = None;
                return;
            }
            if txn.barrier || !(pipelining || expects_empty) {
                return;
            }
            let Some(step) = txn.next else {
                return;
            };
            let all_answered = txn.answered == txn.sent;
            if matches!(step, TxStep::Xexch50 | TxStep::Data | TxStep::Bdat)
                && all_answered
                && txn.accepted == 0
            {
                set_failed(txn, MessageError::NoValidRecipients);
                txn.next = None;
                return;
            }
            txn.next = step_after(txn, step);
            match step {
                TxStep::Mail | TxStep::Rcpt(_) => {
                    // The next line in `lines` (MAIL, then the RCPTs sent, in order).
                    let rest = txn.lines.get(txn.line_pos..).unwrap_or_default();
                    let len = memchr::memchr(b'\n', rest).map_or(rest.len(), |p| p + 1);
                    let line = rest.get(..len).unwrap_or_default();
                    reserve_out(&mut self.out, line.len());
                    self.out.extend_from_slice(line);
                    txn.line_pos = txn.line_pos.saturating_add(len);
                    if let TxStep::Rcpt(i) = step {
                        self.expect(Expect::Rcpt(i));
                    } else {
                        self.transactions = self.transactions.saturating_add(1);
                        self.expect(Expect::Mail);
                    }
                }
                TxStep::Xexch50 => {
                    let (size, mode) = txn
                        .envelope
                        .xexch50
                        .as_ref()
                        .map(|x| (x.blob.len() as u64, x.mode))
                        .unwrap_or((0, 2));
                    txn.barrier = true;
                    self.command(&Command::XExch50 { size, mode }, Expect::Xexch50);
                }
                TxStep::Data => {
                    txn.barrier = true;
                    self.command(&Command::Data, Expect::Data);
                }
                TxStep::Bdat => {
                    txn.phase = BodyPhase::Active;
                }
            }
        }
    }

    pub(super) fn on_txn_reply(&mut self, expect: Expect, reply: Reply) {
        let Some(txn) = self.txn.as_mut() else {
            // A transaction reply with no transaction: only after an abort; ignore.
            return;
        };
        let ok = is_positive(&reply);
        match expect {
            Expect::Mail if !ok => set_failed(txn, MessageError::SenderRejected(reply)),
            Expect::Mail => {}
            Expect::Rcpt(i) => {
                if let Some(slot) = txn.rcpt.get_mut(i) {
                    slot.reply = Some(reply.clone());
                }
                txn.answered = txn.answered.saturating_add(1);
                if ok {
                    txn.accepted = txn.accepted.saturating_add(1);
                }
                let id = txn.id;
                if txn.answered == txn.sent && txn.accepted == 0 {
                    set_failed(txn, MessageError::NoValidRecipients);
                }
                self.events.push_back(Event::RecipientResult {
                    message: id,
                    index: i,
                    accepted: ok,
                    reply,
                });
            }
            Expect::Xexch50 => {
                if reply.code.0 == 354 {
                    let blob = txn
                        .envelope
                        .xexch50
                        .as_ref()
                        .map(|x| x.blob.clone())
                        .unwrap_or_default();
                    self.push_segment(blob);
                    self.expect(Expect::Xexch50Data);
                } else {
                    // Exchange goes on without the properties when XEXCH50 is refused.
                    txn.barrier = false;
                }
            }
            Expect::Xexch50Data => {
                txn.barrier = false;
            }
            Expect::Data => {
                if reply.code.0 == 354 {
                    if txn.failed.is_some() || txn.accepted == 0 {
                        // RFC 2920 3.1: DATA was accepted although nothing else was; end
                        // the (empty) content so the server answers and the session
                        // stays in sync. The server refuses it for lack of recipients.
                        set_failed(txn, MessageError::NoValidRecipients);
                        reserve_out(&mut self.out, 3);
                        self.out.extend_from_slice(b".\r\n");
                        self.expect(Expect::DataEnd);
                    } else {
                        txn.phase = BodyPhase::Active;
                        txn.encoder = Some(DataEncoder::new(EncoderConfig::default()));
                    }
                } else {
                    txn.barrier = false;
                    set_failed(txn, MessageError::Rejected(reply));
                }
            }
            Expect::DataEnd => {
                if ok && txn.failed.is_none() {
                    txn.delivered = Some(reply);
                } else {
                    set_failed(txn, MessageError::Rejected(reply));
                }
            }
            Expect::Bdat { last } => {
                if !ok {
                    set_failed(txn, MessageError::Rejected(reply));
                } else if last && txn.failed.is_none() {
                    txn.delivered = Some(reply);
                }
            }
            _ => {}
        }
        if self
            .txn
            .as_ref()
            .is_some_and(|t| t.use_bdat && t.failed.is_some())
        {
            self.withdraw_unsent_bdat();
        }
    }

    /// Emits the result once the transaction is over; returns whether it was.
    pub(super) fn maybe_finalize(&mut self) -> bool {
        let Some(txn) = self.txn.as_ref() else {
            return false;
        };
        let over = txn.delivered.is_some()
            || (txn.failed.is_some() && self.expects.is_empty() && txn.phase != BodyPhase::Active);
        if !over {
            return false;
        }
        let Some(txn) = self.txn.take() else {
            return false;
        };
        if txn.lines.capacity() <= MAX_SPARE_LINES {
            self.spare_lines = txn.lines;
        }
        let (recipients, envelope) = (txn.rcpt, txn.envelope);
        match (txn.delivered, txn.failed) {
            (Some(reply), None) => self.events.push_back(Event::MessageResult {
                message: txn.id,
                result: Ok(reply),
                recipients,
                envelope,
            }),
            (_, failed) => {
                let err = failed.unwrap_or(MessageError::NoValidRecipients);
                self.events.push_back(Event::MessageResult {
                    message: txn.id,
                    result: Err(err),
                    recipients,
                    envelope,
                });
                // RFC 5321 4.1.1.5: reset before the next transaction.
                self.command(&Command::Rset, Expect::Rset);
            }
        }
        true
    }
}

/// The step of a transaction after `step`: MAIL, the RCPT of each recipient whose slot
/// was empty when the transaction was planned (the others are held back; a recipient's
/// slot fills only once its RCPT was sent, so the slots after the current one are as
/// planned), XEXCH50 if the blob goes out, then DATA or BDAT.
fn step_after(txn: &Txn, step: TxStep) -> Option<TxStep> {
    let from = match step {
        TxStep::Mail => 0,
        TxStep::Rcpt(i) => i.saturating_add(1),
        TxStep::Xexch50 => usize::MAX,
        TxStep::Data | TxStep::Bdat => return None,
    };
    if let Some(off) = txn
        .rcpt
        .get(from..)
        .and_then(|slots| slots.iter().position(|s| s.reply.is_none()))
    {
        return Some(TxStep::Rcpt(from + off));
    }
    Some(if txn.xexch50 && step != TxStep::Xexch50 {
        TxStep::Xexch50
    } else if txn.use_bdat {
        TxStep::Bdat
    } else {
        TxStep::Data
    })
}

pub(super) fn set_failed(txn: &mut Txn, err: MessageError) {
    if txn.failed.is_none() {
        txn.failed = Some(err);
    }
    if txn.use_bdat && txn.phase == BodyPhase::Active {
        txn.phase = BodyPhase::Done;
        if let Source::Stream {
            held, requested, ..
        } = &mut txn.source
        {
            *held = None;
            *requested = false;
        }
    }
}
