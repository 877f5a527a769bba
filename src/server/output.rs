//! Output helpers: replies encoded into the session's output buffer (with enhanced status
//! codes when ENHANCEDSTATUSCODES is offered, RFC 2034), the flush marks where a transmit
//! must end (RFC 2920: a reply that ends a pipelining group), protocol errors counted
//! against `limits.max_errors`, and closing the session.

use super::{replies, Phase, Server};
use crate::syntax::reply::Reply;
use bytes::{Bytes, BytesMut};

impl Server {
    pub(super) fn enhanced(&self) -> bool {
        self.config.extensions.enhanced_status_codes
    }

    pub(super) fn send(&mut self, reply: &Reply) {
        let enhanced = self.enhanced();
        reply.encode_with(&mut self.out, enhanced);
    }

    /// [`Server::send`] with lines of up to `max_line` octets (for the X-LINK2STATE reply).
    pub(super) fn send_lines(&mut self, reply: &Reply, max_line: usize) {
        let enhanced = self.enhanced();
        reply.encode_lines(&mut self.out, enhanced, max_line);
    }

    pub(super) fn send_flush(&mut self, reply: &Reply) {
        self.send(reply);
        self.flush();
    }

    /// Sends a refusal; a `421` also closes the session.
    pub(super) fn send_reject(&mut self, reply: &Reply) {
        self.send(reply);
        if reply.code.0 == 421 {
            self.close();
        }
    }

    /// Sends a protocol error and counts it; the last allowed one is followed by
    /// `421 4.7.0` and the session closes.
    pub(super) fn error(&mut self, reply: &Reply) {
        self.send_reject(reply);
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.limits.max_errors && !self.is_closed() {
            self.send(&replies::TOO_MANY_ERRORS);
            self.close();
        }
    }

    pub(super) fn flush(&mut self) {
        let len = self.out.len();
        let end = self.out_taken + len;
        if len > 0 && self.flush_marks.back() != Some(&end) {
            self.flush_marks.push_back(end);
        }
    }

    pub(super) fn close(&mut self) {
        self.phase = Phase::Closed;
        self.pending = None;
        self.input = BytesMut::new();
        self.body_in = Bytes::new();
        self.txn = None;
        self.flush();
    }
}
