//! The results: each row's runs summed up (medians over the rounds), the ratios of the fezz
//! rows to the floors and the peer, the printed table and the JSON document.

use std::fmt::Write as _;

use serde::Serialize;

use crate::busy::Busy;
use crate::servers::ServerKind;
use crate::systems::{Measurement, RunSettings, System, SystemKind};

/// One kept run of a row, with how many attempts it took.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The round (1-based).
    pub round: usize,
    /// Attempts made (1 + redone because disturbed).
    pub attempts: usize,
    /// Whether even the kept attempt was disturbed.
    pub disturbed: bool,
    /// What it measured.
    pub measurement: Measurement,
}

/// A row's runs summed up.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    /// Median requests per second over the rounds.
    pub requests_per_second: f64,
    /// Median of the runs' medians, ms.
    pub p50_ms: f64,
    /// Median of the runs' 99th percentiles, ms.
    pub p99_ms: f64,
    /// Median CPU µs per request.
    pub cpu_us_per_request: f64,
    /// Median CPU µs per request of the server process alone (HTTP rows).
    pub server_own_cpu_us_per_request: Option<f64>,
    /// The largest peak resident memory of the server over the runs, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Failed requests over all runs.
    pub errors: u64,
    /// The largest share of the machine other processes used in a kept run.
    pub max_other_share: f64,
    /// Attempts over all rounds.
    pub attempts: usize,
    /// Kept runs that were disturbed all the same.
    pub disturbed_runs: usize,
}

/// A fezz row compared with the others (same run of the benchmark).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Ratios {
    /// req/s ÷ limit A's calls/s (the limit A with the same sandbox setting).
    pub to_limit_a: Option<f64>,
    /// CPU per request ÷ limit A's CPU per call.
    pub cpu_to_limit_a: Option<f64>,
    /// req/s ÷ limit F's calls/s.
    pub to_limit_f: Option<f64>,
    /// req/s ÷ limit B's at the same connections.
    pub to_limit_b: Option<f64>,
    /// p99 ÷ limit B's p99 at the same connections.
    pub p99_to_limit_b: Option<f64>,
    /// req/s ÷ the peer's at the same connections.
    pub to_peer: Option<f64>,
    /// p99 ÷ the peer's p99 at the same connections.
    pub p99_to_peer: Option<f64>,
}

/// A row of the result.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The system.
    pub system: System,
    /// Its kept runs, one per round.
    pub runs: Vec<Run>,
    /// Their summary.
    pub summary: Summary,
    /// For fezz rows: the ratios.
    pub ratios: Option<Ratios>,
}

/// The whole result, as written to `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When it ran (UTC, RFC 3339).
    pub date: String,
    /// The machine: CPUs, kernel.
    pub machine: Machine,
    /// The settings of the run.
    pub settings: Settings,
    /// The rows in table order.
    pub rows: Vec<Row>,
}

/// What machine it ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Online CPUs.
    pub cpus: usize,
    /// `uname -r`.
    pub kernel: String,
    /// Whether the benchmark ran as root (then runners and CGI programs switch user).
    pub root: bool,
}

/// How the run was made.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Rounds (each system once per round, in turn).
    pub rounds: usize,
    /// Per-run settings.
    pub run: RunSettings,
    /// The share of the machine other processes may use before a run is redone.
    pub busy_threshold: f64,
    /// At most this many redone runs per run.
    pub retries: usize,
    /// `--quick`.
    pub quick: bool,
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// Sums up a row's runs.
pub fn summarize(runs: &[Run]) -> Summary {
    let pick =
        |f: fn(&Measurement) -> f64| median(runs.iter().map(|run| f(&run.measurement)).collect());
    Summary {
        requests_per_second: pick(|m| m.requests_per_second),
        p50_ms: pick(|m| m.p50_ms),
        p99_ms: pick(|m| m.p99_ms),
        cpu_us_per_request: pick(|m| m.cpu_us_per_request),
        server_own_cpu_us_per_request: runs
            .iter()
            .all(|run| run.measurement.server_own_cpu_us_per_request.is_some())
            .then(|| pick(|m| m.server_own_cpu_us_per_request.unwrap_or(0.0)))
            .filter(|_| !runs.is_empty()),
        peak_rss_bytes: runs
            .iter()
            .filter_map(|run| run.measurement.peak_rss_bytes)
            .max(),
        errors: runs.iter().map(|run| run.measurement.errors).sum(),
        max_other_share: runs
            .iter()
            .map(|run| run.measurement.busy.other_share)
            .fold(0.0, f64::max),
        attempts: runs.iter().map(|run| run.attempts).sum(),
        disturbed_runs: runs.iter().filter(|run| run.disturbed).count(),
    }
}

fn ratio(numerator: f64, denominator: Option<f64>) -> Option<f64> {
    denominator
        .filter(|value| *value > 0.0)
        .map(|value| numerator / value)
}

/// Builds the rows (summaries and the fezz rows' ratios).
pub fn rows(measured: Vec<(System, Vec<Run>)>) -> Vec<Row> {
    let mut rows: Vec<Row> = measured
        .into_iter()
        .map(|(system, runs)| Row {
            summary: summarize(&runs),
            system,
            runs,
            ratios: None,
        })
        .collect();
    let find = |rows: &[Row], test: &dyn Fn(&System) -> bool| {
        rows.iter()
            .find(|row| test(&row.system))
            .map(|row| row.summary.clone())
    };
    for index in 0..rows.len() {
        let system = rows[index].system.clone();
        let SystemKind::Http(ServerKind::Fezz {
            sandbox, baseline, ..
        }) = system.kind
        else {
            continue;
        };
        let own = rows[index].summary.clone();
        // The baseline's own limit A when it was measured, else this build's.
        let limit_a = find(&rows, &|other| {
            other.kind == SystemKind::LimitA { sandbox, baseline }
        })
        .or_else(|| {
            find(&rows, &|other| {
                other.kind
                    == SystemKind::LimitA {
                        sandbox,
                        baseline: false,
                    }
            })
        });
        let limit_f = find(&rows, &|other| other.kind == SystemKind::LimitF);
        let same = |kind: ServerKind| {
            find(&rows, &|other| {
                other.kind == SystemKind::Http(kind) && other.connections == system.connections
            })
        };
        let limit_b = same(ServerKind::LimitB);
        let peer = same(ServerKind::Peer);
        rows[index].ratios = Some(Ratios {
            to_limit_a: ratio(
                own.requests_per_second,
                limit_a.as_ref().map(|s| s.requests_per_second),
            ),
            cpu_to_limit_a: ratio(
                own.cpu_us_per_request,
                limit_a.as_ref().map(|s| s.cpu_us_per_request),
            ),
            to_limit_f: ratio(
                own.requests_per_second,
                limit_f.as_ref().map(|s| s.requests_per_second),
            ),
            to_limit_b: ratio(
                own.requests_per_second,
                limit_b.as_ref().map(|s| s.requests_per_second),
            ),
            p99_to_limit_b: ratio(own.p99_ms, limit_b.as_ref().map(|s| s.p99_ms)),
            to_peer: ratio(
                own.requests_per_second,
                peer.as_ref().map(|s| s.requests_per_second),
            ),
            p99_to_peer: ratio(own.p99_ms, peer.as_ref().map(|s| s.p99_ms)),
        });
    }
    rows
}

fn times(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.2}x"))
}

/// The table, one line per row, aligned.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "system",
        "mode",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "RSS MiB",
        "CPU us/req",
        "own us",
        "xA",
        "CPUxA",
        "xF",
        "xB",
        "xpeer",
        "p99xpeer",
        "other%",
        "tries",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|cell| cell.to_string()).collect()];
    for row in rows {
        let summary = &row.summary;
        let ratios = row.ratios.clone().unwrap_or_default();
        let fezz = row.ratios.is_some();
        let cell = |value: Option<f64>| if fezz { times(value) } else { String::new() };
        lines.push(vec![
            row.system.name.clone(),
            row.system.mode.clone(),
            row.system
                .connections
                .map_or_else(|| "-".to_owned(), |count| count.to_string()),
            format!("{:.0}", summary.requests_per_second),
            format!("{:.2}", summary.p50_ms),
            format!("{:.2}", summary.p99_ms),
            summary.peak_rss_bytes.map_or_else(
                || "-".to_owned(),
                |bytes| format!("{:.1}", bytes as f64 / 1048576.0),
            ),
            format!("{:.0}", summary.cpu_us_per_request),
            summary
                .server_own_cpu_us_per_request
                .map_or_else(|| "-".to_owned(), |own| format!("{own:.0}")),
            cell(ratios.to_limit_a),
            cell(ratios.cpu_to_limit_a),
            cell(ratios.to_limit_f),
            cell(ratios.to_limit_b),
            cell(ratios.to_peer),
            cell(ratios.p99_to_peer),
            format!("{:.0}", summary.max_other_share * 100.0),
            if summary.disturbed_runs > 0 {
                format!("{}!", summary.attempts)
            } else {
                summary.attempts.to_string()
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            lines
                .iter()
                .map(|line| line[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for line in &lines {
        for (column, cell) in line.iter().enumerate() {
            let pad = widths[column] - cell.chars().count();
            if column < 2 {
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(text, "{}{cell}  ", " ".repeat(pad));
            }
        }
        text = text.trim_end().to_owned();
        text.push('\n');
    }
    text
}

/// What `busy` says, for a progress line.
pub fn busy_note(busy: &Busy) -> String {
    format!(
        "other processes {:.0}% of the machine, interrupts {:.0}%",
        busy.other_share * 100.0,
        busy.interrupt_share * 100.0
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::systems::{systems, GROUPS};

    /// A report with every row, with made-up figures.
    pub(crate) fn sample_rows() -> Vec<Row> {
        let groups: Vec<String> = GROUPS
            .iter()
            .filter(|group| !crate::systems::BASELINE_GROUPS.contains(group))
            .map(|group| group.to_string())
            .collect();
        let measured = systems(&groups, &[16, 64])
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(index, system)| {
                let runs = (1..=3)
                    .map(|round| Run {
                        round,
                        attempts: if index == 0 && round == 2 { 3 } else { 1 },
                        disturbed: index == 0 && round == 2,
                        measurement: Measurement {
                            requests: 1000,
                            seconds: 1.0,
                            requests_per_second: 1000.0 * (index + 1) as f64 + round as f64,
                            p50_ms: 1.0 + index as f64,
                            p99_ms: 2.0 + index as f64,
                            cpu_us_per_request: 500.0 + round as f64,
                            peak_rss_bytes: system.connections.map(|_| 8 << 20),
                            server_own_cpu_us_per_request: system.connections.map(|_| 100.0),
                            busy: Busy {
                                other_share: 0.01 * round as f64,
                                ..Busy::default()
                            },
                            ..Measurement::default()
                        },
                    })
                    .collect();
                (system, runs)
            })
            .collect();
        rows(measured)
    }

    #[test]
    fn summaries_take_medians_and_maxima() {
        let rows = sample_rows();
        let first = &rows[0].summary;
        assert_eq!(first.requests_per_second, 1002.0);
        assert_eq!(first.cpu_us_per_request, 502.0);
        assert_eq!(first.attempts, 5);
        assert_eq!(first.disturbed_runs, 1);
        assert!((first.max_other_share - 0.03).abs() < 1e-12);
        assert_eq!(first.peak_rss_bytes, None);
        assert_eq!(rows[3].summary.peak_rss_bytes, Some(8 << 20));
        assert_eq!(first.server_own_cpu_us_per_request, None);
        assert_eq!(rows[3].summary.server_own_cpu_us_per_request, Some(100.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn fezz_rows_get_ratios_to_the_rows_of_the_same_setting() {
        let rows = sample_rows();
        let by_id = |id: &str| rows.iter().find(|row| row.system.id == id).unwrap();
        assert!(by_id("peer-c16").ratios.is_none());
        let fezz = by_id("fezz-fresh-c64").ratios.clone().unwrap();
        let rps = |id: &str| by_id(id).summary.requests_per_second;
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
        assert!(close(
            fezz.to_limit_a,
            rps("fezz-fresh-c64") / rps("limit-a")
        ));
        assert!(close(fezz.to_peer, rps("fezz-fresh-c64") / rps("peer-c64")));
        assert!(close(
            fezz.to_limit_b,
            rps("fezz-fresh-c64") / rps("limit-b-c64")
        ));
        let open = by_id("fezz-open-fresh-c16").ratios.clone().unwrap();
        assert!(close(
            open.to_limit_a,
            rps("fezz-open-fresh-c16") / rps("limit-a-open")
        ));
        assert!(close(
            open.to_limit_f,
            rps("fezz-open-fresh-c16") / rps("limit-f")
        ));
    }

    #[test]
    fn the_table_has_a_line_per_row_and_marks_disturbed_rows() {
        let rows = sample_rows();
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), rows.len() + 1);
        assert!(lines[0].starts_with("system"));
        assert!(lines[1].starts_with("limit A: spawn runner (sandbox)"));
        assert!(lines[1].trim_end().ends_with("5!"), "{}", lines[1]);
        let fezz = lines
            .iter()
            .find(|line| line.starts_with("fezz: hhrf (sandbox)"))
            .unwrap();
        assert!(fezz.contains("fresh") && fezz.contains('x'), "{fezz}");
        assert!(lines.iter().all(|line| line.len() == line.trim_end().len()));
    }

    #[test]
    fn the_json_holds_every_row_with_its_runs() {
        let report = Report {
            date: "2026-12-01T00:00:00Z".to_owned(),
            machine: Machine {
                cpus: 2,
                kernel: "6".to_owned(),
                root: true,
            },
            settings: Settings {
                rounds: 3,
                run: RunSettings {
                    seconds: 1.0,
                    warmup_seconds: 0.0,
                    wrk_threads: 2,
                    workers: 2,
                },
                busy_threshold: 0.1,
                retries: 2,
                quick: false,
            },
            rows: sample_rows(),
        };
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        let rows = json["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 13);
        assert_eq!(rows[0]["system"]["id"], "limit-a");
        assert_eq!(rows[0]["runs"].as_array().unwrap().len(), 3);
        assert!(rows[7]["ratios"]["to_peer"].as_f64().unwrap() > 0.0);
        assert!(rows[0]["ratios"].is_null());
        assert_eq!(json["settings"]["run"]["workers"], 2);
    }
}
