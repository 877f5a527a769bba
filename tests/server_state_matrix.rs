//! The server's answer to every command in every session state: a table of (state,
//! command) cells, each with the exact reply code and enhanced status code the session
//! sends and the state the command leaves (whether the transaction survived, the
//! greeting, authentication, the SASL exchange, the TLS wait), and for every cell the rule
//! that decides it: RFC 5321 (3.1, 3.3, 4.1.1.x, 4.1.4 order, 4.2.4, 4.3.2 command-reply
//! sequences), RFC 3207, RFC 4954, RFC 3030, RFC 1870, RFC 3461, RFC 2034 / RFC 3463 /
//! RFC 5248, and \[MS-OXSMTP\] / \[MS-SMTPNTLM\] where the Exchange presets differ. Where
//! the RFCs allow more than one answer the comment says so and the table pins the one
//! this server gives.
//!
//! Each cell runs on a fresh session: it is driven into its state (checked), the command
//! line is fed, and the output must be exactly one reply (or none, where nothing is read).
//! The caller answers with `Decision::Default`, except as [`decide`] says.

use ehlo::server::{Decision, Event, Mechanism, Server, ServerConfig};
use ehlo::{EnhancedCode, Reply};
use std::borrow::Cow;
use std::time::Instant;

/// The configurations the table runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cfg {
    /// The default extensions plus STARTTLS and AUTH PLAIN LOGIN (offered before TLS, so
    /// that AUTH is advertised in the plaintext session the table mostly runs in).
    Full,
    /// No CHUNKING, BINARYMIME, AUTH or STARTTLS: what a session does with the verbs and
    /// parameters of extensions it did not advertise.
    Bare,
    /// `Full` under implicit TLS (RFC 8314): the greeting went out inside TLS.
    ImplicitTls,
    /// `Full` plus CRAM-MD5, a mechanism where the server speaks first.
    Cram,
    /// `Full` with `auth.require_auth` (submission, RFC 6409 / RFC 4954 section 6).
    RequireAuth,
    /// The Exchange 2016 "Default Frontend" preset (\[MS-OXSMTP\], \[MS-SMTPNTLM\]).
    Ex2016,
    /// The Exchange 2016 "Client Frontend" (submission) preset.
    Ex2016Submission,
    /// The Exchange 2003 preset.
    Ex2003,
}

fn config(cfg: Cfg) -> ServerConfig {
    let full = || {
        let mut c = ServerConfig::new("mx.example.test");
        c.extensions.starttls = true;
        c.auth.mechanisms = vec![Mechanism::new("PLAIN"), Mechanism::new("LOGIN")];
        c.auth.allow_plaintext_without_tls = true;
        c
    };
    match cfg {
        Cfg::Full | Cfg::ImplicitTls => full(),
        Cfg::Bare => {
            let mut c = ServerConfig::new("mx.example.test");
            c.extensions.chunking = false;
            c.extensions.binary_mime = false;
            c
        }
        Cfg::Cram => {
            let mut c = full();
            c.auth.mechanisms.push(Mechanism::new("CRAM-MD5"));
            c
        }
        Cfg::RequireAuth => {
            let mut c = full();
            c.auth.require_auth = true;
            c
        }
        Cfg::Ex2016 => ServerConfig::exchange_2016_default("mx.example.test"),
        Cfg::Ex2016Submission => ServerConfig::exchange_2016_submission("mx.example.test"),
        Cfg::Ex2003 => ServerConfig::exchange_2003("mx.example.test"),
    }
}

/// The session states the commands are tried in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// After the `220` greeting, before EHLO or HELO.
    Greeted,
    /// After an accepted HELO (no extensions in force).
    Helo,
    /// After an accepted EHLO.
    Ehlo,
    /// EHLO, then an accepted MAIL: a transaction without recipients.
    Mail,
    /// EHLO, MAIL and one accepted RCPT.
    Rcpt,
    /// EHLO, MAIL and one RCPT the caller refused (`550 5.1.1`): a transaction whose only
    /// recipient was refused.
    RcptRefused,
    /// EHLO, MAIL, RCPT and one `BDAT 3` chunk accepted (`250`), not yet LAST.
    Bdat,
    /// HELO, then an accepted MAIL.
    HeloMail,
    /// EHLO and `AUTH LOGIN`, answered `334`: inside the SASL exchange.
    Sasl,
    /// EHLO and AUTH PLAIN with an initial response, accepted (`235`).
    Authed,
    /// EHLO and STARTTLS, answered `220`: waiting for the handshake, which has not
    /// completed.
    TlsPending,
    /// After the STARTTLS handshake completed, before the new EHLO.
    TlsFresh,
    /// After QUIT (`221`): the session is closed.
    Quit,
    /// The caller refused the connection (`554 5.7.1` greeting, RFC 5321 3.1).
    Refused,
}

/// How the table's caller decides: `Decision::Default` for everything, except that a
/// recipient `nobody@...` is refused with `550 5.1.1`, and AUTH is accepted (an initial
/// response at once with `235`; without one an empty `334` challenge, whose response is
/// accepted), so that the AUTH cells show the command reaching the exchange.
fn decide(e: &Event) -> Decision {
    match e {
        Event::RcptTo { to, .. } if to.to_string().contains("nobody@") => Decision::Reply(
            Reply::new(550, Some(EnhancedCode::new(5, 1, 1)), "No such user"),
        ),
        Event::AuthStart {
            initial_response: None,
            ..
        } => Decision::AuthChallengeText(Cow::Borrowed("")),
        Event::AuthStart { .. } | Event::AuthResponse { .. } => Decision::AuthSuccess {
            identity: "user".into(),
        },
        _ => Decision::Default,
    }
}

/// What the session looks like from outside, after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    /// The input phase, from the session's `Debug` (`Command`, `Sasl`, `Data`, `Bdat`,
    /// `TlsHandshake`, `Closed`).
    phase: String,
    /// How the client greeted (`No`, `Helo`, `Ehlo`), from the session's `Debug`.
    greeted: String,
    /// The open transaction's accepted recipients, if a transaction is open.
    txn: Option<usize>,
    auth: bool,
    tls: bool,
}

/// The state a command leaves, relative to the state it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// Nothing changed (the transaction, if any, survived).
    Same,
    /// The session is closed; the transaction is gone.
    Closed,
    /// A transaction is open with this many recipients.
    Txn(usize),
    /// No transaction is open (any was reset); otherwise unchanged.
    NoTxn,
    /// Greeted with EHLO, no transaction (RFC 5321 4.1.4: reset as by RSET).
    Ehlo,
    /// Greeted with HELO, no transaction.
    Helo,
    /// Authenticated, reading commands.
    Authenticated,
    /// Inside a SASL exchange (after a `334`).
    Sasl,
    /// The SASL exchange ended without authentication; reading commands.
    SaslEnded,
    /// Waiting for the TLS handshake; no transaction.
    TlsWait,
    /// Reading message content after `354`.
    Data,
}

impl After {
    fn apply(self, before: &Snapshot) -> Snapshot {
        let mut s = before.clone();
        let command = |s: &mut Snapshot| s.phase = "Command".to_string();
        match self {
            After::Same => {}
            After::Closed => {
                s.phase = "Closed".to_string();
                s.txn = None;
            }
            After::Txn(n) => {
                command(&mut s);
                s.txn = Some(n);
            }
            After::NoTxn => {
                command(&mut s);
                s.txn = None;
            }
            After::Ehlo | After::Helo => {
                command(&mut s);
                s.greeted = if self == After::Ehlo { "Ehlo" } else { "Helo" }.to_string();
                s.txn = None;
            }
            After::Authenticated => {
                command(&mut s);
                s.auth = true;
            }
            After::Sasl => s.phase = "Sasl".to_string(),
            After::SaslEnded => command(&mut s),
            After::TlsWait => {
                s.phase = "TlsHandshake".to_string();
                s.txn = None;
            }
            After::Data => s.phase = "Data".to_string(),
        }
        s
    }
}

struct Session {
    server: Server,
    out: Vec<u8>,
}

impl Session {
    fn new(cfg: Cfg) -> Session {
        let mut server = Server::new(config(cfg), Instant::now());
        if cfg == Cfg::ImplicitTls {
            server
                .tls_established()
                .expect("implicit TLS before the greeting");
        }
        let mut s = Session {
            server,
            out: Vec::new(),
        };
        s.feed(b"");
        s
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.server.receive(Instant::now(), bytes);
        while let Some(e) = self.server.poll_event() {
            if e.needs_decision() {
                self.server
                    .try_decide(decide(&e))
                    .unwrap_or_else(|err| panic!("{e:?}: {err}"));
            }
        }
        self.server.transmit_into(&mut self.out);
    }

    fn snapshot(&self) -> Snapshot {
        let debug = format!("{:?}", self.server);
        let field = |name: &str, end: char| {
            let rest = debug.split(name).nth(1).expect("Debug field");
            rest.split(end).next().unwrap_or_default().to_string()
        };
        Snapshot {
            phase: field("phase: \"", '"'),
            greeted: field("greeted: ", ','),
            txn: self
                .server
                .in_transaction()
                .then(|| self.server.recipients()),
            auth: self.server.authenticated().is_some(),
            tls: self.server.is_tls(),
        }
    }

    /// The reply to what was fed since the last call: `""` for none, else the code and,
    /// when the first line carries one, the enhanced status code (`"250 2.1.0"`; a
    /// multi-line reply such as EHLO's is its code alone). Panics unless the output is
    /// exactly one reply.
    fn reply(&mut self) -> String {
        let out = String::from_utf8(std::mem::take(&mut self.out)).expect("ASCII replies");
        if out.is_empty() {
            return String::new();
        }
        let lines: Vec<&str> = out.split_terminator("\r\n").collect();
        let (last, init) = lines.split_last().expect("a reply line");
        assert!(
            last.as_bytes().get(3).map_or(true, |b| *b == b' ')
                && init.iter().all(|l| l.as_bytes().get(3) == Some(&b'-')),
            "not exactly one reply: {out:?}"
        );
        let first = lines[0];
        let code = &first[..3];
        let enhanced = first
            .get(4..)
            .and_then(|t| t.split(' ').next())
            .filter(|t| {
                let parts: Vec<&str> = t.split('.').collect();
                parts.len() == 3
                    && parts
                        .iter()
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            });
        match enhanced {
            Some(e) => format!("{code} {e}"),
            None => code.to_string(),
        }
    }
}

const EHLO: &str = "EHLO c.example.test\r\n";

/// Drives a fresh session of `cfg` into `st`, checking that it got there.
fn setup(cfg: Cfg, st: St) -> Session {
    let mut s = Session::new(cfg);
    let mail = "MAIL FROM:<a@example.test>\r\n";
    let rcpt = "RCPT TO:<b@example.test>\r\n";
    let input = match st {
        St::Greeted | St::Refused | St::TlsFresh => String::new(),
        St::Helo => "HELO c.example.test\r\n".to_string(),
        St::Ehlo => EHLO.to_string(),
        St::Mail => format!("{EHLO}{mail}"),
        St::Rcpt => format!("{EHLO}{mail}{rcpt}"),
        St::RcptRefused => format!("{EHLO}{mail}RCPT TO:<nobody@example.test>\r\n"),
        St::Bdat => format!("{EHLO}{mail}{rcpt}BDAT 3\r\nabc"),
        St::HeloMail => format!("HELO c.example.test\r\n{mail}"),
        St::Sasl => format!("{EHLO}AUTH LOGIN\r\n"),
        St::Authed => format!("{EHLO}AUTH PLAIN AHVzZXIAcGFzcw==\r\n"),
        St::TlsPending => format!("{EHLO}STARTTLS\r\n"),
        St::Quit => "QUIT\r\n".to_string(),
    };
    match st {
        St::Refused => {
            // The greeting decision, refused: a new session so that the `Connect` event
            // gets this decision rather than the default.
            let mut server = Server::new(config(cfg), Instant::now());
            assert!(matches!(server.poll_event(), Some(Event::Connect)));
            server.decide(Decision::Reply(Reply::new(
                554,
                Some(EnhancedCode::new(5, 7, 1)),
                "No service here",
            )));
            s = Session {
                server,
                out: Vec::new(),
            };
        }
        St::TlsFresh => {
            s.feed(format!("{EHLO}STARTTLS\r\n").as_bytes());
            s.server
                .tls_established()
                .expect("the handshake was awaited");
        }
        _ => s.feed(input.as_bytes()),
    }
    s.server.transmit_into(&mut s.out);
    s.out.clear();
    let snap = s.snapshot();
    let want = match st {
        St::Greeted | St::Refused => ("Command", "No", None, false),
        St::Helo => ("Command", "Helo", None, false),
        St::Ehlo => ("Command", "Ehlo", None, false),
        St::Mail | St::RcptRefused => ("Command", "Ehlo", Some(0), false),
        St::Rcpt | St::Bdat => ("Command", "Ehlo", Some(1), false),
        St::HeloMail => ("Command", "Helo", Some(0), false),
        St::Sasl => ("Sasl", "Ehlo", None, false),
        St::Authed => ("Command", "Ehlo", None, true),
        St::TlsPending => ("TlsHandshake", "Ehlo", None, false),
        St::TlsFresh => ("Command", "No", None, false),
        St::Quit => ("Closed", "No", None, false),
    };
    assert_eq!(
        (
            snap.phase.as_str(),
            snap.greeted.as_str(),
            snap.txn,
            snap.auth
        ),
        want,
        "{cfg:?} {st:?} was not reached"
    );
    s
}

/// Sends `cmd` (a command line without its CRLF; a `BDAT` cell carries its chunk after
/// the CRLF and is sent as it is) in `st` under `cfg`, and returns the reply and the
/// state it left.
fn try_cell(cfg: Cfg, st: St, cmd: &str) -> (String, Snapshot, Snapshot) {
    let mut s = setup(cfg, st);
    let before = s.snapshot();
    let line = if cmd.contains("\r\n") {
        cmd.to_string()
    } else {
        format!("{cmd}\r\n")
    };
    s.feed(line.as_bytes());
    (s.reply(), before, s.snapshot())
}

type Cell = (St, &'static str, &'static str, After);

fn check(cfg: Cfg, table: &[Cell]) {
    let mut failures = Vec::new();
    for &(st, cmd, want_reply, want_after) in table {
        let (reply, before, after) = try_cell(cfg, st, cmd);
        let want = want_after.apply(&before);
        if reply != want_reply || after != want {
            failures.push(format!(
                "{cfg:?} {st:?} {cmd:?}: reply {reply:?} (want {want_reply:?}), \
                 state {after:?} (want {want_after:?} = {want:?})"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

const ALL: [St; 14] = [
    St::Greeted,
    St::Helo,
    St::Ehlo,
    St::Mail,
    St::Rcpt,
    St::RcptRefused,
    St::Bdat,
    St::HeloMail,
    St::Sasl,
    St::Authed,
    St::TlsPending,
    St::TlsFresh,
    St::Quit,
    St::Refused,
];

/// The full matrix: every command of the list in every state, under `Cfg::Full`. Rows are
/// grouped by command; the comment above each group gives the rules for its cells.
#[rustfmt::skip]
const FULL: &[Cell] = &[
    // ---- "EHLO c.example.test"
    // RFC 5321 4.1.1.1 / 4.3.2: EHLO is answered `250` (a multi-line reply; RFC 2034 section 3
    // exempts the EHLO reply from enhanced codes) wherever a command is read. 4.1.4: an
    // acceptable EHLO later in the session resets the state "exactly as if a RSET command had
    // been issued": the transaction of Mail, Rcpt, RcptRefused, Bdat and HeloMail is gone, and
    // authentication survives it (RSET keeps it; RFC 4954 ends it only with the session).
    // Sasl: RFC 4954 section 4, every line after a `334` is a response; this one is not BASE64
    // (it has a space), and a response the server cannot decode MUST get `501` (5.5.2, section
    // 6); the exchange ends unauthenticated. TlsPending: RFC 3207 section 4.2 (CVE-2011-0411),
    // nothing sent before the handshake is read. Quit: the session is closed, nothing answers.
    // Refused: RFC 5321 3.1, after a `554` greeting the server SHOULD answer everything but QUIT
    // with `503` (5.5.1, RFC 3463 invalid command).
    (St::Greeted, "EHLO c.example.test", "250", After::Ehlo),
    (St::Helo, "EHLO c.example.test", "250", After::Ehlo),
    (St::Ehlo, "EHLO c.example.test", "250", After::Same),
    (St::Mail, "EHLO c.example.test", "250", After::Ehlo),
    (St::Rcpt, "EHLO c.example.test", "250", After::Ehlo),
    (St::RcptRefused, "EHLO c.example.test", "250", After::Ehlo),
    (St::Bdat, "EHLO c.example.test", "250", After::Ehlo),
    (St::HeloMail, "EHLO c.example.test", "250", After::Ehlo),
    (St::Sasl, "EHLO c.example.test", "501 5.5.2", After::SaslEnded),
    (St::Authed, "EHLO c.example.test", "250", After::Same),
    (St::TlsPending, "EHLO c.example.test", "", After::Same),
    (St::TlsFresh, "EHLO c.example.test", "250", After::Ehlo),
    (St::Quit, "EHLO c.example.test", "", After::Same),
    (St::Refused, "EHLO c.example.test", "503 5.5.1", After::Same),

    // ---- "ehlo c.example.test"
    // RFC 5321 2.4: verbs are case-insensitive; every cell as for `EHLO`.
    (St::Greeted, "ehlo c.example.test", "250", After::Ehlo),
    (St::Helo, "ehlo c.example.test", "250", After::Ehlo),
    (St::Ehlo, "ehlo c.example.test", "250", After::Same),
    (St::Mail, "ehlo c.example.test", "250", After::Ehlo),
    (St::Rcpt, "ehlo c.example.test", "250", After::Ehlo),
    (St::RcptRefused, "ehlo c.example.test", "250", After::Ehlo),
    (St::Bdat, "ehlo c.example.test", "250", After::Ehlo),
    (St::HeloMail, "ehlo c.example.test", "250", After::Ehlo),
    (St::Sasl, "ehlo c.example.test", "501 5.5.2", After::SaslEnded),
    (St::Authed, "ehlo c.example.test", "250", After::Same),
    (St::TlsPending, "ehlo c.example.test", "", After::Same),
    (St::TlsFresh, "ehlo c.example.test", "250", After::Ehlo),
    (St::Quit, "ehlo c.example.test", "", After::Same),
    (St::Refused, "ehlo c.example.test", "503 5.5.1", After::Same),

    // ---- "EHLO"
    // RFC 5321 4.1.1.1 grammar: EHLO takes a domain (or address literal). 4.1.4: an EHLO that is
    // not acceptable gets one of 500, 501, 502, 550 and the server MUST stay in the state it was
    // in: `501 5.5.4` (RFC 3463 X.5.4, invalid command arguments) and every transaction
    // survives. Sasl: `EHLO` is four BASE64 characters, so it is the client's (decodable)
    // response (RFC 4954 section 4), accepted by the table's caller. (The Exchange presets
    // answer a bare EHLO: see `exchange_presets`.)
    (St::Greeted, "EHLO", "501 5.5.4", After::Same),
    (St::Helo, "EHLO", "501 5.5.4", After::Same),
    (St::Ehlo, "EHLO", "501 5.5.4", After::Same),
    (St::Mail, "EHLO", "501 5.5.4", After::Same),
    (St::Rcpt, "EHLO", "501 5.5.4", After::Same),
    (St::RcptRefused, "EHLO", "501 5.5.4", After::Same),
    (St::Bdat, "EHLO", "501 5.5.4", After::Same),
    (St::HeloMail, "EHLO", "501 5.5.4", After::Same),
    (St::Sasl, "EHLO", "235 2.7.0", After::Authenticated),
    (St::Authed, "EHLO", "501 5.5.4", After::Same),
    (St::TlsPending, "EHLO", "", After::Same),
    (St::TlsFresh, "EHLO", "501 5.5.4", After::Same),
    (St::Quit, "EHLO", "", After::Same),
    (St::Refused, "EHLO", "503 5.5.1", After::Same),

    // ---- "HELO c.example.test"
    // RFC 5321 4.1.1.1: HELO is answered with a one-line `250` (no enhanced code: RFC 2034
    // section 3 exempts the HELO reply); after it no extension is in force. 4.1.4: like EHLO it
    // resets any transaction (Mail, Rcpt, RcptRefused, Bdat, HeloMail lose it) and keeps
    // authentication. Sasl, TlsPending, Quit and Refused as for EHLO.
    (St::Greeted, "HELO c.example.test", "250", After::Helo),
    (St::Helo, "HELO c.example.test", "250", After::Same),
    (St::Ehlo, "HELO c.example.test", "250", After::Helo),
    (St::Mail, "HELO c.example.test", "250", After::Helo),
    (St::Rcpt, "HELO c.example.test", "250", After::Helo),
    (St::RcptRefused, "HELO c.example.test", "250", After::Helo),
    (St::Bdat, "HELO c.example.test", "250", After::Helo),
    (St::HeloMail, "HELO c.example.test", "250", After::Helo),
    (St::Sasl, "HELO c.example.test", "501 5.5.2", After::SaslEnded),
    (St::Authed, "HELO c.example.test", "250", After::Helo),
    (St::TlsPending, "HELO c.example.test", "", After::Same),
    (St::TlsFresh, "HELO c.example.test", "250", After::Helo),
    (St::Quit, "HELO c.example.test", "", After::Same),
    (St::Refused, "HELO c.example.test", "503 5.5.1", After::Same),

    // ---- "HELO"
    // RFC 5321 4.1.1.1: HELO requires a domain; 4.1.4: `501` and the same state (5.5.4, as for
    // a bare EHLO). Sasl: a valid BASE64 response.
    (St::Greeted, "HELO", "501 5.5.4", After::Same),
    (St::Helo, "HELO", "501 5.5.4", After::Same),
    (St::Ehlo, "HELO", "501 5.5.4", After::Same),
    (St::Mail, "HELO", "501 5.5.4", After::Same),
    (St::Rcpt, "HELO", "501 5.5.4", After::Same),
    (St::RcptRefused, "HELO", "501 5.5.4", After::Same),
    (St::Bdat, "HELO", "501 5.5.4", After::Same),
    (St::HeloMail, "HELO", "501 5.5.4", After::Same),
    (St::Sasl, "HELO", "235 2.7.0", After::Authenticated),
    (St::Authed, "HELO", "501 5.5.4", After::Same),
    (St::TlsPending, "HELO", "", After::Same),
    (St::TlsFresh, "HELO", "501 5.5.4", After::Same),
    (St::Quit, "HELO", "", After::Same),
    (St::Refused, "HELO", "503 5.5.1", After::Same),

    // ---- "MAIL FROM:<a@example.test>"
    // RFC 5321 4.1.4: a session with mail transactions MUST first be initialized with EHLO or
    // HELO: Greeted and TlsFresh (RFC 3207 section 4.2: the session starts over after the
    // handshake, so EHLO is needed again) get `503 5.5.1` (bad sequence, 4.3.2 lists 503 for
    // MAIL). After EHLO, HELO or AUTH: `250 2.1.0` (RFC 3463 X.1.0, other address status) and a
    // transaction without recipients (3.3). 4.1.4: MAIL MUST NOT be sent while a transaction is
    // open; the server answers `503 5.5.1` and MUST stay in the same state, so the open
    // transaction (and its recipients) survives. Sasl: not BASE64, `501 5.5.2` (RFC 4954 4).
    (St::Greeted, "MAIL FROM:<a@example.test>", "503 5.5.1", After::Same),
    (St::Helo, "MAIL FROM:<a@example.test>", "250 2.1.0", After::Txn(0)),
    (St::Ehlo, "MAIL FROM:<a@example.test>", "250 2.1.0", After::Txn(0)),
    (St::Mail, "MAIL FROM:<a@example.test>", "503 5.5.1", After::Same),
    (St::Rcpt, "MAIL FROM:<a@example.test>", "503 5.5.1", After::Same),
    (St::RcptRefused, "MAIL FROM:<a@example.test>", "503 5.5.1", After::Same),
    (St::Bdat, "MAIL FROM:<a@example.test>", "503 5.5.1", After::Same),
    (St::HeloMail, "MAIL FROM:<a@example.test>", "503 5.5.1", After::Same),
    (St::Sasl, "MAIL FROM:<a@example.test>", "501 5.5.2", After::SaslEnded),
    (St::Authed, "MAIL FROM:<a@example.test>", "250 2.1.0", After::Txn(0)),
    (St::TlsPending, "MAIL FROM:<a@example.test>", "", After::Same),
    (St::TlsFresh, "MAIL FROM:<a@example.test>", "503 5.5.1", After::Same),
    (St::Quit, "MAIL FROM:<a@example.test>", "", After::Same),
    (St::Refused, "MAIL FROM:<a@example.test>", "503 5.5.1", After::Same),

    // ---- "mail from:<a@example.test>"
    // RFC 5321 2.4: case-insensitive verbs and `FROM:`; as for `MAIL FROM:`.
    (St::Greeted, "mail from:<a@example.test>", "503 5.5.1", After::Same),
    (St::Helo, "mail from:<a@example.test>", "250 2.1.0", After::Txn(0)),
    (St::Ehlo, "mail from:<a@example.test>", "250 2.1.0", After::Txn(0)),
    (St::Mail, "mail from:<a@example.test>", "503 5.5.1", After::Same),
    (St::Rcpt, "mail from:<a@example.test>", "503 5.5.1", After::Same),
    (St::RcptRefused, "mail from:<a@example.test>", "503 5.5.1", After::Same),
    (St::Bdat, "mail from:<a@example.test>", "503 5.5.1", After::Same),
    (St::HeloMail, "mail from:<a@example.test>", "503 5.5.1", After::Same),
    (St::Sasl, "mail from:<a@example.test>", "501 5.5.2", After::SaslEnded),
    (St::Authed, "mail from:<a@example.test>", "250 2.1.0", After::Txn(0)),
    (St::TlsPending, "mail from:<a@example.test>", "", After::Same),
    (St::TlsFresh, "mail from:<a@example.test>", "503 5.5.1", After::Same),
    (St::Quit, "mail from:<a@example.test>", "", After::Same),
    (St::Refused, "mail from:<a@example.test>", "503 5.5.1", After::Same),

    // ---- "MAIL FROM:<a@example.test> SIZE=100"
    // RFC 1870 / RFC 5321 4.1.1.11: `SIZE=` belongs to an extension the EHLO reply advertised:
    // accepted after EHLO (and after AUTH); after HELO no extension is in force, so the
    // parameter is not recognized: `555 5.5.4` (4.1.1.2 / 4.3.2 list 555 for MAIL; RFC 5248
    // X.5.4). The order of checks keeps the sequence errors first: `503` before EHLO or inside a
    // transaction (which survives).
    (St::Greeted, "MAIL FROM:<a@example.test> SIZE=100", "503 5.5.1", After::Same),
    (St::Helo, "MAIL FROM:<a@example.test> SIZE=100", "555 5.5.4", After::Same),
    (St::Ehlo, "MAIL FROM:<a@example.test> SIZE=100", "250 2.1.0", After::Txn(0)),
    (St::Mail, "MAIL FROM:<a@example.test> SIZE=100", "503 5.5.1", After::Same),
    (St::Rcpt, "MAIL FROM:<a@example.test> SIZE=100", "503 5.5.1", After::Same),
    (St::RcptRefused, "MAIL FROM:<a@example.test> SIZE=100", "503 5.5.1", After::Same),
    (St::Bdat, "MAIL FROM:<a@example.test> SIZE=100", "503 5.5.1", After::Same),
    (St::HeloMail, "MAIL FROM:<a@example.test> SIZE=100", "503 5.5.1", After::Same),
    (St::Sasl, "MAIL FROM:<a@example.test> SIZE=100", "501 5.5.2", After::SaslEnded),
    (St::Authed, "MAIL FROM:<a@example.test> SIZE=100", "250 2.1.0", After::Txn(0)),
    (St::TlsPending, "MAIL FROM:<a@example.test> SIZE=100", "", After::Same),
    (St::TlsFresh, "MAIL FROM:<a@example.test> SIZE=100", "503 5.5.1", After::Same),
    (St::Quit, "MAIL FROM:<a@example.test> SIZE=100", "", After::Same),
    (St::Refused, "MAIL FROM:<a@example.test> SIZE=100", "503 5.5.1", After::Same),

    // ---- "MAIL FROM:<a@example.test> SIZE=99999999999"
    // RFC 1870 section 6: a declared size over the fixed maximum (10 MiB here) is refused with
    // `552 5.3.4` (RFC 3463 X.3.4, message too big for system); no transaction opens. Other
    // cells as for `SIZE=100`.
    (St::Greeted, "MAIL FROM:<a@example.test> SIZE=99999999999", "503 5.5.1", After::Same),
    (St::Helo, "MAIL FROM:<a@example.test> SIZE=99999999999", "555 5.5.4", After::Same),
    (St::Ehlo, "MAIL FROM:<a@example.test> SIZE=99999999999", "552 5.3.4", After::Same),
    (St::Mail, "MAIL FROM:<a@example.test> SIZE=99999999999", "503 5.5.1", After::Same),
    (St::Rcpt, "MAIL FROM:<a@example.test> SIZE=99999999999", "503 5.5.1", After::Same),
    (St::RcptRefused, "MAIL FROM:<a@example.test> SIZE=99999999999", "503 5.5.1", After::Same),
    (St::Bdat, "MAIL FROM:<a@example.test> SIZE=99999999999", "503 5.5.1", After::Same),
    (St::HeloMail, "MAIL FROM:<a@example.test> SIZE=99999999999", "503 5.5.1", After::Same),
    (St::Sasl, "MAIL FROM:<a@example.test> SIZE=99999999999", "501 5.5.2", After::SaslEnded),
    (St::Authed, "MAIL FROM:<a@example.test> SIZE=99999999999", "552 5.3.4", After::Same),
    (St::TlsPending, "MAIL FROM:<a@example.test> SIZE=99999999999", "", After::Same),
    (St::TlsFresh, "MAIL FROM:<a@example.test> SIZE=99999999999", "503 5.5.1", After::Same),
    (St::Quit, "MAIL FROM:<a@example.test> SIZE=99999999999", "", After::Same),
    (St::Refused, "MAIL FROM:<a@example.test> SIZE=99999999999", "503 5.5.1", After::Same),

    // ---- "MAIL FROM:<a@example.test> BODY=BINARYMIME"
    // RFC 3030 section 3: `BODY=BINARYMIME` is the BINARYMIME extension's parameter, in force
    // only after an EHLO reply that advertised it (with CHUNKING): accepted after EHLO, `555
    // 5.5.4` after HELO (RFC 5321 4.1.1.11). (With BINARYMIME not offered at all see `bare`.)
    (St::Greeted, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "503 5.5.1", After::Same),
    (St::Helo, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "555 5.5.4", After::Same),
    (St::Ehlo, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "250 2.1.0", After::Txn(0)),
    (St::Mail, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "503 5.5.1", After::Same),
    (St::Rcpt, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "503 5.5.1", After::Same),
    (St::RcptRefused, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "503 5.5.1", After::Same),
    (St::Bdat, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "503 5.5.1", After::Same),
    (St::HeloMail, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "503 5.5.1", After::Same),
    (St::Sasl, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "501 5.5.2", After::SaslEnded),
    (St::Authed, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "250 2.1.0", After::Txn(0)),
    (St::TlsPending, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "", After::Same),
    (St::TlsFresh, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "503 5.5.1", After::Same),
    (St::Quit, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "", After::Same),
    (St::Refused, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "503 5.5.1", After::Same),

    // ---- "RCPT TO:<b@example.test>"
    // RFC 5321 3.3: "If RCPT appears without a previous MAIL command, the server MUST return a
    // 503": every state without a transaction (5.5.1). In a transaction: `250 2.1.5` (RFC 3463
    // X.1.5, destination address valid) and one recipient more, also after a refused one
    // (RcptRefused) and after HELO. Bdat: RFC 3030 section 2, once the first chunk is sent the
    // envelope is complete; `503 5.5.1` is the bad-sequence answer (one allowed answer; 4.3.2
    // lists 503 for RCPT) and the transaction survives. Sasl: not BASE64, `501 5.5.2`.
    (St::Greeted, "RCPT TO:<b@example.test>", "503 5.5.1", After::Same),
    (St::Helo, "RCPT TO:<b@example.test>", "503 5.5.1", After::Same),
    (St::Ehlo, "RCPT TO:<b@example.test>", "503 5.5.1", After::Same),
    (St::Mail, "RCPT TO:<b@example.test>", "250 2.1.5", After::Txn(1)),
    (St::Rcpt, "RCPT TO:<b@example.test>", "250 2.1.5", After::Txn(2)),
    (St::RcptRefused, "RCPT TO:<b@example.test>", "250 2.1.5", After::Txn(1)),
    (St::Bdat, "RCPT TO:<b@example.test>", "503 5.5.1", After::Same),
    (St::HeloMail, "RCPT TO:<b@example.test>", "250 2.1.5", After::Txn(1)),
    (St::Sasl, "RCPT TO:<b@example.test>", "501 5.5.2", After::SaslEnded),
    (St::Authed, "RCPT TO:<b@example.test>", "503 5.5.1", After::Same),
    (St::TlsPending, "RCPT TO:<b@example.test>", "", After::Same),
    (St::TlsFresh, "RCPT TO:<b@example.test>", "503 5.5.1", After::Same),
    (St::Quit, "RCPT TO:<b@example.test>", "", After::Same),
    (St::Refused, "RCPT TO:<b@example.test>", "503 5.5.1", After::Same),

    // ---- "rcpt to:<b@example.test>"
    // RFC 5321 2.4: case-insensitive; as for `RCPT TO:`.
    (St::Greeted, "rcpt to:<b@example.test>", "503 5.5.1", After::Same),
    (St::Helo, "rcpt to:<b@example.test>", "503 5.5.1", After::Same),
    (St::Ehlo, "rcpt to:<b@example.test>", "503 5.5.1", After::Same),
    (St::Mail, "rcpt to:<b@example.test>", "250 2.1.5", After::Txn(1)),
    (St::Rcpt, "rcpt to:<b@example.test>", "250 2.1.5", After::Txn(2)),
    (St::RcptRefused, "rcpt to:<b@example.test>", "250 2.1.5", After::Txn(1)),
    (St::Bdat, "rcpt to:<b@example.test>", "503 5.5.1", After::Same),
    (St::HeloMail, "rcpt to:<b@example.test>", "250 2.1.5", After::Txn(1)),
    (St::Sasl, "rcpt to:<b@example.test>", "501 5.5.2", After::SaslEnded),
    (St::Authed, "rcpt to:<b@example.test>", "503 5.5.1", After::Same),
    (St::TlsPending, "rcpt to:<b@example.test>", "", After::Same),
    (St::TlsFresh, "rcpt to:<b@example.test>", "503 5.5.1", After::Same),
    (St::Quit, "rcpt to:<b@example.test>", "", After::Same),
    (St::Refused, "rcpt to:<b@example.test>", "503 5.5.1", After::Same),

    // ---- "RCPT TO:<b@example.test> NOTIFY=NEVER"
    // RFC 3461 (DSN) is an EHLO extension: `NOTIFY=` is taken after EHLO; after HELO (HeloMail)
    // it is a parameter not recognized, `555 5.5.4` (RFC 5321 4.1.1.11), and the transaction
    // survives. Without a transaction the `503` of RFC 5321 3.3 comes first.
    (St::Greeted, "RCPT TO:<b@example.test> NOTIFY=NEVER", "503 5.5.1", After::Same),
    (St::Helo, "RCPT TO:<b@example.test> NOTIFY=NEVER", "503 5.5.1", After::Same),
    (St::Ehlo, "RCPT TO:<b@example.test> NOTIFY=NEVER", "503 5.5.1", After::Same),
    (St::Mail, "RCPT TO:<b@example.test> NOTIFY=NEVER", "250 2.1.5", After::Txn(1)),
    (St::Rcpt, "RCPT TO:<b@example.test> NOTIFY=NEVER", "250 2.1.5", After::Txn(2)),
    (St::RcptRefused, "RCPT TO:<b@example.test> NOTIFY=NEVER", "250 2.1.5", After::Txn(1)),
    (St::Bdat, "RCPT TO:<b@example.test> NOTIFY=NEVER", "503 5.5.1", After::Same),
    (St::HeloMail, "RCPT TO:<b@example.test> NOTIFY=NEVER", "555 5.5.4", After::Same),
    (St::Sasl, "RCPT TO:<b@example.test> NOTIFY=NEVER", "501 5.5.2", After::SaslEnded),
    (St::Authed, "RCPT TO:<b@example.test> NOTIFY=NEVER", "503 5.5.1", After::Same),
    (St::TlsPending, "RCPT TO:<b@example.test> NOTIFY=NEVER", "", After::Same),
    (St::TlsFresh, "RCPT TO:<b@example.test> NOTIFY=NEVER", "503 5.5.1", After::Same),
    (St::Quit, "RCPT TO:<b@example.test> NOTIFY=NEVER", "", After::Same),
    (St::Refused, "RCPT TO:<b@example.test> NOTIFY=NEVER", "503 5.5.1", After::Same),

    // ---- "DATA"
    // RFC 5321 4.1.1.4 / 3.3: with no MAIL, or no RCPT accepted, the server MAY answer `503`
    // (bad sequence) or `554` (no valid recipients). This server answers `503 5.5.1` without a
    // transaction and `554 5.5.1` inside one without recipients (Mail, RcptRefused, HeloMail;
    // both allowed answers; the transaction stays open, a later RCPT may still be accepted).
    // Rcpt: `354` (no enhanced code on a 3xx, RFC 2034 section 3) and the message content
    // follows. Bdat: RFC 3030 section 2, DATA after BDAT in the same transaction MUST get `503`
    // (5.5.1); the transaction is left as it was. Sasl: `DATA` is valid BASE64, a response.
    (St::Greeted, "DATA", "503 5.5.1", After::Same),
    (St::Helo, "DATA", "503 5.5.1", After::Same),
    (St::Ehlo, "DATA", "503 5.5.1", After::Same),
    (St::Mail, "DATA", "554 5.5.1", After::Same),
    (St::Rcpt, "DATA", "354", After::Data),
    (St::RcptRefused, "DATA", "554 5.5.1", After::Same),
    (St::Bdat, "DATA", "503 5.5.1", After::Same),
    (St::HeloMail, "DATA", "554 5.5.1", After::Same),
    (St::Sasl, "DATA", "235 2.7.0", After::Authenticated),
    (St::Authed, "DATA", "503 5.5.1", After::Same),
    (St::TlsPending, "DATA", "", After::Same),
    (St::TlsFresh, "DATA", "503 5.5.1", After::Same),
    (St::Quit, "DATA", "", After::Same),
    (St::Refused, "DATA", "503 5.5.1", After::Same),

    // ---- "BDAT 0 LAST"
    // RFC 3030 section 2. BDAT is the CHUNKING extension's command: without an EHLO that
    // advertised it (Greeted, Helo, HeloMail, TlsFresh) it is not implemented in this session,
    // `502 5.5.1` (RFC 5321 4.2.4 / 4.3.2; one allowed answer), and an open transaction (HeloMail)
    // survives. No MAIL: `503 5.5.1` (bad sequence). No accepted recipient (Mail, RcptRefused):
    // `554 5.5.1`, as for DATA (RFC 5321 3.3); the chunk is the LAST, so the failed transaction
    // ends (RFC 3030 2: a failed BDAT fails the transaction). Rcpt and Bdat: the message is
    // complete, `250 2.0.0` (RFC 5321 4.1.1.4: the end of the message is acknowledged with
    // `250`), and the transaction ends. Sasl: not BASE64, `501 5.5.2`.
    (St::Greeted, "BDAT 0 LAST", "502 5.5.1", After::Same),
    (St::Helo, "BDAT 0 LAST", "502 5.5.1", After::Same),
    (St::Ehlo, "BDAT 0 LAST", "503 5.5.1", After::Same),
    (St::Mail, "BDAT 0 LAST", "554 5.5.1", After::NoTxn),
    (St::Rcpt, "BDAT 0 LAST", "250 2.0.0", After::NoTxn),
    (St::RcptRefused, "BDAT 0 LAST", "554 5.5.1", After::NoTxn),
    (St::Bdat, "BDAT 0 LAST", "250 2.0.0", After::NoTxn),
    (St::HeloMail, "BDAT 0 LAST", "502 5.5.1", After::Same),
    (St::Sasl, "BDAT 0 LAST", "501 5.5.2", After::SaslEnded),
    (St::Authed, "BDAT 0 LAST", "503 5.5.1", After::Same),
    (St::TlsPending, "BDAT 0 LAST", "", After::Same),
    (St::TlsFresh, "BDAT 0 LAST", "502 5.5.1", After::Same),
    (St::Quit, "BDAT 0 LAST", "", After::Same),
    (St::Refused, "BDAT 0 LAST", "503 5.5.1", After::Same),

    // ---- "BDAT 1\r\nx"
    // RFC 3030 section 2: a BDAT chunk is consumed whatever the answer ("the receiver-SMTP MUST
    // accept and discard the associated message data before sending the appropriate 5XX or
    // 4XX code"), so the octet `x` is never read as a command: one reply per cell. Rcpt and
    // Bdat: "A 250 response MUST be sent to each successful BDAT data block" (2.0.0) and the
    // transaction stays open. Mail and RcptRefused: `554 5.5.1` (no valid recipients); the
    // transaction has failed but stays open until LAST or RSET (the chunks the client already
    // pipelined are discarded the same way). Without CHUNKING in force `502 5.5.1`, without
    // MAIL `503 5.5.1`, as for `BDAT 0 LAST`. Sasl: `BDAT 1` is not BASE64 (`501 5.5.2`); the
    // `x` stays as the start of the next command line.
    (St::Greeted, "BDAT 1\r\nx", "502 5.5.1", After::Same),
    (St::Helo, "BDAT 1\r\nx", "502 5.5.1", After::Same),
    (St::Ehlo, "BDAT 1\r\nx", "503 5.5.1", After::Same),
    (St::Mail, "BDAT 1\r\nx", "554 5.5.1", After::Same),
    (St::Rcpt, "BDAT 1\r\nx", "250 2.0.0", After::Same),
    (St::RcptRefused, "BDAT 1\r\nx", "554 5.5.1", After::Same),
    (St::Bdat, "BDAT 1\r\nx", "250 2.0.0", After::Same),
    (St::HeloMail, "BDAT 1\r\nx", "502 5.5.1", After::Same),
    (St::Sasl, "BDAT 1\r\nx", "501 5.5.2", After::SaslEnded),
    (St::Authed, "BDAT 1\r\nx", "503 5.5.1", After::Same),
    (St::TlsPending, "BDAT 1\r\nx", "", After::Same),
    (St::TlsFresh, "BDAT 1\r\nx", "502 5.5.1", After::Same),
    (St::Quit, "BDAT 1\r\nx", "", After::Same),
    (St::Refused, "BDAT 1\r\nx", "503 5.5.1", After::Same),

    // ---- "RSET"
    // RFC 5321 4.1.1.5: RSET MUST be answered `250` (2.0.0); it discards the transaction and
    // keeps the EHLO/HELO state (and authentication). Refused: the `503` of 3.1. Sasl: `RSET` is
    // valid BASE64, the client's response.
    (St::Greeted, "RSET", "250 2.0.0", After::Same),
    (St::Helo, "RSET", "250 2.0.0", After::Same),
    (St::Ehlo, "RSET", "250 2.0.0", After::Same),
    (St::Mail, "RSET", "250 2.0.0", After::NoTxn),
    (St::Rcpt, "RSET", "250 2.0.0", After::NoTxn),
    (St::RcptRefused, "RSET", "250 2.0.0", After::NoTxn),
    (St::Bdat, "RSET", "250 2.0.0", After::NoTxn),
    (St::HeloMail, "RSET", "250 2.0.0", After::NoTxn),
    (St::Sasl, "RSET", "235 2.7.0", After::Authenticated),
    (St::Authed, "RSET", "250 2.0.0", After::Same),
    (St::TlsPending, "RSET", "", After::Same),
    (St::TlsFresh, "RSET", "250 2.0.0", After::Same),
    (St::Quit, "RSET", "", After::Same),
    (St::Refused, "RSET", "503 5.5.1", After::Same),

    // ---- "rset"
    // RFC 5321 2.4: case-insensitive; as for `RSET`.
    (St::Greeted, "rset", "250 2.0.0", After::Same),
    (St::Helo, "rset", "250 2.0.0", After::Same),
    (St::Ehlo, "rset", "250 2.0.0", After::Same),
    (St::Mail, "rset", "250 2.0.0", After::NoTxn),
    (St::Rcpt, "rset", "250 2.0.0", After::NoTxn),
    (St::RcptRefused, "rset", "250 2.0.0", After::NoTxn),
    (St::Bdat, "rset", "250 2.0.0", After::NoTxn),
    (St::HeloMail, "rset", "250 2.0.0", After::NoTxn),
    (St::Sasl, "rset", "235 2.7.0", After::Authenticated),
    (St::Authed, "rset", "250 2.0.0", After::Same),
    (St::TlsPending, "rset", "", After::Same),
    (St::TlsFresh, "rset", "250 2.0.0", After::Same),
    (St::Quit, "rset", "", After::Same),
    (St::Refused, "rset", "503 5.5.1", After::Same),

    // ---- "NOOP"
    // RFC 5321 4.1.1.9: NOOP changes nothing and is answered `250` (2.0.0) in every state that
    // reads commands; the transaction survives. Refused: 3.1's `503`. Sasl: a response.
    (St::Greeted, "NOOP", "250 2.0.0", After::Same),
    (St::Helo, "NOOP", "250 2.0.0", After::Same),
    (St::Ehlo, "NOOP", "250 2.0.0", After::Same),
    (St::Mail, "NOOP", "250 2.0.0", After::Same),
    (St::Rcpt, "NOOP", "250 2.0.0", After::Same),
    (St::RcptRefused, "NOOP", "250 2.0.0", After::Same),
    (St::Bdat, "NOOP", "250 2.0.0", After::Same),
    (St::HeloMail, "NOOP", "250 2.0.0", After::Same),
    (St::Sasl, "NOOP", "235 2.7.0", After::Authenticated),
    (St::Authed, "NOOP", "250 2.0.0", After::Same),
    (St::TlsPending, "NOOP", "", After::Same),
    (St::TlsFresh, "NOOP", "250 2.0.0", After::Same),
    (St::Quit, "NOOP", "", After::Same),
    (St::Refused, "NOOP", "503 5.5.1", After::Same),

    // ---- "NOOP hello"
    // RFC 5321 4.1.1.9: "If a parameter string is specified, servers SHOULD ignore it": `250
    // 2.0.0`, nothing changes. Sasl: not BASE64 (space), `501 5.5.2`.
    (St::Greeted, "NOOP hello", "250 2.0.0", After::Same),
    (St::Helo, "NOOP hello", "250 2.0.0", After::Same),
    (St::Ehlo, "NOOP hello", "250 2.0.0", After::Same),
    (St::Mail, "NOOP hello", "250 2.0.0", After::Same),
    (St::Rcpt, "NOOP hello", "250 2.0.0", After::Same),
    (St::RcptRefused, "NOOP hello", "250 2.0.0", After::Same),
    (St::Bdat, "NOOP hello", "250 2.0.0", After::Same),
    (St::HeloMail, "NOOP hello", "250 2.0.0", After::Same),
    (St::Sasl, "NOOP hello", "501 5.5.2", After::SaslEnded),
    (St::Authed, "NOOP hello", "250 2.0.0", After::Same),
    (St::TlsPending, "NOOP hello", "", After::Same),
    (St::TlsFresh, "NOOP hello", "250 2.0.0", After::Same),
    (St::Quit, "NOOP hello", "", After::Same),
    (St::Refused, "NOOP hello", "503 5.5.1", After::Same),

    // ---- "HELP"
    // RFC 5321 4.1.1.8 / 4.3.2: `214` (2.0.0), in any state, changing nothing. Sasl: a
    // response.
    (St::Greeted, "HELP", "214 2.0.0", After::Same),
    (St::Helo, "HELP", "214 2.0.0", After::Same),
    (St::Ehlo, "HELP", "214 2.0.0", After::Same),
    (St::Mail, "HELP", "214 2.0.0", After::Same),
    (St::Rcpt, "HELP", "214 2.0.0", After::Same),
    (St::RcptRefused, "HELP", "214 2.0.0", After::Same),
    (St::Bdat, "HELP", "214 2.0.0", After::Same),
    (St::HeloMail, "HELP", "214 2.0.0", After::Same),
    (St::Sasl, "HELP", "235 2.7.0", After::Authenticated),
    (St::Authed, "HELP", "214 2.0.0", After::Same),
    (St::TlsPending, "HELP", "", After::Same),
    (St::TlsFresh, "HELP", "214 2.0.0", After::Same),
    (St::Quit, "HELP", "", After::Same),
    (St::Refused, "HELP", "503 5.5.1", After::Same),

    // ---- "VRFY someone"
    // RFC 5321 3.5.3 / 4.1.1.6 (VRFY is in the minimum implementation, 4.5.1): the caller is
    // asked (`Event::Vrfy`), and `Decision::Default` is `252 2.5.0`, "cannot VRFY user, but will
    // accept message" (one of 4.3.2's VRFY replies; RFC 5321 7.3 lets a server decline to
    // verify). 4.1.4: VRFY may come at any time and does not touch the transaction. Sasl: not
    // BASE64.
    (St::Greeted, "VRFY someone", "252 2.5.0", After::Same),
    (St::Helo, "VRFY someone", "252 2.5.0", After::Same),
    (St::Ehlo, "VRFY someone", "252 2.5.0", After::Same),
    (St::Mail, "VRFY someone", "252 2.5.0", After::Same),
    (St::Rcpt, "VRFY someone", "252 2.5.0", After::Same),
    (St::RcptRefused, "VRFY someone", "252 2.5.0", After::Same),
    (St::Bdat, "VRFY someone", "252 2.5.0", After::Same),
    (St::HeloMail, "VRFY someone", "252 2.5.0", After::Same),
    (St::Sasl, "VRFY someone", "501 5.5.2", After::SaslEnded),
    (St::Authed, "VRFY someone", "252 2.5.0", After::Same),
    (St::TlsPending, "VRFY someone", "", After::Same),
    (St::TlsFresh, "VRFY someone", "252 2.5.0", After::Same),
    (St::Quit, "VRFY someone", "", After::Same),
    (St::Refused, "VRFY someone", "503 5.5.1", After::Same),

    // ---- "VRFY"
    // RFC 5321 4.1.1.6 grammar `"VRFY" SP String`: without an argument `501 5.5.4`; not the
    // "command unrecognized" `500` that 4.3.2 forbids for the required commands. Sasl: a
    // response.
    (St::Greeted, "VRFY", "501 5.5.4", After::Same),
    (St::Helo, "VRFY", "501 5.5.4", After::Same),
    (St::Ehlo, "VRFY", "501 5.5.4", After::Same),
    (St::Mail, "VRFY", "501 5.5.4", After::Same),
    (St::Rcpt, "VRFY", "501 5.5.4", After::Same),
    (St::RcptRefused, "VRFY", "501 5.5.4", After::Same),
    (St::Bdat, "VRFY", "501 5.5.4", After::Same),
    (St::HeloMail, "VRFY", "501 5.5.4", After::Same),
    (St::Sasl, "VRFY", "235 2.7.0", After::Authenticated),
    (St::Authed, "VRFY", "501 5.5.4", After::Same),
    (St::TlsPending, "VRFY", "", After::Same),
    (St::TlsFresh, "VRFY", "501 5.5.4", After::Same),
    (St::Quit, "VRFY", "", After::Same),
    (St::Refused, "VRFY", "503 5.5.1", After::Same),

    // ---- "EXPN list"
    // RFC 5321 3.5.2 / 7.3: a server may decline EXPN; `Decision::Default` answers `502 5.5.1`
    // (4.3.2 lists 502 for EXPN). Nothing changes.
    (St::Greeted, "EXPN list", "502 5.5.1", After::Same),
    (St::Helo, "EXPN list", "502 5.5.1", After::Same),
    (St::Ehlo, "EXPN list", "502 5.5.1", After::Same),
    (St::Mail, "EXPN list", "502 5.5.1", After::Same),
    (St::Rcpt, "EXPN list", "502 5.5.1", After::Same),
    (St::RcptRefused, "EXPN list", "502 5.5.1", After::Same),
    (St::Bdat, "EXPN list", "502 5.5.1", After::Same),
    (St::HeloMail, "EXPN list", "502 5.5.1", After::Same),
    (St::Sasl, "EXPN list", "501 5.5.2", After::SaslEnded),
    (St::Authed, "EXPN list", "502 5.5.1", After::Same),
    (St::TlsPending, "EXPN list", "", After::Same),
    (St::TlsFresh, "EXPN list", "502 5.5.1", After::Same),
    (St::Quit, "EXPN list", "", After::Same),
    (St::Refused, "EXPN list", "503 5.5.1", After::Same),

    // ---- "QUIT"
    // RFC 5321 4.1.1.10: the server MUST send `221` (2.0.0) and close; "any current uncompleted
    // mail transaction will be aborted". Refused: QUIT is the one command served (3.1). Sasl:
    // `QUIT` is valid BASE64, so it is the client's response (RFC 4954 section 4: the client
    // leaves an exchange with `*`). TlsPending and Quit: not read.
    (St::Greeted, "QUIT", "221 2.0.0", After::Closed),
    (St::Helo, "QUIT", "221 2.0.0", After::Closed),
    (St::Ehlo, "QUIT", "221 2.0.0", After::Closed),
    (St::Mail, "QUIT", "221 2.0.0", After::Closed),
    (St::Rcpt, "QUIT", "221 2.0.0", After::Closed),
    (St::RcptRefused, "QUIT", "221 2.0.0", After::Closed),
    (St::Bdat, "QUIT", "221 2.0.0", After::Closed),
    (St::HeloMail, "QUIT", "221 2.0.0", After::Closed),
    (St::Sasl, "QUIT", "235 2.7.0", After::Authenticated),
    (St::Authed, "QUIT", "221 2.0.0", After::Closed),
    (St::TlsPending, "QUIT", "", After::Same),
    (St::TlsFresh, "QUIT", "221 2.0.0", After::Closed),
    (St::Quit, "QUIT", "", After::Same),
    (St::Refused, "QUIT", "221 2.0.0", After::Closed),

    // ---- "STARTTLS"
    // RFC 3207 section 4: `220 2.0.0` and the handshake follows; section 4.2: the server then
    // forgets what the client told it, so an open transaction is reset (TlsWait: no
    // transaction) and authentication ends with the handshake (`tls_established`). STARTTLS is
    // an EHLO extension: before EHLO or after HELO it gets `503 5.5.1` (bad sequence; one allowed
    // answer), and HeloMail's transaction survives. TlsFresh: after the handshake STARTTLS is no
    // longer advertised (RFC 3207 4.2) and a second one gets `503 5.5.1`, one allowed answer
    // (`502` would be another). Sasl: not BASE64.
    (St::Greeted, "STARTTLS", "503 5.5.1", After::Same),
    (St::Helo, "STARTTLS", "503 5.5.1", After::Same),
    (St::Ehlo, "STARTTLS", "220 2.0.0", After::TlsWait),
    (St::Mail, "STARTTLS", "220 2.0.0", After::TlsWait),
    (St::Rcpt, "STARTTLS", "220 2.0.0", After::TlsWait),
    (St::RcptRefused, "STARTTLS", "220 2.0.0", After::TlsWait),
    (St::Bdat, "STARTTLS", "220 2.0.0", After::TlsWait),
    (St::HeloMail, "STARTTLS", "503 5.5.1", After::Same),
    (St::Sasl, "STARTTLS", "235 2.7.0", After::Authenticated),
    (St::Authed, "STARTTLS", "220 2.0.0", After::TlsWait),
    (St::TlsPending, "STARTTLS", "", After::Same),
    (St::TlsFresh, "STARTTLS", "503 5.5.1", After::Same),
    (St::Quit, "STARTTLS", "", After::Same),
    (St::Refused, "STARTTLS", "503 5.5.1", After::Same),

    // ---- "AUTH PLAIN AHVzZXIAcGFzcw=="
    // RFC 4954: AUTH is an EHLO extension (section 3): before EHLO, after HELO and after the
    // handshake without a new EHLO it gets `503 5.5.1` (one allowed answer). After EHLO: the
    // exchange runs and the caller's success is `235 2.7.0` (section 6). Section 4: "An AUTH
    // command issued during a mail transaction MUST be rejected with a 503 reply" (Mail, Rcpt,
    // RcptRefused, Bdat, HeloMail), and after a successful AUTH "a server MUST reject any further
    // AUTH commands with a 503 reply" (Authed); the state is unchanged. Sasl: not BASE64.
    (St::Greeted, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::Helo, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::Ehlo, "AUTH PLAIN AHVzZXIAcGFzcw==", "235 2.7.0", After::Authenticated),
    (St::Mail, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::Rcpt, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::RcptRefused, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::Bdat, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::HeloMail, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::Sasl, "AUTH PLAIN AHVzZXIAcGFzcw==", "501 5.5.2", After::SaslEnded),
    (St::Authed, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::TlsPending, "AUTH PLAIN AHVzZXIAcGFzcw==", "", After::Same),
    (St::TlsFresh, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),
    (St::Quit, "AUTH PLAIN AHVzZXIAcGFzcw==", "", After::Same),
    (St::Refused, "AUTH PLAIN AHVzZXIAcGFzcw==", "503 5.5.1", After::Same),

    // ---- "AUTH LOGIN"
    // RFC 4954 section 4: a mechanism without initial response starts with a `334` challenge
    // (3xx: no enhanced code) and the SASL exchange; the same `503`s as for AUTH PLAIN
    // elsewhere.
    (St::Greeted, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::Helo, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::Ehlo, "AUTH LOGIN", "334", After::Sasl),
    (St::Mail, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::Rcpt, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::RcptRefused, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::Bdat, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::HeloMail, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::Sasl, "AUTH LOGIN", "501 5.5.2", After::SaslEnded),
    (St::Authed, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::TlsPending, "AUTH LOGIN", "", After::Same),
    (St::TlsFresh, "AUTH LOGIN", "503 5.5.1", After::Same),
    (St::Quit, "AUTH LOGIN", "", After::Same),
    (St::Refused, "AUTH LOGIN", "503 5.5.1", After::Same),

    // ---- "AUTH CRAM-MD5"
    // RFC 4954 section 4: a mechanism the server does not offer is rejected with `504 5.5.4`
    // (section 6) after EHLO; the `503`s of section 4 (in a transaction, after success) and of
    // the sequence come first.
    (St::Greeted, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::Helo, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::Ehlo, "AUTH CRAM-MD5", "504 5.5.4", After::Same),
    (St::Mail, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::Rcpt, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::RcptRefused, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::Bdat, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::HeloMail, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::Sasl, "AUTH CRAM-MD5", "501 5.5.2", After::SaslEnded),
    (St::Authed, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::TlsPending, "AUTH CRAM-MD5", "", After::Same),
    (St::TlsFresh, "AUTH CRAM-MD5", "503 5.5.1", After::Same),
    (St::Quit, "AUTH CRAM-MD5", "", After::Same),
    (St::Refused, "AUTH CRAM-MD5", "503 5.5.1", After::Same),

    // ---- "TURN"
    // RFC 5321 appendix F.1: TURN is deprecated and not implemented here: `502 5.5.1`
    // (4.2.4, command not implemented), nothing changes. Refused: `503`. Sasl: a response.
    (St::Greeted, "TURN", "502 5.5.1", After::Same),
    (St::Helo, "TURN", "502 5.5.1", After::Same),
    (St::Ehlo, "TURN", "502 5.5.1", After::Same),
    (St::Mail, "TURN", "502 5.5.1", After::Same),
    (St::Rcpt, "TURN", "502 5.5.1", After::Same),
    (St::RcptRefused, "TURN", "502 5.5.1", After::Same),
    (St::Bdat, "TURN", "502 5.5.1", After::Same),
    (St::HeloMail, "TURN", "502 5.5.1", After::Same),
    (St::Sasl, "TURN", "235 2.7.0", After::Authenticated),
    (St::Authed, "TURN", "502 5.5.1", After::Same),
    (St::TlsPending, "TURN", "", After::Same),
    (St::TlsFresh, "TURN", "502 5.5.1", After::Same),
    (St::Quit, "TURN", "", After::Same),
    (St::Refused, "TURN", "503 5.5.1", After::Same),

    // ---- "ETRN example.test"
    // RFC 1985 is an EHLO extension, not offered by this configuration: `502 5.5.1` (RFC 5321
    // 4.2.4), nothing changes. (Offered, see `exchange_presets`.)
    (St::Greeted, "ETRN example.test", "502 5.5.1", After::Same),
    (St::Helo, "ETRN example.test", "502 5.5.1", After::Same),
    (St::Ehlo, "ETRN example.test", "502 5.5.1", After::Same),
    (St::Mail, "ETRN example.test", "502 5.5.1", After::Same),
    (St::Rcpt, "ETRN example.test", "502 5.5.1", After::Same),
    (St::RcptRefused, "ETRN example.test", "502 5.5.1", After::Same),
    (St::Bdat, "ETRN example.test", "502 5.5.1", After::Same),
    (St::HeloMail, "ETRN example.test", "502 5.5.1", After::Same),
    (St::Sasl, "ETRN example.test", "501 5.5.2", After::SaslEnded),
    (St::Authed, "ETRN example.test", "502 5.5.1", After::Same),
    (St::TlsPending, "ETRN example.test", "", After::Same),
    (St::TlsFresh, "ETRN example.test", "502 5.5.1", After::Same),
    (St::Quit, "ETRN example.test", "", After::Same),
    (St::Refused, "ETRN example.test", "503 5.5.1", After::Same),

    // ---- "XYZZY"
    // RFC 5321 4.2.4: an unrecognized command is `500` (4.3.2: any command may get it). The
    // caller is asked (`Event::Unknown`) and `Decision::Default` is `500 5.5.1` (RFC 3463 X.5.1,
    // "out of sequence or unsupported"; X.5.2 would fit too: one allowed answer); nothing
    // changes. Sasl: five characters are not BASE64 (not a multiple of four): `501 5.5.2`.
    (St::Greeted, "XYZZY", "500 5.5.1", After::Same),
    (St::Helo, "XYZZY", "500 5.5.1", After::Same),
    (St::Ehlo, "XYZZY", "500 5.5.1", After::Same),
    (St::Mail, "XYZZY", "500 5.5.1", After::Same),
    (St::Rcpt, "XYZZY", "500 5.5.1", After::Same),
    (St::RcptRefused, "XYZZY", "500 5.5.1", After::Same),
    (St::Bdat, "XYZZY", "500 5.5.1", After::Same),
    (St::HeloMail, "XYZZY", "500 5.5.1", After::Same),
    (St::Sasl, "XYZZY", "501 5.5.2", After::SaslEnded),
    (St::Authed, "XYZZY", "500 5.5.1", After::Same),
    (St::TlsPending, "XYZZY", "", After::Same),
    (St::TlsFresh, "XYZZY", "500 5.5.1", After::Same),
    (St::Quit, "XYZZY", "", After::Same),
    (St::Refused, "XYZZY", "503 5.5.1", After::Same),

    // ---- ""
    // An empty line has no verb: `500 5.5.2` (RFC 5321 4.2.4 "syntax error, command
    // unrecognized"; RFC 3463 X.5.2), nothing changes. Sasl: RFC 4954's continuation line is
    // `[base64]`, so an empty line is an empty response (accepted by the table's caller).
    (St::Greeted, "", "500 5.5.2", After::Same),
    (St::Helo, "", "500 5.5.2", After::Same),
    (St::Ehlo, "", "500 5.5.2", After::Same),
    (St::Mail, "", "500 5.5.2", After::Same),
    (St::Rcpt, "", "500 5.5.2", After::Same),
    (St::RcptRefused, "", "500 5.5.2", After::Same),
    (St::Bdat, "", "500 5.5.2", After::Same),
    (St::HeloMail, "", "500 5.5.2", After::Same),
    (St::Sasl, "", "235 2.7.0", After::Authenticated),
    (St::Authed, "", "500 5.5.2", After::Same),
    (St::TlsPending, "", "", After::Same),
    (St::TlsFresh, "", "500 5.5.2", After::Same),
    (St::Quit, "", "", After::Same),
    (St::Refused, "", "503 5.5.1", After::Same),

    // ---- "   "
    // A line of spaces is no command: `500 5.5.2` as for an empty line. Sasl: trailing blanks
    // are trimmed (`parse_sasl_line`), so it is an empty response (questionable, see the report
    // of this audit: strictly it is not BASE64).
    (St::Greeted, "   ", "500 5.5.2", After::Same),
    (St::Helo, "   ", "500 5.5.2", After::Same),
    (St::Ehlo, "   ", "500 5.5.2", After::Same),
    (St::Mail, "   ", "500 5.5.2", After::Same),
    (St::Rcpt, "   ", "500 5.5.2", After::Same),
    (St::RcptRefused, "   ", "500 5.5.2", After::Same),
    (St::Bdat, "   ", "500 5.5.2", After::Same),
    (St::HeloMail, "   ", "500 5.5.2", After::Same),
    (St::Sasl, "   ", "235 2.7.0", After::Authenticated),
    (St::Authed, "   ", "500 5.5.2", After::Same),
    (St::TlsPending, "   ", "", After::Same),
    (St::TlsFresh, "   ", "500 5.5.2", After::Same),
    (St::Quit, "   ", "", After::Same),
    (St::Refused, "   ", "503 5.5.1", After::Same),

    // ---- "*"
    // Outside an exchange `*` is no command: `500 5.5.2`. Sasl: RFC 4954 section 4, a `*` line
    // cancels and the server MUST reject the AUTH command with `501` (5.0.0 here: section 6
    // names no enhanced code for the cancel); no authentication.
    (St::Greeted, "*", "500 5.5.2", After::Same),
    (St::Helo, "*", "500 5.5.2", After::Same),
    (St::Ehlo, "*", "500 5.5.2", After::Same),
    (St::Mail, "*", "500 5.5.2", After::Same),
    (St::Rcpt, "*", "500 5.5.2", After::Same),
    (St::RcptRefused, "*", "500 5.5.2", After::Same),
    (St::Bdat, "*", "500 5.5.2", After::Same),
    (St::HeloMail, "*", "500 5.5.2", After::Same),
    (St::Sasl, "*", "501 5.0.0", After::SaslEnded),
    (St::Authed, "*", "500 5.5.2", After::Same),
    (St::TlsPending, "*", "", After::Same),
    (St::TlsFresh, "*", "500 5.5.2", After::Same),
    (St::Quit, "*", "", After::Same),
    (St::Refused, "*", "503 5.5.1", After::Same),
];

#[test]
fn every_command_in_every_state() {
    // The table covers every (state, command) pair of its commands.
    let mut cmds: Vec<&str> = FULL.iter().map(|c| c.1).collect();
    cmds.dedup();
    for cmd in &cmds {
        let states: Vec<St> = FULL.iter().filter(|c| c.1 == *cmd).map(|c| c.0).collect();
        assert_eq!(states, ALL, "{cmd:?}");
    }
    check(Cfg::Full, FULL);
}

/// Extensions that are not offered at all (`Cfg::Bare`: no CHUNKING, BINARYMIME, AUTH or
/// STARTTLS).
#[test]
fn extensions_not_advertised() {
    #[rustfmt::skip]
    let table: &[Cell] = &[
        // RFC 3030: BDAT belongs to CHUNKING; not advertised, it is a command not
        // implemented, `502 5.5.1` (RFC 5321 4.2.4; one allowed answer, `500` another). Its
        // chunk is still consumed (no second reply for `x`) and the transaction survives.
        (St::Ehlo, "BDAT 0 LAST", "502 5.5.1", After::Same),
        (St::Rcpt, "BDAT 0 LAST", "502 5.5.1", After::Same),
        (St::Rcpt, "BDAT 1\r\nx", "502 5.5.1", After::Same),
        // DATA is the one way in: RFC 5321 4.1.1.4.
        (St::Rcpt, "DATA", "354", After::Data),
        // RFC 4954 section 3: AUTH without the AUTH keyword is not implemented: `502 5.5.1`.
        (St::Ehlo, "AUTH PLAIN AHVzZXIAcGFzcw==", "502 5.5.1", After::Same),
        (St::Rcpt, "AUTH PLAIN AHVzZXIAcGFzcw==", "502 5.5.1", After::Same),
        // RFC 3207: STARTTLS not offered: `502 5.5.1` (RFC 5321 4.2.4).
        (St::Ehlo, "STARTTLS", "502 5.5.1", After::Same),
        (St::Rcpt, "STARTTLS", "502 5.5.1", After::Same),
        // RFC 5321 4.1.1.11: parameters of extensions not advertised are `555 5.5.4`:
        // BODY=BINARYMIME (RFC 3030 section 3) and AUTH= (RFC 4954 section 5).
        (St::Ehlo, "MAIL FROM:<a@example.test> BODY=BINARYMIME", "555 5.5.4", After::Same),
        (St::Ehlo, "MAIL FROM:<a@example.test> AUTH=<>", "555 5.5.4", After::Same),
        // RFC 5321 4.1.1.8: HELP still answers `214`.
        (St::Ehlo, "HELP", "214 2.0.0", After::Same),
    ];
    check(Cfg::Bare, table);
}

/// STARTTLS under implicit TLS (RFC 8314): TLS is already active.
#[test]
fn starttls_under_implicit_tls() {
    #[rustfmt::skip]
    let table: &[Cell] = &[
        // RFC 3207 section 4.2: STARTTLS is not advertised once TLS is active; `503 5.5.1`
        // (bad sequence) is one allowed answer. Before EHLO the same answer: TLS is checked
        // first.
        (St::Greeted, "STARTTLS", "503 5.5.1", After::Same),
        (St::Ehlo, "STARTTLS", "503 5.5.1", After::Same),
        (St::Mail, "STARTTLS", "503 5.5.1", After::Same),
        // RFC 4954 section 4: plaintext mechanisms are fine under TLS.
        (St::Ehlo, "AUTH PLAIN AHVzZXIAcGFzcw==", "235 2.7.0", After::Authenticated),
    ];
    check(Cfg::ImplicitTls, table);
}

/// AUTH's initial response, and the order of its checks (RFC 4954 section 4).
#[test]
fn auth_initial_responses() {
    #[rustfmt::skip]
    let table: &[Cell] = &[
        // "If the client uses an initial-response argument to the AUTH command with a SASL
        // mechanism in which the client does not begin the authentication exchange, the
        // server MUST reject the AUTH command with a 501 reply" (5.7.0, section 6); `=` (an
        // empty initial response) too.
        (St::Ehlo, "AUTH CRAM-MD5 AAAA", "501 5.7.0", After::Same),
        (St::Ehlo, "AUTH CRAM-MD5 =", "501 5.7.0", After::Same),
        (St::Ehlo, "AUTH CRAM-MD5", "334", After::Sasl),
        // An initial response that is not BASE64: MUST `501` (5.5.2, section 6).
        (St::Ehlo, "AUTH PLAIN ####", "501 5.5.2", After::Same),
        // `=` is the empty initial response (section 4).
        (St::Ehlo, "AUTH PLAIN =", "235 2.7.0", After::Authenticated),
        // The 503s of section 4 come before the mechanism is looked at.
        (St::Mail, "AUTH CRAM-MD5 AAAA", "503 5.5.1", After::Same),
        (St::Authed, "AUTH CRAM-MD5 AAAA", "503 5.5.1", After::Same),
        (St::Authed, "AUTH XYZ", "503 5.5.1", After::Same),
        // AUTH without a mechanism is a syntax error, `501 5.5.4` (RFC 5321 4.3.2).
        (St::Ehlo, "AUTH", "501 5.5.4", After::Same),
    ];
    check(Cfg::Cram, table);
}

/// A server that requires authentication (`auth.require_auth`).
#[test]
fn authentication_required() {
    #[rustfmt::skip]
    let table: &[Cell] = &[
        // RFC 4954 section 6: `530 5.7.0` Authentication required, to MAIL before AUTH.
        (St::Ehlo, "MAIL FROM:<a@example.test>", "530 5.7.0", After::Same),
        (St::Helo, "MAIL FROM:<a@example.test>", "530 5.7.0", After::Same),
        (St::Authed, "MAIL FROM:<a@example.test>", "250 2.1.0", After::Txn(0)),
        // RFC 5321 3.3 MUST: RCPT without MAIL is `503` (RFC 4954's 530 for other commands
        // is a SHOULD; the MUST wins).
        (St::Ehlo, "RCPT TO:<b@example.test>", "503 5.5.1", After::Same),
        // RFC 4954 section 6 SHOULD: `530 5.7.0` to the other commands that need
        // authentication under this policy; VRFY and EXPN would disclose mailboxes and ETRN
        // start queue runs for an unknown client. Once authenticated they reach the caller.
        (St::Ehlo, "VRFY someone", "530 5.7.0", After::Same),
        (St::Helo, "VRFY someone", "530 5.7.0", After::Same),
        (St::Ehlo, "EXPN list", "530 5.7.0", After::Same),
        (St::Authed, "VRFY someone", "252 2.5.0", After::Same),
        (St::Authed, "EXPN list", "502 5.5.1", After::Same),
        // HELP and STARTTLS need no authentication.
        (St::Ehlo, "HELP", "214 2.0.0", After::Same),
        // EHLO, NOOP, RSET and QUIT never need authentication (section 6).
        (St::Ehlo, "NOOP", "250 2.0.0", After::Same),
        (St::Ehlo, "RSET", "250 2.0.0", After::Same),
    ];
    check(Cfg::RequireAuth, table);
}

/// BODY=BINARYMIME and DATA (RFC 3030 section 3).
#[test]
fn data_in_a_binarymime_transaction() {
    let mut s = setup(Cfg::Full, St::Ehlo);
    s.feed(b"MAIL FROM:<a@example.test> BODY=BINARYMIME\r\n");
    assert_eq!(s.reply(), "250 2.1.0");
    // "If a DATA command is issued after a MAIL command containing the body-value of
    // BINARYMIME, a 503 ... response MUST be sent", with or without recipients; the state
    // is left as it was (the client must RSET).
    s.feed(b"DATA\r\n");
    assert_eq!(s.reply(), "503 5.5.1");
    s.feed(b"RCPT TO:<b@example.test>\r\n");
    assert_eq!(s.reply(), "250 2.1.5");
    s.feed(b"DATA\r\n");
    assert_eq!(s.reply(), "503 5.5.1");
    assert_eq!(s.snapshot().txn, Some(1));
    // BDAT is the way (RFC 3030 section 2).
    s.feed(b"BDAT 2 LAST\r\nhi");
    assert_eq!(s.reply(), "250 2.0.0");
    assert_eq!(s.snapshot().txn, None);
    // RFC 3030 section 2: "Any BDAT command sent after the BDAT LAST is illegal and MUST be
    // replied to with a 503".
    s.feed(b"BDAT 0 LAST\r\n");
    assert_eq!(s.reply(), "503 5.5.1");
}

/// The Exchange presets, where \[MS-OXSMTP\] / \[MS-SMTPNTLM\] and the recorded servers
/// differ from the defaults.
#[test]
fn exchange_presets() {
    #[rustfmt::skip]
    let ex2016: &[Cell] = &[
        // [MS-SMTPNTLM] 2.2.1.9: the server answers EHLO "with or without an argument"
        // (RFC 5321 4.1.1.1 only has clients SHOULD send it): a bare EHLO is an EHLO, and
        // mid-transaction it resets like any (RFC 5321 4.1.4).
        (St::Greeted, "EHLO", "250", After::Ehlo),
        (St::Mail, "EHLO", "250", After::Ehlo),
        (St::Mail, "ehlo", "250", After::Ehlo),
        // HELO still needs its argument (RFC 5321 4.1.4: 501, same state).
        (St::Mail, "HELO", "501 5.5.4", After::Same),
        // AUTH NTLM (RFC 4954 section 4 via [MS-SMTPNTLM] 3.2.5): a `334` starts it.
        (St::Ehlo, "AUTH NTLM", "334", After::Sasl),
        // LOGIN is configured but, being plaintext, not offered before TLS: `538 5.7.11`
        // (RFC 4954 section 6, "encryption required"; kept there for historical
        // purposes, one allowed answer).
        (St::Ehlo, "AUTH LOGIN", "538 5.7.11", After::Same),
        // X-ANONYMOUSTLS is Exchange's STARTTLS ([MS-OXSMTP]): `220 2.0.0`, and the
        // transaction is forgotten as for STARTTLS (RFC 3207 section 4.2).
        (St::Rcpt, "X-ANONYMOUSTLS", "220 2.0.0", After::TlsWait),
        // XEXCH50 is not offered by this preset: `502 5.5.1`.
        (St::Rcpt, "XEXCH50 10 2", "502 5.5.1", After::Same),
    ];
    check(Cfg::Ex2016, ex2016);
    #[rustfmt::skip]
    let submission: &[Cell] = &[
        // RFC 4954 section 6 `530 5.7.0` (Exchange itself words it `530 5.7.1 Client was
        // not authenticated`; the preset keeps RFC 4954's code).
        (St::Ehlo, "MAIL FROM:<a@example.test>", "530 5.7.0", After::Same),
        (St::Ehlo, "AUTH GSSAPI", "334", After::Sasl),
    ];
    check(Cfg::Ex2016Submission, submission);
    #[rustfmt::skip]
    let ex2003: &[Cell] = &[
        // TURN is advertised by this preset for fidelity, and answered `502 5.5.1` (RFC
        // 5321 appendix F.1; listed as questionable in the audit report).
        (St::Ehlo, "TURN", "502 5.5.1", After::Same),
        // ETRN is offered: the caller is asked (`Event::Etrn`) and the default is RFC
        // 1985's `458` (4.5.0), also inside a transaction, which it does not touch.
        (St::Ehlo, "ETRN example.test", "458 4.5.0", After::Same),
        (St::Mail, "ETRN example.test", "458 4.5.0", After::Same),
        // ETRN and X-EXPS are EHLO extensions: after HELO `503 5.5.1`.
        (St::Helo, "ETRN example.test", "503 5.5.1", After::Same),
        (St::Helo, "X-EXPS LOGIN", "503 5.5.1", After::Same),
        // KB 843106: XEXCH50 from a peer that has not authenticated is
        // `504 5.7.0 Need to authenticate first`; the transaction survives.
        (St::Rcpt, "XEXCH50 10 2", "504 5.7.0", After::Same),
        // SIZE is advertised without a number (RFC 1870: no fixed maximum stated), and
        // SIZE= is taken.
        (St::Ehlo, "MAIL FROM:<a@example.test> SIZE=100", "250 2.1.0", After::Txn(0)),
    ];
    check(Cfg::Ex2003, ex2003);
}
