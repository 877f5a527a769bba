//! A scripted fake SMTP peer for the hostile-peer tests: one end of a loopback TCP
//! connection, driven by a test's script, that records every byte it reads. The tests
//! accept the connection themselves (one connection, or many on their own threads) and
//! add the dialogue helpers their scripts share (greeting, QUIT) in their own `impl Peer`.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a fake peer names itself in its panics and matches the commands it expects.
#[derive(Clone, Copy, Debug)]
pub struct Role {
    /// The start of its panic messages: "fake server", "fake upstream".
    pub name: &'static str,
    /// Whether [`Peer::expect`] ignores ASCII case.
    pub fold_case: bool,
}

/// The fake peer's end of one connection: what it reads is recorded in `seen`.
pub struct Peer {
    /// `None` once the script closed the connection (or took the socket, for TLS).
    pub stream: Option<TcpStream>,
    /// Every byte read, shared with whoever checks it after the script.
    pub seen: Arc<Mutex<Vec<u8>>>,
    /// Read, not yet consumed by the script (`line`, `until`, `exactly`, `data`).
    pub pending: Vec<u8>,
    /// How it speaks of itself and matches commands.
    pub role: Role,
}

impl Peer {
    /// A peer on `stream`, each read waiting up to `wait`, with Nagle off (each write its
    /// own segment), recording into `seen`.
    pub fn new(stream: TcpStream, seen: Arc<Mutex<Vec<u8>>>, wait: Duration, role: Role) -> Peer {
        stream.set_read_timeout(Some(wait)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Peer {
            stream: Some(stream),
            seen,
            pending: Vec::new(),
            role,
        }
    }

    /// The connection; panics if the script closed it.
    pub fn stream(&mut self) -> &mut TcpStream {
        self.stream
            .as_mut()
            .expect("the script closed the connection")
    }

    /// Writes `bytes`, ignoring errors (the other end may have gone: the test says so).
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream().write_all(bytes);
    }

    /// One byte at a time, `gap` apart (each its own segment: no Nagle delay).
    pub fn send_slowly(&mut self, bytes: &[u8], gap: Duration) {
        for b in bytes {
            self.send(std::slice::from_ref(b));
            std::thread::sleep(gap);
        }
    }

    /// Reads once (waiting up to the `wait` given to [`Peer::new`]), recording what came
    /// and keeping it as pending.
    fn read_some(&mut self) -> std::io::Result<usize> {
        let mut buf = [0u8; 64 * 1024];
        let n = self.stream().read(&mut buf)?;
        self.seen.lock().unwrap().extend_from_slice(&buf[..n]);
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// Reads once; false at the end of input, on an error or when the wait runs out.
    pub fn fill(&mut self) -> bool {
        matches!(self.read_some(), Ok(n) if n > 0)
    }

    /// After the script: unless it closed the connection, reads (recording) until the
    /// other end closes. True when the connection ended (closed by the script, end of
    /// input, a reset or another error); false when a wait ran out first.
    pub fn finish(&mut self) -> bool {
        if self.stream.is_none() {
            return true;
        }
        loop {
            match self.read_some() {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return false
                }
                Err(_) => return true,
            }
        }
    }

    /// Consumes everything up to and including `end`; `None` if input ends first.
    pub fn until(&mut self, end: &[u8]) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = find(&self.pending, end) {
                return Some(self.pending.drain(..i + end.len()).collect());
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Consumes exactly `n` octets; `None` if input ends first.
    pub fn exactly(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.pending.len() < n {
            if !self.fill() {
                return None;
            }
        }
        Some(self.pending.drain(..n).collect())
    }

    /// The next line, without its CRLF.
    pub fn line(&mut self) -> Option<String> {
        let mut l = self.until(b"\r\n")?;
        l.truncate(l.len() - 2);
        Some(String::from_utf8_lossy(&l).into_owned())
    }

    /// The next line, which must start with `verb` (ignoring ASCII case if the role
    /// says so); returns it.
    pub fn expect(&mut self, verb: &str) -> String {
        let name = self.role.name;
        let l = self
            .line()
            .unwrap_or_else(|| panic!("{name}: input ended while expecting {verb}"));
        let starts = if self.role.fold_case {
            l.to_ascii_uppercase()
                .starts_with(&verb.to_ascii_uppercase())
        } else {
            l.starts_with(verb)
        };
        assert!(starts, "{name}: expected {verb}, got {l:?}");
        l
    }

    /// The message content after a 354, through the `.` line.
    pub fn data(&mut self) -> Vec<u8> {
        let name = self.role.name;
        self.until(b"\r\n.\r\n")
            .unwrap_or_else(|| panic!("{name}: input ended in the message content"))
    }

    /// Reads whatever comes next (a TLS ClientHello, say) and drops it.
    pub fn some(&mut self) {
        if self.pending.is_empty() {
            self.fill();
        }
        self.pending.clear();
    }

    /// Closes the connection now (unread input makes it a reset).
    pub fn close(&mut self) {
        self.stream = None;
    }
}

/// Where `needle` first stands in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
