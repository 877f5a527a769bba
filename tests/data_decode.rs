//! DATA decoder: the SMTP smuggling matrix (spec/smuggling.md) split at every position,
//! split invariance, and a differential test against the reference decoder.

use bytes::Bytes;
use ehlo::data::{
    reference, BareLineEnding, DataDecoder, DataError, DataEvent, DataSummary, DecoderConfig,
    LongLines,
};
use proptest::prelude::*;

#[path = "fixtures/smuggling.rs"]
mod smuggling;
use smuggling::{MORE_VARIANTS, SMUGGLED, VARIANTS};

/// Feeds `pieces` in order. Returns the content, the summary (if the end was reached) and the
/// bytes left after the terminator (rest of the current piece plus the later pieces).
fn feed(cfg: &DecoderConfig, pieces: &[&[u8]]) -> (Vec<u8>, Option<DataSummary>, Vec<u8>) {
    let mut dec = DataDecoder::new(cfg.clone());
    let mut content = Vec::new();
    for (k, piece) in pieces.iter().enumerate() {
        let mut input = Bytes::copy_from_slice(piece);
        while let Some(ev) = dec.decode(&mut input) {
            match ev {
                DataEvent::Content(c) => {
                    assert!(!c.is_empty(), "empty content event");
                    content.extend_from_slice(&c);
                }
                DataEvent::End(s) => {
                    assert!(dec.is_finished());
                    let mut rest = input.to_vec();
                    for p in &pieces[k + 1..] {
                        rest.extend_from_slice(p);
                    }
                    return (content, Some(s), rest);
                }
            }
        }
        assert!(
            input.is_empty(),
            "decode returned None without consuming input"
        );
    }
    (content, None, Vec::new())
}

fn policies() -> [BareLineEnding; 3] {
    [
        BareLineEnding::Reject,
        BareLineEnding::Normalize,
        BareLineEnding::PassThrough,
    ]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn smuggling_matrix_every_split() {
    for (name, variant) in VARIANTS.iter().chain(MORE_VARIANTS) {
        let mut msg = b"Subject: test\r\n\r\nhello".to_vec();
        msg.extend_from_slice(variant);
        msg.extend_from_slice(SMUGGLED);
        msg.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
        for policy in policies() {
            let cfg = DecoderConfig {
                bare_line_endings: policy,
                ..Default::default()
            };
            let expected = reference::decode(&msg, &cfg).expect("terminated");
            let whole = feed(&cfg, &[&msg]);
            let (content, summary, rest) = &whole;
            let summary = summary.clone().expect("the real terminator ends the data");
            assert_eq!(rest, b"QUIT\r\n", "{name} {policy:?}");
            assert!(
                contains(content, b"MAIL FROM:<evil@example.test>"),
                "{name}"
            );
            assert!(contains(content, b"forged\r\n"), "{name}");
            assert_eq!(content, &expected.content, "{name} {policy:?}");
            assert_eq!(summary, expected.summary, "{name} {policy:?}");
            let has_bare = msg.iter().enumerate().any(|(k, &b)| {
                (b == b'\r' && msg.get(k + 1) != Some(&b'\n'))
                    || (b == b'\n' && (k == 0 || msg[k - 1] != b'\r'))
            });
            match policy {
                BareLineEnding::Reject => assert_eq!(
                    matches!(summary.outcome, Err(DataError::BareLineEnding { .. })),
                    has_bare,
                    "{name}"
                ),
                _ => assert_eq!(summary.outcome, Ok(()), "{name}"),
            }
            for i in 0..=msg.len() {
                assert_eq!(
                    feed(&cfg, &[&msg[..i], &msg[i..]]),
                    whole,
                    "{name} split {i}"
                );
            }
            let bytes: Vec<&[u8]> = msg.chunks(1).collect();
            assert_eq!(feed(&cfg, &bytes), whole, "{name} byte by byte");
        }
    }
}

#[test]
fn terminator_straddles_every_boundary() {
    let msg = b"a\r\n..b\r\n.\r\nQUIT\r\n";
    let cfg = DecoderConfig::default();
    for i in 0..=msg.len() {
        for j in i..=msg.len() {
            let (content, summary, rest) = feed(&cfg, &[&msg[..i], &msg[i..j], &msg[j..]]);
            assert_eq!(content, b"a\r\n.b\r\n");
            assert_eq!(summary.unwrap().size, 7);
            assert_eq!(rest, b"QUIT\r\n");
        }
    }
}

#[test]
fn empty_message_split() {
    let msg = b".\r\nQUIT\r\n";
    for i in 0..=msg.len() {
        let (content, summary, rest) = feed(&DecoderConfig::default(), &[&msg[..i], &msg[i..]]);
        assert!(content.is_empty());
        assert_eq!(summary.unwrap().outcome, Ok(()));
        assert_eq!(rest, b"QUIT\r\n");
    }
}

#[test]
fn too_large_keeps_reading_to_the_end() {
    let mut msg = Vec::new();
    for _ in 0..1000 {
        msg.extend_from_slice(b"0123456789abcdef0123456789abcdef\r\n");
    }
    msg.extend_from_slice(b".\r\nQUIT\r\n");
    let cfg = DecoderConfig {
        max_size: 100,
        ..Default::default()
    };
    let (content, summary, rest) = feed(&cfg, &msg.chunks(7).collect::<Vec<_>>());
    assert_eq!(content.len(), 100);
    assert_eq!(
        summary.unwrap().outcome,
        Err(DataError::TooLarge {
            size: 34_000,
            limit: 100
        })
    );
    assert_eq!(rest, b"QUIT\r\n");
}

fn arb_config() -> impl Strategy<Value = DecoderConfig> {
    (
        prop_oneof![Just(u64::MAX), 0u64..64],
        1usize..12,
        prop_oneof![Just(LongLines::Accept), Just(LongLines::Reject)],
        prop_oneof![
            Just(BareLineEnding::Reject),
            Just(BareLineEnding::Normalize),
            Just(BareLineEnding::PassThrough)
        ],
    )
        .prop_map(
            |(max_size, max_line_length, long_lines, bare)| DecoderConfig {
                max_size,
                max_line_length,
                long_lines,
                bare_line_endings: bare,
            },
        )
}

/// Bytes drawn mostly from the characters that matter.
fn arb_input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(b'\r'),
            4 => Just(b'\n'),
            4 => Just(b'.'),
            3 => Just(b'a'),
            1 => any::<u8>(),
        ],
        0..120,
    )
    .prop_flat_map(|v| {
        prop::bool::ANY.prop_map(move |end| {
            let mut v = v.clone();
            if end {
                v.extend_from_slice(b"\r\n.\r\nNEXT");
            }
            v
        })
    })
}

fn split_points(len: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..=len, 0..6).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut prev = 0;
    for &c in cuts {
        out.push(&input[prev..c]);
        prev = c;
    }
    out.push(&input[prev..]);
    out
}

proptest! {
    /// The streaming decoder agrees with the whole-buffer reference decoder, however the input
    /// is split.
    #[test]
    fn differential_against_reference(
        cfg in arb_config(),
        (input, cuts) in arb_input().prop_flat_map(|v| { let n = v.len(); (Just(v), split_points(n)) }),
    ) {
        let got = feed(&cfg, &pieces(&input, &cuts));
        match reference::decode(&input, &cfg) {
            Some(exp) => {
                prop_assert_eq!(&got.0, &exp.content);
                prop_assert_eq!(got.1, Some(exp.summary));
                prop_assert_eq!(&got.2[..], &input[exp.consumed..]);
            }
            None => prop_assert_eq!(got.1, None),
        }
        // Split invariance, including the unfinished case.
        prop_assert_eq!(feed(&cfg, &pieces(&input, &cuts)), feed(&cfg, &[&input]));
    }

    /// Arbitrary bytes: never a panic, and split invariance.
    #[test]
    fn arbitrary_bytes_split_invariant(
        (input, cuts) in prop::collection::vec(any::<u8>(), 0..300)
            .prop_flat_map(|v| { let n = v.len(); (Just(v), split_points(n)) }),
    ) {
        let cfg = DecoderConfig::default();
        prop_assert_eq!(feed(&cfg, &pieces(&input, &cuts)), feed(&cfg, &[&input]));
    }
}

/// Long, mostly well-formed input: text lines joined by CRLF with a few injected dots, bare
/// CRs, bare LFs and terminator look-alikes, so the block-wise fast scan is exercised.
fn arb_long_input() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((0usize..150, any::<u8>()), 1..40),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop::sample::select(vec![
                    &b"."[..],
                    b"\r",
                    b"\n",
                    b"\r\n.",
                    b"\n.",
                    b"\r.",
                    b"\r\n.\r",
                    b"\r\n.\n",
                ]),
            ),
            0..4,
        ),
        prop::bool::ANY,
    )
        .prop_map(|(lines, injections, end)| {
            let mut v = Vec::new();
            for (len, seed) in lines {
                if seed % 7 == 0 {
                    v.push(b'.');
                }
                v.extend((0..len).map(|k| b'a' + ((k + seed as usize) % 26) as u8));
                v.extend_from_slice(b"\r\n");
            }
            for (at, bytes) in injections {
                let at = at.index(v.len() + 1);
                v.splice(at..at, bytes.iter().copied());
            }
            if end {
                v.extend_from_slice(b".\r\nNEXT");
            }
            v
        })
}

proptest! {
    #[test]
    fn differential_long_inputs(
        bare in prop_oneof![
            Just(BareLineEnding::Reject),
            Just(BareLineEnding::Normalize),
            Just(BareLineEnding::PassThrough)
        ],
        (input, cuts) in arb_long_input()
            .prop_flat_map(|v| { let n = v.len(); (Just(v), split_points(n)) }),
    ) {
        let cfg = DecoderConfig { bare_line_endings: bare, ..Default::default() };
        let got = feed(&cfg, &pieces(&input, &cuts));
        match reference::decode(&input, &cfg) {
            Some(exp) => {
                prop_assert_eq!(&got.0, &exp.content);
                prop_assert_eq!(got.1, Some(exp.summary));
                prop_assert_eq!(&got.2[..], &input[exp.consumed..]);
            }
            None => prop_assert_eq!(got.1, None),
        }
        prop_assert_eq!(feed(&cfg, &pieces(&input, &cuts)), feed(&cfg, &[&input]));
    }
}

/// `.` CRLF right after the `354` is an empty message under every policy, however the
/// three octets are split (RFC 5321 4.1.1.4: the CRLF that ended the DATA command is the
/// first CRLF of the terminator).
#[test]
fn empty_message_under_every_policy() {
    let msg = b".\r\nQUIT\r\n";
    for policy in policies() {
        let cfg = DecoderConfig {
            bare_line_endings: policy,
            ..Default::default()
        };
        for i in 0..=msg.len() {
            for j in i..=msg.len() {
                let (content, summary, rest) = feed(&cfg, &[&msg[..i], &msg[i..j], &msg[j..]]);
                assert!(content.is_empty(), "{policy:?} {i} {j}");
                assert_eq!(
                    summary,
                    Some(DataSummary {
                        size: 0,
                        outcome: Ok(())
                    })
                );
                assert_eq!(rest, b"QUIT\r\n");
            }
        }
    }
}

/// Dot-unstuffing (RFC 5321 4.5.2): only the first dot of a line that starts after a real
/// CRLF is removed, exactly one; a dot after a bare LF or bare CR is content under every
/// policy (the decoder's documented rule: only CRLF starts a line).
#[test]
fn unstuffing_removes_exactly_one_dot_after_crlf_only() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"..\r\n", b".\r\n"),
        (b"...\r\n", b"..\r\n"),
        (b"a\r\n..b.\r\n", b"a\r\n.b.\r\n"),
        (b".a\r\n", b"a\r\n"),
        (b"a.\r\n", b"a.\r\n"),
    ];
    for policy in policies() {
        let cfg = DecoderConfig {
            bare_line_endings: policy,
            ..Default::default()
        };
        for (input, want) in cases {
            let mut msg = input.to_vec();
            msg.extend_from_slice(b".\r\n");
            let (content, summary, _) = feed(&cfg, &[&msg]);
            assert_eq!(&content[..], *want, "{policy:?} {input:?}");
            assert_eq!(summary.unwrap().outcome, Ok(()));
        }
        // A dot after a bare line ending is kept (both dots of `..`).
        for (input, normalized) in [
            (&b"a\n..b\r\n"[..], &b"a\r\n..b\r\n"[..]),
            (b"a\r..b\r\n", b"a\r\n..b\r\n"),
        ] {
            let mut msg = input.to_vec();
            msg.extend_from_slice(b".\r\n");
            let (content, summary, _) = feed(&cfg, &[&msg]);
            let want = if policy == BareLineEnding::Normalize {
                normalized
            } else {
                input
            };
            assert_eq!(&content[..], want, "{policy:?} {input:?}");
            assert_eq!(
                summary.unwrap().outcome.is_ok(),
                policy != BareLineEnding::Reject
            );
        }
    }
}

/// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including its CRLF, not
/// counting the stuffing dot. With `LongLines::Reject`, 1000 passes and 1001 is refused
/// (`500 5.5.2`) after the real end of data, the line counted across every split of the
/// input (inside the line and inside its CRLF); the rest of the message is still read, and
/// the pipelined command after the end is untouched.
#[test]
fn text_line_limit_is_1000_octets_with_crlf_across_splits() {
    let cfg = DecoderConfig {
        long_lines: LongLines::Reject,
        ..Default::default()
    };
    assert_eq!(cfg.max_line_length, 1000);
    for stuffed in [false, true] {
        for (total, ok) in [(1000usize, true), (1001, false)] {
            let mut msg = b"first\r\n".to_vec();
            if stuffed {
                // `..xxx`: one dot is stuffing (not counted), the other is content.
                msg.extend_from_slice(b"..");
                msg.extend(vec![b'x'; total - 3]);
            } else {
                msg.extend(vec![b'x'; total - 2]);
            }
            msg.extend_from_slice(b"\r\nlast\r\n.\r\nQUIT\r\n");
            let whole = feed(&cfg, &[&msg]);
            let (content, summary, rest) = &whole;
            assert_eq!(rest, b"QUIT\r\n");
            assert_eq!(content.len(), 7 + total + 6);
            assert!(content.ends_with(b"\r\nlast\r\n"));
            let summary = summary.clone().unwrap();
            if ok {
                assert_eq!(summary.outcome, Ok(()), "{total} {stuffed}");
            } else {
                let e = summary.outcome.unwrap_err();
                assert_eq!(
                    e,
                    DataError::LineTooLong {
                        limit: 1000,
                        offset: 7
                    }
                );
                assert_eq!((e.code(), e.enhanced_code()), (500, "5.5.2"));
            }
            for i in (0..=msg.len()).step_by(7).chain(7..12).chain(1000..1012) {
                let i = i.min(msg.len());
                assert_eq!(feed(&cfg, &[&msg[..i], &msg[i..]]), whole, "{total} {i}");
            }
            let pieces: Vec<&[u8]> = msg.chunks(3).collect();
            assert_eq!(feed(&cfg, &pieces), whole);
        }
    }
}

/// The size cap counts decoded octets: CRLFs included, stuffing dots and the terminator
/// not (the message size of RFC 1870 section 5). `size == max_size` passes, one more
/// octet is `552 5.3.4`, and exactly `max_size` octets are emitted.
#[test]
fn size_cap_boundary_counts_unstuffed_octets() {
    // 12 decoded octets: "ab\r\n" ".cd\r\n" ".\r\n"; 15 on the wire before ". CRLF".
    let msg = b"ab\r\n..cd\r\n..\r\n.\r\nQUIT\r\n";
    for policy in policies() {
        for (max_size, ok) in [(12u64, true), (11, false), (13, true)] {
            let cfg = DecoderConfig {
                max_size,
                bare_line_endings: policy,
                ..Default::default()
            };
            for i in 0..=msg.len() {
                let (content, summary, rest) = feed(&cfg, &[&msg[..i], &msg[i..]]);
                let summary = summary.unwrap();
                assert_eq!(summary.size, 12);
                assert_eq!(rest, b"QUIT\r\n");
                if ok {
                    assert_eq!(summary.outcome, Ok(()));
                    assert_eq!(content, b"ab\r\n.cd\r\n.\r\n");
                } else {
                    assert_eq!(
                        summary.outcome,
                        Err(DataError::TooLarge {
                            size: 12,
                            limit: 11
                        })
                    );
                    assert_eq!(content, b"ab\r\n.cd\r\n.\r");
                }
            }
        }
    }
}
