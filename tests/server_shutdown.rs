//! `Server::shutdown`: the session ends with `421 4.3.2` as soon as no mail transaction is
//! open (RFC 5321 3.8), never in the middle of a message the client has started.

mod pair_support;
mod server_support;

use ehlo::server::{Decision, Event, Server, ServerConfig};
use ehlo::{EnhancedCode, Reply};
use pair_support::pump;
use server_support::*;

const EHLO: &[u8] = b"EHLO client.example.test\r\n";
const BYE: &str = "421 4.3.2 Service shutting down, closing transmission channel\r\n";

fn ehlo_reply() -> String {
    run(config(), EHLO, defaults).text()
}

/// A session after EHLO whose MAIL waits for its decision: the server, what it said so
/// far, and the MAIL event.
fn at_mail() -> (Server, Run, Event) {
    let mut server = Server::new(config(), t0());
    let mut run = Run::default();
    drain(&mut server, &mut run, &mut defaults);
    server.receive(t0(), b"EHLO c\r\nMAIL FROM:<a@example.test>\r\n");
    let event = loop {
        let e = server.poll_event().expect("event");
        if matches!(e, Event::MailFrom { .. }) {
            break e;
        }
        server.accept();
    };
    (server, run, event)
}

#[test]
fn an_idle_session_gets_421_at_once() {
    let r = run_acts(config(), &[Act::Input(EHLO), Act::Shutdown], defaults);
    assert_eq!(r.text(), ehlo_reply() + BYE);
    assert_eq!(r.kinds(), ["Connect", "Ehlo"]);
    assert!(r.closed);
}

#[test]
fn input_after_the_421_is_not_read() {
    let r = run_acts(
        config(),
        &[
            Act::Input(EHLO),
            Act::Shutdown,
            Act::Input(b"MAIL FROM:<a@example.test>\r\nQUIT\r\n"),
        ],
        defaults,
    );
    assert_eq!(r.text(), ehlo_reply() + BYE);
    assert_eq!(r.kinds(), ["Connect", "Ehlo"]);
}

#[test]
fn commands_already_buffered_are_not_served() {
    // Shutdown with a pipelined, unprocessed batch: nothing of it is acted upon, and
    // no transaction opens.
    let mut server = Server::new(config(), t0());
    let mut run = Run::default();
    drain(&mut server, &mut run, &mut defaults);
    server.receive(
        t0(),
        b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n",
    );
    server.shutdown();
    drain(&mut server, &mut run, &mut defaults);
    assert_eq!(run.text(), t(GREETING) + BYE);
    assert_eq!(run.kinds(), ["Connect"]);
    assert!(server.is_closed());
}

#[test]
fn before_the_greeting_the_421_is_the_greeting() {
    let mut server = Server::new(config(), t0());
    server.shutdown();
    assert!(server.is_shutting_down());
    let mut run = Run::default();
    drain(&mut server, &mut run, &mut defaults);
    assert_eq!(run.text(), BYE);
    assert!(run.events.is_empty());
    assert!(server.is_closed());
}

#[test]
fn a_message_in_progress_is_finished_and_answered_first() {
    let r = run_acts(
        config(),
        &[
            Act::Input(b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nSubject: x\r\n"),
            Act::Shutdown,
            // RCPT and DATA still work inside the transaction; the MAIL pipelined after
            // the message does not start another.
            Act::Input(b"\r\nbody\r\n.\r\nMAIL FROM:<c@example.test>\r\n"),
        ],
        defaults,
    );
    let text = r.text();
    assert!(
        text.ends_with(&format!(
            "354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 Message accepted\r\n{BYE}"
        )),
        "{text}"
    );
    assert_eq!(r.message(), b"Subject: x\r\n\r\nbody\r\n");
    assert_eq!(r.kinds().last(), Some(&"MessageEnd"));
    assert_eq!(r.kinds().iter().filter(|k| **k == "MailFrom").count(), 1);
    assert!(r.closed);
}

#[test]
fn a_decision_on_the_message_is_sent_before_the_421() {
    // The caller is committing the message when the shutdown comes: its verdict goes
    // out, then the 421.
    let mut server = Server::new(config(), t0());
    let mut run = Run::default();
    drain(&mut server, &mut run, &mut defaults);
    server.receive(
        t0(),
        b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nbody\r\n.\r\n",
    );
    loop {
        let event = server.poll_event().expect("an event");
        let end = matches!(event, Event::MessageEnd { .. });
        if event.needs_decision() && !end {
            server.accept();
        }
        if end {
            break;
        }
    }
    server.shutdown();
    assert!(!server.is_closed());
    server.decide(Decision::Reply(Reply::new(
        250,
        Some(EnhancedCode::new(2, 0, 0)),
        "Queued as X1",
    )));
    drain(&mut server, &mut run, &mut defaults);
    assert!(
        run.text()
            .ends_with(&format!("250 2.0.0 Queued as X1\r\n{BYE}")),
        "{}",
        run.text()
    );
    assert!(server.is_closed());
}

#[test]
fn bdat_chunks_go_on_to_last() {
    let mut c = config();
    c.extensions.chunking = true;
    let r = run_acts(
        c,
        &[
            Act::Input(b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 3\r\nabc"),
            Act::Shutdown,
            Act::Input(b"BDAT 3 LAST\r\ndef"),
        ],
        defaults,
    );
    assert_eq!(r.message(), b"abcdef");
    assert!(r.text().ends_with(BYE), "{}", r.text());
    assert_eq!(r.text().matches("250 2.0.0").count(), 2, "{}", r.text());
    assert!(r.closed);
}

#[test]
fn reset_or_refusal_ends_the_transaction_and_the_session() {
    // RSET ends the transaction: the next command gets the 421.
    let r = run_acts(
        config(),
        &[
            Act::Input(b"EHLO c\r\nMAIL FROM:<a@example.test>\r\n"),
            Act::Shutdown,
            Act::Input(b"RSET\r\nNOOP\r\n"),
        ],
        defaults,
    );
    assert!(
        r.text().ends_with(&format!("250 2.0.0 OK\r\n{BYE}")),
        "{}",
        r.text()
    );
    assert!(r.closed);
    // A refused MAIL opens none: the 421 follows its refusal.
    let mut refuse = |e: &Event| match e {
        Event::MailFrom { .. } => {
            Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "No"))
        }
        _ => Decision::Default,
    };
    // Shut down while MAIL waits for its decision: the refusal goes out, then the 421.
    let (mut server, mut run, event) = at_mail();
    server.shutdown();
    server.decide(refuse(&event));
    drain(&mut server, &mut run, &mut refuse);
    assert!(
        run.text().ends_with(&format!("550 5.7.1 No\r\n{BYE}")),
        "{}",
        run.text()
    );
    assert!(server.is_closed());
}

#[test]
fn an_accepted_mail_decided_after_the_shutdown_keeps_its_transaction() {
    let (mut server, mut run, _) = at_mail();
    server.shutdown();
    server.accept();
    drain(&mut server, &mut run, &mut defaults);
    assert!(!server.is_closed(), "{}", run.text());
    server.receive(t0(), b"RCPT TO:<b@example.test>\r\nDATA\r\nhi\r\n.\r\n");
    drain(&mut server, &mut run, &mut defaults);
    assert!(run.text().ends_with(BYE), "{}", run.text());
    assert_eq!(run.message(), b"hi\r\n");
    assert!(server.is_closed());
}

#[test]
fn the_421_follows_the_tls_handshake() {
    let mut c = config();
    c.extensions.starttls = true;
    let r = run_acts(
        c,
        &[
            Act::Input(b"EHLO c\r\nSTARTTLS\r\n"),
            Act::Shutdown,
            Act::Tls,
        ],
        defaults,
    );
    assert!(
        r.text()
            .ends_with(&format!("220 2.0.0 Ready to start TLS\r\n{BYE}")),
        "{}",
        r.text()
    );
    assert!(r.closed);
}

#[test]
fn the_421_waits_for_an_auth_exchange() {
    let mut c = config();
    c.auth.mechanisms = vec![ehlo::server::Mechanism::new("PLAIN")];
    c.auth.allow_plaintext_without_tls = true;
    c.auth.builtin_exchanges = true;
    let r = run_acts(
        c,
        &[
            Act::Input(b"EHLO c\r\nAUTH PLAIN\r\n"),
            Act::Shutdown,
            Act::Input(b"AGFsaWNlAHNlY3JldA==\r\n"),
        ],
        |e| match e {
            Event::AuthVerify { .. } => Decision::AuthSuccess {
                identity: "alice".into(),
            },
            _ => Decision::Default,
        },
    );
    let text = r.text();
    assert!(text.contains("334 "), "{text}");
    assert!(text.ends_with(BYE), "{text}");
    assert!(r.closed);
}

#[test]
fn shutdown_is_idempotent_and_silent_after_close() {
    let mut server = Server::new(ServerConfig::new("mx.example.test"), t0());
    let mut run = Run::default();
    drain(&mut server, &mut run, &mut defaults);
    server.receive(t0(), b"QUIT\r\n");
    drain(&mut server, &mut run, &mut defaults);
    assert!(server.is_closed());
    server.shutdown();
    server.shutdown();
    drain(&mut server, &mut run, &mut defaults);
    assert_eq!(run.text(), t(GREETING) + "221 2.0.0 Bye\r\n");
}

fn t(s: &str) -> String {
    s.to_string()
}

/// A real client with two messages queued against a server that is told to shut down
/// while it stores the first: the first is delivered and acknowledged, the second fails
/// as a temporary failure (the client may send it elsewhere or later), and the session
/// ends as "service unavailable", not as a protocol error.
#[test]
fn a_client_sees_its_first_message_delivered_and_the_second_deferred() {
    use ehlo::client::{self, Client, ClientConfig, CloseReason, Envelope, TlsPolicy};
    for pipelining in [true, false] {
        let now = t0();
        let mut cc = ClientConfig::new("client.example.test");
        cc.tls = TlsPolicy::Never;
        cc.pipelining = pipelining;
        let mut client = Client::new(cc, now);
        let env = || {
            Envelope::new("a@example.test")
                .and_then(|e| e.recipient("b@example.test"))
                .unwrap()
        };
        let first = client.send(env(), "Subject: 1\r\n\r\none\r\n").unwrap();
        let second = client.send(env(), "Subject: 2\r\n\r\ntwo\r\n").unwrap();
        let mut server = Server::new(config(), now);
        let mut stored = Vec::new();
        let mut message = Vec::new();
        let client_events = pump(
            &mut client,
            &mut server,
            now,
            |server, event| match &event {
                Event::MessageChunk(b) => message.extend_from_slice(b),
                Event::MessageEnd { .. } => {
                    // The signal arrives while the message is being stored.
                    server.shutdown();
                    stored.push(std::mem::take(&mut message));
                    server.accept();
                }
                e if e.needs_decision() => server.accept(),
                _ => {}
            },
        );
        assert!(server.is_closed() && client.is_closed());
        assert_eq!(
            stored,
            [b"Subject: 1\r\n\r\none\r\n".to_vec()],
            "{pipelining}"
        );
        let result = |id| {
            client_events
                .iter()
                .find_map(|e| match e {
                    client::Event::MessageResult {
                        message, result, ..
                    } if *message == id => Some(result.clone()),
                    _ => None,
                })
                .expect("a result")
        };
        assert_eq!(result(first).expect("delivered").code.0, 250);
        // Never a 5xx: nothing says the message cannot be delivered.
        match result(second).expect_err("not delivered") {
            client::MessageError::SessionClosed(CloseReason::ServiceUnavailable(r))
            | client::MessageError::SenderRejected(r) => assert_eq!(r.code.0, 421),
            e => panic!("{pipelining}: {e:?}"),
        }
        match client_events.last() {
            Some(client::Event::Closed(CloseReason::ServiceUnavailable(r))) => {
                assert_eq!(r.code.0, 421);
                assert_eq!(r.enhanced, Some(EnhancedCode::new(4, 3, 2)));
            }
            e => panic!("{pipelining}: {e:?}"),
        }
    }
}

// ---- edge cases ----

#[test]
fn without_enhancedstatuscodes_the_421_has_no_enhanced_code() {
    // RFC 2034: no enhanced codes when the extension is off.
    let mut c = config();
    c.extensions.enhanced_status_codes = false;
    let r = run_acts(c, &[Act::Input(EHLO), Act::Shutdown], defaults);
    assert!(
        r.text().ends_with(
            "250 CHUNKING\r\n421 Service shutting down, closing transmission channel\r\n"
        ),
        "{}",
        r.text()
    );
    assert!(r.closed);
}

#[test]
fn an_xexch50_blob_in_progress_is_read_and_the_transaction_goes_on() {
    let mut c = config();
    c.exchange.xexch50 = true;
    c.exchange.xexch50_requires_auth = false;
    let r = run_acts(
        c,
        &[
            Act::Input(b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nXEXCH50 6 2\r\nabc"),
            Act::Shutdown,
            // The rest of the blob is never taken for commands; the transaction is still
            // open after it.
            Act::Input(b"def"),
            Act::Input(b"DATA\r\nhi\r\n.\r\n"),
        ],
        defaults,
    );
    let text = r.text();
    assert!(
        text.ends_with(&format!("250 2.0.0 Message accepted\r\n{BYE}")),
        "{text}"
    );
    assert_eq!(r.message(), b"hi\r\n");
    assert!(r.kinds().contains(&"XExch50End"), "{:?}", r.kinds());
    assert!(r.closed);
}

#[test]
fn a_refused_bdat_chunk_leaves_the_transaction_to_its_rset() {
    // RFC 3030 2: after a refused chunk the client sends no more BDAT and resets; the
    // chunk's octets are read (never as commands), and the 421 follows the RSET.
    let mut c = config();
    c.limits.max_message_size = 4;
    let r = run_acts(
        c,
        &[
            Act::Input(b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 10\r\n01234"),
            Act::Shutdown,
            Act::Input(b"QUIT\rRSET\r\nNOOP\r\n"),
        ],
        defaults,
    );
    let text = r.text();
    assert!(text.contains("\r\n552 "), "{text}");
    assert!(text.ends_with(&format!("250 2.0.0 OK\r\n{BYE}")), "{text}");
    // The chunk's last five octets look like a command: they are data.
    assert!(!text.contains("221"), "{text}");
    assert!(r.message().is_empty());
    assert!(r.closed);
}

#[test]
fn a_close_decision_after_the_shutdown_is_the_only_421() {
    let (mut server, mut run, _) = at_mail();
    server.shutdown();
    server.decide(Decision::Close(Reply::new(
        421,
        Some(EnhancedCode::new(4, 7, 0)),
        "Go away",
    )));
    drain(&mut server, &mut run, &mut defaults);
    assert!(
        run.text()
            .ends_with("250 CHUNKING\r\n421 4.7.0 Go away\r\n"),
        "{}",
        run.text()
    );
    assert_eq!(run.text().matches("421").count(), 1);
    assert!(server.is_closed());
}

#[test]
fn a_refused_session_gets_the_421_instead_of_its_503s() {
    // RFC 5321 3.1: a session greeted with 554 answers 503 to all but QUIT; a shutdown
    // ends it with the 421 (3.8) like any other.
    let refuse = |e: &Event| match e {
        Event::Connect => Decision::Reply(Reply::new(554, None, "mx.example.test No service")),
        _ => Decision::Default,
    };
    let r = run_acts(
        config(),
        &[
            Act::Input(b"EHLO c\r\n"),
            Act::Shutdown,
            Act::Input(b"MAIL FROM:<a@example.test>\r\n"),
        ],
        refuse,
    );
    assert_eq!(
        r.text(),
        format!(
            "554 mx.example.test No service\r\n\
             503 5.5.1 Bad sequence of commands: only QUIT is accepted\r\n{BYE}"
        )
    );
    assert!(r.closed);
}

const TIMEOUT_421: &str = "421 4.4.2 Timeout exceeded, closing connection\r\n";

/// A partial command line is no command in progress: the `421` goes out at once and the
/// rest of the line is never read.
#[test]
fn a_partial_command_line_gets_the_421_at_once() {
    let r = run_acts(
        config(),
        &[
            Act::Input(b"EHLO client.example.test\r\nMAIL FROM:<a@exa"),
            Act::Shutdown,
            Act::Input(b"mple.test>\r\n"),
        ],
        defaults,
    );
    assert_eq!(r.text(), ehlo_reply() + BYE);
    assert_eq!(r.kinds(), ["Connect", "Ehlo"]);
    assert!(r.closed);
}

/// A shutdown waits for the message in progress, but not beyond the session's timeouts
/// (RFC 5321 4.5.3.2): a client that stalls in the middle of DATA or of a BDAT chunk gets
/// `421 4.4.2` at the data block deadline, counted from its last input, not `421 4.3.2`.
#[test]
fn a_stalled_message_ends_at_its_timeout() {
    use std::time::Duration;
    for input in [
        &b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nSubj"[..],
        b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 10 LAST\r\nSubj",
    ] {
        let mut server = Server::new(config(), t0());
        let mut run = Run::default();
        drain(&mut server, &mut run, &mut defaults);
        let at = t0() + Duration::from_secs(7);
        server.receive(at, input);
        drain(&mut server, &mut run, &mut defaults);
        server.shutdown();
        drain(&mut server, &mut run, &mut defaults);
        assert!(!server.is_closed());
        let deadline = at + Duration::from_secs(180);
        assert_eq!(server.poll_timeout(), Some(deadline));
        server.handle_timeout(deadline - Duration::from_nanos(1));
        assert!(!server.is_closed());
        server.handle_timeout(deadline);
        drain(&mut server, &mut run, &mut defaults);
        assert!(run.text().ends_with(TIMEOUT_421), "{}", run.text());
        assert!(!run.text().contains("4.3.2"), "{}", run.text());
        assert!(server.is_closed());
        assert_eq!(server.poll_timeout(), None);
    }
}

/// A TLS handshake that never completes is bounded by the command timeout from the
/// STARTTLS; the session then ends without a plaintext reply in what is a TLS stream.
#[test]
fn a_stalled_tls_handshake_ends_silently_at_its_timeout() {
    use std::time::Duration;
    let mut c = config();
    c.extensions.starttls = true;
    let mut server = Server::new(c, t0());
    let mut run = Run::default();
    drain(&mut server, &mut run, &mut defaults);
    server.receive(t0(), b"EHLO c\r\nSTARTTLS\r\n");
    drain(&mut server, &mut run, &mut defaults);
    server.shutdown();
    drain(&mut server, &mut run, &mut defaults);
    let before = run.text();
    assert!(
        before.ends_with("220 2.0.0 Ready to start TLS\r\n"),
        "{before}"
    );
    let deadline = t0() + Duration::from_secs(300);
    assert_eq!(server.poll_timeout(), Some(deadline));
    server.handle_timeout(deadline);
    drain(&mut server, &mut run, &mut defaults);
    assert_eq!(run.text(), before);
    assert!(server.is_closed());
}

/// A decision pending outside a transaction (EHLO) is answered first, then the `421`.
#[test]
fn a_pending_ehlo_decision_is_answered_before_the_421() {
    let mut server = Server::new(config(), t0());
    let mut run = Run::default();
    drain(&mut server, &mut run, &mut defaults);
    server.receive(t0(), EHLO);
    assert!(matches!(server.poll_event(), Some(Event::Ehlo { .. })));
    server.shutdown();
    assert!(!server.is_closed());
    server.accept();
    drain(&mut server, &mut run, &mut defaults);
    assert_eq!(run.text(), ehlo_reply() + BYE);
    assert!(server.is_closed());
}
