//! Message content: DATA after its `354` (RFC 5321 4.1.1.4), BDAT chunks (RFC 3030
//! section 2: a refused chunk fails the transaction, and the chunks already pipelined
//! behind it are read and discarded), and the XEXCH50 blob (KB 812455). A body reader
//! consumes input frozen in `Server::body_in`; what it leaves goes back in front of the
//! command input.

use super::decision::Pending;
use super::{replies, Event, MessageAbort, Phase, Server, Step};
use crate::data::{ChunkReader, DataError, DataEvent};
use crate::syntax::reply::{EnhancedCode, Reply};
use bytes::BytesMut;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BdatError {
    NotImplemented,
    /// No transaction. `counted`: the refusal counts as a protocol error; not for a chunk
    /// pipelined behind one refused the same way (see `Server::bdat_run`).
    NeedMail {
        counted: bool,
    },
    NoRecipients,
    TooLarge,
}

fn data_error_reply(e: &DataError) -> Reply {
    match e {
        DataError::TooLarge { .. } => replies::TOO_LARGE,
        DataError::LineTooLong { .. } => Reply {
            code: crate::syntax::reply::ReplyCode(500),
            enhanced: Some(EnhancedCode::new(5, 5, 2)),
            text: "Line too long in message content".into(),
        },
        DataError::BareLineEnding { .. } => Reply {
            code: crate::syntax::reply::ReplyCode(550),
            enhanced: Some(EnhancedCode::new(5, 5, 2)),
            text: "Bare CR or LF in message content not allowed".into(),
        },
    }
}

impl Server {
    /// `BDAT <size> [LAST]`; `in_bdat_run`: the previous command was a refused BDAT
    /// without a transaction (see `Server::bdat_run`), or a refused MAIL or a RCPT behind
    /// one (see `Server::mail_refused_run`): a `503` for want of MAIL is not counted.
    pub(super) fn handle_bdat(&mut self, size: u64, last: bool, in_bdat_run: bool) -> Step {
        let max = self.config.limits.message_size_limit();
        let error = if !(self.config.extensions.chunking && self.is_esmtp()) {
            Some(BdatError::NotImplemented)
        } else {
            match self.txn.as_mut() {
                None => {
                    self.bdat_run = !last;
                    Some(BdatError::NeedMail {
                        counted: !in_bdat_run,
                    })
                }
                Some(t) => {
                    t.bdat = true;
                    if let Some(failed) = t.bdat_failed {
                        Some(failed)
                    } else if t.recipients == 0 {
                        // RFC 3030 section 2: a refused chunk fails the transaction; a
                        // RCPT pipelined after it must not make the next chunk the whole
                        // message.
                        t.bdat_failed = Some(BdatError::NoRecipients);
                        Some(BdatError::NoRecipients)
                    } else if t.bdat_size.saturating_add(size) > max {
                        Some(BdatError::TooLarge)
                    } else {
                        None
                    }
                }
            }
        };
        // The chunk is consumed in every case so its octets are never read as commands.
        self.phase = Phase::Bdat {
            reader: ChunkReader::new(size),
            size,
            last,
            error,
        };
        match error {
            None => Step::Event(Event::Bdat { size, last }),
            Some(_) => Step::Progress,
        }
    }

    /// Moves unconsumed frozen body input back in front of `input`.
    fn restore_body_input(&mut self) {
        let rest = std::mem::take(&mut self.body_in);
        if rest.is_empty() {
            return;
        }
        if self.input.is_empty() {
            self.input.extend_from_slice(&rest);
        } else {
            let mut merged = BytesMut::with_capacity(rest.len() + self.input.len());
            merged.extend_from_slice(&rest);
            merged.extend_from_slice(&self.input);
            self.input = merged;
        }
    }

    fn fill_body_input(&mut self) -> bool {
        if self.body_in.is_empty() && !self.input.is_empty() {
            self.body_in = self.input.split().freeze();
        }
        !self.body_in.is_empty()
    }

    /// Fills `body_in` with at most the `remaining` octets of a BDAT chunk or XEXCH50
    /// blob (RFC 3030 section 2: the chunk is exactly its declared size; KB 812455): what
    /// follows stays in `input`, so the chunk's end moves nothing back there. Taking all
    /// of `input` would copy the rest of the read back once per chunk, so pipelined small
    /// chunks cost time quadratic in the read.
    fn fill_chunk_input(&mut self, remaining: u64) -> bool {
        if self.body_in.is_empty() && !self.input.is_empty() {
            let take = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(self.input.len());
            self.body_in = self.input.split_to(take).freeze();
        }
        !self.body_in.is_empty()
    }

    pub(super) fn step_data(&mut self) -> Step {
        if !self.fill_body_input() {
            return Step::Idle;
        }
        let max = self.config.limits.message_size_limit();
        let Phase::Data { decoder, emitted } = &mut self.phase else {
            return Step::Idle;
        };
        let before = self.body_in.len();
        match decoder.decode(&mut self.body_in) {
            None => {
                if self.body_in.len() == before {
                    // No progress possible with this input; wait for more.
                    return Step::Idle;
                }
                Step::Progress
            }
            Some(DataEvent::Content(chunk)) => {
                *emitted = emitted.saturating_add(chunk.len() as u64);
                if *emitted > max || chunk.is_empty() {
                    // Over the limit: the rest is counted by the decoder, not kept.
                    Step::Progress
                } else {
                    Step::Event(Event::MessageChunk(chunk))
                }
            }
            Some(DataEvent::End(summary)) => {
                self.phase = Phase::Command;
                self.restore_body_input();
                match summary.outcome {
                    Ok(()) => self.ask(
                        Pending::MessageEnd,
                        Event::MessageEnd { size: summary.size },
                    ),
                    Err(e) => {
                        self.txn = None;
                        self.send(&data_error_reply(&e));
                        Step::Event(Event::MessageAborted(MessageAbort::Data(e)))
                    }
                }
            }
        }
    }

    pub(super) fn step_chunk(&mut self) -> Step {
        let remaining = match &self.phase {
            Phase::Bdat { reader, .. } | Phase::XExch50(reader) => reader.remaining(),
            _ => return Step::Idle,
        };
        if remaining > 0 {
            if !self.fill_chunk_input(remaining) {
                return Step::Idle;
            }
            let (reader, deliver_bdat) = match &mut self.phase {
                Phase::Bdat { reader, error, .. } => (reader, Some(error.is_none())),
                Phase::XExch50(reader) => (reader, None),
                _ => return Step::Idle,
            };
            return match reader.read(&mut self.body_in) {
                None => Step::Idle,
                Some(chunk) if chunk.is_empty() => Step::Progress,
                Some(chunk) => match deliver_bdat {
                    Some(true) => Step::Event(Event::MessageChunk(chunk)),
                    Some(false) => Step::Progress,
                    None => Step::Event(Event::XExch50Chunk(chunk)),
                },
            };
        }
        let phase = std::mem::replace(&mut self.phase, Phase::Command);
        self.restore_body_input();
        match phase {
            Phase::XExch50(_) => self.ask(Pending::XExch50End, Event::XExch50End),
            Phase::Bdat {
                size, last, error, ..
            } => match error {
                None => {
                    let total = match self.txn.as_mut() {
                        Some(t) => {
                            t.bdat_size = t.bdat_size.saturating_add(size);
                            t.bdat_size
                        }
                        None => size,
                    };
                    if last {
                        self.ask(Pending::MessageEnd, Event::MessageEnd { size: total })
                    } else {
                        let r = Reply::new(
                            250,
                            Some(EnhancedCode::new(2, 0, 0)),
                            format!("{size} octets received"),
                        );
                        self.send(&r);
                        Step::Progress
                    }
                }
                Some(BdatError::TooLarge) => {
                    let first = match self.txn.as_mut() {
                        Some(t) => t.bdat_failed.replace(BdatError::TooLarge).is_none(),
                        None => true,
                    };
                    if last {
                        self.txn = None;
                    }
                    self.send(&replies::TOO_LARGE);
                    if first {
                        Step::Event(Event::MessageAborted(MessageAbort::TooLarge))
                    } else {
                        Step::Progress
                    }
                }
                Some(BdatError::NoRecipients) => {
                    if last {
                        self.txn = None;
                    }
                    self.send(&replies::NO_VALID_RECIPIENTS);
                    Step::Progress
                }
                Some(BdatError::NeedMail { counted }) => {
                    if counted {
                        self.error(&replies::NEED_MAIL);
                    } else {
                        self.send(&replies::NEED_MAIL);
                    }
                    Step::Progress
                }
                Some(BdatError::NotImplemented) => {
                    self.error(&replies::NOT_IMPLEMENTED);
                    Step::Progress
                }
            },
            _ => Step::Progress,
        }
    }
}
