//! Protocol size limits (RFC 5321 section 4.5.3.1, RFC 4954 section 4) and their defaults.
//!
//! Every limit the crate enforces lives here so a reader finds them in one place.

/// Maximum length of a local part, in octets (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// Maximum length of a domain, in octets (RFC 5321 4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;
/// Maximum length of a reverse-path or forward-path including the angle brackets,
/// in octets (RFC 5321 4.5.3.1.3).
pub const MAX_PATH: usize = 256;
/// Maximum length of a command line including the CRLF, in octets (RFC 5321 4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;
/// Maximum length of a reply line including the reply code and the CRLF, in octets
/// (RFC 5321 4.5.3.1.5).
pub const MAX_REPLY_LINE: usize = 512;
/// Maximum length of a text line of message content including the CRLF, in octets
/// (RFC 5321 4.5.3.1.6).
pub const MAX_TEXT_LINE: usize = 1000;
/// Minimum number of recipients a server must be able to buffer (RFC 5321 4.5.3.1.8).
pub const MIN_RECIPIENTS: usize = 100;
/// Maximum length of a SASL line (an AUTH command or a continuation line), in octets
/// (RFC 4954 section 4).
pub const MAX_SASL_LINE: usize = 12288;
/// Maximum length of an X-LINK2STATE command or reply line, in octets (Exchange public
/// record, see `../shared/spec/README.md`).
pub const MAX_LINK2STATE_LINE: usize = 1024;
/// Maximum length of an XEXCH50 command line, in octets (Microsoft KB 812455).
pub const MAX_XEXCH50_COMMAND: usize = 50;
/// Maximum size of an XEXCH50 blob, in octets (1 GB, Microsoft KB 812455).
pub const MAX_XEXCH50_BLOB: u64 = 1 << 30;
/// Most parameters a MAIL or RCPT command may carry beyond the typed ones (unknown and
/// untyped keywords, kept in `other`). More than fits in a 512-octet command line; a
/// configured longer line cannot make the duplicate check quadratic in attacker input.
/// Beyond it the command is refused with `501 5.5.4`.
pub const MAX_OTHER_PARAMS: usize = 256;
