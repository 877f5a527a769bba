//! Shared helpers for the client transcript tests: scripted server bytes in, exact client
//! bytes out.
#![allow(dead_code)]

use bytes::Bytes;
use ehlo::client::{Client, ClientConfig, Event};
use std::time::{Duration, Instant};

pub struct T {
    pub c: Client,
    pub now: Instant,
}

impl T {
    pub fn new(config: ClientConfig) -> T {
        let now = Instant::now();
        T {
            c: Client::new(config, now),
            now,
        }
    }

    pub fn plain() -> T {
        T::new(ClientConfig::new("client.example.test"))
    }

    /// Server bytes in.
    pub fn server(&mut self, bytes: &str) {
        self.c.receive(bytes.as_bytes());
    }

    pub fn server_bytes(&mut self, bytes: &[u8]) {
        self.c.receive(bytes);
    }

    /// Everything the client wants to send now.
    pub fn sent_bytes(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.c.poll_transmit(self.now) {
            out.extend_from_slice(&b);
        }
        out
    }

    pub fn sent(&mut self) -> String {
        String::from_utf8_lossy(&self.sent_bytes()).into_owned()
    }

    #[track_caller]
    pub fn expect(&mut self, out: &str) {
        assert_eq!(self.sent(), out);
    }

    pub fn events(&mut self) -> Vec<Event> {
        let mut v = Vec::new();
        while let Some(e) = self.c.poll_event() {
            v.push(e);
        }
        v
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Greeting + EHLO with the given capability lines (without `250-`).
    pub fn hello(&mut self, caps: &[&str]) {
        self.server("220 mx.example.test ESMTP\r\n");
        self.expect("EHLO client.example.test\r\n");
        self.server(&ehlo_reply(caps));
    }
}

pub fn ehlo_reply(caps: &[&str]) -> String {
    let mut lines = vec!["mx.example.test".to_string()];
    lines.extend(caps.iter().map(|s| s.to_string()));
    let n = lines.len();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(if i + 1 == n { "250 " } else { "250-" });
        out.push_str(l);
        out.push_str("\r\n");
    }
    out
}

pub fn bytes(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// Turns a recorded EHLO fixture (lines with `250-`/`250 `) into reply bytes.
pub fn fixture(text: &str) -> String {
    let mut out = String::new();
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str(l);
        out.push_str("\r\n");
    }
    out
}

/// An envelope from a@example.test to `rcpts`.
pub fn env(rcpts: &[&str]) -> ehlo::client::Envelope {
    let mut e = ehlo::client::Envelope::new("a@example.test").unwrap();
    for r in rcpts {
        e.add_recipient(r).unwrap();
    }
    e
}

/// The `RecipientResult` events: (index, accepted, reply code).
pub fn rcpt_results(ev: &[Event]) -> Vec<(usize, bool, u16)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::RecipientResult {
                index,
                accepted,
                reply,
                ..
            } => Some((*index, *accepted, reply.code.0)),
            _ => None,
        })
        .collect()
}

/// A plain session with `caps` and one message to b@example.test whose body the caller
/// streams (`Body::Stream` of `body_type`, declared `size`); the session and the message.
pub fn streamed(
    caps: &[&str],
    body_type: ehlo::client::BodyType,
    size: Option<u64>,
) -> (T, ehlo::client::MessageId) {
    let mut t = T::plain();
    t.hello(caps);
    let id =
        t.c.send(
            env(&["b@example.test"]),
            ehlo::client::Body::Stream { body_type, size },
        )
        .unwrap();
    (t, id)
}
