//! Client and server, both with the Exchange profile, connected in memory: X-ANONYMOUSTLS,
//! X-EXPS (NTLM, MS-SMTPNTLM framing), an Exchange verb, a message with an XEXCH50 blob and
//! a binary body over BDAT, QUIT. Every byte moves through a small pump, in pieces of
//! several sizes; what arrives must be exactly what was sent.

use bytes::Bytes;
use ehlo::client::{
    AuthResponse, AuthVerb, Client, ClientConfig, Credentials, Envelope, Event as CEvent,
    TlsPolicy, Xexch50,
};
use ehlo::server::exchange::{exchange_verb_reply, ntlm_supported};
use ehlo::server::{AuthVerb as SAuthVerb, Decision, Event as SEvent, Server, ServerConfig};
use ehlo::syntax::command::ExchangeVerb;
use std::time::Instant;

const NEGOTIATE: &[u8] = b"NTLMSSP\0\x01negotiate";
const CHALLENGE: &[u8] = b"NTLMSSP\0\x02challenge";
const AUTHENTICATE: &[u8] = b"NTLMSSP\0\x03authenticate";

#[derive(Default)]
struct Seen {
    blob: Vec<u8>,
    message: Vec<u8>,
    server_events: Vec<String>,
    client_events: Vec<CEvent>,
    wire_c2s: Vec<u8>,
    wire_s2c: Vec<u8>,
    tls_upgrades: usize,
}

fn server_decide(e: &SEvent, seen: &mut Seen) -> Decision {
    match e {
        SEvent::XExch50Chunk(b) => seen.blob.extend_from_slice(b),
        SEvent::MessageChunk(b) => seen.message.extend_from_slice(b),
        _ => {}
    }
    match e {
        SEvent::AuthStart {
            verb: SAuthVerb::XExps,
            mechanism,
            initial_response: None,
        } if mechanism == "NTLM" => ntlm_supported(),
        SEvent::AuthResponse { data, .. } if data == NEGOTIATE => {
            Decision::AuthChallenge(CHALLENGE.to_vec())
        }
        SEvent::AuthResponse { data, .. } if data == AUTHENTICATE => Decision::AuthSuccess {
            identity: "hub1.example.test".into(),
        },
        SEvent::AuthStart { .. } | SEvent::AuthResponse { .. } => Decision::AuthFailure,
        SEvent::Exchange {
            verb: ExchangeVerb::XRdst,
            args,
        } if &args[..] == b"hub2.example.test" => {
            Decision::Reply(exchange_verb_reply(ExchangeVerb::XRdst, true))
        }
        _ => Decision::Accept,
    }
}

fn run(piece: usize, body: Bytes, blob: Bytes) -> Seen {
    let now = Instant::now();
    let mut sc = ServerConfig::exchange_2016_default("hub2.example.test");
    sc.exchange.xexch50 = true;
    let mut server = Server::new(sc, now);
    server.set_client_address("192.0.2.1".parse().unwrap());

    let mut cc = ClientConfig::new("hub1.example.test");
    cc.tls = TlsPolicy::Required;
    cc.anonymous_tls = true;
    cc.auth_verb = AuthVerb::XExps;
    cc.credentials = Some(Credentials::External {
        mechanisms: vec!["NTLM".into()],
    });
    cc.bdat_chunk_size = 7;
    let mut client = Client::new(cc, now);
    client
        .send_exchange(ExchangeVerb::XRdst, "hub2.example.test")
        .unwrap();
    let env = Envelope {
        xexch50: Some(Xexch50 {
            blob: blob.clone(),
            mode: 2,
        }),
        ..Envelope::new("a@example.test")
            .unwrap()
            .recipient("b@example.test")
            .unwrap()
    };
    client.send(env, body).unwrap();
    client.quit();

    let mut seen = Seen::default();
    let mut server_tls_pending = false;
    for _round in 0..10_000 {
        let mut progress = false;
        // Server events.
        while let Some(e) = server.poll_event() {
            progress = true;
            seen.server_events
                .push(format!("{e:?}").chars().take(40).collect());
            if matches!(e, SEvent::TlsUpgrade) {
                server_tls_pending = true;
            }
            let d = server_decide(&e, &mut seen);
            if e.needs_decision() {
                server.decide(d);
            }
        }
        // Server -> client, in pieces.
        while let Some(b) = server.poll_transmit() {
            progress = true;
            seen.wire_s2c.extend_from_slice(&b);
            for p in b.chunks(piece) {
                client.receive(p);
            }
        }
        // Client events.
        while let Some(e) = client.poll_event() {
            progress = true;
            match &e {
                CEvent::StartTls { anonymous: true } => {
                    assert!(server_tls_pending);
                    // The in-memory "handshake": both sides are now under TLS.
                    server.tls_established().unwrap();
                    client.tls_established().unwrap();
                    server_tls_pending = false;
                    seen.tls_upgrades += 1;
                }
                CEvent::AuthChallenge(c) => {
                    let r = if c.initial {
                        AuthResponse::NoInitialResponse
                    } else if c.data.as_deref() == Some(CHALLENGE) {
                        AuthResponse::Data(AUTHENTICATE.to_vec())
                    } else {
                        assert_eq!(c.reply.as_ref().unwrap().text, "ntlm supported");
                        AuthResponse::Data(NEGOTIATE.to_vec())
                    };
                    client.auth_respond(r).unwrap();
                }
                _ => {}
            }
            seen.client_events.push(e);
        }
        // Client -> server, in pieces.
        while let Some(b) = client.poll_transmit(now) {
            progress = true;
            seen.wire_c2s.extend_from_slice(&b);
            for p in b.chunks(piece) {
                server.receive(now, p);
                // Keep the server's input small and ordered: drain between pieces.
                while let Some(e) = server.poll_event() {
                    seen.server_events
                        .push(format!("{e:?}").chars().take(40).collect());
                    if matches!(e, SEvent::TlsUpgrade) {
                        server_tls_pending = true;
                    }
                    let d = server_decide(&e, &mut seen);
                    if e.needs_decision() {
                        server.decide(d);
                    }
                }
            }
        }
        if client.is_closed() && server.is_closed() {
            break;
        }
        if !progress {
            break;
        }
    }
    assert!(client.is_closed(), "client closed");
    assert!(server.is_closed(), "server closed");
    assert_eq!(server.exps_authenticated(), Some("hub1.example.test"));
    assert_eq!(server.authenticated(), None);
    assert!(server.is_tls());
    seen
}

#[test]
fn exchange_profile_round_trip() {
    // A binary body (NUL, bare LF, a lone end-of-data line) and a blob that looks like
    // commands.
    let body =
        Bytes::from_static(b"Subject: x\r\n\r\n\x00bin\nary\r\n.\r\nMAIL FROM:<e@x>\r\n\xff");
    let blob = Bytes::from_static(b"\x00\x01\r\n.\r\nQUIT\r\nRSET\r\n\xfe\xff");
    let mut first: Option<(Vec<u8>, Vec<u8>)> = None;
    for piece in [1, 2, 3, 7, 64, usize::MAX] {
        let seen = run(piece, body.clone(), blob.clone());
        assert_eq!(seen.blob, blob, "piece {piece}");
        assert_eq!(seen.message, body, "piece {piece}");
        assert_eq!(seen.tls_upgrades, 1);
        let results: Vec<_> = seen
            .client_events
            .iter()
            .filter_map(|e| match e {
                CEvent::MessageResult { result, .. } => Some(result.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].as_ref().unwrap().code.0, 250);
        assert!(seen.client_events.iter().any(|e| matches!(
            e,
            CEvent::Authenticated { mechanism, .. } if mechanism == "NTLM"
        )));
        assert!(seen.client_events.iter().any(|e| matches!(
            e,
            CEvent::ExchangeReply { verb: ExchangeVerb::XRdst, result: Ok(r) }
                if r.to_bytes() == b"250 2.0.0 XRDST OK\r\n"
        )));
        let c2s = String::from_utf8_lossy(&seen.wire_c2s).into_owned();
        assert!(c2s.starts_with(
            "EHLO hub1.example.test\r\nX-ANONYMOUSTLS\r\nEHLO hub1.example.test\r\nX-EXPS NTLM\r\n"
        ));
        assert!(c2s.contains("XRDST hub2.example.test\r\n"));
        assert!(c2s.contains(&format!(
            "MAIL FROM:<a@example.test> SIZE={} BODY=BINARYMIME\r\n",
            body.len()
        )));
        assert!(c2s.contains(&format!("XEXCH50 {} 2\r\n", blob.len())));
        assert!(c2s.contains("BDAT 7\r\n") && c2s.contains(" LAST\r\n"));
        assert!(c2s.ends_with("QUIT\r\n"));
        // The exchange is the same however the bytes were cut.
        match &first {
            None => first = Some((seen.wire_c2s.clone(), seen.wire_s2c.clone())),
            Some((c, s)) => {
                assert_eq!(&seen.wire_c2s, c, "piece {piece}");
                assert_eq!(&seen.wire_s2c, s, "piece {piece}");
            }
        }
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any blob and any body (binary included), cut anywhere: delivered exactly.
        #[test]
        fn any_blob_any_body_any_split(
            blob in proptest::collection::vec(any::<u8>(), 0..200),
            body in proptest::collection::vec(any::<u8>(), 1..200),
            piece in 1usize..40,
        ) {
            let seen = run(piece, Bytes::from(body.clone()), Bytes::from(blob.clone()));
            prop_assert_eq!(&seen.blob, &blob);
            prop_assert_eq!(&seen.message, &body);
        }
    }
}
