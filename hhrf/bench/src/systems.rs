//! The systems of the table and how one run of each is measured: the floors (limit A and F,
//! loops in a process of their own), and the HTTP rows (a server under wrk), each with the
//! CPU time of everything it ran, the server's peak memory and what the rest of the machine
//! did meanwhile ([`Busy`]).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde::Serialize;

use crate::busy::{Busy, Measured};
use crate::floor::LoopReport;
use crate::procstat::{self, MachineCpu, ProcessCpu, RssSampler};
use crate::servers::{Artifacts, Server, ServerKind, Workspace, RUNNER_USER};

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct System {
    /// The id used on the command line and in the JSON (`fezz-fresh-c16`).
    pub id: String,
    /// What the row is, for people (`fezz (hhrf, hello-c)`).
    pub name: String,
    /// The fezz execution mode (`fresh`), or `-` for the other rows.
    pub mode: String,
    /// wrk's connections; `None` for the floors (`workers` loops instead).
    pub connections: Option<u32>,
    /// What runs.
    #[serde(skip)]
    pub kind: SystemKind,
}

/// What a row runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemKind {
    /// Limit A: spawn the runner per call, with or without the sandbox variables.
    LimitA {
        /// Whether the runner gets the sandbox variables.
        sandbox: bool,
        /// Whether it is the baseline runner (`--baseline`).
        baseline: bool,
    },
    /// Limit F: fork from a process that loaded the library.
    LimitF,
    /// A server under wrk.
    Http(ServerKind),
}

impl System {
    /// Whether this is a fezz row (ratios are computed for these).
    pub fn is_fezz(&self) -> bool {
        matches!(self.kind, SystemKind::Http(ServerKind::Fezz { .. }))
    }
}

/// The row groups that `--systems` names.
pub const GROUPS: [&str; 10] = [
    "limit-a",
    "limit-a-baseline",
    "limit-a-open",
    "limit-f",
    "limit-b",
    "peer",
    "fezz",
    "fezz-baseline",
    "fezz-open",
    "fezz-warm",
];

/// The groups that need `--baseline` (the builds of another checkout, compared in the same
/// run).
pub const BASELINE_GROUPS: [&str; 2] = ["limit-a-baseline", "fezz-baseline"];

/// The rows for the chosen groups, each HTTP row once per connection count, in table order.
pub fn systems(groups: &[String], connections: &[u32]) -> anyhow::Result<Vec<System>> {
    for group in groups {
        if !GROUPS.contains(&group.as_str()) {
            bail!("unknown system {group:?}; known: {}", GROUPS.join(", "));
        }
    }
    let wanted = |group: &str| groups.iter().any(|chosen| chosen == group);
    let mut rows = Vec::new();
    let floor = |id: &str, name: &str, kind| System {
        id: id.to_owned(),
        name: name.to_owned(),
        mode: "-".to_owned(),
        connections: None,
        kind,
    };
    if wanted("limit-a") {
        rows.push(floor(
            "limit-a",
            "limit A: spawn runner (sandbox)",
            SystemKind::LimitA {
                sandbox: true,
                baseline: false,
            },
        ));
    }
    if wanted("limit-a-baseline") {
        rows.push(floor(
            "limit-a-baseline",
            "limit A: baseline runner (sandbox)",
            SystemKind::LimitA {
                sandbox: true,
                baseline: true,
            },
        ));
    }
    if wanted("limit-a-open") {
        rows.push(floor(
            "limit-a-open",
            "limit A: spawn runner (no sandbox)",
            SystemKind::LimitA {
                sandbox: false,
                baseline: false,
            },
        ));
    }
    if wanted("limit-f") {
        rows.push(floor("limit-f", "limit F: fork loaded", SystemKind::LimitF));
    }
    let http: [(&str, &str, &str, ServerKind); 6] = [
        (
            "limit-b",
            "limit B: in-process hyper",
            "-",
            ServerKind::LimitB,
        ),
        ("peer", "peer: lighttpd mod_cgi", "-", ServerKind::Peer),
        (
            "fezz",
            "fezz: hhrf (sandbox)",
            "fresh",
            ServerKind::Fezz {
                sandbox: true,
                baseline: false,
                warm: false,
            },
        ),
        (
            "fezz-baseline",
            "fezz: baseline hhrf (sandbox)",
            "fresh",
            ServerKind::Fezz {
                sandbox: true,
                baseline: true,
                warm: false,
            },
        ),
        (
            "fezz-open",
            "fezz: hhrf (no sandbox)",
            "fresh",
            ServerKind::Fezz {
                sandbox: false,
                baseline: false,
                warm: false,
            },
        ),
        (
            "fezz-warm",
            "fezz: hhrf warm (sandbox)",
            "warm",
            ServerKind::Fezz {
                sandbox: true,
                baseline: false,
                warm: true,
            },
        ),
    ];
    for (group, name, mode, kind) in http {
        if !wanted(group) {
            continue;
        }
        for &count in connections {
            let id = if mode == "-" || group.ends_with(mode) {
                format!("{group}-c{count}")
            } else {
                format!("{group}-{mode}-c{count}")
            };
            rows.push(System {
                id,
                name: name.to_owned(),
                mode: mode.to_owned(),
                connections: Some(count),
                kind: SystemKind::Http(kind),
            });
        }
    }
    Ok(rows)
}

/// How long and how hard each run is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RunSettings {
    /// Measured seconds per run.
    pub seconds: f64,
    /// Warm-up seconds before an HTTP run (not measured).
    pub warmup_seconds: f64,
    /// wrk's threads.
    pub wrk_threads: u32,
    /// The floors' parallel loops.
    pub workers: usize,
}

/// One measured run of one system.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measurement {
    /// Requests (or calls) completed.
    pub requests: u64,
    /// The run's length in seconds.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_second: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Failed requests (socket errors, non-2xx answers).
    pub errors: u64,
    /// CPU time per request of the system (server and its children; a floor's whole
    /// process tree), microseconds.
    pub cpu_us_per_request: f64,
    /// The part of it the server process itself used (not its children), microseconds;
    /// `None` for the floors.
    pub server_own_cpu_us_per_request: Option<f64>,
    /// The server's peak resident memory (`VmHWM`), bytes; `None` for the floors.
    pub peak_rss_bytes: Option<u64>,
    /// The largest `VmRSS` sampled during the measured part, bytes.
    pub sampled_rss_bytes: Option<u64>,
    /// What the rest of the machine did meanwhile.
    pub busy: Busy,
}

impl Measured for Measurement {
    fn busy(&self) -> Busy {
        self.busy
    }
}

/// The `q`-quantile (0 to 1) of `values` in microseconds, as milliseconds.
pub fn quantile_ms(values: &mut [u32], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable();
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    f64::from(values[index.min(values.len() - 1)]) / 1000.0
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Measures one run of `system`.
pub fn measure(
    system: &System,
    artifacts: &Artifacts,
    work: &Workspace,
    settings: &RunSettings,
) -> anyhow::Result<Measurement> {
    match system.kind {
        SystemKind::LimitA { sandbox, baseline } => {
            let runner = if baseline {
                &artifacts
                    .baseline
                    .as_ref()
                    .context("limit-a-baseline needs --baseline")?
                    .runner
            } else {
                &artifacts.runner
            };
            let mut command = Command::new(&artifacts.bench);
            command
                .args(["loop", "--kind", "spawn", "--runner"])
                .arg(runner)
                .arg("--scratch")
                .arg(&work.scratch);
            if sandbox {
                command.arg("--sandbox");
            }
            if crate::servers::is_root() {
                command
                    .arg("--run-as")
                    .arg(format!("{}:{}", RUNNER_USER.0, RUNNER_USER.1));
            }
            measure_loop(command, work, settings)
        }
        SystemKind::LimitF => {
            let mut command = Command::new(&artifacts.bench);
            command.args(["loop", "--kind", "fork"]);
            measure_loop(command, work, settings)
        }
        SystemKind::Http(kind) => measure_http(system, kind, artifacts, work, settings),
    }
}

/// Runs `fezz-bench loop …` and measures its whole process tree.
fn measure_loop(
    mut command: Command,
    work: &Workspace,
    settings: &RunSettings,
) -> anyhow::Result<Measurement> {
    command
        .arg("--library")
        .arg(&work.library)
        .args(["--workers", &settings.workers.to_string()])
        .args(["--seconds", &settings.seconds.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let children_before = procstat::rusage_seconds(libc::RUSAGE_CHILDREN);
    let self_before = procstat::rusage_seconds(libc::RUSAGE_SELF);
    let machine_before = MachineCpu::now()?;
    let started = Instant::now();
    let output = command.output().context("running fezz-bench loop")?;
    let wall = started.elapsed().as_secs_f64();
    let machine = MachineCpu::now()?.since(&machine_before);
    let tree = procstat::rusage_seconds(libc::RUSAGE_CHILDREN) - children_before;
    let own = procstat::rusage_seconds(libc::RUSAGE_SELF) - self_before;
    if !output.status.success() {
        bail!("fezz-bench loop failed ({})", output.status);
    }
    let mut report: LoopReport =
        serde_json::from_slice(&output.stdout).context("reading fezz-bench loop's report")?;
    if report.calls == 0 {
        bail!("the loop completed no call");
    }
    let calls = report.calls as f64;
    Ok(Measurement {
        requests: report.calls,
        seconds: report.seconds,
        requests_per_second: calls / report.seconds,
        p50_ms: quantile_ms(&mut report.latencies_us, 0.50),
        p99_ms: quantile_ms(&mut report.latencies_us, 0.99),
        errors: 0,
        cpu_us_per_request: tree * 1e6 / calls,
        server_own_cpu_us_per_request: None,
        peak_rss_bytes: None,
        sampled_rss_bytes: None,
        busy: Busy::of(&machine, tree + own, wall, cpus()),
    })
}

/// Starts the server, warms it up, and measures one wrk run against it.
fn measure_http(
    system: &System,
    kind: ServerKind,
    artifacts: &Artifacts,
    work: &Workspace,
    settings: &RunSettings,
) -> anyhow::Result<Measurement> {
    let connections = system.connections.unwrap_or(16);
    let mut server = Server::start(kind, artifacts, work)?;
    if settings.warmup_seconds > 0.0 {
        crate::wrk::run(
            &server.url,
            settings.wrk_threads,
            connections,
            settings.warmup_seconds,
        )
        .context("the warm-up")?;
    }
    let pid = server.pid();
    let sampler = RssSampler::start(pid, Duration::from_millis(20));
    let server_before = ProcessCpu::of(pid)?;
    let children_before = procstat::rusage_seconds(libc::RUSAGE_CHILDREN);
    let self_before = procstat::rusage_seconds(libc::RUSAGE_SELF);
    let machine_before = MachineCpu::now()?;
    let started = Instant::now();
    let result = crate::wrk::run(
        &server.url,
        settings.wrk_threads,
        connections,
        settings.seconds,
    );
    let wall = started.elapsed().as_secs_f64();
    let machine = MachineCpu::now()?.since(&machine_before);
    let server_after = ProcessCpu::of(pid)?;
    let server_cpu = server_after.total() - server_before.total();
    let server_own = server_after.own - server_before.own;
    let wrk_cpu = procstat::rusage_seconds(libc::RUSAGE_CHILDREN) - children_before;
    let own = procstat::rusage_seconds(libc::RUSAGE_SELF) - self_before;
    let sampled = sampler.finish();
    let (_, peak) = procstat::resident(pid);
    server.stop();
    let result = result?;
    if result.requests == 0 {
        bail!("{}: wrk completed no request", system.id);
    }
    Ok(Measurement {
        requests: result.requests,
        seconds: result.seconds,
        requests_per_second: result.requests as f64 / result.seconds,
        p50_ms: result.p50_ms,
        p99_ms: result.p99_ms,
        errors: result.errors,
        cpu_us_per_request: server_cpu * 1e6 / result.requests as f64,
        server_own_cpu_us_per_request: Some(server_own * 1e6 / result.requests as f64),
        peak_rss_bytes: peak,
        sampled_rss_bytes: Some(sampled),
        busy: Busy::of(&machine, server_cpu + wrk_cpu + own, wall, cpus()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_groups_and_connection_counts() {
        let all: Vec<String> = GROUPS
            .iter()
            .filter(|group| !BASELINE_GROUPS.contains(group))
            .map(|group| group.to_string())
            .collect();
        let rows = systems(&all, &[16, 64]).unwrap();
        let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "limit-a",
                "limit-a-open",
                "limit-f",
                "limit-b-c16",
                "limit-b-c64",
                "peer-c16",
                "peer-c64",
                "fezz-fresh-c16",
                "fezz-fresh-c64",
                "fezz-open-fresh-c16",
                "fezz-open-fresh-c64",
                "fezz-warm-c16",
                "fezz-warm-c64"
            ]
        );
        assert_eq!(rows.iter().filter(|row| row.is_fezz()).count(), 6);
        assert!(systems(&["nginx".to_owned()], &[16]).is_err());
        let baseline = systems(
            &["fezz-baseline".to_owned(), "limit-a-baseline".to_owned()],
            &[16],
        )
        .unwrap();
        let ids: Vec<&str> = baseline.iter().map(|row| row.id.as_str()).collect();
        assert_eq!(ids, ["limit-a-baseline", "fezz-baseline-fresh-c16"]);
    }

    #[test]
    fn quantiles_are_taken_from_sorted_microseconds() {
        let mut values: Vec<u32> = (1..=100).rev().map(|ms| ms * 1000).collect();
        assert_eq!(quantile_ms(&mut values, 0.5), 51.0);
        assert_eq!(quantile_ms(&mut values, 0.99), 99.0);
        assert_eq!(quantile_ms(&mut [], 0.5), 0.0);
    }
}
