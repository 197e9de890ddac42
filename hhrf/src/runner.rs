//! Running one call in a runner process: choosing the runner program, spawning it in its own
//! process group, writing the request frame, reading bounded stdout and stderr, enforcing the
//! deadline, and killing and reaping everything it started.
//!
//! What lives here: [`resolve_runner`], [`Runner`] and its [`Runner::call`], [`RunOutput`],
//! and [`ProcessGroups`] (the live process groups, so nothing outlives its call or the
//! server). What does not: what the output means (`outcome`), building the frame (`dispatch`).
//!
//! Lifecycle (`spec/HTTP.md`, "Process lifecycle"): the runner is the leader of a new
//! process group (`Command::process_group(0)`, no `pre_exec`, so the standard library can
//! still use `posix_spawn`). A waiter observes the leader's exit and leaves it a zombie, so
//! its pid, and so the group id, cannot be reused yet: on Linux a task polling a pidfd of the
//! leader (no thread per call), elsewhere a blocking `waitid(WEXITED | WNOWAIT)`. Only then is the whole group sent SIGKILL and the leader reaped,
//! under one lock, so hhrf never signals a recycled group. Deadline, stdout overflow and a
//! dropped call (client gone, server stopping) kill the group through the same lock.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use fezz_abi::frame::{frame_header, FrameKind};
use fezz_abi::limits::{FRAME_HEADER_BYTES, MAX_MESSAGE_BYTES, MAX_STDERR_BYTES};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::containment;
use crate::outcome::{ExitState, MAX_STDOUT_BYTES};
use crate::registry::Function;
use crate::usage::Usage;

/// The runner's program name when `FEZZ_RUNNER` is not set.
pub const DEFAULT_RUNNER: &str = "fezz-runner";

/// How many calls can run at once with their exit observed promptly: each live runner has
/// one blocking thread waiting for it. Past this, waits queue (the deadline still holds).
pub const MAX_CONCURRENT_CALLS: usize = 4096;

/// How long hhrf waits, after a runner exited, for its pipes to close before it sweeps the
/// orphans that may hold them.
pub const ORPHAN_GRACE: Duration = Duration::from_millis(20);

/// How long hhrf waits, after killing a group at the deadline, for its leader to be reaped
/// before answering anyway (the waiter still reaps it later).
pub const REAP_GRACE: Duration = Duration::from_secs(2);

/// Why no runner program could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// `FEZZ_RUNNER` names a path that is not a file.
    #[error("FEZZ_RUNNER={0:?} is not a file")]
    NotAFile(PathBuf),
    /// `FEZZ_RUNNER` names a command that is neither on `PATH` nor next to hhrf.
    #[error("FEZZ_RUNNER={0:?} names no executable file on PATH or next to the hhrf executable")]
    NotOnPath(OsString),
    /// No runner anywhere.
    #[error("no runner: FEZZ_RUNNER is not set, there is no fezz-runner next to {exe}, and none on PATH")]
    NotFound {
        /// Where the sibling was looked for.
        exe: String,
    },
}

/// Chooses the runner program (`spec/HTTP.md`, "Runner selection"):
///
/// 1. `FEZZ_RUNNER`, when set and not empty: a value with a `/` is a path (relative to
///    `cwd`), which must be a file; otherwise a command name looked up on `PATH`, then in the
///    directory of the hhrf executable (so the demo's `FEZZ_RUNNER=fezz-runner` works with
///    `cargo run`, which does not put `target/release` on `PATH`).
/// 2. Else `fezz-runner` in the directory of the hhrf executable.
/// 3. Else `fezz-runner` on `PATH`.
///
/// The result is absolute, so the runner's working directory (the function folder) does not
/// change which program runs.
pub fn resolve_runner(
    fezz_runner: Option<&OsStr>,
    hhrf_exe: Option<&Path>,
    path: Option<&OsStr>,
    cwd: &Path,
) -> Result<PathBuf, RunnerError> {
    if let Some(value) = fezz_runner.filter(|value| !value.is_empty()) {
        if value.as_encoded_bytes().contains(&b'/') {
            let program = cwd.join(value);
            return if program.is_file() {
                Ok(program)
            } else {
                Err(RunnerError::NotAFile(program))
            };
        }
        let beside_hhrf = hhrf_exe
            .and_then(Path::parent)
            .map(|dir| dir.join(value))
            .filter(|candidate| is_executable(candidate));
        return search_path(value, path)
            .map(|found| cwd.join(found))
            .or(beside_hhrf)
            .ok_or_else(|| RunnerError::NotOnPath(value.to_owned()));
    }
    let sibling = hhrf_exe
        .and_then(Path::parent)
        .map(|dir| dir.join(DEFAULT_RUNNER));
    if let Some(sibling) = sibling.as_ref().filter(|sibling| is_executable(sibling)) {
        return Ok(sibling.clone());
    }
    search_path(OsStr::new(DEFAULT_RUNNER), path)
        .map(|found| cwd.join(found))
        .ok_or_else(|| RunnerError::NotFound {
            exe: hhrf_exe.map_or_else(|| "hhrf".to_owned(), |exe| exe.display().to_string()),
        })
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn search_path(name: &OsStr, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The process groups of the runners alive now, and the reaper of what their calls left.
///
/// A group is in the set from spawn until its leader is reaped; every SIGKILL hhrf sends goes
/// through [`ProcessGroups::kill`], which signals only groups still in the set.
///
/// With [`ProcessGroups::enable_reaper`] (the `hhrf` binary calls it at start-up), hhrf is the
/// child subreaper of everything its runners start: a process that leaves its call's group
/// (`setsid`, a double fork) and outlives its runner is re-parented to hhrf instead of init,
/// and [`ProcessGroups::sweep_orphans`] kills and reaps every child of hhrf that is not a
/// live runner. That is the host's own backstop for runners that do not contain their calls
/// (`spec/HTTP.md`, "Containment").
#[derive(Debug, Default)]
pub struct ProcessGroups {
    live: Mutex<HashSet<i32>>,
    /// Held shared while a runner is spawned and registered, exclusively while orphans are
    /// swept, so a sweep never mistakes a runner that is being registered for an orphan.
    spawning: RwLock<()>,
    reaper: AtomicBool,
}

impl ProcessGroups {
    fn lock(&self) -> MutexGuard<'_, HashSet<i32>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many runner groups are alive.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no runner is alive.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Sends SIGKILL to the group led by `leader`, if its leader is not reaped yet.
    pub fn kill(&self, leader: i32) {
        let live = self.lock();
        if live.contains(&leader) {
            // ESRCH (the group is already empty but for the zombie leader) is fine.
            let _ = killpg(Pid::from_raw(leader), Signal::SIGKILL);
        }
    }

    /// Sends SIGKILL to every live group (the server's last act when it cannot drain).
    pub fn kill_all(&self) {
        let live = self.lock();
        for leader in live.iter() {
            let _ = killpg(Pid::from_raw(*leader), Signal::SIGKILL);
        }
    }

    /// Makes this process the child subreaper of its descendants (Linux) and turns
    /// [`ProcessGroups::sweep_orphans`] on. Returns whether the kernel agreed.
    pub fn enable_reaper(&self) -> bool {
        let enabled = containment::become_subreaper();
        self.reaper.store(enabled, Ordering::Relaxed);
        enabled
    }

    /// Whether orphans are re-parented to hhrf and swept.
    pub fn reaper_enabled(&self) -> bool {
        self.reaper.load(Ordering::Relaxed)
    }

    /// Kills and reaps every child of this process that is not a live runner: processes a
    /// call started that outlived their runner and were re-parented to hhrf. Does nothing
    /// unless [`ProcessGroups::enable_reaper`] succeeded. Returns how many it ended.
    pub fn sweep_orphans(&self) -> usize {
        if !self.reaper_enabled() {
            return 0;
        }
        let _exclusive = self
            .spawning
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let children = containment::children_of(std::process::id() as i32);
        let live = self.lock().clone();
        let mut swept = 0;
        for pid in children.into_iter().filter(|pid| !live.contains(pid)) {
            let pid = Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            // Never blocks: one that is still dying is a zombie child of hhrf at the next
            // sweep and reaped then. Its own children are re-parented to hhrf in turn.
            let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            swept += 1;
        }
        swept
    }

    /// Spawns `command` and registers its group before any sweep can see it.
    pub(crate) fn spawn(
        self: &Arc<Self>,
        command: &mut Command,
    ) -> io::Result<(Child, GroupGuard)> {
        let _shared = self.spawning.read().unwrap_or_else(PoisonError::into_inner);
        let child = command.spawn()?;
        let leader = child.id() as i32;
        self.lock().insert(leader);
        Ok((
            child,
            GroupGuard {
                groups: self.clone(),
                leader,
            },
        ))
    }

    /// Blocks until the leader has exited, kills its group, reaps it (with what it used).
    /// Runs on a blocking thread.
    pub(crate) fn wait_kill_reap(&self, child: Child) -> (ExitState, Option<Usage>) {
        wait_exited_keep_zombie(child.id() as i32);
        self.kill_reap(child)
    }

    /// Kills the group of a leader that has exited (a zombie) and reaps it, under the lock,
    /// with what it used.
    pub(crate) fn kill_reap(&self, mut child: Child) -> (ExitState, Option<Usage>) {
        let leader = child.id() as i32;
        let (status, usage) = {
            let mut live = self.lock();
            let _ = killpg(Pid::from_raw(leader), Signal::SIGKILL);
            live.remove(&leader);
            crate::usage::reap(&mut child)
        };
        (exit_state(status), usage)
    }
}

fn exit_state(status: io::Result<ExitStatus>) -> ExitState {
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => ExitState::Exited(code),
            (None, Some(signal)) => ExitState::Signaled(signal),
            // Stopped or continued statuses are not returned by wait(); treat as a failure.
            (None, None) => ExitState::Exited(-1),
        },
        // Only possible if something else reaped our child; report a failed runner.
        Err(_) => ExitState::Exited(-1),
    }
}

/// Waits until `pid` has exited without reaping it (`waitid` with `WNOWAIT`).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn wait_exited_keep_zombie(pid: i32) {
    use nix::errno::Errno;
    use nix::sys::wait::{waitid, Id, WaitPidFlag};
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Err(Errno::EINTR) => continue,
            // Exited, or an error that `wait` will report next.
            _ => return,
        }
    }
}

/// Tells when a runner has exited without reaping it: a pidfd (Linux 5.3 and later), which
/// polls readable once the process has exited and leaves it a zombie, so its pid and group
/// id cannot be reused until [`ProcessGroups::kill_reap`] reaps it.
#[cfg(target_os = "linux")]
struct ExitNotifier {
    fd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
}

#[cfg(target_os = "linux")]
impl ExitNotifier {
    /// Returns once the process has exited (readiness is confirmed with a non-reaping
    /// `waitid`, so a spurious wake-up waits again). An error of the poller (which cannot
    /// happen for a registered pidfd) falls back to a blocking wait, as the thread would.
    async fn exited(self) {
        use std::os::fd::AsFd;
        loop {
            match self.fd.readable().await {
                Ok(mut ready) => {
                    if has_exited(self.fd.get_ref().as_fd()) {
                        return;
                    }
                    ready.clear_ready();
                }
                Err(_) => return,
            }
        }
    }
}

/// Whether the process of `pidfd` has exited (`waitid(P_PIDFD, WEXITED | WNOHANG |
/// WNOWAIT)`: it stays a zombie). An error (already reaped) counts as exited.
#[cfg(target_os = "linux")]
fn has_exited(pidfd: std::os::fd::BorrowedFd<'_>) -> bool {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    !matches!(
        waitid(
            Id::PIDFd(pidfd),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ),
        Ok(WaitStatus::StillAlive)
    )
}

/// A pidfd for `child`, registered with the event loop; `None` where there is none.
#[cfg(target_os = "linux")]
fn exit_notifier(child: &Child) -> Option<ExitNotifier> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the descriptor was just returned by pidfd_open and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as std::os::fd::RawFd) };
    // pidfds are close-on-exec from birth (O_CLOEXEC is implied), so no runner inherits one.
    // SAFETY: an OwnedFd's raw descriptor is valid, open and the same for as long as the
    // AsyncFd owns it.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .ok()
        .map(|fd| ExitNotifier { fd })
}

#[cfg(not(target_os = "linux"))]
struct ExitNotifier;

#[cfg(not(target_os = "linux"))]
impl ExitNotifier {
    async fn exited(self) {}
}

#[cfg(not(target_os = "linux"))]
fn exit_notifier(_child: &Child) -> Option<ExitNotifier> {
    None
}

/// Platforms without `waitid`: the leader is reaped by `wait` before the group kill, so a
/// recycled group id can in principle be hit (documented in `spec/HTTP.md`).
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn wait_exited_keep_zombie(_pid: i32) {}

/// Kills the group when dropped: a call future that is dropped (client gone, server
/// stopping) leaves no process behind. After a normal end it does nothing.
pub(crate) struct GroupGuard {
    groups: Arc<ProcessGroups>,
    leader: i32,
}

impl GroupGuard {
    /// Sends SIGKILL to the group, if its leader is not reaped yet.
    pub(crate) fn kill(&self) {
        self.groups.kill(self.leader);
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a finished call left: stdout (at most [`MAX_STDOUT_BYTES`] + 1 bytes), how the runner
/// ended, and the last [`MAX_STDERR_BYTES`] of stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// Everything read from stdout, up to one byte past the limit.
    pub stdout: Vec<u8>,
    /// How the runner ended.
    pub exit: ExitState,
    /// The tail of stderr.
    pub stderr: Vec<u8>,
    /// From just before the spawn to the first byte on the runner's stdout; `None` when it
    /// wrote none (`spec/HTTP.md`, "Metrics": the runner start-up of fresh mode).
    pub startup: Option<Duration>,
    /// What the runner used, from `wait4`; `None` when it was not reaped before the call
    /// ended (killed at the deadline and still not reaped after `REAP_GRACE`).
    pub usage: Option<Usage>,
}

/// The runner program and what every call shares.
#[derive(Debug, Clone)]
pub struct Runner {
    program: PathBuf,
    path_env: Option<OsString>,
    groups: Arc<ProcessGroups>,
}

impl Runner {
    /// A runner that starts `program` with `PATH` set to `path_env` (when given).
    pub fn new(program: PathBuf, path_env: Option<OsString>, groups: Arc<ProcessGroups>) -> Self {
        Runner {
            program,
            path_env,
            groups,
        }
    }

    /// The program hhrf starts for each call.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Runs one call: spawns `runner <library>` in the function folder with a cleared
    /// environment (`PATH`, the manifest's `env` and its `limits` as `FEZZ_LIMIT_…`), writes
    /// one request frame carrying `payload` (an encoded `fezz-request`) and closes stdin, and
    /// collects the output until the runner has exited and every process holding its pipes is
    /// gone, or until `deadline` (then the group is killed and the exit is
    /// [`ExitState::TimedOut`]). Fails only if the process could not be started, or if
    /// `payload` is larger than a frame can carry (`InvalidInput`, before spawning).
    ///
    /// The call has three parts, each with one job: [`Runner::spawn`] (the process and its
    /// registration), [`Exchange::run`] (the pipes) and [`Waiter`] (the exit). Every way the
    /// call can end (runner exits first, pipes close first, deadline first, the future dropped
    /// because the client left or the server stops) goes through the same two steps: kill the
    /// group, then take the exit the waiter observed, which is kept once seen and never
    /// polled again.
    pub async fn call(
        &self,
        function: &Function,
        payload: &[u8],
        deadline: Instant,
    ) -> io::Result<RunOutput> {
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a request of {} bytes does not fit in a frame",
                    payload.len()
                ),
            ));
        }
        self.run(function, Some(payload), deadline).await
    }

    /// Starts the runner on the function's library exactly as a call would (environment,
    /// limits, sandbox, user) but sends no request: its stdin is closed at once. A runner that
    /// loads the library and finds the entry points of ABI version 2 exits 0 on that end of
    /// input (`spec/RUNNER.md`, "Startup"); any other ending says what is wrong. Used by
    /// `hhrf check`.
    pub async fn load_check(
        &self,
        function: &Function,
        deadline: Instant,
    ) -> io::Result<RunOutput> {
        self.run(function, None, deadline).await
    }

    /// One run of the runner: `payload` framed as a request on stdin, or nothing.
    async fn run(
        &self,
        function: &Function,
        payload: Option<&[u8]>,
        deadline: Instant,
    ) -> io::Result<RunOutput> {
        let spawned = Instant::now();
        let (mut process, exchange) = self.spawn(function, payload)?;
        let mut output = CallOutput::default();
        let finished = tokio::time::timeout_at(deadline, async {
            let exchange = exchange.run(&mut output, &process.guard);
            tokio::pin!(exchange);
            let exit = tokio::select! {
                () = &mut exchange => return process.waiter.exit().await,
                exit = process.waiter.exit() => exit,
            };
            // The runner is gone but something still holds its pipes: a process that left
            // its group. With the reaper on, hhrf has adopted it; end it, then read to EOF.
            if tokio::time::timeout(ORPHAN_GRACE, &mut exchange)
                .await
                .is_err()
            {
                self.groups.sweep_orphans();
                exchange.await;
            }
            exit
        })
        .await;
        let exit = match finished {
            Ok(exit) => exit,
            Err(_elapsed) => {
                process.guard.kill();
                // Give the killed runner a moment to be reaped; the waiter reaps it later
                // in any case. A waiter that already finished answers at once.
                let _ = tokio::time::timeout(REAP_GRACE, process.waiter.exit()).await;
                log_swept(self.groups.sweep_orphans());
                ExitState::TimedOut
            }
        };
        let usage = process.waiter.usage();
        drop(process);
        Ok(RunOutput {
            stdout: output.stdout,
            exit,
            stderr: output.stderr.into_bytes(),
            startup: output
                .first_byte
                .map(|first| first.saturating_duration_since(spawned)),
            usage,
        })
    }

    /// The command that starts the runner on `function` (in its folder, its own process
    /// group, piped stdio, the environment of `spec/HTTP.md`, "Environment passed to
    /// runners") and the scratch folder it names in `TMPDIR`, which must live as long as the
    /// runner. Every execution mode starts its runners with it.
    pub(crate) fn command(
        &self,
        function: &Function,
    ) -> io::Result<(Command, crate::scratch::Scratch)> {
        let mut command = Command::new(&self.program);
        // A call admitted before its folder was removed (hot deploy) still runs its library
        // copy, from the copy's folder.
        let folder = match &function.deployment {
            Some(deployment) if !function.folder.is_dir() => deployment.copy_dir(),
            _ => function.folder.as_path(),
        };
        command
            .arg(&function.library)
            .current_dir(folder)
            .env_clear()
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(path) = &self.path_env {
            command.env("PATH", path);
        }
        command.envs(function.env.iter().map(|(name, value)| (name, value)));
        // After the manifest's `env`, whose names cannot start with `FEZZ_`.
        command.envs(function.limits.env());
        let user = crate::privileges::runner_user();
        let scratch = crate::scratch::Scratch::for_call(user)?;
        command.envs(function.sandbox_env(scratch.path()));
        command.envs(crate::privileges::env(user));
        Ok((command, scratch))
    }

    /// The live process groups every runner of this server is registered in.
    pub(crate) fn groups(&self) -> &Arc<ProcessGroups> {
        &self.groups
    }

    /// Starts the runner for one call, registered in the live groups before anything else can
    /// happen to it, with a waiter for its exit and its three pipes.
    fn spawn<'p>(
        &self,
        function: &Function,
        payload: Option<&'p [u8]>,
    ) -> io::Result<(RunnerProcess, Exchange<'p>)> {
        // The call's scratch folder (`TMPDIR`) and the sandbox policy (`FEZZ_SANDBOX…`);
        // `scratch` lives to the end of the call and removes the folder when dropped.
        // The user the runner switches to (`FEZZ_RUN_…`) owns it.
        let (mut command, scratch) = self.command(function)?;
        // Spawned from this async worker thread, never from a blocking-pool thread: a runner
        // may set PR_SET_PDEATHSIG, which fires when the *thread* that forked it exits, and
        // blocking-pool threads exit when idle.
        let (mut child, guard) = self.groups.spawn(&mut command)?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let groups = self.groups.clone();
        // Linux: the exit is awaited on a pidfd in the event loop (a task, no thread per
        // call); elsewhere, or when the kernel has no pidfd_open, by a blocking waiter.
        let waiter = match exit_notifier(&child) {
            Some(notifier) => Waiter::new(tokio::spawn(async move {
                notifier.exited().await;
                groups.kill_reap(child)
            })),
            None => Waiter::new(tokio::task::spawn_blocking(move || {
                groups.wait_kill_reap(child)
            })),
        };
        let process = RunnerProcess {
            guard,
            waiter,
            _scratch: scratch,
        };
        // On an error here the guard kills the group and the waiter reaps it.
        let exchange = Exchange {
            frame: payload
                .map(|payload| (frame_header(FrameKind::Request, payload.len()), payload)),
            stdin: stdin
                .map(tokio::process::ChildStdin::from_std)
                .transpose()?,
            stdout: stdout
                .map(tokio::process::ChildStdout::from_std)
                .transpose()?,
            stderr: stderr
                .map(tokio::process::ChildStderr::from_std)
                .transpose()?,
        };
        Ok((process, exchange))
    }
}

/// Logs how many processes a sweep ended, when it ended any.
pub fn log_swept(swept: usize) {
    if swept > 0 {
        crate::log::line(format_args!(
            "swept {swept} process(es) that outlived their call"
        ));
    }
}

/// A started runner: its group (killed when this is dropped) and the waiter of its exit, and
/// the call's scratch folder, removed when this is dropped, after the group is killed (fields
/// drop in order).
struct RunnerProcess {
    guard: GroupGuard,
    waiter: Waiter,
    _scratch: crate::scratch::Scratch,
}

/// The exit of a runner as observed by its blocking waiter, kept once seen: the handle is
/// polled until it completes and never after, whichever branch of a call asks.
struct Waiter {
    handle: tokio::task::JoinHandle<(ExitState, Option<Usage>)>,
    exit: Option<(ExitState, Option<Usage>)>,
}

impl Waiter {
    fn new(handle: tokio::task::JoinHandle<(ExitState, Option<Usage>)>) -> Self {
        Waiter { handle, exit: None }
    }

    /// What the runner used, once its exit has been seen.
    fn usage(&self) -> Option<Usage> {
        self.exit.and_then(|(_, usage)| usage)
    }

    /// How the runner ended; waits for it the first time. Cancel-safe: if the future is
    /// dropped before the exit is seen, the next call waits again; once seen, it is kept in
    /// the same poll that saw it.
    async fn exit(&mut self) -> ExitState {
        if let Some((exit, _)) = self.exit {
            return exit;
        }
        let ended = match (&mut self.handle).await {
            Ok(ended) => ended,
            // The waiter thread panicked or was cancelled: cannot happen, never panic here.
            Err(_) => (ExitState::Exited(-1), None),
        };
        self.exit = Some(ended);
        ended.0
    }
}

/// What a call's pipes carried.
#[derive(Default)]
struct CallOutput {
    stdout: Vec<u8>,
    stderr: Tail,
    /// When the first byte arrived on stdout.
    first_byte: Option<Instant>,
}

/// The three pipes of one call: the request frame goes in, stdout and stderr come out.
struct Exchange<'p> {
    /// The request frame's header and payload; `None` sends nothing (stdin is just closed).
    frame: Option<([u8; FRAME_HEADER_BYTES], &'p [u8])>,
    stdin: Option<tokio::process::ChildStdin>,
    stdout: Option<tokio::process::ChildStdout>,
    stderr: Option<tokio::process::ChildStderr>,
}

impl Exchange<'_> {
    /// Writes the request frame and closes stdin, while reading stdout (bounded: past the
    /// limit the group is killed) and stderr (the tail) to their ends.
    async fn run(self, output: &mut CallOutput, guard: &GroupGuard) {
        let Exchange {
            frame,
            stdin,
            stdout,
            stderr,
        } = self;
        let write = async {
            if let (Some(mut stdin), Some((header, payload))) = (stdin, frame) {
                // A runner that exits without reading makes this fail (EPIPE); its exit
                // status tells the story.
                if stdin.write_all(&header).await.is_ok() {
                    let _ = stdin.write_all(payload).await;
                }
            }
        };
        let read_out = read_bounded(
            stdout,
            &mut output.stdout,
            &mut output.first_byte,
            MAX_STDOUT_BYTES,
            || guard.kill(),
        );
        let read_err = read_tail(stderr, &mut output.stderr);
        tokio::join!(write, read_out, read_err);
    }
}

/// Reads `pipe` into `out` until end of input, noting in `first` when the first bytes came;
/// past `limit` bytes it keeps one more, calls `overflow` and stops reading.
async fn read_bounded(
    pipe: Option<impl AsyncRead + Unpin>,
    out: &mut Vec<u8>,
    first: &mut Option<Instant>,
    limit: usize,
    overflow: impl FnOnce(),
) {
    let Some(mut pipe) = pipe else { return };
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                first.get_or_insert_with(Instant::now);
                let room = limit + 1 - out.len();
                out.extend_from_slice(&chunk[..n.min(room)]);
                if out.len() > limit {
                    overflow();
                    return;
                }
            }
        }
    }
}

/// The last [`MAX_STDERR_BYTES`] of a stream, in bounded memory.
#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > 2 * MAX_STDERR_BYTES {
            let excess = self.bytes.len() - MAX_STDERR_BYTES;
            self.bytes.drain(..excess);
        }
    }

    fn into_bytes(mut self) -> Vec<u8> {
        let excess = self.bytes.len().saturating_sub(MAX_STDERR_BYTES);
        self.bytes.drain(..excess);
        self.bytes
    }
}

/// Reads all of `pipe`, keeping the tail. Bytes, never lines: no line length matters.
async fn read_tail(pipe: Option<impl AsyncRead + Unpin>, tail: &mut Tail) {
    let Some(mut pipe) = pipe else { return };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => tail.push(&chunk[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes() {
        let mut tail = Tail::default();
        for _ in 0..10 {
            tail.push(&vec![b'x'; MAX_STDERR_BYTES / 3]);
        }
        tail.push(b"END");
        let bytes = tail.into_bytes();
        assert_eq!(bytes.len(), MAX_STDERR_BYTES);
        assert!(bytes.ends_with(b"xEND"));
    }

    #[test]
    fn fezz_runner_resolution_order() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let exe_dir = dir.path().join("exe");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&exe_dir).unwrap();
        let make = |path: &Path, mode: u32| {
            std::fs::write(path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        make(&bin.join("fezz-runner"), 0o755);
        make(&bin.join("jail"), 0o755);
        make(&bin.join("plain"), 0o644);
        let hhrf = exe_dir.join("hhrf");
        let path = std::env::join_paths([&bin]).unwrap();
        let resolve = |runner: Option<&str>| {
            resolve_runner(runner.map(OsStr::new), Some(&hhrf), Some(&path), dir.path())
        };
        // Not next to hhrf: found on PATH.
        assert_eq!(resolve(None).unwrap(), bin.join("fezz-runner"));
        assert_eq!(resolve(Some("")).unwrap(), bin.join("fezz-runner"));
        // Next to hhrf wins over PATH.
        make(&exe_dir.join("fezz-runner"), 0o755);
        assert_eq!(resolve(None).unwrap(), exe_dir.join("fezz-runner"));
        // FEZZ_RUNNER wins over both: a command name on PATH, or a path relative to cwd.
        assert_eq!(resolve(Some("jail")).unwrap(), bin.join("jail"));
        assert!(matches!(
            resolve(Some("plain")),
            Err(RunnerError::NotOnPath(_))
        ));
        // A command name not on PATH is also looked for next to hhrf (the demo's
        // `FEZZ_RUNNER=fezz-runner` under `cargo run`).
        make(&exe_dir.join("sibling-only"), 0o755);
        assert_eq!(
            resolve(Some("sibling-only")).unwrap(),
            exe_dir.join("sibling-only")
        );
        assert_eq!(
            resolve(Some("bin/plain")).unwrap(),
            dir.path().join("bin/plain")
        );
        assert!(matches!(
            resolve(Some("./missing")),
            Err(RunnerError::NotAFile(_))
        ));
        let none = resolve_runner(None, Some(&dir.path().join("x/hhrf")), None, dir.path());
        assert!(matches!(none, Err(RunnerError::NotFound { .. })));
    }
}
