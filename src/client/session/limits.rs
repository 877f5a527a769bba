//! The server's LIMITS (RFC 9422) as the client applies them: no more than `MAILMAX`
//! transactions in a session (section 4.1), no more than `RCPTMAX` recipients (section 4.2)
//! in at most `RCPTDOMAINMAX` domains (section 4.3) in a transaction.

use super::Client;
use crate::syntax::capability::Capabilities;

impl Client {
    /// The limits the current EHLO reply advertises (RFC 9422); none after HELO. After
    /// STARTTLS only the new EHLO reply counts (RFC 3207 section 4.2).
    pub(super) fn limits(&self) -> TxnLimits {
        let advertised = self
            .caps
            .as_ref()
            .filter(|_| self.esmtp)
            .and_then(Capabilities::limits)
            .unwrap_or_default();
        TxnLimits::new(advertised)
    }
}

/// The server's LIMITS (RFC 9422) as the client applies them. `None`: no limit, for a limit
/// not advertised, advertised as `0`, or whose value is not a number (RFC 9422 section 3:
/// a client ignores a limit it cannot understand).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct TxnLimits {
    /// `MAILMAX`: transactions per session (section 4.1).
    pub(super) mail_max: Option<u64>,
    /// `RCPTMAX`: `RCPT` commands per transaction (section 4.2).
    rcpt_max: Option<u64>,
    /// `RCPTDOMAINMAX`: distinct recipient domains per transaction (section 4.3).
    rcpt_domain_max: Option<u64>,
}

impl TxnLimits {
    fn new(l: crate::syntax::capability::Limits) -> TxnLimits {
        let nonzero = |v: Option<u64>| v.filter(|&n| n > 0);
        TxnLimits {
            mail_max: nonzero(l.mail_max),
            rcpt_max: nonzero(l.rcpt_max),
            rcpt_domain_max: nonzero(l.rcpt_domain_max),
        }
    }

    /// Calls `take` with the index of each recipient one transaction sends, in order, and
    /// returns how many there are: each recipient
    /// while fewer than `RCPTMAX` are taken and its domain is one already taken or fewer
    /// than `RCPTDOMAINMAX` domains are (domains compare case-insensitively, a trailing dot
    /// aside; an address literal counts as a domain; `<Postmaster>` has none, RFC 5321
    /// 4.1.1.3). The first recipient is always taken, so every transaction makes progress.
    pub(super) fn batch_with(
        &self,
        recipients: &[crate::client::envelope::Recipient],
        mut take: impl FnMut(usize),
    ) -> usize {
        let rcpt_max = self
            .rcpt_max
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let domain_max = self
            .rcpt_domain_max
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut taken = 0;
        // Only under RCPTDOMAINMAX: the domains taken so far.
        let mut domains: Vec<String> = Vec::new();
        for (i, r) in recipients.iter().enumerate() {
            if taken >= rcpt_max {
                break;
            }
            let domain = if domain_max == usize::MAX {
                None
            } else {
                recipient_domain(&r.path)
            };
            if let Some(domain) = domain {
                if !domains.contains(&domain) {
                    if domains.len() >= domain_max {
                        continue;
                    }
                    domains.push(domain);
                }
            }
            take(i);
            taken += 1;
        }
        taken
    }
}

/// The domain of a recipient for RCPTDOMAINMAX (RFC 9422 section 4.3), compared as the
/// server does: lower-cased (ASCII), without a trailing dot; an address literal as
/// written. `None` for `<Postmaster>`.
fn recipient_domain(path: &crate::syntax::path::ForwardPath<'_>) -> Option<String> {
    use crate::syntax::path::{ForwardPath, Host};
    let ForwardPath::Mailbox(m) = path else {
        return None;
    };
    let mut d = match &m.host {
        Host::Domain(d) => d.0.to_string(),
        Host::Literal(l) => l.to_string(),
    };
    d.make_ascii_lowercase();
    if d.ends_with('.') {
        d.pop();
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::envelope::Envelope;
    use crate::syntax::capability::Limits;

    fn recipients(addrs: &[&str]) -> Vec<crate::client::envelope::Recipient> {
        let mut env = Envelope::new("a@example.test").unwrap();
        for a in addrs {
            env.add_recipient(a).unwrap();
        }
        env.recipients
    }

    impl TxnLimits {
        /// The indices `batch_with` takes.
        fn batch(&self, recipients: &[crate::client::envelope::Recipient]) -> Vec<usize> {
            let mut taken = Vec::new();
            let n = self.batch_with(recipients, |i| taken.push(i));
            assert_eq!(n, taken.len());
            taken
        }
    }

    fn limits(rcpt: Option<u64>, domains: Option<u64>, mail: Option<u64>) -> TxnLimits {
        TxnLimits::new(Limits {
            rcpt_max: rcpt,
            mail_max: mail,
            rcpt_domain_max: domains,
        })
    }

    #[test]
    fn zero_or_absent_is_no_limit() {
        assert_eq!(limits(Some(0), Some(0), Some(0)), TxnLimits::default());
        assert_eq!(limits(None, None, None), TxnLimits::default());
        let r = recipients(&["a@x.test", "b@y.test", "c@z.test"]);
        assert_eq!(TxnLimits::default().batch(&r), [0, 1, 2]);
    }

    #[test]
    fn rcptmax_takes_the_first_ones() {
        let r = recipients(&["a@x.test", "b@x.test", "c@x.test", "d@x.test"]);
        assert_eq!(limits(Some(3), None, None).batch(&r), [0, 1, 2]);
        assert_eq!(limits(Some(1), None, None).batch(&r), [0]);
        assert_eq!(limits(Some(u64::MAX), None, None).batch(&r), [0, 1, 2, 3]);
    }

    #[test]
    fn rcptdomainmax_skips_new_domains_only() {
        let r = recipients(&[
            "a@x.test",
            "b@Y.test",
            "c@z.test",
            "d@X.TEST",
            "e@y.test",
            "postmaster",
            "f@[192.0.2.1]",
        ]);
        // Two domains: x.test and y.test (in any case); z.test and the
        // literal wait; Postmaster has no domain.
        assert_eq!(limits(None, Some(2), None).batch(&r), [0, 1, 3, 4, 5]);
        assert_eq!(limits(None, Some(1), None).batch(&r), [0, 3, 5]);
        // Both limits: RCPTMAX counts the recipients taken.
        assert_eq!(limits(Some(2), Some(2), None).batch(&r), [0, 1]);
        assert_eq!(limits(Some(3), Some(1), None).batch(&r), [0, 3, 5]);
        // A first recipient is always taken.
        let p = recipients(&["postmaster", "a@x.test"]);
        assert_eq!(limits(Some(1), Some(1), None).batch(&p), [0]);
    }
}
