//! The boundary between the server machine and its caller: every decision a caller can
//! give (codes, enhanced codes, texts) has a defined effect on the wire, and decisions
//! pair with events one to one, in command order, under PIPELINING (RFC 2920).

mod server_support;

use ehlo::server::{Decision, Event, Mechanism, Server, ServerConfig};
use ehlo::syntax::path::ForwardPath;
use ehlo::{EnhancedCode, Reply};
use server_support::*;

const EHLO: &str = "EHLO client.example.test\r\n";

/// The output after the EHLO reply of the default configuration.
fn after_ehlo(r: &Run) -> String {
    let text = r.text();
    let start = text.find("250 CHUNKING\r\n").expect("EHLO reply") + "250 CHUNKING\r\n".len();
    text[start..].to_string()
}

fn rich_config() -> ServerConfig {
    let mut c = config();
    c.extensions.starttls = true;
    c.extensions.etrn = true;
    c.auth.mechanisms = vec![Mechanism::new("PLAIN"), Mechanism::new("X-CUSTOM")];
    c.auth.allow_plaintext_without_tls = true;
    c.exchange.xexch50 = true;
    c.exchange.link2state = true;
    c
}

/// A pipelined session touching every kind of decision: greeting, EHLO, AUTH with a
/// challenge, MAIL, RCPTs, XEXCH50, DATA, BDAT, VRFY, EXPN, ETRN, NOOP, RSET, unknown and
/// Exchange verbs, HELO, QUIT.
const EVERYTHING: &str = "EHLO client.example.test\r\n\
AUTH X-CUSTOM\r\nYWJj\r\n\
MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n\
XEXCH50 4 2\r\nblobDATA\r\nhello\r\n.\r\n\
MAIL FROM:<a@example.test>\r\nRCPT TO:<d@example.test>\r\nBDAT 3\r\nabcBDAT 2 LAST\r\nde\
VRFY x\r\nEXPN y\r\nETRN example.test\r\nNOOP\r\nRSET\r\nFOO bar\r\nX-LINK2STATE a\r\n\
HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<e@example.test>\r\nQUIT\r\n";

fn everything_policy(e: &Event) -> Decision {
    match e {
        Event::AuthStart { .. } => Decision::AuthChallenge(b"chal".to_vec()),
        Event::AuthResponse { .. } => Decision::AuthSuccess {
            identity: "u".into(),
        },
        Event::RcptTo { to, .. } if to.to_string().contains("c@") => {
            Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 1, 1)), "No c"))
        }
        _ => Decision::Default,
    }
}

/// After every event `poll_event` returns, the machine waits for a decision exactly when
/// [`Event::needs_decision`] says so: a caller that follows the flag answers every event
/// that needs an answer, and no decision it gives lands on a later event.
#[test]
fn needs_decision_agrees_with_the_machine() {
    for split in [usize::MAX, 1, 7] {
        let mut server = Server::new(rich_config(), t0());
        let input = EVERYTHING.as_bytes();
        let pieces: Vec<&[u8]> = if split == usize::MAX {
            vec![input]
        } else {
            input.chunks(split).collect()
        };
        let mut decisions = 0;
        let mut feed = pieces.into_iter();
        loop {
            while let Some(event) = server.poll_event() {
                assert_eq!(
                    event.needs_decision(),
                    server.is_decision_pending(),
                    "{event:?}"
                );
                if event.needs_decision() {
                    decisions += 1;
                    server.decide(everything_policy(&event));
                    assert!(!server.is_decision_pending());
                }
            }
            match feed.next() {
                Some(p) => server.receive(t0(), p),
                None => break,
            }
        }
        assert!(server.is_closed());
        assert_eq!(decisions, 22, "split {split}");
    }
}

/// 100 recipients pipelined in one read, each with its own decision: one reply per RCPT,
/// in command order (RFC 2920 section 3.1), the 250s and 550s where the caller put them.
#[test]
fn pipelined_recipients_get_their_own_replies_in_order() {
    let mut input = format!("{EHLO}MAIL FROM:<a@example.test>\r\n");
    for i in 0..100 {
        input.push_str(&format!("RCPT TO:<u{i}@example.test>\r\n"));
    }
    input.push_str("QUIT\r\n");
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::RcptTo {
            to: ForwardPath::Mailbox(m),
            ..
        } => {
            let n: usize = m.local_part.to_string()[1..].parse().unwrap();
            if n % 3 == 0 {
                Decision::Reply(Reply::new(
                    550,
                    Some(EnhancedCode::new(5, 1, 1)),
                    format!("no u{n}"),
                ))
            } else {
                Decision::Reply(Reply::new(250, None, format!("ok u{n}")))
            }
        }
        _ => Decision::Default,
    });
    let mut expected = String::from("250 2.1.0 Sender OK\r\n");
    for n in 0..100 {
        if n % 3 == 0 {
            expected.push_str(&format!("550 5.1.1 no u{n}\r\n"));
        } else {
            expected.push_str(&format!("250 2.0.0 ok u{n}\r\n"));
        }
    }
    expected.push_str("221 2.0.0 Bye\r\n");
    assert_eq!(after_ehlo(&r), expected);
}

/// Runs `input` with every decision given only after the next piece of input arrived
/// (the caller answers late): the output is the same as deciding at once.
#[test]
fn late_decisions_keep_command_order() {
    let input = format!(
        "{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n"
    );
    let policy = |e: &Event| match e {
        Event::RcptTo { to, .. } if to.to_string().contains("c@") => {
            Decision::Reply(Reply::new(450, None, "later"))
        }
        _ => Decision::Default,
    };
    let at_once = run(config(), input.as_bytes(), policy);
    let mut server = Server::new(config(), t0());
    let mut out = Vec::new();
    let mut held: Option<Event> = None;
    for piece in input.as_bytes().chunks(5) {
        loop {
            if let Some(e) = held.take() {
                // More input arrived since this event; decide now.
                server.receive(t0(), &[]);
                server.decide(policy(&e));
            }
            match server.poll_event() {
                Some(e) if e.needs_decision() => {
                    held = Some(e);
                    break;
                }
                Some(_) => continue,
                None => break,
            }
        }
        server.receive(t0(), piece);
    }
    while held.is_some() || server.is_decision_pending() {
        if let Some(e) = held.take() {
            server.decide(policy(&e));
        }
        match server.poll_event() {
            Some(e) if e.needs_decision() => held = Some(e),
            Some(_) | None => {}
        }
    }
    while let Some(e) = server.poll_event() {
        if e.needs_decision() {
            server.decide(policy(&e));
        }
    }
    server.transmit_into(&mut out);
    assert_eq!(String::from_utf8(out).unwrap(), at_once.text());
    assert!(server.is_closed());
}

/// A second decision for the same event, or a decision with nothing pending, changes
/// nothing (no reply, no effect on the next event): [`Server::try_decide`] reports it.
#[test]
fn a_decision_without_a_pending_event_is_refused() {
    let input = format!("{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    let mut server = Server::new(config(), t0());
    server.receive(t0(), input.as_bytes());
    let mut out = Vec::new();
    while let Some(e) = server.poll_event() {
        if e.needs_decision() {
            assert_eq!(server.try_decide(Decision::Accept), Ok(()));
            // Given twice: refused, and the 250 already queued stays the only reply.
            assert_eq!(
                server.try_decide(Decision::Reply(Reply::new(550, None, "twice"))),
                Err(ehlo::server::DecisionError::NotPending)
            );
            server.decide(Decision::Reply(Reply::new(550, None, "twice")));
        }
    }
    assert_eq!(
        server.try_decide(Decision::Accept),
        Err(ehlo::server::DecisionError::NotPending)
    );
    server.transmit_into(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("twice"), "{text}");
    assert!(
        text.ends_with("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"),
        "{text}"
    );
}

/// Input after the session closed is discarded: no event, no reply, no buffered octets.
#[test]
fn input_after_close_is_discarded() {
    let mut server = Server::new(config(), t0());
    server.receive(t0(), b"QUIT\r\n");
    while let Some(e) = server.poll_event() {
        if e.needs_decision() {
            server.decide(Decision::Default);
        }
    }
    assert!(server.is_closed());
    let mut out = Vec::new();
    server.transmit_into(&mut out);
    server.receive(t0(), b"EHLO again\r\nMAIL FROM:<a@example.test>\r\n");
    assert_eq!(server.buffered_len(), 0);
    assert_eq!(server.poll_event(), None);
    assert_eq!(
        server.try_decide(Decision::Accept),
        Err(ehlo::server::DecisionError::NotPending)
    );
    assert_eq!(server.poll_transmit(), None);
}

/// Polls `server`, accepting what needs a decision, until an event `stop` matches; that
/// one is left undecided.
fn accept_until(server: &mut Server, stop: impl Fn(&Event) -> bool) {
    loop {
        match server.poll_event() {
            Some(e) if stop(&e) => return,
            Some(e) if e.needs_decision() => server.decide(Decision::Accept),
            Some(_) => {}
            None => panic!("the event never came"),
        }
    }
}

/// Polling again without deciding answers nothing (documented on [`Event`]): the machine
/// waits for the caller, and only an explicit [`Decision::Default`] applies the default.
#[test]
fn polling_without_deciding_answers_nothing() {
    let input = format!("{EHLO}MAIL FROM:<a@example.test>\r\nVRFY x\r\n");
    let r = run(config(), input.as_bytes(), |_| Decision::Default);
    let mut server = Server::new(config(), t0());
    server.receive(t0(), input.as_bytes());
    let mut out = Vec::new();
    let mut events = 0;
    while let Some(e) = server.poll_event() {
        events += 1;
        assert!(e.needs_decision(), "{e:?}");
        // However often the caller polls, nothing is processed or answered.
        assert_eq!(server.poll_event(), None);
        assert_eq!(server.poll_event(), None);
        assert!(server.is_decision_pending());
        assert_eq!(server.transmit_into(&mut out), 0);
        server.decide(Decision::Default);
        server.transmit_into(&mut out);
    }
    assert_eq!(events, 4); // Connect, Ehlo, MailFrom, Vrfy
    assert_eq!(String::from_utf8(out).unwrap(), r.text());
}

/// A message whose decision never comes is never acknowledged: polling does not accept
/// it, and the wait ends in the timeout's `421 4.4.2` (RFC 5321 4.5.3.2.6), so the client
/// keeps the message and tries again.
#[test]
fn a_forgotten_message_decision_times_out_instead_of_accepting() {
    let mut server = Server::new(config(), t0());
    let input = format!(
        "{EHLO}MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\n"
    );
    server.receive(t0(), input.as_bytes());
    let mut out = Vec::new();
    accept_until(&mut server, |e| matches!(e, Event::MessageEnd { .. }));
    // The caller stores the message elsewhere and keeps polling, as a select loop would.
    for _ in 0..3 {
        assert_eq!(server.poll_event(), None);
        server.receive(t0(), b"NOOP\r\n");
    }
    server.transmit_into(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with("354 Start mail input; end with <CRLF>.<CRLF>\r\n"),
        "{text}"
    );
    let deadline = server.poll_timeout().unwrap();
    server.handle_timeout(deadline);
    let mut out = Vec::new();
    server.transmit_into(&mut out);
    assert!(String::from_utf8(out)
        .unwrap()
        .ends_with("421 4.4.2 Timeout exceeded, closing connection\r\n"));
    assert!(server.is_closed());
}

/// A decision's wait counts from when it was asked: a client that trickles a byte now and
/// then (or pipelines more commands) does not keep a forgotten decision alive.
#[test]
fn client_input_does_not_stretch_a_decision_wait() {
    use std::time::Duration;
    let mut server = Server::new(config(), t0());
    server.receive(
        t0(),
        format!("{EHLO}MAIL FROM:<a@example.test>\r\n").as_bytes(),
    );
    accept_until(&mut server, |e| matches!(e, Event::MailFrom { .. }));
    let deadline = server.poll_timeout().unwrap();
    assert_eq!(deadline, t0() + Duration::from_secs(300));
    for minute in 1..=4 {
        server.receive(t0() + Duration::from_secs(60 * minute), b"N");
        assert_eq!(server.poll_timeout(), Some(deadline));
    }
    server.handle_timeout(deadline);
    let mut out = Vec::new();
    server.transmit_into(&mut out);
    assert!(
        String::from_utf8(out)
            .unwrap()
            .ends_with("421 4.4.2 mx.example.test Timeout, closing connection\r\n")
            || server.is_closed()
    );
    assert!(server.is_closed());
}

/// A SASL decision to an event other than AUTH does not fit: it is refused with
/// `DecisionError::Mismatch`, nothing is sent, and the event still waits; an
/// `AuthFailure` meant for a sender never becomes that sender's acceptance.
#[test]
fn a_sasl_decision_to_another_event_is_refused_and_the_event_waits() {
    use ehlo::server::DecisionError;
    let mut server = Server::new(config(), t0());
    server.receive(
        t0(),
        format!("{EHLO}MAIL FROM:<a@example.test>\r\n").as_bytes(),
    );
    let mut out = Vec::new();
    accept_until(&mut server, |e| matches!(e, Event::MailFrom { .. }));
    server.transmit_into(&mut out);
    out.clear();
    for d in [
        Decision::AuthFailure,
        Decision::AuthTemporaryFailure,
        Decision::AuthSuccess {
            identity: "x".into(),
        },
        Decision::AuthChallenge(b"x".to_vec()),
        Decision::AuthChallengeText("x".into()),
    ] {
        assert_eq!(
            server.try_decide(d.clone()),
            Err(DecisionError::Mismatch),
            "{d:?}"
        );
        server.decide(d);
        assert!(server.is_decision_pending());
        assert_eq!(server.transmit_into(&mut out), 0);
    }
    server.decide(Decision::Reply(Reply::new(
        550,
        Some(EnhancedCode::new(5, 7, 1)),
        "No",
    )));
    server.transmit_into(&mut out);
    assert_eq!(String::from_utf8(out).unwrap(), "550 5.7.1 No\r\n");
}

// ---- what the caller's replies become on the wire ----

fn reply_to_mail(code: u16, enhanced: Option<EnhancedCode>) -> String {
    let input = format!("{EHLO}MAIL FROM:<a@example.test>\r\n");
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::MailFrom { .. } => Decision::Reply(Reply::new(code, enhanced, "odd")),
        _ => Decision::Default,
    });
    assert_well_formed(&r.out);
    after_ehlo(&r)
}

fn reply_to_unknown(code: u16) -> String {
    let input = format!("{EHLO}FOO\r\n");
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::Unknown { .. } => Decision::Reply(Reply::new(code, None, "odd")),
        _ => Decision::Default,
    });
    assert_well_formed(&r.out);
    after_ehlo(&r)
}

/// A code outside 2xx-5xx goes out as `554` (RFC 5321 4.2.1: such a code is a permanent
/// failure to the client), and then, with ENHANCEDSTATUSCODES advertised, with `5.0.0`
/// as every other `5xx` (RFC 2034 section 3).
#[test]
fn an_out_of_range_code_is_a_554_with_an_enhanced_code() {
    for code in [0u16, 100, 199, 600, 999, 1000] {
        assert_eq!(reply_to_mail(code, None), "554 5.0.0 odd\r\n", "{code}");
        assert_eq!(
            reply_to_mail(code, Some(EnhancedCode::new(5, 7, 1))),
            "554 5.7.1 odd\r\n",
            "{code}"
        );
    }
}

/// RFC 5321 4.2: `Reply-code = %x32-35 %x30-35 %x30-39`. A caller's code whose second
/// digit is 6 to 9 keeps its class and third digit and goes out with the second digit 5
/// ("mail system", the generic category of 4.2.1).
#[test]
fn a_code_outside_the_reply_code_grammar_is_made_grammatical() {
    assert_eq!(reply_to_mail(470, None), "450 4.0.0 odd\r\n");
    assert_eq!(reply_to_mail(599, None), "559 5.0.0 odd\r\n");
    assert_eq!(
        reply_to_mail(590, Some(EnhancedCode::new(5, 1, 8))),
        "550 5.1.8 odd\r\n"
    );
    // 260 is 250, which MAIL takes; 299 is 259, which it cannot: the standard reply.
    assert_eq!(reply_to_mail(260, None), "250 2.0.0 odd\r\n");
    assert_eq!(reply_to_mail(299, None), "250 2.1.0 Sender OK\r\n");
    assert_eq!(reply_to_unknown(260), "250 2.0.0 odd\r\n");
    assert_eq!(reply_to_unknown(299), "259 2.0.0 odd\r\n");
    assert_eq!(reply_to_unknown(480), "450 4.0.0 odd\r\n");
}

/// A `Decision::Close` with an out-of-grammar code still closes with a negative reply.
#[test]
fn close_with_an_out_of_grammar_code() {
    let input = format!("{EHLO}MAIL FROM:<a@example.test>\r\nNOOP\r\n");
    for (code, line) in [
        (470u16, "450 4.0.0 bye\r\n"),
        (
            999,
            "421 4.3.0 Service not available, closing transmission channel\r\n",
        ),
        (
            100,
            "421 4.3.0 Service not available, closing transmission channel\r\n",
        ),
    ] {
        let r = run(config(), input.as_bytes(), |e| match e {
            Event::MailFrom { .. } => Decision::Close(Reply::new(code, None, "bye")),
            _ => Decision::Default,
        });
        assert_eq!(after_ehlo(&r), line, "{code}");
        assert!(r.closed);
    }
}

/// The enhanced code of a caller's reply whose class disagrees with the reply code (RFC
/// 3463 section 3) is replaced by the class's `X.0.0`; without ENHANCEDSTATUSCODES none
/// is written at all.
#[test]
fn an_enhanced_code_of_another_class_is_replaced() {
    assert_eq!(
        reply_to_mail(550, Some(EnhancedCode::new(2, 1, 0))),
        "550 5.0.0 odd\r\n"
    );
    assert_eq!(
        reply_to_mail(450, Some(EnhancedCode::new(5, 1, 0))),
        "450 4.0.0 odd\r\n"
    );
    assert_eq!(
        reply_to_mail(550, Some(EnhancedCode::new(9, 1, 0))),
        "550 5.0.0 odd\r\n"
    );
    let mut c = config();
    c.extensions.enhanced_status_codes = false;
    let input = format!("{EHLO}MAIL FROM:<a@example.test>\r\n");
    let r = run(c, input.as_bytes(), |e| match e {
        Event::MailFrom { .. } => {
            Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "no"))
        }
        _ => Decision::Default,
    });
    assert!(
        r.text().ends_with("\r\n250 CHUNKING\r\n550 no\r\n"),
        "{}",
        r.text()
    );
}

/// Reply text with CR, LF and other controls, and text past 512 octets: the lines are
/// all well formed, of the caller's code, and none is a reply of its own.
#[test]
fn caller_text_cannot_inject_or_overflow_a_line() {
    let text = format!("a\r\n250 2.1.0 fake\rb\nc\0d\x1b{}", "x".repeat(1200));
    let input = format!("{EHLO}MAIL FROM:<a@example.test>\r\nQUIT\r\n");
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::MailFrom { .. } => Decision::Reply(Reply::new(550, None, text.clone())),
        _ => Decision::Default,
    });
    assert_well_formed(&r.out);
    let out = after_ehlo(&r);
    let lines: Vec<&str> = out.split_inclusive("\r\n").collect();
    let (last, rest) = lines.split_last().unwrap();
    assert_eq!(*last, "221 2.0.0 Bye\r\n");
    let (final_550, continuation) = rest.split_last().unwrap();
    assert!(final_550.starts_with("550 5.0.0 "), "{out}");
    for l in continuation {
        assert!(l.starts_with("550-5.0.0 "), "{out}");
    }
    assert_eq!(continuation[0], "550-5.0.0 a\r\n");
    assert_eq!(continuation[1], "550-5.0.0 250 2.1.0 fake b\r\n");
}

// ---- AUTH replies ----

fn custom_auth() -> ServerConfig {
    let mut c = config();
    c.auth.mechanisms = vec![Mechanism::new("X-CUSTOM")];
    c.auth.allow_plaintext_without_tls = true;
    c
}

fn auth_transcript(decision: Decision, client: &str) -> (String, Vec<&'static str>) {
    let input = format!("{EHLO}AUTH X-CUSTOM\r\n{client}");
    let mut first = Some(decision);
    let r = run(custom_auth(), input.as_bytes(), |e| match e {
        Event::AuthStart { .. } => first.take().unwrap(),
        Event::AuthResponse { data, .. } if data == b"abc" => Decision::AuthSuccess {
            identity: "u".into(),
        },
        _ => Decision::Default,
    });
    assert_well_formed(&r.out);
    let text = r.text();
    let start = text.find("250 CHUNKING\r\n").unwrap() + "250 CHUNKING\r\n".len();
    (text[start..].to_string(), r.kinds())
}

/// RFC 4954 section 4: `334` is the one intermediate reply of an AUTH exchange. Another
/// `3xx` from the caller (a `354`, a `300`) used to go out as given while the exchange
/// ended: the client was told to go on, and its next line was read as a command. It is
/// now the `334` challenge with the reply's first line, and the exchange goes on.
#[test]
fn another_3xx_to_auth_is_a_334_challenge() {
    for code in [300u16, 354, 399] {
        let (out, kinds) = auth_transcript(
            Decision::Reply(Reply::new(code, None, "Y2hhbA==\nmore")),
            "YWJj\r\n",
        );
        assert_eq!(
            out, "334 Y2hhbA==\r\n235 2.7.0 Authentication successful\r\n",
            "{code}"
        );
        assert_eq!(kinds, ["Connect", "Ehlo", "AuthStart", "AuthResponse"]);
    }
}

/// A challenge's text is one `334` line: CR and LF are dropped (as before) and other
/// control characters become spaces, as in every other reply (RFC 5321 4.2 textstring;
/// RFC 4954 section 4 `continue-req = "334" SP [base64] CRLF`).
#[test]
fn challenge_text_carries_no_control_characters() {
    use std::borrow::Cow;
    let (out, _) = auth_transcript(
        Decision::AuthChallengeText(Cow::Borrowed("a\0b\x1bc\rd\ne\x7ff\tg")),
        "",
    );
    assert_eq!(out, "334 a b cde f\tg\r\n");
    let (out, _) = auth_transcript(Decision::Reply(Reply::new(334, None, "x\0y")), "");
    assert_eq!(out, "334 x y\r\n");
}

// ---- the caller's loop of the module documentation, followed literally ----

/// The peer of [`literal_loop`]: a real `Client` behind an in-memory "socket". `read`
/// returns what the client has written, `None` when a real read would block (the client
/// waits for the server). TLS is simulated: both sides call `tls_established` at the
/// handshake point.
struct Peer {
    client: ehlo::client::Client,
    now: std::time::Instant,
    events: Vec<ehlo::client::Event>,
    wire: Vec<u8>,
}

impl Peer {
    fn write(&mut self, bytes: &[u8]) {
        self.wire.extend_from_slice(bytes);
        self.client.receive(bytes);
    }

    fn read(&mut self) -> Option<Vec<u8>> {
        while let Some(event) = self.client.poll_event() {
            if matches!(event, ehlo::client::Event::StartTls { .. }) {
                self.client.tls_established().unwrap();
            }
            self.events.push(event);
        }
        let mut out = Vec::new();
        while let Some(b) = self.client.poll_transmit(self.now) {
            out.extend_from_slice(&b);
        }
        (!out.is_empty()).then_some(out)
    }
}

/// Steps 1 to 7 of "The caller's loop" in `ehlo::server`, in that order, with STARTTLS,
/// AUTH PLAIN run by the machine (`builtin_exchanges`), a message, and an idle client the
/// server times out (the client sends no QUIT). A real read blocks when the client has
/// nothing to say; here that is a deadlock, unless a timeout is due. The loop used to be
/// documented with the read (step 2) before the first drain of the events: followed
/// literally, the server waited for the client's first line while the client waited for
/// the greeting, which only the `Connect` event's decision produces.
#[test]
fn the_documented_loop_works_as_written() {
    use ehlo::client::{Client, ClientConfig, Credentials, Envelope, TlsPolicy};
    use std::time::Instant;

    let t0 = Instant::now();
    let mut config = ServerConfig::new("mx.example.test");
    config.extensions.starttls = true;
    config.auth.mechanisms = vec![Mechanism::new("PLAIN")];
    config.auth.builtin_exchanges = true;
    config.auth.require_auth = true;
    let mut cconfig = ClientConfig::new("client.example.test");
    cconfig.tls = TlsPolicy::Required;
    cconfig.credentials = Some(Credentials::Password {
        authzid: None,
        username: "alice".into(),
        password: "s3cret".into(),
    });
    let mut peer = Peer {
        client: Client::new(cconfig, t0),
        now: t0,
        events: Vec::new(),
        wire: Vec::new(),
    };
    let envelope = Envelope::new("alice@example.test")
        .unwrap()
        .recipient("bob@example.test")
        .unwrap();
    peer.client
        .send(envelope, "Subject: hi\r\n\r\nHello\r\n")
        .unwrap();

    let mut now = t0;
    // 1.
    let mut server = Server::new(std::sync::Arc::new(config), now);
    let mut message = Vec::new();
    let mut stored = Vec::new();
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 100, "the loop does not end");
        // 2. Drain the events, answering those that need a decision (the first,
        // Connect, before any input: the client waits for the greeting).
        while let Some(event) = server.poll_event() {
            let decision = match &event {
                Event::MessageChunk(b) => {
                    message.extend_from_slice(b);
                    continue;
                }
                Event::MessageAborted(_) | Event::Reset => {
                    message.clear();
                    continue;
                }
                // 6. STARTTLS: write the 220, run the handshake, tell the machine.
                Event::TlsUpgrade => {
                    while let Some(bytes) = server.poll_transmit() {
                        peer.write(&bytes);
                    }
                    server.tls_established().unwrap();
                    continue;
                }
                // 7. AUTH with the built-in exchange: verify the credentials.
                Event::AuthVerify { credentials, .. } => match credentials {
                    ehlo::sasl::Credentials::Plain {
                        authcid, password, ..
                    } if authcid == "alice" && password == "s3cret" => Decision::AuthSuccess {
                        identity: authcid.clone(),
                    },
                    _ => Decision::AuthFailure,
                },
                Event::MessageEnd { .. } => {
                    stored.push(std::mem::take(&mut message));
                    Decision::Accept
                }
                e if !e.needs_decision() => continue,
                _ => Decision::Default,
            };
            server.decide(decision);
        }
        // 3. Write every transmit, in order.
        while let Some(bytes) = server.poll_transmit() {
            peer.write(&bytes);
        }
        // 4. Closed: the remaining transmits are written; close the connection.
        if server.is_closed() {
            break;
        }
        // 5. Read and hand every byte to the machine; a read waits until the deadline at
        // most, then the timeout is handled.
        match peer.read() {
            Some(bytes) => server.receive(now, &bytes),
            None => {
                let deadline = server.poll_timeout().expect("a deadline while open");
                assert!(
                    peer.wire.starts_with(b"220 "),
                    "deadlock: the client waits for the greeting, the loop for the client"
                );
                now = deadline;
                peer.now = now;
                server.handle_timeout(now);
            }
        }
    }
    assert_eq!(stored, [b"Subject: hi\r\n\r\nHello\r\n".to_vec()]);
    assert_eq!(server.authenticated(), Some("alice"));
    let wire = String::from_utf8(peer.wire).unwrap();
    assert!(wire.contains("220 2.0.0 Ready to start TLS\r\n"), "{wire}");
    assert!(
        wire.contains("235 2.7.0 Authentication successful\r\n"),
        "{wire}"
    );
    assert!(wire.contains("250 2.0.0 Message accepted\r\n"), "{wire}");
    assert!(
        wire.ends_with("421 4.4.2 Timeout exceeded, closing connection\r\n"),
        "{wire}"
    );
}

/// A host name or greeting with line breaks stays within its reply: lines of the same
/// code in the greeting and the HELO reply, spaces in the EHLO reply's first line (no
/// keyword can be added through it).
#[test]
fn hostname_and_greeting_cannot_add_replies_or_keywords() {
    let mut c = config();
    c.hostname = "mx\r\nAUTH PLAIN".into();
    c.greeting = "hi\r\n554 no\0".into();
    let r = run(c, format!("{EHLO}HELO x\r\n").as_bytes(), defaults);
    assert_well_formed(&r.out);
    assert_eq!(
        r.text(),
        "220-mx\r\n220-AUTH PLAIN hi\r\n220 554 no \r\n\
         250-mx  AUTH PLAIN Hello client.example.test\r\n250-SIZE 10485760\r\n\
         250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n\
         250-BINARYMIME\r\n250 CHUNKING\r\n250-mx\r\n250 AUTH PLAIN\r\n"
    );
}

/// `Event::Connect`: a refusal other than `421` (the `554` of RFC 5321 3.1, or a `450`)
/// leaves a session that serves only QUIT; a `421` reply closes at once, as
/// `Decision::Close` does.
#[test]
fn a_refused_connect_serves_only_quit_and_a_421_closes_at_once() {
    for code in [554u16, 450] {
        let r = run(config(), b"EHLO c\r\nNOOP\r\nQUIT\r\n", |e| match e {
            Event::Connect => Decision::Reply(Reply::new(code, None, "No service")),
            _ => Decision::Default,
        });
        assert_eq!(
            r.text(),
            format!(
                "{code} No service\r\n\
                 503 5.5.1 Bad sequence of commands: only QUIT is accepted\r\n\
                 503 5.5.1 Bad sequence of commands: only QUIT is accepted\r\n\
                 221 2.0.0 Bye\r\n"
            )
        );
        assert_eq!(r.kinds(), ["Connect", "Quit"]);
    }
    for decision in [
        Decision::Reply(Reply::new(421, None, "Busy")),
        Decision::Close(Reply::new(421, None, "Busy")),
    ] {
        let mut first = Some(decision);
        let r = run(config(), b"EHLO c\r\n", |_| first.take().unwrap());
        assert_eq!(r.text(), "421 Busy\r\n");
        assert_eq!(r.kinds(), ["Connect"]);
        assert!(r.closed);
    }
}

/// `Event::Ehlo`: a caller's `250` keeps the capability lines; the first line of its text
/// replaces the `<host> Hello <domain>` line, and its other lines and its enhanced code are
/// dropped (RFC 2034 section 3: the EHLO reply carries none).
#[test]
fn a_250_reply_to_ehlo_replaces_only_the_first_line() {
    let r = run(config(), EHLO.as_bytes(), |e| match e {
        Event::Ehlo { .. } => Decision::Reply(Reply::new(
            250,
            Some(EnhancedCode::new(2, 1, 0)),
            "mx.example.test at your service\nsecond line",
        )),
        _ => Decision::Default,
    });
    let expected = EHLO_DEFAULT.replace(
        "mx.example.test Hello client.example.test",
        "mx.example.test at your service",
    );
    assert_eq!(r.text(), format!("{GREETING}{expected}"));
}

/// What `Decision::Accept` and `Decision::Default` send to the events whose default is not
/// acceptance (VRFY, EXPN, ETRN, unknown and Exchange verbs), and which defaults count as
/// protocol errors (`limits.max_errors`).
#[test]
fn accept_and_default_of_the_query_and_unknown_verbs() {
    let mut c = config();
    c.extensions.etrn = true;
    c.exchange.link2state = true;
    let input = format!("{EHLO}VRFY x\r\nEXPN y\r\nETRN example.test\r\nFOO\r\nX-LINK2STATE a\r\n");
    let r = run(c.clone(), input.as_bytes(), |_| Decision::Accept);
    assert!(
        r.text().ends_with(
            "\r\n252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n\
             252 2.5.0 Cannot EXPN list\r\n\
             250 2.0.0 Queuing started\r\n\
             250 2.0.0 OK\r\n\
             250 2.0.0 OK\r\n"
        ),
        "{}",
        r.text()
    );
    let r = run(c.clone(), input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            "\r\n252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n\
             502 5.5.1 EXPN not available\r\n\
             458 4.5.0 Unable to queue messages for node\r\n\
             500 5.5.1 Command unrecognized\r\n\
             500 5.5.1 Command unrecognized\r\n"
        ),
        "{}",
        r.text()
    );
    // The defaults of the unknown and Exchange verbs count as errors; the caller's own
    // refusal does not.
    c.limits.max_errors = 2;
    let input = format!("{EHLO}FOO\r\nX-LINK2STATE a\r\nNOOP\r\n");
    let r = run(c.clone(), input.as_bytes(), defaults);
    assert!(r.text().ends_with(
        "500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors, closing connection\r\n"
    ));
    assert!(r.closed);
    let r = run(c, input.as_bytes(), |e| match e {
        Event::Unknown { .. } | Event::Exchange { .. } => {
            Decision::Reply(Reply::new(500, Some(EnhancedCode::new(5, 5, 1)), "No"))
        }
        _ => Decision::Default,
    });
    assert!(
        r.text()
            .ends_with("500 5.5.1 No\r\n500 5.5.1 No\r\n250 2.0.0 OK\r\n"),
        "{}",
        r.text()
    );
    assert!(!r.closed);
}

/// `Server::pending_output_len`: the octets `poll_transmit` has yet to hand out.
#[test]
fn pending_output_len_counts_what_poll_transmit_hands_out() {
    let mut s = Server::new(config(), t0());
    assert_eq!(s.pending_output_len(), 0);
    assert_eq!(s.poll_event(), Some(Event::Connect));
    s.accept();
    assert_eq!(s.pending_output_len(), GREETING.len());
    s.receive(t0(), b"NOOP\r\nNOOP\r\n");
    assert_eq!(s.poll_event(), None);
    assert_eq!(
        s.pending_output_len(),
        GREETING.len() + 2 * "250 2.0.0 OK\r\n".len()
    );
    let mut handed = 0;
    while let Some(b) = s.poll_transmit() {
        handed += b.len();
    }
    assert_eq!(handed, GREETING.len() + 28);
    assert_eq!(s.pending_output_len(), 0);
}
