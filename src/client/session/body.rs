//! The message content: a whole body cut into BDAT chunks (RFC 3030 CHUNKING) or run
//! through the DATA dot-stuffing encoder, or a streamed body asked of the caller piece by
//! piece ([`Event::BodyNeeded`]), with no more output waiting for the transport than a
//! bound.

use super::transaction::set_failed;
use super::{reserve_out, Client, Event, Expect, MessageId, State};
use crate::client::envelope::{BodyScanner, BodyType};
use crate::client::error::{CloseReason, MessageError, UsageError};
use crate::syntax::command::Command;
use bytes::Bytes;

/// Below this many queued octets the client produces more body (bounded memory).
const LOW_WATER: usize = 64 * 1024;
/// Size of the pieces a whole body is cut into for the DATA encoder.
const DATA_PIECE: usize = 64 * 1024;
/// While this many replies are awaited the client sends no more BDAT chunks (and asks for
/// no more of a streamed body): each pipelined chunk awaits its own reply (RFC 3030 section
/// 2), so a server that reads but does not answer would otherwise make the client keep one
/// pending reply per chunk for as long as the body lasts.
const MAX_AWAITED: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyPhase {
    Pending,
    Active,
    Done,
}

#[derive(Debug)]
pub(super) enum Source {
    Whole {
        data: Bytes,
        offset: usize,
    },
    Stream {
        declared: BodyType,
        scanner: BodyScanner,
        requested: bool,
        held: Option<Bytes>,
    },
}

impl Client {
    /// Produces body bytes while the transmit queue is short.
    pub(super) fn refill(&mut self) {
        let pipelining = self.pipelining();
        let chunk_size = self.config.bdat_chunk_size.max(1);
        loop {
            if self.state != State::Ready || self.queued_len() >= LOW_WATER {
                return;
            }
            let expects_empty = self.expects.is_empty();
            let Some(txn) = self.txn.as_mut() else { return };
            if txn.phase != BodyPhase::Active {
                return;
            }
            if txn.use_bdat && !(pipelining || expects_empty) {
                return;
            }
            if txn.use_bdat && self.expects.len() >= MAX_AWAITED {
                return;
            }
            match &mut txn.source {
                Source::Whole { data, offset } => {
                    let total = data.len();
                    let start = (*offset).min(total);
                    if txn.use_bdat {
                        let end = start.saturating_add(chunk_size).min(total);
                        let piece = data.slice(start..end);
                        *offset = end;
                        let last = end == total;
                        if last {
                            txn.phase = BodyPhase::Done;
                        }
                        self.send_bdat(piece, last);
                    } else {
                        let end = start.saturating_add(DATA_PIECE).min(total);
                        *offset = end;
                        let last = end == total;
                        if let Some(enc) = txn.encoder.as_mut() {
                            if let Some(piece) = data.get(start..end) {
                                reserve_out(&mut self.out, piece.len().saturating_add(8));
                                enc.encode(piece, &mut self.out);
                            }
                            if last {
                                reserve_out(&mut self.out, 5);
                                enc.finish(&mut self.out);
                            }
                        }
                        if last {
                            txn.phase = BodyPhase::Done;
                            self.expect(Expect::DataEnd);
                        }
                    }
                }
                Source::Stream { requested, .. } => {
                    if !*requested {
                        *requested = true;
                        let id = txn.id;
                        self.events.push_back(Event::BodyNeeded(id));
                    }
                    return;
                }
            }
        }
    }

    pub(super) fn send_bdat(&mut self, chunk: Bytes, last: bool) {
        let size = chunk.len() as u64;
        let start = self.queued_end();
        self.command(&Command::Bdat { size, last }, Expect::Bdat { last });
        self.push_segment(chunk);
        // The reply comes once the chunk is through.
        let end = self.queued_end();
        if let Some(p) = self.expects.back_mut() {
            p.end = end;
            p.start = Some(start);
        }
    }

    /// RFC 3030 section 2: once the transaction failed ("If a 5XX or 4XX code is received
    /// by the sender-SMTP in response to a BDAT chunk, the transaction should be considered
    /// failed and the sender-SMTP MUST NOT send any additional BDAT segments"; and after a
    /// refused MAIL or every RCPT refused), the chunks still queued whose `BDAT` command
    /// the transport has not taken are withdrawn, with the replies they would have had.
    /// Those already handed out are in the pipeline, for the server to discard; a chunk
    /// whose command went out still follows it, as the server reads its octets.
    pub(super) fn withdraw_unsent_bdat(&mut self) {
        let mut cut = None;
        while let Some(p) = self.expects.back() {
            match (p.expect, p.start) {
                (Expect::Bdat { .. }, Some(start)) if start >= self.handed_out => {
                    cut = Some(start);
                    self.expects.pop_back();
                }
                _ => break,
            }
        }
        if let Some(at) = cut {
            self.truncate_output(at);
        }
    }

    pub(super) fn check_body(&self, id: MessageId) -> Result<(), UsageError> {
        match self.txn.as_ref() {
            Some(t) if t.id == id && t.phase == BodyPhase::Active && self.state == State::Ready => {
                Ok(())
            }
            _ => Err(UsageError::BodyNotExpected),
        }
    }

    /// A streamed chunk broke the declared body type.
    pub(super) fn abort_body(&mut self) {
        let Some(txn) = self.txn.as_mut() else { return };
        if txn.use_bdat {
            // Chunks already sent are discarded by the RSET that follows the failure.
            set_failed(txn, MessageError::BodyTypeViolation);
            txn.phase = BodyPhase::Done;
        } else {
            // No way to end DATA without delivering what was sent: drop the connection.
            set_failed(txn, MessageError::BodyTypeViolation);
            self.close(CloseReason::Aborted);
        }
    }
}

impl BodyScanner {
    /// The type seen so far, not counting a CR at the very end (it may be followed by LF
    /// in the next chunk).
    pub(crate) fn seen_type(&self) -> BodyType {
        self.seen_so_far()
    }
}
