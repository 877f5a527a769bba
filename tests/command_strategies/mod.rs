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
use std::net::{Ipv4Addr, Ipv6Addr};

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

/// IPv6 addresses in every textual shape their canonical form (RFC 5952, as `Ipv6Addr`'s
/// `Display` writes it) takes: eight full groups, runs of zero groups compressed to `::`
/// (RFC 5321 4.1.3 IPv6-comp, at either end or inside), and an IPv4-mapped address with
/// its dotted tail (IPv6v4-full / IPv6v4-comp). Uniformly random groups almost never hold
/// a run of zeros, so those get their own arms.
pub fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        2 => any::<[u16; 8]>().prop_map(Ipv6Addr::from),
        2 => vec(prop_oneof![3 => Just(0u16), 1 => any::<u16>()], 8).prop_map(|g| {
            let mut a = [0u16; 8];
            a.copy_from_slice(&g);
            Ipv6Addr::from(a)
        }),
        1 => any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_ipv6_mapped()),
        1 => any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_ipv6_compatible()),
    ]
}

pub fn literal() -> impl Strategy<Value = AddressLiteral<'static>> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| AddressLiteral::Ipv4(o.into())),
        ipv6().prop_map(AddressLiteral::Ipv6),
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
    prop_oneof![
        6 => (local_part(), host()).prop_map(|(local_part, host)| Mailbox { local_part, host }),
        1 => long_mailbox(),
    ]
}

/// Mailboxes up to the size limits of RFC 5321 4.5.3.1: a local part of up to 64 octets,
/// labels of up to 63, and the mailbox up to 254 octets (the path's 256 with its angle
/// brackets). The other strategies stay far below them.
pub fn long_mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    ("[a-z0-9]{1,64}", vec("[a-z0-9]{1,63}", 1..6)).prop_map(|(local, labels)| {
        let mut domain = labels.join(".");
        domain.truncate(254 - local.len() - 1);
        let domain = domain.trim_end_matches('.').to_string();
        Mailbox {
            local_part: LocalPart::DotString(s(local)),
            host: Host::Domain(Domain(s(domain))),
        }
    })
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

/// Non-empty xtext: the canonical encoding of random octets, or text as a peer may write
/// it (see [`written_xtext`]).
pub fn xtext_nonempty() -> impl Strategy<Value = XText<'static>> {
    prop_oneof![
        3 => vec(any::<u8>(), 1..16).prop_map(|b| XText::encode(&b)),
        1 => written_xtext(1),
    ]
}

/// xtext as written by a peer rather than by [`XText::encode`]: xchar runs and `+XX`
/// escapes with hex digits in either case. RFC 3461 section 4 asks for upper-case hex; the
/// parser also takes lower case and keeps the text as written, so it must round-trip too.
pub fn written_xtext(min: usize) -> impl Strategy<Value = XText<'static>> {
    vec(prop_oneof!["[!-*,-<>-~]", "\\+[0-9A-Fa-f]{2}"], min..12).prop_map(|p| XText(s(p.concat())))
}

/// The xtext of an ENVID or ORCPT address: printable US-ASCII (graphic, SP, HTAB) before
/// encoding (RFC 3461 sections 4.2 and 4.4).
pub fn dsn_xtext(min: usize) -> impl Strategy<Value = XText<'static>> {
    vec(prop_oneof![Just(b'\t'), 0x20u8..=0x7e], min..16).prop_map(|b| XText::encode(&b))
}

/// An RFC 3339 section 5.6 `date-time` (the `HOLDUNTIL=` value, RFC 4865 section 3), over
/// the whole grammar: any four-digit year, the days of the month of that year (29 February
/// only in a leap year), a leap second `:60`, an optional fraction, `Z` or a numeric
/// offset, and `T` / `Z` in either case (RFC 3339 section 5.6 NOTE).
pub fn date_time() -> impl Strategy<Value = String> {
    let offset = prop_oneof![
        Just("Z".to_string()),
        Just("z".to_string()),
        ("[+-]", 0u32..=23, 0u32..=59).prop_map(|(sign, h, m)| format!("{sign}{h:02}:{m:02}")),
    ];
    (
        (0u32..=9999, 1u32..=12, 1u32..=31),
        (0u32..=23, 0u32..=59, 0u32..=60),
        option::of("[0-9]{1,12}"),
        offset,
        "[Tt]",
    )
        .prop_map(|((y, mo, d), (h, mi, sec), frac, offset, t)| {
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let days = match mo {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!(
                "{y:04}-{mo:02}-{:02}{t}{h:02}:{mi:02}:{sec:02}{frac}{offset}",
                d.min(days)
            )
        })
}

/// DSN xtext right below or at a length limit of RFC 3461 (ENVID: 100 characters, section
/// 4.4; ORCPT address: 500, section 4.2), counted before encoding: printable US-ASCII, so
/// `+`, `=` and SP go out as escapes and the text is longer than the count.
pub fn dsn_xtext_long(max: usize) -> impl Strategy<Value = XText<'static>> {
    vec(
        prop_oneof![7 => 0x21u8..=0x7e, 1 => Just(b' ')],
        max - 8..=max,
    )
    .prop_map(|b| XText::encode(&b))
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
        option::of(prop_oneof![
            6 => dsn_xtext(1),
            1 => dsn_xtext_long(ehlo::limits::MAX_ENVID)
        ]),
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
            date_time().prop_map(|t| Hold::Until(s(t))),
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
            // addr-type is an atom (RFC 3461 4.2); `=` is atext but not an esmtp-value
            // octet (RFC 5321 4.1.2), so strict parsing refuses it there.
            (
                "rfc822|RFC822|utf-8|UTF-8|x400|[A-Za-z0-9!#$%&'*+/?^_`{|}~-]{1,8}",
                prop_oneof![
                    8 => dsn_xtext(0),
                    1 => dsn_xtext_long(ehlo::limits::MAX_ORCPT)
                ],
            )
                .prop_map(|(t, a)| Orcpt {
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

// ---------- SMTPUTF8 (RFC 6531) ----------
//
// Values that hold UTF-8 as itself, valid only when parsed with `ParseOptions::utf8` (the
// server offered SMTPUTF8). Kept out of `command()`, whose values are valid in every mode.

/// Non-ASCII characters of two, three and four octets (no control characters: C1 controls
/// are not printable in an address or a DSN field).
const NON_ASCII: &str = "[äöüßéñ世界✉😀]";

/// A local part with UTF-8 (RFC 6531 3.3: `atext =/ UTF8-non-ascii`, `qtextSMTP =/
/// UTF8-non-ascii`; quoted-pairSMTP stays ASCII), at most 64 octets with its quotes
/// (RFC 5321 4.5.3.1.1 counts octets, and these characters take up to four).
pub fn utf8_local_part() -> impl Strategy<Value = LocalPart<'static>> {
    prop_oneof![
        3 => vec("[a-zA-Z0-9!#$%&'*+/=?^_`{|}~äöüßéñ世界✉😀-]{1,8}", 1..4)
            .prop_map(|a| LocalPart::DotString(s(a.join(".")))),
        1 => vec(prop_oneof!["[ !#-\\[\\]-~äöüß世界😀]", "\\\\[ -~]"], 0..12)
            .prop_map(|q| LocalPart::Quoted(s(q.concat()))),
    ]
    .prop_filter("at most 64 octets", |l| l.to_string().len() <= 64)
}

/// A mailbox with a UTF-8 local part and a U-label domain or an address literal.
pub fn utf8_mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    (
        utf8_local_part(),
        prop_oneof![3 => utf8_domain().prop_map(Host::Domain), 1 => host()],
    )
        .prop_map(|(local_part, host)| Mailbox { local_part, host })
}

/// xtext holding UTF-8 as itself next to xchar runs and `+XX` escapes (RFC 6531 3.3 lets an
/// esmtp-value hold UTF-8; the crate takes it in every xtext value but ENVID).
pub fn utf8_xtext(min: usize) -> impl Strategy<Value = XText<'static>> {
    vec(
        prop_oneof!["[!-*,-<>-~]", "\\+[0-9A-F]{2}", NON_ASCII],
        min..12,
    )
    .prop_map(|p| XText(s(p.concat())))
}

/// An `ORCPT=utf-8;...` address (RFC 6533 section 3): printable text, each non-ASCII
/// character as itself (`utf-8-addr-unitext`) or as `+XX` escapes of its octets, each
/// ASCII character an xchar or its escape.
pub fn utf8_orcpt() -> impl Strategy<Value = Orcpt<'static>> {
    let piece =
        prop_oneof![
            prop_oneof![Just('\t'), (0x20u8..=0x7e).prop_map(char::from)]
                .prop_map(|c| XText::encode(&[c as u8]).0.into_owned()),
            (NON_ASCII, any::<bool>()).prop_map(|(c, raw)| if raw {
                c
            } else {
                XText::encode(c.as_bytes()).0.into_owned()
            }),
        ];
    ("utf-8|UTF-8|Utf-8", vec(piece, 1..12)).prop_map(|(t, p)| Orcpt {
        addr_type: s(t),
        addr: XText(s(p.concat())),
    })
}

/// Unknown parameters whose values hold UTF-8 (RFC 6531 3.3 esmtp-value).
pub fn utf8_others() -> impl Strategy<Value = Vec<Param<'static>>> {
    vec(
        ("[a-zA-Z0-9]{1,6}", option::of("[!-<>-~äöü世😀]{1,10}")),
        1..3,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (k, v))| Param {
                keyword: s(format!("Y{i}-{k}")),
                value: v.map(s),
            })
            .collect()
    })
}

/// MAIL parameters of a SMTPUTF8 transaction: `SMTPUTF8` set, and sometimes UTF-8 in
/// `AUTH=`, `XORIGFROM=` (UTF-8 allowed under SMTPUTF8, see `ExchangeMailParams`) and in
/// unknown parameters' values.
pub fn utf8_mail_params() -> impl Strategy<Value = MailParams<'static>> {
    (
        mail_params(),
        option::of(utf8_xtext(1)),
        option::of(utf8_xtext(1)),
        option::of(utf8_others()),
    )
        .prop_map(|(mut p, auth, xorigfrom, other)| {
            p.smtputf8 = true;
            if auth.is_some() {
                p.auth = auth;
            }
            if xorigfrom.is_some() {
                p.exchange.xorigfrom = xorigfrom;
            }
            if let Some(other) = other {
                p.other = other;
            }
            p
        })
}

/// RCPT parameters with UTF-8: an `ORCPT=utf-8;` address, `XORAR=` / `XRDST=` and unknown
/// parameters' values.
pub fn utf8_rcpt_params() -> impl Strategy<Value = RcptParams<'static>> {
    (
        rcpt_params(),
        option::of(utf8_orcpt()),
        option::of(utf8_xtext(1)),
        option::of(utf8_xtext(1)),
        option::of(utf8_others()),
    )
        .prop_map(|(mut p, orcpt, xorar, xrdst, other)| {
            if orcpt.is_some() {
                p.orcpt = orcpt;
            }
            if xorar.is_some() {
                p.exchange.xorar = xorar;
            }
            if xrdst.is_some() {
                p.exchange.xrdst = xrdst;
            }
            if let Some(other) = other {
                p.other = other;
            }
            p
        })
}

/// MAIL and RCPT commands of a SMTPUTF8 transaction.
pub fn utf8_command() -> impl Strategy<Value = Command<'static>> {
    prop_oneof![
        (
            prop_oneof![1 => Just(ReversePath::Null), 6 => utf8_mailbox().prop_map(ReversePath::Mailbox)],
            utf8_mail_params()
        )
            .prop_map(|(from, params)| Command::Mail { from, params }),
        (
            prop_oneof![1 => Just(ForwardPath::Postmaster), 6 => utf8_mailbox().prop_map(ForwardPath::Mailbox)],
            utf8_rcpt_params()
        )
            .prop_map(|(to, params)| Command::Rcpt { to, params }),
    ]
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
