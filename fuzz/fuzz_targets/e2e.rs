#![no_main]
//! End-to-end transparency: the client machine talks to the server machine in memory.
//!
//! From the input: the server's extensions and limits, the client's settings, one to three
//! messages (sender, recipients, DSN parameters, body; whole or streamed), the server's
//! decision on each event, and how each byte stream is cut into reads. The two machines
//! run against each other (fake clock, bounded loop) until both are done.
//!
//! Checks:
//! * no panic, no stall, the loop ends;
//! * every message the server's caller accepted at `MessageEnd` is exactly the body the
//!   client was given: unchanged over BDAT (RFC 3030), and over DATA with a CRLF added when
//!   the body does not end with one (RFC 5321 4.1.1.4; `DataEncoder`, `Client::finish_body`);
//!   the client never sends a `Binary` body (`BodyType`) over DATA, so there is no other
//!   conversion to allow for;
//! * a message is reported delivered iff the server accepted it, each recipient's outcome
//!   (`RecipientStatus::outcome`) is `Delivered` iff the server accepted its RCPT and the
//!   message, and a recipient the client reports accepted was accepted by the server;
//! * no smuggling: every transaction the server sees is one the client started (one per
//!   message at most), no unknown command and no syntax error reach the server;
//! * without a `421` from the server's caller and without a body that breaks its declared
//!   type in the middle of DATA, the session ends with `QUIT` / `221` on both sides.
//!
//! Input layout: 5 header bytes (see `Header`), then per message a flags byte, the sender,
//! the recipients, the DSN parameters when asked, the body length (2 bytes) and the body
//! (0xFE n c: n * 8 copies of c, 0xFE 0: a literal 0xFE); then the tapes: one byte D, D
//! decision bytes (one per server event that needs a decision), the rest one byte per read
//! size (0 or past the end: everything waiting).
use bytes::Bytes;
use ehlo::client::{
    Body, BodyType, Client, ClientConfig, CloseReason, Envelope, Event as CEvent, MessageError,
    MessageId, Outcome, RecipientStatus, TlsPolicy,
};
use ehlo::data::{DataEncoder, EncoderConfig};
use ehlo::server::{BareLineEnding, Decision, Event as SEvent, LongLines, Server, ServerConfig};
use ehlo::syntax::param::{Notify, Ret};
use ehlo::syntax::path::{ForwardPath, ReversePath};
use ehlo::syntax::Leniency;
use ehlo::{EnhancedCode, Reply};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Total body octets over all messages.
const BODY_BUDGET: usize = 64 * 1024;
const MAX_ROUNDS: usize = 200_000;

/// `E2E_TRACE=1` prints both byte streams (to read a crash).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("E2E_TRACE").is_some())
}

/// `E2E_SUMMARY=1` prints one line per run: what the session did (to see what a corpus
/// reaches).
fn summary() -> bool {
    static SUMMARY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUMMARY.get_or_init(|| std::env::var_os("E2E_SUMMARY").is_some())
}

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn rest(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }
}

/// Characters of local parts: dot-atom text, and some that need quoting or SMTPUTF8.
const LOCAL: [&str; 64] = [
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s",
    "t", "u", "v", "w", "x", "y", "z", "0", "1", "2", "3", "A", "Z", ".", ".", "-", "+", "_", "=",
    "!", "#", "$", "%", "&", "'", "*", "/", "?", "^", "`", "{", "|", "}", "~", "\"", "\"", " ",
    "\\", "@", "é", "ü", "日", "(", ",", ":",
];

const DOMAINS: [&str; 10] = [
    "example.test",
    "EXAMPLE.Test",
    "sub.example.test",
    "xn--bcher-kva.test",
    "bücher.test",
    "[192.0.2.1]",
    "[IPv6:2001:db8::1]",
    "localhost",
    "a-b.test",
    "ex_ample.test",
];

fn local(inp: &mut Input<'_>) -> String {
    let n = inp.byte() % 16;
    (0..n)
        .map(|_| LOCAL[usize::from(inp.byte() % 64)])
        .collect()
}

/// The body: raw octets, with 0xFE n c for n * 8 copies of c (long lines cheaply).
fn body(inp: &mut Input<'_>, budget: &mut usize) -> Vec<u8> {
    let len = usize::from(u16::from_le_bytes([inp.byte(), inp.byte()]));
    let raw_end = inp.pos.saturating_add(len).min(inp.data.len());
    let mut out = Vec::new();
    while inp.pos < raw_end && out.len() < *budget {
        let b = inp.byte();
        if b == 0xFE {
            let n = usize::from(inp.byte()) * 8;
            let c = inp.byte();
            if n == 0 {
                out.push(0xFE);
            } else {
                out.resize(out.len() + n.min(*budget - out.len()), c);
            }
        } else {
            out.push(b);
        }
    }
    *budget -= out.len();
    out
}

struct Message {
    envelope: Envelope,
    body: Vec<u8>,
    /// `Some(declared)` for a streamed body.
    streamed: Option<BodyType>,
}

/// What the server's caller saw of one transaction.
#[derive(Debug, Default)]
struct STxn {
    from: Option<ReversePath<'static>>,
    /// Every RCPT event and whether the caller accepted it.
    rcpts: Vec<(ForwardPath<'static>, bool)>,
    bdat: bool,
    content: Vec<u8>,
    /// The caller's decision at `MessageEnd`.
    end: Option<bool>,
}

struct Side {
    server: Server,
    txns: Vec<STxn>,
    cur: Option<usize>,
    decisions: Vec<u8>,
    next_decision: usize,
    closes: usize,
    quit: bool,
    unknown: usize,
    ehlo_refused: bool,
}

fn reply(code: u16, e: (u8, u16, u16), text: &'static str) -> Decision {
    Decision::Reply(Reply::new(
        code,
        Some(EnhancedCode::new(e.0, e.1, e.2)),
        text,
    ))
}

fn close() -> Decision {
    Decision::Close(Reply::new(421, Some(EnhancedCode::new(4, 3, 0)), "Closing"))
}

impl Side {
    fn decision_byte(&mut self) -> u8 {
        let b = self.decisions.get(self.next_decision).copied().unwrap_or(0);
        self.next_decision += 1;
        b
    }

    /// Decides (accept or not), and records a `421`.
    fn decide(&mut self, d: Decision) -> bool {
        let accepted = matches!(d, Decision::Accept | Decision::Default)
            || matches!(&d, Decision::Reply(r) if r.code.0 < 400);
        if matches!(d, Decision::Close(_)) {
            self.closes += 1;
        }
        self.server.decide(d);
        accepted
    }

    fn drain(&mut self) -> bool {
        let mut any = false;
        while let Some(ev) = self.server.poll_event() {
            any = true;
            match ev {
                SEvent::Ehlo { .. } => {
                    let d = if self.decision_byte() == 0xEE {
                        self.ehlo_refused = true;
                        reply(502, (5, 5, 1), "No EHLO")
                    } else {
                        Decision::Accept
                    };
                    self.decide(d);
                }
                SEvent::MailFrom { from, .. } => {
                    let d = match self.decision_byte() % 16 {
                        12 => reply(550, (5, 1, 0), "Sender refused"),
                        13 => reply(451, (4, 7, 1), "Greylisted"),
                        14 => close(),
                        _ => Decision::Accept,
                    };
                    self.txns.push(STxn {
                        from: Some(from),
                        ..STxn::default()
                    });
                    self.cur = Some(self.txns.len() - 1);
                    self.decide(d);
                }
                SEvent::RcptTo { to, .. } => {
                    let d = match self.decision_byte() % 16 {
                        9 => reply(550, (5, 1, 1), "No such user"),
                        10 => reply(452, (4, 5, 3), "Too many recipients"),
                        11 => reply(451, (4, 3, 0), "Try later"),
                        12 => reply(251, (2, 1, 5), "Forwarding"),
                        13 => reply(552, (5, 2, 2), "Mailbox full"),
                        14 => close(),
                        _ => Decision::Accept,
                    };
                    let accepted = self.decide(d);
                    let i = self.cur.expect("RCPT event outside a transaction");
                    self.txns[i].rcpts.push((to, accepted));
                }
                SEvent::DataStart => {
                    let d = match self.decision_byte() % 16 {
                        13 => reply(554, (5, 5, 1), "No"),
                        14 => reply(451, (4, 3, 0), "Later"),
                        _ => Decision::Accept,
                    };
                    self.decide(d);
                }
                SEvent::Bdat { .. } => {
                    let i = self.cur.expect("BDAT event outside a transaction");
                    self.txns[i].bdat = true;
                }
                SEvent::MessageChunk(b) => {
                    let i = self.cur.expect("content outside a transaction");
                    self.txns[i].content.extend_from_slice(&b);
                }
                SEvent::MessageEnd { size } => {
                    let d = match self.decision_byte() % 16 {
                        11 => reply(552, (5, 3, 4), "Too big"),
                        12 => reply(451, (4, 3, 0), "Storage trouble"),
                        13 => reply(554, (5, 7, 1), "Spam"),
                        14 => close(),
                        _ => Decision::Accept,
                    };
                    let i = self.cur.expect("MessageEnd outside a transaction");
                    // `record_envelope`: the machine's copy is what this caller accepted.
                    let recorded = self.server.envelope().expect("an envelope at MessageEnd");
                    assert_eq!(Some(&recorded.from), self.txns[i].from.as_ref());
                    let to: Vec<_> = recorded.recipients.iter().map(|r| &r.to).collect();
                    let accepted: Vec<_> = self.txns[i]
                        .rcpts
                        .iter()
                        .filter(|(_, accepted)| *accepted)
                        .map(|(to, _)| to)
                        .collect();
                    assert_eq!(to, accepted, "recorded recipients");
                    let accepted = self.decide(d);
                    let t = &mut self.txns[i];
                    assert_eq!(size, t.content.len() as u64, "MessageEnd size");
                    assert!(t.end.is_none(), "two MessageEnd in one transaction");
                    t.end = Some(accepted);
                }
                SEvent::MessageAborted(_) => {
                    if let Some(i) = self.cur {
                        assert!(self.txns[i].end.is_none());
                        self.txns[i].content.clear();
                    }
                }
                SEvent::Reset => self.cur = None,
                SEvent::Quit => self.quit = true,
                SEvent::Unknown { .. } => {
                    self.unknown += 1;
                    self.server.decide(Decision::Default);
                }
                ev if ev.needs_decision() => self.server.decide(Decision::Default),
                _ => {}
            }
        }
        any
    }
}

/// What the server stores of `body`: DATA ends the content with CRLF (RFC 5321 4.1.1.4).
fn expected(body: &[u8], bdat: bool) -> Vec<u8> {
    let mut v = body.to_vec();
    if !bdat && !v.is_empty() && !v.ends_with(b"\r\n") {
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Refusals the client makes before anything of the transaction is sent.
fn refused_before_sending(e: &MessageError) -> bool {
    matches!(
        e,
        MessageError::Unsupported(_)
            | MessageError::TooLarge { .. }
            | MessageError::NoRecipients
            | MessageError::InvalidEnvelope
            | MessageError::TransactionLimit { .. }
            | MessageError::Xexch50TooLarge
    )
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input { data, pos: 0 };
    let h: [u8; 5] = std::array::from_fn(|_| inp.byte());

    // Server.
    let mut sc = ServerConfig::new("mx.example.test");
    sc.record_envelope = true;
    let e = &mut sc.extensions;
    e.pipelining = h[0] & 1 != 0;
    e.chunking = h[0] & 2 != 0;
    e.binary_mime = h[0] & 4 != 0;
    e.eight_bit_mime = h[0] & 8 != 0;
    e.size = h[0] & 16 != 0;
    e.smtputf8 = h[0] & 32 != 0;
    e.dsn = h[0] & 64 != 0;
    e.enhanced_status_codes = h[0] & 128 != 0;
    sc.leniency = if h[1] & 1 != 0 {
        Leniency::Strict
    } else {
        Leniency::Lenient
    };
    sc.bare_line_endings = match (h[1] >> 1) & 3 {
        1 => BareLineEnding::Reject,
        2 => BareLineEnding::PassThrough,
        _ => BareLineEnding::Normalize,
    };
    if h[1] & 8 != 0 {
        sc.long_lines = LongLines::Reject;
    }
    sc.limits.max_message_size =
        [10 << 20, 0, 64, 300, 1000, 4096, 16384, 100_000][usize::from(h[2] & 7)];
    sc.limits.max_recipients = [100, 1, 2, 3][usize::from((h[2] >> 3) & 3)];
    sc.limits.max_transactions = [1000, 1, 2, 3][usize::from((h[2] >> 5) & 3)];
    if h[1] & 16 != 0 {
        sc.advertise_limits();
    }
    // A server that does not advertise its transaction limit closes the session past it
    // (`421`); with `LIMITS MAILMAX` the client stays within it (RFC 9422 4.1).
    let mail_limit_hidden = sc.limits.max_transactions < 1000 && h[1] & 16 == 0;

    // Client.
    let mut cc = ClientConfig::new("client.example.test");
    cc.tls = TlsPolicy::Never;
    cc.pipelining = h[1] & 32 != 0;
    cc.chunking = h[1] & 64 != 0;
    if h[1] & 128 != 0 {
        cc.bdat_chunk_size = usize::from(h[3]) + 1;
    }

    // Messages.
    let mut budget = BODY_BUDGET;
    let mut messages = Vec::new();
    let mut null_used = false;
    for k in 0..1 + usize::from(h[4] % 3) {
        let flags = inp.byte();
        let sender_local = local(&mut inp);
        let sender_domain = DOMAINS[usize::from(inp.byte()) % DOMAINS.len()];
        // Each sender is distinct (the server's transactions are matched to the messages
        // by it): a domain tagged with the message, or the null path once.
        let from = if flags & 32 != 0 && !null_used {
            null_used = true;
            String::new()
        } else if sender_domain.starts_with('[') {
            format!("{sender_local}@m{k}.example.test")
        } else {
            format!("{sender_local}@m{k}.{sender_domain}")
        };
        let n_rcpts = match inp.byte() {
            255 => 0,
            b => 1 + usize::from(b % 5),
        };
        let mut rcpts = Vec::new();
        for _ in 0..n_rcpts {
            let l = local(&mut inp);
            let d = inp.byte();
            rcpts.push(if d == 255 {
                "postmaster".to_string()
            } else {
                format!("{l}@{}", DOMAINS[usize::from(d) % DOMAINS.len()])
            });
        }
        let (envid, ret, notify) = if flags & 128 != 0 {
            let n = inp.byte() % 16;
            let envid: Vec<u8> = (0..n).map(|_| inp.byte()).collect();
            let ret = inp.byte();
            let notify = inp.byte();
            (
                Some(String::from_utf8_lossy(&envid).into_owned()),
                ret,
                notify,
            )
        } else {
            (None, 0, 0)
        };
        let body = body(&mut inp, &mut budget);
        // Invalid addresses are skipped (a message whose sender is invalid altogether).
        let Ok(mut env) = Envelope::new(&from) else {
            continue;
        };
        for r in &rcpts {
            let _ = env.add_recipient(r);
        }
        env.smtputf8 = flags & 64 != 0;
        if flags & 128 != 0 {
            env.envid = envid;
            env.ret = match ret % 3 {
                0 => None,
                1 => Some(Ret::Full),
                _ => Some(Ret::Headers),
            };
            if notify & 16 != 0 {
                let n = Notify {
                    never: notify & 1 != 0,
                    success: notify & 2 != 0,
                    failure: notify & 4 != 0,
                    delay: notify & 8 != 0,
                };
                for r in &mut env.recipients {
                    r.notify = Some(n);
                }
            }
        }
        let streamed = (flags & 1 != 0).then(|| match (flags >> 1) & 3 {
            0 => BodyType::of(&body),
            1 => BodyType::Binary,
            2 => BodyType::SevenBit,
            _ => BodyType::EightBit,
        });
        messages.push((
            Message {
                envelope: env,
                body,
                streamed,
            },
            (flags >> 3) & 3,
        ));
    }
    let n_decisions = usize::from(inp.byte());
    let rest = inp.rest();
    let (decisions, splits) = rest.split_at(n_decisions.min(rest.len()));
    let mut splits = splits.iter().copied();
    let mut split = |len: usize| -> usize {
        match splits.next() {
            None | Some(0) => len,
            Some(b) => usize::from(b).min(len),
        }
    };

    // Small chunks, but not so many that the server's command limit (10,000 by default)
    // ends the session: one BDAT command per chunk.
    let body_total = BODY_BUDGET - budget;
    cc.bdat_chunk_size = cc.bdat_chunk_size.max(body_total / 2000 + 1);
    let start = Instant::now();
    let mut now = start;
    let mut side = Side {
        server: Server::new(sc, now),
        txns: Vec::new(),
        cur: None,
        decisions: decisions.to_vec(),
        next_decision: 0,
        closes: 0,
        quit: false,
        unknown: 0,
        ehlo_refused: false,
    };
    let mut client = Client::new(cc, now);
    let mut ids: Vec<MessageId> = Vec::new();
    let mut bodies: HashMap<MessageId, Message> = HashMap::new();
    let mut streams: HashMap<MessageId, (Bytes, usize)> = HashMap::new();
    for (m, size_mode) in messages {
        let b = match m.streamed {
            None => Body::Bytes(Bytes::from(m.body.clone())),
            Some(body_type) => Body::Stream {
                body_type,
                size: match size_mode {
                    0 => Some(DataEncoder::content_size(&m.body, EncoderConfig::default())),
                    1 => None,
                    2 => Some(m.body.len() as u64),
                    _ => Some(m.body.len() as u64 / 2),
                },
            },
        };
        let id = client.send(m.envelope.clone(), b).expect("send");
        if m.streamed.is_some() {
            streams.insert(id, (Bytes::from(m.body.clone()), 0));
        }
        ids.push(id);
        bodies.insert(id, m);
    }
    client.quit();

    let mut results: HashMap<MessageId, (Result<Reply, MessageError>, Vec<RecipientStatus>)> =
        HashMap::new();
    let mut violations: Vec<MessageId> = Vec::new();
    let mut closed: Option<CloseReason> = None;
    let mut c2s: Vec<u8> = Vec::new();
    let mut s2c: Vec<u8> = Vec::new();
    let mut from_server: Vec<u8> = Vec::new();
    let mut idle = 0;
    let mut done = false;
    for _ in 0..MAX_ROUNDS {
        now += Duration::from_millis(1);
        let mut progress = false;
        while let Some(b) = client.poll_transmit(now) {
            assert!(closed.is_none(), "client output after Closed");
            c2s.extend_from_slice(&b);
        }
        if side.server.is_closed() {
            // The server hung up: what the client still sends goes nowhere.
            c2s.clear();
        } else if !c2s.is_empty() {
            let n = split(c2s.len());
            if trace() {
                eprintln!("C: {:?}", String::from_utf8_lossy(&c2s[..n]));
            }
            side.server.receive(now, &c2s[..n]);
            c2s.drain(..n);
            progress = true;
        }
        progress |= side.drain();
        while let Some(b) = side.server.poll_transmit() {
            from_server.extend_from_slice(&b);
            s2c.extend_from_slice(&b);
        }
        if client.is_closed() {
            s2c.clear();
        } else if !s2c.is_empty() {
            let n = split(s2c.len());
            if trace() {
                eprintln!("S: {:?}", String::from_utf8_lossy(&s2c[..n]));
            }
            client.receive(&s2c[..n]);
            s2c.drain(..n);
            progress = true;
        }
        while let Some(ev) = client.poll_event() {
            progress = true;
            match ev {
                CEvent::BodyNeeded(id) => {
                    let (b, off) = streams.get_mut(&id).expect("streamed body");
                    let r = if *off >= b.len() {
                        client.finish_body(id)
                    } else {
                        let n = split(b.len() - *off);
                        let piece = b.slice(*off..*off + n);
                        *off += n;
                        client.push_body(id, piece)
                    };
                    if r.is_err() {
                        violations.push(id);
                    }
                }
                CEvent::MessageResult {
                    message,
                    result,
                    recipients,
                    envelope,
                } => {
                    assert_eq!(envelope, bodies[&message].envelope);
                    assert_eq!(recipients.len(), envelope.recipients.len());
                    assert!(results.insert(message, (result, recipients)).is_none());
                }
                CEvent::Closed(r) => {
                    assert!(closed.is_none(), "two Closed");
                    closed = Some(r);
                }
                _ => {}
            }
        }
        if side.server.is_closed() && s2c.is_empty() && !client.is_closed() {
            client.peer_closed();
            progress = true;
        }
        client.handle_timeout(now);
        side.server.handle_timeout(now);
        // Done: the client closed and its last octets reached the server; the server
        // closed too, or the client dropped the connection.
        if client.is_closed() && c2s.is_empty() {
            done = true;
            break;
        }
        if progress {
            idle = 0;
        } else {
            idle += 1;
            assert!(idle < 4, "stalled: {client:?}");
        }
    }
    assert!(done, "the session did not end");
    // Drain what the server still has (after the client's last octets).
    side.drain();
    while let Some(b) = side.server.poll_transmit() {
        from_server.extend_from_slice(&b);
    }

    // Every message has one result.
    for id in &ids {
        assert!(results.contains_key(id), "no result for {id:?}");
    }
    // No smuggled or malformed command reached the server.
    assert_eq!(side.unknown, 0, "unknown command at the server");
    for line in from_server.split(|&b| b == b'\n') {
        assert!(
            !(line.starts_with(b"500") || line.starts_with(b"501")),
            "syntax error at the server: {:?}",
            String::from_utf8_lossy(line)
        );
    }

    // Match the server's transactions to the messages by sender (each is distinct).
    let mut matched: HashMap<MessageId, usize> = HashMap::new();
    let mut last = None;
    for (i, t) in side.txns.iter().enumerate() {
        let from = t.from.as_ref().unwrap();
        let id = *ids
            .iter()
            .find(|id| bodies[id].envelope.from == *from)
            .unwrap_or_else(|| panic!("transaction from {from} that the client never sent"));
        assert!(
            matched.insert(id, i).is_none(),
            "two transactions for {id:?}"
        );
        assert!(last < Some(id), "transactions out of order");
        last = Some(id);
        let (result, _) = &results[&id];
        if let Err(e) = result {
            assert!(!refused_before_sending(e), "{e:?} but the server saw MAIL");
        }
    }

    for id in &ids {
        let m = &bodies[id];
        let (result, statuses) = &results[id];
        let txn = matched.get(id).map(|&i| &side.txns[i]);
        let delivered = txn.is_some_and(|t| t.end == Some(true));
        // Delivered iff the server's caller accepted it.
        assert_eq!(
            result.is_ok(),
            delivered,
            "result {result:?}, server {txn:?}"
        );
        if let Some(t) = txn.filter(|_| delivered) {
            let want = expected(&m.body, t.bdat);
            assert!(
                t.content == want,
                "content differs (bdat {}): sent {:?}, stored {:?}",
                t.bdat,
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&t.content)
            );
            if !t.bdat {
                assert_ne!(BodyType::of(&m.body), BodyType::Binary, "binary over DATA");
            }
            if let Some(declared) = m.streamed {
                assert!(BodyType::of(&m.body) <= declared, "violation delivered");
            }
        }
        if violations.contains(id) {
            assert!(!delivered);
        }
        // Per recipient: the client's view of each RCPT matches the server caller's.
        let mut srv = txn.map(|t| t.rcpts.iter()).into_iter().flatten().peekable();
        for s in statuses
            .iter()
            .filter(|s| s.reply.is_some() && !s.held_back())
        {
            let path = &m.envelope.recipients[s.index].path;
            // The next server RCPT event for this path (the server may have answered
            // some RCPTs itself, without an event: out of sequence, over its limits).
            let mut found = None;
            while let Some((p, acc)) = srv.next() {
                if p == path {
                    found = Some(*acc);
                    break;
                }
            }
            match found {
                Some(acc) => assert_eq!(s.accepted(), acc, "RCPT {path}: {s:?}"),
                None => assert!(!s.accepted(), "RCPT {path} accepted, the server never did"),
            }
            let outcome = s.outcome(result);
            assert_eq!(
                outcome == Outcome::Delivered,
                delivered && s.accepted(),
                "{path}: {outcome:?}"
            );
        }
        if let Some(t) = txn.filter(|_| delivered) {
            let accepted = t.rcpts.iter().filter(|(_, a)| *a).count();
            let reported = statuses.iter().filter(|s| s.accepted()).count();
            assert_eq!(accepted, reported, "accepted recipients");
        }
    }

    if summary() {
        let delivered: Vec<_> = side
            .txns
            .iter()
            .filter(|t| t.end == Some(true))
            .map(|t| (t.bdat, t.content.len()))
            .collect();
        eprintln!(
            "SUMMARY messages={} txns={} delivered={delivered:?} streamed={} violations={} \
             closes={} closed={closed:?} results={:?}",
            ids.len(),
            side.txns.len(),
            bodies.values().filter(|m| m.streamed.is_some()).count(),
            violations.len(),
            side.closes,
            ids.iter()
                .map(|id| match &results[id].0 {
                    Ok(r) => format!("{}", r.code.0),
                    Err(e) => format!("{e:?}").chars().take(30).collect(),
                })
                .collect::<Vec<_>>()
        );
    }
    // A clean end, unless the server's caller closed or a body broke its type.
    let aborted = matches!(closed, Some(CloseReason::Aborted));
    if side.closes == 0 && !aborted && !mail_limit_hidden {
        assert!(
            matches!(&closed, Some(CloseReason::Quit(Some(r))) if r.code.0 == 221),
            "{closed:?}"
        );
        assert!(side.quit && side.server.is_closed());
    }
    if aborted {
        assert!(!violations.is_empty(), "aborted without a body violation");
    }
    let _ = side.ehlo_refused;
});
