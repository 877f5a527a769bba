#![no_main]
//! Drives the server machine with arbitrary input pieces and arbitrary caller decisions.
//! Checks: no panic, bounded buffering, well-formed reply lines, closed after a timeout;
//! now and then the server shuts down mid-session.
use ehlo::server::{Decision, DecisionError, Event, Mechanism, Server, ServerConfig};
use ehlo::{EnhancedCode, Reply};
use libfuzzer_sys::fuzz_target;
use std::borrow::Cow;
use std::time::{Duration, Instant};

fn decision(sel: u8) -> Decision {
    match sel % 12 {
        0 => Decision::Default,
        1 => Decision::Accept,
        2 => Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "No")),
        3 => Decision::Reply(Reply::new(250, None, "Fine\nreally")),
        4 => Decision::Reply(Reply::new(451, None, "x".repeat(600))),
        5 => Decision::Close(Reply::new(421, None, "Bye")),
        6 => Decision::AuthChallenge(vec![sel, 0, 255]),
        7 => Decision::AuthChallengeText(Cow::Borrowed("ntlm supported")),
        8 => Decision::AuthSuccess {
            identity: "x".into(),
        },
        9 => Decision::AuthFailure,
        10 => Decision::AuthTemporaryFailure,
        _ => Decision::Reply(Reply::new(354, None, "go")),
    }
}

/// Reply lines: 512 octets at most (RFC 5321 4.5.3.1.5), 1,024 with X-LINK2STATE on (its
/// replies may be that long, KB 812455).
fn check(out: &[u8], max_line: usize) {
    for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        assert!(line.len() < max_line);
        // RFC 5321 4.2: `Reply-code [ SP textstring ] CRLF` or `Reply-code "-" ...`, the
        // code's first digit 2 to 5 and its second 0 to 5 (4.2.1); no CR inside the line.
        let body = line.strip_suffix(b"\r").expect("line ends with CRLF");
        assert!(!body.contains(&b'\r'));
        assert!(matches!(body, [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9', ..]));
        assert!(body.len() == 3 || matches!(body.get(3), Some(b' ' | b'-')));
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (head, input) = data.split_at(2);
    let mut config = ServerConfig::new("mx.example.test");
    config.limits.max_input_buffer = 2048;
    config.limits.max_message_size = 4096;
    config.extensions.starttls = head[0] & 1 != 0;
    config.extensions.smtputf8 = head[0] & 2 != 0;
    config.exchange.xexch50 = head[0] & 4 != 0;
    config.exchange.link2state = head[0] & 8 != 0;
    config.exchange.anonymous_tls = head[0] & 16 != 0;
    config.auth.require_auth = head[0] & 32 != 0;
    config.auth.builtin_exchanges = head[0] & 64 != 0;
    config.auth.mechanisms = vec![Mechanism::new("NTLM"), Mechanism::new("PLAIN")];
    config.exchange.exps_mechanisms = vec![Mechanism::new("NTLM")];
    // Now and then the smallest output mark, so that sessions pause for their replies
    // often (`limits.max_output_buffer`; below 512 it counts as 512).
    let mark = if head[1] & 2 != 0 { 512 } else { 64 * 1024 };
    config.limits.max_output_buffer = if mark == 512 { 0 } else { mark };
    let record = head[1] & 1 != 0;
    config.record_envelope = record;
    let now = Instant::now();
    let mut server = Server::new(config, now);
    let mut out = Vec::new();
    let mut sel = head[1];
    // Pieces are separated by 0xFE; each piece boundary drains events and output.
    for piece in input.split(|b| *b == 0xFE) {
        // An empty piece is the server going down (Server::shutdown), when asked for.
        if piece.is_empty() && head[0] & 128 != 0 {
            server.shutdown();
        }
        server.receive(now, piece);
        assert!(server.buffered_len() <= 2048);
        // Like a transport: events, then replies, and again while the session paused
        // for its replies to be taken.
        loop {
            while let Some(e) = server.poll_event() {
                if e.needs_decision() {
                    // A SASL decision to another event does not fit it (the event keeps
                    // waiting): answer with the default then, so the session goes on.
                    if server.try_decide(decision(sel)) == Err(DecisionError::Mismatch) {
                        server.decide(Decision::Default);
                    }
                    sel = sel.wrapping_mul(31).wrapping_add(7);
                }
                if e == Event::TlsUpgrade && sel & 1 == 0 {
                    let _ = server.tls_established();
                }
                // `record_envelope`: an envelope exactly while a transaction is open, with
                // every recipient the transaction counts.
                assert_eq!(
                    server.envelope().is_some(),
                    record && server.in_transaction()
                );
                if let Some(envelope) = server.envelope() {
                    assert_eq!(envelope.recipients.len(), server.recipients());
                }
            }
            // Replies wait only up to the mark, plus what the last command caused.
            let held = server.pending_output_len();
            assert!(held < mark + 8 * 1024, "{held} octets held");
            if server.is_paused_for_output() {
                assert!(held >= mark);
                assert!(server.poll_event().is_none());
            }
            while let Some(t) = server.poll_transmit() {
                out.extend_from_slice(&t);
            }
            if !server.is_paused_for_output() {
                break;
            }
        }
    }
    server.handle_timeout(now + Duration::from_secs(3600));
    while let Some(t) = server.poll_transmit() {
        out.extend_from_slice(&t);
    }
    assert!(server.is_closed());
    check(&out, if head[0] & 8 != 0 { 1024 } else { 512 });
});
