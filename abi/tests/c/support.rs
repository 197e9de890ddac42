//! Helpers shared by the tests that compile C (`header.rs`, `c_api.rs`): paths, running gcc and
//! g++ with the strict flags, and installing the C SDK with `abi/install.sh` for pkg-config. Included with `#[path]`, so it is not
//! a test target of its own.
#![allow(dead_code)] // each test target uses a different subset

#[path = "../common/workspace_build.rs"]
mod workspace_build;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

/// A compile with `compiler` (`gcc` or `g++`), `-std=<std>` and the strict warning flags, but
/// no include path: for builds that take theirs from the installed `fezz.pc`.
pub fn strict_compiler(compiler: &str, std: &str) -> Command {
    let mut command = Command::new(compiler);
    command.arg(format!("-std={std}")).args(STRICT);
    command
}

/// The cargo profile the tests were built with (`dev` or `release`), from the test binary's
/// place: target/<debug|release>/deps/<name>-<hash>.
fn profile() -> &'static str {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .expect("test binaries live in target/<profile>/deps");
    if profile_dir == "release" {
        "release"
    } else {
        "dev"
    }
}

/// The fezz C SDK as `abi/install.sh` installs it (header, `libfezz_abi.a`, `fezz.pc`), into
/// `target/tmp/fezz-prefix`, once per test binary and with the tests' own cargo profile, so
/// every C build of the tests goes through the install step and the one link line.
///
/// install.sh runs cargo (`cargo rustc -p fezz-abi`), which is safe here: cargo releases the
/// build lock before it runs test binaries (checked with cargo 1.95), and after a
/// `cargo build` only fezz-abi's staticlib unit is compiled, once (a second of work). Each
/// file is renamed into place, so two test binaries installing at once do not see torn files.
pub fn installed_prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fezz-prefix");
        run(Command::new("sh")
            .arg(workspace_root().join("abi/install.sh"))
            .args(["--profile", profile()])
            .arg(&prefix));
        prefix
    })
}

/// `pkg-config <arguments> fezz` against [`installed_prefix`], split into words.
pub fn pkg_config(arguments: &[&str]) -> Vec<String> {
    let output = run(pkg_config_command().args(arguments).arg("fezz"));
    String::from_utf8(output.stdout)
        .expect("pkg-config prints UTF-8")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A `pkg-config` command whose search path is [`installed_prefix`]'s.
pub fn pkg_config_command() -> Command {
    let mut command = Command::new("pkg-config");
    command.env("PKG_CONFIG_PATH", installed_prefix().join("lib/pkgconfig"));
    command
}

/// The flags of the one link line: `pkg-config --cflags --libs fezz`.
pub fn fezz_flags() -> Vec<String> {
    pkg_config(&["--cflags", "--libs"])
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
