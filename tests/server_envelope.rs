//! `ServerConfig::record_envelope` and `Server::envelope`: the machine keeps the envelope
//! the caller accepted, and nothing else, for exactly as long as the transaction is open.

use ehlo::server::{AcceptedEnvelope, Decision, Event, Server, ServerConfig};
use ehlo::{EnhancedCode, Reply};
use std::time::Instant;

/// What the caller saw of one message: the envelope at `MessageEnd` and the content.
#[derive(Debug, PartialEq)]
struct Seen {
    envelope: Option<AcceptedEnvelope>,
    content: Vec<u8>,
}

/// Runs `input` (fed in pieces of `step` octets) through a server that refuses recipients
/// at `elsewhere.test`, answers `MessageEnd` with `end`, and records each message's
/// envelope as `Server::envelope` gives it when `MessageEnd` arrives. Also checks, after
/// every event, that the envelope is there exactly while a transaction is open.
fn run(config: ServerConfig, input: &[u8], step: usize, end: &dyn Fn() -> Decision) -> Vec<Seen> {
    let recording = config.record_envelope;
    let now = Instant::now();
    let mut server = Server::new(config, now);
    let mut seen = Vec::new();
    let mut content = Vec::new();
    let mut pieces = input.chunks(step.max(1));
    loop {
        while let Some(event) = server.poll_event() {
            match event {
                Event::RcptTo { to, .. } if to.to_string().contains("@elsewhere.test") => {
                    server.decide(Decision::Reply(Reply::new(
                        550,
                        Some(EnhancedCode::new(5, 7, 1)),
                        "Relaying denied",
                    )));
                }
                Event::MessageChunk(b) => content.extend_from_slice(&b),
                Event::MessageEnd { .. } => {
                    seen.push(Seen {
                        envelope: server.envelope().cloned(),
                        content: std::mem::take(&mut content),
                    });
                    server.decide(end());
                    assert!(server.envelope().is_none(), "the decision ends it");
                }
                Event::Reset | Event::MessageAborted(_) => content.clear(),
                event if event.needs_decision() => server.decide(Decision::Default),
                _ => {}
            }
            assert_eq!(
                server.envelope().is_some(),
                recording && server.in_transaction(),
                "an envelope exactly while a transaction is open"
            );
            if let Some(e) = server.envelope() {
                assert_eq!(e.recipients.len(), server.recipients());
            }
        }
        while server.poll_transmit().is_some() {}
        match pieces.next() {
            Some(p) => server.receive(now, p),
            None => break,
        }
    }
    seen
}

fn recording() -> ServerConfig {
    let mut config = ServerConfig::new("mx.example.test");
    config.record_envelope = true;
    config
}

const TWO_MESSAGES: &[u8] = b"EHLO c.example.test\r\n\
MAIL FROM:<a@example.test> SIZE=100 BODY=8BITMIME ENVID=e1 RET=HDRS\r\n\
RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test\r\n\
RCPT TO:<x@elsewhere.test>\r\n\
RCPT TO:<c@example.test>\r\n\
DATA\r\n\
one\r\n\
.\r\n\
MAIL FROM:<>\r\n\
RCPT TO:<d@example.test>\r\n\
DATA\r\n\
two\r\n\
.\r\n\
QUIT\r\n";

#[test]
fn off_by_default() {
    let seen = run(
        ServerConfig::new("mx.example.test"),
        TWO_MESSAGES,
        usize::MAX,
        &|| Decision::Accept,
    );
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.envelope.is_none()));
}

#[test]
fn the_accepted_envelope_with_its_parameters() {
    let seen = run(recording(), TWO_MESSAGES, usize::MAX, &|| Decision::Accept);
    assert_eq!(seen.len(), 2);

    let first = seen[0].envelope.as_ref().unwrap();
    assert_eq!(first.from.to_string(), "<a@example.test>");
    assert_eq!(first.params.size, Some(100));
    assert_eq!(first.params.envid.as_ref().unwrap().as_str(), "e1");
    assert!(first.params.ret.is_some());
    // The refused recipient is not in it; the accepted ones are, in order.
    let to: Vec<String> = first.recipients.iter().map(|r| r.to.to_string()).collect();
    assert_eq!(to, ["<b@example.test>", "<c@example.test>"]);
    let notify = first.recipients[0].params.notify.unwrap();
    assert!(notify.success && notify.failure && !notify.delay);
    let orcpt = first.recipients[0].params.orcpt.as_ref().unwrap();
    assert_eq!(orcpt.addr_type, "rfc822");
    assert_eq!(orcpt.addr.as_str(), "b@example.test");
    assert!(first.recipients[1].params.notify.is_none());
    assert_eq!(seen[0].content, b"one\r\n");

    // The second transaction starts afresh.
    let second = seen[1].envelope.as_ref().unwrap();
    assert_eq!(second.from.to_string(), "<>");
    assert_eq!(second.recipients.len(), 1);
    assert_eq!(second.recipients[0].to.to_string(), "<d@example.test>");
    assert_eq!(seen[1].content, b"two\r\n");
}

#[test]
fn the_same_envelope_however_the_input_is_split() {
    let whole = run(recording(), TWO_MESSAGES, usize::MAX, &|| Decision::Accept);
    for step in 1..40 {
        assert_eq!(
            run(recording(), TWO_MESSAGES, step, &|| Decision::Accept),
            whole,
            "pieces of {step}"
        );
    }
}

#[test]
fn a_refused_message_ends_the_transaction_and_its_envelope() {
    let refuse = || {
        Decision::Reply(Reply::new(
            451,
            Some(EnhancedCode::new(4, 3, 0)),
            "Try later",
        ))
    };
    let seen = run(recording(), TWO_MESSAGES, usize::MAX, &refuse);
    assert_eq!(seen.len(), 2);
    // Each message still had its own envelope while MessageEnd waited.
    assert_eq!(seen[0].envelope.as_ref().unwrap().recipients.len(), 2);
    assert_eq!(seen[1].envelope.as_ref().unwrap().from.to_string(), "<>");
}

#[test]
fn rset_helo_and_refusals_leave_nothing_behind() {
    let input = b"EHLO c.example.test\r\n\
MAIL FROM:<a@example.test>\r\n\
RCPT TO:<b@example.test>\r\n\
RSET\r\n\
MAIL FROM:<f@example.test>\r\n\
RCPT TO:<g@example.test>\r\n\
EHLO again.example.test\r\n\
MAIL FROM:<h@example.test>\r\n\
RCPT TO:<x@elsewhere.test>\r\n\
RCPT TO:<i@example.test>\r\n\
DATA\r\n\
three\r\n\
.\r\n";
    let seen = run(recording(), input, usize::MAX, &|| Decision::Accept);
    assert_eq!(seen.len(), 1);
    let envelope = seen[0].envelope.as_ref().unwrap();
    // Only what the last transaction accepted: nothing of the RSET one or the one the
    // second EHLO ended.
    assert_eq!(envelope.from.to_string(), "<h@example.test>");
    let to: Vec<String> = envelope
        .recipients
        .iter()
        .map(|r| r.to.to_string())
        .collect();
    assert_eq!(to, ["<i@example.test>"]);
}

#[test]
fn recipients_the_machine_refuses_are_not_recorded() {
    let mut config = recording();
    config.limits.max_recipients = 2;
    let input = b"EHLO c.example.test\r\n\
MAIL FROM:<a@example.test>\r\n\
RCPT TO:<b@example.test>\r\n\
RCPT TO:<not an address>\r\n\
RCPT TO:<c@example.test>\r\n\
RCPT TO:<d@example.test>\r\n\
DATA\r\n\
x\r\n\
.\r\n";
    let seen = run(config, input, usize::MAX, &|| Decision::Accept);
    let to: Vec<String> = seen[0]
        .envelope
        .as_ref()
        .unwrap()
        .recipients
        .iter()
        .map(|r| r.to.to_string())
        .collect();
    // The syntax error and the third recipient (over max_recipients) never reached the
    // caller, so they are not in the envelope either.
    assert_eq!(to, ["<b@example.test>", "<c@example.test>"]);
}

#[test]
fn over_bdat() {
    let input = b"EHLO c.example.test\r\n\
MAIL FROM:<a@example.test> BODY=BINARYMIME\r\n\
RCPT TO:<b@example.test>\r\n\
BDAT 3\r\nabcBDAT 2 LAST\r\nde\
QUIT\r\n";
    let mut config = recording();
    config.extensions.binary_mime = true;
    let seen = run(config, input, usize::MAX, &|| Decision::Accept);
    assert_eq!(seen.len(), 1);
    let envelope = seen[0].envelope.as_ref().unwrap();
    assert_eq!(envelope.from.to_string(), "<a@example.test>");
    assert_eq!(envelope.recipients.len(), 1);
    assert_eq!(seen[0].content, b"abcde");
}

#[test]
fn an_unauthenticated_auth_parameter_is_recorded_as_the_event_gave_it() {
    let mut config = recording();
    config.auth.mechanisms = vec![ehlo::server::Mechanism::new("PLAIN")];
    config.auth.allow_plaintext_without_tls = true;
    let input = b"EHLO c.example.test\r\n\
MAIL FROM:<a@example.test> AUTH=someone@example.test\r\n\
RCPT TO:<b@example.test>\r\n\
DATA\r\n\
x\r\n\
.\r\n";
    let seen = run(config, input, usize::MAX, &|| Decision::Accept);
    let envelope = seen[0].envelope.as_ref().unwrap();
    // RFC 4954 section 5: as if AUTH=<> had been given.
    assert_eq!(envelope.params.auth.as_ref().unwrap().as_str(), "<>");
}

#[test]
fn a_message_aborted_in_transit_takes_its_envelope_along() {
    let mut config = recording();
    config.limits.max_message_size = 10;
    let input = b"EHLO c.example.test\r\n\
MAIL FROM:<a@example.test>\r\n\
RCPT TO:<b@example.test>\r\n\
DATA\r\n\
far more than ten octets\r\n\
.\r\n\
MAIL FROM:<c@example.test>\r\n\
RCPT TO:<d@example.test>\r\n\
DATA\r\n\
short\r\n\
.\r\n";
    // `run` checks after every event (MessageAborted among them) that no envelope
    // outlives its transaction.
    let seen = run(config, input, usize::MAX, &|| Decision::Accept);
    assert_eq!(seen.len(), 1);
    let envelope = seen[0].envelope.as_ref().unwrap();
    assert_eq!(envelope.from.to_string(), "<c@example.test>");
    assert_eq!(envelope.recipients[0].to.to_string(), "<d@example.test>");
}
