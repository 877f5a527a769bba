//! Recorded real-server EHLO replies (`spec/ehlo-fixtures.md`) drive the client to the
//! right choices: STARTTLS, AUTH mechanism, BDAT vs DATA, MAIL parameters.
mod client_support;
use base64::Engine as _;
use client_support::*;
use ehlo::client::*;
#[path = "fixtures/ehlo.rs"]
mod ehlo_fixtures;
use ehlo_fixtures::*;

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn password() -> Credentials {
    Credentials::Password {
        authzid: None,
        username: "alice".into(),
        password: "pw".into(),
    }
}

fn oauth() -> Credentials {
    Credentials::OAuth2 {
        username: "alice".into(),
        token: "tok".into(),
    }
}

fn cfg(creds: Option<Credentials>, tls: TlsPolicy) -> ClientConfig {
    let mut c = ClientConfig::new("client.example.test");
    c.credentials = creds;
    c.tls = tls;
    c
}

/// Greeting then the fixture as the EHLO reply.
fn start(c: ClientConfig, ehlo: &str) -> T {
    let mut t = T::new(c);
    t.server("220 mail.example.test ESMTP\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server(&fixture(ehlo));
    t
}

/// Greeting, plaintext EHLO, STARTTLS, handshake, EHLO again with `after`.
fn start_tls(c: ClientConfig, before: &str, after: &str) -> T {
    let mut t = start(c, before);
    t.expect("STARTTLS\r\n");
    t.server("220 2.0.0 SMTP server ready\r\n");
    t.c.tls_established().unwrap();
    t.expect("EHLO client.example.test\r\n");
    t.server(&fixture(after));
    t
}

fn env() -> Envelope {
    Envelope::new("alice@example.test")
        .unwrap()
        .recipient("bob@example.test")
        .unwrap()
}

fn refused(t: &mut T) -> Option<MessageError> {
    t.events().into_iter().find_map(|e| match e {
        Event::MessageResult { result: Err(e), .. } => Some(e),
        _ => None,
    })
}

#[test]
fn exchange_2003() {
    let caps_ok = {
        let t = start(cfg(None, TlsPolicy::Opportunistic), EXCHANGE_2003);
        let caps = t.c.capabilities().unwrap().clone();
        caps
    };
    assert_eq!(caps_ok.greeting, "mail.example.test Hello [192.0.2.10]");
    // No STARTTLS offered: opportunistic goes on; the password can only drive LOGIN,
    // which is plaintext: refused without TLS.
    let mut t = start(
        cfg(Some(password()), TlsPolicy::Opportunistic),
        EXCHANGE_2003,
    );
    t.expect("QUIT\r\n");
    // With plaintext explicitly allowed: LOGIN (GSSAPI/NTLM need the caller).
    let mut c = cfg(Some(password()), TlsPolicy::Opportunistic);
    c.allow_plaintext_auth = true;
    let mut t = start(c, EXCHANGE_2003);
    t.expect("AUTH LOGIN\r\n");
    // The caller drives NTLM.
    let c = cfg(
        Some(Credentials::External {
            mechanisms: vec!["NTLM".into()],
        }),
        TlsPolicy::Opportunistic,
    );
    let mut t = start(c, EXCHANGE_2003);
    assert!(t
        .events()
        .iter()
        .any(|e| matches!(e, Event::AuthChallenge(c) if c.mechanism == "NTLM")));
    // Mail: pipelined BDAT with BODY=8BITMIME (lower-case keyword), bare SIZE, XEXCH50.
    let mut t = start(cfg(None, TlsPolicy::Opportunistic), EXCHANGE_2003);
    let mut e = env();
    e.xexch50 = Some(Xexch50 {
        blob: bytes("BLOB"),
        mode: 2,
    });
    t.c.send(e, "\u{e9}\r\n").unwrap();
    t.expect("MAIL FROM:<alice@example.test> SIZE=4 BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\nXEXCH50 4 2\r\n");
    t.server("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 Send binary data\r\n");
    t.expect("BLOB");
    t.server("250 2.0.0 XEXCH50 OK\r\n");
    assert_eq!(t.sent_bytes(), "BDAT 4 LAST\r\n\u{e9}\r\n".as_bytes());
    // A binary body goes out with BODY=BINARYMIME.
    let mut t = start(cfg(None, TlsPolicy::Opportunistic), EXCHANGE_2003);
    t.c.send(env(), &b"\x00bin\n"[..]).unwrap();
    t.expect("MAIL FROM:<alice@example.test> SIZE=5 BODY=BINARYMIME\r\nRCPT TO:<bob@example.test>\r\nBDAT 5 LAST\r\n\x00bin\n");
}

#[test]
fn exchange_2016_port_25() {
    let mut t = start(cfg(None, TlsPolicy::Opportunistic), EXCHANGE_2016_25);
    t.expect("STARTTLS\r\n");
    let mut c = cfg(None, TlsPolicy::Opportunistic);
    c.anonymous_tls = true;
    let mut t = start(c, EXCHANGE_2016_25);
    t.expect("X-ANONYMOUSTLS\r\n");
    // Without TLS (policy never): SIZE limit enforced up front, BDAT otherwise.
    let mut t = start(cfg(None, TlsPolicy::Never), EXCHANGE_2016_25);
    t.c.send(
        env(),
        Body::Stream {
            body_type: BodyType::SevenBit,
            size: Some(40_000_000),
        },
    )
    .unwrap();
    t.expect("");
    assert_eq!(
        refused(&mut t),
        Some(MessageError::TooLarge {
            size: 40_000_000,
            limit: 37_748_736
        })
    );
    t.c.send(env(), "hi\r\n").unwrap();
    t.expect("MAIL FROM:<alice@example.test> SIZE=4\r\nRCPT TO:<bob@example.test>\r\nBDAT 4 LAST\r\nhi\r\n");
    // UTF-8 addresses: no SMTPUTF8 here.
    let mut t = start(cfg(None, TlsPolicy::Never), EXCHANGE_2016_25);
    t.c.send(
        Envelope::new("j\u{f6}rg@example.test")
            .unwrap()
            .recipient("bob@example.test")
            .unwrap(),
        "x\r\n",
    )
    .unwrap();
    assert_eq!(
        refused(&mut t),
        Some(MessageError::Unsupported(Extension::SmtpUtf8))
    );
}

#[test]
fn exchange_2016_submission_after_tls() {
    let mut t = start_tls(
        cfg(Some(password()), TlsPolicy::Required),
        EXCHANGE_2016_25,
        EXCHANGE_2016_587_TLS,
    );
    t.expect("AUTH LOGIN\r\n");
    t.server("334 VXNlcm5hbWU6\r\n");
    t.expect(&format!("{}\r\n", b64(b"alice")));
    t.server("334 UGFzc3dvcmQ6\r\n");
    t.expect(&format!("{}\r\n", b64(b"pw")));
    t.server("235 2.7.0 Authentication successful\r\n");
    t.c.send(env(), "x\r\n").unwrap();
    t.expect("MAIL FROM:<alice@example.test> SIZE=3\r\nRCPT TO:<bob@example.test>\r\nBDAT 3 LAST\r\nx\r\n");
}

#[test]
fn exchange_online() {
    let mut t = start_tls(cfg(Some(oauth()), TlsPolicy::Required), EXO_25, EXO_587_TLS);
    t.expect(&format!(
        "AUTH XOAUTH2 {}\r\n",
        b64(b"user=alice\x01auth=Bearer tok\x01\x01")
    ));
    let mut t = start_tls(
        cfg(Some(password()), TlsPolicy::Required),
        EXO_25,
        EXO_587_TLS,
    );
    t.expect("AUTH LOGIN\r\n");
    // SMTPUTF8 offered: UTF-8 addresses go out.
    let mut t = start_tls(cfg(None, TlsPolicy::Required), EXO_25, EXO_587_TLS);
    t.c.send(
        Envelope::new("j\u{f6}rg@example.test")
            .unwrap()
            .recipient("bob@example.test")
            .unwrap(),
        "x\r\n",
    )
    .unwrap();
    t.expect("MAIL FROM:<j\u{f6}rg@example.test> SIZE=3 SMTPUTF8\r\nRCPT TO:<bob@example.test>\r\nBDAT 3 LAST\r\nx\r\n");
}

#[test]
fn gmail_submission() {
    let mut t = start_tls(
        cfg(Some(password()), TlsPolicy::Required),
        GMAIL_PLAIN,
        GMAIL_TLS,
    );
    t.expect(&format!("AUTH PLAIN {}\r\n", b64(b"\0alice\0pw")));
    let mut t = start_tls(
        cfg(Some(oauth()), TlsPolicy::Required),
        GMAIL_PLAIN,
        GMAIL_TLS,
    );
    t.expect(&format!(
        "AUTH OAUTHBEARER {}\r\n",
        b64(b"n,a=alice,\x01auth=Bearer tok\x01\x01")
    ));
    t.server("235 2.7.0 Accepted\r\n");
    // CHUNKING without BINARYMIME: 8-bit goes as BDAT with BODY=8BITMIME; binary refused.
    t.c.send(env(), "\u{e9}\r\n").unwrap();
    t.expect("MAIL FROM:<alice@example.test> SIZE=4 BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\nBDAT 4 LAST\r\n\u{e9}\r\n");
    t.server("250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.0.0 OK\r\n");
    t.events();
    t.c.send(env(), &b"bare\nLF"[..]).unwrap();
    t.expect("");
    assert_eq!(
        refused(&mut t),
        Some(MessageError::Unsupported(Extension::BinaryMime))
    );
}

#[test]
fn postfix() {
    let mut t = start(cfg(None, TlsPolicy::Opportunistic), POSTFIX);
    t.expect("STARTTLS\r\n");
    let mut t = start(cfg(None, TlsPolicy::Never), POSTFIX);
    let mut e = env();
    e.envid = Some("q1".into());
    e.ret = Some(ehlo::syntax::param::Ret::Full);
    t.c.send(e, "x\r\n").unwrap();
    t.expect("MAIL FROM:<alice@example.test> SIZE=3 RET=FULL ENVID=q1\r\nRCPT TO:<bob@example.test>\r\nBDAT 3 LAST\r\nx\r\n");
    t.c.send(
        env(),
        Body::Stream {
            body_type: BodyType::SevenBit,
            size: Some(10_240_001),
        },
    )
    .unwrap();
    t.server("250 ok\r\n250 ok\r\n250 ok\r\n");
    assert!(matches!(
        refused(&mut t),
        Some(MessageError::TooLarge {
            limit: 10_240_000,
            ..
        })
    ));
}

#[test]
fn exim() {
    let mut t = start(cfg(Some(password()), TlsPolicy::Required), EXIM);
    t.expect("STARTTLS\r\n");
    let mut t = start(cfg(None, TlsPolicy::Never), EXIM);
    t.c.send(env(), "\u{e9}\r\n").unwrap();
    t.expect("MAIL FROM:<alice@example.test> SIZE=4 BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\nBDAT 4 LAST\r\n\u{e9}\r\n");
    t.server("250 OK\r\n250 Accepted\r\n250- 4 byte chunk, total 4\r\n250 OK id=1\r\n");
    assert!(t
        .events()
        .iter()
        .any(|e| matches!(e, Event::MessageResult { result: Ok(_), .. })));
    t.c.send(env(), &b"\x00"[..]).unwrap();
    assert_eq!(
        refused(&mut t),
        Some(MessageError::Unsupported(Extension::BinaryMime))
    );
}
