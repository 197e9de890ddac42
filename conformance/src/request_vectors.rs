//! The valid request vectors of `spec/vectors/` (through [`crate::vectors`]), as the runner and
//! function levels use them: one file, one request, its input bytes exactly as the vector gives
//! them (non-canonical encodings included: a runner must accept every valid encoding).

use std::path::Path;

use crate::vectors::{self, Entry, MessageKind};

/// A vector file that holds a valid request. Listing is cheap (the TOML is parsed, the diag
/// is not expanded); [`RequestVectorFile::cases`] does the expansion, inside the trial.
#[derive(Debug, Clone)]
pub struct RequestVectorFile {
    /// The vector's name: its path relative to `spec/vectors/`, e.g. `request/minimal-get.toml`.
    pub path: String,
    entry: Entry,
}

/// One request of a vector file.
#[derive(Debug, Clone)]
pub struct RequestCase {
    /// The case's name (the vector's name).
    pub name: String,
    /// The encoded request, exactly as the vector gives it.
    pub bytes: Vec<u8>,
}

impl RequestVectorFile {
    /// Expands the file into its requests (one per case file today).
    pub fn cases(&self) -> Result<Vec<RequestCase>, String> {
        let case = self
            .entry
            .load()
            .map_err(|error| format!("{}: {error}", self.path))?;
        Ok(vec![RequestCase {
            name: self.path.clone(),
            bytes: case.input,
        }])
    }
}

/// Every valid request vector under `dir`, sorted by name. A file that does not parse is an
/// error (the codec level reports it in detail).
pub fn load(dir: &Path) -> Result<Vec<RequestVectorFile>, String> {
    let entries = vectors::discover(dir)
        .map_err(|error| format!("cannot list the vectors in {}: {error}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let spec = entry
            .read()
            .map_err(|error| format!("{}: {error}", entry.name))?;
        if spec.message == MessageKind::Request && !spec.expects_error() {
            files.push(RequestVectorFile {
                path: entry.name.clone(),
                entry,
            });
        }
    }
    Ok(files)
}
