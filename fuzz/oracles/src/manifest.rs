//! Oracle for `fezz.json` parsing: arbitrary bytes through `hhrf::manifest::Manifest::parse`.
//!
//! Properties: no panic; an error has a non-empty rule; an accepted manifest came from at most
//! `MAX_MANIFEST_BYTES` of JSON, an object with only the documented fields, and satisfies the
//! documented invariants, checked here independently: id and version are 1 to 64 bytes of
//! `[A-Za-z0-9._-]` not starting with `.` (so `functions/<id>@<version>` is one plain folder,
//! never a path escape), `entry` is one plain file name in that folder, routes are at most
//! `MAX_ROUTES` patterns starting with `/`, the timeout is within 1..=`MAX_TIMEOUT_MS`, env
//! names are unique, sorted, `[A-Za-z_][A-Za-z0-9_]*` without the `FEZZ_` prefix and values
//! are within their limit and free of NUL; `limits` holds only the four documented fields, each
//! within its documented range (`Limits::range`); each value is the one the JSON holds; parsing is
//! deterministic and the manifest's own folder name passes `check_folder`.

use std::path::{Component, Path};

use fezz_abi::runner_protocol::ResourceLimit;
use hhrf::manifest::{
    Limits, Manifest, ManifestVersion, MAX_ENV_ENTRIES, MAX_ENV_NAME_BYTES, MAX_ENV_VALUE_BYTES,
    MAX_MANIFEST_BYTES, MAX_NAME_BYTES, MAX_ROUTES, MAX_TIMEOUT_MS,
};
use serde_json::Value;

const FIELDS: [&str; 8] = [
    "id",
    "version",
    "entry",
    "routes",
    "timeout_ms",
    "env",
    "limits",
    "manifest_version",
];

fn check_name(what: &str, value: &str) {
    assert!(
        (1..=MAX_NAME_BYTES).contains(&value.len())
            && !value.starts_with('.')
            && value
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte)),
        "accepted {what} {value:?} breaks the name rule"
    );
}

/// `name` joined to `dir` is one plain entry directly inside `dir`.
fn stays_inside(dir: &str, name: &str) -> bool {
    let joined = Path::new(dir).join(name);
    let components: Vec<_> = joined.components().collect();
    joined.parent() == Some(Path::new(dir))
        && components.len() == 2
        && matches!(components[1], Component::Normal(_))
}

/// Oracle of the `manifest` target.
pub fn manifest(data: &[u8]) {
    let manifest = match Manifest::parse(data) {
        Ok(manifest) => manifest,
        Err(error) => {
            assert!(!error.rule.is_empty(), "an error without a rule: {error:?}");
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    assert!(data.len() <= MAX_MANIFEST_BYTES);
    let json: Value = serde_json::from_slice(data).expect("an accepted manifest is JSON");
    let object = json
        .as_object()
        .expect("an accepted manifest is a JSON object");
    for key in object.keys() {
        assert!(
            FIELDS.contains(&key.as_str()),
            "accepted an unknown field {key:?}"
        );
    }

    assert_eq!(manifest.manifest_version, ManifestVersion::V1);
    if let Some(version) = object.get("manifest_version") {
        assert_eq!(
            version.as_u64(),
            Some(1),
            "accepted manifest_version {version}"
        );
    }

    let (id, version, entry) = (
        manifest.id.as_str(),
        manifest.version.as_str(),
        manifest.entry.as_str(),
    );
    assert_eq!(object["id"], id);
    assert_eq!(object["version"], version);
    assert_eq!(object["entry"], entry);
    check_name("id", id);
    check_name("version", version);
    let name = manifest.name();
    assert_eq!(name, format!("{id}@{version}"));
    assert!(
        stays_inside("functions", &name),
        "folder name {name:?} escapes functions/"
    );
    assert!(
        !entry.is_empty()
            && entry.len() <= 255
            && !entry.contains(['\0', '\\'])
            && stays_inside("folder", entry),
        "entry {entry:?} is not a plain file name in the function folder"
    );
    manifest
        .check_folder(&name)
        .expect("the manifest's own folder name");

    let routes = object["routes"].as_array().expect("routes is an array");
    assert!(manifest.routes.len() <= MAX_ROUTES);
    assert_eq!(manifest.routes.len(), routes.len());
    for (route, raw) in manifest.routes.iter().zip(routes) {
        let path = route.path.as_str();
        assert!(
            path.starts_with('/'),
            "route path {path:?} does not start with '/'"
        );
        assert_eq!(raw["path"], path);
        match (&route.method, raw.get("method")) {
            (None, None) => {}
            (Some(method), Some(raw)) => assert_eq!(raw, method.as_str()),
            (method, raw) => panic!("route method {method:?} but JSON {raw:?}"),
        }
    }

    match (manifest.timeout, object.get("timeout_ms")) {
        (None, None) => {}
        (Some(timeout), Some(raw)) => {
            let ms = timeout.as_millis();
            assert!(
                (1..=MAX_TIMEOUT_MS).contains(&ms),
                "timeout {ms} out of range"
            );
            assert_eq!(raw.as_u64(), Some(ms));
        }
        (timeout, raw) => panic!("timeout {timeout:?} but JSON {raw:?}"),
    }

    let raw_env = object.get("env").and_then(Value::as_object);
    assert_eq!(manifest.env.len(), raw_env.map_or(0, |env| env.len()));
    assert!(manifest.env.len() <= MAX_ENV_ENTRIES);
    for pair in manifest.env.windows(2) {
        assert!(pair[0].0 < pair[1].0, "env names not unique and sorted");
    }
    for (env_name, value) in &manifest.env {
        let env_name = env_name.as_str();
        let mut bytes = env_name.bytes();
        let first = bytes.next().expect("non-empty");
        assert!(
            env_name.len() <= MAX_ENV_NAME_BYTES
                && (first.is_ascii_alphabetic() || first == b'_')
                && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
                && !env_name.starts_with("FEZZ_"),
            "env name {env_name:?} breaks its rule"
        );
        assert!(
            value.len() <= MAX_ENV_VALUE_BYTES && !value.contains('\0'),
            "env {env_name} value"
        );
        assert_eq!(
            raw_env.and_then(|env| env.get(env_name)),
            Some(&Value::from(value.as_str()))
        );
    }

    let raw_limits = object.get("limits").map(|limits| {
        limits
            .as_object()
            .expect("accepted limits that are not an object")
    });
    if let Some(raw_limits) = raw_limits {
        for key in raw_limits.keys() {
            assert!(
                ResourceLimit::ALL
                    .iter()
                    .any(|limit| limit.manifest_field() == key),
                "accepted an unknown limit {key:?}"
            );
        }
    }
    for limit in ResourceLimit::ALL {
        let raw = raw_limits.and_then(|limits| limits.get(limit.manifest_field()));
        match (manifest.limits.get(limit), raw) {
            (None, None) => {}
            (Some(value), Some(raw)) => {
                assert!(
                    Limits::range(limit).contains(&value),
                    "{} {value} out of range",
                    limit.manifest_field()
                );
                assert_eq!(raw.as_u64(), Some(value));
            }
            (value, raw) => panic!("{} {value:?} but JSON {raw:?}", limit.manifest_field()),
        }
    }

    assert_eq!(
        Manifest::parse(data).as_ref(),
        Ok(&manifest),
        "parsing is not deterministic"
    );
}
