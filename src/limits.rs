//! Protocol size limits (RFC 5321 section 4.5.3.1, RFC 4954 section 4, KB 812455 for the
//! Exchange verbs), the room MAIL and RCPT parameters add to a command line, and the
//! per-verb command line rule ([`CommandLineLimits`]).
//!
//! The configurable limits of a session and their defaults are in
//! [`ServerLimits`](crate::server::ServerLimits) and
//! [`ClientConfig`](crate::client::ClientConfig); `SECURITY.md` lists every default.

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
/// Maximum length of the address type of an `ORCPT=` value, in characters. RFC 3461
/// section 4.2 requires an IANA-registered type (`rfc822`, `utf-8`, `x400`, `unknown`:
/// a few characters) and allows the entire parameter up to 500 characters; the type is
/// copied into the `Original-Recipient` field of every DSN (RFC 3464 section 2.3.1),
/// where it cannot be folded, so an unbounded one could push that line past the 998
/// octets RFC 5322 section 2.1.1 allows.
pub const MAX_ORCPT_TYPE: usize = 64;

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
    /// (RFC 3461 sections 4.3, 4.4), counted before xtext encoding, in which a character
    /// takes up to three octets (`+2B`): 316 octets.
    pub const DSN_MAIL: usize = 16 + 3 * super::MAX_ENVID;
    /// `NOTIFY=` and `ORCPT=` on RCPT: ` NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;` and a
    /// 500-character address (RFC 3461 sections 4.1, 4.2), counted before xtext encoding,
    /// in which a character takes up to three octets (`+3D`): 1,543 octets.
    pub const DSN_RCPT: usize = 43 + 3 * super::MAX_ORCPT;
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
    /// The EHLO keywords that stand for Exchange MAIL parameters (besides `XSHADOW`,
    /// `XSHADOWREQUEST` and `X-EXPS`, which have variants of their own): advertising one
    /// of them grants [`EXCHANGE`] on MAIL.
    pub const EXCHANGE_MAIL_KEYWORDS: [&str; 7] = [
        "XOORG",
        "XMESSAGECONTEXT",
        "XATTRDIRECT",
        "XATTRORGID",
        "XSYSPROBEID",
        "XMSGID",
        "XORIGFROM",
    ];
}

/// The extensions whose MAIL and RCPT parameters make those command lines longer than
/// [`MAX_COMMAND_LINE`] (RFC 5321 4.5.3.1.4: "SMTP extensions may be used to increase this
/// limit"). Each flag set adds its amount from [`param_allowance`];
/// [`CommandLineLimits::new`] turns them into the MAIL and RCPT limits.
///
/// A server sets the flags of what it offers; a proxy or a test tool reads them from the
/// EHLO reply it saw ([`ParamExtensions::from_capabilities`]), or takes
/// [`ParamExtensions::ALL`] to accept the longest line any of them allows.
///
/// ```
/// use ehlo::limits::{param_allowance, ParamExtensions};
/// let x = ParamExtensions { size: true, dsn: true, ..ParamExtensions::NONE };
/// assert_eq!(x.mail_allowance(), param_allowance::SIZE + param_allowance::DSN_MAIL);
/// assert_eq!(x.rcpt_allowance(), param_allowance::DSN_RCPT);
/// assert_eq!(ParamExtensions::NONE.mail_allowance(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ParamExtensions {
    /// `SIZE` (RFC 1870): `SIZE=` on MAIL.
    pub size: bool,
    /// `8BITMIME`, `BINARYMIME` or `SMTPUTF8` (RFC 6152, RFC 3030, RFC 6531): `BODY=` on
    /// MAIL.
    pub body: bool,
    /// `AUTH` (RFC 4954 section 5): `AUTH=` on MAIL.
    pub auth: bool,
    /// `SMTPUTF8` (RFC 6531 section 3.4): the `SMTPUTF8` parameter on MAIL.
    pub smtputf8: bool,
    /// `DSN` (RFC 3461): `RET=` and `ENVID=` on MAIL, `NOTIFY=` and `ORCPT=` on RCPT.
    pub dsn: bool,
    /// `REQUIRETLS` (RFC 8689) on MAIL.
    pub requiretls: bool,
    /// `MT-PRIORITY` (RFC 6710) on MAIL.
    pub mt_priority: bool,
    /// `DELIVERBY` (RFC 2852): `BY=` on MAIL.
    pub deliver_by: bool,
    /// `FUTURERELEASE` (RFC 4865): `HOLDFOR=` or `HOLDUNTIL=` on MAIL.
    pub future_release: bool,
    /// The Exchange MAIL parameters (`XSHADOW=`, `XOORG=`, ...), offered with `XSHADOW`,
    /// `XSHADOWREQUEST`, `X-EXPS` or one of
    /// [`param_allowance::EXCHANGE_MAIL_KEYWORDS`].
    pub exchange_mail: bool,
    /// `XRDST` on RCPT (Exchange).
    pub exchange_rcpt: bool,
}

impl ParamExtensions {
    /// No extension: MAIL and RCPT lines are command lines like any other.
    pub const NONE: ParamExtensions = ParamExtensions {
        size: false,
        body: false,
        auth: false,
        smtputf8: false,
        dsn: false,
        requiretls: false,
        mt_priority: false,
        deliver_by: false,
        future_release: false,
        exchange_mail: false,
        exchange_rcpt: false,
    };

    /// Every extension: the longest MAIL and RCPT lines any combination allows.
    pub const ALL: ParamExtensions = ParamExtensions {
        size: true,
        body: true,
        auth: true,
        smtputf8: true,
        dsn: true,
        requiretls: true,
        mt_priority: true,
        deliver_by: true,
        future_release: true,
        exchange_mail: true,
        exchange_rcpt: true,
    };

    /// How many octets the parameters of these extensions add to a MAIL line.
    pub const fn mail_allowance(&self) -> usize {
        use param_allowance as a;
        add(self.size, a::SIZE)
            + add(self.body, a::BODY)
            + add(self.auth, a::AUTH)
            + add(self.smtputf8, a::SMTPUTF8)
            + add(self.dsn, a::DSN_MAIL)
            + add(self.requiretls, a::REQUIRETLS)
            + add(self.mt_priority, a::MT_PRIORITY)
            + add(self.deliver_by, a::BY)
            + add(self.future_release, a::HOLD)
            + add(self.exchange_mail, a::EXCHANGE)
    }

    /// How many octets the parameters of these extensions add to a RCPT line.
    pub const fn rcpt_allowance(&self) -> usize {
        use param_allowance as a;
        add(self.dsn, a::DSN_RCPT) + add(self.exchange_rcpt, a::EXCHANGE)
    }

    /// The extensions an EHLO reply advertises, as a proxy or a test tool that saw the
    /// server's reply counts them.
    ///
    /// ```
    /// use ehlo::limits::ParamExtensions;
    /// use ehlo::syntax::capability::Capabilities;
    /// use ehlo::syntax::reply::Reply;
    ///
    /// let caps = Capabilities::from_reply(&Reply::new(250, None, "mx.example.test\nSIZE 1000\nDSN"));
    /// let x = ParamExtensions::from_capabilities(&caps);
    /// assert!(x.size && x.dsn && !x.auth);
    /// ```
    pub fn from_capabilities(caps: &crate::syntax::capability::Capabilities) -> ParamExtensions {
        use crate::syntax::capability::Capability;
        ParamExtensions {
            size: caps.size().is_some(),
            body: caps.eight_bit_mime() || caps.binary_mime() || caps.smtputf8(),
            auth: !caps.auth_mechanisms().is_empty(),
            smtputf8: caps.smtputf8(),
            dsn: caps.dsn(),
            requiretls: caps.requiretls(),
            mt_priority: caps.has_keyword("MT-PRIORITY"),
            deliver_by: caps.deliver_by().is_some(),
            future_release: caps.has_keyword("FUTURERELEASE"),
            exchange_mail: caps.has(&Capability::XShadow)
                || caps.has(&Capability::XShadowRequest)
                || !caps.xexps_mechanisms().is_empty()
                || param_allowance::EXCHANGE_MAIL_KEYWORDS
                    .iter()
                    .any(|kw| caps.has_keyword(kw)),
            exchange_rcpt: caps.has(&Capability::XRdst),
        }
    }
}

/// The longest command line each verb may take, octets including the CRLF: the one rule
/// the server's session and [`CommandDecoder`](crate::syntax::decoder::CommandDecoder)
/// both frame command lines with ([`CommandLineLimits::for_line`]).
///
/// * Every line: [`command`](Self::command), 512 octets by default (RFC 5321 4.5.3.1.4).
/// * `MAIL` and `RCPT`: [`mail`](Self::mail) and [`rcpt`](Self::rcpt), the command line
///   plus the room the parameters of the offered extensions need ([`ParamExtensions`]).
/// * `AUTH` and `X-EXPS`, where offered: a SASL line, 12,288 octets by default (RFC 4954
///   section 4: the initial response rides on the command line).
/// * `X-LINK2STATE`, where offered: [`MAX_LINK2STATE_LINE`] (1,024 octets, KB 812455).
///
/// No limit is ever below [`command`](Self::command).
///
/// ```
/// use ehlo::limits::{CommandLineLimits, ParamExtensions, MAX_SASL_LINE};
/// let limits = CommandLineLimits {
///     auth: Some(MAX_SASL_LINE),
///     ..CommandLineLimits::new(512, ParamExtensions { size: true, ..ParamExtensions::NONE })
/// };
/// assert_eq!(limits.for_line(b"NOOP\r\n"), 512);
/// assert_eq!(limits.for_line(b"mail FROM:<a@example.test> SIZE=10"), 512 + 26);
/// assert_eq!(limits.for_line(b"AUTH PLAIN dGVzdA"), MAX_SASL_LINE);
/// assert_eq!(limits.for_line(b"X-LINK2STATE"), 512); // not offered
/// assert_eq!(limits.for_line(b"MAI"), 512); // the verb has not arrived yet
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandLineLimits {
    /// Any command line.
    pub command: usize,
    /// A `MAIL` line.
    pub mail: usize,
    /// A `RCPT` line.
    pub rcpt: usize,
    /// An `AUTH` line, `None` where AUTH is not offered (then [`command`](Self::command)).
    pub auth: Option<usize>,
    /// An `X-EXPS` line, `None` where X-EXPS is not offered.
    pub exps: Option<usize>,
    /// Whether `X-LINK2STATE` lines may be [`MAX_LINK2STATE_LINE`] long.
    pub link2state: bool,
}

impl CommandLineLimits {
    /// `command` for every line, and MAIL and RCPT lines longer by the allowances of
    /// `params`; no AUTH, X-EXPS or X-LINK2STATE lines beyond `command` (set those fields
    /// where the verbs are offered).
    ///
    /// ```
    /// use ehlo::limits::{param_allowance, CommandLineLimits, ParamExtensions};
    /// let l = CommandLineLimits::new(512, ParamExtensions { dsn: true, ..ParamExtensions::NONE });
    /// assert_eq!(l.rcpt, 512 + param_allowance::DSN_RCPT);
    /// assert_eq!((l.auth, l.exps, l.link2state), (None, None, false));
    /// ```
    pub const fn new(command: usize, params: ParamExtensions) -> CommandLineLimits {
        CommandLineLimits {
            command,
            mail: command.saturating_add(params.mail_allowance()),
            rcpt: command.saturating_add(params.rcpt_allowance()),
            auth: None,
            exps: None,
            link2state: false,
        }
    }

    /// The longest command line that starts with `line` (as much of it as has arrived,
    /// with or without its line end). A line whose verb has not arrived yet is shorter
    /// than any of the verbs, hence than any limit, so [`command`](Self::command) is right
    /// for it until it grows.
    ///
    /// ```
    /// use ehlo::limits::{CommandLineLimits, ParamExtensions, MAX_LINK2STATE_LINE};
    /// let l = CommandLineLimits { link2state: true, ..CommandLineLimits::new(512, ParamExtensions::NONE) };
    /// assert_eq!(l.for_line(b"X-LINK2STATE LAST CHUNK=..."), MAX_LINK2STATE_LINE);
    /// assert_eq!(l.for_line(b"AUTH PLAIN"), 512); // AUTH not offered
    /// ```
    #[inline]
    pub fn for_line(&self, line: &[u8]) -> usize {
        let longer = if starts_with_ci(line, b"MAIL ") {
            self.mail
        } else if starts_with_ci(line, b"RCPT ") {
            self.rcpt
        } else if let (Some(n), true) = (self.auth, starts_with_ci(line, b"AUTH ")) {
            n
        } else if let (Some(n), true) = (self.exps, starts_with_ci(line, b"X-EXPS ")) {
            n
        } else if self.link2state && starts_with_ci(line, b"X-LINK2STATE") {
            MAX_LINK2STATE_LINE
        } else {
            self.command
        };
        longer.max(self.command)
    }

    /// Whether `line` (as much of it as has arrived) starts an `AUTH` or `X-EXPS` command
    /// that is offered: its limit is a SASL line's, and a line too long for it is answered
    /// `500 5.5.6` (RFC 4954 sections 4 and 6), not `500 5.5.2`.
    ///
    /// ```
    /// use ehlo::limits::{CommandLineLimits, ParamExtensions};
    /// let mut l = CommandLineLimits::new(512, ParamExtensions::NONE);
    /// assert!(!l.is_sasl_command(b"AUTH PLAIN")); // AUTH not offered
    /// l.auth = Some(12288);
    /// assert!(l.is_sasl_command(b"auth PLAIN") && !l.is_sasl_command(b"X-EXPS GSSAPI"));
    /// ```
    #[inline]
    pub fn is_sasl_command(&self, line: &[u8]) -> bool {
        (self.auth.is_some() && starts_with_ci(line, b"AUTH "))
            || (self.exps.is_some() && starts_with_ci(line, b"X-EXPS "))
    }
}

/// `n` when `on`, else 0.
const fn add(on: bool, n: usize) -> usize {
    if on {
        n
    } else {
        0
    }
}

/// Whether `line` starts with `prefix`, ASCII case-insensitively.
#[inline]
fn starts_with_ci(line: &[u8], prefix: &[u8]) -> bool {
    line.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
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
