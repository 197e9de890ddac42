//! Containment (`spec/RUNNER.md`, "Containment"): the reference runner runs the function as
//! PID 2 of a PID namespace of its own, and when the call ends every process the function
//! started is gone, even one that left the session and kept the protocol's descriptors, so
//! the host reads to the end of output at once. Exit codes and signals are those of the
//! worker (the other runner tests check each one through the contained runner).

mod support;

use std::time::{Duration, Instant};

use support::{request, request_frame, run_with, CLibrary};

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        !matches!(state.and_then(|rest| rest.chars().next()), Some('Z') | None)
    })
}

/// The number after `prefix` on a line of `stderr`.
fn reported(stderr: &str, prefix: &str) -> i64 {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix:?} line in {stderr}"))
}

#[test]
fn the_function_is_pid_2_and_its_escapee_dies_with_the_call() {
    let library = CLibrary::build("ESCAPE");
    let started = Instant::now();
    // In the library's folder, so the escapee (which keeps its working directory) can be
    // recognised from outside the namespace.
    let outcome = run_with(
        &[library.path.as_os_str()],
        &request_frame(&request("/")),
        Some(library.dir.path()),
    );
    // The escapee holds stdout and stderr for 60 s; the call still ends at once.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome.code(), Some(0), "{outcome:?}");
    assert_eq!(outcome.frames().len(), 1, "{outcome:?}");
    let stderr = outcome.stderr.clone();
    assert_eq!(reported(&stderr, "function pid "), 2, "{stderr}");
    // Its pid inside the namespace; what matters is that nothing of the call is left: no
    // process anywhere still runs this library's escape (`sleep` under a `setsid`).
    let escapee = reported(&stderr, "escapee pid ");
    assert!(escapee > 2, "{stderr}");
    let leftovers: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| cwd == library.dir.path())
                && alive(*pid)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?} outlived the call");
}

/// `spec/RUNNER.md`: a runner MUST NOT catch the fatal signals of a crashing function. The
/// Rust runtime installs SIGSEGV and SIGBUS handlers (stack-overflow detection) that
/// swallowed a signal the function raised itself; the runner resets them before loading.
#[test]
fn a_function_that_raises_sigsegv_or_sigbus_itself_dies_by_it() {
    for (mode, signal) in [("RAISE_SEGV", libc::SIGSEGV), ("RAISE_BUS", libc::SIGBUS)] {
        let library = CLibrary::build(mode);
        let outcome = run_with(
            &[library.path.as_os_str()],
            &request_frame(&request("/")),
            Some(library.dir.path()),
        );
        assert_eq!(outcome.signal(), Some(signal), "{mode}: {outcome:?}");
    }
}
