//! Shared support of the conformance suite's own tests: finding the built artifacts (never
//! building them: `.ci/run` runs `cargo build --workspace` first), installing the C SDK with
//! `abi/install.sh`, building the C and Zig fixtures and the broken C function from source, running the `fezz-conformance` binary, and
//! starting hhrf on a free port.

#![allow(dead_code)] // each test binary uses a different part

#[path = "../../../abi/tests/common/workspace_build.rs"]
mod workspace_build;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// `target/debug` (or whichever profile built this test): the test binary lives in its `deps/`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// A built artifact in the target folder, built first if needed.
pub fn artifact(name: &str) -> PathBuf {
    workspace_build::artifact(name)
}

/// The reference runner.
pub fn reference_runner() -> PathBuf {
    artifact("fezz-runner")
}

/// The Rust fixture library.
pub fn rust_fixture() -> PathBuf {
    artifact("libfezz_fixture_rust.so")
}

/// The codec static library C and Zig functions link.
pub fn abi_static_lib() -> PathBuf {
    artifact("libfezz_abi.a")
}

/// A fresh scratch folder under `target/tmp/conformance-tests/<name>`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("conformance-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

fn run_build(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: cannot start {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The fezz C SDK installed by `abi/install.sh` (with this test build's cargo profile) into
/// `target/tmp/fezz-prefix`, once per test binary: the C builds below use the one link line of
/// spec/ABI.md, `$(pkg-config --cflags --libs fezz)`, against it. install.sh runs
/// `cargo rustc -p fezz-abi`, the only cargo these tests run: cargo has released its build lock
/// by the time test binaries run, and after `cargo build --workspace` it compiles only
/// fezz-abi's staticlib unit, once.
pub fn fezz_prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fezz-prefix");
        let profile = if target_dir().ends_with("release") {
            "release"
        } else {
            "dev"
        };
        run_build(
            Command::new("sh")
                .arg(repo_root().join("abi/install.sh"))
                .args(["--profile", profile])
                .arg(&prefix),
            "abi/install.sh",
        );
        prefix
    })
}

/// `PKG_CONFIG_PATH` for [`fezz_prefix`].
pub fn fezz_pkg_config_path() -> PathBuf {
    fezz_prefix().join("lib/pkgconfig")
}

/// `pkg-config --cflags --libs fezz` against [`fezz_prefix`], split into words.
pub fn fezz_flags() -> Vec<String> {
    let output = Command::new("pkg-config")
        .args(["--cflags", "--libs", "fezz"])
        .env("PKG_CONFIG_PATH", fezz_pkg_config_path())
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

/// Compiles a C function library with `-Wall -Wextra -Werror` (plus `extra` flags) into `out`,
/// with the link line of spec/ABI.md: `$(pkg-config --cflags --libs fezz)`.
pub fn compile_c_function(source: &Path, out: &Path, extra: &[&str]) {
    let mut command = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".to_owned()));
    command
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-g",
        ])
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg(source)
        .args(fezz_flags());
    run_build(&mut command, &format!("compiling {}", source.display()));
}

/// The C fixture (built once per test binary).
pub fn c_fixture() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = scratch("c-fixture").join("libfezz_fixture_c.so");
            compile_c_function(
                &repo_root().join("conformance/fixtures/c/fixture.c"),
                &out,
                &["-O2"],
            );
            out
        })
        .clone()
}

/// The C fixture built with AddressSanitizer.
pub fn c_fixture_asan() -> PathBuf {
    let out = scratch("c-fixture-asan").join("libfezz_fixture_c_asan.so");
    compile_c_function(
        &repo_root().join("conformance/fixtures/c/fixture.c"),
        &out,
        &["-O1", "-fsanitize=address", "-fno-omit-frame-pointer"],
    );
    out
}

/// The deliberately broken C function (`conformance/fixtures/broken/function/broken-echo.c`).
pub fn broken_function() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = scratch("broken-function").join("libbroken_echo.so");
            compile_c_function(
                &repo_root().join("conformance/fixtures/broken/function/broken-echo.c"),
                &out,
                &[],
            );
            out
        })
        .clone()
}

/// The zig command: `$FEZZ_ZIG` (`.ci/run` exports `python3 -m ziglang`), else that default.
pub fn zig() -> Command {
    let text = std::env::var("FEZZ_ZIG")
        .ok()
        .filter(|zig| !zig.trim().is_empty());
    let text = text.as_deref().unwrap_or("python3 -m ziglang");
    let mut words = text.split_whitespace();
    let mut command = Command::new(words.next().expect("FEZZ_ZIG is not empty"));
    command.args(words);
    command
}

/// The Zig fixture: `zig translate-c spec/fezz.h`, then `zig build-lib` linking libfezz_abi.a.
pub fn zig_fixture() -> PathBuf {
    let dir = scratch("zig-fixture");
    let root = repo_root();
    let header = zig()
        .args(["translate-c", "-lc"])
        .arg(root.join("spec/fezz.h"))
        .output()
        .expect(
            "zig translate-c (install Zig with `pip install ziglang==0.15.2`, or set FEZZ_ZIG)",
        );
    assert!(
        header.status.success(),
        "zig translate-c failed:\n{}",
        String::from_utf8_lossy(&header.stderr)
    );
    std::fs::write(dir.join("fezz.zig"), header.stdout).expect("write fezz.zig");
    let out = dir.join("libfezz_fixture_zig.so");
    let mut command = zig();
    command
        .current_dir(&dir)
        .args([
            "build-lib",
            "-dynamic",
            "-O",
            "ReleaseSafe",
            "-lc",
            "-lunwind",
            "--dep",
            "fezz",
        ])
        .arg(format!(
            "-Mroot={}",
            root.join("conformance/fixtures/zig/fixture.zig").display()
        ))
        .arg(format!("-Mfezz={}", dir.join("fezz.zig").display()))
        .arg(abi_static_lib())
        .args(["--name", "fezz_fixture_zig"])
        .arg(format!("-femit-bin={}", out.display()));
    run_build(&mut command, "building the Zig fixture");
    out
}

/// Runs `fezz-conformance` with `args` and extra environment; the reference runner is passed
/// to wrappers as `FEZZ_REFERENCE_RUNNER`.
pub fn suite(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fezz-conformance"));
    command
        .args(args)
        .env("FEZZ_REFERENCE_RUNNER", reference_runner())
        .env_remove("FEZZ_BLESS")
        .env_remove("FEZZ_RUNNER")
        .env_remove("FEZZ_FIXTURE");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run fezz-conformance")
}

/// stdout and stderr of a suite run, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts that a suite run passed and ran at least `min_cases` cases.
pub fn assert_passed(output: &Output, min_cases: usize) {
    let text = text(output);
    assert!(output.status.success(), "the suite failed:\n{text}");
    let passed: usize = text
        .lines()
        .find_map(|line| line.strip_prefix("test result: ok. "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no libtest summary in:\n{text}"));
    assert!(
        passed >= min_cases,
        "only {passed} cases ran (expected at least {min_cases}):\n{text}"
    );
}

/// A running hhrf, killed on drop.
pub struct Hhrf {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub authority: String,
}

impl Hhrf {
    /// Starts `hhrf --listen 127.0.0.1:0 --root <root>` and waits for its "listening" line.
    pub fn start(root: &Path) -> Hhrf {
        let mut child = Command::new(artifact("hhrf"))
            .args(["--listen", "127.0.0.1:0", "--root"])
            .arg(root)
            .env_remove("FEZZ_RUNNER")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hhrf");
        let stderr = child.stderr.take().expect("piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sender = Some(sender);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(address) = line.split("hhrf listening on http://").nth(1) {
                    if let Some(sender) = sender.take() {
                        let _ = sender.send(address.trim().to_owned());
                    }
                }
                // Keep draining so hhrf never blocks on a full stderr pipe.
            }
        });
        let authority = match receiver.recv_timeout(Duration::from_secs(20)) {
            Ok(authority) => authority,
            Err(_) => {
                let _ = child.kill();
                panic!("hhrf did not print `hhrf listening on http://ADDR` within 20 s");
            }
        };
        Hhrf { child, authority }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.authority)
    }
}

impl Drop for Hhrf {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `functions/<id>@<version>/` under `root` with the library (copied) and a manifest.
pub fn deploy(root: &Path, id: &str, version: &str, library: &Path, manifest: &str) {
    let dir = root.join("functions").join(format!("{id}@{version}"));
    std::fs::create_dir_all(&dir).expect("create function folder");
    let name = library.file_name().expect("library file name");
    std::fs::copy(library, dir.join(name)).expect("copy library");
    std::fs::write(dir.join("fezz.json"), manifest).expect("write fezz.json");
}

/// The manifest the http level expects for the fixture (see `conformance/README.md`).
pub fn fixture_manifest(entry: &str) -> String {
    format!(
        r#"{{"id": "fixture", "version": "1", "entry": "{entry}", "routes": [{{"path": "/fixture-root", "method": "GET"}}], "timeout_ms": 1000}}"#
    )
}
