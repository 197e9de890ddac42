//! Warm mode, black box (`spec/RUNNER.md`, "Warm mode"; `spec/HTTP.md`, "Execution modes"):
//! one runner process serves calls in sequence; a crash, a failure, a timeout or a protocol
//! violation answers as fresh mode would and discards the instance; a replaced library
//! retires it; instances are recycled after their calls, when idle and past a memory limit;
//! the pool is bounded; the metrics count cold starts by mode.
//!
//! The function is `tests/c/warm.c`, which answers with the pid that served the call and
//! how many calls that process served.

mod support;

#[path = "c_sdk/mod.rs"]
mod c_sdk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Hhrf, Root};

/// `tests/c/warm.c` built into `dir` as `name`, with `WARM_BUILD` = `build`.
fn library(dir: &Path, name: &str, build: u32) -> PathBuf {
    let path = dir.join(name);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/warm.c");
    let output = Command::new("cc")
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-fPIC", "-shared",
        ])
        .arg(format!("-DWARM_BUILD={build}"))
        .arg("-o")
        .arg(&path)
        .arg(&source)
        .args(c_sdk::flags())
        .output()
        .expect("cc runs (a C compiler is required)");
    assert!(
        output.status.success(),
        "cc failed for warm.c:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

/// Deploys `warm@1` in warm mode with the `warm` object `settings` and `timeout_ms`; returns
/// the function folder.
fn deploy(root: &Root, settings: &str, timeout_ms: u64) -> PathBuf {
    let library = library(root.path(), "libwarm-1.so", 1);
    let manifest = format!(
        r#"{{"id": "warm", "version": "1", "entry": "libwarm.so", "routes": [],
            "timeout_ms": {timeout_ms}, "mode": "warm", "warm": {settings}}}"#
    );
    root.add("warm@1", &manifest, &library, "libwarm.so")
}

/// What one answer of warm.c says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Served {
    pid: i32,
    calls: u64,
    build: u32,
}

fn served(hhrf: &Hhrf, path: &str) -> Served {
    let response = hhrf.get(&format!("/rpc/warm@1{path}"));
    assert_eq!(
        response.status,
        200,
        "{path}: {}\nlog:\n{}",
        String::from_utf8_lossy(&response.body),
        hhrf.log()
    );
    let body = String::from_utf8(response.body).unwrap();
    let field = |name: &str| -> u64 {
        body.split_whitespace()
            .find_map(|part| part.strip_prefix(&format!("{name}=")))
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {body:?}"))
    };
    Served {
        pid: field("pid") as i32,
        calls: field("calls"),
        build: field("build") as u32,
    }
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        !matches!(state.and_then(|rest| rest.chars().next()), Some('Z') | None)
    })
}

fn wait_gone(pid: i32, within: Duration) -> bool {
    let started = Instant::now();
    while alive(pid) {
        if started.elapsed() > within {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The value of the metrics line that starts with `series` (name and labels as rendered).
fn metric(hhrf: &Hhrf, series: &str) -> f64 {
    let response = hhrf.get("/_fezz/metrics");
    assert_eq!(response.status, 200);
    let text = String::from_utf8(response.body).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

const WARM_OK: &str =
    r#"faas_invocations_total{function="warm",version="1",mode="warm",outcome="ok"}"#;
const WARM_COLD: &str = r#"faas_coldstarts_total{function="warm",version="1",mode="warm"}"#;

// [req:host-warm-one-at-a-time]
#[test]
fn one_process_serves_calls_in_sequence_and_counts_one_cold_start() {
    let root = Root::new();
    deploy(&root, "{}", 5_000);
    let hhrf = Hhrf::start(&root, &[]);
    let first = served(&hhrf, "/count");
    for n in 2..=6 {
        let next = served(&hhrf, "/count");
        assert_eq!(next.pid, first.pid, "call {n} ran in another process");
        assert_eq!(next.calls, n);
    }
    served(&hhrf, "/stderr");
    assert_eq!(metric(&hhrf, WARM_OK), 7.0);
    assert_eq!(metric(&hhrf, WARM_COLD), 1.0);
    // Every call is measured, on the instance's processes.
    assert_eq!(
        metric(
            &hhrf,
            r#"faas_cpu_usage_seconds_count{function="warm",version="1",mode="warm"}"#
        ),
        7.0
    );
    assert!(
        metric(
            &hhrf,
            r#"faas_mem_usage_bytes_sum{function="warm",version="1",mode="warm"}"#
        ) > 7.0 * 1024.0 * 1024.0
    );
    // The idle instance is a live runner; hhrf's own orphan sweeps leave it alone.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(metric(&hhrf, "fezz_runner_processes"), 1.0);
    assert_eq!(served(&hhrf, "/count").pid, first.pid);
}

// [req:host-warm-failure-as-fresh]
#[test]
fn a_crash_or_a_failure_answers_as_in_fresh_mode_and_discards_the_instance() {
    let root = Root::new();
    deploy(&root, "{}", 5_000);
    let hhrf = Hhrf::start(&root, &[]);
    let first = served(&hhrf, "/count");
    let crashed = hhrf.get("/rpc/warm@1/segfault");
    let body = crashed.assert_error(502, "runner-crashed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SIGSEGV"),
        "{body}"
    );
    assert!(wait_gone(first.pid, Duration::from_secs(5)));
    let second = served(&hhrf, "/count");
    assert_ne!(second.pid, first.pid);
    assert_eq!(second.calls, 1);

    let failed = hhrf.get("/rpc/warm@1/fail");
    let body = failed.assert_error(500, "function-failed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("warm-failed: failed on purpose"),
        "{body}"
    );
    // The function's stderr of the failed call reaches its log line, as in fresh mode.
    let line = hhrf.request_line(&failed.request_id());
    assert!(line.contains("warm stderr 2"), "{line}");
    let third = served(&hhrf, "/count");
    assert_ne!(third.pid, second.pid);
    assert_eq!(third.calls, 1);

    // Bytes the function writes on the protocol descriptor: bad output, as in fresh mode.
    hhrf.get("/rpc/warm@1/garbage")
        .assert_error(502, "bad-output");
    let fourth = served(&hhrf, "/count");
    assert_ne!(fourth.pid, third.pid);
    assert_eq!(
        metric(
            &hhrf,
            r#"fezz_crashes_total{function="warm",version="1",mode="warm",signal="SIGSEGV"}"#
        ),
        1.0
    );
    assert_eq!(metric(&hhrf, WARM_COLD), 4.0);
}

// [req:host-warm-failure-as-fresh]
#[test]
fn a_timeout_kills_the_instance() {
    let root = Root::new();
    deploy(&root, "{}", 500);
    let hhrf = Hhrf::start(&root, &[]);
    let first = served(&hhrf, "/count");
    let started = Instant::now();
    hhrf.get("/rpc/warm@1/sleep?n=5000")
        .assert_error(504, "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(wait_gone(first.pid, Duration::from_secs(5)));
    let second = served(&hhrf, "/count");
    assert_ne!(second.pid, first.pid);
    assert_eq!(second.calls, 1);
}

// [req:host-warm-library-replaced]
#[test]
fn a_replaced_library_retires_the_old_instances() {
    let root = Root::new();
    let folder = deploy(&root, "{}", 5_000);
    let hhrf = Hhrf::start(&root, &[]);
    let first = served(&hhrf, "/count");
    assert_eq!(first.build, 1);
    assert_eq!(served(&hhrf, "/count").pid, first.pid);
    // Replace the library the way a deploy does: a new file renamed over the old name.
    let rebuilt = library(root.path(), "libwarm-2.so", 2);
    let staged = folder.join("libwarm.so.new");
    std::os::unix::fs::symlink(&rebuilt, &staged).unwrap();
    std::fs::rename(&staged, folder.join("libwarm.so")).unwrap();
    // Hot deploy verifies the new library before it serves it (spec/HTTP.md, "Hot deploy"):
    // until then calls still reach the old one.
    let swapped = Instant::now();
    let second = loop {
        let answer = served(&hhrf, "/count");
        if answer.build == 2 || swapped.elapsed() > Duration::from_secs(10) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(second.build, 2, "the old library still answers");
    assert_ne!(second.pid, first.pid);
    assert_eq!(second.calls, 1);
    assert!(wait_gone(first.pid, Duration::from_secs(5)));
}

// [req:host-warm-in-step] (an instance that ended while idle is not handed a call)
#[test]
fn instances_are_recycled_after_their_calls_when_idle_and_past_their_memory() {
    let root = Root::new();
    deploy(
        &root,
        r#"{"max_calls": 3, "idle_timeout_ms": 400, "max_rss_bytes": 67108864}"#,
        5_000,
    );
    let hhrf = Hhrf::start(&root, &[]);
    // max_calls: the fourth call finds a new instance.
    let pids: Vec<Served> = (0..4).map(|_| served(&hhrf, "/count")).collect();
    assert!(pids[..3].iter().all(|served| served.pid == pids[0].pid));
    assert_eq!(pids[2].calls, 3);
    assert_ne!(pids[3].pid, pids[0].pid);
    assert_eq!(pids[3].calls, 1);
    assert!(wait_gone(pids[0].pid, Duration::from_secs(5)));

    // idle_timeout_ms: an instance idle past it is retired, by the sweeper, without a call.
    std::thread::sleep(Duration::from_millis(1_200));
    assert!(
        wait_gone(pids[3].pid, Duration::from_secs(2)),
        "the idle instance lives on"
    );
    assert_eq!(metric(&hhrf, "fezz_runner_processes"), 0.0);
    let after_idle = served(&hhrf, "/count");
    assert_eq!(after_idle.calls, 1);

    // max_rss_bytes: the call that grows past it is answered, then the instance retires.
    let grown = served(&hhrf, "/grow?n=100");
    assert_eq!(grown.pid, after_idle.pid);
    let next = served(&hhrf, "/count");
    assert_ne!(next.pid, grown.pid);
    assert_eq!(next.calls, 1);
    assert!(wait_gone(grown.pid, Duration::from_secs(5)));
}

#[test]
fn the_pool_is_bounded_by_max_instances() {
    let root = Root::new();
    deploy(&root, r#"{"max_instances": 2}"#, 10_000);
    let hhrf = std::sync::Arc::new(Hhrf::start(&root, &[]));
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let hhrf = hhrf.clone();
            std::thread::spawn(move || served(&hhrf, "/sleep?n=300"))
        })
        .collect();
    let served: Vec<Served> = calls.into_iter().map(|call| call.join().unwrap()).collect();
    let pids: std::collections::BTreeSet<i32> = served.iter().map(|served| served.pid).collect();
    assert!(pids.len() <= 2, "{served:?}");
    let total: u64 = pids
        .iter()
        .map(|pid| {
            served
                .iter()
                .filter(|served| served.pid == *pid)
                .map(|served| served.calls)
                .max()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 6, "{served:?}");
    assert!(metric(&hhrf, WARM_COLD) <= 2.0);
}

#[test]
fn a_mix_of_faults_leaves_no_process_and_no_descriptor_behind() {
    let root = Root::new();
    deploy(
        &root,
        r#"{"max_instances": 3, "max_calls": 5, "max_calls_jitter": 2, "idle_timeout_ms": 300}"#,
        400,
    );
    let hhrf = std::sync::Arc::new(Hhrf::start(&root, &[]));
    served(&hhrf, "/count");
    // The baseline: one idle instance (its three pipes and its meters) retired below.
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(metric(&hhrf, "fezz_runner_processes"), 0.0);
    let baseline = hhrf.open_fds();
    let faults = [
        ("/count", 200, None),
        ("/segfault", 502, Some("runner-crashed")),
        ("/count", 200, None),
        ("/fail", 500, Some("function-failed")),
        ("/garbage", 502, Some("bad-output")),
        ("/sleep?n=2000", 504, Some("timeout")),
        ("/stderr", 200, None),
        ("/count", 200, None),
    ];
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let hhrf = hhrf.clone();
            std::thread::spawn(move || {
                for round in 0..6 {
                    let (path, status, code) = faults[(worker + round * 3) % faults.len()];
                    let response = hhrf.get(&format!("/rpc/warm@1{path}"));
                    match code {
                        Some(code) => {
                            response.assert_error(status, code);
                        }
                        None => assert_eq!(response.status, status, "{path}"),
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    // Every call counted once, by its outcome (the schedule is fixed).
    let scheduled = |code: Option<&str>| {
        (0..4)
            .flat_map(|worker| (0..6).map(move |round| (worker + round * 3) % faults.len()))
            .filter(|index| faults[*index].2 == code)
            .count() as f64
    };
    assert_eq!(metric(&hhrf, WARM_OK), 1.0 + scheduled(None));
    for code in ["runner-crashed", "function-failed", "bad-output", "timeout"] {
        let series = format!(
            r#"faas_errors_total{{function="warm",version="1",mode="warm",kind="{code}"}}"#
        );
        assert_eq!(metric(&hhrf, &series), scheduled(Some(code)), "{code}");
    }
    // Idle past the timeout: every instance is retired, reaped and closed.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(metric(&hhrf, "fezz_runner_processes"), 0.0);
    hhrf.assert_no_children();
    hhrf.assert_fds_back_to(baseline);
}
