//! The functions hhrf serves: scanning `HHRF_ROOT/functions/*/fezz.json`, resolving each
//! `entry` to a library file, and mounting the routes. A server keeps one [`Registry`] at a
//! time and replaces it whole when a folder changes (`crate::deploy`).
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
    FunctionId, Limits, Manifest, ManifestError, Route, TimeoutMs, Version, MANIFEST_FILE,
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
    /// The verified private copy of the library the server runs (`crate::deploy`); `None`
    /// outside a running server (`hhrf check`, `hhrf invoke`).
    pub deployment: Option<Arc<crate::deploy::Deployment>>,
}

impl Function {
    /// `<id>@<version>`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The short hash of the library served (`x-fezz-library`), when deployed.
    pub fn library_hash(&self) -> Option<&str> {
        self.deployment
            .as_ref()
            .map(|deployment| deployment.short_hash())
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
    /// error: the server then answers 404 to everything. Symbolic links (aliases) are
    /// left to `crate::deploy`.
    pub fn load(root: &Path) -> Result<(Registry, Vec<Diagnostic>), RegistryError> {
        let (folders, mut diagnostics) = scan(root)?;
        let mut registry = Registry::default();
        for entry in folders {
            if entry.link.is_some() {
                continue;
            }
            match prepare(&entry.name, &entry.path) {
                Ok((function, routes)) => {
                    diagnostics.extend(registry.mount(Arc::new(function), routes));
                }
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
        Ok((registry, diagnostics))
    }

    /// Serves `function` and mounts its `routes`; a route that conflicts with one already
    /// mounted is left out (one diagnostic each), the function stays callable.
    pub fn mount(&mut self, function: Arc<Function>, routes: Vec<Route>) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        let owner = function.manifest_path.display().to_string();
        for (index, route) in routes.into_iter().enumerate() {
            if let Err(conflict) = self.routes.insert(route, owner.clone(), function.clone()) {
                diagnostics.push(Diagnostic::RouteConflict {
                    manifest: function.manifest_path.clone(),
                    index,
                    pattern: conflict.pattern,
                    existing_pattern: conflict.existing_pattern,
                    existing_manifest: conflict.existing_owner,
                });
            }
        }
        self.functions.insert(function.name(), function);
        diagnostics
    }

    /// Serves `function` with all its `routes`, or not at all: when one of them conflicts
    /// with a route already mounted, nothing changes and the conflict is the error (the
    /// hot-deploy rule: the route already mounted keeps it).
    pub fn mount_whole(
        &mut self,
        function: Arc<Function>,
        routes: &[Route],
    ) -> Result<(), Diagnostic> {
        for (index, route) in routes.iter().enumerate() {
            if let Some(conflict) = self.routes.conflict(route) {
                return Err(Diagnostic::RouteConflict {
                    manifest: function.manifest_path.clone(),
                    index,
                    pattern: conflict.pattern,
                    existing_pattern: conflict.existing_pattern,
                    existing_manifest: conflict.existing_owner,
                });
            }
        }
        let left_out = self.mount(function, routes.to_vec());
        debug_assert!(left_out.is_empty(), "routes of one manifest never conflict");
        Ok(())
    }

    /// Serves the function named `target` also as `alias` (`<id>@<alias>`, for `/rpc/`);
    /// false when `target` is not served.
    pub fn add_alias(&mut self, alias: &str, target: &str) -> bool {
        match self.functions.get(target).cloned() {
            Some(function) => {
                self.functions.insert(alias.to_owned(), function);
                true
            }
            None => false,
        }
    }

    /// The function named `<id>@<version>`, for `/rpc/`.
    pub fn function(&self, name: &str) -> Option<&Arc<Function>> {
        self.functions.get(name)
    }

    /// Every function, sorted by name (aliases left out).
    pub fn functions(&self) -> Vec<&Arc<Function>> {
        let mut all: Vec<_> = self
            .functions
            .iter()
            .filter(|(name, function)| **name == function.name())
            .map(|(_, function)| function)
            .collect();
        all.sort_by_key(|function| function.name());
        all
    }

    /// How many functions are served (aliases left out).
    pub fn function_count(&self) -> usize {
        self.functions().len()
    }

    /// Every alias, sorted, with the name of the function it serves.
    pub fn aliases(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self
            .functions
            .iter()
            .filter(|(name, function)| **name != function.name())
            .map(|(name, function)| (name.clone(), function.name()))
            .collect();
        all.sort();
        all
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

/// One entry of `functions/`: a folder, or a symbolic link (an alias).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    /// The entry's name, `<id>@<version>`.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
    /// For a symbolic link, what it points at, as written.
    pub link: Option<PathBuf>,
}

/// The entries of `root/functions` in byte order of their names: folders and symbolic links
/// (files and names starting with `.` are skipped), with a diagnostic for each unreadable
/// one. Fails only when `root` cannot be resolved.
pub fn scan(root: &Path) -> Result<(Vec<FolderEntry>, Vec<Diagnostic>), RegistryError> {
    let root = fs::canonicalize(root).map_err(|error| RegistryError::Root {
        path: root.to_owned(),
        error,
    })?;
    let mut diagnostics = Vec::new();
    let functions_dir = root.join(FUNCTIONS_DIR);
    let mut folders = Vec::new();
    let entries = match fs::read_dir(&functions_dir) {
        Ok(entries) => entries,
        Err(error) => {
            diagnostics.push(Diagnostic::Unreadable {
                path: functions_dir,
                error,
            });
            return Ok((folders, diagnostics));
        }
    };
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
        let link = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => match fs::read_link(&path) {
                Ok(target) => Some(target),
                Err(_) => continue,
            },
            Ok(meta) if meta.is_dir() => None,
            _ => continue,
        };
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            diagnostics.push(Diagnostic::Unreadable {
                path,
                error: io::Error::new(io::ErrorKind::InvalidData, "the folder name is not UTF-8"),
            });
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        folders.push(FolderEntry {
            name: name.to_owned(),
            path,
            link,
        });
    }
    folders.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((folders, diagnostics))
}

/// Reads and validates the folder `folder` named `name`: its manifest, its library file and
/// its sandbox. Returns the function (not deployed yet) and its routes.
pub fn prepare(name: &str, folder: &Path) -> Result<(Function, Vec<Route>), Diagnostic> {
    let manifest_path = folder.join(MANIFEST_FILE);
    let bytes = read_bounded(&manifest_path, MAX_MANIFEST_BYTES).map_err(|error| {
        Diagnostic::Unreadable {
            path: manifest_path.clone(),
            error,
        }
    })?;
    let invalid = |error| Diagnostic::Invalid {
        manifest: manifest_path.clone(),
        error,
    };
    let manifest = Manifest::parse(&bytes)
        .and_then(|manifest| {
            manifest.check_folder(name)?;
            Ok(manifest)
        })
        .map_err(invalid)?;
    let candidates = manifest.entry.candidates();
    let Some(library) = candidates
        .iter()
        .map(|candidate| folder.join(candidate))
        .find(|path| path.is_file())
    else {
        return Err(invalid(ManifestError {
            field: "entry".to_owned(),
            rule: format!(
                "no library file in the function folder; tried {}",
                candidates.join(", ")
            ),
            location: None,
        }));
    };
    let sandbox = manifest.sandbox.resolve(folder).map_err(invalid)?;
    let function = Function {
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
        deployment: None,
    };
    Ok((function, manifest.routes))
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
