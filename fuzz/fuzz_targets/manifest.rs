//! Oracle: `fezz_fuzz_oracles::manifest::manifest` (arbitrary bytes as `fezz.json`: no panic;
//! an accepted manifest holds the documented invariants, so no id, version or entry escapes).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fezz_fuzz_oracles::manifest::manifest(data));
