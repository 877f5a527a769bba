//! Allocation counts of the client machine on the hot path (no timing: counts only).
//!
//! A counting global allocator wraps `System`; counting is per thread and switched on only
//! around calls into the [`Client`] (`send`, `receive`, `poll_transmit`, `poll_event`,
//! `push_body`, `finish_body`), so the scripted server below, the envelopes the caller
//! builds and the test's own bookkeeping are not counted. What the caller gets (the events
//! and the replies in them) is counted: the client allocated it.
//!
//! Costs are measured per unit as the difference between a run with `n` units and one with
//! `2n`, so the fixed cost of a session (greeting, EHLO and its capabilities, buffers)
//! cancels out, and the growth of reused buffers (doublings) shows as a fraction.
//!
//! What is inherent, whatever the client does:
//! * a parsed reply owns its text ([`ehlo::Reply::text`] is a `Cow<'static, str>`, and no
//!   server text is static): one allocation per reply with text. The client parses
//!   every reply into an owned `Reply`, also those it drops once read (the `250` to MAIL,
//!   the `354` to DATA, the `250` to a BDAT chunk that is not the last): sparing those
//!   would take a parse that borrows the text until the client keeps it, which is not
//!   done;
//! * a recipient's reply reaches the caller twice, in its [`Event::RecipientResult`] and
//!   in the [`Event::MessageResult`] recipients: one more copy per recipient;
//! * a message's [`Event::MessageResult`] owns its `Vec` of recipient statuses;
//! * the caller's own [`Envelope`] owns its addresses (two strings per mailbox, built
//!   outside the counted calls here); it comes back in the [`Event::MessageResult`]
//!   moved, not copied, so it adds nothing.

mod alloc_support;

use alloc_support::{counted, total};
use bytes::Bytes;
use ehlo::client::{Body, BodyType, Client, ClientConfig, Envelope, Event, TlsPolicy};
use ehlo::data::{DataEncoder, EncoderConfig};
use std::time::Instant;

// ----- a scripted server -----

/// Answers the client's commands with fixed replies: `EHLO` with the capabilities, `MAIL`,
/// `RCPT`, `DATA` (then the content up to `.`), `BDAT` (after its chunk), `RSET`, `QUIT`.
/// Not counted.
struct Script {
    ehlo: Vec<u8>,
    input: Vec<u8>,
    /// In DATA content.
    data: bool,
    /// Octets of a BDAT chunk still to skip.
    bdat: usize,
    /// The replies not yet handed to the client, one entry per reply.
    replies: Vec<&'static [u8]>,
    /// Lines of content received (DATA) and octets (BDAT), to check the session ran.
    content_lines: usize,
    bdat_octets: usize,
}

const MAIL_OK: &[u8] = b"250 2.1.0 Sender OK\r\n";
const RCPT_OK: &[u8] = b"250 2.1.5 Recipient OK\r\n";
const GO_AHEAD: &[u8] = b"354 Start mail input; end with <CRLF>.<CRLF>\r\n";
const QUEUED: &[u8] = b"250 2.0.0 Queued as 4F2A1C\r\n";
const CHUNK_OK: &[u8] = b"250 2.0.0 Chunk received\r\n";
const RSET_OK: &[u8] = b"250 2.0.0 Reset\r\n";
const BYE: &[u8] = b"221 2.0.0 Bye\r\n";

impl Script {
    fn new(caps: &[&str]) -> Script {
        let mut ehlo = b"250-mx.example.test Hello\r\n".to_vec();
        for (i, c) in caps.iter().enumerate() {
            ehlo.extend_from_slice(if i + 1 == caps.len() {
                b"250 "
            } else {
                b"250-"
            });
            ehlo.extend_from_slice(c.as_bytes());
            ehlo.extend_from_slice(b"\r\n");
        }
        if caps.is_empty() {
            ehlo = b"250 mx.example.test Hello\r\n".to_vec();
        }
        Script {
            ehlo,
            input: Vec::new(),
            data: false,
            bdat: 0,
            replies: Vec::new(),
            content_lines: 0,
            bdat_octets: 0,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        let mut pos = 0;
        loop {
            if self.bdat > 0 {
                let n = self.bdat.min(self.input.len() - pos);
                self.bdat -= n;
                self.bdat_octets += n;
                pos += n;
                if self.bdat > 0 {
                    break;
                }
                self.replies.push(CHUNK_OK);
                continue;
            }
            let Some(end) = self.input[pos..].windows(2).position(|w| w == b"\r\n") else {
                break;
            };
            let line = self.input[pos..pos + end].to_vec();
            pos += end + 2;
            if self.data {
                if line == b"." {
                    self.data = false;
                    self.replies.push(QUEUED);
                } else {
                    self.content_lines += 1;
                }
                continue;
            }
            let verb = line.get(..4).map(<[u8]>::to_ascii_uppercase);
            match verb.as_deref() {
                Some(b"EHLO") => self.replies.push(b""),
                Some(b"MAIL") => self.replies.push(MAIL_OK),
                Some(b"RCPT") => self.replies.push(RCPT_OK),
                Some(b"DATA") => {
                    self.data = true;
                    self.replies.push(GO_AHEAD);
                }
                Some(b"BDAT") => {
                    let n: usize = std::str::from_utf8(&line[5..])
                        .unwrap()
                        .split(' ')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    self.bdat = n;
                    if n == 0 {
                        self.replies.push(CHUNK_OK);
                    }
                }
                Some(b"RSET") => self.replies.push(RSET_OK),
                Some(b"QUIT") => self.replies.push(BYE),
                _ => panic!("unexpected line {:?}", String::from_utf8_lossy(&line)),
            }
        }
        self.input.drain(..pos);
    }

    /// The pending replies: all in one read, or one read per reply.
    fn take(&mut self, one_read: bool) -> Vec<Vec<u8>> {
        let ehlo = self.ehlo.clone();
        let replies = std::mem::take(&mut self.replies);
        let each = replies.into_iter().map(|r| {
            if r.is_empty() {
                ehlo.clone()
            } else {
                r.to_vec()
            }
        });
        if one_read {
            let all: Vec<u8> = each.flatten().collect();
            if all.is_empty() {
                Vec::new()
            } else {
                vec![all]
            }
        } else {
            each.collect()
        }
    }
}

// ----- the caller -----

/// How a streamed body is produced on each `BodyNeeded`.
#[derive(Clone)]
struct Stream {
    chunk: Bytes,
    chunks: usize,
    /// The caller writes what the client has to send after every piece (otherwise after
    /// all the pieces the client asks for at once, up to its 64 KiB of output).
    lockstep: bool,
}

struct Run {
    /// Allocations in the counted client calls.
    allocs: usize,
    /// Allocations inside `Client::receive` alone.
    receive_allocs: usize,
    delivered: usize,
    recipients_accepted: usize,
    script: Script,
}

/// One session: greeting, EHLO with `caps`, `messages` (queued before the greeting), QUIT.
fn session(
    caps: &[&str],
    config: &ClientConfig,
    messages: Vec<(Envelope, Body)>,
    stream: Option<Stream>,
    one_read: bool,
) -> Run {
    let now = Instant::now();
    let mut script = Script::new(caps);
    let start = total();
    let mut receive_allocs = 0;
    let mut client = counted(|| Client::new(config.clone(), now));
    // Queued once the session is ready, so that `Client::receive` (which plans the
    // transactions of messages queued before) counts only the handling of replies.
    let mut messages = Some(messages);
    let mut pushed = 0;
    let mut delivered = 0;
    let mut recipients_accepted = 0;
    let mut reads = vec![b"220 mx.example.test ESMTP ready\r\n".to_vec()];
    loop {
        let mut progress = false;
        for r in reads.drain(..) {
            let before = total();
            counted(|| client.receive(&r));
            receive_allocs += total() - before;
            progress = true;
        }
        while let Some(event) = counted(|| client.poll_event()) {
            match event {
                Event::BodyNeeded(id) => {
                    let s = stream.as_ref().expect("a streamed body");
                    if pushed < s.chunks {
                        pushed += 1;
                        let chunk = s.chunk.clone();
                        counted(|| client.push_body(id, chunk)).expect("push");
                        if s.lockstep {
                            while let Some(t) = counted(|| client.poll_transmit(now)) {
                                script.feed(&t);
                            }
                        }
                    } else {
                        pushed = 0;
                        counted(|| client.finish_body(id)).expect("finish");
                    }
                    progress = true;
                }
                Event::MessageResult { result, .. } => {
                    result.expect("delivered");
                    delivered += 1;
                }
                Event::RecipientResult { accepted, .. } => {
                    assert!(accepted);
                    recipients_accepted += 1;
                }
                Event::Ready => {
                    for (env, body) in messages.take().into_iter().flatten() {
                        counted(|| client.send(env, body)).expect("send");
                    }
                    counted(|| client.quit());
                    progress = true;
                }
                _ => {}
            }
        }
        while let Some(t) = counted(|| client.poll_transmit(now)) {
            script.feed(&t);
            progress = true;
        }
        reads = script.take(one_read);
        if client.is_closed() || (!progress && reads.is_empty()) {
            break;
        }
    }
    assert!(client.is_closed(), "session ended");
    counted(|| drop(client));
    Run {
        allocs: total() - start,
        receive_allocs,
        delivered,
        recipients_accepted,
        script,
    }
}

fn config(pipelining: bool, chunking: bool) -> ClientConfig {
    let mut c = ClientConfig::new("client.example.test");
    c.tls = TlsPolicy::Never;
    c.pipelining = pipelining;
    c.chunking = chunking;
    c
}

const CAPS: &[&str] = &[
    "PIPELINING",
    "8BITMIME",
    "SIZE 100000000",
    "ENHANCEDSTATUSCODES",
];
const CAPS_CHUNKING: &[&str] = &[
    "PIPELINING",
    "8BITMIME",
    "SIZE 100000000",
    "ENHANCEDSTATUSCODES",
    "CHUNKING",
];

fn envelope(rcpts: usize) -> Envelope {
    let mut e = Envelope::new("sender@example.test").unwrap();
    for i in 0..rcpts {
        e.add_recipient(&format!("rcpt{i}@example.test")).unwrap();
    }
    e
}

fn body() -> Bytes {
    let mut b =
        b"From: sender@example.test\r\nTo: rcpt0@example.test\r\nSubject: alloc\r\n\r\n".to_vec();
    while b.len() < 4096 {
        b.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n");
        b.extend_from_slice(b".A line that starts with a dot and is stuffed.\r\n");
    }
    Bytes::from(b)
}

/// Allocations of a session of `messages` messages of `rcpts` recipients each.
fn messages_run(pipelining: bool, chunking: bool, messages: usize, rcpts: usize) -> Run {
    let caps = if chunking { CAPS_CHUNKING } else { CAPS };
    let body = body();
    let msgs = (0..messages)
        .map(|_| (envelope(rcpts), Body::Bytes(body.clone())))
        .collect();
    let run = session(caps, &config(pipelining, chunking), msgs, None, true);
    assert_eq!(run.delivered, messages);
    assert_eq!(run.recipients_accepted, messages * rcpts);
    run
}

/// Per-unit cost: `(f(2n) - f(n)) / n`, after checking that `f` is deterministic.
fn per_unit(n: usize, f: impl Fn(usize) -> usize) -> f64 {
    let a = f(n);
    assert_eq!(a, f(n), "deterministic");
    let b = f(2 * n);
    assert!(b >= a, "{b} < {a}");
    (b - a) as f64 / n as f64
}

#[test]
fn per_recipient() {
    for pipelining in [true, false] {
        let per = per_unit(64, |n| messages_run(pipelining, false, 1, n).allocs);
        eprintln!("per recipient (pipelining {pipelining}): {per}");
        // The RCPT reply's text and its copy (the RecipientResult event and the
        // MessageResult statuses each own one); the line is written into the
        // transaction's one buffer of lines, from the envelope, without copying its path.
        assert!(per <= 2.1, "per recipient (pipelining {pipelining}): {per}");
    }
}

#[test]
fn per_message() {
    for (pipelining, chunking) in [(true, false), (false, false), (true, true), (false, true)] {
        let per = per_unit(32, |n| messages_run(pipelining, chunking, n, 1).allocs);
        eprintln!("per message (pipelining {pipelining}, chunking {chunking}): {per}");
        // A message to one recipient, a 4 KiB body: the text of every reply (MAIL, RCPT
        // and its copy, 354 to DATA, the final 250: 5 with DATA, 4 with one BDAT chunk) and
        // the recipient statuses of its MessageResult. The MAIL and RCPT lines reuse the
        // last transaction's buffer, the body goes out without copying (BDAT) or is
        // dot-stuffed into the output buffer the caller's writes emptied (DATA).
        let inherent = if chunking { 5.0 } else { 6.0 };
        assert!(
            per <= inherent + 0.1,
            "per message (pipelining {pipelining}, chunking {chunking}): {per}"
        );
    }
}

fn stream_run(chunking: bool, lockstep: bool, chunks: usize) -> Run {
    let caps = if chunking { CAPS_CHUNKING } else { CAPS };
    let stream = Stream {
        chunk: Bytes::from(piece()),
        chunks,
        lockstep,
    };
    let body = Body::Stream {
        body_type: BodyType::SevenBit,
        size: None,
    };
    let run = session(
        caps,
        &config(true, chunking),
        vec![(envelope(1), body)],
        Some(stream),
        true,
    );
    assert_eq!(run.delivered, 1);
    if chunking {
        assert_eq!(run.script.bdat_octets, chunks * piece().len());
    } else {
        assert_eq!(
            run.script.content_lines,
            chunks * piece().split(|&b| b == b'\n').count().saturating_sub(1)
        );
    }
    run
}

/// A piece of a streamed body: about 1 KiB of lines, half of them starting with a dot.
fn piece() -> Vec<u8> {
    let mut piece = Vec::new();
    while piece.len() < 1000 {
        piece.extend_from_slice(b"Some text of a streamed body.\r\n.And a dot line.\r\n");
    }
    piece
}

#[test]
fn per_body_chunk() {
    for lockstep in [false, true] {
        // DATA: the piece is dot-stuffed into the output buffer (no allocation per line,
        // see `data_encoder_does_not_allocate_per_line`), which the caller's writes empty:
        // the buffer is reused once the caller has dropped what it wrote.
        let data = per_unit(64, |n| stream_run(false, lockstep, n).allocs);
        eprintln!("per DATA chunk (lockstep {lockstep}): {data}");
        assert!(data <= 0.1, "per DATA chunk (lockstep {lockstep}): {data}");
        // BDAT: the reply to the chunk's BDAT (its text). The BDAT line goes into the
        // output buffer's current block, the chunk out as it is (no copy).
        let bdat = per_unit(64, |n| stream_run(true, lockstep, n).allocs);
        eprintln!("per BDAT chunk (lockstep {lockstep}): {bdat}");
        assert!(bdat <= 1.1, "per BDAT chunk (lockstep {lockstep}): {bdat}");
    }
}

#[test]
fn per_reply() {
    // The RCPT replies of one transaction, all in one read or one read per reply: what
    // `Client::receive` allocates per reply.
    for one_read in [true, false] {
        let run = |n: usize| {
            let msgs = vec![(envelope(n), Body::Bytes(body()))];
            let r = session(CAPS, &config(true, false), msgs, None, one_read);
            assert_eq!(r.recipients_accepted, n);
            r.receive_allocs
        };
        let per = per_unit(64, run);
        eprintln!("per reply (one read {one_read}): {per}");
        // The reply's text, and its copy in the recipient's status (the RecipientResult
        // event takes the reply itself); the input buffer is reused.
        assert!(per <= 2.1, "per reply (one read {one_read}): {per}");
    }
    // The parser the client reads with: a one-line reply allocates its text once, a reply
    // without text not at all; a multi-line reply grows one string.
    let mut parser = ehlo::syntax::reply::ReplyParser::new(512, 100);
    for (input, most) in [
        (&b"250 2.1.5 Recipient OK\r\n"[..], 1),
        (b"354\r\n", 0),
        (
            b"250-first line\r\n250-second line\r\n250 third line\r\n",
            3,
        ),
    ] {
        let mut buf = bytes::BytesMut::from(input);
        let before = total();
        let reply = counted(|| parser.decode(&mut buf))
            .unwrap()
            .expect("a reply");
        let n = total() - before;
        assert!(n <= most, "{reply:?}: {n} allocations");
    }
}

/// The DATA encoder writes into the caller's buffer and allocates nothing itself, whatever
/// the number of lines, dots to stuff or bare line ends to repair (it scans with memchr and
/// a block-wise skip of plain text, `src/data/scan.rs`).
#[test]
fn data_encoder_does_not_allocate_per_line() {
    let mut body = Vec::new();
    for i in 0..1000 {
        match i % 4 {
            0 => body.extend_from_slice(b"plain text line\r\n"),
            1 => body.extend_from_slice(b".dot at line start\r\n"),
            2 => body.extend_from_slice(b"bare line feed\n"),
            _ => body.extend_from_slice(b"bare\rcarriage return\r\n"),
        }
    }
    let mut out = bytes::BytesMut::with_capacity(2 * body.len());
    let mut enc = DataEncoder::new(EncoderConfig::default());
    let before = total();
    counted(|| {
        for piece in body.chunks(100) {
            enc.encode(piece, &mut out);
        }
        enc.finish(&mut out);
    });
    assert_eq!(total() - before, 0, "encoder allocations");
    assert!(out.len() > body.len());
    // `content_size` (the SIZE= of a DATA body) neither.
    let before = total();
    let size = counted(|| DataEncoder::content_size(&body, EncoderConfig::default()));
    assert_eq!(total() - before, 0);
    assert!(size > body.len() as u64);
}

#[test]
fn the_counter_counts() {
    let before = total();
    let v = counted(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(total() - before >= 1);
}
