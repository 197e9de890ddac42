//! The valid request vectors of `spec/vectors/` (through [`crate::vectors`]), as the runner and
//! function levels use them: one file, one request, its input bytes exactly as the vector gives
//! them (non-canonical encodings included: a runner must accept every valid encoding).

use std::path::Path;

use crate::vectors::{self, Expected, MessageKind};

/// A vector file that holds a valid request.
#[derive(Debug, Clone)]
pub struct RequestVectorFile {
    /// The vector's name: its path relative to `spec/vectors/`, e.g. `request/minimal.toml`.
    pub path: String,
    /// The requests it gives (one per case file today).
    pub cases: Vec<RequestCase>,
}

/// One request of a vector file.
#[derive(Debug, Clone)]
pub struct RequestCase {
    /// The case's name (the vector's name).
    pub name: String,
    /// The encoded request, exactly as the vector gives it.
    pub bytes: Vec<u8>,
}

/// Every valid request vector under `dir`, sorted by name. Files that do not load are an error
/// (the codec level reports them in detail).
pub fn load(dir: &Path) -> Result<Vec<RequestVectorFile>, String> {
    let entries = vectors::discover(dir).map_err(|error| format!("cannot list the vectors in {}: {error}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let case = entry.load().map_err(|error| format!("{}: {error}", entry.name))?;
        if case.message == MessageKind::Request && matches!(case.expected, Expected::Valid { .. }) {
            files.push(RequestVectorFile {
                path: entry.name.clone(),
                cases: vec![RequestCase {
                    name: entry.name,
                    bytes: case.input,
                }],
            });
        }
    }
    Ok(files)
}
