//! EHLO capabilities (RFC 5321 4.1.1.1, RFC 1869 and the extension RFCs; Exchange keywords
//! from the public record in `../shared/spec/`).
//!
//! A [`Capabilities`] value keeps the advertised keywords in order (so a server profile
//! reproduces Exchange's exact EHLO reply) and answers typed questions about them.

/// One EHLO keyword line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// `PIPELINING` (RFC 2920).
    Pipelining,
    /// `SIZE [n]` (RFC 1870); `None` when no limit was announced (or `SIZE 0`? see docs).
    Size(Option<u64>),
    /// `8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BINARYMIME` (RFC 3030).
    BinaryMime,
    /// `CHUNKING` (RFC 3030).
    Chunking,
    /// `DSN` (RFC 3461).
    Dsn,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    EnhancedStatusCodes,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mech...` (RFC 4954), mechanism names as advertised.
    Auth(Vec<String>),
    /// The legacy `AUTH=mech...` line old Outlook versions need (Exchange sends `AUTH=LOGIN`).
    AuthLegacy(Vec<String>),
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8,
    /// `REQUIRETLS` (RFC 8689).
    RequireTls,
    /// `LIMITS name=value...` (RFC 9422), pairs in order.
    Limits(Vec<(String, String)>),
    /// `DELIVERBY [min-by-time]` (RFC 2852).
    DeliverBy(Option<u64>),
    /// `ETRN` (RFC 1985).
    Etrn,
    /// `ATRN` (RFC 2645).
    Atrn,
    /// `TURN` (RFC 821).
    Turn,
    /// `VRFY`.
    Vrfy,
    /// `EXPN`.
    Expn,
    /// `HELP`.
    Help,
    /// `MT-PRIORITY [profile]` (RFC 6710).
    MtPriority(Option<String>),
    /// `FUTURERELEASE max-future-release-interval max-future-release-date-time` (RFC 4865),
    /// kept as the raw parameter text.
    FutureRelease(String),
    /// `X-EXPS mech...`: Exchange server-to-server authentication mechanisms.
    XExps(Vec<String>),
    /// The legacy `X-EXPS=mech...` line.
    XExpsLegacy(Vec<String>),
    /// `X-ANONYMOUSTLS`.
    XAnonymousTls,
    /// `X-LINK2STATE`.
    XLink2State,
    /// `XEXCH50`.
    XExch50,
    /// `XRDST`.
    XRdst,
    /// `XSHADOW`.
    XShadow,
    /// `XSHADOWREQUEST`.
    XShadowRequest,
    /// `XPROXY`.
    XProxy,
    /// `XPROXYFROM`.
    XProxyFrom,
    /// `XPROXYTO`.
    XProxyTo,
    /// `XSESSIONPARAMS`.
    XSessionParams,
    /// `XQDISCARD`.
    XQDiscard,
    /// Any other keyword, verbatim, with its parameter text (possibly empty).
    Other {
        /// The keyword as written.
        keyword: String,
        /// The rest of the line after the keyword and one space.
        params: String,
    },
}

/// The capabilities of an EHLO reply, in advertised order, plus the greeting line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Capabilities {
    /// The first line of the EHLO reply: the server's domain and optional greeting text.
    pub greeting: String,
    /// The keyword lines, in order.
    pub list: Vec<Capability>,
}

impl Capabilities {
    /// Reads the capabilities from a `250` EHLO reply (first line: greeting).
    pub fn from_reply(reply: &super::reply::Reply) -> Capabilities {
        let _ = reply;
        todo!("syntax helper")
    }

    /// Builds the `250` EHLO reply.
    pub fn to_reply(&self) -> super::reply::Reply {
        todo!("syntax helper")
    }

    /// Whether a keyword of this kind is present (e.g. `caps.has(&Capability::Pipelining)`;
    /// for keywords with arguments compares the kind only).
    pub fn has(&self, cap: &Capability) -> bool {
        let _ = cap;
        todo!("syntax helper")
    }

    /// The `SIZE` capability: `None` if absent, `Some(None)` without a limit.
    pub fn size(&self) -> Option<Option<u64>> {
        todo!("syntax helper")
    }

    /// The AUTH mechanisms (from `AUTH` and `AUTH=` lines, deduplicated, upper-case).
    pub fn auth_mechanisms(&self) -> Vec<String> {
        todo!("syntax helper")
    }
}

impl Capability {
    /// Parses one keyword line (without the `250-` prefix).
    pub fn parse(line: &str) -> Capability {
        let _ = line;
        todo!("syntax helper")
    }

    /// The keyword line as advertised (without the `250-` prefix).
    pub fn to_line(&self) -> String {
        todo!("syntax helper")
    }
}
