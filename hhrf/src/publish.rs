//! `hhrf deploy` and `hhrf list` (`spec/HTTP.md`, "Subcommands"): installing a library as a
//! function folder the safe way (a complete folder made beside the target, then renamed over
//! it in one step), waiting until a running server serves it, and listing what a server (or
//! a folder) serves.
//!
//! What lives here: [`Publication`] and [`publish`] (the folder and its manifest),
//! [`wait_until_served`] (polls `/_fezz/functions`), [`list_folder`] (the `/_fezz/functions`
//! body of a folder that no server serves) and [`render_list`] (the text form). What does
//! not: the command line (`cli`), what a server does with a new folder (`deploy`).

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::admin::{self, ClientError};
use crate::deploy::{self, describe, file_hash, SHORT_HASH_LEN};
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::registry::{self, RegistryError, FUNCTIONS_DIR};

/// What `hhrf deploy` installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The library file to copy.
    pub library: PathBuf,
    /// The function id.
    pub id: String,
    /// The version.
    pub version: String,
    /// `(method, path)` routes; method `*` (or empty) answers every method.
    pub routes: Vec<(String, String)>,
    /// The manifest's `mode`, when given.
    pub mode: Option<String>,
}

/// Why [`publish`] did not install the folder.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The arguments make no valid manifest (a usage error).
    #[error("{0}")]
    Invalid(String),
    /// Reading the library or writing the folder failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        error: io::Error,
    },
}

/// What [`publish`] installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `<id>@<version>`.
    pub name: String,
    /// The folder.
    pub folder: PathBuf,
    /// The SHA-256 of the library, in hex.
    pub sha256: String,
}

/// The manifest `publication` describes, as JSON text.
pub fn manifest_text(publication: &Publication) -> Result<String, PublishError> {
    let entry = publication
        .library
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| PublishError::Invalid("the library path has no UTF-8 file name".into()))?;
    let routes: Vec<serde_json::Value> = publication
        .routes
        .iter()
        .map(|(method, path)| {
            if method.is_empty() || method == "*" {
                serde_json::json!({ "path": path })
            } else {
                serde_json::json!({ "path": path, "method": method })
            }
        })
        .collect();
    let mut manifest = serde_json::json!({
        "id": publication.id,
        "version": publication.version,
        "entry": entry,
        "routes": routes,
    });
    if let Some(mode) = &publication.mode {
        manifest["mode"] = mode.clone().into();
    }
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|error| PublishError::Invalid(error.to_string()))?;
    let parsed = Manifest::parse(text.as_bytes()).map_err(|error| {
        PublishError::Invalid(format!("the manifest would be invalid: {error}"))
    })?;
    parsed
        .check_folder(&format!("{}@{}", publication.id, publication.version))
        .map_err(|error| PublishError::Invalid(error.to_string()))?;
    Ok(text + "\n")
}

/// Installs `publication` as `root/functions/<id>@<version>/` (the library and a
/// `fezz.json`): both are written into a new hidden folder beside it, synced, and the folder
/// is then renamed into place, atomically exchanging it with an existing folder of that name
/// (`renameat2(RENAME_EXCHANGE)`; where the filesystem lacks it, the old folder is renamed
/// away first). A server never sees a half-written folder.
pub fn publish(root: &Path, publication: &Publication) -> Result<Published, PublishError> {
    let text = manifest_text(publication)?;
    let io_error = |what: String| move |error| PublishError::Io { what, error };
    let functions = root.join(FUNCTIONS_DIR);
    fs::create_dir_all(&functions)
        .map_err(io_error(format!("creating {}", functions.display())))?;
    let name = format!("{}@{}", publication.id, publication.version);
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let staging = functions.join(format!(".deploy-{name}-{}-{nonce}", std::process::id()));
    fs::create_dir(&staging).map_err(io_error(format!("creating {}", staging.display())))?;
    let result = fill(&staging, publication, &text).and_then(|sha256| {
        let folder = functions.join(&name);
        swap_into_place(&staging, &folder).map_err(io_error(format!(
            "renaming {} to {}",
            staging.display(),
            folder.display()
        )))?;
        Ok(Published {
            name,
            folder,
            sha256,
        })
    });
    // What is left in the staging folder is the old version (or a failed attempt).
    let _ = fs::remove_dir_all(&staging);
    result
}

/// Writes the library and the manifest into `staging` and syncs them; returns the hash.
fn fill(staging: &Path, publication: &Publication, manifest: &str) -> Result<String, PublishError> {
    let io_error = |what: String| move |error| PublishError::Io { what, error };
    let entry = publication.library.file_name().unwrap_or_default();
    let library = staging.join(entry);
    fs::copy(&publication.library, &library).map_err(io_error(format!(
        "copying {}",
        publication.library.display()
    )))?;
    let sha256 = file_hash(&library).map_err(io_error(format!("reading {}", library.display())))?;
    let manifest_path = staging.join(MANIFEST_FILE);
    let mut file = fs::File::create(&manifest_path)
        .map_err(io_error(format!("writing {}", manifest_path.display())))?;
    file.write_all(manifest.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(format!("writing {}", manifest_path.display())))?;
    fs::File::open(&library)
        .and_then(|file| file.sync_all())
        .and_then(|()| fs::File::open(staging)?.sync_all())
        .map_err(io_error(format!("syncing {}", staging.display())))?;
    Ok(sha256)
}

/// Moves `staging` to `folder`: a plain rename when `folder` does not exist, else an atomic
/// exchange (the old folder ends up at `staging`).
fn swap_into_place(staging: &Path, folder: &Path) -> io::Result<()> {
    match fs::symlink_metadata(folder) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return fs::rename(staging, folder)
        }
        Err(error) => return Err(error),
        Ok(_) => {}
    }
    match exchange(staging, folder) {
        Ok(()) => Ok(()),
        Err(error)
            if error.raw_os_error() == Some(libc::EINVAL)
                || error.raw_os_error() == Some(libc::ENOSYS) =>
        {
            let aside = staging.with_extension("old");
            fs::rename(folder, &aside)?;
            fs::rename(staging, folder)?;
            fs::rename(&aside, staging)
        }
        Err(error) => Err(error),
    }
}

/// `renameat2(a, b, RENAME_EXCHANGE)`.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// How waiting for a server ended without it serving the library.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The server could not be asked.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server answered something other than a `/_fezz/functions` body.
    #[error("{url} answered {status} to GET /_fezz/functions")]
    Status {
        /// The server.
        url: String,
        /// Its status.
        status: u16,
    },
    /// The server did not serve it in time; the last problem it reported, if any.
    #[error("{name} was not served with library {short} within {ms} ms{}", .problem.as_ref().map(|p| format!(": {p}")).unwrap_or_default())]
    Timeout {
        /// `<id>@<version>`.
        name: String,
        /// The short hash waited for.
        short: String,
        /// How long it waited.
        ms: u128,
        /// What the server said about the folder.
        problem: Option<String>,
    },
}

/// The `/_fezz/functions` body of the server at `url`.
pub fn fetch_functions(url: &str) -> Result<serde_json::Value, WaitError> {
    let answer = admin::get(url, crate::dispatch::FUNCTIONS_PATH)?;
    if answer.status != 200 {
        return Err(WaitError::Status {
            url: url.to_owned(),
            status: answer.status,
        });
    }
    serde_json::from_str(&answer.body).map_err(|_| WaitError::Status {
        url: url.to_owned(),
        status: answer.status,
    })
}

/// Polls the server at `url` every 100 ms until it serves `name` with the library whose
/// SHA-256 is `sha256`, for at most `limit`.
pub fn wait_until_served(
    url: &str,
    name: &str,
    sha256: &str,
    limit: Duration,
) -> Result<(), WaitError> {
    let start = Instant::now();
    let mut problem = None;
    loop {
        let body = fetch_functions(url)?;
        let entry = body["functions"]
            .as_array()
            .and_then(|all| all.iter().find(|entry| entry["name"] == name));
        if let Some(entry) = entry {
            if entry["status"] == "serving" && entry["sha256"] == sha256 {
                return Ok(());
            }
            problem = entry["problem"].as_str().map(str::to_owned);
        }
        if start.elapsed() >= limit {
            return Err(WaitError::Timeout {
                name: name.to_owned(),
                short: sha256[..SHORT_HASH_LEN.min(sha256.len())].to_owned(),
                ms: limit.as_millis(),
                problem,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `/_fezz/functions` body for `root` read without a server: every folder as start-up
/// would load it (libraries hashed in place, not loaded in a runner), and every alias.
pub fn list_folder(root: &Path) -> Result<serde_json::Value, RegistryError> {
    let (entries, _) = registry::scan(root)?;
    let mut functions = Vec::new();
    let mut aliases = Vec::new();
    let folders: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.link.is_none())
        .map(|entry| entry.name.as_str())
        .collect();
    for entry in &entries {
        if let Some(link) = &entry.link {
            let target = link.to_string_lossy().into_owned();
            let ok = !target.contains('/')
                && folders.contains(&target.as_str())
                && target.split_once('@').map(|(id, _)| id)
                    == entry.name.split_once('@').map(|(id, _)| id);
            aliases.push(serde_json::json!({
                "name": entry.name,
                "target": target,
                "status": if ok { "serving" } else { "refused" },
                "problem": if ok { None } else { Some(format!("{target} is not a sibling function folder of the same id")) },
            }));
            continue;
        }
        match registry::prepare(&entry.name, &entry.path) {
            Ok((function, routes)) => {
                let alias_names = entries
                    .iter()
                    .filter(|alias| alias.link.as_deref() == Some(Path::new(&entry.name)))
                    .map(|alias| alias.name.clone())
                    .collect();
                let mut described = describe(&function, &routes, None, alias_names);
                if let Ok(sha256) = file_hash(&function.library) {
                    described["library_hash"] = sha256[..SHORT_HASH_LEN].into();
                    described["sha256"] = sha256.into();
                }
                functions.push(described);
            }
            Err(diagnostic) => {
                let (id, version) = entry.name.split_once('@').unwrap_or((&entry.name, ""));
                functions.push(serde_json::json!({
                    "name": entry.name,
                    "id": id,
                    "version": version,
                    "status": "refused",
                    "problem": diagnostic.to_string(),
                }));
            }
        }
    }
    Ok(serde_json::json!({
        "functions": functions,
        "aliases": aliases,
        "watch": "none",
    }))
}

/// The text form of a `/_fezz/functions` body: one line per function (name, status, library
/// hash, routes, aliases, or the problem), then one per alias.
pub fn render_list(body: &serde_json::Value) -> String {
    let mut text = String::new();
    let empty = Vec::new();
    for entry in body["functions"].as_array().unwrap_or(&empty) {
        let name = entry["name"].as_str().unwrap_or("?");
        let status = entry["status"].as_str().unwrap_or("?");
        let mut line = format!("{name}  {status}");
        if let Some(hash) = entry["library_hash"].as_str() {
            line.push_str(&format!("  library {hash}"));
        }
        let routes: Vec<String> = entry["routes"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|route| {
                format!(
                    "{} {}",
                    route["method"].as_str().unwrap_or("*"),
                    route["path"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if !routes.is_empty() {
            line.push_str(&format!("  routes: {}", routes.join(", ")));
        }
        let aliases: Vec<&str> = entry["aliases"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .filter_map(|alias| alias.as_str())
            .collect();
        if !aliases.is_empty() {
            line.push_str(&format!("  aliases: {}", aliases.join(", ")));
        }
        if let Some(problem) = entry["problem"].as_str() {
            line.push_str(&format!("  problem: {problem}"));
        }
        text.push_str(&line);
        text.push('\n');
    }
    for alias in body["aliases"].as_array().unwrap_or(&empty) {
        let mut line = format!(
            "{} -> {}  {}",
            alias["name"].as_str().unwrap_or("?"),
            alias["target"].as_str().unwrap_or("?"),
            alias["status"].as_str().unwrap_or("?")
        );
        if let Some(problem) = alias["problem"].as_str() {
            line.push_str(&format!("  problem: {problem}"));
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// Re-exported for the CLI: the deploy module's hash of a file.
pub use deploy::file_hash as library_hash;

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(library: &Path) -> Publication {
        Publication {
            library: library.to_owned(),
            id: "f".into(),
            version: "2".into(),
            routes: vec![("GET".into(), "/f".into()), ("*".into(), "/g/...".into())],
            mode: None,
        }
    }

    #[test]
    fn publishing_makes_a_loadable_folder_and_replaces_it_whole() {
        let root = tempfile::tempdir().unwrap();
        let library = root.path().join("libf.so");
        fs::write(&library, b"one").unwrap();
        let first = publish(root.path(), &publication(&library)).unwrap();
        assert_eq!(first.name, "f@2");
        let (registry, diagnostics) = registry::Registry::load(root.path()).unwrap();
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(registry.route_count(), 2);
        fs::write(&library, b"two").unwrap();
        let second = publish(root.path(), &publication(&library)).unwrap();
        assert_ne!(first.sha256, second.sha256);
        assert_eq!(fs::read(first.folder.join("libf.so")).unwrap(), b"two");
        let left: Vec<_> = fs::read_dir(root.path().join("functions"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(left, ["f@2"], "no staging folder is left");
        let listed = list_folder(root.path()).unwrap();
        assert_eq!(listed["functions"][0]["sha256"], second.sha256);
        assert!(render_list(&listed).starts_with("f@2  serving  library "));
    }

    #[test]
    fn bad_arguments_are_refused_before_writing() {
        let root = tempfile::tempdir().unwrap();
        let library = root.path().join("libf.so");
        fs::write(&library, b"one").unwrap();
        let mut bad = publication(&library);
        bad.routes.push(("GET".into(), "no-slash".into()));
        assert!(matches!(
            publish(root.path(), &bad),
            Err(PublishError::Invalid(_))
        ));
        let mut bad = publication(&library);
        bad.id = "a b".into();
        assert!(matches!(
            publish(root.path(), &bad),
            Err(PublishError::Invalid(_))
        ));
        assert!(!root.path().join("functions").exists());
    }
}
