//! Client and server machines wired together in memory: every mechanism authenticates with
//! the right credentials and gets `535 5.7.8` with wrong ones, in both server modes
//! (caller-driven events and `builtin_exchanges`), with and without TLS, with and without
//! the plaintext opt-in on the client. NTLM and GSSAPI run with opaque tokens made up by
//! the test's stand-in security packages on both sides.

use base64::Engine as _;
use ehlo::client::{
    AuthResponse, Client, ClientConfig, CloseReason, Credentials as ClientCreds, Event as CEvent,
    TlsPolicy,
};
use ehlo::sasl::oauth::OAuthError;
use ehlo::sasl::oauthbearer::OAuthBearerMessage;
use ehlo::sasl::plain::PlainMessage;
use ehlo::sasl::xoauth2::XOAuth2Message;
use ehlo::sasl::{cram_md5, Credentials};
use ehlo::server::{Decision, Event as SEvent, Mechanism, Server, ServerConfig};
use std::borrow::Cow;
use std::time::Instant;

const USER: &str = "alice";
const PASSWORD: &str = "s3cret pass";
const TOKEN: &str = "ya29.good-token";
const NONCE: &[u8] = b"0123abcd";
const CRAM_CHALLENGE: &str = "<1896.697170952@mx.example.test>";
const GSS_REPLY: &[u8] = b"\x6f\x0bAP-REP";

const ALL: [&str; 7] = [
    "PLAIN",
    "LOGIN",
    "CRAM-MD5",
    "XOAUTH2",
    "OAUTHBEARER",
    "NTLM",
    "GSSAPI",
];

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

// ---- the stand-in security packages (opaque tokens) ----

fn ntlm_negotiate() -> Vec<u8> {
    b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2".to_vec()
}

fn ntlm_challenge() -> Vec<u8> {
    let mut v = b"NTLMSSP\0\x02\0\0\0".to_vec();
    v.extend_from_slice(NONCE);
    v
}

/// The AUTHENTICATE: user, then a "proof" binding the password to the server's nonce.
fn ntlm_authenticate(user: &str, password: &str, challenge: &[u8]) -> Vec<u8> {
    let mut v = b"NTLMSSP\0\x03\0\0\0".to_vec();
    v.extend_from_slice(user.as_bytes());
    v.push(0);
    v.extend(password.bytes().rev());
    v.extend_from_slice(challenge.get(12..).unwrap_or_default());
    v
}

fn gss_token(user: &str, password: &str) -> Vec<u8> {
    let mut v = b"\x60AP-REQ:".to_vec();
    v.extend_from_slice(user.as_bytes());
    v.push(b':');
    v.extend_from_slice(password.as_bytes());
    v
}

// ---- the server's back end ----

#[derive(Default)]
struct Backend {
    builtin: bool,
    mechanism: String,
    login_user: Option<Vec<u8>>,
    oauth_failed: bool,
    gss_ok: bool,
    /// The passwords are stored hashed: CRAM-MD5, which needs the password itself, never
    /// verifies.
    hashed_store: bool,
}

fn oauth_error() -> Vec<u8> {
    OAuthError::new("invalid_token")
        .with_scope("mail")
        .to_json()
        .into_bytes()
}

fn verdict(ok: bool) -> Decision {
    if ok {
        Decision::AuthSuccess {
            identity: USER.into(),
        }
    } else {
        Decision::AuthFailure
    }
}

impl Backend {
    /// Decides a client-first message of `self.mechanism`.
    fn message(&mut self, data: &[u8]) -> Decision {
        match self.mechanism.as_str() {
            "PLAIN" => match PlainMessage::parse(data) {
                Ok(m) => verdict(m.authcid == USER && m.password == PASSWORD),
                Err(_) => Decision::AuthFailure,
            },
            "LOGIN" => match self.login_user.take() {
                None => {
                    self.login_user = Some(data.to_vec());
                    Decision::AuthChallenge(b"Password:".to_vec())
                }
                Some(u) => verdict(u == USER.as_bytes() && data == PASSWORD.as_bytes()),
            },
            "CRAM-MD5" if self.hashed_store => Decision::AuthFailure,
            "CRAM-MD5" => {
                let text = String::from_utf8_lossy(data).into_owned();
                let Some((u, digest)) = text.split_once(' ') else {
                    return Decision::AuthFailure;
                };
                verdict(u == USER && cram_md5::verify(PASSWORD, CRAM_CHALLENGE.as_bytes(), digest))
            }
            "XOAUTH2" | "OAUTHBEARER" if self.oauth_failed => Decision::AuthFailure,
            "XOAUTH2" | "OAUTHBEARER" => {
                let token = if self.mechanism == "XOAUTH2" {
                    XOAuth2Message::parse(data).map(|m| m.token).ok()
                } else {
                    OAuthBearerMessage::parse(data).map(|m| m.token).ok()
                };
                self.oauth(token.as_deref())
            }
            "NTLM" => self.ntlm(data),
            "GSSAPI" => self.gss(data),
            m => panic!("mechanism {m}"),
        }
    }

    fn oauth(&mut self, token: Option<&str>) -> Decision {
        if token == Some(TOKEN) {
            verdict(true)
        } else {
            // RFC 7628 3.2.2: the error challenge; the client's dummy answer gets 535.
            self.oauth_failed = true;
            Decision::AuthChallenge(oauth_error())
        }
    }

    fn ntlm(&mut self, data: &[u8]) -> Decision {
        match data.get(8) {
            Some(1) => Decision::AuthChallenge(ntlm_challenge()),
            Some(3) => verdict(data == ntlm_authenticate(USER, PASSWORD, &ntlm_challenge())),
            _ => Decision::AuthFailure,
        }
    }

    fn gss(&mut self, data: &[u8]) -> Decision {
        if data.is_empty() {
            // The client's empty answer to our AP-REP: done.
            verdict(std::mem::take(&mut self.gss_ok))
        } else if data == gss_token(USER, PASSWORD) {
            self.gss_ok = true;
            Decision::AuthChallenge(GSS_REPLY.to_vec())
        } else {
            Decision::AuthFailure
        }
    }

    fn decide(&mut self, e: &SEvent) -> Decision {
        match e {
            SEvent::AuthStart {
                mechanism,
                initial_response,
                ..
            } => {
                assert!(
                    !self.builtin || mechanism == "CRAM-MD5",
                    "built-in mechanism {mechanism} reached AuthStart"
                );
                self.mechanism = mechanism.clone();
                self.login_user = None;
                self.oauth_failed = false;
                match (mechanism.as_str(), initial_response) {
                    ("CRAM-MD5", None) => Decision::AuthChallenge(CRAM_CHALLENGE.into()),
                    ("CRAM-MD5", Some(_)) => Decision::AuthFailure,
                    ("LOGIN", None) => Decision::AuthChallenge(b"Username:".to_vec()),
                    ("NTLM", None) => Decision::AuthChallengeText(Cow::Borrowed("ntlm supported")),
                    (_, None) => Decision::AuthChallenge(Vec::new()),
                    (_, Some(ir)) => self.message(&ir.clone()),
                }
            }
            SEvent::AuthResponse { data, .. } => self.message(&data.clone()),
            SEvent::AuthVerify { credentials, .. } => {
                assert!(self.builtin);
                match credentials {
                    Credentials::Plain {
                        authcid, password, ..
                    } => verdict(authcid == USER && password == PASSWORD),
                    Credentials::Login { username, password } => {
                        verdict(username == USER && password == PASSWORD)
                    }
                    Credentials::OAuth { token, .. } => self.oauth(Some(token)),
                    c => panic!("{c:?}"),
                }
            }
            SEvent::AuthToken {
                mechanism, data, ..
            } => {
                assert!(self.builtin);
                self.mechanism = mechanism.clone();
                self.message(&data.clone())
            }
            SEvent::TlsUpgrade => Decision::Default,
            _ => Decision::Default,
        }
    }
}

// ---- the session ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tls {
    /// No TLS at all.
    None,
    /// Implicit TLS on both sides.
    Implicit,
    /// STARTTLS.
    Upgrade,
}

struct Outcome {
    c2s: String,
    s2c: String,
    authenticated: Option<String>,
    server_identity: Option<String>,
    closed: Option<CloseReason>,
    ready: bool,
}

/// The client side of the stand-in packages: answers every `AuthChallenge`.
fn client_package(c: &ehlo::client::AuthChallenge, password: &str, ir: bool) -> AuthResponse {
    let first = |m: &str| {
        if m == "NTLM" {
            ntlm_negotiate()
        } else {
            gss_token(USER, password)
        }
    };
    if c.initial {
        return if ir {
            AuthResponse::Data(first(&c.mechanism))
        } else {
            AuthResponse::NoInitialResponse
        };
    }
    match (c.mechanism.as_str(), c.data.as_deref()) {
        // "334 ntlm supported" (not base64) or an empty challenge: the first token.
        ("NTLM", None) | ("GSSAPI", Some([])) => AuthResponse::Data(first(&c.mechanism)),
        ("NTLM", Some(ch)) if ch.get(8) == Some(&2) => {
            AuthResponse::Data(ntlm_authenticate(USER, password, ch))
        }
        ("GSSAPI", Some(GSS_REPLY)) => AuthResponse::NoInitialResponse,
        _ => AuthResponse::Cancel,
    }
}

fn session(
    sc: ServerConfig,
    cc: ClientConfig,
    tls: Tls,
    builtin: bool,
    password: &str,
    ir: bool,
) -> Outcome {
    session_with(sc, cc, tls, builtin, password, ir, false)
}

fn session_with(
    mut sc: ServerConfig,
    mut cc: ClientConfig,
    tls: Tls,
    builtin: bool,
    password: &str,
    ir: bool,
    hashed_store: bool,
) -> Outcome {
    let now = Instant::now();
    sc.auth.builtin_exchanges = builtin;
    // With an initial response where the mechanism allows one, or without.
    cc.sasl_initial_response = ir;
    match tls {
        Tls::None => cc.tls = TlsPolicy::Never,
        Tls::Implicit => cc.implicit_tls = true,
        Tls::Upgrade => {
            sc.extensions.starttls = true;
            cc.tls = TlsPolicy::Required;
        }
    }
    let mut server = Server::new(sc, now);
    if tls == Tls::Implicit {
        server.tls_established().unwrap();
    }
    let mut client = Client::new(cc, now);
    let mut backend = Backend {
        builtin,
        hashed_store,
        ..Backend::default()
    };
    let mut out = Outcome {
        c2s: String::new(),
        s2c: String::new(),
        authenticated: None,
        server_identity: None,
        closed: None,
        ready: false,
    };
    for _ in 0..1000 {
        let mut progress = false;
        while let Some(ev) = server.poll_event() {
            let d = backend.decide(&ev);
            if let SEvent::TlsUpgrade = ev {
                server.tls_established().unwrap();
            } else if ev.needs_decision() {
                server.decide(d);
            }
        }
        while let Some(b) = server.poll_transmit() {
            out.s2c.push_str(&String::from_utf8_lossy(&b));
            client.receive(&b);
            progress = true;
        }
        while let Some(ev) = client.poll_event() {
            progress = true;
            match ev {
                CEvent::StartTls { .. } => client.tls_established().unwrap(),
                CEvent::AuthChallenge(c) => client
                    .auth_respond(client_package(&c, password, ir))
                    .unwrap(),
                CEvent::Authenticated { mechanism, reply } => {
                    assert_eq!(reply.code.0, 235);
                    out.authenticated = Some(mechanism);
                    out.server_identity = server.authenticated().map(str::to_owned);
                }
                CEvent::Ready => {
                    out.ready = true;
                    client.quit();
                }
                CEvent::Closed(r) => out.closed = Some(r),
                _ => {}
            }
        }
        while let Some(b) = client.poll_transmit(now) {
            out.c2s.push_str(&String::from_utf8_lossy(&b));
            server.receive(now, &b);
            progress = true;
        }
        if client.is_closed() && server.is_closed() {
            break;
        }
        if !progress {
            if server.is_closed() && !client.is_closed() {
                client.peer_closed();
            } else {
                panic!("stalled:\nC: {}\nS: {}", out.c2s, out.s2c);
            }
        }
    }
    assert!(client.is_closed(), "C: {}\nS: {}", out.c2s, out.s2c);
    out
}

fn configs(
    offered: &[&str],
    allow_plaintext: bool,
    mech: &str,
    password: &str,
) -> (ServerConfig, ClientConfig) {
    let mut sc = ServerConfig::new("mx.example.test");
    sc.auth.mechanisms = offered.iter().map(|m| Mechanism::new(m)).collect();
    // The server offers everything, so the client's own policy is what is tested.
    sc.auth.allow_plaintext_without_tls = true;
    let mut cc = ClientConfig::new("client.example.test");
    cc.allow_plaintext_auth = allow_plaintext;
    cc.credentials = Some(match mech {
        "PLAIN" | "LOGIN" | "CRAM-MD5" => ClientCreds::Password {
            authzid: None,
            username: USER.into(),
            password: password.into(),
        },
        "XOAUTH2" | "OAUTHBEARER" => ClientCreds::OAuth2 {
            username: USER.into(),
            token: if password == PASSWORD {
                TOKEN.into()
            } else {
                format!("bad-{password}")
            },
        },
        _ => ClientCreds::External {
            mechanisms: vec![mech.into()],
        },
    });
    (sc, cc)
}

fn plaintext(mech: &str) -> bool {
    ehlo::sasl::Mechanism::parse(mech)
        .unwrap()
        .sends_plaintext_credentials()
}

#[test]
fn every_mechanism_every_mode() {
    let mut runs = 0;
    for mech in ALL {
        for builtin in [false, true] {
            for tls in [Tls::None, Tls::Implicit, Tls::Upgrade] {
                for allow in [false, true] {
                    for good in [true, false] {
                        let password = if good { PASSWORD } else { "wrong!" };
                        let (sc, cc) = configs(&[mech], allow, mech, password);
                        let o = session(sc, cc, tls, builtin, password, builtin != good);
                        runs += 1;
                        let ctx = format!(
                            "{mech} builtin={builtin} {tls:?} allow={allow} good={good}\nC: {}\nS: {}",
                            o.c2s, o.s2c
                        );
                        if plaintext(mech) && tls == Tls::None && !allow {
                            // Never a plaintext mechanism without TLS unless allowed.
                            assert!(!o.c2s.contains("AUTH"), "{ctx}");
                            assert!(
                                matches!(o.closed, Some(CloseReason::AuthUnavailable)),
                                "{ctx}"
                            );
                            continue;
                        }
                        assert!(o.c2s.contains(&format!("AUTH {mech}")), "{ctx}");
                        // The initial response rides on AUTH where allowed (never for
                        // CRAM-MD5; the client keeps LOGIN in two steps).
                        let with_ir = builtin != good && !matches!(mech, "CRAM-MD5" | "LOGIN");
                        assert_eq!(
                            o.c2s.contains(&format!("AUTH {mech}\r\n")),
                            !with_ir,
                            "{ctx}"
                        );
                        if good {
                            assert_eq!(o.authenticated.as_deref(), Some(mech), "{ctx}");
                            assert_eq!(o.server_identity.as_deref(), Some(USER), "{ctx}");
                            assert!(o.ready, "{ctx}");
                            assert!(
                                o.s2c.contains("235 2.7.0 Authentication successful\r\n"),
                                "{ctx}"
                            );
                            assert!(matches!(o.closed, Some(CloseReason::Quit(_))), "{ctx}");
                        } else {
                            assert_eq!(o.authenticated, None, "{ctx}");
                            assert!(!o.ready, "{ctx}");
                            // [MS-SMTPNTLM] 2.2.1.4: NTLM fails with 535 5.7.3.
                            let (failure, enhanced) = if mech == "NTLM" {
                                ("535 5.7.3 Authentication unsuccessful\r\n", "5.7.3")
                            } else {
                                ("535 5.7.8 Authentication credentials invalid\r\n", "5.7.8")
                            };
                            assert!(o.s2c.contains(failure), "{ctx}");
                            match &o.closed {
                                Some(CloseReason::AuthFailed(Some(r))) => {
                                    assert_eq!(r.code.0, 535, "{ctx}");
                                    assert_eq!(
                                        r.enhanced.map(|e| e.to_string()).as_deref(),
                                        Some(enhanced),
                                        "{ctx}"
                                    );
                                }
                                other => panic!("{other:?}: {ctx}"),
                            }
                            if mech.starts_with('X') || mech.starts_with('O') {
                                // RFC 7628 3.2.2: the error challenge, then the dummy answer.
                                let err = format!("334 {}\r\n", b64(&oauth_error()));
                                assert!(o.s2c.contains(&err), "{ctx}");
                                let dummy = if mech == "XOAUTH2" {
                                    "\r\n"
                                } else {
                                    "AQ==\r\n"
                                };
                                assert!(o.c2s.contains(&format!("\r\n{dummy}QUIT")), "{ctx}");
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(runs, 7 * 2 * 3 * 2 * 2);
}

/// With everything offered, the client picks the strongest mechanism its credentials can
/// drive, and never a plaintext one without TLS unless allowed.
#[test]
fn strongest_shared_mechanism_is_chosen() {
    let cases: [(&str, Tls, bool, &str); 8] = [
        ("PLAIN", Tls::Implicit, false, "CRAM-MD5"),
        ("PLAIN", Tls::None, false, "CRAM-MD5"),
        ("XOAUTH2", Tls::Implicit, false, "OAUTHBEARER"),
        ("XOAUTH2", Tls::Upgrade, false, "OAUTHBEARER"),
        ("XOAUTH2", Tls::None, true, "OAUTHBEARER"),
        ("NTLM", Tls::None, false, "NTLM"),
        ("GSSAPI", Tls::None, false, "GSSAPI"),
        ("GSSAPI", Tls::Implicit, false, "GSSAPI"),
    ];
    for (creds, tls, allow, expect) in cases {
        for builtin in [false, true] {
            let (sc, mut cc) = configs(&ALL, allow, creds, PASSWORD);
            if creds == "GSSAPI" {
                cc.credentials = Some(ClientCreds::External {
                    mechanisms: vec!["NTLM".into(), "GSSAPI".into()],
                });
            }
            let o = session(sc, cc, tls, builtin, PASSWORD, builtin);
            assert_eq!(
                o.authenticated.as_deref(),
                Some(expect),
                "{creds} {tls:?}\nC: {}\nS: {}",
                o.c2s,
                o.s2c
            );
        }
    }
    // Password credentials, no TLS, no opt-in, and only plaintext mechanisms offered.
    let (sc, cc) = configs(&["PLAIN", "LOGIN"], false, "PLAIN", PASSWORD);
    let o = session(sc, cc, Tls::None, true, PASSWORD, true);
    assert!(matches!(o.closed, Some(CloseReason::AuthUnavailable)));
    assert!(!o.c2s.contains("AUTH"));
}

/// A server that stores hashed passwords advertises CRAM-MD5 but cannot verify it
/// (`535 5.7.8`). With `auth_fallback` the client goes on with PLAIN, the next mechanism
/// it would have picked; with `auth_mechanisms` it never tries CRAM-MD5; with neither the
/// session ends.
#[test]
fn a_hashed_password_store_and_cram_md5() {
    let offered = ["LOGIN", "CRAM-MD5", "PLAIN"];
    for builtin in [false, true] {
        let run = |fallback: bool, only: Option<Vec<ehlo::sasl::Mechanism>>| {
            let (sc, mut cc) = configs(&offered, false, "PLAIN", PASSWORD);
            cc.auth_fallback = fallback;
            cc.auth_mechanisms = only;
            session_with(sc, cc, Tls::Implicit, builtin, PASSWORD, builtin, true)
        };
        let o = run(false, None);
        let ctx = format!("C: {}\nS: {}", o.c2s, o.s2c);
        assert!(
            matches!(&o.closed, Some(CloseReason::AuthFailed(Some(r))) if r.code.0 == 535),
            "{ctx}"
        );
        assert!(!o.c2s.contains("AUTH PLAIN"), "{ctx}");

        let o = run(true, None);
        let ctx = format!("C: {}\nS: {}", o.c2s, o.s2c);
        assert!(
            o.c2s
                .starts_with("EHLO client.example.test\r\nAUTH CRAM-MD5\r\n"),
            "{ctx}"
        );
        assert_eq!(o.s2c.matches("535 5.7.8").count(), 1, "{ctx}");
        assert_eq!(o.authenticated.as_deref(), Some("PLAIN"), "{ctx}");
        assert_eq!(o.server_identity.as_deref(), Some(USER), "{ctx}");
        assert!(o.ready, "{ctx}");

        let o = run(
            false,
            Some(vec![
                ehlo::sasl::Mechanism::Plain,
                ehlo::sasl::Mechanism::Login,
            ]),
        );
        let ctx = format!("C: {}\nS: {}", o.c2s, o.s2c);
        assert!(!o.c2s.contains("CRAM-MD5"), "{ctx}");
        assert!(!o.s2c.contains("535"), "{ctx}");
        assert_eq!(o.authenticated.as_deref(), Some("PLAIN"), "{ctx}");
    }
}

/// A server that does not offer plaintext mechanisms before TLS (the default) refuses a
/// client that tries anyway with `538 5.7.11`; after STARTTLS the same mechanism works.
#[test]
fn server_tls_policy() {
    for builtin in [false, true] {
        let (mut sc, cc) = configs(&["PLAIN", "LOGIN"], true, "LOGIN", PASSWORD);
        sc.auth.allow_plaintext_without_tls = false;
        let o = session(sc.clone(), cc.clone(), Tls::None, builtin, PASSWORD, true);
        // Nothing offered before TLS, so the client has nothing to use.
        assert!(!o.s2c.contains("AUTH"), "{}", o.s2c);
        assert!(matches!(o.closed, Some(CloseReason::AuthUnavailable)));
        let o = session(sc.clone(), cc, Tls::Upgrade, builtin, PASSWORD, true);
        assert_eq!(o.authenticated.as_deref(), Some("PLAIN"));
        assert!(o.s2c.contains("250-AUTH PLAIN LOGIN\r\n"));

        // A client that sends AUTH PLAIN in the clear anyway.
        let mut server = Server::new(sc, Instant::now());
        server.receive(
            Instant::now(),
            format!("EHLO c\r\nAUTH PLAIN {}\r\n", b64(b"\0alice\0s3cret pass")).as_bytes(),
        );
        while let Some(e) = server.poll_event() {
            if e.needs_decision() {
                server.decide(Decision::Default);
            }
        }
        let mut out = Vec::new();
        while let Some(b) = server.poll_transmit() {
            out.extend_from_slice(&b);
        }
        assert!(String::from_utf8(out).unwrap().ends_with(
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
        ));
    }
}

/// Long tokens (Kerberos tickets with a PAC run to several kilobytes): challenges and
/// answers up to the 12,288-octet SASL line pass both machines on one line; an answer
/// over it gets `500 5.5.6` and the client reports the failure.
#[test]
fn long_tokens_up_to_the_sasl_line_limit() {
    // BASE64 of n octets is 4 * ceil(n / 3) characters; 12,288 - 2 (CRLF) = 12,286.
    for (answer_len, ok) in [(9_000, true), (9_213, true), (9_216, false)] {
        for builtin in [false, true] {
            let now = Instant::now();
            let mut sc = ServerConfig::new("mx.example.test");
            sc.auth.mechanisms = vec![Mechanism::new("GSSAPI")];
            sc.auth.builtin_exchanges = builtin;
            let mut server = Server::new(sc, now);
            let mut cc = ClientConfig::new("client.example.test");
            cc.tls = TlsPolicy::Never;
            cc.credentials = Some(ClientCreds::External {
                mechanisms: vec!["GSSAPI".into()],
            });
            let mut client = Client::new(cc, now);
            let mut got = Vec::new();
            let mut closed = None;
            for _ in 0..50 {
                while let Some(ev) = server.poll_event() {
                    let d = match &ev {
                        SEvent::AuthStart { .. } => Decision::AuthChallenge(vec![0x5a; 9_000]),
                        SEvent::AuthToken { data, .. } if data.is_empty() => {
                            Decision::AuthChallenge(vec![0x5a; 9_000])
                        }
                        SEvent::AuthResponse { data, .. } | SEvent::AuthToken { data, .. } => {
                            got.push(data.len());
                            verdict(true)
                        }
                        _ => Decision::Default,
                    };
                    if ev.needs_decision() {
                        server.decide(d);
                    }
                }
                while let Some(b) = server.poll_transmit() {
                    client.receive(&b);
                }
                while let Some(ev) = client.poll_event() {
                    match ev {
                        CEvent::AuthChallenge(c) if c.initial => client
                            .auth_respond(AuthResponse::NoInitialResponse)
                            .unwrap(),
                        CEvent::AuthChallenge(c) => {
                            if builtin && c.data.as_deref() == Some(&[][..]) {
                                // The built-in GSSAPI asks for the first token with "334 ".
                                client
                                    .auth_respond(AuthResponse::NoInitialResponse)
                                    .unwrap();
                            } else {
                                assert_eq!(c.data.map(|d| d.len()), Some(9_000));
                                client
                                    .auth_respond(AuthResponse::Data(vec![0xa5; answer_len]))
                                    .unwrap();
                            }
                        }
                        CEvent::Ready => client.quit(),
                        CEvent::Closed(r) => closed = Some(r),
                        _ => {}
                    }
                }
                while let Some(b) = client.poll_transmit(now) {
                    server.receive(now, &b);
                }
                if client.is_closed() {
                    break;
                }
            }
            if ok {
                assert_eq!(got.last(), Some(&answer_len), "{answer_len} {builtin}");
                assert!(matches!(closed, Some(CloseReason::Quit(_))), "{closed:?}");
            } else {
                assert!(!got.contains(&answer_len));
                match closed {
                    Some(CloseReason::AuthFailed(Some(r))) => {
                        assert_eq!(r.code.0, 500);
                        assert_eq!(r.enhanced.unwrap().to_string(), "5.5.6");
                    }
                    other => panic!("{answer_len} {builtin}: {other:?}"),
                }
            }
        }
    }
}
