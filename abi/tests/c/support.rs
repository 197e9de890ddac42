//! Helpers shared by the tests that compile C (`header.rs`, `c_api.rs`): paths, running gcc and
//! g++ with the strict flags, and finding `libfezz_abi.a`. Included with `#[path]`, so it is not
//! a test target of its own.
#![allow(dead_code)] // each test target uses a different subset

#[path = "../common/workspace_build.rs"]
mod workspace_build;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Warnings are errors in every C and C++ compile of the tests.
pub const STRICT: [&str; 4] = ["-Wall", "-Wextra", "-Wpedantic", "-Werror"];

/// The workspace root (the parent of `abi/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("abi/ has a parent")
        .to_path_buf()
}

/// `spec/` in the workspace.
pub fn spec_dir() -> PathBuf {
    workspace_root().join("spec")
}

/// `abi/tests/c/` (the C sources of the tests).
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// Runs `command`; on failure (or if it cannot start) panics with the command line, its exit
/// status and everything it printed.
pub fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    if !output.status.success() {
        panic!(
            "{command:?} failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    output
}

/// A compile with `compiler` (`gcc` or `g++`) and `-std=<std>`, the strict warning flags and
/// `-I spec/`, to which the caller adds sources, options and the output.
pub fn compiler(compiler: &str, std: &str) -> Command {
    let mut command = Command::new(compiler);
    command
        .arg(format!("-std={std}"))
        .args(STRICT)
        .arg("-I")
        .arg(spec_dir());
    command
}

/// `target/debug/libfezz_abi.a` (or the release one, for a release test build): the static
/// library C functions link, built (or brought up to date) first by `cargo build --workspace`
/// (`abi/tests/common/workspace_build.rs`), so a stale library is never tested.
pub fn staticlib() -> PathBuf {
    workspace_build::artifact("libfezz_abi.a")
}

/// A fenced block of spec/ABI.md: the first one of language `language` after the line that
/// starts with `marker`.
pub fn abi_md_block(marker: &str, language: &str) -> String {
    let text = std::fs::read_to_string(spec_dir().join("ABI.md")).unwrap();
    let after = text
        .find(marker)
        .map(|at| &text[at..])
        .unwrap_or_else(|| panic!("spec/ABI.md has no `{marker}` marker"));
    let fence = format!("```{language}\n");
    let start = after
        .find(&fence)
        .unwrap_or_else(|| panic!("no ```{language} block after `{marker}` in spec/ABI.md"))
        + fence.len();
    let end = start + after[start..].find("```").expect("the block is closed");
    after[start..end].to_owned()
}
