//! The client-side step driver: credentials in, the `AUTH` arguments and each answer out.

use std::fmt;

use super::cram_md5;
use super::ntlm::{self, NtlmMessageType};
use super::oauth::OAuthError;
use super::oauthbearer::{self, OAuthBearerMessage};
use super::plain::PlainMessage;
use super::xoauth2::{self, XOAuth2Message};
use super::{b64, login, Mechanism, SaslError};
use crate::limits::MAX_COMMAND_LINE;

/// What the client authenticates with. `Debug` never prints secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// A user name and password, for PLAIN, LOGIN and CRAM-MD5. `authzid` is used by PLAIN
    /// only.
    Password {
        /// Identity to act as (PLAIN only).
        authzid: Option<String>,
        /// User name.
        username: String,
        /// Password (the shared secret for CRAM-MD5).
        password: String,
    },
    /// An OAuth 2.0 access token, for XOAUTH2 and OAUTHBEARER.
    OAuth {
        /// The user (XOAUTH2 `user=`, OAUTHBEARER `a=`).
        user: String,
        /// The access token.
        token: String,
        /// OAUTHBEARER `host` (the server name), if wanted.
        host: Option<String>,
        /// OAUTHBEARER `port`, if wanted.
        port: Option<u16>,
    },
    /// NTLM or GSSAPI: the caller's security package makes the tokens.
    /// `initial_token` is its first token (for NTLM the NEGOTIATE_MESSAGE) when available
    /// up front; without it the driver asks with [`ClientStep::NeedToken`].
    External {
        /// The first token, if already produced.
        initial_token: Option<Vec<u8>>,
    },
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredentials::Password {
                authzid, username, ..
            } => f
                .debug_struct("Password")
                .field("authzid", authzid)
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            ClientCredentials::OAuth {
                user, host, port, ..
            } => f
                .debug_struct("OAuth")
                .field("user", user)
                .field("token", &"<redacted>")
                .field("host", host)
                .field("port", port)
                .finish(),
            ClientCredentials::External { initial_token } => f
                .debug_struct("External")
                .field("initial_token_len", &initial_token.as_ref().map(Vec::len))
                .finish(),
        }
    }
}

/// The arguments of the `AUTH` (or `X-EXPS`) command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthStart {
    /// The mechanism name.
    pub mechanism: Mechanism,
    /// The initial response (BASE64, or `=` for an empty one), if sent.
    pub initial_response: Option<String>,
}

impl AuthStart {
    /// The command line with the given verb (`"AUTH"` or `"X-EXPS"`), with CRLF.
    pub fn command_line(&self, verb: &str) -> String {
        match &self.initial_response {
            Some(ir) => format!("{verb} {} {ir}\r\n", self.mechanism),
            None => format!("{verb} {}\r\n", self.mechanism),
        }
    }
}

/// What the client does after a `334` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// Send this line followed by CRLF.
    Send(String),
    /// NTLM / GSSAPI: give `data` (the decoded server token; empty when the server only
    /// asked for the first token) to the security package, then pass its answer to
    /// [`ClientExchange::supply_token`].
    NeedToken {
        /// The decoded server token.
        data: Vec<u8>,
        /// For NTLM, the recognised type (`Challenge`), `None` when the server asked for
        /// the first token.
        ntlm_type: Option<NtlmMessageType>,
    },
    /// XOAUTH2 / OAUTHBEARER: the server rejected the token. Send `line` (the dummy
    /// answer the mechanism requires) and expect `535`.
    OAuthError {
        /// The parsed JSON error, `None` when it was not valid JSON.
        error: Option<OAuthError>,
        /// The decoded challenge bytes.
        raw: Vec<u8>,
        /// The line to send: empty for XOAUTH2, `AQ==` (`\x01`) for OAUTHBEARER.
        line: String,
    },
}

#[derive(Debug, Clone)]
enum State {
    New,
    /// Waiting for a challenge; `messages` are what to send for the next ones, in order.
    Scripted(Vec<String>),
    /// The client's last message went out; only an OAuth error challenge may follow.
    OAuthSent,
    /// LOGIN: waiting for a prompt; `users_sent`: how many times the user name went out
    /// (as the initial response or in answer to a prompt). The answers come from `creds`.
    Login {
        users_sent: u8,
    },
    CramMd5,
    /// NTLM without initial response: the next 334 is "ntlm supported".
    NtlmSupported,
    /// NTLM: waiting for the CHALLENGE blob.
    NtlmAwaitChallenge,
    /// Waiting for the caller's token. For NTLM `ntlm` is the one message type that may
    /// come next ([MS-SMTPNTLM] 3.1.1.1 / 3.1.5: the NEGOTIATE_MESSAGE after
    /// `334 ntlm supported`, the AUTHENTICATE_MESSAGE after the CHALLENGE); `None` for
    /// GSSAPI, whose tokens are opaque here.
    NeedToken {
        ntlm: Option<NtlmMessageType>,
    },
    GssapiFirst,
    GssapiAwait,
    Done,
}

/// One client-side SASL exchange. Pure: no IO.
///
/// On any `Err` the client cancels with [`b64::CANCEL_LINE`] (`*`) and expects `501`.
///
/// ```
/// use ehlo::sasl::{ClientCredentials, ClientExchange, Mechanism};
/// let creds = ClientCredentials::Password {
///     authzid: None,
///     username: "tim".into(),
///     password: "tanstaafl".into(),
/// };
/// let mut ex = ClientExchange::new(Mechanism::Plain, creds).unwrap();
/// let start = ex.start(true).unwrap(); // the server advertised SASL-IR-capable AUTH
/// assert_eq!(start.command_line("AUTH"), "AUTH PLAIN AHRpbQB0YW5zdGFhZmw=\r\n");
/// ```
#[derive(Clone)]
pub struct ClientExchange {
    mechanism: Mechanism,
    creds: ClientCredentials,
    state: State,
}

impl fmt::Debug for ClientExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The scripted lines hold BASE64 passwords: show only how many are left.
        let state = match &self.state {
            State::Scripted(lines) => format!("Scripted({} lines)", lines.len()),
            other => format!("{other:?}"),
        };
        f.debug_struct("ClientExchange")
            .field("mechanism", &self.mechanism)
            .field("creds", &self.creds)
            .field("state", &state)
            .finish()
    }
}

impl ClientExchange {
    /// Prepares an exchange, checking that the credentials fit the mechanism
    /// ([`SaslError::InvalidInput`] otherwise, and for values the mechanism cannot carry;
    /// [`SaslError::UnsupportedMechanism`] for [`Mechanism::Other`]).
    pub fn new(mechanism: Mechanism, creds: ClientCredentials) -> Result<Self, SaslError> {
        let ok = match (&mechanism, &creds) {
            (Mechanism::Other(_), _) => return Err(SaslError::UnsupportedMechanism),
            (
                Mechanism::Plain,
                ClientCredentials::Password {
                    authzid,
                    username,
                    password,
                },
            ) => PlainMessage::new(authzid.as_deref(), username, password).map(|_| ()),
            (
                Mechanism::Login,
                ClientCredentials::Password {
                    username, password, ..
                },
            ) => login::check_field(username).and_then(|_| login::check_field(password)),
            (Mechanism::CramMd5, ClientCredentials::Password { username, .. }) => {
                if username.is_empty() || username.chars().any(char::is_control) {
                    Err(SaslError::InvalidInput(
                        "CRAM-MD5 user name empty or with control characters",
                    ))
                } else {
                    Ok(())
                }
            }
            (Mechanism::XOAuth2, ClientCredentials::OAuth { user, token, .. }) => {
                XOAuth2Message::new(user, token).map(|_| ())
            }
            (Mechanism::OAuthBearer, ClientCredentials::OAuth { user, token, .. }) => {
                OAuthBearerMessage::new(Some(user), token).map(|_| ())
            }
            (Mechanism::Ntlm, ClientCredentials::External { initial_token }) => match initial_token
            {
                Some(t) if ntlm::message_type(t) != Some(NtlmMessageType::Negotiate) => Err(
                    SaslError::InvalidInput("NTLM initial token must be a NEGOTIATE_MESSAGE"),
                ),
                _ => Ok(()),
            },
            (Mechanism::Gssapi, ClientCredentials::External { .. }) => Ok(()),
            _ => Err(SaslError::InvalidInput(
                "credentials do not fit the mechanism",
            )),
        };
        ok?;
        Ok(ClientExchange {
            mechanism,
            creds,
            state: State::New,
        })
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> &Mechanism {
        &self.mechanism
    }

    /// The `AUTH` arguments. With `sasl_ir` (the caller wants an initial response) and a
    /// mechanism that [supports one](Mechanism::supports_initial_response), the first
    /// message rides on the command; CRAM-MD5 never sends one. The `AUTH` command stays
    /// subject to the SMTP command line limit ([`MAX_COMMAND_LINE`], 512 octets): if the
    /// initial response would push it over, it is left out and sent after the server's
    /// empty challenge instead (RFC 4954 section 4, RFC 4422 section 5.1).
    /// Call once.
    pub fn start(&mut self, sasl_ir: bool) -> Result<AuthStart, SaslError> {
        if !matches!(self.state, State::New) {
            return Err(SaslError::UnexpectedStep(self.mechanism.static_name()));
        }
        let ir = sasl_ir && self.mechanism.supports_initial_response();
        let start = self.begin(ir)?;
        // "X-EXPS" is the longest verb that carries an exchange.
        if ir && start.command_line("X-EXPS").len() > MAX_COMMAND_LINE {
            self.state = State::New;
            return self.begin(false);
        }
        Ok(start)
    }

    fn begin(&mut self, ir: bool) -> Result<AuthStart, SaslError> {
        let mut initial = None;
        self.state = match (&self.mechanism, &self.creds) {
            (
                Mechanism::Plain,
                ClientCredentials::Password {
                    authzid,
                    username,
                    password,
                },
            ) => {
                let m = PlainMessage::new(authzid.as_deref(), username, password)?;
                let line = b64::encode(&m.to_bytes());
                if ir {
                    initial = Some(line);
                    State::Done
                } else {
                    State::Scripted(vec![line])
                }
            }
            (Mechanism::Login, ClientCredentials::Password { username, .. }) => {
                // The answers are made per prompt in `login_answer`.
                if ir {
                    initial = Some(b64::encode(username.as_bytes()));
                }
                State::Login {
                    users_sent: u8::from(ir),
                }
            }
            (Mechanism::CramMd5, _) => State::CramMd5,
            (Mechanism::XOAuth2, ClientCredentials::OAuth { user, token, .. }) => {
                let line = b64::encode(&XOAuth2Message::new(user, token)?.to_bytes());
                self.oauth_first(ir, line, &mut initial)
            }
            (
                Mechanism::OAuthBearer,
                ClientCredentials::OAuth {
                    user,
                    token,
                    host,
                    port,
                },
            ) => {
                let mut m = OAuthBearerMessage::new(Some(user), token)?;
                if let Some(h) = host {
                    m = m.with_host(h);
                }
                if let Some(p) = port {
                    m = m.with_port(*p);
                }
                let line = b64::encode(&m.to_bytes());
                self.oauth_first(ir, line, &mut initial)
            }
            (Mechanism::Ntlm, ClientCredentials::External { initial_token }) => match initial_token
            {
                Some(t) if ir => {
                    initial = Some(b64::encode_initial_response(t));
                    State::NtlmAwaitChallenge
                }
                _ => State::NtlmSupported,
            },
            (Mechanism::Gssapi, ClientCredentials::External { initial_token }) => {
                match initial_token {
                    Some(t) if ir => {
                        initial = Some(b64::encode_initial_response(t));
                        State::GssapiAwait
                    }
                    _ => State::GssapiFirst,
                }
            }
            _ => {
                return Err(SaslError::InvalidInput(
                    "credentials do not fit the mechanism",
                ))
            }
        };
        Ok(AuthStart {
            mechanism: self.mechanism.clone(),
            initial_response: initial,
        })
    }

    fn oauth_first(&self, ir: bool, line: String, initial: &mut Option<String>) -> State {
        if ir {
            *initial = Some(line);
            State::OAuthSent
        } else {
            State::Scripted(vec![line])
        }
    }

    /// Whether the exchange is waiting for the caller's token ([`ClientStep::NeedToken`]).
    pub fn needs_token(&self) -> bool {
        matches!(self.state, State::NeedToken { .. })
    }

    /// Handles a `334` reply; `text` is what follows `"334 "` (CRLF stripped).
    pub fn challenge(&mut self, text: &[u8]) -> Result<ClientStep, SaslError> {
        let state = std::mem::replace(&mut self.state, State::Done);
        match state {
            State::Login { users_sent } => self.login_answer(text, users_sent),
            State::Scripted(mut lines) => {
                // PLAIN and the OAuth first message answer the one challenge; its text is
                // not interpreted.
                if lines.is_empty() {
                    return Err(SaslError::UnexpectedStep(self.mechanism.static_name()));
                }
                let line = lines.remove(0);
                self.state = if !lines.is_empty() {
                    State::Scripted(lines)
                } else if matches!(self.mechanism, Mechanism::XOAuth2 | Mechanism::OAuthBearer) {
                    State::OAuthSent
                } else {
                    State::Done
                };
                Ok(ClientStep::Send(line))
            }
            State::OAuthSent => {
                let raw = b64::decode_challenge(text)?;
                let line = if self.mechanism == Mechanism::XOAuth2 {
                    b64::encode(xoauth2::ERROR_ACK)
                } else {
                    b64::encode(oauthbearer::ERROR_ACK)
                };
                Ok(ClientStep::OAuthError {
                    error: OAuthError::parse(&raw).ok(),
                    raw,
                    line,
                })
            }
            State::CramMd5 => {
                let challenge = b64::decode_challenge(text)?;
                if challenge.is_empty() {
                    return Err(SaslError::Malformed {
                        mechanism: "CRAM-MD5",
                        reason: "empty challenge",
                    });
                }
                let (username, password) = self.password()?;
                let r = cram_md5::response(username, password, &challenge);
                Ok(ClientStep::Send(b64::encode(r.as_bytes())))
            }
            State::NtlmSupported => {
                // [MS-SMTPNTLM] 3.1.5.1: human-readable text, ignored.
                self.first_token(State::NtlmAwaitChallenge)
            }
            State::NtlmAwaitChallenge => {
                let data = b64::decode_challenge(text)?;
                let t = ntlm::message_type(&data);
                if t != Some(NtlmMessageType::Challenge) {
                    return Err(SaslError::Malformed {
                        mechanism: "NTLM",
                        reason: "server blob is not a CHALLENGE_MESSAGE",
                    });
                }
                self.state = State::NeedToken {
                    ntlm: Some(NtlmMessageType::Authenticate),
                };
                Ok(ClientStep::NeedToken { data, ntlm_type: t })
            }
            State::GssapiFirst => {
                // RFC 4954 section 4: the server asks for the client-first token with an
                // empty challenge; any data would be a protocol error. Exchange sends its
                // SASL_Mechanism_Supported message, `334 GSSAPI supported`, in place of
                // that empty challenge ([MS-OXSMTP] 2.2.1, 3.2.5.1): it means the same.
                if self.mechanism.is_supported_text(text) {
                    return self.first_token(State::GssapiAwait);
                }
                let data = b64::decode_challenge(text)?;
                if !data.is_empty() {
                    return Err(SaslError::Malformed {
                        mechanism: "GSSAPI",
                        reason: "non-empty first challenge",
                    });
                }
                self.first_token(State::GssapiAwait)
            }
            State::GssapiAwait => {
                let data = b64::decode_challenge(text)?;
                self.state = State::NeedToken { ntlm: None };
                Ok(ClientStep::NeedToken {
                    data,
                    ntlm_type: None,
                })
            }
            other @ (State::New | State::NeedToken { .. } | State::Done) => {
                self.state = other;
                Err(SaslError::UnexpectedStep(self.mechanism.static_name()))
            }
        }
    }

    /// LOGIN: answers by the decoded prompt (\[MS-XLOGIN\] 2.2: `Username:` then
    /// `Password:`, recognised by [`login::prompt_kind`]), so a server that ignores the
    /// initial response and asks `Username:` again gets the user name again, never the
    /// password. A prompt that is not recognisable is answered by position (user name
    /// first, then password). After the password the exchange is over.
    ///
    /// The user name goes out at most twice (once more than a server that ignored the
    /// initial response needs): a server asking for it again and again would otherwise
    /// hold the exchange open for ever, each prompt within its reply timeout. The next
    /// `Username:` is [`SaslError::UnexpectedStep`], on which the client cancels the
    /// exchange (RFC 4954 section 4: a line with a single `*`).
    fn login_answer(&mut self, text: &[u8], users_sent: u8) -> Result<ClientStep, SaslError> {
        let prompt = b64::decode_challenge(text)
            .ok()
            .and_then(|p| login::prompt_kind(&p));
        let send_user = match prompt {
            Some(login::LoginPrompt::Username) => true,
            Some(login::LoginPrompt::Password) => false,
            None => users_sent == 0,
        };
        if send_user && users_sent >= 2 {
            self.state = State::Login { users_sent };
            return Err(SaslError::UnexpectedStep(self.mechanism.static_name()));
        }
        let (username, password) = self.password()?;
        let answer = b64::encode(if send_user { username } else { password }.as_bytes());
        self.state = if send_user {
            State::Login {
                users_sent: users_sent + 1,
            }
        } else {
            State::Done
        };
        Ok(ClientStep::Send(answer))
    }

    /// The user name and password, for the mechanisms that take them.
    fn password(&self) -> Result<(&str, &str), SaslError> {
        match &self.creds {
            ClientCredentials::Password {
                username, password, ..
            } => Ok((username, password)),
            _ => Err(SaslError::InvalidInput(
                "credentials do not fit the mechanism",
            )),
        }
    }

    fn first_token(&mut self, after: State) -> Result<ClientStep, SaslError> {
        match &self.creds {
            ClientCredentials::External {
                initial_token: Some(t),
            } => {
                self.state = after;
                Ok(ClientStep::Send(b64::encode(t)))
            }
            _ => {
                self.state = State::NeedToken {
                    ntlm: (self.mechanism == Mechanism::Ntlm).then_some(NtlmMessageType::Negotiate),
                };
                Ok(ClientStep::NeedToken {
                    data: Vec::new(),
                    ntlm_type: None,
                })
            }
        }
    }

    /// NTLM / GSSAPI: the security package's answer to a [`ClientStep::NeedToken`].
    /// Returns the line to send (bare BASE64, \[MS-SMTPNTLM\] 2.2.1.7).
    ///
    /// For NTLM the order is fixed (\[MS-SMTPNTLM\] 3.1.1.1 client state model, 3.1.5
    /// sequencing rules, which defer to \[MS-NLMP\]): the NEGOTIATE_MESSAGE answers
    /// `334 ntlm supported`, the AUTHENTICATE_MESSAGE answers the CHALLENGE. Any other
    /// token, including the right kind at the wrong step, is [`SaslError::InvalidInput`]
    /// and leaves the exchange waiting for the right one. After the AUTHENTICATE the
    /// server's `235` / `535` ends the exchange.
    pub fn supply_token(&mut self, token: &[u8]) -> Result<String, SaslError> {
        let State::NeedToken { ntlm: expected } = self.state else {
            return Err(SaslError::UnexpectedStep(self.mechanism.static_name()));
        };
        self.state = match self.mechanism {
            Mechanism::Ntlm => match (expected, ntlm::message_type(token)) {
                (Some(NtlmMessageType::Negotiate), Some(NtlmMessageType::Negotiate)) => {
                    State::NtlmAwaitChallenge
                }
                (Some(NtlmMessageType::Authenticate), Some(NtlmMessageType::Authenticate)) => {
                    State::Done
                }
                (Some(NtlmMessageType::Negotiate), _) => {
                    return Err(SaslError::InvalidInput(
                        "NTLM client token must be the NEGOTIATE_MESSAGE here",
                    ))
                }
                _ => {
                    return Err(SaslError::InvalidInput(
                        "NTLM client token must be the AUTHENTICATE_MESSAGE here",
                    ))
                }
            },
            _ => State::GssapiAwait,
        };
        Ok(b64::encode_client_response(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::ntlm::tests::{MS_AUTHENTICATE, MS_CHALLENGE, MS_NEGOTIATE};

    fn pw(user: &str, pass: &str) -> ClientCredentials {
        ClientCredentials::Password {
            authzid: None,
            username: user.into(),
            password: pass.into(),
        }
    }

    #[test]
    fn plain() {
        let mut ex = ClientExchange::new(Mechanism::Plain, pw("tim", "tanstaafl")).unwrap();
        let s = ex.start(false).unwrap();
        assert_eq!(s.command_line("AUTH"), "AUTH PLAIN\r\n");
        assert_eq!(
            ex.challenge(b"").unwrap(),
            ClientStep::Send("AHRpbQB0YW5zdGFhZmw=".into())
        );
        assert!(ex.challenge(b"").is_err());
        assert!(ex.start(true).is_err());
        assert!(ClientExchange::new(Mechanism::Plain, pw("", "x")).is_err());
        assert!(format!("{:?}", pw("tim", "tanstaafl")).contains("redacted"));
        let mut ex = ClientExchange::new(Mechanism::Login, pw("tim", "tanstaafl")).unwrap();
        ex.start(false).unwrap();
        let dbg = format!("{ex:?}");
        assert!(
            !dbg.contains("dGFuc3RhYWZs") && !dbg.contains("tanstaafl"),
            "{dbg}"
        );
        assert!(!format!("{:?}", pw("tim", "tanstaafl")).contains("tanstaafl"));
    }

    #[test]
    fn oversized_initial_response_falls_back() {
        // "X-EXPS PLAIN " (13) + base64 + CRLF (2) <= 512: base64 <= 497, message <= 372.
        let mut ex = ClientExchange::new(Mechanism::Plain, pw("u", &"x".repeat(369))).unwrap();
        assert!(ex.start(true).unwrap().initial_response.is_some());
        let mut ex = ClientExchange::new(Mechanism::Plain, pw("u", &"x".repeat(370))).unwrap();
        assert_eq!(ex.start(true).unwrap().initial_response, None);
        let ClientStep::Send(line) = ex.challenge(b"").unwrap() else {
            panic!()
        };
        assert_eq!(b64::decode(line.as_bytes()).unwrap().len(), 373);
    }

    #[test]
    fn login_ms_xlogin() {
        let mut ex = ClientExchange::new(Mechanism::Login, pw("tim", "tanstaafl")).unwrap();
        assert_eq!(ex.start(false).unwrap().initial_response, None);
        assert_eq!(
            ex.challenge(b"VXNlcm5hbWU6").unwrap(),
            ClientStep::Send("dGlt".into())
        );
        assert_eq!(
            ex.challenge(b"UGFzc3dvcmQ6").unwrap(),
            ClientStep::Send("dGFuc3RhYWZs".into())
        );
        assert!(ex.challenge(b"").is_err());
        let mut ex = ClientExchange::new(Mechanism::Login, pw("tim", "tanstaafl")).unwrap();
        assert_eq!(
            ex.start(true).unwrap().command_line("X-EXPS"),
            "X-EXPS LOGIN dGlt\r\n"
        );
        assert_eq!(
            ex.challenge(b"UGFzc3dvcmQ6").unwrap(),
            ClientStep::Send("dGFuc3RhYWZs".into())
        );
    }

    #[test]
    fn login_answers_the_user_name_at_most_twice() {
        // A server that keeps asking for the user name (never for the password) would hold
        // the exchange open for ever.
        for ir in [false, true] {
            let mut ex = ClientExchange::new(Mechanism::Login, pw("tim", "tanstaafl")).unwrap();
            let sent_first = ex.start(ir).unwrap().initial_response.is_some();
            assert_eq!(sent_first, ir);
            let answered = (0..5)
                .take_while(|_| ex.challenge(b"VXNlcm5hbWU6").is_ok())
                .count();
            assert_eq!(answered, if ir { 1 } else { 2 }, "ir: {ir}");
            assert_eq!(
                ex.challenge(b"VXNlcm5hbWU6"),
                Err(SaslError::UnexpectedStep("LOGIN"))
            );
        }
        // Prompts it cannot read are answered by position: the user name once, then the
        // password, which ends the exchange.
        let mut ex = ClientExchange::new(Mechanism::Login, pw("tim", "tanstaafl")).unwrap();
        ex.start(false).unwrap();
        assert_eq!(ex.challenge(b"").unwrap(), ClientStep::Send("dGlt".into()));
        assert_eq!(
            ex.challenge(b"").unwrap(),
            ClientStep::Send("dGFuc3RhYWZs".into())
        );
    }

    #[test]
    fn cram_md5() {
        let mut ex =
            ClientExchange::new(Mechanism::CramMd5, pw("tim", "tanstaaftanstaaf")).unwrap();
        assert_eq!(ex.start(true).unwrap().initial_response, None);
        assert_eq!(
            ex.challenge(b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
                .unwrap(),
            ClientStep::Send("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw".into())
        );
        let mut ex = ClientExchange::new(Mechanism::CramMd5, pw("tim", "x")).unwrap();
        ex.start(false).unwrap();
        assert_eq!(ex.challenge(b"not base64!"), Err(SaslError::InvalidBase64));
    }

    #[test]
    fn oauthbearer_rfc7628() {
        let creds = ClientCredentials::OAuth {
            user: "user@example.com".into(),
            token: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==".into(),
            host: Some("server.example.com".into()),
            port: Some(143),
        };
        let mut ex = ClientExchange::new(Mechanism::OAuthBearer, creds).unwrap();
        assert_eq!(
            ex.start(true).unwrap().initial_response.as_deref(),
            Some("bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB")
        );
        let step = ex.challenge(b"eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=").unwrap();
        let ClientStep::OAuthError { error, line, .. } = step else {
            panic!()
        };
        assert_eq!(line, "AQ==");
        assert_eq!(error.unwrap().status, "invalid_token");
        assert!(ex.challenge(b"").is_err());
    }

    #[test]
    fn xoauth2_without_ir() {
        let creds = ClientCredentials::OAuth {
            user: "someuser@example.com".into(),
            token: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg".into(),
            host: None,
            port: None,
        };
        let mut ex = ClientExchange::new(Mechanism::XOAuth2, creds).unwrap();
        assert_eq!(
            ex.start(false).unwrap().command_line("AUTH"),
            "AUTH XOAUTH2\r\n"
        );
        assert_eq!(ex.challenge(b"").unwrap(), ClientStep::Send("dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==".into()));
        // Google's error challenge, then the empty answer.
        let json = b64::encode(
            br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#,
        );
        let ClientStep::OAuthError { error, line, .. } = ex.challenge(json.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(line, "");
        assert_eq!(error.unwrap().status, "401");
        assert!(ClientExchange::new(Mechanism::XOAuth2, pw("a", "b")).is_err());
    }

    #[test]
    fn ntlm_ms_smtpntlm_section_4_2() {
        let negotiate = b64::decode(MS_NEGOTIATE.as_bytes()).unwrap();
        let authenticate = b64::decode(MS_AUTHENTICATE.as_bytes()).unwrap();
        let mut ex = ClientExchange::new(
            Mechanism::Ntlm,
            ClientCredentials::External {
                initial_token: Some(negotiate.clone()),
            },
        )
        .unwrap();
        // C: AUTH NTLM
        assert_eq!(
            ex.start(false).unwrap().command_line("AUTH"),
            "AUTH NTLM\r\n"
        );
        // S: 334 ntlm supported  ->  C: <negotiate>
        assert_eq!(
            ex.challenge(b"ntlm supported").unwrap(),
            ClientStep::Send(MS_NEGOTIATE.into())
        );
        // S: 334 <challenge>
        let ClientStep::NeedToken { data, ntlm_type } =
            ex.challenge(MS_CHALLENGE.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(ntlm_type, Some(NtlmMessageType::Challenge));
        assert_eq!(b64::encode(&data), MS_CHALLENGE);
        assert!(ex.needs_token());
        assert!(
            ex.supply_token(&data).is_err(),
            "a type 2 is not a client token"
        );
        // C: <authenticate>
        assert_eq!(ex.supply_token(&authenticate).unwrap(), MS_AUTHENTICATE);
        assert!(ex.challenge(b"").is_err());

        // With SASL-IR the negotiate rides on AUTH and the first 334 is the challenge.
        let mut ex = ClientExchange::new(
            Mechanism::Ntlm,
            ClientCredentials::External {
                initial_token: Some(negotiate),
            },
        )
        .unwrap();
        assert_eq!(
            ex.start(true).unwrap().command_line("AUTH"),
            format!("AUTH NTLM {MS_NEGOTIATE}\r\n")
        );
        assert!(matches!(
            ex.challenge(MS_CHALLENGE.as_bytes()).unwrap(),
            ClientStep::NeedToken { .. }
        ));
        // A server that answers a negotiate with garbage gets a cancel.
        let mut ex = ClientExchange::new(
            Mechanism::Ntlm,
            ClientCredentials::External {
                initial_token: None,
            },
        )
        .unwrap();
        ex.start(true).unwrap();
        assert!(matches!(
            ex.challenge(b"ntlm supported").unwrap(),
            ClientStep::NeedToken {
                ntlm_type: None,
                ..
            }
        ));
        let negotiate = b64::decode(MS_NEGOTIATE.as_bytes()).unwrap();
        assert_eq!(ex.supply_token(&negotiate).unwrap(), MS_NEGOTIATE);
        assert!(ex.challenge(b"UnViYmlzaA==").is_err());
        assert!(ClientExchange::new(
            Mechanism::Ntlm,
            ClientCredentials::External {
                initial_token: Some(vec![1, 2, 3])
            }
        )
        .is_err());
    }

    #[test]
    fn gssapi() {
        let mut ex = ClientExchange::new(
            Mechanism::Gssapi,
            ClientCredentials::External {
                initial_token: Some(vec![0x60, 0x01]),
            },
        )
        .unwrap();
        assert_eq!(
            ex.start(false).unwrap().command_line("AUTH"),
            "AUTH GSSAPI\r\n"
        );
        assert_eq!(ex.challenge(b"").unwrap(), ClientStep::Send("YAE=".into()));
        assert_eq!(
            ex.challenge(b"AQAAAA==").unwrap(),
            ClientStep::NeedToken {
                data: vec![1, 0, 0, 0],
                ntlm_type: None
            }
        );
        assert_eq!(ex.supply_token(b"").unwrap(), "");
        assert!(ex.supply_token(b"").is_err());
        let mut ex = ClientExchange::new(
            Mechanism::Gssapi,
            ClientCredentials::External {
                initial_token: None,
            },
        )
        .unwrap();
        ex.start(true).unwrap();
        assert!(ex.challenge(b"AQ==").is_err());
    }
}
