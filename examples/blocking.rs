//! The `smtp-server` example on `std::net`, one thread per connection, no async runtime.
//!
//! Same options and the same per-connection logic (`common::session`) as `smtp-server`:
//! Maildir delivery, STARTTLS and implicit TLS (`--tls-listen`, a second accept thread;
//! rustls `StreamOwned`, read one socket read at a time so that the session's timeout
//! bounds a record trickled in), AUTH PLAIN/LOGIN/NTLM. The fsync and rename simply block
//! the connection's own thread.
//!
//! ```text
//! cargo run --release --example blocking -- --listen 127.0.0.1:2525 --maildir /tmp/md
//! ```
//!
//! Ctrl-C (SIGINT) or SIGTERM shuts down as `smtp-server` does: the listeners close (new
//! connections are refused) and every session is shut down (`Server::shutdown`): one
//! waiting for a command gets `421 4.3.2` at once, one in the middle of a message finishes
//! it (stored and acknowledged) first. Sessions still open after 10 seconds are dropped,
//! and the process exits with status 0; a message they were receiving is left in `tmp/`
//! (never in `new/`), and was never acknowledged. Unix only (signals, poll(2)).

#[path = "common/mod.rs"]
mod common;

use clap::Parser;
use common::session::{HandshakeSlot, Next, Session, Shared};
use common::ServerOptions;
use rustix::event::{PollFd, PollFlags, Timespec};
use rustls::{ServerConnection, StreamOwned};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tracing::{debug, error, info, warn};

#[derive(Parser, Debug)]
#[command(about = "SMTP server example on std::net, a thread per connection")]
struct Cli {
    #[command(flatten)]
    server: ServerOptions,
}

/// How long open sessions may go on after SIGINT or SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);

/// The server going down, as every waiting thread sees it, and the connection threads
/// still running.
///
/// How the threads are woken: a connection thread spends its life blocked in `read`, and
/// a blocked read cannot be woken from another thread without touching its socket
/// (changing the read timeout does not affect a read already waiting; shutting the
/// socket's read side would cut off a message being received). So every thread waits in
/// poll(2) for its socket *or* the read end of a wake-up pipe (a socket pair), and reads
/// only once the socket is readable: on the signal the main thread writes one byte to the
/// pipe, which is never read and so stays readable, and every waiting thread wakes at
/// once. While the server runs nothing wakes a thread that has nothing to read; the price
/// is one `poll` call before each read. (A short read timeout checking a flag would be
/// simpler, but would wake every idle connection several times a second.) The accept
/// threads wait the same way, and return on the signal, closing their listener.
struct Stop {
    /// Readable once the server is going down.
    woken: UnixStream,
    /// Written once, by [`Stop::begin`].
    wake: UnixStream,
    /// Connection threads still running.
    threads: Mutex<usize>,
    /// Signalled when `threads` drops to 0.
    ended: Condvar,
}

/// Why [`Stop::wait`] returned.
enum Woken {
    /// The socket is readable (or closed, or failed: reading it tells).
    Ready,
    /// The server is going down.
    Stop,
    /// The timeout passed (or a signal interrupted the wait).
    Timeout,
}

impl Stop {
    fn new() -> io::Result<Arc<Stop>> {
        let (woken, wake) = UnixStream::pair()?;
        Ok(Arc::new(Stop {
            woken,
            wake,
            threads: Mutex::new(0),
            ended: Condvar::new(),
        }))
    }

    /// Tells every thread, waiting now or later, that the server is going down.
    fn begin(&self) {
        if let Err(e) = (&self.wake).write_all(&[1]) {
            error!(error = %e, "cannot wake the connection threads");
        }
    }

    /// Waits until `socket` is readable, for at most `timeout` (`None`: no limit), and,
    /// when `watch` is set, until the server goes down.
    fn wait(
        &self,
        socket: &impl AsFd,
        timeout: Option<Duration>,
        watch: bool,
    ) -> io::Result<Woken> {
        let mut fds = [
            PollFd::new(socket, PollFlags::IN),
            PollFd::new(&self.woken, PollFlags::IN),
        ];
        let fds = if watch { &mut fds[..] } else { &mut fds[..1] };
        // A timeout too large for a timespec is as good as none.
        let timeout = timeout.and_then(|t| Timespec::try_from(t).ok());
        match rustix::event::poll(fds, timeout.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(Woken::Timeout),
            Err(e) => return Err(e.into()),
        }
        if fds.len() > 1 && !fds[1].revents().is_empty() {
            Ok(Woken::Stop)
        } else if !fds[0].revents().is_empty() {
            Ok(Woken::Ready)
        } else {
            Ok(Woken::Timeout)
        }
    }

    /// Counts a connection thread until the returned value is dropped.
    fn enter(self: &Arc<Stop>) -> Running {
        *self.threads.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Running(self.clone())
    }

    /// Waits at most `limit` for every connection thread to end; the number still running.
    fn drain(&self, limit: Duration) -> usize {
        let threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        let (threads, _) = self
            .ended
            .wait_timeout_while(threads, limit, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        *threads
    }
}

/// A running connection thread (see [`Stop::enter`]).
struct Running(Arc<Stop>);

impl Drop for Running {
    fn drop(&mut self) {
        let mut threads = self.0.threads.lock().unwrap_or_else(|e| e.into_inner());
        *threads -= 1;
        if *threads == 0 {
            self.0.ended.notify_all();
        }
    }
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

impl Read for Conn {
    /// At most one read of the socket (see [`read_tls_once`]).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => read_tls_once(s, buf),
        }
    }
}

/// Plaintext from `s` with at most one read of the socket: what rustls holds already, or
/// else what one `read_tls` brings. A read that completes no record with application
/// data (a part of a record, a handshake or alert record) is `WouldBlock`: the caller
/// waits for the socket again, against the session's own deadline.
///
/// Not rustls' `StreamOwned::read`: it reads the socket again and again until a record
/// is whole, and the socket's read timeout restarts with every read, so a client that
/// trickles a record one octet at a time, each well within the timeout, would hold the
/// session for as many timeouts as the record has octets. Part of a record is no more
/// activity than part of a command line (RFC 5321 4.5.3.2: the session times out).
fn read_tls_once(
    s: &mut StreamOwned<ServerConnection, TcpStream>,
    buf: &mut [u8],
) -> io::Result<usize> {
    let (conn, sock) = (&mut s.conn, &mut s.sock);
    match conn.reader().read(buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        held => return held,
    }
    // 0: the end of the stream, which the reader reports below (a clean close or not).
    conn.read_tls(sock)?;
    if let Err(e) = conn.process_new_packets() {
        // The alert that says why, then the end.
        while conn.wants_write() {
            conn.write_tls(sock)?;
        }
        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
    }
    // Post-handshake messages may need an answer (a TLS 1.3 KeyUpdate).
    while conn.wants_write() {
        conn.write_tls(sock)?;
    }
    conn.reader().read(buf)
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn flush(session: &mut Session, conn: &mut Conn, out: &mut Vec<u8>) -> io::Result<()> {
    out.clear();
    if session.server.transmit_into(out) > 0 {
        conn.write_all(out)?;
        conn.flush()?;
    }
    Ok(())
}

/// Runs the TLS handshake on `tcp`, for at most `timeout` in all: a client that stalls
/// in it is a silent client (RFC 5321 4.5.3.2), and one that sends it a byte at a time
/// must not hold the thread longer.
fn handshake(
    tcp: TcpStream,
    cfg: Arc<rustls::ServerConfig>,
    timeout: Duration,
) -> io::Result<Conn> {
    let deadline = Instant::now() + timeout;
    let server = ServerConnection::new(cfg).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(server, tcp);
    // Step by step: `complete_io` would loop over reads until the handshake is done.
    let (conn, sock) = (&mut stream.conn, &mut stream.sock);
    loop {
        while conn.wants_write() {
            conn.write_tls(sock)?;
        }
        if !conn.is_handshaking() {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake"));
        }
        sock.set_read_timeout(Some(left))?;
        match conn.read_tls(sock) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {
                if let Err(e) = conn.process_new_packets() {
                    // The alert that says why, then the end.
                    while conn.wants_write() {
                        conn.write_tls(sock)?;
                    }
                    return Err(io::Error::other(e));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Conn::Tls(Box::new(stream)))
}

fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<Arc<rustls::ServerConfig>>,
    slot: Option<HandshakeSlot>,
    stop: &Stop,
) -> io::Result<()> {
    let implicit_tls = slot.is_some();
    let shortest = shared.config.timeouts.shortest();
    // A client that stops reading is as silent as one that stops writing (RFC 5321
    // 4.5.3.2): a write that cannot finish within the shortest timeout ends the session.
    stream.set_write_timeout(Some(shortest))?;
    let conn = match (implicit_tls, tls.clone()) {
        (false, _) => Conn::Plain(stream),
        // RFC 8314: the handshake before the greeting.
        (true, Some(cfg)) => handshake(stream, cfg, shortest)?,
        (true, None) => return Err(io::Error::other("implicit TLS without TLS configured")),
    };
    let mut session = Session::new(shared, peer, Instant::now());
    // The session counts itself now.
    drop(slot);
    if implicit_tls {
        session.server.tls_established().map_err(io::Error::other)?;
    }
    let mut conn = Some(conn);
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(4096);
    loop {
        let c = conn.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        match session.next() {
            Next::Read => {
                flush(&mut session, c, &mut out)?;
                if session.server.is_paused_for_output() {
                    // Commands wait for their replies to be written: they are here.
                    continue;
                }
                let deadline = session.server.poll_timeout();
                let timeout = deadline.map(|t| {
                    t.saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1))
                });
                // Plaintext that rustls holds already is read without waiting.
                let buffered = matches!(c, Conn::Tls(s) if !s.conn.wants_read());
                if !buffered {
                    // The server going down is watched until the session is told.
                    let watch = !session.server.is_shutting_down();
                    match stop.wait(c.tcp(), timeout, watch)? {
                        Woken::Ready => {}
                        Woken::Stop => {
                            debug!(%peer, "shutting down");
                            session.server.shutdown();
                            continue;
                        }
                        Woken::Timeout => {
                            let now = Instant::now();
                            if deadline.is_some_and(|t| now >= t) {
                                session.server.handle_timeout(now);
                            }
                            continue;
                        }
                    }
                }
                // Readable: one read of the socket, which returns at once. Under TLS it
                // may bring no plaintext yet (`WouldBlock`, part of a record): the loop
                // waits again, against the same deadline.
                c.tcp().set_read_timeout(timeout)?;
                match c.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => session.receive(Instant::now(), &buf[..n]),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        session.server.handle_timeout(Instant::now())
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Next::TlsUpgrade => {
                flush(&mut session, c, &mut out)?;
                let (Some(cfg), Some(Conn::Plain(tcp))) = (tls.clone(), conn.take()) else {
                    return Err(io::Error::other("TLS upgrade without TLS configured"));
                };
                conn = Some(handshake(tcp, cfg, shortest)?);
                // The wait for the EHLO starts when the handshake ends.
                session
                    .server
                    .tls_established_at(Instant::now())
                    .map_err(io::Error::other)?;
                debug!(%peer, "TLS established");
            }
            Next::Commit(commit) => session.committed(commit.run()),
            Next::Closed => {
                flush(&mut session, c, &mut out)?;
                if let Some(Conn::Tls(mut s)) = conn.take() {
                    s.conn.send_close_notify();
                    let _ = s.flush();
                }
                return Ok(());
            }
        }
    }
}

fn main() -> Result<(), common::Error> {
    common::init_tracing("info");
    let opts = Cli::parse().server;
    let (shared, tls) = opts.setup()?;
    let stop = Stop::new()?;
    // Before the first connection: from here on, the signals start the shutdown below.
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let mut accepting = Vec::new();
    // The implicit-TLS port is bound first: once the main port accepts, both do.
    if let Some(addr) = opts.tls_listen {
        let listener = TcpListener::bind(addr)?;
        info!(listen = %listener.local_addr()?, "implicit TLS (RFC 8314)");
        let (shared, tls, stop) = (shared.clone(), tls.clone(), stop.clone());
        accepting.push(
            std::thread::Builder::new()
                .name("accept tls".into())
                .spawn(move || serve(listener, true, shared, tls, stop))?,
        );
    }
    let listener = TcpListener::bind(opts.listen)?;
    info!(listen = %listener.local_addr()?, "blocking smtp server ready");
    accepting.push(std::thread::Builder::new().name("accept".into()).spawn({
        let stop = stop.clone();
        move || serve(listener, false, shared, tls, stop)
    })?);
    let _ = signals.forever().next();
    info!(
        open = *stop.threads.lock().unwrap_or_else(|e| e.into_inner()),
        "shutting down"
    );
    stop.begin();
    // The listeners are closed when their threads return.
    for thread in accepting {
        let _ = thread.join();
    }
    let open = stop.drain(DRAIN);
    if open > 0 {
        // Returning ends the process, and with it every session still open.
        error!(
            open,
            "sessions still open after the drain period; closing them"
        );
    }
    info!("stopped");
    Ok(())
}

/// Accepts connections on `listener`, one thread each, until the server goes down.
fn serve(
    listener: TcpListener,
    implicit_tls: bool,
    shared: Arc<Shared>,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: Arc<Stop>,
) {
    let nodelay_inherited = common::tune_listener(&listener);
    // Readiness first, then `accept`: a connection the client aborted in between leaves
    // nothing to accept, and a blocking `accept` would then wait for the next connection
    // whatever the signal says. Non-blocking, it says so and the thread waits again.
    if let Err(e) = listener.set_nonblocking(true) {
        warn!(error = %e, "listener stays blocking");
    }
    loop {
        match stop.wait(&listener, None, true) {
            Ok(Woken::Ready) => {}
            Ok(Woken::Stop) => return,
            Ok(Woken::Timeout) => continue,
            Err(e) => {
                warn!(error = %e, "cannot wait for connections");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        }
        let stream = match listener.accept() {
            // The connection's own socket blocks (Linux does not pass O_NONBLOCK on).
            Ok((s, _)) => match s.set_nonblocking(false) {
                Ok(()) => s,
                Err(e) => {
                    warn!(error = %e, "cannot make the connection blocking");
                    continue;
                }
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                warn!(error = %e, "accept failed");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = match stream.peer_addr() {
            Ok(p) => p,
            Err(_) => continue,
        };
        // A connection of the implicit-TLS port past the limit cannot be told `421`
        // before a handshake, which would need a thread for as long as the client likes:
        // it is closed at once.
        let slot = match implicit_tls {
            false => None,
            true => match HandshakeSlot::take(&shared) {
                Some(slot) => Some(slot),
                None => {
                    warn!(%peer, "too many connections, implicit TLS connection closed");
                    continue;
                }
            },
        };
        let (shared, tls, running) = (shared.clone(), tls.clone(), stop.enter());
        if !nodelay_inherited {
            let _ = stream.set_nodelay(true);
        }
        let spawned = std::thread::Builder::new()
            .name(format!("smtp {peer}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                if let Err(e) = connection(stream, peer, shared, tls, slot, &running.0) {
                    debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        if let Err(e) = spawned {
            warn!(error = %e, "cannot start a connection thread");
        }
    }
}
