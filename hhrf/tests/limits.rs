//! Resource limits, black box: a manifest's `limits` reach the runner (`FEZZ_LIMIT_…`), the
//! reference runner applies them, and a function that runs into one fails cleanly while the
//! server goes on serving (`spec/HTTP.md`, "Manifest format"; `spec/RUNNER.md`, "Resource
//! limits").
//!
//! Libraries: `tests/c/limits.c`, compiled per test with `cc`, and the Rust fixture.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{Hhrf, Root};

/// `tests/c/limits.c` with `-DMODE_<mode>`, built into `dir`.
fn c_library(dir: &Path, mode: &str) -> PathBuf {
    let path = dir.join(format!("lib{}.so", mode.to_lowercase()));
    support::compile_c_library("limits.c", &path, &[&format!("-DMODE_{mode}")]);
    path
}

/// Adds `<id>@1` serving `/rpc/<id>@1/...` from `library` with `limits` and `timeout_ms`.
fn add(root: &Root, id: &str, library: &Path, limits: &str, timeout_ms: u64) {
    let manifest = format!(
        r#"{{"id":"{id}","version":"1","entry":"lib{id}.so","routes":[],"timeout_ms":{timeout_ms},"limits":{limits}}}"#
    );
    root.add(
        &format!("{id}@1"),
        &manifest,
        library,
        &format!("lib{id}.so"),
    );
}

#[test]
fn allocating_past_memory_bytes_fails_the_call_and_the_server_goes_on() {
    let root = Root::new();
    root.add_fixture(10_000);
    let hog = c_library(root.path(), "HOG");
    add(&root, "hog", &hog, r#"{"memory_bytes":67108864}"#, 10_000);
    add(&root, "roomy", &hog, "{}", 10_000);
    let hhrf = Hhrf::start(&root, &[]);

    let response = hhrf.get("/rpc/hog@1/");
    let json = response.assert_error(500, "function-failed");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("out-of-memory: malloc failed"),
        "{message}"
    );
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("outcome=function-failed"), "{line}");
    // The same library without a limit gets its gigabyte (of address space).
    assert_eq!(hhrf.get("/rpc/roomy@1/").status, 200, "{}", hhrf.log());
    hhrf.assert_still_serving();
    hhrf.assert_no_children();
}

#[test]
fn a_busy_loop_past_cpu_seconds_is_killed_long_before_the_timeout() {
    let root = Root::new();
    root.add_fixture(10_000);
    let spin = c_library(root.path(), "SPIN");
    add(&root, "spin", &spin, r#"{"cpu_seconds":1}"#, 60_000);
    let hhrf = Hhrf::start(&root, &[]);

    let start = Instant::now();
    let response = hhrf.get("/rpc/spin@1/");
    let elapsed = start.elapsed();
    let json = response.assert_error(502, "runner-crashed");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("SIGXCPU") || message.contains("SIGKILL"),
        "{message}"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("outcome=runner-crashed(SIG"), "{line}");
    hhrf.assert_still_serving();
    hhrf.assert_no_children();
}

#[test]
fn the_runner_gets_exactly_the_limits_the_manifest_sets() {
    let root = Root::new();
    let env_file = root.path().join("env");
    let runner = root.script(
        "env-runner",
        &format!(
            "env | grep '^FEZZ_LIMIT_' | sort > '{}'\nexec '{}' \"$@\"\n",
            env_file.display(),
            support::runner().display()
        ),
    );
    let fixture = support::fixture_library();
    add(
        &root,
        "some",
        &fixture,
        r#"{"cpu_seconds":30,"open_files":256}"#,
        10_000,
    );
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let response = hhrf.get("/rpc/some@1/hello");
    assert_eq!(response.status, 200, "{}", hhrf.log());
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        "FEZZ_LIMIT_CPU_SECONDS=30\nFEZZ_LIMIT_OPEN_FILES=256\n"
    );
}
