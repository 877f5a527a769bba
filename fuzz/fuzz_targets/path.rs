#![no_main]
//! Path, mailbox and parameter parsers: never panic; a parsed value serializes to text that
//! parses back to the same value.
use ehlo::syntax::param::{MailParams, RcptParams};
use ehlo::syntax::path::{ForwardPath, Mailbox, ReversePath};
use ehlo::syntax::{Leniency, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    let opts = ParseOptions {
        leniency: if flags & 1 == 0 {
            Leniency::Lenient
        } else {
            Leniency::Strict
        },
        utf8: flags & 2 != 0,
        ..ParseOptions::default()
    };
    if let Ok(m) = Mailbox::parse(s, &opts) {
        let text = m.to_string();
        assert_eq!(Mailbox::parse(&text, &opts).expect("reparse mailbox"), m);
    }
    if let Ok(p) = ReversePath::parse(s, &opts) {
        let text = p.to_string();
        assert_eq!(
            ReversePath::parse(&text, &opts).expect("reparse reverse-path"),
            p
        );
    }
    if let Ok(p) = ForwardPath::parse(s, &opts) {
        let text = p.to_string();
        assert_eq!(
            ForwardPath::parse(&text, &opts).expect("reparse forward-path"),
            p
        );
    }
    if let Ok(p) = MailParams::parse(s, &opts) {
        let mut wire = Vec::new();
        p.encode(&mut wire);
        let text = std::str::from_utf8(&wire).expect("utf-8");
        let text = text.strip_prefix(' ').unwrap_or(text);
        assert_eq!(
            MailParams::parse(text, &opts).expect("reparse mail params"),
            p
        );
    }
    if let Ok(p) = RcptParams::parse(s, &opts) {
        let mut wire = Vec::new();
        p.encode(&mut wire);
        let text = std::str::from_utf8(&wire).expect("utf-8");
        let text = text.strip_prefix(' ').unwrap_or(text);
        assert_eq!(
            RcptParams::parse(text, &opts).expect("reparse rcpt params"),
            p
        );
    }
});
