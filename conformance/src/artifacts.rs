//! Where the suite finds what it runs: the reference runner, the fixture library, the vector
//! and golden folders, and the probe and the deliberately broken libraries of the runner level,
//! which are compiled from C sources embedded in the binary (`conformance/fixtures/probe/probe.c`,
//! `conformance/fixtures/broken/lib/*.c`)
//! with `$CC` (default `cc`) into a scratch folder on first use.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// File name of the reference runner binary.
pub const RUNNER_BINARY: &str = "fezz-runner";
/// File name of the Rust fixture library (`cargo build -p fezz-fixture-rust`).
pub const RUST_FIXTURE: &str = "libfezz_fixture_rust.so";

/// The C libraries of the runner level: the probe (`conformance/fixtures/probe/probe.c`, which
/// reports what the runner did to it) and the broken libraries; name (as a runner vector's
/// `library`) and C source.
pub const BROKEN_LIBRARIES: [(&str, &str); 6] = [
    ("probe", include_str!("../fixtures/probe/probe.c")),
    (
        "no-handle-symbol",
        include_str!("../fixtures/broken/lib/no-handle-symbol.c"),
    ),
    (
        "abi-version-1",
        include_str!("../fixtures/broken/lib/abi-version-1.c"),
    ),
    (
        "bad-response",
        include_str!("../fixtures/broken/lib/bad-response.c"),
    ),
    (
        "no-response",
        include_str!("../fixtures/broken/lib/no-response.c"),
    ),
    (
        "unresolved-symbol",
        include_str!("../fixtures/broken/lib/unresolved-symbol.c"),
    ),
];

/// The folder of the running executable (`target/debug` for a cargo build).
pub fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

/// The reference runner: `FEZZ_RUNNER`, else `fezz-runner` next to this executable, else
/// `fezz-runner` on PATH.
pub fn default_runner() -> OsString {
    if let Some(runner) = std::env::var_os("FEZZ_RUNNER").filter(|value| !value.is_empty()) {
        return runner;
    }
    match exe_dir().map(|dir| dir.join(RUNNER_BINARY)) {
        Some(path) if path.is_file() => path.into_os_string(),
        _ => RUNNER_BINARY.into(),
    }
}

/// The default fixture: `FEZZ_FIXTURE`, else the Rust fixture next to this executable.
pub fn default_fixture() -> Result<PathBuf, String> {
    if let Some(fixture) = std::env::var_os("FEZZ_FIXTURE").filter(|value| !value.is_empty()) {
        return Ok(fixture.into());
    }
    let dir = exe_dir().ok_or("cannot find the folder of the fezz-conformance executable")?;
    let path = dir.join(RUST_FIXTURE);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the fixture library {} does not exist: build it with `cargo build -p fezz-fixture-rust`, or pass --fixture <lib>",
            path.display()
        ))
    }
}

/// The repository's `spec/vectors` (compiled in), or `FEZZ_VECTORS`.
pub fn default_vectors_dir() -> PathBuf {
    match std::env::var_os("FEZZ_VECTORS").filter(|value| !value.is_empty()) {
        Some(dir) => dir.into(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors"),
    }
}

/// The repository's `conformance/golden` (compiled in), or `FEZZ_GOLDEN`.
pub fn default_golden_dir() -> PathBuf {
    match std::env::var_os("FEZZ_GOLDEN").filter(|value| !value.is_empty()) {
        Some(dir) => dir.into(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("golden"),
    }
}

/// A scratch folder for this process, removed by [`remove_scratch_dir`].
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("fezz-conformance-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

/// A new, empty folder under the scratch folder, named `<prefix>-<n>`.
pub fn fresh_dir(prefix: &str) -> Result<PathBuf, String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = scratch_dir().join(format!("{prefix}-{n}"));
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("creating {}: {error}", dir.display()))?;
    Ok(dir)
}

/// Removes the scratch folder, if it was made.
pub fn remove_scratch_dir() {
    let dir = std::env::temp_dir().join(format!("fezz-conformance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(dir);
}

/// A library the runner level loads: the fixture, a missing file, a file that is not a
/// library, or one of [`BROKEN_LIBRARIES`].
pub fn library(name: &str, fixture: &Path) -> Result<PathBuf, String> {
    match name {
        "fixture" => Ok(fixture.to_path_buf()),
        "missing" => Ok(scratch_dir().join("no-such-library.so")),
        "not-a-library" => {
            let path = scratch_dir().join("not-a-library.so");
            std::fs::write(&path, "this is a text file, not a shared library\n")
                .map_err(|error| format!("writing {}: {error}", path.display()))?;
            Ok(path)
        }
        _ => broken_library(name),
    }
}

/// Compiles (once per process) and returns the broken library `name`.
pub fn broken_library(name: &str) -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<Vec<(String, PathBuf)>, String>> = OnceLock::new();
    let built = BUILT
        .get_or_init(build_broken_libraries)
        .as_ref()
        .map_err(Clone::clone)?;
    built
        .iter()
        .find(|(built_name, _)| built_name == name)
        .map(|(_, path)| path.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = BROKEN_LIBRARIES.iter().map(|(name, _)| *name).collect();
            format!(
                "unknown library `{name}` (known: fixture, missing, not-a-library, {})",
                known.join(", ")
            )
        })
}

fn build_broken_libraries() -> Result<Vec<(String, PathBuf)>, String> {
    let compiler = std::env::var("CC")
        .ok()
        .filter(|cc| !cc.is_empty())
        .unwrap_or_else(|| "cc".to_owned());
    let dir = scratch_dir().join("broken");
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("creating {}: {error}", dir.display()))?;
    let mut built = Vec::new();
    for (name, source) in BROKEN_LIBRARIES {
        let source_path = dir.join(format!("{name}.c"));
        let library = dir.join(format!("lib{name}.so"));
        std::fs::write(&source_path, source)
            .map_err(|error| format!("writing {}: {error}", source_path.display()))?;
        let output = Command::new(&compiler)
            .args(["-shared", "-fPIC", "-o"])
            .arg(&library)
            .arg(&source_path)
            .output()
            .map_err(|error| {
                format!("the runner level compiles small broken C libraries and needs a C compiler: running `{compiler}` failed: {error} (set CC)")
            })?;
        if !output.status.success() {
            return Err(format!(
                "compiling the broken library {name} with `{compiler}` failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        built.push((name.to_owned(), library));
    }
    Ok(built)
}
