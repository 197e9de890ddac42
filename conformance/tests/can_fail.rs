//! The suite can fail: run against deliberately broken runners and a broken function, it exits
//! non-zero and names the failing cases with a readable explanation; and an expected-failure
//! list is checked both ways.

mod support;

use std::process::Output;

use support::{broken_function, repo_root, scratch, suite, text};

fn broken_runner(name: &str) -> String {
    repo_root()
        .join("conformance/fixtures/broken/runners")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Asserts the run failed and that the named case failed.
fn assert_case_failed(output: &Output, case: &str) {
    let text = text(output);
    assert!(
        !output.status.success(),
        "the suite passed a broken implementation:\n{text}"
    );
    assert!(
        text.lines()
            .any(|line| line.contains(case) && line.ends_with("FAILED")),
        "case {case} did not fail:\n{text}"
    );
}

#[test]
fn a_runner_that_drops_a_header_fails_with_a_diff() {
    let output = suite(
        &[
            "runner",
            "--runner",
            &broken_runner("drop-header.py"),
            "minimal-get",
        ],
        &[],
    );
    assert_case_failed(&output, "request/minimal-get.toml");
    let output = suite(
        &[
            "runner",
            "--runner",
            &broken_runner("drop-header.py"),
            "echo-two-requests",
        ],
        &[],
    );
    assert_case_failed(&output, "runner/echo-two-requests.json");
    let text = text(&output);
    // The diff names the header that went missing, in the decoded rendering.
    assert!(
        text.contains("-   header: x-rep: \"2\""),
        "no readable diff:\n{text}"
    );
}

#[test]
fn a_runner_that_leaves_a_process_behind_fails() {
    let output = suite(
        &[
            "runner",
            "--runner",
            &broken_runner("leave-process.sh"),
            "runner/status",
        ],
        &[],
    );
    assert_case_failed(&output, "runner/status.json");
    let text = text(&output);
    assert!(
        text.contains("processes left behind") && text.contains("(sleep)"),
        "{text}"
    );
}

#[test]
fn a_runner_that_answers_a_crash_with_200_fails() {
    let output = suite(
        &[
            "runner",
            "--runner",
            &broken_runner("crash-200.py"),
            "] runner/",
            // A Python proxy cannot start with 4 descriptors.
            "--skip",
            "descriptors-exhausted",
        ],
        &[],
    );
    assert_case_failed(&output, "runner/abort.json");
    assert_case_failed(&output, "runner/segfault.json");
    assert_case_failed(&output, "runner/probe-raise-sigsegv.json");
    assert_case_failed(&output, "runner/probe-raise-sigbus.json");
    let text = text(&output);
    assert!(
        text.contains("expected the runner to be killed by SIGABRT, got exit code 0"),
        "{text}"
    );
    assert!(
        text.contains("test result: FAILED. ") && text.contains(" 4 failed;"),
        "only the four crash cases should fail:\n{text}"
    );
}

#[test]
fn a_broken_function_fails_both_levels() {
    let function = broken_function();
    let output = suite(
        &[
            "runner",
            "--fixture",
            function.to_str().unwrap(),
            "request/repeated-header-names",
        ],
        &[],
    );
    assert_case_failed(&output, "request/repeated-header-names.toml");
    let runner_text = text(&output);
    assert!(
        runner_text.contains("the response differs from golden")
            && runner_text.contains("-   header:"),
        "{runner_text}"
    );

    let output = suite(
        &[
            "function",
            "--function",
            function.to_str().unwrap(),
            "generated/",
        ],
        &[],
    );
    assert_case_failed(&output, "generated/one-mib-body");
    assert!(
        text(&output).contains("killed by SIGABRT"),
        "{}",
        text(&output)
    );
}

#[test]
fn expected_failures_are_checked_both_ways() {
    let dir = scratch("expected-failures");
    let list = dir.join("crash-200.txt");
    std::fs::write(
        &list,
        "# crashes this runner hides\n[runner] runner/abort.json\n[runner] runner/segfault.json\n[runner] runner/probe-raise-sigsegv.json\n[runner] runner/probe-raise-sigbus.json\n",
    )
    .unwrap();
    let runner = broken_runner("crash-200.py");
    let args = [
        "runner",
        "--runner",
        runner.as_str(),
        "--expected-failures",
        list.to_str().unwrap(),
        "] runner/",
        "--skip",
        "descriptors-exhausted",
    ];
    let output = suite(&args, &[]);
    assert!(
        output.status.success(),
        "listed failures must not fail the run:\n{}",
        text(&output)
    );

    std::fs::write(&list, "[runner] runner/abort.json\n[runner] runner/segfault.json\n[runner] runner/probe-raise-sigsegv.json\n[runner] runner/probe-raise-sigbus.json\n[runner] runner/panic.json\n[runner] runner/no-such-case.json\n").unwrap();
    let output = suite(&args, &[]);
    assert_case_failed(&output, "runner/panic.json");
    let text = text(&output);
    assert!(
        text.contains("listed as expected to fail but passed"),
        "{text}"
    );
    assert!(text.contains("no such case exists"), "{text}");
}
