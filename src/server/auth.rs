//! Authentication: AUTH (RFC 4954) and Exchange's X-EXPS (KB 812455). The mechanisms
//! offered in the current TLS state, the command's checks, the SASL exchange (run by the
//! built-in exchanges of [`crate::sasl`] or driven by the caller through events), its `334`
//! challenges and continuation lines (RFC 4954 section 4; \[MS-OXSMTP\] 3.2.5.1), and its
//! outcome: success, failure (NTLM's `535 5.7.3`, \[MS-SMTPNTLM\]) and the limit on
//! failures.

use super::decision::Pending;
use super::{replies, AuthAbort, AuthVerb, Decision, Event, Mechanism, Phase, Server, Step};
use crate::sasl::{SaslError, ServerExchange, ServerStep};
use crate::syntax::command::{parse_sasl_line, InitialResponse, SaslResponse};
use crate::syntax::reply::Reply;
use base64::Engine as _;

impl Server {
    /// The mechanisms offered for `verb` in the current TLS state.
    pub(super) fn offered(&self, verb: AuthVerb) -> impl Iterator<Item = &Mechanism> {
        let auth = &self.config.auth;
        let (list, blocked) = match verb {
            AuthVerb::Auth => (&auth.mechanisms, auth.require_tls && !self.tls),
            AuthVerb::XExps => (&self.config.exchange.exps_mechanisms, false),
        };
        let plain_ok = self.tls || auth.allow_plaintext_without_tls;
        list.iter()
            .filter(move |m| !blocked && (plain_ok || !m.plaintext))
    }

    pub(super) fn handle_auth(
        &mut self,
        verb: AuthVerb,
        mechanism: &str,
        initial: Option<InitialResponse<'_>>,
    ) -> Step {
        let configured = match verb {
            AuthVerb::Auth => &self.config.auth.mechanisms,
            AuthVerb::XExps => &self.config.exchange.exps_mechanisms,
        };
        // RFC 4954 section 4: after a successful AUTH a further one gets 503. X-EXPS is
        // Exchange's AUTH under another verb ("similar to AUTH ... see the AUTH RFC",
        // KB 812455), and no public source (KB 812455, [MS-OXSMTP], the Exchange 2007
        // "SMTP Protocol Extensions" page) lets one session hold two identities, so a
        // success under either verb refuses both. The identities stay apart
        // (`authenticated` / `exps_authenticated`): X-EXPS does not satisfy `require_auth`.
        let identity = self.auth_identity.as_ref().or(self.exps_identity.as_ref());
        let known = configured
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(mechanism))
            .map(|m| m.name.clone());
        let offered = self
            .offered(verb)
            .any(|m| m.name.eq_ignore_ascii_case(mechanism));
        let reply = if configured.is_empty() {
            replies::NOT_IMPLEMENTED
        } else if !self.is_esmtp() {
            replies::SEND_EHLO_FIRST
        } else if identity.is_some() {
            replies::ALREADY_AUTHENTICATED
        } else if self.txn.is_some() {
            replies::AUTH_IN_TRANSACTION
        } else if verb == AuthVerb::Auth && self.config.auth.require_tls && !self.tls {
            replies::ENCRYPTION_REQUIRED
        } else if known.is_none() {
            replies::UNKNOWN_MECHANISM
        } else if !offered {
            replies::ENCRYPTION_REQUIRED
        } else {
            self.sasl_ntlm = known
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("NTLM"));
            // RFC 4954 section 4: "If the client uses an initial-response argument to the
            // AUTH command with a SASL mechanism in which the client does not begin the
            // authentication exchange, the server MUST reject the AUTH command with a 501
            // reply" (5.7.0). Checked here, in both modes, for the mechanisms known to be
            // server-first (CRAM-MD5), so no caller decision can accept one. An argument
            // that is not BASE64 at all keeps its own `501 5.5.2`.
            if let Some(ir) = &initial {
                if let Ok(mech) = crate::sasl::Mechanism::parse(mechanism) {
                    if mech.is_server_first() {
                        let e = match crate::sasl::b64::decode_initial(ir) {
                            Err(e) => e,
                            Ok(_) => SaslError::UnexpectedInitialResponse(mech.static_name()),
                        };
                        return self.sasl_refused(verb, &e);
                    }
                }
            }
            if self.config.auth.builtin_exchanges {
                if let Ok(mech) = crate::sasl::Mechanism::parse(mechanism) {
                    let started = ServerExchange::start_parsed(&mech, initial.as_ref());
                    match started {
                        Ok((ex, step)) => {
                            let step = match step {
                                // [MS-OXSMTP] 3.2.5.1: no initial response and an empty
                                // first server string: SASL_Mechanism_Supported (2.2.1).
                                ServerStep::Challenge(text)
                                    if text.is_empty()
                                        && initial.is_none()
                                        && self.config.exchange.sasl_mechanism_supported =>
                                {
                                    ServerStep::Challenge(mech.supported_text())
                                }
                                step => step,
                            };
                            return self.drive(verb, Box::new(ex), step);
                        }
                        Err(SaslError::UnsupportedMechanism) => {}
                        Err(e) => return self.sasl_refused(verb, &e),
                    }
                }
            }
            let initial_response = match initial {
                None => None,
                Some(InitialResponse::Empty) => Some(Vec::new()),
                Some(InitialResponse::Base64(text)) => {
                    match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
                        Ok(v) => Some(v),
                        // The same answer and event as in the built-in mode.
                        Err(_) => return self.sasl_refused(verb, &SaslError::InvalidBase64),
                    }
                }
            };
            return self.ask(
                Pending::Auth(verb, None),
                Event::AuthStart {
                    verb,
                    mechanism: known.unwrap_or_default(),
                    initial_response,
                },
            );
        };
        self.error(&reply);
        self.flush();
        Step::Progress
    }

    /// Acts on a step of a built-in SASL exchange.
    fn drive(&mut self, verb: AuthVerb, ex: Box<ServerExchange>, step: ServerStep) -> Step {
        match step {
            ServerStep::Challenge(text) => {
                self.challenge(verb, &text, Some(ex));
                Step::Progress
            }
            ServerStep::Verify(credentials) => self.ask(
                Pending::Auth(verb, Some(ex)),
                Event::AuthVerify { verb, credentials },
            ),
            ServerStep::Token {
                mechanism, data, ..
            } => self.ask(
                Pending::Auth(verb, Some(ex)),
                Event::AuthToken {
                    verb,
                    mechanism: mechanism.as_str().to_string(),
                    data,
                },
            ),
        }
    }

    /// A built-in exchange refused the client's message: send the mechanism's reply.
    ///
    /// After an OAuth error challenge the exchange fails with `535 5.7.8` whatever the
    /// client answers (RFC 7628 section 3.2.3): that is a failed authentication like the
    /// caller's `535`, and counts towards `limits.max_auth_failures`. A cancel or a syntax
    /// error in the exchange (`501`) does not; `limits.max_commands` bounds those.
    fn sasl_refused(&mut self, verb: AuthVerb, e: &SaslError) -> Step {
        if *e == SaslError::AuthenticationFailed {
            self.auth_failure(&e.reply().to_reply());
            return Step::Event(Event::AuthAborted {
                verb,
                reason: AuthAbort::Refused,
            });
        }
        self.phase = Phase::Command;
        let reason = match e {
            SaslError::Cancelled => AuthAbort::Cancelled,
            SaslError::InvalidBase64 => AuthAbort::InvalidBase64,
            _ => AuthAbort::Refused,
        };
        // One text per reply whichever mode runs the exchange.
        let reply = match e {
            SaslError::InvalidBase64 => replies::INVALID_BASE64,
            SaslError::Cancelled => replies::AUTH_CANCELLED,
            _ => e.reply().to_reply(),
        };
        self.send_flush(&reply);
        Step::Event(Event::AuthAborted { verb, reason })
    }

    pub(super) fn handle_sasl(
        &mut self,
        verb: AuthVerb,
        exchange: Option<Box<ServerExchange>>,
        line: &[u8],
    ) -> Step {
        self.phase = Phase::Command;
        if let Some(mut ex) = exchange {
            // The same line parser as the caller-driven mode below, so both modes answer
            // the same bytes alike: trailing blanks are trimmed (`* ` cancels with
            // `501 5.0.0`, RFC 4954 section 4), the rest must be strict BASE64.
            let step = match parse_sasl_line(line) {
                Ok(response) => ex.step_parsed(&response),
                Err(_) => Err(SaslError::InvalidBase64),
            };
            return match step {
                Ok(step) => self.drive(verb, ex, step),
                Err(e) => self.sasl_refused(verb, &e),
            };
        }
        let (reply, reason) = match parse_sasl_line(line) {
            Ok(SaslResponse::Cancel) => (replies::AUTH_CANCELLED, AuthAbort::Cancelled),
            Ok(SaslResponse::Base64(text)) => {
                match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
                    Ok(data) => {
                        self.wait_for(Pending::Auth(verb, None));
                        return Step::Event(Event::AuthResponse { verb, data });
                    }
                    Err(_) => (replies::INVALID_BASE64, AuthAbort::InvalidBase64),
                }
            }
            Err(_) => (replies::INVALID_BASE64, AuthAbort::InvalidBase64),
        };
        self.send_flush(&reply);
        Step::Event(Event::AuthAborted { verb, reason })
    }

    /// Sends `334 <text>` as one line (never wrapped: a long NTLM or GSSAPI token must stay
    /// on one line, RFC 4954 section 4) and waits for the client's answer.
    fn challenge(&mut self, verb: AuthVerb, text: &str, exchange: Option<Box<ServerExchange>>) {
        // continue-req = "334" SP [base64] CRLF; a challenge carries no CR or LF (they are
        // dropped), and other control characters become spaces, as in every reply
        // (RFC 5321 4.2 textstring; HT is kept).
        self.out.extend_from_slice(b"334 ");
        for b in text.bytes() {
            match b {
                b'\r' | b'\n' => {}
                b'\t' => self.out.extend_from_slice(b"\t"),
                0..=0x1f | 0x7f => self.out.extend_from_slice(b" "),
                b => self.out.extend_from_slice(&[b]),
            }
        }
        self.out.extend_from_slice(b"\r\n");
        self.flush();
        self.phase = Phase::Sasl(verb, exchange);
    }

    pub(super) fn decide_auth(
        &mut self,
        verb: AuthVerb,
        exchange: Option<Box<ServerExchange>>,
        decision: Decision,
    ) {
        match decision {
            Decision::AuthChallenge(bytes) => match exchange {
                Some(mut ex) => match ex.send_token(&bytes) {
                    Ok(ServerStep::Challenge(text)) => self.challenge(verb, &text, Some(ex)),
                    _ => self.auth_failure(&replies::AUTH_TEMP_FAILURE),
                },
                None => {
                    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
                    self.challenge(verb, &text, None);
                }
            },
            Decision::AuthChallengeText(text) => self.challenge(verb, &text, None),
            Decision::AuthSuccess { identity } => self.auth_success(verb, identity, None),
            Decision::AuthTemporaryFailure => self.auth_failure(&replies::AUTH_TEMP_FAILURE),
            // RFC 4954 section 4: `334` is the one intermediate reply of the exchange; any
            // other `3xx` would tell the client to go on while the exchange ended (its
            // next line read as a command), so it is the `334` challenge too.
            Decision::Reply(r) if (300..400).contains(&r.code.0) => {
                let text = r.first_line().to_string();
                self.challenge(verb, &text, None);
            }
            // RFC 4954 section 6: success is `235`; another `2xx` (a `250`, say) would be
            // taken for a failure by clients that read the code, so it goes out as the
            // standard `235 2.7.0`, the caller's text dropped (as for other commands).
            Decision::Reply(r) if (200..300).contains(&r.code.0) => {
                let reply = (r.code.0 == 235).then_some(r);
                self.auth_success(verb, String::new(), reply)
            }
            Decision::Reply(r) | Decision::Close(r) => self.auth_failure(&r),
            Decision::AuthFailure | Decision::Default | Decision::Accept => {
                let reply = if self.sasl_ntlm {
                    replies::NTLM_AUTH_FAILED
                } else {
                    replies::AUTH_FAILED
                };
                self.auth_failure(&reply)
            }
        }
    }

    fn auth_success(&mut self, verb: AuthVerb, identity: String, reply: Option<Reply>) {
        self.phase = Phase::Command;
        match verb {
            AuthVerb::Auth => self.auth_identity = Some(identity),
            AuthVerb::XExps => self.exps_identity = Some(identity),
        }
        self.send_flush(reply.as_ref().unwrap_or(&replies::AUTH_SUCCESS));
    }

    fn auth_failure(&mut self, reply: &Reply) {
        self.phase = Phase::Command;
        self.send_reject(reply);
        if reply.code.0 >= 500 && !self.is_closed() {
            self.auth_failures = self.auth_failures.saturating_add(1);
            if self.auth_failures >= self.config.limits.max_auth_failures {
                self.send(&replies::TOO_MANY_AUTH_FAILURES);
                self.close();
            }
        }
        self.flush();
    }
}
