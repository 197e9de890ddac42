//! Building the workspace's binaries and libraries from a test, so `cargo test --workspace`
//! passes on a fresh clone without a `cargo build` first (fezz issue 13, item 6).
//!
//! Tests of one package need artifacts of others: `fezz-runner`, the fixture libraries, the
//! todos example, `libfezz_abi.a`. Cargo builds only the package's own binaries for its tests
//! (artifact dependencies are unstable), but it releases its build lock before it runs them, so
//! a test may run `cargo build --workspace` itself: once per test process, a no-op of a second
//! when everything is fresh, and it also means a stale artifact is never tested. The profile
//! follows the test's (`--release` for a release test build), and `CARGO_TARGET_DIR` is
//! inherited.
//!
//! Included by path (`#[path = …] mod workspace_build;`) from the test support of every crate
//! that needs another package's artifacts, so there is one copy of it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `target/<profile>/`: the test binary lives in its `deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps")
        .to_owned()
}

/// Runs `cargo build --workspace` (in the test's profile) once per test process; panics with
/// cargo's output if it fails.
pub fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .find(|dir| dir.join("Cargo.lock").is_file())
            .expect("the crate sits in the fezz workspace")
            .to_owned();
        let mut command = Command::new(env!("CARGO"));
        command
            .args(["build", "--workspace", "--quiet"])
            .current_dir(&workspace);
        if profile_dir()
            .file_name()
            .is_some_and(|name| name == "release")
        {
            command.arg("--release");
        }
        let output = command.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "`cargo build --workspace` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// `name` in the profile folder, built first if needed.
pub fn artifact(name: &str) -> PathBuf {
    ensure_built();
    let path = profile_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing after `cargo build --workspace`",
        path.display()
    );
    path
}
