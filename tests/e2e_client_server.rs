//! End to end in memory: the client machine talks to the server machine.
//!
//! Random envelopes and random bodies (lines starting with dots, bare CR and LF, 8-bit and
//! binary octets, the smuggling sequences) across every combination of PIPELINING,
//! CHUNKING, BINARYMIME, 8BITMIME, SIZE and SMTPUTF8, with both byte streams split at
//! random points. Every message is either delivered byte for byte or refused with the
//! reason the capabilities dictate, before anything was sent. The LIMITS tests (RFC 9422)
//! show the client staying within what the server advertises and enforces.
use bytes::Bytes;
use ehlo::client::{
    AuthResponse, Body, BodyType, Client, ClientConfig, CloseReason, Credentials, Envelope,
    Event as CEvent, Extension, MessageError, MessageId, TlsPolicy, Xexch50,
};
use ehlo::data::{DataEncoder, EncoderConfig};
use ehlo::server::{Decision, Event as SEvent, Server, ServerConfig};
use ehlo::syntax::path::{ForwardPath, LocalPart, ReversePath};
use proptest::prelude::*;
use std::collections::HashMap;
use std::time::Instant;

const SIZE_LIMIT: u64 = 600;

/// Deterministic split points.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn piece(&mut self, len: usize, max: usize) -> usize {
        1 + (self.next() as usize) % len.min(max).max(1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Caps {
    pipelining: bool,
    chunking: bool,
    binarymime: bool,
    eightbit: bool,
    size: bool,
    smtputf8: bool,
}

#[derive(Debug, Default, Clone)]
struct Delivered {
    from: Option<ReversePath<'static>>,
    to: Vec<ForwardPath<'static>>,
    content: Vec<u8>,
    xexch50: Vec<u8>,
}

/// The server side: accepts everything except recipients whose local part starts with
/// `x`; records the delivered messages.
struct ServerSide {
    server: Server,
    cur: Delivered,
    delivered: Vec<Delivered>,
    /// Every MAIL and RCPT the server parsed, whatever the decision.
    mail_froms: usize,
    rcpt_tos: usize,
    /// The mechanism and initial response of every AUTH the server saw.
    auths: Vec<(String, Option<Vec<u8>>)>,
    tls_upgrades: usize,
}

fn rejected(to: &ForwardPath<'_>) -> bool {
    match to {
        ForwardPath::Mailbox(m) => match &m.local_part {
            LocalPart::DotString(s) | LocalPart::Quoted(s) => s.starts_with('x'),
        },
        ForwardPath::Postmaster => false,
    }
}

impl ServerSide {
    fn drain(&mut self) {
        while let Some(ev) = self.server.poll_event() {
            match ev {
                SEvent::MailFrom { from, .. } => {
                    self.mail_froms += 1;
                    self.cur = Delivered {
                        from: Some(from),
                        ..Delivered::default()
                    };
                    self.server.accept();
                }
                SEvent::RcptTo { to, .. } => {
                    self.rcpt_tos += 1;
                    if rejected(&to) {
                        self.server.reject(ehlo::Reply::new(
                            550,
                            Some(ehlo::EnhancedCode::new(5, 1, 1)),
                            "No such user",
                        ));
                    } else {
                        self.cur.to.push(to);
                        self.server.accept();
                    }
                }
                SEvent::MessageChunk(b) => self.cur.content.extend_from_slice(&b),
                SEvent::XExch50Chunk(b) => self.cur.xexch50.extend_from_slice(&b),
                SEvent::MessageEnd { .. } => {
                    let d = std::mem::take(&mut self.cur);
                    self.cur.from = d.from.clone();
                    self.delivered.push(d);
                    self.server.accept();
                }
                SEvent::MessageAborted(_) | SEvent::Reset => {
                    self.cur.content.clear();
                }
                SEvent::AuthStart {
                    mechanism,
                    initial_response,
                    ..
                } => {
                    self.auths.push((mechanism, initial_response));
                    self.server.decide(Decision::AuthSuccess {
                        identity: "alice".into(),
                    });
                }
                SEvent::AuthResponse { .. } => {
                    self.server.decide(Decision::AuthSuccess {
                        identity: "alice".into(),
                    });
                }
                SEvent::TlsUpgrade => {
                    self.tls_upgrades += 1;
                    self.server.tls_established();
                }
                ev if ev.needs_decision() => self.server.accept(),
                _ => {}
            }
        }
    }
}

struct Outcome {
    results: HashMap<MessageId, Result<ehlo::Reply, MessageError>>,
    delivered: Vec<Delivered>,
    closed: Option<CloseReason>,
    mail_froms: usize,
    rcpt_tos: usize,
    auths: Vec<(String, Option<Vec<u8>>)>,
    tls_upgrades: usize,
}

/// Runs a whole session: queue `messages`, quit, pump both machines until the client
/// closes. `max_piece` bounds the split sizes.
fn run(
    server_config: ServerConfig,
    client_config: ClientConfig,
    messages: Vec<(Envelope, Body, Option<Bytes>)>,
    seed: u64,
    max_piece: usize,
) -> (Vec<MessageId>, Outcome) {
    let now = Instant::now();
    let mut rng = Rng(seed | 1);
    let mut s = ServerSide {
        server: Server::new(server_config, now),
        cur: Delivered::default(),
        delivered: Vec::new(),
        mail_froms: 0,
        rcpt_tos: 0,
        auths: Vec::new(),
        tls_upgrades: 0,
    };
    let mut client = Client::new(client_config, now);
    let mut ids = Vec::new();
    let mut streams: HashMap<MessageId, (Bytes, usize)> = HashMap::new();
    for (env, body, stream) in messages {
        let id = client.send(env, body).unwrap();
        if let Some(b) = stream {
            streams.insert(id, (b, 0));
        }
        ids.push(id);
    }
    client.quit();
    let mut out = Outcome {
        results: HashMap::new(),
        delivered: Vec::new(),
        closed: None,
        mail_froms: 0,
        rcpt_tos: 0,
        auths: Vec::new(),
        tls_upgrades: 0,
    };
    let mut c2s: Vec<u8> = Vec::new();
    let mut s2c: Vec<u8> = Vec::new();
    let mut idle = 0;
    for _ in 0..200_000 {
        let mut progress = false;
        while let Some(b) = client.poll_transmit(now) {
            c2s.extend_from_slice(&b);
        }
        if !c2s.is_empty() {
            let n = rng.piece(c2s.len(), max_piece);
            s.server.receive(now, &c2s[..n]);
            c2s.drain(..n);
            progress = true;
        }
        s.drain();
        while let Some(b) = s.server.poll_transmit() {
            s2c.extend_from_slice(&b);
        }
        if !s2c.is_empty() {
            let n = rng.piece(s2c.len(), max_piece);
            client.receive(&s2c[..n]);
            s2c.drain(..n);
            progress = true;
        }
        while let Some(ev) = client.poll_event() {
            progress = true;
            match ev {
                CEvent::MessageResult {
                    message, result, ..
                } => {
                    assert!(out.results.insert(message, result).is_none());
                }
                CEvent::BodyNeeded(id) => {
                    let (b, off) = streams.get_mut(&id).unwrap();
                    if *off >= b.len() {
                        client.finish_body(id).unwrap();
                    } else {
                        let n = rng.piece(b.len() - *off, 700);
                        client.push_body(id, b.slice(*off..*off + n)).unwrap();
                        *off += n;
                    }
                }
                CEvent::StartTls { .. } => client.tls_established().unwrap(),
                CEvent::AuthChallenge(_) => client
                    .auth_respond(AuthResponse::Data(b"token".to_vec()))
                    .unwrap(),
                CEvent::Closed(r) => out.closed = Some(r),
                _ => {}
            }
        }
        if client.is_closed() && c2s.is_empty() {
            break;
        }
        if s.server.is_closed() && s2c.is_empty() && c2s.is_empty() && !client.is_closed() {
            client.peer_closed();
            progress = true;
        }
        if progress {
            idle = 0;
        } else {
            idle += 1;
            assert!(idle < 10, "stalled");
        }
    }
    out.delivered = s.delivered;
    out.mail_froms = s.mail_froms;
    out.rcpt_tos = s.rcpt_tos;
    out.auths = s.auths;
    out.tls_upgrades = s.tls_upgrades;
    (ids, out)
}

fn server_config(c: Caps) -> ServerConfig {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.extensions.pipelining = c.pipelining;
    sc.extensions.chunking = c.chunking;
    sc.extensions.binary_mime = c.binarymime;
    sc.extensions.eight_bit_mime = c.eightbit;
    sc.extensions.size = c.size;
    sc.extensions.smtputf8 = c.smtputf8;
    sc.limits.max_message_size = SIZE_LIMIT;
    sc
}

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\r\n".to_vec()),
        Just(b".".to_vec()),
        Just(b"..".to_vec()),
        Just(b"\r\n.\r\n".to_vec()),
        Just(b"\r\n.".to_vec()),
        Just(b"Subject: hello".to_vec()),
        Just(b"text line ".to_vec()),
        Just("caf\u{e9} \u{1F600}".as_bytes().to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n.\n".to_vec()),
        Just(b"\r.\r\n".to_vec()),
        Just(b"\x00".to_vec()),
        Just(b"MAIL FROM:<evil@example.test>\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
        prop::collection::vec(b'a'..=b'z', 0..60),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat()),
        // Mostly clean text (7-bit lines), so DATA paths get exercised.
        4 => prop::collection::vec(
            prop_oneof![Just(b"\r\n".to_vec()), Just(b".".to_vec()), prop::collection::vec(b' '..=b'~', 0..80)],
            0..60
        )
        .prop_map(|v| v.concat()),
        // 8-bit text lines.
        2 => prop::collection::vec(
            prop_oneof![Just(b"\r\n".to_vec()), Just(b".".to_vec()), Just("\u{e9}t\u{e9} ".as_bytes().to_vec()), prop::collection::vec(b' '..=b'~', 0..40)],
            0..60
        )
        .prop_map(|v| v.concat()),
        1 => Just(Vec::new()),
    ]
}

fn local() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-w][a-z0-9]{0,8}",
        "x[a-z0-9]{0,5}",
        "[a-w][a-z]{0,3}\u{e9}[a-z]{0,3}",
    ]
}

fn envelope() -> impl Strategy<Value = (String, Vec<String>)> {
    (local(), prop::collection::vec(local(), 1..5))
}

/// Why the client must refuse (before sending) a message with this body and envelope.
fn refusal(c: Caps, body: &[u8], utf8: bool) -> Option<MessageError> {
    let ty = BodyType::of(body);
    let binary_ok = c.chunking && c.binarymime;
    match ty {
        BodyType::Binary if !binary_ok => {
            return Some(MessageError::Unsupported(Extension::BinaryMime))
        }
        // RFC 6531 section 3.1: the server offers 8BITMIME with SMTPUTF8.
        BodyType::EightBit if !(c.eightbit || c.smtputf8 || binary_ok) => {
            return Some(MessageError::Unsupported(Extension::EightBitMime))
        }
        _ => {}
    }
    if utf8 && !c.smtputf8 {
        return Some(MessageError::Unsupported(Extension::SmtpUtf8));
    }
    // The client declares the size as sent (RFC 1870 3): with DATA, the CRLF it adds to
    // content that does not end with one counts.
    let size = expected_content(c, body).len() as u64;
    if c.size && size > SIZE_LIMIT {
        return Some(MessageError::TooLarge {
            size,
            limit: SIZE_LIMIT,
        });
    }
    None
}

/// What the server stores: DATA ends the content with CRLF (RFC 5321 4.1.1.4).
fn expected_content(c: Caps, body: &[u8]) -> Vec<u8> {
    let mut v = body.to_vec();
    if !c.chunking && !v.is_empty() && !v.ends_with(b"\r\n") {
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn caps() -> impl Strategy<Value = Caps> {
    (any::<[bool; 6]>()).prop_map(|b| Caps {
        pipelining: b[0],
        chunking: b[1],
        binarymime: b[2],
        eightbit: b[3],
        size: b[4],
        smtputf8: b[5],
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn delivers_byte_for_byte(
        c in caps(),
        msgs in prop::collection::vec((envelope(), body(), any::<bool>()), 1..4),
        seed in any::<u64>(),
        max_piece in prop_oneof![Just(1usize), 1usize..16, 1usize..2000],
    ) {
        let mut client_config = ClientConfig::new("client.example.test");
        client_config.tls = TlsPolicy::Never;
        let mut queued = Vec::new();
        let mut expect = Vec::new();
        for ((from, rcpts), body, streamed) in &msgs {
            // A local part "null..." stands for the null reverse-path (bounces).
            let from = if from.starts_with('n') { String::new() } else { format!("{from}@example.test") };
            let mut env = Envelope::new(&from).unwrap();
            for r in rcpts {
                env.add_recipient(&format!("{r}@example.test")).unwrap();
            }
            let utf8 = env.needs_smtputf8();
            let bytes = Bytes::from(body.clone());
            let b = if *streamed {
                // The size as sent (RFC 1870 3), as a careful caller declares it.
                let size = if c.chunking {
                    body.len() as u64
                } else {
                    DataEncoder::content_size(body, EncoderConfig::default())
                };
                Body::Stream { body_type: BodyType::of(body), size: Some(size) }
            } else {
                Body::Bytes(bytes.clone())
            };
            expect.push((env.clone(), body.clone(), utf8));
            queued.push((env, b, streamed.then_some(bytes)));
        }
        let (ids, out) = run(server_config(c), client_config, queued, seed, max_piece);
        prop_assert!(matches!(out.closed, Some(CloseReason::Quit(Some(_)))), "{:?}", out.closed);
        let mut delivered = out.delivered.iter();
        // Refused messages are refused before anything was sent: the server sees a MAIL
        // (and every RCPT) of exactly the messages the client does not refuse itself.
        let sent: Vec<_> = expect.iter().filter(|(_, body, utf8)| refusal(c, body, *utf8).is_none()).map(|(env, _, _)| env.recipients.len()).collect();
        prop_assert_eq!(out.mail_froms, sent.len());
        prop_assert_eq!(out.rcpt_tos, sent.iter().sum::<usize>());
        prop_assert!(out.auths.is_empty() && out.tls_upgrades == 0);
        for (id, (env, body, utf8)) in ids.iter().zip(&expect) {
            let result = out.results.get(id).expect("every message has a result");
            let accepted: Vec<_> = env.recipients.iter().filter(|r| !rejected(&r.path)).map(|r| r.path.clone()).collect();
            match refusal(c, body, *utf8) {
                Some(err) => prop_assert_eq!(result, &Err(err)),
                None if accepted.is_empty() => prop_assert_eq!(result, &Err(MessageError::NoValidRecipients)),
                None => {
                    let content = expected_content(c, body);
                    if !c.size && content.len() as u64 > SIZE_LIMIT {
                        // Without SIZE the server can only refuse at the end.
                        prop_assert!(matches!(result, Err(MessageError::Rejected(r)) if r.code.0 == 552), "{:?}", result);
                        continue;
                    }
                    prop_assert_eq!(result.as_ref().map(|r| r.code.0), Ok(250), "{:?}", result);
                    let d = delivered.next().expect("delivered");
                    prop_assert!(d.xexch50.is_empty());
                    prop_assert_eq!(d.from.as_ref(), Some(&env.from));
                    prop_assert_eq!(&d.to, &accepted);
                    prop_assert_eq!(&d.content, &content);
                }
            }
        }
        prop_assert!(delivered.next().is_none(), "a message delivered that was not sent");
    }
}

#[test]
fn starttls_auth_and_xexch50_end_to_end() {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.extensions.starttls = true;
    sc.auth.mechanisms = vec![
        ehlo::server::Mechanism::new("PLAIN"),
        ehlo::server::Mechanism::new("LOGIN"),
    ];
    sc.exchange.xexch50 = true;
    let mut cc = ClientConfig::new("client.example.test");
    cc.tls = TlsPolicy::Required;
    cc.credentials = Some(Credentials::Password {
        authzid: None,
        username: "alice".into(),
        password: "pw".into(),
    });
    let mut env = Envelope::new("a@example.test")
        .unwrap()
        .recipient("b@example.test")
        .unwrap();
    env.xexch50 = Some(Xexch50 {
        blob: Bytes::from_static(b"\x00\x01\r\n.\r\nBLOB"),
        mode: 2,
    });
    let body = Bytes::from_static(b"Subject: t\r\n\r\n.dot\r\nbody\r\n");
    for seed in 1..20 {
        let (ids, out) = run(
            sc.clone(),
            cc.clone(),
            vec![(env.clone(), Body::Bytes(body.clone()), None)],
            seed,
            7,
        );
        assert_eq!(
            out.results[&ids[0]].as_ref().map(|r| r.code.0),
            Ok(250),
            "{:?}",
            out.results
        );
        // TLS first (Required), then AUTH PLAIN with the credentials as its initial
        // response, once.
        assert_eq!(out.tls_upgrades, 1);
        assert_eq!(
            out.auths,
            [("PLAIN".to_string(), Some(b"\0alice\0pw".to_vec()))]
        );
        assert_eq!((out.mail_froms, out.rcpt_tos), (1, 1));
        assert_eq!(out.delivered.len(), 1);
        assert_eq!(out.delivered[0].content, &body[..]);
        assert_eq!(out.delivered[0].xexch50, b"\x00\x01\r\n.\r\nBLOB");
        assert!(matches!(out.closed, Some(CloseReason::Quit(Some(_)))));
    }
}

#[test]
fn caller_driven_mechanism_end_to_end() {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.auth.mechanisms = vec![ehlo::server::Mechanism::new("GSSAPI")];
    let mut cc = ClientConfig::new("client.example.test");
    cc.tls = TlsPolicy::Never;
    cc.credentials = Some(Credentials::External {
        mechanisms: vec!["GSSAPI".into()],
    });
    let env = Envelope::new("a@example.test")
        .unwrap()
        .recipient("b@example.test")
        .unwrap();
    let (ids, out) = run(
        sc,
        cc,
        vec![(env, Body::Bytes(Bytes::from_static(b"hi\r\n")), None)],
        9,
        3,
    );
    assert_eq!(out.results[&ids[0]].as_ref().map(|r| r.code.0), Ok(250));
    // The caller's mechanism was the one used: AUTH GSSAPI, the server's success
    // taken without a challenge round.
    assert_eq!(out.auths.len(), 1, "{:?}", out.auths);
    assert_eq!(out.auths[0].0, "GSSAPI");
    assert_eq!(out.delivered.len(), 1);
    assert_eq!(out.delivered[0].content, b"hi\r\n");
    assert!(matches!(out.closed, Some(CloseReason::Quit(Some(_)))));
}

/// What a LIMITS session produced: the recipients of each stored transaction, every
/// line the server sent, and the client's message results.
struct LimitsRun {
    stored: Vec<Vec<String>>,
    server_lines: Vec<String>,
    results: Vec<Result<u16, MessageError>>,
    refused_by_client: usize,
}

/// Runs `messages` (envelopes, each sent again to its deferred recipients, as the
/// `smtp-send` example does) through a client and a server in memory, then quits.
fn run_limits(sc: ServerConfig, pipelining: bool, messages: Vec<Envelope>) -> LimitsRun {
    let now = Instant::now();
    let mut server = Server::new(sc, now);
    let mut cc = ClientConfig::new("client.example.test");
    cc.pipelining = pipelining;
    let mut client = Client::new(cc, now);
    let body = Bytes::from_static(b"Subject: limits\r\n\r\nbody\r\n");
    let mut current: HashMap<MessageId, Envelope> = HashMap::new();
    for env in messages {
        let id = client.send(env.clone(), body.clone()).unwrap();
        current.insert(id, env);
    }
    let mut out = LimitsRun {
        stored: Vec::new(),
        server_lines: Vec::new(),
        results: Vec::new(),
        refused_by_client: 0,
    };
    let mut rcpts = Vec::new();
    let mut quit = false;
    for _ in 0..10_000 {
        while let Some(b) = client.poll_transmit(now) {
            server.receive(now, &b);
        }
        while let Some(ev) = server.poll_event() {
            match ev {
                SEvent::RcptTo {
                    to: ForwardPath::Mailbox(m),
                    ..
                } => {
                    rcpts.push(m.to_string());
                    server.accept();
                }
                SEvent::MessageEnd { .. } => {
                    out.stored.push(std::mem::take(&mut rcpts));
                    server.accept();
                }
                ev if ev.needs_decision() => server.accept(),
                _ => {}
            }
        }
        while let Some(b) = server.poll_transmit() {
            out.server_lines.extend(
                String::from_utf8_lossy(&b)
                    .split_terminator("\r\n")
                    .map(str::to_string),
            );
            client.receive(&b);
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                CEvent::RecipientResult {
                    accepted: false,
                    reply,
                    ..
                } => {
                    assert_eq!(reply.text, ehlo::client::RecipientStatus::HELD_BACK_TEXT);
                    out.refused_by_client += 1;
                }
                CEvent::MessageResult {
                    message,
                    result,
                    recipients,
                } => {
                    out.results
                        .push(result.as_ref().map(|r| r.code.0).map_err(Clone::clone));
                    let env = current.remove(&message).unwrap();
                    if result.is_ok() {
                        if let Some((again, _)) = env.deferred(&recipients) {
                            let id = client.send(again.clone(), body.clone()).unwrap();
                            current.insert(id, again);
                        }
                    }
                }
                _ => {}
            }
        }
        if current.is_empty() && !quit {
            quit = true;
            client.quit();
        }
        if client.is_closed() {
            return out;
        }
    }
    panic!("the session did not end");
}

fn envelope_to(rcpts: &[String]) -> Envelope {
    let mut env = Envelope::new("sender@example.test").unwrap();
    for r in rcpts {
        env.add_recipient(r).unwrap();
    }
    env
}

/// RFC 9422 4.2: a server advertising RCPTMAX=3 gets at most three RCPT commands per
/// transaction; a message to seven recipients reaches all of them in three transactions,
/// and the server never has to answer `452`.
#[test]
fn rcptmax_delivers_to_every_recipient_without_a_server_452() {
    for pipelining in [true, false] {
        let mut sc = ServerConfig::new("mx.example.test");
        sc.limits.max_recipients = 3;
        sc.extensions.pipelining = pipelining;
        sc.advertise_limits();
        let rcpts: Vec<String> = (0..7).map(|i| format!("r{i}@example.test")).collect();
        let out = run_limits(sc, pipelining, vec![envelope_to(&rcpts)]);
        assert_eq!(out.results, [Ok(250), Ok(250), Ok(250)]);
        assert_eq!(
            out.stored,
            [
                rcpts[0..3].to_vec(),
                rcpts[3..6].to_vec(),
                rcpts[6..].to_vec()
            ]
        );
        assert!(
            !out.server_lines.iter().any(|l| l.starts_with("452")),
            "{:?}",
            out.server_lines
        );
        // Held back: 4 in the first transaction, 1 in the second.
        assert_eq!(out.refused_by_client, 5);
    }
}

/// RFC 9422 4.3: RCPTDOMAINMAX=2 against the server's enforcement of it.
#[test]
fn rcptdomainmax_delivers_to_every_domain_without_a_server_452() {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.extensions.extra = vec![ehlo::Capability::parse("LIMITS RCPTDOMAINMAX=2")];
    let rcpts: Vec<String> = ["a@one.test", "b@two.test", "c@three.test", "d@ONE.test"]
        .iter()
        .chain(&["e@four.test", "f@three.test"])
        .map(|s| s.to_string())
        .collect();
    let out = run_limits(sc, true, vec![envelope_to(&rcpts)]);
    assert_eq!(out.results, [Ok(250), Ok(250)]);
    assert_eq!(
        out.stored,
        [
            vec!["a@one.test", "b@two.test", "d@ONE.test"],
            vec!["c@three.test", "e@four.test", "f@three.test"],
        ]
    );
    assert!(!out.server_lines.iter().any(|l| l.starts_with("452")));
}

/// RFC 9422 4.1: MAILMAX=2; the third message is returned for a new connection, and the
/// server never refuses a MAIL.
#[test]
fn mailmax_stops_before_the_server_refuses_a_transaction() {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.limits.max_transactions = 2;
    sc.advertise_limits();
    let one = vec!["b@example.test".to_string()];
    let out = run_limits(
        sc,
        true,
        vec![envelope_to(&one), envelope_to(&one), envelope_to(&one)],
    );
    assert_eq!(
        out.results,
        [
            Ok(250),
            Ok(250),
            Err(MessageError::TransactionLimit { limit: 2 })
        ]
    );
    assert_eq!(out.stored.len(), 2);
    assert!(
        !out.server_lines
            .iter()
            .any(|l| l.starts_with('4') || l.starts_with('5')),
        "{:?}",
        out.server_lines
    );
}
