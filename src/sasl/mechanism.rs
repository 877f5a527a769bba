//! SASL mechanism names, their properties, and client-side mechanism selection.

use std::fmt;

use super::SaslError;

/// A SASL mechanism as named in `AUTH`, `X-EXPS` and the EHLO `AUTH` keyword.
///
/// Names are case-insensitive (RFC 4422 section 3.1 and RFC 4954 section 3); [`Mechanism::parse`]
/// accepts any case and [`Mechanism::as_str`] returns the registered upper-case form.
///
/// ```
/// use ehlo::sasl::Mechanism;
/// assert_eq!(Mechanism::parse("cram-md5").unwrap(), Mechanism::CramMd5);
/// assert_eq!(Mechanism::parse("NTLM").unwrap().as_str(), "NTLM");
/// assert_eq!(Mechanism::parse("x-custom").unwrap(), Mechanism::Other("X-CUSTOM".into()));
/// assert!(Mechanism::parse("bad name").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// LOGIN (\[MS-XLOGIN\]).
    Login,
    /// CRAM-MD5 (RFC 2195).
    CramMd5,
    /// XOAUTH2 (Google / Microsoft OAuth 2.0 SASL profile).
    XOAuth2,
    /// OAUTHBEARER (RFC 7628).
    OAuthBearer,
    /// NTLM (\[MS-SMTPNTLM\]).
    Ntlm,
    /// GSSAPI, i.e. Kerberos V5 (RFC 4752).
    Gssapi,
    /// Any other syntactically valid mechanism name, stored upper-case.
    Other(String),
}

/// Maximum length of a mechanism name (RFC 4422 section 3.1: 1 to 20 characters).
pub const MAX_MECHANISM_NAME: usize = 20;

impl Mechanism {
    /// Parses a mechanism name, case-insensitively. The name must match RFC 4422
    /// section 3.1 (`1*20(ALPHA / DIGIT / "-" / "_")`, letters compared without case);
    /// anything else is [`SaslError::UnsupportedMechanism`] (`504 5.5.4`).
    pub fn parse(name: &str) -> Result<Mechanism, SaslError> {
        Self::from_bytes(name.as_bytes())
    }

    /// [`Mechanism::parse`] on raw bytes from the wire.
    pub fn from_bytes(name: &[u8]) -> Result<Mechanism, SaslError> {
        if name.is_empty()
            || name.len() > MAX_MECHANISM_NAME
            || !name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            return Err(SaslError::UnsupportedMechanism);
        }
        let upper: String = name
            .iter()
            .map(|b| char::from(b.to_ascii_uppercase()))
            .collect();
        Ok(match upper.as_str() {
            "PLAIN" => Mechanism::Plain,
            "LOGIN" => Mechanism::Login,
            "CRAM-MD5" => Mechanism::CramMd5,
            "XOAUTH2" => Mechanism::XOAuth2,
            "OAUTHBEARER" => Mechanism::OAuthBearer,
            "NTLM" => Mechanism::Ntlm,
            "GSSAPI" => Mechanism::Gssapi,
            _ => Mechanism::Other(upper),
        })
    }

    /// The text of Exchange's SASL_Mechanism_Supported message, `<MECHANISM> supported`
    /// (\[MS-OXSMTP\] 2.2.1: `mechanism_supported = "334" SP mechanism SP "supported"`),
    /// sent "in place of a server challenge that contains no data" (RFC 4954 section 4).
    pub(crate) fn supported_text(&self) -> String {
        format!("{} supported", self.as_str())
    }

    /// Whether a `334` text is this mechanism's SASL_Mechanism_Supported message
    /// (\[MS-OXSMTP\] 2.2.1), compared without case: it then stands for an empty
    /// challenge.
    pub(crate) fn is_supported_text(&self, text: &[u8]) -> bool {
        let name = self.as_str().as_bytes();
        text.len() == name.len() + b" supported".len()
            && text[..name.len()].eq_ignore_ascii_case(name)
            && text[name.len()..].eq_ignore_ascii_case(b" supported")
    }

    /// The upper-case name as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::Ntlm => "NTLM",
            Mechanism::Gssapi => "GSSAPI",
            Mechanism::Other(s) => s,
        }
    }

    /// The static name of a built-in mechanism (used in error values); `"SASL"` for
    /// [`Mechanism::Other`].
    pub(crate) fn static_name(&self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::Ntlm => "NTLM",
            Mechanism::Gssapi => "GSSAPI",
            Mechanism::Other(_) => "SASL",
        }
    }

    /// Whether the mechanism puts a replayable secret on the wire in the clear: the
    /// password for PLAIN and LOGIN, the bearer token for XOAUTH2 and OAUTHBEARER
    /// (RFC 7628 section 5 requires TLS). Such a mechanism needs TLS unless the
    /// configuration explicitly allows otherwise (`538 5.7.11` from a server, RFC 4954
    /// section 6). Unknown mechanisms are assumed to need TLS.
    pub fn sends_plaintext_credentials(&self) -> bool {
        !matches!(
            self,
            Mechanism::CramMd5 | Mechanism::Ntlm | Mechanism::Gssapi
        )
    }

    /// Whether the server sends the first message of the exchange (RFC 4422 section 5:
    /// a "server-first" mechanism): CRAM-MD5 (RFC 2195 section 2). An `AUTH` with an
    /// initial response for such a mechanism gets `501 5.7.0` (RFC 4954 section 4: the
    /// server MUST reject it). False for unknown mechanisms, which the caller judges.
    pub(crate) fn is_server_first(&self) -> bool {
        matches!(self, Mechanism::CramMd5)
    }

    /// Whether the client may send an initial response with `AUTH` (SASL-IR, RFC 4954
    /// section 4): true for the client-first mechanisms PLAIN, XOAUTH2, OAUTHBEARER, GSSAPI
    /// and NTLM (\[MS-SMTPNTLM\] 3.1.4.1: the initiation SHOULD carry the NEGOTIATE_MESSAGE),
    /// and for LOGIN, where it carries the user name (\[MS-XLOGIN\]). False for CRAM-MD5
    /// (server first) and unknown mechanisms.
    pub fn supports_initial_response(&self) -> bool {
        !matches!(self, Mechanism::CramMd5 | Mechanism::Other(_))
    }

    /// Whether `AUTH` with an initial response may be followed by pipelined commands
    /// (RFC 4954 section 4: only for a client-first mechanism known to finish in one round
    /// trip without a security layer). True for PLAIN only: the OAuth mechanisms may need
    /// a second round for their error challenge, LOGIN always does.
    pub fn pipelinable_with_initial_response(&self) -> bool {
        matches!(self, Mechanism::Plain)
    }

    /// Credential-safety ranking a client uses to pick among the mechanisms both sides
    /// support; higher is better. The order, strongest first:
    ///
    /// 1. GSSAPI (Kerberos: mutual authentication, no reusable secret on the wire) — 70
    /// 2. NTLM (challenge-response, the password never crosses the wire) — 60
    /// 3. OAUTHBEARER (scoped, revocable token; standardised, RFC 7628) — 50
    /// 4. XOAUTH2 (same token, vendor format) — 45
    /// 5. CRAM-MD5 (challenge-response, but HMAC-MD5 is open to offline dictionary attack
    ///    and the server must store the plaintext) — 40
    /// 6. PLAIN (cleartext password, one round trip) — 20
    /// 7. LOGIN (cleartext password, non-standard) — 10
    /// 8. anything else — 0 (never picked automatically)
    pub fn strength(&self) -> u8 {
        match self {
            Mechanism::Gssapi => 70,
            Mechanism::Ntlm => 60,
            Mechanism::OAuthBearer => 50,
            Mechanism::XOAuth2 => 45,
            Mechanism::CramMd5 => 40,
            Mechanism::Plain => 20,
            Mechanism::Login => 10,
            Mechanism::Other(_) => 0,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mechanism {
    type Err = SaslError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mechanism::parse(s)
    }
}

/// Picks the strongest mechanism (by [`Mechanism::strength`]) that the server offered and
/// the client can use (`usable`: the mechanisms the client has credentials for).
///
/// With `secure == false` (no TLS yet) mechanisms that
/// [send plaintext credentials](Mechanism::sends_plaintext_credentials) are skipped.
/// [`Mechanism::Other`] is never chosen. Ties keep the order of `usable`.
///
/// ```
/// use ehlo::sasl::{select_mechanism, Mechanism};
/// // Exchange 2019 submission: "250-AUTH GSSAPI NTLM LOGIN".
/// let offered = [Mechanism::Gssapi, Mechanism::Ntlm, Mechanism::Login];
/// let usable = [Mechanism::Plain, Mechanism::Login];
/// assert_eq!(select_mechanism(&offered, &usable, true), Some(Mechanism::Login));
/// assert_eq!(select_mechanism(&offered, &usable, false), None);
/// ```
pub fn select_mechanism(
    offered: &[Mechanism],
    usable: &[Mechanism],
    secure: bool,
) -> Option<Mechanism> {
    let mut best: Option<&Mechanism> = None;
    for m in usable {
        if matches!(m, Mechanism::Other(_))
            || !offered.contains(m)
            || (!secure && m.sends_plaintext_credentials())
        {
            continue;
        }
        match best {
            Some(b) if b.strength() >= m.strength() => {}
            _ => best = Some(m),
        }
    }
    best.cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        for (s, m) in [
            ("plain", Mechanism::Plain),
            ("Login", Mechanism::Login),
            ("CRAM-MD5", Mechanism::CramMd5),
            ("xoauth2", Mechanism::XOAuth2),
            ("OAuthBearer", Mechanism::OAuthBearer),
            ("ntlm", Mechanism::Ntlm),
            ("GSSAPI", Mechanism::Gssapi),
        ] {
            assert_eq!(Mechanism::parse(s).unwrap(), m);
            assert_eq!(Mechanism::parse(m.as_str()).unwrap(), m);
        }
        assert_eq!(
            Mechanism::parse("PLAIN-CLIENTTOKEN").unwrap(),
            Mechanism::Other("PLAIN-CLIENTTOKEN".into())
        );
        assert!(Mechanism::parse("").is_err());
        assert!(Mechanism::parse("A23456789012345678901").is_err());
        assert!(Mechanism::parse("PL AIN").is_err());
        assert!(Mechanism::from_bytes(b"PL\xffN").is_err());
    }

    #[test]
    fn properties() {
        assert!(Mechanism::Plain.sends_plaintext_credentials());
        assert!(Mechanism::XOAuth2.sends_plaintext_credentials());
        assert!(!Mechanism::Ntlm.sends_plaintext_credentials());
        assert!(!Mechanism::CramMd5.supports_initial_response());
        assert!(Mechanism::Login.supports_initial_response());
        assert!(Mechanism::Gssapi.strength() > Mechanism::Ntlm.strength());
        assert!(Mechanism::CramMd5.strength() > Mechanism::Plain.strength());
        assert!(Mechanism::Plain.strength() > Mechanism::Login.strength());
        assert!(Mechanism::Plain.pipelinable_with_initial_response());
        assert!(!Mechanism::XOAuth2.pipelinable_with_initial_response());
    }

    #[test]
    fn selection() {
        let offered = [
            Mechanism::Login,
            Mechanism::Plain,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
        ];
        let usable = [Mechanism::XOAuth2, Mechanism::OAuthBearer];
        assert_eq!(
            select_mechanism(&offered, &usable, true),
            Some(Mechanism::OAuthBearer)
        );
        let usable = [Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5];
        assert_eq!(
            select_mechanism(&offered, &usable, true),
            Some(Mechanism::Plain)
        );
        let offered = [Mechanism::CramMd5, Mechanism::Plain];
        assert_eq!(
            select_mechanism(&offered, &usable, false),
            Some(Mechanism::CramMd5)
        );
        assert_eq!(select_mechanism(&[], &usable, true), None);
    }
}
