//! The result for each recipient ([`RecipientStatus`]) and what becomes of the message for
//! it ([`Outcome`], RFC 5321 4.2.1 and 6.1), with the `452 4.5.3` the client writes itself
//! for a recipient it holds back under the server's LIMITS (RFC 9422).

use super::is_positive;
use crate::client::error::MessageError;
use crate::syntax::reply::Reply;

/// The outcome for one recipient.
///
/// # Recipients held back under the server's LIMITS
///
/// When the server's EHLO reply advertises `LIMITS RCPTMAX` or `RCPTDOMAINMAX`
/// (RFC 9422 sections 4.2 and 4.3), the client sends at most `RCPTMAX` `RCPT` commands in
/// a transaction, for recipients in at most `RCPTDOMAINMAX` distinct domains. A recipient
/// beyond them is not sent in this transaction; its `reply` is a `452 4.5.3` that **the
/// client writes itself**, not the server (see [`RecipientStatus::HELD_BACK_TEXT`]): the
/// answer RFC 5321 4.5.3.1.10 and RFC 9422 4.2 give to a recipient over the limit, so the
/// caller handles it exactly as a server's "too many recipients":
/// [`Envelope::deferred`] puts it in the envelope for the next transaction.
///
/// [`Envelope::deferred`]: crate::client::Envelope::deferred
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecipientStatus {
    /// Index in [`Envelope::recipients`].
    ///
    /// [`Envelope::recipients`]: crate::client::Envelope::recipients
    pub index: usize,
    /// The server's reply to `RCPT`, `None` if the command was never answered (the
    /// transaction failed before, or the session closed); or the client's own
    /// `452 4.5.3` for a recipient held back under the server's LIMITS (see above).
    pub reply: Option<Reply>,
}

impl RecipientStatus {
    /// The text of the `452 4.5.3` reply the client writes for a recipient it held back
    /// because the transaction already has as many recipients (`RCPTMAX`) or recipient
    /// domains (`RCPTDOMAINMAX`) as the server's LIMITS allow (RFC 9422 sections 4.2 and
    /// 4.3). No server sent it (a server sending this very text would be taken for the
    /// client's own reply by [`RecipientStatus::held_back`], which changes nothing else).
    pub const HELD_BACK_TEXT: &'static str =
        "Not sent: over the server's LIMITS for one transaction (RFC 9422), send it in another";

    /// Whether the server accepted the recipient (`2xx`).
    pub fn accepted(&self) -> bool {
        self.reply.as_ref().is_some_and(is_positive)
    }

    /// Whether the client held this recipient back under the server's LIMITS (its reply is
    /// the client's own `452 4.5.3`, see [`RecipientStatus::HELD_BACK_TEXT`]): no `RCPT`
    /// was sent for it.
    pub fn held_back(&self) -> bool {
        self.reply.as_ref().is_some_and(is_held_back)
    }

    /// What became of the message for this recipient, given the message's `result` (both
    /// from the same [`Event::MessageResult`]): what a mail queue does next.
    ///
    /// A refused `MAIL` ([`MessageError::SenderRejected`]) decides for every recipient,
    /// by its class: the `RCPT`s pipelined behind it are answered out of sequence
    /// (`503`, RFC 2920 3.1), not about the recipient, so a greylisted sender (`451`) is
    /// never a failed recipient. Otherwise the recipient's own refusal decides first: a
    /// `5xx` to its `RCPT` is [`Outcome::Failed`], except `552`, which RFC 5321
    /// 4.5.3.1.10 says to treat as a temporary "too many recipients", and a `4xx` (the
    /// client's own held-back `452` included) [`Outcome::Deferred`] (RFC 5321 4.2.1).
    /// For an accepted recipient, or one never
    /// answered, the message decides: a final `2xx` (the reply after the content, RFC
    /// 5321 4.1.1.4, or to the last `BDAT` chunk, RFC 3030 2) is [`Outcome::Delivered`]
    /// for an accepted recipient (RFC 5321 6.1: the server has taken responsibility) and
    /// [`Outcome::Deferred`] for one never answered (not known to be delivered), a `5xx`
    /// refusal of the sender or the content [`Outcome::Failed`], a `4xx`
    /// [`Outcome::Deferred`]; a session that ended
    /// first ([`MessageError::SessionClosed`]) or ran out of transactions
    /// ([`MessageError::TransactionLimit`]) is [`Outcome::Deferred`]; a message this
    /// server can never take as it is ([`MessageError::Unsupported`],
    /// [`MessageError::TooLarge`] (RFC 1870's `552`), an invalid envelope or body) is
    /// [`Outcome::Failed`].
    ///
    /// [`Event::MessageResult`]: super::Event::MessageResult
    ///
    /// ```
    /// use ehlo::client::{Outcome, RecipientStatus};
    /// use ehlo::Reply;
    ///
    /// let accepted = RecipientStatus { index: 0, reply: Some(Reply::new(250, None, "OK")) };
    /// let refused = RecipientStatus { index: 1, reply: Some(Reply::new(550, None, "No such user")) };
    /// let busy = RecipientStatus { index: 2, reply: Some(Reply::new(451, None, "Try later")) };
    /// let result = Ok(Reply::new(250, None, "Queued"));
    /// assert_eq!(accepted.outcome(&result), Outcome::Delivered);
    /// assert_eq!(refused.outcome(&result), Outcome::Failed);
    /// assert_eq!(busy.outcome(&result), Outcome::Deferred);
    /// ```
    pub fn outcome(&self, result: &Result<Reply, MessageError>) -> Outcome {
        // A refused MAIL opened no transaction: the RCPTs pipelined behind it were out of
        // sequence and their replies (`503 5.5.1`, RFC 5321 4.1.4, RFC 2920 3.1) say
        // nothing about the recipients.
        if let Err(MessageError::SenderRejected(r)) = result {
            return if r.code.0 >= 500 {
                Outcome::Failed
            } else {
                Outcome::Deferred
            };
        }
        match &self.reply {
            // RFC 5321 4.5.3.1.10: `552` to RCPT is RFC 821's "too many recipients",
            // which clients SHOULD treat as temporary.
            Some(r) if r.code.0 == 552 => return Outcome::Deferred,
            Some(r) if r.code.0 >= 500 => return Outcome::Failed,
            Some(r) if r.code.0 >= 300 => return Outcome::Deferred,
            _ => {}
        }
        match result {
            Ok(r) if is_positive(r) && self.reply.is_some() => Outcome::Delivered,
            // A recipient never answered is not known to be delivered.
            Ok(_) => Outcome::Deferred,
            Err(MessageError::SenderRejected(r) | MessageError::Rejected(r)) => {
                if r.code.0 >= 500 {
                    Outcome::Failed
                } else {
                    Outcome::Deferred
                }
            }
            Err(
                MessageError::SessionClosed(_)
                | MessageError::TransactionLimit { .. }
                | MessageError::NoValidRecipients,
            ) => Outcome::Deferred,
            Err(
                MessageError::Unsupported(_)
                | MessageError::TooLarge { .. }
                | MessageError::NoRecipients
                | MessageError::InvalidEnvelope
                | MessageError::Xexch50TooLarge
                | MessageError::BodyTypeViolation,
            ) => Outcome::Failed,
        }
    }
}

/// What became of a message for one recipient ([`RecipientStatus::outcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The server took responsibility for the message (RFC 5321 6.1): done.
    Delivered,
    /// A transient failure: send it again later, in a new transaction or on a new
    /// connection (RFC 5321 4.2.1, 4.5.4.1).
    Deferred,
    /// A permanent failure with this server: do not send it there again as it is; a
    /// non-delivery report is due to the sender (RFC 5321 4.2.1, 6.1).
    Failed,
}

/// The `452 4.5.3` the client writes for a recipient held back under the server's LIMITS.
pub(super) fn held_back_reply() -> Reply {
    Reply::new(
        452,
        Some(crate::syntax::reply::EnhancedCode::new(4, 5, 3)),
        RecipientStatus::HELD_BACK_TEXT,
    )
}

fn is_held_back(r: &Reply) -> bool {
    r.code.0 == 452
        && r.enhanced == Some(crate::syntax::reply::EnhancedCode::new(4, 5, 3))
        && r.text == RecipientStatus::HELD_BACK_TEXT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_held_back_reply_is_recognised() {
        let r = held_back_reply();
        assert_eq!(r.code.0, 452);
        assert!(is_held_back(&r));
        assert!(!is_held_back(&Reply::new(
            452,
            Some(crate::syntax::reply::EnhancedCode::new(4, 5, 3)),
            "Too many recipients"
        )));
    }
}
