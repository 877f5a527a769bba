//! The session side of authentication: AUTH (RFC 4954) or Exchange's X-EXPS, with the
//! mechanism `client/auth.rs` chooses and drives, or the caller through
//! [`Event::AuthChallenge`].

use super::{Client, Event, Expect, State};
use crate::client::auth::{self, Driver};
use crate::client::config::AuthVerb;
use crate::client::error::{CloseReason, ProtocolError};
use crate::syntax::capability::Capability;
use crate::syntax::command::{Command, InitialResponse, SaslResponse};
use crate::syntax::reply::Reply;
use base64::Engine as _;
use std::borrow::Cow;

/// A step of an authentication exchange the caller drives
/// ([`Credentials::External`](crate::client::Credentials::External)). Answer with [`Client::auth_respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthChallenge {
    /// The mechanism, upper-case (e.g. `NTLM`, `GSSAPI`).
    pub mechanism: String,
    /// The verb carrying the exchange (`AUTH` or `X-EXPS`).
    pub verb: AuthVerb,
    /// `true` when the client asks for the initial response before sending the command
    /// (answer [`AuthResponse::Data`] or [`AuthResponse::NoInitialResponse`]).
    pub initial: bool,
    /// The server challenge, base64-decoded; `None` for the initial step and when the
    /// `334` text is not base64 (\[MS-SMTPNTLM\] servers send human-readable text to an
    /// `AUTH NTLM` without initial response).
    pub data: Option<Vec<u8>>,
    /// The `334` reply itself (`None` for the initial step).
    pub reply: Option<Reply>,
}

/// The caller's answer to an [`AuthChallenge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResponse {
    /// These octets (the client base64-encodes them).
    Data(Vec<u8>),
    /// For the initial step: send the command without an initial response. For a later
    /// step: an empty response.
    NoInitialResponse,
    /// Cancel the exchange (`*`, RFC 4954 section 4).
    Cancel,
}

#[derive(Debug)]
pub(super) enum AuthWait {
    /// Waiting for the server.
    Server,
    /// Waiting for the caller's initial response.
    CallerInitial,
    /// Waiting for the caller's answer to a challenge.
    CallerChallenge,
}

#[derive(Debug)]
pub(super) struct AuthState {
    pub(super) verb: AuthVerb,
    pub(super) mechanism: String,
    driver: Driver,
    pub(super) wait: AuthWait,
    /// An initial response that did not fit on the command line: sent on the first `334`.
    deferred: Option<Vec<u8>>,
    /// The client sent `*`: the only answer left is the server's `501` (RFC 4954
    /// section 4).
    cancelled: bool,
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

impl Client {
    pub(super) fn start_auth(&mut self) {
        let Some(creds) = self.config.credentials.clone() else {
            self.become_ready();
            return;
        };
        let secure = self.tls_active;
        let allow = self.config.allow_plaintext_auth;
        let mut chosen = None;
        if self.config.auth_verb == AuthVerb::XExps {
            let offered = self.xexps_mechanisms();
            if let Some((m, d)) = auth::choose(&creds, &offered, secure, allow) {
                chosen = Some((AuthVerb::XExps, m, d));
            }
        }
        if chosen.is_none() {
            let offered = self
                .caps
                .as_ref()
                .map(|c| c.auth_mechanisms())
                .unwrap_or_default();
            if let Some((m, d)) = auth::choose(&creds, &offered, secure, allow) {
                chosen = Some((AuthVerb::Auth, m, d));
            }
        }
        let Some((verb, mechanism, driver)) = chosen else {
            self.fail_session(CloseReason::AuthUnavailable);
            return;
        };
        self.state = State::Auth;
        let mut driver = driver;
        let initial = match &mut driver {
            Driver::External => {
                self.events.push_back(Event::AuthChallenge(AuthChallenge {
                    mechanism: mechanism.clone(),
                    verb,
                    initial: true,
                    data: None,
                    reply: None,
                }));
                self.auth = Some(AuthState {
                    verb,
                    mechanism,
                    driver,
                    wait: AuthWait::CallerInitial,
                    deferred: None,
                    cancelled: false,
                });
                return;
            }
            Driver::Builtin(ex) => match auth::start(ex, self.config.sasl_initial_response) {
                Ok(ir) => ir,
                Err(()) => {
                    self.fail_session(CloseReason::AuthUnavailable);
                    return;
                }
            },
        };
        self.auth = Some(AuthState {
            verb,
            mechanism: mechanism.clone(),
            driver,
            wait: AuthWait::Server,
            deferred: None,
            cancelled: false,
        });
        let ir = initial.map(|text| {
            if text == "=" || text.is_empty() {
                InitialResponse::Empty
            } else {
                InitialResponse::Base64(Cow::Owned(text))
            }
        });
        self.send_auth_line(verb, &mechanism, ir);
    }

    fn xexps_mechanisms(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(caps) = &self.caps {
            for c in &caps.list {
                if let Capability::XExps(m) | Capability::XExpsLegacy(m) = c {
                    for name in m {
                        let up = name.to_ascii_uppercase();
                        if !out.contains(&up) {
                            out.push(up);
                        }
                    }
                }
            }
        }
        out
    }

    /// Sends `AUTH mech [ir]` for a caller-driven mechanism; an initial response that
    /// would push the line over 512 octets (RFC 4954 section 4) or that the configuration
    /// forbids waits for the first `334`.
    pub(super) fn send_auth_command(
        &mut self,
        verb: AuthVerb,
        mechanism: &str,
        initial: Option<Vec<u8>>,
    ) {
        let mut ir = None;
        if let Some(data) = initial {
            let text = b64(&data);
            let verb_len = match verb {
                AuthVerb::Auth => 4,
                AuthVerb::XExps => 6,
            };
            let line_len = verb_len + 1 + mechanism.len() + 1 + text.len().max(1) + 2;
            if self.config.sasl_initial_response && line_len <= crate::limits::MAX_COMMAND_LINE {
                ir = Some(if text.is_empty() {
                    InitialResponse::Empty
                } else {
                    InitialResponse::Base64(Cow::Owned(text))
                });
            } else if let Some(a) = self.auth.as_mut() {
                a.deferred = Some(data);
            }
        }
        self.send_auth_line(verb, mechanism, ir);
    }

    fn send_auth_line(
        &mut self,
        verb: AuthVerb,
        mechanism: &str,
        ir: Option<InitialResponse<'static>>,
    ) {
        let mechanism = Cow::Owned(mechanism.to_string());
        let cmd = match verb {
            AuthVerb::Auth => Command::Auth {
                mechanism,
                initial_response: ir,
            },
            AuthVerb::XExps => Command::XExps {
                mechanism,
                initial_response: ir,
            },
        };
        self.command(&cmd, Expect::Auth);
    }

    pub(super) fn send_sasl_line(&mut self, data: Option<&[u8]>) {
        if data.is_none() {
            if let Some(a) = self.auth.as_mut() {
                a.cancelled = true;
            }
        }
        let line = match data {
            None => SaslResponse::Cancel,
            Some(d) => SaslResponse::Base64(Cow::Owned(b64(d))),
        };
        line.encode(&mut self.out);
        self.expect(Expect::Auth);
    }

    pub(super) fn on_auth(&mut self, reply: Reply) {
        let Some(mut auth) = self.auth.take() else {
            self.close(CloseReason::Protocol(ProtocolError::Unsolicited(reply)));
            return;
        };
        // RFC 4954 section 4: a server that receives `*` "MUST reject the AUTH command by
        // sending a 501 reply". A success or a further challenge after the client's
        // cancel (which may be its refusal of the server's mutual-authentication step)
        // never authenticates the client: the server's idea of the session differs.
        if auth.cancelled && !(400..600).contains(&reply.code.0) {
            self.close(CloseReason::Protocol(ProtocolError::UnexpectedReply {
                command: "AUTH",
                reply,
            }));
            return;
        }
        match reply.code.0 {
            c if (200..300).contains(&c) => {
                self.authenticated = true;
                self.exps_authenticated = auth.verb == AuthVerb::XExps;
                self.events.push_back(Event::Authenticated {
                    mechanism: auth.mechanism,
                    reply,
                });
                self.become_ready();
            }
            334 => {
                let text: String = reply.lines().next().unwrap_or_default().trim().to_string();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .ok();
                if let Some(d) = auth.deferred.take() {
                    self.auth = Some(auth);
                    self.send_sasl_line(Some(&d));
                    return;
                }
                let step = match &mut auth.driver {
                    Driver::External => {
                        self.events.push_back(Event::AuthChallenge(AuthChallenge {
                            mechanism: auth.mechanism.clone(),
                            verb: auth.verb,
                            initial: false,
                            data: decoded,
                            reply: Some(reply),
                        }));
                        auth.wait = AuthWait::CallerChallenge;
                        self.auth = Some(auth);
                        return;
                    }
                    Driver::Builtin(ex) => auth::step(ex, &text),
                };
                let line = match step {
                    auth::Step::Line(l) => SaslResponse::Base64(Cow::Owned(l)),
                    auth::Step::Cancel => {
                        auth.cancelled = true;
                        SaslResponse::Cancel
                    }
                };
                self.auth = Some(auth);
                line.encode(&mut self.out);
                self.expect(Expect::Auth);
            }
            _ => self.fail_session(CloseReason::AuthFailed(Some(reply))),
        }
    }
}
