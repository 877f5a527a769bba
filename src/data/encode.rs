//! The streaming DATA encoder (client side): dot-stuffing and line-ending repair.

use bytes::{BufMut, BytesMut};
use memchr::memchr2;

use super::scan::skip_plain;

/// What the [`DataEncoder`] does with a bare CR (a CR not followed by LF) in the content.
///
/// A bare LF is always written as CRLF: `LF . LF` and friends are the SMTP smuggling
/// sequences (see `SECURITY.md`), and RFC 5321 2.3.8 forbids bare LF in content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BareCr {
    /// Write every bare CR as CRLF (RFC 5321 2.3.8: CR and LF only as CRLF). The default.
    #[default]
    Normalize,
    /// Keep bare CRs, except one directly followed by `.`: that one is written as CRLF and the
    /// dot is stuffed, so the output never holds `CR .`, which a receiver treating bare CR as a
    /// line end could read as part of an end of data (`CR . CR LF`).
    PassThrough,
}

/// Configuration of a [`DataEncoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EncoderConfig {
    /// Bare CR handling; the default is [`BareCr::Normalize`].
    pub bare_cr: BareCr,
}

/// Streaming DATA encoder (RFC 5321 4.5.2), fed message content in arbitrary chunks; writes
/// what the client sends after the `354` reply.
///
/// * Every line that starts with `.` gets one more `.` (dot-stuffing), across chunk
///   boundaries; the first line of the content counts as a line start.
/// * Bare LF becomes CRLF; bare CR per [`EncoderConfig::bare_cr`].
/// * [`DataEncoder::finish`] ends the content with CRLF if needed and writes `.` CRLF.
///
/// So the output never contains `CRLF . CRLF` (nor any of the smuggling variants) before
/// the real end.
///
/// # Example
/// ```
/// use ehlo::bytes::BytesMut;
/// use ehlo::data::{DataEncoder, EncoderConfig};
///
/// let mut enc = DataEncoder::new(EncoderConfig::default());
/// let mut out = BytesMut::new();
/// enc.encode(b"Subject: hi\n\n.", &mut out);
/// enc.encode(b"hidden\n.\nQUIT", &mut out);
/// enc.finish(&mut out);
/// assert_eq!(&out[..], b"Subject: hi\r\n\r\n..hidden\r\n..\r\nQUIT\r\n.\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DataEncoder {
    config: EncoderConfig,
    /// The next byte starts a line.
    line_start: bool,
    /// The last byte seen was a CR, not yet written.
    pending_cr: bool,
}

impl DataEncoder {
    /// An encoder at the start of a message.
    pub fn new(config: EncoderConfig) -> Self {
        DataEncoder {
            config,
            line_start: true,
            pending_cr: false,
        }
    }

    /// Encodes the next chunk of content, appending to `out`.
    pub fn encode(&mut self, chunk: &[u8], out: &mut BytesMut) {
        if chunk.is_empty() {
            return;
        }
        let normalize = self.config.bare_cr == BareCr::Normalize;
        out.reserve(chunk.len().saturating_add(8));
        let len = chunk.len();
        let mut i = 0;
        if self.pending_cr {
            self.pending_cr = false;
            if chunk[0] == b'\n' {
                out.put_slice(b"\r\n");
                i = 1;
                self.line_start = true;
            } else if normalize || chunk[0] == b'.' {
                out.put_slice(b"\r\n");
                self.line_start = true;
            } else {
                out.put_u8(b'\r');
                self.line_start = false;
            }
        }
        // chunk[run..i] is unchanged content not yet written.
        let mut run = i;
        loop {
            if self.line_start {
                match chunk.get(i) {
                    None => break,
                    Some(b'.') => {
                        out.put_slice(&chunk[run..i]);
                        out.put_u8(b'.');
                        run = i;
                    }
                    Some(_) => {}
                }
                self.line_start = false;
            }
            i = skip_plain(chunk, i, true);
            let Some(off) = memchr2(b'\r', b'\n', &chunk[i..]) else {
                break;
            };
            let j = i + off;
            if chunk[j] == b'\n' {
                // Bare LF (every CR is handled with its successor below).
                out.put_slice(&chunk[run..j]);
                out.put_slice(b"\r\n");
                run = j + 1;
                i = j + 1;
                self.line_start = true;
                continue;
            }
            match chunk.get(j + 1) {
                None => {
                    out.put_slice(&chunk[run..j]);
                    run = len;
                    self.pending_cr = true;
                    break;
                }
                Some(b'\n') => {
                    i = j + 2;
                    self.line_start = true;
                }
                Some(&next) => {
                    if normalize || next == b'.' {
                        out.put_slice(&chunk[run..j]);
                        out.put_slice(b"\r\n");
                        run = j + 1;
                        self.line_start = true;
                    }
                    i = j + 1;
                }
            }
        }
        out.put_slice(&chunk[run..]);
    }

    /// The size of `body` as this encoder sends it as one whole message, without the
    /// dot-stuffing and the final `.` CRLF: the message size of RFC 1870 section 5 ("the
    /// number of octets, including CR-LF pairs, but not the SMTP DATA command's terminating
    /// dot or doubled quoting dots"), which a client declares with `SIZE=`. Every bare LF
    /// and every repaired bare CR becomes CRLF, and content not ending in a line end gets
    /// one.
    ///
    /// ```
    /// use ehlo::data::{DataEncoder, EncoderConfig};
    /// assert_eq!(DataEncoder::content_size(b"a\nb", EncoderConfig::default()), 6);
    /// assert_eq!(DataEncoder::content_size(b".x\r\n", EncoderConfig::default()), 4);
    /// ```
    pub fn content_size(body: &[u8], config: EncoderConfig) -> u64 {
        let normalize = config.bare_cr == BareCr::Normalize;
        let mut size = body.len() as u64;
        for j in memchr::memchr2_iter(b'\r', b'\n', body) {
            match (body[j], body.get(j + 1)) {
                (b'\n', _) if j == 0 || body[j - 1] != b'\r' => size += 1,
                (b'\r', None) if normalize => size += 1,
                (b'\r', Some(&next)) if next != b'\n' && (normalize || next == b'.') => size += 1,
                _ => {}
            }
        }
        // The encoder ends at a line start after a LF, or after a CR it wrote as CRLF.
        let ends_line = match body.last() {
            None | Some(b'\n') => true,
            Some(b'\r') => normalize,
            Some(_) => false,
        };
        if !ends_line {
            size += 2;
        }
        size
    }

    /// Ends the message: a CRLF if the content does not already end with one (and is not
    /// empty), then `.` CRLF. The encoder is then ready for a new message.
    pub fn finish(&mut self, out: &mut BytesMut) {
        if self.pending_cr {
            match self.config.bare_cr {
                BareCr::Normalize => {
                    out.put_slice(b"\r\n");
                    self.line_start = true;
                }
                BareCr::PassThrough => {
                    out.put_u8(b'\r');
                    self.line_start = false;
                }
            }
        }
        if !self.line_start {
            out.put_slice(b"\r\n");
        }
        out.put_slice(b".\r\n");
        self.line_start = true;
        self.pending_cr = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(cfg: EncoderConfig, chunks: &[&[u8]]) -> Vec<u8> {
        let mut e = DataEncoder::new(cfg);
        let mut out = BytesMut::new();
        for c in chunks {
            e.encode(c, &mut out);
        }
        e.finish(&mut out);
        out.to_vec()
    }

    #[test]
    fn empty() {
        assert_eq!(enc(EncoderConfig::default(), &[]), b".\r\n");
        assert_eq!(enc(EncoderConfig::default(), &[b""]), b".\r\n");
    }

    #[test]
    fn stuffing_and_endings() {
        let d = EncoderConfig::default();
        assert_eq!(enc(d, &[b"."]), b"..\r\n.\r\n");
        assert_eq!(enc(d, &[b"a\r", b"\n", b".b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(enc(d, &[b"a\r\n"]), b"a\r\n.\r\n");
        assert_eq!(enc(d, &[b"a\n.\n"]), b"a\r\n..\r\n.\r\n");
        assert_eq!(enc(d, &[b"a\r.\r"]), b"a\r\n..\r\n.\r\n");
        assert_eq!(enc(d, &[b"a\r", b"\r\n"]), b"a\r\n\r\n.\r\n");
    }

    #[test]
    fn bare_cr_pass_through() {
        let p = EncoderConfig {
            bare_cr: BareCr::PassThrough,
        };
        assert_eq!(enc(p, &[b"a\rb"]), b"a\rb\r\n.\r\n");
        assert_eq!(enc(p, &[b"a\r", b"b"]), b"a\rb\r\n.\r\n");
        assert_eq!(enc(p, &[b"a\r", b".\r\n"]), b"a\r\n..\r\n.\r\n");
        assert_eq!(enc(p, &[b"a\r.\r\n"]), b"a\r\n..\r\n.\r\n");
        assert_eq!(enc(p, &[b"a\r"]), b"a\r\r\n.\r\n");
    }

    mod size_props {
        use super::*;
        use proptest::prelude::*;

        fn body() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(
                prop_oneof![
                    Just(b'\r'),
                    Just(b'\n'),
                    Just(b'.'),
                    Just(b'a'),
                    Just(0xe9u8)
                ],
                0..40,
            )
        }

        proptest! {
            /// `content_size` is what the encoder writes, less the stuffed dots (one per
            /// line of its output that starts with a dot) and the final `.` CRLF.
            #[test]
            fn content_size_matches_the_encoder(
                b in body(),
                pass in any::<bool>(),
                split in 0usize..40,
            ) {
                let config = EncoderConfig {
                    bare_cr: if pass { BareCr::PassThrough } else { BareCr::Normalize },
                };
                let mut enc = DataEncoder::new(config);
                let mut out = BytesMut::new();
                let split = split.min(b.len());
                enc.encode(&b[..split], &mut out);
                enc.encode(&b[split..], &mut out);
                enc.finish(&mut out);
                let content = &out[..out.len() - 3];
                let stuffed = content.windows(3).filter(|w| w == b"\r\n.").count()
                    + usize::from(content.first() == Some(&b'.'));
                prop_assert_eq!(
                    DataEncoder::content_size(&b, config),
                    (content.len() - stuffed) as u64,
                    "{:?}", b
                );
            }
        }
    }
}
