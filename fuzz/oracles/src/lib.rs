//! Oracles and input generators for fezz's fuzz targets.
//!
//! The targets in `fuzz/fuzz_targets/` are thin glue: each hands its input to one function
//! here and lets it panic on a violated property. Keeping the properties in this normal crate
//! means `cargo test` on the stable toolchain builds and exercises them, and replays every
//! checked-in seed (`fuzz/seeds/<target>/`) and every crash ever found
//! (`fuzz/regressions/<target>/`) through the very same code (`tests/replay.rs`).
//!
//! 1. Add a target: write its oracle here, list it in [`TARGETS`], add
//!    `fuzz/fuzz_targets/<name>.rs` and a `[[bin]]` in `fuzz/Cargo.toml` (`tests/layout.rs`
//!    checks the three agree).
//! 2. Reproduce a finding on stable: copy the crash file to `fuzz/regressions/<target>/` and
//!    run `cargo test -p fezz-fuzz-oracles`.
//!
//! ```no_run
//! let target = fezz_fuzz_oracles::target("decode_request").unwrap();
//! (target.run)(b"\xa0"); // panics if a property fails
//! ```
#![deny(missing_docs)]

use arbitrary::{Arbitrary, Unstructured};

pub mod canonical;
pub mod codec;
pub mod frame;
pub mod manifest;
pub mod outcome;
pub mod rules;
pub mod runner;
pub mod seeds;

/// One fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs`), the oracle it runs,
/// and how raw fuzzer bytes reach that oracle.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name, as `cargo fuzz run <name>` knows it.
    pub name: &'static str,
    /// The path of the oracle function, as the target's `//!` line names it.
    pub oracle: &'static str,
    /// Runs the oracle on raw fuzzer bytes, decoding structured inputs exactly as
    /// `libfuzzer_sys::fuzz_target!` does.
    pub run: fn(&[u8]),
}

/// Every fuzz target, sorted by name.
pub const TARGETS: &[Target] = &[
    Target {
        name: "decode_request",
        oracle: "fezz_fuzz_oracles::codec::decode_request",
        run: codec::decode_request,
    },
    Target {
        name: "decode_response",
        oracle: "fezz_fuzz_oracles::codec::decode_response",
        run: codec::decode_response,
    },
    Target {
        name: "frame",
        oracle: "fezz_fuzz_oracles::frame::frame",
        run: frame::frame,
    },
    Target {
        name: "manifest",
        oracle: "fezz_fuzz_oracles::manifest::manifest",
        run: manifest::manifest,
    },
    Target {
        name: "roundtrip",
        oracle: "fezz_fuzz_oracles::codec::roundtrip",
        run: |data| structured(data, codec::roundtrip),
    },
    Target {
        name: "runner_output",
        oracle: "fezz_fuzz_oracles::outcome::runner_output",
        run: outcome::runner_output,
    },
    Target {
        name: "runner_stdin",
        oracle: "fezz_fuzz_oracles::runner::runner_stdin",
        run: runner::runner_stdin,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}

/// Builds a `T` from raw fuzzer bytes the way `libfuzzer_sys::fuzz_target!` does for a typed
/// target (too short for `T`'s size hint, or not buildable: the input is skipped), then runs
/// `oracle` on it.
pub fn structured<'a, T: Arbitrary<'a>>(data: &'a [u8], oracle: impl FnOnce(T)) {
    if data.len() < T::size_hint(0).0 {
        return;
    }
    if let Ok(input) = T::arbitrary_take_rest(Unstructured::new(data)) {
        oracle(input);
    }
}
