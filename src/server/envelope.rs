//! The envelope of a mail transaction (RFC 5321 3.3): MAIL (4.1.1.2) and RCPT (4.1.1.3),
//! which parameters the session takes (those of the extensions it advertised, RFC 5321
//! 4.1.1.11), their values (DELIVERBY, RFC 2852 section 4; FUTURERELEASE, RFC 4865),
//! `AUTH=` from an unauthenticated client (RFC 4954 section 5), and the recipient and
//! recipient-domain limits (RFC 9422).

use super::commands::starts_with_ci;
use super::decision::Pending;
use super::{replies, AuthVerb, Event, Greeted, Server, Step};
use crate::syntax::capability::Capability;
use crate::syntax::param::{Body, MailParams, RcptParams};
use crate::syntax::path::{ForwardPath, ReversePath};

/// The envelope of a mail transaction as the server accepted it (RFC 5321 3.3: the
/// reverse-path of `MAIL`, then one forward-path per accepted `RCPT`), kept under
/// [`ServerConfig::record_envelope`](super::ServerConfig::record_envelope) and read with
/// [`Server::envelope`] (which has an example).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptedEnvelope {
    /// The reverse-path of the accepted `MAIL` (`<>` for a bounce).
    pub from: ReversePath<'static>,
    /// Its parameters, as [`Event::MailFrom`] gave them (`AUTH=<>` for a client that had
    /// not authenticated, RFC 4954 section 5).
    pub params: MailParams<'static>,
    /// The accepted recipients, in the order they were accepted.
    pub recipients: Vec<AcceptedRecipient>,
}

/// One accepted `RCPT` of an [`AcceptedEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptedRecipient {
    /// The forward-path.
    pub to: ForwardPath<'static>,
    /// Its parameters (NOTIFY and ORCPT for delivery reports, RFC 3461 4.1 and 4.2).
    pub params: RcptParams<'static>,
}

impl Server {
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
    pub(super) fn param_not_offered(&self, line: &[u8], e: &crate::syntax::CommandError) -> bool {
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

    pub(super) fn handle_mail(
        &mut self,
        line: &[u8],
        from: crate::syntax::path::ReversePath<'_>,
        params: MailParams<'_>,
    ) -> Step {
        let reply = if self.greeted == Greeted::No {
            replies::SEND_HELO_FIRST
        } else if self.txn.is_some() {
            replies::NESTED_MAIL
        } else if self.needs_auth() {
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
            self.mail_refused();
            return Step::Progress;
        } else if !params.smtputf8 && !line.is_ascii() {
            replies::NEED_SMTPUTF8
        } else {
            let mut pending = Pending::Mail {
                smtputf8: params.smtputf8,
                binarymime: params.body == Some(Body::BinaryMime),
                record: None,
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
            let (from, params) = (from.into_owned(), params.into_owned());
            if self.config.record_envelope {
                if let Pending::Mail { record, .. } = &mut pending {
                    *record = Some(Box::new(AcceptedEnvelope {
                        from: from.clone(),
                        params: params.clone(),
                        recipients: Vec::new(),
                    }));
                }
            }
            return self.ask(pending, Event::MailFrom { from, params });
        };
        self.error(&reply);
        if self.txn.is_none() {
            // Not for a MAIL nested in an open transaction: what follows belongs to that one.
            self.mail_refused();
        }
        Step::Progress
    }

    /// A MAIL was refused: what the client pipelined behind it is expected (see
    /// `Server::mail_refused_run`).
    pub(super) fn mail_refused(&mut self) {
        self.mail_refused_run = self.config.extensions.pipelining && self.is_esmtp();
        self.mail_refused_rcpts = 0;
    }

    /// `RCPT`; `after_refused_mail`: the previous command was a refused MAIL or a RCPT
    /// behind one (see `Server::mail_refused_run`).
    pub(super) fn handle_rcpt(
        &mut self,
        to: crate::syntax::path::ForwardPath<'_>,
        params: RcptParams<'_>,
        after_refused_mail: bool,
    ) -> Step {
        let reply = match self.txn {
            None if after_refused_mail && self.mail_refused_rcpts < self.limits.recipients => {
                self.mail_refused_rcpts += 1;
                self.send(&replies::NEED_MAIL);
                self.mail_refused_run = true;
                return Step::Progress;
            }
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
                let (to, params) = (to.into_owned(), params.into_owned());
                let record = self.config.record_envelope.then(|| {
                    Box::new(AcceptedRecipient {
                        to: to.clone(),
                        params: params.clone(),
                    })
                });
                let pending = Pending::Rcpt { new_domain, record };
                return self.ask(pending, Event::RcptTo { to, params });
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
}
