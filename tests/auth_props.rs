//! Property tests for authentication across both machines:
//!
//! * random credentials go client -> server through every built-in mechanism (PLAIN, LOGIN,
//!   CRAM-MD5, XOAUTH2, OAUTHBEARER), in both server modes, and arrive unchanged (or the
//!   client refuses up front the values a mechanism cannot carry, without sending AUTH);
//! * arbitrary bytes in a SASL continuation line never panic the server and get the reply
//!   RFC 4954 section 4 and the server docs give: `501 5.0.0` for `*`, `501 5.5.2` for
//!   invalid BASE64, `500 5.5.6` for a line over the 12,288-octet limit; afterwards the
//!   session takes commands again.

use base64::Engine as _;
use ehlo::client::{
    Client, ClientConfig, CloseReason, Credentials as ClientCreds, Event as CEvent,
};
use ehlo::sasl::oauthbearer::OAuthBearerMessage;
use ehlo::sasl::xoauth2::XOAuth2Message;
use ehlo::sasl::{cram_md5, ClientCredentials, ClientExchange, Credentials};
use ehlo::server::{Decision, Event as SEvent, Mechanism, Server, ServerConfig};
use proptest::prelude::*;
use std::borrow::Cow;
use std::time::Instant;

const CRAM_CHALLENGE: &str = "<4711.1234567890@mx.example.test>";

#[derive(Debug, Clone)]
struct Case {
    mech: &'static str,
    authzid: Option<String>,
    user: String,
    secret: String,
    builtin: bool,
    ir: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let password = "[^\\p{Cc}]{1,30}";
    let token = "[!-~]{1,60}";
    (
        prop_oneof![
            Just("PLAIN"),
            Just("LOGIN"),
            Just("CRAM-MD5"),
            Just("XOAUTH2"),
            Just("OAUTHBEARER"),
        ],
        proptest::option::of("[^\\p{Cc}]{0,20}"),
        // User names with the characters the encodings must escape or keep (`,` `=` NUL
        // is excluded: no mechanism can carry it and the client refuses it).
        prop_oneof!["[^\\p{Cc}]{0,30}", "[a-z=,@ ]{1,12}"],
        password,
        token,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(mech, authzid, user, password, token, builtin, ir)| Case {
            mech,
            authzid: if mech == "PLAIN" { authzid } else { None },
            user,
            secret: if mech.contains("OAUTH") {
                token
            } else {
                password
            },
            builtin,
            ir,
        })
}

/// Whether the client's SASL driver accepts these values for the mechanism.
fn carriable(c: &Case) -> bool {
    let creds = if c.mech.contains("OAUTH") {
        ClientCredentials::OAuth {
            user: c.user.clone(),
            token: c.secret.clone(),
            host: None,
            port: None,
        }
    } else {
        ClientCredentials::Password {
            authzid: c.authzid.clone(),
            username: c.user.clone(),
            password: c.secret.clone(),
        }
    };
    ClientExchange::new(ehlo::sasl::Mechanism::parse(c.mech).unwrap(), creds).is_ok()
}

/// What the server saw, normalized to (user, secret).
fn server_decide(
    c: &Case,
    e: &SEvent,
    state: &mut Vec<Vec<u8>>,
) -> (Decision, Option<(String, String)>) {
    let seen = |u: &str, s: &str| Some((u.to_owned(), s.to_owned()));
    let ok = Decision::AuthSuccess {
        identity: "someone".into(),
    };
    match e {
        SEvent::AuthStart {
            mechanism,
            initial_response,
            ..
        } => {
            state.clear();
            match (mechanism.as_str(), initial_response) {
                ("CRAM-MD5", _) => (Decision::AuthChallenge(CRAM_CHALLENGE.into()), None),
                ("LOGIN", None) => (Decision::AuthChallenge(b"Username:".to_vec()), None),
                (_, None) => (Decision::AuthChallenge(Vec::new()), None),
                (_, Some(ir)) => {
                    let ir = ir.clone();
                    server_decide(
                        c,
                        &SEvent::AuthResponse {
                            verb: ehlo::server::AuthVerb::Auth,
                            data: ir,
                        },
                        state,
                    )
                }
            }
        }
        SEvent::AuthResponse { data, .. } => {
            state.push(data.clone());
            let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
            match c.mech {
                "PLAIN" => {
                    let parts: Vec<&[u8]> = data.split(|b| *b == 0).collect();
                    assert_eq!(parts.len(), 3);
                    assert_eq!(text(parts[0]), c.authzid.clone().unwrap_or_default());
                    (ok, seen(&text(parts[1]), &text(parts[2])))
                }
                "LOGIN" if state.len() == 1 => {
                    (Decision::AuthChallenge(b"Password:".to_vec()), None)
                }
                "LOGIN" => (ok, seen(&text(&state[0]), &text(&state[1]))),
                "CRAM-MD5" => {
                    let t = text(data);
                    let (u, d) = t.rsplit_once(' ').unwrap();
                    assert!(cram_md5::verify(&c.secret, CRAM_CHALLENGE.as_bytes(), d));
                    (ok, seen(u, &c.secret))
                }
                "XOAUTH2" => {
                    let m = XOAuth2Message::parse(data).unwrap();
                    (ok, seen(&m.user, &m.token))
                }
                _ => {
                    let m = OAuthBearerMessage::parse(data).unwrap();
                    (ok, seen(&m.authzid.unwrap_or_default(), &m.token))
                }
            }
        }
        SEvent::AuthVerify { credentials, .. } => match credentials {
            Credentials::Plain {
                authzid,
                authcid,
                password,
            } => {
                assert_eq!(authzid, &c.authzid.clone().filter(|z| !z.is_empty()));
                (ok, seen(authcid, password))
            }
            Credentials::Login { username, password } => (ok, seen(username, password)),
            Credentials::OAuth { user, token, .. } => {
                (ok, seen(user.as_deref().unwrap_or_default(), token))
            }
            other => panic!("{other:?}"),
        },
        e if e.needs_decision() => (Decision::Default, None),
        _ => (Decision::Default, None),
    }
}

/// Runs the session; returns what the server saw, whether the client authenticated, the
/// close reason and the client's bytes.
fn round_trip(c: &Case) -> (Option<(String, String)>, bool, Option<CloseReason>, String) {
    let now = Instant::now();
    let mut sc = ServerConfig::new("mx.example.test");
    sc.auth.mechanisms = vec![Mechanism::new(c.mech)];
    sc.auth.builtin_exchanges = c.builtin;
    let mut server = Server::new(sc, now);
    server.tls_established().unwrap();
    let mut cc = ClientConfig::new("client.example.test");
    cc.implicit_tls = true;
    cc.sasl_initial_response = c.ir;
    cc.credentials = Some(if c.mech.contains("OAUTH") {
        ClientCreds::OAuth2 {
            username: c.user.clone(),
            token: c.secret.clone(),
        }
    } else {
        ClientCreds::Password {
            authzid: c.authzid.clone(),
            username: c.user.clone(),
            password: c.secret.clone(),
        }
    });
    let mut client = Client::new(cc, now);
    let mut state = Vec::new();
    let mut seen = None;
    let mut authenticated = false;
    let mut closed = None;
    let mut c2s = String::new();
    for _ in 0..200 {
        while let Some(ev) = server.poll_event() {
            let (d, s) = server_decide(c, &ev, &mut state);
            if s.is_some() {
                seen = s;
            }
            if ev.needs_decision() {
                server.decide(d);
            }
        }
        while let Some(b) = server.poll_transmit() {
            client.receive(&b);
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                CEvent::Authenticated { .. } => authenticated = true,
                CEvent::Ready => client.quit(),
                CEvent::Closed(r) => closed = Some(r),
                _ => {}
            }
        }
        let mut sent = false;
        while let Some(b) = client.poll_transmit(now) {
            c2s.push_str(&String::from_utf8_lossy(&b));
            server.receive(now, &b);
            sent = true;
        }
        if client.is_closed() && !sent {
            break;
        }
    }
    assert!(client.is_closed(), "{c2s}");
    (seen, authenticated, closed, c2s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_credentials_round_trip(c in case()) {
        let (seen, authenticated, closed, c2s) = round_trip(&c);
        if carriable(&c) {
            prop_assert!(authenticated, "{:?}\n{}", c, c2s);
            prop_assert_eq!(seen, Some((c.user.clone(), c.secret.clone())));
            prop_assert!(matches!(closed, Some(CloseReason::Quit(_))));
        } else {
            // Values the mechanism cannot carry: refused before anything is sent.
            prop_assert!(!c2s.contains("AUTH"), "{:?}\n{}", c, c2s);
            prop_assert!(matches!(closed, Some(CloseReason::AuthUnavailable)), "{:?}", closed);
        }
    }
}

// ---- hostile SASL lines ----

/// Feeds `input` and returns everything the server wrote for it.
fn feed(server: &mut Server, builtin: bool, input: &[u8]) -> String {
    server.receive(Instant::now(), input);
    while let Some(e) = server.poll_event() {
        let d = match &e {
            SEvent::AuthStart { mechanism, .. } => {
                assert!(!builtin || mechanism == "CRAM-MD5");
                match mechanism.as_str() {
                    "NTLM" => Decision::AuthChallengeText(Cow::Borrowed("ntlm supported")),
                    "CRAM-MD5" => Decision::AuthChallenge(CRAM_CHALLENGE.into()),
                    _ => Decision::AuthChallenge(Vec::new()),
                }
            }
            // Whatever arrived, the back end says no.
            e if e.is_auth_step() => Decision::AuthFailure,
            _ => Decision::Default,
        };
        if e.needs_decision() {
            server.decide(d);
        }
    }
    let mut out = Vec::new();
    while let Some(b) = server.poll_transmit() {
        out.extend_from_slice(&b);
    }
    String::from_utf8(out).expect("replies are ASCII")
}

fn sasl_server(mech: &str, builtin: bool) -> Server {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.auth.mechanisms = vec![Mechanism::new(mech)];
    sc.auth.allow_plaintext_without_tls = true;
    sc.auth.builtin_exchanges = builtin;
    let mut s = Server::new(sc, Instant::now());
    let hello = feed(
        &mut s,
        builtin,
        format!("EHLO c\r\nAUTH {mech}\r\n").as_bytes(),
    );
    assert!(
        hello.ends_with("\r\n") && hello.contains("\r\n334 "),
        "{hello}"
    );
    s
}

fn mech() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("PLAIN"),
        Just("LOGIN"),
        Just("CRAM-MD5"),
        Just("XOAUTH2"),
        Just("OAUTHBEARER"),
        Just("NTLM"),
        Just("GSSAPI"),
    ]
}

/// One line's content: arbitrary bytes, BASE64 of arbitrary bytes, `*`, or near-misses.
fn sasl_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(|b| {
            base64::engine::general_purpose::STANDARD
                .encode(b)
                .into_bytes()
        }),
        proptest::collection::vec(any::<u8>(), 1..60).prop_map(|b| {
            // Unpadded, or with a stray space: not the strict BASE64 of RFC 4954.
            let mut s = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&b);
            if s.len() % 4 == 0 {
                s.insert(1, ' ');
            }
            s.into_bytes()
        }),
        Just(b"*".to_vec()),
        Just(b" *".to_vec()),
        Just(b"* \t".to_vec()),
        Just(b"=".to_vec()),
        // Valid BASE64 followed by blanks, which the line parser trims.
        (proptest::collection::vec(any::<u8>(), 0..60), "[ \t]{1,3}").prop_map(|(b, blanks)| {
            let mut s = base64::engine::general_purpose::STANDARD.encode(b);
            s.push_str(&blanks);
            s.into_bytes()
        }),
    ]
    .prop_map(|mut l| {
        // One line: CR and LF end it.
        l.retain(|b| *b != b'\r' && *b != b'\n');
        l
    })
}

/// The first reply line of `out`.
fn first_line(out: &str) -> &str {
    out.split_inclusive("\r\n").next().unwrap_or("")
}

/// Ends a possibly still running exchange and checks the session takes commands.
fn back_to_commands(server: &mut Server, builtin: bool, out: &str) -> Result<(), TestCaseError> {
    let last = out.split_inclusive("\r\n").last().unwrap_or("");
    if last.starts_with("334 ") {
        let r = feed(server, builtin, b"*\r\n");
        prop_assert_eq!(r.as_str(), "501 5.0.0 Authentication cancelled\r\n");
    }
    let r = feed(server, builtin, b"NOOP\r\n");
    prop_assert_eq!(r.as_str(), "250 2.0.0 OK\r\n");
    prop_assert!(!server.is_closed());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn hostile_sasl_lines(mech in mech(), builtin in any::<bool>(), line in sasl_line()) {
        let mut server = sasl_server(mech, builtin);
        let mut input = line.clone();
        input.extend_from_slice(b"\r\n");
        let out = feed(&mut server, builtin, &input);
        let reply = first_line(&out);
        // The back end's refusal: [MS-SMTPNTLM] 2.2.1.4's for NTLM, RFC 4954's otherwise.
        let refused = if mech == "NTLM" {
            "535 5.7.3 Authentication unsuccessful\r\n"
        } else {
            "535 5.7.8 Authentication credentials invalid\r\n"
        };
        // Trailing blanks are trimmed from a SASL line (as from a command line), in both
        // modes; what remains must be `*` or strict BASE64.
        let mut trimmed = &line[..];
        while let [rest @ .., b' ' | b'\t'] = trimmed {
            trimmed = rest;
        }
        let strict = base64::engine::general_purpose::STANDARD.decode(trimmed).is_ok();
        if trimmed == b"*" {
            prop_assert_eq!(reply, "501 5.0.0 Authentication cancelled\r\n");
        } else if !strict {
            // The same bytes whichever mode runs the exchange.
            prop_assert_eq!(reply, "501 5.5.2 Cannot Base64-decode client response\r\n", "{:?}", String::from_utf8_lossy(&line));
        } else if builtin {
            // Valid BASE64: the mechanism's answer (a next challenge, a refusal of a
            // malformed message, or the back end's 535).
            prop_assert!(
                reply.starts_with("334 ")
                    || reply == "501 5.5.2 Malformed authentication data\r\n"
                    || reply == refused,
                "{:?} -> {:?}", String::from_utf8_lossy(&line), out
            );
        } else {
            // Caller-driven: the decoded bytes reach the back end, which says no.
            prop_assert_eq!(reply, refused);
        }
        back_to_commands(&mut server, builtin, &out)?;
    }

    #[test]
    fn hostile_initial_responses(mech in mech(), builtin in any::<bool>(), ir in "[A-Za-z0-9+/=!%*._-]{1,40}") {
        let mut sc = ServerConfig::new("mx.example.test");
        sc.auth.mechanisms = vec![Mechanism::new(mech)];
        sc.auth.allow_plaintext_without_tls = true;
        sc.auth.builtin_exchanges = builtin;
        let mut server = Server::new(sc, Instant::now());
        feed(&mut server, builtin, b"EHLO c\r\n");
        let out = feed(&mut server, builtin, format!("AUTH {mech} {ir}\r\n").as_bytes());
        let reply = first_line(&out);
        let valid = ir == "=" || base64::engine::general_purpose::STANDARD.decode(&ir).is_ok();
        if !valid {
            // 501 5.5.2 from the command parser (characters outside the alphabet) or
            // from the exchange (bad padding, stray `=`): the code is the same.
            prop_assert!(reply.starts_with("501 5.5.2 "), "{} {} -> {}", mech, ir, out);
        } else {
            prop_assert!(!reply.starts_with("501 5.5.2 Invalid base64"), "{} {}", mech, ir);
            prop_assert!(!reply.starts_with("501 5.5.2 Cannot Base64"), "{} {}", mech, ir);
        }
        back_to_commands(&mut server, builtin, &out)?;
    }

    #[test]
    fn sasl_line_limit(mech in mech(), builtin in any::<bool>(), len in 12_270usize..12_300) {
        let mut server = sasl_server(mech, builtin);
        // `len` octets of content, then CRLF: the limit of RFC 4954 section 4 counts the
        // whole line, CRLF included (12,288).
        let mut input = vec![b'A'; len];
        input.extend_from_slice(b"\r\n");
        let out = feed(&mut server, builtin, &input);
        if len + 2 > 12_288 {
            prop_assert_eq!(out.as_str(), "500 5.5.6 Authentication exchange line is too long\r\n");
        } else {
            prop_assert!(!out.starts_with("500 "), "{}", out);
            prop_assert!(!out.is_empty());
        }
        back_to_commands(&mut server, builtin, &out)?;
    }
}

/// `limits.max_sasl_line` above RFC 4954's 12,288 octets (a deployment with large
/// Kerberos tokens) is honoured on continuation lines: a 15,000-octet BASE64 answer
/// reaches the back end in both modes, instead of being refused as invalid BASE64.
#[test]
fn configured_sasl_line_limit_above_12288_is_honoured() {
    for builtin in [false, true] {
        let mut sc = ServerConfig::new("mx.example.test");
        sc.auth.mechanisms = vec![Mechanism::new("GSSAPI")];
        sc.auth.builtin_exchanges = builtin;
        sc.limits.max_sasl_line = 20_000;
        let mut s = Server::new(sc, Instant::now());
        s.receive(Instant::now(), b"EHLO c\r\nAUTH GSSAPI\r\n");
        let mut got = Vec::new();
        let pump = |s: &mut Server, got: &mut Vec<usize>| {
            while let Some(e) = s.poll_event() {
                let d = match &e {
                    SEvent::AuthStart { .. } => Decision::AuthChallenge(Vec::new()),
                    SEvent::AuthResponse { data, .. } | SEvent::AuthToken { data, .. } => {
                        got.push(data.len());
                        Decision::AuthSuccess {
                            identity: "k".into(),
                        }
                    }
                    _ => Decision::Default,
                };
                if e.needs_decision() {
                    s.decide(d);
                }
            }
            let mut out = Vec::new();
            while let Some(b) = s.poll_transmit() {
                out.extend_from_slice(&b);
            }
            String::from_utf8(out).unwrap()
        };
        let out = pump(&mut s, &mut got);
        assert!(out.ends_with("334 \r\n"), "{out}");
        let token = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 11_250]);
        assert_eq!(token.len(), 15_000);
        s.receive(Instant::now(), format!("{token}\r\n").as_bytes());
        let out = pump(&mut s, &mut got);
        assert_eq!(got, [11_250], "builtin {builtin}: {out}");
        assert_eq!(out, "235 2.7.0 Authentication successful\r\n");
    }
}

/// A continuation line gets the same answer in both server modes: trailing blanks are
/// trimmed, so `* ` is a cancel (RFC 4954 section 4: `501`, here `501 5.0.0`) and valid
/// BASE64 followed by a blank is that BASE64 (as an AUTH initial response is).
#[test]
fn trailing_blanks_on_a_sasl_line_are_trimmed_in_both_modes() {
    for builtin in [false, true] {
        let mut s = sasl_server("PLAIN", builtin);
        assert_eq!(
            feed(&mut s, builtin, b"* \r\n"),
            "501 5.0.0 Authentication cancelled\r\n",
            "builtin {builtin}"
        );
        feed(&mut s, builtin, b"AUTH PLAIN\r\n");
        // A well-formed PLAIN message: the back end sees it (and says no).
        assert_eq!(
            feed(&mut s, builtin, b"AHRpbQB0YW5zdGFhZmw=\t \r\n"),
            "535 5.7.8 Authentication credentials invalid\r\n",
            "builtin {builtin}"
        );
    }
}

/// The AUTH command line itself may be as long as a SASL line (RFC 4954 section 4), not
/// longer. Over it, the initial response is a BASE64 response longer than the server's
/// authentication buffer: `500 5.5.6` (RFC 4954 sections 4 and 6), not the generic
/// `500 5.5.2` of an over-long command.
#[test]
fn auth_command_line_limit() {
    for builtin in [false, true] {
        for (len, ok) in [(12_288, true), (12_289, false)] {
            let mut sc = ServerConfig::new("mx.example.test");
            sc.auth.mechanisms = vec![Mechanism::new("GSSAPI")];
            sc.auth.builtin_exchanges = builtin;
            let mut s = Server::new(sc, Instant::now());
            feed(&mut s, builtin, b"EHLO c\r\n");
            let prefix = "AUTH GSSAPI ";
            let mut line = prefix.as_bytes().to_vec();
            line.resize(len - 2, b'A');
            line.extend_from_slice(b"\r\n");
            let out = feed(&mut s, builtin, &line);
            if ok {
                assert!(!out.starts_with("500"), "{len}: {out}");
            } else {
                assert_eq!(
                    out, "500 5.5.6 Authentication exchange line is too long\r\n",
                    "{len}"
                );
            }
            assert_eq!(feed(&mut s, builtin, b"NOOP\r\n"), "250 2.0.0 OK\r\n");
        }
    }
}

// ---- any split of the client's bytes gives the same server transcript ----

/// A whole LOGIN + PLAIN + NTLM-shaped session's input, and the deciding back end.
fn split_session(builtin: bool, input: &[u8], cuts: &[usize]) -> String {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.auth.mechanisms = ["LOGIN", "PLAIN", "NTLM"]
        .iter()
        .map(|m| Mechanism::new(m))
        .collect();
    sc.auth.allow_plaintext_without_tls = true;
    sc.auth.builtin_exchanges = builtin;
    let mut server = Server::new(sc, Instant::now());
    let mut out = String::new();
    let mut login_user = None;
    let mut pos = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    for p in points {
        server.receive(Instant::now(), &input[pos..p]);
        pos = p;
        while let Some(e) = server.poll_event() {
            let d = match &e {
                SEvent::AuthStart {
                    mechanism,
                    initial_response: None,
                    ..
                } => match mechanism.as_str() {
                    "LOGIN" => Decision::AuthChallenge(b"Username:".to_vec()),
                    "NTLM" => Decision::AuthChallengeText(Cow::Borrowed("ntlm supported")),
                    _ => Decision::AuthChallenge(Vec::new()),
                },
                SEvent::AuthResponse { data, .. } if login_user.is_none() && data == b"Charlie" => {
                    login_user = Some(data.clone());
                    Decision::AuthChallenge(b"Password:".to_vec())
                }
                SEvent::AuthResponse { data, .. } | SEvent::AuthToken { data, .. }
                    if data.starts_with(b"NTLMSSP\0\x01") =>
                {
                    Decision::AuthChallenge(b"NTLMSSP\0\x02\0\0\0nonce".to_vec())
                }
                SEvent::AuthVerify {
                    credentials: Credentials::Login { password, .. },
                    ..
                } => {
                    if password == "password" {
                        Decision::AuthSuccess {
                            identity: "Charlie".into(),
                        }
                    } else {
                        Decision::AuthFailure
                    }
                }
                SEvent::AuthResponse { data, .. } if data == b"password" => Decision::AuthSuccess {
                    identity: "Charlie".into(),
                },
                e if e.is_auth_step() => Decision::AuthFailure,
                _ => Decision::Default,
            };
            if e.needs_decision() {
                server.decide(d);
            }
        }
        while let Some(b) = server.poll_transmit() {
            out.push_str(&String::from_utf8_lossy(&b));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_split_same_transcript(builtin in any::<bool>(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let ntlm1 = base64::engine::general_purpose::STANDARD.encode(b"NTLMSSP\0\x01\0\0\0");
        let ntlm3 = base64::engine::general_purpose::STANDARD.encode(b"NTLMSSP\0\x03\0\0\0x");
        let input = format!(
            "EHLO c\r\nAUTH NTLM\r\n{ntlm1}\r\n{ntlm3}\r\nAUTH PLAIN QQ=\r\nAUTH PLAIN\r\n*\r\n\
             AUTH LOGIN\r\nQ2hhcmxpZQ==\r\ncGFzc3dvcmQ=\r\nAUTH LOGIN\r\nNOOP\r\n"
        );
        let whole = split_session(builtin, input.as_bytes(), &[]);
        let split = split_session(builtin, input.as_bytes(), &cuts);
        prop_assert_eq!(&split, &whole);
        let expected_tail = "334 ntlm supported\r\n334 TlRMTVNTUAACAAAAbm9uY2U=\r\n\
             535 5.7.3 Authentication unsuccessful\r\n\
             501 5.5.2 Cannot Base64-decode client response\r\n334 \r\n501 5.0.0 Authentication cancelled\r\n\
             334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n\
             503 5.5.1 Already authenticated\r\n250 2.0.0 OK\r\n";
        prop_assert!(whole.ends_with(expected_tail), "{}", whole);
    }
}
