//! Reliability and isolation, black box (`spec/HTTP.md`, "Errors", "Admission",
//! "Containment"): the panic boundary, every escape a function or runner can try, a killed
//! hhrf, admission (per-function fairness, the queue bound, the deadline in the queue) and the
//! memory budget under 256 concurrent 8 MiB answers.
//!
//! The function is `tests/c/faulty.c` (see `tests/faulty/mod.rs`); the runner is the
//! reference one unless a test wraps it in a script that escapes before `exec`-ing it.

mod faulty;
mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faulty::{Connection, Marker};
use support::{Hhrf, Root};

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

fn kill(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

fn read_pid(path: &Path) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no pid in {path:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One GET on its own connection.
fn get(hhrf: &Hhrf, target: &str, timeout: Duration) -> faulty::Answer {
    let mut connection = Connection::open(hhrf.addr, timeout).expect("connect");
    connection.send(target, false).expect("send");
    connection
        .read()
        .unwrap_or_else(|error| panic!("{target}: {error:?}"))
}

fn health(hhrf: &Hhrf) -> serde_json::Value {
    hhrf.get("/_fezz/health").json()
}

#[test]
fn a_panic_in_handling_is_500_internal_error_and_the_server_goes_on() {
    let root = Root::new();
    root.add_fixture(5_000);
    let hhrf = Hhrf::start(
        &root,
        &[("HHRF_TEST_PANIC_PATH", Path::new("/rpc/fx@1/boom"))],
    );
    let response = hhrf.get("/rpc/fx@1/boom");
    let json = response.assert_error(500, "internal-error");
    assert!(
        !json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HHRF_TEST"),
        "{json}"
    );
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("status=500 outcome=internal-error"), "{line}");
    assert!(line.contains("hhrf panicked"), "{line}");
    // The same connection task died before the boundary existed; the server goes on.
    assert_eq!(hhrf.get("/rpc/fx@1/x").status, 200);
    hhrf.assert_still_serving();
}

// Exercises [req:host-containment-backstop] (spec/RUNNER.md).
#[test]
fn a_setsid_escape_holding_the_pipes_under_an_uncontained_runner_is_swept_at_once() {
    let root = Root::new();
    root.add_fixture(10_000);
    // The wrapper escapes before the real runner starts: the escapee is outside any PID
    // namespace, in a session of its own, and holds stdout and stderr.
    let holder = root.path().join("holder");
    let runner = root.recording_runner(&format!(
        "setsid sleep 60 & echo $! > '{}'; sleep 0.2",
        holder.display()
    ));
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let started = Instant::now();
    assert_eq!(hhrf.get("/rpc/fx@1/x").status, 200);
    let pid = read_pid(&holder);
    let gone = wait_gone(pid, Duration::from_secs(5));
    kill(pid);
    assert!(gone, "the escapee {pid} outlived its call");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    hhrf.assert_no_children();
}

#[test]
fn an_escape_that_closed_its_descriptors_is_swept_within_seconds() {
    let root = Root::new();
    root.add_fixture(10_000);
    let holder = root.path().join("holder");
    let runner = root.recording_runner(&format!(
        "setsid sh -c 'echo $$ > \"{}\"; exec </dev/null >/dev/null 2>&1; exec sleep 60' & sleep 0.2",
        holder.display()
    ));
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    assert_eq!(hhrf.get("/rpc/fx@1/x").status, 200);
    let pid = read_pid(&holder);
    let gone = wait_gone(pid, Duration::from_secs(5));
    kill(pid);
    assert!(gone, "the escapee {pid} outlived its call");
    // The sweep logs right after its kill: wait for the line rather than race it.
    hhrf.wait_for_log("that outlived their call", Duration::from_secs(5));
}

#[test]
fn escapes_from_a_contained_function_end_with_the_call() {
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("ISOLATION_ESCAPE");
    let _cleanup = faulty::KillOnDrop(&marker);
    faulty::deploy(&root, "faulty", &library, 5_000, &marker, "{}");
    let hhrf = Hhrf::start(&root, &[]);
    for fault in ["/grandchild", "/double-fork-closed", "/forkbomb"] {
        let started = Instant::now();
        let answer = get(
            &hhrf,
            &format!("/rpc/faulty@1{fault}?t=1"),
            Duration::from_secs(10),
        );
        assert_eq!(answer.status, 200, "{fault}");
        // Contained: the call answers as soon as the function returns, not at its deadline.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{fault}: {:?}",
            started.elapsed()
        );
        let survivors = marker.survivors(Duration::from_secs(3));
        assert!(
            survivors.is_empty(),
            "{fault}: {survivors:?} outlived the call"
        );
    }
    hhrf.assert_no_children();
}

#[test]
fn a_sigkilled_hhrf_leaves_no_process_of_a_contained_call() {
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("ISOLATION_KILLED");
    let _cleanup = faulty::KillOnDrop(&marker);
    faulty::deploy(&root, "faulty", &library, 30_000, &marker, "{}");
    let mut hhrf = Hhrf::start(&root, &[]);
    let addr = hhrf.addr;
    let client = std::thread::spawn(move || {
        let mut connection = Connection::open(addr, Duration::from_secs(30)).unwrap();
        connection.send("/rpc/faulty@1/hang", false).unwrap();
        let _ = connection.read();
    });
    let started = Instant::now();
    // The runner the host started, its namespace's init and the worker running the function.
    while marker.processes().len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the call never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    hhrf.signal(nix::sys::signal::Signal::SIGKILL);
    let _ = hhrf.wait_exit(Duration::from_secs(5));
    let survivors = marker.survivors(Duration::from_secs(5));
    assert!(
        survivors.is_empty(),
        "{survivors:?} outlived the killed hhrf"
    );
    let _ = client.join();
}

#[test]
fn leftovers_of_a_killed_hhrf_under_an_uncontained_runner_are_swept_at_the_next_start() {
    let root = Root::new();
    root.add_fixture(30_000);
    let holder = root.path().join("holder");
    // The escapee keeps the function folder as its working directory, like any process the
    // function starts.
    let runner = root.recording_runner(&format!(
        "setsid sh -c 'echo $$ > \"{}\"; exec </dev/null >/dev/null 2>&1; exec sleep 60' &",
        holder.display()
    ));
    let mut first = Hhrf::start(&root, &[("FEZZ_RUNNER", &runner)]);
    let addr = first.addr;
    let client = std::thread::spawn(move || {
        let mut connection = Connection::open(addr, Duration::from_secs(30)).unwrap();
        connection.send("/rpc/fx@1/hang", false).unwrap();
        let _ = connection.read();
    });
    let pid = read_pid(&holder);
    first.signal(nix::sys::signal::Signal::SIGKILL);
    let _ = first.wait_exit(Duration::from_secs(5));
    let _ = client.join();
    assert!(
        alive(pid),
        "the escapee should have outlived the killed hhrf"
    );
    let second = Hhrf::start(&root, &[]);
    let gone = wait_gone(pid, Duration::from_secs(5));
    kill(pid);
    assert!(gone, "the next hhrf did not sweep {pid}");
    assert!(
        second.log().contains("a previous hhrf left behind"),
        "{}",
        second.log()
    );
}

#[test]
fn another_hhrf_on_the_same_root_does_not_sweep_live_calls() {
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("ISOLATION_NEIGHBOUR");
    let _cleanup = faulty::KillOnDrop(&marker);
    faulty::deploy(&root, "faulty", &library, 10_000, &marker, "{}");
    let first = Hhrf::start(&root, &[]);
    let addr = first.addr;
    let client = std::thread::spawn(move || get_addr(addr, "/rpc/faulty@1/sleep?ms=1500&t=7"));
    let started = Instant::now();
    while marker.processes().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the call never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _second = Hhrf::start(&root, &[]);
    assert_eq!(client.join().unwrap(), 200);
}

fn get_addr(addr: std::net::SocketAddr, target: &str) -> u16 {
    let mut connection = Connection::open(addr, Duration::from_secs(60)).unwrap();
    connection.send(target, false).unwrap();
    connection.read().map(|answer| answer.status).unwrap_or(0)
}

fn start_with(root: &Root, args: &[&str]) -> Hhrf {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhrf"));
    command.args(args);
    Hhrf::start_command(command, root, &[])
}

#[test]
fn a_flood_of_slow_calls_to_one_function_never_makes_another_wait() {
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("ISOLATION_FAIR");
    let _cleanup = faulty::KillOnDrop(&marker);
    faulty::deploy(&root, "slow", &library, 30_000, &marker, "{}");
    faulty::deploy(&root, "quick", &library, 30_000, &marker, "{}");
    // 8 slots: each function may hold 4.
    let hhrf = start_with(&root, &["--max-calls", "8", "--max-queue", "256"]);
    let addr = hhrf.addr;
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let flood: Vec<_> = (0..24)
        .map(|_| {
            let statuses = statuses.clone();
            std::thread::spawn(move || {
                let status = get_addr(addr, "/rpc/slow@1/sleep?ms=1000&t=1");
                statuses.lock().unwrap().push(status);
            })
        })
        .collect();
    // Wait until the slow function is saturated and has calls queued.
    let started = Instant::now();
    while health(&hhrf)["admission"]["functions"]["slow@1"]["queued"]
        .as_u64()
        .unwrap_or(0)
        == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no queue formed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for n in 0..20 {
        let answer = get(
            &hhrf,
            &format!("/rpc/quick@1/ok?t={n}"),
            Duration::from_secs(10),
        );
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("x-token").as_deref(),
            Some(n.to_string().as_str())
        );
    }
    let state = health(&hhrf);
    for thread in flood {
        thread.join().unwrap();
    }
    assert_eq!(
        state["admission"]["functions"]["quick@1"]["waited"], 0,
        "{state}"
    );
    assert!(
        state["admission"]["functions"]["slow@1"]["waited"]
            .as_u64()
            .unwrap()
            > 0,
        "{state}"
    );
    assert!(statuses.lock().unwrap().iter().all(|status| *status == 200));
}

#[test]
fn past_the_queue_calls_are_503_overloaded_with_retry_after() {
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("ISOLATION_QUEUE");
    let _cleanup = faulty::KillOnDrop(&marker);
    faulty::deploy(&root, "slow", &library, 30_000, &marker, "{}");
    // One slot and one queue place for the function.
    let hhrf = start_with(&root, &["--max-calls", "2", "--max-queue", "2"]);
    let addr = hhrf.addr;
    let clients: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                let mut connection = Connection::open(addr, Duration::from_secs(30)).unwrap();
                connection
                    .send("/rpc/slow@1/sleep?ms=1500&t=1", false)
                    .unwrap();
                connection.read().unwrap()
            })
        })
        .collect();
    let answers: Vec<faulty::Answer> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let refused: Vec<&faulty::Answer> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(ok + refused.len(), 6, "{answers:?}");
    assert!(
        ok >= 2 && refused.len() >= 3,
        "{ok} ok, {} refused",
        refused.len()
    );
    for answer in refused {
        assert_eq!(answer.error_code().unwrap(), "overloaded");
        assert_eq!(answer.header("retry-after").as_deref(), Some("1"));
    }
    assert!(health(&hhrf)["admission"]["refused"].as_u64().unwrap() >= 3);
}

#[test]
fn a_call_whose_deadline_passes_in_the_queue_is_503_and_never_runs() {
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("ISOLATION_DEADLINE");
    let _cleanup = faulty::KillOnDrop(&marker);
    faulty::deploy(&root, "a", &library, 30_000, &marker, "{}");
    faulty::deploy(&root, "b", &library, 30_000, &marker, "{}");
    faulty::deploy(&root, "c", &library, 800, &marker, "{}");
    // Two server slots, held by a and b for 3 s; c waits at the server's gate past its
    // 800 ms deadline.
    let hhrf = start_with(&root, &["--max-calls", "2", "--max-queue", "8"]);
    let addr = hhrf.addr;
    let holders: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|id| {
            std::thread::spawn(move || get_addr(addr, &format!("/rpc/{id}@1/sleep?ms=3000&t=1")))
        })
        .collect();
    let started = Instant::now();
    while health(&hhrf)["admission"]["in_flight"]
        .as_u64()
        .unwrap_or(0)
        < 2
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the holders never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let asked = Instant::now();
    let answer = get(&hhrf, "/rpc/c@1/ok?t=2", Duration::from_secs(10));
    assert_eq!(answer.status, 503);
    assert_eq!(answer.error_code().unwrap(), "overloaded");
    assert!(
        asked.elapsed() >= Duration::from_millis(700),
        "{:?}",
        asked.elapsed()
    );
    let line = hhrf.request_line(answer.header("x-request-id").as_deref().unwrap());
    assert!(line.contains("deadline"), "{line}");
    for holder in holders {
        assert_eq!(holder.join().unwrap(), 200);
    }
}

/// hhrf's resident memory, in bytes.
fn rss(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.split_whitespace().next()?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

#[test]
fn the_memory_budget_holds_under_256_concurrent_8_mib_answers() {
    const BUDGET: u64 = 256 << 20;
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("ISOLATION_BUDGET");
    let _cleanup = faulty::KillOnDrop(&marker);
    faulty::deploy(&root, "eight", &library, 120_000, &marker, "{}");
    let hhrf = start_with(
        &root,
        &[
            "--memory-budget",
            &BUDGET.to_string(),
            "--max-queue",
            "1024",
        ],
    );
    let pid = hhrf.pid();
    let addr = hhrf.addr;
    let peak_rss = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (peak_rss, done) = (peak_rss.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak_rss.fetch_max(rss(pid), std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let clients: Vec<_> = (0..256)
        .map(|n| {
            std::thread::spawn(move || {
                let mut connection = Connection::open(addr, Duration::from_secs(120)).unwrap();
                connection
                    .send(&format!("/rpc/eight@1/eight?t={n}"), false)
                    .unwrap();
                let answer = connection.read().unwrap();
                (answer.status, answer.body.len())
            })
        })
        .collect();
    let answers: Vec<(u16, usize)> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    assert!(
        answers
            .iter()
            .all(|&(status, len)| status == 200 && len == 8 << 20),
        "{:?}",
        answers
            .iter()
            .filter(|(status, _)| *status != 200)
            .collect::<Vec<_>>()
    );
    let state = health(&hhrf);
    let peak_reserved = state["admission"]["memory_peak_bytes"].as_u64().unwrap();
    let peak_rss = peak_rss.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "budget {} MiB: peak reserved {} MiB, peak RSS {} MiB",
        BUDGET >> 20,
        peak_reserved >> 20,
        peak_rss >> 20
    );
    assert!(peak_reserved <= BUDGET, "{state}");
    assert!(peak_reserved > 0, "{state}");
    assert_eq!(state["admission"]["memory_reserved_bytes"], 0, "{state}");
    // The budget bounds the buffers; the rest of hhrf (code, threads, hyper) stays small.
    assert!(peak_rss < BUDGET + (64 << 20), "peak RSS {peak_rss}");
}

/// The soft and hard `Max open files` of `pid`, from `/proc/PID/limits`.
fn open_files_limit(pid: i32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a Max open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

#[test]
fn the_soft_descriptor_limit_is_raised_to_the_hard_one() {
    let root = Root::new();
    root.add_fixture(5_000);
    let mut command = Command::new("sh");
    command.args([
        "-c",
        r#"ulimit -Sn 256 && exec "$0" "$@""#,
        env!("CARGO_BIN_EXE_hhrf"),
    ]);
    let hhrf = Hhrf::start_command(command, &root, &[]);
    let (soft, hard) = open_files_limit(hhrf.pid());
    assert_ne!(soft, "256");
    assert_eq!(soft, hard);
}

/// The backlog of the socket listening on `port`: `ss` shows it as the Send-Q of a LISTEN
/// socket.
fn listen_backlog(port: u16) -> u32 {
    let output = Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss runs (iproute2)");
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    fields[2]
        .parse()
        .unwrap_or_else(|_| panic!("ss printed {text:?}"))
}

#[test]
fn the_listen_backlog_is_configurable_and_capped_by_somaxconn() {
    let root = Root::new();
    root.add_fixture(5_000);
    let hhrf = start_with(&root, &["--backlog", "37"]);
    assert_eq!(listen_backlog(hhrf.addr.port()), 37);
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let default = start_with(&root, &[]);
    assert_eq!(listen_backlog(default.addr.port()), 1024.min(somaxconn));
}
