//! `hhrf check`: what serving a root would run into, without serving it (`spec/HTTP.md`,
//! "Check"). Every manifest is validated as at start-up, every library is loaded in a runner
//! exactly as a call would start it (environment, limits, sandbox, runner user) but without a
//! request, and what the kernel offers for containment and sandboxing is reported.
//!
//! What lives here: [`check`] and its [`Report`]. What does not: the command line (`main`),
//! loading a library ([`Runner::load_check`]). [`verify`] is shared with hot deploy.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::containment::Capabilities;
use crate::outcome::{signal_name, ExitState};
use crate::registry::{Function, Registry, RegistryError};
use crate::runner::Runner;

/// How long one library may take to load in `hhrf check`.
pub const LOAD_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// What `hhrf check` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// The functions whose library loaded, as `<id>@<version>`.
    pub loaded: Vec<String>,
    /// One line per problem: a folder left out, a route not mounted, a library that does
    /// not load. Any problem makes `hhrf check` exit 1.
    pub problems: Vec<String>,
    /// What the kernel does not offer (never a failure).
    pub warnings: Vec<String>,
}

impl Report {
    /// Whether nothing is wrong (warnings aside).
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in &self.loaded {
            writeln!(
                f,
                "ok: {name}: the library loads in the runner (ABI version 2)"
            )?;
        }
        for problem in &self.problems {
            writeln!(f, "problem: {problem}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        write!(
            f,
            "{} function(s) ready, {} problem(s), {} warning(s)",
            self.loaded.len(),
            self.problems.len(),
            self.warnings.len()
        )
    }
}

/// Checks the functions under `root` with `runner`; `capabilities` supplies the warnings.
/// Fails only when the root itself cannot be read.
pub async fn check(
    root: &Path,
    runner: &Runner,
    capabilities: &Capabilities,
) -> Result<Report, RegistryError> {
    let (registry, diagnostics) = Registry::load(root)?;
    let mut report = Report {
        problems: diagnostics.iter().map(ToString::to_string).collect(),
        warnings: capabilities.warnings(),
        ..Report::default()
    };
    for function in registry.functions() {
        match verify(runner, function).await {
            Ok(()) => report.loaded.push(function.name()),
            Err(problem) => report
                .problems
                .push(format!("{}: {problem}", function.name())),
        }
    }
    Ok(report)
}

/// Starts the runner on `function`'s library without a request ([`Runner::load_check`]) and
/// says what is wrong, if anything: an exit code, a signal, [`LOAD_CHECK_TIMEOUT`] without
/// exiting, bytes on stdout. Used by `hhrf check` and before a hot deploy serves a library.
pub async fn verify(runner: &Runner, function: &Function) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + LOAD_CHECK_TIMEOUT;
    let output = runner
        .load_check(function, deadline)
        .await
        .map_err(|error| {
            format!(
                "the runner {} could not be started: {error}",
                runner.program().display()
            )
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = stderr
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| format!(": {}", line.trim()))
        .unwrap_or_default();
    match output.exit {
        ExitState::Exited(0) if output.stdout.is_empty() => Ok(()),
        ExitState::Exited(0) => Err(format!(
            "the runner wrote {} bytes on stdout without a request",
            output.stdout.len()
        )),
        ExitState::Exited(code) => Err(format!(
            "the runner exited {code}{}{said}",
            fezz_abi::runner_protocol::RunnerExit::from_code(code)
                .map(|exit| format!(" ({})", exit.error_code()))
                .unwrap_or_default()
        )),
        ExitState::Signaled(signal) => Err(format!(
            "the runner was killed by {} while loading the library{said}",
            signal_name(signal)
        )),
        ExitState::TimedOut => Err(format!(
            "loading the library took longer than {} s",
            LOAD_CHECK_TIMEOUT.as_secs()
        )),
    }
}
