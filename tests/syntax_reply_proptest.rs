//! Property tests for replies: encode/parse round trips (with and without enhanced codes,
//! multi-line, wrapped), canonical re-serialization of valid input, split invariance of
//! the incremental parser, and no panic / bounded buffering on arbitrary bytes.

use bytes::BytesMut;
use ehlo::syntax::reply::{EnhancedCode, Reply, ReplyParser};
use ehlo::syntax::ReplyError;
use proptest::prelude::*;

/// The sanitizing rule, restated independently of the implementation.
fn sanitize(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| {
            if (c.is_ascii_control() && c != '\n' && c != '\t') || c == '\x7f' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Decodes everything in `input` given as `pieces`, collecting replies and errors.
fn decode_pieces(
    parser: &mut ReplyParser,
    pieces: &[&[u8]],
    max_line: usize,
) -> Vec<Result<Reply, ReplyError>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match parser.decode(&mut buf) {
                Ok(Some(r)) => out.push(Ok(r)),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
        }
        // Never more than one incomplete line is left behind.
        assert!(buf.len() < max_line.max(5), "buffered {} octets", buf.len());
    }
    out
}

fn decode_one(bytes: &[u8]) -> Reply {
    let mut v = decode_pieces(&mut ReplyParser::default(), &[bytes], 512);
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0).unwrap()
}

/// Words of printable text, sometimes very long ones (forcing hard splits).
fn line_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec("[a-zA-Z0-9<>@.,:;()\\[\\]=+-]{1,12}", 0..12).prop_map(|w| w.join(" ")),
        2 => prop::collection::vec("[a-z]{1,40}", 0..80).prop_map(|w| w.join(" ")),
        1 => "[a-z]{500,1300}",
        1 => "\\PC{0,300}",
        1 => "[\\x00-\\x7f]{0,600}",
        1 => "(é|✉|x| ){0,700}",
    ]
}

/// Replies as callers build them: mostly a valid code with a matching enhanced code or
/// none, but also what `Reply`'s public fields allow beyond that and `normalized` must
/// map to what goes on the wire: a code outside 200..=599 (sent as `554`, RFC 5321
/// 4.2.1), an enhanced code of another class than the reply code (RFC 3463 section 3) or
/// malformed (class not 2/4/5, subject or detail over 999; both dropped).
fn reply() -> impl Strategy<Value = Reply> {
    let odd_enhanced = (any::<u8>(), any::<u16>(), any::<u16>())
        .prop_map(|(class, subject, detail)| EnhancedCode::new(class % 10, subject, detail));
    (
        prop_oneof![12 => 200u16..600, 1 => any::<u16>()],
        prop::collection::vec(line_text(), 1..5),
        any::<bool>(),
        0u16..1000,
        0u16..1000,
        prop::option::weighted(0.1, odd_enhanced),
    )
        .prop_map(|(code, lines, with_enh, subject, detail, odd)| {
            let class = (code / 100) as u8;
            let enhanced = odd.or_else(|| {
                (with_enh && matches!(class, 2 | 4 | 5))
                    .then_some(EnhancedCode::new(class, subject, detail))
            });
            Reply::new(code, enhanced, lines.join("\n"))
        })
}

/// A reply without an enhanced code whose first line starts like one is read back with
/// one (the wire cannot tell them apart); the round-trip properties exclude it.
fn ambiguous(r: &Reply) -> bool {
    let n = r.normalized();
    n.enhanced.is_none() && n.first_line().starts_with(|c: char| c.is_ascii_digit())
}

/// Found by cargo-fuzz: sanitizing the lone CR after `5.2.1` makes the first line start
/// with an enhanced code; the round trip only promises the code in that case.
#[test]
fn sanitized_first_line_that_looks_enhanced() {
    let r = decode_one(b"550 5.2.1\r0 Sender OK\r\n");
    assert_eq!((r.enhanced, &*r.text), (None, "5.2.1\r0 Sender OK"));
    assert!(ambiguous(&r));
    assert_eq!(r.to_bytes(), b"550 5.2.1 0 Sender OK\r\n");
    let back = decode_one(&r.to_bytes());
    assert_eq!(back.code, r.code);
    assert_eq!(back.enhanced, Some(EnhancedCode::new(5, 2, 1)));
}

proptest! {
    #[test]
    fn round_trip(r in reply()) {
        prop_assume!(!ambiguous(&r));
        let bytes = r.to_bytes();
        let n = r.normalized();
        // The code as sent: out-of-range codes go out as 554.
        let digits = format!("{:03}", n.code.0);
        // Every line: at most 512 octets, one CRLF at its end and no other CR or LF, the
        // code, and the enhanced code when there is one.
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        for (i, l) in lines.iter().enumerate() {
            prop_assert!(l.len() <= 512, "line of {} octets", l.len());
            prop_assert!(l.ends_with(b"\r\n"));
            prop_assert!(!l[..l.len() - 2].contains(&b'\r') && !l[..l.len() - 2].contains(&b'\n'));
            prop_assert!(l.starts_with(digits.as_bytes()));
            let sep = if i + 1 == lines.len() { [b' ', b'\r'] } else { [b'-', b'-'] };
            prop_assert!(sep.contains(&l[3]));
            if let Some(e) = n.enhanced {
                prop_assert!(l[4..].starts_with(e.to_string().as_bytes()));
            }
        }
        // parse(encode(r)) is r.normalized(), which is idempotent and encodes identically.
        let parsed = decode_one(&bytes);
        prop_assert_eq!(&parsed, &n);
        prop_assert_eq!(n.normalized(), n.clone());
        prop_assert_eq!(n.to_bytes(), bytes.clone());
        // Wrapping only adds line breaks: nothing is lost, added or reordered.
        let clean = sanitize(&r.text);
        prop_assert_eq!(parsed.text.replace('\n', ""), clean.replace('\n', ""));
        prop_assert!(parsed.lines().count() >= clean.split('\n').count());
        prop_assert_eq!(parsed.lines().count(), lines.len());
        // A code out of range goes out as 554; an enhanced code goes out only if it is
        // well-formed and of the class of the code sent (so a 5.x.x one stays with a code
        // out of range, which goes out as 554).
        prop_assert_eq!(n.code.0, if r.code.is_valid() { r.code.0 } else { 554 });
        prop_assert_eq!(n.enhanced, r.enhanced.filter(|e| e.matches(n.code)));
        // Text that needs neither sanitizing nor wrapping comes back exactly.
        let room = 506 - n.enhanced.map_or(0, |e| e.to_string().len() + 1);
        if clean == *r.text && clean.split('\n').all(|l| l.len() <= room) {
            prop_assert_eq!(&parsed.text, &r.text);
            if n.code == r.code && n.enhanced == r.enhanced {
                prop_assert_eq!(parsed, r);
            }
        }
    }

    /// Enhanced status codes on their own (RFC 3463 section 2: class 2, 4 or 5, subject
    /// and detail of one to three digits): `parse(to_string(e)) == e`, and nothing else
    /// parses.
    #[test]
    fn enhanced_code_round_trip(class in 0u8..10, subject in 0u16..1200, detail in 0u16..1200) {
        let e = EnhancedCode::new(class, subject, detail);
        let parsed = EnhancedCode::parse(&e.to_string());
        if e.is_valid() {
            prop_assert_eq!(parsed, Some(e));
        } else {
            prop_assert_eq!(parsed, None);
        }
    }

    #[test]
    fn round_trip_without_enhanced_codes(r in reply()) {
        let mut plain = r.clone();
        plain.enhanced = None;
        prop_assume!(!ambiguous(&plain));
        let mut bytes = Vec::new();
        r.encode_with(&mut bytes, false);
        prop_assert_eq!(&bytes, &plain.to_bytes());
        prop_assert_eq!(decode_one(&bytes), plain.normalized());
    }

    /// Valid input in a loose form (enhanced code on some continuation lines only, `250 `
    /// with empty text, bare LF line ends) re-serializes canonically.
    #[test]
    fn canonical_reserialization(
        code in 200u16..600,
        enh in (0u16..1000, 0u16..1000),
        with_enh in any::<bool>(),
        lines in prop::collection::vec(("[ -~]{0,80}", any::<bool>(), any::<bool>()), 1..6),
        bare_lf in any::<bool>(),
    ) {
        let class = (code / 100) as u8;
        let e = (with_enh && class != 3).then_some(EnhancedCode::new(class, enh.0, enh.1));
        prop_assume!(e.is_some() || !lines[0].0.starts_with(|c: char| c.is_ascii_digit()));
        let eol = if bare_lf { "\n" } else { "\r\n" };
        let mut raw = String::new();
        let mut canonical = String::new();
        for (i, (text, carries, trailing_space)) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            let sep = if last { ' ' } else { '-' };
            let mut wire = String::new();
            if let Some(e) = e.filter(|_| i == 0 || *carries) {
                wire = format!("{e}");
                if !text.is_empty() {
                    wire.push(' ');
                }
            }
            wire.push_str(text);
            if wire.is_empty() && last && !*trailing_space {
                raw.push_str(&format!("{code}{eol}"));
            } else {
                raw.push_str(&format!("{code}{sep}{wire}{eol}"));
            }
            let body = match e {
                Some(e) if text.is_empty() => format!("{e}"),
                Some(e) => format!("{e} {text}"),
                None => text.clone(),
            };
            // RFC 4954 section 4: a `334` keeps its space before empty text.
            if body.is_empty() && last && code != 334 {
                canonical.push_str(&format!("{code}\r\n"));
            } else {
                canonical.push_str(&format!("{code}{sep}{body}\r\n"));
            }
        }
        // Continuation lines that do not carry the code must not start with it.
        if let Some(e) = e {
            let prefix = e.to_string();
            for (i, (text, carries, _)) in lines.iter().enumerate() {
                prop_assume!(i == 0 || *carries || !text.starts_with(&prefix));
            }
        }
        let parsed = decode_one(raw.as_bytes());
        prop_assert_eq!(parsed.code.0, code);
        prop_assert_eq!(parsed.enhanced, e);
        let texts: Vec<&str> = lines.iter().map(|l| l.0.as_str()).collect();
        prop_assert_eq!(&*parsed.text, texts.join("\n"));
        prop_assert_eq!(String::from_utf8(parsed.to_bytes()).unwrap(), canonical.clone());
        prop_assert_eq!(decode_one(canonical.as_bytes()), parsed);
    }

    /// Any split of a stream of replies (and junk) gives the same replies and errors as one
    /// piece, down to one octet at a time.
    #[test]
    fn split_invariance(
        replies in prop::collection::vec(reply(), 1..4),
        junk in prop::collection::vec(prop_oneof![
            Just(b"garbage\r\n".to_vec()),
            Just(b"250-a\r\n251 b\r\n".to_vec()),
            Just([b"250-".to_vec(), vec![b'x'; 700], b"\r\n250 end\r\n".to_vec()].concat()),
            Just(b"220 bare\n".to_vec()),
        ], 0..3),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut input = Vec::new();
        for (i, r) in replies.iter().enumerate() {
            input.extend_from_slice(&r.to_bytes());
            if let Some(j) = junk.get(i) {
                input.extend_from_slice(j);
            }
        }
        let whole = decode_pieces(&mut ReplyParser::default(), &[&input], 512);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut from = 0;
        for p in points {
            pieces.push(&input[from..p]);
            from = p;
        }
        pieces.push(&input[from..]);
        prop_assert_eq!(&decode_pieces(&mut ReplyParser::default(), &pieces, 512), &whole);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(&decode_pieces(&mut ReplyParser::default(), &bytes, 512), &whole);
        let oks: Vec<Reply> = whole.into_iter().filter_map(Result::ok).collect();
        let expected: Vec<Reply> = replies.iter().map(Reply::normalized).collect();
        if replies.iter().all(|r| !ambiguous(r)) && junk.is_empty() {
            prop_assert_eq!(oks, expected);
        }
    }

    /// Arbitrary bytes in arbitrary pieces, both line-end policies, small limits: no panic,
    /// bounded buffering, and every reply decoded re-encodes to its normalized form.
    #[test]
    fn arbitrary_bytes(
        data in prop::collection::vec(prop_oneof![
            3 => any::<u8>(),
            1 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => Just(b'-'),
            1 => Just(b'2'),
        ], 0..800),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"250-"[..]), Just(&b"250 2.0.0 "[..])],
        chunk in 1usize..64,
        max_line in 0usize..600,
        max_lines in 0usize..8,
        bare_lf in any::<bool>(),
    ) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&data);
        let mut parser = ReplyParser::new(max_line, max_lines).accept_bare_lf(bare_lf);
        let pieces: Vec<&[u8]> = input.chunks(chunk).collect();
        for r in decode_pieces(&mut parser, &pieces, max_line).into_iter().flatten() {
            prop_assert!(r.lines().count() <= max_lines.max(1));
            let back = decode_one(&r.to_bytes());
            if ambiguous(&r) {
                prop_assert_eq!(back.code, r.code);
            } else {
                prop_assert_eq!(back, r.normalized());
            }
        }
    }
}
