//! The `smtp-send` example against hostile and broken servers over real loopback TCP.
//! Each case is a scripted fake server (a thread on `127.0.0.1:0` that writes scripted
//! bytes and records everything the client sends) and one run of the example binary with a
//! hard time limit. Each asserts the exit status, what smtp-send printed and what it sent:
//! never the message after a refusal, never the password without TLS, never a "delivered"
//! that the server did not give.
//!
//! Needs nothing but the example binaries (`cargo build --examples` first when running
//! this file alone: `cargo test --test NAME` does not rebuild them).

mod fake_peer;
mod peer_support;

use fake_peer::{Peer, Role};
use peer_support::{example, run, Output};
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// In the message only: its presence in what the client sent means the content went out.
const MARKER: &str = "BODY-MARKER-7f3a";
const MESSAGE: &[u8] =
    b"From: alice@example.test\r\nSubject: hostile\r\n\r\nBODY-MARKER-7f3a first line\r\nbye\r\n";
const PASSWORD: &str = "pw-SECRET-9c1e";
/// How long the fake server waits for the client's bytes, and for its connection.
const PEER_WAIT: Duration = Duration::from_secs(10);
/// Hard limit for one smtp-send run (its own `--timeout` is far shorter).
const RUN_LIMIT: Duration = Duration::from_secs(15);

/// How the fake server speaks of itself; it takes commands in any case.
const ROLE: Role = Role {
    name: "fake server",
    fold_case: true,
};

/// The fake server's dialogue, beyond what [`fake_peer`] gives.
impl Peer {
    /// Greeting, EHLO answered with `ehlo_reply` (a whole reply, CRLF included).
    fn hello(&mut self, ehlo_reply: &[u8]) {
        self.send(b"220 fake.test ESMTP\r\n");
        self.expect("EHLO");
        self.send(ehlo_reply);
    }

    /// Answers QUIT and closes.
    fn quit(&mut self) {
        self.expect("QUIT");
        self.send(b"221 2.0.0 bye\r\n");
        self.close();
    }

    /// Answers every line `250 ok` until QUIT, answered `221 bye` before closing (or the
    /// end of input).
    fn ok_until_quit(&mut self) {
        while let Some(l) = self.line() {
            if l.eq_ignore_ascii_case("QUIT") {
                self.send(b"221 bye\r\n");
                self.close();
                return;
            }
            self.send(b"250 ok\r\n");
        }
    }

    /// [`Peer::hello`] with a one-line EHLO reply, MAIL accepted, then RCPT read: its
    /// reply comes next.
    fn up_to_rcpt(&mut self) {
        self.hello(b"250 fake.test\r\n");
        self.expect("MAIL");
        self.send(b"250 ok\r\n");
        self.expect("RCPT");
    }

    /// [`Peer::up_to_rcpt`], RCPT accepted and DATA answered `354`: the message content
    /// comes next.
    fn up_to_content(&mut self) {
        self.up_to_rcpt();
        self.send(b"250 ok\r\n");
        self.expect("DATA");
        self.send(b"354 go\r\n");
    }
}

/// A fake server for one connection, run by `script`; after the script (unless it closed
/// the connection) it keeps reading until the client closes. The handle gives back
/// everything the client sent.
fn serve(script: impl FnOnce(&mut Peer) + Send + 'static) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + PEER_WAIT;
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "smtp-send never connected");
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut peer = Peer::new(stream, Arc::clone(&seen), PEER_WAIT, ROLE);
        script(&mut peer);
        peer.finish();
        drop(peer);
        let seen = seen.lock().unwrap().clone();
        seen
    });
    (addr, handle)
}

/// What one case gives back: smtp-send's output, what it sent, how long it ran.
struct Outcome {
    out: Output,
    sent: String,
    took: Duration,
}

impl Outcome {
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// Everything, for assertion messages.
    fn all(&self) -> String {
        format!(
            "{}\n--- the client sent\n{}\n--- took {:?}",
            self.out.all(),
            self.sent,
            self.took
        )
    }

    fn assert_exit(&self, code: i32) {
        assert_eq!(self.code(), Some(code), "{}", self.all());
    }

    fn assert_stdout(&self, phrase: &str) {
        assert!(
            self.out.stdout.contains(phrase),
            "no {phrase:?}:\n{}",
            self.all()
        );
    }

    fn assert_stderr(&self, phrase: &str) {
        assert!(
            self.out.stderr.contains(phrase),
            "no {phrase:?}:\n{}",
            self.all()
        );
    }

    fn assert_not_stdout(&self, phrase: &str) {
        assert!(
            !self.out.stdout.contains(phrase),
            "{phrase:?}:\n{}",
            self.all()
        );
    }

    fn assert_sent(&self, what: &str) {
        assert!(
            self.sent.contains(what),
            "{what:?} not sent:\n{}",
            self.all()
        );
    }

    fn assert_not_sent(&self, what: &str) {
        assert!(
            !self.sent.contains(what),
            "{what:?} was sent:\n{}",
            self.all()
        );
    }

    /// Neither EHLO nor MAIL in plaintext after the STARTTLS line.
    fn assert_no_command_after_starttls(&self) {
        let after = self.sent.split_once("STARTTLS\r\n").map_or("", |(_, a)| a);
        assert!(
            !after.contains("EHLO") && !after.contains("MAIL"),
            "{}",
            self.all()
        );
    }

    /// Neither the message content nor the password, in any form seen here.
    fn assert_nothing_secret_sent(&self) {
        self.assert_not_sent(MARKER);
        self.assert_not_sent(PASSWORD);
        self.assert_not_sent(&base64(&format!("\0bob\0{PASSWORD}")));
        self.assert_not_sent(&base64(PASSWORD));
    }
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// smtp-send to a fake server running `script`, with `args` after the common ones
/// (`--helo client.test --from alice@example.test`); the message on standard input.
fn case(args: &[&str], script: impl FnOnce(&mut Peer) + Send + 'static) -> Outcome {
    run_case(args, None, script)
}

/// [`case`] with the message in `file`.
fn run_case(
    args: &[&str],
    file: Option<&Path>,
    script: impl FnOnce(&mut Peer) + Send + 'static,
) -> Outcome {
    let (addr, server) = serve(script);
    let start = Instant::now();
    let mut cmd = Command::new(example("smtp-send"));
    cmd.arg("--server")
        .arg(addr.to_string())
        .args(["--helo", "client.test", "--from", "alice@example.test"])
        .args(args);
    match file {
        Some(f) => cmd.arg(f),
        None => cmd.arg("-"),
    };
    let out = run(&mut cmd, file.is_none().then_some(MESSAGE), RUN_LIMIT);
    let took = start.elapsed();
    let sent = match server.join() {
        Ok(sent) => String::from_utf8_lossy(&sent).into_owned(),
        Err(e) => std::panic::resume_unwind(e),
    };
    Outcome { out, sent, took }
}

/// A message of about `size` octets in 66-octet lines, in a temporary file.
fn big_message(size: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.eml");
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    while big.len() < size {
        big.extend_from_slice(
            b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
        );
    }
    std::fs::write(&file, &big).unwrap();
    (dir, file)
}

/// One recipient, a 3-second `--timeout`.
const ONE: &[&str] = &["--to", "bob@example.test", "--timeout", "3"];
/// Two recipients, bob and carol, a 3-second `--timeout`.
const TWO: &[&str] = &[
    "--to",
    "bob@example.test",
    "--to",
    "carol@example.test",
    "--timeout",
    "3",
];
/// [`ONE`], TLS required and its certificate not checked.
const ONE_TLS_INSECURE: &[&str] = &[
    "--to",
    "bob@example.test",
    "--timeout",
    "3",
    "--tls-insecure",
];
/// [`ONE`] with bob's password (sent only over TLS unless `--allow-plaintext-auth`).
const ONE_WITH_PASSWORD: &[&str] = &[
    "--to",
    "bob@example.test",
    "--timeout",
    "3",
    "--user",
    "bob",
    "--password",
    PASSWORD,
];

/// The happy path, so that every refusal below differs from it in one place only.
#[test]
fn baseline_delivers() {
    let o = case(ONE, |p| {
        p.hello(b"250 fake.test\r\n");
        p.expect("MAIL FROM:<alice@example.test>");
        p.send(b"250 2.1.0 ok\r\n");
        p.expect("RCPT TO:<bob@example.test>");
        p.send(b"250 2.1.5 ok\r\n");
        p.expect("DATA");
        p.send(b"354 go ahead\r\n");
        assert!(p
            .data()
            .windows(MARKER.len())
            .any(|w| w == MARKER.as_bytes()));
        p.send(b"250 2.0.0 queued as 1\r\n");
        p.quit();
    });
    o.assert_exit(0);
    o.assert_stdout("bob@example.test: accepted: 250");
    o.assert_stdout("message: delivered: 250 2.0.0 queued as 1");
}

/// RFC 5321 3.1: a 554 greeting means no service; the client sends QUIT and nothing else.
#[test]
fn greeting_554() {
    let o = case(ONE, |p| {
        p.send(b"554 5.3.2 no service for you\r\n");
        p.quit();
    });
    o.assert_exit(1);
    o.assert_stdout("server said: 554 5.3.2 no service for you");
    o.assert_stdout("session ended before delivery");
    o.assert_not_stdout("message: delivered");
    assert_eq!(o.sent, "QUIT\r\n", "{}", o.all());
}

/// The greeting and the multi-line EHLO reply one byte at a time, 5 ms apart: the same
/// session as whole replies.
#[test]
fn replies_split_byte_by_byte() {
    let o = case(ONE, |p| {
        let gap = Duration::from_millis(5);
        p.send_slowly(b"220-fake.test ESMTP\r\n220 second line\r\n", gap);
        p.expect("EHLO");
        p.send_slowly(
            b"250-fake.test\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n",
            gap,
        );
        p.expect("MAIL FROM:<alice@example.test>");
        p.send_slowly(b"250 ok\r\n", gap);
        p.expect("RCPT TO:<bob@example.test>");
        p.send_slowly(b"250 ok\r\n", gap);
        p.expect("DATA");
        p.send_slowly(b"354 go\r\n", gap);
        p.data();
        p.send_slowly(b"250 queued\r\n", gap);
        p.quit();
    });
    o.assert_exit(0);
    o.assert_stdout("message: delivered: 250 queued");
}

/// A server that accepts and says nothing: the greeting timeout (RFC 5321 4.5.3.2.1,
/// 5 minutes by default; `--timeout 1` here) ends the run with exit 2, sending nothing.
#[test]
fn no_greeting_times_out() {
    let o = case(&["--to", "bob@example.test", "--timeout", "1"], |_| {});
    o.assert_exit(2);
    o.assert_stdout("session ended before delivery: timeout: greeting");
    o.assert_stderr("connection lost: timeout: greeting");
    assert!(
        o.took >= Duration::from_millis(900) && o.took < Duration::from_secs(5),
        "{}",
        o.all()
    );
    assert_eq!(o.sent, "", "{}", o.all());
}

/// `421` (RFC 5321 3.8: the server closes the channel) at each step of the transaction:
/// the message is never reported delivered, nothing of the transaction after that step
/// is sent, and the exit status is 1.
fn closing_421(at: &'static str) -> Outcome {
    case(ONE, move |p| {
        p.hello(b"250 fake.test\r\n");
        let steps = [
            ("MAIL", &b"250 ok\r\n"[..]),
            ("RCPT", b"250 ok\r\n"),
            ("DATA", b"354 go\r\n"),
        ];
        for (verb, reply) in steps {
            p.expect(verb);
            if verb == at {
                p.send(b"421 4.3.2 shutting down\r\n");
                p.close();
                return;
            }
            p.send(reply);
        }
        p.data();
        p.send(b"421 4.3.2 shutting down\r\n");
        p.close();
    })
}

#[test]
fn closing_421_at_mail() {
    let o = closing_421("MAIL");
    o.assert_exit(1);
    o.assert_stdout(
        "message: failed: session closed before the message completed: server closing: 421 4.3.2",
    );
    o.assert_stdout("bob@example.test: not delivered: session closed");
    o.assert_not_stdout("message: delivered");
    o.assert_not_sent("RCPT");
    o.assert_nothing_secret_sent();
}

#[test]
fn closing_421_at_rcpt() {
    let o = closing_421("RCPT");
    o.assert_exit(1);
    o.assert_stdout("message: failed");
    o.assert_not_stdout("message: delivered");
    o.assert_not_stdout("bob@example.test: accepted");
    o.assert_not_sent("DATA");
    o.assert_nothing_secret_sent();
}

#[test]
fn closing_421_at_data() {
    let o = closing_421("DATA");
    o.assert_exit(1);
    o.assert_stdout("message: failed");
    o.assert_not_stdout("message: delivered");
    o.assert_nothing_secret_sent();
}

/// `421` instead of the reply to the end of data: the server took no responsibility for
/// the message (RFC 5321 4.1.1.4 and 6.1), so it is not delivered.
#[test]
fn closing_421_after_the_message() {
    let o = closing_421("");
    o.assert_exit(1);
    o.assert_sent(MARKER);
    o.assert_stdout("message: failed");
    o.assert_stdout("server said: 421 4.3.2 shutting down");
    o.assert_stdout(
        "bob@example.test: not delivered: session closed before the message completed: \
         server closing: 421 4.3.2",
    );
    o.assert_not_stdout("message: delivered");
}

/// The connection ends in the middle of a reply (the first line of a multi-line one, or
/// half a line): a lost connection, exit 2, and no command after it.
#[test]
fn closed_mid_reply() {
    for partial in [&b"250-2.1.0 first line\r\n"[..], b"250 2.1.0 no li"] {
        let o = case(ONE, move |p| {
            p.hello(b"250 fake.test\r\n");
            p.expect("MAIL");
            p.send(partial);
            p.close();
        });
        o.assert_exit(2);
        o.assert_stdout("session ended before delivery: connection closed by the peer");
        o.assert_stderr("connection lost");
        o.assert_not_stdout("message: delivered");
        o.assert_not_sent("RCPT");
    }
}

/// The connection ends right after the `354`, or after part of the content: the message
/// is not delivered, exit 2.
#[test]
fn closed_during_the_content() {
    for after in [None, Some(MARKER)] {
        let o = case(ONE, move |p| {
            p.up_to_content();
            if let Some(marker) = after {
                p.until(marker.as_bytes());
            }
            p.close();
        });
        o.assert_exit(2);
        o.assert_stdout("message: failed: session closed before the message completed");
        // A lost connection, seen by the read (end of input) or by the write (reset).
        o.assert_stdout("session ended before delivery: ");
        o.assert_stderr("error: connection lost: ");
        o.assert_not_stdout("message: delivered");
    }
}

/// The same with a message of 32 MiB (more than the socket buffers hold), so that the
/// write fails under the client's feet: the report still ends with the message's failure,
/// as for any lost connection.
#[test]
fn closed_during_a_large_content() {
    let (_dir, file) = big_message(32 << 20);
    let o = run_case(ONE, Some(&file), |p| {
        p.up_to_content();
        while p.pending.len() < 100_000 {
            if !p.fill() {
                break;
            }
        }
        p.close();
    });
    o.assert_exit(2);
    o.assert_stderr("write failed: ");
    o.assert_stdout("message: failed: session closed before the message completed");
    o.assert_stdout("session ended before delivery: write failed: ");
    o.assert_not_stdout("message: delivered");
}

/// End of data answered `451` or `554`: the message failed, exit 1, and the recipient,
/// accepted at RCPT, is reported as not delivered (its "accepted" line is not the last
/// word on it).
#[test]
fn end_of_data_refused() {
    for (reply, text) in [
        (&b"451 4.3.0 try later\r\n"[..], "451 4.3.0 try later"),
        (b"554 5.7.1 spam\r\n", "554 5.7.1 spam"),
    ] {
        let o = case(ONE, move |p| {
            p.up_to_content();
            p.data();
            p.send(reply);
            if p.expect("").eq_ignore_ascii_case("RSET") {
                p.send(b"250 ok\r\n");
            } else {
                p.send(b"221 bye\r\n");
                p.close();
                return;
            }
            p.quit();
        });
        o.assert_exit(1);
        o.assert_stdout(&format!("message: failed: message refused: {text}"));
        o.assert_stdout(&format!(
            "bob@example.test: not delivered: message refused: {text}"
        ));
        o.assert_not_stdout("message: delivered");
    }
}

/// Some recipients refused: the others get the message, each is reported as it was
/// answered, and the exit status is 1.
#[test]
fn some_recipients_refused() {
    let args = [
        "--to",
        "bob@example.test",
        "--to",
        "carol@example.test",
        "--to",
        "dave@example.test",
        "--timeout",
        "3",
    ];
    let o = case(&args, |p| {
        p.hello(b"250 fake.test\r\n");
        p.expect("MAIL");
        p.send(b"250 ok\r\n");
        p.expect("RCPT TO:<bob@");
        p.send(b"250 2.1.5 bob ok\r\n");
        p.expect("RCPT TO:<carol@");
        p.send(b"550 5.1.1 no such user\r\n");
        p.expect("RCPT TO:<dave@");
        p.send(b"250 2.1.5 dave ok\r\n");
        p.expect("DATA");
        p.send(b"354 go\r\n");
        p.data();
        p.send(b"250 2.0.0 queued\r\n");
        p.quit();
    });
    o.assert_exit(1);
    o.assert_stdout("bob@example.test: accepted: 250 2.1.5 bob ok");
    o.assert_stdout("carol@example.test: rejected: 550 5.1.1 no such user");
    o.assert_stdout("dave@example.test: accepted: 250 2.1.5 dave ok");
    o.assert_stdout("message: delivered: 250 2.0.0 queued");
}

/// Every recipient refused: no DATA, no content, exit 1.
#[test]
fn every_recipient_refused() {
    let o = case(ONE, |p| {
        p.up_to_rcpt();
        p.send(b"550 5.1.1 no such user\r\n");
        // The client may send RSET before QUIT.
        let l = p.line().unwrap_or_default();
        if l.eq_ignore_ascii_case("RSET") {
            p.send(b"250 ok\r\n");
            p.quit();
        } else {
            assert_eq!(l, "QUIT");
            p.send(b"221 bye\r\n");
            p.close();
        }
    });
    o.assert_exit(1);
    o.assert_stdout("bob@example.test: rejected: 550 5.1.1 no such user");
    o.assert_stdout("message: failed: every recipient was refused");
    o.assert_not_sent("DATA");
    o.assert_nothing_secret_sent();
}

/// A server that answers `452 4.5.3` (too many recipients) to a recipient every time: the
/// client retries it in a new transaction once, then stops (no endless loop), exit 1.
#[test]
fn too_many_recipients_forever() {
    let o = case(TWO, |p| {
        p.hello(b"250 fake.test\r\n");
        let mut transactions = 0;
        loop {
            let l = p.line().unwrap_or_default().to_ascii_uppercase();
            if l.starts_with("MAIL") {
                transactions += 1;
                assert!(transactions <= 2, "a third transaction");
                p.send(b"250 ok\r\n");
            } else if l.starts_with("RCPT TO:<BOB@") {
                p.send(b"250 ok\r\n");
            } else if l.starts_with("RCPT") {
                p.send(b"452 4.5.3 too many recipients\r\n");
            } else if l == "DATA" {
                p.send(b"354 go\r\n");
                p.data();
                p.send(b"250 queued\r\n");
            } else if l == "RSET" {
                p.send(b"250 ok\r\n");
            } else {
                assert_eq!(l, "QUIT");
                p.send(b"221 bye\r\n");
                p.close();
                return;
            }
        }
    });
    o.assert_exit(1);
    o.assert_stdout("bob@example.test: accepted");
    o.assert_stdout("carol@example.test: rejected: 452 4.5.3");
    o.assert_stdout("message: delivered");
}

/// A multi-line reply whose lines carry different codes (RFC 5321 4.2.1: every line has
/// the same code) is malformed: exit 2, and nothing after it is sent.
#[test]
fn multiline_reply_with_mixed_codes() {
    let o = case(ONE, |p| {
        p.hello(b"250-fake.test\r\n220 PIPELINING\r\n");
    });
    o.assert_exit(2);
    o.assert_stdout("session ended before delivery: malformed reply");
    o.assert_not_sent("MAIL");

    let o = case(ONE, |p| {
        p.up_to_rcpt();
        p.send(b"250-2.1.5 ok\r\n550 5.1.1 no such user\r\n");
    });
    o.assert_exit(2);
    o.assert_not_stdout("bob@example.test: accepted");
    o.assert_not_stdout("message: delivered");
    o.assert_not_sent("DATA");
    o.assert_nothing_secret_sent();
}

/// A reply line of 100 KiB without a CRLF, the connection left open: the client gives up
/// at its reply line limit (12288 octets), at once (not at the timeout), with exit 2.
#[test]
fn endless_reply_line() {
    let o = case(ONE, |p| {
        let mut line = b"220 ".to_vec();
        line.resize(100 * 1024, b'x');
        p.send(&line);
    });
    o.assert_exit(2);
    o.assert_stdout("session ended before delivery: malformed reply");
    assert!(o.took < Duration::from_secs(2), "{}", o.all());
    assert_eq!(o.sent, "", "{}", o.all());
}

/// STARTTLS answered `220`, then bytes that are not TLS: the handshake fails, exit 2, the
/// message is reported failed, and nothing goes out in plaintext after the STARTTLS line.
#[test]
fn starttls_then_garbage() {
    let o = case(ONE_TLS_INSECURE, |p| {
        p.hello(b"250-fake.test\r\n250 STARTTLS\r\n");
        p.expect("STARTTLS");
        p.send(b"220 2.0.0 go ahead\r\n");
        p.some(); // the ClientHello
        p.send(b"this is not TLS at all\r\n250 ok\r\n");
    });
    o.assert_exit(2);
    o.assert_stdout("message: failed: session closed before the message completed");
    o.assert_stdout("session ended before delivery: TLS handshake failed: ");
    o.assert_stderr("error: connection lost: TLS handshake failed: ");
    o.assert_no_command_after_starttls();
    o.assert_nothing_secret_sent();
}

/// STARTTLS answered `220` with more plaintext in the same segment (CVE-2011-0411): the
/// client never starts the handshake and sends nothing more.
#[test]
fn starttls_response_injection() {
    let o = case(ONE_TLS_INSECURE, |p| {
        p.hello(b"250-fake.test\r\n250 STARTTLS\r\n");
        p.expect("STARTTLS");
        p.send(b"220 2.0.0 go ahead\r\n250 injected\r\n");
    });
    o.assert_exit(2);
    o.assert_stdout("response injection");
    assert!(o.sent.ends_with("STARTTLS\r\n"), "{}", o.all());
}

/// TLS required (`--tls-insecure`, or `--starttls` with a CA) but STARTTLS not offered, or
/// refused: QUIT, never the transaction in plaintext, exit 1.
#[test]
fn starttls_required_but_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = peer_support::self_signed_pem(dir.path(), "ca", "fake.test");
    let starttls = ["--starttls", "--ca-file", ca.as_str()];
    for flags in [&["--tls-insecure"][..], &starttls[..]] {
        let mut args = vec!["--to", "bob@example.test", "--timeout", "3"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--user", "bob", "--password", PASSWORD]);
        let o = case(&args, |p| {
            p.hello(b"250-fake.test\r\n250 AUTH PLAIN LOGIN\r\n");
            p.quit();
        });
        o.assert_exit(1);
        o.assert_stdout("session ended before delivery: TLS required but unavailable");
        o.assert_not_sent("MAIL");
        o.assert_not_sent("AUTH");
        o.assert_nothing_secret_sent();
    }
    let o = case(ONE_TLS_INSECURE, |p| {
        p.hello(b"250-fake.test\r\n250 STARTTLS\r\n");
        p.expect("STARTTLS");
        p.send(b"454 4.7.0 TLS not available\r\n");
        p.quit();
    });
    o.assert_exit(1);
    o.assert_stdout("server said: 454 4.7.0 TLS not available");
    o.assert_not_sent("MAIL");
    o.assert_nothing_secret_sent();
}

/// AUTH refused `535`: no MAIL, exit 1.
#[test]
fn auth_refused() {
    let args = [ONE_WITH_PASSWORD, &["--allow-plaintext-auth"]].concat();
    let o = case(&args, |p| {
        p.hello(b"250-fake.test\r\n250 AUTH PLAIN\r\n");
        p.expect("AUTH PLAIN");
        p.send(b"535 5.7.8 bad credentials\r\n");
        p.quit();
    });
    o.assert_exit(1);
    o.assert_stdout("server said: 535 5.7.8 bad credentials");
    o.assert_stdout("session ended before delivery: authentication failed");
    o.assert_not_sent("MAIL");
    o.assert_not_sent(MARKER);
}

/// Credentials without TLS and without `--allow-plaintext-auth`, against a server that
/// offers only PLAIN and LOGIN: the password is never sent, nor the message.
#[test]
fn no_password_in_plaintext() {
    for forced in [None, Some("PLAIN"), Some("LOGIN")] {
        let mut args = ONE_WITH_PASSWORD.to_vec();
        if let Some(m) = forced {
            args.extend_from_slice(&["--auth", m]);
        }
        let o = case(&args, |p| {
            p.hello(b"250-fake.test\r\n250 AUTH PLAIN LOGIN\r\n");
            loop {
                let Some(l) = p.line() else { return };
                let l = l.to_ascii_uppercase();
                if l == "QUIT" {
                    p.send(b"221 bye\r\n");
                    p.close();
                    return;
                } else if l.starts_with("AUTH") || l.starts_with('*') || !l.contains(' ') {
                    // AUTH LOGIN prompts: ask for everything.
                    p.send(b"334 UGFzc3dvcmQ6\r\n");
                } else {
                    p.send(b"250 ok\r\n");
                }
            }
        });
        assert_ne!(o.code(), Some(0), "{}", o.all());
        o.assert_not_sent("MAIL");
        o.assert_nothing_secret_sent();
    }
}

/// Bytes before the client's EHLO: a `250` sent with the greeting, before EHLO was
/// written, is no reply to EHLO (RFC 5321 4.1.1.1 and 4.3.2: a reply answers a command;
/// RFC 2920 3.1). The client machine treats it as unsolicited and closes: exit 2, no
/// transaction.
#[test]
fn reply_before_ehlo() {
    let o = case(ONE, |p| {
        p.send(b"220 fake.test ESMTP\r\n250-injected.test\r\n250 PIPELINING\r\n");
        // A client that took the injected reply would now send MAIL; answer everything.
        while let Some(l) = p.line() {
            if l.eq_ignore_ascii_case("DATA") {
                p.send(b"354 go\r\n");
                p.data();
            }
            p.send(b"250 ok\r\n");
        }
    });
    o.assert_exit(2);
    o.assert_stdout("unsolicited reply: 250 injected.test");
    o.assert_not_sent("MAIL");
    o.assert_nothing_secret_sent();
}

/// A server that never reads the content (its window fills up): the data-block timeout
/// (RFC 5321 4.5.3.2.5) ends the run, exit 2, and the report says why.
#[test]
fn server_that_stops_reading() {
    let (_dir, file) = big_message(16 << 20);
    let args = ["--to", "bob@example.test", "--timeout", "1"];
    let o = run_case(&args, Some(&file), |p| {
        p.up_to_content();
        // Read nothing more until the client gives up.
        std::thread::sleep(Duration::from_secs(4));
        p.close();
    });
    o.assert_exit(2);
    assert!(o.took < Duration::from_secs(4), "{}", o.all());
    o.assert_stdout("message: failed: session closed before the message completed");
    o.assert_stdout("session ended before delivery: write failed: write: no progress in 1s");
    o.assert_not_stdout("message: delivered");
}

/// PIPELINING: every RCPT refused but DATA answered `354` (RFC 2920 3.1): the client ends
/// the empty content with a lone `.`, never sends the message, exit 1.
#[test]
fn data_accepted_without_recipients() {
    let o = case(ONE, |p| {
        p.hello(b"250-fake.test\r\n250 PIPELINING\r\n");
        p.expect("MAIL");
        p.expect("RCPT");
        p.expect("DATA");
        p.send(b"250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n");
        let l = p.line().unwrap_or_default();
        assert_eq!(l, ".", "fake server: the client sent content");
        p.send(b"554 5.5.1 no valid recipients\r\n");
        p.ok_until_quit();
    });
    o.assert_exit(1);
    o.assert_stdout("bob@example.test: rejected: 550 5.1.1");
    o.assert_stdout("message: failed");
    o.assert_not_stdout("message: delivered");
    o.assert_nothing_secret_sent();
}

/// SIZE smaller than the message (RFC 1870): refused before MAIL, exit 1.
#[test]
fn message_larger_than_size() {
    let o = case(ONE, |p| {
        p.hello(b"250-fake.test\r\n250 SIZE 20\r\n");
        p.ok_until_quit();
    });
    o.assert_exit(1);
    o.assert_stdout("message: failed: message of");
    o.assert_not_sent("MAIL");
    o.assert_nothing_secret_sent();
}

/// CHUNKING: the last BDAT refused `554`, or answered `421`: not delivered, exit 1.
#[test]
fn bdat_refused() {
    for reply in [&b"554 5.7.1 spam\r\n"[..], b"421 4.3.2 bye\r\n"] {
        let o = case(ONE, move |p| {
            p.hello(b"250-fake.test\r\n250 CHUNKING\r\n");
            p.expect("MAIL");
            p.send(b"250 ok\r\n");
            p.expect("RCPT");
            p.send(b"250 ok\r\n");
            let l = p.expect("BDAT");
            let n: usize = l.split(' ').nth(1).unwrap().parse().unwrap();
            assert!(
                p.exactly(n).is_some(),
                "fake server: input ended in the chunk"
            );
            p.send(reply);
            p.ok_until_quit();
        });
        o.assert_exit(1);
        o.assert_stdout("message: failed");
        o.assert_not_stdout("message: delivered");
    }
}

/// A server that answers every SASL line with another `334`: the client gives up after
/// the exchange its mechanism defines (PLAIN: one message, RFC 4616; LOGIN: user name and
/// password) instead of answering forever, resending the credentials each time; with
/// `--auth` the example itself answers the challenges. Cancelled (`*`, RFC 4954 4), the
/// exchange ends: no MAIL, and the password went out at most once.
#[test]
fn endless_auth_challenges() {
    // (--auth, what the server offers)
    let cases = [
        (Some("PLAIN"), "PLAIN LOGIN"),
        (Some("LOGIN"), "PLAIN LOGIN"),
        (None, "PLAIN"),
        (None, "LOGIN"),
    ];
    for (forced, offered) in cases {
        let mut args = [ONE_WITH_PASSWORD, &["--allow-plaintext-auth"]].concat();
        if let Some(m) = forced {
            args.extend_from_slice(&["--auth", m]);
        }
        let ehlo = format!("250-fake.test\r\n250 AUTH {offered}\r\n");
        let o = case(&args, move |p| {
            p.hello(ehlo.as_bytes());
            for _ in 0..50 {
                let Some(l) = p.line() else { return };
                if l.eq_ignore_ascii_case("QUIT") {
                    p.send(b"221 bye\r\n");
                    p.close();
                    return;
                }
                p.send(b"334 VXNlcm5hbWU6\r\n");
            }
            panic!("fake server: 50 SASL lines and still going");
        });
        assert_ne!(o.code(), Some(0), "{}", o.all());
        o.assert_not_sent("MAIL");
        o.assert_not_sent(MARKER);
        let secrets = [base64(&format!("\0bob\0{PASSWORD}")), base64(PASSWORD)];
        for secret in secrets {
            assert!(o.sent.matches(&secret).count() <= 1, "{}", o.all());
        }
    }
}

/// A multi-line reply of 100 000 lines: the client stops at its line count limit (256),
/// at once, exit 2.
#[test]
fn endless_multiline_reply() {
    let o = case(ONE, |p| {
        p.send(&b"220-fake.test\r\n".repeat(100_000));
    });
    o.assert_exit(2);
    o.assert_stdout("session ended before delivery: malformed reply");
    assert!(o.took < Duration::from_secs(2), "{}", o.all());
}

/// The connection lost in the second transaction (the recipient refused as too many in
/// the first one, sent again): exit 2 as for any lost connection, although the first
/// transaction was delivered, and the recipient of the second is reported not delivered.
#[test]
fn connection_lost_in_the_retry() {
    let o = case(TWO, |p| {
        p.hello(b"250 fake.test\r\n");
        p.expect("MAIL");
        p.send(b"250 ok\r\n");
        p.expect("RCPT TO:<bob@");
        p.send(b"250 ok\r\n");
        p.expect("RCPT TO:<carol@");
        p.send(b"452 4.5.3 too many recipients\r\n");
        p.expect("DATA");
        p.send(b"354 go\r\n");
        p.data();
        p.send(b"250 queued\r\n");
        p.expect("MAIL");
        p.send(b"250 ok\r\n");
        p.expect("RCPT TO:<carol@");
        p.close();
    });
    o.assert_exit(2);
    o.assert_stdout("message: delivered: 250 queued");
    o.assert_stdout("carol@example.test: not delivered: session closed");
    o.assert_stdout("session ended before delivery: connection closed by the peer");
}

/// A rustls server configuration with a new self-signed certificate for `name`, and the
/// certificate as PEM (the CA file that trusts it).
fn tls_server(name: &str) -> (Arc<rustls::ServerConfig>, String) {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        ck.key_pair.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .expect("server config");
    (Arc::new(config), ck.cert.pem())
}

/// `--starttls --ca-file`: a certificate from another CA, or a trusted one for another
/// name, fails the handshake (exit 2, the message reported failed, nothing after it in
/// plaintext); the trusted certificate for the server's address completes it and the
/// client then speaks TLS (EHLO again, RFC 3207 4.2).
#[test]
fn starttls_certificate_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (good, good_pem) = tls_server("127.0.0.1");
    let (other_name, other_name_pem) = tls_server("other.test");
    let (untrusted, _) = tls_server("127.0.0.1");
    let good_ca = dir.path().join("good.pem");
    std::fs::write(&good_ca, &good_pem).unwrap();
    let other_ca = dir.path().join("other.pem");
    std::fs::write(&other_ca, &other_name_pem).unwrap();
    let runs = [
        (good, &good_ca, true),
        (other_name, &other_ca, false),
        (untrusted, &good_ca, false),
    ];
    for (config, ca, valid) in runs {
        let ca = ca.to_string_lossy().into_owned();
        let args = [
            "--to",
            "bob@example.test",
            "--timeout",
            "3",
            "--starttls",
            "--ca-file",
            ca.as_str(),
        ];
        let o = case(&args, move |p| {
            p.hello(b"250-fake.test\r\n250 STARTTLS\r\n");
            p.expect("STARTTLS");
            p.send(b"220 2.0.0 go ahead\r\n");
            let sock = p.stream.take().unwrap();
            let conn = rustls::ServerConnection::new(config).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut handshake = Ok(());
            while tls.conn.is_handshaking() && handshake.is_ok() {
                handshake = tls.conn.complete_io(&mut tls.sock).map(|_| ());
            }
            assert_eq!(handshake.is_ok(), valid, "fake server: {handshake:?}");
            if valid {
                let mut got = [0u8; 5];
                tls.read_exact(&mut got).unwrap();
                assert_eq!(&got, b"EHLO ");
                return; // and close
            }
            // Record what comes after the failed handshake.
            p.stream = Some(tls.sock);
        });
        o.assert_exit(2);
        o.assert_not_stdout("message: delivered");
        if !valid {
            o.assert_stdout("session ended before delivery: TLS handshake failed");
        }
        o.assert_no_command_after_starttls();
        o.assert_nothing_secret_sent();
    }
}

/// The message answered `250`, then the connection closed instead of the QUIT reply: the
/// message is the server's (RFC 5321 4.1.1.4), exit 0.
#[test]
fn closed_after_delivery() {
    let o = case(ONE, |p| {
        p.up_to_content();
        p.data();
        p.send(b"250 2.0.0 queued\r\n");
        p.close();
    });
    o.assert_exit(0);
    o.assert_stdout("message: delivered: 250 2.0.0 queued");
    o.assert_not_stdout("not delivered");
}

/// Control characters in a reply (an escape sequence) never reach the terminal.
#[test]
fn control_characters_in_replies() {
    let o = case(ONE, |p| {
        p.up_to_rcpt();
        p.send(b"550 5.1.1 \x1b[2J\x1b]0;owned\x07 no\r\n");
        p.ok_until_quit();
    });
    o.assert_exit(1);
    o.assert_stdout("bob@example.test: rejected: 550 5.1.1");
    assert!(
        !o.out.stdout.contains('\x1b') && !o.out.stderr.contains('\x1b'),
        "{:?}",
        o.out
    );
}

/// A greeting dribbled a byte at a time, each within the timeout but the whole slower
/// than it: the timeout is for the whole reply (RFC 5321 4.5.3.2.1), so the client gives
/// up after `--timeout 1`, not after the last byte.
#[test]
fn greeting_dribbled_slower_than_the_timeout() {
    let o = case(&["--to", "bob@example.test", "--timeout", "1"], |p| {
        for b in b"220 fake.test ESMTP\r\n" {
            p.send(std::slice::from_ref(b));
            std::thread::sleep(Duration::from_millis(250));
            let s = p.stream();
            s.set_nonblocking(true).unwrap();
            let wrote = s.peek(&mut [0u8]);
            s.set_nonblocking(false).unwrap();
            if wrote.is_ok() {
                // The client wrote something (EHLO) or closed: stop.
                break;
            }
        }
    });
    o.assert_exit(2);
    o.assert_stdout("session ended before delivery: timeout: greeting");
    assert!(o.took < Duration::from_secs(3), "{}", o.all());
    assert_eq!(o.sent, "", "{}", o.all());
}
