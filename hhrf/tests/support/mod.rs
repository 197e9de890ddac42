//! The harness of hhrf's black-box tests: lays out a temporary `HHRF_ROOT`, starts the real
//! `hhrf` binary on 127.0.0.1 port 0, speaks raw HTTP/1.1 to it over a `TcpStream`, collects
//! its log, and inspects `/proc` for processes it left behind.
//!
//! The binaries and libraries come from the build (`target/debug`); the first test that needs
//! one runs `cargo build --workspace` (a no-op when everything is fresh), so `cargo test` works
//! on a fresh clone.

#![allow(dead_code)]

#[path = "../../../abi/tests/common/workspace_build.rs"]
mod workspace_build;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where cargo put `hhrf`, `fezz-runner` and the function libraries.
pub fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_hhrf"))
        .parent()
        .expect("the hhrf binary has a directory")
        .to_owned()
}

/// A build output of the workspace (`fezz-runner`, a fixture library), built first if needed
/// (`abi/tests/common/workspace_build.rs`).
pub fn built(name: &str) -> PathBuf {
    workspace_build::artifact(name)
}

/// The reference runner.
pub fn runner() -> PathBuf {
    built("fezz-runner")
}

/// The Rust conformance fixture library.
pub fn fixture_library() -> PathBuf {
    built("libfezz_fixture_rust.so")
}

/// The todos example library.
pub fn todos_library() -> PathBuf {
    built("libexample_todosapi.so")
}

/// The workspace root (for the checked-in `functions/` manifests).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("hhrf sits in the workspace")
        .to_owned()
}

/// A temporary `HHRF_ROOT`.
pub struct Root {
    pub dir: tempfile::TempDir,
}

impl Root {
    pub fn new() -> Root {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // Searchable by the unprivileged runner user (hhrf runs as root in CI), so paths
        // relative to a function folder such as `../../data` resolve; not listable.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        std::fs::create_dir(dir.path().join("functions")).unwrap();
        Root { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The folder `functions/<folder>`.
    pub fn folder(&self, folder: &str) -> PathBuf {
        self.path().join("functions").join(folder)
    }

    /// Adds `functions/<folder>/fezz.json` with `manifest`, and links `library` into the
    /// folder as `file_name`.
    pub fn add(&self, folder: &str, manifest: &str, library: &Path, file_name: &str) -> PathBuf {
        let dir = self.folder(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fezz.json"), manifest).unwrap();
        std::os::unix::fs::symlink(library, dir.join(file_name)).unwrap();
        dir
    }

    /// Adds the fixture as `fx@1` with `timeout_ms` and routes `/fx/...` (POST) and
    /// `/echo/...` (any method).
    pub fn add_fixture(&self, timeout_ms: u64) -> PathBuf {
        let manifest = format!(
            r#"{{
  "id": "fx",
  "version": "1",
  "entry": "libfx.so",
  "routes": [{{"path": "/fx/...", "method": "POST"}}, {{"path": "/echo/..."}}],
  "timeout_ms": {timeout_ms},
  "env": {{"FX_MODE": "test"}}
}}"#
        );
        self.add("fx@1", &manifest, &fixture_library(), "libfx.so")
    }

    /// Writes an executable shell script and returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A FEZZ_RUNNER wrapper that appends its pid (= its process group) to `pids`, starts
    /// `extra` (shell, may background a descendant), then execs the real runner.
    pub fn recording_runner(&self, extra: &str) -> PathBuf {
        let pids = self.path().join("pids");
        let runner = runner();
        self.script(
            "recording-runner",
            &format!(
                "echo $$ >> '{}'\n{extra}\nexec '{}' \"$@\"\n",
                pids.display(),
                runner.display()
            ),
        )
    }

    /// The pids the recording runner wrote.
    pub fn recorded_pids(&self) -> Vec<i32> {
        std::fs::read_to_string(self.path().join("pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }
}

/// A running hhrf.
pub struct Hhrf {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Hhrf {
    /// Starts hhrf on `root` with `--listen 127.0.0.1:0` and the given extra environment.
    pub fn start(root: &Root, env: &[(&str, &Path)]) -> Hhrf {
        Self::start_command(Command::new(env!("CARGO_BIN_EXE_hhrf")), root, env)
    }

    /// Starts hhrf through `command` (for example `sh -c 'ulimit …; exec hhrf "$@"'`).
    pub fn start_command(mut command: Command, root: &Root, env: &[(&str, &Path)]) -> Hhrf {
        runner();
        command
            .args(["--listen", "127.0.0.1:0", "--root"])
            .arg(root.path())
            .env_remove("FEZZ_RUNNER")
            .env_remove("HHRF_TIMEOUT_MS")
            // Stop at once on SIGTERM (tests of the drain delay pass their own).
            .env("HHRF_DRAIN_DELAY_MS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("hhrf starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            let mut address_tx = Some(address_tx);
            while reader
                .read_until(b'\n', &mut line)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                let text = String::from_utf8_lossy(&line).into_owned();
                if let Some(rest) = text.trim_end().strip_prefix("hhrf listening on http://") {
                    if let Some(tx) = address_tx.take() {
                        let _ = tx.send(rest.to_owned());
                    }
                }
                sink.lock().unwrap().push_str(&text);
                line.clear();
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "hhrf did not print its address; log:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        Hhrf {
            child,
            addr: address.parse().expect("the printed address parses"),
            log,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything hhrf wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`; returns the log.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                start.elapsed() < timeout,
                "the log never contained {needle:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log line of the request with this id.
    pub fn request_line(&self, request_id: &str) -> String {
        let needle = format!("id={request_id} ");
        let log = self.wait_for_log(&needle, Duration::from_secs(5));
        log.lines()
            .find(|line| line.contains(&needle))
            .unwrap()
            .to_owned()
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect to hhrf");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
    }

    /// Sends raw request bytes on a new connection and reads the response until the server
    /// closes it (requests should say `Connection: close`).
    pub fn raw(&self, request: &[u8]) -> RawResponse {
        let mut stream = self.connect();
        stream.write_all(request).expect("send the request");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).expect("read the response");
        RawResponse::parse(&bytes)
    }

    /// `METHOD target` with no body.
    pub fn send(&self, method: &str, target: &str) -> RawResponse {
        self.raw(
            format!("{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
    }

    pub fn get(&self, target: &str) -> RawResponse {
        self.send("GET", target)
    }

    /// Asserts the server still answers, through the fixture that `Root::add_fixture` deploys
    /// as `fx@1`.
    pub fn assert_still_serving(&self) {
        let response = self.get("/rpc/fx@1/still-there");
        assert_eq!(
            response.status,
            200,
            "the server stopped serving; log:\n{}",
            self.log()
        );
    }

    /// Processes whose parent is hhrf (zombies included).
    pub fn children(&self) -> Vec<i32> {
        processes()
            .into_iter()
            .filter(|process| process.ppid == self.pid())
            .map(|process| process.pid)
            .collect()
    }

    /// Asserts that hhrf has no child process left (polling briefly: reaping is
    /// asynchronous).
    pub fn assert_no_children(&self) {
        let start = Instant::now();
        loop {
            let children = self.children();
            if children.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "hhrf still has children {children:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many file descriptors hhrf has open.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|entries| entries.count())
            .unwrap_or(0)
    }

    /// Asserts that hhrf's descriptor count comes back to `baseline` (polling briefly:
    /// connections close asynchronously).
    pub fn assert_fds_back_to(&self, baseline: usize) {
        let start = Instant::now();
        loop {
            let now = self.open_fds();
            if now <= baseline {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "hhrf has {now} descriptors open, {baseline} before"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to hhrf.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal).unwrap();
    }

    /// Waits for hhrf to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                start.elapsed() < timeout,
                "hhrf did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Hhrf {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that no process is left in process group `pgid` (polling briefly).
pub fn assert_group_gone(pgid: i32) {
    let start = Instant::now();
    loop {
        let members: Vec<i32> = processes()
            .into_iter()
            .filter(|process| process.pgrp == pgid)
            .map(|process| process.pid)
            .collect();
        if members.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "process group {pgid} still has {members:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `path` has at least `count` lines; used to see a runner start.
pub fn wait_for_lines(path: &Path, count: usize, timeout: Duration) {
    let start = Instant::now();
    while std::fs::read_to_string(path).map_or(0, |text| text.lines().count()) < count {
        assert!(
            start.elapsed() < timeout,
            "{} never had {count} lines",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One row of `/proc`.
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
}

/// Every process visible in `/proc`.
pub fn processes() -> Vec<Process> {
    let mut all = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return all;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if let (Some(ppid), Some(pgrp)) = (
            fields.get(1).and_then(|f| f.parse().ok()),
            fields.get(2).and_then(|f| f.parse().ok()),
        ) {
            all.push(Process { pid, ppid, pgrp });
        }
    }
    all
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub raw_head: String,
}

impl RawResponse {
    /// Parses a response read to end of stream (bodies framed by Content-Length or chunked).
    pub fn parse(bytes: &[u8]) -> RawResponse {
        let end = bytes
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(bytes)));
        let head = &bytes[..end];
        let mut body = bytes[end + 4..].to_vec();
        let mut lines = head.split(|byte| *byte == b'\n');
        let status_line = String::from_utf8_lossy(lines.next().unwrap()).into_owned();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, Vec<u8>)> = lines
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter_map(|line| {
                let colon = line.iter().position(|byte| *byte == b':')?;
                let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
                let value = line[colon + 1..].trim_ascii().to_vec();
                Some((name, value))
            })
            .collect();
        let chunked = headers
            .iter()
            .any(|(name, value)| name == "transfer-encoding" && value == b"chunked");
        if chunked {
            body = dechunk(&body);
        }
        RawResponse {
            status,
            headers,
            body,
            raw_head: String::from_utf8_lossy(head).into_owned(),
        }
    }

    /// The first value of header `name` as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(own, _)| own == name)
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
    }

    /// Every value of header `name`, in order, as bytes.
    pub fn all(&self, name: &str) -> Vec<Vec<u8>> {
        self.headers
            .iter()
            .filter(|(own, _)| own == name)
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a JSON error body with `code` whose `request_id` is the `x-request-id`
    /// header; returns the body.
    pub fn assert_error(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(
            self.status,
            status,
            "{}\n{}",
            self.raw_head,
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/json")
        );
        let json = self.json();
        assert_eq!(json["error"]["code"], code, "{json}");
        let id = self
            .header("x-request-id")
            .expect("x-request-id on every response");
        assert_eq!(json["error"]["request_id"], id.as_str(), "{json}");
        json
    }

    pub fn request_id(&self) -> String {
        self.header("x-request-id")
            .expect("x-request-id on every response")
    }
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = bytes.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap().trim(), 16)
                .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&bytes[start..start + size]);
        bytes = &bytes[start + size + 2..];
    }
}

/// `tests/c/<source>` compiled into `output` as a shared library with the tests' strict flags
/// and `extra` (e.g. `-DMODE_HOG`, `-pthread`); panics with the compiler's output on failure.
pub fn compile_c_library(source: &str, output: &Path, extra: &[&str]) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(source);
    let result = Command::new("cc")
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
        ])
        .args(extra)
        .arg("-o")
        .arg(output)
        .arg(&source)
        .output()
        .expect("cc runs (a C compiler is required)");
    assert!(
        result.status.success(),
        "cc failed for {} {extra:?}:\n{}",
        source.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}
