//! The `function` level: properties every function library must hold, checked by running it
//! under a runner (the reference `fezz-runner` unless `--runner` says otherwise).
//!
//! For every valid request vector, and for generated requests that functions tend to trip on
//! (empty, binary and 1 MiB bodies, header values that are not UTF-8, unusual methods, the most
//! headers a request may have, a full context, several requests in one process), the runner
//! must exit 0 after writing exactly one valid response frame per request. Any status is fine:
//! the level checks that the function answers, not what it answers, except that the response
//! must be one a host can send (a final status, header values HTTP can carry: the wire's value
//! rules); a response that breaks one fails the case, naming the rule.
//!
//! [`environment_report`] says what the function sees under this level (working directory,
//! environment, descriptors, limits, user) and where a host such as hhrf differs; the suite
//! prints it before the cases.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fezz_abi::limits::MAX_HEADER_COUNT;
use fezz_abi::runner_protocol::RunnerExit;
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

/// The requirement ids the function level's cases exercise, by case name (for
/// [`crate::requirements`]).
pub const CITATIONS: &[(&str, &[&str])] = &[
    ("abi/free-zero-buffer", &["function-free-zero-buffer"]),
    (
        "abi/null-response-argument",
        &["function-null-response-argument"],
    ),
    (
        "request/*, generated/* (every request answered with one valid response)",
        &[
            "function-answers-valid-requests",
            "function-error-says-why",
            "function-catches-exceptions",
            "function-no-exit",
        ],
    ),
    (
        "generated/three-requests-in-one-process",
        &["function-many-calls"],
    ),
];

/// The function-level cases.
pub fn cases(level: FunctionLevel) -> Result<Vec<Case>, String> {
    let level = Arc::new(level);
    let mut cases = Vec::new();
    for (check, _) in crate::abi_check::CHECKS {
        let function = level.function.clone();
        cases.push(Case::new(KIND, format!("abi/{check}"), move || {
            crate::abi_check::run_isolated(check, &function)
        }));
    }
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
    problems.extend(sanitizer_reports(&outcome.stderr));
    match parse_stdout(&outcome.stdout) {
        Ok(frames) => {
            for (index, frame) in frames.iter().enumerate() {
                if let StdoutFrame::Error(error) = frame {
                    if error.code == RunnerExit::ResponseInvalid.error_code()
                        && error.message.starts_with("invalid-value")
                    {
                        problems.push(format!(
                            "request {}: the function's response cannot be sent by a host: {}",
                            index + 1,
                            error.message
                        ));
                    }
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
        Err(error) if error.contains(": invalid-value at byte ") => problems.push(format!(
            "the function's response cannot be sent by a host (the runner passed it on): {error}"
        )),
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

/// The reports of AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer in a
/// runner's stderr, one line each (`==12==ERROR: AddressSanitizer: heap-buffer-overflow …`,
/// `SUMMARY: …`, `f.c:3:5: runtime error: …`), so that a failure names the sanitizer even
/// when the stderr tail shown below it starts after the report's first line.
fn sanitizer_reports(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|line| {
            (line.contains("ERROR: ") && line.contains("Sanitizer"))
                || (line.starts_with("SUMMARY: ") && line.contains("Sanitizer"))
                || line.contains(": runtime error: ")
        })
        .take(8)
        .map(|line| format!("a sanitizer reported: {}", line.trim()))
        .collect()
}

/// What the function sees under this level, and where a host differs, as lines for people:
/// the runner, the working directory, the environment (the names the contract gives meaning
/// to, with their values), the descriptors, the resource limits and the user. The runner and
/// the function inherit all of it from the suite, apart from what the runner itself changes
/// (`spec/RUNNER.md`, "Startup").
pub fn environment_report(level: &FunctionLevel) -> String {
    let mut lines = vec![
        "function level: what the function sees (a host such as hhrf differs where noted)"
            .to_owned(),
    ];
    let mut line = |name: &str, value: String| lines.push(format!("  {name:<12} {value}"));
    line("library", level.function.display().to_string());
    line(
        "runner",
        format!(
            "{} (the reference runner puts /dev/null on fd 0 and fd 1 on fd 2 before loading \
             the library, and contains the call in a PID namespace when it can)",
            level.runner.display()
        ),
    );
    let cwd = std::env::current_dir()
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|error| format!("unknown ({error})"));
    line(
        "cwd",
        format!("{cwd} (the suite's; hhrf: the function's folder)"),
    );
    let variables: Vec<(String, String)> = std::env::vars_os()
        .map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let shown: Vec<String> = variables
        .iter()
        .filter(|(name, _)| {
            name == "PATH"
                || name == "TMPDIR"
                || name.starts_with("FEZZ_")
                || name.starts_with("LD_")
                || name.ends_with("SAN_OPTIONS")
        })
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    line(
        "environment",
        format!(
            "the suite's {} variables, among them: {} (hhrf clears it but for PATH, then sets \
             the manifest's env, TMPDIR, FEZZ_LIMIT_*, FEZZ_SANDBOX* and FEZZ_RUN_*)",
            variables.len(),
            if shown.is_empty() {
                "none of PATH, TMPDIR, FEZZ_*, LD_*, *SAN_OPTIONS".to_owned()
            } else {
                shown.join(" ")
            }
        ),
    );
    line(
        "fds",
        "0 a pipe of request frames, 1 a pipe for frames, 2 a pipe the suite captures (shown \
         on failure); no others"
            .to_owned(),
    );
    line(
        "limits",
        format!(
            "the suite's: {} (no FEZZ_LIMIT_*; hhrf: the manifest's limits)",
            limits_text()
        ),
    );
    // SAFETY: getuid and getgid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    line(
        "user",
        format!(
            "uid {uid}, gid {gid}, no sandbox (hhrf: Landlock and seccomp unless the manifest \
             turns them off, and an unprivileged user when it runs as root)"
        ),
    );
    line(
        "time",
        format!(
            "{} s per runner process; no deadline in the requests but generated/full-context",
            TIMEOUT.as_secs()
        ),
    );
    lines.join("\n")
}

/// `RLIMIT_AS=unlimited NOFILE=1024/524288 …`: this process's soft/hard limits, which the
/// runner inherits.
fn limits_text() -> String {
    let limits = [
        ("AS", libc::RLIMIT_AS),
        ("CPU", libc::RLIMIT_CPU),
        ("NOFILE", libc::RLIMIT_NOFILE),
        ("NPROC", libc::RLIMIT_NPROC),
        ("CORE", libc::RLIMIT_CORE),
        ("STACK", libc::RLIMIT_STACK),
    ];
    let value = |limit: libc::rlim_t| {
        if limit == libc::RLIM_INFINITY {
            "unlimited".to_owned()
        } else {
            limit.to_string()
        }
    };
    limits
        .iter()
        .map(|(name, resource)| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `limit` is a valid, writable rlimit for the duration of the call.
            if unsafe { libc::getrlimit(*resource, &mut limit) } == 0 {
                let (soft, hard) = (value(limit.rlim_cur), value(limit.rlim_max));
                if soft == hard {
                    format!("RLIMIT_{name}={soft}")
                } else {
                    format!("RLIMIT_{name}={soft}/{hard}")
                }
            } else {
                format!("RLIMIT_{name}=?")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizer_reports_are_picked_out_of_stderr() {
        let stderr = b"noise\n==7==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n\
            READ of size 1\nSUMMARY: AddressSanitizer: heap-buffer-overflow f.c:28\n\
            f.c:3:5: runtime error: signed integer overflow\nERROR: not a sanitizer\n";
        let reports = sanitizer_reports(stderr);
        assert_eq!(reports.len(), 3, "{reports:?}");
        assert!(
            reports[0].ends_with("ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1")
        );
        assert!(reports[2].contains("runtime error: signed integer overflow"));
        assert!(sanitizer_reports(b"all fine\n").is_empty());
    }
}
