//! Oracle: `fezz_fuzz_oracles::codec::decode_request` (arbitrary bytes as a request: no panic;
//! accepted input re-encodes canonically to the same value, a fixed point).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fezz_fuzz_oracles::codec::decode_request(data));
