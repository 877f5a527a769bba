//! End to end in memory: the client machine talks to the server machine.
//!
//! Random envelopes and random bodies (lines starting with dots, bare CR and LF, 8-bit and
//! binary octets, the smuggling sequences) across every combination of PIPELINING,
//! CHUNKING, BINARYMIME, 8BITMIME, SIZE and SMTPUTF8, with both byte streams split at
//! random points. Every message is either delivered byte for byte or refused with the
//! reason the capabilities dictate, before anything was sent. The LIMITS tests (RFC 9422)
//! show the client staying within what the server advertises and enforces; the LIMITS
//! property drives whole sessions under random RCPTMAX, RCPTDOMAINMAX and MAILMAX with a
//! caller re-sending `Envelope::deferred`, and checks each accepted recipient gets each
//! message exactly once (or is reported not sent past MAILMAX).
mod split_support;

use bytes::Bytes;
use ehlo::client::{
    AuthResponse, Body, BodyType, Client, ClientConfig, CloseReason, Credentials, Envelope,
    Event as CEvent, Extension, MessageError, MessageId, TlsPolicy, Xexch50,
};
use ehlo::data::{DataEncoder, EncoderConfig};
use ehlo::server::{Decision, Event as SEvent, Server, ServerConfig};
use ehlo::syntax::path::{ForwardPath, LocalPart, ReversePath};
use proptest::prelude::*;
use split_support::Rng;
use std::collections::HashMap;
use std::time::Instant;

const SIZE_LIMIT: u64 = 600;

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

/// The server side: accepts everything except the recipients its `refuse` policy names;
/// records the delivered messages.
struct ServerSide {
    server: Server,
    /// The policy: which recipients get `550 5.1.1`.
    refuse: fn(&ForwardPath<'_>) -> bool,
    cur: Delivered,
    delivered: Vec<Delivered>,
    /// Every MAIL and RCPT the server parsed, whatever the decision.
    mail_froms: usize,
    rcpt_tos: usize,
    /// Every transaction the server started (an accepted MAIL): the sender and every
    /// RCPT it parsed in it, accepted or not.
    txns: Vec<(ReversePath<'static>, Vec<ForwardPath<'static>>)>,
    /// The mechanism and initial response of every AUTH the server saw.
    auths: Vec<(String, Option<Vec<u8>>)>,
    tls_upgrades: usize,
    /// The server reported `QUIT` answered.
    quit: bool,
}

fn rejected(to: &ForwardPath<'_>) -> bool {
    local_starts_with(to, "x")
}

fn local_starts_with(to: &ForwardPath<'_>, prefix: &str) -> bool {
    match to {
        ForwardPath::Mailbox(m) => match &m.local_part {
            LocalPart::DotString(s) | LocalPart::Quoted(s) => s.starts_with(prefix),
        },
        ForwardPath::Postmaster => false,
    }
}

impl ServerSide {
    fn new(config: ServerConfig, now: Instant, refuse: fn(&ForwardPath<'_>) -> bool) -> Self {
        ServerSide {
            server: Server::new(config, now),
            refuse,
            cur: Delivered::default(),
            delivered: Vec::new(),
            mail_froms: 0,
            rcpt_tos: 0,
            txns: Vec::new(),
            auths: Vec::new(),
            tls_upgrades: 0,
            quit: false,
        }
    }

    fn drain(&mut self) {
        while let Some(ev) = self.server.poll_event() {
            match ev {
                SEvent::MailFrom { from, .. } => {
                    self.mail_froms += 1;
                    self.txns.push((from.clone(), Vec::new()));
                    self.cur = Delivered {
                        from: Some(from),
                        ..Delivered::default()
                    };
                    self.server.accept();
                }
                SEvent::RcptTo { to, .. } => {
                    self.rcpt_tos += 1;
                    if let Some((_, rcpts)) = self.txns.last_mut() {
                        rcpts.push(to.clone());
                    }
                    if (self.refuse)(&to) {
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
                    // The machine's own record (`record_envelope`) is what this caller
                    // built from the events it accepted.
                    let recorded = self.server.envelope();
                    assert_eq!(recorded.is_some(), self.server.config().record_envelope);
                    if let Some(e) = recorded {
                        assert_eq!(Some(&e.from), d.from.as_ref());
                        let to: Vec<_> = e.recipients.iter().map(|r| r.to.clone()).collect();
                        assert_eq!(to, d.to);
                    }
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
                    self.server.tls_established().unwrap();
                }
                SEvent::Quit => self.quit = true,
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

/// The two byte streams between a client and a server in memory, each cut at random
/// points (at most `max_piece` octets per move), and the streamed bodies the caller feeds.
struct Wire {
    now: Instant,
    rng: Rng,
    max_piece: usize,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    /// Every octet the server sent.
    from_server: Vec<u8>,
    /// Streamed bodies by message: the content and how much was pushed.
    streams: HashMap<MessageId, (Bytes, usize)>,
    idle: u32,
}

impl Wire {
    fn new(now: Instant, seed: u64, max_piece: usize) -> Self {
        Wire {
            now,
            rng: Rng(seed | 1),
            max_piece,
            c2s: Vec::new(),
            s2c: Vec::new(),
            from_server: Vec::new(),
            streams: HashMap::new(),
            idle: 0,
        }
    }

    /// Moves one random piece each way, the server side deciding on what it parsed in
    /// between. Whether anything moved.
    fn round(&mut self, client: &mut Client, s: &mut ServerSide) -> bool {
        let mut progress = false;
        while let Some(b) = client.poll_transmit(self.now) {
            self.c2s.extend_from_slice(&b);
        }
        if !self.c2s.is_empty() {
            let n = self.rng.piece(self.c2s.len(), self.max_piece);
            s.server.receive(self.now, &self.c2s[..n]);
            self.c2s.drain(..n);
            progress = true;
        }
        s.drain();
        while let Some(b) = s.server.poll_transmit() {
            self.from_server.extend_from_slice(&b);
            self.s2c.extend_from_slice(&b);
        }
        if !self.s2c.is_empty() {
            let n = self.rng.piece(self.s2c.len(), self.max_piece);
            client.receive(&self.s2c[..n]);
            self.s2c.drain(..n);
            progress = true;
        }
        progress
    }

    /// Answers the client events every caller answers the same way (streamed bodies in
    /// random pieces, TLS, AUTH challenges); returns the others.
    fn answer(&mut self, client: &mut Client, ev: CEvent) -> Option<CEvent> {
        match ev {
            CEvent::BodyNeeded(id) => {
                let (b, off) = self.streams.get_mut(&id).unwrap();
                if *off >= b.len() {
                    client.finish_body(id).unwrap();
                } else {
                    let n = self.rng.piece(b.len() - *off, 700);
                    client.push_body(id, b.slice(*off..*off + n)).unwrap();
                    *off += n;
                }
            }
            CEvent::StartTls { .. } => client.tls_established().unwrap(),
            CEvent::AuthChallenge(_) => client
                .auth_respond(AuthResponse::Data(b"token".to_vec()))
                .unwrap(),
            ev => return Some(ev),
        }
        None
    }

    /// After a round and the caller's handling of the client's events: whether the session
    /// is over. Tells the client when the server closed; panics when nothing moves.
    fn settle(&mut self, client: &mut Client, s: &ServerSide, mut progress: bool) -> bool {
        if client.is_closed() && self.c2s.is_empty() {
            return true;
        }
        if s.server.is_closed() && self.s2c.is_empty() && self.c2s.is_empty() && !client.is_closed()
        {
            client.peer_closed();
            progress = true;
        }
        if progress {
            self.idle = 0;
        } else {
            self.idle += 1;
            assert!(self.idle < 10, "stalled");
        }
        false
    }
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
    let mut wire = Wire::new(now, seed, max_piece);
    let mut s = ServerSide::new(server_config, now, rejected);
    let mut client = Client::new(client_config, now);
    let mut ids = Vec::new();
    for (env, body, stream) in messages {
        let id = client.send(env, body).unwrap();
        if let Some(b) = stream {
            wire.streams.insert(id, (b, 0));
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
    for _ in 0..200_000 {
        let mut progress = wire.round(&mut client, &mut s);
        while let Some(ev) = client.poll_event() {
            progress = true;
            match wire.answer(&mut client, ev) {
                Some(CEvent::MessageResult {
                    message, result, ..
                }) => {
                    assert!(out.results.insert(message, result).is_none());
                }
                Some(CEvent::Closed(r)) => out.closed = Some(r),
                _ => {}
            }
        }
        if wire.settle(&mut client, &s, progress) {
            break;
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
    sc.record_envelope = true;
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
                    ..
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

/// The recipient domains of the LIMITS sessions; `ONE.test` is `one.test` (RFC 9422
/// section 4.3 compares domains without case).
const DOMAINS: [&str; 5] = [
    "one.test",
    "two.test",
    "three.test",
    "ONE.test",
    "Four.Test",
];

/// The policy of the LIMITS sessions: a local part starting with `no` is refused.
fn refused_no(to: &ForwardPath<'_>) -> bool {
    local_starts_with(to, "no")
}

/// A recipient of a LIMITS session: refused by the policy or not, its domain (an index in
/// `DOMAINS`, or one past it for `<Postmaster>`, which has no domain) and a letter; the
/// address also holds its index, so every address of an envelope is distinct.
type RcptSpec = (bool, usize, char);

fn limits_rcpt() -> impl Strategy<Value = RcptSpec> {
    (
        prop::bool::weighted(0.25),
        prop_oneof![12 => 0..DOMAINS.len(), 1 => Just(DOMAINS.len())],
        prop::char::range('a', 'm'),
    )
}

fn address(to: &ForwardPath<'_>) -> String {
    match to {
        ForwardPath::Mailbox(m) => m.to_string(),
        ForwardPath::Postmaster => "postmaster".into(),
    }
}

/// One LIMITS session: what the server advertises, the messages, and how the caller and
/// the transport behave.
#[derive(Debug, Clone)]
struct LimitsCase {
    c: Caps,
    rcpt_max: u64,
    domain_max: Option<u64>,
    mail_max: Option<u64>,
    /// Per message: its recipients (see `limits_rcpt`), its body, whether it is streamed.
    msgs: Vec<(Vec<RcptSpec>, Vec<u8>, bool)>,
    /// The caller queues every message at once, or each after the one before is done.
    queue_all: bool,
    seed: u64,
    max_piece: usize,
}

/// A recipient of a LIMITS session as the expectation sees it.
#[derive(Debug, Clone)]
struct LimitsRcpt {
    addr: String,
    /// The policy refuses it.
    refused: bool,
    /// Its domain as RFC 9422 compares them (without case); none for `<Postmaster>`.
    domain: Option<String>,
}

/// The recipients of a message. Only the first `<Postmaster>` is one (the others go to
/// `one.test`), so that every address is distinct; the policy accepts it.
fn limits_recipients(rcpts: &[RcptSpec]) -> Vec<LimitsRcpt> {
    let mut postmaster = false;
    rcpts
        .iter()
        .enumerate()
        .map(|(i, &(refused, domain, letter))| {
            if domain == DOMAINS.len() && !postmaster {
                postmaster = true;
                return LimitsRcpt {
                    addr: "postmaster".into(),
                    refused: false,
                    domain: None,
                };
            }
            let domain = DOMAINS[domain % DOMAINS.len()];
            let local = if refused {
                format!("no{letter}{i}")
            } else {
                format!("{letter}{i}")
            };
            LimitsRcpt {
                addr: format!("{local}@{domain}"),
                refused,
                domain: Some(domain.to_ascii_lowercase()),
            }
        })
        .collect()
}

fn sender(k: usize) -> String {
    format!("m{k}@example.test")
}

/// Drives a LIMITS session as a careful caller does (re-sending `Envelope::deferred`
/// until nothing is deferred or MAILMAX is reached) and checks every invariant against
/// the independent expectation of the case: the policy and the advertised limits.
fn check_limits_session(case: &LimitsCase) -> Result<(), TestCaseError> {
    let c = case.c;
    let rcpt_max = usize::try_from(case.rcpt_max).unwrap();
    let domain_max = case.domain_max.map(|d| usize::try_from(d).unwrap());
    let now = Instant::now();
    let mut sc = server_config(c);
    // The bodies are not about SIZE here: any of them fits.
    sc.limits.max_message_size = 1 << 20;
    let mut line = format!("LIMITS RCPTMAX={}", case.rcpt_max);
    if let Some(m) = case.mail_max {
        line.push_str(&format!(" MAILMAX={m}"));
    }
    if let Some(d) = case.domain_max {
        line.push_str(&format!(" RCPTDOMAINMAX={d}"));
    }
    sc.extensions.extra = vec![ehlo::Capability::parse(&line)];
    let mut cc = ClientConfig::new("client.example.test");
    cc.tls = TlsPolicy::Never;
    let mut client = Client::new(cc, now);
    let mut wire = Wire::new(now, case.seed, case.max_piece);
    let mut s = ServerSide::new(sc, now, refused_no);

    let recipients: Vec<Vec<LimitsRcpt>> = case
        .msgs
        .iter()
        .map(|(r, _, _)| limits_recipients(r))
        .collect();
    let domain_of = |k: usize, i: usize| recipients[k][i].domain.clone();
    let refusals: Vec<Option<MessageError>> = case
        .msgs
        .iter()
        .map(|(_, body, _)| refusal(Caps { size: false, ..c }, body, false))
        .collect();

    // In flight: the message, the envelope and each of its recipients' index in the
    // message's first envelope.
    let mut current: HashMap<MessageId, (usize, Envelope, Vec<usize>)> = HashMap::new();
    // The transactions the client started, in order: the message and the recipients it
    // sent a RCPT for (indices in the message).
    let mut started: Vec<(usize, Vec<usize>, bool)> = Vec::new();
    // Per message: every result, and the recipients not yet sent when MAILMAX was reached.
    let mut results: Vec<Vec<Result<u16, MessageError>>> = vec![Vec::new(); case.msgs.len()];
    let mut pending_at_limit: Vec<Option<Vec<usize>>> = vec![None; case.msgs.len()];
    let mut closed = None;
    let mut next = 0;
    let mut quit = false;

    let submit = |client: &mut Client,
                  wire: &mut Wire,
                  current: &mut HashMap<MessageId, (usize, Envelope, Vec<usize>)>,
                  k: usize,
                  env: Envelope,
                  orig: Vec<usize>| {
        let (_, body, streamed) = &case.msgs[k];
        let b = if *streamed {
            let size = if c.chunking {
                body.len() as u64
            } else {
                DataEncoder::content_size(body, EncoderConfig::default())
            };
            Body::Stream {
                body_type: BodyType::of(body),
                size: Some(size),
            }
        } else {
            Body::Bytes(Bytes::from(body.clone()))
        };
        let id = client.send(env.clone(), b).unwrap();
        if *streamed {
            wire.streams.insert(id, (Bytes::from(body.clone()), 0));
        }
        current.insert(id, (k, env, orig));
    };
    let first_envelope = |k: usize| {
        let mut env = Envelope::new(&sender(k)).unwrap();
        for r in &recipients[k] {
            env.add_recipient(&r.addr).unwrap();
        }
        env
    };

    let mut done = false;
    for _ in 0..2_000_000 {
        // The caller: every message at once, or one after the other.
        while next < case.msgs.len() && (case.queue_all || current.is_empty()) {
            let orig = (0..recipients[next].len()).collect();
            submit(
                &mut client,
                &mut wire,
                &mut current,
                next,
                first_envelope(next),
                orig,
            );
            next += 1;
        }
        if next == case.msgs.len() && current.is_empty() && !quit {
            quit = true;
            client.quit();
        }
        let mut progress = wire.round(&mut client, &mut s);
        while let Some(ev) = client.poll_event() {
            progress = true;
            let Some(ev) = wire.answer(&mut client, ev) else {
                continue;
            };
            let (message, result, statuses) = match ev {
                CEvent::MessageResult {
                    message,
                    result,
                    recipients,
                    ..
                } => (message, result, recipients),
                CEvent::Closed(r) => {
                    closed = Some(r);
                    continue;
                }
                _ => continue,
            };
            let (k, env, orig) = current.remove(&message).expect("a message in flight");
            let n = env.recipients.len();
            prop_assert_eq!(
                statuses.iter().map(|s| s.index).collect::<Vec<_>>(),
                (0..n).collect::<Vec<_>>()
            );
            results[k].push(result.as_ref().map(|r| r.code.0).map_err(Clone::clone));
            match &result {
                Err(MessageError::TransactionLimit { limit }) => {
                    // Refused before anything was sent: MAILMAX is used up.
                    prop_assert_eq!(Some(*limit), case.mail_max);
                    prop_assert!(statuses.iter().all(|s| s.reply.is_none()));
                    pending_at_limit[k] = Some(orig);
                    continue;
                }
                Err(e) if Some(e) == refusals[k].as_ref() => {
                    // The body needs what the server lacks: refused once, before sending.
                    prop_assert_eq!(orig.len(), recipients[k].len());
                    prop_assert!(statuses.iter().all(|s| s.reply.is_none()));
                    continue;
                }
                _ => prop_assert!(refusals[k].is_none(), "{:?} for {:?}", result, refusals[k]),
            }
            // A transaction: every recipient answered, by the server or held back.
            let sent: Vec<usize> = statuses
                .iter()
                .filter(|s| !s.held_back())
                .map(|s| s.index)
                .collect();
            let held: Vec<usize> = statuses
                .iter()
                .filter(|s| s.held_back())
                .map(|s| s.index)
                .collect();
            prop_assert!(!sent.is_empty(), "no recipient sent: {:?}", statuses);
            for st in &statuses {
                let reply = st.reply.as_ref().expect("every recipient answered");
                let refused = recipients[k][orig[st.index]].refused;
                if st.held_back() {
                    prop_assert_eq!(reply.code.0, 452);
                } else if refused {
                    prop_assert_eq!(reply.code.0, 550, "{:?}", reply);
                } else {
                    prop_assert!(st.accepted(), "{:?}", reply);
                }
            }
            let any_accepted = sent.iter().any(|&i| !recipients[k][orig[i]].refused);
            if any_accepted {
                prop_assert_eq!(result.as_ref().map(|r| r.code.0), Ok(250), "{:?}", result);
            } else {
                prop_assert_eq!(&result, &Err(MessageError::NoValidRecipients));
            }
            // Within the limits, and using them: a recipient is held back only when the
            // transaction has RCPTMAX recipients, or RCPTDOMAINMAX domains without its.
            let domains: std::collections::BTreeSet<String> =
                sent.iter().filter_map(|&i| domain_of(k, orig[i])).collect();
            prop_assert!(sent.len() <= rcpt_max, "{} > RCPTMAX", sent.len());
            if let Some(d) = domain_max {
                prop_assert!(domains.len() <= d, "{:?} > RCPTDOMAINMAX", domains);
            }
            for &i in &held {
                let full = sent.len() == rcpt_max;
                let domain_full = domain_max.is_some_and(|d| {
                    domain_of(k, orig[i])
                        .is_some_and(|x| domains.len() == d && !domains.contains(&x))
                });
                prop_assert!(
                    full || domain_full,
                    "recipient {} held back needlessly: sent {:?}",
                    recipients[k][orig[i]].addr,
                    sent
                );
            }
            started.push((k, sent.iter().map(|&i| orig[i]).collect(), any_accepted));
            // Only the held-back recipients come back, never one the server answered.
            match env.deferred(&statuses) {
                None => prop_assert!(held.is_empty(), "held back {:?} not deferred", held),
                Some((again, indices)) => {
                    prop_assert_eq!(&indices, &held);
                    let again_orig: Vec<usize> = indices.iter().map(|&i| orig[i]).collect();
                    let addrs: Vec<String> =
                        again.recipients.iter().map(|r| address(&r.path)).collect();
                    let expected: Vec<String> = again_orig
                        .iter()
                        .map(|&i| recipients[k][i].addr.clone())
                        .collect();
                    prop_assert_eq!(addrs, expected);
                    submit(&mut client, &mut wire, &mut current, k, again, again_orig);
                }
            }
        }
        if next == case.msgs.len() && current.is_empty() && !quit {
            quit = true;
            client.quit();
            progress = true;
        }
        if wire.settle(&mut client, &s, progress) {
            done = true;
            break;
        }
    }
    prop_assert!(done, "the session did not end");

    // (6) The session ends with QUIT on both sides.
    prop_assert!(
        matches!(&closed, Some(CloseReason::Quit(Some(r))) if r.code.0 == 221),
        "{:?}",
        closed
    );
    prop_assert!(s.quit && s.server.is_closed());
    // (1) The server refused nothing for the limits: its only refusals are the policy's
    // 550 and the 554 to DATA/BDAT of a transaction whose every recipient it refused.
    let lines: Vec<String> = String::from_utf8_lossy(&wire.from_server)
        .split_terminator("\r\n")
        .map(str::to_string)
        .collect();
    for l in &lines {
        prop_assert!(
            !(l.starts_with('4') || l.starts_with('5'))
                || l.starts_with("550 5.1.1")
                || l.starts_with("554 5.5.1"),
            "server refusal {:?} in {:?}",
            l,
            lines
        );
    }
    // (5) As many transactions on both sides, in the same order, with the same RCPTs.
    prop_assert_eq!(s.txns.len(), started.len());
    prop_assert_eq!(s.server.transactions() as usize, started.len());
    for ((from, rcpts), (k, sent, _)) in s.txns.iter().zip(&started) {
        prop_assert_eq!(from.to_string(), format!("<{}>", sender(*k)));
        let got: Vec<String> = rcpts.iter().map(address).collect();
        let want: Vec<String> = sent
            .iter()
            .map(|&i| recipients[*k][i].addr.clone())
            .collect();
        prop_assert_eq!(got, want);
    }
    let limit_reached = pending_at_limit.iter().any(Option::is_some);
    if let Some(m) = case.mail_max {
        prop_assert!(started.len() as u64 <= m);
        if limit_reached {
            // The client used every transaction allowed before refusing one.
            prop_assert_eq!(started.len() as u64, m);
        }
    } else {
        prop_assert!(!limit_reached);
    }
    // (2), (3), (4) per message.
    let delivered_txns = started.iter().filter(|(_, _, ok)| *ok).count();
    prop_assert_eq!(s.delivered.len(), delivered_txns);
    for (k, (rcpts, body, _)) in case.msgs.iter().enumerate() {
        let all = &recipients[k];
        if refusals[k].is_some() {
            prop_assert_eq!(&results[k], &vec![Err(refusals[k].clone().unwrap())]);
            prop_assert!(!started.iter().any(|(m, _, _)| *m == k));
            continue;
        }
        let content = expected_content(c, body);
        let mut delivered_to: HashMap<String, usize> = HashMap::new();
        for d in s.delivered.iter().filter(|d| {
            d.from.as_ref().map(ToString::to_string) == Some(format!("<{}>", sender(k)))
        }) {
            prop_assert_eq!(&d.content, &content);
            for to in &d.to {
                *delivered_to.entry(address(to)).or_default() += 1;
            }
        }
        // How many RCPTs each recipient got, over all of the message's transactions.
        let mut tried = vec![0usize; rcpts.len()];
        for (_, sent, _) in started.iter().filter(|(m, _, _)| *m == k) {
            for &i in sent {
                tried[i] += 1;
            }
        }
        let pending = pending_at_limit[k].clone().unwrap_or_default();
        for (i, LimitsRcpt { addr, refused, .. }) in all.iter().enumerate() {
            let not_sent = pending.contains(&i);
            // Every recipient is tried once, unless MAILMAX left it pending: a refused one
            // is never retried, an accepted one never sent twice.
            prop_assert_eq!(tried[i], usize::from(!not_sent), "RCPTs to {}", addr);
            let times = delivered_to.get(addr).copied().unwrap_or(0);
            let want = usize::from(!refused && !not_sent);
            prop_assert_eq!(times, want, "deliveries to {} of message {}", addr, k);
        }
        prop_assert_eq!(
            delivered_to.values().sum::<usize>(),
            all.iter()
                .enumerate()
                .filter(|(i, r)| !r.refused && !pending.contains(i))
                .count()
        );
        // The message was cut short by MAILMAX only if the client said so, last.
        if pending_at_limit[k].is_some() {
            prop_assert_eq!(
                results[k].last(),
                Some(&Err(MessageError::TransactionLimit {
                    limit: case.mail_max.unwrap()
                }))
            );
        }
    }
    Ok(())
}

/// Random capabilities, most offering what the random bodies need (BINARYMIME with
/// CHUNKING, 8BITMIME), so that most messages go out; the others are refused before
/// anything is sent.
fn limits_caps() -> impl Strategy<Value = Caps> {
    (
        any::<[bool; 4]>(),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(b, binarymime, eightbit)| Caps {
            pipelining: b[0],
            chunking: b[1],
            binarymime,
            eightbit,
            size: b[2],
            smtputf8: b[3],
        })
}

fn limits_case() -> impl Strategy<Value = LimitsCase> {
    (
        limits_caps(),
        1u64..=6,
        prop::option::of(1u64..=4),
        prop::option::of(1u64..=4),
        prop::collection::vec(
            (
                prop::collection::vec(limits_rcpt(), 1..=12),
                body(),
                any::<bool>(),
            ),
            1..=4,
        ),
        any::<bool>(),
        any::<u64>(),
        prop_oneof![Just(1usize), 1usize..16, 1usize..2000],
    )
        .prop_map(
            |(c, rcpt_max, domain_max, mail_max, msgs, queue_all, seed, max_piece)| LimitsCase {
                c,
                rcpt_max,
                domain_max,
                mail_max,
                msgs,
                queue_all,
                seed,
                max_piece,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// RFC 9422 end to end: under random LIMITS (RCPTMAX, RCPTDOMAINMAX, MAILMAX), with and
    /// without PIPELINING and CHUNKING, both streams split at random, a caller re-sending
    /// `Envelope::deferred` delivers every message to each recipient the server accepts
    /// exactly once (or, past MAILMAX, reports the rest as not sent), never retries a
    /// refused recipient, and the server never has to refuse anything for the limits.
    #[test]
    fn limits_sessions_deliver_each_recipient_once(case in limits_case()) {
        check_limits_session(&case)?;
    }
}
