//! CRAM-MD5 (RFC 2195): the server sends a unique msg-id style string, the client answers
//! `user SP hex(HMAC-MD5(password, challenge))`.
//!
//! No randomness or clock lives here: the caller supplies the unique part and the
//! timestamp of the challenge (RFC 2195 section 2 suggests `<random.timestamp@hostname>`).
//!
//! ```
//! use ehlo::sasl::cram_md5::{self, CramMd5Challenge};
//! // RFC 2195 section 2.
//! let c = CramMd5Challenge::new("1896", 697170952, "postoffice.reston.mci.net").unwrap();
//! assert_eq!(c.as_str(), "<1896.697170952@postoffice.reston.mci.net>");
//! let r = cram_md5::response("tim", "tanstaaftanstaaf", c.as_str().as_bytes());
//! assert_eq!(r, "tim b913a602c7eda7a495b4e6e7334d3890");
//! let (user, digest) = cram_md5::parse_response(r.as_bytes()).unwrap();
//! assert!(cram_md5::verify("tanstaaftanstaaf", c.as_str().as_bytes(), &digest));
//! # let _ = user;
//! ```

use super::md5::{hmac_md5, to_hex};
use super::SaslError;

const MECH: &str = "CRAM-MD5";

/// Longest challenge accepted from the caller or from a server, in octets. A BASE64 line
/// of this size stays well inside the 512-octet reply line of RFC 5321 4.5.3.1.5.
pub const MAX_CHALLENGE: usize = 300;

/// A server challenge: `<unique.timestamp@hostname>` or any other caller-chosen string of
/// visible ASCII in angle brackets (RFC 2195 section 2, the msg-id form of RFC 822).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CramMd5Challenge(String);

fn visible_ascii(s: &str, extra_forbidden: &[u8]) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && !extra_forbidden.contains(&b))
}

impl CramMd5Challenge {
    /// Builds `<unique.timestamp@hostname>`. `unique` (the caller's random or sequence
    /// part) and `hostname` must be visible ASCII without `<`, `>` or `@`.
    pub fn new(unique: &str, timestamp: u64, hostname: &str) -> Result<Self, SaslError> {
        if !visible_ascii(unique, b"<>@") || !visible_ascii(hostname, b"<>@") {
            return Err(SaslError::InvalidInput(
                "CRAM-MD5 challenge parts must be visible ASCII without <, > or @",
            ));
        }
        Self::from_string(format!("<{unique}.{timestamp}@{hostname}>"))
    }

    /// Uses a complete caller-made challenge. It must be `<...>`, visible ASCII, at most
    /// [`MAX_CHALLENGE`] octets.
    pub fn from_string(s: String) -> Result<Self, SaslError> {
        let ok = s.len() <= MAX_CHALLENGE
            && s.len() > 2
            && s.starts_with('<')
            && s.ends_with('>')
            && visible_ascii(&s, b"");
        if ok {
            Ok(CramMd5Challenge(s))
        } else {
            Err(SaslError::InvalidInput(
                "CRAM-MD5 challenge must be <visible ASCII>",
            ))
        }
    }

    /// The challenge string (what is BASE64-encoded in the `334` line).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The challenge bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Lowercase hex of `HMAC-MD5(secret, challenge)` (RFC 2195 section 2).
pub fn digest_hex(secret: &str, challenge: &[u8]) -> String {
    to_hex(&hmac_md5(secret.as_bytes(), challenge))
}

/// The client's decoded response: `username SP digest` (RFC 2195 section 2).
pub fn response(username: &str, secret: &str, challenge: &[u8]) -> String {
    format!("{username} {}", digest_hex(secret, challenge))
}

/// Parses a decoded client response into `(username, digest_hex)`.
///
/// The user name is everything before the **last** space (RFC 2195 does not forbid spaces
/// in it); the digest must be 32 hex digits and is returned lowercase. Anything else is
/// [`SaslError::Malformed`] (`501 5.5.2`).
pub fn parse_response(decoded: &[u8]) -> Result<(String, String), SaslError> {
    let Some(sp) = decoded.iter().rposition(|b| *b == b' ') else {
        return Err(malformed("missing space between user name and digest"));
    };
    let (user, rest) = decoded.split_at(sp);
    let digest = rest.get(1..).unwrap_or_default();
    if user.is_empty() {
        return Err(malformed("empty user name"));
    }
    if digest.len() != 32 || !digest.iter().all(u8::is_ascii_hexdigit) {
        return Err(malformed("digest is not 32 hex digits"));
    }
    if user.iter().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(malformed("control character in user name"));
    }
    let user = std::str::from_utf8(user).map_err(|_| malformed("user name is not UTF-8"))?;
    let digest: String = digest
        .iter()
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect();
    Ok((user.to_owned(), digest))
}

/// Checks a received digest against the shared secret, in constant time over the digest.
/// For the caller's verifier: the crate itself never calls it.
pub fn verify(secret: &str, challenge: &[u8], received_digest_hex: &str) -> bool {
    let expected = digest_hex(secret, challenge);
    let received = received_digest_hex.to_ascii_lowercase();
    super::constant_time_eq(expected.as_bytes(), received.as_bytes())
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

    /// RFC 2195 section 2, byte for byte, including the BASE64 lines.
    #[test]
    fn rfc2195_worked_example() {
        let c = CramMd5Challenge::new("1896", 697_170_952, "postoffice.reston.mci.net").unwrap();
        assert_eq!(
            b64::encode(c.as_bytes()),
            "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
        );
        let r = response("tim", "tanstaaftanstaaf", c.as_bytes());
        assert_eq!(
            b64::encode(r.as_bytes()),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        );
        let decoded = b64::decode(b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw").unwrap();
        let (u, d) = parse_response(&decoded).unwrap();
        assert_eq!(u, "tim");
        assert_eq!(d, "b913a602c7eda7a495b4e6e7334d3890");
        assert!(verify("tanstaaftanstaaf", c.as_bytes(), &d));
        assert!(verify(
            "tanstaaftanstaaf",
            c.as_bytes(),
            "B913A602C7EDA7A495B4E6E7334D3890"
        ));
        assert!(!verify("tanstaaftanstaag", c.as_bytes(), &d));
        assert!(!verify("tanstaaftanstaaf", c.as_bytes(), "b913"));
    }

    #[test]
    fn parse_rejects() {
        assert!(parse_response(b"tim").is_err());
        assert!(parse_response(b" b913a602c7eda7a495b4e6e7334d3890").is_err());
        assert!(parse_response(b"tim b913a602c7eda7a495b4e6e7334d389").is_err());
        assert!(parse_response(b"tim b913a602c7eda7a495b4e6e7334d389g").is_err());
        assert!(parse_response(b"tim b913a602c7eda7a495b4e6e7334d3890 ").is_err());
        let (u, _) = parse_response(b"tim smith b913a602c7eda7a495b4e6e7334d3890").unwrap();
        assert_eq!(u, "tim smith");
    }

    #[test]
    fn challenge_validation() {
        assert!(CramMd5Challenge::new("a b", 1, "h").is_err());
        assert!(CramMd5Challenge::new("a", 1, "h>").is_err());
        assert!(CramMd5Challenge::new("", 1, "h").is_err());
        assert!(CramMd5Challenge::from_string("nobrackets".into()).is_err());
        assert!(CramMd5Challenge::from_string("<>".into()).is_err());
        assert!(CramMd5Challenge::from_string(format!("<{}>", "a".repeat(400))).is_err());
        assert!(CramMd5Challenge::from_string("<x@y>".into()).is_ok());
    }
}
