//! The limits a session enforces, fixed from its configuration when it starts: recipients,
//! transactions and recipient domains (RFC 9422 `LIMITS`), the DELIVERBY (RFC 2852) and
//! FUTURERELEASE (RFC 4865) bounds, and the longest command line of each verb
//! (RFC 5321 4.5.3.1.4, with the MAIL and RCPT lines the offered extensions need).

use super::ServerConfig;
use crate::limits::{param_allowance, CommandLineLimits, ParamExtensions};
use crate::syntax::capability::{Capability, Limits};

/// The recipient and transaction limits a session enforces: those of
/// [`ServerLimits`](super::ServerLimits), except where a `LIMITS` line in
/// `extensions.extra` (RFC 9422) states its own (a stated `0` is none: clients read it as
/// no limit). An advertised limit replaces the configured one (it is neither min'ed nor
/// max'ed with it): the client is told `RCPTMAX=200` and can rely on 200 recipients, and
/// none beyond. [`ServerConfig::advertise_limits`] advertises the configured ones.
#[derive(Debug, Clone, Copy)]
pub(super) struct SessionLimits {
    /// `RCPTMAX` (RFC 9422 section 4.2) or `limits.max_recipients`.
    pub(super) recipients: usize,
    /// `MAILMAX` (RFC 9422 section 4.1) or `limits.max_transactions`.
    pub(super) transactions: u32,
    /// `RCPTDOMAINMAX` (RFC 9422 section 4.3); no limit unless advertised.
    pub(super) recipient_domains: Option<usize>,
    /// The min-by-time of an advertised `DELIVERBY <n>` (RFC 2852 section 4).
    pub(super) deliver_by_min: Option<u64>,
    /// The max-future-release-interval of an advertised `FUTURERELEASE` (RFC 4865
    /// section 3), if it is a number (no limit otherwise).
    pub(super) hold_for_max: Option<u64>,
    /// Its max-future-release-date-time as a UTC instant, if it is a valid date-time (no
    /// limit otherwise).
    pub(super) hold_until_max: Option<(i64, u32)>,
}

impl SessionLimits {
    pub(super) fn new(config: &ServerConfig) -> SessionLimits {
        let x = &config.extensions;
        let advertised = x.extra.iter().find_map(|c| match c {
            Capability::Limits(pairs) => Some(Limits::from_pairs(pairs)),
            _ => None,
        });
        // `FUTURERELEASE <max-future-release-interval> <max-future-release-date-time>`
        let release = x.extra.iter().find_map(|c| match c {
            Capability::FutureRelease(p) => p.trim().split_once(' '),
            _ => None,
        });
        let release = release.map(|(interval, date)| (interval, date.trim()));
        let advertised = advertised.unwrap_or_default();
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        // An advertised `0` is no limit of its own, as the client reads it (RFC 9422
        // section 4: a limit is what the client can use; zero transactions or recipients
        // is nothing to conform to): the configured limit applies.
        let nonzero = |v: Option<u64>| v.filter(|&n| n > 0);
        SessionLimits {
            recipients: nonzero(advertised.rcpt_max).map_or(config.limits.max_recipients, size),
            transactions: nonzero(advertised.mail_max)
                .map_or(config.limits.max_transactions, |n| {
                    u32::try_from(n).unwrap_or(u32::MAX)
                }),
            recipient_domains: nonzero(advertised.rcpt_domain_max).map(size),
            deliver_by_min: x.extra.iter().find_map(|c| match c {
                Capability::DeliverBy(n) => *n,
                _ => None,
            }),
            hold_for_max: release.and_then(|(interval, _)| interval.parse().ok()),
            hold_until_max: release
                .and_then(|(_, date)| crate::syntax::param::date_time_utc(date.as_bytes())),
        }
    }
}

/// The longest command line of each verb a session with `config` takes
/// ([`CommandLineLimits::for_line`]): the command line limit; MAIL and RCPT lines longer by
/// the room the parameters of each offered extension need (RFC 5321 4.5.3.1.4: "SMTP
/// extensions may be used to increase this limit"; the amounts are in
/// [`crate::limits::param_allowance`]); AUTH and X-EXPS lines as long as SASL lines where
/// offered (RFC 4954 section 4); X-LINK2STATE lines of 1,024 octets where offered
/// (KB 812455). A MAIL with `SIZE=`, `AUTH=` and a 250-octet address is longer than 512
/// octets and valid.
pub(super) fn command_line_limits(config: &ServerConfig) -> CommandLineLimits {
    let x = &config.extensions;
    let e = &config.exchange;
    let extra = |kw: &str| x.extra.iter().any(|c| c.keyword().eq_ignore_ascii_case(kw));
    let params = ParamExtensions {
        size: x.size || extra("SIZE"),
        body: x.eight_bit_mime || x.smtputf8 || x.binary_mime,
        auth: !config.auth.mechanisms.is_empty(),
        smtputf8: x.smtputf8,
        dsn: x.dsn,
        requiretls: x.requiretls,
        mt_priority: extra("MT-PRIORITY"),
        deliver_by: extra("DELIVERBY"),
        future_release: extra("FUTURERELEASE"),
        exchange_mail: e.xshadow
            || e.xshadowrequest
            || !e.exps_mechanisms.is_empty()
            || param_allowance::EXCHANGE_MAIL_KEYWORDS
                .iter()
                .any(|kw| extra(kw)),
        exchange_rcpt: e.xrdst,
    };
    let l = &config.limits;
    CommandLineLimits {
        auth: (!config.auth.mechanisms.is_empty()).then(|| l.sasl_line()),
        exps: (!e.exps_mechanisms.is_empty()).then(|| super::exchange::exps_line_limit(config)),
        link2state: e.link2state,
        ..CommandLineLimits::new(l.command_line(), params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Mechanism;

    /// The MAIL and RCPT line limits SECURITY.md states: 512 octets plus the allowances of
    /// what is offered (RFC 5321 4.5.3.1.4): by default (SIZE, 8BITMIME, DSN) 870 and
    /// 2,055 octets, `NOTIFY=` and `ORCPT=` alone 1,543 (a 500-character address,
    /// xtext-encoded); with every extension on 2,495 and 3,079.
    #[test]
    fn mail_and_rcpt_lines_as_documented() {
        assert_eq!(param_allowance::AUTH, 500);
        assert_eq!(param_allowance::DSN_RCPT, 1_543);
        let l = command_line_limits(&ServerConfig::new("mx.example.test"));
        assert_eq!((l.command, l.mail, l.rcpt), (512, 870, 2_055));

        let mut c = ServerConfig::new("mx.example.test");
        let x = &mut c.extensions;
        (x.smtputf8, x.requiretls) = (true, true);
        for kw in ["MT-PRIORITY", "DELIVERBY", "FUTURERELEASE"] {
            x.extra.push(Capability::parse(kw));
        }
        c.auth.mechanisms = vec![Mechanism::new("PLAIN")];
        (c.exchange.xshadow, c.exchange.xrdst) = (true, true);
        let l = command_line_limits(&c);
        assert_eq!((l.command, l.mail, l.rcpt), (512, 2_495, 3_079));
        assert_eq!(
            l,
            CommandLineLimits {
                auth: l.auth,
                ..CommandLineLimits::new(512, ParamExtensions::ALL)
            }
        );
    }
}
