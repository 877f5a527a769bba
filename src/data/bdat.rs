//! BDAT framing (client side, RFC 3030).

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Splits message content into `BDAT <n>` / `BDAT <n> LAST` frames (RFC 3030 section 2).
///
/// BDAT content is binary and sent as is: no dot-stuffing, no line-ending changes. The
/// chunker only buffers what was [`push`](BdatChunker::push)ed and not yet framed, so a
/// client streams a large message by alternating `push` and `next_frame` and never holds it
/// whole: push while [`buffered`](BdatChunker::buffered) is below the chunk size, send every
/// frame `next_frame(false)` gives, and at the end call `next_frame(true)` until
/// [`is_finished`](BdatChunker::is_finished). A frame body is a slice of the pushed `Bytes`
/// when it lies within one of them, and a copy otherwise.
///
/// # Example
/// ```
/// use ehlo::bytes::Bytes;
/// use ehlo::data::BdatChunker;
///
/// let mut chunker = BdatChunker::new(4);
/// chunker.push(Bytes::from_static(b"hello\r\n"));
/// let (header, body) = chunker.next_frame(false).unwrap();
/// assert_eq!((&header[..], &body[..]), (&b"BDAT 4\r\n"[..], &b"hell"[..]));
/// assert!(chunker.next_frame(false).is_none()); // 3 octets buffered: wait for more
/// let (header, body) = chunker.next_frame(true).unwrap();
/// assert_eq!((&header[..], &body[..]), (&b"BDAT 3 LAST\r\n"[..], &b"o\r\n"[..]));
/// assert!(chunker.is_finished());
/// ```
#[derive(Debug, Clone)]
pub struct BdatChunker {
    chunk_size: usize,
    queue: VecDeque<Bytes>,
    buffered: usize,
    finished: bool,
}

impl BdatChunker {
    /// A chunker that makes frames of `chunk_size` octets (at least 1).
    pub fn new(chunk_size: usize) -> Self {
        BdatChunker {
            chunk_size: chunk_size.max(1),
            queue: VecDeque::new(),
            buffered: 0,
            finished: false,
        }
    }

    /// Adds content to frame. Ignored once the `LAST` frame was produced.
    pub fn push(&mut self, chunk: Bytes) {
        if self.finished || chunk.is_empty() {
            return;
        }
        self.buffered = self.buffered.saturating_add(chunk.len());
        self.queue.push_back(chunk);
    }

    /// Octets pushed and not yet framed.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// `true` once the `LAST` frame was produced.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next frame as `(header, body)`, the header being `BDAT <n>\r\n` or
    /// `BDAT <n> LAST\r\n`.
    ///
    /// With `last == false`, a full frame of `chunk_size` octets, or `None` while fewer are
    /// buffered. With `last == true` (no more content will be pushed), full frames while more
    /// than `chunk_size` octets are buffered, then one `LAST` frame with the rest (`BDAT 0 LAST`
    /// when nothing is left), then `None`.
    pub fn next_frame(&mut self, last: bool) -> Option<(Vec<u8>, Bytes)> {
        if self.finished {
            return None;
        }
        let (n, is_last) = if self.buffered > self.chunk_size {
            (self.chunk_size, false)
        } else if last {
            (self.buffered, true)
        } else if self.buffered == self.chunk_size {
            (self.chunk_size, false)
        } else {
            return None;
        };
        let body = self.take(n);
        self.finished = is_last;
        let header = if is_last {
            format!("BDAT {n} LAST\r\n")
        } else {
            format!("BDAT {n}\r\n")
        };
        Some((header.into_bytes(), body))
    }

    /// Takes `n <= self.buffered` octets from the front of the queue.
    fn take(&mut self, n: usize) -> Bytes {
        self.buffered -= n;
        match self.queue.front_mut() {
            Some(front) if front.len() >= n => {
                let body = front.split_to(n);
                if front.is_empty() {
                    self.queue.pop_front();
                }
                return body;
            }
            _ => {}
        }
        let mut body = BytesMut::with_capacity(n);
        while body.len() < n {
            let Some(front) = self.queue.front_mut() else {
                break;
            };
            let want = (n - body.len()).min(front.len());
            body.extend_from_slice(&front.split_to(want));
            if front.is_empty() {
                self.queue.pop_front();
            }
        }
        body.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_message_is_bdat_0_last() {
        let mut c = BdatChunker::new(10);
        assert_eq!(c.next_frame(false), None);
        assert_eq!(
            c.next_frame(true),
            Some((b"BDAT 0 LAST\r\n".to_vec(), Bytes::new()))
        );
        assert_eq!(c.next_frame(true), None);
    }

    #[test]
    fn exact_multiple_ends_with_full_last_frame() {
        let mut c = BdatChunker::new(2);
        c.push(Bytes::from_static(b"ab"));
        c.push(Bytes::from_static(b"c"));
        c.push(Bytes::from_static(b"d"));
        assert_eq!(
            c.next_frame(false),
            Some((b"BDAT 2\r\n".to_vec(), Bytes::from_static(b"ab")))
        );
        assert_eq!(
            c.next_frame(true),
            Some((b"BDAT 2 LAST\r\n".to_vec(), Bytes::from_static(b"cd")))
        );
        assert!(c.is_finished());
    }
}
