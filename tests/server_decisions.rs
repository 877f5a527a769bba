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
    while server.poll_event().is_some() {}
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

/// Polling again without deciding applies the default to the pending event (documented
/// on [`Event`]); a decision given after that belongs to the next event, if that one
/// needs one.
#[test]
fn polling_without_deciding_applies_the_default() {
    let input = format!("{EHLO}MAIL FROM:<a@example.test>\r\nVRFY x\r\n");
    let r = run(config(), input.as_bytes(), |_| Decision::Default);
    let mut server = Server::new(config(), t0());
    server.receive(t0(), input.as_bytes());
    while server.poll_event().is_some() {}
    let mut out = Vec::new();
    server.transmit_into(&mut out);
    assert_eq!(String::from_utf8(out).unwrap(), r.text());
}
