//! Helpers for the real-peer tests: find the example binaries and the third-party peers,
//! start processes on free loopback ports with timeouts (killed on drop), read a Maildir.
#![allow(dead_code)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Default limit for one peer process.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// A binary built from `examples/` (`cargo test` builds them next to the test binaries).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test` (which builds the examples)",
        path.display()
    );
    path
}

/// A peer program on `PATH` or in `/usr/sbin`, `/usr/bin`.
pub fn find_peer(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Whether Python 3 with `aiosmtpd` (for some tests) is there.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let py = find_peer("python3")?;
    let ok = Command::new(&py)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?
        .success();
    ok.then_some(py)
}

/// Returns the peer's path, or prints why the test is skipped and returns from it.
#[macro_export]
macro_rules! require_peer {
    ($name:expr) => {
        match $crate::peer_support::find_peer($name) {
            Some(p) => p,
            None => {
                eprintln!("SKIPPED: {} is not installed ({})", $name, module_path!());
                println!("SKIPPED: {} is not installed", $name);
                return;
            }
        }
    };
}

/// Python 3 with a module, or skip.
#[macro_export]
macro_rules! require_python {
    ($module:expr) => {
        match $crate::peer_support::python_with($module) {
            Some(p) => p,
            None => {
                eprintln!("SKIPPED: python3 with {} is not installed", $module);
                println!("SKIPPED: python3 with {} is not installed", $module);
                return;
            }
        }
    };
}

/// A free TCP port on 127.0.0.1 (bind port 0, read it, release it), never one this test
/// process handed out before: the tests of a binary run in parallel, and the kernel may
/// give a port just released to the next `bind(0)`, so two servers started at once could
/// otherwise be told the same port (one test then talks to the other's server).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local_addr").port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Waits until something accepts on `addr` (or `child` exited, or 15 s passed).
pub fn wait_listening(addr: SocketAddr, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "process exited ({status}) before listening on {addr}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "nothing listens on {addr} after 15 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed (and reaped) on drop.
pub struct Guard {
    pub child: Child,
    pub log: PathBuf,
}

impl Guard {
    /// The process's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` with stdout and stderr to `log`, then waits until `addr` accepts.
pub fn start_listening(mut cmd: Command, addr: SocketAddr, log: PathBuf) -> Guard {
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut guard = Guard { child, log };
    wait_listening(addr, &mut guard.child, &guard.log.clone());
    guard
}

/// The example server with its own Maildir in a temporary directory.
pub struct ExampleServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub guard: Guard,
}

impl ExampleServer {
    /// Starts `smtp-server --listen 127.0.0.1:<free> --maildir <tmp>/maildir
    /// --hostname mx.test <extra>`.
    pub fn start(extra: &[&str]) -> ExampleServer {
        ExampleServer::start_example("smtp-server", extra)
    }

    /// [`ExampleServer::start`] with another server example (`blocking`, `event-loop`).
    pub fn start_example(name: &str, extra: &[&str]) -> ExampleServer {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        ExampleServer::start_at(name, addr, extra)
    }

    /// [`ExampleServer::start_example`] listening on `addr`.
    pub fn start_at(name: &str, addr: SocketAddr, extra: &[&str]) -> ExampleServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(example(name));
        cmd.arg("--listen")
            .arg(addr.to_string())
            .arg("--maildir")
            .arg(dir.path().join("maildir"))
            .args(["--hostname", "mx.test"])
            .args(extra)
            .env("RUST_LOG", "info");
        let guard = start_listening(cmd, addr, dir.path().join("server.log"));
        ExampleServer { addr, dir, guard }
    }

    /// `new/` of the Maildir.
    pub fn new_dir(&self) -> PathBuf {
        self.dir.path().join("maildir").join("new")
    }

    /// The stored messages (file contents), sorted by file name.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        read_messages(&self.new_dir())
    }

    /// Exactly one message and the delivery report it asked for (RFC 3461, stored by the
    /// examples in the same Maildir) are stored; returns the report.
    pub fn delivery_report(&self) -> String {
        let messages = self.messages();
        assert_eq!(messages.len(), 2, "{}", self.guard.log());
        messages
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .find(|m| m.starts_with("Return-Path: <>\r\n"))
            .expect("a delivery report")
    }

    /// Exactly one message is stored; returns it.
    pub fn only_message(&self) -> Vec<u8> {
        let mut m = self.messages();
        assert_eq!(
            m.len(),
            1,
            "expected one message; server log:\n{}",
            self.guard.log()
        );
        m.remove(0)
    }

    /// Files left in `tmp/` (none after a clean run).
    pub fn tmp_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("maildir").join("tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// A file in the temporary directory with these contents.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).expect("write");
        p
    }
}

/// All files in a directory, sorted by name.
pub fn read_messages(dir: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(d) => d.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read(p).expect("read message"))
        .collect()
}

/// A stored message split into the trace headers the server prepended and the rest.
#[derive(Debug)]
pub struct Stored<'a> {
    /// `Return-Path:` value, e.g. `<a@example.test>`.
    pub return_path: String,
    /// The `Received:` header, unfolded.
    pub received: String,
    /// Everything after the two trace headers: what the client sent.
    pub content: &'a [u8],
}

/// Splits off `Return-Path` and `Received` (with its continuation lines).
pub fn split_trace(msg: &[u8]) -> Stored<'_> {
    let line_end = |from: usize| -> usize {
        let rel = msg[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("CRLF-terminated trace header");
        from + rel + 2
    };
    assert!(msg.starts_with(b"Return-Path: "), "no Return-Path first");
    let e1 = line_end(0);
    let return_path = String::from_utf8_lossy(&msg[13..e1 - 2]).into_owned();
    assert!(msg[e1..].starts_with(b"Received: "), "no Received second");
    let mut end = line_end(e1);
    while matches!(msg.get(end), Some(b' ' | b'\t')) {
        end = line_end(end);
    }
    let received = String::from_utf8_lossy(&msg[e1..end])
        .replace("\r\n", "")
        .replace('\t', " ");
    Stored {
        return_path,
        received,
        content: &msg[end..],
    }
}

/// What a finished peer process did.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!(
            "status: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    /// Asserts success.
    pub fn ok(self) -> Output {
        assert!(self.status.success(), "peer failed:\n{}", self.all());
        self
    }
}

/// Runs `cmd` to completion with `stdin` as input, killing it after `timeout`.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&data);
        });
    }
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let stdout =
                    String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
                let stderr =
                    String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
                panic!("{cmd:?} timed out after {timeout:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("wait: {e}"),
        }
    };
    Output {
        status,
        stdout: String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned(),
    }
}

/// Deterministic pseudo-random bytes (xorshift), for large test bodies.
pub fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// A self-signed certificate for `host` and its key, written as PEM to
/// `dir/<name>.pem` and `dir/<name>-key.pem`; returns both paths as text for
/// command lines (the certificate is also the CA file that trusts it).
pub fn self_signed_pem(dir: &Path, name: &str, host: &str) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec![host.to_string()]).expect("certificate");
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&cert, ck.cert.pem()).expect("write certificate");
    std::fs::write(&key, ck.key_pair.serialize_pem()).expect("write key");
    (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}
