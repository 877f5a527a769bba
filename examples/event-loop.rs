//! The `smtp-server` example as a readiness loop: every connection in one thread with
//! `mio`, no async runtime.
//!
//! Same options and per-connection logic (`common::session`) as `smtp-server`: Maildir
//! delivery, STARTTLS and implicit TLS (`--tls-listen`, a second listener in the same
//! poll; a rustls `ServerConnection` driven by hand), AUTH PLAIN/LOGIN/NTLM.
//! Each connection's output is written until the socket would block; the rest waits for
//! writability, and the connection's input is not read meanwhile (back-pressure). A
//! connection is read at most 256 KiB per turn of the loop, so a client that sends
//! without pause does not keep the others waiting (`READS_PER_TURN`). The
//! fsync and rename run in the loop thread: with fsync on, one slow disk stalls every
//! connection for that moment (the tokio example hands them to a blocking pool instead).
//! Ctrl-C (SIGINT) or SIGTERM (watched in the same poll, with `signal-hook-mio`) shuts
//! down as `smtp-server` does: the listeners close (new connections are refused) and every
//! session is shut down (`Server::shutdown`): one waiting for a command gets `421 4.3.2`
//! at once, one in the middle of a message finishes it (stored and acknowledged) first.
//! Sessions still open after 10 seconds are dropped, and the process exits with status 0;
//! a message they were receiving is left in `tmp/`, which Maildir readers ignore.
//!
//! ```text
//! cargo run --release --example event-loop -- --listen 127.0.0.1:2525 --maildir /tmp/md
//! ```

#[path = "common/mod.rs"]
mod common;

use clap::Parser;
use common::session::{Next, Session};
use common::ServerOptions;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rustls::ServerConnection;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, error, info, warn};

#[derive(Parser, Debug)]
#[command(about = "SMTP server example: one thread, a mio readiness loop")]
struct Cli {
    #[command(flatten)]
    server: ServerOptions,
}

const LISTENER: Token = Token(0);
/// The implicit-TLS listener (`--tls-listen`).
const TLS_LISTENER: Token = Token(1);
/// SIGINT and SIGTERM.
const SIGNALS: Token = Token(2);
/// The first connection token.
const FIRST_CONN: usize = 3;
const READ_BUFFER: usize = 64 * 1024;
/// Reads one connection gets per turn of the loop (up to 256 KiB). The readiness is
/// edge-triggered, so a connection is normally read until the socket would block; but a
/// client that sends as fast as the loop reads never lets it block, and would have the
/// loop to itself for as long as it likes, every other connection waiting. So a
/// connection that used its reads is read again in the next turn, after the others'
/// events, with nothing but a zero-timeout poll in between.
const READS_PER_TURN: usize = 4;
/// How long to wait before accepting again after `accept` failed (out of descriptors).
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);
/// How long open sessions may go on after SIGINT or SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);

/// One connection of the loop.
struct Conn {
    sock: TcpStream,
    session: Session,
    /// After STARTTLS.
    tls: Option<Box<ServerConnection>>,
    /// Replies not yet taken by the socket (plaintext) or by rustls (TLS).
    out: Vec<u8>,
    /// Plaintext replies from before STARTTLS (the `220` last) that the socket had not
    /// taken when the upgrade began: they go out as they are, before any TLS record (RFC
    /// 3207 section 4: TLS starts after the `220`).
    plain: Vec<u8>,
    /// Whether WRITABLE interest is registered.
    want_write: bool,
    /// Closing: drop once `out` is written, or at this instant at the latest. A client
    /// that stops reading is as silent as one that stops writing (RFC 5321 4.5.3.2), also
    /// after the session ended: its last replies must not hold the connection forever.
    closing: Option<Instant>,
    /// How long a closing connection may take to write its last replies (the session's
    /// shortest timeout).
    linger: Duration,
    /// Whether the TLS close_notify is queued.
    close_notify_sent: bool,
    /// Whether the last [`Conn::read`] stopped at [`READS_PER_TURN`], with input maybe
    /// left that no new readiness event will announce.
    more_input: bool,
    /// The turn of the loop this connection was last read in.
    read_turn: u64,
}

/// What a handler decided about the connection.
enum Fate {
    Keep,
    Drop,
}

fn is_would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Conn {
    /// When the loop must act on this connection without an event: the session's next
    /// timeout, or, once it is closing, the end of its time to write.
    fn deadline(&self) -> Option<Instant> {
        self.session.server.poll_timeout().or(self.closing)
    }

    /// Whether bytes are still waiting for the socket.
    fn output_pending(&self) -> bool {
        !self.out.is_empty()
            || !self.plain.is_empty()
            || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Writes `buf` to `sock` until it is empty (`true`) or the socket would block.
    fn write_raw(sock: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<bool> {
        while !buf.is_empty() {
            match sock.write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf.drain(..n);
                }
                Err(e) if is_would_block(&e) => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Moves the machine's replies toward the socket and writes until it would block.
    ///
    /// Under TLS the replies wait in `out` too and go into rustls as it takes them: it
    /// buffers at most 64 KiB of output (`write` takes less, or nothing, beyond that), and
    /// a burst of pipelined commands may have many times that in replies.
    fn flush(&mut self) -> io::Result<()> {
        while let Some(bytes) = self.session.server.poll_transmit() {
            self.out.extend_from_slice(&bytes);
        }
        let Some(tls) = self.tls.as_mut() else {
            Conn::write_raw(&mut self.sock, &mut self.out)?;
            return Ok(());
        };
        // The plaintext replies of before the upgrade first, as they are.
        if !Conn::write_raw(&mut self.sock, &mut self.plain)? {
            return Ok(());
        }
        loop {
            let mut taken = 0;
            while taken < self.out.len() {
                match tls.writer().write(&self.out[taken..])? {
                    0 => break,
                    n => taken += n,
                }
            }
            self.out.drain(..taken);
            if self.closing.is_some() && self.out.is_empty() && !self.close_notify_sent {
                // After the last reply, the end of the TLS stream (RFC 8446 6.1), so the
                // client can tell it from a truncation.
                tls.send_close_notify();
                self.close_notify_sent = true;
            }
            if !tls.wants_write() {
                // Nothing to send: all of `out` is in rustls, or it holds the rest until
                // the handshake is done.
                return Ok(());
            }
            while tls.wants_write() {
                match tls.write_tls(&mut self.sock) {
                    Ok(_) => {}
                    Err(e) if is_would_block(&e) => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if self.out.is_empty() {
                return Ok(());
            }
        }
    }

    /// Runs the session until it needs input, handling TLS upgrades and commits.
    fn drive(&mut self, tls_config: &Option<Arc<rustls::ServerConfig>>) -> io::Result<Fate> {
        loop {
            match self.session.next() {
                Next::Read => {
                    self.flush()?;
                    if self.session.server.is_paused_for_output() && !self.output_pending() {
                        // Commands wait for their replies, which the socket took.
                        continue;
                    }
                    // Otherwise `read` drives the session again once they are written.
                    return Ok(Fate::Keep);
                }
                Next::TlsUpgrade => {
                    // The 220 goes out in plaintext before the handshake starts; what
                    // the socket does not take now waits in `plain`, ahead of TLS.
                    self.flush()?;
                    self.plain = std::mem::take(&mut self.out);
                    let cfg = tls_config
                        .clone()
                        .ok_or_else(|| io::Error::other("TLS upgrade without TLS"))?;
                    let conn = ServerConnection::new(cfg).map_err(io::Error::other)?;
                    self.tls = Some(Box::new(conn));
                    // The machine expects the handshake to be done before it reads
                    // again; rustls buffers application data until then, so telling it
                    // now is safe: nothing is read before the handshake completes.
                    self.session
                        .server
                        .tls_established()
                        .map_err(io::Error::other)?;
                }
                Next::Commit(commit) => self.session.committed(commit.run()),
                Next::Closed => {
                    if self.closing.is_none() {
                        self.closing = Some(Instant::now() + self.linger);
                    }
                    self.flush()?;
                    return Ok(if self.output_pending() {
                        Fate::Keep
                    } else {
                        Fate::Drop
                    });
                }
            }
        }
    }

    /// Reads what the socket has (through TLS when active) and feeds the session, at most
    /// [`READS_PER_TURN`] times: then [`Conn::more_input`] says to come back.
    fn read(
        &mut self,
        buf: &mut [u8],
        tls_config: &Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Fate> {
        self.more_input = false;
        // Commands held back until their replies were written (see `drive`) go first.
        if self.session.server.is_paused_for_output() && !self.output_pending() {
            if let Fate::Drop = self.drive(tls_config)? {
                return Ok(Fate::Drop);
            }
        }
        for _ in 0..READS_PER_TURN {
            // Back-pressure: do not take more input while replies are stuck.
            if self.output_pending() || self.closing.is_some() {
                return Ok(Fate::Keep);
            }
            let n = match self.tls.as_mut() {
                None => match self.sock.read(buf) {
                    Ok(0) => return Ok(Fate::Drop),
                    Ok(n) => n,
                    Err(e) if is_would_block(&e) => return Ok(Fate::Keep),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                },
                Some(tls) => {
                    match tls.reader().read(buf) {
                        Ok(0) => return Ok(Fate::Drop),
                        Ok(n) => n,
                        Err(e) if is_would_block(&e) => {
                            // No plaintext buffered: pull TLS records from the socket.
                            match tls.read_tls(&mut self.sock) {
                                Ok(0) => return Ok(Fate::Drop),
                                Ok(_) => {
                                    tls.process_new_packets().map_err(io::Error::other)?;
                                    // Handshake messages may need answering.
                                    self.flush()?;
                                    continue;
                                }
                                Err(e) if is_would_block(&e) => return Ok(Fate::Keep),
                                Err(e) => return Err(e),
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            self.session.receive(Instant::now(), &buf[..n]);
            if let Fate::Drop = self.drive(tls_config)? {
                return Ok(Fate::Drop);
            }
        }
        self.more_input = true;
        Ok(Fate::Keep)
    }
}

/// Applies what a handler decided about connection `token`: a kept one is watched for
/// writability while its output is pending, a closing one whose output is all written is
/// dropped, and so is a failed one.
fn settle(poll: &Poll, conns: &mut HashMap<Token, Conn>, token: Token, result: io::Result<Fate>) {
    let Some(conn) = conns.get_mut(&token) else {
        return;
    };
    let mut result = result;
    if matches!(result, Ok(Fate::Keep)) && conn.closing.is_some() && !conn.output_pending() {
        result = Ok(Fate::Drop);
    }
    match result {
        Ok(Fate::Keep) => {
            let want = conn.output_pending();
            if want == conn.want_write {
                return;
            }
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            // A failure here (say, the kernel's epoll limits) costs this connection, not
            // the server.
            if let Err(e) = poll.registry().reregister(&mut conn.sock, token, interest) {
                warn!(error = %e, "cannot watch the connection, dropped");
            } else {
                conn.want_write = want;
                return;
            }
        }
        Ok(Fate::Drop) => {}
        Err(e) => debug!(error = %e, "connection error"),
    }
    if let Some(mut conn) = conns.remove(&token) {
        let _ = poll.registry().deregister(&mut conn.sock);
    }
}

fn main() -> Result<(), common::Error> {
    common::init_tracing("info");
    let opts = Cli::parse().server;
    let (shared, tls) = opts.setup()?;

    let mut poll = Poll::new()?;
    let mut tls_listener = match opts.tls_listen {
        Some(addr) => {
            let mut l = TcpListener::bind(addr)?;
            common::tune_listener(&l);
            poll.registry()
                .register(&mut l, TLS_LISTENER, Interest::READABLE)?;
            info!(listen = %l.local_addr()?, "implicit TLS (RFC 8314)");
            Some(l)
        }
        None => None,
    };
    let mut listener = TcpListener::bind(opts.listen)?;
    let nodelay_inherited = common::tune_listener(&listener);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    info!(listen = %listener.local_addr()?, "event-loop smtp server ready");
    // Closed on the signal.
    let mut listener = Some(listener);
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    poll.registry()
        .register(&mut signals, SIGNALS, Interest::READABLE)?;
    // Since the signal: the end of the drain period.
    let mut draining: Option<Instant> = None;

    let mut conns: HashMap<Token, Conn> = HashMap::new();
    let mut next_token = FIRST_CONN;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_BUFFER];
    // Listeners with connections (maybe) waiting: [plain, implicit TLS].
    let mut acceptable = [false; 2];
    // When to try accepting again after a failure.
    let mut accept_retry: Option<Instant> = None;
    // Connections to read again in the next turn (see `READS_PER_TURN`), and the turn.
    let mut backlog: Vec<Token> = Vec::new();
    let mut turn: u64 = 0;
    loop {
        // Once shutting down: done when the last session has ended, or the time is up.
        if let Some(until) = draining {
            if conns.is_empty() {
                break;
            }
            if Instant::now() >= until {
                // Returning drops every session still open.
                error!(
                    open = conns.len(),
                    "sessions still open after the drain period; closing them"
                );
                break;
            }
        }
        // Sleep until the earliest session timeout at most.
        let now = Instant::now();
        let timeout = conns
            .values()
            .filter_map(Conn::deadline)
            .chain(accept_retry)
            .chain(draining)
            .min()
            .map(|t| t.saturating_duration_since(now) + Duration::from_millis(1));
        // Input left waiting: only look for other events.
        let timeout = match backlog.is_empty() {
            true => timeout,
            false => Some(Duration::ZERO),
        };
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.into());
        }
        turn += 1;
        let again = std::mem::take(&mut backlog);
        let mut signalled = false;
        for event in events.iter() {
            if event.token() == SIGNALS {
                signalled = true;
                continue;
            }
            if event.token() == LISTENER || event.token() == TLS_LISTENER {
                // Accepted below, after the connections' events.
                acceptable[usize::from(event.token() == TLS_LISTENER)] = true;
                continue;
            }
            let token = event.token();
            let Some(conn) = conns.get_mut(&token) else {
                continue;
            };
            let mut result = Ok(Fate::Keep);
            if event.is_writable() {
                result = conn.flush().map(|()| Fate::Keep);
            }
            if matches!(result, Ok(Fate::Keep)) && (event.is_readable() || event.is_writable()) {
                conn.read_turn = turn;
                result = conn.read(&mut buf, &tls);
            }
            settle(&poll, &mut conns, token, result);
            if conns.get(&token).is_some_and(|c| c.more_input) {
                backlog.push(token);
            }
        }
        // The connections whose reads the last turn cut short, unless an event had them
        // read in this one.
        for token in again {
            let Some(conn) = conns.get_mut(&token) else {
                continue;
            };
            if !conn.more_input || conn.read_turn == turn {
                continue;
            }
            conn.read_turn = turn;
            let result = conn.read(&mut buf, &tls);
            settle(&poll, &mut conns, token, result);
            if conns.get(&token).is_some_and(|c| c.more_input) {
                backlog.push(token);
            }
        }
        if signalled {
            // Read, so that the next signal raises a new readiness edge.
            signals.pending().for_each(drop);
        }
        if signalled && draining.is_none() {
            draining = Some(Instant::now() + DRAIN);
            // New connections are refused from here on.
            for mut l in [listener.take(), tls_listener.take()].into_iter().flatten() {
                let _ = poll.registry().deregister(&mut l);
            }
            acceptable = [false; 2];
            accept_retry = None;
            info!(open = conns.len(), "shutting down");
            let open: Vec<Token> = conns.keys().copied().collect();
            for token in open {
                let Some(conn) = conns.get_mut(&token) else {
                    continue;
                };
                if conn.closing.is_some() {
                    continue;
                }
                conn.session.server.shutdown();
                let result = conn.drive(&tls);
                settle(&poll, &mut conns, token, result);
            }
        }
        // New connections, until the listeners would block. When accepting fails (out of
        // file descriptors: EMFILE, ENFILE), the listener stays marked and is tried again
        // after a pause: the clients queued meanwhile raise no new readiness edge, so
        // nothing else would wake the loop for them once descriptors are free again.
        if accept_retry.is_some_and(|t| Instant::now() >= t) {
            accept_retry = None;
        }
        for implicit_tls in [false, true] {
            if !acceptable[usize::from(implicit_tls)] || accept_retry.is_some() {
                continue;
            }
            let Some(listener) = (match implicit_tls {
                false => listener.as_mut(),
                true => tls_listener.as_mut(),
            }) else {
                continue;
            };
            loop {
                match listener.accept() {
                    Ok((mut sock, peer)) => {
                        if !nodelay_inherited {
                            let _ = sock.set_nodelay(true);
                        }
                        let token = Token(next_token);
                        next_token = next_token.wrapping_add(1).max(FIRST_CONN);
                        if let Err(e) =
                            poll.registry()
                                .register(&mut sock, token, Interest::READABLE)
                        {
                            warn!(%peer, error = %e, "cannot watch the connection, closed");
                            continue;
                        }
                        let mut conn = Conn {
                            sock,
                            session: Session::new(shared.clone(), peer, Instant::now()),
                            tls: None,
                            out: Vec::new(),
                            want_write: false,
                            closing: None,
                            linger: shared.config.timeouts.shortest(),
                            close_notify_sent: false,
                            plain: Vec::new(),
                            more_input: false,
                            read_turn: 0,
                        };
                        if implicit_tls {
                            // RFC 8314: TLS from the first byte. rustls holds the
                            // greeting until the handshake is done; the session's
                            // timeout bounds a handshake that never finishes.
                            let Some(cfg) = tls.clone() else { continue };
                            match ServerConnection::new(cfg) {
                                Ok(c) => conn.tls = Some(Box::new(c)),
                                Err(e) => {
                                    warn!(error = %e, "TLS setup failed");
                                    continue;
                                }
                            }
                            if let Err(e) = conn.session.server.tls_established() {
                                warn!(error = %e, "implicit TLS on a used session");
                                continue;
                            }
                        }
                        match conn.drive(&tls) {
                            Ok(Fate::Keep) => {
                                conns.insert(token, conn);
                            }
                            Ok(Fate::Drop) => {}
                            Err(e) => debug!(%peer, error = %e, "connection error"),
                        }
                    }
                    Err(e) if is_would_block(&e) => {
                        acceptable[usize::from(implicit_tls)] = false;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        accept_retry = Some(Instant::now() + ACCEPT_PAUSE);
                        break;
                    }
                }
            }
        }
        // Timeouts: sessions whose deadline passed answer 421 and close; closing
        // connections whose client has not taken their last replies in time are dropped.
        let now = Instant::now();
        let expired: Vec<Token> = conns
            .iter()
            .filter(|(_, c)| c.deadline().is_some_and(|t| t <= now))
            .map(|(t, _)| *t)
            .collect();
        for token in expired {
            if let Some(conn) = conns.get_mut(&token) {
                if conn.closing.is_none() {
                    conn.session.server.handle_timeout(now);
                }
                let _ = conn.drive(&tls);
                let _ = conn.flush();
                if let Some(mut conn) = conns.remove(&token) {
                    let _ = poll.registry().deregister(&mut conn.sock);
                }
            }
        }
    }
    info!("stopped");
    Ok(())
}
