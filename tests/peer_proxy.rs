//! The `smtp-proxy` example in front of the `smtp-server` example, each on a free loopback
//! port with the server's own Maildir: a message through the proxy (swaks, skipped when it
//! is not installed) is stored byte for byte; a smuggling attempt through it stays one
//! message; malformed lines are answered by the proxy itself and the session goes on.

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
