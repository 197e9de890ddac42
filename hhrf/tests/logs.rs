//! The log, black box (`spec/HTTP.md`, "Log"): the request event carries the mode, the
//! runner's exit, CPU time and peak memory; what a function writes to stderr is logged on
//! every call, successful ones too, one event per line tagged with the request id and the
//! function; `--log-format json` writes every event as one JSON object per line.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Hhrf, Root};

#[test]
fn the_human_log_has_the_call_figures_and_the_functions_stderr() {
    let root = Root::new();
    root.add_fixture(10_000);
    let hhrf = Hhrf::start(&root, &[]);
    // `/stdout` writes "fixture noise" to fd 1, which the runner points at its stderr.
    let response = hhrf.get("/rpc/fx@1/stdout");
    assert_eq!(response.status, 200);
    let id = response.request_id();
    let line = hhrf.request_line(&id);
    assert!(
        line.contains(" function=fx@1 status=200 outcome=ok duration_ms="),
        "{line}"
    );
    assert!(line.contains(" mode=fresh "), "{line}");
    assert!(line.contains(" cpu_us="), "{line}");
    assert!(line.contains(" peak_memory_bytes="), "{line}");
    assert!(line.ends_with(" exit=0"), "{line}");
    assert!(
        !line.contains("stderr="),
        "a clean call's line has no stderr tail: {line}"
    );
    let stderr = format!("hhrf: stderr request={id} function=fx@1 line=\"fixture noise\"");
    hhrf.wait_for_log(&stderr, Duration::from_secs(5));
    // hhrf's own endpoints have no function, mode or runner.
    let health = hhrf.get("/_fezz/health");
    let line = hhrf.request_line(&health.request_id());
    assert!(line.contains(" outcome=health duration_ms="), "{line}");
    assert!(
        !line.contains(" mode=") && !line.contains(" exit="),
        "{line}"
    );
}

#[test]
fn the_json_log_is_one_object_per_line() {
    let root = Root::new();
    root.add_fixture(10_000);
    let hhrf = Hhrf::start(&root, &[("HHRF_LOG_FORMAT", Path::new("json"))]);
    let ok = hhrf.get("/rpc/fx@1/stdout");
    let crashed = hhrf.get("/rpc/fx@1/segfault");
    crashed.assert_error(502, "runner-crashed");
    let ok_id = ok.request_id();
    let crashed_id = crashed.request_id();
    hhrf.wait_for_log(&format!("\"id\":\"{crashed_id}\""), Duration::from_secs(5));
    let log = hhrf.log();
    let mut events = Vec::new();
    for line in log.lines() {
        if line.starts_with("hhrf listening on ") {
            continue;
        }
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        assert!(event["timestamp"].is_string(), "{event}");
        assert!(event["message"].is_string(), "{event}");
        events.push(event);
    }
    assert!(
        events
            .iter()
            .any(|event| event["message"].as_str().unwrap().starts_with("kernel: ")),
        "{log}"
    );
    let request = |id: &str| {
        events
            .iter()
            .find(|event| event["message"] == "request" && event["id"] == id)
            .unwrap_or_else(|| panic!("no request event for {id}:\n{log}"))
            .clone()
    };
    let ok = request(&ok_id);
    assert_eq!(ok["function"], "fx@1");
    assert_eq!(ok["status"], "200");
    assert_eq!(ok["outcome"], "ok");
    assert_eq!(ok["mode"], "fresh");
    assert_eq!(ok["exit"], "0");
    assert!(
        ok["duration_ms"].is_u64() && ok["cpu_us"].as_u64().unwrap() > 0,
        "{ok}"
    );
    assert!(ok["peak_memory_bytes"].as_u64().unwrap() > 1 << 20, "{ok}");
    let crashed = request(&crashed_id);
    assert_eq!(crashed["outcome"], "runner-crashed(SIGSEGV)");
    assert_eq!(crashed["exit"], "SIGSEGV");
    let noise: Vec<&serde_json::Value> = events
        .iter()
        .filter(|event| event["message"] == "stderr" && event["request"] == ok_id.as_str())
        .collect();
    assert_eq!(noise.len(), 1, "{log}");
    assert_eq!(noise[0]["line"], "fixture noise");
    assert_eq!(noise[0]["function"], "fx@1");
}
