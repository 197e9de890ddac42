//! Lints for the JSON vectors of the runner and http levels (`spec/vectors/runner/*.json`,
//! `spec/vectors/http/*.json`), the counterpart of [`crate::lint`] for the TOML codec vectors:
//! every file parses into its level's case type, cites a `FILE#anchor` that exists under
//! `spec/`, and has a short description without "should", unique within its folder.

use std::collections::BTreeSet;
use std::path::Path;

use crate::http_level::HttpVector;
use crate::lint::file_anchors;
use crate::runner_level::{list_json, RunnerVector};

/// Longest description, in characters (the codec vectors' limit too).
pub const MAX_DESCRIPTION_CHARS: usize = 120;

/// Every finding, one line each; empty when the vectors are clean.
pub fn lint(vectors_dir: &Path, spec_dir: &Path) -> Vec<String> {
    let mut findings = Vec::new();
    for folder in ["runner", "http"] {
        let files = match list_json(vectors_dir, folder) {
            Ok(files) => files,
            Err(error) => {
                findings.push(error);
                continue;
            }
        };
        if files.is_empty() {
            findings.push(format!("{folder}/ has no vectors"));
        }
        let mut descriptions = BTreeSet::new();
        for (name, path) in files {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) => {
                    findings.push(format!("{name}: {error}"));
                    continue;
                }
            };
            let parsed = if folder == "runner" {
                RunnerVector::parse(&text).map(|vector| (vector.description, vector.section))
            } else {
                serde_json::from_str::<HttpVector>(&text)
                    .map(|vector| (vector.description, vector.section))
                    .map_err(|error| error.to_string())
            };
            let (description, section) = match parsed {
                Ok(fields) => fields,
                Err(error) => {
                    findings.push(format!("{name}: {error}"));
                    continue;
                }
            };
            if description.chars().count() > MAX_DESCRIPTION_CHARS {
                findings.push(format!(
                    "{name}: the description is longer than {MAX_DESCRIPTION_CHARS} characters"
                ));
            }
            if description.to_lowercase().contains("should") {
                findings.push(format!(
                    "{name}: the description says \"should\"; state what happens"
                ));
            }
            if !descriptions.insert(description.clone()) {
                findings.push(format!(
                    "{name}: the description {description:?} is used twice in {folder}/"
                ));
            }
            findings.extend(check_section(&name, &section, spec_dir));
        }
    }
    findings
}

fn check_section(name: &str, section: &str, spec_dir: &Path) -> Option<String> {
    let Some((file, anchor)) = section.split_once('#') else {
        return Some(format!(
            "{name}: section {section:?} has no #anchor (write FILE#anchor)"
        ));
    };
    match file_anchors(&spec_dir.join(file)) {
        Ok(anchors) if anchors.contains(anchor) => None,
        Ok(_) => Some(format!(
            "{name}: section {section:?}: {file} has no anchor #{anchor}"
        )),
        Err(error) => Some(format!("{name}: section {section:?}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_runner_and_http_vectors_are_clean() {
        let vectors = crate::vectors::default_dir();
        let findings = super::lint(&vectors, &vectors.join(".."));
        assert!(findings.is_empty(), "{}", findings.join("\n"));
    }
}
