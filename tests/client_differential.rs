//! Differential transcripts of the client machine: deterministic random sessions (random
//! envelopes with DSN, SMTPUTF8 and Exchange parameters, XEXCH50 blobs, whole and streamed
//! bodies, random capability sets and LIMITS, a scripted server that refuses MAIL, RCPT,
//! DATA, BDAT and XEXCH50 at random, random splits of its replies, sessions cut short) and
//! the full record of each: every segment `poll_transmit` hands out and every event.
//!
//! Each session checks: every `RecipientResult` (the server's reply, which quotes the RCPT
//! line it answers, or the client's held-back `452 4.5.3`) is for the line of the
//! recipient at that index of `Envelope::recipients`, reported once, before the message's
//! `MessageResult`; the `MessageResult` has one status per recipient, in order, with the
//! same replies; a delivered message has an accepted recipient; every message gets one
//! result; no session stalls; and no CR, LF or NUL of a hand-built path or parameter (an
//! `InvalidEnvelope`) reaches the server, which also refuses any line that is not a
//! command (bytes of another transaction's lines would be one).
//!
//! `$EHLO_DIFF_N` sets the number of sessions (3,000 by default) and `$EHLO_DIFF_OUT` a
//! file to write the records to: the same seeds against two builds of the crate (before
//! and after a refactor of the client) must give the same file, octet for octet. The
//! MAIL/RCPT line-buffer rewrite of the client (75c6594..6bae156) was checked so against
//! 4b45063 over 50,000 sessions: no difference.
use bytes::Bytes;
use ehlo::client::*;
use ehlo::syntax::param::{ExchangeMailParams, ExchangeRcptParams, Notify, Orcpt, Ret};
use ehlo::syntax::path::{Domain, ForwardPath, Host, LocalPart, Mailbox, ReversePath};
use ehlo::syntax::xtext::XText;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// The scripted server: reads the client's output, answers each command.
struct Server {
    rng: Rng,
    ehlo: String,
    input: Vec<u8>,
    mode: Mode,
    out: Vec<u8>,
    mail_ok: bool,
    accepted: usize,
    /// Every command line read, in order.
    lines: Vec<String>,
    /// Data of each message delivered.
    quit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Command,
    Data,
    Skip { left: usize, then: After },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum After {
    Bdat { last: bool },
    Xexch50,
}

impl Server {
    fn feed(&mut self, data: &[u8]) {
        self.input.extend_from_slice(data);
        loop {
            if self.quit {
                self.input.clear();
                return;
            }
            match self.mode {
                Mode::Skip { left, then } => {
                    let n = left.min(self.input.len());
                    self.input.drain(..n);
                    let left = left - n;
                    if left > 0 {
                        self.mode = Mode::Skip { left, then };
                        return;
                    }
                    self.mode = Mode::Command;
                    match then {
                        After::Xexch50 => self.reply("250 2.0.0 blob ok"),
                        After::Bdat { last } => {
                            if !(self.mail_ok && self.accepted > 0) {
                                self.reply("503 5.5.1 no transaction");
                            } else if self.rng.chance(8) {
                                self.reply("554 5.6.0 chunk refused");
                            } else if last {
                                self.reply("250 2.0.0 queued as B");
                                self.reset();
                            } else {
                                self.reply("250 2.0.0 chunk ok");
                            }
                        }
                    }
                }
                Mode::Command | Mode::Data => {
                    let Some(p) = self.input.windows(2).position(|w| w == b"\r\n") else {
                        return;
                    };
                    let line: Vec<u8> = self.input.drain(..p + 2).collect();
                    let raw = line[..p].to_vec();
                    let line = String::from_utf8_lossy(&raw).into_owned();
                    if self.mode == Mode::Data {
                        if line == "." {
                            self.mode = Mode::Command;
                            let r = *self.rng.pick(&[
                                "250 2.0.0 queued as D",
                                "250 2.0.0 queued as D",
                                "250 2.0.0 queued as D",
                                "554 5.7.1 content refused",
                                "451 4.3.0 try later",
                            ]);
                            self.reply(r);
                            self.reset();
                        }
                        continue;
                    }
                    self.command(&line, &raw);
                }
            }
        }
    }

    fn reset(&mut self) {
        self.mail_ok = false;
        self.accepted = 0;
    }

    fn reply(&mut self, r: &str) {
        self.out.extend_from_slice(r.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    fn command(&mut self, line: &str, raw: &[u8]) {
        // A CR, LF or NUL from a hand-built value never reaches the wire.
        assert!(
            !raw.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)),
            "the server read {line:?}"
        );
        self.lines.push(line.to_string());
        let verb = line
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                let e = self.ehlo.clone();
                self.out.extend_from_slice(e.as_bytes());
            }
            "HELO" => self.reply("250 srv.example.test"),
            "MAIL" => {
                let r = *self.rng.pick(&[
                    "250 2.1.0 ok",
                    "250 2.1.0 ok",
                    "250 2.1.0 ok",
                    "250 2.1.0 ok",
                    "250 2.1.0 ok",
                    "250 2.1.0 ok",
                    "451 4.7.1 greylisted",
                    "550 5.1.0 sender refused",
                ]);
                self.mail_ok = r.starts_with('2');
                self.accepted = 0;
                self.reply(r);
            }
            "RCPT" => {
                let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
                if !self.mail_ok {
                    self.reply(&format!("503 5.5.1 MAIL first line={hex}"));
                    return;
                }
                let r = *self.rng.pick(&[
                    "250 2.1.5 ok",
                    "250 2.1.5 ok",
                    "250 2.1.5 ok",
                    "250 2.1.5 ok",
                    "250 2.1.5 ok",
                    "550 5.1.1 no such user",
                    "452 4.5.3 too many recipients",
                    "452 too many",
                    "552 5.5.3 too many",
                    "451 4.3.0 later",
                ]);
                if r.starts_with('2') {
                    self.accepted += 1;
                }
                let r = format!("{r} line={hex}");
                self.reply(&r);
            }
            "DATA" => {
                let open = self.mail_ok && self.accepted > 0;
                // Mostly refused without a recipient; sometimes a 354 all the same.
                if !open && !self.rng.chance(20) {
                    self.reply("554 5.5.1 no valid recipients");
                } else if self.rng.chance(10) {
                    self.reply("451 4.3.0 not now");
                } else {
                    self.reply("354 go ahead");
                    self.mode = Mode::Data;
                }
            }
            "BDAT" => {
                let mut words = line.split(' ').skip(1);
                let size: usize = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let last = words.next().is_some();
                self.mode = Mode::Skip {
                    left: size,
                    then: After::Bdat { last },
                };
            }
            "XEXCH50" => {
                let size: usize = line
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if self.rng.chance(25) {
                    self.reply("500 5.3.3 unrecognized");
                } else {
                    self.reply("354 send binary data");
                    self.mode = Mode::Skip {
                        left: size,
                        then: After::Xexch50,
                    };
                }
            }
            "RSET" => {
                self.reset();
                self.reply("250 2.0.0 reset");
            }
            "QUIT" => {
                self.reply("221 2.0.0 bye");
                self.quit = true;
            }
            _ => panic!("the server read a line that is no command: {line:?}"),
        }
    }
}

fn ehlo_reply(rng: &mut Rng) -> (String, Vec<String>) {
    let mut caps: Vec<String> = Vec::new();
    for (kw, p) in [
        ("PIPELINING", 60),
        ("CHUNKING", 40),
        ("BINARYMIME", 30),
        ("8BITMIME", 60),
        ("SMTPUTF8", 50),
        ("DSN", 50),
        ("ENHANCEDSTATUSCODES", 50),
        ("XEXCH50", 30),
        ("XRDST", 30),
        ("XOORG", 20),
        ("XSHADOW", 20),
    ] {
        if rng.chance(p) {
            caps.push(kw.to_string());
        }
    }
    if rng.chance(40) {
        caps.push(
            rng.pick(&["SIZE", "SIZE 0", "SIZE 40", "SIZE 100000"])
                .to_string(),
        );
    }
    if rng.chance(50) {
        let mut l = String::from("LIMITS");
        if rng.chance(70) {
            write!(l, " RCPTMAX={}", rng.below(4) + 1).unwrap();
        }
        if rng.chance(60) {
            write!(l, " RCPTDOMAINMAX={}", rng.below(3) + 1).unwrap();
        }
        if rng.chance(30) {
            write!(l, " MAILMAX={}", rng.below(4) + 1).unwrap();
        }
        caps.push(l);
    }
    let mut s = String::new();
    let mut all = vec!["srv.example.test".to_string()];
    all.extend(caps.iter().cloned());
    for (i, c) in all.iter().enumerate() {
        let sep = if i + 1 == all.len() { ' ' } else { '-' };
        write!(s, "250{sep}{c}\r\n").unwrap();
    }
    (s, caps)
}

fn xtext(rng: &mut Rng, bad: bool) -> XText<'static> {
    if bad {
        XText(Cow::Owned(
            rng.pick(&["a\r\nINJECTED", "x\ny", "nul\0", "cr\r"])
                .to_string(),
        ))
    } else {
        XText(Cow::Owned(
            rng.pick(&["v1", "hub+2Eexample", "xorgid:1234", "ab"])
                .to_string(),
        ))
    }
}

fn envelope(rng: &mut Rng) -> (Envelope, bool) {
    let from = *rng.pick(&[
        "a@example.test",
        "<>",
        "sender.long.name@sub.example.test",
        "\u{3b4}@example.test",
        "a@example.test",
        "bounce-123@lists.example.test",
    ]);
    let mut env = Envelope::new(from).unwrap();
    let n = if rng.chance(5) {
        40 + rng.below(80) as usize
    } else {
        1 + rng.below(7) as usize
    };
    // Bad values are rare, so most sessions carry on.
    let bad = rng.chance(6);
    let bad_at = rng.below(n as u64 + 1) as usize;
    for i in 0..n {
        let to = *rng.pick(&[
            "b@example.test",
            "c@Example.Test",
            "d@other.test",
            "e@Third.test",
            "Postmaster",
            "f@[192.0.2.1]",
            "g@other.test",
            "\u{e9}@example.test",
            "\"q r\"@example.test",
            "h@example.test",
            "a.very.long.local.part.for.the.line.buffer@a.long.domain.name.example.test",
            "i@fourth.test",
        ]);
        env.add_recipient(to).unwrap();
        let r = env.recipients.last_mut().unwrap();
        if rng.chance(30) {
            r.notify = Some(*rng.pick(&[
                Notify {
                    never: true,
                    ..Notify::default()
                },
                Notify {
                    success: true,
                    failure: true,
                    ..Notify::default()
                },
                Notify {
                    delay: true,
                    ..Notify::default()
                },
            ]));
        }
        if rng.chance(30) {
            r.orcpt = Some(Orcpt {
                addr_type: Cow::Borrowed(*rng.pick(&["rfc822", "utf-8"])),
                addr: XText(Cow::Owned(
                    rng.pick(&["orig@example.test", "o+2Bx@example.test", "\u{e9}@x.test"])
                        .to_string(),
                )),
            });
        }
        if bad && i == bad_at && rng.chance(50) {
            // A hand-built path that would break the line.
            let (local, host) = *rng.pick(&[
                ("x\r\nINJECTED", "example.test"),
                ("y", "example.test\r\nINJECTED"),
                ("nul\0", "example.test"),
                ("lf", "a\nb.test"),
            ]);
            r.path = ForwardPath::Mailbox(Mailbox {
                local_part: LocalPart::DotString(Cow::Borrowed(local)),
                host: Host::Domain(Domain(Cow::Borrowed(host))),
            });
        } else if bad && i == bad_at && rng.chance(50) && r.orcpt.is_some() {
            r.orcpt = Some(Orcpt {
                addr_type: Cow::Borrowed("rfc822"),
                addr: XText(Cow::Borrowed("o@x.test\r\nINJECTED")),
            });
        } else if rng.chance(20) || (bad && i == bad_at) {
            r.exchange = ExchangeRcptParams {
                xrdst: Some(xtext(rng, bad && i == bad_at)),
                xorar: rng.chance(50).then(|| xtext(rng, false)),
            };
        }
    }
    if rng.chance(20) {
        env.smtputf8 = true;
    }
    if rng.chance(3) {
        env.requiretls = true;
    }
    if rng.chance(30) {
        env.ret = Some(*rng.pick(&[Ret::Full, Ret::Headers]));
    }
    if rng.chance(30) {
        env.envid = Some(rng.pick(&["id-1", "id+2 x", "env=id"]).to_string());
    }
    if rng.chance(25) {
        let len = *rng.pick(&[0usize, 1, 7, 40]);
        env.xexch50 = Some(Xexch50 {
            blob: Bytes::from(vec![b'\n'; len]),
            mode: 2,
        });
    }
    if bad && bad_at == n && rng.chance(40) {
        env.from = ReversePath::Mailbox(Mailbox {
            local_part: LocalPart::Quoted(Cow::Borrowed("q\r\nINJECTED")),
            host: Host::Domain(Domain(Cow::Borrowed("example.test"))),
        });
    } else if rng.chance(20) || (bad && bad_at == n) {
        env.exchange = ExchangeMailParams {
            xoorg: Some(xtext(rng, bad && bad_at == n)),
            xshadow: rng.chance(50).then(|| xtext(rng, false)),
            ..ExchangeMailParams::default()
        };
    }
    (env, bad)
}

fn body_bytes(rng: &mut Rng) -> Vec<u8> {
    let mut b = Vec::new();
    let lines = rng.below(6);
    for _ in 0..lines {
        let l = *rng.pick(&[
            &b"Subject: hi"[..],
            b".leading dot",
            b"",
            b"8bit \xc3\xa9",
            b"bin\rary",
            b"bare\nlf",
            b".",
            b"plain text line",
        ]);
        b.extend_from_slice(l);
        b.extend_from_slice(b"\r\n");
    }
    if rng.chance(3) {
        let line = b"0123456789abcdefghijklmnopqrstuvwxyz.0123456789abcdefghijklmnopqrstuvwxyz\r\n";
        let n = 1000 + rng.below(2500) as usize;
        for _ in 0..n {
            b.extend_from_slice(line);
        }
    }
    if rng.chance(15) {
        b.extend_from_slice(b"no final crlf");
    }
    b
}

struct Msg {
    env: Envelope,
    /// The envelope holds a value with a CR, LF or NUL.
    bad: bool,
    /// The RecipientResult replies, by index.
    seen: std::collections::HashMap<usize, ehlo::Reply>,
    done: bool,
    pieces: Vec<Bytes>,
    next: usize,
}

/// A reply to RCPT for recipient `index`: the client's own held-back `452 4.5.3`, or the
/// scripted server's, which carries the RCPT line it answers (in hex): that line is the
/// recipient's.
fn check_rcpt_reply(env: &Envelope, index: usize, reply: &ehlo::Reply, seed: u64) {
    let r = &env.recipients[index];
    let Some(hex) = reply.text.split("line=").nth(1) else {
        assert_eq!(reply.code.0, 452, "seed {seed}: {reply:?}");
        assert!(reply.text.contains("LIMITS"), "seed {seed}: {reply:?}");
        return;
    };
    let line: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect(&reply.text))
        .collect();
    let mut want = Vec::new();
    ehlo::syntax::command::Command::Rcpt {
        to: r.path.clone(),
        params: Default::default(),
    }
    .encode(&mut want);
    let want = &want[..want.len() - 2];
    assert!(
        line.starts_with(want) && matches!(line.get(want.len()), None | Some(b' ')),
        "seed {seed}: recipient {index} ({:?}) answered for line {:?}",
        r.path,
        String::from_utf8_lossy(&line)
    );
}

/// The MessageResult agrees with the RecipientResults: one status per recipient of the
/// envelope, in order, each with the reply reported for it (or none, when nothing was).
fn check_result(
    m: &Msg,
    result: &Result<ehlo::Reply, MessageError>,
    recipients: &[RecipientStatus],
    seed: u64,
) {
    assert_eq!(recipients.len(), m.env.recipients.len(), "seed {seed}");
    for (i, st) in recipients.iter().enumerate() {
        assert_eq!(st.index, i, "seed {seed}");
        assert_eq!(
            st.reply.as_ref(),
            m.seen.get(&i),
            "seed {seed}: recipient {i}: MessageResult and RecipientResult differ ({result:?})"
        );
    }
    // Only a broken value or an ORCPT address that is not ASCII outside SMTPUTF8 (the
    // generator's only other invalid field) makes an invalid envelope.
    if matches!(result, Err(MessageError::InvalidEnvelope)) {
        assert!(
            m.bad
                || m.env
                    .recipients
                    .iter()
                    .any(|r| r.orcpt.as_ref().is_some_and(|o| !o.addr.0.is_ascii())),
            "seed {seed}: {:?} refused as invalid",
            m.env
        );
    }
    if result.is_ok() {
        assert!(
            recipients.iter().any(RecipientStatus::accepted),
            "seed {seed}: delivered without an accepted recipient"
        );
    }
}

fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => write!(s, "\\x{c:02x}").unwrap(),
        }
    }
    s
}

fn queue_one(client: &mut Client, rng: &mut Rng, log: &mut String, msgs: &mut Vec<Msg>) -> bool {
    let (env, bad) = envelope(rng);
    let data = body_bytes(rng);
    let (body, pieces) = if rng.chance(35) {
        let actual = BodyType::of(&data);
        let declared = if rng.chance(10) {
            BodyType::SevenBit
        } else {
            actual
        };
        let mut pieces = Vec::new();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let max = if data.len() > 10_000 { 70_000 } else { 12 };
            let n = (1 + rng.below(max) as usize).min(rest.len());
            pieces.push(Bytes::copy_from_slice(&rest[..n]));
            rest = &rest[n..];
            if rng.chance(10) {
                pieces.push(Bytes::new());
            }
        }
        let size = rng.chance(50).then_some(data.len() as u64);
        (
            Body::Stream {
                body_type: declared,
                size,
            },
            pieces,
        )
    } else {
        (Body::Bytes(Bytes::from(data)), Vec::new())
    };
    let r = client.send(env.clone(), body);
    writeln!(log, "S {r:?}").unwrap();
    if r.is_ok() {
        msgs.push(Msg {
            bad,
            env,
            seen: Default::default(),
            done: false,
            pieces,
            next: 0,
        });
    }
    r.is_ok()
}

/// Runs one session; returns its record.
fn session(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut log = String::new();
    let now = Instant::now();
    let mut cfg = ClientConfig::new("client.example.test");
    cfg.tls = TlsPolicy::Never;
    cfg.pipelining = rng.chance(80);
    cfg.chunking = rng.chance(80);
    cfg.bdat_chunk_size = *rng.pick(&[1usize, 3, 16, 64, 1 << 20]);
    let (ehlo, caps) = ehlo_reply(&mut rng);
    let helo_fallback = rng.chance(5);
    let ehlo = if helo_fallback {
        "502 5.5.1 no EHLO\r\n".to_string()
    } else {
        ehlo
    };
    writeln!(
        log,
        "# seed {seed} pipelining={} chunking={} chunk={} caps={caps:?} helo={helo_fallback}",
        cfg.pipelining, cfg.chunking, cfg.bdat_chunk_size
    )
    .unwrap();
    let mut server = Server {
        rng: Rng(seed ^ 0x5151),
        ehlo,
        input: Vec::new(),
        mode: Mode::Command,
        out: b"220 srv.example.test ESMTP\r\n".to_vec(),
        mail_ok: false,
        accepted: 0,
        lines: Vec::new(),
        quit: false,
    };
    let mut client = Client::new(cfg, now);
    let total = 1 + rng.below(6) as usize;
    let mut queued = 0usize;
    let mut done = 0usize;
    let mut msgs: Vec<Msg> = Vec::new();
    let cut_after = if rng.chance(15) {
        Some(rng.below(40) as usize)
    } else {
        None
    };
    let first = 1 + rng.below(total as u64) as usize;
    for _ in 0..first {
        queue_one(&mut client, &mut rng, &mut log, &mut msgs);
        queued += 1;
    }
    let mut steps = 0usize;
    let mut quit = false;
    loop {
        steps += 1;
        if steps > 20_000 {
            writeln!(log, "! too many steps").unwrap();
            break;
        }
        let mut progressed = false;
        let one = rng.chance(30);
        while let Some(seg) = client.poll_transmit(now) {
            progressed = true;
            if seg.len() > 512 {
                let h = seg.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
                writeln!(
                    log,
                    "T {} octets {h:016x} {}...",
                    seg.len(),
                    escape(&seg[..64])
                )
                .unwrap();
            } else {
                writeln!(log, "T {}", escape(&seg)).unwrap();
            }
            server.feed(&seg);
            if one {
                break;
            }
        }
        while let Some(ev) = client.poll_event() {
            progressed = true;
            writeln!(log, "E {ev:?}").unwrap();
            match ev {
                Event::RecipientResult {
                    message,
                    index,
                    accepted,
                    reply,
                } => {
                    let m = &mut msgs[message.0 as usize];
                    assert!(
                        !m.done,
                        "seed {seed}: a RecipientResult after the MessageResult"
                    );
                    assert_eq!(accepted, reply.code.0 / 100 == 2);
                    check_rcpt_reply(&m.env, index, &reply, seed);
                    assert!(
                        m.seen.insert(index, reply).is_none(),
                        "seed {seed}: recipient {index} reported twice"
                    );
                }
                Event::MessageResult {
                    message,
                    result,
                    recipients,
                    ..
                } => {
                    let m = &mut msgs[message.0 as usize];
                    assert!(!m.done, "seed {seed}: two MessageResults");
                    m.done = true;
                    check_result(m, &result, &recipients, seed);
                    done += 1;
                    if queued < total && rng.chance(70) {
                        queue_one(&mut client, &mut rng, &mut log, &mut msgs);
                        queued += 1;
                    }
                }
                Event::BodyNeeded(id) => {
                    let m = &mut msgs[id.0 as usize];
                    let r = if m.next < m.pieces.len() {
                        let p = m.pieces[m.next].clone();
                        m.next += 1;
                        client.push_body(id, p)
                    } else {
                        client.finish_body(id)
                    };
                    writeln!(log, "B {r:?}").unwrap();
                }
                Event::Closed(_) => {}
                _ => {}
            }
        }
        if client.is_closed() {
            break;
        }
        if cut_after == Some(steps) {
            writeln!(log, "! peer closed").unwrap();
            if rng.chance(50) {
                client.peer_closed();
            } else {
                // At a reply boundary: what the server wrote so far, then the 421.
                let rest: Vec<u8> = server.out.drain(..).collect();
                client.receive(&rest);
                client.receive(b"421 4.3.2 shutting down\r\n");
            }
            continue;
        }
        if !server.out.is_empty() {
            let n = 1 + rng.below(server.out.len() as u64) as usize;
            let n = if rng.chance(50) { server.out.len() } else { n };
            let part: Vec<u8> = server.out.drain(..n).collect();
            client.receive(&part);
            continue;
        }
        if !progressed {
            if queued < total {
                queue_one(&mut client, &mut rng, &mut log, &mut msgs);
                queued += 1;
            } else if !quit {
                quit = true;
                client.quit();
            } else {
                panic!("seed {seed}: the session stalled");
            }
        }
    }
    // Every message queued got its one MessageResult.
    assert_eq!(done, msgs.len(), "seed {seed}");
    assert!(msgs.iter().all(|m| m.done), "seed {seed}");
    log
}

#[test]
fn random_sessions_keep_recipients_and_lines_apart() {
    let n: u64 = std::env::var("EHLO_DIFF_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut all = String::new();
    for seed in 0..n {
        all.push_str(&session(seed));
    }
    if let Ok(path) = std::env::var("EHLO_DIFF_OUT") {
        std::fs::write(path, &all).unwrap();
    }
}
