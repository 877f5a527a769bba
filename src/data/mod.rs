//! Message-content codecs: DATA (dot-stuffing, RFC 5321 4.5.2), BDAT (RFC 3030) and
//! XEXCH50 framing. Stateful, IO-free, zero-copy where no rewriting is needed.
