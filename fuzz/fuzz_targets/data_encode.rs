#![no_main]
//! The DATA encoder: split independence, no end-of-data look-alike before the real end, and
//! `decode(encode(m))` equal to the repaired `m`.
//!
//! Layout of the fuzz input: byte 0 picks the bare-CR policy, bytes 1..4 pick up to three
//! split points, the rest is the message content.
use bytes::{Bytes, BytesMut};
use ehlo::data::{
    BareCr, BareLineEnding, DataDecoder, DataEncoder, DataEvent, DecoderConfig, EncoderConfig,
};
use libfuzzer_sys::fuzz_target;

fn is_bare(m: &[u8], k: usize) -> bool {
    match m[k] {
        b'\r' => m.get(k + 1) != Some(&b'\n'),
        b'\n' => k == 0 || m[k - 1] != b'\r',
        _ => false,
    }
}

fn encode(cfg: EncoderConfig, pieces: &[&[u8]]) -> Vec<u8> {
    let mut enc = DataEncoder::new(cfg);
    let mut out = BytesMut::new();
    for p in pieces {
        enc.encode(p, &mut out);
    }
    enc.finish(&mut out);
    out.to_vec()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, m) = data.split_at(4);
    let bare_cr = if head[0] & 1 == 0 {
        BareCr::Normalize
    } else {
        BareCr::PassThrough
    };
    let cfg = EncoderConfig { bare_cr };
    let n = m.len();
    let mut cuts: Vec<usize> = head[1..]
        .iter()
        .map(|&c| usize::from(c) * (n + 1) / 256)
        .collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut prev = 0;
    for c in cuts {
        pieces.push(&m[prev..c]);
        prev = c;
    }
    pieces.push(&m[prev..]);

    let wire = encode(cfg, &pieces);
    assert_eq!(wire, encode(cfg, &[m]), "split dependence");

    // No bare LF; no dot after CR or LF except a stuffed one after CRLF, or the terminator.
    let len = wire.len();
    assert!(wire.ends_with(b".\r\n"));
    for k in 0..len {
        if is_bare(&wire, k) {
            assert!(wire[k] == b'\r' && bare_cr == BareCr::PassThrough);
        }
        if wire[k] == b'.' && k > 0 && (wire[k - 1] == b'\r' || wire[k - 1] == b'\n') {
            assert!(k >= 2 && wire[k - 1] == b'\n' && wire[k - 2] == b'\r');
            assert!(k == len - 3 || wire.get(k + 1) == Some(&b'.'));
        }
    }

    // Round trip.
    let mut expected = Vec::new();
    for (k, &b) in m.iter().enumerate() {
        let rewrite = is_bare(m, k)
            && (b == b'\n' || bare_cr == BareCr::Normalize || m.get(k + 1) == Some(&b'.'));
        if rewrite {
            expected.extend_from_slice(b"\r\n");
        } else {
            expected.push(b);
        }
    }
    if !expected.is_empty() && !expected.ends_with(b"\r\n") {
        expected.extend_from_slice(b"\r\n");
    }
    let mut dec = DataDecoder::new(DecoderConfig {
        max_size: u64::MAX,
        bare_line_endings: BareLineEnding::PassThrough,
        ..Default::default()
    });
    let mut input = Bytes::from(wire);
    let mut content = Vec::new();
    loop {
        match dec.decode(&mut input) {
            Some(DataEvent::Content(c)) => content.extend_from_slice(&c),
            Some(DataEvent::End(s)) => {
                assert_eq!(s.outcome, Ok(()));
                break;
            }
            None => panic!("the encoded message has no end of data"),
        }
    }
    assert!(input.is_empty(), "end of data before the real end");
    assert_eq!(content, expected);
});
