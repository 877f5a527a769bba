//! OAUTHBEARER (RFC 7628): a GS2 header followed by `\x01`-separated key/value pairs.
//!
//! RFC 7628 section 3.1:
//! `gs2-header kvsep *kvpair kvsep`, where `gs2-header = gs2-cb-flag "," [ "a=" saslname ] ","`,
//! `kvsep = %x01`, `kvpair = key "=" value kvsep`, `key = 1*(ALPHA)`, and `auth`
//! (`Bearer <token>`) is required; `host` and `port` are optional. On rejection the server
//! sends a JSON error challenge ([`super::oauth::OAuthError`]) and the client must answer
//! with a single `\x01` ([`ERROR_ACK`], section 3.2.3).
//!
//! ```
//! use ehlo::sasl::oauthbearer::OAuthBearerMessage;
//! let m = OAuthBearerMessage::new(Some("user@example.com"), "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==")
//!     .unwrap()
//!     .with_host("server.example.com")
//!     .with_port(143);
//! assert_eq!(
//!     m.to_bytes(),
//!     b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
//! );
//! assert_eq!(OAuthBearerMessage::parse(&m.to_bytes()).unwrap(), m);
//! ```

use std::fmt;

use super::oauth::{malformed, valid_token};
use super::xoauth2::bearer_token;
use super::SaslError;

/// The client's reply to an OAUTHBEARER error challenge: a single `%x01`
/// (RFC 7628 section 3.2.3).
pub const ERROR_ACK: &[u8] = b"\x01";

/// An OAUTHBEARER initial client response. `Debug` never prints the token.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthBearerMessage {
    /// The GS2 authorization identity (`a=`), unescaped; `None` when absent.
    pub authzid: Option<String>,
    /// `host`: the server name the client connected to.
    pub host: Option<String>,
    /// `port`: the destination port.
    pub port: Option<u16>,
    /// The bearer token (without the `Bearer ` prefix).
    pub token: String,
    /// The GS2 channel-binding flag was `y` instead of `n` (client supports channel
    /// binding but thinks the server does not).
    pub cb_flag_y: bool,
}

impl fmt::Debug for OAuthBearerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearerMessage")
            .field("authzid", &self.authzid)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("token", &"<redacted>")
            .field("cb_flag_y", &self.cb_flag_y)
            .finish()
    }
}

fn valid_value(v: &[u8]) -> bool {
    // value = *(VCHAR / SP / HTAB / CR / LF)
    v.iter()
        .all(|b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n'))
}

impl OAuthBearerMessage {
    /// A message with an optional authorization identity and a token.
    pub fn new(authzid: Option<&str>, token: &str) -> Result<Self, SaslError> {
        if authzid.is_some_and(|a| a.is_empty() || a.contains('\0')) {
            return Err(SaslError::InvalidInput(
                "OAUTHBEARER authzid empty or containing NUL",
            ));
        }
        if !valid_token(token.as_bytes()) {
            return Err(SaslError::InvalidInput(
                "OAUTHBEARER token not visible ASCII",
            ));
        }
        Ok(OAuthBearerMessage {
            authzid: authzid.map(str::to_owned),
            host: None,
            port: None,
            token: token.to_owned(),
            cb_flag_y: false,
        })
    }

    /// Sets `host`. A value with anything but visible ASCII, space and tab is ignored and
    /// `host` stays unset.
    #[must_use]
    pub fn with_host(mut self, host: &str) -> Self {
        if valid_value(host.as_bytes()) && !host.contains(['\r', '\n']) {
            self.host = Some(host.to_owned());
        }
        self
    }

    /// Sets `port`.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The message bytes (before BASE64): GS2 header, `host`, `port`, `auth`, final `\x01`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(if self.cb_flag_y { b"y," } else { b"n," });
        if let Some(a) = &self.authzid {
            out.extend_from_slice(b"a=");
            for c in a.bytes() {
                match c {
                    b',' => out.extend_from_slice(b"=2C"),
                    b'=' => out.extend_from_slice(b"=3D"),
                    c => out.push(c),
                }
            }
        }
        out.push(b',');
        out.push(1);
        if let Some(h) = &self.host {
            out.extend_from_slice(b"host=");
            out.extend_from_slice(h.as_bytes());
            out.push(1);
        }
        if let Some(p) = self.port {
            out.extend_from_slice(format!("port={p}\x01").as_bytes());
        }
        out.extend_from_slice(b"auth=Bearer ");
        out.extend_from_slice(self.token.as_bytes());
        out.extend_from_slice(b"\x01\x01");
        out
    }

    /// Parses a decoded client response (RFC 7628 section 3.1). Channel binding (`p=`) is
    /// refused (section 3.1 forbids it); unknown keys are ignored; `auth` is required once.
    /// The bare `\x01` error acknowledgement is not a message and is refused here. Errors
    /// are [`SaslError::Malformed`] (`501 5.5.2`).
    pub fn parse(msg: &[u8]) -> Result<Self, SaslError> {
        let (cb_flag_y, rest) = match msg {
            [b'n', b',', rest @ ..] => (false, rest),
            [b'y', b',', rest @ ..] => (true, rest),
            _ => return Err(malformed("OAUTHBEARER GS2 header must start with n, or y,")),
        };
        let comma = rest
            .iter()
            .position(|b| *b == b',')
            .ok_or_else(|| malformed("unterminated OAUTHBEARER GS2 header"))?;
        let (authz, rest) = rest.split_at(comma);
        let rest = rest.get(1..).unwrap_or_default();
        let authzid = match authz {
            [] => None,
            [b'a', b'=', name @ ..] => Some(unescape_saslname(name)?),
            _ => return Err(malformed("bad OAUTHBEARER gs2-authzid")),
        };
        let rest = rest
            .strip_prefix(b"\x01")
            .ok_or_else(|| malformed("OAUTHBEARER GS2 header not followed by ^A"))?;
        let body = rest
            .strip_suffix(b"\x01\x01")
            .ok_or_else(|| malformed("OAUTHBEARER message must end with ^A^A"))?;
        let mut m = OAuthBearerMessage {
            authzid,
            host: None,
            port: None,
            token: String::new(),
            cb_flag_y,
        };
        let mut have_auth = false;
        for pair in body.split(|b| *b == 1) {
            let eq = pair
                .iter()
                .position(|b| *b == b'=')
                .ok_or_else(|| malformed("OAUTHBEARER kvpair without '='"))?;
            let (k, v) = pair.split_at(eq);
            let v = v.get(1..).unwrap_or_default();
            if k.is_empty() || !k.iter().all(u8::is_ascii_alphabetic) {
                return Err(malformed("bad OAUTHBEARER key"));
            }
            if !valid_value(v) {
                return Err(malformed("bad OAUTHBEARER value"));
            }
            match k {
                b"auth" => {
                    if have_auth {
                        return Err(malformed("duplicate OAUTHBEARER auth"));
                    }
                    m.token = bearer_token(v)?.to_owned();
                    have_auth = true;
                }
                b"host" => {
                    // valid_value guarantees ASCII.
                    m.host = Some(String::from_utf8_lossy(v).into_owned());
                }
                b"port" => {
                    let p = std::str::from_utf8(v)
                        .ok()
                        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|s| s.parse::<u16>().ok())
                        .ok_or_else(|| malformed("bad OAUTHBEARER port"))?;
                    m.port = Some(p);
                }
                _ => {}
            }
        }
        if !have_auth {
            return Err(malformed("OAUTHBEARER message without auth"));
        }
        Ok(m)
    }
}

/// `saslname = 1*(UTF8-char-safe / "=2C" / "=3D")` (RFC 5801 section 4).
fn unescape_saslname(name: &[u8]) -> Result<String, SaslError> {
    if name.is_empty() {
        return Err(malformed("empty OAUTHBEARER authzid"));
    }
    let mut out = Vec::with_capacity(name.len());
    let mut i = 0;
    while let Some(&c) = name.get(i) {
        match c {
            b'=' => {
                match name.get(i + 1..i + 3) {
                    Some(b"2C") => out.push(b','),
                    Some(b"3D") => out.push(b'='),
                    _ => return Err(malformed("bad escape in OAUTHBEARER authzid")),
                }
                i += 3;
            }
            0 => return Err(malformed("NUL in OAUTHBEARER authzid")),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| malformed("OAUTHBEARER authzid is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::b64;

    /// RFC 7628 section 4.1, byte for byte.
    #[test]
    fn rfc7628_success_example() {
        let m = OAuthBearerMessage::new(
            Some("user@example.com"),
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        )
        .unwrap()
        .with_host("server.example.com")
        .with_port(143);
        let wire = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
        assert_eq!(b64::encode(&m.to_bytes()), wire);
        let parsed = OAuthBearerMessage::parse(&b64::decode(wire.as_bytes()).unwrap()).unwrap();
        assert_eq!(parsed, m);
        assert_eq!(b64::encode(ERROR_ACK), "AQ==");
    }

    #[test]
    fn escaping_and_edges() {
        let m = OAuthBearerMessage::new(Some("a,b=c"), "t").unwrap();
        assert_eq!(m.to_bytes(), b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01");
        assert_eq!(OAuthBearerMessage::parse(&m.to_bytes()).unwrap(), m);
        let m = OAuthBearerMessage::parse(b"y,,\x01auth=bearer t\x01x=\x01\x01").unwrap();
        assert!(m.cb_flag_y);
        assert_eq!(m.authzid, None);
        for bad in [
            &b""[..],
            b"\x01",
            b"p=tls-unique,,\x01auth=Bearer t\x01\x01",
            b"n,\x01auth=Bearer t\x01\x01",
            b"n,,auth=Bearer t\x01\x01",
            b"n,,\x01auth=Bearer t\x01",
            b"n,,\x01\x01",
            b"n,,\x01host=h\x01\x01",
            b"n,a=,\x01auth=Bearer t\x01\x01",
            b"n,a=x=2,\x01auth=Bearer t\x01\x01",
            b"n,b=x,\x01auth=Bearer t\x01\x01",
            b"n,,\x01auth=Bearer t\x01port=99999\x01\x01",
            b"n,,\x01auth=Bearer t\x01port=\x01\x01",
            b"n,,\x01au1h=Bearer t\x01\x01",
            b"n,,\x01auth=Bearer t\x01auth=Bearer t\x01\x01",
            b"n,,\x01auth=Bearer t\x01host=\x00\x01\x01",
            b"n,,\x01auth=Bearer t\x01\x01\x01",
        ] {
            assert!(OAuthBearerMessage::parse(bad).is_err(), "{bad:?}");
        }
    }
}
