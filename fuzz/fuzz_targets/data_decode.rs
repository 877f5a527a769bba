#![no_main]
//! The streaming DATA decoder against the whole-buffer reference decoder
//! (`ehlo::data::reference`), with the input split at fuzzer-chosen points.
//!
//! Layout of the fuzz input: byte 0 picks the configuration, bytes 1..4 pick up to three
//! split points, the rest is the data.
use bytes::Bytes;
use ehlo::data::{
    reference, BareLineEnding, DataDecoder, DataEvent, DataSummary, DecoderConfig, LongLines,
};
use libfuzzer_sys::fuzz_target;

fn feed(cfg: &DecoderConfig, pieces: &[&[u8]]) -> (Vec<u8>, Option<DataSummary>, Vec<u8>) {
    let mut dec = DataDecoder::new(cfg.clone());
    let mut content = Vec::new();
    for (k, piece) in pieces.iter().enumerate() {
        let mut input = Bytes::copy_from_slice(piece);
        while let Some(ev) = dec.decode(&mut input) {
            match ev {
                DataEvent::Content(c) => {
                    assert!(!c.is_empty());
                    content.extend_from_slice(&c);
                }
                DataEvent::End(s) => {
                    let mut rest = input.to_vec();
                    for p in &pieces[k + 1..] {
                        rest.extend_from_slice(p);
                    }
                    return (content, Some(s), rest);
                }
            }
        }
        assert!(input.is_empty());
    }
    (content, None, Vec::new())
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, input) = data.split_at(4);
    let cfg = DecoderConfig {
        max_size: if head[0] & 0x40 != 0 {
            u64::from(head[0] & 0x3f) * 4
        } else {
            u64::MAX
        },
        max_line_length: 1 + usize::from(head[0] >> 4 & 0x3) * 8,
        long_lines: if head[0] & 0x80 != 0 {
            LongLines::Reject
        } else {
            LongLines::Accept
        },
        bare_line_endings: match head[0] % 3 {
            0 => BareLineEnding::Reject,
            1 => BareLineEnding::Normalize,
            _ => BareLineEnding::PassThrough,
        },
    };
    let n = input.len();
    let mut cuts: Vec<usize> = head[1..]
        .iter()
        .map(|&c| usize::from(c) * (n + 1) / 256)
        .collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut prev = 0;
    for c in cuts {
        pieces.push(&input[prev..c]);
        prev = c;
    }
    pieces.push(&input[prev..]);

    let got = feed(&cfg, &pieces);
    assert_eq!(got, feed(&cfg, &[input]), "split dependence");
    match reference::decode(input, &cfg) {
        Some(exp) => {
            assert_eq!(got.0, exp.content);
            assert_eq!(got.1, Some(exp.summary));
            assert_eq!(&got.2[..], &input[exp.consumed..]);
        }
        None => assert_eq!(got.1, None),
    }
});
