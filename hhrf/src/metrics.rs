//! The metrics served at `/_fezz/metrics` (`spec/HTTP.md`, "Metrics"), in the Prometheus
//! text format (OpenMetrics 1.0), with the `prometheus-client` crate.
//!
//! What lives here: [`Metrics`] (every series, registered once), [`CallFacts`] (what one
//! request learnt on its way: its function, the runner's start-up and usage, an admission
//! refusal; recorded once, when the request ends or its future is dropped), [`Snapshot`]
//! (the state read at scrape time: admission gauges, live runners, readiness) and
//! [`Metrics::render`]. What does not: serving the endpoint (`admin`), measuring (`runner`,
//! `usage`, `admission`).
//!
//! Names follow the OpenTelemetry semantic conventions for FaaS where one fits
//! (`faas_invocations`, `faas_errors`, `faas_timeouts`, `faas_coldstarts`,
//! `faas_invoke_duration`, `faas_cpu_usage`, `faas_mem_usage`); the others start with
//! `fezz_`. Every call series has the labels `function` (the id), `version` and `mode`
//! (the execution mode: [`MODE_FRESH`] or `warm`, `crate::manifest::mode`), so a mode added later is a
//! new label value, not a new series name.

use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::admission::{AdmissionStats, Refusal};
use crate::outcome::{signal_name, ExitState, Outcome};
use crate::runner::RunOutput;
use crate::usage::Usage;

/// The `mode` label of calls that run in a fresh runner process each (the default mode).
pub const MODE_FRESH: &str = "fresh";

/// The content type of `/_fezz/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `outcome` label of a request whose client went away before it ended.
pub const CLIENT_GONE: &str = "client-gone";

/// The labels of a call series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The function id.
    pub function: String,
    /// The function version.
    pub version: String,
    /// The execution mode.
    pub mode: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    function: String,
    version: String,
    mode: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    function: String,
    version: String,
    mode: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CrashLabels {
    function: String,
    version: String,
    mode: String,
    signal: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    function: String,
    version: String,
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    function: String,
    version: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // 0.5 ms to about 65 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

fn cpu_histogram() -> Histogram {
    // 0.1 ms to about 13 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

fn memory_histogram() -> Histogram {
    // 1 MiB to 8 GiB.
    Histogram::new(exponential_buckets(1048576.0, 2.0, 14))
}

/// Every series hhrf exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    invocations: Family<OutcomeLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    timeouts: Family<CallLabels, Counter>,
    crashes: Family<CrashLabels, Counter>,
    rejections: Family<RejectionLabels, Counter>,
    coldstarts: Family<CallLabels, Counter>,
    duration: Histograms<CallLabels>,
    startup: Histograms<CallLabels>,
    cpu: Histograms<CallLabels>,
    memory: Histograms<CallLabels>,
    in_flight: Family<FunctionLabels, Gauge>,
    queued: Family<FunctionLabels, Gauge>,
    server_in_flight: Gauge,
    server_queued: Gauge,
    runners: Gauge,
    ready: Gauge,
    /// Serializes renders: the scrape-time gauges are cleared and set, then encoded.
    render: Mutex<()>,
    /// Every label set recorded, so the series of a removed version can be dropped
    /// ([`Metrics::forget`]).
    seen: Mutex<std::collections::HashSet<SeenLabels>>,
    /// `(function, version)` pairs no longer served: calls of theirs that end after
    /// [`Metrics::forget`] are not recorded, so their series stay gone.
    retired: Mutex<std::collections::HashSet<(String, String)>>,
}

/// The label values of the series one call touched.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct SeenLabels {
    labels: CallLabels,
    outcome: String,
    signal: Option<String>,
    reason: Option<&'static str>,
}

/// The state read at scrape time.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The admission state (calls in flight and queued, per function).
    pub admission: AdmissionStats,
    /// Every function served, as `<id>@<version>`: each gets its gauges, 0 when idle.
    pub functions: Vec<String>,
    /// Runner processes alive now.
    pub runners: usize,
    /// Whether `/_fezz/ready` would answer 200.
    pub ready: bool,
}

/// Splits `<id>@<version>` (ids and versions hold no `@`).
pub fn split_name(name: &str) -> (&str, &str) {
    name.split_once('@').unwrap_or((name, ""))
}

/// The `outcome` label of an outcome: `ok`, `function-error` or the error code.
pub fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Response { response, .. } if response.error.is_some() => "function-error",
        other => other.code().unwrap_or("ok"),
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every series, registered, all empty.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let invocations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "faas_invocations",
            "Requests served by a function, by outcome (ok, function-error, an error code, client-gone)",
            invocations.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "faas_errors",
            "Requests to a function that did not end in a clean response, by kind (function-error or the error code)",
            errors.clone(),
        );
        let timeouts = Family::<CallLabels, Counter>::default();
        registry.register(
            "faas_timeouts",
            "Calls killed at their deadline (504 timeout)",
            timeouts.clone(),
        );
        let crashes = Family::<CrashLabels, Counter>::default();
        registry.register(
            "fezz_crashes",
            "Runners killed by a signal (502 runner-crashed), by signal",
            crashes.clone(),
        );
        let rejections = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "fezz_rejections",
            "Calls refused by admission control (503 overloaded), by reason",
            rejections.clone(),
        );
        let coldstarts = Family::<CallLabels, Counter>::default();
        registry.register(
            "faas_coldstarts",
            "Runner processes started for a call (every call in fresh mode)",
            coldstarts.clone(),
        );
        let duration: Histograms<CallLabels> = Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "faas_invoke_duration",
            "Whole-call duration, from the start of handling to the outcome",
            Unit::Seconds,
            duration.clone(),
        );
        let startup: Histograms<CallLabels> = Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "fezz_runner_startup_duration",
            "From spawning the runner to the first byte of its output (fresh mode: start-up, library load and the function's run)",
            Unit::Seconds,
            startup.clone(),
        );
        let cpu: Histograms<CallLabels> = Family::new_with_constructor(cpu_histogram);
        registry.register_with_unit(
            "faas_cpu_usage",
            "CPU time (user and system) of each call's runner and the processes it reaped",
            Unit::Seconds,
            cpu.clone(),
        );
        let memory: Histograms<CallLabels> = Family::new_with_constructor(memory_histogram);
        registry.register_with_unit(
            "faas_mem_usage",
            "Peak resident memory of each call's largest process",
            Unit::Bytes,
            memory.clone(),
        );
        let in_flight = Family::<FunctionLabels, Gauge>::default();
        registry.register(
            "fezz_calls_in_flight",
            "Calls of a function admitted and not finished",
            in_flight.clone(),
        );
        let queued = Family::<FunctionLabels, Gauge>::default();
        registry.register(
            "fezz_calls_queued",
            "Calls of a function waiting for admission",
            queued.clone(),
        );
        let server_in_flight = Gauge::default();
        registry.register(
            "fezz_server_calls_in_flight",
            "Calls admitted and not finished, server-wide",
            server_in_flight.clone(),
        );
        let server_queued = Gauge::default();
        registry.register(
            "fezz_server_calls_queued",
            "Calls waiting for admission, server-wide",
            server_queued.clone(),
        );
        let runners = Gauge::default();
        registry.register(
            "fezz_runner_processes",
            "Runner processes alive (started and not reaped)",
            runners.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "fezz_ready",
            "1 when /_fezz/ready answers 200, else 0",
            ready.clone(),
        );
        Metrics {
            registry,
            invocations,
            errors,
            timeouts,
            crashes,
            rejections,
            coldstarts,
            duration,
            startup,
            cpu,
            memory,
            in_flight,
            queued,
            server_in_flight,
            server_queued,
            runners,
            ready,
            render: Mutex::new(()),
            seen: Mutex::new(std::collections::HashSet::new()),
            retired: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Records one request that reached a function, from what it learnt and how it ended.
    fn record(&self, facts: &CallFacts, outcome: &str, timed_out: bool, signal: Option<i32>) {
        let Some(function) = &facts.function else {
            return;
        };
        let (id, version) = split_name(function);
        if self
            .retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(id.to_owned(), version.to_owned()))
        {
            return;
        }
        let labels = CallLabels {
            function: id.to_owned(),
            version: version.to_owned(),
            mode: facts.mode.to_owned(),
        };
        self.invocations
            .get_or_create(&OutcomeLabels {
                function: labels.function.clone(),
                version: labels.version.clone(),
                mode: labels.mode.clone(),
                outcome: outcome.to_owned(),
            })
            .inc();
        if outcome != "ok" && outcome != CLIENT_GONE {
            self.errors
                .get_or_create(&ErrorLabels {
                    function: labels.function.clone(),
                    version: labels.version.clone(),
                    mode: labels.mode.clone(),
                    kind: outcome.to_owned(),
                })
                .inc();
        }
        if timed_out {
            self.timeouts.get_or_create(&labels).inc();
        }
        if let Some(signal) = signal {
            self.crashes
                .get_or_create(&CrashLabels {
                    function: labels.function.clone(),
                    version: labels.version.clone(),
                    mode: labels.mode.clone(),
                    signal: signal_name(signal),
                })
                .inc();
        }
        if let Some(reason) = facts.refusal {
            self.rejections
                .get_or_create(&RejectionLabels {
                    function: labels.function.clone(),
                    version: labels.version.clone(),
                    reason: reason.to_owned(),
                })
                .inc();
        }
        if let Some(runner) = &facts.runner {
            if runner.cold {
                self.coldstarts.get_or_create(&labels).inc();
            }
            if let Some(startup) = runner.startup {
                self.startup
                    .get_or_create(&labels)
                    .observe(startup.as_secs_f64());
            }
            if let Some(usage) = runner.usage {
                self.cpu
                    .get_or_create(&labels)
                    .observe(usage.cpu.as_secs_f64());
                self.memory
                    .get_or_create(&labels)
                    .observe(usage.peak_memory_bytes as f64);
            }
        }
        if let Some(elapsed) = facts.elapsed() {
            self.duration
                .get_or_create(&labels)
                .observe(elapsed.as_secs_f64());
        }
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(SeenLabels {
                labels,
                outcome: outcome.to_owned(),
                signal: signal.map(signal_name),
                reason: facts.refusal,
            });
    }

    /// `function` at `version` is served (again): its calls are recorded.
    pub fn serve(&self, function: &str, version: &str) {
        self.retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(function.to_owned(), version.to_owned()));
    }

    /// Drops every series of `function` at `version` (a version no longer served): its
    /// counters and histograms leave `/_fezz/metrics` (`spec/HTTP.md`, "Hot deploy").
    pub fn forget(&self, function: &str, version: &str) {
        self.retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((function.to_owned(), version.to_owned()));
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let gone: Vec<SeenLabels> = seen
            .iter()
            .filter(|seen| seen.labels.function == function && seen.labels.version == version)
            .cloned()
            .collect();
        for entry in gone {
            seen.remove(&entry);
            let labels = &entry.labels;
            self.invocations.remove(&OutcomeLabels {
                function: labels.function.clone(),
                version: labels.version.clone(),
                mode: labels.mode.clone(),
                outcome: entry.outcome.clone(),
            });
            self.errors.remove(&ErrorLabels {
                function: labels.function.clone(),
                version: labels.version.clone(),
                mode: labels.mode.clone(),
                kind: entry.outcome.clone(),
            });
            if let Some(signal) = &entry.signal {
                self.crashes.remove(&CrashLabels {
                    function: labels.function.clone(),
                    version: labels.version.clone(),
                    mode: labels.mode.clone(),
                    signal: signal.clone(),
                });
            }
            if let Some(reason) = entry.reason {
                self.rejections.remove(&RejectionLabels {
                    function: labels.function.clone(),
                    version: labels.version.clone(),
                    reason: reason.to_owned(),
                });
            }
            for family in [&self.timeouts, &self.coldstarts] {
                family.remove(labels);
            }
            for family in [&self.duration, &self.startup, &self.cpu, &self.memory] {
                family.remove(labels);
            }
        }
    }

    /// The text of `/_fezz/metrics`: the scrape-time gauges set from `snapshot`, then every
    /// series encoded.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let _serial = self.render.lock().unwrap_or_else(PoisonError::into_inner);
        self.in_flight.clear();
        self.queued.clear();
        for name in &snapshot.functions {
            let (function, version) = split_name(name);
            let labels = FunctionLabels {
                function: function.to_owned(),
                version: version.to_owned(),
            };
            let gate = snapshot.admission.functions.get(name);
            self.in_flight
                .get_or_create(&labels)
                .set(gate.map_or(0, |gate| gate.in_flight) as i64);
            self.queued
                .get_or_create(&labels)
                .set(gate.map_or(0, |gate| gate.queued) as i64);
        }
        self.server_in_flight
            .set(snapshot.admission.in_flight as i64);
        self.server_queued.set(snapshot.admission.queued as i64);
        self.runners.set(snapshot.runners as i64);
        self.ready.set(i64::from(snapshot.ready));
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            // Writing to a String does not fail; keep the endpoint answering anyway.
            let _ = writeln!(text, "# EOF");
        }
        text
    }
}

/// What a runner run contributed to a request's metrics and log event.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunnerFacts {
    /// Spawn to the first byte of output.
    pub startup: Option<Duration>,
    /// CPU time and peak memory.
    pub usage: Option<Usage>,
    /// How the runner ended.
    pub exit: Option<ExitState>,
    /// Whether a runner process was started for the call (a cold start).
    pub cold: bool,
}

impl From<&RunOutput> for RunnerFacts {
    fn from(output: &RunOutput) -> Self {
        RunnerFacts {
            startup: output.startup,
            usage: output.usage,
            exit: Some(output.exit),
            cold: true,
        }
    }
}

/// The `reason` label of an admission refusal.
pub fn refusal_label(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::QueueFull { scope, .. } if scope.contains("server") => "server-queue-full",
        Refusal::QueueFull { .. } => "function-queue-full",
        Refusal::DeadlinePassed { scope } if scope.contains("server") => "server-queue-deadline",
        Refusal::DeadlinePassed { .. } => "function-queue-deadline",
    }
}

/// What one request learnt on its way, recorded in [`Metrics`] exactly once: by
/// [`CallFacts::finish`] with the outcome, or, when the request's future is dropped first
/// (the client went away), on drop with outcome [`CLIENT_GONE`]. Requests that reach no
/// function (hhrf's own endpoints, 404s) record nothing.
#[derive(Debug)]
pub struct CallFacts {
    metrics: std::sync::Arc<Metrics>,
    started: tokio::time::Instant,
    /// `<id>@<version>` of the function that serves the request, once routed.
    pub function: Option<String>,
    /// The execution mode ([`MODE_FRESH`] or another `ExecutionMode::name`).
    pub mode: &'static str,
    /// The runner run, when one was started.
    pub runner: Option<RunnerFacts>,
    /// The admission refusal's reason label, when the call was refused.
    pub refusal: Option<&'static str>,
    recorded: bool,
}

impl CallFacts {
    /// Starts the facts of a request now.
    pub fn start(metrics: std::sync::Arc<Metrics>) -> CallFacts {
        CallFacts {
            metrics,
            started: tokio::time::Instant::now(),
            function: None,
            mode: MODE_FRESH,
            runner: None,
            refusal: None,
            recorded: false,
        }
    }

    fn elapsed(&self) -> Option<Duration> {
        Some(self.started.elapsed())
    }

    /// Records the request with its outcome.
    pub fn finish(mut self, outcome: &Outcome) {
        self.recorded = true;
        let timed_out = matches!(outcome, Outcome::TimedOut { .. });
        let signal = match outcome {
            Outcome::Crashed { signal, .. } => Some(*signal),
            _ => None,
        };
        self.metrics
            .record(&self, outcome_label(outcome), timed_out, signal);
    }
}

impl Drop for CallFacts {
    fn drop(&mut self) {
        if !self.recorded {
            self.metrics.record(self, CLIENT_GONE, false, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(metrics: &std::sync::Arc<Metrics>, function: &str) -> CallFacts {
        let mut facts = CallFacts::start(metrics.clone());
        facts.function = Some(function.to_owned());
        facts
    }

    #[test]
    fn calls_are_counted_by_outcome_once() {
        let metrics = std::sync::Arc::new(Metrics::new());
        let mut ok = facts(&metrics, "fx@1");
        ok.runner = Some(RunnerFacts {
            startup: Some(Duration::from_millis(2)),
            usage: Some(Usage {
                cpu: Duration::from_millis(3),
                peak_memory_bytes: 4 << 20,
            }),
            exit: Some(ExitState::Exited(0)),
            cold: true,
        });
        ok.finish(&Outcome::Response {
            response: Box::new(crate::outcome::FunctionResponse {
                status: http::StatusCode::OK,
                headers: http::HeaderMap::new(),
                body: Vec::new(),
                error: None,
            }),
            stderr: Vec::new(),
        });
        facts(&metrics, "fx@1").finish(&Outcome::Crashed {
            signal: 11,
            stderr: Vec::new(),
        });
        drop(facts(&metrics, "fx@1"));
        // Not routed to a function: nothing.
        CallFacts::start(metrics.clone()).finish(&Outcome::NotFound);
        let text = metrics.render(&Snapshot {
            functions: vec!["fx@1".to_owned()],
            runners: 2,
            ready: true,
            ..Snapshot::default()
        });
        for line in [
            r#"faas_invocations_total{function="fx",version="1",mode="fresh",outcome="ok"} 1"#,
            r#"faas_invocations_total{function="fx",version="1",mode="fresh",outcome="runner-crashed"} 1"#,
            r#"faas_invocations_total{function="fx",version="1",mode="fresh",outcome="client-gone"} 1"#,
            r#"faas_errors_total{function="fx",version="1",mode="fresh",kind="runner-crashed"} 1"#,
            r#"fezz_crashes_total{function="fx",version="1",mode="fresh",signal="SIGSEGV"} 1"#,
            r#"faas_coldstarts_total{function="fx",version="1",mode="fresh"} 1"#,
            r#"faas_invoke_duration_seconds_count{function="fx",version="1",mode="fresh"} 3"#,
            r#"faas_cpu_usage_seconds_sum{function="fx",version="1",mode="fresh"} 0.003"#,
            r#"fezz_calls_in_flight{function="fx",version="1"} 0"#,
            "fezz_runner_processes 2",
            "fezz_ready 1",
        ] {
            assert!(text.lines().any(|own| own == line), "no {line} in:\n{text}");
        }
        assert!(!text.contains("outcome=\"not-found\""), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn a_removed_version_loses_its_series_until_it_is_served_again() {
        let metrics = std::sync::Arc::new(Metrics::new());
        let crashed = || Outcome::Crashed {
            signal: 11,
            stderr: Vec::new(),
        };
        facts(&metrics, "fx@1").finish(&crashed());
        facts(&metrics, "fx@2").finish(&crashed());
        metrics.forget("fx", "1");
        let render = || metrics.render(&Snapshot::default());
        let text = render();
        assert!(!text.contains(r#"version="1""#), "{text}");
        assert!(
            text.contains(r#"fezz_crashes_total{function="fx",version="2""#),
            "{text}"
        );
        // A call that ends after the removal is not recorded.
        facts(&metrics, "fx@1").finish(&crashed());
        assert!(!render().contains(r#"version="1""#));
        metrics.serve("fx", "1");
        facts(&metrics, "fx@1").finish(&crashed());
        let text = render();
        assert!(
            text.contains(r#"faas_invocations_total{function="fx",version="1",mode="fresh",outcome="runner-crashed"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn refusals_have_a_reason_per_gate_and_kind() {
        let full = |scope| Refusal::QueueFull { scope, limit: 1 };
        assert_eq!(refusal_label(&full("the server's")), "server-queue-full");
        assert_eq!(
            refusal_label(&full("the function's")),
            "function-queue-full"
        );
        assert_eq!(
            refusal_label(&Refusal::DeadlinePassed {
                scope: "the function's"
            }),
            "function-queue-deadline"
        );
    }
}
