//! Choosing a SASL mechanism (RFC 4954 section 4) and driving it: the built-in mechanisms
//! through [`crate::sasl::ClientExchange`], caller-driven ones through events.

use super::config::Credentials;
use crate::sasl::{select_mechanism, ClientCredentials, ClientExchange, ClientStep, Mechanism};

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

/// Picks the strongest mechanism both sides support (ranking of
/// [`Mechanism::strength`]). `offered` are the advertised names. Plaintext mechanisms are
/// skipped when `secure` is false unless `allow_plaintext`.
pub(crate) fn choose(
    creds: &Credentials,
    offered: &[String],
    secure: bool,
    allow_plaintext: bool,
) -> Option<(String, Driver)> {
    let offered_m: Vec<Mechanism> = offered
        .iter()
        .filter_map(|o| Mechanism::parse(o).ok())
        .collect();
    let secure = secure || allow_plaintext;
    let (usable, sasl_creds): (&[Mechanism], ClientCredentials) = match creds {
        Credentials::Password {
            authzid,
            username,
            password,
        } => (
            &[Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login],
            ClientCredentials::Password {
                authzid: authzid.clone(),
                username: username.clone(),
                password: password.clone(),
            },
        ),
        Credentials::OAuth2 { username, token } => (
            &[Mechanism::OAuthBearer, Mechanism::XOAuth2],
            ClientCredentials::OAuth {
                user: username.clone(),
                token: token.clone(),
                host: None,
                port: None,
            },
        ),
        Credentials::External { mechanisms } => {
            // The caller's mechanisms the server offers, strongest first, the caller's
            // order among equals (custom mechanisms rank last). A known mechanism that
            // exposes the secret (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER driven by the caller)
            // follows the same TLS rule as the built-in ones; custom mechanisms are the
            // caller's responsibility.
            let mut candidates: Vec<(usize, Mechanism)> = mechanisms
                .iter()
                .filter_map(|m| Mechanism::parse(m).ok())
                .filter(|m| offered_m.contains(m))
                .filter(|m| {
                    secure || matches!(m, Mechanism::Other(_)) || !m.sends_plaintext_credentials()
                })
                .enumerate()
                .collect();
            candidates.sort_by_key(|(i, m)| (std::cmp::Reverse(m.strength()), *i));
            return candidates
                .into_iter()
                .next()
                .map(|(_, m)| (m.as_str().to_string(), Driver::External));
        }
    };
    let m = select_mechanism(&offered_m, usable, secure)?;
    let ex = ClientExchange::new(m.clone(), sasl_creds).ok()?;
    Some((m.as_str().to_string(), Driver::Builtin(Box::new(ex))))
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
        choose(c, &offered(o), secure, allow).map(|(m, _)| m)
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
        let Some((_, Driver::Builtin(mut ex))) = choose(&pw(), &offered(&["LOGIN"]), true, false)
        else {
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
}
