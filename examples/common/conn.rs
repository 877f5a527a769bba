//! The tokio examples' transport: plain TCP, then TLS after STARTTLS.

use bytes::BytesMut;
use std::cell::RefCell;
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

/// What [`Conn::wait_input`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Plain TCP is readable: call [`Conn::take_input`].
    Ready,
    /// TLS: this many bytes were read into the connection's buffer (0: end of input).
    Read(usize),
}

/// `io` if it ends within `limit`; a `TimedOut` error naming `what` otherwise.
pub async fn within<T>(
    limit: std::time::Duration,
    what: &'static str,
    io: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match tokio::time::timeout(limit, io).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, what)),
    }
}

/// Size of the per-thread read buffer of plain connections.
pub const SHARED_READ_BUFFER: usize = 64 * 1024;

thread_local! {
    /// The read buffer every plain connection of this thread uses in turn: what is read
    /// is handed to the session at once (which keeps only what it has not processed), so
    /// no connection needs a buffer of its own while it waits, as in an event loop.
    static SHARED_READ: RefCell<Vec<u8>> = RefCell::new(vec![0; SHARED_READ_BUFFER]);
}

impl<T: AsyncRead + AsyncWrite + Unpin> Conn<T> {
    /// Waits for input without reading it on plain TCP ([`Input::Ready`]; then
    /// [`Conn::take_input`]); under TLS reads into `tls_buf` (allocated on first use:
    /// only TLS sessions need a buffer of their own, as rustls decrypts into it).
    pub async fn wait_input(&mut self, tls_buf: &mut BytesMut) -> io::Result<Input> {
        match self {
            // `poll_read_ready` keeps the task's waker in the socket's own slot;
            // `readable()` would queue a waiter under a lock on every wait.
            Conn::Plain(s) => std::future::poll_fn(|cx| s.poll_read_ready(cx))
                .await
                .map(|()| Input::Ready),
            Conn::Tls(s) => {
                if tls_buf.capacity() == 0 {
                    tls_buf.reserve(SHARED_READ_BUFFER);
                }
                s.read_buf(tls_buf).await.map(Input::Read)
            }
            Conn::Upgrading => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// After [`Input::Ready`]: reads what the socket has into the thread's shared buffer
    /// and hands it to `f`. `Ok(0)` is the end of input; `WouldBlock` means the readiness
    /// was stale (wait again).
    pub fn take_input(&mut self, f: impl FnOnce(&[u8])) -> io::Result<usize> {
        let Conn::Plain(s) = self else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        SHARED_READ.with_borrow_mut(|buf| {
            let n = s.try_read(buf)?;
            if n > 0 {
                f(&buf[..n]);
            }
            Ok(n)
        })
    }

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

    /// Writes `spill` (what [`Conn::try_send`] could not send at once), then closes the
    /// sending side.
    pub async fn finish_spilled(&mut self, spill: &mut Vec<u8>) -> io::Result<()> {
        if !spill.is_empty() {
            self.write_all(spill).await?;
            spill.clear();
        }
        self.shutdown().await;
        Ok(())
    }

    /// Sends what plain TCP takes of `data` now, without waiting, and appends the rest
    /// to `spill` for [`Conn::write_all`] (under TLS all of it: the TLS layer writes only
    /// when awaited). A reply is a few hundred bytes and the socket almost always takes it
    /// whole, so a connection needs no output buffer of its own.
    ///
    /// `last`: the final bytes of the session, followed by [`Conn::finish_spilled`]. On
    /// plain TCP (Linux) they are sent with `MSG_MORE`, so the kernel holds them for the
    /// FIN of the shutdown and both leave in one segment: the peer gets the last reply and
    /// the end of the stream together, and the sender pays one transmission, not two.
    pub fn try_send(&mut self, data: &[u8], spill: &mut Vec<u8>, last: bool) -> io::Result<()> {
        let Conn::Plain(s) = self else {
            spill.extend_from_slice(data);
            return Ok(());
        };
        let mut sent = 0;
        // Anything already waiting goes first.
        if spill.is_empty() {
            while sent < data.len() {
                let r = if last {
                    send_more(s, &data[sent..])
                } else {
                    s.try_write(&data[sent..])
                };
                match r {
                    Ok(0) => break,
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        spill.extend_from_slice(&data[sent..]);
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

/// One non-blocking send with `MSG_MORE` (Linux): the kernel holds the bytes for what
/// follows, here the FIN.
#[cfg(target_os = "linux")]
fn send_more(s: &TcpStream, data: &[u8]) -> io::Result<usize> {
    s.try_io(tokio::io::Interest::WRITABLE, || {
        socket2::SockRef::from(s).send_with_flags(data, libc::MSG_MORE | libc::MSG_NOSIGNAL)
    })
}

/// Elsewhere a plain non-blocking write.
#[cfg(not(target_os = "linux"))]
fn send_more(s: &TcpStream, data: &[u8]) -> io::Result<usize> {
    s.try_write(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    type Plain = Conn<tokio::net::TcpStream>;

    /// A connected pair whose server side (returned first) has small socket buffers and
    /// whose client side reads nothing until told to.
    async fn pair() -> (Plain, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let (client, accepted) = tokio::join!(socket.connect(addr), listener.accept());
        let (server, _) = accepted.unwrap();
        socket2::SockRef::from(&server)
            .set_send_buffer_size(4096)
            .unwrap();
        (Conn::Plain(server), client.unwrap())
    }

    /// What the socket does not take at once goes to the spill, in order after what it
    /// took; `finish_spilled` then writes it and closes: the peer reads every byte, then
    /// the end of the stream.
    #[tokio::test]
    async fn unsent_output_is_spilled_then_written_in_order() {
        let (mut conn, mut client) = pair().await;
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut spill = Vec::new();
        conn.try_send(&data, &mut spill, false).unwrap();
        assert!(!spill.is_empty(), "the socket took all of 2 MB at once");
        assert!(spill.len() < data.len());
        // More output while some is waiting goes behind it, none of it to the socket.
        conn.try_send(b"tail", &mut spill, true).unwrap();
        assert!(spill.ends_with(b"tail"));
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            got
        });
        conn.finish_spilled(&mut spill).await.unwrap();
        assert!(spill.is_empty());
        drop(conn);
        let got = reader.await.unwrap();
        assert_eq!(got.len(), data.len() + 4);
        assert!(got[..data.len()] == data[..] && got.ends_with(b"tail"));
    }

    /// Readiness, then the shared buffer: the bytes reach the callback, and the end of
    /// the stream reads as 0.
    #[tokio::test]
    async fn input_is_taken_through_the_shared_buffer() {
        use tokio::io::AsyncWriteExt;
        let (mut conn, mut client) = pair().await;
        client.write_all(b"EHLO x\r\n").await.unwrap();
        let mut tls_buf = BytesMut::new();
        assert_eq!(conn.wait_input(&mut tls_buf).await.unwrap(), Input::Ready);
        let mut seen = Vec::new();
        let n = conn.take_input(|d| seen.extend_from_slice(d)).unwrap();
        assert_eq!((n, &seen[..]), (8, &b"EHLO x\r\n"[..]));
        assert_eq!(tls_buf.capacity(), 0, "plain connections need no buffer");
        drop(client);
        loop {
            conn.wait_input(&mut tls_buf).await.unwrap();
            match conn.take_input(|_| panic!("no data expected")) {
                Ok(0) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => panic!("{other:?}"),
            }
        }
    }
}
