//! The suite tests itself against a second runner, `fezz-broken-runner`
//! (`conformance/src/bin/broken_runner.rs`), written from the spec on the codec alone:
//!
//! - as written, it passes every runner case but the one of the SHOULD it leaves out
//!   (containment), so a conforming third-party runner is not failed by the suite;
//! - broken one requirement at a time (`FEZZ_BREAK`), every variant fails at least one case
//!   that cites the requirement it breaks;
//! - every `runner-…` requirement of the spec has a variant that breaks it.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Mutex;

use support::{compile_c_function, repo_root, scratch, suite, text};

fn broken_runner() -> String {
    env!("CARGO_BIN_EXE_fezz-broken-runner").to_owned()
}

/// `(break, requirement)` as the broken runner lists them.
fn breaks() -> Vec<(String, String)> {
    let output = Command::new(broken_runner())
        .arg("--list-breaks")
        .output()
        .expect("run fezz-broken-runner --list-breaks");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(name, requirement)| (name.to_owned(), requirement.to_owned()))
        .collect()
}

#[test]
fn the_minimal_runner_passes_every_case_but_the_should_it_leaves_out() {
    let dir = scratch("self-test-expected");
    let list = dir.join("expected-failures.txt");
    std::fs::write(
        &list,
        "# fezz-broken-runner does not contain the call (a SHOULD)\n[runner] runner/probe-escape-is-contained.json\n",
    )
    .unwrap();
    let output = suite(
        &[
            "runner",
            "--runner",
            &broken_runner(),
            "--expected-failures",
            list.to_str().unwrap(),
        ],
        &[],
    );
    let text = text(&output);
    assert!(output.status.success(), "{text}");
    let passed: usize = text
        .lines()
        .find_map(|line| line.strip_prefix("test result: ok. "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or(0);
    assert!(passed > 250, "too few cases ran: {text}");
}

#[test]
fn every_broken_variant_fails_a_case_citing_what_it_breaks() {
    let breaks = breaks();
    assert!(breaks.len() >= 30, "{breaks:?}");
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(breaks.iter());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let Some((name, requirement)) = next.lock().unwrap().next() else {
                    return;
                };
                let output = suite(
                    &[
                        "runner",
                        "--runner",
                        &broken_runner(),
                        "--requirement",
                        requirement,
                    ],
                    &[("FEZZ_BREAK", name)],
                );
                let text = text(&output);
                let failed = text
                    .lines()
                    .filter(|line| line.starts_with("test [runner] ") && line.ends_with("FAILED"))
                    .count();
                if output.status.success() || failed == 0 {
                    failures.lock().unwrap().push(format!(
                        "FEZZ_BREAK={name} breaks {requirement} but no case citing it failed:\n{text}"
                    ));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_runner_requirement_has_a_broken_variant() {
    let spec = ["RUNNER.md", "ABI.md", "CBOR-PROFILE.md"]
        .iter()
        .map(|file| std::fs::read_to_string(repo_root().join("spec").join(file)).unwrap())
        .collect::<String>();
    let mut ids = BTreeSet::new();
    for part in spec.split("[req:").skip(1) {
        if let Some((id, _)) = part.split_once(']') {
            if id.starts_with("runner-") {
                ids.insert(id.to_owned());
            }
        }
    }
    assert!(ids.len() > 30, "{ids:?}");
    let broken: BTreeSet<String> = breaks().into_iter().map(|(_, req)| req).collect();
    // Caught without a break: the minimal runner does not contain the call at all, and the
    // case that checks it fails (the expected failure above).
    let by_default: BTreeSet<String> = ["runner-containment".to_owned()].into();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !broken.contains(*id) && !by_default.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "runner requirements no broken variant breaks: {missing:?}"
    );
    let unknown: Vec<&String> = broken.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(
        unknown.is_empty(),
        "variants break requirements the spec does not have: {unknown:?}"
    );
}

/// The broken functions of `fixtures/broken/function/broken-abi.c`: the macro that breaks one
/// requirement, the requirement, and a case of the function level that must fail.
const BROKEN_FUNCTIONS: [(&str, &str, &str); 6] = [
    (
        "BREAK_FREE_ZERO_BUFFER",
        "function-free-zero-buffer",
        "abi/free-zero-buffer",
    ),
    (
        "BREAK_NULL_RESPONSE",
        "function-null-response-argument",
        "abi/null-response-argument",
    ),
    (
        "BREAK_INVALID_RESPONSE",
        "function-answers-valid-requests",
        "generated/empty-body",
    ),
    ("BREAK_EXIT", "function-no-exit", "generated/empty-body"),
    (
        "BREAK_ONE_CALL_ONLY",
        "function-many-calls",
        "generated/three-requests-in-one-process",
    ),
    (
        "BREAK_FAILS_WITHOUT_ERROR",
        "function-error-says-why",
        "generated/empty-body",
    ),
];

#[test]
fn every_broken_function_fails_a_case_citing_what_it_breaks() {
    let source = repo_root().join("conformance/fixtures/broken/function/broken-abi.c");
    let dir = scratch("self-test-functions");
    // Unbroken, the same source passes the whole function level.
    let plain = dir.join("libplain.so");
    compile_c_function(&source, &plain, &[]);
    let output = suite(&["function", "--function", plain.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", text(&output));
    let citations = fezz_conformance::function_level::CITATIONS;
    for (flag, requirement, case) in BROKEN_FUNCTIONS {
        assert!(
            citations
                .iter()
                .any(|(cited, ids)| ids.contains(&requirement)
                    && (cited.contains(case) || cited.contains("generated/*"))),
            "{case} does not cite {requirement}"
        );
        let library = dir.join(format!("lib{}.so", flag.to_lowercase()));
        compile_c_function(&source, &library, &[&format!("-D{flag}")]);
        let output = suite(
            &["function", "--function", library.to_str().unwrap(), case],
            &[],
        );
        let text = text(&output);
        assert!(
            !output.status.success()
                && text
                    .lines()
                    .any(|line| line.contains(case) && line.ends_with("FAILED")),
            "{flag} breaks {requirement} but {case} did not fail:\n{text}"
        );
    }
}

#[test]
fn every_function_requirement_has_a_broken_function() {
    let abi = std::fs::read_to_string(repo_root().join("spec/ABI.md")).unwrap();
    let ids: BTreeSet<&str> = abi
        .split("[req:")
        .skip(1)
        .filter_map(|part| part.split_once(']').map(|(id, _)| id))
        .filter(|id| id.starts_with("function-"))
        .collect();
    // A C++ exception that escapes ends in std::terminate, an abort: the function level fails it
    // as it fails broken-echo.c's abort (can_fail.rs).
    let by_abort = ["function-catches-exceptions"];
    let broken: BTreeSet<&str> = BROKEN_FUNCTIONS.iter().map(|(_, id, _)| *id).collect();
    let missing: Vec<&&str> = ids
        .iter()
        .filter(|id| !broken.contains(**id) && !by_abort.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "function requirements no broken function breaks: {missing:?}"
    );
}
