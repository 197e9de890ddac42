//! The manifest's `sandbox` section (`spec/HTTP.md`, "Sandbox"): whether the runner confines
//! the function (on by default) and what it grants beyond the function's folder: paths to
//! read, paths to write, the network. [`Sandbox`] is the validated section;
//! [`Sandbox::resolve`] turns its paths into absolute ones against the function folder (at
//! load, creating missing write folders), and [`ResolvedSandbox::env`] yields the
//! `FEZZ_SANDBOX…` variables of one call (`spec/RUNNER.md`, "Sandbox").

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use fezz_abi::sandbox::{network_value, SandboxVariable, ENABLED_VALUE, PATH_LIST_SEPARATOR};

use super::ManifestError;

/// Most paths in `sandbox.read`, and in `sandbox.write`.
pub const MAX_SANDBOX_PATHS: usize = 32;

/// Longest path in `sandbox.read` or `sandbox.write`, in bytes.
pub const MAX_SANDBOX_PATH_BYTES: usize = 1024;

/// Smallest `sandbox.file_bytes`: 64 KiB.
pub const MIN_SANDBOX_FILE_BYTES: u64 = 64 * 1024;

/// Largest `sandbox.file_bytes`: 1 TiB.
pub const MAX_SANDBOX_FILE_BYTES: u64 = 1024 * 1024 * 1024 * 1024;

/// `sandbox.file_bytes` when the manifest sets none: 1 GiB.
pub const DEFAULT_SANDBOX_FILE_BYTES: u64 = 1024 * 1024 * 1024;

/// The manifest's `sandbox`, validated. [`Default`] is the section left out: on, nothing
/// granted beyond the function folder, files of at most [`DEFAULT_SANDBOX_FILE_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sandbox {
    /// `enabled`: whether the runner confines the function.
    pub enabled: bool,
    /// `read`: paths the function may read, as written (relative to the function folder, or
    /// absolute).
    pub read: Vec<String>,
    /// `write`: paths the function may read and write, as written.
    pub write: Vec<String>,
    /// `network.connect`: outgoing TCP connections.
    pub connect: bool,
    /// `network.bind`: binding TCP ports.
    pub bind: bool,
    /// `file_bytes`: the largest file the function may write.
    pub file_bytes: u64,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox {
            enabled: true,
            read: Vec::new(),
            write: Vec::new(),
            connect: false,
            bind: false,
            file_bytes: DEFAULT_SANDBOX_FILE_BYTES,
        }
    }
}

/// Checks one `sandbox.read` or `sandbox.write` path as written.
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.len() > MAX_SANDBOX_PATH_BYTES {
        return Err(format!(
            "a sandbox path must have 1 to {MAX_SANDBOX_PATH_BYTES} bytes, this one has {}",
            path.len()
        ));
    }
    if path.contains(['\0', PATH_LIST_SEPARATOR]) {
        return Err(format!(
            "the sandbox path {path:?} contains NUL or {PATH_LIST_SEPARATOR:?}, which the runner's path lists cannot carry"
        ));
    }
    Ok(())
}

/// Checks `sandbox.file_bytes`.
pub(crate) fn check_file_bytes(value: u64) -> Result<(), String> {
    if !(MIN_SANDBOX_FILE_BYTES..=MAX_SANDBOX_FILE_BYTES).contains(&value) {
        return Err(format!(
            "file_bytes {value} is outside {MIN_SANDBOX_FILE_BYTES}..={MAX_SANDBOX_FILE_BYTES}"
        ));
    }
    Ok(())
}

impl Sandbox {
    /// Resolves the paths against `folder` (the function folder, absolute): each `read` path
    /// must exist; each `write` path that does not exist is created as a folder (with its
    /// parents). Symbolic links are resolved, so the runner is granted what the function
    /// will really reach. The function folder itself is always readable. An error names the
    /// field (`sandbox.read[0]`, …).
    pub fn resolve(&self, folder: &Path) -> Result<ResolvedSandbox, ManifestError> {
        let real = |field: String, path: &Path| -> Result<PathBuf, ManifestError> {
            let real = fs::canonicalize(path).map_err(|error| {
                ManifestError::field(
                    &field,
                    format!("{} cannot be used: {error}", path.display()),
                )
            })?;
            if real
                .as_os_str()
                .as_encoded_bytes()
                .contains(&(PATH_LIST_SEPARATOR as u8))
            {
                return Err(ManifestError::field(
                    field,
                    format!(
                        "{} contains {PATH_LIST_SEPARATOR:?}, which the runner's path lists cannot carry",
                        real.display()
                    ),
                ));
            }
            Ok(real)
        };
        let mut resolved = ResolvedSandbox {
            enabled: self.enabled,
            read: Vec::new(),
            write: Vec::new(),
            connect: self.connect,
            bind: self.bind,
            file_bytes: self.file_bytes,
        };
        if !self.enabled {
            return Ok(resolved);
        }
        resolved.read.push(real("sandbox".to_owned(), folder)?);
        for (index, path) in self.read.iter().enumerate() {
            resolved
                .read
                .push(real(format!("sandbox.read[{index}]"), &folder.join(path))?);
        }
        for (index, path) in self.write.iter().enumerate() {
            let field = format!("sandbox.write[{index}]");
            let joined = folder.join(path);
            if let Err(error) = create_missing_folder(&joined) {
                return Err(ManifestError::field(
                    field,
                    format!("{} cannot be created: {error}", joined.display()),
                ));
            }
            resolved.write.push(real(field, &joined)?);
        }
        Ok(resolved)
    }
}

/// Creates `path` as a folder (and its parents) unless something is already there.
fn create_missing_folder(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => fs::create_dir_all(path),
        Err(error) => Err(error),
    }
}

/// A function's sandbox with absolute paths (from [`Sandbox::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolvedSandbox {
    /// Whether the runner confines the function.
    pub enabled: bool,
    /// Readable paths: the function folder first, then `sandbox.read`.
    pub read: Vec<PathBuf>,
    /// Readable and writable paths (`sandbox.write`).
    pub write: Vec<PathBuf>,
    /// Outgoing TCP connections granted.
    pub connect: bool,
    /// Binding TCP ports granted.
    pub bind: bool,
    /// The largest file the function may write, in bytes.
    pub file_bytes: u64,
}

impl ResolvedSandbox {
    /// The environment of one call whose scratch folder is `scratch`: `TMPDIR` (always), and,
    /// when the sandbox is on, `FEZZ_SANDBOX=1` and the other `FEZZ_SANDBOX_…` variables.
    pub fn env(&self, scratch: &Path) -> Vec<(&'static str, OsString)> {
        let mut env = vec![("TMPDIR", scratch.as_os_str().to_owned())];
        if !self.enabled {
            return env;
        }
        let list = |paths: &[PathBuf]| {
            let mut value = OsString::new();
            for (index, path) in paths.iter().enumerate() {
                if index > 0 {
                    value.push(PATH_LIST_SEPARATOR.to_string());
                }
                value.push(path);
            }
            value
        };
        env.extend([
            (SandboxVariable::Enabled.env_name(), ENABLED_VALUE.into()),
            (SandboxVariable::Read.env_name(), list(&self.read)),
            (SandboxVariable::Write.env_name(), list(&self.write)),
            (
                SandboxVariable::Scratch.env_name(),
                scratch.as_os_str().to_owned(),
            ),
            (
                SandboxVariable::Network.env_name(),
                network_value(self.connect, self.bind).into(),
            ),
            (
                SandboxVariable::FileBytes.env_name(),
                self.file_bytes.to_string().into(),
            ),
        ]);
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_makes_paths_absolute_and_creates_write_folders() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("functions/f@1");
        fs::create_dir_all(&folder).unwrap();
        fs::create_dir_all(root.path().join("shared")).unwrap();
        let sandbox = Sandbox {
            read: vec!["../../shared".to_owned()],
            write: vec!["../../data/db".to_owned()],
            connect: true,
            ..Sandbox::default()
        };
        let resolved = sandbox.resolve(&folder).unwrap();
        let real_root = fs::canonicalize(root.path()).unwrap();
        assert_eq!(
            resolved.read,
            [real_root.join("functions/f@1"), real_root.join("shared")]
        );
        assert_eq!(resolved.write, [real_root.join("data/db")]);
        assert!(root.path().join("data/db").is_dir());
        let env = resolved.env(Path::new("/tmp/s"));
        let get = |name: &str| {
            env.iter()
                .find(|(own, _)| *own == name)
                .map(|(_, value)| value.to_string_lossy().into_owned())
        };
        assert_eq!(get("TMPDIR").as_deref(), Some("/tmp/s"));
        assert_eq!(get("FEZZ_SANDBOX").as_deref(), Some("1"));
        assert_eq!(
            get("FEZZ_SANDBOX_READ"),
            Some(format!(
                "{}:{}",
                real_root.join("functions/f@1").display(),
                real_root.join("shared").display()
            ))
        );
        assert_eq!(get("FEZZ_SANDBOX_NETWORK").as_deref(), Some("connect"));
        assert_eq!(
            get("FEZZ_SANDBOX_FILE_BYTES").as_deref(),
            Some("1073741824")
        );
        assert_eq!(get("FEZZ_SANDBOX_SCRATCH").as_deref(), Some("/tmp/s"));
    }

    #[test]
    fn a_missing_read_path_names_its_field() {
        let folder = tempfile::tempdir().unwrap();
        let sandbox = Sandbox {
            read: vec!["here".to_owned(), "missing".to_owned()],
            ..Sandbox::default()
        };
        fs::create_dir(folder.path().join("here")).unwrap();
        let error = sandbox.resolve(folder.path()).unwrap_err();
        assert_eq!(error.field, "sandbox.read[1]", "{error}");
    }

    #[test]
    fn off_means_only_tmpdir() {
        let sandbox = Sandbox {
            enabled: false,
            read: vec!["missing".to_owned()],
            ..Sandbox::default()
        };
        let resolved = sandbox.resolve(Path::new("/nonexistent")).unwrap();
        let env = resolved.env(Path::new("/tmp/s"));
        assert_eq!(env, [("TMPDIR", OsString::from("/tmp/s"))]);
    }

    #[test]
    fn paths_and_sizes_are_checked() {
        assert!(check_path("../../data").is_ok());
        assert!(check_path("/abs").is_ok());
        assert!(check_path("").is_err());
        assert!(check_path("a:b").is_err());
        assert!(check_path("a\0b").is_err());
        assert!(check_path(&"x".repeat(MAX_SANDBOX_PATH_BYTES + 1)).is_err());
        assert!(check_file_bytes(MIN_SANDBOX_FILE_BYTES - 1).is_err());
        assert!(check_file_bytes(MAX_SANDBOX_FILE_BYTES + 1).is_err());
        assert!(check_file_bytes(DEFAULT_SANDBOX_FILE_BYTES).is_ok());
    }
}
