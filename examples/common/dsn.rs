//! Success notifications (RFC 3461 DSN, in the RFC 3464 format): when a recipient asked
//! for `NOTIFY=SUCCESS`, the server that makes the final delivery must report it to the
//! reverse-path (RFC 3461 section 5.2.2 / 6.2: a "delivered" DSN).
//!
//! The example servers treat every address as a mailbox of their one Maildir, the
//! sender's included, so the report is delivered there too, next to the message, as a
//! `multipart/report` (RFC 6522) with three parts: a line for people, the
//! `message/delivery-status` fields, and the headers of the delivered message
//! (`text/rfc822-headers`). `RET=FULL` only asks for the content in a *failed* DSN
//! (RFC 3461 section 4.3), and nothing fails here after the `250`, so a success report
//! returns the headers whatever RET said. Under SMTPUTF8 the report uses the RFC 6533
//! types (`message/global-delivery-status`, `message/global-headers`, `utf-8` addresses).
//!
//! No report is made for a null reverse-path (RFC 5321 section 6.1: notifications are
//! never sent to `<>`), nor for recipients without `NOTIFY=SUCCESS`.

use super::maildir::write_rfc5322_date;
use ehlo::syntax::param::{Notify, Orcpt};
use ehlo::syntax::xtext::XText;
use std::time::SystemTime;

/// The most of the message's header section a report returns (the rest of a longer
/// header section is cut at a line end).
pub const HEADER_LIMIT: usize = 64 * 1024;

/// What a transaction asked to be told.
#[derive(Debug, Default)]
pub struct Request {
    /// The reverse-path is `<>`.
    null_sender: bool,
    /// `ENVID=`, as the client wrote it (xtext).
    pub envid: Option<String>,
    /// The recipients that asked for `NOTIFY=SUCCESS`.
    pub recipients: Vec<Recipient>,
    /// The transaction used SMTPUTF8.
    pub utf8: bool,
    /// The start of the message, up to the end of its header section.
    headers: Vec<u8>,
    /// The blank line that ends the header section was seen (or the limit reached).
    headers_done: bool,
}

/// One recipient to report on.
#[derive(Debug)]
pub struct Recipient {
    /// The forward-path without its brackets.
    pub address: String,
    /// `ORCPT=`: the address type and the address as the client wrote it (xtext).
    pub original: Option<(String, String)>,
}

impl Request {
    /// Starts a transaction from `sender` (`<>` or `<a@b>`, as displayed). Allocates
    /// nothing unless there is an ENVID: this runs for every MAIL.
    pub fn new(sender: &str, envid: Option<&XText<'_>>, utf8: bool) -> Request {
        Request {
            null_sender: strip_brackets(sender).is_empty(),
            envid: envid.map(|e| e.as_str().to_string()),
            utf8,
            ..Request::default()
        }
    }

    /// Records a recipient the server accepted, if it asked for a success report.
    pub fn recipient(&mut self, to: &str, notify: Option<Notify>, orcpt: Option<&Orcpt<'_>>) {
        if self.null_sender || !notify.is_some_and(|n| n.success) {
            return;
        }
        self.recipients.push(Recipient {
            address: strip_brackets(to).to_string(),
            original: orcpt.map(|o| (o.addr_type.to_string(), o.addr.as_str().to_string())),
        });
    }

    /// Whether a report will be made (and so whether the content's headers are kept).
    pub fn wanted(&self) -> bool {
        !self.recipients.is_empty()
    }

    /// Keeps message content until the header section is complete.
    pub fn content(&mut self, chunk: &[u8]) {
        if self.headers_done || !self.wanted() {
            return;
        }
        // Look for CRLF CRLF from three octets before the new chunk on.
        let from = self.headers.len().saturating_sub(3);
        let room = HEADER_LIMIT - self.headers.len();
        self.headers
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
        if self.headers.starts_with(b"\r\n") {
            // No header section at all.
            self.headers.clear();
            self.headers_done = true;
        } else if let Some(i) = find(&self.headers[from..], b"\r\n\r\n") {
            self.headers.truncate(from + i + 2);
            self.headers_done = true;
        } else if self.headers.len() == HEADER_LIMIT {
            let end = self
                .headers
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            self.headers.truncate(end);
            self.headers_done = true;
        }
    }

    /// The report, as a message for the mailbox of `sender` (the reverse-path given to
    /// [`Request::new`]): `id` is a unique token for its `Message-ID` and MIME boundary,
    /// `host` the reporting MTA, `arrival` when the message was received.
    pub fn report(
        &self,
        sender: &str,
        id: &str,
        host: &str,
        arrival: SystemTime,
        now: SystemTime,
    ) -> Vec<u8> {
        let mut headers = self.headers.as_slice();
        if !self.headers_done {
            // A message without a blank line is all header section; a cut one ends at a
            // line end.
            let end = headers
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            headers = &headers[..end];
        }
        // RFC 2046 section 5.1.1: a boundary of `bchars`; `id` comes from a file name.
        let mut boundary: String = ["=_", id].concat();
        boundary.retain(|c| c.is_ascii_alphanumeric() || "=_.-".contains(c));
        while find(headers, boundary.as_bytes()).is_some() {
            boundary.push('_');
        }
        let eight_bit = headers.iter().any(|&b| b >= 0x80);
        let (status_type, headers_type, addr_type) = if self.utf8 {
            (
                "message/global-delivery-status",
                "message/global-headers",
                "utf-8",
            )
        } else {
            ("message/delivery-status", "text/rfc822-headers", "rfc822")
        };
        let mut m = Vec::with_capacity(1024 + headers.len());
        let mut line = |parts: &[&str]| {
            for p in parts {
                m.extend_from_slice(p.as_bytes());
            }
            m.extend_from_slice(b"\r\n");
        };
        line(&["Return-Path: <>"]);
        line(&["From: Mail Delivery System <MAILER-DAEMON@", host, ">"]);
        line(&["To: <", strip_brackets(sender), ">"]);
        line(&["Subject: Delivery Status Notification (Success)"]);
        line(&["Message-ID: <", id, "@", host, ">"]);
        // RFC 3834 section 5: no automatic answer to this one.
        line(&["Auto-Submitted: auto-replied"]);
        line(&["MIME-Version: 1.0"]);
        line(&["Content-Type: multipart/report; report-type=delivery-status;"]);
        line(&["\tboundary=\"", &boundary, "\""]);
        if eight_bit && !self.utf8 {
            // RFC 2045 6.4: a multipart holding an 8bit part is 8bit itself.
            line(&["Content-Transfer-Encoding: 8bit"]);
        }
        let mut date = Vec::with_capacity(32);
        write_rfc5322_date(&mut date, now);
        let date = String::from_utf8_lossy(&date).into_owned();
        let mut arrival_date = Vec::with_capacity(32);
        write_rfc5322_date(&mut arrival_date, arrival);
        let arrival_date = String::from_utf8_lossy(&arrival_date).into_owned();
        line(&["Date: ", &date]);
        line(&[]);
        line(&["This is a delivery status notification in MIME format (RFC 3464)."]);
        line(&[]);
        line(&["--", &boundary]);
        let charset = if self.utf8 { "utf-8" } else { "us-ascii" };
        line(&["Content-Type: text/plain; charset=", charset]);
        line(&[]);
        line(&["Your message was delivered to the following recipients:"]);
        line(&[]);
        for r in &self.recipients {
            line(&["  <", &r.address, ">"]);
        }
        line(&[]);
        line(&["--", &boundary]);
        line(&["Content-Type: ", status_type]);
        line(&[]);
        // RFC 3464 section 2.2: the per-message fields.
        line(&["Reporting-MTA: dns; ", host]);
        if let Some(envid) = &self.envid {
            // RFC 3461 section 6.3: the ENVID, decoded from xtext.
            line(&["Original-Envelope-Id: ", &printable(envid, self.utf8)]);
        }
        line(&["Arrival-Date: ", &arrival_date]);
        // RFC 3464 section 2.3: a block of fields per recipient.
        for r in &self.recipients {
            line(&[]);
            if let Some((kind, addr)) = &r.original {
                line(&[
                    "Original-Recipient: ",
                    kind,
                    "; ",
                    &printable(addr, self.utf8),
                ]);
            }
            line(&["Final-Recipient: ", addr_type, "; ", &r.address]);
            line(&["Action: delivered"]);
            line(&["Status: 2.0.0"]);
        }
        line(&[]);
        line(&["--", &boundary]);
        line(&["Content-Type: ", headers_type]);
        if eight_bit && !self.utf8 {
            line(&["Content-Transfer-Encoding: 8bit"]);
        }
        line(&[]);
        m.extend_from_slice(headers);
        m.extend_from_slice(b"\r\n--");
        m.extend_from_slice(boundary.as_bytes());
        m.extend_from_slice(b"--\r\n");
        m
    }
}

/// `<a@b>` -> `a@b`.
fn strip_brackets(path: &str) -> &str {
    path.strip_prefix('<')
        .and_then(|p| p.strip_suffix('>'))
        .unwrap_or(path)
}

/// An xtext value decoded when it decodes to printable text (what RFC 3461 section 6.3
/// asks for), kept encoded otherwise: a field value must not carry a line break or a
/// control character, and xtext never does. Outside SMTPUTF8 (`utf8` false) the fields
/// are US-ASCII (RFC 3464 2.2.1, 2.3.1), so a value that decodes to anything else stays
/// xtext too.
fn printable(xtext: &str, utf8: bool) -> String {
    let x = XText(xtext.into());
    match x.decode() {
        Some(raw) => match std::str::from_utf8(&raw) {
            Ok(s) if !s.chars().any(char::is_control) && (utf8 || s.is_ascii()) => s.to_string(),
            _ => xtext.to_string(),
        },
        None => xtext.to_string(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn notify_success() -> Option<Notify> {
        Some(Notify {
            success: true,
            ..Notify::default()
        })
    }

    #[test]
    fn headers_are_kept_up_to_the_blank_line_across_chunks() {
        let mut r = Request::new("<a@example.test>", None, false);
        r.recipient("<b@example.test>", notify_success(), None);
        for chunk in [
            &b"Subject: x\r"[..],
            b"\n",
            b"\r",
            b"\nbody\r\n\r\nmore\r\n",
        ] {
            r.content(chunk);
        }
        assert_eq!(r.headers, b"Subject: x\r\n");
        assert!(r.headers_done);
    }

    #[test]
    fn nothing_is_kept_without_a_success_recipient_or_for_a_null_sender() {
        let mut r = Request::new("<a@example.test>", None, false);
        r.recipient("<b@example.test>", None, None);
        r.recipient("<c@example.test>", Some(Notify::default()), None);
        r.content(b"Subject: x\r\n\r\n");
        assert!(!r.wanted());
        assert!(r.headers.is_empty());
        let mut r = Request::new("<>", None, false);
        r.recipient("<b@example.test>", notify_success(), None);
        assert!(!r.wanted());
    }

    #[test]
    fn a_long_header_section_is_cut_at_a_line_end() {
        let mut r = Request::new("<a@example.test>", None, false);
        r.recipient("<b@example.test>", notify_success(), None);
        let line = b"X-Filler: 0123456789012345678901234567890123456789\r\n";
        for _ in 0..2000 {
            r.content(line);
        }
        assert!(r.headers_done);
        assert!(r.headers.len() <= HEADER_LIMIT);
        assert!(r.headers.ends_with(b"\r\n"));
        assert_eq!(r.headers.len() % line.len(), 0);
    }

    #[test]
    fn the_report_carries_the_rfc_3464_fields() {
        let envid = XText("QQ+2B314159".into());
        let mut r = Request::new("<a@example.test>", Some(&envid), false);
        let orcpt = Orcpt {
            addr_type: "rfc822".into(),
            addr: XText("b+2Bx@example.test".into()),
        };
        r.recipient("<b@example.test>", notify_success(), Some(&orcpt));
        r.content(b"Subject: hi\r\nX-8: \xc3\xa9\r\n\r\nbody\r\n");
        let at = UNIX_EPOCH + Duration::from_secs(1_764_900_000);
        let report =
            String::from_utf8(r.report("<a@example.test>", "ID1", "mx.example.test", at, at))
                .unwrap();
        for want in [
            "To: <a@example.test>\r\n",
            "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"=_ID1\"\r\n",
            "Reporting-MTA: dns; mx.example.test\r\n",
            "Original-Envelope-Id: QQ+314159\r\n",
            "Original-Recipient: rfc822; b+x@example.test\r\n",
            "Final-Recipient: rfc822; b@example.test\r\nAction: delivered\r\nStatus: 2.0.0\r\n",
            "Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: hi\r\nX-8: é\r\n\r\n--=_ID1--\r\n",
        ] {
            assert!(report.contains(want), "{want:?} in\n{report}");
        }
        assert!(!report.contains("body"));
    }

    #[test]
    fn the_boundary_avoids_the_returned_headers_and_fields_stay_single_lines() {
        let envid = XText("a+0D+0Ab".into());
        let mut r = Request::new("<a@example.test>", Some(&envid), true);
        r.recipient("<ü@example.test>", notify_success(), None);
        r.content(b"X-Trap: =_ID1\r\n\r\n");
        let now = SystemTime::now();
        let report =
            String::from_utf8(r.report("<a@example.test>", "ID1", "mx.example.test", now, now))
                .unwrap();
        assert!(report.contains("boundary=\"=_ID1_\""), "{report}");
        assert!(
            report.contains("Original-Envelope-Id: a+0D+0Ab\r\n"),
            "{report}"
        );
        assert!(report.contains("Content-Type: message/global-delivery-status\r\n"));
        assert!(report.contains("Final-Recipient: utf-8; ü@example.test\r\n"));
        assert!(report.contains("Content-Type: message/global-headers\r\n\r\nX-Trap"));
    }

    #[test]
    fn fields_outside_smtputf8_stay_ascii() {
        let envid = XText("+C3+A9id".into());
        let mut r = Request::new("<a@example.test>", Some(&envid), false);
        let orcpt = Orcpt {
            addr_type: "rfc822".into(),
            addr: XText("+C3+A9@example.test".into()),
        };
        r.recipient("<b@example.test>", notify_success(), Some(&orcpt));
        let now = SystemTime::now();
        let report = r.report("<a@example.test>", "ID2", "mx.example.test", now, now);
        let report = String::from_utf8(report).unwrap();
        assert!(
            report.contains("Original-Envelope-Id: +C3+A9id\r\n"),
            "{report}"
        );
        assert!(report.contains("Original-Recipient: rfc822; +C3+A9@example.test\r\n"));
        assert!(report.is_ascii(), "{report}");
    }
}
