//! Hot deploy (`spec/HTTP.md`, "Hot deploy"): the lifecycle of the function folders a running
//! server serves. Each change of `functions/` (a folder added, replaced or removed, an alias
//! switched) is reconciled into a new [`Registry`] that replaces the served one at once.
//!
//! What lives here: [`LibraryStore`] (the private, content-addressed copies of the libraries
//! the server runs, so a call finishes on the library it was admitted with whatever happens
//! to the folder), [`Deployment`] (what a served function carries: its copy, its hash, its
//! routes), [`Deployer`] (the folders' states and [`Deployer::reconcile`]) and
//! [`DeployStatus`] with [`catalog`] (the body of `/_fezz/functions`). What does not: noticing
//! changes (`watch`), parsing a folder (`registry::prepare`), loading a library in a runner
//! (`check::verify`).
//!
//! Rules: a folder whose content changed is read, its library copied and hashed, and (after
//! start-up) loaded in a runner without a request; only then does it replace what served
//! before. A folder that fails any step leaves the previous version serving and is reported.
//! A new or changed folder whose routes collide with routes already mounted is not served.
//! A symbolic link `<id>@<alias>` to a sibling folder `<id>@<version>` is an alias.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use sha2::{Digest as _, Sha256};

use crate::admin::Admin;
use crate::log;
use crate::manifest::Route;
use crate::registry::{self, Diagnostic, FolderEntry, Function, Registry, RegistryError};
use crate::runner::Runner;

/// The largest library hhrf copies: 1 GiB.
pub const MAX_LIBRARY_BYTES: u64 = 1 << 30;

/// Hex digits of the library hash in `x-fezz-library` and `/_fezz/functions`.
pub const SHORT_HASH_LEN: usize = 12;

/// Most entries of a function folder looked at for its fingerprint.
pub const MAX_FOLDER_ENTRIES: usize = 256;

/// The folder of the library copies inside the server's scratch base.
pub const STORE_DIR: &str = "libraries";

/// One private copy of a library; removed when the last function using it is gone.
#[derive(Debug)]
struct LibraryCopy {
    dir: PathBuf,
    path: PathBuf,
    hash: String,
}

impl Drop for LibraryCopy {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The private copies of the libraries a server runs, each in a folder named after its
/// SHA-256 (`<store>/<hash prefix>-<n>/<file name>`). Folders are 0755 and files 0644, so the
/// runner user can load them; the store is 0711.
#[derive(Debug)]
pub struct LibraryStore {
    dir: PathBuf,
    next: AtomicU64,
    live: Mutex<HashMap<String, Weak<LibraryCopy>>>,
}

impl LibraryStore {
    /// Creates the store `<parent>/libraries` (emptied first if it exists).
    pub fn create(parent: &Path) -> io::Result<LibraryStore> {
        let dir = parent.join(STORE_DIR);
        if fs::symlink_metadata(&dir).is_ok() {
            fs::remove_dir_all(&dir)?;
        }
        fs::DirBuilder::new().mode(0o711).create(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o711))?;
        Ok(LibraryStore {
            dir,
            next: AtomicU64::new(1),
            live: Mutex::new(HashMap::new()),
        })
    }

    /// The store's folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Copies `source` into the store while hashing it, at most [`MAX_LIBRARY_BYTES`]; a copy
    /// with the same hash that is still in use is shared instead.
    fn import(&self, source: &Path) -> io::Result<Arc<LibraryCopy>> {
        let name = source
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let incoming = self.dir.join(format!("incoming-{n}"));
        fs::DirBuilder::new().mode(0o755).create(&incoming)?;
        let result = copy_hashed(source, &incoming.join(name));
        let hash = match result {
            Ok(hash) => hash,
            Err(error) => {
                let _ = fs::remove_dir_all(&incoming);
                return Err(error);
            }
        };
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|_, copy| copy.strong_count() > 0);
        if let Some(existing) = live.get(&hash).and_then(Weak::upgrade) {
            let _ = fs::remove_dir_all(&incoming);
            return Ok(existing);
        }
        let dir = self.dir.join(format!("{}-{n}", &hash[..SHORT_HASH_LEN]));
        fs::rename(&incoming, &dir)?;
        let copy = Arc::new(LibraryCopy {
            path: dir.join(name),
            dir,
            hash: hash.clone(),
        });
        live.insert(hash, Arc::downgrade(&copy));
        Ok(copy)
    }
}

/// Copies `source` to `target` (created 0644), returning the SHA-256 of the bytes, in hex.
fn copy_hashed(source: &Path, target: &Path) -> io::Result<String> {
    let file = fs::File::open(source)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut input = file.take(MAX_LIBRARY_BYTES + 1);
    let mut output = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode_0644()
        .open(target)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut total: u64 = 0;
    loop {
        let read = input.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        total += read as u64;
        if total > MAX_LIBRARY_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the library is larger than {MAX_LIBRARY_BYTES} bytes"),
            ));
        }
        hasher.update(&buffer[..read]);
        output.write_all(&buffer[..read])?;
    }
    output.flush()?;
    Ok(hex(&hasher.finalize()))
}

trait Mode0644 {
    fn mode_0644(&mut self) -> &mut Self;
}

impl Mode0644 for fs::OpenOptions {
    fn mode_0644(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o644)
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// The SHA-256 of a file, in hex (what `x-fezz-library` shortens), read at most
/// [`MAX_LIBRARY_BYTES`].
pub fn file_hash(path: &Path) -> io::Result<String> {
    let mut input = fs::File::open(path)?.take(MAX_LIBRARY_BYTES);
    let mut hasher = Sha256::new();
    io::copy(&mut input, &mut HashWriter(&mut hasher))?;
    Ok(hex(&hasher.finalize()))
}

struct HashWriter<'a>(&'a mut Sha256);

impl io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What a served function carries besides its manifest: the verified private copy of its
/// library (kept while any call or registry holds the function), the library it was copied
/// from, and its routes.
#[derive(Debug)]
pub struct Deployment {
    copy: Arc<LibraryCopy>,
    source: PathBuf,
    routes: Vec<Route>,
}

impl PartialEq for Deployment {
    fn eq(&self, other: &Self) -> bool {
        self.copy.hash == other.copy.hash && self.source == other.source
    }
}

impl Eq for Deployment {}

impl Deployment {
    /// The SHA-256 of the library, in hex.
    pub fn hash(&self) -> &str {
        &self.copy.hash
    }

    /// Its first [`SHORT_HASH_LEN`] hex digits.
    pub fn short_hash(&self) -> &str {
        &self.copy.hash[..SHORT_HASH_LEN]
    }

    /// The folder of the private copy (the runner's working directory when the function
    /// folder is gone).
    pub fn copy_dir(&self) -> &Path {
        &self.copy.dir
    }

    /// The library in the function folder it was copied from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The manifest's routes.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

/// What identifies a folder's content without reading it: the metadata of the folder and of
/// each of its entries (inode, size, modification and change times, mode; see [`stamp`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Fingerprint(Vec<(OsString, [i64; 7])>);

/// A folder's stamp is its inode and mode only: what a function writes below a granted
/// folder, or handing a write folder over to the runner user, is no new content.
fn stamp(meta: &fs::Metadata) -> [i64; 7] {
    if meta.is_dir() {
        return [meta.ino() as i64, 0, 0, 0, 0, 0, i64::from(meta.mode())];
    }
    [
        meta.ino() as i64,
        meta.len() as i64,
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
        i64::from(meta.mode()),
    ]
}

fn fingerprint(folder: &Path) -> Fingerprint {
    let mut entries = Vec::new();
    if let Ok(meta) = fs::metadata(folder) {
        entries.push((OsString::new(), stamp(&meta)));
    }
    if let Ok(read) = fs::read_dir(folder) {
        for entry in read.flatten().take(MAX_FOLDER_ENTRIES) {
            let meta = fs::metadata(entry.path()).map(|meta| stamp(&meta));
            entries.push((entry.file_name(), meta.unwrap_or_default()));
        }
    }
    entries.sort();
    Fingerprint(entries)
}

/// One folder as the deployer last saw it.
#[derive(Debug, Default)]
struct FolderState {
    fingerprint: Fingerprint,
    /// The version that serves, if any.
    serving: Option<Arc<Function>>,
    /// Why the folder's current content is not served (the previous version, if any, still
    /// serves).
    problem: Option<String>,
}

/// An alias as last reconciled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasStatus {
    /// `<id>@<alias>`.
    pub name: String,
    /// What the link points at, as written.
    pub target: String,
    /// Why it serves nothing; `None`: it serves `target`.
    pub problem: Option<String>,
}

/// What `/_fezz/functions` reports beyond the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployStatus {
    /// Every folder, sorted, with why its current content is not served (if so).
    pub folders: Vec<(String, Option<String>)>,
    /// Every alias, sorted.
    pub aliases: Vec<AliasStatus>,
    /// How changes are noticed: `inotify`, `poll` or `none`.
    pub watch: String,
}

#[derive(Debug, Default)]
struct DeployerState {
    folders: BTreeMap<String, FolderState>,
    aliases: Vec<(String, PathBuf)>,
    scan_problems: Vec<String>,
    loaded: bool,
}

/// The folders' lifecycle for one server.
pub struct Deployer {
    root: PathBuf,
    store: LibraryStore,
    runner: Runner,
    admin: Arc<Admin>,
    state: tokio::sync::Mutex<DeployerState>,
    watch: Mutex<String>,
}

impl Deployer {
    /// A deployer of `root/functions` into `admin`, copying libraries into `store` and
    /// verifying them with `runner`. Nothing is loaded before [`Deployer::reconcile`].
    pub fn new(root: PathBuf, store: LibraryStore, runner: Runner, admin: Arc<Admin>) -> Self {
        Deployer {
            root,
            store,
            runner,
            admin,
            state: tokio::sync::Mutex::new(DeployerState::default()),
            watch: Mutex::new("none".to_owned()),
        }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store of library copies.
    pub fn store(&self) -> &LibraryStore {
        &self.store
    }

    /// Records how changes are noticed (for `/_fezz/functions`).
    pub fn set_watch(&self, watch: &str) {
        *self.watch.lock().unwrap_or_else(PoisonError::into_inner) = watch.to_owned();
        self.admin.set_watch(watch);
    }

    /// Brings the served functions in line with `root/functions` and installs the result in
    /// the admin state; logs one line per change. The first call is the start-up load: its
    /// libraries are copied but not loaded in a runner (as before hot deploy: `hhrf check`
    /// does that), and a route conflict leaves only that route out. Returns whether anything
    /// changed. Fails only when the root cannot be resolved.
    pub async fn reconcile(&self) -> Result<bool, RegistryError> {
        let (entries, scan_diagnostics) = registry::scan(&self.root)?;
        let mut state = self.state.lock().await;
        let initial = !state.loaded;
        let scan_problems: Vec<String> = scan_diagnostics.iter().map(ToString::to_string).collect();
        if scan_problems != state.scan_problems {
            for problem in &scan_problems {
                log::line(problem);
            }
            state.scan_problems = scan_problems;
        }
        let (links, folders): (Vec<FolderEntry>, Vec<FolderEntry>) =
            entries.into_iter().partition(|entry| entry.link.is_some());
        let mut changed = initial;

        let before = state.folders.len();
        state
            .folders
            .retain(|name, _| folders.iter().any(|entry| &entry.name == name));
        if state.folders.len() != before {
            changed = true;
        }

        let mut fresh: Vec<(String, Arc<Function>)> = Vec::new();
        for entry in &folders {
            let print = fingerprint(&entry.path);
            if state
                .folders
                .get(&entry.name)
                .is_some_and(|folder| folder.fingerprint == print)
            {
                continue;
            }
            changed = true;
            let staged = self.stage(entry, !initial).await;
            let folder = state.folders.entry(entry.name.clone()).or_default();
            folder.fingerprint = print;
            match staged {
                Ok(function) => {
                    folder.problem = None;
                    fresh.push((entry.name.clone(), function));
                }
                Err(problem) => {
                    let keeps = folder
                        .serving
                        .as_ref()
                        .map(|serving| {
                            format!(
                                " ({} keeps serving library {})",
                                serving.name(),
                                serving.library_hash().unwrap_or("-")
                            )
                        })
                        .unwrap_or_default();
                    log::line(format_args!("deploy refused: {problem}{keeps}"));
                    folder.problem = Some(problem);
                }
            }
        }
        let aliases: Vec<(String, PathBuf)> = links
            .into_iter()
            .filter_map(|entry| Some((entry.name, entry.link?)))
            .collect();
        if aliases != state.aliases {
            changed = true;
        }
        if !changed {
            return Ok(false);
        }

        let mut registry = Registry::default();
        for (name, folder) in &state.folders {
            if fresh.iter().any(|(fresh_name, _)| fresh_name == name) {
                continue;
            }
            if let Some(serving) = &folder.serving {
                let routes = routes_of(serving);
                for diagnostic in registry.mount(serving.clone(), routes) {
                    log::line(diagnostic);
                }
            }
        }
        for (name, function) in fresh {
            let Some(folder) = state.folders.get_mut(&name) else {
                continue;
            };
            let routes = routes_of(&function);
            if initial {
                for diagnostic in registry.mount(function.clone(), routes) {
                    log::line(diagnostic);
                }
                folder.serving = Some(function);
                continue;
            }
            match registry.mount_whole(function.clone(), &routes) {
                Ok(()) => {
                    log::line(format_args!(
                        "deployed {} (library {}, {} route(s))",
                        function.name(),
                        function.library_hash().unwrap_or("-"),
                        routes.len()
                    ));
                    folder.serving = Some(function);
                }
                Err(diagnostic) => {
                    let problem = collision(&diagnostic);
                    if let Some(serving) = &folder.serving {
                        for diagnostic in registry.mount(serving.clone(), routes_of(serving)) {
                            log::line(diagnostic);
                        }
                    }
                    log::line(format_args!("deploy refused: {problem}"));
                    folder.problem = Some(problem);
                }
            }
        }

        let mut alias_status = Vec::new();
        for (name, link) in &aliases {
            let target = link.to_string_lossy().into_owned();
            let problem = alias_problem(name, &target, &state.folders).or_else(|| {
                let served = state.folders.get(&target)?.serving.as_ref()?.name();
                (!registry.add_alias(name, &served)).then(|| format!("{target} is not served"))
            });
            alias_status.push(AliasStatus {
                name: name.clone(),
                target,
                problem,
            });
        }
        if aliases != state.aliases || initial {
            for alias in &alias_status {
                match &alias.problem {
                    None => log::line(format_args!("alias {} -> {}", alias.name, alias.target)),
                    Some(problem) => {
                        log::line(format_args!("alias {} refused: {problem}", alias.name))
                    }
                }
            }
        }
        state.aliases = aliases;
        state.loaded = true;

        let status = DeployStatus {
            folders: state
                .folders
                .iter()
                .map(|(name, folder)| (name.clone(), folder.problem.clone()))
                .collect(),
            aliases: alias_status,
            watch: self
                .watch
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        };
        for function in registry.functions() {
            self.admin
                .metrics
                .serve(function.id.as_str(), function.version.as_str());
        }
        let registry = Arc::new(registry);
        let old = self.admin.replace_registry(registry.clone(), status);
        if let Some(old) = old {
            for function in old.functions() {
                if registry.function(&function.name()).is_none() {
                    log::line(format_args!("removed {}", function.name()));
                    self.admin
                        .metrics
                        .forget(function.id.as_str(), function.version.as_str());
                    self.admin.admission.forget(&function.name());
                }
            }
        }
        Ok(true)
    }

    /// Reads a folder, copies its library into the store and, when `verify`, loads the copy
    /// in a runner. The error is the problem's one line.
    async fn stage(&self, entry: &FolderEntry, verify: bool) -> Result<Arc<Function>, String> {
        let (mut function, routes) = registry::prepare(&entry.name, &entry.path)
            .map_err(|diagnostic| diagnostic.to_string())?;
        let copy = self.store.import(&function.library).map_err(|error| {
            format!(
                "{}: {}: the library cannot be copied: {error}",
                entry.name,
                function.library.display()
            )
        })?;
        let source = std::mem::replace(&mut function.library, copy.path.clone());
        if function.sandbox.enabled {
            function.sandbox.read.push(copy.dir.clone());
        }
        function.deployment = Some(Arc::new(Deployment {
            copy,
            source,
            routes,
        }));
        let function = Arc::new(function);
        if let Some(user) = crate::privileges::runner_user() {
            for line in crate::privileges::hand_over_grants(&self.root, &[&function], user) {
                log::line(line);
            }
        }
        if verify {
            check_complete(&function.library)
                .map_err(|problem| format!("{}: {problem}", entry.name))?;
            crate::check::verify(&self.runner, &function)
                .await
                .map_err(|problem| format!("{}: {problem}", entry.name))?;
        }
        Ok(function)
    }
}

/// Checks that an ELF file is whole: its section header table and every loadable segment
/// lie within the file, so a copy cut short is refused even when what it holds would load
/// (the tail of a library is often debug information the loader never maps). Other formats
/// pass (the runner's load check judges them).
pub fn check_complete(path: &Path) -> Result<(), String> {
    let unreadable = |error: io::Error| format!("the library cannot be read: {error}");
    let file = fs::File::open(path).map_err(unreadable)?;
    let length = file.metadata().map_err(unreadable)?.len();
    // The ELF header, then the program header table (at most 65535 entries of 56 bytes).
    let head = read_at_most(&file, 0, 64).map_err(unreadable)?;
    let table = match elf_table(&head) {
        Some((offset, size)) if offset.saturating_add(size) <= length => {
            read_at_most(&file, offset, size).map_err(unreadable)?
        }
        _ => Vec::new(),
    };
    match elf_end(&head, &table) {
        Some(end) if end > length => Err(format!(
            "the library is cut short: its ELF headers describe {end} bytes, the file has {length} (a copy still being written? write elsewhere, then rename)"
        )),
        _ => Ok(()),
    }
}

/// Up to `size` bytes of `file` from `offset`.
fn read_at_most(file: &fs::File, offset: u64, size: u64) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt as _;
    let mut bytes = vec![0u8; usize::try_from(size).unwrap_or(0)];
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read_at(&mut bytes[filled..], offset + filled as u64)? {
            0 => break,
            read => filled += read,
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// Where an ELF header says its program header table is: `(offset, size)`.
fn elf_table(head: &[u8]) -> Option<(u64, u64)> {
    let fields = elf_fields(head)?;
    Some((fields.phoff, fields.phentsize.saturating_mul(fields.phnum)))
}

struct ElfFields {
    wide: bool,
    big: bool,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
    shoff: u64,
    shentsize: u64,
    shnum: u64,
}

fn read_field(bytes: &[u8], big: bool, at: usize, size: usize) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(size)?)?;
    let mut value: u64 = 0;
    for index in 0..size {
        let byte = if big {
            field[index]
        } else {
            field[size - 1 - index]
        };
        value = (value << 8) | u64::from(byte);
    }
    Some(value)
}

fn elf_fields(head: &[u8]) -> Option<ElfFields> {
    let wide = *head.get(4)? == 2;
    let big = *head.get(5)? == 2;
    let read = |at, size| read_field(head, big, at, size);
    Some(if wide {
        ElfFields {
            wide,
            big,
            phoff: read(0x20, 8)?,
            phentsize: read(0x36, 2)?,
            phnum: read(0x38, 2)?,
            shoff: read(0x28, 8)?,
            shentsize: read(0x3a, 2)?,
            shnum: read(0x3c, 2)?,
        }
    } else {
        ElfFields {
            wide,
            big,
            phoff: read(0x1c, 4)?,
            phentsize: read(0x2a, 2)?,
            phnum: read(0x2c, 2)?,
            shoff: read(0x20, 4)?,
            shentsize: read(0x2e, 2)?,
            shnum: read(0x30, 2)?,
        }
    })
}

/// The length an ELF file's headers say it has (the end of its section header table or of
/// its furthest segment), from its header `head` and its program header `table`; `None` for
/// a file that is not ELF. Headers themselves cut short count as longer than any file.
fn elf_end(head: &[u8], table: &[u8]) -> Option<u64> {
    if head.len() < 4 || &head[..4] != b"\x7fELF" {
        return None;
    }
    let Some(fields) = elf_fields(head) else {
        return Some(u64::MAX);
    };
    let table_size = fields.phentsize.saturating_mul(fields.phnum);
    if (table.len() as u64) < table_size {
        return Some(u64::MAX);
    }
    let mut end = fields
        .shoff
        .saturating_add(fields.shentsize.saturating_mul(fields.shnum))
        .max(fields.phoff.saturating_add(table_size));
    let word = if fields.wide { 8 } else { 4 };
    for index in 0..fields.phnum {
        let at = usize::try_from(index * fields.phentsize).ok()?;
        let (offset, filesz) = if fields.wide {
            (at + 8, at + 32)
        } else {
            (at + 4, at + 16)
        };
        let (Some(offset), Some(filesz)) = (
            read_field(table, fields.big, offset, word),
            read_field(table, fields.big, filesz, word),
        ) else {
            return Some(u64::MAX);
        };
        end = end.max(offset.saturating_add(filesz));
    }
    Some(end)
}

fn routes_of(function: &Function) -> Vec<Route> {
    function
        .deployment
        .as_ref()
        .map(|deployment| deployment.routes().to_vec())
        .unwrap_or_default()
}

fn collision(diagnostic: &Diagnostic) -> String {
    match diagnostic {
        Diagnostic::RouteConflict {
            manifest,
            index,
            pattern,
            existing_pattern,
            existing_manifest,
        } => format!(
            "route collision: {}: field `routes[{index}]`: route {pattern:?} collides with route {existing_pattern:?} of {existing_manifest}, already mounted; the folder is not served",
            manifest.display()
        ),
        other => other.to_string(),
    }
}

/// Why the link `name` → `target` is no alias, if it is not one.
fn alias_problem(
    name: &str,
    target: &str,
    folders: &BTreeMap<String, FolderState>,
) -> Option<String> {
    let Some((id, _)) = name.split_once('@') else {
        return Some(format!("the link {name:?} is not named <id>@<alias>"));
    };
    let Some((target_id, _)) = target.split_once('@') else {
        return Some(format!(
            "the link must point at a sibling folder <id>@<version>, not {target:?}"
        ));
    };
    if target.contains('/') || target_id != id {
        return Some(format!(
            "the link must point at a sibling folder {id}@<version>, not {target:?}"
        ));
    }
    if !folders.contains_key(target) {
        return Some(format!("{target} is not a function folder"));
    }
    None
}

/// The body of `/_fezz/functions` (`spec/HTTP.md`, "Functions endpoint"): every folder with
/// its status, and every alias.
pub fn catalog(registry: Option<&Registry>, status: &DeployStatus) -> serde_json::Value {
    let mut functions = Vec::new();
    let aliases_of = |name: &str| -> Vec<String> {
        status
            .aliases
            .iter()
            .filter(|alias| alias.problem.is_none() && alias.target == name)
            .map(|alias| alias.name.clone())
            .collect()
    };
    let mut listed = Vec::new();
    if let Some(registry) = registry {
        for function in registry.functions() {
            let name = function.name();
            let problem = status
                .folders
                .iter()
                .find(|(folder, _)| *folder == name)
                .and_then(|(_, problem)| problem.clone());
            functions.push(describe(
                function,
                &routes_of(function),
                problem,
                aliases_of(&name),
            ));
            listed.push(name);
        }
    }
    for (name, problem) in &status.folders {
        if listed.contains(name) {
            continue;
        }
        let (id, version) = name.split_once('@').unwrap_or((name, ""));
        functions.push(serde_json::json!({
            "name": name,
            "id": id,
            "version": version,
            "status": "refused",
            "problem": problem,
        }));
    }
    functions.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let aliases: Vec<serde_json::Value> = status
        .aliases
        .iter()
        .map(|alias| {
            serde_json::json!({
                "name": alias.name,
                "target": alias.target,
                "status": if alias.problem.is_none() { "serving" } else { "refused" },
                "problem": alias.problem,
            })
        })
        .collect();
    serde_json::json!({
        "functions": functions,
        "aliases": aliases,
        "watch": status.watch,
    })
}

/// One served function's entry in [`catalog`], with its `routes`; `problem` says why the
/// folder's current content is not what serves.
pub fn describe(
    function: &Function,
    routes: &[Route],
    problem: Option<String>,
    aliases: Vec<String>,
) -> serde_json::Value {
    use fezz_abi::runner_protocol::ResourceLimit;
    let mut limits = serde_json::Map::new();
    for limit in ResourceLimit::ALL {
        if let Some(value) = function.limits.get(limit) {
            limits.insert(limit.manifest_field().to_owned(), value.into());
        }
    }
    let routes: Vec<serde_json::Value> = routes
        .iter()
        .map(|route| {
            serde_json::json!({
                "method": route.method.as_ref().map(|method| method.as_str()),
                "path": route.path.as_str(),
            })
        })
        .collect();
    let library = function
        .deployment
        .as_ref()
        .map_or(function.library.as_path(), |deployment| deployment.source());
    serde_json::json!({
        "name": function.name(),
        "id": function.id.as_str(),
        "version": function.version.as_str(),
        "status": "serving",
        "problem": problem,
        "library": library.file_name().map(|name| name.to_string_lossy().into_owned()),
        "library_hash": function.library_hash(),
        "sha256": function.deployment.as_ref().map(|deployment| deployment.hash()),
        "routes": routes,
        "aliases": aliases,
        "timeout_ms": function.timeout.map(|timeout| timeout.as_millis()),
        "limits": limits,
        "sandbox": function.sandbox.enabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_content_addressed_shared_and_removed_when_unused() {
        let dir = tempfile::tempdir().unwrap();
        let store = LibraryStore::create(dir.path()).unwrap();
        let source = dir.path().join("libf.so");
        fs::write(&source, b"abc").unwrap();
        let first = store.import(&source).unwrap();
        assert_eq!(
            first.hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(fs::read(&first.path).unwrap(), b"abc");
        let mode = fs::metadata(&first.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        let second = store.import(&source).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "the same bytes share a copy");
        let path = first.path.clone();
        drop(first);
        assert!(path.exists());
        drop(second);
        assert!(!path.exists(), "the last user removes the copy");
        assert_eq!(fs::read_dir(store.path()).unwrap().count(), 0);
    }

    #[test]
    fn aliases_point_at_a_sibling_of_the_same_id() {
        let mut folders = BTreeMap::new();
        folders.insert("f@3".to_owned(), FolderState::default());
        assert_eq!(alias_problem("f@stable", "f@3", &folders), None);
        assert!(alias_problem("f@stable", "g@3", &folders).is_some());
        assert!(alias_problem("f@stable", "../f@3", &folders).is_some());
        assert!(alias_problem("f@stable", "/abs/f@3", &folders).is_some());
        assert!(alias_problem("f@stable", "f@4", &folders).is_some());
        assert!(alias_problem("stable", "f@3", &folders).is_some());
    }

    #[test]
    fn a_library_cut_short_is_not_complete() {
        let dir = tempfile::tempdir().unwrap();
        let whole = std::env::current_exe().unwrap();
        let bytes = fs::read(&whole).unwrap();
        let path = dir.path().join("lib.so");
        fs::write(&path, &bytes).unwrap();
        assert_eq!(check_complete(&path), Ok(()));
        for cut in [bytes.len() - 1, bytes.len() / 3, 64, 10] {
            fs::write(&path, &bytes[..cut]).unwrap();
            let problem = check_complete(&path).unwrap_err();
            assert!(problem.contains("cut short"), "{cut}: {problem}");
        }
        fs::write(&path, b"not elf").unwrap();
        assert_eq!(
            check_complete(&path),
            Ok(()),
            "the runner judges other files"
        );
    }

    #[test]
    fn fingerprints_change_with_content() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"1").unwrap();
        let one = fingerprint(dir.path());
        assert_eq!(one, fingerprint(dir.path()));
        fs::write(dir.path().join("a"), b"22").unwrap();
        assert_ne!(one, fingerprint(dir.path()));
    }
}
