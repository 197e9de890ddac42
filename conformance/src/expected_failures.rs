//! Expected-failure lists (`--expected-failures <file>`), checked both ways: a listed case
//! that fails passes (its failure is printed as a note), a listed case that passes fails
//! ("listed as expected to fail but passed"), and a listed name that matches no case fails
//! too, so a list cannot rot.
//!
//! The file has one case per line, written as `--list` prints it without `: test`
//! (`[runner] runner/abort.json`); blank lines and lines starting with `#` are ignored.

use std::collections::BTreeSet;
use std::path::Path;

use libtest_mimic::{Failed, Trial};

/// A check before it becomes a libtest-mimic trial: what every level produces.
pub struct Case {
    /// The level (`runner`, `function`, `http`, `codec`), shown as `[kind]`.
    pub kind: &'static str,
    /// The case's name: the vector's path relative to `spec/vectors/`, or `generated/…`.
    pub name: String,
    /// The check.
    pub run: Box<dyn FnOnce() -> Result<(), Failed> + Send + 'static>,
}

impl Case {
    /// A case of level `kind`.
    pub fn new(
        kind: &'static str,
        name: impl Into<String>,
        run: impl FnOnce() -> Result<(), String> + Send + 'static,
    ) -> Case {
        Case {
            kind,
            name: name.into(),
            run: Box::new(move || run().map_err(Failed::from)),
        }
    }

    /// `[kind] name`, as `--list` prints it.
    pub fn full_name(&self) -> String {
        format!("[{}] {}", self.kind, self.name)
    }
}

/// Sorts the cases by name and turns them into trials, inverting the listed ones and adding a
/// failing trial for each listed name that matches no case.
pub fn into_trials(mut cases: Vec<Case>, expected: &ExpectedFailures) -> Vec<Trial> {
    cases.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let known: BTreeSet<String> = cases.iter().map(Case::full_name).collect();
    let mut trials: Vec<Trial> = cases
        .into_iter()
        .map(|case| {
            let listed = expected.contains(&case.full_name());
            let run = case.run;
            Trial::test(
                case.name,
                move || if listed { invert(run()) } else { run() },
            )
            .with_kind(case.kind)
        })
        .collect();
    for name in &expected.names {
        if !known.contains(name) {
            let listed = name.clone();
            trials.push(
                Trial::test(format!("expected-failures/{name}"), move || {
                    Err(Failed::from(format!(
                        "{listed:?} is listed as expected to fail but no such case exists (see --list)"
                    )))
                })
                .with_kind("list"),
            );
        }
    }
    trials
}

/// The listed case names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedFailures {
    names: BTreeSet<String>,
}

impl ExpectedFailures {
    /// Reads a list file.
    pub fn load(path: &Path) -> Result<ExpectedFailures, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("reading {}: {error}", path.display()))?;
        Ok(ExpectedFailures::parse(&text))
    }

    /// Parses a list.
    pub fn parse(text: &str) -> ExpectedFailures {
        let names = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| line.strip_suffix(": test").unwrap_or(line).to_owned())
            .collect();
        ExpectedFailures { names }
    }

    /// Whether `name` (`[kind] name`) is listed.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }
}

/// Turns a check's result into the trial's result for a case listed as expected to fail.
pub fn invert(result: Result<(), Failed>) -> Result<(), Failed> {
    match result {
        Ok(()) => Err(Failed::from(
            "listed as expected to fail but passed: remove it from the expected-failures file",
        )),
        Err(failure) => {
            let reason = failure.message().unwrap_or("(no message)");
            let first = reason.lines().next().unwrap_or_default();
            println!("note: expected failure: {first}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_comments_and_list_suffixes() {
        let list = ExpectedFailures::parse(
            "# why\n[runner] runner/abort.json\n\n[http] http/hang.json: test\n",
        );
        assert!(list.contains("[runner] runner/abort.json"));
        assert!(list.contains("[http] http/hang.json"));
        assert!(!list.contains("# why"));
    }

    #[test]
    fn inverts_both_ways() {
        assert!(invert(Ok(())).is_err());
        assert!(invert(Err("boom".into())).is_ok());
    }
}
