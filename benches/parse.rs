//! Command parsing: ehlo versus smtp-proto 0.2 on the same realistic command mix.
//!
//! Run briefly: `cargo bench --bench parse -- --warm-up-time 1 --measurement-time 3`.
//! Throughput is reported in commands per second (`Throughput::Elements`). Each parser
//! gets one complete line at a time; ehlo's side includes finding the line end
//! (`find_line`), as smtp-proto's parser scans for it too.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ehlo::syntax::command::parse_command;
use ehlo::syntax::line::{find_line, LineStatus};
use ehlo::syntax::ParseOptions;

/// A realistic session mix: submission with AUTH, a relay transaction with DSN parameters,
/// BDAT, and the short verbs.
const MIX: &[&[u8]] = &[
    b"EHLO client.example.test\r\n",
    b"STARTTLS\r\n",
    b"EHLO client.example.test\r\n",
    b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzM2NyM3Q=\r\n",
    b"MAIL FROM:<alice@example.test> SIZE=123456 BODY=8BITMIME\r\n",
    b"RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.test\r\n",
    b"RCPT TO:<carol.jones@mail.example.test> NOTIFY=FAILURE\r\n",
    b"RCPT TO:<dave@example.test>\r\n",
    b"DATA\r\n",
    b"RSET\r\n",
    b"MAIL FROM:<> SIZE=2048 BODY=BINARYMIME\r\n",
    b"RCPT TO:<postmaster@example.test>\r\n",
    b"BDAT 2048 LAST\r\n",
    b"NOOP\r\n",
    b"QUIT\r\n",
];

fn ehlo_parse_all(opts: &ParseOptions) -> usize {
    let mut ok = 0;
    for &line in MIX {
        let line = black_box(line);
        if let LineStatus::Complete { total, .. } = find_line(line, opts.max_line, false) {
            if let Ok(cmd) = parse_command(&line[..total], opts) {
                black_box(&cmd);
                ok += 1;
            }
        }
    }
    ok
}

fn smtp_proto_parse_all() -> usize {
    let mut ok = 0;
    for &line in MIX {
        let line = black_box(line);
        if let Ok(req) = smtp_proto::Request::parse(&mut line.iter()) {
            black_box(&req);
            ok += 1;
        }
    }
    ok
}

fn bench(c: &mut Criterion) {
    let opts = ParseOptions::default();
    // Both parsers must accept every line, or the comparison is meaningless.
    assert_eq!(ehlo_parse_all(&opts), MIX.len());
    assert_eq!(smtp_proto_parse_all(), MIX.len());

    let mut g = c.benchmark_group("command_mix");
    g.throughput(Throughput::Elements(MIX.len() as u64));
    g.bench_function("ehlo", |b| b.iter(|| ehlo_parse_all(&opts)));
    g.bench_function("smtp-proto", |b| b.iter(smtp_proto_parse_all));
    g.finish();

    let mut g = c.benchmark_group("mail_rcpt");
    let mail = MIX[4];
    let rcpt = MIX[5];
    g.throughput(Throughput::Elements(2));
    g.bench_function("ehlo", |b| {
        b.iter(|| {
            black_box(parse_command(black_box(mail), &opts).is_ok())
                & black_box(parse_command(black_box(rcpt), &opts).is_ok())
        })
    });
    g.bench_function("smtp-proto", |b| {
        b.iter(|| {
            black_box(smtp_proto::Request::parse(&mut black_box(mail).iter()).is_ok())
                & black_box(smtp_proto::Request::parse(&mut black_box(rcpt).iter()).is_ok())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
