//! Oracle: `fezz_fuzz_oracles::frame::frame` (arbitrary bytes through `split_frame` and a
//! dribbling `read_frame`: no panic, same frames, same end, frames write back byte for byte).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fezz_fuzz_oracles::frame::frame(data));
