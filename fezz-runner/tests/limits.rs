//! Resource limits (`spec/RUNNER.md`, "Resource limits"): the `fezz-runner` binary applies
//! each `FEZZ_LIMIT_…` variable with `setrlimit` (soft = hard) before it loads the library,
//! and refuses an unparsable value with `usage` (exit 2) naming the variable.
//!
//! The library is `tests/c/misbehaving.c` built with `MODE_REPORT_LIMITS`: its constructor,
//! which runs while the runner loads it, writes the limits in force on stderr.

mod support;

use support::{request, request_frame, run_with_env, CLibrary};

/// The `limit NAME soft=… hard=…` line the library wrote for `name`.
fn reported<'a>(stderr: &'a str, name: &str) -> &'a str {
    let prefix = format!("limit {name} ");
    stderr
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("the library reported no {name}: {stderr}"))
}

#[test]
fn each_variable_is_applied_before_the_library_loads() {
    let library = CLibrary::build("REPORT_LIMITS");
    let without = run_with_env(&[library.path.as_os_str()], b"", None, &[]);
    assert_eq!(without.code(), Some(0), "{without:?}");
    let env = [
        ("FEZZ_LIMIT_MEMORY_BYTES", "1073741824", "RLIMIT_AS"),
        ("FEZZ_LIMIT_CPU_SECONDS", "30", "RLIMIT_CPU"),
        ("FEZZ_LIMIT_OPEN_FILES", "64", "RLIMIT_NOFILE"),
        ("FEZZ_LIMIT_PROCESSES", "100", "RLIMIT_NPROC"),
    ];
    // One at a time, so each variable is seen to set its own limit and no other.
    for (variable, value, name) in env {
        let outcome = run_with_env(
            &[library.path.as_os_str()],
            &request_frame(&request("/")),
            None,
            &[(variable, value)],
        );
        assert_eq!(outcome.code(), Some(0), "{variable}: {outcome:?}");
        assert_eq!(outcome.frames().len(), 1, "{variable}: {outcome:?}");
        assert_eq!(
            reported(&outcome.stderr, name),
            format!("soft={value} hard={value}"),
            "{variable}"
        );
        for (_, _, other) in env.iter().filter(|(_, _, other)| *other != name) {
            assert_eq!(
                reported(&outcome.stderr, other),
                reported(&without.stderr, other),
                "{variable} changed {other}"
            );
        }
    }
    // All at once.
    let pairs: Vec<(&str, &str)> = env.iter().map(|(var, value, _)| (*var, *value)).collect();
    let outcome = run_with_env(&[library.path.as_os_str()], b"", None, &pairs);
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    for (_, value, name) in env {
        assert_eq!(
            reported(&outcome.stderr, name),
            format!("soft={value} hard={value}")
        );
    }
}

#[test]
fn an_unparsable_value_is_a_usage_exit_naming_the_variable() {
    let library = CLibrary::build("REPORT_LIMITS");
    for (variable, value) in [
        ("FEZZ_LIMIT_MEMORY_BYTES", "1G"),
        ("FEZZ_LIMIT_CPU_SECONDS", "0"),
        ("FEZZ_LIMIT_OPEN_FILES", ""),
        ("FEZZ_LIMIT_PROCESSES", "-5"),
        ("FEZZ_LIMIT_CPU_SECONDS", "99999999999999999999"),
    ] {
        let outcome = run_with_env(
            &[library.path.as_os_str()],
            &request_frame(&request("/")),
            None,
            &[(variable, value)],
        );
        let message = outcome.expect_failure(2, "usage");
        assert!(message.contains(variable), "{message}");
        assert!(
            !outcome.stderr.contains("limit RLIMIT_AS"),
            "the library was loaded: {outcome:?}"
        );
    }
}

/// Under a memory limit too small for the request, the runner's own allocation fails: that is
/// `runner-internal` with an `out-of-memory` message, never a death by `SIGABRT` (which a host
/// reports as the function crashing). With room to spare the same request is served.
#[test]
fn the_runner_running_out_of_memory_is_runner_internal_not_a_crash() {
    let library = CLibrary::build("REPORT_LIMITS");
    let mut big = request("/");
    big.body = vec![b'x'; 8 * 1000 * 1000];
    let stdin = request_frame(&big);
    let mut internal = 0;
    for limit in ["6000000", "10000000", "14000000", "18000000"] {
        let outcome = run_with_env(
            &[library.path.as_os_str()],
            &stdin,
            None,
            &[("FEZZ_LIMIT_MEMORY_BYTES", limit)],
        );
        assert_ne!(
            outcome.code(),
            None,
            "killed by a signal at {limit}: {outcome:?}"
        );
        if outcome.code() == Some(16) {
            let error = outcome.error_frame();
            assert_eq!(error.code, "runner-internal", "{outcome:?}");
            assert!(error.message.starts_with("out-of-memory"), "{outcome:?}");
            internal += 1;
        }
    }
    assert!(
        internal > 0,
        "no limit was small enough to run the runner out of memory"
    );
    let roomy = run_with_env(
        &[library.path.as_os_str()],
        &stdin,
        None,
        &[("FEZZ_LIMIT_MEMORY_BYTES", "1073741824")],
    );
    assert_eq!(roomy.code(), Some(0), "{roomy:?}");
}
