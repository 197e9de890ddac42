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
//! **Spare folders.** Creating and removing a folder per call is costly on ext4 (its inode
//! allocator skips every recently freed inode, so at hundreds of calls a second one `mkdir`
//! cost hhrf ~0.2 ms of CPU: `hhrf/bench/README.md`). A call's folder that the function left
//! exactly as it was made (empty, no subfolder, the same mode, owner and inode flags, no
//! extended attributes) therefore gets fresh timestamps and is kept as a spare (at most
//! [`MAX_SPARE_FOLDERS`]); the next call gets a spare renamed to its own new `call-<n>` name
//! instead of a new folder. Anything else a function did to its folder makes it removed as
//! before, so a call never sees what an earlier call left.
//!
//! Removal never follows symbolic links, restores the permissions a function may have taken
//! away (a folder chmod-ed to 0), visits at most [`MAX_SCRATCH_ENTRIES`] entries, and reports
//! rather than panics: what it could not remove is logged.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Most entries one removal visits; past it, the rest is left and logged.
pub const MAX_SCRATCH_ENTRIES: usize = 100_000;

/// Most clean folders kept for reuse (module docs, "Spare folders").
pub const MAX_SPARE_FOLDERS: usize = 256;

/// The prefix of a base folder's name: `hhrf-<pid>`.
const BASE_PREFIX: &str = "hhrf-";

/// The folder that holds this process's scratch folders.
#[derive(Debug)]
pub struct ScratchBase {
    dir: PathBuf,
    next: AtomicU64,
    spares: Arc<Mutex<Vec<Spare>>>,
}

/// A call's folder as hhrf made it: what it must still be to be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Made {
    mode: u32,
    uid: u32,
    gid: u32,
    /// The inode flags (`FS_IOC_GETFLAGS`), when the file system has them.
    flags: Option<libc::c_long>,
}

/// A clean folder waiting for its next call.
#[derive(Debug)]
struct Spare {
    path: PathBuf,
    made: Made,
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
            spares: Arc::new(Mutex::new(Vec::new())),
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
    /// (`(uid, gid)`) when given, so that a runner running as that user can write in it: a
    /// clean spare renamed to that name when there is one of the same owner, else a new
    /// folder.
    pub fn call(&self, owner: Option<(u32, u32)>) -> io::Result<Scratch> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("call-{number}"));
        let spare = {
            let mut spares = self.spares.lock().unwrap_or_else(PoisonError::into_inner);
            let owned = |spare: &Spare| {
                owner.is_none_or(|(uid, gid)| (spare.made.uid, spare.made.gid) == (uid, gid))
            };
            spares
                .iter()
                .rposition(owned)
                .map(|index| spares.swap_remove(index))
        };
        if let Some(spare) = spare {
            if fs::rename(&spare.path, &path).is_ok() {
                return Ok(Scratch {
                    path,
                    made: Some(spare.made),
                    spares: Some(self.spares.clone()),
                });
            }
            // Renaming failed (someone removed it?): forget it and make a new one.
            let _ = remove_tree(&spare.path, MAX_SCRATCH_ENTRIES);
        }
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        let mut scratch = Scratch {
            path,
            made: None,
            spares: Some(self.spares.clone()),
        };
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&scratch.path, Some(uid), Some(gid))?;
        }
        scratch.made = made(&scratch.path);
        Ok(scratch)
    }

    /// How many clean folders wait for a call.
    pub fn spare_count(&self) -> usize {
        self.spares
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The mode, owner and inode flags of the folder at `path` as it is now.
fn made(path: &Path) -> Option<Made> {
    let folder = open_folder(path).ok()?;
    let meta = folder.metadata().ok()?;
    Some(Made {
        mode: meta.mode(),
        uid: meta.uid(),
        gid: meta.gid(),
        flags: inode_flags(&folder),
    })
}

/// Opens a folder itself (never through a symbolic link).
fn open_folder(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
}

/// The inode flags of an open file (`FS_IOC_GETFLAGS`), if its file system has them.
#[cfg(target_os = "linux")]
fn inode_flags(file: &fs::File) -> Option<libc::c_long> {
    use std::os::fd::AsRawFd;
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one integer into `flags`; the descriptor is open.
    let result = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    (result == 0).then_some(flags)
}

#[cfg(not(target_os = "linux"))]
fn inode_flags(_file: &fs::File) -> Option<libc::c_long> {
    None
}

/// Elsewhere than Linux folders are not reused (no inode flags and extended attributes to
/// compare here): every call's folder is made and removed.
#[cfg(not(target_os = "linux"))]
fn clean(_path: &Path, _made: Made) -> bool {
    false
}

/// Whether the folder at `path` is still exactly as `made`: a folder (not a link), empty,
/// without subfolders, with the same mode, owner and inode flags, and no extended
/// attributes. If so, gives it fresh timestamps (a function may have set them) and says yes.
#[cfg(target_os = "linux")]
fn clean(path: &Path, made: Made) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(folder) = open_folder(path) else {
        return false;
    };
    let Ok(meta) = folder.metadata() else {
        return false;
    };
    if !meta.is_dir()
        || meta.nlink() != 2
        || (meta.mode(), meta.uid(), meta.gid()) != (made.mode, made.uid, made.gid)
        || inode_flags(&folder) != made.flags
    {
        return false;
    }
    // SAFETY: flistxattr with a null buffer and size 0 only returns the list's length.
    let xattrs = unsafe { libc::flistxattr(folder.as_raw_fd(), std::ptr::null_mut(), 0) };
    if xattrs != 0 {
        return false;
    }
    let empty = fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none());
    if !empty {
        return false;
    }
    let now = libc::timespec {
        tv_sec: 0,
        tv_nsec: libc::UTIME_NOW,
    };
    // SAFETY: futimens reads two timespecs from the array; the descriptor is open.
    unsafe { libc::futimens(folder.as_raw_fd(), [now, now].as_ptr()) == 0 }
}

/// One call's scratch folder; removed (bounded, see [`remove_tree`]) when dropped, on a
/// blocking thread when a Tokio runtime is running.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
    /// What the folder was when the call got it; `None`: never reused.
    made: Option<Made>,
    /// Where it goes back when the call left it clean.
    spares: Option<Arc<Mutex<Vec<Spare>>>>,
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
        let (made, spares) = (self.made, self.spares.take());
        let remove = move || {
            if let (Some(made), Some(spares)) = (made, spares) {
                if clean(&path, made) {
                    let mut spares = spares.lock().unwrap_or_else(PoisonError::into_inner);
                    if spares.len() < MAX_SPARE_FOLDERS {
                        spares.push(Spare { path, made });
                        return;
                    }
                }
            }
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
    #[cfg(target_os = "linux")]
    fn a_clean_folder_is_reused_under_a_new_name_with_fresh_timestamps() {
        let parent = tempfile::tempdir().unwrap();
        let base = ScratchBase::create(parent.path()).unwrap();
        let first = base.call(None).unwrap();
        let first_path = first.path().to_owned();
        let old = libc::timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        let c_path = std::ffi::CString::new(first_path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path and two timespecs.
        let result =
            unsafe { libc::utimensat(libc::AT_FDCWD, c_path.as_ptr(), [old, old].as_ptr(), 0) };
        assert_eq!(result, 0);
        drop(first);
        assert_eq!(base.spare_count(), 1);
        let second = base.call(None).unwrap();
        assert_ne!(second.path(), first_path, "each call has a name of its own");
        assert!(!first_path.exists());
        assert_eq!(base.spare_count(), 0);
        let meta = fs::metadata(second.path()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        assert!(
            meta.mtime() > 1 && meta.atime() > 1,
            "timestamps were not reset"
        );
        assert_eq!(fs::read_dir(second.path()).unwrap().count(), 0);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_folder_the_function_changed_is_removed_not_reused() {
        let parent = tempfile::tempdir().unwrap();
        let base = ScratchBase::create(parent.path()).unwrap();
        type Change = (&'static str, fn(&Path));
        let changes: [Change; 4] = [
            ("a file", |path| fs::write(path.join("left"), b"x").unwrap()),
            ("a subfolder", |path| {
                fs::create_dir(path.join("sub")).unwrap()
            }),
            ("the mode", |path| {
                fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap()
            }),
            ("an extended attribute", |path| {
                let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
                // SAFETY: NUL-terminated name and path, a 1-byte value.
                let result = unsafe {
                    libc::setxattr(
                        c_path.as_ptr(),
                        c"user.fezz".as_ptr(),
                        b"1".as_ptr().cast(),
                        1,
                        0,
                    )
                };
                assert_eq!(result, 0, "{}", io::Error::last_os_error());
            }),
        ];
        for (what, change) in changes {
            let scratch = base.call(None).unwrap();
            let path = scratch.path().to_owned();
            change(&path);
            drop(scratch);
            assert_eq!(base.spare_count(), 0, "reused after {what}");
            assert!(!path.exists(), "not removed after {what}");
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn spares_are_bounded() {
        let parent = tempfile::tempdir().unwrap();
        let base = ScratchBase::create(parent.path()).unwrap();
        let calls: Vec<Scratch> = (0..MAX_SPARE_FOLDERS + 3)
            .map(|_| base.call(None).unwrap())
            .collect();
        let paths: Vec<PathBuf> = calls.iter().map(|call| call.path().to_owned()).collect();
        drop(calls);
        assert_eq!(base.spare_count(), MAX_SPARE_FOLDERS);
        assert_eq!(
            paths.iter().filter(|path| path.exists()).count(),
            MAX_SPARE_FOLDERS
        );
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
