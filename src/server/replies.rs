//! The server's standard replies, as constants (no allocation to send them).
//!
//! Codes follow RFC 5321 4.2 and 4.3.2, enhanced codes RFC 3463 / RFC 5248, the AUTH
//! codes RFC 4954 section 6, the STARTTLS codes RFC 3207.

use crate::syntax::reply::{EnhancedCode, Reply, ReplyCode};
use std::borrow::Cow;

const fn r(code: u16, e: (u8, u16, u16), text: &'static str) -> Reply {
    Reply {
        code: ReplyCode(code),
        enhanced: Some(EnhancedCode::new(e.0, e.1, e.2)),
        text: Cow::Borrowed(text),
    }
}

const fn plain(code: u16, text: &'static str) -> Reply {
    Reply {
        code: ReplyCode(code),
        enhanced: None,
        text: Cow::Borrowed(text),
    }
}

/// `221 2.0.0` after QUIT.
pub const BYE: Reply = r(221, (2, 0, 0), "Bye");
/// `250 2.0.0` for RSET and NOOP.
pub const OK: Reply = r(250, (2, 0, 0), "OK");
/// `250 2.1.0` after MAIL.
pub const SENDER_OK: Reply = r(250, (2, 1, 0), "Sender OK");
/// `250 2.1.5` after RCPT.
pub const RECIPIENT_OK: Reply = r(250, (2, 1, 5), "Recipient OK");
/// `354` after DATA.
pub const START_INPUT: Reply = plain(354, "Start mail input; end with <CRLF>.<CRLF>");
/// `250 2.0.0` after the end of a message.
pub const MESSAGE_ACCEPTED: Reply = r(250, (2, 0, 0), "Message accepted");
/// `252 2.5.0`: the default VRFY answer (RFC 5321 3.5.3).
pub const CANNOT_VRFY: Reply = r(
    252,
    (2, 5, 0),
    "Cannot VRFY user, but will accept message and attempt delivery",
);
/// `252 2.5.0`: EXPN accepted without a reply of the caller's.
pub const CANNOT_EXPN: Reply = r(252, (2, 5, 0), "Cannot EXPN list");
/// `214 2.0.0` for HELP in an EHLO session that offers CHUNKING.
pub const HELP: Reply = r(
    214,
    (2, 0, 0),
    "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP",
);
/// `214 2.0.0` for HELP when CHUNKING is not offered (or not in this session: before EHLO,
/// after HELO).
pub const HELP_WITHOUT_BDAT: Reply = r(
    214,
    (2, 0, 0),
    "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP",
);
/// `220 2.0.0` before the TLS handshake (RFC 3207).
pub const READY_FOR_TLS: Reply = r(220, (2, 0, 0), "Ready to start TLS");
/// `235 2.7.0` (RFC 4954).
pub const AUTH_SUCCESS: Reply = r(235, (2, 7, 0), "Authentication successful");
/// `535 5.7.8` (RFC 4954).
pub const AUTH_FAILED: Reply = r(535, (5, 7, 8), "Authentication credentials invalid");
/// `535 5.7.3`: a failed NTLM exchange (\[MS-SMTPNTLM\] 2.2.1.4, SMTP_AUTH_Fail_Response,
/// which the server MUST send when NTLM reports a wrong user name or password, 3.2.5.2.3).
pub const NTLM_AUTH_FAILED: Reply = r(535, (5, 7, 3), "Authentication unsuccessful");
/// `454 4.7.0` (RFC 4954).
pub const AUTH_TEMP_FAILURE: Reply = r(454, (4, 7, 0), "Temporary authentication failure");
/// `501 5.0.0`: the client cancelled with `*` (RFC 4954).
pub const AUTH_CANCELLED: Reply = r(501, (5, 0, 0), "Authentication cancelled");
/// `501 5.5.2`: invalid base64 (RFC 4954).
pub const INVALID_BASE64: Reply = r(501, (5, 5, 2), crate::syntax::error::INVALID_BASE64_TEXT);
/// `500 5.5.6`: a SASL continuation line, or an AUTH / X-EXPS command line (its initial
/// response), over the limit (RFC 4954 sections 4 and 6).
pub const SASL_LINE_TOO_LONG: Reply = r(500, (5, 5, 6), "Authentication exchange line is too long");
/// `504 5.5.4`: mechanism not offered (RFC 4954).
pub const UNKNOWN_MECHANISM: Reply = r(504, (5, 5, 4), "Unrecognized authentication type");
/// `538 5.7.11`: TLS first (RFC 4954).
pub const ENCRYPTION_REQUIRED: Reply = r(
    538,
    (5, 7, 11),
    "Encryption required for requested authentication mechanism",
);
/// `530 5.7.0`: MAIL before AUTH on a server that requires it (RFC 4954).
pub const AUTH_REQUIRED: Reply = r(530, (5, 7, 0), "Authentication required");
/// `503 5.5.1`: AUTH while authenticated.
pub const ALREADY_AUTHENTICATED: Reply = r(503, (5, 5, 1), "Already authenticated");
/// `503 5.5.1`: AUTH inside a transaction.
pub const AUTH_IN_TRANSACTION: Reply =
    r(503, (5, 5, 1), "AUTH not allowed during a mail transaction");
/// `503 5.5.1`: a command that needs EHLO first.
pub const SEND_EHLO_FIRST: Reply = r(503, (5, 5, 1), "Send EHLO first");
/// `503 5.5.1`: a command that needs HELO or EHLO first.
pub const SEND_HELO_FIRST: Reply = r(503, (5, 5, 1), "Send HELO or EHLO first");
/// `503 5.5.1`: MAIL inside a transaction.
pub const NESTED_MAIL: Reply = r(503, (5, 5, 1), "Sender already specified");
/// `503 5.5.1`: RCPT, DATA, BDAT or XEXCH50 without MAIL.
pub const NEED_MAIL: Reply = r(503, (5, 5, 1), "Need MAIL command first");
/// `503 5.5.1`: XEXCH50 without RCPT.
pub const NEED_RCPT: Reply = r(503, (5, 5, 1), "Need RCPT command first");
/// `503 5.5.1`: DATA after BDAT in the same transaction, or DATA with BINARYMIME.
pub const DATA_AFTER_BDAT: Reply = r(503, (5, 5, 1), "DATA not allowed in a BDAT transaction");
/// `503 5.5.1`: the connection was refused; only QUIT is served (RFC 5321 3.1).
pub const ONLY_QUIT: Reply = r(
    503,
    (5, 5, 1),
    "Bad sequence of commands: only QUIT is accepted",
);
/// `503 5.5.1`: STARTTLS under TLS.
pub const TLS_ALREADY_ACTIVE: Reply = r(503, (5, 5, 1), "TLS already active");
/// `503 5.5.1`: RCPT after the first BDAT chunk of a transaction.
pub const RCPT_AFTER_BDAT: Reply = r(503, (5, 5, 1), "RCPT not allowed after BDAT");
/// `503 5.5.1`: XEXCH50 twice in a transaction.
pub const XEXCH50_TWICE: Reply = r(503, (5, 5, 1), "XEXCH50 already received");
/// `503 5.5.1`: XEXCH50 after the message's first BDAT chunk (the blob goes between RCPT
/// and the message, KB 812455). Like every reply to XEXCH50, at most 40 octets with its
/// CRLF (KB 812455).
pub const XEXCH50_AFTER_BDAT: Reply = r(503, (5, 5, 1), "XEXCH50 after BDAT");
/// `504 5.7.0`: XEXCH50 before the peer authenticated
/// ([`ExchangeConfig::xexch50_requires_auth`](super::ExchangeConfig::xexch50_requires_auth);
/// KB 843106: Exchange 2003 SP1 and later answer `504 Need to authenticate first`).
pub const XEXCH50_NEEDS_AUTH: Reply = r(504, (5, 7, 0), "Need to authenticate first");
/// `554 5.5.1`: DATA or BDAT without any accepted recipient (RFC 5321 3.3, RFC 2920).
pub const NO_VALID_RECIPIENTS: Reply = r(554, (5, 5, 1), "No valid recipients");
/// `552 5.3.4`: message too large (RFC 1870).
pub const TOO_LARGE: Reply = r(
    552,
    (5, 3, 4),
    "Message size exceeds fixed maximum message size",
);
/// `452 4.5.3`: recipient limit (RFC 5321 4.5.3.1.10).
pub const TOO_MANY_RECIPIENTS: Reply = r(452, (4, 5, 3), "Too many recipients");
/// `452 4.5.3`: a recipient in a new domain beyond an advertised `LIMITS RCPTDOMAINMAX`
/// (RFC 9422 section 4.3).
pub const TOO_MANY_RECIPIENT_DOMAINS: Reply = r(452, (4, 5, 3), "Too many recipient domains");
/// `500 5.5.1`: unknown verb.
pub const UNRECOGNIZED: Reply = r(500, (5, 5, 1), "Command unrecognized");
/// `502 5.5.1`: known verb not implemented or not advertised.
pub const NOT_IMPLEMENTED: Reply = r(502, (5, 5, 1), "Command not implemented");
/// `500 5.5.2`: line too long (RFC 5321 4.5.3.1.4).
pub const LINE_TOO_LONG: Reply = r(500, (5, 5, 2), "Line too long");
/// `555 5.5.4`: parameter not recognized or of an extension not advertised (RFC 5321
/// 4.1.1.11).
pub const PARAM_NOT_RECOGNIZED: Reply = r(
    555,
    (5, 5, 4),
    "Parameter not recognized or not implemented",
);
/// `501 5.5.4`: a parameter of an advertised extension whose value is out of the
/// advertised range: `BY=` in R mode below the DELIVERBY min-by-time or not positive (RFC
/// 2852 section 4), `HOLDFOR=` / `HOLDUNTIL=` beyond the FUTURERELEASE maximum (RFC 4865
/// sections 3 and 4). RFC 3463 X.5.4: invalid command arguments.
pub const INVALID_PARAM_VALUE: Reply = r(501, (5, 5, 4), "Invalid parameter value");
/// `553 5.6.7`: non-ASCII address without the SMTPUTF8 parameter (RFC 6531 3.5).
pub const NEED_SMTPUTF8: Reply = r(553, (5, 6, 7), "Non-ASCII address requires SMTPUTF8");
/// `502 5.5.1`: EXPN default.
pub const EXPN_DISABLED: Reply = r(502, (5, 5, 1), "EXPN not available");
/// `458 4.5.0`: ETRN default (RFC 1985).
pub const ETRN_UNABLE: Reply = r(458, (4, 5, 0), "Unable to queue messages for node");
/// `354` after XEXCH50 (22 octets; KB 812455: an XEXCH50 reply is at most 40).
pub const SEND_BLOB: Reply = plain(354, "Send binary data");
/// `250 2.0.0 OK` after the XEXCH50 blob: KB 812455 bounds the success reply after the
/// blob at 20 octets, which `250 2.0.0 XEXCH50 OK` and its CRLF (22) exceed; this is 14.
pub const BLOB_OK: Reply = r(250, (2, 0, 0), "OK");
/// `454 4.7.0`: TLS not available.
pub const TLS_NOT_AVAILABLE: Reply = r(454, (4, 7, 0), "TLS not available");
/// `421 4.7.0`: too many errors.
pub const TOO_MANY_ERRORS: Reply = r(421, (4, 7, 0), "Too many errors, closing connection");
/// `421 4.7.0` after `limits.max_auth_failures` failed authentications.
pub const TOO_MANY_AUTH_FAILURES: Reply = r(
    421,
    (4, 7, 0),
    "Too many authentication failures, closing connection",
);
/// `421 4.7.0`: too many commands.
pub const TOO_MANY_COMMANDS: Reply = r(421, (4, 7, 0), "Too many commands, closing connection");
/// `421 4.7.0`: too many transactions.
pub const TOO_MANY_TRANSACTIONS: Reply = r(
    421,
    (4, 7, 0),
    "Too many messages in this session, closing connection",
);
/// `421 4.7.0`: input buffer cap.
pub const INPUT_OVERFLOW: Reply = r(
    421,
    (4, 7, 0),
    "Too much unprocessed input, closing connection",
);
/// `421 4.3.0`: what a [`Decision::Close`](super::Decision::Close) with a code other than
/// `4xx` / `5xx` sends instead (RFC 5321 3.8 and 4.2.3; RFC 3463 X.3.0, other mail system
/// status).
pub const CLOSING: Reply = r(
    421,
    (4, 3, 0),
    "Service not available, closing transmission channel",
);
/// `421 4.3.2`: the server is shutting down ([`Server::shutdown`](super::Server::shutdown);
/// RFC 5321 3.8, RFC 3463 X.3.2 system not accepting network messages).
pub const SHUTTING_DOWN: Reply = r(
    421,
    (4, 3, 2),
    "Service shutting down, closing transmission channel",
);
/// `421 4.4.2`: timeout (RFC 5321 4.5.3.2).
pub const TIMEOUT: Reply = r(421, (4, 4, 2), "Timeout exceeded, closing connection");
