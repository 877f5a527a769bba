//! NTLM over SMTP (\[MS-SMTPNTLM\]): framing only, no NTLM cryptography.
//!
//! The exchange (\[MS-SMTPNTLM\] sections 2.2 and 3, example in section 4.2):
//!
//! ```text
//! C: AUTH NTLM
//! S: 334 ntlm supported                       (2.2.1.2, human-readable, not BASE64)
//! C: TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAFAs4OAAAADw==   (NEGOTIATE, 2.2.1.7)
//! S: 334 TlRMTVNTUAACAAAA...                  (CHALLENGE, 2.2.1.3 / 2.2.2)
//! C: TlRMTVNTUAADAAAA...                      (AUTHENTICATE)
//! S: 235 <text> | 535 5.7.3 Authentication unsuccessful   (2.2.1.6 / 2.2.1.4)
//! ```
//!
//! With an initial response (`AUTH NTLM <negotiate>`, which 3.1.4.1 says the client SHOULD
//! send) the server answers the CHALLENGE blob at once. A client tells the two kinds of
//! `334` apart only by whether it sent an initial response (3.1.5.1). The caller's NTLM
//! software (SSPI, a library) produces and checks the blobs; this module recognises them by
//! the `NTLMSSP\0` signature and the little-endian message type that follows
//! (\[MS-NLMP\] 2.2.1).
//!
//! ```
//! use ehlo::sasl::{b64, ntlm::{self, NtlmMessageType}};
//! let blob = b64::decode(b"TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAFAs4OAAAADw==").unwrap();
//! assert_eq!(ntlm::message_type(&blob), Some(NtlmMessageType::Negotiate));
//! ```

/// The text of the `334` reply to `AUTH NTLM` without an initial response
/// (\[MS-SMTPNTLM\] 2.2.1.2; the section 4 example uses exactly this text).
pub const SUPPORTED_TEXT: &str = "ntlm supported";

/// The NTLMSSP signature, `"NTLMSSP\0"` (\[MS-NLMP\] 2.2.1.1).
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// The three NTLM message types (\[MS-NLMP\] 2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NtlmMessageType {
    /// NEGOTIATE_MESSAGE, type 1 (client to server).
    Negotiate,
    /// CHALLENGE_MESSAGE, type 2 (server to client).
    Challenge,
    /// AUTHENTICATE_MESSAGE, type 3 (client to server).
    Authenticate,
}

impl NtlmMessageType {
    /// The numeric MessageType field value.
    pub fn number(self) -> u32 {
        match self {
            NtlmMessageType::Negotiate => 1,
            NtlmMessageType::Challenge => 2,
            NtlmMessageType::Authenticate => 3,
        }
    }
}

/// Recognises a decoded NTLM blob: the `NTLMSSP\0` signature followed by a 32-bit
/// little-endian MessageType of 1, 2 or 3. `None` for anything else (too short, wrong
/// signature, other type). No other field is looked at.
pub fn message_type(blob: &[u8]) -> Option<NtlmMessageType> {
    let sig = blob.get(..8)?;
    if sig != SIGNATURE {
        return None;
    }
    let t = blob.get(8..12)?;
    match u32::from_le_bytes([t[0], t[1], t[2], t[3]]) {
        1 => Some(NtlmMessageType::Negotiate),
        2 => Some(NtlmMessageType::Challenge),
        3 => Some(NtlmMessageType::Authenticate),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sasl::b64;

    /// The blobs of the \[MS-SMTPNTLM\] section 4.2 example (the CHALLENGE line is wrapped
    /// in the document; here it is one line, as on the wire).
    pub(crate) const MS_NEGOTIATE: &str =
        "TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAFAs4OAAAADw==";
    pub(crate) const MS_CHALLENGE: &str = "TlRMTVNTUAACAAAAFgAWADgAAAA1goriYo7ENUsXagIAAAAAAAAAAGwAbABOAAAABQLODgAAAA9FAFgAQwBIAC0AQwBMAEkALQA2ADYAAgAWAEUAWABDAEgALQBDAEwASQAtADYANgABABYARQBYAEMASAAtAEMATABJAC0ANgA2AAQAFgBlAHgAYwBoAC0AYwBsAGkALQA2ADYAAwAWAGUAeABjAGgALQBjAGwAaQAtADYANgAAAAAA";
    pub(crate) const MS_AUTHENTICATE: &str = "TlRMTVNTUAADAAAAGAAYAHwAAAAYABgAlAAAABYAFgBIAAAACAAIAF4AAAAWABYAZgAAABAAEACsAAAANYKI4gUCzg4AAAAPZQB4AGMAaAAtAGMAbABpAC0ANgA2AHQAZQBzAHQARQBYAEMASAAtAEMATABJAC0ANgA2AIqeV65hhASwAAAAAAAAAAAAAAAAAAAAAHZHDVfwTU5ci0RY04eRmWy0/VWZfIfjsqdUu2WmxYUKy83PyyxzbA8=";

    #[test]
    fn ms_smtpntlm_example_blobs() {
        let n = b64::decode(MS_NEGOTIATE.as_bytes()).unwrap();
        let c = b64::decode(MS_CHALLENGE.as_bytes()).unwrap();
        let a = b64::decode(MS_AUTHENTICATE.as_bytes()).unwrap();
        assert_eq!(message_type(&n), Some(NtlmMessageType::Negotiate));
        assert_eq!(message_type(&c), Some(NtlmMessageType::Challenge));
        assert_eq!(message_type(&a), Some(NtlmMessageType::Authenticate));
        assert_eq!(b64::encode(&c), MS_CHALLENGE);
    }

    #[test]
    fn recognition_edges() {
        assert_eq!(message_type(b""), None);
        assert_eq!(message_type(b"NTLMSSP\0"), None);
        assert_eq!(message_type(b"NTLMSSP\0\x01\0\0"), None);
        assert_eq!(
            message_type(b"NTLMSSP\0\x01\0\0\0"),
            Some(NtlmMessageType::Negotiate)
        );
        assert_eq!(message_type(b"NTLMSSP\0\x04\0\0\0"), None);
        assert_eq!(message_type(b"NTLMSSP\0\x01\0\0\x01"), None);
        assert_eq!(message_type(b"ntlmssp\0\x01\0\0\0"), None);
        assert_eq!(NtlmMessageType::Authenticate.number(), 3);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any octets: `Some` exactly for the signature followed by a little-endian
            /// 1, 2 or 3 (\[MS-NLMP\] 2.2.1), whatever follows; never a panic.
            #[test]
            fn message_type_is_signature_and_type(
                prefix in prop_oneof![Just(SIGNATURE.to_vec()), proptest::collection::vec(any::<u8>(), 0..10)],
                kind in prop_oneof![0u32..5, any::<u32>()],
                cut in 0usize..13,
                rest in proptest::collection::vec(any::<u8>(), 0..64),
            ) {
                let mut blob = prefix.clone();
                blob.extend_from_slice(&kind.to_le_bytes());
                blob.extend_from_slice(&rest);
                let blob = if cut < 12 { &blob[..cut.min(blob.len())] } else { &blob[..] };
                let expected = if blob.len() >= 12 && blob[..8] == SIGNATURE[..] {
                    match u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]) {
                        1 => Some(NtlmMessageType::Negotiate),
                        2 => Some(NtlmMessageType::Challenge),
                        3 => Some(NtlmMessageType::Authenticate),
                        _ => None,
                    }
                } else {
                    None
                };
                prop_assert_eq!(message_type(blob), expected);
                if let Some(t) = expected {
                    prop_assert_eq!(u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]), t.number());
                }
            }
        }
    }
}
