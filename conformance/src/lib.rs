//! The fezz conformance suite as a library: the golden vectors of `spec/vectors/`, the checks
//! that run them against a codec, and the lints that keep the vectors honest.
//!
//! 1. [`vectors::discover`] lists the case files of a vectors directory (sorted, named by their
//!    relative path); [`vectors::Entry::load`] parses one and expands it into a
//!    [`vectors::Case`]: input bytes and the expected outcome.
//! 2. [`codec::check`] runs one case against a [`codec::Codec`] ([`codec::Reference`] is the
//!    `fezz-abi` codec) and explains any difference in CBOR diagnostic notation.
//! 3. [`lint::Corpus::load`] reads every case once; [`lint::LINTS`] are the checks on the
//!    vectors themselves (names, descriptions, sections, error coverage, counts).
//!
//! ```no_run
//! use fezz_conformance::{codec, vectors};
//!
//! for entry in vectors::discover(&vectors::default_dir()).unwrap() {
//!     let case = entry.load().unwrap();
//!     if let Err(failure) = codec::check(&codec::Reference, &case) {
//!         eprintln!("{}: {failure}", entry.name);
//!     }
//! }
//! ```
//!
//! `spec/vectors/README.md` describes the case format for implementations in other languages.
#![deny(missing_docs)]

pub mod codec;
pub mod lint;
pub mod vectors;

// The levels of `fezz-conformance` beyond the codec (conformance/README.md): running runners,
// functions and servers, and the support they share.
pub mod abi_check;
pub mod artifacts;
pub mod diff;
pub mod expected_failures;
pub mod function_level;
pub mod http_level;
pub mod json_lint;
pub mod messages;
pub mod process;
pub mod request_vectors;
pub mod requirements;
pub mod runner_level;
