//! Code shared by the server examples (`smtp-server`, `blocking`, `event-loop`) and the
//! client example (`smtp-send`): command-line options, the `ServerConfig` they build, the
//! Maildir store, the per-connection event handling and the NTLM arithmetic.
//!
//! Included by each example with `#[path = "common/mod.rs"] mod common;`; every example
//! uses a different part, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod conn;
pub mod dsn;
pub mod maildir;
pub mod ntlm;
pub mod session;
pub mod tls;

use clap::Args;
use ehlo::server::{Mechanism, ServerConfig};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// The options every server example takes (`smtp-server`, `blocking`, `event-loop`).
#[derive(Debug, Clone, Args)]
pub struct ServerOptions {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:2525")]
    pub listen: SocketAddr,
    /// Also listen here for SMTP over implicit TLS (RFC 8314 section 3, the "submissions"
    /// port 465): the TLS handshake comes first, then the greeting; STARTTLS is not
    /// offered there. Needs --tls-cert and --tls-key, or --tls-self-signed.
    #[arg(long, value_name = "ADDR")]
    pub tls_listen: Option<SocketAddr>,
    /// Maildir to store accepted messages in (created if missing).
    #[arg(long, default_value = "./maildir")]
    pub maildir: PathBuf,
    /// Host name for the greeting, the EHLO reply and the Received header.
    #[arg(long)]
    pub hostname: Option<String>,
    /// PEM certificate chain for STARTTLS (and the --tls-listen port).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for STARTTLS (and the --tls-listen port).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Offer STARTTLS (and serve the --tls-listen port) with a self-signed certificate
    /// generated at start for the host name and `localhost`.
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,
    /// An account for AUTH PLAIN, LOGIN and NTLM, as NAME:PASSWORD (repeatable). PLAIN
    /// and LOGIN compare names and passwords after SASLprep (RFC 4616, RFC 4013).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    pub users: Vec<String>,
    /// Refuse MAIL until the client authenticated (530 5.7.0). Needs --user.
    #[arg(long)]
    pub require_auth: bool,
    /// Offer PLAIN and LOGIN before STARTTLS too (they are only offered under TLS
    /// otherwise; without any TLS configured they are always offered).
    #[arg(long)]
    pub allow_plaintext_auth: bool,
    /// Largest message in octets (advertised with SIZE).
    #[arg(long)]
    pub max_size: Option<u64>,
    /// Most recipients per transaction (at least 1; RFC 5321 4.5.3.1.8 asks for 100, the
    /// default).
    #[arg(long)]
    pub max_recipients: Option<usize>,
    /// Advertise and serve the Microsoft Exchange extensions.
    #[arg(long)]
    pub exchange: bool,
    /// Do not fsync message files and the Maildir before acknowledging (benchmarks only:
    /// an acknowledged message may then be lost in a crash).
    #[arg(long)]
    pub no_fsync: bool,
    /// Seconds a silent client is kept, waiting for a command or for more message content
    /// (RFC 5321 4.5.3.2: at least 5 minutes for commands and 3 for content, the defaults);
    /// then `421 4.4.2` and the connection closes.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// Most connections served at once; one more gets `421 4.3.2` and is closed at once
    /// (RFC 5321 3.1: a server may refuse service with 421 instead of the greeting). A
    /// connection of the implicit-TLS port counts from its start (its handshake
    /// included); one past the limit may be closed without a reply.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

impl ServerOptions {
    /// What every server example builds from its options before it listens: the state
    /// all connections share (configuration, accounts, the opened Maildir) and the TLS
    /// configuration when STARTTLS is on.
    pub fn setup(
        &self,
    ) -> Result<(Arc<session::Shared>, Option<Arc<rustls::ServerConfig>>), Error> {
        if self.tls_listen.is_some() && !self.tls_enabled() {
            return Err("--tls-listen needs --tls-cert and --tls-key, or --tls-self-signed".into());
        }
        // Options under which no message could ever be accepted are mistakes, not
        // policies: without an account AUTH is never offered, so every MAIL would get
        // `530 5.7.0` (RFC 4954 section 6) with no way to authenticate; with no recipient
        // allowed every RCPT would get `452 4.5.3` (RFC 5321 4.5.3.1.8 asks for 100).
        if self.require_auth && self.users.is_empty() {
            return Err("--require-auth needs at least one --user NAME:PASSWORD".into());
        }
        if self.max_recipients == Some(0) {
            return Err("--max-recipients must be at least 1".into());
        }
        let users = self.accounts()?;
        let config = self.server_config();
        let hostname = config.hostname.clone();
        let tls = if self.tls_enabled() {
            Some(tls::server_config(
                self.tls_cert.as_deref(),
                self.tls_key.as_deref(),
                &hostname,
            )?)
        } else {
            None
        };
        let maildir = maildir::Maildir::open(&self.maildir, &hostname, !self.no_fsync)?;
        let shared = Arc::new(session::Shared {
            config: Arc::new(config),
            users,
            maildir,
            tls: tls.is_some(),
            connections: AtomicU64::new(0),
            active: std::sync::atomic::AtomicU32::new(0),
            max_connections: self.max_connections,
        });
        Ok((shared, tls))
    }

    /// The host name: `--hostname`, else the system's, else `localhost`.
    pub fn hostname(&self) -> String {
        if let Some(h) = &self.hostname {
            return h.clone();
        }
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "localhost".to_string())
    }

    /// Whether TLS is configured.
    pub fn tls_enabled(&self) -> bool {
        self.tls_self_signed || self.tls_cert.is_some()
    }

    /// The accounts of `--user NAME:PASSWORD`.
    pub fn accounts(&self) -> Result<Users, String> {
        let mut users = HashMap::new();
        // The messages name the account, never the password: they go to standard error,
        // which a service manager keeps in its log.
        for (i, u) in self.users.iter().enumerate() {
            let n = i + 1;
            let (name, password) = u
                .split_once(':')
                .ok_or_else(|| format!("--user number {n}: expected NAME:PASSWORD"))?;
            if name.is_empty() {
                return Err(format!("--user number {n}: empty name"));
            }
            let (Some(prepared_name), Some(prepared_password)) = (prepare(name), prepare(password))
            else {
                return Err(format!(
                    "--user {name:?}: name and password must be non-empty and valid under SASLprep (RFC 4013)"
                ));
            };
            let account = Account {
                password: prepared_password.into_owned(),
                raw_name: name.to_string(),
                raw_password: password.to_string(),
            };
            if users.insert(prepared_name.into_owned(), account).is_some() {
                return Err(format!("--user {name:?}: that user name was given before"));
            }
        }
        Ok(Users(users))
    }

    /// The session configuration these options describe.
    pub fn server_config(&self) -> ServerConfig {
        let mut config = if self.exchange {
            // The crate's Exchange 2016/2019 "Default Frontend" profile (the recorded
            // EHLO reply of the spec's fixtures): X-ANONYMOUSTLS, AUTH NTLM (LOGIN under
            // TLS), X-EXPS, XRDST, XSHADOWREQUEST, Exchange's size limit and greeting.
            let mut c = ServerConfig::exchange_2016_default(self.hostname());
            // GSSAPI (Kerberos) is not served by this example.
            c.exchange.exps_mechanisms.retain(|m| m.name != "GSSAPI");
            c.auth.mechanisms.retain(|m| m.name != "GSSAPI");
            c.exchange.anonymous_tls = self.tls_enabled();
            // XEXCH50 too (Exchange 2007+ dropped it from the front end; the blob is
            // accepted and discarded here).
            c.exchange.xexch50 = true;
            if self.users.is_empty() {
                c.auth.mechanisms.clear();
                c.exchange.exps_mechanisms.clear();
            }
            c
        } else {
            let mut c = ServerConfig::new(self.hostname());
            c.extensions.smtputf8 = true;
            // DSN stays offered: NOTIFY=SUCCESS gets its "delivered" report, stored in the
            // Maildir beside the message (`dsn.rs`).
            if !self.users.is_empty() {
                c.auth.mechanisms = vec![
                    Mechanism::new("PLAIN"),
                    Mechanism::new("LOGIN"),
                    Mechanism::new("NTLM"),
                ];
            }
            c
        };
        config.extensions.starttls = self.tls_enabled();
        if let Some(size) = self.max_size {
            config.limits.max_message_size = size;
        }
        if let Some(n) = self.max_recipients {
            config.limits.max_recipients = n;
        }
        if let Some(secs) = self.timeout {
            config.timeouts.command = std::time::Duration::from_secs(secs);
            config.timeouts.data_block = std::time::Duration::from_secs(secs);
        }
        // A benchmark or bulk client sends many messages per session.
        config.limits.max_transactions = 100_000;
        config.limits.max_commands = 1_000_000;
        config.auth.allow_plaintext_without_tls =
            !self.users.is_empty() && (self.allow_plaintext_auth || !self.tls_enabled());
        config.auth.require_auth = self.require_auth;
        config
    }
}

/// The examples' error type.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// User names and passwords from the command line, kept as SASLprep prepared them.
///
/// RFC 4616 section 2 (PLAIN) asks the server to prepare both the presented and the stored
/// user name and password before comparing them, and recommends SASLprep (RFC 4013) for
/// it: a password typed as "I\u{00AD}X" (with a soft hyphen) or with a no-break space then
/// matches the one configured as "IX" or with a plain space, and one that stringprep
/// prohibits (control characters, unassigned code points, mixed-direction text) matches
/// nothing. LOGIN ([MS-XLOGIN]) carries the same user name and password and is checked
/// the same way. NTLM compares a user name case-insensitively and hashes the password
/// as given, as Windows does ([MS-NLMP] 3.3).
#[derive(Debug, Clone, Default)]
pub struct Users(HashMap<String, Account>);

/// One `--user`, keyed by its prepared name. Its `Debug` leaves the passwords out (the
/// accounts are inside `session::Shared`, which a log line may print with `?`).
#[derive(Clone)]
struct Account {
    /// The password after SASLprep (PLAIN, LOGIN).
    password: String,
    /// The name and password as given (NTLM).
    raw_name: String,
    raw_password: String,
}

/// `s` prepared with SASLprep (RFC 4013, stored strings: unassigned code points
/// prohibited), or `None` when SASLprep rejects it or leaves nothing, which RFC 4616 says
/// must fail verification.
fn prepare(s: &str) -> Option<std::borrow::Cow<'_, str>> {
    stringprep::saslprep(s).ok().filter(|p| !p.is_empty())
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("raw_name", &self.raw_name)
            .finish_non_exhaustive()
    }
}

impl Users {
    /// The account `name` and `password` (both compared after SASLprep) log in to, by
    /// its prepared name: the identity the session reports, however the client spelled it.
    pub fn authenticate(&self, name: &str, password: &str) -> Option<String> {
        let (name, password) = (prepare(name)?, prepare(password)?);
        let (account, a) = self.0.get_key_value(name.as_ref())?;
        ehlo::sasl::constant_time_eq(a.password.as_bytes(), password.as_bytes())
            .then(|| account.clone())
    }

    /// The user name and password of `name` as given on the command line, the name
    /// matched case-insensitively (NTLM user names are).
    pub fn password_ci(&self, name: &str) -> Option<(&str, &str)> {
        self.0
            .values()
            .find(|a| a.raw_name.eq_ignore_ascii_case(name))
            .map(|a| (a.raw_name.as_str(), a.raw_password.as_str()))
    }
}

/// Sets up `tracing` output on standard error (`RUST_LOG` overrides `default`).
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Sets on a listening socket the TCP options its connections want, and says whether the
/// accepted sockets get them from it (`true` on Linux, which copies a listener's options
/// into every socket it accepts; elsewhere `false`, and each connection needs
/// `set_nodelay` itself). Either way, one `setsockopt` per connection fewer matters only
/// at thousands of connections a second.
///
/// - `TCP_NODELAY`: every flush is a whole reply (or a batch of pipelined ones) that the
///   client waits for, so it must leave at once rather than wait for the ACK of the
///   previous segment (Nagle), which the client may delay by 40 ms.
/// - Delayed ACKs from the first command on: a new TCP connection starts in quick-ACK
///   mode, so the kernel would acknowledge the client's first command (`EHLO`) in a packet
///   of its own a few microseconds before the reply, which carries the same
///   acknowledgement. After the first reply the kernel sees a dialogue and delays ACKs by
///   itself; this only saves that one packet (and its handling on both sides) per
///   connection. A reply that takes longer than the delayed-ACK timer (40 ms) is preceded
///   by the ACK as usual.
#[cfg(target_os = "linux")]
pub fn tune_listener(listener: &impl std::os::fd::AsFd) -> bool {
    let socket = socket2::SockRef::from(listener);
    let _ = socket.set_tcp_quickack(false);
    socket.set_tcp_nodelay(true).is_ok()
}

/// See the Linux version: elsewhere accepted sockets do not inherit `TCP_NODELAY`.
#[cfg(not(target_os = "linux"))]
pub fn tune_listener<S>(_listener: &S) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerOptions,
    }

    fn options(args: &[&str]) -> ServerOptions {
        Cli::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
            .unwrap()
            .server
    }

    /// A refused `--user` is named in the error without its password, and the accounts'
    /// `Debug` shows no password either.
    #[test]
    fn passwords_stay_out_of_errors_and_debug() {
        for (user, shown) in [
            ("alice:secret\u{7}", "alice"),
            ("alice-secret", "number 2"),
            (":secret", "number 2"),
            ("alice:secret", "alice"),
        ] {
            let e = options(&["--user", "alice:secret", "--user", user])
                .accounts()
                .unwrap_err();
            assert!(e.contains(shown), "{user:?}: {e}");
            assert!(!e.contains("secret"), "{user:?}: {e}");
        }
        let users = options(&["--user", "alice:secret"]).accounts().unwrap();
        assert!(users.authenticate("alice", "secret").is_some());
        let debug = format!("{users:?}");
        assert!(
            debug.contains("alice") && !debug.contains("secret"),
            "{debug}"
        );
    }

    /// README: the example servers compare PLAIN and LOGIN user names and passwords after
    /// SASLprep (RFC 4616 section 2, RFC 4013: a no-break or em space maps to a space, a
    /// soft hyphen to nothing, NFKC), and refuse at start a `--user` SASLprep rejects or
    /// one that repeats another once prepared.
    #[test]
    fn accounts_compare_after_saslprep_and_refuse_bad_or_repeated_users() {
        let users = options(&["--user", "jörg:p\u{A0}ä\u{AD}ss"])
            .accounts()
            .unwrap();
        let ok = Some("jörg".to_string());
        assert_eq!(users.authenticate("jörg", "p äss"), ok);
        assert_eq!(users.authenticate("jo\u{308}rg", "p\u{2003}äss"), ok);
        assert_eq!(users.authenticate("jörg", "päss"), None);
        assert_eq!(users.authenticate("jörg", "p äss\u{7}"), None);
        assert_eq!(users.authenticate("joerg", "p äss"), None);
        for bad in ["bad:pass\u{7}", "\u{AD}:x", "alice:\u{AD}", "alice:"] {
            assert!(options(&["--user", bad]).accounts().is_err(), "{bad:?}");
        }
        let repeated = options(&["--user", "alice:x", "--user", "al\u{AD}ice:y"]).accounts();
        assert!(repeated.unwrap_err().contains("given before"));
    }
}
