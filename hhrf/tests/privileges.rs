//! The runner user, black box (`spec/HTTP.md`, "Runner user"): hhrf runs as root (as in CI),
//! so its runners switch to an unprivileged user: the function runs as that uid and gid with
//! no supplementary groups and owns its scratch folder; `kill(-1, SIGKILL)` from a function
//! leaves hhrf serving; and `limits.processes` then bounds a fork bomb, which it cannot for
//! runners kept as root (`--runner-user 0:0`).
//!
//! Library: `tests/c/sandbox.c` (operations `whoami`, `kill_all`, `forkbomb`). Each test uses
//! its own runner user, so a test's `kill(-1)` or fork bomb meets only its own processes.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use support::{Hhrf, Root};

/// `tests/c/sandbox.c`, compiled once for this test binary.
fn library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let path = dir.join("libsandbox.so");
        support::compile_c_library("sandbox.c", &path, &["-pthread"]);
        path
    })
}

/// Adds `<id>@1` running `op`, with `extra` manifest fields (`, "limits": …`).
fn add(root: &Root, id: &str, op: &str, extra: &str) {
    let manifest = format!(
        r#"{{"id": "{id}", "version": "1", "entry": "libsandbox.so", "routes": [], "timeout_ms": 20000, "env": {{"SANDBOX_OP": "{op}"}}{extra}}}"#
    );
    root.add(&format!("{id}@1"), &manifest, library(), "libsandbox.so");
}

fn start(root: &Root, user: &str) -> Hhrf {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the runner-user tests need root, as CI runs them"
    );
    Hhrf::start(root, &[("HHRF_RUNNER_USER", Path::new(user))])
}

/// The body of a 200 answer from `<id>@1`.
fn body(hhrf: &Hhrf, id: &str) -> String {
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
fn functions_run_as_the_runner_user_by_default() {
    let root = Root::new();
    add(&root, "boxed", "whoami", "");
    add(
        &root,
        "free",
        "whoami",
        r#", "sandbox": {"enabled": false}"#,
    );
    assert!(
        nix::unistd::geteuid().is_root(),
        "the runner-user tests need root, as CI runs them"
    );
    // No --runner-user: the dedicated default.
    let hhrf = Hhrf::start(&root, &[]);
    let expected = "uid=61792 euid=61792 gid=61792 groups=0 tmpdir=ok";
    assert_eq!(body(&hhrf, "boxed"), expected);
    assert_eq!(body(&hhrf, "free"), expected);
    assert!(
        hhrf.log().contains("runner user: uid 61792, gid 61792"),
        "{}",
        hhrf.log()
    );
    // The Rust fixture loads from a folder only root may enter (the temporary root is
    // searchable, its build folder is not needed: the library is opened before the switch).
    root.add_fixture(10_000);
    drop(hhrf);
    let hhrf = start(&root, "61795:61796");
    assert_eq!(hhrf.get("/rpc/fx@1/hello").status, 200, "{}", hhrf.log());
    assert_eq!(
        body(&hhrf, "boxed"),
        "uid=61795 euid=61795 gid=61796 groups=0 tmpdir=ok"
    );
}

#[test]
fn kill_minus_one_leaves_hhrf_serving() {
    let root = Root::new();
    root.add_fixture(10_000);
    // The sandbox off: the user alone must protect hhrf.
    add(
        &root,
        "killer",
        "kill_all",
        r#", "sandbox": {"enabled": false}"#,
    );
    let hhrf = start(&root, "61793");
    let answer = body(&hhrf, "killer");
    assert!(answer.starts_with("kill(-1, SIGKILL)="), "{answer}");
    // hhrf is alive and answers the next call.
    hhrf.assert_still_serving();
    assert_eq!(body(&hhrf, "killer"), answer);
    hhrf.assert_no_children();
}

#[test]
fn limits_processes_bounds_a_fork_bomb_of_the_runner_user() {
    let root = Root::new();
    let limited = r#", "limits": {"processes": 20}"#;
    add(&root, "bomb", "forkbomb", limited);
    let hhrf = start(&root, "61794");
    let answer = body(&hhrf, "bomb");
    let (forked, errno) = answer
        .strip_prefix("forked=")
        .and_then(|rest| rest.split_once(" errno="))
        .unwrap_or_else(|| panic!("{answer}"));
    let forked: u32 = forked.parse().unwrap();
    // The runner itself is one of the 20 processes of its user; fork then fails with EAGAIN.
    assert!(forked < 20, "{answer}");
    assert_eq!(errno, "11", "{answer}");
    drop(hhrf);
    // Kept as root, the same limit does not hold (root is exempt): the bomb reaches its cap.
    let hhrf = start(&root, "0:0");
    assert_eq!(body(&hhrf, "bomb"), "forked=200 errno=0");
}

#[test]
fn write_grants_inside_the_root_are_handed_over_others_are_not() {
    use std::os::unix::fs::MetadataExt;
    let root = Root::new();
    let outside = tempfile::tempdir().unwrap();
    let grants = format!(
        r#", "sandbox": {{"write": ["../../data", {:?}]}}"#,
        outside.path().to_str().unwrap()
    );
    std::fs::create_dir(root.path().join("data")).unwrap();
    std::fs::write(root.path().join("data/old"), b"").unwrap();
    add(&root, "writer", "whoami", &grants);
    let hhrf = start(&root, "61799");
    let log = hhrf.wait_for_log("runner user: uid 61799", std::time::Duration::from_secs(5));
    for path in [root.path().join("data"), root.path().join("data/old")] {
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (61799, 61799),
            "{}",
            path.display()
        );
    }
    assert_eq!(std::fs::metadata(outside.path()).unwrap().uid(), 0);
    assert!(
        log.contains("is outside the root: not handed over to the runner user (uid 61799)"),
        "{log}"
    );
}
