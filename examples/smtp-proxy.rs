//! A small SMTP proxy on tokio, built on the syntax layer alone: nothing from the client
//! reaches the upstream server, and nothing from the server reaches the client, without
//! being parsed and written again in canonical form.
//!
//! ```text
//! cargo run --release --example smtp-server -- --listen 127.0.0.1:2525 --maildir /tmp/md
//! cargo run --release --example smtp-proxy -- --listen 127.0.0.1:2526 --upstream 127.0.0.1:2525
//! swaks --server 127.0.0.1:2526 --to bob@example.test --pipeline
//! ```
//!
//! What it shows:
//!
//! - Commands are framed and parsed by [`CommandDecoder`] and forwarded with
//!   [`Command::encode_checked`]. A line that does not parse, or is too long, is answered by
//!   the proxy itself with the decoder error's reply ([`DecodeError::reply`]) and never
//!   forwarded; the session goes on.
//! - Replies are parsed by [`ReplyParser`] and forwarded with [`Reply::encode`].
//! - The input after a command is read as what it is ([`CommandDecoder`]'s hand-over
//!   rules): after the upstream's `354` to `DATA`, the content up to `CRLF . CRLF`
//!   ([`CommandDecoder::decode_data`]), forwarded dot-stuffed by a [`DataEncoder`], so a
//!   client's smuggling sequences (`LF . LF`, `CR . CR LF`, ...) are content upstream and
//!   can never end the message early; after `BDAT n` (and `XEXCH50` answered `354`), exactly
//!   `n` octets ([`CommandDecoder::read_chunk`]); after a `334` to `AUTH`, one SASL line
//!   ([`CommandDecoder::decode_sasl`]).
//! - A command whose following input the upstream would read differently if it did not
//!   know the command is forwarded only when the upstream offered it in its EHLO reply:
//!   `BDAT` (`CHUNKING`), `XEXCH50`, `AUTH`, `X-EXPS`. Otherwise (and before any EHLO, or
//!   after HELO) the proxy answers `502 5.5.1` itself, and a refused BDAT's chunk is read
//!   and discarded, never forwarded.
//! - Pipelining (RFC 2920): commands are forwarded as they are decoded and replies relayed
//!   in order; the proxy's own replies wait in the same queue, so the client gets every
//!   reply in the order of its commands. After a command whose reply decides how the next
//!   input is read (`EHLO`, `DATA`, `AUTH`, `X-EXPS`, `XEXCH50` and its blob) the proxy
//!   reads nothing more from the client until that reply has come; nor while its own reply
//!   waits behind an upstream one, or more than [`MAX_QUEUED`] replies are awaited, so
//!   memory stays bounded. After [`MAX_REFUSED`] lines refused by the proxy itself, the
//!   session ends with `421 4.7.0`.
//! - Each command and reply is logged at debug level (`RUST_LOG=debug`); AUTH arguments and
//!   SASL lines are not.
//!
//! Its limits: plain TCP on both sides, no TLS. `STARTTLS` (and `X-ANONYMOUSTLS`) is
//! removed from the EHLO reply it relays, so a client never tries it, and a client that
//! sends `STARTTLS` anyway gets `502 5.5.1` from the proxy. `ATRN` and `TURN` (which
//! reverse the roles) get `502 5.5.1` too. One upstream server, one connection to it per
//! client connection; no policy, no size cap of its own (the upstream's applies), no
//! drain on Ctrl-C (open sessions are dropped). A side that stays silent while the other
//! waits, or takes nothing the proxy writes to it, for `--timeout` seconds (300 by
//! default, RFC 5321 4.5.3.2) ends the session.

#[path = "common/mod.rs"]
mod common;

use bytes::BytesMut;
use clap::Parser;
use common::conn::within;
use ehlo::data::{BareLineEnding, DataEncoder, DataEvent, DecoderConfig, EncoderConfig};
use ehlo::syntax::capability::{Capabilities, Capability};
use ehlo::syntax::command::Command;
use ehlo::syntax::decoder::{CommandDecoder, DecoderOptions};
use ehlo::syntax::reply::{EnhancedCode, Reply, ReplyParser};
use ehlo::syntax::DecodeError;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

#[derive(Parser, Debug)]
#[command(about = "SMTP proxy example: every command and reply parsed and re-serialized")]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:2526")]
    listen: SocketAddr,
    /// The SMTP server to forward to (HOST:PORT).
    #[arg(long)]
    upstream: String,
    /// Seconds either side may stay silent while the other waits (RFC 5321 4.5.3.2), and
    /// may take nothing of what the proxy writes to it (a client that does not read is as
    /// silent as one that does not write); then the session ends.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

/// Replies awaited at most before the proxy stops reading from the client.
const MAX_QUEUED: usize = 64;

/// Lines the proxy refuses itself before it ends the session.
const MAX_REFUSED: u32 = 20;

/// The proxy's answer to a command the upstream did not offer.
const NOT_OFFERED: Reply = Reply::from_static(
    502,
    Some(EnhancedCode::new(5, 5, 1)),
    "Command not implemented",
);

/// The proxy's answer to what it does not relay.
const NOT_HERE: Reply = Reply::from_static(
    502,
    Some(EnhancedCode::new(5, 5, 1)),
    "Command not available through this proxy",
);

/// What the proxy waits for, in the order of the client's commands.
#[derive(Debug)]
enum Expect {
    /// The upstream's greeting.
    Greeting,
    /// The reply to EHLO: STARTTLS is removed from it, and the decoder takes its options.
    Ehlo,
    /// The reply to DATA: `354` starts the content.
    Data,
    /// The reply to AUTH, X-EXPS or a SASL line: `334` asks for one more SASL line.
    Sasl,
    /// The reply to `XEXCH50 size`: `354` starts a blob of `size` octets.
    Exch50(u64),
    /// The reply to an XEXCH50 blob (`250`), relayed as it is.
    Blob,
    /// Any other reply from upstream, relayed as it is.
    Relay,
    /// A reply upstream sends that the client must not see (to the `*` that cancels an
    /// exchange whose SASL line the proxy refused itself).
    Swallow,
    /// The proxy's own reply, sent once every earlier one has been.
    Local(Reply),
}

/// How the client's next bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Commands,
    /// One SASL line, after a `334`.
    Sasl,
    /// DATA content, after a `354`.
    Data,
    /// The rest of a BDAT chunk.
    Chunk,
    /// The rest of an XEXCH50 blob, whose own reply is awaited once it is all forwarded.
    Blob,
}

/// One client connection and its upstream connection.
struct Proxy {
    decoder: CommandDecoder,
    replies: ReplyParser,
    encoder: DataEncoder,
    mode: Mode,
    queue: VecDeque<Expect>,
    /// Bytes for the client and for the upstream, written after each step.
    to_client: BytesMut,
    to_upstream: BytesMut,
    /// The session ends once the queue is empty (QUIT forwarded, or the client gone).
    closing: bool,
    /// What the upstream offered in its last positive EHLO reply (nothing before one, or
    /// after HELO): commands it did not offer are not forwarded.
    caps: Capabilities,
    /// Lines refused by the proxy itself.
    refused: u32,
}

impl Proxy {
    fn new() -> Proxy {
        Proxy {
            decoder: CommandDecoder::default(),
            replies: ReplyParser::default(),
            encoder: DataEncoder::new(EncoderConfig::default()),
            mode: Mode::Commands,
            queue: VecDeque::from([Expect::Greeting]),
            to_client: BytesMut::new(),
            to_upstream: BytesMut::new(),
            closing: false,
            caps: Capabilities::new("", Vec::new()),
            refused: 0,
        }
    }

    /// Whether the client's input must wait for a reply that decides how it is read.
    /// Also while too many replies are awaited, or the proxy's own reply waits behind an
    /// upstream one (a local reply at the head of the queue is sent at once): the client's
    /// input is not read faster than the upstream answers.
    fn held(&self) -> bool {
        self.queue.len() > MAX_QUEUED
            || self.queue.iter().any(|e| {
                matches!(
                    e,
                    Expect::Greeting
                        | Expect::Ehlo
                        | Expect::Data
                        | Expect::Sasl
                        | Expect::Exch50(_)
                        | Expect::Blob
                        | Expect::Local(_)
                )
            })
    }

    /// Whether the upstream waits for input the client has not sent all of: the rest of
    /// DATA content, of a BDAT chunk or XEXCH50 blob, or a SASL line. Once the client has
    /// closed, that input never comes, and neither does the reply to it (a BDAT's reply
    /// follows its whole chunk, RFC 3030 section 2): the session is over.
    fn awaits_client(&self) -> bool {
        match self.mode {
            Mode::Commands => false,
            Mode::Chunk | Mode::Blob => self.decoder.content_pending(),
            Mode::Data | Mode::Sasl => true,
        }
    }

    /// Answers a line the proxy refuses itself; ends the session after [`MAX_REFUSED`].
    fn refuse_line(&mut self, reply: Reply) {
        self.local(reply);
        self.refused += 1;
        if self.refused >= MAX_REFUSED && !self.closing {
            info!("client: too many refused lines; closing");
            self.local(Reply::from_static(
                421,
                Some(EnhancedCode::new(4, 7, 0)),
                "Too many errors",
            ));
            self.closing = true;
        }
    }

    /// Queues the proxy's own reply, or sends it if no reply is awaited before it.
    fn local(&mut self, reply: Reply) {
        self.queue.push_back(Expect::Local(reply));
        self.send_local();
    }

    /// Sends the proxy's own replies at the head of the queue.
    fn send_local(&mut self) {
        while let Some(Expect::Local(_)) = self.queue.front() {
            if let Some(Expect::Local(reply)) = self.queue.pop_front() {
                debug!("proxy: {reply}");
                reply.encode(&mut self.to_client);
            }
        }
    }

    /// Decodes what the client sent, as far as the mode allows, into `to_upstream`.
    fn client_input(&mut self, buf: &mut BytesMut) {
        // Not `while !buf.is_empty()`: the decoder may hold the end of the content itself.
        while !self.held() && !self.closing {
            if matches!(self.mode, Mode::Chunk | Mode::Blob) && !self.decoder.content_pending() {
                // The chunk is all forwarded (or was empty); a blob has a reply of its own
                // (KB 812455), awaited before the next command is read.
                if self.mode == Mode::Blob {
                    debug!("client: <XEXCH50 blob>");
                    self.queue.push_back(Expect::Blob);
                }
                self.mode = Mode::Commands;
                continue;
            }
            match self.mode {
                Mode::Data => match self.decoder.decode_data(buf) {
                    Some(DataEvent::Content(piece)) => {
                        self.encoder.encode(&piece, &mut self.to_upstream)
                    }
                    Some(DataEvent::End(summary)) => {
                        debug!("client: <{} octets of content>", summary.size);
                        self.encoder.finish(&mut self.to_upstream);
                        self.queue.push_back(Expect::Relay);
                        self.mode = Mode::Commands;
                    }
                    None => return,
                },
                Mode::Chunk | Mode::Blob => match self.decoder.read_chunk(buf) {
                    Some(piece) => self.to_upstream.extend_from_slice(&piece),
                    None => return,
                },
                Mode::Sasl => match self.decoder.decode_sasl(buf) {
                    Ok(Some(line)) => {
                        debug!("client: <SASL line>");
                        line.encode(&mut self.to_upstream);
                        self.queue.push_back(Expect::Sasl);
                        self.mode = Mode::Commands;
                    }
                    Ok(None) => return,
                    Err(e) => {
                        // Refused here (500 5.5.6 or 501 5.5.2 end the exchange); the
                        // upstream's exchange is cancelled, its answer not relayed.
                        debug!("client: {e}");
                        self.to_upstream.extend_from_slice(b"*\r\n");
                        self.queue.push_back(Expect::Swallow);
                        self.refuse_line(e.reply());
                        self.mode = Mode::Commands;
                    }
                },
                Mode::Commands => match self.decoder.decode(buf) {
                    Ok(Some(cmd)) => self.command(cmd),
                    Ok(None) => return,
                    Err(e) => self.refuse(e),
                },
            }
        }
    }

    /// A line the decoder refused: answered here, never forwarded.
    fn refuse(&mut self, e: DecodeError) {
        debug!("client: {e}");
        self.refuse_line(e.reply());
    }

    /// Forwards one decoded command, or answers it here.
    fn command(&mut self, cmd: Command<'static>) {
        let expect = match &cmd {
            Command::StartTls | Command::XAnonymousTls | Command::Atrn { .. } | Command::Turn => {
                debug!("client: {} (refused)", cmd.verb());
                return self.refuse_line(NOT_HERE);
            }
            // Not offered by the upstream, which would read what follows otherwise (a
            // chunk as commands): answered here. A BDAT chunk the decoder has begun is
            // discarded by its next `decode`, never forwarded.
            Command::Bdat { .. } if !self.caps.chunking() => {
                debug!("client: BDAT (not offered upstream)");
                return self.refuse_line(NOT_OFFERED);
            }
            Command::XExch50 { .. } if !self.caps.xexch50() => {
                debug!("client: XEXCH50 (not offered upstream)");
                return self.refuse_line(NOT_OFFERED);
            }
            Command::Auth { .. } if !self.caps.has_keyword("AUTH") => {
                debug!("client: AUTH (not offered upstream)");
                return self.refuse_line(NOT_OFFERED);
            }
            Command::XExps { .. } if !self.caps.has_keyword("X-EXPS") => {
                debug!("client: X-EXPS (not offered upstream)");
                return self.refuse_line(NOT_OFFERED);
            }
            // Until the reply to these, the upstream offers nothing (after HELO, nothing).
            Command::Ehlo { .. } => {
                self.caps.list.clear();
                Expect::Ehlo
            }
            Command::Helo { .. } => {
                self.caps.list.clear();
                Expect::Relay
            }
            Command::Data => Expect::Data,
            Command::Auth { .. } | Command::XExps { .. } => Expect::Sasl,
            Command::XExch50 { size, .. } => Expect::Exch50(*size),
            // The chunk follows at once, whatever the reply (RFC 3030 section 2).
            Command::Bdat { .. } => {
                self.mode = Mode::Chunk;
                Expect::Relay
            }
            Command::Quit => {
                self.closing = true;
                Expect::Relay
            }
            _ => Expect::Relay,
        };
        let mut line = Vec::new();
        if let Err(e) = cmd.encode_checked(&mut line) {
            // A decoded command always has one line; kept for commands built otherwise.
            warn!("client: {}: {e}", cmd.verb());
            return self.local(Reply::new(
                500,
                Some(EnhancedCode::new(5, 5, 2)),
                "Syntax error",
            ));
        }
        match cmd {
            Command::Auth { .. } | Command::XExps { .. } => debug!("client: {} ...", cmd.verb()),
            _ => debug!("client: {}", line.trim_ascii_end().escape_ascii()),
        }
        self.to_upstream.extend_from_slice(&line);
        self.queue.push_back(expect);
    }

    /// Parses the upstream's replies and relays them; `Err` when it is not speaking SMTP.
    fn upstream_input(&mut self, buf: &mut BytesMut) -> Result<(), String> {
        while let Some(mut reply) = self.replies.decode(buf).map_err(|e| e.to_string())? {
            debug!("upstream: {reply}");
            let expect = self.queue.pop_front().unwrap_or(Expect::Relay);
            match expect {
                Expect::Ehlo if reply.is_positive() => {
                    // Drop what would start TLS, which this proxy does not carry.
                    let mut caps = Capabilities::from_reply(&reply);
                    caps.list
                        .retain(|c| !matches!(c, Capability::StartTls | Capability::XAnonymousTls));
                    *self.decoder.options_mut() = DecoderOptions::from_capabilities(&caps);
                    reply.text = caps.to_reply().text;
                    self.caps = caps;
                }
                Expect::Data if reply.code.0 == 354 => {
                    let config = DecoderConfig {
                        // No policy here: the upstream refuses what it will not take. Bare
                        // line endings reach the encoder, which writes them as CRLF.
                        max_size: u64::MAX,
                        bare_line_endings: BareLineEnding::PassThrough,
                        ..DecoderConfig::default()
                    };
                    self.decoder.begin_data(config);
                    self.encoder = DataEncoder::new(EncoderConfig::default());
                    self.mode = Mode::Data;
                }
                Expect::Sasl if reply.code.0 == 334 => self.mode = Mode::Sasl,
                Expect::Exch50(size) if reply.code.0 == 354 => {
                    self.decoder.begin_chunk(size);
                    self.mode = Mode::Blob;
                }
                Expect::Swallow => {
                    self.send_local();
                    continue;
                }
                // A reply with no command waiting for it (e.g. 421 before closing).
                Expect::Local(own) => self.queue.push_front(Expect::Local(own)),
                _ => {}
            }
            reply.encode(&mut self.to_client);
            self.send_local();
        }
        Ok(())
    }
}

/// Relays one client connection until either side closes, or stays silent (or takes
/// nothing the proxy writes) for `idle`.
async fn session(mut client: TcpStream, upstream: &str, idle: Duration) -> io::Result<()> {
    let mut server = match within(idle, "connecting upstream", TcpStream::connect(upstream)).await {
        Ok(s) => s,
        Err(e) => {
            let reply = Reply::new(
                421,
                Some(EnhancedCode::new(4, 4, 1)),
                "Upstream unreachable",
            );
            within(idle, "write to client", client.write_all(&reply.to_bytes())).await?;
            return Err(e);
        }
    };
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.split();
    let (mut ur, mut uw) = server.split();
    let mut proxy = Proxy::new();
    let (mut cbuf, mut ubuf) = (BytesMut::with_capacity(4096), BytesMut::with_capacity(4096));
    let mut client_open = true;
    loop {
        proxy.client_input(&mut cbuf);
        // A side that takes nothing for `idle` ends the session, as a silent one does:
        // the other side's input is not read meanwhile, so without a limit the session
        // (and its two sockets) would wait forever.
        if !proxy.to_upstream.is_empty() {
            within(idle, "write upstream", uw.write_all(&proxy.to_upstream)).await?;
            proxy.to_upstream.clear();
        }
        if !proxy.to_client.is_empty() {
            within(idle, "write to client", cw.write_all(&proxy.to_client)).await?;
            proxy.to_client.clear();
        }
        // Done once no reply is awaited; or, with the client gone, once no reply can come:
        // a chunk it left unfinished is never answered (the upstream waits for its rest),
        // and its end is never made up here.
        if ((proxy.closing || !client_open) && proxy.queue.is_empty())
            || (!client_open && proxy.awaits_client())
        {
            return Ok(());
        }
        // Read from the client only when its input can be decoded now: memory stays bounded
        // by the decoder's line limits.
        let want_client = client_open && !proxy.held() && !proxy.closing;
        let read = tokio::time::timeout(idle, async {
            tokio::select! {
                n = cr.read_buf(&mut cbuf), if want_client => n.map(|n| (true, n)),
                n = ur.read_buf(&mut ubuf) => n.map(|n| (false, n)),
            }
        });
        match read.await {
            Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "idle")),
            Ok(Err(e)) => return Err(e),
            Ok(Ok((true, 0))) => client_open = false,
            Ok(Ok((true, _))) => {}
            // The upstream closed: whatever it sent last has been relayed.
            Ok(Ok((false, 0))) => return Ok(()),
            Ok(Ok((false, _))) => {
                if let Err(e) = proxy.upstream_input(&mut ubuf) {
                    warn!("upstream: {e}");
                    let reply = Reply::new(421, Some(EnhancedCode::new(4, 3, 0)), "Upstream error");
                    reply.encode(&mut proxy.to_client);
                    within(idle, "write to client", cw.write_all(&proxy.to_client)).await?;
                    return Ok(());
                }
            }
        }
    }
}

fn main() -> Result<(), common::Error> {
    common::init_tracing("info");
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(cli.listen).await?;
        let nodelay_inherited = common::tune_listener(&listener);
        info!(
            "listening on {}, forwarding to {}",
            cli.listen, cli.upstream
        );
        let upstream: std::sync::Arc<str> = cli.upstream.into();
        let idle = Duration::from_secs(cli.timeout);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = tokio::signal::ctrl_c() => {
                    info!("interrupted; exiting");
                    return Ok(());
                }
            };
            let (client, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (EMFILE, ENFILE) and friends: the open sessions
                    // go on, and accepting is tried again after a pause, not given up.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if !nodelay_inherited {
                let _ = client.set_nodelay(true);
            }
            let upstream = upstream.clone();
            tokio::spawn(async move {
                debug!("{peer}: connected");
                match session(client, &upstream, idle).await {
                    Ok(()) => debug!("{peer}: closed"),
                    Err(e) => warn!("{peer}: {e}"),
                }
            });
        }
    })
}
