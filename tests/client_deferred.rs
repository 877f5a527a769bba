//! "Too many recipients" end to end in memory (RFC 5321 4.5.3.1.10): a server that takes
//! at most `limit` recipients per transaction answers `452 4.5.3` to the others; the
//! client sends the same message again to those with [`Envelope::deferred`] until every
//! recipient has it, with and without PIPELINING.
use bytes::Bytes;
use ehlo::client::{Client, ClientConfig, Envelope, Event as CEvent, RecipientStatus};
use ehlo::server::{Event as SEvent, Server, ServerConfig};
use ehlo::syntax::path::ForwardPath;
use std::time::Instant;

const BODY: &[u8] = b"Subject: many\r\n\r\n.leading dot\r\nbody\r\n";

/// One stored transaction: its recipients and content.
type Stored = (Vec<String>, Vec<u8>);

/// Runs a session: sends to `count` recipients, retries the deferred ones after each
/// delivered message, then quits. Returns what the server stored, the transactions the
/// client ran, and each original recipient's final reply code.
fn run(limit: usize, count: usize, pipelining: bool) -> (Vec<Stored>, usize, Vec<u16>) {
    let now = Instant::now();
    let mut sc = ServerConfig::new("mx.example.test");
    sc.limits.max_recipients = limit;
    sc.extensions.pipelining = pipelining;
    let mut server = Server::new(sc, now);
    let mut cc = ClientConfig::new("client.example.test");
    cc.pipelining = pipelining;
    let mut client = Client::new(cc, now);

    let mut envelope = Envelope::new("sender@example.test").unwrap();
    for i in 0..count {
        envelope
            .add_recipient(&format!("r{i}@example.test"))
            .unwrap();
    }
    let body = Bytes::from_static(BODY);
    // Original index of each recipient of the transaction in flight.
    let mut current: (Envelope, Vec<usize>) = (envelope.clone(), (0..count).collect());
    client.send(current.0.clone(), body.clone()).unwrap();
    let mut transactions = 1;
    let mut final_code = vec![0u16; count];

    let mut stored: Vec<Stored> = Vec::new();
    let mut rcpts: Vec<String> = Vec::new();
    let mut content: Vec<u8> = Vec::new();
    for _ in 0..10_000 {
        while let Some(b) = client.poll_transmit(now) {
            server.receive(now, &b);
        }
        while let Some(ev) = server.poll_event() {
            match ev {
                SEvent::RcptTo { to, .. } => {
                    if let ForwardPath::Mailbox(m) = &to {
                        rcpts.push(m.to_string());
                    }
                    server.accept();
                }
                SEvent::MessageChunk(b) => content.extend_from_slice(&b),
                SEvent::MessageEnd { .. } => {
                    stored.push((std::mem::take(&mut rcpts), std::mem::take(&mut content)));
                    server.accept();
                }
                ev if ev.needs_decision() => server.accept(),
                _ => {}
            }
        }
        while let Some(b) = server.poll_transmit() {
            client.receive(&b);
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                CEvent::MessageResult {
                    result, recipients, ..
                } => {
                    assert!(result.is_ok(), "{result:?}");
                    for RecipientStatus { index, reply } in &recipients {
                        let original = current.1[*index];
                        final_code[original] = reply.as_ref().map_or(0, |r| r.code.0);
                    }
                    match current.0.deferred(&recipients) {
                        Some((again, indices)) => {
                            let originals = indices.iter().map(|&i| current.1[i]).collect();
                            current = (again, originals);
                            client.send(current.0.clone(), body.clone()).unwrap();
                            transactions += 1;
                        }
                        None => client.quit(),
                    }
                }
                CEvent::Closed(reason) => {
                    assert!(client.is_closed(), "{reason:?}");
                }
                _ => {}
            }
        }
        if client.is_closed() {
            return (stored, transactions, final_code);
        }
    }
    panic!("the session did not end");
}

#[test]
fn every_recipient_gets_the_message_in_as_many_transactions_as_needed() {
    for pipelining in [true, false] {
        let (stored, transactions, codes) = run(2, 5, pipelining);
        assert_eq!(transactions, 3, "pipelining {pipelining}");
        let groups: Vec<Vec<String>> = stored.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(
            groups,
            [
                vec!["r0@example.test", "r1@example.test"],
                vec!["r2@example.test", "r3@example.test"],
                vec!["r4@example.test"],
            ]
        );
        for (_, content) in &stored {
            assert_eq!(content, BODY);
        }
        assert_eq!(codes, [250; 5]);
    }
}

#[test]
fn within_the_limit_there_is_one_transaction() {
    let (stored, transactions, codes) = run(100, 100, true);
    assert_eq!(transactions, 1);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0.len(), 100);
    assert_eq!(codes, [250; 100]);
}
