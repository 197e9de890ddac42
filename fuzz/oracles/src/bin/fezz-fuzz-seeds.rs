//! Writes every generated seed (`fezz_fuzz_oracles::seeds::all`) into `<out>/<target>/<name>`,
//! by default `fuzz/corpus/`, the working corpus that `fuzz/run.sh` hands to libFuzzer. Seeds
//! past [`MAX_SEED_BYTES`] (the vectors at the 8 and 16 MiB limits) are left out: they would
//! slow every mutation down, and `cargo test` replays them anyway.
//!
//! Usage: `cargo run -p fezz-fuzz-oracles --bin fezz-fuzz-seeds [-- OUT_DIR]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The largest seed written.
const MAX_SEED_BYTES: usize = 64 * 1024;

fn run() -> Result<usize, String> {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| fuzz_dir.join("corpus"));
    let mut seeds = fezz_fuzz_oracles::seeds::all(&fuzz_dir.join("../spec/vectors"))?;
    seeds.retain(|seed| seed.bytes.len() <= MAX_SEED_BYTES);
    for seed in &seeds {
        let dir = out.join(seed.target);
        std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        let path = dir.join(&seed.name);
        std::fs::write(&path, &seed.bytes)
            .map_err(|error| format!("{}: {error}", path.display()))?;
    }
    Ok(seeds.len())
}

fn main() -> ExitCode {
    match run() {
        Ok(count) => {
            eprintln!("wrote {count} seeds");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("fezz-fuzz-seeds: {error}");
            ExitCode::FAILURE
        }
    }
}
