#![no_main]
//! Arbitrary EHLO replies: parsed with the reply parser (CRLF appended when missing), read
//! as capabilities, serialized and read again. Checks: no panic, every typed accessor
//! answers, each line's canonical form is a fixed point, and serializing the set gives
//! valid reply lines.
use bytes::BytesMut;
use ehlo::syntax::capability::{Capabilities, Capability};
use ehlo::syntax::reply::ReplyParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    if !data.ends_with(b"\n") {
        buf.extend_from_slice(b"\r\n");
    }
    let mut parser = ReplyParser::default();
    loop {
        let reply = match parser.decode(&mut buf) {
            Ok(Some(reply)) => reply,
            Ok(None) => break,
            Err(_) => continue,
        };
        let caps = Capabilities::from_reply(&reply);
        let _ = (
            caps.size(),
            caps.auth_mechanisms(),
            caps.xexps_mechanisms(),
            caps.limits(),
            caps.deliver_by(),
            caps.pipelining(),
        );
        for cap in &caps.list {
            let line = cap.to_line();
            let again = Capability::parse(&line);
            assert_eq!(&again, cap, "{line:?}");
            assert_eq!(again.to_line(), line);
        }
        let bytes = caps.to_reply().to_bytes();
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            assert!(line.len() <= 512 && line.ends_with(b"\r\n"));
        }
    }
    // Every line of the input as a keyword line on its own.
    for line in String::from_utf8_lossy(data).split('\n') {
        let cap = Capability::parse(line);
        assert_eq!(Capability::parse(&cap.to_line()), cap);
    }
});
