//! Oracle: `fezz_fuzz_oracles::codec::roundtrip` (an arbitrary request, response or error:
//! encoded exactly when the value rules hold, deterministically, and decodes to itself).
#![no_main]

use fezz_fuzz_oracles::codec::{roundtrip, RoundtripInput};

libfuzzer_sys::fuzz_target!(|input: RoundtripInput| roundtrip(input));
