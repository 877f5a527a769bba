//! The incremental command decoder: a client's byte stream, in arbitrary pieces, to
//! [`Command`]s, SASL continuation lines and message content. The counterpart of
//! [`ReplyParser`](super::reply::ReplyParser) for the other direction, for a server, a
//! proxy or a test tool built on the syntax layer.
//!
//! [`CommandDecoder`] frames command lines with the limits a server applies
//! ([`CommandLineLimits`]: 512 octets, RFC 5321 4.5.3.1.4; MAIL and RCPT lines longer by the
//! room of the extensions' parameters; AUTH and X-EXPS lines as long as SASL lines, RFC 4954
//! section 4; X-LINK2STATE lines of 1,024 octets, KB 812455), parses them with
//! [`parse_command`], and skips an over-long line without storing it.
//!
//! # What follows a command
//!
//! The bytes after some commands are not commands, and must never be read as commands: a
//! peer that gets its content read as commands smuggles them (SMTP smuggling,
//! CVE-2023-51764/51765/51766; see `SECURITY.md`). Only the caller knows some of the
//! replies, so the decoder has one method for each kind of input, and the caller picks:
//!
//! | after | and the reply | the next input | read it with |
//! |---|---|---|---|
//! | `AUTH`, `X-EXPS` | `334` | one SASL line (RFC 4954 section 4) | [`CommandDecoder::decode_sasl`] |
//! | `DATA` | `354` | content up to `CRLF . CRLF` (RFC 5321 4.1.1.4) | [`CommandDecoder::begin_data`], then [`CommandDecoder::decode_data`] |
//! | `BDAT n` | any (RFC 3030 section 2: the chunk follows the command at once) | `n` octets | [`CommandDecoder::read_chunk`] (begun by [`CommandDecoder::decode`] itself) |
//! | `XEXCH50 n m` | `354` | an `n`-octet blob (KB 812455) | [`CommandDecoder::begin_chunk`], then [`CommandDecoder::read_chunk`] |
//! | anything else, or a refusal | | commands | [`CommandDecoder::decode`] |
//!
//! The content of a DATA message or an XEXCH50 blob starts only after a positive `354`: the
//! caller calls `begin_data` / `begin_chunk` then, and not before (a client that sends
//! content without waiting for it is sending commands). While content is pending,
//! [`CommandDecoder::decode`] and [`CommandDecoder::decode_sasl`] never read it as lines:
//! they discard what is left of it first.
//!
//! # Example: a whole transaction
//!
//! ```
//! use ehlo::bytes::BytesMut;
//! use ehlo::data::{DataEvent, DecoderConfig};
//! use ehlo::syntax::command::Command;
//! use ehlo::syntax::decoder::CommandDecoder;
//!
//! let mut dec = CommandDecoder::default();
//! let mut buf = BytesMut::new();
//! // The client's flight, pipelined (RFC 2920); DATA ends it.
//! buf.extend_from_slice(b"EHLO client.example.test\r\nMAIL FROM:<a@example.test>\r\n");
//! buf.extend_from_slice(b"RCPT TO:<b@example.test>\r\nDATA\r\n");
//! let mut verbs = Vec::new();
//! while let Some(cmd) = dec.decode(&mut buf)? {
//!     verbs.push(cmd.verb().to_string());
//! }
//! assert_eq!(verbs, ["EHLO", "MAIL", "RCPT", "DATA"]);
//!
//! // The server answered DATA with 354: what comes now is content, up to CRLF.CRLF.
//! dec.begin_data(DecoderConfig::default());
//! buf.extend_from_slice(b"Subject: hi\r\n\r\n..RSET\r\nMAIL FROM:<x@example.test>\r\n.\r\nQU");
//! let mut content = Vec::new();
//! let summary = loop {
//!     match dec.decode_data(&mut buf) {
//!         Some(DataEvent::Content(piece)) => content.extend_from_slice(&piece),
//!         Some(DataEvent::End(summary)) => break summary,
//!         None => unreachable!("the whole message is in the buffer"),
//!     }
//! };
//! // Lines that look like commands were content, dot-unstuffed (RFC 5321 4.5.2).
//! assert_eq!(content, b"Subject: hi\r\n\r\n.RSET\r\nMAIL FROM:<x@example.test>\r\n");
//! assert_eq!(summary.outcome, Ok(()));
//!
//! // Commands again, from the octet after the end of data.
//! assert_eq!(dec.decode(&mut buf)?, None); // `QU` so far
//! buf.extend_from_slice(b"IT\r\n");
//! assert_eq!(dec.decode(&mut buf)?, Some(Command::Quit));
//! # Ok::<(), ehlo::syntax::DecodeError>(())
//! ```

use super::command::{parse_command, parse_sasl_line, Command, SaslResponse};
use super::line::{find_line, skip_line, LineStatus};
use super::{CommandError, DecodeError, Leniency, ParseOptions};
use crate::data::{ChunkReader, DataDecoder, DataEvent, DecoderConfig};
use crate::limits::{CommandLineLimits, ParamExtensions, MAX_COMMAND_LINE, MAX_SASL_LINE};
use crate::syntax::capability::Capabilities;
use bytes::{Buf, Bytes, BytesMut};

/// What a [`CommandDecoder`] accepts: the parser's options and the line limits.
///
/// The default is what RFC 5321 and RFC 4954 state for a server that offers no extension:
/// Postfix-like leniency (a bare LF ends a line), no UTF-8, 512-octet command lines,
/// 12,288-octet AUTH / X-EXPS and SASL lines, no room for MAIL and RCPT parameters beyond
/// the 512 octets. [`DecoderOptions::from_capabilities`] takes what an EHLO reply offers;
/// [`ParamExtensions::ALL`] accepts the longest MAIL and RCPT lines of any extension.
///
/// ```
/// use ehlo::limits::ParamExtensions;
/// use ehlo::syntax::decoder::DecoderOptions;
/// use ehlo::syntax::Leniency;
///
/// let mut opts = DecoderOptions { params: ParamExtensions::ALL, ..DecoderOptions::default() };
/// opts.parse.leniency = Leniency::Strict; // RFC grammar only; only CRLF ends a line
/// let limits = opts.line_limits();
/// assert_eq!(limits.for_line(b"NOOP"), 512);
/// assert!(limits.for_line(b"MAIL FROM:<>") > 512);
/// assert_eq!(limits.for_line(b"AUTH PLAIN"), 12288);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecoderOptions {
    /// The parser's options: [`Leniency`] (under [`Leniency::Lenient`] a bare LF also ends
    /// a line, as for the server), UTF-8 in paths once SMTPUTF8 is offered (RFC 6531), and
    /// `max_line`, the command line limit (CRLF included; at least 512 is used, RFC 5321
    /// 4.5.3.1.4).
    pub parse: ParseOptions,
    /// The limit of AUTH and X-EXPS command lines and of SASL continuation lines, CRLF
    /// included (default 12,288, RFC 4954 section 4; at least the command line limit is
    /// used). Raise it for X-EXPS GSSAPI between Exchange servers, whose Kerberos tokens
    /// can be longer.
    pub max_sasl_line: usize,
    /// The extensions whose MAIL and RCPT parameters lengthen those lines (RFC 5321
    /// 4.5.3.1.4); default none.
    pub params: ParamExtensions,
    /// Whether X-LINK2STATE lines may be 1,024 octets long (KB 812455); default `false`.
    pub link2state: bool,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        DecoderOptions {
            parse: ParseOptions::default(),
            max_sasl_line: MAX_SASL_LINE,
            params: ParamExtensions::NONE,
            link2state: false,
        }
    }
}

impl DecoderOptions {
    /// The options for a client of the server whose EHLO reply is `caps`: MAIL and RCPT
    /// lines as long as the advertised extensions' parameters need, UTF-8 where SMTPUTF8
    /// is advertised, X-LINK2STATE lines where it is advertised; the rest as in
    /// [`DecoderOptions::default`]. A proxy takes this from the upstream server's reply.
    ///
    /// ```
    /// use ehlo::syntax::capability::Capabilities;
    /// use ehlo::syntax::decoder::DecoderOptions;
    /// use ehlo::syntax::reply::Reply;
    ///
    /// let reply = Reply::new(250, None, "mx.example.test\nSIZE 1000\nSMTPUTF8\nX-LINK2STATE");
    /// let opts = DecoderOptions::from_capabilities(&Capabilities::from_reply(&reply));
    /// assert!(opts.parse.utf8 && opts.params.size && opts.params.smtputf8 && opts.link2state);
    /// assert_eq!(opts.line_limits().for_line(b"X-LINK2STATE FIRST"), 1024);
    /// ```
    pub fn from_capabilities(caps: &Capabilities) -> DecoderOptions {
        DecoderOptions {
            parse: ParseOptions {
                utf8: caps.smtputf8(),
                ..ParseOptions::default()
            },
            params: ParamExtensions::from_capabilities(caps),
            link2state: caps.x_link2state(),
            ..DecoderOptions::default()
        }
    }

    /// The limit of each command line these options give: [`CommandLineLimits`] with the
    /// command line limit, the parameter allowances, AUTH and X-EXPS lines as long as SASL
    /// lines, and X-LINK2STATE lines where enabled.
    ///
    /// ```
    /// use ehlo::syntax::decoder::DecoderOptions;
    /// let limits = DecoderOptions::default().line_limits();
    /// assert_eq!((limits.command, limits.mail, limits.auth), (512, 512, Some(12288)));
    /// assert!(limits.is_sasl_command(b"X-EXPS GSSAPI"));
    /// ```
    pub fn line_limits(&self) -> CommandLineLimits {
        let sasl = Some(self.sasl_line());
        CommandLineLimits {
            auth: sasl,
            exps: sasl,
            link2state: self.link2state,
            ..CommandLineLimits::new(self.command_line(), self.params)
        }
    }

    /// The command line limit in force: `parse.max_line`, at least 512.
    fn command_line(&self) -> usize {
        self.parse.max_line.max(MAX_COMMAND_LINE)
    }

    /// The SASL line limit in force: `max_sasl_line`, at least a command line.
    fn sasl_line(&self) -> usize {
        self.max_sasl_line.max(self.command_line())
    }
}

/// Content the decoder is reading instead of lines.
#[derive(Debug, Clone)]
enum Content {
    /// Lines.
    None,
    /// The rest of a BDAT chunk or an XEXCH50 blob.
    Chunk(ChunkReader),
    /// DATA content up to its end.
    Data(DataDecoder),
}

/// Incremental command decoder: consumes complete lines from the front of a buffer the
/// caller appends to, and returns one command (or SASL line, or piece of content) per call.
///
/// Memory is bounded: a line longer than its limit is reported once
/// ([`DecodeError::LineTooLong`]) as soon as the limit is passed and skipped to its end
/// without being stored, so a peer that never sends a line end cannot make the buffer grow
/// past the limit. A line that does not parse is consumed and reported
/// ([`DecodeError::Invalid`]). After either error the next call goes on with the next line;
/// a server answers with [`DecodeError::reply`] and reads on, as RFC 5321 4.2.4 has it.
///
/// See the [module documentation](self) for what follows DATA, BDAT, AUTH and XEXCH50 and
/// an example of a whole transaction.
///
/// ```
/// use ehlo::bytes::BytesMut;
/// use ehlo::syntax::command::Command;
/// use ehlo::syntax::decoder::CommandDecoder;
/// use ehlo::syntax::DecodeError;
///
/// let mut dec = CommandDecoder::default();
/// let mut buf = BytesMut::from(&b"NOOP\r\nRS"[..]);
/// assert_eq!(dec.decode(&mut buf)?, Some(Command::Noop { arg: None }));
/// assert_eq!(dec.decode(&mut buf)?, None); // `RS` waits for the rest
/// buf.extend_from_slice(&[b'x'; 600]);
/// buf.extend_from_slice(b"\r\nQUIT\r\n");
/// // `RSxxx...` is past 512 octets: reported once, skipped, and decoding goes on.
/// assert_eq!(dec.decode(&mut buf), Err(DecodeError::LineTooLong { limit: 512, sasl: false }));
/// assert_eq!(dec.decode(&mut buf)?, Some(Command::Quit));
/// assert!(buf.is_empty());
/// # Ok::<(), DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CommandDecoder {
    options: DecoderOptions,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    content: Content,
    /// Octets taken from the front of the caller's buffer for the DATA decoder and not yet
    /// consumed: they come before whatever the buffer holds. Empty outside DATA content
    /// (given back to the buffer when the content ends).
    held: Bytes,
}

impl Default for CommandDecoder {
    /// A decoder with [`DecoderOptions::default`].
    fn default() -> Self {
        CommandDecoder::new(DecoderOptions::default())
    }
}

impl CommandDecoder {
    /// A decoder reading commands with `options`.
    ///
    /// ```
    /// use ehlo::syntax::decoder::{CommandDecoder, DecoderOptions};
    /// use ehlo::syntax::Leniency;
    ///
    /// let mut opts = DecoderOptions::default();
    /// opts.parse.leniency = Leniency::Strict;
    /// let dec = CommandDecoder::new(opts);
    /// assert_eq!(dec.options().parse.leniency, Leniency::Strict);
    /// ```
    pub fn new(options: DecoderOptions) -> CommandDecoder {
        CommandDecoder {
            options,
            skipping: false,
            content: Content::None,
            held: Bytes::new(),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &DecoderOptions {
        &self.options
    }

    /// The options, to change between calls: e.g. `parse.utf8` once the server's EHLO reply
    /// offered SMTPUTF8, or the parameter allowances from that reply. The next line is
    /// framed and parsed with them.
    ///
    /// ```
    /// use ehlo::limits::ParamExtensions;
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// dec.options_mut().parse.utf8 = true;
    /// dec.options_mut().params = ParamExtensions::ALL;
    /// assert!(dec.options().parse.utf8);
    /// ```
    pub fn options_mut(&mut self) -> &mut DecoderOptions {
        &mut self.options
    }

    /// Whether the decoder holds part of the input: it is skipping the rest of an
    /// over-long line, or content is pending. A server checks this, with its buffer,
    /// after the `220` to STARTTLS: nothing may be pending (RFC 3207 section 6,
    /// CVE-2011-0411).
    ///
    /// ```
    /// use ehlo::bytes::BytesMut;
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// let mut buf = BytesMut::from(&b"STARTTLS\r\nMAIL FROM:<a@example.test>\r\n"[..]);
    /// dec.decode(&mut buf)?;
    /// // Injected plaintext after STARTTLS: a server discards it (or closes).
    /// assert!(!buf.is_empty());
    /// buf.clear();
    /// dec.reset();
    /// assert!(!dec.in_progress());
    /// # Ok::<(), ehlo::syntax::DecodeError>(())
    /// ```
    pub fn in_progress(&self) -> bool {
        self.skipping || self.content_pending() || !self.held.is_empty()
    }

    /// Whether content is pending: a BDAT chunk or XEXCH50 blob not wholly read
    /// ([`CommandDecoder::read_chunk`]), or DATA content whose end has not come
    /// ([`CommandDecoder::decode_data`]).
    ///
    /// ```
    /// use ehlo::bytes::BytesMut;
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// let mut buf = BytesMut::from(&b"BDAT 10\r\n0123"[..]);
    /// dec.decode(&mut buf)?;
    /// assert_eq!(dec.read_chunk(&mut buf).as_deref(), Some(&b"0123"[..]));
    /// assert_eq!(dec.read_chunk(&mut buf), None);
    /// assert!(dec.content_pending()); // six octets to come
    /// # Ok::<(), ehlo::syntax::DecodeError>(())
    /// ```
    pub fn content_pending(&self) -> bool {
        !matches!(self.content, Content::None)
    }

    /// Forgets the line being skipped, any pending content and the octets held for it
    /// (e.g. after the TLS handshake, with the caller's buffer cleared too).
    pub fn reset(&mut self) {
        self.skipping = false;
        self.content = Content::None;
        self.held = Bytes::new();
    }

    /// Consumes the next command line from the front of `buf` and returns its command,
    /// `Ok(None)` when more bytes are needed.
    ///
    /// The line's limit is [`DecoderOptions::line_limits`] for its verb; it is parsed with
    /// [`parse_command`] and the options' leniency and UTF-8 setting, and detached from
    /// `buf` ([`Command::into_owned`]). On `Ok(None)` one of these holds: content is still
    /// pending and `buf` is empty (all of it was content, discarded); the rest of an
    /// over-long line is being skipped and `buf` is empty or holds one CR; or `buf` holds no
    /// complete line and fewer octets than the limit of the line it starts.
    /// Call again after `Ok(Some(_))` (more commands may be buffered, RFC 2920) and after
    /// `Err(_)` (see [`DecodeError`]).
    ///
    /// After `Command::Bdat { size, .. }` the next `size` octets are the chunk (RFC 3030
    /// section 2), whatever the reply: read them with [`CommandDecoder::read_chunk`]. Any
    /// content still pending when `decode` is called (a chunk, or DATA content begun with
    /// [`CommandDecoder::begin_data`]) is discarded first, never read as commands.
    ///
    /// ```
    /// use ehlo::bytes::BytesMut;
    /// use ehlo::syntax::command::Command;
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// let mut buf = BytesMut::from(&b"BDAT 6 LAST\r\nRSET\r\nQUIT\r\n"[..]);
    /// assert_eq!(dec.decode(&mut buf)?, Some(Command::Bdat { size: 6, last: true }));
    /// // The chunk's octets are content even where they look like a command.
    /// assert_eq!(dec.read_chunk(&mut buf).as_deref(), Some(&b"RSET\r\n"[..]));
    /// assert_eq!(dec.decode(&mut buf)?, Some(Command::Quit));
    /// # Ok::<(), ehlo::syntax::DecodeError>(())
    /// ```
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Command<'static>>, DecodeError> {
        if !self.discard_content(buf) || !self.skip(buf) {
            return Ok(None);
        }
        let limits = self.options.line_limits();
        let max = limits.for_line(buf);
        let sasl = limits.is_sasl_command(buf);
        let parse = self.options.parse;
        let cmd = self.next_line(buf, max, sasl, |line, content| {
            // The line was judged against its limit where it was found; the parser, which
            // counts every line as ending in CRLF, gets that much room (as the server does).
            let opts = ParseOptions {
                max_line: content.saturating_add(2).max(limits.command),
                ..parse
            };
            parse_command(line, &opts).map(Command::into_owned)
        })?;
        if let Some(Command::Bdat { size, .. }) = cmd {
            if size > 0 {
                self.content = Content::Chunk(ChunkReader::new(size));
            }
        }
        Ok(cmd)
    }

    /// Consumes the next SASL continuation line (RFC 4954 section 4: base64 text, or `*` to
    /// cancel) from the front of `buf`; `Ok(None)` when more bytes are needed.
    ///
    /// Call it, instead of [`CommandDecoder::decode`], for the line that answers a `334`
    /// after `AUTH` or `X-EXPS`. The limit is [`DecoderOptions::max_sasl_line`]: a line past
    /// it is [`DecodeError::LineTooLong`] with `sasl` set (`500 5.5.6`, which ends the
    /// exchange); a line with characters outside base64 is [`DecodeError::Invalid`] with
    /// [`CommandError::InvalidBase64`] (`501 5.5.2`). The same invariants as `decode` hold
    /// on `Ok(None)`.
    ///
    /// ```
    /// use ehlo::bytes::BytesMut;
    /// use ehlo::syntax::command::{Command, SaslResponse};
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// let mut buf = BytesMut::from(&b"AUTH LOGIN\r\nYWxpY2U=\r\n*\r\n"[..]);
    /// assert!(matches!(dec.decode(&mut buf)?, Some(Command::Auth { .. })));
    /// // The server answered 334: the next lines are SASL lines.
    /// assert_eq!(dec.decode_sasl(&mut buf)?, Some(SaslResponse::Base64("YWxpY2U=".into())));
    /// assert_eq!(dec.decode_sasl(&mut buf)?, Some(SaslResponse::Cancel));
    /// # Ok::<(), ehlo::syntax::DecodeError>(())
    /// ```
    pub fn decode_sasl(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<SaslResponse<'static>>, DecodeError> {
        if !self.discard_content(buf) || !self.skip(buf) {
            return Ok(None);
        }
        let max = self.options.sasl_line();
        self.next_line(buf, max, true, |line, _| {
            parse_sasl_line(line).map(SaslResponse::into_owned)
        })
    }

    /// Starts DATA content: call it once the server answered `DATA` with `354` (RFC 5321
    /// 4.1.1.4), then read the content with [`CommandDecoder::decode_data`]. Not before: a
    /// refused DATA is followed by commands. `config` sets the size cap and the bare CR /
    /// LF and long-line policies ([`DataDecoder`]).
    ///
    /// ```
    /// use ehlo::bytes::BytesMut;
    /// use ehlo::data::{DataError, DataEvent, DecoderConfig};
    /// use ehlo::syntax::command::Command;
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// let mut buf = BytesMut::from(&b"DATA\r\n"[..]);
    /// assert_eq!(dec.decode(&mut buf)?, Some(Command::Data));
    /// // 354 sent; messages over 4 octets are refused at their end (552 5.3.4).
    /// dec.begin_data(DecoderConfig { max_size: 4, ..DecoderConfig::default() });
    /// buf.extend_from_slice(b"too long\r\n.\r\n");
    /// let summary = loop {
    ///     if let Some(DataEvent::End(s)) = dec.decode_data(&mut buf) {
    ///         break s;
    ///     }
    /// };
    /// assert!(matches!(summary.outcome, Err(DataError::TooLarge { .. })));
    /// # Ok::<(), ehlo::syntax::DecodeError>(())
    /// ```
    pub fn begin_data(&mut self, config: DecoderConfig) {
        self.content = Content::Data(DataDecoder::new(config));
    }

    /// Starts an exact-size chunk of `size` octets that follows the `354` reply to
    /// `XEXCH50 size mode` (KB 812455), read with [`CommandDecoder::read_chunk`]. A BDAT
    /// chunk needs no call: [`CommandDecoder::decode`] starts it when it returns the
    /// `BDAT` command.
    ///
    /// ```
    /// use ehlo::bytes::BytesMut;
    /// use ehlo::syntax::command::Command;
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// let mut buf = BytesMut::from(&b"XEXCH50 4 2\r\n"[..]);
    /// let Some(Command::XExch50 { size, .. }) = dec.decode(&mut buf)? else { panic!() };
    /// // The server answered 354.
    /// dec.begin_chunk(size);
    /// buf.extend_from_slice(b"\0\x01\r\nQUIT\r\n");
    /// assert_eq!(dec.read_chunk(&mut buf).as_deref(), Some(&b"\0\x01\r\n"[..]));
    /// assert!(!dec.content_pending());
    /// assert_eq!(dec.decode(&mut buf)?, Some(Command::Quit));
    /// # Ok::<(), ehlo::syntax::DecodeError>(())
    /// ```
    pub fn begin_chunk(&mut self, size: u64) {
        self.content = if size > 0 {
            Content::Chunk(ChunkReader::new(size))
        } else {
            Content::None
        };
    }

    /// The next event of the DATA content begun with [`CommandDecoder::begin_data`]: a piece
    /// of dot-unstuffed content, or the end of data with its summary. `None` when all of
    /// `buf` was consumed without reaching the end (read more and call again), or when no
    /// DATA content is pending.
    ///
    /// Only `CRLF . CRLF` ends the content ([`DataDecoder`]). After
    /// [`DataEvent::End`], `buf` holds exactly the octets after the terminator (pipelined
    /// commands), and [`CommandDecoder::decode`] reads on from there. Pieces are slices of
    /// the input (no copy) wherever no unstuffing was needed.
    ///
    /// ```
    /// use ehlo::bytes::BytesMut;
    /// use ehlo::data::{DataEvent, DecoderConfig};
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// dec.begin_data(DecoderConfig::default());
    /// let mut buf = BytesMut::from(&b"Hi\r\n.\r"[..]);
    /// assert!(matches!(dec.decode_data(&mut buf), Some(DataEvent::Content(_))));
    /// assert_eq!(dec.decode_data(&mut buf), None); // `.` CR so far: read more
    /// assert!(buf.is_empty());
    /// buf.extend_from_slice(b"\nQUIT\r\n");
    /// assert!(matches!(dec.decode_data(&mut buf), Some(DataEvent::End(_))));
    /// assert_eq!(&buf[..], b"QUIT\r\n");
    /// ```
    pub fn decode_data(&mut self, buf: &mut BytesMut) -> Option<DataEvent> {
        let Content::Data(data) = &mut self.content else {
            return None;
        };
        loop {
            if self.held.is_empty() {
                if buf.is_empty() {
                    return None;
                }
                // Taken whole (no copy) and held across calls, so pieces of content stay
                // slices of it and nothing is copied per event.
                self.held = buf.split().freeze();
            }
            match data.decode(&mut self.held) {
                Some(DataEvent::End(summary)) => {
                    self.content = Content::None;
                    self.restore(buf);
                    return Some(DataEvent::End(summary));
                }
                Some(event) => return Some(event),
                // All of `held` was consumed: go on with `buf`.
                None if self.held.is_empty() => {}
                None => return None,
            }
        }
    }

    /// The next piece of the pending BDAT chunk or XEXCH50 blob, taken from the front of
    /// `buf` (no copy); `None` when `buf` is empty or no chunk is pending
    /// ([`CommandDecoder::content_pending`] tells which). The octets are never interpreted:
    /// `CRLF . CRLF` or a command line inside a chunk is content (RFC 3030 section 2).
    ///
    /// ```
    /// use ehlo::bytes::BytesMut;
    /// use ehlo::syntax::command::Command;
    /// use ehlo::syntax::decoder::CommandDecoder;
    ///
    /// let mut dec = CommandDecoder::default();
    /// let mut buf = BytesMut::from(&b"BDAT 5 LAST\r\n.\r\nQUIT\r\n"[..]);
    /// assert_eq!(dec.decode(&mut buf)?, Some(Command::Bdat { size: 5, last: true }));
    /// let mut chunk = Vec::new();
    /// while let Some(piece) = dec.read_chunk(&mut buf) {
    ///     chunk.extend_from_slice(&piece);
    /// }
    /// assert_eq!(chunk, b".\r\nQU");
    /// assert_eq!(&buf[..], b"IT\r\n");
    /// # Ok::<(), ehlo::syntax::DecodeError>(())
    /// ```
    pub fn read_chunk(&mut self, buf: &mut BytesMut) -> Option<Bytes> {
        self.restore(buf);
        let Content::Chunk(reader) = &mut self.content else {
            return None;
        };
        let take = usize::try_from(reader.remaining())
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let mut input = buf.split_to(take).freeze();
        let piece = reader.read(&mut input);
        if reader.is_done() {
            self.content = Content::None;
        }
        piece
    }

    /// Finds the next line within `max` octets and parses it with `parse(line, content)`
    /// (the line with its line end, and the length of its content); `sasl` says what kind
    /// of line an over-long one is.
    fn next_line<T>(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
        sasl: bool,
        parse: impl FnOnce(&[u8], usize) -> Result<T, CommandError>,
    ) -> Result<Option<T>, DecodeError> {
        match find_line(buf, max, self.bare_lf()) {
            LineStatus::Incomplete => Ok(None),
            LineStatus::TooLong => {
                self.skipping = true;
                self.skip(buf);
                Err(DecodeError::LineTooLong { limit: max, sasl })
            }
            LineStatus::Complete { content, total } => {
                match parse(buf.get(..total).unwrap_or_default(), content) {
                    Ok(value) => {
                        buf.advance(total);
                        Ok(Some(value))
                    }
                    Err(error) => {
                        let mut line = buf.split_to(total).freeze();
                        line.truncate(content);
                        Err(DecodeError::Invalid { error, line })
                    }
                }
            }
        }
    }

    /// Whether a bare LF ends a line: under [`Leniency::Lenient`], as for the server.
    fn bare_lf(&self) -> bool {
        self.options.parse.leniency == Leniency::Lenient
    }

    /// Goes on skipping an over-long line; `true` once its end has been passed (or when
    /// none is being skipped).
    fn skip(&mut self, buf: &mut BytesMut) -> bool {
        if self.skipping {
            let (n, found) = skip_line(buf, self.bare_lf());
            buf.advance(n);
            self.skipping = !found;
        }
        !self.skipping
    }

    /// Discards whatever pending content `buf` holds; `true` when none is pending any more.
    fn discard_content(&mut self, buf: &mut BytesMut) -> bool {
        loop {
            let progressed = match self.content {
                Content::None => {
                    self.restore(buf);
                    return true;
                }
                Content::Chunk(_) => self.read_chunk(buf).is_some(),
                Content::Data(_) => self.decode_data(buf).is_some(),
            };
            if !progressed {
                return !self.content_pending();
            }
        }
    }

    /// Gives the held octets back to the front of `buf` (once DATA content has ended, or
    /// was abandoned): one copy of what is left of one read, once per message.
    fn restore(&mut self, buf: &mut BytesMut) {
        if self.held.is_empty() || matches!(self.content, Content::Data(_)) {
            return;
        }
        let held = std::mem::take(&mut self.held);
        if buf.is_empty() {
            buf.extend_from_slice(&held);
        } else {
            let mut merged = BytesMut::with_capacity(held.len() + buf.len());
            merged.extend_from_slice(&held);
            merged.extend_from_slice(buf);
            *buf = merged;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataEvent;

    /// Everything `decode` returns for `input` fed in pieces of `step` octets.
    fn decode_all(dec: &mut CommandDecoder, input: &[u8], step: usize) -> Vec<String> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            loop {
                match dec.decode(&mut buf) {
                    Ok(Some(cmd)) => out.push(String::from_utf8_lossy(&cmd.to_bytes()).into()),
                    Ok(None) => break,
                    Err(DecodeError::LineTooLong { limit, sasl }) => {
                        out.push(format!("too long {limit} {sasl}"))
                    }
                    Err(DecodeError::Invalid { error, line }) => out.push(format!(
                        "invalid {error:?} {}",
                        String::from_utf8_lossy(&line)
                    )),
                }
            }
        }
        out
    }

    #[test]
    fn any_split_gives_the_same_commands() {
        let input =
            b"EHLO a.test\r\nmail from:<a@b.test> SIZE=10\r\nRCPT TO:<c@d.test>\r\nNOOP\nQUIT\r\n";
        let whole = decode_all(&mut CommandDecoder::default(), input, input.len());
        assert_eq!(
            whole,
            [
                "EHLO a.test\r\n",
                "MAIL FROM:<a@b.test> SIZE=10\r\n",
                "RCPT TO:<c@d.test>\r\n",
                "NOOP\r\n",
                "QUIT\r\n"
            ]
        );
        for step in 1..input.len() {
            assert_eq!(
                decode_all(&mut CommandDecoder::default(), input, step),
                whole
            );
        }
    }

    #[test]
    fn per_verb_limits_as_the_server_frames_them() {
        let opts = DecoderOptions {
            params: ParamExtensions {
                size: true,
                ..ParamExtensions::NONE
            },
            link2state: true,
            ..DecoderOptions::default()
        };
        let line = |verb: &str, len: usize| {
            let mut l = verb.as_bytes().to_vec();
            l.resize(len - 2, b'a');
            l.extend_from_slice(b"\r\n");
            l
        };
        for (verb, limit, sasl) in [
            ("NOOP ", 512, false),
            ("MAIL ", 512 + 26, false),
            ("RCPT ", 512, false),
            ("AUTH ", MAX_SASL_LINE, true),
            ("X-EXPS ", MAX_SASL_LINE, true),
            ("X-LINK2STATE ", 1024, false),
        ] {
            // At the limit: a line (whatever it parses to); one more octet: too long.
            let mut dec = CommandDecoder::new(opts);
            let out = decode_all(&mut dec, &line(verb, limit), 64);
            assert_eq!(out.len(), 1, "{verb}");
            assert!(!out[0].starts_with("too long"), "{verb} {out:?}");
            let out = decode_all(&mut dec, &line(verb, limit + 1), 64);
            assert_eq!(out, [format!("too long {limit} {sasl}")], "{verb}");
            assert!(!dec.in_progress());
        }
        // A larger configured command line limit raises every line; X-LINK2STATE off.
        let mut opts = DecoderOptions::default();
        opts.parse.max_line = 2000;
        let mut dec = CommandDecoder::new(opts);
        let out = decode_all(&mut dec, &line("X-LINK2STATE ", 2001), 100);
        assert_eq!(out, ["too long 2000 false"]);
        // A smaller one is raised to 512 (RFC 5321 4.5.3.1.4).
        opts.parse.max_line = 100;
        assert_eq!(opts.line_limits().for_line(b"NOOP"), 512);
    }

    #[test]
    fn errors_consume_the_line_and_decoding_goes_on() {
        let mut dec = CommandDecoder::default();
        let mut input = b"MAIL FROM:<a@@b>\r\n\r\nXEXCH50 ".to_vec();
        input.extend_from_slice(&[b'1'; 60]);
        input.extend_from_slice(b" 2\r\nNOOP\r\n");
        let out = decode_all(&mut dec, &input, input.len());
        assert_eq!(out.len(), 4, "{out:?}");
        assert!(out[0].starts_with("invalid Path(Syntax) MAIL FROM:<a@@b>"));
        assert_eq!(out[1], "invalid Syntax ");
        // XEXCH50's 50-octet limit is the parser's (KB 812455), as for the server.
        assert!(out[2].starts_with("invalid LineTooLong XEXCH50 111"));
        assert_eq!(out[3], "NOOP\r\n");
    }

    #[test]
    fn bare_lf_follows_the_leniency() {
        let mut strict = DecoderOptions::default();
        strict.parse.leniency = Leniency::Strict;
        // Strict: only CRLF ends a line, so the bare LF is inside the line: a syntax error.
        let out = decode_all(&mut CommandDecoder::new(strict), b"NOOP\nQUIT\r\n", 3);
        assert_eq!(out, ["invalid Syntax NOOP\nQUIT"]);
        let out = decode_all(&mut CommandDecoder::default(), b"NOOP\nQUIT\r\n", 3);
        assert_eq!(out, ["NOOP\r\n", "QUIT\r\n"]);
        // Skipping an over-long line ends at a bare LF only when it ends lines.
        let mut input = vec![b'x'; 600];
        input.extend_from_slice(b"\nNOOP\r\nQUIT\r\n");
        let out = decode_all(&mut CommandDecoder::new(strict), &input, 7);
        assert_eq!(out, ["too long 512 false", "QUIT\r\n"]);
        let out = decode_all(&mut CommandDecoder::default(), &input, 7);
        assert_eq!(out, ["too long 512 false", "NOOP\r\n", "QUIT\r\n"]);
    }

    #[test]
    fn a_crlf_split_while_skipping_is_seen() {
        let mut dec = CommandDecoder::default();
        let mut buf = BytesMut::from(&[b'x'; 700][..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(DecodeError::LineTooLong { .. })
        ));
        assert!(buf.is_empty() && dec.in_progress());
        buf.extend_from_slice(b"yy\r");
        assert_eq!(dec.decode(&mut buf), Ok(None));
        assert_eq!(&buf[..], b"\r");
        buf.extend_from_slice(b"\nQUIT\r\n");
        assert_eq!(dec.decode(&mut buf), Ok(Some(Command::Quit)));
        assert!(!dec.in_progress());
    }

    #[test]
    fn sasl_lines() {
        let mut dec = CommandDecoder::default();
        let mut buf = BytesMut::from(&b"dGVzdA== \r\n!!\r\n"[..]);
        assert_eq!(
            dec.decode_sasl(&mut buf),
            Ok(Some(SaslResponse::Base64("dGVzdA==".into())))
        );
        assert!(matches!(
            dec.decode_sasl(&mut buf),
            Err(DecodeError::Invalid {
                error: CommandError::InvalidBase64,
                ..
            })
        ));
        // Past the SASL limit: reported as a SASL line, skipped.
        buf.extend_from_slice(&vec![b'A'; MAX_SASL_LINE]);
        assert_eq!(
            dec.decode_sasl(&mut buf),
            Err(DecodeError::LineTooLong {
                limit: MAX_SASL_LINE,
                sasl: true
            })
        );
        buf.extend_from_slice(b"AAAA\r\n*\r\n");
        assert_eq!(dec.decode_sasl(&mut buf), Ok(Some(SaslResponse::Cancel)));
        // A configured limit above 12,288 takes longer lines (X-EXPS Kerberos tokens).
        let mut dec = CommandDecoder::new(DecoderOptions {
            max_sasl_line: 20_000,
            ..DecoderOptions::default()
        });
        let mut line = vec![b'A'; 16_000];
        line.extend_from_slice(b"\r\n");
        let mut buf = BytesMut::from(&line[..]);
        let Ok(Some(SaslResponse::Base64(text))) = dec.decode_sasl(&mut buf) else {
            panic!()
        };
        assert_eq!(text.len(), 16_000);
    }

    #[test]
    fn data_content_is_never_read_as_commands() {
        let mut dec = CommandDecoder::default();
        let mut buf = BytesMut::from(&b"DATA\r\n"[..]);
        assert_eq!(dec.decode(&mut buf), Ok(Some(Command::Data)));
        dec.begin_data(DecoderConfig::default());
        // Smuggling attempts: bare-LF dot lines are content; only CRLF.CRLF ends it.
        let body: &[u8] = b"a\n.\nRSET\r\n.\r\nQUIT\r\n";
        let mut content = Vec::new();
        let mut ended = false;
        for b in body {
            buf.extend_from_slice(&[*b]);
            while let Some(ev) = dec.decode_data(&mut buf) {
                match ev {
                    DataEvent::Content(c) => content.extend_from_slice(&c),
                    DataEvent::End(_) => ended = true,
                }
            }
            if ended {
                break;
            }
        }
        assert!(ended);
        assert_eq!(content, b"a\r\n.\r\nRSET\r\n");
        buf.extend_from_slice(b"QUIT\r\n");
        assert_eq!(dec.decode(&mut buf), Ok(Some(Command::Quit)));
    }

    #[test]
    fn pending_content_is_discarded_by_decode() {
        // A BDAT chunk the caller does not read.
        let mut dec = CommandDecoder::default();
        let input = b"BDAT 12\r\nRSET\r\nQUIT\r\nNOOP\r\n";
        assert_eq!(decode_all(&mut dec, input, 5), ["BDAT 12\r\n", "NOOP\r\n"]);
        // DATA content the caller abandons after one event, with pipelined commands after
        // its end in the same read: they come back in order.
        let mut dec = CommandDecoder::default();
        dec.begin_data(DecoderConfig::default());
        let mut buf = BytesMut::from(&b".x\r\nRSET\r\n.\r\nNOOP\r\nQUIT\r\n"[..]);
        assert!(matches!(
            dec.decode_data(&mut buf),
            Some(DataEvent::Content(_))
        ));
        assert!(dec.in_progress());
        assert_eq!(dec.decode(&mut buf), Ok(Some(Command::Noop { arg: None })));
        assert_eq!(dec.decode(&mut buf), Ok(Some(Command::Quit)));
        assert!(buf.is_empty() && !dec.in_progress());
    }

    #[test]
    fn chunks_in_pieces() {
        let mut dec = CommandDecoder::default();
        let mut buf = BytesMut::from(&b"BDAT 5\r\nab"[..]);
        assert_eq!(
            dec.decode(&mut buf),
            Ok(Some(Command::Bdat {
                size: 5,
                last: false
            }))
        );
        assert_eq!(dec.read_chunk(&mut buf).as_deref(), Some(&b"ab"[..]));
        assert_eq!(dec.read_chunk(&mut buf), None);
        assert!(dec.content_pending());
        buf.extend_from_slice(b"cdeBDAT 0 LAST\r\n");
        assert_eq!(dec.read_chunk(&mut buf).as_deref(), Some(&b"cde"[..]));
        assert!(!dec.content_pending());
        assert_eq!(dec.read_chunk(&mut buf), None);
        assert_eq!(
            dec.decode(&mut buf),
            Ok(Some(Command::Bdat {
                size: 0,
                last: true
            }))
        );
        assert!(!dec.content_pending());
        // `begin_chunk(0)` starts nothing.
        dec.begin_chunk(0);
        assert!(!dec.content_pending());
    }

    #[test]
    fn from_capabilities_matches_the_server_rule() {
        let reply = crate::syntax::reply::Reply::new(
            250,
            None,
            "mx.test\nSIZE 10\n8BITMIME\nDSN\nAUTH PLAIN\nXRDST\nXOORG",
        );
        let caps = Capabilities::from_reply(&reply);
        let opts = DecoderOptions::from_capabilities(&caps);
        use crate::limits::param_allowance as a;
        let limits = opts.line_limits();
        assert_eq!(
            limits.mail,
            512 + a::SIZE + a::BODY + a::AUTH + a::DSN_MAIL + a::EXCHANGE
        );
        assert_eq!(limits.rcpt, 512 + a::DSN_RCPT + a::EXCHANGE);
        assert!(!opts.parse.utf8 && !opts.link2state);
    }
}
