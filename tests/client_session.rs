//! Transcript tests: greeting, EHLO/HELO, STARTTLS, QUIT.
mod client_support;
use client_support::*;
use ehlo::client::*;

#[test]
fn smoke_one_message_pipelined() {
    let mut t = T::plain();
    t.hello(&["PIPELINING", "8BITMIME", "SIZE 1000"]);
    let env = Envelope::new("a@example.test")
        .unwrap()
        .recipient("b@example.test")
        .unwrap();
    let id = t.c.send(env, "Subject: x\r\n\r\n.hi\r\n").unwrap();
    t.expect("MAIL FROM:<a@example.test> SIZE=19\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
    t.server("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
    t.expect("Subject: x\r\n\r\n..hi\r\n.\r\n");
    t.server("250 2.0.0 queued\r\n");
    t.c.quit();
    t.expect("QUIT\r\n");
    t.server("221 bye\r\n");
    let ev = t.events();
    println!("{ev:#?}");
    assert!(ev.iter().any(
        |e| matches!(e, Event::MessageResult { message, result: Ok(_), .. } if *message == id)
    ));
    assert!(matches!(
        ev.last(),
        Some(Event::Closed(CloseReason::Quit(Some(_))))
    ));
}
