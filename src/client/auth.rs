//! Choosing a SASL mechanism (RFC 4954 section 4) and driving it: the built-in mechanisms
//! through [`crate::sasl::ClientExchange`], caller-driven ones through events.

use super::config::Credentials;
use crate::sasl::{ClientCredentials, ClientExchange, ClientStep, Mechanism};

/// What the client answers to a `334` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send this BASE64 line.
    Line(String),
    /// Send `*` (RFC 4954 section 4: cancel the exchange).
    Cancel,
}

/// A mechanism the client drives, or the caller.
#[derive(Debug)]
pub(crate) enum Driver {
    /// PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER via the SASL helpers.
    Builtin(Box<ClientExchange>),
    /// The caller answers every step (NTLM, GSSAPI, custom).
    External,
}

/// The `AUTH` arguments of a built-in mechanism: the initial response as BASE64 (`=` for
/// an empty one), if it rides on the command.
pub(crate) fn start(ex: &mut ClientExchange, sasl_ir: bool) -> Result<Option<String>, ()> {
    // LOGIN's initial response (the user name, [MS-XLOGIN]) is not understood by every
    // server; the two-step form is.
    let ir = sasl_ir && *ex.mechanism() != Mechanism::Login;
    ex.start(ir).map(|s| s.initial_response).map_err(|_| ())
}

/// Answers a `334` for a built-in mechanism; `text` is what follows `334 `.
pub(crate) fn step(ex: &mut ClientExchange, text: &str) -> Step {
    match ex.challenge(text.as_bytes()) {
        Ok(ClientStep::Send(line)) => Step::Line(line),
        Ok(ClientStep::OAuthError { line, .. }) => Step::Line(line),
        // A built-in mechanism never asks for a token; anything else cancels.
        Ok(ClientStep::NeedToken { .. }) | Err(_) => Step::Cancel,
    }
}

/// The mechanisms the client may use with `creds` against a server that advertises
/// `offered`, most preferred first, each once.
///
/// `only` is [`ClientConfig::auth_mechanisms`](super::ClientConfig::auth_mechanisms):
/// `None` keeps every mechanism the credentials can drive, strongest first (ranking of
/// [`Mechanism::strength`]; for caller-driven mechanisms, the caller's order among
/// equals, custom mechanisms last); a list keeps only those of its mechanisms, in its
/// order. Either way a mechanism must be advertised, and one that exposes the secret
/// ([`Mechanism::sends_plaintext_credentials`]) needs `secure` (TLS) or
/// `allow_plaintext`; a custom mechanism the caller drives is the caller's responsibility.
pub(crate) fn candidates(
    creds: &Credentials,
    offered: &[String],
    secure: bool,
    allow_plaintext: bool,
    only: Option<&[Mechanism]>,
) -> Vec<Mechanism> {
    let offered_m: Vec<Mechanism> = offered
        .iter()
        .filter_map(|o| Mechanism::parse(o).ok())
        .collect();
    let secure = secure || allow_plaintext;
    let (usable, external): (Vec<Mechanism>, bool) = match creds {
        Credentials::Password { .. } => (
            vec![Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login],
            false,
        ),
        Credentials::OAuth2 { .. } => (vec![Mechanism::OAuthBearer, Mechanism::XOAuth2], false),
        Credentials::External { mechanisms } => {
            // Strongest first, the caller's order among equals (a stable sort).
            let mut m: Vec<Mechanism> = mechanisms
                .iter()
                .filter_map(|m| Mechanism::parse(m).ok())
                .collect();
            m.sort_by_key(|m| std::cmp::Reverse(m.strength()));
            (m, true)
        }
    };
    let allowed = |m: &Mechanism| {
        offered_m.contains(m)
            && (external || !matches!(m, Mechanism::Other(_)))
            && (secure || matches!(m, Mechanism::Other(_)) || !m.sends_plaintext_credentials())
    };
    let ordered: Vec<&Mechanism> = match only {
        None => usable.iter().collect(),
        Some(list) => list.iter().filter(|m| usable.contains(m)).collect(),
    };
    let mut out: Vec<Mechanism> = Vec::new();
    for m in ordered {
        if allowed(m) && !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

/// The driver of mechanism `m` with `creds` (one of [`candidates`]); `None` when the
/// credentials cannot drive it (a user name CRAM-MD5 refuses, say): nothing is sent.
pub(crate) fn driver(creds: &Credentials, m: &Mechanism) -> Option<Driver> {
    let sasl_creds = match creds {
        Credentials::Password {
            authzid,
            username,
            password,
        } => ClientCredentials::Password {
            authzid: authzid.clone(),
            username: username.clone(),
            password: password.clone(),
        },
        Credentials::OAuth2 { username, token } => ClientCredentials::OAuth {
            user: username.clone(),
            token: token.clone(),
            host: None,
            port: None,
        },
        Credentials::External { .. } => return Some(Driver::External),
    };
    let ex = ClientExchange::new(m.clone(), sasl_creds).ok()?;
    Some(Driver::Builtin(Box::new(ex)))
}

/// The mechanisms left to try after the server refused `failed` with `code`, when
/// [`ClientConfig::auth_fallback`](super::ClientConfig::auth_fallback) is on; `remaining`
/// are the [`candidates`] not tried yet, in order.
///
/// RFC 4954 section 4: "If an AUTH command fails, the client MAY try another
/// authentication mechanism". The client does after the refusals that are about the
/// mechanism, not the session (section 6): `535 5.7.8` (the credentials did not verify
/// with this mechanism: a server that keeps hashed passwords cannot check CRAM-MD5) and
/// `504` (section 4: the mechanism is not supported after all); after `534 5.7.9` (the
/// mechanism is "weaker than server policy permits", "the client SHOULD retry with a new
/// authentication mechanism") only with a stronger one ([`Mechanism::strength`]). Never
/// after anything else: `454 4.7.0` (a temporary server failure), `538 5.7.11` (the
/// mechanism needs encryption: TLS is the fix, not another mechanism in the clear),
/// `432`, `500`, `501` (the answer to the client's `*`), `530`, `503`; a `421` ends the
/// session before this is asked.
pub(crate) fn fallback(
    failed: &Mechanism,
    code: u16,
    mut remaining: Vec<Mechanism>,
) -> Vec<Mechanism> {
    match code {
        535 | 504 => remaining,
        534 => {
            remaining.retain(|m| m.strength() > failed.strength());
            remaining
        }
        _ => Vec::new(),
    }
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

    fn name(c: &Credentials, o: &[&str], secure: bool, allow: bool) -> Option<String> {
        candidates(c, &offered(o), secure, allow, None)
            .first()
            .map(|m| m.as_str().to_string())
    }

    #[test]
    fn plaintext_needs_tls() {
        assert_eq!(name(&pw(), &["PLAIN", "LOGIN"], false, false), None);
        assert_eq!(
            name(&pw(), &["PLAIN", "LOGIN"], true, false).as_deref(),
            Some("PLAIN")
        );
        assert_eq!(
            name(&pw(), &["LOGIN"], false, true).as_deref(),
            Some("LOGIN")
        );
        // CRAM-MD5 does not expose the password: fine without TLS, and preferred.
        assert_eq!(
            name(&pw(), &["PLAIN", "CRAM-MD5"], false, false).as_deref(),
            Some("CRAM-MD5")
        );
        assert_eq!(
            name(&pw(), &["PLAIN", "cram-md5"], true, false).as_deref(),
            Some("CRAM-MD5")
        );
    }

    #[test]
    fn oauth_prefers_oauthbearer() {
        let c = Credentials::OAuth2 {
            username: "a".into(),
            token: "t".into(),
        };
        assert_eq!(
            name(&c, &["XOAUTH2", "OAUTHBEARER"], true, false).as_deref(),
            Some("OAUTHBEARER")
        );
        assert_eq!(
            name(&c, &["LOGIN", "XOAUTH2"], true, false).as_deref(),
            Some("XOAUTH2")
        );
        assert_eq!(name(&c, &["XOAUTH2"], false, false), None);
    }

    #[test]
    fn login_steps_without_initial_response() {
        let Some(Driver::Builtin(mut ex)) = driver(&pw(), &Mechanism::Login) else {
            panic!()
        };
        assert_eq!(start(&mut ex, true), Ok(None));
        assert_eq!(step(&mut ex, "VXNlcm5hbWU6"), Step::Line("dQ==".into()));
        assert_eq!(step(&mut ex, "UGFzc3dvcmQ6"), Step::Line("cA==".into()));
        assert_eq!(step(&mut ex, "?"), Step::Cancel);
    }

    #[test]
    fn external_strongest_first() {
        let c = Credentials::External {
            mechanisms: vec!["X-CUSTOM".into(), "ntlm".into(), "GSSAPI".into()],
        };
        assert_eq!(
            name(&c, &["NTLM", "LOGIN"], false, false).as_deref(),
            Some("NTLM")
        );
        assert_eq!(
            name(&c, &["NTLM", "GSSAPI"], false, false).as_deref(),
            Some("GSSAPI")
        );
        assert_eq!(
            name(&c, &["X-CUSTOM"], false, false).as_deref(),
            Some("X-CUSTOM")
        );
        assert_eq!(name(&c, &["PLAIN"], true, false), None);
        // A caller-driven PLAIN is still PLAIN: not without TLS unless allowed.
        let c = Credentials::External {
            mechanisms: vec!["PLAIN".into(), "X-CUSTOM".into()],
        };
        assert_eq!(
            name(&c, &["PLAIN", "X-CUSTOM"], false, false).as_deref(),
            Some("X-CUSTOM")
        );
        assert_eq!(name(&c, &["PLAIN"], false, false), None);
        assert_eq!(name(&c, &["PLAIN"], false, true).as_deref(), Some("PLAIN"));
    }

    fn names(
        c: &Credentials,
        o: &[&str],
        secure: bool,
        allow: bool,
        only: Option<&[Mechanism]>,
    ) -> Vec<String> {
        candidates(c, &offered(o), secure, allow, only)
            .iter()
            .map(|m| m.as_str().to_string())
            .collect()
    }

    #[test]
    fn default_candidates_strongest_first() {
        let all = ["LOGIN", "PLAIN", "CRAM-MD5", "XOAUTH2", "GSSAPI"];
        assert_eq!(
            names(&pw(), &all, true, false, None),
            ["CRAM-MD5", "PLAIN", "LOGIN"]
        );
        assert_eq!(names(&pw(), &all, false, false, None), ["CRAM-MD5"]);
        let c = Credentials::External {
            mechanisms: vec![
                "X-CUSTOM".into(),
                "ntlm".into(),
                "PLAIN".into(),
                "ntlm".into(),
            ],
        };
        assert_eq!(
            names(&c, &["NTLM", "PLAIN", "X-CUSTOM"], true, false, None),
            ["NTLM", "PLAIN", "X-CUSTOM"]
        );
    }

    #[test]
    fn the_configured_list_restricts_and_orders() {
        use Mechanism::*;
        let all = ["LOGIN", "PLAIN", "CRAM-MD5", "XOAUTH2"];
        assert_eq!(
            names(&pw(), &all, true, false, Some(&[Login, Plain])),
            ["LOGIN", "PLAIN"]
        );
        // Duplicates once; mechanisms the credentials cannot drive, or not offered, skipped.
        assert_eq!(
            names(
                &pw(),
                &["PLAIN", "XOAUTH2"],
                true,
                false,
                Some(&[XOAuth2, Plain, Login, Plain])
            ),
            ["PLAIN"]
        );
        // The list never lifts the TLS rule.
        assert!(names(&pw(), &all, false, false, Some(&[Plain, Login])).is_empty());
        assert_eq!(
            names(&pw(), &all, false, false, Some(&[Plain, CramMd5])),
            ["CRAM-MD5"]
        );
        assert_eq!(
            names(&pw(), &all, false, true, Some(&[Plain, CramMd5])),
            ["PLAIN", "CRAM-MD5"]
        );
        assert!(names(&pw(), &all, true, false, Some(&[])).is_empty());
        // Caller-driven mechanisms: only those the credentials name.
        let c = Credentials::External {
            mechanisms: vec!["NTLM".into(), "GSSAPI".into(), "X-CUSTOM".into()],
        };
        let custom = Other("X-CUSTOM".into());
        assert_eq!(
            names(
                &c,
                &["NTLM", "GSSAPI", "X-CUSTOM", "PLAIN"],
                false,
                false,
                Some(&[custom, Plain, Ntlm])
            ),
            ["X-CUSTOM", "NTLM"]
        );
        // A custom name is never driven by the client itself.
        assert!(names(
            &pw(),
            &["X-CUSTOM"],
            true,
            true,
            Some(&[Other("X-CUSTOM".into())])
        )
        .is_empty());
    }

    #[test]
    fn fallback_only_after_a_refusal_of_the_mechanism() {
        use Mechanism::*;
        let rest = || vec![Plain, Login];
        assert_eq!(fallback(&CramMd5, 535, rest()), rest());
        assert_eq!(fallback(&CramMd5, 504, rest()), rest());
        for code in [421, 432, 454, 500, 501, 503, 530, 538, 550, 554] {
            assert!(fallback(&CramMd5, code, rest()).is_empty(), "{code}");
        }
        // 534: too weak, so only stronger ones.
        assert!(fallback(&CramMd5, 534, rest()).is_empty());
        assert_eq!(
            fallback(&Login, 534, vec![Plain, CramMd5]),
            [Plain, CramMd5]
        );
        assert_eq!(fallback(&Plain, 534, vec![Login, CramMd5]), [CramMd5]);
    }

    #[test]
    fn a_driver_only_for_credentials_that_fit() {
        assert!(matches!(
            driver(&pw(), &Mechanism::Plain),
            Some(Driver::Builtin(_))
        ));
        assert!(driver(&pw(), &Mechanism::XOAuth2).is_none());
        let nameless = Credentials::Password {
            authzid: None,
            username: String::new(),
            password: "p".into(),
        };
        assert!(driver(&nameless, &Mechanism::CramMd5).is_none());
    }
}
