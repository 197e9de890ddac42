//! The sandbox (`spec/RUNNER.md`, "Sandbox"): with `FEZZ_SANDBOX=1` the `fezz-runner`
//! binary confines itself before it loads the library, so the library's initialiser already
//! runs inside (`tests/c/misbehaving.c`, `MODE_SANDBOX_PROBE`, reports what it could do);
//! without the variables it applies nothing; a bad value is `usage` naming the variable, and
//! a granted path it cannot open is `runner-internal`.

mod support;

use support::{fixture, request, request_frame, run_with_env, CLibrary};

/// The probe's `probe <what>` line.
fn probe<'a>(stderr: &'a str, what: &str) -> &'a str {
    let prefix = format!("probe {what}");
    stderr
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("the library reported no {what}: {stderr}"))
}

#[test]
fn the_library_initialiser_runs_inside_the_sandbox() {
    let library = CLibrary::build("SANDBOX_PROBE");
    let args = [library.path.as_os_str()];
    let frame = request_frame(&request("/"));
    let sandboxed = run_with_env(
        &args,
        &frame,
        None,
        &[("FEZZ_SANDBOX", "1"), ("FEZZ_SANDBOX_FILE_BYTES", "65536")],
    );
    assert_eq!(sandboxed.code(), Some(0), "{sandboxed:?}");
    assert_eq!(sandboxed.frames().len(), 1, "{sandboxed:?}");
    let stderr = &sandboxed.stderr;
    assert_eq!(probe(stderr, "open /etc/passwd "), "errno=13", "{stderr}");
    assert_eq!(probe(stderr, "socket AF_INET "), "errno=1", "{stderr}");
    assert_eq!(
        probe(stderr, "RLIMIT_CORE="),
        "0 RLIMIT_FSIZE=65536",
        "{stderr}"
    );
    // This kernel has Landlock ABI >= 6: nothing is reported as best effort.
    assert!(!stderr.contains("best effort"), "{stderr}");

    let free = run_with_env(&args, &frame, None, &[]);
    assert_eq!(free.code(), Some(0), "{free:?}");
    assert_eq!(probe(&free.stderr, "open /etc/passwd "), "errno=0");
    assert_eq!(probe(&free.stderr, "socket AF_INET "), "errno=0");
}

#[test]
fn the_rust_fixture_serves_under_the_sandbox() {
    let outcome = run_with_env(
        &[fixture().as_os_str()],
        &request_frame(&request("/hello")),
        None,
        &[
            ("FEZZ_SANDBOX", "1"),
            ("FEZZ_SANDBOX_READ", ""),
            ("FEZZ_SANDBOX_NETWORK", "none"),
        ],
    );
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.frames().len(), 1, "{outcome:?}");
}

#[test]
fn a_bad_value_is_a_usage_exit_naming_the_variable() {
    for env in [
        vec![("FEZZ_SANDBOX", "yes")],
        vec![
            ("FEZZ_SANDBOX", "1"),
            ("FEZZ_SANDBOX_READ", "relative/path"),
        ],
        vec![("FEZZ_SANDBOX", "1"), ("FEZZ_SANDBOX_NETWORK", "udp")],
        vec![("FEZZ_SANDBOX", "1"), ("FEZZ_SANDBOX_FILE_BYTES", "-1")],
        vec![("FEZZ_SANDBOX_WRITE", "/tmp")],
    ] {
        let outcome = run_with_env(
            &[fixture().as_os_str()],
            &request_frame(&request("/")),
            None,
            &env,
        );
        let message = outcome.expect_failure(2, "usage");
        let (name, _) = env.last().unwrap();
        assert!(message.starts_with(name), "{env:?}: {message}");
    }
}

#[test]
fn a_granted_path_that_cannot_be_opened_is_runner_internal() {
    let outcome = run_with_env(
        &[fixture().as_os_str()],
        &request_frame(&request("/")),
        None,
        &[
            ("FEZZ_SANDBOX", "1"),
            ("FEZZ_SANDBOX_WRITE", "/nonexistent/fezz-sandbox-test"),
        ],
    );
    let message = outcome.expect_failure(16, "runner-internal");
    assert!(
        message.contains("FEZZ_SANDBOX_WRITE: /nonexistent/fezz-sandbox-test cannot be opened"),
        "{message}"
    );
}
