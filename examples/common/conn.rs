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

    /// Writes the last bytes of the session and closes the sending side. On plain TCP
    /// (Linux) the bytes are sent with `MSG_MORE`, so the kernel holds them for the FIN
    /// of the shutdown and both leave in one segment: the peer gets the last reply and the
    /// end of the stream together, and the sender pays one transmission instead of two.
    pub async fn finish(&mut self, data: &[u8]) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Conn::Plain(s) = self {
            let sent = if data.is_empty() {
                0
            } else {
                s.try_io(tokio::io::Interest::WRITABLE, || {
                    socket2::SockRef::from(&*s)
                        .send_with_flags(data, libc::MSG_MORE | libc::MSG_NOSIGNAL)
                })
                .unwrap_or(0)
            };
            // Not sent at once (a full send buffer): the rest the usual way.
            if sent < data.len() {
                s.write_all(&data[sent..]).await?;
            }
            self.shutdown().await;
            return Ok(());
        }
        self.write_all(data).await?;
        self.shutdown().await;
        Ok(())
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
