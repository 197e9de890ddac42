//! The codec C API, driven from C: programs in `abi/tests/c/` are compiled against
//! `spec/fezz.h` and linked with `libfezz_abi.a`, with the link flags of spec/ABI.md.
//!
//! - `roundtrip.c` reads every field of a request that Rust encoded and answers with a
//!   response reporting each; Rust decodes the response and checks every field.
//! - `errors.c` checks the failure paths: NULL arguments, `FEZZ_RESULT_OUT_OF_RANGE`, invalid
//!   values and limits, out-parameters left alone, `fezz_result_name`, `fezz_error_encode`.
//! - both again under AddressSanitizer (and LeakSanitizer);
//! - the C example of spec/ABI.md is extracted from the markdown, built as a shared library
//!   with the documented link line, loaded, and called like a runner would.
//!
//! The static library must be built before these tests run (`cargo build`; `.ci/run` runs
//! `cargo build --workspace` first); a missing or stale one fails with that advice.

#[path = "c/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use fezz_abi::ffi::{FezzAbiVersionFn, FezzBuffer, FezzFreeV2Fn, FezzHandleV2Fn};
use fezz_abi::ffi::{FEZZ_RESULT_OK, FEZZ_RESULT_REQUEST_INVALID};
use fezz_abi::{decode_error, decode_response, encode_request};
use fezz_abi::{Header, Request, RequestContext, Response, WireError};

use support::{abi_md_block, c_dir, compiler, run, staticlib};

/// The link line of spec/ABI.md ("Building a C function"): the gcc command, with its
/// continuation lines joined, split into words.
fn documented_link_command() -> Vec<String> {
    let block = abi_md_block("<!-- link-line", "sh").replace("\\\n", " ");
    let command = block
        .lines()
        .find(|line| line.trim_start().starts_with("gcc "))
        .expect("the link-line block has a gcc command");
    command.split_whitespace().map(str::to_owned).collect()
}

/// The linker inputs of the documented command from `-lfezz_abi` on (the libraries and the
/// `-Wl,` options), with `-L` pointing at the static library this test run uses.
fn link_arguments() -> Vec<String> {
    let command = documented_link_command();
    let from = command
        .iter()
        .position(|word| word == "-lfezz_abi")
        .expect("the documented command links -lfezz_abi");
    let library = staticlib();
    let mut arguments = vec![format!("-L{}", library.parent().unwrap().display())];
    arguments.extend(
        command[from..]
            .iter()
            .filter(|word| word.starts_with("-l") || word.starts_with("-Wl,"))
            .cloned(),
    );
    arguments
}

/// Compiles `abi/tests/c/<name>.c` into an executable in `dir`, with `extra` flags.
fn build_program(name: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let exe = dir.join(name);
    run(compiler("gcc", "c99")
        .args(extra)
        .arg(c_dir().join(format!("{name}.c")))
        .arg("-o")
        .arg(&exe)
        .args(link_arguments()));
    exe
}

fn write_request(dir: &Path, request: &Request) -> PathBuf {
    let path = dir.join("request.cbor");
    std::fs::write(&path, encode_request(request).unwrap()).unwrap();
    path
}

/// A request with every field present and some awkward values.
fn full_request() -> Request {
    Request {
        method: "PATCH".into(),
        path: "/todos/42%2F7".into(),
        query: Some("a=1&b=%20".into()),
        headers: vec![
            Header::new("x-custom", "first"),
            Header::new("X-Custom", "second"),
            Header::new("x-bin", vec![0x80, 0xff, b'a', 0x7f]),
        ],
        body: vec![0, 1, 2, 0xff, b'\n', 0],
        context: RequestContext {
            function_id: "todos".into(),
            function_version: "1.2.3".into(),
            request_id: "req-7".into(),
            deadline_unix_ms: Some(1_800_000_000_123),
            client_address: Some("[::1]:5555".into()),
            scheme: Some("https".into()),
            host: Some("example.test:8443".into()),
        },
    }
}

/// A request with every optional field absent.
fn minimal_request() -> Request {
    let mut request = Request::new("GET", "/");
    request.context.function_id = "hello".into();
    request.context.function_version = "1".into();
    request.context.request_id = "r".into();
    request
}

/// What roundtrip.c answers to `request` (its header comment is the specification).
fn expected_roundtrip(request: &Request) -> Response {
    let context = &request.context;
    let mut response = Response::new(201)
        .with_header("x-method", request.method.as_str())
        .with_header("x-path", request.path.as_str());
    response = match &request.query {
        Some(query) => response.with_header("x-query", query.as_str()),
        None => response.with_header("x-no-query", "1"),
    };
    response = response
        .with_header("x-function-id", context.function_id.as_str())
        .with_header("x-function-version", context.function_version.as_str())
        .with_header("x-request-id", context.request_id.as_str());
    response = match context.deadline_unix_ms {
        Some(deadline) => response.with_header("x-deadline", deadline.to_string()),
        None => response.with_header("x-no-deadline", "1"),
    };
    for (name, value) in [
        ("x-client-address", &context.client_address),
        ("x-scheme", &context.scheme),
        ("x-host", &context.host),
    ] {
        if let Some(value) = value {
            response = response.with_header(name, value.as_str());
        }
    }
    response = response.with_header("x-header-count", request.headers.len().to_string());
    response.headers.extend(request.headers.iter().cloned());
    response = match request.header("x-custom") {
        Some(value) => response.with_header("x-found", value),
        None => response.with_header("x-not-found", "1"),
    };
    response.body = request.body.clone();
    response.error = Some(WireError::new("c-roundtrip", "done"));
    response
}

fn roundtrip(request: &Request) {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_program("roundtrip", dir.path(), &[]);
    let request_file = write_request(dir.path(), request);
    let response_file = dir.path().join("response.cbor");
    run(Command::new(&exe).arg(&request_file).arg(&response_file));
    let response = decode_response(&std::fs::read(&response_file).unwrap())
        .expect("the C program's response decodes");
    assert_eq!(response, expected_roundtrip(request));
}

#[test]
fn c_reads_every_field_and_builds_a_response() {
    roundtrip(&full_request());
}

#[test]
fn c_sees_absent_optional_fields_as_absent() {
    roundtrip(&minimal_request());
}

#[test]
fn c_sees_an_empty_query_as_present() {
    let mut request = minimal_request();
    request.query = Some(String::new());
    roundtrip(&request);
}

/// The request errors.c expects (see its header comment).
fn errors_request() -> Request {
    let mut request = Request::new("GET", "/");
    request.headers.push(Header::new("x-only", "1"));
    request
}

#[test]
fn c_api_failure_paths() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_program("errors", dir.path(), &[]);
    let request_file = write_request(dir.path(), &errors_request());
    let error_file = dir.path().join("error.cbor");
    run(Command::new(&exe).arg(&request_file).arg(&error_file));
    let error = decode_error(&std::fs::read(&error_file).unwrap()).unwrap();
    assert_eq!(error, WireError::new("c-error", "from C"));
}

/// Both programs, built with `-fsanitize=address`: no invalid access and no leak (LeakSanitizer
/// runs at exit) across the C API, with the Rust static library linked in unchanged.
#[test]
fn c_programs_are_clean_under_address_sanitizer() {
    let dir = tempfile::tempdir().unwrap();
    let asan = ["-g", "-fsanitize=address", "-fno-omit-frame-pointer"];
    let sanitized = |name| build_program(name, dir.path(), &asan);
    let roundtrip = sanitized("roundtrip");
    let errors = sanitized("errors");
    let full = write_request(dir.path(), &full_request());
    let with_asan = |exe: &Path| {
        let mut command = Command::new(exe);
        command.env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1");
        command
    };
    run(with_asan(&roundtrip)
        .arg(&full)
        .arg(dir.path().join("response.cbor")));
    let request = write_request(dir.path(), &errors_request());
    run(with_asan(&errors)
        .arg(&request)
        .arg(dir.path().join("error.cbor")));
}

/// The example of spec/ABI.md ("Building a C function"), built exactly as documented into a
/// shared library, exports exactly the three symbols and answers like a function.
#[test]
fn abi_md_example_builds_loads_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("hello.c");
    std::fs::write(&source, abi_md_block("<!-- example: hello.c", "c")).unwrap();
    let command = documented_link_command();
    for flag in ["-std=c99", "-fPIC", "-shared"] {
        assert!(
            command.iter().any(|word| word == flag),
            "the link line lacks {flag}"
        );
    }
    let library = dir.path().join("libhello.so");
    run(compiler("gcc", "c99")
        .args(["-O2", "-fPIC", "-shared"])
        .arg(&source)
        .arg("-o")
        .arg(&library)
        .args(link_arguments()));

    let exports = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&library));
    let mut exported: Vec<String> = String::from_utf8(exports.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.contains(" T "))
        .filter_map(|line| line.split_whitespace().last().map(str::to_owned))
        .collect();
    exported.sort();
    assert_eq!(
        exported,
        ["fezz_abi_version", "fezz_free_v2", "fezz_handle_v2"]
    );

    // SAFETY: loading runs the library's initialisers; this one is plain C plus the codec.
    let library = unsafe { libloading::Library::new(&library) }.unwrap();
    // SAFETY: the symbols have these types (spec/ABI.md, "The exported symbols").
    let (version, handle, free) = unsafe {
        (
            *library
                .get::<FezzAbiVersionFn>(b"fezz_abi_version")
                .unwrap(),
            *library.get::<FezzHandleV2Fn>(b"fezz_handle_v2").unwrap(),
            *library.get::<FezzFreeV2Fn>(b"fezz_free_v2").unwrap(),
        )
    };
    // SAFETY: no arguments.
    assert_eq!(unsafe { version() }, 2);

    let mut request = minimal_request();
    request.path = "/greet/x".into();
    let bytes = encode_request(&request).unwrap();
    let mut buffer = FezzBuffer::EMPTY;
    // SAFETY: `bytes` is readable for the call; `buffer` is writable.
    let result = unsafe { handle(bytes.as_ptr(), bytes.len(), &mut buffer) };
    assert_eq!(result, FEZZ_RESULT_OK);
    // SAFETY: on FEZZ_RESULT_OK, the library wrote `len` readable bytes at `data`.
    let encoded = unsafe { std::slice::from_raw_parts(buffer.data, buffer.len) }.to_vec();
    // SAFETY: the buffer came from this library's fezz_handle_v2 and is released once.
    unsafe { free(buffer) };
    let response = decode_response(&encoded).unwrap();
    assert_eq!(
        response,
        Response::text(200, "hello from /greet/x\n"),
        "the example's answer"
    );

    // Bytes that are not a request: the library reports it and writes nothing.
    let mut buffer = FezzBuffer::EMPTY;
    // SAFETY: as above.
    let result = unsafe { handle(b"nope".as_ptr(), 4, &mut buffer) };
    assert_eq!(result, FEZZ_RESULT_REQUEST_INVALID);
    assert!(buffer.data.is_null() && buffer.len == 0 && buffer.capacity == 0);
    // SAFETY: an all-zero buffer, which fezz_free_v2 must accept.
    unsafe { free(buffer) };
}

/// The fragment of spec/ABI.md that fails a call with an encoded error compiles as the body of
/// `fezz_handle_v2`, and answers `FEZZ_RESULT_FUNCTION_FAILED` with a decodable `fezz-error`.
#[test]
fn abi_md_error_example_fails_the_call_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let fragment = abi_md_block("<!-- error-example", "c");
    let source = format!(
        "#include <string.h>\n#include \"fezz.h\"\n\n\
         uint32_t fezz_abi_version(void) {{ return FEZZ_ABI_VERSION; }}\n\
         FezzResult fezz_handle_v2(const uint8_t *request, size_t request_len, \
         FezzBuffer *response) {{\n    FezzResult result;\n    (void)request;\n    \
         (void)request_len;\n{fragment}}}\n\
         void fezz_free_v2(FezzBuffer response) {{ fezz_buffer_free(response); }}\n"
    );
    let file = dir.path().join("failing.c");
    std::fs::write(&file, source).unwrap();
    let library = dir.path().join("libfailing.so");
    run(compiler("gcc", "c99")
        .args(["-fPIC", "-shared"])
        .arg(&file)
        .arg("-o")
        .arg(&library)
        .args(link_arguments()));
    // SAFETY: loading runs the library's initialisers; this one is plain C plus the codec.
    let library = unsafe { libloading::Library::new(&library) }.unwrap();
    // SAFETY: the symbols have these types (spec/ABI.md, "The exported symbols").
    let (handle, free) = unsafe {
        (
            *library.get::<FezzHandleV2Fn>(b"fezz_handle_v2").unwrap(),
            *library.get::<FezzFreeV2Fn>(b"fezz_free_v2").unwrap(),
        )
    };
    let mut buffer = FezzBuffer::EMPTY;
    // SAFETY: no request bytes are read (length 0); `buffer` is writable.
    let result = unsafe { handle(std::ptr::null(), 0, &mut buffer) };
    assert_eq!(result, fezz_abi::ffi::FEZZ_RESULT_FUNCTION_FAILED);
    // SAFETY: the library wrote `len` readable bytes at `data`.
    let encoded = unsafe { std::slice::from_raw_parts(buffer.data, buffer.len) }.to_vec();
    // SAFETY: the buffer came from this library's fezz_handle_v2 and is released once.
    unsafe { free(buffer) };
    assert_eq!(
        decode_error(&encoded).unwrap(),
        WireError::new("db-unavailable", "cannot reach the database")
    );
}
