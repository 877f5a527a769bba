//! The client's Exchange verbs with opaque arguments (`X-LINK2STATE`, `XRDST`, `XSHADOW`,
//! `XSHADOWREQUEST`, `XQDISCARD`, `XPROXY`, `XPROXYFROM`, `XPROXYTO`, `XRSETPROXYTO`,
//! `XSESSIONPARAMS`).
//!
//! The public record (Microsoft KB 812455, the Exchange 2007 "SMTP Protocol Extensions"
//! page) names these verbs but does not publish their arguments, so the caller supplies the
//! argument bytes and gets the server's reply back unchanged, whatever its code, as
//! [`Event::ExchangeReply`]. The client sends a verb only when the server advertised its
//! EHLO keyword (`XRSETPROXYTO` rides on `XPROXY`/`XPROXYTO`), one at a time, between mail
//! transactions, never pipelined with other commands. The other Exchange features need no
//! call here: X-ANONYMOUSTLS ([`ClientConfig::anonymous_tls`](super::ClientConfig)),
//! X-EXPS ([`AuthVerb::XExps`](super::AuthVerb)) and XEXCH50
//! ([`Envelope::xexch50`](super::Envelope)) are driven by the session itself, and the
//! Exchange MAIL/RCPT parameters of [`Envelope::exchange`](super::Envelope) and
//! [`Recipient::exchange`](super::Recipient) go out only when advertised (`XSHADOW=` with
//! `XSHADOW`/`XSHADOWREQUEST`, `XRDST=`/`XORAR=` with `XRDST`, the Exchange-to-Exchange
//! ones after X-EXPS or with their own keyword), as DSN parameters go only with DSN.
//!
//! ```
//! use ehlo::client::{Client, ClientConfig, Event, TlsPolicy};
//! use ehlo::syntax::command::ExchangeVerb;
//! use std::time::Instant;
//!
//! let mut config = ClientConfig::new("hub1.example.test");
//! config.tls = TlsPolicy::Never;
//! let now = Instant::now();
//! let mut client = Client::new(config, now);
//! client.send_exchange(ExchangeVerb::XSessionParams, "MDBGUID=0 TYPE=1").unwrap();
//! client.receive(b"220 hub2.example.test ESMTP\r\n");
//! let _ = client.poll_transmit(now); // EHLO
//! client.receive(b"250-hub2.example.test Hello [192.0.2.1]\r\n250 XSESSIONPARAMS\r\n");
//! assert_eq!(&client.poll_transmit(now).unwrap()[..], b"XSESSIONPARAMS MDBGUID=0 TYPE=1\r\n");
//! client.receive(b"250 2.0.0 OK\r\n");
//! let reply = std::iter::from_fn(|| client.poll_event()).find_map(|e| match e {
//!     Event::ExchangeReply { verb: ExchangeVerb::XSessionParams, result } => result.ok(),
//!     _ => None,
//! });
//! assert_eq!(reply.unwrap().code.0, 250);
//! ```

use super::session::{Client, Event, Expect};
use crate::syntax::capability::Capability;
use crate::syntax::command::{Command, ExchangeVerb};
use crate::syntax::param::{ExchangeMailParams, ExchangeRcptParams};
use bytes::Bytes;
use std::borrow::Cow;

/// Why an Exchange verb got no reply ([`Event::ExchangeReply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The server did not advertise the verb's keyword; nothing was sent.
    #[error("the server does not advertise this Exchange verb")]
    NotAdvertised,
    /// The session ended before the verb was sent or answered.
    #[error("the session closed before the Exchange verb was answered")]
    SessionClosed,
}

/// Why [`Client::send_exchange`] refused to queue a verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeCommandError {
    /// The session is closed or quitting.
    #[error("the session is closed or quitting")]
    Closed,
    /// The arguments hold CR, LF or NUL (they would end or corrupt the command line).
    #[error("Exchange verb arguments must not contain CR, LF or NUL")]
    InvalidArguments,
    /// The command line would exceed its limit: 1,024 octets for X-LINK2STATE (KB
    /// 812455), 512 otherwise (RFC 5321 4.5.3.1.4), CRLF included.
    #[error("Exchange command line too long")]
    LineTooLong,
}

/// The EHLO keywords that allow `verb`.
fn advertised_by(verb: ExchangeVerb) -> &'static [Capability] {
    match verb {
        ExchangeVerb::XLink2State => &[Capability::XLink2State],
        ExchangeVerb::XShadow => &[Capability::XShadow],
        ExchangeVerb::XShadowRequest => &[Capability::XShadowRequest],
        ExchangeVerb::XQDiscard => &[Capability::XQDiscard],
        ExchangeVerb::XProxy => &[Capability::XProxy],
        ExchangeVerb::XProxyFrom => &[Capability::XProxyFrom],
        ExchangeVerb::XProxyTo => &[Capability::XProxyTo],
        ExchangeVerb::XRsetProxyTo => &[Capability::XProxy, Capability::XProxyTo],
        ExchangeVerb::XSessionParams => &[Capability::XSessionParams],
        ExchangeVerb::XRdst => &[Capability::XRdst],
    }
}

impl Client {
    /// Queues an Exchange verb with opaque arguments (may be empty). It is sent once the
    /// session is ready, before the next queued message, only if the server advertised
    /// it; the outcome arrives as [`Event::ExchangeReply`].
    pub fn send_exchange(
        &mut self,
        verb: ExchangeVerb,
        args: impl Into<Bytes>,
    ) -> Result<(), ExchangeCommandError> {
        let args = args.into();
        if !self.open_for_commands() {
            return Err(ExchangeCommandError::Closed);
        }
        if memchr::memchr3(b'\r', b'\n', 0, &args).is_some() {
            return Err(ExchangeCommandError::InvalidArguments);
        }
        let max = match verb {
            ExchangeVerb::XLink2State => crate::limits::MAX_LINK2STATE_LINE,
            _ => crate::limits::MAX_COMMAND_LINE,
        };
        let sep = usize::from(!args.is_empty());
        if verb.as_str().len() + sep + args.len() + 2 > max {
            return Err(ExchangeCommandError::LineTooLong);
        }
        self.side_queue
            .push_back(super::query::Side::Exchange(verb, args));
        self.advance();
        Ok(())
    }

    /// Sends a queued Exchange verb; `false` when it was not advertised (an
    /// [`Event::ExchangeReply`] with [`ExchangeError::NotAdvertised`] was queued instead).
    pub(super) fn dispatch_exchange(&mut self, verb: ExchangeVerb, args: Bytes) -> bool {
        let advertised = self.is_esmtp()
            && self
                .capabilities()
                .is_some_and(|c| advertised_by(verb).iter().any(|k| c.has(k)));
        if !advertised {
            self.events.push_back(Event::ExchangeReply {
                verb,
                result: Err(ExchangeError::NotAdvertised),
            });
            return false;
        }
        let cmd = Command::Exchange {
            verb,
            args: Cow::Borrowed(&args[..]),
        };
        self.command(&cmd, Expect::Exchange(verb));
        true
    }

    /// Reports Exchange verbs sent and not answered (the session is closing now).
    pub(super) fn fail_exchange_expects(&mut self) {
        let sent: Vec<ExchangeVerb> = self
            .outstanding()
            .filter_map(|e| match e {
                Expect::Exchange(v) => Some(v),
                _ => None,
            })
            .collect();
        for verb in sent {
            self.events.push_back(Event::ExchangeReply {
                verb,
                result: Err(ExchangeError::SessionClosed),
            });
        }
    }

    /// The Exchange MAIL parameters of `wanted` the server accepts: `XSHADOW=` when it
    /// advertises `XSHADOW` or `XSHADOWREQUEST`; the Exchange-to-Exchange parameters
    /// (`XOORG=`, `XMESSAGECONTEXT=`, `XATTRDIRECT=`, `XATTRORGID=`, `XSYSPROBEID=`,
    /// `XMSGID=`, `XORIGFROM=`) when it advertises a keyword of the same name or the
    /// session authenticated with X-EXPS (Exchange sends them only to such peers). Others
    /// are left out, as DSN parameters are without DSN.
    pub(super) fn exchange_mail_params(
        &self,
        wanted: &ExchangeMailParams<'static>,
    ) -> ExchangeMailParams<'static> {
        // Nothing wanted, nothing kept: the usual MAIL skips the keyword look-ups.
        if wanted.is_empty() {
            return ExchangeMailParams::default();
        }
        let Some(caps) = self.capabilities().filter(|_| self.is_esmtp()) else {
            return ExchangeMailParams::default();
        };
        let peer = self.exps_authenticated;
        let ok = |kw: &str| peer || caps.has_keyword(kw);
        let keep = |v: &Option<crate::syntax::xtext::XText<'static>>, on: bool| {
            if on {
                v.clone()
            } else {
                None
            }
        };
        ExchangeMailParams {
            xshadow: keep(
                &wanted.xshadow,
                caps.has(&Capability::XShadow) || caps.has(&Capability::XShadowRequest),
            ),
            xoorg: keep(&wanted.xoorg, ok("XOORG")),
            xmessagecontext: keep(&wanted.xmessagecontext, ok("XMESSAGECONTEXT")),
            xattrdirect: keep(&wanted.xattrdirect, ok("XATTRDIRECT")),
            xattrorgid: keep(&wanted.xattrorgid, ok("XATTRORGID")),
            xsysprobeid: keep(&wanted.xsysprobeid, ok("XSYSPROBEID")),
            xmsgid: keep(&wanted.xmsgid, ok("XMSGID")),
            xorigfrom: keep(&wanted.xorigfrom, ok("XORIGFROM")),
        }
    }

    /// `XRDST=` and `XORAR=` when the server advertises `XRDST`; nothing otherwise.
    pub(super) fn exchange_rcpt_params(
        &self,
        wanted: &ExchangeRcptParams<'static>,
    ) -> ExchangeRcptParams<'static> {
        let on = !wanted.is_empty()
            && self.is_esmtp()
            && self
                .capabilities()
                .is_some_and(|c| c.has(&Capability::XRdst));
        if on {
            wanted.clone()
        } else {
            ExchangeRcptParams::default()
        }
    }
}
