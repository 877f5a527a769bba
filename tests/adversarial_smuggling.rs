//! SMTP smuggling (`../shared/spec/smuggling.md`; CVE-2023-51764/51765/51766) through the
//! whole server machine, not only the DATA decoder.
//!
//! For every end-of-data look-alike of the spec's matrix, under every bare-line-ending
//! policy, whole and split into single bytes: the first message's body holds the variant
//! followed by a complete smuggled transaction, then the real `<CRLF>.<CRLF>`. Pass: at
//! most one message is accepted, the smuggled `MAIL FROM` never reaches the caller as a
//! command, and if the message is accepted the smuggled text is inside it.

use ehlo::server::{BareLineEnding, Decision, Event, Server, ServerConfig};
use std::time::Instant;

#[path = "fixtures/smuggling.rs"]
mod smuggling;
use smuggling::{SMUGGLED, VARIANTS};

const POLICIES: &[BareLineEnding] = &[
    BareLineEnding::Reject,
    BareLineEnding::Normalize,
    BareLineEnding::PassThrough,
];

#[derive(Debug, Default)]
struct Outcome {
    out: String,
    mails: Vec<String>,
    /// Messages the machine reported complete (each accepted by the test's caller).
    accepted: Vec<Vec<u8>>,
    aborted: usize,
    closed: bool,
}

fn session(config: ServerConfig, pieces: &[&[u8]]) -> Outcome {
    let now = Instant::now();
    let mut server = Server::new(config, now);
    let mut o = Outcome::default();
    let mut current = Vec::new();
    let mut drain = |server: &mut Server, o: &mut Outcome| {
        while let Some(e) = server.poll_event() {
            match &e {
                Event::MailFrom { from, .. } => o.mails.push(from.to_string()),
                Event::MessageChunk(b) => current.extend_from_slice(b),
                Event::MessageEnd { .. } => o.accepted.push(std::mem::take(&mut current)),
                Event::MessageAborted(_) => {
                    o.aborted += 1;
                    current.clear();
                }
                _ => {}
            }
            if e.needs_decision() {
                server.decide(Decision::Accept);
            }
        }
        while let Some(t) = server.poll_transmit() {
            o.out.push_str(&String::from_utf8_lossy(&t));
        }
    };
    drain(&mut server, &mut o);
    for p in pieces {
        server.receive(now, p);
        drain(&mut server, &mut o);
    }
    o.closed = server.is_closed();
    o
}

fn config(policy: BareLineEnding) -> ServerConfig {
    let mut c = ServerConfig::new("mx.example.test");
    c.bare_line_endings = policy;
    c
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The smuggling input for one variant, and the line after the session's real end.
fn attack(variant: &[u8]) -> Vec<u8> {
    let mut input = b"EHLO client.example.test\r\n\
        MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n\
        Subject: first\r\n\r\nbody"
        .to_vec();
    input.extend_from_slice(variant);
    input.extend_from_slice(SMUGGLED);
    input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
    input
}

/// What the message must hold if accepted: the DATA section decoded by the reference
/// decoder (`ehlo::data::reference`) under the same policy.
fn expected_message(variant: &[u8], policy: BareLineEnding) -> Vec<u8> {
    let mut data = b"Subject: first\r\n\r\nbody".to_vec();
    data.extend_from_slice(variant);
    data.extend_from_slice(SMUGGLED);
    data.extend_from_slice(b"\r\n.\r\n");
    let cfg = ehlo::data::DecoderConfig {
        bare_line_endings: policy,
        ..Default::default()
    };
    let r = ehlo::data::reference::decode(&data, &cfg).expect("terminated");
    assert_eq!(r.summary.size, r.content.len() as u64);
    r.content
}

fn check(name: &str, policy: BareLineEnding, o: &Outcome) {
    let variant = VARIANTS.iter().find(|(n, _)| *n == name).unwrap().1;
    let ctx = format!("{name} under {policy:?}: {}", o.out);
    assert_eq!(o.mails, ["<alice@example.test>"], "{ctx}");
    assert!(o.accepted.len() + o.aborted == 1, "{ctx}");
    assert_eq!(o.out.matches("354 ").count(), 1, "{ctx}");
    assert_eq!(o.out.matches("250 2.1.0 ").count(), 1, "{ctx}");
    assert!(!o.out.contains("Recipient OK\r\n250 2.1.5"), "{ctx}");
    assert!(o.out.ends_with("221 2.0.0 Bye\r\n"), "{ctx}");
    assert!(o.closed, "{ctx}");
    if let Some(m) = o.accepted.first() {
        assert_eq!(m, &expected_message(variant, policy), "{ctx}");
        assert!(
            o.out
                .ends_with("250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"),
            "{ctx}"
        );
        assert!(contains(m, b"MAIL FROM:<evil@example.test>"), "{ctx}");
        assert!(contains(m, b"RCPT TO:<victim@example.test>"), "{ctx}");
        assert!(contains(m, b"forged"), "{ctx}");
        assert!(o.out.contains("250 2.0.0 Message accepted\r\n"), "{ctx}");
    }
    let bare = variant_has_bare(name);
    match policy {
        // Only the variants with a bare CR or LF are refused, after the real end.
        BareLineEnding::Reject if bare => {
            assert_eq!((o.accepted.len(), o.aborted), (0, 1), "{ctx}");
            assert!(
                o.out
                    .contains("550 5.5.2 Bare CR or LF in message content not allowed\r\n"),
                "{ctx}"
            );
        }
        _ => assert_eq!(o.accepted.len(), 1, "{ctx}"),
    }
    if let (BareLineEnding::Normalize, Some(m)) = (policy, o.accepted.first()) {
        for (k, b) in m.iter().enumerate() {
            match b {
                b'\r' => assert_eq!(m.get(k + 1), Some(&b'\n'), "{ctx}"),
                b'\n' => assert!(k > 0 && m[k - 1] == b'\r', "{ctx}"),
                _ => {}
            }
        }
    }
}

fn variant_has_bare(name: &str) -> bool {
    !matches!(name, "CRLF dot NUL CRLF" | "CRLF dot space CRLF")
}

#[test]
fn smuggling_matrix_whole_input() {
    for (name, variant) in VARIANTS {
        for &policy in POLICIES {
            let input = attack(variant);
            let o = session(config(policy), &[&input]);
            check(name, policy, &o);
        }
    }
}

#[test]
fn smuggling_matrix_byte_by_byte() {
    for (name, variant) in VARIANTS {
        for &policy in POLICIES {
            let input = attack(variant);
            let pieces: Vec<&[u8]> = input.chunks(1).collect();
            let o = session(config(policy), &pieces);
            check(name, policy, &o);
        }
    }
}

/// Every split of the input in two pieces gives the same outcome as the whole input.
#[test]
fn smuggling_matrix_every_two_piece_split() {
    for (name, variant) in VARIANTS {
        let policy = BareLineEnding::Normalize;
        let input = attack(variant);
        let whole = session(config(policy), &[&input]);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            let o = session(config(policy), &[a, b]);
            check(name, policy, &o);
            assert_eq!(o.out, whole.out, "{name} cut at {cut}");
            assert_eq!(o.accepted, whole.accepted, "{name} cut at {cut}");
        }
    }
}

/// Strict command grammar (no bare LF as a command terminator) does not change the
/// outcome inside DATA.
#[test]
fn smuggling_matrix_strict_grammar() {
    for (name, variant) in VARIANTS {
        for &policy in POLICIES {
            let mut c = config(policy);
            c.leniency = ehlo::syntax::Leniency::Strict;
            let o = session(c, &[&attack(variant)]);
            check(name, policy, &o);
        }
    }
}

/// BDAT content is never interpreted: the variants inside a chunk are content, and the
/// smuggled commands never run.
#[test]
fn smuggling_inside_bdat_is_content() {
    for (name, variant) in VARIANTS {
        for &policy in POLICIES {
            let mut chunk = b"body".to_vec();
            chunk.extend_from_slice(variant);
            chunk.extend_from_slice(SMUGGLED);
            chunk.extend_from_slice(b"\r\n.\r\n");
            let mut input = format!(
                "EHLO client.example.test\r\nMAIL FROM:<alice@example.test>\r\n\
                 RCPT TO:<bob@example.test>\r\nBDAT {} LAST\r\n",
                chunk.len()
            )
            .into_bytes();
            input.extend_from_slice(&chunk);
            input.extend_from_slice(b"QUIT\r\n");
            let o = session(config(policy), &[&input]);
            let ctx = format!("{name} under {policy:?}: {}", o.out);
            assert_eq!(o.mails, ["<alice@example.test>"], "{ctx}");
            assert_eq!(o.accepted, [chunk], "{ctx}");
            assert!(o
                .out
                .ends_with("250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"));
        }
    }
}

/// Several look-alikes in one body, then a second, legitimate transaction after the real
/// end: exactly two messages, the first holding every smuggled line.
#[test]
fn all_variants_in_one_body_then_a_real_second_message() {
    for &policy in &POLICIES[1..] {
        let mut input = b"EHLO c.example.test\r\nMAIL FROM:<alice@example.test>\r\n\
            RCPT TO:<bob@example.test>\r\nDATA\r\nstart"
            .to_vec();
        for (_, v) in VARIANTS {
            input.extend_from_slice(v);
            input.extend_from_slice(SMUGGLED);
        }
        input.extend_from_slice(
            b"\r\n.\r\nMAIL FROM:<carol@example.test>\r\nRCPT TO:<dave@example.test>\r\n\
              DATA\r\nsecond\r\n.\r\nQUIT\r\n",
        );
        let o = session(config(policy), &[&input]);
        assert_eq!(o.mails, ["<alice@example.test>", "<carol@example.test>"]);
        assert_eq!(o.accepted.len(), 2);
        assert_eq!(o.accepted[1], b"second\r\n");
        let evil = o.accepted[0]
            .windows(SMUGGLED.len() - 2)
            .filter(|w| w.starts_with(b"MAIL FROM:<evil@"))
            .count();
        assert_eq!(evil, VARIANTS.len(), "{policy:?}");
    }
}
