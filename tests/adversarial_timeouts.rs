//! Timeouts (RFC 5321 4.5.3.2) driven with synthetic `Instant`s: a peer that stops
//! sending mid-command, mid-DATA, mid-BDAT chunk, mid-XEXCH50 blob or mid-SASL exchange
//! (slowloris) gets `421 4.4.2` exactly at the configured deadline and not a nanosecond
//! before; the client machine's reply timers likewise close the session.

use ehlo::client::{
    Client, ClientConfig, CloseReason, Envelope, Event as CEvent, TimeoutKind, TlsPolicy,
};
use ehlo::server::{Decision, Event, Mechanism, Server, ServerConfig};
use std::time::{Duration, Instant};

const TIMEOUT_421: &str = "421 4.4.2 Timeout exceeded, closing connection\r\n";
const NS: Duration = Duration::from_nanos(1);

struct S {
    server: Server,
    t0: Instant,
    events: Vec<Event>,
    decide: fn(&Event) -> Decision,
}

impl S {
    fn new(config: ServerConfig) -> S {
        let t0 = Instant::now();
        let mut s = S {
            server: Server::new(config, t0),
            t0,
            events: Vec::new(),
            decide: |_| Decision::Accept,
        };
        s.drain();
        s
    }

    fn drain(&mut self) -> String {
        while let Some(e) = self.server.poll_event() {
            if e.needs_decision() {
                let d = (self.decide)(&e);
                self.server.decide(d);
            }
            self.events.push(e);
        }
        let mut out = Vec::new();
        while let Some(t) = self.server.poll_transmit() {
            out.extend_from_slice(&t);
        }
        String::from_utf8(out).expect("ASCII")
    }

    /// Client bytes arrive at `t0 + at`.
    fn send_at(&mut self, at: Duration, bytes: &[u8]) -> String {
        self.server.receive(self.t0 + at, bytes);
        self.drain()
    }

    /// Checks the session times out exactly at `deadline`: nothing at `deadline - 1 ns`,
    /// `421 4.4.2` and closed at `deadline`, and nothing after.
    #[track_caller]
    fn expires_at(&mut self, deadline: Instant) {
        assert_eq!(self.server.poll_timeout(), Some(deadline));
        self.server.handle_timeout(deadline - NS);
        assert_eq!(self.drain(), "");
        assert!(!self.server.is_closed());
        self.server.handle_timeout(deadline);
        assert_eq!(self.drain(), TIMEOUT_421);
        assert!(self.server.is_closed());
        assert_eq!(self.server.poll_timeout(), None);
        // Late bytes change nothing.
        self.server.receive(deadline + NS, b"QUIT\r\n");
        assert_eq!(self.drain(), "");
    }

    fn has(&self, pred: fn(&Event) -> bool) -> bool {
        self.events.iter().any(pred)
    }
}

fn config() -> ServerConfig {
    let mut c = ServerConfig::new("mx.example.test");
    c.exchange.xexch50 = true;
    c.auth.mechanisms = vec![Mechanism::new("NTLM")];
    c
}

const EHLO: &[u8] = b"EHLO client.example.test\r\n";
const TXN: &[u8] = b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n";
const SEC: Duration = Duration::from_secs(1);

#[test]
fn silent_client_after_greeting() {
    let mut s = S::new(config());
    let deadline = s.t0 + Duration::from_secs(300);
    s.expires_at(deadline);
}

#[test]
fn stops_mid_command() {
    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    assert_eq!(s.send_at(10 * SEC, b"MAIL FROM:<a@exa"), "");
    let deadline = s.t0 + 10 * SEC + Duration::from_secs(300);
    s.expires_at(deadline);
    assert!(!s.has(|e| matches!(e, Event::MailFrom { .. })));
}

#[test]
fn stops_mid_data() {
    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, TXN);
    s.send_at(3 * SEC, b"DATA\r\n");
    s.send_at(4 * SEC, b"Subject: slow\r\n\r\nsome content\r\n.");
    // RFC 5321 4.5.3.2.5: the data block timeout (3 minutes by default).
    let deadline = s.t0 + 4 * SEC + Duration::from_secs(180);
    s.expires_at(deadline);
    assert!(!s.has(|e| matches!(e, Event::MessageEnd { .. })));
}

#[test]
fn stops_mid_bdat_chunk() {
    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, TXN);
    s.send_at(3 * SEC, b"BDAT 100 LAST\r\n0123456789");
    let deadline = s.t0 + 3 * SEC + Duration::from_secs(180);
    s.expires_at(deadline);
    assert!(!s.has(|e| matches!(e, Event::MessageEnd { .. })));
}

#[test]
fn stops_mid_xexch50_blob() {
    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, TXN);
    assert_eq!(
        s.send_at(3 * SEC, b"XEXCH50 64 2\r\nabc"),
        "354 Send binary data\r\n"
    );
    let deadline = s.t0 + 3 * SEC + Duration::from_secs(180);
    s.expires_at(deadline);
    assert!(!s.has(|e| matches!(e, Event::XExch50End)));
}

#[test]
fn stops_mid_sasl_exchange() {
    let mut s = S::new(config());
    s.decide = |e| match e {
        Event::AuthStart { .. } => Decision::AuthChallengeText("ntlm supported".into()),
        _ => Decision::Accept,
    };
    s.send_at(SEC, EHLO);
    assert_eq!(
        s.send_at(2 * SEC, b"AUTH NTLM\r\n"),
        "334 ntlm supported\r\n"
    );
    s.send_at(5 * SEC, b"TlRMTVNT");
    let deadline = s.t0 + 5 * SEC + Duration::from_secs(300);
    s.expires_at(deadline);
}

/// The configured values, not built-in constants, set the deadlines.
#[test]
fn configured_deadlines() {
    let mut c = config();
    c.timeouts.command = Duration::from_secs(7);
    c.timeouts.data_block = Duration::from_secs(11);
    let mut s = S::new(c.clone());
    s.send_at(SEC, b"EHLO cli");
    s.expires_at(s.t0 + 8 * SEC);

    let mut s = S::new(c);
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, TXN);
    s.send_at(3 * SEC, b"DATA\r\nabc");
    s.expires_at(s.t0 + 14 * SEC);
}

/// A caller that never decides is bounded too: the pending decision times out with the
/// command timeout (the data-initiation timeout before `354`).
#[test]
fn undecided_events_time_out() {
    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    s.server
        .receive(s.t0 + 2 * SEC, b"MAIL FROM:<a@example.test>\r\n");
    assert!(matches!(
        s.server.poll_event(),
        Some(Event::MailFrom { .. })
    ));
    assert!(s.server.is_decision_pending());
    let deadline = s.t0 + 2 * SEC + Duration::from_secs(300);
    assert_eq!(s.server.poll_timeout(), Some(deadline));
    s.server.handle_timeout(deadline);
    assert_eq!(s.drain(), TIMEOUT_421);
    assert!(s.server.is_closed());

    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, TXN);
    s.server.receive(s.t0 + 3 * SEC, b"DATA\r\n");
    assert_eq!(s.server.poll_event(), Some(Event::DataStart));
    let deadline = s.t0 + 3 * SEC + Duration::from_secs(120);
    assert_eq!(s.server.poll_timeout(), Some(deadline));
    s.server.handle_timeout(deadline);
    assert_eq!(s.drain(), TIMEOUT_421);
}

/// A trickling client does not reset the wait for its command with every byte: RFC 5321
/// 4.5.3.2.7 times the wait for the next command, and a part of a line is no command. The
/// wait counts from the first octet of the incomplete line, so a byte every minute ends in
/// `421 4.4.2` five minutes after the line began, having held no more than that line.
/// Complete commands restart it as before, and so does every read of message content
/// (4.5.3.2.5, below).
#[test]
fn trickling_client_gets_one_command_timeout_per_line() {
    let mut s = S::new(ServerConfig::new("mx.example.test"));
    s.send_at(SEC, EHLO);
    // Complete commands, each within the wait of the one before, keep the session.
    for k in 1..=3 {
        assert_eq!(s.send_at(k * 290 * SEC, b"NOOP\r\n"), "250 2.0.0 OK\r\n");
    }
    let start = 3 * 290 * SEC + 10 * SEC;
    let mut out = String::new();
    for k in 0..10u32 {
        let at = start + k * 60 * SEC;
        s.server.handle_timeout(s.t0 + at);
        out.push_str(&s.send_at(at, b"x"));
    }
    assert_eq!(out, TIMEOUT_421);
    assert!(s.server.is_closed());

    // The deadline is the line's start plus the command timeout, whatever came after.
    let mut s = S::new(ServerConfig::new("mx.example.test"));
    s.send_at(SEC, EHLO);
    s.send_at(10 * SEC, b"NO");
    s.send_at(200 * SEC, b"O");
    assert_eq!(
        s.server.poll_timeout(),
        Some(s.t0 + 10 * SEC + Duration::from_secs(300))
    );
    // Its end makes it a command, and the wait starts again.
    assert_eq!(s.send_at(250 * SEC, b"P\r\n"), "250 2.0.0 OK\r\n");
    assert_eq!(
        s.server.poll_timeout(),
        Some(s.t0 + 250 * SEC + Duration::from_secs(300))
    );
}

/// An over-long line trickled in is answered `500 5.5.2` once it passes the limit, and
/// skipping the rest of it does not restart the wait either.
#[test]
fn trickling_an_over_long_line_ends_at_the_lines_deadline() {
    let mut s = S::new(ServerConfig::new("mx.example.test"));
    s.send_at(SEC, EHLO);
    let start = 2 * SEC;
    let mut out = s.send_at(start, &[b'x'; 600]);
    assert_eq!(out, "500 5.5.2 Line too long\r\n");
    for k in 1..10u32 {
        let at = start + k * 40 * SEC;
        s.server.handle_timeout(s.t0 + at);
        out.push_str(&s.send_at(at, b"y"));
    }
    assert_eq!(out, format!("500 5.5.2 Line too long\r\n{TIMEOUT_421}"));
    assert!(s.server.buffered_len() <= 512);
}

/// Time given out of order (an `Instant` taken before the previous one, say on another
/// thread) is no time passed: input never moves the deadline earlier than the last
/// activity already seen set it (RFC 5321 4.5.3.2.7 times the wait from the client's last
/// activity, the latest one).
#[test]
fn an_earlier_instant_never_shortens_the_wait() {
    let mut s = S::new(config());
    s.send_at(100 * SEC, EHLO);
    let deadline = s.t0 + 100 * SEC + Duration::from_secs(300);
    assert_eq!(s.server.poll_timeout(), Some(deadline));
    assert_eq!(s.send_at(50 * SEC, b"NOOP\r\n"), "250 2.0.0 OK\r\n");
    s.expires_at(deadline);
}

/// Between an accepted STARTTLS and `tls_established` the machine discards what it is fed
/// (RFC 3207 4.2). Discarded bytes are not activity: a peer that trickles plaintext instead
/// of completing the handshake still ends at the deadline set by the STARTTLS.
#[test]
fn bytes_discarded_during_the_tls_handshake_do_not_restart_the_timer() {
    let mut c = config();
    c.extensions.starttls = true;
    let mut s = S::new(c);
    s.send_at(SEC, EHLO);
    assert_eq!(
        s.send_at(2 * SEC, b"STARTTLS\r\n"),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    let deadline = s.t0 + 2 * SEC + Duration::from_secs(300);
    for at in [100, 200, 299] {
        assert_eq!(s.send_at(at * SEC, b"N"), "");
        assert_eq!(s.server.poll_timeout(), Some(deadline));
    }
    s.server.handle_timeout(deadline);
    // No plaintext 421 inside what is by then a TLS stream.
    assert_eq!(s.drain(), "");
    assert!(s.server.is_closed());
}

#[test]
fn the_wait_for_ehlo_after_starttls_starts_when_the_handshake_ends() {
    let mut c = config();
    c.extensions.starttls = true;
    let mut s = S::new(c);
    s.send_at(SEC, EHLO);
    assert_eq!(
        s.send_at(2 * SEC, b"STARTTLS\r\n"),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    // A handshake of 200 s: the client still has the full 5 minutes for its EHLO.
    s.server.tls_established_at(s.t0 + 202 * SEC).unwrap();
    let deadline = s.t0 + 202 * SEC + Duration::from_secs(300);
    assert_eq!(s.server.poll_timeout(), Some(deadline));
    s.server.handle_timeout(deadline - SEC);
    assert!(!s.server.is_closed());
    assert!(s.send_at(400 * SEC, EHLO).starts_with("250-"));
    // An Instant from before the last activity moves nothing.
    let mut c = config();
    c.extensions.starttls = true;
    let mut s = S::new(c);
    s.send_at(SEC, EHLO);
    s.send_at(100 * SEC, b"STARTTLS\r\n");
    s.server.tls_established_at(s.t0 + 50 * SEC).unwrap();
    assert_eq!(
        s.server.poll_timeout(),
        Some(s.t0 + 100 * SEC + Duration::from_secs(300))
    );
    // Plain tls_established keeps counting from the STARTTLS.
    let mut c = config();
    c.extensions.starttls = true;
    let mut s = S::new(c);
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, b"STARTTLS\r\n");
    s.server.tls_established().unwrap();
    assert_eq!(
        s.server.poll_timeout(),
        Some(s.t0 + 2 * SEC + Duration::from_secs(300))
    );
}

// ---- client side ----

fn env() -> Envelope {
    Envelope::new("a@example.test")
        .and_then(|e| e.recipient("b@example.test"))
        .expect("envelope")
}

struct C {
    c: Client,
    t0: Instant,
}

impl C {
    fn new(f: impl FnOnce(&mut ClientConfig)) -> C {
        let mut config = ClientConfig::new("client.example.test");
        config.tls = TlsPolicy::Never;
        f(&mut config);
        let t0 = Instant::now();
        let mut c = Client::new(config, t0);
        c.send(env(), "Subject: x\r\n\r\nbody\r\n").expect("queued");
        C { c, t0 }
    }

    fn transmit_at(&mut self, at: Duration) -> String {
        let mut out = String::new();
        while let Some(b) = self.c.poll_transmit(self.t0 + at) {
            out.push_str(&String::from_utf8_lossy(&b));
        }
        out
    }

    /// Closes with `kind` exactly at `deadline`.
    #[track_caller]
    fn expires_at(&mut self, deadline: Instant, kind: TimeoutKind) {
        assert_eq!(self.c.poll_timeout(), Some(deadline));
        self.c.handle_timeout(deadline - NS);
        assert!(!self.c.is_closed());
        self.c.handle_timeout(deadline);
        assert!(self.c.is_closed());
        let evs: Vec<CEvent> = std::iter::from_fn(|| self.c.poll_event()).collect();
        assert!(
            matches!(evs.last(), Some(CEvent::Closed(CloseReason::Timeout(k))) if *k == kind),
            "{evs:?}"
        );
        assert!(evs
            .iter()
            .any(|e| matches!(e, CEvent::MessageResult { result: Err(_), .. })));
        assert!(self.c.poll_transmit(deadline).is_none());
        assert_eq!(self.c.poll_timeout(), None);
    }
}

const MIN: Duration = Duration::from_secs(60);

#[test]
fn client_greeting_never_completes() {
    let mut c = C::new(|_| {});
    c.c.receive(b"220 mx.example.te");
    c.expires_at(c.t0 + 5 * MIN, TimeoutKind::Greeting);
}

#[test]
fn client_ehlo_reply_never_completes() {
    let mut c = C::new(|_| {});
    c.c.receive(b"220 mx.example.test ESMTP\r\n");
    assert_eq!(c.transmit_at(SEC), "EHLO client.example.test\r\n");
    c.c.receive(b"250-mx.example.test\r\n250-SIZE");
    c.expires_at(c.t0 + SEC + 5 * MIN, TimeoutKind::Command);
}

fn ready(c: &mut C) {
    c.c.receive(b"220 mx.example.test ESMTP\r\n");
    c.transmit_at(SEC);
    c.c.receive(b"250-mx.example.test\r\n250 8BITMIME\r\n");
}

#[test]
fn client_mail_rcpt_data_timeouts() {
    // MAIL (4.5.3.2.2), configured shorter.
    let mut c = C::new(|c| c.timeouts.mail = Duration::from_secs(7));
    ready(&mut c);
    assert_eq!(c.transmit_at(2 * SEC), "MAIL FROM:<a@example.test>\r\n");
    c.expires_at(c.t0 + 9 * SEC, TimeoutKind::Mail);

    // RCPT (4.5.3.2.3).
    let mut c = C::new(|_| {});
    ready(&mut c);
    c.transmit_at(2 * SEC);
    c.c.receive(b"250 2.1.0 OK\r\n");
    assert_eq!(c.transmit_at(3 * SEC), "RCPT TO:<b@example.test>\r\n");
    c.c.receive(b"250 2.1.5 O");
    c.expires_at(c.t0 + 3 * SEC + 5 * MIN, TimeoutKind::Rcpt);

    // DATA initiation (4.5.3.2.4): 2 minutes.
    let mut c = C::new(|_| {});
    ready(&mut c);
    c.transmit_at(2 * SEC);
    c.c.receive(b"250 2.1.0 OK\r\n");
    c.transmit_at(3 * SEC);
    c.c.receive(b"250 2.1.5 OK\r\n");
    assert_eq!(c.transmit_at(4 * SEC), "DATA\r\n");
    c.expires_at(c.t0 + 4 * SEC + 2 * MIN, TimeoutKind::DataInitiation);

    // Data termination (4.5.3.2.6): 10 minutes after the end of data.
    let mut c = C::new(|_| {});
    ready(&mut c);
    c.transmit_at(2 * SEC);
    c.c.receive(b"250 2.1.0 OK\r\n");
    c.transmit_at(3 * SEC);
    c.c.receive(b"250 2.1.5 OK\r\n");
    c.transmit_at(4 * SEC);
    c.c.receive(b"354 go ahead\r\n");
    assert_eq!(c.transmit_at(5 * SEC), "Subject: x\r\n\r\nbody\r\n.\r\n");
    c.c.receive(b"250 2.0.0 que");
    c.expires_at(c.t0 + 5 * SEC + 10 * MIN, TimeoutKind::DataTermination);
}

/// Time given out of order is no time passed: once the client was told it is `t0 + 100 s`,
/// a command handed out at an earlier `Instant` left no earlier than that, and its reply
/// timer (RFC 5321 4.5.3.2) starts there, not at the stale time.
#[test]
fn client_earlier_instant_never_shortens_the_wait() {
    let mut c = C::new(|_| {});
    c.c.receive(b"220 mx.example.test ESMTP\r\n");
    assert_eq!(c.transmit_at(100 * SEC), "EHLO client.example.test\r\n");
    c.c.receive(b"250-mx.example.test\r\n250 8BITMIME\r\n");
    assert_eq!(c.transmit_at(50 * SEC), "MAIL FROM:<a@example.test>\r\n");
    c.c.handle_timeout(c.t0 + 40 * SEC);
    c.expires_at(c.t0 + 100 * SEC + 5 * MIN, TimeoutKind::Mail);
}

/// `Client::receive_at`: a reply's arrival time starts the next reply's timer at once
/// (RFC 5321 4.5.3.2), so `poll_timeout` is a real deadline right after the read; with
/// `receive` it is the last time the client was given (past) until the next call that
/// gives it the time. Both reach the same deadline once the time is given.
#[test]
fn client_receive_at_starts_the_next_timer_at_the_arrival() {
    use ehlo::client::{Client, ClientConfig, Envelope, TlsPolicy};
    use std::time::{Duration, Instant};
    let t0 = Instant::now();
    let sec = Duration::from_secs(1);
    let start = |t: Instant| {
        let mut config = ClientConfig::new("client.example.test");
        config.tls = TlsPolicy::Never;
        let mut c = Client::new(config, t);
        let env = Envelope::new("a@example.test")
            .unwrap()
            .recipient("b@example.test")
            .unwrap();
        c.send(env, "Subject: x\r\n\r\nx\r\n").unwrap();
        c
    };
    let greeting = b"220 mx.example.test ESMTP\r\n";
    let ehlo = b"250-mx.example.test\r\n250 PIPELINING\r\n";
    for with_time in [true, false] {
        let mut c = start(t0);
        let feed = |c: &mut Client, t: Instant, bytes: &[u8]| {
            if with_time {
                c.receive_at(t, bytes);
            } else {
                c.receive(bytes);
            }
        };
        feed(&mut c, t0 + sec, greeting);
        assert!(c.poll_transmit(t0 + sec).is_some()); // EHLO
        feed(&mut c, t0 + 3 * sec, ehlo);
        // MAIL and RCPT go out at 4 s; MAIL's reply arrives at 10 s.
        assert!(c.poll_transmit(t0 + 4 * sec).is_some());
        feed(&mut c, t0 + 10 * sec, b"250 2.1.0 OK\r\n");
        if !with_time {
            // No time given since the reply: "ask me now" (a past instant).
            assert_eq!(c.poll_timeout(), Some(t0 + 4 * sec));
            c.handle_timeout(t0 + 10 * sec);
        }
        // RCPT's reply is awaited from MAIL's arrival on: five minutes (4.5.3.2.3).
        assert_eq!(
            c.poll_timeout(),
            Some(t0 + 310 * sec),
            "with_time {with_time}"
        );
    }
}

/// An empty read is no input: `receive` with no bytes (a driver that hands over whatever a
/// read produced, say a TLS record that decrypted to nothing) is not client activity and
/// does not restart the wait of RFC 5321 4.5.3.2.7.
#[test]
fn an_empty_read_does_not_restart_the_timer() {
    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    let deadline = s.t0 + SEC + Duration::from_secs(300);
    for at in [100, 200, 299] {
        assert_eq!(s.send_at(at * SEC, b""), "");
        assert_eq!(s.server.poll_timeout(), Some(deadline));
    }
    s.expires_at(deadline);
    // Nor in the middle of DATA content (the data block timer, 4.5.3.2.5).
    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, TXN);
    s.send_at(3 * SEC, b"DATA\r\nabc");
    assert_eq!(s.send_at(100 * SEC, b""), "");
    s.expires_at(s.t0 + 3 * SEC + Duration::from_secs(180));
}

/// The wait for the caller's verdict on a message (RFC 5321 4.5.3.2.6, 10 minutes by
/// default) counts from the end of the data, whatever the client sends meanwhile; when it
/// expires the client gets `421 4.4.2`, and a verdict given afterwards is dropped
/// (`NotPending`): the client was told the message failed.
#[test]
fn an_undecided_message_times_out_and_a_late_verdict_is_dropped() {
    use ehlo::server::DecisionError;
    let mut s = S::new(config());
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, TXN);
    s.send_at(3 * SEC, b"DATA\r\n");
    s.server.receive(s.t0 + 4 * SEC, b"hi\r\n.\r\n");
    loop {
        match s.server.poll_event() {
            Some(Event::MessageEnd { .. }) => break,
            Some(e) if e.needs_decision() => s.server.accept(),
            Some(_) => {}
            None => panic!("no MessageEnd"),
        }
    }
    let deadline = s.t0 + 4 * SEC + Duration::from_secs(600);
    s.server.receive(s.t0 + 300 * SEC, b"NOOP\r\n");
    s.expires_at(deadline);
    assert_eq!(
        s.server.try_decide(Decision::Accept),
        Err(DecisionError::NotPending)
    );
    assert_eq!(s.drain(), "");
}

/// A timeout too large to add to an `Instant` is no deadline: no panic, no overflow, and
/// `poll_timeout` says `None` rather than a wrapped instant, on both machines.
#[test]
fn timeouts_beyond_the_instant_range_never_fire() {
    let mut c = config();
    c.timeouts.command = Duration::MAX;
    c.timeouts.data_block = Duration::MAX;
    let mut s = S::new(c);
    assert_eq!(s.server.poll_timeout(), None);
    s.send_at(SEC, EHLO);
    s.send_at(2 * SEC, TXN);
    s.send_at(3 * SEC, b"DATA\r\nabc");
    assert_eq!(s.server.poll_timeout(), None);
    s.server.handle_timeout(s.t0 + Duration::from_secs(1 << 40));
    assert!(!s.server.is_closed());

    let mut c = C::new(|c| {
        c.timeouts.greeting = Duration::MAX;
        c.timeouts.other = Duration::MAX;
    });
    assert_eq!(c.c.poll_timeout(), None);
    c.c.handle_timeout(c.t0 + Duration::from_secs(1 << 40));
    assert!(!c.c.is_closed());
    c.c.receive(b"220 mx.example.test ESMTP\r\n");
    c.transmit_at(SEC);
    c.c.handle_timeout(c.t0 + 2 * SEC);
    assert_eq!(c.c.poll_timeout(), None);
}

/// The same instant given again, or an earlier one, never leaves a deadline at or before
/// the latest time given once `handle_timeout` has run (a caller that sleeps until
/// `poll_timeout` would spin), and fires nothing early.
#[test]
fn repeated_or_earlier_instants_leave_a_future_deadline() {
    let mut s = S::new(config());
    s.send_at(10 * SEC, EHLO);
    for at in [10, 10, 5, 0, 10] {
        s.server.handle_timeout(s.t0 + at * SEC);
        assert!(!s.server.is_closed());
        assert_eq!(
            s.server.poll_timeout(),
            Some(s.t0 + 10 * SEC + Duration::from_secs(300))
        );
    }

    let mut c = C::new(|_| {});
    c.c.receive(b"220 mx.example.test ESMTP\r\n");
    assert_eq!(c.transmit_at(20 * SEC), "EHLO client.example.test\r\n");
    for at in [20, 20, 3, 0, 20] {
        c.c.handle_timeout(c.t0 + at * SEC);
        assert!(!c.c.is_closed());
        let deadline = c.c.poll_timeout().expect("EHLO's reply is awaited");
        assert_eq!(deadline, c.t0 + 20 * SEC + 5 * MIN);
    }
    // A reply read without a time, with the next command already out (PIPELINING): the
    // next instant given, even an earlier one, starts the next timer at the latest time
    // known, and the deadline is in the future again.
    c.c.receive(b"250-mx.example.test\r\n250 PIPELINING\r\n");
    assert_eq!(
        c.transmit_at(30 * SEC),
        "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"
    );
    c.c.receive(b"250 2.1.0 OK\r\n");
    assert_eq!(c.c.poll_timeout(), Some(c.t0 + 30 * SEC));
    c.c.handle_timeout(c.t0 + 25 * SEC);
    assert!(!c.c.is_closed());
    assert_eq!(c.c.poll_timeout(), Some(c.t0 + 30 * SEC + 5 * MIN));
}

/// Once a reply timer fired the session is over: a reply arriving afterwards is not
/// read, and every message queued, sent or not, fails with the timeout as the reason.
#[test]
fn client_reply_after_its_timer_fired_is_ignored() {
    use ehlo::client::MessageError;
    let mut c = C::new(|_| {});
    c.c.send(env(), "second\r\n").expect("queued");
    ready(&mut c);
    assert_eq!(c.transmit_at(2 * SEC), "MAIL FROM:<a@example.test>\r\n");
    c.c.handle_timeout(c.t0 + 2 * SEC + 5 * MIN);
    assert!(c.c.is_closed());
    c.c.receive_at(c.t0 + 2 * SEC + 5 * MIN, b"250 2.1.0 OK\r\n");
    let evs: Vec<CEvent> = std::iter::from_fn(|| c.c.poll_event()).collect();
    let failed = evs
        .iter()
        .filter(|e| {
            matches!(
                e,
                CEvent::MessageResult {
                    result: Err(MessageError::SessionClosed(CloseReason::Timeout(
                        TimeoutKind::Mail
                    ))),
                    ..
                }
            )
        })
        .count();
    assert_eq!(failed, 2, "{evs:?}");
    assert!(matches!(
        evs.last(),
        Some(CEvent::Closed(CloseReason::Timeout(TimeoutKind::Mail)))
    ));
    assert!(c.c.poll_transmit(c.t0 + 6 * MIN).is_none());
    assert_eq!(c.c.poll_timeout(), None);
}
