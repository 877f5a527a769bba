//! Wire transcripts from the RFCs and Microsoft specifications, replayed byte for byte
//! through the server and client drivers. Each `S:` line is what the server machine would
//! write (`334 <text>` from a [`ServerStep::Challenge`], or the final reply), each `C:`
//! line what the client machine would write.

use ehlo::sasl::cram_md5::{self, CramMd5Challenge};
use ehlo::sasl::oauth::OAuthError;
use ehlo::sasl::{
    b64, AuthReply, ClientCredentials, ClientExchange, ClientStep, Credentials, Mechanism,
    SaslError, ServerExchange, ServerStep,
};

/// The bytes a server machine writes for a step (final replies decided by `verify`).
fn server_line(step: &ServerStep, verify: impl Fn(&Credentials) -> bool) -> String {
    match step {
        ServerStep::Challenge(text) => format!("334 {text}\r\n"),
        ServerStep::Verify(c) => {
            if verify(c) {
                AuthReply::SUCCEEDED.line()
            } else {
                AuthReply::INVALID_CREDENTIALS.line()
            }
        }
        ServerStep::Token { .. } => panic!("token steps are handled by the test"),
    }
}

/// RFC 4954 section 4 examples: PLAIN with and without an initial response.
#[test]
fn rfc4954_plain() {
    let check = |c: &Credentials| {
        *c == Credentials::Plain {
            authzid: Some("test".into()),
            authcid: "test".into(),
            password: "1234".into(),
        }
    };
    // C: AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=
    // S: 235 2.7.0 Authentication successful
    let (_, step) =
        ServerExchange::start(&Mechanism::Plain, Some(b"dGVzdAB0ZXN0ADEyMzQ=")).unwrap();
    assert_eq!(
        server_line(&step, check),
        "235 2.7.0 Authentication successful\r\n"
    );
    // C: AUTH PLAIN / S: 334  / C: dGVzdAB0ZXN0ADEyMzQ= / S: 235 ...
    let (mut ex, step) = ServerExchange::start(&Mechanism::Plain, None).unwrap();
    assert_eq!(server_line(&step, check), "334 \r\n");
    let step = ex.step(b"dGVzdAB0ZXN0ADEyMzQ=").unwrap();
    assert_eq!(
        server_line(&step, check),
        "235 2.7.0 Authentication successful\r\n"
    );

    // The client side produces the same command.
    let mut c = ClientExchange::new(
        Mechanism::Plain,
        ClientCredentials::Password {
            authzid: Some("test".into()),
            username: "test".into(),
            password: "1234".into(),
        },
    )
    .unwrap();
    assert_eq!(
        c.start(true).unwrap().command_line("AUTH"),
        "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n"
    );
}

/// RFC 4954 section 4.1: the CRAM-MD5 example (the challenge line is wrapped in the RFC;
/// on the wire it is one line).
#[test]
fn rfc4954_cram_md5() {
    let c = CramMd5Challenge::new("4192942341", 12_828_472, "sourcefour.andrew.cmu.edu").unwrap();
    let (mut ex, step) = ServerExchange::start_cram_md5(c, None).unwrap();
    assert_eq!(
        server_line(&step, |_| false),
        "334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n"
    );
    let ServerStep::Verify(Credentials::CramMd5 {
        username,
        digest_hex,
        challenge,
    }) = ex
        .step(b"cmpzMyBlYzNhNTlmZWQzOTVhYmExZWM2MzY3YzRmNGI0MWFjMA==")
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(username, "rjs3");
    assert_eq!(digest_hex, "ec3a59fed395aba1ec6367c4f4b41ac0");
    assert_eq!(challenge, "<4192942341.12828472@sourcefour.andrew.cmu.edu>");
    // An initial response with this server-first mechanism: 501 5.7.0 (RFC 4954 section 4).
    let c = CramMd5Challenge::new("1", 2, "h").unwrap();
    let e = ServerExchange::start_cram_md5(c, Some(b"cmpzMw==")).unwrap_err();
    assert_eq!(e.reply().code, 501);
    assert_eq!(e.reply().enhanced.to_string(), "5.7.0");
}

/// RFC 2195 section 2, both directions.
#[test]
fn rfc2195_cram_md5() {
    let challenge =
        CramMd5Challenge::new("1896", 697_170_952, "postoffice.reston.mci.net").unwrap();
    let (mut server, step) = ServerExchange::start_cram_md5(challenge, None).unwrap();
    let line = server_line(&step, |_| false);
    assert_eq!(
        line,
        "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"
    );
    let mut client = ClientExchange::new(
        Mechanism::CramMd5,
        ClientCredentials::Password {
            authzid: None,
            username: "tim".into(),
            password: "tanstaaftanstaaf".into(),
        },
    )
    .unwrap();
    assert_eq!(
        client.start(true).unwrap().command_line("AUTH"),
        "AUTH CRAM-MD5\r\n"
    );
    let text = line.strip_prefix("334 ").unwrap().trim_end();
    let ClientStep::Send(answer) = client.challenge(text.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(answer, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    let step = server.step(answer.as_bytes()).unwrap();
    let verify = |c: &Credentials| match c {
        Credentials::CramMd5 {
            username,
            digest_hex,
            challenge,
        } => {
            username == "tim"
                && cram_md5::verify("tanstaaftanstaaf", challenge.as_bytes(), digest_hex)
        }
        _ => false,
    };
    assert_eq!(
        server_line(&step, verify),
        "235 2.7.0 Authentication successful\r\n"
    );
}

/// \[MS-XLOGIN\] section 4: user "Charlie", password "password".
#[test]
fn ms_xlogin_example() {
    let (mut ex, step) = ServerExchange::start(&Mechanism::Login, None).unwrap();
    let ok = |c: &Credentials| {
        *c == Credentials::Login {
            username: "Charlie".into(),
            password: "password".into(),
        }
    };
    assert_eq!(server_line(&step, ok), "334 VXNlcm5hbWU6\r\n");
    let step = ex.step(b"Q2hhcmxpZQ==").unwrap();
    assert_eq!(server_line(&step, ok), "334 UGFzc3dvcmQ6\r\n");
    let step = ex.step(b"cGFzc3dvcmQ=").unwrap();
    assert_eq!(
        server_line(&step, ok),
        "235 2.7.0 Authentication successful\r\n"
    );

    let mut c = ClientExchange::new(
        Mechanism::Login,
        ClientCredentials::Password {
            authzid: None,
            username: "Charlie".into(),
            password: "password".into(),
        },
    )
    .unwrap();
    assert_eq!(
        c.start(false).unwrap().command_line("AUTH"),
        "AUTH LOGIN\r\n"
    );
    assert_eq!(
        c.challenge(b"VXNlcm5hbWU6").unwrap(),
        ClientStep::Send("Q2hhcmxpZQ==".into())
    );
    assert_eq!(
        c.challenge(b"UGFzc3dvcmQ6").unwrap(),
        ClientStep::Send("cGFzc3dvcmQ=".into())
    );
}

/// \[MS-XLOGIN\] 2.2: the LOGIN client answers by the decoded prompt. A server that
/// ignores the initial response (the user name) and asks `Username:` again gets the user
/// name again, never the password; prompts in another case or spelling are recognised,
/// and an unrecognisable one is answered by position.
#[test]
fn login_client_answers_by_prompt() {
    let creds = || ClientCredentials::Password {
        authzid: None,
        username: "Charlie".into(),
        password: "password".into(),
    };
    const USER: &str = "Q2hhcmxpZQ=="; // "Charlie"
    const PASS: &str = "cGFzc3dvcmQ="; // "password"

    // Initial response ignored: Username: again.
    let mut c = ClientExchange::new(Mechanism::Login, creds()).unwrap();
    assert_eq!(
        c.start(true).unwrap().command_line("AUTH"),
        format!("AUTH LOGIN {USER}\r\n")
    );
    assert_eq!(
        c.challenge(b"VXNlcm5hbWU6").unwrap(),
        ClientStep::Send(USER.into()),
        "password sent in answer to Username:"
    );
    assert_eq!(
        c.challenge(b"UGFzc3dvcmQ6").unwrap(),
        ClientStep::Send(PASS.into())
    );
    assert!(c.challenge(b"UGFzc3dvcmQ6").is_err());

    // Other spellings: "username:" and "User Name" / "password:".
    let mut c = ClientExchange::new(Mechanism::Login, creds()).unwrap();
    c.start(false).unwrap();
    let user_name = b64::encode(b"User Name\0");
    assert_eq!(
        c.challenge(user_name.as_bytes()).unwrap(),
        ClientStep::Send(USER.into())
    );
    let lower = b64::encode(b"username:");
    assert_eq!(
        c.challenge(lower.as_bytes()).unwrap(),
        ClientStep::Send(USER.into())
    );
    let pw = b64::encode(b"password:");
    assert_eq!(
        c.challenge(pw.as_bytes()).unwrap(),
        ClientStep::Send(PASS.into())
    );

    // Unrecognisable prompts (empty, other text, not BASE64): by position.
    let mut c = ClientExchange::new(Mechanism::Login, creds()).unwrap();
    c.start(false).unwrap();
    assert_eq!(c.challenge(b"").unwrap(), ClientStep::Send(USER.into()));
    assert_eq!(
        c.challenge(b"not base64!").unwrap(),
        ClientStep::Send(PASS.into())
    );
    assert!(c.challenge(b"").is_err());
}

/// \[MS-SMTPNTLM\] section 4.2, the failing NTLM exchange, with the caller's NTLM
/// software simulated by the blobs of the example.
#[test]
fn ms_smtpntlm_section_4_2() {
    const NEGOTIATE: &str = "TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAFAs4OAAAADw==";
    const CHALLENGE: &str = "TlRMTVNTUAACAAAAFgAWADgAAAA1goriYo7ENUsXagIAAAAAAAAAAGwAbABOAAAABQLODgAAAA9FAFgAQwBIAC0AQwBMAEkALQA2ADYAAgAWAEUAWABDAEgALQBDAEwASQAtADYANgABABYARQBYAEMASAAtAEMATABJAC0ANgA2AAQAFgBlAHgAYwBoAC0AYwBsAGkALQA2ADYAAwAWAGUAeABjAGgALQBjAGwAaQAtADYANgAAAAAA";
    const AUTHENTICATE: &str = "TlRMTVNTUAADAAAAGAAYAHwAAAAYABgAlAAAABYAFgBIAAAACAAIAF4AAAAWABYAZgAAABAAEACsAAAANYKI4gUCzg4AAAAPZQB4AGMAaAAtAGMAbABpAC0ANgA2AHQAZQBzAHQARQBYAEMASAAtAEMATABJAC0ANgA2AIqeV65hhASwAAAAAAAAAAAAAAAAAAAAAHZHDVfwTU5ci0RY04eRmWy0/VWZfIfjsqdUu2WmxYUKy83PyyxzbA8=";
    let mut wire: Vec<String> = Vec::new();

    let mut client = ClientExchange::new(
        Mechanism::Ntlm,
        ClientCredentials::External {
            initial_token: Some(b64::decode(NEGOTIATE.as_bytes()).unwrap()),
        },
    )
    .unwrap();
    let start = client.start(false).unwrap();
    wire.push(format!("C: {}", start.command_line("AUTH")));
    let (mut server, step) = ServerExchange::start(&start.mechanism, None).unwrap();
    let ServerStep::Challenge(text) = step else {
        panic!()
    };
    wire.push(format!("S: 334 {text}\r\n"));
    let ClientStep::Send(line) = client.challenge(text.as_bytes()).unwrap() else {
        panic!()
    };
    wire.push(format!("C: {line}\r\n"));
    let ServerStep::Token { data, .. } = server.step(line.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(b64::encode(&data), NEGOTIATE);
    // The server's NTLM software answers the NEGOTIATE with the CHALLENGE.
    let ServerStep::Challenge(text) = server
        .send_token(&b64::decode(CHALLENGE.as_bytes()).unwrap())
        .unwrap()
    else {
        panic!()
    };
    wire.push(format!("S: 334 {text}\r\n"));
    let ClientStep::NeedToken { .. } = client.challenge(text.as_bytes()).unwrap() else {
        panic!()
    };
    // The client's NTLM software answers with the AUTHENTICATE.
    let line = client
        .supply_token(&b64::decode(AUTHENTICATE.as_bytes()).unwrap())
        .unwrap();
    wire.push(format!("C: {line}\r\n"));
    let ServerStep::Token { .. } = server.step(line.as_bytes()).unwrap() else {
        panic!()
    };
    // The server's NTLM software rejects it.
    wire.push(format!("S: {}", AuthReply::NTLM_FAILED.line()));

    assert_eq!(
        wire,
        [
            "C: AUTH NTLM\r\n".to_owned(),
            "S: 334 ntlm supported\r\n".to_owned(),
            format!("C: {NEGOTIATE}\r\n"),
            format!("S: 334 {CHALLENGE}\r\n"),
            format!("C: {AUTHENTICATE}\r\n"),
            "S: 535 5.7.3 Authentication unsuccessful\r\n".to_owned(),
        ]
    );
}

/// The \[MS-SMTPNTLM\] section 4.2 blobs, for the ordering tests below.
const MS_NEGOTIATE: &str = "TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAFAs4OAAAADw==";
const MS_CHALLENGE: &str = "TlRMTVNTUAACAAAAFgAWADgAAAA1goriYo7ENUsXagIAAAAAAAAAAGwAbABOAAAABQLODgAAAA9FAFgAQwBIAC0AQwBMAEkALQA2ADYAAgAWAEUAWABDAEgALQBDAEwASQAtADYANgABABYARQBYAEMASAAtAEMATABJAC0ANgA2AAQAFgBlAHgAYwBoAC0AYwBsAGkALQA2ADYAAwAWAGUAeABjAGgALQBjAGwAaQAtADYANgAAAAAA";
const MS_AUTHENTICATE: &str = "TlRMTVNTUAADAAAAGAAYAHwAAAAYABgAlAAAABYAFgBIAAAACAAIAF4AAAAWABYAZgAAABAAEACsAAAANYKI4gUCzg4AAAAPZQB4AGMAaAAtAGMAbABpAC0ANgA2AHQAZQBzAHQARQBYAEMASAAtAEMATABJAC0ANgA2AIqeV65hhASwAAAAAAAAAAAAAAAAAAAAAHZHDVfwTU5ci0RY04eRmWy0/VWZfIfjsqdUu2WmxYUKy83PyyxzbA8=";

fn d(s: &str) -> Vec<u8> {
    b64::decode(s.as_bytes()).unwrap()
}

/// \[MS-SMTPNTLM\] 3.1.1.1 / 3.1.5: after `334 ntlm supported` the client's first NTLM
/// message is the NEGOTIATE; an AUTHENTICATE before any CHALLENGE is out of order and
/// refused, and the exchange still takes the NEGOTIATE afterwards.
#[test]
fn client_ntlm_rejects_authenticate_as_first_token() {
    let mut ex = ClientExchange::new(
        Mechanism::Ntlm,
        ClientCredentials::External {
            initial_token: None,
        },
    )
    .unwrap();
    assert_eq!(ex.start(false).unwrap().initial_response, None);
    assert!(matches!(
        ex.challenge(b"ntlm supported").unwrap(),
        ClientStep::NeedToken { .. }
    ));
    assert!(matches!(
        ex.supply_token(&d(MS_AUTHENTICATE)),
        Err(SaslError::InvalidInput(_))
    ));
    assert!(ex.needs_token());
    assert_eq!(ex.supply_token(&d(MS_NEGOTIATE)).unwrap(), MS_NEGOTIATE);
    assert!(matches!(
        ex.challenge(MS_CHALLENGE.as_bytes()).unwrap(),
        ClientStep::NeedToken { .. }
    ));
    assert_eq!(
        ex.supply_token(&d(MS_AUTHENTICATE)).unwrap(),
        MS_AUTHENTICATE
    );
}

/// The CHALLENGE is answered by the AUTHENTICATE only: a second NEGOTIATE (here after a
/// NEGOTIATE sent as the initial response) is refused.
#[test]
fn client_ntlm_rejects_negotiate_after_challenge() {
    let mut ex = ClientExchange::new(
        Mechanism::Ntlm,
        ClientCredentials::External {
            initial_token: Some(d(MS_NEGOTIATE)),
        },
    )
    .unwrap();
    let start = ex.start(true).unwrap();
    assert_eq!(start.initial_response.as_deref(), Some(MS_NEGOTIATE));
    assert!(matches!(
        ex.challenge(MS_CHALLENGE.as_bytes()).unwrap(),
        ClientStep::NeedToken {
            ntlm_type: Some(ehlo::sasl::ntlm::NtlmMessageType::Challenge),
            ..
        }
    ));
    assert!(matches!(
        ex.supply_token(&d(MS_NEGOTIATE)),
        Err(SaslError::InvalidInput(_))
    ));
    assert_eq!(
        ex.supply_token(&d(MS_AUTHENTICATE)).unwrap(),
        MS_AUTHENTICATE
    );
    assert!(ex.supply_token(&d(MS_AUTHENTICATE)).is_err());
}

/// \[MS-OXSMTP\] 2.2.1 / 3.2.5.1: to an AUTH without initial response whose mechanism
/// starts with an empty server string, Exchange sends SASL_Mechanism_Supported,
/// `334 GSSAPI supported`, in place of the empty challenge. The GSSAPI client takes it as
/// the empty challenge; data in that first challenge is still refused.
#[test]
fn client_gssapi_accepts_sasl_mechanism_supported() {
    let mut ex = ClientExchange::new(
        Mechanism::Gssapi,
        ClientCredentials::External {
            initial_token: None,
        },
    )
    .unwrap();
    assert_eq!(ex.start(false).unwrap().initial_response, None);
    assert_eq!(
        ex.challenge(b"GSSAPI supported").unwrap(),
        ClientStep::NeedToken {
            data: Vec::new(),
            ntlm_type: None
        }
    );
    assert_eq!(ex.supply_token(&[0x60, 0x01]).unwrap(), "YAE=");

    // With the first token at hand it is sent at once; any case is accepted.
    let mut ex = ClientExchange::new(
        Mechanism::Gssapi,
        ClientCredentials::External {
            initial_token: Some(vec![0x60, 0x01]),
        },
    )
    .unwrap();
    ex.start(false).unwrap();
    assert_eq!(
        ex.challenge(b"gssapi Supported").unwrap(),
        ClientStep::Send("YAE=".into())
    );

    // Another mechanism's name, or data, is not an empty challenge.
    for text in [&b"NTLM supported"[..], b"AQ=="] {
        let mut ex = ClientExchange::new(
            Mechanism::Gssapi,
            ClientCredentials::External {
                initial_token: None,
            },
        )
        .unwrap();
        ex.start(false).unwrap();
        assert!(ex.challenge(text).is_err());
    }
}

/// RFC 7628 sections 4.1 and 4.3 (IMAP there; the SASL payloads are identical in SMTP).
#[test]
fn rfc7628_oauthbearer() {
    const IR: &str = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
    const ERR: &str = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=";
    let mut client = ClientExchange::new(
        Mechanism::OAuthBearer,
        ClientCredentials::OAuth {
            user: "user@example.com".into(),
            token: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==".into(),
            host: Some("server.example.com".into()),
            port: Some(143),
        },
    )
    .unwrap();
    let start = client.start(true).unwrap();
    assert_eq!(
        start.command_line("AUTH"),
        format!("AUTH OAUTHBEARER {IR}\r\n")
    );
    let (mut server, step) =
        ServerExchange::start(&Mechanism::OAuthBearer, Some(IR.as_bytes())).unwrap();
    assert!(matches!(
        step,
        ServerStep::Verify(Credentials::OAuth { .. })
    ));
    // Token rejected: S: 334 <error JSON>
    let e = OAuthError::new("invalid_token")
        .with_scope("example_scope")
        .with_openid_configuration("https://example.com/.well-known/openid-configuration");
    let ServerStep::Challenge(text) = server.oauth_error(&e).unwrap() else {
        panic!()
    };
    assert_eq!(text, ERR);
    // C: AQ==
    let ClientStep::OAuthError { line, error, .. } = client.challenge(text.as_bytes()).unwrap()
    else {
        panic!()
    };
    assert_eq!(line, "AQ==");
    assert_eq!(error, Some(e));
    // S: 535 5.7.8
    let err = server.step(line.as_bytes()).unwrap_err();
    assert_eq!(err, SaslError::AuthenticationFailed);
    assert_eq!(
        err.reply().line(),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
}

/// RFC 4954 section 4: bad BASE64 and `*` end the exchange with 501.
#[test]
fn rfc4954_errors() {
    let (mut ex, _) = ServerExchange::start(&Mechanism::Login, None).unwrap();
    let e = ex.step(b"Q2hhcmxpZQ").unwrap_err();
    assert_eq!(
        e.reply().line(),
        "501 5.5.2 Cannot Base64-decode client response\r\n"
    );
    let (mut ex, _) = ServerExchange::start(&Mechanism::Login, None).unwrap();
    let e = ex.step(b"*").unwrap_err();
    assert_eq!(e.reply().line(), "501 5.0.0 Authentication cancelled\r\n");
    let e = ServerExchange::start(&Mechanism::parse("DIGEST-MD5").unwrap(), None).unwrap_err();
    assert_eq!(
        e.reply().line(),
        "504 5.5.4 Unrecognized authentication type\r\n"
    );
}
