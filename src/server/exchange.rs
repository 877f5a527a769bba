//! Microsoft Exchange server profiles: presets that make a [`Server`] answer EHLO the way
//! an Exchange receive connector does, keyword for keyword, and serve every keyword it
//! advertises.
//!
//! # Presets
//!
//! | constructor | recorded server | port |
//! |---|---|---|
//! | [`ServerConfig::exchange_2016_default`] | Exchange 2016/2019 "Default Frontend" receive connector | 25 |
//! | [`ServerConfig::exchange_2016_submission`] | Exchange 2016/2019 "Client Frontend" receive connector | 587 |
//! | [`ServerConfig::exchange_2003`] | Exchange 2003 SMTP virtual server | 25 |
//!
//! The keyword lines, their order and spelling are those of EHLO replies as these
//! servers are commonly recorded sending them (the fixtures are in the repository's
//! `tests/fixtures/ehlo.rs`; Exchange 2003: also the EHLO listing of Microsoft's Exchange
//! 2000/2003 SMTP troubleshooting article; \[MS-SMTPNTLM\] section 4.1 shows the same
//! family). The first line is `<host> Hello [<client-ip>]` once the caller has told the
//! session the client's address with [`Server::set_client_address`] (the machine never
//! looks at sockets), `<host> Hello <ehlo-name>` otherwise.
//!
//! # How every advertised keyword is served
//!
//! * `STARTTLS`, `X-ANONYMOUSTLS`: [`Event::StartTls`](super::Event::StartTls) with
//!   [`TlsVerb`](super::TlsVerb); the upgrade discards every byte pipelined behind the
//!   command (CVE-2011-0411) and resets the session (RFC 3207 section 4.2) for both verbs.
//! * `AUTH`, `AUTH=LOGIN`, `X-EXPS`, `X-EXPS=LOGIN`: the SASL exchange through
//!   [`Event::AuthStart`](super::Event::AuthStart) /
//!   [`Event::AuthResponse`](super::Event::AuthResponse) with
//!   [`AuthVerb`](super::AuthVerb); the two identities are kept apart. Answer
//!   [MS-SMTPNTLM]'s `AUTH NTLM` without initial response with
//!   [`Decision::AuthChallengeText`]`(`[`NTLM_SUPPORTED`]`)` and drive the blobs with
//!   [`crate::sasl`] or the platform's NTLM/Kerberos library.
//! * `XEXCH50`: [`Event::XExch50`](super::Event::XExch50) after MAIL and RCPT, `354`,
//!   exactly `size` octets as [`Event::XExch50Chunk`](super::Event::XExch50Chunk), then
//!   [`Event::XExch50End`](super::Event::XExch50End) for the final reply (KB 812455);
//!   with [`ExchangeConfig::xexch50_requires_auth`] (the Exchange 2003 preset) only after
//!   AUTH or X-EXPS succeeded, `504 5.7.0 Need to authenticate first` before (KB 843106).
//! * `CHUNKING`, `BINARYMIME`, `8BITMIME`, `SIZE`, `DSN`, `PIPELINING`,
//!   `ENHANCEDSTATUSCODES`, `VRFY`, `ETRN`: the standard machinery.
//! * `X-LINK2STATE`, `XRDST`, `XSHADOW`, `XSHADOWREQUEST`, `XQDISCARD`, `XPROXY*`,
//!   `XSESSIONPARAMS`: [`Event::Exchange`](super::Event::Exchange) with the arguments as
//!   opaque bytes; [`Decision::Accept`] gives `250 2.0.0 OK`, [`Decision::Default`]
//!   `500 5.5.1` (see [`exchange_verb_reply`] for the codes Exchange is recorded to use). The Exchange
//!   MAIL/RCPT parameters (`XSHADOW=`, `XRDST=`, ...) arrive typed in
//!   [`MailParams::exchange`](crate::syntax::param::MailParams::exchange) /
//!   [`RcptParams::exchange`](crate::syntax::param::RcptParams::exchange) of the
//!   `MailFrom` / `RcptTo` events.
//! * `TURN` (Exchange 2003): advertised for fidelity; answered `502 5.5.1`, since a
//!   role reversal is outside what a sans-IO server can do for its caller (RFC 2645
//!   section 1 explains why TURN is unsafe). `OK` (the last Exchange 2003 line) is text,
//!   not a keyword.
//!
//! # Keyword order
//!
//! [`ExchangeConfig::ehlo_order`] lists keyword names; the EHLO reply puts the lines in that
//! order (`AUTH=` and `X-EXPS=` name the legacy lines), lines not listed follow in the
//! built-in order. An entry that differs from the canonical keyword only in case is written
//! as given for keywords without parameters (Exchange 2003 writes `8bitmime`).
//!
//! ```
//! use ehlo::server::{Decision, Event, Server, ServerConfig};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut server = Server::new(ServerConfig::exchange_2016_default("mail.example.test"), now);
//! server.set_client_address("192.0.2.10".parse().unwrap());
//! server.receive(now, b"EHLO client.example.test\r\n");
//! while let Some(event) = server.poll_event() {
//!     if event.needs_decision() {
//!         server.decide(Decision::Accept);
//!     }
//! }
//! let mut out = Vec::new();
//! while let Some(b) = server.poll_transmit() {
//!     out.extend_from_slice(&b);
//! }
//! let out = String::from_utf8(out).unwrap();
//! assert!(out.ends_with(
//!     "250-mail.example.test Hello [192.0.2.10]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n\
//!      250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-X-ANONYMOUSTLS\r\n\
//!      250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n250-BINARYMIME\r\n\
//!      250-CHUNKING\r\n250-XRDST\r\n250 XSHADOWREQUEST\r\n"
//! ));
//! ```

use super::{Decision, ExchangeConfig, Extensions, Mechanism, Server, ServerConfig};
use crate::syntax::capability::Capability;
use crate::syntax::command::ExchangeVerb;
use crate::syntax::param::{ExchangeMailParams, ExchangeRcptParams};
use crate::syntax::reply::{EnhancedCode, Reply};
use std::borrow::Cow;
use std::net::IpAddr;

/// The `334` text Exchange sends to `AUTH NTLM` without an initial response
/// (\[MS-SMTPNTLM\] 2.2.1.2, example in section 4.1: `334 ntlm supported`).
pub const NTLM_SUPPORTED: &str = "ntlm supported";

/// The message size limit Exchange 2016/2019 receive connectors advertise by default
/// (`SIZE 37748736`, 36 MiB).
pub const EXCHANGE_2016_MAX_SIZE: u64 = 37_748_736;

/// The keyword order of the Exchange 2003 SMTP virtual server's EHLO reply.
pub const EXCHANGE_2003_ORDER: &[&str] = &[
    "TURN",
    "SIZE",
    "ETRN",
    "PIPELINING",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "8bitmime",
    "BINARYMIME",
    "CHUNKING",
    "VRFY",
    "X-EXPS",
    "X-EXPS=",
    "AUTH",
    "AUTH=",
    "X-LINK2STATE",
    "XEXCH50",
    "OK",
];

/// The key a capability line is ordered by: its keyword, `AUTH=` / `X-EXPS=` for the
/// legacy lines.
fn order_key(cap: &Capability) -> &str {
    match cap {
        Capability::AuthLegacy(_) => "AUTH=",
        Capability::XExpsLegacy(_) => "X-EXPS=",
        c => c.keyword(),
    }
}

/// Puts `list` in the order of `order` (see the module documentation).
pub(crate) fn arrange(order: &[String], list: &mut [Capability]) {
    let rank = |cap: &Capability| {
        let key = order_key(cap);
        order
            .iter()
            .position(|o| o.trim().eq_ignore_ascii_case(key))
            .unwrap_or(order.len())
    };
    list.sort_by_key(|c| rank(c));
    for cap in list.iter_mut() {
        let Some(spelling) = order
            .iter()
            .map(|o| o.trim())
            .find(|o| o.eq_ignore_ascii_case(order_key(cap)))
        else {
            continue;
        };
        let bare = cap.to_line() == cap.keyword();
        if bare && spelling != cap.keyword() && !matches!(cap, Capability::Other { .. }) {
            *cap = Capability::Other {
                keyword: spelling.to_string(),
                params: String::new(),
            };
        }
    }
}

/// The reply Exchange is recorded to send when it accepts (`true`) or refuses (`false`)
/// one of the opaque-argument verbs, for callers that want Exchange's codes rather than
/// the machine's `250 2.0.0 OK` / `500 5.5.1`.
///
/// The public record (Microsoft KB 812455, the Exchange 2007 "SMTP Protocol Extensions"
/// page, published protocol logs) gives no reply texts for these verbs; what it shows is
/// that Exchange answers a verb it accepts with `250` and a verb that is not enabled on
/// the connector or not permitted for the session with `500 5.3.3 Unrecognized command`
/// (Exchange's answer to every verb it does not serve). Both are what this function
/// returns; `X-LINK2STATE` replies may be up to 1,024 octets (KB 812455).
pub fn exchange_verb_reply(verb: ExchangeVerb, accepted: bool) -> Reply {
    if accepted {
        Reply::new(
            250,
            Some(EnhancedCode::new(2, 0, 0)),
            format!("{} OK", verb.as_str()),
        )
    } else {
        Reply::new(
            500,
            Some(EnhancedCode::new(5, 3, 3)),
            "Unrecognized command",
        )
    }
}

/// [`Decision::AuthChallengeText`] with [`NTLM_SUPPORTED`]: the answer to `AUTH NTLM` (or
/// `X-EXPS NTLM`) without an initial response (\[MS-SMTPNTLM\] 3.2.5.1).
pub fn ntlm_supported() -> Decision {
    Decision::AuthChallengeText(Cow::Borrowed(NTLM_SUPPORTED))
}

/// The X-EXPS line limit of the presets: room for a 48,000-octet Kerberos token (the
/// Windows default `MaxTokenSize`) in base64 after `X-EXPS GSSAPI ` (the public record sets
/// no size limit on X-EXPS chunks).
pub const EXPS_LINE_LIMIT: usize = 72 * 1024;

/// The X-EXPS line limit of a session with `config` ([`ExchangeConfig::max_exps_line`], or
/// the SASL line limit).
pub(crate) fn exps_line_limit(config: &ServerConfig) -> usize {
    match config.exchange.max_exps_line {
        0 => config.limits.sasl_line(),
        n => n.max(config.limits.command_line()),
    }
}

impl Server {
    /// The X-EXPS line limit in force ([`ExchangeConfig::max_exps_line`], or the SASL
    /// line limit).
    pub(crate) fn exps_line_limit(&self) -> usize {
        exps_line_limit(&self.config)
    }

    /// Tells the session the client's IP address (the caller knows it from its socket).
    /// The default EHLO and HELO replies then start with `<host> Hello [<ip>]`, as
    /// Exchange's do.
    pub fn set_client_address(&mut self, ip: IpAddr) {
        self.client_address = Some(ip);
    }

    /// The address given to [`Server::set_client_address`].
    pub fn client_address(&self) -> Option<IpAddr> {
        self.client_address
    }
}

impl Server {
    /// The Exchange MAIL parameters are accepted only when the session advertised them
    /// (RFC 5321 4.1.1.11: parameters of extensions not advertised get `555 5.5.4`):
    /// `XSHADOW=` with `XSHADOW` or `XSHADOWREQUEST`; the Exchange-to-Exchange parameters
    /// (`XOORG=`, `XMESSAGECONTEXT=`, `XATTRDIRECT=`, `XATTRORGID=`, `XSYSPROBEID=`,
    /// `XMSGID=`, `XORIGFROM=`), which Exchange sends only to a peer that authenticated
    /// with X-EXPS, after a successful X-EXPS exchange or when a keyword of the same name
    /// is listed in `extensions.extra`.
    pub(crate) fn exchange_mail_params_ok(&self, p: &ExchangeMailParams<'_>) -> bool {
        let esmtp = self.is_esmtp();
        let e = &self.config.exchange;
        if p.xshadow.is_some() && !(esmtp && (e.xshadow || e.xshadowrequest)) {
            return false;
        }
        let peer = self.exps_authenticated().is_some();
        let named = |kw: &str| {
            peer || (esmtp
                && self
                    .config
                    .extensions
                    .extra
                    .iter()
                    .any(|c| c.keyword().eq_ignore_ascii_case(kw)))
        };
        let typed = [
            (p.xoorg.is_some(), "XOORG"),
            (p.xmessagecontext.is_some(), "XMESSAGECONTEXT"),
            (p.xattrdirect.is_some(), "XATTRDIRECT"),
            (p.xattrorgid.is_some(), "XATTRORGID"),
            (p.xsysprobeid.is_some(), "XSYSPROBEID"),
            (p.xmsgid.is_some(), "XMSGID"),
            (p.xorigfrom.is_some(), "XORIGFROM"),
        ];
        typed.iter().all(|&(present, kw)| !present || named(kw))
    }

    /// `XRDST=` and `XORAR=` (RCPT) are accepted only when `XRDST` was advertised.
    pub(crate) fn exchange_rcpt_params_ok(&self, p: &ExchangeRcptParams<'_>) -> bool {
        (p.xrdst.is_none() && p.xorar.is_none()) || (self.is_esmtp() && self.config.exchange.xrdst)
    }
}

fn mechs(names: &[&str]) -> Vec<Mechanism> {
    names.iter().map(|n| Mechanism::new(n)).collect()
}

impl ServerConfig {
    /// Exchange 2016/2019 default receive connector ("Default Frontend", port 25).
    ///
    /// Before TLS: `SIZE 37748736`, `PIPELINING`, `DSN`, `ENHANCEDSTATUSCODES`,
    /// `STARTTLS`, `X-ANONYMOUSTLS`, `AUTH NTLM`, `X-EXPS GSSAPI NTLM`, `8BITMIME`,
    /// `BINARYMIME`, `CHUNKING`, `XRDST`, `XSHADOWREQUEST` (the recorded reply). Under
    /// TLS, STARTTLS and X-ANONYMOUSTLS disappear and `AUTH NTLM LOGIN` is offered (LOGIN
    /// reveals the password, so only under TLS).
    pub fn exchange_2016_default(hostname: impl Into<String>) -> ServerConfig {
        let mut c = ServerConfig::new(hostname);
        c.greeting = "Microsoft ESMTP MAIL Service ready".to_string();
        c.extensions = Extensions {
            starttls: true,
            ..Extensions::default()
        };
        c.limits.max_message_size = EXCHANGE_2016_MAX_SIZE;
        c.auth.mechanisms = mechs(&["NTLM", "LOGIN"]);
        c.exchange = ExchangeConfig {
            anonymous_tls: true,
            exps_mechanisms: mechs(&["GSSAPI", "NTLM"]),
            max_exps_line: EXPS_LINE_LIMIT,
            xrdst: true,
            xshadowrequest: true,
            sasl_mechanism_supported: true,
            ehlo_without_argument: true,
            ..ExchangeConfig::default()
        };
        c
    }

    /// Exchange 2016/2019 client submission receive connector ("Client Frontend",
    /// port 587): `STARTTLS` before TLS, `AUTH GSSAPI NTLM` before and
    /// `AUTH GSSAPI NTLM LOGIN` under TLS (the recorded reply), and MAIL refused with
    /// `530 5.7.0` until the client authenticated (RFC 6409).
    pub fn exchange_2016_submission(hostname: impl Into<String>) -> ServerConfig {
        let mut c = ServerConfig::new(hostname);
        c.greeting = "Microsoft ESMTP MAIL Service ready".to_string();
        c.extensions = Extensions {
            starttls: true,
            ..Extensions::default()
        };
        c.limits.max_message_size = EXCHANGE_2016_MAX_SIZE;
        c.auth.mechanisms = mechs(&["GSSAPI", "NTLM", "LOGIN"]);
        c.auth.require_auth = true;
        c.exchange.sasl_mechanism_supported = true;
        c.exchange.ehlo_without_argument = true;
        c
    }

    /// Exchange 2003 SMTP virtual server: `TURN`, `SIZE`, `ETRN`, `PIPELINING`, `DSN`,
    /// `ENHANCEDSTATUSCODES`, `8bitmime`, `BINARYMIME`, `CHUNKING`, `VRFY`,
    /// `X-EXPS GSSAPI NTLM LOGIN`, `X-EXPS=LOGIN`, `AUTH GSSAPI NTLM LOGIN`, `AUTH=LOGIN`,
    /// `X-LINK2STATE`, `XEXCH50`, `OK`, in that order (the recorded reply).
    ///
    /// `SIZE` is advertised without a number (RFC 1870: no fixed maximum) as Exchange 2003
    /// did; the session still refuses messages over `limits.max_message_size` (10 MiB,
    /// Exchange 2003 SP2's default of 10,240 KB) with `552 5.3.4`. LOGIN is offered
    /// without TLS, as Exchange 2003 did. XEXCH50 is refused with `504 5.7.0 Need to
    /// authenticate first` until AUTH or X-EXPS succeeded, as from Exchange 2003 SP1 on
    /// (KB 843106).
    pub fn exchange_2003(hostname: impl Into<String>) -> ServerConfig {
        let mut c = ServerConfig::new(hostname);
        c.greeting = "Microsoft ESMTP MAIL Service, Version: 6.0.3790.3959 ready".to_string();
        c.extensions = Extensions {
            size: false,
            etrn: true,
            vrfy_keyword: true,
            extra: vec![
                Capability::Turn,
                Capability::Size(None),
                Capability::Other {
                    keyword: "OK".to_string(),
                    params: String::new(),
                },
            ],
            ..Extensions::default()
        };
        c.auth.mechanisms = mechs(&["GSSAPI", "NTLM", "LOGIN"]);
        c.auth.legacy_auth_line = true;
        c.auth.allow_plaintext_without_tls = true;
        c.exchange = ExchangeConfig {
            exps_mechanisms: mechs(&["GSSAPI", "NTLM", "LOGIN"]),
            exps_legacy_line: true,
            max_exps_line: EXPS_LINE_LIMIT,
            link2state: true,
            xexch50: true,
            xexch50_requires_auth: true,
            ehlo_order: EXCHANGE_2003_ORDER.iter().map(|s| s.to_string()).collect(),
            sasl_mechanism_supported: true,
            ehlo_without_argument: true,
            ..ExchangeConfig::default()
        };
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn arrange_orders_and_spells() {
        let mut list = vec![
            Capability::Auth(s(&["NTLM"])),
            Capability::EightBitMime,
            Capability::AuthLegacy(s(&["LOGIN"])),
            Capability::Pipelining,
            Capability::Other {
                keyword: "X-FOO".into(),
                params: String::new(),
            },
        ];
        arrange(&s(&["AUTH=", "8bitmime", "AUTH", "PIPELINING"]), &mut list);
        assert_eq!(
            list.iter().map(|c| c.to_line()).collect::<Vec<_>>(),
            ["AUTH=LOGIN", "8bitmime", "AUTH NTLM", "PIPELINING", "X-FOO"]
        );
    }

    #[test]
    fn verb_replies() {
        let r = exchange_verb_reply(ExchangeVerb::XRdst, true);
        assert_eq!(r.to_bytes(), b"250 2.0.0 XRDST OK\r\n");
        let r = exchange_verb_reply(ExchangeVerb::XRdst, false);
        assert_eq!(r.to_bytes(), b"500 5.3.3 Unrecognized command\r\n");
    }
}
