#![no_main]
//! Arbitrary server output fed to the incremental reply parser in pieces whose sizes come
//! from the input. Checks: no panic, bounded buffering, and every decoded reply
//! re-encodes into lines of at most 512 octets that parse back to its normalized form
//! (see `Reply::normalized` for the one ambiguous case).
use bytes::BytesMut;
use ehlo::syntax::reply::{Reply, ReplyParser};
use libfuzzer_sys::fuzz_target;

fn reparse(bytes: &[u8]) -> Reply {
    let mut buf = BytesMut::from(bytes);
    let r = ReplyParser::default().decode(&mut buf);
    assert!(buf.is_empty());
    r.expect("encoder output parses")
        .expect("encoder output is complete")
}

/// A reply without an enhanced code whose first line starts with a digit.
fn ambiguous(r: &Reply) -> bool {
    r.enhanced.is_none() && r.first_line().starts_with(|c: char| c.is_ascii_digit())
}

fuzz_target!(|data: &[u8]| {
    let Some((&config, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(config & 0x3f) + 1;
    let bare_lf = config & 0x40 != 0;
    let max_line = if config & 0x80 != 0 { 64 } else { 512 };
    let mut parser = ReplyParser::new(max_line, 16).accept_bare_lf(bare_lf);
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match parser.decode(&mut buf) {
                Ok(Some(reply)) => {
                    let bytes = reply.to_bytes();
                    for line in bytes.split_inclusive(|&b| b == b'\n') {
                        assert!(line.len() <= 512 && line.ends_with(b"\r\n"));
                    }
                    let back = reparse(&bytes);
                    let n = reply.normalized();
                    if ambiguous(&n) {
                        // No enhanced code, but the (sanitized) first line starts like one:
                        // the wire cannot tell them apart; only the code must survive.
                        assert_eq!(back.code, n.code);
                    } else {
                        assert_eq!(back, n);
                    }
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
        assert!(buf.len() < max_line);
    }
});
