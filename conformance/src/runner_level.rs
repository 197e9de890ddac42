//! The `runner` level: a runner (the reference `fezz-runner` unless `--runner` says otherwise)
//! driven through its process protocol with the fixture function loaded.
//!
//! Two kinds of trials:
//! - **golden**: one per request vector file under `spec/vectors/` (via [`crate::request_vectors`]).
//!   Every valid request of the file is written as a request frame to one runner process; it
//!   must exit 0 after writing exactly one response frame per request, each equal (as a
//!   decoded value) to the golden response in `conformance/golden/runner/<vector path>.diag`.
//!   The golden files hold the Rust fixture's answers and are rewritten only with
//!   `FEZZ_BLESS=1` (and only with the default fixture).
//! - **contract**: one per `spec/vectors/runner/*.json` ([`RunnerVector`]): the failure
//!   contract (panics, crashes, hangs, broken libraries, bad stdin, stdout noise), each with its
//!   expected exit code or signal and exact stdout frames.
//!
//! Every runner process runs in its own process group; a process of that group still alive
//! after the runner exited fails the trial (see [`crate::process`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fezz_abi::{decode_response, Response};
use serde::Deserialize;

use crate::artifacts;
use crate::diff::line_diff;
use crate::expected_failures::Case;
use crate::messages::{
    check_frames, encode_request_frame, parse_stdout, request_frame, response_diag, ExpectedFrame,
    RequestSpec, StdoutFrame,
};
use crate::process::{self, signal_number, RunOptions, RunOutcome, RunnerCommand};
use crate::request_vectors::{self, RequestVectorFile};

/// The trial kind (shown as `[runner]` by `--list`).
pub const KIND: &str = "runner";
/// How long one runner process may take unless a vector says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// What the runner level runs against.
#[derive(Debug, Clone)]
pub struct RunnerLevel {
    /// The runner under test.
    pub runner: RunnerCommand,
    /// The fixture library the runner loads.
    pub fixture: PathBuf,
    /// `spec/vectors`.
    pub vectors_dir: PathBuf,
    /// `conformance/golden`.
    pub golden_dir: PathBuf,
    /// Rewrite golden files from what the runner answers (`FEZZ_BLESS=1`).
    pub bless: bool,
    /// Only the cases that exercise this requirement id (`--requirement`).
    pub requirement: Option<String>,
}

impl RunnerLevel {
    /// Whether a case citing `ids` is selected.
    fn selects(&self, ids: &[&str]) -> bool {
        self.requirement
            .as_deref()
            .is_none_or(|wanted| ids.contains(&wanted))
    }
}

/// The ids [`GENERATED_CITATIONS`] gives the cases whose citation starts with `prefix`.
fn generated_ids(prefix: &str) -> Vec<&'static str> {
    GENERATED_CITATIONS
        .iter()
        .filter(|(case, _)| case.starts_with(prefix))
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect()
}

/// One runner-contract case (`spec/vectors/runner/*.json`; schema:
/// `spec/vectors/runner/schema.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerVector {
    /// What the case shows, in one sentence.
    pub description: String,
    /// The spec section it checks: a file under `spec/` and an anchor, e.g.
    /// `RUNNER.md#exit-codes` (the same convention as the codec vectors).
    pub section: String,
    /// The requirement ids of the spec (`[req:…]` tags, see [`crate::requirements`]) this case
    /// exercises: a runner that breaks one of them fails this case.
    pub requirements: Vec<String>,
    /// Which library the runner loads: `fixture` (default), `missing`, `not-a-library`, the
    /// `probe` (`conformance/fixtures/probe/probe.c`), or a broken library
    /// (`no-handle-symbol`, `abi-version-1`, `bad-response`, `no-response`).
    #[serde(default = "fixture_library")]
    pub library: String,
    /// The runner's arguments instead of the library path; `{library}` is replaced by the
    /// library's absolute path and `{library_name}` by its file name.
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// Variables added to the runner's environment; `{library_dir}` in a value is replaced by
    /// the library's folder.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// The working directory: `library_dir`, or `empty` (a new empty folder); default: the
    /// suite's.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The bytes the probe hands back (`FEZZ_PROBE_BUFFER`), in CBOR diagnostic notation.
    #[serde(default)]
    pub probe_buffer_diag: Option<String>,
    /// The bytes the probe hands back (`FEZZ_PROBE_BUFFER`), in hex.
    #[serde(default)]
    pub probe_buffer_hex: Option<String>,
    /// The suite closes its end of stdout before writing stdin.
    #[serde(default)]
    pub stdout_closed: bool,
    /// The suite keeps stdin open (after writing it) until the runner exits.
    #[serde(default)]
    pub stdin_open: bool,
    /// The runner starts with this `RLIMIT_NOFILE`, e.g. too few descriptors to move its
    /// protocol streams.
    #[serde(default)]
    pub open_files_limit: Option<u64>,
    /// What the suite writes to stdin, in order; then it closes stdin.
    pub stdin: Vec<Input>,
    /// The suite kills the runner's process group after this long (default 20 s).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// What must happen.
    pub expect: RunnerExpect,
    /// The other outcome the spec allows, if there is one (e.g. a runner that cannot apply the
    /// sandbox exits 16 instead of running the function confined).
    #[serde(default)]
    pub expect_or: Option<RunnerExpect>,
}

fn fixture_library() -> String {
    "fixture".to_owned()
}

/// A piece of stdin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Input {
    /// A request, encoded and framed by the suite.
    Request(RequestSpec),
    /// A request frame whose payload is this CBOR diagnostic notation (may be invalid).
    RequestDiag(String),
    /// Raw bytes, in hex (spaces allowed).
    Hex(String),
    /// Raw bytes, as UTF-8 text.
    Text(String),
}

/// How the runner must end and what it must write.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerExpect {
    /// It exits with this code.
    #[serde(default)]
    pub exit: Option<i32>,
    /// It is killed by this signal (`SIGABRT`, `SIGSEGV`).
    #[serde(default)]
    pub signal: Option<String>,
    /// It writes no response: it is still running at the timeout (the suite then kills its
    /// process group) or ends on its own with a failure.
    #[serde(default)]
    pub killed_after_timeout: bool,
    /// Exactly these frames on stdout, in order.
    pub stdout: Vec<ExpectedFrame>,
    /// Text stderr must contain.
    #[serde(default)]
    pub stderr_contains: Option<String>,
    /// stdout must be exactly these bytes (hex), e.g. a response frame forwarded byte for byte
    /// (`stdout` is then not compared).
    #[serde(default)]
    pub stdout_hex: Option<String>,
}

impl RunnerVector {
    /// Parses and checks a vector file.
    pub fn parse(text: &str) -> Result<RunnerVector, String> {
        let vector: RunnerVector = serde_json::from_str(text).map_err(|error| error.to_string())?;
        for expect in std::iter::once(&vector.expect).chain(&vector.expect_or) {
            let outcomes = usize::from(expect.exit.is_some())
                + usize::from(expect.signal.is_some())
                + usize::from(expect.killed_after_timeout);
            if outcomes != 1 {
                return Err(
                    "expect must give exactly one of exit, signal, killed_after_timeout".to_owned(),
                );
            }
        }
        if let Some(signal) = &vector.expect.signal {
            signal_number(signal).ok_or_else(|| format!("unknown signal {signal}"))?;
        }
        if vector.requirements.is_empty() {
            return Err("requirements must name at least one requirement id".to_owned());
        }
        if vector.probe_buffer_diag.is_some() && vector.probe_buffer_hex.is_some() {
            return Err("give at most one of probe_buffer_diag, probe_buffer_hex".to_owned());
        }
        if let Some(cwd) = &vector.cwd {
            if cwd != "library_dir" && cwd != "empty" {
                return Err(format!("cwd must be library_dir or empty, not {cwd:?}"));
            }
        }
        Ok(vector)
    }

    /// The bytes written to stdin.
    pub fn stdin_bytes(&self) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::new();
        let mut requests = 0;
        for input in &self.stdin {
            match input {
                Input::Request(spec) => {
                    requests += 1;
                    bytes.extend(encode_request_frame(&spec.to_request(requests))?);
                }
                Input::RequestDiag(diag) => {
                    let item = cbor_diag::parse_diag(diag)
                        .map_err(|error| format!("request_diag does not parse: {error}"))?;
                    bytes.extend(request_frame(&item.to_bytes()));
                }
                Input::Hex(hex) => bytes.extend(parse_hex(hex)?),
                Input::Text(text) => bytes.extend_from_slice(text.as_bytes()),
            }
        }
        Ok(bytes)
    }
}

/// Decodes hex digits, ignoring whitespace.
pub fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {hex:?}"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).map_err(|error| error.to_string())?;
            u8::from_str_radix(text, 16).map_err(|_| format!("not hex: {text:?}"))
        })
        .collect()
}

/// The runner-level cases.
pub fn cases(level: RunnerLevel) -> Result<Vec<Case>, String> {
    let level = Arc::new(level);
    let mut cases = Vec::new();
    let files = request_vectors::load(&level.vectors_dir)?;
    let expected: Vec<PathBuf> = files
        .iter()
        .map(|file| golden_path(&level.golden_dir, &file.path))
        .collect();
    let golden = level.selects(&generated_ids("request/* (golden)"));
    let orphans_level = Arc::clone(&level);
    if level.requirement.is_none() {
        cases.push(Case::new(KIND, "golden/no-orphans", move || {
            orphan_goldens(&orphans_level, &expected)
        }));
    }
    for file in files.into_iter().filter(|_| golden) {
        let level = Arc::clone(&level);
        let name = file.path.clone();
        cases.push(Case::new(KIND, name, move || golden_trial(&level, &file)));
    }
    cases.extend(generated_cases(&level)?);
    for (name, path) in list_json(&level.vectors_dir, "runner")? {
        if level.requirement.is_some() {
            let cited = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| RunnerVector::parse(&text).ok())
                .is_some_and(|vector| {
                    level.selects(
                        &vector
                            .requirements
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>(),
                    )
                });
            if !cited {
                continue;
            }
        }
        let level = Arc::clone(&level);
        cases.push(Case::new(KIND, name, move || {
            let text = std::fs::read_to_string(&path)
                .map_err(|error| format!("reading {}: {error}", path.display()))?;
            let vector = RunnerVector::parse(&text)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            contract_trial(&level, &vector)
        }));
    }
    Ok(cases)
}

/// The requirement ids the generated cases exercise, by case-name prefix (for
/// [`crate::requirements`]).
pub const GENERATED_CITATIONS: &[(&str, &[&str])] = &[
    (
        "generated/request-invalid/*",
        &[
            "runner-request-invalid",
            "runner-error-messages",
            "runner-stop-after-failure",
            "codec-utf8",
            "codec-checked-lengths",
        ],
    ),
    (
        "generated/response-invalid/*",
        &[
            "runner-response-invalid",
            "runner-error-messages",
            "codec-utf8",
        ],
    ),
    (
        "generated/response-forwarded/*",
        &[
            "runner-forward-unchanged",
            "runner-free-once",
            "codec-accept-non-deterministic",
        ],
    ),
    (
        "generated/function-error/*",
        &["runner-function-failed", "runner-error-messages"],
    ),
    (
        "generated/function-error-invalid/*",
        &["runner-function-failed", "runner-error-messages"],
    ),
    (
        "request/* (golden)",
        &[
            "runner-one-frame-per-request",
            "runner-clean-end",
            "runner-exit-codes",
            "codec-accept-non-deterministic",
        ],
    ),
];

/// The runner cases made from the codec vectors: every invalid request through a runner; every
/// valid response, invalid response, valid error and invalid error handed back by the probe.
fn generated_cases(level: &Arc<RunnerLevel>) -> Result<Vec<Case>, String> {
    let entries = crate::vectors::discover(&level.vectors_dir).map_err(|error| {
        format!(
            "listing the vectors in {}: {error}",
            level.vectors_dir.display()
        )
    })?;
    let mut cases = Vec::new();
    for entry in entries {
        let Some(kind) = generated_kind(&entry.name) else {
            continue;
        };
        if !level.selects(&generated_ids(&format!("generated/{kind}/"))) {
            continue;
        }
        let name = format!(
            "generated/{kind}/{}",
            entry.name.rsplit('/').next().unwrap_or(&entry.name)
        );
        let level = Arc::clone(level);
        cases.push(Case::new(KIND, name, move || {
            let case = entry
                .load()
                .map_err(|error| format!("{}: {error}", entry.path.display()))?;
            let vector = generated_vector(kind, &entry.name, &case)?;
            contract_trial(&level, &vector)
        }));
    }
    Ok(cases)
}

fn generated_kind(vector_name: &str) -> Option<&'static str> {
    let folder = vector_name.rsplit_once('/')?.0;
    Some(match folder {
        "invalid/request" => "request-invalid",
        "invalid/response" => "response-invalid",
        "response" => "response-forwarded",
        "error" => "function-error",
        "invalid/error" => "function-error-invalid",
        _ => return None,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn generated_vector(
    kind: &str,
    vector_name: &str,
    case: &crate::vectors::Case,
) -> Result<RunnerVector, String> {
    use crate::messages::ErrorSpec;
    use crate::vectors::Expected;
    let plain_request = || -> Result<Input, String> {
        Ok(Input::Request(
            serde_json::from_str(r#"{"path": "/"}"#).map_err(|error| error.to_string())?,
        ))
    };
    let error_frame = |spec: ErrorSpec| ExpectedFrame::Error(spec);
    let mut vector = RunnerVector {
        description: format!("{vector_name} through a runner"),
        section: "RUNNER.md#serving".to_owned(),
        requirements: vec!["runner-request-invalid".to_owned()],
        library: "probe".to_owned(),
        args: None,
        env: Default::default(),
        cwd: None,
        probe_buffer_diag: None,
        probe_buffer_hex: Some(hex(&case.input)),
        stdout_closed: false,
        stdin_open: false,
        open_files_limit: None,
        stdin: vec![plain_request()?],
        timeout_ms: None,
        expect: RunnerExpect {
            exit: None,
            signal: None,
            killed_after_timeout: false,
            stdout: Vec::new(),
            stderr_contains: None,
            stdout_hex: None,
        },
        expect_or: None,
    };
    let error_name = match &case.expected {
        Expected::Invalid { error, .. } => Some(error.name()),
        _ => None,
    };
    match kind {
        "request-invalid" => {
            let name = error_name.ok_or("an invalid vector without an error")?;
            vector.probe_buffer_hex = None;
            // The header by hand: a payload past MAX_MESSAGE_BYTES cannot be framed otherwise.
            let length = u32::try_from(case.input.len()).map_err(|error| error.to_string())?;
            let mut frame = vec![0x46, 0x5a, 0x01, 0x00];
            frame.extend_from_slice(&length.to_be_bytes());
            frame.extend_from_slice(&case.input);
            vector.stdin = vec![Input::Hex(hex(&frame))];
            // An input past MAX_MESSAGE_BYTES is refused from the frame header alone.
            let start = if case.input.len() > fezz_abi::limits::MAX_MESSAGE_BYTES {
                "frame-too-large"
            } else {
                name
            };
            vector.expect.exit = Some(10);
            let mut spec = ErrorSpec::code("request-invalid");
            spec.message_starts_with = Some(start.to_owned());
            vector.expect.stdout = vec![error_frame(spec)];
        }
        "response-invalid" => {
            let name = error_name.ok_or("an invalid vector without an error")?;
            vector.expect.exit = Some(15);
            let mut spec = ErrorSpec::code("response-invalid");
            spec.message_starts_with = Some(name.to_owned());
            vector.expect.stdout = vec![error_frame(spec)];
        }
        "response-forwarded" => {
            vector.expect.exit = Some(0);
            let mut stdout = fezz_abi::frame::frame_header(
                fezz_abi::frame::FrameKind::Response,
                case.input.len(),
            )
            .to_vec();
            stdout.extend_from_slice(&case.input);
            vector.expect.stdout_hex = Some(hex(&stdout));
        }
        "function-error" => {
            let error = fezz_abi::decode_error(&case.input)
                .map_err(|error| format!("a valid error vector does not decode: {error}"))?;
            vector
                .env
                .insert("FEZZ_PROBE_RESULT".to_owned(), "3".to_owned());
            vector.expect.exit = Some(14);
            let mut spec = ErrorSpec::code("function-failed");
            let message = format!("{}: {}", error.code, error.message);
            if message.len() <= fezz_abi::limits::MAX_TEXT_BYTES {
                spec.message = Some(message);
            } else {
                spec.message_starts_with = Some(format!("{}: ", error.code));
            }
            vector.expect.stdout = vec![error_frame(spec)];
        }
        "function-error-invalid" => {
            vector
                .env
                .insert("FEZZ_PROBE_RESULT".to_owned(), "3".to_owned());
            vector.expect.exit = Some(14);
            let mut spec = ErrorSpec::code("function-failed");
            spec.message =
                Some("fezz_handle_v2 returned FEZZ_RESULT_FUNCTION_FAILED (3)".to_owned());
            vector.expect.stdout = vec![error_frame(spec)];
        }
        _ => return Err(format!("unknown generated kind {kind}")),
    }
    Ok(vector)
}

/// Golden files that belong to no request vector fail the level (a renamed or removed vector
/// left its answer behind); blessing removes them.
fn orphan_goldens(level: &RunnerLevel, expected: &[PathBuf]) -> Result<(), String> {
    let mut orphans = Vec::new();
    let mut pending = vec![level.golden_dir.join("runner")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if !expected.contains(&path) {
                orphans.push(path);
            }
        }
    }
    orphans.sort();
    if orphans.is_empty() {
        return Ok(());
    }
    if level.bless {
        for path in &orphans {
            std::fs::remove_file(path)
                .map_err(|error| format!("removing {}: {error}", path.display()))?;
        }
        return Ok(());
    }
    let list: Vec<String> = orphans
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    Err(format!(
        "golden files without a request vector (remove them, or re-bless with FEZZ_BLESS=1):\n{}",
        list.join("\n")
    ))
}

/// The `*.json` files directly in `vectors_dir/sub`, as (path relative to `vectors_dir`,
/// full path), sorted. A missing folder gives an error naming it.
pub fn list_json(vectors_dir: &Path, sub: &str) -> Result<Vec<(String, PathBuf)>, String> {
    let dir = vectors_dir.join(sub);
    let entries = std::fs::read_dir(&dir)
        .map_err(|error| format!("reading the vector folder {}: {error}", dir.display()))?;
    let mut files: Vec<(String, PathBuf)> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "json")
                && path.file_name().is_some_and(|name| name != "schema.json")
        })
        .map(|path| {
            let name = format!(
                "{sub}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            (name, path)
        })
        .collect();
    files.sort();
    Ok(files)
}

fn run_runner(
    level: &RunnerLevel,
    library: &Path,
    stdin: Vec<u8>,
    timeout: Duration,
) -> Result<RunOutcome, String> {
    process::run(&level.runner, library, stdin, timeout, &[]).map_err(|error| error.to_string())
}

/// Problems common to every run: processes left behind, in the group or outside it.
fn leftover_problem(outcome: &RunOutcome) -> Option<String> {
    if outcome.pipes_held {
        return Some(format!(
            "a process the function started still held the runner's stdout or stderr {} ms after the runner exited: the call was not contained [req:runner-containment]",
            process::PIPE_GRACE.as_millis()
        ));
    }
    if outcome.leftovers.is_empty() {
        return None;
    }
    let list: Vec<String> = outcome
        .leftovers
        .iter()
        .map(|p| format!("pid {} ({})", p.pid, p.name))
        .collect();
    Some(format!(
        "processes left behind in the runner's process group after it exited: {} (the suite killed them)",
        list.join(", ")
    ))
}

fn failure(
    problems: Vec<String>,
    outcome: &RunOutcome,
    runner: &RunnerCommand,
) -> Result<(), String> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}\n(runner: {}; {}; {})",
        problems.join("\n"),
        runner.display(),
        outcome.describe_status(),
        outcome.stderr_tail()
    ))
}

/// The process set-up a contract vector asks for.
fn run_options(vector: &RunnerVector, library: &Path) -> Result<RunOptions, String> {
    let library_dir = library.parent().unwrap_or(Path::new("/"));
    let library_name = library
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fill = |text: &str| {
        text.replace("{library}", &library.to_string_lossy())
            .replace("{library_name}", &library_name)
            .replace("{library_dir}", &library_dir.to_string_lossy())
    };
    let mut options = RunOptions {
        args: Some(match &vector.args {
            Some(args) => args.iter().map(|arg| fill(arg).into()).collect(),
            None => vec![library.as_os_str().to_owned()],
        }),
        env: vector
            .env
            .iter()
            .map(|(key, value)| (key.into(), fill(value).into()))
            .collect(),
        cwd: None,
        stdout_closed: vector.stdout_closed,
        stdin_open: vector.stdin_open,
        open_files_limit: vector.open_files_limit,
    };
    options.cwd = match vector.cwd.as_deref() {
        Some("library_dir") => Some(library_dir.to_path_buf()),
        Some(_) => Some(artifacts::fresh_dir("cwd")?),
        None => None,
    };
    let buffer = match (&vector.probe_buffer_diag, &vector.probe_buffer_hex) {
        (Some(diag), _) => Some(
            cbor_diag::parse_diag(diag)
                .map_err(|error| format!("probe_buffer_diag does not parse: {error}"))?
                .to_bytes(),
        ),
        (None, Some(hex)) => Some(parse_hex(hex)?),
        (None, None) => None,
    };
    if let Some(bytes) = buffer {
        options.env.push(probe_buffer_env(&bytes, library_dir)?);
    }
    Ok(options)
}

/// Writes `bytes` to a new file next to the probe library (in `library_dir`, which a jail
/// wrapper lets the function read, as it must the library's folder) and returns
/// `FEZZ_PROBE_BUFFER=<that file>`.
pub fn probe_buffer_env(bytes: &[u8], library_dir: &Path) -> Result<(OsString, OsString), String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = library_dir.join(format!("probe-buffer-{n}"));
    std::fs::write(&path, bytes).map_err(|error| format!("writing {}: {error}", path.display()))?;
    Ok(("FEZZ_PROBE_BUFFER".into(), path.into_os_string()))
}

/// Runs one contract vector.
pub fn contract_trial(level: &RunnerLevel, vector: &RunnerVector) -> Result<(), String> {
    let library = artifacts::library(&vector.library, &level.fixture)?;
    let timeout = vector
        .timeout_ms
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let options = run_options(vector, &library)?;
    let mut outcome = process::run_with(&level.runner, &options, vector.stdin_bytes()?, timeout)
        .map_err(|error| error.to_string())?;
    // With stdout closed, a runner's write can still succeed when another thread of the suite
    // forks at that moment (the fork's child holds every descriptor until it execs): a write
    // that went through is that race, not the runner's doing, so the case is tried again.
    let mut attempts = 1;
    while vector.stdout_closed && outcome.status.success() && attempts < 5 {
        attempts += 1;
        outcome = process::run_with(&level.runner, &options, vector.stdin_bytes()?, timeout)
            .map_err(|error| error.to_string())?;
    }
    let mut problems = Vec::new();
    problems.extend(leftover_problem(&outcome));
    let mut mismatch = expect_problems(&vector.expect, &outcome)?;
    if let (false, Some(other)) = (mismatch.is_empty(), &vector.expect_or) {
        let other_mismatch = expect_problems(other, &outcome)?;
        if other_mismatch.is_empty() {
            mismatch.clear();
        } else {
            mismatch.push("and it is not the other outcome the spec allows either:".to_owned());
            mismatch.extend(other_mismatch);
        }
    }
    problems.extend(mismatch);
    failure(problems, &outcome, &level.runner)
}

/// How `outcome` differs from `expect`, one line (or diff) per difference.
fn expect_problems(expect: &RunnerExpect, outcome: &RunOutcome) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let frames = parse_stdout(&outcome.stdout);
    if let Some(code) = expect.exit {
        if outcome.timed_out || outcome.status.code() != Some(code) {
            problems.push(format!(
                "expected exit code {code}, got {}",
                outcome.describe_status()
            ));
        }
    }
    if let Some(signal) = &expect.signal {
        use std::os::unix::process::ExitStatusExt;
        let number = signal_number(signal).ok_or_else(|| format!("unknown signal {signal}"))?;
        if outcome.timed_out || outcome.status.signal() != Some(number) {
            problems.push(format!(
                "expected the runner to be killed by {signal}, got {}",
                outcome.describe_status()
            ));
        }
    }
    if expect.killed_after_timeout && !outcome.timed_out {
        let answered = matches!(&frames, Ok(frames) if frames.iter().any(|f| matches!(f, StdoutFrame::Response(_))));
        if outcome.status.success() || answered {
            problems.push(format!(
                "expected no response (the call runs past its deadline until the suite kills it), got {} with stdout {}",
                outcome.describe_status(),
                crate::messages::preview(&outcome.stdout)
            ));
        }
    }
    match &frames {
        // Exact bytes are expected instead (below).
        _ if expect.stdout_hex.is_some() => {}
        Ok(frames) => {
            if let Err(diff) = check_frames(&expect.stdout, frames) {
                problems.push(diff);
            }
        }
        Err(error) => problems.push(error.clone()),
    }
    if let Some(text) = &expect.stderr_contains {
        if !String::from_utf8_lossy(&outcome.stderr).contains(text.as_str()) {
            problems.push(format!("stderr does not contain {text:?}"));
        }
    }
    if let Some(hex) = &expect.stdout_hex {
        let want = parse_hex(hex)?;
        if outcome.stdout != want {
            problems.push(format!(
                "stdout is not byte for byte what the function handed back\n  expected: {}\n  actual:   {}",
                crate::messages::preview(&want),
                crate::messages::preview(&outcome.stdout)
            ));
        }
    }
    Ok(problems)
}

/// The golden file of a request vector file: `golden/runner/<path without extension>.diag`.
pub fn golden_path(golden_dir: &Path, vector_path: &str) -> PathBuf {
    let stem = vector_path.strip_suffix(".toml").unwrap_or(vector_path);
    golden_dir.join("runner").join(format!("{stem}.diag"))
}

/// Byte strings longer than this are replaced in golden files by their length and digest.
pub const GOLDEN_ELIDE_BYTES: usize = 1024;

/// A byte string left out of a golden file: where it was, its length and FNV-1a 64 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elided {
    /// `body` or `header N` (0-based).
    pub field: String,
    /// Its length in bytes.
    pub len: usize,
    /// Its FNV-1a 64 digest.
    pub fnv1a64: u64,
}

impl std::fmt::Display for Elided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "# elided: {} len={} fnv1a64={:016x}",
            self.field, self.len, self.fnv1a64
        )
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Replaces every byte string longer than [`GOLDEN_ELIDE_BYTES`] (the body, header values) by
/// an empty one and lists what was removed, so golden files stay small and readable.
pub fn elide(response: &Response) -> (Response, Vec<Elided>) {
    let mut response = response.clone();
    let mut elided = Vec::new();
    for (index, header) in response.headers.iter_mut().enumerate() {
        if header.value.len() > GOLDEN_ELIDE_BYTES {
            elided.push(Elided {
                field: format!("header {index}"),
                len: header.value.len(),
                fnv1a64: fnv1a64(&header.value),
            });
            header.value.clear();
        }
    }
    if response.body.len() > GOLDEN_ELIDE_BYTES {
        elided.push(Elided {
            field: "body".to_owned(),
            len: response.body.len(),
            fnv1a64: fnv1a64(&response.body),
        });
        response.body.clear();
    }
    (response, elided)
}

/// One case of a golden file: its name, the response with long byte strings elided, and what
/// was elided.
pub type GoldenCase = (String, Response, Vec<Elided>);

/// Writes a golden file's text: for each case `# <name>`, one `# elided: …` line per elided
/// byte string, then the response in pretty CBOR diagnostic notation; blank lines between.
pub fn render_golden(cases: &[GoldenCase]) -> String {
    let mut text = String::new();
    for (name, response, elided) in cases {
        text.push_str(&format!("# {name}\n"));
        for item in elided {
            text.push_str(&format!("{item}\n"));
        }
        text.push_str(&format!("{}\n\n", response_diag(response)));
    }
    text
}

/// Reads a golden file back.
pub fn parse_golden(text: &str) -> Result<Vec<GoldenCase>, String> {
    let mut cases: Vec<(String, Vec<Elided>, String)> = Vec::new();
    for line in text.lines() {
        if let Some(item) = line.strip_prefix("# elided: ") {
            let Some((_, elided, _)) = cases.last_mut() else {
                return Err("an `# elided:` line before the first `# <case>` line".to_owned());
            };
            elided.push(parse_elided(item).ok_or_else(|| format!("bad elided line {line:?}"))?);
        } else if let Some(name) = line.strip_prefix("# ") {
            cases.push((name.to_owned(), Vec::new(), String::new()));
        } else if let Some((_, _, diag)) = cases.last_mut() {
            diag.push_str(line);
            diag.push('\n');
        } else if !line.trim().is_empty() {
            return Err("text before the first `# <case>` line".to_owned());
        }
    }
    cases
        .into_iter()
        .map(|(name, elided, diag)| {
            let item = cbor_diag::parse_diag(diag.trim())
                .map_err(|error| format!("case {name:?}: not diagnostic notation: {error}"))?;
            let response = decode_response(&item.to_bytes())
                .map_err(|error| format!("case {name:?}: not a fezz-response: {error}"))?;
            Ok((name, response, elided))
        })
        .collect()
}

fn parse_elided(text: &str) -> Option<Elided> {
    let (field, rest) = text.split_once(" len=")?;
    let (len, digest) = rest.split_once(" fnv1a64=")?;
    Some(Elided {
        field: field.to_owned(),
        len: len.parse().ok()?,
        fnv1a64: u64::from_str_radix(digest, 16).ok()?,
    })
}

/// Runs one request vector file through the runner and compares with (or blesses) its golden
/// file.
pub fn golden_trial(level: &RunnerLevel, file: &RequestVectorFile) -> Result<(), String> {
    let cases = file.cases()?;
    let mut stdin = Vec::new();
    for case in &cases {
        stdin.extend(request_frame(&case.bytes));
    }
    let outcome = run_runner(level, &level.fixture, stdin, DEFAULT_TIMEOUT)?;
    let mut problems = Vec::new();
    problems.extend(leftover_problem(&outcome));
    if outcome.timed_out || outcome.status.code() != Some(0) {
        problems.push(format!(
            "expected exit code 0, got {}",
            outcome.describe_status()
        ));
    }
    let responses: Vec<Response> = match parse_stdout(&outcome.stdout) {
        Ok(frames) => {
            let mut responses = Vec::new();
            for (index, frame) in frames.into_iter().enumerate() {
                match frame {
                    StdoutFrame::Response(response) => responses.push(response),
                    StdoutFrame::Error(error) => problems.push(format!(
                        "frame {} is an error frame ({}: {}), expected a response",
                        index + 1,
                        error.code,
                        error.message
                    )),
                }
            }
            responses
        }
        Err(error) => {
            problems.push(error);
            Vec::new()
        }
    };
    if responses.len() != cases.len() && problems.is_empty() {
        problems.push(format!(
            "{} requests were written but {} response frames came back",
            cases.len(),
            responses.len()
        ));
    }
    if !problems.is_empty() {
        return failure(problems, &outcome, &level.runner);
    }
    let actual: Vec<GoldenCase> = cases
        .iter()
        .zip(responses)
        .map(|(case, response)| {
            let (response, elided) = elide(&response);
            (case.name.clone(), response, elided)
        })
        .collect();
    let path = golden_path(&level.golden_dir, &file.path);
    if level.bless {
        let text = render_golden(&actual);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|error| format!("creating {}: {error}", parent.display()))?;
            }
            std::fs::write(&path, text)
                .map_err(|error| format!("writing {}: {error}", path.display()))?;
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(&path).map_err(|error| {
        format!(
            "no golden file {} ({error}); generate it with FEZZ_BLESS=1 and the default (Rust) fixture",
            path.display()
        )
    })?;
    let golden = parse_golden(&text).map_err(|error| format!("{}: {error}", path.display()))?;
    compare_golden(&golden, &actual).map_err(|diff| {
        format!(
            "{diff}\n(golden file: {}; runner: {})",
            path.display(),
            level.runner.display()
        )
    })
}

fn compare_golden(golden: &[GoldenCase], actual: &[GoldenCase]) -> Result<(), String> {
    let golden_names: Vec<&str> = golden.iter().map(|(name, _, _)| name.as_str()).collect();
    let actual_names: Vec<&str> = actual.iter().map(|(name, _, _)| name.as_str()).collect();
    if golden_names != actual_names {
        return Err(format!(
            "the golden file's cases differ from the vector file's (re-bless with FEZZ_BLESS=1)\n{}",
            line_diff(&golden_names.join("\n"), &actual_names.join("\n"))
        ));
    }
    let mut problems = Vec::new();
    for ((name, expected, expected_elided), (_, actual, actual_elided)) in golden.iter().zip(actual)
    {
        if let Err(diff) = crate::messages::compare_responses(expected, actual, "golden") {
            problems.push(format!("case {name:?}: {diff}"));
        }
        if expected_elided != actual_elided {
            let show = |items: &[Elided]| {
                items
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            problems.push(format!(
                "case {name:?}: the long byte strings differ (length and digest)\n{}",
                line_diff(&show(expected_elided), &show(actual_elided))
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_text_round_trips() {
        let (long, elided) = elide(&Response::new(200).with_body(vec![b'x'; 2000]));
        assert_eq!(elided.len(), 1);
        let cases = vec![
            ("first".to_owned(), Response::text(200, "hello"), Vec::new()),
            ("second".to_owned(), long, elided),
        ];
        let text = render_golden(&cases);
        assert!(text.starts_with("# first\n{"), "{text}");
        assert!(text.contains("# elided: body len=2000 fnv1a64="), "{text}");
        assert_eq!(parse_golden(&text).unwrap(), cases);
    }

    #[test]
    fn vectors_need_exactly_one_outcome() {
        let both = r#"{"description": "d", "section": "s", "requirements": ["runner-exit-codes"], "stdin": [], "expect": {"exit": 0, "signal": "SIGABRT", "stdout": []}}"#;
        assert!(RunnerVector::parse(both).is_err());
        let uncited = r#"{"description": "d", "section": "s", "requirements": [], "stdin": [], "expect": {"exit": 0, "stdout": []}}"#;
        assert!(RunnerVector::parse(uncited).is_err());
        let ok = r#"{"description": "d", "section": "s", "requirements": ["runner-frame-errors"], "stdin": [{"hex": "46 5a"}], "expect": {"exit": 10, "stdout": [{"error": {"code": "request-invalid"}}]}}"#;
        let vector = RunnerVector::parse(ok).unwrap();
        assert_eq!(vector.stdin_bytes().unwrap(), b"FZ");
    }
}
