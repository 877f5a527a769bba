//! The session side of authentication: AUTH (RFC 4954) or Exchange's X-EXPS, with the
//! mechanism `client/auth.rs` chooses and drives, or the caller through
//! [`Event::AuthChallenge`].

use super::{Client, Event, Expect, State};
use crate::client::auth::{self, Driver};
use crate::client::error::{CloseReason, ProtocolError};
use crate::sasl::AuthVerb;
use crate::sasl::Mechanism;
use crate::syntax::command::{Command, InitialResponse, SaslResponse};
use crate::syntax::reply::Reply;
use base64::Engine as _;
use std::borrow::Cow;

/// A step of an authentication exchange the caller drives
/// ([`Credentials::External`](crate::client::Credentials::External)). Answer with [`Client::auth_respond`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// The caller's answer to an [`AuthChallenge`]. `Debug` shows the length of
/// [`AuthResponse::Data`], never its octets (they may be a password or a token).
#[derive(Clone, PartialEq, Eq)]
pub enum AuthResponse {
    /// These octets (the client base64-encodes them).
    Data(Vec<u8>),
    /// For the initial step: send the command without an initial response. For a later
    /// step: an empty response.
    NoInitialResponse,
    /// Cancel the exchange (`*`, RFC 4954 section 4).
    Cancel,
}

impl std::fmt::Debug for AuthResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthResponse::Data(d) => f
                .debug_tuple("Data")
                .field(&crate::sasl::Redacted(d))
                .finish(),
            AuthResponse::NoInitialResponse => f.write_str("NoInitialResponse"),
            AuthResponse::Cancel => f.write_str("Cancel"),
        }
    }
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
    /// The mechanism, parsed.
    kind: Mechanism,
    /// The mechanisms left for [`ClientConfig::auth_fallback`], in order, none of them
    /// tried yet.
    ///
    /// [`ClientConfig::auth_fallback`]: crate::client::ClientConfig::auth_fallback
    remaining: Vec<Mechanism>,
    driver: Driver,
    pub(super) wait: AuthWait,
    /// An initial response that did not fit on the command line: sent on the first `334`.
    /// Not in `Debug` (only its length): it is the caller's secret.
    deferred: Option<Deferred>,
    /// The client sent `*`: the only answer left is the server's `501` (RFC 4954
    /// section 4).
    cancelled: bool,
}

/// An initial response held back for the first `334`; `Debug` shows its length only.
pub(super) struct Deferred(Vec<u8>);

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::sasl::Redacted(&self.0).fmt(f)
    }
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

impl Client {
    pub(super) fn start_auth(&mut self) {
        let Some(creds) = self.config.credentials.as_ref() else {
            self.become_ready();
            return;
        };
        let secure = self.tls_active;
        let allow = self.config.allow_plaintext_auth;
        let only = self.config.auth_mechanisms.as_deref();
        // The first candidate of a verb's list the credentials can drive (a password with
        // a line break cannot go into LOGIN, say), with its driver, and the rest.
        let pick = |offered: &[String]| {
            let mut list = auth::candidates(creds, offered, secure, allow, only);
            while !list.is_empty() {
                let first = list.remove(0);
                if let Some(driver) = auth::driver(creds, &first) {
                    return Some((first, driver, list));
                }
            }
            None
        };
        let mut chosen = None;
        if self.config.auth_verb == AuthVerb::XExps {
            chosen = pick(&self.xexps_mechanisms()).map(|c| (AuthVerb::XExps, c));
        }
        if chosen.is_none() {
            let offered = self
                .caps
                .as_ref()
                .map(|c| c.auth_mechanisms())
                .unwrap_or_default();
            chosen = pick(&offered).map(|c| (AuthVerb::Auth, c));
        }
        let Some((verb, (mechanism, driver, remaining))) = chosen else {
            self.fail_session(CloseReason::AuthUnavailable);
            return;
        };
        self.begin_auth(verb, mechanism, driver, remaining);
    }

    /// Starts the exchange of mechanism `kind` with `verb`; `remaining` are the mechanisms
    /// [`ClientConfig::auth_fallback`](crate::client::ClientConfig::auth_fallback) may try
    /// after it, in order.
    fn begin_auth(
        &mut self,
        verb: AuthVerb,
        kind: Mechanism,
        mut driver: Driver,
        remaining: Vec<Mechanism>,
    ) {
        self.state = State::Auth;
        let mechanism = kind.as_str().to_string();
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
                    kind,
                    remaining,
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
            kind,
            remaining,
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

    /// The server refused the exchange of `auth` with `reply` (a `4xx` or `5xx`): the
    /// next mechanism when [`ClientConfig::auth_fallback`] allows one (see
    /// `client::auth::fallback` for the replies), otherwise the end of the session.
    ///
    /// [`ClientConfig::auth_fallback`]: crate::client::ClientConfig::auth_fallback
    fn auth_refused(&mut self, auth: AuthState, reply: Reply) {
        let mut next = None;
        // A refusal of an exchange the client or the caller cancelled (`*`) ends it: the
        // cancel may be the refusal of the server's own authentication.
        if self.config.auth_fallback && !auth.cancelled {
            if let Some(creds) = self.config.credentials.as_ref() {
                let mut rest = auth::fallback(&auth.kind, reply.code.0, auth.remaining).into_iter();
                // A mechanism the credentials cannot drive is skipped (nothing was sent).
                for m in rest.by_ref() {
                    if let Some(d) = auth::driver(creds, &m) {
                        next = Some((m, d, rest.collect::<Vec<_>>()));
                        break;
                    }
                }
            }
        }
        let Some((kind, driver, remaining)) = next else {
            self.fail_session(CloseReason::AuthFailed(Some(reply)));
            return;
        };
        self.events.push_back(Event::AuthFallback {
            mechanism: auth.mechanism,
            reply,
            next: kind.as_str().to_string(),
        });
        self.begin_auth(auth.verb, kind, driver, remaining);
    }

    fn xexps_mechanisms(&self) -> Vec<String> {
        self.caps
            .as_ref()
            .map(|c| c.xexps_mechanisms())
            .unwrap_or_default()
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
                a.deferred = Some(Deferred(data));
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
                if let Some(Deferred(d)) = auth.deferred.take() {
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
            _ => self.auth_refused(auth, reply),
        }
    }
}
