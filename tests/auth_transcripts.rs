//! The authentication examples of the specifications, byte for byte, on both machines:
//!
//! * server: the client's lines go in one at a time, the exact server bytes come out, in
//!   both server modes (caller-driven `AuthStart`/`AuthResponse` events, and
//!   `AuthConfig::builtin_exchanges` with `AuthVerify`/`AuthToken`);
//! * client: the server's lines go in, the exact client bytes come out.
//!
//! Sources: \[MS-SMTPNTLM\] section 4.1 (success) and 4.2 (failure), \[MS-XLOGIN\] section 4,
//! RFC 4954 section 4.1 (PLAIN with and without an initial response, CRAM-MD5), RFC 2195
//! section 2 (CRAM-MD5 with the `tim` / `tanstaaftanstaaf` challenge).
//!
//! Where an example shows free text (the EHLO greeting line, the text after `235`), the
//! server's own text is used; codes, enhanced codes, challenges and client lines are the
//! example's bytes.

mod client_support;
mod server_support;

use base64::Engine as _;
use client_support::T;
use ehlo::client::{
    self, AuthResponse, ClientConfig, CloseReason, Credentials as ClientCreds, TlsPolicy,
};
use ehlo::sasl::{cram_md5, AuthReply, Credentials};
use ehlo::server::{AuthVerb, Decision, Event, Mechanism, ServerConfig};
use ehlo::Reply;
use server_support::{run_lines, Run};
use std::borrow::Cow;

fn d64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("example base64")
}

// ---- the examples' bytes ----

/// \[MS-SMTPNTLM\] 4.1 / 4.2: the NEGOTIATE_MESSAGE (the same in both examples).
const NTLM_NEGOTIATE: &str = "TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAFAs4OAAAADw==";
/// \[MS-SMTPNTLM\] 4.1: the CHALLENGE_MESSAGE (wrapped over four lines in the document; one
/// line on the wire).
const NTLM_CHALLENGE_4_1: &str = "TlRMTVNTUAACAAAAFgAWADgAAAA1goriZt7rI6Uq/ccAAAAAAAAAAGwAbABOAAAABQLODgAAAA9FAFgAQwBIAC0AQwBMAEkALQA2ADYAAgAWAEUAWABDAEgALQBDAEwASQAtADYANgABABYARQBYAEMASAAtAEMATABJAC0ANgA2AAQAFgBlAHgAYwBoAC0AYwBsAGkALQA2ADYAAwAWAGUAeABjAGgALQBjAGwAaQAtADYANgAAAAAA";
/// \[MS-SMTPNTLM\] 4.1: the AUTHENTICATE_MESSAGE.
const NTLM_AUTHENTICATE_4_1: &str = "TlRMTVNTUAADAAAAGAAYAHwAAAAYABgAlAAAABYAFgBIAAAACAAIAF4AAAAWABYAZgAAABAAEACsAAAANYKI4gUCzg4AAAAPZQB4AGMAaAAtAGMAbABpAC0ANgA2AHQAZQBzAHQARQBYAEMASAAtAEMATABJAC0ANgA2AAZKkK42dvN2AAAAAAAAAAAAAAAAAAAAABvqCZdJZ0NxuuMaNT5PPn5aZ6imuk9cPZkPUjEYNIRezkCGmTwS5G0=";
/// \[MS-SMTPNTLM\] 4.2: the CHALLENGE_MESSAGE.
const NTLM_CHALLENGE_4_2: &str = "TlRMTVNTUAACAAAAFgAWADgAAAA1goriYo7ENUsXagIAAAAAAAAAAGwAbABOAAAABQLODgAAAA9FAFgAQwBIAC0AQwBMAEkALQA2ADYAAgAWAEUAWABDAEgALQBDAEwASQAtADYANgABABYARQBYAEMASAAtAEMATABJAC0ANgA2AAQAFgBlAHgAYwBoAC0AYwBsAGkALQA2ADYAAwAWAGUAeABjAGgALQBjAGwAaQAtADYANgAAAAAA";
/// \[MS-SMTPNTLM\] 4.2: the AUTHENTICATE_MESSAGE.
const NTLM_AUTHENTICATE_4_2: &str = "TlRMTVNTUAADAAAAGAAYAHwAAAAYABgAlAAAABYAFgBIAAAACAAIAF4AAAAWABYAZgAAABAAEACsAAAANYKI4gUCzg4AAAAPZQB4AGMAaAAtAGMAbABpAC0ANgA2AHQAZQBzAHQARQBYAEMASAAtAEMATABJAC0ANgA2AIqeV65hhASwAAAAAAAAAAAAAAAAAAAAAHZHDVfwTU5ci0RY04eRmWy0/VWZfIfjsqdUu2WmxYUKy83PyyxzbA8=";
/// \[MS-SMTPNTLM\] 4.1 step 2: the EHLO reply of `exch-cli-66`.
const NTLM_EHLO_REPLY: &str = "250-exch-cli-66 Hello [127.0.0.1]\r\n250-AUTH GSSAPI NTLM\r\n\
250-TURN\r\n250-SIZE 2097152\r\n250-ETRN\r\n250-PIPELINING\r\n250-DSN\r\n\
250-ENHANCEDSTATUSCODES\r\n250-8bitmime\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250-VRFY\r\n250 OK\r\n";

const OK_235: &str = "235 2.7.0 Authentication successful\r\n";
const FAIL_535: &str = "535 5.7.8 Authentication credentials invalid\r\n";

// ---- server harness ----

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// `AuthStart` / `AuthResponse` events; the caller writes every challenge.
    Caller,
    /// `builtin_exchanges`: `AuthVerify` / `AuthToken` events.
    Builtin,
}

const MODES: [Mode; 2] = [Mode::Caller, Mode::Builtin];

fn server_config(host: &str, mechanisms: &[&str], mode: Mode) -> ServerConfig {
    let mut c = ServerConfig::new(host);
    c.auth.mechanisms = mechanisms.iter().map(|m| Mechanism::new(m)).collect();
    // The examples run without TLS (the MS examples) or after it (RFC 4954); the TLS
    // policy is tested elsewhere.
    c.auth.allow_plaintext_without_tls = true;
    c.auth.builtin_exchanges = mode == Mode::Builtin;
    c
}

/// The server output after the greeting and the EHLO reply.
fn after_ehlo(r: &Run) -> String {
    let text = r.text();
    let end = text
        .match_indices("\r\n250 ")
        .next()
        .map(|(i, _)| i + 2)
        .expect("EHLO reply");
    let rest = &text[end..];
    let eol = rest.find("\r\n").expect("last EHLO line") + 2;
    rest[eol..].to_string()
}

/// The EHLO reply lines of a run.
fn ehlo_reply(r: &Run) -> String {
    let text = r.text();
    let start = text.find("\r\n").unwrap() + 2;
    let after = after_ehlo(r);
    text[start..text.len() - after.len()].to_string()
}

/// A caller's NTLM package for the server: NEGOTIATE -> `challenge`, AUTHENTICATE ->
/// `final_decision`.
fn ntlm_server(
    mode: Mode,
    challenge: &'static str,
    authenticate: &'static str,
    final_decision: Decision,
) -> impl FnMut(&Event) -> Decision {
    move |e| match (mode, e) {
        (Mode::Caller, Event::Ehlo { .. }) | (Mode::Builtin, Event::Ehlo { .. }) => {
            Decision::Reply(Reply::new(250, None, "exch-cli-66 Hello [127.0.0.1]"))
        }
        (
            Mode::Caller,
            Event::AuthStart {
                mechanism,
                initial_response: None,
                ..
            },
        ) if mechanism == "NTLM" => {
            Decision::AuthChallengeText(Cow::Borrowed(ehlo::sasl::ntlm::SUPPORTED_TEXT))
        }
        (Mode::Caller, Event::AuthResponse { data, .. }) if *data == d64(NTLM_NEGOTIATE) => {
            Decision::AuthChallenge(d64(challenge))
        }
        (Mode::Caller, Event::AuthResponse { data, .. }) if *data == d64(authenticate) => {
            final_decision.clone()
        }
        (
            Mode::Builtin,
            Event::AuthToken {
                mechanism, data, ..
            },
        ) if mechanism == "NTLM" && *data == d64(NTLM_NEGOTIATE) => {
            Decision::AuthChallenge(d64(challenge))
        }
        (
            Mode::Builtin,
            Event::AuthToken {
                mechanism, data, ..
            },
        ) if mechanism == "NTLM" && *data == d64(authenticate) => final_decision.clone(),
        (_, e) if matches!(e, Event::AuthStart { .. } | Event::AuthResponse { .. }) => {
            panic!("unexpected {e:?}")
        }
        _ => Decision::Default,
    }
}

fn ntlm_input(authenticate: &str) -> String {
    format!("EHLO test.com\r\nAUTH NTLM\r\n{NTLM_NEGOTIATE}\r\n{authenticate}\r\n")
}

// ---- [MS-SMTPNTLM] 4.1 ----

#[test]
fn ms_smtpntlm_4_1_server() {
    for mode in MODES {
        let mut config = server_config("exch-cli-66", &["GSSAPI", "NTLM"], mode);
        config.limits.max_message_size = 2_097_152;
        config.extensions.etrn = true;
        config.extensions.vrfy_keyword = true;
        config
            .extensions
            .extra
            .push(ehlo::syntax::capability::Capability::Turn);
        let r = run_lines(
            config,
            ntlm_input(NTLM_AUTHENTICATE_4_1).as_bytes(),
            ntlm_server(
                mode,
                NTLM_CHALLENGE_4_1,
                NTLM_AUTHENTICATE_4_1,
                Decision::AuthSuccess {
                    identity: "EXCH-CLI-66\\test".into(),
                },
            ),
        );
        // Step 2: the same keywords as exch-cli-66 (in this server's order; RFC 5321
        // fixes none), with the AUTH line of the example.
        let ehlo = ehlo_reply(&r);
        assert!(
            ehlo.starts_with("250-exch-cli-66 Hello [127.0.0.1]\r\n"),
            "{ehlo}"
        );
        assert!(ehlo.contains("250-AUTH GSSAPI NTLM\r\n"), "{ehlo}");
        for kw in [
            "TURN",
            "SIZE 2097152",
            "ETRN",
            "PIPELINING",
            "DSN",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "BINARYMIME",
            "CHUNKING",
            "VRFY",
        ] {
            assert!(
                ehlo.contains(&format!("-{kw}\r\n")) || ehlo.contains(&format!(" {kw}\r\n")),
                "{mode:?} {kw}: {ehlo}"
            );
        }
        // Steps 4, 6, 8.
        assert_eq!(
            after_ehlo(&r),
            format!("334 ntlm supported\r\n334 {NTLM_CHALLENGE_4_1}\r\n{OK_235}"),
            "{mode:?}"
        );
        // Each reply is its own transmit: the client must see it before it goes on.
        assert!(r.transmits.iter().any(|t| t == b"334 ntlm supported\r\n"));
        let kinds = r.kinds();
        match mode {
            Mode::Caller => assert_eq!(
                kinds,
                [
                    "Connect",
                    "Ehlo",
                    "AuthStart",
                    "AuthResponse",
                    "AuthResponse"
                ]
            ),
            Mode::Builtin => assert_eq!(kinds, ["Connect", "Ehlo", "AuthToken", "AuthToken"]),
        }
    }
}

fn ntlm_client(host: &str) -> T {
    let mut c = ClientConfig::new(host);
    c.credentials = Some(ClientCreds::External {
        mechanisms: vec!["NTLM".into()],
    });
    T::new(c)
}

fn challenge(t: &mut T) -> client::AuthChallenge {
    let ev = t.events();
    ev.into_iter()
        .find_map(|e| match e {
            client::Event::AuthChallenge(c) => Some(c),
            _ => None,
        })
        .expect("AuthChallenge event")
}

/// Drives the client through an \[MS-SMTPNTLM\] section 4 exchange up to the final reply.
fn ntlm_client_exchange(t: &mut T, challenge_b64: &str, authenticate: &str) {
    t.server("220 exch-cli-66 Microsoft ESMTP MAIL Service ready\r\n");
    t.expect("EHLO test.com\r\n");
    t.server(NTLM_EHLO_REPLY);
    // The caller's NTLM package is asked first; it answers without an initial response,
    // as in the example.
    t.expect("");
    let c = challenge(t);
    assert!(c.initial && c.data.is_none() && c.mechanism == "NTLM");
    t.c.auth_respond(AuthResponse::NoInitialResponse).unwrap();
    t.expect("AUTH NTLM\r\n");
    t.server("334 ntlm supported\r\n");
    let c = challenge(t);
    assert!(!c.initial);
    assert_eq!(c.data, None, "human-readable text, not a blob");
    assert_eq!(c.reply.unwrap().text, "ntlm supported");
    t.c.auth_respond(AuthResponse::Data(d64(NTLM_NEGOTIATE)))
        .unwrap();
    t.expect(&format!("{NTLM_NEGOTIATE}\r\n"));
    t.server(&format!("334 {challenge_b64}\r\n"));
    let c = challenge(t);
    assert_eq!(c.data, Some(d64(challenge_b64)));
    t.c.auth_respond(AuthResponse::Data(d64(authenticate)))
        .unwrap();
    t.expect(&format!("{authenticate}\r\n"));
}

#[test]
fn ms_smtpntlm_4_1_client() {
    let mut t = ntlm_client("test.com");
    ntlm_client_exchange(&mut t, NTLM_CHALLENGE_4_1, NTLM_AUTHENTICATE_4_1);
    t.server(OK_235);
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(e, client::Event::Authenticated { mechanism, reply } if mechanism == "NTLM" && reply.code.0 == 235)));
    assert_eq!(ev.last(), Some(&client::Event::Ready));
    t.c.quit();
    t.expect("QUIT\r\n");
}

// ---- [MS-SMTPNTLM] 4.2 ----

#[test]
fn ms_smtpntlm_4_2_server() {
    for mode in MODES {
        let config = server_config("exch-cli-66", &["GSSAPI", "NTLM"], mode);
        let r = run_lines(
            config,
            (ntlm_input(NTLM_AUTHENTICATE_4_2) + "MAIL FROM:<a@test.com>\r\n").as_bytes(),
            ntlm_server(
                mode,
                NTLM_CHALLENGE_4_2,
                NTLM_AUTHENTICATE_4_2,
                // The caller's NTLM package says no: Exchange's reply of step 7.
                Decision::Reply(AuthReply::NTLM_FAILED.to_reply()),
            ),
        );
        assert_eq!(
            after_ehlo(&r),
            format!(
                "334 ntlm supported\r\n334 {NTLM_CHALLENGE_4_2}\r\n\
                 535 5.7.3 Authentication unsuccessful\r\n250 2.1.0 Sender OK\r\n"
            ),
            "{mode:?}"
        );
        // Not authenticated: the MAIL event carries no identity, a new AUTH is allowed.
        let r2 = run_lines(
            server_config("exch-cli-66", &["NTLM"], mode),
            (ntlm_input(NTLM_AUTHENTICATE_4_2) + "AUTH NTLM\r\n*\r\n").as_bytes(),
            ntlm_server(
                mode,
                NTLM_CHALLENGE_4_2,
                NTLM_AUTHENTICATE_4_2,
                Decision::AuthFailure,
            ),
        );
        assert!(
            after_ehlo(&r2).ends_with(
                "535 5.7.3 Authentication unsuccessful\r\n\
                 334 ntlm supported\r\n501 5.0.0 Authentication cancelled\r\n"
            ),
            "{mode:?}: {}",
            r2.text()
        );
    }
}

#[test]
fn ms_smtpntlm_4_2_client() {
    let mut t = ntlm_client("test.com");
    ntlm_client_exchange(&mut t, NTLM_CHALLENGE_4_2, NTLM_AUTHENTICATE_4_2);
    t.server("535 5.7.3 Authentication unsuccessful\r\n");
    t.expect("QUIT\r\n");
    t.server("221 2.0.0 Bye\r\n");
    let ev = t.events();
    assert!(ev.iter().any(|e| matches!(e,
        client::Event::Closed(CloseReason::AuthFailed(Some(r)))
            if r.code.0 == 535 && r.enhanced.map(|e| e.to_string()).as_deref() == Some("5.7.3"))));
}

/// The NTLM exchange with the NEGOTIATE as initial response (\[MS-SMTPNTLM\] 3.1.4.1): the
/// first `334` carries the CHALLENGE at once.
#[test]
fn ntlm_initial_response_both_sides() {
    for mode in MODES {
        let input =
            format!("EHLO test.com\r\nAUTH NTLM {NTLM_NEGOTIATE}\r\n{NTLM_AUTHENTICATE_4_1}\r\n");
        let r = run_lines(
            server_config("exch-cli-66", &["NTLM"], mode),
            input.as_bytes(),
            move |e| match e {
                Event::AuthStart {
                    initial_response: Some(ir),
                    ..
                } if *ir == d64(NTLM_NEGOTIATE) => Decision::AuthChallenge(d64(NTLM_CHALLENGE_4_1)),
                Event::AuthToken { data, .. } if *data == d64(NTLM_NEGOTIATE) => {
                    Decision::AuthChallenge(d64(NTLM_CHALLENGE_4_1))
                }
                Event::AuthResponse { .. } | Event::AuthToken { .. } => Decision::AuthSuccess {
                    identity: "test".into(),
                },
                _ => Decision::Default,
            },
        );
        assert_eq!(
            after_ehlo(&r),
            format!("334 {NTLM_CHALLENGE_4_1}\r\n{OK_235}"),
            "{mode:?}"
        );
    }
    let mut t = ntlm_client("test.com");
    t.server("220 exch-cli-66\r\n");
    t.expect("EHLO test.com\r\n");
    t.server(NTLM_EHLO_REPLY);
    assert!(challenge(&mut t).initial);
    t.c.auth_respond(AuthResponse::Data(d64(NTLM_NEGOTIATE)))
        .unwrap();
    t.expect(&format!("AUTH NTLM {NTLM_NEGOTIATE}\r\n"));
    t.server(&format!("334 {NTLM_CHALLENGE_4_1}\r\n"));
    assert_eq!(challenge(&mut t).data, Some(d64(NTLM_CHALLENGE_4_1)));
    t.c.auth_respond(AuthResponse::Data(d64(NTLM_AUTHENTICATE_4_1)))
        .unwrap();
    t.expect(&format!("{NTLM_AUTHENTICATE_4_1}\r\n"));
}

// ---- [MS-XLOGIN] 4 ----

fn xlogin_server(mode: Mode, accept: bool) -> impl FnMut(&Event) -> Decision {
    let mut user: Option<Vec<u8>> = None;
    move |e| {
        let verdict = |u: &[u8], p: &[u8]| {
            if accept && u == b"Charlie" && p == b"password" {
                Decision::AuthSuccess {
                    identity: "Charlie".into(),
                }
            } else {
                Decision::AuthFailure
            }
        };
        match (mode, e) {
            (
                Mode::Caller,
                Event::AuthStart {
                    mechanism,
                    initial_response,
                    ..
                },
            ) if mechanism == "LOGIN" => match initial_response {
                // [MS-XLOGIN] 2.2.2: "334 VXNlcm5hbWU6", or the user name came along.
                None => Decision::AuthChallenge(b"Username:".to_vec()),
                Some(u) => {
                    user = Some(u.clone());
                    Decision::AuthChallenge(b"Password:".to_vec())
                }
            },
            (Mode::Caller, Event::AuthResponse { data, .. }) => match user.take() {
                None => {
                    user = Some(data.clone());
                    Decision::AuthChallenge(b"Password:".to_vec())
                }
                Some(u) => verdict(&u, data),
            },
            (
                Mode::Builtin,
                Event::AuthVerify {
                    credentials: Credentials::Login { username, password },
                    ..
                },
            ) => verdict(username.as_bytes(), password.as_bytes()),
            (_, e) if matches!(e, Event::AuthStart { .. } | Event::AuthResponse { .. }) => {
                panic!("unexpected {e:?}")
            }
            _ => Decision::Default,
        }
    }
}

#[test]
fn ms_xlogin_4_server() {
    let input = "EHLO client.example.com\r\nAUTH LOGIN\r\nQ2hhcmxpZQ==\r\ncGFzc3dvcmQ=\r\n";
    for mode in MODES {
        let r = run_lines(
            server_config("SMTP.example.com", &["LOGIN"], mode),
            input.as_bytes(),
            xlogin_server(mode, true),
        );
        assert!(r.text().starts_with("220 SMTP.example.com "));
        assert!(ehlo_reply(&r).contains("250-AUTH LOGIN\r\n"));
        assert_eq!(
            after_ehlo(&r),
            format!("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n{OK_235}"),
            "{mode:?}"
        );
        // Wrong password: 535 5.7.8.
        let r = run_lines(
            server_config("SMTP.example.com", &["LOGIN"], mode),
            input.as_bytes(),
            xlogin_server(mode, false),
        );
        assert_eq!(
            after_ehlo(&r),
            format!("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n{FAIL_535}"),
            "{mode:?}"
        );
        // The user name as initial response ([MS-XLOGIN] 2.2.2 auth_login_command).
        let r = run_lines(
            server_config("SMTP.example.com", &["LOGIN"], mode),
            b"EHLO c\r\nAUTH LOGIN Q2hhcmxpZQ==\r\ncGFzc3dvcmQ=\r\n",
            xlogin_server(mode, true),
        );
        assert_eq!(
            after_ehlo(&r),
            format!("334 UGFzc3dvcmQ6\r\n{OK_235}"),
            "{mode:?}"
        );
    }
}

#[test]
fn ms_xlogin_4_client() {
    let mut c = ClientConfig::new("client.example.com");
    c.credentials = Some(ClientCreds::Password {
        authzid: None,
        username: "Charlie".into(),
        password: "password".into(),
    });
    // The example runs without TLS; LOGIN exposes the password, so that takes an
    // explicit opt-in ([MS-XLOGIN] 5.1).
    c.allow_plaintext_auth = true;
    let mut t = T::new(c);
    t.server("220 SMTP.example.com\r\n");
    t.expect("EHLO client.example.com\r\n");
    t.server("250-SMTP.example.com Hello\r\n250 AUTH LOGIN\r\n");
    // Step 4: "the client omits the username in the AUTH LOGIN command".
    t.expect("AUTH LOGIN\r\n");
    t.server("334 VXNlcm5hbWU6\r\n");
    t.expect("Q2hhcmxpZQ==\r\n");
    t.server("334 UGFzc3dvcmQ6\r\n");
    t.expect("cGFzc3dvcmQ=\r\n");
    // Step 9, the example's reply text.
    t.server("235 authentication successful\r\n");
    let ev = t.events();
    assert!(ev.iter().any(
        |e| matches!(e, client::Event::Authenticated { mechanism, .. } if mechanism == "LOGIN")
    ));
    assert_eq!(ev.last(), Some(&client::Event::Ready));

    // The same session without the opt-in: LOGIN is never sent in the clear.
    let mut c = ClientConfig::new("client.example.com");
    c.credentials = Some(ClientCreds::Password {
        authzid: None,
        username: "Charlie".into(),
        password: "password".into(),
    });
    let mut t = T::new(c);
    t.server("220 SMTP.example.com\r\n");
    t.expect("EHLO client.example.com\r\n");
    t.server("250-SMTP.example.com Hello\r\n250 AUTH LOGIN\r\n");
    t.expect("QUIT\r\n");
}

// ---- RFC 4954 section 4.1: PLAIN ----

/// `test` / `test` / `1234`: authzid, authcid, password of the RFC 4954 examples.
fn plain_server(mode: Mode) -> impl FnMut(&Event) -> Decision {
    move |e| {
        let ok = |d: &[u8]| {
            if d == b"test\0test\x001234" {
                Decision::AuthSuccess {
                    identity: "test".into(),
                }
            } else {
                Decision::AuthFailure
            }
        };
        match (mode, e) {
            (
                Mode::Caller,
                Event::AuthStart {
                    initial_response: Some(ir),
                    ..
                },
            ) => ok(ir),
            // RFC 4954 section 4: an empty challenge asks for the client-first message.
            (
                Mode::Caller,
                Event::AuthStart {
                    initial_response: None,
                    ..
                },
            ) => Decision::AuthChallenge(Vec::new()),
            (Mode::Caller, Event::AuthResponse { data, .. }) => ok(data),
            (
                Mode::Builtin,
                Event::AuthVerify {
                    credentials:
                        Credentials::Plain {
                            authzid,
                            authcid,
                            password,
                        },
                    ..
                },
            ) => {
                if authzid.as_deref() == Some("test") && authcid == "test" && password == "1234" {
                    Decision::AuthSuccess {
                        identity: "test".into(),
                    }
                } else {
                    Decision::AuthFailure
                }
            }
            (_, e) if matches!(e, Event::AuthStart { .. } | Event::AuthResponse { .. }) => {
                panic!("unexpected {e:?}")
            }
            _ => Decision::Default,
        }
    }
}

#[test]
fn rfc4954_plain_server() {
    for mode in MODES {
        // After STARTTLS (the RFC's example): the caller established TLS.
        let mut config = server_config("smtp.example.com", &["GSSAPI", "PLAIN"], mode);
        config.auth.allow_plaintext_without_tls = false;
        config.extensions.starttls = true;
        let r = server_support::run_acts(
            config.clone(),
            &[
                server_support::Act::Input(b"EHLO client.example.com\r\n"),
                server_support::Act::Input(b"STARTTLS\r\n"),
                server_support::Act::Tls,
                server_support::Act::Input(b"EHLO client.example.com\r\n"),
                server_support::Act::Input(b"AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n"),
            ],
            plain_server(mode),
        );
        let text = r.text();
        // Before TLS only GSSAPI is offered, after it PLAIN too.
        assert!(text.contains("250-AUTH GSSAPI\r\n"), "{text}");
        assert!(text.contains("250-AUTH GSSAPI PLAIN\r\n"), "{text}");
        assert!(
            text.ends_with(&format!("250 CHUNKING\r\n{OK_235}")),
            "{text}"
        );

        // Without an initial response: "334 " with its single space.
        let r = server_support::run_acts(
            config,
            &[
                server_support::Act::Tls,
                server_support::Act::Input(b"EHLO client.example.com\r\n"),
                server_support::Act::Input(b"AUTH PLAIN\r\n"),
                server_support::Act::Input(b"dGVzdAB0ZXN0ADEyMzQ=\r\n"),
            ],
            plain_server(mode),
        );
        assert_eq!(after_ehlo(&r), format!("334 \r\n{OK_235}"), "{mode:?}");
    }
}

#[test]
fn rfc4954_plain_client() {
    let creds = ClientCreds::Password {
        authzid: Some("test".into()),
        username: "test".into(),
        password: "1234".into(),
    };
    let mut c = ClientConfig::new("client.example.com");
    c.credentials = Some(creds.clone());
    let mut t = T::new(c.clone());
    t.server("220 smtp.example.com ESMTP Server\r\n");
    t.expect("EHLO client.example.com\r\n");
    t.server(
        "250-smtp.example.com Hello client.example.com\r\n250-AUTH GSSAPI DIGEST-MD5\r\n\
         250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n",
    );
    t.expect("STARTTLS\r\n");
    t.server("220 Ready to start TLS\r\n");
    t.c.tls_established().unwrap();
    t.expect("EHLO client.example.com\r\n");
    t.server(
        "250-smtp.example.com Hello client.example.com\r\n\
         250-AUTH GSSAPI DIGEST-MD5 PLAIN\r\n250 ENHANCEDSTATUSCODES\r\n",
    );
    t.expect("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n");
    t.server(OK_235);
    assert!(t.events().contains(&client::Event::Ready));

    // Without SASL-IR: the RFC's second example.
    c.sasl_initial_response = false;
    c.implicit_tls = true;
    let mut t = T::new(c);
    t.server("220 smtp.example.com ESMTP Server\r\n");
    t.expect("EHLO client.example.com\r\n");
    t.server(
        "250-smtp.example.com Hello client.example.com\r\n\
         250-AUTH GSSAPI DIGEST-MD5 PLAIN\r\n250 ENHANCEDSTATUSCODES\r\n",
    );
    t.expect("AUTH PLAIN\r\n");
    t.server("334 \r\n");
    t.expect("dGVzdAB0ZXN0ADEyMzQ=\r\n");
    t.server(OK_235);
    assert!(t.events().contains(&client::Event::Ready));
}

// ---- CRAM-MD5: RFC 4954 section 4.1 and RFC 2195 section 2 ----

/// CRAM-MD5 is caller-driven in both modes (the server needs the caller's challenge).
fn cram_server(
    challenge: &'static str,
    check: impl Fn(&str, &str, &str) -> bool,
) -> impl FnMut(&Event) -> Decision {
    move |e| match e {
        Event::AuthStart {
            mechanism,
            initial_response: None,
            ..
        } if mechanism == "CRAM-MD5" => Decision::AuthChallenge(challenge.as_bytes().to_vec()),
        Event::AuthStart { .. } => Decision::Reply(
            ehlo::sasl::SaslError::UnexpectedInitialResponse("CRAM-MD5")
                .reply()
                .to_reply(),
        ),
        Event::AuthResponse { data, .. } => {
            let text = String::from_utf8(data.clone()).unwrap();
            let (user, digest) = text.split_once(' ').unwrap();
            if check(user, digest, challenge) {
                Decision::AuthSuccess {
                    identity: user.into(),
                }
            } else {
                Decision::AuthFailure
            }
        }
        _ => Decision::Default,
    }
}

#[test]
fn rfc4954_cram_md5_server() {
    for mode in MODES {
        let r = run_lines(
            server_config("smtp.example.com", &["CRAM-MD5", "DIGEST-MD5"], mode),
            b"EHLO jgm.example.com\r\nAUTH FOOBAR\r\nAUTH CRAM-MD5\r\n\
              cmpzMyBlYzNhNTlmZWQzOTVhYmExZWM2MzY3YzRmNGI0MWFjMA==\r\n\
              AUTH CRAM-MD5 cmpzMw==\r\n",
            cram_server(
                "<4192942341.12828472@sourcefour.andrew.cmu.edu>",
                |u, d, _| u == "rjs3" && d == "ec3a59fed395aba1ec6367c4f4b41ac0",
            ),
        );
        assert!(ehlo_reply(&r).contains("250-AUTH CRAM-MD5 DIGEST-MD5\r\n"));
        assert_eq!(
            after_ehlo(&r),
            format!(
                "504 5.5.4 Unrecognized authentication type\r\n\
                 334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n{OK_235}\
                 503 5.5.1 Already authenticated\r\n"
            ),
            "{mode:?}"
        );
    }
}

/// RFC 4954 section 6: success is `235`. A caller's own `2xx` reply to AUTH other than
/// `235` (a `250`, say) is success with the standard `235 2.7.0`; a `235` of the caller's
/// goes out as given.
#[test]
fn a_2xx_reply_to_auth_goes_out_as_235() {
    for (reply, wire) in [
        (
            Reply::new(250, None, "fine"),
            "235 2.7.0 Authentication successful\r\n",
        ),
        (
            Reply::new(235, Some(ehlo::EnhancedCode::new(2, 7, 0)), "Welcome"),
            "235 2.7.0 Welcome\r\n",
        ),
    ] {
        let mut reply = Some(reply);
        let r = run_lines(
            server_config("mx.example.test", &["CRAM-MD5"], Mode::Caller),
            b"EHLO c\r\nAUTH CRAM-MD5\r\ndGltIDEyMw==\r\nAUTH CRAM-MD5\r\n",
            |e| match e {
                Event::AuthStart { .. } => Decision::AuthChallenge(b"<1.2@mx>".to_vec()),
                Event::AuthResponse { .. } => Decision::Reply(reply.take().unwrap()),
                _ => Decision::Default,
            },
        );
        assert_eq!(
            after_ehlo(&r),
            format!("334 PDEuMkBteD4=\r\n{wire}503 5.5.1 Already authenticated\r\n")
        );
    }
}

/// RFC 4954 section 4: "If the client uses an initial-response argument to the AUTH
/// command with a SASL mechanism in which the client does not begin the authentication
/// exchange, the server MUST reject the AUTH command with a 501 reply" (enhanced code
/// 5.7.0). CRAM-MD5 is server-first (RFC 2195 section 2); the machine knows it and refuses
/// in both modes, whatever the caller would have decided, without an `AuthStart`.
#[test]
fn cram_md5_initial_response_is_refused_with_501_5_7_0() {
    for mode in MODES {
        let mut config = server_config("mx.example.test", &["CRAM-MD5"], mode);
        config.exchange.exps_mechanisms = vec![Mechanism::new("CRAM-MD5")];
        let r = run_lines(
            config,
            b"EHLO c\r\nAUTH CRAM-MD5 dGlt\r\nAUTH cram-md5 =\r\nX-EXPS CRAM-MD5 dGlt\r\n\
              AUTH CRAM-MD5\r\n*\r\n",
            // A caller that would accept anything.
            |e| match e {
                Event::AuthStart {
                    initial_response: None,
                    ..
                } => Decision::AuthChallenge(b"<1.2@mx.example.test>".to_vec()),
                e if e.is_auth_step() => Decision::AuthSuccess {
                    identity: "x".into(),
                },
                _ => Decision::Default,
            },
        );
        let refused = "501 5.7.0 Initial response not allowed for this mechanism\r\n";
        assert_eq!(
            after_ehlo(&r),
            format!(
                "{refused}{refused}{refused}334 PDEuMkBteC5leGFtcGxlLnRlc3Q+\r\n\
                 501 5.0.0 Authentication cancelled\r\n"
            ),
            "{mode:?}"
        );
        assert!(
            !r.events.iter().any(|e| matches!(
                e,
                Event::AuthStart {
                    initial_response: Some(_),
                    ..
                }
            )),
            "{mode:?}"
        );
    }
}

#[test]
fn rfc2195_cram_md5_both_sides() {
    const CHALLENGE: &str = "<1896.697170952@postoffice.reston.mci.net>";
    const LINE: &str = "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw";
    for mode in MODES {
        let check = |u: &str, d: &str, c: &str| {
            u == "tim" && cram_md5::verify("tanstaaftanstaaf", c.as_bytes(), d)
        };
        let r = run_lines(
            server_config("postoffice.reston.mci.net", &["CRAM-MD5"], mode),
            format!("EHLO c\r\nAUTH CRAM-MD5\r\n{LINE}\r\nAUTH CRAM-MD5\r\n").as_bytes(),
            cram_server(CHALLENGE, check),
        );
        assert_eq!(
            after_ehlo(&r),
            format!(
                "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n{OK_235}\
                 503 5.5.1 Already authenticated\r\n"
            ),
            "{mode:?}"
        );
        // The wrong secret: 535 5.7.8.
        let r = run_lines(
            server_config("postoffice.reston.mci.net", &["CRAM-MD5"], mode),
            format!("EHLO c\r\nAUTH CRAM-MD5\r\n{LINE}\r\n").as_bytes(),
            cram_server(CHALLENGE, |u, d, c| {
                u == "tim" && cram_md5::verify("other", c.as_bytes(), d)
            }),
        );
        assert!(after_ehlo(&r).ends_with(FAIL_535));
    }
    // The client: CRAM-MD5 never exposes the secret, so it is fine without TLS, and it
    // is preferred over PLAIN and LOGIN.
    let mut c = ClientConfig::new("c");
    c.tls = TlsPolicy::Never;
    c.credentials = Some(ClientCreds::Password {
        authzid: None,
        username: "tim".into(),
        password: "tanstaaftanstaaf".into(),
    });
    c.allow_plaintext_auth = true;
    let mut t = T::new(c);
    t.server("220 postoffice.reston.mci.net\r\n");
    t.expect("EHLO c\r\n");
    t.server("250-postoffice.reston.mci.net\r\n250 AUTH LOGIN PLAIN CRAM-MD5\r\n");
    t.expect("AUTH CRAM-MD5\r\n");
    t.server("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
    t.expect(&format!("{LINE}\r\n"));
    t.server(OK_235);
    assert!(t.events().contains(&client::Event::Ready));
}

// ---- the server's AUTH rules, both modes ----

fn rules_server(mode: Mode) -> impl FnMut(&Event) -> Decision {
    let mut plain = plain_server(mode);
    move |e| match e {
        // GSSAPI: the back end is down.
        Event::AuthStart { mechanism, .. } | Event::AuthToken { mechanism, .. }
            if mechanism == "GSSAPI" =>
        {
            Decision::AuthTemporaryFailure
        }
        e => plain(e),
    }
}

#[test]
fn server_auth_rules() {
    let plain_ir = "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n";
    for mode in MODES {
        let mut config = server_config(
            "mx.example.test",
            &["PLAIN", "LOGIN", "NTLM", "GSSAPI"],
            mode,
        );
        config.auth.allow_plaintext_without_tls = false;
        config.auth.legacy_auth_line = true;
        config.extensions.starttls = true;
        let acts = [
            server_support::Act::Input(b"EHLO c\r\n"),
            // Before TLS: PLAIN and LOGIN are neither advertised nor accepted.
            server_support::Act::Input(plain_ir.as_bytes()),
            server_support::Act::Input(b"AUTH FOO\r\n"),
            server_support::Act::Input(b"STARTTLS\r\n"),
            server_support::Act::Tls,
            server_support::Act::Input(b"EHLO c\r\n"),
            server_support::Act::Input(b"AUTH GSSAPI =\r\n"),
            server_support::Act::Input(b"MAIL FROM:<a@example.test>\r\n"),
            server_support::Act::Input(plain_ir.as_bytes()),
            server_support::Act::Input(b"RSET\r\n"),
            server_support::Act::Input(b"AUTH PLAIN =\r\n"),
            server_support::Act::Input(plain_ir.as_bytes()),
            server_support::Act::Input(b"AUTH LOGIN\r\n"),
            server_support::Act::Input(
                b"MAIL FROM:<a@example.test> AUTH=test+2Bx@example.test\r\n",
            ),
        ];
        let r = server_support::run_acts(config.clone(), &acts, rules_server(mode));
        let text = r.text();
        let first_ehlo = "250-mx.example.test Hello c\r\n250-SIZE 10485760\r\n250-PIPELINING\r\n\
            250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-AUTH NTLM GSSAPI\r\n\
            250-8BITMIME\r\n250-BINARYMIME\r\n250 CHUNKING\r\n";
        let second_ehlo = "250-mx.example.test Hello c\r\n250-SIZE 10485760\r\n250-PIPELINING\r\n\
            250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN NTLM GSSAPI\r\n\
            250-AUTH=LOGIN\r\n250-8BITMIME\r\n250-BINARYMIME\r\n250 CHUNKING\r\n";
        let malformed_empty_plain = match mode {
            // The caller's back end gets the empty response and says no.
            Mode::Caller => FAIL_535,
            // The built-in PLAIN refuses an empty message as malformed.
            Mode::Builtin => "501 5.5.2 Malformed authentication data\r\n",
        };
        assert_eq!(
            text,
            format!(
                "220 mx.example.test ESMTP ready\r\n{first_ehlo}\
                 538 5.7.11 Encryption required for requested authentication mechanism\r\n\
                 504 5.5.4 Unrecognized authentication type\r\n\
                 220 2.0.0 Ready to start TLS\r\n{second_ehlo}\
                 454 4.7.0 Temporary authentication failure\r\n\
                 250 2.1.0 Sender OK\r\n\
                 503 5.5.1 AUTH not allowed during a mail transaction\r\n\
                 250 2.0.0 OK\r\n\
                 {malformed_empty_plain}\
                 {OK_235}\
                 503 5.5.1 Already authenticated\r\n\
                 250 2.1.0 Sender OK\r\n"
            ),
            "{mode:?}"
        );
        // MAIL's AUTH= reaches the caller as sent (RFC 4954 section 5).
        let auth_param = r.events.iter().rev().find_map(|e| match e {
            Event::MailFrom { params, .. } => Some(params.auth.clone()),
            _ => None,
        });
        let auth_param = auth_param.flatten().expect("AUTH= parameter");
        assert_eq!(auth_param.as_str(), "test+2Bx@example.test");
        assert_eq!(
            auth_param.decode().unwrap().as_ref(),
            b"test+x@example.test"
        );

        // require_tls: no AUTH before TLS at all, 538 5.7.11 for every mechanism.
        config.auth.require_tls = true;
        let r = run_lines(
            config,
            b"EHLO c\r\nAUTH NTLM\r\nMAIL FROM:<a@b> AUTH=<>\r\n",
            rules_server(mode),
        );
        let text = r.text();
        assert!(!text.contains("AUTH"), "{text}");
        assert!(
            text.ends_with(
                "538 5.7.11 Encryption required for requested authentication mechanism\r\n\
             555 5.5.4 Parameter not recognized or not implemented\r\n"
            ),
            "{text}"
        );
    }
}

// ---- X-EXPS: the same exchange under the Exchange verb ----

fn exps_config(mode: Mode) -> ServerConfig {
    let mut c = server_config("exch-cli-66", &["NTLM"], mode);
    c.exchange.exps_mechanisms = ["GSSAPI", "NTLM", "LOGIN"]
        .iter()
        .map(|m| Mechanism::new(m))
        .collect();
    c.exchange.exps_legacy_line = true;
    c
}

#[test]
fn x_exps_server() {
    for mode in MODES {
        let input = format!(
            "EHLO test.com\r\nX-EXPS NTLM\r\n{NTLM_NEGOTIATE}\r\n{NTLM_AUTHENTICATE_4_1}\r\n\
             X-EXPS LOGIN\r\nAUTH NTLM\r\n*\r\n"
        );
        let mut inner = ntlm_server(
            mode,
            NTLM_CHALLENGE_4_1,
            NTLM_AUTHENTICATE_4_1,
            Decision::AuthSuccess {
                identity: "EXCH-CLI-66$".into(),
            },
        );
        let mut verbs = Vec::new();
        let r = run_lines(exps_config(mode), input.as_bytes(), |e| {
            match e {
                Event::AuthStart { verb, .. }
                | Event::AuthResponse { verb, .. }
                | Event::AuthToken { verb, .. }
                | Event::AuthAborted { verb, .. } => verbs.push(*verb),
                _ => {}
            }
            inner(e)
        });
        let ehlo = ehlo_reply(&r);
        // Its own keyword and mechanisms, the legacy line as Exchange sends it.
        assert!(
            ehlo.contains("250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM LOGIN\r\n250-X-EXPS=LOGIN\r\n"),
            "{ehlo}"
        );
        assert_eq!(
            after_ehlo(&r),
            format!(
                "334 ntlm supported\r\n334 {NTLM_CHALLENGE_4_1}\r\n{OK_235}\
                 503 5.5.1 Already authenticated\r\n\
                 503 5.5.1 Already authenticated\r\n\
                 500 5.5.2 Syntax error, command unrecognized\r\n"
            ),
            "{mode:?}"
        );
        // One identity per session (RFC 4954 section 4; X-EXPS is AUTH under Exchange's
        // verb, KB 812455): after the X-EXPS success AUTH is refused like a second X-EXPS,
        // without an exchange reaching the caller.
        assert!(!verbs.is_empty(), "{verbs:?}");
        assert!(verbs.iter().all(|v| *v == AuthVerb::XExps), "{verbs:?}");

        // LOGIN under X-EXPS, built-in or caller-driven ([MS-XLOGIN] bytes).
        let r = run_lines(
            exps_config(mode),
            b"EHLO c\r\nX-EXPS LOGIN\r\nQ2hhcmxpZQ==\r\ncGFzc3dvcmQ=\r\n",
            xlogin_server(mode, true),
        );
        assert_eq!(
            after_ehlo(&r),
            format!("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n{OK_235}"),
            "{mode:?}"
        );
        assert!(r.events.iter().any(|e| matches!(
            e,
            Event::AuthStart {
                verb: AuthVerb::XExps,
                ..
            } | Event::AuthVerify {
                verb: AuthVerb::XExps,
                ..
            }
        )));
    }
    // The session state: identities kept apart.
    let mut s = ehlo::server::Server::new(exps_config(Mode::Caller), std::time::Instant::now());
    s.receive(std::time::Instant::now(), b"EHLO c\r\nX-EXPS NTLM =\r\n");
    while let Some(e) = s.poll_event() {
        if e.needs_decision() {
            s.decide(match e {
                Event::AuthStart { .. } => Decision::AuthSuccess {
                    identity: "EXCH$".into(),
                },
                _ => Decision::Default,
            });
        }
    }
    assert_eq!(s.exps_authenticated(), Some("EXCH$"));
    assert_eq!(s.authenticated(), None);
}

#[test]
fn x_exps_client() {
    let mut c = ClientConfig::new("test.com");
    c.credentials = Some(ClientCreds::External {
        mechanisms: vec!["NTLM".into()],
    });
    c.auth_verb = client::AuthVerb::XExps;
    let mut t = T::new(c);
    t.server("220 exch-cli-66\r\n");
    t.expect("EHLO test.com\r\n");
    t.server("250-exch-cli-66 Hello [127.0.0.1]\r\n250-AUTH NTLM\r\n250-X-EXPS GSSAPI NTLM\r\n250 OK\r\n");
    let c = challenge(&mut t);
    assert_eq!(c.verb, client::AuthVerb::XExps);
    t.c.auth_respond(AuthResponse::NoInitialResponse).unwrap();
    t.expect("X-EXPS NTLM\r\n");
    t.server("334 ntlm supported\r\n");
    challenge(&mut t);
    t.c.auth_respond(AuthResponse::Data(d64(NTLM_NEGOTIATE)))
        .unwrap();
    t.expect(&format!("{NTLM_NEGOTIATE}\r\n"));
    t.server(&format!("334 {NTLM_CHALLENGE_4_1}\r\n"));
    assert_eq!(challenge(&mut t).data, Some(d64(NTLM_CHALLENGE_4_1)));
    t.c.auth_respond(AuthResponse::Data(d64(NTLM_AUTHENTICATE_4_1)))
        .unwrap();
    t.expect(&format!("{NTLM_AUTHENTICATE_4_1}\r\n"));
    t.server(OK_235);
    assert!(t.events().contains(&client::Event::Ready));
}

// ---- secrets never in `Debug` ----

/// Whether `dbg` (a `{:?}` rendering) shows `secret`, as text or as the decimal octet list
/// `Debug` prints for a `Vec<u8>`.
fn shows(dbg: &str, secret: &[u8]) -> bool {
    let list = secret
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    dbg.contains(&list) || dbg.contains(&*String::from_utf8_lossy(secret))
}

/// The AUTH events carry what the client sent, decoded: a PLAIN message or a LOGIN
/// password (caller-driven `AuthStart` / `AuthResponse`), an NTLM AUTHENTICATE_MESSAGE or a
/// Kerberos ticket (`AuthToken`). Their `Debug` shows the length, never the octets, as
/// `AuthVerify`'s credentials already do: an event logged with `{:?}` must not leak them.
#[test]
fn auth_events_never_show_the_client_data_in_debug() {
    let secret = b"test\0test\x001234";
    let token = b"kerberos-ticket-1234";
    let mut events = Vec::new();
    for (mode, mechanisms, lines) in [
        (
            Mode::Caller,
            &["PLAIN"][..],
            &b"EHLO c\r\nAUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=\r\n"[..],
        ),
        (
            Mode::Caller,
            &["PLAIN"],
            b"EHLO c\r\nAUTH PLAIN\r\ndGVzdAB0ZXN0ADEyMzQ=\r\n",
        ),
        (
            Mode::Builtin,
            &["GSSAPI"],
            b"EHLO c\r\nAUTH GSSAPI a2VyYmVyb3MtdGlja2V0LTEyMzQ=\r\n",
        ),
    ] {
        let r = run_lines(server_config("h", mechanisms, mode), lines, |e| match e {
            Event::AuthStart {
                initial_response: None,
                ..
            } => Decision::AuthChallenge(Vec::new()),
            _ => Decision::Default,
        });
        events.extend(r.events);
    }
    let kinds: Vec<_> = events.iter().map(server_support::kind).collect();
    for k in ["AuthStart", "AuthResponse", "AuthToken"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    for e in &events {
        let dbg = format!("{e:?}");
        assert!(!shows(&dbg, secret) && !shows(&dbg, token), "{dbg}");
        match e {
            Event::AuthStart {
                initial_response: Some(_),
                ..
            } => assert!(dbg.contains("initial_response: Some(<14 octets>)"), "{dbg}"),
            Event::AuthResponse { .. } => assert!(dbg.contains("data: <14 octets>"), "{dbg}"),
            Event::AuthToken { .. } => assert!(dbg.contains("data: <20 octets>"), "{dbg}"),
            _ => {}
        }
    }
}

/// The client side: the caller's answers ([`AuthResponse::Data`], for a mechanism it
/// drives, such as a PLAIN message) and one the client holds back for the first `334`
/// never show in `Debug`.
#[test]
fn client_auth_answers_never_show_in_debug() {
    let secret = b"\0tim\0tanstaafl".to_vec();
    let dbg = format!("{:?}", AuthResponse::Data(secret.clone()));
    assert!(!shows(&dbg, &secret), "{dbg}");
    assert_eq!(dbg, "Data(<14 octets>)");
    let mut c = ClientConfig::new("test.com");
    c.credentials = Some(ClientCreds::External {
        mechanisms: vec!["X-SECRET".into()],
    });
    // Without SASL-IR the initial response waits for the server's empty challenge.
    c.sasl_initial_response = false;
    let mut t = T::new(c);
    t.server("220 mx ESMTP\r\n");
    t.expect("EHLO test.com\r\n");
    t.server("250-mx\r\n250 AUTH X-SECRET\r\n");
    t.expect("");
    challenge(&mut t);
    t.c.auth_respond(AuthResponse::Data(secret.clone()))
        .unwrap();
    t.expect("AUTH X-SECRET\r\n");
    let dbg = format!("{:?}", t.c);
    assert!(!shows(&dbg, &secret), "{dbg}");
    t.server("334 \r\n");
    t.expect("AHRpbQB0YW5zdGFhZmw=\r\n");
}

/// The machines' own `Debug` shows their state, never the bytes they hold: unread input
/// on the server and unsent output on the client may be an AUTH line with a password in
/// BASE64, or message content.
#[test]
fn machines_never_show_their_buffers_in_debug() {
    let b64 = "dGVzdAB0ZXN0ADEyMzQ="; // "\0test\01234" with authzid "test"
    let now = std::time::Instant::now();
    let mut server = ehlo::server::Server::new(server_config("h", &["PLAIN"], Mode::Caller), now);
    server.receive(
        now,
        format!("EHLO c\r\nAUTH PLAIN {b64}\r\nMAIL FROM:<a@b.test>\r\n").as_bytes(),
    );
    let dbg = format!("{server:?}");
    assert!(!dbg.contains(b64) && !dbg.contains("1234"), "{dbg}");
    assert!(
        dbg.contains("input_len") && !dbg.contains("input_len: 0"),
        "{dbg}"
    );

    let mut c = ClientConfig::new("test.com");
    c.credentials = Some(ClientCreds::Password {
        authzid: None,
        username: "tim".into(),
        password: "tanstaafl".into(),
    });
    c.tls = ehlo::client::TlsPolicy::Never;
    c.allow_plaintext_auth = true;
    let mut t = T::new(c);
    t.server("220 mx ESMTP\r\n");
    t.expect("EHLO test.com\r\n");
    t.server("250-mx\r\n250 AUTH PLAIN\r\n");
    // The AUTH line waits in the client's output.
    let dbg = format!("{:?}", t.c);
    let line = base64::engine::general_purpose::STANDARD.encode(b"\0tim\0tanstaafl");
    assert!(!dbg.contains(&line) && !dbg.contains("tanstaafl"), "{dbg}");
    assert!(
        dbg.contains("output_len") && !dbg.contains("output_len: 0"),
        "{dbg}"
    );
    t.expect(&format!("AUTH PLAIN {line}\r\n"));
}
