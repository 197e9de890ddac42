//! `fezz.json`, the manifest of one function folder: parsing, version detection and the
//! validated types a manifest is made of.
//!
//! What lives here: [`Manifest`] (the validated, version-independent result), the newtypes
//! whose constructors enforce the rules of `spec/HTTP.md` ("Manifest format") — [`FunctionId`],
//! [`Version`], [`Entry`], [`Route`], [`TimeoutMs`], [`EnvName`], [`Limits`], [`sandbox::Sandbox`] — and [`ManifestError`], which
//! names the field and the rule a manifest breaks. Each schema version is a sibling module
//! (`v1` today); [`ManifestVersion::detect`] picks one before the strict parse.
//!
//! What does not: finding manifests on disk and resolving `entry` to a file (`registry`), and
//! matching route patterns against request paths (`routes`).
//!
//! Manifests are written by people, so parsing is strict: unknown fields, duplicate keys,
//! wrong types and every broken rule are errors, and the error says where.

pub mod mode;
pub mod sandbox;
mod v1;

use std::fmt;
use std::path::Path;

use std::ops::RangeInclusive;

use fezz_abi::runner_protocol::ResourceLimit;
use http::Method;
use serde::Deserialize;

use crate::routes::RoutePattern;

/// Largest `fezz.json` hhrf reads, in bytes: 64 KiB.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// Longest function id or version, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// Most routes in one manifest.
pub const MAX_ROUTES: usize = 128;

/// Most `env` entries in one manifest.
pub const MAX_ENV_ENTRIES: usize = 128;

/// Longest `env` name, in bytes.
pub const MAX_ENV_NAME_BYTES: usize = 128;

/// Longest `env` value, in bytes: 16 KiB.
pub const MAX_ENV_VALUE_BYTES: usize = 16 * 1024;

/// Longest `entry` file name, in bytes.
pub const MAX_ENTRY_BYTES: usize = 255;

/// Largest timeout a manifest (or the server's `--timeout-ms`) may set: one hour.
pub const MAX_TIMEOUT_MS: u64 = 60 * 60 * 1000;

/// Smallest `limits.memory_bytes`: 16 MiB, so the runner itself can start and load a library.
pub const MIN_MEMORY_BYTES: u64 = 16 * 1024 * 1024;

/// Largest `limits.memory_bytes`: 1 TiB.
pub const MAX_MEMORY_BYTES: u64 = 1024 * 1024 * 1024 * 1024;

/// Largest `limits.cpu_seconds`: one hour, like the longest timeout.
pub const MAX_CPU_SECONDS: u64 = 60 * 60;

/// Smallest `limits.open_files`: the runner's own descriptors (the three standard ones, its
/// two protocol duplicates, `/dev/null`, the library while it loads) fit with room to spare.
pub const MIN_OPEN_FILES: u64 = 16;

/// Largest `limits.open_files`.
pub const MAX_OPEN_FILES: u64 = 1024 * 1024;

/// Largest `limits.processes`.
pub const MAX_PROCESSES: u64 = 65536;

/// The name of the manifest file inside a function folder.
pub const MANIFEST_FILE: &str = "fezz.json";

/// A manifest, validated. Built only by [`Manifest::parse`], so every value obeys its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The schema version the file was written in.
    pub manifest_version: ManifestVersion,
    /// The function's id.
    pub id: FunctionId,
    /// The function's version.
    pub version: Version,
    /// The library file name, relative to the function folder.
    pub entry: Entry,
    /// The routes mounted at the server root, in file order.
    pub routes: Vec<Route>,
    /// The per-call timeout; `None`: the server default.
    pub timeout: Option<TimeoutMs>,
    /// Environment variables for the runner, sorted by name (names are unique).
    pub env: Vec<(EnvName, String)>,
    /// The resource limits the runner applies to itself; empty: none.
    pub limits: Limits,
    /// The sandbox the runner confines the function in (`sandbox`; on by default).
    pub sandbox: sandbox::Sandbox,
    /// How hhrf runs the function's calls (`mode`, with its `warm` object; fresh by default).
    pub mode: mode::ExecutionMode,
}

impl Manifest {
    /// Parses and validates the bytes of a `fezz.json`. Never panics, whatever the bytes.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::document(format!(
                "the file has {} bytes, more than the limit of {MAX_MANIFEST_BYTES}",
                bytes.len()
            )));
        }
        match ManifestVersion::detect(bytes)? {
            ManifestVersion::V1 => v1::parse(bytes),
        }
    }

    /// `<id>@<version>`: the function's folder name and its `/rpc/` segment.
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// Checks that the folder holding this manifest is named `<id>@<version>`.
    pub fn check_folder(&self, folder_name: &str) -> Result<(), ManifestError> {
        let expected = self.name();
        if folder_name == expected {
            return Ok(());
        }
        Err(ManifestError::field(
            "id",
            format!(
                "the folder is named {folder_name:?} but must be named \"<id>@<version>\" = {expected:?}"
            ),
        ))
    }
}

/// A `fezz.json` schema version (the `manifest_version` field; absent means 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManifestVersion {
    /// Version 1, the only one today.
    V1,
}

impl ManifestVersion {
    /// The number written in `manifest_version`.
    pub fn number(self) -> u64 {
        match self {
            ManifestVersion::V1 => 1,
        }
    }

    /// Reads only `manifest_version` (ignoring every other field) and picks the schema the
    /// strict parse then uses. Fails on JSON that is not an object, or on a version this hhrf
    /// does not read.
    pub fn detect(bytes: &[u8]) -> Result<ManifestVersion, ManifestError> {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(default)]
            manifest_version: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|error| ManifestError::from_json(String::new(), &error))?;
        match probe.manifest_version {
            None => Ok(ManifestVersion::V1),
            Some(value) => match value.as_u64() {
                Some(1) => Ok(ManifestVersion::V1),
                Some(other) => Err(ManifestError::field(
                    "manifest_version",
                    format!("version {other} is not supported; this hhrf reads manifest_version 1"),
                )),
                None => Err(ManifestError::field(
                    "manifest_version",
                    format!("must be the integer 1, found {value}"),
                )),
            },
        }
    }
}

/// Why a manifest was rejected: the field (a JSON path such as `routes[0].path`, empty for the
/// whole document), the rule it breaks, and where in the file, when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManifestError {
    /// The JSON path of the offending field; empty when the error is about the whole file.
    pub field: String,
    /// The rule that is broken, as a readable sentence.
    pub rule: String,
    /// 1-based line and column of the error in the file, when the JSON parser knows them.
    pub location: Option<(usize, usize)>,
}

impl ManifestError {
    /// An error about the whole document.
    pub(crate) fn document(rule: impl Into<String>) -> Self {
        ManifestError {
            field: String::new(),
            rule: rule.into(),
            location: None,
        }
    }

    /// An error about one field.
    pub(crate) fn field(field: impl Into<String>, rule: impl Into<String>) -> Self {
        ManifestError {
            field: field.into(),
            rule: rule.into(),
            location: None,
        }
    }

    /// An error from the JSON parser, about `field`.
    pub(crate) fn from_json(field: String, error: &serde_json::Error) -> Self {
        let location = (error.line() > 0).then(|| (error.line(), error.column()));
        // serde_json appends " at line L column C"; the location is kept separately.
        let text = error.to_string();
        let rule = match text.rfind(" at line ") {
            Some(at) if location.is_some() => text[..at].to_owned(),
            _ => text,
        };
        ManifestError {
            field,
            rule,
            location,
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "document: {}", self.rule)?;
        } else {
            write!(f, "field `{}`: {}", self.field, self.rule)?;
        }
        if let Some((line, column)) = self.location {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

/// Checks the id/version rule: 1 to 64 bytes of `[A-Za-z0-9._-]`, not starting with `.`.
fn check_name(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if value.len() > MAX_NAME_BYTES {
        return Err(format!(
            "{what} has {} bytes, more than the limit of {MAX_NAME_BYTES}",
            value.len()
        ));
    }
    if value.starts_with('.') {
        return Err(format!("{what} {value:?} must not start with '.'"));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{what} {value:?} has {bad:?}; only A-Z, a-z, 0-9, '.', '_' and '-' are allowed"
        ));
    }
    Ok(())
}

macro_rules! name_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            /// The value, checked against the rule.
            pub fn new(value: impl Into<String>) -> Result<Self, String> {
                let value = value.into();
                check_name($what, &value)?;
                Ok($name(value))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                $name::new(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_newtype!(
    /// A function id: 1 to 64 bytes of `[A-Za-z0-9._-]`, not starting with `.`.
    FunctionId,
    "id"
);

name_newtype!(
    /// A function version: the same rule as [`FunctionId`] (`latest`, `1.2.0`, `2024-06-01`).
    Version,
    "version"
);

/// The library file name: a plain file name in the function folder (no `/`, no `\`, not `.`
/// or `..`, no NUL), 1 to 255 bytes. `registry` resolves it to a file (the `.so`/`.dylib`
/// rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Entry(String);

impl Entry {
    /// The file name, checked against the rule.
    pub fn new(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        if value.is_empty() {
            return Err("entry must not be empty".to_owned());
        }
        if value.len() > MAX_ENTRY_BYTES {
            return Err(format!(
                "entry has {} bytes, more than the limit of {MAX_ENTRY_BYTES}",
                value.len()
            ));
        }
        if value == "." || value == ".." || value.contains(['/', '\\', '\0']) {
            return Err(format!(
                "entry {value:?} must be a file name in the function folder (no '/', '\\', NUL, '.' or '..')"
            ));
        }
        Ok(Entry(value))
    }

    /// The file name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file names to try, in order: the name as written, then, if it ends in `.so` or
    /// `.dylib` and that is not this platform's extension, the same stem with this platform's
    /// extension ([`std::env::consts::DLL_EXTENSION`]).
    pub fn candidates(&self) -> Vec<String> {
        candidates_for(&self.0, std::env::consts::DLL_EXTENSION)
    }
}

/// [`Entry::candidates`] for a given platform extension (without the dot).
fn candidates_for(name: &str, platform_extension: &str) -> Vec<String> {
    let mut names = vec![name.to_owned()];
    let path = Path::new(name);
    let extension = path.extension().and_then(|extension| extension.to_str());
    if let Some(extension @ ("so" | "dylib")) = extension {
        if extension != platform_extension {
            let stem = &name[..name.len() - extension.len()];
            names.push(format!("{stem}{platform_extension}"));
        }
    }
    names
}

impl TryFrom<String> for Entry {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Entry::new(value)
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A call timeout in milliseconds, 1 to [`MAX_TIMEOUT_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "u64")]
pub struct TimeoutMs(u64);

impl TimeoutMs {
    /// The timeout, checked against its range.
    pub fn new(ms: u64) -> Result<Self, String> {
        if ms == 0 || ms > MAX_TIMEOUT_MS {
            return Err(format!(
                "timeout {ms} ms is outside 1..={MAX_TIMEOUT_MS} milliseconds"
            ));
        }
        Ok(TimeoutMs(ms))
    }

    /// The timeout in milliseconds.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// The timeout as a duration.
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl TryFrom<u64> for TimeoutMs {
    type Error = String;
    fn try_from(ms: u64) -> Result<Self, String> {
        TimeoutMs::new(ms)
    }
}

/// The manifest's `limits`: kernel resource limits the runner applies to itself before loading
/// the library (`spec/RUNNER.md`, "Resource limits"). Each is `None` (unlimited) or within
/// [`Limits::range`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Limits {
    /// `memory_bytes`: the address space (`RLIMIT_AS`).
    pub memory_bytes: Option<u64>,
    /// `cpu_seconds`: CPU time (`RLIMIT_CPU`).
    pub cpu_seconds: Option<u64>,
    /// `open_files`: descriptors (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
    /// `processes`: processes of the runner's real user (`RLIMIT_NPROC`).
    pub processes: Option<u64>,
}

impl Limits {
    /// The values a manifest may give `limit`.
    pub fn range(limit: ResourceLimit) -> RangeInclusive<u64> {
        match limit {
            ResourceLimit::MemoryBytes => MIN_MEMORY_BYTES..=MAX_MEMORY_BYTES,
            ResourceLimit::CpuSeconds => 1..=MAX_CPU_SECONDS,
            ResourceLimit::OpenFiles => MIN_OPEN_FILES..=MAX_OPEN_FILES,
            ResourceLimit::Processes => 1..=MAX_PROCESSES,
            _ => 0..=0,
        }
    }

    /// The value set for `limit`, if any.
    pub fn get(&self, limit: ResourceLimit) -> Option<u64> {
        match limit {
            ResourceLimit::MemoryBytes => self.memory_bytes,
            ResourceLimit::CpuSeconds => self.cpu_seconds,
            ResourceLimit::OpenFiles => self.open_files,
            ResourceLimit::Processes => self.processes,
            _ => None,
        }
    }

    /// Sets `limit` after checking its range; the error is the broken rule.
    pub fn set(&mut self, limit: ResourceLimit, value: u64) -> Result<(), String> {
        let range = Limits::range(limit);
        if !range.contains(&value) {
            return Err(format!(
                "{} {value} is outside {}..={}",
                limit.manifest_field(),
                range.start(),
                range.end()
            ));
        }
        let slot = match limit {
            ResourceLimit::MemoryBytes => &mut self.memory_bytes,
            ResourceLimit::CpuSeconds => &mut self.cpu_seconds,
            ResourceLimit::OpenFiles => &mut self.open_files,
            ResourceLimit::Processes => &mut self.processes,
            _ => return Err("unknown limit".to_owned()),
        };
        *slot = Some(value);
        Ok(())
    }

    /// The environment variables that carry the limits set (`FEZZ_LIMIT_…`), in spec order.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        ResourceLimit::ALL
            .into_iter()
            .filter_map(|limit| Some((limit.env_name(), self.get(limit)?.to_string())))
            .collect()
    }

    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        self.env().is_empty()
    }
}

/// An environment variable name for the runner: `[A-Za-z_][A-Za-z0-9_]*`, at most
/// [`MAX_ENV_NAME_BYTES`], not starting with `FEZZ_` (reserved for hhrf) or `LD_` (read by
/// the dynamic loader when the runner starts, before any limit or sandbox).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvName(String);

impl EnvName {
    /// The name, checked against the rule.
    pub fn new(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        if value.is_empty() || value.len() > MAX_ENV_NAME_BYTES {
            return Err(format!(
                "an env name must have 1 to {MAX_ENV_NAME_BYTES} bytes, {value:?} has {}",
                value.len()
            ));
        }
        let mut chars = value.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "env name {value:?} must match [A-Za-z_][A-Za-z0-9_]*"
            ));
        }
        if value.starts_with("FEZZ_") {
            return Err(format!(
                "env name {value:?} starts with FEZZ_, which is reserved for hhrf"
            ));
        }
        if value.starts_with("LD_") {
            return Err(format!(
                "env name {value:?} starts with LD_, which the dynamic loader reads: it would run code in the runner (or a jail wrapper) before its limits and sandbox apply; link the library with an rpath ($ORIGIN) instead"
            ));
        }
        Ok(EnvName(value))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One manifest route: a path pattern and, optionally, the one method it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The path pattern (`/hello`, `/todos/:id`, `/static/...`).
    pub path: RoutePattern,
    /// The method; `None`: every method. `GET` also answers `HEAD`.
    pub method: Option<Method>,
}

impl Route {
    /// Whether this route answers `method` (`GET` routes answer `HEAD` too).
    pub fn allows(&self, method: &Method) -> bool {
        match &self.method {
            None => true,
            Some(own) => own == method || (own == Method::GET && method == Method::HEAD),
        }
    }

    /// Whether some method is answered by both routes.
    pub fn methods_overlap(&self, other: &Route) -> bool {
        match (&self.method, &other.method) {
            (None, _) | (_, None) => true,
            (Some(a), Some(b)) => other.allows(a) || self.allows(b),
        }
    }
}

/// Checks a route method: an HTTP token with no lower-case letters (methods are
/// case-sensitive; `get` would never match a client's `GET`).
pub fn parse_method(value: &str) -> Result<Method, String> {
    if value.is_empty() {
        return Err("method must not be empty".to_owned());
    }
    let is_token = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !is_token || value.len() > 32 {
        return Err(format!(
            "method {value:?} must be an HTTP token of at most 32 bytes"
        ));
    }
    if value.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(format!(
            "method {value:?} has lower-case letters; methods are case-sensitive, write {:?}",
            value.to_ascii_uppercase()
        ));
    }
    Method::from_bytes(value.as_bytes()).map_err(|_| format!("method {value:?} is not valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(json.as_bytes())
    }

    fn error(json: &str) -> ManifestError {
        parse(json).expect_err("the manifest should be rejected")
    }

    const GOOD: &str = r#"{
        "id": "todos",
        "version": "latest",
        "entry": "libexample_todosapi.dylib",
        "routes": [
            {"path": "/hello", "method": "GET"},
            {"path": "/todos/:id"},
            {"path": "/static/..."}
        ],
        "timeout_ms": 2500,
        "env": {"TODOS_DB": "todos.sqlite3", "A_B": ""},
        "manifest_version": 1
    }"#;

    #[test]
    fn a_full_manifest_parses() {
        let manifest = parse(GOOD).unwrap();
        assert_eq!(manifest.name(), "todos@latest");
        assert_eq!(manifest.entry.as_str(), "libexample_todosapi.dylib");
        assert_eq!(manifest.routes.len(), 3);
        assert_eq!(manifest.routes[0].method, Some(Method::GET));
        assert_eq!(manifest.routes[1].method, None);
        assert_eq!(manifest.timeout.map(TimeoutMs::as_millis), Some(2500));
        let names: Vec<_> = manifest.env.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A_B", "TODOS_DB"]);
        assert_eq!(manifest.manifest_version, ManifestVersion::V1);
        manifest.check_folder("todos@latest").unwrap();
        let wrong = manifest.check_folder("todos@1").unwrap_err();
        assert_eq!(wrong.field, "id");
        assert!(wrong.rule.contains("\"todos@latest\""), "{wrong}");
    }

    #[test]
    fn the_minimal_manifest_parses_with_defaults() {
        let manifest = parse(r#"{"id":"a","version":"1","entry":"liba.so","routes":[]}"#).unwrap();
        assert!(manifest.routes.is_empty());
        assert_eq!(manifest.timeout, None);
        assert!(manifest.env.is_empty());
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let e = error(r#"{"id":"a","version":"1","entry":"x.so","routes":[],"timeout":5}"#);
        assert!(e.rule.contains("unknown field `timeout`"), "{e}");
        assert!(e.location.is_some());
        let e = error(
            r#"{"id":"a","version":"1","entry":"x.so","routes":[{"path":"/","verb":"GET"}]}"#,
        );
        assert!(e.field.starts_with("routes[0]"), "{e}");
        assert!(e.rule.contains("unknown field `verb`"), "{e}");
    }

    #[test]
    fn missing_fields_are_named() {
        let e = error(r#"{"id":"a","version":"1","routes":[]}"#);
        assert!(e.rule.contains("missing field `entry`"), "{e}");
        let e = error(r#"{"id":"a","version":"1","entry":"x.so"}"#);
        assert!(e.rule.contains("missing field `routes`"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = error(r#"{"id":"a","version":"1","entry":"x.so","routes":[],"timeout_ms":"5"}"#);
        assert_eq!(e.field, "timeout_ms");
        let e = error(r#"{"id":"a","version":1,"entry":"x.so","routes":[]}"#);
        assert_eq!(e.field, "version");
        let e = error(r#"{"id":"a","version":"1","entry":"x.so","routes":[],"env":{"A":1}}"#);
        assert_eq!(e.field, "env.A");
    }

    #[test]
    fn id_and_version_follow_the_name_rule() {
        for (id, ok) in [
            ("todos", true),
            ("a.b_c-D9", true),
            (".hidden", false),
            ("", false),
            ("a@b", false),
            ("a/b", false),
            ("caf\u{e9}", false),
            (&"x".repeat(64), true),
            (&"x".repeat(65), false),
        ] {
            let json = format!(r#"{{"id":{id:?},"version":"1","entry":"x.so","routes":[]}}"#);
            match parse(&json) {
                Ok(_) => assert!(ok, "{id:?} should be rejected"),
                Err(e) => {
                    assert!(!ok, "{id:?} should be accepted: {e}");
                    assert_eq!(e.field, "id", "{e}");
                }
            }
            let json = format!(r#"{{"id":"a","version":{id:?},"entry":"x.so","routes":[]}}"#);
            assert_eq!(parse(&json).is_ok(), ok, "version {id:?}");
        }
    }

    #[test]
    fn entry_must_be_a_plain_file_name() {
        for bad in ["", ".", "..", "../x.so", "a/x.so", "a\\x.so", "x\u{0}.so"] {
            let entry = serde_json::Value::from(bad);
            let json = format!(r#"{{"id":"a","version":"1","entry":{entry},"routes":[]}}"#);
            assert_eq!(error(&json).field, "entry", "{bad:?}");
        }
    }

    #[test]
    fn entry_candidates_swap_the_library_extension() {
        assert_eq!(
            candidates_for("libx.dylib", "so"),
            ["libx.dylib", "libx.so"]
        );
        assert_eq!(
            candidates_for("libx.so", "dylib"),
            ["libx.so", "libx.dylib"]
        );
        assert_eq!(candidates_for("libx.so", "so"), ["libx.so"]);
        assert_eq!(candidates_for("libx.so.1", "dylib"), ["libx.so.1"]);
        assert_eq!(candidates_for("libx", "so"), ["libx"]);
    }

    #[test]
    fn routes_are_validated() {
        let cases = [
            (r#"[{"path":"hello"}]"#, "routes[0].path"),
            (r#"[{"path":"/a//b"}]"#, "routes[0].path"),
            (r#"[{"path":"/rpc/x"}]"#, "routes[0].path"),
            (r#"[{"path":"/a/.../b"}]"#, "routes[0].path"),
            (r#"[{"path":"/a","method":"get"}]"#, "routes[0].method"),
            (r#"[{"path":"/a","method":"G T"}]"#, "routes[0].method"),
            (
                r#"[{"path":"/a"},{"path":"/a","method":"GET"}]"#,
                "routes[1]",
            ),
            (
                r#"[{"path":"/a/:x","method":"GET"},{"path":"/a/:y","method":"HEAD"}]"#,
                "routes[1]",
            ),
        ];
        for (routes, field) in cases {
            let json = format!(r#"{{"id":"a","version":"1","entry":"x.so","routes":{routes}}}"#);
            let e = error(&json);
            assert_eq!(e.field, field, "{routes}: {e}");
        }
        let fine =
            r#"[{"path":"/a","method":"GET"},{"path":"/a","method":"POST"},{"path":"/a/:x"}]"#;
        let json = format!(r#"{{"id":"a","version":"1","entry":"x.so","routes":{fine}}}"#);
        parse(&json).unwrap();
    }

    #[test]
    fn too_many_routes_are_rejected() {
        let routes: Vec<String> = (0..=MAX_ROUTES)
            .map(|i| format!(r#"{{"path":"/r{i}"}}"#))
            .collect();
        let json = format!(
            r#"{{"id":"a","version":"1","entry":"x.so","routes":[{}]}}"#,
            routes.join(",")
        );
        assert_eq!(error(&json).field, "routes");
    }

    #[test]
    fn timeouts_are_bounded() {
        for (ms, ok) in [
            ("0", false),
            ("1", true),
            ("3600000", true),
            ("3600001", false),
            ("-1", false),
            ("1.5", false),
        ] {
            let json = format!(
                r#"{{"id":"a","version":"1","entry":"x.so","routes":[],"timeout_ms":{ms}}}"#
            );
            match parse(&json) {
                Ok(_) => assert!(ok, "{ms}"),
                Err(e) => {
                    assert!(!ok, "{ms}: {e}");
                    assert_eq!(e.field, "timeout_ms");
                }
            }
        }
    }

    #[test]
    fn env_names_and_duplicates_are_checked() {
        for (env, field) in [
            (r#"{"1A":"x"}"#, "env.1A"),
            (r#"{"A-B":"x"}"#, "env.A-B"),
            (r#"{"FEZZ_X":"x"}"#, "env.FEZZ_X"),
            (r#"{"LD_PRELOAD":"./evil.so"}"#, "env.LD_PRELOAD"),
            (r#"{"LD_LIBRARY_PATH":"."}"#, "env.LD_LIBRARY_PATH"),
            (r#"{"A":"x","A":"y"}"#, "env.A"),
            (r#"{"A":"x\u0000"}"#, "env.A"),
        ] {
            let json =
                format!(r#"{{"id":"a","version":"1","entry":"x.so","routes":[],"env":{env}}}"#);
            let e = error(&json);
            assert_eq!(e.field, field, "{env}: {e}");
        }
    }

    #[test]
    fn limits_are_parsed_and_bounded() {
        let with = |limits: &str| {
            format!(r#"{{"id":"a","version":"1","entry":"x.so","routes":[],"limits":{limits}}}"#)
        };
        let manifest = parse(&with(
            r#"{"memory_bytes":16777216,"cpu_seconds":2,"open_files":64,"processes":10}"#,
        ))
        .unwrap();
        assert_eq!(
            manifest.limits.env(),
            [
                ("FEZZ_LIMIT_MEMORY_BYTES", "16777216".to_owned()),
                ("FEZZ_LIMIT_CPU_SECONDS", "2".to_owned()),
                ("FEZZ_LIMIT_OPEN_FILES", "64".to_owned()),
                ("FEZZ_LIMIT_PROCESSES", "10".to_owned()),
            ]
        );
        let only_cpu = parse(&with(r#"{"cpu_seconds":1}"#)).unwrap();
        assert_eq!(
            only_cpu.limits.env(),
            [("FEZZ_LIMIT_CPU_SECONDS", "1".to_owned())]
        );
        assert!(parse(&with("{}")).unwrap().limits.is_empty());
        let none = parse(r#"{"id":"a","version":"1","entry":"x.so","routes":[]}"#).unwrap();
        assert!(none.limits.is_empty());
        for (limits, field) in [
            (r#"{"memory_bytes":16777215}"#, "limits.memory_bytes"),
            (r#"{"memory_bytes":1099511627777}"#, "limits.memory_bytes"),
            (r#"{"cpu_seconds":0}"#, "limits.cpu_seconds"),
            (r#"{"cpu_seconds":3601}"#, "limits.cpu_seconds"),
            (r#"{"cpu_seconds":-1}"#, "limits.cpu_seconds"),
            (r#"{"cpu_seconds":1.5}"#, "limits.cpu_seconds"),
            (r#"{"cpu_seconds":"1"}"#, "limits.cpu_seconds"),
            (r#"{"cpu_seconds":null}"#, "limits.cpu_seconds"),
            (r#"{"open_files":15}"#, "limits.open_files"),
            (r#"{"open_files":1048577}"#, "limits.open_files"),
            (r#"{"processes":0}"#, "limits.processes"),
            (r#"{"processes":65537}"#, "limits.processes"),
            ("[]", "limits"),
            ("[1, 2]", "limits"),
            ("null", "limits"),
            ("5", "limits"),
        ] {
            let e = error(&with(limits));
            assert_eq!(e.field, field, "{limits}: {e}");
        }
        let e = error(&with(r#"{"stack_bytes":1}"#));
        assert!(e.rule.contains("unknown field `stack_bytes`"), "{e}");
        assert!(e.field.starts_with("limits"), "{e}");
    }

    #[test]
    fn sandbox_is_on_by_default_and_parsed_strictly() {
        let with = |sandbox: &str| {
            format!(r#"{{"id":"a","version":"1","entry":"x.so","routes":[],"sandbox":{sandbox}}}"#)
        };
        let none = parse(r#"{"id":"a","version":"1","entry":"x.so","routes":[]}"#).unwrap();
        assert_eq!(none.sandbox, sandbox::Sandbox::default());
        assert!(none.sandbox.enabled);
        let full = parse(&with(
            r#"{"enabled":true,"read":["/etc/ssl","shared"],"write":["../../data"],"network":{"connect":true},"file_bytes":1048576}"#,
        ))
        .unwrap()
        .sandbox;
        assert_eq!(full.read, ["/etc/ssl", "shared"]);
        assert_eq!(full.write, ["../../data"]);
        assert!(full.connect && !full.bind);
        assert_eq!(full.file_bytes, 1048576);
        assert!(
            !parse(&with(r#"{"enabled":false}"#))
                .unwrap()
                .sandbox
                .enabled
        );
        let too_many = format!(
            r#"{{"read":[{}]}}"#,
            vec![r#""p""#; sandbox::MAX_SANDBOX_PATHS + 1].join(",")
        );
        for (bad, field) in [
            (r#"{"enabled":"yes"}"#, "sandbox.enabled"),
            (r#"{"enabled":null}"#, "sandbox.enabled"),
            (r#"{"read":"/etc"}"#, "sandbox.read"),
            (r#"{"read":[""]}"#, "sandbox.read[0]"),
            (r#"{"write":["a","b:c"]}"#, "sandbox.write[1]"),
            (r#"{"network":{"connect":1}}"#, "sandbox.network.connect"),
            (r#"{"network":[true]}"#, "sandbox.network"),
            (r#"{"file_bytes":1}"#, "sandbox.file_bytes"),
            (too_many.as_str(), "sandbox.read"),
            ("[]", "sandbox"),
            ("true", "sandbox"),
        ] {
            let e = error(&with(bad));
            assert_eq!(e.field, field, "{bad}: {e}");
        }
        let e = error(&with(r#"{"network":{"udp":true}}"#));
        assert!(e.rule.contains("unknown field `udp`"), "{e}");
        let e = error(&with(r#"{"exec":[]}"#));
        assert!(e.rule.contains("unknown field `exec`"), "{e}");
    }

    #[test]
    fn duplicate_top_level_keys_are_rejected() {
        let e = error(r#"{"id":"a","id":"b","version":"1","entry":"x.so","routes":[]}"#);
        assert!(e.rule.contains("duplicate field `id`"), "{e}");
    }

    #[test]
    fn manifest_version_is_detected() {
        let base = r#""id":"a","version":"1","entry":"x.so","routes":[]"#;
        assert!(parse(&format!("{{{base},\"manifest_version\":1}}")).is_ok());
        let e = error(&format!("{{{base},\"manifest_version\":2}}"));
        assert_eq!(e.field, "manifest_version");
        assert!(e.rule.contains("not supported"), "{e}");
        let e = error(&format!("{{{base},\"manifest_version\":\"1\"}}"));
        assert_eq!(e.field, "manifest_version");
    }

    #[test]
    fn non_objects_and_broken_json_are_document_errors() {
        for bad in ["", "[]", "null", "{", "{\"id\":", "\u{feff}{}", "{} {}"] {
            let e = error(bad);
            assert!(e.field.is_empty() || e.field == "id", "{bad:?}: {e}");
        }
        let e = error("{\n  \"id\": \"a\",\n  oops\n}");
        assert_eq!(e.location.map(|(line, _)| line), Some(3), "{e}");
    }

    #[test]
    fn oversized_files_are_rejected_before_parsing() {
        let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(error(std::str::from_utf8(&big).unwrap())
            .rule
            .contains("limit"));
    }

    #[test]
    fn parse_never_panics_on_odd_input() {
        let inputs: [&[u8]; 6] = [
            b"\xff\xfe",
            b"{\"routes\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]}",
            b"{\"env\":{\"\":\"\"}}",
            b"{\"timeout_ms\":1e400}",
            b"{\"manifest_version\":18446744073709551616}",
            b"{\"id\":\"\\ud800\"}",
        ];
        for input in inputs {
            let _ = Manifest::parse(input);
        }
    }

    #[test]
    fn structs_written_as_arrays_are_rejected() {
        // A derived serde struct also accepts its fields as an array, in order.
        error(r#"["todos", "latest", "libx.so", []]"#);
        let route = error(
            r#"{"id": "a", "version": "1", "entry": "libx.so", "routes": [["/hello", "GET"]]}"#,
        );
        assert_eq!(route.field, "routes[0]", "{route:?}");
        let limits = error(
            r#"{"id": "a", "version": "1", "entry": "libx.so", "routes": [], "limits": [30]}"#,
        );
        assert_eq!(limits.field, "limits", "{limits:?}");
    }
}
