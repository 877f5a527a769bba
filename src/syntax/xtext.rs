//! xtext (RFC 3461 section 4): `+XX` hex escapes for octets outside `!`..`~`, `+` and `=`.
//!
//! Used by ENVID, ORCPT and the `AUTH=` MAIL parameter (RFC 4954 section 5).

use std::borrow::Cow;

/// An xtext value as it appears on the wire (still encoded). Parsing borrows; call
/// [`XText::decode`] for the decoded octets and [`XText::encode`] to build one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XText<'a>(pub Cow<'a, str>);

impl<'a> XText<'a> {
    /// Encodes octets as xtext.
    pub fn encode(raw: &[u8]) -> XText<'static> {
        let _ = raw;
        todo!("syntax helper")
    }

    /// Decodes the xtext; `None` if it is not valid xtext.
    pub fn decode(&self) -> Option<Cow<'a, [u8]>> {
        todo!("syntax helper")
    }
}
