//! XOAUTH2 (Google and Microsoft): `user=<user>\x01auth=Bearer <token>\x01\x01`.
//!
//! The format is Google's "OAuth 2.0 Mechanism" page, also used by Exchange Online
//! (`250-AUTH LOGIN XOAUTH2`). On rejection the server sends a JSON error challenge
//! ([`super::oauth::OAuthError`]) and the client answers with an empty line.
//!
//! ```
//! use ehlo::sasl::xoauth2::XOAuth2Message;
//! let m = XOAuth2Message::new("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg").unwrap();
//! assert_eq!(
//!     m.to_bytes(),
//!     b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
//! );
//! assert_eq!(XOAuth2Message::parse(&m.to_bytes()).unwrap(), m);
//! ```

use std::fmt;

use super::oauth::{malformed, valid_token};
use super::SaslError;

/// The client's reply to an XOAUTH2 error challenge: an empty response.
pub const ERROR_ACK: &[u8] = b"";

/// An XOAUTH2 initial client response. `Debug` never prints the token.
#[derive(Clone, PartialEq, Eq)]
pub struct XOAuth2Message {
    /// The user (an e-mail address).
    pub user: String,
    /// The OAuth 2.0 access token (without the `Bearer ` prefix).
    pub token: String,
}

impl fmt::Debug for XOAuth2Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XOAuth2Message")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl XOAuth2Message {
    /// Builds a message; the user must be non-empty without control characters, the token
    /// visible ASCII ([`super::oauth::MAX_TOKEN`] octets at most).
    pub fn new(user: &str, token: &str) -> Result<Self, SaslError> {
        if user.is_empty() || user.chars().any(char::is_control) {
            return Err(SaslError::InvalidInput(
                "XOAUTH2 user empty or with control characters",
            ));
        }
        if !valid_token(token.as_bytes()) {
            return Err(SaslError::InvalidInput("XOAUTH2 token not visible ASCII"));
        }
        Ok(XOAuth2Message {
            user: user.to_owned(),
            token: token.to_owned(),
        })
    }

    /// The message bytes (before BASE64).
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token).into_bytes()
    }

    /// Parses a decoded message: `\x01`-terminated `key=value` fields followed by a final
    /// `\x01`; `user` and `auth` required once each, `auth` is `Bearer <token>` (scheme
    /// case-insensitive, RFC 6750 section 2.1); unknown keys are ignored. Anything else is
    /// [`SaslError::Malformed`] (`501 5.5.2`).
    pub fn parse(msg: &[u8]) -> Result<Self, SaslError> {
        let body = msg
            .strip_suffix(b"\x01\x01")
            .ok_or_else(|| malformed("XOAUTH2 message must end with ^A^A"))?;
        let mut user = None;
        let mut token = None;
        for field in body.split(|b| *b == 1) {
            let eq = field
                .iter()
                .position(|b| *b == b'=')
                .ok_or_else(|| malformed("XOAUTH2 field without '='"))?;
            let (k, v) = field.split_at(eq);
            let v = v.get(1..).unwrap_or_default();
            match k {
                b"user" => {
                    if user.is_some() {
                        return Err(malformed("duplicate XOAUTH2 user"));
                    }
                    user = Some(v);
                }
                b"auth" => {
                    if token.is_some() {
                        return Err(malformed("duplicate XOAUTH2 auth"));
                    }
                    token = Some(bearer_token(v)?);
                }
                [] => return Err(malformed("empty XOAUTH2 key")),
                _ => {}
            }
        }
        let user = user.ok_or_else(|| malformed("XOAUTH2 message without user"))?;
        let token = token.ok_or_else(|| malformed("XOAUTH2 message without auth"))?;
        if user.is_empty() {
            return Err(malformed("empty XOAUTH2 user"));
        }
        let user = std::str::from_utf8(user).map_err(|_| malformed("XOAUTH2 user is not UTF-8"))?;
        if user.chars().any(char::is_control) {
            return Err(malformed("control character in XOAUTH2 user"));
        }
        Ok(XOAuth2Message {
            user: user.to_owned(),
            token: token.to_owned(),
        })
    }
}

/// Extracts the token from an `auth` value `Bearer <token>` (scheme case-insensitive).
pub(crate) fn bearer_token(v: &[u8]) -> Result<&str, SaslError> {
    let (scheme, rest) = v.split_at(v.len().min(7));
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return Err(malformed("auth value is not 'Bearer <token>'"));
    }
    // RFC 6750 2.1 (carried by RFC 7628 3.1): `"Bearer" 1*SP b64token`.
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    let rest = &rest[spaces..];
    if !valid_token(rest) {
        return Err(malformed("bearer token empty or not visible ASCII"));
    }
    std::str::from_utf8(rest).map_err(|_| malformed("bearer token is not ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::b64;

    /// Google's documented example, byte for byte.
    #[test]
    fn google_example() {
        let m = XOAuth2Message::new(
            "someuser@example.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
        )
        .unwrap();
        assert_eq!(
            b64::encode(&m.to_bytes()),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
        assert!(!format!("{m:?}").contains("ya29"));
    }

    #[test]
    fn parse_rules() {
        assert!(XOAuth2Message::parse(b"user=a\x01auth=bearer t\x01\x01").is_ok());
        assert!(XOAuth2Message::parse(b"auth=Bearer t\x01user=a\x01\x01").is_ok());
        assert!(XOAuth2Message::parse(b"user=a\x01auth=Bearer t\x01x=y\x01\x01").is_ok());
        // RFC 6750 2.1: `"Bearer" 1*SP b64token`.
        let m = XOAuth2Message::parse(b"user=a\x01auth=Bearer   t\x01\x01").unwrap();
        assert_eq!(m.token, "t");
        let m =
            crate::sasl::oauthbearer::OAuthBearerMessage::parse(b"n,,\x01auth=Bearer  t\x01\x01");
        assert_eq!(m.unwrap().token, "t");
        for bad in [
            &b"user=a\x01auth=Bearer   \x01\x01"[..],
            b"",
            b"\x01\x01",
            b"\x01",
            b"user=a\x01auth=Bearer t\x01",
            b"user=a\x01auth=Bearer t",
            b"user=a\x01\x01",
            b"auth=Bearer t\x01\x01",
            b"user=\x01auth=Bearer t\x01\x01",
            b"user=a\x01auth=Basic t\x01\x01",
            b"user=a\x01auth=Bearer \x01\x01",
            b"user=a\x01auth=Bearer t t\x01\x01",
            b"user=a\x01\x01auth=Bearer t\x01\x01",
            b"user=a\x01user=b\x01auth=Bearer t\x01\x01",
            b"user=a\x01auth=Bearer t\x01auth=Bearer t\x01\x01",
            b"user=\xff\x01auth=Bearer t\x01\x01",
            b"=a\x01user=a\x01auth=Bearer t\x01\x01",
        ] {
            assert!(XOAuth2Message::parse(bad).is_err(), "{bad:?}");
        }
    }
}
