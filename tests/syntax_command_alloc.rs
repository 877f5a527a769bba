//! Zero-copy proof: parsing typical MAIL and RCPT commands performs no heap allocation.
//!
//! A counting global allocator wraps `System`; this test file is its own crate, so the
//! `unsafe impl GlobalAlloc` it needs does not touch the library's `forbid(unsafe_code)`.
//! Counting is per thread, so tests running in parallel cannot disturb each other.

mod alloc_support;

use alloc_support::count;
use ehlo::syntax::command::{parse_command, parse_sasl_response, Command};
use ehlo::syntax::ParseOptions;
use std::borrow::Cow;

const TYPICAL: &[&[u8]] = &[
    b"MAIL FROM:<alice@example.test>\r\n",
    b"MAIL FROM:<> BODY=8BITMIME SIZE=12345\r\n",
    b"MAIL FROM:<bounce+tag@lists.example.test> SIZE=37748736 BODY=BINARYMIME SMTPUTF8 RET=HDRS ENVID=QQ314159 AUTH=<>\r\n",
    b"mail from: <alice@example.test> size=1000\r\n",
    b"MAIL FROM:<\"john smith\"@[192.0.2.1]> REQUIRETLS MT-PRIORITY=3 BY=3600;R HOLDFOR=60\r\n",
    b"RCPT TO:<bob@example.test>\r\n",
    b"RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.test\r\n",
    b"RCPT TO:<Postmaster>\r\n",
    b"RCPT TO:<@relay.test:carol@[IPv6:2001:db8::1]> NOTIFY=NEVER XRDST=hub.test\r\n",
    b"RCPT TO:bob@example.test\r\n",
];

#[test]
fn typical_mail_and_rcpt_do_not_allocate() {
    let opts = ParseOptions::default();
    for &line in TYPICAL {
        let (n, cmd) = count(|| parse_command(line, &opts));
        let cmd = cmd.unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(line)));
        assert!(matches!(cmd, Command::Mail { .. } | Command::Rcpt { .. }));
        assert_eq!(
            n,
            0,
            "{} allocated {n} times",
            String::from_utf8_lossy(line)
        );
    }
}

/// The Exchange MAIL parameters live out of line (`BoxedExchangeMailParams`), so that every
/// other MAIL command stays small: a MAIL that carries any of them allocates exactly once,
/// whatever their number, and the values still borrow from the input.
#[test]
fn exchange_mail_parameters_cost_one_allocation() {
    let opts = ParseOptions::default();
    for &line in &[
        &b"MAIL FROM:<a@b.test> XSHADOW=hub.example.test\r\n"[..],
        b"MAIL FROM:<a@b.test> SIZE=10 XSHADOW=hub.example.test XATTRDIRECT=Incoming XATTRORGID=xorgid:1234 XMSGID=<x@y>\r\n",
    ] {
        let (n, cmd) = count(|| parse_command(line, &opts));
        let Ok(Command::Mail { params, .. }) = cmd else {
            panic!("{}", String::from_utf8_lossy(line));
        };
        assert_eq!(n, 1, "{}", String::from_utf8_lossy(line));
        let shadow = params.exchange.xshadow.as_ref().expect("XSHADOW");
        assert!(matches!(shadow.0, Cow::Borrowed("hub.example.test")));
    }
}

#[test]
fn other_commands_do_not_allocate() {
    let opts = ParseOptions::default();
    for &line in &[
        &b"EHLO client.example.test\r\n"[..],
        b"DATA\r\n",
        b"BDAT 1000 LAST\r\n",
        b"AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
        b"X-LINK2STATE FIRST CHUNK=x\r\n",
        b"NOOP\r\n",
        b"QUIT\r\n",
        b"FOO bar\r\n",
    ] {
        let (n, cmd) = count(|| parse_command(line, &opts));
        assert!(cmd.is_ok());
        assert_eq!(n, 0, "{}", String::from_utf8_lossy(line));
    }
    let (n, r) = count(|| parse_sasl_response(b"dGVzdA==\r\n"));
    assert!(r.is_ok());
    assert_eq!(n, 0);
}

#[test]
fn parsed_values_borrow_from_the_input() {
    let line = b"RCPT TO:<bob@example.test> ORCPT=rfc822;bob+40example.test\r\n";
    let Ok(Command::Rcpt { to, params }) = parse_command(line, &ParseOptions::default()) else {
        panic!("parse failed");
    };
    let ehlo::syntax::path::ForwardPath::Mailbox(m) = to else {
        panic!("not a mailbox");
    };
    assert!(matches!(
        m.local_part,
        ehlo::syntax::path::LocalPart::DotString(Cow::Borrowed(_))
    ));
    let orcpt = params.orcpt.expect("orcpt");
    assert!(matches!(orcpt.addr.0, Cow::Borrowed(_)));
    assert!(matches!(orcpt.addr_type, Cow::Borrowed(_)));
}

#[test]
fn the_counter_counts() {
    let (n, v) = count(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(n >= 1);
}
