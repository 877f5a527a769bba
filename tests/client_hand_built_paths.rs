//! The envelope's paths are public types a caller may build by hand, from text it did not
//! check. The client sends a path only when the line it writes reads back as that same
//! path: any valid path goes out as it is, and one whose text would end the path early
//! and add parameters (RFC 5321 4.1.2) fails the message before anything is sent.

mod client_support;
mod command_strategies;

use client_support::*;
use command_strategies::*;
use ehlo::client::{Envelope, Event, MessageError};
use ehlo::syntax::path::{Domain, ForwardPath, Host, LocalPart, Mailbox, ReversePath};
use proptest::prelude::*;
use std::borrow::Cow;

fn result(t: &mut T) -> Option<Result<(), MessageError>> {
    t.events().into_iter().find_map(|e| match e {
        Event::MessageResult { result, .. } => Some(result.map(|_| ())),
        _ => None,
    })
}

fn hand_built(local: &str, domain: &str) -> Mailbox<'static> {
    Mailbox {
        local_part: LocalPart::DotString(Cow::Owned(local.to_owned())),
        host: Host::Domain(
            Domain::parse(domain, &Default::default())
                .unwrap()
                .into_owned(),
        ),
    }
}

#[test]
fn a_path_that_would_add_parameters_is_refused_before_sending() {
    for (local, on_rcpt) in [
        ("a> NOTIFY=NEVER <b", true),
        ("a> SIZE=1 <b", false),
        ("a@evil.test> ORCPT=rfc822;x <b", true),
        ("a b", false),
        ("", true),
        ("a..b", false),
    ] {
        let mut e = Envelope::new("a@example.test")
            .unwrap()
            .recipient("b@example.test")
            .unwrap();
        if on_rcpt {
            e.recipients[0].path = ForwardPath::Mailbox(hand_built(local, "example.test"));
        } else {
            e.from = ReversePath::Mailbox(hand_built(local, "example.test"));
        }
        let mut t = T::plain();
        t.hello(&["PIPELINING", "DSN", "SIZE 1000"]);
        t.c.send(e, "x\r\n").unwrap();
        assert_eq!(t.sent(), "", "{local:?}");
        assert_eq!(
            result(&mut t),
            Some(Err(MessageError::InvalidEnvelope)),
            "{local:?}"
        );
    }
}

proptest! {
    /// Every valid path, however it was built, goes out as its canonical text.
    #[test]
    fn any_valid_path_is_sent_as_it_is(from in reverse_path(), to in forward_path(), utf8_to in utf8_mailbox()) {
        let mut e = Envelope::new("a@example.test").unwrap().recipient("b@example.test").unwrap().recipient("c@example.test").unwrap();
        e.from = from.clone();
        e.recipients[0].path = to.clone();
        e.recipients[1].path = ForwardPath::Mailbox(utf8_to.clone());
        let mut t = T::plain();
        t.hello(&["PIPELINING", "SMTPUTF8", "8BITMIME"]);
        t.c.send(e, "x\r\n").unwrap();
        let sent = t.sent();
        // SMTPUTF8 exactly when some address is not ASCII (RFC 6531 3.4).
        let non_ascii = !(from.to_string() + &to.to_string() + &utf8_to.to_string()).is_ascii();
        let expected = format!(
            "MAIL FROM:{from}{}\r\nRCPT TO:{to}\r\nRCPT TO:<{utf8_to}>\r\nDATA\r\n",
            if non_ascii { " SMTPUTF8" } else { "" }
        );
        prop_assert_eq!(sent, expected);
        prop_assert_eq!(result(&mut t), None, "no result yet: the message is on its way");
    }
}
