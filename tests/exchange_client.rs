//! The client against Exchange: the recorded EHLO replies replayed, the MS-SMTPNTLM
//! section 4 example byte for byte, and the Exchange verbs (sent only when advertised and
//! asked for).

use bytes::Bytes;
use ehlo::client::{
    AuthResponse, AuthVerb, Client, ClientConfig, CloseReason, Credentials, Envelope, Event,
    ExchangeCommandError, ExchangeError, TlsPolicy, Xexch50,
};
use ehlo::syntax::capability::Capabilities;
use ehlo::syntax::command::ExchangeVerb;
use std::time::Instant;
#[path = "fixtures/ehlo.rs"]
mod ehlo_fixtures;
use ehlo_fixtures::*;

struct T {
    c: Client,
    now: Instant,
}

impl T {
    fn new(config: ClientConfig) -> T {
        let now = Instant::now();
        T {
            c: Client::new(config, now),
            now,
        }
    }
    fn server(&mut self, s: &str) {
        self.c.receive(s.as_bytes());
    }
    fn sent(&mut self) -> String {
        let mut out = Vec::new();
        while let Some(b) = self.c.poll_transmit(self.now) {
            out.extend_from_slice(&b);
        }
        String::from_utf8(out).unwrap()
    }
    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.c.poll_event()).collect()
    }
}

fn wire(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect()
}

fn config(tls: TlsPolicy) -> ClientConfig {
    let mut c = ClientConfig::new("client.example.test");
    c.tls = tls;
    c
}

/// Greeting, EHLO, and the recorded reply.
fn start(config: ClientConfig, ehlo: &str) -> T {
    let mut t = T::new(config);
    t.server("220 mail.example.test Microsoft ESMTP MAIL Service ready\r\n");
    assert_eq!(t.sent(), "EHLO client.example.test\r\n");
    t.server(&wire(ehlo));
    t
}

fn env() -> Envelope {
    Envelope::new("alice@example.test")
        .unwrap()
        .recipient("bob@example.test")
        .unwrap()
}

fn caps(t: &T) -> Capabilities {
    t.c.capabilities().unwrap().clone()
}

#[test]
fn recorded_replies_parse_keyword_for_keyword() {
    let t = start(config(TlsPolicy::Never), EXCHANGE_2003);
    let c = caps(&t);
    assert_eq!(c.greeting, "mail.example.test Hello [192.0.2.10]");
    assert_eq!(c.list, exchange_2003_list());
    let t = start(config(TlsPolicy::Never), EXCHANGE_2016_25);
    let c = caps(&t);
    assert_eq!(c.list, exchange_2016_25_list());
    assert_eq!(c.xexps_mechanisms(), ["GSSAPI", "NTLM"]);
}

#[test]
fn exchange_2016_x_anonymoustls_then_x_exps_ntlm() {
    let mut c = config(TlsPolicy::Required);
    c.anonymous_tls = true;
    c.auth_verb = AuthVerb::XExps;
    c.credentials = Some(Credentials::External {
        mechanisms: vec!["NTLM".into()],
    });
    let mut t = start(c, EXCHANGE_2016_25);
    assert_eq!(t.sent(), "X-ANONYMOUSTLS\r\n");
    t.server("220 2.0.0 SMTP server ready\r\n");
    assert!(t.events().contains(&Event::StartTls { anonymous: true }));
    t.c.tls_established().unwrap();
    assert_eq!(t.sent(), "EHLO client.example.test\r\n");
    // After TLS Exchange offers X-EXPS again; the client uses it, not AUTH.
    t.server(&wire(
        "250-mail.example.test Hello [192.0.2.10]
         250-SIZE 37748736
         250-PIPELINING
         250-AUTH NTLM LOGIN
         250-X-EXPS GSSAPI NTLM
         250 CHUNKING",
    ));
    let ev = t.events();
    let Some(Event::AuthChallenge(ch)) = ev.iter().find(|e| matches!(e, Event::AuthChallenge(_)))
    else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (ch.verb, ch.mechanism.as_str(), ch.initial),
        (AuthVerb::XExps, "NTLM", true)
    );
    t.c.auth_respond(AuthResponse::NoInitialResponse).unwrap();
    assert_eq!(t.sent(), "X-EXPS NTLM\r\n");
    t.server("334 ntlm supported\r\n");
    t.events();
    t.c.auth_respond(AuthResponse::Data(b"n".to_vec())).unwrap();
    assert_eq!(t.sent(), "bg==\r\n");
    t.server("235 2.7.0 Authentication successful\r\n");
    assert!(t
        .events()
        .iter()
        .any(|e| matches!(e, Event::Authenticated { .. })));
    // XEXCH50 is not advertised here: the blob is not sent; BDAT carries the body.
    let mut e = env();
    e.xexch50 = Some(Xexch50 {
        blob: Bytes::from_static(b"props"),
        mode: 2,
    });
    t.c.send(e, "hi\r\n").unwrap();
    assert_eq!(
        t.sent(),
        "MAIL FROM:<alice@example.test> SIZE=4\r\nRCPT TO:<bob@example.test>\r\nBDAT 4 LAST\r\nhi\r\n"
    );
}

#[test]
fn exchange_2016_submission_login_after_starttls_and_exo_without_exchange_verbs() {
    let mut c = config(TlsPolicy::Required);
    c.credentials = Some(Credentials::Password {
        authzid: None,
        username: "alice".into(),
        password: "pw".into(),
    });
    let mut t = start(c, EXCHANGE_2016_25);
    assert_eq!(t.sent(), "STARTTLS\r\n");
    t.server("220 2.0.0 SMTP server ready\r\n");
    t.c.tls_established().unwrap();
    t.sent();
    t.server(&wire(EXCHANGE_2016_587_TLS));
    assert_eq!(t.sent(), "AUTH LOGIN\r\n");

    // Exchange Online advertises no Exchange verb: asking for one gets NotAdvertised.
    let mut t = start(config(TlsPolicy::Never), EXO_25);
    t.c.send_exchange(ExchangeVerb::XRdst, "x").unwrap();
    assert_eq!(t.sent(), "");
    assert!(t.events().contains(&Event::ExchangeReply {
        verb: ExchangeVerb::XRdst,
        result: Err(ExchangeError::NotAdvertised)
    }));
}

#[test]
fn exchange_2003_xexch50_and_x_link2state() {
    let mut t = start(config(TlsPolicy::Never), EXCHANGE_2003);
    t.events();
    // X-LINK2STATE is advertised: sent alone, its reply comes back as is.
    t.c.send_exchange(ExchangeVerb::XLink2State, "LAST CHUNK=<x>")
        .unwrap();
    // XRDST is not: refused without a byte sent.
    t.c.send_exchange(ExchangeVerb::XRdst, "").unwrap();
    let mut e = env();
    e.xexch50 = Some(Xexch50 {
        blob: Bytes::from_static(b"\x00\r\n.\r\n"),
        mode: 2,
    });
    t.c.send(e, "x\r\n").unwrap();
    assert_eq!(t.sent(), "X-LINK2STATE LAST CHUNK=<x>\r\n");
    t.server("250 2.0.0 X-LINK2STATE OK\r\n");
    // Then the message: pipelined MAIL/RCPT/XEXCH50, the blob after 354, then BDAT.
    assert_eq!(
        t.sent(),
        "MAIL FROM:<alice@example.test> SIZE=3\r\nRCPT TO:<bob@example.test>\r\nXEXCH50 6 2\r\n"
    );
    t.server("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 Send binary data\r\n");
    assert_eq!(t.sent(), "\x00\r\n.\r\n");
    t.server("250 2.0.0 XEXCH50 OK\r\n");
    assert_eq!(t.sent(), "BDAT 3 LAST\r\nx\r\n");
    t.server("250 2.6.0 Queued mail for delivery\r\n");
    let ev = t.events();
    assert!(ev.contains(&Event::ExchangeReply {
        verb: ExchangeVerb::XLink2State,
        result: Ok(ehlo::Reply::new(
            250,
            Some(ehlo::EnhancedCode::new(2, 0, 0)),
            "X-LINK2STATE OK"
        ))
    }));
    assert!(ev.contains(&Event::ExchangeReply {
        verb: ExchangeVerb::XRdst,
        result: Err(ExchangeError::NotAdvertised)
    }));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::MessageResult { result: Ok(_), .. })));
}

#[test]
fn exchange_verb_refusal_and_bad_arguments_and_close() {
    let mut t = start(config(TlsPolicy::Never), EXCHANGE_2016_25);
    t.events();
    // A refusal is reported as the reply, and the session goes on.
    t.c.send_exchange(ExchangeVerb::XShadowRequest, "id")
        .unwrap();
    assert_eq!(t.sent(), "XSHADOWREQUEST id\r\n");
    t.server("500 5.3.3 Unrecognized command\r\n");
    let ev = t.events();
    assert!(matches!(
        &ev[..],
        [Event::ExchangeReply { verb: ExchangeVerb::XShadowRequest, result: Ok(r) }] if r.code.0 == 500
    ));
    // Arguments that would inject a line, or too long a line, are refused up front.
    assert_eq!(
        t.c.send_exchange(ExchangeVerb::XRdst, "a\r\nQUIT"),
        Err(ExchangeCommandError::InvalidArguments)
    );
    assert_eq!(
        t.c.send_exchange(ExchangeVerb::XRdst, "a".repeat(505)),
        Err(ExchangeCommandError::LineTooLong)
    );
    assert!(t
        .c
        .send_exchange(ExchangeVerb::XRdst, "a".repeat(504))
        .is_ok());
    assert!(t
        .c
        .send_exchange(ExchangeVerb::XLink2State, "a".repeat(1009))
        .is_ok());
    assert_eq!(t.sent(), format!("XRDST {}\r\n", "a".repeat(504)));
    // The session closes: the sent verb and the queued one are reported.
    t.server("421 4.3.2 Service not available\r\n");
    let ev = t.events();
    let failed: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::ExchangeReply {
                verb,
                result: Err(ExchangeError::SessionClosed),
            } => Some(*verb),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [ExchangeVerb::XRdst, ExchangeVerb::XLink2State]);
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::ServiceUnavailable(_)))
    ));
    assert_eq!(
        t.c.send_exchange(ExchangeVerb::XRdst, ""),
        Err(ExchangeCommandError::Closed)
    );
    // After a HELO fallback nothing is advertised.
    let mut t = T::new(config(TlsPolicy::Never));
    t.server("220 x\r\n");
    t.sent();
    t.server("502 5.5.1 no\r\n");
    t.sent();
    t.server("250 x\r\n");
    t.c.send_exchange(ExchangeVerb::XRdst, "").unwrap();
    assert_eq!(t.sent(), "");
    assert!(t.events().contains(&Event::ExchangeReply {
        verb: ExchangeVerb::XRdst,
        result: Err(ExchangeError::NotAdvertised)
    }));
}

/// The README lists the opaque Exchange verbs as spoken by the client too: each is sent,
/// arguments byte for byte, when its EHLO keyword is advertised (XRSETPROXYTO, which has
/// no keyword of its own, with `XPROXY` or `XPROXYTO`), its reply comes back as
/// `ExchangeReply`, and without the keyword nothing is sent (`NotAdvertised`).
#[test]
fn every_opaque_verb_is_sent_when_its_keyword_is_advertised() {
    let verbs = [
        (ExchangeVerb::XLink2State, "X-LINK2STATE"),
        (ExchangeVerb::XShadow, "XSHADOW"),
        (ExchangeVerb::XShadowRequest, "XSHADOWREQUEST"),
        (ExchangeVerb::XQDiscard, "XQDISCARD"),
        (ExchangeVerb::XProxy, "XPROXY"),
        (ExchangeVerb::XProxyFrom, "XPROXYFROM"),
        (ExchangeVerb::XProxyTo, "XPROXYTO"),
        (ExchangeVerb::XRsetProxyTo, "XPROXYTO"),
        (ExchangeVerb::XRsetProxyTo, "XPROXY"),
        (ExchangeVerb::XSessionParams, "XSESSIONPARAMS"),
        (ExchangeVerb::XRdst, "XRDST"),
    ];
    for (verb, keyword) in verbs {
        let name = verb.as_str();
        let mut t = start(
            config(TlsPolicy::Never),
            &format!("250-mail.example.test Hello\n250-PIPELINING\n250 {keyword}"),
        );
        t.events();
        t.c.send_exchange(verb, "a  b=\x01c").unwrap();
        assert_eq!(t.sent(), format!("{name} a  b=\x01c\r\n"), "{name}");
        t.server("250 2.0.0 done\r\n");
        assert_eq!(
            t.events(),
            [Event::ExchangeReply {
                verb,
                result: Ok(ehlo::Reply::new(
                    250,
                    Some(ehlo::EnhancedCode::new(2, 0, 0)),
                    "done"
                ))
            }],
            "{name}"
        );

        // Not advertised: nothing sent.
        let mut t = start(
            config(TlsPolicy::Never),
            "250-mail.example.test Hello\n250 PIPELINING",
        );
        t.events();
        t.c.send_exchange(verb, "x").unwrap();
        assert_eq!(t.sent(), "", "{name}");
        assert_eq!(
            t.events(),
            [Event::ExchangeReply {
                verb,
                result: Err(ExchangeError::NotAdvertised)
            }],
            "{name}"
        );
    }
}

// ---- MS-SMTPNTLM section 4 on the client ----

const NEGOTIATE: &str = "TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAFAs4OAAAADw==";
const CHALLENGE: &str = "TlRMTVNTUAACAAAAFgAWADgAAAA1goriZt7rI6Uq/ccAAAAAAAAAAGwAbABOAAAABQLODgAAAA9FAFgAQwBIAC0AQwBMAEkALQA2ADYAAgAWAEUAWABDAEgALQBDAEwASQAtADYANgABABYARQBYAEMASAAtAEMATABJAC0ANgA2AAQAFgBlAHgAYwBoAC0AYwBsAGkALQA2ADYAAwAWAGUAeABjAGgALQBjAGwAaQAtADYANgAAAAAA";
const AUTHENTICATE: &str = "TlRMTVNTUAADAAAAGAAYAHwAAAAYABgAlAAAABYAFgBIAAAACAAIAF4AAAAWABYAZgAAABAAEACsAAAANYKI4gUCzg4AAAAPZQB4AGMAaAAtAGMAbABpAC0ANgA2AHQAZQBzAHQARQBYAEMASAAtAEMATABJAC0ANgA2AIqeV65hhASwAAAAAAAAAAAAAAAAAAAAAHZHDVfwTU5ci0RY04eRmWy0/VWZfIfjsqdUu2WmxYUKy83PyyxzbA8=";
const MS_EHLO: &str = "250-exch-cli-66 Hello [127.0.0.1]\r\n250-AUTH GSSAPI NTLM\r\n\
250-TURN\r\n250-SIZE 2097152\r\n250-ETRN\r\n250-PIPELINING\r\n250-DSN\r\n\
250-ENHANCEDSTATUSCODES\r\n250-8bitmime\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250-VRFY\r\n250 OK\r\n";

fn b64d(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn ms_client() -> T {
    let mut c = ClientConfig::new("test.com");
    c.tls = TlsPolicy::Opportunistic;
    c.credentials = Some(Credentials::External {
        mechanisms: vec!["NTLM".into()],
    });
    let mut t = T::new(c);
    t.server("220 SMTP.example.com\r\n");
    assert_eq!(t.sent(), "EHLO test.com\r\n");
    t.server(MS_EHLO);
    t
}

fn answer(t: &mut T) -> Option<Vec<u8>> {
    let ev = t.events();
    let ch = ev.iter().find_map(|e| match e {
        Event::AuthChallenge(c) => Some(c.clone()),
        _ => None,
    })?;
    let r = if ch.initial {
        AuthResponse::NoInitialResponse
    } else if ch.data.as_deref() == Some(&b64d(CHALLENGE)[..]) {
        AuthResponse::Data(b64d(AUTHENTICATE))
    } else {
        assert_eq!(ch.reply.unwrap().text, "ntlm supported");
        AuthResponse::Data(b64d(NEGOTIATE))
    };
    t.c.auth_respond(r).unwrap();
    Some(Vec::new())
}

#[test]
fn ms_smtpntlm_section_4_1_on_the_client() {
    let mut t = ms_client();
    answer(&mut t).unwrap();
    assert_eq!(t.sent(), "AUTH NTLM\r\n");
    t.server("334 ntlm supported\r\n");
    answer(&mut t).unwrap();
    assert_eq!(t.sent(), format!("{NEGOTIATE}\r\n"));
    t.server(&format!("334 {CHALLENGE}\r\n"));
    answer(&mut t).unwrap();
    assert_eq!(t.sent(), format!("{AUTHENTICATE}\r\n"));
    t.server("235 2.7.0 Authentication successful\r\n");
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Authenticated { mechanism, reply } if mechanism == "NTLM" && reply.code.0 == 235
    )));
    assert!(ev.contains(&Event::Ready));
}

#[test]
fn ms_smtpntlm_section_4_2_on_the_client() {
    let mut t = ms_client();
    answer(&mut t);
    t.sent();
    t.server("334 ntlm supported\r\n");
    answer(&mut t);
    t.sent();
    t.server(&format!("334 {CHALLENGE}\r\n"));
    answer(&mut t);
    t.sent();
    t.server("535 5.7.3 Authentication unsuccessful\r\n");
    assert_eq!(t.sent(), "QUIT\r\n");
    t.server("221 2.0.0 Service closing transmission channel\r\n");
    assert!(t.events().iter().any(|e| matches!(
        e,
        Event::Closed(CloseReason::AuthFailed(Some(r))) if r.code.0 == 535
    )));
}

#[test]
fn exchange_parameters_sent_only_when_advertised() {
    use ehlo::syntax::xtext::XText;
    let x = |s: &'static str| Some(XText(s.into()));
    let make = || {
        let mut e = env();
        e.exchange.xshadow = x("hub1.example.test");
        e.exchange.xoorg = x("example.test");
        e.recipients[0].exchange.xrdst = x("hub3.example.test");
        e
    };
    // Exchange 2016 port 25: XSHADOWREQUEST and XRDST are advertised, XOORG is not.
    let mut t = start(config(TlsPolicy::Never), EXCHANGE_2016_25);
    t.c.send(make(), "x\r\n").unwrap();
    assert_eq!(
        t.sent(),
        "MAIL FROM:<alice@example.test> SIZE=3 XSHADOW=hub1.example.test\r\n\
         RCPT TO:<bob@example.test> XRDST=hub3.example.test\r\nBDAT 3 LAST\r\nx\r\n"
    );
    // Exchange Online: none of them.
    let mut t = start(config(TlsPolicy::Never), EXO_25);
    t.c.send(make(), "x\r\n").unwrap();
    assert_eq!(
        t.sent(),
        "MAIL FROM:<alice@example.test> SIZE=3\r\nRCPT TO:<bob@example.test>\r\nBDAT 3 LAST\r\nx\r\n"
    );
    // After X-EXPS, the Exchange-to-Exchange parameters go too.
    let mut c = config(TlsPolicy::Never);
    c.auth_verb = AuthVerb::XExps;
    c.credentials = Some(Credentials::External {
        mechanisms: vec!["GSSAPI".into()],
    });
    let mut t = start(c, EXCHANGE_2016_25);
    t.events();
    t.c.auth_respond(AuthResponse::Data(b"krb".to_vec()))
        .unwrap();
    assert_eq!(t.sent(), "X-EXPS GSSAPI a3Ji\r\n");
    t.server("235 2.7.0 Authentication successful\r\n");
    t.c.send(make(), "x\r\n").unwrap();
    assert_eq!(
        t.sent(),
        "MAIL FROM:<alice@example.test> SIZE=3 XSHADOW=hub1.example.test XOORG=example.test\r\n\
         RCPT TO:<bob@example.test> XRDST=hub3.example.test\r\nBDAT 3 LAST\r\nx\r\n"
    );
}

/// Exchange parameter values are public `XText`s a caller may fill by hand: one that is
/// empty or not valid xtext (a space would end the value and start a parameter of the
/// caller's text, RFC 5321 4.1.2) fails the message before anything is sent; one the server
/// did not advertise is not sent, so it does not matter.
#[test]
fn exchange_parameter_values_that_are_not_xtext_are_refused_before_sending() {
    use ehlo::client::MessageError;
    use ehlo::syntax::xtext::XText;
    let x = |s: &'static str| Some(XText(s.into()));
    let result = |t: &mut T| {
        t.events().into_iter().find_map(|e| match e {
            Event::MessageResult { result, .. } => Some(result.map(|_| ())),
            _ => None,
        })
    };
    for bad in ["", "hub1 XOORG=evil.test", "a=b", "caf\u{e9}", "a+4"] {
        // XSHADOW on MAIL, XRDST on RCPT: both advertised by Exchange 2016 on port 25.
        for on_rcpt in [false, true] {
            let mut e = env();
            if on_rcpt {
                e.recipients[0].exchange.xrdst = Some(XText(bad.into()));
            } else {
                e.exchange.xshadow = Some(XText(bad.into()));
            }
            let mut t = start(config(TlsPolicy::Never), EXCHANGE_2016_25);
            t.events();
            t.c.send(e, "x\r\n").unwrap();
            assert_eq!(t.sent(), "", "{bad:?}");
            assert_eq!(
                result(&mut t),
                Some(Err(MessageError::InvalidEnvelope)),
                "{bad:?} on RCPT: {on_rcpt}"
            );
        }
    }
    // XOORG is not advertised there: never sent, never checked.
    let mut e = env();
    e.exchange.xoorg = x("not xtext at all");
    let mut t = start(config(TlsPolicy::Never), EXCHANGE_2016_25);
    t.c.send(e, "x\r\n").unwrap();
    assert_eq!(
        t.sent(),
        "MAIL FROM:<alice@example.test> SIZE=3\r\nRCPT TO:<bob@example.test>\r\nBDAT 3 LAST\r\nx\r\n"
    );
    // XText::encode makes a valid value of anything.
    let mut e = env();
    e.exchange.xshadow = Some(XText::encode(b"hub1 XOORG=x"));
    let mut t = start(config(TlsPolicy::Never), EXCHANGE_2016_25);
    t.c.send(e, "x\r\n").unwrap();
    assert_eq!(
        t.sent(),
        "MAIL FROM:<alice@example.test> SIZE=3 XSHADOW=hub1+20XOORG+3Dx\r\n\
         RCPT TO:<bob@example.test>\r\nBDAT 3 LAST\r\nx\r\n"
    );
}

#[test]
fn x_anonymoustls_response_injection_is_refused() {
    let mut c = config(TlsPolicy::Opportunistic);
    c.anonymous_tls = true;
    let mut t = start(c, EXCHANGE_2016_25);
    assert_eq!(t.sent(), "X-ANONYMOUSTLS\r\n");
    // The go-ahead and a forged reply in one read: never acted upon.
    t.server("220 2.0.0 SMTP server ready\r\n250-evil\r\n250 AUTH PLAIN\r\n");
    let ev = t.events();
    assert!(!ev.iter().any(|e| matches!(e, Event::StartTls { .. })));
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::Protocol(
            ehlo::client::ProtocolError::ResponseInjection
        )))
    ));
    assert_eq!(t.sent(), "");
    // Bytes after the go-ahead but before the handshake: same.
    let mut c = config(TlsPolicy::Opportunistic);
    c.anonymous_tls = true;
    let mut t = start(c, EXCHANGE_2016_25);
    t.sent();
    t.server("220 2.0.0 SMTP server ready\r\n");
    assert!(t.events().contains(&Event::StartTls { anonymous: true }));
    t.server("250 injected\r\n");
    assert!(matches!(
        t.events().last(),
        Some(Event::Closed(CloseReason::Protocol(
            ehlo::client::ProtocolError::ResponseInjection
        )))
    ));
}

/// X-ANONYMOUSTLS refused (Exchange answers `500 5.3.3` when it is off) while STARTTLS is
/// also advertised: a client that requires TLS tries STARTTLS instead of quitting.
#[test]
fn x_anonymoustls_refused_falls_back_to_starttls_when_tls_required() {
    let mut c = config(TlsPolicy::Required);
    c.anonymous_tls = true;
    let mut t = start(c, EXCHANGE_2016_25);
    assert_eq!(t.sent(), "X-ANONYMOUSTLS\r\n");
    t.server("500 5.3.3 Unrecognized command\r\n");
    let ev = t.events();
    assert!(
        !t.c.is_closed(),
        "closed although STARTTLS is advertised: {ev:?}"
    );
    assert_eq!(t.sent(), "STARTTLS\r\n");
    t.server("220 2.0.0 SMTP server ready\r\n");
    assert!(t.events().contains(&Event::StartTls { anonymous: false }));
}

/// Same with a `454` and opportunistic TLS: STARTTLS, not plaintext.
#[test]
fn x_anonymoustls_refused_falls_back_to_starttls_when_tls_opportunistic() {
    let mut c = config(TlsPolicy::Opportunistic);
    c.anonymous_tls = true;
    let mut t = start(c, EXCHANGE_2016_25);
    assert_eq!(t.sent(), "X-ANONYMOUSTLS\r\n");
    t.server("454 4.7.0 TLS not available due to temporary reason\r\n");
    assert_eq!(t.sent(), "STARTTLS\r\n", "went on in plaintext");
}

/// Both refused: Required quits with the STARTTLS refusal, Opportunistic goes on in
/// plaintext; X-ANONYMOUSTLS is not retried.
#[test]
fn x_anonymoustls_and_starttls_both_refused() {
    let mut c = config(TlsPolicy::Required);
    c.anonymous_tls = true;
    let mut t = start(c, EXCHANGE_2016_25);
    t.sent();
    t.server("500 5.3.3 Unrecognized command\r\n");
    assert_eq!(t.sent(), "STARTTLS\r\n");
    t.server("454 4.7.0 TLS not available due to temporary reason\r\n");
    assert_eq!(t.sent(), "QUIT\r\n");
    t.server("221 bye\r\n");
    assert!(t.events().iter().any(|e| matches!(
        e,
        Event::Closed(CloseReason::TlsUnavailable(Some(r))) if r.code.0 == 454
    )));

    let mut c = config(TlsPolicy::Opportunistic);
    c.anonymous_tls = true;
    let mut t = start(c, EXCHANGE_2016_25);
    t.sent();
    t.server("500 5.3.3 Unrecognized command\r\n");
    assert_eq!(t.sent(), "STARTTLS\r\n");
    t.server("454 4.7.0 TLS not available due to temporary reason\r\n");
    let ev = t.events();
    assert!(ev.contains(&Event::Ready), "{ev:?}");
    assert_eq!(t.sent(), "");
}

/// Exchange verbs go one at a time, never pipelined with other commands: a message sent
/// after one waits for the verb's reply even with PIPELINING.
#[test]
fn a_message_after_an_exchange_verb_waits_for_its_reply() {
    let mut t = T::new(config(TlsPolicy::Never));
    t.server("220 mx ESMTP\r\n");
    assert_eq!(t.sent(), "EHLO client.example.test\r\n");
    t.server("250-mx\r\n250-PIPELINING\r\n250 XSESSIONPARAMS\r\n");
    t.c.send_exchange(ExchangeVerb::XSessionParams, "MDBGUID=0 TYPE=1")
        .unwrap();
    let env = Envelope::new("a@example.test")
        .unwrap()
        .recipient("b@example.test")
        .unwrap();
    t.c.send(env, "x\r\n").unwrap();
    assert_eq!(t.sent(), "XSESSIONPARAMS MDBGUID=0 TYPE=1\r\n");
    t.server("250 OK\r\n");
    assert!(t.sent().starts_with("MAIL FROM:<a@example.test>\r\n"));
}
