//! Splitting the server's bytes anywhere changes nothing: same client bytes, same events.
mod client_support;
use client_support::*;
use ehlo::client::*;
use proptest::prelude::*;

/// A session as rounds of server bytes; the client's answer is collected after each round.
const ROUNDS: &[&str] = &[
    "220-mx.example.test ESMTP\r\n220 second line\r\n",
    "250-mx.example.test Hello\r\n250-PIPELINING\r\n250-size 100000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH LOGIN PLAIN\r\n",
    "235 2.7.0 ok\r\n",
    "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n354 go\r\n",
    "250-2.0.0 queued\r\n250 2.0.0 as X\r\n",
    "250 2.1.0 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n",
    "250 2.0.0 reset\r\n",
    "221 2.0.0 bye\r\n",
];

fn session(splits: &[Vec<usize>]) -> (Vec<String>, Vec<Event>) {
    let mut c = ClientConfig::new("client.example.test");
    c.implicit_tls = true;
    c.credentials = Some(Credentials::Password {
        authzid: None,
        username: "u".into(),
        password: "p".into(),
    });
    let mut t = T::new(c);
    let env = Envelope::new("a@example.test")
        .unwrap()
        .recipient("b@example.test")
        .unwrap()
        .recipient("c@example.test")
        .unwrap();
    t.c.send(env.clone(), "caf\u{e9}\r\n.\r\n").unwrap();
    t.c.send(env, "second").unwrap();
    t.c.quit();
    let mut sent = vec![t.sent()];
    for (i, round) in ROUNDS.iter().enumerate() {
        let bytes = round.as_bytes();
        let mut cuts: Vec<usize> = splits
            .get(i)
            .map(|v| v.iter().map(|c| c % (bytes.len() + 1)).collect())
            .unwrap_or_default();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        for w in cuts.windows(2) {
            t.server_bytes(&bytes[w[0]..w[1]]);
        }
        sent.push(t.sent());
    }
    (sent, t.events())
}

proptest! {
    #[test]
    fn any_split_same_transcript(splits in prop::collection::vec(prop::collection::vec(any::<usize>(), 0..6), ROUNDS.len())) {
        let reference = session(&[]);
        prop_assert_eq!(session(&splits), reference);
    }
}

#[test]
fn reference_transcript() {
    let (sent, events) = session(&[]);
    assert_eq!(
        sent,
        [
            "",
            "EHLO client.example.test\r\n",
            "AUTH PLAIN AHUAcA==\r\n",
            "MAIL FROM:<a@example.test> SIZE=10 BODY=8BITMIME\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n",
            "caf\u{e9}\r\n..\r\n.\r\n",
            "MAIL FROM:<a@example.test> SIZE=6\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n",
            "RSET\r\nQUIT\r\n",
            "",
            "",
        ]
    );
    assert!(matches!(
        events.last(),
        Some(Event::Closed(CloseReason::Quit(Some(_))))
    ));
    let results: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            Event::MessageResult { result, .. } => Some(result.is_ok()),
            _ => None,
        })
        .collect();
    assert_eq!(results, [true, false]);
}
