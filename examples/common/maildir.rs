//! A Maildir store (<https://cr.yp.to/proto/maildir.html>): each message is written to
//! `tmp/`, flushed, fsynced, renamed into `new/`, and the directory is fsynced, before the
//! server acknowledges it. An acknowledged message therefore survives a crash; a crash
//! before the rename leaves only a file in `tmp/`, which readers ignore.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Buffer size for message files: large enough that a typical message is one `write`.
const FILE_BUFFER: usize = 64 * 1024;

/// One Maildir, shared by every connection.
#[derive(Debug)]
pub struct Maildir {
    tmp: PathBuf,
    new: PathBuf,
    /// The host part of file names, with `/` and `:` replaced (Maildir convention).
    host: String,
    pid: u32,
    counter: AtomicU64,
    fsync: bool,
}

impl Maildir {
    /// Opens (creating if needed) the Maildir at `root`. `fsync`: make every message
    /// durable before it is acknowledged.
    pub fn open(root: &Path, hostname: &str, fsync: bool) -> io::Result<Maildir> {
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(root.join(sub))?;
        }
        let host = hostname
            .chars()
            .map(|c| match c {
                '/' => "\\057".to_string(),
                ':' => "\\072".to_string(),
                c => c.to_string(),
            })
            .collect();
        Ok(Maildir {
            tmp: root.join("tmp"),
            new: root.join("new"),
            host,
            pid: std::process::id(),
            counter: AtomicU64::new(0),
            fsync,
        })
    }

    /// Whether messages are fsynced.
    pub fn fsync(&self) -> bool {
        self.fsync
    }

    /// A unique file name: `<seconds>.M<microseconds>P<pid>Q<counter>.<host>`. The
    /// counter is per process, so two messages in the same microsecond still differ.
    pub fn unique_name(&self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!(
            "{}.M{}P{}Q{}.{}",
            now.as_secs(),
            now.subsec_micros(),
            self.pid,
            n,
            self.host
        )
    }

    /// Starts a message: creates the file in `tmp/` and writes `headers` (the
    /// `Return-Path` and `Received` lines the server prepends).
    /// `name` comes from [`Maildir::unique_name`].
    pub fn begin(&self, name: String, headers: &[u8]) -> io::Result<Delivery> {
        let tmp = self.tmp.join(&name);
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut writer = BufWriter::with_capacity(FILE_BUFFER, file);
        if let Err(e) = writer.write_all(headers) {
            drop(writer);
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(Delivery {
            writer: Some(writer),
            tmp,
            new: self.new.join(&name),
            name,
            size: headers.len() as u64,
        })
    }
}

/// A message being written to `tmp/`. Dropping it without [`Delivery::finish`] (an
/// aborted transaction, a lost connection) removes the file.
#[derive(Debug)]
pub struct Delivery {
    writer: Option<BufWriter<File>>,
    tmp: PathBuf,
    new: PathBuf,
    name: String,
    size: u64,
}

impl Delivery {
    /// Appends message content (buffered).
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.size += chunk.len() as u64;
        match self.writer.as_mut() {
            Some(w) => w.write_all(chunk),
            None => Err(io::Error::other("delivery already finished")),
        }
    }

    /// The file name (also the queue id in the `250` reply).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Flushes the buffer; what remains is [`Commit::run`] (fsync and rename), which may
    /// block and can run on another thread.
    pub fn finish(mut self, fsync: bool) -> io::Result<Commit> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| io::Error::other("delivery already finished"))?;
        let file = match writer.into_inner() {
            Ok(f) => f,
            Err(e) => return Err(e.into_error()),
        };
        Ok(Commit {
            file: Some(file),
            tmp: std::mem::take(&mut self.tmp),
            new: std::mem::take(&mut self.new),
            name: std::mem::take(&mut self.name),
            fsync,
        })
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The last step of a delivery: fsync the file, rename it into `new/`, fsync `new/`.
#[derive(Debug)]
pub struct Commit {
    file: Option<File>,
    tmp: PathBuf,
    new: PathBuf,
    name: String,
    fsync: bool,
}

impl Commit {
    /// Whether [`Commit::run`] will fsync (and so should go to a blocking thread).
    pub fn blocks(&self) -> bool {
        self.fsync
    }

    /// Makes the message durable and visible. Returns its file name. On error the file
    /// in `tmp/` is removed and nothing appears in `new/`.
    pub fn run(mut self) -> io::Result<String> {
        let result = self.run_inner();
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        result.map(|()| std::mem::take(&mut self.name))
    }

    fn run_inner(&mut self) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("commit already run"))?;
        if self.fsync {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&self.tmp, &self.new)?;
        if self.fsync {
            if let Some(dir) = self.new.parent() {
                File::open(dir)?.sync_all()?;
            }
        }
        Ok(())
    }
}

/// `now` as an RFC 5322 date-time in UTC, e.g. `Wed, 25 Nov 2026 12:03:52 +0000`.
pub fn rfc5322_date(now: SystemTime) -> String {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem / 60) % 60, rem % 60);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = WEEKDAYS[days.rem_euclid(7) as usize];
    let mon = MONTHS[(month - 1) as usize];
    format!("{wd}, {day} {mon} {year} {h:02}:{m:02}:{s:02} +0000")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_608_232);
        assert_eq!(rfc5322_date(t), "Wed, 25 Nov 2026 12:03:52 +0000");
        assert_eq!(rfc5322_date(UNIX_EPOCH), "Thu, 1 Jan 1970 00:00:00 +0000");
    }
}
