//! The functions hhrf serves: scanning `HHRF_ROOT/functions/*/fezz.json` once at startup,
//! resolving each `entry` to a library file, and mounting the routes.
//!
//! What lives here: [`Registry`] (functions by `<id>@<version>`, plus the [`RouteTable`]),
//! [`Function`] (everything a call needs), and [`Diagnostic`] (why a folder or a route was
//! left out). What does not: parsing a manifest (`manifest`), matching paths (`routes`).
//!
//! One bad folder never stops the others: it is left out with a diagnostic naming the file,
//! the field and the rule. Folders are read in byte order of their names, which makes route
//! conflicts deterministic: the route of the later folder is the one left out.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::Method;

use crate::manifest::mode::ExecutionMode;
use crate::manifest::sandbox::ResolvedSandbox;
use crate::manifest::{
    FunctionId, Limits, Manifest, ManifestError, TimeoutMs, Version, MANIFEST_FILE,
    MAX_MANIFEST_BYTES,
};
use crate::routes::{Lookup, RouteTable};

/// The folder under the root that holds function folders.
pub const FUNCTIONS_DIR: &str = "functions";

/// A function ready to be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The id from the manifest.
    pub id: FunctionId,
    /// The version from the manifest.
    pub version: Version,
    /// The absolute path of the function folder (the runner's working directory).
    pub folder: PathBuf,
    /// The absolute path of the library file the runner loads.
    pub library: PathBuf,
    /// The absolute path of the `fezz.json`.
    pub manifest_path: PathBuf,
    /// The manifest's timeout, if it sets one.
    pub timeout: Option<TimeoutMs>,
    /// The environment the runner gets besides `PATH`, sorted by name.
    pub env: Vec<(String, String)>,
    /// The manifest's resource limits, passed to the runner as `FEZZ_LIMIT_…` variables.
    pub limits: Limits,
    /// The manifest's sandbox with absolute paths, passed as `FEZZ_SANDBOX…` variables.
    pub sandbox: ResolvedSandbox,
    /// How its calls run (the manifest's `mode`).
    pub mode: ExecutionMode,
}

impl Function {
    /// `<id>@<version>`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The sandbox variables of one call whose scratch folder is `scratch` (`TMPDIR`, and the
    /// `FEZZ_SANDBOX…` variables when the sandbox is on; `spec/HTTP.md`, "Environment passed
    /// to runners").
    pub fn sandbox_env(&self, scratch: &Path) -> Vec<(&'static str, std::ffi::OsString)> {
        self.sandbox.env(scratch)
    }
}

/// Why a folder or a route was left out. `Display` is the log line's text.
#[derive(Debug)]
#[non_exhaustive]
pub enum Diagnostic {
    /// The function folder has no `fezz.json` (or it could not be read).
    Unreadable {
        /// The file or folder that could not be read.
        path: PathBuf,
        /// The I/O error.
        error: io::Error,
    },
    /// The manifest breaks a rule; the function is disabled.
    Invalid {
        /// The `fezz.json`.
        manifest: PathBuf,
        /// The field and the rule.
        error: ManifestError,
    },
    /// One route conflicts with a route of an earlier folder; the route is not mounted,
    /// the function stays callable through `/rpc/` and its other routes.
    RouteConflict {
        /// The manifest whose route was left out.
        manifest: PathBuf,
        /// The index of the route in its `routes` array.
        index: usize,
        /// The route pattern left out.
        pattern: String,
        /// The pattern already mounted.
        existing_pattern: String,
        /// The manifest that mounted it.
        existing_manifest: String,
    },
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::Unreadable { path, error } => write!(
                f,
                "function disabled: {}: cannot be read: {error}",
                path.display()
            ),
            Diagnostic::Invalid { manifest, error } => {
                write!(f, "function disabled: {}: {error}", manifest.display())
            }
            Diagnostic::RouteConflict {
                manifest,
                index,
                pattern,
                existing_pattern,
                existing_manifest,
            } => write!(
                f,
                "route not mounted: {}: field `routes[{index}]`: route {pattern:?} conflicts with route {existing_pattern:?} of {existing_manifest} (same paths, a method in common; the folder that sorts first keeps it)",
                manifest.display()
            ),
        }
    }
}

/// Why the registry could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The root folder does not exist or cannot be resolved.
    #[error("the root folder {path} cannot be used: {error}")]
    Root {
        /// The root as given.
        path: PathBuf,
        /// The I/O error.
        error: io::Error,
    },
}

/// Where a request goes, from [`Registry::route`].
#[derive(Debug, PartialEq, Eq)]
pub enum Routed<'a> {
    /// The function to call.
    Found(&'a Arc<Function>),
    /// The path is routed but not for this method; the `Allow` value.
    MethodNotAllowed(String),
    /// Nothing serves this path.
    NotFound,
}

/// Every function that loaded, and the root route table.
#[derive(Default)]
pub struct Registry {
    functions: HashMap<String, Arc<Function>>,
    routes: RouteTable<Arc<Function>>,
}

impl Registry {
    /// Scans `root/functions`. Returns the registry and, in folder order, a diagnostic for
    /// each folder or route left out. A missing `functions` folder is a diagnostic, not an
    /// error: the server then answers 404 to everything.
    pub fn load(root: &Path) -> Result<(Registry, Vec<Diagnostic>), RegistryError> {
        let root = fs::canonicalize(root).map_err(|error| RegistryError::Root {
            path: root.to_owned(),
            error,
        })?;
        let mut registry = Registry::default();
        let mut diagnostics = Vec::new();
        let functions_dir = root.join(FUNCTIONS_DIR);
        let mut folders: Vec<(String, PathBuf)> = Vec::new();
        match fs::read_dir(&functions_dir) {
            Err(error) => diagnostics.push(Diagnostic::Unreadable {
                path: functions_dir,
                error,
            }),
            Ok(entries) => {
                for entry in entries {
                    let entry = match entry {
                        Ok(entry) => entry,
                        Err(error) => {
                            diagnostics.push(Diagnostic::Unreadable {
                                path: functions_dir.clone(),
                                error,
                            });
                            continue;
                        }
                    };
                    let path = entry.path();
                    if !path.is_dir() {
                        continue;
                    }
                    let name = entry.file_name();
                    let Some(name) = name.to_str() else {
                        diagnostics.push(Diagnostic::Unreadable {
                            path,
                            error: io::Error::new(
                                io::ErrorKind::InvalidData,
                                "the folder name is not UTF-8",
                            ),
                        });
                        continue;
                    };
                    if name.starts_with('.') {
                        continue;
                    }
                    folders.push((name.to_owned(), path));
                }
            }
        }
        folders.sort();
        for (name, folder) in folders {
            registry.add_folder(&name, &folder, &mut diagnostics);
        }
        Ok((registry, diagnostics))
    }

    fn add_folder(&mut self, name: &str, folder: &Path, diagnostics: &mut Vec<Diagnostic>) {
        let manifest_path = folder.join(MANIFEST_FILE);
        let bytes = match read_bounded(&manifest_path, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(error) => {
                diagnostics.push(Diagnostic::Unreadable {
                    path: manifest_path,
                    error,
                });
                return;
            }
        };
        let invalid = |error| Diagnostic::Invalid {
            manifest: manifest_path.clone(),
            error,
        };
        let manifest = match Manifest::parse(&bytes).and_then(|manifest| {
            manifest.check_folder(name)?;
            Ok(manifest)
        }) {
            Ok(manifest) => manifest,
            Err(error) => return diagnostics.push(invalid(error)),
        };
        let candidates = manifest.entry.candidates();
        let Some(library) = candidates
            .iter()
            .map(|candidate| folder.join(candidate))
            .find(|path| path.is_file())
        else {
            let error = ManifestError {
                field: "entry".to_owned(),
                rule: format!(
                    "no library file in the function folder; tried {}",
                    candidates.join(", ")
                ),
                location: None,
            };
            return diagnostics.push(invalid(error));
        };
        let sandbox = match manifest.sandbox.resolve(folder) {
            Ok(sandbox) => sandbox,
            Err(error) => return diagnostics.push(invalid(error)),
        };
        let function = Arc::new(Function {
            id: manifest.id.clone(),
            version: manifest.version.clone(),
            folder: folder.to_owned(),
            library,
            manifest_path: manifest_path.clone(),
            timeout: manifest.timeout,
            env: manifest
                .env
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect(),
            limits: manifest.limits,
            sandbox,
            mode: manifest.mode,
        });
        let owner = manifest_path.display().to_string();
        for (index, route) in manifest.routes.into_iter().enumerate() {
            if let Err(conflict) = self.routes.insert(route, owner.clone(), function.clone()) {
                diagnostics.push(Diagnostic::RouteConflict {
                    manifest: manifest_path.clone(),
                    index,
                    pattern: conflict.pattern,
                    existing_pattern: conflict.existing_pattern,
                    existing_manifest: conflict.existing_owner,
                });
            }
        }
        self.functions.insert(function.name(), function);
    }

    /// The function named `<id>@<version>`, for `/rpc/`.
    pub fn function(&self, name: &str) -> Option<&Arc<Function>> {
        self.functions.get(name)
    }

    /// Every function, sorted by name.
    pub fn functions(&self) -> Vec<&Arc<Function>> {
        let mut all: Vec<_> = self.functions.values().collect();
        all.sort_by_key(|function| function.name());
        all
    }

    /// How many functions are served.
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// How many routes are mounted.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// The root routes mounted for the function named `name`, as `METHOD /pattern` (`*`:
    /// every method), in mounting order.
    pub fn routes_of(&self, name: &str) -> Vec<String> {
        self.routes
            .routes()
            .filter(|(_, function)| function.name() == name)
            .map(|(route, _)| {
                let method = route.method.as_ref().map_or("*", Method::as_str);
                format!("{method} {}", route.path)
            })
            .collect()
    }

    /// The root route for a request.
    pub fn route(&self, method: &Method, path: &str) -> Routed<'_> {
        match self.routes.lookup(method, path) {
            Lookup::Found(function) => Routed::Found(function),
            Lookup::MethodNotAllowed(allow) => Routed::MethodNotAllowed(allow),
            Lookup::NotFound => Routed::NotFound,
        }
    }
}

/// Reads a file of at most `limit` bytes; a larger one is an error.
fn read_bounded(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the file is larger than the limit of {limit} bytes"),
        ));
    }
    Ok(bytes)
}
