//! A client machine and a server machine connected in memory, for tests that check one
//! against the other.
#![allow(dead_code)]

use ehlo::client::{Client, Event as CEvent};
use ehlo::server::{Event as SEvent, Server};
use std::time::Instant;

/// Shuttles bytes between `client` and `server` until neither has anything left to say
/// (at most 100 rounds). Every server event goes to `on_event`, which decides those that
/// need a decision (the server is handed over for that). Returns the client's events.
pub fn pump(
    client: &mut Client,
    server: &mut Server,
    now: Instant,
    mut on_event: impl FnMut(&mut Server, SEvent),
) -> Vec<CEvent> {
    let mut client_events = Vec::new();
    for _ in 0..100 {
        let mut progress = false;
        while let Some(e) = server.poll_event() {
            progress = true;
            on_event(server, e);
        }
        while let Some(b) = server.poll_transmit() {
            progress = true;
            client.receive(&b);
        }
        while let Some(e) = client.poll_event() {
            progress = true;
            client_events.push(e);
        }
        while let Some(b) = client.poll_transmit(now) {
            progress = true;
            server.receive(now, &b);
        }
        if !progress {
            break;
        }
    }
    client_events
}
