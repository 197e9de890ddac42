//! `/_fezz/metrics`, black box (`spec/HTTP.md`, "Metrics"): after a known sequence of calls
//! (ok, a function failure, a crash, two timeouts, a refusal), the scraped text, read with a
//! Prometheus text-format parser, counts each exactly, has the duration, start-up, CPU and
//! memory histograms of the calls that ran, and the in-flight, queued, runner and readiness
//! gauges while calls run and after.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use prometheus_parse::{Sample, Scrape, Value};
use support::{Hhrf, RawResponse, Root};

fn get(addr: SocketAddr, target: &str) -> RawResponse {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    RawResponse::parse(&bytes)
}

fn scrape(hhrf: &Hhrf) -> Scrape {
    let response = hhrf.get("/_fezz/metrics");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let text = String::from_utf8(response.body).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap()
}

/// The samples of `metric` whose labels include every pair of `labels`.
fn samples<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == metric)
        .filter(|sample| {
            labels
                .iter()
                .all(|(name, value)| sample.labels.get(name) == Some(*value))
        })
        .collect()
}

/// The one value of a counter, gauge or `_sum`/`_count` sample; 0 when there is none.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found = samples(scrape, metric, labels);
    assert!(found.len() <= 1, "{metric} {labels:?}: {found:?}");
    match found.first().map(|sample| &sample.value) {
        None => 0.0,
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        Some(other) => panic!("{metric}: {other:?}"),
    }
}

fn fx(version: &str) -> [(&str, &str); 3] {
    [("function", "fx"), ("version", version), ("mode", "fresh")]
}

fn with<'a>(base: [(&'a str, &'a str); 3], extra: (&'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    let mut labels = base.to_vec();
    labels.push(extra);
    labels
}

#[test]
fn metrics_count_a_known_sequence_of_calls() {
    let root = Root::new();
    root.add_fixture(1_000);
    for version in ["2", "3"] {
        let manifest = format!(
            r#"{{"id": "fx", "version": "{version}", "entry": "libfx.so", "routes": [], "timeout_ms": 1000}}"#
        );
        root.add(
            &format!("fx@{version}"),
            &manifest,
            &support::fixture_library(),
            "libfx.so",
        );
    }
    // Two calls at once, one per function, and no server queue: a third call is refused.
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhrf"));
    command.args(["--max-calls", "2", "--max-queue", "0"]);
    let hhrf = Hhrf::start_command(command, &root, &[]);
    let addr = hhrf.addr;

    let before = scrape(&hhrf);
    assert_eq!(value(&before, "fezz_ready", &[]), 1.0);
    assert_eq!(
        value(
            &before,
            "fezz_calls_in_flight",
            &[("function", "fx"), ("version", "3")]
        ),
        0.0
    );
    assert!(samples(&before, "faas_invocations_total", &[]).is_empty());

    for n in 0..3 {
        assert_eq!(hhrf.get(&format!("/rpc/fx@1/ok-{n}")).status, 200);
    }
    hhrf.get("/rpc/fx@1/error-code")
        .assert_error(500, "function-failed");
    hhrf.get("/rpc/fx@1/segfault")
        .assert_error(502, "runner-crashed");
    // Two hangs hold both server slots; a call of the third function is refused.
    let first = std::thread::spawn(move || get(addr, "/rpc/fx@1/hang"));
    let second = std::thread::spawn(move || get(addr, "/rpc/fx@2/hang"));
    let started = Instant::now();
    let busy = loop {
        let now = scrape(&hhrf);
        // Both admitted and both runners started (a loaded machine may admit a call before
        // its runner exists).
        if value(&now, "fezz_server_calls_in_flight", &[]) == 2.0
            && value(&now, "fezz_runner_processes", &[]) == 2.0
        {
            break now;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{}", hhrf.log());
        std::thread::sleep(Duration::from_millis(10));
    };
    for version in ["1", "2"] {
        let labels = [("function", "fx"), ("version", version)];
        assert_eq!(value(&busy, "fezz_calls_in_flight", &labels), 1.0);
        assert_eq!(value(&busy, "fezz_calls_queued", &labels), 0.0);
    }
    assert_eq!(value(&busy, "fezz_runner_processes", &[]), 2.0);
    assert_eq!(value(&busy, "fezz_ready", &[]), 0.0);
    hhrf.get("/rpc/fx@3/refused")
        .assert_error(503, "overloaded");
    first.join().unwrap().assert_error(504, "timeout");
    second.join().unwrap().assert_error(504, "timeout");

    let after = scrape(&hhrf);
    let invocations = |version, outcome| {
        value(
            &after,
            "faas_invocations_total",
            &with(fx(version), ("outcome", outcome)),
        )
    };
    assert_eq!(invocations("1", "ok"), 3.0);
    assert_eq!(invocations("1", "function-failed"), 1.0);
    assert_eq!(invocations("1", "runner-crashed"), 1.0);
    assert_eq!(invocations("1", "timeout"), 1.0);
    assert_eq!(invocations("2", "timeout"), 1.0);
    assert_eq!(invocations("3", "overloaded"), 1.0);
    assert_eq!(samples(&after, "faas_invocations_total", &[]).len(), 6);
    let errors = |version, kind| {
        value(
            &after,
            "faas_errors_total",
            &with(fx(version), ("kind", kind)),
        )
    };
    assert_eq!(errors("1", "ok"), 0.0);
    assert_eq!(errors("1", "function-failed"), 1.0);
    assert_eq!(errors("1", "runner-crashed"), 1.0);
    assert_eq!(errors("1", "timeout"), 1.0);
    assert_eq!(errors("3", "overloaded"), 1.0);
    assert_eq!(value(&after, "faas_timeouts_total", &fx("1")), 1.0);
    assert_eq!(value(&after, "faas_timeouts_total", &fx("2")), 1.0);
    assert_eq!(
        value(
            &after,
            "fezz_crashes_total",
            &with(fx("1"), ("signal", "SIGSEGV"))
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "fezz_rejections_total",
            &[
                ("function", "fx"),
                ("version", "3"),
                ("reason", "server-queue-full")
            ]
        ),
        1.0
    );
    assert_eq!(samples(&after, "fezz_rejections_total", &[]).len(), 1);
    // Every call of fx@1 started a runner; the refused one did not.
    assert_eq!(value(&after, "faas_coldstarts_total", &fx("1")), 6.0);
    assert_eq!(value(&after, "faas_coldstarts_total", &fx("3")), 0.0);
    assert_eq!(
        value(&after, "faas_invoke_duration_seconds_count", &fx("1")),
        6.0
    );
    assert_eq!(
        value(&after, "faas_invoke_duration_seconds_count", &fx("3")),
        1.0
    );
    // The hang took its whole timeout: the sum is at least 1 s.
    assert!(value(&after, "faas_invoke_duration_seconds_sum", &fx("2")) >= 1.0);
    let buckets = samples(&after, "faas_invoke_duration_seconds", &fx("1"));
    match &buckets[..] {
        [histogram] => match &histogram.value {
            Value::Histogram(counts) => {
                let all = counts.iter().find(|count| count.less_than.is_infinite());
                assert_eq!(all.map(|count| count.count), Some(6.0), "{counts:?}");
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // Start-up is seen for the runners that wrote output (three answers and the error
    // frame); not for the crash or the hang.
    assert_eq!(
        value(
            &after,
            "fezz_runner_startup_duration_seconds_count",
            &fx("1")
        ),
        4.0
    );
    // CPU time and peak memory come from wait4 for every reaped runner.
    let cpu_count = value(&after, "faas_cpu_usage_seconds_count", &fx("1"));
    assert!((5.0..=6.0).contains(&cpu_count), "{cpu_count}");
    assert!(value(&after, "faas_cpu_usage_seconds_sum", &fx("1")) > 0.0);
    let memory_count = value(&after, "faas_mem_usage_bytes_count", &fx("1"));
    assert_eq!(memory_count, cpu_count);
    let memory = value(&after, "faas_mem_usage_bytes_sum", &fx("1")) / memory_count;
    assert!(memory > 1_048_576.0, "average peak {memory} B");
    // Idle again.
    assert_eq!(value(&after, "fezz_server_calls_in_flight", &[]), 0.0);
    assert_eq!(value(&after, "fezz_ready", &[]), 1.0);
    let started = Instant::now();
    while value(&scrape(&hhrf), "fezz_runner_processes", &[]) != 0.0 {
        assert!(started.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    }
    // hhrf's own endpoints are not function calls.
    assert!(samples(&after, "faas_invocations_total", &[])
        .iter()
        .all(|sample| sample.labels.get("function") == Some("fx")));
}
