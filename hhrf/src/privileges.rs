//! The user runners run as (`spec/HTTP.md`, "Runner user"): when hhrf runs as root, each
//! runner switches to an unprivileged user and group (`--runner-user`, a dedicated
//! [`DEFAULT_RUNNER_USER`] by default) so a function cannot signal hhrf or other users'
//! processes and `RLIMIT_NPROC` holds. hhrf passes it as `FEZZ_RUN_UID` / `FEZZ_RUN_GID` and
//! the runner switches itself (a uid set on `Command` would make the standard library fork
//! instead of spawn, about five times slower).
//!
//! What lives here: parsing `UID[:GID]` ([`parse_user`]), the user in force for this process
//! ([`set_runner_user`], [`runner_user`]), its variables ([`env()`]), and handing the granted
//! write folders inside the root to that user ([`hand_over_grants`], [`hand_over`]).

use std::fs;
use std::io;
use std::path::Path;
use std::sync::OnceLock;

use fezz_abi::sandbox::{RUN_GID_VARIABLE, RUN_UID_VARIABLE};

use crate::registry::Function;
use crate::scratch::MAX_SCRATCH_ENTRIES;

/// The runner user and group when hhrf runs as root and `--runner-user` is not given: ids
/// no account uses by convention, so that runners share them with nothing else.
pub const DEFAULT_RUNNER_USER: (u32, u32) = (61792, 61792);

/// The `--runner-user` value that keeps runners as root.
pub const ROOT_USER: (u32, u32) = (0, 0);

/// Parses `UID[:GID]` (decimal ids below 4294967295; GID defaults to UID).
pub fn parse_user(text: &str) -> Result<(u32, u32), String> {
    let id = |part: &str| {
        part.parse::<u32>()
            .ok()
            .filter(|id| *id != u32::MAX && part.bytes().all(|byte| byte.is_ascii_digit()))
    };
    let parsed = match text.split_once(':') {
        Some((uid, gid)) => id(uid).zip(id(gid)),
        None => id(text).map(|uid| (uid, uid)),
    };
    parsed.ok_or_else(|| {
        "must be UID or UID:GID, decimal ids below 4294967295 (0:0 keeps runners as root)"
            .to_owned()
    })
}

/// The user runners switch to given the configured one: `None` when hhrf is not root (its
/// runners already are its own user) or when `configured` is [`ROOT_USER`].
pub fn effective(configured: (u32, u32)) -> Option<(u32, u32)> {
    (nix::unistd::geteuid().is_root() && configured != ROOT_USER).then_some(configured)
}

static RUNNER_USER: OnceLock<Option<(u32, u32)>> = OnceLock::new();

/// Sets the user of this process's runners, once, at startup (later calls are ignored).
pub fn set_runner_user(user: Option<(u32, u32)>) {
    let _ = RUNNER_USER.set(user);
}

/// The user this process's runners switch to; `None`: they stay hhrf's user.
pub fn runner_user() -> Option<(u32, u32)> {
    RUNNER_USER.get().copied().flatten()
}

/// `FEZZ_RUN_UID` and `FEZZ_RUN_GID` for `user`; nothing for `None`.
pub fn env(user: Option<(u32, u32)>) -> Vec<(&'static str, String)> {
    match user {
        Some((uid, gid)) => vec![
            (RUN_UID_VARIABLE, uid.to_string()),
            (RUN_GID_VARIABLE, gid.to_string()),
        ],
        None => Vec::new(),
    }
}

/// Makes `user` the owner of `folder` and everything beneath it (symbolic links themselves,
/// never their targets), visiting at most [`MAX_SCRATCH_ENTRIES`] entries: the write
/// folders a manifest grants, so a runner running as `user` can write there.
pub fn hand_over(folder: &Path, (uid, gid): (u32, u32)) -> io::Result<()> {
    let mut pending = vec![folder.to_owned()];
    let mut visited = 0usize;
    while let Some(path) = pending.pop() {
        visited += 1;
        if visited > MAX_SCRATCH_ENTRIES {
            return Err(io::Error::other(format!(
                "more than {MAX_SCRATCH_ENTRIES} entries; the rest keeps its owner"
            )));
        }
        std::os::unix::fs::lchown(&path, Some(uid), Some(gid))?;
        if fs::symlink_metadata(&path)?.is_dir() {
            for entry in fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        }
    }
    Ok(())
}

/// Hands the `sandbox.write` folders of `functions` that lie inside `root` (the hhrf root)
/// over to `user` ([`hand_over`]); folders outside it are left alone (they may be shared
/// with other software) and get a line saying so. Returns the log lines.
pub fn hand_over_grants(
    root: &Path,
    functions: &[&std::sync::Arc<Function>],
    user: (u32, u32),
) -> Vec<String> {
    let root = fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let mut lines = Vec::new();
    for function in functions {
        for folder in &function.sandbox.write {
            if !folder.starts_with(&root) {
                lines.push(format!(
                    "{}: the write folder {} is outside the root: not handed over to the runner user (uid {}); it must be writable for that user",
                    function.name(),
                    folder.display(),
                    user.0
                ));
                continue;
            }
            if let Err(error) = hand_over(folder, user) {
                lines.push(format!(
                    "{}: the write folder {} is not fully the runner user's: {error}",
                    function.name(),
                    folder.display()
                ));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse() {
        assert_eq!(parse_user("1000"), Ok((1000, 1000)));
        assert_eq!(parse_user("1000:100"), Ok((1000, 100)));
        assert_eq!(parse_user("0:0"), Ok(ROOT_USER));
        for bad in [
            "",
            ":",
            "a",
            "1:",
            ":1",
            "-1",
            "+1",
            "4294967295",
            "1:2:3",
            "1 ",
        ] {
            assert!(parse_user(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn env_names_both_ids() {
        assert_eq!(
            env(Some((5, 6))),
            [
                ("FEZZ_RUN_UID", "5".to_owned()),
                ("FEZZ_RUN_GID", "6".to_owned())
            ]
        );
        assert!(env(None).is_empty());
        assert_eq!(effective(ROOT_USER), None);
    }

    #[test]
    fn hand_over_changes_owners_beneath() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a/b")).unwrap();
        fs::write(dir.path().join("a/b/file"), b"").unwrap();
        let me = (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        );
        // To this very user: allowed for anyone, and it walks the whole tree.
        hand_over(dir.path(), me).unwrap();
        if nix::unistd::geteuid().is_root() {
            hand_over(dir.path(), (61792, 61792)).unwrap();
            use std::os::unix::fs::MetadataExt;
            let meta = fs::metadata(dir.path().join("a/b/file")).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (61792, 61792));
        }
    }
}
