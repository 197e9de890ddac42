//! The `fezz-runner` binary, driven as a host drives it: every exit of `spec/RUNNER.md`
//! ("Exit codes") with its exact stdout, stderr kept apart from stdout, several frames in one
//! stdin, broken stdin, and `fezz_free_v2` called exactly once per call.
//!
//! Libraries: the Rust conformance fixture (built by `cargo build --workspace`) and
//! `tests/c/misbehaving.c`, compiled per test with `cc`.

mod support;

use std::ffi::OsStr;
use std::fs;

use fezz_abi::frame::FrameKind;
use fezz_abi::limits::MAX_MESSAGE_BYTES;
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{encode_request, encode_response, Header, Request, Response};

use support::{fixture, frame, request, request_frame, run, run_with, CLibrary};

/// What the fixture answers to `request` on its default ("echo") route.
fn echo_of(request: &Request) -> Response {
    let mut response = Response::new(200)
        .with_header("x-echo-method", request.method.as_str())
        .with_header("x-echo-path", request.path.as_str());
    if let Some(query) = &request.query {
        response = response.with_header("x-echo-query", query.as_str());
    }
    response.headers.extend(request.headers.iter().cloned());
    response.with_body(request.body.clone())
}

fn response_frame(response: &Response) -> Vec<u8> {
    frame(FrameKind::Response, &encode_response(response).unwrap())
}

fn exit(exit: RunnerExit) -> i32 {
    i32::from(exit.code())
}

// ---- 0 ok --------------------------------------------------------------------------------

#[test]
fn one_request_gets_exactly_one_response_frame() {
    let request = request("/hello");
    let outcome = run(&fixture(), &request_frame(&request));
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, response_frame(&echo_of(&request)));
}

#[test]
fn several_requests_in_one_stdin_get_one_response_each_in_order() {
    let first = request("/first");
    let mut second = request("/second");
    second.query = None;
    second
        .headers
        .push(Header::new("x-more", b"\xff\tbytes".to_vec()));
    let third = Request::new("GET", "/status/201");
    let stdin = [
        request_frame(&first),
        request_frame(&second),
        request_frame(&third),
    ]
    .concat();
    let outcome = run(&fixture(), &stdin);
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    let expected = [
        response_frame(&echo_of(&first)),
        response_frame(&echo_of(&second)),
        response_frame(&Response::new(201)),
    ]
    .concat();
    assert_eq!(outcome.stdout, expected);
}

#[test]
fn empty_stdin_is_a_clean_end() {
    let outcome = run(&fixture(), b"");
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert!(outcome.stdout.is_empty(), "{outcome:?}");
}

#[test]
fn the_panic_route_is_a_structured_500_response() {
    let outcome = run(&fixture(), &request_frame(&request("/panic")));
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    let expected = fezz_abi::boundary::panic_response("fixture panic");
    assert_eq!(outcome.stdout, response_frame(&expected));
    // The library's own panic hook reports it on stderr, which is free text.
    assert!(outcome.stderr.contains("fixture panic"), "{outcome:?}");
}

#[test]
fn what_the_function_prints_on_stdout_goes_to_stderr() {
    let request = request("/stdout");
    let outcome = run(&fixture(), &request_frame(&request));
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.stdout, response_frame(&echo_of(&request)));
    assert!(outcome.stderr.contains("fixture noise\n"), "{outcome:?}");
}

#[test]
fn a_library_that_prints_while_loading_and_handling_cannot_corrupt_stdout() {
    let library = CLibrary::build("NOISY");
    let stdin = [request_frame(&request("/a")), request_frame(&request("/b"))].concat();
    let outcome = run(&library.path, &stdin);
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    let valid = [0xa3, 0x00, 0x02, 0x01, 0x18, 0xc8, 0x09, 0x00];
    assert_eq!(
        outcome.stdout,
        [
            frame(FrameKind::Response, &valid),
            frame(FrameKind::Response, &valid)
        ]
        .concat()
    );
    assert!(outcome.stderr.contains("constructor noise"), "{outcome:?}");
    assert_eq!(
        outcome.stderr.matches("handler noise").count(),
        2,
        "{outcome:?}"
    );
    assert_eq!(outcome.free_calls(), 2, "{outcome:?}");
}

#[test]
fn the_response_bytes_are_written_verbatim_not_re_encoded() {
    // {0: 2, 1: 200, 9: 0}: valid, with an unknown key that re-encoding would drop.
    let library = CLibrary::build("VALID");
    let outcome = run(&library.path, &request_frame(&request("/")));
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(
        outcome.stdout,
        frame(
            FrameKind::Response,
            &[0xa3, 0x00, 0x02, 0x01, 0x18, 0xc8, 0x09, 0x00]
        )
    );
    assert_eq!(outcome.free_calls(), 1, "{outcome:?}");
}

#[test]
fn a_function_reading_stdin_sees_end_of_input_not_the_next_frame() {
    let library = CLibrary::build("READ_STDIN");
    let stdin = [request_frame(&request("/a")), request_frame(&request("/b"))].concat();
    let outcome = run(&library.path, &stdin);
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.frames().len(), 2, "{outcome:?}");
}

#[test]
fn a_version_3_library_is_called_through_the_v2_symbols() {
    let library = CLibrary::build("VERSION_3");
    let outcome = run(&library.path, &request_frame(&request("/")));
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.frames().len(), 1);
}

#[test]
fn a_bare_file_name_is_loaded_from_the_working_directory() {
    let library = CLibrary::build("VALID");
    let name = library.path.file_name().unwrap();
    let outcome = run_with(
        &[name],
        &request_frame(&request("/")),
        Some(library.dir.path()),
    );
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
}

// ---- 2 usage -----------------------------------------------------------------------------

#[test]
fn no_argument_is_usage() {
    let outcome = run_with(&[], b"", None);
    let message = outcome.expect_failure(exit(RunnerExit::Usage), "usage");
    assert!(
        message.contains("usage: fezz-runner LIBRARY-PATH"),
        "{message}"
    );
}

#[test]
fn two_arguments_or_an_unknown_option_is_usage() {
    let library = fixture();
    let two = [library.as_os_str(), OsStr::new("extra")];
    let message = run_with(&two, b"", None).expect_failure(2, "usage");
    assert!(message.contains("unexpected argument extra"), "{message}");
    let option = [OsStr::new("--verbose"), library.as_os_str()];
    let message = run_with(&option, b"", None).expect_failure(2, "usage");
    assert!(message.contains("unknown option --verbose"), "{message}");
}

#[test]
fn double_dash_ends_options() {
    let library = fixture();
    let args = [OsStr::new("--"), library.as_os_str()];
    let outcome = run_with(&args, &request_frame(&request("/")), None);
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
}

// ---- 10 request-invalid ------------------------------------------------------------------

fn expect_request_invalid(stdin: &[u8], message_start: &str) {
    let outcome = run(&fixture(), stdin);
    let message = outcome.expect_failure(exit(RunnerExit::RequestInvalid), "request-invalid");
    assert!(
        message.starts_with(message_start),
        "{message:?} does not start with {message_start:?}"
    );
}

#[test]
fn garbage_stdin_is_request_invalid() {
    expect_request_invalid(b"GET / HTTP/1.1\r\n\r\n", "frame-bad-magic: ");
}

#[test]
fn a_truncated_header_is_request_invalid() {
    expect_request_invalid(b"FZ\x01\x00\x00", "frame-truncated: ");
}

#[test]
fn a_truncated_payload_is_request_invalid() {
    let whole = request_frame(&request("/"));
    expect_request_invalid(&whole[..whole.len() - 1], "frame-truncated: ");
}

#[test]
fn an_oversized_frame_is_refused_from_its_header() {
    // Only the header is sent: the runner must not wait for 16 MiB that never come.
    let length = (MAX_MESSAGE_BYTES as u32 + 1).to_be_bytes();
    let header = [b'F', b'Z', 1, 0, length[0], length[1], length[2], length[3]];
    expect_request_invalid(&header, "frame-too-large: ");
}

#[test]
fn a_bad_kind_or_reserved_byte_is_request_invalid() {
    expect_request_invalid(b"FZ\x07\x00\x00\x00\x00\x00", "frame-bad-kind: ");
    expect_request_invalid(b"FZ\x01\x01\x00\x00\x00\x00", "frame-bad-kind: ");
}

#[test]
fn a_response_or_error_frame_on_stdin_is_request_invalid() {
    let payload = encode_response(&Response::new(200)).unwrap();
    expect_request_invalid(
        &frame(FrameKind::Response, &payload),
        "frame-bad-kind: a response frame",
    );
    expect_request_invalid(
        &frame(FrameKind::Error, &payload),
        "frame-bad-kind: an error frame",
    );
}

#[test]
fn a_payload_that_is_not_a_request_is_refused_before_the_function_is_called() {
    let library = CLibrary::build("VALID");
    let outcome = run(&library.path, &frame(FrameKind::Request, &[0xa0]));
    let message = outcome.expect_failure(10, "request-invalid");
    assert!(message.starts_with("missing-key at byte "), "{message}");
    assert_eq!(
        outcome.free_calls(),
        0,
        "the function was called: {outcome:?}"
    );
}

#[test]
fn a_good_frame_then_garbage_gives_a_response_then_the_error_frame() {
    let request = request("/");
    let stdin = [request_frame(&request), b"junk".to_vec()].concat();
    let outcome = run(&fixture(), &stdin);
    assert_eq!(outcome.code(), Some(10), "{outcome:?}");
    let frames = outcome.frames();
    assert_eq!(frames.len(), 2, "{outcome:?}");
    assert_eq!(
        frame(frames[0].0, &frames[0].1),
        response_frame(&echo_of(&request))
    );
    assert_eq!(frames[1].0, FrameKind::Error);
    let error = fezz_abi::decode_error(&frames[1].1).unwrap();
    assert_eq!(error.code, "request-invalid");
}

// ---- 11 library-load-failed --------------------------------------------------------------

#[test]
fn a_missing_file_is_library_load_failed_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libmissing.so");
    let message =
        run(&path, b"").expect_failure(exit(RunnerExit::LibraryLoadFailed), "library-load-failed");
    assert!(message.contains(path.to_str().unwrap()), "{message}");
}

#[test]
fn a_file_that_is_not_a_library_is_library_load_failed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libtext.so");
    fs::write(&path, "not an ELF file\n").unwrap();
    let message =
        run(&path, &request_frame(&request("/"))).expect_failure(11, "library-load-failed");
    assert!(message.contains(path.to_str().unwrap()), "{message}");
}

#[test]
fn a_bare_name_is_not_searched_for_on_the_system() {
    // `libc.so.6` exists on the system, but not in the working directory.
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_with(&[OsStr::new("libc.so.6")], b"", Some(dir.path()));
    outcome.expect_failure(11, "library-load-failed");
}

// ---- 12 symbol-missing -------------------------------------------------------------------

#[test]
fn each_missing_symbol_is_symbol_missing_naming_it() {
    for (mode, symbol) in [
        ("NO_VERSION", "fezz_abi_version"),
        ("NO_HANDLE", "fezz_handle_v2"),
        ("NO_FREE", "fezz_free_v2"),
    ] {
        let library = CLibrary::build(mode);
        let outcome = run(&library.path, &request_frame(&request("/")));
        let message = outcome.expect_failure(exit(RunnerExit::SymbolMissing), "symbol-missing");
        assert!(message.starts_with(symbol), "{mode}: {message}");
    }
}

// ---- 13 abi-version-mismatch -------------------------------------------------------------

#[test]
fn version_1_is_refused_without_calling_the_function() {
    // MODE_VERSION_1's fezz_handle_v2 aborts: a SIGABRT here would mean it was called.
    let library = CLibrary::build("VERSION_1");
    let outcome = run(&library.path, &request_frame(&request("/")));
    let message =
        outcome.expect_failure(exit(RunnerExit::AbiVersionMismatch), "abi-version-mismatch");
    assert!(message.contains("returned 1"), "{message}");
    assert!(message.contains("version 2"), "{message}");
    assert_eq!(outcome.free_calls(), 0);
}

// ---- 14 function-failed ------------------------------------------------------------------

#[test]
fn an_err_from_a_rust_function_is_function_failed_with_its_error() {
    let outcome = run(&fixture(), &request_frame(&request("/error-code")));
    let message = outcome.expect_failure(exit(RunnerExit::FunctionFailed), "function-failed");
    assert_eq!(message, "fixture-error: fixture error");
    assert!(
        outcome
            .stderr
            .contains("function-failed: fixture-error: fixture error"),
        "{outcome:?}"
    );
}

#[test]
fn a_c_error_with_a_message_is_function_failed_with_it_and_freed_once() {
    let library = CLibrary::build("ERROR_WITH_MESSAGE");
    let outcome = run(&library.path, &request_frame(&request("/")));
    assert_eq!(outcome.expect_failure(14, "function-failed"), "db: down");
    assert_eq!(outcome.free_calls(), 1);
}

/// `spec/RUNNER.md`, "Error frames": a message past `MAX_TEXT_BYTES` is cut at a UTF-8
/// character boundary and ends with `…`, at most `MAX_TEXT_BYTES` bytes in all.
#[test]
fn a_library_error_too_long_for_the_frame_is_cut_at_a_character_boundary() {
    let library = CLibrary::build("LONG_ERROR");
    let outcome = run(&library.path, &request_frame(&request("/")));
    let message = outcome.expect_failure(14, "function-failed");
    // "c" x 16000, ": ", then the euro signs (3 bytes each) that fit before the 3 bytes of
    // "…" within 16384: 126 of them (16380 bytes), then "…": 16383 bytes.
    let expected = format!("{}: {}…", "c".repeat(16000), "€".repeat(126));
    assert_eq!(message.len(), 16383);
    assert_eq!(message, expected);
    assert!(message.len() <= fezz_abi::limits::MAX_TEXT_BYTES);
    assert_eq!(outcome.free_calls(), 1);
}

#[test]
fn a_result_code_without_an_error_is_named() {
    let library = CLibrary::build("PANIC_CODE");
    let outcome = run(&library.path, &request_frame(&request("/")));
    assert_eq!(
        outcome.expect_failure(14, "function-failed"),
        "fezz_handle_v2 returned FEZZ_RESULT_PANIC (4)"
    );
    // An all-zero buffer is released too.
    assert_eq!(outcome.free_calls(), 1);
}

#[test]
fn an_unknown_result_code_with_garbage_is_function_failed_and_freed_once() {
    let library = CLibrary::build("UNKNOWN_CODE");
    let outcome = run(&library.path, &request_frame(&request("/")));
    assert_eq!(
        outcome.expect_failure(14, "function-failed"),
        "fezz_handle_v2 returned FEZZ_RESULT_UNKNOWN (42)"
    );
    assert_eq!(outcome.free_calls(), 1);
}

#[test]
fn serving_stops_at_the_first_failure() {
    let library = CLibrary::build("ERROR_WITH_MESSAGE");
    let stdin = [request_frame(&request("/a")), request_frame(&request("/b"))].concat();
    let outcome = run(&library.path, &stdin);
    outcome.expect_failure(14, "function-failed");
    assert_eq!(
        outcome.free_calls(),
        1,
        "the second request was served: {outcome:?}"
    );
}

// ---- 15 response-invalid -----------------------------------------------------------------

#[test]
fn garbage_bytes_with_ok_are_response_invalid_and_freed_once() {
    let library = CLibrary::build("GARBAGE_OK");
    let outcome = run(&library.path, &request_frame(&request("/")));
    let message = outcome.expect_failure(exit(RunnerExit::ResponseInvalid), "response-invalid");
    assert!(message.contains(" at byte "), "{message}");
    assert_eq!(outcome.free_calls(), 1);
}

#[test]
fn a_response_the_wire_forbids_is_response_invalid_naming_the_rule() {
    for (mode, rule) in [
        ("INFORMATIONAL_OK", "status 101 is informational (1xx)"),
        (
            "CONTROL_HEADER_OK",
            "header \"x\": header value has the control byte 0x1b",
        ),
    ] {
        let library = CLibrary::build(mode);
        let outcome = run(&library.path, &request_frame(&request("/")));
        let message = outcome.expect_failure(15, "response-invalid");
        assert!(
            message.starts_with("invalid-value at byte ") && message.contains(rule),
            "{mode}: {message}"
        );
        assert_eq!(outcome.free_calls(), 1);
    }
}

#[test]
fn a_null_buffer_with_ok_is_response_invalid() {
    let library = CLibrary::build("NULL_OK");
    let outcome = run(&library.path, &request_frame(&request("/")));
    let message = outcome.expect_failure(15, "response-invalid");
    assert!(message.contains("NULL"), "{message}");
    assert_eq!(outcome.free_calls(), 1);
}

#[test]
fn an_empty_buffer_with_ok_is_response_invalid() {
    let library = CLibrary::build("EMPTY_OK");
    let outcome = run(&library.path, &request_frame(&request("/")));
    let message = outcome.expect_failure(15, "response-invalid");
    assert!(message.starts_with("truncated at byte 0"), "{message}");
    assert_eq!(outcome.free_calls(), 1);
}

#[test]
fn every_successful_call_is_freed_exactly_once() {
    let library = CLibrary::build("VALID");
    let stdin = [
        request_frame(&request("/a")),
        request_frame(&request("/b")),
        request_frame(&request("/c")),
    ]
    .concat();
    let outcome = run(&library.path, &stdin);
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.frames().len(), 3);
    assert_eq!(outcome.free_calls(), 3);
}

// ---- 16 runner-internal ------------------------------------------------------------------

#[test]
fn a_stdout_that_cannot_be_written_is_runner_internal() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(support::runner())
        .arg(fixture())
        .stdin(Stdio::piped())
        .stdout(fs::File::create("/dev/full").unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        &request_frame(&request("/")),
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(exit(RunnerExit::Internal)),
        "{stderr}"
    );
    assert!(
        stderr.starts_with("runner-internal: writing a response frame failed"),
        "{stderr}"
    );
}

#[test]
fn a_stdin_that_cannot_be_read_is_runner_internal() {
    use std::process::{Command, Stdio};
    // Reading a directory fails with EISDIR: an I/O error, not end of input.
    let output = Command::new(support::runner())
        .arg(fixture())
        .stdin(fs::File::open("/").unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let outcome = support::Outcome {
        status: output.status,
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let message = outcome.expect_failure(16, "runner-internal");
    assert!(message.starts_with("reading stdin failed"), "{message}");
}

// ---- crashes are signals, not exit codes -------------------------------------------------

#[test]
fn a_segfault_or_abort_kills_the_runner_with_its_signal_and_nothing_on_stdout() {
    for (path, signal) in [("/segfault", libc::SIGSEGV), ("/abort", libc::SIGABRT)] {
        let outcome = run(&fixture(), &request_frame(&request(path)));
        assert_eq!(outcome.signal(), Some(signal), "{path}: {outcome:?}");
        assert!(outcome.stdout.is_empty(), "{path}: {outcome:?}");
    }
}

#[test]
fn every_exit_is_covered_by_a_test_above() {
    // A new RunnerExit needs a test here; this fails first to say so.
    let covered = [0, 2, 10, 11, 12, 13, 14, 15, 16];
    let all: Vec<i32> = RunnerExit::ALL
        .iter()
        .map(|exit| i32::from(exit.code()))
        .collect();
    assert_eq!(all, covered);
    let _ = encode_request(&request("/")).unwrap();
}

// ---- the runner dies with its parent -----------------------------------------------------

#[test]
fn the_runner_is_killed_when_its_parent_dies() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    // sh starts the runner in the background on our stdin pipe (kept open, so the runner
    // waits for a frame), prints its pid and waits. Killing sh must kill the runner. (A
    // background job's stdin is /dev/null unless redirected from another descriptor.)
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 3<&0; "$0" "$1" <&3 3<&- & echo $!; wait"#)
        .arg(support::runner())
        .arg(fixture())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _stdin = shell.stdin.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(shell.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: u32 = line.trim().parse().expect("sh printed the runner's pid");
    let proc_dir = format!("/proc/{pid}");
    let alive = || match fs::read_to_string(format!("{proc_dir}/stat")) {
        // The state follows the parenthesised command name; a zombie is dead.
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    };
    // fd 0 becomes /dev/null once the runner has protected its stdio, which comes after
    // PR_SET_PDEATHSIG.
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::read_link(format!("{proc_dir}/fd/0")).ok().as_deref()
        != Some(std::path::Path::new("/dev/null"))
    {
        assert!(
            Instant::now() < deadline,
            "the runner never started serving"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    shell.kill().unwrap();
    shell.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive() {
        assert!(Instant::now() < deadline, "the runner outlived its parent");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Started with too few descriptors to move its protocol streams (`RLIMIT_NOFILE` 4 and 5), the
/// runner ends with `runner-internal` and its error frame still reaches the original stdout,
/// because it takes every descriptor before it replaces fd 0 or 1 (spec/RUNNER.md, "Startup").
#[test]
fn running_out_of_descriptors_while_moving_stdio_is_16_with_the_frame_on_stdout() {
    use std::os::unix::process::CommandExt;
    for limit in [4u64, 5] {
        let mut command = std::process::Command::new(support::runner());
        command.arg(support::fixture());
        let rlimit = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: between fork and exec the closure only calls setrlimit (async-signal-safe).
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let output = command
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the runner starts");
        assert_eq!(output.status.code(), Some(16), "limit {limit}: {output:?}");
        let (kind, payload, rest) =
            fezz_abi::frame::split_frame(&output.stdout).expect("an error frame on stdout");
        assert_eq!(kind, FrameKind::Error, "limit {limit}");
        assert!(rest.is_empty(), "limit {limit}: {output:?}");
        let error = fezz_abi::decode_error(payload).unwrap();
        assert_eq!(error.code, "runner-internal", "limit {limit}");
    }
}
