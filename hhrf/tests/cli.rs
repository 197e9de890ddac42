//! Black-box tests of `hhrf new` and `hhrf invoke` (`spec/HTTP.md`, "Subcommands"): for each
//! of Rust, C and Zig, scaffold a function, build it, run its own test, invoke it (text and
//! `--json`), deploy it into a temporary root with its `deploy.sh` and serve it through the
//! real `hhrf`; and `invoke`'s failures, `--diag` and usage errors on the fixture library.
//!
//! The Rust scaffold builds with cargo (its own target dir in the test's temporary folder; it
//! fetches its dependencies from crates.io); the C one with `cc`; the Zig one with
//! `$FEZZ_ZIG` (default `python3 -m ziglang`, which `.ci/run` installs). Each test prints the
//! time from `hhrf new` to the served response.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{built, fixture_library, Hhrf, Root};

/// `hhrf` with the environment a test controls.
fn hhrf() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhrf"));
    command
        .env_remove("FEZZ_RUNNER")
        .env_remove("HHRF_ROOT")
        .env_remove("HHRF_RUNNER_USER")
        .stdin(Stdio::null());
    command
}

/// Runs `command`, returning its output; panics if it cannot start.
fn run(command: &mut Command) -> Output {
    command.output().expect("the command starts")
}

/// Runs `command` and asserts it exits 0, printing its output otherwise.
fn run_ok(command: &mut Command) -> Output {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A script of the scaffold, with the codec library of this build and `hhrf` for `test.sh`.
fn script(folder: &Path, name: &str) -> Command {
    let mut command = Command::new(folder.join(name));
    command
        .current_dir(folder)
        .env("FEZZ_ABI_LIB", built("libfezz_abi.a"))
        .env("HHRF", env!("CARGO_BIN_EXE_hhrf"))
        .env_remove("FEZZ_RUNNER")
        .stdin(Stdio::null());
    command
}

/// Scaffolds `name` in `lang`, builds it with `build` (the scaffold's build and test steps;
/// it returns the environment `deploy.sh` needs),
/// invokes it (text, `--json`, a deployed `id@version`), deploys it with `deploy.sh` into a
/// fresh root and serves it; asserts the greeting at every step and prints the time taken.
fn scaffold_round_trip(
    lang: &str,
    name: &str,
    greeting: &str,
    build: impl Fn(&Path, &Path) -> Vec<(&'static str, PathBuf)>,
) {
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let created = run_ok(
        hhrf()
            .args(["new", "--lang", lang, name, "--dir"])
            .arg(work.path()),
    );
    let folder = work.path().join(name);
    let said = text(&created.stderr);
    assert!(said.contains(&folder.display().to_string()), "{said}");
    assert_eq!(
        said.contains("fezz-abi is not published"),
        lang == "rust",
        "{said}"
    );
    for file in ["fezz.json", "build.sh", "deploy.sh", "README.md"] {
        assert!(folder.join(file).is_file(), "{file} is missing");
    }
    let deploy_env = build(&folder, work.path());
    let library = folder.join(format!("lib{}.so", name.replace(['-', '.'], "_")));
    assert!(library.is_file(), "{} was not built", library.display());

    // One call through the runner, as text: status line, headers, blank line, body; the
    // function's stderr on hhrf's stderr between the markers.
    let path = format!("/{name}/hi");
    let invoked = run_ok(hhrf().arg("invoke").arg(&library).arg(&path));
    let stdout = text(&invoked.stdout);
    assert!(stdout.starts_with("HTTP/1.1 200 OK\n"), "{stdout}");
    assert!(
        stdout.contains("content-type: text/plain; charset=utf-8\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!("\n\n{greeting} at {path}\n")),
        "{stdout}"
    );
    let stderr = text(&invoked.stderr);
    assert!(
        stderr.contains("--- function stderr (")
            && stderr.contains(&format!("handling GET {path}\n"))
            && stderr.contains("--- end of function stderr ---"),
        "{stderr}"
    );

    // --json: one object.
    let invoked = run_ok(
        hhrf()
            .args(["invoke", "--json", "-X", "POST", "-d", "x"])
            .arg(&library)
            .arg(&path),
    );
    let json: serde_json::Value = serde_json::from_slice(&invoked.stdout).unwrap();
    assert_eq!(json["status"], 405, "{json}");
    assert_eq!(json["outcome"], "ok", "{json}");
    assert_eq!(json["body"], "only GET here\n", "{json}");
    assert_eq!(json["body_encoding"], "utf-8", "{json}");
    assert_eq!(json["runner"]["exit_code"], 0, "{json}");
    assert!(
        json["headers"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(["allow", "GET"])),
        "{json}"
    );
    assert_eq!(json["stderr"], format!("handling POST {path}\n"), "{json}");

    // deploy.sh into a fresh root (atomically: no temporary folder is left), then a
    // deployed id@version invokes and serves.
    let root = Root::new();
    run_ok(
        script(&folder, "deploy.sh")
            .env("HHRF_ROOT", root.path())
            .envs(deploy_env),
    );
    let deployed = root.folder(&format!("{name}@1"));
    assert!(deployed.join("fezz.json").is_file());
    let entries: Vec<String> = std::fs::read_dir(root.path().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, [format!("{name}@1")]);
    let invoked = run_ok(
        hhrf()
            .args(["invoke", &format!("{name}@1"), "/x", "--root"])
            .arg(root.path()),
    );
    assert!(
        text(&invoked.stdout).ends_with(&format!("{greeting} at /x\n")),
        "{}",
        text(&invoked.stdout)
    );
    let server = Hhrf::start(&root, &[]);
    let response = server.get(&path);
    let elapsed = started.elapsed();
    assert_eq!(response.status, 200, "{}", server.log());
    assert_eq!(text(&response.body), format!("{greeting} at {path}\n"));
    println!(
        "{lang}: hhrf new to a served response: {:.1} s",
        elapsed.as_secs_f64()
    );
}

#[test]
fn a_rust_scaffold_builds_tests_invokes_deploys_and_serves() {
    scaffold_round_trip("rust", "hello-rs", "hello from Rust", |folder, work| {
        // One profile for the test and the library, so the dependencies build once.
        let target = work.join("target");
        let tested = run_ok(
            Command::new("cargo")
                .args(["test", "--release"])
                .current_dir(folder)
                .env("CARGO_TARGET_DIR", &target),
        );
        let report = text(&tested.stdout);
        assert!(report.contains("test result: ok. 2 passed"), "{report}");
        run_ok(script(folder, "build.sh").env("CARGO_TARGET_DIR", &target));
        // deploy.sh builds again: the same target dir, nothing left to compile.
        vec![("CARGO_TARGET_DIR", target)]
    });
}

#[test]
fn a_c_scaffold_builds_tests_invokes_deploys_and_serves() {
    scaffold_round_trip("c", "hello-c", "hello from C", |folder, _| {
        let tested = run_ok(&mut script(folder, "test.sh"));
        let report = text(&tested.stdout);
        assert_eq!(report.matches("test.sh: ok:").count(), 3, "{report}");
        Vec::new()
    });
}

#[test]
fn a_zig_scaffold_builds_tests_invokes_deploys_and_serves() {
    scaffold_round_trip("zig", "hello-zig", "hello from Zig", |folder, _| {
        let tested = run_ok(&mut script(folder, "test.sh"));
        let report = text(&tested.stderr);
        assert!(report.contains("All 2 tests passed."), "{report}");
        run_ok(&mut script(folder, "build.sh"));
        Vec::new()
    });
}

/// The fixture library in a folder of its own (no fezz.json beside it).
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("libfx.so");
    std::os::unix::fs::symlink(fixture_library(), &library).unwrap();
    (dir, library)
}

#[test]
fn invoke_sends_the_request_hhrf_would_and_prints_the_response() {
    let (dir, library) = fixture();
    let invoked = run_ok(
        hhrf()
            .args([
                "invoke",
                "-X",
                "PUT",
                "-H",
                "X-Test: one",
                "-H",
                "x-test: two",
            ])
            .args(["-H", "connection: close", "-d", "the body"])
            .arg(&library)
            .arg("/echo/a%20b?q=1&r"),
    );
    let stdout = text(&invoked.stdout);
    assert!(stdout.starts_with("HTTP/1.1 200 OK\n"), "{stdout}");
    for line in [
        "x-echo-method: PUT\n",
        "x-echo-path: /echo/a%20b\n",
        "x-echo-query: q=1&r\n",
        "x-test: one\n",
        "x-test: two\n",
    ] {
        assert!(stdout.contains(line), "{line:?} missing in:\n{stdout}");
    }
    // Hop-by-hop fields are dropped as the server drops them.
    assert!(!stdout.contains("connection"), "{stdout}");
    assert!(stdout.ends_with("\n\nthe body"), "{stdout}");

    // The body from a file and from stdin.
    let file = dir.path().join("body.bin");
    std::fs::write(&file, b"\xff\x00bin").unwrap();
    let invoked = run_ok(
        hhrf()
            .args(["invoke", "--json", "--data-file"])
            .arg(&file)
            .arg(&library)
            .arg("/echo/"),
    );
    let json: serde_json::Value = serde_json::from_slice(&invoked.stdout).unwrap();
    assert_eq!(json["body_encoding"], "base64", "{json}");
    assert_eq!(json["body"], "/wBiaW4=", "{json}");
    let mut child = hhrf()
        .args(["invoke", "--data-file", "-"])
        .arg(&library)
        .arg("/echo/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(text(&output.stdout).ends_with("\n\nfrom stdin"));
}

#[test]
fn a_failing_call_shows_the_code_the_exit_and_the_stderr() {
    let (_dir, library) = fixture();
    // A crash: the signal, exit code 1.
    let output = run(hhrf().arg("invoke").arg(&library).arg("/segfault"));
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("502 runner-crashed"), "{stderr}");
    assert!(stderr.contains("runner: killed by SIGSEGV"), "{stderr}");

    // A function failure: exit code 14 of the runner and what it wrote to stderr.
    let output = run(hhrf().arg("invoke").arg(&library).arg("/error-code"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("500 function-failed"), "{stderr}");
    assert!(
        stderr.contains("runner: exit code 14 (function-failed)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--- function stderr (") && stderr.contains("fixture error"),
        "{stderr}"
    );

    // A timeout, in JSON.
    let started = Instant::now();
    let output = run(hhrf()
        .args(["invoke", "--json", "--timeout-ms", "300"])
        .arg(&library)
        .arg("/hang"));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["outcome"], "timeout", "{json}");
    assert_eq!(json["status"], 504, "{json}");
    assert_eq!(json["runner"]["timed_out"], true, "{json}");
    assert_eq!(json["error"]["code"], "timeout", "{json}");

    // A runner that cannot start.
    let output = run(hhrf()
        .arg("invoke")
        .arg(&library)
        .env("FEZZ_RUNNER", "/nonexistent/runner"));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
}

#[test]
fn a_manifest_beside_the_library_applies_when_it_names_it() {
    let (dir, library) = fixture();
    std::fs::write(
        dir.path().join("fezz.json"),
        r#"{"id": "fx", "version": "7", "entry": "libfx.so", "routes": [], "timeout_ms": 300}"#,
    )
    .unwrap();
    let started = Instant::now();
    let output = run(hhrf().args(["invoke", "--json"]).arg(&library).arg("/hang"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the manifest's timeout_ms did not apply"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["outcome"], "timeout", "{json}");
    let output = run_ok(hhrf().args(["invoke", "--diag"]).arg(&library).arg("/"));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(r#"0: "fx","#) && stdout.contains(r#"1: "7","#),
        "{stdout}"
    );
}

#[test]
fn diag_prints_the_request_and_the_response_in_diagnostic_notation() {
    let (_dir, library) = fixture();
    let output = run_ok(
        hhrf()
            .args([
                "invoke",
                "--diag",
                "--request-id",
                "r-7",
                "--host",
                "example.test",
            ])
            .args(["--client-address", "[::1]:9", "--deadline-ms", "1234"])
            .arg(&library)
            .arg("/echo/p?x=1"),
    );
    let stdout = text(&output.stdout);
    let rest = stdout.strip_prefix("request:\n").expect(&stdout);
    let (request, response) = rest.split_once("\nresponse:\n").expect(&stdout);
    let request = cbor_diag::parse_diag(request).unwrap_or_else(|e| panic!("{e}: {request}"));
    let response = cbor_diag::parse_diag(response).unwrap_or_else(|e| panic!("{e}: {response}"));
    let request = request.to_diag();
    for field in [
        r#""/echo/p""#,
        r#""x=1""#,
        r#""r-7""#,
        r#""example.test""#,
        r#""[::1]:9""#,
        "1234",
    ] {
        assert!(request.contains(field), "{field} missing in {request}");
    }
    // The echo's status 200 is key 1 of the response.
    let response = response.to_diag();
    assert!(response.contains("1:200"), "{response}");
}

#[test]
fn bad_arguments_exit_2_naming_the_flag() {
    let (dir, library) = fixture();
    let cases: [(&[&str], &str); 8] = [
        (&["invoke", "LIB", "-H", "no-colon"], "--header"),
        (&["invoke", "LIB", "--timeout-ms", "0"], "--timeout-ms"),
        (&["invoke", "LIB", "relative"], "PATH"),
        (&["invoke", "LIB", "-X", "BAD METHOD"], "--method"),
        (&["invoke", "LIB", "--json", "--diag"], "--diag"),
        (
            &["invoke", "LIB", "--data-file", "/nonexistent"],
            "--data-file",
        ),
        (&["new", "--lang", "cobol", "x"], "--lang"),
        (&["new", "--lang", "c", "../up"], "NAME"),
    ];
    for (args, flag) in cases {
        let args: Vec<&std::ffi::OsStr> = args
            .iter()
            .map(|arg| {
                if *arg == "LIB" {
                    library.as_os_str()
                } else {
                    std::ffi::OsStr::new(arg)
                }
            })
            .collect();
        let output = run(hhrf().args(&args));
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag),
            "{args:?} does not name {flag}: {stderr}"
        );
    }
    // A target that is not there is a failure, not a usage error.
    let output = run(hhrf()
        .args(["invoke", "missing@1", "--root"])
        .arg(dir.path()));
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no function missing@1"));
    // An existing folder is refused.
    let output = run(hhrf()
        .args(["new", "--lang", "c", "fx", "--dir"])
        .arg(dir.path()));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let output = run(hhrf()
        .args(["new", "--lang", "zig", "fx", "--dir"])
        .arg(dir.path()));
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("exists already"));
    // The server's parser keeps its errors; `serve` is a synonym.
    let output = run(hhrf().args(["serve", "--bogus"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("unknown argument \"--bogus\""));
}

#[test]
fn the_scaffolds_scripts_pass_shellcheck() {
    let work = tempfile::tempdir().unwrap();
    let mut scripts = Vec::new();
    for lang in ["rust", "c", "zig"] {
        let name = format!("lint-{lang}");
        run_ok(
            hhrf()
                .args(["new", "--lang", lang, &name, "--dir"])
                .arg(work.path()),
        );
        for entry in std::fs::read_dir(work.path().join(&name)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "sh") {
                scripts.push(path);
            }
        }
    }
    // deploy.sh and build.sh for each, test.sh for C and Zig.
    assert_eq!(scripts.len(), 8, "{scripts:?}");
    let output = run(Command::new("shellcheck")
        .args(["--shell=sh", "--severity=style"])
        .args(&scripts));
    assert!(
        output.status.success(),
        "shellcheck (installed by .ci/run) failed: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn the_rust_template_is_rustfmt_clean() {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/rust/lib.rs");
    run_ok(
        Command::new("rustfmt")
            .args(["--check", "--edition", "2021"])
            .arg(template),
    );
}

#[test]
fn serve_is_a_synonym_of_plain_hhrf() {
    let root = Root::new();
    root.add_fixture(5_000);
    let mut command = Command::new(env!("CARGO_BIN_EXE_hhrf"));
    command.arg("serve");
    let server = Hhrf::start_command(command, &root, &[]);
    server.assert_still_serving();
    assert_eq!(server.get("/_fezz/health").status, 200);
}

#[test]
fn help_lists_the_subcommands_and_each_has_its_own() {
    let output = run_ok(hhrf().arg("--help"));
    let usage = text(&output.stdout);
    for needle in [
        "hhrf new --lang rust|c|zig",
        "hhrf invoke",
        "serve",
        "exit codes",
    ] {
        assert!(usage.contains(needle), "{needle} missing in:\n{usage}");
    }
    assert_eq!(
        usage,
        text(&run_ok(hhrf().args(["serve", "--help"])).stdout)
    );
    let output = run_ok(hhrf().args(["invoke", "--help"]));
    let help = text(&output.stdout);
    for needle in ["--json", "--diag", "--data-file", "Exit codes: 0"] {
        assert!(help.contains(needle), "{needle} missing in:\n{help}");
    }
    let output = run_ok(hhrf().args(["new", "--help"]));
    assert!(text(&output.stdout).contains("--lang"));
}
