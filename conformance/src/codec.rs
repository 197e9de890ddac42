//! Running one expanded vector ([`Case`]) against a codec, and saying exactly what differs.
//!
//! A codec is anything that implements [`Codec`]: decode bytes as a message and re-encode the
//! decoded value deterministically, and split a byte stream into frames. [`Reference`] is the
//! `fezz-abi` codec; other implementations (the C API, a runner) can be wrapped the same way.
//!
//! What a case demands (the README's "Invariants"):
//! - valid: the input decodes; re-encoding gives exactly the canonical bytes; re-encoding the
//!   canonical bytes gives them again (idempotence); and the input equals the canonical bytes
//!   exactly when the case flags it `canonical = true`;
//! - invalid: the input is rejected with exactly the named error (and at the stated offset,
//!   when both the case and the codec give one);
//! - frames: exactly the expected frames are read, then a clean end or the named frame error.
//!
//! Failure messages show both sides in CBOR diagnostic notation.

use std::fmt;
use std::io::Cursor;

use fezz_abi::frame::read_frame;
use fezz_abi::{decode_error, decode_request, decode_response};
use fezz_abi::{encode_error, encode_request, encode_response};

use crate::vectors::{to_hex, Case, Expected, MessageKind};

/// A codec under test.
pub trait Codec {
    /// Decodes `input` as `message` (never [`MessageKind::Frame`]) and re-encodes the decoded
    /// value with the deterministic encoder.
    fn reencode(&self, message: MessageKind, input: &[u8]) -> Result<Vec<u8>, Rejection>;

    /// Reads frames from `input` until it ends or a frame error occurs.
    fn read_frames(&self, input: &[u8]) -> FrameOutcome;

    /// Whether a case's `expect.offset` is compared with the reported offset. Offsets are not
    /// part of conformance (`spec/CBOR-PROFILE.md`, "Order of checks": only the error name
    /// is), so only the reference codec, whose offsets the vectors record, says yes.
    fn compares_offsets(&self) -> bool {
        false
    }
}

/// Why a codec did not re-encode an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The spec's error name (e.g. `duplicate-key`).
    pub error: String,
    /// The byte offset the decoder reported, if it reports one.
    pub offset: Option<usize>,
    /// The codec's readable explanation.
    pub detail: String,
    /// True if decoding succeeded and the encoder refused the decoded value (always a bug: a
    /// decoder accepts only what the encoder can produce).
    pub while_encoding: bool,
}

/// What reading a frame stream gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameOutcome {
    /// The frames read, as (kind byte, payload).
    pub frames: Vec<(u8, Vec<u8>)>,
    /// The frame error name that ended the stream, or `None` for a clean end.
    pub error: Option<String>,
}

/// The reference codec: `fezz_abi::decode_*`, `encode_*` and `frame::read_frame`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference;

impl Codec for Reference {
    fn reencode(&self, message: MessageKind, input: &[u8]) -> Result<Vec<u8>, Rejection> {
        let rejected = |error: fezz_abi::DecodeError| Rejection {
            error: error.kind().name().to_string(),
            offset: Some(error.offset()),
            detail: error.to_string(),
            while_encoding: false,
        };
        let refused = |error: fezz_abi::EncodeError| Rejection {
            error: error.kind().name().to_string(),
            offset: None,
            detail: error.to_string(),
            while_encoding: true,
        };
        match message {
            MessageKind::Request => {
                encode_request(&decode_request(input).map_err(rejected)?).map_err(refused)
            }
            MessageKind::Response => {
                encode_response(&decode_response(input).map_err(rejected)?).map_err(refused)
            }
            MessageKind::Error => {
                encode_error(&decode_error(input).map_err(rejected)?).map_err(refused)
            }
            MessageKind::Frame => Err(Rejection {
                error: "not-a-message".into(),
                offset: None,
                detail: "frame cases go through read_frames".into(),
                while_encoding: false,
            }),
        }
    }

    fn compares_offsets(&self) -> bool {
        true
    }

    fn read_frames(&self, input: &[u8]) -> FrameOutcome {
        let mut reader = Cursor::new(input);
        let mut frames = Vec::new();
        loop {
            match read_frame(&mut reader) {
                Ok(Some(frame)) => frames.push((frame.kind as u8, frame.payload)),
                Ok(None) => {
                    return FrameOutcome {
                        frames,
                        error: None,
                    }
                }
                Err(error) => {
                    return FrameOutcome {
                        frames,
                        error: Some(error.name().to_string()),
                    }
                }
            }
        }
    }
}

/// A case that a codec does not pass: the explanation, with both sides in diagnostic notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// Checks one case against `codec`.
pub fn check(codec: &dyn Codec, case: &Case) -> Result<(), Failure> {
    match &case.expected {
        Expected::Valid {
            canonical,
            input_is_canonical,
        } => check_valid(codec, case, canonical, *input_is_canonical),
        Expected::Invalid { error, offset } => check_invalid(codec, case, error.name(), *offset),
        Expected::Frames { frames, error } => check_frames(codec, case, frames, error.as_deref()),
    }
}

fn check_valid(
    codec: &dyn Codec,
    case: &Case,
    canonical: &[u8],
    input_is_canonical: bool,
) -> Result<(), Failure> {
    let reencoded = codec
        .reencode(case.message, &case.input)
        .map_err(|rejection| {
            Failure(format!(
                "rejected a valid {}: {}\ninput:\n{}",
                case.message.name(),
                describe(&rejection),
                show(&case.input)
            ))
        })?;
    if reencoded != canonical {
        return Err(Failure(format!(
            "the re-encoding differs from expect.canonical{}\nexpected:\n{}\ngot:\n{}",
            first_difference(canonical, &reencoded),
            show(canonical),
            show(&reencoded)
        )));
    }
    match codec.reencode(case.message, canonical) {
        Ok(again) if again == canonical => {}
        Ok(again) => {
            return Err(Failure(format!(
                "encoding is not idempotent: re-encoding the canonical bytes changes them{}\nexpected:\n{}\ngot:\n{}",
                first_difference(canonical, &again),
                show(canonical),
                show(&again)
            )))
        }
        Err(rejection) => {
            return Err(Failure(format!(
                "rejected its own canonical encoding: {}\ncanonical:\n{}",
                describe(&rejection),
                show(canonical)
            )))
        }
    }
    let is_canonical = case.input == canonical;
    if is_canonical != input_is_canonical {
        return Err(Failure(format!(
            "the case flags input.canonical = {input_is_canonical}, but the input {} the canonical encoding{}\ninput:\n{}\ncanonical:\n{}",
            if is_canonical { "is" } else { "is not" },
            first_difference(canonical, &case.input),
            show(&case.input),
            show(canonical)
        )));
    }
    Ok(())
}

fn check_invalid(
    codec: &dyn Codec,
    case: &Case,
    expected: &str,
    offset: Option<usize>,
) -> Result<(), Failure> {
    let rejection = match codec.reencode(case.message, &case.input) {
        Ok(reencoded) => {
            return Err(Failure(format!(
                "accepted an invalid {}: expected rejection with `{expected}`{}\ninput:\n{}\ndecoded and re-encoded as:\n{}",
                case.message.name(),
                offset.map(|at| format!(" at offset {at}")).unwrap_or_default(),
                show(&case.input),
                show(&reencoded)
            )))
        }
        Err(rejection) => rejection,
    };
    let expected_at = offset
        .map(|at| format!(" at offset {at}"))
        .unwrap_or_default();
    if rejection.while_encoding {
        return Err(Failure(format!(
            "accepted an invalid {}: the decoder took it and only the encoder refused ({}); expected `{expected}`{expected_at}\ninput:\n{}",
            case.message.name(),
            rejection.detail,
            show(&case.input)
        )));
    }
    let offset = offset.filter(|_| codec.compares_offsets());
    let offset_differs = matches!((offset, rejection.offset), (Some(a), Some(b)) if a != b);
    if rejection.error != expected || offset_differs {
        return Err(Failure(format!(
            "rejected for the wrong reason: expected {expected}{expected_at} got {}{} ({})\ninput:\n{}",
            rejection.error,
            rejection.offset.map(|at| format!(" at offset {at}")).unwrap_or_default(),
            rejection.detail,
            show(&case.input)
        )));
    }
    Ok(())
}

fn check_frames(
    codec: &dyn Codec,
    case: &Case,
    frames: &[(u8, Vec<u8>)],
    error: Option<&str>,
) -> Result<(), Failure> {
    let outcome = codec.read_frames(&case.input);
    let render = |frames: &[(u8, Vec<u8>)], error: Option<&str>| {
        let mut text = String::new();
        for (index, (kind, payload)) in frames.iter().enumerate() {
            text.push_str(&format!(
                "  frame {index}: kind {kind}, payload:\n{}\n",
                indent(&show(payload))
            ));
        }
        text.push_str(&format!(
            "  then: {}",
            error.unwrap_or("clean end of input")
        ));
        text
    };
    if outcome.frames != frames || outcome.error.as_deref() != error {
        return Err(Failure(format!(
            "the frame stream reads differently\nexpected:\n{}\ngot:\n{}\ninput (hex): {}",
            render(frames, error),
            render(&outcome.frames, outcome.error.as_deref()),
            abbreviate(&to_hex(&case.input))
        )));
    }
    Ok(())
}

fn describe(rejection: &Rejection) -> String {
    format!(
        "{}{}{} ({})",
        if rejection.while_encoding {
            "the encoder refused the decoded value: "
        } else {
            ""
        },
        rejection.error,
        rejection
            .offset
            .map(|at| format!(" at offset {at}"))
            .unwrap_or_default(),
        rejection.detail
    )
}

fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let at = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(got.len()));
    format!(
        " (first difference at byte {at}; expected {} bytes, got {})",
        expected.len(),
        got.len()
    )
}

/// Longest rendering of one side in a failure message, in characters.
const SHOW_LIMIT: usize = 4000;

/// Bytes in CBOR diagnostic notation (pretty, one item per line group for a sequence); bytes
/// that are not well-formed are shown in hex. Long renderings are cut.
pub fn show(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "  (no bytes)".into();
    }
    let mut items = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match cbor_diag::parse_bytes_partial(rest) {
            Ok(Some((item, used))) if used > 0 => {
                items.push(item.to_diag_pretty());
                rest = &rest[used..];
            }
            _ => {
                items.push(format!(
                    "/ not well-formed from here: / h'{}'",
                    to_hex(rest)
                ));
                break;
            }
        }
    }
    indent(&abbreviate(&items.join(",\n")))
}

fn abbreviate(text: &str) -> String {
    if text.len() <= SHOW_LIMIT {
        return text.to_string();
    }
    let mut cut = SHOW_LIMIT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} more characters)", &text[..cut], text.len() - cut)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::Spec;

    const VALID: &str = r#"
        description = "a GET request with nothing optional"
        section = "fezz-wire.cddl#fezz-request"
        message = "request"
        [input]
        diag = '''{0: 2, 1: "GET", 2: "/", 4: [], 5: h'', 6: {0: "f", 1: "1", 2: "r"}}'''
        canonical = true
        [expect]
    "#;

    fn run(text: &str) -> Result<(), Failure> {
        check(&Reference, &Spec::parse(text).unwrap().expand().unwrap())
    }

    #[test]
    fn a_good_case_passes() {
        run(VALID).unwrap();
    }

    #[test]
    fn wrong_canonical_bytes_fail() {
        let corrupted = VALID.replace(
            "canonical = true\n        [expect]",
            "canonical = false\n        [expect]\n        canonical = '''{0: 2, 1: \"PUT\", 2: \"/\", 4: [], 5: h'', 6: {0: \"f\", 1: \"1\", 2: \"r\"}}'''",
        );
        let failure = run(&corrupted).unwrap_err();
        assert!(
            failure.0.contains("differs from expect.canonical"),
            "{failure}"
        );
        assert!(
            failure.0.contains("\"PUT\""),
            "diag of the expected side: {failure}"
        );
    }

    #[test]
    fn a_wrong_canonical_flag_fails() {
        let failure = run(&VALID.replace(
            "canonical = true\n        [expect]",
            "canonical = false\n        [expect]\n        canonical = '''{0: 2, 1: \"GET\", 2: \"/\", 4: [], 5: h'', 6: {0: \"f\", 1: \"1\", 2: \"r\"}}'''",
        ))
        .unwrap_err();
        assert!(failure.0.contains("input.canonical = false"), "{failure}");
    }

    #[test]
    fn non_canonical_input_flagged_canonical_fails() {
        let failure = run(&VALID
            .replace("{0: 2, 1: \"GET\"", "{1: \"GET\", 0: 2")
            .replace(
                "[expect]",
                "[expect]\n        canonical = '''{0: 2, 1: \"GET\", 2: \"/\", 4: [], 5: h'', 6: {0: \"f\", 1: \"1\", 2: \"r\"}}'''",
            ))
        .unwrap_err();
        assert!(
            failure.0.contains("is not the canonical encoding"),
            "{failure}"
        );
    }

    const INVALID: &str = r#"
        description = "method twice"
        section = "CBOR-PROFILE.md#decoder-errors"
        message = "request"
        [input]
        diag = '''{0: 2, 1: "GET", 1: "PUT", 2: "/", 4: [], 5: h'', 6: {0: "f", 1: "1", 2: "r"}}'''
        [expect]
        error = "duplicate-key"
        offset = 8
    "#;

    #[test]
    fn the_right_error_passes() {
        run(INVALID).unwrap();
    }

    #[test]
    fn a_wrong_expected_error_fails() {
        let failure = run(&INVALID.replace("\"duplicate-key\"", "\"wrong-type\"")).unwrap_err();
        assert!(
            failure.0.contains("rejected for the wrong reason: expected wrong-type at offset 8 got duplicate-key at offset 8"),
            "{failure}"
        );
        assert!(
            failure.0.contains("\"PUT\""),
            "input shown in diag: {failure}"
        );
    }

    #[test]
    fn a_wrong_offset_fails() {
        let failure = run(&INVALID.replace("offset = 8", "offset = 9")).unwrap_err();
        assert!(failure.0.contains("wrong reason"), "{failure}");
    }

    /// Another implementation: offsets are informative for it.
    struct Other;

    impl Codec for Other {
        fn reencode(&self, message: MessageKind, input: &[u8]) -> Result<Vec<u8>, Rejection> {
            Reference.reencode(message, input)
        }

        fn read_frames(&self, input: &[u8]) -> FrameOutcome {
            Reference.read_frames(input)
        }
    }

    #[test]
    fn offsets_are_not_conformance_for_other_codecs() {
        let case = Spec::parse(&INVALID.replace("offset = 8", "offset = 9"))
            .unwrap()
            .expand()
            .unwrap();
        check(&Other, &case).unwrap();
        let case = Spec::parse(&INVALID.replace("\"duplicate-key\"", "\"wrong-type\""))
            .unwrap()
            .expand()
            .unwrap();
        assert!(check(&Other, &case).is_err());
    }

    #[test]
    fn accepting_an_invalid_input_fails() {
        let failure = run(&INVALID.replace("1: \"PUT\", ", "")).unwrap_err();
        assert!(
            failure.0.contains("accepted an invalid request"),
            "{failure}"
        );
    }

    #[test]
    fn frames_that_read_differently_fail() {
        let failure = run(r#"
            description = "one request frame"
            section = "RUNNER.md#framing"
            message = "frame"
            [[input.frames]]
            kind = 1
            payload = "{}"
            [expect]
            frames = 0
            "#)
        .unwrap_err();
        assert!(
            failure.0.contains("frame stream reads differently"),
            "{failure}"
        );
    }

    #[test]
    fn the_readme_example_passes() {
        let readme =
            std::fs::read_to_string(crate::vectors::default_dir().join("README.md")).unwrap();
        let example = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("README.md has a ```toml example");
        run(example).unwrap();
    }

    #[test]
    fn show_renders_sequences_and_garbage() {
        let shown = show(&[0x01, 0x61, 0x61, 0x1c]);
        assert!(
            shown.contains('1') && shown.contains("\"a\"") && shown.contains("h'1c'"),
            "{shown}"
        );
    }
}
