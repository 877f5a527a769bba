//! The `smtp-proxy` example in front of the `smtp-server` example, each on a free loopback
//! port with the server's own Maildir: a message through the proxy (swaks, skipped when it
//! is not installed) is stored byte for byte; a smuggling attempt through it stays one
//! message; malformed lines are answered by the proxy itself and the session goes on.
//! In front of a scripted fake upstream on a loopback port: BDAT, XEXCH50, AUTH and X-EXPS
//! the upstream did not offer are answered by the proxy and nothing of a BDAT chunk reaches
//! it; an XEXCH50 blob's reply is awaited before the next command; a flood of bad lines
//! behind a slow reply ends in `421` with bounded memory and log. A client that never
//! reads is dropped after `--timeout`.

mod peer_support;

use peer_support::{example, free_port, run, split_trace, start_listening, ExampleServer, Guard};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

const MAIL: &[u8] = b"MAIL FROM:<a@example.test>\r\n";
const RCPT: &[u8] = b"RCPT TO:<b@example.test>\r\n";

/// How long a raw client waits for one reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The proxy on a free port, forwarding to `server`; logs at debug level.
fn start_proxy(server: &ExampleServer) -> (SocketAddr, Guard) {
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut cmd = Command::new(example("smtp-proxy"));
    cmd.arg("--listen")
        .arg(addr.to_string())
        .arg("--upstream")
        .arg(server.addr.to_string())
        .env("RUST_LOG", "debug");
    let guard = start_listening(cmd, addr, server.dir.path().join("proxy.log"));
    (addr, guard)
}

/// A raw client: sends bytes as given, reads whole replies.
struct Raw {
    out: TcpStream,
    input: BufReader<TcpStream>,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let out = TcpStream::connect(addr).expect("connect");
        out.set_read_timeout(Some(REPLY_TIMEOUT)).expect("timeout");
        let input = BufReader::new(out.try_clone().expect("clone"));
        Raw { out, input }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.out.write_all(bytes).expect("write");
    }

    /// The next reply, all its lines (CRLF kept).
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = self.input.read_line(&mut line).expect("read reply");
            assert!(n > 0, "connection closed; so far: {all:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    /// Connects, reads the greeting and sends EHLO; returns the EHLO reply.
    fn ehlo(addr: SocketAddr) -> (Raw, String) {
        let mut c = Raw::connect(addr);
        c.reply(); // 220
        let ehlo = c.exchange(b"EHLO client.test\r\n", "250");
        (c, ehlo)
    }

    /// [`Raw::exchange`] for each step in turn.
    fn exchanges(&mut self, steps: &[(&[u8], &str)]) {
        for (bytes, code) in steps {
            self.exchange(bytes, code);
        }
    }

    /// Sends `bytes` and asserts the reply starts with `code`; returns it.
    fn exchange(&mut self, bytes: &[u8], code: &str) -> String {
        self.send(bytes);
        let r = self.reply();
        assert!(
            r.starts_with(code),
            "{:?}: {r:?}",
            bytes.escape_ascii().to_string()
        );
        r
    }
}

/// Bare CR and bare LF as CRLF: what the proxy's data encoder writes.
fn crlf_normalized(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[test]
fn swaks_through_proxy_dot_lines_pipelined() {
    require_peer!("swaks");
    let server = ExampleServer::start(&[]);
    let (proxy, _guard) = start_proxy(&server);
    let body: &[u8] =
        b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n. \r\n.\tx\r\n...\r\n.\r\nend";
    let data = server.file("m.eml", body);
    let out = run(
        Command::new("swaks")
            .arg("--server")
            .arg(proxy.to_string())
            .args(["--helo", "client.test", "--timeout", "30", "--pipeline"])
            .args(["--from", "a@example.test", "--to", "b@example.test"])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        peer_support::PEER_TIMEOUT,
    )
    .ok();
    assert!(!out.stdout.contains("STARTTLS"), "{}", out.all());
    let msg = server.only_message();
    let stored = split_trace(&msg);
    assert_eq!(stored.return_path, "<a@example.test>");
    let mut expected = body.to_vec();
    expected.extend_from_slice(b"\r\n"); // swaks ends the data with CRLF "." CRLF
    assert_eq!(
        String::from_utf8_lossy(stored.content),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(stored.content, expected);
}

#[test]
fn smuggling_through_proxy_stays_one_message() {
    let server = ExampleServer::start(&[]);
    let (proxy, guard) = start_proxy(&server);
    let (mut c, _) = Raw::ehlo(proxy);
    c.exchanges(&[(MAIL, "250"), (RCPT, "250"), (b"DATA\r\n", "354")]);
    let content: &[u8] = b"Subject: smuggling\r\n\r\nhello\n.\nMAIL FROM:<evil@x>\r\n\
        RCPT TO:<y@z>\r\nDATA\r\nsmuggled 1\r.\r\nMAIL FROM:<evil2@x>\r\nRCPT TO:<y@z>\r\n\
        DATA\r\nsmuggled 2\n.\r\nRSET\r\nsmuggled 3\r\n.\nQUIT\r\nend\r\n";
    c.send(content);
    // Nothing above ended the message: the proxy forwards nothing yet, so no reply comes.
    c.out
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut early = String::new();
    assert!(
        c.input.read_line(&mut early).is_err(),
        "reply before the end of data: {early:?}"
    );
    c.out.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    c.exchange(b".\r\n", "250");
    c.exchange(b"QUIT\r\n", "221");

    let msg = server.only_message();
    let stored = split_trace(&msg);
    assert_eq!(stored.return_path, "<a@example.test>");
    // `LF . LF` and `CR . CR LF` arrive as content: CRLF-normalized by the proxy's encoder,
    // dot-stuffed, and unstuffed by the server; `LF . CR LF` likewise. `CR LF . LF` is a
    // line `.` LF to the decoder: its dot is unstuffed (RFC 5321 4.5.2), as a server does.
    let mut expected = crlf_normalized(content);
    let at = expected
        .windows(b"3\r\n.\r\nQUIT".len())
        .position(|w| w == b"3\r\n.\r\nQUIT")
        .expect("marker");
    expected.remove(at + 3);
    assert_eq!(
        String::from_utf8_lossy(stored.content),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(server.messages().len(), 1);
    assert!(guard.log().contains("octets of content"), "{}", guard.log());
}

#[test]
fn malformed_lines_answered_by_proxy_and_no_starttls() {
    // The upstream offers STARTTLS; the proxy must not.
    let server = ExampleServer::start(&["--tls-self-signed"]);
    let (proxy, guard) = start_proxy(&server);
    let (mut c, ehlo) = Raw::ehlo(proxy);
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(ehlo.contains("PIPELINING"), "{ehlo}");
    c.exchange(b"STARTTLS\r\n", "502 5.5.1");

    // A NUL in the line, an over-long line, pipelined between two good commands: the
    // replies come in order, the bad lines' from the proxy.
    let mut flight = b"NOOP\r\nNOOP a\0b\r\nNOOP ".to_vec();
    flight.extend_from_slice(&[b'x'; 2000]);
    flight.extend_from_slice(b"\r\n");
    flight.extend_from_slice(MAIL);
    c.send(&flight);
    assert!(c.reply().starts_with("250"));
    let nul = c.reply();
    assert!(nul.starts_with("50"), "{nul:?}");
    assert_eq!(c.reply(), "500 5.5.2 Line too long\r\n");
    assert!(c.reply().starts_with("250"));

    // The session goes on: a message still gets through.
    c.exchanges(&[
        (RCPT, "250"),
        (b"DATA\r\n", "354"),
        (b"Subject: after\r\n\r\nstill here\r\n.\r\n", "250"),
        (b"QUIT\r\n", "221"),
    ]);
    let msg = server.only_message();
    assert_eq!(
        split_trace(&msg).content,
        b"Subject: after\r\n\r\nstill here\r\n"
    );
    // The bad lines never reached the upstream: the proxy refused them.
    let log = guard.log();
    assert_eq!(log.matches("client: line longer than").count(), 1, "{log}");
    assert_eq!(log.matches("NOOP a").count(), 0, "{log}");
}

#[test]
fn auth_and_bdat_through_proxy() {
    let server = ExampleServer::start(&["--user", "alice:s3cret pass", "--allow-plaintext-auth"]);
    let (proxy, guard) = start_proxy(&server);
    let (mut c, ehlo) = Raw::ehlo(proxy);
    assert!(ehlo.contains("CHUNKING") && ehlo.contains("AUTH"), "{ehlo}");

    // A SASL line that is not base64: refused by the proxy, which cancels the exchange
    // upstream and does not relay the upstream's answer to the cancel.
    c.exchanges(&[
        (b"AUTH LOGIN\r\n", "334"),
        (b"not base64!\r\n", "501 5.5.2"),
    ]);
    // A whole exchange: the continuation lines go through as SASL lines.
    c.exchanges(&[
        (b"AUTH LOGIN\r\n", "334"),
        (b"YWxpY2U=\r\n", "334"),
        (b"czNjcmV0IHBhc3M=\r\n", "235"),
    ]);
    // BDAT chunks are exact-size content, even where they look like commands.
    c.exchanges(&[
        (MAIL, "250"),
        (RCPT, "250"),
        (b"BDAT 23\r\nSubject: c\r\n\r\nRSET\r\n.\r\n", "250"),
        (b"BDAT 0\r\n", "250"),
        (b"BDAT 11 LAST\r\nQUIT\r\nend\r\n", "250"),
        (b"QUIT\r\n", "221"),
    ]);
    let msg = server.only_message();
    assert_eq!(
        String::from_utf8_lossy(split_trace(&msg).content),
        "Subject: c\r\n\r\nRSET\r\n.\r\nQUIT\r\nend\r\n"
    );
    // Neither the credentials nor the SASL lines are logged.
    let log = guard.log();
    assert!(
        !log.contains("YWxpY2U") && !log.contains("czNjcmV0"),
        "{log}"
    );
    assert!(log.contains("<SASL line>"), "{log}");
}

/// How a [`FakeUpstream`] behaves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UpstreamMode {
    /// EHLO without CHUNKING; an unknown verb (BDAT) gets 500 and what follows is commands.
    NoChunk,
    /// Offers XEXCH50: `XEXCH50 n m` gets 354, then `n` octets are read and get 250.
    Exch,
    /// NOOP is answered after a second.
    Slow,
}

/// What a [`FakeUpstream`] received: each command line, each XEXCH50 blob, each message.
#[derive(Default, Debug)]
struct Received {
    commands: Vec<String>,
    blobs: Vec<Vec<u8>>,
    messages: Vec<Vec<u8>>,
}

/// A scripted line-based SMTP server on a loopback port, one thread per connection, that
/// reads what follows a command as a plain server would (a BDAT it does not know is
/// followed by commands).
struct FakeUpstream {
    addr: SocketAddr,
    received: std::sync::Arc<std::sync::Mutex<Received>>,
}

impl FakeUpstream {
    fn start(mode: UpstreamMode) -> FakeUpstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let received = std::sync::Arc::default();
        let shared = std::sync::Arc::clone(&received);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let shared = std::sync::Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = FakeUpstream::serve(conn, mode, &shared);
                });
            }
        });
        FakeUpstream { addr, received }
    }

    fn serve(
        conn: TcpStream,
        mode: UpstreamMode,
        received: &std::sync::Mutex<Received>,
    ) -> std::io::Result<()> {
        use std::io::Read;
        conn.set_read_timeout(Some(peer_support::PEER_TIMEOUT))?;
        let mut out = conn.try_clone()?;
        let mut input = BufReader::new(conn);
        out.write_all(b"220 up ESMTP\r\n")?;
        loop {
            let mut line = Vec::new();
            if input.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            let line = String::from_utf8_lossy(&line).trim_end().to_string();
            received.lock().unwrap().commands.push(line.clone());
            let verb = line
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            match verb.as_str() {
                "EHLO" => {
                    let mut caps = vec!["up", "PIPELINING", "8BITMIME"];
                    if mode == UpstreamMode::Exch {
                        caps.push("XEXCH50");
                    }
                    caps.push("STARTTLS");
                    let last = caps.pop().unwrap();
                    for c in caps {
                        write!(out, "250-{c}\r\n")?;
                    }
                    write!(out, "250 {last}\r\n")?;
                }
                "XEXCH50" if mode == UpstreamMode::Exch => {
                    let n: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
                    out.write_all(b"354 send binary\r\n")?;
                    let mut blob = vec![0; n];
                    input.read_exact(&mut blob)?;
                    received.lock().unwrap().blobs.push(blob);
                    out.write_all(b"250 XEXCH50 OK\r\n")?;
                }
                "DATA" => {
                    out.write_all(b"354 go\r\n")?;
                    let mut msg = Vec::new();
                    loop {
                        let mut l = Vec::new();
                        if input.read_until(b'\n', &mut l)? == 0 {
                            return Ok(());
                        }
                        if l == b".\r\n" {
                            break;
                        }
                        msg.extend_from_slice(&l);
                    }
                    received.lock().unwrap().messages.push(msg);
                    out.write_all(b"250 queued\r\n")?;
                }
                "NOOP" if mode == UpstreamMode::Slow => {
                    std::thread::sleep(Duration::from_secs(1));
                    out.write_all(b"250 ok\r\n")?;
                }
                "QUIT" => {
                    out.write_all(b"221 bye\r\n")?;
                    return Ok(());
                }
                "MAIL" | "RCPT" | "RSET" | "NOOP" | "STARTTLS" | "HELO" | "TURN" => {
                    write!(out, "250 ok {verb}\r\n")?;
                }
                _ => write!(out, "500 unknown {verb}\r\n")?,
            }
        }
    }

    fn commands(&self) -> Vec<String> {
        self.received.lock().unwrap().commands.clone()
    }
}

/// The proxy on a free port, forwarding to a fake upstream; logs at debug level to `log`.
fn start_proxy_to(upstream: &FakeUpstream, dir: &tempfile::TempDir) -> (SocketAddr, Guard) {
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut cmd = Command::new(example("smtp-proxy"));
    cmd.arg("--listen")
        .arg(addr.to_string())
        .arg("--upstream")
        .arg(upstream.addr.to_string())
        .env("RUST_LOG", "debug");
    let guard = start_listening(cmd, addr, dir.path().join("proxy.log"));
    (addr, guard)
}

/// Waits (bounded) until the upstream has seen `n` command lines.
fn wait_commands(upstream: &FakeUpstream, n: usize) -> Vec<String> {
    let start = std::time::Instant::now();
    loop {
        let cmds = upstream.commands();
        if cmds.len() >= n || start.elapsed() > REPLY_TIMEOUT {
            return cmds;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bdat_and_friends_not_offered_are_refused_by_proxy() {
    let upstream = FakeUpstream::start(UpstreamMode::NoChunk);
    let dir = tempfile::tempdir().unwrap();
    let (proxy, guard) = start_proxy_to(&upstream, &dir);

    // Before any EHLO the upstream offered nothing: BDAT is answered here, its chunk
    // discarded; the command after it goes through.
    let mut c = Raw::connect(proxy);
    c.reply(); // 220
    c.send(b"BDAT 6\r\nRSET\r\nNOOP\r\n");
    assert!(c.reply().starts_with("502 5.5.1"));
    assert!(c.reply().starts_with("250 ok NOOP"));
    c.exchange(b"QUIT\r\n", "221");
    drop(c);
    assert_eq!(wait_commands(&upstream, 2), ["NOOP", "QUIT"]);

    // After EHLO without CHUNKING: the reviewer's chunk of commands never reaches it.
    let (mut c, ehlo) = Raw::ehlo(proxy);
    assert!(
        !ehlo.contains("CHUNKING") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    let chunk: &[u8] = b"STARTTLS\r\nMAIL FROM:<x>\n.\r\nTURN\r\n";
    let mut flight = format!("BDAT {}\r\n", chunk.len()).into_bytes();
    flight.extend_from_slice(chunk);
    flight.extend_from_slice(b"NOOP\r\n");
    c.send(&flight);
    assert!(c.reply().starts_with("502 5.5.1"));
    assert!(c.reply().starts_with("250 ok NOOP"));
    // A chunk split across writes is discarded too.
    c.send(b"BDAT 12 LAST\r\nRSET\r\n");
    std::thread::sleep(Duration::from_millis(100));
    c.send(b"TURN\r\n");
    assert!(c.reply().starts_with("502 5.5.1"));
    c.exchanges(&[
        (b"NOOP\r\n", "250 ok NOOP"),
        (b"XEXCH50 4 2\r\n", "502 5.5.1"),
        (b"AUTH PLAIN\r\n", "502 5.5.1"),
        (b"X-EXPS GSSAPI\r\n", "502 5.5.1"),
    ]);
    // After HELO nothing is offered either.
    c.exchange(b"HELO client.test\r\n", "250");
    c.exchange(b"BDAT 6\r\nRSET\r\n", "502 5.5.1");
    c.exchange(b"QUIT\r\n", "221");
    let cmds = wait_commands(&upstream, 8);
    assert_eq!(
        cmds,
        [
            "NOOP",
            "QUIT",
            "EHLO client.test",
            "NOOP",
            "NOOP",
            "HELO client.test",
            "QUIT"
        ],
        "{}",
        guard.log()
    );
}

#[test]
fn xexch50_blob_reply_is_awaited() {
    let upstream = FakeUpstream::start(UpstreamMode::Exch);
    let dir = tempfile::tempdir().unwrap();
    let (proxy, guard) = start_proxy_to(&upstream, &dir);
    let (mut c, ehlo) = Raw::ehlo(proxy);
    assert!(ehlo.contains("XEXCH50"), "{ehlo}");
    c.exchanges(&[(MAIL, "250"), (RCPT, "250"), (b"XEXCH50 6 2\r\n", "354")]);
    // The blob (which looks like a command) and DATA in one write: the blob's 250, then
    // DATA's 354, each for its own.
    c.send(b"RSET\r\nDATA\r\n");
    assert!(c.reply().starts_with("250 XEXCH50 OK"), "{}", guard.log());
    assert!(c.reply().starts_with("354"), "{}", guard.log());
    c.exchange(b"Subject: x\r\n\r\nbody\r\n.\r\n", "250 queued");
    c.exchange(b"QUIT\r\n", "221");
    wait_commands(&upstream, 6);
    let got = upstream.received.lock().unwrap();
    assert_eq!(
        got.commands,
        [
            "EHLO client.test",
            "MAIL FROM:<a@example.test>",
            "RCPT TO:<b@example.test>",
            "XEXCH50 6 2",
            "DATA",
            "QUIT"
        ]
    );
    assert_eq!(got.blobs, [b"RSET\r\n".to_vec()]);
    assert_eq!(got.messages, [b"Subject: x\r\n\r\nbody\r\n".to_vec()]);
}

#[test]
fn refused_line_flood_is_bounded_and_closed() {
    let upstream = FakeUpstream::start(UpstreamMode::Slow);
    let dir = tempfile::tempdir().unwrap();
    let (proxy, guard) = start_proxy_to(&upstream, &dir);
    let (mut c, _) = Raw::ehlo(proxy);
    // A NOOP the upstream is slow to answer, then a flood of bad lines behind it.
    let mut out = c.out.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = out.write_all(b"NOOP\r\n");
        let _ = out.write_all(&vec![b'\n'; 4 << 20]);
    });
    assert!(c.reply().starts_with("250 ok"));
    for i in 0..20 {
        let r = c.reply();
        assert!(r.starts_with('5'), "{i}: {r:?}");
    }
    assert_eq!(c.reply(), "421 4.7.0 Too many errors\r\n");
    let mut rest = String::new();
    // Closed: end of file, or a reset for the flood the proxy did not read.
    match c.input.read_line(&mut rest) {
        Ok(n) => assert_eq!(n, 0, "{rest:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    writer.join().unwrap();
    // The upstream saw only the good commands, and the log stayed small.
    assert_eq!(upstream.commands(), ["EHLO client.test", "NOOP"]);
    let log = guard.log();
    assert!(log.len() < 64 << 10, "{} bytes of log", log.len());
    assert!(!log.contains("WARN"), "{log}");
}

/// A client that sends commands and never reads their replies: once the proxy can write
/// nothing more to it for `--timeout` seconds, the session ends (both sockets closed), as
/// for a client that stops writing; it used to wait in the write forever.
#[test]
fn a_client_that_never_reads_is_dropped_after_the_timeout() {
    use std::io::Read;
    let server = ExampleServer::start(&[]);
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut cmd = Command::new(example("smtp-proxy"));
    cmd.arg("--listen")
        .arg(addr.to_string())
        .arg("--upstream")
        .arg(server.addr.to_string())
        .args(["--timeout", "2"])
        .env("RUST_LOG", "info");
    let guard = start_listening(cmd, addr, server.dir.path().join("proxy.log"));
    // A small receive buffer, so that the replies soon fill it.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let client: TcpStream = socket.into();
    // Each EHLO (8 octets) gets the server's whole EHLO reply: megabytes of replies.
    let mut out = client.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = out.write_all(&b"EHLO x\r\n".repeat(30_000));
    });
    // The proxy gives up on the write while the client still reads nothing.
    let start = std::time::Instant::now();
    while !guard.log().contains("write to client") {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the proxy still waits to write\n{}",
            guard.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The client then reads what the proxy wrote before, and the end.
    let mut input = client;
    input.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    let mut buf = vec![0; 64 << 10];
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
                break;
            }
        }
    }
    writer.join().unwrap();
}

/// Out of file descriptors, the proxy cannot accept (or cannot connect upstream, which its
/// client is told with `421`); once descriptors are free again, a new client is served.
/// Run with `ulimit -n` of both parities, as each session takes two descriptors: one of
/// them leaves none for `accept`, which used to end the whole proxy.
#[test]
fn running_out_of_descriptors_does_not_stop_the_proxy() {
    use std::io::BufRead;
    let server = ExampleServer::start(&[]);
    for limit in [40, 41] {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("ulimit -n {limit} && exec \"$0\" \"$@\"")])
            .arg(example("smtp-proxy"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--upstream")
            .arg(server.addr.to_string())
            .env("RUST_LOG", "info");
        let log = server.dir.path().join(format!("proxy-{limit}.log"));
        let guard = start_listening(cmd, addr, log);
        let held: Vec<TcpStream> = (0..60).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(500));
        drop(held);
        std::thread::sleep(Duration::from_millis(300));
        let client = TcpStream::connect(addr);
        let line = client.map(|c| {
            c.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
            let mut line = String::new();
            let _ = BufReader::new(c).read_line(&mut line);
            line
        });
        assert!(
            line.as_ref().is_ok_and(|l| l.starts_with("220 ")),
            "ulimit -n {limit}: {line:?}\n{}",
            guard.log()
        );
    }
}
