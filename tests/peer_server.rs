//! Real SMTP clients against the `smtp-server` example: swaks, curl, Python's smtplib and
//! Postfix's smtp-source. Each test starts the example on a free loopback port with its
//! own Maildir and checks what was stored byte for byte. A test whose peer is not
//! installed prints `SKIPPED: ...` and passes.

mod peer_support;

use peer_support::{example, run, split_trace, ExampleServer, PEER_TIMEOUT};
use std::process::Command;
use std::time::Duration;

// The NTLM arithmetic and the Maildir helpers of the examples, with their unit tests.
#[allow(dead_code)]
#[path = "../examples/common/maildir.rs"]
mod maildir;
#[allow(dead_code)]
#[path = "../examples/common/ntlm.rs"]
mod ntlm;
// The delivery reports (RFC 3461) of the examples, with their unit tests.
#[allow(dead_code)]
#[path = "../examples/common/dsn.rs"]
mod dsn;
// The tokio examples' transport, with its unit tests.
#[allow(dead_code)]
#[path = "../examples/common/conn.rs"]
mod conn;
// The examples' rustls configurations (a client that accepts any certificate).
#[allow(dead_code)]
#[path = "../examples/common/tls.rs"]
mod tls;

const USER: &str = "alice:s3cret pass";

fn tls_auth_server() -> ExampleServer {
    ExampleServer::start(&["--tls-self-signed", "--user", USER])
}

fn swaks(server: &ExampleServer) -> Command {
    swaks_to(server.addr)
}

fn swaks_to(addr: std::net::SocketAddr) -> Command {
    let mut c = Command::new("swaks");
    c.arg("--server")
        .arg(addr.to_string())
        .args(["--helo", "client.test", "--timeout", "30"]);
    c
}

/// What swaks stores for `--data @file`: it ends the data with CRLF "." CRLF, so a file
/// without a final line break gets one.
fn swaks_stored(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.extend_from_slice(b"\r\n");
    v
}

const MESSAGE: &[u8] = b"From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: peer test\r\nMessage-ID: <1@example.test>\r\n\r\nHello Bob,\r\n\r\nthis is a test.\r\n-- \r\nAlice";

fn assert_one(server: &ExampleServer, from: &str, rcpt: Option<&str>, content: &[u8]) {
    let msg = server.only_message();
    let stored = split_trace(&msg);
    assert_eq!(stored.return_path, from);
    if let Some(r) = rcpt {
        assert!(
            stored.received.contains(&format!("for {r};")),
            "{}",
            stored.received
        );
    }
    assert_eq!(
        String::from_utf8_lossy(stored.content),
        String::from_utf8_lossy(content)
    );
    assert_eq!(stored.content, content);
    assert_eq!(server.tmp_files(), 0);
}

macro_rules! need {
    ($name:expr) => {
        require_peer!($name)
    };
}

// ------------------------------------------------------------------ swaks

#[test]
fn swaks_plain() {
    need!("swaks");
    let server = ExampleServer::start(&[]);
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        swaks(&server)
            .args(["--from", "alice@example.test", "--to", "bob@example.test"])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    assert!(
        out.stdout.contains("250 2.0.0 Ok: queued as"),
        "{}",
        out.all()
    );
    assert_one(
        &server,
        "<alice@example.test>",
        Some("<bob@example.test>"),
        &swaks_stored(MESSAGE),
    );
}

#[test]
fn swaks_pipelining_several_recipients() {
    need!("swaks");
    let server = ExampleServer::start(&[]);
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        swaks(&server)
            .args(["--pipeline", "--from", "alice@example.test"])
            .args([
                "--to",
                "bob@example.test,carol@example.test,dave@example.test",
            ])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    // The three RCPTs and DATA went out in one flight.
    assert!(out.stdout.contains("250 2.1.5"), "{}", out.all());
    assert_one(
        &server,
        "<alice@example.test>",
        None,
        &swaks_stored(MESSAGE),
    );
}

#[test]
fn swaks_starttls() {
    need!("swaks");
    let server = tls_auth_server();
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        swaks(&server)
            .args([
                "-tls",
                "--from",
                "alice@example.test",
                "--to",
                "bob@example.test",
            ])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    assert!(out.stdout.contains("220 2.0.0"), "{}", out.all());
    assert!(out.stdout.contains("TLS started"), "{}", out.all());
    let msg = server.only_message();
    assert!(split_trace(&msg).received.contains("with ESMTPS id"));
    assert_eq!(split_trace(&msg).content, swaks_stored(MESSAGE));
}

#[test]
fn swaks_starttls_certificate_from_files() {
    need!("swaks");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = peer_support::self_signed_pem(dir.path(), "cert", "mx.test");
    let server = ExampleServer::start(&["--tls-cert", &cert, "--tls-key", &key]);
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        swaks(&server)
            .args([
                "-tls",
                "--from",
                "alice@example.test",
                "--to",
                "bob@example.test",
            ])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    assert!(out.stdout.contains("TLS started"), "{}", out.all());
    assert_eq!(
        split_trace(&server.only_message()).content,
        swaks_stored(MESSAGE)
    );
}

fn swaks_auth(mech: &str, password: &str) -> (ExampleServer, peer_support::Output) {
    let server = tls_auth_server();
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        swaks(&server)
            .args(["-tls", "--auth", mech, "--auth-user", "alice"])
            .args(["--auth-password", password])
            .args(["--from", "alice@example.test", "--to", "bob@example.test"])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        PEER_TIMEOUT,
    );
    (server, out)
}

#[test]
fn swaks_auth_plain() {
    need!("swaks");
    let (server, out) = swaks_auth("PLAIN", "s3cret pass");
    let out = out.ok();
    assert!(out.stdout.contains("AUTH PLAIN"), "{}", out.all());
    assert!(out.stdout.contains("235 2.7.0"), "{}", out.all());
    let msg = server.only_message();
    assert!(split_trace(&msg).received.contains("with ESMTPSA id"));
    assert_eq!(split_trace(&msg).content, swaks_stored(MESSAGE));
}

#[test]
fn swaks_auth_login() {
    need!("swaks");
    let (server, out) = swaks_auth("LOGIN", "s3cret pass");
    let out = out.ok();
    assert!(out.stdout.contains("334 VXNlcm5hbWU6"), "{}", out.all());
    assert!(out.stdout.contains("334 UGFzc3dvcmQ6"), "{}", out.all());
    assert!(out.stdout.contains("235 2.7.0"), "{}", out.all());
    assert_eq!(
        split_trace(&server.only_message()).content,
        swaks_stored(MESSAGE)
    );
}

#[test]
fn swaks_wrong_password() {
    need!("swaks");
    for mech in ["PLAIN", "LOGIN"] {
        let (server, out) = swaks_auth(mech, "wrong");
        assert!(!out.status.success(), "{}", out.all());
        assert!(out.stdout.contains("535 5.7.8"), "{}", out.all());
        assert!(server.messages().is_empty());
    }
}

#[test]
fn swaks_require_auth() {
    need!("swaks");
    let server = ExampleServer::start(&["--tls-self-signed", "--user", USER, "--require-auth"]);
    let out = run(
        swaks(&server).args(["-tls", "--from", "a@example.test", "--to", "b@example.test"]),
        None,
        PEER_TIMEOUT,
    );
    assert!(!out.status.success());
    assert!(out.stdout.contains("530 5.7.0"), "{}", out.all());
    assert!(server.messages().is_empty());
}

#[test]
fn swaks_dot_lines() {
    need!("swaks");
    let server = ExampleServer::start(&[]);
    let body: &[u8] =
        b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n. \r\n.\tx\r\n...\r\nend";
    let data = server.file("m.eml", body);
    run(
        swaks(&server)
            .args(["--from", "a@example.test", "--to", "b@example.test"])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    assert_one(&server, "<a@example.test>", None, &swaks_stored(body));
}

#[test]
fn swaks_10_mib_attachment() {
    need!("swaks");
    let server = ExampleServer::start(&["--max-size", "30000000"]);
    let blob = peer_support::pseudo_random(10 * 1024 * 1024, 0x5eed);
    let attachment = server.file("blob.bin", &blob);
    run(
        swaks(&server)
            .args([
                "--pipeline",
                "--from",
                "a@example.test",
                "--to",
                "b@example.test",
            ])
            .args([
                "--attach-type",
                "application/octet-stream",
                "--attach-name",
                "blob.bin",
            ])
            .arg("--attach")
            .arg(format!("@{}", attachment.display())),
        None,
        Duration::from_secs(120),
    )
    .ok();
    let msg = server.only_message();
    let content = split_trace(&msg).content;
    // Find the base64 part after the attachment's header block and decode it.
    let text = std::str::from_utf8(content).expect("ASCII message");
    let start = text.find("blob.bin").expect("attachment header");
    let body_start = start + text[start..].find("\r\n\r\n").expect("part body") + 4;
    let body_end = body_start + text[body_start..].find("\r\n--").expect("boundary");
    let b64: String = text[body_start..body_end]
        .split("\r\n")
        .collect::<Vec<_>>()
        .concat();
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("valid base64");
    assert_eq!(decoded.len(), blob.len());
    assert!(decoded == blob, "attachment differs");
}

#[test]
fn swaks_size_limit() {
    need!("swaks");
    let server = ExampleServer::start(&["--max-size", "1000"]);
    let body = vec![b'x'; 70];
    let mut data = b"Subject: big\r\n\r\n".to_vec();
    for _ in 0..40 {
        data.extend_from_slice(&body);
        data.extend_from_slice(b"\r\n");
    }
    let file = server.file("m.eml", &data);
    let out = run(
        swaks(&server)
            .args(["--from", "a@example.test", "--to", "b@example.test"])
            .arg("--data")
            .arg(format!("@{}", file.display())),
        None,
        PEER_TIMEOUT,
    );
    assert!(out.stdout.contains("552 5.3.4"), "{}", out.all());
    assert!(server.messages().is_empty());
    assert_eq!(server.tmp_files(), 0);
}

#[test]
fn swaks_exchange_profile() {
    need!("swaks");
    let server = ExampleServer::start(&["--exchange", "--tls-self-signed", "--user", USER]);
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        swaks(&server)
            .args([
                "--auth",
                "NTLM",
                "--auth-user",
                "alice",
                "--auth-password",
                "s3cret pass",
            ])
            .args(["--from", "alice@example.test", "--to", "bob@example.test"])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    // The Exchange 2016/2019 keywords (spec/ehlo-fixtures.md), before TLS.
    for keyword in [
        "STARTTLS",
        "X-ANONYMOUSTLS",
        "AUTH NTLM",
        "X-EXPS NTLM",
        "XEXCH50",
        "XRDST",
        "XSHADOWREQUEST",
    ] {
        let advertised = out.stdout.contains(&format!("250-{keyword}\n"))
            || out.stdout.contains(&format!("250 {keyword}\n"));
        assert!(advertised, "{keyword}: {}", out.all());
    }
    assert_eq!(
        split_trace(&server.only_message()).content,
        swaks_stored(MESSAGE)
    );
}

// ------------------------------------------------------------------ curl

fn curl(server: &ExampleServer) -> Command {
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "60"])
        .arg(format!("smtp://{}/client.test", server.addr));
    c
}

#[test]
fn curl_plain_two_recipients() {
    need!("curl");
    let server = ExampleServer::start(&[]);
    let mut content = MESSAGE.to_vec();
    content.extend_from_slice(b"\r\n");
    let file = server.file("m.eml", &content);
    run(
        curl(&server)
            .args(["--mail-from", "alice@example.test"])
            .args([
                "--mail-rcpt",
                "bob@example.test",
                "--mail-rcpt",
                "carol@example.test",
            ])
            .arg("-T")
            .arg(&file),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    assert_one(&server, "<alice@example.test>", None, &content);
}

fn curl_auth(mech: &str, password: &str) -> (ExampleServer, Vec<u8>, peer_support::Output) {
    let server = tls_auth_server();
    let mut content = MESSAGE.to_vec();
    content.extend_from_slice(b"\r\n..dot\r\n");
    let file = server.file("m.eml", &content);
    let out = run(
        curl(&server)
            .args(["--ssl-reqd", "-k", "-u", &format!("alice:{password}")])
            .args(["--login-options", &format!("AUTH={mech}")])
            .args([
                "--mail-from",
                "alice@example.test",
                "--mail-rcpt",
                "bob@example.test",
            ])
            .arg("-T")
            .arg(&file),
        None,
        PEER_TIMEOUT,
    );
    (server, content, out)
}

#[test]
fn curl_starttls_auth_plain() {
    need!("curl");
    let (server, content, out) = curl_auth("PLAIN", "s3cret pass");
    out.ok();
    let msg = server.only_message();
    assert!(split_trace(&msg).received.contains("with ESMTPSA id"));
    assert_eq!(split_trace(&msg).content, content);
}

#[test]
fn curl_starttls_auth_login() {
    need!("curl");
    let (server, content, out) = curl_auth("LOGIN", "s3cret pass");
    out.ok();
    assert_one(
        &server,
        "<alice@example.test>",
        Some("<bob@example.test>"),
        &content,
    );
}

#[test]
fn curl_wrong_password() {
    need!("curl");
    let (server, _, out) = curl_auth("PLAIN", "nope");
    // curl: (67) Login denied
    assert_eq!(out.status.code(), Some(67), "{}", out.all());
    assert!(server.messages().is_empty());
}

// ------------------------------------------------------------------ NTLM

#[test]
fn curl_ntlm() {
    need!("curl");
    let (server, content, out) = curl_auth("NTLM", "s3cret pass");
    out.ok();
    let log = server.guard.log();
    assert!(log.contains("mechanism=\"NTLM\" user=\"alice\""), "{log}");
    assert!(log.contains("variant=\"NTLMv2\""), "{log}");
    assert_eq!(split_trace(&server.only_message()).content, content);
    let (server, _, out) = curl_auth("NTLM", "wrong");
    assert_eq!(out.status.code(), Some(67), "{}", out.all());
    assert!(server.messages().is_empty());
}

#[test]
fn swaks_ntlm() {
    need!("swaks");
    let (server, out) = swaks_auth("NTLM", "s3cret pass");
    if out.stdout.contains("Authen::NTLM") || out.stderr.contains("Authen::NTLM") {
        eprintln!("SKIPPED: swaks has no Authen::NTLM");
        return;
    }
    let out = out.ok();
    assert!(out.stdout.contains("235 2.7.0"), "{}", out.all());
    let log = server.guard.log();
    assert!(log.contains("mechanism=\"NTLM\" user=\"alice\""), "{log}");
    assert_eq!(
        split_trace(&server.only_message()).content,
        swaks_stored(MESSAGE)
    );
    let (server, out) = swaks_auth("NTLM", "wrong");
    // [MS-SMTPNTLM] 2.2.1.4: NTLM's failure reply.
    assert!(out.stdout.contains("535 5.7.3"), "{}", out.all());
    assert!(server.messages().is_empty());
}

// ------------------------------------------------------------------ Python smtplib

const SMTPLIB: &str = r#"
import smtplib, ssl, sys
from email.message import EmailMessage

port, mode, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]

Base = smtplib.SMTP_SSL if mode == "ssl" else smtplib.SMTP

class Recording(Base):
    """Keeps the flattened message handed to DATA (before dot-stuffing)."""
    def data(self, msg):
        self.sent = msg
        return super().data(msg)

msg = EmailMessage()
if mode == "utf8":
    sender, rcpts = "jösé@exämple.test", ["ünï@exämple.test", "bob@example.test"]
else:
    sender, rcpts = "alice@example.test", ["bob@example.test", "carol@example.test", "dave@example.test"]
msg["From"] = sender
msg["To"] = ", ".join(rcpts)
msg["Subject"] = "smtplib " + mode
msg["Message-ID"] = "<smtplib-" + mode + "@example.test>"
msg.set_content("Hello from smtplib.\n.leading dot\nnon-ASCII: é ü\n")

kw = {"context": ssl._create_unverified_context()} if mode == "ssl" else {}
with Recording("127.0.0.1", port, local_hostname="client.test", timeout=30, **kw) as s:
    if mode == "ssl":
        # Implicit TLS (RFC 8314): no STARTTLS offered or accepted, AUTH offered at once.
        s.ehlo()
        assert not s.has_extn("starttls"), s.esmtp_features
        assert "PLAIN" in s.esmtp_features["auth"].split(), s.esmtp_features
        code, text = s.docmd("STARTTLS")
        assert code == 503, (code, text)
        s.user, s.password = "alice", "s3cret pass"
        s.auth("PLAIN", s.auth_plain)
    if mode in ("plain", "login"):
        s.starttls(context=ssl._create_unverified_context())
        s.ehlo()
        s.user, s.password = "alice", "s3cret pass"
        if mode == "plain":
            s.auth("PLAIN", s.auth_plain)
        else:
            s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    refused = s.send_message(msg)
    assert refused == {}, refused
    with open(out, "wb") as f:
        f.write(s.sent)
print("sent", len(s.sent))
"#;

fn smtplib(mode: &str, args: &[&str]) {
    let py = require_python!("smtplib");
    let (server, port) = if mode == "ssl" {
        let (server, tls_addr) = implicit_tls_server(args);
        (server, tls_addr.port())
    } else {
        let server = ExampleServer::start(args);
        let port = server.addr.port();
        (server, port)
    };
    let out_file = server.dir.path().join("sent.bin");
    let out = run(
        Command::new(py)
            .args(["-c", SMTPLIB, &port.to_string(), mode])
            .arg(&out_file),
        None,
        PEER_TIMEOUT,
    );
    assert!(
        out.status.success(),
        "{}\nserver:\n{}",
        out.all(),
        server.guard.log()
    );
    let mut sent = std::fs::read(&out_file).expect("smtplib output");
    if !sent.ends_with(b"\r\n") {
        sent.extend_from_slice(b"\r\n");
    }
    let msg = server.only_message();
    let stored = split_trace(&msg);
    assert_eq!(
        String::from_utf8_lossy(stored.content),
        String::from_utf8_lossy(&sent)
    );
    if mode == "utf8" {
        assert_eq!(stored.return_path, "<jösé@exämple.test>");
        assert!(
            stored.received.contains("with UTF8SMTP id"),
            "{}",
            stored.received
        );
    } else {
        assert_eq!(stored.return_path, "<alice@example.test>");
    }
}

#[test]
fn smtplib_send_message_starttls_auth_plain() {
    smtplib("plain", &["--tls-self-signed", "--user", USER]);
}

#[test]
fn smtplib_starttls_auth_login() {
    smtplib("login", &["--tls-self-signed", "--user", USER]);
}

#[test]
fn smtplib_smtp_ssl_implicit_tls_auth_plain() {
    smtplib("ssl", &["--user", USER]);
}

#[test]
fn smtplib_smtputf8() {
    smtplib("utf8", &[]);
}

// ------------------------------------------------------------------ smtp-source

#[test]
fn smtp_source_5000_messages_20_sessions() {
    smtp_source_load(&[], "20", 5000, "512");
}

/// The same on a multi-threaded runtime (`--workers 2`), with 4 KiB messages and one
/// connection per message (smtp-source's default, no `-d`).
#[test]
fn smtp_source_two_workers() {
    smtp_source_load(&["--workers", "2"], "10", 1000, "4096");
}

/// smtp-source sends `count` messages of `length` octets (numbered recipients, `-N`) over
/// `sessions` parallel sessions; every one is stored exactly once, with nothing left in
/// `tmp/`.
fn smtp_source_load(server_args: &[&str], sessions: &str, count: usize, length: &str) {
    let source = need!("smtp-source");
    let server = ExampleServer::start(server_args);
    let out = run(
        Command::new(source)
            .args([
                "-s",
                sessions,
                "-m",
                &count.to_string(),
                "-l",
                length,
                "-N",
                "-M",
                "client.test",
            ])
            .args(["-f", "sender@client.test", "-t", "rcpt@client.test"])
            .arg(server.addr.to_string()),
        None,
        Duration::from_secs(150),
    );
    assert!(out.status.success(), "{}", out.all());
    let messages = server.messages();
    assert_eq!(messages.len(), count, "server log:\n{}", server.guard.log());
    let mut rcpts = std::collections::HashSet::new();
    for m in &messages {
        let s = split_trace(m);
        assert_eq!(s.return_path, "<sender@client.test>");
        let r = s.received.split("for ").nth(1).expect("for clause");
        assert!(rcpts.insert(r.to_string()), "duplicate: {r}");
        assert!(s.content.ends_with(b"\r\n"));
    }
    assert_eq!(rcpts.len(), count);
    assert_eq!(server.tmp_files(), 0);
}

// ------------------------------------------------------------------ the other loops

/// The thread-per-connection and the mio examples: STARTTLS + AUTH, pipelining, NTLM and
/// a load run, with the same checks.
fn other_loop(name: &str) {
    let swaks_path = need!("swaks");
    let (server, tls_addr) = implicit_tls_server_of(name, &["--user", USER]);
    let data = server.file("m.eml", MESSAGE);
    for (i, (addr, extra)) in [
        (server.addr, &["-tls", "--auth", "PLAIN"][..]),
        (server.addr, &["--pipeline", "-tls", "--auth", "LOGIN"][..]),
        (server.addr, &["--auth", "NTLM"][..]),
        (tls_addr, &["--tls-on-connect", "--auth", "PLAIN"][..]),
    ]
    .iter()
    .enumerate()
    {
        let out = run(
            Command::new(&swaks_path)
                .arg("--server")
                .arg(addr.to_string())
                .args(["--helo", "client.test", "--timeout", "30"])
                .args(*extra)
                .args(["--auth-user", "alice", "--auth-password", "s3cret pass"])
                .args(["--from", "alice@example.test", "--to", "bob@example.test"])
                .arg("--data")
                .arg(format!("@{}", data.display())),
            None,
            PEER_TIMEOUT,
        );
        assert!(
            out.status.success(),
            "{name} run {i}: {}\n{}",
            out.all(),
            server.guard.log()
        );
        let messages = server.messages();
        assert_eq!(messages.len(), i + 1);
    }
    for m in server.messages() {
        assert_eq!(split_trace(&m).content, swaks_stored(MESSAGE));
    }
    if let Some(source) = peer_support::find_peer("smtp-source") {
        let out = run(
            Command::new(source)
                .args([
                    "-s",
                    "10",
                    "-m",
                    "500",
                    "-l",
                    "2000",
                    "-N",
                    "-M",
                    "client.test",
                ])
                .arg(server.addr.to_string()),
            None,
            Duration::from_secs(120),
        );
        assert!(out.status.success(), "{}", out.all());
        assert_eq!(server.messages().len(), 504);
    }
    assert_eq!(server.tmp_files(), 0);
}

#[test]
fn blocking_example_with_swaks_and_smtp_source() {
    other_loop("blocking");
}

#[test]
fn event_loop_example_with_swaks_and_smtp_source() {
    other_loop("event-loop");
}

/// The example binaries exist (cargo test builds them).
#[test]
fn examples_are_built() {
    for name in ["smtp-server", "smtp-send", "blocking", "event-loop"] {
        assert!(example(name).exists());
    }
}

// ------------------------------------------------------------------ storage failures

/// Sends `lines` one at a time over a raw connection and returns every reply line, so a
/// test can check codes without a third-party client.
fn raw_session(addr: std::net::SocketAddr, lines: &[&[u8]]) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut replies = Vec::new();
    let mut read_reply = |replies: &mut Vec<String>| loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("reply");
        let done = line.as_bytes().get(3) != Some(&b'-');
        replies.push(line.trim_end().to_string());
        if done || line.is_empty() {
            break;
        }
    };
    read_reply(&mut replies); // greeting
    for line in lines {
        writer.write_all(line).unwrap();
        read_reply(&mut replies);
    }
    replies
}

const RAW_TRANSACTION: &[&[u8]] = &[
    b"EHLO client.test\r\n",
    b"MAIL FROM:<alice@example.test>\r\n",
    b"RCPT TO:<bob@example.test>\r\n",
    b"DATA\r\n",
    b"Subject: raw\r\n\r\nline\r\n.\r\n",
    b"QUIT\r\n",
];

/// Ctrl-C (SIGINT) or SIGTERM: every server loop stops accepting at once, tells an idle
/// session `421 4.3.2` at once, lets a session in the middle of a message finish it (the
/// message is stored and acknowledged, then `421 4.3.2`: RFC 5321 3.8), and exits with
/// status 0 when the last session has ended.
#[test]
fn signal_stops_accepting_and_drains_open_sessions() {
    use std::io::{BufRead, BufReader, Write};
    for (name, signal) in ["smtp-server", "blocking", "event-loop"]
        .into_iter()
        .flat_map(|name| [(name, "INT"), (name, "TERM")])
    {
        let mut server = ExampleServer::start_example(name, &[]);
        let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
        stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        // The last line of the next reply.
        let reply = |reader: &mut BufReader<std::net::TcpStream>| loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.as_bytes().get(3) != Some(&b'-') || line.is_empty() {
                return line.trim_end().to_string();
            }
        };
        assert!(reply(&mut reader).starts_with("220 "));
        for (line, code) in [
            (&b"EHLO client.test\r\n"[..], "250"),
            (b"MAIL FROM:<a@example.test>\r\n", "250"),
            (b"RCPT TO:<b@example.test>\r\n", "250"),
            (b"DATA\r\n", "354"),
        ] {
            stream.write_all(line).unwrap();
            let r = reply(&mut reader);
            assert!(r.starts_with(code), "{name} {signal}: {r}");
        }
        stream
            .write_all(b"Subject: drain\r\n\r\nstarted before the signal\r\n")
            .unwrap();
        // A second session, between transactions.
        let mut idle = std::net::TcpStream::connect(server.addr).expect("connect");
        idle.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        let mut idle_reader = BufReader::new(idle.try_clone().unwrap());
        assert!(reply(&mut idle_reader).starts_with("220 "));
        idle.write_all(b"EHLO idle.test\r\n").unwrap();
        assert!(reply(&mut idle_reader).starts_with("250 "));

        let pid = server.guard.child.id().to_string();
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        assert!(kill.unwrap().success());
        // The listener closes: new connections are refused.
        let refused = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            std::net::TcpStream::connect(server.addr).is_err()
        });
        assert!(refused, "{name} {signal}: still accepting");
        // The idle session is told at once, and closed.
        let r = reply(&mut idle_reader);
        assert_eq!(
            r, "421 4.3.2 Service shutting down, closing transmission channel",
            "{name} {signal}"
        );
        assert_eq!(reply(&mut idle_reader), "", "{name} {signal}: not closed");

        // The session in the middle of a message goes on to its end, then is told.
        stream.write_all(b"and finished after it\r\n.\r\n").unwrap();
        let r = reply(&mut reader);
        assert!(r.starts_with("250 2.0.0 "), "{name} {signal}: {r}");
        let r = reply(&mut reader);
        assert!(r.starts_with("421 4.3.2 "), "{name} {signal}: {r}");
        assert_eq!(reply(&mut reader), "", "{name} {signal}: not closed");
        drop((stream, reader, idle, idle_reader));

        let status = (0..200)
            .find_map(|_| {
                std::thread::sleep(Duration::from_millis(50));
                server.guard.child.try_wait().unwrap()
            })
            .unwrap_or_else(|| panic!("{name} {signal}: still running after the session ended"));
        assert!(
            status.success(),
            "{name} {signal}: {status:?}\n{}",
            server.guard.log()
        );
        let stored = server.only_message();
        let content = split_trace(&stored).content;
        assert_eq!(
            content,
            b"Subject: drain\r\n\r\nstarted before the signal\r\nand finished after it\r\n",
            "{name} {signal}"
        );
    }
}

/// A session still open 10 seconds after the signal does not keep a server loop running:
/// it exits with status 0 and the connection is closed, with nothing half-stored.
#[test]
fn signal_ends_sessions_left_open_after_the_drain_period() {
    use std::io::{Read, Write};
    for name in ["smtp-server", "blocking", "event-loop"] {
        let mut server = ExampleServer::start_example(name, &[]);
        let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
        stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        stream
            .write_all(b"EHLO client.test\r\nMAIL FROM:<a@example.test>\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let pid = server.guard.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success());
        let status = (0..400)
            .find_map(|_| {
                std::thread::sleep(Duration::from_millis(50));
                server.guard.child.try_wait().unwrap()
            })
            .unwrap_or_else(|| panic!("{name}: still running 20 s after the signal"));
        let waited = started.elapsed();
        assert!(
            status.success(),
            "{name}: {status:?}\n{}",
            server.guard.log()
        );
        assert!(
            waited >= Duration::from_secs(9),
            "{name}: exited after {waited:?}"
        );
        // Everything the server sent, then the end of the stream.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.starts_with("220 ") && text.contains("250 2.1.0"),
            "{name}: {text}"
        );
        assert!(server.messages().is_empty(), "{name}");
        assert!(
            server
                .guard
                .log()
                .contains("sessions still open after the drain period"),
            "{name}"
        );
    }
}

/// A client that goes silent gets `421 4.4.2` once `--timeout` has passed (RFC 5321
/// 4.5.3.2), in the middle of a command phase and in the middle of message content, from
/// every server loop; activity before that keeps the session open.
#[test]
fn silent_clients_time_out() {
    use std::io::{BufRead, BufReader, Write};
    for name in ["smtp-server", "blocking", "event-loop"] {
        let server = ExampleServer::start_example(name, &["--timeout", "1"]);
        let command: &[&[u8]] = &[b"EHLO client.test\r\n"];
        let content: &[&[u8]] = &[
            b"EHLO client.test\r\n",
            b"MAIL FROM:<a@example.test>\r\n",
            b"RCPT TO:<b@example.test>\r\n",
            b"DATA\r\n",
            b"Subject: half\r\n",
        ];
        for (phase, lines) in [("command", command), ("content", content)] {
            let started = std::time::Instant::now();
            let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
            stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with("220 "), "{name}: {line:?}");
            // Commands spread over more than the timeout: each one restarts the clock.
            for l in lines {
                std::thread::sleep(Duration::from_millis(400));
                stream.write_all(l).unwrap();
            }
            let mut replies = Vec::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 {
                    break; // closed after the 421
                }
                replies.push(line.trim_end().to_string());
            }
            let last = replies.last().cloned().unwrap_or_default();
            assert!(
                last.starts_with("421 4.4.2 "),
                "{name} {phase}: {replies:?}"
            );
            assert_eq!(
                replies.iter().filter(|r| r.starts_with("421")).count(),
                1,
                "{name} {phase}: {replies:?}"
            );
            let waited = started.elapsed();
            assert!(
                waited >= Duration::from_millis(400 * lines.len() as u64 + 1000),
                "{name} {phase}: closed after {waited:?}"
            );
            assert!(
                waited < Duration::from_secs(8),
                "{name} {phase}: {waited:?}"
            );
        }
        assert!(server.messages().is_empty(), "{name}");
    }
}

/// When the Maildir cannot be written, the message is refused with a 451 after its end
/// (never a 250), nothing appears in `new/`, and delivery works again once the Maildir
/// is fixed, for every server loop.
#[test]
fn unwritable_maildir_is_a_451_then_recovers() {
    for name in ["smtp-server", "blocking", "event-loop"] {
        let server = ExampleServer::start_example(name, &[]);
        let tmp = server.dir.path().join("maildir").join("tmp");
        std::fs::remove_dir(&tmp).unwrap();
        std::fs::write(&tmp, b"not a directory").unwrap();
        let replies = raw_session(server.addr, RAW_TRANSACTION);
        let end = &replies[replies.len() - 2];
        assert!(end.starts_with("451 4.3.0 "), "{name}: {replies:?}");
        assert!(server.messages().is_empty(), "{name}");

        std::fs::remove_file(&tmp).unwrap();
        std::fs::create_dir(&tmp).unwrap();
        let replies = raw_session(server.addr, RAW_TRANSACTION);
        let end = &replies[replies.len() - 2];
        assert!(
            end.starts_with("250 2.0.0 Ok: queued as "),
            "{name}: {replies:?}"
        );
        let stored = server.only_message();
        let trace = split_trace(&stored);
        assert_eq!(trace.return_path, "<alice@example.test>");
        // RFC 5321 4.4 trace fields, protocol type ESMTP (RFC 3848), the Maildir name
        // (the queue id of the 250) in a msg-id.
        let queue_id = end.trim_start_matches("250 2.0.0 Ok: queued as ");
        let r = &trace.received;
        assert!(
            r.starts_with(&format!(
                "Received: from client.test ([127.0.0.1]) by mx.test with ESMTP id <{queue_id}@mx.test>"
            )),
            "{name}: {r:?}"
        );
        assert!(r.contains(" for <bob@example.test>; "), "{name}: {r:?}");
        assert!(r.ends_with(" +0000"), "{name}: {r:?}");
        assert_eq!(trace.content, b"Subject: raw\r\n\r\nline\r\n");
        assert_eq!(server.tmp_files(), 0, "{name}");
    }
}

// ------------------------------------------------------------------ SASLprep

/// PLAIN and LOGIN compare the user name and password after SASLprep (RFC 4616 section 2,
/// RFC 4013), both as configured and as presented: a no-break space or an em space is a
/// space, a soft hyphen is nothing, a decomposed letter equals the composed one; a
/// prohibited character (a control character, mixed-direction text) matches nothing.
#[test]
fn auth_compares_names_and_passwords_after_saslprep() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    // Configured with a no-break space and a soft hyphen: prepared, "p äss".
    let server =
        ExampleServer::start(&["--allow-plaintext-auth", "--user", "jörg:p\u{A0}ä\u{AD}ss"]);
    let plain = |authzid: &str, user: &str, password: &str| {
        let auth = format!(
            "AUTH PLAIN {}\r\n",
            b64(&format!("{authzid}\0{user}\0{password}"))
        );
        let replies = raw_session(server.addr, &[b"EHLO client.test\r\n", auth.as_bytes()]);
        replies.last().cloned().unwrap_or_default()
    };
    for (authzid, user, password, expected) in [
        ("", "jörg", "p äss", "235 2.7.0"),
        ("", "jörg", "p\u{2003}äss", "235 2.7.0"),
        ("", "jörg", "p a\u{308}ss", "235 2.7.0"),
        ("", "jörg", "p\u{A0}ä\u{AD}ss", "235 2.7.0"),
        ("", "jo\u{308}rg", "p äss", "235 2.7.0"),
        // An authorization identity must name the same account, prepared the same way.
        ("jo\u{308}rg", "jörg", "p äss", "235 2.7.0"),
        ("root", "jörg", "p äss", "535 5.7.8"),
        ("", "jörg", "päss", "535 5.7.8"),
        ("", "jörg", "P äss", "535 5.7.8"),
        ("", "jörg", "p äss\u{7}", "535 5.7.8"),
        ("", "jörg", "p \u{5D0}äss", "535 5.7.8"),
        ("", "jorg", "p äss", "535 5.7.8"),
    ] {
        let reply = plain(authzid, user, password);
        assert!(
            reply.starts_with(expected),
            "{authzid:?} {user:?} {password:?}: {reply}"
        );
    }

    let login = |user: &str, password: &str| {
        let (user, password) = (
            format!("{}\r\n", b64(user)),
            format!("{}\r\n", b64(password)),
        );
        let lines: [&[u8]; 4] = [
            b"EHLO client.test\r\n",
            b"AUTH LOGIN\r\n",
            user.as_bytes(),
            password.as_bytes(),
        ];
        raw_session(server.addr, &lines)
            .last()
            .cloned()
            .unwrap_or_default()
    };
    let reply = login("jo\u{308}rg", "p\u{AD}\u{2003}äss");
    assert!(reply.starts_with("235 2.7.0"), "{reply}");
    let reply = login("jörg", "p äss\u{7}");
    assert!(reply.starts_with("535 5.7.8"), "{reply}");
    let log = server.guard.log();
    // The session's identity is the account's prepared name, however the client spelled it.
    assert!(log.contains(r#"mechanism="LOGIN" user="jörg""#), "{log}");
    assert!(
        log.lines()
            .filter(|l| l.contains("authenticated "))
            .all(|l| l.contains(r#"user="jörg""#)),
        "{log}"
    );
}

/// A `--user` that SASLprep rejects, or one given twice (after preparation), stops the
/// server at start with a message instead of creating an account nobody can use.
#[test]
fn unusable_accounts_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for user in ["bad:pass\u{7}", "alice:", "alice:one", "\u{AD}:x"] {
        let mut args = vec!["--user", "alice:x\u{AD}"];
        if user != "alice:one" {
            args.clear();
        }
        args.push("--user");
        args.push(user);
        let out = run(
            Command::new(example("smtp-server"))
                .args(["--listen", "127.0.0.1:0", "--maildir"])
                .arg(dir.path().join("maildir"))
                .args(&args),
            None,
            PEER_TIMEOUT,
        );
        assert!(!out.status.success(), "{user:?}: {}", out.all());
        assert!(out.stderr.contains("--user"), "{user:?}: {}", out.all());
    }
}

/// Options under which no message could ever be accepted stop every server example at
/// start with a message naming the option, instead of a server that refuses all mail:
/// `--require-auth` without any `--user` (every MAIL would get `530 5.7.0` while AUTH is
/// never offered, RFC 4954 section 6), and `--max-recipients 0` (every RCPT would get
/// `452 4.5.3`; RFC 5321 4.5.3.1.8 asks for at least 100).
#[test]
fn options_that_refuse_all_mail_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["smtp-server", "blocking", "event-loop"] {
        for (args, flag) in [
            (&["--require-auth"][..], "--require-auth"),
            (&["--max-recipients", "0"][..], "--max-recipients"),
        ] {
            let out = run(
                Command::new(example(name))
                    .args(["--listen", "127.0.0.1:0", "--maildir"])
                    .arg(dir.path().join("maildir"))
                    .args(args),
                None,
                PEER_TIMEOUT,
            );
            assert!(!out.status.success(), "{name} {args:?}: {}", out.all());
            assert!(out.stderr.contains(flag), "{name} {args:?}: {}", out.all());
        }
    }
}

/// `--max-recipients N`: the first N recipients of a transaction are accepted, the next
/// gets `452 4.5.3` (RFC 5321 4.5.3.1.10), and the message goes to the N accepted.
#[test]
fn max_recipients_is_enforced() {
    let server = ExampleServer::start(&["--max-recipients", "2"]);
    let replies = raw_session(
        server.addr,
        &[
            b"EHLO client.test\r\n",
            b"MAIL FROM:<alice@example.test>\r\n",
            b"RCPT TO:<b1@example.test>\r\n",
            b"RCPT TO:<b2@example.test>\r\n",
            b"RCPT TO:<b3@example.test>\r\n",
            b"DATA\r\n",
            b"Subject: two\r\n\r\nline\r\n.\r\n",
            b"QUIT\r\n",
        ],
    );
    let tail: Vec<&str> = replies[replies.len() - 7..replies.len() - 1]
        .iter()
        .map(|r| &r[..9])
        .collect();
    assert_eq!(
        tail,
        [
            "250 2.1.0",
            "250 2.1.5",
            "250 2.1.5",
            "452 4.5.3",
            "354 Start",
            "250 2.0.0"
        ],
        "{replies:?}"
    );
    let stored = server.only_message();
    assert_eq!(
        split_trace(&stored).content,
        b"Subject: two\r\n\r\nline\r\n"
    );
}

// ------------------------------------------------------------------ implicit TLS

/// The example with `--tls-self-signed --tls-listen <free port>` and `extra`; returns the
/// implicit-TLS address (RFC 8314). The server binds it before the main port, which
/// `ExampleServer::start` waits for.
fn implicit_tls_server(extra: &[&str]) -> (ExampleServer, std::net::SocketAddr) {
    implicit_tls_server_of("smtp-server", extra)
}

/// [`implicit_tls_server`] with another server example (`blocking`, `event-loop`).
fn implicit_tls_server_of(name: &str, extra: &[&str]) -> (ExampleServer, std::net::SocketAddr) {
    let tls_addr: std::net::SocketAddr = ([127, 0, 0, 1], peer_support::free_port()).into();
    let tls_arg = tls_addr.to_string();
    let mut args = vec!["--tls-self-signed", "--tls-listen", &tls_arg];
    args.extend_from_slice(extra);
    (ExampleServer::start_example(name, &args), tls_addr)
}

/// swaks with `--tls-on-connect`: the handshake first, then a session that offers AUTH
/// but not STARTTLS; the message is stored byte for byte and the trace says ESMTPSA.
/// The main port still offers STARTTLS.
#[test]
fn swaks_implicit_tls_auth_plain() {
    need!("swaks");
    let (server, tls_addr) = implicit_tls_server(&["--user", USER]);
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        swaks_to(tls_addr)
            .arg("--tls-on-connect")
            .args(["--auth", "PLAIN", "--auth-user", "alice"])
            .args(["--auth-password", "s3cret pass"])
            .args(["--from", "alice@example.test", "--to", "bob@example.test"])
            .arg("--data")
            .arg(format!("@{}", data.display())),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    assert!(out.stdout.contains("TLS started"), "{}", out.all());
    assert!(
        out.stdout.contains("<~  250-AUTH PLAIN LOGIN"),
        "{}",
        out.all()
    );
    assert!(!out.stdout.contains("STARTTLS"), "{}", out.all());
    assert!(out.stdout.contains("235 2.7.0"), "{}", out.all());
    let msg = server.only_message();
    let trace = split_trace(&msg);
    assert!(
        trace.received.contains("with ESMTPSA id"),
        "{}",
        trace.received
    );
    assert_eq!(trace.content, swaks_stored(MESSAGE));

    let replies = raw_session(server.addr, &[b"EHLO client.test\r\n"]);
    assert!(replies.iter().any(|r| r == "250-STARTTLS"), "{replies:?}");
}

/// curl with an `smtps://` URL (implicit TLS) and a login.
#[test]
fn curl_smtps_auth() {
    need!("curl");
    let (server, tls_addr) = implicit_tls_server(&["--user", USER]);
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        Command::new("curl")
            .args(["-sS", "--max-time", "60", "--insecure"])
            .arg(format!("smtps://{tls_addr}/client.test"))
            .args(["-u", "alice:s3cret pass", "--login-options", "AUTH=PLAIN"])
            .args(["--mail-from", "alice@example.test"])
            .args(["--mail-rcpt", "bob@example.test"])
            .arg("-T")
            .arg(&data),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    let msg = server.only_message();
    let trace = split_trace(&msg);
    assert!(
        trace.received.contains("with ESMTPSA id"),
        "{}",
        trace.received
    );
    // curl sends the file as is and ends it with CRLF "." CRLF.
    assert_eq!(trace.content, swaks_stored(MESSAGE), "{}", out.all());
}

/// A client that speaks plain SMTP to the implicit-TLS port gets no SMTP reply (the
/// handshake fails and the connection closes), and the server goes on serving both ports.
#[test]
fn plaintext_client_on_the_implicit_tls_port_is_closed() {
    use std::io::{Read, Write};
    for name in ["smtp-server", "blocking", "event-loop"] {
        let (server, tls_addr) = implicit_tls_server_of(name, &[]);
        let mut s = std::net::TcpStream::connect(tls_addr).unwrap();
        s.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        s.write_all(b"EHLO client.test\r\n").unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert!(
            !got.windows(3).any(|w| w == b"220" || w == b"250"),
            "{name}: {got:?}"
        );
        let replies = raw_session(server.addr, RAW_TRANSACTION);
        assert!(
            replies[replies.len() - 2].starts_with("250 2.0.0 Ok: queued as "),
            "{name}: {replies:?}"
        );
        assert_eq!(server.messages().len(), 1, "{name}");
    }
}

/// `--tls-listen` without a certificate is refused at start, by every server loop.
#[test]
fn implicit_tls_port_needs_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["smtp-server", "blocking", "event-loop"] {
        let out = run(
            Command::new(example(name))
                .args(["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"])
                .arg("--maildir")
                .arg(dir.path().join("maildir")),
            None,
            PEER_TIMEOUT,
        );
        assert!(!out.status.success(), "{name}: {}", out.all());
        assert!(
            out.stderr.contains("--tls-listen needs"),
            "{name}: {}",
            out.all()
        );
    }
}

// ------------------------------------------------------------------ IPv6

/// Over IPv6 loopback (curl as the client): the EHLO reply greets `[::1]` and the
/// `Received` header names the client with an RFC 5321 IPv6 address literal
/// (`[IPv6:::1]`, sections 4.1.3 and 4.4). Skipped where `::1` cannot be bound.
#[test]
fn ipv6_loopback_with_curl() {
    need!("curl");
    let Ok(probe) = std::net::TcpListener::bind("[::1]:0") else {
        println!("SKIPPED: no IPv6 loopback");
        return;
    };
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let server = ExampleServer::start_at("smtp-server", addr, &[]);
    let data = server.file("m.eml", MESSAGE);
    let out = run(
        Command::new("curl")
            .args(["-sS", "-v", "--max-time", "60"])
            .arg(format!("smtp://{addr}/client.test"))
            .args(["--mail-from", "alice@example.test"])
            .args(["--mail-rcpt", "bob@example.test"])
            .arg("-T")
            .arg(&data),
        None,
        PEER_TIMEOUT,
    )
    .ok();
    assert!(
        out.stderr.contains("< 250-mx.test Hello [::1]"),
        "{}",
        out.all()
    );
    let msg = server.only_message();
    let trace = split_trace(&msg);
    assert!(
        trace
            .received
            .starts_with("Received: from client.test ([IPv6:::1]) by mx.test with ESMTP id "),
        "{:?}",
        trace.received
    );
    assert_eq!(trace.content, swaks_stored(MESSAGE));
}

// ------------------------------------------------------------------ back-pressure

/// A client that pipelines thousands of commands and reads no reply until it has sent
/// them all: the replies (about 1.5 MB of EHLO replies) outgrow the socket buffers, the
/// server keeps what the socket does not take and sends it when it can, and every reply
/// arrives, in order, once the client reads. For every server loop.
#[test]
fn replies_to_a_client_that_does_not_read_are_all_delivered() {
    use std::io::{BufRead, BufReader, Write};
    const N: usize = 9_000;
    for name in ["smtp-server", "blocking", "event-loop"] {
        let server = ExampleServer::start_example(name, &[]);
        // A small receive window, so that the server's socket soon takes no more.
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&server.addr.into()).unwrap();
        let stream: std::net::TcpStream = socket.into();
        stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            writer
                .write_all(&b"EHLO client.test\r\n".repeat(N))
                .unwrap();
            writer
        });
        // Let the replies pile up before reading any.
        std::thread::sleep(Duration::from_millis(300));
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("220 "), "{name}: {line:?}");
        let (mut replies, mut bytes) = (0, 0);
        while replies < N {
            line.clear();
            let n = reader.read_line(&mut line).unwrap();
            assert!(n > 0, "{name}: EOF after {replies} replies");
            bytes += n;
            match line.get(..4) {
                Some("250-") => {}
                Some("250 ") => replies += 1,
                _ => panic!("{name}: after {replies} replies: {line:?}"),
            }
        }
        assert!(bytes > 1_000_000, "{name}: {bytes}");
        let mut writer = sender.join().unwrap();
        writer.write_all(b"QUIT\r\n").unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("221 "), "{name}: {line:?}");
    }
}

// ------------------------------------------------------------------ DSN (RFC 3461)

/// Sends with smtplib asking for success reports (RET, ENVID, NOTIFY, ORCPT), then parses
/// the report the server stored with Python's `email` package and prints what it found.
const SMTPLIB_DSN: &str = r#"
import email, email.policy, os, smtplib, sys, time

port, new = int(sys.argv[1]), sys.argv[2]
msg = b"From: alice@example.test\r\nSubject: dsn test\r\nMessage-ID: <dsn@example.test>\r\n\r\nsecret body\r\n"
with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30) as s:
    s.ehlo()
    assert s.has_extn("dsn"), s.esmtp_features
    refused = s.sendmail("alice@example.test", ["bob@example.test", "carol@example.test"], msg,
                         mail_options=["RET=FULL", "ENVID=QQ+2B314159"],
                         rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;orig+2Bx@example.test"])
    assert refused == {}, refused
    # Only FAILURE, or NEVER: no report for these.
    s.sendmail("alice@example.test", ["dave@example.test"], msg, rcpt_options=["NOTIFY=FAILURE"])
    s.sendmail("alice@example.test", ["erin@example.test"], msg, rcpt_options=["NOTIFY=NEVER"])
    # A null reverse-path never gets a report.
    s.sendmail("<>", ["frank@example.test"], msg, rcpt_options=["NOTIFY=SUCCESS"])

files = sorted(os.listdir(new))
assert len(files) == 5, files
reports = []
for name in files:
    with open(os.path.join(new, name), "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.compat32)
    if m["Return-Path"] == "<>" and m.get_content_type() == "multipart/report":
        reports.append(m)
assert len(reports) == 1, [open(os.path.join(new, n), "rb").read()[:200] for n in files]
r = reports[0]
assert r.get_param("report-type") == "delivery-status", r["Content-Type"]
assert r["To"] == "<alice@example.test>", r["To"]
assert r["Auto-Submitted"] == "auto-replied"
text, status, headers = r.get_payload()
assert text.get_content_type() == "text/plain"
assert status.get_content_type() == "message/delivery-status"
per_message, *per_rcpt = status.get_payload()
print("reporting-mta", per_message["Reporting-MTA"])
print("envid", per_message["Original-Envelope-Id"])
for b in per_rcpt:
    print("rcpt", b["Final-Recipient"], "|", b["Original-Recipient"], "|", b["Action"], "|", b["Status"])
assert headers.get_content_type() == "text/rfc822-headers", headers.get_content_type()
returned = headers.get_payload()
assert "Subject: dsn test" in returned, returned
assert "secret body" not in returned, returned
print("ok")
"#;

/// RFC 3461: a recipient with NOTIFY=SUCCESS gets a "delivered" report (RFC 3464) in the
/// sender's mailbox, which for these examples is the one Maildir; NOTIFY=FAILURE or NEVER,
/// and a null reverse-path, get none. Checked with Python's `email` parser, for every
/// server example.
#[test]
fn smtplib_notify_success_gets_a_delivery_report() {
    let py = require_python!("smtplib");
    for name in ["smtp-server", "blocking", "event-loop"] {
        let server = ExampleServer::start_example(name, &[]);
        let out = run(
            Command::new(&py)
                .args(["-c", SMTPLIB_DSN, &server.addr.port().to_string()])
                .arg(server.new_dir()),
            None,
            PEER_TIMEOUT,
        );
        assert!(
            out.status.success() && out.stdout.ends_with("ok\n"),
            "{name}: {}\nserver:\n{}",
            out.all(),
            server.guard.log()
        );
        for want in [
            "reporting-mta dns; mx.test\n",
            "envid QQ+314159\n",
            "rcpt rfc822; bob@example.test | rfc822; orig+x@example.test | delivered | 2.0.0\n",
            "rcpt rfc822; carol@example.test | rfc822; orig+x@example.test | delivered | 2.0.0\n",
        ] {
            assert!(
                out.stdout.contains(want),
                "{name}: {want:?} in {}",
                out.all()
            );
        }
        assert!(
            server.guard.log().contains("delivery report stored"),
            "{name}"
        );
    }
}

/// The report for an SMTPUTF8 transaction uses the RFC 6533 types and `utf-8` addresses.
#[test]
fn an_smtputf8_transaction_gets_a_global_delivery_report() {
    let server = ExampleServer::start(&[]);
    let replies = raw_session(
        server.addr,
        &[
            b"EHLO client.test\r\n",
            "MAIL FROM:<jösé@exämple.test> SMTPUTF8\r\n".as_bytes(),
            "RCPT TO:<ünï@exämple.test> NOTIFY=SUCCESS\r\n".as_bytes(),
            b"DATA\r\n",
            "Subject: ü\r\n\r\nbody\r\n.\r\n".as_bytes(),
            b"QUIT\r\n",
        ],
    );
    assert!(
        replies
            .iter()
            .any(|r| r.starts_with("250 2.0.0 Ok: queued")),
        "{replies:?}"
    );
    let report = server.delivery_report();
    for want in [
        "To: <jösé@exämple.test>\r\n",
        // RFC 2045 6.4: each part holding 8-bit octets says so, and so does the
        // multipart around them (RFC 6533 6.2, 6.3).
        "Content-Type: multipart/report; report-type=global-delivery-status;\r\n",
        "\r\nContent-Transfer-Encoding: 8bit\r\nDate: ",
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
        "Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n",
        "Final-Recipient: utf-8; ünï@exämple.test\r\nAction: delivered\r\nStatus: 2.0.0\r\n",
        "Content-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: ü\r\n\r\n--",
    ] {
        assert!(report.contains(want), "{want:?} in\n{report}");
    }
    assert!(!report.contains("body"), "{report}");
}

/// `--max-connections N`: the connection past N gets `421 4.3.2` instead of the greeting
/// and is closed (RFC 5321 3.1); once one of the N leaves, a new one is served. For every
/// server example.
#[test]
fn connections_past_the_limit_get_421() {
    use std::io::{BufRead, BufReader};
    let greet = |addr| {
        let stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).expect("greeting");
        (reader, line)
    };
    for name in ["smtp-server", "blocking", "event-loop"] {
        let server = ExampleServer::start_example(name, &["--max-connections", "2"]);
        // The start-up probe's connection may still count for a moment: wait for it.
        let served = || {
            let deadline = std::time::Instant::now() + PEER_TIMEOUT;
            loop {
                let (conn, l) = greet(server.addr);
                if l.starts_with("220 ") {
                    return conn;
                }
                assert!(std::time::Instant::now() < deadline, "{name}: still {l:?}");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        let first = served();
        let _second = served();
        let (mut third, l3) = greet(server.addr);
        assert_eq!(
            l3, "421 4.3.2 mx.test Too many connections, try again later\r\n",
            "{name}"
        );
        let mut rest = String::new();
        assert_eq!(
            third.read_line(&mut rest).unwrap_or(0),
            0,
            "{name}: {rest:?}"
        );
        drop(first);
        // The server notices the close when it reads the EOF.
        let _again = served();
    }
}

// ------------------------------------------------------------------ clients that stall

/// Reads one (possibly multi-line) reply; returns its last line.
fn last_reply_line(r: &mut std::io::BufReader<std::net::TcpStream>) -> String {
    use std::io::BufRead;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).expect("reply");
        if line.as_bytes().get(3) != Some(&b'-') || line.is_empty() {
            return line.trim_end().to_string();
        }
    }
}

/// Waits (up to `PEER_TIMEOUT`) until a new connection gets `220`, not `421`: the one
/// `--max-connections` slot is free again.
fn slot_freed(addr: std::net::SocketAddr) -> Option<Duration> {
    use std::io::BufRead;
    let start = std::time::Instant::now();
    while start.elapsed() < PEER_TIMEOUT {
        let s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        let mut line = String::new();
        let mut reader = std::io::BufReader::new(s);
        let _ = reader.read_line(&mut line);
        if line.starts_with("220 ") {
            let found = start.elapsed();
            // The probe gives its slot back: QUIT, the server's close, and a moment for
            // the server to count the session gone, so a caller that goes on to fill
            // the slots finds them all free.
            use std::io::{Read, Write};
            let _ = reader.get_mut().write_all(b"QUIT\r\n");
            let _ = reader.read_to_end(&mut Vec::new());
            std::thread::sleep(Duration::from_millis(100));
            return Some(found);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// RFC 5321 4.5.3.2, `--timeout`: a client that sends STARTTLS and never starts the
/// handshake is a silent client, dropped after the timeout, and its `--max-connections`
/// slot is freed. For every server example.
#[test]
fn a_stalled_starttls_handshake_times_out() {
    use std::io::Write;
    for name in ["smtp-server", "blocking", "event-loop"] {
        let args = [
            "--tls-self-signed",
            "--timeout",
            "1",
            "--max-connections",
            "1",
        ];
        let server = ExampleServer::start_example(name, &args);
        // The start-up probe's connection may still count for a moment.
        let (mut s, mut r) = loop {
            let s = std::net::TcpStream::connect(server.addr).unwrap();
            s.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
            let mut r = std::io::BufReader::new(s.try_clone().unwrap());
            if last_reply_line(&mut r).starts_with("220 ") {
                break (s, r);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        s.write_all(b"EHLO client.test\r\n").unwrap();
        last_reply_line(&mut r);
        s.write_all(b"STARTTLS\r\n").unwrap();
        assert!(last_reply_line(&mut r).starts_with("220 "), "{name}");
        // No ClientHello follows.
        assert!(
            slot_freed(server.addr).is_some(),
            "{name}: the stalled handshake holds its slot"
        );
        drop(s);
    }
}

/// A client that pipelines commands and never reads the replies: once the socket buffers
/// are full the server can only wait for it, which is as silent as sending nothing. It is
/// dropped after `--timeout` and its `--max-connections` slot freed. For every server
/// example.
#[test]
fn a_client_that_never_reads_is_dropped_after_the_timeout() {
    use std::io::Write;
    for name in ["smtp-server", "blocking", "event-loop"] {
        let server =
            ExampleServer::start_example(name, &["--timeout", "1", "--max-connections", "1"]);
        // Wait for the start-up probe's slot, then take the only one.
        assert!(slot_freed(server.addr).is_some(), "{name}");
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&server.addr.into()).unwrap();
        let stream: std::net::TcpStream = socket.into();
        stream.set_write_timeout(Some(PEER_TIMEOUT)).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let _ = writer.write_all(&b"EHLO client.test\r\n".repeat(20_000));
        });
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            slot_freed(server.addr).is_some(),
            "{name}: the client that never reads holds its slot"
        );
        drop(stream);
        let _ = sender.join();
    }
}

/// The same client, but its QUIT comes in the read whose replies fill the socket: the
/// session is over with its last replies still unwritten. The connection must not wait for
/// the client to read them forever: it is dropped after `--timeout` and its slot freed.
#[test]
fn a_closed_session_whose_client_never_reads_is_dropped_after_the_timeout() {
    use std::io::Write;
    for name in ["smtp-server", "blocking", "event-loop"] {
        let server =
            ExampleServer::start_example(name, &["--timeout", "1", "--max-connections", "1"]);
        assert!(slot_freed(server.addr).is_some(), "{name}");
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&server.addr.into()).unwrap();
        let mut stream: std::net::TcpStream = socket.into();
        stream.set_write_timeout(Some(PEER_TIMEOUT)).unwrap();
        // 54 KB in one write (one read of the server): about 700 KB of EHLO replies, then
        // the QUIT.
        let mut burst = b"EHLO client.test\r\n".repeat(3_000);
        burst.extend_from_slice(b"QUIT\r\n");
        stream.write_all(&burst).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            slot_freed(server.addr).is_some(),
            "{name}: the closed session holds its slot"
        );
        drop(stream);
    }
}

/// RFC 5321 4.4: the `from` of a `Received` header is a Domain or an address literal,
/// and the date follows the only `;` (RFC 5322 3.6.7). The machine takes any EHLO
/// argument; an unfit one is written as `unknown`, so `EHLO x; <date>` cannot forge the
/// trace date and `EHLO a(b` cannot open a comment.
#[test]
fn the_received_header_takes_only_a_domain_from_ehlo() {
    let server = ExampleServer::start(&[]);
    let helos = [
        ("foo bar", "unknown"),
        ("evil; Mon, 1 Jan 2001 00:00:00 +0000", "unknown"),
        ("a(b", "unknown"),
        ("my_host.example", "my_host.example"),
        ("[192.0.2.1]", "[192.0.2.1]"),
    ];
    for (helo, _) in helos {
        let ehlo = format!("EHLO {helo}\r\n");
        let replies = raw_session(
            server.addr,
            &[
                ehlo.as_bytes(),
                b"MAIL FROM:<a@example.test>\r\n",
                b"RCPT TO:<b@example.test>\r\n",
                b"DATA\r\n",
                b"Subject: x\r\n\r\nbody\r\n.\r\n",
                b"QUIT\r\n",
            ],
        );
        assert!(
            replies.iter().any(|r| r.starts_with("250 2.0.0 Ok")),
            "{helo}: {replies:?}"
        );
    }
    let mut froms: Vec<String> = server
        .messages()
        .iter()
        .map(|m| {
            let t = split_trace(m);
            assert_eq!(t.received.matches(';').count(), 1, "{}", t.received);
            let from = t.received.strip_prefix("Received: from ").unwrap();
            from.split(" (").next().unwrap().to_string()
        })
        .collect();
    froms.sort();
    let mut want: Vec<String> = helos.iter().map(|(_, w)| w.to_string()).collect();
    want.sort();
    assert_eq!(froms, want);
}

/// A connection does not get to try passwords without end: after five wrong ones the
/// server answers `421 4.7.0` and closes (`ServerLimits::max_auth_failures`).
#[test]
fn wrong_passwords_end_the_session_after_five() {
    use std::io::Write;
    let server = ExampleServer::start(&["--user", "alice:secret"]);
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
    let mut r = std::io::BufReader::new(s.try_clone().unwrap());
    last_reply_line(&mut r);
    s.write_all(b"EHLO client.test\r\n").unwrap();
    last_reply_line(&mut r);
    let mut lines = Vec::new();
    for _ in 0..5 {
        // "\0alice\0wrong"
        s.write_all(b"AUTH PLAIN AGFsaWNlAHdyb25n\r\n").unwrap();
        lines.push(last_reply_line(&mut r));
    }
    assert!(
        lines.iter().all(|l| l.starts_with("535 5.7.8")),
        "{lines:?}"
    );
    assert!(last_reply_line(&mut r).starts_with("421 4.7.0"));
    let mut rest = String::new();
    assert_eq!(
        std::io::BufRead::read_line(&mut r, &mut rest).unwrap_or(0),
        0,
        "{rest:?}"
    );
}

/// A TLS client (accepting any certificate) on `addr` with a small receive buffer, so
/// that the server's socket soon takes no more.
fn tls_client(
    addr: std::net::SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(PEER_TIMEOUT)).unwrap();
    let config = tls::insecure_client_config().unwrap();
    let name = rustls::pki_types::ServerName::try_from("mx.test").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    rustls::StreamOwned::new(conn, stream)
}

/// Under TLS too, pipelined commands whose replies far exceed what the TLS layer buffers
/// (rustls takes 64 KiB of output at a time) all get their replies, in order, from a
/// client that reads them only later; then QUIT gets its 221 and the TLS stream ends
/// with close_notify. For every server loop, on the implicit-TLS port.
#[test]
fn tls_replies_to_a_client_that_does_not_read_are_all_delivered() {
    use std::io::{BufRead, BufReader, Write};
    const N: usize = 3_000;
    for name in ["smtp-server", "blocking", "event-loop"] {
        let (_server, tls_addr) = implicit_tls_server_of(name, &[]);
        let mut client = tls_client(tls_addr);
        // About 54 KB of commands (the socket buffers take them), over 400 KB of replies.
        client
            .write_all(&b"EHLO client.test\r\n".repeat(N))
            .unwrap();
        client.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let mut reader = BufReader::new(client);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("220 "), "{name}: {line:?}");
        let mut replies = 0;
        while replies < N {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .unwrap_or_else(|e| panic!("{name}: after {replies} replies: {e}"));
            assert!(n > 0, "{name}: EOF after {replies} replies");
            match line.get(..4) {
                Some("250-") => {}
                Some("250 ") => replies += 1,
                _ => panic!("{name}: after {replies} replies: {line:?}"),
            }
        }
        reader.get_mut().write_all(b"QUIT\r\n").unwrap();
        reader.get_mut().flush().unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("221 "), "{name}: {line:?}");
        // The end of the stream is a close_notify, not a bare TCP close (which rustls
        // reports as an error: a truncation attack looks the same).
        line.clear();
        assert_eq!(
            reader.read_line(&mut line).map_err(|e| e.kind()),
            Ok(0),
            "{name}: {line:?}"
        );
    }
}

/// RFC 5321 4.5.3.2, `--timeout`: a TLS handshake is bounded as a whole, not per read. A
/// client that trickles a ClientHello one byte every 300 ms (each byte well within the
/// timeout) is dropped about one timeout after it started, on the implicit-TLS port and
/// after STARTTLS. For every server example.
#[test]
fn a_trickled_tls_handshake_times_out_as_a_whole() {
    use std::io::{Read, Write};
    for name in ["smtp-server", "blocking", "event-loop"] {
        let (server, tls_addr) = implicit_tls_server_of(name, &["--timeout", "1"]);
        for starttls in [false, true] {
            let addr = if starttls { server.addr } else { tls_addr };
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
            if starttls {
                let mut r = std::io::BufReader::new(s.try_clone().unwrap());
                assert!(last_reply_line(&mut r).starts_with("220 "), "{name}");
                s.write_all(b"EHLO client.test\r\n").unwrap();
                last_reply_line(&mut r);
                s.write_all(b"STARTTLS\r\n").unwrap();
                assert!(last_reply_line(&mut r).starts_with("220 "), "{name}");
            }
            let started = std::time::Instant::now();
            // A handshake record of 512 octets, then its body byte by byte.
            s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let closed = loop {
                if started.elapsed() > Duration::from_secs(10) {
                    break false;
                }
                let mut b = [0u8; 64];
                match s.read(&mut b) {
                    Ok(0) => break true,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => break true,
                }
                if s.write_all(&[0x01]).is_err() {
                    break true;
                }
            };
            let waited = started.elapsed();
            assert!(
                closed && waited < Duration::from_secs(4),
                "{name} starttls={starttls}: still open after {waited:?}"
            );
        }
    }
}

/// Connections on the implicit-TLS port that never start their handshake hold a
/// `--max-connections` slot each while they wait (a plain client then gets `421`), and no
/// more: the ones past the limit are closed at once, so the thread-per-connection server
/// does not grow a thread for each of them, nor any server a socket. Their slots are
/// freed when they go.
#[test]
fn stalled_implicit_tls_handshakes_count_against_max_connections() {
    use std::io::Read;
    for name in ["smtp-server", "blocking", "event-loop"] {
        let (server, tls_addr) =
            implicit_tls_server_of(name, &["--max-connections", "3", "--timeout", "60"]);
        assert!(slot_freed(server.addr).is_some(), "{name}");
        let stalled: Vec<std::net::TcpStream> = (0..40)
            .map(|_| std::net::TcpStream::connect(tls_addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", server.guard.child.id())).unwrap();
        let threads: usize = status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap();
        assert!(threads <= 8, "{name}: {threads} threads");
        // Those past the limit were closed.
        let closed = stalled
            .iter()
            .filter(|s| {
                s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
                let mut b = [0u8; 16];
                let waiting = std::io::ErrorKind::WouldBlock;
                let timed_out = std::io::ErrorKind::TimedOut;
                !matches!((&**s).read(&mut b), Err(ref e) if e.kind() == waiting || e.kind() == timed_out)
            })
            .count();
        assert_eq!(closed, 37, "{name}");
        let s = std::net::TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        let mut r = std::io::BufReader::new(s);
        assert!(last_reply_line(&mut r).starts_with("421 4.3.2 "), "{name}");
        drop(stalled);
        assert!(slot_freed(server.addr).is_some(), "{name}");
    }
}

/// Out of file descriptors (`EMFILE`), a server cannot accept; once connections close and
/// descriptors are free again, the clients that waited in the listen queue meanwhile are
/// served, without another connection arriving to wake the server. For every server loop,
/// run with `ulimit -n 40`.
#[test]
fn clients_queued_while_out_of_descriptors_are_served_later() {
    use std::io::BufRead;
    for name in ["smtp-server", "blocking", "event-loop"] {
        let dir = tempfile::tempdir().unwrap();
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], peer_support::free_port()).into();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "ulimit -n 40 && exec \"$0\" \"$@\""])
            .arg(example(name))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--maildir")
            .arg(dir.path().join("maildir"))
            .args(["--hostname", "mx.test", "--timeout", "60"])
            .env("RUST_LOG", "info");
        let guard = peer_support::start_listening(cmd, addr, dir.path().join("server.log"));
        // More connections than descriptors.
        let held: Vec<std::net::TcpStream> = (0..60)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let waiting = std::net::TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
        waiting
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut line = String::new();
        let read = std::io::BufReader::new(waiting).read_line(&mut line);
        assert!(
            line.starts_with("220 "),
            "{name}: {read:?} {line:?}\n{}",
            guard.log()
        );
    }
}
