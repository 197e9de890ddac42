//! Oracle: `fezz_fuzz_oracles::runner::runner_stdin` (arbitrary bytes as a runner's stdin,
//! served in-process by `fezz_runner::serve` with the Rust fixture: well-formed frames out, the
//! exit and every response as the spec and the fixture predict).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fezz_fuzz_oracles::runner::runner_stdin(data));
