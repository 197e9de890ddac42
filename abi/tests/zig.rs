//! The fezz Zig module (`abi/zig`), driven from `cargo test`:
//!
//! - `zig build test` in `abi/zig` runs the module's own tests (`fezz_test.zig`) against
//!   `libfezz_abi.a`; the summary must report every test passed, and at least as many as
//!   exist today.
//! - A function library written with the module (`tests/zig/echo.zig`, built with the
//!   `zig build-lib` line of `abi/zig/README.md`, in Debug mode) is loaded and called as a runner would, with
//!   requests Rust encodes; Rust decodes what it answers, so the wrapper is checked against
//!   the reference codec, not only against the Zig tests' own CBOR.
//!
//! Zig is `FEZZ_ZIG` (default `python3 -m ziglang`, `pip install ziglang==0.15.2`, as `.ci/run`
//! installs it). The static library must be built first (`cargo build`), as for the C tests.

#[path = "c/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fezz_abi::ffi::{FezzAbiVersionFn, FezzBuffer, FezzFreeV2Fn, FezzHandleV2Fn};
use fezz_abi::ffi::{FEZZ_RESULT_FUNCTION_FAILED, FEZZ_RESULT_OK};
use fezz_abi::{decode_error, decode_response, encode_request, Header, Request, Response};

use support::{run, spec_dir, staticlib, workspace_root};

/// How many tests `fezz_test.zig` (plus the module's own `test` block) holds today.
const MIN_ZIG_TESTS: usize = 11;

/// The zig command: `FEZZ_ZIG` split into words, or `python3 -m ziglang`.
fn zig() -> Command {
    let text = std::env::var("FEZZ_ZIG")
        .ok()
        .filter(|zig| !zig.trim().is_empty())
        .unwrap_or_else(|| "python3 -m ziglang".to_owned());
    let mut words = text.split_whitespace();
    let mut command = Command::new(words.next().expect("FEZZ_ZIG is not empty"));
    command.args(words);
    command
}

fn module_dir() -> PathBuf {
    workspace_root().join("abi/zig")
}

/// `target/<profile>/zig-tests/<name>`, next to the test binaries.
fn under_target(name: &str) -> PathBuf {
    staticlib()
        .parent()
        .expect("the library is in target/<profile>")
        .join("zig-tests")
        .join(name)
}

/// A scratch folder under the target dir, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = under_target(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir
}

/// Zig's cache for these tests: kept between runs (it is content-addressed, so a changed
/// source or library is rebuilt), which makes a second run take about a second.
fn zig_cache() -> PathBuf {
    under_target("cache")
}

#[test]
fn zig_build_test_passes_every_module_test() {
    let cache = zig_cache();
    let output = run(zig()
        .current_dir(module_dir())
        .args(["build", "test", "--summary", "all", "--cache-dir"])
        .arg(&cache)
        .arg(format!("-Dabi-lib={}", staticlib().display())));
    // `zig build` prints its summary on stderr: "Build Summary: 3/3 steps succeeded; 10/10 tests passed".
    let summary = String::from_utf8_lossy(&output.stderr);
    let counts = summary
        .lines()
        .find_map(|line| line.split("; ").nth(1)?.strip_suffix(" tests passed"))
        .unwrap_or_else(|| panic!("no test count in zig's summary:\n{summary}"));
    let (passed, total) = counts
        .split_once('/')
        .unwrap_or_else(|| panic!("unexpected count {counts:?}"));
    let (passed, total): (usize, usize) = (passed.parse().unwrap(), total.parse().unwrap());
    assert_eq!(passed, total, "{summary}");
    assert!(
        total >= MIN_ZIG_TESTS,
        "only {total} Zig tests ran:\n{summary}"
    );
}

/// `tests/zig/echo.zig` built with the module as documented in abi/zig/README.md, once for
/// all the tests of this file.
fn echo_library() -> &'static Path {
    static ECHO: OnceLock<PathBuf> = OnceLock::new();
    ECHO.get_or_init(build_echo)
}

fn build_echo() -> PathBuf {
    let dir = scratch("echo");
    let library = dir.join("libecho.so");
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zig");
    run(zig()
        .current_dir(&dir)
        // Debug, not the README's ReleaseSafe: 4 s instead of 25 s here, the same checks.
        .args(["build-lib", "-dynamic", "-O", "Debug", "-lc", "-lunwind"])
        .args(["--dep", "fezz"])
        .arg(format!("-Mroot={}", tests.join("echo.zig").display()))
        .arg("-I")
        .arg(spec_dir())
        .arg(format!(
            "-Mfezz={}",
            module_dir().join("fezz.zig").display()
        ))
        .arg(staticlib())
        .args(["--name", "echo", "--cache-dir"])
        .arg(zig_cache())
        .arg(format!("-femit-bin={}", library.display())));
    library
}

/// The library's three exports.
struct Library {
    _library: libloading::Library,
    version: FezzAbiVersionFn,
    handle: FezzHandleV2Fn,
    free: FezzFreeV2Fn,
}

impl Library {
    fn load(path: &Path) -> Library {
        // SAFETY: the library is the echo function built above; loading it runs no
        // initializers besides libc's and the Zig runtime's.
        let library = unsafe { libloading::Library::new(path) }.expect("load the echo library");
        // SAFETY: the symbols have the types of spec/fezz.h, which exportHandler declares.
        unsafe {
            let version = *library
                .get::<FezzAbiVersionFn>(b"fezz_abi_version")
                .unwrap();
            let handle = *library.get::<FezzHandleV2Fn>(b"fezz_handle_v2").unwrap();
            let free = *library.get::<FezzFreeV2Fn>(b"fezz_free_v2").unwrap();
            Library {
                _library: library,
                version,
                handle,
                free,
            }
        }
    }

    /// One call, as a runner makes it: the result and a copy of the bytes handed out.
    fn call(&self, request: &Request) -> (i32, Vec<u8>) {
        let bytes = encode_request(request).unwrap();
        let mut buffer = FezzBuffer::EMPTY;
        // SAFETY: readable request bytes and a writable, zeroed buffer, as the ABI requires.
        let result = unsafe { (self.handle)(bytes.as_ptr(), bytes.len(), &mut buffer) };
        let answer = if buffer.data.is_null() {
            Vec::new()
        } else {
            // SAFETY: the library wrote `len` bytes at `data`; they live until freed below.
            unsafe { std::slice::from_raw_parts(buffer.data, buffer.len) }.to_vec()
        };
        // SAFETY: the buffer this library's fezz_handle_v2 wrote, released once.
        unsafe { (self.free)(buffer) };
        (result, answer)
    }
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    std::str::from_utf8(response.header(name).unwrap_or_else(|| panic!("no {name}"))).unwrap()
}

#[test]
fn a_function_written_with_the_module_answers_requests_rust_encodes() {
    let library = Library::load(echo_library());
    // SAFETY: fezz_abi_version takes nothing and returns a number.
    assert_eq!(unsafe { (library.version)() }, 2);

    let mut request = Request::new("PUT", "/items/7");
    request.query = Some("name=Ada+L%2E&flag&name=second".into());
    request.headers = vec![
        Header::new("x-tag", "a"),
        Header::new("accept", "text/plain"),
        Header::new("X-Tag", "b"),
    ];
    request.body = b"the body".to_vec();
    request.context.function_id = "echo".into();
    request.context.function_version = "3".into();
    request.context.request_id = "req-9".into();
    request.context.deadline_unix_ms = Some(1_234_567);
    request.context.host = Some("example.test".into());
    let (result, bytes) = library.call(&request);
    assert_eq!(result, FEZZ_RESULT_OK);
    let response = decode_response(&bytes).expect("a valid response");
    assert_eq!(response.status, 200);
    assert_eq!(header(&response, "x-method"), "PUT");
    assert_eq!(header(&response, "x-path"), "/items/7");
    assert_eq!(header(&response, "x-query-name"), "Ada L.");
    assert_eq!(header(&response, "x-tags"), "a,b");
    assert_eq!(header(&response, "x-accept"), "text/plain");
    assert_eq!(
        header(&response, "x-context"),
        "echo@3 req-9 1234567 example.test -"
    );
    assert_eq!(response.body, b"the body");
    assert_eq!(response.error, None);

    // Absent fields are absent; an empty query is present.
    let mut bare = Request::new("GET", "/");
    bare.query = Some(String::new());
    let (result, bytes) = library.call(&bare);
    assert_eq!(result, FEZZ_RESULT_OK);
    let response = decode_response(&bytes).unwrap();
    assert_eq!(header(&response, "x-query-name"), "(none)");
    assert_eq!(header(&response, "x-raw-query"), "");
    assert_eq!(header(&response, "x-context"), "@  - - -");
    let (_, bytes) = library.call(&Request::new("GET", "/"));
    assert_eq!(
        header(&decode_response(&bytes).unwrap(), "x-raw-query"),
        "(none)"
    );
}

#[test]
fn the_modules_errors_reach_the_runner_as_the_abi_says() {
    let library = Library::load(echo_library());
    // A handler error fails the call with its name.
    let (result, bytes) = library.call(&Request::new("DELETE", "/"));
    assert_eq!(result, FEZZ_RESULT_FUNCTION_FAILED);
    let error = decode_error(&bytes).unwrap();
    assert_eq!(
        (error.code.as_str(), error.message.as_str()),
        ("handler-error", "DeleteRefused")
    );
    // A header the C API refuses is error.InvalidValue in Zig, here turned into a 400.
    let (result, bytes) = library.call(&Request::new("POST", "/bad-header"));
    assert_eq!(result, FEZZ_RESULT_OK);
    let response = decode_response(&bytes).unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(response.body, b"refused: InvalidValue");
    // Bytes that are not a request never reach the handler.
    let mut buffer = FezzBuffer::EMPTY;
    // SAFETY: three readable bytes and a writable buffer.
    let result = unsafe { (library.handle)(b"\xff\x00\x01".as_ptr(), 3, &mut buffer) };
    assert_eq!(result, fezz_abi::ffi::FEZZ_RESULT_REQUEST_INVALID);
    // SAFETY: whatever the call left in the buffer, released once.
    unsafe { (library.free)(buffer) };
}

#[test]
fn the_zig_sources_are_zig_fmt_clean() {
    let root = workspace_root();
    let output = zig()
        .current_dir(&root)
        .args([
            "fmt",
            "--check",
            "abi/zig",
            "abi/tests/zig",
            "examples/hello-zig",
        ])
        .output()
        .expect("run zig fmt");
    assert!(
        output.status.success(),
        "zig fmt --check lists files to format (run `zig fmt` on them):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
