//! Replays fuzz inputs through the oracles on the stable toolchain, one trial per input:
//! every checked-in seed (`fuzz/seeds/<target>/*`), every crash ever found
//! (`fuzz/regressions/<target>/*`) and every built-in or vector-derived seed
//! (`fezz_fuzz_oracles::seeds`). A trial fails if the oracle panics, so a regression file
//! fails here until the bug it found is fixed.

use std::panic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fezz_fuzz_oracles::{seeds, target, TARGETS};
use libtest_mimic::{Arguments, Failed, Trial};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(target_name: &str, bytes: Vec<u8>) -> Result<(), Failed> {
    let target =
        target(target_name).ok_or_else(|| format!("no fuzz target named {target_name}"))?;
    panic::catch_unwind(|| (target.run)(&bytes)).map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(non-string panic)");
        Failed::from(format!("oracle of `{target_name}` failed: {message}"))
    })
}

/// One trial per file in `fuzz/<kind>/<target>/`; a folder that names no target is a failure.
/// Files directly in `fuzz/<kind>/` (a README) are not inputs.
fn file_trials(kind: &'static str) -> Vec<Trial> {
    let root = fuzz_dir().join(kind);
    let Ok(targets) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut trials = Vec::new();
    for entry in targets {
        let dir = entry.expect("readable directory").path();
        if !dir.is_dir() {
            continue; // a README
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if target(&name).is_none() {
            trials.push(Trial::test(format!("{kind}/{name}"), move || {
                Err(
                    format!("fuzz/{kind}/{name} names no target in fezz_fuzz_oracles::TARGETS")
                        .into(),
                )
            }));
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("readable directory") {
            let path = file.expect("readable directory").path();
            if path
                .file_name()
                .is_some_and(|file| file.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let trial_name = format!(
                "{kind}/{name}/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            let target_name = name.clone();
            trials.push(Trial::test(trial_name, move || {
                let bytes =
                    std::fs::read(&path).map_err(|error| format!("{}: {error}", path.display()))?;
                run(&target_name, bytes)
            }));
        }
    }
    trials
}

fn main() -> ExitCode {
    let arguments = Arguments::from_args();
    let mut trials = file_trials("seeds");
    trials.extend(file_trials("regressions"));
    for seed in seeds::all(&fuzz_dir().join("../spec/vectors")).expect("spec/vectors is readable") {
        let name = format!("generated/{}/{}", seed.target, seed.name);
        trials.push(Trial::test(name, move || run(seed.target, seed.bytes)));
    }
    // Every target runs at least on empty input.
    for target in TARGETS {
        trials.push(Trial::test(format!("empty/{}", target.name), || {
            run(target.name, Vec::new())
        }));
    }
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    libtest_mimic::run(&arguments, trials).exit_code()
}
