#![no_main]
//! The streaming command decoder: arbitrary client bytes, fed in pieces whose size comes
//! from the input, through `decode`, `decode_sasl`, `decode_data` and `read_chunk` as a
//! server would switch between them.
//!
//! Layout of the fuzz input: byte 0 sets the options (bit 0 strict, bit 1 UTF-8, bit 2
//! every parameter allowance, bit 3 X-LINK2STATE, bit 4 a 1,000-octet command line limit,
//! bit 5 a 20,000-octet SASL line limit) and byte 1 the modes (low 5 bits + 1: the piece
//! size; bit 5: DATA is answered 354; bit 6: AUTH / X-EXPS are answered 334; bit 7: BDAT
//! chunks are read, else left for `decode` to discard, and XEXCH50 answered 354).
//!
//! Checks: no panic; between calls the buffer holds less than the limit of the line it
//! starts (one CR while skipping), and an empty one when content is still pending after
//! `decode` returns `Ok(None)`;
//! every decoded command and SASL line re-serializes to a line that a fresh decoder with
//! the same options decodes to the same value, and serializing that gives the same bytes.
use bytes::BytesMut;
use ehlo::data::{DataEvent, DecoderConfig};
use ehlo::limits::ParamExtensions;
use ehlo::syntax::command::{Command, SaslResponse};
use ehlo::syntax::decoder::{CommandDecoder, DecoderOptions};
use ehlo::syntax::Leniency;
use libfuzzer_sys::fuzz_target;

/// `wire` through a fresh decoder: exactly one value, all of `wire` consumed.
fn redecode<T>(
    opts: DecoderOptions,
    wire: &[u8],
    step: impl FnOnce(&mut CommandDecoder, &mut BytesMut) -> Option<T>,
) -> T {
    let mut buf = BytesMut::from(wire);
    let value = step(&mut CommandDecoder::new(opts), &mut buf).expect("canonical form decodes");
    assert!(buf.is_empty());
    value
}

fuzz_target!(|data: &[u8]| {
    let Some((&[flags, modes], data)) = data.split_first_chunk::<2>() else {
        return;
    };
    let mut opts = DecoderOptions::default();
    if flags & 1 != 0 {
        opts.parse.leniency = Leniency::Strict;
    }
    opts.parse.utf8 = flags & 2 != 0;
    if flags & 4 != 0 {
        opts.params = ParamExtensions::ALL;
    }
    opts.link2state = flags & 8 != 0;
    if flags & 16 != 0 {
        opts.parse.max_line = 1000;
    }
    if flags & 32 != 0 {
        opts.max_sasl_line = 20_000;
    }
    let piece = usize::from(modes & 0x1f) + 1;
    let (accept_data, accept_auth, read_chunks) =
        (modes & 0x20 != 0, modes & 0x40 != 0, modes & 0x80 != 0);
    let limits = opts.line_limits();
    let sasl_limit = limits.auth.unwrap_or(limits.command);

    let mut dec = CommandDecoder::new(opts);
    let mut buf = BytesMut::new();
    let mut sasl_next = false;
    for input in data.chunks(piece) {
        buf.extend_from_slice(input);
        loop {
            let progressed = if dec.content_pending() && (read_chunks || accept_data) {
                match dec.decode_data(&mut buf) {
                    Some(DataEvent::Content(c)) => {
                        assert!(!c.is_empty());
                        true
                    }
                    Some(DataEvent::End(_)) => true,
                    // Not DATA content: a chunk.
                    None if dec.content_pending() => dec.read_chunk(&mut buf).is_some(),
                    None => false,
                }
            } else if sasl_next {
                match dec.decode_sasl(&mut buf) {
                    Ok(Some(r)) => {
                        let mut wire = Vec::new();
                        r.encode(&mut wire);
                        let again = redecode(opts, &wire, |d, b| d.decode_sasl(b).ok()?);
                        assert_eq!(again, r);
                        // Cancel ends the exchange; otherwise the next line is a SASL line
                        // again until the input's next command-looking decision.
                        sasl_next = !matches!(r, SaslResponse::Cancel) && wire.len() % 2 == 0;
                        true
                    }
                    Ok(None) => {
                        assert!(buf.len() <= 1 || buf.len() < sasl_limit);
                        false
                    }
                    Err(_) => {
                        sasl_next = false;
                        true
                    }
                }
            } else {
                match dec.decode(&mut buf) {
                    Ok(Some(cmd)) => {
                        let wire = cmd.to_bytes();
                        // The canonical line can be longer than what came (angle brackets a
                        // lenient path lacked): a decoder whose command lines take it.
                        let mut wide = opts;
                        wide.parse.max_line = opts.parse.max_line.max(wire.len());
                        let again = redecode(wide, &wire, |d, b| d.decode(b).ok()?);
                        assert_eq!(again, cmd);
                        assert_eq!(again.to_bytes(), wire);
                        match cmd {
                            Command::Data if accept_data => {
                                dec.begin_data(DecoderConfig::default())
                            }
                            Command::Auth { .. } | Command::XExps { .. } => sasl_next = accept_auth,
                            Command::XExch50 { size, .. } if read_chunks => dec.begin_chunk(size),
                            _ => {}
                        }
                        true
                    }
                    Ok(None) => {
                        // Content left pending was discarded up to the end of `buf`.
                        assert!(!dec.content_pending() || buf.is_empty());
                        assert!(buf.len() <= 1 || buf.len() < limits.for_line(&buf));
                        false
                    }
                    Err(e) => {
                        let r = e.reply();
                        assert!(r.code.is_negative());
                        true
                    }
                }
            };
            if !progressed {
                break;
            }
        }
    }
});
