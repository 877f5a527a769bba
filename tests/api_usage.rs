//! The public API as a new user meets it: a submission client, an MX server policy and a
//! proxy-style command/reply rewrite, written from the rustdoc and the README only. A
//! `Client` talks to a `Server` in memory by shuttling bytes; TLS is simulated by calling
//! `tls_established` on both sides at the handshake point and going on in plaintext.

use ehlo::client::{self, Client, ClientConfig, Credentials, Envelope, MessageError, TlsPolicy};
use ehlo::server::{self, Decision, Mechanism, Server, ServerConfig};
use ehlo::syntax::command::{parse_command, Command};
use ehlo::syntax::path::{ForwardPath, ReversePath};
use ehlo::syntax::reply::ReplyParser;
use ehlo::syntax::ParseOptions;
use ehlo::{EnhancedCode, Reply};
use std::time::Instant;

/// What the caller's server side does with one event that needs a decision.
type Policy<'a> = dyn FnMut(&server::Event, &mut Vec<u8>) -> Decision + 'a;

/// Everything the two sides said, for assertions.
#[derive(Default)]
struct Transcript {
    client_events: Vec<client::Event>,
    server_events: Vec<server::Event>,
    /// Client to server bytes.
    c2s: Vec<u8>,
    /// Server to client bytes.
    s2c: Vec<u8>,
}

/// Runs `client` against `server` until neither has anything left to say. `policy`
/// answers every server event that needs a decision; `MessageChunk`s are appended to the
/// buffer it is given (the "storage" of the message in progress).
fn run(client: &mut Client, server: &mut Server, now: Instant, policy: &mut Policy) -> Transcript {
    let mut t = Transcript::default();
    let mut message = Vec::new();
    for _round in 0..1000 {
        let mut progress = false;
        // Server: events and decisions.
        let mut upgrade = false;
        while let Some(event) = server.poll_event() {
            progress = true;
            match &event {
                server::Event::MessageChunk(bytes) => message.extend_from_slice(bytes),
                server::Event::MessageAborted(_) | server::Event::Reset => message.clear(),
                server::Event::TlsUpgrade => upgrade = true,
                e if e.needs_decision() => {
                    let decision = policy(e, &mut message);
                    server.decide(decision);
                }
                _ => {}
            }
            t.server_events.push(event);
        }
        // Server to client. After a TlsUpgrade the go-ahead goes out first, then the
        // handshake would run: here it is done at once.
        while let Some(bytes) = server.poll_transmit() {
            progress = true;
            t.s2c.extend_from_slice(&bytes);
            client.receive(&bytes);
        }
        if upgrade {
            server.tls_established().unwrap();
        }
        // Client: events.
        while let Some(event) = client.poll_event() {
            progress = true;
            if let client::Event::StartTls { anonymous } = event {
                assert!(!anonymous);
                // "drain poll_transmit (nothing more comes), run the TLS handshake".
                assert!(client.poll_transmit(now).is_none());
                client.tls_established().unwrap();
            }
            t.client_events.push(event);
        }
        // Client to server.
        while let Some(bytes) = client.poll_transmit(now) {
            progress = true;
            t.c2s.extend_from_slice(&bytes);
            server.receive(now, &bytes);
        }
        if !progress {
            return t;
        }
    }
    panic!("the session did not settle");
}

fn sender_domain<'a>(from: &'a ReversePath<'_>) -> Option<&'a str> {
    from.mailbox()?.domain().map(|d| d.as_str())
}

fn recipient_domain<'a>(to: &'a ForwardPath<'_>) -> Option<&'a str> {
    to.mailbox()?.domain().map(|d| d.as_str())
}

/// Job 1: a submission client. EHLO, STARTTLS, AUTH PLAIN, one message to two recipients
/// with one refused, per-recipient results.
#[test]
fn submission_client_starttls_auth_plain_two_recipients() {
    let now = Instant::now();

    let mut sconfig = ServerConfig::new("submit.example.test");
    sconfig.extensions.starttls = true;
    sconfig.auth.mechanisms = vec![Mechanism::new("PLAIN")];
    sconfig.auth.require_auth = true;
    sconfig.auth.builtin_exchanges = true;
    let mut server = Server::new(sconfig, now);

    let mut cconfig = ClientConfig::new("laptop.example.test");
    cconfig.tls = TlsPolicy::Required;
    cconfig.credentials = Some(Credentials::Password {
        authzid: None,
        username: "alice".into(),
        password: "s3cret".into(),
    });
    let mut client = Client::new(cconfig, now);
    let envelope = Envelope::new("alice@example.test")
        .unwrap()
        .recipient("bob@example.test")
        .unwrap()
        .recipient("nobody@example.test")
        .unwrap();
    let id = client
        .send(envelope, "Subject: hi\r\n\r\nHello Bob\r\n")
        .unwrap();
    client.quit();

    let mut stored: Vec<Vec<u8>> = Vec::new();
    let mut policy = |event: &server::Event, message: &mut Vec<u8>| match event {
        server::Event::AuthVerify { credentials, .. } => {
            if credentials.mechanism() == ehlo::sasl::Mechanism::Plain
                && credentials.verify_password("alice", "s3cret")
            {
                Decision::AuthSuccess {
                    identity: "alice".into(),
                }
            } else {
                Decision::AuthFailure
            }
        }
        server::Event::RcptTo { to, .. } if to.to_string() == "<nobody@example.test>" => {
            Decision::Reply(Reply::new(
                550,
                Some(EnhancedCode::new(5, 1, 1)),
                "No such user",
            ))
        }
        server::Event::MessageEnd { size } => {
            assert_eq!(*size, message.len() as u64);
            stored.push(std::mem::take(message));
            Decision::Accept
        }
        _ => Decision::Accept,
    };
    let t = run(&mut client, &mut server, now, &mut policy);

    // The wire: EHLO, STARTTLS, EHLO again under "TLS", AUTH PLAIN with an initial
    // response (RFC 4954 section 4), then the pipelined transaction.
    let c2s = String::from_utf8(t.c2s).unwrap();
    assert!(c2s.starts_with(
        "EHLO laptop.example.test\r\nSTARTTLS\r\nEHLO laptop.example.test\r\n\
         AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n"
    ));
    assert!(c2s.ends_with("QUIT\r\n"));
    assert!(client.is_tls() && server.is_tls());
    assert_eq!(server.authenticated(), Some("alice"));

    // The events the client reported, in the order a caller reads them.
    let ev = &t.client_events;
    assert!(ev
        .iter()
        .any(|e| matches!(e, client::Event::StartTls { .. })));
    assert!(ev.iter().any(
        |e| matches!(e, client::Event::Authenticated { mechanism, .. } if mechanism == "PLAIN")
    ));
    let per_rcpt: Vec<(usize, bool, u16)> = ev
        .iter()
        .filter_map(|e| match e {
            client::Event::RecipientResult {
                message,
                index,
                accepted,
                reply,
            } => {
                assert_eq!(*message, id);
                Some((*index, *accepted, reply.code.0))
            }
            _ => None,
        })
        .collect();
    assert_eq!(per_rcpt, [(0, true, 250), (1, false, 550)]);
    let (result, recipients) = ev
        .iter()
        .find_map(|e| match e {
            client::Event::MessageResult {
                message,
                result,
                recipients,
                ..
            } if *message == id => Some((result, recipients)),
            _ => None,
        })
        .expect("a MessageResult");
    assert_eq!(result.as_ref().unwrap().code.0, 250);
    assert!(recipients[0].accepted());
    assert!(!recipients[1].accepted());
    let refused = recipients[1].reply.as_ref().unwrap();
    assert_eq!(refused.enhanced, Some(EnhancedCode::new(5, 1, 1)));
    assert_eq!(refused.text, "No such user");
    // Envelope::deferred only picks recipients refused as "too many": none here.
    assert!(matches!(
        ev.last(),
        Some(client::Event::Closed(client::CloseReason::Quit(Some(_))))
    ));
    assert!(client.is_closed() && server.is_closed());

    assert_eq!(stored, [b"Subject: hi\r\n\r\nHello Bob\r\n".to_vec()]);
}

/// The MX policy of job 2, as a server configuration and a decision function.
struct Mx {
    stored: Vec<Vec<u8>>,
    storage_fails: bool,
}

impl Mx {
    fn config() -> ServerConfig {
        let mut config = ServerConfig::new("mx.example.test");
        config.limits.max_message_size = 1000;
        config
    }

    fn decide(&mut self, event: &server::Event, message: &mut Vec<u8>) -> Decision {
        match event {
            server::Event::MailFrom { from, .. } => {
                match sender_domain(from) {
                    Some(d) if d.eq_ignore_ascii_case("spam.test") => Decision::Reply(Reply::new(
                        550,
                        Some(EnhancedCode::new(5, 7, 1)),
                        "Sender refused",
                    )),
                    // The null reverse-path (bounces) must be accepted (RFC 5321 4.5.5).
                    _ => Decision::Accept,
                }
            }
            server::Event::RcptTo { to, .. } => match recipient_domain(to) {
                Some(d) if d.eq_ignore_ascii_case("example.test") => Decision::Accept,
                _ => Decision::Reply(Reply::new(
                    550,
                    Some(EnhancedCode::new(5, 7, 1)),
                    "Relaying denied",
                )),
            },
            server::Event::MessageEnd { .. } => {
                let body = std::mem::take(message);
                if self.storage_fails {
                    Decision::Reply(Reply::new(
                        451,
                        Some(EnhancedCode::new(4, 3, 0)),
                        "Storage failure, try again later",
                    ))
                } else {
                    self.stored.push(body);
                    Decision::Accept
                }
            }
            _ => Decision::Default,
        }
    }
}

fn mx_client(now: Instant) -> Client {
    let mut config = ClientConfig::new("relay.example.net");
    config.tls = TlsPolicy::Never;
    Client::new(config, now)
}

/// One message from `from` to `to` through the MX policy, in memory; the policy (with
/// what it stored) and the transcript.
fn mx_send(storage_fails: bool, from: &str, to: &[&str], body: String) -> (Mx, Transcript) {
    let now = Instant::now();
    let mut mx = Mx {
        stored: Vec::new(),
        storage_fails,
    };
    let mut server = Server::new(Mx::config(), now);
    let mut client = mx_client(now);
    let mut env = Envelope::new(from).unwrap();
    for r in to {
        env = env.recipient(r).unwrap();
    }
    client.send(env, body).unwrap();
    client.quit();
    let t = run(&mut client, &mut server, now, &mut |e, m| mx.decide(e, m));
    // Whatever happened to the message, the session ends with QUIT on both sides.
    assert!(client.is_closed() && server.is_closed());
    (mx, t)
}

fn message_result(t: &Transcript) -> &Result<Reply, MessageError> {
    t.client_events
        .iter()
        .find_map(|e| match e {
            client::Event::MessageResult { result, .. } => Some(result),
            _ => None,
        })
        .expect("a MessageResult")
}

/// Job 2: an MX server. The accepted message is stored as it arrived, the relay attempt
/// gets 550, the refused sender gets 550 at MAIL.
#[test]
fn mx_policy_accepts_local_domain_and_stores_message() {
    let (mut mx, t) = mx_send(
        false,
        "carol@example.net",
        &["bob@EXAMPLE.test", "someone@elsewhere.test"],
        "Subject: to bob\r\n\r\n.leading dot\r\n".to_string(),
    );

    assert_eq!(message_result(&t).as_ref().unwrap().code.0, 250);
    // CHUNKING is on by default, so the client sent BDAT: no dot-stuffing on the wire.
    let c2s = String::from_utf8(t.c2s).unwrap();
    assert!(
        c2s.contains("BDAT 33 LAST\r\nSubject: to bob\r\n\r\n.leading dot\r\n"),
        "{c2s}"
    );
    assert_eq!(
        mx.stored,
        [b"Subject: to bob\r\n\r\n.leading dot\r\n".to_vec()]
    );
    let s2c = String::from_utf8(t.s2c).unwrap();
    assert!(s2c.contains("550 5.7.1 Relaying denied\r\n"), "{s2c}");
    // The EHLO reply advertises the size limit.
    assert!(s2c.contains("250-SIZE 1000\r\n"), "{s2c}");

    // The same message over DATA: dot-stuffed on the wire, unstuffed in storage.
    let now = Instant::now();
    let mut server = Server::new(Mx::config(), now);
    let mut config = ClientConfig::new("relay.example.net");
    config.tls = TlsPolicy::Never;
    config.chunking = false;
    let mut client = Client::new(config, now);
    let env = Envelope::new("carol@example.net")
        .unwrap()
        .recipient("bob@example.test")
        .unwrap();
    client
        .send(env, "Subject: to bob\r\n\r\n.leading dot\r\n")
        .unwrap();
    client.quit();
    let t = run(&mut client, &mut server, now, &mut |e, m| mx.decide(e, m));
    assert_eq!(message_result(&t).as_ref().unwrap().code.0, 250);
    let c2s = String::from_utf8(t.c2s).unwrap();
    assert!(
        c2s.contains("DATA\r\nSubject: to bob\r\n\r\n..leading dot\r\n.\r\n"),
        "{c2s}"
    );
    assert_eq!(mx.stored.len(), 2);
    assert_eq!(mx.stored[0], mx.stored[1]);
}

#[test]
fn mx_policy_refuses_sender_domain_at_mail() {
    let (mx, t) = mx_send(
        false,
        "bot@Spam.test",
        &["bob@example.test"],
        "Subject: buy\r\n\r\nnow\r\n".to_string(),
    );

    match message_result(&t) {
        Err(MessageError::SenderRejected(reply)) => {
            assert_eq!(reply.code.0, 550);
            assert_eq!(reply.enhanced, Some(EnhancedCode::new(5, 7, 1)));
        }
        other => panic!("expected SenderRejected, got {other:?}"),
    }
    assert!(mx.stored.is_empty());
    // No transaction started on the server, no content was read.
    assert!(!t
        .server_events
        .iter()
        .any(|e| matches!(e, server::Event::MessageEnd { .. })));
}

#[test]
fn mx_policy_size_limit_up_front_and_in_transit() {
    let now = Instant::now();
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(2000));

    // A client that honours SIZE refuses the message before sending anything.
    let (mut mx, t) = mx_send(
        false,
        "carol@example.net",
        &["bob@example.test"],
        big.clone(),
    );
    assert!(matches!(
        message_result(&t),
        Err(MessageError::TooLarge { limit: 1000, .. })
    ));
    assert!(!t.c2s.windows(4).any(|w| w == b"MAIL"));

    // A client that ignores SIZE: the server refuses in transit with 552 5.3.4 and the
    // policy never sees a MessageEnd.
    let mut server = Server::new(Mx::config(), now);
    let input = format!(
        "EHLO raw.example.net\r\nMAIL FROM:<carol@example.net>\r\nRCPT TO:<bob@example.test>\r\n\
         DATA\r\n{big}.\r\nQUIT\r\n"
    );
    server.receive(now, input.as_bytes());
    let mut message = Vec::new();
    let mut aborted = false;
    while let Some(event) = server.poll_event() {
        match &event {
            server::Event::MessageChunk(b) => message.extend_from_slice(b),
            server::Event::MessageAborted(_) => {
                aborted = true;
                message.clear();
            }
            e if e.needs_decision() => {
                let d = mx.decide(e, &mut message);
                server.decide(d);
            }
            _ => {}
        }
    }
    let mut wire = Vec::new();
    server.transmit_into(&mut wire);
    let wire = String::from_utf8(wire).unwrap();
    assert!(aborted);
    assert!(wire.contains("552 5.3.4"), "{wire}");
    assert!(mx.stored.is_empty());
}

#[test]
fn mx_policy_storage_error_is_a_temporary_failure() {
    let (mx, t) = mx_send(
        true,
        "carol@example.net",
        &["bob@example.test"],
        "Subject: x\r\n\r\ny\r\n".to_string(),
    );
    match message_result(&t) {
        Err(MessageError::Rejected(reply)) => {
            assert_eq!(reply.code.0, 451);
            assert!(reply.code.is_transient());
            assert_eq!(reply.enhanced, Some(EnhancedCode::new(4, 3, 0)));
        }
        other => panic!("expected a 451, got {other:?}"),
    }
    // The session goes on: QUIT is answered (checked by mx_send).
    assert!(mx.stored.is_empty());
}

/// Job 3: a proxy rewrites a MAIL parameter and re-encodes the command.
#[test]
fn proxy_rewrites_a_command_parameter() {
    let opts = ParseOptions::default();
    let line = b"mail from:<alice@example.test> SIZE=1024 BODY=8BITMIME X-CUSTOM=1\r\n";
    let cmd = parse_command(line, &opts).unwrap();
    // Detach from the input buffer so the line can be reused.
    let mut cmd = cmd.into_owned();
    let Command::Mail { params, .. } = &mut cmd else {
        panic!("not MAIL")
    };
    assert_eq!(params.size, Some(1024));
    assert_eq!(params.other.len(), 1);
    assert_eq!(params.other[0].keyword, "X-CUSTOM");
    params.size = Some(2048);
    params.other.clear(); // drop the parameter the next hop does not offer
    assert_eq!(
        cmd.to_bytes(),
        b"MAIL FROM:<alice@example.test> SIZE=2048 BODY=8BITMIME\r\n"
    );
    assert_eq!(cmd.verb(), "MAIL");

    // The rewritten line parses back to the same command.
    let bytes = cmd.to_bytes();
    assert_eq!(parse_command(&bytes, &opts).unwrap(), cmd);

    // RCPT: the forward-path and a DSN parameter.
    let mut cmd = parse_command(b"RCPT TO:<bob@example.test> NOTIFY=NEVER\r\n", &opts)
        .unwrap()
        .into_owned();
    let Command::Rcpt { params, .. } = &mut cmd else {
        panic!("not RCPT")
    };
    params.notify = None;
    assert_eq!(cmd.to_bytes(), b"RCPT TO:<bob@example.test>\r\n");

    // Unknown verbs are kept byte for byte for relaying.
    let cmd = parse_command(b"XFOO bar  baz\r\n", &opts).unwrap();
    assert_eq!(cmd.to_bytes(), b"XFOO bar  baz\r\n");
}

/// Job 3: a proxy parses a multi-line reply and re-encodes it.
#[test]
fn proxy_parses_and_reencodes_a_multiline_reply() {
    let mut parser = ReplyParser::default();
    let mut buf = ehlo::bytes::BytesMut::from(
        &b"250-mx.example.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 CHUNKING\r\n\
           550-5.1.1 No such\r\n550 5.1.1 user here\r\n"[..],
    );
    let ehlo = parser.decode(&mut buf).unwrap().unwrap();
    assert_eq!(ehlo.code.0, 250);
    assert_eq!(ehlo.enhanced, None);
    assert_eq!(
        ehlo.lines().collect::<Vec<_>>(),
        [
            "mx.example.test Hello",
            "PIPELINING",
            "SIZE 1000",
            "CHUNKING"
        ]
    );
    // The proxy hides CHUNKING from its client and re-encodes.
    let mut caps = ehlo::Capabilities::from_reply(&ehlo);
    assert!(caps.chunking());
    caps.list.retain(|c| c.keyword() != "CHUNKING");
    assert_eq!(
        caps.to_reply().to_bytes(),
        b"250-mx.example.test Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"
    );

    let refusal = parser.decode(&mut buf).unwrap().unwrap();
    assert_eq!(refusal.code.0, 550);
    assert_eq!(refusal.enhanced, Some(EnhancedCode::new(5, 1, 1)));
    assert_eq!(refusal.text, "No such\nuser here");
    // Re-encoded exactly as received, enhanced code on every line (RFC 2034 section 4).
    assert_eq!(
        refusal.to_bytes(),
        b"550-5.1.1 No such\r\n550 5.1.1 user here\r\n"
    );
    // Display gives the same lines for a log: no CR, no line end after the last.
    assert_eq!(
        refusal.to_string(),
        "550-5.1.1 No such\n550 5.1.1 user here"
    );
    assert!(buf.is_empty());
    assert_eq!(parser.decode(&mut buf).unwrap(), None);
}

/// Doc examples name `bytes` through the crate's re-export (`ehlo::bytes`), so each one
/// compiles, as written, in a crate whose only dependency is `ehlo`.
#[test]
fn doc_examples_use_the_reexported_bytes() {
    fn visit(dir: &std::path::Path, offenders: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(&path, offenders);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let line = line.trim_start();
                    let doc = line
                        .strip_prefix("///")
                        .or_else(|| line.strip_prefix("//!"));
                    if doc.is_some_and(|d| {
                        d.trim_start()
                            .trim_start_matches("# ")
                            .starts_with("use bytes::")
                    }) {
                        offenders.push(format!("{}:{}", path.display(), n + 1));
                    }
                }
            }
        }
    }
    let mut offenders = Vec::new();
    visit(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut offenders,
    );
    assert!(
        offenders.is_empty(),
        "`use bytes::` in doc examples: {offenders:?}"
    );
}

/// C-SEND-SYNC and C-GOOD-ERR, checked at compile time: the machines, their
/// configurations, events and decisions can move to (and be shared with) other threads,
/// and every error type is a `std::error::Error + Send + Sync + 'static`, so it boxes
/// into `Box<dyn Error + Send + Sync>` and goes through `?` in an async task.
#[test]
fn public_types_are_send_sync_and_errors_are_good_errors() {
    fn send_sync<T: Send + Sync>() {}
    fn good_error<T: std::error::Error + Send + Sync + 'static>() {}

    send_sync::<Server>();
    send_sync::<ServerConfig>();
    send_sync::<server::Event>();
    send_sync::<server::AcceptedEnvelope>();
    send_sync::<Decision>();
    send_sync::<Client>();
    send_sync::<ClientConfig>();
    send_sync::<client::Event>();
    send_sync::<Envelope>();
    send_sync::<client::Body>();
    send_sync::<client::Query>();
    send_sync::<Command<'static>>();
    send_sync::<Reply>();
    send_sync::<ehlo::Capabilities>();
    send_sync::<ehlo::syntax::decoder::CommandDecoder>();
    send_sync::<ReplyParser>();
    send_sync::<ehlo::data::DataDecoder>();
    send_sync::<ehlo::data::DataEncoder>();
    send_sync::<ehlo::data::BdatChunker>();
    send_sync::<ehlo::sasl::ServerExchange>();
    send_sync::<ehlo::sasl::ClientExchange>();

    good_error::<ehlo::syntax::PathError>();
    good_error::<ehlo::syntax::ParamError>();
    good_error::<ehlo::syntax::CommandError>();
    good_error::<ehlo::syntax::ReplyError>();
    good_error::<ehlo::syntax::DecodeError>();
    good_error::<ehlo::syntax::EncodeError>();
    good_error::<ehlo::data::DataError>();
    good_error::<ehlo::sasl::SaslError>();
    good_error::<server::DecisionError>();
    good_error::<server::NotAwaitingTls>();
    good_error::<MessageError>();
    good_error::<client::ProtocolError>();
    good_error::<client::CloseReason>();
    good_error::<client::SendError>();
    good_error::<client::UsageError>();
    good_error::<client::QueryError>();
    good_error::<client::QueryCommandError>();
    good_error::<client::ExchangeError>();
    good_error::<client::ExchangeCommandError>();
}

/// Every default SECURITY.md ("Limit defaults (from the code)") and the README's feature
/// table state, read back from the public configuration: a change of a default must change
/// the documents with it.
#[test]
fn documented_defaults_are_the_code_defaults() {
    use ehlo::limits;
    use ehlo::server::{BareLineEnding, LongLines};
    use ehlo::syntax::Leniency;
    use std::time::Duration;
    let min = |m: u64| Duration::from_secs(60 * m);

    // Server (`ServerLimits::default`, `Timeouts::default`, `ServerConfig::new`).
    let c = ServerConfig::new("mx.example.test");
    let l = &c.limits;
    assert_eq!(l.max_command_line, 512);
    assert_eq!(l.max_command_line, limits::MAX_COMMAND_LINE);
    assert_eq!(l.max_sasl_line, 12_288);
    assert_eq!(l.max_sasl_line, limits::MAX_SASL_LINE);
    assert_eq!(l.max_text_line, 1_000);
    assert_eq!(l.max_text_line, limits::MAX_TEXT_LINE);
    assert_eq!(c.long_lines, LongLines::Accept);
    assert_eq!(l.max_input_buffer, 256 * 1024);
    assert_eq!(l.max_output_buffer, 64 * 1024);
    assert_eq!(l.max_message_size, 10 * 1024 * 1024);
    assert_eq!(l.max_recipients, 100);
    assert_eq!(l.max_recipients, limits::MIN_RECIPIENTS);
    assert_eq!(l.max_errors, 10);
    assert_eq!(l.max_auth_failures, 5);
    assert_eq!(l.max_commands, 10_000);
    assert_eq!(l.max_transactions, 1_000);
    assert_eq!(c.bare_line_endings, BareLineEnding::Normalize);
    let t = &c.timeouts;
    assert_eq!(
        (
            t.command,
            t.data_initiation,
            t.data_block,
            t.data_termination
        ),
        (min(5), min(2), min(3), min(10))
    );
    // README: ENHANCEDSTATUSCODES on by default, Postfix-like leniency by default.
    assert!(c.extensions.enhanced_status_codes);
    assert_eq!(c.leniency, Leniency::Lenient);
    assert!(!c.record_envelope);
    // The rustdoc of each field (`ServerConfig`, `Extensions`, `AuthConfig`,
    // `ExchangeConfig`: "All off by default").
    assert_eq!(c.greeting, "ESMTP ready");
    assert_eq!(ServerConfig::default().hostname, "localhost");
    let x = &c.extensions;
    assert!(x.size && x.pipelining && x.dsn && x.eight_bit_mime && x.chunking && x.binary_mime);
    assert!(!x.smtputf8 && !x.starttls && !x.requiretls && !x.etrn);
    assert!(!x.vrfy_keyword && !x.help_keyword && x.extra.is_empty());
    let a = &c.auth;
    assert!(a.mechanisms.is_empty());
    assert!(!a.legacy_auth_line && !a.allow_plaintext_without_tls && !a.require_tls);
    assert!(!a.require_auth && !a.builtin_exchanges);
    assert_eq!(c.exchange, server::ExchangeConfig::default());
    let e = &c.exchange;
    assert!(!e.anonymous_tls && e.exps_mechanisms.is_empty() && !e.exps_legacy_line);
    assert_eq!(e.max_exps_line, 0);
    assert!(!e.xexch50 && !e.xexch50_requires_auth && !e.link2state && !e.xrdst);
    assert!(!e.xshadow && !e.xshadowrequest && !e.xqdiscard && !e.xproxy);
    assert!(!e.xsessionparams && e.ehlo_order.is_empty());
    assert!(!e.sasl_mechanism_supported && !e.ehlo_without_argument);

    // Protocol constants (`src/limits.rs`).
    assert_eq!(
        (limits::MAX_LOCAL_PART, limits::MAX_DOMAIN, limits::MAX_PATH),
        (64, 255, 256)
    );
    assert_eq!(limits::MAX_REPLY_LINE, 512);
    assert_eq!(limits::MAX_LINK2STATE_LINE, 1_024);
    assert_eq!(limits::MAX_XEXCH50_COMMAND, 50);
    assert_eq!(limits::MAX_XEXCH50_BLOB, 1 << 30);
    assert_eq!(limits::MAX_OTHER_PARAMS, 256);

    // Client (`ClientConfig::new`, `client::Timeouts::default`).
    let c = ClientConfig::new("client.example.test");
    assert_eq!(c.max_reply_line, 12_288);
    assert_eq!(c.max_reply_lines, 256);
    assert_eq!(c.bdat_chunk_size, 1 << 20);
    let t = &c.timeouts;
    assert_eq!(
        (t.greeting, t.mail, t.rcpt, t.other),
        (min(5), min(5), min(5), min(5))
    );
    assert_eq!(
        (t.data_initiation, t.data_block, t.data_termination),
        (min(2), min(3), min(10))
    );
    assert_eq!(c.tls, TlsPolicy::Opportunistic);
    assert!(!c.allow_plaintext_auth && !c.implicit_tls && !c.auth_fallback);
    // The rustdoc of each `ClientConfig` field.
    assert!(!c.anonymous_tls && c.credentials.is_none() && c.auth_mechanisms.is_none());
    assert_eq!(c.auth_verb, client::AuthVerb::Auth);
    assert!(c.sasl_initial_response && c.pipelining && c.chunking);

    // Standalone parsers: `ReplyParser::default()` takes 128 lines (and 512-octet lines,
    // tested beside the parser); the DATA decoder's own size limit is 36 MiB.
    let reply = |lines: usize| {
        let mut text = "250-x\r\n".repeat(lines - 1);
        text.push_str("250 x\r\n");
        let mut buf = ehlo::bytes::BytesMut::from(text.as_bytes());
        ReplyParser::default().decode(&mut buf)
    };
    assert!(matches!(reply(128), Ok(Some(_))));
    assert_eq!(reply(129), Err(ehlo::syntax::ReplyError::TooManyLines));
    assert_eq!(ehlo::data::DEFAULT_MAX_SIZE, 36 * 1024 * 1024);
}
