//! A burst of 1,024 connections at once (fezz issue 9, item 8): 1,024 clients connect together,
//! each sends one request to a function that sleeps 200 ms (`tests/c/faulty.c`, `/sleep`), and
//! every one of them must get a complete HTTP answer within [`BOUND`]: 200 echoing its own
//! token, or 503 `overloaded` with `Retry-After` (the admission control of issue 9, item 4,
//! once it lands; until then every call runs at once and all answers are 200). None may be
//! reset, empty or late. The test prints how many of each, the latencies (median, 99th
//! percentile, worst) and hhrf's peak and final descriptors, children, threads and RSS; hhrf
//! must still serve afterwards and leave no child and no process of the function behind.
//!
//! Run: `cargo test -p hhrf --test burst -- --nocapture`.

mod faulty;
mod support;

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use faulty::{Connection, KillOnDrop, Marker, NoAnswer, Resources};
use support::{Hhrf, Root};

/// Clients connecting at once.
const CLIENTS: usize = 1024;
/// How long each client may wait for its complete answer, from the moment all start.
const BOUND: Duration = Duration::from_secs(60);
/// How long the function sleeps per call.
const SLEEP_MS: u64 = 200;
/// The function's `timeout_ms`: far above any queueing this burst should cause, so that a
/// 504 means something is wrong (time spent queued counts against the deadline).
const TIMEOUT_MS: u64 = 30_000;

/// How one client fared.
enum Fate {
    /// 200 with its own token.
    Served,
    /// 503 `overloaded` with `Retry-After`.
    Overloaded,
    /// Any other answer, described.
    Wrong(String),
    /// No complete answer (refused, reset, empty, timed out), described.
    Lost(String),
}

/// Raises this process's soft descriptor limit to its hard limit (hhrf, started after, inherits
/// it); returns the new soft limit.
fn raise_descriptor_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit(RLIMIT_NOFILE)");
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit(RLIMIT_NOFILE)");
    }
    hard
}

fn one_client(addr: std::net::SocketAddr, index: usize) -> Fate {
    let token = format!("burst-{index}");
    let mut connection = match Connection::open(addr, BOUND) {
        Ok(connection) => connection,
        Err(error) => return Fate::Lost(format!("connect: {error}")),
    };
    if let Err(error) = connection.send(
        &format!("/rpc/sleepy@1/sleep?ms={SLEEP_MS}&t={token}"),
        false,
    ) {
        return Fate::Lost(format!("send: {error}"));
    }
    let answer = match connection.read() {
        Ok(answer) => answer,
        Err(NoAnswer::Empty(why) | NoAnswer::Timeout(why) | NoAnswer::Malformed(why)) => {
            return Fate::Lost(why)
        }
    };
    match answer.status {
        200 if answer.header("x-token").as_deref() == Some(token.as_str())
            && answer.body == format!("token={token}\n").as_bytes() =>
        {
            Fate::Served
        }
        503 => match answer.error_code() {
            Ok(code) if code == "overloaded" && answer.header("retry-after").is_some() => {
                Fate::Overloaded
            }
            Ok(code) => Fate::Wrong(format!(
                "503 {code}, retry-after {:?}",
                answer.header("retry-after")
            )),
            Err(why) => Fate::Wrong(format!("503: {why}")),
        },
        status => Fate::Wrong(format!(
            "{status} {:?} x-token {:?}: {:?}",
            answer.error_code().ok(),
            answer.header("x-token"),
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(120)])
        )),
    }
}

#[test]
fn a_burst_of_1024_connections_gets_an_answer_for_every_client() {
    let limit = raise_descriptor_limit();
    assert!(
        limit >= 4 * CLIENTS as u64 + 256,
        "RLIMIT_NOFILE's hard limit is {limit}: 1,024 clients and hhrf's connections and runner \
         pipes need more; raise it (ulimit -Hn) where this test runs"
    );
    let root = Root::new();
    let library = faulty::library(root.path());
    let marker = Marker::new("FAULTY_BURST_MARK");
    let _cleanup = KillOnDrop(&marker);
    faulty::deploy(&root, "sleepy", &library, TIMEOUT_MS, &marker, "{}");
    let hhrf = Hhrf::start(&root, &[]);
    let before = Resources::of(&hhrf);
    let fds_before = descriptors(&hhrf);

    // A sampler of hhrf's peak figures while the burst runs.
    let peak = Arc::new(Mutex::new(before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        let pid = hhrf.pid();
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                let now = Resources::of_pid(pid);
                let mut peak = peak.lock().unwrap();
                peak.fds = peak.fds.max(now.fds);
                peak.children = peak.children.max(now.children);
                peak.threads = peak.threads.max(now.threads);
                peak.rss_kib = peak.rss_kib.max(now.rss_kib);
                drop(peak);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let addr = hhrf.addr;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let barrier = barrier.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    barrier.wait();
                    let started = Instant::now();
                    let fate = one_client(addr, index);
                    (fate, started.elapsed())
                })
                .expect("a client thread starts")
        })
        .collect();
    let start = Instant::now();
    barrier.wait();
    let fates: Vec<(Fate, Duration)> = clients
        .into_iter()
        .map(|client| client.join().expect("a client thread panicked"))
        .collect();
    let wall = start.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = *peak.lock().unwrap();

    let mut latencies: Vec<Duration> = fates.iter().map(|(_, latency)| *latency).collect();
    latencies.sort();
    let served = fates
        .iter()
        .filter(|(fate, _)| matches!(fate, Fate::Served))
        .count();
    let overloaded = fates
        .iter()
        .filter(|(fate, _)| matches!(fate, Fate::Overloaded))
        .count();
    let problems: Vec<String> = fates
        .iter()
        .enumerate()
        .filter_map(|(index, (fate, latency))| match fate {
            Fate::Wrong(why) => Some(format!("client {index}: wrong answer {why}")),
            Fate::Lost(why) => Some(format!(
                "client {index}: no answer after {} ms: {why}",
                latency.as_millis()
            )),
            _ if *latency > BOUND => Some(format!(
                "client {index}: answered after {} ms",
                latency.as_millis()
            )),
            _ => None,
        })
        .collect();

    let after = Resources::of(&hhrf);
    let still = hhrf.get("/rpc/sleepy@1/ok?t=after");
    let settled = {
        let start = Instant::now();
        loop {
            let now = Resources::of(&hhrf);
            if (now.children == 0 && now.fds <= before.fds)
                || start.elapsed() > Duration::from_secs(10)
            {
                break now;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let survivors = marker.survivors(Duration::from_secs(3));

    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let mut report = format!(
        "burst: {CLIENTS} clients at once, {SLEEP_MS} ms function: {served} x 200, \
         {overloaded} x 503 overloaded, {} other ({} wrong or lost) in {:.1} s; latency \
         median {} ms, p99 {} ms, worst {} ms\n",
        CLIENTS - served - overloaded,
        problems.len(),
        wall.as_secs_f64(),
        percentile(50).as_millis(),
        percentile(99).as_millis(),
        latencies.last().copied().unwrap_or_default().as_millis(),
    );
    report.push_str(&format!(
        "  RLIMIT_NOFILE of the test and of hhrf: {limit}\n"
    ));
    report.push_str(&format!("  hhrf at start:  {before}\n"));
    report.push_str(&format!("  peak (sampled): {peak}\n"));
    report.push_str(&format!("  right after:    {after}\n"));
    report.push_str(&format!("  settled:        {settled}\n"));
    if settled.fds > before.fds {
        let now = descriptors(&hhrf);
        let new: Vec<&String> = now.iter().filter(|fd| !fds_before.contains(fd)).collect();
        report.push_str(&format!("  descriptors opened since the start: {new:?}\n"));
    }
    report.push_str(&format!(
        "  then GET /ok: {}; processes from the function alive: {}\n",
        still.status,
        survivors.len()
    ));
    for problem in problems.iter().take(20) {
        report.push_str(&format!("    {problem}\n"));
    }
    eprintln!("{report}");

    assert!(
        problems.is_empty(),
        "{} clients without a 200 or 503 within {} s:\n{report}",
        problems.len(),
        BOUND.as_secs()
    );
    assert_eq!(
        still.status, 200,
        "hhrf stopped serving after the burst:\n{report}"
    );
    assert_eq!(still.body, b"token=after\n");
    hhrf.assert_no_children();
    assert!(
        survivors.is_empty(),
        "processes from the function outlived the burst: {survivors:?}\n{report}"
    );
    assert!(
        settled.fds <= before.fds,
        "hhrf has {} descriptors open, {} before:\n{report}",
        settled.fds,
        before.fds
    );
}

/// hhrf's open descriptors, as `N -> target`.
fn descriptors(hhrf: &Hhrf) -> Vec<String> {
    let dir = format!("/proc/{}/fd", hhrf.pid());
    let mut fds: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| {
                    let target = std::fs::read_link(entry.path()).unwrap_or_default();
                    format!(
                        "{} -> {}",
                        entry.file_name().to_string_lossy(),
                        target.display()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    fds.sort();
    fds
}
