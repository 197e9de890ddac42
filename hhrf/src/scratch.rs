//! Per-call scratch folders (`spec/HTTP.md`, "Sandbox", "Scratch folders"): hhrf creates one writable
//! folder for each call, names it in the runner's `TMPDIR` (and grants it in the sandbox),
//! and removes it when the call ends. hhrf does it, not the runner, because a runner killed
//! at its deadline cannot clean up after itself.
//!
//! What lives here: [`ScratchBase`], the folder of this hhrf process
//! (`<temp dir>/hhrf-<pid>`, mode 0711) that holds the calls' folders, created at startup
//! after removing the bases of hhrf processes that are gone; [`Scratch`], one call's folder,
//! removed on drop; [`remove_tree`], the bounded removal both use.
//!
//! Removal never follows symbolic links, restores the permissions a function may have taken
//! away (a folder chmod-ed to 0), visits at most [`MAX_SCRATCH_ENTRIES`] entries, and reports
//! rather than panics: what it could not remove is logged.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Most entries one removal visits; past it, the rest is left and logged.
pub const MAX_SCRATCH_ENTRIES: usize = 100_000;

/// The prefix of a base folder's name: `hhrf-<pid>`.
const BASE_PREFIX: &str = "hhrf-";

/// The folder that holds this process's scratch folders.
#[derive(Debug)]
pub struct ScratchBase {
    dir: PathBuf,
    next: AtomicU64,
}

impl ScratchBase {
    /// Creates `<parent>/hhrf-<pid>` (mode 0711: the runner user may pass through, not
    /// list), after removing, in `parent`, the `hhrf-<pid>` folders of processes that no
    /// longer exist and that belong to this user. A leftover folder of this very pid (a
    /// previous process that had it) is removed first too.
    pub fn create(parent: &Path) -> io::Result<ScratchBase> {
        remove_dead_bases(parent);
        let dir = parent.join(format!("{BASE_PREFIX}{}", std::process::id()));
        if fs::symlink_metadata(&dir).is_ok() {
            remove_tree(&dir, MAX_SCRATCH_ENTRIES)?;
        }
        fs::DirBuilder::new().mode(0o711).create(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o711))?;
        Ok(ScratchBase {
            dir,
            next: AtomicU64::new(1),
        })
    }

    /// The base of this process under [`std::env::temp_dir`], created on first use.
    pub fn global() -> io::Result<&'static ScratchBase> {
        static BASE: OnceLock<Result<ScratchBase, String>> = OnceLock::new();
        BASE.get_or_init(|| ScratchBase::create(&std::env::temp_dir()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|error| {
                io::Error::other(format!(
                    "the scratch base folder cannot be created: {error}"
                ))
            })
    }

    /// The base folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Creates the next call's folder, `<base>/call-<n>`, mode 0700, owned by `owner`
    /// (`(uid, gid)`) when given, so that a runner running as that user can write in it.
    pub fn call(&self, owner: Option<(u32, u32)>) -> io::Result<Scratch> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("call-{number}"));
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        let scratch = Scratch { path };
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&scratch.path, Some(uid), Some(gid))?;
        }
        Ok(scratch)
    }
}

/// One call's scratch folder; removed (bounded, see [`remove_tree`]) when dropped, on a
/// blocking thread when a Tokio runtime is running.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new folder for one call in this process's [`ScratchBase::global`].
    pub fn for_call(owner: Option<(u32, u32)>) -> io::Result<Scratch> {
        ScratchBase::global()?.call(owner)
    }

    /// The folder's absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        let remove = move || {
            if let Err(error) = remove_tree(&path, MAX_SCRATCH_ENTRIES) {
                crate::log::line(format_args!(
                    "scratch folder {} not fully removed: {error}",
                    path.display()
                ));
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(remove);
            }
            Err(_) => remove(),
        }
    }
}

/// Removes `root` and everything beneath it, without following symbolic links, making each
/// folder searchable and writable by its owner first (a function may have chmod-ed it), and
/// visiting at most `budget` entries. Goes on past an entry it cannot remove and returns
/// the first error; a missing `root` is not an error.
pub fn remove_tree(root: &Path, budget: usize) -> io::Result<()> {
    match fs::symlink_metadata(root) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
        Ok(meta) if !meta.is_dir() => return fs::remove_file(root),
        Ok(_) => {}
    }
    let mut first_error: Option<io::Error> = None;
    let mut keep = |error: io::Error| {
        if first_error.is_none() {
            first_error = Some(error);
        }
    };
    let mut pending = vec![root.to_owned()];
    let mut folders = Vec::new();
    let mut visited = 0usize;
    'walk: while let Some(dir) = pending.pop() {
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) => {
                keep(error);
                folders.push(dir);
                continue;
            }
        };
        for entry in entries {
            visited += 1;
            if visited > budget {
                keep(io::Error::other(format!(
                    "more than {budget} entries; the rest is left in place"
                )));
                break 'walk;
            }
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    keep(error);
                    continue;
                }
            };
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(entry.path()),
                Ok(_) => {
                    if let Err(error) = fs::remove_file(entry.path()) {
                        keep(error);
                    }
                }
                Err(error) => keep(error),
            }
        }
        folders.push(dir);
    }
    // Children were pushed after their parents: remove in reverse.
    for dir in folders.iter().rev() {
        if let Err(error) = fs::remove_dir(dir) {
            keep(error);
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Removes the `hhrf-<pid>` folders in `parent` whose process is gone and that this user
/// owns; errors are logged, never fatal.
fn remove_dead_bases(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let me = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(BASE_PREFIX))
            .and_then(|pid| pid.parse::<i32>().ok())
            .filter(|pid| *pid > 0)
        else {
            continue;
        };
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != me || process_exists(pid) {
            continue;
        }
        if let Err(error) = remove_tree(&entry.path(), MAX_SCRATCH_ENTRIES) {
            crate::log::line(format_args!(
                "leftover scratch folder {} not fully removed: {error}",
                entry.path().display()
            ));
        }
    }
}

/// Whether a process with this pid exists (`kill(pid, 0)` does not fail with `ESRCH`).
fn process_exists(pid: i32) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_folder_is_created_and_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let base = ScratchBase::create(parent.path()).unwrap();
        let mode = fs::metadata(base.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o711);
        let scratch = base.call(None).unwrap();
        let path = scratch.path().to_owned();
        assert!(path.starts_with(base.path()));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o700
        );
        fs::write(path.join("file"), b"x").unwrap();
        drop(scratch);
        assert!(!path.exists());
        let second = base.call(None).unwrap();
        assert_ne!(second.path(), path);
    }

    #[test]
    fn removal_survives_chmod_symlinks_and_many_files() {
        let parent = tempfile::tempdir().unwrap();
        let outside = parent.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("keep"), b"keep").unwrap();
        let root = parent.path().join("scratch");
        let deep = root.join("a/b/c");
        fs::create_dir_all(&deep).unwrap();
        for index in 0..2000 {
            fs::write(deep.join(format!("f{index}")), b"").unwrap();
        }
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        fs::set_permissions(root.join("a/b"), fs::Permissions::from_mode(0o000)).unwrap();
        fs::set_permissions(&deep, fs::Permissions::from_mode(0o000)).unwrap();
        remove_tree(&root, MAX_SCRATCH_ENTRIES).unwrap();
        assert!(!root.exists());
        assert!(outside.join("keep").exists(), "a symlink was followed");
    }

    #[test]
    fn removal_is_bounded() {
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("scratch");
        fs::create_dir(&root).unwrap();
        for index in 0..50 {
            fs::write(root.join(format!("f{index}")), b"").unwrap();
        }
        let error = remove_tree(&root, 10).unwrap_err();
        assert!(
            error.to_string().contains("more than 10 entries"),
            "{error}"
        );
        remove_tree(&root, 100).unwrap();
        assert!(!root.exists());
        remove_tree(&root, 100).unwrap();
    }

    #[test]
    fn bases_of_dead_processes_are_removed_at_start() {
        let parent = tempfile::tempdir().unwrap();
        // Pid numbers above the kernel's maximum (4194304) are never in use.
        let dead = parent.path().join("hhrf-999999999");
        fs::create_dir_all(dead.join("call-1")).unwrap();
        let alive = parent.path().join(format!("hhrf-{}", std::process::id()));
        let other = parent.path().join("hhrf-notapid");
        fs::create_dir(&other).unwrap();
        let base = ScratchBase::create(parent.path()).unwrap();
        assert!(!dead.exists());
        assert!(other.exists());
        assert_eq!(base.path(), alive);
    }
}
