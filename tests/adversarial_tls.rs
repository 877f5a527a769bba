//! STARTTLS / X-ANONYMOUSTLS injection (CVE-2011-0411 and the 2021 "NO STARTTLS" study)
//! on both sides: plaintext pipelined behind the TLS start is never acted upon after the
//! upgrade, however the bytes are split and whenever they arrive.

use ehlo::client::{
    Client, ClientConfig, CloseReason, Envelope, Event as CEvent, ProtocolError, TlsPolicy,
    UsageError,
};
use ehlo::server::{Decision, Event, Server, ServerConfig, TlsVerb};
use std::time::Instant;

// ---- server side ----

const INJECTIONS: &[&[u8]] = &[
    b"MAIL FROM:<evil@example.test>\r\n",
    b"MAIL FROM:<evil@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nforged\r\n.\r\n",
    b"EHLO evil.example.test\r\nAUTH PLAIN AGV2aWwAc2VjcmV0\r\n",
    b"RSET\r\nQUIT\r\n",
    b"MAIL FROM:<evil@example.test>\n",
    b"STARTTLS\r\n",
];

#[derive(Default)]
struct Seen {
    out: String,
    events: Vec<Event>,
}

fn drain(server: &mut Server, seen: &mut Seen, decide: &mut dyn FnMut(&Event) -> Decision) {
    while let Some(e) = server.poll_event() {
        if e.needs_decision() {
            let d = decide(&e);
            server.decide(d);
        }
        seen.events.push(e);
    }
    while let Some(t) = server.poll_transmit() {
        seen.out.push_str(&String::from_utf8_lossy(&t));
    }
}

fn tls_config() -> ServerConfig {
    let mut c = ServerConfig::new("mx.example.test");
    c.extensions.starttls = true;
    c.exchange.anonymous_tls = true;
    c.auth.mechanisms = vec![ehlo::server::Mechanism::new("PLAIN")];
    c
}

/// Where the injected bytes arrive relative to the upgrade.
#[derive(Debug, Clone, Copy)]
enum When {
    /// In the same read as the STARTTLS line.
    SameRead,
    /// In a later read, before the caller decided on STARTTLS.
    BeforeDecision,
    /// After the `220`, before the handshake completed.
    DuringHandshake,
    /// Byte by byte, starting inside the STARTTLS line itself.
    Trickled,
}

fn server_session(verb: &[u8], inject: &[u8], when: When) -> Seen {
    let now = Instant::now();
    let mut server = Server::new(tls_config(), now);
    let mut seen = Seen::default();
    let mut accept = |_: &Event| Decision::Accept;
    drain(&mut server, &mut seen, &mut accept);
    server.receive(now, b"EHLO client.example.test\r\n");
    drain(&mut server, &mut seen, &mut accept);
    let mut line = verb.to_vec();
    line.extend_from_slice(b"\r\n");
    match when {
        When::SameRead => {
            line.extend_from_slice(inject);
            server.receive(now, &line);
            drain(&mut server, &mut seen, &mut accept);
        }
        When::BeforeDecision => {
            server.receive(now, &line);
            let e = server.poll_event().expect("StartTls event");
            assert!(matches!(e, Event::StartTls { .. }), "{e:?}");
            seen.events.push(e);
            server.receive(now, inject);
            server.decide(Decision::Accept);
            drain(&mut server, &mut seen, &mut accept);
        }
        When::DuringHandshake => {
            server.receive(now, &line);
            drain(&mut server, &mut seen, &mut accept);
            server.receive(now, inject);
            drain(&mut server, &mut seen, &mut accept);
        }
        When::Trickled => {
            line.extend_from_slice(inject);
            for b in line.chunks(1) {
                server.receive(now, b);
                drain(&mut server, &mut seen, &mut accept);
            }
        }
    }
    assert!(seen.events.contains(&Event::TlsUpgrade));
    server.tls_established().unwrap();
    assert!(server.is_tls());
    // More plaintext the attacker queued cannot exist now; what follows is the TLS client.
    server.receive(now, b"MAIL FROM:<a@example.test>\r\n");
    drain(&mut server, &mut seen, &mut accept);
    server.receive(
        now,
        b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\nQUIT\r\n",
    );
    drain(&mut server, &mut seen, &mut accept);
    seen
}

#[test]
fn server_never_acts_on_bytes_pipelined_behind_the_tls_start() {
    for (verb, tls_verb) in [
        (&b"STARTTLS"[..], TlsVerb::StartTls),
        (&b"X-ANONYMOUSTLS"[..], TlsVerb::XAnonymousTls),
        (&b"starttls"[..], TlsVerb::StartTls),
    ] {
        for inject in INJECTIONS {
            for when in [
                When::SameRead,
                When::BeforeDecision,
                When::DuringHandshake,
                When::Trickled,
            ] {
                let s = server_session(verb, inject, when);
                let ctx = format!(
                    "{} + {:?} ({when:?}):\n{}",
                    String::from_utf8_lossy(verb),
                    String::from_utf8_lossy(inject),
                    s.out
                );
                let kinds: Vec<String> = s
                    .events
                    .iter()
                    .map(|e| {
                        format!("{e:?}")
                            .split([' ', '(', '{'])
                            .next()
                            .unwrap()
                            .to_string()
                    })
                    .collect();
                assert_eq!(
                    kinds,
                    [
                        "Connect",
                        "Ehlo",
                        "StartTls",
                        "TlsUpgrade",
                        "Ehlo",
                        "MailFrom",
                        "Quit"
                    ],
                    "{ctx}"
                );
                assert_eq!(s.events[2], Event::StartTls { verb: tls_verb }, "{ctx}");
                match &s.events[5] {
                    Event::MailFrom { from, .. } => {
                        assert_eq!(from.to_string(), "<a@example.test>", "{ctx}")
                    }
                    e => panic!("{e:?} {ctx}"),
                }
                // After the 220: the refused pre-EHLO MAIL, the EHLO reply, the MAIL
                // reply, the QUIT reply; nothing that answers an injected command.
                let after = s.out.split("220 2.0.0 Ready to start TLS\r\n").nth(1);
                let after = after.unwrap_or_else(|| panic!("no 220: {ctx}"));
                assert!(
                    after.starts_with("503 5.5.1 Send HELO or EHLO first\r\n250-mx.example.test Hello client.example.test\r\n"),
                    "{ctx}"
                );
                assert!(
                    after.ends_with("250 2.1.0 Sender OK\r\n221 2.0.0 Bye\r\n"),
                    "{ctx}"
                );
                assert!(!after.contains("STARTTLS"), "{ctx}");
                assert!(!after.contains("X-ANONYMOUSTLS"), "{ctx}");
                assert!(!after.contains("235"), "{ctx}");
            }
        }
    }
}

/// If the caller refuses the upgrade, the session stays in plaintext and the pipelined
/// commands are ordinary commands (nothing was upgraded, nothing to protect).
#[test]
fn refused_upgrade_keeps_processing_in_order() {
    let now = Instant::now();
    let mut server = Server::new(tls_config(), now);
    let mut seen = Seen::default();
    let mut decide = |e: &Event| match e {
        Event::StartTls { .. } => Decision::Reply(ehlo::Reply::new(
            454,
            Some(ehlo::EnhancedCode::new(4, 7, 0)),
            "TLS not available",
        )),
        _ => Decision::Accept,
    };
    server.receive(
        now,
        b"EHLO client.example.test\r\nSTARTTLS\r\nMAIL FROM:<a@example.test>\r\n",
    );
    drain(&mut server, &mut seen, &mut decide);
    assert!(seen
        .out
        .ends_with("454 4.7.0 TLS not available\r\n250 2.1.0 Sender OK\r\n"));
    assert!(!server.is_tls());
    assert!(!seen.events.contains(&Event::TlsUpgrade));
}

/// Once TLS is active, a second STARTTLS (or X-ANONYMOUSTLS) is refused and nothing is
/// discarded.
#[test]
fn second_upgrade_is_refused() {
    let now = Instant::now();
    let mut server = Server::new(tls_config(), now);
    let mut seen = Seen::default();
    let mut accept = |_: &Event| Decision::Accept;
    server.tls_established().unwrap();
    server.receive(
        now,
        b"EHLO c.example.test\r\nSTARTTLS\r\nX-ANONYMOUSTLS\r\nNOOP\r\n",
    );
    drain(&mut server, &mut seen, &mut accept);
    assert!(seen.out.ends_with(
        "503 5.5.1 TLS already active\r\n503 5.5.1 TLS already active\r\n250 2.0.0 OK\r\n"
    ));
}

/// A caller that claims TLS on a session that never upgraded (no STARTTLS accepted, and
/// input already arrived in plaintext) is refused, and the session keeps its plaintext
/// offer: no AUTH mechanism that is offered only under TLS, STARTTLS still advertised,
/// and the EHLO name and transaction state kept. Before the first input the same call is
/// implicit TLS (RFC 8314) and accepted, once.
#[test]
fn tls_claimed_without_a_handshake_is_refused() {
    use ehlo::server::{Mechanism, NotAwaitingTls};
    let now = Instant::now();
    let mut config = ServerConfig::new("mx.example.test");
    config.extensions.starttls = true;
    config.auth.mechanisms = vec![Mechanism::new("PLAIN")];
    let mut server = Server::new(config.clone(), now);
    let mut seen = Seen::default();
    let mut accept = |_: &Event| Decision::Accept;
    drain(&mut server, &mut seen, &mut accept);
    server.receive(
        now,
        b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\n",
    );
    drain(&mut server, &mut seen, &mut accept);
    assert_eq!(server.tls_established(), Err(NotAwaitingTls));
    assert_eq!(server.tls_established_at(now), Err(NotAwaitingTls));
    assert!(!server.is_tls());
    assert!(server.in_transaction());
    assert_eq!(server.client_name(), Some("client.example.test"));
    server.receive(now, b"RSET\r\nEHLO client.example.test\r\n");
    drain(&mut server, &mut seen, &mut accept);
    let second = &seen.out[seen.out.rfind("250-mx.example.test").unwrap()..];
    assert!(second.contains("STARTTLS"), "{second}");
    assert!(!second.contains("AUTH"), "{second}");

    // The plaintext greeting went out (no input yet): too late for implicit TLS.
    let mut greeted = Server::new(config.clone(), now);
    let mut seen = Seen::default();
    drain(&mut greeted, &mut seen, &mut accept);
    assert!(seen.out.starts_with("220 "));
    assert_eq!(greeted.tls_established(), Err(NotAwaitingTls));
    assert!(!greeted.is_tls());

    // Implicit TLS: before any input, accepted; a second claim is refused.
    let mut server = Server::new(config, now);
    assert_eq!(server.tls_established(), Ok(()));
    assert_eq!(server.tls_established(), Err(NotAwaitingTls));
    let mut seen = Seen::default();
    drain(&mut server, &mut seen, &mut accept);
    server.receive(now, b"EHLO client.example.test\r\n");
    drain(&mut server, &mut seen, &mut accept);
    assert!(
        seen.out.contains("250-AUTH PLAIN") || seen.out.contains("250 AUTH PLAIN"),
        "{}",
        seen.out
    );
    assert!(!seen.out.contains("STARTTLS"), "{}", seen.out);
}

// ---- client side ----

fn env() -> Envelope {
    Envelope::new("a@example.test")
        .and_then(|e| e.recipient("b@example.test"))
        .expect("envelope")
}

fn client(anonymous: bool) -> (Client, Instant) {
    let mut c = ClientConfig::new("client.example.test");
    c.tls = TlsPolicy::Required;
    c.anonymous_tls = anonymous;
    let now = Instant::now();
    let mut client = Client::new(c, now);
    client
        .send(env(), "Subject: x\r\n\r\nbody\r\n")
        .expect("queued");
    (client, now)
}

fn sent(c: &mut Client, now: Instant) -> String {
    let mut out = String::new();
    while let Some(b) = c.poll_transmit(now) {
        out.push_str(&String::from_utf8_lossy(&b));
    }
    out
}

fn events(c: &mut Client) -> Vec<CEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

const SERVER_INJECTIONS: &[&[u8]] = &[
    b"250-mx.example.test\r\n250 AUTH PLAIN\r\n",
    b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 go\r\n",
    b"421 4.7.0 fake closing\r\n",
    b"2",
    b"\r\n",
    b"220 second go-ahead\r\n",
];

/// The go-ahead followed by injected replies, in one read, in a later read, or trickled
/// byte by byte: the client closes with `ResponseInjection`, never starts the handshake
/// (or withdraws the `StartTls` event), never sends another byte, never reads the
/// injected replies.
#[test]
fn client_never_reads_replies_pipelined_behind_the_go_ahead() {
    for anonymous in [false, true] {
        let (verb, caps) = if anonymous {
            (
                "X-ANONYMOUSTLS\r\n",
                "250-mx.example.test\r\n250-X-ANONYMOUSTLS\r\n250 PIPELINING\r\n",
            )
        } else {
            (
                "STARTTLS\r\n",
                "250-mx.example.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n",
            )
        };
        for inject in SERVER_INJECTIONS {
            for mode in 0..3 {
                let (mut c, now) = client(anonymous);
                c.receive(b"220 mx.example.test ESMTP\r\n");
                assert_eq!(sent(&mut c, now), "EHLO client.example.test\r\n");
                c.receive(caps.as_bytes());
                assert_eq!(sent(&mut c, now), verb);
                // Greeting and plaintext capabilities: read before the upgrade, legitimately.
                events(&mut c);
                let mut go = b"220 2.0.0 Ready to start TLS\r\n".to_vec();
                let mut evs = Vec::new();
                match mode {
                    0 => {
                        go.extend_from_slice(inject);
                        c.receive(&go);
                    }
                    1 => {
                        c.receive(&go);
                        evs.extend(events(&mut c));
                        assert!(evs.contains(&CEvent::StartTls { anonymous }));
                        c.receive(inject);
                    }
                    _ => {
                        go.extend_from_slice(inject);
                        for b in go.chunks(1) {
                            c.receive(b);
                        }
                    }
                }
                evs.extend(events(&mut c));
                let ctx = format!(
                    "{anonymous} {:?} mode {mode}: {evs:?}",
                    String::from_utf8_lossy(inject)
                );
                assert!(
                    matches!(
                        evs.last(),
                        Some(CEvent::Closed(CloseReason::Protocol(
                            ProtocolError::ResponseInjection
                        )))
                    ),
                    "{ctx}"
                );
                if mode != 1 {
                    assert!(
                        !evs.iter().any(|e| matches!(e, CEvent::StartTls { .. })),
                        "{ctx}"
                    );
                }
                assert!(
                    !evs.iter().any(|e| matches!(
                        e,
                        CEvent::Capabilities(_) | CEvent::Ready | CEvent::Authenticated { .. }
                    )),
                    "{ctx}"
                );
                // The message never went out.
                assert!(
                    evs.iter().all(|e| match e {
                        CEvent::MessageResult { result, .. } => result.is_err(),
                        _ => true,
                    }),
                    "{ctx}"
                );
                assert_eq!(sent(&mut c, now), "", "{ctx}");
                assert_eq!(
                    c.tls_established(),
                    Err(UsageError::NotAwaitingTls),
                    "{ctx}"
                );
                assert!(c.is_closed() && !c.is_tls(), "{ctx}");
            }
        }
    }
}

/// A clean upgrade: bytes read before the handshake are none; after it the client
/// forgets the plaintext capabilities and sends EHLO again before any mail.
#[test]
fn client_clean_upgrade_starts_over() {
    let (mut c, now) = client(false);
    c.receive(b"220 mx.example.test ESMTP\r\n");
    sent(&mut c, now);
    c.receive(b"250-mx.example.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n");
    assert_eq!(sent(&mut c, now), "STARTTLS\r\n");
    c.receive(b"220 2.0.0 Ready\r\n");
    assert!(events(&mut c).contains(&CEvent::StartTls { anonymous: false }));
    assert_eq!(sent(&mut c, now), "");
    c.tls_established().expect("awaiting TLS");
    assert!(c.capabilities().is_none());
    assert_eq!(sent(&mut c, now), "EHLO client.example.test\r\n");
    c.receive(b"250-mx.example.test\r\n250 PIPELINING\r\n");
    assert!(sent(&mut c, now).starts_with("MAIL FROM:<a@example.test>"));
}
