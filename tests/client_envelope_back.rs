//! The envelope given to `Client::send` comes back, unchanged, in the message's
//! `Event::MessageResult`: after a delivery, a partial or a whole refusal, a lost session,
//! and for a message refused before anything was sent or never started. A caller keeps no
//! copy of its own, also to build the next transaction with `Envelope::deferred`.

mod client_support;

use client_support::*;
use ehlo::client::{
    BodyType, CloseReason, Envelope, Event, Extension, MessageError, MessageId, RecipientStatus,
    UsageError,
};
use ehlo::syntax::param::{Notify, Ret};
use ehlo::Reply;
use std::time::Duration;

/// An envelope with everything set the client may send (DSN parameters), so that any
/// change to it on the way would show.
fn rich(rcpts: &[&str]) -> Envelope {
    let mut e = Envelope::new("sender@example.test").unwrap();
    for r in rcpts {
        e.add_recipient(r).unwrap();
    }
    e.ret = Some(Ret::Headers);
    e.envid = Some("QQ314159".into());
    if let Some(first) = e.recipients.first_mut() {
        first.notify = Some(Notify {
            success: true,
            failure: true,
            ..Notify::default()
        });
    }
    e
}

type Outcome = (Result<Reply, MessageError>, Vec<RecipientStatus>, Envelope);

/// The result of message `id` in `ev` (exactly one).
#[track_caller]
fn result_of(ev: &[Event], id: MessageId) -> Outcome {
    let mut found: Vec<Outcome> = ev
        .iter()
        .filter_map(|e| match e {
            Event::MessageResult {
                message,
                result,
                recipients,
                envelope,
            } if *message == id => Some((result.clone(), recipients.clone(), envelope.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "{ev:?}");
    found.remove(0)
}

const BC: [&str; 2] = ["b@example.test", "c@example.test"];

/// A session with `caps` for one message to `rcpts`, the server answering each flight
/// of the client with the next of `replies`; the envelope sent and the message's result.
fn answered(caps: &[&str], rcpts: &[&str], replies: &[&str]) -> (T, Envelope, Outcome) {
    let mut t = T::plain();
    let sent = rich(rcpts);
    let id = t.c.send(sent.clone(), "Subject: x\r\n\r\nhi\r\n").unwrap();
    t.hello(caps);
    for reply in replies {
        t.sent();
        t.server(reply);
    }
    let outcome = result_of(&t.events(), id);
    (t, sent, outcome)
}

#[test]
fn delivered() {
    let (_, sent, (result, recipients, envelope)) = answered(
        &["PIPELINING", "DSN"],
        &BC,
        &[
            "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n",
            "250 2.0.0 queued\r\n",
        ],
    );
    assert_eq!(result.unwrap().code.0, 250);
    assert_eq!(envelope, sent);
    // The statuses index into it.
    let accepted: Vec<String> = recipients
        .iter()
        .filter(|s| s.accepted())
        .map(|s| envelope.recipients[s.index].path.to_string())
        .collect();
    assert_eq!(accepted, ["<b@example.test>", "<c@example.test>"]);
}

#[test]
fn partly_refused_and_the_rest_sent_again_from_the_returned_envelope() {
    let (mut t, sent, (result, recipients, envelope)) = answered(
        &["PIPELINING"],
        &["b@example.test", "c@example.test", "d@example.test"],
        &[
            "250 ok\r\n550 5.1.1 no such user\r\n452 4.5.3 too many recipients\r\n250 ok\r\n354 go\r\n",
            "250 2.0.0 queued\r\n",
        ],
    );
    assert!(result.is_ok());
    assert_eq!(envelope, sent);
    // The retry is built from the envelope the result gave back, and moved in as well.
    let (again, indices) = envelope.deferred(&recipients).unwrap();
    assert_eq!(indices, [1]);
    let expected = again.clone();
    let id = t.c.send(again, "hi\r\n").unwrap();
    assert_eq!(
        t.sent(),
        "MAIL FROM:<sender@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n"
    );
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.sent();
    t.server("250 2.0.0 queued\r\n");
    let (result, _, envelope) = result_of(&t.events(), id);
    assert!(result.is_ok());
    assert_eq!(envelope, expected);
}

/// The server refuses the sender, every recipient, or the content.
#[test]
fn refused_by_the_server() {
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["PIPELINING"],
            &["550 5.7.1 sender refused\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n554 5.5.1 no valid recipients\r\n"],
        ),
        // Without PIPELINING: MAIL, then each RCPT alone.
        (&[], &["250 ok\r\n", "550 no\r\n", "550 no\r\n"]),
        (
            &["PIPELINING"],
            &["250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n", "554 5.6.0 content rejected\r\n"],
        ),
    ];
    for (i, (caps, replies)) in cases.into_iter().enumerate() {
        let (_, sent, (result, _, envelope)) = answered(caps, &BC, replies);
        let expected = match i {
            0 => matches!(result, Err(MessageError::SenderRejected(_))),
            1 => result == Err(MessageError::NoValidRecipients),
            _ => matches!(result, Err(MessageError::Rejected(_))),
        };
        assert!(expected, "{i}: {result:?}");
        assert_eq!(envelope, sent, "{i}");
    }
}

/// The session ends in the middle of a transaction (the peer closes, a `421`, a reply
/// timeout): the message in flight and those queued behind it get their envelopes back.
#[test]
fn session_lost() {
    for how in ["peer closed", "421", "timeout"] {
        let mut t = T::plain();
        let first = rich(&BC);
        let second = rich(&["d@example.test"]);
        let a = t.c.send(first.clone(), "one\r\n").unwrap();
        let b = t.c.send(second.clone(), "two\r\n").unwrap();
        t.hello(&["PIPELINING"]);
        t.sent();
        t.server("250 ok\r\n250 ok\r\n");
        match how {
            "peer closed" => t.c.peer_closed(),
            "421" => t.server("421 4.3.2 shutting down\r\n"),
            _ => {
                // The time the last reply arrived starts the next reply's timer.
                t.c.handle_timeout(t.now);
                t.advance(Duration::from_secs(3600));
                t.c.handle_timeout(t.now);
            }
        }
        assert!(t.c.is_closed(), "{how}");
        let ev = t.events();
        let (result, _, envelope) = result_of(&ev, a);
        assert!(
            matches!(result, Err(MessageError::SessionClosed(_))),
            "{how}"
        );
        assert_eq!(envelope, first, "{how}");
        let (result, recipients, envelope) = result_of(&ev, b);
        assert!(
            matches!(result, Err(MessageError::SessionClosed(_))),
            "{how}"
        );
        assert_eq!(recipients.len(), 1);
        assert_eq!(envelope, second, "{how}");
    }
}

/// Messages queued before the session could start: the greeting refused, TLS or AUTH
/// unavailable.
#[test]
fn never_started() {
    let mut t = T::plain();
    let sent = rich(&BC);
    let id = t.c.send(sent.clone(), "hi\r\n").unwrap();
    t.server("554 5.3.2 no service\r\n");
    let (result, _, envelope) = result_of(&t.events(), id);
    assert!(matches!(
        result,
        Err(MessageError::SessionClosed(CloseReason::GreetingRefused(_)))
    ));
    assert_eq!(envelope, sent);

    let mut config = ehlo::client::ClientConfig::new("client.example.test");
    config.tls = ehlo::client::TlsPolicy::Required;
    let mut t = T::new(config);
    let id = t.c.send(sent.clone(), "hi\r\n").unwrap();
    t.hello(&["PIPELINING"]);
    let (result, _, envelope) = result_of(&t.events(), id);
    assert!(matches!(
        result,
        Err(MessageError::SessionClosed(CloseReason::TlsUnavailable(_)))
    ));
    assert_eq!(envelope, sent);
}

/// Refused before anything of the transaction is sent: too large (RFC 1870), an extension
/// the server lacks, no recipients, a malformed parameter, one transaction too many
/// (RFC 9422 MAILMAX), a streamed body that breaks its declared type.
#[test]
fn refused_before_sending() {
    let check = |caps: &[&str], envelope: Envelope, body: &str, want: MessageError| {
        let mut t = T::plain();
        t.hello(caps);
        t.events();
        let id = t.c.send(envelope.clone(), body.to_string()).unwrap();
        t.expect("");
        let (result, recipients, back) = result_of(&t.events(), id);
        assert_eq!(result, Err(want.clone()));
        assert_eq!(recipients.len(), envelope.recipients.len());
        assert_eq!(back, envelope, "{want:?}");
    };
    check(
        &["SIZE 10"],
        rich(&BC),
        "a body longer than ten octets\r\n",
        MessageError::TooLarge {
            size: 31,
            limit: 10,
        },
    );
    check(
        &["PIPELINING"],
        rich(&["b\u{e9}b@example.test"]),
        "hi\r\n",
        MessageError::Unsupported(Extension::SmtpUtf8),
    );
    check(
        &["PIPELINING"],
        Envelope::new("sender@example.test").unwrap(),
        "hi\r\n",
        MessageError::NoRecipients,
    );
    let mut bad = rich(&BC);
    bad.recipients[1].notify = Some(Notify::default()); // NOTIFY= with nothing in it
    check(
        &["PIPELINING", "DSN"],
        bad,
        "hi\r\n",
        MessageError::InvalidEnvelope,
    );

    // MAILMAX=1: the second message is refused once the first is done.
    let mut t = T::plain();
    t.hello(&["PIPELINING", "LIMITS MAILMAX=1"]);
    let second = rich(&["d@example.test"]);
    t.c.send(rich(&BC), "one\r\n").unwrap();
    let id = t.c.send(second.clone(), "two\r\n").unwrap();
    t.sent();
    t.server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    t.sent();
    t.server("250 queued\r\n");
    let (result, _, envelope) = result_of(&t.events(), id);
    assert_eq!(result, Err(MessageError::TransactionLimit { limit: 1 }));
    assert_eq!(envelope, second);

    // A streamed body that breaks its declared type aborts the message.
    let (mut t, id) = streamed(&["PIPELINING"], BodyType::SevenBit, None);
    t.sent();
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(
        t.c.push_body(id, bytes("bare\nlf")),
        Err(UsageError::BodyTypeViolation)
    );
    let (result, _, envelope) = result_of(&t.events(), id);
    assert_eq!(result, Err(MessageError::BodyTypeViolation));
    assert_eq!(envelope, env(&["b@example.test"]));
}
