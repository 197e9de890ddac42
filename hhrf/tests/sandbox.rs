//! The sandbox, black box (`spec/HTTP.md`, "Sandbox"; `spec/RUNNER.md`, "Sandbox"): with
//! the manifest's `sandbox` left out, every restriction holds, the function sees the errno
//! and hhrf logs it; with `"sandbox": {"enabled": false}` the same operation succeeds (so
//! each test can fail), and grants (`read`, `write`, `network`) open exactly what they name.
//!
//! Library: `tests/c/sandbox.c`, built once per test binary; the manifest's `env` chooses
//! the operation (`SANDBOX_OP`).

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::Root;

/// hhrf with runners kept as root (`--runner-user 0:0`): with the sandbox off, the same
/// operations must then succeed, so each refusal is the sandbox's, not the user's
/// (`tests/privileges.rs` covers the runner user).
struct Hhrf;

impl Hhrf {
    fn start(root: &Root, env: &[(&str, &Path)]) -> support::Hhrf {
        let mut env = env.to_vec();
        env.push(("HHRF_RUNNER_USER", Path::new("0:0")));
        support::Hhrf::start(root, &env)
    }
}

const OFF: &str = r#"{"enabled": false}"#;

/// `tests/c/sandbox.c`, compiled once into a folder that lives as long as the test binary.
fn library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let path = dir.join("libsandbox.so");
        support::compile_c_library("sandbox.c", &path, &["-pthread"]);
        path
    })
}

/// Adds `<id>@1` running `op` with the extra `env` entries and, when given, `sandbox`.
fn add(root: &Root, id: &str, op: &str, env: &[(&str, &str)], sandbox: Option<&str>) {
    let mut entries = vec![format!(r#""SANDBOX_OP": "{op}""#)];
    entries.extend(
        env.iter()
            .map(|(name, value)| format!(r#""{name}": {}"#, serde_json::Value::from(*value))),
    );
    let sandbox = sandbox
        .map(|sandbox| format!(r#", "sandbox": {sandbox}"#))
        .unwrap_or_default();
    let manifest = format!(
        r#"{{"id": "{id}", "version": "1", "entry": "libsandbox.so", "routes": [], "timeout_ms": 10000, "env": {{{}}}{sandbox}}}"#,
        entries.join(", ")
    );
    root.add(&format!("{id}@1"), &manifest, library(), "libsandbox.so");
}

/// Calls `<id>@1`: the function must be refused with `errno`, and the log line must say so.
fn assert_refused(hhrf: &support::Hhrf, id: &str, op: &str, errno: i32) {
    let response = hhrf.get(&format!("/rpc/{id}@1/"));
    let json = response.assert_error(500, "function-failed");
    let message = json["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(&format!("refused: {op}: "))
            && message.ends_with(&format!("(errno {errno})")),
        "{id}: {message}"
    );
    let line = hhrf.request_line(&response.request_id());
    assert!(line.contains("outcome=function-failed"), "{line}");
    assert!(line.contains(&format!("(errno {errno})")), "{line}");
}

/// Calls `<id>@1`: the function must answer 200; returns the body.
fn assert_ok(hhrf: &support::Hhrf, id: &str) -> String {
    let response = hhrf.get(&format!("/rpc/{id}@1/"));
    assert_eq!(
        response.status,
        200,
        "{id}: {}\n{}",
        String::from_utf8_lossy(&response.body),
        hhrf.log()
    );
    String::from_utf8(response.body).unwrap()
}

#[test]
fn well_behaved_functions_answer_under_the_default_sandbox() {
    let root = Root::new();
    root.add_fixture(10_000);
    add(&root, "plain", "none_such", &[], None);
    let hhrf = Hhrf::start(&root, &[]);
    let log = hhrf.wait_for_log("sandbox: on by default", Duration::from_secs(5));
    assert!(log.contains("2 of 2 functions sandboxed"), "{log}");
    let response = hhrf.get("/rpc/fx@1/hello");
    assert_eq!(response.status, 200, "{}", hhrf.log());
    // The C library loads too (its unknown operation is its own EINVAL).
    assert_refused(&hhrf, "plain", "none_such", libc_errno::EINVAL);
    hhrf.assert_still_serving();
}

#[test]
fn reading_outside_the_folder_needs_a_grant() {
    let root = Root::new();
    let secrets = tempfile::tempdir().unwrap();
    let secret = secrets.path().join("secret");
    std::fs::write(&secret, "secret").unwrap();
    let secret = secret.to_str().unwrap();
    let granted = format!(r#"{{"read": [{:?}]}}"#, secrets.path().to_str().unwrap());
    add(&root, "boxed", "read", &[("SANDBOX_PATH", secret)], None);
    add(
        &root,
        "granted",
        "read",
        &[("SANDBOX_PATH", secret)],
        Some(&granted),
    );
    add(
        &root,
        "free",
        "read",
        &[("SANDBOX_PATH", secret)],
        Some(OFF),
    );
    // Its own folder is readable.
    add(&root, "own", "read", &[("SANDBOX_PATH", "fezz.json")], None);
    add(
        &root,
        "etc",
        "read",
        &[("SANDBOX_PATH", "/etc/passwd")],
        None,
    );
    let hhrf = Hhrf::start(&root, &[]);
    assert_refused(&hhrf, "boxed", "read", libc_errno::EACCES);
    assert_refused(&hhrf, "etc", "read", libc_errno::EACCES);
    assert_eq!(assert_ok(&hhrf, "granted"), "read: ok");
    assert_eq!(assert_ok(&hhrf, "free"), "read: ok");
    assert_eq!(assert_ok(&hhrf, "own"), "read: ok");
}

#[test]
fn writing_needs_a_grant() {
    let root = Root::new();
    let target = root.path().join("data/out");
    let target_text = target.to_str().unwrap();
    add(
        &root,
        "boxed",
        "write",
        &[("SANDBOX_PATH", target_text)],
        None,
    );
    // The folder's own files are read-only too.
    add(
        &root,
        "own",
        "write",
        &[("SANDBOX_PATH", "fezz.json")],
        None,
    );
    add(
        &root,
        "granted",
        "write",
        &[("SANDBOX_PATH", "../../data/out")],
        Some(r#"{"write": ["../../data"]}"#),
    );
    add(
        &root,
        "free",
        "write",
        &[("SANDBOX_PATH", "free-out")],
        Some(OFF),
    );
    let hhrf = Hhrf::start(&root, &[]);
    // The write grant created the folder at load.
    assert!(root.path().join("data").is_dir());
    assert_refused(&hhrf, "boxed", "write", libc_errno::EACCES);
    assert_refused(&hhrf, "own", "write", libc_errno::EACCES);
    assert!(!target.exists());
    assert_eq!(assert_ok(&hhrf, "granted"), "write: ok");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "written");
    assert_eq!(assert_ok(&hhrf, "free"), "write: ok");
    assert!(root.folder("free@1").join("free-out").is_file());
}

#[test]
fn a_missing_read_grant_disables_the_function() {
    let root = Root::new();
    add(&root, "bad", "read", &[], Some(r#"{"read": ["missing"]}"#));
    let hhrf = Hhrf::start(&root, &[]);
    let log = hhrf.wait_for_log("function disabled", Duration::from_secs(5));
    assert!(log.contains("field `sandbox.read[0]`"), "{log}");
    assert_eq!(hhrf.get("/rpc/bad@1/").status, 404);
}

#[test]
fn tmpdir_is_a_writable_scratch_folder_removed_after_the_call() {
    let root = Root::new();
    add(&root, "boxed", "tmpdir", &[], None);
    add(&root, "free", "tmpdir", &[], Some(OFF));
    let hhrf = Hhrf::start(&root, &[]);
    let base = std::env::temp_dir().join(format!("hhrf-{}", hhrf.pid()));
    assert!(base.is_dir(), "{}", base.display());
    let mut seen = Vec::new();
    for id in ["boxed", "free", "boxed"] {
        let scratch = PathBuf::from(assert_ok(&hhrf, id));
        assert!(scratch.starts_with(&base), "{}", scratch.display());
        assert!(!seen.contains(&scratch), "a folder was reused");
        // Removed on a blocking thread right after the call, the locked folder included.
        let start = Instant::now();
        while scratch.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{} is still there",
                scratch.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        seen.push(scratch);
    }
    assert!(!hhrf.log().contains("not fully removed"), "{}", hhrf.log());
    // A graceful stop removes the base folder too.
    let mut hhrf = hhrf;
    hhrf.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(
        hhrf.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        hhrf.log()
    );
    assert!(!base.exists(), "{} is still there", base.display());
}

#[test]
fn files_are_bounded_by_file_bytes() {
    let root = Root::new();
    add(
        &root,
        "small",
        "write_big",
        &[],
        Some(r#"{"file_bytes": 65536}"#),
    );
    add(&root, "default", "write_big", &[], None);
    add(&root, "free", "write_big", &[], Some(OFF));
    let hhrf = Hhrf::start(&root, &[]);
    // SIGXFSZ is ignored, so the write past the limit fails with EFBIG instead of a crash.
    assert_refused(&hhrf, "small", "write_big", libc_errno::EFBIG);
    assert_eq!(assert_ok(&hhrf, "default"), "write_big: ok");
    assert_eq!(assert_ok(&hhrf, "free"), "write_big: ok");
}

#[test]
fn tcp_needs_a_network_grant() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let port = port.as_str();
    let root = Root::new();
    add(&root, "boxed", "connect", &[("SANDBOX_PORT", port)], None);
    add(
        &root,
        "connects",
        "connect",
        &[("SANDBOX_PORT", port)],
        Some(r#"{"network": {"connect": true}}"#),
    );
    add(
        &root,
        "no-bind",
        "bind",
        &[],
        Some(r#"{"network": {"connect": true}}"#),
    );
    add(
        &root,
        "binds",
        "bind",
        &[],
        Some(r#"{"network": {"bind": true}}"#),
    );
    add(&root, "bind-boxed", "bind", &[], None);
    add(
        &root,
        "free",
        "connect",
        &[("SANDBOX_PORT", port)],
        Some(OFF),
    );
    let hhrf = Hhrf::start(&root, &[]);
    // No INET socket at all without a grant (seccomp).
    assert_refused(&hhrf, "boxed", "connect", libc_errno::EPERM);
    assert_refused(&hhrf, "bind-boxed", "bind", libc_errno::EPERM);
    // A socket, but binding is not granted with connect alone (Landlock ABI 4).
    assert_refused(&hhrf, "no-bind", "bind", libc_errno::EACCES);
    assert_eq!(assert_ok(&hhrf, "connects"), "connect: ok");
    assert_eq!(assert_ok(&hhrf, "binds"), "bind: ok");
    assert_eq!(assert_ok(&hhrf, "free"), "connect: ok");
}

#[test]
fn ptrace_mount_namespaces_and_the_keyring_are_refused() {
    let root = Root::new();
    root.add_fixture(10_000);
    for op in ["ptrace", "mount", "unshare", "clone_ns", "keyring"] {
        add(&root, op, op, &[], None);
        add(&root, &format!("free-{op}"), op, &[], Some(OFF));
    }
    let hhrf = Hhrf::start(&root, &[]);
    for op in ["ptrace", "mount", "unshare", "clone_ns", "keyring"] {
        assert_refused(&hhrf, op, op, libc_errno::EPERM);
        assert_eq!(assert_ok(&hhrf, &format!("free-{op}")), format!("{op}: ok"));
    }
    hhrf.assert_still_serving();
}

#[test]
fn clone3_is_enosys_while_fork_and_threads_work() {
    let root = Root::new();
    add(&root, "boxed", "clone3", &[], None);
    add(&root, "free", "clone3", &[], Some(OFF));
    let hhrf = Hhrf::start(&root, &[]);
    assert_eq!(
        assert_ok(&hhrf, "boxed"),
        format!("clone3 errno={} fork=ok thread=ok", libc_errno::ENOSYS)
    );
    assert_eq!(assert_ok(&hhrf, "free"), "clone3 errno=0 fork=ok thread=ok");
}

#[test]
fn abstract_unix_sockets_outside_the_call_are_refused() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("fezz-sandbox-test-{}", std::process::id());
    let address = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind_addr(&address).unwrap();
    let root = Root::new();
    add(
        &root,
        "boxed",
        "abstract_unix",
        &[("SANDBOX_PATH", &name)],
        None,
    );
    add(
        &root,
        "free",
        "abstract_unix",
        &[("SANDBOX_PATH", &name)],
        Some(OFF),
    );
    let hhrf = Hhrf::start(&root, &[]);
    assert_refused(&hhrf, "boxed", "abstract_unix", libc_errno::EPERM);
    assert_eq!(assert_ok(&hhrf, "free"), "abstract_unix: ok");
}

#[test]
fn signals_to_processes_outside_the_call_are_refused() {
    let root = Root::new();
    add(&root, "boxed", "signal_host", &[], None);
    add(&root, "free", "signal_host", &[], Some(OFF));
    let hhrf = Hhrf::start(&root, &[]);
    assert_refused(&hhrf, "boxed", "signal_host", libc_errno::EPERM);
    assert_eq!(assert_ok(&hhrf, "free"), "signal_host: ok");
}

/// The Linux errno values the tests expect (hhrf's tests do not link libc).
mod libc_errno {
    pub const EPERM: i32 = 1;
    pub const EACCES: i32 = 13;
    pub const EINVAL: i32 = 22;
    pub const EFBIG: i32 = 27;
    pub const ENOSYS: i32 = 38;
}
