//! Property tests for the command, path and parameter syntax:
//! * `parse(encode(x)) == x` for generated values of every type, in strict and lenient mode;
//! * `encode(parse(b))` is canonical: re-encoding a reparsed line gives the same bytes, and
//!   non-canonical spellings (verb and keyword case, extra blanks) encode to the canonical form;
//! * no parser panics on arbitrary input, and whatever parses round-trips.

use ehlo::syntax::command::{
    parse_command, parse_sasl_response, Command, ExchangeVerb, InitialResponse, SaslResponse,
};
use ehlo::syntax::param::{
    Body, DeliverBy, DeliverByMode, ExchangeMailParams, ExchangeRcptParams, Hold, MailParams,
    Notify, Orcpt, Param, RcptParams, Ret,
};
use ehlo::syntax::path::{
    AddressLiteral, Domain, ForwardPath, Host, LocalPart, Mailbox, ReversePath,
};
use ehlo::syntax::xtext::XText;
use ehlo::syntax::{Leniency, ParseOptions};
use proptest::prelude::*;
use proptest::{collection::vec, option};
use std::borrow::Cow;

fn strict() -> ParseOptions {
    ParseOptions {
        leniency: Leniency::Strict,
        ..ParseOptions::default()
    }
}
fn lenient() -> ParseOptions {
    ParseOptions::default()
}
fn utf8() -> ParseOptions {
    ParseOptions {
        utf8: true,
        ..ParseOptions::default()
    }
}

fn s(x: String) -> Cow<'static, str> {
    Cow::Owned(x)
}

// ---------- paths ----------

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
}

fn domain() -> impl Strategy<Value = Domain<'static>> {
    vec(label(), 1..4).prop_map(|l| Domain(s(l.join("."))))
}

fn utf8_domain() -> impl Strategy<Value = Domain<'static>> {
    vec("[a-zäöüé0-9]{1,8}", 1..3).prop_map(|l| Domain(s(l.join("."))))
}

fn literal() -> impl Strategy<Value = AddressLiteral<'static>> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| AddressLiteral::Ipv4(o.into())),
        any::<[u16; 8]>().prop_map(|o| AddressLiteral::Ipv6(o.into())),
        ("[xX]-[a-z0-9]{1,6}", "[!-Z^-~]{1,12}").prop_map(|(tag, content)| {
            AddressLiteral::General {
                tag: s(tag),
                content: s(content),
            }
        }),
    ]
}

fn host() -> impl Strategy<Value = Host<'static>> {
    prop_oneof![4 => domain().prop_map(Host::Domain), 1 => literal().prop_map(Host::Literal)]
}

fn local_part() -> impl Strategy<Value = LocalPart<'static>> {
    prop_oneof![
        3 => vec("[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}", 1..4)
            .prop_map(|a| LocalPart::DotString(s(a.join(".")))),
        1 => vec(prop_oneof!["[ !#-\\[\\]-~]", "\\\\[ -~]"], 0..12)
            .prop_map(|q| LocalPart::Quoted(s(q.concat()))),
    ]
}

fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    (local_part(), host()).prop_map(|(local_part, host)| Mailbox { local_part, host })
}

fn reverse_path() -> impl Strategy<Value = ReversePath<'static>> {
    prop_oneof![1 => Just(ReversePath::Null), 6 => mailbox().prop_map(ReversePath::Mailbox)]
}

fn forward_path() -> impl Strategy<Value = ForwardPath<'static>> {
    prop_oneof![1 => Just(ForwardPath::Postmaster), 6 => mailbox().prop_map(ForwardPath::Mailbox)]
}

// ---------- parameters ----------

fn xtext() -> impl Strategy<Value = XText<'static>> {
    vec(any::<u8>(), 0..16).prop_map(|b| XText::encode(&b))
}

fn xtext_nonempty() -> impl Strategy<Value = XText<'static>> {
    vec(any::<u8>(), 1..16).prop_map(|b| XText::encode(&b))
}

/// Unknown parameters: keywords that no typed parameter uses (prefix `Y-`), unique.
fn others() -> impl Strategy<Value = Vec<Param<'static>>> {
    vec(("[a-zA-Z0-9]{1,6}", option::of("[!-<>-~]{1,10}")), 0..3).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (k, v))| Param {
                keyword: s(format!("Y{i}-{k}")),
                value: v.map(s),
            })
            .collect()
    })
}

fn notify() -> impl Strategy<Value = Notify> {
    prop_oneof![
        Just(Notify {
            never: true,
            ..Notify::default()
        }),
        (any::<bool>(), any::<bool>(), any::<bool>())
            .prop_filter("one flag", |(a, b, c)| *a || *b || *c)
            .prop_map(|(success, failure, delay)| Notify {
                never: false,
                success,
                failure,
                delay
            }),
    ]
}

fn mail_params() -> impl Strategy<Value = MailParams<'static>> {
    let typed = (
        option::of(any::<u64>()),
        option::of(prop_oneof![
            Just(Body::SevenBit),
            Just(Body::EightBitMime),
            Just(Body::BinaryMime)
        ]),
        any::<bool>(),
        option::of(prop_oneof![Just(Ret::Full), Just(Ret::Headers)]),
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
        any::<bool>(),
        option::of(
            (-999_999_999i64..=999_999_999, any::<bool>(), any::<bool>()).prop_map(
                |(time, r, trace)| DeliverBy {
                    time,
                    mode: if r {
                        DeliverByMode::Return
                    } else {
                        DeliverByMode::Notify
                    },
                    trace,
                },
            ),
        ),
        option::of(-9i8..=9),
        option::of(prop_oneof![
            (0u64..=999_999_999).prop_map(Hold::For),
            Just(Hold::Until(Cow::Borrowed("2030-01-01T00:00:00Z"))),
        ]),
    );
    let exchange = (
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| ExchangeMailParams {
            xshadow: a,
            xoorg: b,
            xmessagecontext: c,
            xattrdirect: d,
            xattrorgid: e,
            xsysprobeid: f,
            xmsgid: g,
            xorigfrom: h,
        });
    (
        typed,
        prop_oneof![3 => Just(ExchangeMailParams::default()), 1 => exchange],
        others(),
    )
        .prop_map(
            |(
                (size, body, smtputf8, ret, envid, auth, requiretls, by, mt_priority, hold),
                exchange,
                other,
            )| {
                MailParams {
                    size,
                    body,
                    smtputf8,
                    ret,
                    envid,
                    auth,
                    requiretls,
                    by,
                    mt_priority,
                    hold,
                    exchange: exchange.into(),
                    other,
                }
            },
        )
}

fn rcpt_params() -> impl Strategy<Value = RcptParams<'static>> {
    (
        option::of(notify()),
        option::of(
            ("rfc822|utf-8|x400|[a-z]{1,6}", xtext()).prop_map(|(t, a)| Orcpt {
                addr_type: s(t),
                addr: a,
            }),
        ),
        option::of(xtext_nonempty()),
        option::of(xtext_nonempty()),
        others(),
    )
        .prop_map(|(notify, orcpt, xorar, xrdst, other)| RcptParams {
            notify,
            orcpt,
            exchange: ExchangeRcptParams { xorar, xrdst },
            other,
        })
}

// ---------- commands ----------

/// Printable text without leading or trailing blanks (lenient parsing trims them).
fn text() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,20}[!-~])?"
}

fn base64() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/]{0,40}={0,2}"
}

fn mechanism() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_-]{0,19}"
}

fn initial_response() -> impl Strategy<Value = Option<InitialResponse<'static>>> {
    option::of(prop_oneof![
        Just(InitialResponse::Empty),
        "[A-Za-z0-9+/]{1,40}={0,2}".prop_map(|b| InitialResponse::Base64(s(b))),
    ])
}

fn exchange_verb() -> impl Strategy<Value = ExchangeVerb> {
    prop_oneof![
        Just(ExchangeVerb::XLink2State),
        Just(ExchangeVerb::XShadow),
        Just(ExchangeVerb::XShadowRequest),
        Just(ExchangeVerb::XQDiscard),
        Just(ExchangeVerb::XProxy),
        Just(ExchangeVerb::XProxyFrom),
        Just(ExchangeVerb::XProxyTo),
        Just(ExchangeVerb::XSessionParams),
        Just(ExchangeVerb::XRsetProxyTo),
        Just(ExchangeVerb::XRdst),
    ]
}

/// Opaque argument bytes: anything but CR, LF and NUL.
fn opaque() -> impl Strategy<Value = Vec<u8>> {
    vec(
        any::<u8>().prop_filter("no CR LF NUL", |b| !matches!(b, b'\r' | b'\n' | 0)),
        0..30,
    )
}

fn simple_command() -> impl Strategy<Value = Command<'static>> {
    prop_oneof![
        domain().prop_map(|d| Command::Helo { domain: d.0 }),
        host().prop_map(|h| Command::Ehlo {
            domain: s(h.to_string())
        }),
        Just(Command::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        text().prop_map(|a| Command::Vrfy { arg: s(a) }),
        text().prop_map(|a| Command::Expn { arg: s(a) }),
        option::of(text()).prop_map(|a| Command::Help { arg: a.map(s) }),
        option::of(text()).prop_map(|a| Command::Noop { arg: a.map(s) }),
        Just(Command::Quit),
        Just(Command::StartTls),
        "[@#]?[a-z0-9.-]{1,20}".prop_map(|n| Command::Etrn { node: s(n) }),
        option::of("[a-z0-9.,-]{1,20}").prop_map(|d| Command::Atrn { domains: d.map(s) }),
        Just(Command::Turn),
        Just(Command::XAnonymousTls),
    ]
}

fn other_command() -> impl Strategy<Value = Command<'static>> {
    prop_oneof![
        (mechanism(), initial_response()).prop_map(|(m, ir)| Command::Auth {
            mechanism: s(m),
            initial_response: ir
        }),
        (mechanism(), initial_response()).prop_map(|(m, ir)| Command::XExps {
            mechanism: s(m),
            initial_response: ir
        }),
        (0u64..=1 << 30, any::<u32>()).prop_map(|(size, mode)| Command::XExch50 { size, mode }),
        (exchange_verb(), opaque()).prop_map(|(verb, args)| Command::Exchange {
            verb,
            args: Cow::Owned(args)
        }),
        ("Z[A-Za-z0-9_-]{0,10}", opaque()).prop_map(|(verb, args)| Command::Other {
            verb: s(verb),
            args: Cow::Owned(args)
        }),
    ]
}

fn command() -> impl Strategy<Value = Command<'static>> {
    prop_oneof![
        3 => (reverse_path(), mail_params()).prop_map(|(from, params)| Command::Mail { from, params }),
        3 => (forward_path(), rcpt_params()).prop_map(|(to, params)| Command::Rcpt { to, params }),
        3 => simple_command(),
        2 => other_command(),
    ]
}

/// Makes a canonical line non-canonical in ways lenient parsing must undo: random verb
/// case, blanks after the verb and at the end of the line.
fn mangle(wire: &[u8], seed: u64) -> Vec<u8> {
    let mut out = wire.to_vec();
    let verb_end = out
        .iter()
        .position(|&b| b == b' ' || b == b'\r')
        .unwrap_or(0);
    for (i, b) in out[..verb_end].iter_mut().enumerate() {
        if seed >> (i % 64) & 1 == 1 {
            *b = b.to_ascii_lowercase();
        }
    }
    // Trailing blanks before CRLF (not for opaque arguments, which are kept byte for byte).
    out.truncate(out.len() - 2);
    out.extend_from_slice(if seed & 1 == 0 { b" \t\r\n" } else { b"\n" });
    out
}

fn fits(cmd: &Command<'_>) -> bool {
    let n = cmd.to_bytes().len();
    match cmd {
        Command::Auth { .. } | Command::XExps { .. } => n <= 12288,
        Command::Exchange {
            verb: ExchangeVerb::XLink2State,
            ..
        } => n <= 1024,
        Command::XExch50 { .. } => n <= 50,
        _ => n <= 512,
    }
}

proptest! {
    #[test]
    fn command_roundtrip(cmd in command()) {
        prop_assume!(fits(&cmd));
        let wire = cmd.to_bytes();
        for opts in [strict(), lenient()] {
            // Lenient EHLO arguments are not strict-valid only when the generator made them so;
            // every generated value is strict-valid.
            let parsed = parse_command(&wire, &opts);
            prop_assert_eq!(parsed.as_ref(), Ok(&cmd), "{:?}", String::from_utf8_lossy(&wire));
            prop_assert_eq!(parsed.unwrap().to_bytes(), wire.clone());
        }
        prop_assert_eq!(cmd.clone().into_owned(), cmd);
    }

    #[test]
    fn lenient_spellings_encode_canonically(cmd in command(), seed in any::<u64>()) {
        prop_assume!(fits(&cmd));
        prop_assume!(!matches!(cmd, Command::Exchange { .. } | Command::Other { .. }));
        let wire = cmd.to_bytes();
        let mangled = mangle(&wire, seed);
        let mut opts = lenient();
        opts.max_line += 3;
        let parsed = parse_command(&mangled, &opts);
        prop_assert_eq!(parsed.as_ref(), Ok(&cmd), "{:?}", String::from_utf8_lossy(&mangled));
        prop_assert_eq!(parsed.unwrap().to_bytes(), wire);
    }

    #[test]
    fn mailbox_roundtrip(m in mailbox()) {
        let text = m.to_string();
        prop_assume!(text.len() <= 254);
        let parsed = Mailbox::parse(&text, &strict());
        prop_assert_eq!(parsed.as_ref(), Ok(&m));
        prop_assert_eq!(m.clone().into_owned(), m);
    }

    #[test]
    fn path_roundtrip(r in reverse_path(), f in forward_path()) {
        let rt = r.to_string();
        prop_assume!(rt.len() <= 256);
        prop_assert_eq!(ReversePath::parse(&rt, &strict()), Ok(r));
        let ft = f.to_string();
        prop_assume!(ft.len() <= 256);
        prop_assert_eq!(ForwardPath::parse(&ft, &strict()), Ok(f));
    }

    #[test]
    fn utf8_mailbox_roundtrip(local in "[a-zäöüß]{1,10}", d in utf8_domain()) {
        let m = Mailbox { local_part: LocalPart::DotString(s(local)), host: Host::Domain(d) };
        let text = m.to_string();
        prop_assert_eq!(Mailbox::parse(&text, &utf8()), Ok(m));
        if !text.is_ascii() {
            prop_assert!(Mailbox::parse(&text, &strict()).is_err());
        }
    }

    #[test]
    fn params_roundtrip(mp in mail_params(), rp in rcpt_params()) {
        let mut w = Vec::new();
        mp.encode(&mut w);
        let t = String::from_utf8(w).unwrap();
        prop_assert_eq!(MailParams::parse(t.trim_start(), &strict()), Ok(mp));
        let mut w = Vec::new();
        rp.encode(&mut w);
        let t = String::from_utf8(w).unwrap();
        prop_assert_eq!(RcptParams::parse(t.trim_start(), &strict()), Ok(rp));
    }

    #[test]
    fn xtext_roundtrip(raw in vec(any::<u8>(), 0..64)) {
        let x = XText::encode(&raw);
        let d = x.decode().unwrap();
        prop_assert_eq!(d.as_ref(), &raw[..]);
    }

    #[test]
    fn sasl_roundtrip(b in base64(), cancel in any::<bool>()) {
        let r = if cancel { SaslResponse::Cancel } else { SaslResponse::Base64(s(b)) };
        let mut w = Vec::new();
        r.encode(&mut w);
        prop_assert_eq!(parse_sasl_response(&w), Ok(r));
    }

    // ---------- no panics on arbitrary input; whatever parses round-trips ----------

    #[test]
    fn arbitrary_command_bytes(line in vec(any::<u8>(), 0..600), flags in 0u8..4) {
        let opts = ParseOptions {
            leniency: if flags & 1 == 0 { Leniency::Lenient } else { Leniency::Strict },
            utf8: flags & 2 != 0,
            ..ParseOptions::default()
        };
        if let Ok(cmd) = parse_command(&line, &opts) {
            let wire = cmd.to_bytes();
            let again = ParseOptions { max_line: opts.max_line + 2, ..opts };
            prop_assert_eq!(parse_command(&wire, &again), Ok(cmd));
        }
        let _ = parse_sasl_response(&line);
    }

    #[test]
    fn arbitrary_command_shaped(
        verb in "(?i)(MAIL FROM:|RCPT TO:|EHLO |AUTH |BDAT |XEXCH50 |VRFY |ETRN |NOOP )",
        rest in "[ -~\t]{0,80}",
        flags in 0u8..4,
    ) {
        let line = format!("{verb}{rest}\r\n");
        let opts = ParseOptions {
            leniency: if flags & 1 == 0 { Leniency::Lenient } else { Leniency::Strict },
            utf8: flags & 2 != 0,
            ..ParseOptions::default()
        };
        if let Ok(cmd) = parse_command(line.as_bytes(), &opts) {
            let wire = cmd.to_bytes();
            let again = ParseOptions { max_line: opts.max_line + 2, ..opts };
            prop_assert_eq!(parse_command(&wire, &again), Ok(cmd));
        }
    }

    #[test]
    fn arbitrary_path_text(t in "\\PC{0,80}", flags in 0u8..4) {
        let opts = ParseOptions {
            leniency: if flags & 1 == 0 { Leniency::Lenient } else { Leniency::Strict },
            utf8: flags & 2 != 0,
            ..ParseOptions::default()
        };
        if let Ok(m) = Mailbox::parse(&t, &opts) {
            let text = m.to_string();
            prop_assert_eq!(Mailbox::parse(&text, &opts), Ok(m));
        }
        if let Ok(p) = ReversePath::parse(&t, &opts) {
            let text = p.to_string();
            prop_assert_eq!(ReversePath::parse(&text, &opts), Ok(p));
        }
        if let Ok(p) = ForwardPath::parse(&t, &opts) {
            let text = p.to_string();
            prop_assert_eq!(ForwardPath::parse(&text, &opts), Ok(p));
        }
        let _ = Domain::parse(&t, &opts);
        let _ = AddressLiteral::parse(&t);
        let _ = XText(Cow::Borrowed(&t)).decode();
    }

    #[test]
    fn arbitrary_param_text(t in "[ -~\t]{0,80}", flags in 0u8..4) {
        let opts = ParseOptions {
            leniency: if flags & 1 == 0 { Leniency::Lenient } else { Leniency::Strict },
            utf8: flags & 2 != 0,
            ..ParseOptions::default()
        };
        if let Ok(p) = MailParams::parse(&t, &opts) {
            let mut w = Vec::new();
            p.encode(&mut w);
            let w = String::from_utf8(w).unwrap();
            prop_assert_eq!(MailParams::parse(w.trim_start(), &opts), Ok(p));
        }
        if let Ok(p) = RcptParams::parse(&t, &opts) {
            let mut w = Vec::new();
            p.encode(&mut w);
            let w = String::from_utf8(w).unwrap();
            prop_assert_eq!(RcptParams::parse(w.trim_start(), &opts), Ok(p));
        }
    }
}
