//! `fezz-runner LIBRARY-PATH`: the reference runner process (`spec/RUNNER.md`). Loads one
//! function library, serves the request frames on stdin, writes a response frame per request
//! on stdout; on the first failure writes one error frame, one line on stderr, and exits with
//! the failure's code (`fezz_abi::runner_protocol::RunnerExit`).
//!
//! Everything but the command line and the process's setup is the `fezz_runner` library.

use std::ffi::OsString;
use std::io::{self, BufReader, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use fezz_abi::boundary::panic_message;
use fezz_runner::containment::contain;
use fezz_runner::limits::apply_from_env;
use fezz_runner::signals::reset_fatal_signals;
use fezz_runner::stdio::{die_with_parent, protect_stdio};
use fezz_runner::{serve_requests, Failure, RunnerExit};

const USAGE: &str =
    "usage: fezz-runner LIBRARY-PATH (serves request frames from stdin; see spec/RUNNER.md)";

/// A failed allocation of the runner's own is `runner-internal`, not a crash (allocator.rs).
#[global_allocator]
static ALLOCATOR: fezz_runner::allocator::RunnerAllocator = fezz_runner::allocator::RunnerAllocator;

fn main() -> ExitCode {
    fezz_runner::allocator::prepare();
    let exit = match run() {
        Ok(exit) => exit,
        // Only setup before the protocol's descriptor exists fails here, so fd 1 is still the
        // host's stdout and takes the error frame.
        Err(error) => report(
            &Failure::new(RunnerExit::Internal, format!("{error:#}")),
            &mut io::stdout().lock(),
        ),
    };
    ExitCode::from(exit.code())
}

fn run() -> anyhow::Result<RunnerExit> {
    // The runner's own bugs become a `runner-internal` error frame (below), not Rust's panic
    // message on stderr. A Rust function library has its own hook and its own boundary.
    std::panic::set_hook(Box::new(|_| {}));
    die_with_parent().context("PR_SET_PDEATHSIG failed")?;
    let path = match library_path(std::env::args_os().skip(1)) {
        Ok(path) => path,
        Err(failure) => return Ok(report(&failure, &mut io::stdout().lock())),
    };
    // Before anything of the call exists: from here on this process is the worker in a PID
    // namespace of its own (or, where the kernel refuses one, the only process).
    contain().context("containing the call in a PID namespace failed")?;
    let streams = protect_stdio().context("moving the protocol off stdin and stdout failed")?;
    fezz_runner::allocator::set_protocol_fd(std::os::fd::AsRawFd::as_raw_fd(&streams.output));
    // A crash of the function must end this process by its signal (the host names it).
    reset_fatal_signals().context("resetting the fatal signals to their default failed")?;
    let mut input = BufReader::new(streams.input);
    let mut output = streams.output;
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), Failure> {
        // The sandbox's paths are opened while the runner may still be root (they may be
        // reachable by the host's user only), then the user is switched (spec/RUNNER.md,
        // "Runner user"), keeping the library open.
        let sandbox = fezz_runner::sandbox::prepare_from_env(&path)?;
        let library = fezz_runner::privileges::drop_from_env(&path)?;
        // A change of user clears the parent-death signal: arm it again, so the worker still
        // dies with the runner process the host started.
        die_with_parent().map_err(|error| {
            Failure::new(
                RunnerExit::Internal,
                format!("PR_SET_PDEATHSIG after the user switch failed: {error}"),
            )
        })?;
        // Before the library loads, so its initialisers run under the limits too.
        apply_from_env()?;
        // Then the sandbox (spec/RUNNER.md, "Sandbox"), for the same reason.
        if let Some(sandbox) = sandbox {
            sandbox.enforce()?;
        }
        let function = library.load()?;
        serve_requests(&function, &mut input, &mut output)
    }))
    .unwrap_or_else(|payload| {
        Err(Failure::new(
            RunnerExit::Internal,
            format!("the runner panicked: {}", panic_message(payload.as_ref())),
        ))
    });
    Ok(match outcome {
        Ok(()) => RunnerExit::Success,
        Err(failure) => report(&failure, &mut output),
    })
}

/// The one argument, or a `usage` failure.
fn library_path(mut args: impl Iterator<Item = OsString>) -> Result<PathBuf, Failure> {
    let usage = |problem: &str| Failure::new(RunnerExit::Usage, format!("{problem}; {USAGE}"));
    let Some(first) = args.next() else {
        return Err(usage("no library path given"));
    };
    let path = if first == "--" {
        args.next().ok_or_else(|| usage("no library path given"))?
    } else if first.as_encoded_bytes().starts_with(b"-") && first != "-" {
        return Err(usage(&format!(
            "unknown option {}",
            first.to_string_lossy()
        )));
    } else {
        first
    };
    if let Some(extra) = args.next() {
        return Err(usage(&format!(
            "unexpected argument {}",
            extra.to_string_lossy()
        )));
    }
    // The empty string names no file (spec/RUNNER.md, "Command line"); as `./` it would name
    // the working directory.
    if path.is_empty() {
        return Err(usage("the library path is empty"));
    }
    Ok(PathBuf::from(path))
}

/// Writes the failure's line to stderr and its error frame to `protocol`; returns its exit.
fn report(failure: &Failure, protocol: &mut impl Write) -> RunnerExit {
    let line: String = failure
        .to_string()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    eprintln!("{line}");
    if let Err(error) = failure.write_frame(protocol) {
        eprintln!("runner-internal: writing the error frame failed: {error}");
    }
    failure.exit
}
