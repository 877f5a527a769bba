//! The OAuth error challenge shared by XOAUTH2 and OAUTHBEARER, and the bearer token rule.
//!
//! When a token is rejected the server does not answer `535` at once: it sends a `334`
//! challenge whose payload is a small JSON object (RFC 7628 section 3.2.2; Google's and
//! Microsoft's XOAUTH2 do the same), the client answers with a dummy response (`\x01` for
//! OAUTHBEARER, RFC 7628 section 3.2.3; an empty line for XOAUTH2) and then the server
//! fails the exchange with `535 5.7.8`.
//!
//! ```
//! use ehlo::sasl::oauth::OAuthError;
//! let e = OAuthError::new("invalid_token")
//!     .with_scope("example_scope")
//!     .with_openid_configuration("https://example.com/.well-known/openid-configuration");
//! let json = e.to_json();
//! assert_eq!(OAuthError::parse(json.as_bytes()).unwrap(), e);
//! ```

use super::SaslError;

const MECH: &str = "OAUTH";

/// Longest token accepted, in octets. Far above real tokens (a JWT from Entra ID is a few
/// kilobytes) and below the 12,288-octet SASL line of RFC 4954 section 4.
pub const MAX_TOKEN: usize = 12_288;

/// The JSON error a server sends when it rejects a token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct OAuthError {
    /// `status`: an RFC 6749 / RFC 6750 error code such as `invalid_token` (OAUTHBEARER) or
    /// an HTTP status such as `"401"` (XOAUTH2).
    pub status: String,
    /// `schemes` (XOAUTH2): the accepted schemes, e.g. `"Bearer"`.
    pub schemes: Option<String>,
    /// `scope`: the scope the token needs.
    pub scope: Option<String>,
    /// `openid-configuration` (OAUTHBEARER, RFC 7628 section 3.2.2): discovery URL.
    pub openid_configuration: Option<String>,
}

impl OAuthError {
    /// An error with only `status`.
    pub fn new(status: &str) -> Self {
        OAuthError {
            status: status.to_owned(),
            ..Default::default()
        }
    }

    /// Sets `schemes`.
    #[must_use]
    pub fn with_schemes(mut self, schemes: &str) -> Self {
        self.schemes = Some(schemes.to_owned());
        self
    }

    /// Sets `scope`.
    #[must_use]
    pub fn with_scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_owned());
        self
    }

    /// Sets `openid-configuration`.
    #[must_use]
    pub fn with_openid_configuration(mut self, url: &str) -> Self {
        self.openid_configuration = Some(url.to_owned());
        self
    }

    /// The JSON text, keys in the order `status`, `schemes`, `scope`,
    /// `openid-configuration`, compact, with JSON string escaping (RFC 8259 section 7).
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        push_pair(&mut out, "status", &self.status);
        for (k, v) in [
            ("schemes", &self.schemes),
            ("scope", &self.scope),
            ("openid-configuration", &self.openid_configuration),
        ] {
            if let Some(v) = v {
                out.push(',');
                push_pair(&mut out, k, v);
            }
        }
        out.push('}');
        out
    }

    /// Parses the JSON payload of an error challenge: one flat object (RFC 7628 section
    /// 3.2.2). String members are read, other scalar members skipped, nested objects or
    /// arrays and duplicate known keys rejected; `status` is required. Errors are
    /// [`SaslError::Malformed`].
    pub fn parse(json: &[u8]) -> Result<OAuthError, SaslError> {
        let members = parse_flat_object(json)?;
        let mut e = OAuthError::default();
        let mut status = None;
        for (k, v) in members {
            let Some(v) = v else { continue };
            let slot = match k.as_str() {
                "status" => &mut status,
                "schemes" => &mut e.schemes,
                "scope" => &mut e.scope,
                "openid-configuration" => &mut e.openid_configuration,
                _ => continue,
            };
            if slot.is_some() {
                return Err(malformed("duplicate key in error JSON"));
            }
            *slot = Some(v);
        }
        e.status = status.ok_or_else(|| malformed("error JSON without status"))?;
        Ok(e)
    }
}

fn push_pair(out: &mut String, k: &str, v: &str) {
    push_json_string(out, k);
    out.push(':');
    push_json_string(out, v);
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses `{ "k": value, ... }` with string values returned as `Some` and other scalars as
/// `None`. Iterative, no recursion; nested containers are rejected.
fn parse_flat_object(input: &[u8]) -> Result<Vec<(String, Option<String>)>, SaslError> {
    let s = std::str::from_utf8(input).map_err(|_| malformed("error JSON is not UTF-8"))?;
    let mut p = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    p.ws();
    p.expect(b'{')?;
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let k = p.string()?;
            p.ws();
            p.expect(b':')?;
            p.ws();
            let v = match p.peek() {
                Some(b'"') => Some(p.string()?),
                Some(b'{') | Some(b'[') => return Err(malformed("nested JSON value")),
                _ => {
                    p.scalar()?;
                    None
                }
            };
            out.push((k, v));
            p.ws();
            match p.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(malformed("bad JSON object")),
            }
        }
    }
    p.ws();
    if p.i != p.b.len() {
        return Err(malformed("trailing bytes after JSON object"));
    }
    Ok(out)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        if c.is_some() {
            self.i += 1;
        }
        c
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), SaslError> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(malformed("bad JSON syntax"))
        }
    }
    /// A JSON number, `true`, `false` or `null` (validated loosely: its characters).
    fn scalar(&mut self) -> Result<(), SaslError> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
        {
            self.i += 1;
        }
        let tok = self.b.get(start..self.i).unwrap_or_default();
        let ok = matches!(tok, b"true" | b"false" | b"null")
            || (!tok.is_empty()
                && tok
                    .iter()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')));
        if ok {
            Ok(())
        } else {
            Err(malformed("bad JSON value"))
        }
    }
    fn hex4(&mut self) -> Result<u32, SaslError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .next()
                .and_then(|c| char::from(c).to_digit(16))
                .ok_or_else(|| malformed("bad JSON \\u escape"))?;
            v = (v << 4) | d;
        }
        Ok(v)
    }
    fn string(&mut self) -> Result<String, SaslError> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            match self.next() {
                None => return Err(malformed("unterminated JSON string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    let c = match self.next() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            let cp = if (0xd800..0xdc00).contains(&hi) {
                                if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                                    return Err(malformed("lone JSON surrogate"));
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(malformed("lone JSON surrogate"));
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(cp).ok_or_else(|| malformed("lone JSON surrogate"))?
                        }
                        _ => return Err(malformed("bad JSON escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                Some(c) if c < 0x20 => return Err(malformed("control character in JSON string")),
                Some(c) => out.push(c),
            }
        }
        // The input was valid UTF-8 and escapes produce valid UTF-8.
        String::from_utf8(out).map_err(|_| malformed("error JSON is not UTF-8"))
    }
}

/// Checks a bearer token: non-empty, at most [`MAX_TOKEN`] octets, visible ASCII only
/// (RFC 6750 section 2.1 `b64token` is a subset; JWTs fit).
pub(crate) fn valid_token(token: &[u8]) -> bool {
    !token.is_empty() && token.len() <= MAX_TOKEN && token.iter().all(|b| (0x21..=0x7e).contains(b))
}

pub(crate) fn malformed(reason: &'static str) -> SaslError {
    SaslError::Malformed {
        mechanism: MECH,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::b64;

    /// RFC 7628 section 4.3, the failed-exchange error challenge.
    #[test]
    fn rfc7628_error_example() {
        let e = OAuthError::new("invalid_token")
            .with_scope("example_scope")
            .with_openid_configuration("https://example.com/.well-known/openid-configuration");
        assert_eq!(
            b64::encode(e.to_json().as_bytes()),
            "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0="
        );
    }

    #[test]
    fn google_style_error() {
        let json = br#"{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}"#;
        let e = OAuthError::parse(json).unwrap();
        assert_eq!(e.status, "401");
        assert_eq!(e.schemes.as_deref(), Some("bearer mac"));
        assert_eq!(e.scope.as_deref(), Some("https://mail.google.com/"));
        assert_eq!(e.to_json().as_bytes(), json);
    }

    #[test]
    fn json_parsing_edges() {
        let e = OAuthError::parse(
            br#" { "status" : "a\"b\\c\u00e9\ud83d\ude00\/" , "n": 12.5e3, "t": true, "z": null } "#,
        )
        .unwrap();
        assert_eq!(e.status, "a\"b\\c\u{e9}\u{1f600}/");
        assert_eq!(OAuthError::parse(e.to_json().as_bytes()).unwrap(), e);
        for bad in [
            &b""[..],
            b"{",
            b"{}",
            br#"{"status":"x""#,
            br#"{"status":"x",}"#,
            br#"{"status":{"a":"b"}}"#,
            br#"{"status":["x"]}"#,
            br#"{"status":"x"} x"#,
            br#"{"status":"x","status":"y"}"#,
            br#"{"status":"\ud800"}"#,
            br#"{"status":"\q"}"#,
            b"{\"status\":\"a\nb\"}",
            br#"{"status":nope}"#,
            b"{\"status\":\"\xff\"}",
        ] {
            assert!(
                OAuthError::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let e = OAuthError::new("x\u{1}\n");
        assert_eq!(e.to_json(), r#"{"status":"x\u0001\n"}"#);
        assert_eq!(OAuthError::parse(e.to_json().as_bytes()).unwrap(), e);
    }
}
