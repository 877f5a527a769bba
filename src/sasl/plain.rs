//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`.
//!
//! Section 2 of RFC 4616: the three fields are UTF-8 without NUL (`SAFE`), `authcid` and
//! `passwd` are non-empty, and an empty `authzid` means "act as the authentication
//! identity". This module builds and parses that message; it never checks a password.
//!
//! ```
//! use ehlo::sasl::plain::PlainMessage;
//! let m = PlainMessage::new(None, "tim", "tanstaafl").unwrap();
//! assert_eq!(m.to_bytes(), b"\0tim\0tanstaafl");
//! assert_eq!(PlainMessage::parse(b"\0tim\0tanstaafl").unwrap(), m);
//! ```

use std::fmt;

use super::SaslError;

const MECH: &str = "PLAIN";

/// A PLAIN message. `Debug` never prints the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainMessage {
    /// The authorization identity (the identity to act as); `None` when empty.
    pub authzid: Option<String>,
    /// The authentication identity (the user name).
    pub authcid: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for PlainMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainMessage")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl PlainMessage {
    /// Builds a message, checking the RFC 4616 section 2 rules: no NUL in any field,
    /// non-empty `authcid` and `password`. An empty `authzid` is treated as `None`.
    pub fn new(
        authzid: Option<&str>,
        authcid: &str,
        password: &str,
    ) -> Result<PlainMessage, SaslError> {
        if authzid.is_some_and(|z| z.contains('\0'))
            || authcid.contains('\0')
            || password.contains('\0')
        {
            return Err(SaslError::InvalidInput("NUL in a PLAIN field"));
        }
        if authcid.is_empty() || password.is_empty() {
            return Err(SaslError::InvalidInput("empty PLAIN user name or password"));
        }
        Ok(PlainMessage {
            authzid: authzid.filter(|z| !z.is_empty()).map(str::to_owned),
            authcid: authcid.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The message bytes (before BASE64).
    pub fn to_bytes(&self) -> Vec<u8> {
        let z = self.authzid.as_deref().unwrap_or("");
        let mut out = Vec::with_capacity(z.len() + self.authcid.len() + self.password.len() + 2);
        out.extend_from_slice(z.as_bytes());
        out.push(0);
        out.extend_from_slice(self.authcid.as_bytes());
        out.push(0);
        out.extend_from_slice(self.password.as_bytes());
        out
    }

    /// Parses decoded message bytes: exactly two NULs, valid UTF-8 fields, non-empty
    /// `authcid` and `password` (RFC 4616 section 2). Anything else is
    /// [`SaslError::Malformed`] (`501 5.5.2`).
    pub fn parse(msg: &[u8]) -> Result<PlainMessage, SaslError> {
        let mut parts = msg.split(|b| *b == 0);
        let (Some(z), Some(c), Some(p), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("expected exactly two NUL separators"));
        };
        if c.is_empty() {
            return Err(malformed("empty authentication identity"));
        }
        if p.is_empty() {
            return Err(malformed("empty password"));
        }
        let utf8 = |b: &[u8]| {
            std::str::from_utf8(b)
                .map(str::to_owned)
                .map_err(|_| malformed("field is not UTF-8"))
        };
        Ok(PlainMessage {
            authzid: if z.is_empty() { None } else { Some(utf8(z)?) },
            authcid: utf8(c)?,
            password: utf8(p)?,
        })
    }
}

fn malformed(reason: &'static str) -> SaslError {
    SaslError::Malformed {
        mechanism: MECH,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::b64;

    #[test]
    fn rfc4616_examples() {
        // RFC 4616 section 4: "\0tim\0tanstaafl" and "Ursel\0Kurt\0xipj3plmq".
        let m = PlainMessage::parse(b"Ursel\0Kurt\0xipj3plmq").unwrap();
        assert_eq!(m.authzid.as_deref(), Some("Ursel"));
        assert_eq!(m.authcid, "Kurt");
        assert_eq!(m.password, "xipj3plmq");
        assert_eq!(m.to_bytes(), b"Ursel\0Kurt\0xipj3plmq");
        let m = PlainMessage::new(None, "tim", "tanstaafl").unwrap();
        assert_eq!(b64::encode(&m.to_bytes()), "AHRpbQB0YW5zdGFhZmw=");
        assert!(!format!("{m:?}").contains("tanstaafl"));
    }

    #[test]
    fn nul_rules() {
        assert!(PlainMessage::parse(b"tim\0tanstaafl").is_err());
        assert!(PlainMessage::parse(b"\0tim\0tans\0taafl").is_err());
        assert!(PlainMessage::parse(b"\0\0pw").is_err());
        assert!(PlainMessage::parse(b"\0tim\0").is_err());
        assert!(PlainMessage::parse(b"").is_err());
        assert!(PlainMessage::parse(b"\0ti\xffm\0pw").is_err());
        assert!(PlainMessage::new(None, "t\0m", "pw").is_err());
        assert!(PlainMessage::new(Some("a\0"), "tim", "pw").is_err());
        assert!(PlainMessage::new(None, "", "pw").is_err());
        assert!(PlainMessage::new(None, "tim", "").is_err());
        assert_eq!(
            PlainMessage::new(Some(""), "tim", "pw").unwrap().authzid,
            None
        );
        // UTF-8 is fine.
        let m = PlainMessage::parse("\0jürgen\0pässwörd".as_bytes()).unwrap();
        assert_eq!(m.authcid, "jürgen");
    }
}
