//! Warm mode (`spec/RUNNER.md`, "Warm mode"): runner processes that serve many calls in
//! sequence over the framing the protocol already has, in a bounded pool per function version.
//!
//! What lives here: [`WarmPools`] (a pool per function version, and the sweeper that retires
//! idle instances), the pool and its instances. What does not: starting the process (the
//! runner's command is `Runner::command`, its registration `ProcessGroups::spawn`, so a warm
//! runner is a live group like a fresh one and is killed with the others at shutdown).
//!
//! One call on an instance: check it is still usable (its library file unchanged, not idle
//! too long, nothing pending on its stdout, not exited), write one request frame, read one
//! frame back. A response frame ends the call and the instance goes back to the pool, unless
//! a recycling limit is reached (calls with jitter, resident memory). Anything else (an error
//! frame, a frame error, end of output, a failed write, the deadline) ends the call exactly as
//! fresh mode would: stdin is closed (the runner has seen its one request, as in fresh mode),
//! stdout and stderr are read to their ends, the exit is awaited, the group killed, and the
//! instance is gone. Dropping the call's future (the client left) kills the instance's group.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use fezz_abi::frame::{frame_header, parse_frame_header, FrameKind};
use fezz_abi::limits::{FRAME_HEADER_BYTES, MAX_MESSAGE_BYTES, MAX_STDERR_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Called;
use crate::manifest::mode::WarmSettings;
use crate::outcome::{ExitState, MAX_STDOUT_BYTES};
use crate::registry::Function;
use crate::runner::{GroupGuard, ProcessGroups, RunOutput, Runner, ORPHAN_GRACE, REAP_GRACE};
use crate::usage::Usage;

/// How long a retired instance has, after its stdin is closed, to exit on its own (running
/// the library's destructors) before its group is killed.
pub const RETIRE_GRACE: Duration = Duration::from_secs(1);

/// Request payloads up to this size are copied behind their header and written at once.
const SMALL_FRAME_BYTES: usize = 16 * 1024;

/// How often the sweeper looks for idle instances past their timeout, at most.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(250);

/// The file identity of a library: an instance started on one identity is retired when the
/// file at the function's library path has another (replaced, rewritten, touched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LibraryIdentity {
    device: u64,
    inode: u64,
    size: u64,
    modified: Option<SystemTime>,
}

impl LibraryIdentity {
    /// The identity of the file `path` names (symbolic links followed); `None` when it
    /// cannot be read (then no instance is reused: the call starts a runner, which reports).
    fn of(path: &Path) -> Option<LibraryIdentity> {
        let meta = std::fs::metadata(path).ok()?;
        Some(LibraryIdentity {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            modified: meta.modified().ok(),
        })
    }
}

/// The pools of every function version in warm mode, by `<id>@<version>`.
#[derive(Default)]
pub struct WarmPools {
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    sweeper: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for WarmPools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmPools")
            .field("pools", &self.lock().len())
            .field("idle", &self.idle())
            .finish()
    }
}

impl WarmPools {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Pool>>> {
        self.pools.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many instances are alive and idle, over every pool.
    pub fn idle(&self) -> usize {
        self.lock().values().map(|pool| pool.idle_count()).sum()
    }

    /// The pool of `function` with `settings`; a pool made for another library path or other
    /// settings (the function was redeployed) is replaced, and its idle instances retired.
    fn pool(self: &Arc<Self>, function: &Function, settings: WarmSettings) -> Arc<Pool> {
        let name = function.name();
        let mut pools = self.lock();
        if let Some(pool) = pools.get(&name) {
            if pool.settings == settings && pool.library == function.library {
                return pool.clone();
            }
        }
        let pool = Arc::new(Pool {
            settings,
            library: function.library.clone(),
            permits: Arc::new(Semaphore::new(settings.max_instances as usize)),
            idle: Mutex::new(Vec::new()),
        });
        if let Some(old) = pools.insert(name, pool.clone()) {
            old.retire_all();
        }
        drop(pools);
        self.start_sweeper();
        pool
    }

    /// Starts the task that retires idle instances past their timeout, once.
    fn start_sweeper(self: &Arc<Self>) {
        let mut sweeper = self.sweeper.lock().unwrap_or_else(PoisonError::into_inner);
        if sweeper.is_some() {
            return;
        }
        let pools: Weak<WarmPools> = Arc::downgrade(self);
        *sweeper = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(pools) = pools.upgrade() else { return };
                let all: Vec<Arc<Pool>> = pools.lock().values().cloned().collect();
                for pool in all {
                    pool.sweep();
                }
            }
        }));
    }

    /// Runs one call on an instance of `function`'s pool (`spec/RUNNER.md`, "Warm mode").
    pub(crate) async fn call(
        self: &Arc<Self>,
        runner: &Runner,
        function: &Arc<Function>,
        settings: WarmSettings,
        payload: &[u8],
        deadline: Instant,
    ) -> io::Result<Called> {
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a request of {} bytes does not fit in a frame",
                    payload.len()
                ),
            ));
        }
        let pool = self.pool(function, settings);
        // At most `max_instances` calls hold an instance; the others wait, until their
        // deadline (then they time out, as a call that never got its answer).
        let permit =
            match tokio::time::timeout_at(deadline, pool.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => {
                    return Ok(Called {
                        output: timed_out(Vec::new(), None),
                        cold: false,
                    })
                }
            };
        let identity = LibraryIdentity::of(&function.library);
        let reused = pool.take(identity);
        let cold = reused.is_none();
        let started = Instant::now();
        let mut instance = match reused {
            Some(instance) => instance,
            None => Instance::start(runner, function, identity, &settings)?,
        };
        let exchanged = instance.exchange(payload, deadline, started, cold).await;
        drop(permit);
        match exchanged {
            Exchanged::Response(output) => {
                instance.calls += 1;
                let rss = output.usage.map(|usage| usage.peak_memory_bytes);
                let worn_out = instance.calls >= instance.max_calls;
                let too_big = matches!((rss, settings.max_rss_bytes), (Some(rss), Some(limit)) if rss > limit);
                if worn_out || too_big || identity.is_none() {
                    instance.retire();
                } else {
                    pool.put(instance);
                }
                Ok(Called { output, cold })
            }
            Exchanged::Ended(output) => Ok(Called { output, cold }),
        }
    }
}

/// The instances of one function version.
struct Pool {
    settings: WarmSettings,
    library: PathBuf,
    /// `max_instances` permits: one per instance in use or being started.
    permits: Arc<Semaphore>,
    /// The idle instances, the most recently used last.
    idle: Mutex<Vec<Instance>>,
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn idle_count(&self) -> usize {
        self.lock().len()
    }

    /// The most recently used idle instance that is still usable with the library's current
    /// `identity`; every unusable one met on the way is retired.
    fn take(&self, identity: Option<LibraryIdentity>) -> Option<Instance> {
        let identity = identity?;
        let mut idle = self.lock();
        while let Some(instance) = idle.pop() {
            if instance.usable(identity, &self.settings) {
                return Some(instance);
            }
            instance.retire();
        }
        None
    }

    fn put(&self, mut instance: Instance) {
        instance.last_used = Instant::now();
        self.lock().push(instance);
    }

    /// Retires the idle instances past the idle timeout, and those that ended.
    fn sweep(&self) {
        let timeout = self.settings.idle_timeout();
        let mut idle = self.lock();
        let (keep, stale): (Vec<Instance>, Vec<Instance>) = std::mem::take(&mut *idle)
            .into_iter()
            .partition(|instance| {
                instance.last_used.elapsed() < timeout && !instance.exit.is_finished()
            });
        *idle = keep;
        drop(idle);
        for instance in stale {
            instance.retire();
        }
    }

    fn retire_all(&self) {
        for instance in std::mem::take(&mut *self.lock()) {
            instance.retire();
        }
    }
}

/// How one exchange on an instance ended.
enum Exchanged {
    /// A response frame: the instance may serve again.
    Response(RunOutput),
    /// Anything else: the instance is gone, and this is the call's output as fresh mode
    /// would have collected it.
    Ended(RunOutput),
}

/// One warm runner process.
struct Instance {
    /// Kills the group when dropped (the first field, so before the scratch folder goes).
    guard: GroupGuard,
    exit: JoinHandle<(ExitState, Option<Usage>)>,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    stderr: StderrTail,
    identity: LibraryIdentity,
    /// Calls served so far, and how many it may serve.
    calls: u64,
    max_calls: u64,
    last_used: Instant,
    /// The processes whose CPU time and memory are a call's usage, found after the first call.
    meters: Option<Vec<ProcessMeter>>,
    leader: i32,
    groups: Arc<ProcessGroups>,
    _scratch: crate::scratch::Scratch,
}

impl Instance {
    /// Starts a runner exactly as fresh mode does, but keeps its stdin open.
    fn start(
        runner: &Runner,
        function: &Function,
        identity: Option<LibraryIdentity>,
        settings: &WarmSettings,
    ) -> io::Result<Instance> {
        let (mut command, scratch) = runner.command(function)?;
        // Spawned from this async worker thread (see `Runner::spawn` on PR_SET_PDEATHSIG).
        let (mut child, guard) = runner.groups().spawn(&mut command)?;
        let leader = child.id() as i32;
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let groups = runner.groups().clone();
        let exit = tokio::task::spawn_blocking(move || groups.wait_kill_reap(child));
        let (Some(stdin), Some(stdout), Some(stderr)) = pipes else {
            return Err(io::Error::other("the runner's pipes are missing"));
        };
        let stderr = StderrTail::start(ChildStderr::from_std(stderr)?);
        let seed = u64::from(leader.unsigned_abs())
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(17);
        Ok(Instance {
            guard,
            exit,
            stdin: Some(ChildStdin::from_std(stdin)?),
            stdout: ChildStdout::from_std(stdout)?,
            stderr,
            // An unreadable library: the instance serves this one call and is retired.
            identity: identity.unwrap_or(LibraryIdentity {
                device: 0,
                inode: 0,
                size: 0,
                modified: None,
            }),
            calls: 0,
            max_calls: settings.calls_for(seed),
            last_used: Instant::now(),
            meters: None,
            leader,
            groups: runner.groups().clone(),
            _scratch: scratch,
        })
    }

    /// Whether the instance may serve the next call: same library file, not idle past the
    /// timeout, not exited, and nothing on its stdout (bytes written after its last response
    /// frame, or its end: either way it is out of step).
    fn usable(&self, identity: LibraryIdentity, settings: &WarmSettings) -> bool {
        self.identity == identity
            && self.last_used.elapsed() < settings.idle_timeout()
            && !self.exit.is_finished()
            && quiet(&self.stdout)
    }

    /// Closes stdin (the runner ends as after its last frame) and lets the runner exit within
    /// [`RETIRE_GRACE`]; then the group is killed and the runner reaped.
    fn retire(mut self) {
        self.stdin = None;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(RETIRE_GRACE, &mut self.exit).await;
                drop(self);
            });
        }
    }

    /// Writes one request frame and reads one frame back (see the module's header).
    async fn exchange(
        &mut self,
        payload: &[u8],
        deadline: Instant,
        started: Instant,
        cold: bool,
    ) -> Exchanged {
        let cpu_before = self.meters.as_ref().map(|meters| cpu_of(meters));
        let mut stdout = Vec::new();
        let mut first_byte = None;
        let header = frame_header(FrameKind::Request, payload.len());
        let exchange = async {
            let stdin = self.stdin.as_mut()?;
            // A small frame goes in one write.
            let wrote = if payload.len() <= SMALL_FRAME_BYTES {
                let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
                frame.extend_from_slice(&header);
                frame.extend_from_slice(payload);
                stdin.write_all(&frame).await.is_ok()
            } else {
                stdin.write_all(&header).await.is_ok() && stdin.write_all(payload).await.is_ok()
            };
            if !wrote {
                return None;
            }
            read_one_frame(&mut self.stdout, &mut stdout, &mut first_byte).await
        };
        let kind = match tokio::time::timeout_at(deadline, exchange).await {
            Ok(kind) => kind,
            Err(_elapsed) => return Exchanged::Ended(self.time_out(stdout).await),
        };
        let startup = if cold {
            first_byte.map(|first: Instant| first.saturating_duration_since(started))
        } else {
            None
        };
        if kind == Some(FrameKind::Response) {
            if self.meters.is_none() {
                self.meters = Some(meters_of(self.leader));
            }
            let usage = self.meters.as_ref().map(|meters| Usage {
                cpu: cpu_of(meters).saturating_sub(cpu_before.unwrap_or_default()),
                peak_memory_bytes: rss_of(meters),
            });
            return Exchanged::Response(RunOutput {
                stdout,
                exit: ExitState::Exited(0),
                stderr: self.stderr.take(),
                startup,
                usage: if cpu_before.is_some() || cold {
                    usage
                } else {
                    None
                },
            });
        }
        // Out of step: end as a fresh runner would after its one request.
        self.stdin = None;
        let rest = async {
            read_rest(&mut self.stdout, &mut stdout, &self.guard).await;
            (&mut self.exit).await
        };
        match tokio::time::timeout_at(deadline, rest).await {
            Err(_elapsed) => Exchanged::Ended(self.time_out(stdout).await),
            Ok(ended) => {
                let (exit, usage) = ended.unwrap_or((ExitState::Exited(-1), None));
                let stderr = self.stderr.finish(deadline, &self.groups).await;
                Exchanged::Ended(RunOutput {
                    stdout,
                    exit,
                    stderr,
                    startup,
                    usage: if cold { usage } else { None },
                })
            }
        }
    }

    /// The deadline passed: kill the group, give it [`REAP_GRACE`] to be reaped, sweep.
    async fn time_out(&mut self, stdout: Vec<u8>) -> RunOutput {
        self.guard.kill();
        let _ = tokio::time::timeout(REAP_GRACE, &mut self.exit).await;
        crate::runner::log_swept(self.groups.sweep_orphans());
        timed_out(stdout, Some(self.stderr.take()))
    }
}

/// The output of a call that timed out.
fn timed_out(stdout: Vec<u8>, stderr: Option<Vec<u8>>) -> RunOutput {
    RunOutput {
        stdout,
        exit: ExitState::TimedOut,
        stderr: stderr.unwrap_or_default(),
        startup: None,
        usage: None,
    }
}

/// Reads one frame into `out`: its kind when a whole frame of a kind came; `None` at end of
/// output, on a read error, on a broken header, or when more bytes than the frame came (the
/// runner is out of step). What was read stays in `out`. Reads in large chunks, so a small
/// frame costs one `read`.
async fn read_one_frame(
    stdout: &mut ChildStdout,
    out: &mut Vec<u8>,
    first_byte: &mut Option<Instant>,
) -> Option<FrameKind> {
    let mut chunk = [0u8; 16 * 1024];
    let mut frame: Option<(FrameKind, usize)> = None;
    loop {
        if let Some((kind, length)) = frame {
            match out.len().cmp(&(FRAME_HEADER_BYTES + length)) {
                std::cmp::Ordering::Equal => return Some(kind),
                std::cmp::Ordering::Greater => return None,
                std::cmp::Ordering::Less => {}
            }
        }
        let want = match frame {
            Some((_, length)) => (FRAME_HEADER_BYTES + length - out.len()).min(chunk.len()),
            None => chunk.len(),
        };
        match stdout.read(&mut chunk[..want]).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => {
                first_byte.get_or_insert_with(Instant::now);
                out.extend_from_slice(&chunk[..n]);
            }
        }
        if frame.is_none() && out.len() >= FRAME_HEADER_BYTES {
            let mut header = [0u8; FRAME_HEADER_BYTES];
            header.copy_from_slice(&out[..FRAME_HEADER_BYTES]);
            let (kind, length) = parse_frame_header(&header).ok()?;
            if length > MAX_STDOUT_BYTES {
                return None;
            }
            out.reserve(length.min(1024 * 1024));
            frame = Some((kind, length));
        }
    }
}

/// Reads the rest of stdout into `out` to its end, bounded as fresh mode bounds it (past
/// [`MAX_STDOUT_BYTES`] the group is killed and one byte more is kept).
async fn read_rest(stdout: &mut ChildStdout, out: &mut Vec<u8>, guard: &GroupGuard) {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match stdout.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = (MAX_STDOUT_BYTES + 1).saturating_sub(out.len());
                out.extend_from_slice(&chunk[..n.min(room)]);
                if out.len() > MAX_STDOUT_BYTES {
                    guard.kill();
                    return;
                }
            }
        }
    }
}

/// Whether nothing is waiting on `stdout`: no byte to read and no end of output.
fn quiet(stdout: &ChildStdout) -> bool {
    let mut poll = libc::pollfd {
        fd: stdout.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `poll` reads and writes exactly the one valid pollfd it is given, and a zero
    // timeout never blocks.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    ready == 0
}

/// The stderr of an instance, read all the time into a bounded tail that each call takes.
struct StderrTail {
    bytes: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl StderrTail {
    fn start(mut stderr: ChildStderr) -> StderrTail {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let sink = bytes.clone();
        let reader = tokio::spawn(async move {
            let mut chunk = vec![0u8; 16 * 1024];
            loop {
                match stderr.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let mut tail = sink.lock().unwrap_or_else(PoisonError::into_inner);
                        tail.extend_from_slice(&chunk[..n]);
                        if tail.len() > 2 * MAX_STDERR_BYTES {
                            let excess = tail.len() - MAX_STDERR_BYTES;
                            tail.drain(..excess);
                        }
                    }
                }
            }
        });
        StderrTail { bytes, reader }
    }

    /// What arrived since the last take, at most [`MAX_STDERR_BYTES`].
    fn take(&self) -> Vec<u8> {
        let mut bytes =
            std::mem::take(&mut *self.bytes.lock().unwrap_or_else(PoisonError::into_inner));
        let excess = bytes.len().saturating_sub(MAX_STDERR_BYTES);
        bytes.drain(..excess);
        bytes
    }

    /// Waits for the end of stderr (the runner has exited): after [`ORPHAN_GRACE`] the
    /// orphans that may hold it are swept, and the wait goes on to the deadline.
    async fn finish(&mut self, deadline: Instant, groups: &ProcessGroups) -> Vec<u8> {
        if tokio::time::timeout(ORPHAN_GRACE, &mut self.reader)
            .await
            .is_err()
        {
            crate::runner::log_swept(groups.sweep_orphans());
            let _ = tokio::time::timeout_at(deadline, &mut self.reader).await;
        }
        self.take()
    }
}

impl Drop for StderrTail {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Open `/proc` files of one process of an instance, read again at each call: the
/// `schedstat` of each of its threads alive when it was found, and its `statm`.
struct ProcessMeter {
    schedstat: Vec<File>,
    statm: File,
}

/// The processes of the instance led by `leader` that run the function: the leader and its
/// descendants (`/proc/PID/task/PID/children`), without a PID namespace's init (which makes
/// system calls only). Processes and threads started later are not metered.
fn meters_of(leader: i32) -> Vec<ProcessMeter> {
    let mut pids = vec![leader];
    let mut at = 0;
    while at < pids.len() && pids.len() < 64 {
        let pid = pids[at];
        at += 1;
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|pid| pid.parse::<i32>().ok()),
            );
        }
    }
    pids.into_iter()
        .filter(|pid| !is_namespace_init(*pid))
        .filter_map(|pid| {
            let schedstat = std::fs::read_dir(format!("/proc/{pid}/task"))
                .ok()?
                .filter_map(|task| File::open(task.ok()?.path().join("schedstat")).ok())
                .take(256)
                .collect();
            Some(ProcessMeter {
                schedstat,
                statm: File::open(format!("/proc/{pid}/statm")).ok()?,
            })
        })
        .collect()
}

/// Whether `pid` is PID 1 of a PID namespace below this one (`NSpid` ends in 1).
fn is_namespace_init(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("NSpid:"))
            .is_some_and(|ids| {
                let ids: Vec<&str> = ids.split_whitespace().collect();
                ids.len() > 1 && ids.last() == Some(&"1")
            })
    })
}

/// Reads a small `/proc` file from its start.
fn read_proc(file: &File) -> Option<String> {
    let mut buffer = [0u8; 128];
    let n = file.read_at(&mut buffer, 0).ok()?;
    std::str::from_utf8(&buffer[..n]).ok().map(str::to_owned)
}

/// The CPU time the threads ran (`schedstat`'s first field, nanoseconds on a CPU).
fn cpu_of(meters: &[ProcessMeter]) -> Duration {
    let nanos: u64 = meters
        .iter()
        .flat_map(|meter| &meter.schedstat)
        .filter_map(|schedstat| {
            read_proc(schedstat)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    Duration::from_nanos(nanos)
}

/// The resident memory of the processes together (`statm`'s second field, in pages).
fn rss_of(meters: &[ProcessMeter]) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    meters
        .iter()
        .filter_map(|meter| {
            read_proc(&meter.statm)?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .sum::<u64>()
        .saturating_mul(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_identity_changes_when_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.so");
        std::fs::write(&path, b"one").unwrap();
        let first = LibraryIdentity::of(&path).unwrap();
        assert_eq!(LibraryIdentity::of(&path), Some(first));
        let other = dir.path().join("new.so");
        std::fs::write(&other, b"two!").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_ne!(LibraryIdentity::of(&path), Some(first));
        assert_eq!(LibraryIdentity::of(&dir.path().join("missing")), None);
    }

    #[test]
    fn this_process_can_be_metered() {
        let pid = std::process::id() as i32;
        let meters = meters_of(pid);
        assert!(!meters.is_empty());
        let before = cpu_of(&meters);
        let mut spin = 0u64;
        for i in 0..5_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        std::hint::black_box(spin);
        assert!(cpu_of(&meters) > before);
        assert!(rss_of(&meters) > 1024 * 1024);
        assert!(!is_namespace_init(pid));
    }
}
