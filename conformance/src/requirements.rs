//! The contract's requirements and the cases that exercise them.
//!
//! Every requirement of `spec/RUNNER.md`, `spec/ABI.md` and `spec/CBOR-PROFILE.md` carries a
//! stable id in brackets after its sentence: `[req:` + id + `]`. The prefix says who must meet
//! it and where its cases are:
//!
//! | Prefix | Who | Cited by |
//! |---|---|---|
//! | `runner-` | a runner | runner vectors (`spec/vectors/runner/*.json`, `requirements`) and the runner level's generated cases |
//! | `function-` | a function library | the function level's cases |
//! | `codec-` | a decoder or encoder | the codec level and the runner level's generated cases |
//! | `host-` | a host | hhrf's tests (`hhrf/tests`, `hhrf/src`: a `[req:…]` comment next to the test) |
//!
//! [`lint`] fails when an id has no case, a case cites an id that does not exist, an id is
//! given twice, or a paragraph of those files says MUST or SHOULD without an id; and when the
//! table in `conformance/README.md` ("Requirements") is not the one [`table`] renders
//! (`FEZZ_BLESS=1` rewrites it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::function_level;
use crate::http_level::HttpVector;
use crate::runner_level::{self, list_json, RunnerVector};

/// The spec files whose requirements carry ids.
pub const SPEC_FILES: [&str; 3] = ["RUNNER.md", "ABI.md", "CBOR-PROFILE.md"];

/// The id prefixes, one per kind of implementation.
pub const PREFIXES: [&str; 4] = ["runner-", "function-", "codec-", "host-"];

/// Cases of the codec level that exercise codec requirements (its cases are generated from the
/// vectors, so they cite by folder).
pub const CODEC_CITATIONS: &[(&str, &[&str])] = &[
    (
        "codec: every vector with canonical = true",
        &["codec-deterministic-encoding"],
    ),
    (
        "codec: request/*, response/*, error/* (non-canonical encodings decode)",
        &["codec-accept-non-deterministic"],
    ),
    (
        "codec: invalid/* (UTF-8, lengths past the bytes left or the limits)",
        &["codec-utf8", "codec-checked-lengths"],
    ),
    (
        "abi/tests/allocation.rs (the reference decoder's bound, measured)",
        &["codec-allocation-bound"],
    ),
];

/// One requirement as the spec states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The id, e.g. `runner-usage`.
    pub id: String,
    /// The spec file, e.g. `RUNNER.md`.
    pub file: String,
    /// The 1-based line of its tag.
    pub line: usize,
    /// `MUST`, `SHOULD`, or `rule` (a normative statement without the keywords).
    pub strength: &'static str,
}

/// The paragraphs of a Markdown text, as (first line number, text); a table row or a list
/// item is a paragraph of its own.
fn paragraphs(text: &str) -> Vec<(usize, String)> {
    let mut blocks: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let starts_item = trimmed.starts_with("| ")
            || trimmed.starts_with("- ")
            || trimmed
                .split_once(". ")
                .is_some_and(|(number, _)| number.chars().all(|c| c.is_ascii_digit()));
        if trimmed.is_empty() {
            open = false;
            continue;
        }
        if !open || starts_item || trimmed.starts_with('#') {
            blocks.push((index + 1, String::new()));
            open = !trimmed.starts_with('#');
        }
        if let Some((_, block)) = blocks.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

/// MUST or SHOULD, as the sentence that ends with tag `id` says (the text between the previous
/// sentence's end and the tag); `None` when it says neither.
fn sentence_strength(block: &str, id: &str) -> Option<&'static str> {
    let end = block.find(&format!("[req:{id}]"))?;
    let before = &block[..end];
    let start = [". ", ".\n", "; ", ": "]
        .iter()
        .filter_map(|mark| before.rfind(mark).map(|at| at + mark.len()))
        .max()
        .unwrap_or(0);
    let sentence = &before[start..];
    let says = |word: &str| {
        sentence
            .split(|c: char| !c.is_ascii_alphabetic())
            .any(|token| token == word)
    };
    if says("MUST") {
        Some("MUST")
    } else if says("SHOULD") {
        Some("SHOULD")
    } else {
        None
    }
}

/// The `[req:…]` tags of a text, as (id, 1-based line).
fn tags(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("[req:") {
            let after = &rest[start + 5..];
            let Some(end) = after.find(']') else {
                break;
            };
            found.push((after[..end].to_owned(), index + 1));
            rest = &after[end..];
        }
    }
    found
}

/// The requirements of the spec, and findings about the spec's tags.
pub fn spec_requirements(spec_dir: &Path) -> (Vec<Requirement>, Vec<String>) {
    let mut requirements: Vec<Requirement> = Vec::new();
    let mut findings = Vec::new();
    for file in SPEC_FILES {
        let path = spec_dir.join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => {
                findings.push(format!("reading {}: {error}", path.display()));
                continue;
            }
        };
        for (line, block) in paragraphs(&text) {
            let says = |word: &str| {
                block
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .any(|token| token == word)
            };
            let strength = if says("MUST") {
                "MUST"
            } else if says("SHOULD") {
                "SHOULD"
            } else {
                "rule"
            };
            let block_tags = tags(&block);
            if strength != "rule" && block_tags.is_empty() && !block.contains("RFC 2119") {
                findings.push(format!(
                    "{file}:{line}: a paragraph says {strength} but carries no [req:…] id"
                ));
            }
            for (id, offset) in block_tags {
                let strength = sentence_strength(&block, &id).unwrap_or("rule");
                if !PREFIXES.iter().any(|prefix| id.starts_with(prefix))
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    findings.push(format!(
                        "{file}:{}: requirement id {id:?} is not kebab-case starting with one of {}",
                        line + offset - 1,
                        PREFIXES.join(", ")
                    ));
                }
                if let Some(first) = requirements.iter().find(|known| known.id == id) {
                    findings.push(format!(
                        "{file}:{}: requirement id {id} is given twice (first at {}:{})",
                        line + offset - 1,
                        first.file,
                        first.line
                    ));
                    continue;
                }
                requirements.push(Requirement {
                    id,
                    file: file.to_owned(),
                    line: line + offset - 1,
                    strength,
                });
            }
        }
    }
    (requirements, findings)
}

/// Which cases cite which requirement ids: id → case names.
pub fn citations(
    vectors_dir: &Path,
    repo_dir: &Path,
) -> (BTreeMap<String, BTreeSet<String>>, Vec<String>) {
    let mut cited: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut cite = |id: &str, case: String| {
        cited.entry(id.to_owned()).or_default().insert(case);
    };
    match list_json(vectors_dir, "runner") {
        Ok(files) => {
            for (name, path) in files {
                match std::fs::read_to_string(&path)
                    .map_err(|error| error.to_string())
                    .and_then(|text| RunnerVector::parse(&text))
                {
                    Ok(vector) => {
                        for id in &vector.requirements {
                            cite(id, name.clone());
                        }
                    }
                    Err(error) => findings.push(format!("{name}: {error}")),
                }
            }
        }
        Err(error) => findings.push(error),
    }
    if let Ok(files) = list_json(vectors_dir, "http") {
        for (name, path) in files {
            if let Ok(vector) = std::fs::read_to_string(&path)
                .map_err(|error| error.to_string())
                .and_then(|text| {
                    serde_json::from_str::<HttpVector>(&text).map_err(|error| error.to_string())
                })
            {
                for id in &vector.requirements {
                    cite(id, name.clone());
                }
            }
        }
    }
    for (case, ids) in runner_level::GENERATED_CITATIONS
        .iter()
        .chain(function_level::CITATIONS)
        .chain(CODEC_CITATIONS)
    {
        for id in *ids {
            cite(id, (*case).to_owned());
        }
    }
    for (name, text) in host_test_files(repo_dir) {
        for (id, _) in tags(&text) {
            cite(&id, name.clone());
        }
    }
    (cited, findings)
}

/// `hhrf/tests/**/*.rs` and `hhrf/src/**/*.rs` (whose unit tests may cite too), as (path relative to the repository, text).
fn host_test_files(repo_dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = vec![repo_dir.join("hhrf/tests"), repo_dir.join("hhrf/src")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    let name = path
                        .strip_prefix(repo_dir)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    files.push((name, text));
                }
            }
        }
    }
    files.sort();
    files
}

/// The Markdown table of requirements and their cases, as `conformance/README.md` shows it.
pub fn table(requirements: &[Requirement], cited: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut text = String::from("| Requirement | Where | Kind | Cases |\n|---|---|---|---|\n");
    for requirement in requirements {
        let cases: Vec<String> = cited
            .get(&requirement.id)
            .map(|cases| cases.iter().map(|case| format!("`{case}`")).collect())
            .unwrap_or_default();
        text.push_str(&format!(
            "| `{}` | [{}](../spec/{}) | {} | {} |\n",
            requirement.id,
            requirement.file,
            requirement.file,
            requirement.strength,
            cases.join(", ")
        ));
    }
    text
}

const TABLE_BEGIN: &str = "<!-- requirements table: generated by the lint/requirements case; FEZZ_BLESS=1 rewrites it -->\n";
const TABLE_END: &str = "<!-- end of the requirements table -->";

/// Every finding, one line each; empty when every requirement has a case, every citation a
/// requirement, and the README's table is current. With `bless`, rewrites the README table.
pub fn lint(vectors_dir: &Path, spec_dir: &Path, bless: bool) -> Vec<String> {
    let repo_dir = spec_dir.join("..");
    let (requirements, mut findings) = spec_requirements(spec_dir);
    let (cited, citation_findings) = citations(vectors_dir, &repo_dir);
    findings.extend(citation_findings);
    let known: BTreeSet<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
    for requirement in &requirements {
        if !cited.contains_key(&requirement.id) {
            findings.push(format!(
                "{}:{}: requirement {} has no case (cite it in a case's `requirements`)",
                requirement.file, requirement.line, requirement.id
            ));
        }
    }
    for (id, cases) in &cited {
        if !known.contains(id.as_str()) {
            let cases: Vec<&str> = cases.iter().map(String::as_str).collect();
            findings.push(format!(
                "{} cite requirement {id}, which no spec file defines",
                cases.join(", ")
            ));
        }
    }
    let readme = repo_dir.join("conformance/README.md");
    let expected = table(&requirements, &cited);
    match std::fs::read_to_string(&readme) {
        Ok(text) => match (text.find(TABLE_BEGIN), text.find(TABLE_END)) {
            (Some(begin), Some(end)) if begin < end => {
                let current = &text[begin + TABLE_BEGIN.len()..end];
                if current != expected {
                    if bless {
                        let updated =
                            format!("{}{TABLE_BEGIN}{expected}{}", &text[..begin], &text[end..]);
                        if let Err(error) = std::fs::write(&readme, updated) {
                            findings.push(format!("writing {}: {error}", readme.display()));
                        }
                    } else {
                        findings.push(format!(
                            "the requirements table in {} is out of date (regenerate it with FEZZ_BLESS=1)\n{}",
                            readme.display(),
                            crate::diff::line_diff(current, &expected)
                        ));
                    }
                }
            }
            _ => findings.push(format!(
                "{} has no requirements table between {TABLE_BEGIN:?} and {TABLE_END:?}",
                readme.display()
            )),
        },
        Err(error) => findings.push(format!("reading {}: {error}", readme.display())),
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_requirements_and_duplicates_are_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("RUNNER.md"),
            "Intro, as in RFC 2119: MUST.\n\nA runner MUST do it [req:runner-a].\n\n- a host MUST do that\n- and [req:runner-a] again\n\n| x | a runner SHOULD [req:runner-b] |\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("ABI.md"), "Nothing normative.\n").unwrap();
        std::fs::write(dir.path().join("CBOR-PROFILE.md"), "[req:Bad_Id]\n").unwrap();
        let (requirements, findings) = spec_requirements(dir.path());
        let ids: Vec<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["runner-a", "runner-b", "Bad_Id"]);
        assert_eq!(requirements[1].strength, "SHOULD");
        assert_eq!(findings.len(), 3, "{findings:#?}");
        assert!(findings[0].contains("RUNNER.md:5: a paragraph says MUST"));
        assert!(findings[1].contains("given twice"));
        assert!(findings[2].contains("not kebab-case"));
    }
}
