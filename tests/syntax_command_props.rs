//! Property tests for the command, path and parameter syntax:
//! * `parse(encode(x)) == x` for generated values of every type, in strict and lenient mode;
//! * `encode(parse(b))` is canonical: re-encoding a reparsed line gives the same bytes, and
//!   non-canonical spellings (verb and keyword case, extra blanks) encode to the canonical form;
//! * no parser panics on arbitrary input, and whatever parses round-trips.

mod command_strategies;

use command_strategies::*;
use ehlo::syntax::command::{parse_command, parse_sasl_response, Command, SaslResponse};
use ehlo::syntax::param::{MailParams, RcptParams};
use ehlo::syntax::path::{
    AddressLiteral, Domain, ForwardPath, Host, LocalPart, Mailbox, ReversePath,
};
use ehlo::syntax::xtext::XText;
use ehlo::syntax::{Leniency, ParseOptions};
use proptest::collection::vec;
use proptest::prelude::*;
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

/// A MAIL or RCPT line spelled as lenient parsing allows and canonical encoding undoes
/// (see `Leniency`): `FROM:` / `TO:` in random case, SP / HT after the colon, runs of SP /
/// HT between parameters and at the end, bare LF, and typed keywords (every keyword but the
/// `Y…` ones `others()` makes, which are kept as written) in random case. Values keep
/// their case: xtext is case-sensitive. `None` for other commands.
fn mangle_params(cmd: &Command<'_>, seed: u64) -> Option<Vec<u8>> {
    let mut bits = seed;
    let mut bit = || {
        bits = bits.rotate_right(1);
        bits & 1 == 1
    };
    let (head, path, params) = match cmd {
        Command::Mail { from, params } => {
            let mut w = Vec::new();
            params.encode(&mut w);
            ("MAIL FROM:", from.to_string(), w)
        }
        Command::Rcpt { to, params } => {
            let mut w = Vec::new();
            params.encode(&mut w);
            ("RCPT TO:", to.to_string(), w)
        }
        _ => return None,
    };
    let mut out: Vec<u8> = head
        .bytes()
        .map(|b| if bit() { b.to_ascii_lowercase() } else { b })
        .collect();
    if bit() {
        out.extend_from_slice(b" \t");
    }
    out.extend_from_slice(path.as_bytes());
    // Parameters are separated by single SPs and hold none themselves.
    for p in params.split(|&b| b == b' ').filter(|p| !p.is_empty()) {
        out.extend_from_slice(if bit() { b" " } else { b"\t  " });
        let kw_end = p.iter().position(|&b| b == b'=').unwrap_or(p.len());
        let typed = p[0] != b'Y';
        for (i, &b) in p.iter().enumerate() {
            out.push(if typed && i < kw_end && bit() {
                b.to_ascii_lowercase()
            } else {
                b
            });
        }
    }
    out.extend_from_slice(if bit() { b" \t\r\n" } else { b"\n" });
    Some(out)
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
        // Every valid command passes the checked encoder, which writes the same bytes.
        let mut checked = Vec::new();
        prop_assert_eq!(cmd.encode_checked(&mut checked), Ok(()));
        prop_assert_eq!(&checked, &wire);
        prop_assert_eq!(cmd.clone().into_owned(), cmd);
    }

    /// MAIL and RCPT with UTF-8 in paths and parameter values round-trip once SMTPUTF8 was
    /// offered (RFC 6531 3.3), in both modes, and are refused without it.
    #[test]
    fn utf8_command_roundtrip(cmd in utf8_command()) {
        prop_assume!(fits(&cmd));
        let wire = cmd.to_bytes();
        for leniency in [Leniency::Strict, Leniency::Lenient] {
            let opts = ParseOptions { leniency, ..utf8() };
            let parsed = parse_command(&wire, &opts);
            prop_assert_eq!(parsed.as_ref(), Ok(&cmd), "{:?}", String::from_utf8_lossy(&wire));
            prop_assert_eq!(parsed.unwrap().to_bytes(), wire.clone());
        }
        if !wire.is_ascii() {
            for opts in [strict(), lenient()] {
                prop_assert!(parse_command(&wire, &opts).is_err());
            }
        }
        let mut checked = Vec::new();
        prop_assert_eq!(cmd.encode_checked(&mut checked), Ok(()));
        prop_assert_eq!(&checked, &wire);
        prop_assert_eq!(cmd.clone().into_owned(), cmd);
    }

    #[test]
    fn utf8_params_roundtrip(mp in utf8_mail_params(), rp in utf8_rcpt_params()) {
        for leniency in [Leniency::Strict, Leniency::Lenient] {
            let opts = ParseOptions { leniency, ..utf8() };
            let mut w = Vec::new();
            mp.encode(&mut w);
            let t = String::from_utf8(w).unwrap();
            prop_assert_eq!(MailParams::parse(t.trim_start(), &opts), Ok(mp.clone()));
            let mut w = Vec::new();
            rp.encode(&mut w);
            let t = String::from_utf8(w).unwrap();
            prop_assert_eq!(RcptParams::parse(t.trim_start(), &opts), Ok(rp.clone()));
        }
    }

    /// Hosts on their own: domains, IPv4, IPv6 in every canonical shape (full, `::`
    /// compressed, IPv4-mapped) and general address literals (RFC 5321 4.1.3).
    #[test]
    fn host_roundtrip(h in host(), l in literal()) {
        let text = h.to_string();
        prop_assert_eq!(Host::parse(&text, &strict()), Ok(h.clone()));
        prop_assert_eq!(h.clone().into_owned(), h);
        let text = l.to_string();
        prop_assert_eq!(AddressLiteral::parse(&text), Ok(l.clone()));
        prop_assert_eq!(Host::parse(&text, &strict()), Ok(Host::Literal(l)));
    }

    #[test]
    fn lenient_spellings_encode_canonically(
        // Boxed: both strategies' value trees side by side overflow a test thread's stack
        // in a debug build.
        (cmd, smtputf8) in prop_oneof![
            3 => command().prop_map(|c| (c, false)).boxed(),
            1 => utf8_command().prop_map(|c| (c, true)).boxed(),
        ],
        seed in any::<u64>(),
    ) {
        prop_assume!(fits(&cmd));
        prop_assume!(!matches!(cmd, Command::Exchange { .. } | Command::Other { .. }));
        let wire = cmd.to_bytes();
        let mangled = mangle(&wire, seed);
        let mut opts = if smtputf8 { utf8() } else { lenient() };
        opts.max_line += 3;
        let parsed = parse_command(&mangled, &opts);
        prop_assert_eq!(parsed.as_ref(), Ok(&cmd), "{:?}", String::from_utf8_lossy(&mangled));
        prop_assert_eq!(parsed.unwrap().to_bytes(), wire);
    }

    #[test]
    fn lenient_param_spellings_encode_canonically(
        (cmd, smtputf8) in prop_oneof![
            3 => command().prop_map(|c| (c, false)).boxed(),
            1 => utf8_command().prop_map(|c| (c, true)).boxed(),
        ],
        seed in any::<u64>(),
    ) {
        prop_assume!(fits(&cmd));
        let Some(mangled) = mangle_params(&cmd, seed) else { return Ok(()) };
        let mut opts = if smtputf8 { utf8() } else { lenient() };
        opts.max_line = 4096;
        let parsed = parse_command(&mangled, &opts);
        prop_assert_eq!(parsed.as_ref(), Ok(&cmd), "{:?}", String::from_utf8_lossy(&mangled));
        prop_assert_eq!(parsed.unwrap().to_bytes(), cmd.to_bytes());
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
    fn utf8_quoted_mailbox_roundtrip(
        q in vec(prop_oneof!["[ !#-\\[\\]-~äöü世]", "\\\\[ -~]"], 0..10),
        d in utf8_domain(),
    ) {
        // RFC 6531 3.3: qtextSMTP includes UTF-8; quoted-pairSMTP stays ASCII.
        let m = Mailbox { local_part: LocalPart::Quoted(s(q.concat())), host: Host::Domain(d) };
        let text = m.to_string();
        prop_assume!(text.len() <= 254);
        prop_assert_eq!(Mailbox::parse(&text, &utf8()), Ok(m));
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
