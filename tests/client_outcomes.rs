//! `RecipientStatus::outcome`: what a mail queue does next with each recipient, from
//! whole scripted sessions (RFC 5321 4.2.1, 6.1).

mod client_support;

use client_support::*;
use ehlo::client::{Event, MessageError, Outcome, RecipientStatus};
use ehlo::Reply;

/// The outcomes of the only message of the session.
fn outcomes(ev: &[Event]) -> Vec<Outcome> {
    let (result, recipients) = ev
        .iter()
        .find_map(|e| match e {
            Event::MessageResult {
                result, recipients, ..
            } => Some((result, recipients)),
            _ => None,
        })
        .expect("a MessageResult");
    recipients.iter().map(|r| r.outcome(result)).collect()
}

fn started(rcpts: &[&str], caps: &[&str]) -> T {
    let mut t = T::plain();
    t.c.send(env(rcpts), "Subject: x\r\n\r\nhi\r\n").unwrap();
    t.hello(caps);
    t
}

const ABC: [&str; 3] = ["a@example.test", "b@example.test", "c@example.test"];

#[test]
fn each_recipient_by_its_own_reply_then_by_the_message() {
    let mut t = started(&ABC, &["PIPELINING"]);
    t.sent();
    t.server(
        "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n450 4.2.1 mailbox busy\r\n354 go\r\n",
    );
    t.sent();
    t.server("250 2.0.0 queued\r\n");
    assert_eq!(
        outcomes(&t.events()),
        [Outcome::Delivered, Outcome::Failed, Outcome::Deferred]
    );
}

#[test]
fn the_content_refused_fails_or_defers_every_accepted_recipient() {
    for (last, want) in [
        ("554 5.6.0 content rejected\r\n", Outcome::Failed),
        ("451 4.3.0 try again\r\n", Outcome::Deferred),
    ] {
        let mut t = started(&ABC[..2], &["PIPELINING"]);
        t.sent();
        t.server("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go\r\n");
        t.sent();
        t.server(last);
        // The refused recipient stays failed whatever the message's fate.
        assert_eq!(outcomes(&t.events()), [want, Outcome::Failed], "{last}");
    }
}

#[test]
fn a_refused_sender_decides_for_every_recipient() {
    for (reply, want) in [
        ("550 5.7.1 sender refused\r\n", Outcome::Failed),
        ("451 4.7.1 greylisted\r\n", Outcome::Deferred),
    ] {
        let mut t = started(&ABC[..2], &[]);
        t.expect("MAIL FROM:<a@example.test>\r\n");
        t.server(reply);
        assert_eq!(outcomes(&t.events()), [want, want], "{reply}");
    }
}

#[test]
fn a_lost_session_after_the_content_defers() {
    let mut t = started(&ABC[..1], &["PIPELINING"]);
    t.sent();
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.sent();
    // The connection drops before the reply to the end of data (RFC 5321 6.1: the
    // message may be delivered twice, never lost).
    t.c.peer_closed();
    let ev = t.events();
    assert_eq!(outcomes(&ev), [Outcome::Deferred]);
}

#[test]
fn too_large_for_the_server_fails_before_anything_is_sent() {
    let mut t = started(&ABC[..1], &["SIZE 10"]);
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::MessageResult {
            result: Err(MessageError::TooLarge { .. }),
            ..
        }
    )));
    assert_eq!(outcomes(&ev), [Outcome::Failed]);
}

#[test]
fn recipients_held_back_under_limits_are_deferred() {
    let mut t = started(&ABC, &["PIPELINING", "LIMITS RCPTMAX=2"]);
    assert_eq!(
        t.sent(),
        "MAIL FROM:<a@example.test>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"
    );
    t.server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    t.sent();
    t.server("250 queued\r\n");
    assert_eq!(
        outcomes(&t.events()),
        [Outcome::Delivered, Outcome::Delivered, Outcome::Deferred]
    );
}

#[test]
fn an_unanswered_recipient_is_never_delivered() {
    let unanswered = RecipientStatus {
        index: 0,
        reply: None,
    };
    assert_eq!(
        unanswered.outcome(&Ok(Reply::new(250, None, "ok"))),
        Outcome::Deferred
    );
    assert_eq!(
        unanswered.outcome(&Err(MessageError::InvalidEnvelope)),
        Outcome::Failed
    );
}

#[test]
fn a_refused_sender_decides_over_the_pipelined_recipients_out_of_sequence_replies() {
    // RFC 2920 3.1 and RFC 5321 4.1.4: with PIPELINING the RCPTs sent behind a refused MAIL
    // are answered `503` (bad sequence), which says nothing about the recipients: a
    // greylisted sender (4xx) is retried later for all of them, never failed.
    for (mail, want) in [
        ("451 4.7.1 greylisted\r\n", Outcome::Deferred),
        ("550 5.7.1 sender refused\r\n", Outcome::Failed),
    ] {
        let mut t = started(&ABC[..2], &["PIPELINING"]);
        t.sent();
        t.server(mail);
        t.server("503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n");
        t.server("503 5.5.1 Error: need RCPT command\r\n");
        let ev = t.events();
        assert!(
            ev.iter().any(|e| matches!(
                e,
                Event::MessageResult {
                    result: Err(MessageError::SenderRejected(_)),
                    ..
                }
            )),
            "{ev:?}"
        );
        assert_eq!(outcomes(&ev), [want, want], "{mail}");
    }
}

#[test]
fn a_552_to_rcpt_is_too_many_recipients_and_temporary() {
    // RFC 5321 4.5.3.1.10: RFC 821 gave `552` for "too many recipients"; clients SHOULD
    // treat a `552` to RCPT as temporary (the recipient goes in the next transaction).
    let mut t = started(&ABC, &["PIPELINING"]);
    t.sent();
    t.server("250 ok\r\n250 ok\r\n250 ok\r\n552 5.5.3 Too many recipients\r\n354 go\r\n");
    t.sent();
    t.server("250 2.0.0 queued\r\n");
    assert_eq!(
        outcomes(&t.events()),
        [Outcome::Delivered, Outcome::Delivered, Outcome::Deferred]
    );
}

// ---- the review of outcomes against RFC 5321, 2920, 3030, 3461 ----

use ehlo::client::{CloseReason, Envelope, MessageId, ProtocolError};

/// Every `MessageResult`: the message, whether it was a success, and each recipient's
/// outcome.
fn all_outcomes(ev: &[Event]) -> Vec<(MessageId, bool, Vec<Outcome>)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::MessageResult {
                message,
                result,
                recipients,
                ..
            } => Some((
                *message,
                result.is_ok(),
                recipients.iter().map(|r| r.outcome(result)).collect(),
            )),
            _ => None,
        })
        .collect()
}

/// How the wait for a reply ends, for the matrices below.
#[derive(Debug, Clone, Copy)]
enum End {
    Reply(&'static str),
    PeerClosed,
    Timeout,
}

fn end(t: &mut T, how: End) {
    match how {
        End::Reply(r) => t.server(r),
        End::PeerClosed => t.c.peer_closed(),
        End::Timeout => {
            // The first time given after a reply starts the next reply's timer.
            t.c.handle_timeout(t.now);
            let d = t.c.poll_timeout().expect("a reply timer runs");
            t.c.handle_timeout(d);
        }
    }
}

use Outcome::{Deferred, Delivered, Failed};

/// The end-of-data cases: the reply (or its absence) and the outcome of an accepted
/// recipient (RFC 5321 4.1.1.4, 4.2.1, 3.8, 6.1).
const END_OF_DATA: [(End, Outcome); 10] = [
    (End::Reply("250 2.0.0 queued\r\n"), Delivered),
    (End::Reply("251 2.1.5 will forward\r\n"), Delivered),
    (End::Reply("252 2.0.0 accepted\r\n"), Delivered),
    (
        End::Reply("250-2.0.0 queued\r\n250-as\r\n250 2.0.0 X1\r\n"),
        Delivered,
    ),
    (End::Reply("451 4.3.0 try later\r\n"), Deferred),
    (
        End::Reply("452-4.3.1 no\r\n452 4.3.1 storage\r\n"),
        Deferred,
    ),
    (End::Reply("554 5.6.0 content refused\r\n"), Failed),
    (End::Reply("421 4.3.2 shutting down\r\n"), Deferred),
    (End::PeerClosed, Deferred),
    (End::Timeout, Deferred),
];

/// With DATA: one recipient accepted, one refused for good, one refused for now; the
/// refused ones keep their own outcome whatever the end of data gets.
#[test]
fn the_end_of_data_reply_decides_only_for_the_accepted_recipients() {
    for (how, want) in END_OF_DATA {
        let mut t = started(&ABC, &["PIPELINING"]);
        t.sent();
        t.server("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n450 4.2.1 busy\r\n354 go\r\n");
        assert_eq!(t.sent(), "Subject: x\r\n\r\nhi\r\n.\r\n");
        end(&mut t, how);
        let ev = t.events();
        let all = all_outcomes(&ev);
        assert_eq!(all.len(), 1, "{how:?}: {ev:?}");
        assert_eq!(all[0].1, want == Delivered, "{how:?}: {ev:?}");
        assert_eq!(all[0].2, [want, Failed, Deferred], "{how:?}");
    }
}

/// The same with BDAT (RFC 3030 2: the reply to the LAST chunk ends the transaction).
#[test]
fn the_reply_to_the_last_chunk_decides_only_for_the_accepted_recipients() {
    for (how, want) in END_OF_DATA {
        let mut t = started(&ABC, &["PIPELINING", "CHUNKING"]);
        t.sent();
        t.server("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n450 4.2.1 busy\r\n");
        end(&mut t, how);
        let ev = t.events();
        let all = all_outcomes(&ev);
        assert_eq!(all.len(), 1, "{how:?}: {ev:?}");
        assert_eq!(all[0].1, want == Delivered, "{how:?}: {ev:?}");
        assert_eq!(all[0].2, [want, Failed, Deferred], "{how:?}");
    }
}

/// RFC 3030 2: a refused chunk fails the transaction, even if the server then answers
/// `250` to the LAST one; a `250` to a chunk that is not the last delivers nothing.
#[test]
fn a_refused_chunk_fails_the_message_and_only_the_last_chunk_delivers() {
    let chunked = || {
        let mut c = ehlo::client::ClientConfig::new("client.example.test");
        c.bdat_chunk_size = 4;
        let mut t = T::new(c);
        t.c.send(env(&ABC[..1]), "0123456789").unwrap();
        t.hello(&["PIPELINING", "CHUNKING"]);
        assert_eq!(
            t.sent(),
            "MAIL FROM:<a@example.test>\r\nRCPT TO:<a@example.test>\r\nBDAT 4\r\n0123BDAT 4\r\n4567BDAT 2 LAST\r\n89"
        );
        t
    };
    for (chunk, want) in [("451 4.3.0 later", Deferred), ("554 5.6.0 no", Failed)] {
        // The first or the second chunk refused, the others accepted.
        for replies in [
            format!("{chunk}\r\n250 ok\r\n250 queued\r\n"),
            format!("250 ok\r\n{chunk}\r\n250 queued\r\n"),
        ] {
            let mut t = chunked();
            t.server("250 ok\r\n250 ok\r\n");
            t.server(&replies);
            let ev = t.events();
            assert_eq!(
                all_outcomes(&ev),
                [(MessageId(0), false, vec![want])],
                "{replies}"
            );
        }
    }
    // The session ends after the first two chunks were accepted.
    for how in [
        End::Reply("421 4.3.2 bye\r\n"),
        End::PeerClosed,
        End::Timeout,
    ] {
        let mut t = chunked();
        t.server("250 ok\r\n250 ok\r\n250 2.0.0 chunk ok\r\n250 2.0.0 chunk ok\r\n");
        end(&mut t, how);
        let ev = t.events();
        assert_eq!(
            all_outcomes(&ev),
            [(MessageId(0), false, vec![Deferred])],
            "{how:?}"
        );
    }
}

/// Every recipient refused (RFC 5321 4.2.1, 4.5.3.1.10): each keeps its own refusal, no
/// content goes out, with or without PIPELINING (RFC 2920 3.1).
#[test]
fn every_recipient_refused_each_by_its_own_reply_and_no_content() {
    const ABCD: [&str; 4] = [
        "a@example.test",
        "b@example.test",
        "c@example.test",
        "d@example.test",
    ];
    let refusals = [
        "450 4.2.1 busy\r\n",
        "550 5.1.1 no such user\r\n",
        "452 4.5.3 too many recipients\r\n",
        "552 5.5.3 too many recipients\r\n",
    ];
    let want = [Deferred, Failed, Deferred, Deferred];
    for data_reply in [
        "554 5.5.1 no valid recipients\r\n",
        "503 5.5.1 need RCPT\r\n",
    ] {
        for caps in [&["PIPELINING"][..], &["PIPELINING", "CHUNKING"][..]] {
            let mut t = started(&ABCD, caps);
            let sent = t.sent();
            t.server("250 ok\r\n");
            for r in refusals {
                t.server(r);
            }
            t.server(data_reply);
            let after = t.sent();
            assert!(!after.contains("hi"), "{after}");
            if !caps.contains(&"CHUNKING") {
                assert!(!sent.contains("hi"), "{sent}");
            }
            let ev = t.events();
            assert!(
                ev.iter().any(|e| matches!(
                    e,
                    Event::MessageResult {
                        result: Err(MessageError::NoValidRecipients),
                        ..
                    }
                )),
                "{ev:?}"
            );
            assert_eq!(all_outcomes(&ev)[0].2, want, "{caps:?} {data_reply}");
        }
    }
    // A server that answers 354 anyway gets a lone dot, and its 250 delivers nothing.
    let mut t = started(&ABCD, &["PIPELINING"]);
    t.sent();
    t.server("250 ok\r\n");
    for r in refusals {
        t.server(r);
    }
    t.server("354 go\r\n");
    assert_eq!(t.sent(), ".\r\n");
    t.server("250 2.0.0 queued\r\n");
    assert_eq!(all_outcomes(&t.events())[0].2, want);
    // Without PIPELINING: no DATA at all.
    let mut t = started(&ABCD, &[]);
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    for (i, r) in refusals.iter().enumerate() {
        assert_eq!(t.sent(), format!("RCPT TO:<{}>\r\n", ABCD[i]));
        t.server(r);
    }
    t.expect("RSET\r\n");
    assert_eq!(all_outcomes(&t.events())[0].2, want);
}

/// The session ends (421, the peer closing, a timeout, a protocol error) with several
/// messages queued: the one in flight and those not yet started are deferred, never
/// failed nor delivered (RFC 5321 3.8); one delivered before stays delivered.
#[test]
fn the_session_ending_defers_every_message_not_yet_done() {
    let ends = [
        End::Reply("421 4.3.2 shutting down\r\n"),
        End::PeerClosed,
        End::Timeout,
        // A 354 to RCPT: a protocol error.
        End::Reply("354 go\r\n"),
        // A malformed reply.
        End::Reply("25x what\r\n"),
    ];
    for how in ends {
        for first_delivered in [false, true] {
            let mut t = T::plain();
            t.hello(&["PIPELINING"]);
            for _ in 0..3 {
                t.c.send(env(&ABC[..2]), "hi\r\n").unwrap();
            }
            t.sent();
            if first_delivered {
                t.server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
                t.sent();
                t.server("250 queued\r\n");
                t.sent();
            }
            // MAIL and the first RCPT accepted, the second RCPT's reply never comes.
            t.server("250 ok\r\n250 ok\r\n");
            end(&mut t, how);
            let ev = t.events();
            assert!(t.c.is_closed(), "{how:?}");
            let all = all_outcomes(&ev);
            let mut want = vec![
                (MessageId(0), false, vec![Deferred, Deferred]),
                (MessageId(1), false, vec![Deferred, Deferred]),
                (MessageId(2), false, vec![Deferred, Deferred]),
            ];
            if first_delivered {
                want[0] = (MessageId(0), true, vec![Delivered, Delivered]);
            }
            assert_eq!(all, want, "{how:?} {first_delivered}: {ev:?}");
        }
    }
}

/// The session ends before it is ready (greeting refused, EHLO refused): every queued
/// message is deferred, never failed.
#[test]
fn a_session_that_never_gets_ready_defers_every_message() {
    for (greeting, ehlo) in [
        ("421 4.3.2 not now\r\n", None),
        ("554 5.7.1 go away\r\n", None),
        ("450 4.7.1 busy\r\n", None),
        ("220 hi\r\n", Some("550 no\r\n")),
    ] {
        let mut t = T::plain();
        t.c.send(env(&ABC[..2]), "hi\r\n").unwrap();
        t.c.send(env(&ABC[..1]), "hi\r\n").unwrap();
        t.server(greeting);
        if let Some(r) = ehlo {
            t.sent();
            t.server(r);
            t.sent();
            t.server(r);
        }
        t.sent();
        if !t.c.is_closed() {
            t.server("221 bye\r\n");
        }
        let all = all_outcomes(&t.events());
        assert_eq!(
            all,
            [
                (MessageId(0), false, vec![Deferred, Deferred]),
                (MessageId(1), false, vec![Deferred]),
            ],
            "{greeting}"
        );
    }
}

/// RFC 9422 (LIMITS RCPTMAX): the recipients held back are deferred, whatever becomes of
/// the message, unless the sender itself is refused for good; `Envelope::deferred` gives
/// them back for the next transaction.
#[test]
fn recipients_held_back_are_deferred_whatever_ends_the_transaction() {
    let cases: [(&str, Option<End>, [Outcome; 3]); 6] = [
        (
            "250 ok\r\n250 ok\r\n354 go\r\n",
            Some(End::Reply("250 queued\r\n")),
            [Delivered, Deferred, Deferred],
        ),
        (
            "250 ok\r\n250 ok\r\n354 go\r\n",
            Some(End::Reply("554 5.6.0 no\r\n")),
            [Failed, Deferred, Deferred],
        ),
        (
            "250 ok\r\n250 ok\r\n354 go\r\n",
            Some(End::PeerClosed),
            [Deferred, Deferred, Deferred],
        ),
        (
            "250 ok\r\n550 5.1.1 no\r\n554 no valid recipients\r\n",
            None,
            [Failed, Deferred, Deferred],
        ),
        (
            "451 4.7.1 greylisted\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n",
            None,
            [Deferred, Deferred, Deferred],
        ),
        (
            "550 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n",
            None,
            [Failed, Failed, Failed],
        ),
    ];
    for (replies, how, want) in cases {
        let mut t = started(&ABC, &["PIPELINING", "LIMITS RCPTMAX=1"]);
        assert_eq!(
            t.sent(),
            "MAIL FROM:<a@example.test>\r\nRCPT TO:<a@example.test>\r\nDATA\r\n"
        );
        t.server(replies);
        t.sent();
        if let Some(how) = how {
            end(&mut t, how);
        }
        let ev = t.events();
        assert_eq!(all_outcomes(&ev)[0].2, want, "{replies} {how:?}: {ev:?}");
        let (result, recipients, envelope) = ev
            .iter()
            .find_map(|e| match e {
                Event::MessageResult {
                    result,
                    recipients,
                    envelope,
                    ..
                } => Some((result, recipients, envelope)),
                _ => None,
            })
            .unwrap();
        if matches!(result, Ok(_) | Err(MessageError::NoValidRecipients)) {
            let (again, indices) = envelope.deferred(recipients).expect("held back");
            assert_eq!(indices, [1, 2]);
            assert_eq!(again.recipients, env(&ABC).recipients[1..]);
        }
    }
}

/// Replies that do not fit the commands they answer (RFC 2920 3.1: in order, one per
/// command): a protocol error, and nothing is reported delivered that the server did not
/// acknowledge after the end of data.
#[test]
fn replies_out_of_step_never_deliver() {
    // The 354 where the second RCPT's reply is due, then a late 250.
    let mut t = started(&ABC[..2], &["PIPELINING"]);
    t.sent();
    t.server("250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n");
    let ev = t.events();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Event::Closed(CloseReason::Protocol(ProtocolError::UnexpectedReply { .. }))
        )),
        "{ev:?}"
    );
    assert_eq!(
        all_outcomes(&ev),
        [(MessageId(0), false, vec![Deferred, Deferred])]
    );
    assert_eq!(t.sent(), "");

    // A 250 for the end of data before the dot went out: unsolicited.
    let (mut t, id) = streamed(&["PIPELINING"], ehlo::client::BodyType::SevenBit, None);
    t.sent();
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.c.push_body(id, bytes("part\r\n")).unwrap();
    t.sent();
    t.server("250 2.0.0 queued\r\n");
    let ev = t.events();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Event::Closed(CloseReason::Protocol(ProtocolError::Unsolicited(_)))
        )),
        "{ev:?}"
    );
    assert_eq!(all_outcomes(&ev), [(id, false, vec![Deferred])]);

    // The same for the reply to BDAT LAST before its chunk went out.
    let (mut t, id) = streamed(
        &["PIPELINING", "CHUNKING"],
        ehlo::client::BodyType::SevenBit,
        None,
    );
    t.sent();
    t.server("250 ok\r\n250 ok\r\n");
    t.c.push_body(id, bytes("part\r\n")).unwrap();
    t.c.finish_body(id).unwrap();
    t.server("250 2.0.0 queued\r\n");
    let ev = t.events();
    assert_eq!(all_outcomes(&ev), [(id, false, vec![Deferred])], "{ev:?}");
    assert!(t.c.is_closed());

    // An extra 250 where the 354 is due: a protocol error (RFC 5321 4.3.2), nothing
    // more is sent, and the message is retried.
    let mut t = started(&ABC[..1], &["PIPELINING"]);
    t.sent();
    t.server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
    assert_eq!(t.sent(), "");
    let ev = t.events();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Event::Closed(CloseReason::Protocol(ProtocolError::UnexpectedReply {
                command: "DATA",
                ..
            }))
        )),
        "{ev:?}"
    );
    assert_eq!(all_outcomes(&ev), [(MessageId(0), false, vec![Deferred])]);
}

/// RFC 3461: DSN parameters change what the server reports, never the outcome.
#[test]
fn dsn_parameters_do_not_change_outcomes() {
    let mut e: Envelope = env(&ABC[..2]);
    e.ret = Some(ehlo::syntax::param::Ret::Headers);
    e.envid = Some("id-1".into());
    e.recipients[0].notify = Some(ehlo::syntax::param::Notify {
        never: true,
        ..Default::default()
    });
    let mut t = T::plain();
    t.c.send(e, "hi\r\n").unwrap();
    t.hello(&["PIPELINING", "DSN"]);
    let sent = t.sent();
    assert!(sent.contains("NOTIFY=NEVER"), "{sent}");
    t.server("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go\r\n");
    t.sent();
    t.server("250 queued\r\n");
    assert_eq!(all_outcomes(&t.events())[0].2, [Delivered, Failed]);
}

/// RFC 9422 4.1 (LIMITS MAILMAX): a message past the session's transactions is deferred to
/// a new connection, never failed.
#[test]
fn a_message_past_mailmax_is_deferred() {
    let mut t = T::plain();
    t.c.send(env(&ABC[..1]), "hi\r\n").unwrap();
    t.c.send(env(&ABC[..2]), "hi\r\n").unwrap();
    t.hello(&["PIPELINING", "LIMITS MAILMAX=1"]);
    t.sent();
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.sent();
    t.server("250 queued\r\n");
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::MessageResult {
            result: Err(MessageError::TransactionLimit { limit: 1 }),
            ..
        }
    )));
    assert_eq!(
        all_outcomes(&ev),
        [
            (MessageId(0), true, vec![Delivered]),
            (MessageId(1), false, vec![Deferred, Deferred]),
        ]
    );
}
