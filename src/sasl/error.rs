//! The SASL error type and the SMTP replies that go with it (RFC 4954 sections 4 and 6).

use crate::syntax::reply::{EnhancedCode, Reply};

/// An SMTP reply the server sends to end (or refuse) an AUTH exchange.
///
/// Pure data: the machine turns it into a [`Reply`] with [`AuthReply::to_reply`], or uses
/// [`AuthReply::line`] directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthReply {
    /// The three-digit reply code.
    pub code: u16,
    /// The enhanced status code (RFC 3463 / RFC 2034), e.g. `5.7.8`.
    pub enhanced: EnhancedCode,
    /// The human-readable text.
    pub text: &'static str,
}

impl AuthReply {
    /// `235 2.7.0 Authentication successful` (RFC 4954 section 6).
    pub const SUCCEEDED: AuthReply = AuthReply {
        code: 235,
        enhanced: EnhancedCode::new(2, 7, 0),
        text: "Authentication successful",
    };
    /// `535 5.7.8 Authentication credentials invalid` (RFC 4954 section 6): the caller
    /// rejected the credentials.
    pub const INVALID_CREDENTIALS: AuthReply = AuthReply {
        code: 535,
        enhanced: EnhancedCode::new(5, 7, 8),
        text: "Authentication credentials invalid",
    };
    /// `535 5.7.3 Authentication unsuccessful`: the failure reply Exchange sends for NTLM
    /// (\[MS-SMTPNTLM\] section 2.2.1.4, SMTP_AUTH_Fail_Response, and the example of section 4.2).
    pub const NTLM_FAILED: AuthReply = AuthReply {
        code: 535,
        enhanced: EnhancedCode::new(5, 7, 3),
        text: "Authentication unsuccessful",
    };
    /// `501 5.5.2 Cannot Base64-decode client response` (RFC 4954 section 4: a client
    /// response that is not valid BASE64).
    pub const INVALID_BASE64: AuthReply = AuthReply {
        code: 501,
        enhanced: EnhancedCode::new(5, 5, 2),
        text: crate::syntax::error::INVALID_BASE64_TEXT,
    };
    /// `501 5.5.2 Malformed authentication data`: valid BASE64 that does not decode to a
    /// message of the mechanism (RFC 4954 section 4, a syntax error in the exchange).
    pub const MALFORMED: AuthReply = AuthReply {
        code: 501,
        enhanced: EnhancedCode::new(5, 5, 2),
        text: "Malformed authentication data",
    };
    /// `501 5.0.0 Authentication cancelled` (RFC 4954 section 4: the client sent `*`).
    pub const CANCELLED: AuthReply = AuthReply {
        code: 501,
        enhanced: EnhancedCode::new(5, 0, 0),
        text: "Authentication cancelled",
    };
    /// `501 5.7.0 Initial response not allowed`: an initial response was sent with a
    /// mechanism where the server speaks first, such as CRAM-MD5 (RFC 4954 section 4).
    pub const UNEXPECTED_INITIAL_RESPONSE: AuthReply = AuthReply {
        code: 501,
        enhanced: EnhancedCode::new(5, 7, 0),
        text: "Initial response not allowed for this mechanism",
    };
    /// `504 5.5.4 Unrecognized authentication type` (RFC 4954 section 4).
    pub const UNSUPPORTED_MECHANISM: AuthReply = AuthReply {
        code: 504,
        enhanced: EnhancedCode::new(5, 5, 4),
        text: "Unrecognized authentication type",
    };
    /// `500 5.5.6 Authentication Exchange line is too long` (RFC 4954 section 6), for a
    /// line over [`crate::limits::MAX_SASL_LINE`]; the machine enforces that limit.
    pub const LINE_TOO_LONG: AuthReply = AuthReply {
        code: 500,
        enhanced: EnhancedCode::new(5, 5, 6),
        text: "Authentication Exchange line is too long",
    };
    /// `534 5.7.9 Authentication mechanism is too weak` (RFC 4954 section 6).
    pub const MECHANISM_TOO_WEAK: AuthReply = AuthReply {
        code: 534,
        enhanced: EnhancedCode::new(5, 7, 9),
        text: "Authentication mechanism is too weak",
    };
    /// `538 5.7.11 Encryption required for requested authentication mechanism`
    /// (RFC 4954 section 6): a plaintext mechanism before TLS.
    pub const ENCRYPTION_REQUIRED: AuthReply = AuthReply {
        code: 538,
        enhanced: EnhancedCode::new(5, 7, 11),
        text: "Encryption required for requested authentication mechanism",
    };
    /// `454 4.7.0 Temporary authentication failure` (RFC 4954 section 6).
    pub const TEMPORARY_FAILURE: AuthReply = AuthReply {
        code: 454,
        enhanced: EnhancedCode::new(4, 7, 0),
        text: "Temporary authentication failure",
    };
    /// `432 4.7.12 A password transition is needed` (RFC 4954 section 6).
    pub const PASSWORD_TRANSITION: AuthReply = AuthReply {
        code: 432,
        enhanced: EnhancedCode::new(4, 7, 12),
        text: "A password transition is needed",
    };
    /// `530 5.7.0 Authentication required` (RFC 4954 section 6).
    pub const AUTH_REQUIRED: AuthReply = AuthReply {
        code: 530,
        enhanced: EnhancedCode::new(5, 7, 0),
        text: "Authentication required",
    };

    /// The full reply line, `"<code> <enhanced> <text>\r\n"`.
    pub fn line(&self) -> String {
        format!("{} {} {}\r\n", self.code, self.enhanced, self.text)
    }

    /// The same reply as a syntax-layer [`Reply`].
    pub const fn to_reply(&self) -> Reply {
        Reply::from_static(self.code, Some(self.enhanced), self.text)
    }
}

/// Everything that can go wrong in a SASL exchange.
///
/// On the server side every variant maps to the reply that ends the AUTH command, see
/// [`SaslError::reply`]. On the client side an error means "send `*` to cancel"
/// (RFC 4954 section 4) and expect a 501.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// A response or challenge that is not strict standard-alphabet, padded BASE64
    /// (RFC 4648 section 4). Server reply: `501 5.5.2`.
    #[error("invalid base64")]
    InvalidBase64,
    /// The client cancelled the exchange with a `*` line (RFC 4954 section 4).
    /// Server reply: `501 5.0.0`.
    #[error("authentication cancelled by the client")]
    Cancelled,
    /// Decoded bytes that are not a valid message of the mechanism (for example a PLAIN
    /// message without its two NULs, RFC 4616 section 2). Server reply: `501 5.5.2`.
    #[error("malformed {mechanism} message: {reason}")]
    Malformed {
        /// The mechanism name.
        mechanism: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// An initial response with a mechanism where the server speaks first (CRAM-MD5),
    /// RFC 4954 section 4. Server reply: `501 5.7.0`.
    #[error("initial response not allowed for {0}")]
    UnexpectedInitialResponse(&'static str),
    /// The mechanism name is not valid SASL syntax or is not one this driver implements
    /// (RFC 4954 section 4). Server reply: `504 5.5.4`.
    #[error("unsupported SASL mechanism")]
    UnsupportedMechanism,
    /// The exchange ended in failure on the wire: after an OAuth error challenge
    /// (RFC 7628 section 3.2.3) the server must fail. Server reply: `535 5.7.8`.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// A message arrived when the exchange did not expect one (a challenge after the
    /// client's last message, a driver call out of order). Server reply: `501 5.5.2`;
    /// a client cancels with `*`.
    #[error("unexpected step in the {0} exchange")]
    UnexpectedStep(&'static str),
    /// The caller passed a value the mechanism cannot carry (for example a NUL in a
    /// PLAIN user name, RFC 4616 section 2). Never caused by the peer; no reply.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
}

impl SaslError {
    /// The SMTP reply a server sends when this error ends an AUTH exchange.
    pub fn reply(&self) -> AuthReply {
        match self {
            SaslError::InvalidBase64 => AuthReply::INVALID_BASE64,
            SaslError::Cancelled => AuthReply::CANCELLED,
            SaslError::Malformed { .. } | SaslError::UnexpectedStep(_) => AuthReply::MALFORMED,
            SaslError::UnexpectedInitialResponse(_) => AuthReply::UNEXPECTED_INITIAL_RESPONSE,
            SaslError::UnsupportedMechanism => AuthReply::UNSUPPORTED_MECHANISM,
            SaslError::AuthenticationFailed => AuthReply::INVALID_CREDENTIALS,
            // Not a peer error; if it ever reaches the wire, it is a temporary local fault.
            SaslError::InvalidInput(_) => AuthReply::TEMPORARY_FAILURE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(
            SaslError::InvalidBase64.reply().line(),
            "501 5.5.2 Cannot Base64-decode client response\r\n"
        );
        assert_eq!(
            SaslError::Cancelled.reply().line(),
            "501 5.0.0 Authentication cancelled\r\n"
        );
        assert_eq!(
            SaslError::AuthenticationFailed.reply().line(),
            "535 5.7.8 Authentication credentials invalid\r\n"
        );
        assert_eq!(SaslError::UnsupportedMechanism.reply().code, 504);
        assert_eq!(
            AuthReply::INVALID_CREDENTIALS.to_reply().to_bytes(),
            b"535 5.7.8 Authentication credentials invalid\r\n"
        );
        assert_eq!(
            AuthReply::SUCCEEDED.line(),
            "235 2.7.0 Authentication successful\r\n"
        );
        assert_eq!(
            AuthReply::NTLM_FAILED.line(),
            "535 5.7.3 Authentication unsuccessful\r\n"
        );
    }
}
