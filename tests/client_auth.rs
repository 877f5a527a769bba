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
    t.expect("AUTH LOGIN\r\n");
    t.server("334 VXNlcm5hbWU6\r\n");
    t.expect(&format!("{}\r\n", b64(b"alice")));
    t.server("334 UGFzc3dvcmQ6\r\n");
    t.expect(&format!("{}\r\n", b64(b"s3cret")));
    t.server("235 2.7.0 Authentication successful\r\n");
    assert!(t.events().contains(&Event::Ready));
}

#[test]
fn login_extra_challenge_is_cancelled() {
    let mut t = T::new(config(password(), true));
    t.hello(&["AUTH LOGIN"]);
    t.expect("AUTH LOGIN\r\n");
    t.server("334 VXNlcm5hbWU6\r\n");
    t.expect(&format!("{}\r\n", b64(b"alice")));
    t.server("334 UGFzc3dvcmQ6\r\n");
    t.expect(&format!("{}\r\n", b64(b"s3cret")));
    t.server("334 bW9yZT8=\r\n");
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
