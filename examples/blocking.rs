//! The `smtp-server` example on `std::net`, one thread per connection, no async runtime.
//!
//! Same options and the same per-connection logic (`common::session`) as `smtp-server`:
//! Maildir delivery, STARTTLS (rustls `StreamOwned`), AUTH PLAIN/LOGIN/NTLM. The fsync and
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

fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<()> {
    let mut session = Session::new(shared, peer, Instant::now());
    let mut conn = Some(Conn::Plain(stream));
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
                tcp.set_read_timeout(Some(Duration::from_secs(60)))?;
                let server = ServerConnection::new(cfg).map_err(io::Error::other)?;
                let mut stream = StreamOwned::new(server, tcp);
                while stream.conn.is_handshaking() {
                    stream.conn.complete_io(&mut stream.sock)?;
                }
                conn = Some(Conn::Tls(Box::new(stream)));
                session.server.tls_established();
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
    let listener = TcpListener::bind(opts.listen)?;
    let nodelay_inherited = common::tune_listener(&listener);
    info!(listen = %listener.local_addr()?, "blocking smtp server ready");
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
        let (shared, tls) = (shared.clone(), tls.clone());
        if !nodelay_inherited {
            let _ = stream.set_nodelay(true);
        }
        let spawned = std::thread::Builder::new()
            .name(format!("smtp {peer}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                if let Err(e) = connection(stream, peer, shared, tls) {
                    debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        if let Err(e) = spawned {
            warn!(error = %e, "cannot start a connection thread");
        }
    }
    Ok(())
}
