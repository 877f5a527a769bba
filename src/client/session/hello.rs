//! The start of a session, and its new start after TLS: the greeting (RFC 5321 3.1), EHLO
//! with the HELO fallback (RFC 5321 4.1.1.1, 4.1.4), STARTTLS (RFC 3207) or Exchange's
//! X-ANONYMOUSTLS, then authentication or [`Event::Ready`].

use super::{clean_line, Client, Event, Expect, State};
use crate::client::config::TlsPolicy;
use crate::client::error::{CloseReason, ProtocolError};
use crate::syntax::capability::{Capabilities, Capability};
use crate::syntax::command::Command;
use crate::syntax::path::AddressLiteral;
use crate::syntax::reply::Reply;
use bytes::BytesMut;
use std::borrow::Cow;
use std::net::IpAddr;

impl Client {
    pub(super) fn send_hello(&mut self, ehlo: bool) {
        let Some(name) = hello_name(&self.config.hostname) else {
            self.close(CloseReason::InvalidHostname);
            return;
        };
        let (cmd, expect) = if ehlo {
            (Command::Ehlo { domain: name }, Expect::Ehlo)
        } else {
            (Command::Helo { domain: name }, Expect::Helo)
        };
        let mut line = BytesMut::new();
        cmd.encode(&mut line);
        if !clean_line(&line) {
            self.close(CloseReason::InvalidHostname);
            return;
        }
        self.out.extend_from_slice(&line);
        self.expect(expect);
        self.state = State::Hello;
    }

    pub(super) fn on_greeting(&mut self, reply: Reply) {
        self.events.push_back(Event::Greeting(reply.clone()));
        match reply.code.0 {
            220 => self.send_hello(true),
            // RFC 5321 3.1: a 554 greeting means no service; the client SHOULD send QUIT.
            // Any other 5yz, and a 4yz (a 421 never gets here: `on_reply` closes on it,
            // 3.8), is a refusal too, by its first digit (4.2.1: permanent or transient
            // negative completion), and is answered the same way.
            c if (400..600).contains(&c) => self.fail_session(CloseReason::GreetingRefused(reply)),
            _ => self.close(CloseReason::Protocol(ProtocolError::UnexpectedReply {
                command: "greeting",
                reply,
            })),
        }
    }

    pub(super) fn on_ehlo(&mut self, reply: Reply) {
        match reply.code.0 {
            250 => {
                let caps = Capabilities::from_reply(&reply);
                self.esmtp = true;
                self.events.push_back(Event::Capabilities(caps.clone()));
                self.set_caps(Some(caps));
                self.after_hello();
            }
            // RFC 5321 4.1.4 / 3.2: a server without EHLO answers 500 or 502; fall back.
            500 | 502 => self.send_hello(false),
            _ => self.fail_session(CloseReason::HelloRefused(reply)),
        }
    }

    pub(super) fn on_helo(&mut self, reply: Reply) {
        if reply.code.0 == 250 {
            let caps = Capabilities {
                greeting: reply.lines().next().unwrap_or_default().to_string(),
                list: Vec::new(),
            };
            self.esmtp = false;
            self.events.push_back(Event::Capabilities(caps.clone()));
            self.set_caps(Some(caps));
            self.after_hello();
        } else {
            self.fail_session(CloseReason::HelloRefused(reply));
        }
    }

    fn after_hello(&mut self) {
        if !self.tls_active && !self.tls_declined && self.config.tls != TlsPolicy::Never {
            if self.config.anonymous_tls && self.has(&Capability::XAnonymousTls) {
                self.command(&Command::XAnonymousTls, Expect::Tls { anonymous: true });
                self.state = State::Tls;
                return;
            }
            if self.has(&Capability::StartTls) {
                self.command(&Command::StartTls, Expect::Tls { anonymous: false });
                self.state = State::Tls;
                return;
            }
            if self.config.tls == TlsPolicy::Required {
                self.fail_session(CloseReason::TlsUnavailable(None));
                return;
            }
        }
        if self.config.tls == TlsPolicy::Required && !self.tls_active {
            self.fail_session(CloseReason::TlsUnavailable(None));
            return;
        }
        if self.config.credentials.is_some() && !self.authenticated {
            self.start_auth();
            return;
        }
        self.become_ready();
    }

    pub(super) fn become_ready(&mut self) {
        self.state = State::Ready;
        if !self.ready_sent {
            self.ready_sent = true;
            self.events.push_back(Event::Ready);
        }
    }

    pub(super) fn on_tls(&mut self, reply: Reply, anonymous: bool) {
        if reply.code.0 == 220 {
            // RFC 3207 4.2 and the 2011 injection record: nothing read in plaintext after
            // this reply may be used; `receive` enforces it.
            self.state = State::AwaitTls;
            self.events.push_back(Event::StartTls { anonymous });
        } else if anonymous && self.has(&Capability::StartTls) {
            // X-ANONYMOUSTLS refused (Exchange 2016 answers `500 5.3.3` when it is off, or
            // `454` when TLS is unavailable for it) but the server also offers STARTTLS
            // (RFC 3207): try that before giving up on TLS or going on in plaintext. No
            // command was accepted in between, so the session state is unchanged.
            self.command(&Command::StartTls, Expect::Tls { anonymous: false });
            self.state = State::Tls;
        } else if self.config.tls == TlsPolicy::Required {
            self.fail_session(CloseReason::TlsUnavailable(Some(reply)));
        } else {
            self.tls_declined = true;
            self.after_hello();
        }
    }
}

/// The name the client gives in EHLO and HELO: [`ClientConfig::hostname`], or `None` when
/// it cannot be sent.
///
/// RFC 5321 4.1.1.1: a Domain or an address-literal, in ASCII: the hello comes before the
/// server could offer SMTPUTF8 (RFC 6531 3.7.1 wants A-labels here). Domains are not held
/// to the letter (Windows host names with `_` are common and servers take them), but a
/// Domain never holds a space, a control character or DEL (4.1.2), and either form is at
/// most 255 octets (4.5.3.1.2), which keeps the line within the 512 octets of 4.5.3.1.4.
/// A literal must be one, and a colon outside brackets makes no Domain. A bare IP
/// address is not a Domain (RFC 1123 2.1: a host name is never in dotted-decimal form)
/// but the address of a client without a name, which RFC 5321 4.1.3 sends as an address
/// literal: `[192.0.2.1]`, `[IPv6:2001:db8::1]`.
///
/// [`ClientConfig::hostname`]: crate::client::ClientConfig::hostname
fn hello_name(name: &str) -> Option<Cow<'static, str>> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(Cow::Owned(match ip {
            IpAddr::V4(a) => format!("[{a}]"),
            IpAddr::V6(a) => format!("[IPv6:{a}]"),
        }));
    }
    let valid = !name.is_empty()
        && name.len() <= crate::limits::MAX_DOMAIN
        && name.bytes().all(|b| b.is_ascii_graphic())
        && if name.starts_with('[') {
            AddressLiteral::parse(name).is_ok()
        } else {
            // A colon outside brackets is an IPv6 address that did not parse (a zone
            // index, say), never a Domain.
            !name.contains(':')
        };
    valid.then(|| Cow::Owned(name.to_owned()))
}
