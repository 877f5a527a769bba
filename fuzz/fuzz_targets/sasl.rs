#![no_main]
//! SASL: arbitrary bytes through the continuation-line parser, the BASE64 rules and both
//! step drivers ([`ServerExchange`] with client lines, [`ClientExchange`] with server
//! challenges).
//!
//! Layout of the fuzz input: byte 0 picks the mechanism (low 3 bits) and whether the
//! first line is an initial response (bit 3) / the client sends one (bit 4); the rest is
//! split at `\n` into lines (a trailing `\r` is stripped as the machine would).
//!
//! Checks: no panic; every server-side error maps to a 4xx/5xx reply and ends the
//! exchange; every line either side would write is a single line (no CR or LF) within
//! the SASL line limit (an `AUTH` command within 512 octets); strict BASE64 round-trips.
use ehlo::limits::{MAX_COMMAND_LINE, MAX_SASL_LINE};
use ehlo::sasl::cram_md5::CramMd5Challenge;
use ehlo::sasl::oauth::OAuthError;
use ehlo::sasl::{
    b64, ClientCredentials, ClientExchange, ClientStep, Mechanism, SaslError, ServerExchange,
    ServerStep,
};
use ehlo::syntax::command::{parse_sasl_response, SaslResponse};
use libfuzzer_sys::fuzz_target;

const NTLM_NEGOTIATE: &[u8] = b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2";
const NTLM_CHALLENGE: &[u8] = b"NTLMSSP\0\x02\0\0\0\0\0\0\0\x38\0\0\0";
const NTLM_AUTHENTICATE: &[u8] = b"NTLMSSP\0\x03\0\0\0\0\0\0\0";

fn mechanism(sel: u8) -> Mechanism {
    match sel & 7 {
        0 => Mechanism::Plain,
        1 => Mechanism::Login,
        2 => Mechanism::CramMd5,
        3 => Mechanism::XOAuth2,
        4 => Mechanism::OAuthBearer,
        5 => Mechanism::Ntlm,
        6 => Mechanism::Gssapi,
        _ => Mechanism::Other("X-FUZZ".into()),
    }
}

fn check_line(text: &str) {
    assert!(!text.contains(['\r', '\n']), "{text:?}");
    assert!(text.len() + 2 <= MAX_SASL_LINE);
}

fn check_server_error(ex: &ServerExchange, e: &SaslError) {
    let reply = e.reply();
    assert!((400..600).contains(&reply.code), "{e:?}");
    assert!(reply.line().ends_with("\r\n"));
    assert!(
        !ex.expects_client_line(),
        "an error must end the exchange: {e:?}"
    );
}

fn check_server_step(ex: &mut ServerExchange, step: &ServerStep) {
    match step {
        ServerStep::Challenge(text) => {
            check_line(text);
            let line = step.challenge_line().expect("challenge line");
            assert_eq!(line, format!("334 {text}\r\n"));
        }
        ServerStep::Verify(creds) => {
            assert_eq!(creds.mechanism(), *ex.mechanism());
            let _ = (creds.username(), format!("{creds:?}"));
            if matches!(ex.mechanism(), Mechanism::XOAuth2 | Mechanism::OAuthBearer) {
                let err = OAuthError::new("invalid_token");
                if let Ok(ServerStep::Challenge(text)) = ex.oauth_error(&err) {
                    check_line(&text);
                }
            }
        }
        ServerStep::Token { data, .. } => {
            let token: &[u8] = if data.len() % 2 == 0 {
                NTLM_CHALLENGE
            } else {
                data
            };
            if let Ok(ServerStep::Challenge(text)) = ex.send_token(token) {
                check_line(&text);
            }
        }
    }
}

fn server(mech: &Mechanism, ir: Option<&[u8]>, lines: &[&[u8]]) {
    let started = if *mech == Mechanism::CramMd5 {
        let challenge = CramMd5Challenge::new("12345", 1, "mx.example.test").expect("challenge");
        ServerExchange::start_cram_md5(challenge, ir)
    } else {
        ServerExchange::start(mech, ir)
    };
    let Ok((mut ex, step)) = started else {
        return;
    };
    check_server_step(&mut ex, &step);
    for line in lines {
        let parsed = parse_sasl_response(line);
        let result = match &parsed {
            Ok(r) => {
                // The parsed form and the raw form agree on what the line means.
                let mut twin = ex.clone();
                let raw = match r {
                    SaslResponse::Cancel => twin.step(b"*"),
                    SaslResponse::Base64(s) => twin.step(s.as_bytes()),
                };
                let got = ex.step_parsed(r);
                assert_eq!(got, raw);
                got
            }
            Err(_) => ex.step(line),
        };
        match result {
            Ok(step) => check_server_step(&mut ex, &step),
            Err(e) => {
                check_server_error(&ex, &e);
                assert!(ex.step(b"").is_err());
                return;
            }
        }
    }
}

fn client(mech: Mechanism, sasl_ir: bool, lines: &[&[u8]]) {
    let creds = match mech {
        Mechanism::XOAuth2 | Mechanism::OAuthBearer => ClientCredentials::OAuth {
            user: "user@example.test".into(),
            token: "ya29.token".into(),
            host: Some("mx.example.test".into()),
            port: Some(587),
        },
        Mechanism::Ntlm => ClientCredentials::External {
            initial_token: sasl_ir.then(|| NTLM_NEGOTIATE.to_vec()),
        },
        Mechanism::Gssapi => ClientCredentials::External {
            initial_token: None,
        },
        _ => ClientCredentials::Password {
            authzid: None,
            username: "tim".into(),
            password: "tanstaafl".into(),
        },
    };
    let Ok(mut ex) = ClientExchange::new(mech, creds) else {
        return;
    };
    let Ok(start) = ex.start(sasl_ir) else {
        return;
    };
    assert!(start.command_line("X-EXPS").len() <= MAX_COMMAND_LINE);
    let mut tokens = 0u8;
    for text in lines {
        match ex.challenge(text) {
            Ok(ClientStep::Send(line)) => check_line(&line),
            Ok(ClientStep::OAuthError { line, .. }) => check_line(&line),
            Ok(ClientStep::NeedToken { .. }) => {
                tokens = tokens.wrapping_add(1);
                let token = if tokens == 1 {
                    NTLM_NEGOTIATE
                } else {
                    NTLM_AUTHENTICATE
                };
                if let Ok(line) = ex.supply_token(token) {
                    check_line(&line);
                }
            }
            Err(_) => return,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let lines: Vec<&[u8]> = rest
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();

    // BASE64 rules: strict decoding is canonical.
    for line in &lines {
        if let Ok(v) = b64::decode(line) {
            assert_eq!(b64::encode(&v).as_bytes(), *line);
        }
        if let Ok(SaslResponse::Base64(s)) = parse_sasl_response(line) {
            assert!(s.len() + 2 <= MAX_SASL_LINE);
        }
    }

    let mech = mechanism(head);
    let (ir, rest) = match (head & 8 != 0, lines.split_first()) {
        (true, Some((first, rest))) => (Some(*first), rest),
        _ => (None, &lines[..]),
    };
    server(&mech, ir, rest);
    client(mech, head & 16 != 0, &lines);
});
