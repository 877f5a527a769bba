//! The EHLO replies of `shared/spec/ehlo-fixtures.md`, parsed from raw CRLF bytes with
//! [`ReplyParser`] (in one piece and one byte at a time) and read with
//! [`Capabilities::from_reply`]; each must give exactly the listed capabilities and
//! serialize back to its canonical form.

#[path = "fixtures/ehlo.rs"]
mod fixtures;

use bytes::BytesMut;
use ehlo::syntax::capability::{Capabilities, Capability as C};
use ehlo::syntax::reply::{Reply, ReplyParser};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn other(keyword: &str) -> C {
    C::Other {
        keyword: keyword.into(),
        params: String::new(),
    }
}

/// The reply lines of a fixture (the shared constants start with a newline and may be
/// indented).
fn lines(fixture: &str) -> impl Iterator<Item = &str> {
    fixture.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// Parses the fixture (lines as in the spec) from CRLF bytes, whole and byte by byte.
fn parse(fixture: &str) -> (Reply, Capabilities) {
    let raw: String = lines(fixture).map(|l| format!("{l}\r\n")).collect();
    let mut parser = ReplyParser::default();
    let mut buf = BytesMut::from(raw.as_bytes());
    let whole = parser.decode(&mut buf).unwrap().expect("a complete reply");
    assert!(buf.is_empty() && !parser.in_progress());

    let mut parser = ReplyParser::default();
    let mut buf = BytesMut::new();
    let mut replies = Vec::new();
    for b in raw.bytes() {
        buf.extend_from_slice(&[b]);
        if let Some(r) = parser.decode(&mut buf).unwrap() {
            replies.push(r);
        }
    }
    assert_eq!(replies, std::slice::from_ref(&whole));
    assert_eq!(whole.code.0, 250);
    assert_eq!(whole.enhanced, None);
    let caps = Capabilities::from_reply(&whole);
    (whole, caps)
}

/// Checks the greeting and list, and that serializing gives the canonical spelling
/// (keywords upper-case, otherwise identical) which parses back to the same set.
fn check(fixture: &str, greeting: &str, list: Vec<C>) -> Capabilities {
    let (_, caps) = parse(fixture);
    assert_eq!(caps.greeting, greeting);
    assert_eq!(caps.list, list);
    let bytes = caps.to_reply().to_bytes();
    let canonical: String = lines(fixture)
        .enumerate()
        .map(|(i, l)| {
            let l = if i == 0 {
                l.to_string()
            } else {
                canonical_line(l)
            };
            format!("{l}\r\n")
        })
        .collect();
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), canonical);
    let (_, again) = parse(std::str::from_utf8(&bytes).unwrap());
    assert_eq!(again, caps);
    caps
}

/// The fixtures' only non-canonical spelling is Exchange 2003's lower-case `8bitmime`.
fn canonical_line(l: &str) -> String {
    l.replace("8bitmime", "8BITMIME")
}

#[test]
fn exchange_2003() {
    let caps = check(
        fixtures::EXCHANGE_2003,
        "mail.example.test Hello [192.0.2.10]",
        fixtures::exchange_2003_list(),
    );
    assert_eq!(caps.size(), Some(None));
    assert_eq!(caps.auth_mechanisms(), s(&["GSSAPI", "NTLM", "LOGIN"]));
    assert_eq!(caps.xexps_mechanisms(), s(&["GSSAPI", "NTLM", "LOGIN"]));
    assert!(caps.pipelining() && caps.chunking() && caps.binary_mime() && caps.eight_bit_mime());
    assert!(caps.x_link2state() && caps.xexch50() && !caps.starttls());
}

#[test]
fn exchange_2016_port_25() {
    let caps = check(
        fixtures::EXCHANGE_2016_25,
        "mail.example.test Hello [192.0.2.10]",
        fixtures::exchange_2016_25_list(),
    );
    assert_eq!(caps.size(), Some(Some(37748736)));
    assert_eq!(caps.auth_mechanisms(), s(&["NTLM"]));
    assert_eq!(caps.xexps_mechanisms(), s(&["GSSAPI", "NTLM"]));
    assert!(caps.starttls() && caps.x_anonymous_tls() && caps.enhanced_status_codes());
}

#[test]
fn exchange_2016_port_587() {
    let caps = check(
        fixtures::EXCHANGE_2016_587_TLS,
        "mail.example.test Hello [192.0.2.10]",
        vec![
            C::Size(Some(37748736)),
            C::Pipelining,
            C::Dsn,
            C::EnhancedStatusCodes,
            C::Auth(s(&["GSSAPI", "NTLM", "LOGIN"])),
            C::EightBitMime,
            C::BinaryMime,
            C::Chunking,
        ],
    );
    assert_eq!(caps.auth_mechanisms(), s(&["GSSAPI", "NTLM", "LOGIN"]));
    assert!(!caps.starttls());
}

#[test]
fn exchange_online_port_25() {
    let caps = check(
        fixtures::EXO_25,
        "XX0PR00MB0000.namprd00.prod.outlook.com Hello [192.0.2.10]",
        vec![
            C::Size(Some(157286400)),
            C::Pipelining,
            C::Dsn,
            C::EnhancedStatusCodes,
            C::StartTls,
            C::EightBitMime,
            C::BinaryMime,
            C::Chunking,
            C::SmtpUtf8,
        ],
    );
    assert!(caps.auth_mechanisms().is_empty() && caps.smtputf8());
}

#[test]
fn exchange_online_port_587() {
    let caps = check(
        fixtures::EXO_587_TLS,
        "XX0PR00MB0000.namprd00.prod.outlook.com Hello [192.0.2.10]",
        vec![
            C::Size(Some(157286400)),
            C::Pipelining,
            C::Dsn,
            C::EnhancedStatusCodes,
            C::Auth(s(&["LOGIN", "XOAUTH2"])),
            C::EightBitMime,
            C::BinaryMime,
            C::Chunking,
            C::SmtpUtf8,
        ],
    );
    assert_eq!(caps.auth_mechanisms(), s(&["LOGIN", "XOAUTH2"]));
}

#[test]
fn gmail_before_tls() {
    let caps = check(
        fixtures::GMAIL_PLAIN,
        "smtp.gmail.com at your service, [192.0.2.10]",
        vec![
            C::Size(Some(35882577)),
            C::EightBitMime,
            C::StartTls,
            C::EnhancedStatusCodes,
            C::Pipelining,
            C::Chunking,
            C::SmtpUtf8,
        ],
    );
    assert!(caps.starttls() && caps.auth_mechanisms().is_empty());
}

#[test]
fn gmail_after_tls() {
    let mechs = s(&[
        "LOGIN",
        "PLAIN",
        "XOAUTH2",
        "PLAIN-CLIENTTOKEN",
        "OAUTHBEARER",
        "XOAUTH",
    ]);
    let caps = check(
        fixtures::GMAIL_TLS,
        "smtp.gmail.com at your service, [192.0.2.10]",
        vec![
            C::Size(Some(35882577)),
            C::EightBitMime,
            C::Auth(mechs.clone()),
            C::EnhancedStatusCodes,
            C::Pipelining,
            C::Chunking,
            C::SmtpUtf8,
        ],
    );
    assert_eq!(caps.auth_mechanisms(), mechs);
    assert!(caps.supports_auth("oauthbearer") && !caps.starttls());
}

#[test]
fn postfix() {
    let caps = check(
        fixtures::POSTFIX,
        "mail.example.test",
        vec![
            C::Pipelining,
            C::Size(Some(10240000)),
            C::Vrfy,
            C::Etrn,
            C::StartTls,
            C::EnhancedStatusCodes,
            C::EightBitMime,
            C::Dsn,
            C::SmtpUtf8,
            C::Chunking,
        ],
    );
    assert_eq!(caps.size(), Some(Some(10240000)));
}

#[test]
fn exim() {
    let caps = check(
        fixtures::EXIM,
        "mail.example.test Hello client.example.test [192.0.2.10]",
        vec![
            C::Size(Some(52428800)),
            C::EightBitMime,
            C::Pipelining,
            other("PIPE_CONNECT"),
            C::Chunking,
            C::StartTls,
            other("PRDR"),
            C::Help,
        ],
    );
    assert!(caps.has_keyword("prdr") && caps.has_keyword("PIPE_CONNECT"));
}

#[test]
fn all_fixtures_pipelined_in_one_stream() {
    // Every fixture back to back, fed in 7-octet pieces, gives the same replies.
    let all = [
        fixtures::EXCHANGE_2003,
        fixtures::EXCHANGE_2016_25,
        fixtures::EXCHANGE_2016_587_TLS,
        fixtures::EXO_25,
        fixtures::EXO_587_TLS,
        fixtures::GMAIL_PLAIN,
        fixtures::GMAIL_TLS,
        fixtures::POSTFIX,
        fixtures::EXIM,
    ];
    let raw: String = all
        .iter()
        .flat_map(|f| lines(f))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let mut parser = ReplyParser::default();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for chunk in raw.as_bytes().chunks(7) {
        buf.extend_from_slice(chunk);
        while let Some(r) = parser.decode(&mut buf).unwrap() {
            got.push(r);
        }
    }
    let expected: Vec<Reply> = all.iter().map(|f| parse(f).0).collect();
    assert_eq!(got, expected);
}
