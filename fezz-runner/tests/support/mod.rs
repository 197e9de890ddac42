//! Test support: the fezz-runner binary and the libraries it loads (the Rust fixture, and
//! misbehaving C libraries compiled per test), running the binary the way a host does, and
//! reading its frames.
#![allow(dead_code)] // each test file uses a different part

#[path = "../../../abi/tests/common/workspace_build.rs"]
mod workspace_build;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fezz_abi::frame::{frame_header, split_frame, FrameKind};
use fezz_abi::{decode_error, encode_request, Header, Request, WireError};

/// The runner binary under test.
pub fn runner() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fezz-runner"))
}

/// `target/<profile>/`, from this test executable's path (`target/<profile>/deps/<test>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test executable is in target/<profile>/deps")
        .to_owned()
}

/// The Rust conformance fixture, built first if needed (another package of the workspace).
pub fn fixture() -> PathBuf {
    workspace_build::artifact("libfezz_fixture_rust.so")
}

/// A misbehaving C library (`tests/c/misbehaving.c` with `-DMODE_<mode>`), compiled into a
/// temporary directory that lives as long as this value.
pub struct CLibrary {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl CLibrary {
    pub fn build(mode: &str) -> CLibrary {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join(format!("lib{}.so", mode.to_lowercase()));
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/misbehaving.c");
        let output = Command::new("cc")
            .args([
                "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
            ])
            .arg(format!("-DMODE_{mode}"))
            .arg("-o")
            .arg(&path)
            .arg(&source)
            .output()
            .expect("cc runs (a C compiler is required)");
        assert!(
            output.status.success(),
            "cc failed for MODE_{mode}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        CLibrary { dir, path }
    }
}

/// How a runner process ended and what it wrote.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The signal that killed the runner, if one did.
    pub fn signal(&self) -> Option<i32> {
        std::os::unix::process::ExitStatusExt::signal(&self.status)
    }

    /// stdout as frames; panics if it is not a clean sequence of frames.
    pub fn frames(&self) -> Vec<(FrameKind, Vec<u8>)> {
        let mut frames = Vec::new();
        let mut rest = self.stdout.as_slice();
        while !rest.is_empty() {
            let (kind, payload, after) = split_frame(rest).unwrap_or_else(|error| {
                panic!("stdout is not frames ({error}): {:?}", self.stdout)
            });
            frames.push((kind, payload.to_vec()));
            rest = after;
        }
        frames
    }

    /// The one error frame stdout must consist of, decoded.
    pub fn error_frame(&self) -> WireError {
        let frames = self.frames();
        assert_eq!(
            frames.len(),
            1,
            "expected exactly one frame on stdout: {self:?}"
        );
        let (kind, payload) = &frames[0];
        assert_eq!(*kind, FrameKind::Error, "{self:?}");
        decode_error(payload).expect("the error frame's payload decodes")
    }

    /// Asserts exit `code` with exactly one error frame whose code is `error_code`; returns
    /// the frame's message.
    pub fn expect_failure(&self, code: i32, error_code: &str) -> String {
        assert_eq!(self.code(), Some(code), "{self:?}");
        let error = self.error_frame();
        assert_eq!(error.code, error_code, "{self:?}");
        assert!(
            self.stderr
                .lines()
                .any(|line| line.starts_with(&format!("{error_code}: "))),
            "stderr has no line starting with the error code: {self:?}"
        );
        assert!(
            !self.stderr.contains("panicked"),
            "a panic message on stderr: {self:?}"
        );
        error.message
    }

    /// How many times the C library's `fezz_free_v2` ran, as it reported on stderr.
    pub fn free_calls(&self) -> u32 {
        let line = self
            .stderr
            .lines()
            .find_map(|line| line.strip_prefix("fezz_free_v2 calls: "))
            .unwrap_or_else(|| panic!("the library reported no free count: {self:?}"));
        line.trim().parse().expect("a number")
    }
}

/// Runs the runner with `args`, `stdin` as its input, in `cwd`; kills it after 60 s.
pub fn run_with(args: &[&OsStr], stdin: &[u8], cwd: Option<&Path>) -> Outcome {
    run_with_env(args, stdin, cwd, &[])
}

/// [`run_with`], with `env` added to the runner's environment.
pub fn run_with_env(
    args: &[&OsStr],
    stdin: &[u8],
    cwd: Option<&Path>,
    env: &[(&str, &str)],
) -> Outcome {
    let mut command = Command::new(runner());
    command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_BACKTRACE");
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().expect("the runner starts");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // The runner may exit before reading (a library that fails to load): a broken pipe here
    // is normal.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        let pid = child.id() as libc::pid_t;
        std::thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > Duration::from_secs(60) {
                    // SAFETY: kill takes integers; the child is not reaped yet, so the pid is ours.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let output = child.wait_with_output().expect("the runner's output");
    done.store(true, Ordering::SeqCst);
    watchdog.join().unwrap();
    writer.join().unwrap();
    Outcome {
        status: output.status,
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the runner on `library` with `stdin`.
pub fn run(library: &Path, stdin: &[u8]) -> Outcome {
    run_with(&[library.as_os_str()], stdin, None)
}

/// A request for `path` with a query, a header and a body.
pub fn request(path: &str) -> Request {
    let mut request = Request::new("POST", path);
    request.query = Some("q=1".into());
    request.headers.push(Header::new("x-test", "yes"));
    request.body = b"request body".to_vec();
    request.context.function_id = "fixture".into();
    request.context.function_version = "1.0.0".into();
    request.context.request_id = "req-1".into();
    request
}

/// One frame of `kind` around `payload`.
pub fn frame(kind: FrameKind, payload: &[u8]) -> Vec<u8> {
    let mut bytes = frame_header(kind, payload.len()).to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// A request frame for `request`.
pub fn request_frame(request: &Request) -> Vec<u8> {
    frame(FrameKind::Request, &encode_request(request).unwrap())
}
