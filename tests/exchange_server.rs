//! The server's Exchange profile: recorded EHLO replies reproduced byte for byte, the
//! MS-SMTPNTLM section 4 example, and transcripts for every Exchange verb (success,
//! refusal, bad syntax, wrong sequence, not advertised).

use ehlo::server::exchange::{exchange_verb_reply, ntlm_supported};
use ehlo::server::{AuthVerb, Decision, Event, Server, ServerConfig, TlsVerb};
use ehlo::syntax::command::ExchangeVerb;
use ehlo::Reply;
use std::time::Instant;
#[path = "fixtures/ehlo.rs"]
mod ehlo_fixtures;
use ehlo_fixtures::*;

/// One server session driven by the test.
struct S {
    s: Server,
    now: Instant,
    events: Vec<Event>,
}

impl S {
    fn new(config: ServerConfig) -> S {
        Self::start(config, false)
    }

    /// A session under implicit TLS (RFC 8314): established before the greeting.
    fn new_tls(config: ServerConfig) -> S {
        Self::start(config, true)
    }

    fn start(config: ServerConfig, tls: bool) -> S {
        let now = Instant::now();
        let mut s = Server::new(config, now);
        s.set_client_address("192.0.2.10".parse().unwrap());
        if tls {
            s.tls_established().unwrap();
        }
        let mut t = S {
            s,
            now,
            events: Vec::new(),
        };
        t.io(b"", |_| Decision::Accept);
        t
    }

    /// Feeds `input`, answers events with `decide`, returns the output.
    fn io(&mut self, input: &[u8], mut decide: impl FnMut(&Event) -> Decision) -> String {
        self.s.receive(self.now, input);
        while let Some(e) = self.s.poll_event() {
            let d = decide(&e);
            if e.needs_decision() {
                self.s.decide(d);
            }
            self.events.push(e);
        }
        let mut out = Vec::new();
        while let Some(b) = self.s.poll_transmit() {
            out.extend_from_slice(&b);
        }
        String::from_utf8(out).unwrap()
    }

    fn accept(&mut self, input: &str) -> String {
        self.io(input.as_bytes(), |_| Decision::Accept)
    }

    fn ehlo(&mut self) -> String {
        self.accept("EHLO client.example.test\r\n")
    }
}

/// A recorded fixture as wire bytes.
fn wire(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect()
}

#[test]
fn profiles_reproduce_recorded_ehlo_replies() {
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    assert_eq!(t.ehlo(), wire(EXCHANGE_2016_25));

    let mut t = S::new(ServerConfig::exchange_2003("mail.example.test"));
    assert_eq!(t.ehlo(), wire(EXCHANGE_2003));

    let mut t = S::new(ServerConfig::exchange_2016_submission("mail.example.test"));
    t.ehlo();
    assert_eq!(t.accept("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
    t.s.tls_established().unwrap();
    assert_eq!(t.ehlo(), wire(EXCHANGE_2016_587_TLS));
}

#[test]
fn profile_before_and_after_tls() {
    let mut t = S::new(ServerConfig::exchange_2016_submission("mail.example.test"));
    assert_eq!(
        t.ehlo(),
        wire(
            "250-mail.example.test Hello [192.0.2.10]
            250-SIZE 37748736
            250-PIPELINING
            250-DSN
            250-ENHANCEDSTATUSCODES
            250-STARTTLS
            250-AUTH GSSAPI NTLM
            250-8BITMIME
            250-BINARYMIME
            250 CHUNKING"
        )
    );
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t.ehlo();
    assert_eq!(
        t.accept("X-ANONYMOUSTLS\r\n"),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    t.s.tls_established().unwrap();
    assert_eq!(
        t.ehlo(),
        wire(
            "250-mail.example.test Hello [192.0.2.10]
            250-SIZE 37748736
            250-PIPELINING
            250-DSN
            250-ENHANCEDSTATUSCODES
            250-AUTH NTLM LOGIN
            250-X-EXPS GSSAPI NTLM
            250-8BITMIME
            250-BINARYMIME
            250-CHUNKING
            250-XRDST
            250 XSHADOWREQUEST"
        )
    );
    // Without a client address: the EHLO name.
    let mut s = Server::new(
        ServerConfig::exchange_2003("mail.example.test"),
        Instant::now(),
    );
    s.receive(Instant::now(), b"HELO client.example.test\r\n");
    while let Some(e) = s.poll_event() {
        if e.needs_decision() {
            s.accept();
        }
    }
    let mut out = Vec::new();
    while let Some(b) = s.poll_transmit() {
        out.extend_from_slice(&b);
    }
    assert_eq!(
        out,
        b"220 mail.example.test Microsoft ESMTP MAIL Service, Version: 6.0.3790.3959 ready\r\n250 mail.example.test\r\n"
    );
    let mut t = S::new(ServerConfig::exchange_2003("mail.example.test"));
    assert_eq!(
        t.accept("HELO x\r\n"),
        "250 mail.example.test Hello [192.0.2.10]\r\n"
    );
}

#[test]
fn exchange_2003_bare_size_accepts_size_parameter_and_enforces_limit() {
    let mut t = S::new(ServerConfig::exchange_2003("mail.example.test"));
    t.ehlo();
    assert_eq!(
        t.accept("MAIL FROM:<a@example.test> SIZE=100\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
    assert_eq!(t.accept("RSET\r\n"), "250 2.0.0 OK\r\n");
    assert_eq!(
        t.accept("MAIL FROM:<a@example.test> SIZE=99999999\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
}

// ---- MS-SMTPNTLM section 4 (the example MS-OXSMTP section 4 refers to) ----

pub const NEGOTIATE: &str = "TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAFAs4OAAAADw==";
pub const CHALLENGE: &str = "TlRMTVNTUAACAAAAFgAWADgAAAA1goriZt7rI6Uq/ccAAAAAAAAAAGwAbABOAAAABQLODgAAAA9FAFgAQwBIAC0AQwBMAEkALQA2ADYAAgAWAEUAWABDAEgALQBDAEwASQAtADYANgABABYARQBYAEMASAAtAEMATABJAC0ANgA2AAQAFgBlAHgAYwBoAC0AYwBsAGkALQA2ADYAAwAWAGUAeABjAGgALQBjAGwAaQAtADYANgAAAAAA";
pub const AUTHENTICATE: &str = "TlRMTVNTUAADAAAAGAAYAHwAAAAYABgAlAAAABYAFgBIAAAACAAIAF4AAAAWABYAZgAAABAAEACsAAAANYKI4gUCzg4AAAAPZQB4AGMAaAAtAGMAbABpAC0ANgA2AHQAZQBzAHQARQBYAEMASAAtAEMATABJAC0ANgA2AIqeV65hhASwAAAAAAAAAAAAAAAAAAAAAHZHDVfwTU5ci0RY04eRmWy0/VWZfIfjsqdUu2WmxYUKy83PyyxzbA8=";

/// The server of MS-SMTPNTLM 4.1: an Exchange 2003-family EHLO reply with AUTH first.
fn ms_smtpntlm_server() -> ServerConfig {
    let mut c = ServerConfig::exchange_2003("exch-cli-66");
    c.exchange.exps_mechanisms.clear();
    c.exchange.link2state = false;
    c.exchange.xexch50 = false;
    c.auth.mechanisms.retain(|m| m.name != "LOGIN");
    c.auth.legacy_auth_line = false;
    c.extensions.size = true;
    c.extensions.extra.retain(|x| x.keyword() != "SIZE");
    c.limits.max_message_size = 2_097_152;
    c.extensions.enhanced_status_codes = true;
    c.exchange.ehlo_order = [
        "AUTH",
        "TURN",
        "SIZE",
        "ETRN",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "8bitmime",
        "BINARYMIME",
        "CHUNKING",
        "VRFY",
        "OK",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    c
}

pub const MS_SMTPNTLM_EHLO: &str = "250-exch-cli-66 Hello [127.0.0.1]\r\n250-AUTH GSSAPI NTLM\r\n\
250-TURN\r\n250-SIZE 2097152\r\n250-ETRN\r\n250-PIPELINING\r\n250-DSN\r\n\
250-ENHANCEDSTATUSCODES\r\n250-8bitmime\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250-VRFY\r\n250 OK\r\n";

fn b64d(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn ms_smtpntlm_section_4_1_on_the_server() {
    let now = Instant::now();
    let mut s = Server::new(ms_smtpntlm_server(), now);
    s.set_client_address("127.0.0.1".parse().unwrap());
    let mut t = S {
        s,
        now,
        events: Vec::new(),
    };
    t.io(b"", |_| Decision::Accept);
    assert_eq!(t.accept("EHLO test.com\r\n"), MS_SMTPNTLM_EHLO);
    let decide = |e: &Event| match e {
        Event::AuthStart {
            verb: AuthVerb::Auth,
            mechanism,
            initial_response: None,
        } if mechanism == "NTLM" => ntlm_supported(),
        Event::AuthResponse { data, .. } if *data == b64d(NEGOTIATE) => {
            Decision::AuthChallenge(b64d(CHALLENGE))
        }
        Event::AuthResponse { data, .. } if *data == b64d(AUTHENTICATE) => Decision::AuthSuccess {
            identity: "EXCH-CLI-66\\test".into(),
        },
        _ => Decision::Default,
    };
    assert_eq!(t.io(b"AUTH NTLM\r\n", decide), "334 ntlm supported\r\n");
    assert_eq!(
        t.io(format!("{NEGOTIATE}\r\n").as_bytes(), decide),
        format!("334 {CHALLENGE}\r\n")
    );
    assert_eq!(
        t.io(format!("{AUTHENTICATE}\r\n").as_bytes(), decide),
        "235 2.7.0 Authentication successful\r\n"
    );
    assert_eq!(t.s.authenticated(), Some("EXCH-CLI-66\\test"));

    // Section 4.2: the same exchange failing.
    let mut t = S::new(ms_smtpntlm_server());
    t.accept("EHLO test.com\r\n");
    let decide = |e: &Event| match e {
        Event::AuthStart { .. } => ntlm_supported(),
        Event::AuthResponse { data, .. } if *data == b64d(NEGOTIATE) => {
            Decision::AuthChallenge(b64d(CHALLENGE))
        }
        _ => Decision::Reply(Reply::new(
            535,
            Some(ehlo::EnhancedCode::new(5, 7, 3)),
            "Authentication unsuccessful",
        )),
    };
    t.io(b"AUTH NTLM\r\n", decide);
    t.io(format!("{NEGOTIATE}\r\n").as_bytes(), decide);
    assert_eq!(
        t.io(format!("{AUTHENTICATE}\r\n").as_bytes(), decide),
        "535 5.7.3 Authentication unsuccessful\r\n"
    );
    assert_eq!(t.s.authenticated(), None);
}

/// [MS-SMTPNTLM] 3.2.5.2.3: when NTLM says the user name or password is wrong the server
/// MUST send SMTP_AUTH_Fail_Response, `535 5.7.3 <human-readable-string>` (2.2.1.4; the
/// section 4.2 example: `535 5.7.3 Authentication unsuccessful`). That is the machine's
/// own failure reply for an NTLM exchange, under AUTH and X-EXPS, caller-driven or
/// built in; other mechanisms keep RFC 4954's `535 5.7.8`.
#[test]
fn ms_smtpntlm_failure_reply_is_535_5_7_3() {
    let fail = "535 5.7.3 Authentication unsuccessful\r\n";
    for verb in ["AUTH", "X-EXPS"] {
        let mut cfg = ms_smtpntlm_server();
        cfg.exchange.exps_mechanisms = cfg.auth.mechanisms.clone();
        let mut t = S::new(cfg);
        t.ehlo();
        let decide = |e: &Event| match e {
            Event::AuthStart { .. } => ntlm_supported(),
            Event::AuthResponse { data, .. } if *data == b64d(NEGOTIATE) => {
                Decision::AuthChallenge(b64d(CHALLENGE))
            }
            _ => Decision::AuthFailure,
        };
        assert_eq!(
            t.io(format!("{verb} NTLM\r\n").as_bytes(), decide),
            "334 ntlm supported\r\n"
        );
        t.io(format!("{NEGOTIATE}\r\n").as_bytes(), decide);
        assert_eq!(
            t.io(format!("{AUTHENTICATE}\r\n").as_bytes(), decide),
            fail,
            "{verb}"
        );
        // With the initial response, and with no decision at all.
        t.io(format!("{verb} NTLM {NEGOTIATE}\r\n").as_bytes(), decide);
        assert_eq!(
            t.io(format!("{AUTHENTICATE}\r\n").as_bytes(), |_| {
                Decision::Default
            }),
            fail,
            "{verb}"
        );
        // GSSAPI keeps RFC 4954's reply.
        assert_eq!(
            t.io(format!("{verb} GSSAPI =\r\n").as_bytes(), |_| {
                Decision::AuthFailure
            }),
            "535 5.7.8 Authentication credentials invalid\r\n"
        );
    }
    // The built-in NTLM exchange: the caller's security package says no.
    let mut cfg = ms_smtpntlm_server();
    cfg.auth.builtin_exchanges = true;
    let mut t = S::new(cfg);
    t.ehlo();
    let decide = |e: &Event| match e {
        Event::AuthToken { data, .. } if *data == b64d(NEGOTIATE) => {
            Decision::AuthChallenge(b64d(CHALLENGE))
        }
        _ => Decision::AuthFailure,
    };
    assert_eq!(t.io(b"AUTH NTLM\r\n", decide), "334 ntlm supported\r\n");
    t.io(format!("{NEGOTIATE}\r\n").as_bytes(), decide);
    assert_eq!(t.io(format!("{AUTHENTICATE}\r\n").as_bytes(), decide), fail);
}

// ---- X-ANONYMOUSTLS ----

#[test]
fn x_anonymoustls_transcripts() {
    let cfg = || ServerConfig::exchange_2016_default("mail.example.test");
    // Success, with injection protection: the pipelined MAIL is never acted upon.
    let mut t = S::new(cfg());
    t.ehlo();
    let out = t.accept("X-ANONYMOUSTLS\r\nMAIL FROM:<evil@example.test>\r\n");
    assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
    assert!(t.events.iter().any(|e| matches!(
        e,
        Event::StartTls {
            verb: TlsVerb::XAnonymousTls
        }
    )));
    assert!(matches!(t.events.last(), Some(Event::TlsUpgrade)));
    assert_eq!(t.accept("RCPT TO:<x@example.test>\r\n"), ""); // during handshake
    t.s.tls_established().unwrap();
    assert!(t.s.is_tls());
    assert!(!t.events.iter().any(|e| matches!(e, Event::MailFrom { .. })));
    // Session reset: EHLO first again.
    assert_eq!(
        t.accept("MAIL FROM:<a@example.test>\r\n"),
        "503 5.5.1 Send HELO or EHLO first\r\n"
    );
    // Wrong sequence: under TLS.
    t.ehlo();
    assert_eq!(
        t.accept("X-ANONYMOUSTLS\r\n"),
        "503 5.5.1 TLS already active\r\n"
    );
    // Wrong sequence: before EHLO.
    let mut t = S::new(cfg());
    assert_eq!(
        t.accept("X-ANONYMOUSTLS\r\n"),
        "503 5.5.1 Send EHLO first\r\n"
    );
    // Refusal.
    let mut t = S::new(cfg());
    t.ehlo();
    let out = t.io(b"X-ANONYMOUSTLS\r\n", |_| {
        Decision::Reply(Reply::new(
            454,
            Some(ehlo::EnhancedCode::new(4, 7, 0)),
            "TLS not available",
        ))
    });
    assert_eq!(out, "454 4.7.0 TLS not available\r\n");
    assert!(!t.s.is_tls());
    // Bad syntax.
    assert_eq!(
        t.accept("X-ANONYMOUSTLS now\r\n"),
        "501 5.5.4 Syntax error in parameters or arguments\r\n"
    );
    // Not advertised.
    let mut t = S::new(ServerConfig::exchange_2016_submission("mail.example.test"));
    t.ehlo();
    assert_eq!(
        t.accept("X-ANONYMOUSTLS\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
}

/// A server that never offers X-ANONYMOUSTLS (the submission connector) answers it as the
/// unknown command it is there, under TLS too: `502 5.5.1` (RFC 5321 4.2.4; Exchange's own
/// answer is `500 5.3.3 Unrecognized command`), not `503 TLS already active`, which would
/// say the verb is served. The same for STARTTLS on a server that does not offer it.
#[test]
fn x_anonymoustls_not_offered_under_tls_is_502() {
    let mut t = S::new_tls(ServerConfig::exchange_2016_submission("mail.example.test"));
    t.ehlo();
    assert_eq!(
        t.accept("X-ANONYMOUSTLS\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
    let mut cfg = ServerConfig::exchange_2016_default("mail.example.test");
    cfg.extensions.starttls = false;
    let mut t = S::new_tls(cfg);
    t.ehlo();
    assert_eq!(
        t.accept("STARTTLS\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
    // Offered before TLS: under TLS it is a second upgrade.
    assert_eq!(
        t.accept("X-ANONYMOUSTLS\r\n"),
        "503 5.5.1 TLS already active\r\n"
    );
}

// ---- X-EXPS ----

#[test]
fn x_exps_transcripts() {
    let cfg = || ServerConfig::exchange_2016_default("mail.example.test");
    // Success: NTLM without initial response, MS-SMTPNTLM style, kept apart from AUTH.
    let mut t = S::new(cfg());
    t.ehlo();
    let decide = |e: &Event| match e {
        Event::AuthStart {
            verb: AuthVerb::XExps,
            initial_response: None,
            ..
        } => ntlm_supported(),
        Event::AuthResponse {
            verb: AuthVerb::XExps,
            data,
        } if data == b"negotiate" => Decision::AuthChallenge(b"challenge".to_vec()),
        Event::AuthResponse {
            verb: AuthVerb::XExps,
            data,
        } if data == b"authenticate" => Decision::AuthSuccess {
            identity: "hub.example.test".into(),
        },
        _ => Decision::AuthFailure,
    };
    assert_eq!(t.io(b"X-EXPS NTLM\r\n", decide), "334 ntlm supported\r\n");
    assert_eq!(t.io(b"bmVnb3RpYXRl\r\n", decide), "334 Y2hhbGxlbmdl\r\n");
    assert_eq!(
        t.io(b"YXV0aGVudGljYXRl\r\n", decide),
        "235 2.7.0 Authentication successful\r\n"
    );
    assert_eq!(t.s.exps_authenticated(), Some("hub.example.test"));
    assert_eq!(t.s.authenticated(), None);
    // Wrong sequence: again once authenticated.
    assert_eq!(
        t.accept("X-EXPS NTLM\r\n"),
        "503 5.5.1 Already authenticated\r\n"
    );
    // Refusal.
    let mut t = S::new(cfg());
    t.ehlo();
    assert_eq!(
        t.io(b"X-EXPS GSSAPI =\r\n", |_| Decision::AuthFailure),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    // Bad syntax: no mechanism, bad base64, unknown mechanism.
    assert_eq!(
        t.accept("X-EXPS\r\n"),
        "501 5.5.4 Syntax error in parameters or arguments\r\n"
    );
    assert_eq!(
        t.accept("X-EXPS NTLM a!b\r\n"),
        "501 5.5.2 Cannot Base64-decode client response\r\n"
    );
    assert_eq!(
        t.accept("X-EXPS PLAIN\r\n"),
        "504 5.5.4 Unrecognized authentication type\r\n"
    );
    // Wrong sequence: inside a transaction, before EHLO.
    t.accept("MAIL FROM:<a@example.test>\r\n");
    assert_eq!(
        t.accept("X-EXPS NTLM\r\n"),
        "503 5.5.1 AUTH not allowed during a mail transaction\r\n"
    );
    let mut t = S::new(cfg());
    assert_eq!(t.accept("X-EXPS NTLM\r\n"), "503 5.5.1 Send EHLO first\r\n");
    // Not advertised.
    let mut t = S::new(ServerConfig::exchange_2016_submission("mail.example.test"));
    t.ehlo();
    assert_eq!(
        t.accept("X-EXPS NTLM\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
    // The Exchange 2003 legacy line: LOGIN through X-EXPS without TLS.
    let mut t = S::new(ServerConfig::exchange_2003("mail.example.test"));
    t.ehlo();
    let out = t.io(b"X-EXPS LOGIN\r\n", |e| match e {
        Event::AuthStart { .. } => Decision::AuthChallenge(b"Username:".to_vec()),
        _ => Decision::AuthFailure,
    });
    assert_eq!(out, "334 VXNlcm5hbWU6\r\n");
}

// ---- XEXCH50 ----

fn xexch50_session() -> S {
    let mut cfg = ServerConfig::exchange_2016_default("mail.example.test");
    cfg.exchange.xexch50 = true;
    let mut t = S::new(cfg);
    t.ehlo();
    t
}

#[test]
fn xexch50_success_blob_is_exact_and_never_interpreted() {
    let mut t = xexch50_session();
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    // The blob holds what would be commands and an end of data.
    let blob: &[u8] = b"\r\n.\r\nQUIT\r\n\x00\xff";
    let out = t.accept(&format!("XEXCH50 {} 2\r\n", blob.len()));
    assert_eq!(out, "354 Send binary data\r\n");
    let mut input = blob.to_vec();
    input.extend_from_slice(b"BDAT 2 LAST\r\nhi");
    let out = t.io(&input, |_| Decision::Accept);
    assert_eq!(out, "250 2.0.0 OK\r\n250 2.0.0 Message accepted\r\n");
    let mut got = Vec::new();
    for e in &t.events {
        if let Event::XExch50Chunk(b) = e {
            got.extend_from_slice(b);
        }
    }
    assert_eq!(got, blob);
    assert!(t
        .events
        .iter()
        .any(|e| matches!(e, Event::XExch50 { size: 13, mode: 2 })));
    assert!(!t.events.iter().any(|e| matches!(e, Event::Quit)));
}

#[test]
fn xexch50_refusal_syntax_sequence_and_not_advertised() {
    // Refusal: the caller declines; the client goes on without the blob.
    let mut t = xexch50_session();
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    let out = t.io(b"XEXCH50 4 2\r\n", |e| match e {
        Event::XExch50 { .. } => Decision::Reply(Reply::new(
            550,
            Some(ehlo::EnhancedCode::new(5, 7, 1)),
            "Not authorized",
        )),
        _ => Decision::Accept,
    });
    assert_eq!(out, "550 5.7.1 Not authorized\r\n");
    // No blob is read: the next line is a command.
    assert_eq!(
        t.accept("BDAT 1 LAST\r\nx"),
        "250 2.0.0 Message accepted\r\n"
    );
    // Bad syntax, including the 50-octet command limit and the 1 GB blob limit.
    let mut t = xexch50_session();
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    let syntax = "501 5.5.4 Invalid XEXCH50 arguments\r\n";
    assert_eq!(t.accept("XEXCH50 x 2\r\n"), syntax);
    assert_eq!(t.accept("XEXCH50 4\r\n"), syntax);
    assert_eq!(t.accept("XEXCH50 1073741825 2\r\n"), syntax);
    assert_eq!(
        t.accept(&format!("XEXCH50 1 {}\r\n", "0".repeat(40))),
        "500 5.5.2 Line too long\r\n"
    );
    // At the 1 GB limit the command is accepted (the blob would follow).
    let out = t.accept("XEXCH50 1073741824 2\r\n");
    assert_eq!(out, "354 Send binary data\r\n");
    // Wrong sequence: before MAIL, before RCPT, twice.
    let mut t = xexch50_session();
    assert_eq!(
        t.accept("XEXCH50 4 2\r\n"),
        "503 5.5.1 Need MAIL command first\r\n"
    );
    t.accept("MAIL FROM:<a@example.test>\r\n");
    assert_eq!(
        t.accept("XEXCH50 4 2\r\n"),
        "503 5.5.1 Need RCPT command first\r\n"
    );
    t.accept("RCPT TO:<b@example.test>\r\n");
    t.accept("XEXCH50 1 2\r\nz");
    assert_eq!(
        t.accept("XEXCH50 1 2\r\n"),
        "503 5.5.1 XEXCH50 already received\r\n"
    );
    // After the message's first chunk: the blob goes between RCPT and the message.
    let mut t = xexch50_session();
    t.accept("MAIL FROM:<a@example.test>\r\n");
    t.accept("RCPT TO:<b@example.test>\r\n");
    t.accept("BDAT 1\r\nz");
    assert_eq!(
        t.accept("XEXCH50 1 2\r\n"),
        "503 5.5.1 XEXCH50 after BDAT\r\n"
    );
    // Not advertised (the 2016 preset does not offer it): 502, and no blob is read.
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t.ehlo();
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    assert_eq!(
        t.accept("XEXCH50 4 2\r\n"),
        "502 5.5.1 Command not implemented\r\n"
    );
}

/// KB 812455: the longest reply to an XEXCH50 command is 40 octets, and the success reply
/// after the blob at most 20 (an error reply there at most 40). Every such reply the
/// machine writes itself fits, CRLF included (the same count as the 50-octet command
/// limit), with ENHANCEDSTATUSCODES advertised as in the presets.
#[test]
fn xexch50_machine_replies_fit_kb_812455_sizes() {
    fn fits(out: &str, max: usize) {
        assert!(!out.is_empty());
        for line in out.split_inclusive("\r\n") {
            assert!(
                line.len() <= max,
                "{line:?} is {} octets > {max}",
                line.len()
            );
        }
    }
    let mut t = xexch50_session();
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    // Syntax errors and the 50-octet command limit.
    fits(&t.accept("XEXCH50 x 2\r\n"), 40);
    fits(&t.accept("XEXCH50 4\r\n"), 40);
    fits(&t.accept("XEXCH50 1073741825 2\r\n"), 40);
    fits(&t.accept(&format!("XEXCH50 1 {}\r\n", "0".repeat(40))), 40);
    // Success: 354, then the reply after the blob.
    let out = t.accept("XEXCH50 4 2\r\n");
    assert_eq!(out, "354 Send binary data\r\n");
    fits(&out, 40);
    let out = t.accept("abcd");
    assert!(out.starts_with("250 "), "{out}");
    fits(&out, 20);
    // Sequence errors: twice, before MAIL, before RCPT, after BDAT.
    fits(&t.accept("XEXCH50 1 2\r\n"), 40);
    let mut t = xexch50_session();
    fits(&t.accept("XEXCH50 4 2\r\n"), 40);
    t.accept("MAIL FROM:<a@example.test>\r\n");
    fits(&t.accept("XEXCH50 4 2\r\n"), 40);
    t.accept("RCPT TO:<b@example.test>\r\nBDAT 1\r\nz");
    fits(&t.accept("XEXCH50 1 2\r\n"), 40);
    // Not advertised, before EHLO, and before authentication (Exchange 2003).
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    fits(&t.accept("XEXCH50 4 2\r\n"), 40);
    t.ehlo();
    fits(&t.accept("XEXCH50 4 2\r\n"), 40);
    let mut t = S::new(ServerConfig::exchange_2003("mail.example.test"));
    t.ehlo();
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    fits(&t.accept("XEXCH50 4 2\r\n"), 40);
}

/// XEXCH50 is advertised only in an EHLO reply (KB 812455): after HELO (or before any
/// greeting) a configured XEXCH50 is `503 5.5.1 Send EHLO first`, as the other Exchange
/// verbs, AUTH, X-EXPS, STARTTLS and ETRN are, and no blob is read.
#[test]
fn xexch50_after_helo_is_send_ehlo_first() {
    let mut cfg = ServerConfig::exchange_2016_default("mail.example.test");
    cfg.exchange.xexch50 = true;
    cfg.exchange.xshadow = true;
    let mut t = S::new(cfg.clone());
    assert_eq!(t.accept("XEXCH50 4 2\r\n"), "503 5.5.1 Send EHLO first\r\n");
    let mut t = S::new(cfg);
    t.accept("HELO client.example.test\r\n");
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    assert_eq!(t.accept("XEXCH50 4 2\r\n"), "503 5.5.1 Send EHLO first\r\n");
    assert_eq!(t.accept("XSHADOW x\r\n"), "503 5.5.1 Send EHLO first\r\n");
    assert!(!t.events.iter().any(|e| matches!(e, Event::XExch50 { .. })));
    // No blob is read: the next line is a command.
    assert_eq!(t.accept("NOOP\r\n"), "250 2.0.0 OK\r\n");
}

/// KB 843106 ("How to troubleshoot the 504 need to authenticate first SMTP protocol
/// error"): from Exchange 2003 SP1 on, the SMTP service refuses XEXCH50 before the peer
/// authenticated, `504 Need to authenticate first`, and no blob is read; the sender goes
/// on without the properties. The Exchange 2003 preset (SP2's banner) does the same.
#[test]
fn exchange_2003_xexch50_needs_authentication_first() {
    let mut t = S::new(ServerConfig::exchange_2003("mail.example.test"));
    t.ehlo();
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    assert_eq!(
        t.accept("XEXCH50 4 2\r\n"),
        "504 5.7.0 Need to authenticate first\r\n"
    );
    assert!(!t.events.iter().any(|e| matches!(e, Event::XExch50 { .. })));
    // No blob is read: the next line is a command.
    assert_eq!(t.accept("NOOP\r\n"), "250 2.0.0 OK\r\n");
    // After X-EXPS (or AUTH) the blob is taken.
    let mut t = S::new(ServerConfig::exchange_2003("mail.example.test"));
    t.ehlo();
    t.io(b"X-EXPS GSSAPI =\r\n", |_| Decision::AuthSuccess {
        identity: "hub".into(),
    });
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    assert_eq!(t.accept("XEXCH50 4 2\r\n"), "354 Send binary data\r\n");
    assert_eq!(t.accept("abcd"), "250 2.0.0 OK\r\n");
    let mut t = S::new(ServerConfig::exchange_2003("mail.example.test"));
    t.ehlo();
    t.io(b"AUTH GSSAPI =\r\n", |_| Decision::AuthSuccess {
        identity: "user".into(),
    });
    t.accept("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n");
    assert_eq!(t.accept("XEXCH50 4 2\r\n"), "354 Send binary data\r\n");
}

// ---- the opaque-argument verbs ----

fn all_verbs_config() -> ServerConfig {
    let mut c = ServerConfig::exchange_2016_default("mail.example.test");
    let x = &mut c.exchange;
    x.link2state = true;
    x.xshadow = true;
    x.xqdiscard = true;
    x.xproxy = true;
    x.xsessionparams = true;
    c
}

const VERBS: [ExchangeVerb; 10] = [
    ExchangeVerb::XLink2State,
    ExchangeVerb::XShadow,
    ExchangeVerb::XShadowRequest,
    ExchangeVerb::XQDiscard,
    ExchangeVerb::XProxy,
    ExchangeVerb::XProxyFrom,
    ExchangeVerb::XProxyTo,
    ExchangeVerb::XSessionParams,
    ExchangeVerb::XRsetProxyTo,
    ExchangeVerb::XRdst,
];

#[test]
fn opaque_verbs_success_refusal_default() {
    for verb in VERBS {
        let name = verb.as_str();
        let mut t = S::new(all_verbs_config());
        let ehlo = t.ehlo();
        // XRSETPROXYTO rides on the XPROXY keywords; the others have their own line.
        assert!(
            verb == ExchangeVerb::XRsetProxyTo
                || ehlo.contains(&format!("-{name}\r\n"))
                || ehlo.ends_with(&format!(" {name}\r\n")),
            "{name} advertised: {ehlo}"
        );
        // Success: the arguments reach the caller byte for byte.
        let args = "FIRST  CHUNK=a\x01b ";
        let out = t.io(format!("{name} {args}\r\n").as_bytes(), |e| match e {
            Event::Exchange { verb: v, args: a } if *v == verb => {
                assert_eq!(&a[..], args.as_bytes(), "{name}");
                Decision::Reply(exchange_verb_reply(verb, true))
            }
            _ => Decision::Default,
        });
        assert_eq!(out, format!("250 2.0.0 {name} OK\r\n"));
        // Plain accept.
        assert_eq!(t.accept(&format!("{name}\r\n")), "250 2.0.0 OK\r\n");
        // Refusal with Exchange's code.
        let out = t.io(format!("{name} x\r\n").as_bytes(), |_| {
            Decision::Reply(exchange_verb_reply(verb, false))
        });
        assert_eq!(out, "500 5.3.3 Unrecognized command\r\n");
        // No decision: the machine's default.
        let out = t.io(format!("{name} x\r\n").as_bytes(), |_| Decision::Default);
        assert_eq!(out, "500 5.5.1 Command unrecognized\r\n");
    }
}

#[test]
fn opaque_verbs_bad_syntax_sequence_not_advertised() {
    for verb in VERBS {
        let name = verb.as_str();
        // Bad syntax: over the line limit (1,024 for X-LINK2STATE, 512 otherwise), a NUL.
        let mut t = S::new(all_verbs_config());
        t.ehlo();
        let limit = if verb == ExchangeVerb::XLink2State {
            1024
        } else {
            512
        };
        let long = format!("{name} {}\r\n", "a".repeat(limit - name.len() - 2));
        assert_eq!(t.accept(&long), "500 5.5.2 Line too long\r\n", "{name}");
        let ok = format!("{name} {}\r\n", "a".repeat(limit - name.len() - 3));
        assert_eq!(t.accept(&ok), "250 2.0.0 OK\r\n", "{name}");
        assert_eq!(
            t.accept(&format!("{name} a\0b\r\n")),
            "500 5.5.2 Syntax error, command unrecognized\r\n",
            "{name}"
        );
        // Wrong sequence: before EHLO.
        let mut t = S::new(all_verbs_config());
        assert_eq!(
            t.accept(&format!("{name} x\r\n")),
            "503 5.5.1 Send EHLO first\r\n",
            "{name}"
        );
        // Not advertised.
        let mut t = S::new(ServerConfig::exchange_2016_submission("mail.example.test"));
        t.ehlo();
        assert_eq!(
            t.accept(&format!("{name} x\r\n")),
            "502 5.5.1 Command not implemented\r\n",
            "{name}"
        );
        assert!(!t.events.iter().any(|e| matches!(e, Event::Exchange { .. })));
    }
}

#[test]
fn exchange_parameters_only_when_advertised() {
    let bad = "555 5.5.4 Parameter not recognized or not implemented\r\n";
    // Not advertised at all (submission preset).
    let mut cfg = ServerConfig::exchange_2016_submission("mail.example.test");
    cfg.auth.require_auth = false;
    let mut t = S::new(cfg);
    t.ehlo();
    let mut t2 = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t2.ehlo();
    for (t, xshadow_ok) in [(&mut t, false), (&mut t2, true)] {
        let out = t.io(
            b"MAIL FROM:<a@example.test> XSHADOW=h.example.test\r\n",
            |_| Decision::Accept,
        );
        if xshadow_ok {
            assert_eq!(out, "250 2.1.0 Sender OK\r\n");
            t.accept("RSET\r\n");
        } else {
            assert_eq!(out, bad);
        }
        // Exchange-to-Exchange parameters need an X-EXPS peer (or their keyword).
        assert_eq!(
            t.accept("MAIL FROM:<a@example.test> XOORG=example.test\r\n"),
            bad
        );
    }
    // XRDST= needs XRDST: refused on submission, accepted on the default connector.
    let mut cfg = ServerConfig::exchange_2016_submission("mail.example.test");
    cfg.auth.require_auth = false;
    let mut t = S::new(cfg);
    t.ehlo();
    t.accept("MAIL FROM:<a@example.test>\r\n");
    assert_eq!(
        t.accept("RCPT TO:<b@example.test> XRDST=h.example.test\r\n"),
        bad
    );
    assert_eq!(
        t.accept("RCPT TO:<b@example.test> XORAR=c@example.test\r\n"),
        bad
    );
    // After X-EXPS the Exchange-to-Exchange parameters are accepted.
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t.ehlo();
    t.io(b"X-EXPS GSSAPI =\r\n", |_| Decision::AuthSuccess {
        identity: "hub".into(),
    });
    assert_eq!(
        t.accept("MAIL FROM:<a@example.test> XOORG=example.test XATTRDIRECT=Originating\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
    // Or when the keyword is listed.
    let mut cfg = ServerConfig::exchange_2016_default("mail.example.test");
    cfg.extensions.extra.push(ehlo::Capability::Other {
        keyword: "XOORG".into(),
        params: String::new(),
    });
    let mut t = S::new(cfg);
    assert!(t.ehlo().ends_with("250 XOORG\r\n"));
    assert_eq!(
        t.accept("MAIL FROM:<a@example.test> XOORG=example.test\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
}

#[test]
fn exchange_mail_and_rcpt_parameters_reach_the_caller() {
    let mut cfg = all_verbs_config();
    cfg.extensions.extra.push(ehlo::Capability::Other {
        keyword: "XMESSAGECONTEXT".into(),
        params: String::new(),
    });
    let mut t = S::new(cfg);
    t.ehlo();
    let out = t.accept(
        "MAIL FROM:<a@example.test> XSHADOW=hub2.example.test XMESSAGECONTEXT=1.0,2.0\r\n\
         RCPT TO:<b@example.test> XRDST=hub.example.test XORAR=c@example.test\r\n",
    );
    assert_eq!(out, "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n");
    let mail = t.events.iter().find_map(|e| match e {
        Event::MailFrom { params, .. } => Some(params.clone()),
        _ => None,
    });
    let mail = mail.unwrap();
    assert_eq!(
        mail.exchange.xshadow.as_ref().unwrap().0,
        "hub2.example.test"
    );
    assert_eq!(mail.exchange.xmessagecontext.as_ref().unwrap().0, "1.0,2.0");
    let rcpt = t
        .events
        .iter()
        .find_map(|e| match e {
            Event::RcptTo { params, .. } => Some(params.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(rcpt.exchange.xrdst.unwrap().0, "hub.example.test");
    assert_eq!(rcpt.exchange.xorar.unwrap().0, "c@example.test");
    // The caller decides: refuse a redirect.
    let out = t.io(
        b"RCPT TO:<d@example.test> XRDST=evil.example.test\r\n",
        |e| match e {
            Event::RcptTo { params, .. } if params.exchange.xrdst.is_some() => {
                Decision::Reply(Reply::new(
                    550,
                    Some(ehlo::EnhancedCode::new(5, 7, 1)),
                    "Redirect not permitted",
                ))
            }
            _ => Decision::Accept,
        },
    );
    assert_eq!(out, "550 5.7.1 Redirect not permitted\r\n");
}

#[test]
fn x_exps_lines_may_exceed_the_sasl_limit() {
    use base64::Engine as _;
    let token = vec![0x60u8; 40_000]; // a large Kerberos ticket
    let text = base64::engine::general_purpose::STANDARD.encode(&token);
    // On the command line (initial response) and as a continuation line.
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t.ehlo();
    let tok = token.clone();
    let out = t.io(
        format!("X-EXPS GSSAPI {text}\r\n").as_bytes(),
        |e| match e {
            Event::AuthStart {
                initial_response: Some(ir),
                ..
            } if *ir == tok => Decision::AuthChallenge(b"more".to_vec()),
            Event::AuthResponse { data, .. } if *data == tok => Decision::AuthSuccess {
                identity: "hub".into(),
            },
            _ => Decision::AuthFailure,
        },
    );
    assert_eq!(out, "334 bW9yZQ==\r\n");
    let tok = token.clone();
    let out = t.io(format!("{text}\r\n").as_bytes(), |e| match e {
        Event::AuthResponse { data, .. } if *data == tok => Decision::AuthSuccess {
            identity: "hub".into(),
        },
        _ => Decision::AuthFailure,
    });
    assert_eq!(out, "235 2.7.0 Authentication successful\r\n");
    // Bad base64 in a long line is still refused; AUTH keeps RFC 4954's limit.
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t.ehlo();
    t.io(
        b"X-EXPS GSSAPI\r\n",
        |_| Decision::AuthChallenge(Vec::new()),
    );
    let out = t.accept(&format!("{}!\r\n", &text[..20_000]));
    assert_eq!(out, "501 5.5.2 Cannot Base64-decode client response\r\n");
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t.ehlo();
    // An initial response over the limit: RFC 4954 sections 4 and 6, `500 5.5.6`.
    let out = t.accept(&format!("AUTH NTLM {text}\r\n"));
    assert!(
        out.starts_with("500 5.5.6 Authentication exchange line is too long\r\n"),
        "{out}"
    );
    // Beyond the X-EXPS limit: refused, the session stays usable.
    let long = "A".repeat(80 * 1024);
    let out = t.accept(&format!("X-EXPS GSSAPI {long}\r\nNOOP\r\n"));
    assert!(
        out.starts_with("500 5.5.6 Authentication exchange line is too long\r\n"),
        "{out}"
    );
    assert!(out.ends_with("250 2.0.0 OK\r\n"), "{out}");
}

/// [MS-OXSMTP] 3.2.5.1 / 2.2.1: with the built-in exchanges, an Exchange preset answers
/// `X-EXPS GSSAPI` without initial response with SASL_Mechanism_Supported,
/// `334 GSSAPI supported`, instead of the empty `334 `; a plain server keeps RFC 4954's
/// empty challenge, and NTLM keeps `334 ntlm supported` either way.
#[test]
fn builtin_gssapi_without_initial_response_sends_sasl_mechanism_supported() {
    let mut c = ServerConfig::exchange_2016_default("mail.example.test");
    c.auth.builtin_exchanges = true;
    let mut t = S::new(c.clone());
    t.ehlo();
    assert_eq!(t.accept("X-EXPS GSSAPI\r\n"), "334 GSSAPI supported\r\n");
    // The client's first token follows as usual.
    t.io(b"YAE=\r\n", |_| Decision::AuthFailure);
    assert!(t.events.iter().any(|e| matches!(
        e,
        Event::AuthToken { verb: AuthVerb::XExps, mechanism, data } if mechanism == "GSSAPI" && data == &[0x60, 0x01]
    )));
    let mut t = S::new(c.clone());
    t.ehlo();
    assert_eq!(t.accept("X-EXPS NTLM\r\n"), "334 ntlm supported\r\n");
    // With an initial response there is no such message.
    let mut t = S::new(c.clone());
    t.ehlo();
    assert_eq!(
        t.io(b"X-EXPS GSSAPI YAE=\r\n", |_| Decision::AuthFailure),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );

    c.exchange.sasl_mechanism_supported = false;
    let mut t = S::new(c);
    t.ehlo();
    assert_eq!(t.accept("X-EXPS GSSAPI\r\n"), "334 \r\n");
}

/// KB 812455: an X-LINK2STATE command or response may be up to 1,024 octets, so the
/// caller's reply stays one line up to that length (the `exchange_verb_reply` docs say
/// the same); beyond it, and for every other verb, replies wrap at 512 octets as usual.
#[test]
fn x_link2state_reply_up_to_1024_octets_stays_one_line() {
    let reply_of = |cfg: ServerConfig, cmd: &[u8], text: String| {
        let mut t = S::new(cfg);
        t.ehlo();
        t.io(cmd, |e| match e {
            Event::Exchange { .. } => Decision::Reply(Reply::new(250, None, text.clone())),
            _ => Decision::Accept,
        })
    };
    let text = format!("LAST CHUNK={}", "A".repeat(900));
    let out = reply_of(
        ServerConfig::exchange_2003("mail.example.test"),
        b"X-LINK2STATE FIRST CHUNK=x\r\n",
        text.clone(),
    );
    assert_eq!(
        out,
        format!("250 {text}\r\n"),
        "reply split over several lines"
    );
    // Exactly 1,024 octets with CRLF: one line; one more octet: wrapped.
    let text = "B".repeat(1024 - 6);
    let out = reply_of(
        ServerConfig::exchange_2003("mail.example.test"),
        b"X-LINK2STATE FIRST CHUNK=x\r\n",
        text.clone(),
    );
    assert_eq!(out, format!("250 {text}\r\n"));
    let out = reply_of(
        ServerConfig::exchange_2003("mail.example.test"),
        b"X-LINK2STATE FIRST CHUNK=x\r\n",
        "B".repeat(1024 - 5),
    );
    assert!(
        out.starts_with("250-") && out.lines().all(|l| l.len() + 2 <= 1024),
        "{out}"
    );
    // Another verb's reply still wraps at 512.
    let out = reply_of(
        ServerConfig::exchange_2016_default("mail.example.test"),
        b"XRDST hub.example.test\r\n",
        "C".repeat(900),
    );
    assert!(
        out.starts_with("250-") && out.lines().all(|l| l.len() + 2 <= 512),
        "{out}"
    );
}

/// RFC 4954 section 4 (after a successful AUTH, a further AUTH gets 503) holds across the
/// two verbs: X-EXPS is Exchange's AUTH (KB 812455), and no public source lets a session
/// hold two identities. Either success refuses the other verb with `503 5.5.1`.
#[test]
fn x_exps_and_auth_after_either_succeeded_are_503() {
    let success = |identity: &str| {
        let identity = identity.to_string();
        move |_: &Event| Decision::AuthSuccess {
            identity: identity.clone(),
        }
    };
    // AUTH, then X-EXPS.
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t.ehlo();
    assert_eq!(
        t.io(b"AUTH NTLM =\r\n", success("CONTOSO\\alice")),
        "235 2.7.0 Authentication successful\r\n"
    );
    let out = t.io(b"X-EXPS NTLM\r\n", |e| match e {
        Event::AuthStart { .. } => ntlm_supported(),
        _ => Decision::Default,
    });
    assert_eq!(out, "503 5.5.1 Already authenticated\r\n");
    assert_eq!(t.s.authenticated(), Some("CONTOSO\\alice"));
    assert_eq!(t.s.exps_authenticated(), None);
    // X-EXPS, then AUTH.
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    t.ehlo();
    assert_eq!(
        t.io(b"X-EXPS GSSAPI =\r\n", success("HUB1$")),
        "235 2.7.0 Authentication successful\r\n"
    );
    let n = t.events.len();
    assert_eq!(
        t.io(b"AUTH NTLM\r\n", |_| ntlm_supported()),
        "503 5.5.1 Already authenticated\r\n"
    );
    assert!(
        !t.events[n..]
            .iter()
            .any(|e| matches!(e, Event::AuthStart { .. })),
        "{:?}",
        &t.events[n..]
    );
    assert_eq!(t.s.exps_authenticated(), Some("HUB1$"));
    assert_eq!(t.s.authenticated(), None);
}

/// [MS-SMTPNTLM] 2.2.1.9 (EHLO Discovery Message): the server answers EHLO, AUTH
/// included, "with or without an argument ... The SMTP server MUST support such clients".
/// The Exchange presets do (`ExchangeConfig::ehlo_without_argument`); a plain server
/// keeps RFC 5321's grammar and refuses it.
#[test]
fn exchange_preset_answers_ehlo_without_argument() {
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    let out = t.accept("EHLO\r\n");
    assert_eq!(out, wire(EXCHANGE_2016_25));
    assert!(t
        .events
        .iter()
        .any(|e| matches!(e, Event::Ehlo { domain } if domain.is_empty())));
    assert!(t.s.is_esmtp());
    assert_eq!(t.s.client_name(), None);
    // The session goes on as after any EHLO.
    assert_eq!(
        t.accept("MAIL FROM:<a@example.test>\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );

    // Without the client's address the first line has no name to show.
    let now = std::time::Instant::now();
    let mut s = Server::new(ServerConfig::exchange_2003("mail.example.test"), now);
    s.receive(now, b"ehlo  \r\n");
    while let Some(e) = s.poll_event() {
        if e.needs_decision() {
            s.decide(Decision::Accept);
        }
    }
    let mut out = Vec::new();
    while let Some(b) = s.poll_transmit() {
        out.extend_from_slice(&b);
    }
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("250-mail.example.test Hello\r\n"), "{out}");

    // Off (the default): 501, and HELO still needs its argument in the presets.
    let mut t = S::new(ServerConfig::new("mx.example.test"));
    assert!(t.accept("EHLO\r\n").starts_with("501 "));
    let mut t = S::new(ServerConfig::exchange_2016_default("mail.example.test"));
    assert!(t.accept("HELO\r\n").starts_with("501 "));
}

/// The MUST holds for any server that offers NTLM, with AUTH or with X-EXPS, even with
/// `ehlo_without_argument` off: an NTLM client may send a bare EHLO to discover it.
#[test]
fn a_server_offering_ntlm_answers_ehlo_without_argument() {
    use ehlo::server::Mechanism;
    let mut c = ServerConfig::new("mx.example.test");
    c.auth.mechanisms = vec![Mechanism::new("NTLM")];
    assert!(!c.exchange.ehlo_without_argument);
    let mut t = S::new(c);
    let out = t.accept("EHLO\r\n");
    assert!(out.starts_with("250-mx.example.test Hello"), "{out}");
    assert!(
        out.contains("250-AUTH NTLM\r\n") || out.ends_with("250 AUTH NTLM\r\n"),
        "{out}"
    );
    assert!(t.s.is_esmtp());

    let mut c = ServerConfig::new("mx.example.test");
    c.exchange.exps_mechanisms = vec![Mechanism::new("ntlm")];
    let mut t = S::new(c);
    assert!(t.accept("EHLO\r\n").starts_with("250-"));

    // Another mechanism does not bring it.
    let mut c = ServerConfig::new("mx.example.test");
    c.auth.mechanisms = vec![Mechanism::new("CRAM-MD5")];
    let mut t = S::new(c);
    assert!(t.accept("EHLO\r\n").starts_with("501 "));
}

/// `ExchangeConfig::max_exps_line`: `0` (the default) is `limits.max_sasl_line`, and a
/// value below 512 counts as 512 (a command line): an X-EXPS line one octet over the
/// limit in force gets `500 5.5.6`, one at the limit is read.
#[test]
fn x_exps_line_limit_defaults_and_floor() {
    fn exps_line(max_exps_line: usize, len: usize) -> String {
        let mut c = ServerConfig::new("mail.example.test");
        c.exchange.exps_mechanisms = vec![ehlo::server::Mechanism::new("GSSAPI")];
        c.exchange.max_exps_line = max_exps_line;
        let mut t = S::new(c);
        t.ehlo();
        // `X-EXPS GSSAPI ` + base64 + CRLF, `len` octets in all.
        let text = "A".repeat((len - "X-EXPS GSSAPI \r\n".len()) / 4 * 4);
        let line = format!("X-EXPS GSSAPI {text}\r\n");
        assert_eq!(line.len(), len);
        t.io(line.as_bytes(), |_| Decision::AuthFailure)
    }
    let too_long = "500 5.5.6 Authentication exchange line is too long\r\n";
    // 0: the SASL line limit, 12,288 octets.
    assert!(!exps_line(0, 12_288).starts_with(too_long));
    assert!(exps_line(0, 12_292).starts_with(too_long));
    // Below 512: 512.
    assert!(!exps_line(100, 512).starts_with(too_long));
    assert!(exps_line(100, 516).starts_with(too_long));
}
