//! A deliberately simple, whole-buffer, line-by-line DATA decoder.
//!
//! **Test oracle only.** It exists so the unit tests, the integration tests and the
//! `data_decode` fuzz target can check the streaming [`DataDecoder`](super::DataDecoder)
//! against an obviously-correct model. It copies, allocates and needs the whole input; do not
//! use it to receive mail.
//!
//! The model (RFC 5321 4.1.1.4 and 4.5.2):
//! 1. Prefix the input with the CRLF that ended the `DATA` command and find the first
//!    `CRLF . CRLF`. Everything before its `. CRLF` is the raw body (empty, or ending with
//!    CRLF); everything after is the rest.
//! 2. Split the raw body into lines at every CRLF (and nowhere else). A line that starts
//!    with `.` loses that `.`.
//! 3. Inside a line, every CR and every LF is bare: rejected, rewritten to CRLF, or kept,
//!    per [`BareLineEnding`].
//! 4. Every line of the decoded content (split at CRLF) is checked against the line limit.
//! 5. The size is the decoded length; at most `max_size` octets are kept.

use super::decode::{BareLineEnding, DataError, DataSummary, DecoderConfig, LongLines};

/// What [`decode`] returns for a complete message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceOutput {
    /// The decoded content, truncated to `max_size` octets.
    pub content: Vec<u8>,
    /// The summary the streaming decoder must report.
    pub summary: DataSummary,
    /// Number of input octets up to and including the terminator.
    pub consumed: usize,
}

/// Decodes a whole buffer. `None` when the input holds no end of data.
pub fn decode(input: &[u8], config: &DecoderConfig) -> Option<ReferenceOutput> {
    let mut s = b"\r\n".to_vec();
    s.extend_from_slice(input);
    let i = s.windows(5).position(|w| w == b"\r\n.\r\n")?;
    // The raw body is s[2..i + 2]: the lines before the "." line, each with its CRLF.
    let body = &s[2..i + 2];
    let consumed = i + 3;

    let mut decoded = Vec::new();
    let mut bare_offset = None;
    let mut rest = body;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("the body ends with CRLF");
        let mut line = &rest[..end];
        rest = &rest[end + 2..];
        if line.first() == Some(&b'.') {
            line = &line[1..];
        }
        for &b in line {
            if b == b'\r' || b == b'\n' {
                match config.bare_line_endings {
                    BareLineEnding::Normalize => decoded.extend_from_slice(b"\r\n"),
                    BareLineEnding::Reject => {
                        bare_offset.get_or_insert(decoded.len() as u64);
                        decoded.push(b);
                    }
                    BareLineEnding::PassThrough => decoded.push(b),
                }
            } else {
                decoded.push(b);
            }
        }
        decoded.extend_from_slice(b"\r\n");
    }

    let mut long_line = None;
    if config.long_lines == LongLines::Reject {
        let mut start = 0;
        for w in 0..decoded.len().saturating_sub(1) {
            if decoded[w] == b'\r' && decoded[w + 1] == b'\n' {
                if w + 2 - start > config.max_line_length {
                    long_line.get_or_insert(start as u64);
                }
                start = w + 2;
            }
        }
    }

    let size = decoded.len() as u64;
    let outcome = if size > config.max_size {
        Err(DataError::TooLarge {
            size,
            limit: config.max_size,
        })
    } else if let Some(offset) = bare_offset {
        Err(DataError::BareLineEnding { offset })
    } else if let Some(offset) = long_line {
        Err(DataError::LineTooLong {
            limit: config.max_line_length,
            offset,
        })
    } else {
        Ok(())
    };
    decoded.truncate(usize::try_from(config.max_size).unwrap_or(usize::MAX));
    Some(ReferenceOutput {
        content: decoded,
        summary: DataSummary { size, outcome },
        consumed,
    })
}
