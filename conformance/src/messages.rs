//! Requests and expected frames as the runner-level and function-level cases write them, and
//! what a runner's stdout holds: the JSON forms of `spec/vectors/runner/*.json`
//! ([`RequestSpec`], [`ExpectedFrame`]), the frames parsed back from stdout
//! ([`StdoutFrame`]), and readable renderings of both for failure messages (CBOR diagnostic
//! notation plus a decoded summary). Running processes lives in `process`; the cases
//! themselves in `runner_level` and `function_level`.

use cbor_diag::{ByteString, DataItem, IntegerWidth, TextString};
use fezz_abi::frame::{split_frame, write_frame, FrameKind};
use fezz_abi::{
    decode_error, decode_response, encode_request, encode_response, Header, Request,
    RequestContext, Response, WireError,
};
use serde::Deserialize;

use crate::diff::line_diff;

/// The function id every request of the suite carries in its context.
pub const FUNCTION_ID: &str = "fixture";
/// The function version every request of the suite carries in its context.
pub const FUNCTION_VERSION: &str = "1";

/// A request written as JSON: everything but `path` has a default (GET, no query, no headers,
/// empty body, context `fixture`/`1`/`conformance-N`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The method (default `GET`).
    #[serde(default = "default_method")]
    pub method: String,
    /// The path, starting with `/`.
    pub path: String,
    /// The raw query, if the target has a `?`.
    #[serde(default)]
    pub query: Option<String>,
    /// Header fields in order; values as UTF-8 text.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 text (default empty).
    #[serde(default)]
    pub body: String,
    /// Sets the context deadline to this many milliseconds after the request is written.
    #[serde(default)]
    pub deadline_in_ms: Option<u64>,
}

fn default_method() -> String {
    "GET".to_owned()
}

impl RequestSpec {
    /// The request this describes; `index` numbers the request id.
    pub fn to_request(&self, index: usize) -> Request {
        let mut request = Request::new(self.method.clone(), self.path.clone());
        request.query = self.query.clone();
        request.headers = self
            .headers
            .iter()
            .map(|(name, value)| Header::new(name.clone(), value.as_bytes()))
            .collect();
        request.body = self.body.clone().into_bytes();
        request.context = context(index);
        request.context.deadline_unix_ms = self.deadline_in_ms.map(|ms| now_unix_ms() + ms);
        request
    }
}

/// The context of the `index`-th request the suite sends.
pub fn context(index: usize) -> RequestContext {
    RequestContext {
        function_id: FUNCTION_ID.to_owned(),
        function_version: FUNCTION_VERSION.to_owned(),
        request_id: format!("conformance-{index}"),
        ..RequestContext::default()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Frames `payload` as a request frame.
pub fn request_frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(payload.len() + 8);
    write_frame(&mut bytes, FrameKind::Request, payload).expect("writing to a Vec cannot fail");
    bytes
}

/// Encodes and frames `request`.
pub fn encode_request_frame(request: &Request) -> Result<Vec<u8>, String> {
    encode_request(request)
        .map(|payload| request_frame(&payload))
        .map_err(|error| format!("the suite could not encode its own request: {error}"))
}

/// A response expected on stdout, in JSON.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// The status.
    pub status: u16,
    /// Header fields in order, values as UTF-8 text.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 text.
    #[serde(default)]
    pub body: String,
    /// The structured error, if the response carries one.
    #[serde(default)]
    pub error: Option<ErrorSpec>,
}

impl ResponseSpec {
    /// The response this describes.
    pub fn to_response(&self) -> Response {
        Response {
            status: self.status,
            headers: self
                .headers
                .iter()
                .map(|(name, value)| Header::new(name.clone(), value.as_bytes()))
                .collect(),
            body: self.body.clone().into_bytes(),
            error: self.error.as_ref().map(|error| {
                WireError::new(
                    error.code.clone(),
                    error.message.clone().unwrap_or_default(),
                )
            }),
        }
    }
}

/// An expected structured error. Without `message`, only the code is compared (a runner's
/// error messages are free text).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The error code, e.g. `function-failed`.
    pub code: String,
    /// The message, when it is part of the contract.
    #[serde(default)]
    pub message: Option<String>,
    /// Text the message must start with (e.g. the decoder error's name).
    #[serde(default)]
    pub message_starts_with: Option<String>,
    /// Text the message must contain.
    #[serde(default)]
    pub message_contains: Option<String>,
}

impl ErrorSpec {
    /// An expected error with this code and any message.
    pub fn code(code: impl Into<String>) -> ErrorSpec {
        ErrorSpec {
            code: code.into(),
            message: None,
            message_starts_with: None,
            message_contains: None,
        }
    }

    /// Whether `error` is what this expects.
    pub fn matches(&self, error: &WireError) -> bool {
        self.code == error.code
            && self
                .message
                .as_ref()
                .is_none_or(|message| *message == error.message)
            && self
                .message_starts_with
                .as_ref()
                .is_none_or(|start| error.message.starts_with(start.as_str()))
            && self
                .message_contains
                .as_ref()
                .is_none_or(|part| error.message.contains(part.as_str()))
    }
}

/// One frame expected on stdout.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ExpectedFrame {
    /// A response frame with exactly this response.
    Response(ResponseSpec),
    /// An error frame with this code (and message, if given).
    Error(ErrorSpec),
}

/// One frame a runner wrote to stdout, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdoutFrame {
    /// A response frame whose payload is a valid `fezz-response`.
    Response(Response),
    /// An error frame whose payload is a valid `fezz-error`.
    Error(WireError),
}

/// Splits stdout into frames and decodes each payload. Anything else (noise, a request
/// frame, a payload that does not decode, bytes after the last frame) is an error naming the
/// offset.
pub fn parse_stdout(mut bytes: &[u8]) -> Result<Vec<StdoutFrame>, String> {
    let total = bytes.len();
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let offset = total - bytes.len();
        let (kind, payload, rest) = split_frame(bytes).map_err(|error| {
            format!(
                "stdout is not a sequence of frames at byte {offset} ({error}); stdout starts {}",
                preview(bytes)
            )
        })?;
        let frame = match kind {
            FrameKind::Response => StdoutFrame::Response(decode_response(payload).map_err(|error| {
                format!("response frame {} (at byte {offset}) is not a valid fezz-response: {error}", frames.len() + 1)
            })?),
            FrameKind::Error => StdoutFrame::Error(decode_error(payload).map_err(|error| {
                format!("error frame {} (at byte {offset}) is not a valid fezz-error: {error}", frames.len() + 1)
            })?),
            FrameKind::Request => {
                return Err(format!("frame {} (at byte {offset}) is a request frame; a runner writes only response and error frames", frames.len() + 1))
            }
        };
        frames.push(frame);
        bytes = rest;
    }
    Ok(frames)
}

/// The first bytes of `bytes`, escaped.
pub fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(48)];
    let more = if bytes.len() > shown.len() { "…" } else { "" };
    format!("\"{}\"{more}", shown.escape_ascii())
}

/// Compares the frames on stdout with the expected ones; `Err` holds a readable diff.
pub fn check_frames(expected: &[ExpectedFrame], actual: &[StdoutFrame]) -> Result<(), String> {
    let matches = expected.len() == actual.len()
        && expected
            .iter()
            .zip(actual)
            .all(|(expected, actual)| frame_matches(expected, actual));
    if matches {
        return Ok(());
    }
    let expected_text = expected
        .iter()
        .map(render_expected)
        .collect::<Vec<_>>()
        .join("\n");
    let actual_text = actual
        .iter()
        .map(render_frame)
        .collect::<Vec<_>>()
        .join("\n");
    Err(format!(
        "stdout frames differ from the expected ones ({} expected, {} written)\n--- expected\n+++ actual\n{}",
        expected.len(),
        actual.len(),
        line_diff(&expected_text, &actual_text)
    ))
}

fn frame_matches(expected: &ExpectedFrame, actual: &StdoutFrame) -> bool {
    match (expected, actual) {
        (ExpectedFrame::Response(expected), StdoutFrame::Response(actual)) => {
            let mut want = expected.to_response();
            // An expected error without a message matches any message.
            if let (Some(want_error), Some(actual_error), None) = (
                &mut want.error,
                &actual.error,
                expected
                    .error
                    .as_ref()
                    .and_then(|error| error.message.as_ref()),
            ) {
                want_error.message = actual_error.message.clone();
            }
            want == *actual
        }
        (ExpectedFrame::Error(expected), StdoutFrame::Error(actual)) => expected.matches(actual),
        _ => false,
    }
}

fn render_expected(frame: &ExpectedFrame) -> String {
    match frame {
        ExpectedFrame::Response(response) => {
            render_frame(&StdoutFrame::Response(response.to_response()))
        }
        ExpectedFrame::Error(error) => {
            let message = match (
                &error.message,
                &error.message_starts_with,
                &error.message_contains,
            ) {
                (Some(message), _, _) => format!("{message:?}"),
                (None, Some(start), _) => format!("starting {start:?}"),
                (None, None, Some(part)) => format!("containing {part:?}"),
                (None, None, None) => "(any)".to_owned(),
            };
            format!("error frame\n  code: {}\n  message: {message}", error.code)
        }
    }
}

/// A readable rendering of a frame: kind, status, each header, body, error.
pub fn render_frame(frame: &StdoutFrame) -> String {
    match frame {
        StdoutFrame::Response(response) => format!("response frame\n{}", render_response(response)),
        StdoutFrame::Error(error) => format!(
            "error frame\n  code: {}\n  message: {:?}",
            error.code, error.message
        ),
    }
}

/// A readable rendering of a response, one line per field; bytes are shown as escaped text.
pub fn render_response(response: &Response) -> String {
    let mut out = format!("  status: {}\n", response.status);
    for header in &response.headers {
        out.push_str(&format!(
            "  header: {}: {}\n",
            header.name,
            render_bytes(&header.value, 200)
        ));
    }
    out.push_str(&format!(
        "  body ({} bytes): {}\n",
        response.body.len(),
        render_bytes(&response.body, 400)
    ));
    match &response.error {
        Some(error) => out.push_str(&format!("  error: {} / {:?}", error.code, error.message)),
        None => out.push_str("  error: none"),
    }
    out
}

/// `bytes` as an escaped string, shortened past `limit` bytes.
pub fn render_bytes(bytes: &[u8], limit: usize) -> String {
    if bytes.len() <= limit {
        format!("\"{}\"", bytes.escape_ascii())
    } else {
        format!(
            "\"{}\"… ({} more bytes)",
            bytes[..limit].escape_ascii(),
            bytes.len() - limit
        )
    }
}

/// A response in pretty CBOR diagnostic notation (of its deterministic encoding, without
/// encoding indicators such as `_0`: the encoding is deterministic anyway).
pub fn response_diag(response: &Response) -> String {
    match encode_response(response) {
        Ok(bytes) => match cbor_diag::parse_bytes(&bytes) {
            Ok(item) => without_widths(item).to_diag_pretty(),
            Err(error) => format!("(cbor-diag could not read the encoding: {error})"),
        },
        Err(error) => format!("(the response does not encode: {error})"),
    }
}

/// `item` with every recorded encoding width forgotten, so diag shows plain values.
pub fn without_widths(item: DataItem) -> DataItem {
    match item {
        DataItem::Integer { value, .. } => DataItem::Integer {
            value,
            bitwidth: IntegerWidth::Unknown,
        },
        DataItem::Negative { value, .. } => DataItem::Negative {
            value,
            bitwidth: IntegerWidth::Unknown,
        },
        DataItem::ByteString(ByteString { data, .. }) => DataItem::ByteString(ByteString {
            data,
            bitwidth: IntegerWidth::Unknown,
        }),
        DataItem::TextString(TextString { data, .. }) => DataItem::TextString(TextString {
            data,
            bitwidth: IntegerWidth::Unknown,
        }),
        DataItem::Array { data, .. } => DataItem::Array {
            data: data.into_iter().map(without_widths).collect(),
            bitwidth: Some(IntegerWidth::Unknown),
        },
        DataItem::Map { data, .. } => DataItem::Map {
            data: data
                .into_iter()
                .map(|(key, value)| (without_widths(key), without_widths(value)))
                .collect(),
            bitwidth: Some(IntegerWidth::Unknown),
        },
        DataItem::Tag { tag, value, .. } => DataItem::Tag {
            tag,
            bitwidth: IntegerWidth::Unknown,
            value: Box::new(without_widths(*value)),
        },
        other => other,
    }
}

/// Compares two responses; `Err` holds a decoded-field diff and a diagnostic-notation diff.
pub fn compare_responses(
    expected: &Response,
    actual: &Response,
    expected_label: &str,
) -> Result<(), String> {
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "the response differs from {expected_label}\n--- {expected_label}\n+++ actual\n{}\nin CBOR diagnostic notation:\n{}",
        line_diff(&render_response(expected), &render_response(actual)),
        line_diff(&response_diag(expected), &response_diag(actual)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frames_and_rejects_noise() {
        let response = Response::text(200, "hi");
        let mut stdout = Vec::new();
        write_frame(
            &mut stdout,
            FrameKind::Response,
            &encode_response(&response).unwrap(),
        )
        .unwrap();
        assert_eq!(
            parse_stdout(&stdout).unwrap(),
            vec![StdoutFrame::Response(response)]
        );
        stdout.extend_from_slice(b"fixture noise\n");
        let error = parse_stdout(&stdout).unwrap_err();
        assert!(error.contains("not a sequence of frames"), "{error}");
    }

    #[test]
    fn message_prefixes_and_parts_are_checked() {
        let mut spec = ErrorSpec::code("request-invalid");
        spec.message_starts_with = Some("frame-truncated".into());
        assert!(spec.matches(&WireError::new(
            "request-invalid",
            "frame-truncated: 7 of 8"
        )));
        assert!(!spec.matches(&WireError::new("request-invalid", "frame-bad-magic: x")));
        spec.message_contains = Some("of 8".into());
        assert!(!spec.matches(&WireError::new("request-invalid", "frame-truncated: 7")));
    }

    #[test]
    fn error_code_without_message_matches_any_message() {
        let expected = [ExpectedFrame::Error(ErrorSpec::code("function-failed"))];
        let actual = [StdoutFrame::Error(WireError::new(
            "function-failed",
            "whatever",
        ))];
        check_frames(&expected, &actual).unwrap();
        let wrong = [StdoutFrame::Error(WireError::new("panic", "whatever"))];
        let diff = check_frames(&expected, &wrong).unwrap_err();
        assert!(
            diff.contains("- error frame") || diff.contains("-   code: function-failed"),
            "{diff}"
        );
    }
}
