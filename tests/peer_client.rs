//! The `smtp-send` example (the client machine on tokio) against real servers: Postfix's
//! smtp-sink, Python's aiosmtpd (plain, STARTTLS and implicit TLS with a verified
//! certificate), and the `smtp-server` example (STARTTLS, implicit TLS, AUTH PLAIN, LOGIN
//! and NTLM). A test whose peer is not
//! installed prints `SKIPPED: ...` and passes.

mod peer_support;

use peer_support::{
    example, free_port, read_messages, run, self_signed_pem, split_trace, start_listening,
    ExampleServer, Output, PEER_TIMEOUT,
};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

const MESSAGE: &[u8] = b"From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: smtp-send\r\n\r\nHello,\r\n.a line with a leading dot\r\n..two\r\nbye\r\n";

fn smtp_send(addr: SocketAddr, file: &Path, extra: &[&str]) -> Output {
    run(
        Command::new(example("smtp-send"))
            .arg("--server")
            .arg(addr.to_string())
            .args(["--helo", "client.test", "--from", "alice@example.test"])
            .args(["--to", "bob@example.test", "--to", "carol@example.test"])
            .args(extra)
            .arg(file),
        None,
        PEER_TIMEOUT,
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

#[test]
fn smtp_send_to_smtp_sink() {
    let sink = require_peer!("smtp-sink");
    let dir = tempfile::tempdir().unwrap();
    let dumps = dir.path().join("dumps");
    std::fs::create_dir(&dumps).unwrap();
    let file = dir.path().join("m.eml");
    std::fs::write(&file, MESSAGE).unwrap();
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut cmd = Command::new(sink);
    if is_root() {
        // smtp-sink refuses to run as root; the dump directory must be writable by nobody.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dumps, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        cmd.args(["-u", "nobody"]);
    }
    cmd.arg("-d")
        .arg(format!("{}/msg.", dumps.display()))
        .arg(addr.to_string())
        .arg("10");
    let _sink = start_listening(cmd, addr, dir.path().join("sink.log"));
    let out = smtp_send(addr, &file, &[]);
    assert!(out.status.success(), "{}", out.all());
    assert!(
        out.stdout.contains("bob@example.test: accepted: 250"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains("carol@example.test: accepted: 250"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains("message: delivered: 250"),
        "{}",
        out.all()
    );
    // The dump: smtp-sink's X- lines with the envelope, then the message as received.
    let dump = read_messages(&dumps);
    assert_eq!(dump.len(), 1);
    let text = String::from_utf8_lossy(&dump[0]).replace("\r\n", "\n");
    assert!(text.contains("alice@example.test"), "{text}");
    assert!(text.contains("bob@example.test") && text.contains("carol@example.test"));
    let sent = String::from_utf8_lossy(MESSAGE).replace("\r\n", "\n");
    assert!(text.contains(&sent), "dump:\n{text}");
}

const AIOSMTPD: &str = r#"
import asyncio, json, os, ssl, sys, time
from aiosmtpd.controller import Controller

port, outdir = int(sys.argv[1]), sys.argv[2]
cert, key = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)
implicit = len(sys.argv) > 5 and sys.argv[5] == "implicit"

class Store:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Store.n += 1
        base = os.path.join(outdir, "msg%d" % Store.n)
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "rcpts": envelope.rcpt_tos,
                       "tls": session.ssl is not None
                       or server.transport.get_extra_info("ssl_object") is not None}, f)
        return "250 2.0.0 stored"

kw = {}
if cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    # Implicit TLS (RFC 8314): the whole session over TLS; else STARTTLS offered.
    kw = {"ssl_context": ctx} if implicit else {"tls_context": ctx, "require_starttls": False}
c = Controller(Store(), hostname="127.0.0.1", port=port, **kw)
c.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

/// How smtp-send reaches aiosmtpd.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Plain,
    StartTls,
    /// RFC 8314 implicit TLS: `--tls`.
    Implicit,
}

fn aiosmtpd(mode: Transport) {
    aiosmtpd_with(mode, &[]);
}

/// smtp-send with `options` to aiosmtpd over `mode`; checks what aiosmtpd stored and
/// returns smtp-send's output (`None`: aiosmtpd is not installed).
fn aiosmtpd_with(mode: Transport, options: &[&str]) -> Option<Output> {
    let tls = mode != Transport::Plain;
    let py = match peer_support::python_with("aiosmtpd") {
        Some(py) => py,
        None => {
            println!("SKIPPED: python3 with aiosmtpd is not installed");
            return None;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let file = dir.path().join("m.eml");
    std::fs::write(&file, MESSAGE).unwrap();
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut cmd = Command::new(py);
    cmd.args(["-c", AIOSMTPD, &port.to_string()]).arg(&out_dir);
    let mut ca_arg = String::new();
    if tls {
        let (ca, key) = self_signed_pem(dir.path(), "cert", "127.0.0.1");
        cmd.arg(&ca).arg(&key);
        ca_arg = ca;
        if mode == Transport::Implicit {
            cmd.arg("implicit");
        }
    }
    let server = start_listening(cmd, addr, dir.path().join("aiosmtpd.log"));
    let mut extra: Vec<&str> = match mode {
        Transport::Plain => vec![],
        Transport::StartTls => vec!["--starttls", "--ca-file", &ca_arg],
        Transport::Implicit => vec!["--tls", "--ca-file", &ca_arg],
    };
    extra.extend_from_slice(options);
    let out = smtp_send(addr, &file, &extra);
    assert!(out.status.success(), "{}\n{}", out.all(), server.log());
    match mode {
        Transport::Plain => assert!(!out.stderr.contains("TLS established"), "{}", out.all()),
        Transport::StartTls => assert!(out.stderr.contains("TLS established\n"), "{}", out.all()),
        Transport::Implicit => {
            assert!(
                out.stderr.contains("TLS established (implicit)"),
                "{}",
                out.all()
            )
        }
    }
    let stored = std::fs::read(out_dir.join("msg1.eml")).expect("aiosmtpd stored the message");
    assert_eq!(
        String::from_utf8_lossy(&stored),
        String::from_utf8_lossy(MESSAGE)
    );
    let meta = std::fs::read_to_string(out_dir.join("msg1.json")).unwrap();
    assert!(meta.contains("\"from\": \"alice@example.test\""), "{meta}");
    assert!(
        meta.contains("\"rcpts\": [\"bob@example.test\", \"carol@example.test\"]"),
        "{meta}"
    );
    assert!(meta.contains(&format!("\"tls\": {}", if tls { "true" } else { "false" })));
    Some(out)
}

/// aiosmtpd does not offer DSN: the DSN options are not sent (aiosmtpd would refuse
/// unknown parameters), the message goes through, and smtp-send says so.
#[test]
fn smtp_send_dsn_options_to_a_server_without_dsn() {
    let opts = [
        "--notify",
        "SUCCESS,FAILURE",
        "--ret",
        "HDRS",
        "--envid",
        "e1",
    ];
    if let Some(out) = aiosmtpd_with(Transport::Plain, &opts) {
        assert!(
            out.stderr
                .contains("warning: the server does not offer DSN"),
            "{}",
            out.all()
        );
    }
}

/// `--notify`, `--ret` and `--envid` reach a server that offers DSN (RFC 3461): the
/// example server stores the "delivered" report they ask for, quoting the ENVID.
#[test]
fn smtp_send_notify_success_to_smtp_server_gets_a_report() {
    let server = ExampleServer::start(&[]);
    let file = server.file("m.eml", MESSAGE);
    let out = smtp_send(
        server.addr,
        &file,
        &[
            "--notify",
            "success,failure",
            "--ret",
            "hdrs",
            "--envid",
            "order 42+1",
        ],
    );
    assert!(out.status.success(), "{}", out.all());
    assert!(!out.stderr.contains("warning"), "{}", out.all());
    let report = server.delivery_report();
    for want in [
        "To: <alice@example.test>\r\n",
        "Original-Envelope-Id: order 42+1\r\n",
        "Final-Recipient: rfc822; bob@example.test\r\nAction: delivered\r\n",
        "Final-Recipient: rfc822; carol@example.test\r\nAction: delivered\r\n",
        "Subject: smtp-send\r\n",
    ] {
        assert!(report.contains(want), "{want:?} in\n{report}");
    }
}

/// A CA file without `--starttls` or `--tls` is a usage error (exit 2), and so is one
/// with `--tls-insecure`: the first used to send in plaintext (the CA file ignored), the
/// second without checking the certificate.
#[test]
fn smtp_send_refuses_a_ca_file_it_would_not_use() {
    let server = ExampleServer::start(&[]);
    let file = server.file("m.eml", MESSAGE);
    let ca = server.file("ca.pem", b"");
    let ca = ca.to_str().unwrap();
    for args in [
        &["--ca-file", ca][..],
        &["--ca-file", ca, "--tls-insecure"],
        &["--ca-file", ca, "--tls-insecure", "--tls"],
    ] {
        let out = smtp_send(server.addr, &file, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.all());
        assert!(out.stderr.contains("--ca-file"), "{args:?}: {}", out.all());
    }
    assert!(server.messages().is_empty());
}

/// Bad DSN option values are usage errors (exit 2) before anything is sent.
#[test]
fn smtp_send_refuses_bad_dsn_options() {
    let server = ExampleServer::start(&[]);
    let file = server.file("m.eml", MESSAGE);
    for bad in [
        &["--notify", "never,success"][..],
        &["--notify", "sometimes"],
        &["--notify", "success,success"],
        &["--ret", "body"],
    ] {
        let out = smtp_send(server.addr, &file, bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", out.all());
    }
    assert!(server.messages().is_empty());
}

#[test]
fn smtp_send_to_aiosmtpd() {
    aiosmtpd(Transport::Plain);
}

#[test]
fn smtp_send_to_aiosmtpd_starttls_verified() {
    aiosmtpd(Transport::StartTls);
}

#[test]
fn smtp_send_to_aiosmtpd_implicit_tls_verified() {
    aiosmtpd(Transport::Implicit);
}

// ------------------------------------------------------------ against smtp-server

fn to_example(mech: &str, password: &str, tls: bool) -> (ExampleServer, Output) {
    let server = ExampleServer::start(&["--tls-self-signed", "--user", "alice:pw 1"]);
    let file = server.file("m.eml", MESSAGE);
    let mut extra = vec!["--user", "alice", "--password", password, "--auth", mech];
    if tls {
        extra.push("--tls-insecure");
    }
    let out = smtp_send(server.addr, &file, &extra);
    (server, out)
}

fn check_stored(server: &ExampleServer, with: &str) {
    let msg = server.only_message();
    let s = split_trace(&msg);
    assert_eq!(s.return_path, "<alice@example.test>");
    assert!(
        s.received.contains(&format!("with {with} id")),
        "{}",
        s.received
    );
    assert_eq!(s.content, MESSAGE);
}

/// `smtp-send --tls` to `smtp-server --tls-listen` (RFC 8314 implicit TLS), verifying
/// the server's certificate against the CA file; the client picks a mechanism itself.
#[test]
fn smtp_send_to_smtp_server_implicit_tls_verified() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_pem(dir.path(), "cert", "127.0.0.1");
    let tls_addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let tls_arg = tls_addr.to_string();
    let server = ExampleServer::start(&[
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tls-listen",
        &tls_arg,
        "--user",
        "alice:pw 1",
    ]);
    let file = server.file("m.eml", MESSAGE);
    let out = smtp_send(
        tls_addr,
        &file,
        &[
            "--tls",
            "--ca-file",
            &cert,
            "--user",
            "alice",
            "--password",
            "pw 1",
        ],
    );
    assert!(out.status.success(), "{}", out.all());
    assert!(
        out.stderr.contains("TLS established (implicit)"),
        "{}",
        out.all()
    );
    assert!(
        out.stderr.contains("authenticated with PLAIN"),
        "{}",
        out.all()
    );
    check_stored(&server, "ESMTPSA");

    // A certificate the CA file does not vouch for: no session at all.
    let (other_ca, _) = self_signed_pem(dir.path(), "other", "127.0.0.1");
    let out = smtp_send(tls_addr, &file, &["--tls", "--ca-file", &other_ca]);
    assert_eq!(out.status.code(), Some(2), "{}", out.all());
    assert!(!out.stderr.contains("greeting"), "{}", out.all());
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn smtp_send_to_smtp_server_starttls_plain() {
    let (server, out) = to_example("PLAIN", "pw 1", true);
    assert!(out.status.success(), "{}", out.all());
    check_stored(&server, "ESMTPSA");
}

#[test]
fn smtp_send_to_smtp_server_starttls_login() {
    let (server, out) = to_example("LOGIN", "pw 1", true);
    assert!(out.status.success(), "{}", out.all());
    check_stored(&server, "ESMTPSA");
}

#[test]
fn smtp_send_to_smtp_server_ntlm() {
    // NTLM needs no TLS to protect the password (it still should run under TLS).
    let (server, out) = to_example("NTLM", "pw 1", false);
    assert!(out.status.success(), "{}", out.all());
    assert!(
        out.stderr.contains("authenticated with NTLM"),
        "{}",
        out.all()
    );
    check_stored(&server, "ESMTPA");
    let (server, out) = to_example("NTLM", "pw 1", true);
    assert!(out.status.success(), "{}", out.all());
    check_stored(&server, "ESMTPSA");
}

#[test]
fn smtp_send_wrong_ntlm_password() {
    let (server, out) = to_example("NTLM", "wrong", true);
    assert_eq!(out.status.code(), Some(1), "{}", out.all());
    // [MS-SMTPNTLM] 2.2.1.4: NTLM's failure reply.
    assert!(out.stdout.contains("535 5.7.3"), "{}", out.all());
    assert!(server.messages().is_empty());
}

/// A server that takes one recipient per transaction answers `452 4.5.3` to the second:
/// smtp-send delivers to it in a second transaction (RFC 5321 4.5.3.1.10) and succeeds.
#[test]
fn smtp_send_retries_recipients_refused_as_too_many() {
    let server = ExampleServer::start(&["--max-recipients", "1"]);
    let file = server.file("m.eml", MESSAGE);
    let out = smtp_send(server.addr, &file, &[]);
    assert!(out.status.success(), "{}", out.all());
    for line in [
        "bob@example.test: accepted: 250",
        "carol@example.test: rejected: 452 4.5.3",
        "carol@example.test: accepted: 250",
    ] {
        assert!(out.stdout.contains(line), "{line}: {}", out.all());
    }
    let messages = server.messages();
    assert_eq!(messages.len(), 2, "{}", out.all());
    let mut rcpts: Vec<String> = messages
        .iter()
        .map(|m| {
            let s = split_trace(m);
            assert_eq!(s.content, MESSAGE);
            s.received.split("for ").nth(1).unwrap_or("").to_string()
        })
        .collect();
    rcpts.sort();
    assert!(rcpts[0].starts_with("<bob@example.test>;"), "{rcpts:?}");
    assert!(rcpts[1].starts_with("<carol@example.test>;"), "{rcpts:?}");
}

#[test]
fn smtp_send_plaintext_password_refused_without_tls() {
    let server = ExampleServer::start(&["--user", "alice:pw 1"]);
    let file = server.file("m.eml", MESSAGE);
    let out = smtp_send(
        server.addr,
        &file,
        &["--user", "alice", "--password", "pw 1", "--auth", "PLAIN"],
    );
    assert_ne!(out.status.code(), Some(0), "{}", out.all());
    // The client machine refuses plaintext mechanisms without TLS itself (or, with an
    // older machine, the example cancels the exchange).
    let all = out.all();
    assert!(
        all.contains("no usable authentication mechanism")
            || all.contains("refusing to send the password"),
        "{all}"
    );
    assert!(server.messages().is_empty());
}

/// Exit 2 is a connection error, 1 a refusal: a server that drops the connection before
/// the greeting, or right after it, is the former.
#[test]
fn smtp_send_exits_2_when_the_connection_is_lost() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = std::thread::spawn(move || {
        for (greet, reset) in [(false, false), (true, false), (true, true)] {
            let (mut s, _) = listener.accept().unwrap();
            if greet {
                let _ = s.write_all(b"220 x ESMTP\r\n");
                let mut b = [0u8; 100];
                let _ = s.read(&mut b);
            }
            if reset {
                // Closed with a reset (RST) rather than an end of stream (FIN).
                socket2::SockRef::from(&s)
                    .set_linger(Some(std::time::Duration::ZERO))
                    .unwrap();
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.eml");
    std::fs::write(&file, MESSAGE).unwrap();
    for reset in [false, false, true] {
        let out = smtp_send(addr, &file, &[]);
        assert_eq!(out.status.code(), Some(2), "{}", out.all());
        assert!(out.stderr.contains("connection lost"), "{}", out.all());
        // A reset is named as such (the system's error), not only as a closed connection.
        if reset {
            assert!(out.stderr.contains("reset"), "{}", out.all());
        }
    }
    acceptor.join().unwrap();
}

/// What a misbehaving test server does with the `usize`-th connection it accepts.
type Script = fn(usize, &mut std::net::TcpStream);

/// A misbehaving server on a free loopback port: `script` runs on each of `n` accepted
/// connections in turn, holding it open while it stalls; everything ends when the test
/// drops the returned sender (or after 30 s).
fn stalling_server(n: usize, script: Script) -> (SocketAddr, std::sync::mpsc::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for i in 0..n {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            script(i, &mut s);
            held.push(s);
        }
        let _ = wait.recv_timeout(std::time::Duration::from_secs(30));
    });
    (addr, done)
}

/// Reads one line (up to LF) from `s`, byte by byte.
fn read_line(s: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b).unwrap_or(0) == 1 {
        line.push(b[0]);
        if b[0] == b'\n' {
            break;
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// A server that never answers is given up on after `--timeout` (exit 2), whatever it
/// stalls: the greeting, an implicit-TLS handshake, the handshake after its own 220 to
/// STARTTLS, or reading the message (it takes the commands, says 354, then reads
/// nothing more while smtp-send writes an 8 MB body).
#[test]
fn smtp_send_gives_up_on_a_server_that_stalls() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.eml");
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    body.extend(
        b"0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
            .repeat(120_000),
    );
    std::fs::write(&big, &body).unwrap();
    let small = dir.path().join("m.eml");
    std::fs::write(&small, MESSAGE).unwrap();
    // Answers every command with its usual reply until DATA, then reads no more.
    fn until_data(_: usize, s: &mut std::net::TcpStream) {
        s.write_all(b"220 x ESMTP\r\n").unwrap();
        loop {
            let line = read_line(s).to_ascii_uppercase();
            let reply: &[u8] = match line.get(..4) {
                Some("EHLO") => b"250-x\r\n250 8BITMIME\r\n",
                Some("DATA") => {
                    s.write_all(b"354 go on\r\n").unwrap();
                    return;
                }
                Some(_) => b"250 ok\r\n",
                None => return,
            };
            s.write_all(reply).unwrap();
        }
    }
    fn until_starttls(_: usize, s: &mut std::net::TcpStream) {
        s.write_all(b"220 x ESMTP\r\n").unwrap();
        read_line(s);
        s.write_all(b"250-x\r\n250 STARTTLS\r\n").unwrap();
        read_line(s);
        s.write_all(b"220 go ahead\r\n").unwrap();
    }
    let cases: [(&str, Script, &[&str], &Path); 4] = [
        ("greeting", |_, _| {}, &[], &small),
        (
            "implicit TLS handshake",
            |_, _| {},
            &["--tls", "--tls-insecure"],
            &small,
        ),
        (
            "STARTTLS handshake",
            until_starttls,
            &["--tls-insecure"],
            &small,
        ),
        ("message", until_data, &["--no-chunking"], &big),
    ];
    for (what, script, extra, file) in cases {
        let (addr, done) = stalling_server(1, script);
        let started = std::time::Instant::now();
        let out = run(
            Command::new(example("smtp-send"))
                .arg("--server")
                .arg(addr.to_string())
                .args(["--from", "a@example.test", "--to", "b@example.test"])
                .args(["--timeout", "1"])
                .args(extra)
                .arg(file),
            None,
            std::time::Duration::from_secs(20),
        );
        let waited = started.elapsed();
        drop(done);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", out.all());
        assert!(
            waited < std::time::Duration::from_secs(10),
            "{what}: {waited:?}"
        );
        assert!(
            out.stderr.contains("timeout") || out.stderr.contains("no progress"),
            "{what}: {}",
            out.all()
        );
    }
}

/// A server whose listen queue is full (or a firewall that drops the SYN) does not let
/// the connection finish: smtp-send gives up after `--timeout` (exit 2), as for a
/// server that does not send its greeting; it used to wait for the system's own connect
/// timeout, two minutes or more.
#[test]
fn smtp_send_gives_up_on_a_connection_that_does_not_finish() {
    use socket2::{Domain, Socket, Type};
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("m.eml");
    std::fs::write(&small, MESSAGE).unwrap();
    // A listener with no room in its queue that never accepts: once one connection waits
    // there, the kernel drops the SYNs of the next ones.
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let _queued = std::net::TcpStream::connect(addr).unwrap();
    if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_ok() {
        eprintln!("skipped: this kernel completes connections past a full listen queue");
        return;
    }
    let started = std::time::Instant::now();
    let out = run(
        Command::new(example("smtp-send"))
            .arg("--server")
            .arg(addr.to_string())
            .args(["--from", "a@example.test", "--to", "b@example.test"])
            .args(["--timeout", "1"])
            .arg(&small),
        None,
        std::time::Duration::from_secs(20),
    );
    let waited = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", out.all());
    assert!(waited < std::time::Duration::from_secs(10), "{waited:?}");
    assert!(out.stderr.contains("connect"), "{}", out.all());
}

/// Without `--helo`, the EHLO name is the system's host name when it is fully
/// qualified, else the address literal of the connection's local address (RFC 5321
/// 4.1.1.1); it used to be `localhost`, which servers that check the name refuse.
#[test]
fn smtp_send_greets_with_its_host_name_or_address() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.write_all(b"220 x ESMTP\r\n").unwrap();
        let ehlo = read_line(&mut s);
        let _ = s.write_all(b"421 4.3.2 bye\r\n");
        ehlo
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.eml");
    std::fs::write(&file, MESSAGE).unwrap();
    let out = run(
        Command::new(example("smtp-send"))
            .arg("--server")
            .arg(addr.to_string())
            .args(["--from", "a@example.test", "--to", "b@example.test"])
            .arg(&file),
        None,
        PEER_TIMEOUT,
    );
    let ehlo = server.join().unwrap();
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host = host.trim();
    let expected = if host.contains('.') {
        host.to_string()
    } else {
        "[127.0.0.1]".to_string()
    };
    assert_eq!(ehlo.trim_end(), format!("EHLO {expected}"), "{}", out.all());
}

/// `--help` says what the exit statuses mean and where the message comes from.
#[test]
fn smtp_send_help_documents_the_exit_status() {
    let out = run(
        Command::new(example("smtp-send")).arg("--help"),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    for words in ["Exit status: 0", "; 1 when", "; 2 when", "standard input"] {
        assert!(out.stdout.contains(words), "{words}: {}", out.all());
    }
}
