//! `Client::send_query`: NOOP, VRFY, EXPN, HELP (RFC 5321 4.1.1.6-4.1.1.9) and ETRN
//! (RFC 1985) between transactions, one at a time, each answered with `QueryReply`.

mod client_support;

mod pair_support;

use client_support::*;
use ehlo::client::{CloseReason, Event, Query, QueryCommandError, QueryError};
use ehlo::syntax::command::ExchangeVerb;
use ehlo::{EnhancedCode, Reply};
use pair_support::pump;

fn replies(ev: &[Event]) -> Vec<(Query, Result<u16, QueryError>)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::QueryReply { query, result } => Some((
                query.clone(),
                result.as_ref().map(|r| r.code.0).map_err(|e| *e),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn each_query_goes_out_alone_and_gets_its_reply() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "ETRN"]);
    t.events();
    t.c.send_query(Query::Noop).unwrap();
    t.c.send_query(Query::Vrfy("postmaster".into())).unwrap();
    t.c.send_query(Query::Expn("staff".into())).unwrap();
    t.c.send_query(Query::Help(None)).unwrap();
    t.c.send_query(Query::Help(Some("MAIL".into()))).unwrap();
    t.c.send_query(Query::Etrn("@example.test".into())).unwrap();
    // Never pipelined, even with PIPELINING: each waits for the reply before it.
    for (line, reply) in [
        ("NOOP\r\n", "250 2.0.0 OK\r\n"),
        ("VRFY postmaster\r\n", "252 2.1.5 Cannot VRFY user\r\n"),
        ("EXPN staff\r\n", "550 5.1.1 Access denied\r\n"),
        ("HELP\r\n", "214-Commands:\r\n214 HELO EHLO MAIL\r\n"),
        ("HELP MAIL\r\n", "214 MAIL FROM:<address>\r\n"),
        ("ETRN @example.test\r\n", "250 Queuing started\r\n"),
    ] {
        assert_eq!(t.sent(), line);
        assert_eq!(t.sent(), "", "one at a time");
        t.server(reply);
    }
    let ev = t.events();
    assert_eq!(
        replies(&ev),
        [
            (Query::Noop, Ok(250)),
            (Query::Vrfy("postmaster".into()), Ok(252)),
            (Query::Expn("staff".into()), Ok(550)),
            (Query::Help(None), Ok(214)),
            (Query::Help(Some("MAIL".into())), Ok(214)),
            (Query::Etrn("@example.test".into()), Ok(250)),
        ]
    );
    // The whole reply comes back, lines and enhanced code included.
    assert!(ev.contains(&Event::QueryReply {
        query: Query::Vrfy("postmaster".into()),
        result: Ok(Reply::new(
            252,
            Some(EnhancedCode::new(2, 1, 5)),
            "Cannot VRFY user"
        )),
    }));
    // The session goes on.
    t.c.quit();
    assert_eq!(t.sent(), "QUIT\r\n");
}

#[test]
fn queries_wait_for_the_session_and_for_a_transaction_in_progress() {
    let mut t = T::plain();
    // Queued before the greeting: it waits for EHLO.
    t.c.send_query(Query::Noop).unwrap();
    t.c.send(env(&["bob@example.test"]), "x\r\n").unwrap();
    t.c.send_query(Query::Vrfy("bob".into())).unwrap();
    t.server("220 mx.example.test ESMTP\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server(&ehlo_reply(&["PIPELINING"]));
    // The queries first, in the order queued, then the message (as Exchange verbs:
    // they go before the next queued message).
    t.expect("NOOP\r\n");
    t.server("250 2.0.0 OK\r\n");
    t.expect("VRFY bob\r\n");
    t.server("252 2.1.5 Cannot verify\r\n");
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
    // Queued while the message is in progress: it waits for the message's end.
    t.c.send_query(Query::Noop).unwrap();
    t.server("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
    t.expect("x\r\n.\r\n");
    t.server("250 2.0.0 queued\r\n");
    t.expect("NOOP\r\n");
    t.server("250 2.0.0 OK\r\n");
    let ev = t.events();
    assert_eq!(
        replies(&ev),
        [
            (Query::Noop, Ok(250)),
            (Query::Vrfy("bob".into()), Ok(252)),
            (Query::Noop, Ok(250))
        ]
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::MessageResult { result: Ok(_), .. })));
}

#[test]
fn queries_and_exchange_verbs_keep_their_order() {
    let mut t = T::plain();
    t.hello(&["XRDST"]);
    t.events();
    t.c.send_query(Query::Noop).unwrap();
    t.c.send_exchange(ExchangeVerb::XRdst, "a").unwrap();
    t.c.send_query(Query::Help(None)).unwrap();
    t.expect("NOOP\r\n");
    t.server("250 OK\r\n");
    t.expect("XRDST a\r\n");
    t.server("250 OK\r\n");
    t.expect("HELP\r\n");
    t.server("214 help\r\n");
    let ev = t.events();
    let order: Vec<&str> = ev
        .iter()
        .filter_map(|e| match e {
            Event::QueryReply { query, .. } => Some(query.verb()),
            Event::ExchangeReply { verb, .. } => Some(verb.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["NOOP", "XRDST", "HELP"]);
}

#[test]
fn etrn_needs_the_keyword() {
    // RFC 1985 section 2: ETRN only to a server that advertised it.
    let mut t = T::plain();
    t.hello(&["PIPELINING"]);
    t.events();
    t.c.send_query(Query::Etrn("example.test".into())).unwrap();
    t.c.send_query(Query::Noop).unwrap();
    t.expect("NOOP\r\n");
    t.server("250 OK\r\n");
    assert_eq!(
        replies(&t.events()),
        [
            (
                Query::Etrn("example.test".into()),
                Err(QueryError::NotAdvertised)
            ),
            (Query::Noop, Ok(250)),
        ]
    );
}

#[test]
fn bad_arguments_are_refused_up_front() {
    let mut t = T::plain();
    t.hello(&[]);
    for (q, e) in [
        (
            Query::Vrfy("a\r\nRCPT TO:<x@y>".into()),
            QueryCommandError::InvalidArgument,
        ),
        (
            Query::Expn("a\0".into()),
            QueryCommandError::InvalidArgument,
        ),
        (
            Query::Help(Some("\x1b[2J".into())),
            QueryCommandError::InvalidArgument,
        ),
        (Query::Vrfy("".into()), QueryCommandError::InvalidArgument),
        (Query::Etrn(" ".into()), QueryCommandError::InvalidArgument),
        (Query::Vrfy("a".repeat(506)), QueryCommandError::LineTooLong),
    ] {
        assert_eq!(t.c.send_query(q), Err(e));
    }
    // 512 octets exactly is fine.
    t.c.send_query(Query::Vrfy("a".repeat(505))).unwrap();
    assert_eq!(t.sent().len(), 512);
    t.c.quit();
    assert_eq!(t.c.send_query(Query::Noop), Err(QueryCommandError::Closed));
}

#[test]
fn a_3xx_to_a_query_is_a_protocol_error() {
    let mut t = T::plain();
    t.hello(&[]);
    t.events();
    t.c.send_query(Query::Noop).unwrap();
    t.expect("NOOP\r\n");
    t.server("354 go ahead\r\n");
    let ev = t.events();
    assert_eq!(
        replies(&ev),
        [(Query::Noop, Err(QueryError::SessionClosed))]
    );
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::Protocol(_)))
    ));
    assert_eq!(t.sent(), "", "nothing after a reply that makes no sense");
}

#[test]
fn a_closing_session_reports_every_query() {
    let mut t = T::plain();
    t.hello(&[]);
    t.events();
    t.c.send_query(Query::Noop).unwrap();
    t.c.send_query(Query::Help(None)).unwrap();
    t.expect("NOOP\r\n");
    // The server shuts down (RFC 5321 3.8).
    t.server("421 4.3.2 Service shutting down\r\n");
    let ev = t.events();
    assert_eq!(
        replies(&ev),
        [
            (Query::Noop, Err(QueryError::SessionClosed)),
            (Query::Help(None), Err(QueryError::SessionClosed)),
        ]
    );
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::ServiceUnavailable(_)))
    ));
}

/// Against the server machine, in memory: every query gets the server's answer.
#[test]
fn queries_against_the_server_machine() {
    use ehlo::client::{Client, ClientConfig, TlsPolicy};
    use ehlo::server::{Decision, Event as SEvent, Server, ServerConfig};
    let now = std::time::Instant::now();
    let mut cc = ClientConfig::new("client.example.test");
    cc.tls = TlsPolicy::Never;
    let mut client = Client::new(cc, now);
    let mut sc = ServerConfig::new("mx.example.test");
    sc.extensions.etrn = true;
    let mut server = Server::new(sc, now);
    for q in [
        Query::Noop,
        Query::Vrfy("bob".into()),
        Query::Expn("staff".into()),
        Query::Help(None),
        Query::Etrn("example.test".into()),
    ] {
        client.send_query(q).unwrap();
    }
    client.quit();
    let mut server_events = Vec::new();
    let client_events = pump(&mut client, &mut server, now, |server, e| {
        if e.needs_decision() {
            server.decide(match &e {
                SEvent::Etrn { .. } => Decision::Reply(Reply::new(250, None, "Queuing started")),
                _ => Decision::Default,
            });
        }
        server_events.push(e);
    });
    let got: Vec<(&str, u16)> = client_events
        .iter()
        .filter_map(|e| match e {
            Event::QueryReply { query, result } => {
                Some((query.verb(), result.as_ref().expect("answered").code.0))
            }
            _ => None,
        })
        .collect();
    // The server's defaults: VRFY 252, EXPN 502 (RFC 5321 3.5.3, 7.3), HELP 214.
    assert_eq!(
        got,
        [
            ("NOOP", 250),
            ("VRFY", 252),
            ("EXPN", 502),
            ("HELP", 214),
            ("ETRN", 250)
        ]
    );
    assert!(server_events
        .iter()
        .any(|e| matches!(e, SEvent::Etrn { .. })));
    assert!(matches!(
        client_events.last(),
        Some(Event::Closed(CloseReason::Quit(Some(_))))
    ));
}

#[test]
fn a_utf8_argument_goes_with_smtputf8_only_to_a_server_that_offers_it() {
    // RFC 6531 3.7.4.2: `VRFY`/`EXPN` String [SP "SMTPUTF8"]; without the extension the
    // commands are ASCII (RFC 5321 2.4), so nothing is sent and the query is answered
    // NotAdvertised.
    let mut t = T::plain();
    t.hello(&["SMTPUTF8"]);
    t.events();
    t.c.send_query(Query::Vrfy("jösé@example.test".into()))
        .unwrap();
    t.expect("VRFY jösé@example.test SMTPUTF8\r\n");
    t.server("250 2.1.5 José <jösé@example.test>\r\n");
    t.c.send_query(Query::Expn("équipe".into())).unwrap();
    t.expect("EXPN équipe SMTPUTF8\r\n");
    t.server("250-<ä@example.test>\r\n250 <ö@example.test>\r\n");
    // An ASCII argument needs no parameter.
    t.c.send_query(Query::Vrfy("bob".into())).unwrap();
    t.expect("VRFY bob\r\n");
    t.server("252 2.1.5 Cannot verify\r\n");
    let ev = t.events();
    assert_eq!(
        replies(&ev),
        [
            (Query::Vrfy("jösé@example.test".into()), Ok(250)),
            (Query::Expn("équipe".into()), Ok(250)),
            (Query::Vrfy("bob".into()), Ok(252)),
        ]
    );
    for caps in [&["PIPELINING"][..], &[]] {
        let mut t = T::plain();
        t.hello(caps);
        t.events();
        t.c.send_query(Query::Vrfy("jösé".into())).unwrap();
        t.c.send_query(Query::Expn("équipe".into())).unwrap();
        t.c.send_query(Query::Noop).unwrap();
        t.expect("NOOP\r\n");
        t.server("250 OK\r\n");
        assert_eq!(
            replies(&t.events()),
            [
                (Query::Vrfy("jösé".into()), Err(QueryError::NotAdvertised)),
                (Query::Expn("équipe".into()), Err(QueryError::NotAdvertised)),
                (Query::Noop, Ok(250)),
            ]
        );
    }
}

#[test]
fn a_utf8_argument_to_a_helo_server_is_not_sent() {
    let mut t = T::plain();
    t.server("220 mx.example.test\r\n");
    t.expect("EHLO client.example.test\r\n");
    t.server("502 5.5.1 Unrecognized command\r\n");
    t.expect("HELO client.example.test\r\n");
    t.server("250 mx.example.test\r\n");
    t.events();
    t.c.send_query(Query::Vrfy("jösé".into())).unwrap();
    t.c.send_query(Query::Vrfy("jose".into())).unwrap();
    t.expect("VRFY jose\r\n");
    t.server("252 Cannot verify\r\n");
    assert_eq!(
        replies(&t.events()),
        [
            (Query::Vrfy("jösé".into()), Err(QueryError::NotAdvertised)),
            (Query::Vrfy("jose".into()), Ok(252)),
        ]
    );
}

#[test]
fn help_and_etrn_take_ascii_only_and_help_no_empty_string() {
    // RFC 5321 2.4: commands are ASCII; RFC 6531 extends only MAIL, RCPT, VRFY and EXPN.
    // RFC 5321 4.1.1.8: `HELP [SP String]`, a String is never empty.
    let mut t = T::plain();
    t.hello(&["SMTPUTF8", "ETRN"]);
    for q in [
        Query::Help(Some("MAİL".into())),
        Query::Etrn("bücher.example".into()),
        Query::Help(Some("".into())),
        Query::Help(Some("  ".into())),
    ] {
        assert_eq!(
            t.c.send_query(q.clone()),
            Err(QueryCommandError::InvalidArgument),
            "{q:?}"
        );
    }
    // The SMTPUTF8 parameter counts in the 512 octets (RFC 5321 4.5.3.1.4).
    let long = format!("é{}", "a".repeat(512 - 2 - 5 - 9 - 2));
    assert_eq!(
        t.c.send_query(Query::Vrfy(format!("{long}a"))),
        Err(QueryCommandError::LineTooLong)
    );
    t.c.send_query(Query::Vrfy(long)).unwrap();
    assert_eq!(t.sent_bytes().len(), 512);
}

#[test]
fn a_query_in_flight_times_out_and_is_reported() {
    // RFC 5321 4.5.3.2: the reply is timed like any other command's (5 minutes); when it
    // never comes the query is answered SessionClosed and the session ends.
    let mut t = T::plain();
    t.hello(&[]);
    t.events();
    t.c.send_query(Query::Expn("staff".into())).unwrap();
    t.c.send_query(Query::Noop).unwrap();
    t.expect("EXPN staff\r\n");
    let deadline = t.c.poll_timeout().expect("a timer runs");
    assert!(deadline >= t.now + std::time::Duration::from_secs(300));
    t.c.handle_timeout(deadline);
    let ev = t.events();
    assert_eq!(
        replies(&ev),
        [
            (Query::Expn("staff".into()), Err(QueryError::SessionClosed)),
            (Query::Noop, Err(QueryError::SessionClosed)),
        ]
    );
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::Timeout(_)))
    ));
}

#[test]
fn nothing_is_pipelined_behind_a_query() {
    // RFC 2920 3.1: NOOP, VRFY, EXPN may only end a pipelined group. A message queued
    // and QUIT asked for while the query is out both wait for its reply.
    let mut t = T::plain();
    t.hello(&["PIPELINING", "CHUNKING"]);
    t.events();
    t.c.send_query(Query::Vrfy("bob".into())).unwrap();
    t.c.send(env(&["bob@example.test"]), "x\r\n").unwrap();
    t.c.quit();
    t.expect("VRFY bob\r\n");
    t.server("252 2.1.5 Cannot verify\r\n");
    t.expect("MAIL FROM:<a@example.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT 3 LAST\r\nx\r\n");
    t.server("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n");
    t.expect("QUIT\r\n");
}

#[test]
fn queries_wait_for_starttls_and_go_by_the_capabilities_after_it() {
    // RFC 3207 4.2: what the server said before TLS is forgotten; ETRN is judged by the
    // EHLO reply after the handshake.
    let mut t = T::plain();
    t.hello(&["STARTTLS", "ETRN"]);
    t.expect("STARTTLS\r\n");
    t.c.send_query(Query::Etrn("example.test".into())).unwrap();
    t.c.send_query(Query::Noop).unwrap();
    t.server("220 2.0.0 Ready\r\n");
    t.expect("");
    t.c.tls_established().unwrap();
    t.expect("EHLO client.example.test\r\n");
    t.server(&ehlo_reply(&["PIPELINING"]));
    t.expect("NOOP\r\n");
    t.server("250 OK\r\n");
    assert_eq!(
        replies(&t.events()),
        [
            (
                Query::Etrn("example.test".into()),
                Err(QueryError::NotAdvertised)
            ),
            (Query::Noop, Ok(250)),
        ]
    );
}

#[test]
fn a_session_that_fails_before_it_is_ready_reports_its_queries() {
    // TLS required and not offered: the client quits (RFC 3207 4), and the queries
    // queued meanwhile were never sent.
    let mut config = ehlo::client::ClientConfig::new("client.example.test");
    config.tls = ehlo::client::TlsPolicy::Required;
    let mut t = T::new(config);
    t.c.send_query(Query::Noop).unwrap();
    t.hello(&[]);
    t.expect("QUIT\r\n");
    assert_eq!(t.c.send_query(Query::Noop), Err(QueryCommandError::Closed));
    t.server("221 Bye\r\n");
    let ev = t.events();
    assert_eq!(
        replies(&ev),
        [(Query::Noop, Err(QueryError::SessionClosed))]
    );
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::TlsUnavailable(_)))
    ));
}
