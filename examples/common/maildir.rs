//! A Maildir store (<https://cr.yp.to/proto/maildir.html>): each message is written to
//! `tmp/`, fsynced, renamed into `new/`, and the directory is fsynced, before the server
//! acknowledges it. Small messages are held in memory until their end, so that writing one
//! costs one `open`, one `write` and one `rename`. An acknowledged message therefore survives a crash; a crash
//! before the rename leaves only a file in `tmp/`, which readers ignore.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Messages up to this size stay in memory until they are complete, and are then written
/// with one `open`, one `write` and one `rename` (on whichever thread runs the
/// [`Commit`]). Larger messages spill into their `tmp/` file as they arrive.
const MEMORY_LIMIT: usize = 64 * 1024;

/// One Maildir, shared by every connection.
#[derive(Debug)]
pub struct Maildir {
    dirs: Arc<Dirs>,
    /// The host part of file names, with `/` and `:` replaced (Maildir convention).
    host: String,
    pid: u32,
    counter: AtomicU64,
    fsync: bool,
}

impl Maildir {
    /// Opens (creating if needed) the Maildir at `root`. `fsync`: make every message
    /// durable before it is acknowledged.
    ///
    /// Mail is private: on Unix the directories this creates are `0700` and every message
    /// file `0600` (as Postfix and Dovecot make them), whatever the umask lets through.
    /// Directories that exist already keep their permissions (the operator's choice).
    pub fn open(root: &Path, hostname: &str, fsync: bool) -> io::Result<Maildir> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        for sub in ["tmp", "new", "cur"] {
            builder.create(root.join(sub))?;
        }
        let mut host = String::with_capacity(hostname.len());
        for c in hostname.chars() {
            match c {
                '/' => host.push_str("\\057"),
                ':' => host.push_str("\\072"),
                c => host.push(c),
            }
        }
        Ok(Maildir {
            dirs: Arc::new(Dirs::open(root)?),
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
        let mut name = String::with_capacity(48 + self.host.len());
        push_decimal(&mut name, now.as_secs());
        name.push_str(".M");
        push_decimal(&mut name, u64::from(now.subsec_micros()));
        name.push('P');
        push_decimal(&mut name, u64::from(self.pid));
        name.push('Q');
        push_decimal(&mut name, n);
        name.push('.');
        name.push_str(&self.host);
        name
    }

    /// A good capacity for the buffer given to [`Maildir::begin`].
    pub const INITIAL_BUFFER: usize = 8 * 1024;

    /// Starts a message whose content begins with `headers` (the `Return-Path` and
    /// `Received` lines the server prepends; the rest of the message is appended to this
    /// buffer, so give it some capacity, e.g. [`Maildir::INITIAL_BUFFER`]). `name` comes
    /// from [`Maildir::unique_name`]. Nothing touches the disk until the message outgrows
    /// [`MEMORY_LIMIT`] or is [committed](Commit::run): a transaction aborted early leaves
    /// no trace.
    pub fn begin(&self, name: String, headers: Vec<u8>) -> Delivery {
        Delivery {
            pending: headers,
            file: None,
            dirs: self.dirs.clone(),
            name,
            finished: false,
        }
    }
}

/// Appends `n` in decimal (with `itoa`: `format!` costs several times more, and this runs
/// several times per message).
pub fn push_decimal(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// The paths of `tmp/` and `new/`. Files are created, renamed and removed by path, so an
/// operator who recreates a directory while the server runs (or repairs its permissions)
/// gets working deliveries again at once.
#[derive(Debug)]
struct Dirs {
    tmp: PathBuf,
    new: PathBuf,
    /// Renames into `new/` finished so far (each commit takes a number after its rename).
    renamed: AtomicU64,
    /// Held while `new/` is fsynced; holds how many renames the last fsync covered.
    synced: Mutex<u64>,
}

impl Dirs {
    fn open(root: &Path) -> io::Result<Dirs> {
        Ok(Dirs {
            tmp: root.join("tmp"),
            new: root.join("new"),
            renamed: AtomicU64::new(0),
            synced: Mutex::new(0),
        })
    }

    /// `dir/name`, built in one allocation (`Path::join` copies and then regrows).
    fn path(dir: &Path, name: &str) -> PathBuf {
        let mut p = PathBuf::with_capacity(dir.as_os_str().len() + 1 + name.len());
        p.push(dir);
        p.push(name);
        p
    }

    /// Creates `tmp/<name>`, which must not exist, readable by its owner only.
    fn create(&self, name: &str) -> io::Result<File> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(Dirs::path(&self.tmp, name))
    }

    /// Moves `tmp/<name>` to `new/<name>`.
    fn rename(&self, name: &str) -> io::Result<()> {
        fs::rename(Dirs::path(&self.tmp, name), Dirs::path(&self.new, name))
    }

    fn remove_tmp(&self, name: &str) {
        let _ = fs::remove_file(Dirs::path(&self.tmp, name));
    }

    /// Makes the entries of `new/` durable, including the rename just done by the caller.
    ///
    /// Group commit: one fsync of the directory covers every rename finished before it
    /// started. Commits running at the same time (fsyncs run on a thread pool) queue on
    /// the lock, and each one whose rename an fsync started after has already covered
    /// returns without another.
    fn sync_new(&self) -> io::Result<()> {
        let mine = self.renamed.fetch_add(1, Ordering::SeqCst) + 1;
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if *synced >= mine {
            return Ok(());
        }
        // Every number handed out by now belongs to a rename that is done.
        let covers = self.renamed.load(Ordering::SeqCst);
        File::open(&self.new)?.sync_all()?;
        *synced = covers;
        Ok(())
    }
}

/// Creates `tmp/<name>` (which must not exist) and writes `data` to it.
fn create(dirs: &Dirs, name: &str, data: &[u8]) -> io::Result<File> {
    let mut file = dirs.create(name)?;
    if let Err(e) = file.write_all(data) {
        drop(file);
        dirs.remove_tmp(name);
        return Err(e);
    }
    Ok(file)
}

/// A message being received: in memory while it is small, in its `tmp/` file once it is
/// not. Dropping it without [`Delivery::finish`] (an aborted transaction, a lost
/// connection) removes the file, if there is one.
#[derive(Debug)]
pub struct Delivery {
    /// Content not yet written to `file` (all of it while there is no file).
    pending: Vec<u8>,
    /// The `tmp/` file, once the message outgrew [`MEMORY_LIMIT`].
    file: Option<File>,
    dirs: Arc<Dirs>,
    name: String,
    finished: bool,
}

impl Delivery {
    /// Appends message content.
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        if self.finished {
            return Err(io::Error::other("delivery already finished"));
        }
        self.pending.extend_from_slice(chunk);
        if self.pending.len() >= MEMORY_LIMIT {
            match self.file.as_mut() {
                Some(file) => file.write_all(&self.pending)?,
                None => self.file = Some(create(&self.dirs, &self.name, &self.pending)?),
            }
            self.pending.clear();
        }
        Ok(())
    }

    /// The file name (also the queue id in the `250` reply).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Ends the message; what remains is [`Commit::run`] (write what is still in memory,
    /// fsync, rename), which touches the disk and can run on another thread. `notice`: a
    /// second message (name from [`Maildir::unique_name`], content) that goes into `new/`
    /// with this one, e.g. the delivery report a sender asked for (see `dsn.rs`).
    pub fn finish(mut self, fsync: bool, notice: Option<(String, Vec<u8>)>) -> io::Result<Commit> {
        if self.finished {
            return Err(io::Error::other("delivery already finished"));
        }
        self.finished = true;
        Ok(Commit {
            pending: std::mem::take(&mut self.pending),
            file: self.file.take(),
            dirs: self.dirs.clone(),
            name: std::mem::take(&mut self.name),
            fsync,
            notice,
        })
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            self.dirs.remove_tmp(&self.name);
        }
    }
}

/// The last step of a delivery: write the rest, fsync the file, rename it into `new/`,
/// fsync `new/`.
#[derive(Debug)]
pub struct Commit {
    pending: Vec<u8>,
    file: Option<File>,
    dirs: Arc<Dirs>,
    name: String,
    fsync: bool,
    notice: Option<(String, Vec<u8>)>,
}

/// What [`Commit::run`] stored.
#[derive(Debug)]
pub struct Stored {
    /// The message's file name.
    pub name: String,
    /// The notice's file name, or why it could not be stored (the message is stored
    /// either way).
    pub notice: Option<io::Result<String>>,
}

impl Commit {
    /// Whether [`Commit::run`] will fsync (and so should go to a blocking thread).
    pub fn blocks(&self) -> bool {
        self.fsync
    }

    /// Makes the message durable and visible. Returns its file name. On error the file
    /// in `tmp/` is removed and nothing appears in `new/`.
    ///
    /// A notice is written to `tmp/` (and fsynced) before the message is renamed, and
    /// renamed into `new/` right after it, so one `new/` fsync covers both. If the
    /// notice cannot be written, the message is not stored either (the client gets a
    /// `451` and sends it again: no message is acknowledged without the report its
    /// sender asked for); only a failed rename of the notice, after the message is in
    /// `new/`, loses the notice alone. If the fsync of `new/` fails after the rename, the
    /// message is visible but may not survive a crash: the error goes to the client as a
    /// `451`, which may make it send the message again; a duplicate is the lesser harm
    /// (RFC 5321 6.1).
    pub fn run(mut self) -> io::Result<Stored> {
        // Whether the file in tmp/ is ours (a failed create_new leaves a stranger's alone).
        let mut ours = self.file.is_some();
        let mut notice_ours = false;
        let result = self.run_inner(&mut ours, &mut notice_ours);
        if result.is_err() {
            if ours {
                self.dirs.remove_tmp(&self.name);
            }
            if let (true, Some((name, _))) = (notice_ours, &self.notice) {
                self.dirs.remove_tmp(name);
            }
        }
        let notice = result?;
        Ok(Stored {
            name: std::mem::take(&mut self.name),
            notice,
        })
    }

    fn run_inner(
        &mut self,
        ours: &mut bool,
        notice_ours: &mut bool,
    ) -> io::Result<Option<io::Result<String>>> {
        let file = match self.file.take() {
            Some(mut file) => {
                file.write_all(&self.pending)?;
                file
            }
            None => {
                let file = create(&self.dirs, &self.name, &self.pending)?;
                *ours = true;
                file
            }
        };
        if self.fsync {
            file.sync_all()?;
        }
        drop(file);
        if let Some((name, content)) = &self.notice {
            let notice = create(&self.dirs, name, content)?;
            *notice_ours = true;
            if self.fsync {
                notice.sync_all()?;
            }
        }
        self.dirs.rename(&self.name)?;
        let notice = self.notice.take().map(|(name, _)| {
            self.dirs
                .rename(&name)
                .map(|()| name.clone())
                .inspect_err(|_| {
                    self.dirs.remove_tmp(&name);
                })
        });
        if self.fsync {
            self.dirs.sync_new()?;
        }
        Ok(notice)
    }
}

/// `now` as an RFC 5322 date-time in UTC, e.g. `Wed, 25 Nov 2026 12:03:52 +0000`.
pub fn rfc5322_date(now: SystemTime) -> String {
    let mut out = Vec::with_capacity(32);
    write_rfc5322_date(&mut out, now);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends [`rfc5322_date`] to `out`.
pub fn write_rfc5322_date(out: &mut Vec<u8>, now: SystemTime) {
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
    let two = |out: &mut Vec<u8>, v: u64| {
        out.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8])
    };
    out.extend_from_slice(wd.as_bytes());
    out.extend_from_slice(b", ");
    let mut num = String::new();
    push_decimal(&mut num, day as u64);
    num.push(' ');
    num.push_str(mon);
    num.push(' ');
    if year < 0 {
        num.push('-');
    }
    push_decimal(&mut num, year.unsigned_abs());
    num.push(' ');
    out.extend_from_slice(num.as_bytes());
    two(out, h);
    out.push(b':');
    two(out, m);
    out.push(b':');
    two(out, s);
    out.extend_from_slice(b" +0000");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn small_message_touches_the_disk_only_at_commit() {
        let root = tempfile::tempdir().unwrap();
        let md = Maildir::open(root.path(), "mx/a:b", false).unwrap();
        let name = md.unique_name();
        assert!(name.ends_with(".mx\\057a\\072b"), "{name}");
        let mut d = md.begin(name.clone(), b"Return-Path: <a@b>\r\n".to_vec());
        d.write(b"Subject: hi\r\n\r\n").unwrap();
        d.write(b"body\r\n").unwrap();
        assert!(files(&root.path().join("tmp")).is_empty());
        let commit = d.finish(false, None).unwrap();
        assert!(!commit.blocks());
        let stored = commit.run().unwrap();
        assert_eq!(stored.name, name);
        assert!(stored.notice.is_none());
        assert!(files(&root.path().join("tmp")).is_empty());
        let stored = files(&root.path().join("new"));
        assert_eq!(stored, vec![root.path().join("new").join(&name)]);
        assert_eq!(
            fs::read(&stored[0]).unwrap(),
            b"Return-Path: <a@b>\r\nSubject: hi\r\n\r\nbody\r\n"
        );
    }

    /// The Maildir and the messages (and notices) in it are readable by their owner only,
    /// even under a permissive umask.
    #[cfg(unix)]
    #[test]
    fn mail_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let root = root.path().join("md");
        let md = Maildir::open(&root, "mx", false).unwrap();
        for dir in [
            &root,
            &root.join("tmp"),
            &root.join("new"),
            &root.join("cur"),
        ] {
            assert_eq!(mode(dir) & 0o077, 0, "{}: {:o}", dir.display(), mode(dir));
        }
        let (name, notice) = (md.unique_name(), md.unique_name());
        let mut large = md.begin(name.clone(), b"H: 1\r\n".to_vec());
        large.write(&vec![b'x'; MEMORY_LIMIT + 1]).unwrap();
        let commit = large.finish(false, Some((notice.clone(), b"n\r\n".to_vec())));
        commit.unwrap().run().unwrap();
        let small = md.unique_name();
        md.begin(small.clone(), b"H: 1\r\n".to_vec())
            .finish(false, None)
            .unwrap()
            .run()
            .unwrap();
        for f in [name, notice, small] {
            let path = root.join("new").join(f);
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }

    #[test]
    fn large_message_spills_to_tmp_and_is_renamed() {
        let root = tempfile::tempdir().unwrap();
        let md = Maildir::open(root.path(), "mx", true).unwrap();
        let name = md.unique_name();
        let mut d = md.begin(name.clone(), b"H: 1\r\n".to_vec());
        let chunk: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut expected = b"H: 1\r\n".to_vec();
        for _ in 0..20 {
            d.write(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
        }
        // Past the memory limit the message is in its tmp/ file already.
        assert_eq!(files(&root.path().join("tmp")).len(), 1);
        let commit = d.finish(true, None).unwrap();
        assert!(commit.blocks());
        commit.run().unwrap();
        assert!(files(&root.path().join("tmp")).is_empty());
        assert_eq!(
            fs::read(root.path().join("new").join(&name)).unwrap(),
            expected
        );
    }

    #[test]
    fn concurrent_durable_commits_all_land() {
        let root = tempfile::tempdir().unwrap();
        let md = Arc::new(Maildir::open(root.path(), "mx", true).unwrap());
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let md = md.clone();
                std::thread::spawn(move || {
                    for i in 0..15 {
                        let mut d = md.begin(md.unique_name(), format!("T: {t}\r\n").into_bytes());
                        d.write(format!("n {i}\r\n").as_bytes()).unwrap();
                        d.finish(true, None).unwrap().run().unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(files(&root.path().join("new")).len(), 90);
        assert!(files(&root.path().join("tmp")).is_empty());
        // Every rename was covered by a directory fsync that started after it.
        let dirs = &md.dirs;
        assert_eq!(dirs.renamed.load(Ordering::SeqCst), 90);
        assert_eq!(*dirs.synced.lock().unwrap(), 90);
    }

    #[test]
    fn aborted_deliveries_leave_nothing() {
        let root = tempfile::tempdir().unwrap();
        let md = Maildir::open(root.path(), "mx", false).unwrap();
        let mut small = md.begin(md.unique_name(), b"H: 1\r\n".to_vec());
        small.write(b"x").unwrap();
        drop(small);
        let mut large = md.begin(md.unique_name(), b"H: 1\r\n".to_vec());
        large.write(&vec![b'x'; MEMORY_LIMIT + 1]).unwrap();
        assert_eq!(files(&root.path().join("tmp")).len(), 1);
        drop(large);
        for sub in ["tmp", "new", "cur"] {
            assert!(files(&root.path().join(sub)).is_empty(), "{sub}");
        }
    }

    #[test]
    fn a_name_clash_fails_without_touching_new() {
        let root = tempfile::tempdir().unwrap();
        let md = Maildir::open(root.path(), "mx", false).unwrap();
        fs::write(root.path().join("tmp").join("taken"), b"other").unwrap();
        let d = md.begin("taken".to_string(), b"H: 1\r\n".to_vec());
        assert!(d.finish(false, None).unwrap().run().is_err());
        assert!(files(&root.path().join("new")).is_empty());
        // The file that was there first is left alone.
        assert_eq!(
            fs::read(root.path().join("tmp").join("taken")).unwrap(),
            b"other"
        );
    }

    #[test]
    fn a_notice_lands_with_its_message() {
        for fsync in [false, true] {
            let root = tempfile::tempdir().unwrap();
            let md = Maildir::open(root.path(), "mx", fsync).unwrap();
            let (name, notice) = (md.unique_name(), md.unique_name());
            let mut d = md.begin(name.clone(), b"H: 1\r\n".to_vec());
            d.write(b"x\r\n").unwrap();
            let notice_content = b"Return-Path: <>\r\n\r\nreport\r\n".to_vec();
            let stored = d
                .finish(fsync, Some((notice.clone(), notice_content.clone())))
                .unwrap()
                .run()
                .unwrap();
            assert_eq!(stored.name, name);
            assert_eq!(stored.notice.unwrap().unwrap(), notice);
            let new = root.path().join("new");
            assert_eq!(fs::read(new.join(&name)).unwrap(), b"H: 1\r\nx\r\n");
            assert_eq!(fs::read(new.join(&notice)).unwrap(), notice_content);
            assert!(files(&root.path().join("tmp")).is_empty());
        }
    }

    #[test]
    fn a_notice_that_cannot_be_written_keeps_its_message_out_too() {
        let root = tempfile::tempdir().unwrap();
        let md = Maildir::open(root.path(), "mx", false).unwrap();
        fs::write(root.path().join("tmp").join("taken"), b"other").unwrap();
        let d = md.begin(md.unique_name(), b"H: 1\r\n".to_vec());
        let commit = d.finish(false, Some(("taken".to_string(), b"n".to_vec())));
        assert!(commit.unwrap().run().is_err());
        assert!(files(&root.path().join("new")).is_empty());
        // Only the stranger's file is left in tmp/.
        assert_eq!(
            files(&root.path().join("tmp")),
            vec![root.path().join("tmp").join("taken")]
        );
    }

    #[test]
    fn dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_608_232);
        assert_eq!(rfc5322_date(t), "Wed, 25 Nov 2026 12:03:52 +0000");
        assert_eq!(rfc5322_date(UNIX_EPOCH), "Thu, 1 Jan 1970 00:00:00 +0000");
        let t = UNIX_EPOCH + Duration::from_secs(4_102_444_799);
        assert_eq!(rfc5322_date(t), "Thu, 31 Dec 2099 23:59:59 +0000");
    }

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 99, 100, 4_294_967_295, u64::MAX] {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }
}
