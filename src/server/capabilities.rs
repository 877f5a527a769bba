//! The EHLO reply (RFC 5321 4.1.1.1): its first line (`<host> Hello [<ip>]`, as Exchange
//! writes it, also the default HELO reply) and the capabilities the session advertises in
//! its current state (under TLS no STARTTLS, RFC 3207 section 4.2), in the configured
//! Exchange order if any.

use super::{exchange, AuthVerb, Server};
use crate::syntax::capability::{Capabilities, Capability};

/// `<host> Hello [<ip>]`, the first line of the EHLO reply (and the HELO reply) as
/// Exchange writes it. An IPv4 address is written digit by digit: this runs once per
/// connection and the general formatter costs more than the rest of the reply.
pub(super) fn hello_line(hostname: &str, ip: std::net::IpAddr) -> String {
    let mut s = String::with_capacity(hostname.len() + 56);
    s.push_str(hostname);
    s.push_str(" Hello [");
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                if octet >= 100 {
                    s.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    s.push(char::from(b'0' + octet / 10 % 10));
                }
                s.push(char::from(b'0' + octet % 10));
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            let _ = write!(s, "{v6}");
        }
    }
    s.push(']');
    s
}

impl Server {
    /// The capabilities the EHLO reply would advertise now (after TLS: no STARTTLS,
    /// mechanisms that need TLS).
    pub fn capabilities(&self, greeting: String) -> Capabilities {
        let c = &*self.config;
        let x = &c.extensions;
        let e = &c.exchange;
        let mut list = Vec::with_capacity(16);
        if x.size {
            list.push(Capability::Size(Some(c.limits.max_message_size)));
        }
        if x.pipelining {
            list.push(Capability::Pipelining);
        }
        if x.dsn {
            list.push(Capability::Dsn);
        }
        if x.enhanced_status_codes {
            list.push(Capability::EnhancedStatusCodes);
        }
        if x.starttls && !self.tls {
            list.push(Capability::StartTls);
        }
        if e.anonymous_tls && !self.tls {
            list.push(Capability::XAnonymousTls);
        }
        let auth: Vec<String> = self
            .offered(AuthVerb::Auth)
            .map(|m| m.name.clone())
            .collect();
        if !auth.is_empty() {
            let login = auth.iter().any(|m| m == "LOGIN");
            list.push(Capability::Auth(auth));
            if c.auth.legacy_auth_line && login {
                list.push(Capability::AuthLegacy(vec!["LOGIN".to_string()]));
            }
        }
        let exps: Vec<String> = self
            .offered(AuthVerb::XExps)
            .map(|m| m.name.clone())
            .collect();
        if !exps.is_empty() {
            let login = exps.iter().any(|m| m == "LOGIN");
            list.push(Capability::XExps(exps));
            if e.exps_legacy_line && login {
                list.push(Capability::XExpsLegacy(vec!["LOGIN".to_string()]));
            }
        }
        if x.eight_bit_mime || x.smtputf8 {
            list.push(Capability::EightBitMime);
        }
        if x.chunking && x.binary_mime {
            list.push(Capability::BinaryMime);
        }
        if x.chunking {
            list.push(Capability::Chunking);
        }
        if x.smtputf8 {
            list.push(Capability::SmtpUtf8);
        }
        if x.requiretls && self.tls {
            list.push(Capability::RequireTls);
        }
        if x.etrn {
            list.push(Capability::Etrn);
        }
        if x.vrfy_keyword {
            list.push(Capability::Vrfy);
        }
        if x.help_keyword {
            list.push(Capability::Help);
        }
        let flags = [
            (e.xexch50, Capability::XExch50),
            (e.link2state, Capability::XLink2State),
            (e.xrdst, Capability::XRdst),
            (e.xshadow, Capability::XShadow),
            (e.xshadowrequest, Capability::XShadowRequest),
            (e.xqdiscard, Capability::XQDiscard),
            (e.xproxy, Capability::XProxy),
            (e.xproxy, Capability::XProxyFrom),
            (e.xproxy, Capability::XProxyTo),
            (e.xsessionparams, Capability::XSessionParams),
        ];
        for (on, cap) in flags {
            if on {
                list.push(cap);
            }
        }
        list.extend(x.extra.iter().cloned());
        if !e.ehlo_order.is_empty() {
            exchange::arrange(&e.ehlo_order, &mut list);
        }
        Capabilities { greeting, list }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_lines_match_the_formatter() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.9.99.100",
            "255.255.255.255",
            "::1",
            "2001:db8::8:800:200c:417a",
            "::ffff:192.0.2.1",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(hello_line("mx", ip), format!("mx Hello [{ip}]"));
        }
    }
}
