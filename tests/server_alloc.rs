//! Allocation counts of the server machine on the hot path (no timing: counts only).

mod alloc_support;

use alloc_support::count;
use ehlo::server::{Server, ServerConfig};
use std::sync::Arc;
use std::time::Instant;

fn allocations(config: &Arc<ServerConfig>, input: &[u8]) -> usize {
    let now = Instant::now();
    let (n, ()) = count(|| {
        let mut server = Server::new(Arc::clone(config), now);
        server.receive(now, input);
        while let Some(e) = server.poll_event() {
            if e.needs_decision() {
                server.accept();
            }
        }
        while server.poll_transmit().is_some() {}
        assert!(server.is_closed());
    });
    n
}

fn session(extra: &str, n: usize) -> Vec<u8> {
    let mut v = b"EHLO c\r\nMAIL FROM:<a@example.test>\r\n".to_vec();
    for _ in 0..n {
        v.extend_from_slice(extra.as_bytes());
    }
    v.extend_from_slice(b"QUIT\r\n");
    v
}

#[test]
fn hot_path_allocations() {
    let mut config = ServerConfig::new("mx.example.test");
    config.limits.max_recipients = 1000;
    let config = Arc::new(config);
    let a = allocations(&config, &session("", 0));
    assert_eq!(a, allocations(&config, &session("", 0)), "deterministic");
    // EHLO, MAIL, QUIT: the session's buffers, the EHLO reply's keyword list (written
    // straight into the output buffer, no reply text built) and MAIL's event.
    assert!(a <= 16, "base session: {a}");
    // NOOP and RSET: replies are static text written into the output buffer; only buffer
    // growth (a handful of doublings) allocates.
    let noop64 = allocations(&config, &session("NOOP\r\nRSET\r\n", 64));
    let noop128 = allocations(&config, &session("NOOP\r\nRSET\r\n", 128));
    assert!(
        noop128 - noop64 <= 4,
        "64 more NOOP+RSET: {}",
        noop128 - noop64
    );
    // RCPT: the event owns its forward-path (local part and domain): 2 allocations each.
    let rcpt64 = allocations(&config, &session("RCPT TO:<b@example.test>\r\n", 64));
    let rcpt128 = allocations(&config, &session("RCPT TO:<b@example.test>\r\n", 128));
    let per_rcpt = (rcpt128 - rcpt64) as f64 / 64.0;
    assert!(per_rcpt <= 2.1, "per RCPT: {per_rcpt}");
    eprintln!(
        "allocations: base session {a}; 64 more NOOP+RSET: {}; per RCPT: {per_rcpt}",
        noop128 - noop64
    );
}
