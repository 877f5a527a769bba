//! Proptest strategies for commands, paths and parameters, shared by the syntax property
//! tests (`syntax_command_props`, `syntax_command_decoder`): every generated value is
//! strict-valid and its canonical form parses back to it.
#![allow(dead_code)]

use ehlo::syntax::command::{Command, ExchangeVerb, InitialResponse};
use ehlo::syntax::param::{
    Body, DeliverBy, DeliverByMode, ExchangeMailParams, ExchangeRcptParams, Hold, MailParams,
    Notify, Orcpt, Param, RcptParams, Ret,
};
use ehlo::syntax::path::{
    AddressLiteral, Domain, ForwardPath, Host, LocalPart, Mailbox, ReversePath,
};
use ehlo::syntax::xtext::XText;
use proptest::prelude::*;
use proptest::{collection::vec, option};
use std::borrow::Cow;

pub fn s(x: String) -> Cow<'static, str> {
    Cow::Owned(x)
}

// ---------- paths ----------

pub fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
}

pub fn domain() -> impl Strategy<Value = Domain<'static>> {
    vec(label(), 1..4).prop_map(|l| Domain(s(l.join("."))))
}

pub fn utf8_domain() -> impl Strategy<Value = Domain<'static>> {
    vec("[a-zäöüé0-9]{1,8}", 1..3).prop_map(|l| Domain(s(l.join("."))))
}

pub fn literal() -> impl Strategy<Value = AddressLiteral<'static>> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| AddressLiteral::Ipv4(o.into())),
        any::<[u16; 8]>().prop_map(|o| AddressLiteral::Ipv6(o.into())),
        // Standardized-tag = Ldh-str (RFC 5321 4.1.2): may start with a hyphen or a digit;
        // `IPv6` is the IPv6 literal's tag.
        (
            "[a-zA-Z0-9-]{0,6}[a-zA-Z0-9]"
                .prop_filter("not IPv6", |t| !t.eq_ignore_ascii_case("ipv6")),
            "[!-Z^-~]{1,12}"
        )
            .prop_map(|(tag, content)| AddressLiteral::General {
                tag: s(tag),
                content: s(content),
            }),
    ]
}

pub fn host() -> impl Strategy<Value = Host<'static>> {
    prop_oneof![4 => domain().prop_map(Host::Domain), 1 => literal().prop_map(Host::Literal)]
}

pub fn local_part() -> impl Strategy<Value = LocalPart<'static>> {
    prop_oneof![
        3 => vec("[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}", 1..4)
            .prop_map(|a| LocalPart::DotString(s(a.join(".")))),
        1 => vec(prop_oneof!["[ !#-\\[\\]-~]", "\\\\[ -~]"], 0..12)
            .prop_map(|q| LocalPart::Quoted(s(q.concat()))),
    ]
}

pub fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    (local_part(), host()).prop_map(|(local_part, host)| Mailbox { local_part, host })
}

pub fn reverse_path() -> impl Strategy<Value = ReversePath<'static>> {
    prop_oneof![1 => Just(ReversePath::Null), 6 => mailbox().prop_map(ReversePath::Mailbox)]
}

pub fn forward_path() -> impl Strategy<Value = ForwardPath<'static>> {
    prop_oneof![1 => Just(ForwardPath::Postmaster), 6 => mailbox().prop_map(ForwardPath::Mailbox)]
}

// ---------- parameters ----------

pub fn xtext() -> impl Strategy<Value = XText<'static>> {
    vec(any::<u8>(), 0..16).prop_map(|b| XText::encode(&b))
}

pub fn xtext_nonempty() -> impl Strategy<Value = XText<'static>> {
    vec(any::<u8>(), 1..16).prop_map(|b| XText::encode(&b))
}

/// The xtext of an ENVID or ORCPT address: printable US-ASCII (graphic, SP, HTAB) before
/// encoding (RFC 3461 sections 4.2 and 4.4).
pub fn dsn_xtext(min: usize) -> impl Strategy<Value = XText<'static>> {
    vec(prop_oneof![Just(b'\t'), 0x20u8..=0x7e], min..16).prop_map(|b| XText::encode(&b))
}

/// Unknown parameters: keywords that no typed parameter uses (prefix `Y-`), unique.
pub fn others() -> impl Strategy<Value = Vec<Param<'static>>> {
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

pub fn notify() -> impl Strategy<Value = Notify> {
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

pub fn mail_params() -> impl Strategy<Value = MailParams<'static>> {
    let typed = (
        option::of(any::<u64>()),
        option::of(prop_oneof![
            Just(Body::SevenBit),
            Just(Body::EightBitMime),
            Just(Body::BinaryMime)
        ]),
        any::<bool>(),
        option::of(prop_oneof![Just(Ret::Full), Just(Ret::Headers)]),
        option::of(dsn_xtext(1)),
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

pub fn rcpt_params() -> impl Strategy<Value = RcptParams<'static>> {
    (
        option::of(notify()),
        option::of(
            ("rfc822|utf-8|x400|[a-z]{1,6}", dsn_xtext(0)).prop_map(|(t, a)| Orcpt {
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
pub fn text() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,20}[!-~])?"
}

pub fn base64() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/]{0,40}={0,2}"
}

pub fn mechanism() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_-]{0,19}"
}

pub fn initial_response() -> impl Strategy<Value = Option<InitialResponse<'static>>> {
    option::of(prop_oneof![
        Just(InitialResponse::Empty),
        "[A-Za-z0-9+/]{1,40}={0,2}".prop_map(|b| InitialResponse::Base64(s(b))),
    ])
}

pub fn exchange_verb() -> impl Strategy<Value = ExchangeVerb> {
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
pub fn opaque() -> impl Strategy<Value = Vec<u8>> {
    vec(
        any::<u8>().prop_filter("no CR LF NUL", |b| !matches!(b, b'\r' | b'\n' | 0)),
        0..30,
    )
}

pub fn simple_command() -> impl Strategy<Value = Command<'static>> {
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

pub fn other_command() -> impl Strategy<Value = Command<'static>> {
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

pub fn command() -> impl Strategy<Value = Command<'static>> {
    prop_oneof![
        3 => (reverse_path(), mail_params()).prop_map(|(from, params)| Command::Mail { from, params }),
        3 => (forward_path(), rcpt_params()).prop_map(|(to, params)| Command::Rcpt { to, params }),
        3 => simple_command(),
        2 => other_command(),
    ]
}

/// Whether the canonical line of `cmd` is within the limit `parse_command` applies to its
/// verb by default.
pub fn fits(cmd: &Command<'_>) -> bool {
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
