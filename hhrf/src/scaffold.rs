//! `hhrf new`: a function folder that builds, has a test, a `fezz.json`, and deploys with one
//! command (`spec/HTTP.md`, "Subcommands").
//!
//! What lives here: [`Language`], the templates (real files under `hhrf/templates/`, embedded
//! with `include_str!`), [`create`] (checks the name, refuses an existing folder, writes the
//! files with `{{name}}`, `{{lib}}`, `{{package}}` and `{{checkout}}` filled in) and
//! [`checkout`] (the fezz checkout this hhrf was built from: fezz-abi is not published, so
//! the Rust scaffold depends on it by path, and the C and Zig ones take `fezz.h` and
//! `libfezz_abi.a` from it).

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::manifest::FunctionId;

/// The language of a new function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// A Rust crate with `#[fezz_function]`, tested with `cargo test`.
    Rust,
    /// A C file against `fezz.h` and `libfezz_abi.a`, tested through `hhrf invoke`.
    C,
    /// A Zig file on the fezz Zig module (`abi/zig`), tested with `zig test`.
    Zig,
}

impl Language {
    /// The language's name, as `--lang` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::C => "c",
            Language::Zig => "zig",
        }
    }

    /// What to run next, in the new folder.
    pub fn next_steps(self) -> &'static str {
        match self {
            Language::Rust => "cargo test, ./build.sh, hhrf invoke ./lib*.so /, ./deploy.sh",
            Language::C | Language::Zig => {
                "./build.sh, ./test.sh, hhrf invoke ./lib*.so /, ./deploy.sh"
            }
        }
    }

    fn templates(self) -> &'static [Template] {
        match self {
            Language::Rust => RUST,
            Language::C => C,
            Language::Zig => ZIG,
        }
    }
}

/// One file of a scaffold: where it goes, its text, whether it is executable.
struct Template {
    path: &'static str,
    text: &'static str,
    executable: bool,
}

macro_rules! template {
    ($path:literal, $file:literal) => {
        Template {
            path: $path,
            text: include_str!(concat!("../templates/", $file)),
            executable: false,
        }
    };
    ($path:literal, $file:literal, executable) => {
        Template {
            path: $path,
            text: include_str!(concat!("../templates/", $file)),
            executable: true,
        }
    };
}

const RUST: &[Template] = &[
    template!("Cargo.toml", "rust/Cargo.toml.tmpl"),
    template!("src/lib.rs", "rust/lib.rs"),
    template!("build.sh", "rust/build.sh", executable),
    template!("README.md", "rust/README.md"),
    template!("fezz.json", "common/fezz.json"),
    template!("deploy.sh", "common/deploy.sh", executable),
    template!(".gitignore", "common/gitignore"),
];

const C: &[Template] = &[
    template!("function.c", "c/function.c"),
    template!("build.sh", "c/build.sh", executable),
    template!("test.sh", "c/test.sh", executable),
    template!("README.md", "c/README.md"),
    template!("fezz.json", "common/fezz.json"),
    template!("deploy.sh", "common/deploy.sh", executable),
    template!(".gitignore", "common/gitignore"),
];

const ZIG: &[Template] = &[
    template!("function.zig", "zig/function.zig"),
    template!("build.sh", "zig/build.sh", executable),
    template!("test.sh", "zig/test.sh", executable),
    template!("README.md", "zig/README.md"),
    template!("fezz.json", "common/fezz.json"),
    template!("deploy.sh", "common/deploy.sh", executable),
    template!(".gitignore", "common/gitignore"),
];

/// Why a scaffold was not created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name is not a function id (or, for Rust, not a package name).
    #[error("{0}")]
    Name(String),
    /// The folder exists already.
    #[error("{} exists already; choose another name or --dir", .0.display())]
    Exists(PathBuf),
    /// The checkout's path cannot be written into a script or a `Cargo.toml`.
    #[error("the fezz checkout {} has characters the scripts cannot quote (\" ' \\ $ ` or a newline); move it", .0.display())]
    Checkout(PathBuf),
    /// Writing a file failed.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        error: io::Error,
    },
}

/// The fezz checkout this hhrf was built from (the parent of hhrf's manifest folder, fixed at
/// compile time).
pub fn checkout() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_owned()
}

/// The library file's stem for `name`: `lib<stem>.so`.
pub fn library_stem(name: &str) -> String {
    name.replace(['-', '.'], "_")
}

/// Creates `dir/name/` for `language`, its files filled in for `name` and `checkout`;
/// returns the folder. Refuses a `name` that is not a function id (and, for Rust, one that
/// starts with a digit, which Cargo refuses as a package name) and a folder that exists.
pub fn create(
    language: Language,
    name: &str,
    dir: &Path,
    checkout: &Path,
) -> Result<PathBuf, ScaffoldError> {
    let id = FunctionId::new(name)
        .map_err(|rule| ScaffoldError::Name(format!("NAME must be a function id: {rule}")))?;
    if language == Language::Rust && id.as_str().starts_with(|c: char| c.is_ascii_digit()) {
        return Err(ScaffoldError::Name(format!(
            "NAME {name:?} starts with a digit, which Cargo refuses as a package name"
        )));
    }
    let checkout_text = checkout
        .to_str()
        .filter(|text| !text.contains(['"', '\'', '\\', '$', '`', '\n']))
        .ok_or_else(|| ScaffoldError::Checkout(checkout.to_owned()))?;
    let folder = dir.join(id.as_str());
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |error| ScaffoldError::Io { path, error }
    };
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    match fs::create_dir(&folder) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ScaffoldError::Exists(folder))
        }
        Err(error) => return Err(io_error(&folder)(error)),
    }
    let written = write_templates(language, id.as_str(), checkout_text, &folder);
    if written.is_err() {
        // Leave nothing half-made behind; the error says what failed.
        let _ = fs::remove_dir_all(&folder);
    }
    written.map(|()| folder)
}

fn write_templates(
    language: Language,
    name: &str,
    checkout: &str,
    folder: &Path,
) -> Result<(), ScaffoldError> {
    for template in language.templates() {
        let path = folder.join(template.path);
        let io_error = |error| ScaffoldError::Io {
            path: path.clone(),
            error,
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_error)?;
        }
        fs::write(&path, fill(template.text, name, checkout)).map_err(io_error)?;
        if template.executable {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).map_err(io_error)?;
        }
    }
    Ok(())
}

/// `text` with the placeholders replaced.
fn fill(text: &str, name: &str, checkout: &str) -> String {
    text.replace("{{name}}", name)
        .replace("{{lib}}", &library_stem(name))
        .replace("{{package}}", &name.replace('.', "_"))
        .replace("{{checkout}}", checkout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        for language in [Language::Rust, Language::C, Language::Zig] {
            for template in language.templates() {
                let text = fill(template.text, "my-fn.v2", "/src/fezz");
                assert!(
                    !text.contains("{{"),
                    "{} {}: an unknown placeholder is left",
                    language.name(),
                    template.path
                );
            }
        }
        assert_eq!(library_stem("my-fn.v2"), "my_fn_v2");
    }

    #[test]
    fn bad_names_and_existing_folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let checkout = Path::new("/src/fezz");
        let error = create(Language::C, "../x", dir.path(), checkout).unwrap_err();
        assert!(matches!(error, ScaffoldError::Name(_)), "{error}");
        let error = create(Language::Rust, "9lives", dir.path(), checkout).unwrap_err();
        assert!(error.to_string().contains("digit"), "{error}");
        let folder = create(Language::C, "hello", dir.path(), checkout).unwrap();
        assert!(folder.join("fezz.json").is_file());
        let mode = fs::metadata(folder.join("deploy.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        let error = create(Language::Zig, "hello", dir.path(), checkout).unwrap_err();
        assert!(matches!(error, ScaffoldError::Exists(_)), "{error}");
        let error = create(Language::Rust, "x", dir.path(), Path::new("/a'b")).unwrap_err();
        assert!(matches!(error, ScaffoldError::Checkout(_)), "{error}");
    }
}
