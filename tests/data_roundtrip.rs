//! DATA encoder/decoder and BDAT chunker/reader round trips over arbitrary bytes and
//! arbitrary split points.

use bytes::{Bytes, BytesMut};
use ehlo::data::{
    BareCr, BareLineEnding, BdatChunker, ChunkReader, DataDecoder, DataEncoder, DataEvent,
    DecoderConfig, EncoderConfig,
};
use ehlo::syntax::command::{parse_command, Command};
use ehlo::syntax::{Leniency, ParseOptions};
use proptest::prelude::*;

fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        out.push(&input[prev..c]);
        prev = c;
    }
    out.push(&input[prev..]);
    out
}

fn encode(cfg: EncoderConfig, chunks: &[&[u8]]) -> Vec<u8> {
    let mut enc = DataEncoder::new(cfg);
    let mut out = BytesMut::new();
    for c in chunks {
        enc.encode(c, &mut out);
    }
    enc.finish(&mut out);
    out.to_vec()
}

/// Decodes a complete DATA stream; panics unless the end comes exactly at the end of input.
fn decode(cfg: &DecoderConfig, chunks: &[&[u8]]) -> Vec<u8> {
    let mut dec = DataDecoder::new(cfg.clone());
    let mut content = Vec::new();
    for (k, c) in chunks.iter().enumerate() {
        let mut input = Bytes::copy_from_slice(c);
        while let Some(ev) = dec.decode(&mut input) {
            match ev {
                DataEvent::Content(c) => content.extend_from_slice(&c),
                DataEvent::End(s) => {
                    assert!(input.is_empty(), "end of data before the real end");
                    assert!(chunks[k + 1..].iter().all(|c| c.is_empty()));
                    assert_eq!(s.outcome, Ok(()));
                    assert_eq!(s.size, content.len() as u64);
                    return content;
                }
            }
        }
    }
    panic!("no end of data");
}

fn is_bare(m: &[u8], k: usize) -> bool {
    match m[k] {
        b'\r' => m.get(k + 1) != Some(&b'\n'),
        b'\n' => k == 0 || m[k - 1] != b'\r',
        _ => false,
    }
}

/// What the receiver should get: bare LF as CRLF; bare CR as CRLF (always with `Normalize`,
/// only before `.` with `PassThrough`); CRLF appended to non-empty content not ending in CRLF.
fn expected(m: &[u8], bare_cr: BareCr) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, &b) in m.iter().enumerate() {
        let rewrite = is_bare(m, k)
            && (b == b'\n' || bare_cr == BareCr::Normalize || m.get(k + 1) == Some(&b'.'));
        if rewrite {
            out.extend_from_slice(b"\r\n");
        } else {
            out.push(b);
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The encoded stream never holds anything a receiver could take for an end of data before
/// the real one: every `.` that follows a CR or LF is a stuffed dot after a real CRLF.
fn check_wire(enc: &[u8], bare_cr: BareCr) {
    assert!(enc.ends_with(b".\r\n"));
    let n = enc.len();
    for k in 0..n {
        if is_bare(enc, k) {
            assert_eq!(enc[k], b'\r', "bare LF in encoded output at {k}");
            assert_eq!(
                bare_cr,
                BareCr::PassThrough,
                "bare CR in encoded output at {k}"
            );
        }
        if enc[k] == b'.' && k > 0 && (enc[k - 1] == b'\r' || enc[k - 1] == b'\n') {
            assert!(
                k >= 2 && enc[k - 1] == b'\n' && enc[k - 2] == b'\r',
                "dot at {k}"
            );
            assert!(
                k == n - 3 || enc.get(k + 1) == Some(&b'.'),
                "unstuffed dot at {k}"
            );
        }
    }
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'x')],
            0..60
        ),
    ]
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..6)
}

proptest! {
    #[test]
    fn data_round_trip_normalize(m in content(), c1 in cuts(), c2 in cuts()) {
        let cfg = EncoderConfig { bare_cr: BareCr::Normalize };
        let enc = encode(cfg, &pieces(&m, &c1));
        prop_assert_eq!(&enc, &encode(cfg, &[&m]));
        check_wire(&enc, BareCr::Normalize);
        let dec_cfg = DecoderConfig { max_size: u64::MAX, ..Default::default() };
        prop_assert_eq!(decode(&dec_cfg, &pieces(&enc, &c2)), expected(&m, BareCr::Normalize));
        // A strict receiver accepts it too: there are no bare line endings left.
        let strict = DecoderConfig { bare_line_endings: BareLineEnding::Reject, ..dec_cfg };
        prop_assert_eq!(decode(&strict, &[&enc]), expected(&m, BareCr::Normalize));
    }

    #[test]
    fn data_round_trip_pass_through(m in content(), c1 in cuts(), c2 in cuts()) {
        let cfg = EncoderConfig { bare_cr: BareCr::PassThrough };
        let enc = encode(cfg, &pieces(&m, &c1));
        prop_assert_eq!(&enc, &encode(cfg, &[&m]));
        check_wire(&enc, BareCr::PassThrough);
        let dec_cfg = DecoderConfig {
            max_size: u64::MAX,
            bare_line_endings: BareLineEnding::PassThrough,
            ..Default::default()
        };
        prop_assert_eq!(decode(&dec_cfg, &pieces(&enc, &c2)), expected(&m, BareCr::PassThrough));
    }

    #[test]
    fn bdat_round_trip(m in content(), c1 in cuts(), c2 in cuts(), size in 1usize..40) {
        // Client: push in arbitrary pieces, drain frames as they fill.
        let mut chunker = BdatChunker::new(size);
        let mut wire = Vec::new();
        let mut frames = Vec::new();
        for p in pieces(&m, &c1) {
            chunker.push(Bytes::copy_from_slice(p));
            while let Some(f) = chunker.next_frame(false) {
                frames.push(f);
            }
            prop_assert!(chunker.buffered() < size);
        }
        while let Some(f) = chunker.next_frame(true) {
            frames.push(f);
        }
        prop_assert!(chunker.is_finished());
        for (k, (header, body)) in frames.iter().enumerate() {
            let last = k + 1 == frames.len();
            let want = if last {
                format!("BDAT {} LAST\r\n", body.len())
            } else {
                prop_assert_eq!(body.len(), size);
                format!("BDAT {}\r\n", body.len())
            };
            prop_assert_eq!(header.clone(), want.into_bytes());
            wire.extend_from_slice(header);
            wire.extend_from_slice(body);
        }
        wire.extend_from_slice(b"QUIT\r\n");

        // Server: a minimal header parser plus ChunkReader, input split arbitrarily.
        let mut got = Vec::new();
        let mut line = Vec::new();
        let mut reader: Option<(ChunkReader, bool)> = None;
        let mut done = false;
        let mut after = Vec::new();
        for p in pieces(&wire, &c2) {
            let mut input = Bytes::copy_from_slice(p);
            while !input.is_empty() {
                if done {
                    after.extend_from_slice(&input);
                    break;
                }
                if let Some((r, last)) = reader.as_mut() {
                    if let Some(piece) = r.read(&mut input) {
                        got.extend_from_slice(&piece);
                    }
                    if r.is_done() {
                        done = *last;
                        reader = None;
                    }
                    continue;
                }
                let b = input.split_to(1)[0];
                line.push(b);
                if line.ends_with(b"\r\n") {
                    // The chunker's header is a BDAT command as the syntax layer reads it
                    // (RFC 3030 section 2) and writes it.
                    let cmd = parse_command(&line, &ParseOptions { leniency: Leniency::Strict, ..ParseOptions::default() });
                    let Ok(Command::Bdat { size: n, last }) = cmd else {
                        panic!("not a BDAT command: {cmd:?}");
                    };
                    prop_assert_eq!(Command::Bdat { size: n, last }.to_bytes(), line.clone());
                    let r = ChunkReader::new(n);
                    if r.is_done() {
                        done = last;
                    } else {
                        reader = Some((r, last));
                    }
                    line.clear();
                }
            }
        }
        prop_assert!(done);
        prop_assert_eq!(got, m);
        prop_assert_eq!(after, b"QUIT\r\n".to_vec());
    }
}

#[test]
fn encoder_stuffs_the_smuggling_variants() {
    let m = b"a\n.\nb\r\n.\r\nc\r.\r\nMAIL FROM:<evil@example.test>\r\n";
    let enc = encode(EncoderConfig::default(), &[m]);
    assert_eq!(
        enc,
        b"a\r\n..\r\nb\r\n..\r\nc\r\n..\r\nMAIL FROM:<evil@example.test>\r\n.\r\n"
    );
}

/// Long text (so the block-wise fast scan runs) with a few injected dots, bare CRs and bare
/// LFs.
fn long_content() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((0usize..150, any::<u8>()), 1..40),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop::sample::select(vec![&b"."[..], b"\r", b"\n", b"\r\n.", b"\n.", b"\r."]),
            ),
            0..4,
        ),
    )
        .prop_map(|(lines, injections)| {
            let mut v = Vec::new();
            for (len, seed) in lines {
                if seed % 5 == 0 {
                    v.push(b'.');
                }
                v.extend((0..len).map(|k| b'a' + ((k + seed as usize) % 26) as u8));
                v.extend_from_slice(if seed % 11 == 0 { b"\n" } else { b"\r\n" });
            }
            for (at, bytes) in injections {
                let at = at.index(v.len() + 1);
                v.splice(at..at, bytes.iter().copied());
            }
            v
        })
}

proptest! {
    #[test]
    fn data_round_trip_long(m in long_content(), c1 in cuts(), c2 in cuts(), pass in any::<bool>()) {
        let bare_cr = if pass { BareCr::PassThrough } else { BareCr::Normalize };
        let cfg = EncoderConfig { bare_cr };
        let enc = encode(cfg, &pieces(&m, &c1));
        prop_assert_eq!(&enc, &encode(cfg, &[&m]));
        check_wire(&enc, bare_cr);
        let dec_cfg = DecoderConfig {
            max_size: u64::MAX,
            bare_line_endings: BareLineEnding::PassThrough,
            ..Default::default()
        };
        prop_assert_eq!(decode(&dec_cfg, &pieces(&enc, &c2)), expected(&m, bare_cr));
    }
}

#[test]
fn bdat_and_xexch50_content_is_never_interpreted() {
    // A BDAT chunk whose content looks like an end of data and a pipelined command.
    let body = b"x\r\n.\r\nMAIL FROM:<evil@example.test>\r\n\n.\n";
    let mut wire = body.to_vec();
    wire.extend_from_slice(b"QUIT\r\n");
    for split in 0..=wire.len() {
        let mut reader = ChunkReader::new(body.len() as u64);
        let mut got = Vec::new();
        let mut a = Bytes::copy_from_slice(&wire[..split]);
        let mut b = Bytes::copy_from_slice(&wire[split..]);
        while let Some(p) = reader.read(&mut a) {
            got.extend_from_slice(&p);
        }
        while let Some(p) = reader.read(&mut b) {
            got.extend_from_slice(&p);
        }
        assert!(reader.is_done());
        assert_eq!(got, body);
        let mut rest = a.to_vec();
        rest.extend_from_slice(&b);
        assert_eq!(rest, b"QUIT\r\n");
    }
    // `BDAT 0 LAST`: nothing to read, the next command is untouched.
    let mut reader = ChunkReader::new(0);
    let mut input = Bytes::from_static(b"QUIT\r\n");
    assert_eq!(reader.read(&mut input), None);
    assert_eq!(&input[..], b"QUIT\r\n");
}

fn any_policy() -> impl Strategy<Value = BareLineEnding> {
    prop_oneof![
        Just(BareLineEnding::Reject),
        Just(BareLineEnding::Normalize),
        Just(BareLineEnding::PassThrough),
    ]
}

/// Decodes all of `input`; returns the content and where the end of data was.
fn decode_at(cfg: &DecoderConfig, input: &[u8]) -> (Vec<u8>, Option<usize>) {
    let mut dec = DataDecoder::new(cfg.clone());
    let mut b = Bytes::copy_from_slice(input);
    let mut content = Vec::new();
    while let Some(ev) = dec.decode(&mut b) {
        match ev {
            DataEvent::Content(c) => content.extend_from_slice(&c),
            DataEvent::End(_) => return (content, Some(input.len() - b.len())),
        }
    }
    (content, None)
}

proptest! {
    /// What a server stores under `Normalize` (every bare CR and LF rewritten to CRLF, so
    /// `LF . LF` is stored as `CRLF . CRLF`) is safe to relay: no bare line ending is
    /// left, and once dot-stuffed by the encoder it has no end of data before the real
    /// one and decodes back to the same octets under every policy.
    #[test]
    fn normalized_content_relays_unchanged(
        m in prop::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'x')],
            0..60,
        ),
        bare_cr in prop_oneof![Just(BareCr::Normalize), Just(BareCr::PassThrough)],
        policy in any_policy(),
    ) {
        let mut input = m.clone();
        input.extend_from_slice(b"\r\n.\r\n");
        let normalize = DecoderConfig { max_size: u64::MAX, ..Default::default() };
        let (stored, end) = decode_at(&normalize, &input);
        prop_assert!(end.is_some());
        prop_assert!((0..stored.len()).all(|k| !is_bare(&stored, k)), "{:?}", stored);
        let wire = encode(EncoderConfig { bare_cr }, &[&stored]);
        let cfg = DecoderConfig { bare_line_endings: policy, ..normalize };
        let (again, end) = decode_at(&cfg, &wire);
        prop_assert_eq!(end, Some(wire.len()));
        prop_assert_eq!(again, stored);
    }
}
