//! Server configuration: what is advertised, which limits apply, how long to wait.
//!
//! Every field has a safe default ([`ServerConfig::default`]); a typical server changes the
//! host name and the extensions it wants and keeps the rest. [`ServerConfig`],
//! [`Extensions`], [`AuthConfig`], [`ExchangeConfig`] and [`ServerLimits`] are
//! `#[non_exhaustive]`, so that settings can be added without breaking callers: start from
//! [`ServerConfig::new`] (or `default()`) and assign the fields to change.

use crate::syntax::capability::Capability;
use crate::syntax::Leniency;
use std::time::Duration;

pub use crate::data::{BareLineEnding, LongLines};

/// Everything that shapes a server session. Cheap to clone; share one per listener.
///
/// ```
/// use ehlo::server::ServerConfig;
/// let mut config = ServerConfig::new("mx.example.test");
/// config.extensions.starttls = true;
/// config.limits.max_message_size = 25 * 1024 * 1024;
/// assert_eq!(config.limits.max_recipients, 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The server's name, first word of the `220` greeting and of the EHLO reply.
    ///
    /// Meant to be a domain; other text cannot break the protocol: in the greeting and the
    /// HELO reply a `\n` or CR LF starts another line of the same multi-line reply and any
    /// other control character is a space (as in every reply, see
    /// [`crate::syntax::reply`]), and in the EHLO reply, whose lines are keywords, CR and
    /// LF are spaces and the line is cut to fit 512 octets
    /// ([`Capabilities::to_reply`](crate::syntax::capability::Capabilities::to_reply)),
    /// so no text here ever adds a reply or an EHLO keyword.
    pub hostname: String,
    /// Text after the host name in the `220` greeting (default `ESMTP ready`); line
    /// breaks make a multi-line greeting (RFC 5321 4.2), sanitized as `hostname`.
    pub greeting: String,
    /// The extensions offered in the EHLO reply.
    pub extensions: Extensions,
    /// Authentication (RFC 4954) settings.
    pub auth: AuthConfig,
    /// Microsoft Exchange extensions ([MS-OXSMTP], KB 812455). All off by default.
    pub exchange: ExchangeConfig,
    /// Limits on what a client may make the server hold or do.
    pub limits: ServerLimits,
    /// How long the server waits (RFC 5321 4.5.3.2).
    pub timeouts: Timeouts,
    /// Command grammar: strict RFC 5321 or Postfix-like leniency (default lenient).
    pub leniency: Leniency,
    /// What to do with a bare CR or LF in DATA content (default: normalize to CRLF).
    /// BDAT content is never interpreted.
    pub bare_line_endings: BareLineEnding,
    /// What to do with DATA content lines longer than `limits.max_text_line` (default
    /// accept: RFC 5321 4.5.3.1.6 is a limit for senders; rejecting breaks real mail).
    pub long_lines: LongLines,
    /// Keep a copy of the envelope the caller accepted (the reverse-path and parameters of
    /// the accepted `MAIL`, and every accepted `RCPT` with its parameters), readable with
    /// [`Server::envelope`](super::Server::envelope) while the transaction is open; at
    /// [`Event::MessageEnd`](super::Event::MessageEnd) that is the message's envelope.
    /// Default off: the copy costs a few allocations per `MAIL` and per `RCPT`, and a caller
    /// that builds its own from the events does not need it.
    pub record_envelope: bool,
}

/// The ESMTP extensions the server offers. Each flag adds its EHLO keyword and allows the
/// parameters and commands of that extension. An extension that is off has its parameters
/// rejected with `555 5.5.4` and its commands with `502 5.5.1`. One that is on but was not
/// advertised in the session (no EHLO yet, or `HELO`) has its parameters rejected with
/// `555 5.5.4` too; its commands get `503 5.5.1 Send EHLO first` (STARTTLS, AUTH, ETRN
/// and the Exchange verbs: a matter of sequence, the client can send EHLO), except `BDAT`,
/// which gets `502 5.5.1` (its chunk is still read and dropped, never taken as commands).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Extensions {
    /// `SIZE <max_message_size>` (RFC 1870). Default on.
    pub size: bool,
    /// `PIPELINING` (RFC 2920). Default on. (The machine always handles pipelined input
    /// in order; the flag only controls the advertisement.)
    pub pipelining: bool,
    /// `DSN` (RFC 3461): `RET`, `ENVID`, `NOTIFY`, `ORCPT`. Default on.
    pub dsn: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034): when on, every `2xx`/`4xx`/`5xx` reply except
    /// the greeting and the HELO/EHLO reply carries an enhanced status code (RFC 2034
    /// section 3); a caller's reply without one, or with one of another class, gets
    /// `2.0.0`, `4.0.0` or `5.0.0` (the replies to the Exchange verbs excepted, whose text
    /// is their data). Default on.
    pub enhanced_status_codes: bool,
    /// `8BITMIME` (RFC 6152). Default on. Also advertised (and `BODY=8BITMIME` accepted)
    /// whenever `smtputf8` is on, whatever this flag says: RFC 6531 section 3.1 requires a
    /// server offering SMTPUTF8 to offer 8BITMIME.
    pub eight_bit_mime: bool,
    /// `CHUNKING` (RFC 3030): the `BDAT` command. Default on.
    pub chunking: bool,
    /// `BINARYMIME` (RFC 3030); only advertised together with `chunking`. Default on.
    pub binary_mime: bool,
    /// `SMTPUTF8` (RFC 6531). Default off. Brings `8BITMIME` with it (RFC 6531 section
    /// 3.1), see `eight_bit_mime`.
    pub smtputf8: bool,
    /// `STARTTLS` (RFC 3207), advertised only before TLS is active. Default off (the caller
    /// must own a TLS stack to offer it).
    pub starttls: bool,
    /// `REQUIRETLS` (RFC 8689), advertised only under TLS. Default off.
    pub requiretls: bool,
    /// `ETRN` (RFC 1985). Default off.
    pub etrn: bool,
    /// `VRFY` keyword (informational; VRFY is always answered, `252` by default).
    /// Default off.
    pub vrfy_keyword: bool,
    /// `HELP` keyword (informational; HELP is always answered). Default off.
    pub help_keyword: bool,
    /// More keyword lines appended to the EHLO reply verbatim (e.g. `LIMITS`,
    /// `DELIVERBY`, `MT-PRIORITY`, `FUTURERELEASE`). Parameters of the typed extensions
    /// listed here (`BY=`, `MT-PRIORITY=`, `HOLDFOR=`/`HOLDUNTIL=`) become acceptable,
    /// and what these lines state is enforced:
    ///
    /// - `LIMITS` (RFC 9422): `RCPTMAX` replaces `limits.max_recipients` and `MAILMAX`
    ///   replaces `limits.max_transactions` (the advertised value wins, higher or lower,
    ///   so the client is told the truth); `RCPTDOMAINMAX` limits the distinct recipient
    ///   domains of a transaction (case-insensitive), a recipient in one more domain gets
    ///   `452 4.5.3`. A limit stated as `0` is none of its own (clients read it as no
    ///   limit): the configured one applies. The limits apply to the whole session, also
    ///   after `HELO`. See
    ///   [`ServerConfig::advertise_limits`] to advertise the configured limits instead.
    /// - `DELIVERBY <min>` (RFC 2852): a `BY=` in R mode whose by-time is not positive or
    ///   is below `<min>` gets `501 5.5.4`; N mode takes any by-time.
    /// - `FUTURERELEASE <max-interval> <max-date-time>` (RFC 4865): a `HOLDFOR=` above
    ///   the interval, a `HOLDUNTIL=` after the date-time, and a `HOLDUNTIL=` that is not
    ///   a valid date-time get `501 5.5.4`.
    pub extra: Vec<Capability>,
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            size: true,
            pipelining: true,
            dsn: true,
            enhanced_status_codes: true,
            eight_bit_mime: true,
            chunking: true,
            binary_mime: true,
            smtputf8: false,
            starttls: false,
            requiretls: false,
            etrn: false,
            vrfy_keyword: false,
            help_keyword: false,
            extra: Vec::new(),
        }
    }
}

/// One SASL mechanism the server offers, by name (a custom one too), for
/// [`AuthConfig::mechanisms`] and [`ExchangeConfig::exps_mechanisms`]. Not to be confused
/// with the enum [`crate::sasl::Mechanism`] of the mechanisms the crate implements, which
/// the client's [`ClientConfig::auth_mechanisms`](crate::client::ClientConfig::auth_mechanisms)
/// takes.
///
/// ```
/// use ehlo::server::{Mechanism, ServerConfig};
/// let mut config = ServerConfig::new("mx.example.test");
/// config.auth.mechanisms = vec![Mechanism::new("cram-md5"), Mechanism::new("PLAIN")];
/// assert_eq!(config.auth.mechanisms[0].name, "CRAM-MD5");
/// assert!(!config.auth.mechanisms[0].plaintext); // offered before TLS too
/// assert!(config.auth.mechanisms[1].plaintext); // only under TLS
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mechanism {
    /// The mechanism name as advertised (upper case, e.g. `PLAIN`, `NTLM`).
    pub name: String,
    /// Whether the mechanism reveals the password or a bearer token to an eavesdropper
    /// (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER). Such mechanisms are only offered under TLS
    /// unless [`AuthConfig::allow_plaintext_without_tls`] is set (RFC 4954 section 4,
    /// RFC 4616 section 6).
    pub plaintext: bool,
}

impl Mechanism {
    /// A mechanism by name; `plaintext` follows
    /// [`crate::sasl::Mechanism::sends_plaintext_credentials`]: only CRAM-MD5, NTLM and
    /// GSSAPI are offered before TLS; unknown mechanisms are assumed to need TLS.
    pub fn new(name: &str) -> Mechanism {
        let name = name.to_ascii_uppercase();
        let plaintext =
            crate::sasl::Mechanism::parse(&name).map_or(true, |m| m.sends_plaintext_credentials());
        Mechanism { name, plaintext }
    }
}

/// Authentication settings (RFC 4954, [MS-OXSMTP], [MS-XLOGIN], [MS-SMTPNTLM]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The mechanisms offered with `AUTH`, in advertised order. Empty (the default): no
    /// AUTH extension, and `AUTH` is answered `502 5.5.1`.
    pub mechanisms: Vec<Mechanism>,
    /// Also advertise the legacy `AUTH=LOGIN` line old Outlook versions look for
    /// (only when LOGIN is currently offered). Default off.
    pub legacy_auth_line: bool,
    /// Offer plaintext mechanisms before TLS. Default off.
    pub allow_plaintext_without_tls: bool,
    /// Refuse every AUTH before TLS with `538 5.7.11` (and advertise AUTH only under TLS).
    /// Default off.
    pub require_tls: bool,
    /// Refuse MAIL, VRFY, EXPN and ETRN with `530 5.7.0` until the client authenticated
    /// with AUTH (submission, RFC 6409; RFC 4954 section 6). The caller never sees those
    /// commands from an unauthenticated client. Default off.
    pub require_auth: bool,
    /// Run the exchange of the mechanisms [`crate::sasl::ServerExchange`] implements
    /// (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER, NTLM, GSSAPI) inside the machine: the caller
    /// then sees [`Event::AuthVerify`](super::Event::AuthVerify) with decoded credentials
    /// or [`Event::AuthToken`](super::Event::AuthToken) with NTLM/GSSAPI tokens instead of
    /// `AuthStart`/`AuthResponse`. Other mechanisms (CRAM-MD5, unknown ones) stay
    /// caller-driven. Default off.
    pub builtin_exchanges: bool,
}

/// The Microsoft Exchange extensions. All off by default; each verb flag adds its EHLO
/// keyword and enables its verb (a verb that is off is answered `502 5.5.1`); the other
/// flags switch on Exchange's behaviour where it differs from the RFCs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExchangeConfig {
    /// `X-ANONYMOUSTLS`: the STARTTLS upgrade under the Exchange verb (before TLS only).
    pub anonymous_tls: bool,
    /// `X-EXPS` mechanisms (server-to-server authentication), in advertised order.
    /// Kept apart from AUTH in the session state.
    pub exps_mechanisms: Vec<Mechanism>,
    /// Also advertise the legacy `X-EXPS=LOGIN` line (when LOGIN is offered).
    pub exps_legacy_line: bool,
    /// Longest X-EXPS command or continuation line including CRLF. The public record
    /// sets no size limit on X-EXPS chunks (Kerberos tickets of large tokens exceed the
    /// 12,288 octets of RFC 4954); `0` (the default) means `limits.max_sasl_line`, and a
    /// value below 512 counts as 512 (a command line). Input stays bounded by
    /// `limits.max_input_buffer`: a longer line is refused as too long.
    pub max_exps_line: usize,
    /// `XEXCH50` (KB 812455): MAPI properties blob after RCPT.
    pub xexch50: bool,
    /// Refuse `XEXCH50` with `504 5.7.0 Need to authenticate first` until the peer
    /// authenticated (a successful `AUTH` or `X-EXPS`), without reading a blob. The blob
    /// carries MAPI envelope properties an anonymous sender must not set; Exchange 2003
    /// SP1 and later refuse it so (KB 843106, "How to troubleshoot the 504 need to
    /// authenticate first SMTP protocol error"). Off by default; on in
    /// [`ServerConfig::exchange_2003`].
    pub xexch50_requires_auth: bool,
    /// `X-LINK2STATE`.
    pub link2state: bool,
    /// `XRDST`.
    pub xrdst: bool,
    /// `XSHADOW`.
    pub xshadow: bool,
    /// `XSHADOWREQUEST`.
    pub xshadowrequest: bool,
    /// `XQDISCARD`.
    pub xqdiscard: bool,
    /// `XPROXY`, `XPROXYFROM`, `XPROXYTO` and `XRSETPROXYTO`.
    pub xproxy: bool,
    /// `XSESSIONPARAMS`.
    pub xsessionparams: bool,
    /// The order (and spelling) of the EHLO keyword lines; empty keeps the built-in
    /// order. See [`crate::server::exchange`] for the rules and the Exchange presets.
    pub ehlo_order: Vec<String>,
    /// With [`AuthConfig::builtin_exchanges`]: answer an `AUTH` / `X-EXPS` without
    /// initial response whose mechanism starts with an empty server string (GSSAPI,
    /// PLAIN, XOAUTH2, OAUTHBEARER) with Exchange's SASL_Mechanism_Supported message,
    /// `334 <MECHANISM> supported`, instead of RFC 4954's empty `334 ` (\[MS-OXSMTP\]
    /// 3.2.5.1: the server SHOULD; format in 2.2.1). Off by default, since clients that
    /// follow only RFC 4954 try to decode the text as BASE64; on in the Exchange presets.
    /// NTLM keeps \[MS-SMTPNTLM\]'s `334 ntlm supported` (2.2.1.2 and the section 4
    /// example) either way, LOGIN its `Username:` prompt (\[MS-XLOGIN\]).
    pub sasl_mechanism_supported: bool,
    /// Answer `EHLO` without an argument like an EHLO whose client name is unknown (an
    /// [`Event::Ehlo`](super::Event::Ehlo) with an empty `domain`, and the usual
    /// capability reply) instead of refusing it with `501`. \[MS-SMTPNTLM\] 2.2.1.9 (EHLO
    /// Discovery Message): the server responds with an EHLO-Response, AUTH included,
    /// "when the client sends the EHLO command with or without an argument"; RFC 5321
    /// 4.1.1.1 only says clients SHOULD send the argument, and "The SMTP server MUST
    /// support such clients". Off by default (RFC 5321's grammar requires the argument);
    /// on in the Exchange presets. `HELO` still needs its argument.
    ///
    /// A server that offers NTLM (among [`AuthConfig::mechanisms`] or
    /// [`ExchangeConfig::exps_mechanisms`]) answers a bare `EHLO` whatever this flag says:
    /// \[MS-SMTPNTLM\] makes it a MUST for a server that implements it.
    pub ehlo_without_argument: bool,
}

/// Limits on client behaviour. Exceeding one gets a defined reply, never unbounded memory.
///
/// A count of `0` allows none (`max_recipients = 0` refuses every RCPT, `max_commands = 0`
/// closes at the first command, `max_transactions = 0` at the first MAIL; for
/// `max_errors` and `max_auth_failures`, whose count includes the failure the `421`
/// follows, `0` is the same as `1`), except `max_message_size`, where `0` is no limit as
/// RFC 1870 defines it. The line and buffer limits never go below what RFC 5321 requires a
/// server to take: 512 octets for a command line (4.5.3.1.4; also the floor of the SASL
/// line and of the input buffer) and 1,000 for a content line (4.5.3.1.6); a smaller
/// setting, `0` included, counts as that minimum.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// Longest command line including CRLF (RFC 5321 4.5.3.1.4; default 512). Longer
    /// lines get `500 5.5.2` and are skipped up to the next line end without being stored.
    /// MAIL and RCPT lines may be longer by the room the parameters of the offered
    /// extensions need ([`crate::limits::param_allowance`]; RFC 4954 section 5 adds 500
    /// octets for `AUTH=`, for instance).
    pub max_command_line: usize,
    /// Longest AUTH / X-EXPS command or SASL continuation line including CRLF (RFC 4954
    /// section 4; default 12288).
    pub max_sasl_line: usize,
    /// Longest DATA content line including CRLF for the `long_lines` policy (RFC 5321
    /// 4.5.3.1.6; default 1000).
    pub max_text_line: usize,
    /// Cap on buffered, unprocessed input in octets (default 256 KiB). Input beyond it
    /// (a client flooding while a decision is pending) closes the session with
    /// `421 4.7.0`. Feed input in reads no larger than
    /// [`Server::input_room`](super::Server::input_room) and drain events in between.
    /// Message content streams through in pieces of any size, but a command line waits
    /// here until its end arrives, so keep the cap above the longest line the session
    /// takes (12,288 octets for an AUTH line, RFC 4954 section 4; a MAIL line with every
    /// offered parameter, over 2,000): a line longer than the cap is refused as too long.
    /// Below 512 octets it counts as 512.
    pub max_input_buffer: usize,
    /// Replies waiting to be handed out, in octets, at which the session stops taking the
    /// commands it holds (default 64 KiB; below 512 it counts as 512). A client that
    /// pipelines commands without reading the replies would otherwise have every command
    /// in the input buffer answered at once, and the replies held here: 64 KiB of
    /// `EHLO x` lines make over 1 MB of EHLO replies. RFC 2920 section 3.1 leaves
    /// avoiding that deadlock to the client; this bounds what it costs the server.
    ///
    /// Once the replies reach the mark, [`Server::poll_event`](super::Server::poll_event)
    /// returns `None` with commands still buffered and
    /// [`Server::is_paused_for_output`](super::Server::is_paused_for_output) says so:
    /// transmit, then poll again before waiting for input (the commands are already
    /// here). The replies can pass the mark by one command's. Only command and SASL lines
    /// wait: message content, which has no reply of its own, streams on.
    pub max_output_buffer: usize,
    /// Largest message in octets (advertised with SIZE; default 10 MiB). `SIZE=` above
    /// it and messages that grow beyond it get `552 5.3.4`. `0` means no limit, as the
    /// `SIZE 0` it advertises says (RFC 1870 section 3).
    pub max_message_size: u64,
    /// Accepted recipients per transaction (default 100, RFC 5321 4.5.3.1.8); more get
    /// `452 4.5.3`. A `LIMITS RCPTMAX=` in `extensions.extra` replaces it.
    pub max_recipients: usize,
    /// Protocol errors (bad syntax, bad sequence, unknown commands) before the server
    /// answers `421 4.7.0` and closes (default 10): the reply to the error that reaches
    /// the count is followed by the `421` (so `0` acts as `1`). Under PIPELINING, the `503`s to the
    /// RCPTs (up to `max_recipients` of them), DATA and BDAT chunks a client pipelined
    /// behind a refused MAIL do not count (RFC 2920 section 3.1, RFC 3030 section 2).
    pub max_errors: u32,
    /// Failed authentications (AUTH or X-EXPS answered with a `5xx`) before the server
    /// answers `421 4.7.0` and closes (default 5; the `5xx` of the failure that reaches the
    /// count is followed by the `421`, so `0` acts as `1`): one connection must not try passwords
    /// without end (Postfix counts them as errors too). This includes the `535 5.7.8`
    /// that ends a built-in OAuth error exchange (RFC 7628 section 3.2.3). Temporary
    /// failures (`454`), cancels and syntax errors in the exchange (`501`, `500 5.5.6`) do
    /// not count; `max_commands` bounds those.
    pub max_auth_failures: u32,
    /// Commands per session before `421 4.7.0` and close (default 10,000): the command
    /// after the last one allowed is answered with the `421` instead (so `0` closes at the
    /// first command).
    pub max_commands: u64,
    /// Mail transactions (MAIL commands accepted) per session before `421 4.7.0` and
    /// close (default 1,000): a `MAIL` after the last transaction allowed is answered with
    /// the `421` instead (so `0` takes no message at all). A `LIMITS MAILMAX=` in `extensions.extra` replaces it.
    pub max_transactions: u32,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_command_line: crate::limits::MAX_COMMAND_LINE,
            max_sasl_line: crate::limits::MAX_SASL_LINE,
            max_text_line: crate::limits::MAX_TEXT_LINE,
            max_input_buffer: 256 * 1024,
            max_output_buffer: 64 * 1024,
            max_message_size: 10 * 1024 * 1024,
            max_recipients: crate::limits::MIN_RECIPIENTS,
            max_errors: 10,
            max_auth_failures: 5,
            max_commands: 10_000,
            max_transactions: 1_000,
        }
    }
}

impl ServerLimits {
    /// The command line limit the session enforces: [`ServerLimits::max_command_line`],
    /// but never below RFC 5321's 512 octets (4.5.3.1.4), which every server takes: a
    /// smaller (or zero) setting would refuse valid commands, or find every line too long.
    pub(crate) fn command_line(&self) -> usize {
        self.max_command_line.max(crate::limits::MAX_COMMAND_LINE)
    }

    /// The SASL line limit the session enforces: [`ServerLimits::max_sasl_line`], but at
    /// least a command line ([`ServerLimits::command_line`]), since an AUTH command is one.
    pub(crate) fn sasl_line(&self) -> usize {
        self.max_sasl_line.max(self.command_line())
    }

    /// The content line limit the session enforces: [`ServerLimits::max_text_line`], but
    /// never below RFC 5321's 1,000 octets (4.5.3.1.6).
    pub(crate) fn text_line(&self) -> usize {
        self.max_text_line.max(crate::limits::MAX_TEXT_LINE)
    }

    /// The input cap the session enforces: [`ServerLimits::max_input_buffer`], but at
    /// least one command line ([`ServerLimits::command_line`]). No line limit goes beyond
    /// it: a line longer than the cap is refused as too long (and skipped) rather than
    /// waited for.
    pub(crate) fn input_buffer(&self) -> usize {
        self.max_input_buffer.max(self.command_line())
    }

    /// The output mark the session enforces: [`ServerLimits::max_output_buffer`], but at
    /// least 512 octets. A smaller mark would only make the caller write more often.
    pub(crate) fn output_buffer(&self) -> usize {
        self.max_output_buffer.max(crate::limits::MAX_COMMAND_LINE)
    }

    /// The message size the session enforces: [`ServerLimits::max_message_size`], or no
    /// limit (`u64::MAX`) when it is `0`. RFC 1870 section 3: "A parameter value of 0
    /// (zero) indicates that no maximum message size is in force", and `SIZE 0` is what
    /// the EHLO reply advertises then; refusing every message as too large would
    /// contradict it.
    pub(crate) fn message_size_limit(&self) -> u64 {
        match self.max_message_size {
            0 => u64::MAX,
            n => n,
        }
    }
}

/// Timeouts (RFC 5321 4.5.3.2). On expiry the server sends `421 4.4.2` and closes (RFC
/// 5321 3.8; in the middle of a TLS handshake it closes without a word, as a plaintext
/// reply would land in the TLS stream). A wait expires at its deadline:
/// [`Server::handle_timeout`](crate::server::Server::handle_timeout) given an instant at
/// or after [`Server::poll_timeout`](crate::server::Server::poll_timeout) closes, one
/// before it changes nothing.
///
/// A wait for the client counts from its last input ([`Server::receive`]), but a wait for
/// a command counts from the first octet of the line still incomplete, if one is held: a
/// part of a line is no command (RFC 5321 4.5.3.2.7), so a client that trickles a line a
/// byte at a time gets one `command` timeout for the whole line. Every read of message
/// content restarts the `data_block` wait (4.5.3.2.5). A wait for the caller's decision counts from
/// when the decision was asked, that is from the latest time the session knew of then
/// (the input that brought the command, or the `now` of a [`Server::decide_at`] or
/// [`Server::tls_established_at`] before it); input meanwhile does not stretch it. When it
/// expires the session sends `421 4.4.2` and closes, as for a silent client: a decision
/// never defaults to acceptance, and one given later is dropped
/// ([`DecisionError::NotPending`](crate::server::DecisionError::NotPending)), so a
/// message whose [`Event::MessageEnd`](crate::server::Event::MessageEnd) timed out was
/// answered `421` and the client will send it again.
///
/// The RFC states the data timeouts from the client's side; the server applies the same
/// values to the matching waits of its own (each field names the client timer it
/// mirrors). Its wait starts when the client's input arrives, after the client's own timer
/// started, so it never gives up on a client that keeps to the RFC's timers before that
/// client would give up itself; waiting longer for a decision would be for a client that
/// has gone.
///
/// [`Server::receive`]: crate::server::Server::receive
/// [`Server::decide_at`]: crate::server::Server::decide_at
/// [`Server::tls_established_at`]: crate::server::Server::tls_established_at
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for a command line or a SASL response line, and for the caller's decision
    /// on a command (RFC 5321 4.5.3.2.7 server timeout, "at least 5 minutes"; default 5
    /// minutes).
    pub command: Duration,
    /// Waiting for the caller's decision on DATA, i.e. before `354` (4.5.3.2.4 DATA
    /// initiation; default 2 minutes).
    pub data_initiation: Duration,
    /// Waiting for the next block of message content after `354`, of a BDAT chunk or of
    /// an XEXCH50 blob: every read of it restarts the wait (4.5.3.2.5 data block; default
    /// 3 minutes).
    pub data_block: Duration,
    /// Waiting for the caller's decision after the end of the message, DATA's `.` or
    /// `BDAT ... LAST` (4.5.3.2.6 DATA termination; default 10 minutes).
    pub data_termination: Duration,
}

impl Timeouts {
    /// The shortest of the four. Every deadline the machine reports
    /// ([`Server::poll_timeout`](crate::server::Server::poll_timeout)) is the last activity
    /// plus one of them, so a driver that arms one timer per connection at
    /// `start + shortest()` never has to move it earlier: when it fires, the driver asks
    /// the machine for the real deadline and arms that (or calls
    /// [`Server::handle_timeout`](crate::server::Server::handle_timeout) if it has passed).
    /// Moving a timer earlier is what costs in most runtimes (tokio wakes its driver for it).
    ///
    /// ```
    /// use ehlo::server::Timeouts;
    /// use std::time::Duration;
    /// assert_eq!(Timeouts::default().shortest(), Duration::from_secs(120));
    /// let quick = Timeouts { data_block: Duration::from_secs(30), ..Timeouts::default() };
    /// assert_eq!(quick.shortest(), Duration::from_secs(30));
    /// ```
    pub fn shortest(&self) -> Duration {
        self.command
            .min(self.data_initiation)
            .min(self.data_block)
            .min(self.data_termination)
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            command: Duration::from_secs(5 * 60),
            data_initiation: Duration::from_secs(2 * 60),
            data_block: Duration::from_secs(3 * 60),
            data_termination: Duration::from_secs(10 * 60),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig::new("localhost")
    }
}

impl ServerConfig {
    /// Whether a bare `EHLO` is answered (see [`ExchangeConfig::ehlo_without_argument`]):
    /// when that flag is on, or when NTLM is offered with AUTH or X-EXPS.
    pub(super) fn answers_bare_ehlo(&self) -> bool {
        let ntlm = |m: &Mechanism| m.name.eq_ignore_ascii_case("NTLM");
        self.exchange.ehlo_without_argument
            || self.auth.mechanisms.iter().any(ntlm)
            || self.exchange.exps_mechanisms.iter().any(ntlm)
    }

    /// Advertises the configured recipient and transaction limits with a `LIMITS` line
    /// (RFC 9422): `LIMITS RCPTMAX=<limits.max_recipients> MAILMAX=<limits.max_transactions>`
    /// in `extensions.extra`, replacing a `LIMITS` line already there (and with it an
    /// `RCPTDOMAINMAX` it stated). Call it after setting the limits; a later change of
    /// `limits` is not reflected, and a `LIMITS` line in `extra` is what the session
    /// enforces (see [`Extensions::extra`]).
    ///
    /// A limit of `0` is left out (and with both at `0` no `LIMITS` line is added): a
    /// client reads an advertised `0` as no limit (RFC 9422 section 4 sizes what the
    /// client may use; zero recipients or transactions is nothing to conform to), while
    /// the configured `0` refuses every RCPT or MAIL.
    ///
    /// ```
    /// use ehlo::server::ServerConfig;
    /// use ehlo::Capability;
    /// let mut config = ServerConfig::new("mx.example.test");
    /// config.limits.max_recipients = 50;
    /// config.advertise_limits();
    /// assert_eq!(
    ///     config.extensions.extra,
    ///     [Capability::parse("LIMITS RCPTMAX=50 MAILMAX=1000")]
    /// );
    /// ```
    pub fn advertise_limits(&mut self) {
        let mut pairs = Vec::with_capacity(2);
        if self.limits.max_recipients > 0 {
            pairs.push((
                "RCPTMAX".to_string(),
                self.limits.max_recipients.to_string(),
            ));
        }
        if self.limits.max_transactions > 0 {
            pairs.push((
                "MAILMAX".to_string(),
                self.limits.max_transactions.to_string(),
            ));
        }
        let extra = &mut self.extensions.extra;
        extra.retain(|c| !matches!(c, Capability::Limits(_)));
        if !pairs.is_empty() {
            extra.push(Capability::Limits(pairs));
        }
    }

    /// The default configuration with the given host name.
    pub fn new(hostname: impl Into<String>) -> ServerConfig {
        ServerConfig {
            hostname: hostname.into(),
            greeting: "ESMTP ready".to_string(),
            extensions: Extensions::default(),
            auth: AuthConfig::default(),
            exchange: ExchangeConfig::default(),
            limits: ServerLimits::default(),
            timeouts: Timeouts::default(),
            leniency: Leniency::Lenient,
            bare_line_endings: BareLineEnding::Normalize,
            long_lines: LongLines::Accept,
            record_envelope: false,
        }
    }
}
