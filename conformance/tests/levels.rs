//! Every level of `fezz-conformance` passes against the reference implementations: the codec
//! level, the runner level with the Rust, C and Zig fixtures (and the C fixture under
//! AddressSanitizer, and behind a do-nothing wrapper), and the function level.

mod support;

use support::{
    assert_passed, c_fixture, c_fixture_asan, reference_runner, repo_root, rust_fixture, scratch,
    suite, text, zig_fixture,
};

/// Contract vectors (spec/vectors/runner) plus at least this many request vectors.
const MIN_RUNNER_CASES: usize = 60;

fn runner_level(fixture: &std::path::Path) -> std::process::Output {
    let runner = reference_runner();
    suite(
        &[
            "runner",
            "--runner",
            runner.to_str().unwrap(),
            "--fixture",
            fixture.to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn codec_level_passes() {
    assert_passed(&suite(&["codec"], &[]), 100);
}

#[test]
fn runner_level_passes_with_the_rust_fixture() {
    // The default runner and fixture: the ones next to the suite binary.
    assert_passed(&suite(&["runner"], &[]), MIN_RUNNER_CASES);
    let _ = rust_fixture();
}

#[test]
fn runner_level_passes_with_the_c_fixture() {
    assert_passed(&runner_level(&c_fixture()), MIN_RUNNER_CASES);
}

#[test]
fn runner_level_passes_with_the_zig_fixture() {
    assert_passed(&runner_level(&zig_fixture()), MIN_RUNNER_CASES);
}

#[test]
fn runner_level_passes_with_the_c_fixture_under_address_sanitizer() {
    let fixture = c_fixture_asan();
    let asan = std::process::Command::new("gcc")
        .arg("-print-file-name=libasan.so")
        .output()
        .expect("gcc");
    let asan = String::from_utf8(asan.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert!(
        std::path::Path::new(&asan).is_file(),
        "libasan.so not found ({asan:?})"
    );
    // `env` sets the sanitizer up for the runner only; it execs the runner, so the process
    // group is unchanged. handle_segv=0 lets /segfault die by SIGSEGV as the contract says.
    let runner = format!(
        "env LD_PRELOAD={asan} ASAN_OPTIONS=detect_leaks=0:handle_segv=0:handle_abort=0:abort_on_error=1 {}",
        reference_runner().display()
    );
    let output = suite(
        &[
            "runner",
            "--runner",
            &runner,
            "--fixture",
            fixture.to_str().unwrap(),
        ],
        &[],
    );
    assert_passed(&output, MIN_RUNNER_CASES);
}

#[test]
fn a_wrapper_runner_passes_unmodified() {
    let log = scratch("wrap").join("wrap.log");
    let wrapper = repo_root().join("conformance/fixtures/broken/runners/wrap.sh");
    let output = suite(
        &["runner", "--runner", wrapper.to_str().unwrap(), "] runner/"],
        &[("FEZZ_WRAP_LOG", log.to_str().unwrap())],
    );
    assert_passed(&output, 20);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.lines().count() >= 20,
        "the wrapper was not used:\n{logged}\n{}",
        text(&output)
    );
}

#[test]
fn function_level_passes_with_the_fixtures() {
    for fixture in [rust_fixture(), c_fixture()] {
        let output = suite(&["function", "--function", fixture.to_str().unwrap()], &[]);
        assert_passed(&output, 70);
    }
}
