//! Sends one message with `ehlo::client::Client` on tokio and prints the result per
//! recipient. Exits 0 when every recipient accepted and the message was delivered, 1 when
//! the server refused something, 2 on a connection or usage error.
//!
//! ```text
//! smtp-send --server 127.0.0.1:2525 --from alice@example.test --to bob@example.test \
//!     [--to ...] [--starttls --ca-file CA.pem | --tls (--ca-file CA.pem | --tls-insecure) \
//!      | --tls-insecure] \
//!     [--user NAME --password PW [--auth PLAIN|LOGIN|NTLM] [--domain NTLM-DOMAIN]] \
//!     [--allow-plaintext-auth] [--helo NAME] [--timeout SECONDS] [--raw] \
//!     [--no-pipelining] [--no-chunking] \
//!     [--notify SUCCESS,FAILURE,DELAY|NEVER] [--ret FULL|HDRS] [--envid ID] [FILE|-]
//! ```
//!
//! TLS: `--starttls --ca-file` requires STARTTLS and checks the certificate; `--tls` is
//! implicit TLS (RFC 8314) with `--ca-file` or `--tls-insecure`; `--tls-insecure` alone
//! requires STARTTLS without checking the certificate. Without any of them the message
//! goes out in plaintext.
//!
//! The message is the file named last, or standard input when there is none or it is
//! `-`. Bare LF line ends are turned into CRLF (as sendmail does) unless `--raw`.
//! Without `--auth` the client picks the strongest mechanism the server offers for a
//! password (CRAM-MD5, PLAIN, LOGIN); `--auth` forces one, and `--auth NTLM` computes
//! the NTLMv2 messages here (the crate surfaces NTLM steps as `AuthChallenge` events).
//! `--notify`, `--ret` and `--envid` ask for delivery status notifications (RFC 3461);
//! they go out only when the server offers DSN (a warning says when it does not).
//!
//! Standard output: `TO: accepted: REPLY` or `TO: rejected: REPLY` for each RCPT reply,
//! then `message: delivered: REPLY` or `message: failed: WHY`; after a failure each
//! recipient not refused at RCPT gets `TO: not delivered: WHY`, and a session that ends
//! before the message is delivered says `session ended before delivery: WHY` (a lost
//! connection, a timeout, a failed write or TLS handshake, a refusal). Progress and
//! errors go to standard error.

#[path = "common/mod.rs"]
mod common;

use bytes::{Bytes, BytesMut};
use clap::Parser;
use common::ntlm;
use ehlo::client::{
    AuthChallenge, AuthResponse, Client, ClientConfig, Credentials, Envelope, Event, TlsPolicy,
};
use ehlo::sasl::login::{prompt_kind, LoginPrompt};
use ehlo::syntax::param::{Notify, Ret};
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[derive(Parser, Debug)]
#[command(
    group(clap::ArgGroup::new("tls_mode").args(["starttls", "tls"])),
    about = "Send one message over SMTP with the ehlo client machine",
    after_help = "The message is FILE, or standard input when FILE is missing or `-`.\n\n\
                  Exit status: 0 when every recipient accepted the message; 1 when the \
                  server refused a recipient, the message or the session (a reply says \
                  why); 2 when the connection was lost, timed out or broke the protocol, \
                  on a usage error, or when the message cannot be read."
)]
struct Cli {
    /// The server, HOST:PORT.
    #[arg(long)]
    server: String,
    /// The envelope sender (empty for the null reverse-path).
    #[arg(long)]
    from: String,
    /// An envelope recipient (repeatable).
    #[arg(long = "to", required = true)]
    to: Vec<String>,
    /// Require STARTTLS, verifying the server's certificate against --ca-file.
    #[arg(long, requires = "ca_file")]
    starttls: bool,
    /// Implicit TLS (RFC 8314, the "submissions" port 465): TLS from the first byte
    /// instead of STARTTLS. The certificate is verified against --ca-file, or not at all
    /// with --tls-insecure.
    #[arg(long, conflicts_with = "starttls")]
    tls: bool,
    /// PEM file with the CA certificates to trust for --starttls or --tls (alone it would
    /// ask for no TLS at all, so it needs one of them).
    #[arg(long, requires = "tls_mode", conflicts_with = "tls_insecure")]
    ca_file: Option<PathBuf>,
    /// Do not verify the server's certificate (tests, self-signed servers). Alone: require
    /// STARTTLS; with --tls: implicit TLS.
    #[arg(long, conflicts_with = "starttls")]
    tls_insecure: bool,
    /// User name for AUTH.
    #[arg(long, requires = "password")]
    user: Option<String>,
    /// Password for AUTH.
    #[arg(long, requires = "user")]
    password: Option<String>,
    /// Force a SASL mechanism: PLAIN, LOGIN or NTLM.
    #[arg(long, requires = "user")]
    auth: Option<String>,
    /// NTLM domain.
    #[arg(long, default_value = "")]
    domain: String,
    /// Allow PLAIN and LOGIN without TLS.
    #[arg(long)]
    allow_plaintext_auth: bool,
    /// The name to send with EHLO. By default the system's host name when it is fully
    /// qualified, else the address literal of the connection's local address, e.g.
    /// `[192.0.2.1]` (RFC 5321 4.1.1.1 and 4.1.4; servers often refuse `localhost` or a
    /// name without a dot).
    #[arg(long)]
    helo: Option<String>,
    /// Send the message as is (no LF to CRLF conversion).
    #[arg(long)]
    raw: bool,
    /// Do not use PIPELINING.
    #[arg(long)]
    no_pipelining: bool,
    /// Do not use CHUNKING (BDAT).
    #[arg(long)]
    no_chunking: bool,
    /// DSN (RFC 3461 section 4.1): when to be notified about each recipient: NEVER, or a
    /// comma-separated list of SUCCESS, FAILURE and DELAY.
    #[arg(long, value_name = "WHEN", value_parser = parse_notify)]
    notify: Option<Notify>,
    /// DSN (RFC 3461 section 4.3): what a failure report returns: FULL or HDRS.
    #[arg(long, value_name = "FULL|HDRS", value_parser = parse_ret)]
    ret: Option<Ret>,
    /// DSN (RFC 3461 section 4.4): an envelope identifier the reports quote.
    #[arg(long, value_name = "ID")]
    envid: Option<String>,
    /// Seconds to wait for anything from the server: the connection, each reply, a TLS
    /// handshake, and progress writing to a server that does not read. Without it, the
    /// reply timeouts of RFC 5321 4.5.3.2 (2 to 10 minutes), 5 minutes for the
    /// connection (as for the greeting) and a handshake, and 3 for a write.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,
    /// The message file; standard input when missing or `-`.
    file: Option<PathBuf>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// `--notify`: `NEVER` alone, or any of `SUCCESS`, `FAILURE`, `DELAY` (RFC 3461 4.1).
fn parse_notify(s: &str) -> Result<Notify, String> {
    let mut n = Notify::default();
    for word in s.split(',') {
        let flag = match word.trim().to_ascii_uppercase().as_str() {
            "NEVER" => &mut n.never,
            "SUCCESS" => &mut n.success,
            "FAILURE" => &mut n.failure,
            "DELAY" => &mut n.delay,
            other => return Err(format!("{other:?} is not NEVER, SUCCESS, FAILURE or DELAY")),
        };
        if std::mem::replace(flag, true) {
            return Err(format!("{word:?} is given twice"));
        }
    }
    if n.never && (n.success || n.failure || n.delay) {
        return Err("NEVER cannot be combined with other values".into());
    }
    Ok(n)
}

/// `--ret`: `FULL` or `HDRS` (RFC 3461 4.3).
fn parse_ret(s: &str) -> Result<Ret, String> {
    match s.to_ascii_uppercase().as_str() {
        "FULL" => Ok(Ret::Full),
        "HDRS" => Ok(Ret::Headers),
        _ => Err(format!("{s:?} is not FULL or HDRS")),
    }
}

type Conn = common::conn::Conn<tokio_rustls::client::TlsStream<TcpStream>>;

/// `io` if it ends within `limit`; a `TimedOut` error naming `what` otherwise.
async fn within<T, E: Into<Error>>(
    limit: Duration,
    what: &str,
    io: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Error> {
    match tokio::time::timeout(limit, io).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(format!("{what}: no progress in {limit:?}").into()),
    }
}

/// Writes all of `data`, failing when the server takes nothing for `limit` (RFC 5321
/// 4.5.3.2.5: a client gives up on a data block that makes no progress).
async fn write_all(conn: &mut Conn, data: &[u8], limit: Duration) -> Result<(), Error> {
    for chunk in data.chunks(64 * 1024) {
        within(limit, "write", conn.write_all(chunk)).await?;
    }
    Ok(())
}

/// The EHLO name when `--helo` is not given (RFC 5321 4.1.1.1: the client's primary host
/// name, or an address literal when it has none): the system's host name if it is fully
/// qualified (has a dot), else `local` as an address literal (section 4.1.3).
fn default_helo(local: std::net::IpAddr) -> String {
    let name = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let name = name.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-');
    if name.contains('.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name.chars().all(plain)
    {
        return name.to_string();
    }
    match local.to_canonical() {
        std::net::IpAddr::V4(v4) => format!("[{v4}]"),
        std::net::IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// CRLF for every bare LF.
fn crlf(data: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// The caller's side of a SASL mechanism forced with `--auth`.
struct Sasl {
    user: String,
    password: String,
    domain: String,
    allow_plaintext: bool,
    /// Challenges answered so far in this exchange.
    answered: u32,
    /// The mechanism's last message went out: a further challenge is cancelled.
    finished: bool,
}

impl Sasl {
    /// The answer to `ch`. Each mechanism's exchange is finite (PLAIN: one message, RFC
    /// 4616 section 2; LOGIN: the user name and the password, \[MS-XLOGIN\]; NTLM:
    /// NEGOTIATE, then AUTHENTICATE, \[MS-SMTPNTLM\]), and a challenge beyond it is an
    /// error, answered with `*` (RFC 4954 section 4): answering it would let a server keep
    /// the client in the exchange forever, collecting the credentials again each time.
    fn answer(&mut self, ch: &AuthChallenge, tls: bool) -> Result<AuthResponse, Error> {
        let m = ch.mechanism.as_str();
        if matches!(m, "PLAIN" | "LOGIN") && !tls && !self.allow_plaintext {
            return Err(format!(
                "refusing to send the password with {m} without TLS (use --tls-insecure, \
                 --starttls or --allow-plaintext-auth)"
            )
            .into());
        }
        if !ch.initial {
            self.answered += 1;
        }
        let beyond = match (m, ch.data.is_some()) {
            // The user name and the password prompts.
            ("LOGIN", _) => self.answered > 2,
            // One NEGOTIATE again after "334 ntlm supported", no more.
            ("NTLM", false) => self.answered > 1,
            _ => false,
        };
        if self.finished || beyond {
            return Err(format!("{m}: a challenge after the last message; cancelling").into());
        }
        self.finished = m == "PLAIN" || (m == "NTLM" && !ch.initial && ch.data.is_some());
        let plain = || {
            let mut v = vec![0u8];
            v.extend_from_slice(self.user.as_bytes());
            v.push(0);
            v.extend_from_slice(self.password.as_bytes());
            v
        };
        Ok(match (m, ch.initial, ch.data.as_deref()) {
            ("PLAIN", true, _) => AuthResponse::Data(plain()),
            ("PLAIN", false, _) => AuthResponse::Data(plain()),
            // MS-XLOGIN: no initial response; answer the prompts.
            ("LOGIN", true, _) => AuthResponse::NoInitialResponse,
            ("LOGIN", false, Some(prompt)) => match prompt_kind(prompt) {
                Some(LoginPrompt::Password) => AuthResponse::Data(self.password.clone().into()),
                _ => AuthResponse::Data(self.user.clone().into()),
            },
            // MS-SMTPNTLM 3.1.4.1: the NEGOTIATE message as the initial response.
            ("NTLM", true, _) => AuthResponse::Data(ntlm::negotiate_message()),
            // "334 ntlm supported" (no initial response was sent): NEGOTIATE now.
            ("NTLM", false, None) => AuthResponse::Data(ntlm::negotiate_message()),
            ("NTLM", false, Some(challenge)) => AuthResponse::Data(ntlm::authenticate_message(
                challenge,
                &self.user,
                &self.password,
                &self.domain,
                "SMTP-SEND",
            )?),
            _ => return Err(format!("unexpected {m} challenge").into()),
        })
    }
}

async fn send(cli: Cli, body: Vec<u8>) -> Result<bool, Error> {
    // The EHLO name is settled once the connection exists (its local address); the
    // configuration gets it then.
    let mut config = ClientConfig::new(String::new());
    config.pipelining = !cli.no_pipelining;
    config.chunking = !cli.no_chunking;
    config.allow_plaintext_auth = cli.allow_plaintext_auth;
    // With --tls the transport is TLS before the client machine exists; it then never
    // sends STARTTLS and allows PLAIN and LOGIN (RFC 8314 section 3).
    config.implicit_tls = cli.tls;
    if let Some(secs) = cli.timeout {
        let t = Duration::from_secs(secs);
        config.timeouts = ehlo::client::Timeouts {
            greeting: t,
            mail: t,
            rcpt: t,
            data_initiation: t,
            data_block: t,
            data_termination: t,
            other: t,
        };
    }
    // A TLS handshake is a command exchange (RFC 5321 4.5.3.2.7), a write to a server
    // that does not read a data block that makes no progress (4.5.3.2.5).
    let handshake_limit = config.timeouts.other;
    let write_limit = config.timeouts.data_block;
    let tls = if cli.tls_insecure {
        config.tls = TlsPolicy::Required;
        Some(common::tls::insecure_client_config()?)
    } else if cli.starttls || cli.tls {
        config.tls = TlsPolicy::Required;
        let ca = cli
            .ca_file
            .as_deref()
            .ok_or("--starttls and --tls need --ca-file (or --tls-insecure)")?;
        Some(common::tls::client_config(ca)?)
    } else {
        config.tls = TlsPolicy::Never;
        None
    };
    let mut sasl = match (&cli.user, &cli.password) {
        (Some(user), Some(password)) => {
            config.credentials = Some(match &cli.auth {
                None => Credentials::Password {
                    authzid: None,
                    username: user.clone(),
                    password: password.clone(),
                },
                Some(mech) => Credentials::External {
                    mechanisms: vec![mech.to_ascii_uppercase()],
                },
            });
            Some(Sasl {
                user: user.clone(),
                password: password.clone(),
                domain: cli.domain.clone(),
                allow_plaintext: cli.allow_plaintext_auth,
                answered: 0,
                finished: false,
            })
        }
        _ => None,
    };

    let mut envelope = Envelope::new(&cli.from)?;
    for to in &cli.to {
        envelope.add_recipient(to)?;
    }
    for r in &mut envelope.recipients {
        r.notify = cli.notify;
    }
    envelope.ret = cli.ret;
    envelope.envid = cli.envid.clone();
    let mut wants_dsn = cli.notify.is_some() || cli.ret.is_some() || cli.envid.is_some();
    let host = cli
        .server
        .rsplit_once(':')
        .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
        .unwrap_or(&cli.server)
        .to_string();
    // A server that does not answer the SYN (a firewall that drops it, a full listen
    // queue) is given up on like one that does not send its greeting.
    let connect_limit = config.timeouts.greeting;
    let tcp = within(connect_limit, "connect", TcpStream::connect(&cli.server)).await?;
    let _ = tcp.set_nodelay(true);
    config.hostname = match &cli.helo {
        Some(name) => name.clone(),
        None => default_helo(tcp.local_addr()?.ip()),
    };
    let mut conn = match (&tls, cli.tls) {
        (Some(cfg), true) => {
            let name = rustls::pki_types::ServerName::try_from(host.clone())?;
            let handshake = TlsConnector::from(Arc::clone(cfg)).connect(name, tcp);
            let stream = within(handshake_limit, "TLS handshake", handshake)
                .await
                .map_err(|e| format!("TLS handshake failed: {e}"))?;
            eprintln!("TLS established (implicit)");
            Conn::Tls(Box::new(stream))
        }
        _ => Conn::Plain(tcp),
    };
    let mut client = Client::new(config, Instant::now());
    let body = Bytes::from(body);
    // The index in `--to` of each recipient of the envelope in flight: a server that
    // refuses recipients for being too many (452) gets the rest in a new transaction, built
    // from the envelope the message's result gives back.
    let mut current: Vec<usize> = (0..cli.to.len()).collect();
    client.send(envelope, body.clone())?;
    // Whether each `--to` recipient was finally accepted.
    let mut accepted = vec![false; cli.to.len()];

    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out = Vec::new();
    // Whether the transaction last finished was delivered (false again while a retry to
    // recipients refused as too many is in flight).
    let mut delivered = false;
    // Why the transport failed (a write, a STARTTLS handshake), when it did: the machine
    // is told the connection is gone, so every message still gets its result and the
    // report ends as for any lost connection, with this as the reason.
    let mut lost: Option<String> = None;
    loop {
        out.clear();
        while let Some(bytes) = client.poll_transmit(Instant::now()) {
            out.extend_from_slice(&bytes);
        }
        if !out.is_empty() {
            if let Err(e) = write_all(&mut conn, &out, write_limit).await {
                eprintln!("write failed: {e}");
                lost = Some(format!("write failed: {e}"));
                client.peer_closed();
            }
        }
        let mut progressed = false;
        while let Some(event) = client.poll_event() {
            progressed = true;
            match event {
                Event::Greeting(reply) => eprintln!("greeting: {reply}"),
                Event::StartTls { .. } => {
                    let cfg = tls.clone().ok_or("STARTTLS without a TLS configuration")?;
                    let Conn::Plain(tcp) = std::mem::replace(&mut conn, Conn::Upgrading) else {
                        return Err("STARTTLS twice".into());
                    };
                    let name = rustls::pki_types::ServerName::try_from(host.clone())?;
                    let handshake = TlsConnector::from(Arc::clone(&cfg)).connect(name, tcp);
                    let stream = match within(handshake_limit, "TLS handshake", handshake).await {
                        Ok(stream) => stream,
                        Err(e) => {
                            eprintln!("TLS handshake failed: {e}");
                            lost = Some(format!("TLS handshake failed: {e}"));
                            client.peer_closed();
                            continue;
                        }
                    };
                    conn = Conn::Tls(Box::new(stream));
                    client.tls_established()?;
                    eprintln!("TLS established");
                }
                Event::AuthChallenge(ch) => {
                    let sasl = sasl.as_mut().ok_or("AUTH challenge without credentials")?;
                    let answer = match sasl.answer(&ch, client.is_tls()) {
                        Ok(a) => a,
                        Err(e) => {
                            eprintln!("{e}");
                            AuthResponse::Cancel
                        }
                    };
                    client.auth_respond(answer)?;
                }
                Event::Authenticated { mechanism, reply } => {
                    eprintln!("authenticated with {mechanism}: {reply}")
                }
                Event::RecipientResult {
                    index,
                    accepted: ok,
                    reply,
                    ..
                } => {
                    let original = current.get(index).copied();
                    let to = original
                        .and_then(|i| cli.to.get(i))
                        .map_or("?", String::as_str);
                    let verdict = if ok { "accepted" } else { "rejected" };
                    println!("{to}: {verdict}: {reply}");
                }
                Event::MessageResult {
                    result,
                    recipients,
                    envelope,
                    ..
                } => match result {
                    Ok(reply) => {
                        delivered = true;
                        if std::mem::take(&mut wants_dsn)
                            && !client.capabilities().is_some_and(|c| c.dsn())
                        {
                            eprintln!(
                                "warning: the server does not offer DSN; --notify, --ret \
                                 and --envid were not sent"
                            );
                        }
                        for r in &recipients {
                            let Some(&original) = current.get(r.index) else {
                                continue;
                            };
                            accepted[original] = r.accepted();
                            if r.reply.is_none() {
                                println!("{}: no reply", cli.to[original]);
                            }
                        }
                        println!("message: delivered: {reply}");
                        match envelope.deferred(&recipients) {
                            Some((again, indices)) => {
                                eprintln!(
                                    "sending again to {} recipient(s) refused as too many \
                                     or held back under the server's LIMITS",
                                    indices.len()
                                );
                                current = indices.iter().map(|&i| current[i]).collect();
                                client.send(again, body.clone())?;
                                // The session now carries an undelivered message again:
                                // a connection lost from here on is exit 2.
                                delivered = false;
                            }
                            None => client.quit(),
                        }
                    }
                    Err(e) => {
                        println!("message: failed: {e}");
                        // Every recipient sent was refused, but the server's LIMITS held
                        // others back (RFC 9422): they were not tried yet.
                        let again = match e {
                            ehlo::client::MessageError::NoValidRecipients => {
                                envelope.deferred(&recipients)
                            }
                            _ => None,
                        };
                        match again {
                            Some((again, indices)) => {
                                eprintln!(
                                    "sending to {} recipient(s) not tried yet",
                                    indices.len()
                                );
                                current = indices.iter().map(|&i| current[i]).collect();
                                client.send(again, body.clone())?;
                            }
                            None => {
                                // The message failed for good: each recipient the server
                                // accepted at RCPT, or never got to, is told so, not left
                                // with its "accepted" line as the last word.
                                for r in recipients
                                    .iter()
                                    .filter(|r| r.accepted() || r.reply.is_none())
                                {
                                    let to = current.get(r.index).and_then(|&i| cli.to.get(i));
                                    if let Some(to) = to {
                                        println!("{to}: not delivered: {e}");
                                    }
                                }
                                client.quit()
                            }
                        }
                    }
                },
                Event::Closed(reason) => {
                    eprintln!("session closed: {reason}");
                    if let ehlo::client::CloseReason::AuthFailed(Some(reply))
                    | ehlo::client::CloseReason::TlsUnavailable(Some(reply))
                    | ehlo::client::CloseReason::ServiceUnavailable(reply)
                    | ehlo::client::CloseReason::HelloRefused(reply)
                    | ehlo::client::CloseReason::GreetingRefused(reply) = &reason
                    {
                        println!("server said: {reply}");
                    }
                    if !delivered {
                        let why = lost.take().unwrap_or_else(|| reason.to_string());
                        println!("session ended before delivery: {why}");
                        // A lost or broken connection is exit 2, a refusal exit 1.
                        if matches!(
                            reason,
                            ehlo::client::CloseReason::PeerClosed
                                | ehlo::client::CloseReason::Timeout(_)
                                | ehlo::client::CloseReason::Protocol(_)
                        ) {
                            return Err(format!("connection lost: {why}").into());
                        }
                    }
                    return Ok(delivered && accepted.iter().all(|&a| a));
                }
                _ => {}
            }
        }
        if progressed {
            continue;
        }
        let read = match client.poll_timeout() {
            Some(t) => match tokio::time::timeout_at(t.into(), conn.read(&mut buf)).await {
                Ok(r) => r,
                Err(_) => {
                    client.handle_timeout(Instant::now());
                    continue;
                }
            },
            None => conn.read(&mut buf).await,
        };
        match read {
            Ok(0) => client.peer_closed(),
            Err(e) => {
                // The machine knows only that the connection is gone; the reason (a
                // reset, say) is the system's.
                eprintln!("read failed: {e}");
                client.peer_closed()
            }
            Ok(_) => {
                client.receive_at(Instant::now(), &buf);
                buf.clear();
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut body = Vec::new();
    let read = match cli.file.as_deref() {
        None => io::stdin().read_to_end(&mut body).map(|_| ()),
        Some(p) if p.as_os_str() == "-" => io::stdin().read_to_end(&mut body).map(|_| ()),
        Some(p) => std::fs::read(p).map(|b| body = b),
    };
    if let Err(e) = read {
        eprintln!("cannot read the message: {e}");
        return ExitCode::from(2);
    }
    if !cli.raw {
        body = crlf(body);
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(send(cli, body)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
