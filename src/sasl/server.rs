//! The server-side step driver: client lines in, `334` challenges or credentials out.

use std::fmt;

use super::cram_md5::{self, CramMd5Challenge};
use super::ntlm::{self, NtlmMessageType};
use super::oauth::OAuthError;
use super::oauthbearer::OAuthBearerMessage;
use super::plain::PlainMessage;
use super::xoauth2::XOAuth2Message;
use super::{b64, login, Mechanism, SaslError};
use crate::syntax::command::{InitialResponse, SaslResponse};

/// What the client proved it knows, for the caller to verify. The crate never checks a
/// password or a token. `Debug` never prints passwords, digests or tokens.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// PLAIN (RFC 4616).
    Plain {
        /// Identity to act as, `None` when the client sent none.
        authzid: Option<String>,
        /// User name.
        authcid: String,
        /// Password.
        password: String,
    },
    /// LOGIN (\[MS-XLOGIN\]).
    Login {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// CRAM-MD5 (RFC 2195): check with [`cram_md5::verify`]`(secret, challenge, digest_hex)`.
    CramMd5 {
        /// User name.
        username: String,
        /// The client's HMAC-MD5 digest, 32 lowercase hex digits.
        digest_hex: String,
        /// The challenge the server sent.
        challenge: String,
    },
    /// XOAUTH2 or OAUTHBEARER: validate the token with the authorization server. On
    /// rejection call [`ServerExchange::oauth_error`] instead of replying `535` at once.
    OAuth {
        /// [`Mechanism::XOAuth2`] or [`Mechanism::OAuthBearer`].
        mechanism: Mechanism,
        /// XOAUTH2 `user`, or the OAUTHBEARER GS2 authorization identity if any.
        user: Option<String>,
        /// The bearer token.
        token: String,
        /// OAUTHBEARER `host`, if sent.
        host: Option<String>,
        /// OAUTHBEARER `port`, if sent.
        port: Option<u16>,
    },
}

impl Credentials {
    /// The mechanism these came from.
    pub fn mechanism(&self) -> Mechanism {
        match self {
            Credentials::Plain { .. } => Mechanism::Plain,
            Credentials::Login { .. } => Mechanism::Login,
            Credentials::CramMd5 { .. } => Mechanism::CramMd5,
            Credentials::OAuth { mechanism, .. } => mechanism.clone(),
        }
    }

    /// The user name / identity claimed, if any (for logs and the caller's lookup).
    pub fn username(&self) -> Option<&str> {
        match self {
            Credentials::Plain { authcid, .. } => Some(authcid),
            Credentials::Login { username, .. } | Credentials::CramMd5 { username, .. } => {
                Some(username)
            }
            Credentials::OAuth { user, .. } => user.as_deref(),
        }
    }

    /// The password a PLAIN or LOGIN client sent; `None` for the other mechanisms, which
    /// do not carry one. To check it against a stored password, prefer
    /// [`Credentials::verify_password`], which compares in constant time.
    pub fn password(&self) -> Option<&str> {
        match self {
            Credentials::Plain { password, .. } | Credentials::Login { password, .. } => {
                Some(password)
            }
            Credentials::CramMd5 { .. } | Credentials::OAuth { .. } => None,
        }
    }

    /// PLAIN's authorization identity (the identity to act as, RFC 4616 section 2), when
    /// the client sent a non-empty one; `None` for every other mechanism (the OAUTHBEARER
    /// authorization identity is [`Credentials::username`]).
    pub fn authzid(&self) -> Option<&str> {
        match self {
            Credentials::Plain { authzid, .. } => authzid.as_deref(),
            _ => None,
        }
    }

    /// Whether these are PLAIN or LOGIN credentials for `username` with `password`: the
    /// user name equals `username`, the password equals `password`, and a PLAIN
    /// authorization identity is absent or equal to the user name (acting as another user
    /// is not granted). `false` for the other mechanisms and for an empty `password`
    /// (RFC 4616's `passwd` is never empty, so an empty stored password admits nobody).
    ///
    /// The password comparison takes a time that does not depend on the password octets
    /// (no early exit at the first difference), so response timing does not reveal how
    /// much of a guess was right. The lengths of the two passwords, and whether the user
    /// names match, may still show in the timing.
    ///
    /// Strings are compared exactly, octet for octet. RFC 4616 section 2 asks a server to
    /// prepare both sides (SASLprep, RFC 4013) before comparing; this crate does not, so
    /// a caller that wants it prepares the stored strings and builds the comparison from
    /// [`Credentials::username`], [`Credentials::password`] and
    /// [`Credentials::authzid`] after preparing those too.
    ///
    /// ```
    /// use ehlo::sasl::{Credentials, Mechanism, ServerExchange, ServerStep};
    /// // C: AUTH PLAIN AHRpbQB0YW5zdGFhZmw=   ("\0tim\0tanstaafl")
    /// let (_, step) = ServerExchange::start(&Mechanism::Plain, Some(b"AHRpbQB0YW5zdGFhZmw=")).unwrap();
    /// let ServerStep::Verify(creds) = step else { unreachable!() };
    /// assert_eq!(creds.password(), Some("tanstaafl"));
    /// assert_eq!(creds.authzid(), None);
    /// assert!(creds.verify_password("tim", "tanstaafl"));
    /// assert!(!creds.verify_password("tim", "tanstaafm"));
    /// assert!(!creds.verify_password("tom", "tanstaafl"));
    /// ```
    pub fn verify_password(&self, username: &str, password: &str) -> bool {
        let (name_ok, sent) = match self {
            Credentials::Plain {
                authzid,
                authcid,
                password,
            } => {
                let acts_as_self = match authzid {
                    None => true,
                    Some(z) => z == authcid,
                };
                (authcid == username && acts_as_self, password)
            }
            Credentials::Login {
                username: name,
                password,
            } => (name == username, password),
            Credentials::CramMd5 { .. } | Credentials::OAuth { .. } => return false,
        };
        // Both checks run whatever the first one says.
        let password_ok = super::constant_time_eq(sent.as_bytes(), password.as_bytes());
        name_ok & password_ok & !password.is_empty()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const R: &str = "<redacted>";
        match self {
            Credentials::Plain {
                authzid, authcid, ..
            } => f
                .debug_struct("Plain")
                .field("authzid", authzid)
                .field("authcid", authcid)
                .field("password", &R)
                .finish(),
            Credentials::Login { username, .. } => f
                .debug_struct("Login")
                .field("username", username)
                .field("password", &R)
                .finish(),
            Credentials::CramMd5 {
                username,
                challenge,
                ..
            } => f
                .debug_struct("CramMd5")
                .field("username", username)
                .field("digest_hex", &R)
                .field("challenge", challenge)
                .finish(),
            Credentials::OAuth {
                mechanism,
                user,
                host,
                port,
                ..
            } => f
                .debug_struct("OAuth")
                .field("mechanism", mechanism)
                .field("user", user)
                .field("token", &R)
                .field("host", host)
                .field("port", port)
                .finish(),
        }
    }
}

/// What the server does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStep {
    /// Send `334 <text>` (the text is already BASE64, or the human-readable
    /// `ntlm supported` of \[MS-SMTPNTLM\] 2.2.1.2; empty text means the line `"334 "`), then
    /// feed the client's next line to [`ServerExchange::step`].
    Challenge(String),
    /// The exchange is complete on the wire: verify these credentials, then reply
    /// [`AuthReply::SUCCEEDED`](super::AuthReply::SUCCEEDED) or
    /// [`AuthReply::INVALID_CREDENTIALS`](super::AuthReply::INVALID_CREDENTIALS)
    /// (for OAuth, [`ServerExchange::oauth_error`] first).
    Verify(Credentials),
    /// NTLM or GSSAPI: give this token to the caller's security package. Then either call
    /// [`ServerExchange::send_token`] with its answer, or end the exchange with `235`
    /// (success) or `535` (NTLM: [`AuthReply::NTLM_FAILED`](super::AuthReply::NTLM_FAILED)).
    Token {
        /// [`Mechanism::Ntlm`] or [`Mechanism::Gssapi`].
        mechanism: Mechanism,
        /// For NTLM, the recognised message type (always `Negotiate` or `Authenticate`
        /// here: anything else was refused).
        ntlm_type: Option<NtlmMessageType>,
        /// The decoded token.
        data: Vec<u8>,
    },
}

impl ServerStep {
    /// For [`ServerStep::Challenge`], the exact line to write, `"334 <text>\r\n"`.
    ///
    /// Write it as is, not through the wrapping [`Reply`](crate::syntax::reply::Reply)
    /// serializer: a challenge is one line of up to 12,288 octets (RFC 4954 section 4),
    /// and splitting a long GSSAPI or NTLM token over several `334-` lines would corrupt it.
    pub fn challenge_line(&self) -> Option<String> {
        match self {
            ServerStep::Challenge(text) => Some(format!("334 {text}\r\n")),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum State {
    Plain,
    LoginUser,
    LoginPassword(String),
    CramMd5(CramMd5Challenge),
    OAuth,
    /// Credentials handed out; the caller may still send an OAuth error challenge.
    OAuthVerifying,
    OAuthErrorSent,
    /// Waiting for a client NTLM blob of this type.
    NtlmAwait(NtlmMessageType),
    /// The caller holds a NEGOTIATE and must answer with a CHALLENGE blob.
    NtlmNeedChallenge,
    GssapiAwait,
    GssapiNeedToken,
    Done,
}

/// One server-side SASL exchange (RFC 4954 section 4), pure: no IO, no clock, no
/// randomness.
///
/// ```
/// use ehlo::sasl::{Credentials, Mechanism, ServerExchange, ServerStep};
/// // C: AUTH LOGIN
/// let (mut ex, step) = ServerExchange::start(&Mechanism::Login, None).unwrap();
/// assert_eq!(step, ServerStep::Challenge("VXNlcm5hbWU6".into())); // S: 334 VXNlcm5hbWU6
/// let step = ex.step(b"dGlt").unwrap(); // C: dGlt ("tim")
/// assert_eq!(step, ServerStep::Challenge("UGFzc3dvcmQ6".into())); // S: 334 UGFzc3dvcmQ6
/// let step = ex.step(b"dGFuc3RhYWZs").unwrap(); // C: dGFuc3RhYWZs ("tanstaafl")
/// let ServerStep::Verify(creds) = step else { panic!() };
/// assert_eq!(creds, Credentials::Login { username: "tim".into(), password: "tanstaafl".into() });
/// // The caller checks the password, then replies 235 2.7.0 or 535 5.7.8.
/// ```
#[derive(Debug, Clone)]
pub struct ServerExchange {
    mechanism: Mechanism,
    state: State,
}

impl ServerExchange {
    /// Starts an exchange for `AUTH <mechanism> [initial_response]`.
    ///
    /// `initial_response` is the raw argument text (BASE64, or `=` for an empty response).
    /// Supported: PLAIN, LOGIN, XOAUTH2, OAUTHBEARER, NTLM, GSSAPI. CRAM-MD5 needs a
    /// challenge, use [`ServerExchange::start_cram_md5`]; it and unknown mechanisms give
    /// [`SaslError::UnsupportedMechanism`] here.
    ///
    /// Errors end the AUTH command with [`SaslError::reply`].
    pub fn start(
        mechanism: &Mechanism,
        initial_response: Option<&[u8]>,
    ) -> Result<(ServerExchange, ServerStep), SaslError> {
        let state = match mechanism {
            Mechanism::Plain => State::Plain,
            Mechanism::Login => State::LoginUser,
            Mechanism::XOAuth2 | Mechanism::OAuthBearer => State::OAuth,
            Mechanism::Ntlm => State::NtlmAwait(NtlmMessageType::Negotiate),
            Mechanism::Gssapi => State::GssapiAwait,
            Mechanism::CramMd5 | Mechanism::Other(_) => {
                return Err(SaslError::UnsupportedMechanism)
            }
        };
        let mut ex = ServerExchange {
            mechanism: mechanism.clone(),
            state,
        };
        let step = match initial_response {
            Some(ir) => {
                let data = b64::decode_initial_response(ir)?;
                ex.advance(data)?
            }
            None => match ex.state {
                State::LoginUser => ServerStep::Challenge(login::USERNAME_CHALLENGE_TEXT.into()),
                State::NtlmAwait(_) => ServerStep::Challenge(ntlm::SUPPORTED_TEXT.into()),
                // PLAIN, OAuth, GSSAPI: the client speaks first; ask with an empty
                // challenge (RFC 4954 section 4, RFC 4422 section 5 item 1).
                _ => ServerStep::Challenge(String::new()),
            },
        };
        Ok((ex, step))
    }

    /// [`ServerExchange::start`] with the syntax layer's parsed initial response.
    pub fn start_parsed(
        mechanism: &Mechanism,
        initial_response: Option<&InitialResponse<'_>>,
    ) -> Result<(ServerExchange, ServerStep), SaslError> {
        let raw = initial_response.map(|ir| match ir {
            InitialResponse::Empty => &b"="[..],
            InitialResponse::Base64(s) => s.as_bytes(),
        });
        Self::start(mechanism, raw)
    }

    /// Starts a CRAM-MD5 exchange with the caller's challenge (RFC 2195). An initial
    /// response is refused with [`SaslError::UnexpectedInitialResponse`] (`501`): the server
    /// speaks first (RFC 4954 section 4).
    pub fn start_cram_md5(
        challenge: CramMd5Challenge,
        initial_response: Option<&[u8]>,
    ) -> Result<(ServerExchange, ServerStep), SaslError> {
        if initial_response.is_some() {
            return Err(SaslError::UnexpectedInitialResponse("CRAM-MD5"));
        }
        let text = b64::challenge_text(challenge.as_bytes());
        Ok((
            ServerExchange {
                mechanism: Mechanism::CramMd5,
                state: State::CramMd5(challenge),
            },
            ServerStep::Challenge(text),
        ))
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> &Mechanism {
        &self.mechanism
    }

    /// Whether the next input is a client line for [`ServerExchange::step`] (as opposed to
    /// a decision of the caller, or nothing because the exchange is over).
    pub fn expects_client_line(&self) -> bool {
        matches!(
            self.state,
            State::Plain
                | State::LoginUser
                | State::LoginPassword(_)
                | State::CramMd5(_)
                | State::OAuth
                | State::OAuthErrorSent
                | State::NtlmAwait(_)
                | State::GssapiAwait
        )
    }

    /// Feeds one client continuation line (CRLF stripped, at most
    /// [`crate::limits::MAX_SASL_LINE`] octets: the machine enforces the limit with
    /// `500 5.5.6`). `*` cancels ([`SaslError::Cancelled`], `501 5.0.0`).
    ///
    /// Any error ends the exchange: send [`SaslError::reply`].
    pub fn step(&mut self, line: &[u8]) -> Result<ServerStep, SaslError> {
        if !self.expects_client_line() {
            return Err(SaslError::UnexpectedStep(self.mechanism.static_name()));
        }
        let data = match b64::decode_client_response(line) {
            Ok(d) => d,
            Err(e) => {
                self.state = State::Done;
                return Err(e);
            }
        };
        self.advance(data)
    }

    /// [`ServerExchange::step`] with the syntax layer's parsed continuation line
    /// ([`crate::syntax::command::parse_sasl_response`]).
    pub fn step_parsed(&mut self, response: &SaslResponse<'_>) -> Result<ServerStep, SaslError> {
        match response {
            SaslResponse::Cancel => self.step(b"*"),
            SaslResponse::Base64(s) => self.step(s.as_bytes()),
        }
    }

    fn advance(&mut self, data: Vec<u8>) -> Result<ServerStep, SaslError> {
        let state = std::mem::replace(&mut self.state, State::Done);
        match state {
            State::Plain => {
                let m = PlainMessage::parse(&data)?;
                Ok(ServerStep::Verify(Credentials::Plain {
                    authzid: m.authzid,
                    authcid: m.authcid,
                    password: m.password,
                }))
            }
            State::LoginUser => {
                let user = login::parse_field(&data)?;
                self.state = State::LoginPassword(user);
                Ok(ServerStep::Challenge(login::PASSWORD_CHALLENGE_TEXT.into()))
            }
            State::LoginPassword(username) => {
                let password = login::parse_field(&data)?;
                Ok(ServerStep::Verify(Credentials::Login {
                    username,
                    password,
                }))
            }
            State::CramMd5(challenge) => {
                let (username, digest_hex) = cram_md5::parse_response(&data)?;
                Ok(ServerStep::Verify(Credentials::CramMd5 {
                    username,
                    digest_hex,
                    challenge: challenge.as_str().to_owned(),
                }))
            }
            State::OAuth => {
                let creds = if self.mechanism == Mechanism::XOAuth2 {
                    let m = XOAuth2Message::parse(&data)?;
                    Credentials::OAuth {
                        mechanism: Mechanism::XOAuth2,
                        user: Some(m.user),
                        token: m.token,
                        host: None,
                        port: None,
                    }
                } else {
                    let m = OAuthBearerMessage::parse(&data)?;
                    Credentials::OAuth {
                        mechanism: Mechanism::OAuthBearer,
                        user: m.authzid,
                        token: m.token,
                        host: m.host,
                        port: m.port,
                    }
                };
                self.state = State::OAuthVerifying;
                Ok(ServerStep::Verify(creds))
            }
            // RFC 7628 section 3.2.3: whatever the client answers, the server fails.
            State::OAuthErrorSent => Err(SaslError::AuthenticationFailed),
            State::NtlmAwait(expected) => {
                let t = ntlm::message_type(&data);
                if t != Some(expected) {
                    return Err(SaslError::Malformed {
                        mechanism: "NTLM",
                        reason: "not the expected NTLMSSP message",
                    });
                }
                if expected == NtlmMessageType::Negotiate {
                    self.state = State::NtlmNeedChallenge;
                }
                Ok(ServerStep::Token {
                    mechanism: Mechanism::Ntlm,
                    ntlm_type: t,
                    data,
                })
            }
            State::GssapiAwait => {
                self.state = State::GssapiNeedToken;
                Ok(ServerStep::Token {
                    mechanism: Mechanism::Gssapi,
                    ntlm_type: None,
                    data,
                })
            }
            other => {
                self.state = other;
                Err(SaslError::UnexpectedStep(self.mechanism.static_name()))
            }
        }
    }

    /// NTLM / GSSAPI: the caller's security package produced `token` (for NTLM, the
    /// CHALLENGE_MESSAGE); returns the `334` challenge carrying it
    /// (\[MS-SMTPNTLM\] 2.2.2: `334 <base64>`). For NTLM the token must be an NTLMSSP
    /// type-2 message, otherwise [`SaslError::InvalidInput`].
    ///
    /// XOAUTH2 / OAUTHBEARER, after [`ServerStep::Verify`]: `token` is the error JSON the
    /// caller's authorization server produced, sent as is (the raw-bytes form of
    /// [`ServerExchange::oauth_error`], RFC 7628 section 3.2.2); the client's dummy answer
    /// then fails the exchange with `535 5.7.8`.
    pub fn send_token(&mut self, token: &[u8]) -> Result<ServerStep, SaslError> {
        match self.state {
            State::NtlmNeedChallenge => {
                if ntlm::message_type(token) != Some(NtlmMessageType::Challenge) {
                    return Err(SaslError::InvalidInput(
                        "NTLM server token must be a CHALLENGE_MESSAGE",
                    ));
                }
                self.state = State::NtlmAwait(NtlmMessageType::Authenticate);
            }
            State::GssapiNeedToken => self.state = State::GssapiAwait,
            // XOAUTH2 / OAUTHBEARER after `Verify`: the token is the caller's JSON error
            // (RFC 7628 section 3.2.2), as with [`ServerExchange::oauth_error`].
            State::OAuthVerifying => self.state = State::OAuthErrorSent,
            _ => return Err(SaslError::UnexpectedStep(self.mechanism.static_name())),
        }
        Ok(ServerStep::Challenge(b64::challenge_text(token)))
    }

    /// XOAUTH2 / OAUTHBEARER: the caller rejected the token. Returns the `334` challenge
    /// carrying the JSON error (RFC 7628 section 3.2.2). The client's next line (its
    /// dummy answer) then makes [`ServerExchange::step`] return
    /// [`SaslError::AuthenticationFailed`] (`535 5.7.8`), or [`SaslError::Cancelled`] for `*`.
    pub fn oauth_error(&mut self, error: &OAuthError) -> Result<ServerStep, SaslError> {
        match self.state {
            State::OAuthVerifying => {
                self.state = State::OAuthErrorSent;
                Ok(ServerStep::Challenge(b64::challenge_text(
                    error.to_json().as_bytes(),
                )))
            }
            _ => Err(SaslError::UnexpectedStep(self.mechanism.static_name())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(step: ServerStep) -> Credentials {
        match step {
            ServerStep::Verify(c) => c,
            other => panic!("expected Verify, got {other:?}"),
        }
    }

    fn plain(authzid: Option<&str>, authcid: &str, password: &str) -> Credentials {
        Credentials::Plain {
            authzid: authzid.map(str::to_owned),
            authcid: authcid.into(),
            password: password.into(),
        }
    }

    fn login(username: &str, password: &str) -> Credentials {
        Credentials::Login {
            username: username.into(),
            password: password.into(),
        }
    }

    /// A CRAM-MD5 and an OAuth credential for "tim", whose digest and token are
    /// "tanstaafl": neither carries a password.
    fn without_password() -> [Credentials; 2] {
        [
            Credentials::CramMd5 {
                username: "tim".into(),
                digest_hex: "tanstaafl".into(),
                challenge: "<1896.697170952@postoffice.example.net>".into(),
            },
            Credentials::OAuth {
                mechanism: Mechanism::OAuthBearer,
                user: Some("tim".into()),
                token: "tanstaafl".into(),
                host: None,
                port: None,
            },
        ]
    }

    #[test]
    fn password_and_authzid_accessors() {
        assert_eq!(plain(None, "tim", "pw").password(), Some("pw"));
        assert_eq!(plain(Some("ursel"), "tim", "pw").authzid(), Some("ursel"));
        assert_eq!(plain(None, "tim", "pw").authzid(), None);
        assert_eq!(login("tim", "tanstaafl").password(), Some("tanstaafl"));
        assert_eq!(login("tim", "tanstaafl").authzid(), None);
        for other in without_password() {
            assert_eq!((other.password(), other.authzid()), (None, None));
        }
    }

    #[test]
    fn verify_password() {
        assert!(plain(None, "tim", "tanstaafl").verify_password("tim", "tanstaafl"));
        assert!(plain(Some("tim"), "tim", "tanstaafl").verify_password("tim", "tanstaafl"));
        assert!(login("tim", "tanstaafl").verify_password("tim", "tanstaafl"));
        // Acting as another user is not granted.
        assert!(!plain(Some("root"), "tim", "tanstaafl").verify_password("tim", "tanstaafl"));
        for c in [plain(None, "tim", "tanstaafl"), login("tim", "tanstaafl")] {
            assert!(!c.verify_password("tim", "tanstaafL"), "{c:?}");
            assert!(!c.verify_password("tim", "tanstaaf"), "{c:?}");
            assert!(!c.verify_password("tim", "tanstaafl "), "{c:?}");
            assert!(!c.verify_password("Tim", "tanstaafl"), "{c:?}");
            assert!(!c.verify_password("", "tanstaafl"), "{c:?}");
            assert!(!c.verify_password("tim", ""), "{c:?}");
        }
        // An empty stored password admits nobody, not even a LOGIN client sending none.
        assert!(!login("tim", "").verify_password("tim", ""));
        // Exact comparison: no case folding, no SASLprep.
        assert!(!login("tim", "I\u{AD}X").verify_password("tim", "IX"));
        // Mechanisms without a password never verify.
        for other in without_password() {
            assert!(!other.verify_password("tim", "tanstaafl"), "{other:?}");
        }
    }

    #[test]
    fn constant_time_eq_compares_every_octet() {
        assert!(crate::sasl::constant_time_eq(b"", b""));
        assert!(crate::sasl::constant_time_eq(b"abc", b"abc"));
        assert!(!crate::sasl::constant_time_eq(b"abc", b"abd"));
        assert!(!crate::sasl::constant_time_eq(b"xbc", b"abc"));
        assert!(!crate::sasl::constant_time_eq(b"abc", b"abcd"));
        assert!(!crate::sasl::constant_time_eq(&[0x80], &[0x00]));
    }

    #[test]
    fn plain_with_and_without_initial_response() {
        let (_, step) =
            ServerExchange::start(&Mechanism::Plain, Some(b"AHRpbQB0YW5zdGFhZmw=")).unwrap();
        assert_eq!(
            creds(step),
            Credentials::Plain {
                authzid: None,
                authcid: "tim".into(),
                password: "tanstaafl".into()
            }
        );
        let (mut ex, step) = ServerExchange::start(&Mechanism::Plain, None).unwrap();
        assert_eq!(step, ServerStep::Challenge(String::new()));
        assert!(ex.expects_client_line());
        assert!(matches!(
            ex.step(b"AHRpbQB0YW5zdGFhZmw=").unwrap(),
            ServerStep::Verify(_)
        ));
        assert!(!ex.expects_client_line());
        assert_eq!(
            ex.step(b"AHRpbQB0YW5zdGFhZmw="),
            Err(SaslError::UnexpectedStep("PLAIN"))
        );
        assert_eq!(
            ServerExchange::start(&Mechanism::Plain, Some(b"=")).unwrap_err(),
            SaslError::Malformed {
                mechanism: "PLAIN",
                reason: "expected exactly two NUL separators"
            }
        );
        let (mut ex, _) = ServerExchange::start(&Mechanism::Plain, None).unwrap();
        assert_eq!(ex.step(b"*"), Err(SaslError::Cancelled));
        let (mut ex, _) = ServerExchange::start(&Mechanism::Plain, None).unwrap();
        assert_eq!(ex.step(b"!!"), Err(SaslError::InvalidBase64));
        assert_eq!(
            ServerExchange::start(&Mechanism::Plain, Some(b"!!")).unwrap_err(),
            SaslError::InvalidBase64
        );
    }

    #[test]
    fn parsed_inputs() {
        use crate::syntax::command::parse_sasl_response;
        let (mut ex, step) = ServerExchange::start_parsed(
            &Mechanism::Login,
            Some(&InitialResponse::Base64("dGlt".into())),
        )
        .unwrap();
        assert_eq!(step.challenge_line().unwrap(), "334 UGFzc3dvcmQ6\r\n");
        let r = parse_sasl_response(b"dGFuc3RhYWZs\r\n").unwrap();
        assert!(matches!(ex.step_parsed(&r).unwrap(), ServerStep::Verify(_)));
        let (mut ex, _) = ServerExchange::start_parsed(&Mechanism::Gssapi, None).unwrap();
        assert_eq!(
            ex.step_parsed(&SaslResponse::Cancel),
            Err(SaslError::Cancelled)
        );
        let (_, step) =
            ServerExchange::start_parsed(&Mechanism::Gssapi, Some(&InitialResponse::Empty))
                .unwrap();
        assert!(matches!(step, ServerStep::Token { data, .. } if data.is_empty()));
        assert_eq!(
            ServerStep::Challenge(String::new())
                .challenge_line()
                .unwrap(),
            "334 \r\n"
        );
    }

    #[test]
    fn login_with_initial_user_name() {
        let (mut ex, step) = ServerExchange::start(&Mechanism::Login, Some(b"dGlt")).unwrap();
        assert_eq!(step, ServerStep::Challenge("UGFzc3dvcmQ6".into()));
        assert_eq!(
            creds(ex.step(b"dGFuc3RhYWZs").unwrap()),
            Credentials::Login {
                username: "tim".into(),
                password: "tanstaafl".into()
            }
        );
        let (mut ex, _) = ServerExchange::start(&Mechanism::Login, None).unwrap();
        assert!(ex.step(b"").is_err());
    }

    #[test]
    fn cram_md5_rfc2195() {
        let c = CramMd5Challenge::new("1896", 697_170_952, "postoffice.reston.mci.net").unwrap();
        let (mut ex, step) = ServerExchange::start_cram_md5(c.clone(), None).unwrap();
        assert_eq!(
            step,
            ServerStep::Challenge(
                "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+".into()
            )
        );
        let cr = creds(
            ex.step(b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw")
                .unwrap(),
        );
        let Credentials::CramMd5 {
            username,
            digest_hex,
            challenge,
        } = &cr
        else {
            panic!()
        };
        assert_eq!(username, "tim");
        assert!(cram_md5::verify(
            "tanstaaftanstaaf",
            challenge.as_bytes(),
            digest_hex
        ));
        assert!(!format!("{cr:?}").contains("b913"));
        assert_eq!(
            ServerExchange::start_cram_md5(c, Some(b"dGlt")).unwrap_err(),
            SaslError::UnexpectedInitialResponse("CRAM-MD5")
        );
        assert_eq!(
            ServerExchange::start(&Mechanism::CramMd5, None).unwrap_err(),
            SaslError::UnsupportedMechanism
        );
    }

    #[test]
    fn oauthbearer_failure_dance() {
        // RFC 7628 section 4.3.
        let ir = b"bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
        let (mut ex, step) = ServerExchange::start(&Mechanism::OAuthBearer, Some(ir)).unwrap();
        let Credentials::OAuth {
            user, token, port, ..
        } = creds(step)
        else {
            panic!()
        };
        assert_eq!(user.as_deref(), Some("user@example.com"));
        assert_eq!(token, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
        assert_eq!(port, Some(143));
        assert!(!ex.expects_client_line());
        let e = OAuthError::new("invalid_token")
            .with_scope("example_scope")
            .with_openid_configuration("https://example.com/.well-known/openid-configuration");
        assert_eq!(ex.oauth_error(&e).unwrap(), ServerStep::Challenge("eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=".into()));
        assert!(ex.oauth_error(&e).is_err());
        assert_eq!(ex.step(b"AQ=="), Err(SaslError::AuthenticationFailed));
        assert!(ex.step(b"AQ==").is_err());
    }

    #[test]
    fn xoauth2() {
        let (mut ex, step) = ServerExchange::start(&Mechanism::XOAuth2, None).unwrap();
        assert_eq!(step, ServerStep::Challenge(String::new()));
        let c = creds(ex.step(b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==").unwrap());
        assert_eq!(c.username(), Some("someuser@example.com"));
        assert_eq!(c.mechanism(), Mechanism::XOAuth2);
        assert!(matches!(
            ex.oauth_error(&OAuthError::new("401")).unwrap(),
            ServerStep::Challenge(_)
        ));
        assert_eq!(ex.step(b"*"), Err(SaslError::Cancelled));
        // The raw-bytes form of the error challenge, through send_token.
        let (mut ex, step) = ServerExchange::start(
            &Mechanism::XOAuth2,
            Some(b"dXNlcj1hAWF1dGg9QmVhcmVyIHQBAQ=="),
        )
        .unwrap();
        assert!(matches!(step, ServerStep::Verify(_)));
        assert_eq!(
            ex.send_token(br#"{"status":"401"}"#).unwrap(),
            ServerStep::Challenge("eyJzdGF0dXMiOiI0MDEifQ==".into())
        );
        assert!(ex.send_token(b"{}").is_err());
        assert_eq!(ex.step(b""), Err(SaslError::AuthenticationFailed));
    }

    #[test]
    fn ntlm_ms_smtpntlm_section_4_2() {
        use crate::sasl::ntlm::tests::{MS_AUTHENTICATE, MS_CHALLENGE, MS_NEGOTIATE};
        // C: AUTH NTLM / S: 334 ntlm supported
        let (mut ex, step) = ServerExchange::start(&Mechanism::Ntlm, None).unwrap();
        assert_eq!(step, ServerStep::Challenge("ntlm supported".into()));
        // C: <negotiate>
        let ServerStep::Token {
            ntlm_type, data, ..
        } = ex.step(MS_NEGOTIATE.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(ntlm_type, Some(NtlmMessageType::Negotiate));
        assert!(!ex.expects_client_line());
        assert!(ex.send_token(&data).is_err(), "type 1 is not a challenge");
        // S: 334 <challenge>
        let challenge = b64::decode(MS_CHALLENGE.as_bytes()).unwrap();
        assert_eq!(
            ex.send_token(&challenge).unwrap(),
            ServerStep::Challenge(MS_CHALLENGE.into())
        );
        // C: <authenticate>
        let ServerStep::Token { ntlm_type, .. } = ex.step(MS_AUTHENTICATE.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert_eq!(ntlm_type, Some(NtlmMessageType::Authenticate));
        // The caller's NTLM software says no: S: 535 5.7.3 Authentication unsuccessful
        assert_eq!(
            crate::sasl::AuthReply::NTLM_FAILED.line(),
            "535 5.7.3 Authentication unsuccessful\r\n"
        );
        assert!(!ex.expects_client_line());
        assert!(ex.step(b"").is_err());
        // With the negotiate as initial response the first reply is the challenge blob.
        let (_, step) =
            ServerExchange::start(&Mechanism::Ntlm, Some(MS_NEGOTIATE.as_bytes())).unwrap();
        assert!(matches!(step, ServerStep::Token { .. }));
        // Wrong order: an AUTHENTICATE first.
        assert!(ServerExchange::start(&Mechanism::Ntlm, Some(MS_AUTHENTICATE.as_bytes())).is_err());
    }

    #[test]
    fn gssapi_passthrough() {
        let (mut ex, step) = ServerExchange::start(&Mechanism::Gssapi, Some(b"AAEC")).unwrap();
        assert_eq!(
            step,
            ServerStep::Token {
                mechanism: Mechanism::Gssapi,
                ntlm_type: None,
                data: vec![0, 1, 2]
            }
        );
        assert_eq!(ex.step(b""), Err(SaslError::UnexpectedStep("GSSAPI")));
        assert_eq!(
            ex.send_token(b"").unwrap(),
            ServerStep::Challenge(String::new())
        );
        assert!(matches!(ex.step(b"").unwrap(), ServerStep::Token { data, .. } if data.is_empty()));
        assert_eq!(
            ex.send_token(&[1, 0, 0, 0]).unwrap(),
            ServerStep::Challenge("AQAAAA==".into())
        );
        assert!(ex.step(b"AQAAAA==").is_ok());
    }
}
