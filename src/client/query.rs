//! The client's commands outside mail transactions whose reply goes to the caller: NOOP,
//! VRFY, EXPN, HELP (RFC 5321 4.1.1.6 to 4.1.1.9) and ETRN (RFC 1985).
//!
//! A client that keeps connections open between messages sends NOOP to keep one alive
//! and to see that the server still answers before it queues a message on it; VRFY and
//! EXPN ask about addresses, HELP about the server, and ETRN asks a server to start
//! delivering the mail it holds for a domain (a relay dialing in). Each is queued with
//! [`Client::send_query`], sent once the session is ready and no transaction is in
//! progress, before the next queued message, one at a time (RFC 2920 3.1 lets these only
//! end a pipelined group; here nothing is pipelined with them), and answered with
//! [`Event::QueryReply`], whatever the reply's code: a `252` to VRFY or a `502` is as much
//! an answer as a `250`.
//!
//! ```
//! use ehlo::client::{Client, ClientConfig, Event, Query, TlsPolicy};
//! use std::time::Instant;
//!
//! let mut config = ClientConfig::new("client.example.test");
//! config.tls = TlsPolicy::Never;
//! let now = Instant::now();
//! let mut client = Client::new(config, now);
//! client.receive(b"220 mx.example.test ESMTP\r\n");
//! let _ = client.poll_transmit(now); // EHLO
//! client.receive(b"250 mx.example.test\r\n");
//! // Later, with the connection idle:
//! client.send_query(Query::Noop).unwrap();
//! assert_eq!(&client.poll_transmit(now).unwrap()[..], b"NOOP\r\n");
//! client.receive(b"250 2.0.0 OK\r\n");
//! let reply = std::iter::from_fn(|| client.poll_event()).find_map(|e| match e {
//!     Event::QueryReply { query: Query::Noop, result } => result.ok(),
//!     _ => None,
//! });
//! assert_eq!(reply.unwrap().code.0, 250);
//! ```

use super::session::{Client, Event, Expect};
use crate::syntax::capability::Capability;
use crate::syntax::command::{Command, ExchangeVerb};
use bytes::Bytes;
use std::borrow::Cow;

/// A command whose reply the caller wants ([`Client::send_query`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Query {
    /// `NOOP` (RFC 5321 4.1.1.9): no effect but a `250`; keeps an idle session alive and
    /// shows the server still answers.
    Noop,
    /// `VRFY <string>` (RFC 5321 4.1.1.6): is this a mailbox? Many servers answer `252`
    /// (cannot verify, will try) or `502`.
    ///
    /// A string that is not ASCII goes out as `VRFY <string> SMTPUTF8`, and only to a
    /// server that advertised SMTPUTF8 (RFC 6531 3.7.4.2; commands are ASCII otherwise,
    /// RFC 5321 2.4): elsewhere nothing is sent and the query is answered
    /// [`QueryError::NotAdvertised`].
    Vrfy(String),
    /// `EXPN <string>` (RFC 5321 4.1.1.7): the members of a mailing list, one per line of
    /// the reply (3.5.2). A reply of more lines than
    /// [`ClientConfig::max_reply_lines`](super::ClientConfig::max_reply_lines) (256 by
    /// default) ends the session as malformed: raise it to expand large lists. A string
    /// that is not ASCII is sent as for [`Query::Vrfy`].
    Expn(String),
    /// `HELP [<string>]` (RFC 5321 4.1.1.8): the string, if given, is neither empty nor
    /// blank, and ASCII.
    Help(Option<String>),
    /// `ETRN <node>` (RFC 1985): start delivering what the server queues for `node` (a
    /// domain, `@domain` for its subdomains too, or `#queue`), in ASCII (an
    /// internationalized domain as A-labels). Sent only when the server advertised ETRN
    /// (RFC 1985 section 2).
    Etrn(String),
}

impl Query {
    /// The command verb.
    pub fn verb(&self) -> &'static str {
        match self {
            Query::Noop => "NOOP",
            Query::Vrfy(_) => "VRFY",
            Query::Expn(_) => "EXPN",
            Query::Help(_) => "HELP",
            Query::Etrn(_) => "ETRN",
        }
    }

    /// The argument, if any.
    fn arg(&self) -> Option<&str> {
        match self {
            Query::Noop | Query::Help(None) => None,
            Query::Vrfy(a) | Query::Expn(a) | Query::Etrn(a) | Query::Help(Some(a)) => Some(a),
        }
    }

    /// Whether the command carries UTF-8, which only `VRFY` and `EXPN` may, with the
    /// `SMTPUTF8` parameter (RFC 6531 3.7.4.2).
    fn needs_smtputf8(&self) -> bool {
        matches!(self, Query::Vrfy(a) | Query::Expn(a) if !a.is_ascii())
    }

    fn command(&self) -> Command<'_> {
        // RFC 6531 3.7.4.2: `"VRFY" SP String [ SP "SMTPUTF8" ]`, and the same for EXPN.
        fn string(a: &str, smtputf8: bool) -> Cow<'_, str> {
            if smtputf8 {
                Cow::Owned(format!("{a} SMTPUTF8"))
            } else {
                Cow::Borrowed(a)
            }
        }
        let smtputf8 = self.needs_smtputf8();
        match self {
            Query::Noop => Command::Noop { arg: None },
            Query::Vrfy(a) => Command::Vrfy {
                arg: string(a, smtputf8),
            },
            Query::Expn(a) => Command::Expn {
                arg: string(a, smtputf8),
            },
            Query::Help(a) => Command::Help {
                arg: a.as_deref().map(Cow::Borrowed),
            },
            Query::Etrn(a) => Command::Etrn {
                node: Cow::Borrowed(a),
            },
        }
    }
}

/// Why a query got no reply ([`Event::QueryReply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The command needs an extension the server did not advertise (ETRN, or SMTPUTF8
    /// for a `VRFY` or `EXPN` string that is not ASCII); nothing was sent.
    #[error("the server does not advertise this command")]
    NotAdvertised,
    /// The session ended before the command was sent or answered.
    #[error("the session closed before the command was answered")]
    SessionClosed,
}

/// Why [`Client::send_query`] refused to queue a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum QueryCommandError {
    /// The session is closed or quitting.
    #[error("the session is closed or quitting")]
    Closed,
    /// The argument is empty or blank (a `HELP` string too, RFC 5321 4.1.1.8), holds CR,
    /// LF, NUL or another control character (it would end or corrupt the command line),
    /// or is not ASCII for `HELP` or `ETRN` (commands are ASCII, RFC 5321 2.4; RFC 6531
    /// extends only MAIL, RCPT, VRFY and EXPN).
    #[error("invalid query argument")]
    InvalidArgument,
    /// The command line would exceed 512 octets, CRLF included (RFC 5321 4.5.3.1.4), the
    /// ` SMTPUTF8` a string that is not ASCII takes included.
    #[error("command line too long")]
    LineTooLong,
}

/// A command queued to go out between transactions, in the order queued.
#[derive(Debug, Clone)]
pub(super) enum Side {
    /// An Exchange verb with opaque arguments (`client/exchange.rs`).
    Exchange(ExchangeVerb, Bytes),
    /// A query.
    Query(Query),
}

impl Client {
    /// Queues a [`Query`]. It is sent once the session is ready and no transaction is in
    /// progress, before the next queued message, in the order queued with other queries
    /// and Exchange verbs; the reply arrives as [`Event::QueryReply`].
    pub fn send_query(&mut self, query: Query) -> Result<(), QueryCommandError> {
        if !self.open_for_commands() {
            return Err(QueryCommandError::Closed);
        }
        if let Some(arg) = query.arg() {
            // RFC 5321 4.1.1.6-4.1.1.8 and RFC 1985: a string argument, never empty (a
            // String is one character or more); a control character would end or corrupt
            // the line; UTF-8 only in VRFY and EXPN, under SMTPUTF8 (RFC 6531 3.7.4.2).
            if arg.trim().is_empty()
                || arg.bytes().any(|b| b < 0x20 || b == 0x7f)
                || (!arg.is_ascii() && !query.needs_smtputf8())
            {
                return Err(QueryCommandError::InvalidArgument);
            }
            let param = if query.needs_smtputf8() { 9 } else { 0 };
            if query.verb().len() + 1 + arg.len() + param + 2 > crate::limits::MAX_COMMAND_LINE {
                return Err(QueryCommandError::LineTooLong);
            }
        }
        self.side_queue.push_back(Side::Query(query));
        self.advance();
        Ok(())
    }

    /// Sends the next queued side command; `false` when it could not be sent (its
    /// failure event was queued instead) and the next may be tried.
    pub(super) fn dispatch_side(&mut self) -> bool {
        match self.side_queue.pop_front() {
            None => false,
            Some(Side::Exchange(verb, args)) => self.dispatch_exchange(verb, args),
            Some(Side::Query(query)) => {
                let advertised = |cap: &Capability| {
                    self.is_esmtp() && self.capabilities().is_some_and(|c| c.has(cap))
                };
                // RFC 1985 section 2: ETRN only when advertised; RFC 6531 3.7.4.2: UTF-8
                // in VRFY or EXPN only under SMTPUTF8.
                if (matches!(query, Query::Etrn(_)) && !advertised(&Capability::Etrn))
                    || (query.needs_smtputf8() && !advertised(&Capability::SmtpUtf8))
                {
                    self.events.push_back(Event::QueryReply {
                        query,
                        result: Err(QueryError::NotAdvertised),
                    });
                    return false;
                }
                self.command(&query.command(), Expect::Query(query.verb()));
                self.query_in_flight = Some(query);
                true
            }
        }
    }

    /// The reply to the query in flight.
    pub(super) fn on_query_reply(&mut self, reply: crate::syntax::reply::Reply) {
        if let Some(query) = self.query_in_flight.take() {
            self.events.push_back(Event::QueryReply {
                query,
                result: Ok(reply),
            });
        }
    }

    /// Reports the queued side commands as never sent, and one sent and not answered
    /// (the session is ending).
    pub(super) fn fail_side_queue(&mut self) {
        if let Some(query) = self.query_in_flight.take() {
            self.events.push_back(Event::QueryReply {
                query,
                result: Err(QueryError::SessionClosed),
            });
        }
        while let Some(side) = self.side_queue.pop_front() {
            match side {
                Side::Exchange(verb, _) => self.events.push_back(Event::ExchangeReply {
                    verb,
                    result: Err(super::ExchangeError::SessionClosed),
                }),
                Side::Query(query) => self.events.push_back(Event::QueryReply {
                    query,
                    result: Err(QueryError::SessionClosed),
                }),
            }
        }
    }
}
