//! The codec C API, driven from C: programs in `abi/tests/c/` are compiled and linked with the
//! one link line of spec/ABI.md, `$(pkg-config --cflags --libs fezz)`, against the C SDK that
//! `abi/install.sh` installs into `target/tmp/fezz-prefix` (once per run of this binary).
//!
//! - `roundtrip.c` reads every field of a request that Rust encoded and answers with a
//!   response reporting each; Rust decodes the response and checks every field.
//! - `errors.c` checks the failure paths: NULL arguments, `FEZZ_RESULT_OUT_OF_RANGE`, invalid
//!   values and limits, out-parameters left alone, `fezz_result_name`, `fezz_error_encode`.
//! - `helpers.c` is a C author's unit test of its own `fezz_handle_v2`: it builds requests,
//!   calls the handler in-process with `fezz_invoke_v2` and reads the responses, using every
//!   helper (C strings, header and query iteration, `fezz_response_set_status`) and checking
//!   their NULL rules and out-parameters;
//! - all three again under AddressSanitizer (and LeakSanitizer);
//! - the C example of spec/ABI.md is extracted from the markdown, built as a shared library
//!   with the documented commands, loaded, and called like a runner would; again with
//!   `-fvisibility=hidden`, which must keep its three exports (`FEZZ_EXPORT`);
//! - the install step itself: what it puts under the prefix and what `fezz.pc` says.
//!
//! install.sh builds the static library with cargo itself (see `support::installed_prefix`).

#[path = "c/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use fezz_abi::ffi::{FezzAbiVersionFn, FezzBuffer, FezzFreeV2Fn, FezzHandleV2Fn};
use fezz_abi::ffi::{FEZZ_RESULT_OK, FEZZ_RESULT_REQUEST_INVALID};
use fezz_abi::{decode_error, decode_response, encode_request};
use fezz_abi::{Header, Request, RequestContext, Response, WireError};

use support::{abi_md_block, c_dir, fezz_flags, installed_prefix, pkg_config, run};
use support::{strict_compiler, workspace_root};

/// The link line of spec/ABI.md ("Building a C function"): the `cc` command of the block, with
/// its continuation lines joined.
fn documented_link_command() -> String {
    let block = abi_md_block("<!-- link-line", "sh").replace("\\\n", " ");
    let command = block
        .lines()
        .find(|line| line.trim_start().starts_with("cc "))
        .expect("the link-line block has a cc command");
    command.trim().to_owned()
}

/// The part of the link line that names fezz: the same in every doc, example and build.
const PKG_CONFIG_FLAGS: &str = "$(pkg-config --cflags --libs fezz)";

/// Compiles `abi/tests/c/<name>.c` into an executable in `dir`, with `extra` flags and the
/// flags of the installed `fezz.pc`.
fn build_program(name: &str, dir: &Path, extra: &[&str]) -> PathBuf {
    let exe = dir.join(name);
    run(strict_compiler("gcc", "c99")
        .args(extra)
        .arg(c_dir().join(format!("{name}.c")))
        .arg("-o")
        .arg(&exe)
        .args(fezz_flags()));
    exe
}

/// Builds the example of spec/ABI.md in `dir` with the documented command, run by `sh` as a
/// reader would paste it (with `extra` flags after `cc`), and returns the library.
fn build_documented_example(dir: &Path, extra: &str) -> PathBuf {
    std::fs::write(
        dir.join("hello.c"),
        abi_md_block("<!-- example: hello.c", "c"),
    )
    .unwrap();
    let command = documented_link_command();
    let command = format!("cc {extra} {}", command.strip_prefix("cc ").unwrap());
    run(Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(dir)
        .env("PKG_CONFIG_PATH", installed_prefix().join("lib/pkgconfig")));
    dir.join("libhello.so")
}

/// The functions a shared library exports (defined, in its dynamic symbol table), sorted.
fn exported_functions(library: &Path) -> Vec<String> {
    let exports = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(library));
    let mut exported: Vec<String> = String::from_utf8(exports.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.contains(" T "))
        .filter_map(|line| line.split_whitespace().last().map(str::to_owned))
        .collect();
    exported.sort();
    exported
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
            Header::new("x-bin", vec![0x80, 0xff, b'a', b'\t']),
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

#[test]
fn c_helpers_build_requests_invoke_a_handler_and_read_responses() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_program("helpers", dir.path(), &[]);
    run(&mut Command::new(&exe));
}

/// The three programs, built with `-fsanitize=address`: no invalid access and no leak
/// (LeakSanitizer runs at exit) across the C API, with the Rust static library linked in
/// unchanged.
#[test]
fn c_programs_are_clean_under_address_sanitizer() {
    let dir = tempfile::tempdir().unwrap();
    let asan = ["-g", "-fsanitize=address", "-fno-omit-frame-pointer"];
    let sanitized = |name| build_program(name, dir.path(), &asan);
    let roundtrip = sanitized("roundtrip");
    let errors = sanitized("errors");
    let helpers = sanitized("helpers");
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
    run(&mut with_asan(&helpers));
}

/// The example of spec/ABI.md ("Building a C function"), built exactly as documented into a
/// shared library, exports exactly the three symbols and answers like a function.
#[test]
fn abi_md_example_builds_loads_and_answers() {
    let command = documented_link_command();
    for flag in ["-std=c99", "-fPIC", "-shared", PKG_CONFIG_FLAGS] {
        assert!(command.contains(flag), "the link line lacks {flag}");
    }
    let dir = tempfile::tempdir().unwrap();
    let library = build_documented_example(dir.path(), "-Wall -Wextra -Werror");
    assert_eq!(
        exported_functions(&library),
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
    run(strict_compiler("gcc", "c99")
        .args(["-fPIC", "-shared"])
        .arg(&file)
        .arg("-o")
        .arg(&library)
        .args(fezz_flags()));
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

/// `abi/install.sh PREFIX` puts the header, the archive and `fezz.pc` under the prefix, and
/// `fezz.pc` carries the include path, `-lfezz_abi`, the native libraries rustc reports for
/// the archive, and the linker options.
#[test]
fn install_sh_installs_header_archive_and_pc() {
    let prefix = installed_prefix();
    assert_eq!(
        std::fs::read_to_string(prefix.join("include/fezz.h")).unwrap(),
        std::fs::read_to_string(workspace_root().join("spec/fezz.h")).unwrap(),
        "the installed fezz.h is spec/fezz.h"
    );
    let archive = std::fs::metadata(prefix.join("lib/libfezz_abi.a")).unwrap();
    assert!(
        archive.len() > 100_000,
        "libfezz_abi.a has {} bytes",
        archive.len()
    );
    assert_eq!(
        pkg_config(&["--modversion"]),
        [env!("CARGO_PKG_VERSION")],
        "fezz.pc's version"
    );
    assert_eq!(
        pkg_config(&["--cflags"]),
        [format!("-I{}", prefix.join("include").display())]
    );
    let libs = pkg_config(&["--libs"]);
    assert_eq!(
        libs[..2],
        [
            format!("-L{}", prefix.join("lib").display()),
            "-lfezz_abi".to_owned()
        ]
    );
    // The native libraries of the Rust standard library on Linux (glibc), then the options.
    for needed in [
        "-lgcc_s",
        "-lpthread",
        "-lc",
        "-Wl,--exclude-libs,ALL",
        "-Wl,--gc-sections",
    ] {
        assert!(
            libs.iter().any(|word| word == needed),
            "fezz.pc lacks {needed}: {libs:?}"
        );
    }
}

/// The header's `FEZZ_EXPORT` keeps the three entry points exported when a function is compiled
/// with `-fvisibility=hidden`; with the attribute defined away they disappear, so the check can
/// fail.
#[test]
fn documented_example_keeps_its_exports_under_hidden_visibility() {
    let dir = tempfile::tempdir().unwrap();
    let library = build_documented_example(dir.path(), "-fvisibility=hidden");
    assert_eq!(
        exported_functions(&library),
        ["fezz_abi_version", "fezz_free_v2", "fezz_handle_v2"]
    );
    let dir = tempfile::tempdir().unwrap();
    let library = build_documented_example(dir.path(), "-fvisibility=hidden -DFEZZ_EXPORT=");
    assert_eq!(exported_functions(&library), Vec::<String>::new());
}

/// The in-process test of spec/ABI.md ("Testing a C function"), built as its first line says
/// with the example function of "Building a C function", passes; and fails against a function
/// that answers something else (so it can fail).
#[test]
fn abi_md_testing_example_runs_the_handler_in_process() {
    let block = abi_md_block("<!-- testing-example", "c");
    let first = block.lines().next().unwrap();
    let command = first
        .split_once(": ")
        .and_then(|(_, rest)| rest.strip_suffix(" */"))
        .expect("the first line of the block is a comment with the command");
    assert!(command.starts_with("cc ") && command.contains(PKG_CONFIG_FLAGS));
    let example = abi_md_block("<!-- example: hello.c", "c");
    for (function, passes) in [
        (example.clone(), true),
        (example.replace("hello from %.*s", "hullo from %.*s"), false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hello_test.c"), &block).unwrap();
        std::fs::write(dir.path().join("hello.c"), function).unwrap();
        run(Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(dir.path())
            .env("PKG_CONFIG_PATH", installed_prefix().join("lib/pkgconfig")));
        let output = Command::new(dir.path().join("hello_test"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.success(),
            passes,
            "hello_test printed {stdout}"
        );
        assert_eq!(stdout.trim(), if passes { "ok" } else { "FAILED" });
    }
}
