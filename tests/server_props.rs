//! Property tests for the server machine: input splitting does not matter; hostile input
//! with arbitrary decisions never panics, stays within the memory bounds and only ever
//! produces well-formed replies.

mod server_support;

use ehlo::server::{Decision, Event, Mechanism, Server, ServerConfig};
use ehlo::{EnhancedCode, Reply};
use proptest::prelude::*;
use server_support::*;
use std::borrow::Cow;

fn full_config() -> ServerConfig {
    let mut c = config();
    c.auth.mechanisms = vec![
        Mechanism::new("NTLM"),
        Mechanism::new("LOGIN"),
        Mechanism::new("PLAIN"),
    ];
    c.auth.allow_plaintext_without_tls = true;
    c.exchange.xexch50 = true;
    c.exchange.link2state = true;
    c.exchange.exps_mechanisms = vec![Mechanism::new("NTLM")];
    c.extensions.etrn = true;
    c.extensions.smtputf8 = true;
    c
}

const SESSIONS: &[&str] = &[
    "EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<bad@example.test>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n",
    "EHLO c\r\nMAIL FROM:<a@example.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\nBDAT 5\r\nhelloBDAT 7 LAST\r\n\r\n.\r\n\r\nRSET\r\nQUIT\r\n",
    "EHLO c\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nMAIL FROM:<a@example.test> AUTH=a@example.test\r\nRCPT TO:<b@example.test>\r\nXEXCH50 4 2\r\nab\r\nDATA\r\nx\r\n.\r\nQUIT\r\n",
    "HELO c\r\nNOOP\r\nVRFY x\r\nFOO bar\r\n\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nDATA\r\n.\r\nQUIT\r\n",
    "EHLO c\r\nAUTH NTLM\r\n*\r\nX-LINK2STATE FIRST CHUNK=x\r\nETRN @example.test\r\nMAIL FROM:<a@example.test> SIZE=99999999999\r\nQUIT\r\n",
];

fn decide(e: &Event) -> Decision {
    match e {
        Event::RcptTo { to, .. } if format!("{to:?}").contains("bad") => Decision::Reply(
            Reply::new(550, Some(EnhancedCode::new(5, 1, 1)), "No such user"),
        ),
        Event::AuthStart {
            initial_response: None,
            ..
        } => Decision::AuthChallenge(b"Username:".to_vec()),
        Event::AuthResponse { data, .. } if data == b"user" => {
            Decision::AuthChallenge(b"Password:".to_vec())
        }
        Event::AuthResponse { .. } => Decision::AuthSuccess {
            identity: "user".into(),
        },
        _ => Decision::Default,
    }
}

/// Events with consecutive content chunks merged (chunk boundaries follow the input).
fn normalized(events: &[Event]) -> Vec<Event> {
    let mut v: Vec<Event> = Vec::new();
    for e in events {
        match (v.last_mut(), e) {
            (Some(Event::MessageChunk(a)), Event::MessageChunk(b)) => {
                let mut m = a.to_vec();
                m.extend_from_slice(b);
                *a = m.into();
            }
            (Some(Event::XExch50Chunk(a)), Event::XExch50Chunk(b)) => {
                let mut m = a.to_vec();
                m.extend_from_slice(b);
                *a = m.into();
            }
            _ => v.push(e.clone()),
        }
    }
    v
}

/// The EHLO reply of `full_config()` to a client named `name`.
fn ehlo_reply(name: &str) -> String {
    format!(
        "250-mx.example.test Hello {name}\r\n250-SIZE 10485760\r\n250-PIPELINING\r\n250-DSN\r\n\
         250-ENHANCEDSTATUSCODES\r\n250-AUTH NTLM LOGIN PLAIN\r\n250-X-EXPS NTLM\r\n\
         250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n250-ETRN\r\n\
         250-XEXCH50\r\n250 X-LINK2STATE\r\n"
    )
}

/// The independent oracle for the split tests below: each of `SESSIONS`, fed whole, gives
/// exactly these replies, events and message content.
fn expected_session(idx: usize) -> (String, Vec<&'static str>, &'static [u8]) {
    const GREETING: &str = "220 mx.example.test ESMTP ready\r\n";
    match idx {
        0 => (
            format!(
                "{GREETING}{}250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
                 550 5.1.1 No such user\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n\
                 250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n",
                ehlo_reply("client.example.test")
            ),
            vec![
                "Connect",
                "Ehlo",
                "MailFrom",
                "RcptTo",
                "RcptTo",
                "DataStart",
                "Chunk",
                "Chunk",
                "MessageEnd",
                "Quit",
            ],
            b"Subject: x\r\n\r\n.dot\r\nline\r\n",
        ),
        1 => (
            format!(
                "{GREETING}{}250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
                 250 2.0.0 5 octets received\r\n250 2.0.0 Message accepted\r\n\
                 250 2.0.0 OK\r\n221 2.0.0 Bye\r\n",
                ehlo_reply("c")
            ),
            vec![
                "Connect",
                "Ehlo",
                "MailFrom",
                "RcptTo",
                "Bdat",
                "Chunk",
                "Bdat",
                "Chunk",
                "MessageEnd",
                "Reset",
                "Quit",
            ],
            b"hello\r\n.\r\n\r\n",
        ),
        2 => (
            format!(
                "{GREETING}{}334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n\
                 235 2.7.0 Authentication successful\r\n250 2.1.0 Sender OK\r\n\
                 250 2.1.5 Recipient OK\r\n354 Send binary data\r\n250 2.0.0 OK\r\n\
                 354 Start mail input; end with <CRLF>.<CRLF>\r\n\
                 250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n",
                ehlo_reply("c")
            ),
            vec![
                "Connect",
                "Ehlo",
                "AuthStart",
                "AuthResponse",
                "AuthResponse",
                "MailFrom",
                "RcptTo",
                "XExch50",
                "XExch50Chunk",
                "XExch50End",
                "DataStart",
                "Chunk",
                "MessageEnd",
                "Quit",
            ],
            b"x\r\n",
        ),
        3 => (
            format!(
                "{GREETING}250 mx.example.test\r\n250 2.0.0 OK\r\n\
                 252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n\
                 500 5.5.1 Command unrecognized\r\n\
                 500 5.5.2 Syntax error, command unrecognized\r\n250 2.1.0 Sender OK\r\n\
                 250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n\
                 250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"
            ),
            vec![
                "Connect",
                "Helo",
                "Vrfy",
                "Unknown",
                "MailFrom",
                "RcptTo",
                "DataStart",
                "MessageEnd",
                "Quit",
            ],
            b"",
        ),
        4 => (
            format!(
                "{GREETING}{}334 VXNlcm5hbWU6\r\n501 5.0.0 Authentication cancelled\r\n\
                 500 5.5.1 Command unrecognized\r\n458 4.5.0 Unable to queue messages for node\r\n\
                 552 5.3.4 Message size exceeds fixed maximum message size\r\n221 2.0.0 Bye\r\n",
                ehlo_reply("c")
            ),
            vec![
                "Connect",
                "Ehlo",
                "AuthStart",
                "AuthAborted",
                "Exchange",
                "Etrn",
                "Quit",
            ],
            b"",
        ),
        _ => unreachable!(),
    }
}

#[test]
fn whole_sessions_give_the_expected_transcripts() {
    for (idx, s) in SESSIONS.iter().enumerate() {
        let whole = run(full_config(), s.as_bytes(), decide);
        let (text, kinds, message) = expected_session(idx);
        assert_eq!(whole.text(), text, "{s:?}");
        assert_eq!(whole.kinds(), kinds, "{s:?}");
        assert_eq!(whole.message(), message, "{s:?}");
        assert!(whole.closed, "{s:?}");
    }
}

#[test]
fn one_byte_at_a_time_equals_whole() {
    for s in SESSIONS {
        let whole = run(full_config(), s.as_bytes(), decide);
        let pieces: Vec<&[u8]> = s.as_bytes().chunks(1).collect();
        let split = run_pieces(full_config(), &pieces, decide);
        assert_eq!(split.text(), whole.text(), "{s:?}");
        assert_eq!(
            normalized(&split.events),
            normalized(&whole.events),
            "{s:?}"
        );
        assert!(whole.closed || !s.ends_with("QUIT\r\n"));
        assert_well_formed(&whole.out);
    }
}

/// `s` cut at `cuts` (each taken modulo `s.len() + 1`, in any order, repeats ignored).
fn cut(s: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    cuts.iter_mut().for_each(|c| *c %= s.len() + 1);
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for c in cuts {
        pieces.push(&s[start..c]);
        start = c;
    }
    pieces.push(&s[start..]);
    pieces
}

proptest! {
    #[test]
    fn splitting_does_not_matter(idx in 0..SESSIONS.len(), cuts in prop::collection::vec(0usize..400, 0..12)) {
        let s = SESSIONS[idx].as_bytes();
        let pieces = cut(s, cuts);
        let whole = run(full_config(), s, decide);
        let split = run_pieces(full_config(), &pieces, decide);
        prop_assert_eq!(split.text(), whole.text());
        prop_assert_eq!(normalized(&split.events), normalized(&whole.events));
        // And against the independent oracle, not only the whole-input run.
        let (text, _, message) = expected_session(idx);
        prop_assert_eq!(split.text(), text);
        prop_assert_eq!(split.message(), message);
        prop_assert!(split.closed);
    }
}

fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"EHLO c\r\n".to_vec()),
        Just(b"HELO c\r\n".to_vec()),
        Just(b"MAIL FROM:<a@example.test>\r\n".to_vec()),
        Just(b"MAIL FROM:<a@example.test> SIZE=10 BODY=8BITMIME\r\n".to_vec()),
        Just(b"RCPT TO:<b@example.test>\r\n".to_vec()),
        Just(b"DATA\r\n".to_vec()),
        Just(b"\r\n.\r\n".to_vec()),
        Just(b"BDAT 3\r\n".to_vec()),
        Just(b"BDAT 2 LAST\r\n".to_vec()),
        Just(b"RSET\r\n".to_vec()),
        Just(b"NOOP\r\n".to_vec()),
        Just(b"QUIT\r\n".to_vec()),
        Just(b"STARTTLS\r\n".to_vec()),
        Just(b"AUTH LOGIN\r\n".to_vec()),
        Just(b"AUTH PLAIN AGEAYg==\r\n".to_vec()),
        Just(b"AUTH NTLM TlRMTVNTUAABAAAA\r\n".to_vec()),
        Just(b"dGlt\r\n".to_vec()),
        Just(b"*\r\n".to_vec()),
        Just(b"XEXCH50 3 2\r\n".to_vec()),
        Just(b"X-LINK2STATE x\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b".".to_vec()),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(b'a'..=b'z', 500..700),
    ]
}

fn decision(sel: u8) -> Decision {
    match sel % 12 {
        0 => Decision::Default,
        1 => Decision::Accept,
        2 => Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "No")),
        3 => Decision::Reply(Reply::new(
            250,
            Some(EnhancedCode::new(2, 0, 0)),
            "Fine\nreally fine",
        )),
        4 => Decision::Reply(Reply::new(451, None, "x".repeat(700))),
        5 => Decision::Close(Reply::new(421, Some(EnhancedCode::new(4, 3, 2)), "Bye")),
        6 => Decision::AuthChallenge(vec![0, 1, 2, 255]),
        7 => Decision::AuthChallengeText(Cow::Borrowed("ntlm supported")),
        8 => Decision::AuthSuccess {
            identity: "x".into(),
        },
        9 => Decision::AuthFailure,
        10 => Decision::AuthTemporaryFailure,
        _ => Decision::Reply(Reply::new(354, None, "go on")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn hostile_input_and_decisions(
        pieces in prop::collection::vec(prop::collection::vec(token(), 1..8).prop_map(|v| v.concat()), 1..12),
        sels in prop::collection::vec(any::<u8>(), 1..32),
        tls_at in any::<u8>(),
    ) {
        let mut c = full_config();
        c.extensions.starttls = true;
        c.limits.max_input_buffer = 4096;
        c.limits.max_message_size = 2000;
        c.limits.max_errors = 50;
        c.auth.builtin_exchanges = tls_at & 0x80 != 0;
        let cap = c.limits.max_input_buffer;
        let mut server = Server::new(c, t0());
        let mut out = Vec::new();
        let mut n = 0usize;
        for (i, p) in pieces.iter().enumerate() {
            server.receive(t0(), p);
            prop_assert!(server.buffered_len() <= cap);
            while let Some(e) = server.poll_event() {
                prop_assert!(server.buffered_len() <= cap);
                if e.needs_decision() {
                    server.decide(decision(sels[n % sels.len()]));
                    n += 1;
                }
                if e == Event::TlsUpgrade && (i as u8) >= tls_at % 4 {
                    server.tls_established().unwrap();
                }
            }
            while let Some(t) = server.poll_transmit() {
                out.extend_from_slice(&t);
            }
        }
        server.handle_timeout(t0() + std::time::Duration::from_secs(3600));
        while let Some(t) = server.poll_transmit() {
            out.extend_from_slice(&t);
        }
        prop_assert!(server.is_closed());
        // X-LINK2STATE (on in the full configuration) replies may be 1,024 octets.
        assert_well_formed_up_to(&out, 1024);
    }
}

/// Runs hostile `pieces` with decisions from `sels`, as `hostile_input_and_decisions`
/// does, handing the replies out and polling again while the session paused for them
/// (`limits.max_output_buffer`). Returns the output and the events.
fn drive_hostile(
    c: ServerConfig,
    pieces: &[Vec<u8>],
    sels: &[u8],
    tls_at: u8,
) -> (Vec<u8>, Vec<Event>, usize) {
    let mut server = Server::new(c, t0());
    let mut out = Vec::new();
    let mut events = Vec::new();
    let mut n = 0usize;
    let mut pauses = 0;
    for (i, p) in pieces.iter().enumerate() {
        server.receive(t0(), p);
        loop {
            while let Some(e) = server.poll_event() {
                if e.needs_decision() {
                    server.decide(decision(sels[n % sels.len()]));
                    n += 1;
                }
                if e == Event::TlsUpgrade && (i as u8) >= tls_at % 4 {
                    server.tls_established().unwrap();
                }
                events.push(e);
            }
            while let Some(t) = server.poll_transmit() {
                out.extend_from_slice(&t);
            }
            if !server.is_paused_for_output() {
                break;
            }
            pauses += 1;
        }
    }
    server.handle_timeout(t0() + std::time::Duration::from_secs(3600));
    while let Some(t) = server.poll_transmit() {
        out.extend_from_slice(&t);
    }
    assert!(server.is_closed());
    (out, events, pauses)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    /// The output mark only changes when replies are handed out, never what they say or
    /// which events come: a session run with the smallest mark (512 octets) against one
    /// with no mark to speak of gives the same bytes and events, for the scripted sessions
    /// cut anywhere and for hostile input with hostile decisions.
    #[test]
    fn the_output_mark_changes_nothing_on_the_wire(
        idx in 0..SESSIONS.len(),
        helps in 0usize..12,
        cuts in prop::collection::vec(0usize..1600, 0..12),
        pieces in prop::collection::vec(prop::collection::vec(token(), 1..24).prop_map(|v| v.concat()), 1..8),
        sels in prop::collection::vec(any::<u8>(), 1..32),
        tls_at in any::<u8>(),
    ) {
        let mut small = full_config();
        small.limits.max_output_buffer = 0;
        let mut large = full_config();
        large.limits.max_output_buffer = usize::MAX;

        // HELP replies (about 130 octets each) pipelined ahead of the session make the
        // smallest mark pause it.
        let script = helped(idx, helps);
        let split = cut(&script, cuts);
        let a = run_pieces(small.clone(), &split, decide);
        let b = run_pieces(large.clone(), &split, decide);
        prop_assert_eq!(a.text(), b.text());
        prop_assert_eq!(&a.events, &b.events);

        for c in [&mut small, &mut large] {
            c.extensions.starttls = true;
            c.limits.max_input_buffer = 4096;
            c.limits.max_message_size = 2000;
            c.limits.max_errors = 50;
            c.auth.builtin_exchanges = tls_at & 0x80 != 0;
        }
        let (out_small, events_small, _) = drive_hostile(small, &pieces, &sels, tls_at);
        let (out_large, events_large, pauses) = drive_hostile(large, &pieces, &sels, tls_at);
        prop_assert_eq!(pauses, 0);
        prop_assert_eq!(String::from_utf8_lossy(&out_small), String::from_utf8_lossy(&out_large));
        prop_assert_eq!(events_small, events_large);
    }
}

/// Scripted session `idx` with `helps` pipelined HELPs ahead of it.
fn helped(idx: usize, helps: usize) -> Vec<u8> {
    let mut script = b"HELP\r\n".repeat(helps);
    script.extend_from_slice(SESSIONS[idx].as_bytes());
    script
}

/// The smallest mark does pause the scripted sessions behind a few HELPs (so the property
/// above compares paused runs, not only unpaused ones).
#[test]
fn the_smallest_output_mark_pauses_the_scripted_sessions() {
    let mut small = full_config();
    small.limits.max_output_buffer = 0;
    for (idx, session) in SESSIONS.iter().enumerate() {
        let mut pauses = 0;
        let mut server = Server::new(small.clone(), t0());
        server.receive(t0(), &helped(idx, 6));
        loop {
            while let Some(e) = server.poll_event() {
                let d = decide(&e);
                if e.needs_decision() {
                    server.decide(d);
                }
            }
            while server.poll_transmit().is_some() {}
            if !server.is_paused_for_output() {
                break;
            }
            pauses += 1;
        }
        assert!(pauses > 0, "session {idx}");
        assert!(server.is_closed() || !session.ends_with("QUIT\r\n"));
    }
}
