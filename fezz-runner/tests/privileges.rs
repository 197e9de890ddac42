//! The runner user (`spec/RUNNER.md`, "Runner user"): with `FEZZ_RUN_UID` and `FEZZ_RUN_GID`
//! the `fezz-runner` binary, started as root, switches to that user before it loads the
//! library, and still loads a library in a folder only root may enter (it opens it first);
//! bad values are `usage` naming the variable. (As root, as CI runs.)

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{fixture, request, request_frame, run_with_env};

#[test]
fn a_library_behind_a_root_only_folder_loads_after_the_switch() {
    assert!(
        is_root(),
        "the runner-user tests need root, as CI runs them"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let library = dir.path().join("libfixture.so");
    std::fs::copy(fixture(), &library).unwrap();
    let frame = request_frame(&request("/hello"));
    for sandbox in [&[][..], &[("FEZZ_SANDBOX", "1")][..]] {
        let mut env = vec![("FEZZ_RUN_UID", "61797"), ("FEZZ_RUN_GID", "61798")];
        env.extend_from_slice(sandbox);
        let outcome = run_with_env(&[library.as_os_str()], &frame, None, &env);
        assert_eq!(outcome.code(), Some(0), "{sandbox:?}: {outcome:?}");
        assert_eq!(outcome.frames().len(), 1, "{outcome:?}");
    }
    // A library that is not there is still reported with its own path.
    let missing = dir.path().join("libmissing.so");
    let outcome = run_with_env(
        &[missing.as_os_str()],
        &frame,
        None,
        &[("FEZZ_RUN_UID", "61797"), ("FEZZ_RUN_GID", "61798")],
    );
    let message = outcome.expect_failure(11, "library-load-failed");
    assert!(message.contains("libmissing.so"), "{message}");
}

#[test]
fn bad_ids_are_usage_exits_naming_the_variable() {
    for env in [
        vec![("FEZZ_RUN_UID", "nobody"), ("FEZZ_RUN_GID", "1")],
        vec![("FEZZ_RUN_GID", "1"), ("FEZZ_RUN_UID", "-1")],
    ] {
        let outcome = run_with_env(
            &[fixture().as_os_str()],
            &request_frame(&request("/")),
            None,
            &env,
        );
        let message = outcome.expect_failure(2, "usage");
        assert!(message.starts_with("FEZZ_RUN_UID="), "{env:?}: {message}");
    }
    let outcome = run_with_env(
        &[fixture().as_os_str()],
        &request_frame(&request("/")),
        None,
        &[("FEZZ_RUN_UID", "5")],
    );
    let message = outcome.expect_failure(2, "usage");
    assert!(message.contains("must be set together"), "{message}");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
