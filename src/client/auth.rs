//! Choosing a SASL mechanism (RFC 4954 section 4) and driving the mechanisms the client
//! runs itself.

use super::config::Credentials;

/// What the client answers to a `334` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send these octets (base64-encoded on the wire).
    Respond(Vec<u8>),
    /// Send `*` (RFC 4954 section 4: cancel the exchange).
    Cancel,
}

/// A mechanism the client drives, or the caller.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Driver {
    /// PLAIN (RFC 4616): one message `authzid NUL authcid NUL passwd`.
    Plain { message: Vec<u8>, sent: bool },
    /// LOGIN (\[MS-XLOGIN\]): user name, then password, each after a `334`.
    Login {
        user: Vec<u8>,
        pass: Vec<u8>,
        step: u8,
    },
    /// OAUTHBEARER (RFC 7628) and XOAUTH2: one message; after an error challenge the
    /// client sends the dummy answer (`%x01` for OAUTHBEARER, RFC 7628 3.2.3; empty for
    /// XOAUTH2) and the server follows with its failure reply.
    Bearer {
        message: Vec<u8>,
        dummy: &'static [u8],
        sent: bool,
    },
    /// The caller answers every step.
    External,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Driver::Plain { .. } => "Plain",
            Driver::Login { .. } => "Login",
            Driver::Bearer { .. } => "Bearer",
            Driver::External => "External",
        })
    }
}

impl Driver {
    /// The initial response, if the mechanism has one (RFC 4954 section 4).
    pub(crate) fn initial(&self) -> Option<&[u8]> {
        match self {
            Driver::Plain { message, .. } | Driver::Bearer { message, .. } => Some(message),
            Driver::Login { .. } | Driver::External => None,
        }
    }

    /// Records that the initial response went out with the AUTH command.
    pub(crate) fn initial_sent(&mut self) {
        match self {
            Driver::Plain { sent, .. } | Driver::Bearer { sent, .. } => *sent = true,
            Driver::Login { .. } | Driver::External => {}
        }
    }

    /// Answers one challenge (already base64-decoded; LOGIN ignores its text, because
    /// servers vary the prompt's spelling).
    pub(crate) fn step(&mut self, _challenge: &[u8]) -> Step {
        match self {
            Driver::Plain { message, sent } => {
                if *sent {
                    Step::Cancel
                } else {
                    *sent = true;
                    Step::Respond(message.clone())
                }
            }
            Driver::Login { user, pass, step } => {
                *step = step.saturating_add(1);
                match *step {
                    1 => Step::Respond(user.clone()),
                    2 => Step::Respond(pass.clone()),
                    _ => Step::Cancel,
                }
            }
            Driver::Bearer {
                message,
                dummy,
                sent,
            } => {
                if *sent {
                    Step::Respond(dummy.to_vec())
                } else {
                    *sent = true;
                    Step::Respond(message.clone())
                }
            }
            Driver::External => Step::Cancel,
        }
    }
}

/// Whether a mechanism exposes the secret to anyone reading the connection.
pub(crate) fn is_plaintext(mechanism: &str) -> bool {
    [
        "PLAIN",
        "LOGIN",
        "XOAUTH2",
        "OAUTHBEARER",
        "XOAUTH",
        "PLAIN-CLIENTTOKEN",
    ]
    .iter()
    .any(|m| m.eq_ignore_ascii_case(mechanism))
}

/// Picks the strongest mechanism both sides support. `offered` are the advertised names.
/// Plaintext mechanisms are skipped when `secure` is false unless `allow_plaintext`.
pub(crate) fn choose(
    creds: &Credentials,
    offered: &[String],
    secure: bool,
    allow_plaintext: bool,
) -> Option<(String, Driver)> {
    let has = |m: &str| offered.iter().any(|o| o.eq_ignore_ascii_case(m));
    let usable = |m: &str| has(m) && (secure || allow_plaintext || !is_plaintext(m));
    match creds {
        Credentials::Password {
            authzid,
            username,
            password,
        } => {
            if usable("PLAIN") {
                let mut message = Vec::new();
                if let Some(z) = authzid {
                    message.extend_from_slice(z.as_bytes());
                }
                message.push(0);
                message.extend_from_slice(username.as_bytes());
                message.push(0);
                message.extend_from_slice(password.as_bytes());
                return Some((
                    "PLAIN".into(),
                    Driver::Plain {
                        message,
                        sent: false,
                    },
                ));
            }
            if usable("LOGIN") {
                return Some((
                    "LOGIN".into(),
                    Driver::Login {
                        user: username.as_bytes().to_vec(),
                        pass: password.as_bytes().to_vec(),
                        step: 0,
                    },
                ));
            }
            None
        }
        Credentials::OAuth2 { username, token } => {
            if usable("OAUTHBEARER") {
                // RFC 7628 3.1: gs2-header "n,a=user," then kvpairs separated by %x01.
                let message = format!(
                    "n,a={},\x01auth=Bearer {}\x01\x01",
                    gs2_escape(username),
                    token
                );
                return Some((
                    "OAUTHBEARER".into(),
                    Driver::Bearer {
                        message: message.into_bytes(),
                        dummy: b"\x01",
                        sent: false,
                    },
                ));
            }
            if usable("XOAUTH2") {
                let message = format!("user={}\x01auth=Bearer {}\x01\x01", username, token);
                return Some((
                    "XOAUTH2".into(),
                    Driver::Bearer {
                        message: message.into_bytes(),
                        dummy: b"",
                        sent: false,
                    },
                ));
            }
            None
        }
        Credentials::External { mechanisms } => mechanisms
            .iter()
            .find(|m| has(m))
            .map(|m| (m.to_ascii_uppercase(), Driver::External)),
    }
}

/// RFC 5801 saslname escaping for the gs2 header: `,` -> `=2C`, `=` -> `=3D`.
fn gs2_escape(s: &str) -> String {
    s.replace('=', "=3D").replace(',', "=2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn pw() -> Credentials {
        Credentials::Password {
            authzid: None,
            username: "u".into(),
            password: "p".into(),
        }
    }

    #[test]
    fn plaintext_needs_tls() {
        assert!(choose(&pw(), &offered(&["PLAIN", "LOGIN"]), false, false).is_none());
        assert_eq!(
            choose(&pw(), &offered(&["PLAIN", "LOGIN"]), true, false)
                .unwrap()
                .0,
            "PLAIN"
        );
        assert_eq!(
            choose(&pw(), &offered(&["LOGIN"]), false, true).unwrap().0,
            "LOGIN"
        );
    }

    #[test]
    fn oauth_prefers_oauthbearer() {
        let c = Credentials::OAuth2 {
            username: "a,b=c".into(),
            token: "t".into(),
        };
        let (m, d) = choose(&c, &offered(&["XOAUTH2", "OAUTHBEARER"]), true, false).unwrap();
        assert_eq!(m, "OAUTHBEARER");
        assert_eq!(
            d.initial().unwrap(),
            b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01"
        );
        let (m, d) = choose(&c, &offered(&["LOGIN", "XOAUTH2"]), true, false).unwrap();
        assert_eq!(m, "XOAUTH2");
        assert_eq!(d.initial().unwrap(), b"user=a,b=c\x01auth=Bearer t\x01\x01");
    }

    #[test]
    fn login_steps() {
        let (_, mut d) = choose(&pw(), &offered(&["LOGIN"]), true, false).unwrap();
        assert_eq!(d.step(b"Username:"), Step::Respond(b"u".to_vec()));
        assert_eq!(d.step(b"Password:"), Step::Respond(b"p".to_vec()));
        assert_eq!(d.step(b"?"), Step::Cancel);
    }

    #[test]
    fn external_in_caller_order() {
        let c = Credentials::External {
            mechanisms: vec!["gssapi".into(), "NTLM".into()],
        };
        assert_eq!(
            choose(&c, &offered(&["NTLM", "LOGIN"]), false, false)
                .unwrap()
                .0,
            "NTLM"
        );
        assert_eq!(
            choose(&c, &offered(&["NTLM", "GSSAPI"]), false, false)
                .unwrap()
                .0,
            "GSSAPI"
        );
    }
}
