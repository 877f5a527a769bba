//! Transcript tests: AUTH mechanism choice, SASL-IR, multi-step mechanisms, caller-driven
//! mechanisms (NTLM per [MS-SMTPNTLM]), X-EXPS, failures.
mod client_support;
use base64::Engine as _;
use client_support::*;
use ehlo::client::*;

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn password() -> Credentials {
    Credentials::Password {
        authzid: None,
        username: "alice".into(),
        password: "s3cret".into(),
    }
}

fn config(creds: Credentials, tls: bool) -> ClientConfig {
    let mut c = ClientConfig::new("client.example.test");
    c.credentials = Some(creds);
    c.implicit_tls = tls;
    c
}

fn closed(ev: &[Event]) -> Option<&CloseReason> {
    ev.iter().find_map(|e| match e {
        Event::Closed(r) => Some(r),
        _ => None,
    })
}

/// `AUTH LOGIN` in two steps ([MS-XLOGIN]): the server's prompts for the user name and
/// the password, and alice's answers.
fn login_steps(t: &mut T) {
    t.expect("AUTH LOGIN\r\n");
    t.server("334 VXNlcm5hbWU6\r\n");
    t.expect(&format!("{}\r\n", b64(b"alice")));
    t.server("334 UGFzc3dvcmQ6\r\n");
    t.expect(&format!("{}\r\n", b64(b"s3cret")));
}

#[test]
fn plain_with_initial_response_over_tls() {
    let mut t = T::new(config(password(), true));
    t.hello(&["AUTH LOGIN PLAIN", "PIPELINING"]);
    t.expect(&format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0s3cret")));
    t.server("235 2.7.0 Authentication successful\r\n");
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(e, Event::Authenticated { mechanism, reply } if mechanism == "PLAIN" && reply.code.0 == 235)));
    assert_eq!(ev.last(), Some(&Event::Ready));
}

#[test]
fn plain_without_initial_response_when_configured() {
    let mut c = config(password(), true);
    c.sasl_initial_response = false;
    let mut t = T::new(c);
    t.hello(&["AUTH PLAIN"]);
    t.expect("AUTH PLAIN\r\n");
    t.server("334 \r\n");
    t.expect(&format!("{}\r\n", b64(b"\0alice\0s3cret")));
    t.server("235 ok\r\n");
    assert!(t.events().contains(&Event::Ready));
}

#[test]
fn login_two_steps() {
    let mut t = T::new(config(password(), true));
    t.hello(&["AUTH LOGIN"]);
    login_steps(&mut t);
    t.server("235 2.7.0 Authentication successful\r\n");
    assert!(t.events().contains(&Event::Ready));
}

#[test]
fn login_extra_challenge_is_cancelled() {
    let mut t = T::new(config(password(), true));
    t.hello(&["AUTH LOGIN"]);
    login_steps(&mut t);
    t.server("334 bW9yZT8=\r\n");
    t.expect("*\r\n");
    t.server("501 5.0.0 cancelled\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    assert!(
        matches!(closed(&t.events()), Some(CloseReason::AuthFailed(Some(r))) if r.code.0 == 501)
    );
}

/// A server that asks for the user name again and again gets it twice, then a cancel:
/// the exchange cannot be held open for ever one prompt at a time.
#[test]
fn login_endless_user_name_prompts_are_cancelled() {
    let mut t = T::new(config(password(), true));
    t.hello(&["AUTH LOGIN"]);
    t.expect("AUTH LOGIN\r\n");
    for _ in 0..2 {
        t.server("334 VXNlcm5hbWU6\r\n");
        t.expect(&format!("{}\r\n", b64(b"alice")));
    }
    t.server("334 VXNlcm5hbWU6\r\n");
    t.expect("*\r\n");
    t.server("501 5.0.0 cancelled\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    assert!(
        matches!(closed(&t.events()), Some(CloseReason::AuthFailed(Some(r))) if r.code.0 == 501)
    );
}

#[test]
fn never_plaintext_without_tls_unless_allowed() {
    let mut t = T::new(config(password(), false));
    let id =
        t.c.send(
            Envelope::new("a@example.test")
                .unwrap()
                .recipient("b@example.test")
                .unwrap(),
            "x\r\n",
        )
        .unwrap();
    t.hello(&["AUTH PLAIN LOGIN"]);
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(e, Event::MessageResult { message, result: Err(MessageError::SessionClosed(CloseReason::AuthUnavailable)), .. } if *message == id)));
    assert!(matches!(closed(&ev), Some(CloseReason::AuthUnavailable)));

    let mut c = config(password(), false);
    c.allow_plaintext_auth = true;
    let mut t = T::new(c);
    t.hello(&["AUTH LOGIN"]);
    t.expect("AUTH LOGIN\r\n");
}

#[test]
fn auth_after_starttls() {
    let mut t = T::new(config(password(), false));
    t.hello(&["STARTTLS"]);
    t.expect("STARTTLS\r\n");
    t.server("220 go\r\n");
    t.c.tls_established().unwrap();
    t.expect("EHLO client.example.test\r\n");
    t.server("250-mx\r\n250 AUTH PLAIN\r\n");
    t.expect(&format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0s3cret")));
}

#[test]
fn auth_refused_quits() {
    let mut t = T::new(config(password(), true));
    t.hello(&["AUTH PLAIN"]);
    t.expect(&format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0s3cret")));
    t.server("535 5.7.8 Authentication credentials invalid\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    assert!(
        matches!(closed(&t.events()), Some(CloseReason::AuthFailed(Some(r))) if r.code.0 == 535)
    );
}

#[test]
fn no_auth_advertised_with_credentials() {
    let mut t = T::new(config(password(), true));
    t.hello(&["PIPELINING"]);
    t.expect("QUIT\r\n");
    t.c.peer_closed();
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::AuthUnavailable)
    ));
}

#[test]
fn xoauth2_failure_flow() {
    let creds = Credentials::OAuth2 {
        username: "alice@example.test".into(),
        token: "tok".into(),
    };
    let mut t = T::new(config(creds, true));
    t.hello(&["AUTH LOGIN XOAUTH2"]);
    t.expect(&format!(
        "AUTH XOAUTH2 {}\r\n",
        b64(b"user=alice@example.test\x01auth=Bearer tok\x01\x01")
    ));
    t.server(&format!("334 {}\r\n", b64(br#"{"status":"401"}"#)));
    // The empty answer that asks the server for its final reply.
    t.expect("\r\n");
    t.server("535 5.7.3 Authentication unsuccessful\r\n");
    t.expect("QUIT\r\n");
}

#[test]
fn oauthbearer_preferred() {
    let creds = Credentials::OAuth2 {
        username: "alice@example.test".into(),
        token: "tok".into(),
    };
    let mut t = T::new(config(creds, true));
    t.hello(&["AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH"]);
    t.expect(&format!(
        "AUTH OAUTHBEARER {}\r\n",
        b64(b"n,a=alice@example.test,\x01auth=Bearer tok\x01\x01")
    ));
    t.server(&format!(
        "334 {}\r\n",
        b64(br#"{"status":"invalid_token"}"#)
    ));
    t.expect(&format!("{}\r\n", b64(b"\x01")));
    t.server("535 5.7.8 no\r\n");
    t.expect("QUIT\r\n");
}

fn challenge(ev: &[Event]) -> Option<AuthChallenge> {
    ev.iter().find_map(|e| match e {
        Event::AuthChallenge(c) => Some(c.clone()),
        _ => None,
    })
}

#[test]
fn ntlm_caller_driven_like_ms_oxsmtp_section_4() {
    let creds = Credentials::External {
        mechanisms: vec!["NTLM".into()],
    };
    let mut t = T::new(config(creds, false));
    t.hello(&["AUTH GSSAPI NTLM LOGIN", "AUTH=LOGIN"]);
    t.expect("");
    let c = challenge(&t.events()).unwrap();
    assert_eq!(
        (c.mechanism.as_str(), c.initial, c.data.clone()),
        ("NTLM", true, None)
    );
    t.c.auth_respond(AuthResponse::NoInitialResponse).unwrap();
    t.expect("AUTH NTLM\r\n");
    // [MS-SMTPNTLM]: human-readable text, not base64.
    t.server("334 NTLM supported\r\n");
    let c = challenge(&t.events()).unwrap();
    assert!(!c.initial);
    assert_eq!(c.reply.as_ref().unwrap().text, "NTLM supported");
    t.c.auth_respond(AuthResponse::Data(b"NTLMSSP\0\x01".to_vec()))
        .unwrap();
    t.expect(&format!("{}\r\n", b64(b"NTLMSSP\0\x01")));
    t.server(&format!("334 {}\r\n", b64(b"NTLMSSP\0\x02challenge")));
    let c = challenge(&t.events()).unwrap();
    assert_eq!(c.data.as_deref(), Some(&b"NTLMSSP\0\x02challenge"[..]));
    t.c.auth_respond(AuthResponse::Data(b"NTLMSSP\0\x03".to_vec()))
        .unwrap();
    t.expect(&format!("{}\r\n", b64(b"NTLMSSP\0\x03")));
    t.server("235 2.7.0 Authentication successful\r\n");
    let ev = t.events();
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Authenticated { mechanism, .. } if mechanism == "NTLM")));
    assert!(ev.contains(&Event::Ready));
    assert_eq!(
        t.c.auth_respond(AuthResponse::Cancel),
        Err(UsageError::NoChallenge)
    );
}

#[test]
fn caller_driven_initial_response_and_cancel() {
    let creds = Credentials::External {
        mechanisms: vec!["GSSAPI".into()],
    };
    let mut t = T::new(config(creds.clone(), false));
    t.hello(&["AUTH GSSAPI NTLM"]);
    assert!(challenge(&t.events()).unwrap().initial);
    t.c.auth_respond(AuthResponse::Data(b"token".to_vec()))
        .unwrap();
    t.expect(&format!("AUTH GSSAPI {}\r\n", b64(b"token")));
    t.server("334 \r\n");
    assert_eq!(challenge(&t.events()).unwrap().data, Some(vec![]));
    t.c.auth_respond(AuthResponse::Cancel).unwrap();
    t.expect("*\r\n");
    t.server("501 5.7.0 cancelled\r\n");
    t.expect("QUIT\r\n");

    // An initial response too long for the 512-octet AUTH line waits for the first 334.
    let mut t = T::new(config(creds, false));
    t.hello(&["AUTH GSSAPI"]);
    t.events();
    let long = vec![7u8; 600];
    t.c.auth_respond(AuthResponse::Data(long.clone())).unwrap();
    t.expect("AUTH GSSAPI\r\n");
    t.server("334 \r\n");
    t.expect(&format!("{}\r\n", b64(&long)));
    assert_eq!(challenge(&t.events()), None);
}

#[test]
fn x_exps_when_configured() {
    let creds = Credentials::External {
        mechanisms: vec!["NTLM".into()],
    };
    let mut c = config(creds, false);
    c.auth_verb = AuthVerb::XExps;
    let mut t = T::new(c);
    t.hello(&["X-EXPS GSSAPI NTLM", "AUTH NTLM"]);
    let ch = challenge(&t.events()).unwrap();
    assert_eq!(ch.verb, AuthVerb::XExps);
    t.c.auth_respond(AuthResponse::Data(b"t1".to_vec()))
        .unwrap();
    t.expect(&format!("X-EXPS NTLM {}\r\n", b64(b"t1")));
    t.server("235 ok\r\n");
    assert!(t.events().contains(&Event::Ready));
    // X-EXPS asked for but not offered: AUTH.
    let mut c = config(password(), true);
    c.auth_verb = AuthVerb::XExps;
    let mut t = T::new(c);
    t.hello(&["AUTH LOGIN"]);
    t.expect("AUTH LOGIN\r\n");
}

#[test]
fn caller_cancels_before_the_command() {
    let creds = Credentials::External {
        mechanisms: vec!["NTLM".into()],
    };
    let mut t = T::new(config(creds, false));
    t.hello(&["AUTH NTLM"]);
    t.events();
    t.c.auth_respond(AuthResponse::Cancel).unwrap();
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::AuthFailed(None))
    ));
}

#[test]
fn cram_md5_without_tls() {
    // CRAM-MD5 never exposes the password: allowed in plaintext, and preferred to PLAIN.
    // Challenge of RFC 2195 section 2; "tim " + HMAC-MD5("tanstaafl", challenge) in hex.
    let creds = Credentials::Password {
        authzid: None,
        username: "tim".into(),
        password: "tanstaafl".into(),
    };
    let mut t = T::new(config(creds, false));
    t.hello(&["AUTH PLAIN LOGIN CRAM-MD5"]);
    t.expect("AUTH CRAM-MD5\r\n");
    t.server("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
    t.expect("dGltIDg0ZWMwOTllYzJiMWU3OWNhZDFkM2JjMTM1MzAwYWM5\r\n");
    t.server("235 Authentication successful\r\n");
    assert!(t.events().contains(&Event::Ready));
}

#[test]
fn bad_challenge_for_builtin_mechanism_cancels() {
    let mut t = T::new(config(password(), false));
    t.hello(&["AUTH CRAM-MD5"]);
    t.expect("AUTH CRAM-MD5\r\n");
    t.server("334 !!not base64!!\r\n");
    t.expect("*\r\n");
    t.server("501 5.0.0 cancelled\r\n");
    t.expect("QUIT\r\n");
}

/// RFC 4954 4: 334 is the only intermediate reply to AUTH; another 3xx (a 354, say) is a
/// protocol error that closes the session without sending anything (no QUIT).
#[test]
fn other_3xx_than_334_to_auth_is_a_protocol_error() {
    let mut t = T::new(config(password(), true));
    t.hello(&["AUTH PLAIN"]);
    t.expect(&format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0s3cret")));
    t.server("354 go ahead\r\n");
    t.expect("");
    assert!(matches!(
        closed(&t.events()),
        Some(CloseReason::Protocol(ProtocolError::UnexpectedReply { command: "AUTH", reply }))
            if reply.code.0 == 354
    ));
}

/// RFC 4954 section 4: after the client's `*` the server "MUST reject the AUTH command by
/// sending a 501 reply". A `235` instead must not make the client authenticated (the
/// client cancelled, for instance because the server failed the mutual-authentication
/// step of GSSAPI, or sent a challenge a built-in mechanism could not answer): the
/// session closes as a protocol error, and no `Authenticated` or `Ready` follows. A further
/// `334` is answered the same way rather than continuing the cancelled exchange.
#[test]
fn success_after_the_clients_cancel_is_a_protocol_error() {
    let unexpected = |ev: &[Event], code: u16| {
        assert!(
            !ev.iter()
                .any(|e| matches!(e, Event::Authenticated { .. } | Event::Ready)),
            "{ev:?}"
        );
        assert!(
            matches!(
                closed(ev),
                Some(CloseReason::Protocol(ProtocolError::UnexpectedReply { command: "AUTH", reply }))
                    if reply.code.0 == code
            ),
            "{ev:?}"
        );
    };
    // Caller-driven GSSAPI: the caller's package rejects the server's token.
    let creds = Credentials::External {
        mechanisms: vec!["GSSAPI".into()],
    };
    for late in ["235 2.7.0 Authentication successful\r\n", "334 \r\n"] {
        let mut t = T::new(config(creds.clone(), true));
        t.hello(&["AUTH GSSAPI"]);
        t.events();
        t.c.auth_respond(AuthResponse::Data(b"token".to_vec()))
            .unwrap();
        t.expect(&format!("AUTH GSSAPI {}\r\n", b64(b"token")));
        t.server(&format!("334 {}\r\n", b64(b"forged")));
        assert!(challenge(&t.events()).is_some());
        t.c.auth_respond(AuthResponse::Cancel).unwrap();
        t.expect("*\r\n");
        t.server(late);
        t.expect("");
        unexpected(&t.events(), late[..3].parse().unwrap());
    }
    // Built-in CRAM-MD5: a challenge that is not BASE64 is cancelled.
    let mut t = T::new(config(password(), false));
    t.hello(&["AUTH CRAM-MD5"]);
    t.expect("AUTH CRAM-MD5\r\n");
    t.server("334 !!not base64!!\r\n");
    t.expect("*\r\n");
    t.server("235 2.7.0 Authentication successful\r\n");
    t.expect("");
    unexpected(&t.events(), 235);
}

// ----- Choosing the mechanisms (`ClientConfig::auth_mechanisms`) and falling back to the
// next one (`ClientConfig::auth_fallback`, RFC 4954 sections 4 and 6). -----

use ehlo::sasl::Mechanism;

fn prefs(tls: bool, only: Option<Vec<Mechanism>>, fallback: bool) -> ClientConfig {
    let mut c = config(password(), tls);
    c.auth_mechanisms = only;
    c.auth_fallback = fallback;
    c
}

fn plain_ir() -> String {
    format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0s3cret"))
}

/// The CRAM-MD5 answer of alice to the challenge `<1@mx>` ("alice " and the HMAC in hex).
fn cram_answer() -> String {
    let mut ex = ehlo::sasl::ClientExchange::new(
        Mechanism::CramMd5,
        ehlo::sasl::ClientCredentials::Password {
            authzid: None,
            username: "alice".into(),
            password: "s3cret".into(),
        },
    )
    .unwrap();
    ex.start(false).unwrap();
    match ex.challenge(b64(b"<1@mx>").as_bytes()).unwrap() {
        ehlo::sasl::ClientStep::Send(line) => format!("{line}\r\n"),
        other => panic!("{other:?}"),
    }
}

/// The client sends `AUTH CRAM-MD5`, answers the challenge, and the server says `refusal`.
fn cram_refused(t: &mut T, refusal: &str) {
    t.expect("AUTH CRAM-MD5\r\n");
    t.server(&format!("334 {}\r\n", b64(b"<1@mx>")));
    t.expect(&cram_answer());
    t.server(refusal);
}

fn fallbacks(ev: &[Event]) -> Vec<(String, u16, String)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::AuthFallback {
                mechanism,
                reply,
                next,
            } => Some((mechanism.clone(), reply.code.0, next.clone())),
            _ => None,
        })
        .collect()
}

fn authenticated(ev: &[Event]) -> Option<&str> {
    ev.iter().find_map(|e| match e {
        Event::Authenticated { mechanism, .. } => Some(mechanism.as_str()),
        _ => None,
    })
}

#[test]
fn a_restricted_list_picks_plain_although_cram_md5_is_offered() {
    let mut t = T::new(prefs(
        true,
        Some(vec![Mechanism::Plain, Mechanism::Login]),
        false,
    ));
    t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
    t.expect(&plain_ir());
    t.server("235 2.7.0 Authentication successful\r\n");
    let ev = t.events();
    assert_eq!(authenticated(&ev), Some("PLAIN"));
    assert_eq!(ev.last(), Some(&Event::Ready));
}

#[test]
fn the_list_order_is_respected() {
    use Mechanism::*;
    for (only, caps, first) in [
        // LOGIN before PLAIN, although PLAIN is stronger.
        (
            vec![Login, Plain],
            "AUTH PLAIN CRAM-MD5 LOGIN",
            "AUTH LOGIN\r\n",
        ),
        // CRAM-MD5 first when listed first, whatever the server's order.
        (
            vec![CramMd5, Plain],
            "AUTH PLAIN LOGIN CRAM-MD5",
            "AUTH CRAM-MD5\r\n",
        ),
        // The first listed that the server offers.
        (vec![Plain, Login], "AUTH CRAM-MD5 LOGIN", "AUTH LOGIN\r\n"),
    ] {
        let mut t = T::new(prefs(true, Some(only), false));
        t.hello(&[caps]);
        t.expect(first);
    }
}

#[test]
fn a_mechanism_not_in_the_list_is_never_used() {
    // Even with fallback on: PLAIN refused, LOGIN and CRAM-MD5 offered but not listed.
    let mut t = T::new(prefs(true, Some(vec![Mechanism::Plain]), true));
    t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
    t.expect(&plain_ir());
    t.server("535 5.7.8 Authentication credentials invalid\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    let ev = t.events();
    assert!(fallbacks(&ev).is_empty(), "{ev:?}");
    assert!(
        matches!(closed(&ev), Some(CloseReason::AuthFailed(Some(r))) if r.code.0 == 535),
        "{ev:?}"
    );
}

#[test]
fn no_listed_mechanism_offered_is_the_no_mechanism_error() {
    let run = |config: ClientConfig, caps: &str| {
        let mut t = T::new(config);
        let id = t.c.send(env(&["b@example.test"]), "x\r\n").unwrap();
        t.hello(&[caps]);
        t.expect("QUIT\r\n");
        t.server("221 bye\r\n");
        let ev = t.events();
        assert!(ev.iter().any(|e| matches!(e, Event::MessageResult { message, result: Err(MessageError::SessionClosed(CloseReason::AuthUnavailable)), .. } if *message == id)), "{ev:?}");
        assert!(
            matches!(closed(&ev), Some(CloseReason::AuthUnavailable)),
            "{ev:?}"
        );
    };
    run(
        prefs(true, Some(vec![Mechanism::Plain]), true),
        "AUTH CRAM-MD5 LOGIN",
    );
    // Listed mechanisms the credentials cannot drive count for nothing.
    run(
        prefs(
            true,
            Some(vec![Mechanism::XOAuth2, Mechanism::Gssapi]),
            true,
        ),
        "AUTH XOAUTH2 GSSAPI PLAIN",
    );
    // An empty list: no mechanism at all.
    run(prefs(true, Some(vec![]), true), "AUTH PLAIN");
    // Listing PLAIN does not allow it without TLS.
    run(
        prefs(false, Some(vec![Mechanism::Plain]), true),
        "AUTH CRAM-MD5 PLAIN",
    );
}

/// The case of a server that stores hashed passwords: it advertises CRAM-MD5 but cannot
/// verify it. Without fallback (the default) the session ends; with it, PLAIN follows.
#[test]
fn fallback_from_cram_md5_to_plain_after_535() {
    let mut t = T::new(prefs(true, None, false));
    t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
    cram_refused(&mut t, "535 5.7.8 Authentication credentials invalid\r\n");
    t.expect("QUIT\r\n");

    let mut t = T::new(prefs(true, None, true));
    t.c.send(env(&["b@example.test"]), "x\r\n").unwrap();
    t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
    cram_refused(&mut t, "535 5.7.8 Authentication credentials invalid\r\n");
    t.expect(&plain_ir());
    t.server("235 2.7.0 Authentication successful\r\n");
    t.expect("MAIL FROM:<a@example.test>\r\n");
    let ev = t.events();
    assert_eq!(
        fallbacks(&ev),
        [("CRAM-MD5".to_string(), 535, "PLAIN".to_string())]
    );
    assert_eq!(authenticated(&ev), Some("PLAIN"));
    assert!(ev.contains(&Event::Ready));
    // The fallback comes before the new exchange's outcome.
    let at = |p: &dyn Fn(&Event) -> bool| ev.iter().position(p).unwrap();
    assert!(
        at(&|e| matches!(e, Event::AuthFallback { .. }))
            < at(&|e| matches!(e, Event::Authenticated { .. }))
    );
}

#[test]
fn fallback_never_sends_a_password_in_the_clear_unless_allowed() {
    // No TLS: PLAIN and LOGIN are not candidates, so a 535 to CRAM-MD5 ends the session.
    let mut t = T::new(prefs(false, None, true));
    t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
    cram_refused(&mut t, "535 5.7.8 Authentication credentials invalid\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    let ev = t.events();
    assert!(fallbacks(&ev).is_empty());
    assert!(matches!(closed(&ev), Some(CloseReason::AuthFailed(Some(r))) if r.code.0 == 535));

    // Unless the configuration already allows plaintext mechanisms there.
    let mut c = prefs(false, None, true);
    c.allow_plaintext_auth = true;
    let mut t = T::new(c);
    t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
    cram_refused(&mut t, "535 5.7.8 Authentication credentials invalid\r\n");
    t.expect(&plain_ir());
}

#[test]
fn fallback_tries_each_mechanism_once_then_fails_with_the_last_refusal() {
    let mut t = T::new(prefs(true, None, true));
    t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
    cram_refused(&mut t, "535 5.7.8 no (cram)\r\n");
    t.expect(&plain_ir());
    t.server("504 5.5.4 Unrecognized authentication type\r\n");
    login_steps(&mut t);
    t.server("535 5.7.8 no (login)\r\n");
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    let ev = t.events();
    assert_eq!(
        fallbacks(&ev),
        [
            ("CRAM-MD5".to_string(), 535, "PLAIN".to_string()),
            ("PLAIN".to_string(), 504, "LOGIN".to_string())
        ]
    );
    assert!(
        matches!(closed(&ev), Some(CloseReason::AuthFailed(Some(r))) if r.text == "no (login)"),
        "{ev:?}"
    );
}

/// RFC 4954 section 6: `454` is a temporary server failure, `538` asks for encryption
/// (TLS, not another mechanism), `432`, `530`, `500` are not about this mechanism's
/// credentials; `534` ("too weak") only leads to a stronger mechanism, and none is
/// stronger than CRAM-MD5 for a password.
#[test]
fn no_fallback_after_other_refusals() {
    for refusal in [
        "454 4.7.0 Temporary authentication failure\r\n",
        "538 5.7.11 Encryption required for requested authentication mechanism\r\n",
        "534 5.7.9 Authentication mechanism is too weak\r\n",
        "432 4.7.12 A password transition is needed\r\n",
        "530 5.7.0 Authentication required\r\n",
        "500 5.5.6 Authentication Exchange line is too long\r\n",
        "550 5.7.1 no\r\n",
    ] {
        let mut t = T::new(prefs(true, None, true));
        t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
        cram_refused(&mut t, refusal);
        t.expect("QUIT\r\n");
        t.server("221 bye\r\n");
        let ev = t.events();
        assert!(fallbacks(&ev).is_empty(), "{refusal}: {ev:?}");
        assert!(
            matches!(closed(&ev), Some(CloseReason::AuthFailed(Some(r))) if r.code.0 == refusal[..3].parse::<u16>().unwrap()),
            "{refusal}: {ev:?}"
        );
    }
}

#[test]
fn fallback_after_534_only_to_a_stronger_mechanism() {
    // PLAIN listed first; the server finds it too weak for this user: CRAM-MD5 (stronger)
    // follows, LOGIN (weaker) is never tried.
    let mut t = T::new(prefs(
        true,
        Some(vec![Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5]),
        true,
    ));
    t.hello(&["AUTH LOGIN CRAM-MD5 PLAIN"]);
    t.expect(&plain_ir());
    t.server("534 5.7.9 Authentication mechanism is too weak\r\n");
    cram_refused(&mut t, "534 5.7.9 Authentication mechanism is too weak\r\n");
    t.expect("QUIT\r\n");
    assert_eq!(
        fallbacks(&t.events()),
        [("PLAIN".to_string(), 534, "CRAM-MD5".to_string())]
    );
}

#[test]
fn no_fallback_after_a_cancelled_exchange() {
    // The client cancels a challenge CRAM-MD5 cannot answer; whatever refusal follows
    // (the 501 RFC 4954 section 4 requires, or a 535), the session ends.
    for refusal in ["501 5.0.0 cancelled\r\n", "535 5.7.8 no\r\n"] {
        let mut t = T::new(prefs(true, None, true));
        t.hello(&["AUTH CRAM-MD5 PLAIN"]);
        t.expect("AUTH CRAM-MD5\r\n");
        t.server("334 !!not base64!!\r\n");
        t.expect("*\r\n");
        t.server(refusal);
        t.expect("QUIT\r\n");
        assert!(fallbacks(&t.events()).is_empty(), "{refusal}");
    }
    // The caller cancels a caller-driven exchange.
    let creds = Credentials::External {
        mechanisms: vec!["GSSAPI".into(), "NTLM".into()],
    };
    let mut c = config(creds, true);
    c.auth_fallback = true;
    let mut t = T::new(c);
    t.hello(&["AUTH GSSAPI NTLM"]);
    t.events();
    t.c.auth_respond(AuthResponse::Data(b"token".to_vec()))
        .unwrap();
    t.expect(&format!("AUTH GSSAPI {}\r\n", b64(b"token")));
    t.server(&format!("334 {}\r\n", b64(b"server token")));
    t.events();
    t.c.auth_respond(AuthResponse::Cancel).unwrap();
    t.expect("*\r\n");
    t.server("501 5.0.0 cancelled\r\n");
    t.expect("QUIT\r\n");
    assert!(fallbacks(&t.events()).is_empty());
}

#[test]
fn no_fallback_once_the_server_closes() {
    // 421: the server is closing the channel (RFC 5321 3.8); nothing more is sent.
    let mut t = T::new(prefs(true, None, true));
    t.hello(&["AUTH CRAM-MD5 PLAIN"]);
    cram_refused(&mut t, "421 4.7.0 Too many errors\r\n");
    t.expect("");
    let ev = t.events();
    assert!(fallbacks(&ev).is_empty());
    assert!(matches!(
        closed(&ev),
        Some(CloseReason::ServiceUnavailable(_))
    ));
    // The connection drops in the middle of the exchange.
    let mut t = T::new(prefs(true, None, true));
    t.hello(&["AUTH CRAM-MD5 PLAIN"]);
    t.expect("AUTH CRAM-MD5\r\n");
    t.c.peer_closed();
    t.expect("");
    let ev = t.events();
    assert!(fallbacks(&ev).is_empty());
    assert!(matches!(closed(&ev), Some(CloseReason::PeerClosed)));
}

#[test]
fn fallback_between_caller_driven_mechanisms() {
    let creds = Credentials::External {
        mechanisms: vec!["NTLM".into(), "GSSAPI".into()],
    };
    let mut c = config(creds, false);
    c.auth_fallback = true;
    let mut t = T::new(c);
    t.hello(&["AUTH GSSAPI NTLM"]);
    // GSSAPI first (stronger).
    assert_eq!(challenge(&t.events()).unwrap().mechanism, "GSSAPI");
    t.c.auth_respond(AuthResponse::Data(b"krb".to_vec()))
        .unwrap();
    t.expect(&format!("AUTH GSSAPI {}\r\n", b64(b"krb")));
    t.server("535 5.7.8 no\r\n");
    t.expect("");
    let ev = t.events();
    assert_eq!(
        fallbacks(&ev),
        [("GSSAPI".to_string(), 535, "NTLM".to_string())]
    );
    let c = challenge(&ev).unwrap();
    assert_eq!((c.mechanism.as_str(), c.initial), ("NTLM", true));
    t.c.auth_respond(AuthResponse::NoInitialResponse).unwrap();
    t.expect("AUTH NTLM\r\n");
}

#[test]
fn fallback_stays_with_x_exps() {
    let creds = Credentials::External {
        mechanisms: vec!["NTLM".into(), "GSSAPI".into()],
    };
    let mut c = config(creds, false);
    c.auth_verb = AuthVerb::XExps;
    c.auth_fallback = true;
    let mut t = T::new(c);
    t.hello(&["X-EXPS GSSAPI NTLM", "AUTH NTLM GSSAPI"]);
    t.events();
    t.c.auth_respond(AuthResponse::NoInitialResponse).unwrap();
    t.expect("X-EXPS GSSAPI\r\n");
    t.server("535 5.7.8 no\r\n");
    let ch = challenge(&t.events()).unwrap();
    assert_eq!((ch.mechanism.as_str(), ch.verb), ("NTLM", AuthVerb::XExps));
    t.c.auth_respond(AuthResponse::NoInitialResponse).unwrap();
    t.expect("X-EXPS NTLM\r\n");
    // The last X-EXPS mechanism refused: no AUTH after it.
    t.server("535 5.7.8 no\r\n");
    t.expect("QUIT\r\n");
}

/// A candidate the credentials cannot drive (a user name with a tab cannot go into a
/// CRAM-MD5 response, a password with a line break not into LOGIN) is passed over for the
/// next one, not the end of authentication: a server offering more mechanisms must not
/// make authentication fail where one offering fewer lets it succeed.
#[test]
fn an_undrivable_first_candidate_is_passed_over() {
    let tabbed = Credentials::Password {
        authzid: None,
        username: "alice\tsmith".into(),
        password: "s3cret".into(),
    };
    let mut t = T::new(config(tabbed, true));
    t.hello(&["AUTH CRAM-MD5 PLAIN"]);
    t.expect(&format!(
        "AUTH PLAIN {}\r\n",
        b64(b"\0alice\tsmith\0s3cret")
    ));
    t.server("235 2.7.0 Authentication successful\r\n");
    assert_eq!(t.events().last(), Some(&Event::Ready));

    let broken = Credentials::Password {
        authzid: None,
        username: "alice".into(),
        password: "s3\ncret".into(),
    };
    let mut c = config(broken, true);
    c.auth_mechanisms = Some(vec![
        ehlo::sasl::Mechanism::Login,
        ehlo::sasl::Mechanism::Plain,
    ]);
    let mut t = T::new(c);
    t.hello(&["AUTH LOGIN PLAIN"]);
    t.expect(&format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0s3\ncret")));
}

/// A hostile EHLO reply as large as the client reads (256 lines of up to 12288 octets, the
/// defaults of `max_reply_lines` and `max_reply_line`) whose AUTH lines list hundreds of
/// thousands of distinct mechanism names: choosing a mechanism takes time in proportion to
/// the reply, not to its square (the list was deduplicated by a linear search for every
/// name: minutes of CPU for one reply).
#[test]
fn a_huge_auth_list_is_read_in_linear_time() {
    let mut c = config(password(), true);
    c.auth_verb = AuthVerb::XExps;
    let mut t = T::new(c);
    t.server("220 mx.example.test ESMTP\r\n");
    t.expect("EHLO client.example.test\r\n");
    let mut reply = String::from("250-mx.example.test\r\n");
    let mut names = 0u32;
    for i in 0..254 {
        let mut line = String::from(if i % 2 == 0 { "250-AUTH" } else { "250-X-EXPS" });
        while line.len() + 12 <= 12288 {
            line.push_str(&format!(" M{names:X}"));
            names += 1;
        }
        reply.push_str(&line);
        reply.push_str("\r\n");
    }
    reply.push_str("250 AUTH PLAIN\r\n");
    assert!(names > 300_000, "{names}");
    let started = std::time::Instant::now();
    t.server(&reply);
    let waited = started.elapsed();
    t.expect(&format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0s3cret")));
    assert!(
        waited < std::time::Duration::from_secs(20),
        "{names} mechanisms took {waited:?}"
    );
}
