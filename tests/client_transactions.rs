//! Transcript tests: MAIL/RCPT/DATA/BDAT, pipelining, per-recipient results, RSET,
//! extension parameters and up-front refusals, streamed bodies, XEXCH50.
mod client_support;
use bytes::Bytes;
use client_support::*;
use ehlo::client::*;
use ehlo::syntax::param::{Notify, Ret};

/// A session with `caps` and one message to b@example.test handed out (its whole first
/// flight taken by the transport).
fn in_flight(caps: &[&str]) -> T {
    let mut t = T::plain();
    t.hello(caps);
    t.c.send(env(&["b@example.test"]), "hi\r\n").unwrap();
    let _ = t.sent();
    t
}

fn results(ev: &[Event]) -> Vec<(MessageId, Result<u16, MessageError>)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::MessageResult {
                message, result, ..
            } => Some((
                *message,
                result.as_ref().map(|r| r.code.0).map_err(Clone::clone),
            )),
            _ => None,
        })
        .collect()
}

/// A body borrowed from a `String` that does not outlive the call (`as_str()`, a slice of
/// its bytes) is copied into the message: it sends exactly those octets.
#[test]
fn body_borrowed_from_a_local_string() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    let ids = {
        let text = format!("Subject: {}\r\n\r\nHello\r\n", "borrowed");
        let first = t.c.send(env(&["b@example.test"]), text.as_str()).unwrap();
        let second =
            t.c.send(env(&["c@example.test"]), &text.as_bytes()[..9])
                .unwrap();
        [first, second]
    };
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.expect("Subject: borrowed\r\n\r\nHello\r\n.\r\n");
    t.server("250 ok\r\n");
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    // The encoder ends content that lacks a final CRLF with one (RFC 5321 4.1.1.4).
    t.expect("Subject: \r\n.\r\n");
    t.server("250 ok\r\n");
    let ev = t.events();
    assert_eq!(results(&ev), vec![(ids[0], Ok(250)), (ids[1], Ok(250))]);
}

#[test]
fn pipelined_flight_with_one_recipient_refused() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    let id =
        t.c.send(
            env(&["b@example.test", "c@example.test", "d@example.test"]),
            "hi\r\n",
        )
        .unwrap();
    t.expect(
        "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nRCPT TO:<d@example.test>\r\nDATA\r\n",
    );
    t.server(
        "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n354 go\r\n",
    );
    t.expect("hi\r\n.\r\n");
    t.server("250 2.0.0 ok\r\n");
    let ev = t.events();
    assert_eq!(
        rcpt_results(&ev),
        vec![(0, true, 250), (1, false, 550), (2, true, 250)]
    );
    assert_eq!(results(&ev), vec![(id, Ok(250))]);
    match ev
        .iter()
        .find(|e| matches!(e, Event::MessageResult { .. }))
        .unwrap()
    {
        Event::MessageResult { recipients, .. } => {
            let acc: Vec<bool> = recipients.iter().map(|r| r.accepted()).collect();
            assert_eq!(acc, vec![true, false, true]);
            assert_eq!(recipients[1].reply.as_ref().unwrap().text, "no such user");
        }
        _ => unreachable!(),
    }
}

#[test]
fn pipelined_all_recipients_refused_data_503_then_rset() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "ENHANCEDSTATUSCODES"]);
    let id =
        t.c.send(env(&["b@example.test", "c@example.test"]), "hi\r\n")
            .unwrap();
    let id2 = t.c.send(env(&["e@example.test"]), "second\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n");
    t.server(
        "250 2.1.0 ok\r\n550 5.1.1 no\r\n451 4.3.0 later\r\n554 5.5.1 no valid recipients\r\n",
    );
    // RSET, and (pipelined) the next transaction right behind it.
    t.expect("RSET\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<e@example.test>\r\nDATA\r\n");
    t.server("250 2.0.0 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    t.expect("second\r\n.\r\n");
    t.server("250 ok\r\n");
    let ev = t.events();
    assert_eq!(
        results(&ev),
        vec![(id, Err(MessageError::NoValidRecipients)), (id2, Ok(250))]
    );
}

#[test]
fn pipelined_all_refused_but_data_354_sends_lone_dot() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    let id =
        t.c.send(env(&["b@example.test"]), "secret body\r\n")
            .unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n550 no\r\n354 go ahead anyway\r\n");
    // RFC 2920 3.1: end the content; the body is never sent.
    t.expect(".\r\n");
    t.server("554 no valid recipients\r\n");
    t.expect("RSET\r\n");
    t.server("250 ok\r\n");
    assert_eq!(
        results(&t.events()),
        vec![(id, Err(MessageError::NoValidRecipients))]
    );
}

#[test]
fn pipelined_sender_refused() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    let id = t.c.send(env(&["b@example.test"]), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("553 5.1.8 bad sender\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n");
    t.expect("RSET\r\n");
    match &results(&t.events())[0] {
        (m, Err(MessageError::SenderRejected(r))) => {
            assert_eq!(*m, id);
            assert_eq!(r.code.0, 553);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn without_pipelining_one_command_at_a_time() {
    let mut t = T::plain();
    t.hello(&["8BITMIME"]);
    t.c.send(env(&["b@example.test", "c@example.test"]), "x\r\n")
        .unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.expect("");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<c@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("DATA\r\n");
    t.server("354 go\r\n");
    t.expect("x\r\n.\r\n");
    t.server("250 ok\r\n");
    assert!(matches!(results(&t.events())[..], [(_, Ok(250))]));
}

#[test]
fn without_pipelining_sender_refused_skips_recipients() {
    let mut t = T::plain();
    t.hello(&[]);
    let id = t.c.send(env(&["b@example.test"]), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("550 5.7.1 sender refused\r\n");
    t.expect("RSET\r\n");
    t.server("250 ok\r\n");
    assert!(
        matches!(&results(&t.events())[..], [(m, Err(MessageError::SenderRejected(_)))] if *m == id)
    );
}

#[test]
fn without_pipelining_no_data_when_every_recipient_fails() {
    let mut t = T::plain();
    t.hello(&[]);
    t.c.send(env(&["b@example.test", "c@example.test"]), "x\r\n")
        .unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("550 no\r\n");
    t.expect("RCPT TO:<c@example.test>\r\n");
    t.server("452 4.5.3 too many\r\n");
    t.expect("RSET\r\n");
    let ev = t.events();
    assert_eq!(rcpt_results(&ev), vec![(0, false, 550), (1, false, 452)]);
    assert!(matches!(
        results(&ev)[..],
        [(_, Err(MessageError::NoValidRecipients))]
    ));
}

#[test]
fn final_reply_refusal_then_next_message() {
    let mut t = T::plain();
    t.hello(&[]);
    let a = t.c.send(env(&["b@example.test"]), "spam\r\n").unwrap();
    let b = t.c.send(env(&["b@example.test"]), "ham\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("DATA\r\n");
    t.server("354 go\r\n");
    t.expect("spam\r\n.\r\n");
    t.server("550 5.7.1 looks like spam\r\n");
    t.expect("RSET\r\n");
    t.server("250 ok\r\n");
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("DATA\r\n");
    t.server("451 4.3.0 try later\r\n");
    t.expect("RSET\r\n");
    t.server("250 ok\r\n");
    t.c.quit();
    t.expect("QUIT\r\n");
    let r = results(&t.events());
    assert!(matches!(&r[0], (m, Err(MessageError::Rejected(x))) if *m == a && x.code.0 == 550));
    assert!(matches!(&r[1], (m, Err(MessageError::Rejected(x))) if *m == b && x.code.0 == 451));
}

#[test]
fn several_messages_per_session() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    let ids: Vec<_> = (0..3)
        .map(|i| {
            t.c.send(env(&["b@example.test"]), Bytes::from(format!("m{i}\r\n")))
                .unwrap()
        })
        .collect();
    for i in 0..3 {
        t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
        t.server("250 ok\r\n250 ok\r\n354 go\r\n");
        t.expect(&format!("m{i}\r\n.\r\n"));
        t.server("250 ok\r\n");
    }
    t.c.quit();
    t.expect("QUIT\r\n");
    let r = results(&t.events());
    assert_eq!(r, ids.iter().map(|i| (*i, Ok(250))).collect::<Vec<_>>());
}

#[test]
fn bdat_when_chunking_is_advertised() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "CHUNKING"]);
    t.c.send(env(&["b@example.test"]), ".dot\r\nline").unwrap();
    // No dot-stuffing, no terminator: BDAT carries the octets as they are.
    t.expect(
        "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 10 LAST\r\n.dot\r\nline",
    );
    t.server("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n");
    assert!(matches!(results(&t.events())[..], [(_, Ok(250))]));
}

#[test]
fn bdat_chunks_and_empty_body() {
    let mut c = ClientConfig::new("client.example.test");
    c.bdat_chunk_size = 4;
    let mut t = T::new(c);
    t.hello(&["CHUNKING"]);
    t.c.send(env(&["b@example.test"]), "0123456789").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    // Without PIPELINING each chunk waits for the reply to the previous one.
    t.expect("BDAT 4\r\n0123");
    t.server("250 2.0.0 4 octets\r\n");
    t.expect("BDAT 4\r\n4567");
    t.server("250 ok\r\n");
    t.expect("BDAT 2 LAST\r\n89");
    t.server("250 queued\r\n");
    t.c.send(env(&["b@example.test"]), "").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("BDAT 0 LAST\r\n");
    t.server("250 queued\r\n");
    assert!(matches!(
        results(&t.events())[..],
        [(_, Ok(250)), (_, Ok(250))]
    ));
}

/// `ClientConfig::bdat_chunk_size`: `0` counts as `1` (one octet per chunk), never an
/// empty chunk without end.
#[test]
fn a_bdat_chunk_size_of_zero_counts_as_one() {
    let mut c = ClientConfig::new("client.example.test");
    c.bdat_chunk_size = 0;
    let mut t = T::new(c);
    t.hello(&["CHUNKING", "PIPELINING"]);
    t.c.send(env(&["b@example.test"]), "abc").unwrap();
    t.expect(
        "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n\
         BDAT 1\r\naBDAT 1\r\nbBDAT 1 LAST\r\nc",
    );
    t.server("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 queued\r\n");
    assert!(matches!(&results(&t.events())[..], [(_, Ok(250))]));
}

#[test]
fn bdat_chunk_refused_fails_message_and_resets() {
    let mut c = ClientConfig::new("client.example.test");
    c.bdat_chunk_size = 4;
    let mut t = T::new(c);
    t.hello(&["CHUNKING", "PIPELINING"]);
    t.c.send(env(&["b@example.test"]), "0123456789").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 4\r\n0123BDAT 4\r\n4567BDAT 2 LAST\r\n89");
    t.server("250 ok\r\n250 ok\r\n552 5.3.4 too big\r\n503 5.5.1 no\r\n503 5.5.1 no\r\n");
    t.expect("RSET\r\n");
    assert!(
        matches!(&results(&t.events())[..], [(_, Err(MessageError::Rejected(r)))] if r.code.0 == 552)
    );
}

/// RFC 3030 section 2: after a `4xx`/`5xx` to a chunk "the sender-SMTP MUST NOT send any
/// additional BDAT segments". The chunks already handed to the transport are in the
/// pipeline (the server discards them); those still queued in the client are withdrawn,
/// and RSET follows the last reply awaited.
#[test]
fn bdat_chunks_not_yet_handed_out_are_withdrawn_after_a_refusal() {
    let mut c = ClientConfig::new("client.example.test");
    c.bdat_chunk_size = 4;
    let mut t = T::new(c);
    t.hello(&["CHUNKING", "PIPELINING"]);
    t.c.send(env(&["b@example.test"]), "0123456789").unwrap();
    // The transport takes the first flight and the first chunk only.
    let first = t.c.poll_transmit(t.now).unwrap();
    assert_eq!(
        &first[..],
        b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 4\r\n"
    );
    assert_eq!(&t.c.poll_transmit(t.now).unwrap()[..], b"0123");
    t.server("250 ok\r\n250 ok\r\n552 5.3.4 too big\r\n");
    t.expect("RSET\r\n");
    assert!(
        matches!(&results(&t.events())[..], [(_, Err(MessageError::Rejected(r)))] if r.code.0 == 552)
    );
    t.server("250 reset\r\n");
    assert_eq!(t.c.poll_timeout(), None);

    // MAIL refused: the first BDAT went out with it, so its chunk must follow (the server
    // reads and discards it, RFC 2920 3.1); the chunks after it are withdrawn.
    let mut c = ClientConfig::new("client.example.test");
    c.bdat_chunk_size = 4;
    let mut t = T::new(c);
    t.hello(&["CHUNKING", "PIPELINING"]);
    t.c.send(env(&["b@example.test"]), "0123456789").unwrap();
    let _ = t.c.poll_transmit(t.now).unwrap();
    t.server("550 5.7.1 sender refused\r\n");
    t.expect("0123");
    t.server("503 5.5.1 no\r\n503 5.5.1 no\r\n");
    t.expect("RSET\r\n");
    assert!(matches!(
        &results(&t.events())[..],
        [(_, Err(MessageError::SenderRejected(r)))] if r.code.0 == 550
    ));
}

#[test]
fn pipelined_bdat_all_recipients_refused() {
    let mut t = T::plain();
    t.hello(&["CHUNKING", "PIPELINING"]);
    t.c.send(env(&["b@example.test"]), "body").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 4 LAST\r\nbody");
    t.server("250 ok\r\n550 no\r\n554 5.5.1 no valid recipients\r\n");
    t.expect("RSET\r\n");
    assert!(matches!(
        results(&t.events())[..],
        [(_, Err(MessageError::NoValidRecipients))]
    ));
}

#[test]
fn eight_bit_body_parameters() {
    let body = "Subject: caf\u{e9}\r\n\r\n\u{e9}t\u{e9}\r\n";
    // 8BITMIME: BODY=8BITMIME over DATA.
    let mut t = T::plain();
    t.hello(&["8BITMIME"]);
    t.c.send(env(&["b@example.test"]), Bytes::from(body))
        .unwrap();
    t.expect("MAIL FROM:<a@example.test> BODY=8BITMIME\r\n");
    // Only BINARYMIME + CHUNKING: BODY=BINARYMIME over BDAT.
    let mut t = T::plain();
    t.hello(&["BINARYMIME", "CHUNKING"]);
    t.c.send(env(&["b@example.test"]), Bytes::from(body))
        .unwrap();
    t.expect("MAIL FROM:<a@example.test> BODY=BINARYMIME\r\n");
    // Neither: refused before anything is sent, the session goes on.
    let mut t = T::plain();
    t.hello(&["PIPELINING", "CHUNKING"]);
    let id =
        t.c.send(env(&["b@example.test"]), Bytes::from(body))
            .unwrap();
    t.expect("");
    assert_eq!(
        results(&t.events()),
        vec![(id, Err(MessageError::Unsupported(Extension::EightBitMime)))]
    );
    t.c.send(env(&["b@example.test"]), "ascii").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 5 LAST\r\nascii");
}

#[test]
fn binary_body_needs_binarymime_and_chunking() {
    let body: &[u8] = b"line\nbare lf\x00nul\r";
    for caps in [
        &["8BITMIME", "CHUNKING"][..],
        &["8BITMIME", "BINARYMIME"][..],
        &["8BITMIME"][..],
    ] {
        let mut t = T::plain();
        t.hello(caps);
        t.c.send(env(&["b@example.test"]), body).unwrap();
        t.expect("");
        assert!(matches!(
            results(&t.events())[..],
            [(_, Err(MessageError::Unsupported(Extension::BinaryMime)))]
        ));
    }
    let mut t = T::plain();
    t.hello(&["BINARYMIME", "CHUNKING", "SIZE"]);
    t.c.send(env(&["b@example.test"]), body).unwrap();
    t.expect("MAIL FROM:<a@example.test> SIZE=17 BODY=BINARYMIME\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    assert_eq!(t.sent_bytes(), b"BDAT 17 LAST\r\nline\nbare lf\x00nul\r");
    // Chunking turned off in the configuration: refused too.
    let mut c = ClientConfig::new("client.example.test");
    c.chunking = false;
    let mut t = T::new(c);
    t.hello(&["BINARYMIME", "CHUNKING"]);
    t.c.send(env(&["b@example.test"]), body).unwrap();
    t.expect("");
    assert!(matches!(
        results(&t.events())[..],
        [(_, Err(MessageError::Unsupported(Extension::BinaryMime)))]
    ));
}

#[test]
fn smtputf8_only_when_advertised() {
    let e = Envelope::new("jos\u{e9}@example.test")
        .unwrap()
        .recipient("b@\u{e9}xample.test")
        .unwrap();
    assert!(e.needs_smtputf8());
    let mut t = T::plain();
    t.hello(&["8BITMIME"]);
    t.c.send(e.clone(), "x\r\n").unwrap();
    t.expect("");
    assert!(matches!(
        results(&t.events())[..],
        [(_, Err(MessageError::Unsupported(Extension::SmtpUtf8)))]
    ));
    let mut t = T::plain();
    t.hello(&["8BITMIME", "SMTPUTF8", "PIPELINING"]);
    t.c.send(e, "x\r\n").unwrap();
    t.expect(
        "MAIL FROM:<jos\u{e9}@example.test> SMTPUTF8\r\nRCPT TO:<b@\u{e9}xample.test>\r\nDATA\r\n",
    );
    // The flag alone (UTF-8 headers) asks for it as well.
    let mut t = T::plain();
    t.hello(&["SMTPUTF8"]);
    let mut e = env(&["b@example.test"]);
    e.smtputf8 = true;
    t.c.send(e, "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test> SMTPUTF8\r\n");
}

#[test]
fn requiretls_needs_tls_and_the_keyword() {
    let mut e = env(&["b@example.test"]);
    e.requiretls = true;
    let mut t = T::plain();
    t.hello(&["REQUIRETLS"]);
    t.c.send(e.clone(), "x\r\n").unwrap();
    t.expect("");
    assert!(matches!(
        results(&t.events())[..],
        [(_, Err(MessageError::Unsupported(Extension::RequireTls)))]
    ));
    let mut c = ClientConfig::new("client.example.test");
    c.implicit_tls = true;
    let mut t = T::new(c);
    t.hello(&["REQUIRETLS"]);
    t.c.send(e, "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test> REQUIRETLS\r\n");
}

#[test]
fn dsn_parameters_only_when_advertised() {
    let mut e = env(&["b@example.test"]);
    e.ret = Some(Ret::Headers);
    e.envid = Some("id+1".into());
    e.recipients[0].notify = Some(Notify {
        failure: true,
        delay: true,
        ..Notify::default()
    });
    let mut t = T::plain();
    t.hello(&["DSN", "PIPELINING"]);
    t.c.send(e.clone(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test> RET=HDRS ENVID=id+2B1\r\nRCPT TO:<b@example.test> NOTIFY=FAILURE,DELAY\r\nDATA\r\n");
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(e, "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
}

#[test]
fn size_limit_refused_up_front_and_size_only_when_advertised() {
    let mut t = T::plain();
    t.hello(&["SIZE 10", "PIPELINING"]);
    let id = t.c.send(env(&["b@example.test"]), "0123456789A").unwrap();
    t.expect("");
    assert_eq!(
        results(&t.events()),
        vec![(
            id,
            Err(MessageError::TooLarge {
                // The size as sent (RFC 1870 3): DATA adds the missing CRLF.
                size: 13,
                limit: 10
            })
        )]
    );
    t.c.send(env(&["b@example.test"]), "01234567\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test> SIZE=10\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    // SIZE 0 / bare SIZE: no limit, the parameter still goes out.
    let mut t = T::plain();
    t.hello(&["SIZE 0"]);
    t.c.send(env(&["b@example.test"]), "0123456789A").unwrap();
    t.expect("MAIL FROM:<a@example.test> SIZE=13\r\n");
    let mut t = T::plain();
    t.hello(&[]);
    t.c.send(env(&["b@example.test"]), "0123456789A").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
}

#[test]
fn no_recipients_is_refused_up_front() {
    let mut t = T::plain();
    t.hello(&[]);
    let id = t.c.send(env(&[]), "x").unwrap();
    t.expect("");
    assert_eq!(
        results(&t.events()),
        vec![(id, Err(MessageError::NoRecipients))]
    );
}

fn body_needed(ev: &[Event]) -> Option<MessageId> {
    ev.iter().find_map(|e| match e {
        Event::BodyNeeded(id) => Some(*id),
        _ => None,
    })
}

#[test]
fn streamed_body_over_data() {
    let (mut t, id) = streamed(
        &["PIPELINING", "8BITMIME", "SIZE"],
        BodyType::SevenBit,
        Some(12),
    );
    t.expect("MAIL FROM:<a@example.test> SIZE=12\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    assert_eq!(body_needed(&t.events()), None);
    assert_eq!(
        t.c.push_body(id, bytes("x")),
        Err(UsageError::BodyNotExpected)
    );
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(body_needed(&t.events()), Some(id));
    t.c.push_body(id, bytes("line one\r\n.")).unwrap();
    assert_eq!(body_needed(&t.events()), Some(id));
    t.expect("line one\r\n..");
    t.c.push_body(id, bytes("x")).unwrap();
    t.c.finish_body(id).unwrap();
    t.expect("x\r\n.\r\n");
    assert_eq!(t.c.finish_body(id), Err(UsageError::BodyNotExpected));
    t.server("250 ok\r\n");
    assert!(matches!(results(&t.events())[..], [(_, Ok(250))]));
}

#[test]
fn streamed_body_over_bdat_is_zero_copy_chunks() {
    let (mut t, id) = streamed(
        &["PIPELINING", "CHUNKING", "BINARYMIME"],
        BodyType::Binary,
        None,
    );
    assert_eq!(body_needed(&t.events()), Some(id));
    t.c.push_body(id, bytes("first\n")).unwrap();
    t.c.push_body(id, bytes("second\r")).unwrap();
    t.c.finish_body(id).unwrap();
    t.expect("MAIL FROM:<a@example.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\nBDAT 6\r\nfirst\nBDAT 7 LAST\r\nsecond\r");
    t.server("250 ok\r\n250 ok\r\n250 ok\r\n250 queued\r\n");
    assert!(matches!(results(&t.events())[..], [(_, Ok(250))]));
}

#[test]
fn streamed_body_violating_its_type_over_bdat_resets() {
    let (mut t, id) = streamed(&["PIPELINING", "CHUNKING"], BodyType::SevenBit, None);
    t.c.push_body(id, bytes("ok\r\n")).unwrap();
    t.c.push_body(id, bytes("more\r\n")).unwrap();
    assert_eq!(
        t.c.push_body(id, Bytes::from_static(b"\xff")),
        Err(UsageError::BodyTypeViolation)
    );
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 4\r\nok\r\n");
    t.server("250 ok\r\n250 ok\r\n250 ok\r\n");
    t.expect("RSET\r\n");
    assert!(matches!(
        results(&t.events())[..],
        [(_, Err(MessageError::BodyTypeViolation))]
    ));
}

/// A server that refuses the content before its end (an early `552` while the body is
/// still being sent) breaks RFC 5321 4.1.1.4, so the session closes as a protocol error;
/// but the message failed because the server refused it, and its result says so
/// (`Rejected` with that reply, permanent for a 5xx) instead of a mere closed session a
/// caller would retry forever.
#[test]
fn an_early_refusal_in_the_middle_of_data_rejects_the_message() {
    for (early, permanent) in [
        ("552 5.3.4 Message too big", true),
        ("451 4.3.0 Try later", false),
    ] {
        let (mut t, id) = streamed(&["PIPELINING"], BodyType::SevenBit, None);
        t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
        t.server("250 ok\r\n250 ok\r\n354 go\r\n");
        t.c.push_body(id, bytes("part one\r\n")).unwrap();
        t.expect("part one\r\n");
        t.server(&format!("{early}\r\n"));
        let ev = t.events();
        let reply = ev
            .iter()
            .find_map(|e| match e {
                Event::MessageResult {
                    result: Err(MessageError::Rejected(r)),
                    ..
                } => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{early}: {ev:?}"));
        assert_eq!(reply.to_string(), early);
        assert_eq!(reply.to_bytes(), format!("{early}\r\n").into_bytes());
        assert_eq!(reply.code.is_permanent(), permanent);
        assert!(
            ev.iter().any(|e| matches!(
                e,
                Event::Closed(CloseReason::Protocol(ProtocolError::Unsolicited(_)))
            )),
            "{ev:?}"
        );
        // Nothing more goes out: never the terminating dot.
        t.expect("");
    }
}

#[test]
fn streamed_body_violating_its_type_over_data_drops_the_connection() {
    let (mut t, id) = streamed(&["PIPELINING"], BodyType::SevenBit, None);
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.c.push_body(id, bytes("fine\r\n")).unwrap();
    assert_eq!(
        t.c.push_body(id, bytes("bare\nlf")),
        Err(UsageError::BodyTypeViolation)
    );
    // Nothing more goes out: not even the first chunk, never a terminating dot.
    t.expect("");
    let ev = t.events();
    assert!(matches!(
        results(&ev)[..],
        [(_, Err(MessageError::BodyTypeViolation))]
    ));
    assert!(ev.contains(&Event::Closed(CloseReason::Aborted)));
}

#[test]
fn streamed_body_is_requested_only_when_the_queue_drains() {
    let (mut t, id) = streamed(&["PIPELINING", "CHUNKING"], BodyType::SevenBit, None);
    assert_eq!(body_needed(&t.events()), Some(id));
    let big = Bytes::from(format!("{}\r\n", "a".repeat(98)).repeat(1000));
    t.c.push_body(id, big.clone()).unwrap(); // held back as the possible last chunk
    assert_eq!(body_needed(&t.events()), Some(id));
    t.c.push_body(id, big.clone()).unwrap(); // the first goes out: 100 kB queued
    assert_eq!(
        body_needed(&t.events()),
        None,
        "no request while the queue is full"
    );
    let mut seen = 0;
    while let Some(b) = t.c.poll_transmit(t.now) {
        seen += b.len();
    }
    assert!(seen > 100_000);
    assert_eq!(body_needed(&t.events()), Some(id));
}

#[test]
fn xexch50_after_recipients_when_advertised() {
    let mut e = env(&["b@example.test"]);
    e.xexch50 = Some(Xexch50 {
        blob: Bytes::from_static(b"\x00\x01BLOB\r\n.\r\n"),
        mode: 2,
    });
    let mut t = T::plain();
    t.hello(&["PIPELINING", "XEXCH50"]);
    t.c.send(e.clone(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nXEXCH50 11 2\r\n");
    t.server("250 ok\r\n250 ok\r\n354 Send binary data\r\n");
    assert_eq!(t.sent_bytes(), b"\x00\x01BLOB\r\n.\r\n");
    t.server("250 XEXCH50 OK\r\n");
    t.expect("DATA\r\n");
    t.server("354 go\r\n");
    t.expect("x\r\n.\r\n");
    t.server("250 ok\r\n");
    assert!(matches!(results(&t.events())[..], [(_, Ok(250))]));
    // Refused XEXCH50: the message goes on without it.
    let mut t = T::plain();
    t.hello(&["XEXCH50", "CHUNKING", "BINARYMIME"]);
    t.c.send(e.clone(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("XEXCH50 11 2\r\n");
    t.server("504 need auth\r\n");
    t.expect("BDAT 3 LAST\r\nx\r\n");
    // Not advertised: never sent.
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(e, "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
}

#[test]
fn null_sender_and_postmaster() {
    let e = Envelope::new("<>")
        .unwrap()
        .recipient("Postmaster")
        .unwrap();
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(e, "x\r\n").unwrap();
    t.expect("MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n");
}

#[test]
fn streamed_bdat_without_pipelining_waits_for_each_reply() {
    let (mut t, id) = streamed(&["CHUNKING"], BodyType::SevenBit, None);
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("250 ok\r\n");
    assert_eq!(body_needed(&t.events()), Some(id));
    t.c.push_body(id, bytes("one\r\n")).unwrap();
    assert_eq!(body_needed(&t.events()), Some(id));
    t.c.push_body(id, bytes("two\r\n")).unwrap();
    t.expect("BDAT 5\r\none\r\n");
    // The reply to the first chunk is outstanding: no request, no push.
    assert_eq!(body_needed(&t.events()), None);
    assert_eq!(
        t.c.push_body(id, bytes("three")),
        Err(UsageError::BodyNotExpected)
    );
    t.server("250 2.0.0 5 octets\r\n");
    assert_eq!(body_needed(&t.events()), Some(id));
    t.c.finish_body(id).unwrap();
    t.expect("BDAT 5 LAST\r\ntwo\r\n");
    t.server("250 2.0.0 queued\r\n");
    assert!(matches!(results(&t.events())[..], [(_, Ok(250))]));
}

/// RFC 3461 4.4 and 4.2: an ENVID of at most 100 characters and an ORCPT address of at
/// most 500, before xtext encoding; longer ones are refused before anything is sent.
#[test]
fn overlong_envid_or_orcpt_is_refused_before_sending() {
    use ehlo::syntax::param::Orcpt;
    use ehlo::syntax::xtext::XText;
    use std::borrow::Cow;
    let mut long_envid = env(&["b@example.test"]);
    long_envid.envid = Some("e".repeat(101));
    let mut long_orcpt = env(&["b@example.test"]);
    long_orcpt.recipients[0].orcpt = Some(Orcpt {
        addr_type: Cow::Borrowed("rfc822"),
        addr: XText::encode("o".repeat(501).as_bytes()),
    });
    for e in [long_envid, long_orcpt] {
        let mut t = T::plain();
        t.hello(&["DSN", "PIPELINING"]);
        let id = t.c.send(e, "x\r\n").unwrap();
        t.expect("");
        assert_eq!(
            results(&t.events()),
            vec![(id, Err(MessageError::InvalidEnvelope))]
        );
    }
    // At the limits: sent (a `+2B` escape counts as one character).
    let mut e = env(&["b@example.test"]);
    e.envid = Some("+".repeat(100));
    e.recipients[0].orcpt = Some(Orcpt {
        addr_type: Cow::Borrowed("rfc822"),
        addr: XText::encode("+".repeat(500).as_bytes()),
    });
    let mut t = T::plain();
    t.hello(&["DSN", "PIPELINING"]);
    t.c.send(e, "x\r\n").unwrap();
    let out = t.sent();
    assert!(
        out.starts_with("MAIL FROM:<a@example.test> ENVID=+2B"),
        "{out}"
    );
}

/// RFC 5321 4.1.2: `esmtp-value = 1*(%d33-60 / %d62-126)`, so an empty ENVID would go
/// out as `ENVID=` with no value, a malformed parameter the server refuses (`501 5.5.4`)
/// along with the whole MAIL; the client refuses the message before sending anything
/// instead, as for the other ENVIDs the server would refuse. (Found by the `e2e` fuzz
/// target.)
#[test]
fn empty_envid_is_refused_before_sending() {
    let mut e = env(&["b@example.test"]);
    e.envid = Some(String::new());
    let mut t = T::plain();
    t.hello(&["DSN", "PIPELINING"]);
    let id = t.c.send(e.clone(), "x\r\n").unwrap();
    t.expect("");
    assert_eq!(
        results(&t.events()),
        vec![(id, Err(MessageError::InvalidEnvelope))]
    );
    // Without DSN the ENVID is not sent, so the message goes.
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(e, "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
}

/// RFC 3461 4.4 and 4.2: the ENVID and an ORCPT address are printable US-ASCII before
/// xtext encoding (the `utf-8` address type of RFC 6533 also takes non-ASCII text). A
/// control character, which the encoding would carry into the DSN's fields (a CR LF ends
/// one there), or non-ASCII text in an `rfc822` address, fails the message before
/// anything is sent.
#[test]
fn envid_and_orcpt_that_are_not_printable_ascii_are_refused_before_sending() {
    use ehlo::syntax::param::Orcpt;
    use ehlo::syntax::xtext::XText;
    use std::borrow::Cow;
    let mut bad: Vec<Envelope> = Vec::new();
    for envid in ["id\r\nX-Injected: 1", "id\0", "j\u{f6}rg"] {
        let mut e = env(&["b@example.test"]);
        e.envid = Some(envid.to_string());
        bad.push(e);
    }
    for (addr_type, addr) in [
        ("rfc822", "b@example.test\r\nX: 1"),
        ("rfc822", "j\u{f6}rg@example.test"),
        ("utf-8", "b\u{7f}@example.test"),
    ] {
        let mut e = env(&["b@example.test"]);
        e.recipients[0].orcpt = Some(Orcpt {
            addr_type: Cow::Borrowed(addr_type),
            addr: XText::encode(addr.as_bytes()),
        });
        bad.push(e);
    }
    for e in bad {
        let mut t = T::plain();
        t.hello(&["DSN", "PIPELINING"]);
        let id = t.c.send(e.clone(), "x\r\n").unwrap();
        t.expect("");
        assert_eq!(
            results(&t.events()),
            vec![(id, Err(MessageError::InvalidEnvelope))],
            "{e:?}"
        );
    }
    // Printable text, SP and HTAB included, goes out encoded; so does an escaped
    // non-ASCII address of the `utf-8` type.
    let mut e = env(&["b@example.test"]);
    e.envid = Some("id 1\t2".to_string());
    e.recipients[0].orcpt = Some(Orcpt {
        addr_type: Cow::Borrowed("utf-8"),
        addr: XText::encode("j\u{f6}rg@example.test".as_bytes()),
    });
    let mut t = T::plain();
    t.hello(&["DSN", "PIPELINING"]);
    t.c.send(e, "x\r\n").unwrap();
    let out = t.sent();
    assert!(out.contains(" ENVID=id+201+092\r\n"), "{out}");
    assert!(
        out.contains(" ORCPT=utf-8;j+C3+B6rg@example.test\r\n"),
        "{out}"
    );
}

/// The results, the message's id and the text sent.
type Sent = (
    Vec<(MessageId, Result<u16, MessageError>)>,
    MessageId,
    String,
);

/// Sends one recipient with `set` applied under DSN; the message's result and what was
/// sent.
fn send_with_recipient(set: impl FnOnce(&mut ehlo::client::Recipient)) -> Sent {
    let mut e = env(&["b@example.test"]);
    set(&mut e.recipients[0]);
    let mut t = T::plain();
    t.hello(&["DSN", "PIPELINING"]);
    let id = t.c.send(e, "x\r\n").unwrap();
    let sent = t.sent();
    (results(&t.events()), id, sent)
}

/// RFC 3461 4.1: NOTIFY is NEVER alone or a non-empty list of SUCCESS, FAILURE and DELAY.
/// An empty `Notify` or NEVER with others is refused before anything is sent (the
/// client used to put `NOTIFY=` or `NOTIFY=NEVER,SUCCESS` on the wire).
#[test]
fn client_sends_no_invalid_notify() {
    for bad in [
        Notify::default(),
        Notify {
            never: true,
            success: true,
            ..Notify::default()
        },
        Notify {
            never: true,
            failure: true,
            delay: true,
            ..Notify::default()
        },
    ] {
        let (results, id, sent) = send_with_recipient(|r| r.notify = Some(bad));
        assert_eq!(sent, "", "{bad:?}");
        assert_eq!(results, vec![(id, Err(MessageError::InvalidEnvelope))]);
    }
    for (ok, wire) in [
        (
            Notify {
                never: true,
                ..Notify::default()
            },
            "NOTIFY=NEVER",
        ),
        (
            Notify {
                success: true,
                delay: true,
                ..Notify::default()
            },
            "NOTIFY=SUCCESS,DELAY",
        ),
    ] {
        let (_, _, sent) = send_with_recipient(|r| r.notify = Some(ok));
        assert!(
            sent.contains(&format!("RCPT TO:<b@example.test> {wire}\r\n")),
            "{sent}"
        );
    }
}

/// RFC 6533 section 3: an ORCPT address holds UTF-8 as itself only in the `utf-8` type of
/// an SMTPUTF8 transaction; in any other type, or without SMTPUTF8, it is refused before
/// anything is sent (the server would refuse the RCPT with 501).
#[test]
fn client_sends_utf8_in_orcpt_only_as_utf8_addr_type_under_smtputf8() {
    use ehlo::syntax::param::Orcpt;
    use ehlo::syntax::xtext::XText;
    use std::borrow::Cow;
    let orcpt = |t: &'static str| Orcpt {
        addr_type: Cow::Borrowed(t),
        addr: XText(Cow::Borrowed("j\u{f6}rg@example.test")),
    };
    let send = |t: &'static str, smtputf8: bool| {
        let mut e = env(&["b@example.test"]);
        e.smtputf8 = smtputf8;
        e.recipients[0].orcpt = Some(orcpt(t));
        let mut t = T::plain();
        t.hello(&["DSN", "SMTPUTF8", "8BITMIME", "PIPELINING"]);
        let id = t.c.send(e, "x\r\n").unwrap();
        let sent = t.sent();
        (results(&t.events()), id, sent)
    };
    for (addr_type, smtputf8) in [("rfc822", true), ("utf-8", false), ("rfc822", false)] {
        let (results, id, sent) = send(addr_type, smtputf8);
        assert_eq!(sent, "", "{addr_type} {smtputf8}");
        assert_eq!(results, vec![(id, Err(MessageError::InvalidEnvelope))]);
    }
    let (_, _, sent) = send("utf-8", true);
    assert!(
        sent.contains("RCPT TO:<b@example.test> ORCPT=utf-8;j\u{f6}rg@example.test\r\n"),
        "{sent}"
    );
}

/// RFC 3461 4.2: ORCPT is `addr-type ";" xtext` with addr-type an atom. One with a
/// space would smuggle another parameter onto the RCPT line; it, and an empty or
/// otherwise non-atom addr-type, are refused before anything is sent.
#[test]
fn client_sends_no_non_atom_orcpt_addr_type() {
    use ehlo::syntax::param::Orcpt;
    use ehlo::syntax::xtext::XText;
    use std::borrow::Cow;
    for addr_type in ["NOTIFY=NEVER rfc822", "", "rfc;822", "rfc.822", "utf-8\t"] {
        let (results, id, sent) = send_with_recipient(|r| {
            r.orcpt = Some(Orcpt {
                addr_type: Cow::Owned(addr_type.to_string()),
                addr: XText::encode(b"b@example.test"),
            })
        });
        assert_eq!(sent, "", "{addr_type:?}");
        assert_eq!(results, vec![(id, Err(MessageError::InvalidEnvelope))]);
    }
    let (_, _, sent) = send_with_recipient(|r| {
        r.orcpt = Some(Orcpt {
            addr_type: Cow::Borrowed("utf-8"),
            addr: XText::encode(b"b@example.test"),
        })
    });
    assert!(sent.contains(" ORCPT=utf-8;b@example.test\r\n"), "{sent}");
}

#[test]
fn injected_line_breaks_in_parameters_are_refused() {
    use ehlo::syntax::param::Orcpt;
    use ehlo::syntax::xtext::XText;
    use std::borrow::Cow;
    let mut e = env(&["b@example.test"]);
    e.recipients[0].orcpt = Some(Orcpt {
        addr_type: Cow::Borrowed("rfc822"),
        addr: XText(Cow::Borrowed(
            "b@example.test\r\nRCPT TO:<evil@example.test>",
        )),
    });
    let mut t = T::plain();
    t.hello(&["DSN", "PIPELINING"]);
    let id = t.c.send(e, "x\r\n").unwrap();
    t.expect("");
    assert_eq!(
        results(&t.events()),
        vec![(id, Err(MessageError::InvalidEnvelope))]
    );
}

/// The envelope's fields are public, so a caller can build a path or an Exchange parameter
/// by hand, bypassing the parsers: a value that would break the MAIL or RCPT line (CR, LF
/// or NUL) fails the message with `InvalidEnvelope` before anything is sent (RFC 5321
/// 2.3.8: CRLF only ends a line; no second command may ride on the caller's value).
#[test]
fn hand_built_paths_and_exchange_parameters_cannot_inject() {
    use ehlo::syntax::path::{Domain, ForwardPath, Host, LocalPart, Mailbox, ReversePath};
    use ehlo::syntax::xtext::XText;
    use std::borrow::Cow;
    let evil = |s: &str| Cow::Owned(format!("{s}\r\nRCPT TO:<evil@example.test>"));
    let evil_mailbox = || Mailbox {
        local_part: LocalPart::DotString(evil("a")),
        host: Host::Domain(Domain(Cow::Borrowed("example.test"))),
    };
    let mut cases: Vec<(Envelope, &[&str])> = Vec::new();
    let mut e = env(&["b@example.test"]);
    e.from = ReversePath::Mailbox(evil_mailbox());
    cases.push((e, &["PIPELINING"]));
    let mut e = env(&["b@example.test"]);
    e.recipients[0].path = ForwardPath::Mailbox(Mailbox {
        local_part: LocalPart::Quoted(Cow::Borrowed("b\0c")),
        host: Host::Domain(Domain(evil("example.test"))),
    });
    cases.push((e, &["PIPELINING"]));
    let mut e = env(&["b@example.test"]);
    e.exchange.xoorg = Some(XText(evil("org")));
    cases.push((e, &["PIPELINING", "XOORG"]));
    for (e, caps) in cases {
        let mut t = T::plain();
        t.hello(caps);
        let id = t.c.send(e, "x\r\n").unwrap();
        t.expect("");
        assert_eq!(
            results(&t.events()),
            vec![(id, Err(MessageError::InvalidEnvelope))]
        );
    }
}

#[test]
fn usual_hostnames_go_out() {
    for name in [
        "localhost",
        "client.example.test",
        "my_host.example",
        "[192.0.2.1]",
        "[IPv6:::1]",
        "xn--bcher-kva.example",
    ] {
        let mut t = T::new(ClientConfig::new(name));
        t.server("220 mx\r\n");
        t.expect(&format!("EHLO {name}\r\n"));
    }
}

/// The longest domain (RFC 5321 4.5.3.1.2: 255 octets) goes out; one octet more is not a
/// domain, and a name of 600 octets would make an EHLO line over the 512 octets of
/// 4.5.3.1.4.
#[test]
fn hostname_length_limit() {
    let label = "a".repeat(63);
    let longest = format!("{label}.{label}.{label}.{}", "b".repeat(63));
    assert_eq!(longest.len(), 255);
    let mut t = T::new(ClientConfig::new(longest.clone()));
    t.server("220 mx\r\n");
    t.expect(&format!("EHLO {longest}\r\n"));
    for name in [format!("{longest}c"), "a".repeat(600)] {
        let mut t = T::new(ClientConfig::new(name));
        t.server("220 mx\r\n");
        t.expect("");
        assert!(t
            .events()
            .contains(&Event::Closed(CloseReason::InvalidHostname)));
    }
}

/// RFC 5321 4.1.3 (and RFC 1123 2.1: a host name never has the dotted-decimal form): a
/// client that names itself by an IP address sends the address literal, `[192.0.2.1]` or
/// `[IPv6:2001:db8::1]`, never the bare address.
#[test]
fn hostname_that_is_an_ip_address_goes_out_as_an_address_literal() {
    for (name, sent) in [
        ("192.0.2.1", "[192.0.2.1]"),
        ("2001:db8::1", "[IPv6:2001:db8::1]"),
        ("::1", "[IPv6:::1]"),
        ("::ffff:192.0.2.1", "[IPv6:::ffff:192.0.2.1]"),
    ] {
        let mut t = T::new(ClientConfig::new(name));
        t.server("220 mx\r\n");
        t.expect(&format!("EHLO {sent}\r\n"));
        t.server("502 no\r\n");
        t.expect(&format!("HELO {sent}\r\n"));
    }
}

#[test]
fn invalid_hostname_never_goes_out() {
    for name in [
        "client\r\nMAIL FROM:<x@y>",
        "",
        "two words",
        "bücher.example",
        "[1.2.3]",
        // Whitespace and control characters are never part of a Domain (RFC 5321 4.1.2).
        "client\t.example.test",
        "client.example.test\x0b",
        "client\x1b[2J.example.test",
        "client.example.test\x7f",
        "fe80::1%eth0",
    ] {
        let mut t = T::new(ClientConfig::new(name));
        t.server("220 mx\r\n");
        t.expect("");
        assert!(t
            .events()
            .contains(&Event::Closed(CloseReason::InvalidHostname)));
    }
}

#[test]
fn large_whole_body_over_data_is_cut_in_pieces_and_stuffed_across_them() {
    let body = ".x\r\n".repeat(50_000); // 200 kB, a dot at every line start
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(env(&["b@example.test"]), body.clone()).unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    // Produced lazily: at most one piece (64 kB) is encoded ahead of the transport.
    let first = t.c.poll_transmit(t.now).unwrap();
    assert!(first.len() <= 2 * 64 * 1024);
    let mut out = first.to_vec();
    out.extend_from_slice(&t.sent_bytes());
    assert_eq!(
        out,
        format!("{}.\r\n", "..x\r\n".repeat(50_000)).into_bytes()
    );
}

// ---- a delivered message stays delivered (RFC 5321 4.1.1.4 / 6.1) ----

/// A pipelined DATA transaction up to the end of the content; the server's replies after
/// it are `reads`, one `receive` each. Returns the message id and the events.
fn data_then(reads: &[&str]) -> (MessageId, Vec<Event>) {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    let id = t.c.send(env(&["b@example.test"]), "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.expect("hi\r\n.\r\n");
    for r in reads {
        t.server(r);
    }
    (id, t.events())
}

/// Once the server answered 250 to the end of data it is responsible for the message: a
/// 421 in the same read must not turn it into a failure (the caller would send it again).
#[test]
fn delivered_then_421_in_the_same_read_is_still_delivered() {
    let (id, ev) = data_then(&["250 2.0.0 queued as X\r\n421 4.3.2 shutting down\r\n"]);
    assert_eq!(results(&ev), vec![(id, Ok(250))], "{ev:#?}");
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::ServiceUnavailable(_)))
    ));
}

/// The same bytes in two reads give the same outcome.
#[test]
fn delivered_then_421_in_separate_reads_is_delivered() {
    let (id, ev) = data_then(&["250 2.0.0 queued as X\r\n", "421 4.3.2 shutting down\r\n"]);
    assert_eq!(results(&ev), vec![(id, Ok(250))], "{ev:#?}");
}

/// Same with the 250 to `BDAT n LAST`.
#[test]
fn bdat_delivered_then_421_in_the_same_read_is_still_delivered() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "CHUNKING"]);
    let id = t.c.send(env(&["b@example.test"]), "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 4 LAST\r\nhi\r\n");
    t.server("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n421 4.3.2 bye\r\n");
    let ev = t.events();
    assert_eq!(results(&ev), vec![(id, Ok(250))], "{ev:#?}");
}

/// Same when the 250 is followed by an unsolicited reply (a protocol error).
#[test]
fn delivered_then_unsolicited_reply_in_the_same_read_is_still_delivered() {
    let (id, ev) = data_then(&["250 2.0.0 queued\r\n250 extra\r\n"]);
    assert_eq!(results(&ev), vec![(id, Ok(250))], "{ev:#?}");
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::Protocol(
            ProtocolError::Unsolicited(_)
        )))
    ));
}

/// The next queued message, never answered, still fails with the session.
#[test]
fn delivered_then_421_fails_only_the_messages_not_yet_answered() {
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    let a = t.c.send(env(&["b@example.test"]), "hi\r\n").unwrap();
    let b = t.c.send(env(&["b@example.test"]), "second\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.expect("hi\r\n.\r\n");
    t.server("250 2.0.0 queued\r\n421 4.3.2 bye\r\n");
    t.expect("");
    let r = results(&t.events());
    assert_eq!(r[0], (a, Ok(250)));
    assert!(matches!(
        &r[1],
        (m, Err(MessageError::SessionClosed(CloseReason::ServiceUnavailable(_)))) if *m == b
    ));
}

// ---- a 3xx where none is possible (RFC 5321 4.2.1 / 4.3.2) ----

/// The command a closing `UnexpectedReply` names, and the code.
fn unexpected(ev: &[Event]) -> Option<(&'static str, u16)> {
    ev.iter().find_map(|e| match e {
        Event::Closed(CloseReason::Protocol(ProtocolError::UnexpectedReply { command, reply })) => {
            Some((*command, reply.code.0))
        }
        _ => None,
    })
}

/// 354 is not a possible reply to MAIL: the server believes it is reading content, so
/// an RSET would be taken as data. Close without sending anything.
#[test]
fn reply_354_to_mail_is_a_protocol_error() {
    let mut t = T::plain();
    t.hello(&[]);
    let id = t.c.send(env(&["b@example.test"]), "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("354 go ahead\r\n");
    t.expect("");
    let ev = t.events();
    assert_eq!(unexpected(&ev), Some(("MAIL", 354)), "{ev:#?}");
    assert!(matches!(
        &results(&ev)[..],
        [(m, Err(MessageError::SessionClosed(CloseReason::Protocol(_))))] if *m == id
    ));
    assert!(t.c.is_closed());
}

/// Same for a 334 (an AUTH continuation) to RCPT, with and without pipelining.
#[test]
fn reply_334_to_rcpt_is_a_protocol_error() {
    let mut t = T::plain();
    t.hello(&[]);
    t.c.send(env(&["b@example.test"]), "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("250 ok\r\n");
    t.expect("RCPT TO:<b@example.test>\r\n");
    t.server("334 VXNlcm5hbWU6\r\n");
    t.expect("");
    let ev = t.events();
    assert_eq!(unexpected(&ev), Some(("RCPT", 334)), "{ev:#?}");
    assert!(
        rcpt_results(&ev).is_empty(),
        "not a recipient result: {ev:#?}"
    );

    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.c.send(env(&["b@example.test", "c@example.test"]), "hi\r\n")
        .unwrap();
    let _ = t.sent();
    t.server("250 ok\r\n250 ok\r\n354 what\r\n354 go\r\n");
    t.expect("");
    let ev = t.events();
    assert_eq!(unexpected(&ev), Some(("RCPT", 354)), "{ev:#?}");
    assert_eq!(rcpt_results(&ev), [(0, true, 250)]);
}

/// DATA takes 354 only; BDAT and the end of data take no 3xx at all (RFC 3030 2,
/// RFC 5321 4.3.2).
#[test]
fn other_3xx_to_data_bdat_and_end_of_data_are_protocol_errors() {
    let mut t = in_flight(&["PIPELINING"]);
    t.server("250 ok\r\n250 ok\r\n334 eh\r\n");
    t.expect("");
    assert_eq!(unexpected(&t.events()), Some(("DATA", 334)));

    let mut t = in_flight(&["PIPELINING"]);
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.expect("hi\r\n.\r\n");
    t.server("354 again\r\n");
    t.expect("");
    let ev = t.events();
    assert_eq!(unexpected(&ev), Some(("end of data", 354)));
    assert!(matches!(
        &results(&ev)[..],
        [(_, Err(MessageError::SessionClosed(_)))]
    ));

    let mut t = in_flight(&["PIPELINING", "CHUNKING"]);
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    t.expect("");
    assert_eq!(unexpected(&t.events()), Some(("BDAT", 354)));
}

/// DATA succeeds only with `354`, and the message only with the reply after the content
/// (RFC 5321 4.3.2, 4.1.1.4): a `2yz` to DATA itself is no refusal but a reply out of
/// step (an extra reply, with PIPELINING, RFC 2920 3.1), and the server may be reading
/// content now. Close without sending anything (no RSET, no next transaction): the
/// message was not delivered and is retried; never reported refused with a `250`.
#[test]
fn a_2yz_to_data_is_a_protocol_error() {
    for pipelining in [true, false] {
        let mut t = T::plain();
        t.hello(if pipelining { &["PIPELINING"] } else { &[] });
        let a = t.c.send(env(&["b@example.test"]), "hi\r\n").unwrap();
        t.c.send(env(&["b@example.test"]), "second\r\n").unwrap();
        if pipelining {
            t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
            t.server("250 ok\r\n250 ok\r\n250 ok\r\n");
        } else {
            t.expect("MAIL FROM:<a@example.test>\r\n");
            t.server("250 ok\r\n");
            t.expect("RCPT TO:<b@example.test>\r\n");
            t.server("250 ok\r\n");
            t.expect("DATA\r\n");
            t.server("250 ok\r\n");
        }
        t.expect("");
        let ev = t.events();
        assert_eq!(unexpected(&ev), Some(("DATA", 250)), "{ev:#?}");
        let r = results(&ev);
        assert!(
            matches!(&r[0], (m, Err(MessageError::SessionClosed(_))) if *m == a),
            "{r:?}"
        );
        assert_eq!(r.len(), 2);
    }
}

/// No 3xx to RSET either; the legitimate 354 to XEXCH50 is still accepted (tested in
/// `xexch50_after_recipients_when_advertised`), another 3xx is not.
#[test]
fn reply_3xx_to_rset_or_xexch50_is_a_protocol_error() {
    let mut t = T::plain();
    t.hello(&[]);
    t.c.send(env(&["b@example.test"]), "hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\n");
    t.server("550 no\r\n");
    t.expect("RSET\r\n");
    t.server("354 go\r\n");
    t.expect("");
    assert_eq!(unexpected(&t.events()), Some(("RSET", 354)));

    let mut e = env(&["b@example.test"]);
    e.xexch50 = Some(Xexch50 {
        blob: Bytes::from_static(b"BLOB"),
        mode: 2,
    });
    let mut t = T::plain();
    t.hello(&["PIPELINING", "XEXCH50"]);
    t.c.send(e, "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nXEXCH50 4 2\r\n");
    t.server("250 ok\r\n250 ok\r\n334 eh\r\n");
    t.expect("");
    assert_eq!(unexpected(&t.events()), Some(("XEXCH50", 334)));
}

/// With PIPELINING every `BDAT` chunk awaits its own reply (RFC 3030 section 2, RFC 2920):
/// a server that reads but never answers would make the client keep one pending reply per
/// chunk for as long as the caller streams. The client stops asking for more body while
/// 1024 chunks are unanswered, and resumes as replies arrive.
#[test]
fn streamed_bdat_stops_while_too_many_chunks_are_unanswered() {
    let (mut t, id) = streamed(&["PIPELINING", "CHUNKING"], BodyType::SevenBit, None);
    let mut pushed = 0;
    while body_needed(&t.events()) == Some(id) {
        t.c.push_body(id, bytes("x\r\n")).unwrap();
        let _ = t.sent_bytes();
        pushed += 1;
        assert!(pushed < 5000, "the client never stops asking");
    }
    // MAIL, RCPT and the chunks: 1024 replies outstanding; one piece is held back.
    assert_eq!(pushed, 1024 - 2 + 1);
    t.server("250 ok\r\n");
    assert_eq!(body_needed(&t.events()), Some(id));
    t.c.push_body(id, bytes("x\r\n")).unwrap();
    assert_eq!(body_needed(&t.events()), None);
    t.c.finish_body(id).unwrap_err();
}

/// `push_body` and `finish_body` as documented: a piece for another message is refused,
/// an empty piece sends nothing and asks for the next one, and nothing is taken after
/// `finish_body`.
#[test]
fn streamed_body_empty_piece_and_pieces_out_of_turn() {
    let (mut t, id) = streamed(&["PIPELINING"], BodyType::SevenBit, None);
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(body_needed(&t.events()), Some(id));
    let other = MessageId(id.0 + 1);
    assert_eq!(
        t.c.push_body(other, bytes("x")),
        Err(UsageError::BodyNotExpected)
    );
    assert_eq!(t.c.finish_body(other), Err(UsageError::BodyNotExpected));
    // An empty piece: nothing goes out, and the next piece is asked for.
    t.c.push_body(id, Bytes::new()).unwrap();
    t.expect("");
    assert_eq!(body_needed(&t.events()), Some(id));
    t.c.push_body(id, bytes("x\r\n")).unwrap();
    t.c.finish_body(id).unwrap();
    t.expect("x\r\n.\r\n");
    assert_eq!(
        t.c.push_body(id, bytes("late")),
        Err(UsageError::BodyNotExpected)
    );
    t.server("250 ok\r\n");
    assert!(matches!(results(&t.events())[..], [(_, Ok(250))]));
}

/// `finish_body`: a streamed body that ends in a bare CR is `Binary`, which breaks a
/// declared `SevenBit`; over DATA the message is aborted (no end of data is sent) and the
/// session closes with `Aborted`.
#[test]
fn streamed_body_ending_in_a_bare_cr_is_aborted_at_finish() {
    let (mut t, id) = streamed(&["PIPELINING"], BodyType::SevenBit, None);
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(body_needed(&t.events()), Some(id));
    // The CR at the end of a piece may still be followed by LF: not a violation yet.
    t.c.push_body(id, bytes("line\r\nend\r")).unwrap();
    assert_eq!(t.c.finish_body(id), Err(UsageError::BodyTypeViolation));
    assert!(t.c.is_closed());
    assert!(!t.sent().contains(".\r\n"), "no end of data after an abort");
    let ev = t.events();
    assert_eq!(
        results(&ev),
        vec![(id, Err(MessageError::BodyTypeViolation))]
    );
    assert_eq!(ev.last(), Some(&Event::Closed(CloseReason::Aborted)));
}

/// An XEXCH50 blob over 1 GB (`MAX_XEXCH50_BLOB`) to a server that advertises XEXCH50
/// fails the message with `Xexch50TooLarge` before anything of the transaction is sent.
/// (The blob is zeroed memory the test never touches.)
#[test]
fn xexch50_blob_over_one_gigabyte_is_refused_before_sending() {
    let mut e = env(&["b@example.test"]);
    let size = usize::try_from(ehlo::limits::MAX_XEXCH50_BLOB).unwrap() + 1;
    e.xexch50 = Some(Xexch50 {
        blob: Bytes::from(vec![0u8; size]),
        mode: 2,
    });
    let mut t = T::plain();
    t.hello(&["PIPELINING", "XEXCH50"]);
    let id = t.c.send(e, "x\r\n").unwrap();
    t.expect("");
    assert_eq!(
        results(&t.events()),
        vec![(id, Err(MessageError::Xexch50TooLarge))]
    );
    // The session goes on.
    t.c.send(env(&["b@example.test"]), "x\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
}
