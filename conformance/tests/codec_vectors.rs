//! The golden vectors against the reference codec: one trial per case file of `spec/vectors/`
//! (named by its relative path, sorted), then the vector lints as `lint/<name>` trials.
//!
//! `cargo test -p fezz-conformance --test codec_vectors -- <filter>` runs a subset, as usual.

use std::process::ExitCode;

use fezz_conformance::codec::{self, Reference};
use fezz_conformance::lint::{Corpus, LINTS};
use fezz_conformance::vectors;
use libtest_mimic::{Arguments, Failed, Trial};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let dir = vectors::default_dir();
    let spec_dir = dir.join("..");
    let entries = match vectors::discover(&dir) {
        Ok(entries) => entries,
        Err(error) => {
            eprintln!("cannot list {}: {error}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let mut trials: Vec<Trial> = entries
        .into_iter()
        .map(|entry| {
            Trial::test(entry.name.clone(), move || {
                let case = entry
                    .load()
                    .map_err(|error| Failed::from(format!("{}: {error}", entry.path.display())))?;
                codec::check(&Reference, &case).map_err(|failure| Failed::from(failure.to_string()))
            })
        })
        .collect();
    match Corpus::load(&dir, &spec_dir) {
        Ok(corpus) => {
            let corpus = std::sync::Arc::new(corpus);
            trials.extend(LINTS.iter().map(|lint| {
                let corpus = corpus.clone();
                Trial::test(format!("lint/{}", lint.name), move || {
                    let findings = (lint.run)(&corpus);
                    if findings.is_empty() {
                        Ok(())
                    } else {
                        Err(findings.join("\n").into())
                    }
                })
            }));
        }
        Err(error) => trials.push(Trial::test("lint/load", move || {
            Err(format!("cannot load the vectors: {error}").into())
        })),
    }
    libtest_mimic::run(&args, trials).exit_code()
}
