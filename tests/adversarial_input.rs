//! Hostile bytes in commands and replies: NUL, 8-bit without SMTPUTF8, invalid UTF-8 with
//! SMTPUTF8, overlong paths and domains, thousands of parameters, BASE64 garbage and `*`
//! in AUTH. Each gets its defined reply, nothing reaches the caller as a valid command,
//! and the session stays in sync afterwards.

use bytes::BytesMut;
use ehlo::client::{Client, ClientConfig, CloseReason, Event as CEvent, ProtocolError};
use ehlo::sasl::{Mechanism as SaslMechanism, SaslError, ServerExchange};
use ehlo::server::{AuthAbort, Decision, Event, Mechanism, Server, ServerConfig};
use ehlo::syntax::reply::{Reply, ReplyParser};
use std::time::Instant;

const EHLO: &[u8] = b"EHLO client.example.test\r\n";

struct Session {
    server: Server,
    now: Instant,
    events: Vec<Event>,
    decide: Box<dyn FnMut(&Event) -> Decision>,
}

impl Session {
    fn new(config: ServerConfig) -> Session {
        let now = Instant::now();
        let mut s = Session {
            server: Server::new(config, now),
            now,
            events: Vec::new(),
            decide: Box::new(|_| Decision::Accept),
        };
        s.send(EHLO);
        s.events.clear();
        s
    }

    /// Feeds `input` and returns the reply bytes it caused, as text.
    fn send(&mut self, input: &[u8]) -> String {
        self.server.receive(self.now, input);
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
        String::from_utf8(out).expect("replies are ASCII")
    }

    fn mails(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::MailFrom { .. } | Event::RcptTo { .. }))
            .count()
    }
}

fn config() -> ServerConfig {
    let mut c = ServerConfig::new("mx.example.test");
    c.limits.max_errors = 1000;
    c
}

/// Sends each hostile line on a fresh session and checks the reply is exactly `expected`
/// (one line), that no MAIL/RCPT event was raised, and that `NOOP` still works after.
#[track_caller]
fn refused(config: &ServerConfig, prefix: &[u8], line: &[u8], expected: &str) {
    let mut s = Session::new(config.clone());
    if !prefix.is_empty() {
        s.send(prefix);
    }
    let before = s.mails();
    let reply = s.send(line);
    let ctx = format!("{:?}", String::from_utf8_lossy(line));
    assert_eq!(reply, expected, "{ctx}");
    assert_eq!(reply.matches("\r\n").count(), 1, "{ctx}: {reply:?}");
    assert_eq!(s.mails(), before, "{ctx}");
    assert_eq!(s.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n", "{ctx}");
}

const MAIL: &[u8] = b"MAIL FROM:<a@example.test>\r\n";

#[test]
fn nul_bytes_in_commands() {
    let c = config();
    for line in [
        &b"NOOP\x00\r\n"[..],
        b"\x00\r\n",
        b"\x00NOOP\r\n",
        b"MAIL FROM:<a\x00@example.test>\r\n",
        b"MAIL FROM:<a@example.test>\x00\r\n",
        b"MAIL FROM:<a@example.test> SIZE=1\x00\r\n",
        b"EHLO \x00\r\n",
        b"MAIL\x00FROM:<a@example.test>\r\n",
    ] {
        let mut s = Session::new(c.clone());
        let reply = s.send(line);
        // A NUL anywhere makes the line unparseable as a command (RFC 5321 4.1.1: no NUL
        // in commands).
        assert_eq!(
            reply, "500 5.5.2 Syntax error, command unrecognized\r\n",
            "{line:?}"
        );
        assert_eq!(reply.matches("\r\n").count(), 1);
        assert_eq!(s.mails(), 0, "{line:?}");
        assert_eq!(s.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
    }
    // In RCPT, inside a transaction.
    for line in [
        &b"RCPT TO:<b\x00@example.test>\r\n"[..],
        b"RCPT TO:<b@example.test>\x00\r\n",
    ] {
        refused(
            &c,
            MAIL,
            line,
            "500 5.5.2 Syntax error, command unrecognized\r\n",
        );
    }
    // A NUL never splits a line: the bytes after it are not a second command.
    let mut s = Session::new(c);
    let reply = s.send(b"NOOP\x00MAIL FROM:<evil@example.test>\r\n");
    assert_eq!(reply, "500 5.5.2 Syntax error, command unrecognized\r\n");
    assert_eq!(s.mails(), 0);
}

/// SECURITY.md: a bare CR inside a command is refused (`500 5.5.2`) and never splits it
/// into a second command, under both grammars; a bare LF ends the command line under the
/// default `Leniency::Lenient` (as Postfix) and is refused (`500 5.5.2`) under
/// `Leniency::Strict`, where the bytes after it are no second command either.
#[test]
fn bare_cr_and_lf_inside_commands() {
    use ehlo::syntax::Leniency;
    let syntax = "500 5.5.2 Syntax error, command unrecognized\r\n";
    for leniency in [Leniency::Lenient, Leniency::Strict] {
        let mut c = config();
        c.leniency = leniency;
        for line in [
            &b"NOOP\rMAIL FROM:<evil@example.test>\r\n"[..],
            b"MAIL FROM:<a@example.test>\rRCPT TO:<evil@example.test>\r\n",
            b"\rMAIL FROM:<evil@example.test>\r\n",
        ] {
            refused(&c, b"", line, syntax);
        }
    }
    // Lenient: the LF ends the line, and what follows is the next command.
    let mut s = Session::new(config());
    assert_eq!(
        s.send(b"NOOP\nMAIL FROM:<a@example.test>\n"),
        "250 2.0.0 OK\r\n250 2.1.0 Sender OK\r\n"
    );
    // Strict: the line up to the CRLF is one refused line.
    let mut c = config();
    c.leniency = Leniency::Strict;
    refused(&c, b"", b"NOOP\nMAIL FROM:<evil@example.test>\r\n", syntax);
}

#[test]
fn eight_bit_without_smtputf8() {
    let c = config();
    refused(
        &c,
        b"",
        b"MAIL FROM:<j\xc3\xb6rg@example.test>\r\n",
        "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n",
    );
    refused(
        &c,
        b"",
        b"MAIL FROM:<a@b\xc3\xbccher.example>\r\n",
        "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n",
    );
    // Not UTF-8 at all: refused as a bad argument.
    refused(
        &c,
        b"",
        b"MAIL FROM:<\xff@example.test>\r\n",
        "501 5.5.4 Syntax error in parameters or arguments\r\n",
    );
    refused(
        &c,
        MAIL,
        b"RCPT TO:<j\xc3\xb6rg@example.test>\r\n",
        "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n",
    );
    refused(
        &c,
        MAIL,
        b"RCPT TO:<\x80@example.test>\r\n",
        "501 5.5.4 Syntax error in parameters or arguments\r\n",
    );
    // SMTPUTF8 asked for but not offered.
    refused(
        &c,
        b"",
        b"MAIL FROM:<j\xc3\xb6rg@example.test> SMTPUTF8\r\n",
        "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n",
    );
    // 8-bit in a verb or a parameter value.
    refused(
        &c,
        b"",
        b"N\xc3\x96OP\r\n",
        "500 5.5.2 Syntax error, command unrecognized\r\n",
    );
    refused(
        &c,
        b"",
        b"MAIL FROM:<a@example.test> ENVID=\xc3\xa9\r\n",
        "501 5.5.4 Malformed parameter\r\n",
    );
}

#[test]
fn invalid_utf8_with_smtputf8() {
    let mut c = config();
    c.extensions.smtputf8 = true;
    for bad in [
        &b"\xff\xfe"[..],
        b"\xc3",             // truncated sequence
        b"\xc0\xaf",         // overlong '/'
        b"\xed\xa0\x80",     // UTF-16 surrogate
        b"\xf4\x90\x80\x80", // above U+10FFFF
        b"\x80",
    ] {
        let mut line = b"MAIL FROM:<".to_vec();
        line.extend_from_slice(bad);
        line.extend_from_slice(b"@example.test> SMTPUTF8\r\n");
        refused(
            &c,
            b"",
            &line,
            "501 5.5.4 Syntax error in parameters or arguments\r\n",
        );
        let mut line = b"RCPT TO:<x".to_vec();
        line.extend_from_slice(bad);
        line.extend_from_slice(b"@example.test>\r\n");
        refused(
            &c,
            b"MAIL FROM:<a@example.test> SMTPUTF8\r\n",
            &line,
            "501 5.5.4 Syntax error in parameters or arguments\r\n",
        );
    }
    // Valid UTF-8 with SMTPUTF8 is fine.
    let mut s = Session::new(c);
    assert_eq!(
        s.send(
            "MAIL FROM:<jörg@bücher.example> SMTPUTF8\r\nRCPT TO:<δοκιμή@παράδειγμα.δοκιμή>\r\n"
                .as_bytes()
        ),
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
    );
}

#[test]
fn overlong_paths_and_domains() {
    let c = config();
    let local65 = "l".repeat(65);
    let label = "d".repeat(63);
    let domain256 = format!("{label}.{label}.{label}.{}", "e".repeat(64)); // 256 octets
    assert_eq!(domain256.len(), 256);
    let long_path = format!("{}@{}", "l".repeat(64), &domain256[..250]); // 315 > 256
    let cases: Vec<(String, &str)> = vec![
        (
            format!("MAIL FROM:<{local65}@example.test>\r\n"),
            "501 5.1.7 Path too long: local part exceeds 64 octets\r\n",
        ),
        (
            format!("MAIL FROM:<a@{domain256}>\r\n"),
            "501 5.1.7 Path too long\r\n",
        ),
        (
            format!("MAIL FROM:<{long_path}>\r\n"),
            "501 5.1.7 Path too long\r\n",
        ),
        // A 64-octet label (RFC 1035 2.3.4: at most 63).
        (
            format!("MAIL FROM:<a@{}.test>\r\n", "x".repeat(64)),
            "553 5.1.7 Bad address syntax\r\n",
        ),
        (
            format!("MAIL FROM:<a@{}>\r\n", "a.".repeat(200)),
            "501 5.1.7 Path too long\r\n",
        ),
        (
            format!("MAIL FROM:<{}a@example.test>\r\n", "@r.example,".repeat(40)),
            "501 5.1.7 Path too long\r\n",
        ),
        (
            format!("EHLO {}\r\n", "h".repeat(600)),
            "500 5.5.2 Line too long\r\n",
        ),
        // Within the room MAIL parameters get beyond 512 octets: the path is too long.
        (
            format!("MAIL FROM:<{}@example.test>\r\n", "l".repeat(600)),
            "501 5.1.7 Path too long\r\n",
        ),
        (
            format!("MAIL FROM:<{}@example.test>\r\n", "l".repeat(2000)),
            "500 5.5.2 Line too long\r\n",
        ),
        (
            format!("VRFY {}\r\n", "v".repeat(5000)),
            "500 5.5.2 Line too long\r\n",
        ),
    ];
    for (line, want) in &cases {
        refused(&c, b"", line.as_bytes(), want);
    }
    let cases: Vec<(String, &str)> = vec![
        (
            format!("RCPT TO:<{local65}@example.test>\r\n"),
            "501 5.1.3 Path too long: local part exceeds 64 octets\r\n",
        ),
        (
            format!("RCPT TO:<b@{domain256}>\r\n"),
            "501 5.1.3 Path too long\r\n",
        ),
        (
            format!("RCPT TO:<{long_path}>\r\n"),
            "501 5.1.3 Path too long\r\n",
        ),
    ];
    for (line, want) in &cases {
        refused(&c, MAIL, line.as_bytes(), want);
    }
    // At the limits exactly: accepted.
    let local64 = "l".repeat(64);
    let domain255 = &domain256[1..];
    let mut s = Session::new(c);
    let path = format!("{local64}@{}", &domain255[..254 - 65]);
    assert_eq!(path.len() + 2, 256);
    assert_eq!(
        s.send(format!("MAIL FROM:<{path}>\r\n").as_bytes()),
        "250 2.1.0 Sender OK\r\n"
    );
}

#[test]
fn thousands_of_parameters() {
    // With the default 512-octet line, as many parameters as fit: refused as unknown.
    let c = config();
    let mut line = b"MAIL FROM:<a@example.test>".to_vec();
    let mut i = 0;
    while line.len() < 500 {
        line.extend_from_slice(format!(" X{i}=1").as_bytes());
        i += 1;
    }
    line.extend_from_slice(b"\r\n");
    refused(
        &c,
        b"",
        &line,
        "555 5.5.4 Parameter not recognized or not implemented\r\n",
    );

    // A configured 1 MiB command line and 50,000 parameters: one reply, no event, and
    // linear work (regression: the duplicate check over unknown parameters was quadratic,
    // 19 s for this line in release; now more than `limits::MAX_OTHER_PARAMS` distinct
    // unknown parameters are refused with `501 5.5.4` at the 257th).
    let mut big = config();
    big.limits.max_command_line = 1 << 20;
    big.limits.max_input_buffer = 2 << 20;
    for (params, want) in [
        (
            (0..50_000)
                .map(|i| format!(" X-P{i}=v"))
                .collect::<String>(),
            "501 5.5.4 Malformed parameter\r\n",
        ),
        (
            " SIZE=1".repeat(50_000),
            "501 5.5.4 Duplicate parameter\r\n",
        ),
        (
            " BODY=8BITMIME".repeat(50_000),
            "501 5.5.4 Duplicate parameter\r\n",
        ),
        // SMTPUTF8 is not advertised by the default configuration: its parameter is
        // `555` whatever else is wrong with it (RFC 5321 4.1.1.11).
        (
            " SMTPUTF8".repeat(50_000),
            "555 5.5.4 Parameter not recognized or not implemented\r\n",
        ),
        (
            " RET=FULL".repeat(50_000),
            "501 5.5.4 Duplicate parameter\r\n",
        ),
    ] {
        let line = format!("MAIL FROM:<a@example.test>{params}\r\n");
        refused(&big, b"", line.as_bytes(), want);
    }
    let at_limit: String = (0..ehlo::limits::MAX_OTHER_PARAMS)
        .map(|i| format!(" X-P{i}=v"))
        .collect();
    let line = format!("MAIL FROM:<a@example.test>{at_limit}\r\n");
    refused(
        &big,
        b"",
        line.as_bytes(),
        "555 5.5.4 Parameter not recognized or not implemented\r\n",
    );
    for (params, want) in [
        (
            " NOTIFY=NEVER".repeat(50_000),
            "501 5.5.4 Duplicate parameter\r\n",
        ),
        (
            " ORCPT=rfc822;b@example.test".repeat(20_000),
            "501 5.5.4 Duplicate parameter\r\n",
        ),
        (
            (0..50_000).map(|i| format!(" Y{i}")).collect::<String>(),
            "501 5.5.4 Malformed parameter\r\n",
        ),
    ] {
        let line = format!("RCPT TO:<b@example.test>{params}\r\n");
        refused(&big, MAIL, line.as_bytes(), want);
    }
}

fn auth_config() -> ServerConfig {
    let mut c = config();
    c.auth.mechanisms = vec![Mechanism::new("PLAIN"), Mechanism::new("NTLM")];
    c.auth.allow_plaintext_without_tls = true;
    c
}

fn auth_session() -> Session {
    let mut s = Session::new(auth_config());
    s.decide = Box::new(|e| match e {
        Event::AuthStart {
            initial_response: None,
            ..
        } => Decision::AuthChallenge(Vec::new()),
        Event::AuthStart { .. } | Event::AuthResponse { .. } => Decision::AuthFailure,
        _ => Decision::Accept,
    });
    s
}

#[test]
fn base64_garbage_in_auth() {
    let garbage: Vec<Vec<u8>> = vec![
        b"!!!!".to_vec(),
        b"AHRpbQB0YW5zdGFhZmw".to_vec(), // missing padding
        b"AHRp bQB0".to_vec(),
        b"====".to_vec(),
        b"QQ==QQ==".to_vec(),
        b"QR==".to_vec(), // non-zero trailing bits
        b"\xff\xfe".to_vec(),
        b"**".to_vec(),
        format!("{}!", "A".repeat(12_000 - 14)).into_bytes(),
    ];
    for g in &garbage {
        // As the initial response.
        let mut s = auth_session();
        let mut line = b"AUTH PLAIN ".to_vec();
        line.extend_from_slice(g);
        line.extend_from_slice(b"\r\n");
        let reply = s.send(&line);
        // A second argument or 8-bit octets make the command line itself malformed;
        // otherwise the argument is refused as BASE64 (RFC 4954 section 4).
        let want = if g.contains(&b' ') || !g.is_ascii() {
            "501 5.5.4 Syntax error in parameters or arguments\r\n"
        } else {
            "501 5.5.2 Cannot Base64-decode client response\r\n"
        };
        assert_eq!(reply, want, "{g:?}");
        assert!(
            !s.events
                .iter()
                .any(|e| matches!(e, Event::AuthStart { .. })),
            "{g:?}"
        );
        assert_eq!(s.server.authenticated(), None);
        assert_eq!(s.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");

        // As a continuation line.
        let mut s = auth_session();
        assert_eq!(s.send(b"AUTH PLAIN\r\n"), "334 \r\n");
        let mut line = g.clone();
        line.extend_from_slice(b"\r\n");
        let reply = s.send(&line);
        assert_eq!(
            reply, "501 5.5.2 Cannot Base64-decode client response\r\n",
            "{g:?}"
        );
        assert!(s.events.iter().any(|e| matches!(
            e,
            Event::AuthAborted {
                reason: AuthAbort::InvalidBase64,
                ..
            }
        )));
        assert_eq!(s.send(b"NOOP\r\n"), "250 2.0.0 OK\r\n");
    }
    // The SASL driver gives the same answer.
    let (mut ex, _) = ServerExchange::start(&SaslMechanism::Plain, None).expect("start");
    assert_eq!(ex.step(b"!!!!"), Err(SaslError::InvalidBase64));
    assert_eq!(SaslError::InvalidBase64.reply().code, 501);
}

#[test]
fn star_cancels_and_auth_floods_are_bounded() {
    let mut s = auth_session();
    assert_eq!(s.send(b"AUTH NTLM\r\n"), "334 \r\n");
    assert_eq!(s.send(b"*\r\n"), "501 5.0.0 Authentication cancelled\r\n");
    assert!(s.events.iter().any(|e| matches!(
        e,
        Event::AuthAborted {
            reason: AuthAbort::Cancelled,
            ..
        }
    )));
    // `*` with trailing blanks is still a cancel; `*` as a command is an unknown command.
    assert_eq!(s.send(b"AUTH NTLM\r\n"), "334 \r\n");
    assert_eq!(s.send(b"* \r\n"), "501 5.0.0 Authentication cancelled\r\n");
    assert_eq!(
        s.send(b"*\r\n"),
        "500 5.5.2 Syntax error, command unrecognized\r\n"
    );
    // `*` as an initial response is not a cancel: the server must refuse it as BASE64.
    assert_eq!(
        s.send(b"AUTH PLAIN *\r\n"),
        "501 5.5.2 Cannot Base64-decode client response\r\n"
    );
    assert_eq!(s.server.authenticated(), None);

    // Cancel loops are bounded by the command limit.
    let mut c = auth_config();
    c.limits.max_commands = 1000;
    let mut s = Session::new(c);
    s.decide = Box::new(|e| match e {
        Event::AuthStart { .. } => Decision::AuthChallenge(b"x".to_vec()),
        _ => Decision::Accept,
    });
    let mut input = Vec::new();
    for _ in 0..600 {
        input.extend_from_slice(b"AUTH NTLM\r\n*\r\n");
    }
    let out = s.send(&input);
    assert!(
        out.ends_with("421 4.7.0 Too many commands, closing connection\r\n"),
        "{}",
        &out[out.len() - 200..]
    );
    assert!(s.server.is_closed());
    assert_eq!(out.matches("334 eA==\r\n").count(), 500);
}

// ---- client side: hostile replies ----

fn client_after(input: &[&[u8]]) -> (Client, Vec<CEvent>) {
    let now = Instant::now();
    let mut c = Client::new(ClientConfig::new("client.example.test"), now);
    let mut evs = Vec::new();
    for piece in input {
        c.receive(piece);
        while c.poll_transmit(now).is_some() {}
        evs.extend(std::iter::from_fn(|| c.poll_event()));
    }
    (c, evs)
}

#[test]
fn client_refuses_malformed_replies() {
    for bad in [
        &b"220\x00mx.example.test\r\n"[..],
        b"2\x0020 mx\r\n",
        b"\xff\xfe\r\n",
        b"600 out of range\r\n",
        b"22 short\r\n",
        b"220-mx\r\n221 other code\r\n",
        b"220_mx\r\n",
        b"\r\n",
    ] {
        let (c, evs) = client_after(&[bad]);
        let ctx = format!("{:?}: {evs:?}", String::from_utf8_lossy(bad));
        assert!(c.is_closed(), "{ctx}");
        assert!(
            matches!(
                evs.last(),
                Some(CEvent::Closed(CloseReason::Protocol(
                    ProtocolError::Malformed(_)
                )))
            ),
            "{ctx}"
        );
    }
    // NUL and 8-bit inside the text of a well-formed reply: read, never a panic.
    // The greeting is taken as is (text lossily decoded) and the session goes on.
    let (c, evs) = client_after(&[b"220 mx \x00\xff\xc3\xa9 ready\r\n"]);
    assert!(!c.is_closed(), "{evs:?}");
    match &evs[..] {
        [CEvent::Greeting(r)] => {
            assert_eq!(r.code.0, 220);
            assert_eq!(r.text, "mx \0\u{fffd}\u{e9} ready");
        }
        _ => panic!("{evs:?}"),
    }
}

/// Regression for the `reply` fuzz target's first finding: a line whose enhanced code is
/// followed by control characters instead of a space has no enhanced code; once the
/// serializer sanitized the controls to spaces, the wire form reads back *with* the code.
/// That is the documented exception of `Reply::normalized`; the wire form is a fixed
/// point. Inputs: the `reply` target's crash-9789cd72 and crash-ac63f66d (first lines).
#[test]
fn reply_with_control_characters_after_an_enhanced_code() {
    let mut buf = BytesMut::from(&b"250 2.1.0\x01\x7f OK\r\n"[..]);
    let reply = ReplyParser::default()
        .decode(&mut buf)
        .expect("parses")
        .expect("complete");
    assert_eq!(reply.enhanced, None);
    assert_eq!(reply.text, "2.1.0\x01\x7f OK");
    let wire = reply.to_bytes();
    assert_eq!(wire, b"250 2.1.0   OK\r\n");
    let mut buf = BytesMut::from(&wire[..]);
    let again: Reply = ReplyParser::default()
        .decode(&mut buf)
        .expect("parses")
        .expect("complete");
    assert_eq!(again.to_bytes(), wire);

    // The second finding (crash-ac63f66d): the same with a leading zero in the detail.
    // The code reads back canonical (2.1.4), and that form is a fixed point.
    let mut buf = BytesMut::from(&b"250 2.1.04\x1eGo ahead\r\n"[..]);
    let reply = ReplyParser::default().decode(&mut buf).unwrap().unwrap();
    assert_eq!(reply.enhanced, None);
    let wire = reply.to_bytes();
    assert_eq!(wire, b"250 2.1.04 Go ahead\r\n");
    let mut buf = BytesMut::from(&wire[..]);
    let again = ReplyParser::default().decode(&mut buf).unwrap().unwrap();
    assert_eq!(again.enhanced, Some(ehlo::EnhancedCode::new(2, 1, 4)));
    assert_eq!(again.to_bytes(), b"250 2.1.4 Go ahead\r\n");
    let mut buf = BytesMut::from(&again.to_bytes()[..]);
    let twice = ReplyParser::default().decode(&mut buf).unwrap().unwrap();
    assert_eq!(twice, again);
}
