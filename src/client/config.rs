//! Client configuration: TLS policy, credentials, timeouts, limits.

use crate::sasl::AuthVerb;
use crate::sasl::Mechanism;
use std::time::Duration;

/// When the client upgrades the connection with STARTTLS (RFC 3207) or, for Exchange
/// peers, X-ANONYMOUSTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlsPolicy {
    /// TLS is mandatory: if the server does not offer it (or refuses it), the client sends
    /// `QUIT` and closes with [`CloseReason::TlsUnavailable`](super::CloseReason::TlsUnavailable);
    /// no mail and no credentials travel in the clear.
    Required,
    /// Use TLS when the server advertises it; go on in plaintext otherwise, or when the
    /// server answers the upgrade command with an error (RFC 3207 section 4).
    #[default]
    Opportunistic,
    /// Never upgrade.
    Never,
}

/// What the client authenticates with (RFC 4954). The client picks the strongest mechanism
/// the credentials can drive and the server advertises, or the first of
/// [`ClientConfig::auth_mechanisms`] when set.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A user name and password: CRAM-MD5 (RFC 2195), PLAIN (RFC 4616) and LOGIN
    /// (\[MS-XLOGIN\]), in that order of preference.
    Password {
        /// The authorization identity for PLAIN (usually `None`).
        authzid: Option<String>,
        /// The authentication identity.
        username: String,
        /// The password.
        password: String,
    },
    /// An OAuth 2.0 bearer token: OAUTHBEARER (RFC 7628), then XOAUTH2 (Google, Microsoft).
    OAuth2 {
        /// The user the token belongs to.
        username: String,
        /// The access token.
        token: String,
    },
    /// Mechanisms the caller drives itself (NTLM per \[MS-SMTPNTLM\], GSSAPI, anything
    /// custom), in order of preference. The client surfaces every step as an
    /// [`Event::AuthChallenge`](super::Event::AuthChallenge) and the caller answers with
    /// [`Client::auth_respond`](super::Client::auth_respond).
    External {
        /// Mechanism names (case-insensitive), most preferred first.
        mechanisms: Vec<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password {
                authzid, username, ..
            } => f
                .debug_struct("Password")
                .field("authzid", authzid)
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::OAuth2 { username, .. } => f
                .debug_struct("OAuth2")
                .field("username", username)
                .field("token", &"<redacted>")
                .finish(),
            Credentials::External { mechanisms } => f
                .debug_struct("External")
                .field("mechanisms", mechanisms)
                .finish(),
        }
    }
}

/// Reply timeouts of RFC 5321 section 4.5.3.2. All are minimums the RFC recommends; a
/// client may use longer ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for the `220` greeting (4.5.3.2.1): 5 minutes.
    pub greeting: Duration,
    /// Reply to `MAIL` (4.5.3.2.2): 5 minutes.
    pub mail: Duration,
    /// Reply to each `RCPT` (4.5.3.2.3): 5 minutes.
    pub rcpt: Duration,
    /// The `354` reply to `DATA` (4.5.3.2.4): 2 minutes.
    pub data_initiation: Duration,
    /// No progress sending a data block (4.5.3.2.5): 3 minutes.
    pub data_block: Duration,
    /// The final reply after the end of data (4.5.3.2.6), also used for the last `BDAT`
    /// and each `BDAT` chunk: 10 minutes.
    pub data_termination: Duration,
    /// Every other command (EHLO, STARTTLS, AUTH, RSET, QUIT, XEXCH50): 5 minutes.
    pub other: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            greeting: Duration::from_secs(5 * 60),
            mail: Duration::from_secs(5 * 60),
            rcpt: Duration::from_secs(5 * 60),
            data_initiation: Duration::from_secs(2 * 60),
            data_block: Duration::from_secs(3 * 60),
            data_termination: Duration::from_secs(10 * 60),
            other: Duration::from_secs(5 * 60),
        }
    }
}

/// Everything a [`Client`](super::Client) needs to know before the connection opens.
/// `#[non_exhaustive]`, so that settings can be added without breaking callers: start
/// from [`ClientConfig::new`] and assign the fields to change.
///
/// ```
/// use ehlo::client::{ClientConfig, Credentials, TlsPolicy};
/// let mut config = ClientConfig::new("client.example.test");
/// config.tls = TlsPolicy::Required;
/// config.credentials = Some(Credentials::Password {
///     authzid: None,
///     username: "alice".into(),
///     password: "secret".into(),
/// });
/// assert!(config.pipelining && config.chunking);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The name sent with `EHLO`/`HELO`: a domain or an address literal such as
    /// `[192.0.2.1]` (RFC 5321 4.1.1.1). A bare IP address (`192.0.2.1`, `2001:db8::1`)
    /// goes out as its address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`; RFC 5321
    /// 4.1.3): it is not a domain (RFC 1123 2.1). A name that is neither (see
    /// [`CloseReason::InvalidHostname`](super::CloseReason::InvalidHostname)) ends the
    /// session before anything is sent.
    pub hostname: String,
    /// STARTTLS policy (default [`TlsPolicy::Opportunistic`]).
    pub tls: TlsPolicy,
    /// The transport is already TLS (implicit TLS, RFC 8314): never STARTTLS, and plaintext
    /// SASL mechanisms are allowed. Off by default.
    pub implicit_tls: bool,
    /// Upgrade with `X-ANONYMOUSTLS` instead of `STARTTLS` when the server advertises it
    /// (Exchange server-to-server). Off by default. If the server refuses it and also
    /// advertises `STARTTLS`, the client tries `STARTTLS` before applying [`Self::tls`].
    pub anonymous_tls: bool,
    /// Credentials; `None` (the default) sends mail without authenticating.
    pub credentials: Option<Credentials>,
    /// The verb for authentication (`AUTH`, the default, or Exchange's `X-EXPS`).
    pub auth_verb: AuthVerb,
    /// Allow mechanisms that expose the secret (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER) on a
    /// connection without TLS. Off by default.
    pub allow_plaintext_auth: bool,
    /// The SASL mechanisms the client may authenticate with, most preferred first.
    ///
    /// `None` (the default): every mechanism the [`Credentials`] can drive, strongest first
    /// ([`Mechanism::strength`]): CRAM-MD5, PLAIN, LOGIN for a password. A list keeps only
    /// its mechanisms, in its order: `Some(vec![Mechanism::Plain, Mechanism::Login])` for
    /// a server that advertises CRAM-MD5 but cannot verify it (one that stores hashed
    /// passwords answers `535` to it). The list only restricts and orders; it allows
    /// nothing more: a mechanism must still be advertised (by `AUTH`, or by `X-EXPS` with
    /// [`AuthVerb::XExps`]) and one the credentials can drive (OAUTHBEARER is never tried
    /// with a password), and one that exposes the secret still needs TLS or
    /// [`Self::allow_plaintext_auth`]. A mechanism not in the list is never used, not even
    /// by [`Self::auth_fallback`]. When no mechanism is left, the session ends as when the
    /// server offers none: `QUIT`, then
    /// [`CloseReason::AuthUnavailable`](super::CloseReason::AuthUnavailable).
    ///
    /// ```
    /// use ehlo::client::{ClientConfig, Credentials};
    /// use ehlo::sasl::Mechanism;
    /// let mut config = ClientConfig::new("client.example.test");
    /// config.credentials = Some(Credentials::Password {
    ///     authzid: None,
    ///     username: "alice".into(),
    ///     password: "secret".into(),
    /// });
    /// // PLAIN before LOGIN, never CRAM-MD5 (and both only under TLS).
    /// config.auth_mechanisms = Some(vec![Mechanism::Plain, Mechanism::Login]);
    /// ```
    pub auth_mechanisms: Option<Vec<Mechanism>>,
    /// When the server refuses one mechanism, authenticate again with the next one
    /// instead of ending the session (RFC 4954 section 4: "If an AUTH command fails, the
    /// client MAY try another authentication mechanism"). Off by default: each refusal
    /// counts as a failed login for the server (servers limit them per connection, as
    /// [`ServerLimits::max_auth_failures`](crate::server::ServerLimits::max_auth_failures)
    /// does, and log watchers such as fail2ban ban by them), so a wrong password costs up
    /// to one attempt per mechanism.
    ///
    /// The next mechanisms are those the client would have picked anyway
    /// ([`Self::auth_mechanisms`], the TLS rule of [`Self::allow_plaintext_auth`]), in
    /// order, each tried at most once, with the same verb (`AUTH` or `X-EXPS`); so a server
    /// (or a man in the middle before TLS) can never make the client send a password in
    /// the clear that it would not have sent to a server advertising only that
    /// mechanism. The replies that lead to the next mechanism (RFC 4954 section 6) are
    /// about the mechanism: `535 5.7.8` (the credentials did not verify with it) and
    /// `504` (not supported after all, section 4); after `534 5.7.9` ("weaker than server
    /// policy permits") only a stronger mechanism ([`Mechanism::strength`]) is tried. Any
    /// other reply ends the session as without fallback: `454 4.7.0` (a temporary
    /// failure), `538 5.7.11` (encryption required: TLS is the fix), `432`, `500`, `530`,
    /// the `501` to a cancelled exchange (the client's `*`, or the caller's
    /// [`AuthResponse::Cancel`](super::AuthResponse::Cancel)), and a `421` or a closed
    /// connection. Each retry is reported first as
    /// [`Event::AuthFallback`](super::Event::AuthFallback); when the last one fails, the
    /// session ends with [`CloseReason::AuthFailed`](super::CloseReason::AuthFailed) and
    /// the last refusal.
    pub auth_fallback: bool,
    /// Send the initial response with the AUTH command (RFC 4954 section 4) when the
    /// mechanism has one and the line stays within 512 octets; otherwise the response
    /// answers the server's first `334`. LOGIN never sends one (\[MS-XLOGIN\]: not every
    /// server reads the user name on the command line). On by default.
    pub sasl_initial_response: bool,
    /// Use PIPELINING (RFC 2920) when advertised. On by default.
    pub pipelining: bool,
    /// Use CHUNKING / BDAT (RFC 3030) when advertised. On by default.
    pub chunking: bool,
    /// Size of the BDAT chunks cut from a whole [`Bytes`](bytes::Bytes) body (octets;
    /// default 1 MiB, and `0` counts as `1`). A streamed body ([`Body::Stream`]) is sent
    /// one chunk per piece the caller pushes instead.
    ///
    /// [`Body::Stream`]: super::Body::Stream
    pub bdat_chunk_size: usize,
    /// Reply timeouts (default: those of RFC 5321 4.5.3.2, see [`Timeouts`]).
    pub timeouts: Timeouts,
    /// Longest reply line accepted, CRLF included. The default is the RFC 4954 SASL line
    /// limit (12288) because `334` challenges (NTLM, GSSAPI) exceed the 512 octets of
    /// RFC 5321 4.5.3.1.5.
    pub max_reply_line: usize,
    /// Most lines accepted in one multi-line reply (default 256, so one reply is at most
    /// 256 x `max_reply_line` octets on the wire; held as text, an octet that is not
    /// UTF-8 takes the three of U+FFFD, so at most three times that in memory).
    pub max_reply_lines: usize,
}

impl ClientConfig {
    /// A configuration with safe defaults: opportunistic TLS, no credentials, pipelining
    /// and chunking when offered, RFC 5321 timeouts.
    pub fn new(hostname: impl Into<String>) -> Self {
        ClientConfig {
            hostname: hostname.into(),
            tls: TlsPolicy::default(),
            implicit_tls: false,
            anonymous_tls: false,
            credentials: None,
            auth_verb: AuthVerb::default(),
            allow_plaintext_auth: false,
            auth_mechanisms: None,
            auth_fallback: false,
            sasl_initial_response: true,
            pipelining: true,
            chunking: true,
            bdat_chunk_size: 1 << 20,
            timeouts: Timeouts::default(),
            max_reply_line: crate::limits::MAX_SASL_LINE,
            max_reply_lines: 256,
        }
    }
}
