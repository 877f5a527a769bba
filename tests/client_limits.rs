//! Transcript tests: the client adapts to the LIMITS a server advertises (RFC 9422):
//! RCPTMAX and RCPTDOMAINMAX per transaction (sections 4.2, 4.3), MAILMAX per session
//! (section 4.1). Recipients over a limit are held back with the client's own
//! `452 4.5.3` and come back through `Envelope::deferred`; messages over MAILMAX fail with
//! `MessageError::TransactionLimit` before anything is sent.
mod client_support;
use client_support::*;
use ehlo::client::*;
use ehlo::{EnhancedCode, Reply};

fn seven() -> Envelope {
    env(&[
        "r0@example.test",
        "r1@example.test",
        "r2@example.test",
        "r3@example.test",
        "r4@example.test",
        "r5@example.test",
        "r6@example.test",
    ])
}

fn rcpt_lines(e: &Envelope, indices: &[usize]) -> String {
    indices
        .iter()
        .map(|&i| format!("RCPT TO:<{}>\r\n", path(e, i)))
        .collect()
}

fn path(e: &Envelope, i: usize) -> String {
    match &e.recipients[i].path {
        ehlo::syntax::path::ForwardPath::Mailbox(m) => m.to_string(),
        ehlo::syntax::path::ForwardPath::Postmaster => "Postmaster".into(),
    }
}

/// The message's result and statuses.
fn result(ev: &[Event]) -> Option<(Result<u16, MessageError>, Vec<RecipientStatus>)> {
    ev.iter().find_map(|e| match e {
        Event::MessageResult {
            result, recipients, ..
        } => Some((
            result.as_ref().map(|r| r.code.0).map_err(Clone::clone),
            recipients.clone(),
        )),
        _ => None,
    })
}

fn held_back() -> Reply {
    Reply::new(
        452,
        Some(EnhancedCode::new(4, 5, 3)),
        RecipientStatus::HELD_BACK_TEXT,
    )
}

#[test]
fn rcptmax_splits_a_pipelined_message_across_transactions() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "LIMITS RCPTMAX=3 MAILMAX=10"]);
    let all = seven();
    t.c.send(all.clone(), "hi\r\n").unwrap();
    // Only three RCPT commands in the flight.
    t.expect(&format!(
        "MAIL FROM:<a@example.test>\r\n{}DATA\r\n",
        rcpt_lines(&all, &[0, 1, 2])
    ));
    // The held-back recipients are reported when the transaction starts.
    let ev = t.events();
    assert!(ev.contains(&Event::Ready));
    assert_eq!(
        rcpt_results(&ev),
        [
            (3, false, 452),
            (4, false, 452),
            (5, false, 452),
            (6, false, 452)
        ]
    );
    t.server("250 OK\r\n250 OK\r\n250 OK\r\n250 OK\r\n354 Go\r\n");
    t.expect("hi\r\n.\r\n");
    t.server("250 2.0.0 Queued\r\n");
    let ev = t.events();
    let (res, statuses) = result(&ev).unwrap();
    assert_eq!(res, Ok(250));
    assert_eq!(statuses.len(), 7);
    for s in &statuses[..3] {
        assert!(s.accepted() && !s.held_back());
    }
    for s in &statuses[3..] {
        assert!(s.held_back() && !s.accepted());
        assert_eq!(s.reply, Some(held_back()));
    }

    // The caller sends the rest exactly as after a server's 452 4.5.3.
    let (again, indices) = all.deferred(&statuses).unwrap();
    assert_eq!(indices, [3, 4, 5, 6]);
    t.c.send(again.clone(), "hi\r\n").unwrap();
    t.expect(&format!(
        "MAIL FROM:<a@example.test>\r\n{}DATA\r\n",
        rcpt_lines(&again, &[0, 1, 2])
    ));
    assert_eq!(rcpt_results(&t.events()), [(3, false, 452)]);
    t.server("250 OK\r\n250 OK\r\n250 OK\r\n250 OK\r\n354 Go\r\n");
    t.expect("hi\r\n.\r\n");
    t.server("250 2.0.0 Queued\r\n");
    let (_, statuses) = result(&t.events()).unwrap();
    let (last, indices) = again.deferred(&statuses).unwrap();
    assert_eq!(indices, [3]);
    assert_eq!(path(&last, 0), "r6@example.test");
    t.c.send(last, "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<r6@example.test>\r\nDATA\r\n");
    t.server("250 OK\r\n250 OK\r\n354 Go\r\n");
    t.expect("hi\r\n.\r\n");
    t.server("250 2.0.0 Queued\r\n");
    let (res, statuses) = result(&t.events()).unwrap();
    assert_eq!(res, Ok(250));
    assert!(statuses.iter().all(RecipientStatus::accepted));
}

#[test]
fn rcptmax_without_pipelining_sends_one_command_at_a_time() {
    let mut t = T::plain();
    t.hello(&["LIMITS RCPTMAX=2"]);
    let e = env(&["b@example.test", "c@example.test", "d@example.test"]);
    t.c.send(e, "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 OK\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 OK\r\n");
    t.expect("RCPT TO:<c@example.test>\r\n");
    t.server("250 OK\r\n");
    t.expect("DATA\r\n");
    t.server("354 Go\r\n");
    t.expect("hi\r\n.\r\n");
    t.server("250 Queued\r\n");
    let (res, statuses) = result(&t.events()).unwrap();
    assert_eq!(res, Ok(250));
    assert_eq!(
        statuses.iter().map(|s| s.held_back()).collect::<Vec<_>>(),
        [false, false, true]
    );
}

#[test]
fn rcptdomainmax_keeps_the_transaction_within_the_domains() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "LIMITS RCPTDOMAINMAX=2"]);
    let e = env(&[
        "a@one.test",
        "b@TWO.test",
        "c@three.test",
        "d@One.Test",
        "postmaster",
        "e@three.test",
    ]);
    t.c.send(e.clone(), "hi\r\n").unwrap();
    // one.test and two.test (compared without case); three.test waits; Postmaster has no
    // domain.
    t.expect(&format!(
        "MAIL FROM:<a@example.test>\r\n{}DATA\r\n",
        rcpt_lines(&e, &[0, 1, 3, 4])
    ));
    assert_eq!(
        rcpt_results(&t.events()),
        [(2, false, 452), (5, false, 452)]
    );
    t.server("250 OK\r\n250 OK\r\n250 OK\r\n250 OK\r\n250 OK\r\n354 Go\r\n");
    t.expect("hi\r\n.\r\n");
    t.server("250 Queued\r\n");
    let (res, statuses) = result(&t.events()).unwrap();
    assert_eq!(res, Ok(250));
    let (again, indices) = e.deferred(&statuses).unwrap();
    assert_eq!(indices, [2, 5]);
    t.c.send(again, "hi\r\n").unwrap();
    t.expect(
        "MAIL FROM:<a@example.test>\r\nRCPT TO:<c@three.test>\r\nRCPT TO:<e@three.test>\r\nDATA\r\n",
    );
}

#[test]
fn held_back_recipients_survive_a_batch_the_server_refused_entirely() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "LIMITS RCPTMAX=1"]);
    let e = env(&["gone@example.test", "b@example.test"]);
    t.c.send(e.clone(), "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<gone@example.test>\r\nDATA\r\n");
    t.server("250 OK\r\n550 5.1.1 No such user\r\n554 5.5.1 No valid recipients\r\n");
    t.expect("RSET\r\n");
    t.server("250 OK\r\n");
    let (res, statuses) = result(&t.events()).unwrap();
    assert_eq!(res, Err(MessageError::NoValidRecipients));
    // The second recipient was never tried: it is still to be sent.
    let (again, indices) = e.deferred(&statuses).unwrap();
    assert_eq!(indices, [1]);
    t.c.send(again, "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
}

#[test]
fn a_server_452_within_the_limit_is_deferred_as_before() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "LIMITS RCPTMAX=2"]);
    let e = env(&["b@example.test", "c@example.test", "d@example.test"]);
    t.c.send(e.clone(), "hi\r\n").unwrap();
    let _ = t.sent();
    t.server("250 OK\r\n250 OK\r\n452 4.5.3 Too many recipients\r\n354 Go\r\n");
    t.expect("hi\r\n.\r\n");
    t.server("250 Queued\r\n");
    let (_, statuses) = result(&t.events()).unwrap();
    assert!(!statuses[1].held_back() && statuses[2].held_back());
    let (_, indices) = e.deferred(&statuses).unwrap();
    assert_eq!(indices, [1, 2]);
}

#[test]
fn zero_means_no_limit() {
    for caps in [
        &["PIPELINING", "LIMITS RCPTMAX=0 RCPTDOMAINMAX=0 MAILMAX=0"][..],
        &["PIPELINING", "LIMITS"][..],
        &["PIPELINING", "LIMITS RCPTMAX=many"][..],
        &["PIPELINING"][..],
    ] {
        let mut t = T::plain();
        t.hello(caps);
        let all = seven();
        t.c.send(all.clone(), "hi\r\n").unwrap();
        t.expect(&format!(
            "MAIL FROM:<a@example.test>\r\n{}DATA\r\n",
            rcpt_lines(&all, &[0, 1, 2, 3, 4, 5, 6])
        ));
        assert!(rcpt_results(&t.events()).is_empty(), "{caps:?}");
    }
}

#[test]
fn mailmax_ends_the_transactions_of_the_session() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "LIMITS MAILMAX=2"]);
    let a = t.c.send(env(&["b@example.test"]), "one\r\n").unwrap();
    let b = t.c.send(env(&["b@example.test"]), "two\r\n").unwrap();
    let c = t.c.send(env(&["b@example.test"]), "three\r\n").unwrap();
    t.c.quit();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    // The first transaction fails at MAIL: it counts all the same (RFC 9422 4.1).
    t.server("451 4.3.0 Try later\r\n503 5.5.1 No MAIL\r\n503 5.5.1 No MAIL\r\n");
    t.expect("RSET\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 OK\r\n250 OK\r\n250 OK\r\n354 Go\r\n");
    t.expect("two\r\n.\r\n");
    t.server("250 Queued\r\n");
    // No third MAIL: the message fails before anything is sent, and the session quits.
    t.expect("QUIT\r\n");
    let ev = t.events();
    let results: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::MessageResult {
                message,
                result,
                recipients,
                ..
            } => Some((
                *message,
                result.clone().map(|r| r.code.0),
                recipients.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].0, a);
    assert!(matches!(results[0].1, Err(MessageError::SenderRejected(_))));
    assert_eq!((results[1].0, results[1].1.clone()), (b, Ok(250)));
    assert_eq!(
        (results[2].0, results[2].1.clone()),
        (c, Err(MessageError::TransactionLimit { limit: 2 }))
    );
    assert_eq!(
        results[2].2,
        [RecipientStatus {
            index: 0,
            reply: None
        }]
    );
    let err = MessageError::TransactionLimit { limit: 2 }.to_string();
    assert!(err.contains("new connection"), "{err}");
    t.server("221 Bye\r\n");
    assert!(t.c.is_closed());
}

#[test]
fn a_message_sent_after_mailmax_fails_at_once() {
    let mut t = T::plain();
    t.hello(&["LIMITS MAILMAX=1"]);
    t.c.send(env(&["b@example.test"]), "one\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 OK\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 OK\r\n");
    t.expect("DATA\r\n");
    t.server("354 Go\r\n");
    t.expect("one\r\n.\r\n");
    t.server("250 Queued\r\n");
    let _ = t.events();
    t.c.send(env(&["b@example.test"]), "two\r\n").unwrap();
    t.expect("");
    let (res, _) = result(&t.events()).unwrap();
    assert_eq!(res, Err(MessageError::TransactionLimit { limit: 1 }));
    // The session stays open (Exchange verbs are no transactions) and ends when asked.
    assert!(!t.c.is_closed());
    t.c.quit();
    t.expect("QUIT\r\n");
}

#[test]
fn only_the_ehlo_after_starttls_counts() {
    let mut config = ClientConfig::new("client.example.test");
    config.tls = TlsPolicy::Required;
    // Limits before TLS, none after.
    let mut t = T::new(config.clone());
    t.hello(&["PIPELINING", "STARTTLS", "LIMITS RCPTMAX=1 MAILMAX=1"]);
    t.expect("STARTTLS\r\n");
    t.server("220 Go ahead\r\n");
    t.c.tls_established().unwrap();
    t.expect("EHLO client.example.test\r\n");
    t.server(&ehlo_reply(&["PIPELINING"]));
    let e = env(&["b@example.test", "c@example.test"]);
    t.c.send(e.clone(), "hi\r\n").unwrap();
    t.expect(&format!(
        "MAIL FROM:<a@example.test>\r\n{}DATA\r\n",
        rcpt_lines(&e, &[0, 1])
    ));

    // None before TLS, a limit after.
    let mut t = T::new(config);
    t.hello(&["PIPELINING", "STARTTLS"]);
    t.expect("STARTTLS\r\n");
    t.server("220 Go ahead\r\n");
    t.c.tls_established().unwrap();
    t.expect("EHLO client.example.test\r\n");
    t.server(&ehlo_reply(&["PIPELINING", "LIMITS RCPTMAX=1"]));
    t.c.send(e, "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
}

#[test]
fn held_back_recipients_of_a_session_that_closes() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "LIMITS RCPTMAX=1"]);
    let e = env(&["b@example.test", "c@example.test"]);
    t.c.send(e, "hi\r\n").unwrap();
    let _ = t.sent();
    t.server("421 4.3.2 Shutting down\r\n");
    let (res, statuses) = result(&t.events()).unwrap();
    assert!(matches!(res, Err(MessageError::SessionClosed(_))));
    assert_eq!(statuses[0].reply, None);
    assert!(statuses[1].held_back());
}
