//! Transcript tests for the server machine: input bytes in, exact output bytes and
//! events out. One test (or more) per rule of the server issue.

mod server_support;

use ehlo::server::{
    AuthAbort, AuthVerb, Decision, Event, Mechanism, MessageAbort, Server, ServerConfig, TlsVerb,
};
use ehlo::syntax::command::ExchangeVerb;
use ehlo::{EnhancedCode, Reply};
use server_support::*;
use std::borrow::Cow;
use std::time::Duration;

const EHLO: &str = "EHLO client.example.test\r\n";

fn t(s: &str) -> String {
    s.to_string()
}

// ---- greeting, QUIT ----

#[test]
fn greeting_then_quit() {
    let r = run(config(), b"QUIT\r\n", defaults);
    assert_eq!(r.text(), t(GREETING) + "221 2.0.0 Bye\r\n");
    assert_eq!(r.kinds(), ["Connect", "Quit"]);
    assert!(r.closed);
}

#[test]
fn input_after_quit_is_ignored() {
    let r = run(config(), b"QUIT\r\nNOOP\r\n", defaults);
    assert_eq!(r.text(), t(GREETING) + "221 2.0.0 Bye\r\n");
    assert!(r.closed);
}

#[test]
fn refused_connection_serves_only_quit() {
    let r = run(
        config(),
        b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\nQUIT\r\n",
        |e| match e {
            Event::Connect => Decision::Reply(Reply::new(
                554,
                Some(EnhancedCode::new(5, 7, 1)),
                "No service here",
            )),
            _ => Decision::Default,
        },
    );
    assert_eq!(
        r.text(),
        "554 5.7.1 No service here\r\n\
         503 5.5.1 Bad sequence of commands: only QUIT is accepted\r\n\
         503 5.5.1 Bad sequence of commands: only QUIT is accepted\r\n\
         221 2.0.0 Bye\r\n"
    );
    assert_eq!(r.kinds(), ["Connect", "Quit"]);
}

#[test]
fn connect_refused_with_421_closes() {
    let r = run(config(), b"EHLO x\r\n", |_| {
        Decision::Reply(Reply::new(421, Some(EnhancedCode::new(4, 3, 2)), "Busy"))
    });
    assert_eq!(r.text(), "421 4.3.2 Busy\r\n");
    assert!(r.closed);
}

// ---- EHLO / HELO ----

#[test]
fn ehlo_advertises_from_config() {
    let r = run(config(), EHLO.as_bytes(), defaults);
    assert_eq!(r.text(), t(GREETING) + EHLO_DEFAULT);
    match &r.events[1] {
        Event::Ehlo { domain } => assert_eq!(domain, "client.example.test"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn ehlo_exchange_profile() {
    let mut c = config();
    c.limits.max_message_size = 37748736;
    c.extensions.starttls = true;
    c.exchange.anonymous_tls = true;
    c.auth.mechanisms = vec![Mechanism::new("NTLM")];
    c.exchange.exps_mechanisms = vec![Mechanism::new("GSSAPI"), Mechanism::new("NTLM")];
    c.exchange.xrdst = true;
    c.exchange.xshadowrequest = true;
    let r = run(c, EHLO.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + "250-mx.example.test Hello client.example.test\r\n250-SIZE 37748736\r\n\
               250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n\
               250-X-ANONYMOUSTLS\r\n250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM\r\n250-8BITMIME\r\n\
               250-BINARYMIME\r\n250-CHUNKING\r\n250-XRDST\r\n250 XSHADOWREQUEST\r\n"
    );
}

#[test]
fn helo_gets_plain_reply_and_no_extensions() {
    let r = run(
        config(),
        b"HELO client.example.test\r\nMAIL FROM:<a@example.test> SIZE=100\r\nMAIL FROM:<a@example.test>\r\n",
        defaults,
    );
    assert_eq!(
        r.text(),
        t(GREETING)
            + "250 mx.example.test\r\n\
               555 5.5.4 Parameter not recognized or not implemented\r\n\
               250 2.1.0 Sender OK\r\n"
    );
}

#[test]
fn ehlo_rejected_by_caller() {
    let r = run(
        config(),
        b"EHLO bad.example.test\r\nMAIL FROM:<a@example.test>\r\n",
        |e| match e {
            Event::Ehlo { .. } => {
                Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "Go away"))
            }
            _ => Decision::Default,
        },
    );
    assert_eq!(
        r.text(),
        t(GREETING) + "550 5.7.1 Go away\r\n503 5.5.1 Send HELO or EHLO first\r\n"
    );
}

#[test]
fn ehlo_resets_transaction() {
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\n" + EHLO + "RCPT TO:<b@example.test>\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "250 2.1.0 Sender OK\r\n"
            + EHLO_DEFAULT
            + "503 5.5.1 Need MAIL command first\r\n"
    );
}

/// RFC 5321 4.1.4: an acceptable EHLO (or HELO) later in the session resets the state
/// "exactly as if a RSET command had been issued", so the caller hears `Reset` as for
/// RSET: a caller that keeps the chunks of a BDAT message until `Reset` or
/// `MessageAborted` must not glue the abandoned chunk to the next message. A refused
/// EHLO leaves the state (and the transaction) as it was.
#[test]
fn an_ehlo_or_helo_inside_a_transaction_reports_reset() {
    for hello in [
        "EHLO client.example.test\r\n",
        "HELO client.example.test\r\n",
    ] {
        let input = t(EHLO)
            + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 5\r\nhello"
            + hello
            + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nworld\r\n.\r\n";
        let r = run(config(), input.as_bytes(), defaults);
        // What a caller keeps when it discards on Reset and MessageAborted only.
        let mut kept = Vec::new();
        for e in &r.events {
            match e {
                Event::MessageChunk(b) => kept.extend_from_slice(b),
                Event::Reset | Event::MessageAborted(_) => kept.clear(),
                _ => {}
            }
        }
        assert_eq!(kept, b"world\r\n", "{hello:?}: {:?}", r.kinds());
        let kinds = r.kinds();
        assert_eq!(
            kinds.iter().filter(|k| **k == "Reset").count(),
            1,
            "{kinds:?}"
        );
    }
    // No transaction open: nothing to reset, no event.
    let r = run(config(), (t(EHLO) + EHLO).as_bytes(), defaults);
    assert_eq!(r.kinds(), ["Connect", "Ehlo", "Ehlo"]);
    // Refused: the transaction stays open, no Reset.
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\n" + EHLO + "RCPT TO:<b@example.test>\r\n";
    let mut n = 0;
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::Ehlo { .. } => {
            n += 1;
            if n == 2 {
                Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "No"))
            } else {
                Decision::Default
            }
        }
        _ => Decision::Default,
    });
    assert_eq!(r.kinds(), ["Connect", "Ehlo", "MailFrom", "Ehlo", "RcptTo"]);
    assert!(r
        .text()
        .ends_with("550 5.7.1 No\r\n250 2.1.5 Recipient OK\r\n"));
}

// ---- sequencing (RFC 5321 4.1.4) ----

#[test]
fn command_sequence_errors() {
    let input = "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n".to_string()
        + EHLO
        + "RCPT TO:<b@example.test>\r\nDATA\r\nMAIL FROM:<a@example.test>\r\nMAIL FROM:<a@example.test>\r\nDATA\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + "503 5.5.1 Send HELO or EHLO first\r\n\
               503 5.5.1 Need MAIL command first\r\n\
               503 5.5.1 Need MAIL command first\r\n"
            + EHLO_DEFAULT
            + "503 5.5.1 Need MAIL command first\r\n\
               503 5.5.1 Need MAIL command first\r\n\
               250 2.1.0 Sender OK\r\n\
               503 5.5.1 Sender already specified\r\n\
               554 5.5.1 No valid recipients\r\n"
    );
}

#[test]
fn data_without_valid_recipient_is_554() {
    let input =
        t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<x@example.test>\r\nDATA\r\nQUIT\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::RcptTo { .. } => Decision::Reply(Reply::new(
            550,
            Some(EnhancedCode::new(5, 1, 1)),
            "No such user",
        )),
        _ => Decision::Default,
    });
    assert_eq!(
        r.text(),
        t(GREETING) + EHLO_DEFAULT
            + "250 2.1.0 Sender OK\r\n550 5.1.1 No such user\r\n554 5.5.1 No valid recipients\r\n221 2.0.0 Bye\r\n"
    );
    assert!(!r.kinds().contains(&"DataStart"));
}

// ---- RSET, NOOP, HELP, VRFY, EXPN, unknown ----

#[test]
fn simple_commands() {
    let input = t(EHLO) + "NOOP\r\nHELP\r\nVRFY someone\r\nEXPN list\r\nRSET\r\nTURN\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "250 2.0.0 OK\r\n\
               214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n\
               252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n\
               502 5.5.1 EXPN not available\r\n\
               250 2.0.0 OK\r\n\
               502 5.5.1 Command not implemented\r\n"
    );
    assert_eq!(r.kinds(), ["Connect", "Ehlo", "Vrfy", "Expn", "Reset"]);
}

/// README: "TURN and ATRN are answered `502`" (RFC 5321 appendix F.1 deprecates TURN; ATRN,
/// RFC 2645, is on-demand relay this server does not offer): `502 5.5.1` with or without
/// domains, no event for the caller, and the session goes on.
#[test]
fn turn_and_atrn_are_not_implemented() {
    let input = t(EHLO)
        + "ATRN
ATRN example.test,example.org
TURN
MAIL FROM:<a@example.test>
";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "502 5.5.1 Command not implemented\r\n\
               502 5.5.1 Command not implemented\r\n\
               502 5.5.1 Command not implemented\r\n\
               250 2.1.0 Sender OK\r\n"
    );
    assert_eq!(r.kinds(), ["Connect", "Ehlo", "MailFrom"]);
}

/// HELP names BDAT only when CHUNKING is offered; an EXPN the caller accepts without a
/// reply of its own gets an EXPN text, not VRFY's.
#[test]
fn help_and_expn_texts_follow_what_is_served() {
    let mut c = config();
    c.extensions.chunking = false;
    c.extensions.binary_mime = false;
    let input = t(EHLO) + "HELP\r\nEXPN list\r\n";
    let r = run(c, input.as_bytes(), |e| match e {
        Event::Expn { .. } => Decision::Accept,
        _ => Decision::Default,
    });
    assert!(
        r.text().ends_with(
            "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n\
             252 2.5.0 Cannot EXPN list\r\n"
        ),
        "{}",
        r.text()
    );
}

/// RFC 6531 3.7.4.2: `VRFY <string> SMTPUTF8` (and EXPN) in a session that offers
/// SMTPUTF8: the caller gets the string and the flag; elsewhere the words are the string.
#[test]
fn vrfy_and_expn_take_the_smtputf8_parameter_when_offered() {
    let seen = |config: ServerConfig, input: &str| {
        let mut got = Vec::new();
        run(config, input.as_bytes(), |e| {
            match e {
                Event::Vrfy { arg, smtputf8 } | Event::Expn { arg, smtputf8 } => {
                    got.push((arg.clone(), *smtputf8))
                }
                _ => {}
            }
            Decision::Default
        });
        got
    };
    let mut utf8 = config();
    utf8.extensions.smtputf8 = true;
    let input = t(EHLO)
        + "VRFY j\u{f6}s\u{e9} SMTPUTF8\r\nEXPN liste smtputf8\r\nVRFY bob\r\nVRFY SMTPUTF8\r\n";
    assert_eq!(
        seen(utf8.clone(), &input),
        [
            (t("j\u{f6}s\u{e9}"), true),
            (t("liste"), true),
            (t("bob"), false),
            (t("SMTPUTF8"), false),
        ]
    );
    // Not offered (or after HELO): part of the string.
    assert_eq!(
        seen(config(), &(t(EHLO) + "VRFY bob SMTPUTF8\r\n")),
        [(t("bob SMTPUTF8"), false)]
    );
    assert_eq!(
        seen(utf8, "HELO client.example.test\r\nVRFY bob SMTPUTF8\r\n"),
        [(t("bob SMTPUTF8"), false)]
    );
}

#[test]
fn vrfy_decided_by_caller() {
    let input = t(EHLO) + "VRFY postmaster\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::Vrfy { arg, smtputf8 } => {
            assert_eq!(arg, "postmaster");
            assert!(!smtputf8);
            Decision::Reply(Reply::new(
                250,
                Some(EnhancedCode::new(2, 1, 5)),
                "<postmaster@example.test>",
            ))
        }
        _ => Decision::Default,
    });
    assert!(r
        .text()
        .ends_with("250 2.1.5 <postmaster@example.test>\r\n"));
}

#[test]
fn unknown_command_default_and_caller() {
    let input = t(EHLO) + "FOO bar\r\nXYZZY\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::Unknown { verb, .. } if verb == "XYZZY" => Decision::Reply(Reply::new(
            250,
            Some(EnhancedCode::new(2, 0, 0)),
            "Nothing happens",
        )),
        _ => Decision::Default,
    });
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "500 5.5.1 Command unrecognized\r\n250 2.0.0 Nothing happens\r\n"
    );
    match &r.events[2] {
        Event::Unknown { verb, args } => {
            assert_eq!(verb, "FOO");
            assert_eq!(&args[..], b"bar");
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn syntax_errors() {
    let input = t(EHLO) + "\r\nEHLO\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "500 5.5.2 Syntax error, command unrecognized\r\n501 5.5.4 Syntax error in parameters or arguments\r\n"
    );
}

/// RFC 3463 3.2: a syntactically invalid sender address is X.1.7 ("Bad sender's mailbox
/// address syntax"), a recipient's X.1.3 ("Bad destination mailbox address syntax"); the
/// reply codes stay 553 (bad syntax) and 501 (path too long, RFC 5321 4.5.3.1.9). A
/// non-ASCII address keeps X.6.7 (RFC 6531 3.5).
#[test]
fn bad_sender_syntax_is_x_1_7_bad_recipient_syntax_x_1_3() {
    let local65 = "l".repeat(65);
    let input = t(EHLO)
        + "MAIL FROM:<a@@example.test>\r\n"
        + &format!("mail from:<{local65}@example.test>\r\n")
        + "MAIL FROM:<j\u{f6}rg@example.test>\r\n"
        + "MAIL FROM:<a@example.test>\r\n"
        + "RCPT TO:<b@@example.test>\r\n"
        + &format!("RCPT TO:<{local65}@example.test>\r\n");
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "553 5.1.7 Bad address syntax\r\n\
               501 5.1.7 Path too long: local part exceeds 64 octets\r\n\
               553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n\
               250 2.1.0 Sender OK\r\n\
               553 5.1.3 Bad address syntax\r\n\
               501 5.1.3 Path too long: local part exceeds 64 octets\r\n"
    );
}

#[test]
fn unrecognized_and_unadvertised_parameters_are_555() {
    let mut c = config();
    c.extensions.dsn = false;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> FOO=BAR\r\n\
           MAIL FROM:<a@example.test> RET=HDRS\r\n\
           MAIL FROM:<a@example.test> SMTPUTF8\r\n\
           MAIL FROM:<a@example.test> AUTH=<>\r\n\
           MAIL FROM:<a@example.test>\r\n\
           RCPT TO:<b@example.test> NOTIFY=NEVER\r\n\
           RCPT TO:<b@example.test> XYZ\r\n";
    let r = run(c, input.as_bytes(), defaults);
    let p = "555 5.5.4 Parameter not recognized or not implemented\r\n";
    let ehlo = EHLO_DEFAULT.replace("250-DSN\r\n", "");
    assert_eq!(
        r.text(),
        t(GREETING) + &ehlo + p + p + p + p + "250 2.1.0 Sender OK\r\n" + p + p
    );
}

// ---- transactions ----

const TXN: &str = "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n";

#[test]
fn data_transaction() {
    let input = t(EHLO) + TXN + "Subject: x\r\n\r\n..leading dot\r\nend\r\n.\r\nQUIT\r\n";
    let r = run_lines(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
               354 Start mail input; end with <CRLF>.<CRLF>\r\n\
               250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"
    );
    assert_eq!(r.message(), b"Subject: x\r\n\r\n.leading dot\r\nend\r\n");
    let kinds = r.kinds();
    assert_eq!(
        kinds[..5],
        ["Connect", "Ehlo", "MailFrom", "RcptTo", "DataStart"]
    );
    assert_eq!(kinds[kinds.len() - 2..], ["MessageEnd", "Quit"]);
    match &r.events[2] {
        Event::MailFrom { from, .. } => {
            assert!(format!("{from:?}").contains("example.test"))
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn message_end_rejected_and_second_transaction() {
    let input = t(EHLO) + TXN + "one\r\n.\r\n" + TXN + "two\r\n.\r\n";
    let mut n = 0;
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::MessageEnd { .. } => {
            n += 1;
            if n == 1 {
                Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 7, 1)), "Spam"))
            } else {
                Decision::Reply(Reply::new(
                    250,
                    Some(EnhancedCode::new(2, 0, 0)),
                    "Queued as 42",
                ))
            }
        }
        _ => Decision::Default,
    });
    let ok = "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n";
    assert_eq!(
        r.text(),
        t(GREETING) + EHLO_DEFAULT + ok + "550 5.7.1 Spam\r\n" + ok + "250 2.0.0 Queued as 42\r\n"
    );
    assert_eq!(r.message(), b"one\r\ntwo\r\n");
}

#[test]
fn data_start_rejected() {
    let input = t(EHLO) + TXN + "RSET\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::DataStart => Decision::Reply(Reply::new(
            451,
            Some(EnhancedCode::new(4, 3, 0)),
            "Try later",
        )),
        _ => Decision::Default,
    });
    assert!(r
        .text()
        .ends_with("250 2.1.5 Recipient OK\r\n451 4.3.0 Try later\r\n250 2.0.0 OK\r\n"));
}

#[test]
fn rset_clears_transaction() {
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRSET\r\nRCPT TO:<b@example.test>\r\nMAIL FROM:<a@example.test>\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.0.0 OK\r\n\
               503 5.5.1 Need MAIL command first\r\n250 2.1.0 Sender OK\r\n"
    );
}

#[test]
fn recipient_limit_is_452() {
    let mut c = config();
    c.limits.max_recipients = 2;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nRCPT TO:<d@example.test>\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(r.text().ends_with(
        "250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n452 4.5.3 Too many recipients\r\n"
    ));
}

#[test]
fn per_recipient_decisions() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::RcptTo { to, .. } if format!("{to:?}").contains("\"c\"") => Decision::Reply(
            Reply::new(450, Some(EnhancedCode::new(4, 2, 1)), "Mailbox busy"),
        ),
        _ => Decision::Default,
    });
    assert!(
        r.text()
            .ends_with("250 2.1.5 Recipient OK\r\n450 4.2.1 Mailbox busy\r\n"),
        "{}",
        r.text()
    );
}

// ---- BDAT ----

#[test]
fn bdat_transaction() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\n\
           BDAT 5\r\nhello\
           BDAT 8 LAST\r\n world\r\n\
           QUIT\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
               250 2.0.0 5 octets received\r\n250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"
    );
    assert_eq!(r.message(), b"hello world\r\n");
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::MessageEnd { size: 13 })));
}

#[test]
fn bdat_zero_last() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 3\r\nabcBDAT 0 LAST\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r
        .text()
        .ends_with("250 2.0.0 3 octets received\r\n250 2.0.0 Message accepted\r\n"));
    assert_eq!(r.message(), b"abc");
}

#[test]
fn bdat_and_data_do_not_mix() {
    let input =
        t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 3\r\nabcDATA\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r.text().ends_with(
        "250 2.0.0 3 octets received\r\n503 5.5.1 DATA not allowed in a BDAT transaction\r\n"
    ));
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> BODY=BINARYMIME\r\nRCPT TO:<b@example.test>\r\nDATA\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r
        .text()
        .ends_with("503 5.5.1 DATA not allowed in a BDAT transaction\r\n"));
}

#[test]
fn bdat_errors_consume_the_chunk() {
    // Without MAIL: the chunk holds a command that must not run.
    let input = t(EHLO) + "BDAT 6\r\nQUIT\r\nNOOP\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING) + EHLO_DEFAULT + "503 5.5.1 Need MAIL command first\r\n250 2.0.0 OK\r\n"
    );
    assert!(!r.closed);
    // Without recipients.
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nBDAT 6\r\nQUIT\r\nNOOP\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r
        .text()
        .ends_with("250 2.1.0 Sender OK\r\n554 5.5.1 No valid recipients\r\n250 2.0.0 OK\r\n"));
    // Not advertised.
    let mut c = config();
    c.extensions.chunking = false;
    let input = t(EHLO) + "BDAT 6\r\nQUIT\r\nNOOP\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(r
        .text()
        .ends_with("502 5.5.1 Command not implemented\r\n250 2.0.0 OK\r\n"));
}

/// RFC 3030 section 2: a refused chunk fails the transaction. Chunks already pipelined
/// behind it get the same answer up to LAST, a RCPT or DATA after it is refused as after
/// any BDAT, and nothing reaches the caller as a message: a RCPT pipelined after the
/// refused first chunk must not make the next chunk the whole message.
#[test]
fn a_bdat_refused_for_want_of_recipients_fails_the_transaction() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nBDAT 6\r\nhello RCPT TO:<b@example.test>\r\n\
           BDAT 6 LAST\r\n worldDATA\r\nMAIL FROM:<c@example.test>\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "250 2.1.0 Sender OK\r\n\
               554 5.5.1 No valid recipients\r\n\
               503 5.5.1 RCPT not allowed after BDAT\r\n\
               554 5.5.1 No valid recipients\r\n\
               503 5.5.1 Need MAIL command first\r\n\
               250 2.1.0 Sender OK\r\n",
        "{}",
        r.text()
    );
    assert!(!r.kinds().contains(&"MessageEnd"), "{:?}", r.kinds());
    assert!(!r.kinds().contains(&"RcptTo"), "{:?}", r.kinds());
    assert!(r.message().is_empty());
    // DATA in the same transaction after the refused chunk is refused too.
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nBDAT 3\r\nabcDATA\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            "554 5.5.1 No valid recipients\r\n503 5.5.1 DATA not allowed in a BDAT transaction\r\n"
        ),
        "{}",
        r.text()
    );
    assert!(!r.kinds().contains(&"DataStart"));
}

#[test]
fn bdat_too_large() {
    let mut c = config();
    c.limits.max_message_size = 10;
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 6\r\nabcdefBDAT 6 LAST\r\nghijklNOOP\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(r.text().ends_with(
        "250 2.0.0 6 octets received\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 OK\r\n"
    ), "{}", r.text());
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::MessageAborted(MessageAbort::TooLarge))));
    assert!(!r.kinds().contains(&"MessageEnd"));
}

/// RFC 3030 section 4: once a chunk is refused as too large, the chunks the client had
/// already pipelined up to LAST are consumed and get the same `552 5.3.4` (not `503`, and
/// not counted as errors), and the transaction ends with the LAST chunk.
#[test]
fn bdat_too_large_then_pipelined_chunks() {
    let mut c = config();
    c.limits.max_message_size = 10;
    c.limits.max_errors = 2;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n\
           BDAT 8\r\nabcdefghBDAT 8\r\nijklmnopBDAT 2\r\nqrBDAT 1\r\nsBDAT 1 LAST\r\nt\
           MAIL FROM:<a@example.test>\r\n";
    let r = run(c, input.as_bytes(), defaults);
    let too_large = "552 5.3.4 Message size exceeds fixed maximum message size\r\n";
    assert!(
        r.text().ends_with(
            &("250 2.0.0 8 octets received\r\n".to_string()
                + &too_large.repeat(4)
                + "250 2.1.0 Sender OK\r\n")
        ),
        "{}",
        r.text()
    );
    let aborted = r
        .events
        .iter()
        .filter(|e| matches!(e, Event::MessageAborted(MessageAbort::TooLarge)))
        .count();
    assert_eq!(aborted, 1);
    assert!(!r.kinds().contains(&"MessageEnd"));
}

/// RFC 3030 section 2: with PIPELINING, "the receiver-SMTP MUST be prepared to accept and
/// discard additional BDAT chunks already in the pipeline after the failed BDAT". A client
/// pipelines MAIL, RCPT and its chunks; when MAIL is refused, the RCPT and the first BDAT
/// fail with `503 5.5.1`, and the chunks already pipelined behind it up to LAST get the
/// same reply. None of them counts as a protocol error: a long message must not use up
/// the error limit and get the session closed with `421`.
#[test]
fn chunks_pipelined_behind_a_bdat_refused_for_want_of_mail_are_not_errors() {
    let mut c = config();
    c.limits.max_errors = 3;
    let input = t(EHLO)
        + "MAIL FROM:<spam@example.test>\r\nRCPT TO:<b@example.test>\r\n\
           BDAT 2\r\nabBDAT 2\r\ncdBDAT 2\r\nefBDAT 2\r\nghBDAT 1 LAST\r\ni\
           MAIL FROM:<a@example.test>\r\nNOOP\r\n";
    let mut first = true;
    let r = run(c, input.as_bytes(), |e| match e {
        Event::MailFrom { .. } if std::mem::take(&mut first) => Decision::Reply(Reply::new(
            550,
            Some(EnhancedCode::new(5, 7, 1)),
            "Sender rejected",
        )),
        _ => Decision::Default,
    });
    let need_mail = "503 5.5.1 Need MAIL command first\r\n";
    assert!(
        r.text().ends_with(
            &("550 5.7.1 Sender rejected\r\n".to_string()
                + "503 5.5.1 Need MAIL command first\r\n"
                + &need_mail.repeat(5)
                + "250 2.1.0 Sender OK\r\n250 2.0.0 OK\r\n")
        ),
        "{}",
        r.text()
    );
    assert!(!r.closed);
    assert!(!r.kinds().contains(&"Bdat"));
    assert!(r.message().is_empty());
}

/// Outside such a run of pipelined chunks a BDAT without MAIL is a protocol error each
/// time: a NOOP (or any other command) between two of them ends the run.
#[test]
fn bdat_without_mail_counts_as_an_error_again_after_another_command() {
    let mut c = config();
    c.limits.max_errors = 2;
    let input = t(EHLO) + "BDAT 1\r\naNOOP\r\nBDAT 1\r\nbNOOP\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            "503 5.5.1 Need MAIL command first\r\n250 2.0.0 OK\r\n\
             503 5.5.1 Need MAIL command first\r\n\
             421 4.7.0 Too many errors, closing connection\r\n"
        ),
        "{}",
        r.text()
    );
    assert!(r.closed);
}

// ---- SIZE ----

#[test]
fn size_parameter_over_limit() {
    let mut c = config();
    c.limits.max_message_size = 1000;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> SIZE=1001\r\nMAIL FROM:<a@example.test> SIZE=1000\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(r.text().ends_with(
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.1.0 Sender OK\r\n"
    ));
}

/// RFC 1870 section 3: `size-value ::= 1*20DIGIT`. Twenty digits are valid syntax even
/// beyond 2^64, and such a size is over any limit: `552 5.3.4`, not a syntax error.
#[test]
fn a_twenty_digit_size_is_too_large_not_malformed() {
    let input = t(EHLO) + "MAIL FROM:<a@example.test> SIZE=99999999999999999999\r\nNOOP\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 OK\r\n"
        ),
        "{}",
        r.text()
    );
}

/// RFC 1870 section 4: "A parameter value of 0 (zero) indicates that no maximum message
/// size is in force." A server configured with `max_message_size = 0` advertises
/// `SIZE 0`, so it must not then refuse every message (nor every `SIZE=`) as too large:
/// DATA, BDAT and the `SIZE=` parameter all go through.
#[test]
fn max_message_size_zero_means_no_limit() {
    let mut c = config();
    c.limits.max_message_size = 0;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> SIZE=12\r\nRCPT TO:<b@example.test>\r\nDATA\r\n\
           hello\r\n.\r\n\
           MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n\
           BDAT 3\r\nabcBDAT 2 LAST\r\nde\
           QUIT\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(r.text().contains("250-SIZE 0\r\n"), "{}", r.text());
    // SIZE=12 and both messages accepted, none refused as too large.
    assert_eq!(
        after_ehlo(&r.text()),
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "354 Start mail input; end with <CRLF>.<CRLF>",
            "250 2.0.0 Message accepted",
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "250 2.0.0 3 octets received",
            "250 2.0.0 Message accepted",
            "221 2.0.0 Bye",
        ]
    );
    assert_eq!(
        r.kinds().iter().filter(|k| **k == "MessageEnd").count(),
        2,
        "{}",
        r.text()
    );
    assert_eq!(r.message(), b"hello\r\nabcde");
}

#[test]
fn message_too_large_in_transit() {
    let mut c = config();
    c.limits.max_message_size = 100;
    let body = "x".repeat(70) + "\r\n" + &"y".repeat(70) + "\r\n.\r\nNOOP\r\n";
    let input = t(EHLO) + TXN + &body;
    let r = run(c, input.as_bytes(), defaults);
    assert!(r.text().ends_with(
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 OK\r\n"
    ), "{}", r.text());
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::MessageAborted(MessageAbort::Data(_)))));
    assert!(r.message().len() <= 100);
}

/// The size limit is inclusive and counts the message content without the stuffing dots
/// and the terminator (RFC 1870 section 5): a message of exactly `max_message_size`
/// octets is accepted by DATA and by BDAT, one octet more gets `552 5.3.4`.
#[test]
fn message_size_limit_is_inclusive_for_data_and_bdat() {
    let mut c = config();
    c.limits.max_message_size = 12;
    // 12 decoded octets, 15 on the wire before the terminator.
    let data = "ab\r\n..cd\r\n..\r\n.\r\nNOOP\r\n";
    let r = run(c.clone(), (t(EHLO) + TXN + data).as_bytes(), defaults);
    assert!(
        r.text()
            .ends_with("250 2.0.0 Message accepted\r\n250 2.0.0 OK\r\n"),
        "{}",
        r.text()
    );
    assert_eq!(r.message(), b"ab\r\n.cd\r\n.\r\n");
    let bdat = "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n\
                BDAT 5\r\nab\r\n.BDAT 7 LAST\r\ncd\r\n.\r\nNOOP\r\n";
    let r = run(c.clone(), (t(EHLO) + bdat).as_bytes(), defaults);
    assert!(
        r.text()
            .ends_with("250 2.0.0 Message accepted\r\n250 2.0.0 OK\r\n"),
        "{}",
        r.text()
    );
    assert_eq!(r.message(), b"ab\r\n.cd\r\n.\r\n");
    c.limits.max_message_size = 11;
    let r = run(c.clone(), (t(EHLO) + TXN + data).as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 OK\r\n"
        ),
        "{}",
        r.text()
    );
    let r = run(c, (t(EHLO) + bdat).as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 OK\r\n"
        ),
        "{}",
        r.text()
    );
    assert!(!r.kinds().contains(&"MessageEnd"));
}

// ---- PIPELINING ----

#[test]
fn pipelined_session_batches_replies() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n";
    let r = run_pieces(
        config(),
        &[input.as_bytes(), b"body\r\n.\r\nQUIT\r\n"],
        defaults,
    );
    let tx: Vec<String> = r
        .transmits
        .iter()
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
    assert_eq!(
        tx,
        [
            t(GREETING),
            t(EHLO_DEFAULT),
            t("250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n"),
            t("250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"),
        ]
    );
}

fn refuse_first_mail() -> impl FnMut(&Event) -> Decision {
    let mut first = true;
    move |e| match e {
        Event::MailFrom { .. } if std::mem::take(&mut first) => Decision::Reply(Reply::new(
            550,
            Some(EnhancedCode::new(5, 7, 1)),
            "Sender rejected",
        )),
        _ => Decision::Default,
    }
}

/// RFC 2920 section 3.1: a pipelining client sends MAIL, its RCPTs and DATA in one group
/// and reads the replies afterwards. When MAIL is refused, the `503`s to the RCPTs and
/// to the DATA pipelined behind it are answered but not counted as protocol errors: a
/// sender refused with many recipients must get its `550` and the `503`s, not a `421`
/// after `limits.max_errors` of them. The next transaction proceeds.
#[test]
fn group_pipelined_behind_a_refused_mail_does_not_use_up_the_error_limit() {
    let mut c = config();
    c.limits.max_errors = 3;
    let rcpts = "RCPT TO:<b@example.test>\r\n".repeat(6);
    let input =
        t(EHLO) + "MAIL FROM:<spam@example.test>\r\n" + &rcpts + "DATA\r\n" + TXN + "body\r\n.\r\n";
    let r = run(c, input.as_bytes(), refuse_first_mail());
    let need_mail = "503 5.5.1 Need MAIL command first\r\n";
    assert!(
        r.text().ends_with(
            &("550 5.7.1 Sender rejected\r\n".to_string()
                + &need_mail.repeat(7)
                + "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
                   354 Start mail input; end with <CRLF>.<CRLF>\r\n\
                   250 2.0.0 Message accepted\r\n")
        ),
        "{}",
        r.text()
    );
    assert!(!r.closed);
    assert_eq!(r.message(), b"body\r\n");
}

/// The same holds for a MAIL the machine refuses itself (here an unoffered parameter:
/// the `555` counts, what follows does not) and for a group ending in BDAT.
#[test]
fn group_behind_a_mail_refused_by_the_machine_ends_in_bdat_uncounted() {
    let mut c = config();
    c.limits.max_errors = 2;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> FOO=BAR\r\nRCPT TO:<b@example.test>\r\n\
           RCPT TO:<c@example.test>\r\nBDAT 2\r\nabBDAT 1 LAST\r\nc\
           MAIL FROM:<a@example.test>\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            &("555 5.5.4 Parameter not recognized or not implemented\r\n".to_string()
                + &"503 5.5.1 Need MAIL command first\r\n".repeat(4)
                + "250 2.1.0 Sender OK\r\n")
        ),
        "{}",
        r.text()
    );
    assert!(!r.closed);
}

/// The group behind a refused MAIL holds at most as many RCPTs as a transaction takes
/// (`max_recipients`): past that they count again, so a client that sends RCPTs without
/// end after one refused MAIL still reaches `max_errors`.
#[test]
fn the_uncounted_group_behind_a_refused_mail_is_bounded() {
    let mut c = config();
    c.limits.max_errors = 3;
    c.limits.max_recipients = 4;
    let input =
        t(EHLO) + "MAIL FROM:<spam@example.test>\r\n" + &"RCPT TO:<b@example.test>\r\n".repeat(10);
    let r = run(c, input.as_bytes(), refuse_first_mail());
    let need_mail = "503 5.5.1 Need MAIL command first\r\n";
    assert!(
        r.text().ends_with(
            &("550 5.7.1 Sender rejected\r\n".to_string()
                + &need_mail.repeat(4 + 3)
                + "421 4.7.0 Too many errors, closing connection\r\n")
        ),
        "{}",
        r.text()
    );
    assert!(r.closed);
}

/// A MAIL the parser refuses (a bad path: `553 5.1.7`, which counts) is a refused MAIL
/// too: the RCPTs and the DATA pipelined behind it are not counted again.
#[test]
fn group_behind_a_mail_with_bad_syntax_is_not_counted() {
    let mut c = config();
    c.limits.max_errors = 3;
    let input = t(EHLO)
        + "MAIL FROM:<a@@b>\r\n"
        + &"RCPT TO:<b@example.test>\r\n".repeat(5)
        + "DATA\r\nNOOP\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            &("553 5.1.7 Bad address syntax\r\n".to_string()
                + &"503 5.5.1 Need MAIL command first\r\n".repeat(6)
                + "250 2.0.0 OK\r\n")
        ),
        "{}",
        r.text()
    );
    assert!(!r.closed);
}

/// A line refused as too long is a command too: it ends the run behind a refused MAIL
/// (the RCPTs after it count again) and a run of refused BDAT chunks; and a MAIL refused
/// for its length is a refused MAIL, whose pipelined RCPTs are not counted.
#[test]
fn over_long_line_ends_a_run_and_an_over_long_mail_starts_one() {
    let long = format!("NOOP {}\r\n", "x".repeat(600));
    let too_many = "421 4.7.0 Too many errors, closing connection\r\n";
    let need_mail = "503 5.5.1 Need MAIL command first\r\n";
    let mut c = config();
    c.limits.max_errors = 3;
    let input = t(EHLO)
        + "MAIL FROM:<spam@example.test>\r\n"
        + &long
        + &"RCPT TO:<b@example.test>\r\n".repeat(5);
    let r = run(c, input.as_bytes(), refuse_first_mail());
    assert!(
        r.text().ends_with(
            &("550 5.7.1 Sender rejected\r\n500 5.5.2 Line too long\r\n".to_string()
                + &need_mail.repeat(2)
                + too_many)
        ),
        "{}",
        r.text()
    );
    assert!(r.closed);

    let mut c = config();
    c.limits.max_errors = 3;
    let input = t(EHLO) + "BDAT 1\r\na" + &long + &"BDAT 1\r\nb".repeat(3);
    let r = run(c, input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            &(need_mail.to_string() + "500 5.5.2 Line too long\r\n" + need_mail + too_many)
        ),
        "{}",
        r.text()
    );
    assert!(r.closed);

    let mut c = config();
    c.limits.max_errors = 3;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> X-FOO="
        + &"y".repeat(3000)
        + "\r\n"
        + &"RCPT TO:<b@example.test>\r\n".repeat(5)
        + "DATA\r\nNOOP\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            &("500 5.5.2 Line too long\r\n".to_string()
                + &need_mail.repeat(6)
                + "250 2.0.0 OK\r\n")
        ),
        "{}",
        r.text()
    );
    assert!(!r.closed);
}

/// Only directly behind the refused MAIL, and only where PIPELINING was advertised
/// (after HELO, or with PIPELINING off, the client had to wait for the MAIL's reply): a
/// RCPT after another command, or without PIPELINING, counts again.
#[test]
fn rcpt_without_mail_counts_outside_a_pipelined_group() {
    let mut c = config();
    c.limits.max_errors = 2;
    let input = t(EHLO)
        + "MAIL FROM:<spam@example.test>\r\nNOOP\r\n\
           RCPT TO:<b@example.test>\r\nRCPT TO:<b@example.test>\r\n";
    let r = run(c, input.as_bytes(), refuse_first_mail());
    assert!(
        r.text().ends_with(
            "550 5.7.1 Sender rejected\r\n250 2.0.0 OK\r\n\
             503 5.5.1 Need MAIL command first\r\n503 5.5.1 Need MAIL command first\r\n\
             421 4.7.0 Too many errors, closing connection\r\n"
        ),
        "{}",
        r.text()
    );
    assert!(r.closed);

    let mut c = config();
    c.limits.max_errors = 2;
    c.extensions.pipelining = false;
    let input = t(EHLO)
        + "MAIL FROM:<spam@example.test>\r\nRCPT TO:<b@example.test>\r\n\
           RCPT TO:<b@example.test>\r\n";
    let r = run(c, input.as_bytes(), refuse_first_mail());
    assert!(r.text().ends_with(
        "503 5.5.1 Need MAIL command first\r\n\
         421 4.7.0 Too many errors, closing connection\r\n"
    ));
    assert!(r.closed);

    let mut c = config();
    c.limits.max_errors = 2;
    let input = "HELO client.example.test\r\nMAIL FROM:<spam@example.test>\r\n\
                 RCPT TO:<b@example.test>\r\nRCPT TO:<b@example.test>\r\n";
    let r = run(c, input.as_bytes(), refuse_first_mail());
    assert!(r
        .text()
        .ends_with("421 4.7.0 Too many errors, closing connection\r\n"));
    assert!(r.closed);
}

#[test]
fn data_in_same_packet_as_data_command_is_content() {
    let input = t(EHLO) + TXN + "MAIL FROM:<evil@example.test>\r\n.\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(r.message(), b"MAIL FROM:<evil@example.test>\r\n");
    assert!(r.text().ends_with(
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 Message accepted\r\n"
    ));
}

// ---- STARTTLS ----

fn tls_config() -> ServerConfig {
    let mut c = config();
    c.extensions.starttls = true;
    c
}

#[test]
fn starttls_discards_pipelined_plaintext() {
    let first = t(EHLO) + "STARTTLS\r\nMAIL FROM:<evil@example.test>\r\n";
    let r = run_acts(
        tls_config(),
        &[
            Act::Input(first.as_bytes()),
            Act::Input(b"RCPT TO:<evil@example.test>\r\n"),
            Act::Tls,
            Act::Input(b"MAIL FROM:<a@example.test>\r\nEHLO client.example.test\r\nSTARTTLS\r\n"),
        ],
        defaults,
    );
    let ehlo_tls = EHLO_DEFAULT.to_string();
    let ehlo_plain = EHLO_DEFAULT.replace(
        "250-ENHANCEDSTATUSCODES\r\n",
        "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n",
    );
    assert_eq!(
        r.text(),
        t(GREETING)
            + &ehlo_plain
            + "220 2.0.0 Ready to start TLS\r\n"
            + "503 5.5.1 Send HELO or EHLO first\r\n"
            + &ehlo_tls
            + "503 5.5.1 TLS already active\r\n"
    );
    assert_eq!(
        r.kinds(),
        ["Connect", "Ehlo", "StartTls", "TlsUpgrade", "Ehlo"]
    );
    assert!(!r.events.iter().any(|e| matches!(e, Event::MailFrom { .. })));
}

/// RFC 5321 4.3.2: DATA, RSET and QUIT take no argument and SHOULD get `501` with one;
/// RFC 3207 section 4: so does STARTTLS. The refused command changes nothing (4.1.4: the
/// server stays in the state it was in): the transaction stays open, the session too, and
/// no TLS upgrade is asked for.
#[test]
fn argumentless_commands_with_an_argument_are_501_and_change_nothing() {
    for leniency in [
        ehlo::syntax::Leniency::Lenient,
        ehlo::syntax::Leniency::Strict,
    ] {
        let mut c = tls_config();
        c.leniency = leniency;
        let input = t(EHLO)
            + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n\
               RSET now\r\nQUIT now\r\nSTARTTLS now\r\nDATA now\r\nDATA\r\n";
        let r = run(c, input.as_bytes(), defaults);
        let e501 = "501 5.5.4 Syntax error in parameters or arguments\r\n";
        let ehlo = EHLO_DEFAULT.replace(
            "250-ENHANCEDSTATUSCODES\r\n",
            "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n",
        );
        assert_eq!(
            r.text(),
            t(GREETING)
                + &ehlo
                + "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
                + e501
                + e501
                + e501
                + e501
                + "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
            "{leniency:?}"
        );
        assert_eq!(
            r.kinds(),
            ["Connect", "Ehlo", "MailFrom", "RcptTo", "DataStart"],
            "{leniency:?}"
        );
        assert!(!r.closed);
    }
}

/// RFC 5321 4.1.1.3 and 4.5.1: `RCPT TO:<Postmaster>` without a domain (any case) is
/// accepted, in the strict grammar too, and reaches the caller as
/// [`ForwardPath::Postmaster`](ehlo::syntax::path::ForwardPath::Postmaster).
#[test]
fn postmaster_without_a_domain_is_accepted_in_both_grammars() {
    use ehlo::syntax::path::ForwardPath;
    for leniency in [
        ehlo::syntax::Leniency::Lenient,
        ehlo::syntax::Leniency::Strict,
    ] {
        let mut c = config();
        c.leniency = leniency;
        let input = t(EHLO)
            + "MAIL FROM:<a@example.test>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<postMASTER>\r\n";
        let r = run(c, input.as_bytes(), defaults);
        assert!(
            r.text().ends_with(
                "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.1.5 Recipient OK\r\n"
            ),
            "{leniency:?}: {}",
            r.text()
        );
        let to: Vec<_> = r
            .events
            .iter()
            .filter_map(|e| match e {
                Event::RcptTo { to, .. } => Some(to.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(to, [ForwardPath::Postmaster, ForwardPath::Postmaster]);
    }
}

#[test]
fn starttls_refused_and_not_advertised() {
    let input = t(EHLO) + "STARTTLS\r\nNOOP\r\n";
    let r = run(tls_config(), input.as_bytes(), |e| match e {
        Event::StartTls { .. } => Decision::Reply(Reply::new(
            454,
            Some(EnhancedCode::new(4, 7, 0)),
            "TLS not available",
        )),
        _ => Decision::Default,
    });
    assert!(r
        .text()
        .ends_with("454 4.7.0 TLS not available\r\n250 2.0.0 OK\r\n"));
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r
        .text()
        .ends_with("502 5.5.1 Command not implemented\r\n250 2.0.0 OK\r\n"));
    let r = run(tls_config(), b"STARTTLS\r\n", defaults);
    assert_eq!(r.text(), t(GREETING) + "503 5.5.1 Send EHLO first\r\n");
}

#[test]
fn x_anonymoustls_is_the_same_upgrade() {
    let mut c = config();
    c.exchange.anonymous_tls = true;
    let input = t(EHLO) + "X-ANONYMOUSTLS\r\nMAIL FROM:<evil@example.test>\r\n";
    let r = run_acts(
        c.clone(),
        &[
            Act::Input(input.as_bytes()),
            Act::Tls,
            Act::Input(EHLO.as_bytes()),
        ],
        defaults,
    );
    let ehlo_plain = EHLO_DEFAULT.replace(
        "250-ENHANCEDSTATUSCODES\r\n",
        "250-ENHANCEDSTATUSCODES\r\n250-X-ANONYMOUSTLS\r\n",
    );
    assert_eq!(
        r.text(),
        t(GREETING) + &ehlo_plain + "220 2.0.0 Ready to start TLS\r\n" + EHLO_DEFAULT
    );
    assert!(r.events.contains(&Event::StartTls {
        verb: TlsVerb::XAnonymousTls
    }));
    assert!(!r.kinds().contains(&"MailFrom"));
    // Not offered: refused as not implemented, and the session goes on in plain text.
    let r = run(config(), input.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING) + EHLO_DEFAULT + "502 5.5.1 Command not implemented\r\n250 2.1.0 Sender OK\r\n"
    );
    assert!(!r.kinds().contains(&"StartTls"));
}

// ---- AUTH ----

fn auth_config() -> ServerConfig {
    let mut c = tls_config();
    c.auth.mechanisms = vec![
        Mechanism::new("NTLM"),
        Mechanism::new("LOGIN"),
        Mechanism::new("PLAIN"),
    ];
    c.auth.legacy_auth_line = true;
    c
}

#[test]
fn auth_mechanisms_depend_on_tls() {
    let r = run_acts(
        auth_config(),
        &[
            Act::Input(b"EHLO c\r\nSTARTTLS\r\n"),
            Act::Tls,
            Act::Input(b"EHLO c\r\n"),
        ],
        defaults,
    );
    let text = r.text();
    let first = text.split("220 2.0.0").next().unwrap();
    assert!(first.contains("250-AUTH NTLM\r\n"));
    assert!(!first.contains("AUTH=LOGIN"));
    let second = text
        .split("220 2.0.0 Ready to start TLS\r\n")
        .nth(1)
        .unwrap();
    assert!(
        second.contains("250-AUTH NTLM LOGIN PLAIN\r\n250-AUTH=LOGIN\r\n"),
        "{second}"
    );
    assert!(!second.contains("STARTTLS"));
}

#[test]
fn auth_ntlm_exchange_ms_smtpntlm() {
    let input = t(EHLO) + "AUTH NTLM\r\nTlRMTVNTUAABAAAA\r\nTlRMTVNTUAADAAAA\r\nAUTH NTLM\r\n";
    let r = run(auth_config(), input.as_bytes(), |e| match e {
        Event::AuthStart {
            mechanism,
            initial_response: None,
            verb: AuthVerb::Auth,
        } => {
            assert_eq!(mechanism, "NTLM");
            Decision::AuthChallengeText(Cow::Borrowed("ntlm supported"))
        }
        Event::AuthResponse { data, .. } if data.starts_with(b"NTLMSSP\0\x01") => {
            Decision::AuthChallenge(b"NTLMSSP\0\x02\0\0\0".to_vec())
        }
        Event::AuthResponse { .. } => Decision::AuthSuccess {
            identity: "EXAMPLE\\user".into(),
        },
        _ => Decision::Default,
    });
    let ehlo = EHLO_DEFAULT.replace(
        "250-ENHANCEDSTATUSCODES\r\n",
        "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-AUTH NTLM\r\n",
    );
    assert_eq!(
        r.text(),
        t(GREETING) + &ehlo
            + "334 ntlm supported\r\n334 TlRMTVNTUAACAAAA\r\n235 2.7.0 Authentication successful\r\n\
               503 5.5.1 Already authenticated\r\n"
    );
}

#[test]
fn auth_errors() {
    let mut c = auth_config();
    c.auth.allow_plaintext_without_tls = false;
    let input = t(EHLO)
        + "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\nAUTH FOO\r\nAUTH NTLM !!!\r\nAUTH NTLM\r\n*\r\nAUTH NTLM\r\n%%%\r\n\
           MAIL FROM:<a@example.test>\r\nAUTH NTLM\r\n";
    let r = run(c, input.as_bytes(), |e| match e {
        Event::AuthStart { .. } => Decision::AuthChallengeText(Cow::Borrowed("ntlm supported")),
        _ => Decision::Default,
    });
    let tail = r
        .text()
        .split("250 CHUNKING\r\n")
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(
        tail,
        "538 5.7.11 Encryption required for requested authentication mechanism\r\n\
         504 5.5.4 Unrecognized authentication type\r\n\
         501 5.5.2 Cannot Base64-decode client response\r\n\
         334 ntlm supported\r\n501 5.0.0 Authentication cancelled\r\n\
         334 ntlm supported\r\n501 5.5.2 Cannot Base64-decode client response\r\n\
         250 2.1.0 Sender OK\r\n\
         503 5.5.1 AUTH not allowed during a mail transaction\r\n"
    );
    assert!(r.events.contains(&Event::AuthAborted {
        verb: AuthVerb::Auth,
        reason: AuthAbort::Cancelled
    }));
    assert!(r.events.contains(&Event::AuthAborted {
        verb: AuthVerb::Auth,
        reason: AuthAbort::InvalidBase64
    }));
}

#[test]
fn auth_failure_temp_failure_and_initial_responses() {
    let mut c = auth_config();
    c.auth.allow_plaintext_without_tls = true;
    let input = t(EHLO) + "AUTH PLAIN =\r\nAUTH PLAIN AGEAYg==\r\nAUTH LOGIN\r\ndXNlcg==\r\n";
    let mut seen = Vec::new();
    let r = run(c, input.as_bytes(), |e| match e {
        Event::AuthStart {
            initial_response: Some(ir),
            ..
        } => {
            seen.push(ir.clone());
            if ir.is_empty() {
                Decision::AuthFailure
            } else {
                Decision::AuthTemporaryFailure
            }
        }
        Event::AuthStart { .. } => Decision::AuthChallenge(b"Username:".to_vec()),
        Event::AuthResponse { data, .. } => {
            assert_eq!(data, b"user");
            Decision::Default
        }
        _ => Decision::Default,
    });
    assert_eq!(seen, [b"".to_vec(), b"\0a\0b".to_vec()]);
    assert!(r.text().ends_with(
        "535 5.7.8 Authentication credentials invalid\r\n454 4.7.0 Temporary authentication failure\r\n\
         334 VXNlcm5hbWU6\r\n535 5.7.8 Authentication credentials invalid\r\n"
    ), "{}", r.text());
}

/// A connection does not get to try passwords without end: the fifth failed AUTH
/// (`limits.max_auth_failures`) is followed by `421 4.7.0` and the close. Temporary
/// failures (`454`) do not count.
#[test]
fn failed_authentications_are_bounded() {
    let mut c = auth_config();
    c.auth.allow_plaintext_without_tls = true;
    let input = t(EHLO) + &"AUTH PLAIN AGEAYg==\r\n".repeat(8);
    let mut n = 0;
    let r = run(c, input.as_bytes(), |e| match e {
        Event::AuthStart { .. } => {
            n += 1;
            // The first is a temporary failure, which does not count.
            if n == 1 {
                Decision::AuthTemporaryFailure
            } else {
                Decision::AuthFailure
            }
        }
        _ => Decision::Default,
    });
    let text = r.text();
    assert_eq!(text.matches("535 5.7.8").count(), 5, "{text}");
    assert!(
        text.ends_with(
            "535 5.7.8 Authentication credentials invalid\r\n\
             421 4.7.0 Too many authentication failures, closing connection\r\n"
        ),
        "{text}"
    );
    assert!(r.closed);
    assert_eq!(n, 6);
}

/// A built-in OAuth exchange that ends in `535 5.7.8` after the error challenge
/// (RFC 7628 section 3.2.3) is a failed authentication like the caller's `535`: it counts
/// towards `limits.max_auth_failures`, in both server modes.
#[test]
fn failed_oauth_error_exchanges_are_bounded() {
    const XOAUTH2_IR: &str = "AUTH XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHQBAQ==\r\n";
    for builtin in [false, true] {
        let mut c = auth_config();
        c.auth.mechanisms = vec![Mechanism::new("XOAUTH2")];
        c.auth.allow_plaintext_without_tls = true;
        c.auth.builtin_exchanges = builtin;
        // Error challenge, the client's dummy (empty) answer, 535; seven times.
        let input = t(EHLO) + &format!("{XOAUTH2_IR}\r\n").repeat(7);
        let error = br#"{"status":"401"}"#.to_vec();
        let r = run(c, input.as_bytes(), |e| match e {
            // Caller mode: the caller runs the error exchange itself.
            Event::AuthStart { .. } | Event::AuthVerify { .. } => {
                Decision::AuthChallenge(error.clone())
            }
            e if e.is_auth_step() => Decision::AuthFailure,
            _ => Decision::Default,
        });
        let text = r.text();
        assert_eq!(
            text.matches("334 eyJzdGF0dXMiOiI0MDEifQ==\r\n535 5.7.8")
                .count(),
            5,
            "builtin {builtin}: {text}"
        );
        assert!(
            text.ends_with(
                "535 5.7.8 Authentication credentials invalid\r\n\
                 421 4.7.0 Too many authentication failures, closing connection\r\n"
            ),
            "builtin {builtin}: {text}"
        );
        assert!(r.closed);
    }
}

#[test]
fn auth_require_tls_and_require_auth() {
    let mut c = auth_config();
    c.auth.require_tls = true;
    c.auth.require_auth = true;
    let input = t(EHLO) + "AUTH NTLM\r\nMAIL FROM:<a@example.test>\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(!r.text().contains("AUTH NTLM\r\n"));
    assert!(r.text().ends_with(
        "538 5.7.11 Encryption required for requested authentication mechanism\r\n530 5.7.0 Authentication required\r\n"
    ));
}

/// RFC 4954 section 6: with authentication required, VRFY, EXPN and ETRN from an
/// unauthenticated client get `530 5.7.0` and never reach the caller (they would tell it
/// which mailboxes exist, or start queue runs); after AUTH the caller answers them.
#[test]
fn require_auth_covers_vrfy_expn_and_etrn() {
    let mut c = auth_config();
    c.auth.require_auth = true;
    c.extensions.etrn = true;
    let queries = "VRFY bob\r\nEXPN staff\r\nETRN example.test\r\n";
    let input = t(EHLO) + queries + "AUTH NTLM =\r\n" + queries;
    let mut asked = Vec::new();
    let r = run(c, input.as_bytes(), |e| match e {
        Event::AuthStart { .. } => Decision::AuthSuccess {
            identity: "a".into(),
        },
        Event::Vrfy { .. } | Event::Expn { .. } | Event::Etrn { .. } => {
            asked.push(format!("{e:?}"));
            Decision::Default
        }
        _ => Decision::Default,
    });
    let text = r.text();
    let refused = "530 5.7.0 Authentication required\r\n".repeat(3);
    let ok = text.find("235 2.7.0").expect("authenticated");
    assert!(text[..ok].ends_with(&refused), "{text}");
    assert!(!text[ok..].contains("530"), "{text}");
    assert_eq!(asked.len(), 3, "{asked:?}");
}

#[test]
fn authenticated_identity_and_mail_auth_param() {
    let mut c = auth_config();
    c.auth.require_auth = true;
    let input = t(EHLO) + "AUTH NTLM =\r\nMAIL FROM:<a@example.test> AUTH=a@example.test\r\n";
    let mut auth_param = None;
    let r = run(c, input.as_bytes(), |e| match e {
        Event::AuthStart { .. } => Decision::AuthSuccess {
            identity: "a".into(),
        },
        Event::MailFrom { params, .. } => {
            auth_param = params.auth.as_ref().map(|x| x.0.to_string());
            Decision::Default
        }
        _ => Decision::Default,
    });
    assert!(r
        .text()
        .ends_with("235 2.7.0 Authentication successful\r\n250 2.1.0 Sender OK\r\n"));
    assert_eq!(auth_param.as_deref(), Some("a@example.test"));
}

/// RFC 4954 section 5: "If the server does not sufficiently trust the authenticated
/// identity of the client, or if the client is not authenticated, then the server MUST
/// behave as if the AUTH=<> parameter was supplied." The caller sees `AUTH=<>` for a
/// MAIL of an unauthenticated client, whatever mailbox it claimed, and the claimed one
/// once the client authenticated.
#[test]
fn mail_auth_param_of_an_unauthenticated_client_is_empty() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> AUTH=ceo@example.test\r\nRSET\r\n\
           MAIL FROM:<a@example.test> AUTH=<>\r\nRSET\r\n\
           MAIL FROM:<a@example.test>\r\nRSET\r\n\
           AUTH NTLM =\r\nMAIL FROM:<a@example.test> AUTH=a@example.test\r\n";
    let mut seen = Vec::new();
    let r = run(auth_config(), input.as_bytes(), |e| match e {
        Event::AuthStart { .. } => Decision::AuthSuccess {
            identity: "a".into(),
        },
        Event::MailFrom { params, .. } => {
            seen.push(params.auth.as_ref().map(|x| x.0.to_string()));
            Decision::Default
        }
        _ => Decision::Default,
    });
    assert_eq!(r.text().matches("250 2.1.0 Sender OK\r\n").count(), 4);
    assert_eq!(
        seen,
        [
            Some("<>".to_string()),
            Some("<>".to_string()),
            None,
            Some("a@example.test".to_string())
        ]
    );
}

#[test]
fn sasl_line_limit() {
    let long = "A".repeat(12300);
    let input = t(EHLO) + "AUTH NTLM\r\n" + &long + "\r\nNOOP\r\n";
    let r = run(auth_config(), input.as_bytes(), |e| match e {
        Event::AuthStart { .. } => Decision::AuthChallengeText(Cow::Borrowed("ntlm supported")),
        _ => Decision::Default,
    });
    assert!(r.text().ends_with("334 ntlm supported\r\n500 5.5.6 Authentication exchange line is too long\r\n250 2.0.0 OK\r\n"), "{}", r.text());
    // An AUTH command line may be longer than 512 octets but not than 12288.
    let ir = "QUFB".repeat(200);
    let input = t(EHLO) + "AUTH NTLM " + &ir + "\r\n";
    let r = run(auth_config(), input.as_bytes(), |e| match e {
        Event::AuthStart {
            initial_response, ..
        } => {
            assert_eq!(initial_response.as_ref().map(Vec::len), Some(600));
            Decision::AuthFailure
        }
        _ => Decision::Default,
    });
    // NTLM's failure reply ([MS-SMTPNTLM] 2.2.1.4).
    assert!(r
        .text()
        .ends_with("535 5.7.3 Authentication unsuccessful\r\n"));
}

#[test]
fn x_exps_is_separate_from_auth() {
    let mut c = config();
    c.exchange.exps_mechanisms = vec![Mechanism::new("GSSAPI"), Mechanism::new("NTLM")];
    let input = t(EHLO) + "AUTH NTLM\r\nX-EXPS NTLM =\r\nX-EXPS NTLM =\r\n";
    let mut verbs = Vec::new();
    let r = run(c, input.as_bytes(), |e| match e {
        Event::AuthStart { verb, .. } => {
            verbs.push(*verb);
            Decision::AuthSuccess {
                identity: "server$".into(),
            }
        }
        _ => Decision::Default,
    });
    assert_eq!(verbs, [AuthVerb::XExps]);
    assert!(r.text().ends_with(
        "502 5.5.1 Command not implemented\r\n235 2.7.0 Authentication successful\r\n503 5.5.1 Already authenticated\r\n"
    ), "{}", r.text());
}

// ---- Exchange verbs ----

fn xexch50_config() -> ServerConfig {
    let mut c = config();
    c.exchange.xexch50 = true;
    c
}

#[test]
fn xexch50_blob() {
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nXEXCH50 6 2\r\nab\r\ncdNOOP\r\n";
    let r = run(xexch50_config(), input.as_bytes(), defaults);
    assert!(
        r.text().ends_with(
            "250 2.1.5 Recipient OK\r\n354 Send binary data\r\n250 2.0.0 OK\r\n250 2.0.0 OK\r\n"
        ),
        "{}",
        r.text()
    );
    let blob: Vec<u8> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::XExch50Chunk(b) => Some(b.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(blob, b"ab\r\ncd");
    assert!(r.events.contains(&Event::XExch50 { size: 6, mode: 2 }));
}

#[test]
fn xexch50_sequence_and_advertisement() {
    let input = t(EHLO) + "XEXCH50 6 2\r\nMAIL FROM:<a@example.test>\r\nXEXCH50 6 2\r\n";
    let r = run(xexch50_config(), input.as_bytes(), defaults);
    assert!(r.text().contains("250 XEXCH50\r\n"));
    assert!(r.text().ends_with(
        "503 5.5.1 Need MAIL command first\r\n250 2.1.0 Sender OK\r\n503 5.5.1 Need RCPT command first\r\n"
    ));
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r.text().ends_with("502 5.5.1 Command not implemented\r\n250 2.1.0 Sender OK\r\n502 5.5.1 Command not implemented\r\n"));
}

#[test]
fn xexch50_refused_reads_no_blob() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nXEXCH50 6 2\r\nNOOP\r\n";
    let r = run(xexch50_config(), input.as_bytes(), |e| match e {
        Event::XExch50 { .. } => Decision::Reply(Reply::new(
            504,
            Some(EnhancedCode::new(5, 7, 1)),
            "Not authorized",
        )),
        _ => Decision::Default,
    });
    assert!(r
        .text()
        .ends_with("504 5.7.1 Not authorized\r\n250 2.0.0 OK\r\n"));
}

#[test]
fn exchange_verbs() {
    let mut c = config();
    c.exchange.link2state = true;
    let input = t(EHLO) + "X-LINK2STATE LAST CHUNK=abc\r\nX-LINK2STATE FIRST\r\nXSHADOW abc\r\n";
    let mut n = 0;
    let r = run(c, input.as_bytes(), |e| match e {
        Event::Exchange {
            verb: ExchangeVerb::XLink2State,
            args,
        } => {
            n += 1;
            if n == 1 {
                assert_eq!(&args[..], b"LAST CHUNK=abc");
                Decision::Reply(Reply::new(
                    250,
                    Some(EnhancedCode::new(2, 0, 0)),
                    "X-LINK2STATE OK",
                ))
            } else {
                Decision::Default
            }
        }
        _ => Decision::Default,
    });
    assert!(r.text().ends_with(
        "250 2.0.0 X-LINK2STATE OK\r\n500 5.5.1 Command unrecognized\r\n502 5.5.1 Command not implemented\r\n"
    ), "{}", r.text());
}

// ---- limits ----

#[test]
fn long_command_line_resyncs() {
    let long = "NOOP ".to_string() + &"x".repeat(600);
    let input = t(EHLO) + &long + "\r\nNOOP\r\n";
    // Fed in small pieces: nothing of the long line is stored.
    let pieces: Vec<&[u8]> = input.as_bytes().chunks(7).collect();
    let r = run_pieces(config(), &pieces, defaults);
    assert_eq!(
        r.text(),
        t(GREETING) + EHLO_DEFAULT + "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"
    );
    // At most one line limit plus one read is ever held.
    assert!(r.max_buffered < 512 + 7, "{}", r.max_buffered);
}

/// RFC 5321 4.5.3.1.4: extensions may raise the 512-octet command line limit, and the
/// parameters of MAIL and RCPT do: AUTH= adds 500 octets (RFC 4954 section 5), SIZE= 26
/// (RFC 1870), ORCPT= up to 500 characters (RFC 3461 section 4.2). A valid MAIL or RCPT
/// with a long address and those parameters is taken; other verbs keep 512, and a MAIL
/// beyond its own allowance is still `500 5.5.2`.
#[test]
fn mail_and_rcpt_lines_get_the_room_their_parameters_need() {
    let mut c = config();
    c.auth.mechanisms = vec![Mechanism::new("CRAM-MD5")];
    // A legal 250-octet mailbox: a 64-octet local part and a 185-octet domain.
    let domain = format!(
        "{}.{}.{}.test",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(58)
    );
    let mailbox = format!("{}@{domain}", "l".repeat(64));
    let mail = format!("MAIL FROM:<{mailbox}> SIZE=1000 AUTH=<{mailbox}>\r\n");
    let rcpt = format!("RCPT TO:<{mailbox}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{mailbox}\r\n");
    assert!(mail.len() > 512 && rcpt.len() > 512);
    let noop = format!("NOOP {}\r\n", "x".repeat(520));
    let too_long = format!("MAIL FROM:<a@example.test> {}\r\n", "X-Y=1 ".repeat(300));
    let input = t(EHLO) + &mail + &rcpt + &noop + &too_long + "NOOP\r\n";
    // Fed in small pieces too: the verb decides the limit once it has arrived.
    for piece in [input.len(), 7] {
        let pieces: Vec<&[u8]> = input.as_bytes().chunks(piece).collect();
        let r = run_pieces(c.clone(), &pieces, defaults);
        let text = r.text();
        assert!(
            text.ends_with(
                "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
                 500 5.5.2 Line too long\r\n500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"
            ),
            "{text}"
        );
        // A NOOP holds no more than its own limit plus one read.
        assert!(
            r.max_buffered < 512 + 512 + 1000 + 7 + piece,
            "{}",
            r.max_buffered
        );
    }
}

/// RFC 3461 4.2 and 4.4: the 500 characters of an ORCPT address and the 100 of an ENVID
/// are counted before xtext encoding, and each `+`, `=` or SP of them is three octets
/// (`+2B`) on the wire. A RCPT with the longest path, every NOTIFY word and an ORCPT of
/// 500 such characters, and a MAIL with an ENVID of 100, are valid and taken, not `500
/// 5.5.2 Line too long`.
#[test]
fn dsn_parameters_get_room_for_their_xtext_encoding() {
    let domain = format!(
        "{}.{}.{}.test",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(58)
    );
    let mailbox = format!("{}@{domain}", "l".repeat(64));
    let mail = format!(
        "MAIL FROM:<{mailbox}> RET=HDRS ENVID={}\r\n",
        "+2B".repeat(100)
    );
    let rcpt = format!(
        "RCPT TO:<{mailbox}> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;{}\r\n",
        "+3D".repeat(500)
    );
    let mut c = config();
    c.extensions.size = false;
    c.extensions.eight_bit_mime = false;
    c.extensions.chunking = false;
    let out = run(c, (t(EHLO) + &mail + &rcpt).as_bytes(), defaults).text();
    assert_eq!(
        after_ehlo(&out),
        ["250 2.1.0 Sender OK", "250 2.1.5 Recipient OK"],
        "{out}"
    );
}

/// Under `Leniency::Lenient` a bare LF ends a command line as CRLF does, one octet
/// shorter: a line within its limit (RFC 5321 4.5.3.1.4, raised for MAIL and RCPT by the
/// offered extensions) is taken whichever way it ends, never answered `500 Line too long`
/// (4.5.3.1.10) for being one octet short of a CRLF line the server accepts.
#[test]
fn a_bare_lf_line_within_its_limit_is_not_too_long() {
    let mut c = config();
    c.auth.mechanisms = vec![Mechanism::new("CRAM-MD5")];
    let domain = format!(
        "{}.{}.{}.test",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(58)
    );
    let mailbox = format!("{}@{domain}", "l".repeat(64));
    let mail = format!("MAIL FROM:<{mailbox}> SIZE=1000 AUTH=<{mailbox}>");
    assert!(mail.len() > 512);
    // A NOOP line of 512 octets with its CRLF, 511 with a bare LF.
    let noop = format!("NOOP {}", "x".repeat(505));
    for end in ["\r\n", "\n"] {
        let input = t(EHLO) + &mail + end + &noop + end;
        let r = run(c.clone(), input.as_bytes(), defaults);
        assert!(
            r.text()
                .ends_with("250 2.1.0 Sender OK\r\n250 2.0.0 OK\r\n"),
            "{end:?}: {}",
            r.text()
        );
    }
}

#[test]
fn error_limit_closes() {
    let mut c = config();
    c.limits.max_errors = 3;
    let r = run(c, b"FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n", defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + "500 5.5.1 Command unrecognized\r\n500 5.5.1 Command unrecognized\r\n500 5.5.1 Command unrecognized\r\n\
               421 4.7.0 Too many errors, closing connection\r\n"
    );
    assert!(r.closed);
}

#[test]
fn command_and_transaction_limits() {
    let mut c = config();
    c.limits.max_commands = 3;
    let r = run(c, b"NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n", defaults);
    assert_eq!(
        r.text(),
        t(GREETING) + "250 2.0.0 OK\r\n250 2.0.0 OK\r\n250 2.0.0 OK\r\n421 4.7.0 Too many commands, closing connection\r\n"
    );
    let mut c = config();
    c.limits.max_transactions = 1;
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRSET\r\nMAIL FROM:<a@example.test>\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(r.text().ends_with(
        "250 2.0.0 OK\r\n421 4.7.0 Too many messages in this session, closing connection\r\n"
    ));
    assert!(r.closed);
}

#[test]
fn input_buffer_cap() {
    let mut c = config();
    c.limits.max_input_buffer = 1024;
    let big = vec![b'A'; 2000];
    let r = run(c, &big, defaults);
    assert_eq!(
        r.text(),
        t(GREETING) + "421 4.7.0 Too much unprocessed input, closing connection\r\n"
    );
    assert!(r.closed);
}

// ---- timeouts ----

#[test]
fn command_timeout() {
    let r = run_acts(
        config(),
        &[
            Act::Input(EHLO.as_bytes()),
            Act::Wait(Duration::from_secs(299)),
            Act::Wait(Duration::from_secs(300)),
        ],
        defaults,
    );
    assert_eq!(
        r.text(),
        t(GREETING) + EHLO_DEFAULT + "421 4.4.2 Timeout exceeded, closing connection\r\n"
    );
    assert!(r.closed);
}

#[test]
fn timeout_deadlines_follow_the_state() {
    use ehlo::server::Server;
    let now = t0();
    let mut s = Server::new(config(), now);
    assert_eq!(s.poll_event(), Some(Event::Connect));
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(300)));
    s.accept();
    s.receive(
        now,
        b"EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n",
    );
    while let Some(e) = s.poll_event() {
        if e == Event::DataStart {
            assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(120)));
            s.accept();
        } else {
            s.accept();
        }
    }
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(180)));
    s.receive(now, b"x\r\n.\r\n");
    let mut got_end = false;
    while let Some(e) = s.poll_event() {
        if matches!(e, Event::MessageEnd { .. }) {
            got_end = true;
            assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(600)));
            s.handle_timeout(now + Duration::from_secs(599));
            assert!(!s.is_closed());
            s.handle_timeout(now + Duration::from_secs(600));
            assert!(s.is_closed());
        }
    }
    assert!(got_end);
    let mut out = Vec::new();
    while let Some(t) = s.poll_transmit() {
        out.extend_from_slice(&t);
    }
    assert!(String::from_utf8(out)
        .unwrap()
        .ends_with("421 4.4.2 Timeout exceeded, closing connection\r\n"));
    assert_eq!(s.poll_timeout(), None);
}

// ---- enhanced status codes ----

#[test]
fn enhanced_codes_can_be_turned_off() {
    let mut c = config();
    c.extensions.enhanced_status_codes = false;
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nFOO\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(!r.text().contains("ENHANCEDSTATUSCODES"));
    assert!(r
        .text()
        .ends_with("250 Sender OK\r\n500 Command unrecognized\r\n"));
}

/// RFC 2034 section 3: with ENHANCEDSTATUSCODES advertised, a caller's 2xx/4xx/5xx reply
/// without an enhanced code, or with one of another class, goes out with the class's
/// generic code (`2.0.0`, `4.0.0`, `5.0.0`); a matching code is kept.
#[test]
fn caller_reply_gets_a_default_enhanced_code_of_its_class() {
    let decide = |e: &Event| match e {
        Event::RcptTo { to, .. } if to.to_string().contains("nobody") => {
            Decision::Reply(Reply::new(550, None, "No such user"))
        }
        Event::RcptTo { to, .. } if to.to_string().contains("wrong") => Decision::Reply(
            Reply::new(550, Some(EnhancedCode::new(4, 2, 1)), "Mailbox busy"),
        ),
        Event::RcptTo { to, .. } if to.to_string().contains("later") => {
            Decision::Reply(Reply::new(450, None, "Try later"))
        }
        Event::RcptTo { to, .. } if to.to_string().contains("kept") => {
            Decision::Reply(Reply::new(550, Some(EnhancedCode::new(5, 1, 1)), "Unknown"))
        }
        Event::RcptTo { .. } => Decision::Reply(Reply::new(250, None, "Fine")),
        Event::DataStart => Decision::Reply(Reply::new(354, None, "Go ahead")),
        Event::MessageEnd { .. } => Decision::Close(Reply::new(421, None, "Bye now")),
        _ => Decision::Default,
    };
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<nobody@example.test>\r\n\
           RCPT TO:<wrong@example.test>\r\nRCPT TO:<later@example.test>\r\n\
           RCPT TO:<kept@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nx\r\n.\r\n";
    let out = run_lines(config(), input.as_bytes(), decide).text();
    assert_eq!(
        after_ehlo(&out),
        [
            "250 2.1.0 Sender OK",
            "550 5.0.0 No such user",
            "550 5.0.0 Mailbox busy",
            "450 4.0.0 Try later",
            "550 5.1.1 Unknown",
            "250 2.0.0 Fine",
            "354 Go ahead",
            "421 4.0.0 Bye now",
        ]
    );
}

/// The greeting and the EHLO/HELO replies carry no enhanced code (RFC 2034 section 3),
/// so a caller's are left as they are there; after HELO the machine's replies carry
/// codes, and so do the caller's; with ENHANCEDSTATUSCODES off none gets one.
#[test]
fn default_enhanced_codes_skip_greeting_and_hello_replies() {
    let decide = |e: &Event| match e {
        Event::Connect => Decision::Reply(Reply::new(220, None, "mx.example.test hi")),
        Event::Helo { .. } => Decision::Reply(Reply::new(250, None, "mx.example.test")),
        Event::MailFrom { .. } => Decision::Reply(Reply::new(451, None, "Later")),
        _ => Decision::Default,
    };
    let input = "HELO client.example.test\r\nMAIL FROM:<a@example.test>\r\n";
    let out = run_lines(config(), input.as_bytes(), decide).text();
    assert_eq!(
        out,
        "220 mx.example.test hi\r\n250 mx.example.test\r\n451 4.0.0 Later\r\n"
    );
    let mut c = config();
    c.extensions.enhanced_status_codes = false;
    let out = run_lines(c, input.as_bytes(), decide).text();
    assert!(out.ends_with("\r\n451 Later\r\n"), "{out}");
}

// ---- smuggling (../shared/spec/smuggling.md) ----

#[test]
fn smuggling_variants_never_end_data() {
    let variants: [&[u8]; 10] = [
        b"\n.\n",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r.\r",
        b"\r.\r\n",
        b"\r\n.\r",
        b"\r\n.\r\r\n",
        b"\n.\r\r\n",
        b"\r\n.\x00\r\n",
        b"\r\n. \r\n",
    ];
    for v in variants {
        for policy in [
            ehlo::server::BareLineEnding::Reject,
            ehlo::server::BareLineEnding::Normalize,
            ehlo::server::BareLineEnding::PassThrough,
        ] {
            let mut c = config();
            c.bare_line_endings = policy;
            let mut input = (t(EHLO) + TXN + "first").into_bytes();
            input.extend_from_slice(v);
            input.extend_from_slice(b"MAIL FROM:<evil@example.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nforged\r\n.\r\n");
            let r = run(c, &input, defaults);
            let ends = r.kinds().iter().filter(|k| **k == "MessageEnd").count();
            assert!(ends <= 1, "{v:?} {policy:?}");
            assert_eq!(
                r.kinds().iter().filter(|k| **k == "MailFrom").count(),
                1,
                "{v:?} {policy:?}"
            );
            if ends == 1 {
                let m = r.message();
                assert!(m.windows(6).any(|w| w == b"forged"), "{v:?} {policy:?}");
            }
        }
    }
}

// ---- more rules ----

#[test]
fn etrn_event_default_and_not_advertised() {
    let mut c = config();
    c.extensions.etrn = true;
    let input = t(EHLO) + "ETRN @example.test\r\nETRN #queue\r\n";
    let r = run(c, input.as_bytes(), |e| match e {
        Event::Etrn { node } if node == "#queue" => Decision::Accept,
        _ => Decision::Default,
    });
    assert!(r.text().contains("250 ETRN\r\n"));
    assert!(r
        .text()
        .ends_with("458 4.5.0 Unable to queue messages for node\r\n250 2.0.0 Queuing started\r\n"));
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r
        .text()
        .ends_with("502 5.5.1 Command not implemented\r\n502 5.5.1 Command not implemented\r\n"));
}

#[test]
fn smtputf8_addresses_need_the_parameter() {
    let mut c = config();
    c.extensions.smtputf8 = true;
    let input = t(EHLO)
        + "MAIL FROM:<jos\u{e9}@example.test>\r\nMAIL FROM:<jos\u{e9}@example.test> SMTPUTF8\r\nRCPT TO:<\u{f8}@example.test>\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(r.text().contains("250 SMTPUTF8\r\n"));
    assert!(r.text().ends_with(
        "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
    ), "{}", r.text());
}

/// RFC 6533 section 3: in an SMTPUTF8 transaction an ORCPT address may carry UTF-8 as
/// itself only in the `utf-8` address type; an `rfc822` one stays RFC 3461 xtext (ASCII,
/// section 4) and is refused `501 5.5.4` with UTF-8 in it, as itself or xtext-encoded
/// (section 4.2: printable US-ASCII before encoding).
#[test]
fn smtputf8_orcpt_utf8_only_in_the_utf8_address_type() {
    let mut c = config();
    c.extensions.smtputf8 = true;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> SMTPUTF8\r\n\
           RCPT TO:<j\u{f6}rg@example.test> ORCPT=rfc822;j\u{f6}rg@example.test\r\n\
           RCPT TO:<j\u{f6}rg@example.test> ORCPT=utf-8;j\u{f6}rg@example.test\r\n\
           RCPT TO:<j\u{f6}rg@example.test> ORCPT=rfc822;j+C3+B6rg@example.test\r\n";
    let out = run(c, input.as_bytes(), defaults).text();
    assert_eq!(
        after_ehlo(&out),
        [
            "250 2.1.0 Sender OK",
            "501 5.5.4 Invalid parameter value",
            "250 2.1.5 Recipient OK",
            "501 5.5.4 Invalid parameter value"
        ]
    );
}

/// RFC 3461 4.4 and 4.2: ENVID and the ORCPT address are printable US-ASCII before xtext
/// encoding. An escaped CR LF (or another control character) would reach the DSN's
/// `Original-Envelope-Id` or `Original-Recipient` field and end it: `501 5.5.4` where DSN
/// is offered, the `555 5.5.4` of any DSN parameter where it is not.
#[test]
fn envid_and_orcpt_with_control_characters_are_refused() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> ENVID=id+0D+0AX-Injected:+201\r\n\
           MAIL FROM:<a@example.test> ENVID=id+00\r\n\
           MAIL FROM:<a@example.test> ENVID=id+201+092\r\n\
           RCPT TO:<b@example.test> ORCPT=rfc822;b@example.test+0D+0AX:+201\r\n\
           RCPT TO:<b@example.test> ORCPT=rfc822;b+20c@example.test\r\n";
    let out = run(config(), input.as_bytes(), defaults).text();
    assert_eq!(
        after_ehlo(&out),
        [
            "501 5.5.4 Invalid parameter value",
            "501 5.5.4 Invalid parameter value",
            "250 2.1.0 Sender OK",
            "501 5.5.4 Invalid parameter value",
            "250 2.1.5 Recipient OK"
        ]
    );
    let mut c = config();
    c.extensions.dsn = false;
    let out = run(c, input.as_bytes(), defaults).text();
    assert_eq!(
        after_ehlo(&out)[..2],
        [
            "555 5.5.4 Parameter not recognized or not implemented",
            "555 5.5.4 Parameter not recognized or not implemented"
        ]
    );
}

#[test]
fn group_ending_commands_end_a_transmit() {
    let input = t(EHLO) + "RSET\r\nNOOP\r\nRSET\r\nVRFY x\r\nRSET\r\n";
    let r = run_pieces(
        config(),
        &[EHLO.as_bytes(), &input.as_bytes()[EHLO.len()..]],
        defaults,
    );
    let tx: Vec<String> = r
        .transmits
        .iter()
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
    assert_eq!(
        tx,
        [
            t(GREETING),
            t(EHLO_DEFAULT),
            t("250 2.0.0 OK\r\n250 2.0.0 OK\r\n"),
            t("250 2.0.0 OK\r\n252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"),
            t("250 2.0.0 OK\r\n"),
        ]
    );
}

#[test]
fn rcpt_after_bdat_is_503() {
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 1\r\nxRCPT TO:<c@example.test>\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r
        .text()
        .ends_with("250 2.0.0 1 octets received\r\n503 5.5.1 RCPT not allowed after BDAT\r\n"));
}

#[test]
fn rcpt_after_xexch50_is_allowed() {
    let mut c = config();
    c.exchange.xexch50 = true;
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nXEXCH50 2 2\r\nxyRCPT TO:<c@example.test>\r\nXEXCH50 2 2\r\n";
    let r = run(c, input.as_bytes(), defaults);
    assert!(r.text().ends_with(
        "354 Send binary data\r\n250 2.0.0 OK\r\n250 2.1.5 Recipient OK\r\n503 5.5.1 XEXCH50 already received\r\n"
    ), "{}", r.text());
}

#[test]
fn auth_needs_ehlo_and_configuration() {
    let r = run(
        auth_config(),
        b"AUTH NTLM\r\nHELO c\r\nAUTH NTLM\r\n",
        defaults,
    );
    assert_eq!(
        r.text(),
        t(GREETING)
            + "503 5.5.1 Send EHLO first\r\n250 mx.example.test\r\n503 5.5.1 Send EHLO first\r\n"
    );
    let input = t(EHLO) + "AUTH PLAIN\r\n";
    let r = run(config(), input.as_bytes(), defaults);
    assert!(r.text().ends_with("502 5.5.1 Command not implemented\r\n"));
}

#[test]
fn implicit_tls_offers_plaintext_mechanisms() {
    use ehlo::server::Server;
    let mut s = Server::new(auth_config(), t0());
    s.tls_established().unwrap();
    let mut run = Run::default();
    s.receive(t0(), b"EHLO c\r\nAUTH PLAIN AGEAYg==\r\n");
    drain(&mut s, &mut run, &mut |e| match e {
        Event::AuthStart {
            mechanism,
            initial_response,
            ..
        } => {
            assert_eq!(mechanism, "PLAIN");
            assert_eq!(initial_response.as_deref(), Some(&b"\0a\0b"[..]));
            Decision::AuthSuccess {
                identity: "a".into(),
            }
        }
        _ => Decision::Default,
    });
    assert!(s.is_tls());
    assert_eq!(s.authenticated(), Some("a"));
    assert!(!run.text().contains("STARTTLS"));
    assert!(run
        .text()
        .ends_with("235 2.7.0 Authentication successful\r\n"));
}

#[test]
fn close_decision_and_421_reply_close() {
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nNOOP\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::MailFrom { .. } => Decision::Close(Reply::new(
            421,
            Some(EnhancedCode::new(4, 3, 2)),
            "Shutting down",
        )),
        _ => Decision::Default,
    });
    assert!(r.text().ends_with("421 4.3.2 Shutting down\r\n"));
    assert!(r.closed);
}

#[test]
fn session_state_accessors() {
    use ehlo::server::Server;
    let mut s = Server::new(config(), t0());
    let mut run = Run::default();
    s.receive(
        t0(),
        b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n",
    );
    drain(&mut s, &mut run, &mut defaults);
    assert_eq!(s.client_name(), Some("client.example.test"));
    assert!(s.is_esmtp());
    assert!(s.in_transaction());
    assert_eq!(s.recipients(), 1);
    assert_eq!(s.transactions(), 1);
    assert_eq!(s.authenticated(), None);
    assert!(!s.is_decision_pending());
}

#[test]
fn empty_challenge_keeps_the_space() {
    let input = t(EHLO) + "AUTH NTLM\r\n\r\n";
    let r = run(auth_config(), input.as_bytes(), |e| match e {
        Event::AuthStart { .. } => Decision::AuthChallenge(Vec::new()),
        Event::AuthResponse { data, .. } => {
            assert!(data.is_empty());
            Decision::AuthFailure
        }
        _ => Decision::Default,
    });
    assert!(
        r.text()
            .ends_with("334 \r\n535 5.7.3 Authentication unsuccessful\r\n"),
        "{}",
        r.text()
    );
}

#[test]
fn out_of_range_reply_codes_refuse() {
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nMAIL FROM:<a@example.test>\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::MailFrom { .. } => Decision::Reply(Reply::new(150, None, "odd")),
        _ => Decision::Default,
    });
    // Sent as 554, with the 5.0.0 every 5xx carries under ENHANCEDSTATUSCODES (RFC 2034
    // section 3), and no transaction was opened.
    assert!(
        r.text().ends_with("554 5.0.0 odd\r\n554 5.0.0 odd\r\n"),
        "{}",
        r.text()
    );
}

// ---- built-in SASL exchanges (src/sasl) ----

fn builtin_config() -> ServerConfig {
    let mut c = auth_config();
    c.auth.builtin_exchanges = true;
    c.auth.allow_plaintext_without_tls = true;
    c
}

#[test]
fn builtin_login_exchange_ms_xlogin() {
    use ehlo::sasl::Credentials;
    let input = t(EHLO) + "AUTH LOGIN\r\ndGlt\r\ndGFuc3RhYWZs\r\nMAIL FROM:<a@example.test>\r\n";
    let r = run(builtin_config(), input.as_bytes(), |e| match e {
        Event::AuthVerify {
            credentials: Credentials::Login { username, password },
            ..
        } => {
            assert_eq!((username.as_str(), password.as_str()), ("tim", "tanstaafl"));
            Decision::AuthSuccess {
                identity: username.clone(),
            }
        }
        _ => Decision::Default,
    });
    assert!(r.text().ends_with(
        "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n250 2.1.0 Sender OK\r\n"
    ), "{}", r.text());
    assert_eq!(r.kinds().iter().filter(|k| **k == "AuthVerify").count(), 1);
}

#[test]
fn builtin_plain_with_initial_response_and_malformed() {
    use ehlo::sasl::Credentials;
    // "\0tim\0tanstaafl", then a PLAIN message without its NULs.
    let input =
        t(EHLO) + "AUTH PLAIN AHRpbQB0YW5zdGFhZmw=\r\nAUTH PLAIN dGlt\r\nAUTH PLAIN\r\n*\r\n";
    let r = run(builtin_config(), input.as_bytes(), |e| match e {
        Event::AuthVerify {
            credentials: Credentials::Plain {
                authcid, password, ..
            },
            ..
        } => {
            assert_eq!((authcid.as_str(), password.as_str()), ("tim", "tanstaafl"));
            Decision::AuthFailure
        }
        _ => Decision::Default,
    });
    let tail = r
        .text()
        .split("250 CHUNKING\r\n")
        .nth(1)
        .unwrap()
        .to_string();
    assert!(
        tail.starts_with("535 5.7.8 Authentication credentials invalid\r\n501 5.5.2 "),
        "{tail}"
    );
    assert!(
        tail.ends_with("334 \r\n501 5.0.0 Authentication cancelled\r\n"),
        "{tail}"
    );
    assert!(r.events.contains(&Event::AuthAborted {
        verb: AuthVerb::Auth,
        reason: AuthAbort::Refused
    }));
    assert!(r.events.contains(&Event::AuthAborted {
        verb: AuthVerb::Auth,
        reason: AuthAbort::Cancelled
    }));
}

#[test]
fn builtin_ntlm_exchange_ms_smtpntlm() {
    // NEGOTIATE, CHALLENGE and AUTHENTICATE messages: signature plus type.
    let negotiate = b"NTLMSSP\0\x01\0\0\0";
    let challenge = b"NTLMSSP\0\x02\0\0\0";
    let authenticate = b"NTLMSSP\0\x03\0\0\0";
    let b64 = |b: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let input = t(EHLO) + "AUTH NTLM\r\n" + &b64(negotiate) + "\r\n" + &b64(authenticate) + "\r\n";
    let mut tokens = Vec::new();
    let r = run(builtin_config(), input.as_bytes(), |e| match e {
        Event::AuthToken {
            mechanism, data, ..
        } => {
            assert_eq!(mechanism, "NTLM");
            tokens.push(data.clone());
            if data[8] == 1 {
                Decision::AuthChallenge(challenge.to_vec())
            } else {
                Decision::AuthSuccess {
                    identity: "EXAMPLE\\tim".into(),
                }
            }
        }
        _ => Decision::Default,
    });
    assert_eq!(tokens, [negotiate.to_vec(), authenticate.to_vec()]);
    assert!(
        r.text().ends_with(
            &(t("334 ntlm supported\r\n334 ")
                + &b64(challenge)
                + "\r\n235 2.7.0 Authentication successful\r\n")
        ),
        "{}",
        r.text()
    );
}

#[test]
fn data_block_timeout() {
    let input = t(EHLO) + TXN + "partial line";
    let r = run_acts(
        config(),
        &[
            Act::Input(input.as_bytes()),
            Act::Wait(Duration::from_secs(179)),
            Act::Wait(Duration::from_secs(180)),
        ],
        defaults,
    );
    assert!(r.text().ends_with(
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n421 4.4.2 Timeout exceeded, closing connection\r\n"
    ));
    assert!(r.closed);
}

#[test]
fn bdat_and_xexch50_split_across_reads() {
    let mut c = config();
    c.exchange.xexch50 = true;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nXEXCH50 5 2\r\n12345BDAT 10 LAST\r\n0123456789QUIT\r\n";
    let whole = run(c.clone(), input.as_bytes(), defaults);
    let pieces: Vec<&[u8]> = input.as_bytes().chunks(3).collect();
    let split = run_pieces(c, &pieces, defaults);
    assert_eq!(split.text(), whole.text());
    assert_eq!(split.message(), b"0123456789");
    assert!(whole.text().ends_with(
        "354 Send binary data\r\n250 2.0.0 OK\r\n250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"
    ), "{}", whole.text());
}

#[test]
fn tls_only_and_legacy_advertisements() {
    let mut c = tls_config();
    c.extensions.requiretls = true;
    c.exchange.exps_mechanisms = vec![
        Mechanism::new("GSSAPI"),
        Mechanism::new("NTLM"),
        Mechanism::new("LOGIN"),
    ];
    c.exchange.exps_legacy_line = true;
    c.exchange.xexch50 = true;
    c.exchange.link2state = true;
    let r = run_acts(
        c,
        &[
            Act::Input(b"EHLO c\r\nMAIL FROM:<a@example.test> REQUIRETLS\r\nSTARTTLS\r\n"),
            Act::Tls,
            Act::Input(b"EHLO c\r\nMAIL FROM:<a@example.test> REQUIRETLS\r\n"),
        ],
        defaults,
    );
    let text = r.text();
    let (before, after) = text.split_once("220 2.0.0 Ready to start TLS\r\n").unwrap();
    assert!(before.contains("250-X-EXPS GSSAPI NTLM\r\n"), "{before}");
    assert!(!before.contains("REQUIRETLS\r\n250"));
    assert!(before.ends_with("555 5.5.4 Parameter not recognized or not implemented\r\n"));
    assert_eq!(
        after,
        "250-mx.example.test Hello c\r\n250-SIZE 10485760\r\n250-PIPELINING\r\n250-DSN\r\n\
         250-ENHANCEDSTATUSCODES\r\n250-X-EXPS GSSAPI NTLM LOGIN\r\n250-X-EXPS=LOGIN\r\n\
         250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250-REQUIRETLS\r\n250-XEXCH50\r\n\
         250 X-LINK2STATE\r\n250 2.1.0 Sender OK\r\n"
    );
}

// ---- advertised extensions are enforced (LIMITS, DELIVERBY, FUTURERELEASE) ----

/// The replies after the greeting and the EHLO reply.
fn after_ehlo(out: &str) -> Vec<String> {
    let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
    lines.remove(0);
    let end = lines.iter().position(|l| l.starts_with("250 ")).unwrap();
    lines.drain(..=end);
    lines
}

fn with_extra(cap: &str) -> ServerConfig {
    let mut c = config();
    c.extensions.extra.push(ehlo::Capability::parse(cap));
    c
}

/// RFC 9422 section 4.2: an advertised `LIMITS RCPTMAX=2` is enforced like
/// `max_recipients` (`452 4.5.3` for the third RCPT), and replaces it.
#[test]
fn limits_rcptmax_advertised_is_enforced() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n\
           RCPT TO:<c@example.test>\r\nRCPT TO:<d@example.test>\r\n";
    let out = run(with_extra("LIMITS RCPTMAX=2"), input.as_bytes(), defaults).text();
    assert!(out.contains("250 LIMITS RCPTMAX=2\r\n"), "{out}");
    assert_eq!(
        after_ehlo(&out),
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "250 2.1.5 Recipient OK",
            "452 4.5.3 Too many recipients"
        ]
    );
}

/// The advertised RCPTMAX overrides a lower `max_recipients` too: the client was told
/// it may send that many.
#[test]
fn limits_rcptmax_advertised_overrides_a_lower_configured_limit() {
    let mut c = with_extra("LIMITS RCPTMAX=3");
    c.limits.max_recipients = 1;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n\
           RCPT TO:<c@example.test>\r\nRCPT TO:<d@example.test>\r\nRCPT TO:<e@example.test>\r\n";
    let out = run(c, input.as_bytes(), defaults).text();
    let replies = after_ehlo(&out);
    assert_eq!(replies[1..4], ["250 2.1.5 Recipient OK"; 3]);
    assert_eq!(replies[4], "452 4.5.3 Too many recipients");
}

/// RFC 9422 section 4.1: an advertised `LIMITS MAILMAX=1` is enforced like
/// `max_transactions` (`421 4.7.0` and close).
#[test]
fn limits_mailmax_advertised_is_enforced() {
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRSET\r\nMAIL FROM:<a@example.test>\r\n";
    let r = run(with_extra("LIMITS MAILMAX=1"), input.as_bytes(), defaults);
    assert_eq!(
        after_ehlo(&r.text()),
        [
            "250 2.1.0 Sender OK",
            "250 2.0.0 OK",
            "421 4.7.0 Too many messages in this session, closing connection"
        ]
    );
    assert!(r.closed);
}

/// RFC 9422 section 4.3: RCPTDOMAINMAX counts distinct recipient domains per transaction,
/// case-insensitively; a recipient in a domain already seen is fine, one in a new domain
/// beyond the limit gets `452 4.5.3`, and a new transaction starts afresh.
#[test]
fn limits_rcptdomainmax_advertised_is_enforced() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@one.example>\r\nRCPT TO:<c@two.example>\r\n\
           RCPT TO:<d@ONE.Example>\r\nRCPT TO:<Postmaster>\r\nRSET\r\n\
           MAIL FROM:<a@example.test>\r\nRCPT TO:<c@two.example>\r\nRCPT TO:<b@one.example>\r\n";
    let out = run(
        with_extra("LIMITS RCPTDOMAINMAX=1"),
        input.as_bytes(),
        defaults,
    )
    .text();
    assert_eq!(
        after_ehlo(&out),
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "452 4.5.3 Too many recipient domains",
            "250 2.1.5 Recipient OK",
            "250 2.1.5 Recipient OK",
            "250 2.0.0 OK",
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "452 4.5.3 Too many recipient domains",
        ]
    );
}

/// A recipient the caller refused does not count its domain.
#[test]
fn limits_rcptdomainmax_counts_accepted_recipients_only() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<nobody@one.example>\r\n\
           RCPT TO:<b@two.example>\r\nRCPT TO:<c@one.example>\r\n";
    let decide = |e: &Event| match e {
        Event::RcptTo { to, .. } if to.to_string().contains("nobody@") => Decision::Reply(
            Reply::new(550, Some(EnhancedCode::new(5, 1, 1)), "No such user"),
        ),
        _ => Decision::Default,
    };
    let out = run(
        with_extra("LIMITS RCPTDOMAINMAX=1"),
        input.as_bytes(),
        decide,
    )
    .text();
    assert_eq!(
        after_ehlo(&out)[1..],
        [
            "550 5.1.1 No such user",
            "250 2.1.5 Recipient OK",
            "452 4.5.3 Too many recipient domains",
        ]
    );
}

/// `ServerConfig::advertise_limits` advertises the configured limits, which are then
/// the ones enforced.
#[test]
fn advertise_limits_states_the_configured_limits() {
    let mut c = config();
    c.limits.max_recipients = 1;
    c.limits.max_transactions = 7;
    c.extensions
        .extra
        .push(ehlo::Capability::parse("LIMITS RCPTMAX=5"));
    c.advertise_limits();
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n";
    let out = run(c, input.as_bytes(), defaults).text();
    assert!(out.contains("250 LIMITS RCPTMAX=1 MAILMAX=7\r\n"), "{out}");
    assert!(!out.contains("RCPTMAX=5"), "{out}");
    assert_eq!(after_ehlo(&out)[2], "452 4.5.3 Too many recipients");
}

/// RFC 9422 section 4: MAILMAX, RCPTMAX and RCPTDOMAINMAX tell the client how many
/// transactions, RCPTs and recipient domains it may use. A limit of `0` states nothing a
/// client can conform to (a transaction needs a recipient, and RFC 5321 4.5.3.1.8 has the
/// server take at least 100), and this crate's client reads it as no limit. The server
/// must agree with it: after `LIMITS RCPTMAX=0 MAILMAX=0 RCPTDOMAINMAX=0` it does not
/// refuse every MAIL and RCPT; the configured limits apply, as without a LIMITS line.
#[test]
fn limits_of_zero_advertised_are_no_limits_of_their_own() {
    let mut c = with_extra("LIMITS RCPTMAX=0 MAILMAX=0 RCPTDOMAINMAX=0");
    c.limits.max_recipients = 2;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@one.test>\r\n\
           RCPT TO:<c@two.test>\r\nRCPT TO:<d@three.test>\r\n";
    let out = run(c, input.as_bytes(), defaults).text();
    assert!(
        out.contains("250 LIMITS RCPTMAX=0 MAILMAX=0 RCPTDOMAINMAX=0\r\n"),
        "{out}"
    );
    assert_eq!(
        after_ehlo(&out),
        [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "250 2.1.5 Recipient OK",
            "452 4.5.3 Too many recipients"
        ]
    );
}

/// [`ServerConfig::advertise_limits`] never advertises a limit of `0`, which a client
/// reads as no limit (RFC 9422 section 4, see the test above) while a configured `0`
/// refuses everything: with `max_recipients` at 0 only MAILMAX is stated, with both at 0
/// no LIMITS line at all.
#[test]
fn advertise_limits_omits_a_limit_of_zero() {
    let mut c = config();
    c.limits.max_recipients = 0;
    c.advertise_limits();
    assert_eq!(
        c.extensions.extra,
        [ehlo::Capability::parse("LIMITS MAILMAX=1000")]
    );
    c.limits.max_transactions = 0;
    c.advertise_limits();
    assert_eq!(c.extensions.extra, []);
}

fn first_reply_to_mail(c: ServerConfig, params: &str) -> String {
    let input = format!("{EHLO}MAIL FROM:<a@example.test> {params}\r\n");
    after_ehlo(&run(c, input.as_bytes(), defaults).text()).remove(0)
}

/// RFC 2852 section 4: with `DELIVERBY 600`, an R-mode by-time below 600 cannot be
/// honoured and is refused `501 5.5.4`; at or above it, or in N mode, it is accepted.
#[test]
fn deliverby_r_mode_below_minimum_refused() {
    let c = with_extra("DELIVERBY 600");
    assert_eq!(
        first_reply_to_mail(c.clone(), "BY=60;R"),
        "501 5.5.4 Invalid parameter value"
    );
    assert_eq!(
        first_reply_to_mail(c.clone(), "BY=599;RT"),
        "501 5.5.4 Invalid parameter value"
    );
    for ok in ["BY=600;R", "BY=60;N", "BY=-60;N", "BY=0;NT"] {
        assert_eq!(
            first_reply_to_mail(c.clone(), ok),
            "250 2.1.0 Sender OK",
            "{ok}"
        );
    }
}

/// RFC 2852 section 4: in R mode the by-time must be positive; N mode takes zero and
/// negative times.
#[test]
fn deliverby_r_mode_nonpositive_time_refused() {
    let c = with_extra("DELIVERBY");
    for by in ["BY=0;R", "BY=-60;R", "BY=-1;RT"] {
        assert_eq!(
            first_reply_to_mail(c.clone(), by),
            "501 5.5.4 Invalid parameter value",
            "{by}"
        );
    }
    for by in ["BY=1;R", "BY=0;N", "BY=-60;N"] {
        assert_eq!(
            first_reply_to_mail(c.clone(), by),
            "250 2.1.0 Sender OK",
            "{by}"
        );
    }
}

/// RFC 4865: `FUTURERELEASE <max-interval> <max-date-time>` bounds HOLDFOR and HOLDUNTIL.
#[test]
fn futurerelease_holdfor_over_max_refused() {
    let c = with_extra("FUTURERELEASE 3600 2030-01-01T00:00:00Z");
    let out = run(c.clone(), t(EHLO).as_bytes(), defaults).text();
    assert!(
        out.contains("FUTURERELEASE 3600 2030-01-01T00:00:00Z\r\n"),
        "{out}"
    );
    assert_eq!(
        first_reply_to_mail(c.clone(), "HOLDFOR=3601"),
        "501 5.5.4 Invalid parameter value"
    );
    assert_eq!(
        first_reply_to_mail(c.clone(), "HOLDFOR=999999"),
        "501 5.5.4 Invalid parameter value"
    );
    assert_eq!(
        first_reply_to_mail(c, "HOLDFOR=3600"),
        "250 2.1.0 Sender OK"
    );
}

/// HOLDUNTIL is compared with the advertised max-future-release-date-time as an instant,
/// whatever the time zones of the two.
#[test]
fn futurerelease_holduntil_over_max_refused() {
    let c = with_extra("FUTURERELEASE 3600 2030-01-01T00:00:00+01:00");
    for late in [
        "HOLDUNTIL=2099-01-01T00:00:00Z",
        "HOLDUNTIL=2029-12-31T23:00:00.5Z",
        "HOLDUNTIL=2029-12-31T19:00:01-04:00",
    ] {
        assert_eq!(
            first_reply_to_mail(c.clone(), late),
            "501 5.5.4 Invalid parameter value",
            "{late}"
        );
    }
    for ok in [
        "HOLDUNTIL=2029-12-31T23:00:00Z",
        "HOLDUNTIL=2029-12-31T19:00:00-04:00",
        "HOLDUNTIL=2026-06-01T12:00:00.123+02:00",
    ] {
        assert_eq!(
            first_reply_to_mail(c.clone(), ok),
            "250 2.1.0 Sender OK",
            "{ok}"
        );
    }
}

/// RFC 4865 section 3: the holduntil-value is an RFC 3339 date-time; an impossible one
/// is a bad parameter value (`501 5.5.4`).
#[test]
fn futurerelease_holduntil_invalid_date_refused() {
    let c = with_extra("FUTURERELEASE 3600 2030-01-01T00:00:00Z");
    for bad in [
        "HOLDUNTIL=2026-99-99T99:99:99Z",
        "HOLDUNTIL=2026-02-29T00:00:00Z",
        "HOLDUNTIL=2026-01-01T00:00:00",
    ] {
        assert_eq!(
            first_reply_to_mail(c.clone(), bad),
            "501 5.5.4 Invalid parameter value",
            "{bad}"
        );
    }
}

/// RFC 6531 section 3.1: a server offering SMTPUTF8 offers 8BITMIME too. With SMTPUTF8 on
/// and `eight_bit_mime` off, 8BITMIME is still advertised and `BODY=8BITMIME` accepted.
#[test]
fn smtputf8_brings_8bitmime() {
    let mut c = config();
    c.extensions.smtputf8 = true;
    c.extensions.eight_bit_mime = false;
    let input = t(EHLO) + "MAIL FROM:<a@example.test> SMTPUTF8 BODY=8BITMIME\r\n";
    let out = run(c.clone(), input.as_bytes(), defaults).text();
    assert!(out.contains("250-8BITMIME\r\n"), "{out}");
    assert_eq!(after_ehlo(&out), ["250 2.1.0 Sender OK"]);
    // Without SMTPUTF8, the flag decides.
    c.extensions.smtputf8 = false;
    let input = t(EHLO) + "MAIL FROM:<a@example.test> BODY=8BITMIME\r\n";
    let out = run(c, input.as_bytes(), defaults).text();
    assert!(!out.contains("8BITMIME\r\n"), "{out}");
    assert_eq!(
        after_ehlo(&out),
        ["555 5.5.4 Parameter not recognized or not implemented"]
    );
}

/// RFC 1985 section 3: `ETRN` needs a node argument; without one: `501`.
#[test]
fn etrn_without_argument_is_501() {
    let mut c = config();
    c.extensions.etrn = true;
    let input = t(EHLO) + "ETRN\r\n";
    let out = run(c, input.as_bytes(), defaults).text();
    assert!(after_ehlo(&out)[0].starts_with("501 "), "{out}");
}

// ---- decisions that come late, or of the wrong kind ----

/// RFC 5321 4.5.3.2.7: the client gets its full command timeout after the server's reply.
/// A MessageEnd decided six minutes after the final dot (within the 10-minute data
/// termination wait) with `decide_at` starts the client's five minutes at the `250`.
#[test]
fn a_late_decision_with_decide_at_restarts_the_clients_timer() {
    let t0 = t0();
    let mut s = ehlo::server::Server::new(config(), t0);
    s.receive(t0, (t(EHLO) + TXN + "hi\r\n.\r\n").as_bytes());
    while let Some(e) = s.poll_event() {
        if matches!(e, Event::MessageEnd { .. }) {
            break;
        }
        if e.needs_decision() {
            s.accept();
        }
    }
    let decided = t0 + Duration::from_secs(360);
    s.handle_timeout(decided);
    assert!(!s.is_closed());
    s.decide_at(decided, Decision::Accept);
    assert_eq!(s.poll_timeout(), Some(decided + Duration::from_secs(300)));
    s.handle_timeout(decided + Duration::from_secs(299));
    assert!(!s.is_closed());
    // The data block wait after a late 354 also starts at the 354.
    let mut s = ehlo::server::Server::new(config(), t0);
    s.receive(
        t0,
        (t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n").as_bytes(),
    );
    while let Some(e) = s.poll_event() {
        if e == Event::DataStart {
            break;
        }
        if e.needs_decision() {
            s.accept();
        }
    }
    let decided = t0 + Duration::from_secs(100);
    s.decide_at(decided, Decision::Accept);
    assert_eq!(s.poll_timeout(), Some(decided + Duration::from_secs(180)));
}

/// The same holds when the client pipelined the start of its next command behind the
/// final dot (RFC 2920 section 3.1) and the rest has not been read yet: the wait for that
/// command starts at the `250` too, not at its first octet, so the late `250` is not
/// followed at once by `421 4.4.2`.
#[test]
fn a_late_decide_at_restarts_the_wait_for_a_pipelined_partial_command() {
    let t0 = t0();
    let mut s = ehlo::server::Server::new(config(), t0);
    s.receive(t0, (t(EHLO) + TXN + "hi\r\n.\r\nMAI").as_bytes());
    while let Some(e) = s.poll_event() {
        if matches!(e, Event::MessageEnd { .. }) {
            break;
        }
        if e.needs_decision() {
            s.accept();
        }
    }
    let decided = t0 + Duration::from_secs(360);
    s.decide_at(decided, Decision::Accept);
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.poll_timeout(), Some(decided + Duration::from_secs(300)));
    s.handle_timeout(decided + Duration::from_secs(299));
    assert!(!s.is_closed());
    s.receive(
        decided + Duration::from_secs(1),
        b"L FROM:<a@example.test>\r\n",
    );
    assert!(matches!(s.poll_event(), Some(Event::MailFrom { .. })));
}

/// A positive reply the command cannot take (RFC 5321 4.3.2: `354` is DATA's go-ahead,
/// `250`/`251`/`252` RCPT's; RFC 3207: `220` STARTTLS's) would tell the client one thing
/// while the machine does another. The caller's acceptance stands and the standard
/// positive reply goes out instead of its text.
#[test]
fn a_positive_reply_of_the_wrong_code_goes_out_as_the_standard_one() {
    let mut c = config();
    c.extensions.starttls = true;
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n";
    let r = run(c.clone(), input.as_bytes(), |e| match e {
        Event::MailFrom { .. } => Decision::Reply(Reply::new(334, None, "VXNlcm5hbWU6")),
        Event::RcptTo { .. } => Decision::Reply(Reply::new(354, None, "go ahead")),
        Event::DataStart => Decision::Reply(Reply::new(250, None, "go")),
        _ => Decision::Default,
    });
    assert!(
        r.text().ends_with(
            "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n\
             354 Start mail input; end with <CRLF>.<CRLF>\r\n"
        ),
        "{}",
        r.text()
    );
    let r = run(c, (t(EHLO) + "STARTTLS\r\n").as_bytes(), |e| match e {
        Event::StartTls { .. } => Decision::Reply(Reply::new(250, None, "fine")),
        _ => Decision::Default,
    });
    assert!(
        r.text().ends_with("220 2.0.0 Ready to start TLS\r\n"),
        "{}",
        r.text()
    );
}

/// RFC 5321 4.3.2 gives RCPT the positive replies 250 and 251 only (252 is VRFY's and
/// EXPN's "cannot verify"): a caller's 252 to RCPT goes out as the standard 250, like
/// any other positive code the command cannot take; a 251 is kept.
#[test]
fn a_252_to_rcpt_goes_out_as_the_standard_reply() {
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n";
    let r =
        run(config(), input.as_bytes(), |e| match e {
            Event::RcptTo { to, .. } if to.to_string().contains("b@") => Decision::Reply(
                Reply::new(252, Some(EnhancedCode::new(2, 1, 5)), "Cannot verify"),
            ),
            Event::RcptTo { .. } => Decision::Reply(Reply::new(
                251,
                Some(EnhancedCode::new(2, 1, 5)),
                "User not local; will forward",
            )),
            _ => Decision::Default,
        });
    assert!(
        r.text()
            .ends_with("250 2.1.5 Recipient OK\r\n251 2.1.5 User not local; will forward\r\n"),
        "{}",
        r.text()
    );
}

/// A SASL decision to an event other than AUTH does not fit it: refused with
/// `DecisionError::Mismatch`, nothing sent, and the unknown verb still waits for its
/// answer (here the default `500`).
#[test]
fn a_sasl_decision_to_an_unknown_verb_does_not_fit() {
    let mut server = Server::new(config(), t0());
    server.receive(t0(), (t(EHLO) + "FOO\r\n").as_bytes());
    let mut out = Vec::new();
    while let Some(e) = server.poll_event() {
        if matches!(e, Event::Unknown { .. }) {
            assert_eq!(
                server.try_decide(Decision::AuthFailure),
                Err(ehlo::server::DecisionError::Mismatch)
            );
            assert!(server.is_decision_pending());
            server.transmit_into(&mut out);
            assert!(!String::from_utf8_lossy(&out).contains("FOO"));
        }
        if e.needs_decision() {
            server.decide(Decision::Default);
        }
    }
    server.transmit_into(&mut out);
    assert!(String::from_utf8(out)
        .unwrap()
        .ends_with("500 5.5.1 Command unrecognized\r\n"));
}

/// RFC 3207 4.2: the server forgets the transaction on an accepted STARTTLS; after a
/// BDAT chunk the caller hears of it as `Reset` before `TlsUpgrade`.
#[test]
fn starttls_inside_a_transaction_resets_it_and_says_so() {
    let mut c = config();
    c.extensions.starttls = true;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nBDAT 2\r\nhiSTARTTLS\r\n";
    let r = run(c, input.as_bytes(), defaults);
    let kinds = r.kinds();
    let reset = kinds.iter().position(|k| *k == "Reset").expect("a Reset");
    let upgrade = kinds
        .iter()
        .position(|k| *k == "TlsUpgrade")
        .expect("a TlsUpgrade");
    assert!(reset < upgrade, "{kinds:?}");
    assert!(!kinds.contains(&"MessageEnd"));
}

/// A client that stalls in the TLS handshake after STARTTLS times out without a plaintext
/// `421` written into what is by then a TLS stream.
#[test]
fn a_timeout_during_the_tls_handshake_closes_without_a_plaintext_reply() {
    let r = run_acts(
        tls_config(),
        &[
            Act::Input(b"EHLO c\r\nSTARTTLS\r\n"),
            Act::Wait(Duration::from_secs(3600)),
        ],
        defaults,
    );
    assert!(r.closed);
    assert!(
        r.text().ends_with("220 2.0.0 Ready to start TLS\r\n"),
        "{}",
        r.text()
    );
}

/// A [`Decision::Close`] ends the session, so its reply is never a positive one: a `354`
/// to DATA, a `250` to MAIL, a `220` greeting or a `334` / `235` to AUTH followed by a
/// closed connection would tell the client to go on. Any code that is not `4xx` / `5xx`
/// goes out as `421 4.3.0` (RFC 5321 3.8, 4.2.3; RFC 3463 X.3.0).
#[test]
fn close_decision_with_a_positive_code_sends_421() {
    let closing = "421 4.3.0 Service not available, closing transmission channel\r\n";
    let accept_mail = |e: &Event| match e {
        Event::RcptTo { .. } | Event::MailFrom { .. } => Decision::Accept,
        _ => Decision::Default,
    };
    // DATA answered with a Close(354).
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::DataStart => Decision::Close(Reply::new(354, None, "Go ahead")),
        e => accept_mail(e),
    });
    assert!(r.text().ends_with(closing), "{}", r.text());
    assert!(!r.text().contains("354"), "{}", r.text());
    assert!(r.closed);
    // The end of the message answered with a Close(250).
    let input =
        t(EHLO) + "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nx\r\n.\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::MessageEnd { .. } => Decision::Close(Reply::new(250, None, "Queued")),
        e => accept_mail(e),
    });
    assert!(r.text().ends_with(closing), "{}", r.text());
    assert!(!r.text().contains("Queued"), "{}", r.text());
    assert!(r.closed);
    // MAIL answered with a Close(250), the greeting with a Close(220).
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::MailFrom { .. } => Decision::Close(Reply::new(250, None, "Sender fine")),
        _ => Decision::Default,
    });
    assert!(r.text().ends_with(closing), "{}", r.text());
    assert!(r.closed);
    let r = run(config(), EHLO.as_bytes(), |e| match e {
        Event::Connect => Decision::Close(Reply::new(220, None, "Welcome")),
        _ => Decision::Default,
    });
    assert_eq!(r.text(), closing);
    assert!(r.closed);
    // A 5xx Close goes out as given.
    let input = t(EHLO) + "MAIL FROM:<a@example.test>\r\n";
    let r = run(config(), input.as_bytes(), |e| match e {
        Event::MailFrom { .. } => {
            Decision::Close(Reply::new(554, Some(EnhancedCode::new(5, 7, 1)), "Go away"))
        }
        _ => Decision::Default,
    });
    assert!(r.text().ends_with("554 5.7.1 Go away\r\n"), "{}", r.text());
    assert!(r.closed);
}

/// The parameter of an extension the session did not advertise is `555 5.5.4` whatever
/// its value (RFC 5321 4.1.1.11, RFC 1869 section 6): the advertisement is checked before
/// the value, which is only judged (`501 5.5.4`) for an advertised extension.
#[test]
fn unadvertised_parameter_with_a_bad_value_is_555() {
    const MAIL_BAD: [&str; 14] = [
        "RET=FOO",
        "ENVID=a+zz",
        "RET=FULL RET=HDRS",
        "SIZE=abc",
        "BODY=9BIT",
        "BODY=BINARYMIME BODY=7BIT",
        "SMTPUTF8=yes",
        "REQUIRETLS=1",
        "MT-PRIORITY=42",
        "BY=soon;X",
        "HOLDFOR=later",
        "HOLDUNTIL=tomorrow",
        "AUTH=a+zz",
        "XSHADOW=a+zz",
    ];
    const RCPT_BAD: [&str; 3] = ["NOTIFY=SOMETIMES", "ORCPT=nosemicolon", "XORAR=a+zz"];
    let p = "555 5.5.4 Parameter not recognized or not implemented";
    let mut c = config();
    c.extensions.size = false;
    c.extensions.dsn = false;
    c.extensions.eight_bit_mime = false;
    c.extensions.binary_mime = false;
    c.extensions.chunking = false;
    c.extensions.smtputf8 = false;
    c.extensions.requiretls = false;
    c.limits.max_errors = 100;
    let mut input = t(EHLO);
    for m in MAIL_BAD {
        input += &format!("MAIL FROM:<a@example.test> {m}\r\n");
    }
    input += "MAIL FROM:<a@example.test>\r\n";
    for r in RCPT_BAD {
        input += &format!("RCPT TO:<b@example.test> {r}\r\n");
    }
    let out = run(c.clone(), input.as_bytes(), defaults).text();
    let mut want = vec![p; MAIL_BAD.len()];
    want.push("250 2.1.0 Sender OK");
    want.extend([p; RCPT_BAD.len()]);
    assert_eq!(after_ehlo(&out), want, "{out}");
    // After HELO nothing is advertised: the same.
    let out = run(c, input.replace("EHLO", "HELO").as_bytes(), defaults).text();
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(lines, want, "{out}");
}

/// The same bad values under advertised extensions keep their `501 5.5.4`.
#[test]
fn advertised_parameter_with_a_bad_value_is_501() {
    let mut c = config();
    c.extensions.smtputf8 = true;
    c.limits.max_errors = 100;
    for cap in [
        "DELIVERBY",
        "MT-PRIORITY",
        "FUTURERELEASE 604800 2030-01-01T00:00:00Z",
    ] {
        c.extensions.extra.push(ehlo::Capability::parse(cap));
    }
    let mut input = t(EHLO);
    for m in [
        "RET=FOO",
        "ENVID=a+zz",
        "SIZE=abc",
        "BODY=9BIT",
        "SMTPUTF8=yes",
        "MT-PRIORITY=42",
        "BY=soon;X",
        "HOLDFOR=later",
        "HOLDUNTIL=tomorrow",
    ] {
        input += &format!("MAIL FROM:<a@example.test> {m}\r\n");
    }
    input += "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test> NOTIFY=SOMETIMES\r\n\
              RCPT TO:<b@example.test> ORCPT=nosemicolon\r\n";
    let out = run(c, input.as_bytes(), defaults).text();
    let lines = after_ehlo(&out);
    assert_eq!(lines.len(), 12, "{out}");
    for (i, l) in lines.iter().enumerate() {
        if i == 9 {
            assert_eq!(l, "250 2.1.0 Sender OK");
        } else {
            assert!(l.starts_with("501 5.5.4 "), "{i}: {l}\n{out}");
        }
    }
}

/// HELP lists what the session serves: BDAT (CHUNKING, RFC 3030) only in an EHLO session,
/// since before EHLO or after HELO it is `502` (RFC 5321 4.1.1.8).
#[test]
fn help_names_bdat_only_in_an_ehlo_session() {
    let basic = "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n";
    let r = run(
        config(),
        b"HELP\r\nHELO client.example.test\r\nHELP\r\n",
        defaults,
    );
    assert_eq!(
        r.text(),
        t(GREETING) + basic + "250 mx.example.test\r\n" + basic
    );
}

/// RFC 3030 section 3 defines `BODY=BINARYMIME` on its own: a session offering BINARYMIME
/// (with CHUNKING) but neither 8BITMIME nor SMTPUTF8 still offers the BODY parameter, so a
/// bad value or a duplicate of it is judged (`501 5.5.4`), not called unrecognized (RFC
/// 5321 4.1.1.11); `BODY=8BITMIME`, whose extension is not advertised, stays `555 5.5.4`.
#[test]
fn body_offered_by_binarymime_alone_has_its_value_judged() {
    let mut c = config();
    c.extensions.eight_bit_mime = false;
    c.extensions.smtputf8 = false;
    c.limits.max_errors = 100;
    let input = t(EHLO)
        + "MAIL FROM:<a@example.test> BODY=9BIT\r\n\
           MAIL FROM:<a@example.test> BODY=BINARYMIME BODY=BINARYMIME\r\n\
           MAIL FROM:<a@example.test> BODY=8BITMIME\r\n\
           MAIL FROM:<a@example.test> BODY=BINARYMIME\r\n";
    let out = run(c, input.as_bytes(), defaults).text();
    assert!(
        out.contains("250-BINARYMIME\r\n") && !out.contains("8BITMIME\r\n"),
        "{out}"
    );
    let lines = after_ehlo(&out);
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("501 5.5.4 "), "{out}");
    assert!(lines[1].starts_with("501 5.5.4 "), "{out}");
    assert!(lines[2].starts_with("555 5.5.4 "), "{out}");
    assert_eq!(lines[3], "250 2.1.0 Sender OK");
}

/// Line and buffer limits set below RFC 5321's minimums, `0` included, count as those
/// minimums (512-octet command lines, 4.5.3.1.4; 1,000-octet content lines, 4.5.3.1.6):
/// a whole session with a 998-octet content line and AUTH PLAIN runs as with the
/// defaults, with no reply nobody asked for.
#[test]
fn line_and_buffer_limits_below_the_rfc_minimums_count_as_the_minimums() {
    let mut zero = config();
    zero.limits.max_command_line = 0;
    zero.limits.max_sasl_line = 0;
    zero.limits.max_text_line = 0;
    zero.limits.max_input_buffer = 0;
    zero.auth.mechanisms = vec![Mechanism::new("PLAIN")];
    zero.auth.allow_plaintext_without_tls = true;
    zero.auth.builtin_exchanges = true;
    let mut normal = config();
    normal.auth = zero.auth.clone();
    let line = "x".repeat(998);
    let local = "l".repeat(64);
    let input = format!(
        "{EHLO}AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<{local}@example.test>\r\n\
         RCPT TO:<b@example.test>\r\nDATA\r\n{line}\r\n.\r\nQUIT\r\n"
    );
    let decide = |e: &Event| match e {
        Event::AuthVerify { .. } => Decision::AuthSuccess {
            identity: "alice".into(),
        },
        _ => Decision::Default,
    };
    // An empty session first: nothing may come out but the greeting.
    let idle = run(zero.clone(), b"", defaults);
    assert_eq!(idle.text(), t(GREETING));
    // Fed as `input_room` allows (the input cap counts as one command line, 512 octets).
    let mut server = Server::new(zero, t0());
    let mut out = Vec::new();
    let mut rest = input.as_bytes();
    while !server.is_closed() {
        let room = server.input_room();
        assert!(
            room > 0 || rest.is_empty(),
            "stalled with {} octets left",
            rest.len()
        );
        let (piece, tail) = rest.split_at(rest.len().min(room));
        server.receive(t0(), piece);
        rest = tail;
        while let Some(e) = server.poll_event() {
            if e.needs_decision() {
                server.decide(decide(&e));
            }
        }
        server.transmit_into(&mut out);
        if rest.is_empty() && !server.is_closed() {
            break;
        }
    }
    let n = run(normal, input.as_bytes(), decide);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text, n.text());
    assert!(text.contains("235 2.7.0"), "{text}");
    assert!(
        text.ends_with("250 2.0.0 Message accepted\r\n221 2.0.0 Bye\r\n"),
        "{text}"
    );
}

/// A line longer than the input cap can never complete there (the caller feeds at most
/// `input_room`): it is refused as too long and skipped, never waited for until the
/// timeout. Here an AUTH line (SASL limit 12,288) against a 1,024-octet cap.
#[test]
fn a_line_longer_than_the_input_cap_is_refused_not_waited_for() {
    let mut c = config();
    c.limits.max_input_buffer = 1024;
    c.auth.mechanisms = vec![Mechanism::new("PLAIN")];
    c.auth.allow_plaintext_without_tls = true;
    let long = format!("AUTH PLAIN {}\r\n", "A".repeat(2000));
    let input = format!("{EHLO}{long}NOOP\r\n");
    let mut server = Server::new(c, t0());
    let mut out = Vec::new();
    let mut rest = input.as_bytes();
    while !rest.is_empty() {
        let room = server.input_room();
        assert!(room > 0, "stalled with {} octets left", rest.len());
        let (piece, tail) = rest.split_at(rest.len().min(room));
        server.receive(t0(), piece);
        rest = tail;
        while let Some(e) = server.poll_event() {
            if e.needs_decision() {
                server.decide(Decision::Default);
            }
        }
        server.transmit_into(&mut out);
    }
    let text = String::from_utf8(out).unwrap();
    assert!(!server.is_closed(), "{text}");
    let after = &text[text.rfind("250 CHUNKING\r\n").unwrap() + 14..];
    assert_eq!(
        after,
        "500 5.5.6 Authentication exchange line is too long\r\n250 2.0.0 OK\r\n"
    );
}

/// `ServerLimits`: a count of `0` allows none. `max_commands = 0` closes at the first
/// command and `max_transactions = 0` at the first MAIL, both with `421 4.7.0` instead of
/// a reply; `max_errors` and `max_auth_failures` count the failure the `421` follows, so
/// `0` is the same as `1`.
#[test]
fn zero_limits_allow_none() {
    let mut c = config();
    c.limits.max_commands = 0;
    let r = run(c, EHLO.as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING) + "421 4.7.0 Too many commands, closing connection\r\n"
    );
    assert_eq!(r.kinds(), ["Connect"]);
    assert!(r.closed);

    let mut c = config();
    c.limits.max_transactions = 0;
    let r = run(
        c,
        (t(EHLO) + "MAIL FROM:<a@example.test>\r\nNOOP\r\n").as_bytes(),
        defaults,
    );
    assert_eq!(
        r.text(),
        t(GREETING)
            + EHLO_DEFAULT
            + "421 4.7.0 Too many messages in this session, closing connection\r\n"
    );
    assert_eq!(r.kinds(), ["Connect", "Ehlo"]);
    assert!(r.closed);

    for n in [0, 1] {
        let mut c = config();
        c.limits.max_errors = n;
        let r = run(c, (t(EHLO) + "FOO\r\nNOOP\r\n").as_bytes(), defaults);
        assert_eq!(
            r.text(),
            t(GREETING)
                + EHLO_DEFAULT
                + "500 5.5.1 Command unrecognized\r\n\
                   421 4.7.0 Too many errors, closing connection\r\n",
            "max_errors = {n}"
        );

        let mut c = config();
        c.limits.max_auth_failures = n;
        c.auth.mechanisms = vec![Mechanism::new("X-CUSTOM")];
        c.auth.allow_plaintext_without_tls = true;
        let r = run(
            c,
            (t(EHLO) + "AUTH X-CUSTOM\r\nNOOP\r\n").as_bytes(),
            defaults,
        );
        assert!(
            r.text().ends_with(
                "250 CHUNKING\r\n535 5.7.8 Authentication credentials invalid\r\n\
                 421 4.7.0 Too many authentication failures, closing connection\r\n"
            ),
            "max_auth_failures = {n}: {}",
            r.text()
        );
        assert!(r.closed);
    }
}

/// `Extensions`: a command of an extension that is off is `502 5.5.1`; one of an
/// extension that is on but not advertised in the session (after HELO) is
/// `503 5.5.1 Send EHLO first`, except BDAT (`502 5.5.1`, its chunk read and dropped);
/// the parameters are `555 5.5.4` either way. `AuthConfig::mechanisms` empty: AUTH is
/// `502 5.5.1`.
#[test]
fn commands_of_extensions_off_or_not_advertised() {
    let input = "STARTTLS\r\nETRN x\r\nAUTH CRAM-MD5\r\nX-LINK2STATE x\r\n\
        MAIL FROM:<a@example.test> RET=FULL\r\nBDAT 4 LAST\r\nQUITNOOP\r\n";
    let mut off = config();
    off.extensions.dsn = false;
    off.extensions.chunking = false;
    let r = run(off, format!("EHLO c\r\n{input}").as_bytes(), defaults);
    let text = r.text();
    let after = &text[text.find("250 8BITMIME\r\n").unwrap() + 14..];
    assert_eq!(
        after,
        "502 5.5.1 Command not implemented\r\n".repeat(4)
            + "555 5.5.4 Parameter not recognized or not implemented\r\n\
               502 5.5.1 Command not implemented\r\n\
               250 2.0.0 OK\r\n"
    );
    let mut on = config();
    on.extensions.starttls = true;
    on.extensions.etrn = true;
    on.auth.mechanisms = vec![Mechanism::new("CRAM-MD5")];
    on.exchange.link2state = true;
    let r = run(on, format!("HELO c\r\n{input}").as_bytes(), defaults);
    assert_eq!(
        r.text(),
        t(GREETING)
            + "250 mx.example.test\r\n"
            + &"503 5.5.1 Send EHLO first\r\n".repeat(4)
            + "555 5.5.4 Parameter not recognized or not implemented\r\n\
               502 5.5.1 Command not implemented\r\n\
               250 2.0.0 OK\r\n"
    );
    assert_eq!(r.kinds(), ["Connect", "Helo"]);
}

/// `Extensions::vrfy_keyword` and `help_keyword` add `VRFY` and `HELP` to the EHLO reply
/// (informational: both commands are answered either way).
#[test]
fn vrfy_and_help_keywords() {
    let mut c = config();
    c.extensions.vrfy_keyword = true;
    c.extensions.help_keyword = true;
    let r = run(c, EHLO.as_bytes(), defaults);
    assert!(
        r.text()
            .ends_with("250-CHUNKING\r\n250-VRFY\r\n250 HELP\r\n"),
        "{}",
        r.text()
    );
    let r = run(config(), EHLO.as_bytes(), defaults);
    assert!(!r.text().contains("VRFY") && !r.text().contains("HELP"));
}
