//! Test harness for the server machine: feeds input, answers events through a closure,
//! collects output bytes, transmits and events.
#![allow(dead_code)]

use ehlo::server::{Decision, Event, Server, ServerConfig};
use std::time::{Duration, Instant};

/// One thing the test does to the session.
#[derive(Debug, Clone)]
pub enum Act<'a> {
    /// Client bytes arrive.
    Input(&'a [u8]),
    /// The TLS handshake completes.
    Tls,
    /// Time passes (relative to the start), then `handle_timeout`.
    Wait(Duration),
    /// The server is going down: `Server::shutdown`.
    Shutdown,
}

/// What a session produced.
#[derive(Debug, Default)]
pub struct Run {
    /// All output, concatenated.
    pub out: Vec<u8>,
    /// Output as the transmits were handed out.
    pub transmits: Vec<Vec<u8>>,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Whether the session is closed at the end.
    pub closed: bool,
    /// Largest `buffered_len()` seen.
    pub max_buffered: usize,
}

impl Run {
    /// Output as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }

    /// The concatenated message content (MessageChunk events).
    pub fn message(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for e in &self.events {
            if let Event::MessageChunk(b) = e {
                v.extend_from_slice(b);
            }
        }
        v
    }

    /// Event kinds without payloads, for compact assertions.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.events.iter().map(kind).collect()
    }
}

/// A short name for an event kind.
pub fn kind(e: &Event) -> &'static str {
    match e {
        Event::Connect => "Connect",
        Event::Ehlo { .. } => "Ehlo",
        Event::Helo { .. } => "Helo",
        Event::MailFrom { .. } => "MailFrom",
        Event::RcptTo { .. } => "RcptTo",
        Event::DataStart => "DataStart",
        Event::Bdat { .. } => "Bdat",
        Event::MessageChunk(_) => "Chunk",
        Event::MessageEnd { .. } => "MessageEnd",
        Event::MessageAborted(_) => "MessageAborted",
        Event::Reset => "Reset",
        Event::AuthStart { .. } => "AuthStart",
        Event::AuthResponse { .. } => "AuthResponse",
        Event::AuthAborted { .. } => "AuthAborted",
        Event::AuthVerify { .. } => "AuthVerify",
        Event::AuthToken { .. } => "AuthToken",
        Event::StartTls { .. } => "StartTls",
        Event::TlsUpgrade => "TlsUpgrade",
        Event::Vrfy { .. } => "Vrfy",
        Event::Expn { .. } => "Expn",
        Event::Etrn { .. } => "Etrn",
        Event::Quit => "Quit",
        Event::Unknown { .. } => "Unknown",
        Event::Exchange { .. } => "Exchange",
        Event::XExch50 { .. } => "XExch50",
        Event::XExch50Chunk(_) => "XExch50Chunk",
        Event::XExch50End => "XExch50End",
        _ => "Other",
    }
}

/// The start time of every harness session.
pub fn t0() -> Instant {
    // A fixed base far from any edge; only differences matter.
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// The default test configuration.
pub fn config() -> ServerConfig {
    ServerConfig::new("mx.example.test")
}

/// Drains events (deciding with `decide`) and transmits, as a transport does: again
/// while the session paused for its replies to be taken (`limits.max_output_buffer`).
pub fn drain(server: &mut Server, run: &mut Run, decide: &mut dyn FnMut(&Event) -> Decision) {
    loop {
        drain_once(server, run, decide);
        if !server.is_paused_for_output() {
            return;
        }
    }
}

fn drain_once(server: &mut Server, run: &mut Run, decide: &mut dyn FnMut(&Event) -> Decision) {
    while let Some(event) = server.poll_event() {
        run.max_buffered = run.max_buffered.max(server.buffered_len());
        let needs = event.needs_decision();
        let d = decide(&event);
        if needs {
            // A decision that does not fit its event is a mistake in the test.
            if let Err(e) = server.try_decide(d.clone()) {
                panic!("{d:?} for {event:?}: {e}");
            }
        }
        run.events.push(event);
    }
    while let Some(t) = server.poll_transmit() {
        run.out.extend_from_slice(&t);
        run.transmits.push(t.to_vec());
    }
}

/// Runs a session with explicit acts.
pub fn run_acts(
    config: ServerConfig,
    acts: &[Act<'_>],
    mut decide: impl FnMut(&Event) -> Decision,
) -> Run {
    let mut server = Server::new(config, t0());
    let mut run = Run::default();
    // A leading `Act::Tls` is implicit TLS (RFC 8314): established before the greeting.
    let acts = match acts {
        [Act::Tls, rest @ ..] => {
            server.tls_established().expect("implicit TLS at the start");
            rest
        }
        _ => acts,
    };
    drain(&mut server, &mut run, &mut decide);
    for act in acts {
        match act {
            Act::Input(bytes) => server.receive(t0(), bytes),
            Act::Tls => server
                .tls_established()
                .expect("a TLS handshake is expected here"),
            Act::Wait(d) => server.handle_timeout(t0() + *d),
            Act::Shutdown => server.shutdown(),
        }
        run.max_buffered = run.max_buffered.max(server.buffered_len());
        drain(&mut server, &mut run, &mut decide);
    }
    run.closed = server.is_closed();
    run
}

/// Runs a session fed in the given pieces.
pub fn run_pieces(
    config: ServerConfig,
    pieces: &[&[u8]],
    decide: impl FnMut(&Event) -> Decision,
) -> Run {
    let acts: Vec<Act<'_>> = pieces.iter().map(|p| Act::Input(p)).collect();
    run_acts(config, &acts, decide)
}

/// Runs a session with the whole input at once.
pub fn run(config: ServerConfig, input: &[u8], decide: impl FnMut(&Event) -> Decision) -> Run {
    run_pieces(config, &[input], decide)
}

/// Runs a session, each command line fed separately (no pipelining).
pub fn run_lines(
    config: ServerConfig,
    input: &[u8],
    decide: impl FnMut(&Event) -> Decision,
) -> Run {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, b) in input.iter().enumerate() {
        if *b == b'\n' {
            pieces.push(&input[start..=i]);
            start = i + 1;
        }
    }
    if start < input.len() {
        pieces.push(&input[start..]);
    }
    run_pieces(config, &pieces, decide)
}

/// Every event gets its default.
pub fn defaults(_: &Event) -> Decision {
    Decision::Default
}

/// The greeting line of the test configuration.
pub const GREETING: &str = "220 mx.example.test ESMTP ready\r\n";

/// The EHLO reply of the default test configuration for client `client.example.test`.
pub const EHLO_DEFAULT: &str = "250-mx.example.test Hello client.example.test\r\n\
250-SIZE 10485760\r\n250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n\
250-8BITMIME\r\n250-BINARYMIME\r\n250 CHUNKING\r\n";

/// Checks that `out` is a sequence of well-formed reply lines of 512 octets at most.
pub fn assert_well_formed(out: &[u8]) {
    assert_well_formed_up_to(out, 512);
}

/// [`assert_well_formed`] with lines up to `max_line` octets (1,024 where X-LINK2STATE
/// replies may go out, KB 812455).
pub fn assert_well_formed_up_to(out: &[u8], max_line: usize) {
    let mut rest = out;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or_else(|| {
                panic!(
                    "reply line without CRLF: {:?}",
                    String::from_utf8_lossy(rest)
                )
            });
        let line = &rest[..end];
        assert!(end + 2 <= max_line, "reply line over {max_line} octets");
        assert!(
            line.len() >= 3,
            "short reply line {:?}",
            String::from_utf8_lossy(line)
        );
        assert!(
            line[..3].iter().all(u8::is_ascii_digit),
            "bad code {:?}",
            String::from_utf8_lossy(line)
        );
        assert!(
            (b'2'..=b'5').contains(&line[0]),
            "bad class {:?}",
            String::from_utf8_lossy(line)
        );
        if line.len() > 3 {
            assert!(
                line[3] == b' ' || line[3] == b'-',
                "bad separator {:?}",
                String::from_utf8_lossy(line)
            );
        }
        rest = &rest[end + 2..];
    }
}
