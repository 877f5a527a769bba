//! The streaming command decoder (`ehlo::syntax::decoder::CommandDecoder`):
//! * a random session (commands, BDAT chunks, accepted DATA content, over-long garbage
//!   lines, lines that do not parse) serialized, concatenated and fed in random splits
//!   decodes to exactly what was serialized: `decode(serialize(x)) == x`, each garbage line
//!   one `LineTooLong` with decoding resynchronised after it, each bad line one `Invalid`;
//! * between calls the buffer holds less than one line's limit;
//! * a 100 MiB line without a line end, fed in 64 KiB pieces, never makes the buffer hold
//!   more than its limit.

mod command_strategies;
mod split_support;

use command_strategies::{command, utf8_command};
use ehlo::bytes::BytesMut;
use ehlo::data::{DataEncoder, DataEvent, DecoderConfig, EncoderConfig};
use ehlo::limits::ParamExtensions;
use ehlo::syntax::command::{Command, SaslResponse};
use ehlo::syntax::decoder::{CommandDecoder, DecoderOptions};
use ehlo::syntax::{DecodeError, Leniency};
use proptest::collection::vec;
use proptest::prelude::*;
use split_support::Rng;

/// One thing the client sends.
#[derive(Debug, Clone)]
enum Item {
    /// A command (a BDAT command is followed by its chunk).
    Command(Command<'static>),
    /// `DATA`, answered `354`, and this content (CRLF-ended lines).
    Data(Vec<u8>),
    /// A line of this many octets after a `Z`, longer than any limit it can get.
    Garbage(usize),
    /// A complete line that does not parse.
    Bad(&'static [u8]),
}

/// What the decoder gives back for the items.
#[derive(Debug, Clone, PartialEq)]
enum Out {
    Command(Command<'static>),
    Chunk(Vec<u8>),
    Content(Vec<u8>),
    TooLong,
    Invalid,
}

const BAD: &[&[u8]] = &[
    b"MAIL FROM:<a@@b>\r\n",
    b"\r\n",
    b"RCPT TO:<>\r\n",
    b"DATA now\r\n",
    b"BDAT x\r\n",
    b"NOOP \x00\r\n",
];

/// A BDAT chunk of `size` octets that looks like commands and an end of data.
fn chunk(size: u64) -> Vec<u8> {
    b"RSET\r\n.\r\nQUIT\r\n"
        .iter()
        .copied()
        .cycle()
        .take(size as usize)
        .collect()
}

fn item() -> impl Strategy<Value = Item> {
    let body = vec("\\.?[ -~]{0,30}", 0..6).prop_map(|lines| {
        lines
            .iter()
            .flat_map(|l| [l.as_bytes(), b"\r\n"].concat())
            .collect()
    });
    prop_oneof![
        8 => command().prop_map(|c| match c {
            // Small chunks, so a session holds more than one.
            Command::Bdat { size, last } => Item::Command(Command::Bdat { size: size % 40, last }),
            c => Item::Command(c),
        }),
        1 => body.prop_map(Item::Data),
        1 => (511usize..3000).prop_map(Item::Garbage),
        1 => proptest::sample::select(BAD).prop_map(Item::Bad),
    ]
}

/// Whether `cmd` fits the limits `opts` frame its line with (and XEXCH50's 50 octets).
fn fits(cmd: &Command<'_>, opts: &DecoderOptions) -> bool {
    let wire = cmd.to_bytes();
    let max = match cmd {
        Command::XExch50 { .. } => 50,
        _ => opts.line_limits().for_line(&wire),
    };
    wire.len() <= max
}

/// The wire form of `items`, what the decoder must give back, and for each DATA command
/// in order whether it is answered `354`.
fn serialize(items: &[Item]) -> (Vec<u8>, Vec<Out>, Vec<bool>) {
    let (mut wire, mut out, mut accepted) = (Vec::new(), Vec::new(), Vec::new());
    for item in items {
        match item {
            Item::Command(cmd) => {
                wire.extend_from_slice(&cmd.to_bytes());
                out.push(Out::Command(cmd.clone()));
                match cmd {
                    Command::Bdat { size, .. } if *size > 0 => {
                        wire.extend_from_slice(&chunk(*size));
                        out.push(Out::Chunk(chunk(*size)));
                    }
                    Command::Data => accepted.push(false),
                    _ => {}
                }
            }
            Item::Data(body) => {
                wire.extend_from_slice(b"DATA\r\n");
                let mut enc = DataEncoder::new(EncoderConfig::default());
                let mut stuffed = BytesMut::new();
                enc.encode(body, &mut stuffed);
                enc.finish(&mut stuffed);
                wire.extend_from_slice(&stuffed);
                out.push(Out::Command(Command::Data));
                out.push(Out::Content(body.clone()));
                accepted.push(true);
            }
            Item::Garbage(n) => {
                wire.push(b'Z');
                wire.extend(b"x y!~".iter().copied().cycle().take(*n));
                wire.extend_from_slice(b"\r\n");
                out.push(Out::TooLong);
            }
            Item::Bad(line) => {
                wire.extend_from_slice(line);
                out.push(Out::Invalid);
            }
        }
    }
    (wire, out, accepted)
}

enum Mode {
    Commands,
    Chunk(Vec<u8>),
    Data(Vec<u8>),
}

/// Feeds `wire` to a decoder in random pieces, switching to DATA content after each DATA
/// command `accepted` says is answered `354`, and collects what comes out.
fn decode(wire: &[u8], opts: DecoderOptions, accepted: &[bool], rng: &mut Rng) -> Vec<Out> {
    let mut dec = CommandDecoder::new(opts);
    let limits = opts.line_limits();
    let mut accepted = accepted.iter();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut mode = Mode::Commands;
    let max_piece = [1, 7, 64, 700, 5000][(rng.next() % 5) as usize];
    let mut rest = wire;
    while !rest.is_empty() {
        let n = rng.piece(rest.len(), max_piece);
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match &mut mode {
                Mode::Commands => match dec.decode(&mut buf) {
                    Ok(Some(cmd)) => {
                        match cmd {
                            Command::Bdat { size, .. } if size > 0 => {
                                mode = Mode::Chunk(Vec::new());
                            }
                            Command::Data if accepted.next() == Some(&true) => {
                                dec.begin_data(DecoderConfig::default());
                                mode = Mode::Data(Vec::new());
                            }
                            _ => {}
                        }
                        out.push(Out::Command(cmd));
                    }
                    Ok(None) => {
                        // Less than a line's limit is kept (one CR while skipping).
                        assert!(
                            buf.len() <= 1 || buf.len() < limits.for_line(&buf),
                            "{} octets buffered",
                            buf.len()
                        );
                        break;
                    }
                    Err(DecodeError::LineTooLong { .. }) => out.push(Out::TooLong),
                    Err(DecodeError::Invalid { .. }) => out.push(Out::Invalid),
                    Err(e) => panic!("unexpected decode error: {e}"),
                },
                Mode::Chunk(acc) => {
                    let piece = dec.read_chunk(&mut buf);
                    if let Some(p) = &piece {
                        acc.extend_from_slice(p);
                    }
                    if !dec.content_pending() {
                        out.push(Out::Chunk(std::mem::take(acc)));
                        mode = Mode::Commands;
                    } else if piece.is_none() {
                        assert!(buf.is_empty());
                        break;
                    }
                }
                Mode::Data(acc) => match dec.decode_data(&mut buf) {
                    Some(DataEvent::Content(c)) => acc.extend_from_slice(&c),
                    Some(DataEvent::End(summary)) => {
                        assert_eq!(summary.outcome, Ok(()));
                        out.push(Out::Content(std::mem::take(acc)));
                        mode = Mode::Commands;
                    }
                    None => {
                        assert!(buf.is_empty());
                        break;
                    }
                },
            }
        }
    }
    assert!(!dec.in_progress());
    out
}

fn options(strict: bool) -> DecoderOptions {
    let mut opts = DecoderOptions {
        params: ParamExtensions::ALL,
        link2state: true,
        ..DecoderOptions::default()
    };
    if strict {
        opts.parse.leniency = Leniency::Strict;
    }
    opts
}

proptest! {
    #[test]
    fn a_session_in_random_splits_decodes_to_what_was_sent(
        items in vec(item(), 0..24),
        strict in any::<bool>(),
        seed in 1u64..,
    ) {
        let opts = options(strict);
        let items: Vec<Item> = items
            .into_iter()
            .filter(|i| !matches!(i, Item::Command(c) if !fits(c, &opts)))
            .collect();
        let (wire, expected, accepted) = serialize(&items);
        let got = decode(&wire, opts, &accepted, &mut Rng(seed));
        prop_assert_eq!(got, expected);
    }

    /// The same with SMTPUTF8 offered (`ParseOptions::utf8`): UTF-8 paths and parameter
    /// values among the other items, in random splits, decode to what was sent.
    #[test]
    fn a_utf8_session_in_random_splits_decodes_to_what_was_sent(
        // Boxed: the two strategies' value trees side by side overflow a test thread's
        // stack in a debug build.
        items in vec(prop_oneof![
            3 => item().boxed(),
            1 => utf8_command().prop_map(Item::Command).boxed(),
        ], 0..24),
        strict in any::<bool>(),
        seed in 1u64..,
    ) {
        let mut opts = options(strict);
        opts.parse.utf8 = true;
        let items: Vec<Item> = items
            .into_iter()
            .filter(|i| !matches!(i, Item::Command(c) if !fits(c, &opts)))
            .collect();
        let (wire, expected, accepted) = serialize(&items);
        let got = decode(&wire, opts, &accepted, &mut Rng(seed));
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn commands_alone_round_trip(cmds in vec(command(), 0..16), seed in 1u64..) {
        // Without content or errors: what comes out re-serializes to the input.
        let opts = options(false);
        let cmds: Vec<Command<'static>> = cmds
            .into_iter()
            .filter(|c| fits(c, &opts) && !matches!(c, Command::Bdat { .. }))
            .collect();
        let wire: Vec<u8> = cmds.iter().flat_map(|c| c.to_bytes()).collect();
        let got = decode(&wire, opts, &[], &mut Rng(seed));
        let again: Vec<u8> = got
            .iter()
            .flat_map(|o| match o {
                Out::Command(c) => c.to_bytes(),
                other => panic!("{other:?}"),
            })
            .collect();
        prop_assert_eq!(again, wire);
    }
}

/// 100 MiB without a line end, fed in 64 KiB pieces: one `LineTooLong`, and the buffer never
/// keeps more than the limit (the decoder skips what it does not store).
#[test]
fn a_100_mib_line_is_skipped_in_bounded_memory() {
    for sasl in [false, true] {
        let mut dec = CommandDecoder::default();
        let mut buf = BytesMut::new();
        let piece = vec![b'A'; 64 * 1024];
        let mut errors = 0;
        let limit = if sasl { 12288 } else { 512 };
        for _ in 0..(100 * 1024 * 1024 / piece.len()) {
            buf.extend_from_slice(&piece);
            let r = if sasl {
                dec.decode_sasl(&mut buf).map(|r| r.map(|_| ()))
            } else {
                dec.decode(&mut buf).map(|r| r.map(|_| ()))
            };
            match r {
                Ok(None) => {}
                Err(DecodeError::LineTooLong { limit: l, sasl: s }) => {
                    assert_eq!((l, s), (limit, sasl));
                    errors += 1;
                }
                other => panic!("{other:?}"),
            }
            assert!(buf.len() < limit, "{} octets kept", buf.len());
            // What the buffer holds on to stays one piece or so: the skipped octets are
            // released, not kept behind the cursor.
            assert!(buf.capacity() <= 2 * piece.len(), "{}", buf.capacity());
        }
        assert_eq!(errors, 1);
        assert!(dec.in_progress());
        if sasl {
            // The line ends; the next one is read as a SASL line again.
            buf.extend_from_slice(b"\r\n!\r\n*\r\n");
            assert!(matches!(
                dec.decode_sasl(&mut buf),
                Err(DecodeError::Invalid { .. })
            ));
            assert_eq!(dec.decode_sasl(&mut buf), Ok(Some(SaslResponse::Cancel)));
        } else {
            buf.extend_from_slice(b"\r\nQUIT\r\n");
            assert_eq!(dec.decode(&mut buf), Ok(Some(Command::Quit)));
        }
        assert!(buf.is_empty() && !dec.in_progress());
    }
}
