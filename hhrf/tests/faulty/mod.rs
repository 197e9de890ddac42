//! The misbehaving function of the fault soak and what the soak and burst tests share around it:
//! building `tests/c/faulty.c` into a library, deploying it with a marker in its environment,
//! finding (and killing) every process that came from it, a raw HTTP/1.1 client that reads
//! one response at a time from a keep-alive connection, and hhrf's resource figures from
//! `/proc`.
//!
//! `faulty.c` links the codec through the C SDK that `abi/install.sh` installs (`c_sdk`).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{self, Root};

#[path = "../c_sdk/mod.rs"]
mod c_sdk;

/// `tests/c/faulty.c`, built into `dir` as `libfaulty.so` with the link line of
/// `spec/ABI.md`, "Building a C function": `$(pkg-config --cflags --libs fezz)`.
pub fn library(dir: &Path) -> PathBuf {
    let path = dir.join("libfaulty.so");
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = manifest_dir.join("tests/c/faulty.c");
    let output = Command::new("cc")
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-fPIC", "-shared",
        ])
        .arg("-o")
        .arg(&path)
        .arg(&source)
        .args(c_sdk::flags())
        .output()
        .expect("cc runs (a C compiler is required)");
    assert!(
        output.status.success(),
        "cc failed for faulty.c:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

/// A unique `NAME=value` for the function's environment: every process that came from the
/// function (runners, their children, escaped grandchildren) carries it in
/// `/proc/PID/environ`, which root can read for every process.
pub struct Marker {
    /// The variable's name (a manifest `env` name).
    pub name: String,
    /// Its value, unique to this test run.
    pub value: String,
}

impl Marker {
    /// A marker unique to this process and moment.
    pub fn new(name: &str) -> Marker {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or(0);
        Marker {
            name: name.to_owned(),
            value: format!("{}-{nanos:x}", std::process::id()),
        }
    }

    /// The pids of the live processes whose environment holds the marker (zombies have an
    /// empty environment and are not counted).
    pub fn processes(&self) -> Vec<i32> {
        let needle = format!("{}={}", self.name, self.value).into_bytes();
        support::processes()
            .into_iter()
            .map(|process| process.pid)
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ
                        .split(|byte| *byte == 0)
                        .any(|entry| entry == needle.as_slice())
                })
            })
            .collect()
    }

    /// Polls up to `settle` for the marked processes to be gone; returns those still there.
    pub fn survivors(&self, settle: Duration) -> Vec<i32> {
        let start = Instant::now();
        loop {
            let found = self.processes();
            if found.is_empty() || start.elapsed() >= settle {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs every marked process (so a failing test leaves nothing on the machine);
    /// returns how many there were.
    pub fn kill_all(&self) -> usize {
        let mut killed = 0;
        // A few rounds: a forking process may add one between the scan and the kill.
        for _ in 0..5 {
            let found = self.processes();
            if found.is_empty() {
                break;
            }
            for pid in &found {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            killed += found.len();
            std::thread::sleep(Duration::from_millis(50));
        }
        killed
    }
}

/// Kills the marked processes when dropped, so that a test that panics half-way cleans up too.
pub struct KillOnDrop<'a>(pub &'a Marker);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        self.0.kill_all();
    }
}

/// Deploys `library` as `<id>@1` (direct invocation only), with `timeout_ms`, the marker in
/// its `env`, and `limits` (a JSON object).
pub fn deploy(
    root: &Root,
    id: &str,
    library: &Path,
    timeout_ms: u64,
    marker: &Marker,
    limits: &str,
) {
    let manifest = format!(
        r#"{{"id":"{id}","version":"1","entry":"libfaulty.so","routes":[],"timeout_ms":{timeout_ms},"env":{{"{}":"{}"}},"limits":{limits}}}"#,
        marker.name, marker.value
    );
    root.add(&format!("{id}@1"), &manifest, library, "libfaulty.so");
}

/// One HTTP/1.1 response read off a connection.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Header fields, names lowercased, values trimmed.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body (as framed by `content-length`).
    pub body: Vec<u8>,
}

impl Answer {
    /// The first value of `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(own, _)| own == name)
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
    }

    /// Whether the server said it closes the connection after this response.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"))
    }

    /// `error.code` of a JSON error body whose `request_id` is the `x-request-id`, or why
    /// the body is not one.
    pub fn error_code(&self) -> Result<String, String> {
        if self.header("content-type").as_deref() != Some("application/json") {
            return Err(format!(
                "content-type {:?}, not application/json",
                self.header("content-type")
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&self.body)
            .map_err(|error| format!("the body is not JSON: {error}"))?;
        let code = json["error"]["code"]
            .as_str()
            .ok_or_else(|| format!("no error.code in {json}"))?;
        let id = self.header("x-request-id");
        if json["error"]["request_id"].as_str() != id.as_deref() {
            return Err(format!(
                "request_id differs from x-request-id {id:?}: {json}"
            ));
        }
        Ok(code.to_owned())
    }
}

/// How reading a response failed.
#[derive(Debug)]
pub enum NoAnswer {
    /// The connection ended (or was reset) before a complete response head and body: the
    /// "empty reply" the spec never allows.
    Empty(String),
    /// Nothing complete arrived within the read timeout.
    Timeout(String),
    /// The bytes were not an HTTP/1.1 response.
    Malformed(String),
}

/// A client connection that sends GET requests and reads one response at a time.
pub struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to `addr`, with `timeout` for every read.
    pub fn open(addr: std::net::SocketAddr, timeout: Duration) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            reader: BufReader::with_capacity(64 * 1024, stream),
        })
    }

    /// Sends `GET target`, with `Connection: close` unless `keep_alive`.
    pub fn send(&mut self, target: &str, keep_alive: bool) -> std::io::Result<()> {
        let connection = if keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        };
        let request = format!("GET {target} HTTP/1.1\r\nHost: soak\r\n{connection}\r\n");
        self.reader.get_mut().write_all(request.as_bytes())
    }

    /// Reads one complete response.
    pub fn read(&mut self) -> Result<Answer, NoAnswer> {
        let failed = |error: std::io::Error, what: &str| match error.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                NoAnswer::Timeout(format!("{what}: {error}"))
            }
            _ => NoAnswer::Empty(format!("{what}: {error}")),
        };
        let mut line = Vec::new();
        let mut status = None;
        let mut headers = Vec::new();
        loop {
            line.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut line)
                .map_err(|error| failed(error, "reading the head"))?;
            if n == 0 {
                return Err(NoAnswer::Empty(if status.is_none() {
                    "the connection closed before any response byte".to_owned()
                } else {
                    "the connection closed in the response head".to_owned()
                }));
            }
            let text = line.strip_suffix(b"\r\n").unwrap_or(&line);
            if status.is_none() {
                let head = String::from_utf8_lossy(text).into_owned();
                let code = head
                    .strip_prefix("HTTP/1.1 ")
                    .and_then(|rest| rest.get(..3))
                    .and_then(|code| code.parse::<u16>().ok())
                    .ok_or_else(|| NoAnswer::Malformed(format!("status line {head:?}")))?;
                status = Some(code);
                continue;
            }
            if text.is_empty() {
                break;
            }
            let colon = text.iter().position(|byte| *byte == b':').ok_or_else(|| {
                NoAnswer::Malformed(format!("header line {:?}", String::from_utf8_lossy(text)))
            })?;
            headers.push((
                String::from_utf8_lossy(&text[..colon]).to_ascii_lowercase(),
                text[colon + 1..].trim_ascii().to_vec(),
            ));
        }
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map(|(_, value)| {
                String::from_utf8_lossy(value)
                    .parse::<usize>()
                    .map_err(|_| NoAnswer::Malformed("content-length".to_owned()))
            })
            .transpose()?
            .ok_or_else(|| NoAnswer::Malformed("no content-length".to_owned()))?;
        let mut body = vec![0; length];
        self.reader
            .read_exact(&mut body)
            .map_err(|error| failed(error, "reading the body"))?;
        Ok(Answer {
            status: status.unwrap_or(0),
            headers,
            body,
        })
    }
}

/// hhrf's resources at one moment, from `/proc/PID`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Resources {
    /// Open descriptors.
    pub fds: usize,
    /// Child processes (zombies included).
    pub children: usize,
    /// Threads.
    pub threads: usize,
    /// Resident set, KiB.
    pub rss_kib: u64,
}

impl Resources {
    /// The figures of `hhrf` now.
    pub fn of(hhrf: &support::Hhrf) -> Resources {
        Resources::of_pid(hhrf.pid())
    }

    /// The figures of process `pid` now (zeros for what cannot be read).
    pub fn of_pid(pid: i32) -> Resources {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Resources {
            fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|entries| entries.count())
                .unwrap_or(0),
            children: support::processes()
                .iter()
                .filter(|process| process.ppid == pid)
                .count(),
            threads: field("Threads:") as usize,
            rss_kib: field("VmRSS:"),
        }
    }
}

impl std::fmt::Display for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fds={} children={} threads={} rss={:.1}MiB",
            self.fds,
            self.children,
            self.threads,
            self.rss_kib as f64 / 1024.0
        )
    }
}
