//! `hhrf check`, black box (`spec/HTTP.md`, "Subcommands"): every manifest validated and
//! every library loaded in the runner, without serving; a line per problem and exit 1 when
//! there is one; the kernel's capabilities reported, as warnings only.

mod support;

use std::process::{Command, Output};

use support::Root;

fn check(root: &Root) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hhrf"))
        .args(["check", "--root"])
        .arg(root.path())
        .env("FEZZ_RUNNER", support::runner())
        .output()
        .expect("hhrf runs")
}

#[test]
fn a_sound_root_passes_and_the_kernel_is_reported() {
    let root = Root::new();
    root.add_fixture(5_000);
    let output = check(&root);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok: fx@1: the library loads"), "{stdout}");
    assert!(stdout.contains("kernel: pid-namespaces="), "{stdout}");
    assert!(
        stdout.contains("1 function(s) ready, 0 problem(s)"),
        "{stdout}"
    );
}

#[test]
fn every_problem_gets_a_line_and_exit_1() {
    let root = Root::new();
    root.add_fixture(5_000);
    // A manifest that breaks a rule.
    let bad = root.folder("bad@1");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("fezz.json"),
        r#"{"id":"bad","version":"1","entry":"libx.so","routes":[],"timeout_ms":0}"#,
    )
    .unwrap();
    // A library file that is not a library: it does not load in the runner.
    let broken = root.folder("broken@1");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("fezz.json"),
        r#"{"id":"broken","version":"1","entry":"libbroken.so","routes":[]}"#,
    )
    .unwrap();
    std::fs::write(broken.join("libbroken.so"), "not an ELF file").unwrap();
    let output = check(&root);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ok: fx@1"), "{stdout}");
    let problems: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("problem: "))
        .collect();
    assert_eq!(problems.len(), 2, "{stdout}");
    assert!(
        problems
            .iter()
            .any(|line| line.contains("bad@1") && line.contains("timeout_ms")),
        "{stdout}"
    );
    assert!(
        problems
            .iter()
            .any(|line| line.contains("broken@1")
                && line.contains("exited 11 (library-load-failed)")),
        "{stdout}"
    );
}

#[test]
fn a_missing_root_is_exit_1_and_a_bad_flag_exit_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_hhrf"))
        .args(["check", "--root", "/nonexistent/fezz-root"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let output = Command::new(env!("CARGO_BIN_EXE_hhrf"))
        .args(["check", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--bogus"));
}
