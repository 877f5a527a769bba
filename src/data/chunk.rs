//! Exact-size framing for BDAT chunks (RFC 3030) and XEXCH50 blobs.

use bytes::Bytes;

/// Reads exactly `size` octets of binary content, for a `BDAT <size>` chunk (RFC 3030
/// section 2) or the blob that follows the `354` reply to `XEXCH50 <size> ...`
/// (Microsoft KB 812455).
///
/// The content is never interpreted: no dot handling, no line endings; bytes that look like
/// commands or like `CRLF . CRLF` are content. Every piece returned is a slice of the input
/// (no copy). Bytes past the end of the chunk stay in the input for the command parser.
///
/// # Example
/// ```
/// use ehlo::bytes::Bytes;
/// use ehlo::data::ChunkReader;
///
/// let mut reader = ChunkReader::new(7);
/// let mut input = Bytes::from_static(b"ab\r\n.\r\nRSET\r\n");
/// assert_eq!(reader.read(&mut input).as_deref(), Some(&b"ab\r\n.\r\n"[..]));
/// assert!(reader.is_done());
/// assert_eq!(&input[..], b"RSET\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkReader {
    remaining: u64,
}

impl ChunkReader {
    /// A reader for a chunk of exactly `size` octets. `BDAT 0 LAST` is `ChunkReader::new(0)`,
    /// done from the start.
    pub fn new(size: u64) -> Self {
        ChunkReader { remaining: size }
    }

    /// Takes the next piece of the chunk from the front of `input` (advancing it). Returns
    /// `None` when `input` is empty or the chunk is complete; a returned piece is never empty.
    pub fn read(&mut self, input: &mut Bytes) -> Option<Bytes> {
        if self.remaining == 0 || input.is_empty() {
            return None;
        }
        let take = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(input.len());
        self.remaining -= take as u64;
        Some(input.split_to(take))
    }

    /// Octets of the chunk still to read.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// `true` once the whole chunk was read.
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_size() {
        let mut r = ChunkReader::new(0);
        assert!(r.is_done());
        let mut input = Bytes::from_static(b"QUIT\r\n");
        assert_eq!(r.read(&mut input), None);
        assert_eq!(&input[..], b"QUIT\r\n");
    }

    #[test]
    fn split_reads() {
        let mut r = ChunkReader::new(5);
        let mut a = Bytes::from_static(b"MAI");
        assert_eq!(r.read(&mut a).as_deref(), Some(&b"MAI"[..]));
        assert!(a.is_empty());
        assert_eq!(r.remaining(), 2);
        assert_eq!(r.read(&mut a), None);
        let mut b = Bytes::from_static(b"L FROM:<>\r\n");
        assert_eq!(r.read(&mut b).as_deref(), Some(&b"L "[..]));
        assert!(r.is_done());
        assert_eq!(&b[..], b"FROM:<>\r\n");
        assert_eq!(r.read(&mut b), None);
    }
}
