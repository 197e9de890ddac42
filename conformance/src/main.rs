//! `fezz-conformance`: the conformance suite as one command, on libtest-mimic.
//!
//! ```text
//! fezz-conformance codec                                   the wire vectors against the reference codec
//! fezz-conformance runner [--runner CMD] [--fixture LIB]  a runner's process protocol and failure contract
//! fezz-conformance function --function LIB [--runner CMD] properties every function must hold
//! fezz-conformance http --url http://HOST:PORT            a live hhrf serving the fixture as fixture@1
//! ```
//!
//! Every level also takes `--expected-failures FILE`, `--vectors DIR` and (runner) `--golden
//! DIR`; all other arguments go to libtest-mimic (`--list`, a name filter, `--exact`,
//! `--include-ignored`, `--format terse|json`, `--test-threads N`, ...). The exit code is
//! libtest's: 0 when every case passed, 101 when one failed; 2 for a usage error.
//! `conformance/README.md` is the user guide.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use fezz_conformance::artifacts;
use fezz_conformance::codec::{self, Reference};
use fezz_conformance::expected_failures::{into_trials, Case, ExpectedFailures};
use fezz_conformance::function_level::{self, FunctionLevel};
use fezz_conformance::http_level::{self, HttpLevel};
use fezz_conformance::json_lint;
use fezz_conformance::lint::{Corpus, LINTS};
use fezz_conformance::process::{self, RunnerCommand};
use fezz_conformance::requirements;
use fezz_conformance::runner_level::{self, RunnerLevel};
use fezz_conformance::vectors;
use libtest_mimic::Arguments;

const USAGE: &str = "\
usage: fezz-conformance <LEVEL> [OPTIONS] [LIBTEST OPTIONS] [FILTER]

levels:
  codec      the wire vectors (spec/vectors/**/*.toml) against the reference codec, plus the vector lints
  runner     a runner driven through its process protocol with the fixture function: golden answers
             for every valid request vector, and the failure contract (spec/vectors/runner/*.json)
  function   properties every function library must hold, under the reference runner
  http       a live hhrf serving the fixture as fixture@1 (spec/vectors/http/*.json)

options:
  --runner CMD               runner to test or use (default: $FEZZ_RUNNER, else fezz-runner next to
                             this program, else on PATH); a file path, or a command with arguments
  --fixture LIB              fixture library for the runner level (default: $FEZZ_FIXTURE, else
                             libfezz_fixture_rust.so next to this program)
  --function LIB             function library for the function level (required there)
  --url http://HOST:PORT     server for the http level (required there)
  --expected-failures FILE   cases expected to fail, one per line as --list prints them
  --vectors DIR              the vectors (default: this source tree's spec/vectors, or $FEZZ_VECTORS)
  --golden DIR               the golden answers (default: conformance/golden, or $FEZZ_GOLDEN)
  --requirement ID           runner level: only the cases that exercise requirement ID (the ids of
                             spec/RUNNER.md, e.g. runner-usage; conformance/README.md has the table)

environment:
  FEZZ_BLESS=1               runner level: rewrite the golden files from the (Rust) fixture's answers

libtest options (passed through): --list, --exact, --skip FILTER, --include-ignored, --ignored,
  --format pretty|terse|json, -q, --test-threads N, --color auto|always|never, --logfile PATH
";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("fezz-conformance: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The suite's own options; everything else is libtest's.
#[derive(Default)]
struct Options {
    level: String,
    runner: Option<String>,
    fixture: Option<PathBuf>,
    function: Option<PathBuf>,
    url: Option<String>,
    expected_failures: Option<PathBuf>,
    vectors: Option<PathBuf>,
    golden: Option<PathBuf>,
    requirement: Option<String>,
    libtest: Vec<OsString>,
}

fn parse_args() -> anyhow::Result<Option<Options>> {
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_else(|| "fezz-conformance".into());
    let mut options = Options {
        libtest: vec![program],
        ..Options::default()
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (text.clone(), None),
        };
        let mut value = |name: &str| -> anyhow::Result<String> {
            match inline.clone() {
                Some(value) => Ok(value),
                None => args
                    .next()
                    .map(|value| value.to_string_lossy().into_owned())
                    .with_context(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--runner" => options.runner = Some(value("--runner")?),
            "--fixture" => options.fixture = Some(value("--fixture")?.into()),
            "--function" => options.function = Some(value("--function")?.into()),
            "--url" => options.url = Some(value("--url")?),
            "--expected-failures" => {
                options.expected_failures = Some(value("--expected-failures")?.into())
            }
            "--vectors" => options.vectors = Some(value("--vectors")?.into()),
            "--golden" => options.golden = Some(value("--golden")?.into()),
            "--requirement" => options.requirement = Some(value("--requirement")?),
            "codec" | "runner" | "function" | "http" if options.level.is_empty() => {
                options.level = text
            }
            _ => options.libtest.push(arg),
        }
    }
    if options.level.is_empty() {
        eprint!("{USAGE}");
        bail!("name a level: codec, runner, function or http");
    }
    Ok(Some(options))
}

fn run() -> anyhow::Result<ExitCode> {
    // The function level's in-process checks run in a process of their own (abi_check.rs).
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if raw.len() == 4 && raw[1] == "abi-check" {
        let name = raw[2].to_string_lossy();
        return Ok(
            match fezz_conformance::abi_check::run_here(&name, Path::new(&raw[3])) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("{message}");
                    ExitCode::from(1)
                }
            },
        );
    }
    let Some(options) = parse_args()? else {
        return Ok(ExitCode::SUCCESS);
    };
    let args = Arguments::from_iter(&options.libtest);
    let vectors_dir = options
        .vectors
        .clone()
        .unwrap_or_else(artifacts::default_vectors_dir);
    let expected = match &options.expected_failures {
        Some(path) => ExpectedFailures::load(path).map_err(anyhow::Error::msg)?,
        None => ExpectedFailures::default(),
    };
    let runner = RunnerCommand::parse(&match &options.runner {
        Some(runner) => runner.clone(),
        None => artifacts::default_runner().to_string_lossy().into_owned(),
    });
    let cases = match options.level.as_str() {
        "codec" => codec_cases(&vectors_dir)?,
        "runner" => {
            process::become_subreaper().context("becoming the child subreaper")?;
            let fixture = match &options.fixture {
                Some(fixture) => fixture.clone(),
                None => artifacts::default_fixture().map_err(anyhow::Error::msg)?,
            };
            let bless = std::env::var_os("FEZZ_BLESS").is_some_and(|value| value == "1");
            if bless
                && fixture
                    .file_name()
                    .is_none_or(|name| name != artifacts::RUST_FIXTURE)
            {
                bail!("FEZZ_BLESS=1 rewrites the golden files, which hold the Rust fixture's answers; run it with the default fixture");
            }
            let level = RunnerLevel {
                runner,
                fixture: absolute(&fixture)?,
                vectors_dir,
                golden_dir: options
                    .golden
                    .clone()
                    .unwrap_or_else(artifacts::default_golden_dir),
                bless,
                requirement: options.requirement.clone(),
            };
            runner_level::cases(level).map_err(anyhow::Error::msg)?
        }
        "function" => {
            process::become_subreaper().context("becoming the child subreaper")?;
            let function = options
                .function
                .as_ref()
                .context("the function level needs --function <lib>")?;
            let level = FunctionLevel {
                runner,
                function: absolute(function)?,
                vectors_dir,
            };
            if !args.list {
                // On stderr, so that `--format json` on stdout stays parseable.
                eprintln!("{}\n", function_level::environment_report(&level));
            }
            function_level::cases(level).map_err(anyhow::Error::msg)?
        }
        "http" => {
            let url = options
                .url
                .as_ref()
                .context("the http level needs --url http://HOST:PORT")?;
            http_level::cases(HttpLevel::from_url(url, vectors_dir).map_err(anyhow::Error::msg)?)
                .map_err(anyhow::Error::msg)?
        }
        level => unreachable!("parse_args accepts only known levels, not {level}"),
    };
    let conclusion = libtest_mimic::run(&args, into_trials(cases, &expected));
    artifacts::remove_scratch_dir();
    Ok(conclusion.exit_code())
}

/// A library path the runner can load from any working directory.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

/// The codec level: every case file against the reference codec, then the vector lints.
fn codec_cases(vectors_dir: &Path) -> anyhow::Result<Vec<Case>> {
    let entries = vectors::discover(vectors_dir)
        .with_context(|| format!("listing {}", vectors_dir.display()))?;
    let mut cases: Vec<Case> = entries
        .into_iter()
        .map(|entry| {
            Case::new("codec", entry.name.clone(), move || {
                let case = entry
                    .load()
                    .map_err(|error| format!("{}: {error}", entry.path.display()))?;
                codec::check(&Reference, &case).map_err(|failure| failure.to_string())
            })
        })
        .collect();
    let spec_dir = vectors_dir.join("..");
    match Corpus::load(vectors_dir, &spec_dir) {
        Ok(corpus) => {
            let corpus = Arc::new(corpus);
            cases.extend(LINTS.iter().map(|lint| {
                let corpus = Arc::clone(&corpus);
                Case::new("codec", format!("lint/{}", lint.name), move || {
                    let findings = (lint.run)(&corpus);
                    if findings.is_empty() {
                        Ok(())
                    } else {
                        Err(findings.join("\n"))
                    }
                })
            }));
        }
        Err(error) => {
            let message = format!("cannot load the vectors: {error}");
            cases.push(Case::new("codec", "lint/load", move || Err(message)));
        }
    }
    let (vectors, spec) = (vectors_dir.to_path_buf(), spec_dir.clone());
    cases.push(Case::new(
        "codec",
        "lint/runner-and-http-vectors",
        move || {
            let findings = json_lint::lint(&vectors, &spec);
            if findings.is_empty() {
                Ok(())
            } else {
                Err(findings.join("\n"))
            }
        },
    ));
    let (vectors, spec) = (vectors_dir.to_path_buf(), spec_dir.clone());
    cases.push(Case::new("codec", "lint/requirements", move || {
        let bless = std::env::var_os("FEZZ_BLESS").is_some_and(|value| value == "1");
        let findings = requirements::lint(&vectors, &spec, bless);
        if findings.is_empty() {
            Ok(())
        } else {
            Err(findings.join("\n"))
        }
    }));
    Ok(cases)
}
