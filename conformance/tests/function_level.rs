//! The function level for authors: it fails a function whose response no host can send,
//! naming the rule it breaks; it prints the environment the function sees; and with the
//! sanitizer wrapper (`conformance/asan/fezz-asan-runner`) it passes a function built with
//! AddressSanitizer and fails one with a heap overflow, naming ASan.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::{assert_passed, c_fixture_asan, compile_c_function, repo_root, scratch, suite, text};

fn broken_function(source: &str, out: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(out).join(format!("lib{out}.so"));
    compile_c_function(
        &repo_root()
            .join("conformance/fixtures/broken/function")
            .join(source),
        &out,
        extra,
    );
    out
}

fn wrapper() -> PathBuf {
    repo_root().join("conformance/asan/fezz-asan-runner")
}

/// `fezz-asan-runner --runner <the reference runner>`, as `--runner` takes it.
fn wrapped_runner() -> String {
    format!(
        "{} --runner {}",
        wrapper().display(),
        support::reference_runner().display()
    )
}

fn function_level(function: &Path, runner: Option<&str>, filter: &str) -> Output {
    let function = function.to_str().unwrap();
    let mut args = vec!["function", "--function", function];
    if let Some(runner) = runner {
        args.extend(["--runner", runner]);
    }
    if !filter.is_empty() {
        args.push(filter);
    }
    suite(&args, &[])
}

fn assert_failed_with(output: &Output, case: &str, needles: &[&str]) {
    let text = text(output);
    assert!(
        !output.status.success(),
        "the function level passed a broken function:\n{text}"
    );
    assert!(
        text.lines()
            .any(|line| line.contains(case) && line.ends_with("FAILED")),
        "case {case} did not fail:\n{text}"
    );
    for needle in needles {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}

#[test]
fn a_response_no_host_can_send_fails_naming_the_rule() {
    let informational = broken_function("unsendable.c", "informational", &["-DINFORMATIONAL"]);
    let output = function_level(&informational, None, "generated/empty-body");
    assert_failed_with(
        &output,
        "generated/empty-body",
        &[
            "the function's response cannot be sent by a host",
            "status 101 is informational (1xx)",
            "exit code 15",
        ],
    );
    let escape = broken_function("unsendable.c", "escape", &[]);
    let output = function_level(&escape, None, "generated/empty-body");
    assert_failed_with(
        &output,
        "generated/empty-body",
        &[
            "the function's response cannot be sent by a host",
            "header \"x-colour\": header value has the control byte 0x1b",
        ],
    );
}

#[test]
fn the_level_prints_the_environment_the_function_sees() {
    let output = suite(
        &[
            "function",
            "--function",
            support::rust_fixture().to_str().unwrap(),
            "generated/empty-body",
        ],
        &[],
    );
    assert_passed(&output, 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        "function level: what the function sees",
        "  cwd ",
        "  environment ",
        "PATH=",
        "  fds ",
        "  limits ",
        "RLIMIT_NOFILE=",
        "  user ",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in:\n{stderr}");
    }
    // --list prints only the cases.
    let output = suite(
        &[
            "function",
            "--function",
            support::rust_fixture().to_str().unwrap(),
            "--list",
        ],
        &[],
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("what the function sees"));
}

#[test]
fn the_sanitizer_wrapper_is_clean_shell() {
    let output = std::process::Command::new("shellcheck")
        .arg(wrapper())
        .output()
        .expect("shellcheck (installed by .ci/run: apt-get install shellcheck)");
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn an_asan_build_passes_the_function_level_through_the_wrapper() {
    let fixture = c_fixture_asan();
    // Without the wrapper, ASan refuses to start inside a runner that does not load it first.
    let output = function_level(&fixture, None, "generated/empty-body");
    assert_failed_with(
        &output,
        "generated/empty-body",
        &["ASan runtime does not come first"],
    );
    let runner = wrapped_runner();
    let output = function_level(&fixture, Some(&runner), "");
    assert_passed(&output, 70);
}

#[test]
fn a_heap_overflow_fails_through_the_wrapper_naming_asan() {
    let overflow = broken_function(
        "heap-overflow.c",
        "heap-overflow",
        &["-O1", "-fsanitize=address", "-fno-omit-frame-pointer"],
    );
    let runner = wrapped_runner();
    let output = function_level(&overflow, Some(&runner), "generated/empty-body");
    assert_failed_with(
        &output,
        "generated/empty-body",
        &[
            "killed by SIGABRT",
            "ERROR: AddressSanitizer: heap-buffer-overflow",
        ],
    );
}

#[test]
fn undefined_behaviour_fails_through_the_wrapper_naming_ubsan() {
    let overflow = broken_function(
        "signed-overflow.c",
        "signed-overflow",
        &["-O1", "-fsanitize=undefined"],
    );
    // Without the wrapper, UBSan reports and goes on: the call answers, and the case fails on
    // the report alone.
    let output = function_level(&overflow, None, "generated/empty-body");
    assert_failed_with(
        &output,
        "generated/empty-body",
        &[
            "a sanitizer reported: ",
            "runtime error: signed integer overflow",
        ],
    );
    assert!(!text(&output).contains("killed by"), "{}", text(&output));
    let runner = wrapped_runner();
    let output = function_level(&overflow, Some(&runner), "generated/empty-body");
    assert_failed_with(
        &output,
        "generated/empty-body",
        &[
            "killed by SIGABRT",
            "a sanitizer reported: ",
            "runtime error: signed integer overflow",
        ],
    );
}
