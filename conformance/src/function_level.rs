//! The `function` level: properties every function library must hold, checked by running it
//! under a runner (the reference `fezz-runner` unless `--runner` says otherwise).
//!
//! For every valid request vector, and for generated requests that functions tend to trip on
//! (empty, binary and 1 MiB bodies, header values that are not UTF-8, unusual methods, the most
//! headers a request may have, a full context, several requests in one process), the runner
//! must exit 0 after writing exactly one valid response frame per request. Any status is fine:
//! the level checks that the function answers, not what it answers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fezz_abi::limits::MAX_HEADER_COUNT;
use fezz_abi::{Header, Request};

use crate::expected_failures::Case;
use crate::messages::{
    context, encode_request_frame, now_unix_ms, parse_stdout, request_frame, StdoutFrame,
};
use crate::process::{self, RunnerCommand};
use crate::request_vectors;

/// The trial kind (shown as `[function]` by `--list`).
pub const KIND: &str = "function";
/// How long one runner process may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// What the function level runs.
#[derive(Debug, Clone)]
pub struct FunctionLevel {
    /// The runner that loads the function.
    pub runner: RunnerCommand,
    /// The function library under test.
    pub function: PathBuf,
    /// `spec/vectors`.
    pub vectors_dir: PathBuf,
}

fn request(method: &str, path: &str, index: usize) -> Request {
    let mut request = Request::new(method, path);
    request.context = context(index);
    request
}

/// The generated cases: name and the requests written to one runner process.
pub fn generated_cases() -> Vec<(String, Vec<Request>)> {
    let mut cases = Vec::new();
    let mut add =
        |name: &str, requests: Vec<Request>| cases.push((format!("generated/{name}"), requests));

    add("empty-body", vec![request("POST", "/", 1)]);

    let mut binary = request("POST", "/", 1);
    binary.body = (0..=255u8).cycle().take(4096).collect();
    binary
        .headers
        .push(Header::new("content-type", "application/octet-stream"));
    add("binary-body", vec![binary]);

    let mut large = request("PUT", "/upload", 1);
    large.body = vec![b'x'; 1024 * 1024];
    add("one-mib-body", vec![large]);

    let mut non_utf8 = request("GET", "/", 1);
    non_utf8
        .headers
        .push(Header::new("x-latin1", b"caf\xe9".to_vec()));
    non_utf8
        .headers
        .push(Header::new("x-bytes", vec![0x80, 0xff, 0xfe, b' ', b'\t']));
    non_utf8.headers.push(Header::new("x-empty", Vec::new()));
    add("non-utf8-header-values", vec![non_utf8]);

    for method in [
        "OPTIONS", "PATCH", "PROPFIND", "TRACE", "M-SEARCH", "get", "X_CUSTOM",
    ] {
        add(&format!("method-{method}"), vec![request(method, "/", 1)]);
    }

    let mut many = request("GET", "/", 1);
    many.headers = (0..MAX_HEADER_COUNT)
        .map(|i| Header::new(format!("x-h{i}"), format!("{i}")))
        .collect();
    add("max-header-count", vec![many]);

    let mut full = request("GET", "/a%20b/%C3%A9", 1);
    full.query = Some("q=1&q=2&empty=&flag".to_owned());
    full.context.deadline_unix_ms = Some(now_unix_ms() + 60_000);
    full.context.client_address = Some("[::1]:54321".to_owned());
    full.context.scheme = Some("https".to_owned());
    full.context.host = Some("example.test".to_owned());
    add("full-context", vec![full]);

    let mut empty_query = request("GET", "/", 1);
    empty_query.query = Some(String::new());
    add("empty-query", vec![empty_query]);

    add("asterisk-path", vec![request("OPTIONS", "*", 1)]);

    let three = (1..=3)
        .map(|i| request(["GET", "POST", "DELETE"][i - 1], "/", i))
        .collect();
    add("three-requests-in-one-process", three);
    cases
}

/// The function-level cases.
pub fn cases(level: FunctionLevel) -> Result<Vec<Case>, String> {
    let level = Arc::new(level);
    let mut cases = Vec::new();
    for file in request_vectors::load(&level.vectors_dir)? {
        let level = Arc::clone(&level);
        cases.push(Case::new(KIND, file.path.clone(), move || {
            let requests = file.cases()?;
            let stdin: Vec<u8> = requests
                .iter()
                .flat_map(|case| request_frame(&case.bytes))
                .collect();
            check(&level, stdin, requests.len())
        }));
    }
    for (name, requests) in generated_cases() {
        let level = Arc::clone(&level);
        cases.push(Case::new(KIND, name, move || {
            let mut stdin = Vec::new();
            for request in &requests {
                stdin.extend(encode_request_frame(request)?);
            }
            check(&level, stdin, requests.len())
        }));
    }
    Ok(cases)
}

fn check(level: &FunctionLevel, stdin: Vec<u8>, requests: usize) -> Result<(), String> {
    let outcome = process::run(&level.runner, &level.function, stdin, TIMEOUT, &[])
        .map_err(|error| error.to_string())?;
    let mut problems = Vec::new();
    if !outcome.leftovers.is_empty() {
        problems.push(format!(
            "the function left processes behind: {:?}",
            outcome.leftovers
        ));
    }
    if outcome.timed_out || !outcome.status.success() {
        problems.push(format!(
            "the runner did not exit 0: {}",
            outcome.describe_status()
        ));
    }
    match parse_stdout(&outcome.stdout) {
        Ok(frames) => {
            for (index, frame) in frames.iter().enumerate() {
                if let StdoutFrame::Error(error) = frame {
                    problems.push(format!(
                        "request {}: error frame {}: {}",
                        index + 1,
                        error.code,
                        error.message
                    ));
                }
            }
            if frames.len() != requests {
                problems.push(format!(
                    "{requests} requests were written but {} frames came back",
                    frames.len()
                ));
            }
        }
        Err(error) => problems.push(error),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n(function: {}; runner: {}; {})",
            problems.join("\n"),
            level.function.display(),
            level.runner.display(),
            outcome.stderr_tail()
        ))
    }
}
