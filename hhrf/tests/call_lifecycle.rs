//! Every branch of one call's lifecycle, driven through `hhrf::runner::Runner::call` with
//! runner scripts that end in each possible order (`spec/HTTP.md`, "Process lifecycle"): the
//! runner exits before its pipes close, the pipes close before it exits, the deadline comes
//! first, the pipes stay open past the deadline after the runner was reaped (the case that
//! used to panic), a deadline within a millisecond of the exit, the call dropped (client gone)
//! and the server killing every group (stopping).
//!
//! The subreaper is not enabled in this test process, so these are the guarantees hhrf keeps
//! with any runner, without the kernel's help.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fezz_abi::frame::{frame_header, FrameKind};
use hhrf::manifest::{FunctionId, Limits, Version};
use hhrf::outcome::ExitState;
use hhrf::registry::Function;
use hhrf::runner::{ProcessGroups, Runner};
use tokio::time::Instant;

/// `{0: 2, 1: 200}`: an empty 200 response, framed.
fn ok_frame() -> Vec<u8> {
    let payload = [0xa2, 0x00, 0x02, 0x01, 0x18, 0xc8];
    let mut frame = frame_header(FrameKind::Response, payload.len()).to_vec();
    frame.extend_from_slice(&payload);
    frame
}

struct Setup {
    dir: tempfile::TempDir,
    groups: Arc<ProcessGroups>,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.frame"), ok_frame()).unwrap();
        Setup {
            dir,
            groups: Arc::new(ProcessGroups::default()),
        }
    }

    /// A runner script with `body`; `$D` is the test's directory.
    fn runner(&self, name: &str, body: &str) -> Runner {
        let path = self.dir.path().join(name);
        std::fs::write(
            &path,
            format!("#!/bin/sh\nD='{}'\n{body}\n", self.dir.path().display()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Runner::new(path, std::env::var_os("PATH"), self.groups.clone())
    }

    fn function(&self) -> Function {
        Function {
            id: FunctionId::new("f").unwrap(),
            version: Version::new("1").unwrap(),
            folder: self.dir.path().to_owned(),
            library: self.dir.path().join("libf.so"),
            manifest_path: self.dir.path().join("fezz.json"),
            timeout: None,
            env: Vec::new(),
            limits: Limits::default(),
            sandbox: hhrf::manifest::sandbox::Sandbox::default()
                .resolve(self.dir.path())
                .unwrap(),
            mode: Default::default(),
            deployment: None,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Whether `pid` is alive (a zombie counts as gone).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            !matches!(state.and_then(|rest| rest.chars().next()), Some('Z') | None)
        })
        .unwrap_or(false)
}

/// Whether `pid` is gone (or a zombie) within `limit`.
fn gone_within(pid: i32, limit: Duration) -> bool {
    let started = std::time::Instant::now();
    while alive(pid) {
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// The pid a script wrote to `file`, waiting for it to appear.
fn read_pid(file: &PathBuf) -> i32 {
    let started = std::time::Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no pid in {file:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

fn deadline_in(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

#[tokio::test]
async fn the_runner_exits_first_and_its_group_is_killed_so_the_pipes_close() {
    let setup = Setup::new();
    // A member of the group keeps stdout open; the kill after the exit closes it.
    let runner = setup.runner(
        "exits-first",
        "cat >/dev/null; sleep 30 & echo $! > \"$D/member\"; cat \"$D/ok.frame\"; exit 0",
    );
    let started = Instant::now();
    let output = runner
        .call(&setup.function(), b"\xa0", deadline_in(10_000))
        .await
        .unwrap();
    assert_eq!(output.exit, ExitState::Exited(0));
    assert_eq!(output.stdout, ok_frame());
    assert!(started.elapsed() < Duration::from_secs(5));
    // Its pipes closed when it died; it may take a moment more to be a zombie.
    assert!(gone_within(
        read_pid(&setup.path().join("member")),
        Duration::from_secs(3)
    ));
    assert!(setup.groups.is_empty());
}

#[tokio::test]
async fn the_pipes_close_first_and_the_exit_comes_later() {
    let setup = Setup::new();
    let runner = setup.runner(
        "pipes-first",
        "cat >/dev/null; cat \"$D/ok.frame\"; exec >&- 2>&-; sleep 0.3; exit 3",
    );
    let output = runner
        .call(&setup.function(), b"\xa0", deadline_in(10_000))
        .await
        .unwrap();
    assert_eq!(output.exit, ExitState::Exited(3));
    assert_eq!(output.stdout, ok_frame());
}

#[tokio::test]
async fn the_deadline_comes_first_and_the_group_is_killed() {
    let setup = Setup::new();
    let runner = setup.runner("hangs", "echo $$ > \"$D/leader\"; sleep 30");
    let started = Instant::now();
    let output = runner
        .call(&setup.function(), b"\xa0", deadline_in(300))
        .await
        .unwrap();
    assert_eq!(output.exit, ExitState::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(gone_within(
        read_pid(&setup.path().join("leader")),
        Duration::from_secs(3)
    ));
    assert!(setup.groups.is_empty());
}

/// The panic of issue 9: the runner has exited and been reaped, but a process that left its
/// group holds stdout and stderr past the deadline. The call must end at the deadline with
/// a timeout, without polling the finished waiter again.
#[tokio::test]
async fn pipes_held_open_past_the_deadline_after_the_runner_was_reaped_time_out_cleanly() {
    let setup = Setup::new();
    let runner = setup.runner(
        "escapes",
        "cat >/dev/null; setsid sleep 30 & echo $! > \"$D/holder\"; sleep 0.2; exit 0",
    );
    let started = Instant::now();
    let output = runner
        .call(&setup.function(), b"\xa0", deadline_in(500))
        .await
        .unwrap();
    let holder = read_pid(&setup.path().join("holder"));
    kill(holder);
    assert_eq!(output.exit, ExitState::TimedOut);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(setup.groups.is_empty());
}

/// Deadlines spread over the moment the runner exits: each call ends as a clean exit or a
/// clean timeout, never a panic, and nothing stays registered.
#[tokio::test]
async fn a_deadline_within_a_millisecond_of_the_exit_gives_one_clean_answer() {
    let setup = Setup::new();
    let runner = setup.runner("quick", "cat \"$D/ok.frame\"");
    // How long one call takes here, to centre the deadlines on it.
    let probe = Instant::now();
    let output = runner
        .call(&setup.function(), b"\xa0", deadline_in(10_000))
        .await
        .unwrap();
    assert_eq!(output.exit, ExitState::Exited(0));
    let typical = probe.elapsed();
    let (mut exited, mut timed_out) = (0, 0);
    for step in 0..120u32 {
        // From 50% to 150% of the typical duration, in steps of under a millisecond.
        let offset = typical / 2 + typical * step / 120;
        let output = runner
            .call(&setup.function(), b"\xa0", Instant::now() + offset)
            .await
            .unwrap();
        match output.exit {
            ExitState::Exited(0) => {
                assert_eq!(output.stdout, ok_frame());
                exited += 1;
            }
            ExitState::TimedOut => timed_out += 1,
            other => panic!("step {step}: unexpected exit {other:?}"),
        }
    }
    assert_eq!(exited + timed_out, 120);
    assert!(
        setup.groups.is_empty(),
        "{} groups left",
        setup.groups.len()
    );
    eprintln!("typical call {typical:?}: {exited} exited, {timed_out} timed out");
}

#[tokio::test]
async fn a_dropped_call_kills_its_group() {
    let setup = Setup::new();
    let runner = setup.runner("dropped", "echo $$ > \"$D/leader\"; sleep 30");
    let function = setup.function();
    let call = runner.call(&function, b"\xa0", deadline_in(30_000));
    // The client goes away after 200 ms: the call future is dropped.
    assert!(tokio::time::timeout(Duration::from_millis(200), call)
        .await
        .is_err());
    let leader = read_pid(&setup.path().join("leader"));
    let started = std::time::Instant::now();
    while alive(leader) || !setup.groups.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the group lives on"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn killing_every_group_ends_calls_in_flight_as_crashes() {
    let setup = Setup::new();
    let runner = setup.runner("stopping", "sleep 30");
    let function = setup.function();
    let groups = setup.groups.clone();
    let stopper = async {
        while groups.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        groups.kill_all();
    };
    let (output, ()) = tokio::join!(
        runner.call(&function, b"\xa0", deadline_in(30_000)),
        stopper
    );
    assert_eq!(output.unwrap().exit, ExitState::Signaled(9));
    assert!(setup.groups.is_empty());
}
