//! Seed inputs for the fuzz targets: built-in samples of every message shape (canonical and
//! not), and the messages of `spec/vectors/`.
//!
//! `fezz-fuzz-seeds` (this crate's binary) writes them into `fuzz/corpus/<target>/` before a
//! fuzzing run; `tests/replay.rs` runs them all through the oracles on every `cargo test`.

use fezz_abi::frame::{frame_header, FrameKind};
use hhrf::outcome::ExitState;

use crate::outcome::RunnerOutput;
use fezz_abi::{
    encode_error, encode_request, encode_response, Header, Request, Response, WireError,
};

/// One seed: the target it feeds, a file name, and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// The target's name.
    pub target: &'static str,
    /// A file name unique within the target (`[a-z0-9._-]` only).
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

fn seed(target: &'static str, name: impl Into<String>, bytes: Vec<u8>) -> Seed {
    Seed {
        target,
        name: name.into(),
        bytes,
    }
}

/// Requests covering every field, optional or not.
pub fn sample_requests() -> Vec<(&'static str, Request)> {
    let mut minimal = Request::new("GET", "/");
    minimal.context.function_id = "echo".into();
    minimal.context.function_version = "1.0.0".into();
    minimal.context.request_id = "r-1".into();

    let mut full = minimal.clone();
    full.method = "POST".into();
    full.path = "/items/42".into();
    full.query = Some("a=1&b=%20".into());
    full.headers = vec![
        Header::new("content-type", "application/json"),
        Header::new("x-bin", vec![0xff, b'\t', b' ']),
        Header::new("x-bin", Vec::new()),
    ];
    full.body = br#"{"name":"fezz"}"#.to_vec();
    full.context.deadline_unix_ms = Some(1_800_000_000_000);
    full.context.client_address = Some("[::1]:54321".into());
    full.context.scheme = Some("https".into());
    full.context.host = Some("example.test:8443".into());

    let mut empty_query = minimal.clone();
    empty_query.path = "*".into();
    empty_query.method = "OPTIONS".into();
    empty_query.query = Some(String::new());

    vec![
        ("minimal", minimal),
        ("full", full),
        ("empty-query", empty_query),
    ]
}

/// Responses covering every field.
pub fn sample_responses() -> Vec<(&'static str, Response)> {
    let mut with_error = Response::json_text(500, r#"{"error":"boom"}"#);
    with_error.error = Some(WireError::new("panic", "fixture panic"));
    vec![
        ("no-content", Response::new(204)),
        ("text", Response::text(200, "hello")),
        ("with-error", with_error),
        ("lowest", Response::new(200).with_header("x", "y")),
        ("highest", Response::new(599).with_body(vec![0u8; 40])),
    ]
}

/// Encodings the decoder must accept although fezz never emits them: indefinite lengths,
/// long heads, keys out of order, unknown keys, omitted optional fields.
pub fn noncanonical_requests() -> Vec<(&'static str, Vec<u8>)> {
    let context: &[u8] = &[0xa3, 0x00, 0x61, b'f', 0x01, 0x61, b'1', 0x02, 0x61, b'r'];
    let mut reordered = vec![0xa6, 0x06];
    reordered.extend_from_slice(context);
    reordered.extend_from_slice(&[0x05, 0x40, 0x04, 0x80, 0x02, 0x61, b'/', 0x01, 0x63]);
    reordered.extend_from_slice(b"GET");
    reordered.extend_from_slice(&[0x00, 0x02]);

    let mut indefinite = vec![
        0xbf, 0x00, 0x18, 0x02, 0x01, 0x7f, 0x61, b'G', 0x62, b'E', b'T', 0xff,
    ];
    indefinite.extend_from_slice(&[0x02, 0x79, 0x00, 0x01, b'/']);
    indefinite.extend_from_slice(&[
        0x04, 0x9f, 0x9f, 0x61, b'a', 0x5f, 0x41, b'b', 0xff, 0xff, 0xff,
    ]);
    indefinite.extend_from_slice(&[0x05, 0x5f, 0x42, 1, 2, 0x40, 0xff]);
    indefinite.extend_from_slice(&[
        0x06, 0xbf, 0x00, 0x61, b'f', 0x01, 0x61, b'1', 0x02, 0x61, b'r', 0xff,
    ]);
    indefinite.extend_from_slice(&[0x18, 0x63, 0x82, 0xc1, 0xf9, 0x3c, 0x00, 0x20, 0xff]);

    let mut unknown = vec![0xa7, 0x00, 0x02, 0x01, 0x63];
    unknown.extend_from_slice(b"GET");
    unknown.extend_from_slice(&[0x02, 0x61, b'/', 0x04, 0x80, 0x05, 0x40, 0x06]);
    unknown.extend_from_slice(context);
    unknown.extend_from_slice(&[
        0x07, 0xa1, 0x00, 0x9f, 0xf6, 0xf5, 0xf4, 0xfb, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
    ]);

    vec![
        ("reordered", reordered),
        ("indefinite", indefinite),
        ("unknown-key", unknown),
    ]
}

/// A response with nothing but the required keys, and an error message.
pub fn noncanonical_responses() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("bare", vec![0xa2, 0x01, 0x18, 0xc8, 0x00, 0x02]),
        (
            "indefinite",
            vec![
                0xbf, 0x00, 0x02, 0x01, 0x19, 0x01, 0x94, 0x03, 0x5f, 0x41, b'x', 0xff, 0x02, 0x9f,
                0xff, 0xff,
            ],
        ),
        ("error-message", vec![0xa2, 0x00, 0x61, b'c', 0x01, 0x60]),
    ]
}

fn framed(kind: FrameKind, payload: &[u8]) -> Vec<u8> {
    let mut bytes = frame_header(kind, payload.len()).to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// The built-in seeds of every byte-input target.
pub fn samples() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut requests = Vec::new();
    for (name, request) in sample_requests() {
        let bytes = encode_request(&request).expect("sample requests are valid");
        seeds.push(seed(
            "decode_request",
            format!("sample-{name}"),
            bytes.clone(),
        ));
        requests.push(bytes);
    }
    for (name, bytes) in noncanonical_requests() {
        seeds.push(seed(
            "decode_request",
            format!("sample-{name}"),
            bytes.clone(),
        ));
        requests.push(bytes);
    }
    let mut responses = Vec::new();
    for (name, response) in sample_responses() {
        let bytes = encode_response(&response).expect("sample responses are valid");
        seeds.push(seed(
            "decode_response",
            format!("sample-{name}"),
            bytes.clone(),
        ));
        responses.push(bytes);
    }
    for (name, bytes) in noncanonical_responses() {
        seeds.push(seed(
            "decode_response",
            format!("sample-{name}"),
            bytes.clone(),
        ));
        responses.push(bytes);
    }
    let error = encode_error(&WireError::new("request-invalid", "frame-truncated")).expect("valid");
    seeds.push(seed("decode_response", "sample-wire-error", error.clone()));

    let all_requests: Vec<u8> = requests
        .iter()
        .flat_map(|r| framed(FrameKind::Request, r))
        .collect();
    seeds.push(seed("frame", "sample-requests", all_requests));
    let mixed = [
        framed(FrameKind::Response, &responses[0]),
        framed(FrameKind::Error, &error),
        framed(FrameKind::Request, &[]),
    ]
    .concat();
    seeds.push(seed("frame", "sample-mixed", mixed));
    let mut truncated = framed(FrameKind::Request, &requests[0]);
    truncated.truncate(truncated.len() - 1);
    seeds.push(seed("frame", "sample-truncated", truncated));
    seeds.push(seed(
        "frame",
        "sample-bad-magic",
        b"FX\x01\x00\x00\x00\x00\x00".to_vec(),
    ));
    seeds.push(seed(
        "frame",
        "sample-too-large",
        b"FZ\x01\x00\x01\x00\x00\x01".to_vec(),
    ));

    // The runner's stdin: one stream of every request, and the fixture's special paths.
    let all: Vec<u8> = requests
        .iter()
        .flat_map(|r| framed(FrameKind::Request, r))
        .collect();
    seeds.push(seed("runner_stdin", "sample-requests", all));
    let (_, base) = sample_requests().swap_remove(0);
    for path in ["/status/204", "/status/999", "/error-code", "/echo?", "/"] {
        let mut request = base.clone();
        request.path = path.to_owned();
        let bytes = framed(
            FrameKind::Request,
            &encode_request(&request).expect("valid"),
        );
        let name = format!("sample-path{}", path.replace(['/', '?'], "-"));
        seeds.push(seed("runner_stdin", name, [bytes.clone(), bytes].concat()));
    }
    let mut then_bad = framed(FrameKind::Request, &requests[0]);
    then_bad.extend_from_slice(&framed(FrameKind::Response, &responses[0]));
    seeds.push(seed("runner_stdin", "sample-then-response-frame", then_bad));

    // A finished runner, as hhrf sees it (see `outcome::RunnerOutput`).
    let failed = framed(
        FrameKind::Error,
        &encode_error(&WireError::new(
            "function-failed",
            "fixture-error: fixture error",
        ))
        .expect("valid"),
    );
    let load_failed = framed(
        FrameKind::Error,
        &encode_error(&WireError::new(
            "library-load-failed",
            "cannot open /srv/functions/secret/lib.so",
        ))
        .expect("valid"),
    );
    let response_frame = |response: Response| {
        framed(
            FrameKind::Response,
            &encode_response(&response).expect("valid"),
        )
    };
    // Responses the wire forbids (the encoder refuses them): a valid encoding with one byte
    // changed after encoding.
    let forbidden_frame = |response: Response, from: u8, to: u8| {
        let mut bytes = encode_response(&response).expect("valid");
        let at = bytes
            .iter()
            .rposition(|byte| *byte == from)
            .expect("marker");
        bytes[at] = to;
        framed(FrameKind::Response, &bytes)
    };
    let runner_outputs: Vec<(&str, Vec<u8>, ExitState, &[u8])> = vec![
        (
            "ok",
            framed(FrameKind::Response, &responses[1]),
            ExitState::Exited(0),
            b"",
        ),
        (
            "ok-with-error",
            framed(FrameKind::Response, &responses[2]),
            ExitState::Exited(0),
            b"fixture panic\n",
        ),
        ("function-failed", failed, ExitState::Exited(14), b""),
        (
            "function-failed-no-frame",
            Vec::new(),
            ExitState::Exited(14),
            b"",
        ),
        (
            "load-failed",
            load_failed,
            ExitState::Exited(11),
            b"library-load-failed: /srv/functions/secret/lib.so\n",
        ),
        ("segfault", Vec::new(), ExitState::Signaled(11), b""),
        ("timeout", Vec::new(), ExitState::TimedOut, b"still working"),
        ("no-frame", Vec::new(), ExitState::Exited(0), b""),
        (
            "status-101",
            forbidden_frame(Response::new(200), 200, 101),
            ExitState::Exited(0),
            b"",
        ),
        (
            "control-header",
            forbidden_frame(Response::new(200).with_header("x-bell", "~"), b'~', 7),
            ExitState::Exited(0),
            b"",
        ),
        (
            "hop-by-hop",
            response_frame(
                Response::new(200)
                    .with_header("connection", "x-a")
                    .with_header("x-a", "1")
                    .with_header("content-length", "9"),
            ),
            ExitState::Exited(0),
            b"",
        ),
    ];
    for (name, stdout, exit, stderr) in runner_outputs {
        let bytes = RunnerOutput {
            stdout: &stdout,
            exit,
            stderr,
        }
        .to_bytes();
        seeds.push(seed("runner_output", format!("sample-{name}"), bytes));
    }

    // fezz.json files.
    for (name, json) in sample_manifests() {
        seeds.push(seed(
            "manifest",
            format!("sample-{name}"),
            json.as_bytes().to_vec(),
        ));
    }
    seeds
}

/// `fezz.json` files: minimal, every field, and a few near misses.
pub fn sample_manifests() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "minimal",
            r#"{"id":"echo","version":"1.0.0","entry":"libecho.so","routes":[]}"#,
        ),
        (
            "full",
            r#"{
  "manifest_version": 1,
  "id": "todos",
  "version": "latest",
  "entry": "libtodos.so",
  "routes": [
    {"path": "/todos", "method": "GET"},
    {"path": "/todos", "method": "POST"},
    {"path": "/todos/:id"},
    {"path": "/static/..."}
  ],
  "timeout_ms": 5000,
  "env": {"TODOS_DB": "todos.json", "_X": ""}
}"#,
        ),
        (
            "path-escape",
            r#"{"id":"..","version":"x/../../etc","entry":"../lib.so","routes":[]}"#,
        ),
        (
            "unknown-field",
            r#"{"id":"a","version":"b","entry":"c.so","routes":[],"extra":1}"#,
        ),
        (
            "duplicate-key",
            r#"{"id":"a","id":"b","version":"b","entry":"c.so","routes":[]}"#,
        ),
        (
            "env-reserved",
            r#"{"id":"a","version":"b","entry":"c.so","routes":[],"env":{"FEZZ_X":"1"}}"#,
        ),
        (
            "version-2",
            r#"{"manifest_version":2,"id":"a","version":"b","entry":"c.so","routes":[]}"#,
        ),
    ]
}

/// The seeds derived from the case files under `vectors` (`spec/vectors/`), loaded with
/// `fezz-conformance`: each case's input bytes for the target that takes that message (a
/// response case also feeds `decode_response`'s error check, which runs on the same bytes).
/// Named `vector-<case path with / as .>`. Fails if a case file cannot be loaded.
#[cfg(feature = "vectors")]
pub fn vector_seeds(vectors: &std::path::Path) -> Result<Vec<Seed>, String> {
    use fezz_conformance::vectors::{discover, MessageKind};

    let entries = discover(vectors).map_err(|error| format!("{}: {error}", vectors.display()))?;
    let mut seeds = Vec::new();
    for entry in entries {
        let case = entry
            .load()
            .map_err(|error| format!("spec/vectors/{}: {error}", entry.name))?;
        let name = format!(
            "vector-{}",
            entry.name.trim_end_matches(".toml").replace('/', ".")
        );
        let target = match case.message {
            MessageKind::Request => {
                // Framed, the same request is a runner's stdin (if a frame can carry it).
                if case.input.len() <= fezz_abi::limits::MAX_MESSAGE_BYTES {
                    let stdin = framed(FrameKind::Request, &case.input);
                    seeds.push(seed("runner_stdin", name.clone(), stdin));
                }
                "decode_request"
            }
            MessageKind::Response | MessageKind::Error => {
                // Framed, with the matching exit, the same message is a runner's output.
                if case.input.len() <= fezz_abi::limits::MAX_MESSAGE_BYTES {
                    let (kind, exit) = match case.message {
                        MessageKind::Response => (FrameKind::Response, ExitState::Exited(0)),
                        _ => (FrameKind::Error, ExitState::Exited(14)),
                    };
                    let stdout = framed(kind, &case.input);
                    let output = RunnerOutput {
                        stdout: &stdout,
                        exit,
                        stderr: b"",
                    };
                    seeds.push(seed("runner_output", name.clone(), output.to_bytes()));
                }
                "decode_response"
            }
            MessageKind::Frame => "frame",
        };
        seeds.push(seed(target, name, case.input));
    }
    Ok(seeds)
}

/// Every generated seed: [`samples`] and, with the `vectors` feature, [`vector_seeds`].
pub fn all(vectors: &std::path::Path) -> Result<Vec<Seed>, String> {
    #[cfg(feature = "vectors")]
    return Ok([samples(), vector_seeds(vectors)?].concat());
    #[cfg(not(feature = "vectors"))]
    {
        let _ = vectors;
        Ok(samples())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noncanonical_samples_are_valid() {
        for (name, bytes) in noncanonical_requests() {
            fezz_abi::decode_request(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        for (name, bytes) in noncanonical_responses() {
            let result = if name == "error-message" {
                fezz_abi::decode_error(&bytes).map(drop)
            } else {
                fezz_abi::decode_response(&bytes).map(drop)
            };
            result.unwrap_or_else(|error| panic!("{name}: {error}"));
        }
    }

    #[test]
    fn names_are_unique_per_target() {
        let seeds = samples();
        let mut keys: Vec<_> = seeds
            .iter()
            .map(|seed| (seed.target, seed.name.as_str()))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), seeds.len());
    }
}
