//! DATA codec throughput on a 10 MiB realistic message (text with occasional leading dots and
//! a base64 attachment), beside plain `memchr` scans of the same buffer.
//!
//! `cargo bench --bench data -- --warm-up-time 1 --measurement-time 3`

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ehlo::data::{DataDecoder, DataEncoder, DataEvent, DecoderConfig, EncoderConfig};

const SIZE: usize = 10 * 1024 * 1024;
const READ: usize = 64 * 1024;

/// Deterministic pseudo-random numbers (xorshift), so every run measures the same message.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// About 40% text, 60% base64 attachment, CRLF line endings.
fn message() -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "mail",
        "server",
        "message",
        "of",
        "and",
        "exchange",
        "delivery",
        "to",
        "a",
        "connector",
        "queue",
        "report",
        "Regards,",
        "meeting",
        "tomorrow",
        "at",
        "please",
        "review",
        "attached",
        "document",
        "thanks",
        "is",
        "in",
        "for",
        "on",
        "with",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut m = Vec::with_capacity(SIZE + 1024);
    m.extend_from_slice(
        b"From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\n\
          Subject: Quarterly report\r\nMIME-Version: 1.0\r\n\
          Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
          Content-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    while m.len() < SIZE * 4 / 10 {
        if rng.below(40) == 0 {
            m.extend_from_slice(b".");
        }
        let mut line = 0;
        let target = 20 + rng.below(55);
        while line < target {
            let w = WORDS[rng.below(WORDS.len() as u64)];
            m.extend_from_slice(w.as_bytes());
            m.push(b' ');
            line += w.len() + 1;
        }
        m.extend_from_slice(b"\r\n");
        if rng.below(8) == 0 {
            m.extend_from_slice(b"\r\n");
        }
    }
    m.extend_from_slice(
        b"--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while m.len() < SIZE - 100 {
        for _ in 0..76 {
            m.push(B64[rng.below(64)]);
        }
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b1--\r\n");
    m
}

fn bench(c: &mut Criterion) {
    let msg = message();
    let mut wire = BytesMut::new();
    let mut enc = DataEncoder::new(EncoderConfig::default());
    enc.encode(&msg, &mut wire);
    enc.finish(&mut wire);
    let wire = wire.freeze();
    let reads: Vec<Bytes> = wire.chunks(READ).map(|c| wire.slice_ref(c)).collect();

    let mut g = c.benchmark_group("data");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.sample_size(20);

    g.bench_function("decode_10MiB", |b| {
        b.iter(|| {
            let mut dec = DataDecoder::new(DecoderConfig::default());
            let mut total = 0usize;
            for r in &reads {
                let mut input = r.clone();
                while let Some(ev) = dec.decode(&mut input) {
                    match ev {
                        DataEvent::Content(c) => total += c.len(),
                        DataEvent::End(s) => assert!(s.outcome.is_ok()),
                    }
                }
            }
            assert!(dec.is_finished());
            black_box(total)
        })
    });

    let mut out = BytesMut::with_capacity(wire.len() + 1024);
    g.bench_function("encode_10MiB", |b| {
        b.iter(|| {
            out.clear();
            let mut enc = DataEncoder::new(EncoderConfig::default());
            for chunk in msg.chunks(READ) {
                enc.encode(chunk, &mut out);
            }
            enc.finish(&mut out);
            black_box(out.len())
        })
    });

    g.bench_function("memchr_lf_count_10MiB", |b| {
        b.iter(|| black_box(memchr::memchr_iter(b'\n', black_box(&wire)).count()))
    });

    g.bench_function("memchr2_crlf_count_10MiB", |b| {
        b.iter(|| black_box(memchr::memchr2_iter(b'\r', b'\n', black_box(&wire)).count()))
    });

    let crlf = memchr::memmem::Finder::new(b"\r\n");
    g.bench_function("memmem_crlf_count_10MiB", |b| {
        b.iter(|| black_box(crlf.find_iter(black_box(&wire)).count()))
    });
    let crlfdot = memchr::memmem::Finder::new(b"\r\n.");
    g.bench_function("memmem_crlfdot_count_10MiB", |b| {
        b.iter(|| black_box(crlfdot.find_iter(black_box(&wire)).count()))
    });
    g.bench_function("memchr_lf_visit_10MiB", |b| {
        b.iter(|| {
            let mut sum = 0usize;
            for p in memchr::memchr_iter(b'\n', black_box(&wire)) {
                sum = sum.wrapping_add(p);
            }
            black_box(sum)
        })
    });

    g.bench_function("memchr_absent_byte_10MiB", |b| {
        b.iter(|| black_box(memchr::memchr(0, black_box(&wire))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
