//! The `hhrf` binary: reads the settings, chooses the runner, loads the functions, serves
//! them (watching `functions/` for hot deploy, `hhrf::watch`) until SIGTERM or ctrl-c (a second one ends in-flight calls), and exits 0; exits 2 on a
//! bad command line and 1 on any other startup failure. `hhrf serve [options]` is the same;
//! `hhrf new` and `hhrf invoke` are subcommands parsed by `hhrf::cli`.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use fezz_abi::limits::{MAX_BODY_BYTES, MAX_STDERR_BYTES};
use hhrf::admin::{Admin, AdminServer};
use hhrf::cli;
use hhrf::config::{self, Command, USAGE};
use hhrf::containment::{self, Capabilities};
use hhrf::deploy::{Deployer, LibraryStore};
use hhrf::log::{self, List};
use hhrf::outcome::MAX_STDOUT_BYTES;
use hhrf::registry::FUNCTIONS_DIR;
use hhrf::runner::ProcessGroups;
use hhrf::runner::{self, REAP_GRACE};
use hhrf::server::{Server, ServerSettings};
use hhrf::watch;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            log::line(format_args!("error: {error:#}"));
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match args.first().and_then(|first| first.to_str()) {
        Some(first) if cli::is_subcommand(first) => {
            use clap::Parser as _;
            let parsed = cli::Cli::try_parse_from(std::iter::once("hhrf".into()).chain(args));
            return Ok(match parsed {
                Ok(parsed) => cli::run(parsed),
                // clap's exit codes: 0 for --help and --version, 2 for a usage error.
                Err(error) => {
                    let _ = error.print();
                    ExitCode::from(if error.use_stderr() {
                        cli::USAGE_EXIT
                    } else {
                        0
                    })
                }
            });
        }
        Some("serve") => {
            args.remove(0);
        }
        _ => {}
    }
    let command = config::parse(args, |name| std::env::var_os(name));
    let config = match command {
        Ok(Command::Serve(config)) => *config,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Ok(Command::Version) => {
            println!("hhrf {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        Err(error) => {
            log::line(error);
            return Ok(ExitCode::from(2));
        }
    };

    log::init(config.log_format);
    // Before any thread exists: the descriptor limit and the subreaper hold for everything
    // hhrf starts.
    raise_descriptor_limit();
    return_large_buffers_to_the_system();
    let groups = Arc::new(ProcessGroups::default());
    let reaper = groups.enable_reaper();
    let capabilities = Capabilities::probe(reaper);
    log::line(format_args!("kernel: {capabilities}"));
    for warning in capabilities.warnings() {
        log::line(format_args!("warning: {warning}"));
    }
    let swept = containment::sweep_leftovers(&config.root.join(FUNCTIONS_DIR));
    if !swept.is_empty() {
        log::line(format_args!(
            "swept {} process(es) a previous hhrf left behind: {:?}",
            swept.len(),
            swept
        ));
    }

    let settings = ServerSettings::from_config(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // One blocking thread waits for each live runner (see hhrf::runner).
        .max_blocking_threads(runner::MAX_CONCURRENT_CALLS)
        .build()
        .context("starting the async runtime")?;
    let admin = Arc::new(Admin::new(
        settings.admission,
        groups.clone(),
        config.admin_listen.is_some(),
    ));
    if let Some(address) = config.admin_listen {
        // Bound before the functions load, so its readiness probe says `loading` meanwhile.
        let server = runtime
            .block_on(AdminServer::bind(address, admin.clone()))
            .with_context(|| format!("binding the admin listener {address}"))?;
        let bound = server
            .local_addr()
            .context("reading the admin listener's address")?;
        let _ = writeln!(std::io::stderr(), "hhrf admin listening on http://{bound}");
        runtime.spawn(server.run());
    }
    test_load_delay();

    let cwd = std::env::current_dir().context("reading the current directory")?;
    let path = std::env::var_os("PATH");
    let exe = std::env::current_exe().ok();
    let program = runner::resolve_runner(
        std::env::var_os("FEZZ_RUNNER").as_deref(),
        exe.as_deref(),
        path.as_deref(),
        &cwd,
    )?;
    let runner_user = hhrf::privileges::effective(config.runner_user);
    hhrf::privileges::set_runner_user(runner_user);
    let scratch = hhrf::scratch::ScratchBase::global()?;
    // The verified private copies of the libraries served (hot deploy), in the scratch base.
    let store = LibraryStore::create(scratch.path()).context("creating the library store")?;
    let deployer = Arc::new(Deployer::new(
        config.root.clone(),
        store,
        runner::Runner::new(program.clone(), path.clone(), groups.clone()),
        admin.clone(),
    ));
    runtime.block_on(deployer.reconcile())?;
    let registry = admin.registry().context("the functions did not load")?;
    let names: Vec<String> = registry.functions().iter().map(|f| f.name()).collect();
    log::line(format_args!(
        "functions: {} ({}); routes: {}; runner: {}; default timeout: {} ms; limits: body {MAX_BODY_BYTES} B, runner stdout {MAX_STDOUT_BYTES} B, stderr kept {MAX_STDERR_BYTES} B; admission: {} calls ({} per function), {} queued ({} per function), memory budget {} B",
        names.len(),
        List(&names),
        registry.route_count(),
        program.display(),
        config.default_timeout.as_millis(),
        settings.admission.max_calls,
        settings.admission.function_calls,
        settings.admission.max_queue,
        settings.admission.function_queue,
        settings.admission.memory_budget,
    ));
    log::line(match runner_user {
        Some((uid, gid)) => format!("runner user: uid {uid}, gid {gid}"),
        None => "runner user: hhrf's own".to_owned(),
    });
    let sandboxed = registry
        .functions()
        .iter()
        .filter(|function| function.sandbox.enabled)
        .count();
    log::line(format_args!(
        "sandbox: on by default (manifest `sandbox.enabled`), {sandboxed} of {} functions sandboxed; scratch folders in {}",
        names.len(),
        scratch.path().display()
    ));
    drop(registry);

    let result = runtime.block_on(async {
        let server = Server::bind(settings, admin, program, path)
            .await
            .with_context(|| format!("binding {}", config.listen))?
            .with_trusted_proxies(config.trusted_proxies.clone());
        let address = server.local_addr().context("reading the bound address")?;
        let (stop_tx, stop_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut terminate = signal(SignalKind::terminate()).context("installing SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("installing SIGINT")?;
        tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    Some(()) = terminate.recv() => "SIGTERM",
                    Some(()) = interrupt.recv() => "SIGINT",
                    else => break,
                };
                if stop_tx.send(name).is_err() {
                    break;
                }
            }
        });
        tokio::spawn(watch::run(deployer, config.watch, config.poll_interval));
        // The one line without the `hhrf: ` prefix: tests and scripts wait for it.
        let _ = writeln!(std::io::stderr(), "hhrf listening on http://{address}");
        server.run(stop_rx).await;
        anyhow::Ok(())
    });
    runtime.shutdown_timeout(REAP_GRACE);
    // The calls' folders are gone (or their removal was cut short by the shutdown): remove
    // the base with whatever is left.
    if let Err(error) =
        hhrf::scratch::remove_tree(scratch.path(), hhrf::scratch::MAX_SCRATCH_ENTRIES)
    {
        log::line(format_args!(
            "scratch folder {} not fully removed: {error}",
            scratch.path().display()
        ));
    }
    result.map(|()| ExitCode::SUCCESS)
}

/// Debug builds only: waits `HHRF_TEST_LOAD_DELAY_MS` before loading the functions, so tests
/// can watch the admin listener's readiness say `loading`.
fn test_load_delay() {
    if cfg!(debug_assertions) {
        if let Some(ms) = std::env::var("HHRF_TEST_LOAD_DELAY_MS")
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
        }
    }
}

/// Raises the soft limit on open descriptors to the hard limit: every call holds three pipes
/// and a connection, and the default soft limit (often 1024) would refuse calls long before
/// memory or the admission limits do.
fn raise_descriptor_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                log::line(format_args!(
                    "warning: raising the open-files limit from {soft} to {hard} failed: {error}"
                ));
            }
        }
        Ok(_) => {}
        Err(error) => log::line(format_args!(
            "warning: reading the open-files limit failed: {error}"
        )),
    }
}

/// Makes glibc's allocator give large buffers (a call's request and output, up to 16 MiB
/// each) back to the system when they are freed. By default glibc raises its mmap threshold
/// after the first large free, up to 32 MiB, and then keeps such buffers in its arenas, one
/// per thread: hhrf's RSS would stay at the high-water mark of every thread's largest calls.
/// Setting the threshold once fixes it at 256 KiB.
fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt takes two integers and changes the allocator's settings; it is
        // called before any other thread exists.
        let done = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024) };
        if done != 1 {
            log::line("warning: mallopt(M_MMAP_THRESHOLD) failed; large buffers stay in the allocator's arenas");
        }
    }
}
