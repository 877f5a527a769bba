//! BASE64 framing of SASL messages in SMTP (RFC 4954 section 4).
//!
//! Policy: standard alphabet, canonical padding required, **no whitespace tolerated**
//! anywhere (RFC 4648 section 3.3 lets a protocol reject non-alphabet characters, and
//! RFC 4954 defines each response as exactly one BASE64 string). The caller strips the
//! line's CRLF; a trailing space or an interior line break is [`SaslError::InvalidBase64`]
//! (`501 5.5.2`). Decoded output is never longer than its input, so memory stays bounded
//! by the line limit ([`crate::limits::MAX_SASL_LINE`]) the machine enforces.
//!
//! Special forms:
//! * initial response (argument of `AUTH`): `=` means a zero-length response;
//! * continuation line: `*` cancels ([`SaslError::Cancelled`]); an empty line is a
//!   zero-length response;
//! * server challenge: `334 ` followed by BASE64, or nothing for an empty challenge.
//!
//! The syntax layer's [`parse_sasl_response`](crate::syntax::command::parse_sasl_response)
//! already trims trailing SP/HTAB and enforces the 12,288-octet line limit; its
//! [`SaslResponse`] and [`InitialResponse`] values decode with [`decode_sasl_response`] and
//! [`decode_initial`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::SaslError;
use crate::syntax::command::{InitialResponse, SaslResponse};

/// Encodes `data` as standard, padded BASE64.
pub fn encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes strict standard BASE64 (padding required, no whitespace, no non-zero trailing
/// bits). The empty string decodes to nothing.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, SaslError> {
    STANDARD.decode(text).map_err(|_| SaslError::InvalidBase64)
}

/// Encodes an initial response for the `AUTH` command: `=` for a zero-length response
/// (RFC 4954 section 4), otherwise BASE64.
pub fn encode_initial_response(data: &[u8]) -> String {
    if data.is_empty() {
        "=".to_owned()
    } else {
        encode(data)
    }
}

/// Decodes the initial-response argument of `AUTH` (RFC 4954 section 4): `=` is a
/// zero-length response; an empty argument is invalid (it cannot be told apart from
/// "no initial response").
pub fn decode_initial_response(arg: &[u8]) -> Result<Vec<u8>, SaslError> {
    match arg {
        b"=" => Ok(Vec::new()),
        b"" => Err(SaslError::InvalidBase64),
        _ => decode(arg),
    }
}

/// Decodes a parsed `AUTH` initial response (`=` is [`InitialResponse::Empty`]).
pub fn decode_initial(ir: &InitialResponse<'_>) -> Result<Vec<u8>, SaslError> {
    match ir {
        InitialResponse::Empty => Ok(Vec::new()),
        InitialResponse::Base64(s) => decode_initial_response(s.as_bytes()),
    }
}

/// Decodes a parsed continuation line ([`SaslResponse::Cancel`] is
/// [`SaslError::Cancelled`]).
pub fn decode_sasl_response(r: &SaslResponse<'_>) -> Result<Vec<u8>, SaslError> {
    match r {
        SaslResponse::Cancel => Err(SaslError::Cancelled),
        SaslResponse::Base64(s) => decode(s.as_bytes()),
    }
}

/// Encodes a client continuation line (without CRLF): BASE64, empty for an empty
/// response.
pub fn encode_client_response(data: &[u8]) -> String {
    encode(data)
}

/// The line a client sends to cancel an exchange (RFC 4954 section 4).
pub const CANCEL_LINE: &str = "*";

/// Decodes a client continuation line (CRLF already stripped): `*` is
/// [`SaslError::Cancelled`], an empty line a zero-length response.
pub fn decode_client_response(line: &[u8]) -> Result<Vec<u8>, SaslError> {
    if line == b"*" {
        return Err(SaslError::Cancelled);
    }
    decode(line)
}

/// The text of a `334` challenge carrying `data`: its BASE64, empty for an empty challenge
/// (the line is then `"334 "`, RFC 4954 section 4).
pub fn challenge_text(data: &[u8]) -> String {
    encode(data)
}

/// The full challenge line `"334 <base64>\r\n"` for `data`.
pub fn challenge_line(data: &[u8]) -> String {
    format!("334 {}\r\n", encode(data))
}

/// Decodes the text of a `334` reply (what follows `"334 "`, CRLF stripped).
pub fn decode_challenge(text: &[u8]) -> Result<Vec<u8>, SaslError> {
    decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding() {
        assert_eq!(decode(b"dGVzdA==").unwrap(), b"test");
        assert_eq!(decode(b"").unwrap(), b"");
        assert_eq!(decode(b"dGVzdA"), Err(SaslError::InvalidBase64));
        assert_eq!(decode(b"dGVzdA== "), Err(SaslError::InvalidBase64));
        assert_eq!(decode(b" dGVzdA=="), Err(SaslError::InvalidBase64));
        assert_eq!(decode(b"dGVz\r\ndA=="), Err(SaslError::InvalidBase64));
        assert_eq!(decode(b"dGVzdA-_"), Err(SaslError::InvalidBase64));
        // Non-canonical trailing bits ("dGVzdB==" has a non-zero low bit).
        assert_eq!(decode(b"dGVzdB=="), Err(SaslError::InvalidBase64));
        assert_eq!(decode(b"="), Err(SaslError::InvalidBase64));
    }

    #[test]
    fn special_forms() {
        assert_eq!(decode_initial_response(b"=").unwrap(), b"");
        assert_eq!(decode_initial_response(b""), Err(SaslError::InvalidBase64));
        assert_eq!(encode_initial_response(b""), "=");
        assert_eq!(decode_client_response(b"*"), Err(SaslError::Cancelled));
        assert_eq!(decode_client_response(b"").unwrap(), b"");
        assert_eq!(decode_client_response(b"AQ==").unwrap(), b"\x01");
        assert_eq!(challenge_line(b""), "334 \r\n");
        assert_eq!(challenge_line(b"Username:"), "334 VXNlcm5hbWU6\r\n");
    }

    #[test]
    fn syntax_adapters() {
        use crate::syntax::command::parse_sasl_response;
        assert_eq!(decode_initial(&InitialResponse::Empty).unwrap(), b"");
        assert_eq!(
            decode_initial(&InitialResponse::Base64("dGVzdA==".into())).unwrap(),
            b"test"
        );
        let r = parse_sasl_response(b"dGVzdA== \r\n").unwrap();
        assert_eq!(decode_sasl_response(&r).unwrap(), b"test");
        let r = parse_sasl_response(b"*\r\n").unwrap();
        assert_eq!(decode_sasl_response(&r), Err(SaslError::Cancelled));
        let r = parse_sasl_response(b"\r\n").unwrap();
        assert_eq!(decode_sasl_response(&r).unwrap(), b"");
    }
}
