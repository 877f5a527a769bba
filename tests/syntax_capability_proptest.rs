//! Property tests for EHLO capabilities: `parse(to_line(c)) == c` for generated values,
//! the same for whole capability sets through the reply encoder and [`ReplyParser`],
//! canonical re-serialization of arbitrary lines, and no panic on arbitrary input.

use bytes::BytesMut;
use ehlo::syntax::capability::{Capabilities, Capability as C};
use ehlo::syntax::reply::{Reply, ReplyParser};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[!-~]{1,15}"
}

fn mechanisms() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[A-Za-z0-9_-]{1,20}", 0..6)
}

fn unknown_keyword() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9_-]{0,30}".prop_filter("not a known keyword", |k| {
        matches!(C::parse(k), C::Other { .. })
    })
}

fn capability() -> impl Strategy<Value = C> {
    let simple = prop::sample::select(vec![
        C::Pipelining,
        C::EightBitMime,
        C::BinaryMime,
        C::Chunking,
        C::Dsn,
        C::EnhancedStatusCodes,
        C::StartTls,
        C::SmtpUtf8,
        C::RequireTls,
        C::Etrn,
        C::Atrn,
        C::Turn,
        C::Vrfy,
        C::Expn,
        C::Help,
        C::XAnonymousTls,
        C::XLink2State,
        C::XExch50,
        C::XRdst,
        C::XShadow,
        C::XShadowRequest,
        C::XProxy,
        C::XProxyFrom,
        C::XProxyTo,
        C::XSessionParams,
        C::XQDiscard,
    ]);
    prop_oneof![
        4 => simple,
        1 => any::<Option<u64>>().prop_map(C::Size),
        1 => mechanisms().prop_map(C::Auth),
        1 => mechanisms().prop_map(C::AuthLegacy),
        1 => mechanisms().prop_map(C::XExps),
        1 => mechanisms().prop_map(C::XExpsLegacy),
        1 => prop::collection::vec(("[A-Za-z0-9_-]{1,13}", "[!-~]{0,10}"), 0..4).prop_map(C::Limits),
        1 => any::<Option<u64>>().prop_map(C::DeliverBy),
        1 => prop::option::of(token()).prop_map(C::MtPriority),
        1 => prop::collection::vec(token(), 0..3).prop_map(|v| C::FutureRelease(v.join(" "))),
        2 => (unknown_keyword(), prop::collection::vec(token(), 0..4))
            .prop_map(|(keyword, p)| C::Other { keyword, params: p.join(" ") }),
    ]
}

fn capabilities() -> impl Strategy<Value = Capabilities> {
    (
        // The greeting is reply text, kept as received: servers put UTF-8 there too, and
        // the reply parser and from_reply keep it.
        "[a-z][a-z0-9.-]{0,40}( [ -~äöü世😀]{0,60})?",
        prop::collection::vec(capability(), 0..25),
    )
        .prop_map(|(greeting, list)| Capabilities::new(greeting, list))
}

fn decode(bytes: &[u8]) -> Reply {
    let mut buf = BytesMut::from(bytes);
    let r = ReplyParser::default().decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    r
}

proptest! {
    #[test]
    fn capability_round_trip(c in capability()) {
        let line = c.to_line();
        prop_assert_eq!(C::parse(&line), c.clone());
        // Keyword case does not matter on input.
        prop_assert_eq!(C::parse(&line.to_ascii_lowercase()).to_line().to_ascii_uppercase(), line.to_ascii_uppercase());
        prop_assert_eq!(c.to_string(), line);
    }

    #[test]
    fn capabilities_round_trip(caps in capabilities()) {
        let bytes = caps.to_reply().to_bytes();
        for l in bytes.split_inclusive(|&b| b == b'\n') {
            prop_assert!(l.len() <= 512);
        }
        let back = Capabilities::from_reply(&decode(&bytes));
        prop_assert_eq!(&back, &caps);
        prop_assert_eq!(back.to_reply().to_bytes(), bytes);
    }

    /// Any line parses, and its serialization is canonical: parsing it again gives the
    /// same value and the same line.
    #[test]
    fn canonical_lines(line in prop_oneof![
        "\\PC{0,60}",
        "[ \t]{0,2}(?i:size|auth|auth=|x-exps|x-exps=|limits|deliverby|mt-priority|futurerelease|pipelining|8bitmime)([ \t]{1,3}[!-~]{0,12}){0,4}[ \t]{0,2}",
        "[\\x00-\\x7f]{0,60}",
    ]) {
        let c = C::parse(&line);
        let canonical = c.to_line();
        prop_assert_eq!(C::parse(&canonical), c.clone());
        prop_assert_eq!(C::parse(&canonical).to_line(), canonical);
    }

    /// Arbitrary reply bytes: no panic, and the capability set is a fixed point after one
    /// serialization.
    #[test]
    fn arbitrary_replies(data in prop::collection::vec(any::<u8>(), 0..1500)) {
        let text = String::from_utf8_lossy(&data).into_owned();
        let caps = Capabilities::from_reply(&Reply::new(250, None, text));
        let _ = (caps.size(), caps.auth_mechanisms(), caps.xexps_mechanisms(), caps.limits());
        let once = Capabilities::from_reply(&decode(&caps.to_reply().to_bytes()));
        let twice = Capabilities::from_reply(&decode(&once.to_reply().to_bytes()));
        prop_assert_eq!(once, twice);
    }
}
