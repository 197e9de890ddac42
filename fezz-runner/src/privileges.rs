//! Dropping root (`spec/RUNNER.md`, "Runner user"): a host running as root passes the user
//! the function runs as in `FEZZ_RUN_UID` and `FEZZ_RUN_GID`, and the runner switches to it
//! itself (setting a uid on the host's `Command` would make it fork instead of spawn), before
//! the limits (so `RLIMIT_NPROC` counts that user) and before it loads the library.
//!
//! The library is opened while the runner is still root and loaded after the switch through
//! `/proc/self/fd/N` ([`Library`]), so a folder on its path that only root may enter (a
//! temporary root of mode 0700) does not matter.
//!
//! [`requested_user`] reads and checks the variables (pure, testable); [`drop_from_env`]
//! changes the process (only the `fezz-runner` binary calls it).

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use fezz_abi::runner_protocol::RunnerExit;
use fezz_abi::sandbox::{RUN_GID_VARIABLE, RUN_UID_VARIABLE};

use crate::{Failure, Function};

/// The user and group the function runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// The user id (real, effective and saved).
    pub uid: u32,
    /// The group id (real, effective and saved); supplementary groups are dropped.
    pub gid: u32,
}

/// The user the environment asks for, read through `get`. `None` when neither variable is
/// set. Only one of them, or a value that is not a decimal id below 4294967295, is a `usage`
/// failure naming the variable.
pub fn requested_user(get: impl Fn(&str) -> Option<OsString>) -> Result<Option<RunAs>, Failure> {
    let read = |name: &str| -> Result<Option<u32>, Failure> {
        let Some(raw) = get(name) else {
            return Ok(None);
        };
        raw.to_str()
            .filter(|text| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()))
            .and_then(|text| text.parse::<u32>().ok())
            .filter(|id| *id != u32::MAX)
            .map(Some)
            .ok_or_else(|| {
                Failure::new(
                    RunnerExit::Usage,
                    format!(
                        "{name}={:?} is not a decimal id below 4294967295",
                        raw.to_string_lossy()
                    ),
                )
            })
    };
    match (read(RUN_UID_VARIABLE)?, read(RUN_GID_VARIABLE)?) {
        (None, None) => Ok(None),
        (Some(uid), Some(gid)) => Ok(Some(RunAs { uid, gid })),
        (Some(_), None) | (None, Some(_)) => Err(Failure::new(
            RunnerExit::Usage,
            format!("{RUN_UID_VARIABLE} and {RUN_GID_VARIABLE} must be set together"),
        )),
    }
}

/// The library to load: its path as given, or, after a switch of user, the descriptor the
/// runner opened while it was root.
pub struct Library {
    given: PathBuf,
    opened: Option<File>,
}

impl Library {
    /// Loads it ([`Function::load`]), through `/proc/self/fd/N` when the runner opened it
    /// before switching user; the loader's messages name the path as given.
    pub fn load(&self) -> Result<Function, Failure> {
        let Some(file) = &self.opened else {
            return Ok(Function::load(&self.given)?);
        };
        let through = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        Function::load(&through).map_err(|error| {
            let mut failure = Failure::from(error);
            failure.message = failure.message.replace(
                &through.display().to_string(),
                &self.given.display().to_string(),
            );
            failure
        })
    }
}

/// Reads `FEZZ_RUN_UID` and `FEZZ_RUN_GID`; when set, opens `library` and switches to that
/// user ([`drop_to`]). A failed switch is `runner-internal`.
pub fn drop_from_env(library: &Path) -> Result<Library, Failure> {
    let given = library.to_owned();
    let Some(run_as) = requested_user(|name| std::env::var_os(name))? else {
        return Ok(Library {
            given,
            opened: None,
        });
    };
    // A library that cannot be opened is reported by the loader, with its own words.
    let opened = File::open(library).ok();
    drop_to(run_as).map_err(|error| {
        Failure::new(
            RunnerExit::Internal,
            format!(
                "switching to {RUN_UID_VARIABLE}={} {RUN_GID_VARIABLE}={} failed: {error}",
                run_as.uid, run_as.gid
            ),
        )
    })?;
    Ok(Library { given, opened })
}

/// Switches this (single-threaded) process to `run_as`: supplementary groups dropped, then
/// real, effective and saved group and user ids set; then checks that root cannot be regained.
/// Already running as exactly that user and group: nothing to do. Keeps the process
/// dumpable, so it can still open its own `/proc/self/fd` entries (core dumps are the
/// sandbox's business: `RLIMIT_CORE`).
pub fn drop_to(run_as: RunAs) -> io::Result<()> {
    let check = |result: libc::c_int| {
        if result == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: the get*id calls have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == run_as.uid && gid == run_as.gid {
        return Ok(());
    }
    // SAFETY: setgroups with a count of 0 reads no memory.
    check(unsafe { libc::setgroups(0, std::ptr::null()) })?;
    // SAFETY: plain system calls with integer arguments.
    check(unsafe { libc::setresgid(run_as.gid, run_as.gid, run_as.gid) })?;
    // SAFETY: as above.
    check(unsafe { libc::setresuid(run_as.uid, run_as.uid, run_as.uid) })?;
    // SAFETY: as above; PR_SET_DUMPABLE takes an integer.
    check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) })?;
    if run_as.uid != 0 {
        // SAFETY: plain system calls; success here would be the failure.
        let regained = unsafe { libc::setuid(0) } == 0 || unsafe { libc::seteuid(0) } == 0;
        // SAFETY: as above.
        let real = unsafe {
            (
                libc::getuid(),
                libc::geteuid(),
                libc::getgid(),
                libc::getegid(),
            )
        };
        if regained || real != (run_as.uid, run_as.uid, run_as.gid, run_as.gid) {
            return Err(io::Error::other("root could be regained after the switch"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(own, _)| *own == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn both_or_neither() {
        assert_eq!(requested_user(env(&[])).unwrap(), None);
        assert_eq!(
            requested_user(env(&[("FEZZ_RUN_UID", "1000"), ("FEZZ_RUN_GID", "100")])).unwrap(),
            Some(RunAs {
                uid: 1000,
                gid: 100
            })
        );
        let one = requested_user(env(&[("FEZZ_RUN_UID", "1000")])).unwrap_err();
        assert_eq!(one.exit, RunnerExit::Usage);
        assert!(one.message.contains("set together"), "{one}");
    }

    #[test]
    fn bad_ids_are_usage_failures_naming_the_variable() {
        for bad in ["", "-1", "x", "4294967295", "4294967296", " 1"] {
            let failure =
                requested_user(env(&[("FEZZ_RUN_UID", "1"), ("FEZZ_RUN_GID", bad)])).unwrap_err();
            assert_eq!(failure.exit, RunnerExit::Usage, "{bad:?}");
            assert!(failure.message.starts_with("FEZZ_RUN_GID="), "{failure}");
        }
    }
}
