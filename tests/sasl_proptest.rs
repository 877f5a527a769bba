//! Property tests for the SASL helpers: parsers never panic on arbitrary bytes, and
//! build -> parse round-trips (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER, CRAM-MD5), including
//! a full client-driver -> server-driver exchange.

use ehlo::bytes::BytesMut;
use ehlo::sasl::cram_md5::{self, CramMd5Challenge};
use ehlo::sasl::gssapi::{self, SecurityOffer, SecuritySelection};
use ehlo::sasl::md5::{md5, Md5};
use ehlo::sasl::oauth::OAuthError;
use ehlo::sasl::oauthbearer::OAuthBearerMessage;
use ehlo::sasl::plain::PlainMessage;
use ehlo::sasl::xoauth2::XOAuth2Message;
use ehlo::sasl::{
    b64, login, ntlm, ClientCredentials, ClientExchange, ClientStep, Credentials, Mechanism,
    ServerExchange, ServerStep,
};
use ehlo::syntax::command::{parse_command, parse_sasl_response, Command};
use ehlo::syntax::reply::ReplyParser;
use ehlo::syntax::ParseOptions;
use proptest::prelude::*;

/// Strings of any Unicode without NUL, non-empty.
fn safe_string() -> impl Strategy<Value = String> {
    "[^\u{0}]{1,40}"
}

/// Strings without control characters, non-empty.
fn no_ctl_string() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{1,40}"
}

/// Bearer tokens: visible ASCII.
fn token() -> impl Strategy<Value = String> {
    "[!-~]{1,80}"
}

fn arb_mechanism() -> impl Strategy<Value = Mechanism> {
    prop_oneof![
        Just(Mechanism::Plain),
        Just(Mechanism::Login),
        Just(Mechanism::XOAuth2),
        Just(Mechanism::OAuthBearer),
        Just(Mechanism::Ntlm),
        Just(Mechanism::Gssapi),
    ]
}

/// Either arbitrary bytes or arbitrary bytes that are valid BASE64 (so the mechanism
/// parsers behind the BASE64 layer get exercised too).
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| b64::encode(&b).into_bytes()),
        Just(b"*".to_vec()),
    ]
}

proptest! {
    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = PlainMessage::parse(&data);
        let _ = login::parse_field(&data);
        let _ = login::prompt_kind(&data);
        let _ = cram_md5::parse_response(&data);
        let _ = XOAuth2Message::parse(&data);
        let _ = OAuthBearerMessage::parse(&data);
        let _ = OAuthError::parse(&data);
        let _ = ntlm::message_type(&data);
        let _ = SecurityOffer::parse(&data);
        let _ = SecuritySelection::parse(&data);
        let _ = b64::decode(&data);
        let _ = b64::decode_initial_response(&data);
        let _ = b64::decode_client_response(&data);
        let _ = Mechanism::from_bytes(&data);
        if let Ok(s) = std::str::from_utf8(&data) {
            let _ = CramMd5Challenge::from_string(s.to_owned());
        }
    }

    #[test]
    fn server_driver_never_panics(
        mech in arb_mechanism(),
        ir in proptest::option::of(line()),
        lines in proptest::collection::vec(line(), 0..5),
        token in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        if let Ok((mut ex, _)) = ServerExchange::start(&mech, ir.as_deref()) {
            for l in &lines {
                if ex.step(l).is_err() {
                    break;
                }
                let _ = ex.send_token(&token);
                let _ = ex.oauth_error(&OAuthError::new("invalid_token"));
            }
        }
        let c = CramMd5Challenge::new("1", 2, "h").unwrap();
        if let Ok((mut ex, _)) = ServerExchange::start_cram_md5(c, ir.as_deref()) {
            for l in &lines {
                let _ = ex.step(l);
            }
        }
    }

    #[test]
    fn client_driver_never_panics(
        mech in arb_mechanism(),
        ir in any::<bool>(),
        challenges in proptest::collection::vec(line(), 0..5),
        token in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let creds = match mech {
            Mechanism::Plain | Mechanism::Login => ClientCredentials::Password {
                authzid: None, username: "u".into(), password: "p".into(),
            },
            Mechanism::XOAuth2 | Mechanism::OAuthBearer => ClientCredentials::OAuth {
                user: "u".into(), token: "t".into(), host: None, port: None,
            },
            _ => ClientCredentials::External { initial_token: None },
        };
        let mut ex = ClientExchange::new(mech, creds).unwrap();
        ex.start(ir).unwrap();
        for c in &challenges {
            let _ = ex.challenge(c);
            let _ = ex.supply_token(&token);
        }
    }

    #[test]
    fn plain_round_trip(z in proptest::option::of(safe_string()), c in safe_string(), p in safe_string()) {
        let m = PlainMessage::new(z.as_deref(), &c, &p).unwrap();
        let wire = b64::encode(&m.to_bytes());
        let back = PlainMessage::parse(&b64::decode(wire.as_bytes()).unwrap()).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn login_round_trip(u in "[^\u{0}\r\n]{1,40}") {
        login::check_field(&u).unwrap();
        let wire = b64::encode(u.as_bytes());
        prop_assert_eq!(login::parse_field(&b64::decode(wire.as_bytes()).unwrap()).unwrap(), u);
    }

    #[test]
    fn xoauth2_round_trip(u in no_ctl_string(), t in token()) {
        let m = XOAuth2Message::new(&u, &t).unwrap();
        prop_assert_eq!(XOAuth2Message::parse(&m.to_bytes()).unwrap(), m);
    }

    #[test]
    fn oauthbearer_round_trip(
        a in proptest::option::of(safe_string()),
        h in proptest::option::of("[!-~ ]{0,30}"),
        port in proptest::option::of(any::<u16>()),
        t in token(),
    ) {
        let mut m = OAuthBearerMessage::new(a.as_deref(), &t).unwrap();
        if let Some(h) = &h { m = m.with_host(h); }
        if let Some(p) = port { m = m.with_port(p); }
        prop_assert_eq!(m.host.as_deref(), h.as_deref());
        prop_assert_eq!(OAuthBearerMessage::parse(&m.to_bytes()).unwrap(), m);
    }

    #[test]
    fn oauth_error_round_trip(
        s in ".{0,30}",
        schemes in proptest::option::of(".{0,30}"),
        scope in proptest::option::of(".{0,30}"),
        openid in proptest::option::of(".{0,30}"),
    ) {
        let mut e = OAuthError::new(&s);
        e.schemes = schemes;
        e.scope = scope;
        e.openid_configuration = openid;
        prop_assert_eq!(OAuthError::parse(e.to_json().as_bytes()).unwrap(), e);
    }

    #[test]
    fn gssapi_security_layer_round_trip(
        layers in any::<u8>(),
        max_size in 0u32..=gssapi::MAX_SIZE_LIMIT,
        layer in prop::sample::select(vec![gssapi::LAYER_NONE, gssapi::LAYER_INTEGRITY, gssapi::LAYER_CONFIDENTIALITY]),
        // Empty is `None` on the wire (no octets after the size), so `Some("")` is not a
        // value the type holds (see `SecuritySelection::none`).
        authzid in proptest::option::of("[^\u{0}]{1,30}"),
    ) {
        let o = SecurityOffer { layers, max_size };
        prop_assert_eq!(SecurityOffer::parse(&o.to_bytes()).unwrap(), o);
        let sel = SecuritySelection { layer, max_size, authzid };
        prop_assert_eq!(SecuritySelection::parse(&sel.to_bytes()).unwrap(), sel);
    }

    #[test]
    fn mechanism_name_round_trip(name in "[A-Za-z0-9_-]{1,20}") {
        let m = Mechanism::parse(&name).unwrap();
        prop_assert!(m.as_str().eq_ignore_ascii_case(&name));
        prop_assert_eq!(Mechanism::parse(m.as_str()).unwrap(), m.clone());
        prop_assert_eq!(Mechanism::from_bytes(m.as_str().as_bytes()).unwrap(), m);
    }

    #[test]
    fn cram_md5_challenge_round_trip(
        // Visible ASCII without `<`, `>` and `@` (`CramMd5Challenge::new`).
        unique in "[!-;=?A-~]{1,20}",
        ts in any::<u64>(),
        host in "[!-;=?A-~]{1,40}",
    ) {
        let c = CramMd5Challenge::new(&unique, ts, &host).unwrap();
        prop_assert_eq!(c.as_str(), format!("<{unique}.{ts}@{host}>"));
        prop_assert_eq!(CramMd5Challenge::from_string(c.as_str().to_owned()).unwrap(), c);
    }

    /// The BASE64 framing of RFC 4954 section 4 through the syntax layer: an initial
    /// response in an `AUTH` command (`=` for an empty one), a client continuation line
    /// and a `334` challenge read by the reply parser all give back the octets.
    #[test]
    fn base64_framing_round_trip(data in proptest::collection::vec(any::<u8>(), 0..200), xexps in any::<bool>()) {
        let verb = if xexps { "X-EXPS" } else { "AUTH" };
        let line = format!("{verb} PLAIN {}\r\n", b64::encode_initial_response(&data));
        let cmd = parse_command(line.as_bytes(), &ParseOptions::default()).unwrap();
        let ir = match cmd {
            Command::Auth { initial_response: Some(ir), .. } if !xexps => ir,
            Command::XExps { initial_response: Some(ir), .. } if xexps => ir,
            other => panic!("{other:?}"),
        };
        prop_assert_eq!(b64::decode_initial(&ir).unwrap(), data.clone());
        prop_assert_eq!(b64::decode_initial_response(b64::encode_initial_response(&data).as_bytes()).unwrap(), data.clone());

        let line = format!("{}\r\n", b64::encode_client_response(&data));
        let r = parse_sasl_response(line.as_bytes()).unwrap();
        prop_assert_eq!(b64::decode_sasl_response(&r).unwrap(), data.clone());
        prop_assert_eq!(b64::decode_client_response(b64::encode_client_response(&data).as_bytes()).unwrap(), data.clone());

        let mut buf = BytesMut::from(b64::challenge_line(&data).as_bytes());
        let reply = ReplyParser::default().decode(&mut buf).unwrap().unwrap();
        prop_assert!(buf.is_empty());
        prop_assert_eq!(reply.code.0, 334);
        prop_assert_eq!(b64::decode_challenge(reply.text.as_bytes()).unwrap(), data.clone());
        prop_assert_eq!(b64::challenge_text(&data), reply.text.to_string());
    }

    #[test]
    fn cram_md5_round_trip(u in "[^\\p{Cc}]{1,30}", secret in ".{0,80}", unique in "[0-9a-z]{1,10}", ts in any::<u64>()) {
        let c = CramMd5Challenge::new(&unique, ts, "mx.example.test").unwrap();
        let r = cram_md5::response(&u, &secret, c.as_bytes());
        let (user, digest) = cram_md5::parse_response(r.as_bytes()).unwrap();
        prop_assert_eq!(user, u);
        prop_assert!(cram_md5::verify(&secret, c.as_bytes(), &digest));
    }

    #[test]
    fn md5_incremental(data in proptest::collection::vec(any::<u8>(), 0..300), split in any::<prop::sample::Index>()) {
        let at = split.index(data.len() + 1);
        let mut h = Md5::new();
        h.update(&data[..at]);
        h.update(&data[at..]);
        prop_assert_eq!(h.finalize(), md5(&data));
    }

    /// The client driver talking to the server driver delivers exactly the client's
    /// credentials, with and without initial responses.
    #[test]
    fn client_server_agree(
        kind in 0u8..5,
        ir in any::<bool>(),
        z in proptest::option::of(safe_string()),
        u in "[^\\p{Cc}]{1,30}",
        p in "[^\\p{Cc}]{1,30}",
        t in token(),
    ) {
        let (mech, creds) = match kind {
            0 => (Mechanism::Plain, ClientCredentials::Password { authzid: z.clone(), username: u.clone(), password: p.clone() }),
            1 => (Mechanism::Login, ClientCredentials::Password { authzid: None, username: u.clone(), password: p.clone() }),
            2 => (Mechanism::CramMd5, ClientCredentials::Password { authzid: None, username: u.clone(), password: p.clone() }),
            3 => (Mechanism::XOAuth2, ClientCredentials::OAuth { user: u.clone(), token: t.clone(), host: None, port: None }),
            _ => (Mechanism::OAuthBearer, ClientCredentials::OAuth { user: u.clone(), token: t.clone(), host: Some("mx".into()), port: Some(587) }),
        };
        let mut client = ClientExchange::new(mech.clone(), creds).unwrap();
        let start = client.start(ir).unwrap();
        let ir_bytes = start.initial_response.as_ref().map(|s| s.as_bytes().to_vec());
        let (mut server, mut step) = if mech == Mechanism::CramMd5 {
            ServerExchange::start_cram_md5(CramMd5Challenge::new("42", 7, "mx").unwrap(), ir_bytes.as_deref()).unwrap()
        } else {
            ServerExchange::start(&mech, ir_bytes.as_deref()).unwrap()
        };
        let mut rounds = 0;
        let creds = loop {
            rounds += 1;
            prop_assert!(rounds < 5);
            match step {
                ServerStep::Challenge(text) => {
                    let ClientStep::Send(line) = client.challenge(text.as_bytes()).unwrap() else {
                        panic!("client did not answer")
                    };
                    step = server.step(line.as_bytes()).unwrap();
                }
                ServerStep::Verify(c) => break c,
                ServerStep::Token { .. } => panic!("no tokens here"),
            }
        };
        match creds {
            Credentials::Plain { authzid, authcid, password } => {
                prop_assert_eq!(authzid, z.filter(|z| !z.is_empty()));
                prop_assert_eq!(authcid, u);
                prop_assert_eq!(password, p);
            }
            Credentials::Login { username, password } => {
                prop_assert_eq!(username, u);
                prop_assert_eq!(password, p);
            }
            Credentials::CramMd5 { username, digest_hex, challenge } => {
                prop_assert_eq!(username, u);
                prop_assert!(cram_md5::verify(&p, challenge.as_bytes(), &digest_hex));
            }
            Credentials::OAuth { user, token, .. } => {
                prop_assert_eq!(user.as_deref(), Some(u.as_str()));
                prop_assert_eq!(token, t);
            }
        }
    }
}
