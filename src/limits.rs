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
/// record: Microsoft KB 812455 and the Exchange 2007 "SMTP Protocol Extensions" page).
pub const MAX_LINK2STATE_LINE: usize = 1024;
/// Maximum length of an `ENVID=` value before xtext encoding, in characters (RFC 3461
/// section 4.4).
pub const MAX_ENVID: usize = 100;
/// Maximum length of the address of an `ORCPT=` value before xtext encoding, in characters
/// (RFC 3461 section 4.2).
pub const MAX_ORCPT: usize = 500;

/// How much longer than [`MAX_COMMAND_LINE`] a MAIL or RCPT command line may be for the
/// parameters of each advertised extension (RFC 5321 4.5.3.1.4: "SMTP extensions may be
/// used to increase this limit"). Where the extension states the increase, it is that
/// number; otherwise it is the longest text its parameters can take.
pub mod param_allowance {
    /// `SIZE=`: 26 octets (RFC 1870).
    pub const SIZE: usize = 26;
    /// `BODY=`: 16 octets, room for ` BODY=BINARYMIME` (RFC 6152, RFC 3030).
    pub const BODY: usize = 16;
    /// `AUTH=`: 500 octets (RFC 4954 section 5).
    pub const AUTH: usize = 500;
    /// `SMTPUTF8`: 10 octets (RFC 6531 section 3.4).
    pub const SMTPUTF8: usize = 10;
    /// `RET=` and `ENVID=` on MAIL: ` RET=HDRS ENVID=` and a 100-character value
    /// (RFC 3461 sections 4.3, 4.4).
    pub const DSN_MAIL: usize = 16 + super::MAX_ENVID;
    /// `NOTIFY=` and `ORCPT=` on RCPT: ` NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;` and a
    /// 500-character address (RFC 3461 sections 4.1, 4.2).
    pub const DSN_RCPT: usize = 43 + super::MAX_ORCPT;
    /// `REQUIRETLS`: 11 octets (RFC 8689).
    pub const REQUIRETLS: usize = 11;
    /// `MT-PRIORITY=`: 15 octets (RFC 6710).
    pub const MT_PRIORITY: usize = 15;
    /// `BY=`: a sign, nine digits and `;RT`, 17 octets (RFC 2852).
    pub const BY: usize = 17;
    /// `HOLDFOR=` or `HOLDUNTIL=` with an RFC 3339 date-time: 48 octets (RFC 4865).
    pub const HOLD: usize = 48;
    /// The Exchange MAIL parameters (`XSHADOW=`, `XOORG=`, `XMESSAGECONTEXT=`, ...) or
    /// RCPT parameters (`XRDST=`, `XORAR=`): the public record states no limit; room for
    /// several domain- and address-length values.
    pub const EXCHANGE: usize = 1024;
}

/// Maximum length of an XEXCH50 command line, in octets (Microsoft KB 812455).
pub const MAX_XEXCH50_COMMAND: usize = 50;
/// Maximum size of an XEXCH50 blob, in octets (1 GB, Microsoft KB 812455).
pub const MAX_XEXCH50_BLOB: u64 = 1 << 30;
/// Most parameters a MAIL or RCPT command may carry beyond the typed ones (unknown and
/// untyped keywords, kept in `other`). More than fits in a 512-octet command line; a
/// configured longer line cannot make the duplicate check quadratic in attacker input.
/// Beyond it the command is refused with `501 5.5.4`.
pub const MAX_OTHER_PARAMS: usize = 256;
