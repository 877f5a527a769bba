//! The `smtp-server` example on `std::net`, one thread per connection, no async runtime.
//!
//! Same options and the same per-connection logic (`common::session`) as `smtp-server`:
//! Maildir delivery, STARTTLS and implicit TLS (`--tls-listen`, a second accept thread;
//! rustls `StreamOwned`), AUTH PLAIN/LOGIN/NTLM. The fsync and
//! rename simply block the connection's own thread.
//!
//! ```text
//! cargo run --release --example blocking -- --listen 127.0.0.1:2525 --maildir /tmp/md
//! ```
//!
//! Ctrl-C ends the process at once; a message being received is then left in `tmp/`
//! (never in `new/`), and was never acknowledged.

#[path = "common/mod.rs"]
mod common;

use clap::Parser;
use common::session::{Next, Session, Shared};
use common::ServerOptions;
use rustls::{ServerConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

#[derive(Parser, Debug)]
#[command(about = "SMTP server example on std::net, a thread per connection")]
struct Cli {
    #[command(flatten)]
    server: ServerOptions,
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
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
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

/// A `--max-connections` slot held by a connection of the implicit-TLS port during its
/// handshake, before its session counts itself: a client that stalls there holds a
/// thread as much as one in a session.
struct HandshakeSlot(Arc<Shared>);

impl HandshakeSlot {
    /// A slot, if one is free (the active sessions and handshakes are below the limit).
    fn take(shared: &Arc<Shared>) -> Option<HandshakeSlot> {
        let before = shared.active.fetch_add(1, Ordering::Relaxed);
        let slot = HandshakeSlot(shared.clone());
        (before < shared.max_connections).then_some(slot)
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<Arc<rustls::ServerConfig>>,
    slot: Option<HandshakeSlot>,
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
        session.server.tls_established();
    }
    let mut conn = Some(conn);
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(4096);
    loop {
        let c = conn.as_mut().ok_or(io::ErrorKind::NotConnected)?;
        match session.next() {
            Next::Read => {
                flush(&mut session, c, &mut out)?;
                let timeout = session.server.poll_timeout().map(|t| {
                    t.saturating_duration_since(Instant::now())
                        .max(Duration::from_millis(1))
                });
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
                session.server.tls_established_at(Instant::now());
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
    // The implicit-TLS port is bound first: once the main port accepts, both do.
    if let Some(addr) = opts.tls_listen {
        let listener = TcpListener::bind(addr)?;
        info!(listen = %listener.local_addr()?, "implicit TLS (RFC 8314)");
        let (shared, tls) = (shared.clone(), tls.clone());
        std::thread::Builder::new()
            .name("accept tls".into())
            .spawn(move || serve(listener, true, shared, tls))?;
    }
    let listener = TcpListener::bind(opts.listen)?;
    info!(listen = %listener.local_addr()?, "blocking smtp server ready");
    serve(listener, false, shared, tls);
    Ok(())
}

/// Accepts connections on `listener` forever, one thread each.
fn serve(
    listener: TcpListener,
    implicit_tls: bool,
    shared: Arc<Shared>,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let nodelay_inherited = common::tune_listener(&listener);
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
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
        let (shared, tls) = (shared.clone(), tls.clone());
        if !nodelay_inherited {
            let _ = stream.set_nodelay(true);
        }
        let spawned = std::thread::Builder::new()
            .name(format!("smtp {peer}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                if let Err(e) = connection(stream, peer, shared, tls, slot) {
                    debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        if let Err(e) = spawned {
            warn!(error = %e, "cannot start a connection thread");
        }
    }
}
