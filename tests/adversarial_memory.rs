//! Adversarial floods: memory stays bounded, replies stay correct, limits are enforced.
//!
//! Memory is measured with a counting global allocator (this test file is its own crate,
//! so the `unsafe impl GlobalAlloc` does not touch the library's `forbid(unsafe_code)`).
//! Counting is per thread (live bytes and their peak), so tests running in parallel do not
//! disturb each other.
//!
//! The 100 MiB floods stream 64 KiB pieces and take a second or two in release
//! (`cargo test --release`, CI's command). In debug builds (`cfg!(debug_assertions)`) the
//! flood is 4 MiB so that `cargo test` stays fast; the bounds asserted are the same.

use ehlo::client::{Client, ClientConfig, CloseReason, Event as ClientEvent, ProtocolError};
use ehlo::server::{Decision, Event, Server, ServerConfig};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

// ---- counting allocator ----

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

/// Counts `n` octets handed out by an allocation (a `realloc` counts its new size: it may
/// have copied that much).
fn allocated_more(n: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get().saturating_add(n)));
}

fn grow(n: isize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get() + n;
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size() as isize);
        allocated_more(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size() as isize);
        allocated_more(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        grow(-(layout.size() as isize));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size as isize - layout.size() as isize);
        allocated_more(new_size);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Starts a measurement: the peak is reset to the current live bytes.
fn mark() -> isize {
    let now = live();
    PEAK.with(|p| p.set(now));
    now
}

/// Peak live bytes on this thread since `base` was marked, above `base`.
fn peak_since(base: isize) -> usize {
    (PEAK.with(Cell::get) - base).max(0) as usize
}

/// Octets allocated on this thread so far, freed or not (the work of copying, where live
/// and peak bytes stay flat).
fn allocated() -> usize {
    ALLOCATED.with(Cell::get)
}

// ---- helpers ----

const MIB: usize = 1024 * 1024;
const PIECE: usize = 64 * 1024;
static AS: [u8; PIECE] = [b'A'; PIECE];

/// 100 MiB in release, 4 MiB in debug builds (see the module docs).
fn flood_size() -> usize {
    if cfg!(debug_assertions) {
        4 * MIB
    } else {
        100 * MIB
    }
}

const EHLO: &[u8] = b"EHLO client.example.test\r\n";
const GREETING: &str = "220 mx.example.test ESMTP ready\r\n";
const EHLO_REPLY: &str = "250-mx.example.test Hello client.example.test\r\n\
250-SIZE 10485760\r\n250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n\
250-8BITMIME\r\n250-BINARYMIME\r\n250 CHUNKING\r\n";

/// A server session that accepts everything, counts what it sees and keeps only the
/// output (and, if asked, the message content).
struct Session {
    server: Server,
    now: Instant,
    out: Vec<u8>,
    keep_output: bool,
    keep_message: bool,
    message: Vec<u8>,
    message_octets: u64,
    mails: usize,
    rcpts: usize,
    ends: usize,
    aborted: usize,
    decide: fn(&Event) -> Decision,
}

impl Session {
    fn new(config: ServerConfig) -> Session {
        let now = Instant::now();
        let mut s = Session {
            server: Server::new(config, now),
            now,
            out: Vec::new(),
            keep_output: true,
            keep_message: false,
            message: Vec::new(),
            message_octets: 0,
            mails: 0,
            rcpts: 0,
            ends: 0,
            aborted: 0,
            decide: |_| Decision::Accept,
        };
        s.drain();
        s
    }

    /// Handles every event and hands out every reply, as a transport does, until the
    /// machine waits for input (also after it paused for its replies to be taken:
    /// `limits.max_output_buffer`).
    fn drain(&mut self) {
        loop {
            self.drain_once();
            if !self.server.is_paused_for_output() {
                return;
            }
        }
    }

    fn drain_once(&mut self) {
        while let Some(e) = self.server.poll_event() {
            match &e {
                Event::MailFrom { .. } => self.mails += 1,
                Event::RcptTo { .. } => self.rcpts += 1,
                Event::MessageEnd { .. } => self.ends += 1,
                Event::MessageAborted(_) => self.aborted += 1,
                Event::MessageChunk(b) => {
                    self.message_octets += b.len() as u64;
                    if self.keep_message {
                        self.message.extend_from_slice(b);
                    }
                }
                _ => {}
            }
            if e.needs_decision() {
                let d = (self.decide)(&e);
                self.server.decide(d);
            }
        }
        while let Some(t) = self.server.poll_transmit() {
            if self.keep_output {
                self.out.extend_from_slice(&t);
            }
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.server.receive(self.now, bytes);
        assert!(self.server.buffered_len() <= self.server.config().limits.max_input_buffer);
        self.drain();
    }

    /// Feeds `n` octets of `A` in 64 KiB pieces, draining in between.
    fn flood(&mut self, n: usize) {
        let mut left = n;
        while left > 0 {
            let k = left.min(PIECE);
            self.feed(&AS[..k]);
            left -= k;
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }

    fn take_text(&mut self) -> String {
        let t = self.text();
        self.out.clear();
        t
    }
}

fn config() -> ServerConfig {
    ServerConfig::new("mx.example.test")
}

// ---- 100 MiB without a line end ----

/// 100 MiB (4 MiB in debug) of command input without a line end: the session holds at
/// most the configured input cap, answers `500 5.5.2` once, and reads the next command
/// after the next CRLF as a command.
#[test]
fn flood_without_line_end_in_command_phase() {
    let mut s = Session::new(config());
    s.feed(EHLO);
    assert_eq!(s.take_text(), format!("{GREETING}{EHLO_REPLY}"));
    let cap = s.server.config().limits.max_input_buffer;

    let base = mark();
    s.flood(flood_size());
    let peak = peak_since(base);
    assert!(peak <= cap, "peak {peak} octets above the input cap {cap}");
    assert_eq!(s.take_text(), "500 5.5.2 Line too long\r\n");

    // The end of the monster line, then the session is in sync again.
    s.feed(b"AAAA\r\nNOOP\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    s.feed(b"Hello\r\n.\r\nQUIT\r\n");
    assert_eq!(
        s.take_text(),
        "250 2.0.0 OK\r\n250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
         354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 Message accepted\r\n\
         221 2.0.0 Bye\r\n"
    );
    assert_eq!((s.mails, s.rcpts, s.ends), (1, 1, 1));
}

/// The same flood with a smaller configured cap: the cap, not a built-in constant, bounds
/// what the session holds.
#[test]
fn flood_respects_a_small_configured_cap() {
    let mut c = config();
    c.limits.max_input_buffer = 16 * 1024;
    let mut s = Session::new(c);
    s.feed(EHLO);
    s.take_text();
    let base = mark();
    let mut left = flood_size() / 4;
    while left > 0 {
        s.feed(&AS[..4096]);
        left = left.saturating_sub(4096);
    }
    let peak = peak_since(base);
    assert!(peak <= 16 * 1024, "peak {peak}");
    s.feed(b"\r\nNOOP\r\n");
    assert_eq!(s.take_text(), "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n");
}

/// A flood in a SASL continuation line: `500 5.5.6`, the exchange ends, the session
/// resynchronizes at the next CRLF.
#[test]
fn flood_without_line_end_in_sasl_continuation() {
    let mut c = config();
    c.auth.mechanisms = vec![ehlo::server::Mechanism::new("NTLM")];
    let mut s = Session::new(c);
    s.decide = |e| match e {
        Event::AuthStart { .. } => Decision::AuthChallengeText("ntlm supported".into()),
        _ => Decision::Accept,
    };
    s.feed(EHLO);
    s.feed(b"AUTH NTLM\r\n");
    s.take_text();
    let base = mark();
    s.flood(flood_size() / 4);
    assert!(peak_since(base) <= 256 * 1024);
    s.feed(b"\r\nNOOP\r\n");
    assert_eq!(
        s.take_text(),
        "500 5.5.6 Authentication exchange line is too long\r\n250 2.0.0 OK\r\n"
    );
}

/// 100 MiB (4 MiB in debug) of message content without a line end: nothing is buffered
/// beyond the input cap, content past the size limit is counted and dropped, and the
/// real end of data gets `552 5.3.4`.
#[test]
fn flood_without_line_end_in_data() {
    let mut c = config();
    c.limits.max_message_size = MIB as u64;
    let mut s = Session::new(c);
    s.feed(EHLO);
    s.feed(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    s.take_text();
    let base = mark();
    s.flood(flood_size());
    let peak = peak_since(base);
    assert!(peak <= 256 * 1024, "peak {peak}");
    assert!(s.message_octets <= MIB as u64 + PIECE as u64);
    s.feed(b"\r\n.\r\nNOOP\r\n");
    let text = s.take_text();
    assert!(text.starts_with("552 5.3.4 "), "{text}");
    assert!(text.ends_with("\r\n250 2.0.0 OK\r\n"), "{text}");
    assert_eq!((s.ends, s.aborted), (0, 1));
}

/// A client that floods while the caller has not yet decided on its last command: the
/// cap is hit and the session closes with `421 4.7.0`; nothing is stored beyond the cap.
#[test]
fn flood_while_a_decision_is_pending_closes_at_the_cap() {
    let mut s = Session::new(config());
    s.feed(EHLO);
    s.take_text();
    s.server.receive(s.now, b"MAIL FROM:<a@example.test>\r\n");
    let e = s.server.poll_event().expect("event");
    assert!(matches!(e, Event::MailFrom { .. }));
    assert!(s.server.is_decision_pending());
    let base = mark();
    let mut pieces = 0;
    while !s.server.is_closed() {
        s.server.receive(s.now, &AS);
        assert!(s.server.buffered_len() <= 256 * 1024);
        pieces += 1;
        assert!(pieces < 100, "never closed");
    }
    assert!(peak_since(base) <= 256 * 1024 + 1024);
    s.drain();
    let text = s.take_text();
    assert!(text.starts_with("421 4.7.0 "), "{text}");
    assert!(s.server.is_closed());
}

/// The client machine fed 100 MiB (4 MiB in debug) of server output without a line end:
/// it closes with a malformed-reply error after the reply line limit and keeps nothing.
#[test]
fn client_flood_without_line_end() {
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::new("client.example.test"), now);
    let base = mark();
    let mut left = flood_size();
    while left > 0 {
        let k = left.min(PIECE);
        c.receive(&AS[..k]);
        left -= k;
    }
    assert!(peak_since(base) <= 64 * 1024 + 12 * 1024);
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(
            events.last(),
            Some(ClientEvent::Closed(CloseReason::Protocol(
                ProtocolError::Malformed(_)
            )))
        ),
        "{events:?}"
    );
    assert!(c.is_closed());
    assert!(c.poll_transmit(now).is_none());
}

// ---- pipelining, recipients, transactions ----

/// 10,000 pipelined commands in one input (the default `max_commands`): every one is
/// answered, in order.
#[test]
fn ten_thousand_pipelined_commands() {
    let mut input = Vec::from(EHLO);
    for i in 0..9_998 {
        input.extend_from_slice(if i % 2 == 0 { b"NOOP\r\n" } else { b"RSET\r\n" });
    }
    input.extend_from_slice(b"QUIT\r\n");
    let mut s = Session::new(config());
    s.take_text();
    // Measured: the machine only (the replies are checked as they leave, not stored).
    let base = mark();
    s.server.receive(s.now, &input);
    let mut lines = 0usize;
    let mut last = Vec::new();
    let mut pauses = 0;
    loop {
        while let Some(e) = s.server.poll_event() {
            assert!(
                !e.needs_decision() || matches!(e, Event::Ehlo { .. }),
                "{e:?}"
            );
            if e.needs_decision() {
                s.server.decide(Decision::Default);
            }
        }
        while let Some(t) = s.server.poll_transmit() {
            for line in t.split_inclusive(|&b| b == b'\n') {
                lines += 1;
                if (9..9 + 9_998).contains(&lines) {
                    assert_eq!(line, b"250 2.0.0 OK\r\n", "line {lines}");
                }
                last = line.to_vec();
            }
        }
        if !s.server.is_paused_for_output() {
            break;
        }
        pauses += 1;
    }
    let peak = peak_since(base);
    assert_eq!(lines, 8 + 9_998 + 1);
    assert_eq!(last, b"221 2.0.0 Bye\r\n");
    assert!(s.server.is_closed());
    // The replies (14 octets each, 140 kB in all) waited 64 KiB at a time
    // (`limits.max_output_buffer`): twice.
    assert_eq!(pauses, 2);
    // The input and at most one mark's worth of replies, with the output buffer's growth
    // slack; nothing else per command.
    assert!(
        peak <= input.len() + 2 * 64 * 1024 + 128 * 1024,
        "peak {peak}"
    );
}

/// A client that pipelines EHLOs without reading the replies (RFC 2920 section 3.1 leaves
/// the deadlock to the client): 64 KiB of `EHLO x` lines would make over 1 MB of
/// replies. The machine stops taking commands once the replies not yet handed out reach
/// `limits.max_output_buffer` (64 KiB), so a transport whose socket is full holds no more
/// than that, and every EHLO is still answered, in order, once the replies are taken.
#[test]
fn pipelined_ehlo_flood_holds_one_mark_of_replies() {
    let mut s = Session::new(config());
    s.take_text();
    let n = 64 * 1024 / b"EHLO x\r\n".len();
    let input = b"EHLO x\r\n".repeat(n);
    s.server.receive(s.now, &input);
    let mut most = 0;
    let mut replies = 0;
    let mut rounds = 0;
    loop {
        s.drain_events_only();
        // A caller whose socket is full polls again without taking the replies: nothing
        // more is processed, and the pause is reported each time.
        if s.server.is_paused_for_output() {
            let held = s.server.pending_output_len();
            assert!(s.server.poll_event().is_none());
            assert_eq!(s.server.pending_output_len(), held);
            assert!(s.server.is_paused_for_output());
            assert!(s.server.buffered_len() > 0);
        }
        most = most.max(s.server.pending_output_len());
        let mut out = Vec::new();
        s.server.transmit_into(&mut out);
        replies += out.windows(15).filter(|w| w == b"250-mx.example.").count();
        rounds += 1;
        if !s.server.is_paused_for_output() {
            break;
        }
    }
    assert_eq!(replies, n);
    // About 1.1 MB of replies, 64 KiB at a time.
    assert!(rounds >= 17, "{rounds} rounds");
    // The mark, plus the one EHLO reply that crossed it.
    assert!((64 * 1024..64 * 1024 + 1024).contains(&most), "{most}");
    assert_eq!(s.server.buffered_len(), 0);
    assert!(!s.server.is_closed());
}

/// A mark below 512 octets counts as 512, as the other buffer limits do: `0` does not
/// stop the session at its first reply.
#[test]
fn output_mark_below_a_command_line_counts_as_one() {
    let mut c = config();
    c.limits.max_output_buffer = 0;
    let mut s = Session::new(c);
    s.take_text();
    s.server.receive(s.now, &b"NOOP\r\n".repeat(100));
    s.drain_events_only();
    assert!(s.server.is_paused_for_output());
    // 512 octets of replies are 37 NOOP replies: the 37th reaches the mark.
    assert_eq!(s.server.pending_output_len(), 37 * 14);
    s.drain();
    assert_eq!(s.take_text(), "250 2.0.0 OK\r\n".repeat(100));
    assert!(!s.server.is_paused_for_output());
}

/// Replies that each end a transmit (NOOP's, RFC 2920 section 3.1), piled up by a client
/// that pipelines while the caller drains the events before it writes: handing them out
/// one transmit at a time takes time in proportion to their number (each transmit moved
/// every later end mark: 10,000 NOOPs, the default command limit, took 28 ms in release,
/// 40,000 took 0.5 s). The limits are raised to pile up 400,000; the guard is generous.
#[test]
fn many_pending_transmits_are_handed_out_in_linear_time() {
    let n = 400_000;
    let mut c = config();
    c.limits.max_commands = 1_000_000;
    c.limits.max_input_buffer = 4 * MIB;
    // Without the output mark, which would have them handed out 64 KiB at a time.
    c.limits.max_output_buffer = usize::MAX;
    let mut s = Session::new(c);
    s.feed(EHLO);
    s.take_text();
    s.server.receive(s.now, &b"NOOP\r\n".repeat(n));
    s.drain_events_only();
    let started = Instant::now();
    let mut transmits = 0usize;
    while let Some(t) = s.server.poll_transmit() {
        assert_eq!(&t[..], b"250 2.0.0 OK\r\n");
        transmits += 1;
    }
    let waited = started.elapsed();
    assert_eq!(transmits, n);
    assert!(
        waited < std::time::Duration::from_secs(20),
        "{n} transmits took {waited:?}"
    );
}

/// Command 10,001 of a session gets `421 4.7.0` and the session closes; the rest of the
/// pipeline is never processed.
#[test]
fn command_limit_closes_the_session() {
    let mut input = Vec::from(EHLO);
    for _ in 0..10_005 {
        input.extend_from_slice(b"NOOP\r\n");
    }
    let mut s = Session::new(config());
    s.take_text();
    s.feed(&input);
    let text = s.take_text();
    let lines: Vec<&str> = text.split_inclusive("\r\n").collect();
    assert_eq!(lines.len(), 8 + 9_999 + 1);
    assert_eq!(
        lines.last(),
        Some(&"421 4.7.0 Too many commands, closing connection\r\n")
    );
    assert!(s.server.is_closed());
}

fn rcpt_line(i: usize) -> Vec<u8> {
    format!("RCPT TO:<user{i}@example.test>\r\n").into_bytes()
}

/// 100,000 RCPTs in one transaction (command limit raised so the recipient limit is the
/// one exercised): exactly `max_recipients` accepted, every other one `452 4.5.3`, the
/// machine's memory does not grow with the count, and the message still goes through.
#[test]
fn hundred_thousand_recipients() {
    let mut c = config();
    c.limits.max_commands = 1_000_000;
    let mut s = Session::new(c);
    s.feed(EHLO);
    s.feed(b"MAIL FROM:<a@example.test>\r\n");
    s.take_text();
    s.keep_output = false;
    let mut accepted = 0usize;
    let mut refused = 0usize;
    let mut pending = Vec::new();
    let base = mark();
    for i in 0..100_000 {
        pending.extend_from_slice(&rcpt_line(i));
        if pending.len() > 60_000 || i == 99_999 {
            s.server.receive(s.now, &pending);
            pending.clear();
            s.drain_counting(&mut accepted, &mut refused);
        }
    }
    let peak = peak_since(base);
    assert_eq!(accepted, 100);
    assert_eq!(refused, 99_900);
    assert_eq!(s.rcpts, 100);
    assert_eq!(s.server.recipients(), 100);
    assert!(peak <= 512 * 1024, "peak {peak}");
    s.keep_output = true;
    s.feed(b"DATA\r\nx\r\n.\r\n");
    assert_eq!(
        s.take_text(),
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 Message accepted\r\n"
    );
}

impl Session {
    /// Drains like [`Session::drain`] and counts `250 2.1.5` / `452 4.5.3` reply lines.
    fn drain_counting(&mut self, ok: &mut usize, full: &mut usize) {
        self.drain_events_only();
        while let Some(t) = self.server.poll_transmit() {
            for line in t.split_inclusive(|&b| b == b'\n') {
                if line.starts_with(b"250 2.1.5 ") {
                    *ok += 1;
                } else if line.starts_with(b"452 4.5.3 ") {
                    *full += 1;
                } else {
                    panic!("unexpected {:?}", String::from_utf8_lossy(line));
                }
            }
        }
    }

    fn drain_events_only(&mut self) {
        let keep = self.keep_output;
        self.keep_output = false;
        while let Some(e) = self.server.poll_event() {
            if let Event::RcptTo { .. } = e {
                self.rcpts += 1;
            }
            if e.needs_decision() {
                let d = (self.decide)(&e);
                self.server.decide(d);
            }
        }
        self.keep_output = keep;
    }
}

/// With the default limits, the same flood of RCPTs is cut off by the command limit
/// (`421 4.7.0` after 10,000 commands).
#[test]
fn recipient_flood_hits_the_command_limit() {
    let mut s = Session::new(config());
    s.keep_output = false;
    s.feed(EHLO);
    s.feed(b"MAIL FROM:<a@example.test>\r\n");
    let mut batch = Vec::new();
    let mut sent = 2usize;
    while !s.server.is_closed() && sent < 100_000 {
        batch.clear();
        for _ in 0..1000 {
            batch.extend_from_slice(&rcpt_line(sent));
            sent += 1;
        }
        s.keep_output = true;
        s.feed(&batch);
        s.keep_output = false;
        let t = s.text();
        if t.contains("421 ") {
            break;
        }
        s.out.clear();
    }
    assert!(s.server.is_closed());
    assert!(s
        .text()
        .ends_with("421 4.7.0 Too many commands, closing connection\r\n"));
    assert_eq!(s.rcpts, 100);
}

/// 1,000 transactions in one session (the default `max_transactions`) all go through with
/// exact replies; memory after the last is what it was after the first; the 1,001st MAIL
/// gets `421 4.7.0` and the session closes.
#[test]
fn thousand_transactions() {
    let mut s = Session::new(config());
    s.keep_message = true;
    s.feed(EHLO);
    s.take_text();
    let txn = b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n\
                Subject: x\r\n\r\nbody\r\n.\r\n";
    let expected = "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
                    354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 Message accepted\r\n";
    let mut after_first = 0;
    for i in 0..1000 {
        s.feed(txn);
        assert_eq!(s.take_text(), expected, "transaction {i}");
        assert_eq!(s.message, b"Subject: x\r\n\r\nbody\r\n");
        s.message = Vec::new();
        if i == 0 {
            after_first = live();
        }
    }
    let growth = live() - after_first;
    assert!(
        growth <= 4096,
        "live memory grew by {growth} octets over 1,000 transactions"
    );
    assert_eq!((s.mails, s.ends), (1000, 1000));
    assert_eq!(s.server.transactions(), 1000);
    s.feed(txn);
    let text = s.take_text();
    assert!(text.starts_with("421 4.7.0 "), "{text}");
    assert!(s.server.is_closed());
    assert_eq!(s.mails, 1000);
}

/// A server that never ends its multi-line reply: the client closes once the reply has
/// more than `max_reply_lines` lines, holding little.
#[test]
fn client_flood_of_continuation_lines() {
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::new("client.example.test"), now);
    let piece = "220-mx.example.test still greeting\r\n".repeat(1500);
    let base = mark();
    for _ in 0..(flood_size() / piece.len()).max(1) {
        c.receive(piece.as_bytes());
        if c.is_closed() {
            break;
        }
    }
    assert!(c.is_closed());
    assert!(peak_since(base) <= 256 * 1024, "peak {}", peak_since(base));
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        matches!(
            events.last(),
            Some(ClientEvent::Closed(CloseReason::Protocol(
                ProtocolError::Malformed(_)
            )))
        ),
        "{events:?}"
    );
}

/// A million empty lines: each is a protocol error; the tenth closes the session with
/// `421 4.7.0` and the rest is never looked at.
#[test]
fn empty_line_flood_closes_after_max_errors() {
    let mut s = Session::new(config());
    s.take_text();
    let lines = b"\r\n".repeat(32 * 1024);
    let base = mark();
    for _ in 0..32 {
        s.feed(&lines);
    }
    assert!(peak_since(base) <= 256 * 1024);
    let text = s.take_text();
    assert_eq!(text.matches("\r\n").count(), 11, "{text}");
    assert!(text.starts_with("500 5.5.2 "), "{text}");
    assert!(
        text.ends_with("421 4.7.0 Too many errors, closing connection\r\n"),
        "{text}"
    );
    assert!(s.server.is_closed());
}

/// `BDAT` with the largest declared size (RFC 3030: the chunk follows at once, whatever
/// the reply): nothing is allocated in proportion to the declared size, the octets are
/// consumed as the chunk (never read as commands), refused as too large against the
/// configured limit, and with no limit (`max_message_size = 0`) streamed to the caller.
#[test]
fn bdat_with_a_huge_declared_size() {
    for limit in [MIB as u64, 0] {
        let mut c = config();
        c.limits.max_message_size = limit;
        let mut s = Session::new(c);
        s.feed(EHLO);
        s.feed(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
        s.take_text();
        let base = mark();
        s.feed(b"BDAT 18446744073709551615 LAST\r\n");
        s.feed(b"QUIT\r\nRSET\r\n");
        s.flood(flood_size());
        let peak = peak_since(base);
        assert!(peak <= 256 * 1024, "peak {peak}");
        // Still inside the chunk: no reply, the QUIT inside it was content.
        assert_eq!(s.take_text(), "");
        assert!(!s.server.is_closed());
        let expected = if limit == 0 {
            flood_size() as u64 + 12
        } else {
            0
        };
        assert_eq!(s.message_octets, expected);
        assert_eq!((s.ends, s.aborted), (0, 0));
    }
}

/// The most BDAT chunks the default limits allow in one read of 256 KiB (the default
/// input cap): nearly 10,000 one-octet chunks (the default `max_commands`), then a last
/// chunk that fills the read. Each chunk is delivered, and the session allocates in
/// proportion to the read, not to the chunks times the input behind each: ending a chunk
/// used to copy all the input that followed it back into the command buffer (about
/// 1.7 GB of copying for this read, 48 ms in release; 2,500 chunks took 16 ms).
#[test]
fn many_small_bdat_chunks_in_one_read_are_not_copied() {
    let mut s = Session::new(config());
    s.feed(EHLO);
    s.feed(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    s.take_text();
    let chunks = 9_990;
    let mut input = b"BDAT 1\r\nx".repeat(chunks);
    let fill = 256 * 1024 - input.len() - 100;
    input.extend_from_slice(format!("BDAT {fill} LAST\r\n").as_bytes());
    input.resize(input.len() + fill, b'y');
    assert!(input.len() <= s.server.input_room());
    let before = allocated();
    s.feed(&input);
    let copied = allocated() - before;
    assert_eq!(s.message_octets, (chunks + fill) as u64);
    assert_eq!(s.ends, 1);
    let text = s.take_text();
    assert_eq!(
        text.matches("250 2.0.0 1 octets received\r\n").count(),
        chunks
    );
    assert!(text.ends_with("250 2.0.0 Message accepted\r\n"), "{text}");
    // The read, the replies (30 octets each) and small per-chunk allocations (the event's
    // reply text, the shared buffer's header): 1.9 MB measured, against 2.2 GB before.
    assert!(copied <= 4 * MIB, "allocated {copied} octets");
}
