//! An SMTP server on tokio that stores every accepted message in a Maildir.
//!
//! One task per connection drives one `ehlo::server::Server`; STARTTLS with rustls;
//! AUTH PLAIN, LOGIN and NTLM against `--user` accounts; messages are written to `tmp/`,
//! fsynced, renamed into `new/`, and only then acknowledged with `250`. All connections
//! share one thread unless `--workers N` asks for more; fsyncs run on tokio's blocking
//! pool, so a slow disk never stalls the other sessions. A recipient given with
//! `NOTIFY=SUCCESS` (RFC 3461) gets its sender a "delivered" report, stored in the same
//! Maildir (every address is a mailbox of it here).
//!
//! ```text
//! cargo run --release --example smtp-server -- --listen 127.0.0.1:2525 --maildir /tmp/md \
//!     --tls-self-signed --user alice:secret
//! swaks --server 127.0.0.1:2525 --to bob@example.test -tls --auth PLAIN \
//!     --auth-user alice --auth-password secret
//! ```
//!
//! Logs go to standard error (`RUST_LOG=debug` for more). Ctrl-C (or SIGTERM) stops
//! accepting and shuts every session down (`Server::shutdown`): one waiting for a
//! command gets `421 4.3.2` at once, one in the middle of a message finishes it (stored
//! and acknowledged) first. Sessions still open after 10 seconds are dropped, and the
//! process exits.

#[path = "common/mod.rs"]
mod common;

use bytes::BytesMut;
use clap::Parser;
use common::conn::{within, Input};
use common::maildir::{Commit, Stored};
use common::session::{HandshakeSlot, Next, Session, Shared};
use common::ServerOptions;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

#[derive(Parser, Debug)]
#[command(about = "SMTP server example: Maildir delivery, STARTTLS, AUTH PLAIN/LOGIN/NTLM")]
struct Cli {
    #[command(flatten)]
    server: ServerOptions,
    /// Threads that run connections. 1 (the default) runs every connection on one thread,
    /// as smtp-sink does: creating and renaming Maildir files takes the directory's lock,
    /// so more threads mostly contend for it (on Linux they spin on it). fsyncs run on
    /// tokio's blocking pool either way. More threads pay off when TLS handshakes dominate.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
}

/// How long open sessions may go on after Ctrl-C.
const DRAIN: Duration = Duration::from_secs(10);

type Conn = common::conn::Conn<tokio_rustls::server::TlsStream<TcpStream>>;

/// Sends everything the machine has queued: gathered in the thread's output buffer and
/// written at once; only what the socket does not take then (or everything, under TLS)
/// goes to `spill` and is awaited. `last`: the session's final bytes (see `Conn::try_send`).
fn send_queued(
    session: &mut Session,
    conn: &mut Conn,
    spill: &mut Vec<u8>,
    last: bool,
) -> io::Result<()> {
    SHARED_OUT.with_borrow_mut(|out| {
        out.clear();
        if session.server.transmit_into(out) == 0 {
            return Ok(());
        }
        conn.try_send(out, spill, last)
    })
}

/// [`send_queued`], then waits until the rest is written, for at most `limit`: a client
/// that does not read is as silent as one that does not write (RFC 5321 4.5.3.2).
async fn flush(
    session: &mut Session,
    conn: &mut Conn,
    spill: &mut Vec<u8>,
    limit: Duration,
) -> io::Result<()> {
    send_queued(session, conn, spill, false)?;
    if !spill.is_empty() {
        within(limit, "write", conn.write_all(spill)).await?;
        spill.clear();
    }
    Ok(())
}

thread_local! {
    /// Where the replies of this thread's connections are gathered before each write.
    static SHARED_OUT: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(4096));
}

async fn run_commit(commit: Commit) -> io::Result<Stored> {
    if commit.blocks() {
        match tokio::task::spawn_blocking(move || commit.run()).await {
            Ok(r) => r,
            Err(e) => Err(io::Error::other(e)),
        }
    } else {
        commit.run()
    }
}

/// How a connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Plain SMTP, with STARTTLS if TLS is configured.
    Plain,
    /// Implicit TLS (RFC 8314): the handshake before the greeting.
    Tls,
}

/// `slot`: for a connection of the implicit-TLS port, the `--max-connections` slot it
/// holds during its handshake, until its session counts itself.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    (how, slot): (Start, Option<HandshakeSlot>),
    stop: CancellationToken,
) -> io::Result<()> {
    let shortest = shared.config.timeouts.shortest();
    let mut conn = match (how, tls.as_ref()) {
        (Start::Plain, _) => Conn::Plain(stream),
        (Start::Tls, Some(acceptor)) => {
            // A client that never finishes the handshake gets as long as a silent one.
            let handshake = Box::pin(acceptor.accept(stream));
            Conn::Tls(Box::new(
                within(shortest, "TLS handshake", handshake).await?,
            ))
        }
        (Start::Tls, None) => return Err(io::Error::other("implicit TLS without TLS configured")),
    };
    let start = Instant::now();
    let mut session = Session::new(shared, peer, start);
    // The session counts itself now.
    drop(slot);
    if how == Start::Tls {
        // Before the greeting: the session starts under TLS (no STARTTLS in the EHLO
        // reply, AUTH PLAIN and LOGIN offered, "ESMTPS" in the Received header).
        session.server.tls_established().map_err(io::Error::other)?;
        debug!(%peer, "implicit TLS established");
    }
    // TLS input, decrypted by rustls (allocated on first use; plain TCP reads into a
    // buffer shared by the thread's connections, see `Conn::take_input`).
    let mut tls_buf = BytesMut::new();
    // Output the socket did not take at once (empty, unallocated, nearly always).
    let mut out = Vec::new();
    // One timer per connection, first armed at the start plus the shortest timeout: no
    // deadline of the machine comes before that, so a short session never moves it.
    // Later it is moved earlier when the machine's deadline is earlier than the armed
    // one, never later: activity pushes the deadline back on every command, and
    // re-arming for each read would cost a timer-wheel update per command. Moving a
    // timer earlier than every other one also wakes tokio's driver (a write to its
    // eventfd), which arming at connection start never does: later connections' timers
    // come later. When the timer fires before the machine's deadline, it is re-armed.
    let first = start + shortest;
    let timer = tokio::time::sleep_until(first.into());
    tokio::pin!(timer);
    let mut armed = Some(first);
    // The server going down: told to the machine once, which ends the session as soon as
    // no message is in progress.
    let stopping = stop.cancelled_owned();
    tokio::pin!(stopping);
    loop {
        match session.next() {
            Next::Read => {
                flush(&mut session, &mut conn, &mut out, shortest).await?;
                if session.server.is_paused_for_output() {
                    // Commands wait for their replies to be written: they are here.
                    continue;
                }
                let read = match session.server.poll_timeout() {
                    Some(deadline) => {
                        if armed.map_or(true, |a| deadline < a) {
                            timer.as_mut().reset(deadline.into());
                            armed = Some(deadline);
                        }
                        tokio::select! {
                            biased;
                            input = conn.wait_input(&mut tls_buf) => input,
                            () = &mut stopping, if !session.server.is_shutting_down() => {
                                debug!(%peer, "shutting down");
                                session.server.shutdown();
                                continue;
                            }
                            () = &mut timer => {
                                armed = None;
                                let now = Instant::now();
                                if now >= deadline {
                                    debug!(%peer, "timeout");
                                    session.server.handle_timeout(now);
                                }
                                continue;
                            }
                        }
                    }
                    None => tokio::select! {
                        biased;
                        input = conn.wait_input(&mut tls_buf) => input,
                        () = &mut stopping, if !session.server.is_shutting_down() => {
                            session.server.shutdown();
                            continue;
                        }
                    },
                };
                let n = match read? {
                    Input::Read(n) => {
                        session.receive(Instant::now(), &tls_buf);
                        tls_buf.clear();
                        n
                    }
                    Input::Ready => {
                        match conn.take_input(|data| session.receive(Instant::now(), data)) {
                            Ok(n) => n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(e),
                        }
                    }
                };
                if n == 0 {
                    debug!(%peer, "client closed the connection");
                    return Ok(());
                }
            }
            Next::TlsUpgrade => {
                flush(&mut session, &mut conn, &mut out, shortest).await?;
                let (Some(acceptor), Conn::Plain(tcp)) =
                    (tls.as_ref(), std::mem::replace(&mut conn, Conn::Upgrading))
                else {
                    return Err(io::Error::other("TLS upgrade without TLS configured"));
                };
                // Boxed: the handshake's state is large and only TLS sessions need it. A
                // client that stalls in it is a silent client (RFC 5321 4.5.3.2).
                let handshake = Box::pin(acceptor.accept(tcp));
                let stream = within(shortest, "TLS handshake", handshake).await?;
                conn = Conn::Tls(Box::new(stream));
                // The wait for the EHLO starts when the handshake ends.
                session
                    .server
                    .tls_established_at(Instant::now())
                    .map_err(io::Error::other)?;
                debug!(%peer, "TLS established");
            }
            Next::Commit(commit) => {
                let result = run_commit(commit).await;
                session.committed(result);
            }
            Next::Closed => {
                // The last reply (221, or 421) leaves with the FIN.
                send_queued(&mut session, &mut conn, &mut out, true)?;
                return within(shortest, "write", conn.finish_spilled(&mut out)).await;
            }
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> Result<(), common::Error> {
    common::init_tracing("info");
    let cli = Cli::parse();
    let runtime = if cli.workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(cli.workers))
            .enable_all()
            .build()?
    };
    runtime.block_on(serve(cli.server))
}

/// The next connection on `listener`; never, without one.
async fn accept(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn serve(opts: ServerOptions) -> Result<(), common::Error> {
    let (shared, tls) = opts.setup()?;
    let tls = tls.map(TlsAcceptor::from);
    // The implicit-TLS port is bound first: once the main port accepts, both do.
    let tls_listener = match opts.tls_listen {
        None => None,
        Some(addr) => {
            let l = TcpListener::bind(addr).await?;
            common::tune_listener(&l);
            info!(listen = %l.local_addr()?, "implicit TLS (RFC 8314)");
            Some(l)
        }
    };
    let listener = TcpListener::bind(opts.listen).await?;
    let nodelay_inherited = common::tune_listener(&listener);
    info!(
        listen = %listener.local_addr()?,
        maildir = %opts.maildir.display(),
        tls = tls.is_some(),
        fsync = !opts.no_fsync,
        "smtp-server ready"
    );
    let tasks = TaskTracker::new();
    let stopping = CancellationToken::new();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted.map(|(s, p)| (s, p, Start::Plain)),
            accepted = accept(tls_listener.as_ref()) => accepted.map(|(s, p)| (s, p, Start::Tls)),
            _ = &mut stop => break,
        };
        match accepted {
            Ok((stream, peer, how)) => {
                // A connection of the implicit-TLS port past the limit cannot be told
                // `421` before a handshake, which may take as long as the client likes
                // (up to the timeout), holding its socket: it is closed at once.
                let slot = match how {
                    Start::Plain => None,
                    Start::Tls => match HandshakeSlot::take(&shared) {
                        Some(slot) => Some(slot),
                        None => {
                            warn!(%peer, "too many connections, implicit TLS connection closed");
                            continue;
                        }
                    },
                };
                let (shared, tls, stop) = (shared.clone(), tls.clone(), stopping.clone());
                tasks.spawn(async move {
                    if !nodelay_inherited {
                        let _ = stream.set_nodelay(true);
                    }
                    if let Err(e) = connection(stream, peer, shared, tls, (how, slot), stop).await {
                        debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    drop(tls_listener);
    tasks.close();
    info!(open = tasks.len(), "shutting down");
    stopping.cancel();
    if tokio::time::timeout(DRAIN, tasks.wait()).await.is_err() {
        // Returning drops the runtime, and with it every session still open.
        error!(
            open = tasks.len(),
            "sessions still open after the drain period; closing them"
        );
    }
    info!("stopped");
    Ok(())
}
