//! One SMTP connection's logic, independent of how its bytes travel (tokio, threads, mio):
//! answers the [`Server`] machine's events, authenticates against the `--user` accounts
//! (PLAIN, LOGIN, NTLM) and streams accepted messages into the Maildir.
//!
//! The transport loop is the same for every example:
//!
//! ```text
//! loop {
//!     match session.next() {
//!         Next::Read => { write session.server.poll_transmit()...; read; session.receive(..) }
//!         Next::TlsUpgrade => { write pending output; TLS handshake; session.server.tls_established() }
//!         Next::Commit(c) => { let r = c.run(); session.committed(r) }   // maybe on a blocking thread
//!         Next::Closed => { write pending output; close }
//!     }
//! }
//! ```

use super::dsn;
use super::maildir::{push_decimal, write_rfc5322_date, Commit, Delivery, Maildir, Stored};
use super::ntlm;
use super::Users;
use ehlo::sasl::{login, plain::PlainMessage};
use ehlo::server::{AuthVerb, Decision, Event, Server, ServerConfig};
use ehlo::{EnhancedCode, Reply};
use std::borrow::Cow;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tracing::{debug, info, warn};

/// What every connection shares.
#[derive(Debug)]
pub struct Shared {
    /// The session configuration.
    pub config: Arc<ServerConfig>,
    /// The `--user` accounts.
    pub users: Users,
    /// Where messages go.
    pub maildir: Maildir,
    /// Whether STARTTLS can be served.
    pub tls: bool,
    /// Connection counter (log ids).
    pub connections: AtomicU64,
    /// Sessions open now.
    pub active: AtomicU32,
    /// `--max-connections`.
    pub max_connections: u32,
}

/// What the transport loop must do next.
#[derive(Debug)]
pub enum Next {
    /// Write what `server.poll_transmit()` holds, then read more input.
    Read,
    /// Write what `server.poll_transmit()` holds, run the TLS handshake, then call
    /// `server.tls_established()`.
    TlsUpgrade,
    /// A message is complete: run [`Commit::run`] (on a blocking thread if it
    /// [blocks](Commit::blocks)), then call [`Session::committed`] with its result.
    Commit(Commit),
    /// Write what `server.poll_transmit()` holds, then close the connection.
    Closed,
}

/// Where an SASL exchange stands.
#[derive(Debug)]
enum Auth {
    Idle,
    /// PLAIN without an initial response: waiting for the message.
    Plain,
    /// LOGIN: waiting for the user name.
    LoginUser,
    /// LOGIN: waiting for the password.
    LoginPassword(String),
    /// NTLM: waiting for the NEGOTIATE message.
    NtlmNegotiate,
    /// NTLM: CHALLENGE sent, waiting for the AUTHENTICATE message.
    NtlmAuthenticate(ntlm::ServerChallenge),
}

/// `ip` as an RFC 5321 address literal (section 4.1.3), as the `TCP-info` of a `Received`
/// header must be (section 4.4): `[192.0.2.1]`, `[IPv6:2001:db8::1]`. An IPv4 client of
/// a dual-stack socket (`::ffff:192.0.2.1`) is written as IPv4. IPv4 is written without
/// the formatting machinery: this runs per connection.
fn address_literal(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let mut s = String::with_capacity(17);
            s.push('[');
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_decimal(&mut s, u64::from(octet));
            }
            s.push(']');
            s
        }
        IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
    }
}

/// The client's EHLO/HELO name as the `from` of a `Received` header: RFC 5321 4.4 wants a
/// Domain or an address literal there, and the machine takes any argument (as Postfix
/// does). A name of letters, digits, dots, hyphens and underscores (Windows host names),
/// or a valid address literal, is written as given; anything else (a `;` that would
/// forge the date, a `(` that would open a comment, spaces, ...) becomes `unknown`. U-labels
/// only in an SMTPUTF8 transaction (RFC 6531 4.3).
fn trace_name(helo: Option<&str>, utf8: bool) -> &str {
    let Some(name) = helo else {
        return "unknown";
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let opts = ehlo::syntax::ParseOptions {
        utf8,
        ..ehlo::syntax::ParseOptions::default()
    };
    let ok = if name.starts_with('[') {
        ehlo::syntax::path::AddressLiteral::parse(name).is_ok()
    } else {
        (!name.is_empty() && name.chars().all(plain))
            || ehlo::syntax::path::Domain::parse(name, &opts).is_ok()
    };
    if ok {
        name
    } else {
        "unknown"
    }
}

/// A path as written in the trace headers, in a string sized for it up front.
fn path_text(path: &impl std::fmt::Display) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(64);
    // Writing into a String cannot fail.
    let _ = write!(s, "{path}");
    s
}

/// One connection.
#[derive(Debug)]
pub struct Session {
    /// The protocol machine; write what its `poll_transmit` returns.
    pub server: Server,
    shared: Arc<Shared>,
    peer: SocketAddr,
    /// `peer`'s address as written in the `Received` header (an address literal).
    peer_ip: String,
    id: u64,
    auth: Auth,
    from: String,
    smtputf8: bool,
    rcpts: Vec<String>,
    /// The success reports the transaction asked for (RFC 3461).
    dsn: dsn::Request,
    /// When the message started arriving (the `Received` date, the report's
    /// `Arrival-Date`).
    arrival: SystemTime,
    delivery: Option<Delivery>,
    write_error: Option<io::Error>,
    stored: u64,
}

const LOCAL_ERROR: Reply = Reply::from_static(
    451,
    Some(EnhancedCode::new(4, 3, 0)),
    "Local error in processing, message not stored",
);

/// RFC 5321 3.1 / 4.2.2 (421 closes the channel), RFC 3463 X.3.2 (system not accepting
/// network messages).
const BUSY: &str = " Too many connections, try again later";

const NO_TLS: Reply =
    Reply::from_static(454, Some(EnhancedCode::new(4, 7, 0)), "TLS not available");

impl Session {
    /// A session for a client that connected from `peer`.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, now: Instant) -> Session {
        let id = shared.connections.fetch_add(1, Ordering::Relaxed);
        shared.active.fetch_add(1, Ordering::Relaxed);
        debug!(conn = id, %peer, "connected");
        let mut server = Server::new(shared.config.clone(), now);
        // `<host> Hello [<ip>]` in the EHLO reply, as Exchange writes it.
        server.set_client_address(peer.ip().to_canonical());
        Session {
            server,
            shared,
            peer,
            peer_ip: address_literal(peer.ip()),
            id,
            auth: Auth::Idle,
            from: String::new(),
            smtputf8: false,
            rcpts: Vec::new(),
            dsn: dsn::Request::default(),
            arrival: SystemTime::UNIX_EPOCH,
            delivery: None,
            write_error: None,
            stored: 0,
        }
    }

    /// Feeds bytes read from the client.
    pub fn receive(&mut self, now: Instant, data: &[u8]) {
        self.server.receive(now, data);
    }

    /// Messages stored in this session.
    pub fn stored(&self) -> u64 {
        self.stored
    }

    /// Processes events until the transport has something to do.
    pub fn next(&mut self) -> Next {
        while let Some(event) = self.server.poll_event() {
            match event {
                Event::TlsUpgrade => return Next::TlsUpgrade,
                Event::MessageEnd { size } => {
                    if let Some(commit) = self.message_end(size) {
                        return Next::Commit(commit);
                    }
                }
                event => self.handle(event),
            }
        }
        if self.server.is_closed() {
            Next::Closed
        } else {
            Next::Read
        }
    }

    /// The outcome of [`Commit::run`]: the `250` (or a `451`) goes out now, after the
    /// message is in `new/`.
    pub fn committed(&mut self, result: io::Result<Stored>) {
        match result {
            Ok(Stored { name, notice }) => {
                self.stored += 1;
                info!(conn = self.id, id = %name, from = %self.from, rcpts = self.rcpts.len(), "message stored");
                match notice {
                    Some(Ok(report)) => {
                        info!(conn = self.id, id = %report, to = %self.from, "delivery report stored")
                    }
                    Some(Err(e)) => {
                        warn!(conn = self.id, error = %e, "storing the delivery report failed")
                    }
                    None => {}
                }
                // The commit may have taken a while (fsync): the client's next wait
                // starts with this reply.
                self.server.decide_at(
                    Instant::now(),
                    Decision::Reply(Reply::new(
                        250,
                        Some(EnhancedCode::new(2, 0, 0)),
                        ["Ok: queued as ", &name].concat(),
                    )),
                );
            }
            Err(e) => {
                warn!(conn = self.id, error = %e, "storing the message failed");
                self.server
                    .decide_at(Instant::now(), Decision::Reply(LOCAL_ERROR));
            }
        }
        self.end_transaction();
    }

    fn end_transaction(&mut self) {
        self.delivery = None;
        self.write_error = None;
        self.rcpts.clear();
        self.dsn = dsn::Request::default();
    }

    fn handle(&mut self, event: Event) {
        let decision = match event {
            Event::Connect => {
                // Counted in `new`, so this session is one of them.
                if self.shared.active.load(Ordering::Relaxed) > self.shared.max_connections {
                    warn!(conn = self.id, peer = %self.peer, "too many connections, refused");
                    let host = &self.shared.config.hostname;
                    Decision::Reply(Reply::new(
                        421,
                        Some(EnhancedCode::new(4, 3, 2)),
                        [host, BUSY].concat(),
                    ))
                } else {
                    Decision::Accept
                }
            }
            Event::Ehlo { .. } | Event::Helo { .. } => {
                self.end_transaction();
                Decision::Accept
            }
            Event::MailFrom { from, params } => {
                self.end_transaction();
                self.from = path_text(&from);
                self.smtputf8 = params.smtputf8;
                self.dsn = dsn::Request::new(&self.from, params.envid.as_ref(), params.smtputf8);
                Decision::Accept
            }
            Event::RcptTo { to, params } => {
                let to = path_text(&to);
                self.dsn
                    .recipient(&to, params.notify, params.orcpt.as_ref());
                self.rcpts.push(to);
                Decision::Accept
            }
            Event::DataStart => {
                self.begin();
                Decision::Accept
            }
            Event::Bdat { .. } => {
                if self.delivery.is_none() && self.write_error.is_none() {
                    self.begin();
                }
                return;
            }
            Event::MessageChunk(bytes) => {
                if self.dsn.wanted() {
                    self.dsn.content(&bytes);
                }
                if let Some(d) = self.delivery.as_mut() {
                    if let Err(e) = d.write(&bytes) {
                        self.write_error = Some(e);
                        self.delivery = None;
                    }
                }
                return;
            }
            Event::MessageAborted(reason) => {
                debug!(conn = self.id, ?reason, "message aborted");
                self.end_transaction();
                return;
            }
            Event::Reset => {
                self.end_transaction();
                return;
            }
            Event::AuthStart {
                verb,
                mechanism,
                initial_response,
            } => self.auth_start(verb, &mechanism, initial_response),
            Event::AuthResponse { verb, data } => self.auth_step(verb, data),
            Event::AuthAborted { reason, .. } => {
                debug!(conn = self.id, ?reason, "authentication aborted");
                self.auth = Auth::Idle;
                return;
            }
            Event::StartTls { .. } => {
                if self.shared.tls {
                    Decision::Accept
                } else {
                    Decision::Reply(NO_TLS)
                }
            }
            Event::Quit => {
                debug!(conn = self.id, stored = self.stored, "quit");
                return;
            }
            Event::XExch50 { .. } | Event::XExch50End => Decision::Accept,
            Event::XExch50Chunk(_) => return,
            // VRFY, EXPN, ETRN, unknown and Exchange verbs: the machine's defaults.
            _ => Decision::Default,
        };
        self.server.decide(decision);
    }

    /// Starts the message with the trace headers (RFC 5321 4.4).
    fn begin(&mut self) {
        let maildir: &Maildir = &self.shared.maildir;
        let name = maildir.unique_name();
        // RFC 3848 / RFC 6531 section 4.3 protocol types. Exchange's X-EXPS is its SMTP
        // AUTH between servers, so it counts as authenticated ("A") too.
        let auth =
            self.server.authenticated().is_some() || self.server.exps_authenticated().is_some();
        let tls = self.server.is_tls();
        let protocol = match (self.smtputf8, self.server.is_esmtp()) {
            (true, _) => "UTF8SMTP",
            (false, true) => "ESMTP",
            (false, false) => "SMTP",
        };
        let suffix = match (protocol != "SMTP", tls, auth) {
            (false, ..) | (true, false, false) => "",
            (true, true, false) => "S",
            (true, false, true) => "A",
            (true, true, true) => "SA",
        };
        let helo = trace_name(self.server.client_name(), self.smtputf8);
        let mut headers = Vec::with_capacity(Maildir::INITIAL_BUFFER);
        for part in [
            "Return-Path: ",
            &self.from,
            "\r\nReceived: from ",
            helo,
            " (",
            &self.peer_ip,
            ")\r\n\tby ",
            &self.shared.config.hostname,
            " with ",
            protocol,
            suffix,
            // RFC 5321 4.4: the ID is an Atom or an RFC 5322 msg-id. The Maildir name has
            // dots, which an Atom cannot, so it becomes the left part of a msg-id.
            " id <",
            &name,
            "@",
            &self.shared.config.hostname,
            ">",
        ] {
            headers.extend_from_slice(part.as_bytes());
        }
        if let [one] = self.rcpts.as_slice() {
            headers.extend_from_slice(b"\r\n\tfor ");
            headers.extend_from_slice(one.as_bytes());
        }
        headers.extend_from_slice(b";\r\n\t");
        self.arrival = SystemTime::now();
        write_rfc5322_date(&mut headers, self.arrival);
        headers.extend_from_slice(b"\r\n");
        self.delivery = Some(maildir.begin(name, headers));
    }

    fn message_end(&mut self, size: u64) -> Option<Commit> {
        let fsync = self.shared.maildir.fsync();
        let notice = self.dsn.wanted().then(|| {
            let maildir = &self.shared.maildir;
            let name = maildir.unique_name();
            let host = &self.shared.config.hostname;
            let now = SystemTime::now();
            let report = self.dsn.report(&self.from, &name, host, self.arrival, now);
            (name, report)
        });
        let result = match (self.delivery.take(), self.write_error.take()) {
            (Some(d), None) => d.finish(fsync, notice),
            (_, Some(e)) => Err(e),
            (None, None) => Err(io::Error::other("no message file")),
        };
        match result {
            Ok(commit) => {
                debug!(conn = self.id, size, "message received");
                Some(commit)
            }
            Err(e) => {
                warn!(conn = self.id, error = %e, "writing the message failed");
                self.server.decide(Decision::Reply(LOCAL_ERROR));
                self.end_transaction();
                None
            }
        }
    }

    // ---- authentication ----

    fn success(&mut self, verb: AuthVerb, mechanism: &str, user: &str) -> Decision {
        info!(conn = self.id, ?verb, mechanism, user, "authenticated");
        self.auth = Auth::Idle;
        Decision::AuthSuccess {
            identity: user.to_string(),
        }
    }

    fn failure(&mut self, verb: AuthVerb, mechanism: &str, user: &str) -> Decision {
        info!(
            conn = self.id,
            ?verb,
            mechanism,
            user,
            "authentication failed"
        );
        self.auth = Auth::Idle;
        Decision::AuthFailure
    }

    fn malformed(&mut self, e: ehlo::sasl::SaslError) -> Decision {
        debug!(conn = self.id, error = %e, "bad SASL message");
        self.auth = Auth::Idle;
        Decision::Reply(e.reply().to_reply())
    }

    fn auth_start(&mut self, verb: AuthVerb, mechanism: &str, ir: Option<Vec<u8>>) -> Decision {
        self.auth = Auth::Idle;
        match (mechanism, ir) {
            ("PLAIN", None) => {
                self.auth = Auth::Plain;
                Decision::AuthChallenge(Vec::new())
            }
            ("PLAIN", Some(msg)) => self.plain(verb, &msg),
            ("LOGIN", None) => {
                self.auth = Auth::LoginUser;
                Decision::AuthChallenge(login::USERNAME_CHALLENGE.to_vec())
            }
            ("LOGIN", Some(user)) if user.is_empty() => {
                self.auth = Auth::LoginUser;
                Decision::AuthChallenge(login::USERNAME_CHALLENGE.to_vec())
            }
            ("LOGIN", Some(user)) => self.login_user(&user),
            ("NTLM", None) => {
                self.auth = Auth::NtlmNegotiate;
                Decision::AuthChallengeText(Cow::Borrowed(ehlo::sasl::ntlm::SUPPORTED_TEXT))
            }
            ("NTLM", Some(negotiate)) => self.ntlm_negotiate(verb, &negotiate),
            _ => Decision::Reply(ehlo::sasl::AuthReply::UNSUPPORTED_MECHANISM.to_reply()),
        }
    }

    fn auth_step(&mut self, verb: AuthVerb, data: Vec<u8>) -> Decision {
        match std::mem::replace(&mut self.auth, Auth::Idle) {
            Auth::Plain => self.plain(verb, &data),
            Auth::LoginUser => self.login_user(&data),
            Auth::LoginPassword(user) => match login::parse_field(&data) {
                Ok(password) => match self.shared.users.authenticate(&user, &password) {
                    Some(account) => self.success(verb, "LOGIN", &account),
                    None => self.failure(verb, "LOGIN", &user),
                },
                Err(e) => self.malformed(e),
            },
            Auth::NtlmNegotiate => self.ntlm_negotiate(verb, &data),
            Auth::NtlmAuthenticate(challenge) => {
                let users = &self.shared.users;
                match challenge.verify(&data, |name| users.password_ci(name)) {
                    Ok((user, variant)) => {
                        info!(conn = self.id, variant, "NTLM response verified");
                        self.success(verb, "NTLM", &user)
                    }
                    Err(e) => {
                        let name = ntlm::authenticate_user(&data).unwrap_or_default();
                        debug!(conn = self.id, error = %e, "NTLM verification failed");
                        self.failure(verb, "NTLM", &name)
                    }
                }
            }
            Auth::Idle => Decision::AuthFailure,
        }
    }

    fn plain(&mut self, verb: AuthVerb, msg: &[u8]) -> Decision {
        match PlainMessage::parse(msg) {
            Ok(m) => {
                // Acting as another user is not offered: an authorization identity must
                // name the account the credentials belong to (after SASLprep, like it).
                let account = self.shared.users.authenticate(&m.authcid, &m.password);
                match (account, m.authzid.as_deref()) {
                    (Some(account), None) => self.success(verb, "PLAIN", &account),
                    (Some(account), Some(z)) if super::prepare(z).as_deref() == Some(&*account) => {
                        self.success(verb, "PLAIN", &account)
                    }
                    _ => self.failure(verb, "PLAIN", &m.authcid),
                }
            }
            Err(e) => self.malformed(e),
        }
    }

    fn login_user(&mut self, data: &[u8]) -> Decision {
        match login::parse_field(data) {
            Ok(user) => {
                self.auth = Auth::LoginPassword(user);
                Decision::AuthChallenge(login::PASSWORD_CHALLENGE.to_vec())
            }
            Err(e) => self.malformed(e),
        }
    }

    fn ntlm_negotiate(&mut self, verb: AuthVerb, negotiate: &[u8]) -> Decision {
        let target = self
            .shared
            .config
            .hostname
            .split('.')
            .next()
            .unwrap_or("EHLO")
            .to_ascii_uppercase();
        match ntlm::ServerChallenge::new(negotiate, &target, &self.shared.config.hostname) {
            Ok((challenge, message)) => {
                self.auth = Auth::NtlmAuthenticate(challenge);
                Decision::AuthChallenge(message)
            }
            Err(e) => {
                debug!(conn = self.id, error = %e, ?verb, "bad NTLM NEGOTIATE");
                self.auth = Auth::Idle;
                Decision::Reply(ehlo::sasl::AuthReply::MALFORMED.to_reply())
            }
        }
    }
}

/// A `--max-connections` slot held by a connection of the implicit-TLS port during its
/// handshake, before its session counts itself: a client that stalls there holds a
/// socket (and, in the thread-per-connection server, a thread) as much as one in a
/// session. Dropped once the session exists.
#[derive(Debug)]
pub struct HandshakeSlot(Arc<Shared>);

impl HandshakeSlot {
    /// A slot, if one is free (the active sessions and handshakes are below the limit).
    pub fn take(shared: &Arc<Shared>) -> Option<HandshakeSlot> {
        let before = shared.active.fetch_add(1, Ordering::Relaxed);
        let slot = HandshakeSlot(shared.clone());
        (before < shared.max_connections).then_some(slot)
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::Relaxed);
        debug!(conn = self.id, stored = self.stored, "connection closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        server: super::super::ServerOptions,
    }

    /// Runs `script` (client input, sent at once) through a session of the example
    /// server storing into `dir`, and returns what the server answered and the messages
    /// that landed in `new/` (sorted by name).
    fn run(dir: &Path, args: &[&str], script: &[u8]) -> (String, Vec<Vec<u8>>) {
        let maildir = dir.to_str().unwrap();
        let mut argv = vec![
            "server",
            "--maildir",
            maildir,
            "--hostname",
            "mx.example.test",
        ];
        argv.extend_from_slice(args);
        argv.push("--no-fsync");
        let options = Cli::try_parse_from(argv).unwrap().server;
        let (shared, _) = options.setup().unwrap();
        let now = Instant::now();
        let peer: SocketAddr = "192.0.2.7:4000".parse().unwrap();
        let mut session = Session::new(shared, peer, now);
        let mut out = Vec::new();
        let mut fed = false;
        loop {
            match session.next() {
                Next::Read => {
                    while let Some(b) = session.server.poll_transmit() {
                        out.extend_from_slice(&b);
                    }
                    if fed {
                        break;
                    }
                    fed = true;
                    session.receive(now, script);
                }
                Next::Commit(c) => {
                    let r = c.run();
                    session.committed(r);
                }
                Next::TlsUpgrade => panic!("no TLS here"),
                Next::Closed => {
                    while let Some(b) = session.server.poll_transmit() {
                        out.extend_from_slice(&b);
                    }
                    break;
                }
            }
        }
        let mut names: Vec<_> = std::fs::read_dir(dir.join("new"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        let files = names.iter().map(|p| std::fs::read(p).unwrap()).collect();
        (String::from_utf8_lossy(&out).into_owned(), files)
    }

    /// Hostile envelope values through the real server machine: what the session writes
    /// into stored mail (the trace lines, the delivery report) stays one field per line,
    /// CRLF-ended, at most 998 octets (RFC 5322 sections 2.1.1 and 2.2), whatever the
    /// EHLO name, the quoted local parts, ENVID and ORCPT (xtext CR LF is refused, HTAB
    /// and long values are written within a line) the client gave.
    #[test]
    fn hostile_envelopes_make_well_formed_trace_and_report_lines() {
        let long_orcpt = ["+09", &"+3D".repeat(490), "@x.test"].concat();
        let long_utf8 = ["+C3+A9".repeat(245), "@x.test".into()].concat();
        let script = [
            "EHLO a(b);c\r\n",
            "MAIL FROM:<a@x.test> ENVID=+0D+0AX-Injected:+20y\r\n",
            "MAIL FROM:<\"a\\\"b c\"@x.test> ENVID=a+09b\r\n",
            "RCPT TO:<b@x.test> NOTIFY=SUCCESS ORCPT=rfc822;b+0D+0AX:y\r\n",
            "RCPT TO:<b@x.test> NOTIFY=SUCCESS ORCPT=rfc822;",
            &long_orcpt,
            "\r\nRCPT TO:<\"d;(e)\"@x.test> NOTIFY=SUCCESS ORCPT=utf-8;",
            &long_utf8,
            "\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n",
        ]
        .concat();
        let dir = tempfile::tempdir().unwrap();
        let (out, files) = run(dir.path(), &[], script.as_bytes());
        assert!(out.contains("\r\n250 2.0.0 Ok: queued"), "{out}");
        assert_eq!(files.len(), 2, "{out}");
        let message = String::from_utf8(files[0].clone()).unwrap();
        let report = String::from_utf8(files[1].clone()).unwrap();
        assert!(message.starts_with(
            "Return-Path: <\"a\\\"b c\"@x.test>\r\nReceived: from unknown ([192.0.2.7])\r\n"
        ));
        assert!(report.contains("To: <\"a\\\"b c\"@x.test>\r\n"), "{report}");
        assert!(
            report.contains("Original-Envelope-Id: a\tb\r\n"),
            "{report}"
        );
        assert!(
            !report.contains("X-Injected") && !report.contains("\nX:"),
            "{report}"
        );
        for file in [&message, &report] {
            for line in file.split_inclusive("\r\n") {
                let body = line.strip_suffix("\r\n").unwrap_or(line);
                assert!(!body.contains(['\r', '\n', '\0']), "{line:?}");
                assert!(body.len() <= 998, "{} octets: {line:.80}", body.len());
            }
        }
    }
}
