//! TEMPORARY: the data-codec API contract, until src/data lands in main.
#![allow(missing_docs, dead_code)]
use bytes::Bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareLineEnding {
    Reject,
    #[default]
    Normalize,
    PassThrough,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongLines {
    #[default]
    Accept,
    Reject,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderConfig {
    pub max_size: u64,
    pub max_line_length: usize,
    pub long_lines: LongLines,
    pub bare_line_endings: BareLineEnding,
}
impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_size: 0,
            max_line_length: 1000,
            long_lines: LongLines::Accept,
            bare_line_endings: BareLineEnding::Normalize,
        }
    }
}
#[derive(Debug)]
pub struct DataDecoder;
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataEvent {
    Content(Bytes),
    End(DataSummary),
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSummary {
    pub size: u64,
    pub outcome: Result<(), DataError>,
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("too large")]
    TooLarge { limit: u64 },
    #[error("line")]
    LineTooLong { limit: usize },
    #[error("bare")]
    BareLineEnding { offset: u64 },
}
impl DataError {
    pub fn reply(&self) -> crate::syntax::reply::Reply {
        todo!()
    }
}
impl DataDecoder {
    pub fn new(_c: DecoderConfig) -> Self {
        DataDecoder
    }
    pub fn decode(&mut self, _input: &mut Bytes) -> Option<DataEvent> {
        todo!()
    }
    pub fn is_finished(&self) -> bool {
        todo!()
    }
}
#[derive(Debug)]
pub struct ChunkReader;
impl ChunkReader {
    pub fn new(_size: u64) -> Self {
        ChunkReader
    }
    pub fn read(&mut self, _input: &mut Bytes) -> Option<Bytes> {
        todo!()
    }
    pub fn remaining(&self) -> u64 {
        todo!()
    }
    pub fn is_done(&self) -> bool {
        todo!()
    }
}
