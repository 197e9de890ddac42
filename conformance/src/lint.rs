//! Checks on the vectors themselves, not on a codec: names, descriptions, spec references,
//! error coverage, counts and placeholders (the README's "Invariants" that a codec cannot see).
//!
//! [`Corpus::load`] reads and parses every case file once (no expansion, so it is cheap);
//! each [`Lint`] in [`LINTS`] looks at the whole corpus and returns its findings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fezz_abi::ErrorKind;

use crate::vectors::{self, Entry, MessageKind, Spec, VectorError};

/// Fewest valid message cases (request, response and error) the suite may have.
pub const MIN_VALID: usize = 45;
/// Fewest invalid message cases the suite may have.
pub const MIN_INVALID: usize = 20;
/// Fewest case files in all, frame cases and failures included.
pub const MIN_TOTAL: usize = 60;
/// Longest description, in characters (exclusive bound).
pub const MAX_DESCRIPTION_CHARS: usize = 120;

/// The frame error names of `spec/RUNNER.md` that frame cases can expect (`frame-io` cannot
/// happen on an in-memory stream).
pub const FRAME_ERRORS: [&str; 4] = [
    "frame-truncated",
    "frame-bad-magic",
    "frame-bad-kind",
    "frame-too-large",
];

/// Every case file of a vectors directory, read and parsed, plus where the spec lives.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The vectors directory (it holds `case.schema.json`).
    pub vectors_dir: PathBuf,
    /// The directory that `section` paths are relative to (`spec/`).
    pub spec_dir: PathBuf,
    /// Each case file with its parsed content (or why it did not parse).
    pub cases: Vec<(Entry, Result<Spec, VectorError>)>,
}

impl Corpus {
    /// Reads every case file under `vectors_dir`.
    pub fn load(vectors_dir: &Path, spec_dir: &Path) -> std::io::Result<Corpus> {
        let cases = vectors::discover(vectors_dir)?
            .into_iter()
            .map(|entry| {
                let spec = entry.read();
                (entry, spec)
            })
            .collect();
        Ok(Corpus {
            vectors_dir: vectors_dir.to_path_buf(),
            spec_dir: spec_dir.to_path_buf(),
            cases,
        })
    }

    /// The cases that parsed (the others fail their own trial).
    fn parsed(&self) -> impl Iterator<Item = (&Entry, &Spec)> {
        self.cases
            .iter()
            .filter_map(|(entry, spec)| spec.as_ref().ok().map(|spec| (entry, spec)))
    }
}

/// One check on the corpus.
#[derive(Debug, Clone, Copy)]
pub struct Lint {
    /// A short kebab-case name (trials are called `lint/<name>`).
    pub name: &'static str,
    /// Runs the check; each string is one finding. No findings: the check passes.
    pub run: fn(&Corpus) -> Vec<String>,
}

/// Every lint.
pub const LINTS: &[Lint] = &[
    Lint {
        name: "unique-names",
        run: unique_names,
    },
    Lint {
        name: "descriptions",
        run: descriptions,
    },
    Lint {
        name: "sections",
        run: sections,
    },
    Lint {
        name: "folders",
        run: folders,
    },
    Lint {
        name: "error-names",
        run: error_names,
    },
    Lint {
        name: "error-coverage",
        run: error_coverage,
    },
    Lint {
        name: "counts",
        run: counts,
    },
    Lint {
        name: "placeholders",
        run: placeholders,
    },
    Lint {
        name: "schema",
        run: schema,
    },
    Lint {
        name: "readme-links",
        run: readme_links,
    },
];

/// Every relative link in the vectors' `README.md` resolves: the file exists, and so does the
/// anchor, if any.
fn readme_links(corpus: &Corpus) -> Vec<String> {
    let readme = corpus.vectors_dir.join("README.md");
    let text = match std::fs::read_to_string(&readme) {
        Ok(text) => text,
        Err(error) => return vec![format!("cannot read {}: {error}", readme.display())],
    };
    let mut findings = Vec::new();
    for (at, _) in text.match_indices("](") {
        let rest = &text[at + 2..];
        let Some(end) = rest.find(')') else { continue };
        let target = &rest[..end];
        if target.contains("://") {
            continue;
        }
        let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
        let path = if file.is_empty() {
            readme.clone()
        } else {
            corpus.vectors_dir.join(file)
        };
        if !path.exists() {
            findings.push(format!("README.md links to {target}: no such file"));
        } else if !anchor.is_empty() {
            match file_anchors(&path) {
                Ok(anchors) if anchors.contains(anchor) => {}
                Ok(_) => findings.push(format!("README.md links to {target}: no such anchor")),
                Err(error) => findings.push(format!("README.md links to {target}: {error}")),
            }
        }
    }
    findings
}

/// The file name of the published case format schema, in the vectors directory.
pub const SCHEMA_FILE: &str = "case.schema.json";

/// Every case file validates against `case.schema.json` (so the published format and the
/// files agree; the loader's own strictness makes the loader agree too), and the schema's
/// list of error names is exactly the spec's.
fn schema(corpus: &Corpus) -> Vec<String> {
    let path = corpus.vectors_dir.join(SCHEMA_FILE);
    let schema: serde_json::Value = match std::fs::read_to_string(&path)
        .map_err(|error| error.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|error| error.to_string()))
    {
        Ok(schema) => schema,
        Err(error) => return vec![format!("cannot load {}: {error}", path.display())],
    };
    let mut findings = Vec::new();
    let names: BTreeSet<&str> = ErrorKind::ALL
        .iter()
        .map(|kind| kind.name())
        .chain(FRAME_ERRORS)
        .collect();
    let listed: BTreeSet<&str> = schema
        .pointer("/$defs/expect/properties/error/enum")
        .and_then(serde_json::Value::as_array)
        .map(|names| names.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    if listed != names {
        findings.push(format!(
            "{SCHEMA_FILE}: the expect.error enum is {listed:?}, the spec's names are {names:?}"
        ));
    }
    for (entry, _) in &corpus.cases {
        let value = std::fs::read_to_string(&entry.path)
            .map_err(|error| error.to_string())
            .and_then(|text| {
                toml::from_str::<toml::Value>(&text).map_err(|error| error.to_string())
            })
            .and_then(|value| serde_json::to_value(value).map_err(|error| error.to_string()));
        match value {
            Ok(value) => {
                let mut errors = Vec::new();
                validate(&schema, &schema, &value, "", &mut errors);
                findings.extend(
                    errors
                        .into_iter()
                        .map(|error| format!("{}: {error}", entry.name)),
                );
            }
            Err(error) => findings.push(format!("{}: not TOML: {error}", entry.name)),
        }
    }
    findings
}

/// A JSON Schema validator for the keywords `case.schema.json` uses; any other keyword is
/// reported, so the schema cannot silently say more than is checked.
fn validate(
    root: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    use serde_json::Value;
    let Some(schema) = schema.as_object() else {
        errors.push(format!("schema at {at:?} is not an object"));
        return;
    };
    let here = if at.is_empty() { "the document" } else { at };
    for (keyword, rule) in schema {
        match keyword.as_str() {
            "$schema" | "$id" | "title" | "description" | "$defs" | "$comment" => {}
            "$ref" => match rule
                .as_str()
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|r| root.pointer(r))
            {
                Some(target) => validate(root, target, value, at, errors),
                None => errors.push(format!("schema: unresolvable $ref {rule}")),
            },
            "type" => {
                let ok = match rule.as_str() {
                    Some("object") => value.is_object(),
                    Some("array") => value.is_array(),
                    Some("string") => value.is_string(),
                    Some("boolean") => value.is_boolean(),
                    Some("integer") => value.is_i64() || value.is_u64(),
                    _ => false,
                };
                if !ok {
                    errors.push(format!("{here} must be of type {rule}"));
                }
            }
            "enum" => {
                if !rule
                    .as_array()
                    .is_some_and(|options| options.contains(value))
                {
                    errors.push(format!("{here} must be one of {rule}, not {value}"));
                }
            }
            "required" => {
                for name in rule
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if value.get(name).is_none() {
                        errors.push(format!("{here} lacks the required field `{name}`"));
                    }
                }
            }
            "properties" | "additionalProperties" => {
                let Some(object) = value.as_object() else {
                    continue;
                };
                let properties = schema.get("properties").and_then(Value::as_object);
                for (name, item) in object {
                    let path = if at.is_empty() {
                        name.clone()
                    } else {
                        format!("{at}.{name}")
                    };
                    match properties.and_then(|properties| properties.get(name)) {
                        Some(sub) if keyword == "properties" => {
                            validate(root, sub, item, &path, errors)
                        }
                        Some(_) => {}
                        None if keyword == "additionalProperties" => match rule {
                            Value::Bool(false) => {
                                errors.push(format!("{path} is not a field of the case format"))
                            }
                            Value::Bool(true) => {}
                            sub => validate(root, sub, item, &path, errors),
                        },
                        None => {}
                    }
                }
            }
            "items" => {
                for (index, item) in value.as_array().into_iter().flatten().enumerate() {
                    validate(root, rule, item, &format!("{at}[{index}]"), errors);
                }
            }
            "minimum" | "maximum" | "maxLength" => {
                let limit = rule.as_f64().unwrap_or(f64::NAN);
                let (actual, what) = match (keyword.as_str(), value) {
                    ("maxLength", Value::String(text)) => {
                        (text.chars().count() as f64, "characters")
                    }
                    (_, Value::Number(number)) => (number.as_f64().unwrap_or(f64::NAN), "as value"),
                    _ => continue,
                };
                let ok = match keyword.as_str() {
                    "minimum" => actual >= limit,
                    _ => actual <= limit,
                };
                if !ok {
                    errors.push(format!("{here} has {actual} {what}, {keyword} is {limit}"));
                }
            }
            other => errors.push(format!(
                "schema keyword `{other}` is not supported by the lint's validator"
            )),
        }
    }
}

/// Runs every lint; returns the findings of those that fail, by lint name.
pub fn run_all(corpus: &Corpus) -> BTreeMap<&'static str, Vec<String>> {
    LINTS
        .iter()
        .map(|lint| (lint.name, (lint.run)(corpus)))
        .filter(|(_, findings)| !findings.is_empty())
        .collect()
}

/// Case names are unique even ignoring case (some file systems do), and so are descriptions.
fn unique_names(corpus: &Corpus) -> Vec<String> {
    let mut findings = Vec::new();
    let mut names = BTreeMap::new();
    for (entry, _) in &corpus.cases {
        if let Some(other) = names.insert(entry.name.to_lowercase(), &entry.name) {
            findings.push(format!("{} and {other} have the same name", entry.name));
        }
    }
    let mut descriptions = BTreeMap::new();
    for (entry, spec) in corpus.parsed() {
        if let Some(other) =
            descriptions.insert(spec.description.trim().to_lowercase(), &entry.name)
        {
            findings.push(format!(
                "{} has the same description as {other}",
                entry.name
            ));
        }
    }
    findings
}

/// Descriptions are short, present, and state facts ("should" belongs to no vector).
fn descriptions(corpus: &Corpus) -> Vec<String> {
    let mut findings = Vec::new();
    for (entry, spec) in corpus.parsed() {
        let description = spec.description.trim();
        let chars = description.chars().count();
        if description.is_empty() {
            findings.push(format!("{}: empty description", entry.name));
        }
        if chars >= MAX_DESCRIPTION_CHARS {
            findings.push(format!(
                "{}: description has {chars} characters (limit {})",
                entry.name,
                MAX_DESCRIPTION_CHARS - 1
            ));
        }
        if description
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word.eq_ignore_ascii_case("should"))
        {
            findings.push(format!(
                "{}: description says \"should\": {description:?}",
                entry.name
            ));
        }
    }
    findings
}

/// Every `section` names a file under the spec directory and an anchor that exists in it.
fn sections(corpus: &Corpus) -> Vec<String> {
    let mut findings = Vec::new();
    let mut anchors: BTreeMap<String, Result<BTreeSet<String>, String>> = BTreeMap::new();
    for (entry, spec) in corpus.parsed() {
        let Some((file, anchor)) = spec.section.split_once('#') else {
            findings.push(format!(
                "{}: section {:?} has no #anchor (write FILE#anchor)",
                entry.name, spec.section
            ));
            continue;
        };
        if file.is_empty() || file.contains("..") || file.starts_with('/') {
            findings.push(format!(
                "{}: section file {file:?} is not a path inside spec/",
                entry.name
            ));
            continue;
        }
        let known = anchors
            .entry(file.to_string())
            .or_insert_with(|| file_anchors(&corpus.spec_dir.join(file)));
        match known {
            Err(error) => findings.push(format!(
                "{}: section {:?}: {error}",
                entry.name, spec.section
            )),
            Ok(known) if !known.contains(anchor) => findings.push(format!(
                "{}: section {:?}: {file} has no anchor #{anchor} (it has: {})",
                entry.name,
                spec.section,
                known
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Ok(_) => {}
        }
    }
    findings
}

/// The anchors a spec file offers: for Markdown, the GitHub slugs of its headings (plus any
/// `<a id="…">`/`<a name="…">`); for CDDL, the names of the rules it defines.
pub fn file_anchors(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let cddl = path.extension().is_some_and(|ext| ext == "cddl");
    Ok(if cddl {
        cddl_rules(&text)
    } else {
        markdown_anchors(&text)
    })
}

fn cddl_rules(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let (name, _) = line.split_once('=')?;
            let name = name.trim_end().trim_end_matches('/').trim_end();
            let is_rule = !line.starts_with([' ', '\t', ';'])
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '$'));
            is_rule.then(|| name.to_string())
        })
        .collect()
}

fn markdown_anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            continue;
        }
        for marker in ["<a id=\"", "<a name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(marker) {
                let after = &rest[at + marker.len()..];
                if let Some(end) = after.find('"') {
                    anchors.insert(after[..end].to_string());
                }
                rest = after;
            }
        }
        let hashes = trimmed.bytes().take_while(|byte| *byte == b'#').count();
        if line.starts_with('#')
            && (1..=6).contains(&hashes)
            && trimmed[hashes..].starts_with([' ', '\t'])
        {
            let base = github_slug(trimmed[hashes..].trim().trim_end_matches('#').trim());
            let count = seen.entry(base.clone()).or_insert(0);
            anchors.insert(if *count == 0 {
                base.clone()
            } else {
                format!("{base}-{count}")
            });
            *count += 1;
        }
    }
    anchors
}

/// GitHub's anchor for a heading: lowercase; letters, digits, `-` and `_` kept; spaces become
/// `-`; everything else (punctuation, backticks, link brackets) dropped.
pub fn github_slug(heading: &str) -> String {
    // Links: keep their text, drop the target.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find("](") {
        text.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        rest = after.find(')').map_or("", |close| &after[close + 1..]);
    }
    text.push_str(rest);
    text.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The folder says what a case is: `request/`, `response/`, `error/` hold valid cases of that
/// message; `invalid/<message>/` invalid ones, each named after its error
/// (`duplicate-key-….toml`); `frame/` frame cases.
fn folders(corpus: &Corpus) -> Vec<String> {
    let mut findings = Vec::new();
    for (entry, spec) in corpus.parsed() {
        let parts: Vec<&str> = entry.name.split('/').collect();
        let stem = parts.last().unwrap_or(&"").trim_end_matches(".toml");
        let message = spec.message.name();
        let problem = match parts.as_slice() {
            [folder, _] if *folder == message && spec.message == MessageKind::Frame => None,
            [folder, _] if *folder == message && spec.expects_error() => Some(
                "a valid case has an expect.error; invalid cases go under invalid/".to_string(),
            ),
            [folder, _] if *folder == message => None,
            ["invalid", folder, _] if *folder == message && spec.message != MessageKind::Frame => {
                match &spec.expect.error {
                    None => Some("a case under invalid/ needs expect.error".to_string()),
                    Some(error) if !stem.starts_with(error.as_str()) => Some(format!(
                        "the name of an invalid case starts with its error ({error})"
                    )),
                    Some(_) => None,
                }
            }
            _ => Some(format!(
                "a {message} case belongs in {message}/{}",
                if spec.message == MessageKind::Frame {
                    ""
                } else {
                    " or invalid/<message>/"
                }
            )),
        };
        if let Some(problem) = problem {
            findings.push(format!("{}: {problem}", entry.name));
        }
    }
    findings
}

/// Every `expect.error` is an error name of the spec (`abi::ErrorKind` names for messages,
/// frame error names for frame cases).
fn error_names(corpus: &Corpus) -> Vec<String> {
    let mut findings = Vec::new();
    for (entry, spec) in corpus.parsed() {
        let Some(error) = &spec.expect.error else {
            continue;
        };
        let known = match spec.message {
            MessageKind::Frame => FRAME_ERRORS.contains(&error.as_str()),
            _ => ErrorKind::from_name(error).is_some(),
        };
        if !known {
            findings.push(format!(
                "{}: expect.error {error:?} is not a {} error name",
                entry.name,
                spec.message.name()
            ));
        }
    }
    findings
}

/// Every error name is expected by at least one case.
fn error_coverage(corpus: &Corpus) -> Vec<String> {
    let expected: BTreeSet<&str> = corpus
        .parsed()
        .filter_map(|(_, spec)| spec.expect.error.as_deref())
        .collect();
    ErrorKind::ALL
        .iter()
        .map(|kind| kind.name())
        .chain(FRAME_ERRORS)
        .filter(|name| !expected.contains(name))
        .map(|name| format!("no case expects the error `{name}`"))
        .collect()
}

/// The suite has at least [`MIN_VALID`] valid and [`MIN_INVALID`] invalid message cases and
/// [`MIN_TOTAL`] case files in all.
fn counts(corpus: &Corpus) -> Vec<String> {
    let messages = corpus
        .parsed()
        .filter(|(_, spec)| spec.message != MessageKind::Frame);
    let (invalid, valid): (Vec<_>, Vec<_>) = messages.partition(|(_, spec)| spec.expects_error());
    let mut findings = Vec::new();
    for (what, have, need) in [
        ("valid message cases", valid.len(), MIN_VALID),
        ("invalid message cases", invalid.len(), MIN_INVALID),
        ("case files", corpus.cases.len(), MIN_TOTAL),
    ] {
        if have < need {
            findings.push(format!("{have} {what}, fewer than the minimum of {need}"));
        }
    }
    findings
}

/// Every `[repeat]` table and `[input.raw]` entry is used, and raw splices appear only in
/// `input.diag`.
fn placeholders(corpus: &Corpus) -> Vec<String> {
    let mut findings = Vec::new();
    for (entry, spec) in corpus.parsed() {
        let mut texts: Vec<&str> = Vec::new();
        texts.extend(spec.input.diag.as_deref());
        texts.extend(spec.expect.canonical.as_deref());
        for frame in spec.input.frames.iter().flatten() {
            texts.push(&frame.payload);
        }
        let used: BTreeSet<String> = texts
            .iter()
            .flat_map(|text| vectors::placeholders(text))
            .collect();
        for name in spec.repeat.keys().chain(spec.input.raw.keys()) {
            if !used.contains(name) {
                findings.push(format!(
                    "{}: `{name}` is declared but `${{{name}}}` is never used",
                    entry.name
                ));
            }
        }
        let in_canonical: BTreeSet<String> = spec
            .expect
            .canonical
            .as_deref()
            .map(vectors::placeholders)
            .unwrap_or_default()
            .into_iter()
            .collect();
        for name in spec
            .input
            .raw
            .keys()
            .filter(|name| in_canonical.contains(*name))
        {
            findings.push(format!(
                "{}: raw splice `{name}` used in expect.canonical",
                entry.name
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_MD: &str =
        "# Profile\n\n## Decoder errors\n\n```\n## not a heading\n```\n\n## Limits\n## Limits\n";

    fn spec_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("PROFILE.md"), SPEC_MD).unwrap();
        std::fs::write(
            dir.path().join("wire.cddl"),
            "fezz-error = {\n  0: tstr,\n}\nheaders = [* header]\n",
        )
        .unwrap();
        dir
    }

    fn case(name: &str, text: &str) -> (Entry, Result<Spec, VectorError>) {
        let entry = Entry {
            name: name.into(),
            path: PathBuf::from(name),
        };
        (entry, Spec::parse(text))
    }

    fn invalid(section: &str, description: &str) -> String {
        format!(
            "description = {description:?}\nsection = {section:?}\nmessage = \"error\"\n\
             [input]\ndiag = \"{{}}\"\n[expect]\nerror = \"missing-key\"\n"
        )
    }

    fn corpus(dir: &Path, cases: Vec<(Entry, Result<Spec, VectorError>)>) -> Corpus {
        Corpus {
            vectors_dir: dir.to_path_buf(),
            spec_dir: dir.to_path_buf(),
            cases,
        }
    }

    #[test]
    fn anchors_follow_github() {
        let anchors = markdown_anchors(SPEC_MD);
        let expected: BTreeSet<String> = ["profile", "decoder-errors", "limits", "limits-1"]
            .map(String::from)
            .into();
        assert_eq!(anchors, expected);
        assert_eq!(
            github_slug("`too-large`: Sizes & [limits](x.md#y)"),
            "too-large-sizes--limits"
        );
        let rules = cddl_rules("fezz-error = {\n  0: tstr,\n}\nheaders = [* header]\nopt //= 1\n");
        assert!(
            rules.contains("fezz-error") && rules.contains("headers") && rules.contains("opt"),
            "{rules:?}"
        );
    }

    #[test]
    fn a_clean_corpus_has_no_findings_in_the_checked_lints() {
        let dir = spec_dir();
        let corpus = corpus(
            dir.path(),
            vec![
                case(
                    "invalid/error/missing-key-a.toml",
                    &invalid("PROFILE.md#decoder-errors", "no code"),
                ),
                case(
                    "invalid/error/missing-key-b.toml",
                    &invalid("wire.cddl#fezz-error", "no message"),
                ),
            ],
        );
        for lint in [
            "unique-names",
            "descriptions",
            "sections",
            "folders",
            "error-names",
            "placeholders",
        ] {
            let lint = LINTS.iter().find(|l| l.name == lint).unwrap();
            assert_eq!((lint.run)(&corpus), Vec::<String>::new(), "{}", lint.name);
        }
    }

    #[test]
    fn duplicate_names_and_descriptions_are_found() {
        let dir = spec_dir();
        let corpus = corpus(
            dir.path(),
            vec![
                case(
                    "invalid/error/missing-key-a.toml",
                    &invalid("PROFILE.md#limits", "same"),
                ),
                case(
                    "invalid/error/Missing-Key-A.toml",
                    &invalid("PROFILE.md#limits", "same"),
                ),
            ],
        );
        let findings = unique_names(&corpus);
        assert_eq!(findings.len(), 2, "{findings:?}");
        assert!(findings[0].contains("same name"), "{findings:?}");
    }

    #[test]
    fn missing_or_wrong_sections_are_found() {
        let dir = spec_dir();
        let corpus = corpus(
            dir.path(),
            vec![
                case(
                    "invalid/error/missing-key-a.toml",
                    &invalid("PROFILE.md", "a"),
                ),
                case(
                    "invalid/error/missing-key-b.toml",
                    &invalid("NOPE.md#limits", "b"),
                ),
                case(
                    "invalid/error/missing-key-c.toml",
                    &invalid("PROFILE.md#not-there", "c"),
                ),
                case(
                    "invalid/error/missing-key-d.toml",
                    &invalid("wire.cddl#fezz-request", "d"),
                ),
            ],
        );
        let findings = sections(&corpus);
        assert_eq!(findings.len(), 4, "{findings:#?}");
        assert!(findings[0].contains("no #anchor"));
        assert!(findings[1].contains("cannot read"));
        assert!(findings[2].contains("no anchor #not-there"));
        assert!(findings[3].contains("no anchor #fezz-request"));
    }

    #[test]
    fn bad_descriptions_are_found() {
        let dir = spec_dir();
        let long = "x".repeat(MAX_DESCRIPTION_CHARS);
        let corpus = corpus(
            dir.path(),
            vec![
                case(
                    "invalid/error/missing-key-a.toml",
                    &invalid("PROFILE.md#limits", "the decoder should reject it"),
                ),
                case(
                    "invalid/error/missing-key-b.toml",
                    &invalid("PROFILE.md#limits", &long),
                ),
            ],
        );
        assert_eq!(descriptions(&corpus).len(), 2);
    }

    #[test]
    fn uncovered_and_unknown_errors_are_found() {
        let dir = spec_dir();
        let corpus = corpus(
            dir.path(),
            vec![case(
                "invalid/error/no-such-error.toml",
                &invalid("PROFILE.md#limits", "a").replace("missing-key", "no-such-error"),
            )],
        );
        assert_eq!(error_names(&corpus).len(), 1);
        let uncovered = error_coverage(&corpus);
        assert_eq!(
            uncovered.len(),
            ErrorKind::ALL.len() + FRAME_ERRORS.len(),
            "{uncovered:?}"
        );
        assert!(counts(&corpus).len() == 3);
    }

    #[test]
    fn files_that_break_the_schema_are_found() {
        let dir = spec_dir();
        let published =
            std::fs::read_to_string(crate::vectors::default_dir().join(SCHEMA_FILE)).unwrap();
        std::fs::write(dir.path().join(SCHEMA_FILE), published).unwrap();
        let good = invalid("PROFILE.md#limits", "a");
        let bad = good
            .replace("[expect]", "[expect]\nofset = 3")
            .replace("message = \"error\"", "message = \"eror\"");
        let mut cases = Vec::new();
        for (name, text) in [
            ("invalid/error/missing-key-a.toml", &good),
            ("invalid/error/missing-key-b.toml", &bad),
        ] {
            let path = dir.path().join(name.replace('/', "-"));
            std::fs::write(&path, text).unwrap();
            cases.push((
                Entry {
                    name: name.into(),
                    path,
                },
                Spec::parse(text),
            ));
        }
        let findings = schema(&corpus(dir.path(), cases));
        assert_eq!(findings.len(), 2, "{findings:#?}");
        assert!(findings
            .iter()
            .all(|finding| finding.starts_with("invalid/error/missing-key-b.toml")));
        assert!(
            findings
                .iter()
                .any(|finding| finding.contains("expect.ofset is not a field")),
            "{findings:#?}"
        );
    }

    #[test]
    fn misplaced_cases_are_found() {
        let dir = spec_dir();
        let corpus = corpus(
            dir.path(),
            vec![
                case(
                    "error/missing-key-a.toml",
                    &invalid("PROFILE.md#limits", "a"),
                ),
                case(
                    "invalid/error/truncated-b.toml",
                    &invalid("PROFILE.md#limits", "b"),
                ),
                case(
                    "invalid/request/missing-key-c.toml",
                    &invalid("PROFILE.md#limits", "c"),
                ),
            ],
        );
        assert_eq!(folders(&corpus).len(), 3, "{:#?}", folders(&corpus));
    }
}
