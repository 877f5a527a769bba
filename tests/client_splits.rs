//! Splitting the server's bytes anywhere changes nothing: same client bytes, same events.
mod client_support;
use client_support::*;
use ehlo::client::*;
use proptest::prelude::*;

/// A session as rounds of server bytes; the client's answer is collected after each round.
const ROUNDS: &[&str] = &[
    "220-mx.example.test ESMTP\r\n220 second line\r\n",
    "250-mx.example.test Hello\r\n250-PIPELINING\r\n250-size 100000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH LOGIN PLAIN\r\n",
    "235 2.7.0 ok\r\n",
    "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n354 go\r\n",
    "250-2.0.0 queued\r\n250 2.0.0 as X\r\n",
    "250 2.1.0 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n",
    "250 2.0.0 reset\r\n",
    "221 2.0.0 bye\r\n",
];

fn session(splits: &[Vec<usize>]) -> (Vec<String>, Vec<Event>) {
    let mut c = ClientConfig::new("client.example.test");
    c.implicit_tls = true;
    c.credentials = Some(Credentials::Password {
        authzid: None,
        username: "u".into(),
        password: "p".into(),
    });
    let mut t = T::new(c);
    let env = Envelope::new("a@example.test")
        .unwrap()
        .recipient("b@example.test")
        .unwrap()
        .recipient("c@example.test")
        .unwrap();
    t.c.send(env.clone(), "caf\u{e9}\r\n.\r\n").unwrap();
    t.c.send(env, "second").unwrap();
    t.c.quit();
    let mut sent = vec![t.sent()];
    for (i, round) in ROUNDS.iter().enumerate() {
        let bytes = round.as_bytes();
        let mut cuts: Vec<usize> = splits
            .get(i)
            .map(|v| v.iter().map(|c| c % (bytes.len() + 1)).collect())
            .unwrap_or_default();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        for w in cuts.windows(2) {
            t.server_bytes(&bytes[w[0]..w[1]]);
        }
        sent.push(t.sent());
    }
    (sent, t.events())
}

proptest! {
    #[test]
    fn any_split_same_transcript(splits in prop::collection::vec(prop::collection::vec(any::<usize>(), 0..6), ROUNDS.len())) {
        let reference = session(&[]);
        prop_assert_eq!(session(&splits), reference);
    }
}

#[test]
fn reference_transcript() {
    let (sent, events) = session(&[]);
    assert_eq!(
        sent,
        [
            "",
            "EHLO client.example.test\r\n",
            "AUTH PLAIN AHUAcA==\r\n",
            "MAIL FROM:<a@example.test> SIZE=10 BODY=8BITMIME\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n",
            "caf\u{e9}\r\n..\r\n.\r\n",
            "MAIL FROM:<a@example.test> SIZE=8\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n",
            "RSET\r\nQUIT\r\n",
            "",
            "",
        ]
    );
    assert!(matches!(
        events.last(),
        Some(Event::Closed(CloseReason::Quit(Some(_))))
    ));
    let results: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            Event::MessageResult { result, .. } => Some(result.is_ok()),
            _ => None,
        })
        .collect();
    assert_eq!(results, [true, false]);
}

fn server_noise() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b"220 mx\r\n".to_vec()),
            Just(b"250-mx\r\n250-PIPELINING\r\n250-STARTTLS\r\n250-CHUNKING\r\n250 AUTH PLAIN NTLM\r\n".to_vec()),
            Just(b"250 ok\r\n".to_vec()),
            Just(b"354 go\r\n".to_vec()),
            Just(b"334 \r\n".to_vec()),
            Just(b"334 TlRMTVNTUAACAAAA\r\n".to_vec()),
            Just(b"235 ok\r\n".to_vec()),
            Just(b"421 bye\r\n".to_vec()),
            Just(b"550 no\r\n".to_vec()),
            Just(b"220 go ahead\r\n".to_vec()),
            Just(b"250-".to_vec()),
            prop::collection::vec(any::<u8>(), 0..40),
        ],
        0..30,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    /// Hostile server bytes: never a panic, never output after `Closed`, and the client
    /// answers whatever it is asked (the same harness as the fuzz target).
    #[test]
    fn arbitrary_server_bytes(data in server_noise(), step in 1usize..64, knobs in any::<u8>()) {
        let mut c = ClientConfig::new("client.example.test");
        c.tls = if knobs & 1 == 0 { TlsPolicy::Opportunistic } else { TlsPolicy::Required };
        c.pipelining = knobs & 2 != 0;
        c.credentials = Some(match knobs & 12 {
            0 => Credentials::Password { authzid: None, username: "u".into(), password: "p".into() },
            4 => Credentials::OAuth2 { username: "u".into(), token: "t".into() },
            _ => Credentials::External { mechanisms: vec!["NTLM".into()] },
        });
        c.allow_plaintext_auth = knobs & 16 != 0;
        let mut t = T::new(c);
        let env = Envelope::new("a@example.test").unwrap().recipient("b@example.test").unwrap();
        t.c.send(env.clone(), "x\r\n").unwrap();
        t.c.send(env, Body::Stream { body_type: BodyType::SevenBit, size: None }).unwrap();
        let mut closed = false;
        for piece in data.chunks(step) {
            let out = t.sent_bytes();
            prop_assert!(!closed || out.is_empty(), "bytes after Closed");
            t.server_bytes(piece);
            for ev in t.events() {
                match ev {
                    Event::StartTls { .. } => { let _ = t.c.tls_established(); }
                    Event::AuthChallenge(_) => { let _ = t.c.auth_respond(AuthResponse::Data(b"NTLMSSP\0".to_vec())); }
                    Event::BodyNeeded(id) => { let _ = t.c.finish_body(id); }
                    Event::Closed(_) => closed = true,
                    _ => {}
                }
            }
        }
        t.c.peer_closed();
        prop_assert!(t.events().iter().any(|e| matches!(e, Event::Closed(_))) || closed);
        prop_assert!(t.c.poll_transmit(t.now).is_none());
    }
}

/// What the server may send right after the final reply to a message.
const TAILS: &[&str] = &[
    "",
    "421 4.3.2 shutting down\r\n",
    "250 unsolicited\r\n",
    "garbage\r\n",
    "421-4.3.2 going\r\n421 4.3.2 down\r\n",
];

/// One message (DATA or BDAT) whose final `250` arrives with `tail`, the server's bytes
/// cut at `cuts`; returns the client's bytes and the events.
fn delivered_then(bdat: bool, tail: &str, cuts: &[usize]) -> (String, Vec<Event>) {
    let mut t = T::plain();
    let caps: &[&str] = if bdat {
        &["PIPELINING", "CHUNKING"]
    } else {
        &["PIPELINING"]
    };
    t.hello(caps);
    let env = Envelope::new("a@example.test")
        .unwrap()
        .recipient("b@example.test")
        .unwrap();
    t.c.send(env.clone(), "hi\r\n").unwrap();
    t.c.send(env, "next\r\n").unwrap();
    let mut sent = t.sent();
    let server = if bdat {
        format!("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n{tail}")
    } else {
        t.server("250 ok\r\n250 ok\r\n354 go\r\n");
        sent.push_str(&t.sent());
        format!("250 2.0.0 queued\r\n{tail}")
    };
    let bytes = server.as_bytes();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.push(0);
    cuts.push(bytes.len());
    cuts.sort_unstable();
    for w in cuts.windows(2) {
        t.server_bytes(&bytes[w[0]..w[1]]);
    }
    sent.push_str(&t.sent());
    (sent, t.events())
}

proptest! {
    /// RFC 5321 4.1.1.4: the first message is delivered once its final 250 is read,
    /// whatever follows and however the bytes are split.
    #[test]
    fn delivered_whatever_follows_in_any_split(
        bdat in any::<bool>(),
        tail in prop::sample::select(TAILS),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let reference = delivered_then(bdat, tail, &[]);
        let first = reference.1.iter().find_map(|e| match e {
            Event::MessageResult { result, .. } => Some(result.as_ref().map(|r| r.code.0)),
            _ => None,
        });
        prop_assert_eq!(first, Some(Ok(250)), "{:#?}", reference.1);
        prop_assert_eq!(delivered_then(bdat, tail, &cuts), reference);
    }
}
