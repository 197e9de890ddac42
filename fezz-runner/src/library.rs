//! [`Function`]: a loaded function library and its three exports (`spec/ABI.md`, "The
//! exported symbols"), loaded and checked in the order of `spec/RUNNER.md`, "Startup", steps
//! 3 to 5, and called with the buffer discipline of "Serving", steps 2 and 3.
//!
//! Not here: what the bytes mean (the runner's [`serve`](crate::serve) decodes them) and the
//! process around it ([`stdio`](crate::stdio)).

use std::error::Error as _;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use fezz_abi::ffi::FEZZ_ABI_VERSION;
use fezz_abi::ffi::{FezzAbiVersionFn, FezzBuffer, FezzFreeV2Fn, FezzHandleV2Fn, FezzResult};
use fezz_abi::limits::MAX_MESSAGE_BYTES;
use fezz_abi::runner_protocol::RunnerExit;
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use crate::failure::Failure;

/// The lowest ABI version a runner can call (`spec/ABI.md`, "Versions").
pub const MIN_ABI_VERSION: u32 = 2;

/// A function library, loaded, with its exports resolved and its ABI version checked.
///
/// Dropping it unloads the library (`dlclose`).
pub struct Function {
    path: PathBuf,
    abi_version: u32,
    handle: FezzHandleV2Fn,
    free: FezzFreeV2Fn,
    // The function pointers above point into this library: it must outlive them, so they are
    // never handed out and it is dropped with them.
    _library: Library,
}

/// Why [`Function::load`] failed. Each variant is one exit of `spec/RUNNER.md` ([`LoadError::exit`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file is missing, unreadable, not a shared library for this platform, or a
    /// dependency of it cannot be loaded (`library-load-failed`).
    #[error("{message}")]
    Library {
        /// The path as given.
        path: PathBuf,
        /// The loader's error (`dlerror()`), which names the file.
        message: String,
    },
    /// A required export is missing (`symbol-missing`).
    #[error("{symbol} is not exported by the library ({message})")]
    SymbolMissing {
        /// The first missing symbol, in lookup order: `fezz_abi_version`, `fezz_handle_v2`,
        /// `fezz_free_v2`.
        symbol: &'static str,
        /// The loader's error (`dlerror()`).
        message: String,
    },
    /// `fezz_abi_version()` returned a version below [`MIN_ABI_VERSION`]
    /// (`abi-version-mismatch`).
    #[error(
        "fezz_abi_version() returned {version}; this runner calls ABI version {FEZZ_ABI_VERSION} \
         and needs a library of version {MIN_ABI_VERSION} or later"
    )]
    AbiVersionMismatch {
        /// What the library returned.
        version: u32,
    },
}

impl LoadError {
    /// The runner exit this error ends the process with.
    pub fn exit(&self) -> RunnerExit {
        match self {
            LoadError::Library { .. } => RunnerExit::LibraryLoadFailed,
            LoadError::SymbolMissing { .. } => RunnerExit::SymbolMissing,
            LoadError::AbiVersionMismatch { .. } => RunnerExit::AbiVersionMismatch,
        }
    }
}

impl From<LoadError> for Failure {
    fn from(error: LoadError) -> Failure {
        Failure::new(error.exit(), error.to_string())
    }
}

/// What one call of `fezz_handle_v2` gave back, after the buffer was copied and released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The result code, as returned (possibly one this runner does not know).
    pub result: FezzResult,
    /// What the buffer held.
    pub returned: Returned,
}

/// The contents of the buffer `fezz_handle_v2` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returned {
    /// `data` was NULL: nothing (whatever `len` said).
    Null,
    /// `len` was past `MAX_MESSAGE_BYTES`, so the bytes were not copied.
    TooLarge(usize),
    /// A copy of `data[0..len]`.
    Bytes(Vec<u8>),
}

impl Function {
    /// Loads the library at `path` and resolves its exports: `dlopen(path, RTLD_NOW |
    /// RTLD_LOCAL)`, then `fezz_abi_version` (called once; below 2 is refused), then
    /// `fezz_handle_v2` and `fezz_free_v2`.
    ///
    /// Exactly that file is loaded: a path without a `/` is taken relative to the working
    /// directory, never searched for in `LD_LIBRARY_PATH` or the system directories.
    ///
    /// Loading a library runs its initialisers, and calling it later runs its code, in this
    /// process: the library is trusted to follow `spec/ABI.md` (that is what a runner is for;
    /// the host isolates the process, not the runner the library).
    pub fn load(path: &Path) -> Result<Function, LoadError> {
        let exact = exact_path(path);
        // SAFETY: running the library's initialisers (and, at drop, its finalisers) is
        // trusting the library, which is the contract of this function (see above).
        let library = unsafe { Library::open(Some(exact.as_os_str()), RTLD_NOW | RTLD_LOCAL) }
            .map_err(|error| LoadError::Library {
                path: path.to_owned(),
                message: loader_message(&error),
            })?;
        // SAFETY: spec/ABI.md gives `fezz_abi_version` this signature.
        let abi_version_fn: FezzAbiVersionFn = unsafe { symbol(&library, "fezz_abi_version")? };
        // SAFETY: a trusted library's export with the signature spec/ABI.md gives it.
        let abi_version = unsafe { abi_version_fn() };
        if abi_version < MIN_ABI_VERSION {
            return Err(LoadError::AbiVersionMismatch {
                version: abi_version,
            });
        }
        // Version min(abi_version, FEZZ_ABI_VERSION) is 2: its call symbols are the `_v2` pair.
        // SAFETY: spec/ABI.md gives the two `_v2` exports these signatures.
        let handle: FezzHandleV2Fn = unsafe { symbol(&library, "fezz_handle_v2")? };
        // SAFETY: as above.
        let free: FezzFreeV2Fn = unsafe { symbol(&library, "fezz_free_v2")? };
        Ok(Function {
            path: path.to_owned(),
            abi_version,
            handle,
            free,
            _library: library,
        })
    }

    /// The path the library was loaded from, as given to [`Function::load`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the library's `fezz_abi_version()` returned (2 or more).
    pub fn abi_version(&self) -> u32 {
        self.abi_version
    }

    /// Calls `fezz_handle_v2` with `request` (passed as is: decoding it first is the caller's
    /// business), copies what the buffer holds, and releases the buffer with `fezz_free_v2`,
    /// exactly once, whatever the result.
    pub fn call(&self, request: &[u8]) -> Call {
        let mut buffer = FezzBuffer::EMPTY;
        // SAFETY: `request` is `request.len()` readable bytes (a dangling but non-null pointer
        // when empty, never read), `buffer` is writable; the library is trusted to follow
        // spec/ABI.md.
        let result = unsafe { (self.handle)(request.as_ptr(), request.len(), &mut buffer) };
        let returned = if buffer.data.is_null() {
            Returned::Null
        } else if buffer.len > MAX_MESSAGE_BYTES {
            Returned::TooLarge(buffer.len)
        } else {
            // SAFETY: a non-null buffer written by `fezz_handle_v2` holds `len` readable bytes
            // until `fezz_free_v2`, which comes after this copy.
            Returned::Bytes(unsafe { std::slice::from_raw_parts(buffer.data, buffer.len) }.to_vec())
        };
        // SAFETY: the buffer is the one this call wrote, unchanged, released once: by value,
        // it cannot be used again.
        unsafe { (self.free)(buffer) };
        Call { result, returned }
    }
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("path", &self.path)
            .field("abi_version", &self.abi_version)
            .finish_non_exhaustive()
    }
}

/// `path`, with `./` in front when it has no `/`, so `dlopen` takes it as a path rather than
/// a name to search for.
fn exact_path(path: &Path) -> PathBuf {
    if path.as_os_str().as_bytes().contains(&b'/') {
        return path.to_owned();
    }
    let mut exact = OsString::from("./");
    exact.push(path.as_os_str());
    PathBuf::from(exact)
}

/// Looks `name` up in `library` as a `T`.
///
/// # Safety
/// `T` must be the type of the symbol `name` (a function pointer type).
unsafe fn symbol<T: Copy>(library: &Library, name: &'static str) -> Result<T, LoadError> {
    // SAFETY: guaranteed by the caller.
    match unsafe { library.get::<T>(name) } {
        Ok(symbol) => Ok(*symbol),
        Err(error) => Err(LoadError::SymbolMissing {
            symbol: name,
            message: loader_message(&error),
        }),
    }
}

/// The loader's own words (`dlerror()`), not libloading's summary of them.
fn loader_message(error: &libloading::Error) -> String {
    match error.source() {
        Some(source) => source.to_string(),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_file_name_is_taken_relative_to_the_working_directory() {
        assert_eq!(exact_path(Path::new("libf.so")), Path::new("./libf.so"));
        assert_eq!(
            exact_path(Path::new("dir/libf.so")),
            Path::new("dir/libf.so")
        );
        assert_eq!(
            exact_path(Path::new("/abs/libf.so")),
            Path::new("/abs/libf.so")
        );
    }

    #[test]
    fn a_missing_file_is_library_load_failed_naming_it() {
        let error = Function::load(Path::new("/nonexistent/libnothing.so")).unwrap_err();
        assert_eq!(error.exit(), RunnerExit::LibraryLoadFailed);
        assert!(
            error.to_string().contains("/nonexistent/libnothing.so"),
            "{error}"
        );
    }
}
