//! The `smtp-proxy` example between a scripted fake client (raw TCP) and a scripted fake
//! upstream (a thread on `127.0.0.1:0` that records every byte it receives and answers
//! from a script), over real loopback TCP. Each case asserts what each side received,
//! byte for byte where it matters: a client's smuggling sequences stay content of one
//! message; a chunk the upstream cannot read is never forwarded; a message the client did
//! not finish is never finished upstream; the upstream's malformed, unsolicited or endless
//! replies never reach the client unparsed, and memory stays bounded; the proxy goes on
//! serving other connections after every failure.
//!
//! Needs nothing but the example binaries (`cargo build --examples` first when running
//! this file alone: `cargo test --test NAME` does not rebuild them).

mod fake_peer;
mod peer_support;

use fake_peer::{find, Peer, Role};
use peer_support::{example, free_port, Guard};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long either fake peer waits for the proxy's bytes (and for a close).
const WAIT: Duration = Duration::from_secs(5);
/// The proxy's `--timeout`: far longer than any wait here, so a session that ends within
/// [`WAIT`] ended by itself, not by the idle limit.
const PROXY_TIMEOUT: &str = "30";
/// The proxy's limit of awaited replies (`MAX_QUEUED` in the example).
const MAX_QUEUED: usize = 64;
/// Memory the proxy may take, resident, at any time in these cases.
const MAX_RSS_KIB: u64 = 40 << 10;

const EHLO: &[u8] = b"EHLO client.test\r\n";
const MAIL: &[u8] = b"MAIL FROM:<a@example.test>\r\n";
const RCPT: &[u8] = b"RCPT TO:<b@example.test>\r\n";

/// An EHLO reply offering PIPELINING only.
const PLAIN_CAPS: &[&str] = &["up", "PIPELINING", "8BITMIME"];
/// An EHLO reply offering CHUNKING, AUTH and STARTTLS too.
const FULL_CAPS: &[&str] = &[
    "up",
    "PIPELINING",
    "8BITMIME",
    "CHUNKING",
    "AUTH PLAIN LOGIN",
    "STARTTLS",
];

// ---------------------------------------------------------------------------------------
// The fake upstream.

/// How the fake upstream speaks of itself; it takes commands in the case it expects.
const ROLE: Role = Role {
    name: "fake upstream",
    fold_case: false,
};

/// The fake upstream's dialogue, beyond what [`fake_peer`] gives.
impl Peer {
    /// Greeting, then EHLO answered with `caps`.
    fn hello(&mut self, caps: &[&str]) {
        self.send(b"220 up ESMTP\r\n");
        self.expect("EHLO");
        self.send(&ehlo_reply(caps));
    }

    /// Answers QUIT and closes.
    fn quit(&mut self) {
        self.expect("QUIT");
        self.send(b"221 bye\r\n");
        self.close();
    }

    /// A plain SMTP server until QUIT or the end of input: DATA content up to
    /// `CRLF . CRLF`, BDAT chunks of their size, AUTH with one SASL exchange.
    fn serve(&mut self, caps: &[&str]) {
        self.send(b"220 up ESMTP\r\n");
        while let Some(line) = self.line() {
            let verb = line.split(' ').next().unwrap_or_default().to_string();
            match verb.as_str() {
                "EHLO" => self.send(&ehlo_reply(caps)),
                "DATA" => {
                    self.send(b"354 go\r\n");
                    if self.until(b"\r\n.\r\n").is_none() {
                        return;
                    }
                    self.send(b"250 queued\r\n");
                }
                "BDAT" => {
                    let n: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
                    if self.exactly(n).is_none() {
                        return;
                    }
                    self.send(format!("250 {n} octets\r\n").as_bytes());
                }
                "AUTH" if line.split(' ').count() > 2 => self.send(b"235 ok\r\n"),
                "AUTH" => {
                    self.send(b"334 \r\n");
                    match self.line().as_deref() {
                        None => return,
                        Some("*") => self.send(b"501 cancelled\r\n"),
                        Some(_) => self.send(b"235 ok\r\n"),
                    }
                }
                "QUIT" => {
                    self.send(b"221 bye\r\n");
                    self.close();
                    return;
                }
                _ => self.send(format!("250 ok {verb}\r\n").as_bytes()),
            }
        }
    }
}

fn ehlo_reply(caps: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in caps.iter().enumerate() {
        let sep = if i + 1 == caps.len() { ' ' } else { '-' };
        out.extend_from_slice(format!("250{sep}{c}\r\n").as_bytes());
    }
    out
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// One connection the fake upstream accepted.
#[derive(Clone)]
struct Conn {
    seen: Arc<Mutex<Vec<u8>>>,
    /// The proxy closed it (end of input, or a reset).
    closed: Arc<AtomicBool>,
}

/// A fake upstream: each accepted connection runs `script` on its own thread; after the
/// script (unless it closed) it reads on until the proxy closes.
struct Upstream {
    addr: SocketAddr,
    conns: Arc<Mutex<Vec<Conn>>>,
}

type Script = dyn Fn(&mut Peer) + Send + Sync;

impl Upstream {
    fn start(script: impl Fn(&mut Peer) + Send + Sync + 'static) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let conns: Arc<Mutex<Vec<Conn>>> = Arc::default();
        let shared = Arc::clone(&conns);
        let script: Arc<Script> = Arc::new(script);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let conn = Conn {
                    seen: Arc::default(),
                    closed: Arc::default(),
                };
                shared.lock().unwrap().push(conn.clone());
                let script = Arc::clone(&script);
                std::thread::spawn(move || {
                    let mut peer = Peer::new(stream, Arc::clone(&conn.seen), WAIT, ROLE);
                    script(&mut peer);
                    if !peer.finish() {
                        return; // still open when the wait ran out
                    }
                    conn.closed.store(true, Ordering::SeqCst);
                });
            }
        });
        Upstream { addr, conns }
    }

    /// The `i`th connection, once accepted (within [`WAIT`]).
    fn conn(&self, i: usize) -> Conn {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(c) = self.conns.lock().unwrap().get(i) {
                return c.clone();
            }
            assert!(Instant::now() < deadline, "no upstream connection {i}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the `i`th connection received, once the proxy closed it (within
    /// [`WAIT`]: the proxy must not hold a dead session open).
    fn closed(&self, i: usize) -> Vec<u8> {
        let c = self.conn(i);
        let deadline = Instant::now() + WAIT;
        while !c.closed.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "the proxy still holds upstream connection {i} open; it received:\n{}",
                c.seen.lock().unwrap().escape_ascii()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let seen = c.seen.lock().unwrap().clone();
        seen
    }

    fn count(&self) -> usize {
        self.conns.lock().unwrap().len()
    }
}

// ---------------------------------------------------------------------------------------
// The proxy and the fake client.

/// The proxy on a free port, forwarding to `upstream`.
struct Proxy {
    addr: SocketAddr,
    guard: Guard,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Proxy {
        let dir = tempfile::tempdir().expect("tempdir");
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let log = dir.path().join("proxy.log");
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(example("smtp-proxy"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--upstream")
            .arg(upstream.to_string())
            .args(["--timeout", PROXY_TIMEOUT])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start smtp-proxy");
        let guard = Guard { child, log };
        // Listening once it says so: a probe connection would be a session upstream.
        let deadline = Instant::now() + WAIT;
        while !guard.log().contains("listening on") {
            assert!(guard.child_running(), "{}", guard.log());
            assert!(Instant::now() < deadline, "not listening:\n{}", guard.log());
            std::thread::sleep(Duration::from_millis(10));
        }
        Proxy {
            addr,
            guard,
            _dir: dir,
        }
    }

    /// The proxy's resident memory, KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.guard.child.id()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    fn assert_rss_bounded(&self, when: &str) {
        let rss = self.rss_kib();
        assert!(rss < MAX_RSS_KIB, "{when}: the proxy takes {rss} KiB");
    }

    /// The proxy still runs and serves: a new client gets a greeting.
    fn assert_serves(&self) {
        assert!(
            self.guard.child_running(),
            "the proxy exited:\n{}",
            self.guard.log()
        );
        let mut c = Client::connect(self.addr);
        let greeting = c.reply();
        assert!(greeting.starts_with("220"), "{greeting:?}");
        c.send(b"QUIT\r\n");
    }
}

trait Running {
    fn child_running(&self) -> bool;
}

impl Running for Guard {
    fn child_running(&self) -> bool {
        // `try_wait` needs `&mut`; /proc tells without reaping.
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    }
}

/// A raw client: sends bytes as given, reads whole replies.
struct Client {
    out: TcpStream,
    input: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let out = TcpStream::connect(addr).expect("connect");
        out.set_read_timeout(Some(WAIT)).expect("timeout");
        out.set_nodelay(true).expect("nodelay");
        let input = BufReader::new(out.try_clone().expect("clone"));
        Client { out, input }
    }

    /// Connects, reads the greeting, sends EHLO; returns the EHLO reply.
    fn ehlo(addr: SocketAddr) -> (Client, String) {
        let mut c = Client::connect(addr);
        let greeting = c.reply();
        assert!(greeting.starts_with("220"), "{greeting:?}");
        let ehlo = c.exchange(EHLO, "250");
        (c, ehlo)
    }

    fn send(&mut self, bytes: &[u8]) {
        self.out.write_all(bytes).expect("write to the proxy");
    }

    /// The next reply, all its lines (CRLF kept); each line must end in CRLF.
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = self.input.read_line(&mut line).expect("read reply");
            assert!(n > 0, "connection closed; so far: {all:?}");
            assert!(line.ends_with("\r\n"), "not CRLF: {line:?}");
            assert!(
                !line[..line.len() - 2].contains(['\r', '\n']),
                "CR or LF inside a line: {line:?}"
            );
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    /// Sends `bytes` and asserts the reply starts with `code`; returns it.
    fn exchange(&mut self, bytes: &[u8], code: &str) -> String {
        self.send(bytes);
        let r = self.reply();
        assert!(r.starts_with(code), "{}: {r:?}", bytes.escape_ascii());
        r
    }

    /// [`Client::exchange`] for each step.
    fn exchanges(&mut self, steps: &[(&[u8], &str)]) {
        for (bytes, code) in steps {
            self.exchange(bytes, code);
        }
    }

    /// Everything up to the end of the connection (within [`WAIT`]); a reset ends it too.
    fn rest(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.input.read(&mut buf) {
                Ok(0) => return all,
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return all,
                Err(e) => panic!("the proxy did not close the connection: {e}; got {all:?}"),
            }
        }
    }

    /// Asserts that no reply comes within `quiet`.
    fn assert_silent(&mut self, quiet: Duration) {
        self.out.set_read_timeout(Some(quiet)).unwrap();
        let mut line = String::new();
        let r = self.input.read_line(&mut line);
        assert!(
            matches!(&r, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
            "unexpected: {r:?} {line:?}"
        );
        self.out.set_read_timeout(Some(WAIT)).unwrap();
    }
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Asserts `got == want`, showing both escaped.
#[track_caller]
fn assert_bytes(got: &[u8], want: &[u8]) {
    assert!(
        got == want,
        "\n got: {}\nwant: {}",
        got.escape_ascii(),
        want.escape_ascii()
    );
}

// ---------------------------------------------------------------------------------------
// From the client.

/// `LF . LF`, `CR LF . CR`, `CR . CR LF` and `LF . CR LF` inside DATA content, each
/// followed by a whole second transaction: the upstream gets one message, its content
/// dot-stuffed wherever a line (after the proxy writes every bare CR and LF as CRLF)
/// starts with a dot, and no second MAIL.
#[test]
fn smuggling_sequences_in_data_stay_content() {
    let upstream = Upstream::start(|p| p.serve(PLAIN_CAPS));
    let proxy = Proxy::start(upstream.addr);
    let (mut c, _) = Client::ehlo(proxy.addr);
    c.exchanges(&[(MAIL, "250"), (RCPT, "250"), (b"DATA\r\n", "354")]);
    let content: &[u8] = b"Subject: s\r\n\r\n\
        1\n.\nMAIL FROM:<e1@x>\r\nRCPT TO:<y@z>\r\nDATA\r\nevil 1\r\n\
        2\r\n.\rMAIL FROM:<e2@x>\r\n\
        3\r.\r\nMAIL FROM:<e3@x>\r\n\
        4\n.\r\nMAIL FROM:<e4@x>\r\n\
        5\r\n..\r\nend\r\n";
    // One octet at a time: no sequence is seen whole in one read.
    for b in content {
        c.send(std::slice::from_ref(b));
    }
    c.assert_silent(Duration::from_millis(300));
    c.exchange(b".\r\n", "250 queued");
    c.exchange(b"QUIT\r\n", "221");

    let seen = upstream.closed(0);
    // Bare LF and bare CR are written as CRLF; a dot that starts a line is doubled, as
    // RFC 5321 4.5.2 has it. `CR LF . CR` starts a line `.` CR to the proxy's decoder: its
    // dot is the client's stuffing, removed, as a server would.
    let want_content: &[u8] = b"Subject: s\r\n\r\n\
        1\r\n..\r\nMAIL FROM:<e1@x>\r\nRCPT TO:<y@z>\r\nDATA\r\nevil 1\r\n\
        2\r\n\r\nMAIL FROM:<e2@x>\r\n\
        3\r\n..\r\nMAIL FROM:<e3@x>\r\n\
        4\r\n..\r\nMAIL FROM:<e4@x>\r\n\
        5\r\n..\r\nend\r\n";
    let want = concat(&[
        EHLO,
        MAIL,
        RCPT,
        b"DATA\r\n",
        want_content,
        b".\r\nQUIT\r\n",
    ]);
    assert_bytes(&seen, &want);
    assert_eq!(count(&seen, b"\r\n.\r\n"), 1);
    proxy.assert_serves();
}

/// BDAT when the upstream did not offer CHUNKING: the proxy answers it, discards its
/// chunk (in one piece, or split across writes) and parses the next command right.
#[test]
fn bdat_not_offered_chunk_is_discarded() {
    let upstream = Upstream::start(|p| p.serve(PLAIN_CAPS));
    let proxy = Proxy::start(upstream.addr);
    let (mut c, ehlo) = Client::ehlo(proxy.addr);
    assert!(!ehlo.contains("CHUNKING"), "{ehlo}");
    c.exchanges(&[(MAIL, "250"), (RCPT, "250")]);
    let chunk: &[u8] = b"x\r\nMAIL FROM:<evil@x>\r\nRSET\r\n.\r\nDATA\r\n";
    let mut flight = format!("BDAT {} LAST\r\n", chunk.len()).into_bytes();
    flight.extend_from_slice(chunk);
    flight.extend_from_slice(b"NOOP\r\n");
    c.send(&flight);
    assert_eq!(c.reply(), "502 5.5.1 Command not implemented\r\n");
    assert_eq!(c.reply(), "250 ok NOOP\r\n");
    // Split: the command, part of the chunk, the rest of it with the next command.
    c.send(b"BDAT 28\r\nMAIL FROM:<e");
    std::thread::sleep(Duration::from_millis(100));
    c.send(b"vil@x>\r\n\r\nRSET\r\nNOOP\r\n");
    assert_eq!(c.reply(), "502 5.5.1 Command not implemented\r\n");
    assert_eq!(c.reply(), "250 ok NOOP\r\n");
    c.exchange(b"QUIT\r\n", "221");
    let seen = upstream.closed(0);
    assert_bytes(
        &seen,
        &concat(&[EHLO, MAIL, RCPT, b"NOOP\r\nNOOP\r\nQUIT\r\n"]),
    );
    proxy.assert_serves();
}

/// BDAT offered: a chunk that looks like commands is forwarded as the chunk, octet for
/// octet, and the command after it is a command.
#[test]
fn bdat_chunk_with_commands_stays_content() {
    let upstream = Upstream::start(|p| p.serve(FULL_CAPS));
    let proxy = Proxy::start(upstream.addr);
    let (mut c, ehlo) = Client::ehlo(proxy.addr);
    assert!(ehlo.contains("CHUNKING"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    c.exchanges(&[(MAIL, "250"), (RCPT, "250")]);
    let chunk: &[u8] =
        b"Subject: c\r\n\r\nx\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<e@x>\r\n.\r\nDATA\r\n\n.\n";
    let mut flight = format!("BDAT {}\r\n", chunk.len()).into_bytes();
    flight.extend_from_slice(chunk);
    flight.extend_from_slice(b"BDAT 3 LAST\r\n\r\n.");
    flight.extend_from_slice(b"NOOP\r\n");
    c.send(&flight);
    assert_eq!(c.reply(), format!("250 {} octets\r\n", chunk.len()));
    assert_eq!(c.reply(), "250 3 octets\r\n");
    assert_eq!(c.reply(), "250 ok NOOP\r\n");
    c.exchange(b"QUIT\r\n", "221");
    let seen = upstream.closed(0);
    let head = format!("BDAT {}\r\n", chunk.len());
    assert_bytes(
        &seen,
        &concat(&[
            EHLO,
            MAIL,
            RCPT,
            head.as_bytes(),
            chunk,
            b"BDAT 3 LAST\r\n\r\n.NOOP\r\nQUIT\r\n",
        ]),
    );
}

/// STARTTLS pipelined with commands behind it is answered by the proxy and the commands
/// go through; AUTH pipelined with commands: after its `334` the next line is the SASL
/// line (one that is not base64 is refused and the exchange cancelled upstream), and
/// after the exchange commands again; AUTH in the middle of a transaction is a command
/// like any other.
#[test]
fn starttls_and_auth_pipelined() {
    let upstream = Upstream::start(|p| p.serve(FULL_CAPS));
    let proxy = Proxy::start(upstream.addr);
    let (mut c, ehlo) = Client::ehlo(proxy.addr);
    assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
    c.send(b"STARTTLS\r\nNOOP\r\nSTARTTLS\r\n");
    assert_eq!(
        c.reply(),
        "502 5.5.1 Command not available through this proxy\r\n"
    );
    assert_eq!(c.reply(), "250 ok NOOP\r\n");
    assert_eq!(
        c.reply(),
        "502 5.5.1 Command not available through this proxy\r\n"
    );

    // The line after AUTH is its SASL line: not base64, refused here, `*` upstream.
    c.send(b"AUTH PLAIN\r\nMAIL FROM:<x@y>\r\nNOOP\r\n");
    assert_eq!(c.reply(), "334 \r\n");
    assert!(c.reply().starts_with("501 5.5.2"));
    assert_eq!(c.reply(), "250 ok NOOP\r\n");
    // A whole exchange pipelined with the command after it.
    c.send(b"AUTH PLAIN\r\nAGFsaWNlAHB3\r\nNOOP\r\n");
    assert_eq!(c.reply(), "334 \r\n");
    assert_eq!(c.reply(), "235 ok\r\n");
    assert_eq!(c.reply(), "250 ok NOOP\r\n");
    // AUTH in the middle of a transaction, with an initial response, then DATA.
    c.send(&concat(&[
        MAIL,
        RCPT,
        b"AUTH PLAIN AGFsaWNlAHB3\r\nDATA\r\n",
    ]));
    for code in ["250", "250", "235", "354"] {
        let r = c.reply();
        assert!(r.starts_with(code), "{r:?}");
    }
    c.exchange(b"body\r\n.\r\n", "250 queued");
    c.exchange(b"QUIT\r\n", "221");
    let seen = upstream.closed(0);
    assert_bytes(
        &seen,
        &concat(&[
            EHLO,
            b"NOOP\r\nAUTH PLAIN\r\n*\r\nNOOP\r\nAUTH PLAIN\r\nAGFsaWNlAHB3\r\nNOOP\r\n",
            MAIL,
            RCPT,
            b"AUTH PLAIN AGFsaWNlAHB3\r\nDATA\r\nbody\r\n.\r\nQUIT\r\n",
        ]),
    );
}

// ---------------------------------------------------------------------------------------
// From the upstream.

/// Replies ending in bare LF, split one octet at a time, a `354` to a command that is not
/// DATA: the client gets each as a well-formed CRLF reply, and the input after the `354`
/// is still read as commands.
#[test]
fn upstream_bare_lf_split_and_stray_354() {
    let upstream = Upstream::start(|p| {
        p.send_slowly(b"220-up\n220 ESMTP\r\n", Duration::from_millis(1));
        p.expect("EHLO");
        p.send(b"250-up\n250-PIPELINING\n250 CHUNKING\n");
        p.expect("MAIL");
        p.send(b"354 go ahead\n");
        p.expect("RCPT");
        p.send_slowly(
            b"250-o\rne\x1b[2J\r\n250 two\x07\r\n",
            Duration::from_millis(1),
        );
        p.quit();
    });
    let proxy = Proxy::start(upstream.addr);
    let mut c = Client::connect(proxy.addr);
    assert_eq!(c.reply(), "220-up\r\n220 ESMTP\r\n");
    assert_eq!(
        c.exchange(EHLO, "250"),
        "250-up\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
    );
    assert_eq!(c.exchange(MAIL, "354"), "354 go ahead\r\n");
    // Content after the stray 354 is commands: refused here, never forwarded.
    c.send(b"Subject: x\r\n.\r\n");
    assert!(c.reply().starts_with("500"));
    assert!(c.reply().starts_with("500"));
    // Bare CR and control characters inside a line: spaces.
    assert_eq!(c.exchange(RCPT, "250"), "250-o ne [2J\r\n250 two \r\n");
    c.exchange(b"QUIT\r\n", "221");
    assert_bytes(
        &upstream.closed(0),
        &concat(&[EHLO, MAIL, RCPT, b"QUIT\r\n"]),
    );
    proxy.assert_serves();
}

/// Replies the upstream sends before any command, and lines after the final line of the
/// EHLO reply: relayed as parsed replies, in order; what the extra lines offer is not
/// taken as offered (a BDAT is still refused, its chunk discarded); the reply to the next
/// command still goes with it.
#[test]
fn upstream_unsolicited_replies() {
    let upstream = Upstream::start(|p| {
        p.send(b"220 up\r\n250 surprise\r\n");
        p.expect("EHLO");
        p.send(b"250 up\r\n250-CHUNKING\r\n250 AUTH PLAIN\r\n");
        p.expect("NOOP");
        p.send(b"250 ok\r\n");
        p.quit();
    });
    let proxy = Proxy::start(upstream.addr);
    let mut c = Client::connect(proxy.addr);
    assert_eq!(c.reply(), "220 up\r\n");
    assert_eq!(c.reply(), "250 surprise\r\n");
    assert_eq!(c.exchange(EHLO, "250"), "250 up\r\n");
    assert_eq!(c.reply(), "250-CHUNKING\r\n250 AUTH PLAIN\r\n");
    c.send(b"BDAT 6 LAST\r\nRSET\r\nAUTH PLAIN\r\n");
    assert_eq!(c.reply(), "502 5.5.1 Command not implemented\r\n");
    assert_eq!(c.reply(), "502 5.5.1 Command not implemented\r\n");
    c.exchange(b"NOOP\r\n", "250 ok");
    c.exchange(b"QUIT\r\n", "221");
    assert_bytes(&upstream.closed(0), &concat(&[EHLO, b"NOOP\r\nQUIT\r\n"]));
}

/// Commands pipelined behind EHLO, DATA or AUTH wait for its reply, which decides how they
/// are read: a BDAT behind EHLO is forwarded with its chunk only when the reply offers
/// CHUNKING; the lines behind DATA are content after `354` and commands after `554`; the
/// line behind AUTH is its SASL line after `334` and a command after `535`.
#[test]
fn input_behind_a_deciding_command_waits_for_its_reply() {
    for caps in [FULL_CAPS, PLAIN_CAPS] {
        let upstream = Upstream::start(move |p| p.serve(caps));
        let proxy = Proxy::start(upstream.addr);
        let mut c = Client::connect(proxy.addr);
        c.reply();
        c.send(b"EHLO client.test\r\nBDAT 6 LAST\r\nRSET\r\nNOOP\r\n");
        c.reply();
        let bdat = c.reply();
        assert_eq!(c.reply(), "250 ok NOOP\r\n");
        c.exchange(b"QUIT\r\n", "221");
        let seen = upstream.closed(0);
        if caps == FULL_CAPS {
            assert_eq!(bdat, "250 6 octets\r\n");
            assert_bytes(
                &seen,
                b"EHLO client.test\r\nBDAT 6 LAST\r\nRSET\r\nNOOP\r\nQUIT\r\n",
            );
        } else {
            assert_eq!(bdat, "502 5.5.1 Command not implemented\r\n");
            assert_bytes(&seen, b"EHLO client.test\r\nNOOP\r\nQUIT\r\n");
        }
    }

    let upstream = Upstream::start(|p| {
        p.hello(FULL_CAPS);
        p.expect("DATA");
        p.send(b"554 no valid recipients\r\n");
        p.expect("MAIL");
        p.send(b"250 ok\r\n");
        p.expect("DATA");
        p.send(b"354 go\r\n");
        p.until(b"\r\n.\r\n");
        p.send(b"250 queued\r\n");
        p.expect("AUTH");
        p.send(b"535 no\r\n");
        p.expect("MAIL");
        p.send(b"250 ok\r\n");
        p.expect("AUTH");
        p.send(b"334 \r\n");
        p.expect("TUFJTA==");
        p.send(b"235 ok\r\n");
        p.quit();
    });
    let proxy = Proxy::start(upstream.addr);
    let (mut c, _) = Client::ehlo(proxy.addr);
    c.send(&concat(&[b"DATA\r\n", MAIL, b"DATA\r\n", MAIL, b".\r\n"]));
    assert!(c.reply().starts_with("554"));
    assert!(c.reply().starts_with("250"));
    assert!(c.reply().starts_with("354"));
    assert!(c.reply().starts_with("250 queued"));
    c.send(&concat(&[
        b"AUTH PLAIN\r\n",
        MAIL,
        b"AUTH PLAIN\r\nTUFJTA==\r\n",
    ]));
    for code in ["535", "250", "334", "235"] {
        let r = c.reply();
        assert!(r.starts_with(code), "{r:?}");
    }
    c.exchange(b"QUIT\r\n", "221");
    assert_bytes(
        &upstream.closed(0),
        &concat(&[
            EHLO,
            b"DATA\r\n",
            MAIL,
            b"DATA\r\n",
            MAIL,
            b".\r\nAUTH PLAIN\r\n",
            MAIL,
            b"AUTH PLAIN\r\nTUFJTA==\r\nQUIT\r\n",
        ]),
    );
}

/// A reply the proxy cannot parse ends the session with `421` and nothing of the bad
/// reply: extra text after a final line, a multi-line reply with mixed codes, an endless
/// multi-line reply, a 100 KiB line without a line end. Memory stays bounded and the
/// proxy goes on serving.
#[test]
fn upstream_malformed_replies_end_the_session() {
    // What the upstream sends after EHLO, by connection.
    const CASES: &[&[u8]] = &[
        b"250 up\r\nEXTRA after the final line\r\n",
        b"250-up\r\n251-mixed\r\n250 CHUNKING\r\n",
        b"", // endless
        b"", // 100 KiB without CRLF
    ];
    let n = AtomicUsize::new(0);
    let upstream = Upstream::start(move |p| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        p.send(b"220 up\r\n");
        p.expect("EHLO");
        match i {
            0 | 1 => p.send(CASES[i]),
            2 => {
                let line = format!("250-{}\r\n", "x".repeat(400));
                // Until the proxy stops reading (16 MiB at most).
                for _ in 0..(16 << 20) / line.len() {
                    if p.stream().write_all(line.as_bytes()).is_err() {
                        break;
                    }
                }
            }
            _ => {
                let _ = p.stream().write_all(b"250 ");
                let _ = p.stream().write_all(&vec![b'y'; 100 << 10]);
            }
        }
    });
    let proxy = Proxy::start(upstream.addr);
    for i in 0..CASES.len() {
        let mut c = Client::connect(proxy.addr);
        assert_eq!(c.reply(), "220 up\r\n");
        c.send(EHLO);
        let mut got = Vec::new();
        if i == 0 {
            // The final line came first, and was relayed.
            assert_eq!(c.reply(), "250 up\r\n");
        }
        got.extend_from_slice(&c.rest());
        assert_bytes(&got, b"421 4.3.0 Upstream error\r\n");
        proxy.assert_rss_bounded(&format!("case {i}"));
        upstream.closed(i);
    }
    proxy.assert_serves();
}

/// A client that pipelines thousands of commands and never reads a reply: the proxy
/// forwards at most [`MAX_QUEUED`] (and one) commands ahead of the upstream's replies,
/// its memory stays bounded, and it serves other clients meanwhile.
#[test]
fn pipelined_flood_without_reading() {
    let upstream = Upstream::start(|p| {
        p.send(b"220 up\r\n");
        p.expect("EHLO");
        p.send(&ehlo_reply(PLAIN_CAPS));
        // Nothing answered for a while: what arrives is all the proxy sends ahead.
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(800) {
            p.stream()
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            p.fill();
        }
        p.stream().set_read_timeout(Some(WAIT)).unwrap();
        let ahead = count(&p.pending, b"\r\n");
        p.send(format!("250 ahead {ahead}\r\n").as_bytes());
        // Then each NOOP answered as it comes.
        while let Some(l) = p.line() {
            if l == "QUIT" {
                return;
            }
            p.send(b"250 ok\r\n");
        }
    });
    let proxy = Proxy::start(upstream.addr);
    let (c, _) = Client::ehlo(proxy.addr);
    let mut out = c.out.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let flood = b"NOOP\r\n".repeat(20_000);
        let _ = out.write_all(&flood);
    });
    std::thread::sleep(Duration::from_millis(300));
    proxy.assert_rss_bounded("flood");
    std::thread::sleep(Duration::from_millis(1200));
    proxy.assert_rss_bounded("flood, replies flowing");
    // The greeting's and EHLO's replies were read; the first NOOP's says how many
    // commands the upstream had received before it answered any.
    let mut c = c;
    let first = c.reply();
    let ahead: usize = first
        .strip_prefix("250 ahead ")
        .and_then(|n| n.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("{first:?}"));
    assert!(
        (2..=MAX_QUEUED + 1).contains(&ahead),
        "{ahead} commands forwarded before any reply"
    );
    // Every later reply is the upstream's, in order.
    for _ in 0..100 {
        assert_eq!(c.reply(), "250 ok\r\n");
    }
    // Both ends of the socket, so that the writer's blocked write fails too.
    c.out.shutdown(Shutdown::Both).unwrap();
    drop(c);
    writer.join().unwrap();
    proxy.assert_serves();
}

/// The upstream closes in the middle of DATA content, in the middle of a reply, or
/// cannot be reached: the client's connection ends (after a `421` where the proxy says
/// anything), never with part of a reply, and the proxy serves the next client.
#[test]
fn upstream_gone() {
    let n = AtomicUsize::new(0);
    let upstream = Upstream::start(move |p| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        p.hello(PLAIN_CAPS);
        if i == 0 {
            p.expect("MAIL");
            p.send(b"250 ok\r\n");
            p.expect("RCPT");
            p.send(b"250 ok\r\n");
            p.expect("DATA");
            p.send(b"354 go\r\n");
            p.until(b"half");
            p.close();
        } else {
            p.expect("NOOP");
            p.send(b"250-partial\r\n250-rep");
            std::thread::sleep(Duration::from_millis(100));
            p.close();
        }
    });
    let proxy = Proxy::start(upstream.addr);

    // Mid-DATA.
    let (mut c, _) = Client::ehlo(proxy.addr);
    c.exchanges(&[(MAIL, "250"), (RCPT, "250"), (b"DATA\r\n", "354")]);
    c.send(b"Subject: x\r\n\r\nfirst half\r\n");
    let rest = c.rest();
    assert!(
        rest.is_empty() || rest == b"421 4.4.2 Upstream connection lost\r\n",
        "{}",
        rest.escape_ascii()
    );
    upstream.closed(0);

    // Mid-reply: nothing of the partial reply reaches the client.
    let (mut c, _) = Client::ehlo(proxy.addr);
    c.send(b"NOOP\r\n");
    let rest = c.rest();
    assert!(
        rest.is_empty() || rest.starts_with(b"421 "),
        "{}",
        rest.escape_ascii()
    );
    assert!(!rest.windows(7).any(|w| w == b"partial"));
    upstream.closed(1);
    proxy.assert_serves();

    // Unreachable: a port nothing listens on.
    let dead: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let proxy = Proxy::start(dead);
    for _ in 0..2 {
        let mut c = Client::connect(proxy.addr);
        assert_bytes(&c.rest(), b"421 4.4.1 Upstream unreachable\r\n");
    }
}

/// The client closes in the middle of DATA content, however near its end: the upstream
/// never sees the end of data (or anything after the content so far), and its connection
/// is closed at once.
#[test]
fn client_gone_mid_data_is_never_completed() {
    let upstream = Upstream::start(|p| p.serve(PLAIN_CAPS));
    let proxy = Proxy::start(upstream.addr);
    let tails: &[&[u8]] = &[b"", b"\r\n", b"\r\n.", b"\r\n.\r", b"\n.\n", b"\r\n.\n"];
    for (i, tail) in tails.iter().enumerate() {
        let (mut c, _) = Client::ehlo(proxy.addr);
        c.exchanges(&[(MAIL, "250"), (RCPT, "250"), (b"DATA\r\n", "354")]);
        c.send(b"Subject: cut\r\n\r\nbody");
        c.send(tail);
        if i % 2 == 0 {
            drop(c);
        } else {
            // Half-closed: the client still reads.
            c.out.shutdown(Shutdown::Write).unwrap();
            let rest = c.rest();
            assert!(!rest.starts_with(b"250"), "{}", rest.escape_ascii());
        }
        let seen = upstream.closed(i);
        let content = &seen[find(&seen, b"DATA\r\n").expect("DATA") + 6..];
        assert!(
            !content.ends_with(b"\r\n.\r\n") && find(content, b"\r\n.\r\n").is_none(),
            "tail {}: the upstream got {}",
            tail.escape_ascii(),
            content.escape_ascii()
        );
        assert!(content.starts_with(b"Subject: cut\r\n\r\nbody"));
    }
    assert_eq!(upstream.count(), tails.len());
    proxy.assert_serves();
}

/// The client closes in the middle of a BDAT chunk (offered upstream) or of an XEXCH50
/// blob: it can never be whole, so no reply will come; the proxy closes the upstream
/// connection at once instead of holding both until its `--timeout`.
#[test]
fn client_gone_mid_chunk_ends_the_session() {
    let upstream = Upstream::start(|p| p.serve(FULL_CAPS));
    let proxy = Proxy::start(upstream.addr);
    for (i, last) in ["", " LAST"].iter().enumerate() {
        let (mut c, _) = Client::ehlo(proxy.addr);
        c.exchanges(&[(MAIL, "250"), (RCPT, "250")]);
        c.send(format!("BDAT 100{last}\r\nSubject: cut\r\n\r\nbody\r\n").as_bytes());
        std::thread::sleep(Duration::from_millis(50));
        drop(c);
        let seen = upstream.closed(i);
        let head = format!("BDAT 100{last}\r\n");
        assert_bytes(
            &seen,
            &concat(&[
                EHLO,
                MAIL,
                RCPT,
                head.as_bytes(),
                b"Subject: cut\r\n\r\nbody\r\n",
            ]),
        );
    }
    proxy.assert_serves();

    // An XEXCH50 blob, likewise.
    let upstream = Upstream::start(|p| {
        p.hello(&["up", "PIPELINING", "XEXCH50"]);
        p.expect("XEXCH50 100 2");
        p.send(b"354 send binary\r\n");
    });
    let proxy = Proxy::start(upstream.addr);
    let (mut c, _) = Client::ehlo(proxy.addr);
    c.exchange(b"XEXCH50 100 2\r\n", "354");
    c.send(b"blob\r\n.\r\n");
    std::thread::sleep(Duration::from_millis(50));
    drop(c);
    assert_bytes(
        &upstream.closed(0),
        &concat(&[EHLO, b"XEXCH50 100 2\r\nblob\r\n.\r\n"]),
    );
}

/// A bare CR inside a command line (which some servers take as a line end) never reaches
/// the upstream: such a line is refused by the proxy, whatever its verb; a bare LF ends a
/// line, and the proxy writes it as CRLF.
#[test]
fn bare_cr_in_command_lines_is_never_forwarded() {
    let upstream = Upstream::start(|p| p.serve(PLAIN_CAPS));
    let proxy = Proxy::start(upstream.addr);
    let (mut c, _) = Client::ehlo(proxy.addr);
    c.send(b"XFOO a\rRSET\r\nNOOP a\rRSET\r\nMAIL FROM:<a@b.test>\rRCPT TO:<c@d.test>\r\n");
    for _ in 0..3 {
        let r = c.reply();
        assert!(r.starts_with('5'), "{r:?}");
    }
    c.send(b"XFOO a b\nNOOP\n");
    assert_eq!(c.reply(), "250 ok XFOO\r\n");
    assert_eq!(c.reply(), "250 ok NOOP\r\n");
    c.exchange(b"QUIT\r\n", "221");
    assert_bytes(
        &upstream.closed(0),
        &concat(&[EHLO, b"XFOO a b\r\nNOOP\r\nQUIT\r\n"]),
    );
}
