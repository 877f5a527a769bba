#![no_main]
//! Arbitrary server bytes into the client machine: never a panic, bounded output, and
//! nothing sent after `Closed`.
//!
//! The first byte picks the configuration (TLS policy, credentials, pipelining, chunking,
//! body kind); the second the size of the pieces the rest is fed in, whether queries
//! (NOOP, ETRN) are queued between the messages, and whether a refused AUTH falls back to
//! the next mechanism. The harness answers
//! every event the way a caller would (TLS upgrade, AUTH answers, streamed body pieces),
//! so the fuzzer reaches every state.
use bytes::Bytes;
use ehlo::client::{
    AuthResponse, Body, BodyType, Client, ClientConfig, Credentials, Envelope, Event, Query,
    TlsPolicy,
};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let (Some(&knobs), Some(&step)) = (data.first(), data.get(1)) else {
        return;
    };
    let input = &data[2..];
    let step_byte = step;
    let step = usize::from(step % 64) + 1;
    let mut config = ClientConfig::new("client.example.test");
    config.tls = match knobs & 3 {
        0 => TlsPolicy::Never,
        1 => TlsPolicy::Opportunistic,
        _ => TlsPolicy::Required,
    };
    config.credentials = match (knobs >> 2) & 3 {
        0 => None,
        1 => Some(Credentials::Password {
            authzid: None,
            username: "u".into(),
            password: "p".into(),
        }),
        2 => Some(Credentials::OAuth2 {
            username: "u".into(),
            token: "t".into(),
        }),
        _ => Some(Credentials::External {
            mechanisms: vec!["NTLM".into(), "GSSAPI".into()],
        }),
    };
    config.allow_plaintext_auth = knobs & 16 != 0;
    config.pipelining = knobs & 32 != 0;
    config.chunking = knobs & 64 != 0;
    config.bdat_chunk_size = 7;
    config.auth_fallback = step_byte & 128 != 0;
    let streamed = knobs & 128 != 0;
    let start = Instant::now();
    let mut now = start;
    let mut c = Client::new(config, now);
    let env = Envelope::new("a@example.test")
        .and_then(|e| e.recipient("b@example.test"))
        .and_then(|e| e.recipient("c@example.test"));
    let Ok(env) = env else { return };
    for i in 0..2 {
        let body = if streamed {
            Body::Stream {
                body_type: BodyType::SevenBit,
                size: Some(12),
            }
        } else if i == 0 {
            Body::from(&b"Subject: x\r\n\r\n.line\r\n"[..])
        } else {
            Body::from(&b"bin\x00ary\n"[..])
        };
        let _ = c.send(env.clone(), body);
        // Queries between the messages, when the step byte's bit 6 says so.
        if step_byte & 64 != 0 {
            let _ = c.send_query(Query::Noop);
            let _ = c.send_query(Query::Etrn("example.test".into()));
        }
    }
    c.quit();
    let mut closed = false;
    for piece in input.chunks(step) {
        c.receive(piece);
        let mut out = 0usize;
        while let Some(b) = c.poll_transmit(now) {
            assert!(!closed, "bytes after Closed");
            out += b.len();
            assert!(out < 1 << 20);
        }
        while let Some(ev) = c.poll_event() {
            match ev {
                Event::StartTls { .. } => {
                    let _ = c.tls_established();
                }
                Event::AuthChallenge(ch) => {
                    let _ = c.auth_respond(if ch.initial {
                        AuthResponse::NoInitialResponse
                    } else {
                        AuthResponse::Data(b"blob".to_vec())
                    });
                }
                Event::BodyNeeded(id) => {
                    let _ = c.push_body(id, Bytes::from_static(b"hello\r\n.dot"));
                    let _ = c.finish_body(id);
                }
                Event::Closed(_) => closed = true,
                _ => {}
            }
        }
        if let Some(t) = c.poll_timeout() {
            assert!(t >= start);
        }
        now += Duration::from_secs(7);
        c.handle_timeout(now);
    }
    c.peer_closed();
    while c.poll_event().is_some() {}
    assert!(c.poll_transmit(now).is_none());
});
