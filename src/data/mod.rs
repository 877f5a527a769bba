//! Message-content codecs: DATA (dot-stuffing, RFC 5321 4.5.2), BDAT (RFC 3030) and
//! XEXCH50 framing. Stateful, IO-free, zero-copy where no rewriting is needed.
//!
//! * Server side: [`DataDecoder`] turns the bytes after the `354` reply into content events
//!   and recognizes the end of data only as `CRLF . CRLF` (smuggling-proof, see
//!   `SECURITY.md`; the look-alikes are in `tests/fixtures/smuggling.rs`); [`ChunkReader`]
//!   reads the exact-size content of a `BDAT` chunk or an `XEXCH50` blob.
//! * Client side: [`DataEncoder`] dot-stuffs content and repairs line endings for `DATA`;
//!   [`BdatChunker`] cuts content into `BDAT` frames.
//!
//! Replies for a refused message ([`DataError`]): too large `552 5.3.4`, bare CR/LF with
//! [`BareLineEnding::Reject`] `550 5.5.2`, long line with [`LongLines::Reject`] `500 5.5.2`.
//!
//! `reference` (hidden) is a whole-buffer decoder kept only as a test oracle for the tests and the
//! fuzz targets.

mod bdat;
mod chunk;
mod decode;
mod encode;
#[doc(hidden)]
pub mod reference;
pub(crate) mod scan;

pub use bdat::BdatChunker;
pub use chunk::ChunkReader;
pub use decode::{
    BareLineEnding, DataDecoder, DataError, DataEvent, DataSummary, DecoderConfig, LongLines,
    DEFAULT_MAX_SIZE,
};
pub use encode::{BareCr, DataEncoder, EncoderConfig};
