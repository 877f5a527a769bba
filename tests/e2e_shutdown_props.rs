//! `Server::shutdown` end to end: a real client with several queued messages (and a few
//! queries) talks to a real server in memory, both byte streams split at random, and the
//! server's caller shuts the server down at a random point: before the greeting, while a
//! decision (MAIL, RCPT, the end of a message) is pending, in the middle of DATA or BDAT
//! content, between transactions, after the client quit.
//!
//! Each case is first run without the shutdown (the dry run) to count its rounds and
//! server events; the shutdown point is then a fraction of those, so it lands anywhere in
//! the session with the same odds. The invariants (RFC 5321 3.8, 4.1.1.4, 6.1):
//!
//! * both machines end closed, nothing stalls, no transaction starts after the shutdown;
//!   the one in progress goes on to its end, and its message is stored unless the
//!   caller refuses it;
//! * a message the server stored (its end of data accepted) is reported delivered
//!   (`Outcome::Delivered` for each recipient the server accepted), byte for byte, once;
//!   a message reported delivered was stored;
//! * a message not stored is reported failed with `Outcome::Deferred` for every
//!   recipient: the server's caller only ever refuses with a `4xx` (MAIL, RCPT, the end
//!   of data), and the `5xx` the server itself adds are the `503` to commands pipelined
//!   after a refused MAIL and the `554` to DATA or BDAT after every RCPT was refused,
//!   neither of which says the message can never be delivered;
//! * the server's last line is its `421 4.3.2` (or the `221` to a QUIT that came first),
//!   and the client closes with `ServiceUnavailable` (or `Quit`), never a protocol error;
//! * every query the client queued gets exactly one `QueryReply`, in order.
mod split_support;

use bytes::Bytes;
use ehlo::client::{
    Body, BodyType, Client, ClientConfig, CloseReason, Envelope, Event as CEvent, MessageError,
    MessageId, Outcome, Query, QueryError, RecipientStatus, TlsPolicy, UsageError,
};
use ehlo::data::{DataEncoder, EncoderConfig};
use ehlo::server::{Event as SEvent, Server, ServerConfig};
use ehlo::syntax::path::ForwardPath;
use ehlo::{EnhancedCode, Reply};
use proptest::prelude::*;
use split_support::Rng;
use std::collections::HashMap;
use std::time::Instant;

const BYE_421: &str = "421 4.3.2 Service shutting down, closing transmission channel";

/// What the server's caller does with one message (all `4xx`: the server never says
/// anything permanent about a message here).
#[derive(Debug, Clone)]
struct Msg {
    /// The recipients; `true` for each the caller refuses with `450`.
    rcpts: Vec<bool>,
    body: Vec<u8>,
    streamed: bool,
    /// The caller refuses the MAIL with `451`.
    mail_451: bool,
    /// The caller refuses the end of data with `451`.
    end_451: bool,
}

/// When the server's caller calls `Server::shutdown`, as a fraction (per mille) of the
/// dry run's rounds or server events; past 1000 it never does (the client quits, or
/// the caller shuts an idle session down).
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// At the start of a round.
    Round(u32),
    /// Right after the server hands out its n-th event, before it is decided (0: before
    /// the first, so before the greeting).
    Event(u32),
}

#[derive(Debug, Clone)]
struct Case {
    pipelining: bool,
    chunking: bool,
    binarymime: bool,
    size: bool,
    etrn: bool,
    msgs: Vec<Msg>,
    /// Queries, each queued after the result of this many messages (0: at the start).
    queries: Vec<(usize, Query)>,
    /// The client quits once every message has its result.
    quit: bool,
    /// The server's caller decides the end of a message one round later (a slow store).
    slow_store: bool,
    trigger: Trigger,
    seed: u64,
    max_piece: usize,
}

/// What the server's caller saw.
#[derive(Default)]
struct ServerLog {
    /// Stored messages: the message index, the recipients accepted, the content.
    stored: Vec<(usize, Vec<usize>, Vec<u8>)>,
    events: u32,
    mails_after_shutdown: usize,
    ends_after_shutdown: usize,
    /// The message whose transaction was open when `Server::shutdown` was called (its
    /// MAIL accepted, or handed out and accepted right after).
    open_at_shutdown: Option<usize>,
    quit: bool,
}

struct ServerSide<'a> {
    server: Server,
    msgs: &'a [Msg],
    /// The transaction in progress: message, accepted recipients, content so far.
    cur: Option<(usize, Vec<usize>, Vec<u8>)>,
    /// A MessageEnd whose decision waits for the next round.
    end_pending: bool,
    slow_store: bool,
    /// Shut down right after this many events (`None`: not by event count).
    shutdown_at_event: Option<u32>,
    shutdown_called: bool,
    log: ServerLog,
}

fn index_after(prefix: char, local: &str) -> usize {
    local.strip_prefix(prefix).unwrap().parse().unwrap()
}

fn local_part(to: &ForwardPath<'_>) -> String {
    match to {
        ForwardPath::Mailbox(m) => {
            let s = m.to_string();
            s.split('@').next().unwrap().to_string()
        }
        ForwardPath::Postmaster => "postmaster".into(),
    }
}

impl ServerSide<'_> {
    fn shutdown(&mut self) {
        if !self.shutdown_called {
            self.shutdown_called = true;
            self.log.open_at_shutdown = self.cur.as_ref().map(|c| c.0);
            self.server.shutdown();
        }
    }

    fn maybe_shutdown_by_event(&mut self) {
        if self.shutdown_at_event.is_some_and(|n| self.log.events >= n) {
            self.shutdown();
        }
    }

    fn decide_end(&mut self) {
        let (k, rcpts, content) = self.cur.take().expect("a transaction");
        if self.msgs[k].end_451 {
            self.server.reject(Reply::new(
                451,
                Some(EnhancedCode::new(4, 3, 0)),
                "Try again later",
            ));
        } else {
            self.log.stored.push((k, rcpts, content));
            self.server.accept();
        }
    }

    /// Handles the server's events; whether anything happened.
    fn drain(&mut self) -> bool {
        let mut progress = false;
        if self.end_pending {
            self.end_pending = false;
            self.decide_end();
            progress = true;
        }
        loop {
            self.maybe_shutdown_by_event();
            let Some(ev) = self.server.poll_event() else {
                break;
            };
            progress = true;
            self.log.events += 1;
            // Handed out after the shutdown (not the event it comes right after).
            let after_shutdown = self.shutdown_called;
            self.maybe_shutdown_by_event();
            match ev {
                SEvent::MailFrom { from, .. } => {
                    if after_shutdown {
                        self.log.mails_after_shutdown += 1;
                    }
                    let from = from.to_string();
                    let local = from.trim_start_matches('<').split('@').next().unwrap();
                    let k = index_after('m', local);
                    if self.msgs[k].mail_451 {
                        self.server.reject(Reply::new(
                            451,
                            Some(EnhancedCode::new(4, 3, 0)),
                            "Sender deferred",
                        ));
                    } else {
                        if self.shutdown_called && !after_shutdown {
                            // Shut down while this MAIL waited for its decision.
                            self.log.open_at_shutdown = Some(k);
                        }
                        self.cur = Some((k, Vec::new(), Vec::new()));
                        self.server.accept();
                    }
                }
                SEvent::RcptTo { to, .. } => {
                    let (k, rcpts, _) = self.cur.as_mut().expect("RCPT in a transaction");
                    let i = index_after('r', &local_part(&to));
                    if self.msgs[*k].rcpts[i] {
                        self.server.reject(Reply::new(
                            450,
                            Some(EnhancedCode::new(4, 2, 1)),
                            "Mailbox busy",
                        ));
                    } else {
                        rcpts.push(i);
                        self.server.accept();
                    }
                }
                SEvent::MessageChunk(b) => self
                    .cur
                    .as_mut()
                    .expect("content in a transaction")
                    .2
                    .extend_from_slice(&b),
                SEvent::MessageEnd { .. } => {
                    if after_shutdown {
                        self.log.ends_after_shutdown += 1;
                    }
                    if self.slow_store {
                        self.end_pending = true;
                        break;
                    }
                    self.decide_end();
                }
                SEvent::MessageAborted(_) | SEvent::Reset => self.cur = None,
                SEvent::Quit => self.log.quit = true,
                ev if ev.needs_decision() => self.server.accept(),
                _ => {}
            }
        }
        progress
    }
}

/// What the client's caller saw.
#[derive(Default, Debug)]
struct ClientLog {
    results: HashMap<MessageId, (Result<Reply, MessageError>, Vec<RecipientStatus>)>,
    /// Queries queued (in order), and the replies (in order).
    queued: Vec<Query>,
    replies: Vec<(Query, Result<Reply, QueryError>)>,
    closed: Option<CloseReason>,
    /// Streamed messages whose body request was stale when answered.
    stale_body: Vec<MessageId>,
}

struct RunOut {
    ids: Vec<MessageId>,
    client: ClientLog,
    server: ServerLog,
    from_server: Vec<u8>,
    rounds: u32,
    /// The round `Server::shutdown` was called in, if it was.
    shutdown_round: Option<u32>,
    client_closed: bool,
    server_closed: bool,
    /// The caller had to tell the client the server closed (it had not closed on what it
    /// read).
    peer_closed_needed: bool,
}

fn server_config(case: &Case) -> ServerConfig {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.extensions.pipelining = case.pipelining;
    sc.extensions.chunking = case.chunking;
    sc.extensions.binary_mime = case.chunking && case.binarymime;
    sc.extensions.eight_bit_mime = true;
    sc.extensions.size = case.size;
    sc.extensions.etrn = case.etrn;
    sc.limits.max_message_size = 1 << 20;
    // A refused MAIL makes the server answer the RCPTs and DATA pipelined after it with
    // `503`, and those count as protocol errors: a few such transactions would end the
    // session with `421 4.7.0` (too many errors) before the shutdown. That limit is not
    // what this test is about.
    sc.limits.max_errors = 1000;
    sc
}

fn envelope(k: usize, n: usize) -> Envelope {
    let mut env = Envelope::new(&format!("m{k}@example.test")).unwrap();
    for i in 0..n {
        env.add_recipient(&format!("r{i}@example.test")).unwrap();
    }
    env
}

/// What the server stores: DATA ends the content with CRLF (RFC 5321 4.1.1.4).
fn expected_content(chunking: bool, body: &[u8]) -> Vec<u8> {
    let mut v = body.to_vec();
    if !chunking && !v.is_empty() && !v.ends_with(b"\r\n") {
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Runs the case: with `trigger` (rounds, events) the absolute shutdown point, `None` for
/// the dry run (no shutdown; it stops once nothing moves).
fn run(case: &Case, trigger: Option<Trigger>) -> RunOut {
    let now = Instant::now();
    let mut rng = Rng(case.seed | 1);
    let mut cc = ClientConfig::new("client.example.test");
    cc.tls = TlsPolicy::Never;
    let mut client = Client::new(cc, now);
    let mut s = ServerSide {
        server: Server::new(server_config(case), now),
        msgs: &case.msgs,
        cur: None,
        end_pending: false,
        slow_store: case.slow_store,
        shutdown_at_event: match trigger {
            Some(Trigger::Event(n)) => Some(n),
            _ => None,
        },
        shutdown_called: false,
        log: ServerLog::default(),
    };
    let shutdown_at_round = match trigger {
        Some(Trigger::Round(n)) => Some(n),
        _ => None,
    };
    let dry = trigger.is_none();
    let mut clog = ClientLog::default();
    let mut streams: HashMap<MessageId, (Bytes, usize)> = HashMap::new();
    let mut ids = Vec::new();
    for (k, m) in case.msgs.iter().enumerate() {
        let body = if m.streamed {
            let size = if case.chunking {
                m.body.len() as u64
            } else {
                DataEncoder::content_size(&m.body, EncoderConfig::default())
            };
            Body::Stream {
                body_type: BodyType::of(&m.body),
                size: Some(size),
            }
        } else {
            Body::Bytes(Bytes::from(m.body.clone()))
        };
        let id = client.send(envelope(k, m.rcpts.len()), body).unwrap();
        if m.streamed {
            streams.insert(id, (Bytes::from(m.body.clone()), 0));
        }
        ids.push(id);
    }
    let queue_queries = |client: &mut Client, clog: &mut ClientLog, after: usize| {
        for (_, q) in case.queries.iter().filter(|(a, _)| *a == after) {
            if client.send_query(q.clone()).is_ok() {
                clog.queued.push(q.clone());
            }
        }
    };
    queue_queries(&mut client, &mut clog, 0);
    let mut c2s: Vec<u8> = Vec::new();
    let mut s2c: Vec<u8> = Vec::new();
    let mut from_server = Vec::new();
    let mut idle = 0;
    let mut quit = false;
    let mut shutdown_round = None;
    let mut peer_closed_needed = false;
    let mut rounds = 0;
    let limit = 1_000_000;
    while rounds < limit {
        let mut progress = false;
        if shutdown_at_round == Some(rounds) {
            s.shutdown();
        }
        while let Some(b) = client.poll_transmit(now) {
            c2s.extend_from_slice(&b);
        }
        if !c2s.is_empty() {
            let n = rng.piece(c2s.len(), case.max_piece);
            s.server.receive(now, &c2s[..n]);
            c2s.drain(..n);
            progress = true;
        }
        progress |= s.drain();
        if s.shutdown_called && shutdown_round.is_none() {
            shutdown_round = Some(rounds);
        }
        while let Some(b) = s.server.poll_transmit() {
            from_server.extend_from_slice(&b);
            s2c.extend_from_slice(&b);
        }
        if !s2c.is_empty() {
            let n = rng.piece(s2c.len(), case.max_piece);
            client.receive(&s2c[..n]);
            s2c.drain(..n);
            progress = true;
        }
        while let Some(ev) = client.poll_event() {
            progress = true;
            match ev {
                CEvent::BodyNeeded(id) => {
                    let (b, off) = streams.get_mut(&id).unwrap();
                    let r = if *off >= b.len() {
                        client.finish_body(id)
                    } else {
                        let n = rng.piece(b.len() - *off, 700);
                        *off += n;
                        client.push_body(id, b.slice(*off - n..*off))
                    };
                    match r {
                        Ok(()) => {}
                        // The message failed (or the session closed) after asking, in the
                        // same read: the request is stale (see `Client::push_body`).
                        Err(UsageError::BodyNotExpected) => clog.stale_body.push(id),
                        Err(e) => panic!("{e:?}"),
                    }
                }
                CEvent::MessageResult {
                    message,
                    result,
                    recipients,
                    ..
                } => {
                    assert!(
                        clog.results.insert(message, (result, recipients)).is_none(),
                        "two results for {message:?}"
                    );
                    let done = clog.results.len();
                    queue_queries(&mut client, &mut clog, done);
                }
                CEvent::QueryReply { query, result } => clog.replies.push((query, result)),
                CEvent::Closed(r) => {
                    assert!(clog.closed.is_none(), "closed twice");
                    clog.closed = Some(r);
                }
                _ => {}
            }
        }
        if case.quit && !quit && clog.results.len() == case.msgs.len() {
            quit = true;
            client.quit();
            progress = true;
        }
        rounds += 1;
        if client.is_closed() && c2s.is_empty() && s2c.is_empty() {
            break;
        }
        if s.server.is_closed() && s2c.is_empty() && c2s.is_empty() && !client.is_closed() {
            // The server closed and every octet it sent was read: the client should have
            // closed on its own (on the 421 or the 221).
            peer_closed_needed = true;
            client.peer_closed();
            progress = true;
        }
        if progress {
            idle = 0;
        } else if dry {
            break;
        } else if !s.shutdown_called {
            // The caller shuts an idle session down (the trigger lies past its end).
            s.shutdown();
            shutdown_round = Some(rounds);
            idle = 0;
        } else {
            idle += 1;
            assert!(idle < 4, "stalled after the shutdown");
        }
    }
    assert!(rounds < limit, "the session did not end");
    if !dry && !s.shutdown_called {
        // Past the end of a session that ended with QUIT: silent.
        s.shutdown();
        assert!(s.server.poll_transmit().is_none());
    }
    RunOut {
        ids,
        client: clog,
        from_server,
        rounds,
        shutdown_round,
        client_closed: client.is_closed(),
        server_closed: s.server.is_closed(),
        peer_closed_needed,
        server: s.log,
    }
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    // The dry run: how long the session is without the shutdown.
    let dry = run(case, None);
    let trigger = match case.trigger {
        Trigger::Round(f) => Trigger::Round((u64::from(dry.rounds) * u64::from(f) / 1000) as u32),
        Trigger::Event(f) => {
            Trigger::Event((u64::from(dry.server.events) * u64::from(f) / 1000) as u32)
        }
    };
    let out = run(case, Some(trigger));
    let lines: Vec<String> = String::from_utf8_lossy(&out.from_server)
        .split_terminator("\r\n")
        .map(str::to_string)
        .collect();
    let ctx = format!(
        "{trigger:?} shut down in round {:?} of {}; server: {lines:#?}",
        out.shutdown_round, out.rounds
    );

    // Both closed, nothing left for the caller to guess.
    prop_assert!(out.client_closed && out.server_closed, "{}", ctx);
    prop_assert!(
        !out.peer_closed_needed,
        "the client did not close on the server's last reply: {:?}; {}",
        out.client.closed,
        ctx
    );
    // Bounded: no transaction starts after the shutdown, at most the open one is stored.
    prop_assert_eq!(out.server.mails_after_shutdown, 0, "{}", ctx);
    prop_assert!(out.server.ends_after_shutdown <= 1, "{}", ctx);

    // No longer than the session without the shutdown, but for the 421 itself (one
    // octet a round at worst), the rounds that notice an idle session, and a margin for
    // the random splits, which drift apart once the two runs differ.
    prop_assert!(
        out.rounds as usize <= dry.rounds as usize + BYE_421.len() + 2 + 64,
        "{} rounds, {} without the shutdown; {}",
        out.rounds,
        dry.rounds,
        ctx
    );

    // How the session ended.
    let quit_first = matches!(&out.client.closed, Some(CloseReason::Quit(_)));
    match &out.client.closed {
        Some(CloseReason::ServiceUnavailable(r)) => {
            prop_assert_eq!(r.code.0, 421, "{}", ctx);
            prop_assert_eq!(r.enhanced, Some(EnhancedCode::new(4, 3, 2)), "{}", ctx);
            prop_assert_eq!(lines.last().map(String::as_str), Some(BYE_421), "{}", ctx);
            prop_assert!(lines.iter().all(|l| !l.starts_with("221")), "{}", ctx);
        }
        Some(CloseReason::Quit(Some(r))) => {
            prop_assert!(case.quit, "{}", ctx);
            prop_assert_eq!(r.code.0, 221, "{}", ctx);
            prop_assert!(out.server.quit, "{}", ctx);
            prop_assert!(
                lines.last().is_some_and(|l| l.starts_with("221 ")),
                "{}",
                ctx
            );
        }
        other => prop_assert!(false, "closed with {:?}; {}", other, ctx),
    }
    // The 421 is said once, last; with a QUIT answered first, never.
    let byes = lines.iter().filter(|l| l.as_str() == BYE_421).count();
    prop_assert_eq!(byes, usize::from(!quit_first), "{}", ctx);
    if matches!(trigger, Trigger::Round(0) | Trigger::Event(0)) {
        // Before the greeting: the 421 is the greeting.
        prop_assert_eq!(&lines, &vec![BYE_421.to_string()], "{}", ctx);
    }

    // The only permanent replies are the server's own, to commands pipelined after a
    // refusal (see the module comment); queries are answered 2xx here.
    for l in lines.iter().filter(|l| l.starts_with('5')) {
        let after_refusal = l == "503 5.5.1 Need MAIL command first"
            && case.msgs.iter().any(|m| m.mail_451)
            || l == "554 5.5.1 No valid recipients"
                && case.msgs.iter().any(|m| m.rcpts.iter().any(|&r| r));
        prop_assert!(after_refusal, "{:?}; {}", l, ctx);
    }

    // The transaction open at the shutdown goes on to its end: its message is stored
    // unless the caller refuses it (every recipient, or the end of data).
    if let Some(k) = out.server.open_at_shutdown {
        let m = &case.msgs[k];
        let refused = m.end_451 || m.rcpts.iter().all(|&r| r);
        prop_assert_eq!(
            out.server.stored.iter().any(|(s, _, _)| *s == k),
            !refused,
            "message {} was in progress at the shutdown; {}",
            k,
            ctx
        );
    }

    // Every message stored at most once, and byte for byte.
    let mut stored: HashMap<usize, (&Vec<usize>, &Vec<u8>)> = HashMap::new();
    for (k, rcpts, content) in &out.server.stored {
        prop_assert!(
            stored.insert(*k, (rcpts, content)).is_none(),
            "message {} stored twice; {}",
            k,
            ctx
        );
        prop_assert_eq!(
            content,
            &expected_content(case.chunking, &case.msgs[*k].body),
            "{}",
            ctx
        );
    }
    // Every message has one result: delivered exactly when stored, deferred otherwise.
    prop_assert_eq!(out.client.results.len(), case.msgs.len(), "{}", ctx);
    for (k, id) in out.ids.iter().enumerate() {
        let (result, statuses) = &out.client.results[id];
        let m = &case.msgs[k];
        prop_assert_eq!(statuses.len(), m.rcpts.len());
        match stored.get(&k) {
            Some((accepted, _)) => {
                prop_assert!(
                    result.as_ref().is_ok_and(|r| r.code.0 == 250),
                    "message {} stored, reported {:?}; {}",
                    k,
                    result,
                    ctx
                );
                for st in statuses {
                    let want = if accepted.contains(&st.index) {
                        Outcome::Delivered
                    } else {
                        // The caller's own 450 to that recipient.
                        prop_assert!(m.rcpts[st.index], "{}", ctx);
                        Outcome::Deferred
                    };
                    prop_assert_eq!(
                        st.outcome(result),
                        want,
                        "message {} {:?} {:?}; {}",
                        k,
                        st,
                        result,
                        ctx
                    );
                }
            }
            None => {
                prop_assert!(
                    result.is_err(),
                    "message {} reported {:?}, not stored; {}",
                    k,
                    result,
                    ctx
                );
                for st in statuses {
                    prop_assert_eq!(
                        st.outcome(result),
                        Outcome::Deferred,
                        "message {} not stored: {:?} {:?}; {}",
                        k,
                        st,
                        result,
                        ctx
                    );
                }
            }
        }
    }

    // A body request goes stale only for a message that then failed.
    for id in &out.client.stale_body {
        prop_assert!(out.client.results[id].0.is_err(), "{:?}; {}", id, ctx);
    }

    // Every query queued answered once, in order.
    let answered: Vec<&Query> = out.client.replies.iter().map(|(q, _)| q).collect();
    let queued: Vec<&Query> = out.client.queued.iter().collect();
    prop_assert_eq!(answered, queued, "{}", ctx);
    for (q, r) in &out.client.replies {
        match r {
            Ok(reply) => prop_assert!(reply.code.0 != 421, "{:?}: {:?}", q, reply),
            Err(QueryError::NotAdvertised) => {
                prop_assert!(matches!(q, Query::Etrn(_)) && !case.etrn)
            }
            Err(QueryError::SessionClosed) => {}
            Err(e) => prop_assert!(false, "{:?}: {:?}", q, e),
        }
    }
    Ok(())
}

// ----- strategies -----

fn text_fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(b"\r\n".to_vec()),
        2 => Just(b".".to_vec()),
        1 => Just(b"..".to_vec()),
        1 => Just(b"\r\n.\r\n".to_vec()),
        1 => Just(b"\r\n.".to_vec()),
        1 => Just(b"Subject: hello".to_vec()),
        1 => Just("caf\u{e9} ".as_bytes().to_vec()),
        1 => Just(b"MAIL FROM:<evil@example.test>\r\n".to_vec()),
        4 => prop::collection::vec(b' '..=b'~', 0..80),
    ]
}

fn binary_fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n.\n".to_vec()),
        Just(b"\x00".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ]
}

/// A body the client can send under these capabilities (binary only with BINARYMIME),
/// so that nothing is refused before it is sent.
fn body(binary_ok: bool) -> BoxedStrategy<Vec<u8>> {
    let text = prop::collection::vec(text_fragment(), 0..40).prop_map(|v| v.concat());
    if binary_ok {
        prop_oneof![
            3 => text,
            1 => prop::collection::vec(prop_oneof![text_fragment(), binary_fragment()], 0..40)
                .prop_map(|v| v.concat()),
        ]
        .boxed()
    } else {
        text.boxed()
    }
}

fn msg(binary_ok: bool) -> impl Strategy<Value = Msg> {
    (
        prop::collection::vec(prop::bool::weighted(0.1), 1..4),
        body(binary_ok),
        any::<bool>(),
        prop::bool::weighted(0.08),
        prop::bool::weighted(0.08),
    )
        .prop_map(|(rcpts, body, streamed, mail_451, end_451)| Msg {
            rcpts,
            body,
            streamed,
            mail_451,
            end_451,
        })
}

fn query() -> impl Strategy<Value = Query> {
    prop_oneof![
        Just(Query::Noop),
        Just(Query::Vrfy("r0@example.test".into())),
        Just(Query::Expn("staff".into())),
        Just(Query::Help(None)),
        Just(Query::Help(Some("MAIL".into()))),
        Just(Query::Etrn("example.test".into())),
    ]
}

fn trigger() -> impl Strategy<Value = Trigger> {
    // Mostly within the session, sometimes at its very start, sometimes past its end.
    let point = prop_oneof![8 => 0u32..=1000, 1 => Just(0u32), 1 => 1001u32..=1100];
    prop_oneof![
        point.clone().prop_map(Trigger::Round),
        point.prop_map(Trigger::Event),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (any::<[bool; 7]>()).prop_flat_map(|b| {
        let [pipelining, chunking, binarymime, size, etrn, quit, slow_store] = b;
        let binary_ok = chunking && binarymime;
        (
            prop::collection::vec(msg(binary_ok), 1..=5),
            prop::collection::vec((0usize..=5, query()), 0..=3),
            trigger(),
            any::<u64>(),
            prop_oneof![Just(1usize), 1usize..16, 1usize..2000],
        )
            .prop_map(move |(msgs, queries, trigger, seed, max_piece)| {
                let n = msgs.len();
                Case {
                    pipelining,
                    chunking,
                    binarymime,
                    size,
                    etrn,
                    queries: queries.into_iter().map(|(a, q)| (a.min(n), q)).collect(),
                    msgs,
                    quit,
                    slow_store,
                    trigger,
                    seed,
                    max_piece,
                }
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// A server shut down at any point of a session with a real client: every message
    /// the server stored is delivered once and reported so, every other one is deferred
    /// (never failed), both sides close on the `421 4.3.2`, every query is answered.
    #[test]
    fn shutdown_anywhere_delivers_or_defers_every_message(case in case()) {
        check(&case)?;
    }
}
