//! `fezz-bench`: the side-by-side benchmark of fezz (`hhrf/bench/README.md`; run it with
//! `bash hhrf/bench/run.sh`, which installs wrk and lighttpd and builds everything first).
//!
//! In one run, alternating between the systems round after round (A B C D, A B C D, …) so that
//! the machine's drift cancels, on loopback: limit A (spawn the runner per call), limit F
//! (fork a process that loaded the library), limit B (an in-process hyper server), the peer
//! (lighttpd mod_cgi) and fezz (hhrf serving `examples/hello-c`). Prints one table, writes
//! `results.json` and `results.svg`, redoes runs that other processes disturbed.
//!
//! Two hidden subcommands are the benchmark's own helpers: `loop` (the floors, in a process
//! of their own) and `limit-b-server`.

mod busy;
mod chart;
mod floor;
mod limit_b;
mod procstat;
mod report;
mod servers;
mod systems;
mod wrk;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};

use crate::report::{Machine, Report, Run, Settings};
use crate::servers::{Artifacts, Workspace};
use crate::systems::{RunSettings, SystemKind};

/// The fezz benchmark: floors, peer and hhrf side by side, alternating.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    helper: Option<Helper>,
    /// A seconds-long smoke run: one round, short runs, no warm-up.
    #[arg(long)]
    quick: bool,
    /// Rounds: every system runs once per round, in turn (default 3; 1 with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// Measured seconds per run (default 5; 0.5 with --quick).
    #[arg(long)]
    seconds: Option<f64>,
    /// Warm-up seconds before each HTTP run (default 1; 0 with --quick).
    #[arg(long)]
    warmup: Option<f64>,
    /// wrk's connection counts; each HTTP row runs at each.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    connections: Vec<u32>,
    /// The row groups, in table order: limit-a, limit-a-open, limit-a-baseline, limit-f,
    /// limit-b, peer, fezz, fezz-open, fezz-baseline (default: all; the baseline ones only
    /// with --baseline).
    #[arg(long, value_delimiter = ',')]
    systems: Option<Vec<String>>,
    /// Where results.json and results.svg go (default: <target>/bench next to this program).
    #[arg(long)]
    out: Option<PathBuf>,
    /// A run during which other processes used more than this share of the machine is redone.
    #[arg(long, default_value_t = busy::DEFAULT_THRESHOLD)]
    busy_threshold: f64,
    /// At most this many redone runs per run.
    #[arg(long, default_value_t = busy::DEFAULT_RETRIES)]
    retries: usize,
    /// The floors' parallel loops (default: the number of CPUs).
    #[arg(long)]
    workers: Option<usize>,
    /// wrk's threads.
    #[arg(long, default_value_t = 2)]
    wrk_threads: u32,
    /// The runner (default: fezz-runner next to this program).
    #[arg(long)]
    runner: Option<PathBuf>,
    /// hhrf (default: next to this program).
    #[arg(long)]
    hhrf: Option<PathBuf>,
    /// The hello library (default: <target>/bench/hello-c/libhello_c.so, where run.sh builds it).
    #[arg(long)]
    library: Option<PathBuf>,
    /// The hello manifest (default: examples/hello-c/fezz.json of this checkout).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// A folder with the hhrf and fezz-runner of another build (e.g. main's target/release):
    /// adds its rows (limit-a-baseline, fezz-baseline), alternating with this build's, so a
    /// change is measured within one run.
    #[arg(long)]
    baseline: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Helper {
    /// A floor loop (limit A or F), reporting JSON on stdout.
    #[command(hide = true)]
    Loop {
        #[arg(long, value_enum)]
        kind: floor::Kind,
        #[arg(long)]
        library: PathBuf,
        #[arg(long, default_value_t = 1)]
        workers: usize,
        #[arg(long)]
        seconds: f64,
        #[arg(long)]
        runner: Option<PathBuf>,
        #[arg(long)]
        sandbox: bool,
        #[arg(long)]
        scratch: Option<PathBuf>,
        /// UID:GID
        #[arg(long)]
        run_as: Option<String>,
    },
    /// Limit B's server.
    #[command(hide = true)]
    LimitBServer { listen: SocketAddr },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.helper {
        Some(Helper::Loop {
            kind,
            library,
            workers,
            seconds,
            runner,
            sandbox,
            scratch,
            run_as,
        }) => run_loop(
            kind, library, workers, seconds, runner, sandbox, scratch, run_as,
        ),
        Some(Helper::LimitBServer { listen }) => limit_b::serve(listen),
        None => benchmark(&cli),
    };
    if let Err(error) = result {
        eprintln!("fezz-bench: {error:#}");
        std::process::exit(1);
    }
}

#[allow(clippy::too_many_arguments)]
fn run_loop(
    kind: floor::Kind,
    library: PathBuf,
    workers: usize,
    seconds: f64,
    runner: Option<PathBuf>,
    sandbox: bool,
    scratch: Option<PathBuf>,
    run_as: Option<String>,
) -> anyhow::Result<()> {
    let report = match kind {
        floor::Kind::Fork => floor::fork_loop(&library, workers, seconds)?,
        floor::Kind::Spawn => {
            let run_as = run_as
                .map(|text| -> anyhow::Result<(u32, u32)> {
                    let (uid, gid) = text.split_once(':').context("--run-as UID:GID")?;
                    Ok((uid.parse()?, gid.parse()?))
                })
                .transpose()?;
            let setup = floor::SpawnSetup {
                runner: runner.context("--runner is required with --kind spawn")?,
                library,
                sandbox,
                scratch: scratch.unwrap_or_else(std::env::temp_dir),
                run_as,
            };
            floor::spawn_loop(&setup, workers, seconds)?
        }
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The folder of this program (`<target>/release`).
fn exe_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().unwrap_or(Path::new(".")).to_owned())
}

fn artifacts(cli: &Cli) -> anyhow::Result<Artifacts> {
    let dir = exe_dir()?;
    let target = dir.parent().unwrap_or(Path::new(".")).to_owned();
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let artifacts = Artifacts {
        bench: std::env::current_exe()?,
        runner: cli
            .runner
            .clone()
            .unwrap_or_else(|| dir.join("fezz-runner")),
        hhrf: cli.hhrf.clone().unwrap_or_else(|| dir.join("hhrf")),
        library: cli
            .library
            .clone()
            .unwrap_or_else(|| target.join("bench/hello-c/libhello_c.so")),
        manifest: cli
            .manifest
            .clone()
            .unwrap_or_else(|| checkout.join("examples/hello-c/fezz.json")),
        baseline: cli.baseline.as_ref().map(|dir| servers::Baseline {
            hhrf: dir.join("hhrf"),
            runner: dir.join("fezz-runner"),
        }),
    };
    if let Some(baseline) = &artifacts.baseline {
        for path in [&baseline.hhrf, &baseline.runner] {
            if !path.is_file() {
                bail!("--baseline: {} is not a file", path.display());
            }
        }
    }
    for (what, path) in [
        ("the runner", &artifacts.runner),
        ("hhrf", &artifacts.hhrf),
        ("the hello library", &artifacts.library),
        ("the hello manifest", &artifacts.manifest),
    ] {
        if !path.is_file() {
            bail!(
                "{what} is not at {} (bash hhrf/bench/run.sh builds everything)",
                path.display()
            );
        }
    }
    Ok(artifacts)
}

fn benchmark(cli: &Cli) -> anyhow::Result<()> {
    let artifacts = artifacts(cli)?;
    let groups: Vec<String> = cli.systems.clone().unwrap_or_else(|| {
        systems::GROUPS
            .iter()
            .filter(|group| cli.baseline.is_some() || !systems::BASELINE_GROUPS.contains(group))
            .map(|group| group.to_string())
            .collect()
    });
    let rows = systems::systems(&groups, &cli.connections)?;
    if rows.is_empty() {
        bail!("no system chosen");
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let rounds = cli.rounds.unwrap_or(if cli.quick { 1 } else { 3 }).max(1);
    let settings = RunSettings {
        seconds: cli.seconds.unwrap_or(if cli.quick { 0.5 } else { 5.0 }),
        warmup_seconds: cli.warmup.unwrap_or(if cli.quick { 0.0 } else { 1.0 }),
        wrk_threads: cli.wrk_threads,
        workers: cli.workers.unwrap_or(cpus),
    };
    let peer = rows
        .iter()
        .any(|row| row.kind == SystemKind::Http(servers::ServerKind::Peer));
    let work = Workspace::create(&artifacts, peer)?;
    let total = rounds * rows.len();
    eprintln!(
        "fezz-bench: {} systems x {rounds} rounds, {} s each (+{} s warm-up), alternating; about {:.0} s",
        rows.len(),
        settings.seconds,
        settings.warmup_seconds,
        total as f64 * (settings.seconds + settings.warmup_seconds + 0.5)
    );
    let mut measured: Vec<(systems::System, Vec<Run>)> =
        rows.iter().map(|row| (row.clone(), Vec::new())).collect();
    let mut done = 0;
    for round in 1..=rounds {
        for (system, runs) in measured.iter_mut() {
            done += 1;
            let label = format!("[{done}/{total}] round {round}/{rounds} {}", system.id);
            eprint!("fezz-bench: {label} ...");
            let kept = busy::until_undisturbed(
                cli.busy_threshold,
                cli.retries,
                || systems::measure(system, &artifacts, &work, &settings),
                |attempt, busy| {
                    eprint!(
                        " disturbed ({}), redoing (attempt {}) ...",
                        report::busy_note(busy),
                        attempt + 1
                    );
                },
            )
            .with_context(|| format!("{} (round {round})", system.id))?;
            let m = &kept.value;
            eprintln!(
                " {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.0} us CPU/req{} ({}){}",
                m.requests_per_second,
                m.p50_ms,
                m.p99_ms,
                m.cpu_us_per_request,
                m.peak_rss_bytes
                    .map(|bytes| format!(", RSS {:.1} MiB", bytes as f64 / 1048576.0))
                    .unwrap_or_default(),
                report::busy_note(&m.busy),
                if kept.disturbed { " DISTURBED" } else { "" }
            );
            runs.push(Run {
                round,
                attempts: kept.attempts,
                disturbed: kept.disturbed,
                measurement: kept.value,
            });
        }
    }
    let report = Report {
        date: utc_now(),
        machine: Machine {
            cpus,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            root: servers::is_root(),
        },
        settings: Settings {
            rounds,
            run: settings,
            busy_threshold: cli.busy_threshold,
            retries: cli.retries,
            quick: cli.quick,
        },
        rows: report::rows(measured),
    };
    println!("{}", report::table(&report.rows));
    println!(
        "own us: the server process's share of CPU us/req (the rest is its children); xA, xF, xB, xpeer: a fezz row's req/s over that row's (same sandbox setting for A, same \
         connections for B and the peer); CPUxA: CPU per request over limit A's; other%: the \
         largest share of the machine other processes used in a kept run; tries: attempts \
         (! = a kept run was still disturbed)"
    );
    let out = match &cli.out {
        Some(out) => out.clone(),
        None => exe_dir()?.join("../bench"),
    };
    std::fs::create_dir_all(&out)?;
    let json = out.join("results.json");
    std::fs::write(&json, serde_json::to_string_pretty(&report)?)?;
    let svg = out.join("results.svg");
    let title = format!(
        "fezz benchmark, {} ({} CPUs, {} rounds x {} s)",
        report.date, cpus, rounds, settings.seconds
    );
    std::fs::write(&svg, chart::svg(&report.rows, &title)?)?;
    eprintln!("fezz-bench: wrote {} and {}", json.display(), svg.display());
    Ok(())
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    civil(seconds)
}

/// Seconds since the epoch as a UTC date and time (the days-to-civil algorithm of H. Hinnant).
fn civil(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(civil(0), "1970-01-01T00:00:00Z");
        assert_eq!(civil(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(civil(1_796_083_199), "2026-11-30T23:59:59Z");
    }

    #[test]
    fn the_command_line_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["fezz-bench", "--quick", "--systems", "limit-a,fezz"]).unwrap();
        assert!(cli.quick);
        assert_eq!(cli.systems.unwrap(), ["limit-a", "fezz"]);
        assert_eq!(cli.connections, [16, 64]);
    }
}
