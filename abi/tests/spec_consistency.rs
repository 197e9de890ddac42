//! Every fact that `spec/` and `abi/src` both state is compared here, so that a number edited in
//! one place and not the other fails a test:
//!
//! - CBOR-PROFILE.md "Limits" against `abi::limits` (by name and value, nothing missing or extra);
//! - CBOR-PROFILE.md "Decoder errors" against `ErrorKind::ALL`;
//! - CBOR-PROFILE.md "Examples" against the codec and against their diagnostic notation;
//! - RUNNER.md "Exit codes" against `RunnerExit::ALL`, "Frame errors" against `FrameError`,
//!   "Frame kinds" against `FrameKind`, "Resource limits" against `ResourceLimit::ALL`,
//!   "Sandbox" against `SandboxVariable::ALL`, and
//!   its framing example against `frame_header`;
//! - ABI.md "Result codes" against `abi::ffi::RESULT_CODES`, the `FEZZ_RESULT_*` constants and
//!   `fezz_result_name`; ABI.md "The codec C API" against the exports of `abi/src/capi.rs` and
//!   its submodules;
//! - every link between the spec's markdown files resolves to a file and a heading.
//!
//! The `ALL` arrays are themselves compared with the enums' variants in the source, so a
//! variant added without updating `ALL` (and so the spec) fails too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fezz_abi::error::ErrorKind;
use fezz_abi::ffi::RESULT_CODES;
use fezz_abi::frame::{frame_header, FrameError, FrameKind};
use fezz_abi::limits::*;
use fezz_abi::runner_protocol::{ResourceLimit, RunnerExit};
use fezz_abi::sandbox::SandboxVariable;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The text of the section under `heading` (a whole line such as `## Limits`), up to the next
/// heading of the same or a higher level (lines in code fences are not headings).
fn section(markdown: &str, heading: &str) -> String {
    let level = heading.len() - heading.trim_start_matches('#').len();
    let mut lines = markdown.lines().skip_while(|line| *line != heading);
    assert!(lines.next().is_some(), "no heading `{heading}`");
    let mut in_code = false;
    let mut text = String::new();
    for line in lines {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        let marks = line.len() - line.trim_start_matches('#').len();
        if !in_code && marks > 0 && marks <= level && line[marks..].starts_with(' ') {
            break;
        }
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The body rows of the first table in `text`, as trimmed cells without backticks (the header
/// row and the `|---|` row are skipped).
fn table(text: &str) -> Vec<Vec<String>> {
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .collect();
    assert!(rows.len() >= 2, "no table in:\n{text}");
    assert!(
        rows[1].starts_with("|--") || rows[1].starts_with("|:-"),
        "bad table: {}",
        rows[1]
    );
    rows[2..]
        .iter()
        .map(|row| {
            row.trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

/// The names of the unit variants of `pub enum <name>` in a Rust source file.
fn enum_variants(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("pub enum {name} {{"))
        .unwrap_or_else(|| panic!("no `pub enum {name}`"));
    let body = &source[start..start + source[start..].find("\n}").unwrap()];
    body.lines()
        .skip(1)
        .map(str::trim)
        .filter(|line| !line.starts_with("//") && !line.starts_with('#'))
        .filter_map(|line| {
            let name: String = line.chars().take_while(|c| c.is_alphanumeric()).collect();
            (!name.is_empty() && name.starts_with(char::is_uppercase)).then_some(name)
        })
        .collect()
}

fn parse_number(cell: &str) -> u64 {
    cell.parse()
        .unwrap_or_else(|_| panic!("`{cell}` is not a plain integer"))
}

#[test]
fn limits_table_matches_abi_limits() {
    let constants: [(&str, usize); 13] = [
        ("MAX_MESSAGE_BYTES", MAX_MESSAGE_BYTES),
        ("MAX_BODY_BYTES", MAX_BODY_BYTES),
        ("MAX_HEADER_COUNT", MAX_HEADER_COUNT),
        ("MAX_HEADER_NAME_BYTES", MAX_HEADER_NAME_BYTES),
        ("MAX_HEADER_VALUE_BYTES", MAX_HEADER_VALUE_BYTES),
        ("MAX_TEXT_BYTES", MAX_TEXT_BYTES),
        ("MAX_NESTING_DEPTH", MAX_NESTING_DEPTH),
        ("MAX_MAP_ENTRIES", MAX_MAP_ENTRIES),
        ("MAX_STRING_CHUNKS", MAX_STRING_CHUNKS),
        ("FRAME_HEADER_BYTES", FRAME_HEADER_BYTES),
        ("MAX_STDERR_BYTES", MAX_STDERR_BYTES),
        ("DECODE_ALLOCATION_FACTOR", DECODE_ALLOCATION_FACTOR),
        ("DECODE_ALLOCATION_SLACK", DECODE_ALLOCATION_SLACK),
    ];
    // The list above is every constant of limits.rs: one added there must be added here (and so
    // to the spec).
    let source = read("abi/src/limits.rs");
    let in_source: BTreeSet<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub const ")?.split(':').next())
        .collect();
    let listed: BTreeSet<&str> = constants.iter().map(|(name, _)| *name).collect();
    assert_eq!(listed, in_source, "the test's list vs abi/src/limits.rs");

    let profile = read("spec/CBOR-PROFILE.md");
    let rows = table(&section(&profile, "## Limits"));
    let in_spec: Vec<(String, u64)> = rows
        .iter()
        .map(|row| (row[0].clone(), parse_number(&row[1])))
        .collect();
    let expected: Vec<(String, u64)> = constants
        .iter()
        .map(|(name, value)| (name.to_string(), *value as u64))
        .collect();
    assert_eq!(
        in_spec, expected,
        "CBOR-PROFILE.md \"Limits\" vs abi::limits"
    );
}

#[test]
fn decoder_errors_match_error_kinds() {
    let variants = enum_variants(&read("abi/src/error.rs"), "ErrorKind");
    assert_eq!(
        variants.len(),
        ErrorKind::ALL.len(),
        "ErrorKind::ALL lacks a variant"
    );
    let profile = read("spec/CBOR-PROFILE.md");
    let in_spec: Vec<String> = table(&section(&profile, "## Decoder errors"))
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let names: Vec<&str> = ErrorKind::ALL.iter().map(|kind| kind.name()).collect();
    assert_eq!(
        in_spec, names,
        "CBOR-PROFILE.md \"Decoder errors\" vs ErrorKind::ALL"
    );
}

#[test]
fn exit_codes_match_runner_exit() {
    let variants = enum_variants(&read("abi/src/runner_protocol.rs"), "RunnerExit");
    assert_eq!(
        variants.len(),
        RunnerExit::ALL.len(),
        "RunnerExit::ALL lacks a variant"
    );
    let runner = read("spec/RUNNER.md");
    let in_spec: Vec<(u64, String)> = table(&section(&runner, "## Exit codes"))
        .into_iter()
        .map(|row| (parse_number(&row[0]), row[1].clone()))
        .collect();
    let expected: Vec<(u64, String)> = RunnerExit::ALL
        .iter()
        .map(|exit| (exit.code().into(), exit.error_code().to_owned()))
        .collect();
    assert_eq!(
        in_spec, expected,
        "RUNNER.md \"Exit codes\" vs RunnerExit::ALL"
    );
}

#[test]
fn resource_limits_match_resource_limit() {
    let variants = enum_variants(&read("abi/src/runner_protocol.rs"), "ResourceLimit");
    assert_eq!(
        variants.len(),
        ResourceLimit::ALL.len(),
        "ResourceLimit::ALL lacks a variant"
    );
    let runner = read("spec/RUNNER.md");
    let in_spec: Vec<(String, String, String)> = table(&section(&runner, "## Resource limits"))
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone(), row[3].clone()))
        .collect();
    let expected: Vec<(String, String, String)> = ResourceLimit::ALL
        .iter()
        .map(|limit| {
            (
                limit.env_name().to_owned(),
                limit.rlimit_name().to_owned(),
                limit.manifest_field().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        in_spec, expected,
        "RUNNER.md \"Resource limits\" vs ResourceLimit::ALL"
    );
}

#[test]
fn sandbox_variables_match_sandbox_variable() {
    let variants = enum_variants(&read("abi/src/sandbox.rs"), "SandboxVariable");
    assert_eq!(
        variants.len(),
        SandboxVariable::ALL.len(),
        "SandboxVariable::ALL lacks a variant"
    );
    let runner = read("spec/RUNNER.md");
    let in_spec: Vec<String> = table(&section(&runner, "## Sandbox"))
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let expected: Vec<String> = SandboxVariable::ALL
        .iter()
        .map(|variable| variable.env_name().to_owned())
        .collect();
    assert_eq!(
        in_spec, expected,
        "RUNNER.md \"Sandbox\" vs SandboxVariable::ALL"
    );
}

#[test]
fn frame_errors_and_kinds_match_the_framing_code() {
    let runner = read("spec/RUNNER.md");
    let in_spec: Vec<String> = table(&section(&runner, "## Frame errors"))
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let errors = [
        FrameError::Truncated {
            read: 1,
            expected: 8,
        },
        FrameError::BadMagic(0, 0),
        FrameError::BadKind {
            kind: 0,
            reserved: 0,
        },
        FrameError::TooLarge { length: 0 },
    ];
    let names: Vec<&str> = errors.iter().map(FrameError::name).collect();
    assert_eq!(in_spec, names, "RUNNER.md \"Frame errors\" vs FrameError");

    let kinds = table(&section(&runner, "### Frame kinds"));
    for byte in 0..=u8::MAX {
        let in_spec = kinds
            .iter()
            .find(|row| parse_number(&row[0]) == u64::from(byte));
        let in_code = FrameKind::from_byte(byte).map(|kind| format!("{kind:?}").to_lowercase());
        assert_eq!(
            in_spec.map(|row| row[1].clone()),
            in_code,
            "frame kind {byte}"
        );
    }
}

/// RUNNER.md's worked example of a frame header.
#[test]
fn framing_example_matches_frame_header() {
    let runner = read("spec/RUNNER.md");
    let framing = section(&runner, "## Framing").replace('\n', " ");
    let (before, after) = framing
        .split_once("-byte payload")
        .expect("the framing example");
    let length: usize = before.rsplit(' ').next().unwrap().parse().unwrap();
    let hex = after
        .split("starts `")
        .nth(1)
        .unwrap()
        .split('`')
        .next()
        .unwrap();
    let header = frame_header(FrameKind::Request, length);
    let written: Vec<u8> = hex
        .split(' ')
        .map(|byte| u8::from_str_radix(byte, 16).unwrap())
        .collect();
    assert_eq!(written, header);
}

#[test]
fn result_codes_match_ffi() {
    // The `FEZZ_RESULT_*` constants of ffi.rs are exactly RESULT_CODES.
    let source = read("abi/src/ffi.rs");
    let constants: Vec<(u64, String)> = source
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("pub const FEZZ_RESULT_")?;
            let (name, value) = rest.split_once(": FezzResult = ")?;
            Some((
                parse_number(value.trim_end_matches(';')),
                format!("FEZZ_RESULT_{name}"),
            ))
        })
        .collect();
    let table_in_code: Vec<(u64, String)> = RESULT_CODES
        .iter()
        .map(|(code, name, _)| (u64::try_from(*code).unwrap(), name.to_string()))
        .collect();
    assert_eq!(constants, table_in_code, "ffi.rs constants vs RESULT_CODES");

    let abi = read("spec/ABI.md");
    let in_spec: Vec<(u64, String)> = table(&section(&abi, "## Result codes"))
        .into_iter()
        .map(|row| (parse_number(&row[0]), row[1].clone()))
        .collect();
    assert_eq!(
        in_spec, table_in_code,
        "ABI.md \"Result codes\" vs RESULT_CODES"
    );

    for (code, name, _) in RESULT_CODES {
        let returned = unsafe_name(code);
        assert_eq!(returned, name, "fezz_result_name({code})");
    }
    let past_the_end = i32::try_from(RESULT_CODES.len()).unwrap();
    assert_eq!(unsafe_name(past_the_end), "FEZZ_RESULT_UNKNOWN");
    assert_eq!(unsafe_name(-1), "FEZZ_RESULT_UNKNOWN");
}

fn unsafe_name(code: i32) -> String {
    let name = fezz_abi::capi::fezz_result_name(code);
    // SAFETY: fezz_result_name returns a static NUL-terminated string, never NULL.
    unsafe { std::ffi::CStr::from_ptr(name) }
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn codec_api_section_lists_every_export() {
    // capi.rs and its submodules (abi/src/capi/*.rs).
    let mut source = read("abi/src/capi.rs");
    let modules = std::fs::read_dir(root().join("abi/src/capi")).expect("abi/src/capi");
    for module in modules {
        source += &std::fs::read_to_string(module.unwrap().path()).unwrap();
    }
    let exported: BTreeSet<String> = source
        .lines()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("pub unsafe extern \"C\" fn ")
                .or_else(|| line.strip_prefix("pub extern \"C\" fn "))?;
            Some(rest.split('(').next()?.to_owned())
        })
        .collect();
    let abi = read("spec/ABI.md");
    let listed: BTreeSet<String> = section(&abi, "## The codec C API")
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| {
            let signature = line.split('`').nth(1)?;
            let name = signature.split('(').next()?.rsplit([' ', '*']).next()?;
            Some(name.to_owned())
        })
        .collect();
    assert_eq!(
        listed, exported,
        "ABI.md \"The codec C API\" vs abi/src/capi.rs"
    );
}

/// The examples of CBOR-PROFILE.md: each pair of an indented diagnostic-notation block and an
/// indented hex block. The hex must be the diagnostic notation's encoding, must decode as one of
/// the three messages, and must be what the encoder writes for the decoded value.
#[test]
fn cbor_profile_examples_are_deterministic_encodings() {
    let profile = read("spec/CBOR-PROFILE.md");
    let examples = section(&profile, "## Examples");
    let mut blocks: Vec<String> = Vec::new();
    let mut previous_indented = false;
    for line in examples.lines() {
        let indented = line.strip_prefix("    ");
        match (indented, previous_indented) {
            (Some(text), true) => {
                let block = blocks.last_mut().unwrap();
                block.push(' ');
                block.push_str(text);
            }
            (Some(text), false) => blocks.push(text.to_owned()),
            (None, _) => {}
        }
        previous_indented = indented.is_some();
    }
    assert_eq!(
        blocks.len(),
        6,
        "three examples of diag and hex: {blocks:#?}"
    );
    for pair in blocks.chunks(2) {
        let (diag, hex) = (&pair[0], &pair[1]);
        let bytes: Vec<u8> = hex
            .split_whitespace()
            .map(|byte| u8::from_str_radix(byte, 16).unwrap())
            .collect();
        let from_diag = cbor_diag::parse_diag(diag)
            .unwrap_or_else(|error| panic!("{diag}: {error}"))
            .to_bytes();
        assert_eq!(from_diag, bytes, "the hex of {diag}");
        let reencoded = if let Ok(request) = fezz_abi::decode_request(&bytes) {
            fezz_abi::encode_request(&request).unwrap()
        } else if let Ok(response) = fezz_abi::decode_response(&bytes) {
            fezz_abi::encode_response(&response).unwrap()
        } else {
            let error = fezz_abi::decode_error(&bytes)
                .unwrap_or_else(|error| panic!("{diag} is no message: {error}"));
            fezz_abi::encode_error(&error).unwrap()
        };
        assert_eq!(reencoded, bytes, "{diag} is not the deterministic encoding");
    }
}

/// GitHub's anchor for a heading: lowercase, punctuation other than `-` and `_` dropped,
/// spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut in_code = false;
    markdown
        .lines()
        .filter(|line| {
            if line.starts_with("```") {
                in_code = !in_code;
            }
            !in_code
        })
        .filter_map(|line| {
            let marks = line.len() - line.trim_start_matches('#').len();
            (marks > 0 && line[marks..].starts_with(' ')).then(|| anchor(&line[marks..]))
        })
        .collect()
}

#[test]
fn links_between_spec_files_resolve() {
    let spec = root().join("spec");
    for file in ["README.md", "ABI.md", "RUNNER.md", "CBOR-PROFILE.md"] {
        let text = read(&format!("spec/{file}"));
        for (at, _) in text.match_indices("](") {
            let target = &text[at + 2..at + 2 + text[at + 2..].find(')').unwrap()];
            if target.contains("://") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
            let linked = if path.is_empty() {
                spec.join(file)
            } else {
                spec.join(path)
            };
            assert!(
                linked.exists(),
                "{file} links to {target}, which does not exist"
            );
            if !fragment.is_empty() {
                let markdown = std::fs::read_to_string(&linked).unwrap();
                assert!(
                    anchors(&markdown).contains(fragment),
                    "{file} links to {target}, but {} has no heading with that anchor",
                    linked.display()
                );
            }
        }
    }
}
