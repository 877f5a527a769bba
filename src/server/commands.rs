//! Command lines: finding a line within its limit (RFC 5321 4.5.3.1.4; AUTH and X-EXPS
//! lines as long as SASL lines, RFC 4954 section 4; X-LINK2STATE lines of 1,024 octets,
//! KB 812455; the rule is [`crate::limits::CommandLineLimits`]), the session's command limit, and the dispatch of each parsed command
//! (RFC 5321 4.1.1): those answered here, and those handed to the caller as events or to
//! the envelope, body and authentication modules.

use super::decision::Pending;
use super::{replies, AuthAbort, AuthVerb, Event, Phase, Server, Step, TlsVerb};
use crate::syntax::command::{parse_command, Command, ExchangeVerb};
use crate::syntax::line::{find_line, skip_line, LineStatus};
use crate::syntax::{Leniency, ParseOptions};
use bytes::{Buf, Bytes, BytesMut};

/// `EHLO` without an argument (trailing spaces or tabs allowed), any case.
fn is_bare_ehlo(line: &[u8]) -> bool {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
        end -= 1;
    }
    line[..end].eq_ignore_ascii_case(b"EHLO")
}

pub(super) fn starts_with_ci(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

impl Server {
    fn bare_lf(&self) -> bool {
        self.config.leniency == Leniency::Lenient
    }

    /// The longest command line that starts with `line` (as much of it as has arrived):
    /// the session's rule ([`command_line_limits`](super::session_limits::command_line_limits),
    /// [`CommandLineLimits::for_line`](crate::limits::CommandLineLimits::for_line)).
    fn line_limit(&self, line: &[u8]) -> usize {
        self.line_limits.for_line(line)
    }

    pub(super) fn step_line(&mut self) -> Step {
        let bare_lf = self.bare_lf();
        if self.skipping {
            let (n, found) = skip_line(&self.input, bare_lf);
            self.input.advance(n);
            if !found {
                return Step::Idle;
            }
            self.skipping = false;
            self.line_since = self.last_activity;
        }
        let sasl = match self.phase {
            Phase::Sasl(verb, _) => Some(verb),
            _ => None,
        };
        let max = match sasl {
            Some(AuthVerb::XExps) => self.exps_line_limit(),
            Some(_) => self.config.limits.sasl_line(),
            None => self.line_limit(&self.input),
        };
        // No line may outgrow the input cap: a longer one could never complete there (the
        // caller feeds at most `input_room`), so it is too long here, not a stall.
        let max = max.min(self.config.limits.input_buffer());
        match find_line(&self.input, max, bare_lf) {
            LineStatus::Incomplete => Step::Idle,
            LineStatus::TooLong => {
                self.skipping = true;
                match sasl {
                    Some(verb) => {
                        self.phase = Phase::Command;
                        self.send_flush(&replies::SASL_LINE_TOO_LONG);
                        Step::Event(Event::AuthAborted {
                            verb,
                            reason: AuthAbort::LineTooLong,
                        })
                    }
                    // RFC 4954 sections 4 and 6: an AUTH (or X-EXPS) line whose initial
                    // response overflows the authentication buffer fails the command
                    // with `500 5.5.6`, like an over-long continuation line.
                    None if self.line_limits.is_sasl_command(&self.input) => {
                        self.error(&replies::SASL_LINE_TOO_LONG);
                        self.long_line_refused(false);
                        Step::Progress
                    }
                    None => {
                        let mail = starts_with_ci(&self.input, b"MAIL");
                        self.error(&replies::LINE_TOO_LONG);
                        self.long_line_refused(mail);
                        Step::Progress
                    }
                }
            }
            LineStatus::Complete { content, total } => {
                let input = std::mem::take(&mut self.input);
                let line = input.get(..content).unwrap_or_default();
                let step = self.count_command().unwrap_or_else(|| match sasl {
                    Some(verb) => {
                        let exchange = match &mut self.phase {
                            Phase::Sasl(_, ex) => ex.take(),
                            _ => None,
                        };
                        self.handle_sasl(verb, exchange, line)
                    }
                    // The parser's fast paths take the line with its CRLF.
                    None => {
                        let full = match input.get(content..total) {
                            Some(b"\r\n") => input.get(..total).unwrap_or_default(),
                            _ => line,
                        };
                        self.handle_command(line, full, total)
                    }
                });
                self.input = input;
                if matches!(self.phase, Phase::Closed) {
                    self.input = BytesMut::new();
                } else {
                    self.input.advance(total.min(self.input.len()));
                    // What follows the line arrived with it or later (see
                    // `Server::line_since`).
                    self.line_since = self.last_activity;
                }
                step
            }
        }
    }

    /// A command line refused as too long is a command like any other: it ends a run of
    /// refused BDATs (`Server::bdat_run`) or of a group behind a refused MAIL
    /// (`Server::mail_refused_run`), and an over-long MAIL (`mail`: the line starts with
    /// the verb) outside a transaction is a refused MAIL, whose pipelined group follows.
    fn long_line_refused(&mut self, mail: bool) {
        self.bdat_run = false;
        self.mail_refused_run = false;
        if mail && !self.refused && self.txn.is_none() {
            self.mail_refused();
        }
    }

    /// Counts a command line; `Some` when the session limit closed the session.
    fn count_command(&mut self) -> Option<Step> {
        self.commands = self.commands.saturating_add(1);
        if self.commands > self.config.limits.max_commands {
            self.send(&replies::TOO_MANY_COMMANDS);
            self.close();
            return Some(Step::Progress);
        }
        None
    }

    /// The parser's options for a command line of `content` octets without its line end.
    /// The line's length was already judged against its limit ([`Server::line_limit`])
    /// where it was found; the parser, which counts every line as ending in CRLF (RFC 5321
    /// 4.5.3.1.4), gets that much room, so a line ended by a bare LF (taken under
    /// [`Leniency::Lenient`]) is not one octet too long for it.
    /// `auth.require_auth` and no successful AUTH yet (X-EXPS does not count): MAIL, VRFY,
    /// EXPN and ETRN get `530 5.7.0` (RFC 4954 section 6: every command but AUTH, EHLO,
    /// HELO, NOOP, RSET and QUIT, where policy requires authentication; VRFY and EXPN
    /// would tell an unauthenticated client which mailboxes exist, and ETRN would start
    /// queue runs for it). RCPT, DATA and BDAT without a transaction keep RFC 5321's
    /// `503` (a MUST), and HELP and STARTTLS are served.
    pub(super) fn needs_auth(&self) -> bool {
        self.config.auth.require_auth && self.auth_identity.is_none()
    }

    fn parse_options(&self, utf8: bool, content: usize) -> ParseOptions {
        ParseOptions {
            leniency: self.config.leniency,
            utf8,
            max_line: content
                .saturating_add(2)
                .max(self.config.limits.command_line()),
        }
    }

    /// Handles the command `line` (without its line end); `full` is the same line with its
    /// CRLF when it has one (the parser answers the usual commands fastest so), else
    /// `line`.
    fn handle_command(&mut self, line: &[u8], full: &[u8], total: usize) -> Step {
        let in_bdat_run = std::mem::take(&mut self.bdat_run);
        let after_refused_mail = std::mem::take(&mut self.mail_refused_run);
        if total > self.config.limits.command_line() && total > self.line_limit(line) {
            self.error(&replies::LINE_TOO_LONG);
            self.long_line_refused(starts_with_ci(line, b"MAIL"));
            return Step::Progress;
        }
        let utf8 = match self.txn {
            Some(t) => t.smtputf8,
            None => self.config.extensions.smtputf8 && self.is_esmtp(),
        };
        let opts = self.parse_options(utf8, line.len());
        if !self.refused && is_bare_ehlo(line) && self.config.answers_bare_ehlo() {
            // [MS-SMTPNTLM] 2.2.1.9: the server answers EHLO with or without an argument.
            return self.ask(
                Pending::Ehlo(String::new()),
                Event::Ehlo {
                    domain: String::new(),
                },
            );
        }
        let cmd = match parse_command(full, &opts) {
            Ok(cmd) => cmd,
            Err(e) => {
                if self.refused {
                    self.error(&replies::ONLY_QUIT);
                } else if self.param_not_offered(line, &e) {
                    self.error(&replies::PARAM_NOT_RECOGNIZED);
                } else {
                    // RFC 3463 3.2: a bad MAIL path is the sender's X.1.7, not X.1.3.
                    self.error(&e.reply_to_line(line));
                }
                if !self.refused && self.txn.is_none() && starts_with_ci(line, b"MAIL") {
                    // A MAIL refused for its syntax is refused like any other: what the
                    // client pipelined behind it is expected (see `Server::mail_refused_run`).
                    self.mail_refused();
                }
                return Step::Progress;
            }
        };
        if self.refused && !matches!(cmd, Command::Quit) {
            self.error(&replies::ONLY_QUIT);
            return Step::Progress;
        }
        let esmtp = self.is_esmtp();
        let x = &self.config.extensions;
        let ex = &self.config.exchange;
        match cmd {
            Command::Quit => {
                self.send(&replies::BYE);
                self.close();
                Step::Event(Event::Quit)
            }
            Command::Ehlo { domain } => {
                let domain = domain.into_owned();
                self.ask(Pending::Ehlo(domain.clone()), Event::Ehlo { domain })
            }
            Command::Helo { domain } => {
                let domain = domain.into_owned();
                self.ask(Pending::Helo(domain.clone()), Event::Helo { domain })
            }
            Command::Noop { .. } => {
                self.send_flush(&replies::OK);
                Step::Progress
            }
            Command::Help { .. } => {
                // RFC 5321 4.1.1.8: what the server serves now; BDAT only where CHUNKING
                // is advertised (RFC 3030), so not before EHLO or after HELO.
                let help = if x.chunking && esmtp {
                    replies::HELP
                } else {
                    replies::HELP_WITHOUT_BDAT
                };
                self.send(&help);
                Step::Progress
            }
            Command::Rset => {
                self.txn = None;
                self.send(&replies::OK);
                Step::Event(Event::Reset)
            }
            Command::Vrfy { .. } | Command::Expn { .. } if self.needs_auth() => {
                self.error(&replies::AUTH_REQUIRED);
                Step::Progress
            }
            Command::Vrfy { arg } => {
                let (arg, smtputf8) = self.utf8_query_arg(&arg);
                self.ask(Pending::Vrfy, Event::Vrfy { arg, smtputf8 })
            }
            Command::Expn { arg } => {
                let (arg, smtputf8) = self.utf8_query_arg(&arg);
                self.ask(Pending::Expn, Event::Expn { arg, smtputf8 })
            }
            Command::Turn | Command::Atrn { .. } => {
                self.error(&replies::NOT_IMPLEMENTED);
                self.flush();
                Step::Progress
            }
            Command::Etrn { node } => {
                if !x.etrn {
                    self.error(&replies::NOT_IMPLEMENTED);
                } else if !esmtp {
                    self.error(&replies::SEND_EHLO_FIRST);
                } else if self.needs_auth() {
                    self.error(&replies::AUTH_REQUIRED);
                } else {
                    return self.ask(
                        Pending::Etrn,
                        Event::Etrn {
                            node: node.into_owned(),
                        },
                    );
                }
                Step::Progress
            }
            Command::Mail { from, params } => self.handle_mail(line, from, params),
            Command::Rcpt { to, params } => self.handle_rcpt(to, params, after_refused_mail),
            Command::Data => {
                let reply = match self.txn {
                    None => Some(replies::NEED_MAIL),
                    Some(t) if t.bdat || t.binarymime => Some(replies::DATA_AFTER_BDAT),
                    Some(t) if t.recipients == 0 => {
                        self.send_flush(&replies::NO_VALID_RECIPIENTS);
                        return Step::Progress;
                    }
                    Some(_) => None,
                };
                match reply {
                    Some(r) => {
                        if after_refused_mail && self.txn.is_none() {
                            // The end of a group pipelined behind a refused MAIL.
                            self.send(&r);
                        } else {
                            self.error(&r);
                        }
                        self.flush();
                        Step::Progress
                    }
                    None => self.ask(Pending::DataStart, Event::DataStart),
                }
            }
            Command::Bdat { size, last } => {
                self.handle_bdat(size, last, in_bdat_run || after_refused_mail)
            }
            Command::StartTls | Command::XAnonymousTls => {
                let (verb, on) = if matches!(cmd, Command::StartTls) {
                    (TlsVerb::StartTls, x.starttls)
                } else {
                    (TlsVerb::XAnonymousTls, ex.anonymous_tls)
                };
                // A verb the configuration never offers is unknown here, under TLS too
                // (RFC 5321 4.2.4: 502); `503` is for a second upgrade of an offered one.
                let reply = if !on {
                    replies::NOT_IMPLEMENTED
                } else if self.tls {
                    replies::TLS_ALREADY_ACTIVE
                } else if !esmtp {
                    replies::SEND_EHLO_FIRST
                } else {
                    return self.ask(Pending::StartTls, Event::StartTls { verb });
                };
                self.error(&reply);
                self.flush();
                Step::Progress
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => self.handle_auth(AuthVerb::Auth, &mechanism, initial_response),
            Command::XExps {
                mechanism,
                initial_response,
            } => self.handle_auth(AuthVerb::XExps, &mechanism, initial_response),
            Command::XExch50 { size, mode } => {
                let authenticated = self.auth_identity.is_some() || self.exps_identity.is_some();
                let reply = if !ex.xexch50 {
                    replies::NOT_IMPLEMENTED
                } else if !esmtp {
                    // Advertised only in an EHLO reply (KB 812455), like the other
                    // Exchange verbs, X-EXPS, AUTH, STARTTLS and ETRN.
                    replies::SEND_EHLO_FIRST
                } else if ex.xexch50_requires_auth && !authenticated {
                    // KB 843106: no MAPI properties from an unauthenticated peer.
                    replies::XEXCH50_NEEDS_AUTH
                } else {
                    match self.txn {
                        None => replies::NEED_MAIL,
                        Some(t) if t.recipients == 0 => replies::NEED_RCPT,
                        Some(t) if t.xexch50 => replies::XEXCH50_TWICE,
                        // The blob comes between RCPT and the message (KB 812455).
                        Some(t) if t.bdat => replies::XEXCH50_AFTER_BDAT,
                        // (A size over `limits::MAX_XEXCH50_BLOB` never gets here: the parser
                        // refuses it with `501 5.5.4`.)
                        Some(_) => {
                            return self
                                .ask(Pending::XExch50Start(size), Event::XExch50 { size, mode })
                        }
                    }
                };
                self.error(&reply);
                Step::Progress
            }
            Command::Exchange { verb, args } => {
                let on = match verb {
                    ExchangeVerb::XLink2State => ex.link2state,
                    ExchangeVerb::XShadow => ex.xshadow,
                    ExchangeVerb::XShadowRequest => ex.xshadowrequest,
                    ExchangeVerb::XQDiscard => ex.xqdiscard,
                    ExchangeVerb::XProxy
                    | ExchangeVerb::XProxyFrom
                    | ExchangeVerb::XProxyTo
                    | ExchangeVerb::XRsetProxyTo => ex.xproxy,
                    ExchangeVerb::XSessionParams => ex.xsessionparams,
                    ExchangeVerb::XRdst => ex.xrdst,
                };
                if on && !esmtp {
                    // Advertised only in an EHLO reply (like X-EXPS and XEXCH50).
                    self.error(&replies::SEND_EHLO_FIRST);
                    Step::Progress
                } else if on {
                    self.ask(
                        Pending::Exchange(verb),
                        Event::Exchange {
                            verb,
                            args: Bytes::copy_from_slice(&args),
                        },
                    )
                } else {
                    self.error(&replies::NOT_IMPLEMENTED);
                    Step::Progress
                }
            }
            Command::Other { verb, args } => self.ask(
                Pending::Unknown,
                Event::Unknown {
                    verb: verb.into_owned(),
                    args: Bytes::copy_from_slice(&args),
                },
            ),
        }
    }

    /// The argument of a VRFY or EXPN, and whether it ends with the `SMTPUTF8` parameter
    /// (RFC 6531 3.7.4.2: `"VRFY" SP String [ SP "SMTPUTF8" ]`), which only a session
    /// that offers SMTPUTF8 takes as one: elsewhere it is part of the string, as the
    /// client could not have meant the extension.
    fn utf8_query_arg(&self, arg: &str) -> (String, bool) {
        const PARAM: &[u8] = b" SMTPUTF8";
        let offered = self.is_esmtp() && self.config.extensions.smtputf8;
        let bytes = arg.as_bytes();
        if offered && bytes.len() > PARAM.len() {
            let (head, tail) = bytes.split_at(bytes.len() - PARAM.len());
            if tail.eq_ignore_ascii_case(PARAM) {
                let head = String::from_utf8_lossy(head).trim_end().to_string();
                if !head.is_empty() {
                    return (head, true);
                }
            }
        }
        (arg.to_string(), false)
    }
}
