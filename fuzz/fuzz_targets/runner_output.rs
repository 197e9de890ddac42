//! Oracle: `fezz_fuzz_oracles::outcome::runner_output` (arbitrary runner stdout, exit status
//! and stderr through hhrf's `classify` and `into_response`: the documented status, and a JSON
//! error body that parses and leaks nothing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fezz_fuzz_oracles::outcome::runner_output(data));
