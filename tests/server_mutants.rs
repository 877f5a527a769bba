//! Server behaviour found unpinned by mutation testing (cargo-mutants over `src/server/`):
//! each test fails on a mutant that survived the rest of the suite and passes on the real
//! code, and names the rule it pins.

mod server_support;

use ehlo::server::{AuthAbort, AuthVerb, Decision, Event, Mechanism, Server, ServerConfig};
use server_support::*;

const EHLO: &str = "EHLO client.example.test\r\n";

/// A configuration that offers no extension at all, for tests that turn on exactly the
/// one whose effect they pin.
fn bare_config() -> ServerConfig {
    let mut c = config();
    let x = &mut c.extensions;
    (x.size, x.pipelining, x.dsn) = (false, false, false);
    (x.eight_bit_mime, x.chunking, x.binary_mime) = (false, false, false);
    c
}

/// `MAIL FROM:<a@example.test> X-PAD=xxx...`: exactly `len` octets with its CRLF, with a
/// parameter no session offers, so a line within the limit gets `555 5.5.4` (RFC 5321
/// 4.1.1.11) and only a line over it `500 5.5.2` (4.5.3.1.4).
fn mail_line_of(len: usize) -> String {
    let head = "MAIL FROM:<a@example.test> X-PAD=";
    assert!(head.len() + 2 < len);
    format!("{head}{}\r\n", "x".repeat(len - head.len() - 2))
}

const NOT_RECOGNIZED: &str = "555 5.5.4 Parameter not recognized or not implemented\r\n";
const TOO_LONG: &str = "500 5.5.2 Line too long\r\n";

/// The replies to a MAIL line of `limit` octets and to one of `limit + 1`, after EHLO.
fn replies_at_the_mail_limit(c: ServerConfig, limit: usize) -> String {
    let input = EHLO.to_string() + &mail_line_of(limit) + &mail_line_of(limit + 1) + "NOOP\r\n";
    let r = run(c, input.as_bytes(), defaults);
    let text = r.text();
    // The two replies before the NOOP's.
    let lines: Vec<&str> = text.split_inclusive("\r\n").collect();
    lines[lines.len() - 3..lines.len() - 1].concat()
}

// ---- command line limits (src/server/session_limits.rs) ----

/// RFC 5321 4.5.3.1.4: "SMTP extensions may be used to increase this limit"; RFC 6152
/// (8BITMIME) and RFC 6531 (SMTPUTF8) each bring `BODY=`, so a session that offers either
/// one alone (no SIZE, DSN, BINARYMIME or AUTH) takes a MAIL line of 512 + 16 octets (room
/// for ` BODY=BINARYMIME`) and refuses one octet more with `500 5.5.2`.
#[test]
fn body_parameter_room_follows_8bitmime_or_smtputf8_alone() {
    for smtputf8 in [false, true] {
        let mut c = bare_config();
        c.extensions.eight_bit_mime = !smtputf8;
        c.extensions.smtputf8 = smtputf8;
        assert_eq!(
            replies_at_the_mail_limit(c, 512 + 16 + if smtputf8 { 10 } else { 0 }),
            NOT_RECOGNIZED.to_string() + TOO_LONG,
            "smtputf8 {smtputf8}"
        );
    }
    // Without either, 512 is the limit.
    assert_eq!(
        replies_at_the_mail_limit(bare_config(), 512),
        NOT_RECOGNIZED.to_string() + TOO_LONG
    );
}

/// RFC 5321 4.5.3.1.4 with the Exchange MAIL parameters: `XSHADOW` alone, or X-EXPS alone,
/// gives MAIL lines the room of the Exchange parameters (1,024 octets over 512) without a
/// keyword of `extensions.extra`.
#[test]
fn exchange_parameter_room_follows_xshadow_or_x_exps_alone() {
    for exps in [false, true] {
        let mut c = bare_config();
        if exps {
            c.exchange.exps_mechanisms = vec![ehlo::server::Mechanism::new("NTLM")];
        } else {
            c.exchange.xshadow = true;
        }
        assert_eq!(
            replies_at_the_mail_limit(c, 512 + 1024),
            NOT_RECOGNIZED.to_string() + TOO_LONG,
            "exps {exps}"
        );
    }
}

// ---- message content (src/server/body.rs) ----

/// Drives a session to the start of mail data (DATA accepted with `354`), every event
/// answered with its default.
fn in_data() -> (Server, Run) {
    let mut server = Server::new(config(), t0());
    let mut run = Run::default();
    drain(&mut server, &mut run, &mut defaults);
    server.receive(
        t0(),
        b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\n\
          RCPT TO:<b@example.test>\r\nDATA\r\n",
    );
    drain(&mut server, &mut run, &mut defaults);
    assert!(run
        .text()
        .ends_with("354 Start mail input; end with <CRLF>.<CRLF>\r\n"));
    (server, run)
}

/// RFC 5321 4.1.1.4 and 4.5.2: the end of mail data is `CRLF . CRLF` however the octets
/// are split, and a line's leading dot is dropped. Input that arrives while the session
/// still holds part of the previous read (here a caller that calls `receive` after each
/// event instead of draining them first) follows what is held: nothing is lost, and the
/// terminator completed by the new read ends the message at once.
#[test]
fn input_received_between_content_events_follows_what_is_held() {
    // The held part decodes to nothing (a lone dot that may start the terminator).
    let (mut server, mut run) = in_data();
    server.receive(t0(), b"abc\r\n.");
    match server.poll_event() {
        Some(Event::MessageChunk(b)) => assert_eq!(&b[..], b"abc\r\n"),
        e => panic!("{e:?}"),
    }
    server.receive(t0(), b"\r\n");
    match server.poll_event() {
        Some(Event::MessageEnd { size: 5 }) => server.decide(Decision::Default),
        e => panic!("the terminator ends the message: {e:?}"),
    }
    drain(&mut server, &mut run, &mut defaults);
    assert!(
        run.text().ends_with("250 2.0.0 Message accepted\r\n"),
        "{}",
        run.text()
    );

    // The held part is a dot-stuffed line.
    let (mut server, mut run) = in_data();
    server.receive(t0(), b"abc\r\n..def\r\n");
    match server.poll_event() {
        Some(Event::MessageChunk(b)) => assert_eq!(&b[..], b"abc\r\n"),
        e => panic!("{e:?}"),
    }
    server.receive(t0(), b"ghi\r\n.\r\n");
    let mut content = Vec::new();
    while let Some(e) = server.poll_event() {
        match e {
            Event::MessageChunk(b) => content.extend_from_slice(&b),
            Event::MessageEnd { size } => {
                assert_eq!(size, 16);
                server.decide(Decision::Default);
            }
            e => panic!("{e:?}"),
        }
    }
    assert_eq!(content, b".def\r\nghi\r\n");
    drain(&mut server, &mut run, &mut defaults);
    assert!(
        run.text().ends_with("250 2.0.0 Message accepted\r\n"),
        "{}",
        run.text()
    );
}

// ---- authentication (src/server/auth.rs) ----

/// `auth.require_tls` with NTLM and PLAIN for AUTH and NTLM for X-EXPS.
fn require_tls_config() -> ServerConfig {
    let mut c = config();
    c.extensions.starttls = true;
    c.auth.mechanisms = vec![Mechanism::new("NTLM"), Mechanism::new("PLAIN")];
    c.auth.require_tls = true;
    c.exchange.exps_mechanisms = vec![Mechanism::new("NTLM")];
    c
}

/// RFC 4954 section 6 and `AuthConfig::require_tls`: before TLS every AUTH gets `538
/// 5.7.11`, a mechanism the server does not know too (the client learns nothing of the
/// mechanisms before TLS); X-EXPS, which `require_tls` does not cover, goes on to the
/// caller. Under TLS AUTH is served: an unknown mechanism gets `504 5.5.4` and a known
/// one its exchange (`334`, cancelled by `*` with `501 5.0.0`).
#[test]
fn require_tls_covers_auth_of_any_mechanism_and_not_x_exps() {
    let input = EHLO.to_string() + "AUTH X-UNKNOWN\r\nAUTH NTLM\r\nX-EXPS NTLM\r\n";
    let r = run(require_tls_config(), input.as_bytes(), defaults);
    let encryption = "538 5.7.11 Encryption required for requested authentication mechanism\r\n";
    assert!(
        r.text().ends_with(&format!(
            "{encryption}{encryption}535 5.7.3 Authentication unsuccessful\r\n"
        )),
        "{}",
        r.text()
    );
    assert_eq!(r.kinds()[2..], ["AuthStart"]);

    let input = EHLO.to_string() + "AUTH X-UNKNOWN\r\nAUTH PLAIN\r\n*\r\n";
    let r = run_acts(
        require_tls_config(),
        &[Act::Tls, Act::Input(input.as_bytes())],
        |e| match e {
            Event::AuthStart { .. } => Decision::AuthChallenge(Vec::new()),
            _ => Decision::Default,
        },
    );
    assert!(
        r.text().ends_with(
            "504 5.5.4 Unrecognized authentication type\r\n334 \r\n\
             501 5.0.0 Authentication cancelled\r\n"
        ),
        "{}",
        r.text()
    );
}

/// RFC 4954 section 4: a client response that is not valid BASE64 fails the exchange with
/// `501 5.5.2`; the caller is told why (`AuthAbort::InvalidBase64`, not `Refused`) in
/// both modes, for the initial response and for a continuation line alike.
#[test]
fn a_response_that_is_not_base64_is_reported_as_such_in_both_modes() {
    for builtin in [false, true] {
        let mut c = config();
        c.auth.mechanisms = vec![Mechanism::new("PLAIN")];
        c.auth.allow_plaintext_without_tls = true;
        c.auth.builtin_exchanges = builtin;
        let input = EHLO.to_string() + "AUTH PLAIN dGVzdA\r\nAUTH PLAIN\r\ndGVzdA\r\n";
        let r = run(c, input.as_bytes(), |e| match e {
            Event::AuthStart { .. } => Decision::AuthChallenge(Vec::new()),
            _ => Decision::Default,
        });
        let bad = "501 5.5.2 Cannot Base64-decode client response\r\n";
        assert!(
            r.text().ends_with(&format!("{bad}334 \r\n{bad}")),
            "builtin {builtin}: {}",
            r.text()
        );
        let reasons: Vec<_> = r
            .events
            .iter()
            .filter_map(|e| match e {
                Event::AuthAborted { verb, reason } => Some((*verb, *reason)),
                _ => None,
            })
            .collect();
        assert_eq!(
            reasons,
            [(AuthVerb::Auth, AuthAbort::InvalidBase64); 2],
            "builtin {builtin}"
        );
    }
}

// ---- the Exchange presets (src/server/exchange.rs) ----

/// `EXPS_LINE_LIMIT` in both presets that offer X-EXPS: an X-EXPS line of 72 KiB (a
/// 48,000-octet Kerberos token in base64) is read, four octets more get `500 5.5.6` (RFC
/// 4954 section 4, the authentication buffer).
#[test]
fn exchange_presets_take_x_exps_lines_of_72_kib() {
    let too_long = "500 5.5.6 Authentication exchange line is too long\r\n";
    for preset in [
        ServerConfig::exchange_2016_default,
        ServerConfig::exchange_2003,
    ] {
        for (len, refused) in [(72 * 1024, false), (72 * 1024 + 4, true)] {
            let text = "A".repeat(len - "X-EXPS GSSAPI \r\n".len());
            let line = format!("X-EXPS GSSAPI {text}\r\n");
            assert_eq!(line.len(), len);
            let input = EHLO.to_string() + &line;
            let r = run(preset("mail.example.test"), input.as_bytes(), |e| match e {
                Event::AuthStart { .. } => Decision::AuthFailure,
                _ => Decision::Default,
            });
            assert_eq!(r.text().ends_with(too_long), refused, "{len}");
            assert_eq!(r.kinds().contains(&"AuthStart"), !refused, "{len}");
        }
    }
}

/// \[MS-OXSMTP\] 3.2.5.1 in the Exchange 2003 preset with the built-in exchanges: `AUTH
/// GSSAPI` and `X-EXPS GSSAPI` without an initial response get SASL_Mechanism_Supported
/// (2.2.1), `334 GSSAPI supported`, not RFC 4954's empty `334 `.
#[test]
fn exchange_2003_preset_sends_sasl_mechanism_supported() {
    let mut c = ServerConfig::exchange_2003("mail.example.test");
    c.auth.builtin_exchanges = true;
    let input = EHLO.to_string() + "AUTH GSSAPI\r\n*\r\nX-EXPS GSSAPI\r\n*\r\n";
    let r = run(c, input.as_bytes(), defaults);
    let round = "334 GSSAPI supported\r\n501 5.0.0 Authentication cancelled\r\n";
    assert!(r.text().ends_with(&round.repeat(2)), "{}", r.text());
}

// ---- command dispatch (src/server/commands.rs) ----

const NEED_MAIL: &str = "503 5.5.1 Need MAIL command first\r\n";
const TOO_MANY_ERRORS: &str = "421 4.7.0 Too many errors, closing connection\r\n";

/// RFC 5321 3.3 and 4.1.4: DATA without a transaction is a bad sequence (`503 5.5.1`). Only
/// the one at the end of a group pipelined behind a refused MAIL goes uncounted; a DATA
/// without MAIL anywhere else is a protocol error like any other, and `limits.max_errors`
/// of them close the session with `421 4.7.0` (RFC 5321 4.3.2 allows 421 at any time).
#[test]
fn data_without_mail_counts_as_an_error() {
    let mut c = config();
    c.limits.max_errors = 2;
    let r = run(
        c,
        (EHLO.to_string() + "DATA\r\nDATA\r\n").as_bytes(),
        defaults,
    );
    assert!(
        r.text().ends_with(&(NEED_MAIL.repeat(2) + TOO_MANY_ERRORS)),
        "{}",
        r.text()
    );
    assert!(r.closed);
}

/// `Server::mail_refused_run`: only a refused MAIL (by the caller, by a limit or for its
/// syntax) starts a pipelined group whose RCPT, DATA and BDAT `503`s go uncounted. A
/// syntax error of another command (a HELO without its domain, RFC 5321 4.1.1.1) starts
/// none: the RCPT after it is counted, and the error limit closes the session.
#[test]
fn a_syntax_error_of_another_command_starts_no_uncounted_group() {
    let mut c = config();
    c.limits.max_errors = 2;
    let input = EHLO.to_string() + "HELO\r\nRCPT TO:<b@example.test>\r\nNOOP\r\n";
    let r = run(c, input.as_bytes(), defaults);
    let text = r.text();
    let lines: Vec<&str> = text.split_inclusive("\r\n").collect();
    assert!(lines[lines.len() - 3].starts_with("501 "), "{text}");
    assert_eq!(
        lines[lines.len() - 2..].concat(),
        NEED_MAIL.to_string() + TOO_MANY_ERRORS
    );
    assert!(r.closed);
}

// ---- the envelope (src/server/envelope.rs) ----

/// RFC 5321 4.1.1.11 and RFC 1869 section 6: a parameter of an extension the session did
/// not advertise is `555 5.5.4` whatever its value; the value is judged (`501 5.5.4`)
/// only where the extension is offered. `BODY=` is offered by 8BITMIME (RFC 6152), by
/// SMTPUTF8 (RFC 6531, which brings 8BITMIME) and by BINARYMIME with CHUNKING (RFC 3030
/// section 3), each alone, and by none of CHUNKING or BINARYMIME without the other.
#[test]
fn a_bad_body_value_is_judged_only_where_body_is_offered() {
    type Set = fn(&mut ehlo::server::Extensions);
    let cases: [(&str, Set, bool); 5] = [
        ("8BITMIME", |x| x.eight_bit_mime = true, true),
        ("SMTPUTF8", |x| x.smtputf8 = true, true),
        (
            "BINARYMIME",
            |x| (x.chunking, x.binary_mime) = (true, true),
            true,
        ),
        ("CHUNKING alone", |x| x.chunking = true, false),
        ("BINARYMIME alone", |x| x.binary_mime = true, false),
    ];
    for (name, set, offered) in cases {
        let mut c = bare_config();
        set(&mut c.extensions);
        let input = EHLO.to_string() + "MAIL FROM:<a@example.test> BODY=9BIT\r\n";
        let r = run(c, input.as_bytes(), defaults);
        let text = r.text();
        let last = text.split_inclusive("\r\n").last().unwrap();
        if offered {
            assert!(last.starts_with("501 5.5.4 "), "{name}: {text}");
        } else {
            assert_eq!(last, NOT_RECOGNIZED, "{name}");
        }
    }
}
