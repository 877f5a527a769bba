//! Transcript tests: greeting, EHLO/HELO, STARTTLS / X-ANONYMOUSTLS, QUIT, 421, timeouts,
//! tolerance of real servers' reply shapes.
mod client_support;
use client_support::*;
use ehlo::client::*;
use std::time::Duration;

fn env1() -> Envelope {
    Envelope::new("a@example.test")
        .unwrap()
        .recipient("b@example.test")
        .unwrap()
}

fn closed(ev: &[Event]) -> Option<&CloseReason> {
    ev.iter().find_map(|e| match e {
        Event::Closed(r) => Some(r),
        _ => None,
    })
}

#[test]
fn one_message_pipelined_then_quit() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "8BITMIME", "SIZE 1000"]);
    let id = t.c.send(env1(), "Subject: x\r\n\r\n.hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test> SIZE=19\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
    t.expect("Subject: x\r\n\r\n..hi\r\n.\r\n");
    t.server("250 2.0.0 queued\r\n");
    t.c.quit();
    t.expect("QUIT\r\n");
    t.server("221 2.0.0 bye\r\n");
    let ev = t.events();
    assert!(matches!(&ev[0], Event::Greeting(r) if r.code.0 == 220));
    assert!(matches!(&ev[1], Event::Capabilities(c) if c.greeting == "mx.example.test"));
    assert_eq!(ev[2], Event::Ready);
    assert!(matches!(
        &ev[3],
        Event::RecipientResult {
            index: 0,
            accepted: true,
            ..
        }
    ));
    match &ev[4] {
        Event::MessageResult {
            message,
            result: Ok(r),
            recipients,
            ..
        } => {
            assert_eq!(*message, id);
            assert_eq!(r.code.0, 250);
            assert!(recipients[0].accepted());
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(closed(&ev), Some(CloseReason::Quit(Some(r))) if r.code.0 == 221));
    assert!(t.c.is_closed());
    assert_eq!(t.c.poll_transmit(t.now), None);
}

#[test]
fn multiline_greeting_and_quit_before_anything() {
    let mut t = T::plain();
    t.c.quit();
    t.expect("");
    t.server("220-mx.example.test ESMTP\r\n220-more text\r\n");
    t.expect("");
    t.server("220 last\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server("250 mx\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    let ev = t.events();
    assert!(
        matches!(&ev[0], Event::Greeting(r) if r.text == "mx.example.test ESMTP\nmore text\nlast")
    );
    assert!(matches!(closed(&ev), Some(CloseReason::Quit(_))));
}

#[test]
fn greeting_554_sends_quit() {
    let mut t = T::plain();
    let id = t.c.send(env1(), "x\r\n").unwrap();
    t.server("554 5.7.1 no service for you\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    let ev = t.events();
    assert!(matches!(&ev[0], Event::Greeting(r) if r.code.0 == 554));
    assert!(ev.iter().any(|e| matches!(e, Event::MessageResult { message, result: Err(MessageError::SessionClosed(CloseReason::GreetingRefused(_))), .. } if *message == id)));
    assert!(matches!(closed(&ev), Some(CloseReason::GreetingRefused(r)) if r.code.0 == 554));
}

/// A `4yz` greeting other than `421` is a refusal too (RFC 5321 4.2.1: the first digit
/// says "transient negative completion"), answered as the `554` of 3.1 is: `QUIT`, and the
/// session ends with the refusal, not with a protocol error; the messages wait for another
/// attempt.
#[test]
fn greeting_4yz_other_than_421_sends_quit() {
    for greeting in ["450 4.3.2 too busy, try later\r\n", "451 local problem\r\n"] {
        let mut t = T::plain();
        t.c.send(env1(), "x\r\n").unwrap();
        t.server(greeting);
        t.expect("QUIT\r\n");
        t.server("221 bye\r\n");
        let ev = t.events();
        assert!(matches!(&ev[0], Event::Greeting(r) if r.code.0 / 100 == 4));
        let result = ev.iter().find_map(|e| match e {
            Event::MessageResult {
                result, recipients, ..
            } => Some((result.clone(), recipients[0].outcome(result))),
            _ => None,
        });
        assert!(matches!(
            result,
            Some((
                Err(MessageError::SessionClosed(CloseReason::GreetingRefused(_))),
                Outcome::Deferred
            ))
        ));
        assert!(
            matches!(closed(&ev), Some(CloseReason::GreetingRefused(r)) if r.code.0 / 100 == 4)
        );
    }
}

#[test]
fn greeting_421_closes_without_quit() {
    let mut t = T::plain();
    t.server("421 4.3.2 busy, try later\r\n");
    t.expect("");
    let ev = t.events();
    assert!(matches!(closed(&ev), Some(CloseReason::ServiceUnavailable(r)) if r.code.0 == 421));
}

#[test]
fn garbage_greeting_is_a_protocol_error() {
    let mut t = T::plain();
    t.server("HTTP/1.1 400 Bad Request\r\n");
    t.expect("");
    let ev = t.events();
    // Not parsed: no `Greeting` event, only `Closed` (as `Event::Greeting` says).
    assert!(!ev.iter().any(|e| matches!(e, Event::Greeting(_))));
    assert!(matches!(
        closed(&ev),
        Some(CloseReason::Protocol(ProtocolError::Malformed(_)))
    ));
    let mut t = T::plain();
    t.server("250 what\r\n");
    t.expect("");
    let ev = t.events();
    assert!(matches!(&ev[0], Event::Greeting(r) if r.code.0 == 250));
    assert!(matches!(
        closed(&ev),
        Some(CloseReason::Protocol(ProtocolError::UnexpectedReply {
            command: "greeting",
            ..
        }))
    ));
}

#[test]
fn ehlo_500_and_502_fall_back_to_helo() {
    for code in ["500", "502"] {
        let mut t = T::plain();
        t.server("220 old.example.test\r\n");
        t.expect("EHLO client.example.test\r\n");
        t.server(&format!("{code} command unrecognized\r\n"));
        t.expect("HELO client.example.test\r\n");
        t.server("250 old.example.test\r\n");
        // No ESMTP: no parameters, one command at a time, DATA.
        t.c.send(env1(), "hi\r\n").unwrap();
        t.expect("MAIL FROM:<a@example.test>\r\n");
        t.server("250 ok\r\n");
        t.expect("RCPT TO:<b@example.test>\r\n");
        t.server("250 ok\r\n");
        t.expect("DATA\r\n");
        t.server("354 go\r\n");
        t.expect("hi\r\n.\r\n");
        t.server("250 ok\r\n");
        let ev = t.events();
        assert!(matches!(&ev[1], Event::Capabilities(c) if c.list.is_empty()));
        assert!(ev
            .iter()
            .any(|e| matches!(e, Event::MessageResult { result: Ok(_), .. })));
        // An 8-bit body cannot go to a HELO server: refused before anything is sent.
        t.c.send(env1(), "caf\u{e9}\r\n").unwrap();
        t.expect("");
        assert!(t.events().iter().any(|e| matches!(
            e,
            Event::MessageResult {
                result: Err(MessageError::Unsupported(Extension::EightBitMime)),
                ..
            }
        )));
    }
}

#[test]
fn ehlo_refused_otherwise_quits() {
    let mut t = T::plain();
    t.server("220 mx\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server("550 5.7.1 go away\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    assert!(matches!(closed(&t.events()), Some(CloseReason::HelloRefused(r)) if r.code.0 == 550));
}

#[test]
fn helo_refused_quits() {
    let mut t = T::plain();
    t.server("220 mx\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server("502 no\r\n");
    t.expect("HELO client.example.test\r\n");
    t.server("501 bad name\r\n");
    t.expect("QUIT\r\n");
    t.c.peer_closed();
    assert!(matches!(closed(&t.events()), Some(CloseReason::HelloRefused(r)) if r.code.0 == 501));
}

fn tls_config(policy: TlsPolicy) -> ClientConfig {
    let mut c = ClientConfig::new("client.example.test");
    c.tls = policy;
    c
}

#[test]
fn starttls_opportunistic_then_ehlo_again() {
    let mut t = T::new(tls_config(TlsPolicy::Opportunistic));
    t.hello(&["PIPELINING", "STARTTLS"]);
    t.expect("STARTTLS\r\n");
    t.server("220 2.0.0 ready to start TLS\r\n");
    t.expect("");
    let ev = t.events();
    assert!(ev.contains(&Event::StartTls { anonymous: false }));
    assert!(!ev.contains(&Event::Ready));
    t.c.tls_established().unwrap();
    assert!(t.c.is_tls());
    t.expect("EHLO client.example.test\r\n");
    t.server("250-mx\r\n250 PIPELINING\r\n");
    let ev = t.events();
    assert!(ev.contains(&Event::Ready));
    // No STARTTLS a second time, even if the server still advertises it.
    assert_eq!(t.c.tls_established(), Err(UsageError::NotAwaitingTls));
}

#[test]
fn starttls_required_but_not_offered() {
    let mut t = T::new(tls_config(TlsPolicy::Required));
    let id = t.c.send(env1(), "x\r\n").unwrap();
    t.hello(&["PIPELINING"]);
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(e, Event::MessageResult { message, result: Err(MessageError::SessionClosed(CloseReason::TlsUnavailable(None))), .. } if *message == id)));
    assert!(matches!(
        closed(&ev),
        Some(CloseReason::TlsUnavailable(None))
    ));
}

#[test]
fn starttls_refused_required_vs_opportunistic() {
    let mut t = T::new(tls_config(TlsPolicy::Required));
    t.hello(&["STARTTLS"]);
    t.expect("STARTTLS\r\n");
    t.server("454 4.7.0 TLS not available\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    assert!(
        matches!(closed(&t.events()), Some(CloseReason::TlsUnavailable(Some(r))) if r.code.0 == 454)
    );

    let mut t = T::new(tls_config(TlsPolicy::Opportunistic));
    t.hello(&["STARTTLS"]);
    t.expect("STARTTLS\r\n");
    t.server("454 4.7.0 TLS not available\r\n");
    assert!(t.events().contains(&Event::Ready));
    t.c.send(env1(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
}

#[test]
fn tls_never_and_implicit_tls_skip_starttls() {
    let mut t = T::new(tls_config(TlsPolicy::Never));
    t.hello(&["STARTTLS"]);
    t.expect("");
    assert!(t.events().contains(&Event::Ready));
    let mut c = tls_config(TlsPolicy::Required);
    c.implicit_tls = true;
    let mut t = T::new(c);
    t.hello(&["STARTTLS"]);
    t.expect("");
    assert!(t.events().contains(&Event::Ready));
    assert!(t.c.is_tls());
}

#[test]
fn bytes_after_starttls_220_in_same_read_are_injection() {
    let mut t = T::new(tls_config(TlsPolicy::Opportunistic));
    t.hello(&["STARTTLS"]);
    t.expect("STARTTLS\r\n");
    t.server("220 go ahead\r\n250-mx\r\n250 AUTH PLAIN\r\n");
    t.expect("");
    let ev = t.events();
    assert!(matches!(
        closed(&ev),
        Some(CloseReason::Protocol(ProtocolError::ResponseInjection))
    ));
    assert!(!ev.iter().any(|e| matches!(e, Event::StartTls { .. })));
    assert_eq!(t.c.tls_established(), Err(UsageError::NotAwaitingTls));
}

#[test]
fn bytes_after_starttls_220_in_later_read_are_injection() {
    let mut t = T::new(tls_config(TlsPolicy::Opportunistic));
    t.hello(&["STARTTLS"]);
    t.expect("STARTTLS\r\n");
    t.server("220 go ahead\r\n");
    assert!(t.events().contains(&Event::StartTls { anonymous: false }));
    t.server("2");
    t.expect("");
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Protocol(ProtocolError::ResponseInjection))
    ));
    assert!(t.c.is_closed());
}

#[test]
fn x_anonymoustls_when_configured() {
    let mut c = tls_config(TlsPolicy::Opportunistic);
    c.anonymous_tls = true;
    let mut t = T::new(c);
    t.hello(&["STARTTLS", "X-ANONYMOUSTLS"]);
    t.expect("X-ANONYMOUSTLS\r\n");
    t.server("220 2.0.0 SMTP server ready\r\n");
    assert!(t.events().contains(&Event::StartTls { anonymous: true }));
    t.c.tls_established().unwrap();
    t.expect("EHLO client.example.test\r\n");
    // Injection guard holds for X-ANONYMOUSTLS too.
    let mut c = tls_config(TlsPolicy::Opportunistic);
    c.anonymous_tls = true;
    let mut t = T::new(c);
    t.hello(&["X-ANONYMOUSTLS"]);
    t.expect("X-ANONYMOUSTLS\r\n");
    t.server("220 go\r\n421 fake\r\n");
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Protocol(ProtocolError::ResponseInjection))
    ));
    // Not configured: STARTTLS even if X-ANONYMOUSTLS is offered.
    let mut t = T::new(tls_config(TlsPolicy::Opportunistic));
    t.hello(&["X-ANONYMOUSTLS", "STARTTLS"]);
    t.expect("STARTTLS\r\n");
}

#[test]
fn service_closing_421_mid_transaction() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    let a = t.c.send(env1(), "x\r\n").unwrap();
    let b = t.c.send(env1(), "y\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n421 4.4.2 shutting down\r\n");
    t.expect("");
    let ev = t.events();
    let failed: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::MessageResult {
                message,
                result: Err(MessageError::SessionClosed(CloseReason::ServiceUnavailable(_))),
                ..
            } => Some(*message),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![a, b]);
    assert!(matches!(
        closed(&ev),
        Some(CloseReason::ServiceUnavailable(_))
    ));
    match t.c.send(env1(), "z") {
        Err(SendError::Closed(unsent)) => {
            assert_eq!(unsent.envelope, env1());
            assert_eq!(unsent.body, Body::from("z"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsolicited_reply_is_a_protocol_error() {
    let mut t = T::plain();
    t.hello(&[]);
    t.server("250 surprise\r\n");
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Protocol(ProtocolError::Unsolicited(_)))
    ));
}

#[test]
fn peer_closed_fails_pending_messages() {
    let mut t = T::plain();
    t.hello(&[]);
    let id = t.c.send(env1(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.c.peer_closed();
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(e, Event::MessageResult { message, result: Err(MessageError::SessionClosed(CloseReason::PeerClosed)), .. } if *message == id)));
    assert!(matches!(closed(&ev), Some(CloseReason::PeerClosed)));
}

#[test]
fn replies_split_at_every_byte_without_text_and_lower_case() {
    // EHLO reply in lower case, enhanced codes absent/present, replies without text.
    let script: &[(&str, &str)] = &[
        ("220 mx\r\n", "EHLO client.example.test\r\n"),
        (
            "250-mx.example.test\r\n250-pipelining\r\n250-size 100\r\n250-8bitmime\r\n250 enhancedstatuscodes\r\n",
            "",
        ),
    ];
    let mut t = T::plain();
    for (server, client) in script {
        for b in server.as_bytes() {
            t.server_bytes(&[*b]);
        }
        t.expect(client);
    }
    t.c.send(env1(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test> SIZE=3\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    for b in b"250\r\n250 2.1.5\r\n354\r\n" {
        t.server_bytes(&[*b]);
    }
    t.expect("x\r\n.\r\n");
    for b in b"250-2.0.0 queued\r\n250 2.0.0 as 1234\r\n" {
        t.server_bytes(&[*b]);
    }
    let ev = t.events();
    match ev.iter().find(|e| matches!(e, Event::MessageResult { .. })) {
        Some(Event::MessageResult { result: Ok(r), .. }) => assert_eq!(r.text, "queued\nas 1234"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn greeting_timeout() {
    let mut t = T::plain();
    let deadline = t.c.poll_timeout().unwrap();
    assert_eq!(deadline, t.now + Duration::from_secs(300));
    t.c.handle_timeout(deadline - Duration::from_secs(1));
    assert!(!t.c.is_closed());
    t.c.handle_timeout(deadline);
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Timeout(TimeoutKind::Greeting))
    ));
    assert_eq!(t.c.poll_timeout(), None);
}

#[test]
fn timeouts_per_command() {
    let mut t = T::plain();
    t.hello(&[]);
    assert_eq!(t.c.poll_timeout(), None, "idle: no timer");
    t.c.send(env1(), "x\r\n").unwrap();
    t.advance(Duration::from_secs(10));
    t.expect("MAIL FROM:<a@example.test>\r\n");
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(300)));
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    t.advance(Duration::from_secs(1));
    t.expect("DATA\r\n");
    // RFC 5321 4.5.3.2.4: 2 minutes for the 354.
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(120)));
    t.server("354 go\r\n");
    t.advance(Duration::from_secs(1));
    t.expect("x\r\n.\r\n");
    // 4.5.3.2.6: 10 minutes for the final reply.
    let d = t.c.poll_timeout().unwrap();
    assert_eq!(d, t.now + Duration::from_secs(600));
    t.c.handle_timeout(d);
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::MessageResult {
            result: Err(MessageError::SessionClosed(CloseReason::Timeout(
                TimeoutKind::DataTermination
            ))),
            ..
        }
    )));
    assert!(matches!(
        closed(&ev),
        Some(CloseReason::Timeout(TimeoutKind::DataTermination))
    ));
}

#[test]
fn custom_timeouts_apply() {
    let mut c = ClientConfig::new("client.example.test");
    c.timeouts.greeting = Duration::from_secs(30);
    let t = T::new(c);
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(30)));
}

#[test]
fn overlong_reply_line_is_a_protocol_error() {
    let mut c = ClientConfig::new("client.example.test");
    c.max_reply_line = 512;
    let mut t = T::new(c);
    let long = format!("220 {}\r\n", "x".repeat(600));
    t.server(&long);
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Protocol(ProtocolError::Malformed(_)))
    ));
}

#[test]
fn reply_to_a_command_not_yet_sent_is_unsolicited() {
    // The EHLO reply arrives with the greeting, before EHLO left the client.
    let mut t = T::plain();
    t.server("220 mx\r\n250 mx\r\n");
    t.expect("");
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Protocol(ProtocolError::Unsolicited(_)))
    ));
    // Same for a pipelined flight answered ahead of the DATA that was never sent.
    let mut t = T::plain();
    t.hello(&[]);
    t.c.send(env1(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n250 ok\r\n");
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Protocol(ProtocolError::Unsolicited(_)))
    ));
}

#[test]
fn data_block_timeout_when_the_transport_does_not_drain() {
    let (mut t, id) = streamed(&["PIPELINING"], BodyType::SevenBit, None);
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.events();
    t.advance(Duration::from_secs(5));
    t.c.push_body(id, bytes("line\r\n")).unwrap();
    // The chunk waits from the next time the client is given.
    t.c.handle_timeout(t.now);
    // Nobody takes the bytes: RFC 5321 4.5.3.2.5, 3 minutes after they were queued.
    let queued_at = t.now;
    assert_eq!(
        t.c.poll_timeout(),
        Some(queued_at + Duration::from_secs(180))
    );
    t.c.handle_timeout(queued_at + Duration::from_secs(180));
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::MessageResult {
            result: Err(MessageError::SessionClosed(CloseReason::Timeout(
                TimeoutKind::DataBlock
            ))),
            ..
        }
    )));
}

#[test]
fn endless_multiline_reply_is_cut_off() {
    let mut t = T::plain();
    t.server("220 mx\r\n");
    t.expect("EHLO client.example.test\r\n");
    for _ in 0..300 {
        t.server("250-X\r\n");
    }
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Protocol(ProtocolError::Malformed(_)))
    ));
}

/// RFC 5321 4.3.2 / RFC 3207 4: EHLO, HELO, STARTTLS and QUIT never get a 3xx; the
/// session closes as a protocol error without sending anything more (no QUIT).
#[test]
fn reply_3xx_to_hello_starttls_or_quit_is_a_protocol_error() {
    fn unexpected(ev: &[Event]) -> Option<(&'static str, u16)> {
        match closed(ev) {
            Some(CloseReason::Protocol(ProtocolError::UnexpectedReply { command, reply })) => {
                Some((*command, reply.code.0))
            }
            _ => None,
        }
    }
    let mut t = T::plain();
    t.server("220 mx\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server("354 go\r\n");
    t.expect("");
    assert_eq!(unexpected(&t.events()), Some(("EHLO", 354)));

    let mut t = T::plain();
    t.server("220 mx\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server("502 no\r\n");
    t.expect("HELO client.example.test\r\n");
    t.server("334 eh\r\n");
    t.expect("");
    assert_eq!(unexpected(&t.events()), Some(("HELO", 334)));

    let mut t = T::new(tls_config(TlsPolicy::Opportunistic));
    t.hello(&["STARTTLS"]);
    t.expect("STARTTLS\r\n");
    t.server("354 go\r\n");
    t.expect("");
    let ev = t.events();
    assert!(!ev.iter().any(|e| matches!(e, Event::StartTls { .. })));
    assert_eq!(unexpected(&ev), Some(("STARTTLS", 354)));

    let mut t = T::plain();
    t.hello(&[]);
    t.c.quit();
    t.expect("QUIT\r\n");
    t.server("354 go\r\n");
    assert_eq!(unexpected(&t.events()), Some(("QUIT", 354)));
}

// ---- reply timers under PIPELINING (RFC 5321 4.5.3.2, RFC 2920) ----

fn env_to(n: usize) -> Envelope {
    let mut e = Envelope::new("a@example.test").unwrap();
    for i in 0..n {
        e.add_recipient(&format!("r{i}@example.test")).unwrap();
    }
    e
}

/// RFC 5321 4.5.3.2.4: 2 minutes for the 354 *to DATA*. Pipelined, DATA goes out with
/// MAIL and the RCPTs but its reply can only come after theirs: slow RCPT replies (each
/// well within its own 5 minutes) must not eat the DATA timer.
#[test]
fn pipelined_data_timer_starts_after_the_last_rcpt_reply() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(env_to(3), "hi\r\n").unwrap();
    t.expect(
        "MAIL FROM:<a@example.test>\r\nRCPT TO:<r0@example.test>\r\nRCPT TO:<r1@example.test>\r\nRCPT TO:<r2@example.test>\r\nDATA\r\n",
    );
    t.server("250 ok\r\n");
    // Each RCPT takes 45 s (recipient verification callouts).
    for _ in 0..3 {
        t.advance(Duration::from_secs(45));
        t.c.handle_timeout(t.now);
        t.server("250 ok\r\n");
    }
    // 135 s after DATA was written, 0 s after the server could start on it.
    t.c.handle_timeout(t.now);
    assert!(!t.c.is_closed(), "{:#?}", t.events());
    let deadline = t.now + Duration::from_secs(120);
    assert_eq!(t.c.poll_timeout(), Some(deadline));
    t.c.handle_timeout(deadline - Duration::from_secs(1));
    assert!(!t.c.is_closed());
    t.c.handle_timeout(deadline);
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Timeout(TimeoutKind::DataInitiation))
    ));
}

/// RFC 5321 4.5.3.2.3: 5 minutes for *each* RCPT reply; the 8th RCPT's timer does not
/// include the time the server spent on the first seven.
#[test]
fn pipelined_rcpt_timer_starts_after_the_previous_reply() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(env_to(8), "hi\r\n").unwrap();
    let _ = t.sent();
    t.server("250 ok\r\n");
    for _ in 0..8 {
        t.advance(Duration::from_secs(40));
        // The caller's loop: poll_transmit after each read (nothing to write here).
        t.expect("");
        t.c.handle_timeout(t.now);
        t.server("250 ok\r\n");
    }
    let ev = t.events();
    assert!(closed(&ev).is_none(), "{ev:#?}");
}

/// `receive` takes no time: after a reply, `poll_timeout` asks for the time at once (the
/// last instant given), and the next instant given starts the next reply's timer.
#[test]
fn next_reply_timer_starts_at_the_first_time_given_after_a_reply() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(env1(), "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    let sent = t.now;
    assert_eq!(t.c.poll_timeout(), Some(sent + Duration::from_secs(300)));
    t.server("250 ok\r\n");
    assert_eq!(
        t.c.poll_timeout(),
        Some(sent),
        "due now: the client needs the time"
    );
    t.advance(Duration::from_secs(50));
    t.c.handle_timeout(t.now);
    assert!(!t.c.is_closed());
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(300)));
    t.server("250 ok\r\n");
    t.advance(Duration::from_secs(7));
    t.expect("");
    // The 354 is awaited from the RCPT reply on (as far as the client knows the time).
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(120)));
}

/// RFC 5321 4.5.3.2.6 (with RFC 3030): the reply to a BDAT chunk is timed from when the
/// chunk is through, not from when the BDAT line went out. Here the transport takes the
/// command lines, then the chunk two minutes later (under the 3-minute data block
/// timer); the 10-minute timer runs from the chunk.
#[test]
fn bdat_reply_timer_starts_once_the_chunk_is_handed_out() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "CHUNKING"]);
    t.c.send(env_to(1), "hi\r\n").unwrap();
    let t0 = t.now;
    let lines = t.c.poll_transmit(t0).expect("the command lines");
    assert!(lines.ends_with(b"BDAT 4 LAST\r\n"), "{lines:?}");
    t.server("250 ok\r\n250 ok\r\n");
    // The replies arrive at once: the BDAT reply is the one awaited from t0 on.
    t.c.handle_timeout(t0);
    let t1 = t0 + Duration::from_secs(120);
    t.c.handle_timeout(t1);
    assert_eq!(t.c.poll_transmit(t1).as_deref(), Some(&b"hi\r\n"[..]));
    assert!(t.c.poll_transmit(t1).is_none());
    t.c.handle_timeout(t0 + Duration::from_secs(600));
    assert!(!t.c.is_closed(), "{:#?}", t.events());
    assert_eq!(t.c.poll_timeout(), Some(t1 + Duration::from_secs(600)));
    t.c.handle_timeout(t1 + Duration::from_secs(600));
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Timeout(TimeoutKind::DataTermination))
    ));
}

/// The client ended the session itself (TLS required, not offered) and sent QUIT; a `421`
/// answering that QUIT does not replace the reason.
#[test]
fn a_421_to_the_clients_own_quit_keeps_the_close_reason() {
    let mut cfg = ClientConfig::new("client.example.test");
    cfg.tls = TlsPolicy::Required;
    let mut t = T::new(cfg);
    t.hello(&[]);
    t.expect("QUIT\r\n");
    t.server("421 4.3.2 bye\r\n");
    let ev = t.events();
    assert!(
        matches!(
            ev.last(),
            Some(Event::Closed(CloseReason::TlsUnavailable(_)))
        ),
        "{ev:?}"
    );
}

/// As for a `421` (above): once the client has ended the session itself and sent QUIT, a
/// QUIT reply that never comes (RFC 5321 4.5.3.2) or one that is malformed or out of place does not replace the reason it quit for, which the messages already carry.
#[test]
fn whatever_ends_the_wait_for_the_clients_own_quit_keeps_the_close_reason() {
    type End = fn(&mut T);
    let ends: [(&str, End); 3] = [
        ("timeout", |t| {
            let later = t.now + Duration::from_secs(600);
            t.c.handle_timeout(later);
            t.c.handle_timeout(later + Duration::from_secs(600));
        }),
        ("malformed", |t| t.server("hello?\r\n")),
        ("3xx", |t| t.server("354 go on\r\n")),
    ];
    for (what, end) in ends {
        let mut cfg = ClientConfig::new("client.example.test");
        cfg.tls = TlsPolicy::Required;
        let mut t = T::new(cfg);
        t.hello(&[]);
        t.expect("QUIT\r\n");
        end(&mut t);
        let ev = t.events();
        assert!(t.c.is_closed(), "{what}: {ev:?}");
        assert!(
            matches!(
                ev.last(),
                Some(Event::Closed(CloseReason::TlsUnavailable(None)))
            ),
            "{what}: {ev:?}"
        );
    }
}

/// A server that refuses service often closes right behind its `554` greeting, with a
/// `221` that arrives before the client's QUIT went out. The session still ends for the
/// refusal (RFC 5321 3.1), as it does when the two replies come in separate reads.
#[test]
fn greeting_554_and_a_221_in_the_same_read_is_still_a_refused_greeting() {
    for reads in [
        &["554 5.7.1 no\r\n221 bye\r\n"][..],
        &["554 5.7.1 no\r\n", "221 bye\r\n"],
    ] {
        let mut t = T::plain();
        let id = t.c.send(env1(), "x\r\n").unwrap();
        for r in reads {
            t.server(r);
            let _ = t.sent();
        }
        let ev = t.events();
        assert!(
            matches!(
                ev.last(),
                Some(Event::Closed(CloseReason::GreetingRefused(_)))
            ),
            "{reads:?}: {ev:?}"
        );
        assert!(ev.iter().any(|e| matches!(e, Event::MessageResult { message, result: Err(MessageError::SessionClosed(CloseReason::GreetingRefused(_))), .. } if *message == id)));
    }
}

/// RFC 5321 4.5.3.2.5: the data-block timer runs while data waits for the transport to
/// take it ("awaiting the completion of each TCP SEND"), not while the server answers the
/// pipelined flight nor while the caller produces the next chunk of a streamed body. Data
/// queued while nothing was waiting starts the timer at the next time the client is given.
#[test]
fn data_block_timer_starts_when_data_is_queued() {
    // A whole body, queued when the 354 arrives 200 s after the flight went out.
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(env1(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.advance(Duration::from_secs(100));
    t.server("250 ok\r\n250 ok\r\n");
    t.c.handle_timeout(t.now);
    t.advance(Duration::from_secs(100));
    t.server("354 go\r\n");
    t.c.handle_timeout(t.now);
    assert_eq!(closed(&t.events()), None);
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(180)));
    t.expect("x\r\n.\r\n");

    // A streamed body whose first chunk takes the caller 10 minutes.
    let (mut t, id) = streamed(&["PIPELINING"], BodyType::SevenBit, None);
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.expect("");
    t.events();
    assert_eq!(
        t.c.poll_timeout(),
        None,
        "no timer while the caller produces"
    );
    t.advance(Duration::from_secs(600));
    t.c.push_body(id, bytes("line\r\n")).unwrap();
    t.c.handle_timeout(t.now);
    assert_eq!(closed(&t.events()), None);
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(180)));
    t.expect("line\r\n");
    t.events();
    // Nothing queued: no timer again while the caller produces the next chunk.
    assert_eq!(t.c.poll_timeout(), None);
}

/// `Client::capabilities`: the EHLO reply's; after a HELO fallback the HELO reply's first
/// line with no extensions; `None` from `tls_established` until the EHLO reply after TLS.
/// While the TLS handshake runs no timer does (`Event::StartTls`): bounding it is the
/// caller's.
#[test]
fn capabilities_after_helo_and_across_starttls_and_no_timer_during_the_handshake() {
    let mut t = T::plain();
    assert_eq!(t.c.capabilities(), None);
    t.server("220 old.example.test\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server("502 command not implemented\r\n");
    t.expect("HELO client.example.test\r\n");
    t.server("250 old.example.test greets you\r\n");
    let caps =
        t.c.capabilities()
            .expect("a HELO reply gives capabilities too");
    assert!(caps.list.is_empty());
    assert_eq!(caps.greeting, "old.example.test greets you");

    let mut t = T::new(tls_config(TlsPolicy::Opportunistic));
    t.hello(&["PIPELINING", "STARTTLS"]);
    assert!(t.c.capabilities().is_some());
    t.expect("STARTTLS\r\n");
    t.server("220 2.0.0 ready to start TLS\r\n");
    assert!(t.events().contains(&Event::StartTls { anonymous: false }));
    assert_eq!(t.c.poll_timeout(), None, "no timer during the handshake");
    t.advance(Duration::from_secs(3600));
    t.c.handle_timeout(t.now);
    assert!(!t.c.is_closed());
    t.c.tls_established().unwrap();
    assert_eq!(t.c.capabilities(), None, "forgotten after TLS");
    t.expect("EHLO client.example.test\r\n");
    assert_eq!(t.c.poll_timeout(), Some(t.now + Duration::from_secs(300)));
    t.server("250-mx.example.test\r\n250 SIZE 1000\r\n");
    let caps = t.c.capabilities().unwrap();
    assert_eq!(caps.list.len(), 1);
}
