//! The client's reaction to every reply class at every point where it waits for a reply,
//! as one table: each point of a session (greeting, EHLO, HELO, STARTTLS, each AUTH step,
//! MAIL, each RCPT, DATA, end of data, each BDAT chunk, with and without PIPELINING, RSET,
//! QUIT) crossed with each kind of reply (the expected one, another `2yz`, an unexpected
//! `3yz`, `421`, other `4yz`, `5yz`, out-of-range codes, a multi-line reply whose lines
//! disagree, a bad enhanced status code, the connection closing). Each cell states the
//! events the reply gives, the exact bytes the client sends next, each message's result
//! with its per-recipient outcomes, and whether the session goes on (a scripted server then
//! answers everything with success, and every queued message must be delivered and the
//! session end with `QUIT`).
//!
//! Every session queues two messages before anything happens: M1 to `b` and `c`, M2 to `d`;
//! both bodies are 4 octets (`SIZE=4` on MAIL, so MAIL carries a parameter). The rule each
//! expectation follows is cited in [`want`]; where several reactions are allowed the cell
//! asserts the one the client has, and says so.

mod client_support;

use base64::Engine as _;
use client_support::*;
use ehlo::client::*;
use ehlo::sasl::Mechanism;
use ehlo::Reply;
use std::collections::VecDeque;

// ---- the points where the client waits for a reply ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// The `220` greeting.
    Greeting,
    /// EHLO.
    Ehlo,
    /// HELO, after `502` to EHLO.
    Helo,
    /// STARTTLS with [`TlsPolicy::Opportunistic`].
    StartTls,
    /// STARTTLS with [`TlsPolicy::Required`].
    StartTlsRequired,
    /// `AUTH LOGIN` (the user name prompt, `334`, expected).
    Auth1,
    /// The user name (the password prompt expected).
    Auth2,
    /// The password (`235` expected).
    Auth3,
    /// `AUTH PLAIN` with its initial response (RFC 4954 4): one step, `235` expected.
    AuthPlain,
    /// MAIL, one command at a time.
    Mail,
    /// The first RCPT (M1 has two).
    Rcpt1,
    /// The second RCPT, the first accepted.
    Rcpt2,
    /// The second RCPT, the first refused (`550`): the last chance for a recipient.
    RcptLast,
    /// DATA (`354` expected).
    Data,
    /// The end of data.
    DataEnd,
    /// PIPELINING: MAIL, both RCPTs and DATA sent; the reply to MAIL.
    PipeMail,
    /// PIPELINING: the reply to the first RCPT (MAIL accepted).
    PipeRcpt,
    /// PIPELINING: the reply to the second RCPT, the first refused (`550`); DATA sent.
    PipeRcptLast,
    /// PIPELINING: both RCPTs refused, DATA answered `354` all the same: the client ends
    /// the empty content (`.`); the reply to it.
    PipeEmptyDataEnd,
    /// PIPELINING: the reply to DATA (both RCPTs accepted).
    PipeData,
    /// PIPELINING: the end of data.
    PipeDataEnd,
    /// CHUNKING without PIPELINING: the first of two BDAT chunks.
    Bdat1,
    /// CHUNKING without PIPELINING: `BDAT 2 LAST`.
    Bdat2,
    /// CHUNKING with PIPELINING: the first chunk (both chunks sent).
    PipeBdat1,
    /// CHUNKING with PIPELINING: the last chunk.
    PipeBdat2,
    /// RSET after M1's MAIL was refused.
    Rset,
    /// QUIT, nothing queued.
    Quit,
}

const POINTS: &[At] = &[
    At::Greeting,
    At::Ehlo,
    At::Helo,
    At::StartTls,
    At::StartTlsRequired,
    At::Auth1,
    At::Auth2,
    At::Auth3,
    At::AuthPlain,
    At::Mail,
    At::Rcpt1,
    At::Rcpt2,
    At::RcptLast,
    At::Data,
    At::DataEnd,
    At::PipeMail,
    At::PipeRcpt,
    At::PipeRcptLast,
    At::PipeEmptyDataEnd,
    At::PipeData,
    At::PipeDataEnd,
    At::Bdat1,
    At::Bdat2,
    At::PipeBdat1,
    At::PipeBdat2,
    At::Rset,
    At::Quit,
];

impl At {
    /// The reply the client waits for.
    fn ok_code(self) -> u16 {
        match self {
            At::Greeting | At::StartTls | At::StartTlsRequired => 220,
            At::Auth1 | At::Auth2 => 334,
            At::Auth3 | At::AuthPlain => 235,
            At::Data | At::PipeData => 354,
            At::Quit => 221,
            _ => 250,
        }
    }

    /// A positive completion that is not the one expected.
    fn other_2yz(self) -> u16 {
        match self {
            At::Greeting
            | At::StartTls
            | At::StartTlsRequired
            | At::Data
            | At::PipeData
            | At::Quit => 250,
            At::Auth1 | At::Auth2 | At::Auth3 | At::AuthPlain => 250,
            _ => 251,
        }
    }

    /// A positive intermediate reply that is not the one expected.
    fn other_3yz(self) -> u16 {
        match self {
            At::Data | At::PipeData => 334,
            _ => 354,
        }
    }

    fn caps(self) -> Vec<&'static str> {
        match self {
            At::PipeMail
            | At::PipeRcpt
            | At::PipeRcptLast
            | At::PipeEmptyDataEnd
            | At::PipeData
            | At::PipeDataEnd => {
                vec!["PIPELINING", "SIZE 1000"]
            }
            At::Bdat1 | At::Bdat2 => vec!["CHUNKING", "SIZE 1000"],
            At::PipeBdat1 | At::PipeBdat2 => vec!["PIPELINING", "CHUNKING", "SIZE 1000"],
            At::StartTls | At::StartTlsRequired => vec!["STARTTLS", "SIZE 1000"],
            At::Auth1 | At::Auth2 | At::Auth3 => vec!["AUTH LOGIN", "SIZE 1000"],
            At::AuthPlain => vec!["AUTH PLAIN", "SIZE 1000"],
            _ => vec!["SIZE 1000"],
        }
    }

    /// The expected reply, as the server sends it.
    fn ok_bytes(self) -> String {
        match self {
            At::Greeting => GREETING.into(),
            At::Ehlo => ehlo_reply(&self.caps()),
            At::Helo => "250 mx.example.test\r\n".into(),
            At::StartTls | At::StartTlsRequired => "220 ready to start TLS\r\n".into(),
            At::Auth1 => "334 VXNlcm5hbWU6\r\n".into(),
            At::Auth2 => "334 UGFzc3dvcmQ6\r\n".into(),
            At::Auth3 | At::AuthPlain => "235 authenticated\r\n".into(),
            At::Data | At::PipeData => "354 go ahead\r\n".into(),
            At::Quit => "221 bye\r\n".into(),
            _ => "250 ok\r\n".into(),
        }
    }

    /// How each message ends when the session closes at this point: M1 (when it is still
    /// open) and M2, by their recipients' outcomes.
    fn open_messages(self) -> Vec<(&'static str, &'static str)> {
        match self {
            At::Rset => vec![("M2", "deferred")],
            At::Quit => vec![],
            // RFC 5321 4.2.1: the refused recipient's own 5yz decides for it.
            At::RcptLast | At::PipeRcptLast => vec![("M1", "failed, deferred"), ("M2", "deferred")],
            // RFC 5321 3.3: M1 failed already (no recipient accepted) and keeps that
            // result, whatever ends the session.
            At::PipeEmptyDataEnd => vec![("M1", "failed, failed"), ("M2", "deferred")],
            _ => vec![("M1", "deferred, deferred"), ("M2", "deferred")],
        }
    }
}

// ---- the replies ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    /// The reply the client waits for.
    Ok,
    /// Another `2yz` (see [`At::other_2yz`]).
    Other2yz,
    /// `252`.
    C252,
    /// Another `3yz` (see [`At::other_3yz`]).
    Other3yz,
    C421,
    /// A `4yz` other than `421`.
    C4(u16),
    C5(u16),
    /// A code whose first digit is not 2 to 5.
    OutOfRange(&'static str),
    /// A multi-line reply whose lines carry different codes: the expected one, then `550`.
    Mixed,
    /// The expected reply with an enhanced status code of another class.
    BadEnhancedOk,
    /// `550` with an enhanced status code of another class.
    BadEnhancedErr,
    /// The connection closes.
    Eof,
}

const FEEDS: &[F] = &[
    F::Ok,
    F::Other2yz,
    F::C252,
    F::Other3yz,
    F::C421,
    F::C4(451),
    F::C4(452),
    F::C4(454),
    F::C5(500),
    F::C5(501),
    F::C5(502),
    F::C5(503),
    F::C5(504),
    F::C5(550),
    F::C5(552),
    F::C5(554),
    F::C5(555),
    F::OutOfRange("199"),
    F::OutOfRange("600"),
    F::OutOfRange("099"),
    F::Mixed,
    F::BadEnhancedOk,
    F::BadEnhancedErr,
    F::Eof,
];

impl F {
    /// The bytes of the reply at `p`; `None`: not a reply (EOF), or not applicable.
    fn bytes(self, p: At) -> Option<String> {
        let ok = p.ok_code();
        Some(match self {
            F::Ok => p.ok_bytes(),
            F::Other2yz => format!("{} fine\r\n", p.other_2yz()),
            F::C252 => "252 fine\r\n".into(),
            F::Other3yz => format!("{} huh\r\n", p.other_3yz()),
            F::C421 => "421 closing\r\n".into(),
            F::C4(c) | F::C5(c) => format!("{c} refused\r\n"),
            F::OutOfRange(c) => format!("{c} what\r\n"),
            F::Mixed => format!("{ok}-first line\r\n550 second line\r\n"),
            F::BadEnhancedOk => match p {
                // The SASL challenge is base64 text, never an enhanced code (RFC 4954 4).
                At::Auth1 | At::Auth2 => return None,
                // The EHLO reply's first line: the class-5 code is text of the greeting
                // line, the keywords follow.
                At::Ehlo => {
                    let mut r = ehlo_reply(&p.caps());
                    r.replace_range(4..4, "5.0.0 ");
                    r
                }
                // RFC 3463 2: no class 3 exists, so a 354 never carries one.
                At::Data | At::PipeData => "354 2.0.0 go ahead\r\n".into(),
                _ if ok == 221 => "221 4.0.0 bye\r\n".into(),
                _ => format!("{ok} 5.0.0 fine\r\n"),
            },
            F::BadEnhancedErr => "550 2.1.1 refused\r\n".into(),
            F::Eof => return None,
        })
    }

    /// The code the client acts on, for a well-formed reply.
    fn code(self, p: At) -> Option<u16> {
        match self {
            F::Ok | F::BadEnhancedOk => Some(p.ok_code()),
            F::Other2yz => Some(p.other_2yz()),
            F::C252 => Some(252),
            F::Other3yz => Some(p.other_3yz()),
            F::C421 => Some(421),
            F::C4(c) | F::C5(c) => Some(c),
            F::BadEnhancedErr => Some(550),
            F::OutOfRange(_) | F::Mixed | F::Eof => None,
        }
    }
}

// ---- what the client does ----

/// What a cell asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Want {
    /// The events the reply gives, summarized (see [`event`]), in order.
    events: Vec<String>,
    /// The bytes the client sends right after it.
    sends: String,
    then: Then,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Then {
    /// The session is over; nothing more is sent, no message is taken.
    Closed,
    /// The client sent `QUIT` (the end of `sends`); the `221` closes with this reason.
    Quit(String),
    /// The session goes on: a server that answers everything with success gets these
    /// message results, then `QUIT`.
    Go(Vec<String>),
    /// The TLS handshake, then as [`Then::Go`].
    Tls(Vec<String>),
}

const GREETING: &str = "220 mx.example.test ESMTP\r\n";
const EHLO: &str = "EHLO client.example.test\r\n";
const HELO: &str = "HELO client.example.test\r\n";
const MAIL: &str = "MAIL FROM:<a@example.test> SIZE=4\r\n";
const RCPT_B: &str = "RCPT TO:<b@example.test>\r\n";
const RCPT_C: &str = "RCPT TO:<c@example.test>\r\n";
const RCPT_D: &str = "RCPT TO:<d@example.test>\r\n";
const BODY1: &str = "hi\r\n.\r\n";
const BDAT1_1: &str = "BDAT 2\r\nhi";
const BDAT1_2: &str = "BDAT 2 LAST\r\n\r\n";
const M1_OK: &str = "M1 ok 250 [delivered, delivered]";
const M2_OK: &str = "M2 ok 250 [delivered]";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s) + "\r\n"
}

fn flight2() -> String {
    format!("{MAIL}{RCPT_D}DATA\r\n")
}

fn bdat_flight2() -> String {
    format!("{MAIL}{RCPT_D}BDAT 2\r\nyoBDAT 2 LAST\r\n\r\n")
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The outcome RFC 5321 4.2.1 gives a recipient's own refusal: `4yz` transient, `5yz`
/// permanent, except `552`, which 4.5.3.1.10 has clients treat as a temporary "too many
/// recipients".
fn rcpt_outcome(code: u16) -> &'static str {
    if code < 500 || code == 552 {
        "deferred"
    } else {
        "failed"
    }
}

/// The outcome of a refusal of the whole message (MAIL, DATA, the content, a BDAT chunk):
/// by the first digit (RFC 5321 4.2.1).
fn msg_outcome(code: u16) -> &'static str {
    if code < 500 {
        "deferred"
    } else {
        "failed"
    }
}

/// The result of a message still open when the session ends with `reason`.
fn open_message_result(p: At, m: &str, reason: &str, outcomes: &str) -> String {
    if p == At::PipeEmptyDataEnd && m == "M1" {
        format!("{m} no-valid-recipients [{outcomes}]")
    } else {
        format!("{m} closed: {reason} [{outcomes}]")
    }
}

/// The session ends at once, nothing sent: every open message fails with the reason.
fn close(p: At, reason: &str, mut events: Vec<String>) -> Want {
    for (m, outcomes) in p.open_messages() {
        events.push(open_message_result(p, m, reason, outcomes));
    }
    events.push(format!("closed: {reason}"));
    Want {
        events,
        sends: String::new(),
        then: Then::Closed,
    }
}

/// The client ends the session itself with `QUIT` (RFC 5321 4.1.1.10); the messages fail
/// at once with the reason, which the `221` keeps.
fn quit(p: At, reason: &str, mut events: Vec<String>) -> Want {
    for (m, outcomes) in p.open_messages() {
        events.push(open_message_result(p, m, reason, outcomes));
    }
    Want {
        events,
        sends: "QUIT\r\n".into(),
        then: Then::Quit(reason.into()),
    }
}

fn go(events: Vec<String>, sends: impl Into<String>, results: Vec<String>) -> Want {
    Want {
        events,
        sends: sends.into(),
        then: Then::Go(results),
    }
}

/// The table: what the client must do with reply `f` at point `p` (`None`: no such cell).
fn want(p: At, f: F) -> Option<Want> {
    f.bytes(p)?;
    match f {
        // The connection closing: RFC 5321 3.8, the transaction is treated as a `451`
        // (transient): every open message deferred, never reported delivered (4.1.1.4:
        // only the reply after the content says so). Nothing can be sent.
        F::Eof if p == At::Quit => {
            // 4.1.1.10: the client sent QUIT; the server closing is the end it asked for.
            return Some(Want {
                events: s(&["closed: quit"]),
                sends: String::new(),
                then: Then::Closed,
            });
        }
        F::Eof => return Some(close(p, "peer-closed", vec![])),
        // RFC 5321 4.2: codes whose first digit is not 2 to 5 are out of range; the
        // client SHOULD treat them as fatal errors. It ends the session without sending
        // anything more (allowed; a QUIT would be allowed too).
        F::OutOfRange(_) => return Some(close(p, "malformed Syntax", vec![])),
        // RFC 5321 4.2.1: every line of a multi-line reply carries the same code; one
        // whose lines differ is not a reply the client can act on. It ends the session
        // without sending anything more (allowed: the RFC names no reaction).
        F::Mixed => return Some(close(p, "malformed InconsistentCode", vec![])),
        // RFC 5321 3.8 (and 4.2.3, "421 ... may be a reply to any command"): the server
        // is closing the channel; the client sends nothing more and every open message
        // is deferred. A 421 greeting is still reported as the greeting.
        F::C421 => {
            let pre = if p == At::Greeting {
                s(&["greeting 421"])
            } else {
                vec![]
            };
            return Some(close(p, "service-unavailable 421", pre));
        }
        _ => {}
    }
    let c = f.code(p)?;
    let class = c / 100;
    let ok = c == p.ok_code();
    Some(match p {
        At::Greeting => match class {
            // RFC 5321 3.1, 4.3.2: 220, then EHLO (4.1.1.1).
            2 if ok => go(s(&["greeting 220"]), EHLO, s(&[M1_OK, M2_OK])),
            // 4.3.2 lists 220 and 554 only (421 in 3.8). Another 2yz, or a 3yz, is not
            // an answer the client can act on: it closes without QUIT (allowed; see the
            // report: a QUIT would be as good).
            2 | 3 => close(
                p,
                &format!("unexpected greeting {c}"),
                vec![format!("greeting {c}")],
            ),
            // 3.1: 554 means no service, the client SHOULD send QUIT; any other 4yz/5yz
            // is a refusal by its first digit (4.2.1) and answered the same way.
            _ => quit(
                p,
                &format!("greeting-refused {c}"),
                vec![format!("greeting {c}")],
            ),
        },
        At::Ehlo => match (class, c) {
            // RFC 5321 4.1.1.1, 4.3.2: 250 with the extensions; ready for mail.
            (2, 250) => go(s(&["capabilities", "ready"]), MAIL, s(&[M1_OK, M2_OK])),
            // 4.3.2 has EHLO succeed with 250 only. Another 2yz is taken as a refusal
            // (QUIT): allowed-but-questionable (4.2.1 would read it as success).
            (2, _) => quit(p, &format!("hello-refused {c}"), vec![]),
            // 4.3.2: no 3yz to EHLO; the client closes without sending anything.
            (3, _) => close(p, &format!("unexpected EHLO {c}"), vec![]),
            // 4.1.4 / 3.2: a server without EHLO answers 500 or 502: HELO instead.
            (5, 500 | 502) => go(vec![], HELO, s(&[M1_OK, M2_OK])),
            // Any other refusal: QUIT (501, 504, 550 are refusals of the name or the
            // client; falling back to HELO there is allowed but not done).
            _ => quit(p, &format!("hello-refused {c}"), vec![]),
        },
        At::Helo => match (class, c) {
            // RFC 5321 4.1.1.1: 250, no extensions.
            (2, 250) => go(
                s(&["capabilities", "ready"]),
                "MAIL FROM:<a@example.test>\r\n",
                s(&[M1_OK, M2_OK]),
            ),
            // As for EHLO: another 2yz is taken as a refusal (questionable).
            (2, _) => quit(p, &format!("hello-refused {c}"), vec![]),
            (3, _) => close(p, &format!("unexpected HELO {c}"), vec![]),
            _ => quit(p, &format!("hello-refused {c}"), vec![]),
        },
        At::StartTls | At::StartTlsRequired => match (class, c) {
            // RFC 3207 4: 220, then the handshake and EHLO again (4.2).
            (2, 220) => Want {
                events: s(&["starttls"]),
                sends: String::new(),
                then: Then::Tls(s(&[M1_OK, M2_OK])),
            },
            // RFC 3207 4 lists 220, 501, 454 only: no 3yz.
            (3, _) => close(p, &format!("unexpected STARTTLS {c}"), vec![]),
            // RFC 3207 4: after a refusal (454, 501, any other) the client decides
            // whether to go on. Opportunistic: in plaintext. Another 2yz is handled as a
            // refusal too (allowed-but-questionable: the server may now expect a
            // handshake; plaintext commands then fail and the session ends).
            _ if p == At::StartTls => go(s(&["ready"]), MAIL, s(&[M1_OK, M2_OK])),
            // Required: no mail in the clear; QUIT.
            _ => quit(p, &format!("tls-unavailable {c}"), vec![]),
        },
        At::Auth1 | At::Auth2 | At::Auth3 | At::AuthPlain => match (class, c) {
            // RFC 4954 4: 334 asks for the next response (LOGIN: the user name, then
            // the password).
            (3, 334) => go(
                vec![],
                b64(if p == At::Auth1 { "alice" } else { "s3cret" }),
                s(&[M1_OK, M2_OK]),
            ),
            // RFC 4954 4, 6: 235 (or any 2yz, by its first digit, RFC 5321 4.2.1) ends
            // the exchange successfully, also before the last step (the server decides).
            (2, _) => go(
                vec![
                    format!(
                        "authenticated {} {c}",
                        if p == At::AuthPlain { "PLAIN" } else { "LOGIN" }
                    ),
                    "ready".into(),
                ],
                MAIL,
                s(&[M1_OK, M2_OK]),
            ),
            // RFC 4954 4: only 334 continues an exchange.
            (3, _) => close(p, &format!("unexpected AUTH {c}"), vec![]),
            // RFC 4954 4, 6: a refusal ends the exchange; without auth_fallback the
            // session ends with QUIT (the client does not send mail unauthenticated).
            _ => quit(p, &format!("auth-failed {c}"), vec![]),
        },
        At::Mail | At::PipeMail => {
            let pipelined = p == At::PipeMail;
            match class {
                // RFC 5321 4.3.2: 250 (any 2yz by 4.2.1). Without PIPELINING the first
                // RCPT follows; with it, everything is already sent (RFC 2920 3.1).
                2 => go(
                    vec![],
                    if pipelined { "" } else { RCPT_B },
                    s(&[M1_OK, M2_OK]),
                ),
                // 4.3.2: no 3yz to MAIL (a 354 would mean the server reads content): the
                // client closes without sending anything (no RSET, which would be data).
                3 => close(p, &format!("unexpected MAIL {c}"), vec![]),
                // 4.2.1: the sender refused, transiently or not (555: the SIZE parameter,
                // 4.1.1.11 / 4.2.3, refused as a whole: failed); RFC 3.3: no transaction
                // open, the RCPTs are not sent. The refusal decides for every recipient.
                // RSET (4.1.1.5) before the next message (allowed, not required).
                // PIPELINING: the result waits for the replies of the group (RFC 2920
                // 3.1: the RCPTs and DATA sent behind it are answered 503).
                _ if pipelined => go(
                    vec![],
                    "",
                    vec![
                        format!("M1 sender-rejected {c} [{0}, {0}]", msg_outcome(c)),
                        M2_OK.into(),
                    ],
                ),
                _ => go(
                    vec![format!("M1 sender-rejected {c} [{0}, {0}]", msg_outcome(c))],
                    "RSET\r\n",
                    s(&[M2_OK]),
                ),
            }
        }
        At::Rcpt1 | At::PipeRcpt => {
            let pipelined = p == At::PipeRcpt;
            let next = if pipelined { "" } else { RCPT_C };
            match class {
                // RFC 5321 4.3.2: 250, 251 (will forward), 252 (cannot verify, will try):
                // every 2yz accepts the recipient (4.2.1).
                2 => go(vec![format!("M1#0 accepted {c}")], next, s(&[M1_OK, M2_OK])),
                // 4.3.2: no 3yz to RCPT.
                3 => close(p, &format!("unexpected RCPT {c}"), vec![]),
                // 4.2.1: this recipient refused; the transaction goes on with the other
                // (3.3: DATA if at least one recipient was accepted).
                _ => go(
                    vec![format!("M1#0 refused {c}")],
                    next,
                    vec![
                        format!("M1 ok 250 [{}, delivered]", rcpt_outcome(c)),
                        M2_OK.into(),
                    ],
                ),
            }
        }
        At::Rcpt2 => match class {
            2 => go(
                vec![format!("M1#1 accepted {c}")],
                "DATA\r\n",
                s(&[M1_OK, M2_OK]),
            ),
            3 => close(p, &format!("unexpected RCPT {c}"), vec![]),
            // 3.3: one recipient accepted is enough for DATA.
            _ => go(
                vec![format!("M1#1 refused {c}")],
                "DATA\r\n",
                vec![
                    format!("M1 ok 250 [delivered, {}]", rcpt_outcome(c)),
                    M2_OK.into(),
                ],
            ),
        },
        At::RcptLast => match class {
            2 => go(
                vec![format!("M1#1 accepted {c}")],
                "DATA\r\n",
                s(&["M1 ok 250 [failed, delivered]", M2_OK]),
            ),
            3 => close(p, &format!("unexpected RCPT {c}"), vec![]),
            // RFC 5321 3.3: no recipient accepted, so no DATA (the server would answer
            // 503 or 554); the message fails now, each recipient by its own reply, and
            // RSET clears the sender (4.1.1.5).
            _ => go(
                vec![
                    format!("M1#1 refused {c}"),
                    format!("M1 no-valid-recipients [failed, {}]", rcpt_outcome(c)),
                ],
                "RSET\r\n",
                s(&[M2_OK]),
            ),
        },
        At::PipeRcptLast => match class {
            2 => go(
                vec![format!("M1#1 accepted {c}")],
                "",
                s(&["M1 ok 250 [failed, delivered]", M2_OK]),
            ),
            3 => close(p, &format!("unexpected RCPT {c}"), vec![]),
            // RFC 2920 3.1: DATA went out in the group; with no recipient accepted its
            // reply (503 or 554, RFC 5321 3.3) is awaited, then the message fails and RSET
            // goes out with the next group.
            _ => go(
                vec![format!("M1#1 refused {c}")],
                "",
                vec![
                    format!("M1 no-valid-recipients [failed, {}]", rcpt_outcome(c)),
                    M2_OK.into(),
                ],
            ),
        },
        At::PipeEmptyDataEnd => match class {
            3 => close(p, &format!("unexpected end of data {c}"), vec![]),
            // RFC 2920 3.1: the server took DATA although no recipient was accepted; the
            // client ended the (empty) content to stay in step. Whatever the reply, no
            // recipient was accepted, so nothing was delivered (RFC 5321 3.3); RSET and
            // the next group follow.
            _ => go(
                s(&["M1 no-valid-recipients [failed, failed]"]),
                format!("RSET\r\n{}", flight2()),
                s(&[M2_OK]),
            ),
        },
        At::Data | At::PipeData => {
            let pipelined = p == At::PipeData;
            match (class, c) {
                // RFC 5321 4.3.2: 354, then the content and <CRLF>.<CRLF> (4.1.1.4).
                (3, 354) => go(vec![], BODY1, s(&[M1_OK, M2_OK])),
                // 4.3.2: DATA succeeds only with 354; a 2yz here is out of step (and the
                // message is accepted only by the reply after the content, 4.1.1.4). The
                // server may be reading content: the client closes without sending
                // anything, and the message is deferred, never reported delivered.
                (2, _) => close(p, &format!("unexpected DATA {c}"), vec![]),
                // 4.3.2: 354 is the only intermediate reply to DATA.
                (3, _) => close(p, &format!("unexpected DATA {c}"), vec![]),
                // 4.2.1: DATA refused; the message fails by the first digit; RSET
                // (4.1.1.5), and with PIPELINING the next transaction in the same group
                // (RFC 2920 3.1: RSET need not end a group).
                _ => go(
                    vec![format!("M1 rejected {c} [{0}, {0}]", msg_outcome(c))],
                    if pipelined {
                        format!("RSET\r\n{}", flight2())
                    } else {
                        "RSET\r\n".into()
                    },
                    s(&[M2_OK]),
                ),
            }
        }
        At::DataEnd | At::PipeDataEnd => {
            let pipelined = p == At::PipeDataEnd;
            match class {
                // RFC 5321 4.1.1.4, 4.2.5, 6.1: a 2yz after the content: the server took
                // responsibility; the next message follows (with PIPELINING, its whole
                // group, RFC 2920 3.1).
                2 => go(
                    vec![format!("M1 ok {c} [delivered, delivered]")],
                    if pipelined { flight2() } else { MAIL.into() },
                    s(&[M2_OK]),
                ),
                // 4.3.2: no 3yz after the content. Not delivered (deferred); the server's
                // state is unknown, so nothing more is sent.
                3 => close(p, &format!("unexpected end of data {c}"), vec![]),
                // 4.2.5 / 4.2.1: the content refused: not delivered, by the first digit.
                _ => go(
                    vec![format!("M1 rejected {c} [{0}, {0}]", msg_outcome(c))],
                    if pipelined {
                        format!("RSET\r\n{}", flight2())
                    } else {
                        "RSET\r\n".into()
                    },
                    s(&[M2_OK]),
                ),
            }
        }
        At::Bdat1 | At::PipeBdat1 => {
            let pipelined = p == At::PipeBdat1;
            match class {
                // RFC 3030 2: 250 to a chunk; the next chunk follows (with PIPELINING it
                // is already sent).
                2 => go(
                    vec![],
                    if pipelined { "" } else { BDAT1_2 },
                    s(&[M1_OK, M2_OK]),
                ),
                // RFC 3030 2: BDAT is answered 250 or an error, never 3yz.
                3 => close(p, &format!("unexpected BDAT {c}"), vec![]),
                // RFC 3030 2: a 4yz/5yz to a chunk fails the transaction and no further
                // chunk may be sent. With PIPELINING the last chunk was already sent: its
                // reply is awaited, then RSET and the next message.
                _ if pipelined => go(
                    vec![],
                    "",
                    vec![
                        format!("M1 rejected {c} [{0}, {0}]", msg_outcome(c)),
                        M2_OK.into(),
                    ],
                ),
                _ => go(
                    vec![format!("M1 rejected {c} [{0}, {0}]", msg_outcome(c))],
                    "RSET\r\n",
                    s(&[M2_OK]),
                ),
            }
        }
        At::Bdat2 | At::PipeBdat2 => {
            let pipelined = p == At::PipeBdat2;
            match class {
                // RFC 3030 2: the reply to the LAST chunk is the message's.
                2 => go(
                    vec![format!("M1 ok {c} [delivered, delivered]")],
                    if pipelined {
                        bdat_flight2()
                    } else {
                        MAIL.into()
                    },
                    s(&[M2_OK]),
                ),
                3 => close(p, &format!("unexpected BDAT {c}"), vec![]),
                _ => go(
                    vec![format!("M1 rejected {c} [{0}, {0}]", msg_outcome(c))],
                    if pipelined {
                        format!("RSET\r\n{}", bdat_flight2())
                    } else {
                        "RSET\r\n".into()
                    },
                    s(&[M2_OK]),
                ),
            }
        }
        At::Rset => match class {
            // RFC 5321 4.1.1.5: 250; the next transaction follows.
            2 => go(vec![], MAIL, s(&[M2_OK])),
            // 4.3.2: no 3yz to RSET; the server's state is unknown: close.
            3 => close(p, &format!("unexpected RSET {c}"), vec![]),
            // 4.1.1.5: the server MUST answer 250. A refusal is ignored and the next
            // transaction starts (allowed-but-questionable: see the report).
            _ => go(vec![], MAIL, s(&[M2_OK])),
        },
        At::Quit => match class {
            // RFC 5321 4.1.1.10: the session ends whatever the reply; a 3yz is named.
            3 => Want {
                events: vec![format!("closed: unexpected QUIT {c}")],
                sends: String::new(),
                then: Then::Closed,
            },
            _ => Want {
                events: vec![format!("closed: quit {c}")],
                sends: String::new(),
                then: Then::Closed,
            },
        },
    })
}

// ---- summaries ----

fn reply(r: &Reply) -> String {
    match r.enhanced {
        Some(e) => format!("{} {e}", r.code.0),
        None => r.code.0.to_string(),
    }
}

fn reason(r: &CloseReason) -> String {
    match r {
        CloseReason::Quit(Some(r)) => format!("quit {}", reply(r)),
        CloseReason::Quit(None) => "quit".into(),
        CloseReason::ServiceUnavailable(r) => format!("service-unavailable {}", reply(r)),
        CloseReason::GreetingRefused(r) => format!("greeting-refused {}", reply(r)),
        CloseReason::HelloRefused(r) => format!("hello-refused {}", reply(r)),
        CloseReason::TlsUnavailable(Some(r)) => format!("tls-unavailable {}", reply(r)),
        CloseReason::AuthFailed(Some(r)) => format!("auth-failed {}", reply(r)),
        CloseReason::Protocol(ProtocolError::Malformed(e)) => format!("malformed {e:?}"),
        CloseReason::Protocol(ProtocolError::UnexpectedReply { command, reply: r }) => {
            format!("unexpected {command} {}", reply(r))
        }
        CloseReason::Protocol(ProtocolError::Unsolicited(r)) => {
            format!("unsolicited {}", reply(r))
        }
        CloseReason::PeerClosed => "peer-closed".into(),
        other => format!("{other:?}"),
    }
}

fn mid(m: &MessageId) -> String {
    format!("M{}", m.0 + 1)
}

fn event(e: &Event) -> String {
    match e {
        Event::Greeting(r) => format!("greeting {}", reply(r)),
        Event::Capabilities(_) => "capabilities".into(),
        Event::StartTls { .. } => "starttls".into(),
        Event::Authenticated {
            mechanism,
            reply: r,
        } => {
            format!("authenticated {mechanism} {}", reply(r))
        }
        Event::Ready => "ready".into(),
        Event::RecipientResult {
            message,
            index,
            accepted,
            reply: r,
        } => format!(
            "{}#{index} {} {}",
            mid(message),
            if *accepted { "accepted" } else { "refused" },
            reply(r)
        ),
        Event::MessageResult {
            message,
            result,
            recipients,
            ..
        } => {
            let res = match result {
                Ok(r) => format!("ok {}", reply(r)),
                Err(MessageError::SenderRejected(r)) => format!("sender-rejected {}", reply(r)),
                Err(MessageError::Rejected(r)) => format!("rejected {}", reply(r)),
                Err(MessageError::NoValidRecipients) => "no-valid-recipients".into(),
                Err(MessageError::SessionClosed(r)) => format!("closed: {}", reason(r)),
                Err(other) => format!("{other:?}"),
            };
            let outcomes: Vec<&str> = recipients
                .iter()
                .map(|r| match r.outcome(result) {
                    Outcome::Delivered => "delivered",
                    Outcome::Deferred => "deferred",
                    Outcome::Failed => "failed",
                })
                .collect();
            format!("{} {res} [{}]", mid(message), outcomes.join(", "))
        }
        Event::Closed(r) => format!("closed: {}", reason(r)),
        other => format!("{other:?}"),
    }
}

fn events(t: &mut T) -> Vec<String> {
    t.events().iter().map(event).collect()
}

// ---- a scripted server that answers what the client sends ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owe {
    Ehlo,
    Helo,
    Tls,
    Auth,
    Mail,
    Rcpt,
    Data,
    DataEnd,
    Bdat { last: bool },
    Rset,
    Quit,
}

/// Reads the client's output as a server does and keeps the replies it owes, in order;
/// answers them with success (or with `503` where a real server would: a RCPT, DATA or
/// BDAT without a transaction).
struct Peer {
    caps: Vec<&'static str>,
    owed: VecDeque<Owe>,
    buf: Vec<u8>,
    data: bool,
    skip: usize,
    auth_steps: usize,
    /// The server's transaction: `None` without an accepted MAIL, else the number of
    /// accepted recipients.
    txn: Option<usize>,
}

impl Peer {
    fn new(caps: Vec<&'static str>) -> Peer {
        Peer {
            caps,
            owed: VecDeque::new(),
            buf: Vec::new(),
            data: false,
            skip: 0,
            auth_steps: 0,
            txn: None,
        }
    }

    /// The client's bytes.
    fn see(&mut self, out: &[u8]) {
        self.buf.extend_from_slice(out);
        loop {
            if self.skip > 0 {
                let n = self.skip.min(self.buf.len());
                self.buf.drain(..n);
                self.skip -= n;
                if self.skip > 0 {
                    return;
                }
            }
            let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line: Vec<u8> = self.buf.drain(..pos + 2).collect();
            let text = String::from_utf8_lossy(&line[..pos]).to_string();
            if self.data {
                if text == "." {
                    self.data = false;
                    self.owed.push_back(Owe::DataEnd);
                }
                continue;
            }
            let mut words = text.split(' ');
            let verb = words.next().unwrap_or_default().to_ascii_uppercase();
            let owe = match verb.as_str() {
                "EHLO" => Owe::Ehlo,
                "HELO" => Owe::Helo,
                "STARTTLS" => Owe::Tls,
                "MAIL" => Owe::Mail,
                "RCPT" => Owe::Rcpt,
                "DATA" => Owe::Data,
                "RSET" => Owe::Rset,
                "QUIT" => Owe::Quit,
                "BDAT" => {
                    self.skip = words.next().and_then(|n| n.parse().ok()).unwrap();
                    Owe::Bdat {
                        last: words.next() == Some("LAST"),
                    }
                }
                // AUTH, and each SASL line.
                _ => Owe::Auth,
            };
            self.owed.push_back(owe);
        }
    }

    /// A reply with `code` to the oldest command owed one.
    fn replied(&mut self, code: u16) {
        let ok = (200..300).contains(&code);
        match self.owed.pop_front() {
            Some(Owe::Mail) => self.txn = ok.then_some(0),
            Some(Owe::Rcpt) => {
                if let (true, Some(n)) = (ok, self.txn.as_mut()) {
                    *n += 1;
                }
            }
            Some(Owe::Data) => self.data = code == 354,
            Some(Owe::DataEnd | Owe::Rset) => self.txn = None,
            Some(Owe::Bdat { last }) if last || !ok => self.txn = None,
            Some(Owe::Auth) => self.auth_steps += 1,
            _ => {}
        }
    }

    fn answer(&self, owe: Owe) -> String {
        let in_txn = self.txn.is_some();
        let rcpts = self.txn.unwrap_or(0) > 0;
        match owe {
            Owe::Ehlo => ehlo_reply(&self.caps),
            Owe::Helo => "250 mx.example.test\r\n".into(),
            Owe::Tls => panic!("the scripted server does not answer STARTTLS"),
            Owe::Auth => match self.auth_steps {
                0 => "334 VXNlcm5hbWU6\r\n".into(),
                1 => "334 UGFzc3dvcmQ6\r\n".into(),
                _ => "235 authenticated\r\n".into(),
            },
            Owe::Mail | Owe::Rset => "250 ok\r\n".into(),
            Owe::Rcpt if in_txn => "250 ok\r\n".into(),
            Owe::Data if rcpts => "354 go ahead\r\n".into(),
            Owe::DataEnd => "250 queued\r\n".into(),
            Owe::Bdat { last: true } if rcpts => "250 queued\r\n".into(),
            Owe::Bdat { last: false } if rcpts => "250 ok\r\n".into(),
            Owe::Rcpt | Owe::Data | Owe::Bdat { .. } => "503 bad sequence\r\n".into(),
            Owe::Quit => "221 bye\r\n".into(),
        }
    }

    /// Answers everything until the client waits for nothing and sends nothing; returns
    /// the events.
    fn run(&mut self, t: &mut T) -> Vec<String> {
        let mut ev = Vec::new();
        for _ in 0..200 {
            let out = t.sent_bytes();
            self.see(&out);
            ev.extend(events(t));
            match self.owed.front() {
                Some(&owe) => {
                    let r = self.answer(owe);
                    let code = r[..3].parse().unwrap();
                    t.server(&r);
                    self.replied(code);
                }
                None if out.is_empty() => return ev,
                None => {}
            }
        }
        panic!("the session does not settle: {ev:?}");
    }
}

// ---- driving a session to a point ----

/// Server bytes (one reply or several), then the client's exact answer.
fn step(t: &mut T, peer: &mut Peer, server: &str, client: &str) {
    for line in server.split_inclusive("\r\n") {
        if line.as_bytes().get(3) != Some(&b'-') {
            peer.replied(line[..3].parse().unwrap());
        }
    }
    t.server(server);
    let out = t.sent();
    assert_eq!(out, client, "setup: after {server:?}");
    peer.see(out.as_bytes());
}

fn setup(p: At) -> (T, Peer) {
    let caps = p.caps();
    let mut config = ClientConfig::new("client.example.test");
    match p {
        At::StartTlsRequired => config.tls = TlsPolicy::Required,
        At::Auth1 | At::Auth2 | At::Auth3 | At::AuthPlain => {
            config.implicit_tls = true;
            config.credentials = Some(Credentials::Password {
                authzid: None,
                username: "alice".into(),
                password: "s3cret".into(),
            });
            config.auth_mechanisms = Some(vec![if p == At::AuthPlain {
                Mechanism::Plain
            } else {
                Mechanism::Login
            }]);
        }
        At::Bdat1 | At::Bdat2 | At::PipeBdat1 | At::PipeBdat2 => config.bdat_chunk_size = 2,
        _ => {}
    }
    let mut t = T::new(config);
    let mut peer = Peer::new(caps.clone());
    if p != At::Quit {
        t.c.send(env(&["b@example.test", "c@example.test"]), "hi\r\n")
            .unwrap();
        t.c.send(env(&["d@example.test"]), "yo\r\n").unwrap();
    }
    if p == At::Greeting {
        return (t, peer);
    }
    t.server(GREETING);
    let out = t.sent();
    assert_eq!(out, EHLO);
    peer.see(out.as_bytes());
    let caps = ehlo_reply(&caps);
    let flight1 = format!("{MAIL}{RCPT_B}{RCPT_C}DATA\r\n");
    let bdat_flight1 = format!("{MAIL}{RCPT_B}{RCPT_C}{BDAT1_1}{BDAT1_2}");
    let steps: Vec<(&str, String)> = match p {
        At::Greeting | At::Ehlo => vec![],
        At::Helo => vec![("502 not here\r\n", HELO.into())],
        At::StartTls | At::StartTlsRequired => vec![(&caps, "STARTTLS\r\n".into())],
        At::Auth1 => vec![(&caps, "AUTH LOGIN\r\n".into())],
        At::Auth2 => vec![
            (&caps, "AUTH LOGIN\r\n".into()),
            ("334 VXNlcm5hbWU6\r\n", b64("alice")),
        ],
        At::Auth3 => vec![
            (&caps, "AUTH LOGIN\r\n".into()),
            ("334 VXNlcm5hbWU6\r\n", b64("alice")),
            ("334 UGFzc3dvcmQ6\r\n", b64("s3cret")),
        ],
        At::AuthPlain => vec![(&caps, format!("AUTH PLAIN {}", b64("\0alice\0s3cret")))],
        At::Mail => vec![(&caps, MAIL.into())],
        At::Rcpt1 => vec![(&caps, MAIL.into()), ("250 ok\r\n", RCPT_B.into())],
        At::Rcpt2 => vec![
            (&caps, MAIL.into()),
            ("250 ok\r\n", RCPT_B.into()),
            ("250 ok\r\n", RCPT_C.into()),
        ],
        At::RcptLast => vec![
            (&caps, MAIL.into()),
            ("250 ok\r\n", RCPT_B.into()),
            ("550 no such user\r\n", RCPT_C.into()),
        ],
        At::Data => vec![
            (&caps, MAIL.into()),
            ("250 ok\r\n", RCPT_B.into()),
            ("250 ok\r\n", RCPT_C.into()),
            ("250 ok\r\n", "DATA\r\n".into()),
        ],
        At::DataEnd => vec![
            (&caps, MAIL.into()),
            ("250 ok\r\n", RCPT_B.into()),
            ("250 ok\r\n", RCPT_C.into()),
            ("250 ok\r\n", "DATA\r\n".into()),
            ("354 go ahead\r\n", BODY1.into()),
        ],
        At::PipeMail => vec![(&caps, flight1)],
        At::PipeRcpt => vec![(&caps, flight1), ("250 ok\r\n", String::new())],
        At::PipeRcptLast => vec![
            (&caps, flight1),
            ("250 ok\r\n550 no such user\r\n", String::new()),
        ],
        At::PipeEmptyDataEnd => vec![
            (&caps, flight1),
            (
                "250 ok\r\n550 no such user\r\n550 no such user\r\n354 go ahead\r\n",
                ".\r\n".into(),
            ),
        ],
        At::PipeData => vec![
            (&caps, flight1),
            ("250 ok\r\n250 ok\r\n250 ok\r\n", String::new()),
        ],
        At::PipeDataEnd => vec![
            (&caps, flight1),
            (
                "250 ok\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n",
                BODY1.into(),
            ),
        ],
        At::Bdat1 => vec![
            (&caps, MAIL.into()),
            ("250 ok\r\n", RCPT_B.into()),
            ("250 ok\r\n", RCPT_C.into()),
            ("250 ok\r\n", BDAT1_1.into()),
        ],
        At::Bdat2 => vec![
            (&caps, MAIL.into()),
            ("250 ok\r\n", RCPT_B.into()),
            ("250 ok\r\n", RCPT_C.into()),
            ("250 ok\r\n", BDAT1_1.into()),
            ("250 ok\r\n", BDAT1_2.into()),
        ],
        At::PipeBdat1 => vec![
            (&caps, bdat_flight1),
            ("250 ok\r\n250 ok\r\n250 ok\r\n", String::new()),
        ],
        At::PipeBdat2 => vec![
            (&caps, bdat_flight1),
            ("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n", String::new()),
        ],
        At::Rset => vec![(&caps, MAIL.into()), ("550 no\r\n", "RSET\r\n".into())],
        At::Quit => vec![(&caps, String::new())],
    };
    for (server, client) in steps {
        step(&mut t, &mut peer, server, &client);
    }
    if p == At::Quit {
        t.c.quit();
        let out = t.sent();
        assert_eq!(out, "QUIT\r\n");
        peer.see(out.as_bytes());
    }
    t.events();
    (t, peer)
}

// ---- the matrix ----

/// Runs one cell; `Err` says how the client differs from the table.
fn cell(p: At, f: F, want: &Want) -> Result<(), String> {
    let (mut t, mut peer) = setup(p);
    match f.bytes(p) {
        Some(bytes) => {
            t.server(&bytes);
            if let Some(code) = f.code(p) {
                peer.replied(code);
            }
        }
        None => t.c.peer_closed(),
    }
    let got_events = events(&mut t);
    let sends = t.sent();
    if got_events != want.events || sends != want.sends {
        return Err(format!(
            "events {got_events:?}\n      sends {sends:?}\n want events {:?}\n      sends {:?}",
            want.events, want.sends
        ));
    }
    peer.see(sends.as_bytes());
    // No wait without a timer (RFC 5321 4.5.3.2): a reply the server owes is timed.
    if !t.c.is_closed() && !peer.owed.is_empty() && t.c.poll_timeout().is_none() {
        return Err(format!("waits for {:?} without a timer", peer.owed));
    }
    let results = |ev: &[String]| -> Vec<String> {
        ev.iter()
            .filter(|e| e.starts_with('M') && !e.contains('#'))
            .cloned()
            .collect()
    };
    match &want.then {
        Then::Closed => {
            if !t.c.is_closed() {
                return Err("not closed".into());
            }
            if t.c.send(env(&["e@example.test"]), "x\r\n").is_ok() {
                return Err("a closed session takes a message".into());
            }
            // Nothing more goes out, whatever the caller does (RFC 5321 3.8 after 421).
            t.c.quit();
            t.server("250 ok\r\n");
            if t.c.poll_transmit(t.now).is_some() || !t.events().is_empty() {
                return Err("a closed session still sends or reports".into());
            }
        }
        Then::Quit(reason) => {
            t.server("221 bye\r\n");
            let ev = events(&mut t);
            if ev != [format!("closed: {reason}")] || !t.c.is_closed() {
                return Err(format!("after the 221: {ev:?}"));
            }
        }
        Then::Go(want_results) | Then::Tls(want_results) => {
            if matches!(want.then, Then::Tls(_)) {
                t.c.tls_established().map_err(|e| e.to_string())?;
            }
            let ev = peer.run(&mut t);
            if &results(&ev) != want_results || ev.iter().any(|e| e.starts_with("closed")) {
                return Err(format!("then {ev:?}\n want results {want_results:?}"));
            }
            // Still usable to the end: QUIT, 221.
            t.c.quit();
            let ev = peer.run(&mut t);
            if ev != ["closed: quit 221"] || !t.c.is_closed() {
                return Err(format!("quit: {ev:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn every_reply_at_every_point() {
    let mut failures = Vec::new();
    let mut cells = 0;
    for &p in POINTS {
        for &f in FEEDS {
            let Some(w) = want(p, f) else { continue };
            cells += 1;
            let run = std::panic::catch_unwind(|| cell(p, f, &w));
            match run {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(format!("{p:?} x {f:?}:\n      {e}")),
                Err(_) => failures.push(format!("{p:?} x {f:?}: panicked")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cells > 500, "{cells}");
}
