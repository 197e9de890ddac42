//! The bubblewrap jail, black box: hhrf with `FEZZ_RUNNER=fezz-runner/jail/fezz-bwrap` serves a
//! function normally, but the function cannot read a file outside its folder, write its folder
//! or open a network connection; the same library without the jail can, so every check can
//! fail. A hanging function is still killed at its deadline, a crash is still reported by its
//! signal, nothing outlives the call or a killed hhrf, and the wrapper passes the conformance
//! suite's runner level (`fezz-runner/jail/README.md`, `spec/HTTP.md` "Runner selection").
//!
//! Needs `bwrap` (bubblewrap, installed by `.ci/run`) and a C compiler. The library is
//! `tests/c/jail.c`, built once per test binary with `$(pkg-config --cflags --libs fezz)`.

mod c_sdk;
mod support;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{Hhrf, Root};

/// Scratch space of this test binary, under the target dir.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hhrf-jail")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `tests/c/jail.c` built once, with the link line of spec/ABI.md (`c_sdk`).
fn jail_library() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = scratch("library").join("libjail.so");
        let output = Command::new("cc")
            .args([
                "-std=c11", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-O1",
            ])
            .arg("-o")
            .arg(&out)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/jail.c"))
            .args(c_sdk::flags())
            .output()
            .expect("cc runs (a C compiler is required)");
        assert!(
            output.status.success(),
            "cc failed for tests/c/jail.c:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        out
    })
}

/// The repository's wrapper, installed as its README says: a copy of the script next to a
/// link to the built `fezz-runner`, so that it finds the runner the way it does under hhrf
/// (hhrf passes it no variable to say where).
fn installed_wrapper() -> &'static Path {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let bin = scratch("bin");
        let wrapper = bin.join("fezz-bwrap");
        std::fs::copy(repository_wrapper(), &wrapper).unwrap();
        std::os::unix::fs::symlink(support::runner(), bin.join("fezz-runner")).unwrap();
        wrapper
    })
}

/// `fezz-runner/jail/fezz-bwrap`, which must be executable as checked in.
fn repository_wrapper() -> PathBuf {
    let wrapper = support::workspace().join("fezz-runner/jail/fezz-bwrap");
    let mode = std::fs::metadata(&wrapper)
        .expect("fezz-runner/jail/fezz-bwrap exists")
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "fezz-bwrap is not executable");
    let bwrap = Command::new("sh")
        .args(["-c", "command -v bwrap"])
        .output()
        .expect("sh runs");
    assert!(
        bwrap.status.success(),
        "bwrap is not installed: apt-get install -y bubblewrap (.ci/run does)"
    );
    wrapper
}

/// Adds `<id>@1` serving `/rpc/<id>@1/...` from the jail library, with `extra` manifest
/// fields (`,"timeout_ms":1000` …); returns the folder.
/// Adds `<id>@1` with the built-in sandbox off: these tests compare the jail with a function
/// that nothing else confines (the sandbox has its own tests, `tests/sandbox.rs`).
fn add(root: &Root, id: &str, extra: &str) -> PathBuf {
    let manifest = format!(
        r#"{{"id":"{id}","version":"1","entry":"libjail.so","routes":[],"sandbox":{{"enabled":false}}{extra}}}"#
    );
    root.add(&format!("{id}@1"), &manifest, jail_library(), "libjail.so")
}

/// hhrf with the reference runner as root: the baseline, with no confinement at all.
fn plain(root: &Root) -> Hhrf {
    Hhrf::start(root, &[("HHRF_RUNNER_USER", Path::new("0:0"))])
}

fn jailed(root: &Root) -> Hhrf {
    Hhrf::start(root, &[("FEZZ_RUNNER", installed_wrapper())])
}

/// The body of a 200 answer to `target`.
fn body(hhrf: &Hhrf, target: &str) -> String {
    let response = hhrf.get(target);
    assert_eq!(
        response.status,
        200,
        "{target}: {}\nlog:\n{}",
        String::from_utf8_lossy(&response.body),
        hhrf.log()
    );
    String::from_utf8(response.body).unwrap()
}

/// Processes (not zombies) whose command line mentions `needle`: the wrapper's shell, bwrap
/// and the runner all name the function folder or the library in theirs.
fn processes_mentioning(needle: &Path) -> Vec<i32> {
    let needle = needle.as_os_str().as_encoded_bytes();
    support::processes()
        .into_iter()
        .filter(|process| {
            std::fs::read(format!("/proc/{}/cmdline", process.pid))
                .is_ok_and(|line| line.windows(needle.len()).any(|window| window == needle))
        })
        .map(|process| process.pid)
        .collect()
}

/// Where the hhrf of pid `hhrf` keeps the private copies of the libraries it runs (the
/// runner's argv[1]; spec/HTTP.md, "Hot deploy").
fn library_store(hhrf: i32) -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!("hhrf-{hhrf}"))
        .join(hhrf::deploy::STORE_DIR)
}

/// The processes of calls from `folder` served by the hhrf of pid `hhrf`: those that name the
/// folder (the wrapper's shell, bwrap) or the library copy (the runner).
fn call_processes(folder: &Path, hhrf: i32) -> Vec<i32> {
    let mut all = processes_mentioning(folder);
    all.extend(processes_mentioning(&library_store(hhrf)));
    all.sort_unstable();
    all.dedup();
    all
}

/// Waits until the runner of a call from `folder` runs (inside the jail, once bwrap has set
/// everything up); returns how many processes of the call then run.
fn wait_for_runner(folder: &Path, hhrf: i32) -> usize {
    let runner = support::runner();
    let runner = runner.as_os_str().as_encoded_bytes();
    let start = Instant::now();
    loop {
        let mentioning = call_processes(folder, hhrf);
        let runner_up = mentioning.iter().any(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|line| line.starts_with(runner))
        });
        if runner_up {
            return mentioning.len();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the runner of the call never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that no process of a call from `folder` by the hhrf of pid `hhrf` is left
/// (polling briefly: killed processes take a moment to disappear).
fn assert_none_left(folder: &Path, hhrf: i32) {
    let start = Instant::now();
    loop {
        let left = call_processes(folder, hhrf);
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "processes of the call are left: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_function_answers_normally_through_the_jail_with_its_environment() {
    let root = Root::new();
    add(
        &root,
        "jail",
        r#","env":{"JAIL_GREETING":"hi there"},"limits":{"open_files":64}"#,
    );
    let hhrf = jailed(&root);

    assert_eq!(body(&hhrf, "/rpc/jail@1/hello"), "hello from the jail");
    // The environment reaches the function unchanged: the manifest's env, the limits' variables,
    // hhrf's PATH, and nothing of the wrapper's own.
    assert_eq!(body(&hhrf, "/rpc/jail@1/env?JAIL_GREETING"), "env:hi there");
    assert_eq!(
        body(&hhrf, "/rpc/jail@1/env?FEZZ_LIMIT_OPEN_FILES"),
        "env:64"
    );
    let path = std::env::var("PATH").expect("the tests run with a PATH");
    assert_eq!(body(&hhrf, "/rpc/jail@1/env?PATH"), format!("env:{path}"));
    assert_eq!(body(&hhrf, "/rpc/jail@1/env?HOME"), "env-unset");
    let line = hhrf.request_line(&hhrf.get("/rpc/jail@1/hello").request_id());
    assert!(line.contains("status=200 outcome=ok"), "{line}");
    hhrf.assert_no_children();
}

#[test]
fn a_secret_outside_the_folder_is_readable_without_the_jail_and_not_through_it() {
    let root = Root::new();
    let folder = add(&root, "jail", "");
    let secret = root.path().join("secret.txt");
    std::fs::write(&secret, "top secret").unwrap();
    // The runner user must be able to search the folders above the function's own to open
    // it by its absolute path (spec/HTTP.md, "Runner user"); the secret stays 0644.
    for dir in [root.path().to_owned(), root.path().join("functions")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::write(folder.join("data.txt"), "the function's own data").unwrap();
    let read_secret = format!("/rpc/jail@1/read?{}", secret.display());

    let plain = plain(&root);
    assert_eq!(body(&plain, &read_secret), "read-ok:top secret");
    drop(plain);

    let hhrf = jailed(&root);
    // ENOENT: the jail has no such file at all (its /tmp is an empty tmpfs); EACCES when the
    // runner user cannot even search the folders bwrap made for the binds.
    let denied = body(&hhrf, &read_secret);
    assert!(
        denied == "read-failed:errno=2" || denied == "read-failed:errno=13",
        "{denied}"
    );
    // Its own folder is there, relative to the working directory and at its absolute path.
    assert_eq!(
        body(&hhrf, "/rpc/jail@1/read?data.txt"),
        "read-ok:the function's own data"
    );
    assert_eq!(
        body(
            &hhrf,
            &format!("/rpc/jail@1/read?{}", folder.join("data.txt").display())
        ),
        "read-ok:the function's own data"
    );
    hhrf.assert_no_children();
}

#[test]
fn the_folder_is_read_only_and_tmp_is_private_through_the_jail() {
    let root = Root::new();
    let folder = add(&root, "jail", "");
    let probe = PathBuf::from(format!("/tmp/fezz-jail-probe-{}", std::process::id()));
    let _ = std::fs::remove_file(&probe);

    let hhrf = jailed(&root);
    // EROFS: the folder is mounted read-only.
    assert_eq!(
        body(&hhrf, "/rpc/jail@1/write?jailed.txt"),
        "write-failed:errno=30"
    );
    assert!(!folder.join("jailed.txt").exists());
    // /tmp is writable but the jail's own: the host's /tmp never sees the file.
    assert_eq!(
        body(&hhrf, &format!("/rpc/jail@1/write?{}", probe.display())),
        "write-ok"
    );
    assert!(
        !probe.exists(),
        "{} leaked out of the jail",
        probe.display()
    );
    drop(hhrf);

    // Without the jail, the same calls write both files.
    let plain = plain(&root);
    assert_eq!(body(&plain, "/rpc/jail@1/write?plain.txt"), "write-ok");
    assert!(folder.join("plain.txt").exists());
    assert_eq!(
        body(&plain, &format!("/rpc/jail@1/write?{}", probe.display())),
        "write-ok"
    );
    assert!(probe.exists());
    std::fs::remove_file(&probe).unwrap();
}

#[test]
fn a_socket_connects_without_the_jail_and_not_through_it() {
    let root = Root::new();
    add(&root, "jail", "");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connect = format!("/rpc/jail@1/connect?{port}");

    let plain = plain(&root);
    assert_eq!(body(&plain, &connect), "connect-ok");
    drop(plain);

    let hhrf = jailed(&root);
    // ECONNREFUSED: the jail's network namespace has only its own loopback interface, on
    // which nothing listens.
    assert_eq!(body(&hhrf, &connect), "connect-failed:errno=111");
    hhrf.assert_no_children();
}

#[test]
fn a_hanging_function_is_killed_at_its_deadline_and_leaves_no_process() {
    let root = Root::new();
    let folder = add(&root, "jail", r#","timeout_ms":1000"#);
    let hhrf = jailed(&root);

    let start = Instant::now();
    let response = std::thread::scope(|scope| {
        let call = scope.spawn(|| hhrf.get("/rpc/jail@1/hang"));
        // While it hangs, the wrapper's shell, bwrap (outside and inside the PID namespace)
        // and the runner are alive.
        let alive = wait_for_runner(&folder, hhrf.pid());
        assert!(alive >= 4, "{alive} processes");
        call.join().unwrap()
    });
    let elapsed = start.elapsed();
    response.assert_error(504, "timeout");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    hhrf.assert_no_children();
    assert_none_left(&folder, hhrf.pid());
    assert_eq!(body(&hhrf, "/rpc/jail@1/hello"), "hello from the jail");
}

#[test]
fn a_process_that_leaves_the_group_is_gone_with_the_call_with_or_without_the_jail() {
    let root = Root::new();
    let folder = add(&root, "jail", "");

    // Without the jail, the reference runner's own PID namespace ends it
    // (spec/HTTP.md, "Containment"); inside the jail, the jail's namespace does.
    let plain = plain(&root);
    assert_eq!(body(&plain, "/rpc/jail@1/escape"), "escaped");
    plain.assert_no_children();
    assert_none_left(&folder, plain.pid());
    drop(plain);

    let hhrf = jailed(&root);
    assert_eq!(body(&hhrf, "/rpc/jail@1/escape"), "escaped");
    hhrf.assert_no_children();
    assert_none_left(&folder, hhrf.pid());
}

/// Starts hhrf with a controlling terminal: under `script` (util-linux), on a pseudo-terminal
/// whose output (hhrf's log) goes to the harness's stderr pipe.
fn start_on_a_terminal(root: &Root, env: &[(&str, &Path)]) -> Hhrf {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        r#"exec script -qefc "$(printf '%s ' "$@")" /dev/null >&2"#,
        "sh",
        env!("CARGO_BIN_EXE_hhrf"),
    ]);
    Hhrf::start_command(command, root, env)
}

#[test]
fn the_function_has_no_controlling_terminal_in_the_jail() {
    let root = Root::new();
    add(&root, "jail", "");

    let plain = start_on_a_terminal(&root, &[]);
    assert_eq!(body(&plain, "/rpc/jail@1/tty"), "tty-ok");
    drop(plain);

    // ENXIO: bwrap's --new-session leaves the function no controlling terminal, so it cannot
    // push keystrokes into hhrf's (TIOCSTI).
    let hhrf = start_on_a_terminal(&root, &[("FEZZ_RUNNER", installed_wrapper())]);
    assert_eq!(body(&hhrf, "/rpc/jail@1/tty"), "tty-failed:errno=6");
}

#[test]
fn a_crash_in_the_jail_is_reported_by_its_signal() {
    let root = Root::new();
    add(&root, "jail", "");
    let hhrf = jailed(&root);

    let response = hhrf.get("/rpc/jail@1/segfault");
    let json = response.assert_error(502, "runner-crashed");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("SIGSEGV"), "{message}");
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("outcome=runner-crashed(SIGSEGV)"), "{line}");
    hhrf.assert_no_children();
}

#[test]
fn the_jail_dies_with_hhrf() {
    let root = Root::new();
    let folder = add(&root, "jail", r#","timeout_ms":60000"#);
    let hhrf = jailed(&root);
    let addr = hhrf.addr;
    std::thread::spawn(move || {
        // Ends with an error when hhrf dies; nobody waits for it.
        let _ = std::net::TcpStream::connect(addr).and_then(|mut stream| {
            use std::io::{Read, Write};
            stream.write_all(b"GET /rpc/jail@1/hang HTTP/1.1\r\nHost: t\r\n\r\n")?;
            stream.read(&mut [0; 64])
        });
    });
    let pid = hhrf.pid();
    let alive = wait_for_runner(&folder, pid);
    assert!(alive >= 4, "{alive} processes");
    hhrf.signal(Signal::SIGKILL);
    assert_none_left(&folder, pid);
}

#[test]
fn a_wrapper_without_a_runner_fails_with_runner_internal() {
    let root = Root::new();
    add(&root, "jail", "");
    let lonely = scratch("lonely").join("fezz-bwrap");
    std::fs::copy(repository_wrapper(), &lonely).unwrap();
    let hhrf = Hhrf::start(&root, &[("FEZZ_RUNNER", &lonely)]);

    let response = hhrf.get("/rpc/jail@1/hello");
    let json = response.assert_error(502, "runner-failed");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("16"), "{message}");
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("outcome=runner-failed(16)"), "{line}");
    // The error frame decoded: its message is in the log's detail, as is the stderr line.
    assert!(
        line.contains("fezz-bwrap: no fezz-runner next to"),
        "{line}"
    );
    hhrf.assert_no_children();
}

#[test]
fn the_conformance_runner_level_passes_through_the_jail() {
    let output = Command::new(support::built("fezz-conformance"))
        .args(["runner", "--runner"])
        .arg(installed_wrapper())
        .env_remove("FEZZ_RUNNER")
        .env_remove("FEZZ_JAIL_RUNNER")
        .output()
        .expect("fezz-conformance runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    let passed: usize = text
        .lines()
        .find_map(|line| line.strip_prefix("test result: ok. "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no test result line:\n{text}"));
    assert!(passed >= 60, "only {passed} cases passed:\n{text}");
}
