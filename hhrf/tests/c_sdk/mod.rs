//! The fezz C SDK for the C functions of hhrf's tests (`tests/c/*.c`): installed once per test
//! binary by `abi/install.sh` into `target/tmp/fezz-prefix`, and linked with the one link line
//! of spec/ABI.md, `$(pkg-config --cflags --libs fezz)`.
//!
//! install.sh runs `cargo rustc -p fezz-abi`, the only cargo these tests run: cargo has
//! released its build lock by the time test binaries run, and after `cargo build --workspace`
//! it compiles only fezz-abi's staticlib unit, once.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The prefix `abi/install.sh` installed into (with this test build's cargo profile).
pub fn prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fezz-prefix");
        let exe = std::env::current_exe().expect("the test binary has a path");
        let release = exe
            .parent()
            .and_then(Path::parent)
            .is_some_and(|profile_dir| profile_dir.ends_with("release"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../abi/install.sh");
        let output = Command::new("sh")
            .arg(&script)
            .args(["--profile", if release { "release" } else { "dev" }])
            .arg(&prefix)
            .output()
            .expect("sh runs");
        assert!(
            output.status.success(),
            "abi/install.sh failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        prefix
    })
}

/// `pkg-config --cflags --libs fezz` against [`prefix`], split into words: what follows the
/// sources of every C build.
pub fn flags() -> Vec<String> {
    let output = Command::new("pkg-config")
        .args(["--cflags", "--libs", "fezz"])
        .env("PKG_CONFIG_PATH", prefix().join("lib/pkgconfig"))
        .output()
        .expect("pkg-config runs (.ci/run installs it)");
    assert!(
        output.status.success(),
        "pkg-config --cflags --libs fezz failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
