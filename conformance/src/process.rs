//! Running a runner process the way a host does, and checking what it leaves behind.
//!
//! [`run`] starts a runner in its own process group with the request bytes on stdin, collects
//! stdout and stderr, kills the whole group when a timeout passes, and afterwards checks that
//! no process of the group is still alive (`kill(-pgid, 0)` must fail with `ESRCH`).
//! Call [`become_subreaper`] once at start-up so that processes a runner orphans are
//! re-parented to the suite and can be reaped (otherwise they would linger as zombies that
//! still count as members of the group). Nothing here knows about frames or vectors.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The most stdout bytes kept from one run (a runner writes at most a few 16 MiB frames).
pub const MAX_CAPTURED_STDOUT: usize = 64 * 1024 * 1024;
/// The most stderr bytes kept from one run.
pub const MAX_CAPTURED_STDERR: usize = 1024 * 1024;
/// How long processes of the group may take to disappear after the runner exited before
/// they count as left behind.
pub const LEFTOVER_GRACE: Duration = Duration::from_millis(300);
/// How long after the runner exited the suite waits for its stdout and stderr to end.
pub const PIPE_GRACE: Duration = Duration::from_secs(2);

/// How to start a runner: a program and the arguments that come before the library path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerCommand {
    /// The program (a path, or a name looked up on PATH).
    pub program: OsString,
    /// Arguments before the library path.
    pub args: Vec<OsString>,
}

impl RunnerCommand {
    /// Parses `--runner` / `FEZZ_RUNNER`: an existing file is the program itself (spaces and
    /// all); otherwise the text is split on whitespace into a program and its arguments
    /// (`"python3 my_runner.py"`). A program given as a relative path with a `/` is made
    /// absolute, so it is still found when a case runs the runner in another working
    /// directory.
    pub fn parse(text: &str) -> RunnerCommand {
        let absolute = |program: &str| -> OsString {
            let path = Path::new(program);
            if program.contains('/') && path.is_relative() && path.exists() {
                std::path::absolute(path).map_or_else(|_| program.into(), PathBuf::into_os_string)
            } else {
                program.into()
            }
        };
        if Path::new(text).is_file() {
            return RunnerCommand {
                program: absolute(text),
                args: Vec::new(),
            };
        }
        let mut words = text.split_whitespace();
        RunnerCommand {
            program: words.next().map(absolute).unwrap_or_default(),
            args: words.map(OsString::from).collect(),
        }
    }

    /// A runner that is exactly this program.
    pub fn program(program: impl Into<OsString>) -> RunnerCommand {
        RunnerCommand {
            program: program.into(),
            args: Vec::new(),
        }
    }

    /// The command line as text, for messages.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|part| part.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A process still alive in the runner's process group after the runner exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// Its pid.
    pub pid: i32,
    /// Its command name (`/proc/<pid>/comm`).
    pub name: String,
}

/// What one run did.
#[derive(Debug)]
pub struct RunOutcome {
    /// How the runner process ended (killed by SIGKILL when `timed_out`).
    pub status: ExitStatus,
    /// The suite killed the process group because the timeout passed.
    pub timed_out: bool,
    /// Everything the runner wrote to stdout (up to [`MAX_CAPTURED_STDOUT`]).
    pub stdout: Vec<u8>,
    /// What the runner wrote to stderr (up to [`MAX_CAPTURED_STDERR`]).
    pub stderr: Vec<u8>,
    /// Processes of the group still alive after the runner exited (the suite killed them).
    pub leftovers: Vec<Leftover>,
    /// A process outside the group (one that escaped it with `setsid`) still held the runner's
    /// stdout or stderr [`PIPE_GRACE`] after the runner exited.
    pub pipes_held: bool,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
}

impl RunOutcome {
    /// "exit code 14", "killed by SIGSEGV", "killed by the suite after 1000 ms".
    pub fn describe_status(&self) -> String {
        describe_status(&self.status, self.timed_out)
    }

    /// The last part of stderr as text, for failure messages.
    pub fn stderr_tail(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let text = text.trim_end();
        let start = text
            .char_indices()
            .rev()
            .nth(2000)
            .map_or(0, |(index, _)| index);
        if text.is_empty() {
            "stderr empty".to_owned()
        } else if start == 0 {
            format!("stderr:\n{text}")
        } else {
            format!("stderr (last 2000 characters):\n…{}", &text[start..])
        }
    }
}

/// Describes an exit status for a human.
pub fn describe_status(status: &ExitStatus, timed_out: bool) -> String {
    if timed_out {
        return "still running at the timeout (the suite killed its process group)".to_owned();
    }
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by {}", signal_name(signal)),
        _ => format!("{status}"),
    }
}

/// `SIGSEGV` for 11, and so on; `signal N` for numbers without a name here.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

/// The signal number for a name such as `SIGABRT` (or `ABRT`).
pub fn signal_number(name: &str) -> Option<i32> {
    let name = name.strip_prefix("SIG").unwrap_or(name);
    (1..32).find(|&signal| signal_name(signal) == format!("SIG{name}"))
}

/// Makes this process the child subreaper (`PR_SET_CHILD_SUBREAPER`), so that processes a
/// runner orphans become our children and can be reaped once they exit. Idempotent.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes one integer argument and touches no memory.
    let result = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// How a runner process is started beyond its command: what the runner level's cases vary.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The arguments after the runner command; `None` is the library path alone (the
    /// protocol's command line).
    pub args: Option<Vec<OsString>>,
    /// Added to the suite's own environment.
    pub env: Vec<(OsString, OsString)>,
    /// The working directory (default: the suite's).
    pub cwd: Option<PathBuf>,
    /// Close the suite's end of stdout before writing stdin, so the runner's first write to
    /// the protocol stream fails (`EPIPE`).
    pub stdout_closed: bool,
    /// Keep stdin open after writing it, until the runner exits or the timeout passes, so a
    /// runner that waits for more bytes than were written hangs instead of seeing the end.
    pub stdin_open: bool,
    /// Start the runner with this `RLIMIT_NOFILE` (soft and hard).
    pub open_files_limit: Option<u64>,
}

/// Starts `runner library` in a new process group, writes `stdin` and closes it, and waits at
/// most `timeout`; then checks the group for leftovers. `env` is added to the suite's own
/// environment.
pub fn run(
    runner: &RunnerCommand,
    library: &Path,
    stdin: Vec<u8>,
    timeout: Duration,
    env: &[(OsString, OsString)],
) -> io::Result<RunOutcome> {
    let options = RunOptions {
        args: Some(vec![library.as_os_str().to_owned()]),
        env: env.to_vec(),
        ..RunOptions::default()
    };
    run_with(runner, &options, stdin, timeout)
}

/// [`run`] with everything a case may vary ([`RunOptions`]); `options.args` replaces the
/// library path argument.
pub fn run_with(
    runner: &RunnerCommand,
    options: &RunOptions,
    stdin: Vec<u8>,
    timeout: Duration,
) -> io::Result<RunOutcome> {
    let mut command = Command::new(&runner.program);
    command
        .args(&runner.args)
        .args(options.args.iter().flatten())
        .envs(options.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(cwd) = &options.cwd {
        command.current_dir(cwd);
    }
    if let Some(limit) = options.open_files_limit {
        let limit = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: the closure runs in the child between fork and exec and only calls
        // setrlimit, which is async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            });
        }
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("could not start the runner `{}`: {error}", runner.display()),
        )
    })?;
    let pgid = child.id() as i32;

    let stdout_pipe = child.stdout.take().expect("stdout is piped");
    let stdout = if options.stdout_closed {
        drop(stdout_pipe);
        None
    } else {
        Some(Collector::start(stdout_pipe, MAX_CAPTURED_STDOUT))
    };
    let mut input = child.stdin.take().expect("stdin is piped");
    let (release, hold) = mpsc::channel::<()>();
    let stdin_open = options.stdin_open;
    let writer = thread::spawn(move || {
        // The runner may exit before reading everything (EPIPE); that is its business.
        let _ = input.write_all(&stdin);
        if stdin_open {
            // Until the runner has exited (the sender is dropped then).
            let _ = hold.recv();
        }
    });
    let stderr = Collector::start(
        child.stderr.take().expect("stderr is piped"),
        MAX_CAPTURED_STDERR,
    );

    let (status, timed_out) = wait_with_timeout(&mut child, pgid, timeout)?;
    drop(release);
    let elapsed = started.elapsed();
    let leftovers = check_group(pgid);
    let _ = writer.join();
    let (stdout, stdout_ended) = stdout.map_or((Vec::new(), true), Collector::finish);
    let (stderr, stderr_ended) = stderr.finish();
    Ok(RunOutcome {
        status,
        timed_out,
        stdout,
        stderr,
        leftovers,
        pipes_held: !(stdout_ended && stderr_ended),
        elapsed,
    })
}

fn wait_with_timeout(
    child: &mut Child,
    pgid: i32,
    timeout: Duration,
) -> io::Result<(ExitStatus, bool)> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((status, false));
        }
        if Instant::now() >= deadline {
            kill_group(pgid);
            return Ok((child.wait()?, true));
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn kill_group(pgid: i32) {
    // SAFETY: killpg only sends a signal.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

/// True while any process (zombies included) is in process group `pgid`.
pub fn group_exists(pgid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let result = unsafe { libc::kill(-pgid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Reaps exited children of ours that are in group `pgid` (orphans re-parented to us).
fn reap_group(pgid: i32) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only the status integer we pass.
        let pid = unsafe { libc::waitpid(-pgid, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
    }
}

/// Waits up to [`LEFTOVER_GRACE`] for group `pgid` to disappear; whatever is still alive then
/// is reported, killed and reaped.
fn check_group(pgid: i32) -> Vec<Leftover> {
    let deadline = Instant::now() + LEFTOVER_GRACE;
    loop {
        reap_group(pgid);
        if !group_exists(pgid) {
            return Vec::new();
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let leftovers = live_members(pgid);
    kill_group(pgid);
    let deadline = Instant::now() + Duration::from_secs(2);
    while group_exists(pgid) && Instant::now() < deadline {
        reap_group(pgid);
        thread::sleep(Duration::from_millis(10));
    }
    leftovers
}

/// The processes in group `pgid` that are not zombies, from `/proc`.
fn live_members(pgid: i32) -> Vec<Leftover> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![Leftover {
            pid: pgid,
            name: "(unknown: /proc unreadable)".to_owned(),
        }];
    };
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(group)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        if *state != "Z" && group.parse::<i32>() == Ok(pgid) {
            let name = head.split_once('(').map_or("", |(_, name)| name).to_owned();
            members.push(Leftover { pid, name });
        }
    }
    members.sort_by_key(|member| member.pid);
    members
}

/// Reads a pipe to its end on a thread, keeping at most `limit` bytes.
struct Collector {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Collector {
    fn start(mut pipe: impl Read + Send + 'static, limit: usize) -> Collector {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (sender, done) = mpsc::channel();
        let sink = Arc::clone(&bytes);
        thread::spawn(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut sink = sink.lock().unwrap_or_else(|poison| poison.into_inner());
                        let room = limit.saturating_sub(sink.len());
                        sink.extend_from_slice(&buffer[..n.min(room)]);
                    }
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = sender.send(());
        });
        Collector { bytes, done }
    }

    /// What was read, and whether the pipe ended. Waits up to [`PIPE_GRACE`] for the end of
    /// the pipe: a process outside the group may still hold it open, and then we take what
    /// arrived.
    fn finish(self) -> (Vec<u8>, bool) {
        let ended = match self.done.recv_timeout(PIPE_GRACE) {
            Ok(()) => true,
            Err(mpsc::RecvTimeoutError::Disconnected) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => false,
        };
        let bytes = self
            .bytes
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        (bytes.clone(), ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_round_trip() {
        assert_eq!(signal_number("SIGABRT"), Some(libc::SIGABRT));
        assert_eq!(signal_number("SEGV"), Some(libc::SIGSEGV));
        assert_eq!(signal_number("SIGNOPE"), None);
        assert_eq!(signal_name(libc::SIGKILL), "SIGKILL");
    }

    #[test]
    fn runner_command_splits_words_unless_a_file() {
        let command = RunnerCommand::parse("python3 runner.py --flag");
        assert_eq!(command.program, "python3");
        assert_eq!(
            command.args,
            vec![OsString::from("runner.py"), OsString::from("--flag")]
        );
        assert_eq!(RunnerCommand::parse("/bin/sh").args, Vec::<OsString>::new());
    }

    #[test]
    fn a_backgrounded_process_is_reported_and_killed() {
        become_subreaper().unwrap();
        let shell = RunnerCommand {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                "sleep 30 >/dev/null 2>&1 </dev/null & exit 0".into(),
            ],
        };
        let outcome = run(
            &shell,
            Path::new("ignored"),
            Vec::new(),
            Duration::from_secs(5),
            &[],
        )
        .unwrap();
        assert_eq!(outcome.status.code(), Some(0));
        assert_eq!(outcome.leftovers.len(), 1, "{:?}", outcome.leftovers);
        assert_eq!(outcome.leftovers[0].name, "sleep");
    }

    #[test]
    fn a_hang_is_killed_at_the_timeout() {
        become_subreaper().unwrap();
        let shell = RunnerCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "sleep 30; echo".into()],
        };
        let outcome = run(
            &shell,
            Path::new("x"),
            Vec::new(),
            Duration::from_millis(200),
            &[],
        )
        .unwrap();
        assert!(outcome.timed_out);
        assert!(outcome.leftovers.is_empty(), "{:?}", outcome.leftovers);
        assert_eq!(outcome.status.signal(), Some(libc::SIGKILL));
    }
}
