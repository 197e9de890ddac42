//! Failing calls, black box: a panic, a failure result, crashes by signal, a hang, runners
//! that break the protocol or cannot start. Each answers its status and JSON error, the log
//! says what happened, and the server goes on serving with no process left behind.

mod support;

use std::time::{Duration, Instant};

use support::{assert_group_gone, Hhrf, Root};

#[test]
fn a_panic_is_the_functions_500_and_the_server_goes_on() {
    let root = Root::new();
    root.add_fixture(10_000);
    let hhrf = Hhrf::start(&root, &[]);
    let response = hhrf.get("/rpc/fx@1/panic");
    assert_eq!(response.status, 500);
    let json = response.json();
    assert_eq!(json["error"]["code"], "panic");
    assert_eq!(json["error"]["message"], "fixture panic");
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("status=500 outcome=function-error"), "{line}");
    assert!(line.contains(r#"detail="panic: fixture panic""#), "{line}");
    assert!(line.contains("stderr="), "{line}");
    hhrf.assert_still_serving();
    hhrf.assert_no_children();
}

#[test]
fn a_failure_result_is_500_function_failed() {
    let root = Root::new();
    root.add_fixture(10_000);
    let hhrf = Hhrf::start(&root, &[]);
    let response = hhrf.get("/rpc/fx@1/error-code");
    let json = response.assert_error(500, "function-failed");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("fixture-error: fixture error"),
        "{message}"
    );
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("outcome=function-failed"), "{line}");
    hhrf.assert_still_serving();
}

#[test]
fn crashes_are_502_naming_the_signal() {
    let root = Root::new();
    root.add_fixture(10_000);
    let hhrf = Hhrf::start(&root, &[]);
    for (path, signal) in [
        ("/rpc/fx@1/segfault", "SIGSEGV"),
        ("/rpc/fx@1/abort", "SIGABRT"),
    ] {
        let response = hhrf.get(path);
        let json = response.assert_error(502, "runner-crashed");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(signal), "{message}");
        let line = hhrf.request_line(&response.request_id());
        assert!(
            line.contains(&format!("outcome=runner-crashed({signal})")),
            "{line}"
        );
        hhrf.assert_still_serving();
    }
    hhrf.assert_no_children();
}

#[test]
fn a_hang_is_504_at_the_deadline_and_its_whole_group_is_killed() {
    let root = Root::new();
    let timeout_ms = 700;
    root.add_fixture(timeout_ms);
    // The wrapper leaves a descendant in the group that holds the runner's pipes open.
    let runner = root.recording_runner("sleep 600 &");
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let started = Instant::now();
    let response = hhrf.get("/rpc/fx@1/hang");
    let elapsed = started.elapsed();
    let json = response.assert_error(504, "timeout");
    assert!(json["error"]["message"].is_string());
    assert!(elapsed >= Duration::from_millis(timeout_ms), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(timeout_ms + 1_500),
        "{elapsed:?}"
    );
    let pids = root.recorded_pids();
    assert_eq!(pids.len(), 1);
    assert_group_gone(pids[0]);
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("status=504 outcome=timeout"), "{line}");
    hhrf.assert_still_serving();
    hhrf.assert_no_children();
}

#[test]
fn descendants_do_not_outlive_a_successful_call() {
    let root = Root::new();
    root.add_fixture(10_000);
    let runner = root.recording_runner("sleep 600 &");
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let started = Instant::now();
    assert_eq!(hhrf.get("/rpc/fx@1/quick").status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_group_gone(root.recorded_pids()[0]);
    hhrf.assert_no_children();
}

// Exercises [req:host-verdicts] (spec/RUNNER.md).
#[test]
fn runners_that_break_the_protocol_are_502() {
    let root = Root::new();
    root.add_fixture(5_000);
    let cases = [
        (
            "exit 0 with nothing",
            "exec cat >/dev/null",
            "bad-output",
            "no frame",
        ),
        (
            "garbage",
            "cat >/dev/null; printf 'hello world'",
            "bad-output",
            "frame-bad-magic",
        ),
        (
            "endless stdout",
            "exec cat /dev/zero",
            "bad-output",
            "more than",
        ),
        (
            "usage exit",
            "cat >/dev/null; exit 2",
            "runner-failed",
            "no valid error frame",
        ),
        (
            "unknown exit",
            "exit 1",
            "runner-failed",
            "no valid error frame",
        ),
    ];
    for (what, script, code, detail) in cases {
        let runner = root.script(
            &format!("runner-{}", what.replace(' ', "-")),
            &format!("{script}\n"),
        );
        let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
        let response = hhrf.get("/rpc/fx@1/x");
        response.assert_error(502, code);
        let line = hhrf.request_line(&response.request_id());
        assert!(line.contains(detail), "{what}: {line}");
        hhrf.assert_no_children();
    }
}

// Exercises [req:host-broken-pipe] (spec/RUNNER.md).
#[test]
fn a_library_that_does_not_load_is_502_runner_failed() {
    let root = Root::new();
    let folder = root.folder("broken@1");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("fezz.json"),
        r#"{"id":"broken","version":"1","entry":"libbroken.so","routes":[]}"#,
    )
    .unwrap();
    std::fs::write(folder.join("libbroken.so"), "not a library").unwrap();
    let hhrf = Hhrf::start(&root, &[]);
    let response = hhrf.get("/rpc/broken@1");
    let json = response.assert_error(502, "runner-failed");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("11 (library-load-failed)"), "{message}");
    // The path is in the log, not in the client's message.
    assert!(!message.contains("libbroken"), "{message}");
    let line = hhrf.request_line(&response.request_id());
    assert!(
        line.contains("outcome=runner-failed(11)") && line.contains("libbroken.so"),
        "{line}"
    );
}

#[test]
fn a_runner_that_cannot_start_is_502_spawn_failed() {
    let root = Root::new();
    root.add_fixture(5_000);
    let not_executable = root.path().join("not-executable");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &not_executable)]);
    let response = hhrf.get("/rpc/fx@1/x");
    response.assert_error(502, "spawn-failed");
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("outcome=spawn-failed"), "{line}");
    assert!(line.contains("not-executable"), "{line}");
}

#[test]
fn many_failing_calls_leak_no_descriptor_and_no_process() {
    let root = Root::new();
    root.add_fixture(600);
    let hhrf = Hhrf::start(&root, &[]);
    hhrf.assert_still_serving();
    let baseline = hhrf.open_fds();
    for round in 0..4 {
        for path in [
            "/panic",
            "/segfault",
            "/abort",
            "/error-code",
            "/stdout",
            "/echo",
        ] {
            let response = hhrf.get(&format!("/rpc/fx@1{path}"));
            assert!(response.status >= 200, "{round} {path}");
        }
    }
    hhrf.get("/rpc/fx@1/hang").assert_error(504, "timeout");
    hhrf.assert_fds_back_to(baseline);
    hhrf.assert_no_children();
}
