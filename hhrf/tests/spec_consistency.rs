//! Every fact that `spec/HTTP.md` and the hhrf crate both state is compared here, so that a
//! number or a name edited in one place and not the other fails a test:
//!
//! - "Configuration": the defaults against `hhrf::config`;
//! - "Limits": every constant by name and value, nothing missing or extra;
//! - "Errors": every (status, `error.code`) pair against `Outcome`, both ways;
//! - "Hop-by-hop headers": the list against `dispatch::HOP_BY_HOP`;
//! - "Manifest format": the `limits.*` fields and their ranges against `manifest::Limits`
//!   and `ResourceLimit`, and "Environment passed to runners" names each `FEZZ_LIMIT_…`;
//! - "Subcommands": `hhrf new`'s languages and `hhrf invoke`'s context defaults;
//! - "Readiness": the reasons against `readiness::NotReady`;
//! - "Metrics": every series, its type and its labels against what `metrics::Metrics`
//!   renders;
//! - every link in HTTP.md resolves to a file and a heading, and every anchor that a vector in
//!   `spec/vectors/http` cites exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fezz_abi::limits::{
    MAX_BODY_BYTES, MAX_HEADER_COUNT, MAX_HEADER_NAME_BYTES, MAX_HEADER_VALUE_BYTES,
    MAX_STDERR_BYTES, MAX_TEXT_BYTES,
};
use fezz_abi::runner_protocol::ResourceLimit;
use fezz_abi::sandbox::SandboxVariable;
use fezz_abi::WireError;
use hhrf::admission::CALL_OVERHEAD_BYTES;
use hhrf::client_io::WRITE_TIMEOUT;
use hhrf::config::{
    DEFAULT_BACKLOG, DEFAULT_MAX_CALLS, DEFAULT_MAX_QUEUE, DEFAULT_MEMORY_BUDGET, MIN_MEMORY_BUDGET,
};
use hhrf::config::{
    DEFAULT_DRAIN_DELAY_MS, DEFAULT_LISTEN, DEFAULT_ROOT, DEFAULT_TIMEOUT_MS, MAX_DRAIN_MS,
};
use hhrf::dispatch::HOP_BY_HOP;
use hhrf::log::{MAX_STDERR_LOG_LINES, MAX_STDERR_LOG_LINE_BYTES};
use hhrf::manifest::sandbox::{
    DEFAULT_SANDBOX_FILE_BYTES, MAX_SANDBOX_FILE_BYTES, MAX_SANDBOX_PATHS, MAX_SANDBOX_PATH_BYTES,
    MIN_SANDBOX_FILE_BYTES,
};
use hhrf::manifest::{
    Limits, MAX_CPU_SECONDS, MAX_ENTRY_BYTES, MAX_ENV_ENTRIES, MAX_ENV_NAME_BYTES,
    MAX_ENV_VALUE_BYTES, MAX_MANIFEST_BYTES, MAX_MEMORY_BYTES, MAX_NAME_BYTES, MAX_OPEN_FILES,
    MAX_PROCESSES, MAX_ROUTES, MAX_TIMEOUT_MS, MIN_MEMORY_BYTES, MIN_OPEN_FILES,
};
use hhrf::outcome::{classify, ExitState, Outcome, MAX_STDOUT_BYTES};
use hhrf::privileges::DEFAULT_RUNNER_USER;
use hhrf::routes::MAX_ROUTE_BYTES;
use hhrf::runner::MAX_CONCURRENT_CALLS;
use hhrf::scratch::{MAX_SCRATCH_ENTRIES, MAX_SPARE_FOLDERS};
use hhrf::server::HEADER_READ_TIMEOUT;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn http_md() -> String {
    std::fs::read_to_string(root().join("spec/HTTP.md")).expect("spec/HTTP.md")
}

/// The text under `heading` up to the next heading of the same or a higher level.
fn section(markdown: &str, heading: &str) -> String {
    let level = heading.len() - heading.trim_start_matches('#').len();
    let mut lines = markdown.lines().skip_while(|line| *line != heading);
    assert!(lines.next().is_some(), "no heading `{heading}`");
    let mut in_code = false;
    let mut text = String::new();
    for line in lines {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        let marks = line.len() - line.trim_start_matches('#').len();
        if !in_code && marks > 0 && marks <= level && line[marks..].starts_with(' ') {
            break;
        }
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The body rows of the first table in `text`, cells trimmed, backticks removed.
fn table(text: &str) -> Vec<Vec<String>> {
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .collect();
    assert!(
        rows.len() >= 2 && rows[1].starts_with("|--"),
        "no table in:\n{text}"
    );
    rows[2..]
        .iter()
        .map(|row| {
            row.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn configuration_defaults_match_the_code() {
    let rows = table(&section(&http_md(), "## Configuration"));
    let default = |option: &str| {
        rows.iter()
            .find(|row| row[0] == option)
            .unwrap_or_else(|| panic!("no row for {option}"))[2]
            .clone()
    };
    assert_eq!(default("--listen"), DEFAULT_LISTEN);
    assert_eq!(default("--root"), DEFAULT_ROOT);
    assert_eq!(default("--timeout-ms"), DEFAULT_TIMEOUT_MS.to_string());
    let (uid, gid) = DEFAULT_RUNNER_USER;
    assert_eq!(default("--runner-user"), format!("{uid}:{gid}"));
    let timeout_rule = &rows.iter().find(|row| row[0] == "--timeout-ms").unwrap()[3];
    assert!(
        timeout_rule.contains(&format!("1 to {MAX_TIMEOUT_MS}")),
        "{timeout_rule}"
    );
    assert_eq!(default("--max-calls"), DEFAULT_MAX_CALLS.to_string());
    assert_eq!(default("--max-queue"), DEFAULT_MAX_QUEUE.to_string());
    assert_eq!(
        default("--memory-budget"),
        DEFAULT_MEMORY_BUDGET.to_string()
    );
    assert_eq!(default("--backlog"), DEFAULT_BACKLOG.to_string());
    assert_eq!(
        default("--drain-delay-ms"),
        DEFAULT_DRAIN_DELAY_MS.to_string()
    );
    assert_eq!(default("--admin-listen"), "none");
    assert_eq!(default("--log-format"), hhrf::log::LogFormat::NAMES[0]);
    let formats = &rows.iter().find(|row| row[0] == "--log-format").unwrap()[3];
    for name in hhrf::log::LogFormat::NAMES {
        assert!(formats.contains(name), "{formats}");
    }
    for option in ["--drain-delay-ms", "--drain-timeout-ms"] {
        let rule = &rows.iter().find(|row| row[0] == option).unwrap()[3];
        assert!(
            rule.contains(&format!("0 to {MAX_DRAIN_MS}")),
            "{option}: {rule}"
        );
    }
    let variables: Vec<&str> = rows.iter().map(|row| row[1].as_str()).collect();
    assert_eq!(
        variables,
        [
            "HHRF_LISTEN",
            "HHRF_ROOT",
            "HHRF_TIMEOUT_MS",
            "HHRF_MAX_CALLS",
            "HHRF_MAX_QUEUE",
            "HHRF_MEMORY_BUDGET",
            "HHRF_BACKLOG",
            "HHRF_RUNNER_USER",
            "HHRF_ADMIN_LISTEN",
            "HHRF_DRAIN_DELAY_MS",
            "HHRF_DRAIN_TIMEOUT_MS",
            "HHRF_LOG_FORMAT",
            "HHRF_TRUSTED_PROXIES",
            "HHRF_PROXY_PROTOCOL",
            "HHRF_WATCH",
            "HHRF_POLL_INTERVAL_MS",
            "HHRF_CONFIG"
        ]
    );
    assert_eq!(
        default("--poll-interval-ms"),
        hhrf::config::DEFAULT_POLL_INTERVAL_MS.to_string()
    );
    let range = hhrf::config::POLL_INTERVAL_RANGE_MS;
    let rule = &rows
        .iter()
        .find(|row| row[0] == "--poll-interval-ms")
        .unwrap()[3];
    assert!(
        rule.contains(&format!("{} to {}", range.start(), range.end())),
        "{rule}"
    );
    let watch = &rows.iter().find(|row| row[0] == "--watch").unwrap();
    assert_eq!(watch[2], "auto");
    for (mode, name) in hhrf::watch::WatchMode::ALL {
        assert!(
            watch[3].contains(&format!("`{name}`")),
            "{mode:?}: {}",
            watch[3]
        );
    }
    assert_eq!(default("--config"), "none");
    // Every variable but HHRF_CONFIG is a config file key.
    let mut keys: Vec<&str> = variables.clone();
    keys.retain(|variable| *variable != "HHRF_CONFIG");
    assert_eq!(keys, hhrf::config::FILE_VARIABLES);
    let config_rule = &rows.iter().find(|row| row[0] == "--config").unwrap()[3];
    assert!(
        config_rule.contains(&hhrf::config::MAX_CONFIG_FILE_BYTES.to_string()),
        "{config_rule}"
    );
}

#[test]
fn hot_deploy_headers_and_the_functions_endpoint_match_the_code() {
    let text = http_md();
    let rows = table(&section(&text, "## Hot deploy"));
    let headers: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(
        headers,
        [
            hhrf::dispatch::FUNCTION_HEADER,
            hhrf::dispatch::LIBRARY_HEADER
        ]
    );
    assert!(rows[1][1].contains(&format!(
        "first {} hex digits",
        hhrf::deploy::SHORT_HASH_LEN
    )));
    let hot = section(&text, "## Hot deploy");
    assert!(hot.contains(&hhrf::deploy::MAX_LIBRARY_BYTES.to_string()));
    assert!(hot.contains(&format!("<scratch base>/{}/", hhrf::deploy::STORE_DIR)));
    let endpoint = section(&text, "## Functions endpoint");
    assert!(endpoint.contains(&format!("`GET {}`", hhrf::dispatch::FUNCTIONS_PATH)));
    let routing = section(&text, "## Routing");
    for (_, path) in hhrf::dispatch::HhrfEndpoint::ALL {
        assert!(routing.contains(&format!("`{path}`")), "{path} in Routing");
    }
    let subcommands = section(&text, "## Subcommands");
    for name in hhrf::cli::SUBCOMMANDS {
        assert!(
            subcommands.contains(&format!("### `hhrf {name}`"))
                || subcommands.contains(&format!("`hhrf {name}`")),
            "hhrf {name} in Subcommands"
        );
    }
}

#[test]
fn limits_table_matches_the_constants() {
    let code: Vec<(&str, u128)> = vec![
        ("MAX_BODY_BYTES", MAX_BODY_BYTES as u128),
        ("MAX_HEADER_COUNT", MAX_HEADER_COUNT as u128),
        ("MAX_HEADER_NAME_BYTES", MAX_HEADER_NAME_BYTES as u128),
        ("MAX_HEADER_VALUE_BYTES", MAX_HEADER_VALUE_BYTES as u128),
        ("MAX_TEXT_BYTES", MAX_TEXT_BYTES as u128),
        ("MAX_STDOUT_BYTES", MAX_STDOUT_BYTES as u128),
        ("MAX_STDERR_BYTES", MAX_STDERR_BYTES as u128),
        ("MAX_STDERR_LOG_LINES", MAX_STDERR_LOG_LINES as u128),
        (
            "MAX_STDERR_LOG_LINE_BYTES",
            MAX_STDERR_LOG_LINE_BYTES as u128,
        ),
        ("HEADER_READ_TIMEOUT", HEADER_READ_TIMEOUT.as_millis()),
        ("WRITE_TIMEOUT", WRITE_TIMEOUT.as_millis()),
        ("MAX_CONCURRENT_CALLS", MAX_CONCURRENT_CALLS as u128),
        ("CALL_OVERHEAD_BYTES", CALL_OVERHEAD_BYTES as u128),
        ("MIN_MEMORY_BUDGET", MIN_MEMORY_BUDGET as u128),
        ("MAX_MANIFEST_BYTES", MAX_MANIFEST_BYTES as u128),
        ("MAX_NAME_BYTES", MAX_NAME_BYTES as u128),
        ("MAX_ENTRY_BYTES", MAX_ENTRY_BYTES as u128),
        ("MAX_ROUTES", MAX_ROUTES as u128),
        ("MAX_ROUTE_BYTES", MAX_ROUTE_BYTES as u128),
        ("MAX_ENV_ENTRIES", MAX_ENV_ENTRIES as u128),
        ("MAX_ENV_NAME_BYTES", MAX_ENV_NAME_BYTES as u128),
        ("MAX_ENV_VALUE_BYTES", MAX_ENV_VALUE_BYTES as u128),
        ("MAX_TIMEOUT_MS", MAX_TIMEOUT_MS as u128),
        ("MIN_MEMORY_BYTES", MIN_MEMORY_BYTES as u128),
        ("MAX_MEMORY_BYTES", MAX_MEMORY_BYTES as u128),
        ("MAX_CPU_SECONDS", MAX_CPU_SECONDS as u128),
        ("MIN_OPEN_FILES", MIN_OPEN_FILES as u128),
        ("MAX_OPEN_FILES", MAX_OPEN_FILES as u128),
        ("MAX_PROCESSES", MAX_PROCESSES as u128),
        ("MAX_SANDBOX_PATHS", MAX_SANDBOX_PATHS as u128),
        ("MAX_SANDBOX_PATH_BYTES", MAX_SANDBOX_PATH_BYTES as u128),
        ("MIN_SANDBOX_FILE_BYTES", MIN_SANDBOX_FILE_BYTES as u128),
        ("MAX_SANDBOX_FILE_BYTES", MAX_SANDBOX_FILE_BYTES as u128),
        ("MAX_SCRATCH_ENTRIES", MAX_SCRATCH_ENTRIES as u128),
        ("MAX_SPARE_FOLDERS", MAX_SPARE_FOLDERS as u128),
    ];
    let spec: Vec<(String, u128)> = table(&section(&http_md(), "## Limits"))
        .into_iter()
        .map(|row| (row[1].clone(), row[2].parse().expect("a plain number")))
        .collect();
    let spec_names: Vec<&str> = spec.iter().map(|(name, _)| name.as_str()).collect();
    let code_names: Vec<&str> = code.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        spec_names, code_names,
        "the Limits table lists other constants"
    );
    for ((name, spec_value), (_, code_value)) in spec.iter().zip(&code) {
        assert_eq!(spec_value, code_value, "{name}");
    }
}

#[test]
fn manifest_limits_match_the_code() {
    let text = http_md();
    let rows = table(&section(&text, "## Manifest format"));
    let limit_rows: Vec<&Vec<String>> = rows
        .iter()
        .filter(|row| row[0].starts_with("limits."))
        .collect();
    let fields: Vec<String> = limit_rows
        .iter()
        .map(|row| row[0]["limits.".len()..].to_owned())
        .collect();
    let code: Vec<&str> = ResourceLimit::ALL
        .iter()
        .map(|limit| limit.manifest_field())
        .collect();
    assert_eq!(fields, code, "the manifest table lists other limits");
    assert!(rows.iter().any(|row| row[0] == "limits"), "no `limits` row");
    for (row, limit) in limit_rows.iter().zip(ResourceLimit::ALL) {
        let range = Limits::range(limit);
        let rule = &row[4];
        assert!(
            rule.starts_with(&format!("{} to {}", range.start(), range.end())),
            "{}: {rule}",
            row[0]
        );
        assert!(rule.contains(limit.rlimit_name()), "{}: {rule}", row[0]);
    }
    let environment = section(&text, "## Environment passed to runners");
    for limit in ResourceLimit::ALL {
        assert!(
            environment.contains(&format!("`{}`", limit.env_name())),
            "{} is not in Environment passed to runners",
            limit.env_name()
        );
    }
}

#[test]
fn manifest_sandbox_matches_the_code() {
    let text = http_md();
    let rows = table(&section(&text, "## Manifest format"));
    let fields: Vec<&str> = rows
        .iter()
        .map(|row| row[0].as_str())
        .filter(|field| field.starts_with("sandbox"))
        .collect();
    assert_eq!(
        fields,
        [
            "sandbox",
            "sandbox.enabled",
            "sandbox.read",
            "sandbox.write",
            "sandbox.network",
            "sandbox.network.connect",
            "sandbox.network.bind",
            "sandbox.file_bytes"
        ]
    );
    let file_bytes = rows
        .iter()
        .find(|row| row[0] == "sandbox.file_bytes")
        .unwrap();
    assert!(
        file_bytes[3].starts_with(&DEFAULT_SANDBOX_FILE_BYTES.to_string()),
        "{file_bytes:?}"
    );
    assert!(
        file_bytes[4].starts_with(&format!(
            "{MIN_SANDBOX_FILE_BYTES} to {MAX_SANDBOX_FILE_BYTES}"
        )),
        "{file_bytes:?}"
    );
    let read = rows.iter().find(|row| row[0] == "sandbox.read").unwrap();
    assert!(
        read[4].starts_with(&format!(
            "at most {MAX_SANDBOX_PATHS} paths, each 1 to {MAX_SANDBOX_PATH_BYTES} bytes"
        )),
        "{read:?}"
    );
    let environment = section(&text, "## Environment passed to runners");
    for variable in SandboxVariable::ALL {
        assert!(
            environment.contains(&format!("`{}`", variable.env_name())),
            "{} is not in Environment passed to runners",
            variable.env_name()
        );
    }
    assert!(environment.contains("`TMPDIR`"));
    assert!(environment.contains("`FEZZ_RUN_UID`") && environment.contains("`FEZZ_RUN_GID`"));
}

#[test]
fn manifest_modes_match_the_code() {
    use hhrf::manifest::mode::{
        WarmSettings, MAX_WARM_CALLS, MAX_WARM_IDLE_TIMEOUT_MS, MAX_WARM_INSTANCES,
        MAX_WARM_RSS_BYTES, MIN_WARM_RSS_BYTES, MODES,
    };
    let text = http_md();
    let rows = table(&section(&text, "## Manifest format"));
    let row = |field: &str| {
        rows.iter()
            .find(|row| row[0] == field)
            .unwrap_or_else(|| panic!("no `{field}` row"))
    };
    let mode = row("mode");
    assert!(
        mode[3].starts_with(&format!("\"{}\"", MODES[0])),
        "{mode:?}"
    );
    for name in MODES {
        assert!(mode[4].contains(&format!("\"{name}\"")), "{name}: {mode:?}");
    }
    let fields: Vec<&str> = rows
        .iter()
        .map(|row| row[0].as_str())
        .filter(|field| field.starts_with("warm."))
        .collect();
    assert_eq!(
        fields,
        [
            "warm.max_instances",
            "warm.max_calls",
            "warm.max_calls_jitter",
            "warm.idle_timeout_ms",
            "warm.max_rss_bytes"
        ]
    );
    let defaults = WarmSettings::default();
    for (field, default, rule) in [
        (
            "warm.max_instances",
            Some(defaults.max_instances),
            format!("1 to {MAX_WARM_INSTANCES}"),
        ),
        (
            "warm.max_calls",
            Some(defaults.max_calls),
            format!("1 to {MAX_WARM_CALLS}"),
        ),
        (
            "warm.max_calls_jitter",
            Some(defaults.max_calls_jitter),
            "0 to `max_calls` − 1".to_owned(),
        ),
        (
            "warm.idle_timeout_ms",
            Some(defaults.idle_timeout_ms),
            format!("1 to {MAX_WARM_IDLE_TIMEOUT_MS}"),
        ),
        (
            "warm.max_rss_bytes",
            None,
            format!("{MIN_WARM_RSS_BYTES} to {MAX_WARM_RSS_BYTES}"),
        ),
    ] {
        let row = row(field);
        if let Some(default) = default {
            assert_eq!(row[3], default.to_string(), "{field}");
        }
        assert!(row[4].starts_with(&rule), "{field}: {:?}", row[4]);
    }
    assert!(defaults.max_rss_bytes.is_none());
}

/// One outcome of every kind.
fn every_outcome() -> Vec<Outcome> {
    vec![
        Outcome::NotFound,
        Outcome::MethodNotAllowed {
            allow: "GET".into(),
        },
        Outcome::RequestTimeout,
        Outcome::BodyTooLarge { length: None },
        Outcome::UriTooLong { limit: 1 },
        Outcome::HeadersTooLarge {
            reason: String::new(),
        },
        Outcome::BadRequest {
            reason: String::new(),
        },
        Outcome::FunctionFailed {
            error: Some(WireError::new("function-failed", "x")),
            output_problem: None,
            stderr: Vec::new(),
        },
        classify(b"", ExitState::Signaled(11), b""),
        classify(b"", ExitState::Exited(11), b""),
        classify(b"", ExitState::Exited(0), b""),
        Outcome::SpawnFailed {
            reason: String::new(),
        },
        classify(b"", ExitState::TimedOut, b""),
        Outcome::Overloaded {
            reason: String::new(),
            retry_after_s: 1,
        },
        Outcome::Internal {
            reason: String::new(),
        },
        Outcome::Forbidden {
            reason: String::new(),
        },
        Outcome::Stopping,
    ]
}

#[test]
fn errors_table_matches_the_outcomes() {
    let spec: BTreeSet<(u16, String)> = table(&section(&http_md(), "## Errors"))
        .into_iter()
        .map(|row| (row[1].parse().expect("a status"), row[2].clone()))
        .collect();
    let code: BTreeSet<(u16, String)> = every_outcome()
        .iter()
        .map(|outcome| {
            (
                outcome.status().as_u16(),
                outcome.code().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(spec, code);
}

#[test]
fn hop_by_hop_list_matches_the_code() {
    let text = section(&http_md(), "## Hop-by-hop headers");
    let line = text
        .lines()
        .find(|line| line.starts_with('`'))
        .expect("the list line");
    let listed: Vec<&str> = line
        .split(", ")
        .map(|name| name.trim_matches('`'))
        .collect();
    assert_eq!(listed, HOP_BY_HOP);
}

fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut in_code = false;
    markdown
        .lines()
        .filter(|line| {
            if line.starts_with("```") {
                in_code = !in_code;
            }
            !in_code
        })
        .filter_map(|line| {
            let marks = line.len() - line.trim_start_matches('#').len();
            (marks > 0 && line[marks..].starts_with(' ')).then(|| anchor(&line[marks..]))
        })
        .collect()
}

#[test]
fn links_resolve_and_cited_anchors_exist() {
    let spec = root().join("spec");
    let text = http_md();
    for (at, _) in text.match_indices("](") {
        let target = &text[at + 2..at + 2 + text[at + 2..].find(')').unwrap()];
        if target.contains("://") {
            continue;
        }
        let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
        let linked = if path.is_empty() {
            spec.join("HTTP.md")
        } else {
            spec.join(path)
        };
        assert!(
            linked.exists(),
            "HTTP.md links to {target}, which does not exist"
        );
        if !fragment.is_empty() {
            let markdown = std::fs::read_to_string(&linked).unwrap();
            assert!(
                anchors(&markdown).contains(fragment),
                "HTTP.md links to {target}: no such heading"
            );
        }
    }
    let own = anchors(&text);
    let vectors = spec.join("vectors/http");
    for entry in std::fs::read_dir(&vectors).into_iter().flatten().flatten() {
        let case = std::fs::read_to_string(entry.path()).unwrap();
        for (at, _) in case.match_indices("HTTP.md#") {
            let fragment: String = case[at + 8..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '-')
                .collect();
            assert!(
                own.contains(&fragment),
                "{} cites HTTP.md#{fragment}",
                entry.path().display()
            );
        }
    }
}

#[test]
fn subcommand_defaults_match_the_code() {
    use clap::ValueEnum as _;
    let new = section(&http_md(), "### `hhrf new`");
    let languages: Vec<&str> = hhrf::scaffold::Language::value_variants()
        .iter()
        .map(|language| language.name())
        .collect();
    let usage = format!("hhrf new --lang {} NAME", languages.join("|"));
    assert!(new.contains(&usage), "no `{usage}` in:\n{new}");
    // Sentences wrap: compare with the line breaks as spaces.
    let invoke = section(&http_md(), "### `hhrf invoke`").replace('\n', " ");
    for (flag, default) in [
        ("--request-id", hhrf::invoke::DEFAULT_REQUEST_ID),
        ("--client-address", hhrf::invoke::DEFAULT_CLIENT_ADDRESS),
    ] {
        let text = format!("`{flag}` (default `{default}`)");
        assert!(invoke.contains(&text), "no {text} in:\n{invoke}");
    }
    assert!(invoke.contains(&format!("else {DEFAULT_TIMEOUT_MS})")));
}

#[test]
fn readiness_reasons_match_the_code() {
    let rows = table(&section(&http_md(), "## Readiness"));
    let spec: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    let code: Vec<&str> = hhrf::readiness::NotReady::ALL
        .iter()
        .map(|reason| reason.name())
        .collect();
    assert_eq!(spec, code);
}

/// What `Metrics` renders after one call of each kind: every family has a sample.
fn rendered_metrics() -> String {
    use hhrf::metrics::{CallFacts, Metrics, RunnerFacts, Snapshot};
    use std::sync::Arc;
    let metrics = Arc::new(Metrics::new());
    let call = |outcome: Outcome, refusal: Option<&'static str>, runner: bool| {
        let mut facts = CallFacts::start(metrics.clone());
        facts.function = Some("fx@1".to_owned());
        facts.refusal = refusal;
        if runner {
            facts.runner = Some(RunnerFacts {
                startup: Some(std::time::Duration::from_millis(1)),
                usage: Some(hhrf::usage::Usage {
                    cpu: std::time::Duration::from_millis(1),
                    peak_memory_bytes: 1 << 20,
                }),
                exit: Some(ExitState::Exited(0)),
                cold: true,
            });
        }
        facts.finish(&outcome);
    };
    call(classify(b"", ExitState::Signaled(11), b""), None, true);
    call(classify(b"", ExitState::TimedOut, b""), None, true);
    call(
        Outcome::Overloaded {
            reason: String::new(),
            retry_after_s: 1,
        },
        Some("server-queue-full"),
        false,
    );
    metrics.render(&Snapshot {
        functions: vec!["fx@1".to_owned()],
        ..Snapshot::default()
    })
}

#[test]
fn metrics_table_matches_the_series() {
    let text = rendered_metrics();
    // `# TYPE name type`; a counter's samples are `name_total`.
    let mut code: BTreeSet<(String, String)> = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            let name = if kind == "counter" {
                format!("{name}_total")
            } else {
                name.to_owned()
            };
            code.insert((name, kind.to_owned()));
        }
    }
    let rows = table(&section(&http_md(), "## Metrics"));
    let spec: BTreeSet<(String, String)> = rows
        .iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    assert_eq!(spec, code, "the Metrics table lists other series");
    for row in &rows {
        let (name, kind) = (&row[0], &row[1]);
        let sample = if kind == "histogram" {
            format!("{name}_count")
        } else {
            name.clone()
        };
        let line = text
            .lines()
            .find(|line| {
                line.starts_with(&format!("{sample}{{")) || line.starts_with(&format!("{sample} "))
            })
            .unwrap_or_else(|| panic!("no sample of {sample} in:\n{text}"));
        let labels: Vec<String> = match line.split_once('{') {
            Some((_, rest)) => rest[..rest.find('}').unwrap()]
                .split(',')
                .map(|pair| pair.split_once('=').unwrap().0.to_owned())
                .collect(),
            None => Vec::new(),
        };
        let spec_labels: Vec<String> = row[2]
            .split(", ")
            .filter(|label| *label != "none")
            .map(|label| label.trim_matches('`').to_owned())
            .collect();
        assert_eq!(labels, spec_labels, "{name}: {line}");
    }
}
