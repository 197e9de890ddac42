//! The three places that name fuzz targets agree: `fezz_fuzz_oracles::TARGETS`, the files in
//! `fuzz/fuzz_targets/` (each opening with a `//! Oracle:` line that names its oracle and
//! calling it), and the `[[bin]]` entries of `fuzz/Cargo.toml`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fezz_fuzz_oracles::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn targets_are_sorted_and_unique() {
    let names: Vec<_> = TARGETS.iter().map(|target| target.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted);
}

#[test]
fn every_target_file_is_listed_and_names_its_oracle() {
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(fuzz_dir().join("fuzz_targets")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let target = fezz_fuzz_oracles::target(&name)
            .unwrap_or_else(|| panic!("{} is not in fezz_fuzz_oracles::TARGETS", path.display()));
        let first_line = source.lines().next().unwrap_or_default();
        assert!(
            first_line.starts_with(&format!("//! Oracle: `{}`", target.oracle)),
            "{} must open with \"//! Oracle: `{}`\"",
            path.display(),
            target.oracle
        );
        let function = target.oracle.rsplit("::").next().unwrap();
        assert!(
            source.contains(&format!("{function}(")),
            "{} does not call {}",
            path.display(),
            target.oracle
        );
        files.insert(name);
    }
    let listed: BTreeSet<_> = TARGETS
        .iter()
        .map(|target| target.name.to_string())
        .collect();
    assert_eq!(files, listed, "fuzz/fuzz_targets/*.rs and TARGETS differ");
}

#[test]
fn every_target_has_a_bin_in_the_fuzz_manifest() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let mut bins = BTreeSet::new();
    for section in manifest.split("[[bin]]").skip(1) {
        let field = |key: &str| {
            section
                .lines()
                .find_map(|line| {
                    line.strip_prefix(key)?
                        .trim()
                        .strip_prefix('=')?
                        .trim()
                        .strip_prefix('"')?
                        .strip_suffix('"')
                })
                .unwrap_or_else(|| panic!("a [[bin]] without {key}"))
                .to_string()
        };
        let (name, path) = (field("name"), field("path"));
        assert_eq!(path, format!("fuzz_targets/{name}.rs"));
        bins.insert(name);
    }
    let listed: BTreeSet<_> = TARGETS
        .iter()
        .map(|target| target.name.to_string())
        .collect();
    assert_eq!(bins, listed, "fuzz/Cargo.toml [[bin]]s and TARGETS differ");
}
