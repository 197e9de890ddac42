//! Loading the golden vectors of `spec/vectors/`: finding the case files, parsing them, expanding
//! their placeholders and turning their CBOR diagnostic notation into bytes.
//!
//! What lives here: the case file model ([`Spec`], exactly the TOML that
//! `spec/vectors/case.schema.json` describes) and its expansion into a [`Case`] (input bytes and
//! the expected outcome). What does not: checking a case against a codec ([`crate::codec`]) and
//! checking the vectors themselves ([`crate::lint`]).
//!
//! Expansion, in order (the README's "Case format" is the normative description):
//! 1. every `${name}` whose name is a `[repeat.name]` table becomes `count` copies of its
//!    `unit`, joined by its `separator` (plain text substitution);
//! 2. every remaining `${name}` in `input.diag` names an `[input.raw]` entry: it stands where one
//!    data item stands and is replaced, after encoding, by those raw bytes;
//! 3. the diag, a CBOR sequence (items separated by commas, usually one), becomes bytes;
//! 4. `input.truncate` bytes are dropped from the end.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use cbor_diag::DataItem;
use fezz_abi::ErrorKind;
use serde::Deserialize;

/// The file extension of case files.
pub const CASE_EXTENSION: &str = "toml";

/// `spec/vectors/` of this source tree (where the suite's own tests find the vectors).
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

/// A case file that has not been read yet: where it is and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The path relative to the vectors directory, with `/` separators and the extension, e.g.
    /// `invalid/request/duplicate-key-method.toml`. This is the case's name.
    pub name: String,
    /// The file's full path.
    pub path: PathBuf,
}

impl Entry {
    /// Reads and parses the file (no expansion yet).
    pub fn read(&self) -> Result<Spec, VectorError> {
        let text = std::fs::read_to_string(&self.path).map_err(|error| {
            VectorError(format!("cannot read {}: {error}", self.path.display()))
        })?;
        Spec::parse(&text)
    }

    /// Reads, parses and expands the file.
    pub fn load(&self) -> Result<Case, VectorError> {
        self.read()?.expand()
    }
}

/// Every case file under `dir` (recursively; files ending in `.toml`), sorted by name.
pub fn discover(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    walk(dir, dir, &mut entries)?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn walk(root: &Path, dir: &Path, entries: &mut Vec<Entry>) -> std::io::Result<()> {
    for item in std::fs::read_dir(dir)? {
        let path = item?.path();
        if path.is_dir() {
            walk(root, &path, entries)?;
        } else if path.extension().is_some_and(|ext| ext == CASE_EXTENSION) {
            let relative = path.strip_prefix(root).expect("walked from root");
            let name = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            entries.push(Entry { name, path });
        }
    }
    Ok(())
}

/// A case file that cannot be read, parsed or expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorError(pub String);

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VectorError {}

fn fail<T>(message: impl Into<String>) -> Result<T, VectorError> {
    Err(VectorError(message.into()))
}

/// Which message a case's input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    /// A `fezz-request`.
    Request,
    /// A `fezz-response`.
    Response,
    /// A `fezz-error`.
    Error,
    /// A stream of runner-protocol frames (`spec/RUNNER.md`, "Framing").
    Frame,
}

impl MessageKind {
    /// The name used in case files.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Request => "request",
            MessageKind::Response => "response",
            MessageKind::Error => "error",
            MessageKind::Frame => "frame",
        }
    }
}

/// One case file as written (the TOML model; see `spec/vectors/case.schema.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// What the case checks, in under 120 characters.
    pub description: String,
    /// The spec section it checks: a file under `spec/` and an anchor, e.g.
    /// `CBOR-PROFILE.md#decoder-errors`.
    pub section: String,
    /// Which message the input is.
    pub message: MessageKind,
    /// Placeholders that stand for long repetitive text (`${name}` in any diag of the case).
    #[serde(default)]
    pub repeat: BTreeMap<String, Repeat>,
    /// The input.
    pub input: InputSpec,
    /// The expected outcome.
    pub expect: ExpectSpec,
}

/// A `[repeat.name]` table: `${name}` stands for `count` copies of `unit` joined by `separator`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// The repeated text (e.g. `"ab"` inside `h'…'`, or `'["x", h'']'` for array elements).
    pub unit: String,
    /// How many copies.
    pub count: usize,
    /// Put between copies (default: nothing).
    #[serde(default)]
    pub separator: String,
}

/// The `[input]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// The input as a CBOR sequence in diagnostic notation (message cases).
    pub diag: Option<String>,
    /// Valid cases: whether the input bytes are already the deterministic encoding.
    pub canonical: Option<bool>,
    /// Bytes dropped from the end of the input after encoding.
    #[serde(default)]
    pub truncate: usize,
    /// Raw splices: `${name}` in `input.diag` replaced by these bytes (hex, whitespace allowed).
    #[serde(default)]
    pub raw: BTreeMap<String, String>,
    /// Frame cases: the frames, in order.
    pub frames: Option<Vec<FrameSpec>>,
}

/// One `[[input.frames]]` entry: a frame header and a payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameSpec {
    /// The kind byte.
    pub kind: u8,
    /// The payload in diagnostic notation (a CBOR sequence; empty or absent: no bytes).
    #[serde(default)]
    pub payload: String,
    /// The two magic bytes in hex (default `465a`, "FZ").
    pub magic: Option<String>,
    /// The reserved byte (default 0).
    #[serde(default)]
    pub reserved: u8,
    /// The length the header claims (default: the payload's length).
    pub length: Option<u32>,
}

/// The `[expect]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// Valid cases: the deterministic encoding of the decoded value, in diagnostic notation.
    /// May be left out when `input.canonical` is true (it is then `input.diag`).
    pub canonical: Option<String>,
    /// Invalid cases and failing frame cases: the error name.
    pub error: Option<String>,
    /// Invalid cases: the byte offset the decoder reports (optional).
    pub offset: Option<usize>,
    /// Frame cases: how many frames (the first ones of `input.frames`) are read intact.
    pub frames: Option<usize>,
}

/// An expanded case: the input bytes and what must happen to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Which message the input is.
    pub message: MessageKind,
    /// The input bytes.
    pub input: Vec<u8>,
    /// What must happen.
    pub expected: Expected,
}

/// The expected outcome of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The input decodes; re-encoding the decoded value gives `canonical`.
    Valid {
        /// The deterministic encoding of the decoded value.
        canonical: Vec<u8>,
        /// Whether the input is already that encoding (`input == canonical`).
        input_is_canonical: bool,
    },
    /// The input is rejected with this error.
    Invalid {
        /// The error.
        error: ErrorKind,
        /// The byte offset the decoder reports, if the case states it.
        offset: Option<usize>,
    },
    /// Frame cases: these frames are read, then the stream ends cleanly (`error` is `None`) or
    /// fails with the named frame error.
    Frames {
        /// The frames read intact, as (kind byte, payload).
        frames: Vec<(u8, Vec<u8>)>,
        /// The frame error name (e.g. `frame-truncated`), or `None` for a clean end.
        error: Option<String>,
    },
}

impl Spec {
    /// Parses a case file's text.
    pub fn parse(text: &str) -> Result<Spec, VectorError> {
        toml::from_str(text).map_err(|error| VectorError(format!("not a valid case file: {error}")))
    }

    /// Whether the case expects a rejection (an invalid message, or a frame stream that fails).
    pub fn expects_error(&self) -> bool {
        self.expect.error.is_some()
    }

    /// Expands placeholders and diag into bytes.
    pub fn expand(&self) -> Result<Case, VectorError> {
        for name in self.repeat.keys().chain(self.input.raw.keys()) {
            if !is_placeholder_name(name) {
                return fail(format!("placeholder name {name:?} is not [a-z0-9_-]+"));
            }
        }
        if let Some(name) = self
            .repeat
            .keys()
            .find(|name| self.input.raw.contains_key(*name))
        {
            return fail(format!("`{name}` is both a repeat and a raw splice"));
        }
        if self.message == MessageKind::Frame {
            return self.expand_frames();
        }
        let Some(diag) = &self.input.diag else {
            return fail("input.diag is required for request, response and error cases");
        };
        if self.input.frames.is_some() || self.expect.frames.is_some() {
            return fail("input.frames and expect.frames are for frame cases only");
        }
        let mut input = self.encode(diag, &self.input.raw, "input.diag")?;
        if self.input.truncate > input.len() {
            return fail(format!(
                "input.truncate is {} but the input has only {} bytes",
                self.input.truncate,
                input.len()
            ));
        }
        input.truncate(input.len() - self.input.truncate);
        let expected = match (&self.expect.error, self.input.canonical) {
            (Some(_), Some(_)) => return fail("input.canonical is for valid cases only"),
            (None, None) => return fail("a valid case needs input.canonical (true or false)"),
            (Some(name), None) => {
                if self.expect.canonical.is_some() {
                    return fail("an invalid case has no expect.canonical");
                }
                let Some(error) = ErrorKind::from_name(name) else {
                    return fail(format!("expect.error {name:?} is not an error name"));
                };
                Expected::Invalid {
                    error,
                    offset: self.expect.offset,
                }
            }
            (None, Some(input_is_canonical)) => {
                if self.expect.offset.is_some() {
                    return fail("expect.offset is for invalid cases only");
                }
                let canonical =
                    match &self.expect.canonical {
                        Some(canonical) => {
                            self.encode(canonical, &BTreeMap::new(), "expect.canonical")?
                        }
                        None if input_is_canonical
                            && self.input.raw.is_empty()
                            && self.input.truncate == 0 =>
                        {
                            input.clone()
                        }
                        None => return fail(
                            "expect.canonical may be left out only when input.canonical is true \
                             and the input has no raw splices or truncation",
                        ),
                    };
                Expected::Valid {
                    canonical,
                    input_is_canonical,
                }
            }
        };
        Ok(Case {
            message: self.message,
            input,
            expected,
        })
    }

    fn expand_frames(&self) -> Result<Case, VectorError> {
        let Some(frames) = &self.input.frames else {
            return fail("a frame case needs [[input.frames]]");
        };
        if self.input.diag.is_some()
            || self.input.canonical.is_some()
            || !self.input.raw.is_empty()
            || self.expect.canonical.is_some()
            || self.expect.offset.is_some()
        {
            return fail("a frame case has only input.frames, input.truncate, expect.frames and expect.error");
        }
        let Some(intact) = self.expect.frames else {
            return fail("a frame case needs expect.frames");
        };
        if intact > frames.len() {
            return fail("expect.frames is larger than the number of input frames");
        }
        let mut input = Vec::new();
        let mut read = Vec::new();
        for (index, frame) in frames.iter().enumerate() {
            let what = format!("input.frames[{index}].payload");
            let payload = self.encode(&frame.payload, &BTreeMap::new(), &what)?;
            let magic = match &frame.magic {
                Some(magic) => hex(magic).map_err(|error| {
                    VectorError(format!("input.frames[{index}].magic: {error}"))
                })?,
                None => fezz_abi::frame::FRAME_MAGIC.to_vec(),
            };
            if magic.len() != 2 {
                return fail(format!("input.frames[{index}].magic must be two bytes"));
            }
            let length = match frame.length {
                Some(length) => length,
                None => u32::try_from(payload.len())
                    .map_err(|_| VectorError(format!("{what} is longer than a frame can say")))?,
            };
            input.extend_from_slice(&magic);
            input.extend_from_slice(&[frame.kind, frame.reserved]);
            input.extend_from_slice(&length.to_be_bytes());
            input.extend_from_slice(&payload);
            if index < intact {
                read.push((frame.kind, payload));
            }
        }
        if self.input.truncate > input.len() {
            return fail("input.truncate is larger than the input");
        }
        input.truncate(input.len() - self.input.truncate);
        Ok(Case {
            message: self.message,
            input,
            expected: Expected::Frames {
                frames: read,
                error: self.expect.error.clone(),
            },
        })
    }

    /// Expands `${…}` placeholders in `diag` and encodes it (a CBOR sequence) with raw splices.
    fn encode(
        &self,
        diag: &str,
        raw: &BTreeMap<String, String>,
        what: &str,
    ) -> Result<Vec<u8>, VectorError> {
        let mut markers = Vec::new();
        // Fast path, same result as the text substitution: `h'${name}'` with a repeat of hex
        // units becomes a marker item that is swapped for the encoded byte string after
        // parsing, so a 16 MiB body is not parsed from 32 MiB of hex text.
        let mut diag = diag.to_string();
        for (name, repeat) in &self.repeat {
            let whole = format!("h'${{{name}}}'");
            if !diag.contains(&whole) || !repeat.separator.is_empty() {
                continue;
            }
            let Ok(unit) = hex(&repeat.unit) else {
                continue;
            };
            let marker = splice_marker(&format!("repeat {name}"));
            diag = diag.replace(&whole, &format!("h'{}'", to_hex(&marker)));
            markers.push((marker, encoded_bytes_item(&unit.repeat(repeat.count))));
        }
        let text = substitute(&diag, |name| {
            if let Some(repeat) = self.repeat.get(name) {
                return Ok(repeat_text(repeat));
            }
            if let Some(hex_bytes) = raw.get(name) {
                let bytes = hex(hex_bytes).map_err(|error| format!("input.raw.{name}: {error}"))?;
                let marker = splice_marker(name);
                let text = format!("h'{}'", to_hex(&marker));
                markers.push((marker, bytes));
                return Ok(text);
            }
            Err(format!(
                "`${{{name}}}` is neither a [repeat] table nor an [input.raw] entry"
            ))
        })
        .map_err(|error| VectorError(format!("{what}: {error}")))?;
        let mut bytes =
            diag_sequence(&text).map_err(|error| VectorError(format!("{what}: {error}")))?;
        for (marker, replacement) in markers {
            let written = text.matches(&to_hex(&marker)).count();
            let marker = encoded_bytes_item(&marker);
            let found = find_all(&bytes, &marker);
            if found.len() != written {
                return fail(format!(
                    "{what}: a placeholder for bytes must stand where one data item stands \
                     (written {written} times, found {} times after encoding)",
                    found.len()
                ));
            }
            for at in found.into_iter().rev() {
                bytes.splice(at..at + marker.len(), replacement.iter().copied());
            }
        }
        Ok(bytes)
    }
}

fn is_placeholder_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
        })
}

/// Replaces each `${name}` in `text` by `lookup(name)`.
fn substitute(
    text: &str,
    mut lookup: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("`${` without a closing `}`".into());
        };
        out.push_str(&lookup(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The names of the `${name}` placeholders in `text`, in order of appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let _ = substitute(text, |name| {
        names.push(name.to_string());
        Ok(String::new())
    });
    names
}

fn repeat_text(repeat: &Repeat) -> String {
    let mut text =
        String::with_capacity((repeat.unit.len() + repeat.separator.len()) * repeat.count);
    for index in 0..repeat.count {
        if index > 0 {
            text.push_str(&repeat.separator);
        }
        text.push_str(&repeat.unit);
    }
    text
}

/// Bytes that cannot occur by accident in a vector: the payload of the byte string that stands
/// in for a raw splice until the bytes are spliced in.
fn splice_marker(name: &str) -> Vec<u8> {
    let mut marker = b"\xfe\xdd fezz raw splice: ".to_vec();
    marker.extend_from_slice(name.as_bytes());
    marker.extend_from_slice(b" \xdd\xfe");
    marker
}

fn encoded_bytes_item(payload: &[u8]) -> Vec<u8> {
    DataItem::ByteString(cbor_diag::ByteString {
        data: payload.to_vec(),
        bitwidth: cbor_diag::IntegerWidth::Unknown,
    })
    .to_bytes()
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(at, _)| at)
        .collect()
}

/// Encodes a CBOR sequence written in diagnostic notation: data items separated by commas
/// (RFC 8742 §4.2); empty text is the empty sequence.
pub fn diag_sequence(text: &str) -> Result<Vec<u8>, String> {
    // An array's elements are encoded one after the other, so wrapping the sequence in an
    // array and encoding each element yields exactly the sequence.
    let wrapped = format!("[\n{text}\n]");
    match cbor_diag::parse_diag(&wrapped) {
        Ok(DataItem::Array { data, .. }) => Ok(data.iter().flat_map(DataItem::to_bytes).collect()),
        Ok(_) => Err("not a CBOR sequence".into()),
        Err(error) => Err(format!("not valid diagnostic notation: {error}")),
    }
}

/// Decodes hex with optional whitespace between digit pairs.
pub fn hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {text:?}"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).map_err(|_| format!("not hex: {text:?}"))?;
            u8::from_str_radix(pair, 16).map_err(|_| format!("not hex: {pair:?} in {text:?}"))
        })
        .collect()
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(text: &str) -> Result<Case, VectorError> {
        Spec::parse(text)?.expand()
    }

    #[test]
    fn repeat_and_raw_splices_expand() {
        let case = case(
            r#"
            description = "x"
            section = "CBOR-PROFILE.md#limits"
            message = "request"
            [repeat.body]
            unit = "ab"
            count = 3
            [repeat.items]
            unit = "1"
            count = 2
            separator = ", "
            [input]
            diag = "[h'${body}', ${bad}, [${items}]], 0"
            canonical = false
            truncate = 1
            [input.raw]
            bad = "78 01 61"
            [expect]
            canonical = "[h'${body}']"
            "#,
        )
        .unwrap();
        assert_eq!(case.input, hex("83 43 ababab 78 01 61 82 01 01").unwrap());
        let Expected::Valid { canonical, .. } = case.expected else {
            panic!()
        };
        assert_eq!(canonical, hex("81 43 ababab").unwrap());
    }

    #[test]
    fn empty_sequence_is_no_bytes() {
        assert_eq!(diag_sequence("").unwrap(), Vec::<u8>::new());
        assert_eq!(diag_sequence("1, 2").unwrap(), vec![1, 2]);
    }

    #[test]
    fn unknown_placeholder_is_an_error() {
        let error = case(
            r#"
            description = "x"
            section = "a.md"
            message = "error"
            [input]
            diag = "${nope}"
            canonical = true
            [expect]
            "#,
        )
        .unwrap_err();
        assert!(error.0.contains("nope"), "{error}");
    }
}
