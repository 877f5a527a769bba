//! GSSAPI / Kerberos V5 (RFC 4752): framing only.
//!
//! The context-establishment tokens (RFC 4752 section 3.1) pass through unchanged between
//! the wire and the caller's GSS-API implementation; an empty token is an empty `334 ` or
//! an empty client line. After the context is established the server sends, wrapped with
//! `GSS_Wrap`, four octets: a bit mask of the security layers it offers and a 24-bit
//! maximum message size; the client answers (wrapped) with the layer it chose, its own
//! maximum size, and optionally an authorization identity. The caller does the wrapping;
//! this module encodes and decodes the four-octet payloads.
//!
//! SMTP through this crate cannot run a SASL security layer (it would wrap all later
//! traffic), so servers should offer and clients should choose [`LAYER_NONE`] only.
//!
//! ```
//! use ehlo::sasl::gssapi::{SecurityOffer, SecuritySelection, LAYER_NONE};
//! let offer = SecurityOffer { layers: LAYER_NONE, max_size: 0 };
//! assert_eq!(offer.to_bytes(), [1, 0, 0, 0]);
//! let sel = SecuritySelection::none(Some("tim"));
//! assert_eq!(sel.to_bytes(), b"\x01\x00\x00\x00tim");
//! assert_eq!(SecuritySelection::parse(&sel.to_bytes()).unwrap(), sel);
//! ```

use super::SaslError;

const MECH: &str = "GSSAPI";

/// Security layer bit: no security layer (RFC 4752 section 3.3).
pub const LAYER_NONE: u8 = 1;
/// Security layer bit: integrity protection.
pub const LAYER_INTEGRITY: u8 = 2;
/// Security layer bit: confidentiality protection.
pub const LAYER_CONFIDENTIALITY: u8 = 4;
/// Largest maximum-size value (three octets).
pub const MAX_SIZE_LIMIT: u32 = 0x00ff_ffff;

/// The server's post-context message (after `GSS_Unwrap`): offered layers and maximum size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityOffer {
    /// Bit mask of offered layers ([`LAYER_NONE`] | [`LAYER_INTEGRITY`] | [`LAYER_CONFIDENTIALITY`]).
    pub layers: u8,
    /// Maximum size of a wrapped message the server can receive (24 bits).
    pub max_size: u32,
}

impl SecurityOffer {
    /// The four octets: mask, then the size in network byte order (size clamped to 24 bits).
    pub fn to_bytes(&self) -> [u8; 4] {
        let s = self.max_size.min(MAX_SIZE_LIMIT).to_be_bytes();
        [self.layers, s[1], s[2], s[3]]
    }

    /// Parses the unwrapped server message: exactly four octets (RFC 4752 section 3.1:
    /// any other length fails the negotiation). Unknown mask bits are kept, not refused:
    /// bits that are not understood are negotiated off (RFC 4422 section 3.7).
    pub fn parse(b: &[u8]) -> Result<Self, SaslError> {
        let [layers, s1, s2, s3] = <[u8; 4]>::try_from(b)
            .map_err(|_| malformed("security layer offer is not four octets"))?;
        Ok(SecurityOffer {
            layers,
            max_size: u32::from_be_bytes([0, s1, s2, s3]),
        })
    }

    /// Whether the server offers `layer` (one of the `LAYER_*` bits).
    pub fn offers(&self, layer: u8) -> bool {
        self.layers & layer != 0
    }
}

/// The client's answer (before `GSS_Wrap`): chosen layer, maximum size, authorization id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecuritySelection {
    /// Exactly one layer bit.
    pub layer: u8,
    /// Maximum size of a wrapped message the client can receive (0 with [`LAYER_NONE`]).
    pub max_size: u32,
    /// The authorization identity (UTF-8), `None` when empty.
    pub authzid: Option<String>,
}

impl SecuritySelection {
    /// No security layer, size 0, with an optional authorization identity.
    pub fn none(authzid: Option<&str>) -> Self {
        SecuritySelection {
            layer: LAYER_NONE,
            max_size: 0,
            authzid: authzid.filter(|a| !a.is_empty()).map(str::to_owned),
        }
    }

    /// Layer octet, three size octets, then the authorization identity.
    pub fn to_bytes(&self) -> Vec<u8> {
        let s = self.max_size.min(MAX_SIZE_LIMIT).to_be_bytes();
        let mut out = vec![self.layer, s[1], s[2], s[3]];
        if let Some(a) = &self.authzid {
            out.extend_from_slice(a.as_bytes());
        }
        out
    }

    /// Parses the client's answer: at least four octets, exactly one known layer bit,
    /// UTF-8 authorization identity.
    pub fn parse(b: &[u8]) -> Result<Self, SaslError> {
        let (head, authz) = b
            .split_at_checked(4)
            .ok_or_else(|| malformed("security layer answer shorter than four octets"))?;
        let [layer, s1, s2, s3] =
            <[u8; 4]>::try_from(head).map_err(|_| malformed("security layer answer"))?;
        if !matches!(layer, LAYER_NONE | LAYER_INTEGRITY | LAYER_CONFIDENTIALITY) {
            return Err(malformed("client must choose exactly one security layer"));
        }
        let authzid = if authz.is_empty() {
            None
        } else {
            Some(
                std::str::from_utf8(authz)
                    .map_err(|_| malformed("authorization identity is not UTF-8"))?
                    .to_owned(),
            )
        };
        Ok(SecuritySelection {
            layer,
            max_size: u32::from_be_bytes([0, s1, s2, s3]),
            authzid,
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

    #[test]
    fn offer_and_selection() {
        let o = SecurityOffer {
            layers: LAYER_NONE | LAYER_INTEGRITY,
            max_size: 0x0001_0000,
        };
        assert_eq!(o.to_bytes(), [3, 1, 0, 0]);
        assert_eq!(SecurityOffer::parse(&o.to_bytes()).unwrap(), o);
        assert!(o.offers(LAYER_NONE) && !o.offers(LAYER_CONFIDENTIALITY));
        assert_eq!(SecurityOffer::parse(&[9, 0, 0, 0]).unwrap().layers, 9);
        assert!(SecurityOffer::parse(&[1, 0, 0]).is_err());
        assert!(SecurityOffer::parse(&[1, 0, 0, 0, 0]).is_err());
        let s = SecuritySelection::none(None);
        assert_eq!(s.to_bytes(), [1, 0, 0, 0]);
        assert_eq!(SecuritySelection::parse(&[1, 0, 0, 0]).unwrap(), s);
        assert!(SecuritySelection::parse(&[3, 0, 0, 0]).is_err());
        assert!(SecuritySelection::parse(&[1, 0, 0]).is_err());
        assert!(SecuritySelection::parse(&[1, 0, 0, 0, 0xff]).is_err());
    }
}
