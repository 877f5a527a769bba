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
        let (status_type, headers_type, addr_type) = if self.utf8 {
            (
                "message/global-delivery-status",
                "message/global-headers",
                "utf-8",
            )
        } else {
            ("message/delivery-status", "text/rfc822-headers", "rfc822")
        };
        let mut date = Vec::with_capacity(32);
        write_rfc5322_date(&mut date, now);
        let date = String::from_utf8_lossy(&date).into_owned();
        let mut arrival_date = Vec::with_capacity(32);
        write_rfc5322_date(&mut arrival_date, arrival);
        let arrival_date = String::from_utf8_lossy(&arrival_date).into_owned();
        // The bodies of the first two parts, built first: whether a part holds 8-bit
        // octets decides its label (and the multipart's) below.
        let mut text = String::with_capacity(128);
        let mut status = String::with_capacity(256);
        let add = |out: &mut String, parts: &[&str]| {
            for p in parts {
                out.push_str(p);
            }
            out.push_str("\r\n");
        };
        add(
            &mut text,
            &["Your message was delivered to the following recipients:"],
        );
        add(&mut text, &[]);
        for r in &self.recipients {
            add(&mut text, &["  <", &r.address, ">"]);
        }
        // RFC 3464 section 2.2: the per-message fields.
        add(&mut status, &["Reporting-MTA: dns; ", host]);
        if let Some(envid) = &self.envid {
            // RFC 3461 section 6.3: the ENVID, decoded from xtext.
            add(
                &mut status,
                &["Original-Envelope-Id: ", &printable(envid, self.utf8)],
            );
        }
        add(&mut status, &["Arrival-Date: ", &arrival_date]);
        // RFC 3464 section 2.3: a block of fields per recipient.
        for r in &self.recipients {
            add(&mut status, &[]);
            if let Some((kind, addr)) = &r.original {
                add(
                    &mut status,
                    &[
                        "Original-Recipient: ",
                        kind,
                        "; ",
                        &original(kind, addr, self.utf8),
                    ],
                );
            }
            add(
                &mut status,
                &["Final-Recipient: ", addr_type, "; ", &r.address],
            );
            add(&mut status, &["Action: delivered"]);
            add(&mut status, &["Status: 2.0.0"]);
        }
        // RFC 2045 section 6.4: a part holding 8-bit octets is labelled 8bit, and so is a
        // multipart holding such a part; RFC 6533 sections 6.2 and 6.3 ask for the 8bit
        // encoding for the message/global-* types. Outside SMTPUTF8 only the returned
        // headers can hold 8-bit octets.
        let text_8bit = !text.is_ascii();
        let status_8bit = !status.is_ascii();
        let headers_8bit = headers.iter().any(|&b| b >= 0x80);
        // The returned headers are the client's octets: under BINARYMIME (BDAT passes bare
        // CR, bare LF and NUL through) or with a line over 998 octets they are neither 7bit
        // nor 8bit data (RFC 2045 sections 2.7, 2.8), and RFC 2045 section 6.2 allows no
        // label but `binary` for them, on the part and on the multipart (section 6.4).
        let headers_binary = !is_line_data(headers);
        let cte = "Content-Transfer-Encoding: 8bit";
        let cte_binary = "Content-Transfer-Encoding: binary";
        let headers_cte = if headers_binary { cte_binary } else { cte };
        let mut m = Vec::with_capacity(1024 + text.len() + status.len() + headers.len());
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
        // RFC 6522 section 3: the report-type is the subtype of the second part.
        let report_type = &status_type["message/".len()..];
        line(&[
            "Content-Type: multipart/report; report-type=",
            report_type,
            ";",
        ]);
        line(&["\tboundary=\"", &boundary, "\""]);
        if headers_binary {
            line(&[cte_binary]);
        } else if text_8bit || status_8bit || headers_8bit {
            line(&[cte]);
        }
        line(&["Date: ", &date]);
        line(&[]);
        line(&["This is a delivery status notification in MIME format (RFC 3464)."]);
        line(&[]);
        line(&["--", &boundary]);
        let charset = if self.utf8 { "utf-8" } else { "us-ascii" };
        line(&["Content-Type: text/plain; charset=", charset]);
        if text_8bit {
            line(&[cte]);
        }
        line(&[]);
        m.extend_from_slice(text.as_bytes());
        m.extend_from_slice(b"\r\n--");
        m.extend_from_slice(boundary.as_bytes());
        m.extend_from_slice(b"\r\nContent-Type: ");
        m.extend_from_slice(status_type.as_bytes());
        m.extend_from_slice(b"\r\n");
        if status_8bit {
            m.extend_from_slice(cte.as_bytes());
            m.extend_from_slice(b"\r\n");
        }
        m.extend_from_slice(b"\r\n");
        m.extend_from_slice(status.as_bytes());
        m.extend_from_slice(b"\r\n--");
        m.extend_from_slice(boundary.as_bytes());
        m.extend_from_slice(b"\r\nContent-Type: ");
        m.extend_from_slice(headers_type.as_bytes());
        m.extend_from_slice(b"\r\n");
        if headers_8bit || headers_binary {
            m.extend_from_slice(headers_cte.as_bytes());
            m.extend_from_slice(b"\r\n");
        }
        m.extend_from_slice(b"\r\n");
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
///
/// HTAB is printable here: RFC 3461 sections 4.2 and 4.4 allow "graphic and white space"
/// characters in the ORCPT address and the ENVID, and a tab is a field-body character
/// (RFC 5322 section 2.2). Kept encoded, the value would differ from the one the client
/// gave, and a 500-character address could take 1,500 octets, past the 998 a line may
/// hold (RFC 5322 section 2.1.1).
fn printable(xtext: &str, utf8: bool) -> String {
    let x = XText(xtext.into());
    let printable = |c: char| c == '\t' || !c.is_control();
    match x.decode() {
        Some(raw) => match std::str::from_utf8(&raw) {
            Ok(s) if s.chars().all(printable) && (utf8 || s.is_ascii()) => s.to_string(),
            _ => xtext.to_string(),
        },
        None => xtext.to_string(),
    }
}

/// The address of an Original-Recipient field, from the ORCPT the client gave (RFC 3461
/// section 6.3). An address of the `utf-8` type is utf-8-addr-xtext or utf-8-addr-unitext
/// (RFC 6533 section 3: non-ASCII as itself or as `\x{HEXPOINT}`), which a
/// message/global-delivery-status (`utf8`) gives in the utf-8-address form, unescaped,
/// and a message/delivery-status in the ASCII utf-8-addr-xtext form (see
/// [`utf8_addr_xtext`]). Any other type (`rfc822`, ...) is ASCII (RFC 3464 2.3.1), so its
/// xtext is decoded only to ASCII, in a global report too.
fn original(kind: &str, addr: &str, utf8: bool) -> String {
    let utf8_type = kind.eq_ignore_ascii_case("utf-8");
    if utf8_type && !utf8 {
        return utf8_addr_xtext(addr);
    }
    let value = printable(addr, utf8 && utf8_type);
    if utf8 && utf8_type {
        unescape_unicode(&value).unwrap_or(value)
    } else {
        value
    }
}

/// A `utf-8` ORCPT address as RFC 6533 section 3 writes it in a message/delivery-status:
/// utf-8-addr-xtext, `QCHAR` (printable ASCII but `+`, `=` and `\`) and
/// `\x{HEXPOINT}` for anything else. The parser also takes RFC 3461 `+XX` escapes in the
/// `utf-8` type, outside SMTPUTF8 too: they are undone first (as are `\x{...}` escapes),
/// so `+C3+A9` comes out as `\x{E9}`, never as the `+`, which is no QCHAR.
///
/// A 500-octet address can take three times as much in this form, past the 998 octets
/// a line may hold (RFC 5322 section 2.1.1): the field is then continued on further lines
/// before an escape or a QCHAR (RFC 3464 section 2.1.1 lets a notification field be
/// continued like a header field), each line of the address at most [`FOLD_AT`] octets.
/// A space is no QCHAR, so the one each unfolding leaves is never part of the address.
fn utf8_addr_xtext(addr: &str) -> String {
    let decoded = XText(addr.into())
        .decode()
        .and_then(|raw| String::from_utf8(raw.into_owned()).ok())
        .unwrap_or_else(|| addr.to_string());
    let text = unescape_unicode(&decoded).unwrap_or(decoded);
    let mut out = String::with_capacity(text.len() * 2);
    let mut line = 0;
    for c in text.chars() {
        let piece = match c {
            '!'..='~' if !matches!(c, '+' | '=' | '\\') => c.to_string(),
            // HEXPOINT: upper-case hex, at least two digits (`\x{09}`, `\x{20}`).
            c => format!("\\x{{{:02X}}}", u32::from(c)),
        };
        if line + piece.len() > FOLD_AT {
            out.push_str("\r\n ");
            line = 1;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

/// The longest line of an address continued by [`utf8_addr_xtext`]: room for the field
/// name and the address type on the first line, within RFC 5322's 998.
const FOLD_AT: usize = 900;

/// `\x{HEXPOINT}` escapes (RFC 6533 section 3, EmbeddedUnicodeChar) replaced by their
/// characters; `None` if an escape is malformed or names a surrogate, a control character
/// or a value beyond Unicode, so the caller keeps the text as it came.
fn unescape_unicode(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("\\x{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let close = after.find('}')?;
        let hex = &after[..close];
        if hex.is_empty() || hex.len() > 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
        if c.is_control() {
            return None;
        }
        out.push(c);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Whether `data` is line-oriented data as RFC 2045 sections 2.7 and 2.8 define it for
/// 7bit and 8bit: no NUL, CR and LF only as CRLF, lines of at most 998 octets.
fn is_line_data(data: &[u8]) -> bool {
    let mut run = 0;
    for (i, &b) in data.iter().enumerate() {
        match b {
            0 => return false,
            b'\r' if data.get(i + 1) != Some(&b'\n') => return false,
            b'\n' if i == 0 || data[i - 1] != b'\r' => return false,
            b'\r' | b'\n' => run = 0,
            _ => {
                run += 1;
                if run > 998 {
                    return false;
                }
            }
        }
    }
    true
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
        // RFC 6522 section 3: report-type names the second part's subtype (RFC 6533).
        assert!(
            report.contains("multipart/report; report-type=global-delivery-status;"),
            "{report}"
        );
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

    /// RFC 2045 section 6.4 (a multipart holding an 8bit part is 8bit itself) and RFC 6533
    /// sections 6.2 and 6.3 (message/global-delivery-status and message/global-headers
    /// "SHOULD" use the 8bit transfer encoding): under SMTPUTF8 every part that carries
    /// UTF-8, and the multipart around them, is labelled `8bit`; an all-ASCII report
    /// stays unlabelled (7bit).
    #[test]
    fn utf8_parts_are_labelled_8bit() {
        let mut r = Request::new("<a@example.test>", None, true);
        r.recipient("<\u{fc}@example.test>", notify_success(), None);
        r.content(b"Subject: plain\r\n\r\n");
        let now = SystemTime::now();
        let report = r.report("<a@example.test>", "ID3", "mx.example.test", now, now);
        let report = String::from_utf8(report).unwrap();
        let (head, body) = report.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains("\r\nContent-Transfer-Encoding: 8bit"),
            "{report}"
        );
        let parts: Vec<&str> = body.split("--=_ID3").collect();
        // Preamble, three parts, the closing `--`.
        assert_eq!(parts.len(), 5, "{report}");
        let cte = |part: &str| {
            part.split_once("\r\n\r\n")
                .unwrap()
                .0
                .contains("Content-Transfer-Encoding: 8bit")
        };
        assert!(cte(parts[1]), "text part: {report}");
        assert!(cte(parts[2]), "status part: {report}");
        assert!(!cte(parts[3]), "ASCII headers part: {report}");
        // All ASCII under SMTPUTF8: no label anywhere.
        let mut r = Request::new("<a@example.test>", None, true);
        r.recipient("<b@example.test>", notify_success(), None);
        r.content(b"Subject: plain\r\n\r\n");
        let report = r.report("<a@example.test>", "ID4", "mx.example.test", now, now);
        let report = String::from_utf8(report).unwrap();
        assert!(!report.contains("Content-Transfer-Encoding"), "{report}");
    }

    /// RFC 3461 sections 4.2 and 4.4: the ORCPT address and the ENVID are printable
    /// "(graphic and white space)" US-ASCII before xtext encoding, so an HTAB (`+09`) is
    /// part of the value and decodes like any other character: a tab is a field-body
    /// character (RFC 5322 section 2.2). Kept encoded, the value would not be the one the
    /// client gave, and a 500-character address could take 1,500 octets, more than the
    /// 998 a line may hold (RFC 5322 section 2.1.1).
    #[test]
    fn white_space_in_envid_and_orcpt_is_decoded_and_lines_stay_short() {
        let envid = XText("a+09b+20c".into());
        let mut r = Request::new("<a@example.test>", Some(&envid), false);
        let long = ["+09", &"+3D".repeat(490), "@example.test"].concat();
        let orcpt = Orcpt {
            addr_type: "rfc822".into(),
            addr: XText(long.into()),
        };
        r.recipient("<b@example.test>", notify_success(), Some(&orcpt));
        let now = SystemTime::now();
        let report = r.report("<a@example.test>", "ID6", "mx.example.test", now, now);
        let report = String::from_utf8(report).unwrap();
        assert!(
            report.contains("Original-Envelope-Id: a\tb c\r\n"),
            "{report}"
        );
        let want = [
            "Original-Recipient: rfc822; \t",
            &"=".repeat(490),
            "@example.test\r\n",
        ];
        assert!(report.contains(&want.concat()), "{report}");
        assert!(report.split("\r\n").all(|l| l.len() <= 998), "{report}");
    }

    /// RFC 6533 section 3: in a message/delivery-status a `utf-8` address is written as
    /// utf-8-addr-xtext, QCHAR (printable ASCII but `+`, `=` and `\`) and `\x{HEXPOINT}`.
    /// The parser also takes RFC 3461 `+XX` escapes in that type, outside SMTPUTF8 too;
    /// copied as they came, `+C3+A9` is no utf-8-addr-xtext, and 245 of them (a 497-octet
    /// address) made a line of 1,500 octets, past RFC 5322 2.1.1's 998. The address is
    /// written in the RFC 6533 form, continued on further lines when it is that long (RFC
    /// 3464 section 2.1.1: a notification field may be; a space is no QCHAR, so the one
    /// unfolding leaves cannot be taken for part of the address).
    #[test]
    fn utf8_original_recipients_are_utf8_addr_xtext_in_an_ascii_report() {
        let now = SystemTime::now();
        let report = |a: &str| {
            let mut r = Request::new("<a@example.test>", None, false);
            let o = Orcpt {
                addr_type: "utf-8".into(),
                addr: XText(a.to_string().into()),
            };
            r.recipient("<b@example.test>", notify_success(), Some(&o));
            let m = r.report("<a@example.test>", "ID7", "mx.example.test", now, now);
            String::from_utf8(m).unwrap()
        };
        for (a, want) in [
            ("j+C3+B6rg@example.test", "j\\x{F6}rg@example.test"),
            (
                "a+2Bb+3Dc+5Cd+20e@example.test",
                "a\\x{2B}b\\x{3D}c\\x{5C}d\\x{20}e@example.test",
            ),
            ("j\\x{F6}rg@example.test", "j\\x{F6}rg@example.test"),
            ("+E6+BC+A2@example.test", "\\x{6F22}@example.test"),
        ] {
            let m = report(a);
            let want = ["Original-Recipient: utf-8; ", want, "\r\n"].concat();
            assert!(m.contains(&want), "{want:?} in\n{m}");
        }
        let m = report(&["+C3+A9".repeat(245), "@example.test".into()].concat());
        assert!(m.split("\r\n").all(|l| l.len() <= 998), "{m}");
        let (_, field) = m.split_once("Original-Recipient: utf-8; ").unwrap();
        let (field, _) = field.split_once("\r\nFinal-Recipient").unwrap();
        let unfolded = field.replace("\r\n ", "");
        let want = ["\\x{E9}".repeat(245), "@example.test".into()].concat();
        assert_eq!(unfolded, want, "{m}");
    }

    /// RFC 2045 sections 2.7, 2.8 and 6.2: 7bit and 8bit data are lines of at most 998
    /// octets ended by CRLF, without NUL, and data that is not is labelled `binary`; a
    /// multipart holding a binary part is binary itself (section 6.4). A BINARYMIME
    /// message's header section (BDAT passes bare CR, bare LF and NUL through) was
    /// returned under no label at all, that is 7bit.
    #[test]
    fn binary_returned_headers_are_labelled_binary() {
        let now = SystemTime::now();
        for (content, binary) in [
            (&b"Subject: a\rb\r\n\r\n"[..], true),
            (b"Subject: a\nb\r\n\r\n", true),
            (b"Subject: a\x00b\r\n\r\n", true),
            (&[b"X-Long: ", &[b'x'; 991][..], b"\r\n\r\n"].concat(), true),
            (
                &[b"X-Long: ", &[b'x'; 990][..], b"\r\n\r\n"].concat(),
                false,
            ),
            (b"Subject: plain\r\n\r\n", false),
        ] {
            let mut r = Request::new("<a@example.test>", None, false);
            r.recipient("<b@example.test>", notify_success(), None);
            r.content(content);
            let m = r.report("<a@example.test>", "ID8", "mx.example.test", now, now);
            let m = String::from_utf8_lossy(&m);
            let (head, _) = m.split_once("\r\n\r\n").unwrap();
            let part = "Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: binary\r\n";
            assert_eq!(
                head.contains("Content-Transfer-Encoding: binary"),
                binary,
                "{m}"
            );
            assert_eq!(m.contains(part), binary, "{m}");
            assert!(!m.contains("Content-Transfer-Encoding: 8bit"), "{m}");
        }
    }

    /// RFC 6533 section 3: an ORCPT of the `utf-8` type carries the address as
    /// utf-8-addr-xtext or utf-8-addr-unitext (non-ASCII as itself or as `\x{HEXPOINT}`);
    /// in a message/global-delivery-status the Original-Recipient gives it in the
    /// utf-8-address form, unescaped. In a message/delivery-status it stays the ASCII
    /// utf-8-addr-xtext. Other address types (`rfc822`) are ASCII (RFC 3464 2.3.1): an
    /// xtext that decodes to UTF-8 stays encoded, in a global report too.
    #[test]
    fn utf8_original_recipients_are_unescaped_in_a_global_report() {
        let now = SystemTime::now();
        let orcpt = |t: &str, a: &str| Orcpt {
            addr_type: t.to_string().into(),
            addr: XText(a.to_string().into()),
        };
        let report = |utf8: bool, o: &Orcpt<'_>| {
            let mut r = Request::new("<a@example.test>", None, utf8);
            r.recipient("<j\u{f6}rg@example.test>", notify_success(), Some(o));
            let m = r.report("<a@example.test>", "ID5", "mx.example.test", now, now);
            String::from_utf8(m).unwrap()
        };
        for (utf8, t, a, want) in [
            (
                true,
                "utf-8",
                "j\\x{F6}rg@example.test",
                "Original-Recipient: utf-8; j\u{f6}rg@example.test\r\n",
            ),
            (
                true,
                "UTF-8",
                "\\x{6F22}\\x{5b57}@example.test",
                "Original-Recipient: UTF-8; \u{6f22}\u{5b57}@example.test\r\n",
            ),
            (
                true,
                "utf-8",
                "j\u{f6}rg@example.test",
                "Original-Recipient: utf-8; j\u{f6}rg@example.test\r\n",
            ),
            (
                false,
                "utf-8",
                "j\\x{F6}rg@example.test",
                "Original-Recipient: utf-8; j\\x{F6}rg@example.test\r\n",
            ),
            // Not a valid escape (no closing brace, a surrogate, control): kept as is.
            (
                true,
                "utf-8",
                "j\\x{F6rg@example.test",
                "Original-Recipient: utf-8; j\\x{F6rg@example.test\r\n",
            ),
            (
                true,
                "utf-8",
                "\\x{D800}@example.test",
                "Original-Recipient: utf-8; \\x{D800}@example.test\r\n",
            ),
            (
                true,
                "utf-8",
                "\\x{A}@example.test",
                "Original-Recipient: utf-8; \\x{A}@example.test\r\n",
            ),
            (
                true,
                "rfc822",
                "j+C3+B6rg@example.test",
                "Original-Recipient: rfc822; j+C3+B6rg@example.test\r\n",
            ),
            (
                true,
                "rfc822",
                "b+2Bx@example.test",
                "Original-Recipient: rfc822; b+x@example.test\r\n",
            ),
        ] {
            let m = report(utf8, &orcpt(t, a));
            assert!(m.contains(want), "{want:?} in\n{m}");
        }
    }
}
