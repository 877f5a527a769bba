//! Pending decisions and how the caller's decision becomes a reply: what each event waits
//! for ([`Pending`]), which replies its command can take (RFC 5321 4.2 and 4.3.2,
//! RFC 3207 4, RFC 3030 2, RFC 1985, KB 812455), the enhanced status code of a caller's
//! reply (RFC 2034 section 3), and what an accepted or refused command does to the
//! session.

use super::capabilities::hello_line;
use super::{
    replies, AcceptedEnvelope, AcceptedRecipient, AuthVerb, Decision, Event, Greeted, Phase,
    Server, Step, Transaction,
};
use crate::data::{ChunkReader, DataDecoder, DecoderConfig};
use crate::sasl::ServerExchange;
use crate::syntax::command::ExchangeVerb;
use crate::syntax::reply::{EnhancedCode, Reply};

/// The decision the machine waits for.
#[derive(Debug)]
pub(super) enum Pending {
    Connect,
    Ehlo(String),
    Helo(String),
    /// `record`: the envelope it starts, under `ServerConfig::record_envelope`.
    Mail {
        smtputf8: bool,
        binarymime: bool,
        record: Option<Box<AcceptedEnvelope>>,
    },
    /// `new_domain`: the recipient's domain is not yet among the transaction's
    /// (RCPTDOMAINMAX) and was put in the next free slot of `Server::rcpt_domains`.
    /// `record`: the recipient, under `ServerConfig::record_envelope`.
    Rcpt {
        new_domain: bool,
        record: Option<Box<AcceptedRecipient>>,
    },
    DataStart,
    MessageEnd,
    Auth(AuthVerb, Option<Box<ServerExchange>>),
    StartTls,
    Vrfy,
    Expn,
    Etrn,
    Unknown,
    Exchange(ExchangeVerb),
    XExch50Start(u64),
    XExch50End,
}

/// Whether `code` is a positive reply `pending`'s command can take (RFC 5321 4.3.2, RFC 3207
/// 4, RFC 3030 2, RFC 1985, KB 812455). Replies to AUTH and to unknown or Exchange verbs
/// are not judged here.
fn positive_fits(pending: &Pending, code: u16) -> bool {
    match pending {
        Pending::Connect | Pending::StartTls => code == 220,
        Pending::Ehlo(_) | Pending::Helo(_) | Pending::Mail { .. } | Pending::MessageEnd => {
            code == 250
        }
        // RCPT: 250 and 251 (4.3.2; 252 is VRFY's "cannot verify", not a RCPT reply).
        Pending::Rcpt { .. } => matches!(code, 250 | 251),
        Pending::Vrfy => matches!(code, 250..=252),
        Pending::Expn => matches!(code, 250 | 252),
        Pending::Etrn => matches!(code, 250..=253),
        Pending::DataStart | Pending::XExch50Start(_) => code == 354,
        Pending::XExch50End => code == 250,
        Pending::Auth(..) | Pending::Unknown | Pending::Exchange(_) => true,
    }
}

/// What the machine does with a decision: a positive reply of a code the command cannot
/// take (a `250` to DATA, a `250` to STARTTLS, a `354` to RCPT) would tell the client one
/// thing while the machine does another (swallow its next commands as message content,
/// wait for a handshake it never starts), so the caller's acceptance is kept and its text
/// dropped: the default positive reply goes out. (A SASL decision to an event other than
/// AUTH never gets here: [`fits`] turns it away.) A [`Decision::Close`]
/// whose code is not `4xx` / `5xx` becomes `421 4.3.0` ([`replies::CLOSING`]): a positive
/// reply followed by a closed connection (a `354` to DATA, a `250` to the end of a
/// message) would tell the client to go on (RFC 5321 3.8).
///
/// Before the rest, the code of a caller's reply is made one RFC 5321 4.2 allows
/// ([`grammatical_code`]), so what is judged is what goes out.
fn normalize_decision(pending: &Pending, decision: Decision) -> Decision {
    let decision = match decision {
        Decision::Close(r) if !(400..600).contains(&r.code.0) => Decision::Close(replies::CLOSING),
        Decision::Close(mut r) => {
            r.code.0 = grammatical_code(r.code.0);
            Decision::Close(r)
        }
        Decision::Reply(mut r) => {
            r.code.0 = grammatical_code(r.code.0);
            Decision::Reply(r)
        }
        d => d,
    };
    match decision {
        Decision::Reply(r)
            if (200..400).contains(&r.code.0) && !positive_fits(pending, r.code.0) =>
        {
            Decision::Accept
        }
        d => d,
    }
}

/// Whether `decision` can answer `pending` at all: the SASL decisions answer only AUTH
/// and X-EXPS. [`Server::try_decide`] refuses any other pairing
/// ([`DecisionError::Mismatch`](super::DecisionError::Mismatch)) instead of guessing: an
/// `AuthFailure` meant for a sender must not become that sender's acceptance.
pub(super) fn fits(pending: &Pending, decision: &Decision) -> bool {
    let sasl = matches!(
        decision,
        Decision::AuthChallenge(_)
            | Decision::AuthChallengeText(_)
            | Decision::AuthSuccess { .. }
            | Decision::AuthFailure
            | Decision::AuthTemporaryFailure
    );
    !sasl || matches!(pending, Pending::Auth(..))
}

/// The code a caller's reply goes out with. RFC 5321 4.2: `Reply-code = %x32-35 %x30-35
/// %x30-39`. A code outside 200..=599 is `554`, as [`Reply::encode`] writes it (4.2.1: a
/// client treats such a code as a permanent failure), so that it also gets the `5.0.0` of
/// its class under ENHANCEDSTATUSCODES (RFC 2034 section 3) instead of none. A second
/// digit of 6 to 9 becomes 5 ("mail system", 4.2.1's generic category): the class, and
/// with it acceptance or refusal, and the third digit are kept (`470` is `450`, `599` is
/// `559`).
fn grammatical_code(code: u16) -> u16 {
    match code {
        200..=599 if code / 10 % 10 > 5 => code / 100 * 100 + 50 + code % 10,
        200..=599 => code,
        _ => 554,
    }
}

/// How the caller's decision resolves.
enum Outcome {
    Accept(Option<Reply>),
    Reject(Reply),
}

fn resolve(decision: Decision, default: Option<Reply>) -> Outcome {
    match decision {
        Decision::Accept => Outcome::Accept(None),
        Decision::Reply(r) | Decision::Close(r) if (200..400).contains(&r.code.0) => {
            Outcome::Accept(Some(r))
        }
        Decision::Reply(r) | Decision::Close(r) => Outcome::Reject(r),
        _ => match default {
            None => Outcome::Accept(None),
            Some(r) => Outcome::Reject(r),
        },
    }
}

/// RFC 2034 section 3: once ENHANCEDSTATUSCODES is advertised, every `2xx`, `4xx` and
/// `5xx` reply (other than the greeting and the EHLO/HELO reply, which the caller of this
/// leaves out) carries an enhanced status code of the same class. A caller's reply without
/// one, or with one of another class, gets the class's generic code (`2.0.0`, `4.0.0`,
/// `5.0.0`, RFC 3463 X.0.0 "Other undefined Status"). `3xx` replies carry none.
fn default_enhanced_code(r: &mut Reply) {
    let class = match r.code.0 / 100 {
        c @ (2 | 4 | 5) => c as u8,
        _ => return,
    };
    if !r.enhanced.is_some_and(|e| e.matches(r.code)) {
        r.enhanced = Some(EnhancedCode::new(class, 0, 0));
    }
}

impl Server {
    pub(super) fn apply_decision(&mut self, pending: Pending, decision: Decision) {
        // RFC 2034 section 3: a caller's reply gets an enhanced code of its class, except
        // the greeting and the EHLO/HELO reply (which carry none), and the replies to the
        // Exchange verbs, whose text is the verb's data (X-LINK2STATE state chunks, KB
        // 812455) and stays exactly as the caller wrote it.
        let mut decision = normalize_decision(&pending, decision);
        let carries_code = !matches!(
            pending,
            Pending::Connect | Pending::Ehlo(_) | Pending::Helo(_) | Pending::Exchange(_)
        );
        if self.enhanced() && carries_code {
            if let Decision::Reply(r) | Decision::Close(r) = &mut decision {
                default_enhanced_code(r);
            }
        }
        if let Decision::Close(reply) = &decision {
            let reply = reply.clone();
            self.send(&reply);
            self.close();
            return;
        }
        match pending {
            Pending::Connect => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    let r = r.unwrap_or_else(|| {
                        Reply::new(
                            220,
                            None,
                            format!("{} {}", self.config.hostname, self.config.greeting),
                        )
                    });
                    self.send_flush(&r);
                }
                Outcome::Reject(r) => {
                    self.refused = true;
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::Ehlo(domain) => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.greeted = Greeted::Ehlo;
                    self.reset_for_hello();
                    let first = match &r {
                        Some(r) => r.lines().next().unwrap_or_default().to_string(),
                        None => match self.client_address {
                            Some(ip) => hello_line(&self.config.hostname, ip),
                            // A bare EHLO (`ExchangeConfig::ehlo_without_argument`): the
                            // client's name is unknown.
                            None if domain.is_empty() => {
                                format!("{} Hello", self.config.hostname)
                            }
                            None => format!("{} Hello {}", self.config.hostname, domain),
                        },
                    };
                    self.client_name = (!domain.is_empty()).then_some(domain);
                    self.capabilities(first).encode_reply(&mut self.out);
                    self.flush();
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::Helo(domain) => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.greeted = Greeted::Helo;
                    self.reset_for_hello();
                    self.client_name = Some(domain);
                    let r = r.unwrap_or_else(|| match self.client_address {
                        Some(ip) => Reply::new(250, None, hello_line(&self.config.hostname, ip)),
                        None => Reply::new(250, None, self.config.hostname.clone()),
                    });
                    r.encode_with(&mut self.out, false);
                    self.flush();
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::Mail {
                smtputf8,
                binarymime,
                record,
            } => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.transactions = self.transactions.saturating_add(1);
                    self.txn = Some(Transaction {
                        smtputf8,
                        binarymime,
                        ..Transaction::default()
                    });
                    self.envelope = record;
                    self.send(r.as_ref().unwrap_or(&replies::SENDER_OK));
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.mail_refused();
                }
            },
            Pending::Rcpt { new_domain, record } => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    if let Some(t) = self.txn.as_mut() {
                        t.recipients += 1;
                        if new_domain {
                            t.domains += 1;
                        }
                    }
                    if let (Some(e), Some(r)) = (self.envelope.as_mut(), record) {
                        e.recipients.push(*r);
                    }
                    self.send(r.as_ref().unwrap_or(&replies::RECIPIENT_OK));
                }
                Outcome::Reject(r) => self.send_reject(&r),
            },
            Pending::DataStart => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.send_flush(r.as_ref().unwrap_or(&replies::START_INPUT));
                    let limits = &self.config.limits;
                    self.phase = Phase::Data {
                        decoder: DataDecoder::new(DecoderConfig {
                            max_size: limits.message_size_limit(),
                            max_line_length: limits.text_line(),
                            long_lines: self.config.long_lines,
                            bare_line_endings: self.config.bare_line_endings,
                        }),
                        emitted: 0,
                    };
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::MessageEnd => {
                self.txn = None;
                self.envelope = None;
                match resolve(decision, None) {
                    Outcome::Accept(r) => {
                        self.send(r.as_ref().unwrap_or(&replies::MESSAGE_ACCEPTED))
                    }
                    Outcome::Reject(r) => self.send_reject(&r),
                }
            }
            Pending::Auth(verb, exchange) => self.decide_auth(verb, exchange, decision),
            Pending::StartTls => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    self.send_flush(r.as_ref().unwrap_or(&replies::READY_FOR_TLS));
                    // RFC 3207 section 4.2 / CVE-2011-0411: nothing pipelined behind
                    // STARTTLS is ever processed.
                    self.input.clear();
                    self.body_in.clear();
                    self.skipping = false;
                    self.phase = Phase::TlsHandshake;
                    // RFC 3207 4.2: the server forgets what the client said before the
                    // handshake, a transaction in progress (say, after a BDAT chunk)
                    // included: the caller hears of it as a reset.
                    if self.txn.take().is_some() {
                        self.queued.push_back(Event::Reset);
                    }
                    self.queued.push_back(Event::TlsUpgrade);
                }
                Outcome::Reject(r) => {
                    self.send_reject(&r);
                    self.flush();
                }
            },
            Pending::Vrfy | Pending::Expn => {
                let (default, accepted) = if matches!(pending, Pending::Vrfy) {
                    (replies::CANNOT_VRFY, replies::CANNOT_VRFY)
                } else {
                    (replies::EXPN_DISABLED, replies::CANNOT_EXPN)
                };
                match resolve(decision, Some(default)) {
                    Outcome::Accept(r) => self.send(r.as_ref().unwrap_or(&accepted)),
                    Outcome::Reject(r) => self.send_reject(&r),
                }
                self.flush();
            }
            Pending::Etrn => match resolve(decision, Some(replies::ETRN_UNABLE)) {
                Outcome::Accept(r) => {
                    let ok = Reply::new(250, Some(EnhancedCode::new(2, 0, 0)), "Queuing started");
                    self.send(r.as_ref().unwrap_or(&ok))
                }
                Outcome::Reject(r) => self.send_reject(&r),
            },
            Pending::Unknown => {
                let default = matches!(decision, Decision::Default);
                match resolve(decision, Some(replies::UNRECOGNIZED)) {
                    Outcome::Accept(r) => self.send(r.as_ref().unwrap_or(&replies::OK)),
                    Outcome::Reject(r) if default => self.error(&r),
                    Outcome::Reject(r) => self.send_reject(&r),
                }
            }
            Pending::Exchange(verb) => {
                let default = matches!(decision, Decision::Default);
                // KB 812455: an X-LINK2STATE command or response may be up to 1,024
                // octets; the caller's reply is wrapped at that length, not at 512.
                let max_line = match verb {
                    ExchangeVerb::XLink2State => crate::limits::MAX_LINK2STATE_LINE,
                    _ => crate::limits::MAX_REPLY_LINE,
                };
                match resolve(decision, Some(replies::UNRECOGNIZED)) {
                    Outcome::Accept(r) => {
                        self.send_lines(r.as_ref().unwrap_or(&replies::OK), max_line)
                    }
                    Outcome::Reject(r) if default => self.error(&r),
                    Outcome::Reject(r) => {
                        self.send_lines(&r, max_line);
                        if r.code.0 == 421 {
                            self.close();
                        }
                    }
                }
            }
            Pending::XExch50Start(size) => match resolve(decision, None) {
                Outcome::Accept(r) => {
                    if let Some(t) = self.txn.as_mut() {
                        t.xexch50 = true;
                    }
                    self.send_flush(r.as_ref().unwrap_or(&replies::SEND_BLOB));
                    self.phase = Phase::XExch50(ChunkReader::new(size));
                }
                Outcome::Reject(r) => self.send_reject(&r),
            },
            Pending::XExch50End => match resolve(decision, None) {
                Outcome::Accept(r) => self.send(r.as_ref().unwrap_or(&replies::BLOB_OK)),
                Outcome::Reject(r) => self.send_reject(&r),
            },
        }
    }

    /// An accepted EHLO or HELO ends any open transaction: RFC 5321 4.1.4, the server
    /// "MUST clear all buffers and reset the state exactly as if a RSET command had been
    /// issued". The caller hears of it as [`Event::Reset`], as for RSET, so the chunks it
    /// holds of a BDAT message in progress are discarded and never become part of the
    /// next message.
    fn reset_for_hello(&mut self) {
        if self.txn.take().is_some() {
            self.queued.push_back(Event::Reset);
        }
    }

    pub(super) fn ask(&mut self, pending: Pending, event: Event) -> Step {
        self.wait_for(pending);
        Step::Event(event)
    }

    /// Waits for the caller's decision: its timeout counts from now (the latest time the
    /// session knows of), whatever the client sends meanwhile.
    pub(super) fn wait_for(&mut self, pending: Pending) {
        self.pending = Some(pending);
        self.pending_since = self.last_activity;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_classifies_decisions() {
        let r = |code| Reply::new(code, None, "x");
        assert!(matches!(
            resolve(Decision::Accept, None),
            Outcome::Accept(None)
        ));
        assert!(matches!(
            resolve(Decision::Default, None),
            Outcome::Accept(None)
        ));
        assert!(matches!(
            resolve(Decision::Default, Some(r(500))),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(250)), None),
            Outcome::Accept(Some(_))
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(354)), None),
            Outcome::Accept(Some(_))
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(450)), None),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(150)), None),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            resolve(Decision::Reply(r(700)), None),
            Outcome::Reject(_)
        ));
        assert!(matches!(
            resolve(Decision::AuthFailure, None),
            Outcome::Accept(None)
        ));
    }
}
