//! Schema version 1 of `fezz.json`: the serde shape of the file (strict: unknown fields,
//! duplicate keys and `null`s are errors) and its conversion to a [`Manifest`].
//!
//! Field rules that fit one value live in the newtypes' constructors (run by serde through
//! `try_from`, so their errors carry the field's JSON path); rules across values (route
//! conflicts, duplicate env names, counts) are checked after deserialization.

use std::fmt;
use std::marker::PhantomData;

use http::Method;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use fezz_abi::runner_protocol::ResourceLimit;

use super::mode::{ExecutionMode, WarmSettings, MODES};
use super::sandbox::{self, Sandbox, MAX_SANDBOX_PATHS};
use super::{
    parse_method, Entry, EnvName, FunctionId, Limits, Manifest, ManifestError, ManifestVersion,
    Route, TimeoutMs, Version, MAX_ENV_ENTRIES, MAX_ENV_VALUE_BYTES, MAX_ROUTES,
};
use crate::routes::RoutePattern;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestV1 {
    id: FunctionId,
    version: Version,
    entry: Entry,
    routes: Vec<Object<RouteV1>>,
    #[serde(default, deserialize_with = "present")]
    timeout_ms: Option<TimeoutMs>,
    #[serde(default, deserialize_with = "present")]
    env: Option<EnvEntries>,
    #[serde(default, deserialize_with = "present")]
    limits: Option<Object<LimitsV1>>,
    #[serde(default, deserialize_with = "present")]
    sandbox: Option<Object<SandboxV1>>,
    #[serde(default, deserialize_with = "present")]
    mode: Option<String>,
    #[serde(default, deserialize_with = "present")]
    warm: Option<Object<WarmV1>>,
    // Already checked by `ManifestVersion::detect`; listed so the field is known.
    #[serde(default, deserialize_with = "present")]
    #[allow(dead_code)]
    manifest_version: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteV1 {
    path: RoutePattern,
    #[serde(default, deserialize_with = "present")]
    method: Option<MethodField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsV1 {
    #[serde(default, deserialize_with = "present")]
    memory_bytes: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    cpu_seconds: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    open_files: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    processes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SandboxV1 {
    #[serde(default, deserialize_with = "present")]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    read: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    write: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    network: Option<Object<NetworkV1>>,
    #[serde(default, deserialize_with = "present")]
    file_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WarmV1 {
    #[serde(default, deserialize_with = "present")]
    max_instances: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    max_calls: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    max_calls_jitter: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    idle_timeout_ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    max_rss_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkV1 {
    #[serde(default, deserialize_with = "present")]
    connect: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    bind: Option<bool>,
}

/// A struct accepted only as a JSON object. A derived `Deserialize` also takes an array of
/// values in field order (`["todos", "1", …]`), which no manifest author means; every struct of
/// the manifest goes through this.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
struct MethodField(Method);

impl TryFrom<String> for MethodField {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        parse_method(&value).map(MethodField)
    }
}

/// An optional field that, when present, must hold a value (`null` is a type error).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// `env` as written: every pair in file order, duplicates kept so they can be reported.
struct EnvEntries(Vec<(String, String)>);

impl<'de> Deserialize<'de> for EnvEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvVisitor;
        impl<'de> Visitor<'de> for EnvVisitor {
            type Value = EnvEntries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EnvEntries, A::Error> {
                let mut entries = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    if entries.len() == MAX_ENV_ENTRIES {
                        return Err(de::Error::custom(format!(
                            "env has more than {MAX_ENV_ENTRIES} entries"
                        )));
                    }
                    entries.push((name, value));
                }
                Ok(EnvEntries(entries))
            }
        }
        deserializer.deserialize_map(EnvVisitor)
    }
}

/// Parses a version-1 manifest.
pub(super) fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let Object(raw): Object<ManifestV1> =
        serde_path_to_error::deserialize(&mut json).map_err(|error| {
            let field = error.path().to_string();
            // The crate writes "." for the document itself.
            let field = if field == "." { String::new() } else { field };
            ManifestError::from_json(field, error.inner())
        })?;
    json.end()
        .map_err(|error| ManifestError::from_json(String::new(), &error))?;

    if raw.routes.len() > MAX_ROUTES {
        return Err(ManifestError::field(
            "routes",
            format!(
                "{} routes, more than the limit of {MAX_ROUTES}",
                raw.routes.len()
            ),
        ));
    }
    let routes: Vec<Route> = raw
        .routes
        .into_iter()
        .map(|Object(route)| Route {
            path: route.path,
            method: route.method.map(|method| method.0),
        })
        .collect();
    for (later, route) in routes.iter().enumerate() {
        if let Some(earlier) = routes[..later]
            .iter()
            .position(|other| other.path.same_shape(&route.path) && other.methods_overlap(route))
        {
            return Err(ManifestError::field(
                format!("routes[{later}]"),
                format!(
                    "conflicts with routes[{earlier}]: {:?} and {:?} match the same paths with a method in common",
                    routes[earlier].path.as_str(),
                    route.path.as_str()
                ),
            ));
        }
    }

    let mut env: Vec<(EnvName, String)> = Vec::new();
    for (name, value) in raw.env.map(|env| env.0).unwrap_or_default() {
        let field = format!("env.{name}");
        let checked = EnvName::new(name).map_err(|rule| ManifestError::field(&field, rule))?;
        if env.iter().any(|(existing, _)| *existing == checked) {
            return Err(ManifestError::field(field, "the name appears twice in env"));
        }
        if value.len() > MAX_ENV_VALUE_BYTES {
            return Err(ManifestError::field(
                field,
                format!(
                    "the value has {} bytes, more than the limit of {MAX_ENV_VALUE_BYTES}",
                    value.len()
                ),
            ));
        }
        if value.contains('\0') {
            return Err(ManifestError::field(
                field,
                "the value contains a NUL character, which an environment cannot hold",
            ));
        }
        env.push((checked, value));
    }
    env.sort();

    let mut limits = Limits::default();
    if let Some(Object(raw)) = raw.limits {
        for (limit, value) in [
            (ResourceLimit::MemoryBytes, raw.memory_bytes),
            (ResourceLimit::CpuSeconds, raw.cpu_seconds),
            (ResourceLimit::OpenFiles, raw.open_files),
            (ResourceLimit::Processes, raw.processes),
        ] {
            if let Some(value) = value {
                limits.set(limit, value).map_err(|rule| {
                    ManifestError::field(format!("limits.{}", limit.manifest_field()), rule)
                })?;
            }
        }
    }

    let mut sandbox = Sandbox::default();
    if let Some(Object(raw)) = raw.sandbox {
        sandbox.enabled = raw.enabled.unwrap_or(true);
        for (name, paths, slot) in [
            ("read", raw.read, &mut sandbox.read),
            ("write", raw.write, &mut sandbox.write),
        ] {
            let paths = paths.unwrap_or_default();
            if paths.len() > MAX_SANDBOX_PATHS {
                return Err(ManifestError::field(
                    format!("sandbox.{name}"),
                    format!(
                        "{} paths, more than the limit of {MAX_SANDBOX_PATHS}",
                        paths.len()
                    ),
                ));
            }
            for (index, path) in paths.iter().enumerate() {
                sandbox::check_path(path).map_err(|rule| {
                    ManifestError::field(format!("sandbox.{name}[{index}]"), rule)
                })?;
            }
            *slot = paths;
        }
        if let Some(Object(network)) = raw.network {
            sandbox.connect = network.connect.unwrap_or(false);
            sandbox.bind = network.bind.unwrap_or(false);
        }
        if let Some(bytes) = raw.file_bytes {
            sandbox::check_file_bytes(bytes)
                .map_err(|rule| ManifestError::field("sandbox.file_bytes", rule))?;
            sandbox.file_bytes = bytes;
        }
    }

    let mode = execution_mode(raw.mode.as_deref(), raw.warm.map(|Object(warm)| warm))?;

    Ok(Manifest {
        manifest_version: ManifestVersion::V1,
        id: raw.id,
        version: raw.version,
        entry: raw.entry,
        routes,
        timeout: raw.timeout_ms,
        env,
        limits,
        sandbox,
        mode,
    })
}

/// `mode` and its `warm` object: the object only with its mode, every field in its range.
fn execution_mode(
    mode: Option<&str>,
    warm: Option<WarmV1>,
) -> Result<ExecutionMode, ManifestError> {
    let warm_mode = match mode {
        None | Some("fresh") => None,
        Some("warm") => Some(()),
        Some("prefork") => {
            return Err(ManifestError::field(
                "mode",
                "\"prefork\" is not implemented by this hhrf yet (spec/RUNNER.md, \"Prefork mode (planned)\"); use \"fresh\" or \"warm\"",
            ))
        }
        Some(other) => {
            return Err(ManifestError::field(
                "mode",
                format!(
                    "{other:?} is not an execution mode; use one of {}",
                    MODES.map(|name| format!("{name:?}")).join(", ")
                ),
            ))
        }
    };
    match (warm_mode, warm) {
        (None, None) => Ok(ExecutionMode::Fresh),
        (None, Some(_)) => Err(ManifestError::field(
            "warm",
            "is only allowed with \"mode\": \"warm\"",
        )),
        (Some(()), warm) => {
            let defaults = WarmSettings::default();
            let warm = warm.unwrap_or(WarmV1 {
                max_instances: None,
                max_calls: None,
                max_calls_jitter: None,
                idle_timeout_ms: None,
                max_rss_bytes: None,
            });
            let settings = WarmSettings {
                max_instances: warm.max_instances.unwrap_or(defaults.max_instances),
                max_calls: warm.max_calls.unwrap_or(defaults.max_calls),
                max_calls_jitter: warm.max_calls_jitter.unwrap_or(defaults.max_calls_jitter),
                idle_timeout_ms: warm.idle_timeout_ms.unwrap_or(defaults.idle_timeout_ms),
                max_rss_bytes: warm.max_rss_bytes,
            };
            settings
                .check()
                .map_err(|(field, rule)| ManifestError::field(format!("warm.{field}"), rule))?;
            Ok(ExecutionMode::Warm(settings))
        }
    }
}
