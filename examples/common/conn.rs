//! The tokio examples' transport: plain TCP, then TLS after STARTTLS.

use bytes::BytesMut;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A connection: plain TCP, then TLS after STARTTLS. `T` is tokio-rustls' client or
/// server stream.
pub enum Conn<T> {
    /// Before (or without) TLS.
    Plain(TcpStream),
    /// After the TLS handshake.
    Tls(Box<T>),
    /// Only during the handshake.
    Upgrading,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Conn<T> {
    /// Reads into `buf`'s spare capacity (no zeroing first); `Ok(0)` is the end of input
    /// when `buf` has room.
    pub async fn read(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read_buf(buf).await,
            Conn::Tls(s) => s.read_buf(buf).await,
            Conn::Upgrading => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Writes all of `data` (and flushes the TLS layer).
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.write_all(data).await,
            Conn::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            Conn::Upgrading => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Closes the sending side (TLS: close_notify first).
    pub async fn shutdown(&mut self) {
        let _ = match self {
            Conn::Plain(s) => s.shutdown().await,
            Conn::Tls(s) => s.shutdown().await,
            Conn::Upgrading => Ok(()),
        };
    }
}
