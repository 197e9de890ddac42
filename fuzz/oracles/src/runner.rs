//! Oracle for the runner's serving loop: arbitrary bytes as a runner's stdin, through
//! `fezz_runner::serve` (the code path of the `fezz-runner` binary) with the Rust conformance
//! fixture loaded once.
//!
//! Properties: no panic; the output is a sequence of well-formed frames: response frames, then
//! at most one error frame, last; the exit is `ok` exactly when there is no error frame, and
//! otherwise the error frame's code is the exit's; the exit is what `spec/RUNNER.md`
//! ("Serving") and the fixture's behaviour (`conformance/FIXTURE.md`) predict from the input alone,
//! request by request: the right response for each request served (the echo, the status, or
//! the function's failure), then `ok` at a clean end, or `request-invalid` whose message
//! starts with the name of the frame or decoder error at the first bad frame.
//!
//! Inputs with a request the fixture answers by crashing, hanging or printing (`/abort`,
//! `/segfault`, `/hang`, `/panic`, `/stdout`) are skipped: in-process they would kill or stall
//! the fuzzer, or flood its log; the conformance suite runs them in real runner processes.

use std::path::PathBuf;
use std::sync::OnceLock;

use fezz_abi::frame::{split_frame, FrameKind};
use fezz_abi::limits::MAX_HEADER_COUNT;
use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::{
    decode_error, decode_request, decode_response, encode_response, Header, Request, Response,
};
use fezz_runner::Function;

/// The environment variable that names the function library to load instead of the fixture.
/// The oracle's predictions assume the fixture's behaviour.
pub const LIBRARY_VAR: &str = "FEZZ_FUZZ_LIBRARY";

/// Paths whose requests are skipped (see the module docs).
pub const SKIPPED_PATHS: [&str; 5] = ["/abort", "/segfault", "/hang", "/panic", "/stdout"];

/// The library loaded: `$FEZZ_FUZZ_LIBRARY`, else the workspace's
/// `target/debug/libfezz_fixture_rust.so` (built by `cargo build -p fezz-fixture-rust`).
pub fn library_path() -> PathBuf {
    match std::env::var_os(LIBRARY_VAR) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/debug")
            .join(format!(
                "libfezz_fixture_rust.{}",
                std::env::consts::DLL_EXTENSION
            )),
    }
}

fn function() -> &'static Function {
    static FUNCTION: OnceLock<Function> = OnceLock::new();
    FUNCTION.get_or_init(|| {
        let path = library_path();
        Function::load(&path).unwrap_or_else(|error| {
            panic!(
                "cannot load the function library {} ({error}); build it with \
                 `cargo build -p fezz-fixture-rust` or set {LIBRARY_VAR}",
                path.display()
            )
        })
    })
}

/// What the fixture does with one request.
enum Predicted {
    /// A response frame with this response.
    Respond(Response),
    /// `function-failed`, with an error frame whose message starts with this.
    Fail(String),
    /// Something the oracle does not predict exactly (a response too large to encode).
    Either,
}

/// The fixture's behaviour (`conformance/fixtures/rust`, after `conformance/FIXTURE.md`).
fn predict(request: &Request) -> Predicted {
    let invalid = || Predicted::Fail("invalid-value: ".to_owned());
    if let Some(digits) = request.path.strip_prefix("/status/") {
        if digits.len() == 3 && digits.bytes().all(|byte| byte.is_ascii_digit()) {
            let status: u16 = digits.parse().expect("three digits");
            return match status {
                200..=599 => Predicted::Respond(Response::new(status)),
                _ => invalid(),
            };
        }
    }
    if request.path == "/error-code" {
        return Predicted::Fail("fixture-error: fixture error".to_owned());
    }
    let mut headers = vec![
        Header::new("x-echo-method", request.method.as_str()),
        Header::new("x-echo-path", request.path.as_str()),
    ];
    if let Some(query) = &request.query {
        headers.push(Header::new("x-echo-query", query.as_str()));
    }
    if headers.iter().any(|header| {
        header
            .value
            .iter()
            .any(|byte| *byte != b'\t' && (*byte < 0x20 || *byte == 0x7f))
    }) {
        return invalid();
    }
    let room = MAX_HEADER_COUNT - headers.len();
    headers.extend(request.headers.iter().take(room).cloned());
    let response = Response {
        headers,
        body: request.body.clone(),
        ..Response::new(200)
    };
    match encode_response(&response) {
        Ok(_) => Predicted::Respond(response),
        Err(_) => Predicted::Either,
    }
}

/// How the input ends, as far as the runner reads it.
enum InputEnd {
    /// At a frame boundary, after the valid requests.
    Clean,
    /// At a bad frame: `request-invalid`, message starting with this error name.
    Invalid(String),
}

/// Oracle of the `runner_stdin` target.
pub fn runner_stdin(data: &[u8]) {
    // What the runner will read: valid requests, then the end.
    let mut requests = Vec::new();
    let mut rest = data;
    let end = loop {
        if rest.is_empty() {
            break InputEnd::Clean;
        }
        let (kind, payload, after) = match split_frame(rest) {
            Ok(frame) => frame,
            Err(error) => break InputEnd::Invalid(error.name().to_owned()),
        };
        if kind != FrameKind::Request {
            break InputEnd::Invalid("frame-bad-kind".to_owned());
        }
        match decode_request(payload) {
            Ok(request) => {
                if SKIPPED_PATHS.contains(&request.path.as_str()) {
                    return;
                }
                requests.push(request);
            }
            Err(error) => break InputEnd::Invalid(error.kind().name().to_owned()),
        }
        rest = after;
    };

    let mut output = Vec::new();
    let exit = fezz_runner::serve(function(), &mut &data[..], &mut output);

    // The output: response frames, then at most one error frame, and nothing else.
    let mut responses = Vec::new();
    let mut error = None;
    let mut rest = output.as_slice();
    while !rest.is_empty() {
        let (kind, payload, after) = split_frame(rest)
            .unwrap_or_else(|problem| panic!("the runner wrote a bad frame: {problem}"));
        assert!(
            error.is_none(),
            "the runner wrote a frame after its error frame"
        );
        match kind {
            FrameKind::Response => {
                responses.push(decode_response(payload).unwrap_or_else(|problem| {
                    panic!("a response frame that does not decode: {problem}")
                }))
            }
            FrameKind::Error => {
                error = Some(decode_error(payload).unwrap_or_else(|problem| {
                    panic!("an error frame that does not decode: {problem}")
                }))
            }
            FrameKind::Request => panic!("the runner wrote a request frame"),
        }
        rest = after;
    }
    match &error {
        None => assert_eq!(
            exit,
            RunnerExit::Success,
            "exit {exit:?} without an error frame"
        ),
        Some(error) => {
            assert_ne!(
                exit,
                RunnerExit::Success,
                "exit 0 with an error frame: {error:?}"
            );
            assert_eq!(
                error.code,
                exit.error_code(),
                "the error frame's code and the exit disagree"
            );
        }
    }

    // Request by request, what the fixture and the runner must have done.
    for (index, request) in requests.iter().enumerate() {
        let served = responses.get(index);
        match predict(request) {
            Predicted::Respond(expected) => {
                let response = served.unwrap_or_else(|| {
                    panic!(
                        "request {index} ({} {}) got no response; exit {exit:?}, error {error:?}",
                        request.method, request.path
                    )
                });
                assert_eq!(
                    response, &expected,
                    "request {index}: not the fixture's response"
                );
            }
            Predicted::Fail(prefix) => {
                assert_eq!(
                    responses.len(),
                    index,
                    "request {index} must fail the call, not be answered"
                );
                assert_eq!(exit, RunnerExit::FunctionFailed);
                let message = &error.as_ref().expect("checked above").message;
                assert!(
                    message.starts_with(&prefix),
                    "request {index}: error message {message:?} does not start with {prefix:?}"
                );
                return;
            }
            Predicted::Either => {
                if served.is_none() {
                    return;
                }
            }
        }
    }
    assert_eq!(
        responses.len(),
        requests.len(),
        "more responses than requests"
    );
    match end {
        InputEnd::Clean => assert_eq!(exit, RunnerExit::Success),
        InputEnd::Invalid(name) => {
            assert_eq!(exit, RunnerExit::RequestInvalid);
            let message = &error.as_ref().expect("checked above").message;
            assert!(
                message.starts_with(&name),
                "request-invalid message {message:?} does not start with {name:?}"
            );
        }
    }
}
