//! LOGIN (\[MS-XLOGIN\]): two BASE64 prompts and two BASE64 answers.
//!
//! \[MS-XLOGIN\] section 2.2: the server challenges with `334 VXNlcm5hbWU6` ("Username:")
//! and `334 UGFzc3dvcmQ6` ("Password:"); the client answers each with a BASE64 line. The
//! `AUTH LOGIN` command may carry the BASE64 user name as its initial response, in which
//! case the server goes straight to the password prompt.
//!
//! ```
//! use ehlo::sasl::login;
//! assert_eq!(login::USERNAME_CHALLENGE_TEXT, "VXNlcm5hbWU6");
//! assert_eq!(login::PASSWORD_CHALLENGE_TEXT, "UGFzc3dvcmQ6");
//! assert_eq!(login::prompt_kind(b"Password:"), Some(login::LoginPrompt::Password));
//! ```

use super::SaslError;

const MECH: &str = "LOGIN";

/// The decoded user-name challenge, `Username:`.
pub const USERNAME_CHALLENGE: &[u8] = b"Username:";
/// The decoded password challenge, `Password:`.
pub const PASSWORD_CHALLENGE: &[u8] = b"Password:";
/// The text of the user-name challenge line, `334 VXNlcm5hbWU6` (\[MS-XLOGIN\] 2.2).
pub const USERNAME_CHALLENGE_TEXT: &str = "VXNlcm5hbWU6";
/// The text of the password challenge line, `334 UGFzc3dvcmQ6` (\[MS-XLOGIN\] 2.2).
pub const PASSWORD_CHALLENGE_TEXT: &str = "UGFzc3dvcmQ6";

/// Which prompt a LOGIN challenge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginPrompt {
    /// `Username:` (also `User Name`, any case).
    Username,
    /// `Password:` (any case).
    Password,
}

/// Recognises a decoded LOGIN challenge. Servers in the wild vary the text ("Username:",
/// "User Name", "username:"), so the check is case-insensitive on the leading word;
/// `None` for anything else. The client driver ([`super::ClientExchange`]) answers by
/// this value, and by position only when it is `None`.
pub fn prompt_kind(challenge: &[u8]) -> Option<LoginPrompt> {
    let lower: Vec<u8> = challenge.iter().map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"username") || lower.starts_with(b"user name") {
        Some(LoginPrompt::Username)
    } else if lower.starts_with(b"password") {
        Some(LoginPrompt::Password)
    } else {
        None
    }
}

/// Checks a user name or password a client is about to send: non-empty, no NUL, CR or
/// LF (\[MS-XLOGIN\] 2.2: `1*CHAR`).
pub fn check_field(value: &str) -> Result<(), SaslError> {
    if value.is_empty() || value.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        Err(SaslError::InvalidInput(
            "LOGIN field empty or containing NUL, CR or LF",
        ))
    } else {
        Ok(())
    }
}

/// Parses one decoded LOGIN answer (user name or password): non-empty UTF-8 without NUL.
/// Anything else is [`SaslError::Malformed`] (`501 5.5.2`).
pub fn parse_field(decoded: &[u8]) -> Result<String, SaslError> {
    if decoded.is_empty() {
        return Err(malformed("empty field"));
    }
    if decoded.contains(&0) {
        return Err(malformed("NUL in field"));
    }
    std::str::from_utf8(decoded)
        .map(str::to_owned)
        .map_err(|_| malformed("field is not UTF-8"))
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
    fn challenge_constants_match_their_base64() {
        assert_eq!(b64::encode(USERNAME_CHALLENGE), USERNAME_CHALLENGE_TEXT);
        assert_eq!(b64::encode(PASSWORD_CHALLENGE), PASSWORD_CHALLENGE_TEXT);
    }

    #[test]
    fn prompts() {
        assert_eq!(prompt_kind(b"Username:"), Some(LoginPrompt::Username));
        assert_eq!(prompt_kind(b"User Name\0"), Some(LoginPrompt::Username));
        assert_eq!(prompt_kind(b"password:"), Some(LoginPrompt::Password));
        assert_eq!(prompt_kind(b"Who are you?"), None);
    }

    #[test]
    fn fields() {
        assert_eq!(parse_field(b"tim").unwrap(), "tim");
        assert!(parse_field(b"").is_err());
        assert!(parse_field(b"t\0m").is_err());
        assert!(parse_field(b"\xff").is_err());
        assert!(check_field("a\r\nb").is_err());
        assert!(check_field("").is_err());
        assert!(check_field("ok").is_ok());
    }
}
