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
